"""Calls without argtypes: each argument converted by its Python type, as ctypes does.

First each kind of value on its own (ints, bytes, str, None, ctypes instances,
``_as_parameter_``, and what is refused). Then the *same* function object called
again and again with arguments whose types change between calls — and objects that
change under it: a class reassigned, an ``_as_parameter_`` that gives something else
each time. A function without argtypes remembers the call interface made for each
combination of C types it met (at most four); every outcome is compared with stdlib
ctypes doing the same.
"""

import ctypes as std_ctypes
import sys
import threading

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import ferrotypes
from calltools import IDENTITY
from difftools import assert_same_outcome, outcome, same_value, text

FAST = settings(max_examples=60, deadline=None)


# --------------------------------------------------------------------------
# Each kind of value, converted by its Python type
# --------------------------------------------------------------------------

@FAST
@given(value=st.integers(min_value=-(2**65), max_value=2**65))
@example(value=2**31)
@example(value=2**64)
def test_ints_without_argtypes_pass_as_c_int_like_ctypes(fttest, value):
    # ctypes truncates any int that fits a C long or unsigned long to int, and
    # raises ArgumentError (OverflowError) beyond.
    ftf, stdf = fttest.func("ft_id_int")
    assert_same_outcome(lambda: ftf(value), lambda: stdf(value))


def test_int_without_argtypes_examples(fttest):
    ftf, _ = fttest.func("ft_id_int")
    assert ftf(-5) == -5
    assert ftf(True) == 1
    assert ftf(2**31) == -(2**31)  # ctypes: truncated to int


@FAST
@given(value=st.binary(max_size=30))
def test_bytes_without_argtypes_pass_as_char_pointer(fttest, value):
    ftf, stdf = fttest.func("ft_strlen", "c_size_t")
    assert ftf(value) == stdf(value) == len(value.split(b"\0")[0])


@FAST
@given(value=text(max_size=30))
@example(value="a\0b")
def test_str_without_argtypes_passes_as_wchar_pointer(fttest, value):
    # (ctypes refuses a str with an embedded NUL here, but not for c_wchar_p argtypes.)
    ftf, stdf = fttest.func("ft_id_wcharp", "c_wchar_p")
    assert_same_outcome(lambda: ftf(value), lambda: stdf(value))


def test_str_without_argtypes_example(fttest):
    ftf, _ = fttest.func("ft_id_wcharp", "c_wchar_p")
    assert ftf("w\u00e9rds \U0001F600") == "w\u00e9rds \U0001F600"


def test_none_without_argtypes_passes_as_null(fttest):
    ftf, stdf = fttest.func("ft_id_voidp", "c_void_p")
    assert ftf(None) is stdf(None) is None
    strlen, _ = fttest.func("ft_strlen", "c_size_t")
    assert strlen(None) == 0  # ft_strlen(NULL) is 0


@pytest.mark.parametrize("name", sorted(IDENTITY))
def test_ctypes_instances_without_argtypes_pass_their_c_type(fttest, name):
    suffix, _ = IDENTITY[name]
    value = {"c_char": b"x", "c_wchar": "\u00e9", "c_char_p": b"bytes",
             "c_wchar_p": "text", "c_bool": True, "c_void_p": 1234}.get(name, 42)
    ftf, stdf = fttest.func("ft_id_" + suffix, name)
    assert same_value(ftf(getattr(ferrotypes, name)(value)), stdf(getattr(std_ctypes, name)(value)))


def test_instances_without_argtypes_example(fttest, ft):
    ftf, _ = fttest.func("ft_add_double", "c_double")
    assert ftf(ft.c_double(1.5), ft.c_double(2.25)) == 3.75
    mixed, _ = fttest.func("ft_mixed5", "c_double")
    assert mixed(1, ft.c_double(2.5), ft.c_long(3), ft.c_float(4.25), None) == 10.75


@pytest.mark.parametrize("value", [1.5, 0.0, object(), [1], 1j], ids=repr)
def test_unconvertible_values_without_argtypes_raise_argument_error(fttest, value):
    ftf, stdf = fttest.func("ft_id_int")
    assert outcome(lambda: ftf(value)) == outcome(lambda: stdf(value)) == ("raises", "ArgumentError")


