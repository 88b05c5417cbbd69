"""Arguments of foreign calls with argtypes: each simple type's conversion, the errors
a wrong argument raises, the argtypes attribute itself, the parameter objects
``from_param`` gives, and how long an argument lives.

Each test calls the same C function through ferrotypes and through the stdlib's
ctypes (the oracle), with the same argtypes and restype, and compares: results,
which exception type a bad argument raises, what reaches the C side.

``fttest`` (tests/conftest.py) is the C test library (tests/clib/fttest.c) loaded by
both implementations; ``fttest.func(name, restype, argtypes)`` gives a freshly
configured function object of each.

Calls without argtypes are in test_untyped_calls.py, pointer parameters in
test_pointer_arguments.py.
"""

import ctypes as std_ctypes
import weakref

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ferrotypes
from calltools import FAST, IDENTITY
from difftools import assert_same_outcome, outcome, same_value


# --------------------------------------------------------------------------
# Identity round trips, with argtypes
# --------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(IDENTITY))
@FAST
@given(data=st.data())
def test_identity_round_trips_like_ctypes(fttest, name, data):
    suffix, values = IDENTITY[name]
    value = data.draw(values, label="value")
    ftf, stdf = fttest.func("ft_id_" + suffix, name, [name])
    assert_same_outcome(lambda: ftf(value), lambda: stdf(value))


@pytest.mark.parametrize("name", sorted(IDENTITY))
def test_identity_accepts_instances_of_its_type(fttest, name):
    suffix, _ = IDENTITY[name]
    value = {"c_char": b"x", "c_wchar": "\u00e9", "c_char_p": b"bytes",
             "c_wchar_p": "w\u00e9rds", "c_bool": True}.get(name, 42)
    ftf, stdf = fttest.func("ft_id_" + suffix, name, [name])
    result = ftf(getattr(ferrotypes, name)(value))
    assert same_value(result, stdf(getattr(std_ctypes, name)(value)))
    assert result == (42.0 if name in ("c_float", "c_double", "c_longdouble") else value)


def test_identity_examples(fttest):
    ft_id_short, _ = fttest.func("ft_id_short", "c_short", ["c_short"])
    assert ft_id_short(-2) == -2
    assert ft_id_short(40000) == 40000 - 65536  # wraps like C
    ft_id_double, _ = fttest.func("ft_id_double", "c_double", ["c_double"])
    assert ft_id_double(2) == 2.0
    ft_id_charp, _ = fttest.func("ft_id_charp", "c_char_p", ["c_char_p"])
    assert ft_id_charp(b"ferro\0types") == b"ferro"
    ft_id_wcharp, _ = fttest.func("ft_id_wcharp", "c_wchar_p", ["c_wchar_p"])
    assert ft_id_wcharp("\u4e2d\U0001F600") == "\u4e2d\U0001F600"


@pytest.mark.parametrize("name, argtypes", [("c_wchar", True), ("c_wchar_p", True), ("c_wchar_p", False)],
                         ids=["c_wchar", "c_wchar_p", "str-without-argtypes"])
def test_lone_surrogates_round_trip_like_ctypes(fttest, name, argtypes):
    # A 32-bit wchar_t holds any code point; ctypes passes lone surrogates through.
    suffix, _ = IDENTITY[name]
    ftf, stdf = fttest.func("ft_id_" + suffix, name, [name] if argtypes else None)
    value = "\ud800" if name == "c_wchar" else "a\udfffb"
    assert_same_outcome(lambda: ftf(value), lambda: stdf(value))


def test_identity_of_py_object(fttest, ft):
    # A PyObject * passes through void * unchanged.
    ftf, _ = fttest.func("ft_id_voidp", "py_object", ["py_object"])
    for obj in (object(), [1, 2], None, "text"):
        assert ftf(obj) is obj


# --------------------------------------------------------------------------
# Argument errors
# --------------------------------------------------------------------------

