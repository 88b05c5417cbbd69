#!/usr/bin/env python3
"""C-declaration benchmark: parsing and binding headers with ``ferrotypes.cdef`` and
``include`` against cffi's ``ffi.cdef``, a cached ``include``, and calls through
header-bound functions against the same functions with ``argtypes`` set by hand.

    python bench/cdecl.py             # full run (a few seconds)
    python bench/cdecl.py --quick     # proves the machinery, no timing claims
    python bench/cdecl.py --only calls  # one part: parse, include or calls

cffi's parser (pycparser) refuses most of what ``gcc -E`` gives (GNU attributes,
``__asm__`` labels, ``__extension__``...), so the comparison uses the part of the
preprocessed header cffi accepts: GNU keywords are removed, then declarations cffi
refuses are dropped one at a time (from the line its error names) until it accepts
the rest. Both parse that same text, taking turns. Times are in ms, the median and the
best of repeated runs (the best is the cost without the machine's other load).
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import time
import timeit

import ferrotypes as ft
from ferrotypes import _ctypes

HEADERS = ["sqlite3.h", "zlib.h", "stdio.h", "png.h"]


def preprocess(header):
    proc = subprocess.run(["cc", "-E", "-dD", "-x", "c", "-"], input=f"#include <{header}>\n",
                          capture_output=True, text=True, check=True)
    return proc.stdout


def samples_ms(fns, repeats):
    """Each of ``fns`` timed ``repeats`` times, the functions taking turns (so that a burst
    of load on the machine hits each alike): per function, its times in ms, sorted."""
    samples = [[] for _ in fns]
    for _ in range(repeats):
        for fn, out in zip(fns, samples):
            t = time.perf_counter()
            fn()
            out.append((time.perf_counter() - t) * 1e3)
    return [sorted(s) for s in samples]


def median_best(samples):
    return statistics.median(samples), samples[0]


def _remove_gnu(text):
    """The preprocessed text without directives and GNU keywords pycparser refuses."""
    text = "\n".join(line for line in text.splitlines() if not line.startswith("#"))
    for word in ("__extension__", "__restrict", "__inline", "__const", "__signed__", "__volatile__"):
        text = re.sub(rf"\b{word}\b", "", text)
    # __attribute__((...)) and __asm__(...), with balanced parentheses.
    out, i = [], 0
    pattern = re.compile(r"\b(__attribute__|__asm__|__asm|__declspec)\s*\(")
    while True:
        m = pattern.search(text, i)
        if not m:
            out.append(text[i:])
            break
        out.append(text[i:m.start()])
        depth, j = 0, m.end() - 1
        while j < len(text):
            depth += {"(": 1, ")": -1}.get(text[j], 0)
            j += 1
            if depth == 0:
                break
        i = j
    return "".join(out)


def _declarations(text):
    """Top-level declarations, one per line (split at ';' outside braces)."""
    decls, depth, cur = [], 0, []
    for ch in text:
        cur.append(ch)
        depth += {"{": 1, "}": -1}.get(ch, 0)
        if ch == ";" and depth == 0:
            decls.append(" ".join("".join(cur).split()))
            cur = []
    return decls


def cffi_accepted(text, limit=2000):
    """The declarations of ``text`` that cffi's ``cdef`` accepts, as one string."""
    import cffi

    decls = [d for d in _declarations(_remove_gnu(text)) if "{" not in d or not re.search(r"\)\s*\{", d)]
    for _ in range(limit):
        source = "\n".join(decls)
        try:
            cffi.FFI().cdef(source)
            return source, len(decls)
        except Exception as e:  # cffi.CDefError and pycparser's ParseError
            m = re.search(r":(\d+):", str(e))
            if m:
                del decls[min(int(m.group(1)), len(decls)) - 1]
                continue
            # No line named: the shortest failing prefix ends at the culprit.
            lo, hi = 1, len(decls)
            while lo < hi:
                mid = (lo + hi) // 2
                try:
                    cffi.FFI().cdef("\n".join(decls[:mid]))
                    lo = mid + 1
                except Exception:
                    hi = mid
            del decls[lo - 1]
    raise RuntimeError("cffi accepted nothing")


