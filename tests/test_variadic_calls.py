"""Calls of variadic C functions (``int f(int n, ...)``): the arguments past argtypes
are converted as without argtypes and get C's default argument promotions.

``fttest`` (tests/conftest.py) is the C test library (tests/clib/fttest.c) loaded by
both implementations; ``fttest.func(name, restype, argtypes)`` gives a freshly
configured function object of each.
"""

import ctypes as std_ctypes
import functools
import operator

from hypothesis import given
from hypothesis import strategies as st

import ferrotypes
from calltools import FAST, int32s
from difftools import outcome, same_value


@FAST
@given(numbers=st.lists(int32s, max_size=12))
def test_variadic_int_sum(fttest, numbers):
    ftf, stdf = fttest.func("ft_sum_variadic", "c_int", ["c_int"])
    expected = (sum(numbers) + 2**31) % 2**32 - 2**31  # int arithmetic wraps
    assert ftf(len(numbers), *numbers) == stdf(len(numbers), *numbers) == expected


@FAST
@given(numbers=st.lists(st.floats(allow_nan=False, allow_infinity=False), max_size=12))
def test_variadic_double_sum(fttest, numbers):
    ftf, stdf = fttest.func("ft_sum_variadic_double", "c_double", ["c_int"])
    expected = functools.reduce(operator.add, numbers, 0.0)  # C's order of additions
    got = ftf(len(numbers), *map(ferrotypes.c_double, numbers))
    assert same_value(got, stdf(len(numbers), *map(std_ctypes.c_double, numbers)))
    assert same_value(got, expected)


def test_variadic_arguments_get_default_promotions(fttest, ft):
    # float -> double, and types narrower than int -> int, as a C compiler does
    # for "...".  (The stdlib's ctypes raises RuntimeError('ffi_prep_cif_var
    # failed') for these instead; ferrotypes passes what C expects.)
    sum_doubles, _ = fttest.func("ft_sum_variadic_double", "c_double", ["c_int"])
    assert sum_doubles(3, ft.c_double(1.5), ft.c_float(2.5), ft.c_double(3)) == 7.0
    sum_ints, _ = fttest.func("ft_sum_variadic", "c_int", ["c_int"])
    assert sum_ints(3, ft.c_short(-1), ft.c_byte(-2), ft.c_ubyte(255)) == 252
    assert sum_ints(2, ft.c_bool(True), ft.c_char(b"A")) == 66


def test_variadic_python_floats_need_a_type(fttest):
    # A Python float past argtypes has no C type: ArgumentError in both.
    ftf, stdf = fttest.func("ft_sum_variadic_double", "c_double", ["c_int"])
    assert outcome(lambda: ftf(1, 1.5)) == outcome(lambda: stdf(1, 1.5)) == ("raises", "ArgumentError")


def test_variadic_without_argtypes(fttest, ft):
    ftf, stdf = fttest.func("ft_sum_variadic")
    assert ftf(3, 10, 20, 30) == stdf(3, 10, 20, 30) == 60
    ftd, stdd = fttest.func("ft_sum_variadic_double", "c_double")
    assert ftd(2, ft.c_double(0.5), ft.c_double(0.25)) == stdd(2, std_ctypes.c_double(0.5), std_ctypes.c_double(0.25)) == 0.75
