"""Pointer parameters (argtypes set) and what they take, as C code hands a buffer or an
out-parameter over: arrays (``(c_int * n)()`` for ``POINTER(c_int)``,
``create_string_buffer`` for ``POINTER(c_char)``, ``c_char_p`` or ``c_void_p``),
``byref``, ``pointer()``, ``None``, ``bytes`` buffers, ``_as_parameter_``.

The quickest call path takes these in place (the address read from the instance);
every case is compared with stdlib ctypes, the accepted ones and the refused ones,
so that the shortcut can neither pass something ctypes refuses nor change a value.

``fttest`` (tests/conftest.py) is the C test library (tests/clib/fttest.c) loaded by
both implementations; ``fttest.func(name, restype, argtypes)`` gives a freshly
configured function object of each.
"""

import ctypes as std_ctypes

import pytest
from hypothesis import given

import ferrotypes
from calltools import FAST, int32s
from difftools import outcome

MODULES = [ferrotypes, std_ctypes]


def scale(module, path, param):
    """ft_scale_inout(int *x, int k): *x *= k, returns the new *x."""
    f = module.CDLL(path)["ft_scale_inout"]
    f.argtypes, f.restype = [param(module), module.c_int], module.c_int
    return f


def identity(module, path, name, param, restype):
    f = module.CDLL(path)[name]
    f.argtypes, f.restype = [param(module)], restype(module)
    return f


def test_int_array_for_int_pointer_is_written_through_like_ctypes(fttest_path):
    results = []
    for m in MODULES:
        f = scale(m, fttest_path, lambda m: m.POINTER(m.c_int))
        arr = (m.c_int * 4)(5, 6, 7, 8)
        calls = [f(arr, 3), f(arr, -2)]
        results.append((calls, list(arr)))
    assert results[0] == results[1] == ([15, -30], [-30, 6, 7, 8])


@pytest.mark.parametrize("make", [
    lambda m: (m.c_uint * 2)(5, 6),          # another element type
    lambda m: (m.c_long * 2)(5, 6),
    lambda m: ((m.c_int * 2) * 2)(),         # a 2-D array: elements are arrays
    lambda m: (m.c_int * 0)(),               # empty
    lambda m: (type("MyInt", (m.c_int,), {}) * 2)(5, 6),  # elements of a subclass
    lambda m: (m.c_int.__ctype_be__ * 2)(5, 6),           # the other byte order
    lambda m: m.create_string_buffer(8),
    lambda m: m.pointer(m.c_int(5)),
    lambda m: m.c_int(5),
    lambda m: m.c_long(5),
    lambda m: m.byref((m.c_int * 2)(5, 6)),  # a byref of an array of the target
], ids=["uint", "long", "2d", "empty", "subclass", "big-endian", "strbuf", "pointer", "c_int", "c_long", "byref-array"])
def test_other_data_for_int_pointer_like_ctypes(fttest_path, make):
    def run(m):
        f = scale(m, fttest_path, lambda m: m.POINTER(m.c_int))
        arg = make(m)
        got = outcome(lambda: f(arg, 2))
        contents = m.string_at(m.addressof(arg), m.sizeof(arg)) if hasattr(arg, "_length_") else None
        return got, contents

    assert run(ferrotypes) == run(std_ctypes)


def test_array_for_pointer_to_array_like_ctypes(fttest_path):
    # POINTER(c_int * 2) takes an array of (c_int * 2): its elements are the target.
    results = []
    for m in MODULES:
        row = m.c_int * 2
        f = scale(m, fttest_path, lambda m: m.POINTER(row))
        grid = (row * 3)((1, 2), (3, 4), (5, 6))
        results.append((f(grid, 10), [list(r) for r in grid]))
    assert results[0] == results[1] == (10, [[10, 2], [3, 4], [5, 6]])


@pytest.mark.parametrize("param", ["POINTER(c_char)", "c_char_p", "c_void_p"])
def test_string_buffer_for_char_parameters_like_ctypes(fttest_path, param):
    results = []
    for m in MODULES:
        ptype = (lambda m: m.POINTER(m.c_char)) if param == "POINTER(c_char)" else (lambda m: getattr(m, param))
        strlen = identity(m, fttest_path, "ft_strlen", ptype, lambda m: m.c_size_t)
        upper = identity(m, fttest_path, "ft_upper_inplace", ptype, lambda m: m.c_void_p)
        buf = m.create_string_buffer(b"hello", 16)
        calls = [strlen(buf), strlen(m.create_string_buffer(64)), strlen((m.c_char * 3)(b"a", b"b"))]
        upper(buf)
        results.append((calls, buf.value))
    assert results[0] == results[1] == ([5, 0, 2], b"HELLO")


