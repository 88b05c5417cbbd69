#!/usr/bin/env python3
"""Instructions per everyday operation, counted by valgrind's callgrind: repeatable
where timings on a shared machine are not.

    python bench/instructions.py                 # ferrotypes on this interpreter
    python bench/instructions.py --compare-portable
                                                 # beside FERROTYPES_PORTABLE=1 (the
                                                 # object-layout fast paths off)
    python bench/instructions.py --only c_int field_get

Each figure is (instructions of a process doing the operation 2N times) minus (one
doing it N times), divided by N: start-up and set-up cancel out, the loop's own few
instructions remain in every figure. Needs valgrind and the test library's compiler.
"""

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Set-up and the statement timed; `ft` is ferrotypes, `lib` the test library.
OPERATIONS = {
    "c_int": ("", "ft.c_int(5)"),
    "point": ("class Point(ft.Structure):\n _fields_ = [('x', ft.c_int), ('y', ft.c_int), ('z', ft.c_double)]",
              "Point(1, 2, 3.0)"),
    "array_100": ("Ints = ft.c_int * 100", "Ints()"),
    "field_get": ("class P(ft.Structure):\n _fields_ = [('x', ft.c_int)]\np = P(1)", "p.x"),
    "field_set": ("class P(ft.Structure):\n _fields_ = [('x', ft.c_int)]\np = P(1)", "p.x = 5"),
    "element_get": ("a = (ft.c_int * 10)()", "a[3]"),
    "call_cdll": ("f = lib.ft_add_int\nf.argtypes = [ft.c_int, ft.c_int]\nf.restype = ft.c_int", "f(3, 4)"),
    "call_untyped": ("f = lib['ft_add_int']", "f(3, 4)"),
    "callback": ("proto = ft.CFUNCTYPE(ft.c_int, ft.c_int)\ncb = proto(lambda x: x + 1)\n"
                 "call = lib.ftcb_call_n\ncall.argtypes = [proto, ft.c_int]\ncall.restype = ft.c_long",
                 "call(cb, 1)"),
}

CHILD = """
import sys
import ferrotypes as ft

namespace = {{"ft": ft, "lib": ft.CDLL(sys.argv[1])}}
exec({setup!r}, namespace)
exec("def loop():\\n    for _ in range({n}):\\n        " + {statement!r}, namespace)
namespace["loop"]()
"""


def test_library():
    sys.path.insert(0, str(ROOT / "tests" / "clib"))
    import build  # tests/clib/build.py: compiles and caches the test library

    return str(build.build())


def instructions(setup, statement, n, library, env):
    code = CHILD.format(setup=setup, statement=statement, n=n)
    run = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
                          sys.executable, "-c", code, library],
                         capture_output=True, text=True, env=env, check=True)
    return int(re.search(r"Collected : (\d+)", run.stderr).group(1))


def per_operation(name, n, library, portable):
    setup, statement = OPERATIONS[name]
    env = dict(os.environ)
    env.pop("FERROTYPES_PORTABLE", None)
    if portable:
        env["FERROTYPES_PORTABLE"] = "1"
    once = instructions(setup, statement, n, library, env)
    twice = instructions(setup, statement, 2 * n, library, env)
    return (twice - once) / n


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="+", choices=sorted(OPERATIONS), help="just these operations")
    parser.add_argument("--compare-portable", action="store_true", help="also count with FERROTYPES_PORTABLE=1")
    parser.add_argument("-n", type=int, default=20_000, help="operations in the shorter run (default 20,000)")
    args = parser.parse_args(argv)
    library = test_library()
    names = args.only or list(OPERATIONS)
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


if __name__ == "__main__":
    sys.exit(main())
