"""ferrotypes: the ctypes API with a Rust core.

``import ferrotypes as ctypes`` runs ctypes code unchanged: the same names, classes
and behaviour, with calls prepared once per signature and made through vectorcall,
and bad input answered by exceptions instead of crashes.

The heavy lifting is in the extension module ``ferrotypes._ctypes``; this module
defines the public names on top of it, as the stdlib's ``ctypes/__init__.py`` does
on top of ``_ctypes``.
"""

import os as _os
import sys as _sys

from ferrotypes._ctypes import (  # noqa: F401 (re-exported names)
    Array,
    ArgumentError,
    CFuncPtr as _CFuncPtr,
    FUNCFLAG_CDECL as _FUNCFLAG_CDECL,
    FUNCFLAG_PYTHONAPI as _FUNCFLAG_PYTHONAPI,
    FUNCFLAG_USE_ERRNO as _FUNCFLAG_USE_ERRNO,
    FUNCFLAG_USE_LASTERROR as _FUNCFLAG_USE_LASTERROR,
    _FUNCFLAG_ERROR_RESULT,
    _FUNCFLAG_KEEP_RESULTS,
    _FUNCFLAG_PROPAGATE,
    RTLD_GLOBAL,
    RTLD_LOCAL,
    Structure,
    Union,
    _Pointer,
    _SimpleCData,
    addressof,
    alignment,
    byref,
    cast,
    get_errno,
    resize,
    set_errno,
    sizeof,
)
from ferrotypes import _ctypes

#: ferrotypes' own version (the package's, pyproject.toml). ctypes' version string, which
#: ``ctypes.__version__`` gives ("1.1.0"), stays ``ferrotypes._ctypes.__version__``, where
#: the standard library's ``_ctypes`` keeps it too.
__version__ = "0.1.0"

DEFAULT_MODE = RTLD_LOCAL


# --- simple types -----------------------------------------------------------------

class py_object(_SimpleCData):
    """A Python object reference (``PyObject *``)."""

    _type_ = "O"

    def __repr__(self):
        try:
            return super().__repr__()
        except ValueError:
            return "%s(<NULL>)" % type(self).__name__


class c_short(_SimpleCData):
    """C ``short``."""

    _type_ = "h"


class c_ushort(_SimpleCData):
    """C ``unsigned short``."""

    _type_ = "H"


class c_long(_SimpleCData):
    """C ``long``."""

    _type_ = "l"


class c_ulong(_SimpleCData):
    """C ``unsigned long``."""

    _type_ = "L"


class c_int(_SimpleCData):
    """C ``int``."""

    _type_ = "i"


class c_uint(_SimpleCData):
    """C ``unsigned int``."""

    _type_ = "I"


class c_float(_SimpleCData):
    """C ``float``."""

    _type_ = "f"


class c_double(_SimpleCData):
    """C ``double``."""

    _type_ = "d"


class c_longdouble(_SimpleCData):
    """C ``long double``."""

    _type_ = "g"


class c_float_complex(_SimpleCData):
    """C ``float _Complex``: values are Python ``complex`` (ctypes has it from 3.14)."""

    _type_ = "F"


class c_double_complex(_SimpleCData):
    """C ``double _Complex``: values are Python ``complex``."""

    _type_ = "D"


class c_longdouble_complex(_SimpleCData):
    """C ``long double _Complex``: values are Python ``complex`` (each part rounded
    to a double, as ``c_longdouble`` is)."""

    _type_ = "G"


class c_longlong(_SimpleCData):
    """C ``long long``."""

    _type_ = "q"


class c_ulonglong(_SimpleCData):
    """C ``unsigned long long``."""

    _type_ = "Q"


class c_ubyte(_SimpleCData):
    """C ``unsigned char``, as an integer."""

    _type_ = "B"


class c_byte(_SimpleCData):
    """C ``signed char``, as an integer."""

    _type_ = "b"


class c_char(_SimpleCData):
    """C ``char``, as a one-byte ``bytes``."""

    _type_ = "c"


class c_char_p(_SimpleCData):
    """C ``char *`` to a NUL-terminated string (``bytes`` or None)."""

    _type_ = "z"


class c_void_p(_SimpleCData):
    """C ``void *`` (an ``int`` address, or None)."""

    _type_ = "P"


c_voidp = c_void_p  # backwards compatibility (to a bug)


class c_bool(_SimpleCData):
    """C ``_Bool``."""

    _type_ = "?"


class c_wchar_p(_SimpleCData):
    """C ``wchar_t *`` to a NUL-terminated string (``str`` or None)."""

    _type_ = "Z"


class c_wchar(_SimpleCData):
    """C ``wchar_t``, as a one-character ``str``."""

    _type_ = "u"


