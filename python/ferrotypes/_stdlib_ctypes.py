"""The standard library's ctypes, as ferrotypes functions meet its objects in arguments.

Code moving to ferrotypes still holds objects made by the stdlib's ctypes (numpy's
``arr.ctypes.data_as(ctypes.POINTER(...))``, ``arr.ctypes.shape``). The extension
(``zerocopy.rs``) converts them as it converts ferrotypes' own; this module finds the
stdlib's classes for it. It never imports ``ctypes``: until the program has, no such
object can exist. Where ``_ctypes`` is ferrotypes itself (the conformance runner
aliases it so), there is no stdlib ctypes at all.
"""

from __future__ import annotations

import sys

import ferrotypes._ctypes as _ours


def stdlib_types():
    """``(_CData, _SimpleCData, _Pointer, Array, CFuncPtr, (Structure, Union),
    CArgObject)`` of the loaded stdlib ctypes; None while it is not (fully) loaded;
    False when ``_ctypes`` is ferrotypes."""
    core = sys.modules.get("_ctypes")
    if core is None:
        return None
    if core is _ours:
        return False
    ctypes = sys.modules.get("ctypes")
    if ctypes is None or getattr(ctypes, "_SimpleCData", None) is not core._SimpleCData:
        return None
    carg = type(core.byref(ctypes.c_char()))
    return (core._SimpleCData.__mro__[1], core._SimpleCData, core._Pointer, core.Array, core.CFuncPtr,
            (core.Structure, core.Union), carg)


def byref_address(carg):
    """The address a stdlib ``byref()`` result holds (offset included), or None when
    it holds no address (``c_int.from_param(5)`` is a CArgObject too)."""
    if not repr(carg).startswith("<cparam 'P'"):
        return None
    ctypes = sys.modules["ctypes"]
    return ctypes.cast(carg, ctypes.c_void_p).value or 0