@pytest.mark.parametrize("make", [
    lambda m: (m.c_byte * 4)(65, 66, 0, 0),
    lambda m: (m.c_ubyte * 4)(65, 66, 0, 0),
    lambda m: (m.c_int * 2)(65, 0),
    lambda m: m.create_unicode_buffer("ab"),
    lambda m: (type("MyChar", (m.c_char,), {}) * 3)(b"a", b"b"),
    lambda m: m.c_char(b"a"),
    lambda m: m.pointer(m.c_char(b"a")),
], ids=["byte", "ubyte", "int", "wchar", "char-subclass", "c_char", "pointer-to-char"])
@pytest.mark.parametrize("param", ["POINTER(c_char)", "c_char_p"])
def test_other_data_for_char_parameters_like_ctypes(fttest_path, make, param):
    def run(m):
        ptype = (lambda m: m.POINTER(m.c_char)) if param == "POINTER(c_char)" else (lambda m: getattr(m, param))
        strlen = identity(m, fttest_path, "ft_strlen", ptype, lambda m: m.c_size_t)
        return outcome(lambda: strlen(make(m)))

    assert run(ferrotypes) == run(std_ctypes)


def test_wide_buffer_for_wchar_pointer_like_ctypes(fttest_path):
    results = []
    for m in MODULES:
        f = identity(m, fttest_path, "ft_id_wcharp", lambda m: m.c_wchar_p, lambda m: m.c_wchar_p)
        buf = m.create_unicode_buffer("w\u00e9rds", 10)
        results.append([f(buf), f(None), outcome(lambda: f(m.create_string_buffer(b"ab"))),
                        outcome(lambda: f((m.c_int * 2)(65, 0)))])
    assert results[0] == results[1]
    assert results[0][:2] == ["w\u00e9rds", None]


@pytest.mark.parametrize("case", ["array", "strbuf", "pointer", "null-pointer", "c_void_p", "c_char_p",
                                  "c_wchar_p", "byref", "byref-offset", "funcptr", "int", "none"])
def test_data_for_void_pointer_passes_the_address_ctypes_passes(fttest_path, case):
    def run(m):
        f = identity(m, fttest_path, "ft_id_voidp", lambda m: m.c_void_p, lambda m: m.c_void_p)
        x = m.c_int(7)
        arr = (m.c_double * 3)()
        text = m.c_char_p(b"text")
        proto = m.CFUNCTYPE(m.c_int)
        fp = proto(lambda: 0)
        arg, expected = {
            "array": (arr, m.addressof(arr)),
            "strbuf": (m.create_string_buffer(4), None),
            "pointer": (m.pointer(x), m.addressof(x)),
            "null-pointer": (m.POINTER(m.c_int)(), None),
            "c_void_p": (m.c_void_p(1234), 1234),
            "c_char_p": (text, m.cast(text, m.c_void_p).value),
            "c_wchar_p": (m.c_wchar_p(None), None),
            "byref": (m.byref(x), m.addressof(x)),
            "byref-offset": (m.byref(arr, 8), m.addressof(arr) + 8),
            "funcptr": (fp, m.cast(fp, m.c_void_p).value),
            "int": (4096, 4096),
            "none": (None, None),
        }[case]
        if case == "strbuf":
            expected = m.addressof(arg)
        got = f(arg)
        return got == expected, got is None

    assert run(ferrotypes) == run(std_ctypes) == (True, case in ("null-pointer", "c_wchar_p", "none"))


@pytest.mark.parametrize("make", [
    lambda m: m.c_int(1), lambda m: m.c_double(1.0), lambda m: m.c_char(b"x"), lambda m: 1.5,
    lambda m: m.byref(m.c_int(1)).__class__, lambda m: type("P", (m.Structure,), {"_fields_": [("a", m.c_int)]})(),
], ids=["c_int", "c_double", "c_char", "float", "class", "struct"])
def test_void_pointer_refuses_what_ctypes_refuses(fttest_path, make):
    def run(m):
        f = identity(m, fttest_path, "ft_id_voidp", lambda m: m.c_void_p, lambda m: m.c_void_p)
        return outcome(lambda: f(make(m)))[0]

    assert run(ferrotypes) == run(std_ctypes)