# On LP64 Linux, long has the size of int64 and long long (ctypes' own aliasing).
if sizeof(c_int) == sizeof(c_long):
    c_int = c_long  # noqa: F811  (exactly as ctypes does)
if sizeof(c_longlong) == sizeof(c_long):
    c_longlong = c_long
    c_ulonglong = c_ulong
if sizeof(c_longdouble) == sizeof(c_double):
    c_longdouble = c_double

c_int8 = c_byte
c_uint8 = c_ubyte
c_int16 = c_short
c_uint16 = c_ushort
c_int32 = c_int
c_uint32 = c_uint
c_int64 = c_long if sizeof(c_long) == 8 else c_longlong
c_uint64 = c_ulong if sizeof(c_ulong) == 8 else c_ulonglong
c_size_t = c_ulong if sizeof(c_void_p) == sizeof(c_ulong) else c_ulonglong
c_ssize_t = c_long if sizeof(c_void_p) == sizeof(c_long) else c_longlong
c_time_t = c_int64
if _sys.version_info >= (3, 12):
    SIZEOF_TIME_T = _ctypes.SIZEOF_TIME_T


# --- byte orders of structures and unions ---------------------------------------------

if _sys.byteorder == "little":
    # Native byte order: the plain classes (whose docstrings say so), as in ctypes.
    LittleEndianStructure = Structure
    LittleEndianUnion = Union

    class BigEndianStructure(Structure):
        """A structure whose fields are stored big-endian."""
        __slots__ = ()
        _swappedbytes_ = None

    class BigEndianUnion(Union):
        """A union whose fields are stored big-endian."""
        __slots__ = ()
        _swappedbytes_ = None
else:
    BigEndianStructure = Structure
    BigEndianUnion = Union

    class LittleEndianStructure(Structure):
        """A structure whose fields are stored little-endian."""
        __slots__ = ()
        _swappedbytes_ = None

    class LittleEndianUnion(Union):
        """A union whose fields are stored little-endian."""
        __slots__ = ()
        _swappedbytes_ = None


# --- function prototypes ------------------------------------------------------------


def _prototype(cache, restype, argtypes, flags, error_result, propagate, keep_results):
    """The function pointer class for a signature, made once per distinct signature.

    ``error_result``, ``propagate`` and ``keep_results`` (ferrotypes' own, for
    callbacks) are checked here, where the prototype is made, and set ``_flags_`` bits,
    so that prototypes differing in them are different classes."""
    if keep_results:
        _check_keep_results(restype)
        flags |= _FUNCFLAG_KEEP_RESULTS
    key = (restype, argtypes, flags)
    if error_result is not None:
        _ctypes._check_error_result(restype, error_result, bool(keep_results))
        flags |= _FUNCFLAG_ERROR_RESULT
        # The value's type is part of the key: 0, 0.0 and False are equal.
        key = (restype, argtypes, flags, type(error_result), error_result)
    if propagate:
        flags |= _FUNCFLAG_PROPAGATE
        key = (*key[:2], flags, *key[3:])
    try:
        return cache[key]
    except KeyError:
        pass
    except TypeError:  # an unhashable error_result (a tuple holding a list): not cached
        key = None

    class CFunctionType(_CFuncPtr):
        _argtypes_ = argtypes
        _restype_ = restype
        _flags_ = flags
        if error_result is not None:
            _error_result_ = error_result

    if key is None:
        return CFunctionType
    # setdefault: another thread may have made the same prototype meanwhile.
    return cache.setdefault(key, CFunctionType)


def _check_keep_results(restype):
    """``keep_results=True`` is for pointer result types: ``TypeError`` otherwise."""
    pointer = isinstance(restype, type) and (
        issubclass(restype, _Pointer) or getattr(restype, "_type_", None) in ("P", "z", "Z"))
    if not pointer:
        raise TypeError("keep_results=True is for pointer result types (POINTER(T), c_void_p, c_char_p, "
                        "c_wchar_p), not %r" % (restype,))


_c_functype_cache = {}


def CFUNCTYPE(restype, *argtypes, use_errno=False, use_last_error=False,
              error_result=None, propagate=False, keep_results=False, **unexpected):
    """A function pointer type for C functions returning ``restype`` and taking
    ``argtypes`` (the C calling convention).

    For callbacks made from it: ``error_result`` is the value C gets when the Python
    function raises or returns something that does not convert (zero by default);
    with ``propagate=True`` the first such exception raised during a foreign call
    made on the callback's own thread is raised by that call when it returns. With
    ``keep_results=True`` the result type may be a pointer (``POINTER(T)``,
    ``c_void_p``, ``c_char_p``) and the function may return an array, a pointer or any
    writable buffer (a numpy array): C gets its address, and the object is kept alive
    as long as the callback object lives (``ferrotypes.release(callback)`` lets go)."""
    if unexpected:
        # ctypes takes **kw and refuses what is left with this ValueError.
        raise ValueError("unexpected keyword argument(s) %s" % unexpected.keys())
    flags = _FUNCFLAG_CDECL
    if use_errno:
        flags |= _FUNCFLAG_USE_ERRNO
    if use_last_error:
        flags |= _FUNCFLAG_USE_LASTERROR
    if error_result is None and not propagate and not keep_results:
        # A prototype made before, found here without calling _prototype (a third of
        # the cost): the key is the one _prototype files it under.
        try:
            return _c_functype_cache[(restype, argtypes, flags)]
        except (KeyError, TypeError):
            pass
    return _prototype(_c_functype_cache, restype, argtypes, flags, error_result, propagate, keep_results)


