# Types of ferrotypes.bind.runtime: what a generated module uses at run time.

import enum
from collections.abc import Callable, MutableMapping, Sequence
from typing import Any, TypeVar

from ferrotypes import CDLL, Array
from ferrotypes._ctypes import CFuncPtr as _CFuncPtr, _CDataBase, _Pointer

__all__ = ["IntEnum", "Library", "aligned", "byte_buffer", "callback", "deprecated", "names", "nonnull", "symbol", "variable"]

# The base of a generated module's enum classes: each stands for its C integer type
# (`_ctype_`) wherever a ferrotypes type is taken, and `E * n` works.
IntEnum: type[enum.IntEnum]

_F = TypeVar("_F", bound=Callable[[], Any])

def aligned(align: int) -> type[Array[Any]]:
    """A zero-length member giving its record alignment ``align`` and no bytes."""

def byte_buffer(pointee: type[_CDataBase], const: bool) -> type[_Pointer[Any]]:
    """``POINTER(pointee)`` (a one-byte type) as a parameter type that also takes any
    byte buffer; read-only ones only when ``const``."""

def callback(prototype: type[_CFuncPtr]) -> type[_CFuncPtr]:
    """A prototype as a parameter type that also takes a Python callable."""

def nonnull(base: type[_CDataBase], message: str) -> type[_CDataBase]:
    """Parameter type ``base`` refusing ``None`` with ``ValueError(message)``."""

def symbol(name: str) -> Callable[[_F], _F]:
    """Decorates a declaration whose symbol in the library is ``name``."""

def deprecated(message: str) -> Callable[[_F], _F]:
    """Decorates a function the header declares deprecated: binding it warns once."""

def variable(declaration: _F) -> _F:
    """Decorates a declaration returning the type of a variable."""

class Library:
    """The libraries a generated module binds to, loaded on first use."""

    names: list[str]
    python_api: bool
    def __init__(self, names: Sequence[str] = (), *, python_api: bool = False) -> None: ...
    def libraries(self) -> list[CDLL]: ...
    def bind(self, module_globals: MutableMapping[str, Any], declarations: type, name: str) -> Any:
        """The module attribute ``name``, bound and stored in ``module_globals``."""

def names(declarations: type) -> list[str]:
    """The names ``declarations`` declares (for the module's ``__dir__``)."""
