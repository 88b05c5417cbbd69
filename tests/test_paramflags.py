"""paramflags: ``proto((name, library), paramflags)`` through real C, ctypes as the oracle.

Each scenario runs once with ferrotypes and once with the stdlib's ctypes over the
same shared library (tests/clib: ``ft_divmod_out``, ``ft_scale_inout``,
``ft_fill_ints``, ``ft_point_fill``) and must give the same values, or raise the
same exception type with the same message.
"""

from __future__ import annotations

import ctypes as std_ctypes

import pytest

import ferrotypes


def outcome(call):
    """A comparable account of a call: its value, or its exception and message."""
    try:
        return ("ok", call())
    except Exception as exc:  # noqa: BLE001 (any exception is an outcome)
        return ("raises", type(exc).__name__, str(exc))


def each(fttest, scenario, messages=True):
    """``scenario(mod, lib)`` with ferrotypes and with ctypes; asserts the same
    outcome (without comparing exception messages if ``messages`` is false) and
    returns it."""
    got = outcome(lambda: scenario(ferrotypes, fttest.ft))
    expected = outcome(lambda: scenario(std_ctypes, fttest.std))
    if messages:
        assert got == expected
    else:
        assert got[:2] == expected[:2]
    return got


def divmod_out(mod, lib, paramflags, restype=None):
    restype = mod.c_int if restype is None else restype
    proto = mod.CFUNCTYPE(restype, mod.c_int, mod.c_int, mod.POINTER(mod.c_int), mod.POINTER(mod.c_int))
    return proto(("ft_divmod_out", lib), paramflags)


DIVMOD = ((1, "a"), (1, "b"), (2, "q"), (2, "r"))


# ---------------------------------------------------------------------------
# Output parameters, keywords, defaults
# ---------------------------------------------------------------------------

def test_output_parameters_are_returned_as_a_tuple(fttest):
    def scenario(mod, lib):
        f = divmod_out(mod, lib, DIVMOD)
        return [f(7, 2), f(-7, 2), f(a=17, b=5), f(9, b=4), f(b=3, a=-10)]

    assert each(fttest, scenario) == ("ok", [(3, 1), (-3, -1), (3, 2), (2, 1), (-3, -1)])


def test_one_output_parameter_is_returned_alone(fttest):
    def scenario(mod, lib):
        f = divmod_out(mod, lib, ((1, "a"), (1, "b"), (2, "q"), (1, "r", None)))
        return f(7, 2), f(b=2, a=9)

    assert each(fttest, scenario) == ("ok", (3, 4))


def test_defaults_fill_missing_arguments(fttest):
    def scenario(mod, lib):
        f = divmod_out(mod, lib, ((1, "a", 100), (1, "b", 7), (2, "q"), (2, "r")))
        return [f(), f(20), f(b=3), f(20, 6)]

    assert each(fttest, scenario) == ("ok", [(14, 2), (2, 6), (33, 1), (3, 2)])


def test_output_parameter_with_a_default_returns_that_object(fttest):
    def scenario(mod, lib):
        q = mod.c_int(-1)
        f = divmod_out(mod, lib, ((1, "a"), (1, "b"), (2, "q", q), (2, "r")))
        quotient, remainder = f(9, 4)
        return quotient, remainder, q.value

    assert each(fttest, scenario) == ("ok", (2, 1, 2))


def test_in_out_parameter_is_returned_as_passed(fttest):
    def scenario(mod, lib):
        proto = mod.CFUNCTYPE(mod.c_int, mod.POINTER(mod.c_int), mod.c_int)
        f = proto(("ft_scale_inout", lib), ((3, "x"), (1, "k", 10)))
        x = mod.c_int(4)
        returned = f(x)
        return type(returned).__name__, returned.value, x.value, returned is x

    assert each(fttest, scenario) == ("ok", ("c_int", 40, 40, True))


def test_default_to_zero_parameter_never_comes_from_the_caller(fttest):
    """Flag 5 (in + lcid): the default, else zero; not counted as an argument."""
    def scenario(mod, lib):
        f = divmod_out(mod, lib, ((1, "a"), (5, "b", 3), (2, "q"), (2, "r")))
        g = divmod_out(mod, lib, ((1, "a"), (5, "b"), (2, "q"), (2, "r")))
        return f(10), g(10), outcome(lambda: f(10, 2))

    got = each(fttest, scenario)
    assert got[1][:2] == ((3, 1), (0, 0))  # b == 0: nothing stored
    assert got[1][2][0] == "raises"