WRONG_VALUES = {
    "integer": ["1", b"1", 1.5, None, object()],
    "c_float": ["1.0", b"1", None, object(), 1j],
    "c_char": ["ab", b"ab", 1.5, None, 256],
    "c_wchar": ["ab", b"a", 1.5, None],
    "c_char_p": ["text", 1.5, 5, object()],
    "c_wchar_p": [b"bytes", 1.5, 5, object()],
    "c_void_p": [1.5, object()],
}


def wrong_values(name):
    if name in WRONG_VALUES:
        return WRONG_VALUES[name]
    if name in ("c_double", "c_longdouble"):
        return WRONG_VALUES["c_float"]
    return WRONG_VALUES["integer"]


# (c_bool takes any object, by its truth value.)
@pytest.mark.parametrize("name", sorted(set(IDENTITY) - {"c_bool"}))
def test_wrong_argument_types_raise_argument_error_like_ctypes(fttest, name):
    suffix, _ = IDENTITY[name]
    ftf, stdf = fttest.func("ft_id_" + suffix, name, [name])
    for value in wrong_values(name):
        with pytest.raises(std_ctypes.ArgumentError) as expected:
            stdf(value)
        with pytest.raises(ferrotypes.ArgumentError) as got:
            ftf(value)
        # "argument 1: TypeError: ..." - the position and the original exception type.
        kind = str(expected.value).split(":")[:2]
        assert str(got.value).split(":")[:2] == kind, value


def test_argument_error_names_the_position_and_cause(fttest, ft):
    ftf, _ = fttest.func("ft_add_int", "c_int", ["c_int", "c_int"])
    with pytest.raises(ft.ArgumentError, match=r"^argument 2: TypeError: ") as info:
        ftf(1, "two")
    assert issubclass(ft.ArgumentError, Exception)
    assert isinstance(info.value.__cause__, TypeError)


def test_conversion_errors_keep_their_type(fttest):
    # An error raised by a from_param is reported with its own type.
    class Refuses:
        @classmethod
        def from_param(cls, value):
            raise ZeroDivisionError("no")

    ftf, stdf = fttest.func("ft_id_int", "c_int", [lambda m: Refuses])
    for f, module in ((ftf, ferrotypes), (stdf, std_ctypes)):
        with pytest.raises(module.ArgumentError, match=r"^argument 1: ZeroDivisionError: no"):
            f(1)


def test_too_few_arguments_raise_type_error(fttest):
    ftf, stdf = fttest.func("ft_add_int", "c_int", ["c_int", "c_int"])
    assert outcome(lambda: ftf(1)) == outcome(lambda: stdf(1)) == ("raises", "TypeError")
    assert outcome(lambda: ftf()) == outcome(lambda: stdf()) == ("raises", "TypeError")
    with pytest.raises(TypeError, match=r"takes at least 2 arguments \(1 given\)"):
        ftf(1)


def test_extra_arguments_are_passed_on(fttest):
    # Arguments past argtypes are converted as without argtypes and passed: ft_add3
    # receives all three.
    ftf, stdf = fttest.func("ft_add3", "c_int", ["c_int"])
    assert ftf(1, 2, 3) == stdf(1, 2, 3) == 6
    assert ftf(1, 2, ferrotypes.c_int(3)) == 6


def test_more_than_1024_arguments_are_refused_like_ctypes(fttest):
    ftf, stdf = fttest.func("ft_f0")
    args = range(1025)
    assert outcome(lambda: ftf(*args)) == outcome(lambda: stdf(*args)) == ("raises", "ArgumentError")


# --------------------------------------------------------------------------
# The argtypes attribute
# --------------------------------------------------------------------------

def test_argtypes_reads_back_what_was_set(fttest, ft):
    f = fttest.ft["ft_add_int"]
    f.argtypes = [ft.c_int, ft.c_int]
    assert list(f.argtypes) == [ft.c_int, ft.c_int]
    f.argtypes = None
    assert f.argtypes is None


