"""The tour's machinery: the list of examples, feature probes, C builds, output checks.

An example is a function registered with :func:`example`, naming its tutorial, a title,
the features it ``requires`` and, if it needs one, the C library to build from ``c/``.
:func:`main` probes which features ferrotypes has *now* and runs every example whose
features are all present; the others are reported as skipped with the missing feature.
There is no list of what is implemented: as features land, more examples run.

C's ``printf`` writes to file descriptor 1 behind Python's back, so the runner makes
both Python's and C's stdout line-buffered, and :func:`captured_output` captures at the
descriptor level, so an example can check what C printed, in order with Python's output.

What this is not: a test framework.  There are no fixtures, no parallelism and no
isolation between examples beyond each one loading its own library by its own name.
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import faulthandler
import importlib.util
import os
import re
import sys
import tempfile
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Sequence

import ferrotypes
from ferrotypes import _cbuild

__all__ = [
    "EXAMPLES",
    "Mismatch",
    "c_source",
    "captured_output",
    "check",
    "example",
    "expect",
    "expect_lines",
    "expect_output",
    "expect_raises",
    "expect_repr",
    "main",
    "stdlib_qsort_comparisons",
]

#: The tutorials the examples come from: key -> (section, the tutorial credited by title).
#: A section is named for what its examples show.
TUTORIALS = {
    "c_structs": ("Callbacks stored in a C struct, called with numpy arrays",
                  'the blog post "Using Ctypes to Call a C Function That Calls Back a Python Function."'),
    "scalars": ("Scalars, out-parameters and arrays",
                'the tutorial "Python and C interaction: Part II - Ctypes"'),
    "numpy": ("NumPy arrays and C: ndpointer, allocator callbacks, record arrays",
              'the SciPy Cookbook\'s "ctypes" page'),
    "strings": ("Strings and memory allocated in C",
                "an article on Python's ctypes module (code at github.com/jima80525/ctypes_example)"),
    "qsort": ("Callbacks: qsort with a Python comparator",
              'the ctypes documentation\'s "Callback functions"'),
}

#: Every feature an example may require, in the order the header lists them.
FEATURES = ("structures", "arrays", "pointers", "callbacks", "numpy", "compiler")

C_SOURCES = Path(__file__).with_name("c")

_NOT_YET = "not yet in ferrotypes"


# --- the list of examples ---------------------------------------------------------------


@dataclass(frozen=True)
class Example:
    tutorial: str
    title: str
    requires: tuple[str, ...]
    library: tuple[str, tuple[str, ...]] | None
    func: Callable[[], None]

    @property
    def heading(self) -> str:
        """The section and the title: what ``-k`` searches and ``--list`` shows."""
        return f"{TUTORIALS[self.tutorial][0]}: {self.title}"


EXAMPLES: list[Example] = []


def example(tutorial: str, title: str, *, requires: Iterable[str] = (),
            library: tuple[str, Sequence[str]] | None = None):
    """Registers the decorated function as an example of ``tutorial`` (a key of
    :data:`TUTORIALS`).

    ``library=(name, [sources in c/])`` builds ``<name><suffix>`` before the example
    runs, and the example runs with that library's directory as the working directory,
    so it can load ``./<name>.so`` as the tutorials do.  Needs ``"compiler"`` in
    ``requires``; so does an example that reads a header with ``ferrotypes.include``
    (the compiler's preprocessor), without a library.
    """
    if tutorial not in TUTORIALS:
        raise ValueError(f"unknown tutorial {tutorial!r}; expected one of {sorted(TUTORIALS)}")
    requires = tuple(requires)
    unknown = [f for f in requires if f not in FEATURES]
    if unknown:
        raise ValueError(f"unknown feature(s) {unknown} in example {title!r}; known: {FEATURES}")
    if library is not None and "compiler" not in requires:
        raise ValueError(f"example {title!r}: a library needs 'compiler' in requires")
    if library is not None:
        library = (library[0], tuple(library[1]))

    def register(func):
        EXAMPLES.append(Example(tutorial, title, requires, library, func))
        return func

    return register


# --- feature probes ------------------------------------------------------------------------


@dataclass(frozen=True)
class Feature:
    present: bool
    note: str  # what was found, or why it is missing


def _present(flag: bool) -> Feature:
    return Feature(True, "") if flag else Feature(False, _NOT_YET)


def _probe_structures() -> Feature:
    return _present(hasattr(ferrotypes, "Structure"))


def _probe_pointers() -> Feature:
    return _present(hasattr(ferrotypes, "POINTER"))


def _probe_arrays() -> Feature:
    try:
        ferrotypes.c_int * 3
    except TypeError:  # "unsupported operand type(s) for *"
        return _present(False)
    return _present(True)


def _probe_callbacks() -> Feature:
    # CFUNCTYPE exists for calling C function pointers; a callback is one made from a
    # Python callable.  Any other exception than "not supported" means it exists and is
    # broken, which the examples will show.
    try:
        ferrotypes.CFUNCTYPE(ferrotypes.c_int, ferrotypes.c_int)(lambda x: x)
    except (TypeError, NotImplementedError):
        return _present(False)
    return _present(True)


def _probe_numpy() -> Feature:
    if importlib.util.find_spec("numpy") is None:
        return Feature(False, "numpy is not installed")
    return _present(importlib.util.find_spec("ferrotypes.numpy") is not None)


def _probe_compiler() -> Feature:
    compiler = _cbuild.find_compiler()
    if compiler is None:
        return Feature(False, "no C compiler found: set $CC or put cc, gcc or clang on PATH")
    return Feature(True, compiler)


_PROBES = {
    "structures": _probe_structures,
    "arrays": _probe_arrays,
    "pointers": _probe_pointers,
    "callbacks": _probe_callbacks,
    "numpy": _probe_numpy,
    "compiler": _probe_compiler,
}


def detect_features() -> dict[str, Feature]:
    return {name: _PROBES[name]() for name in FEATURES}


def _missing_line(missing: Sequence[str], features: dict[str, Feature]) -> str:
    """``needs pointers, callbacks (not yet in ferrotypes); numpy (numpy is not installed)``"""
    by_note: dict[str, list[str]] = {}
    for name in missing:
        by_note.setdefault(features[name].note, []).append(name)
    return "; ".join(f"{', '.join(names)} ({note})" for note, names in by_note.items())


# --- stdout: Python's and C's, in order ----------------------------------------------------


class _CStdio:
    """libc's stdout, reached through ferrotypes itself."""

    def __init__(self):
        self.libc = None
        self.problem = None
        self.ready = False

    def setup(self):
        self.ready = True
        try:
            sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]  # a TextIOWrapper, or refused below
        except (AttributeError, ValueError):
            pass
        try:
            libc = ferrotypes.CDLL(None)
            libc.fflush.argtypes = [ferrotypes.c_void_p]
            libc.setvbuf.argtypes = [ferrotypes.c_void_p, ferrotypes.c_char_p,
                                     ferrotypes.c_int, ferrotypes.c_size_t]
            stream = None
            for name in ("stdout", "__stdoutp"):  # glibc/musl, macOS
                try:
                    stream = ferrotypes.c_void_p.in_dll(libc, name)
                    break
                except ValueError:
                    continue
            if stream is not None:
                _IOLBF = 1  # the same on glibc, musl and macOS
                libc.setvbuf(stream, None, _IOLBF, 0)
            self.libc = libc
        except Exception as exc:  # the tour still runs; C output may come out late
            self.problem = f"could not make C's stdout line-buffered: {type(exc).__name__}: {exc}"

    def flush(self):
        if not self.ready:
            self.setup()
        sys.stdout.flush()
        sys.stderr.flush()
        if self.libc is not None:
            self.libc.fflush(None)


