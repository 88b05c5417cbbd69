#!/usr/bin/env python3
"""Bindings-generator benchmark: how long ``ferrotypes.bind`` takes to write the bindings
of sqlite3.h and Python.h, and how long the generated modules take to import.

    python bench/bind.py            # medians of a few runs (a few seconds)
    python bench/bind.py --quick    # one run of each: proves the machinery, no timing claims

Generation is timed as a user runs it: the whole command ``python -m ferrotypes.bind
HEADER -l LIB -o OUT.py`` in a fresh interpreter (its start included), with the
header's preprocessed text cached on disk by ``include`` (as on any second run), plus
one cold run with the cache directory empty. Import is timed in fresh interpreters, each
importing the module after ``import ferrotypes`` (the module's own cost: what it adds
to a program) and from its ``.pyc`` (a first import also compiles the source, shown
apart); the interpreter's start and ``import ferrotypes`` are shown for scale.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time


HEADERS = [("sqlite3.h", "sqlite3"), ("Python.h", "pythonapi"), ("zlib.h", "z")]

_IMPORT = """
import sys, time
t0 = time.perf_counter()
import ferrotypes
t1 = time.perf_counter()
import {module}
t2 = time.perf_counter()
print(t1 - t0, t2 - t1)
"""


def _generate(header, lib, directory, module, env=None):
    """ms for the whole command, ``python -m ferrotypes.bind``, in a fresh interpreter."""
    command = [sys.executable, "-m", "ferrotypes.bind", header, "-l", lib, "-q",
               "-o", os.path.join(directory, module + ".py")]
    t = time.perf_counter()
    subprocess.run(command, check=True, env=env)
    return (time.perf_counter() - t) * 1e3


def _import(directory, module):
    """(ms for import ferrotypes, ms for importing the module) in a fresh interpreter."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}  # keep the .pyc
    out = subprocess.run([sys.executable, "-c", _IMPORT.format(module=module)], cwd=directory, env=env,
                         capture_output=True, text=True, check=True).stdout.split()
    return float(out[0]) * 1e3, float(out[1]) * 1e3


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true")
    args = p.parse_args()
    repeats = 1 if args.quick else 7
    with tempfile.TemporaryDirectory() as directory:
        print(f"{'header':<12} {'generate':>10} {'cold':>8} {'import':>8} {'1st import':>11} "
              f"{'ferrotypes':>11} {'lines':>7}")
        for header, lib in HEADERS:
            module = header[:-2].replace("/", "_") + "_bindings"
            with tempfile.TemporaryDirectory() as cache:
                # No cached preprocessor output: the first run on a machine.
                cold = _generate(header, lib, directory, module, {**os.environ, "XDG_CACHE_HOME": cache})
            _generate(header, lib, directory, module)  # fills the user's cache
            warm = statistics.median(_generate(header, lib, directory, module) for _ in range(repeats))
            first = _import(directory, module)[1]  # compiles the source to a .pyc
            runs = [_import(directory, module) for _ in range(repeats)]
            ft_ms = statistics.median(r[0] for r in runs)
            import_ms = statistics.median(r[1] for r in runs)
            with open(os.path.join(directory, module + ".py")) as f:
                lines = sum(1 for _ in f)
            print(f"{header:<12} {warm:8.0f}ms {cold:6.0f}ms {import_ms:6.1f}ms {first:9.1f}ms "
                  f"{ft_ms:9.1f}ms {lines:7d}")
    print("generate: the command, median of runs (preprocessed header cached); cold: the cache empty;\n"
          "import: the module after `import ferrotypes`, from its .pyc (median); 1st import: with\n"
          "compiling the source; ferrotypes: `import ferrotypes` itself, for scale.")
    if args.quick:
        print("(--quick: one run each, no timing claims)")


if __name__ == "__main__":
    main()
