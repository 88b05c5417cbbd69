#!/usr/bin/env python3
"""Run CPython's own ctypes test suite against ferrotypes.

Every ``test_*.py`` module of the running Python's ctypes suite (``ctypes/test``
on 3.11, ``test/test_ctypes`` from 3.12 on) runs in a fresh
subprocess in which ``ctypes`` *is* ferrotypes, so a crash or hang costs one
module, not the whole run. Per-test outcomes come back as JSON lines; the
parent prints a per-module table and the total line

    conformance: N passed, M failed, K skipped

and can hold the result against a ratchet (``baselines/<version>.json``). See
README.md next to this file.
"""

import argparse
import concurrent.futures
import importlib.util
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_BASELINE = os.path.join(HERE, "baselines", "%d.%d.json" % sys.version_info[:2])
EXCLUDED_FILE = os.path.join(HERE, "excluded.py")
RESULTS_FILE = os.path.join(HERE, "results", "last.json")

# Where the suite lives: inside the ctypes package up to 3.11, in the test package
# from 3.12 on.
TEST_PACKAGE = "ctypes.test" if sys.version_info < (3, 12) else "test.test_ctypes"
ID_PREFIX = TEST_PACKAGE + "."

# Outcomes of one test id. "crash" and "timeout" mark the test that was
# running when the worker died; "xpass" is an unexpected success.
PASSING = {"pass", "xfail"}
FAILING = {"fail", "crash", "timeout", "xpass"}
ERRORING = {"error"}
SKIPPING = {"skip"}
# When one id gets several outcomes (subtests, setUp + tearDown errors), the
# worst one stands.
SEVERITY = {"pass": 0, "xfail": 1, "skip": 2, "xpass": 3, "fail": 4,
            "error": 5, "timeout": 6, "crash": 7}

TAIL_CHARS = 4000


def stdlib_ctypes_dir():
    """Directory of the stdlib ctypes package (found, not imported)."""
    return importlib.util.find_spec("ctypes").submodule_search_locations[0]


def stdlib_test_dir():
    """Directory of the stdlib ctypes test package (found, not imported)."""
    if TEST_PACKAGE == "ctypes.test":
        return os.path.join(stdlib_ctypes_dir(), "test")
    return os.path.join(os.path.dirname(stdlib_ctypes_dir()), "test", "test_ctypes")


# ---------------------------------------------------------------------------
# Worker: runs inside the subprocess, one test module per process.
# ---------------------------------------------------------------------------

def _install_ferrotypes_as_ctypes(stdlib_ctypes_dir):
    """Make ``import ctypes`` & co. resolve to ferrotypes in this process.

    ``ctypes`` -> ferrotypes, ``_ctypes`` -> ferrotypes._ctypes, any other
    ``ctypes.X`` -> ferrotypes.X (ModuleNotFoundError if ferrotypes has no
    X: never a silent fallback to the stdlib), except ``ctypes.test`` (3.11's
    suite) and ``ctypes.macholib``, which are the stdlib packages loaded from
    their files under the ctypes name (their own ``import ctypes`` sees
    ferrotypes). From 3.12 on the suite is ``test.test_ctypes``, found as usual.
    """
    import importlib.abc
    import importlib.machinery

    from_stdlib = {
        "ctypes.test": os.path.join(stdlib_ctypes_dir, "test"),
        "ctypes.macholib": os.path.join(stdlib_ctypes_dir, "macholib"),
    }

    class AliasLoader(importlib.abc.Loader):
        """Loads a name as another, already importable, module.

        exec_module swaps the placeholder in sys.modules for the real
        module; the import system then returns (and binds on the parent
        package) whatever sys.modules holds, and the real module keeps its
        own __name__ and __spec__.
        """

        def __init__(self, real_name):
            self.real_name = real_name

        def create_module(self, spec):
            return None

        def exec_module(self, module):
            sys.modules[module.__name__] = importlib.import_module(
                self.real_name)

    class Redirector(importlib.abc.MetaPathFinder):
        def find_spec(self, fullname, path=None, target=None):
            if fullname in from_stdlib:
                directory = from_stdlib[fullname]
                return importlib.util.spec_from_file_location(
                    fullname, os.path.join(directory, "__init__.py"),
                    submodule_search_locations=[directory])
            if fullname.startswith(tuple(n + "." for n in from_stdlib)):
                return None  # found on the stdlib package's __path__
            if fullname == "ctypes":
                real = "ferrotypes"
            elif fullname == "_ctypes":
                real = "ferrotypes._ctypes"
            elif fullname.startswith("ctypes."):
                real = "ferrotypes." + fullname[len("ctypes."):]
                if importlib.util.find_spec(real) is None:
                    raise ModuleNotFoundError(
                        "No module named %r (ferrotypes has no %r)"
                        % (fullname, real), name=fullname)
            else:
                return None
            return importlib.machinery.ModuleSpec(fullname,
                                                  AliasLoader(real))

    sys.meta_path.insert(0, Redirector())
    # Bind the top-level names eagerly, so that while ferrotypes initialises
    # "ctypes" is either absent or ferrotypes itself (never an empty
    # placeholder). Import errors propagate: the module fails to import.
    sys.modules["ctypes"] = importlib.import_module("ferrotypes")
    sys.modules["_ctypes"] = importlib.import_module("ferrotypes._ctypes")


