"""The hostile-input fuzzer's machinery: programs of API calls with wrong, extreme and
hostile arguments, run under the stdlib's ctypes and under ferrotypes, and compared.

A *program* is a list of statements ``(tag, code)``; ``tag`` names the kind of call
(the key of a documented difference). Each program runs after :data:`PRELUDE` in a
fresh namespace, where ``C`` is the module under test; each statement runs on its own
and ends ``ok`` or with the name of the exception it raised (a ``PanicException`` is
``panic``). Programs run in batches in long-lived worker processes, one per
implementation; a worker that dies (a signal, an abort) or hangs is restarted after
the program that killed it, which then ends ``crash:<status>`` or ``timeout``, and
ferrotypes' worker starts afresh wherever ctypes' did, so that state a program leaves
in the modules (an attribute set on a class) reaches the same later programs in both.

Only *how* each statement ends is compared, never values (addresses differ). A
program is judged up to its first difference, since later statements see different
objects. ferrotypes fails a program when a statement panics, when it crashes or hangs
where ctypes does not, or when it ends differently from ctypes without an entry in
``known_differences.EXCEPTION_DIFFERENCES``. ferrotypes raising where ctypes crashes is
what it is for.

Statements never write through an address they do not own nor read far past an
object (the two interpreters' heaps differ, so that would crash one at random):
pointer indexes are 0 or far out of any memory, ``string_at`` sizes are small or
beyond what the address-space limit allows.

Run ``python tests/hostile.py --programs 100000`` for a long run (the pytest test
``tests/test_hostile_fuzz.py`` runs a short one).
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass, field

from hypothesis import strategies as st

#: The address space each worker gets: allocations beyond it fail (MemoryError in
#: both implementations, an abort where ferrotypes allocates infallibly).
ADDRESS_SPACE_LIMIT = 3 << 30

#: Objects every program starts with.
PRELUDE = textwrap.dedent("""
    class S0(C.Structure): _fields_ = []
    class Sinc(C.Structure): pass
    class Szero(C.Structure): _fields_ = [("a", C.c_int * 0)]
    class U0(C.Union): _fields_ = []
    class S1(C.Structure): _fields_ = [("a", C.c_int), ("b", C.c_double), ("c", C.c_char * 3)]
    class U1(C.Union): _fields_ = [("a", C.c_int), ("b", C.c_float)]
    class SP(C.Structure): _pack_ = 1; _fields_ = [("a", C.c_char), ("b", C.c_int)]
    class SB(C.Structure): _fields_ = [("a", C.c_int, 3), ("b", C.c_uint, 29)]
    class SBIG(C.Structure): _fields_ = [("a", C.c_char * 100000)]
    CB = C.CFUNCTYPE(C.c_int, C.c_int)
    x = C.c_int(5); d = C.c_double(1.5); buf = C.create_string_buffer(16)
    wbuf = C.create_unicode_buffer(8); arr = (C.c_int * 4)(1, 2, 3, 4); p = C.pointer(x)
    s1 = S1(); u1 = U1(); sb = SB(); lib = C.CDLL(None)
    rec = []; rec.append(rec)
    U = __import__(C.__name__ + ".util", fromlist=["util"])
    v = None
""")

#: What the worker runs: reads batches (a JSON list of programs per line), answers
#: one JSON line per program, then ``"done"``.
WORKER = textwrap.dedent("""
    import gc, json, pickle, resource, sys
    limit = int(sys.argv[2])
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    C = __import__(sys.argv[1])
    prelude = compile(json.loads(sys.stdin.readline()), "<prelude>", "exec")

    def ending(exc):
        name = type(exc).__name__
        return "panic" if name == "PanicException" else name

    for line in sys.stdin:
        for program in json.loads(line):
            space = {"C": C, "gc": gc, "pickle": pickle}
            exec(prelude, space)
            endings = []
            for _tag, code in program:
                try:
                    exec(compile(code, "<hostile>", "exec"), space)
                except BaseException as exc:
                    endings.append(ending(exc))
                else:
                    endings.append("ok")
            del space
            sys.stdout.write(json.dumps(endings) + "\\n")
            sys.stdout.flush()
        sys.stdout.write('"done"\\n')
        sys.stdout.flush()
