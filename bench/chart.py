#!/usr/bin/env python3
"""Renders benchmark results as a chart: ns per operation, log scale, for ferrotypes,
ctypes, cffi and the hand-written C extension, one group of bars per scenario.

    python bench/run.py --json calls.json
    python bench/access.py --json access.json
    python bench/chart.py calls.json access.json -o docs/benchmark.png \\
        --caption "python bench/run.py --json ...; $(date -u +%F)"

The first file is bench/run.py's output (calls, each against the C extension that releases
the GIL as ferrotypes' CDLL does); the second, optional, bench/access.py's (field and
element access, instance creation, calls with structures). Needs matplotlib.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import textwrap
from pathlib import Path

# (key in bench/run.py's columns, legend label, colour)
CALL_COLUMNS = [
    ("ft_cdll", "ferrotypes (CDLL)", "#c0392b"),
    ("ctypes", "ctypes", "#2c3e50"),
    ("cffi", "cffi (ABI mode)", "#7f8c8d"),
    ("ext_nogil", "C extension", "#27ae60"),
]
# (key in bench/access.py's "ns", legend label, colour): cffi has no such column there.
ACCESS_COLUMNS = [
    ("ferrotypes", "ferrotypes", "#c0392b"),
    ("ctypes", "ctypes", "#2c3e50"),
    ("ext", "C extension", "#27ae60"),
]


def call_rows(doc: dict) -> list[tuple[str, dict[str, float]]]:
    """(scenario label, {column key: ns per call}) for each scenario bench/run.py timed."""
    rows = []
    for scenario in doc["scenarios"].values():
        cells = {key: cell["ns"] for key, cell in scenario["cells"].items() if "ns" in cell}
        rows.append((scenario["label"], cells))
    return rows


def access_rows(doc: dict) -> list[tuple[str, dict[str, float]]]:
    return [(op["operation"], dict(op["ns"])) for op in doc["operations"]]


def _short_ns(value: float, _position: object = None) -> str:
    """100, 2k, 10M: tick labels that stay short over eight decades."""
    for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if value >= scale:
            return f"{value / scale:g}{suffix}"
    return f"{value:g}"


def draw(ax, rows, columns, title: str) -> None:
    """Horizontal grouped bars on a log axis; a cell that was not timed is left out."""
    from matplotlib import ticker

    height = 0.8 / len(columns)
    for i, (key, label, colour) in enumerate(columns):
        ys, widths = [], []
        for row_index, (_, cells) in enumerate(rows):
            value = cells.get(key)
            if value is not None and value > 0 and math.isfinite(value):
                ys.append(row_index + (i - (len(columns) - 1) / 2) * height)
                widths.append(value)
        ax.barh(ys, widths, height=height, label=label, color=colour)
    ax.set_yticks(range(len(rows)), [label for label, _ in rows], fontsize=8)
    ax.invert_yaxis()
    ax.set_xscale("log")
    values = [v for _, cells in rows for v in cells.values() if v > 0 and math.isfinite(v)]
    narrow = math.log10(max(values) / min(values)) <= 3  # label 1, 2, 5 of each decade
    ax.xaxis.set_major_locator(ticker.LogLocator(base=10, subs=(1.0, 2.0, 5.0) if narrow else (1.0,)))
    ax.xaxis.set_major_formatter(ticker.FuncFormatter(_short_ns))
    ax.xaxis.set_minor_formatter(ticker.NullFormatter())
    ax.set_xlabel("ns per operation (log scale; shorter is faster)")
    ax.set_title(title, fontsize=10, loc="left")
    ax.grid(axis="x", which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="best")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("calls", type=Path, help="bench/run.py --json output")
    parser.add_argument("access", type=Path, nargs="?", help="bench/access.py --json output")
    parser.add_argument("-o", "--output", type=Path, required=True, help="the PNG to write")
    parser.add_argument("--caption", default="", help="text under the chart (command and date)")
    args = parser.parse_args(argv)

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    calls = json.loads(args.calls.read_text())
    if calls["meta"].get("quick"):
        print("note: these are --quick numbers, which prove the machinery only", file=sys.stderr)
    panels = [(call_rows(calls), CALL_COLUMNS, "Foreign calls (bench/run.py)")]
    if args.access is not None:
        access = json.loads(args.access.read_text())
        panels.append((access_rows(access), ACCESS_COLUMNS, "Data access and instances (bench/access.py)"))

    heights = [max(2.0, 0.32 * len(rows) * len(columns) / 3 + 1.0) for rows, columns, _ in panels]
    fig, axes = plt.subplots(len(panels), 1, figsize=(9, sum(heights) + 0.8),
                             gridspec_kw={"height_ratios": heights}, squeeze=False)
    for ax, (rows, columns, title) in zip(axes[:, 0], panels):
        draw(ax, rows, columns, title)
    meta = calls["meta"]
    footer = f"{meta['python']} on {meta['platform']}"
    if args.caption:
        footer = "\n".join(textwrap.wrap(args.caption, 120) + [footer])
    fig.text(0.01, 0.005, footer, fontsize=7, va="bottom", ha="left", family="monospace")
    fig.tight_layout(rect=(0, 0.012 * (footer.count("\n") + 2), 1, 1))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.output, dpi=110)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