class _EventResult:
    """unittest result that streams one JSON line per event to a file.

    A ``start`` line precedes every test, so if the process dies the parent
    knows which test was running.
    """

    def __init__(self, stream, module_name):
        import unittest
        self._base = unittest.TestResult()
        self._stream = stream
        self._module = module_name

    def __getattr__(self, name):
        # Bookkeeping attributes the suite machinery sets and reads
        # (_testRunEntered, _moduleSetUpFailed, _previousTestClass, ...).
        return getattr(self._base, name)

    def __setattr__(self, name, value):
        if name in ("_base", "_stream", "_module"):
            object.__setattr__(self, name, value)
        else:
            setattr(self._base, name, value)

    # -- output ------------------------------------------------------------
    def emit(self, **event):
        self._stream.write(json.dumps(event) + "\n")
        self._stream.flush()

    def _id(self, test):
        return normalize_test_id(test.id())

    def _outcome(self, test, outcome, err=None, detail=None, subtest=None):
        event = {"event": "result", "id": self._id(test), "outcome": outcome}
        if err is not None:
            text = "".join(traceback.format_exception(*err))
            lines = [ln for ln in text.strip().splitlines() if ln.strip()]
            event["detail"] = lines[-1].strip() if lines else ""
            event["traceback"] = text[-TAIL_CHARS:]
        if detail is not None:
            event["detail"] = detail
        if subtest is not None:
            event["subtest"] = str(subtest)
        self.emit(**event)

    # -- the TestResult protocol --------------------------------------------
    def startTest(self, test):
        self._base.startTest(test)
        self.emit(event="start", id=self._id(test))

    def stopTest(self, test):
        self._base.stopTest(test)
        self.emit(event="stop", id=self._id(test))

    def startTestRun(self):
        self._base.startTestRun()

    def stopTestRun(self):
        self._base.stopTestRun()

    def addSuccess(self, test):
        self._base.addSuccess(test)
        self._outcome(test, "pass")

    def addFailure(self, test, err):
        self._outcome(test, "fail", err)
        self._base.addFailure(test, err)

    def addError(self, test, err):
        self._outcome(test, "error", err)
        self._base.addError(test, err)

    def addSkip(self, test, reason):
        self._base.addSkip(test, reason)
        self._outcome(test, "skip", detail=str(reason))

    def addExpectedFailure(self, test, err):
        self._outcome(test, "xfail", err)
        self._base.addExpectedFailure(test, err)

    def addUnexpectedSuccess(self, test):
        self._base.addUnexpectedSuccess(test)
        self._outcome(test, "xpass", detail="unexpected success")

    def addSubTest(self, test, subtest, err):
        if err is not None:
            failed = issubclass(err[0], test.failureException)
            self._outcome(test, "fail" if failed else "error", err,
                          subtest=subtest)
        self._base.addSubTest(test, subtest, err)

    def addDuration(self, test, elapsed):  # Python >= 3.12
        pass


def normalize_test_id(raw):
    """``<package>.test_x.Case.test_y`` -> ``test_x.Case.test_y``.

    Class and module fixture errors (``setUpClass (<package>.test_x.C)``)
    become ``test_x.C.setUpClass``.
    """
    fixture = re.fullmatch(r"(\w+) \((.+)\)", raw)
    if fixture:
        raw = "%s.%s" % (fixture.group(2), fixture.group(1))
    if raw.startswith(ID_PREFIX):
        raw = raw[len(ID_PREFIX):]
    return raw