def test_array_argument_is_kept_only_by_the_caller(fttest_path):
    # The quickest path borrows the caller's reference: nothing is left holding it.
    import sys

    f = scale(ferrotypes, fttest_path, lambda m: m.POINTER(m.c_int))
    arr = (ferrotypes.c_int * 4)(1)
    before = sys.getrefcount(arr)
    for _ in range(20):
        f(arr, 1)
    assert sys.getrefcount(arr) == before


# --------------------------------------------------------------------------
# Out-parameters: byref, and what POINTER(T) and array parameters take
# --------------------------------------------------------------------------

def c_divmod(a, b):
    """ft_divmod's documented results: truncating division, 0 for b == 0."""
    if b == 0:
        return 0, 0
    if b == -1:
        return (-a + 2**31) % 2**32 - 2**31, 0
    q = abs(a) // abs(b) * (1 if (a < 0) == (b < 0) else -1)
    return q, a - q * b


@pytest.mark.parametrize("argtypes", [["c_int", "c_int", "c_void_p", "c_void_p"], None],
                         ids=["void-pointer-argtypes", "no-argtypes"])
@FAST
@given(a=int32s, b=int32s)
def test_divmod_through_byref(fttest, argtypes, a, b):
    # POINTER(c_int) argtypes come with the pointer work; c_void_p takes byref().
    ftf, stdf = fttest.func("ft_divmod", None, argtypes)
    results = []
    for f, module in ((ftf, ferrotypes), (stdf, std_ctypes)):
        q, r = module.c_int(-99), module.c_int(-99)
        assert f(a, b, module.byref(q), module.byref(r)) is None
        results.append((q.value, r.value))
    assert results[0] == results[1] == c_divmod(a, b)


def test_array_parameter_passes_a_pointer_like_ctypes(fttest):
    """An array type in argtypes is a pointer in the call (C's decay), also with a
    parameter after it."""
    results = []
    for mod, lib in ((ferrotypes, fttest.ft), (std_ctypes, fttest.std)):
        f = lib["ft_fill_ints"]
        f.argtypes = [mod.c_int * 4, mod.c_int]
        out = (mod.c_int * 4)()
        results.append((f(out, 3), list(out)))
    assert results[0] == results[1] == (3, [0, 1, 2, 0])


def test_byref_example(fttest, ft):
    f = fttest.ft["ft_divmod"]
    f.argtypes = [ft.c_int, ft.c_int, ft.c_void_p, ft.c_void_p]
    f.restype = None
    quotient, remainder = ft.c_int(), ft.c_int()
    f(-17, 5, ft.byref(quotient), ft.byref(remainder))
    assert (quotient.value, remainder.value) == (-3, -2)
    f(17, 5, None, ft.byref(remainder))  # NULL outputs are skipped
    assert remainder.value == 2


def test_byref_keeps_its_object(ft):
    obj = ft.c_int(5)
    ref = ft.byref(obj)
    assert ref._obj is obj
    assert type(ref).__name__ == "CArgObject"


def test_byref_with_offset(fttest, ft):
    pair = ft.c_int64(0)  # room for two ints
    f = fttest.ft["ft_divmod"]
    f(7, 2, ft.byref(pair), ft.byref(pair, 4))
    assert pair.value == 3 | 1 << 32


def test_byref_refuses_non_ctypes(ft, std):
    for value in (5, b"x", None, ft.c_int):
        assert outcome(lambda: ft.byref(value)) == ("raises", "TypeError")
    assert outcome(lambda: std.byref(5)) == ("raises", "TypeError")


def test_byref_is_not_an_int_argument(fttest):
    ftf, stdf = fttest.func("ft_id_int", "c_int", ["c_int"])
    assert outcome(lambda: ftf(ferrotypes.byref(ferrotypes.c_int(1)))) == \
        outcome(lambda: stdf(std_ctypes.byref(std_ctypes.c_int(1)))) == ("raises", "ArgumentError")


