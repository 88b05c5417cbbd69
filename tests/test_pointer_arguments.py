"""Arrays and other ferrotypes data passed for pointer parameters (argtypes set), as C
code usually hands a buffer over: ``(c_int * n)()`` for ``POINTER(c_int)``,
``create_string_buffer`` for ``POINTER(c_char)``, ``c_char_p`` or ``c_void_p``.

The quickest call path takes these in place (the address read from the instance);
every case is compared with stdlib ctypes, the accepted ones and the refused ones,
so that the shortcut can neither pass something ctypes refuses nor change a value.
"""

import ctypes as std_ctypes

import pytest

import ferrotypes
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
