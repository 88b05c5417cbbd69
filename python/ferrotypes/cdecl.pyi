# Types of ferrotypes.cdecl: C declarations and headers as bindings.
#
# A namespace's contents come from C at run time, so its attributes and items are Any:
# a typed program states what it expects (`compress: CFuncPtr = z.compress`) or uses the
# generated bindings of a header instead.

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ferrotypes import CDLL

__all__ = ["CDeclError", "CNamespace", "VerifyError", "cdef", "include"]

_Library = CDLL | str | None

class CDeclError(ValueError):
    """A problem in C declarations: ``file:line:column: message``, then the source line
    and a caret."""

    file: str | None
    line: int | None
    column: int | None
    def __init__(self, message: str, file: str | None = None, line: int | None = None, column: int | None = None) -> None: ...

class VerifyError(CDeclError):
    """The C compiler disagrees with a namespace (``CNamespace.verify``): the message lists
    each difference, ``differences`` holds them as strings."""

    differences: list[str]
    def __init__(self, message: str, differences: Iterable[str] = ()) -> None: ...

class CNamespace:
    """What C declarations make visible: functions, variables, typedefs, enum constants
    and macros as attributes; tags and any C type name as items."""

    def __init__(self, unit: Any, libraries: Sequence[CDLL], origin: str) -> None: ...
    def __getattr__(self, name: str) -> Any: ...
    def __getitem__(self, c_name: str) -> Any: ...
    def __dir__(self) -> Iterable[str]: ...
    def typeof(self, c_type_name: str) -> Any:
        """The ferrotypes type of a C type name (``"struct tm *"``, ``"int (*)(int)"``)."""
    @property
    def skipped(self) -> Mapping[str, str]:
        """``{name: reason}`` for every declaration and macro that has no binding."""
    def verify(self) -> int:
        """Compiles a probe with the compiler and flags that made this namespace and
        compares every structure and union and every constant with it; raises
        ``VerifyError`` listing the differences. Returns the number of values checked."""

def cdef(source: str, lib: _Library | Sequence[_Library] = None) -> CNamespace:
    """C declarations as text: a namespace of bindings."""

def include(
    header: str,
    lib: _Library | Sequence[_Library] = None,
    *,
    include_dirs: Sequence[str] = (),
    defines: Mapping[str, str | int | None] | None = None,
    cc: str | None = None,
    verify: bool = False,
) -> CNamespace:
    """A header as the C compiler on this machine sees it: a namespace of bindings."""
