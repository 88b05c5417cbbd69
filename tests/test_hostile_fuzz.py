"""The hostile-input fuzzer's short run (see tests/hostile.py; ``python tests/hostile.py
--programs 100000`` is the long one): generated programs of API calls with hostile
arguments run under ctypes and under ferrotypes, and must end alike (or differ as
documented in known_differences.EXCEPTION_DIFFERENCES), without a panic, and without
a crash or hang ctypes does not have."""

import pytest
from hypothesis import HealthCheck, Phase, given, settings, strategies as st

import hostile

BATCH = 50


@pytest.fixture(scope="module")
def workers():
    pair = (hostile.Worker("ctypes", timeout=20), hostile.Worker("ferrotypes", timeout=20))
    yield pair
    for worker in pair:
        worker.close()


# No shrinking: every example is a batch run in other processes, and the message
# names the failing program already. Derandomized: the test command runs the same
# 1,000 programs every time; the long run (tests/hostile.py) is the one that explores.
@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck),
          phases=[Phase.explicit, Phase.generate], derandomize=True)
@given(programs=st.lists(hostile.PROGRAMS, min_size=BATCH, max_size=BATCH))
def test_hostile_programs_end_as_under_ctypes(workers, programs):
    verdict = hostile.Verdict()
    hostile.run_batch(workers, programs, verdict)
    assert not verdict.failures, "\n\n".join(hostile.describe_failure(f) for f in verdict.failures[:5])


def test_the_comparison_catches_what_it_must():
    """The judge itself: a panic, a crash ctypes does not have and an undocumented
    difference fail; a documented one, and a crash of ctypes', do not."""
    program = [("make", "v = 1")]
    cases = [
        (["ok"], ["panic"], 1),
        (["ok"], "crash:-11", 1),
        (["ok"], "timeout", 1),
        (["TypeError"], ["ValueError"], 1),
        ("crash:-11", ["ValueError"], 0),
        ("crash:-11", "crash:-11", 0),
        (["ok"], ["ok"], 0),
    ]
    for theirs, ours, failures in cases:
        verdict = hostile.Verdict()
        hostile.compare([program], [theirs], [ours], verdict)
        assert len(verdict.failures) == failures, (theirs, ours)
    verdict = hostile.Verdict()
    hostile.compare([[("from_address_null", "v = 1")]], [["ok"]], [["ValueError"]], verdict)
    assert not verdict.failures
