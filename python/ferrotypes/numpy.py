"""numpy interoperation for ferrotypes, with the API of ``numpy.ctypeslib``.

``import ferrotypes.numpy as ctypeslib`` gives ferrotypes' versions of
:func:`ndpointer`, :func:`as_array`, :func:`as_ctypes`, :func:`as_ctypes_type`,
:func:`load_library` and :data:`c_intp`.  Only this module imports numpy; importing
``ferrotypes`` alone never does.

Memory is shared, never copied: :func:`as_array` views a ferrotypes array (or the
memory behind a pointer) through the buffer protocol ferrotypes instances export,
and :func:`as_ctypes` lays a ferrotypes array type over an ndarray's data with
``from_address``, keeping the ndarray alive on the result.
"""

from __future__ import annotations

import os
import sys
import sysconfig

import numpy as np

import ferrotypes
from ferrotypes import _numpy_bridge

_numpy_bridge.adapt_numpy()

__all__ = ["as_array", "as_ctypes", "as_ctypes_type", "c_intp", "load_library", "ndpointer"]

#: The C integer type as wide as a pointer (numpy's ``intp``).
c_intp = {
    ferrotypes.sizeof(ferrotypes.c_long): ferrotypes.c_long,
    ferrotypes.sizeof(ferrotypes.c_longlong): ferrotypes.c_longlong,
    ferrotypes.sizeof(ferrotypes.c_int): ferrotypes.c_int,
}[np.dtype(np.intp).itemsize]


# --- load_library ------------------------------------------------------------------------


def _suffixes() -> list[str]:
    if sys.platform == "win32":
        base = [".dll"]
    elif sys.platform == "darwin":
        base = [".dylib", ".so"]
    else:
        base = [".so"]
    ext_suffix = sysconfig.get_config_var("EXT_SUFFIX")
    if ext_suffix and ext_suffix not in base:
        base.insert(0, ext_suffix)  # a Python extension module's full suffix first
    return base


def load_library(libname, loader_path):
    """Loads ``libname`` from the directory of ``loader_path`` (or ``loader_path`` itself
    when it is a directory) as a :class:`ferrotypes.CDLL`.

    Without an extension in ``libname``, the platform's suffixes are tried in turn
    (the interpreter's extension-module suffix, then ``.so``/``.dylib``/``.dll``).
    The same file gives the same library object every time.
    """
    libname = os.fsdecode(libname)
    loader_path = os.fsdecode(loader_path)
    stem, ext = os.path.splitext(libname)
    candidates = [libname] if ext else [libname + suffix for suffix in _suffixes()]
    if ext and ext not in _suffixes():
        candidates.append(libname)  # "lib.1" style names: tried as given
    where = os.path.abspath(loader_path)
    directory = where if os.path.isdir(where) else os.path.dirname(where)
    tried = []
    for candidate in candidates:
        path = os.path.join(directory, candidate)
        tried.append(path)
        if os.path.exists(path):
            return ferrotypes.cdll[path]
    raise OSError(f"no file with expected extension: looked for {', '.join(tried)}")


# --- ndpointer -----------------------------------------------------------------------------

# numpy's flag bits, by the names (and abbreviations) numpy accepts.
_FLAG_BITS = dict(np._core.multiarray._flagdict)
_FLAGSOBJ = type(np.empty(0).flags)
_FLAG_ORDER = ("C_CONTIGUOUS", "F_CONTIGUOUS", "ALIGNED", "WRITEABLE", "OWNDATA", "WRITEBACKIFCOPY")


def _flag_names(num: int) -> list[str]:
    return [name for name in _FLAG_ORDER if num & _FLAG_BITS[name]]


def _flag_number(names) -> int:
    total = 0
    for name in names:
        try:
            total += _FLAG_BITS[name]
        except KeyError:
            raise KeyError(f"unknown array flag {name!r}; expected one of "
                           f"{', '.join(sorted(_FLAG_BITS))}") from None
    return total


