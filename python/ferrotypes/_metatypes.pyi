# Types of the metaclasses of ferrotypes' C data classes: the class-level methods
# (Point.from_address(...), c_int * 3, ...) are typed on the metaclass, with the class
# they are called on as a self-type, so Point.from_buffer(b) is a Point. mypy cannot
# relate type[_CT] to the metaclass (hence the ignores, as in typeshed's ctypes stubs).

from _typeshed import ReadableBuffer, WriteableBuffer
from types import ModuleType
from typing import Any, TypeVar

from ferrotypes._ctypes import Array, _CDataBase

_CT = TypeVar("_CT", bound=_CDataBase)

class _CDataMeta(type):
    def __new__(mcls, name: str, bases: tuple[type, ...], namespace: dict[str, Any], **kwargs: Any) -> _CDataMeta: ...
    def from_address(cls: type[_CT], address: int, /) -> _CT: ...  # type: ignore[misc]
    def in_dll(cls: type[_CT], library: Any, name: str) -> _CT: ...  # type: ignore[misc]
    def from_buffer(cls: type[_CT], source: WriteableBuffer, offset: int = 0, /) -> _CT: ...  # type: ignore[misc]
    def from_buffer_copy(cls: type[_CT], source: ReadableBuffer, offset: int = 0, /) -> _CT: ...  # type: ignore[misc]
    def from_param(cls, value: Any) -> Any: ...
    def __mul__(cls: type[_CT], length: int) -> type[Array[_CT]]: ...  # type: ignore[misc]
    def __rmul__(cls: type[_CT], length: int) -> type[Array[_CT]]: ...  # type: ignore[misc]

class PyCSimpleType(_CDataMeta): ...
class PyCArrayType(_CDataMeta): ...

class PyCPointerType(_CDataMeta):
    def set_type(cls, target: type[_CDataBase]) -> None: ...

class PyCFuncPtrType(_CDataMeta): ...
class _RecordMeta(_CDataMeta): ...
class PyCStructType(_RecordMeta): ...
class UnionType(_RecordMeta): ...

def build_base_classes(core: ModuleType) -> None: ...