def bench_parse(quick):
    repeats = 3 if quick else 25
    try:
        import cffi
    except ImportError:
        cffi = None
    process = ft.CDLL(None)
    print(f"Parsing and binding (no preprocessor), ms: median / best of {repeats}")
    print(f"{'header':<12} {'full text':>9} {'ft full':>12} | {'decls':>5} {'ft':>12} {'cffi':>14} {'cffi/ft':>11}")
    for header in HEADERS:
        text = preprocess(header)
        [full] = samples_ms([lambda: ft.cdecl.CNamespace(_ctypes.parse_c(text, header), [process], header)], repeats)
        med, best = median_best(full)
        row = f"{header:<12} {len(text):>9} {med:>5.2f} / {best:>4.2f} |"
        if cffi is None:
            print(row, "cffi not installed")
            continue
        accepted, n = cffi_accepted(text)
        ft_part, cffi_part = samples_ms([lambda: ft.cdef(accepted, lib=process), lambda: cffi.FFI().cdef(accepted)], repeats)
        (ft_med, ft_best), (cffi_med, cffi_best) = median_best(ft_part), median_best(cffi_part)
        print(f"{row} {n:>5} {ft_med:>5.2f} / {ft_best:>4.2f} {cffi_med:>6.1f} / {cffi_best:>5.1f} "
              f"{cffi_med / ft_med:>4.0f}x / {cffi_best / ft_best:>3.0f}x")


def bench_include(quick):
    repeats = 3 if quick else 25
    print(f"\nA cached include (the preprocessor skipped), ms: median / best of {repeats}")
    for header in HEADERS:
        ft.include(header)  # fills the cache
        [times] = samples_ms([lambda: ft.include(header)], repeats)
        med, best = median_best(times)
        print(f"{header:<12} {med:>5.2f} / {best:>4.2f}")


def bench_calls(quick):
    number, rounds = (2000, 3) if quick else (20000, 41)
    libc = ft.CDLL(None)
    libm = ft.CDLL("libm.so.6")
    s = ft.include("string.h")
    m = ft.include("math.h", lib="m")
    by_hand_strlen = libc["strlen"]
    by_hand_strlen.argtypes, by_hand_strlen.restype = [ft.c_char_p], ft.c_size_t
    by_hand_cos = libm["cos"]
    by_hand_cos.argtypes, by_hand_cos.restype = [ft.c_double], ft.c_double
    t = ft.include("time.h")
    by_hand_difftime = libc["difftime"]
    by_hand_difftime.argtypes, by_hand_difftime.restype = [ft.c_long, ft.c_long], ft.c_double
    by_hand_gmtime_r = libc["gmtime_r"]
    by_hand_gmtime_r.argtypes = [ft.POINTER(ft.c_long), ft.POINTER(t.tm)]
    by_hand_gmtime_r.restype = ft.POINTER(t.tm)
    when, out = t.time_t(0), t.tm()
    print(f"\nCalls, ns per call (best of {rounds} runs of {number}, the two alternating so that load hits both)")
    for label, header_fn, hand_fn, args in [
        ("cos(1.0)", m.cos, by_hand_cos, (1.0,)),
        ("difftime(5, 2)", t.difftime, by_hand_difftime, (5, 2)),
        ("gmtime_r(&t, &tm)", t.gmtime_r, by_hand_gmtime_r, (ft.byref(when), ft.byref(out))),
        ("strlen(b'abc') [nonnull]", s.strlen, by_hand_strlen, (b"abc",)),
    ]:
        header_runs, hand_runs = [], []
        for _ in range(rounds):
            header_runs.append(timeit.timeit(lambda: header_fn(*args), number=number))
            hand_runs.append(timeit.timeit(lambda: hand_fn(*args), number=number))
        t_header = min(header_runs) / number * 1e9
        t_hand = min(hand_runs) / number * 1e9
        print(f"{label:<26} header {t_header:>6.0f}  by hand {t_hand:>6.0f}  ratio {t_header / t_hand:.2f}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few repeats: no timing claims")
    parser.add_argument("--only", choices=["parse", "include", "calls"], help="run one part")
    args = parser.parse_args(argv)
    for name, part in [("parse", bench_parse), ("include", bench_include), ("calls", bench_calls)]:
        if args.only in (None, name):
            part(args.quick)
    return 0


if __name__ == "__main__":
    sys.exit(main())