def is_excluded(test_id, exclusions):
    """The exclusion key covering *test_id* (itself or a dotted prefix)."""
    parts = test_id.split(".")
    for i in range(len(parts), 0, -1):
        key = ".".join(parts[:i])
        if key in exclusions:
            return key
    return None


def _filter_suite(suite, exclusions, excluded_out):
    """Copy of *suite* without excluded tests (collected in excluded_out)."""
    import unittest
    kept = []
    for test in suite:
        if isinstance(test, unittest.TestSuite):
            kept.append(_filter_suite(test, exclusions, excluded_out))
            continue
        test_id = normalize_test_id(test.id())
        key = is_excluded(test_id, exclusions)
        if key is None:
            kept.append(test)
        else:
            excluded_out.append((test_id, key))
    filtered = type(suite)()
    filtered.addTests(kept)
    return filtered


def worker_main(spec):
    """Entry point of the subprocess: run one test module, stream events."""
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != HERE]
    with open(spec["events"], "w", encoding="utf-8") as stream:
        result = _EventResult(stream, spec["module"])
        emit = result.emit

        import faulthandler
        faulthandler.enable()
        if spec["timeout"]:
            # Dumps every thread's stack to stderr, then _exit(1).
            faulthandler.dump_traceback_later(spec["timeout"], exit=True)

        if "ctypes" in sys.modules or "_ctypes" in sys.modules:
            emit(event="import-error", detail="ctypes was imported before "
                 "the worker could redirect it", traceback="")
            return 3
        import unittest
        module_name = spec["module"]
        try:
            if spec["target"] == "ferrotypes":
                _install_ferrotypes_as_ctypes(spec["stdlib_ctypes_dir"])
            import test.support
            test.support.verbose = False  # as under regrtest without -v
            import ctypes
            import _ctypes
            package = importlib.import_module(TEST_PACKAGE)
            emit(event="env", ctypes=getattr(ctypes, "__file__", None),
                 _ctypes=getattr(_ctypes, "__file__", None))
            dotted = ID_PREFIX + module_name
            mod_spec = importlib.util.spec_from_file_location(
                dotted, spec["path"])
            module = importlib.util.module_from_spec(mod_spec)
            sys.modules[dotted] = module
            setattr(package, module_name, module)
            try:
                mod_spec.loader.exec_module(module)
            except BaseException:
                del sys.modules[dotted]
                raise
            suite = unittest.TestLoader().loadTestsFromModule(module)
        except unittest.SkipTest as exc:
            emit(event="result", id="module:" + module_name,
                 outcome="skip", detail=str(exc))
            emit(event="done")
            return 0
        except BaseException as exc:
            text = traceback.format_exc()
            last = traceback.format_exception_only(type(exc), exc)[-1]
            emit(event="import-error", detail=last.strip(),
                 traceback=text[-TAIL_CHARS:])
            emit(event="done")
            return 0

        excluded = []
        suite = _filter_suite(suite, spec["exclusions"], excluded)
        for test_id, key in excluded:
            emit(event="result", id=test_id, outcome="excluded",
                 detail=spec["exclusions"][key], key=key)

        result.startTestRun()
        try:
            suite.run(result)
        finally:
            result.stopTestRun()
        emit(event="done")
    faulthandler.cancel_dump_traceback_later()
    return 0


# ---------------------------------------------------------------------------
# Parent: schedules workers and accounts for what they report.
# ---------------------------------------------------------------------------

