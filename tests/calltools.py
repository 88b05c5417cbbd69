"""What the foreign-call tests share: hypothesis settings, value strategies, and the
identity functions of tests/clib/fttest.c with values to pass them.

Imported by the test modules as ``calltools`` (pytest puts tests/ on sys.path).
"""

import ctypes as std_ctypes

from hypothesis import settings
from hypothesis import strategies as st

from difftools import characters, text

FAST = settings(max_examples=30, deadline=None)

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
huge_ints = st.integers(min_value=-(2**100), max_value=2**100)
floats = st.floats(allow_nan=True, allow_infinity=True)
int32s = st.integers(INT32_MIN, INT32_MAX)

# The identity function of each simple type (ft_id_<suffix> returns its argument)
# and values to pass it: in range, out of range, and of wrong types.
IDENTITY = {
    "c_bool": ("bool", st.one_of(huge_ints, floats, st.none(), st.text(max_size=2))),
    "c_char": ("char", st.one_of(st.binary(max_size=2), st.integers(-300, 300), st.text(max_size=1))),
    "c_byte": ("schar", huge_ints),
    "c_ubyte": ("uchar", huge_ints),
    "c_short": ("short", huge_ints),
    "c_ushort": ("ushort", huge_ints),
    "c_int": ("int", huge_ints),
    "c_uint": ("uint", huge_ints),
    "c_long": ("long", huge_ints),
    "c_ulong": ("ulong", huge_ints),
    "c_longlong": ("longlong", huge_ints),
    "c_ulonglong": ("ulonglong", huge_ints),
    "c_int8": ("int8", huge_ints),
    "c_uint8": ("uint8", huge_ints),
    "c_int16": ("int16", huge_ints),
    "c_uint16": ("uint16", huge_ints),
    "c_int32": ("int32", huge_ints),
    "c_uint32": ("uint32", huge_ints),
    "c_int64": ("int64", huge_ints),
    "c_uint64": ("uint64", huge_ints),
    "c_size_t": ("size_t", huge_ints),
    "c_ssize_t": ("ssize_t", huge_ints),
    "c_float": ("float", st.one_of(floats, st.integers(-(2**1100), 2**1100))),
    "c_double": ("double", st.one_of(floats, st.integers(-(2**1100), 2**1100))),
    "c_longdouble": ("longdouble", st.one_of(floats, st.integers(-(2**1100), 2**1100))),
    "c_wchar": ("wchar", st.one_of(characters(), text(max_size=2), st.integers(0, 0x10FFFF))),
    "c_char_p": ("charp", st.one_of(st.binary(max_size=10), st.none(), st.text(max_size=2))),
    "c_wchar_p": ("wcharp", st.one_of(text(max_size=10), st.none(), st.binary(max_size=2))),
    "c_void_p": ("voidp", st.one_of(huge_ints, st.none())),
}


def address_of(std_function):
    """The address of a C function, through the oracle."""
    return std_ctypes.cast(std_function, std_ctypes.c_void_p).value
