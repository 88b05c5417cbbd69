#!/usr/bin/env python3
"""Call-overhead benchmark: ferrotypes against ctypes, cffi and a hand-written C extension.

Every implementation calls the same functions of the test library
(tests/clib/fttest.c).  The hand-written C extension (bench/ext) is the limit:
ctypes.CDLL, cffi and ferrotypes.CDLL release the GIL around the call and are
compared with the extension's GIL-releasing wrappers; ferrotypes.PyDLL holds
the GIL and is compared with the GIL-holding ones.

    python bench/run.py                  # full run (20-30 s)
    python bench/run.py --quick          # ~1 s once built: proves the machinery, no timing claims
    python bench/run.py --json out.json  # also write every number
    python bench/run.py --only sum_ndpointer sum_pointer   # some scenarios only

Scenarios are data (SCENARIOS below): a C prototype, the arguments, the
expected result and the name of the C-extension wrapper.  A scenario that
needs more than that (structs, arrays, callbacks) supplies per-family hooks
in Scenario.custom instead of new timing code.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import json
import platform
import random
import re
import statistics
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Mapping

BENCH = Path(__file__).resolve().parent
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

import build_ext  # noqa: E402  (bench/build_ext.py)


# --------------------------------------------------------------------------
# Scenarios
# --------------------------------------------------------------------------

class NotApplicable(Exception):
    """A scenario has no form for this implementation (the cell shows n/a)."""


@dataclass(frozen=True)
class Address:
    """An argument meaning "this pointer": ctypes-like APIs and the C extension
    get the int address, cffi gets a `void *` cdata made once, outside the loop."""
    value: int


# One real address passed as the pointer argument (the callee never dereferences it).
_POINTEE = bytearray(16)


def _pointee_address() -> int:
    import ctypes
    return ctypes.addressof((ctypes.c_char * len(_POINTEE)).from_buffer(_POINTEE))


Binder = Callable[[Any, "Scenario"], "tuple[Callable[..., Any], tuple]"]


@dataclass(frozen=True)
class Scenario:
    key: str                      # identifier (JSON, error messages)
    label: str                    # row label in the table
    cdecl: str                    # C prototype, types only: "int ft_add_int(int, int)"
    args: tuple = ()              # arguments, the same for every implementation
    expect: Any = None            # what every implementation must return
    ext: str | None = None        # C-extension wrapper base name: calls <ext>_nogil / <ext>_gil
    curve_x: int | None = None    # x value when the scenario is a point of the addN curve
    cffi_cdef: str = ""           # extra declarations (e.g. structs) for cffi's cdef
    max_n: int | None = None      # most loop iterations per timed loop (for long calls)
    # Per-family replacement of the default binding: family -> hook(env, scenario)
    # returning (callable, args).  Families: "ctypes" (stdlib ctypes and
    # ferrotypes alike: env.mod is the module, env.lib the loaded library),
    # "cffi" (env.ffi, env.lib) and "ext" (env.module, env.variant).
    custom: Mapping[str, Binder] = field(default_factory=dict)


def _addn(n: int) -> Scenario:
    return Scenario(
        key=f"curve_add{n}",
        label=f"add{n}(" + (f"1..{n}" if n > 1 else ", ".join(map(str, range(1, n + 1)))) + ")",
        cdecl=f"int ft_add{n}({', '.join(['int'] * n) or 'void'})",
        args=tuple(range(1, n + 1)),
        expect=n * (n + 1) // 2,
        ext=f"add{n}",
        curve_x=n,
    )


# --- Callbacks: C calling Python.  The same Python functions run in every column;
# only the trampoline between C and them differs.

CB_CALLS = 1000        # callbacks per foreign call in the "callback" row
QSORT_N = 10_000       # ints sorted per foreign call in the "qsort" row
QSORT_N_QUICK = 300    # ... in --quick mode, which must stay fast on a debug build


def cb(x):
    return x + 1


def cmp_ints(a, b):
    return a[0] - b[0]


_QSORT_ALL = random.Random(1234).sample(range(-10**6, 10**6), QSORT_N)
_QSORT_DATA = _QSORT_ALL  # shortened by --quick


def _set_qsort_size(n: int) -> None:
    global QSORT_N, _QSORT_DATA
    QSORT_N, _QSORT_DATA = n, _QSORT_ALL[:n]


def qsort_comparisons() -> int:
    """How many comparisons libc's qsort makes for the benchmark's data (counted once
    with stdlib ctypes), to turn ns per sort into ns per comparison."""
    import ctypes
    count = [0]

    def counting(a, b):
        count[0] += 1
        return a[0] - b[0]

    lib = ctypes.CDLL(str(_testlib_path()))
    proto = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_int), ctypes.POINTER(ctypes.c_int))
    fn = lib.ftcb_qsort_ints
    fn.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t, proto]
    src = (ctypes.c_int * QSORT_N)(*_QSORT_DATA)
    work = (ctypes.c_int * QSORT_N)()
    fn(src, work, QSORT_N, proto(counting))
    return count[0]


THREADS = 8                 # C threads in the thread run (after the table)
THREAD_CALLS = 100_000      # callbacks per thread (--thread-calls; --quick uses 1,000)


def run_threads(threads: int, calls: int) -> dict:
    """The thread run: `ftcb_threads` starts `threads` pthreads that each call a
    Python callback `calls` times, for ferrotypes (CDLL) and for ctypes. Each
    implementation runs once; the wall time is reported, and every callback must be
    counted (one counter per thread, so no update can be lost)."""
    out = {"threads": threads, "calls_per_thread": calls, "runs": {}}
    import ctypes
    modules = [("ctypes", ctypes)]
    try:
        import ferrotypes
        modules.insert(0, ("ft-CDLL", ferrotypes))
    except Exception:  # reported with the table's columns already
        pass
    for label, mod in modules:
        lib = mod.CDLL(str(_testlib_path()))
        proto = mod.CFUNCTYPE(None, mod.c_int)
        fn = lib["ftcb_threads"]
        fn.argtypes = [proto, mod.c_int, mod.c_int]
        counts = [0] * threads

        def count(index, counts=counts):
            counts[index] += 1

        callback = proto(count)
        start = time.perf_counter()
        failed = fn(callback, threads, calls)
        seconds = time.perf_counter() - start
        run = {"seconds": seconds, "ns_per_callback": seconds * 1e9 / (threads * calls)}
        if failed or counts != [calls] * threads:
            run["error"] = f"{failed} threads failed to start; counts {counts}"
        out["runs"][label] = run
    return out


def print_threads(result: dict) -> None:
    total = result["threads"] * result["calls_per_thread"]
    print()
    print(f"C threads calling back: {result['threads']} pthreads x {result['calls_per_thread']:,} "
          f"callbacks each ({total:,}), one run each, wall time, every call counted:")
    for label, run in result["runs"].items():
        status = "ERROR: " + run["error"] if "error" in run else "all counted"
        print(f"  {label:<8} {run['seconds']:8.2f} s  {run['ns_per_callback']:9.0f} ns per callback  {status}")
    print("  (ctypes makes and deletes a thread state per callback from a thread Python has no")
    print("   state for; ferrotypes keeps one per C thread until it exits; the threads also take")
    print("   turns for the GIL)")


def _testlib_path() -> Path:
    return build_ext.clib().build()


def bind_cb_ctypes(env, sc):
    mod = env.mod
    proto = mod.CFUNCTYPE(mod.c_int, mod.c_int)
    fn = env.lib["ftcb_call_n"]
    fn.argtypes = [proto, mod.c_int]
    fn.restype = mod.c_long
    return fn, (proto(cb), CB_CALLS)


def bind_cb_cffi(env, sc):
    return env.lib.ftcb_call_n, (env.ffi.callback("int(int)", cb), CB_CALLS)


def bind_cb_ext(env, sc):
    return getattr(env.module, f"cb_call_n_{env.variant}"), (cb, CB_CALLS)


def bind_qsort_ctypes(env, sc):
    mod = env.mod
    proto = mod.CFUNCTYPE(mod.c_int, mod.POINTER(mod.c_int), mod.POINTER(mod.c_int))
    fn = env.lib["ftcb_qsort_ints"]
    fn.argtypes = [mod.c_void_p, mod.c_void_p, mod.c_size_t, proto]
    fn.restype = mod.c_int
    src = (mod.c_int * QSORT_N)(*_QSORT_DATA)
    work = (mod.c_int * QSORT_N)()
    return fn, (src, work, QSORT_N, proto(cmp_ints))


def bind_qsort_cffi(env, sc):
    src = env.ffi.new("int[]", _QSORT_DATA)
    work = env.ffi.new("int[]", QSORT_N)
    cmp = env.ffi.callback("int(const int *, const int *)", cmp_ints)
    return env.lib.ftcb_qsort_ints, (src, work, QSORT_N, cmp)


_EXT_BUFFERS: list = []


def bind_qsort_ext(env, sc):
    import ctypes
    src = (ctypes.c_int * QSORT_N)(*_QSORT_DATA)
    work = (ctypes.c_int * QSORT_N)()
    _EXT_BUFFERS.extend((src, work))  # the extension gets addresses: keep the memory
    return (getattr(env.module, f"qsort_ints_{env.variant}"),
            (ctypes.addressof(src), ctypes.addressof(work), QSORT_N, cmp_ints))


CALLBACK_SCENARIOS: list[Scenario] = [
    Scenario("callback", f"C calls cb(x) {CB_CALLS}x", "long ftcb_call_n(int (*)(int), int)",
             expect=sum(i + 1 for i in range(CB_CALLS)), ext="cb_call_n", max_n=64,
             custom={"ctypes": bind_cb_ctypes, "cffi": bind_cb_cffi, "ext": bind_cb_ext}),
    Scenario("qsort", f"qsort {QSORT_N} ints, Python cmp",
             "int ftcb_qsort_ints(const int *, int *, size_t, int (*)(const int *, const int *))",
             expect=min(_QSORT_DATA), ext="qsort_ints", max_n=4,
             custom={"ctypes": bind_qsort_ctypes, "cffi": bind_qsort_cffi, "ext": bind_qsort_ext}),
]


# --- Arrays: a numpy float64[1000] summed in C (tests/clib/arrays.c), the array passed
# without copying.  ctypes and ferrotypes get an ndpointer argtype (numpy.ctypeslib's /
# ferrotypes.numpy's), or a plain POINTER(c_double) argtype: ferrotypes takes the array
# itself there, stdlib ctypes needs arr.ctypes.data_as(POINTER(c_double)) per call.
# cffi passes ffi.from_buffer("double[]", arr) per call; the C extension takes the
# buffer with PyObject_GetBuffer.

SUM_N = 1000


def _sum_array():
    try:
        import numpy
    except ImportError as exc:
        raise NotApplicable(f"needs numpy ({exc})") from None
    return numpy.arange(float(SUM_N))


def bind_sum_ndpointer(env, sc):
    array = _sum_array()
    if env.mod.__name__ == "ferrotypes":
        from ferrotypes.numpy import ndpointer
    else:
        from numpy.ctypeslib import ndpointer
    fn = env.lib["ftnp_sum_doubles"]
    fn.argtypes = [ndpointer(dtype="float64", ndim=1, flags="C_CONTIGUOUS"), env.mod.c_size_t]
    fn.restype = env.mod.c_double
    return fn, (array, SUM_N)


def bind_sum_pointer(env, sc):
    array = _sum_array()
    mod = env.mod
    fn = env.lib["ftnp_sum_doubles"]
    fn.argtypes = [mod.POINTER(mod.c_double), mod.c_size_t]
    fn.restype = mod.c_double
    if mod.__name__ == "ferrotypes":
        return fn, (array, SUM_N)
    pointer = mod.POINTER(mod.c_double)
    return (lambda a, n: fn(a.ctypes.data_as(pointer), n)), (array, SUM_N)


def bind_sum_cffi(env, sc):
    array = _sum_array()
    ffi, f = env.ffi, env.lib.ftnp_sum_doubles
    return (lambda a, n: f(ffi.from_buffer("double[]", a), n)), (array, SUM_N)


def bind_sum_ext(env, sc):
    return getattr(env.module, f"sum_doubles_buffer_{env.variant}"), (_sum_array(), SUM_N)


ARRAY_SCENARIOS: list[Scenario] = [
    Scenario("sum_ndpointer", f"sum float64[{SUM_N}], ndpointer", "double ftnp_sum_doubles(const double *, size_t)",
             expect=float(sum(range(SUM_N))), ext="sum_doubles_buffer",
             custom={"ctypes": bind_sum_ndpointer, "cffi": bind_sum_cffi, "ext": bind_sum_ext}),
    Scenario("sum_pointer", f"sum float64[{SUM_N}], POINTER(c_double)",
             "double ftnp_sum_doubles(const double *, size_t)",
             expect=float(sum(range(SUM_N))), ext="sum_doubles_buffer",
             custom={"ctypes": bind_sum_pointer, "cffi": bind_sum_cffi, "ext": bind_sum_ext}),
]


# --- Pointer arguments: what C code takes as `int *` or `char *`, passed for a pointer
# parameter (argtypes set).  The byref row is the reference: passing an array (or a
# create_string_buffer) should cost no more than passing a byref.  The argument objects
# are made once, outside the timed loop.  ft_scale_inout(x, 1) multiplies *x by 1.

STRBUF_N = 64


def _no_ext(env, sc):
    raise NotApplicable("no C-extension wrapper")


def bind_ptr_ctypes(make_arg: Callable[[Any], Any], pointer_param: Callable[[Any], Any], name: str) -> Binder:
    def bind(env, sc):
        mod = env.mod
        fn = env.lib[name]
        fn.argtypes = [pointer_param(mod)] + ([mod.c_int] if name == "ft_scale_inout" else [])
        fn.restype = mod.c_int if name == "ft_scale_inout" else mod.c_size_t
        arg = make_arg(mod)
        return fn, ((arg, 1) if name == "ft_scale_inout" else (arg,))
    return bind


def bind_ptr_cffi(ctype: str, name: str) -> Binder:
    def bind(env, sc):
        init = {"int *": 1, "int[16]": [1]}.get(ctype)
        arg = env.ffi.new(ctype, init)
        return getattr(env.lib, name), ((arg, 1) if name == "ft_scale_inout" else (arg,))
    return bind


def _pointer_scenario(key: str, label: str, name: str, make_arg, pointer_param, cffi_type: str) -> Scenario:
    cdecl = "int ft_scale_inout(int *, int)" if name == "ft_scale_inout" else "size_t ft_strlen(const char *)"
    expect = 1 if name == "ft_scale_inout" else 0
    return Scenario(key, label, cdecl, expect=expect,
                    custom={"ctypes": bind_ptr_ctypes(make_arg, pointer_param, name),
                            "cffi": bind_ptr_cffi(cffi_type, name), "ext": _no_ext})


POINTER_SCENARIOS: list[Scenario] = [
    _pointer_scenario("ptr_byref", "byref(c_int(1)) -> POINTER(c_int)", "ft_scale_inout",
                      lambda m: m.byref(m.c_int(1)), lambda m: m.POINTER(m.c_int), "int *"),
    _pointer_scenario("ptr_array", "(c_int * 16)() -> POINTER(c_int)", "ft_scale_inout",
                      lambda m: (m.c_int * 16)(1), lambda m: m.POINTER(m.c_int), "int[16]"),
    _pointer_scenario("ptr_strbuf_pchar", f"create_string_buffer({STRBUF_N}) -> POINTER(c_char)", "ft_strlen",
                      lambda m: m.create_string_buffer(STRBUF_N), lambda m: m.POINTER(m.c_char), f"char[{STRBUF_N}]"),
    _pointer_scenario("ptr_strbuf_charp", f"create_string_buffer({STRBUF_N}) -> c_char_p", "ft_strlen",
                      lambda m: m.create_string_buffer(STRBUF_N), lambda m: m.c_char_p, f"char[{STRBUF_N}]"),
    _pointer_scenario("ptr_strbuf_voidp", f"create_string_buffer({STRBUF_N}) -> c_void_p", "ft_strlen",
                      lambda m: m.create_string_buffer(STRBUF_N), lambda m: m.c_void_p, f"char[{STRBUF_N}]"),
]


# --- Calls without argtypes, as most real ctypes code makes them, each beside the same
# call with argtypes set (the same argument objects, made once).  labs and memset are
# libc's, found through the test library's dependencies.

def bind_untyped(name: str, make_args: Callable[[Any], tuple], restype: Callable[[Any], Any],
                 argtypes: Callable[[Any], list] | None) -> Binder:
    def bind(env, sc):
        mod = env.mod
        fn = env.lib[name]                  # a fresh function object
        fn.restype = restype(mod)
        if argtypes is not None:
            fn.argtypes = argtypes(mod)
        return fn, make_args(mod)
    return bind


_MEMSET_BUFFERS: list = []


def _memset_cffi_na(env, sc):
    raise NotApplicable("cffi's memset returns the pointer, the rows here a void result")


def bind_mixed5_cffi(env, sc):
    return env.lib.ft_mixed5, (1, 2.5, 3, 4.5, env.ffi.NULL)


def _mixed5_args(m):
    return (1, m.c_double(2.5), 3, m.c_float(4.5), None)


def _memset_args(m):
    buf = m.create_string_buffer(64)
    _MEMSET_BUFFERS.append(buf)
    return (buf, 0, 64)


def _untyped_pair(key: str, label: str, cdecl: str, name: str, make_args, restype, argtypes,
                  expect, cffi: Binder | None = None) -> list[Scenario]:
    custom_cffi = {"cffi": cffi} if cffi else {}
    return [
        Scenario(f"{key}_untyped", f"{label}, no argtypes", cdecl, expect=expect,
                 custom={"ctypes": bind_untyped(name, make_args, restype, None), "ext": _no_ext, **custom_cffi}),
        Scenario(f"{key}_typed", f"{label}, argtypes set", cdecl, expect=expect,
                 custom={"ctypes": bind_untyped(name, make_args, restype, argtypes), "ext": _no_ext, **custom_cffi}),
    ]


UNTYPED_SCENARIOS: list[Scenario] = [
    *_untyped_pair("labs", "labs(-3)", "long labs(long)", "labs", lambda m: (-3,),
                   lambda m: m.c_long, lambda m: [m.c_long], 3,
                   cffi=lambda env, sc: (env.lib.labs, (-3,))),
    *_untyped_pair("memset", "memset(buf, 0, 64)", "void *memset(void *, int, size_t)", "memset", _memset_args,
                   lambda m: None, lambda m: [m.c_void_p, m.c_int, m.c_size_t], None, cffi=_memset_cffi_na),
    *_untyped_pair("mixed5", "mixed5(1, c_double, 3, c_float, None)",
                   "double ft_mixed5(int, double, long, float, void *)", "ft_mixed5", _mixed5_args,
                   lambda m: m.c_double, lambda m: [m.c_int, m.c_double, m.c_long, m.c_float, m.c_void_p], 11.0,
                   cffi=bind_mixed5_cffi),
]

# Rows compared with another row of the same column (the targets of issue 19): row key,
# reference row key, and the most the ratio should be.
ROW_TARGETS: list[tuple[str, str, float]] = [
    ("ptr_array", "ptr_byref", 1.2),
    ("ptr_strbuf_pchar", "ptr_byref", 1.2),
    ("ptr_strbuf_charp", "ptr_byref", 1.2),
    ("ptr_strbuf_voidp", "ptr_byref", 1.2),
    ("labs_untyped", "labs_typed", 1.5),
    ("memset_untyped", "memset_typed", 1.5),
    ("mixed5_untyped", "mixed5_typed", 1.5),
    ("mixed5_untyped", "mixed5", 1.5),
]


def print_row_targets(results: dict, backends) -> None:
    """Per column, the median over repeats of one row's ns/call divided by another's."""
    rows = results["scenarios"]
    lines = []
    for key, ref, most in ROW_TARGETS:
        if key not in rows or ref not in rows:
            continue
        parts = []
        for b in backends:
            a, r = rows[key]["cells"].get(b.key, {}), rows[ref]["cells"].get(b.key, {})
            if "samples_ns" not in a or "samples_ns" not in r:
                continue
            da = [x - y for x, y in zip(a["samples_ns"], rows[key]["baseline_samples_ns"])]
            dr = [x - y for x, y in zip(r["samples_ns"], rows[ref]["baseline_samples_ns"])]
            ratios = _paired_ratios(da, dr)
            if ratios:
                parts.append(f"{b.label} {statistics.median(ratios):.2f}x")
        if parts:
            lines.append(f"  {rows[key]['label']} / {rows[ref]['label']} (target <= {most}x for ft-CDLL): "
                         + ", ".join(parts))
    if lines:
        print()
        print("Rows against rows (median of per-repeat ratios of ns/call):")
        print("\n".join(lines))


# The same ferrotypes cells against the extension's wrappers called through a callable
# object: CPython calls a function pointer, an object, the general way (PyObject_Vectorcall
# and its result check) where it calls a builtin function with an instruction specialised
# for it, so obj-gil and obj-nogil are the floor for any FFI whose functions are objects.
LIKE_WITH_LIKE = [("ft_cdll", "obj_nogil"), ("ft_pydll", "obj_gil")]


def print_like_with_like(results: dict, backends) -> None:
    """Per row, the median over repeats of a ferrotypes cell's ns/call divided by the
    matching object-call cell's."""
    labels = {b.key: b.label for b in backends}
    lines = []
    for row in results["scenarios"].values():
        parts = []
        for ours, floor in LIKE_WITH_LIKE:
            a, f = row["cells"].get(ours, {}), row["cells"].get(floor, {})
            if "samples_ns" not in a or "samples_ns" not in f:
                continue
            base = row["baseline_samples_ns"]
            ratios = _paired_ratios([x - y for x, y in zip(a["samples_ns"], base)],
                                    [x - y for x, y in zip(f["samples_ns"], base)])
            if ratios:
                parts.append(f"{labels[ours]} / {labels[floor]} {statistics.median(ratios):.2f}x")
        if parts:
            lines.append(f"  {row['label']:<24} " + ", ".join(parts))
    if lines:
        print()
        print("Like with like: ferrotypes against the extension's wrappers called through a callable")
        print("object (the call CPython makes for any function pointer; median of per-repeat ratios):")
        print("\n".join(lines))


