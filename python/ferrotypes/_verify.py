"""The C compiler as the judge of a ``CNamespace`` (``ns.verify()``, ``include(...,
verify=True)``): a C probe printing ``sizeof``, ``_Alignof`` and ``offsetof`` of every
complete structure and union the namespace holds and the value of every integer,
floating and string constant it evaluated, compiled with the compiler and flags that
made the namespace, run, and compared with the namespace's classes and values.

A probe's output is cached on disk, keyed by its source, the flags and the compiler, and
valid while every file it included (the compiler's ``-MD`` list) is unchanged.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import tempfile

import ferrotypes as _ft
from ferrotypes import cdecl as _cdecl

_CACHE_VERSION = 1


def verify(ns):
    """Checks ``ns`` against the compiler that made it; raises ``VerifyError`` listing
    the differences, else returns the number of values checked. A record layout no
    ``Structure`` can have (see ``_unrepresentable``) is not a difference here."""
    argv, flags, prelude = ns._probe or (None, [], None)
    if prelude is None:
        raise TypeError("this namespace was not made by cdef or include: nothing to verify against")
    checked, wrong = differences(ns, prelude, argv or _cdecl._compiler(None), flags)
    wrong = [w for w in wrong if not w.endswith(_UNREPRESENTABLE)]
    if wrong:
        raise _cdecl.VerifyError(
            f"{ns._origin}: {len(wrong)} of {checked} values differ from the compiler's:\n  " + "\n  ".join(wrong),
            wrong,
        )
    return checked


def differences(ns, prelude, argv, flags=(), link=()):
    """``(number of values checked, differences as strings)`` between ``ns`` and the
    compiler ``argv`` with ``flags``, ``prelude`` being the C lines declaring what ``ns``
    holds (``#include <zlib.h>``)."""
    source, classes, ints, floats, strings = _probe_source(ns, prelude)
    output = probe_output(argv, list(flags), source, list(link))
    wrong = []
    for line in output.splitlines():
        kind, *rest = line.split("|")
        if kind == "R":
            cls = classes[rest[0]]
            got, want = (_ft.sizeof(cls), _ft.alignment(cls)), (int(rest[1]), int(rest[2]))
            if got != want:
                wrong.append(f"{rest[0]}: sizeof/_Alignof {got}, compiler {want}" + _unrepresentable(ns, rest[0], got, want))
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


_UNREPRESENTABLE = " (a Structure cannot have this layout)"


def _unrepresentable(ns, name, got, want):
    """The note marking a difference no ``Structure`` can remove: a typedef's
    ``aligned(N)`` raising the alignment of a record whose size is not a multiple of N
    (a ctypes record's size is always a multiple of its alignment)."""
    d = ns._decls.get(name)
    aligned = d is not None and d["kind"] == "typedef" and d["type"][0] == "aligned" and d["type"][2] == want[1]
    return _UNREPRESENTABLE if aligned and got[0] == want[0] and want[0] % want[1] else ""


def record_c_name(r):
    """How C names record ``r`` of a namespace's model (``struct tm``, or its typedef)."""
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


def _probe_source(ns, prelude):
    lines = [prelude, "#include <stdio.h>", "#include <stddef.h>", "int main(void) {"]
    classes = {}
    for r in ns._records:
        name = record_c_name(r)
        if r["fields"] is None or name is None:
            continue
        classes[name] = ns[name] if name.startswith(("struct ", "union ")) else getattr(ns, name)
        lines.append(f'printf("R|{name}|%zu|%zu\\n", sizeof({name}), _Alignof({name}));')
        for m in _member_names(ns, r):
            lines.append(f'printf("F|{name}|{m}|%zu\\n", offsetof({name}, {m}));')
    ints = constants(ns, int)
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
    return "\n".join(lines) + "\n", classes, ints, floats, strings


def _cache_path(argv, flags, source, link):
    compiler = _cdecl._which(argv[0], os.environ.get("PATH")) or argv[0]
    ident = [_CACHE_VERSION, argv, flags, link, source, compiler, _cdecl._stamp(compiler)]
    key = hashlib.sha256(json.dumps(ident).encode()).hexdigest()
    return os.path.join(os.path.dirname(_cdecl._cache_dir()), "probes", key + ".json")


def probe_output(argv, flags, source, link=()):
    """What the C program ``source`` prints, compiled by ``argv`` with ``flags`` (cached
    while the files it included are unchanged)."""
    link = list(link)
    path = _cache_path(argv, flags, source, link)
    try:
        with open(path, encoding="utf-8") as f:
            entry = json.load(f)
        if all(_cdecl._stamp(dep) == stamp for dep, stamp in entry["deps"]):
            return entry["output"]
    except (OSError, ValueError, KeyError):
        pass
    with tempfile.TemporaryDirectory() as tmp:
        src, exe, deps = (os.path.join(tmp, n) for n in ("probe.c", "probe", "probe.d"))
        with open(src, "w", encoding="utf-8") as f:
            f.write(source)
        compile_ = subprocess.run([*argv, "-w", *flags, "-MD", "-MF", deps, src, "-o", exe, *link],
                                  capture_output=True, text=True)
        if compile_.returncode != 0:
            raise _cdecl.VerifyError(f"{' '.join(argv)} rejected the probe:\n{compile_.stderr[-3000:]}")
        run = subprocess.run([exe], capture_output=True, text=True)
        if run.returncode != 0:
            raise _cdecl.VerifyError(f"the probe exited with status {run.returncode}:\n{run.stderr[-3000:]}")
        with open(deps, encoding="utf-8") as f:
            included = [w for w in f.read().replace("\\\n", " ").split()[1:] if w != src]
    _store(path, included, run.stdout)
    return run.stdout


def _store(path, included, output):
    entry = {"deps": [[d, _cdecl._stamp(d)] for d in sorted(set(included))], "output": output}
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(entry, f)
        os.replace(tmp, path)
    except OSError:
        pass  # no cache directory: every verify compiles