_stdio = _CStdio()


class Captured:
    """What was written to stdout (file descriptor 1) inside :func:`captured_output`;
    ``text`` is set when the block ends."""

    text: str = ""

    def lines(self) -> list[str]:
        return self.text.splitlines()


@contextlib.contextmanager
def captured_output():
    """Captures everything written to file descriptor 1 in the block (Python's prints
    and C's printf alike), then writes it on to stdout, so it is still shown."""
    _stdio.flush()
    saved = os.dup(1)
    captured = Captured()
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 1)
        try:
            yield captured
        finally:
            _stdio.flush()
            os.dup2(saved, 1)
            os.close(saved)
            sink.seek(0)
            captured.text = sink.read().decode("utf-8", errors="replace")
    sys.stdout.write(captured.text)
    sys.stdout.flush()


# --- checks ----------------------------------------------------------------------------------


class Mismatch(AssertionError):
    """The output differs from the output the tutorial shows."""


def check(condition: bool, message: str) -> None:
    if not condition:
        raise Mismatch(message)


def expect(actual, expected) -> None:
    """Shows ``actual`` as the tutorial's REPL would, and checks it is ``expected``."""
    print(repr(actual))
    if type(expected) is float:
        same = isinstance(actual, float) and actual == expected
    else:
        same = actual == expected and type(actual) is type(expected)
    if not same:
        raise Mismatch(f"expected {expected!r} ({type(expected).__name__}), "
                       f"got {actual!r} ({type(actual).__name__})")