SCENARIOS: list[Scenario] = [
    Scenario("f0", "f()", "int ft_f0(void)", (), 42, ext="f0"),
    Scenario("add_int", "add_int(3, 4)", "int ft_add_int(int, int)", (3, 4), 7, ext="add_int"),
    Scenario("add6", "add6(1..6)", "int ft_add6(int, int, int, int, int, int)",
             (1, 2, 3, 4, 5, 6), 21, ext="add6"),
    Scenario("add_double", "add_double(1.5, 2.5)", "double ft_add_double(double, double)",
             (1.5, 2.5), 4.0, ext="add_double"),
    Scenario("mixed5", "mixed5(i, d, l, f, p)",
             "double ft_mixed5(int, double, long, float, void *)",
             (1, 2.5, 3, 4.5, Address(0)), 12.0, ext="mixed5"),
    Scenario("strlen", 'strlen(b"hello world")', "size_t ft_strlen(const char *)",
             (b"hello world",), 11, ext="strlen"),
    *[_addn(n) for n in range(9)],
    *CALLBACK_SCENARIOS,
    *ARRAY_SCENARIOS,
    *POINTER_SCENARIOS,
    *UNTYPED_SCENARIOS,
]
# The curve's add6 calls the same C function as the "add6" row but is measured separately.
assert len({sc.key for sc in SCENARIOS}) == len(SCENARIOS), "scenario keys must be unique"