class _ndptr(ferrotypes.c_void_p):
    """Base of the classes :func:`ndpointer` makes: a ``void *`` whose ``from_param``
    takes an ndarray meeting the class's requirements."""

    _dtype_ = None
    _ndim_ = None
    _shape_ = None
    _flags_ = None

    @classmethod
    def from_param(cls, obj):
        if not isinstance(obj, np.ndarray):
            raise TypeError(f"argument must be an ndarray, not {type(obj).__name__}")
        if cls._dtype_ is not None and obj.dtype != cls._dtype_:
            raise TypeError(f"array must have data type {cls._dtype_}, not {obj.dtype}")
        if cls._ndim_ is not None and obj.ndim != cls._ndim_:
            raise TypeError("array must have %d dimension(s), not %d" % (cls._ndim_, obj.ndim))
        if cls._shape_ is not None and obj.shape != cls._shape_:
            raise TypeError(f"array must have shape {cls._shape_}, not {obj.shape}")
        if cls._flags_ is not None and (obj.flags.num & cls._flags_) != cls._flags_:
            lacking = _flag_names(cls._flags_ & ~obj.flags.num)
            raise TypeError(f"array must have flags {_flag_names(cls._flags_)}; "
                            f"it lacks {lacking}")
        param = cls(obj.__array_interface__["data"][0])
        param._array = obj  # the array outlives the parameter that points into it
        return param


def _native_requirements(cls):
    """What the extension checks itself for the ndpointer class ``cls`` when it is an
    argtype (``ndpointer.rs``): ``(ndarray, item format or None, itemsize, ndim,
    shape, C_CONTIGUOUS?, F_CONTIGUOUS?, WRITEABLE?)``; None to leave every call to
    ``from_param`` (flags a buffer does not show, record dtypes, dtypes that export
    no buffer format). Equal formats mean equal dtypes here; a dtype equal to the
    class's but written differently (``q`` for ``l``) just takes ``from_param``."""
    flags = cls._flags_ or 0
    shown = _FLAG_BITS["C_CONTIGUOUS"] | _FLAG_BITS["F_CONTIGUOUS"] | _FLAG_BITS["WRITEABLE"]
    if flags & ~shown:
        return None
    dtype = cls._dtype_
    fmt, itemsize = None, 0
    if dtype is not None:
        if dtype.fields is not None or dtype.subdtype is not None:
            return None
        try:
            fmt = memoryview(np.empty(0, dtype)).format
        except (ValueError, TypeError, BufferError):
            return None
        itemsize = dtype.itemsize
    shape = None if cls._shape_ is None else tuple(int(n) for n in cls._shape_)
    ndim = None if cls._ndim_ is None else int(cls._ndim_)
    return (np.ndarray, fmt, itemsize, ndim, shape, bool(flags & _FLAG_BITS["C_CONTIGUOUS"]),
            bool(flags & _FLAG_BITS["F_CONTIGUOUS"]), bool(flags & _FLAG_BITS["WRITEABLE"]))


ferrotypes._ctypes._register_ndpointer(_ndptr.from_param.__func__, _native_requirements)


class _concrete_ndptr(_ndptr):
    """An ndpointer class knowing dtype and shape: as a ``restype`` it gives an
    ndarray viewing the memory the C function returned."""

    def _check_retval_(self):
        return self.contents

    @property
    def contents(self):
        whole = np.dtype((self._dtype_, self._shape_))
        if not self.value:
            raise ValueError("NULL pointer: no array to view")
        raw = (ferrotypes.c_char * whole.itemsize).from_address(self.value)
        raw._pointer = self
        return np.frombuffer(raw, dtype=whole).squeeze(axis=0)


_ndpointer_cache: dict = {}