def test_array_output_parameter_is_allocated_from_the_array_type(fttest):
    def scenario(mod, lib):
        proto = mod.CFUNCTYPE(mod.c_int, mod.c_int * 4, mod.c_int)
        f = proto(("ft_fill_ints", lib), ((2, "out"), (1, "n", 4)))
        out = f()
        return type(out).__name__, list(out)

    assert each(fttest, scenario) == ("ok", ("c_int_Array_4", [0, 1, 2, 3]))


def test_structure_output_parameter(fttest):
    def scenario(mod, lib):
        class Point(mod.Structure):
            _fields_ = [("x", mod.c_int), ("y", mod.c_int)]

        proto = mod.CFUNCTYPE(None, mod.c_int, mod.c_int, mod.POINTER(Point))
        f = proto(("ft_point_fill", lib), ((1, "x"), (1, "y"), (2, "p")))
        p = f(3, y=-4)
        return type(p).__name__, p.x, p.y

    assert each(fttest, scenario) == ("ok", ("Point", 3, -4))


def test_simple_pointer_output_needs_a_default(fttest):
    def scenario(mod, lib):
        proto = mod.CFUNCTYPE(mod.c_int, mod.c_void_p, mod.c_int)
        f = proto(("ft_fill_ints", lib), ((2, "out"), (1, "n")))
        return f(2)

    assert each(fttest, scenario)[:2] == ("raises", "TypeError")


def test_bytes_name_and_paramflags_none(fttest):
    def scenario(mod, lib):
        proto = mod.CFUNCTYPE(mod.c_int, mod.c_int, mod.c_int, mod.POINTER(mod.c_int), mod.POINTER(mod.c_int))
        q, r = mod.c_int(), mod.c_int()
        status = proto((b"ft_divmod_out", lib), None)(23, 5, mod.byref(q), mod.byref(r))
        return status, q.value, r.value

    assert each(fttest, scenario) == ("ok", (0, 4, 3))


# ---------------------------------------------------------------------------
# errcheck
# ---------------------------------------------------------------------------

def test_errcheck_sees_the_full_argument_list(fttest):
    def scenario(mod, lib):
        seen = []

        def errcheck(result, func, args):
            seen.append((result, func is f, [type(a).__name__ for a in args], args[0], args[1], args[2].value))
            return args  # the arguments themselves: the output parameters are returned

        f = divmod_out(mod, lib, DIVMOD)
        f.errcheck = errcheck
        return f(b=4, a=10), seen

    assert each(fttest, scenario) == ("ok", ((2, 2), [(0, True, ["int", "int", "c_int", "c_int"], 10, 4, 2)]))


def test_errcheck_result_replaces_the_output_parameters(fttest):
    def scenario(mod, lib):
        def errcheck(result, func, args):
            if result != 0:
                raise ZeroDivisionError("ft_divmod_out failed")
            return ("checked", args[2].value)

        f = divmod_out(mod, lib, DIVMOD)
        f.errcheck = errcheck
        return f(7, 2), outcome(lambda: f(7, 0))

    assert each(fttest, scenario) == ("ok", (("checked", 3), ("raises", "ZeroDivisionError", "ft_divmod_out failed")))


def test_restype_and_check_retval_run_before_errcheck(fttest):
    def scenario(mod, lib):
        class Status(mod.c_int):
            @classmethod
            def _check_retval_(cls, value):
                return ("status", value.value)

        f = divmod_out(mod, lib, DIVMOD, restype=Status)
        results = []
        f.errcheck = lambda result, func, args: results.append(result) or args
        return f(1, 0), results  # status -1: errcheck sees it, the outputs are returned

    assert each(fttest, scenario) == ("ok", ((0, 0), [("status", -1)]))


# ---------------------------------------------------------------------------
# Wrong calls
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("call", [
    lambda f: f(),
    lambda f: f(1),
    lambda f: f(1, 2, 3),
    lambda f: f(1, 2, c=3),
    lambda f: f(1, 2, a=1),
    lambda f: f(1, b=2, q=3),
], ids=["none", "missing-b", "too-many", "unknown-keyword", "keyword-and-positional", "output-by-keyword"])
def test_wrong_calls_fail_like_ctypes(fttest, call):
    got = each(fttest, lambda mod, lib: call(divmod_out(mod, lib, DIVMOD)))
    assert got[0] == "raises"


@pytest.mark.parametrize("call", [lambda f: f(1, "x"), lambda f: f(a=1.5, b=2)], ids=["positional", "keyword"])
def test_wrong_argument_types_name_the_parameter_position(fttest, call):
    """ArgumentError "argument N: ..." (ferrotypes' own text after the colon)."""
    got = each(fttest, lambda mod, lib: call(divmod_out(mod, lib, DIVMOD)), messages=False)
    assert got[:2] == ("raises", "ArgumentError")