# --------------------------------------------------------------------------
# Implementations ("backends") and how each binds a scenario
# --------------------------------------------------------------------------

@dataclass
class Backend:
    key: str
    label: str            # column header
    family: str           # "ctypes", "cffi" or "ext"
    limit: str | None     # key of the backend its ratio is taken against
    description: str
    env: Any = None


@dataclass
class CtypesEnv:
    mod: Any
    lib: Any
    address: int


@dataclass
class CffiEnv:
    ffi: Any
    lib: Any
    pointer: Any


@dataclass
class ExtEnv:
    module: Any
    variant: str          # "nogil" or "gil"
    address: int
    as_object: bool = False  # called through a callable object (ftbench_ext.as_object)


_CTYPES_NAMES = {
    "void": None,
    "int": "c_int",
    "long": "c_long",
    "float": "c_float",
    "double": "c_double",
    "size_t": "c_size_t",
    "void *": "c_void_p",
    "char *": "c_char_p",
    "const char *": "c_char_p",
}


def parse_cdecl(cdecl: str) -> tuple[str, str, list[str]]:
    """"double f(int, void *)" -> ("double", "f", ["int", "void *"])."""
    m = re.fullmatch(r"\s*(.+?)\s*\b([A-Za-z_]\w*)\s*\((.*)\)\s*;?\s*", cdecl)
    if not m:
        raise ValueError(f"cannot parse C prototype {cdecl!r}")

    def norm(t: str) -> str:
        return re.sub(r"\s*\*", " *", " ".join(t.split())).strip()

    params = [norm(p) for p in m.group(3).split(",") if p.strip()]
    if params == ["void"]:
        params = []
    return norm(m.group(1)), m.group(2), params


