"""The standard library's ctypes, as ferrotypes meets its objects.

Code moving to ferrotypes still holds objects made by the stdlib's ctypes (numpy's
``arr.ctypes.data_as(ctypes.POINTER(...))``, ``arr.ctypes.shape``). The extension takes
them wherever it takes its own object of the same kind: parameters (``zerocopy.rs``),
calls without ``argtypes``, stores and initialisers, ``cast``, ``byref``, ``addressof``,
``sizeof``, ``alignment``, ``string_at``, ``pointer``. This module finds the stdlib's classes for it, decides which
stdlib class has the layout of which ferrotypes class, and makes the ferrotypes
instance that views a stdlib object's memory (and keeps the object alive).

A stdlib class matches a ferrotypes class by layout: simple types by their type code
and byte order, pointers and arrays by their element type (recursively, and arrays by
their length), function pointers by their flags, result and argument types, structures
and unions by their fields (names, types by the same rule, bit widths, offsets), size
and alignment. Verdicts are remembered per pair of classes.

It never imports ``ctypes``: until the program has, no such object can exist. Where
``_ctypes`` is ferrotypes itself (the conformance runner aliases it so), there is no
stdlib ctypes at all.
"""

from __future__ import annotations

import sys
import threading
import weakref
from collections.abc import Callable
from types import ModuleType
from typing import Any

import ferrotypes._ctypes as _ours


def stdlib_types() -> Any:
    """``(_CData, _SimpleCData, _Pointer, Array, CFuncPtr, CArgObject)`` of the loaded
    stdlib ctypes; None while it is not (fully) loaded; False when ``_ctypes`` is
    ferrotypes."""
    core = sys.modules.get("_ctypes")
    if core is None:
        return None
    if core is _ours:
        return False
    ctypes = sys.modules.get("ctypes")
    simple: Any = core._SimpleCData
    cdata = simple.__mro__[1]
    if ctypes is None or getattr(ctypes, "_SimpleCData", None) is not simple:
        return None
    carg = type(core.byref(ctypes.c_char()))
    return (cdata, core._SimpleCData, core._Pointer, core.Array, core.CFuncPtr, carg)


def byref_address(carg: Any) -> int | None:
    """The address a stdlib ``byref()`` result holds (offset included), or None when
    it holds no address (``c_int.from_param(5)`` is a CArgObject too)."""
    if not repr(carg).startswith("<cparam 'P'"):
        return None
    ctypes = sys.modules["ctypes"]
    address: int = ctypes.cast(carg, ctypes.c_void_p).value or 0
    return address


# --- matching classes by layout ------------------------------------------------------------


def _ft() -> ModuleType:
    import ferrotypes  # the package imports this module's users, not this module

    return ferrotypes


def _byte_order(cls: Any, instance_format: Callable[[Any], str]) -> str:
    """'>' for a big-endian simple type, else '<' (x86-64 is little-endian)."""
    try:
        return instance_format(cls)[:1]
    except Exception:  # a class that cannot make a zeroed instance
        return "?"


def _std_format(cls: Any) -> str:
    return memoryview(cls.from_buffer_copy(bytes(sys.modules["ctypes"].sizeof(cls)))).format


def _ft_format(cls: Any) -> str:
    return memoryview(cls.from_buffer_copy(bytes(_ours.sizeof(cls)))).format


def _all_fields(cls: type) -> list[tuple[str, Any, int | None]]:
    """``(name, type, bits or None)`` of a record class and its record bases, in order."""
    fields = []
    for klass in reversed(cls.__mro__):
        for field in klass.__dict__.get("_fields_", ()):
            fields.append((field[0], field[1], field[2] if len(field) > 2 else None))
    return fields


def _is_class(obj: object) -> bool:
    return isinstance(obj, type)


