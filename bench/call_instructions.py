#!/usr/bin/env python3
"""Instructions per foreign call, counted by valgrind's callgrind: the figure to compare
before and after a change on a machine whose timings are noisy.

    python bench/call_instructions.py                    # every case, ferrotypes and ctypes
    python bench/call_instructions.py labs_untyped ptr_array --modules ferrotypes

For each case and module, two processes make the call N and 2N times
(`--calls`, default 10,000); the difference of the instructions callgrind counts,
divided by N, is the cost of one call with its loop iteration (start-up cancels).
The cases are the rows of bench/run.py that issue 19 is about.
"""

from __future__ import annotations

import argparse
import importlib
import os
import subprocess
import sys
import tempfile
from pathlib import Path

BENCH = Path(__file__).resolve().parent


def setup(m, lib, case: str):
    """The function and arguments of `case` for module `m` (ctypes or ferrotypes)."""
    if case.startswith("labs"):
        f = lib["labs"]
        f.restype = m.c_long
        if case == "labs_typed":
            f.argtypes = [m.c_long]
        return f, (-3,)
    if case.startswith("memset"):
        f = lib["memset"]
        f.restype = None
        if case == "memset_typed":
            f.argtypes = [m.c_void_p, m.c_int, m.c_size_t]
        return f, (m.create_string_buffer(64), 0, 64)
    if case.startswith("mixed5"):
        f = lib["ft_mixed5"]
        f.restype = m.c_double
        if case == "mixed5_typed":
            f.argtypes = [m.c_int, m.c_double, m.c_long, m.c_float, m.c_void_p]
        return f, (1, m.c_double(2.5), 3, m.c_float(4.5), None)
    if case in ("ptr_byref", "ptr_array"):
        f = lib["ft_scale_inout"]
        f.restype, f.argtypes = m.c_int, [m.POINTER(m.c_int), m.c_int]
        return f, ((m.byref(m.c_int(1)) if case == "ptr_byref" else (m.c_int * 16)(1)), 1)
    if case.startswith("strbuf_"):
        f = lib["ft_strlen"]
        f.restype = m.c_size_t
        f.argtypes = [{"strbuf_pchar": m.POINTER(m.c_char), "strbuf_charp": m.c_char_p, "strbuf_voidp": m.c_void_p}[case]]
        return f, (m.create_string_buffer(64),)
    raise SystemExit(f"unknown case {case!r}")


CASES = ["labs_untyped", "labs_typed", "memset_untyped", "memset_typed", "mixed5_untyped", "mixed5_typed",
         "ptr_byref", "ptr_array", "strbuf_pchar", "strbuf_charp", "strbuf_voidp"]


def child(module: str, case: str, n: int) -> None:
    sys.path.insert(0, str(BENCH))
    import build_ext

    m = importlib.import_module(module)
    lib = m.CDLL(str(build_ext.clib().build()))
    f, args = setup(m, lib, case)
    f(*args)
    # A loop with the arguments as locals, as bench/run.py times them.
    params = ", ".join(f"a{i}" for i in range(len(args)))
    namespace: dict = {}
    exec(f"def loop(_n, _f, {params}):\n    for _ in range(_n):\n        _f({params})\n", namespace)
    namespace["loop"](n, f, *args)


def instructions(module: str, case: str, n: int) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        cmd = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={tmp}/out", sys.executable, __file__,
               "--child", module, case, str(n)]
        # A fixed hash seed: string hashes change dictionary probing between runs.
        done = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "PYTHONHASHSEED": "0"})
    found = [line for line in done.stderr.splitlines() if "Collected :" in line]
    if done.returncode != 0 or not found:
        raise SystemExit(f"{module} {case}: " + (done.stderr.strip().splitlines() or ["valgrind failed"])[-1])
    return int(found[-1].split(":")[-1])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("cases", nargs="*", metavar="CASE", help=f"some of: {', '.join(CASES)} (default: all)")
    ap.add_argument("--modules", nargs="+", default=["ferrotypes", "ctypes"])
    ap.add_argument("--calls", type=int, default=10_000)
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    opts = ap.parse_args(argv)
    if opts.child:
        child(opts.child[0], opts.child[1], int(opts.child[2]))
        return 0
    unknown = set(opts.cases) - set(CASES)
    if unknown:
        ap.error(f"unknown cases: {', '.join(sorted(unknown))}")
    print(f"instructions per call (callgrind: {2 * opts.calls:,} calls minus {opts.calls:,}, over {opts.calls:,})")
    print(f"  {'case':<16}" + "".join(f"{m:>12}" for m in opts.modules))
    for case in opts.cases or CASES:
        counts = [(instructions(m, case, 2 * opts.calls) - instructions(m, case, opts.calls)) / opts.calls
                  for m in opts.modules]
        print(f"  {case:<16}" + "".join(f"{c:12,.0f}" for c in counts), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