def test_as_parameter_is_used_without_argtypes(fttest):
    class Wrapped:
        def __init__(self, inner):
            self._as_parameter_ = inner

    ftf, stdf = fttest.func("ft_id_int")
    assert ftf(Wrapped(7)) == stdf(Wrapped(7)) == 7
    assert ftf(Wrapped(ferrotypes.c_int(8))) == 8


# --------------------------------------------------------------------------
# The same function object called with changing types
# --------------------------------------------------------------------------

def pair(fttest_path, name, restype=None):
    """Fresh (ferrotypes, ctypes) function objects without argtypes."""
    fns = []
    for m in (ferrotypes, std_ctypes):
        f = m.CDLL(fttest_path)[name]
        if restype is not None:
            f.restype = getattr(m, restype)
        fns.append(f)
    return fns


def assert_same(ft_call, std_call):
    got, want = outcome(ft_call), outcome(std_call)
    if got[0] == want[0] == "ok":
        assert same_value(got[1], want[1]), (got, want)
    else:
        assert got == want


# Values an int parameter (read as a 64-bit long long) can be given untyped; each is a
# function of the module, so both implementations get their own objects.
class Wrapped:
    def __init__(self, inner):
        self._as_parameter_ = inner


class MyInt(int):
    pass


INT_LIKE = {
    "small": lambda m: 7,
    "negative": lambda m: -5,
    "int32-wrap": lambda m: 2**31 + 3,
    "long": lambda m: 2**40 + 1,
    "ulong": lambda m: 2**64 - 1,
    "too-big": lambda m: 2**64,
    "too-small": lambda m: -(2**63) - 1,
    "bool": lambda m: True,
    "int-subclass": lambda m: MyInt(9),
    "none": lambda m: None,
    "c_int": lambda m: m.c_int(-11),
    "c_uint": lambda m: m.c_uint(2**32 - 1),
    "c_short": lambda m: m.c_short(-3),
    "c_ubyte": lambda m: m.c_ubyte(200),
    "c_longlong": lambda m: m.c_longlong(-(2**40)),
    "c_ulonglong": lambda m: m.c_ulonglong(2**63 + 5),
    "c_size_t": lambda m: m.c_size_t(12345),
    "c_bool": lambda m: m.c_bool(True),
    "c_char": lambda m: m.c_char(b"A"),
    "c_int-subclass": lambda m: type("Sub", (m.c_int,), {})(21),
    "c_void_p": lambda m: m.c_void_p(0x1234),
    "from_param": lambda m: m.c_int.from_param(33),
    "as_parameter-int": lambda m: Wrapped(44),
    "as_parameter-c_long": lambda m: Wrapped(m.c_long(-45)),
    "as_parameter-nested": lambda m: Wrapped(Wrapped(46)),
    "float": lambda m: 1.5,
    "object": lambda m: object(),
    "as_parameter-float": lambda m: Wrapped(2.5),
}


@FAST
@given(st.lists(st.sampled_from(sorted(INT_LIKE)), min_size=1, max_size=12))
def test_one_parameter_switching_types_like_ctypes(fttest_path, names):
    ftf, stdf = pair(fttest_path, "ft_id_longlong", "c_longlong")
    for name in names:
        make = INT_LIKE[name]
        assert_same(lambda: ftf(make(ferrotypes)), lambda: stdf(make(std_ctypes)))
    assert ftf._untyped_plans <= 4


@FAST
@given(st.lists(st.tuples(st.sampled_from(sorted(INT_LIKE)), st.sampled_from(sorted(INT_LIKE)),
                          st.sampled_from(sorted(INT_LIKE))), min_size=1, max_size=10))
def test_three_parameters_switching_types_like_ctypes(fttest_path, calls):
    # ft_add3(int, int, int): each argument read as a C int.
    ftf, stdf = pair(fttest_path, "ft_add3")
    for names in calls:
        ft_args = [INT_LIKE[n](ferrotypes) for n in names]
        std_args = [INT_LIKE[n](std_ctypes) for n in names]
        assert_same(lambda: ftf(*ft_args), lambda: stdf(*std_args))