def _compare(theirs: Any, ours: Any, assumed: frozenset[tuple[Any, Any]]) -> bool:
    """Whether stdlib class ``theirs`` lays its values out as ferrotypes class ``ours``;
    ``assumed`` holds the pairs being compared further out (a record that points to
    itself matches where everything else does)."""
    if (theirs, ours) in assumed:
        return True
    std = sys.modules["ctypes"]
    ft = _ft()
    if not _is_class(theirs) or not _is_class(ours):
        return theirs is None and ours is None
    try:
        if std.sizeof(theirs) != _ours.sizeof(ours) or std.alignment(theirs) != _ours.alignment(ours):
            return False
    except TypeError:
        return False
    assumed = assumed | {(theirs, ours)}
    if issubclass(theirs, std._SimpleCData):
        return (issubclass(ours, ft._SimpleCData) and theirs._type_ == ours._type_
                and _byte_order(theirs, _std_format) == _byte_order(ours, _ft_format))
    if issubclass(theirs, std._Pointer):
        return (issubclass(ours, ft._Pointer) and hasattr(theirs, "_type_") and hasattr(ours, "_type_")
                and _compare(theirs._type_, ours._type_, assumed))
    if issubclass(theirs, std.Array):
        return (issubclass(ours, ft.Array) and theirs._length_ == ours._length_
                and _compare(theirs._type_, ours._type_, assumed))
    if issubclass(theirs, std._CFuncPtr):
        if not issubclass(ours, ft._CFuncPtr) or getattr(theirs, "_flags_", None) != getattr(ours, "_flags_", None):
            return False
        their_args, our_args = getattr(theirs, "_argtypes_", ()) or (), getattr(ours, "_argtypes_", ()) or ()
        return (len(their_args) == len(our_args)
                and _compare(getattr(theirs, "_restype_", None), getattr(ours, "_restype_", None), assumed)
                and all(_compare(t, o, assumed) for t, o in zip(their_args, our_args)))
    for their_kind, our_kind in ((std.Structure, ft.Structure), (std.Union, ft.Union)):
        if issubclass(theirs, their_kind):
            return issubclass(ours, our_kind) and _same_fields(theirs, ours, assumed)
    return False


def _same_fields(theirs: Any, ours: Any, assumed: frozenset[tuple[Any, Any]]) -> bool:
    their_fields, our_fields = _all_fields(theirs), _all_fields(ours)
    if len(their_fields) != len(our_fields):
        return False
    for (name, their_type, their_bits), (our_name, our_type, our_bits) in zip(their_fields, our_fields):
        if name != our_name or their_bits != our_bits:
            return False
        their_field, our_field = getattr(theirs, name), getattr(ours, name)
        if their_field.offset != our_field.offset or their_field.size != our_field.size:
            return False
        if not _compare(their_type, our_type, assumed):
            return False
    return True


#: stdlib class -> {ferrotypes class -> whether they match}; weak both ways, so that
#: classes made and dropped in a loop are not kept.
_verdicts: weakref.WeakKeyDictionary[type, weakref.WeakKeyDictionary[type, bool]] = weakref.WeakKeyDictionary()


def layout_matches(theirs: type, ours: type) -> bool:
    """Whether stdlib class ``theirs`` has the layout of ferrotypes class ``ours``
    (remembered per pair)."""
    per_class = _verdicts.get(theirs)
    if per_class is None:
        per_class = _verdicts[theirs] = weakref.WeakKeyDictionary()
    verdict = per_class.get(ours)
    if verdict is None:
        try:
            verdict = _compare(theirs, ours, frozenset())
        except (TypeError, AttributeError, ValueError):  # a class missing what ctypes gives its kind
            verdict = False
        per_class[ours] = verdict
    return verdict


def _view(cls: Any, value: Any) -> Any:
    """An instance of ferrotypes class ``cls`` over stdlib instance ``value``'s memory,
    keeping it alive: ``from_buffer`` as the metaclass defines it, whatever ``cls``
    overrides."""
    return _ours._from_buffer(cls, value)


def adopt(value: Any, cls: Any) -> Any:
    """A ferrotypes instance viewing the memory of stdlib instance ``value`` as
    ferrotypes class ``cls`` would be stored: of ``cls`` itself when the layouts match,
    or — ``cls`` a pointer type, ``value`` an array of its target type — an array of
    that type, which a store decays to its address. None when neither fits. The
    instance keeps ``value`` alive (``from_buffer``: in its ``_objects``)."""
    if layout_matches(type(value), cls):
        return _view(cls, value)
    std = sys.modules["ctypes"]
    if (isinstance(value, std.Array) and isinstance(cls, type) and issubclass(cls, _ft()._Pointer)
            and hasattr(cls, "_type_") and layout_matches(type(value)._type_, cls._type_)):
        return _view(cls._type_ * type(value)._length_, value)
    return None


# --- the ferrotypes class of a stdlib class ---------------------------------------------------

#: stdlib class -> the ferrotypes class with its layout, or _NO_TWIN.
_twins: weakref.WeakKeyDictionary[type, Any] = weakref.WeakKeyDictionary()

#: Marks a stdlib class that has no ferrotypes equivalent (remembered: refused at once).
_NO_TWIN = object()

#: Per thread, while a twin is being made: the stdlib classes whose twins were made for
#: it (records point to each other, so a record's twin is registered before its fields).
_building = threading.local()


def _simple_by_code() -> dict[str, Any]:
    ft = _ft()
    found: dict[str, Any] = {}
    for cls in (ft.c_bool, ft.c_char, ft.c_wchar, ft.c_byte, ft.c_ubyte, ft.c_short, ft.c_ushort, ft.c_int,
                ft.c_uint, ft.c_long, ft.c_ulong, ft.c_longlong, ft.c_ulonglong, ft.c_float, ft.c_double,
                ft.c_longdouble, ft.c_void_p, ft.c_char_p, ft.c_wchar_p, ft.py_object):
        found.setdefault(cls._type_, cls)
    return found