def _ctypes_type(mod: Any, cname: str) -> Any:
    if cname not in _CTYPES_NAMES:
        raise ValueError(f"no ctypes type mapped for C type {cname!r}; extend _CTYPES_NAMES")
    attr = _CTYPES_NAMES[cname]
    return None if attr is None else getattr(mod, attr)


def _adapt(env: Any, arg: Any) -> Any:
    if isinstance(arg, Address):
        return env.pointer if isinstance(env, CffiEnv) else env.address
    return arg


def bind_ctypes(env: CtypesEnv, sc: Scenario):
    restype, name, params = parse_cdecl(sc.cdecl)
    fn = env.lib[name]                      # a fresh function object, not the cached attribute
    fn.restype = _ctypes_type(env.mod, restype)
    fn.argtypes = [_ctypes_type(env.mod, p) for p in params]
    return fn, tuple(_adapt(env, a) for a in sc.args)


def bind_cffi(env: CffiEnv, sc: Scenario):
    _, name, _ = parse_cdecl(sc.cdecl)
    return getattr(env.lib, name), tuple(_adapt(env, a) for a in sc.args)


def bind_ext(env: ExtEnv, sc: Scenario):
    if sc.ext is None:
        raise NotApplicable("no C-extension wrapper")
    wrapper = getattr(env.module, f"{sc.ext}_{env.variant}")
    if env.as_object:
        wrapper = env.module.as_object(wrapper)
    return wrapper, tuple(_adapt(env, a) for a in sc.args)