FLOAT_LIKE = {
    "c_double": lambda m: m.c_double(2.5),
    "from_param-double": lambda m: m.c_double.from_param(-1.25),
    "as_parameter-double": lambda m: Wrapped(m.c_double(8.0)),
}
# (A float where a double is read would leave the register's upper half to libffi.)
SINGLE_LIKE = {
    "c_float": lambda m: m.c_float(4.25),
    "from_param-float": lambda m: m.c_float.from_param(-0.5),
    "as_parameter-c_float": lambda m: Wrapped(m.c_float(8.0)),
    "bare-float": lambda m: 1.0,
}
assert not set(SINGLE_LIKE) & set(INT_LIKE) and not set(FLOAT_LIKE) & set(INT_LIKE)


@FAST
@given(st.lists(st.tuples(st.sampled_from(sorted(INT_LIKE)), st.sampled_from(sorted(FLOAT_LIKE)),
                          st.sampled_from(sorted(INT_LIKE)), st.sampled_from(sorted(SINGLE_LIKE)),
                          st.sampled_from(["none", "c_void_p", "small"])), min_size=1, max_size=8))
def test_mixed_registers_switching_types_like_ctypes(fttest_path, calls):
    # ft_mixed5(int, double, long, float, void *): the C types change from call to call.
    ftf, stdf = pair(fttest_path, "ft_mixed5", "c_double")
    table = {**INT_LIKE, **FLOAT_LIKE, **SINGLE_LIKE}
    for names in calls:
        ft_args = [table[n](ferrotypes) for n in names]
        std_args = [table[n](std_ctypes) for n in names]
        assert_same(lambda: ftf(*ft_args), lambda: stdf(*std_args))


POINTER_LIKE = {
    "bytes": lambda m: b"hello",
    "empty-bytes": lambda m: b"",
    "none": lambda m: None,
    "strbuf": lambda m: m.create_string_buffer(b"abc", 10),
    "char-array": lambda m: (m.c_char * 4)(b"x", b"y"),
    "c_char_p": lambda m: m.c_char_p(b"four"),
    "c_char_p-null": lambda m: m.c_char_p(None),
    "pointer-to-char": lambda m: m.cast(m.c_char_p(b"cast"), m.POINTER(m.c_char)),
    "byref-char": lambda m: m.byref(m.c_char(b"z")),
    "as_parameter-bytes": lambda m: Wrapped(b"wrapped"),
    "bytearray": lambda m: bytearray(b"no"),
    "str": lambda m: "text",
    "int": lambda m: 0,
}


@FAST
@given(st.lists(st.sampled_from(sorted(POINTER_LIKE)), min_size=1, max_size=12))
def test_pointer_parameter_switching_types_like_ctypes(fttest_path, names):
    # ft_strlen(const char *): reads the string passed (NULL gives 0).
    ftf, stdf = pair(fttest_path, "ft_strlen", "c_size_t")
    for name in names:
        if name == "str":  # a wchar_t * read as char *: the first character's bytes
            assert_same(lambda: ftf("t") > 0, lambda: stdf("t") > 0)
            continue
        make = POINTER_LIKE[name]
        assert_same(lambda: ftf(make(ferrotypes)), lambda: stdf(make(std_ctypes)))


def test_more_combinations_than_remembered_are_still_right(fttest_path):
    ftf, stdf = pair(fttest_path, "ft_add3")
    combos = [(1, 2, 3), ("c_int", 2, 3), (1, "c_short", 3), (1, 2, "c_longlong"),
              ("c_ubyte", "c_ubyte", 3), (None, 2, 3), ("c_int", "c_int", "c_int")]

    def args(m, combo):
        return [getattr(m, v)(5) if isinstance(v, str) else v for v in combo]

    for _ in range(3):
        for combo in combos:
            assert ftf(*args(ferrotypes, combo)) == stdf(*args(std_ctypes, combo))
    assert ftf._untyped_plans == 4


