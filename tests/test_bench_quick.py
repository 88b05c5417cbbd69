"""The benchmark's --quick mode runs every scenario once: it proves the benchmark works
(every implementation binds and returns the right values), asserting nothing about time."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_benchmark_quick_mode_runs_every_scenario():
    run = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--quick"],
        capture_output=True, text=True, timeout=600,
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "ft-CDLL" in run.stdout, "ferrotypes was not measured"


def test_access_benchmark_quick_mode_runs_every_operation():
    run = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "access.py"), "--quick"],
        capture_output=True, text=True, timeout=600,
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "call with struct pointer" in run.stdout


def test_sweep_benchmark_quick_mode_runs_every_operation():
    run = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "sweep.py"), "--quick"],
        capture_output=True, text=True, timeout=600,
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "CFUNCTYPE(...)(f) (making a callback)" in run.stdout
    assert "rows: 59;" in run.stdout


def test_sweep_instruction_mode_counts_a_row_for_each_implementation():
    run = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "sweep.py"), "--quick", "--instructions", "--only", "len(a)"],
        capture_output=True, text=True, timeout=600,
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    row = next(line for line in run.stdout.splitlines() if line.startswith("len(a)"))
    ctypes_count, ft_count, _, floor_count, _ = row.split()[1:6]
    assert all(float(count) > 0 for count in (ctypes_count, ft_count, floor_count)), row
