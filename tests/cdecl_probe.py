"""The C compiler as the oracle for ``ferrotypes.cdef``/``include``: C probes generated
from a namespace (``sizeof``, ``_Alignof`` and ``offsetof`` of every complete structure
and union, the value of every integer, floating and string constant it evaluated),
compiled, run and compared
with the namespace; and ``gcc -aux-info`` prototypes. Outputs are cached by the hash of
the probe's source, flags and the compiler's identity, so a second run compiles nothing.
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
from ferrotypes._cbuild import default_cache_dir, find_compiler

CC = find_compiler()


@functools.lru_cache(maxsize=None)
def _compiler_identity():
    return subprocess.run([CC, "--version"], capture_output=True, text=True).stdout


def cached_output(kind, source, flags=(), link=()):
    """``kind == "run"``: compile ``source`` to a program, run it, return its output;
    ``kind == "aux"``: the ``-aux-info`` prototypes of ``source``."""
    key = hashlib.sha256("\0".join([kind, source, _compiler_identity(), *flags, *link]).encode()).hexdigest()
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
            proc = subprocess.run([CC, "-w", *flags, str(src), "-o", str(exe), *link],
                                  capture_output=True, text=True)
            assert proc.returncode == 0, proc.stderr[-3000:]
            text = subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout
        else:
            info = Path(tmp) / "aux.txt"
            proc = subprocess.run([CC, "-w", *flags, "-c", str(src), "-o", os.devnull, "-aux-info", str(info)],
                                  capture_output=True, text=True)
            assert proc.returncode == 0, proc.stderr[-3000:]
            text = info.read_text()
    tmp_file = out_file.with_suffix(f".{os.getpid()}.tmp")
    tmp_file.write_text(text)
    os.replace(tmp_file, out_file)
    return text


def _record_c_name(r):
    return f"{r['kind']} {r['tag']}" if r["tag"] else r["typedef_name"]


def _member_names(ns, r):
    """Named plain members, including those reached through anonymous members."""
    for name, t, bits in r["fields"]:
        if name is None and bits is None and t[0] == "record":
            yield from _member_names(ns, ns._records[t[1]])
        elif name is not None and bits is None:
            yield name


def constants(ns, kind):
    """Every enum constant and macro of ``ns`` whose value is a ``kind`` (int, float or
    bytes), by name."""
    values = {}
    for name in dir(ns):
        if name in ns._decls or (name not in ns._constants and name not in ns._macros):
            continue
        try:
            v = getattr(ns, name)
        except AttributeError:
            continue
        if isinstance(v, kind) and not isinstance(v, bool):
            values[name] = kind(v)
    return values


def integer_constants(ns):
    return constants(ns, int)


def layout_checks(prelude, ns, flags=(), link=()):
    """Compiles and runs a probe of every record and integer constant of ``ns``
    (``prelude``: the C lines declaring them); returns ``(number of checks, differences)``."""
    lines = [prelude, "#include <stdio.h>", "#include <stddef.h>", "int main(void) {"]
    classes = {}
    for r in ns._records:
        name = _record_c_name(r)
        if r["fields"] is None or name is None:
            continue
        classes[name] = ns[name] if name.startswith(("struct ", "union ")) else getattr(ns, name)
        lines.append(f'printf("R|{name}|%zu|%zu\\n", sizeof({name}), _Alignof({name}));')
        for m in _member_names(ns, r):
            lines.append(f'printf("F|{name}|{m}|%zu\\n", offsetof({name}, {m}));')
    ints = integer_constants(ns)
    for name in ints:
        lines.append(f'printf("I|{name}|%lld\\n", (long long)({name}));')
    floats = constants(ns, float)
    for name in floats:
        lines.append(f'printf("D|{name}|%a\\n", (double)({name}));')
    strings = constants(ns, bytes)
    for name in strings:
        lines.append(f'{{ const unsigned char *s = (const unsigned char *)({name}); printf("S|{name}|");'
                     f' for (size_t i = 0; i < sizeof({name}) - 1; i++) printf("%02x", s[i]); printf("\\n"); }}')
    lines.append("return 0; }")
    output = cached_output("run", "\n".join(lines) + "\n", flags, link)
    wrong = []
    for line in output.splitlines():
        kind, *rest = line.split("|")
        if kind == "R":
            cls = classes[rest[0]]
            got, want = (ft.sizeof(cls), ft.alignment(cls)), (int(rest[1]), int(rest[2]))
            if got != want:
                wrong.append(f"{rest[0]}: sizeof/_Alignof {got}, compiler {want}")
        elif kind == "F":
            got = getattr(classes[rest[0]], rest[1]).offset
            if got != int(rest[2]):
                wrong.append(f"{rest[0]}.{rest[1]}: offset {got}, compiler {rest[2]}")
        elif kind == "I":
            if (ints[rest[0]] - int(rest[1])) % (1 << 64):
                wrong.append(f"{rest[0]}: {ints[rest[0]]}, compiler {rest[1]}")
        elif kind == "D":
            want = float.fromhex(rest[1]) if "nan" not in rest[1] else float("nan")
            got = floats[rest[0]]
            if not (got == want or got != got and want != want):
                wrong.append(f"{rest[0]}: {got!r}, compiler {want!r}")
        elif kind == "S":
            if strings[rest[0]].hex() != rest[1]:
                wrong.append(f"{rest[0]}: {strings[rest[0]]!r}, compiler {bytes.fromhex(rest[1])!r}")
    return len(output.splitlines()), wrong


_AUX = re.compile(r"^/\* (?P<file>[^:]+):\d+:(?P<flags>\w+) \*/ (?P<decl>.*);$")


def aux_functions(source, flags=()):
    """``{name: (fixed parameter count, variadic)}`` of the prototypes ``-aux-info``
    lists for ``source`` (K&R definitions, without a prototype, are left out)."""
    out = {}
    for line in cached_output("aux", source, flags).splitlines():
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
