# Types of the extension module ferrotypes._ctypes, the Rust core behind ferrotypes.
#
# The public names (Structure, Array, byref, ...) are re-exported by ferrotypes; the
# underscored ones are the Rust sides of the C data families and the hooks
# ferrotypes/__init__.py and _metatypes.py wire up at import time.
#
# Typing choices: _SimpleCData is generic in its Python value type (c_int.value is int);
# Array and _Pointer are generic in their element class, and indexing gives the element's
# Python value for simple element types ((c_int * 3)()[0] is int), the element instance
# otherwise. A subclass of a simple type, which ctypes hands out as an instance, still
# types as the value: the stubs cannot tell a subclass from the type itself.

import _ctypes as _stdlib_ctypes
import sys
from _typeshed import ReadableBuffer, StrOrBytesPath, WriteableBuffer
from collections.abc import Callable, Iterator, Mapping, Sequence
from types import GenericAlias
from typing import Any, ClassVar, Generic, Literal, Self, TypeAlias, TypeVar, final, overload

from typing_extensions import disjoint_base

from ferrotypes._metatypes import (
    PyCArrayType,
    PyCFuncPtrType,
    PyCPointerType,
    PyCSimpleType,
    PyCStructType,
    UnionType,
)

__all__ = [
    "_CDataBase",
    "_SimpleData",
    "_FuncPtrData",
    "_ArrayData",
    "_PointerData",
    "_RecordData",
    "CField",
    "CArgObject",
    "TypeInfo",
    "ArgumentError",
    "simple_info",
    "pointer_info",
    "function_info",
    "array_info",
    "record_info",
    "anonymous_field",
    "set_pointer_type",
    "byref",
    "_unpickle",
    "sizeof",
    "alignment",
    "addressof",
    "resize",
    "_add_class_methods",
    "_add_array_operator",
    "_add_char_array_getsets",
    "_allocated_here",
    "_from_buffer",
    "_check_bit_field",
    "string_at",
    "cast",
    "wstring_at",
    "get_errno",
    "set_errno",
    "dlopen",
    "dlsym",
    "dlclose",
    "_enable_vectorcall",
    "_enable_fast_slots",
    "_constructed_directly",
    "array_type",
    "pointer",
    "POINTER",
    "_set_pointer_types",
    "_set_array_type_builder",
    "_set_char_types",
    "create_string_buffer",
    "create_unicode_buffer",
    "_simple_from_param",
    "_pointer_param_case",
    "_check_restype",
    "_stand_in",
    "_released_callbacks",
    "_check_error_result",
    "_Lease",
    "_arena_new",
    "_owned_view",
    "_release_results",
    "_FUNCFLAG_KEEP_RESULTS",
    "_layout_paths",
    "_make_immutable",
    "parse_c",
    "CUnit",
    "PyObj_FromPtr",
    "_set_default_from_param",
    "_register_ndpointer",
    "_memmove_addr",
    "_memset_addr",
    "FUNCFLAG_CDECL",
    "FUNCFLAG_HRESULT",
    "FUNCFLAG_PYTHONAPI",
    "FUNCFLAG_USE_ERRNO",
    "FUNCFLAG_USE_LASTERROR",
    "_FUNCFLAG_ERROR_RESULT",
    "_FUNCFLAG_PROPAGATE",
    "RTLD_LOCAL",
    "RTLD_GLOBAL",
    "CTYPES_MAX_ARGCOUNT",
    "__version__",
]

if sys.version_info >= (3, 12):
    __all__ += ["SIZEOF_TIME_T"]
    SIZEOF_TIME_T: int

__version__: str  # ctypes' own version string ("1.1.0"), as the stdlib's _ctypes has it

FUNCFLAG_CDECL: int
FUNCFLAG_HRESULT: int
FUNCFLAG_PYTHONAPI: int
FUNCFLAG_USE_ERRNO: int
FUNCFLAG_USE_LASTERROR: int
_FUNCFLAG_ERROR_RESULT: int
_FUNCFLAG_PROPAGATE: int
_FUNCFLAG_KEEP_RESULTS: int
RTLD_LOCAL: int
RTLD_GLOBAL: int
CTYPES_MAX_ARGCOUNT: int
_memmove_addr: int
_memset_addr: int