BINDERS: dict[str, Binder] = {"ctypes": bind_ctypes, "cffi": bind_cffi, "ext": bind_ext}


def bind(backend: Backend, sc: Scenario):
    if isinstance(backend.env, ExtEnv) and backend.env.as_object and backend.family in sc.custom:
        raise NotApplicable("the object columns wrap the plain call wrappers only")
    hook = sc.custom.get(backend.family, BINDERS[backend.family])
    return hook(backend.env, sc)


def make_backends(libpath: Path, scenarios: list[Scenario]) -> tuple[list[Backend], list[str]]:
    """All columns that can be measured here, plus notes on the ones skipped."""
    address = _pointee_address()
    notes: list[str] = []
    ext = build_ext.load(build_ext.build(libpath))

    backends = [
        Backend("ext_nogil", "ext-nogil", "ext", None,
                "hand-written C extension, releases the GIL around the call",
                ExtEnv(ext, "nogil", address)),
        Backend("ext_gil", "ext-gil", "ext", None,
                "hand-written C extension, holds the GIL",
                ExtEnv(ext, "gil", address)),
        Backend("obj_nogil", "obj-nogil", "ext", "ext_nogil",
                "the ext-nogil wrapper called through a callable object",
                ExtEnv(ext, "nogil", address, as_object=True)),
        Backend("obj_gil", "obj-gil", "ext", "ext_gil",
                "the ext-gil wrapper called through a callable object",
                ExtEnv(ext, "gil", address, as_object=True)),
    ]

    import ctypes
    backends.append(Backend("ctypes", "ctypes", "ctypes", "ext_nogil",
                            "stdlib ctypes.CDLL, argtypes/restype set",
                            CtypesEnv(ctypes, ctypes.CDLL(str(libpath)), address)))

    try:
        import cffi
    except ImportError as exc:
        notes.append(f"cffi column skipped: cannot import cffi ({exc}); `pip install cffi` to include it")
    else:
        try:
            ffi = cffi.FFI()
            decls = dict.fromkeys(sc.cdecl.strip().rstrip(";") + ";" for sc in scenarios)
            extra = "".join(sc.cffi_cdef for sc in scenarios if sc.cffi_cdef)
            ffi.cdef(extra + "\n" + "\n".join(decls))
            lib = ffi.dlopen(str(libpath))
            backends.append(Backend("cffi", "cffi", "cffi", "ext_nogil",
                                    f"cffi {cffi.__version__} ABI mode (ffi.dlopen + cdef)",
                                    CffiEnv(ffi, lib, ffi.cast("void *", address))))
        except Exception as exc:
            notes.append(f"cffi column skipped: {type(exc).__name__}: {exc}")

    try:
        import ferrotypes
    except Exception as exc:  # not installed yet, or broken mid-development
        notes.append(f"ferrotypes columns skipped: `import ferrotypes` failed "
                     f"({type(exc).__name__}: {exc})")
    else:
        for key, label, loader, limit, desc in [
            ("ft_cdll", "ft-CDLL", "CDLL", "ext_nogil", "ferrotypes.CDLL, argtypes/restype set"),
            ("ft_pydll", "ft-PyDLL", "PyDLL", "ext_gil", "ferrotypes.PyDLL, argtypes/restype set"),
        ]:
            try:
                lib = getattr(ferrotypes, loader)(str(libpath))
            except Exception as exc:
                notes.append(f"{label} column skipped: ferrotypes.{loader}() failed "
                             f"({type(exc).__name__}: {exc})")
                continue
            backends.append(Backend(key, label, "ctypes", limit, desc,
                                    CtypesEnv(ferrotypes, lib, address)))
    return backends, notes


