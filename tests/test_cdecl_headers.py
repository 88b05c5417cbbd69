"""The header yardstick: real installed headers read by ``ferrotypes.include``, with the C
compiler as the oracle (see cdecl_probe.py): every complete record's ``sizeof``,
``_Alignof`` and ``offsetof``, every integer, floating and string constant, and every function ``gcc
-aux-info`` lists with its parameter count; then real calls into the libraries.

The Debian packages providing the headers are listed in scripts/debian-packages.txt.
"""

from __future__ import annotations

import sysconfig

import pytest

import ferrotypes as ft
from cdecl_probe import CC, aux_functions, function_differences, layout_checks

HEADERS = [
    "stdio.h", "stdlib.h", "string.h", "math.h", "time.h", "signal.h", "pthread.h",
    "sys/socket.h", "complex.h", "zlib.h", "sqlite3.h", "cblas.h", "gsl/gsl_integration.h",
    "gsl/gsl_odeiv2.h", "png.h", "expat.h", "lzma.h", "bzlib.h", "ffi.h", "Python.h",
]

# Differences ferrotypes cannot remove, each with its reason. Only these exact strings
# are let through; any other difference (or a changed one) fails.
KNOWN_DIFFERENCES = {
    # glibc: `typedef struct {...} __pthread_unwind_buf_t __attribute__((__aligned__))`.
    # GCC keeps the 104-byte size and makes the alignment 16; a ctypes record's size is
    # always a multiple of its alignment, so no Structure has both.
    "__pthread_unwind_buf_t: sizeof/_Alignof (104, 8), compiler (104, 16) (a Structure cannot have this layout)",
}

pytestmark = pytest.mark.skipif(CC is None, reason="no C compiler")

_namespaces = {}


def namespace(header):
    if header not in _namespaces:
        _namespaces[header] = ft.include(header)
    return _namespaces[header]


def _flags(header):
    return ("-I" + sysconfig.get_paths()["include"],) if header == "Python.h" else ()


@pytest.mark.parametrize("header", HEADERS)
def test_records_and_constants_match_the_compiler(header):
    checked, wrong = layout_checks(f"#include <{header}>", namespace(header), _flags(header), ("-lm",))
    assert checked > 0, "the probe checked nothing"
    unexpected = [w for w in wrong if w not in KNOWN_DIFFERENCES]
    assert not unexpected, f"{len(unexpected)} of {checked} checks differ:\n" + "\n".join(unexpected[:40])


@pytest.mark.parametrize("header", HEADERS)
def test_functions_match_aux_info(header):
    aux = aux_functions(f"#include <{header}>\n", _flags(header))
    assert aux
    wrong = function_differences(namespace(header), aux)
    assert not wrong, f"{len(wrong)} of {len(aux)} functions differ:\n" + "\n".join(wrong[:40])


# --- real calls ---------------------------------------------------------------------------


def test_zlib_round_trip_and_forwarding_macro():
    z = ft.include("zlib.h", lib="z")
    assert z.zlibVersion() == z.ZLIB_VERSION  # const char * result: bytes
    data = b"ferrotypes reads zlib.h " * 20
    dest_len = z.uLongf(z.compressBound(len(data)))
    dest = ft.create_string_buffer(dest_len.value)
    # Bytef * takes any byte buffer; const Bytef * takes bytes.
    assert z.compress(dest, ft.byref(dest_len), data, len(data)) == z.Z_OK
    out = bytearray(len(data))
    out_len = z.uLongf(len(out))
    assert z.uncompress(out, ft.byref(out_len), dest, dest_len.value) == z.Z_OK
    assert bytes(out[:out_len.value]) == data
    strm = z.z_stream()
    assert z.deflateInit(ft.byref(strm), z.Z_DEFAULT_COMPRESSION) == z.Z_OK
    assert z.deflateEnd(ft.byref(strm)) == z.Z_OK
    assert z.size_t is ft.c_size_t


