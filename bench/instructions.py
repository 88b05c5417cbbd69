#!/usr/bin/env python3
"""Instructions per everyday operation, counted by valgrind's callgrind: repeatable
where timings on a shared machine are not.

    python bench/instructions.py                 # ferrotypes on this interpreter
    python bench/instructions.py --compare-portable
                                                 # beside FERROTYPES_PORTABLE=1 (the
                                                 # object-layout fast paths off)
    python bench/instructions.py --only c_int field_get
    python bench/instructions.py --check       # fail if an operation grew more than 5%
                                                 # over bench/instructions-baseline.json
    python bench/instructions.py --update-baseline

Each figure is (instructions of a process doing the operation 2N times) minus (one
doing it N times), divided by N: start-up and set-up cancel out, the loop's own few
instructions remain in every figure. Before the loop, what start-up made is frozen out
of the collector's sight (gc.freeze): otherwise a full collection during the loop costs
in proportion to everything the process holds, which differs from one checkout to
another (making a callback: 17,340 against 18,273 instructions). With a fixed hash seed
the counts repeat exactly on one machine. The baseline is per Python version; updating it is a deliberate commit
that says why. Needs valgrind and the test library's compiler.
"""

import argparse
import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BASELINE = Path(__file__).resolve().parent / "instructions-baseline.json"
TOLERANCE = 1.05  # --check fails above baseline x this

# Set-up and the statement timed; `ft` is ferrotypes, `lib` the test library.
OPERATIONS = {
    "c_int": ("", "ft.c_int(5)"),
    "point": ("class Point(ft.Structure):\n _fields_ = [('x', ft.c_int), ('y', ft.c_int), ('z', ft.c_double)]",
              "Point(1, 2, 3.0)"),
    "array_100": ("Ints = ft.c_int * 100", "Ints()"),
    "field_get": ("class P(ft.Structure):\n _fields_ = [('x', ft.c_int)]\np = P(1)", "p.x"),
    "field_set": ("class P(ft.Structure):\n _fields_ = [('x', ft.c_int)]\np = P(1)", "p.x = 5"),
    "element_get": ("a = (ft.c_int * 10)()", "a[3]"),
    "element_set": ("a = (ft.c_int * 10)()", "a[3] = 7"),
    "string_buffer_64": ("", "ft.create_string_buffer(64)"),
    "pointer": ("x = ft.c_int(5)", "ft.pointer(x)"),
    "contents": ("p = ft.pointer(ft.c_int(5))", "p.contents"),
    "bytes_64": ("buf = ft.create_string_buffer(64)", "bytes(buf)"),
    "make_callback": ("proto = ft.CFUNCTYPE(ft.c_int, ft.c_int)\nf = lambda x: x", "proto(f)"),
    "call_cdll": ("f = lib.ft_add_int\nf.argtypes = [ft.c_int, ft.c_int]\nf.restype = ft.c_int", "f(3, 4)"),
    "call_pydll": ("f = ft.PyDLL(lib._name).ft_add_int\nf.argtypes = [ft.c_int, ft.c_int]\nf.restype = ft.c_int",
                   "f(3, 4)"),
    "call_untyped": ("f = lib['ft_add_int']", "f(3, 4)"),
    "callback": ("proto = ft.CFUNCTYPE(ft.c_int, ft.c_int)\ncb = proto(lambda x: x + 1)\n"
                 "call = lib.ftcb_call_n\ncall.argtypes = [proto, ft.c_int]\ncall.restype = ft.c_long",
                 "call(cb, 1)"),
}

# Further operations, counted only when named with --only (not part of --check or the
# baseline): the rows of bench/sweep.py being worked on.
MORE_OPERATIONS = {
    "char_slice": ("buf = ft.create_string_buffer(64)", "buf[:8]"),
    "pointer_slice": ("a = (ft.c_int * 8)()\np = ft.cast(a, ft.POINTER(ft.c_int))", "p[0:4]"),
    "value_get": ("ci = ft.c_int(5)", "ci.value"),
    "value_set": ("ci = ft.c_int(5)", "ci.value = 3"),
    "sizeof": ("x = ft.c_int(5)", "ft.sizeof(x)"),
    "addressof": ("x = ft.c_int(5)", "ft.addressof(x)"),
    "alignment": ("x = ft.c_int(5)", "ft.alignment(x)"),
    "array_len": ("a = (ft.c_int * 10)()", "len(a)"),
    "buf_value": ("buf = ft.create_string_buffer(b'abc', 64)", "buf.value"),
    "buf_raw": ("buf = ft.create_string_buffer(64)", "buf.raw"),
    "c_char_p": ("", "ft.c_char_p(b'abc')"),
    "c_void_p": ("", "ft.c_void_p(0)"),
    "c_wchar_p": ("", "ft.c_wchar_p('abc')"),
    "char_p_value": ("cp = ft.c_char_p(b'abc')", "cp.value"),
    "byref": ("x = ft.c_int(5)", "ft.byref(x)"),
    "from_address": ("a = (ft.c_int * 4)()\naddress = ft.addressof(a)", "ft.c_int.from_address(address)"),
    "array_type": ("", "ft.c_int * 100"),
}