# The standard library's C data and byref() results, which ferrotypes takes wherever it
# takes its own of the same kind.
_StdCData: TypeAlias = _stdlib_ctypes._CData
_StdCArg: TypeAlias = _stdlib_ctypes._CArgObject

_T = TypeVar("_T")
_CT = TypeVar("_CT", bound=_CDataBase)
_CT_co = TypeVar("_CT_co", bound=_CDataBase, covariant=True)
_GetT = TypeVar("_GetT")
_SetT = TypeVar("_SetT")

class ArgumentError(Exception):
    """A foreign function call could not convert one of its arguments."""

# --- the C data base --------------------------------------------------------------------

@disjoint_base
class _CDataBase:
    """The base of every C data instance: its memory and what that memory keeps alive."""

    _b_base_: _CDataBase | None
    _b_needsfree_: bool
    _objects: Mapping[Any, Any] | None
    def __new__(cls, *args: Any, **kwargs: Any) -> Self: ...
    def __reduce__(self) -> tuple[Any, ...]: ...
    def __setstate__(self, dict: Any, data: bytes, /) -> None: ...
    def __ctypes_from_outparam__(self) -> Any: ...
    def __buffer__(self, flags: int, /) -> memoryview: ...

_CDataType: TypeAlias = _CDataBase

@final
class CArgObject:
    """What ``byref(obj)`` gives: ``obj``'s address, only for passing to a foreign call."""

    _obj: _CDataBase

@final
class CField(Generic[_CT, _GetT, _SetT]):
    """The descriptor of one field of a structure or union: a ``_CT`` in C, read as
    ``_GetT`` and stored from ``_SetT``."""

    offset: int
    size: int
    @overload
    def __get__(self, instance: None, owner: type[Any] | None = None, /) -> Self: ...
    @overload
    def __get__(self, instance: Any, owner: type[Any] | None = None, /) -> _GetT: ...
    def __set__(self, instance: Any, value: _SetT, /) -> None: ...
    def __delete__(self, instance: Any, /) -> None: ...

@final
class TypeInfo:
    """Size, alignment and call description of a C data class (``cls._typeinfo_``)."""

    size: int
    align: int
    @property
    def is_final(self) -> bool: ...
    def mark_final(self) -> None: ...

# --- simple types ---------------------------------------------------------------------

class _SimpleData(_CDataBase):
    value: Any
    def __bool__(self) -> bool: ...

class _SimpleCData(_SimpleData, Generic[_T], metaclass=PyCSimpleType):
    """The base of the simple types (``c_int``, ``c_char_p``, ...); ``value`` is the
    Python value of the C value."""

    value: _T
    _type_: ClassVar[str]
    def __init__(self, value: _T = ...) -> None: ...

# --- structures and unions ------------------------------------------------------------

_Field: TypeAlias = tuple[str, type[_CDataBase]] | tuple[str, type[_CDataBase], int]

class _RecordData(_CDataBase):
    _fields_: ClassVar[Sequence[_Field]]
    _pack_: ClassVar[int]
    _anonymous_: ClassVar[Sequence[str]]
    def __init__(self, *args: Any, **kwargs: Any) -> None: ...
    # Fields are descriptors made from _fields_, which a type checker cannot see:
    # reading one is Any unless the class annotates it (``x: int``).
    def __getattr__(self, name: str) -> Any: ...
    def __setattr__(self, name: str, value: Any) -> None: ...

class Structure(_RecordData, metaclass=PyCStructType):
    """A C ``struct``: subclass it and set ``_fields_ = [(name, type), ...]``."""

class Union(_RecordData, metaclass=UnionType):
    """A C ``union``: subclass it and set ``_fields_ = [(name, type), ...]``."""

# --- arrays and pointers ----------------------------------------------------------------

class _ArrayData(_CDataBase):
    def __len__(self) -> int: ...
    def __delitem__(self, key: int | slice, /) -> None: ...