def ndpointer(dtype=None, ndim=None, shape=None, flags=None):
    """A pointer type for ``argtypes``/``restype`` accepting only ndarrays with the
    given dtype, number of dimensions, shape and flags (each optional).

    ``flags`` is a string of comma-separated names, a sequence of names, an integer
    of flag bits or an ndarray's ``.flags``.  The same requirements give the same class.
    """
    if dtype is not None:
        dtype = np.dtype(dtype)
    num = None
    if flags is not None:
        if isinstance(flags, str):
            flags = flags.split(",")
        elif isinstance(flags, (int, np.integer)):
            num = int(flags)
            flags = _flag_names(num)
        elif isinstance(flags, _FLAGSOBJ):
            num = flags.num
            flags = _flag_names(num)
        if num is None:
            try:
                flags = [name.strip().upper() for name in flags]
            except Exception as exc:
                raise TypeError(f"invalid flags specification {flags!r}: expected a string, "
                                "a sequence of flag names, an integer or an ndarray's flags") from exc
            num = _flag_number(flags)
    if shape is not None:
        try:
            shape = tuple(shape)
        except TypeError:
            shape = (shape,)
    key = (dtype, ndim, shape, num)
    try:
        return _ndpointer_cache[key]
    except KeyError:
        pass
    if dtype is None:
        name = "any"
    elif dtype.names is not None:
        name = str(id(dtype))
    else:
        name = dtype.str
    if ndim is not None:
        name += f"_{ndim}d"
    if shape is not None:
        name += "_" + "x".join(map(str, shape))
    if flags is not None:
        name += "_" + "_".join(flags)
    base = _concrete_ndptr if dtype is not None and shape is not None else _ndptr
    cls = type(f"ndpointer_{name}", (base,),
               {"_dtype_": dtype, "_shape_": shape, "_ndim_": ndim, "_flags_": num})
    # setdefault: another thread may have made the same class meanwhile.
    return _ndpointer_cache.setdefault(key, cls)


# --- dtype -> ferrotypes type ------------------------------------------------------------


def _array_type(element, shape):
    for length in reversed(shape):
        element = element * length
    return element


_SCALARS = {}
for _t in (ferrotypes.c_byte, ferrotypes.c_short, ferrotypes.c_int, ferrotypes.c_long,
           ferrotypes.c_longlong, ferrotypes.c_ubyte, ferrotypes.c_ushort, ferrotypes.c_uint,
           ferrotypes.c_ulong, ferrotypes.c_ulonglong, ferrotypes.c_float, ferrotypes.c_double,
           ferrotypes.c_bool):
    # numpy's one-letter codes are the struct module's, as ferrotypes' _type_ codes are
    _SCALARS.setdefault(np.dtype(_t._type_), _t)
del _t


def _scalar_type(dtype):
    native = dtype.newbyteorder("=")
    try:
        ctype = _SCALARS[native]
    except KeyError:
        raise NotImplementedError(f"Converting {dtype!r} to a ferrotypes type: no C type "
                                  "holds this data type") from None
    explicit = dtype.newbyteorder("S").newbyteorder("S").byteorder  # '<' or '>' (or '|')
    if explicit == ">":
        return ctype.__ctype_be__
    if explicit == "<":
        return ctype.__ctype_le__
    return ctype


def _record_type(dtype):
    fields = sorted(((dtype.fields[name][1], name, _from_dtype(dtype.fields[name][0]))
                     for name in dtype.names), key=lambda f: f[0])
    if len(fields) > 1 and all(offset == 0 for offset, _, _ in fields):
        members = [(name, ctype) for _, name, ctype in fields]
        if dtype.itemsize != max(ferrotypes.sizeof(ctype) for _, _, ctype in fields):
            members.append(("", ferrotypes.c_char * dtype.itemsize))
        return type("union", (ferrotypes.Union,), {"_fields_": members, "_pack_": 1, "__module__": None})
    members = []
    end = 0
    for offset, name, ctype in fields:
        gap = offset - end
        if gap < 0:
            raise NotImplementedError(f"Overlapping fields: {name!r} starts at offset {offset}, "
                                      f"inside the field before it (which ends at {end})")
        if gap:
            members.append(("", ferrotypes.c_char * gap))
        members.append((name, ctype))
        end = offset + ferrotypes.sizeof(ctype)
    if dtype.itemsize > end:
        members.append(("", ferrotypes.c_char * (dtype.itemsize - end)))
    return type("struct", (ferrotypes.Structure,), {"_fields_": members, "_pack_": 1, "__module__": None})


def _from_dtype(dtype):
    if dtype.fields is not None:
        return _record_type(dtype)
    if dtype.subdtype is not None:
        element, shape = dtype.subdtype
        return _array_type(_from_dtype(element), shape)
    return _scalar_type(dtype)


