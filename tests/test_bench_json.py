"""The benchmarks' --json output (bench/access.py here; bench/run.py's is read by the same
chart) and the chart made from it (bench/chart.py, when matplotlib is installed: the
docs' chart is made with it, the test suite does not require it)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def access_json(tmp_path_factory):
    path = tmp_path_factory.mktemp("bench") / "access.json"
    run = subprocess.run([sys.executable, str(ROOT / "bench" / "access.py"), "--quick", "--json", str(path)],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    return path


def test_access_json_has_every_operation_for_each_implementation(access_json):
    doc = json.loads(access_json.read_text())
    assert doc["meta"]["quick"] is True
    operations = [op["operation"] for op in doc["operations"]]
    assert operations[0] == "struct field get" and "call with struct pointer" in operations
    for op in doc["operations"]:
        assert set(op["ns"]) == {"ext", "ctypes", "ferrotypes"}, op


def test_chart_renders_a_png(access_json, tmp_path):
    pytest.importorskip("matplotlib", reason="bench/chart.py needs matplotlib (not a test requirement)")
    calls = tmp_path / "calls.json"
    run = subprocess.run([sys.executable, str(ROOT / "bench" / "run.py"), "--quick", "--thread-calls", "0",
                          "--only", "f0", "add_int", "--json", str(calls)],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    png = tmp_path / "chart.png"
    run = subprocess.run([sys.executable, str(ROOT / "bench" / "chart.py"), str(calls), str(access_json),
                          "-o", str(png), "--caption", "test"], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