def test_argtypes_keeps_the_sequence_like_ctypes(fttest):
    ftf, stdf = fttest.ft["ft_add_int"], fttest.std["ft_add_int"]
    ftf.argtypes = [ferrotypes.c_int, ferrotypes.c_int]
    stdf.argtypes = [std_ctypes.c_int, std_ctypes.c_int]
    assert type(ftf.argtypes) is type(stdf.argtypes)


@pytest.mark.parametrize("argtypes", [lambda m: [int], lambda m: [m.c_int, 5], lambda m: 5],
                         ids=["int", "number", "not-a-sequence"])
def test_argtypes_items_need_from_param(fttest, argtypes):
    ftf, stdf = fttest.ft["ft_add_int"], fttest.std["ft_add_int"]
    assert outcome(lambda: setattr(ftf, "argtypes", argtypes(ferrotypes))) == \
        outcome(lambda: setattr(stdf, "argtypes", argtypes(std_ctypes))) == ("raises", "TypeError")


def test_argtypes_custom_from_param(fttest):
    class Doubled:
        @classmethod
        def from_param(cls, value):
            return value * 2

    ftf, stdf = fttest.func("ft_id_int", "c_int", [lambda m: Doubled])
    assert ftf(21) == stdf(21) == 42


# --------------------------------------------------------------------------
# Parameter objects: what from_param gives
# --------------------------------------------------------------------------

@settings(max_examples=60, deadline=None)
@given(byte=st.integers(0, 255))
def test_char_parameter_repr_like_ctypes(byte):
    value = bytes([byte])
    assert repr(ferrotypes.c_char.from_param(value)) == repr(std_ctypes.c_char.from_param(value))


@pytest.mark.parametrize("name, value", [("c_double", 1e300), ("c_double", 1.5), ("c_float", 0.1),
                                         ("c_double", float("nan")), ("c_int", -5), ("c_ubyte", 200),
                                         ("c_byte", 200), ("c_ushort", 65535), ("c_uint", 2**32 - 1),
                                         ("c_ulonglong", 2**64 - 1), ("c_long", -(2**63))])
def test_number_parameter_repr_like_ctypes(name, value):
    assert repr(getattr(ferrotypes, name).from_param(value)) == repr(getattr(std_ctypes, name).from_param(value))


def test_an_object_that_is_its_own_as_parameter_raises_recursion_error_like_ctypes(fttest):
    class Loop:
        pass

    loop = Loop()
    loop._as_parameter_ = loop
    with pytest.raises(RecursionError):
        ferrotypes.c_int.from_param(loop)
    with pytest.raises(ferrotypes.ArgumentError):
        fttest.ft["ft_add_int"](loop, 1)


# --------------------------------------------------------------------------
# How long an argument lives
# --------------------------------------------------------------------------

@pytest.mark.parametrize("argtype", ["py_object", None])
def test_arguments_are_released_after_the_call(fttest, argtype):
    class Thing:
        pass

    ftf, _ = fttest.func("ft_id_voidp", "c_void_p", None if argtype is None else [argtype])
    thing = Thing() if argtype else ferrotypes.c_int(5)
    ref = weakref.ref(thing)
    ftf(thing)
    del thing  # the last reference: freed at once (no cycle, no gc needed)
    assert ref() is None


@pytest.mark.parametrize("argtypes", [["c_wchar_p"], None], ids=["argtypes", "no-argtypes"])
def test_returned_pointer_into_an_argument_is_read_before_the_argument_is_freed(fttest, argtypes):
    # The str is passed as a temporary wchar_t copy; the identity function returns a
    # pointer into it, so the copy must outlive the result conversion (as in ctypes).
    ftf, _ = fttest.func("ft_id_wcharp", "c_wchar_p", argtypes)
    for n in range(1, 40):
        text = "".join(chr(ord("a") + i % 26) for i in range(n))
        assert ftf(text) == text