class Array(_ArrayData, Generic[_CT_co], metaclass=PyCArrayType):
    """A C array: ``c_int * 3`` is the class, ``(c_int * 3)(1, 2, 3)`` an instance."""

    _length_: ClassVar[int]
    _type_: ClassVar[type[_CDataBase]]  # the element class (a ClassVar cannot name _CT_co)
    # c_char arrays: the bytes up to the first NUL / all the bytes; c_wchar arrays: str.
    raw: bytes
    value: Any
    def __init__(self, *args: Any) -> None: ...
    def __class_getitem__(cls, item: Any, /) -> GenericAlias: ...
    @overload
    def __getitem__(self: Array[_SimpleCData[_T]], key: int, /) -> _T: ...  # type: ignore[overload-overlap]
    @overload
    def __getitem__(self: Array[_SimpleCData[bytes]], key: slice, /) -> bytes: ...  # type: ignore[overload-overlap]
    @overload
    def __getitem__(self: Array[_SimpleCData[str]], key: slice, /) -> str: ...  # type: ignore[overload-overlap]
    @overload
    def __getitem__(self: Array[_SimpleCData[_T]], key: slice, /) -> list[_T]: ...  # type: ignore[overload-overlap]
    @overload
    def __getitem__(self, key: int, /) -> _CT_co: ...
    @overload
    def __getitem__(self, key: slice, /) -> list[_CT_co]: ...
    @overload
    def __setitem__(self: Array[_SimpleCData[_T]], key: int, value: _T | _SimpleCData[_T], /) -> None: ...
    @overload
    def __setitem__(self: Array[_CT], key: int, value: _CT, /) -> None: ...
    @overload
    def __setitem__(self, key: slice, value: Sequence[Any] | bytes | str, /) -> None: ...
    # Iteration goes through the sequence protocol (sq_item): no __iter__ at run time.
    @overload
    def __iter__(self: Array[_SimpleCData[_T]]) -> Iterator[_T]: ...  # type: ignore[overload-overlap]
    @overload
    def __iter__(self) -> Iterator[_CT_co]: ...

class _PointerData(_CDataBase):
    contents: Any
    def __bool__(self) -> bool: ...
    def __delitem__(self, key: int | slice, /) -> None: ...

class _Pointer(_PointerData, Generic[_CT_co], metaclass=PyCPointerType):
    """A C pointer to ``_CT``: ``POINTER(c_int)`` is the class, ``pointer(x)`` an instance."""

    _type_: ClassVar[type[_CDataBase]]  # the target class (a ClassVar cannot name _CT_co)
    contents: _CT_co
    @overload
    def __init__(self) -> None: ...
    @overload
    def __init__(self, arg: _CT_co, /) -> None: ...
    @overload
    def __getitem__(self: _Pointer[_SimpleCData[_T]], key: int, /) -> _T: ...  # type: ignore[overload-overlap]
    @overload
    def __getitem__(self: _Pointer[_SimpleCData[bytes]], key: slice, /) -> bytes: ...  # type: ignore[overload-overlap]
    @overload
    def __getitem__(self: _Pointer[_SimpleCData[_T]], key: slice, /) -> list[_T]: ...  # type: ignore[overload-overlap]
    @overload
    def __getitem__(self, key: int, /) -> _CT_co: ...
    @overload
    def __getitem__(self, key: slice, /) -> list[_CT_co]: ...
    @overload
    def __setitem__(self: _Pointer[_SimpleCData[_T]], key: int, value: _T | _SimpleCData[_T], /) -> None: ...
    @overload
    def __setitem__(self: _Pointer[_CT], key: int, value: _CT, /) -> None: ...

def POINTER(cls: type[_CDataBase] | str, /) -> type[_Pointer[Any]]:
    """The pointer type to ``cls`` (cached; a string names an incomplete type)."""

@overload
def pointer(obj: _CT, /) -> _Pointer[_CT]:
    """A new pointer to ``obj`` (an instance of ``POINTER(type(obj))``)."""
