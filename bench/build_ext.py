"""Build bench/ext/ftbench_*.c, the hand-written CPython extension of the benchmark.

It is compiled against the running interpreter's headers, named with its
EXT_SUFFIX, and linked against the test library from tests/clib (with an
rpath to its directory), so the wrappers make plain C calls into the very same
functions the FFIs call.  Both outputs are cached by ferrotypes._cbuild.

    python bench/build_ext.py      # prints the extension's path
"""

from __future__ import annotations

import importlib.util
import pathlib
import sys
import sysconfig
from types import ModuleType

BENCH = pathlib.Path(__file__).resolve().parent
REPO = BENCH.parent
SOURCES = [BENCH / "ext" / "ftbench_ext.c", BENCH / "ext" / "ftbench_data.c"]
MODNAME = "ftbench_ext"


def clib() -> ModuleType:
    """tests/clib/build.py as a module (it is not part of an importable package); its
    ``load_by_path`` also loads the built extension below."""
    name = "_ferrotypes_tests_clib_build"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, REPO / "tests" / "clib" / "build.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        sys.modules[name] = module
    return sys.modules[name]


def build(testlib: pathlib.Path | None = None) -> pathlib.Path:
    """Compile the extension (cached) and return its path; builds the test library if needed."""
    if sys.platform in ("win32", "cygwin"):
        raise RuntimeError("the benchmark's C extension is built for POSIX platforms only")
    build_mod = clib()
    testlib = pathlib.Path(testlib) if testlib is not None else build_mod.build()
    cbuild = build_mod.load_cbuild()

    paths = sysconfig.get_paths()
    includes = dict.fromkeys([paths["include"], paths["platinclude"]])  # ordered, deduplicated
    suffix = sysconfig.get_config_var("EXT_SUFFIX") or ".so"
    args = [f"-I{inc}" for inc in includes]
    args += [str(testlib), f"-Wl,-rpath,{testlib.parent}"]
    if sys.platform == "darwin":
        args += ["-undefined", "dynamic_lookup"]  # Python symbols come from the interpreter
    return cbuild.build_shared_library(SOURCES, MODNAME, extra_args=args, suffix=suffix)


def load(path: pathlib.Path | None = None) -> ModuleType:
    """Import the built extension module from its path."""
    path = pathlib.Path(path) if path is not None else build()
    return clib().load_by_path(MODNAME, path)


if __name__ == "__main__":
    print(build())
