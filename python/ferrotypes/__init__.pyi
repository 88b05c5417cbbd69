# Types of ferrotypes' public names: ctypes' API, typed at least as precisely as
# typeshed types the standard library's ctypes. Simple types carry their Python value
# type (c_int.value is int), arrays and pointers their element type, and a library's
# attributes are function pointers.

import sys
from _typeshed import StrPath
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, Generic, TypeVar, overload

from ferrotypes._ctypes import (
    RTLD_GLOBAL as RTLD_GLOBAL,
    RTLD_LOCAL as RTLD_LOCAL,
    ArgumentError as ArgumentError,
    Array as Array,
    CFuncPtr as _CFuncPtr,
    Structure as Structure,
    Union as Union,
    _CDataBase,
    _Pointer as _Pointer,
    _SimpleCData as _SimpleCData,
    addressof as addressof,
    alignment as alignment,
    byref as byref,
    cast as cast,
    create_string_buffer as create_string_buffer,
    create_unicode_buffer as create_unicode_buffer,
    get_errno as get_errno,
    pointer as pointer,
    resize as resize,
    set_errno as set_errno,
    sizeof as sizeof,
    string_at as string_at,
    wstring_at as wstring_at,
)

__version__: str

DEFAULT_MODE: int

_T = TypeVar("_T")
_CT = TypeVar("_CT", bound=_CDataBase)
_DLLT = TypeVar("_DLLT", bound=CDLL)

# --- simple types -------------------------------------------------------------------

class py_object(_SimpleCData[_T]): ...
class c_bool(_SimpleCData[bool]):
    def __init__(self, value: bool = ...) -> None: ...

class c_byte(_SimpleCData[int]): ...
class c_ubyte(_SimpleCData[int]): ...
class c_short(_SimpleCData[int]): ...
class c_ushort(_SimpleCData[int]): ...
class c_int(_SimpleCData[int]): ...
class c_uint(_SimpleCData[int]): ...
class c_long(_SimpleCData[int]): ...
class c_ulong(_SimpleCData[int]): ...
class c_longlong(_SimpleCData[int]): ...
class c_ulonglong(_SimpleCData[int]): ...
class c_float(_SimpleCData[float]): ...
class c_double(_SimpleCData[float]): ...
class c_longdouble(_SimpleCData[float]): ...
class c_float_complex(_SimpleCData[complex]):
    """C ``float _Complex``: values are Python ``complex`` (ctypes has it from 3.14)."""

class c_double_complex(_SimpleCData[complex]):
    """C ``double _Complex``: values are Python ``complex``."""

class c_longdouble_complex(_SimpleCData[complex]):
    """C ``long double _Complex``: values are Python ``complex`` (each part rounded
    to a double, as ``c_longdouble`` is)."""

class c_char(_SimpleCData[bytes]):
    def __init__(self, value: int | bytes | bytearray = ...) -> None: ...

class c_wchar(_SimpleCData[str]): ...

class c_char_p(_SimpleCData[bytes | None]):
    def __init__(self, value: int | bytes | None = ...) -> None: ...

class c_wchar_p(_SimpleCData[str | None]):
    def __init__(self, value: int | str | None = ...) -> None: ...

class c_void_p(_SimpleCData[int | None]):
    def __init__(self, value: int | None = ...) -> None: ...

c_voidp = c_void_p
c_int8 = c_byte
c_uint8 = c_ubyte
c_int16 = c_short
c_uint16 = c_ushort
c_int32 = c_int
c_uint32 = c_uint
c_int64 = c_long
c_uint64 = c_ulong
c_size_t = c_ulong
c_ssize_t = c_long
c_time_t = c_long
if sys.version_info >= (3, 12):
    SIZEOF_TIME_T: int

class BigEndianStructure(Structure):
    """A structure whose fields are stored big-endian."""

class LittleEndianStructure(Structure):
    """A structure whose fields are stored little-endian."""

class BigEndianUnion(Union):
    """A union whose fields are stored big-endian."""

class LittleEndianUnion(Union):
    """A union whose fields are stored little-endian."""

# --- function prototypes and libraries --------------------------------------------------

def CFUNCTYPE(
    restype: type[_CDataBase] | None, *argtypes: type[_CDataBase],
    use_errno: bool = False, use_last_error: bool = False,
    error_result: Any = None, propagate: bool = False, keep_results: bool = False,
) -> type[_CFuncPtr]:
    """A function pointer type for C functions returning ``restype`` and taking
    ``argtypes`` (the C calling convention). For its callbacks, ``error_result`` is
    what C gets when the function raises (zero by default), ``propagate=True``
    raises that exception from the foreign call waiting on the callback's thread, and
    ``keep_results=True`` lets a pointer result keep what it points into alive."""