def test_setting_the_signature_forgets_the_plans(fttest_path):
    ftf, stdf = pair(fttest_path, "ft_id_int")
    assert ftf(-7) == stdf(-7) == -7
    assert ftf._untyped_plans == 1
    for f, m in ((ftf, ferrotypes), (stdf, std_ctypes)):
        f.restype = m.c_ubyte
    assert ftf._untyped_plans == 0
    assert ftf(-7) == stdf(-7) == 249
    for f, m in ((ftf, ferrotypes), (stdf, std_ctypes)):
        f.errcheck = lambda result, func, args: (result, args)
    assert ftf._untyped_plans == 0
    assert ftf(-7) == stdf(-7) == (249, (-7,))
    for f in (ftf, stdf):
        del f.errcheck
    assert ftf(3) == stdf(3) == 3
    for f, m in ((ftf, ferrotypes), (stdf, std_ctypes)):
        f.argtypes = [m.c_int]
    assert ftf._untyped_plans == 0
    assert outcome(lambda: ftf(b"x")) == outcome(lambda: stdf(b"x")) == ("raises", "ArgumentError")
    for f in (ftf, stdf):
        f.argtypes = None
    assert outcome(lambda: ftf(b"x"))[0] == outcome(lambda: stdf(b"x"))[0] == "ok"


def test_a_class_reassigned_between_calls_is_converted_anew(fttest_path):
    class A:
        _as_parameter_ = None  # NULL: ft_strlen(NULL) is 0

    class B:
        _as_parameter_ = b"not an int"

    class C:
        pass

    ftf, stdf = pair(fttest_path, "ft_strlen", "c_size_t")
    results = []
    for f in (ftf, stdf):
        obj = A()
        seen = [outcome(lambda: f(b"abcd")), outcome(lambda: f(obj))]
        obj.__class__ = B
        seen.append(outcome(lambda: f(obj)))
        obj.__class__ = C
        seen.append(outcome(lambda: f(obj)))
        obj.__class__ = B
        seen.append(outcome(lambda: f(obj)))
        results.append(seen)
    assert results[0] == results[1]
    assert results[0][-1] == ("ok", 10) and results[0][-2] == ("raises", "ArgumentError")


def test_as_parameter_giving_something_else_each_call(fttest_path):
    def fickle(m):
        values = iter([3, m.c_longlong(2**40), b"bytes", None, 2.5, m.c_short(-2), object(), 7])

        class Fickle:
            calls = 0

            @property
            def _as_parameter_(self):
                Fickle.calls += 1
                return next(values)

        return Fickle

    ftf, stdf = pair(fttest_path, "ft_id_longlong", "c_longlong")
    FtFickle, StdFickle = fickle(ferrotypes), fickle(std_ctypes)
    ft_obj, std_obj = FtFickle(), StdFickle()
    ft_results, std_results = [], []
    for _ in range(8):
        got, want = outcome(lambda: ftf(ft_obj)), outcome(lambda: stdf(std_obj))
        if got[0] == want[0] == "ok" and isinstance(got[1], int) and got[1] > 2**32:
            got, want = ("ok", "address"), ("ok", "address")  # bytes: addresses differ
        ft_results.append(got)
        std_results.append(want)
    assert ft_results == std_results
    assert FtFickle.calls == StdFickle.calls == 8  # once per call, never again


def test_errors_name_the_argument_like_ctypes(fttest_path):
    ftf, stdf = pair(fttest_path, "ft_add3")
    for bad in (1.5, object(), [1], 2**64, Wrapped(1.5)):
        for position in range(3):
            ft_args = [1, 2, 3]
            ft_args[position] = bad
            with pytest.raises(ferrotypes.ArgumentError) as got:
                ftf(*ft_args)
            with pytest.raises(std_ctypes.ArgumentError) as want:
                stdf(*ft_args)
            assert str(got.value).split(":")[:2] == str(want.value).split(":")[:2]
            assert str(got.value).startswith(f"argument {position + 1}: ")
            assert ftf(1, 2, 3) == 6  # the plan made before still works