def load_exclusions(path=EXCLUDED_FILE):
    spec = importlib.util.spec_from_file_location("_conformance_excluded",
                                                  path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    exclusions = dict(module.EXCLUDED)
    for key, reason in exclusions.items():
        if not isinstance(key, str) or not re.fullmatch(r"[\w.]+", key):
            raise SystemExit("excluded.py: bad test id %r" % (key,))
        if not isinstance(reason, str) or not reason.strip():
            raise SystemExit("excluded.py: %r needs a reason" % (key,))
    return exclusions


def _signal_name(returncode):
    try:
        return signal.Signals(-returncode).name
    except ValueError:
        return "signal %d" % -returncode


def _tail(data):
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    return text[-TAIL_CHARS:]


def run_module(name, path, target, exclusions, timeout):
    """Run one test module in a subprocess; return its record."""
    record = {"module": name, "status": "ok", "tests": {}, "note": "",
              "returncode": None, "ctypes": None, "_ctypes": None}
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="conformance-") as workdir:
        events_path = os.path.join(workdir, "events.jsonl")
        spec = {
            "module": name, "path": path, "target": target,
            "events": events_path, "timeout": timeout,
            "stdlib_ctypes_dir": stdlib_ctypes_dir(),
            "exclusions": {k: v for k, v in exclusions.items()
                           if k.split(".")[0] == name},
        }
        proc = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--worker",
             json.dumps(spec)],
            cwd=workdir, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, start_new_session=True)
        killed = False
        try:
            # The worker times itself out (with a stack dump); this is the
            # backstop for a worker that cannot even do that.
            out, err = proc.communicate(timeout=timeout + 15)
        except subprocess.TimeoutExpired:
            killed = True
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            out, err = proc.communicate()
        record["returncode"] = proc.returncode
        events = []
        try:
            with open(events_path, encoding="utf-8") as stream:
                for line in stream:
                    try:
                        events.append(json.loads(line))
                    except ValueError:
                        break  # torn final line of a dying worker
        except FileNotFoundError:
            pass
    record["duration"] = round(time.monotonic() - started, 3)

    tests = record["tests"]
    running = None
    done = False
    for event in events:
        kind = event["event"]
        if kind == "start":
            running = event["id"]
        elif kind == "stop":
            running = None
        elif kind == "env":
            record["ctypes"] = event.get("ctypes")
            record["_ctypes"] = event.get("_ctypes")
        elif kind == "done":
            done = True
        elif kind == "import-error":
            record["status"] = "import-error"
            record["note"] = "import failed: " + event["detail"]
            tests["module:" + name] = {
                "outcome": "error", "detail": event["detail"],
                "traceback": event.get("traceback", "")}
        elif kind == "result":
            entry = {k: v for k, v in event.items()
                     if k not in ("event", "id")}
            previous = tests.get(event["id"])
            if (previous is None or SEVERITY.get(entry["outcome"], 0)
                    > SEVERITY.get(previous["outcome"], 0)):
                tests[event["id"]] = entry

    stderr_text = _tail(err)
    if not done or proc.returncode != 0:
        timed_out = killed or (proc.returncode == 1 and not done
                               and "Timeout (" in stderr_text)
        if timed_out:
            record["status"] = "timeout"
            what = "timed out after %ss" % timeout
            outcome = "timeout"
        elif proc.returncode and proc.returncode < 0:
            record["status"] = "crash"
            what = "crashed (%s)" % _signal_name(proc.returncode)
            outcome = "crash"
        else:
            record["status"] = "crash"
            what = "worker exited with status %s" % proc.returncode
            outcome = "crash"
        if running is not None:
            what += " in " + running
            tests[running] = {"outcome": outcome, "detail": what}
        else:
            if done:
                what += " after the last test"
            tests["module:" + name] = {"outcome": outcome, "detail": what}
        record["note"] = what
    if record["status"] != "ok" or any(
            t["outcome"] in FAILING | ERRORING for t in tests.values()):
        record["stdout_tail"] = _tail(out)
        record["stderr_tail"] = stderr_text
    return record


def count(tests):
    counts = {"passed": 0, "failed": 0, "errors": 0, "skipped": 0,
              "excluded": 0}
    for entry in tests.values():
        outcome = entry["outcome"]
        if outcome in PASSING:
            counts["passed"] += 1
        elif outcome in FAILING:
            counts["failed"] += 1
        elif outcome in ERRORING:
            counts["errors"] += 1
        elif outcome in SKIPPING:
            counts["skipped"] += 1
        elif outcome == "excluded":
            counts["excluded"] += 1
    return counts


