"""``python -m ferrotypes.bind``: bindings generated from the yardstick headers of
test_cdecl_headers.py, imported where there is no compiler, against ``include()`` of the
same header (layouts, constants, functions), real calls through them, their ``.pyi``
under ``mypy --strict``, stability, and bad input.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap

import pytest

import ferrotypes as ft
from cdecl_probe import CC
from ferrotypes.bind import generate, write_bindings
from test_cdecl_headers import HEADERS

pytestmark = pytest.mark.skipif(CC is None, reason="no C compiler")

# The library each header's functions come from (none: the process, libc).
LIBS = {
    "zlib.h": ["z"], "sqlite3.h": ["sqlite3"], "cblas.h": ["openblas"],
    "gsl/gsl_integration.h": ["gslcblas", "gsl"], "gsl/gsl_odeiv2.h": ["gslcblas", "gsl"],
    "png.h": ["png16"], "expat.h": ["expat"], "lzma.h": ["lzma"], "bzlib.h": ["bz2"],
    "ffi.h": ["ffi"], "Python.h": ["pythonapi"],
}


def module_name(header):
    return re.sub(r"\W", "_", header[:-2]) + "_bindings"


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """Every yardstick header's bindings, written once to one directory:
    ``(directory, {header: Bindings})``."""
    directory = tmp_path_factory.mktemp("bindings")
    out = {}
    for header in HEADERS:
        out[header] = generate(header, LIBS.get(header))
        write_bindings(directory / f"{module_name(header)}.py", out[header])
    return directory, out


def run_without_compiler(directory, code, *args):
    """Runs ``code`` in a fresh interpreter whose PATH has no compiler and whose CC names
    none, with the generated modules importable; returns its stdout."""
    empty = directory / "empty-path"
    empty.mkdir(exist_ok=True)
    tests = os.path.dirname(os.path.abspath(__file__))  # for tests/header_calls.py
    env = {**os.environ, "CC": "/nonexistent", "PATH": str(empty), "PYTHONPATH": os.pathsep.join([str(directory), tests])}
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code), *args], env=env,
                          capture_output=True, text=True, cwd=directory)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return proc.stdout


_DUMP = """
    import importlib, json, shutil, sys
    import ferrotypes as ft
    from ferrotypes.bind import runtime
    assert shutil.which("cc") is None and shutil.which("gcc") is None
    out = {}
    for name in sys.argv[1:]:
        mod = importlib.import_module(name)
        records, constants, functions = {}, {}, {}
        for attr, v in vars(mod).items():
            if isinstance(v, type) and issubclass(v, (ft.Structure, ft.Union)) and v.__dict__.get("_fields_"):
                records[attr] = [ft.sizeof(v), ft.alignment(v), {f[0]: getattr(v, f[0]).offset for f in v._fields_}]
        declared = set(runtime.names(mod._ft_declarations))
        for attr in mod.__all__:
            v = getattr(mod, attr)  # binds every function and variable: each symbol is found
            if attr in declared and callable(v):
                functions[attr] = None if v.argtypes is None else len(v.argtypes)
            elif isinstance(v, (int, float, bytes)) and not isinstance(v, bool):
                constants[attr] = repr(int(v) if isinstance(v, int) else v)
        out[name] = {"records": records, "constants": constants, "functions": functions}
    json.dump(out, sys.stdout)
