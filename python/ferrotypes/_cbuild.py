"""Compile a few C source files into a shared library, with caching.

What it is for: the ferrotypes tour, the test-suite (``tests/clib``) and the
benchmark (``bench/``) need small C libraries built on the spot.  This module
finds a C compiler, runs it once with ``-shared -fPIC -O2`` and caches the
output, so building the same sources again is a hash and a ``stat``.

What it is not: a build system.  It does not scan ``#include`` dependencies
(list extra files in ``depends=`` to put them in the cache key), probe
features, drive MSVC, or take part in ferrotypes' own run-time behaviour.
It uses only the standard library and imports no other ferrotypes module,
so it can be loaded by file path before the Rust extension is built.

    >>> from ferrotypes._cbuild import build_shared_library
    >>> path = build_shared_library(["demo.c"], "demo")   # doctest: +SKIP
    >>> import ferrotypes as ctypes
    >>> lib = ctypes.CDLL(str(path))                        # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shlex
import shutil
import stat
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Iterable, Sequence

__all__ = [
    "BuildError",
    "CompilerNotFound",
    "CompilerWarning",
    "build_shared_library",
    "default_cache_dir",
    "find_compiler",
    "shared_library_suffix",
]

# Bump when the way outputs are produced changes, to invalidate old caches.
_CACHE_VERSION = 1
_COMPILER_NAMES = ("cc", "gcc", "clang")
_WINDOWS = sys.platform in ("win32", "cygwin")


class CompilerNotFound(RuntimeError):
    """No usable C compiler: ``$CC`` is unset or unusable and none of
    ``cc``, ``gcc``, ``clang`` is on ``PATH``."""


class BuildError(RuntimeError):
    """The compiler ran and failed.  ``str()`` names the compiler, the command
    line and the compiler's stderr; the pieces are also attributes."""

    def __init__(self, compiler: str, command: Sequence[str], returncode: int | None, stderr: str):
        self.compiler = compiler
        self.command = list(command)
        self.returncode = returncode
        self.stderr = stderr
        status = "could not be run" if returncode is None else f"exited with status {returncode}"
        super().__init__(
            f"C compilation failed: compiler {compiler!r} {status}\n"
            f"command: {shlex.join(self.command)}\n"
            f"{stderr.rstrip() or '(no output on stderr)'}"
        )


class CompilerWarning(UserWarning):
    """The compiler succeeded but printed diagnostics (shown via ``warnings``)."""


def find_compiler() -> str | None:
    """Return the C compiler command to use, or ``None`` if there is none.

    ``$CC`` wins when set and its first word resolves on ``PATH`` (it may carry
    flags, e.g. ``"clang -m64"``; the result is a command line to be split with
    :func:`shlex.split`).  Otherwise the first of ``cc``, ``gcc``, ``clang``
    found on ``PATH`` is returned as an absolute path.
    """
    cc = os.environ.get("CC", "").strip()
    if cc:
        words = shlex.split(cc)
        if words and shutil.which(words[0]):
            return cc
    for name in _COMPILER_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def shared_library_suffix() -> str:
    """The platform's file suffix for shared libraries (``.so``, ``.dylib``, ``.dll``)."""
    if _WINDOWS:
        return ".dll"
    if sys.platform == "darwin":
        return ".dylib"
    return ".so"


def default_cache_dir() -> Path:
    """The per-user cache directory under :func:`tempfile.gettempdir`.

    Created with mode 0o700 on first use.  On POSIX, refuse to use it if
    another user owns it (someone could otherwise plant libraries there).
    """
    if hasattr(os, "getuid"):
        tag = str(os.getuid())
    else:  # Windows: the temp dir is already per-user; the name just keeps users apart
        try:
            import getpass

            user = getpass.getuser()
        except Exception:
            user = "user"
        tag = "".join(c if c.isalnum() or c in "-_." else "_" for c in user)
    root = Path(tempfile.gettempdir()) / f"ferrotypes-cbuild-{tag}"
    root.mkdir(mode=0o700, exist_ok=True)
    if hasattr(os, "getuid"):
        st = root.lstat()
        if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid():
            raise RuntimeError(
                f"refusing to use build cache {root}: it is not a directory owned by uid {os.getuid()}"
            )
    return root


