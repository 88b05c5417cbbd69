#!/usr/bin/env python3
"""C-declaration benchmark: parsing and binding headers with ``ferrotypes.cdef`` and
``include`` against cffi's ``ffi.cdef``, a cached ``include``, and calls through
header-bound functions against the same functions with ``argtypes`` set by hand.

    python bench/cdecl.py             # full run (a few seconds)
    python bench/cdecl.py --quick     # proves the machinery, no timing claims

cffi's parser (pycparser) refuses most of what ``gcc -E`` gives (GNU attributes,
``__asm__`` labels, ``__extension__``...), so the comparison uses the part of the
preprocessed header cffi accepts: GNU keywords are removed, then declarations cffi
refuses are dropped one at a time (from the line its error names) until it accepts
the rest. Both parse that same text. Times are medians of repeated runs, in ms.
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


def median_ms(fn, repeats):
    samples = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t) * 1e3)
    return statistics.median(samples)


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
    print("Parsing and binding (no preprocessor), ms, median of", repeats)
    print(f"{'header':<12} {'full text':>10} {'ft full':>8} | {'decls':>6} {'ft':>8} {'cffi':>8} {'cffi/ft':>8}")
    for header in HEADERS:
        text = preprocess(header)
        ft_full = median_ms(lambda: ft.cdecl.CNamespace(_ctypes.parse_c(text, header), [process], header), repeats)
        row = f"{header:<12} {len(text):>10} {ft_full:>8.2f} |"
        if cffi is None:
            print(row, "cffi not installed")
            continue
        accepted, n = cffi_accepted(text)
        ft_part = median_ms(lambda: ft.cdef(accepted, lib=process), repeats)
        cffi_part = median_ms(lambda: cffi.FFI().cdef(accepted), repeats)
        print(f"{row} {n:>6} {ft_part:>8.3f} {cffi_part:>8.2f} {cffi_part / ft_part:>7.0f}x")


def bench_include(quick):
    repeats = 3 if quick else 25
    print("\nA cached include (the preprocessor skipped), ms, median of", repeats)
    for header in HEADERS:
        ft.include(header)  # fills the cache
        print(f"{header:<12} {median_ms(lambda: ft.include(header), repeats):>8.2f}")


def bench_calls(quick):
    number = 2000 if quick else 200000
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
    print("\nCalls, ns per call (best of 7)")
    for label, header_fn, hand_fn, args in [
        ("cos(1.0)", m.cos, by_hand_cos, (1.0,)),
        ("difftime(5, 2)", t.difftime, by_hand_difftime, (5, 2)),
        ("gmtime_r(&t, &tm)", t.gmtime_r, by_hand_gmtime_r, (ft.byref(when), ft.byref(out))),
        ("strlen(b'abc') [nonnull]", s.strlen, by_hand_strlen, (b"abc",)),
    ]:
        t_header = min(timeit.repeat(lambda: header_fn(*args), number=number, repeat=7)) / number * 1e9
        t_hand = min(timeit.repeat(lambda: hand_fn(*args), number=number, repeat=7)) / number * 1e9
        print(f"{label:<26} header {t_header:>6.0f}  by hand {t_hand:>6.0f}  ratio {t_header / t_hand:.2f}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few repeats: no timing claims")
    args = parser.parse_args(argv)
    bench_parse(args.quick)
    bench_include(args.quick)
    bench_calls(args.quick)
    return 0


if __name__ == "__main__":
    sys.exit(main())
