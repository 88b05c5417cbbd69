"""The typed example programs (tests/typed_examples) run against real C, and the type
checker catches a wrong claim about ferrotypes' types.

scripts/check-types runs the full static checks (mypy --strict over the examples and the
stubs, stubtest, pyright); here each example also runs as a program, so the types it
asserts are the ones the code really has, and one mypy run proves the checks can fail.
"""

import importlib.metadata
import subprocess
import sys
from pathlib import Path

import pytest

import ferrotypes

EXAMPLES = sorted((Path(__file__).parent / "typed_examples").glob("*.py"))


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_typed_example_runs(example, tmp_path):
    result = subprocess.run([sys.executable, str(example)], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().endswith(f"{example.stem}: ok")


def test_mypy_reports_a_wrong_element_type(tmp_path):
    pytest.importorskip("mypy")
    program = tmp_path / "wrong.py"
    program.write_text(
        "from typing import assert_type\n"
        "from ferrotypes import c_int\n"
        "numbers = (c_int * 3)(1, 2, 3)\n"
        "assert_type(numbers[0], str)\n"
        "assert_type(c_int(1).value, int)\n")
    result = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(program)],
                            cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 1, result.stdout + result.stderr
    assert 'wrong.py:4: error: Expression is of type "int", not "str"' in result.stdout, result.stdout
    assert "wrong.py:5" not in result.stdout, result.stdout


def test_array_is_generic_at_run_time_as_in_ctypes():
    alias = ferrotypes.Array[ferrotypes.c_int]
    assert alias.__origin__ is ferrotypes.Array and alias.__args__ == (ferrotypes.c_int,)


def test_version_is_the_package_version():
    assert ferrotypes.__version__ == importlib.metadata.version("ferrotypes")
    assert ferrotypes._ctypes.__version__ == "1.1.0"  # ctypes' own, as _ctypes has it
