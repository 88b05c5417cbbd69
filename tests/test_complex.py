"""``c_float_complex``, ``c_double_complex`` and ``c_longdouble_complex`` (C99's
``_Complex`` types, ctypes' from Python 3.14) against the C compiler: sizes,
alignments and layouts, values through real C functions (libm's and
tests/clib/cdecl_complex.c's, bound by ``cdef``), records, arrays, callbacks and
buffer formats."""

from __future__ import annotations

import cmath
import ctypes as std
import struct
import subprocess

import pytest

import ferrotypes as ft
from cdecl_probe import CC, CLIB, clib_namespace, layout_checks

HEADER = CLIB / "cdecl_complex.h"
TYPES = {"float _Complex": ft.c_float_complex, "double _Complex": ft.c_double_complex,
         "long double _Complex": ft.c_longdouble_complex}

needs_cc = pytest.mark.skipif(CC is None, reason="no C compiler")


@pytest.fixture(scope="module")
def api():
    return clib_namespace("cdecl_complex")


@pytest.fixture(scope="module")
def libm():
    return ft.CDLL("libm.so.6")


@needs_cc
def test_sizes_and_alignments_are_the_compilers(tmp_path):
    lines = "".join(f'printf("%zu %zu\\n", sizeof({t}), _Alignof({t}));\n' for t in TYPES)
    src = tmp_path / "probe.c"
    src.write_text(f"#include <stdio.h>\nint main(void) {{\n{lines}return 0;\n}}\n")
    subprocess.run([CC, "-o", str(tmp_path / "probe"), str(src)], check=True)
    out = subprocess.run([str(tmp_path / "probe")], check=True, capture_output=True, text=True).stdout.split("\n")
    for (c_name, cls), line in zip(TYPES.items(), out):
        assert (ft.sizeof(cls), ft.alignment(cls)) == tuple(map(int, line.split())), c_name


@needs_cc
def test_records_holding_complex_match_the_compiler(api):
    checked, wrong = layout_checks(f'#include "{HEADER}"', api)
    assert checked >= 13
    assert not wrong, "\n".join(wrong)
    waves = api["struct cx_waves"]
    assert [f[1] for f in waves._fields_ if not f[0].startswith("_")][1:] == list(TYPES.values())


def test_every_spelling_binds_to_the_complex_types(api):
    assert (api.cx_float, api.cx_double, api.cx_long) == tuple(TYPES.values())
    ns = ft.cdef("typedef __complex__ float a; typedef _Complex long double b; typedef double __complex__ c;")
    assert (ns.a, ns.b, ns.c) == (ft.c_float_complex, ft.c_longdouble_complex, ft.c_double_complex)
    assert ft.cdef("typedef __complex__ int ci;").ci is not None  # no class: kept as bytes


@pytest.mark.parametrize("cls, part", [(ft.c_float_complex, "f"), (ft.c_double_complex, "d")])
def test_values_are_the_parts_in_order(cls, part):
    z = cls(1.5 - 2.25j)
    assert z.value == 1.5 - 2.25j and type(z.value) is complex
    assert bytes(z) == struct.pack(f"={part}{part}", 1.5, -2.25)
    assert cls(3).value == 3 and cls(2.5).value == 2.5 and cls().value == 0j
    z.value = 1j
    assert cls.from_buffer_copy(bytes(z)).value == 1j
    assert repr(cls(1 + 2j)) == f"{cls.__name__}((1+2j))"
    with pytest.raises(TypeError):
        cls("1+2j")


def test_long_double_complex_holds_two_x87_numbers():
    z = ft.c_longdouble_complex(0.1 + 3j)
    assert z.value == 0.1 + 3j
    raw = bytes(z)
    assert raw[:16] == bytes(ft.c_longdouble(0.1)) and raw[16:] == bytes(ft.c_longdouble(3.0))


@pytest.mark.skipif(not hasattr(std, "c_double_complex"), reason="stdlib ctypes has complex types from 3.14")
def test_same_bytes_and_values_as_stdlib_ctypes():
    for name in ("c_float_complex", "c_double_complex", "c_longdouble_complex"):
        ours, theirs = getattr(ft, name), getattr(std, name)
        for value in (0j, 1.5 - 2j, complex(float("inf"), -0.0), 7):
            assert bytes(ours(value)) == bytes(theirs(value))
            assert ours(value).value == theirs(value).value
        assert (ft.sizeof(ours), ft.alignment(ours)) == (std.sizeof(theirs), std.alignment(theirs))


def test_libm_takes_and_gives_complex(libm):
    for name, cls, restype in [("cabs", ft.c_double_complex, ft.c_double), ("cabsf", ft.c_float_complex, ft.c_float),
                               ("cabsl", ft.c_longdouble_complex, ft.c_longdouble)]:
        f = libm[name]
        f.argtypes, f.restype = [cls], restype
        assert f(3 + 4j) == 5.0
        assert f(cls(-5 + 12j)) == 13.0
    for name, cls in [("conj", ft.c_double_complex), ("conjf", ft.c_float_complex), ("conjl", ft.c_longdouble_complex)]:
        f = libm[name]
        f.argtypes, f.restype = [cls], cls
        assert f(1.5 + 2j) == 1.5 - 2j
    cexp = libm.cexp
    cexp.argtypes, cexp.restype = [ft.c_double_complex], ft.c_double_complex
    assert cmath.isclose(cexp(1j * cmath.pi), -1, abs_tol=1e-15)
    assert cexp(0.5 + 0.25j) == cmath.exp(0.5 + 0.25j)


