# Types of ferrotypes.numpy, numpy.ctypeslib's API for ferrotypes types.

from _typeshed import StrPath
from collections.abc import Iterable, Sequence
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from ferrotypes import CDLL, c_long, c_void_p
from ferrotypes._ctypes import _CData

__all__ = ["as_array", "as_ctypes", "as_ctypes_type", "c_intp", "load_library", "ndpointer"]

c_intp = c_long

class _ndptr(c_void_p):
    """The base of ndpointer classes: ``from_param`` checks an ndarray against them."""

    _dtype_: ClassVar[np.dtype[Any] | None]
    _shape_: ClassVar[tuple[int, ...] | None]
    _ndim_: ClassVar[int | None]
    _flags_: ClassVar[int | None]
    @classmethod
    def from_param(cls, obj: Any) -> Any: ...

class _concrete_ndptr(_ndptr):
    """An ndpointer class knowing dtype and shape; as a restype it gives an ndarray."""

    @property
    def contents(self) -> npt.NDArray[Any]: ...

def load_library(libname: StrPath, loader_path: StrPath) -> CDLL:
    """Loads ``libname`` from the directory of ``loader_path`` as a ``CDLL``."""

def ndpointer(
    dtype: npt.DTypeLike | None = None,
    ndim: int | None = None,
    shape: int | Iterable[int] | None = None,
    flags: str | Sequence[str] | int | Any | None = None,
) -> type[_ndptr]:
    """A pointer type accepting only ndarrays of the given dtype, ndim, shape and flags."""

def as_ctypes_type(dtype: npt.DTypeLike) -> type[_CData]:
    """The ferrotypes type laid out as ``dtype``."""

def as_array(obj: _CData, shape: int | Sequence[int] | None = None) -> npt.NDArray[Any]:
    """An ndarray sharing the memory of a ferrotypes array, or of a pointer's target."""

def as_ctypes(obj: npt.NDArray[Any]) -> _CData:
    """A ferrotypes array (or scalar) over the memory of ``obj``; keeps ``obj`` alive."""