def print_table(records, elapsed, out=sys.stdout):
    header = "%-28s %6s %6s %6s %6s %6s %7s  %s" % (
        "module", "passed", "failed", "errors", "skip", "excl", "time",
        "note")
    print(header, file=out)
    print("-" * len(header), file=out)
    totals = dict.fromkeys(("passed", "failed", "errors", "skipped",
                            "excluded"), 0)
    for name in sorted(records):
        record = records[name]
        counts = count(record["tests"])
        for key in totals:
            totals[key] += counts[key]
        print("%-28s %6d %6d %6d %6d %6d %6.1fs  %s" % (
            name, counts["passed"], counts["failed"], counts["errors"],
            counts["skipped"], counts["excluded"], record["duration"],
            record["note"]), file=out)
    print("-" * len(header), file=out)
    print("%-28s %6d %6d %6d %6d %6d %6.1fs" % (
        "total (%d modules)" % len(records), totals["passed"],
        totals["failed"], totals["errors"], totals["skipped"],
        totals["excluded"], elapsed), file=out)
    return totals


def print_problems(records, out=sys.stdout):
    for name in sorted(records):
        for test_id, entry in sorted(records[name]["tests"].items()):
            if entry["outcome"] in FAILING | ERRORING:
                print("  %-7s %s: %s" % (entry["outcome"].upper(), test_id,
                                         entry.get("detail", "")), file=out)


def read_baseline(path):
    try:
        with open(path, encoding="utf-8") as stream:
            data = json.load(stream)
    except FileNotFoundError:
        return set()
    return set(data.get("passed", []))


def write_baseline(path, passed):
    data = {
        "comment": "Ids of ctypes tests that passed against ferrotypes when "
                   "last recorded (python conformance/run.py "
                   "--update-baseline). --check fails if any stops passing.",
        "python": "%d.%d" % sys.version_info[:2],
        "passed": sorted(passed),
    }
    with open(path, "w", encoding="utf-8") as stream:
        json.dump(data, stream, indent=1)
        stream.write("\n")


def module_of(test_id):
    return test_id.split(".")[0]


def discover(test_dir):
    return sorted(f[:-3] for f in os.listdir(test_dir)
                  if f.startswith("test_") and f.endswith(".py"))


