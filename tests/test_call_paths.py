"""Every call path gives the same results: the quickest path (exact int/float/bytes
arguments converted inline), the direct path (any argument the built-in simple types
accept, still without libffi), the libffi path (argtypes with a user ``from_param``)
and stdlib ctypes (the oracle, libffi throughout).

Signatures include arguments past the x86-64 argument registers (6 integer, 8
vector), which the direct path passes on the stack.
"""

import ctypes as std_ctypes
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ferrotypes

FAST = settings(max_examples=40, deadline=None)

CROWDED = ["c_byte", "c_double", "c_ushort", "c_float", "c_longlong", "c_int", "c_double",
           "c_ubyte", "c_short", "c_float", "c_double", "c_uint", "c_double", "c_long",
           "c_double", "c_float", "c_int", "c_double", "c_double"]
SUM14 = ["c_longlong", "c_int", "c_short", "c_byte", "c_longlong", "c_int", "c_longlong",
         "c_int", "c_short", "c_byte", "c_ushort", "c_ubyte", "c_uint", "c_longlong"]
SIGNATURES = {
    # name: (restype, argtypes)
    "ft_add_int": ("c_int", ["c_int"] * 2),
    "ft_add6": ("c_int", ["c_int"] * 6),
    "ft_add7": ("c_int", ["c_int"] * 7),
    "ft_add8": ("c_int", ["c_int"] * 8),
    "ft_mixed5": ("c_double", ["c_int", "c_double", "c_long", "c_float", "c_void_p"]),
    "ft_crowded": ("c_double", CROWDED),
    "ft_sum14": ("c_longlong", SUM14),
    "ft_floats10": ("c_float", ["c_float"] * 10),
}


def value_strategy(name):
    if name in ("c_double", "c_float"):
        return st.floats(allow_nan=False, width=32 if name == "c_float" else 64)
    if name == "c_void_p":
        return st.one_of(st.none(), st.integers(0, 2**64 - 1))
    return st.integers(-(2**70), 2**70)  # any int: values wrap around, as in C


def libffi_type(module, name):
    """A parameter type with its own from_param: calls through it use libffi."""
    base = getattr(module, name)
    return type("Via" + name, (base,), {"from_param": classmethod(lambda cls, v: base.from_param(v))})


def functions(fttest_path, name, ft_argtypes=None):
    restype, argtypes = SIGNATURES[name]
    ftlib, stdlib = ferrotypes.CDLL(fttest_path), std_ctypes.CDLL(fttest_path)
    ftf, stdf = ftlib[name], stdlib[name]
    ftf.restype, stdf.restype = getattr(ferrotypes, restype), getattr(std_ctypes, restype)
    ftf.argtypes = ft_argtypes or [getattr(ferrotypes, t) for t in argtypes]
    stdf.argtypes = [getattr(std_ctypes, t) for t in argtypes]
    return ftf, stdf


def same(a, b):
    if isinstance(a, float):
        return struct.pack("d", a) == struct.pack("d", b)
    return a == b


@pytest.mark.parametrize("name", SIGNATURES)
def test_register_and_stack_signatures_take_the_direct_path(fttest_path, name):
    ftf, _ = functions(fttest_path, name)
    assert ftf._call_path == "direct"


def test_signatures_beyond_the_direct_stack_use_libffi(fttest, ft):
    f = fttest.ft["ft_add8"]
    f.argtypes = [ft.c_int] * 6 + [ft.c_longdouble] + [ft.c_int]
    assert f._call_path == "libffi"


@pytest.mark.parametrize("name", SIGNATURES)
@FAST
@given(data=st.data())
def test_all_paths_agree_with_ctypes(fttest_path, name, data):
    restype, argtypes = SIGNATURES[name]
    values = [data.draw(value_strategy(t)) for t in argtypes]
    ftf, stdf = functions(fttest_path, name)
    expected = stdf(*values)
    # The quickest path: exact ints, floats and None.
    assert same(ftf(*values), expected)
    # The direct path through the general converters: int and float subclasses.
    subclassed = [IntSub(v) if isinstance(v, int) else FloatSub(v) if isinstance(v, float) else v
                  for v in values]
    assert same(ftf(*subclassed), expected)
    # The libffi path: every parameter converted by a user from_param.
    slow, _ = functions(fttest_path, name, [libffi_type(ferrotypes, t) for t in argtypes])
    assert slow._call_path == "libffi"
    assert same(slow(*values), expected)


class IntSub(int):
    pass


class FloatSub(float):
    pass


def test_crowded_example(fttest_path):
    ftf, _ = functions(fttest_path, "ft_crowded")
    args = [1, 2.0, 3, 4.0, 5, 6, 7.0, 8, 9, 10.0, 11.0, 12, 13.0, 14, 15.0, 16.0, 17, 18.0, 19.0]
    assert ftf(*args) == sum((i + 1) * v for i, v in enumerate(args))


def test_instances_and_byref_on_the_direct_path(fttest, ft):
    # Instances of the parameter types are not "exact" objects: the direct path
    # converts them through the general converters and gives the same result.
    f = fttest.ft["ft_add_int"]
    f.argtypes = [ft.c_int, ft.c_int]
    assert f(ft.c_int(3), 4) == f(3, ft.c_int(4)) == f(True, 6) == 7


def test_fast_path_errors_are_the_general_paths_errors(fttest, ft, std):
    ftf, stdf = fttest.ft["ft_add_int"], fttest.std["ft_add_int"]
    ftf.argtypes, stdf.argtypes = [ft.c_int] * 2, [std.c_int] * 2
    for bad in (1.5, "x", None, b"b"):
        with pytest.raises(ft.ArgumentError) as got:
            ftf(1, bad)
        with pytest.raises(std.ArgumentError) as want:
            stdf(1, bad)
        # Same position and cause type; ferrotypes' text also names the types.
        assert str(got.value).split(":")[:2] == str(want.value).split(":")[:2]
    with pytest.raises(TypeError):
        ftf(1)


def test_char_pointer_fast_path_passes_the_bytes_buffer(fttest, ft):
    f = fttest.ft["ft_strlen"]
    f.argtypes, f.restype = [ft.c_char_p], ft.c_size_t
    assert f(b"hello world") == 11
    assert f(None) == 0


def test_pydll_fast_path_raises_the_python_error(ft):
    # An int argument (the quickest path); the C API function sets ValueError.
    api = ft.pythonapi.PyUnicode_FromOrdinal
    api.argtypes, api.restype = [ft.c_int], ft.py_object
    assert api._call_path == "direct"
    assert api(0x41) == "A"
    with pytest.raises(ValueError):
        api(0x110000)


def test_errcheck_and_check_retval_run_after_the_fast_path(fttest, ft):
    f = fttest.ft["ft_add_int"]
    f.argtypes, f.restype = [ft.c_int] * 2, ft.c_int
    f.errcheck = lambda result, func, args: (result, args)
    assert f(2, 3) == (5, (2, 3))
    del f.errcheck
    assert f(2, 3) == 5