def as_ctypes_type(dtype):
    """The ferrotypes type laid out as ``dtype``: a simple type (with the dtype's byte
    order), an array type for a subarray, or a packed Structure (Union when every field
    is at offset 0) with explicit padding fields for a structured dtype.  Raises
    NotImplementedError for what C cannot express (overlapping fields, no C type)."""
    return _from_dtype(np.dtype(dtype))


# --- memory shared both ways ---------------------------------------------------------------


def as_array(obj, shape=None):
    """An ndarray sharing the memory of a ferrotypes array, or of the memory a ferrotypes
    pointer points to (``shape`` is then required; it is ignored for an array)."""
    if isinstance(obj, ferrotypes._Pointer):
        if shape is None:
            raise TypeError("as_array() requires a shape argument when called on a pointer")
        try:
            shape = tuple(shape)
        except TypeError:
            shape = (shape,)
        target = _array_type(obj._type_, shape)
        obj = ferrotypes.cast(obj, ferrotypes.POINTER(target)).contents
    try:
        whole = _dtype_of(type(obj))
    except (AttributeError, TypeError):
        raise TypeError(f"as_array() expects a ferrotypes array, structure or pointer, "
                        f"not {type(obj).__name__}") from None
    if whole.itemsize == 0:  # nothing to share (frombuffer refuses empty items)
        return np.empty(whole.shape, dtype=whole.base)
    flat = np.frombuffer(memoryview(obj).cast("B"), dtype=whole)  # shares obj's memory
    return flat.reshape(flat.shape[1:])


def _dtype_of(t):
    """The dtype laid out as the ferrotypes type ``t`` (numpy derives this itself only
    for the standard library's ctypes types)."""
    if issubclass(t, ferrotypes.Array):
        return np.dtype((_dtype_of(t._type_), (t._length_,)))
    if issubclass(t, (ferrotypes.Structure, ferrotypes.Union)):
        names, formats, offsets = [], [], []
        for field in t._fields_:
            if len(field) > 2:
                raise NotImplementedError(f"bit-field {field[0]!r} of {t.__name__} has no dtype equivalent")
            name, ftype = field
            names.append(name)
            formats.append(_dtype_of(ftype))
            offsets.append(getattr(t, name).offset)
        return np.dtype({"names": names, "formats": formats, "offsets": offsets,
                         "itemsize": ferrotypes.sizeof(t)})
    if issubclass(t, ferrotypes._Pointer):
        raise TypeError("ferrotypes pointers have no dtype equivalent")
    code = getattr(t, "_type_", None)
    if not isinstance(code, str) or code in "zZOsPX":
        raise NotImplementedError(f"no dtype holds {t.__name__} (type code {code!r})")
    dtype = np.dtype(code)
    if t.__ctype_be__ is t and t.__ctype_le__ is not t:
        dtype = dtype.newbyteorder(">")
    elif t.__ctype_le__ is t and t.__ctype_be__ is not t:
        dtype = dtype.newbyteorder("<")
    return dtype


def as_ctypes(obj):
    """A ferrotypes array (or scalar, for a 0-d array) over the memory of ``obj``, which
    must expose ``__array_interface__`` version 3, be contiguous and writable.  The
    result keeps ``obj`` alive."""
    try:
        interface = obj.__array_interface__
    except AttributeError:
        raise TypeError(f"as_ctypes() expects an object with __array_interface__ "
                        f"(an ndarray), not {type(obj).__name__}") from None
    if interface.get("strides"):
        raise TypeError(f"strided arrays not supported (strides {interface['strides']}); "
                        "make the array contiguous first")
    if interface.get("version") != 3:
        raise TypeError(f"only __array_interface__ version 3 supported, not {interface.get('version')}")
    address, readonly = interface["data"]
    if readonly:
        raise TypeError("readonly arrays unsupported: ferrotypes objects are writable")
    typestr = interface["typestr"]
    descr = interface.get("descr")
    if typestr[1:2] == "V" and descr and descr != [("", typestr)]:
        # a record: its fields are in descr (numpy.ctypeslib refuses these)
        element = as_ctypes_type(np.dtype(descr))
    else:
        element = as_ctypes_type(typestr)
    result = _array_type(element, interface["shape"]).from_address(address)
    result.__keep = obj
    return result
