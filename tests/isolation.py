"""Runs the tests that could crash the interpreter in a forked child process.

A module opts in with ``pytestmark = pytest.mark.isolated`` (or a single test with the
marker). The child runs the test's setup, call and teardown and sends the reports back
through a pipe; if it dies instead (a segfault, an abort), the parent reports that test
as failed, naming the signal, and the run goes on with the next test. A crash therefore
costs one test, not the whole run, and says which test it was.
"""

from __future__ import annotations

import json
import os
import signal

import pytest
from _pytest.runner import runtestprotocol


def pytest_configure(config):
    config.addinivalue_line("markers", "isolated: run the test in a forked child, so that a crash fails only it")


def _run_in_child(item, write_end):
    """The child's part: run the test, send its serialised reports, exit at once."""
    status = 0
    try:
        reports = runtestprotocol(item, log=False, nextitem=None)
        data = [item.config.hook.pytest_report_to_serializable(config=item.config, report=r) for r in reports]
        with os.fdopen(write_end, "w") as pipe:
            json.dump(data, pipe)
    except BaseException:  # noqa: BLE001 - anything here is reported by the parent as a crash
        status = 1
    os._exit(status)


def _crash_report(item, how):
    """A failed call report for a test whose child died."""
    return pytest.TestReport(
        nodeid=item.nodeid, location=item.location, keywords={k: 1 for k in item.keywords},
        outcome="failed", longrepr=f"the test process crashed: {how}", when="call",
    )


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_protocol(item, nextitem):
    if item.get_closest_marker("isolated") is None or not hasattr(os, "fork"):
        return None
    item.ihook.pytest_runtest_logstart(nodeid=item.nodeid, location=item.location)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        _run_in_child(item, write_end)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        payload = pipe.read()
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        reports = [_crash_report(item, f"killed by {signal.Signals(number).name}")]
    elif not payload:
        reports = [_crash_report(item, f"exited with status {os.WEXITSTATUS(status)} before reporting")]
    else:
        reports = [item.config.hook.pytest_report_from_serializable(config=item.config, data=d) for d in json.loads(payload)]
    for report in reports:
        item.ihook.pytest_runtest_logreport(report=report)
    item.ihook.pytest_runtest_logfinish(nodeid=item.nodeid, location=item.location)
    return True
