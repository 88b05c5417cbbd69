"""The metaclasses of ferrotypes' C data classes, and the base classes built with them.

ctypes gives each family of C data its own metaclass: class creation reads the class
attributes (``_type_``, ``_argtypes_``, ...) and records the C layout. Here that record
is a ``StgInfo`` made by the Rust extension and stored as ``_stginfo_`` on the class;
everything that runs per instance or per call lives in Rust. This module holds only
class creation and the class-level methods (``from_param``, ``from_address``, ...).

It is imported by the extension module ``ferrotypes._ctypes`` while that module
initialises, and must therefore not import it: ``build_base_classes`` receives it.
"""

import sys

_core = None  # the ferrotypes._ctypes extension module, set by build_base_classes


class _CDataMeta(type):
    """Class-level methods shared by every C data metaclass."""

    def from_address(cls, address):
        """An instance viewing the memory at ``address`` (which must stay valid)."""
        return _core._instance_at(cls, address, None)

    def in_dll(cls, library, name):
        """An instance viewing the exported variable ``name`` of ``library``."""
        try:
            address = _core.dlsym(library._handle, name)
        except OSError as exc:
            raise ValueError(str(exc)) from None
        return cls.from_address(address)

    def from_buffer_copy(cls, source, offset=0):
        """A new instance holding a copy of ``sizeof(cls)`` bytes of ``source``."""
        return _core._from_buffer_copy(cls, source, offset)


class PyCSimpleType(_CDataMeta):
    """Metaclass of the simple types: validates ``_type_`` and makes the swapped
    byte-order variants ``__ctype_be__``/``__ctype_le__``."""

    def __new__(mcls, name, bases, namespace, **kwargs):
        cls = super().__new__(mcls, name, bases, namespace, **kwargs)
        if _core is None or not _has_base(bases):
            return cls  # _SimpleCData itself
        code = _type_code(cls)
        swapped = namespace.get("_ft_swapped_", False)
        cls._stginfo_ = _core.simple_info(code, swapped, _SIMPLE_BASE in bases)
        if not swapped:
            _add_byte_order_variants(mcls, cls, name, bases, namespace)
        return cls

    def from_param(cls, value):
        """Converts ``value`` for a parameter of this type (a ``CArgObject``), or
        returns it unchanged when it already is an instance."""
        return _core._simple_from_param(cls, value)


def _has_base(bases):
    return any(isinstance(b, _CDataMeta) for b in bases)


def _type_code(cls):
    try:
        code = cls._type_
    except AttributeError:
        raise AttributeError("class must define a '_type_' attribute") from None
    if not isinstance(code, str):
        raise TypeError("class must define a '_type_' string attribute")
    return code


_SIMPLE_BASE = None  # _SimpleCData, once built
_SWAPPABLE = "hHiIlLqQfd"


def _add_byte_order_variants(mcls, cls, name, bases, namespace):
    code = cls._type_
    if code not in _SWAPPABLE:
        return
    other = dict(namespace)
    other["_ft_swapped_"] = True
    other.pop("__qualname__", None)
    suffix = "_be" if sys.byteorder == "little" else "_le"
    swapped = mcls(name + suffix, bases, other)
    if sys.byteorder == "little":
        cls.__ctype_le__, cls.__ctype_be__ = cls, swapped
        swapped.__ctype_le__, swapped.__ctype_be__ = cls, swapped
    else:
        cls.__ctype_be__, cls.__ctype_le__ = cls, swapped
        swapped.__ctype_be__, swapped.__ctype_le__ = cls, swapped


class PyCFuncPtrType(_CDataMeta):
    """Metaclass of function pointer types (``CFUNCTYPE`` results, ``CDLL._FuncPtr``)."""

    def __new__(mcls, name, bases, namespace, **kwargs):
        cls = super().__new__(mcls, name, bases, namespace, **kwargs)
        cls._stginfo_ = _core.function_info()
        _core._enable_vectorcall(cls)
        return cls


def build_base_classes(core):
    """Creates the public base classes in the extension module ``core``."""
    global _core, _SIMPLE_BASE
    _core = core
    simple = PyCSimpleType("_SimpleCData", (core._SimpleData,), {"__module__": core.__name__})
    funcptr = PyCFuncPtrType("CFuncPtr", (core._FuncPtrData,), {"__module__": core.__name__})
    _SIMPLE_BASE = simple
    core._SimpleCData = simple
    core.CFuncPtr = funcptr
    core._set_default_from_param(PyCSimpleType.from_param)
