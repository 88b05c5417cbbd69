"""Exceptions in callbacks (issue 20, part 2): `error_result=`, the value C gets from
a failed callback, and `propagate=True`, the exception raised by the foreign call
that was waiting on the callback's thread. Real C calls back: the test library's
`ftcb_*` functions and libc's qsort; the default behaviour is compared with ctypes.
"""

from __future__ import annotations

import ctypes as std_ctypes
import sys
import traceback

import pytest

import ferrotypes
from ferrotypes import (
    CFUNCTYPE, POINTER, PYFUNCTYPE, Structure, c_double, c_float, c_int, c_long,
    c_size_t, c_ubyte, c_void_p, sizeof,
)


class Unraisable:
    """Collects sys.unraisablehook reports for the duration of a with block."""

    def __enter__(self):
        self.reports = []
        self._old = sys.unraisablehook
        sys.unraisablehook = lambda r: self.reports.append((r.exc_type, str(r.exc_value)))
        return self

    def __exit__(self, *exc):
        sys.unraisablehook = self._old


def raising(exc):
    def callback(*args):
        raise exc
    return callback


# ---------------------------------------------------------------------------
# Default behaviour: ctypes'
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("callable_", [raising(ValueError("boom")), lambda x: "not an int"])
def test_default_reports_and_returns_zero_like_ctypes(fttest, callable_):
    results = []
    for module, lib in ((ferrotypes, fttest.ft), (std_ctypes, fttest.std)):
        proto = module.CFUNCTYPE(module.c_int, module.c_int)
        f = lib["ftcb_call_n"]
        f.argtypes, f.restype = [proto, module.c_int], module.c_long
        with Unraisable() as seen:
            total = f(proto(callable_), 4)
        results.append((total, seen.reports))
    # The same reports; ferrotypes returns zero where ctypes leaves the result
    # unwritten (whatever the result register held).
    assert results[0][1] == results[1][1] and len(results[0][1]) == 4
    assert results[0][0] == 0


# ---------------------------------------------------------------------------
# error_result
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("name, ctype, value", [
    ("int", ferrotypes.c_int, -1),
    ("uint", ferrotypes.c_uint, 0xFFFFFFFF),
    ("schar", ferrotypes.c_byte, -7),
    ("ulonglong", ferrotypes.c_ulonglong, 2**64 - 2),
    ("double", ferrotypes.c_double, -0.5),
    ("float", ferrotypes.c_float, 1.5),
    ("bool", ferrotypes.c_bool, True),
    ("voidp", ferrotypes.c_void_p, 0xDEAD),
])
def test_error_result_is_what_c_gets(fttest, name, ctype, value):
    proto = CFUNCTYPE(ctype, ctype, error_result=value)
    f = fttest.ft[f"ftcb_pass_{name}"]
    f.argtypes, f.restype = [proto, ctype], ctype
    ok = value if name != "bool" else False
    with Unraisable() as seen:
        assert f(proto(lambda x: x), ok) == ok  # a successful call is unchanged
        assert f(proto(raising(KeyError("k"))), ok) == value
        if name != "bool":  # c_bool takes any object's truth
            assert f(proto(lambda x: "unconvertible"), ok) == value
    assert [kind for kind, _ in seen.reports] == [KeyError, TypeError][:len(seen.reports)]
    assert len(seen.reports) == (1 if name == "bool" else 2)


class Point(Structure):
    _fields_ = [("x", c_int), ("y", c_int)]


def test_error_result_of_a_structure(fttest):
    for error in (Point(7, 9), (7, 9)):
        proto = CFUNCTYPE(Point, c_int, c_int, error_result=error)
        f = fttest.ft["ftcb_point_result"]
        f.argtypes, f.restype = [proto, c_int, c_int], c_long
        with Unraisable():
            assert f(proto(lambda x, y: Point(x, y)), 1, 2) == 1002
            assert f(proto(raising(ValueError())), 1, 2) == 7009


@pytest.mark.parametrize("restype, value, words", [
    (c_int, 1.5, "int expected"),
    (c_int, "x", "does not convert"),
    (c_ubyte, b"ab", "does not convert"),
    (None, 0, "must be None"),
    (ferrotypes.py_object, 3, "py_object"),
    (ferrotypes.c_char_p, b"text", "must be an address"),
    (Point, "no", "does not convert"),
])
def test_error_result_is_checked_when_the_prototype_is_made(restype, value, words):
    with pytest.raises(TypeError, match=words):
        CFUNCTYPE(restype, c_int, error_result=value)
    with pytest.raises(TypeError, match=words):
        PYFUNCTYPE(restype, c_int, error_result=value)


