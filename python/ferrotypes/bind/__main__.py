"""``python -m ferrotypes.bind HEADER -l LIB [-I DIR] [-D NAME[=VALUE]] -o OUT.py``: writes
the bindings of a header (``OUT.py`` and ``OUT.pyi``), with progress and a summary of what
was skipped, and why, on stderr. Exit status 1 on a header that does not parse, a missing
header, library or compiler, or an output that cannot be written."""

from __future__ import annotations

import argparse
import re
import shlex
import sys
import time

from ferrotypes.bind import generate, write_bindings
from ferrotypes.cdecl import CDeclError

_GROUPS = 12  # reasons for skipping shown in the summary (-v shows every name)


def _parser():
    p = argparse.ArgumentParser(
        prog="python -m ferrotypes.bind",
        description="Write ferrotypes bindings (a module and its .pyi) for a C header.")
    p.add_argument("header", help="a header name searched like #include <...>, or a path")
    p.add_argument("-l", "--lib", action="append", default=[],
                   help="a library to bind to: a name for find_library (z), a path, or pythonapi; "
                        "repeat for several (loaded in order); none: the process itself")
    p.add_argument("-I", dest="include_dirs", action="append", default=[], metavar="DIR",
                   help="a directory searched for headers")
    p.add_argument("-D", dest="defines", action="append", default=[], metavar="NAME[=VALUE]",
                   help="a macro defined before the header")
    p.add_argument("-o", "--output", required=True, metavar="OUT.py", help="the module to write")
    p.add_argument("--cc", help="the C compiler (default: $CC, else cc)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress, only errors")
    p.add_argument("-v", "--verbose", action="store_true", help="list every skipped name")
    return p


def _summary(bindings, verbose):
    """Lines telling what was bound and what was skipped, grouped by reason."""
    lines = ["bound: " + ", ".join(f"{n} {kind}" for kind, n in bindings.counts.items())]
    if not bindings.skipped:
        return lines
    lines.append(f"skipped {len(bindings.skipped)} names:")
    if verbose:
        lines.extend(f"  {name}: {reason}" for name, reason in bindings.skipped.items())
        return lines
    groups = {}
    for name, reason in bindings.skipped.items():
        # The reason without the names in it, so that alike reasons group together.
        general = re.sub(r"'[^']*'", "'...'", " ".join(reason.replace(name, "NAME").split()))
        if "is declared but not exported" in reason:
            general = "declared but not exported by the libraries given"
        groups.setdefault(general, []).append(name)
    ranked = sorted(groups.items(), key=lambda g: (-len(g[1]), g[0]))
    for reason, names in ranked[:_GROUPS]:
        shown = ", ".join(names[:4]) + (", ..." if len(names) > 4 else "")
        lines.append(f"  {len(names):5d} {reason} ({shown})")
    if len(ranked) > _GROUPS:
        lines.append(f"  {sum(len(g[1]) for g in ranked[_GROUPS:]):5d} for {len(ranked) - _GROUPS} other reasons")
    lines.append("(-v lists every name; the module ends with the list too)")
    return lines


def main(argv=None):
    args = _parser().parse_args(argv)
    defines = {}
    for d in args.defines:
        name, eq, value = d.partition("=")
        defines[name] = value if eq else None
    if not args.output.endswith(".py"):
        print(f"error: the output must be a .py file, got {args.output!r}", file=sys.stderr)
        return 2
    say = (lambda text: None) if args.quiet else (lambda text: print(f"ferrotypes.bind: {text}", file=sys.stderr))
    command = "python -m ferrotypes.bind " + shlex.join(
        [args.header] + [f"-l{x}" for x in args.lib] + [f"-I{x}" for x in args.include_dirs]
        + [f"-D{x}" for x in args.defines])
    started = time.perf_counter()
    try:
        bindings = generate(args.header, args.lib or None, include_dirs=args.include_dirs, defines=defines,
                            cc=args.cc, command=command, progress=say)
    except CDeclError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except OSError as e:  # header, library or compiler not found
        print(f"error: {e}", file=sys.stderr)
        return 1
    try:
        py, pyi = write_bindings(args.output, bindings)
    except OSError as e:
        print(f"error: cannot write {args.output}: {e.strerror or e}; nothing was written", file=sys.stderr)
        return 1
    if not args.quiet:
        for line in _summary(bindings, args.verbose):
            say(line)
        say(f"wrote {py} and {pyi} in {time.perf_counter() - started:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
