"""Build tests/clib/fttest.c, callbacks.c and records.c into the shared test library and return its path.

Used by tests/conftest.py and by the benchmark (bench/).  Runnable as a script:
``python tests/clib/build.py`` prints the library's path.

The compile helper is ``ferrotypes._cbuild``; when ``ferrotypes`` cannot be
imported (not built or installed yet) the repository's copy is loaded by file
path, so this works from a bare checkout.
"""

from __future__ import annotations

import importlib.util
import pathlib
import sys
from types import ModuleType

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parent.parent
SOURCES = [HERE / "fttest.c", HERE / "callbacks.c", HERE / "records.c", HERE / "arrays.c"]
LIBNAME = "fttest"


def load_by_path(modname: str, path: pathlib.Path) -> ModuleType:
    """Import the module at ``path`` under ``modname`` (once; later calls reuse it)."""
    if modname in sys.modules:
        return sys.modules[modname]
    spec = importlib.util.spec_from_file_location(modname, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[modname] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[modname]
        raise
    return module


def load_cbuild() -> ModuleType:
    """Return ferrotypes._cbuild, importing it by file path if the package is unavailable."""
    try:
        from ferrotypes import _cbuild
        return _cbuild
    except Exception:  # not built, half-built, or broken: the helper itself is stdlib-only
        pass
    return load_by_path("_ferrotypes_cbuild_by_path", REPO / "python" / "ferrotypes" / "_cbuild.py")


def build() -> pathlib.Path:
    """Compile the test library's sources (cached) and return its path."""
    cbuild = load_cbuild()
    filename = LIBNAME + cbuild.shared_library_suffix()
    # Record a bare file name as the library's own name (soname / install name),
    # so something linking against it finds it through its rpath.
    if sys.platform == "darwin":
        extra = [f"-Wl,-install_name,@rpath/{filename}"]
    elif sys.platform in ("win32", "cygwin"):
        extra = []
    else:
        extra = [f"-Wl,-soname,{filename}", "-pthread"]
    return cbuild.build_shared_library(SOURCES, LIBNAME, extra_args=extra)


if __name__ == "__main__":
    print(build())