CHILD = """
import gc
import sys
import ferrotypes as ft

namespace = {{"ft": ft, "lib": ft.CDLL(sys.argv[1])}}
exec({setup!r}, namespace)
exec("def loop():\\n    for _ in range({n}):\\n        " + {statement!r}, namespace)
gc.collect()
gc.freeze()  # collections then see only what the loop makes, not everything start-up left
namespace["loop"]()
"""


def test_library():
    sys.path.insert(0, str(ROOT / "tests" / "clib"))
    import build  # tests/clib/build.py: compiles and caches the test library

    return str(build.build())


def collected(code, argv, env):
    """The instructions callgrind counts for a process running `python -c code *argv`."""
    run = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
                          sys.executable, "-c", code, *argv],
                         capture_output=True, text=True, env=env, check=True)
    return int(re.search(r"Collected : (\d+)", run.stderr).group(1))


def instructions(setup, statement, n, library, env):
    return collected(CHILD.format(setup=setup, statement=statement, n=n), [library], env)


def per_operation(name, n, library, portable):
    setup, statement = OPERATIONS.get(name) or MORE_OPERATIONS[name]
    env = dict(os.environ, PYTHONHASHSEED="0")  # the same dict layouts in every run
    env.pop("FERROTYPES_PORTABLE", None)
    if portable:
        env["FERROTYPES_PORTABLE"] = "1"
    once = instructions(setup, statement, n, library, env)
    twice = instructions(setup, statement, 2 * n, library, env)
    return (twice - once) / n


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="+", choices=sorted({**OPERATIONS, **MORE_OPERATIONS}), help="just these operations")
    parser.add_argument("--compare-portable", action="store_true", help="also count with FERROTYPES_PORTABLE=1")
    parser.add_argument("-n", type=int, default=5_000, help="operations in the shorter run (default 5,000)")
    parser.add_argument("--check", action="store_true", help="exit 1 if an operation grew past the baseline")
    parser.add_argument("--update-baseline", action="store_true", help="record the counts as this version's baseline")
    args = parser.parse_args(argv)
    library = test_library()
    names = args.only or list(OPERATIONS)
    version = "%d.%d" % sys.version_info[:2]
    baselines = json.loads(BASELINE.read_text()) if BASELINE.exists() else {}
    if args.check or args.update_baseline:
        return check_or_update(names, args, library, version, baselines)
    print(f"instructions per operation, Python {sys.version.split()[0]}, N={args.n}")
    header = f"{'operation':<16}{'ferrotypes':>12}"
    if args.compare_portable:
        header += f"{'portable':>12}{'ratio':>8}"
    print(header)
    for name in names:
        fast = per_operation(name, args.n, library, portable=False)
        row = f"{name:<16}{fast:>12.0f}"
        if args.compare_portable:
            slow = per_operation(name, args.n, library, portable=True)
            row += f"{slow:>12.0f}{slow / fast:>8.2f}"
        print(row, flush=True)
    return 0


def check_or_update(names, args, library, version, baselines):
    """Counts each operation; --check compares with the version's baseline, and
    --update-baseline records the counts (other versions' entries kept)."""
    baseline = baselines.get(version, {})
    counts, grown = {}, []
    print(f"instructions per operation, Python {sys.version.split()[0]}, N={args.n}; "
          f"baseline {BASELINE.name}, tolerance {TOLERANCE:.2f}")
    for name in names:
        counts[name] = round(per_operation(name, args.n, library, portable=False))
        before = baseline.get(name)
        verdict = "" if before is None else f"{before:>10}  {counts[name] / before:6.3f}"
        if before is not None and counts[name] > before * TOLERANCE:
            grown.append(name)
            verdict += "  GREW"
        print(f"{name:<18}{counts[name]:>10}  {verdict}", flush=True)
    if args.update_baseline:
        baselines[version] = {**baseline, **counts}
        BASELINE.write_text(json.dumps(baselines, indent=1, sort_keys=True) + "\n")
        print(f"baseline for {version} written")
        return 0
    missing = [name for name in names if name not in baseline]
    if missing:
        print(f"no baseline for {version}: {' '.join(missing)} (run --update-baseline)")
        return 1
    if grown:
        print(f"grew more than {TOLERANCE - 1:.0%}: {' '.join(grown)}")
        return 1
    print("instructions: no operation grew")
    return 0


if __name__ == "__main__":
    sys.exit(main())