def test_sqlite3_open_exec_close():
    sq = ft.include("sqlite3.h", lib="sqlite3")
    db = ft.POINTER(sq.sqlite3)()
    assert sq.sqlite3_open(b":memory:", ft.byref(db)) == sq.SQLITE_OK
    rows = []

    def on_row(_, ncols, values, names):
        rows.append((names[0], values[0]))
        return 0

    sql = b"create table t(x); insert into t values (42); select x from t;"
    assert sq.sqlite3_exec(db, sql, on_row, None, None) == sq.SQLITE_OK
    assert rows == [(b"x", b"42")]
    assert sq.sqlite3_close(db) == sq.SQLITE_OK


def test_libc_qsort_strtol_localtime():
    libc = ft.include("stdlib.h")
    arr = (ft.c_int * 6)(5, 3, 6, 1, 4, 2)

    def compare(a, b):
        return ft.cast(a, ft.POINTER(ft.c_int))[0] - ft.cast(b, ft.POINTER(ft.c_int))[0]

    libc.qsort(arr, len(arr), ft.sizeof(ft.c_int), compare)  # a Python callable as-is
    assert list(arr) == [1, 2, 3, 4, 5, 6]
    libc.qsort(arr, len(arr), ft.sizeof(ft.c_int), libc.__compar_fn_t(lambda a, b: -compare(a, b)))
    assert list(arr) == [6, 5, 4, 3, 2, 1]
    end = ft.c_char_p()
    assert libc.strtol(b"1234xyz", ft.byref(end), 10) == 1234
    assert end.value == b"xyz"
    t = ft.include("time.h")
    when = t.time_t(86400 * 365)
    tm = t.gmtime(ft.byref(when)).contents
    assert (tm.tm_year, tm.tm_yday) == (71, 0)
    assert t.localtime(ft.byref(when)).contents.tm_year in (70, 71)


def test_cblas_ddot():
    cb = ft.include("cblas.h", lib="openblas")
    x = (ft.c_double * 3)(1, 2, 3)
    y = (ft.c_double * 3)(4, 5, 6)
    assert cb.cblas_ddot(3, x, 1, y, 1) == 32.0
    assert cb.CblasRowMajor == 101


def test_gsl_integration_with_a_python_integrand():
    gsl = ft.include("gsl/gsl_integration.h", lib=["gslcblas", "gsl"])
    work = gsl.gsl_integration_workspace_alloc(1000)
    try:
        f = gsl.gsl_function()
        f.function = gsl.typeof("double (*)(double, void *)")(lambda x, _: x * x)
        result, error = ft.c_double(), ft.c_double()
        status = gsl.gsl_integration_qags(ft.byref(f), 0.0, 1.0, 0.0, 1e-10, 1000, work,
                                          ft.byref(result), ft.byref(error))
        assert status == 0  # GSL_SUCCESS, in gsl_errno.h
        assert abs(result.value - 1 / 3) < 1e-12
    finally:
        gsl.gsl_integration_workspace_free(work)


def test_python_api_with_the_gil_held():
    py = ft.include("Python.h", lib=ft.pythonapi)
    assert py.Py_IsInitialized() == 1
    # PyObject * is py_object: Python objects pass and come back as themselves.
    assert py.PyLong_AsLong(12345) == 12345
    items = [1, 2]
    assert py.PyList_GetItem(items, 1) == 2
    assert ft.sizeof(py.PyObject) == 16


def test_asm_labels_are_honoured():
    stdio = ft.include("stdio.h")
    # glibc renames the scanf family to their C99 versions with __asm__ labels.
    assert stdio._decls["sscanf"]["asm_label"] == "__isoc99_sscanf"
    value = ft.c_int()
    assert stdio.sscanf(b"  42", b"%d", ft.byref(value)) == 1
    assert value.value == 42
    assert stdio.sscanf.__name__ == "sscanf"


def test_compiler_predefined_macros_are_attributes():
    stdio = namespace("stdio.h")
    assert stdio.__GNUC__ >= 4 and stdio.__SIZEOF_LONG__ == 8
    assert stdio.__STDC_VERSION__ >= 199901
    with pytest.raises(AttributeError):
        stdio.__no_such_name__