"""


@pytest.fixture(scope="module")
def imported(generated):
    """What each generated module holds, imported in one interpreter without a compiler."""
    directory, _ = generated
    return json.loads(run_without_compiler(directory, _DUMP, *[module_name(h) for h in HEADERS]))


_namespaces = {}


def namespace(header):
    if header not in _namespaces:
        lib = LIBS.get(header)
        _namespaces[header] = ft.include(header, ft.pythonapi if lib == ["pythonapi"] else lib)
    return _namespaces[header]


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # binding the deprecated functions too
@pytest.mark.parametrize("header", HEADERS)
def test_generated_module_has_the_layouts_constants_and_functions_of_include(header, generated, imported):
    _, bindings = generated
    got = imported[module_name(header)]
    ns = namespace(header)
    c_name_of = {py: c for c, py in bindings[header].renamed.items()}
    wrong, compared = [], 0
    for py_name, c_name in bindings[header].records.items():
        if py_name not in got["records"]:
            continue  # incomplete: no layout
        cls = ns[c_name] if c_name.startswith(("struct ", "union ")) else getattr(ns, c_name)
        want = [ft.sizeof(cls), ft.alignment(cls), {f[0]: getattr(cls, f[0]).offset for f in cls._fields_}]
        compared += 1
        if got["records"][py_name] != want:
            wrong.append(f"{c_name}: {got['records'][py_name]}, include() {want}")
    for py_name, text in got["constants"].items():
        name = c_name_of.get(py_name, py_name)
        if name in ns._constants or name in ns._macros:
            value = getattr(ns, name)
            compared += 1
            if text != repr(int(value) if isinstance(value, int) else value):
                wrong.append(f"{name}: {text}, include() {value!r}")
    for py_name, count in got["functions"].items():
        name = c_name_of.get(py_name, py_name)
        func = getattr(ns, name)
        compared += 1
        if count != (None if func.argtypes is None else len(func.argtypes)):
            wrong.append(f"{name}: {count} argtypes, include() {func.argtypes}")
    assert compared > 50, compared
    assert not wrong, "\n".join(wrong[:40])


def test_every_record_include_completes_is_in_the_module(generated, imported):
    _, bindings = generated
    header = "zlib.h"
    got = imported[module_name(header)]["records"]
    assert {"z_stream_s", "gz_header_s", "internal_state"} <= set(bindings[header].records)
    assert "z_stream_s" in got and "internal_state" not in got  # incomplete in zlib.h: no fields


_CALLS = """
    import ferrotypes as ft
    import header_calls  # tests/header_calls.py: the same calls test_cdecl_headers makes through include()
    import zlib_bindings, sqlite3_bindings, cblas_bindings, gsl_gsl_integration_bindings
    import stdlib_bindings, time_bindings, Python_bindings

    header_calls.zlib_round_trip(zlib_bindings)
    header_calls.sqlite3_open_exec_close(sqlite3_bindings)
    header_calls.cblas_ddot(cblas_bindings)
    header_calls.gsl_integration(gsl_gsl_integration_bindings)
    header_calls.qsort_and_strtol(stdlib_bindings)
    header_calls.gmtime(time_bindings)
    header_calls.python_api(Python_bindings)
    print("calls: ok")