def test_prototypes_differing_in_errors_are_different_classes():
    plain = CFUNCTYPE(c_int, c_int)
    assert CFUNCTYPE(c_int, c_int) is plain
    minus = CFUNCTYPE(c_int, c_int, error_result=-1)
    assert minus is not plain and CFUNCTYPE(c_int, c_int, error_result=-1) is minus
    assert CFUNCTYPE(c_int, c_int, error_result=-2) is not minus
    assert CFUNCTYPE(c_double, c_int, error_result=1) is not CFUNCTYPE(c_double, c_int, error_result=1.0)
    propagating = CFUNCTYPE(c_int, c_int, propagate=True)
    assert propagating is not plain and CFUNCTYPE(c_int, c_int, propagate=True) is propagating
    both = CFUNCTYPE(c_int, c_int, error_result=-1, propagate=True)
    assert both not in (plain, minus, propagating)
    assert CFUNCTYPE(c_int, c_int, error_result=-1, propagate=True) is both
    assert PYFUNCTYPE(c_int, c_int, propagate=True) is not PYFUNCTYPE(c_int, c_int)
    assert minus._error_result_ == -1


# ---------------------------------------------------------------------------
# propagate=True
# ---------------------------------------------------------------------------

def qsort_function(libc_ft, proto):
    qsort = libc_ft["qsort"]
    qsort.argtypes = [c_void_p, c_size_t, c_size_t, proto]
    qsort.restype = None
    return qsort


def test_qsort_raises_the_comparators_exception(libc):
    proto = CFUNCTYPE(c_int, POINTER(c_int), POINTER(c_int), propagate=True)
    qsort = qsort_function(libc.ft, proto)
    calls = []

    def compare(a, b):
        calls.append(1)
        if len(calls) == 10:
            raise ZeroDivisionError("tenth comparison")
        return (a[0] > b[0]) - (a[0] < b[0])

    data = list(range(50, 0, -1))
    array = (c_int * 50)(*data)
    with Unraisable() as seen:
        with pytest.raises(ZeroDivisionError, match="tenth comparison") as info:
            qsort(array, 50, sizeof(c_int), proto(compare))
    assert seen.reports == []  # propagated, not also reported
    # The later comparisons got the error result (0) without running Python.
    assert len(calls) == 10
    # The callback's frame is in the traceback, below the call site.
    frames = [frame.f_code.co_name for frame, _ in traceback.walk_tb(info.value.__traceback__)]
    assert frames[-1] == "compare" and "test_qsort_raises_the_comparators_exception" in frames
    # The array holds what C left: the same numbers, in whatever order C reached.
    assert sorted(array) == sorted(data)


def test_later_callbacks_of_the_call_get_the_error_result_at_once(fttest):
    proto = CFUNCTYPE(c_int, c_int, error_result=100, propagate=True)
    f = fttest.ft["ftcb_call_n"]
    f.argtypes, f.restype = [proto, c_int], c_long
    ran = []

    def cb(i):
        ran.append(i)
        if i == 2:
            raise LookupError(i)
        return i

    callback = proto(cb)
    with pytest.raises(LookupError):
        f(callback, 6)
    assert ran == [0, 1, 2]
    # The next call starts afresh and succeeds: 0 + 1 + ... + 5.
    ran.clear()
    assert f(proto(lambda i: i), 6) == 15


def test_errcheck_is_not_run_when_a_callback_propagates(fttest):
    proto = CFUNCTYPE(c_int, c_int, propagate=True)
    f = fttest.ft["ftcb_call_n"]
    f.argtypes, f.restype = [proto, c_int], c_long
    checked = []
    f.errcheck = lambda result, func, args: checked.append(result) or result
    with pytest.raises(ArithmeticError):
        f(proto(raising(ArithmeticError())), 3)
    assert checked == []
    assert f(proto(lambda i: 1), 3) == 3 and checked == [3]


def test_unconvertible_results_and_arguments_propagate_too(fttest):
    proto = CFUNCTYPE(c_int, c_int, propagate=True)
    f = fttest.ft["ftcb_call_n"]
    f.argtypes, f.restype = [proto, c_int], c_long
    with pytest.raises(TypeError):
        f(proto(lambda i: "text"), 3)


def test_the_untyped_and_exact_paths_raise_it_too(fttest):
    proto = CFUNCTYPE(c_int, c_int, propagate=True)
    callback = proto(raising(RuntimeError("untyped")))
    f = fttest.ft["ftcb_call_n"]  # no argtypes: the untyped path
    with pytest.raises(RuntimeError, match="untyped"):
        f(callback, 2)
    # Calling the callback's own function pointer from Python is a foreign call too.
    with pytest.raises(RuntimeError, match="untyped"):
        callback(1)