def test_untyped_arguments_are_released_after_the_call(fttest_path):
    ftf, _ = pair(fttest_path, "ft_strlen", "c_size_t")
    text, data, buf = "some text", b"some bytes", ferrotypes.create_string_buffer(b"buf")
    wrapped = Wrapped(data)
    before = [sys.getrefcount(o) for o in (text, data, buf, wrapped)]
    for _ in range(50):
        ftf(text)
        ftf(data)
        ftf(buf)
        ftf(wrapped)
        ftf(ferrotypes.byref(buf))
    assert [sys.getrefcount(o) for o in (text, data, buf, wrapped)] == before


def test_a_callback_calling_the_same_function_with_other_types(fttest_path):
    # ftcb_call_n(cb, n) calls cb(i) n times.  The callback calls the same function
    # object (while the outer call is in progress) with arguments of other C types:
    # the plans made inside must not disturb the outer call's.
    for m in (ferrotypes, std_ctypes):
        lib = m.CDLL(fttest_path)
        call_n = lib["ftcb_call_n"]
        call_n.restype = m.c_long
        proto = m.CFUNCTYPE(m.c_int, m.c_int)
        inner = proto(lambda i: i * 10)
        depth = []

        def outer(i, m=m, call_n=call_n, inner=inner):
            if len(depth) < 3:
                depth.append(i)
                return call_n(inner, m.c_short(i + 2)) + call_n(inner, m.c_longlong(1))
            return i

        cb = proto(outer)
        # i = 0, 1, 2 call in: (0 + 10) + 0, (0 + 10 + 20) + 0, (0 + 10 + 20 + 30) + 0; i = 3 gives 3.
        assert call_n(cb, 4) == 10 + 30 + 60 + 3
        assert call_n(cb, m.c_int(4)) == 0 + 1 + 2 + 3


def test_threads_calling_one_function_with_different_types(fttest_path):
    f = ferrotypes.CDLL(fttest_path)["ft_add3"]
    kinds = [lambda i: (i, 1, 2), lambda i: (ferrotypes.c_int(i), 1, 2),
             lambda i: (i, ferrotypes.c_short(1), 2), lambda i: (i, 1, ferrotypes.c_longlong(2)),
             lambda i: (ferrotypes.c_ubyte(i % 256), None, 3)]
    errors = []

    def work(k):
        try:
            for i in range(2000):
                args = kinds[k](i)
                expected = (i % 256 if k == 4 else i) + 3
                if f(*args) != expected:
                    errors.append((k, i))
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(len(kinds))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert f._untyped_plans == 4


def test_simple_instances_and_byref_untyped_like_ctypes(fttest_path):
    results = []
    for m in (ferrotypes, std_ctypes):
        scale = m.CDLL(fttest_path)["ft_scale_inout"]
        x = m.c_int(3)
        arr = (m.c_int * 2)(5, 6)
        calls = [scale(m.byref(x), 2), scale(m.byref(x), m.c_int(3)), scale(arr, m.c_short(-1)),
                 scale(m.pointer(x), m.c_longlong(2)), scale(m.byref(arr, 4), 10)]
        results.append((calls, x.value, list(arr)))
    assert results[0] == results[1] == ([6, 18, -5, 36, 60], 36, [-5, 60])


@FAST
@given(numbers=st.lists(st.floats(allow_nan=False, allow_infinity=False), max_size=14),
       ints=st.lists(st.integers(-(2**31), 2**31 - 1), max_size=10))
def test_variadic_functions_without_argtypes_like_ctypes(fttest_path, numbers, ints):
    # A variadic callee reads from %al how many vector registers hold arguments: the
    # doubles here fill %xmm0-7 and go on to the stack, with no argtypes at all.
    import functools
    import operator

    ftd, stdd = pair(fttest_path, "ft_sum_variadic_double", "c_double")
    got = ftd(len(numbers), *map(ferrotypes.c_double, numbers))
    assert same_value(got, stdd(len(numbers), *map(std_ctypes.c_double, numbers)))
    assert same_value(got, functools.reduce(operator.add, numbers, 0.0))
    fti, stdi = pair(fttest_path, "ft_sum_variadic")
    expected = (sum(ints) + 2**31) % 2**32 - 2**31
    assert fti(len(ints), *ints) == stdi(len(ints), *ints) == expected