"""


def test_real_calls_through_generated_modules_without_a_compiler(generated):
    directory, _ = generated
    assert run_without_compiler(directory, _CALLS).startswith("calls: ok")


def test_functions_are_bound_on_first_use_and_keep_their_docstring(generated):
    directory, _ = generated
    code = """
        import sqlite3_bindings as sq
        assert "sqlite3_open" not in vars(sq)          # not bound by the import
        f = sq.sqlite3_open
        assert vars(sq)["sqlite3_open"] is f           # bound once, then a plain attribute
        assert "CAPI3REF: Opening A New Database Connection" in f.__doc__
        assert f.__name__ == "sqlite3_open"
        assert "sqlite3_open" in dir(sq)
        try:
            sq.no_such_function
        except AttributeError as e:
            assert "no_such_function" in str(e)
        else:
            raise AssertionError("no AttributeError")
        print("ok")
    """
    assert run_without_compiler(directory, code).strip() == "ok"


_TYPED = '''
    import ferrotypes as ft
    import sqlite3_bindings as sq
    import zlib_bindings as z


    def round_trip(data: bytes) -> bytes:
        dest_len = z.uLongf(z.compressBound(len(data)))
        dest = ft.create_string_buffer(dest_len.value)
        status: int = z.compress(dest, ft.byref(dest_len), data, len(data))
        assert status == z.Z_OK
        out = ft.create_string_buffer(len(data))
        out_len = z.uLongf(len(data))
        assert z.uncompress(out, ft.byref(out_len), dest, dest_len.value) == z.Z_OK
        version: bytes | None = z.zlibVersion()
        assert version is not None
        return out.raw[: out_len.value]


    def query() -> list[bytes]:
        db = ft.POINTER(sq.sqlite3)()
        assert sq.sqlite3_open(b":memory:", ft.byref(db)) == sq.SQLITE_OK
        rows: list[bytes] = []

        def on_row(_: int | None, ncols: int, values: ft._Pointer[ft.c_char_p], names: object) -> int:
            rows.append(values[0] or b"")
            return 0

        assert sq.sqlite3_exec(db, b"select 42;", on_row, None, None) == sq.SQLITE_OK
        assert sq.sqlite3_close(db) == sq.SQLITE_OK
        return rows


    def layout() -> int:
        strm = z.z_stream()
        strm.avail_in = 3
        return strm.avail_in + ft.sizeof(z.z_stream)
'''


def _mypy(directory, name, code):
    program = directory / f"{name}.py"
    program.write_text(textwrap.dedent(code))
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--cache-dir", os.devnull,
         "--python-version", f"{sys.version_info[0]}.{sys.version_info[1]}", str(program)],
        capture_output=True, text=True, cwd=directory)


def test_stubs_pass_mypy_strict_with_a_typed_program(generated):
    directory, _ = generated
    others = "".join(f"import {module_name(h)}  # noqa: F401\n" for h in HEADERS)  # every .pyi checked
    proc = _mypy(directory, "typed_program", textwrap.dedent(_TYPED) + others)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_stubs_are_precise_enough_to_reject_a_wrong_call(generated):
    directory, _ = generated
    proc = _mypy(directory, "wrong_program", """
        import zlib_bindings as z
        z.compressBound("forty")
        n: str = z.compressBound(40)
    """)
    assert proc.returncode == 1
    assert 'Argument 1 to "compressBound" has incompatible type "str"' in proc.stdout, proc.stdout
    assert 'Incompatible types in assignment (expression has type "int", variable has type "str")' in proc.stdout


def test_generating_twice_gives_identical_files(generated):
    _, bindings = generated
    for header in HEADERS:
        again = generate(header, LIBS.get(header))
        assert (again.module, again.stub) == (bindings[header].module, bindings[header].stub), header


def test_records_with_attributes_have_the_include_layout(tmp_path):
    header = tmp_path / "attrs.h"
    header.write_text("""
        #pragma pack(push, 2)
        struct pushed { char c; long l; };
        #pragma pack(pop)
        struct __attribute__((packed)) packed { char c; int i; short s; };
        struct aligned { char c; int i __attribute__((aligned(16))); };
        struct __attribute__((aligned(16))) wide { int x; };
        struct __attribute__((aligned(64))) wider { int x; };
        struct packed_aligned { char c; int i; } __attribute__((packed, aligned(8)));
        struct bits { unsigned a : 3; unsigned b : 5; char c; short d : 4; };
        struct outer { int kind; union { int i; double d; }; struct { char x, y; }; };
        struct list { struct list *next; int value; };
        typedef struct { __int128 big; char tail; } opaque_holder;
        struct flexible { int n; double items[]; };
        enum big { BIG_ONE = 1, BIG_WIDE = 0x100000000 };
        #define SHIFTED (1u << 4)
    """)
    bindings = generate(str(header))
    write_bindings(tmp_path / "attrs_bindings.py", bindings)
    ns = ft.include(str(header), verify=True)
    code = f"""
        import json, ferrotypes as ft, attrs_bindings as m
        print(json.dumps({{name: [ft.sizeof(getattr(m, name)), ft.alignment(getattr(m, name)),
                                 {{f[0]: getattr(getattr(m, name), f[0]).offset for f in getattr(m, name)._fields_}}]
                          for name in {sorted(bindings.records)!r}}}))
        assert m.BIG_WIDE == 0x100000000 and m.big.BIG_ONE == 1 and m.SHIFTED == 16
        o = m.outer(); o.d = 1.5; assert o.d == 1.5 and o.x == b"\\0"
    """
    got = json.loads(run_without_compiler(tmp_path, code))
    assert len(got) == len(bindings.records) == 11  # the two anonymous members have no C name
    for py_name, c_name in bindings.records.items():
        cls = ns[c_name] if c_name.startswith(("struct ", "union ")) else getattr(ns, c_name)
        assert got[py_name] == [ft.sizeof(cls), ft.alignment(cls),
                                {f[0]: getattr(cls, f[0]).offset for f in cls._fields_}], c_name


def _cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "ferrotypes.bind", *args], capture_output=True, text=True, cwd=cwd)


def test_cli_writes_both_files_with_progress_and_a_summary(tmp_path):
    proc = _cli("zlib.h", "-l", "z", "-o", "zb.py", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["zb.py", "zb.pyi"]
    assert "bound: " in proc.stderr and "skipped " in proc.stderr and "wrote " in proc.stderr
    assert re.search(r"\d+ static \(inline\) function: no library exports it", proc.stderr), proc.stderr
    assert (tmp_path / "zb.py").read_text().startswith("# Generated by python -m ferrotypes.bind zlib.h -lz.")


def test_cli_bad_header_is_a_cdecl_error_and_non_zero_exit(tmp_path):
    (tmp_path / "bad.h").write_text("int f(int x;\n")
    proc = _cli(str(tmp_path / "bad.h"), "-o", "out.py", cwd=tmp_path)
    assert proc.returncode == 1
    assert proc.stderr.startswith(f"error: {tmp_path / 'bad.h'}:1:"), proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.h"]


def test_cli_unwritable_output_leaves_nothing_behind(tmp_path):
    (tmp_path / "out.py").mkdir()  # the output path is a directory: the rename fails
    proc = _cli("zlib.h", "-l", "z", "-o", "out.py", cwd=tmp_path)
    assert proc.returncode == 1
    assert "error: cannot write out.py:" in proc.stderr and "nothing was written" in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.py"]
    assert not any((tmp_path / "out.py").iterdir())
    (tmp_path / "out.py").rmdir()
    (tmp_path / "out.pyi").mkdir()  # only the stub's path is a directory: the module is not written either
    proc = _cli("zlib.h", "-l", "z", "-o", "out.py", cwd=tmp_path)
    assert proc.returncode == 1 and "nothing was written" in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.pyi"]
    proc = _cli("zlib.h", "-l", "z", "-o", str(tmp_path / "missing" / "z.py"), cwd=tmp_path)
    assert proc.returncode == 1 and "cannot write" in proc.stderr


def test_cli_missing_library_and_header_are_errors(tmp_path):
    proc = _cli("zlib.h", "-l", "no_such_library_xyz", "-o", "z.py", cwd=tmp_path)
    assert proc.returncode == 1 and "no_such_library_xyz" in proc.stderr
    proc = _cli("no_such_header_xyz.h", "-o", "z.py", cwd=tmp_path)
    assert proc.returncode == 1 and "no_such_header_xyz.h" in proc.stderr
    assert not list(tmp_path.iterdir())


_OWN_HEADER = """
#include <stddef.h>

