#!/usr/bin/env python3
"""A sweep of everyday ctypes operations, ferrotypes against the stdlib's ctypes in one
run: making instances of every family, reading and storing values, slicing, the module's
functions (`pointer`, `byref`, `cast`, `string_at`, `memmove`, `from_buffer`, `sizeof`,
...) and making types and callbacks. Each row prints ns per operation for both and
ferrotypes / ctypes (the median of per-repeat ratios; below 1 is faster than ctypes).
Where one exists, a row also times its floor: the same kind of work done by the types of
the hand-written C extension (bench/ext/ftbench_data.c: members through PyMemberDef,
elements through sq_item, static types the collector does not track) or by a builtin
(`id(p)` for `addressof(p)`, a list slice for an array slice). A floor is what the
interpreter's own machinery costs for that kind of operation, not a proof of a limit:
where ferrotypes beats it, the better of the two is the best known.

Statements are timed as in bench/access.py (a loop compiled once per implementation,
minus an empty loop, implementations alternating within each repeat). The summary gives
the rows slower than ctypes, the median ratio, and the noise: the largest interquartile
range of a row's per-repeat ratios, and the rows whose best known cost (the lesser of
ferrotypes and the floor) is above 0.67 of ctypes' (issue 21's median target). Operations of about 10 ns are at the resolution of
this method (the empty loop costs about 5 ns): read their rows with the noise column.

With --instructions the rows are counted instead of timed: valgrind's callgrind counts the
instructions of a process doing the statement 2N times minus one doing it N times, for
ctypes, ferrotypes and the floor, each in its own process (as bench/instructions.py does).
The counts repeat from run to run where timings on a shared machine do not; they weigh
every instruction alike, so a row's ratio of instructions need not be its ratio of time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))
from access import make_loop  # noqa: E402  (bench/access.py: the shared timing loop)

# (label, setup, statement). Names available besides the module's own (`m.<name>`
# spelled as in ctypes through `from m import *`-like access below): Point
# (struct {int x, y; double z;}), Pair (union {int i; double d;}), IntArray (c_int * 100),
# Callback (CFUNCTYPE(c_int, c_int)), py_function, data16 (bytes(16)), Handle (a c_void_p
# subclass with a method, as wrappers of C handles write them).
OPERATIONS = [
    # making instances, every family
    ("c_int(5)", "", "c_int(5)"),
    ("c_double(1.5)", "", "c_double(1.5)"),
    ("c_char_p(b'abc')", "", "c_char_p(b'abc')"),
    ("c_void_p(0)", "", "c_void_p(0)"),
    ("c_wchar_p('abc')", "", "c_wchar_p('abc')"),
    ("Point(1, 2, 3.0)", "", "Point(1, 2, 3.0)"),
    ("Point()", "", "Point()"),
    ("Pair(5)", "", "Pair(5)"),
    ("(c_int * 100)()", "", "IntArray()"),
    ("(c_int * 4)(1, 2, 3, 4)", "Four = c_int * 4", "Four(1, 2, 3, 4)"),
    ("POINTER(c_int)()", "P = POINTER(c_int)", "P()"),
    ("create_string_buffer(64)", "", "create_string_buffer(64)"),
    ("create_string_buffer(b'abc')", "", "create_string_buffer(b'abc')"),
    ("create_unicode_buffer(16)", "", "create_unicode_buffer(16)"),
    # reading and storing values
    ("ci.value", "ci = c_int(5)", "ci.value"),
    ("ci.value = 3", "ci = c_int(5)", "ci.value = 3"),
    ("cd.value", "cd = c_double(1.5)", "cd.value"),
    ("p.x", "p = Point(1, 2, 3.0)", "p.x"),
    ("p.x = 5", "p = Point(1, 2, 3.0)", "p.x = 5"),
    ("p.z", "p = Point(1, 2, 3.0)", "p.z"),
    ("u.d = 1.5", "u = Pair()", "u.d = 1.5"),
    ("a[3]", "a = IntArray()", "a[3]"),
    ("a[3] = 7", "a = IntArray()", "a[3] = 7"),
    ("len(a)", "a = IntArray()", "len(a)"),
    ("buf.value", "buf = create_string_buffer(b'hello', 64)", "buf.value"),
    ("buf.raw", "buf = create_string_buffer(64)", "buf.raw"),
    ("buf.value = b'hi'", "buf = create_string_buffer(64)", "buf.value = b'hi'"),
    ("ptr[0]", "ptr = pointer(c_int(5))", "ptr[0]"),
    ("ptr[0] = 1", "ptr = pointer(c_int(5))", "ptr[0] = 1"),
    ("ptr.contents", "ptr = pointer(c_int(5))", "ptr.contents"),
    ("ptr.contents = ci", "ptr = pointer(c_int(5)); ci = c_int(2)", "ptr.contents = ci"),
    ("cp.value", "cp = c_char_p(b'abc')", "cp.value"),
    # slicing and whole-object conversions
    ("a[2:10]", "a = IntArray()", "a[2:10]"),
    ("buf[:8]", "buf = create_string_buffer(64)", "buf[:8]"),
    ("ptr[0:4]", "ptr = cast(IntArray(), POINTER(c_int))", "ptr[0:4]"),
    ("list(c_int * 100)", "a = IntArray()", "list(a)"),
    ("bytes(buf) (64 bytes)", "buf = create_string_buffer(64)", "bytes(buf)"),
    ("memoryview(p)", "p = Point()", "memoryview(p)"),
    # the module's functions
    ("pointer(ci)", "ci = c_int(5)", "pointer(ci)"),
    ("byref(ci)", "ci = c_int(5)", "byref(ci)"),
    ("byref(p, 4)", "p = Point()", "byref(p, 4)"),
    ("cast(a, c_void_p)", "a = IntArray()", "cast(a, c_void_p)"),
    ("cast(ptr, POINTER(c_char))", "ptr = pointer(c_int(5)); PC = POINTER(c_char)", "cast(ptr, PC)"),
    ("string_at(addr, 16)", "a = IntArray(); addr = addressof(a)", "string_at(addr, 16)"),
    ("memmove(dst, src, 16)", "dst = IntArray(); src = IntArray()", "memmove(dst, src, 16)"),
    ("memset(dst, 0, 16)", "dst = IntArray()", "memset(dst, 0, 16)"),
    ("Point.from_buffer(ba)", "ba = bytearray(16)", "Point.from_buffer(ba)"),
    ("Point.from_buffer_copy(b)", "", "Point.from_buffer_copy(data16)"),
    ("c_int.from_address(addr)", "a = IntArray(); addr = addressof(a)", "c_int.from_address(addr)"),
    ("sizeof(Point)", "", "sizeof(Point)"),
    ("sizeof(p)", "p = Point()", "sizeof(p)"),
    ("alignment(Point)", "", "alignment(Point)"),
    ("addressof(p)", "p = Point()", "addressof(p)"),
    # types and callbacks
    ("POINTER(c_int) (cached)", "", "POINTER(c_int)"),
    ("c_int * 100 (cached)", "", "c_int * 100"),
    ("CFUNCTYPE(c_int, c_int)", "", "CFUNCTYPE(c_int, c_int)"),
    ("CFUNCTYPE(...)(f) (making a callback)", "", "Callback(py_function)"),
    ("isinstance(ci, c_int)", "ci = c_int(5)", "isinstance(ci, c_int)"),
    # a method of a user's subclass: the interpreter's specialised method load
    ("h.close() (c_void_p subclass method)", "h = Handle(5)", "h.close()"),
]

# The floors, by row label: (setup, statement) with the extension's types (ExtPoint,
# ExtCInt, ExtIntArray, ext_create_string_buffer) and builtins only.
FLOORS = {
    "c_int(5)": ("", "ExtCInt(5)"),
    "Point(1, 2, 3.0)": ("", "ExtPoint(1, 2, 3.0)"),
    "Point()": ("", "ExtPoint()"),
    "(c_int * 100)()": ("", "ExtIntArray()"),
    "POINTER(c_int)()": ("", "ExtCInt()"),
    "create_string_buffer(64)": ("", "ext_create_string_buffer(64)"),
    "ci.value": ("ci = ExtCInt(5)", "ci.value"),
    "ci.value = 3": ("ci = ExtCInt(5)", "ci.value = 3"),
    "cd.value": ("cd = 1.5 + 0j", "cd.real"),
    "p.x": ("p = ExtPoint(1, 2, 3.0)", "p.x"),
    "p.x = 5": ("p = ExtPoint(1, 2, 3.0)", "p.x = 5"),
    "p.z": ("p = ExtPoint(1, 2, 3.0)", "p.z"),
    "u.d = 1.5": ("u = ExtPoint()", "u.z = 1.5"),
    "a[3]": ("a = ExtIntArray()", "a[3]"),
    "a[3] = 7": ("a = ExtIntArray()", "a[3] = 7"),
    "len(a)": ("a = ExtIntArray()", "len(a)"),
    "ptr[0]": ("ptr = ExtIntArray()", "ptr[0]"),
    "ptr[0] = 1": ("ptr = ExtIntArray()", "ptr[0] = 1"),
    "a[2:10]": ("a = [0] * 100", "a[2:10]"),
    "buf[:8]": ("buf = bytes(64)", "buf[:8]"),
    "ptr[0:4]": ("ptr = [0] * 100", "ptr[0:4]"),
    "list(c_int * 100)": ("a = ExtIntArray()", "list(a)"),
    "bytes(buf) (64 bytes)": ("buf = bytearray(64)", "bytes(buf)"),
    "memoryview(p)": ("p = bytearray(16)", "memoryview(p)"),
    "sizeof(Point)": ("t = ()", "len(t)"),
    "sizeof(p)": ("t = ()", "len(t)"),
    "alignment(Point)": ("t = ()", "len(t)"),
    "addressof(p)": ("p = ExtPoint()", "id(p)"),
    "isinstance(ci, c_int)": ("ci = ExtCInt(5)", "isinstance(ci, ExtCInt)"),
}
MEDIAN_TARGET = 0.67

NAMES = ["c_int", "c_double", "c_char_p", "c_void_p", "c_wchar_p", "c_char", "POINTER",
         "pointer", "byref", "cast", "string_at", "memmove", "memset", "sizeof", "alignment",
         "addressof", "create_string_buffer", "create_unicode_buffer", "CFUNCTYPE"]


def environment(m):
    """The names the statements use, for ctypes or ferrotypes (module `m`)."""
    class Point(m.Structure):
        _fields_ = [("x", m.c_int), ("y", m.c_int), ("z", m.c_double)]

    class Pair(m.Union):
        _fields_ = [("i", m.c_int), ("d", m.c_double)]

    class Handle(m.c_void_p):
        def close(self):
            return None

    env = {name: getattr(m, name) for name in NAMES}
    env.update(Point=Point, Pair=Pair, Handle=Handle, IntArray=m.c_int * 100,
               Callback=m.CFUNCTYPE(m.c_int, m.c_int), py_function=lambda x: x, data16=bytes(16))
    return env


def floor_environment():
    """The names the floors use: the hand-written extension's types (None when it cannot
    be built here, e.g. without a C compiler)."""
    try:
        import build_ext  # bench/build_ext.py

        ext = build_ext.load(build_ext.build())
    except Exception as exc:  # the sweep itself does not need the extension
        print(f"(no floors: the C extension could not be built: {exc})")
        return None
    return {"ExtPoint": ext.Point, "ExtCInt": ext.CInt, "ExtIntArray": ext.IntArray100,
            "ext_create_string_buffer": ext.create_string_buffer}


# A child process of --instructions: argv is the implementation ("ctypes", "ferrotypes"
# or "floor") and the number of times to run the statement.
CHILD = """
import gc, importlib, sys
sys.path.insert(0, {bench!r})
import sweep
name = sys.argv[1]
env = sweep.floor_environment() if name == "floor" else sweep.environment(importlib.import_module(name))
exec({setup!r}, env)
exec("def loop():\\n    for _ in range(" + sys.argv[2] + "):\\n        " + {statement!r}, env)
gc.collect()
gc.freeze()  # collections then see only what the loop makes
env["loop"]()
"""


def count_instructions(operations, n, jobs):
    """Instructions per operation of each row, {label: {implementation: count}}."""
    from concurrent.futures import ThreadPoolExecutor

    import instructions  # bench/instructions.py

    env = dict(os.environ, PYTHONHASHSEED="0")  # the same dict layouts in every run

    def per_operation(label, name, setup, statement):
        code = CHILD.format(bench=str(REPO / "bench"), setup=setup, statement=statement)
        once, twice = (instructions.collected(code, [name, str(k)], env) for k in (n, 2 * n))
        return label, name, (twice - once) / n

    tasks = []
    for label, setup, statement in operations:
        tasks += [(label, name, setup, statement) for name in ("ctypes", "ferrotypes")]
        if label in FLOORS:
            tasks.append((label, "floor", *FLOORS[label]))
    counts = {label: {} for label, _, _ in operations}
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        for label, name, count in pool.map(lambda task: per_operation(*task), tasks):
            counts[label][name] = count
    return counts


def instruction_rows(operations, n, jobs):
    """Prints and returns the --instructions table."""
    counts = count_instructions(operations, n, jobs)
    print(f"instructions per operation (callgrind, N={n}), Python {platform.python_version()}")
    print(f"{'operation':40} {'ctypes':>8} {'ft':>8} {'ft/ctypes':>10} {'floor':>8} {'floor/ctypes':>13}")
    rows = []
    for label, statement in ((op[0], op[2]) for op in operations):
        c = counts[label]
        ratio = c["ferrotypes"] / c["ctypes"]
        floor_ratio = c["floor"] / c["ctypes"] if "floor" in c else None
        floor_cells = f" {c['floor']:8.0f} {floor_ratio:13.2f}" if floor_ratio is not None else ""
        mark = "  more" if ratio > 1 else ""
        print(f"{label:40} {c['ctypes']:8.0f} {c['ferrotypes']:8.0f} {ratio:10.2f}{floor_cells}{mark}")
        rows.append({"operation": label, "statement": statement, "instructions": c, "ratio": ratio,
                     "floor_ratio": floor_ratio})
    return rows


def timed_rows(operations, n, repeats):
    """Prints and returns the table of timings."""
    import ctypes

    import ferrotypes

    impls = {"ctypes": environment(ctypes), "ferrotypes": environment(ferrotypes)}
    floor_env = floor_environment()
    rows = []
    print(f"{'operation':40} {'ctypes ns':>10} {'ft ns':>8} {'ft/ctypes':>10} {'IQR':>6}"
          f" {'floor ns':>9} {'floor/ctypes':>13}")
    for label, setup, statement in operations:
        loops = {name: make_loop(setup, statement, env) for name, env in impls.items()}
        if floor_env is not None and label in FLOORS:
            loops["floor"] = make_loop(*FLOORS[label], floor_env)
        empty = make_loop(setup, "pass", impls["ctypes"])
        samples = {name: [] for name in loops}
        ratios = []
        for _ in range(repeats):
            base = empty(n) / n
            for name, loop in loops.items():
                samples[name].append(loop(n) / n - base)
            ct, ft = samples["ctypes"][-1], samples["ferrotypes"][-1]
            if ct > 0 and ft > 0:  # an operation as cheap as the empty loop can measure below it
                ratios.append(ft / ct)
        med = {name: statistics.median(s) for name, s in samples.items()}
        ratio = statistics.median(ratios) if ratios else float("nan")
        floor = med.get("floor")
        floor_ratio = floor / med["ctypes"] if floor is not None and med["ctypes"] > 0 else None
        quartiles = statistics.quantiles(ratios, n=4) if len(ratios) >= 2 else [ratio] * 3
        spread = (quartiles[2] - quartiles[0]) / ratio if ratio else float("nan")
        mark = "  slower" if ratio > 1 else ""
        floor_cells = f" {floor:9.1f} {floor_ratio:13.2f}" if floor_ratio is not None else " " * 24
        print(f"{label:40} {med['ctypes']:10.1f} {med['ferrotypes']:8.1f} {ratio:10.2f} {spread:6.0%}"
              f"{floor_cells}{mark}")
        rows.append({"operation": label, "statement": statement, "ns": med, "ratio": ratio, "iqr": spread,
                     "floor_ratio": floor_ratio})
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="tiny run: checks that everything works")
    parser.add_argument("--only", nargs="+", metavar="WORD", help="rows whose label contains one of these")
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--json", metavar="PATH", help="also write the numbers to PATH")
    parser.add_argument("--instructions", action="store_true",
                        help="count instructions with callgrind instead of timing")
    parser.add_argument("-n", type=int, default=2_000, help="with --instructions: operations in the shorter run")
    parser.add_argument("--jobs", type=int, default=1, help="with --instructions: processes at once")
    args = parser.parse_args()
    operations = [op for op in OPERATIONS
                  if not args.only or any(word in op[0] for word in args.only)]
    repeats = 2 if args.quick else args.repeats
    if args.instructions:
        floor_environment()  # builds the extension once, before the children load it
        n = 20 if args.quick else args.n
        rows = instruction_rows(operations, n, args.jobs)
        more = "more instructions than ctypes"
    else:
        n = 100 if args.quick else 50_000
        rows = timed_rows(operations, n, repeats)
        more = "slower than ctypes"
    print()
    slower = [row["operation"] for row in rows if row["ratio"] > 1]
    ratios = [row["ratio"] for row in rows if row["ratio"] == row["ratio"]]
    print(f"rows: {len(rows)}; {more}: {len(slower)}" + (f" ({', '.join(slower)})" if slower else ""))
    print(f"median ft/ctypes: {statistics.median(ratios):.2f} (ctypes/ft {1 / statistics.median(ratios):.2f}x)")
    floored = [row for row in rows if row["floor_ratio"] is not None]
    above = [row["operation"] for row in floored if min(row["floor_ratio"], row["ratio"]) > MEDIAN_TARGET]
    print(f"rows with a floor: {len(floored)}; of these, best known above {MEDIAN_TARGET} of ctypes:"
          f" {len(above)}" + (f" ({', '.join(above)})" if above else ""))
    if not args.instructions:
        print(f"noise: largest interquartile range of a row's per-repeat ratios {max(r['iqr'] for r in rows if r['iqr'] == r['iqr']):.0%}")
    if args.quick:
        print("(quick run: the numbers prove the machinery only)")
    if args.json:
        meta = {"python": f"{platform.python_implementation()} {platform.python_version()}",
                "quick": args.quick, "measure": "instructions" if args.instructions else "ns",
                "loops": n, "repeats": repeats,
                "time": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        Path(args.json).write_text(json.dumps({"meta": meta, "operations": rows}, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
