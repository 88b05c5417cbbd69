"""Real calls through a header's functions, the same whichever way the header was read:
``include()`` at run time (tests/test_cdecl_headers.py) or a module that
``ferrotypes.bind`` generated, imported where no compiler is (tests/test_bind.py). Each
takes the namespace or module of one header."""

import ferrotypes as ft


def zlib_round_trip(z):
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
    assert z.deflateInit(ft.byref(strm), z.Z_DEFAULT_COMPRESSION) == z.Z_OK  # a forwarding macro
    assert z.deflateEnd(ft.byref(strm)) == z.Z_OK


def sqlite3_open_exec_close(sq):
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


def qsort_and_strtol(libc):
    """``libc``: stdlib.h's functions."""
    arr = (ft.c_int * 6)(5, 3, 6, 1, 4, 2)

    def compare(a, b):
        return ft.cast(a, ft.POINTER(ft.c_int))[0] - ft.cast(b, ft.POINTER(ft.c_int))[0]

    libc.qsort(arr, len(arr), ft.sizeof(ft.c_int), compare)  # a Python callable as-is
    assert list(arr) == [1, 2, 3, 4, 5, 6]
    end = ft.c_char_p()
    assert libc.strtol(b"1234xyz", ft.byref(end), 10) == 1234
    assert end.value == b"xyz"


def gmtime(t):
    """``t``: time.h's functions."""
    when = t.time_t(86400 * 365)
    tm = t.gmtime(ft.byref(when)).contents
    assert (tm.tm_year, tm.tm_yday) == (71, 0)


def cblas_ddot(cb):
    x = (ft.c_double * 3)(1, 2, 3)
    y = (ft.c_double * 3)(4, 5, 6)
    assert cb.cblas_ddot(3, x, 1, y, 1) == 32.0
    assert cb.CblasRowMajor == 101


def gsl_integration(gsl):
    """GSL integration with a Python integrand."""
    work = gsl.gsl_integration_workspace_alloc(1000)
    try:
        f = gsl.gsl_function()
        f.function = ft.CFUNCTYPE(ft.c_double, ft.c_double, ft.c_void_p)(lambda x, _: x * x)
        result, error = ft.c_double(), ft.c_double()
        status = gsl.gsl_integration_qags(ft.byref(f), 0.0, 1.0, 0.0, 1e-10, 1000, work,
                                          ft.byref(result), ft.byref(error))
        assert status == 0  # GSL_SUCCESS, in gsl_errno.h
        assert abs(result.value - 1 / 3) < 1e-12
    finally:
        gsl.gsl_integration_workspace_free(work)


def python_api(py):
    """Python.h's functions, bound with the GIL held."""
    assert py.Py_IsInitialized() == 1
    # PyObject * is py_object: Python objects pass and come back as themselves.
    assert py.PyLong_AsLong(12345) == 12345
    assert py.PyList_GetItem([1, 2], 1) == 2
