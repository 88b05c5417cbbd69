"""Helpers for the differential tests: ferrotypes against the stdlib's ctypes.

Imported by the test modules as ``difftools`` (pytest puts tests/ on sys.path).
"""

from __future__ import annotations

import ctypes as std_ctypes
import math
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

import ferrotypes

_DEFAULT = object()

# Every simple type's name, as both modules spell it.
SIMPLE_CODES = ["c_bool", "c_byte", "c_ubyte", "c_short", "c_ushort", "c_int", "c_uint", "c_long", "c_ulong",
                "c_longlong", "c_ulonglong", "c_size_t", "c_ssize_t", "c_float", "c_double", "c_longdouble",
                "c_char", "c_wchar", "c_void_p", "c_char_p", "c_wchar_p"]


def result_or_error(action):
    """What calling `action` gives, for comparing ctypes with ferrotypes: ("ok", result),
    or ("error", the exception's type, its message); see also `outcome`."""
    try:
        return ("ok", action())
    except Exception as exc:
        return ("error", type(exc), str(exc))


def resolve_type(module, spec):
    """A ctypes type of ``module`` from a name (``"c_int"``), a callable taking
    the module, or None (which stays None: a void result)."""
    if spec is None:
        return None
    if isinstance(spec, str):
        return getattr(module, spec)
    return spec(module)


@dataclass(frozen=True)
class LibPair:
    """One shared library loaded by ferrotypes (``ft``) and by ctypes (``std``)."""

    ft: Any
    std: Any

    def func(self, name, restype=_DEFAULT, argtypes=None):
        """Fresh, uncached function objects ``(ft_function, std_function)`` for
        ``name`` with the same signature in both implementations.

        ``restype`` and the items of ``argtypes`` are given as for
        :func:`resolve_type`; leaving ``restype`` out keeps the default ``c_int``.
        """
        pair = []
        for module, lib in ((ferrotypes, self.ft), (std_ctypes, self.std)):
            f = lib[name]
            if restype is not _DEFAULT:
                f.restype = resolve_type(module, restype)
            if argtypes is not None:
                f.argtypes = [resolve_type(module, t) for t in argtypes]
            pair.append(f)
        return tuple(pair)


def outcome(call):
    """``("ok", value)`` or ``("raises", exception type name)`` for a call:
    differential tests compare exception types, never messages."""
    try:
        return ("ok", call())
    except Exception as exc:  # noqa: BLE001 (any exception is an outcome)
        return ("raises", type(exc).__name__)


def same_value(a, b):
    """Equal values of the same type; NaN equals NaN and -0.0 differs from 0.0."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)
    return a == b


def assert_same_outcome(ft_call, std_call):
    """Both calls return equal values of the same type, or raise the same type."""
    got, expected = outcome(ft_call), outcome(std_call)
    if got[0] == expected[0] == "ok":
        assert same_value(got[1], expected[1]), f"ferrotypes: {got[1]!r}, ctypes: {expected[1]!r}"
    else:
        assert got == expected


def characters():
    """Any character but a lone surrogate.  Surrogates are legal in a 32-bit
    wchar_t; the tests named ``*surrogate*`` cover them on their own."""
    return st.characters(exclude_categories=("Cs",))


def text(**kwargs):
    """Strings of :func:`characters`."""
    return st.text(alphabet=characters(), **kwargs)
