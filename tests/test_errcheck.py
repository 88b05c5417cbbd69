"""A function's errcheck: what it is given (the converted result, the function, the
arguments), what its return value and its exceptions do, and which values it may be.

``fttest`` (tests/conftest.py) is the C test library (tests/clib/fttest.c) loaded by
both implementations; ``fttest.func(name, restype, argtypes)`` gives a freshly
configured function object of each.
"""

import pytest

from difftools import outcome


def test_errcheck_sees_result_function_and_arguments(fttest, ft):
    f = fttest.ft["ft_add_int"]
    f.argtypes = [ft.c_int, ft.c_int]
    calls = []

    def errcheck(result, func, args):
        calls.append((result, func, args))
        return result * 10

    f.errcheck = errcheck
    assert f.errcheck is errcheck
    assert f(2, 3) == 50
    assert calls == [(5, f, (2, 3))]


def test_errcheck_exception_propagates(fttest, ft):
    f = fttest.ft["ft_add_int"]

    def errcheck(result, func, args):
        raise OSError(result, "failed")

    f.errcheck = errcheck
    with pytest.raises(OSError, match="failed"):
        f(1, 2)


def test_errcheck_returning_the_arguments_means_the_normal_result(fttest):
    # ctypes: "If errcheck returns the argument tuple it receives unchanged,
    # ctypes continues the normal processing it does on the output parameters."
    ftf, stdf = fttest.func("ft_add_int", "c_int", ["c_int", "c_int"])
    for f in (ftf, stdf):
        f.errcheck = lambda result, func, args: args
    assert ftf(2, 3) == stdf(2, 3) == 5


def test_errcheck_runs_after_restype_conversion(fttest, ft):
    f = fttest.ft["ft_id_int"]
    f.restype = lambda value: value + 1
    f.errcheck = lambda result, func, args: result * 2
    assert f(4) == 10


@pytest.mark.parametrize("value", [5, "not callable", None], ids=repr)
def test_errcheck_must_be_callable_like_ctypes(fttest, value):
    ftf, stdf = fttest.ft["ft_f0"], fttest.std["ft_f0"]
    assert outcome(lambda: setattr(ftf, "errcheck", value)) == outcome(lambda: setattr(stdf, "errcheck", value))
