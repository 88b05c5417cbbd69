"""``ferrotypes.cdef`` on a C library of our own (tests/clib/cdecl_lib.c, declared in
tests/clib/cdecl_api.h): layouts and constants against the compiler, then calls that
check what C receives; and the errors bad declarations give."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import pytest

import ferrotypes as ft
from cdecl_probe import CC, aux_functions, function_differences, layout_checks
from ferrotypes._cbuild import build_shared_library

CLIB = Path(__file__).resolve().parent / "clib"
API = (CLIB / "cdecl_api.h").read_text()

pytestmark = pytest.mark.skipif(CC is None, reason="no C compiler")


@pytest.fixture(scope="module")
def lib_path():
    return str(build_shared_library([CLIB / "cdecl_lib.c"], "cdecl_lib", depends=[CLIB / "cdecl_api.h"]))


@pytest.fixture(scope="module")
def api(lib_path):
    return ft.cdef(API, lib=lib_path)


def test_layouts_and_constants_match_the_compiler(api):
    checked, wrong = layout_checks(f'#include "{CLIB / "cdecl_api.h"}"', api)
    assert checked > 40
    assert not wrong, "\n".join(wrong)


def test_functions_match_aux_info(api):
    aux = aux_functions(f'#include "{CLIB / "cdecl_api.h"}"\n')
    assert "cd_sum_ints" in aux
    assert not function_differences(api, aux)


def test_bit_fields_reach_c(api):
    b = api["struct cd_bits"](a=5, b=(1 << 30) - 1, c=-3, d=b"z", e=(1 << 40) - 2)
    got = [api.cd_bits_get(ft.byref(b), i) for i in range(5)]
    assert got == [5, (1 << 30) - 1, -3, ord("z"), (1 << 40) - 2]


def test_packed_aligned_and_pragma_pack(api):
    assert (ft.sizeof(api["struct cd_packed"]), ft.alignment(api["struct cd_packed"])) == (7, 1)
    assert api["struct cd_aligned"].i.offset == 16
    assert ft.alignment(api["struct cd_aligned"]) == 16
    assert (ft.sizeof(api["struct cd_aligned_record"]), ft.alignment(api["struct cd_aligned_record"])) == (8, 8)
    assert (ft.sizeof(api["struct cd_pragma"]), api["struct cd_pragma"].l.offset) == (14, 2)
    assert ft.sizeof(api["struct cd_after_pack"]) == 16


def test_anonymous_members(api):
    a = api.cd_anon(kind=1)
    a.d = 2.5
    a.lo, a.hi = 10, 20
    assert api.cd_anon_sum(ft.byref(a)) == 32.5
    a.kind, a.i = 0, 7
    assert api.cd_anon_sum(ft.byref(a)) == 37


def test_flexible_array_member(api):
    flex = api["struct cd_flex"]
    assert ft.sizeof(flex) == 8 and flex.data.offset == 8
    buf = (ft.c_ubyte * (8 + 3 * 8))()
    f = flex.from_buffer(buf)
    f.n = 3
    (ft.c_double * 3).from_buffer(buf, 8)[:] = [1.5, 2.5, 3.0]
    assert api.cd_flex_sum(ft.byref(f)) == 7.0


def test_enums(api):
    color = api["enum cd_color"]
    assert issubclass(color, __import__("enum").IntEnum)
    assert (color.CD_GREEN, api.CD_BLUE) == (5, 6)
    assert api.CD_GREEN is color.CD_GREEN
    assert api.cd_next_color(api.CD_RED) == 5
    big = api["enum cd_big"]
    assert big.CD_LARGE == 1 << 32
    assert ft.sizeof(big._ctype_) == 8  # GCC widens an enum past INT_MAX
    assert api.cd_big_value(big.CD_LARGE) == 1 << 32


def test_function_pointer_typedefs_and_callables(api):
    assert api.cd_apply(api.cd_binop(lambda a, b: a * b), 6, 7) == 42
    assert api.cd_apply(lambda a, b: a - b, 6, 7) == -1
    assert api.typeof("int (*)(int, int)") is api.typeof("int (*)(int, int)")
    assert api.typeof("int (*)(int, int)") is api.cd_binop


def test_variadic_and_void_parameters(api):
    assert api.cd_sum_ints(4, 1, 2, 3, 4) == 10
    assert api.cd_get_verbosity.argtypes == []


def test_extern_variable_writes_c_memory(api):
    api.cd_verbosity.value = 3
    assert api.cd_get_verbosity() == 3
    api.cd_verbosity.value = 0


def test_self_referential_and_late_completed_records(api):
    node = api.cd_node
    third = node(3, None)
    second = node(2, ft.pointer(third))
    first = node(1, ft.pointer(second))
    assert api.cd_list_sum(ft.byref(first)) == 6
    holder = api["struct cd_holder"]
    later = api["struct cd_later"](x=9)
    assert holder(ft.pointer(later)).p.contents.x == 9


def test_macros(api):
    assert api.CD_VERSION == b"cd-1.0"
    assert (api.CD_SHIFT, api.CD_MASK, api.CD_NEG) == (16, 15, -1)
    assert (api.CD_CAST, api.CD_SIGNED_CAST) == (255, 128)
    assert api.CD_SIZE == ft.sizeof(api["struct cd_bits"])
    assert (api.CD_CHAR, api.CD_FLOAT, api.CD_BIG_SHIFT) == (65, 1e-3, 1 << 40)


def test_forwarding_macro(api):
    p = api["struct cd_packed"]()
    assert api.cd_init(ft.byref(p), 77) == 0
    assert (p.c, p.i, p.s) == (b"x", 77, 7)
    with pytest.raises(TypeError):
        api.cd_init(ft.byref(p))


def test_char_pointer_results(api):
    assert api.cd_name() == b"cdecl"  # const char *: bytes
    s = api.cd_strdup(b"owned")  # char *: C's memory, to be freed
    assert isinstance(s, ft.POINTER(ft.c_char))
    assert ft.string_at(s) == b"owned"
    api.cd_free(s)


def test_byte_and_const_pointers_take_buffers(api):
    data = bytes(range(10))
    assert api.cd_byte_sum(data, 10) == 45  # const unsigned char *: read-only bytes
    assert api.cd_byte_sum(memoryview(data), 10) == 45
    out = bytearray(4)
    api.cd_fill(out, 4, 7)  # unsigned char *: any writable byte buffer
    assert out == bytearray([7] * 4)
    buf = ft.create_string_buffer(3)
    api.cd_fill(buf, 3, 1)
    assert buf.raw == b"\x01\x01\x01"
    with pytest.raises(ft.ArgumentError, match="read-only"):
        api.cd_fill(b"abcd", 4, 0)
    assert api.cd_byte_sum(None, 0) == 0


def test_namespace_listing_and_items(api):
    names = dir(api)
    for name in ("cd_apply", "cd_binop", "CD_RED", "CD_VERSION", "cd_verbosity", "cd_bits"):
        assert name in names
    assert api.cd_bits is api["struct cd_bits"]  # a tag, as no ordinary identifier has its name
    assert api["int"] is ft.c_int
    assert api.typeof("struct cd_node *") is ft.POINTER(api.cd_node)
    assert "cd_init" not in api.skipped


def test_missing_symbol_names_the_libraries(lib_path):
    ns = ft.cdef("int cd_no_such_function(void);", lib=lib_path)
    with pytest.raises(AttributeError, match="cd_no_such_function.*cdecl_lib"):
        ns.cd_no_such_function


def test_syntax_error_points_at_the_token():
    with pytest.raises(ft.CDeclError) as info:
        ft.cdef("int ok;\nint f(int a,, int b);\n")
    e = info.value
    assert isinstance(e, ValueError)
    assert (e.file, e.line, e.column) == ("<cdef>", 2, 13)
    assert str(e).splitlines()[1:] == ["int f(int a,, int b);", " " * 12 + "^"]


@pytest.mark.parametrize(
    "source, message",
    [
        ("foo_t x;", "unknown type name 'foo_t'"),
        ("#include <stdio.h>\n", "use ferrotypes.include"),
        ("#ifdef X\n#endif\n", "conditionals"),
        ("int f(int); double f(int, int);", "conflicting declaration of 'f'"),
        ("struct s { int a; }; struct s { int b; };", "redefinition of 'struct s'"),
        ("int a[1 / 0];", "division by zero"),
    ],
)
def test_bad_declarations(source, message):
    with pytest.raises(ft.CDeclError, match=message):
        ft.cdef(source)


def test_include_errors(monkeypatch):
    with pytest.raises(FileNotFoundError, match="no_such_header.h.*searched.*/usr/include"):
        ft.include("no_such_header.h")
    monkeypatch.setenv("CC", "no-such-compiler-xyz")
    with pytest.raises(OSError, match="CC"):
        ft.include("stdio.h")
    assert ft.cdef("#define N (1 << 3)").N == 8  # cdef needs no compiler


def test_skipped_gives_reasons():
    ns = ft.cdef("#define EMPTY\n#define LOOP(x) helper(x) + 1\nstatic inline int f(void) { return 1; }\n"
                 "__int128 wide(__int128 x);")
    skipped = ns.skipped
    assert skipped["EMPTY"] == "expands to nothing"
    assert "LOOP" in skipped and "f" in skipped and "wide" in skipped
    assert "__int128" in skipped["wide"]


def test_include_cache_skips_the_preprocessor_until_a_file_changes(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    header = tmp_path / "mine.h"
    header.write_text("#define MINE 1\n")
    assert ft.include("mine.h", include_dirs=[tmp_path]).MINE == 1
    import ferrotypes.cdecl as cdecl_module

    real_run = cdecl_module.subprocess.run
    calls = []

    def counting_run(*args, **kwargs):
        calls.append(args)
        return real_run(*args, **kwargs)

    monkeypatch.setattr(cdecl_module.subprocess, "run", counting_run)
    assert ft.include("mine.h", include_dirs=[tmp_path]).MINE == 1
    assert calls == []  # served from the cache
    header.write_text("#define MINE 22\n")  # another size: the entry is stale
    assert ft.include("mine.h", include_dirs=[tmp_path]).MINE == 22
    assert len(calls) == 1


def test_include_cache_misses_a_change_that_keeps_size_and_modification_time(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    header = tmp_path / "same.h"
    header.write_text("#define SAME 1\n")
    before = os.stat(header)
    assert ft.include("same.h", include_dirs=[tmp_path]).SAME == 1
    header.write_text("#define SAME 2\n")  # the same size...
    os.utime(header, ns=(before.st_atime_ns, before.st_mtime_ns))  # ...and mtime set back
    assert ft.include("same.h", include_dirs=[tmp_path]).SAME == 2


def test_include_cache_treats_a_damaged_entry_as_a_miss(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    (tmp_path / "dmg.h").write_text("#define DMG 3\n")
    assert ft.include("dmg.h", include_dirs=[tmp_path]).DMG == 3
    [entry] = (tmp_path / "cache" / "ferrotypes" / "headers").iterdir()
    for damage in (b"", b"not json\n#define DMG 4\n", b'[["x"]]\n', b"[1]\n", b"[]\n\xff\xfe"):
        entry.write_bytes(damage)
        assert ft.include("dmg.h", include_dirs=[tmp_path]).DMG == 3  # preprocessed again


def test_include_cache_is_keyed_by_the_preprocessors_search_path_variables(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    for value in (1, 2):
        (tmp_path / f"dir{value}").mkdir()
        (tmp_path / f"dir{value}" / "found.h").write_text(f"#define FOUND {value}\n")
    monkeypatch.setenv("CPATH", str(tmp_path / "dir1"))
    assert ft.include("found.h").FOUND == 1
    monkeypatch.setenv("CPATH", str(tmp_path / "dir2"))
    assert ft.include("found.h").FOUND == 2


def test_gnu_attributes_become_behaviour():
    ns = ft.cdef("unsigned long strlen(const char *s) __attribute__((nonnull(1)));\n"
                 "int abs(int) __attribute__((deprecated));")
    assert ns.strlen(b"four") == 4
    # A ValueError naming the parameter, as issue 14 says; also an ArgumentError, as every
    # argument a call refuses is, but not wrapped in one.
    with pytest.raises(ValueError, match=r"^strlen\(\): parameter s \(argument 1\) is declared nonnull, got None$") as info:
        ns.strlen(None)
    assert isinstance(info.value, ft.ArgumentError) and info.value.__cause__ is None
    with pytest.warns(DeprecationWarning, match="abs is declared deprecated"):
        f = ns.abs
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert f(-2) == ns.abs(-3) - 1  # warned once, when bound


def test_nonnull_refuses_none_on_every_pointer_kind_and_passes_the_rest():
    ns = ft.cdef("typedef unsigned long size_t; struct tm { int a[9]; long b; const char *c; };\n"
                 "void *memset(void *s, int c, size_t n) __attribute__((nonnull));\n"
                 "struct tm *gmtime_r(const long *t, struct tm *out) __attribute__((nonnull(1, 2)));")
    buf = ft.create_string_buffer(b"abcd", 4)
    for _ in range(3):  # the first calls prepare the call, later ones take the quickest path
        ns.memset(buf, ord("x"), 2)
        with pytest.raises(ValueError, match=r"^memset\(\): parameter s \(argument 1\)"):
            ns.memset(None, 0, 0)
    assert buf.raw == b"xxcd"
    when, out = ft.c_long(86400), ns["struct tm"]()
    assert ns.gmtime_r(ft.byref(when), ft.byref(out))[0].a[3] == 2  # tm_mday of 1970-01-02
    with pytest.raises(ValueError, match=r"^gmtime_r\(\): parameter out \(argument 2\)"):
        ns.gmtime_r(ft.byref(when), None)
    assert ns.memset.argtypes[0].from_param(None) is None  # the type itself still converts None


def test_builtin_typedefs_bind():
    ns = ft.cdef("typedef __builtin_va_list my_va_list; __int128_t wide; typedef int f_t(int);")
    assert ft.sizeof(ns.my_va_list) == 24
    assert ft.sizeof(ns.typeof("__int128_t")) == 16
    assert "f_t" in ns.skipped  # a function type, not a value type


def test_layouts_ctypes_cannot_say_are_reported_not_silent():
    # A packed member among bit-fields: its class's alignment cannot be lowered without
    # a `_pack_` that would move the bit-fields, so the class differs from the compiler's
    # record; it is bound, warned about and listed.
    with pytest.warns(RuntimeWarning, match="struct pb: bound, but the layout differs"):
        ns = ft.cdef("struct pb { char a : 3; int b __attribute__((packed)); char c : 2; };")
        ns["struct pb"]
    assert "differs from the compiler's" in ns.skipped["struct pb"]
    with pytest.raises(ft.VerifyError, match=r"struct pb.b: offset 4, compiler 1"):
        ns.verify()


def test_a_function_wins_over_a_macro_of_its_name():
    ns = ft.cdef("int abs(int);\n#define abs(x) ((x) < 0 ? -(x) : (x))\n")
    assert ns.abs(-4) == 4 and ns.abs.argtypes == [ft.c_int]
    assert "function" in ns.skipped["abs"]


def test_typeof_errors():
    ns = ft.cdef("struct a { int x; };")
    with pytest.raises(ft.CDeclError, match="struct nope is not declared"):
        ns.typeof("struct nope *")
    with pytest.raises(ft.CDeclError, match="<type>:1:5"):
        ns.typeof("int[")
    assert ns.typeof("struct a *") is ft.POINTER(ns.a)


def test_variadic_function_pointers_are_addresses_and_unexported_symbols_are_listed(lib_path):
    ns = ft.cdef("typedef void (*logger)(int, ...); int cd_apply(logger op, int a, int b);\n"
                 "int cd_not_in_the_library(void);", lib=lib_path)
    assert ns.logger is ft.c_void_p
    assert ns.cd_apply.argtypes[0] is ft.c_void_p
    with pytest.raises(AttributeError):
        ns.cd_not_in_the_library
    assert "not exported" in ns.skipped["cd_not_in_the_library"]
