"""Tests that fail today because of known, not-yet-fixed differences from ctypes.

One list, each entry a test id (with its parameters) and the reason. conftest.py marks matching tests
``xfail(strict=True)``: when a fix lands, the test passes, strict xfail turns that into
a failure, and the entry must be removed here. Nothing else in the suite is skipped.
"""

KNOWN_DIFFERENCES = {
}
