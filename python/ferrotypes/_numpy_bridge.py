"""Lets numpy's ``ndarray.ctypes.data_as`` take ferrotypes types.

numpy builds ``arr.ctypes`` on the standard library's ctypes, and its ``data_as(t)``
calls ``ctypes.cast``, which refuses any type but ctypes' own.  Code moving to
ferrotypes by changing only its imports still writes ``x.ctypes.data_as(POINTER(c_double))``
with ferrotypes' ``POINTER``, so once numpy is loaded, ``data_as`` is wrapped: a ferrotypes
type gets a ferrotypes pointer to the array's data (keeping the array alive, as numpy's
own result does); anything else goes to numpy's method unchanged.

Importing ferrotypes never imports numpy: :func:`watch` adapts numpy at once if it is
already loaded, and otherwise when the program first imports it.
"""

from __future__ import annotations

import functools
import importlib
import importlib.abc
import importlib.util
import sys

_DONE = False


def _is_ferrotypes_type(obj) -> bool:
    return isinstance(obj, type) and type(obj).__module__.startswith("ferrotypes")


def adapt_numpy() -> None:
    """Wraps ``numpy``'s ``_ctypes.data_as`` (once); numpy must be imported."""
    global _DONE
    if _DONE:
        return
    import ferrotypes

    try:
        helper = sys.modules["numpy._core._internal"]._ctypes
    except (KeyError, AttributeError):
        return  # a numpy without this helper: nothing to adapt
    numpy_data_as = helper.data_as

    def data_as(self, obj):
        if not _is_ferrotypes_type(obj):
            return numpy_data_as(self, obj)
        ptr = ferrotypes.cast(self.data, obj)
        ptr._arr = self._arr  # the pointer keeps the array alive
        return ptr

    data_as.__doc__ = numpy_data_as.__doc__
    data_as.__wrapped__ = numpy_data_as  # type: ignore[attr-defined]
    helper.data_as = data_as
    _adapt_dtype_from_ctypes()
    _DONE = True


def _adapt_dtype_from_ctypes() -> None:
    """numpy takes ferrotypes classes for ctypes' own (their base's module is
    ``ferrotypes._ctypes``) and asks ``dtype_from_ctypes_type`` for the dtype of
    ``numpy.asarray(instance)``, which knows only ctypes' records: ferrotypes types get
    ``ferrotypes.numpy``'s dtype instead."""
    dtype_ctypes = sys.modules.get("numpy._core._dtype_ctypes")
    if dtype_ctypes is None:
        try:
            dtype_ctypes = importlib.import_module("numpy._core._dtype_ctypes")
        except ImportError:
            return
    numpy_dtype_from_ctypes_type = dtype_ctypes.dtype_from_ctypes_type

    def dtype_from_ctypes_type(t):
        if not _is_ferrotypes_type(t):
            return numpy_dtype_from_ctypes_type(t)
        from ferrotypes.numpy import _dtype_of
        return _dtype_of(t)

    functools.update_wrapper(dtype_from_ctypes_type, numpy_dtype_from_ctypes_type)
    setattr(dtype_ctypes, "dtype_from_ctypes_type", dtype_from_ctypes_type)


class _AfterNumpy(importlib.abc.MetaPathFinder):
    """Finds nothing itself: when ``numpy`` is about to be imported, it wraps the real
    loader so that :func:`adapt_numpy` runs right after numpy's own module code."""

    def find_spec(self, name, path=None, target=None):
        if name != "numpy":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None:
            return spec
        loader = spec.loader
        real_exec = loader.exec_module

        def exec_module(module):
            real_exec(module)
            adapt_numpy()

        try:
            loader.exec_module = exec_module  # on this loader instance only
        except AttributeError:
            return spec
        return spec


def watch() -> None:
    if "numpy._core._internal" in sys.modules:
        adapt_numpy()
    elif "numpy" not in sys.modules and not any(isinstance(f, _AfterNumpy) for f in sys.meta_path):
        sys.meta_path.insert(0, _AfterNumpy())