def test_pydll_calls_propagate(fttest_path):
    lib = ferrotypes.PyDLL(fttest_path)
    proto = PYFUNCTYPE(c_int, c_int, propagate=True)
    f = lib["ftcb_call_n"]
    f.argtypes, f.restype = [CFUNCTYPE(c_int, c_int, propagate=True), c_int], c_long
    with pytest.raises(OSError, match="held"):
        f(CFUNCTYPE(c_int, c_int, propagate=True)(raising(OSError("GIL held"))), 2)
    assert proto(lambda i: i)(4) == 4


def test_a_non_propagating_callback_in_the_same_call_still_reports(fttest):
    proto = CFUNCTYPE(c_int, c_int)
    f = fttest.ft["ftcb_call_n"]
    f.argtypes, f.restype = [proto, c_int], c_long
    with Unraisable() as seen:
        assert f(proto(raising(ValueError("plain"))), 2) == 0
    assert [kind for kind, _ in seen.reports] == [ValueError, ValueError]


def test_nested_foreign_calls(fttest):
    """An inner call raises its own callback's exception; the outer callback may catch
    it, or let it go, and then the outer call raises it (the inner one as context)."""
    proto = CFUNCTYPE(c_int, c_int, error_result=-1, propagate=True)
    outer = fttest.ft["ftcb_call_n"]
    outer.argtypes, outer.restype = [proto, c_int], c_long
    inner = fttest.ft["ftcb_pass_int"]
    inner.argtypes, inner.restype = [proto, c_int], c_int
    caught = []

    def inner_cb(x):
        raise KeyError(x)

    def catching(i):
        try:
            inner(proto(inner_cb), i)
        except KeyError as e:
            caught.append(e.args[0])
        return 1

    assert outer(proto(catching), 3) == 3
    assert caught == [0, 1, 2]

    def translating(i):
        try:
            inner(proto(inner_cb), i)
        except KeyError:
            raise ValueError(f"outer {i}")
        return 1

    with pytest.raises(ValueError, match="outer 0") as info:
        outer(proto(translating), 3)
    assert isinstance(info.value.__context__, KeyError)

    # An outer call whose callback already failed: a nested call made by another
    # (non-propagating) callback of it is a call of its own, and its callbacks run.
    plain = CFUNCTYPE(c_int, c_int)
    each = fttest.ft["ftcb_call_each"]
    inner_ran = []

    def inner_ok(x):
        inner_ran.append(x)
        return x

    first = proto(raising(IndexError("first")))
    second = plain(lambda x: inner(proto(inner_ok), x))
    table = (plain * 2)(ferrotypes.cast(first, plain), second)
    each.argtypes, each.restype = [POINTER(plain), c_int, c_int], c_int
    with pytest.raises(IndexError, match="first"):
        each(table, 2, 5)
    assert inner_ran == [5]


def test_a_callback_on_a_c_thread_reports_as_today(fttest):
    """No Python call waits on a C thread: the exception is reported there, and the
    foreign call that started the threads returns normally."""
    proto = CFUNCTYPE(None, c_int, propagate=True)
    f = fttest.ft["ftcb_threads"]
    f.argtypes, f.restype = [proto, c_int, c_int], c_int
    with Unraisable() as seen:
        assert f(proto(raising(ValueError("on a C thread"))), 2, 3) == 0
    assert seen.reports == [(ValueError, "on a C thread")] * 6


def test_a_callback_called_by_other_code_reports_as_today(fttest):
    """C reached through stdlib ctypes: no ferrotypes call waits, so it is reported,
    and the callback returns its error result."""
    proto = CFUNCTYPE(c_int, c_int, error_result=-3, propagate=True)
    callback = proto(raising(ValueError("not ours")))
    address = ferrotypes.cast(callback, c_void_p).value
    f = fttest.std["ftcb_call_n"]
    f.argtypes, f.restype = [std_ctypes.c_void_p, std_ctypes.c_int], std_ctypes.c_long
    with Unraisable() as seen:
        assert f(address, 2) == -6
    assert seen.reports == [(ValueError, "not ours")] * 2


def test_a_stored_callback_raises_from_the_later_call(fttest):
    proto = CFUNCTYPE(c_int, c_int, propagate=True)
    store, call_stored = fttest.ft["ftcb_store"], fttest.ft["ftcb_call_stored"]
    store.argtypes, store.restype = [proto], None
    call_stored.argtypes, call_stored.restype = [c_int], c_int
    callback = proto(raising(FloatingPointError("later")))
    store(callback)
    with pytest.raises(FloatingPointError, match="later"):
        call_stored(1)
    store.argtypes = None
    store(None)