def twin_class(theirs: Any) -> Any:
    """The ferrotypes class with the layout of stdlib class ``theirs`` (function pointers:
    ``c_void_p``, which passes and casts as they do). TypeError when there is none (a
    record ferrotypes lays out otherwise).

    The outermost call checks the whole (``layout_matches`` follows pointers), and
    forgets every twin it made if the check fails; calls made while building (field
    types, targets, elements) only build."""
    twin = _twins.get(theirs)
    if twin is _NO_TWIN:
        raise TypeError(f"ctypes {theirs.__name__} has no ferrotypes equivalent (a type ferrotypes lays out otherwise)")
    if twin is not None:
        return twin
    made = getattr(_building, "made", None)
    if made is not None:
        return _make_twin(theirs, made)
    _building.made = made = []
    try:
        twin = _make_twin(theirs, made)
        matches = twin is not None and layout_matches(theirs, twin)
    except (TypeError, AttributeError, ValueError):  # a type without a ferrotypes spelling
        matches = False
    finally:
        _building.made = None
    if not matches:
        for cls in made:
            _twins.pop(cls, None)
        _twins[theirs] = _NO_TWIN
        return twin_class(theirs)  # raises, with the message above
    return twin


def _make_twin(theirs: Any, made: list[Any]) -> Any:
    std = sys.modules["ctypes"]
    ft = _ft()
    if issubclass(theirs, std._SimpleCData):
        ours = _simple_by_code().get(theirs._type_)
        if ours is not None and _byte_order(theirs, _std_format) == ">":
            ours = getattr(ours, "__ctype_be__", None)
    elif issubclass(theirs, std._Pointer):
        ours = ft.POINTER(twin_class(theirs._type_))
    elif issubclass(theirs, std.Array):
        ours = twin_class(theirs._type_) * theirs._length_
    elif issubclass(theirs, std._CFuncPtr):
        ours = ft.c_void_p
    elif issubclass(theirs, (std.Structure, std.Union)):
        return _twin_record(theirs, std, ft, made)
    else:
        ours = None
    if ours is not None:
        _twins[theirs] = ours
        made.append(theirs)
    return ours


def _twin_record(theirs: Any, std: Any, ft: Any, made: list[Any]) -> Any:
    union = issubclass(theirs, std.Union)
    if hasattr(theirs, "_swappedbytes_"):
        base = ft.BigEndianUnion if union else ft.BigEndianStructure
    else:
        base = ft.Union if union else ft.Structure
    record_base = theirs.__mro__[1]
    if record_base not in (std.Structure, std.Union, std.BigEndianStructure, getattr(std, "BigEndianUnion", None)):
        base = twin_class(record_base)
    namespace = {key: theirs.__dict__[key] for key in ("_pack_", "_align_", "_anonymous_") if key in theirs.__dict__}
    ours = type(base)(theirs.__name__, (base,), namespace)
    _twins[theirs] = ours  # before its fields, which may point to it
    made.append(theirs)
    ours._fields_ = [(field[0], twin_class(field[1]), *field[2:]) for field in theirs.__dict__.get("_fields_", ())]
    return ours


def twin(value: Any) -> Any:
    """A ferrotypes object standing for stdlib object ``value`` (an instance of the
    class with its layout over its memory; for a ``byref()``, ferrotypes' ``byref`` of
    its object's twin at the same offset); None when ``value`` is neither."""
    std = sys.modules["ctypes"]
    if isinstance(value, std._SimpleCData.__mro__[1]):
        try:
            return _view(twin_class(type(value)), value)
        except TypeError:
            # Pointers to, and arrays of, records ferrotypes lays out otherwise still
            # pass and cast as what they are in C: an address, memory.
            if isinstance(value, std._Pointer):
                return _view(_ft().c_void_p, value)
            if isinstance(value, std.Array):
                return _view(_ft().c_ubyte * std.sizeof(value), value)
            raise
    address = byref_address(value)
    if address is None:
        return None  # a number's CArgObject (c_int.from_param(5)): its value is not readable
    target = value._obj
    if not isinstance(target, std._SimpleCData.__mro__[1]):
        return _ft().c_void_p(address)  # c_void_p.from_param(address): the address alone
    return _ours.byref(twin(target), address - std.addressof(target))


def sizeof(value: Any) -> Any:
    """The stdlib's ``sizeof`` of its class or instance."""
    return sys.modules["ctypes"].sizeof(value)


def alignment(value: Any) -> Any:
    """The stdlib's ``alignment`` of its class or instance."""
    return sys.modules["ctypes"].alignment(value)


def addressof(value: Any) -> Any:
    """The stdlib's ``addressof`` of its instance."""
    return sys.modules["ctypes"].addressof(value)