@overload
def pointer(obj: _StdCData, /) -> _Pointer[Any]:
    """A ferrotypes pointer to a stdlib instance's memory (to the ferrotypes class of its layout)."""

# --- functions ---------------------------------------------------------------------

_ErrCheck: TypeAlias = Callable[[Any, Any, tuple[Any, ...]], Any]
_ParamFlags: TypeAlias = Sequence[tuple[int] | tuple[int, str | None] | tuple[int, str | None, Any]]

@disjoint_base
class _FuncPtrData(_CDataBase):
    restype: type[_CDataBase] | Callable[[int], Any] | None
    argtypes: Sequence[type[_CDataBase]] | None
    errcheck: _ErrCheck | None
    def __bool__(self) -> bool: ...
    def __call__(self, *args: Any, **kwargs: Any) -> Any: ...
    @property
    def _recipe(self) -> str: ...

class CFuncPtr(_FuncPtrData, metaclass=PyCFuncPtrType):
    """A C function pointer; ``CFUNCTYPE(...)`` makes its subclasses. An instance is made
    from an address, from ``(name, library)`` (optionally with ``paramflags``) or from a
    Python callable (a callback C can call)."""

    _argtypes_: ClassVar[Sequence[type[_CDataBase]]]
    _restype_: ClassVar[type[_CDataBase] | None]
    _flags_: ClassVar[int]
    __name__: str
    @overload
    def __init__(self) -> None: ...
    @overload
    def __init__(self, address: int, /) -> None: ...
    @overload
    def __init__(self, callable: Callable[..., Any], /) -> None: ...
    @overload
    def __init__(self, func_spec: tuple[str | int, Any], paramflags: _ParamFlags = ..., /) -> None: ...

# --- module functions -----------------------------------------------------------------

def byref(obj: _CDataBase | _StdCData, offset: int = 0, /) -> CArgObject:
    """``obj``'s address (plus ``offset``) for passing by reference to a foreign call."""

def sizeof(obj: _CDataBase | type[_CDataBase] | _StdCData | type[_StdCData], /) -> int:
    """The size in bytes of a C data class or instance."""

def alignment(obj: _CDataBase | type[_CDataBase] | _StdCData | type[_StdCData], /) -> int:
    """The alignment in bytes of a C data class or instance."""

def addressof(obj: _CDataBase | _StdCData, /) -> int:
    """The address of an instance's memory."""

def resize(obj: _CDataBase, size: int) -> None:
    """Grows (never shrinks below its type's size) the memory an instance owns."""

def cast(obj: _CDataBase | CArgObject | _StdCData | _StdCArg | int | bytes | str | None, typ: type[_CT]) -> _CT:
    """An instance of the pointer type ``typ`` pointing where ``obj`` points."""

def string_at(address: _CDataBase | _StdCData | _StdCArg | int | None, size: int | None = None) -> bytes:
    """The bytes at ``address``: ``size`` of them, or up to the first NUL."""

def wstring_at(address: _CDataBase | _StdCData | _StdCArg | int | None, size: int | None = None) -> str:
    """The wide characters at ``address``: ``size`` of them, or up to the first NUL."""

def get_errno() -> int: ...
def set_errno(value: int) -> int: ...
def create_string_buffer(init: int | bytes, size: int | None = None) -> Array[Any]:
    """A mutable ``c_char`` array: ``init`` bytes (NUL-terminated) or a size in bytes."""

def create_unicode_buffer(init: int | str, size: int | None = None) -> Array[Any]:
    """A mutable ``c_wchar`` array: ``init`` text (NUL-terminated) or a size."""

def dlopen(name: StrOrBytesPath | None = None, mode: int = ...) -> int: ...
def dlsym(handle: int, name: str) -> int: ...
def dlclose(handle: int) -> None: ...
def PyObj_FromPtr(address: int) -> Any: ...

# --- hooks used by ferrotypes' own modules --------------------------------------------