def expect_repr(obj, expected: str) -> None:
    """Shows ``repr(obj)`` and checks it is the text ``expected``."""
    text = repr(obj)
    print(text)
    if text != expected:
        raise Mismatch(f"expected the repr {expected!r}, got {text!r}")


def expect_output(captured: Captured, expected: str) -> None:
    """Checks captured output against the exact text ``expected``."""
    if captured.text != expected:
        diff = "\n".join(difflib.unified_diff(
            expected.splitlines(), captured.text.splitlines(), "expected", "printed", lineterm=""))
        raise Mismatch(f"the output differs from the expected output:\n{diff}")


def expect_lines(captured: Captured, patterns: Sequence[str]) -> list[re.Match]:
    """Checks each captured line against the regular expression of the same position
    (which must match the whole line) and returns the matches."""
    lines = captured.lines()
    if len(lines) != len(patterns):
        raise Mismatch(f"expected {len(patterns)} lines of output, got {len(lines)}:\n"
                       + "\n".join(lines))
    matches = []
    for number, (line, pattern) in enumerate(zip(lines, patterns), 1):
        found = re.fullmatch(pattern, line)
        if found is None:
            raise Mismatch(f"line {number} of the output is {line!r}, expected it to match {pattern!r}")
        matches.append(found)
    return matches


@contextlib.contextmanager
def expect_raises(exc_type: type[BaseException], message: str | None = None, *,
                  prefix: str | None = None):
    """Checks the block raises ``exc_type`` with the exact ``message`` (or a message
    starting with ``prefix``), and shows it as the REPL's last traceback line would."""
    try:
        yield
    except exc_type as exc:
        text = str(exc)
        print(f"{type(exc).__name__}: {text}")
        if message is not None and text != message:
            raise Mismatch(f"expected the message {message!r}, got {text!r}") from None
        if prefix is not None and not text.startswith(prefix):
            raise Mismatch(f"expected a message starting {prefix!r}, got {text!r}") from None
    else:
        raise Mismatch(f"expected {exc_type.__name__} to be raised; nothing was")


def c_source(name: str) -> str:
    """The path of one of the tour's C sources (``c/<name>``), for the examples that
    read a library's declarations from its own C code."""
    return str(C_SOURCES / name)


