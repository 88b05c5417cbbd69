#!/usr/bin/env python3
"""Data-access benchmark: field and element access, instance creation and calls
with structures, ferrotypes against the stdlib's ctypes and the hand-written C
extension (bench/ext/ftbench_data.c) in one run.

    python bench/access.py            # full run (~10 s)
    python bench/access.py --quick    # proves the machinery, no timing claims
    python bench/access.py --json access.json   # also write the numbers as JSON

Each operation is timed as a loop statement compiled once per implementation
(`p.x`, `p.x = 5`, `a[3]`, `Point(1, 2, 3.0)`, ...), minus an empty loop, as the
median of several repeats that alternate between implementations. It prints
ns/operation for each and the ratios to the C extension, whose types hold the
same C data (members through PyMemberDef, elements through sq_item, the struct
passed to the same C functions with the GIL released, as CDLL does). After the
timings it prints `sys.getsizeof` of a `c_int` and of a `Point` instance for the
three (memory, not time: the same in every run).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

# (label, setup, statement): setup runs once and defines the names the statement uses,
# besides those of the implementation's environment: Point (struct {int x, y; double z;}),
# c_int, IntArray (c_int * 100), create_string_buffer, by_value, by_pointer, byref.
OPERATIONS = [
    ("struct field get", "p = Point(1, 2, 3.0)", "p.x"),
    ("struct field set", "p = Point(1, 2, 3.0)", "p.x = 5"),
    ("struct double get", "p = Point(1, 2, 3.0)", "p.z"),
    ("array element get", "a = IntArray()", "a[3]"),
    ("array element set", "a = IntArray()", "a[3] = 7"),
    ("create c_int(5)", "", "c_int(5)"),
    ("create_string_buffer(64)", "", "create_string_buffer(64)"),
    ("create Point(1, 2, 3.0)", "", "Point(1, 2, 3.0)"),
    ("create (c_int * 100)()", "", "IntArray()"),
    ("call with struct by value", "p = Point(1, 2, 3.0); f = by_value", "f(p)"),
    ("call with struct pointer", "p = Point(1, 2, 3.0); f = by_pointer; r = byref(p)", "f(r)"),
]

# (label, expression): instances whose size `sys.getsizeof` reports.
SIZES = [
    ("c_int(5)", "c_int(5)"),
    ("Point(1, 2, 3.0)", "Point(1, 2, 3.0)"),
]


def environment(m, libpath):
    """The names the statements use, for ctypes or ferrotypes (module `m`)."""
    class Point(m.Structure):
        _fields_ = [("x", m.c_int), ("y", m.c_int), ("z", m.c_double)]

    lib = m.CDLL(str(libpath))
    by_value = lib["ft_point3_sum"]
    by_value.restype, by_value.argtypes = m.c_double, [Point]
    by_pointer = lib["ft_point3_sum_ptr"]
    by_pointer.restype, by_pointer.argtypes = m.c_double, [m.POINTER(Point)]
    return {"Point": Point, "c_int": m.c_int, "IntArray": m.c_int * 100,
            "create_string_buffer": m.create_string_buffer,
            "by_value": by_value, "by_pointer": by_pointer, "byref": m.byref}


def ext_environment(ext):
    """The names the statements use, for the hand-written C extension."""
    return {"Point": ext.Point, "c_int": ext.CInt, "IntArray": ext.IntArray100,
            "create_string_buffer": ext.create_string_buffer,
            "by_value": ext.point3_sum, "by_pointer": ext.point3_sum_ptr,
            # point3_sum_ptr takes the Point itself and passes its struct's address.
            "byref": lambda obj: obj}


def make_loop(setup: str, statement: str, env: dict):
    src = (f"def loop(_n):\n"
           f"    {setup or 'pass'}\n"
           f"    _t0 = _clock()\n"
           f"    for _ in _repeat(None, _n):\n"
           f"        {statement}\n"
           f"    return _clock() - _t0\n")
    namespace = dict(env, _clock=time.perf_counter_ns, _repeat=__import__("itertools").repeat)
    exec(compile(src, f"<{statement}>", "exec"), namespace)
    return namespace["loop"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="tiny run: checks that everything works")
    parser.add_argument("--json", metavar="PATH", help="also write the numbers (ns per operation) to PATH")
    args = parser.parse_args()
    sys.path.insert(0, str(REPO / "tests" / "clib"))
    import build as clib  # tests/clib/build.py
    import ctypes

    import ferrotypes

    sys.path.insert(0, str(REPO / "bench"))
    import build_ext  # bench/build_ext.py

    libpath = clib.build()
    ext = build_ext.load(build_ext.build(libpath))
    impls = {"ext": ext_environment(ext), "ctypes": environment(ctypes, libpath),
             "ferrotypes": environment(ferrotypes, libpath)}
    n, repeats = (200, 2) if args.quick else (200_000, 7)
    rows = []
    print(f"{'operation':28} {'ext ns':>8} {'ctypes ns':>10} {'ft ns':>8} {'ctypes/ext':>11} {'ft/ext':>8}")
    for label, setup, statement in OPERATIONS:
        loops = {name: make_loop(setup, statement, env) for name, env in impls.items()}
        empty = make_loop(setup, "pass", impls["ctypes"])
        samples = {name: [] for name in impls}
        for _ in range(repeats):
            base = empty(n) / n
            for name, loop in loops.items():
                samples[name].append(loop(n) / n - base)
        med = {name: statistics.median(s) for name, s in samples.items()}

        def ratio(name):
            return med[name] / med["ext"] if med["ext"] > 0 else float("nan")

        print(f"{label:28} {med['ext']:8.1f} {med['ctypes']:10.1f} {med['ferrotypes']:8.1f}"
              f" {ratio('ctypes'):11.2f} {ratio('ferrotypes'):8.2f}")
        rows.append({"operation": label, "statement": statement, "ns": med})
    print()
    print(f"{'sys.getsizeof (bytes)':28} {'ext':>8} {'ctypes':>10} {'ft':>8}")
    for label, expression in SIZES:
        sizes = {name: sys.getsizeof(eval(expression, dict(env))) for name, env in impls.items()}
        print(f"{label:28} {sizes['ext']:8d} {sizes['ctypes']:10d} {sizes['ferrotypes']:8d}")
    if args.quick:
        print("(quick run: the numbers prove the machinery only)")
    if args.json:
        meta = {"python": f"{platform.python_implementation()} {platform.python_version()}",
                "platform": f"{platform.system()} {platform.machine()}", "quick": args.quick,
                "loops": n, "repeats": repeats, "time": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        Path(args.json).write_text(json.dumps({"meta": meta, "operations": rows}, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