# --------------------------------------------------------------------------
# Timing
# --------------------------------------------------------------------------

CLOCKS = {
    # CPU time of this thread: excludes time spent descheduled, which on a
    # machine shared with compilers would otherwise land in random samples.
    "cpu": time.thread_time_ns,
    "wall": time.perf_counter_ns,
}
# Thread CPU time is only usable where it is fine-grained (not on Windows, ~16 ms).
DEFAULT_CLOCK = "cpu" if time.get_clock_info("thread_time").resolution <= 1e-6 else "wall"


def make_loop(nargs: int | None, clock: Callable[[], int]) -> Callable[..., int]:
    """A fresh timing loop; nargs=None gives the empty-loop baseline.

    Each cell gets its own code object so the adaptive interpreter specialises
    its call site for that one callable only.  Arguments are locals."""
    if nargs is None:
        head, body = "def loop(_n):", "pass"
    else:
        params = "".join(f", a{i}" for i in range(nargs))
        head = f"def loop(_n, _f{params}):"
        body = f"_f({', '.join(f'a{i}' for i in range(nargs))})"
    src = (f"{head}\n"
           f"    _it = _repeat(None, _n)\n"
           f"    _t0 = _clock()\n"
           f"    for _ in _it:\n"
           f"        {body}\n"
           f"    return _clock() - _t0\n")
    namespace = {"_repeat": itertools.repeat, "_clock": clock}
    exec(compile(src, f"<bench loop {nargs}>", "exec"), namespace)
    return namespace["loop"]


@dataclass
class Cell:
    backend: str
    fn: Callable[..., Any] | None = None
    args: tuple = ()
    loop: Callable[..., int] | None = None
    n: int = 0
    samples: list[float] = field(default_factory=list)   # ns per iteration, one per repeat
    error: str | None = None
    na: str | None = None

    def run(self) -> float:
        if self.fn is None:  # the baseline
            return self.loop(self.n) / self.n
        return self.loop(self.n, self.fn, *self.args) / self.n


def calibrate(cell: Cell, target_ns: float, cap: int | None = None) -> int:
    cap = cap or 1 << 26
    n = min(16, cap)
    while True:
        cell.n = n
        t = cell.run() * n
        if t >= target_ns / 8 or n >= cap:
            return max(min(16, cap), min(cap, int(n * target_ns / max(t, 1.0))))
        n *= 4


def same_result(got: Any, want: Any) -> bool:
    if isinstance(want, float):
        return isinstance(got, float) and abs(got - want) <= 1e-9 * max(1.0, abs(want))
    return got == want and type(got) is type(want)


def prepare_scenario(sc: Scenario, backends: list[Backend],
                     clock: Callable[[], int]) -> tuple[dict[str, Cell], Cell]:
    """Bind the scenario for every backend, check one call's result, make the loops."""
    cells: dict[str, Cell] = {}
    for b in backends:
        cell = Cell(b.key)
        cells[b.key] = cell
        try:
            cell.fn, cell.args = bind(b, sc)
        except NotApplicable as exc:
            cell.na = str(exc)
            continue
        except Exception as exc:
            cell.error = f"binding failed: {type(exc).__name__}: {exc}"
            continue
        try:
            got = cell.fn(*cell.args)
        except Exception as exc:
            cell.error = f"call raised {type(exc).__name__}: {exc}"
            continue
        if not same_result(got, sc.expect):
            cell.error = f"returned {got!r}, expected {sc.expect!r}"
            continue
        cell.loop = make_loop(len(cell.args), clock)
    return cells, Cell("baseline", loop=make_loop(None, clock))


def measure(prepared: dict[str, tuple[dict[str, Cell], Cell]], *, repeats: int,
            target_ns: float, quick_n: int | None, rng: random.Random,
            caps: Mapping[str, int | None] | None = None) -> None:
    """Fill every live cell's samples.

    Each repeat visits every scenario (in a shuffled order) and, within a
    scenario, every implementation and the empty-loop baseline back to back
    (shuffled too).  Slow changes in machine load therefore hit all cells of
    a repeat alike, and per-repeat differences and ratios cancel them."""
    live = {key: [c for c in cells.values() if c.loop is not None] + [baseline]
            for key, (cells, baseline) in prepared.items()}
    for key, group in live.items():
        cap = (caps or {}).get(key)
        for c in group:
            if quick_n:
                c.n = min(quick_n, cap or quick_n)
            else:
                c.n = calibrate(c, target_ns, cap)
    keys = list(live)
    for _ in range(repeats):
        rng.shuffle(keys)
        for key in keys:
            order = live[key][:]
            rng.shuffle(order)
            for c in order:
                c.samples.append(c.run())


# --------------------------------------------------------------------------
# Analysis and report
# --------------------------------------------------------------------------

def slope(points: list[tuple[float, float]]) -> float | None:
    if len(points) < 2:
        return None
    mx = statistics.fmean(x for x, _ in points)
    my = statistics.fmean(y for _, y in points)
    sxx = sum((x - mx) ** 2 for x, _ in points)
    return sum((x - mx) * (y - my) for x, y in points) / sxx if sxx else None


def fmt_ns(v: float | None) -> str:
    if v is None:
        return "-"
    return f"{v:.2f}" if abs(v) < 10 else f"{v:.1f}" if abs(v) < 1000 else f"{v:.0f}"


