"""Runs numpy's own ``numpy/tests/test_ctypeslib.py`` against ferrotypes.

The test module is copied unchanged into a temporary directory next to a
``conftest.py`` that, before pytest imports the module, makes the names ``ctypes`` and
``numpy.ctypeslib`` resolve to ``ferrotypes`` and ``ferrotypes.numpy``.  The pytest run
happens in a subprocess so the swap never leaks into the caller.

``python tests/numpy_ctypeslib/run.py [pytest args]`` prints pytest's report and exits
with pytest's status.
"""

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

MARKERS = '''
import numpy._core._multiarray_tests  # the test module loads it as a library; numpy's conftest imports it


def pytest_configure(config):
    config.addinivalue_line("markers", "thread_unsafe: numpy's marker (unused here)")
'''

CONFTEST = '''\
import sys

import numpy

import ferrotypes
import ferrotypes.numpy

sys.modules["ctypes"] = ferrotypes
sys.modules["numpy.ctypeslib"] = ferrotypes.numpy
numpy.ctypeslib = ferrotypes.numpy


def pytest_collection_modifyitems(session, config, items):
    # the run means nothing unless the module really uses ferrotypes
    for item in items:
        module = item.module
        assert module.ctypes is ferrotypes, module.ctypes
        assert module.as_array is ferrotypes.numpy.as_array
        assert module.ndpointer is ferrotypes.numpy.ndpointer
        assert module.load_library is ferrotypes.numpy.load_library
''' + MARKERS


def numpy_test_file() -> Path:
    import numpy

    return Path(numpy.__file__).parent / "tests" / "test_ctypeslib.py"


def run(pytest_args=(), against_stdlib=False) -> subprocess.CompletedProcess:
    """Runs the test module against ferrotypes, or (``against_stdlib``) unchanged
    against the stdlib's ctypes, for comparison."""
    with tempfile.TemporaryDirectory(prefix="ft-numpy-ctypeslib-") as tmp:
        shutil.copy(numpy_test_file(), Path(tmp) / "test_ctypeslib.py")
        (Path(tmp) / "conftest.py").write_text(MARKERS if against_stdlib else CONFTEST)
        return subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
             "--rootdir", tmp, *pytest_args, tmp],
            cwd=tmp, capture_output=True, text=True, timeout=300,
            env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})


if __name__ == "__main__":
    result = run(sys.argv[1:])
    sys.stdout.write(result.stdout)
    sys.stderr.write(result.stderr)
    sys.exit(result.returncode)