@needs_cc
def test_repository_functions(api):
    assert api.cx_mul(1 + 2j, 3 - 1j) == (1 + 2j) * (3 - 1j)
    assert api.cx_scale_f(1.5 + 0.5j, 2) == 3 + 1j
    assert api.cx_scale_l(0.5 + 0.25j, 4) == 2 + 1j
    assert (api.cx_parts_l(7 - 8j, 0), api.cx_parts_l(7 - 8j, 1)) == (7, -8)
    assert api.cx_parts_l(ft.c_longdouble_complex(1 + 9j), 1) == 9


@needs_cc
def test_records_with_complex_members(api):
    waves = api["struct cx_waves"]()
    api.cx_waves_fill(ft.byref(waves), 1.0, -2.0)
    assert (waves.tag, waves.f, waves.d, waves.l) == (b"w", 1 - 2j, 2 - 4j, 3 - 6j)
    waves.f, waves.d, waves.l = 0.5j, 1.5, -1 + 1j
    assert api.cx_waves_sum(ft.byref(waves)) == -1 + 1j + 1.5 + 0.5j
    u = api["union cx_either"](d=2 + 3j)
    assert u.d == 2 + 3j and ft.sizeof(u) == 16


@needs_cc
def test_records_holding_complex_by_value(api):
    pair = api.cx_pair_swap(api["struct cx_pair"](1 + 2j, 3 - 4j))
    assert (pair.a, pair.b) == (3 - 4j, 1 + 2j)
    small = api.cx_small_twice(api["struct cx_small"](0.25 - 1j))
    assert small.z == 0.5 - 2j


@needs_cc
def test_arrays_of_complex(api):
    zs = (ft.c_double_complex * 3)(1, 2j, 3 - 3j)
    assert list(zs) == [1, 2j, 3 - 3j]
    assert api.cx_sum(zs, 3) == 4 - 1j
    zs[1] = -1j
    assert api.cx_sum(zs, 3) == 4 - 4j


@needs_cc
def test_callbacks_take_and_return_complex(api):
    assert api.cx_apply(lambda z: z * 1j, 2 + 1j) == (2 + 1j) * 1j + 1
    assert api.cx_apply_f(lambda z, n: z * n, 0.5 + 1j, 3) == 3 + 6j
    seen = []
    assert api.cx_apply_l(lambda z: seen.append(z) or 2.5, 4 - 2j) == 2.5
    assert seen == [4 - 2j] and type(seen[0]) is complex


def test_long_double_complex_results_of_callbacks_are_refused():
    with pytest.raises(TypeError, match="invalid result type"):
        ft.CFUNCTYPE(ft.c_longdouble_complex)(lambda: 0j)


@needs_cc
def test_variadic_arguments(api):
    f = api.cx_variadic_real
    assert f(2, ft.c_double_complex(1.5 + 9j), ft.c_double_complex(2 - 9j)) == 3.5


@pytest.mark.parametrize("cls, fmt", [(ft.c_float_complex, "<Zf"), (ft.c_double_complex, "<Zd"), (ft.c_longdouble_complex, "<Zg")])
def test_buffer_formats_are_numpys(cls, fmt):
    assert memoryview(cls(1j)).format == fmt
    view = memoryview((cls * 2)(1, 2j))
    assert (view.format, view.shape, view.itemsize) == (fmt, (2,), ft.sizeof(cls))


def test_numpy_reads_and_takes_complex_buffers():
    np = pytest.importorskip("numpy")
    for cls, dtype in [(ft.c_float_complex, np.complex64), (ft.c_double_complex, np.complex128)]:
        arr = (cls * 3)(1, 2j, 3 - 1j)
        got = np.frombuffer(arr, dtype=dtype)
        assert got.tolist() == [1, 2j, 3 - 1j]
        assert np.asarray(memoryview(arr)).dtype == dtype
        back = (cls * 3).from_buffer(np.array([4j, 5, 6], dtype=dtype))
        assert list(back) == [4j, 5, 6]
    # numpy reads 'g' and 'Zg' in native mode only, and ctypes writes '<g' (c_longdouble too)
    assert np.frombuffer((ft.c_longdouble_complex * 1)(2j), dtype=np.clongdouble).tolist() == [2j]


@needs_cc
def test_include_complex_h_calls_libm():
    m = ft.include("complex.h", lib="m")
    assert m.csqrt(-4) == 2j
    assert m.cabsf(3 + 4j) == 5
    assert cmath.isclose(m.cpowl(1j, 2), -1, abs_tol=1e-15)
    assert m.creal.restype is ft.c_double
    assert m.cproj.argtypes == [ft.c_double_complex]


def test_instances_pass_without_argtypes(libm):
    cabsl, cabs = libm.cabsl, libm.cabs
    cabsl.restype, cabs.restype = ft.c_longdouble, ft.c_double
    assert cabsl(ft.c_longdouble_complex(3 + 4j)) == 5.0  # from the instance's memory
    assert cabs(ft.c_double_complex(-6 + 8j)) == 10.0
    with pytest.raises(ft.ArgumentError, match="Don't know how to convert"):
        cabs(3 + 4j)  # as ctypes: a Python complex has no C type of its own
