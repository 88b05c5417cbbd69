"""``ferrotypes.wintypes`` defines what the stdlib's ``ctypes.wintypes`` defines on
this platform, with the same sizes and the same underlying types."""

import ctypes as std_ctypes
import ctypes.wintypes as std_wintypes
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ferrotypes
from ferrotypes import wintypes

STD_NAMES = sorted(n for n in vars(std_wintypes) if not n.startswith("__") and n != "ctypes")
STRUCTURES = sorted(n for n in STD_NAMES
                    if isinstance(getattr(std_wintypes, n), type)
                    and (issubclass(getattr(std_wintypes, n), std_ctypes.Structure)
                         or issubclass(getattr(std_wintypes, n), std_ctypes._Pointer)
                         and issubclass(getattr(std_wintypes, n)._type_, std_ctypes.Structure)))
OTHERS = [n for n in STD_NAMES if n not in STRUCTURES]


def describe(module, obj):
    """What a wintypes name is, in terms comparable across the two implementations."""
    if isinstance(obj, type) and issubclass(obj, module._Pointer):
        return ("pointer", describe(module, obj._type_), module.sizeof(obj))
    if isinstance(obj, type) and "_fields_" in dir(obj):  # a structure
        fields = [(name, describe(module, t)) for name, t in obj._fields_]
        return ("struct", obj.__name__, module.sizeof(obj), module.alignment(obj), fields)
    if isinstance(obj, type) and issubclass(obj, module.Array):
        return ("array", describe(module, obj._type_), obj._length_)
    if isinstance(obj, type):
        return ("simple", obj.__name__, obj._type_, module.sizeof(obj))
    if callable(obj):
        return ("function", obj(1, 2, 3))
    return ("value", obj)


@pytest.mark.parametrize("name", OTHERS)
def test_names_match_ctypes(name):
    assert describe(ferrotypes, getattr(wintypes, name)) == describe(std_ctypes, getattr(std_wintypes, name))


def test_structure_names_match_ctypes():
    for name in STRUCTURES:
        assert describe(ferrotypes, getattr(wintypes, name)) == \
            describe(std_ctypes, getattr(std_wintypes, name)), name


def test_public_names_are_those_of_ctypes():
    # No name ctypes.wintypes lacks (the tests above check each of its names is here).
    ours = {n for n in vars(wintypes) if not n.startswith("_")}
    theirs = {n for n in vars(std_wintypes) if not n.startswith("_") and n != "ctypes"}
    assert ours == theirs
    for module in (wintypes, std_wintypes):
        assert not hasattr(module, "NOT_A_WINDOWS_NAME")
        with pytest.raises(AttributeError, match="NOT_A_WINDOWS_NAME"):
            module.NOT_A_WINDOWS_NAME


def test_aliases_are_the_same_objects_as_in_ctypes():
    # Where ctypes makes two names one type, so does ferrotypes.
    for a, b in [("DWORD", "ULONG"), ("HWND", "HANDLE"), ("LPWSTR", "LPCWSTR"),
                 ("BOOLEAN", "BYTE"), ("LPDWORD", "PDWORD")]:
        assert (getattr(wintypes, a) is getattr(wintypes, b)) == \
            (getattr(std_wintypes, a) is getattr(std_wintypes, b))


@settings(max_examples=60, deadline=None)
@given(raw=st.integers(0, 2**16 - 1))
def test_variant_bool_reads_any_nonzero_bits_as_true(raw):
    data = struct.pack("H", raw)
    ftv = wintypes.VARIANT_BOOL.from_buffer_copy(data)
    stdv = std_wintypes.VARIANT_BOOL.from_buffer_copy(data)
    assert ftv.value is stdv.value is (raw != 0)
    assert repr(ftv) == repr(stdv)


@pytest.mark.parametrize("value", [True, False, 1, 32768, 65536, 2**33, [2, 3], [], None, "x"])
def test_variant_bool_stores_truth_like_ctypes(value):
    ftv, stdv = wintypes.VARIANT_BOOL(), std_wintypes.VARIANT_BOOL()
    ftv.value = value
    stdv.value = value
    assert bytes(ftv) == bytes(stdv)  # True is stored as -1 (0xffff)
    assert ftv.value is stdv.value
    assert memoryview(ftv).format == memoryview(stdv).format


def test_variant_bool_as_an_argument(libc):
    # abs(int) sees the sign-extended 16-bit value: -1 for True.
    f = libc.ft["abs"]
    f.argtypes = [wintypes.VARIANT_BOOL]
    assert f(True) == 1 and f(False) == 0
