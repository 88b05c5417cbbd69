"""The C compiler as the oracle for ``ferrotypes.cdef``/``include``: the layout and
constant probe of ``ferrotypes._verify`` (what ``ns.verify()`` runs), and ``gcc
-aux-info`` prototypes, cached by the hash of the source, flags and the compiler's
identity, so a second run compiles nothing.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import subprocess
import tempfile
from pathlib import Path

import ferrotypes as ft
from ferrotypes import _verify
from ferrotypes._cbuild import build_shared_library, default_cache_dir, find_compiler

CC = find_compiler()
CLIB = Path(__file__).resolve().parent / "clib"


def clib_library(name):
    """The shared library built from ``clib/<name>.c``, which declares itself in
    ``clib/<name>.h`` (cached while both are unchanged)."""
    return build_shared_library([CLIB / f"{name}.c"], name, depends=[CLIB / f"{name}.h"])


def clib_namespace(name):
    """``clib/<name>.h`` read with ``cdef``, bound to :func:`clib_library`'s library."""
    return ft.cdef((CLIB / f"{name}.h").read_text(), lib=str(clib_library(name)))


@functools.lru_cache(maxsize=None)
def _compiler_identity():
    return subprocess.run([CC, "--version"], capture_output=True, text=True).stdout


def cached_output(source, flags=()):
    """The ``-aux-info`` prototypes of ``source``."""
    key = hashlib.sha256("\0".join(["aux", source, _compiler_identity(), *flags]).encode()).hexdigest()
    cache = default_cache_dir() / "cdecl-probes"
    cache.mkdir(parents=True, exist_ok=True)
    out_file = cache / f"{key}.txt"
    if out_file.exists():
        return out_file.read_text()
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "probe.c"
        src.write_text(source)
        info = Path(tmp) / "aux.txt"
        proc = subprocess.run([CC, "-w", *flags, "-c", str(src), "-o", os.devnull, "-aux-info", str(info)],
                              capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr[-3000:]
        text = info.read_text()
    tmp_file = out_file.with_suffix(f".{os.getpid()}.tmp")
    tmp_file.write_text(text)
    os.replace(tmp_file, out_file)
    return text


def layout_checks(prelude, ns, flags=(), link=()):
    """``(number of checks, differences)`` of every record and constant of ``ns`` against
    the compiler (``prelude``: the C lines declaring them): the package's own probe,
    ``ferrotypes._verify``, which ``ns.verify()`` runs."""
    return _verify.differences(ns, prelude, [CC], flags, link)


_AUX = re.compile(r"^/\* (?P<file>[^:]+):\d+:(?P<flags>\w+) \*/ (?P<decl>.*);$")


def aux_functions(source, flags=()):
    """``{name: (fixed parameter count, variadic)}`` of the prototypes ``-aux-info``
    lists for ``source`` (K&R definitions, without a prototype, are left out)."""
    out = {}
    for line in cached_output(source, flags).splitlines():
        m = _AUX.match(line)
        if not m or ("N" not in m.group("flags") and "O" not in m.group("flags")):
            continue
        decl = m.group("decl")
        # The declarator's name: an identifier followed by a parameter list (not by
        # "(*"), the least deep in parentheses (deeper ones are inside parameter lists).
        candidates = list(re.finditer(r"(\w+) \((?!\*)", decl))
        if not candidates:
            continue
        match = min(candidates, key=lambda c: decl.count("(", 0, c.start()) - decl.count(")", 0, c.start()))
        depth, i = 0, match.end() - 1
        for j in range(i, len(decl)):
            depth += {"(": 1, ")": -1}.get(decl[j], 0)
            if depth == 0:
                params = decl[i + 1:j]
                break
        else:
            continue
        parts, depth, cur = [], 0, ""
        for ch in params:
            depth += {"(": 1, ")": -1}.get(ch, 0)
            if ch == "," and depth == 0:
                parts.append(cur.strip())
                cur = ""
            else:
                cur += ch
        parts.append(cur.strip())
        if parts in (["void"], [""]):
            parts = []
        variadic = bool(parts) and parts[-1] == "..."
        out[match.group(1)] = (len(parts) - variadic, variadic)
    return out


def function_differences(ns, aux):
    """Functions of ``aux`` that ``ns`` does not declare with that parameter count."""
    wrong = []
    for name, (count, variadic) in aux.items():
        d = ns._decls.get(name)
        if d is None or d["kind"] != "function":
            wrong.append(f"{name}: not declared as a function")
            continue
        _, _, params, v, unspecified = d["type"]
        if not unspecified and (len(params), v) != (count, variadic):
            wrong.append(f"{name}: {len(params)} parameters (variadic {v}), compiler {count} ({variadic})")
    return wrong