def fmt_ratio(r: float | None) -> str:
    if r is None:
        return ""
    return f"({r:.2f}x)" if r < 10 else f"({r:.1f}x)"


def _paired_ratios(a: list[float], b: list[float]) -> list[float]:
    return [x / y for x, y in zip(a, b) if y > 0]


def analyse(scenarios, backends, prepared) -> dict:
    """Medians of per-repeat figures.

    ns/call of a cell in repeat r = its loop's ns/iteration minus the baseline
    loop's in the same scenario and repeat.  A ratio is the median over repeats
    of the per-repeat ratio to the limit cell; a slope is the median over
    repeats of the per-repeat least-squares slope over the addN curve."""
    out: dict[str, Any] = {"scenarios": {}, "slopes": {}}
    diffs: dict[tuple[str, str], list[float]] = {}
    for sc in scenarios:
        cells, baseline = prepared[sc.key]
        row: dict[str, Any] = {"label": sc.label, "cdecl": sc.cdecl,
                               "baseline_ns": statistics.median(baseline.samples), "cells": {}}
        for b in backends:
            c = cells[b.key]
            if c.error or c.na:
                row["cells"][b.key] = {"error": c.error} if c.error else {"na": c.na}
                continue
            d = [x - base for x, base in zip(c.samples, baseline.samples)]
            diffs[sc.key, b.key] = d
            q = statistics.quantiles(d, n=4) if len(d) >= 2 else [d[0]] * 3
            row["cells"][b.key] = {
                "ns": statistics.median(d),
                "min_ns": min(d),
                "iqr_ns": q[2] - q[0],
                "loops": c.n,
                "samples_ns": c.samples,
            }
        for b in backends:
            cell = row["cells"][b.key]
            if "ns" in cell and b.limit and (sc.key, b.limit) in diffs:
                ratios = _paired_ratios(diffs[sc.key, b.key], diffs[sc.key, b.limit])
                if ratios:
                    cell["ratio"] = statistics.median(ratios)
                    cell["ratio_vs"] = b.limit
        row["baseline_samples_ns"] = baseline.samples
        out["scenarios"][sc.key] = row

    curve = [sc for sc in scenarios if sc.curve_x is not None]
    per_repeat: dict[str, list[float]] = {}
    for b in backends:
        series = [(sc.curve_x, diffs[sc.key, b.key]) for sc in curve if (sc.key, b.key) in diffs]
        if len(series) < 2:
            out["slopes"][b.key] = {"ns_per_arg": None, "points": len(series)}
            continue
        repeats = min(len(d) for _, d in series)
        slopes = [slope([(x, d[r]) for x, d in series]) for r in range(repeats)]
        per_repeat[b.key] = slopes
        out["slopes"][b.key] = {
            "ns_per_arg": statistics.median(slopes),
            "of_medians_ns_per_arg": slope([(x, statistics.median(d)) for x, d in series]),
            "points": len(series),
        }
    for b in backends:
        if b.key in per_repeat and b.limit in per_repeat:
            ratios = _paired_ratios(per_repeat[b.key], per_repeat[b.limit])
            if ratios:
                out["slopes"][b.key]["ratio"] = statistics.median(ratios)
                out["slopes"][b.key]["ratio_vs"] = b.limit
    return out