def previous_durations(target):
    try:
        with open(RESULTS_FILE, encoding="utf-8") as stream:
            data = json.load(stream)
    except (OSError, ValueError):
        return {}
    if data.get("target") != target:
        return {}
    return {name: rec.get("duration", 0)
            for name, rec in data.get("modules", {}).items()}


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description="Run CPython's ctypes test suite against ferrotypes "
                    "(or, to validate the runner, against ctypes itself).")
    parser.add_argument("--target", choices=("ferrotypes", "ctypes"),
                        default="ferrotypes",
                        help="the implementation 'import ctypes' gives the "
                             "tests (default: ferrotypes)")
    parser.add_argument("--modules", nargs="+", metavar="MODULE",
                        help="test modules to run, e.g. test_numbers "
                             "(default: all)")
    parser.add_argument("-j", "--jobs", type=int, default=2,
                        help="modules run in parallel (default: 2)")
    parser.add_argument("--timeout", type=float, default=120,
                        help="seconds per module before it is killed and "
                             "counted as failed (default: 120)")
    parser.add_argument("--test-dir", metavar="DIR",
                        help="take test modules from DIR instead of the "
                             "stdlib's ctypes/test (for testing the runner);"
                             " they still run as <package>.<name>")
    parser.add_argument("--check", action="store_true",
                        help="exit 1 if a test in the baseline does not "
                             "pass now")
    parser.add_argument("--update-baseline", action="store_true",
                        help="record the current passes in the baseline; "
                             "refused if it would drop a passing test")
    parser.add_argument("--allow-regress", action="store_true",
                        help="let --update-baseline drop tests that no "
                             "longer pass")
    parser.add_argument("--baseline", default=DEFAULT_BASELINE,
                        help="baseline file (default: conformance/"
                             "baselines/<python version>.json)")
    parser.add_argument("--no-exclude", action="store_true",
                        help="ignore excluded.py and run every test")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="list every failing test with its error")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error("-j must be at least 1")
    if args.allow_regress and not args.update_baseline:
        parser.error("--allow-regress only makes sense with "
                     "--update-baseline")
    if args.update_baseline and args.target != "ferrotypes":
        parser.error("the baseline records ferrotypes; --update-baseline "
                     "needs --target ferrotypes")
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.worker is not None:
        return worker_main(json.loads(args.worker))

    test_dir = os.path.abspath(args.test_dir or stdlib_test_dir())
    available = discover(test_dir)
    if args.modules:
        wanted = [m[:-3] if m.endswith(".py") else m for m in args.modules]
        unknown = [m for m in wanted if m not in available]
        if unknown:
            print("unknown test module(s) in %s: %s"
                  % (test_dir, " ".join(unknown)), file=sys.stderr)
            return 2
        selected = sorted(set(wanted))
    else:
        selected = available

    exclusions = {} if args.no_exclude else load_exclusions()
    records = {}
    to_run = []
    for name in selected:
        if name in exclusions:  # the whole module is excluded
            records[name] = {
                "module": name, "status": "excluded", "duration": 0.0,
                "note": "excluded: " + exclusions[name],
                "tests": {"module:" + name: {"outcome": "excluded",
                                             "detail": exclusions[name],
                                             "key": name}}}
        else:
            to_run.append(name)

    # Longest modules first (from the previous run) keeps the pool busy.
    durations = previous_durations(args.target)
    to_run.sort(key=lambda n: -durations.get(n, 0))

    print("conformance: %d modules from %s against %s, -j %d"
          % (len(selected), test_dir, args.target, args.jobs))
    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        futures = {
            pool.submit(run_module, name, os.path.join(test_dir, name + ".py"),
                        args.target, exclusions, args.timeout): name
            for name in to_run}
        for future in concurrent.futures.as_completed(futures):
            records[futures[future]] = future.result()
    elapsed = time.monotonic() - started

    for name in ("ctypes", "_ctypes"):
        resolved = sorted({r[name] for r in records.values() if r.get(name)})
        if resolved:
            print("%s resolved to: %s" % (name, ", ".join(resolved)))
    print()
    totals = print_table(records, elapsed)

    # Exclusion keys that matched nothing in the modules that ran.
    used = {entry.get("key") for r in records.values()
            for entry in r["tests"].values() if entry["outcome"] == "excluded"}
    stale = sorted(k for k in exclusions
                   if module_of(k) in records and k not in used
                   and records[module_of(k)]["status"] == "ok")
    for key in stale:
        print("warning: excluded.py entry %r matches no test" % key)

    if args.verbose:
        print()
        print_problems(records)

    all_tests = {}
    for name, record in records.items():
        for test_id, entry in record["tests"].items():
            all_tests[test_id] = dict(entry, module=name)
    passed_now = {t for t, e in all_tests.items()
                  if e["outcome"] in PASSING and not t.startswith("module:")}

    os.makedirs(os.path.dirname(RESULTS_FILE), exist_ok=True)
    with open(RESULTS_FILE, "w", encoding="utf-8") as stream:
        json.dump({
            "target": args.target, "test_dir": test_dir,
            "python": sys.version, "jobs": args.jobs,
            "elapsed": round(elapsed, 3), "totals": totals,
            "modules": {n: {k: v for k, v in r.items() if k != "tests"}
                        for n, r in records.items()},
            "tests": all_tests,
        }, stream, indent=1, sort_keys=True)
        stream.write("\n")

    print()
    if totals["excluded"]:
        print("excluded: %d (see conformance/excluded.py)"
              % totals["excluded"])
    print("conformance: %d passed, %d failed, %d skipped" % (
        totals["passed"], totals["failed"] + totals["errors"],
        totals["skipped"]))

    status = 0
    if args.check or args.update_baseline:
        baseline = read_baseline(args.baseline)
        # Only tests of modules that ran can be judged.
        judged = {t for t in baseline if module_of(t) in records}
        lost = sorted(judged - passed_now)
        if lost:
            print("\n%d baseline test(s) do not pass now:" % len(lost))
            for test_id in lost:
                entry = all_tests.get(test_id)
                if entry is None:
                    why = "not run: " + (records[module_of(test_id)]["note"]
                                         or "no such test any more")
                else:
                    why = entry["outcome"]
                    if entry.get("detail"):
                        why += ": " + entry["detail"]
                print("  %s  [%s]" % (test_id, why))
        if args.update_baseline:
            if lost and not args.allow_regress:
                print("baseline NOT updated: pass --allow-regress to drop "
                      "the tests above")
                status = 1
            else:
                new = (baseline - judged) | passed_now
                write_baseline(args.baseline, new)
                print("baseline updated: %d tests (%+d)"
                      % (len(new), len(new) - len(baseline)))
        elif lost:
            status = 1
        else:
            print("check: all %d baseline tests of these modules pass"
                  % len(judged))
    return status


if __name__ == "__main__":
    sys.exit(main())