""")


class Worker:
    """A long-lived interpreter running programs under one implementation."""

    def __init__(self, module: str, timeout: float):
        self.module = module
        self.timeout = timeout
        self.process = None
        self.pending = b""
        self.restarts = 0

    def _start(self):
        env = dict(os.environ, RUST_BACKTRACE="0")
        # HOSTILE_LOG=<file>: the workers' stderr (faulthandler's tracebacks of crashes
        # and of hangs, which get SIGABRT before being killed) goes there.
        log = os.environ.get("HOSTILE_LOG")
        stderr = open(log, "a") if log else subprocess.DEVNULL
        self.process = subprocess.Popen(
            [sys.executable, "-X", "faulthandler", "-c", WORKER, self.module, str(ADDRESS_SPACE_LIMIT)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr, env=env, text=True, bufsize=1)
        self.pending = b""
        if log:
            stderr.close()
        self.process.stdin.write(json.dumps(PRELUDE) + "\n")
        self.process.stdin.flush()

    def _read_line(self):
        """The worker's next line, '' at its end, None when it is silent for longer
        than the timeout. Read from the descriptor with a buffer of our own: a buffered
        file may hold a line that select() no longer sees."""
        fd = self.process.stdout.fileno()
        while b"\n" not in self.pending:
            ready, _, _ = select.select([fd], [], [], self.timeout)
            if not ready:
                return None
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                return ""
            self.pending += chunk
        line, self.pending = self.pending.split(b"\n", 1)
        return line.decode()

    def _stop(self):
        if self.process is not None:
            self.process.send_signal(signal.SIGABRT)  # faulthandler shows where it hung
            try:
                self.process.wait(timeout=2)
            except subprocess.TimeoutExpired:
                pass
            self.process.kill()
            self.process.wait()
            self.process = None

    def run(self, programs, fresh_before=frozenset()):
        """How each program ended: a list of endings per program, or the string
        ``crash:<status>``/``timeout`` for a program that killed or hung its worker.
        A program whose index is in ``fresh_before`` starts in a new interpreter, as
        one after a crash does: the two workers' histories are kept the same, since a
        program can leave state behind (an attribute set on a class) that a later one
        sees."""
        results = []
        while len(results) < len(programs):
            if self.process is None:
                self._start()
                self.restarts += 1
            start = len(results)
            end = min([i for i in fresh_before if i > start] + [len(programs)])
            try:
                self.process.stdin.write(json.dumps(programs[start:end]) + "\n")
                self.process.stdin.flush()
            except BrokenPipeError:
                pass
            while len(results) < end:
                line = self._read_line()
                if line is None:
                    self._stop()
                    results.append("timeout")
                    break
                if not line:
                    status = self.process.wait()
                    self.process = None
                    results.append("crash:%d" % status)
                    break
                answer = json.loads(line)
                if answer == "done":
                    break
                results.append(answer)
            else:
                line = self._read_line()  # the segment's "done"
                if line is None or json.loads(line) != "done":
                    self._stop()
                elif end in fresh_before:
                    self.close()
        return results

    def close(self):
        if self.process is not None:
            self.process.stdin.close()
            self.process.wait()
            self.process = None


@dataclass
class Verdict:
    """The comparison of one batch."""
    programs: int = 0
    statements: int = 0
    ctypes_crashes: int = 0
    failures: list = field(default_factory=list)


def documented(tag, theirs, ours, after_failed_fields=False):
    """The documented reason for statement ``tag`` ending ``ours`` where ctypes ends
    ``theirs``, or None; ``after_failed_fields``: an earlier statement of the program
    set ``Sinc._fields_`` and both raised."""
    from known_differences import AFTER_FAILED_FIELDS, EXCEPTION_DIFFERENCES
    tables = (EXCEPTION_DIFFERENCES, AFTER_FAILED_FIELDS) if after_failed_fields else (EXCEPTION_DIFFERENCES,)
    for table in tables:
        for key in ((tag, theirs, ours), (tag, "*", ours), (tag, theirs, "*")):
            if key in table:
                return table[key]
    return None


def compare(programs, theirs, ours, verdict: Verdict):
    """Judges ferrotypes' endings ``ours`` against ctypes' ``theirs``."""
    for program, c, f in zip(programs, theirs, ours):
        verdict.programs += 1
        verdict.statements += len(program)
        if isinstance(c, str):
            verdict.ctypes_crashes += 1
        if isinstance(f, str):
            if not isinstance(c, str):
                verdict.failures.append((program, c, f, "ferrotypes %s where ctypes does not" % f))
            continue
        if "panic" in f:
            verdict.failures.append((program, c, f, "a Rust panic reached Python"))
            continue
        if isinstance(c, str):
            continue  # ctypes crashed somewhere in it: anything ferrotypes does is better
        failed_fields = False
        for (tag, _code), mine, oracle in zip(program, f, c):
            if mine == oracle:
                failed_fields = failed_fields or (tag == "fields_late" and mine != "ok")
                continue
            if documented(tag, oracle, mine, failed_fields) is None:
                verdict.failures.append((program, c, f, "statement %r: ctypes %s, ferrotypes %s" % (tag, oracle, mine)))
            break


def describe_failure(failure):
    program, c, f, why = failure
    lines = [why, "program:"]
    lines += ["    " + code.replace("\n", "\n    ") for _tag, code in program]
    lines += ["ctypes:     %s" % (c,), "ferrotypes: %s" % (f,)]
    return "\n".join(lines)


# --- the strategies -----------------------------------------------------------------

INTS = ["0", "1", "-1", "2", "3", "7", "2**31-1", "2**31", "-2**31", "2**32", "2**32+1",
        "2**63-1", "2**63", "-2**63", "2**64", "2**64+1", "-2**64", "2**70", "-2**70", "True"]
SMALL = ["0", "1", "2", "3", "-1"]
OTHER = ["None", "1.5", "float('nan')", "float('inf')", "''", "'a\\0b'", "'\\udc80'", "'x'",
         "b''", "b'a\\0b'", "b'x' * 100", "b'x'", "[]", "()", "[1, 2, 3]", "(1, 2)", "object()",
         "rec", "C.c_int", "S0", "v"]
OBJECTS = ["x", "d", "buf", "wbuf", "arr", "p", "s1", "u1", "sb", "v", "C.c_int(0)", "S0()",
           "Sinc()", "Szero()", "U0()", "SBIG()", "C.c_char_p(b'ab')", "C.c_wchar_p('ab')",
           "C.c_void_p(0)", "C.py_object(rec)", "C.c_longdouble(1.5)", "CB(lambda n: n)"]
SIMPLE = ["C.c_int", "C.c_char", "C.c_wchar", "C.c_byte", "C.c_ubyte", "C.c_short", "C.c_uint",
          "C.c_long", "C.c_ulonglong", "C.c_double", "C.c_float", "C.c_longdouble", "C.c_bool",
          "C.c_void_p", "C.c_char_p", "C.c_wchar_p", "C.py_object", "C.c_size_t", "C.c_int8"]
TYPES = SIMPLE + ["S0", "Sinc", "Szero", "U0", "S1", "U1", "SP", "SB", "SBIG", "C.c_int * 0",
                  "C.c_int * 3", "C.c_char * 5", "C.POINTER(C.c_int)", "C.POINTER(S0)", "CB",
                  "C.c_char * 2**40", "C.c_int * 2**61"]
NOT_TYPES = ["5", "None", "'c_int'", "int", "object", "x", "C.Structure", "C.Array", "C.Union"]
NAMES = ["'abs'", "'abs\\0junk'", "''", "'no_such_symbol_xyz'", "'\\udc80'", "b'abs'", "None", "5",
         "'a' * 5000", "'libc.so.6'", "'libc.so.6\\0x'", "'/nonexistent/lib.so'", "'\\0'"]
FIELDS = ["[]", "[('a',)]", "[('a', C.c_int, 0)]", "[('a', C.c_int, 33)]", "[(1, C.c_int)]",
          "[('a', 5)]", "[('a', C.c_char * 2**62), ('b', C.c_char * 2**62)]",
          "[('a', C.c_char * (2**63 - 1)), ('b', C.c_int)]", "[('a', Sinc)]", "[('a', S0)]",
          "[('a', C.c_int * 0)]", "[('a', C.c_int), ('a', C.c_int)]", "5", "None",
          "[('a', C.c_int, -1)]", "[('a', C.c_double, 3)]", "[('\\udc80', C.c_int)]",
          "[('a', C.c_int, 2**70)]", "[('a', C.c_int), ('b', C.c_char * 2**20)]",
          "[('a', SBIG), ('b', C.c_char)]", "[('a', C.c_int, 3), ('b', C.c_int, 29)]",
          "[('a', C.c_longdouble), ('b', C.c_char)]", "(('a', C.c_int),)", "[['a', C.c_int]]",
          "[('a', C.c_int, True)]", "[('a', C.POINTER(C.c_int))]", "[('a', CB)]"]
RESTYPES = ["None", "C.c_int", "C.c_double", "C.c_longdouble", "C.c_bool", "C.c_void_p", "S0",
            "Sinc", "Szero", "U0", "S1", "U1", "SP", "SBIG", "C.c_int * 0", "C.c_int * 3", "5",
            "object", "CB", "lambda r: r", "C.c_char * 2**40"]
ARGTYPES = ["[]", "[C.c_int]", "[C.c_long]", "[S0]", "[Sinc]", "[Szero]", "[U0]", "[S1]", "[U1]",
            "[SP]", "[SB]", "[SBIG]", "[C.c_int * 0]", "[C.c_int * 3]", "[C.POINTER(C.c_int)]", "[5]",
            "[None]", "5", "None", "[C.c_double]", "[C.c_longdouble]", "[C.c_char_p]", "[CB]",
            "[C.c_int] * 1025", "(C.c_int,)"]


def _fmt(template, **parts):
    """A statement from ``template`` and strategies for its parts."""
    keys = sorted(parts)
    return st.tuples(*(parts[k] for k in keys)).map(lambda values: template.format(**dict(zip(keys, values))))


def _statement(tag, template, **parts):
    return _fmt(template, **parts).map(lambda code: (tag, code))


ints = st.sampled_from(INTS)
values = st.sampled_from(INTS + OTHER + OBJECTS)
objects = st.sampled_from(OBJECTS + OTHER)
types = st.sampled_from(TYPES)
types_or_not = st.sampled_from(TYPES + NOT_TYPES)
names = st.sampled_from(NAMES)
value_lists = st.lists(values, max_size=4).map(lambda vs: ", ".join(vs))
sequences = st.sampled_from(["arr", "buf", "wbuf", "v", "(C.c_int * 0)()", "(C.c_char * 3)()"])
pointer_stops = st.sampled_from(["0", "1", "2**40", "2**62", "2**63-1", "-2**63", "2**64"])
string_at_sizes = st.sampled_from(["-1", "0", "1", "16", "2**31-1", "2**32", "2**32+1", "2**64", "-2", "2**40", "None", "'5'"])
buffers = st.sampled_from(["bytearray(8)", "bytearray(0)", "b'abcd'", "memoryview(bytearray(8))[::2]",
                           "buf", "arr", "bytearray(2**20)", "memoryview(b'ab')", "5", "None"])
small_lengths = st.sampled_from(SMALL + ["2**62", "2**31", "-2**63", "1.5", "'3'"])

STATEMENTS = st.one_of(
    _statement("make", "v = ({t})({a})", t=types.filter(lambda t: "POINTER" not in t), a=value_lists),
    _statement("make_pointer", "v = ({t})({a})", t=st.sampled_from(["C.POINTER(C.c_int)", "C.POINTER(S0)", "C.POINTER(S1)", "C.POINTER(C.c_char)"]), a=value_lists),
    _statement("value_get", "v = {o}.value", o=objects),
    _statement("value_set", "{o}.value = {a}", o=st.sampled_from(["x", "d", "buf", "wbuf", "C.c_char_p()", "C.c_wchar_p()", "C.py_object()", "C.c_bool()", "C.c_void_p()", "v"]), a=values),
    _statement("array_type", "v = ({t}) * {n}", t=types_or_not, n=st.sampled_from(INTS + ["1.5", "'3'", "None"])),
    _statement("array_new", "v = (({t}) * {n})({a})", t=types, n=st.sampled_from(SMALL), a=value_lists),
    _statement("index", "v = {s}[{i}]", s=sequences, i=st.sampled_from(INTS + ["None", "'a'", "1.5"])),
    _statement("index_set", "{s}[{i}] = {a}", s=sequences, i=ints, a=values),
    _statement("slice", "v = {s}[{i}:{j}]", s=sequences, i=ints, j=ints),
    _statement("slice_step", "v = {s}[{i}:{j}:{k}]", s=sequences, i=ints, j=ints, k=ints),
    _statement("slice_set", "{s}[{i}:{j}] = {a}", s=sequences, i=st.sampled_from(SMALL), j=st.sampled_from(SMALL), a=values),
    _statement("pointer_index", "v = p[{i}]", i=st.sampled_from(["0", "2**70", "-2**70", "None", "'a'", "1.5"])),
    _statement("pointer_slice", "v = p[{i}:{j}]", i=st.sampled_from(["0", "1", "-2**63", "None"]), j=pointer_stops),
    _statement("pointer_slice_step", "v = p[{i}:{j}:{k}]", i=st.sampled_from(["0", "1"]), j=pointer_stops, k=st.sampled_from(["1", "2**20", "-1", "0", "2**63"])),
    _statement("len", "v = len({o})", o=objects),
    _statement("sizeof", "v = C.sizeof({t})", t=st.sampled_from(TYPES + NOT_TYPES + OBJECTS)),
    _statement("alignment", "v = C.alignment({t})", t=st.sampled_from(TYPES + NOT_TYPES + OBJECTS)),
    # Results that depend on addresses (which differ between the two processes) are
    # not kept in `v`, where a later statement would use them as a size.
    _statement("addressof", "_ = C.addressof({o})", o=objects),
    _statement("byref", "v = C.byref({o}, {i})", o=objects, i=ints),
    _statement("pointer", "v = C.pointer({o})", o=objects),
    _statement("POINTER", "v = C.POINTER({t})", t=types_or_not),
    _statement("contents", "v = {o}.contents", o=st.sampled_from(["p", "v", "C.POINTER(C.c_int)()", "x"])),
    _statement("contents_set", "{q}.contents = {o}", q=st.sampled_from(["p", "C.POINTER(C.c_int)()", "v"]), o=objects),
    _statement("cast", "v = C.cast({o}, {t})", o=objects, t=types_or_not),
    _statement("string_buffer", "v = C.create_string_buffer({a})", a=values),
    _statement("string_buffer_size", "v = C.create_string_buffer({a}, {n})", a=values, n=st.sampled_from(INTS + ["None", "1.5"])),
    _statement("unicode_buffer", "v = C.create_unicode_buffer({a})", a=values),
    _statement("unicode_buffer_size", "v = C.create_unicode_buffer({a}, {n})", a=values, n=st.sampled_from(INTS + ["None", "1.5"])),
    _statement("resize", "C.resize({o}, {n})", o=objects, n=ints),
    _statement("string_at", "v = C.string_at({b}, {n})", b=st.sampled_from(["buf", "arr", "b'abc'", "0", "None", "x", "'ab'", "1.5"]), n=string_at_sizes),
    # Sizes within every source (2 characters at least): a read past one sees each
    # interpreter's own heap.
    _statement("wstring_at", "v = C.wstring_at({b}, {n})", b=st.sampled_from(["wbuf", "'abc'", "0", "None", "b'a\\0\\0\\0\\0\\0\\0\\0'"]),
               n=st.sampled_from(["-1", "0", "1", "2", "2**31-1", "2**32", "2**32+1", "2**64", "-2", "2**40", "None", "'5'"])),
    _statement("from_buffer", "v = ({t}).from_buffer({b}, {i})", t=types, b=buffers, i=st.sampled_from(SMALL + ["2**63", "-2**63"])),
    _statement("from_buffer_copy", "v = ({t}).from_buffer_copy({b}, {i})", t=types, b=buffers, i=st.sampled_from(SMALL + ["2**63", "-2**63"])),
    _statement("from_address_null", "v = ({t}).from_address({a})", t=types, a=st.sampled_from(["0", "None", "'a'"])),
    _statement("in_dll", "v = ({t}).in_dll(lib, {n})", t=st.sampled_from(SIMPLE + ["S1", "C.c_int * 2"]), n=names),
    _statement("lib_attr", "v = getattr(lib, {n})", n=names),
    _statement("lib_item", "v = lib[{n}]", n=names),
    _statement("cdll", "v = C.CDLL({n})", n=names),
    _statement("record", "class v(C.Structure): _fields_ = {f}", f=st.sampled_from(FIELDS)),
    _statement("union", "class v(C.Union): _fields_ = {f}", f=st.sampled_from(FIELDS)),
    _statement("pack", "class v(C.Structure): _pack_ = {n}; _fields_ = [('a', C.c_char), ('b', C.c_int)]", n=st.sampled_from(INTS + ["None", "1.5"])),
    _statement("fields_late", "Sinc._fields_ = {f}", f=st.sampled_from(FIELDS)),
    _statement("record_init", "v = {r}({a})", r=st.sampled_from(["S1", "U1", "SB", "SP", "S0", "Sinc", "v"]), a=value_lists),
    _statement("field_set", "{o}.{f} = {a}", o=st.sampled_from(["s1", "u1", "sb"]), f=st.sampled_from(["a", "b", "c"]), a=values),
    _statement("call", "f = lib['labs']; f.argtypes = {at}; f.restype = {rt}; _ = f({a})", at=st.sampled_from(ARGTYPES), rt=st.sampled_from(RESTYPES), a=value_lists),
    _statement("call_undeclared", "_ = lib.labs({a})", a=value_lists),
    _statement("callback", "v = C.CFUNCTYPE({rt}, *{at})({fn})", rt=st.sampled_from(RESTYPES), at=st.sampled_from(ARGTYPES), fn=st.sampled_from(["lambda *a: 0", "None", "5", "abs", "(lambda: 0)"])),
    _statement("callback_call", "v = C.CFUNCTYPE({rt}, *{at})({fn})({a})", rt=st.sampled_from(["C.c_int", "C.c_double", "None", "S1", "S0", "C.c_char_p"]), at=st.sampled_from(ARGTYPES[:6] + ["[C.c_double]", "[C.c_char_p]"]), fn=st.sampled_from(["lambda *a: 0", "lambda *a: 1/0", "lambda *a: None", "lambda *a: 'str'", "lambda *a: 2**70"]), a=value_lists),
    _statement("funcptr_from_int", "v = CB({n})", n=ints),
    _statement("gc", "gc.collect()"),
    _statement("del", "del v"),
    _statement("pickle", "v = pickle.loads(pickle.dumps({o}))", o=objects),
    _statement("memoryview", "v = memoryview({o}).tobytes()", o=objects),
    _statement("bool", "v = bool({o})", o=objects),
    _statement("set_pointer_type", "C.SetPointerType({q}, {t})", q=st.sampled_from(["C.POINTER('node')", "C.POINTER(C.c_int)", "5"]), t=types_or_not),
    _statement("other_endian", "v = ({t}).__ctype_be__", t=types),
    _statement("deep_pointer", "v = C.c_int\nfor _ in range({n}): v = C.POINTER(v)", n=st.sampled_from(["10", "300"])),
)

PROGRAMS = st.lists(STATEMENTS, min_size=1, max_size=6)


def run_batch(workers, programs, verdict: Verdict):
    """Runs ``programs`` under both implementations (``workers``: ctypes', ferrotypes')
    and judges them into ``verdict``."""
    theirs = workers[0].run(programs)
    restarted = frozenset(i + 1 for i, ending in enumerate(theirs) if isinstance(ending, str))
    ours = workers[1].run(programs, fresh_before=restarted)
    compare(programs, theirs, ours, verdict)


def main(argv=None):
    """The long run: ``python tests/hostile.py --programs N [--batch B] [--seed S]``."""
    import argparse
    import random

    from hypothesis import HealthCheck, given, seed, settings

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--programs", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--timeout", type=float, default=20, help="seconds a worker may spend on one program")
    args = parser.parse_args(argv)
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    verdict = Verdict()
    workers = (Worker("ctypes", timeout=args.timeout), Worker("ferrotypes", timeout=args.timeout))
    batches = -(-args.programs // args.batch)
    reported = set()
    started = time.monotonic()

    @seed(args.seed if args.seed is not None else random.randrange(2**32))
    @settings(max_examples=batches, deadline=None, database=None, derandomize=False,
              suppress_health_check=list(HealthCheck), phases=["generate"])
    @given(st.lists(PROGRAMS, min_size=args.batch, max_size=args.batch))
    def long_run(programs):
        known = len(verdict.failures)
        run_batch(workers, programs, verdict)
        for failure in verdict.failures[known:]:
            if failure[3] not in reported:  # the first of each kind, as it is found
                reported.add(failure[3])
                print(describe_failure(failure), end="\n\n", flush=True)
        if verdict.programs % (args.batch * 20) == 0:
            print("%d programs, %d statements, %d failures, %.0f s" % (
                verdict.programs, verdict.statements, len(verdict.failures), time.monotonic() - started), flush=True)

    long_run()
    for w in workers:
        w.close()
    from collections import Counter
    kinds = Counter(failure[3] for failure in verdict.failures)
    for why, count in kinds.most_common():
        print("%6d  %s" % (count, why))
    print("ran %d programs (%d statements) under both; ctypes crashed in %d; %d failures; %.0f s; "
          "worker restarts: ctypes %d, ferrotypes %d" % (
              verdict.programs, verdict.statements, verdict.ctypes_crashes, len(verdict.failures),
              time.monotonic() - started, workers[0].restarts, workers[1].restarts))
    return 1 if verdict.failures else 0


if __name__ == "__main__":
    sys.exit(main())
