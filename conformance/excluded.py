"""Tests of CPython's ctypes suite that conformance/run.py does not run.

One dict: test id -> reason (required, one line). Ids are written without
the ``ctypes.test.`` prefix, at any of three granularities:

    "test_win32"                                  a whole module
    "test_refcounts.RefcountTestCase"             a test class
    "test_numbers.NumberTestCase.test_typeflags"  a single test

Excluded tests are not run at all (so an entry also keeps a crashing test
from taking the rest of its module down), are reported as "excluded", and
never count as failures. Good reasons: the test checks CPython internals
(refcounts, ``_objects`` layout), it is Windows- or macOS-only, or it needs
a feature planned for a later issue (name the issue). Remove the entry once
the test passes: ``python conformance/run.py --no-exclude`` runs everything.
"""

EXCLUDED = {
}
