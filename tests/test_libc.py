"""Calls into the real system libraries: libc and libm.

``libc`` and ``libm`` (tests/conftest.py) are the libraries loaded through both
ferrotypes (``.ft``) and the stdlib's ctypes (``.std``); ``func()`` gives
freshly configured function objects of each.
"""

import contextlib
import ctypes.util
import errno
import math
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ferrotypes
from difftools import same_value, text

FAST = settings(max_examples=40, deadline=None)
LONG_MAX, LONG_MIN = 2**63 - 1, -(2**63)


@contextlib.contextmanager
def malloced(libc, size):
    """The address of ``size`` bytes from libc's malloc, freed on exit."""
    malloc = libc.ft["malloc"]
    malloc.argtypes = [ferrotypes.c_size_t]
    malloc.restype = ferrotypes.c_void_p
    free = libc.ft["free"]
    free.argtypes = [ferrotypes.c_void_p]
    free.restype = None
    address = malloc(size)
    assert address is not None, "malloc failed"
    try:
        yield address
    finally:
        free(address)


# --------------------------------------------------------------------------
# Plain calls
# --------------------------------------------------------------------------

@FAST
@given(text=st.binary(max_size=100))
def test_strlen(libc, text):
    ftf, stdf = libc.func("strlen", "c_size_t", ["c_char_p"])
    assert ftf(text) == stdf(text) == len(text.split(b"\0")[0])


@FAST
@given(n=st.integers(-(2**31) + 1, 2**31 - 1))
def test_abs(libc, n):
    ftf, stdf = libc.func("abs", "c_int", ["c_int"])
    assert ftf(n) == stdf(n) == abs(n)


def test_abs_without_argtypes(libc):
    # int is the default argument and result type.
    assert libc.ft["abs"](-42) == 42


@FAST
@given(n=st.integers(LONG_MIN + 1, LONG_MAX))
def test_labs(libc, n):
    ftf, stdf = libc.func("labs", "c_long", ["c_long"])
    assert ftf(n) == stdf(n) == abs(n)


@FAST
@given(x=st.floats(allow_nan=True, allow_infinity=True))
def test_cos(libm, x):
    # Python's math.cos is the same libm function.
    ftf, stdf = libm.func("cos", "c_double", ["c_double"])
    assert same_value(ftf(x), stdf(x))
    if math.isfinite(x):  # (math.cos raises ValueError for infinities; C gives NaN)
        assert same_value(ftf(x), math.cos(x))
    else:
        assert math.isnan(ftf(x))


@FAST
@given(x=st.floats(width=32, allow_nan=False))
def test_cosf_single_precision(libm, x):
    ftf, stdf = libm.func("cosf", "c_float", ["c_float"])
    assert same_value(ftf(x), stdf(x))


@FAST
@given(x=st.floats(allow_nan=False), y=st.floats(allow_nan=False))
def test_pow(libm, x, y):
    ftf, stdf = libm.func("pow", "c_double", ["c_double", "c_double"])
    assert same_value(ftf(x, y), stdf(x, y))


@FAST
@given(x=st.floats(allow_nan=False, allow_infinity=False))
def test_frexp_with_an_out_parameter(libm, ft, x):
    # double frexp(double x, int *exp).  argtypes [c_double, c_void_p] for now:
    # POINTER(c_int) comes with the pointer work; byref() fits a c_void_p.
    frexp = libm.ft["frexp"]
    frexp.argtypes = [ft.c_double, ft.c_void_p]
    frexp.restype = ft.c_double
    exponent = ft.c_int(12345)
    mantissa = frexp(x, ft.byref(exponent))
    assert (mantissa, exponent.value) == math.frexp(x)


# --------------------------------------------------------------------------
# Variadic: snprintf into malloc'd memory
# --------------------------------------------------------------------------

def test_snprintf_with_mixed_variadic_arguments(libc, ft):
    snprintf = libc.ft["snprintf"]
    snprintf.argtypes = [ft.c_void_p, ft.c_size_t, ft.c_char_p]  # then "..."
    snprintf.restype = ft.c_int
    with malloced(libc, 64) as buffer:
        n = snprintf(buffer, 64, b"%d|%.3f|%s|%ld", -17, ft.c_double(2.5), b"bytes", ft.c_long(2**40))
        expected = b"-17|2.500|bytes|1099511627776"
        assert n == len(expected)
        assert ft.string_at(buffer) == expected
        assert ft.string_at(buffer, 3) == b"-17"


@FAST
@given(number=st.integers(-(2**31), 2**31 - 1),
       real=st.floats(allow_nan=False, allow_infinity=False, min_value=-1e15, max_value=1e15),
       text=st.binary(max_size=20).map(lambda b: b.replace(b"\0", b"")))
def test_snprintf_formats_like_python(libc, ft, number, real, text):
    snprintf = libc.ft["snprintf"]
    snprintf.argtypes = [ft.c_void_p, ft.c_size_t, ft.c_char_p]
    snprintf.restype = ft.c_int
    expected = b"%d %.6f %s" % (number, real, text)
    with malloced(libc, 128) as buffer:
        assert snprintf(buffer, 128, b"%d %.6f %s", number, ft.c_double(real), text) == len(expected)
        assert ft.string_at(buffer) == expected


def test_snprintf_truncates_at_the_size(libc, ft):
    snprintf = libc.ft["snprintf"]
    snprintf.argtypes = [ft.c_void_p, ft.c_size_t, ft.c_char_p]
    with malloced(libc, 8) as buffer:
        assert snprintf(buffer, 8, b"%s", b"0123456789") == 10  # the length it wanted
        assert ft.string_at(buffer) == b"0123456"