_py_functype_cache = {}


def PYFUNCTYPE(restype, *argtypes, error_result=None, propagate=False, keep_results=False):
    """Like ``CFUNCTYPE``, for functions of the Python C API: the GIL stays held."""
    flags = _FUNCFLAG_CDECL | _FUNCFLAG_PYTHONAPI
    return _prototype(_py_functype_cache, restype, argtypes, flags, error_result, propagate, keep_results)


# --- libraries ------------------------------------------------------------------------

class CDLL:
    """A loaded shared library whose functions use the C calling convention and
    release the GIL while they run. Functions are attributes (``lib.strlen``) or items
    (``lib["strlen"]``); attribute access caches the function object."""

    _func_flags_ = _FUNCFLAG_CDECL
    _func_restype_ = c_int
    _name = "<uninitialized>"
    _handle = 0
    _FuncPtr = None

    def __init__(self, name, mode=DEFAULT_MODE, handle=None,
                 use_errno=False, use_last_error=False, winmode=None):
        if name is not None:
            name = _os.fspath(name)
        self._name = name
        flags = self._func_flags_
        if use_errno:
            flags |= _FUNCFLAG_USE_ERRNO
        if use_last_error:
            flags |= _FUNCFLAG_USE_LASTERROR

        class _FuncPtr(_CFuncPtr):
            _flags_ = flags
            _restype_ = self._func_restype_

        self._FuncPtr = _FuncPtr
        if handle is None:
            handle = _ctypes.dlopen(_os.fsdecode(name) if name is not None else None, mode)
        self._handle = handle

    def __repr__(self):
        return "<%s '%s', handle %x at %#x>" % (
            type(self).__name__, self._name, self._handle & (_sys.maxsize * 2 + 1), id(self) & (_sys.maxsize * 2 + 1))

    def __getattr__(self, name):
        """The library's function ``name`` (made once, then cached on the library)."""
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        func = self.__getitem__(name)
        setattr(self, name, func)
        return func

    def __getitem__(self, name_or_ordinal):
        """A new function object for the library's function ``name_or_ordinal``."""
        func = self._FuncPtr((name_or_ordinal, self))
        if not isinstance(name_or_ordinal, int):
            func.__name__ = name_or_ordinal
        return func


class PyDLL(CDLL):
    """A library of functions that use the Python C API: the GIL is held during calls
    and a set Python exception is raised afterwards."""

    _func_flags_ = _FUNCFLAG_CDECL | _FUNCFLAG_PYTHONAPI


class LibraryLoader:
    """Loads libraries on attribute access: ``cdll.libc`` is ``CDLL("libc")``."""

    def __init__(self, dlltype):
        self._dlltype = dlltype

    def __getattr__(self, name):
        """The library ``name``, loaded once and then cached on the loader."""
        if name[0] == "_":
            raise AttributeError(name)
        try:
            dll = self._dlltype(name)
        except OSError:
            raise AttributeError(name)
        setattr(self, name, dll)
        return dll

    def __getitem__(self, name):
        """``loader[name]`` is ``loader.name``, for names that are not identifiers."""
        return getattr(self, name)

    def LoadLibrary(self, name):
        """Loads the library ``name`` (not cached)."""
        return self._dlltype(name)

    __class_getitem__ = classmethod(type(list[int]))


cdll = LibraryLoader(CDLL)
pydll = LibraryLoader(PyDLL)

pythonapi = PyDLL(None)


# --- memory -----------------------------------------------------------------------------

memmove = CFUNCTYPE(c_void_p, c_void_p, c_void_p, c_size_t)(_ctypes._memmove_addr)
memset = CFUNCTYPE(c_void_p, c_void_p, c_int, c_size_t)(_ctypes._memset_addr)
string_at = _ctypes.string_at
wstring_at = _ctypes.wstring_at


# --- pointers and arrays ------------------------------------------------------------------

_pointer_type_cache = {}


