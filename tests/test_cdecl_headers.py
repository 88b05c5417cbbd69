"""The header yardstick: real installed headers read by ``ferrotypes.include``, with the C
compiler as the oracle.

For each header a C probe is generated from what the namespace declares — ``sizeof``,
``_Alignof`` and ``offsetof`` of every complete structure and union, the value of every
integer constant (enum constants and macros ferrotypes evaluated) — compiled, run, and
compared with the ferrotypes classes and values. The functions ``gcc -aux-info`` lists
must be declared with the same parameter count. Probe outputs are cached by the hash of
their source (and the compiler's identity), so a second run compiles nothing.

The Debian packages providing the headers are listed in scripts/debian-packages.txt.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sysconfig
import tempfile
from pathlib import Path

import pytest

import ferrotypes as ft
from ferrotypes._cbuild import default_cache_dir, find_compiler

HEADERS = [
    "stdio.h", "stdlib.h", "string.h", "math.h", "time.h", "signal.h", "pthread.h",
    "sys/socket.h", "complex.h", "zlib.h", "sqlite3.h", "cblas.h", "gsl/gsl_integration.h",
    "gsl/gsl_odeiv2.h", "png.h", "expat.h", "lzma.h", "bzlib.h", "ffi.h", "Python.h",
]

CC = find_compiler()
pytestmark = pytest.mark.skipif(CC is None, reason="no C compiler")


def _flags(header):
    return ["-I" + sysconfig.get_paths()["include"]] if header == "Python.h" else []


def _compiler_identity():
    return subprocess.run([CC, "--version"], capture_output=True, text=True).stdout


def _cached_run(kind, source, header, argv_tail):
    """Compiles ``source`` (and runs it for ``kind == "run"``); the text output, cached."""
    key = hashlib.sha256("\0".join([kind, source, _compiler_identity(), *_flags(header)]).encode()).hexdigest()
    cache = default_cache_dir() / "cdecl-probes"
    cache.mkdir(parents=True, exist_ok=True)
    out_file = cache / f"{key}.txt"
    if out_file.exists():
        return out_file.read_text()
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "probe.c"
        src.write_text(source)
        if kind == "run":
            exe = Path(tmp) / "probe"
            proc = subprocess.run([CC, "-w", *_flags(header), str(src), "-o", str(exe), *argv_tail],
                                  capture_output=True, text=True)
            assert proc.returncode == 0, proc.stderr[-3000:]
            text = subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout
        else:
            info = Path(tmp) / "aux.txt"
            proc = subprocess.run([CC, "-w", *_flags(header), "-c", str(src), "-o", os.devnull,
                                   "-aux-info", str(info)], capture_output=True, text=True)
            assert proc.returncode == 0, proc.stderr[-3000:]
            text = info.read_text()
    out_file.write_text(text)
    return text


# Differences ferrotypes cannot remove, each with its reason; the test requires that they
# are still exactly these (a fixed one must be taken off this list).
KNOWN_DIFFERENCES = {
    # glibc: `typedef struct {...} __pthread_unwind_buf_t __attribute__((__aligned__))`.
    # GCC keeps the 104-byte size and makes the alignment 16; a ctypes record's size is
    # always a multiple of its alignment, so no Structure has both.
    "__pthread_unwind_buf_t: sizeof/_Alignof (104, 8), compiler (104, 16)",
}

_namespaces = {}


def namespace(header):
    if header not in _namespaces:
        _namespaces[header] = ft.include(header)
    return _namespaces[header]


def _record_c_name(r):
    if r["tag"]:
        return f"{r['kind']} {r['tag']}"
    return r["typedef_name"]


def _member_names(ns, r):
    """Named plain members, including those reached through anonymous members."""
    for name, t, bits in r["fields"]:
        if name is None and bits is None and t[0] == "record":
            yield from _member_names(ns, ns._records[t[1]])
        elif name is not None and bits is None:
            yield name


def _integer_constants(ns):
    values = {}
    for name in dir(ns):
        if name in ns._decls:
            continue
        if name not in ns._constants and name not in ns._macros:
            continue
        try:
            v = getattr(ns, name)
        except AttributeError:
            continue
        if isinstance(v, int) and not isinstance(v, bool) and name.isidentifier():
            values[name] = int(v)
    return values


def _probe(header, ns):
    lines = [f"#include <{header}>", "#include <stdio.h>", "#include <stddef.h>", "int main(void) {"]
    records = []
    for r in ns._records:
        name = _record_c_name(r)
        if r["fields"] is None or name is None:
            continue
        records.append((name, r))
        lines.append(f'printf("R|{name}|%zu|%zu\\n", sizeof({name}), _Alignof({name}));')
        for m in _member_names(ns, r):
            lines.append(f'printf("F|{name}|{m}|%zu\\n", offsetof({name}, {m}));')
    constants = _integer_constants(ns)
    for name in constants:
        lines.append(f'printf("I|{name}|%lld\\n", (long long)({name}));')
    lines.append("return 0; }")
    return "\n".join(lines) + "\n", records, constants


@pytest.mark.parametrize("header", HEADERS)
def test_records_and_constants_match_the_compiler(header):
    ns = namespace(header)
    source, records, constants = _probe(header, ns)
    lib_flags = ["-lm"]
    output = _cached_run("run", source, header, lib_flags)
    assert output.strip(), "the probe checked nothing"
    wrong = []
    by_name = {}
    for name, r in records:
        by_name[name] = ns[name] if name.startswith(("struct ", "union ")) else getattr(ns, name)
    for line in output.splitlines():
        kind, *rest = line.split("|")
        if kind == "R":
            name, size, align = rest[0], int(rest[1]), int(rest[2])
            cls = by_name[name]
            got = (ft.sizeof(cls), ft.alignment(cls))
            if got != (size, align):
                wrong.append(f"{name}: sizeof/_Alignof {got}, compiler {(size, align)}")
        elif kind == "F":
            name, member, offset = rest[0], rest[1], int(rest[2])
            got = getattr(by_name[name], member).offset
            if got != offset:
                wrong.append(f"{name}.{member}: offset {got}, compiler {offset}")
        elif kind == "I":
            name, value = rest[0], int(rest[1])
            if (constants[name] - value) % (1 << 64):
                wrong.append(f"{name}: {constants[name]}, compiler {value}")
    checked = len(output.splitlines())
    wrong = [w for w in wrong if w not in KNOWN_DIFFERENCES]
    assert not wrong, f"{len(wrong)} of {checked} checks differ:\n" + "\n".join(wrong[:40])


_AUX = re.compile(r"^/\* (?P<file>[^:]+):\d+:(?P<flags>\w+) \*/ (?P<decl>.*);$")


def _aux_functions(text):
    """``{name: (fixed parameter count, variadic)}`` of the prototypes -aux-info lists."""
    out = {}
    for line in text.splitlines():
        m = _AUX.match(line)
        if not m or "N" not in m.group("flags") and "O" not in m.group("flags"):
            continue
        decl = m.group("decl")
        # The declarator's name: the identifier followed by a parameter list that is least
        # deep in parentheses (deeper ones are inside parameter lists).
        candidates = list(re.finditer(r"(\w+) \((?!\*)", decl))
        if not candidates:
            continue
        match = min(candidates, key=lambda c: decl.count("(", 0, c.start()) - decl.count(")", 0, c.start()))
        name = match.group(1)
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
        if parts == ["void"] or parts == [""]:
            parts = []
        variadic = bool(parts) and parts[-1] == "..."
        out[name] = (len(parts) - variadic, variadic)
    return out


@pytest.mark.parametrize("header", HEADERS)
def test_functions_match_aux_info(header):
    ns = namespace(header)
    aux = _aux_functions(_cached_run("aux", f"#include <{header}>\n", header, []))
    assert aux
    wrong = []
    for name, (count, variadic) in aux.items():
        d = ns._decls.get(name)
        if d is None or d["kind"] != "function":
            wrong.append(f"{name}: not declared as a function")
            continue
        _, _, params, v, unspecified = d["type"]
        if not unspecified and (len(params), v) != (count, variadic):
            wrong.append(f"{name}: {len(params)} parameters (variadic {v}), compiler {count} ({variadic})")
    assert not wrong, f"{len(wrong)} of {len(aux)} functions differ:\n" + "\n".join(wrong[:40])