def test_missing_argument_is_named(fttest):
    assert each(fttest, lambda mod, lib: divmod_out(mod, lib, DIVMOD)(b=2)) == (
        "raises", "TypeError", "required argument 'a' missing")


def test_unnamed_parameters_are_positional_only(fttest):
    def scenario(mod, lib):
        f = divmod_out(mod, lib, ((1,), (1, None), (2,), (2, None)))
        return f(8, 3), outcome(lambda: f(8)), outcome(lambda: f(8, b=3)), outcome(lambda: f())

    got = each(fttest, scenario)
    assert got[1][0] == (2, 2)
    assert got[1][1] == ("raises", "TypeError", "required argument 'None' missing")  # ctypes' words
    assert got[1][3] == ("raises", "TypeError", "not enough arguments")


# ---------------------------------------------------------------------------
# Malformed paramflags, refused when the function is made
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("paramflags", [
    [(1, "a"), (1, "b"), (2, "q"), (2, "r")],           # a list
    ((1, "a"), (1, "b"), (2, "q")),                     # too short
    ((1, "a"), (1, "b"), (2, "q"), (2, "r"), (1, "x")),  # too long
    ((1, "a"), (1, "b"), (2, "q"), 2),                   # an item not a tuple
    ((1, "a"), (1, "b"), (2, "q"), ()),                  # an empty item
    ((1, "a"), (1, b"b"), (2, "q"), (2, "r")),           # a name not str
    (("1", "a"), (1, "b"), (2, "q"), (2, "r")),          # a flag not int
    ((1.0, "a"), (1, "b"), (2, "q"), (2, "r")),          # a float flag
    ((1, "a", 0, 0), (1, "b"), (2, "q"), (2, "r")),      # four entries
    ((2, "a"), (1, "b"), (2, "q"), (2, "r")),            # an output that is not a pointer
    ((4, "a"), (1, "b"), (2, "q"), (2, "r")),            # unsupported flags
    ((6, "a"), (1, "b"), (2, "q"), (2, "r")),
    ((7, "a"), (1, "b"), (2, "q"), (2, "r")),
    "abcd",
])
def test_malformed_paramflags_are_refused_like_ctypes(fttest, paramflags):
    assert each(fttest, lambda mod, lib: divmod_out(mod, lib, paramflags))[0] == "raises"


def test_flags_beyond_the_low_three_bits_are_ignored_like_ctypes(fttest):
    def scenario(mod, lib):
        return divmod_out(mod, lib, ((9, "a"), (1, "b"), (2 | 16, "q"), (2, "r")))(7, 3)

    assert each(fttest, scenario) == ("ok", (2, 1))


@pytest.mark.parametrize("args", [
    lambda mod, lib: (123, None),
    lambda mod, lib: (abs, None),
    lambda mod, lib: (("ft_divmod_out", lib), None, 3),
    lambda mod, lib: (("ft_divmod_out",),),
    lambda mod, lib: (("ft_divmod_out", lib, 1),),
    lambda mod, lib: ((3.5, lib),),
    lambda mod, lib: (("no_such_function_here", lib),),
])
def test_bad_constructor_arguments_fail_like_ctypes(fttest, args):
    def scenario(mod, lib):
        proto = mod.CFUNCTYPE(mod.c_int, mod.c_int)
        return proto(*args(mod, lib))

    assert each(fttest, scenario)[0] == "raises"


def test_paramflags_checked_again_when_argtypes_change(fttest):
    """ctypes reads past the end of paramflags here; ferrotypes refuses the call."""
    f = divmod_out(ferrotypes, fttest.ft, DIVMOD)
    f.argtypes = [ferrotypes.c_int, ferrotypes.c_int, ferrotypes.POINTER(ferrotypes.c_int)]
    with pytest.raises(ValueError, match="paramflags must have the same length as argtypes"):
        f(1, 2)
    f.argtypes = [ferrotypes.c_int, ferrotypes.c_int, ferrotypes.c_int, ferrotypes.POINTER(ferrotypes.c_int)]
    with pytest.raises(TypeError, match="'out' parameter 3 must be a pointer type, not c_int"):
        f(1, 2)


def test_functions_without_paramflags_refuse_keywords(fttest):
    """ctypes silently ignores keyword arguments here; ferrotypes says so."""
    f = fttest.ft["ft_add2"]
    with pytest.raises(TypeError, match="no keyword arguments"):
        f(1, b=2)