def test_bytes_buffer_as_out_parameter(fttest):
    # Like ctypes, a bytes object passes a pointer to its own buffer.
    ftf, stdf = fttest.func("ft_fill_ints", "c_int")
    ftbuf, stdbuf = bytes(16), bytes(16)
    assert ftf(ftbuf, 4) == stdf(stdbuf, 4) == 4
    assert ftbuf == stdbuf == b"".join(i.to_bytes(4, "little") for i in range(4))


@pytest.mark.parametrize("make", [
    lambda m: m.c_int(7), lambda m: m.byref(m.c_int(7)), lambda m: m.pointer(m.c_int(7)),
    lambda m: (m.c_int * 2)(7, 8), lambda m: None, lambda m: m.c_short(7), lambda m: m.byref(m.c_short(7)),
    lambda m: m.pointer(m.c_short(7)), lambda m: m.c_void_p(0), lambda m: 5, lambda m: m.byref(m.c_int(7), 4),
    lambda m: type("Wrap", (), {"_as_parameter_": m.byref(m.c_int(7))})(),
    lambda m: type("Wrap", (), {"_as_parameter_": m.c_int(7)})(),
    lambda m: type("Wrap", (), {"_as_parameter_": (m.c_int * 2)(7, 8)})(),
    lambda m: type("Wrap", (), {"_as_parameter_": None})(),
], ids=["instance", "byref", "pointer", "array", "None", "other-instance", "other-byref", "other-pointer",
        "c_void_p", "int", "byref-offset", "as_parameter", "as_parameter-instance", "as_parameter-array",
        "as_parameter-None"])
def test_pointer_parameters_take_what_ctypes_takes(fttest, make):
    # POINTER(T) parameters convert ferrotypes' own objects natively, by the rules of
    # ctypes' POINTER(T).from_param: the same outcomes as ctypes.
    ftf, stdf = fttest.func("ftnp_same_pointer", "c_void_p", [lambda m: m.POINTER(m.c_int)])
    ftv, stdv = make(ferrotypes), make(std_ctypes)
    ftout, stdout = outcome(lambda: ftf(ftv)), outcome(lambda: stdf(stdv))
    assert ftout[0] == stdout[0] and (ftout[0] == "ok" or ftout == stdout), (ftout, stdout)
    if ftout[0] == "ok" and isinstance(ftv, ferrotypes._ctypes.CArgObject):
        assert ftout[1] - ferrotypes.addressof(ftv._obj) in (0, 4)  # byref, with its offset
    elif ftout[0] == "ok" and ftout[1] is not None:
        assert ferrotypes.c_int.from_address(ftout[1]).value == 7


@pytest.mark.parametrize("make", [
    lambda m: (m.c_int * 4)(7), lambda m: m.byref(m.c_int(7)), lambda m: m.byref((m.c_int * 4)(7)),
    lambda m: m.pointer(m.c_int(7)), lambda m: None, lambda m: (m.c_int * 3)(7),
    lambda m: type("Wrap", (), {"_as_parameter_": m.byref(m.c_int(7))})(),
], ids=["instance", "byref-element", "byref-array", "pointer", "None", "other-length", "as_parameter"])
def test_array_parameters_take_what_ctypes_takes(fttest, make):
    # ctypes' rule for a byref: it must point to the parameter type's element type.
    ftf, stdf = fttest.func("ftnp_same_pointer", "c_void_p", [lambda m: m.c_int * 4])
    ftout, stdout = outcome(lambda: ftf(make(ferrotypes))), outcome(lambda: stdf(make(std_ctypes)))
    assert ftout[0] == stdout[0] and (ftout[0] == "ok" or ftout == stdout), (ftout, stdout)


def test_array_argtype_is_passed_as_a_pointer(fttest):
    # C (and ctypes) pass an array parameter as a pointer to its first element.
    ftf, stdf = fttest.func("ft_fill_ints", "c_int", [lambda m: m.c_int * 4, "c_int"])
    ftbuf, stdbuf = (ferrotypes.c_int * 4)(), (std_ctypes.c_int * 4)()
    assert ftf(ftbuf, 4) == stdf(stdbuf, 4) == 4
    assert ftbuf[:] == stdbuf[:] == [0, 1, 2, 3]
    assert ftf._recipe.startswith("call: in registers")  # converted natively, no libffi