def _new_pointer_type(cls):
    """A new pointer type to ``cls``, cached (``POINTER``, ``_ctypes.POINTER``, finds
    a cached one; a string names an incomplete type whose target is set later with
    ``SetPointerType``)."""
    if not isinstance(cls, (str, type)):
        raise TypeError("must be a ctypes type")
    if isinstance(cls, str):
        pointer = type(_Pointer)("LP_%s" % cls, (_Pointer,), {"__module__": __name__})
        _pointer_type_cache[id(pointer)] = pointer
        return pointer
    stands_for = _ctypes._stand_in(cls)  # an enum class of cdecl's: its C integer type
    if stands_for is not None:
        return _pointer_type_cache.setdefault(cls, POINTER(stands_for))
    pointer = type(_Pointer)("LP_%s" % cls.__name__, (_Pointer,), {"_type_": cls, "__module__": __name__})
    # setdefault: another thread may have made the same class meanwhile.
    return _pointer_type_cache.setdefault(cls, pointer)


_ctypes._set_pointer_types(_pointer_type_cache, _new_pointer_type)
POINTER = _ctypes.POINTER
pointer = _ctypes.pointer


def SetPointerType(pointer_type, cls):
    """Sets the target of a pointer type created from a name (``POINTER("node")``).

    Deprecated from Python 3.13 on, as in ctypes (give ``POINTER`` the class instead)."""
    if _sys.version_info >= (3, 13):
        import warnings

        warnings._deprecated("ctypes.SetPointerType", remove=(3, 15))
    if _pointer_type_cache.get(cls) is not None:
        raise RuntimeError("This type already exists in the cache")
    if id(pointer_type) not in _pointer_type_cache:
        raise RuntimeError("What's this???")
    pointer_type.set_type(cls)
    pointer_type.__name__ = "LP_%s" % cls.__name__
    _pointer_type_cache[cls] = pointer_type
    del _pointer_type_cache[id(pointer_type)]


def _reset_cache():
    """Forgets every pointer and function prototype type made so far, as ctypes'
    function of that name does (its tests call it to drop their types)."""
    _pointer_type_cache.clear()
    _c_functype_cache.clear()
    _py_functype_cache.clear()
    # As in ctypes: char and wchar_t pointer parameters take what c_char_p/c_wchar_p
    # take (bytes, str, arrays), and POINTER(None) is c_void_p.
    POINTER(c_char).from_param = c_char_p.from_param
    POINTER(c_wchar).from_param = c_wchar_p.from_param
    _pointer_type_cache[None] = c_void_p


_reset_cache()


def ARRAY(typ, length):
    """``typ * length`` (deprecated in ctypes, kept for compatibility)."""
    return typ * length


# The character buffers are made in Rust (no Python frame per buffer).
_ctypes._set_char_types(c_char, c_wchar)
create_string_buffer = _ctypes.create_string_buffer
c_buffer = create_string_buffer
create_unicode_buffer = _ctypes.create_unicode_buffer


# numpy's ndarray.ctypes.data_as() takes ferrotypes types once numpy is loaded
# (without importing numpy here); see _numpy_bridge.
from ferrotypes import _numpy_bridge as _numpy_bridge  # noqa: E402

_numpy_bridge.watch()

# As in ctypes, the public bases and the metaclasses take no new attributes.
for _immutable in (_SimpleCData, Structure, Union, Array, _Pointer, _CFuncPtr, *(type(base) for base in (
        _SimpleCData, Structure, Union, Array, _Pointer, _CFuncPtr))):
    _ctypes._make_immutable(_immutable)
del _immutable

# C declarations and headers as bindings (ferrotypes' own addition to the ctypes API).
from ferrotypes.cdecl import CDeclError, CNamespace, VerifyError, cdef, include  # noqa: E402,F401
# Memory with an owner: arenas, owned pointers and their release (ferrotypes' own).
from ferrotypes._ownership import Arena, owned, release  # noqa: E402,F401


def _star_names():
    """What ``from ferrotypes import *`` gives: exactly the names ``from ctypes import *``
    gives on this Python version (ctypes has no ``__all__``: its public globals), so that
    code written for ctypes sees no new names. ferrotypes' own additions are reached as
    ``ferrotypes.X``; submodules (``cdecl``, ``util`` once imported) are not ctypes'."""
    own = {"Arena", "owned", "release", "cdef", "include", "CDeclError", "CNamespace", "VerifyError"}
    if _sys.version_info < (3, 12):
        own.add("c_time_t")  # ctypes has it from 3.12 on
    if _sys.version_info < (3, 14):
        own.update({"c_float_complex", "c_double_complex", "c_longdouble_complex"})  # from 3.14 on
    return sorted(name for name, value in globals().items()
                  if not name.startswith("_") and name not in own and not isinstance(value, type(_sys)))


__all__ = _star_names()
del _star_names