def print_report(scenarios, backends, results, notes, meta) -> None:
    by_key = {b.key: b for b in backends}
    print("ferrotypes call-overhead benchmark")
    print(f"  {meta['python']} on {meta['platform']}")
    print(f"  test library: {meta['testlib']}")
    print(f"  {meta['repeats']} repeats per cell, "
          + ("quick mode: tiny loops, timings NOT meaningful" if meta["quick"]
             else f"~{meta['target_ms']:g} ms per timed loop")
          + f", clock: {meta['clock']}")
    for note in notes:
        print(f"  note: {note}")
    print()
    print("Columns:")
    width = max(len(b.description) for b in backends)
    for b in backends:
        if b.limit:
            role = f"[ratio vs {by_key[b.limit].label}]"
        else:
            users = [o.label for o in backends if o.limit == b.key]
            role = f"[the limit for {', '.join(users)}]" if users else ""
        print(f"  {b.label:<10} {b.description:<{width}}  {role}".rstrip())
    print()
    print("Ratios in parentheses: ctypes, cffi and ft-CDLL (all release the GIL) are divided by")
    print("ext-nogil, the C extension that also releases it; ft-PyDLL (holds the GIL) is divided")
    print("by ext-gil.  1.00x would mean as fast as hand-written C.")
    print("ns/call = median over repeats of (ns per loop iteration - the empty loop's, same repeat);")
    print("a ratio = median over repeats of that repeat's ratio.")

    def table(title: str, rows: list[Scenario]) -> None:
        header = [title] + [b.label for b in backends]
        lines = []
        for sc in rows:
            row = results["scenarios"][sc.key]
            line = [sc.label]
            for b in backends:
                cell = row["cells"][b.key]
                if "error" in cell:
                    line.append("ERROR")
                elif "na" in cell:
                    line.append("n/a")
                else:
                    line.append(f"{fmt_ns(cell['ns'])} {fmt_ratio(cell.get('ratio'))}".strip())
            lines.append(line)
        widths = [max(len(r[i]) for r in [header] + lines) for i in range(len(header))]
        print()
        print("  ".join(h.ljust(widths[0]) if i == 0 else h.rjust(widths[i])
                        for i, h in enumerate(header)))
        print("  ".join("-" * w for w in widths))
        for line in lines:
            print("  ".join(v.ljust(widths[0]) if i == 0 else v.rjust(widths[i])
                            for i, v in enumerate(line)))

    table("scenario (ns/call)", [sc for sc in scenarios if sc.curve_x is None])
    curve = [sc for sc in scenarios if sc.curve_x is not None]
    if curve:
        table("addN curve (ns/call)", curve)
        print()
        print(f"Cost per extra int argument: least-squares slope of ns/call over N = "
              f"{min(sc.curve_x for sc in curve)}..{max(sc.curve_x for sc in curve)}")
        for b in backends:
            s = results["slopes"][b.key]
            if s["ns_per_arg"] is None:
                print(f"  {b.label:<10} -")
                continue
            extra = ""
            if "ratio" in s:
                extra = f"   = {s['ratio']:.2f}x the slope of {by_key[s['ratio_vs']].label}"
            print(f"  {b.label:<10} {s['ns_per_arg']:7.2f} ns/arg{extra}")

    cb_rows = [sc for sc in scenarios if sc.key in ("callback", "qsort")]
    if cb_rows:
        per = {"callback": (CB_CALLS, "callback"), "qsort": (qsort_comparisons(), "comparison")}
        print()
        print("Callbacks, per call from C into Python (ratios as above: the C extension's own")
        print("trampoline calls the same Python function with PyObject_Vectorcall):")
        for sc in cb_rows:
            count, unit = per[sc.key]
            parts = []
            for b in backends:
                cell = results["scenarios"][sc.key]["cells"][b.key]
                if "ns" in cell:
                    parts.append(f"{b.label} {cell['ns'] / count:.1f}{' ' + fmt_ratio(cell.get('ratio')) if cell.get('ratio') else ''}")
            print(f"  ns per {unit} ({count} per call): " + ", ".join(parts))

    spreads = [(c["iqr_ns"] / c["ns"], by_key[bk].label, results["scenarios"][sk]["label"])
               for sk, row in results["scenarios"].items()
               for bk, c in row["cells"].items() if "iqr_ns" in c and c["ns"] > 0]
    if spreads:
        worst = max(spreads)
        print()
        print(f"Noise: largest interquartile range over repeats was {worst[0]:.0%} of the median "
              f"({worst[1]}, {worst[2]}); empty loop ~"
              f"{statistics.median(r['baseline_ns'] for r in results['scenarios'].values()):.1f} ns/iteration.")


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help="tiny loops and 3 repeats: checks the machinery in a few seconds")
    ap.add_argument("--json", metavar="PATH", help="write all numbers to PATH")
    ap.add_argument("--repeats", type=int, default=None, help="repeats per cell (default 30, quick 3)")
    ap.add_argument("--target-ms", type=float, default=5.0,
                    help="duration of one timed loop in ms (default 5)")
    ap.add_argument("--seed", type=int, default=1, help="seed for the per-repeat order shuffle")
    ap.add_argument("--thread-calls", type=int, default=None, metavar="N",
                    help=f"callbacks per C thread in the thread run ({THREADS} threads; default "
                         f"{THREAD_CALLS:,}, quick 1,000; 0 skips it)")
    ap.add_argument("--threads", type=int, default=THREADS, metavar="N",
                    help=f"C threads in the thread run (default {THREADS}; 1 times a foreign thread "
                         "calling back with no other thread waiting for the GIL)")
    ap.add_argument("--clock", choices=sorted(CLOCKS), default=DEFAULT_CLOCK,
                    help="cpu: this thread's CPU time (default where fine-grained; robust "
                         "on a shared machine); wall: perf_counter")
    ap.add_argument("--only", metavar="KEY", nargs="+",
                    help="run only the scenarios with these keys (e.g. sum_ndpointer sum_pointer)")
    opts = ap.parse_args(argv)
    repeats = opts.repeats or (3 if opts.quick else 30)
    if repeats < 1:
        ap.error("--repeats must be at least 1")

    if opts.quick:
        _set_qsort_size(QSORT_N_QUICK)
        SCENARIOS[:] = [replace(sc, label=f"qsort {QSORT_N} ints, Python cmp", expect=min(_QSORT_DATA))
                        if sc.key == "qsort" else sc for sc in SCENARIOS]
    if opts.only:
        unknown = set(opts.only) - {sc.key for sc in SCENARIOS}
        if unknown:
            ap.error(f"unknown scenario keys: {', '.join(sorted(unknown))}")
        SCENARIOS[:] = [sc for sc in SCENARIOS if sc.key in opts.only]
    testlib = build_ext.clib().build()
    backends, notes = make_backends(testlib, SCENARIOS)
    meta = {
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "platform": f"{platform.system()} {platform.machine()}",
        "testlib": str(testlib),
        "repeats": repeats,
        "target_ms": opts.target_ms,
        "quick": opts.quick,
        "seed": opts.seed,
        "clock": opts.clock,
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }

    clock = CLOCKS[opts.clock]
    prepared = {sc.key: prepare_scenario(sc, backends, clock) for sc in SCENARIOS}
    gc.collect()
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        measure(prepared, repeats=repeats, target_ns=opts.target_ms * 1e6,
                quick_n=1000 if opts.quick else None, rng=random.Random(opts.seed),
                caps={sc.key: sc.max_n for sc in SCENARIOS})
    finally:
        if gc_was_enabled:
            gc.enable()

    results = analyse(SCENARIOS, backends, prepared)
    print_report(SCENARIOS, backends, results, notes, meta)
    print_row_targets(results, backends)
    print_like_with_like(results, backends)

    errors = [f"{b.label} / {sc.label}: {prepared[sc.key][0][b.key].error}"
              for sc in SCENARIOS for b in backends if prepared[sc.key][0][b.key].error]
    thread_calls = opts.thread_calls if opts.thread_calls is not None else (1000 if opts.quick else THREAD_CALLS)
    if thread_calls > 0:
        results["threads"] = run_threads(opts.threads, thread_calls)
        print_threads(results["threads"])
        errors += [f"{label} / C threads: {run['error']}"
                   for label, run in results["threads"]["runs"].items() if "error" in run]
    if errors:
        print()
        print("ERRORS (these cells were not timed):")
        for e in errors:
            print(f"  {e}")

    if opts.json:
        doc = {
            "meta": meta,
            "notes": notes,
            "columns": [{"key": b.key, "label": b.label, "description": b.description,
                         "ratio_vs": b.limit} for b in backends],
            **results,
            "errors": errors,
        }
        Path(opts.json).write_text(json.dumps(doc, indent=2) + "\n")
        print()
        print(f"wrote {opts.json}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
