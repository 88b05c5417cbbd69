"""The crash isolation of tests/isolation.py: a test that kills its process fails
alone, named, and the run goes on."""

import subprocess
import sys
import textwrap
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def test_a_crashing_isolated_test_fails_alone_and_the_run_goes_on(tmp_path):
    (tmp_path / "conftest.py").write_text(f"import sys\nsys.path.insert(0, {str(TESTS)!r})\npytest_plugins = ['isolation']\n")
    (tmp_path / "test_crash.py").write_text(textwrap.dedent("""
        import os, signal
        import pytest

        pytestmark = pytest.mark.isolated

        def test_crashes():
            os.kill(os.getpid(), signal.SIGSEGV)

        def test_fails():
            assert 1 == 2

        def test_passes():
            assert True
    """))
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
                         capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert "2 failed, 1 passed" in run.stdout, run.stdout + run.stderr
    assert "test_crashes" in run.stdout and "killed by SIGSEGV" in run.stdout, run.stdout
    assert "assert 1 == 2" in run.stdout, run.stdout