def PYFUNCTYPE(
    restype: type[_CDataBase] | None, *argtypes: type[_CDataBase],
    error_result: Any = None, propagate: bool = False, keep_results: bool = False,
) -> type[_CFuncPtr]:
    """Like ``CFUNCTYPE``, for functions of the Python C API: the GIL stays held."""

class CDLL:
    """A loaded shared library whose functions use the C calling convention."""

    _func_flags_: ClassVar[int]
    _func_restype_: ClassVar[type[_CDataBase]]
    _name: str | None
    _handle: int
    _FuncPtr: type[_CFuncPtr]
    def __init__(
        self, name: StrPath | None, mode: int = ..., handle: int | None = None,
        use_errno: bool = False, use_last_error: bool = False, winmode: int | None = None,
    ) -> None: ...
    def __getattr__(self, name: str) -> _CFuncPtr: ...
    def __getitem__(self, name_or_ordinal: str | int) -> _CFuncPtr: ...

class PyDLL(CDLL):
    """A library of functions that use the Python C API (the GIL stays held)."""

class LibraryLoader(Generic[_DLLT]):
    """Loads libraries on attribute access: ``cdll.libc`` is ``CDLL("libc")``."""

    def __init__(self, dlltype: type[_DLLT]) -> None: ...
    def __getattr__(self, name: str) -> _DLLT: ...
    def __getitem__(self, name: str) -> _DLLT: ...
    def LoadLibrary(self, name: StrPath | None) -> _DLLT: ...
    def __class_getitem__(cls, item: Any, /) -> Any: ...

cdll: LibraryLoader[CDLL]
pydll: LibraryLoader[PyDLL]
pythonapi: PyDLL

# --- memory, pointers and arrays ---------------------------------------------------------

memmove: _CFuncPtr
memset: _CFuncPtr

@overload
def POINTER(cls: type[_CT], /) -> type[_Pointer[_CT]]:
    """The pointer type to ``cls`` (cached)."""

@overload
def POINTER(cls: str, /) -> type[_Pointer[Any]]:
    """A pointer type to an incomplete type named ``cls``, completed by ``SetPointerType``."""

def _reset_cache() -> None:
    """Forgets every pointer and function prototype type made so far."""

def SetPointerType(pointer_type: type[_Pointer[Any]], cls: type[_CDataBase]) -> None:
    """Sets the target of a pointer type created from a name (``POINTER("node")``)."""

def ARRAY(typ: type[_CT], length: int) -> type[Array[_CT]]:
    """``typ * length`` (deprecated in ctypes, kept for compatibility)."""

c_buffer = create_string_buffer

# C declarations and headers as bindings (ferrotypes' own addition to the ctypes API).
from ferrotypes.cdecl import CDeclError as CDeclError, CNamespace as CNamespace, VerifyError as VerifyError, cdef as cdef, include as include
# Memory with an owner (ferrotypes' own).
from ferrotypes._ownership import Arena as Arena, owned as owned, release as release

# What `from ferrotypes import *` gives: exactly ctypes' names on each version.
__all__ = [
    "ARRAY", "ArgumentError", "Array", "BigEndianStructure", "BigEndianUnion", "CDLL", "CFUNCTYPE",
    "DEFAULT_MODE", "LibraryLoader", "LittleEndianStructure", "LittleEndianUnion", "POINTER", "PYFUNCTYPE",
    "PyDLL", "RTLD_GLOBAL", "RTLD_LOCAL", "SetPointerType", "Structure", "Union", "addressof", "alignment",
    "byref", "c_bool", "c_buffer", "c_byte", "c_char", "c_char_p", "c_double", "c_float", "c_int", "c_int16",
    "c_int32", "c_int64", "c_int8", "c_long", "c_longdouble", "c_longlong", "c_short", "c_size_t",
    "c_ssize_t", "c_ubyte", "c_uint", "c_uint16", "c_uint32", "c_uint64", "c_uint8", "c_ulong",
    "c_ulonglong", "c_ushort", "c_void_p", "c_voidp", "c_wchar", "c_wchar_p", "cast", "cdll",
    "create_string_buffer", "create_unicode_buffer", "get_errno", "memmove", "memset", "pointer",
    "py_object", "pydll", "pythonapi", "resize", "set_errno", "sizeof", "string_at", "wstring_at",
]
if sys.version_info >= (3, 12):
    __all__ += ["SIZEOF_TIME_T", "c_time_t"]
