"""Shared fixtures: ferrotypes, its oracle (the stdlib's ctypes), and libraries
loaded through both.

Most tests are differential: they do the same thing with ``ferrotypes`` and with
the stdlib's ``ctypes`` and compare.  Libraries come in pairs (:class:`LibPair`),
one ``CDLL`` of each implementation over the same shared object.

The pairs are session-wide, so a test must not configure a function reached by
attribute (``lib.strlen.argtypes = ...``): attribute access caches the function
object on the library and the setting would leak into other tests.  Take fresh
function objects with :meth:`LibPair.func` (item access, ``lib["strlen"]``, is
not cached) or load a library of your own.
"""

from __future__ import annotations

import ctypes as std_ctypes
import ctypes.util as std_util
import importlib.util
import pathlib
import sys

import pytest

import ferrotypes
from difftools import LibPair

pytest_plugins = ["isolation"]

TESTS = pathlib.Path(__file__).resolve().parent
CLIB_BUILD = TESTS / "clib" / "build.py"


def _load_clib_builder():
    """tests/clib/build.py, imported by path (tests/ is not a package)."""
    spec = importlib.util.spec_from_file_location("_fttest_clib_build", CLIB_BUILD)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --------------------------------------------------------------------------
# Fixtures
# --------------------------------------------------------------------------

@pytest.fixture(scope="session")
def ft():
    """The module under test, used as ``import ferrotypes as ctypes``."""
    return ferrotypes


@pytest.fixture(scope="session")
def std():
    """The oracle: the stdlib's ctypes."""
    return std_ctypes


@pytest.fixture(scope="session")
def fttest_path() -> str:
    """Path of the repository's C test library, compiled once per session
    (and cached across sessions by the build helper)."""
    return str(_load_clib_builder().build())


@pytest.fixture(scope="session")
def fttest(fttest_path) -> LibPair:
    """The C test library (tests/clib/fttest.c) through both implementations."""
    return LibPair(ft=ferrotypes.CDLL(fttest_path), std=std_ctypes.CDLL(fttest_path))


def _system_library(short_name):
    found = std_util.find_library(short_name)
    if found is None:
        pytest.fail(f"the system library lib{short_name} was not found")
    return found


@pytest.fixture(scope="session")
def libc() -> LibPair:
    """The C library, through both implementations."""
    name = _system_library("c")
    return LibPair(ft=ferrotypes.CDLL(name), std=std_ctypes.CDLL(name))


@pytest.fixture(scope="session")
def libm() -> LibPair:
    """The C math library, through both implementations."""
    name = _system_library("m")
    return LibPair(ft=ferrotypes.CDLL(name), std=std_ctypes.CDLL(name))


def pytest_report_header(config):
    return f"ferrotypes {ferrotypes.__file__}; oracle ctypes of Python {sys.version.split()[0]}"


def pytest_collection_modifyitems(config, items):
    """Marks the tests listed in known_differences.py as strict expected failures."""
    from known_differences import KNOWN_DIFFERENCES

    for item in items:
        test_id = item.nodeid.split("tests/", 1)[-1]
        reason = KNOWN_DIFFERENCES.get(test_id)
        if reason is not None:
            item.add_marker(pytest.mark.xfail(reason=reason, strict=True))