def stdlib_qsort_comparisons(values: Sequence[int], compare: Callable[[int, int], int]) -> list[tuple[int, int]]:
    """The pairs libc's ``qsort`` compares when sorting ``values`` with ``compare``,
    recorded through the standard library's ``ctypes`` on the same libc.

    The order of qsort's comparisons belongs to the C library (the tutorial shows
    Windows' and an old glibc's), so a callback's printed comparisons are checked
    against what stdlib ctypes sees on this machine.
    """
    import ctypes
    import ctypes.util

    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    seen = []

    @ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_int), ctypes.POINTER(ctypes.c_int))
    def record(a, b):
        seen.append((a[0], b[0]))
        return compare(a[0], b[0])

    array = (ctypes.c_int * len(values))(*values)
    libc.qsort.restype = None
    libc.qsort(array, ctypes.c_size_t(len(values)), ctypes.c_size_t(ctypes.sizeof(ctypes.c_int)), record)
    return seen


# --- running -------------------------------------------------------------------------------


def _build(library: tuple[str, tuple[str, ...]]) -> Path:
    name, sources = library
    return _cbuild.build_shared_library([C_SOURCES / source for source in sources], name)


def _run_one(ex: Example) -> None:
    previous = os.getcwd()
    if ex.library is not None:
        os.chdir(_build(ex.library).parent)
    try:
        ex.func()
    finally:
        _stdio.flush()
        os.chdir(previous)


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("ferrotypes")
    except Exception:
        return "(version unknown)"


def run(examples: Sequence[Example], features: dict[str, Feature]) -> tuple[int, int, int]:
    ran = failed = skipped = 0
    tutorial = None
    for ex in examples:
        if ex.tutorial != tutorial:
            tutorial = ex.tutorial
            section, source = TUTORIALS[tutorial]
            print()
            print(f"=== {section} (from {source})")
        print()
        print(f"== {ex.title}")
        missing = [name for name in ex.requires if not features[name].present]
        if missing:
            print(f"skipped: needs {_missing_line(missing, features)}")
            skipped += 1
            continue
        ran += 1
        try:
            _run_one(ex)
        except Exception:
            failed += 1
            _stdio.flush()
            print(f"-- FAILED: {ex.title}")
            traceback.print_exc(file=sys.stdout)
        else:
            print("-- ok")
    return ran, failed, skipped


def _parse(argv):
    parser = argparse.ArgumentParser(
        prog="python -m ferrotypes.tour",
        description="Run the examples of the ctypes tutorials ferrotypes grew from, on ferrotypes.")
    parser.add_argument("-k", metavar="TEXT", action="append", default=[],
                        help="run only examples whose heading contains TEXT (case-insensitive; repeatable)")
    parser.add_argument("--list", action="store_true",
                        help="list the examples, what each requires and whether it can run now")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the tour; returns 0 when every runnable example passed, 1 otherwise."""
    args = _parse(argv)
    faulthandler.enable()  # a crash in C still shows which example was running
    features = detect_features()
    examples = [ex for ex in EXAMPLES
                if not args.k or any(k.lower() in ex.heading.lower() for k in args.k)]

    if args.list:
        for ex in EXAMPLES if not args.k else examples:
            missing = [name for name in ex.requires if not features[name].present]
            state = "runs" if not missing else "skipped: needs " + _missing_line(missing, features)
            print(f"{ex.heading}\n    requires: {', '.join(ex.requires) or '-'}; {state}")
        return 0
    if not examples:
        print(f"tour: no example heading contains {' or '.join(map(repr, args.k))}", file=sys.stderr)
        return 2

    _stdio.setup()
    print(f"ferrotypes tour: the examples of {len(TUTORIALS)} ctypes tutorials, "
          f"on ferrotypes {_version()} (Python {sys.version.split()[0]})")
    present = [f"{name} ({features[name].note})" if features[name].note else name
               for name in FEATURES if features[name].present]
    absent = [name for name in FEATURES if not features[name].present]
    print(f"features present: {', '.join(present) or 'none'}")
    if absent:
        print(f"features missing: {_missing_line(absent, features)}")
    if _stdio.problem:
        print(f"note: {_stdio.problem}")

    ran, failed, skipped = run(examples, features)
    print()
    print(f"tour: {ran} ran, {failed} failed, {skipped} skipped")
    _stdio.flush()
    return 1 if failed else 0
