"""CPython's own ctypes test suite, run against ferrotypes by conformance/run.py.

The runner's ratchet fails when a test recorded as passing in conformance/baseline.json
no longer passes; the counts are printed for the record.
"""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_no_recorded_pass_regresses():
    run = subprocess.run(
        [sys.executable, str(ROOT / "conformance" / "run.py"), "--check"],
        capture_output=True, text=True, timeout=900,
    )
    summary = [line for line in run.stdout.splitlines() if line.startswith("conformance:")]
    print("\n".join(summary))
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert summary, "the runner printed no summary line"