def simple_info(code: str, swapped: bool = False, native_values: bool = True) -> TypeInfo: ...
def pointer_info(target: type[_CDataBase] | None = None) -> TypeInfo: ...
def function_info() -> TypeInfo: ...
def array_info(element: type[_CDataBase], length: int) -> TypeInfo: ...
def record_info(
    union: bool, fields: Sequence[Any], pack: int | None, base: type[_CDataBase] | None,
    big_endian: bool, complete: bool = True, align: int = 0,
) -> tuple[TypeInfo, list[Any]]: ...
def anonymous_field(member: Any, field: Any) -> CField[Any, Any, Any]: ...
def set_pointer_type(pointer: type[_CDataBase], target: type[_CDataBase]) -> None: ...
def array_type(element: type[_CT], length: int) -> type[Array[_CT]]: ...
def _unpickle(typ: type[_CT], state: Any) -> _CT: ...
def _add_class_methods(meta: type[Any]) -> None: ...
def _add_array_operator(meta: type[Any]) -> None: ...
def _add_char_array_getsets(cls: type[Any], wide: bool) -> None: ...
def _allocated_here() -> list[tuple[str, bool]]: ...
def _from_buffer(cls: type[_CT], source: WriteableBuffer) -> _CT: ...
def _check_bit_field(cls: type[_CDataBase], width: int) -> None: ...
def _enable_vectorcall(cls: type[Any]) -> None: ...
def _enable_fast_slots(cls: type[Any]) -> None: ...
def _constructed_directly(cls: type[Any]) -> bool: ...
def _set_pointer_types(cache: dict[Any, Any], factory: Callable[[Any], type[_Pointer[Any]]]) -> None: ...
def _set_array_type_builder(builder: Callable[[type[_CDataBase], int], type[Array[Any]]]) -> None: ...
def _set_char_types(c_char: type[_SimpleCData[bytes]], c_wchar: type[_SimpleCData[str]]) -> None: ...
def _simple_from_param(cls: type[_SimpleCData[Any]], value: Any) -> Any: ...
def _pointer_param_case(cls: type[_Pointer[Any]], value: Any) -> Literal["as is", "by reference"] | None: ...
def _check_restype(restype: Any) -> None: ...
def _stand_in(cls: Any) -> type[_SimpleCData[Any]] | None:
    """The ferrotypes simple type a class that is not one names as ``_ctype_`` (an enum
    class of ``cdecl``), which it stands for wherever a type is taken; else None."""
def _released_callbacks() -> int: ...
def _check_error_result(restype: Any, value: Any, keep_results: bool = False) -> None: ...
def _release_results(obj: Any) -> int: ...

@disjoint_base
class _Lease:
    """The liveness of C memory that may be taken back (ferrotypes.Arena, owned())."""

    def __new__(cls, *args: Any, **kwargs: Any) -> Self: ...
    def _revoke(self, reason: str) -> bool: ...
    @property
    def _alive(self) -> bool: ...
    @property
    def _exports(self) -> int: ...

def _arena_new(lease: _Lease, cls: type[_CT]) -> _CT: ...
def _owned_view(lease: _Lease, obj: _CT) -> _CT: ...
def _layout_paths() -> bool: ...
def _make_immutable(cls: type[Any]) -> None: ...
def _set_default_from_param(simple: Any, pointer: Any, cdata: Any) -> None: ...
def _register_ndpointer(from_param: Any, requirements: Any) -> None: ...

# --- C declarations (read by ferrotypes.cdecl) --------------------------------------------

@final
class CUnit:
    """Parsed C declarations: the core's model as plain data, macros on demand."""

    def model(self) -> dict[str, Any]: ...
    def decl_kinds(self) -> dict[str, str]:
        """``{name: kind}`` of every declaration, in order (``function``, ``variable``,
        ``typedef``)."""
    def decl(self, name: str) -> dict[str, Any] | None:
        """The declaration of ``name`` as a dict, or None."""
    def macro_names(self) -> list[str]: ...
    def eval_macro(self, name: str) -> Any: ...
    def type_name(self, text: str) -> Any: ...
    def size_align(self, text: str) -> tuple[int, int]: ...

def parse_c(source: str, filename: str) -> CUnit:
    """Parses C declarations (``filename`` names them in errors)."""