/* A point on the plane. */
typedef struct point { int x, y; } point;

struct sample { int value; };

/** Sums the coordinates
 *  of a point. */
int point_sum(point p);

// The point's sample (the tag `sample` is also this function's name).
int sample(struct sample *s);

typedef int (*unary_fn)(int);
int own_apply(unary_fn f, int x);

/* Lambda is not a keyword in C. */
int lambda(int x);

size_t length(const char *text) __attribute__((nonnull(1)));
int old_api(void) __attribute__((deprecated));
extern int own_verbosity;
"""

_OWN_SOURCE = """
#include <string.h>
#include "own.h"
int point_sum(point p) { return p.x + p.y; }
int sample(struct sample *s) { return s->value; }
int own_apply(unary_fn f, int x) { return f(x); }
int lambda(int x) { return -x; }
size_t length(const char *text) { return strlen(text); }
int old_api(void) { return 7; }
int own_verbosity = 3;
"""


def test_a_library_of_our_own_through_a_path(tmp_path):
    from ferrotypes._cbuild import build_shared_library

    (tmp_path / "own.h").write_text(_OWN_HEADER)
    (tmp_path / "own.c").write_text(_OWN_SOURCE)
    lib = build_shared_library([tmp_path / "own.c"], "libown", outdir=tmp_path, extra_args=[f"-I{tmp_path}"],
                               depends=[tmp_path / "own.h"])
    # In a subprocess: binding loads the library with RTLD_GLOBAL, and its symbols must not
    # stand in for other libraries' in this process.
    proc = _cli(str(tmp_path / "own.h"), "-l", str(lib), "-o", "own_bindings.py", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    code = f"""
        import inspect, warnings
        import ferrotypes as ft
        import own_bindings as own
        assert own._ft_library.names == [{str(lib)!r}]   # a path is kept as given
        assert "lambda_" in own.__all__ and "struct_sample" in own.__all__ and "sample" in own.__all__
        assert inspect.getdoc(own.point) == "A point on the plane."
        assert own.point_sum(own.point(2, 3)) == 5
        assert inspect.cleandoc(own.point_sum.__doc__) == "Sums the coordinates\\nof a point."
        assert own.sample(ft.byref(own.struct_sample(9))) == 9
        assert own.sample.__doc__.startswith("The point's sample")
        assert own.own_apply(lambda x: x * 10, 4) == 40 and own.own_apply(own.unary_fn(lambda x: x + 1), 4) == 5
        assert own.lambda_(5) == -5 and inspect.cleandoc(own.lambda_.__doc__) == "Lambda is not a keyword in C."
        assert own.length(b"four") == 4
        try:
            own.length(None)
        except ValueError as e:  # as through include(): a ValueError (also an ArgumentError)
            assert isinstance(e, ft.ArgumentError) and "declared nonnull, got None" in str(e)
        else:
            raise AssertionError("None reached a nonnull parameter")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            assert own.old_api() == 7
        assert [w.category for w in caught] == [DeprecationWarning]
        assert own.own_verbosity.value == 3
        own.own_verbosity.value = 4
        assert ft.c_int.in_dll(ft.CDLL({str(lib)!r}), "own_verbosity").value == 4
        print("ok")
    """
    assert run_without_compiler(tmp_path, code).strip() == "ok"
    proc = _mypy(tmp_path, "own_program", """
        import own_bindings as own
        total: int = own.point_sum(own.point(1, 2)) + own.lambda_(3) + own.length(b"x")
        own.own_verbosity.value = total
    """)
    assert proc.returncode == 0, proc.stdout