def build_shared_library(
    sources: Sequence[str | os.PathLike[str]],
    name: str,
    outdir: str | os.PathLike[str] | None = None,
    extra_args: Iterable[str | os.PathLike[str]] = (),
    *,
    depends: Iterable[str | os.PathLike[str]] = (),
    suffix: str | None = None,
) -> Path:
    """Compile ``sources`` into the shared library ``<name><suffix>`` and return its path.

    The command is ``<cc> -shared -fPIC -O2 -o <out> <sources...> <extra_args...>``
    (``-fPIC`` is left out on Windows).  ``extra_args`` come after the sources
    so they may name libraries to link against.  ``suffix`` defaults to
    :func:`shared_library_suffix`; pass e.g. ``sysconfig.get_config_var("EXT_SUFFIX")``
    to build a Python extension module.

    The output is cached under a key hashing the compiler, the flags, the
    contents and paths of ``sources`` and ``depends``, and the platform.  With
    ``outdir=None`` it lives in ``default_cache_dir()/<name>-<key>/``; with an
    explicit ``outdir`` a small ``.<file>.key`` stamp next to it records the
    key.  Either way an up-to-date output is returned without running the
    compiler.  The compiler writes to a temporary name in the same directory
    which is then moved into place with :func:`os.replace`, so concurrent
    builds never expose a half-written file.

    Raises :class:`CompilerNotFound` without a compiler, :class:`BuildError`
    (a ``RuntimeError``) when compilation fails, ``FileNotFoundError`` for a
    missing source and ``ValueError`` for bad arguments.
    """
    if not sources:
        raise ValueError("build_shared_library() needs at least one source file")
    if not name or os.sep in name or (os.altsep and os.altsep in name) or name in (".", ".."):
        raise ValueError(f"library name must be a plain file name stem, got {name!r}")
    src_paths = [_existing_file(s, "source") for s in sources]
    dep_paths = [_existing_file(d, "dependency") for d in depends]
    extra = [os.fspath(a) for a in extra_args]
    filename = name + (shared_library_suffix() if suffix is None else suffix)

    compiler = find_compiler()
    if compiler is None:
        cc_env = os.environ.get("CC")
        hint = f" ($CC={cc_env!r} does not resolve)" if cc_env else ""
        raise CompilerNotFound(
            "no C compiler found: set $CC or put one of "
            + ", ".join(_COMPILER_NAMES)
            + f" on PATH{hint}"
        )
    cc_argv = shlex.split(compiler)
    flags = ["-shared", "-O2"] if _WINDOWS else ["-shared", "-fPIC", "-O2"]

    key = _cache_key(cc_argv, flags, extra, src_paths, dep_paths, filename)
    if outdir is None:
        target_dir = default_cache_dir() / f"{name}-{key[:20]}"
        stamp = None
    else:
        target_dir = Path(outdir)
        stamp = target_dir / f".{filename}.key"
    target = target_dir / filename

    if target.is_file() and (stamp is None or _read_text(stamp) == key):
        return target

    target_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{filename}.", suffix=".tmp", dir=target_dir)
    os.close(fd)
    tmp = Path(tmp_name)
    command = [*cc_argv, *flags, "-o", str(tmp), *map(str, src_paths), *extra]
    try:
        try:
            proc = subprocess.run(command, capture_output=True, text=True, errors="replace")
        except OSError as exc:
            raise BuildError(compiler, command, None, str(exc)) from exc
        if proc.returncode != 0:
            raise BuildError(compiler, command, proc.returncode, proc.stderr or proc.stdout)
        try:
            os.replace(tmp, target)
        except PermissionError:
            # Windows cannot replace a DLL that is loaded; a concurrent build
            # of the same key already put an equivalent file there.
            if not target.is_file():
                raise
    finally:
        tmp.unlink(missing_ok=True)

    if stamp is not None:
        _write_atomic(stamp, key)
    diagnostics = (proc.stderr or "").strip()
    if diagnostics:
        warnings.warn(
            f"{compiler} printed diagnostics while building {filename}:\n{diagnostics}",
            CompilerWarning,
            stacklevel=2,
        )
    return target


def _existing_file(path: str | os.PathLike[str], what: str) -> Path:
    p = Path(path).resolve()
    if not p.is_file():
        raise FileNotFoundError(f"{what} file not found: {os.fspath(path)}")
    return p


def _compiler_identity(cc_argv: list[str]) -> list[object]:
    """Path, size and mtime of the compiler executable: cheap, and changes on upgrade."""
    resolved = shutil.which(cc_argv[0]) or cc_argv[0]
    try:
        real = os.path.realpath(resolved)
        st = os.stat(real)
        return [real, st.st_size, st.st_mtime_ns]
    except OSError:
        return [resolved]


def _cache_key(cc_argv, flags, extra, src_paths, dep_paths, filename) -> str:
    def digest(p: Path) -> list[str]:
        return [str(p), hashlib.sha256(p.read_bytes()).hexdigest()]

    material = {
        "version": _CACHE_VERSION,
        "compiler": cc_argv,
        "compiler_id": _compiler_identity(cc_argv),
        "flags": flags,
        "extra": extra,
        "filename": filename,
        "platform": [sys.platform, platform.machine()],
        "sources": [digest(p) for p in src_paths],
        "depends": [digest(p) for p in dep_paths],
    }
    blob = json.dumps(material, sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def _write_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f"{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text + "\n")
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
