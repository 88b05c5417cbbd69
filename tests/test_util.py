"""ferrotypes.util must find the same libraries as ctypes.util.

Differential tests: every answer of ``ferrotypes.util.find_library`` (and of
each search step behind it) is compared with the stdlib's on this machine.
"""

import ctypes.util as std_util
import os
import shutil
import subprocess
import sys

import pytest

from ferrotypes import util as ferro_util

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="the ldconfig/gcc/ld search is Linux's")

NAMES = ["c", "m", "z", "ssl", "crypto", "sqlite3", "pthread", "dl", "bz2",
         "ffi", "nonexistent_xyz"]


@pytest.mark.parametrize("name", NAMES)
def test_find_library_matches_ctypes(name):
    assert ferro_util.find_library(name) == std_util.find_library(name)


def test_libc_and_libm_are_found():
    # Guards against both implementations returning None for everything.
    assert ferro_util.find_library("c") is not None
    assert ferro_util.find_library("m") is not None


@pytest.mark.parametrize("name", NAMES)
def test_each_search_step_matches_ctypes(name):
    # find_library returns the first hit, so the loader cache usually hides
    # the compiler and ld steps; compare them one by one.
    assert (ferro_util._findSoname_ldconfig(name)
            == std_util._findSoname_ldconfig(name))
    gcc_path = ferro_util._findLib_gcc(name)
    assert gcc_path == std_util._findLib_gcc(name)
    assert ferro_util._get_soname(gcc_path) == std_util._get_soname(gcc_path)
    ld_path = ferro_util._findLib_ld(name)
    assert ld_path == std_util._findLib_ld(name)
    assert ferro_util._get_soname(ld_path) == std_util._get_soname(ld_path)


def test_missing_library_is_none():
    assert ferro_util.find_library("nonexistent_xyz") is None


def test_no_shell_injection(tmp_path):
    marker = tmp_path / "injected"
    name = "; echo Hello shell > " + str(marker)
    assert ferro_util.find_library(name) is None
    assert not marker.exists()


@pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc")
def test_find_on_ld_library_path(tmp_path, monkeypatch):
    # A library that only LD_LIBRARY_PATH leads to: with the cache and the
    # compiler steps disabled, both implementations must find it through ld.
    libname = "ferrotypes_util_dummy"
    source = tmp_path / (libname + ".c")
    source.write_text("int ferrotypes_util_dummy(void) { return 42; }\n")
    target = tmp_path / ("lib%s.so" % libname)
    subprocess.check_call(["gcc", "-shared", "-fPIC",
                           "-Wl,-soname,lib%s.so" % libname,
                           "-o", str(target), str(source)])
    monkeypatch.setenv("LD_LIBRARY_PATH", str(tmp_path))
    for module in (ferro_util, std_util):
        monkeypatch.setattr(module, "_findSoname_ldconfig", lambda *a: None)
        monkeypatch.setattr(module, "_findLib_gcc", lambda *a: None)

    found = ferro_util.find_library(libname)
    assert found == std_util.find_library(libname)
    assert found == os.path.basename(target)


def test_public_names_match_ctypes_util():
    def public_functions(module):
        return {name for name, value in vars(module).items()
                if not name.startswith("_") and callable(value)
                and getattr(value, "__module__", None) == module.__name__}

    # ctypes.util also has an undocumented demo function ``test``.
    assert public_functions(ferro_util) == public_functions(std_util) - {"test"}
