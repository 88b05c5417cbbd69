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
import header_calls
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
    header_calls.zlib_round_trip(z)
    assert z.size_t is ft.c_size_t


def test_sqlite3_open_exec_close():
    header_calls.sqlite3_open_exec_close(ft.include("sqlite3.h", lib="sqlite3"))


def test_libc_qsort_strtol_localtime():
    libc = ft.include("stdlib.h")
    header_calls.qsort_and_strtol(libc)
    arr = (ft.c_int * 3)(1, 2, 3)
    descending = libc.__compar_fn_t(lambda a, b: ft.c_int.from_address(b).value - ft.c_int.from_address(a).value)
    libc.qsort(arr, len(arr), ft.sizeof(ft.c_int), descending)  # the header's own prototype
    assert list(arr) == [3, 2, 1]
    t = ft.include("time.h")
    header_calls.gmtime(t)
    when = t.time_t(86400 * 365)
    assert t.localtime(ft.byref(when)).contents.tm_year in (70, 71)


def test_cblas_ddot():
    header_calls.cblas_ddot(ft.include("cblas.h", lib="openblas"))


def test_gsl_integration_with_a_python_integrand():
    gsl = ft.include("gsl/gsl_integration.h", lib=["gslcblas", "gsl"])
    assert gsl.typeof("double (*)(double, void *)") is ft.CFUNCTYPE(ft.c_double, ft.c_double, ft.c_void_p)
    header_calls.gsl_integration(gsl)


def test_python_api_with_the_gil_held():
    py = ft.include("Python.h", lib=ft.pythonapi)
    header_calls.python_api(py)
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