def test_sprintf_into_a_bytes_buffer_like_ctypes(libc):
    # Writing into a bytes object is what ctypes code does before
    # create_string_buffer; both implementations pass its own buffer.
    results = []
    for lib in (libc.ft, libc.std):
        buffer = bytes(32)
        assert lib["sprintf"](buffer, b"%d-%s", 42, b"x") == 4
        results.append(buffer.split(b"\0")[0])
    assert results == [b"42-x", b"42-x"]


# --------------------------------------------------------------------------
# errno: strtol
# --------------------------------------------------------------------------

def strtol_of(module, libc_name):
    libc = module.CDLL(libc_name, use_errno=True)
    strtol = libc.strtol
    strtol.argtypes = [module.c_char_p, module.c_void_p, module.c_int]
    strtol.restype = module.c_long
    return strtol


@pytest.fixture(scope="module")
def libc_name():
    return ctypes.util.find_library("c")


@pytest.mark.parametrize("text, value, error", [
    (b"12345", 12345, 0),
    (b"-42xyz", -42, 0),
    (b"99999999999999999999", LONG_MAX, errno.ERANGE),
    (b"-99999999999999999999", LONG_MIN, errno.ERANGE),
    (b"9223372036854775807", LONG_MAX, 0),
])
def test_strtol_reports_overflow_through_errno(ft, std, libc_name, text, value, error):
    for module in (ft, std):
        strtol = strtol_of(module, libc_name)
        module.set_errno(0)
        assert strtol(text, None, 10) == value
        assert module.get_errno() == error, module.__name__


@FAST
@given(n=st.integers(-(2**70), 2**70))
def test_strtol_parses_like_python_clamps(ft, libc_name, n):
    strtol = strtol_of(ft, libc_name)
    ft.set_errno(0)
    result = strtol(str(n).encode(), None, 10)
    assert result == max(LONG_MIN, min(LONG_MAX, n))
    assert ft.get_errno() == (0 if LONG_MIN <= n <= LONG_MAX else errno.ERANGE)


def test_strtol_end_pointer(ft, libc_name):
    strtol = strtol_of(ft, libc_name)
    end = ft.c_void_p()
    assert strtol(b"0x1fz!", ft.byref(end), 16) == 0x1F
    assert ft.string_at(end.value) == b"z!"


# --------------------------------------------------------------------------
# memmove, memset, string_at
# --------------------------------------------------------------------------

@FAST
@given(data=st.binary(min_size=1, max_size=200))
def test_memmove_into_malloc_and_string_at(libc, ft, data):
    with malloced(libc, len(data)) as buffer:
        assert ft.memmove(buffer, data, len(data)) == buffer  # returns the destination
        assert ft.string_at(buffer, len(data)) == data


def test_memmove_between_instances(ft):
    source, target = ft.c_double(2.5), ft.c_double()
    ft.memmove(ft.byref(target), ft.byref(source), ft.sizeof(ft.c_double))
    assert target.value == 2.5


@FAST
@given(value=st.integers(-(2**31), 2**31 - 1))
def test_memmove_from_bytes(ft, std, value):
    for module in (ft, std):
        target = module.c_int()
        module.memmove(module.byref(target), struct.pack("i", value), 4)
        assert target.value == value


@FAST
@given(byte=st.integers(0, 255))
def test_memset(ft, std, byte):
    results = []
    for module in (ft, std):
        target = module.c_uint64(0)
        assert module.memset(module.byref(target), byte, 8) == module.addressof(target)
        results.append(target.value)
    assert results[0] == results[1] == int.from_bytes(bytes([byte]) * 8, "little")


def test_memset_part_of_malloc(libc, ft):
    with malloced(libc, 8) as buffer:
        ft.memset(buffer, ord("a"), 8)
        ft.memset(buffer + 2, 0, 1)
        assert ft.string_at(buffer) == b"aa"
        assert ft.string_at(buffer, 8) == b"aa\0aaaaa"


@pytest.mark.parametrize("name, value", [("c_int", 0x41424344), ("c_double", 1.5), ("c_short", -2)])
def test_string_at_reads_an_instances_memory(ft, std, name, value):
    ftobj, stdobj = getattr(ft, name)(value), getattr(std, name)(value)
    assert ft.string_at(ft.addressof(ftobj), ft.sizeof(ftobj)) == \
        std.string_at(std.addressof(stdobj), std.sizeof(stdobj))


@FAST
@given(data=st.binary(max_size=50), size=st.integers(-1, 50))
def test_string_at_of_bytes(ft, std, data, size):
    # A bytes object passes its own buffer; -1 reads up to the NUL terminator.
    size = min(size, len(data))
    assert ft.string_at(data, size) == std.string_at(data, size)


def test_string_at_accepts_pointers(ft):
    obj = ft.c_int(0x00434241)
    assert ft.string_at(ft.byref(obj)) == b"ABC"
    assert ft.string_at(ft.c_void_p(ft.addressof(obj))) == b"ABC"
    assert ft.string_at(ft.c_char_p(b"text")) == b"text"


@FAST
@given(value=text(max_size=30))
def test_wstring_at(ft, std, value):
    assert ft.wstring_at(value) == std.wstring_at(value) == value.split("\0")[0]
    assert ft.wstring_at(value, len(value)) == value
