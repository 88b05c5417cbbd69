"""The metaclasses of ferrotypes' C data classes, and the base classes built with them.

ctypes gives each family of C data its own metaclass: class creation reads the class
attributes (``_type_``, ``_argtypes_``, ...) and records the C layout. Here that record
is a ``TypeInfo`` made by the Rust extension and stored as ``_typeinfo_`` on the class;
everything that runs per instance or per call lives in Rust. This module holds only
class creation and the class-level methods (``from_param``, ``from_address``, ...).

It is imported by the extension module ``ferrotypes._ctypes`` while that module
initialises, and must therefore not import it: ``build_base_classes`` receives it.
"""

import sys
import types
import weakref

_core = None  # the ferrotypes._ctypes extension module, set by build_base_classes


class _CDataMeta(type):
    """Class-level methods shared by every C data metaclass."""

    def __new__(mcls, name, bases, namespace, **kwargs):
        cls = super().__new__(mcls, name, bases, namespace, **kwargs)
        if _core is not None:
            _core._enable_fast_slots(cls)  # a class statement took PyO3's slots
        return cls

    # from_address(cls, address), from_buffer(cls, source, offset=0) and
    # from_buffer_copy(cls, source, offset=0) are methods written in Rust, added to this
    # class and its subclasses by build_base_classes (_core._add_class_methods), as
    # ctypes writes them in C.

    def in_dll(cls, library, name):
        """An instance viewing the exported variable ``name`` of ``library``."""
        try:
            address = _core.dlsym(library._handle, name)
        except OSError as exc:
            raise ValueError(str(exc)) from None
        return cls.from_address(address)

    def from_param(cls, value):
        """A parameter of this type takes an instance of it, a ``byref`` of what it
        holds (``_byref_target``), or an object whose ``_as_parameter_`` is one of
        these (pointer types add their own cases in front of these rules)."""
        if isinstance(value, cls):
            return value
        if isinstance(value, _core.CArgObject):
            target = _byref_target(cls)
            if target is not None and isinstance(value._obj, target):
                return value
            raise _wrong_argument(cls, value)
        as_parameter = getattr(value, "_as_parameter_", _MISSING)
        if as_parameter is not _MISSING:
            return _CDataMeta.from_param(cls, as_parameter)
        return _stdlib_parameter(cls, value)

    def __mul__(cls, length):
        """``cls * n``: the array type of ``n`` elements (one class per pair, cached)."""
        return _core.array_type(cls, length)

    __rmul__ = __mul__


class PyCSimpleType(_CDataMeta):
    """Metaclass of the simple types: validates ``_type_`` and makes the swapped
    byte-order variants ``__ctype_be__``/``__ctype_le__``."""

    def __new__(mcls, name, bases, namespace, **kwargs):
        cls = super().__new__(mcls, name, bases, namespace, **kwargs)
        if _core is None or not _has_base(bases):
            return cls  # _SimpleCData itself
        code = _type_code(cls)
        swapped = namespace.get("_ft_swapped_", False)
        cls._typeinfo_ = _core.simple_info(code, swapped, native_values=_SIMPLE_BASE in bases)
        if not swapped:
            _add_byte_order_variants(mcls, cls, name, bases, namespace)
        return cls

    def from_param(cls, value):
        """Converts ``value`` for a parameter of this type (a ``CArgObject``), or
        returns it unchanged when it already is an instance."""
        try:
            return _core._simple_from_param(cls, value)
        except TypeError as refused:
            return _stdlib_parameter(cls, value, refused)


def _has_base(bases):
    return any(isinstance(b, _CDataMeta) for b in bases)


def _type_code(cls):
    try:
        code = cls._type_
    except AttributeError:
        raise AttributeError("class must define a '_type_' attribute") from None
    if not isinstance(code, str):
        raise TypeError("class must define a '_type_' string attribute")
    if len(code) != 1:
        raise ValueError("class must define a '_type_' attribute which must be a string of length 1 (got %r)" % code)
    return code


_SIMPLE_BASE = None  # _SimpleCData, once built
_SWAPPABLE = "hHiIlLqQfd"
_SINGLE_BYTE = "cbB"


def _add_byte_order_variants(mcls, cls, name, bases, namespace):
    code = cls._type_
    if code in _SINGLE_BYTE:
        cls.__ctype_le__ = cls.__ctype_be__ = cls  # one byte has no byte order
        return
    if code not in _SWAPPABLE:
        return
    other = dict(namespace)
    other["_ft_swapped_"] = True
    other.pop("__qualname__", None)
    # The class cell of zero-argument super() belongs to `cls`; sharing it makes
    # class creation fail (as it does in stdlib ctypes 3.11).
    other.pop("__classcell__", None)
    suffix = "_be" if sys.byteorder == "little" else "_le"
    swapped = mcls(name + suffix, bases, other)
    if sys.byteorder == "little":
        cls.__ctype_le__, cls.__ctype_be__ = cls, swapped
        swapped.__ctype_le__, swapped.__ctype_be__ = cls, swapped
    else:
        cls.__ctype_be__, cls.__ctype_le__ = cls, swapped
        swapped.__ctype_be__, swapped.__ctype_le__ = cls, swapped


def _build_array_type(element, length):
    """A new array class of ``length`` elements of ``element`` (``array_type`` caches it)."""
    return PyCArrayType("%s_Array_%d" % (element.__name__, length), (_ARRAY_BASE,),
                        {"_type_": element, "_length_": length})


_ARRAY_BASE = None  # Array, once built


class PyCArrayType(_CDataMeta):
    """Metaclass of array types: reads ``_type_`` and ``_length_``; arrays of
    ``c_char``/``c_wchar`` also get ``value`` (and for ``c_char``, ``raw``)."""

    def __new__(mcls, name, bases, namespace, **kwargs):
        cls = super().__new__(mcls, name, bases, namespace, **kwargs)
        if not _has_base(bases):
            return cls  # Array itself
        try:
            length = cls._length_
        except AttributeError:
            raise AttributeError("class must define a '_length_' attribute") from None
        if not isinstance(length, int):
            raise TypeError("The '_length_' attribute must be an integer")
        try:
            element = cls._type_
        except AttributeError:
            raise AttributeError("class must define a '_type_' attribute") from None
        if not isinstance(element, _CDataMeta):
            raise TypeError("_type_ must have storage info")
        cls._typeinfo_ = _core.array_info(element, length)
        code = getattr(element, "_type_", None)
        if code in ("c", "u"):
            _core._add_char_array_getsets(cls, code == "u")
        return cls


class PyCPointerType(_CDataMeta):
    """Metaclass of pointer types: reads ``_type_`` (the target, possibly set later by
    ``SetPointerType``)."""

    def __new__(mcls, name, bases, namespace, **kwargs):
        cls = super().__new__(mcls, name, bases, namespace, **kwargs)
        if not _has_base(bases):
            return cls  # _Pointer itself
        target = namespace.get("_type_")  # a subclass without its own _type_ has none
        if target is not None and not _has_storage(target):
            raise TypeError("_type_ must have storage info")
        cls._typeinfo_ = _core.pointer_info(target)
        return cls

    def from_param(cls, value):
        """A pointer argument: None, an instance of this pointer type, or the address
        of an instance (or array, or ``byref``) of the target type — the cases
        ``_core._pointer_param_case`` decides, as argument conversion does."""
        case = _core._pointer_param_case(cls, value)
        if case == "by reference":
            return _core.byref(value)
        if case is not None:
            return value
        if getattr(cls, "_type_", None) is None:
            raise TypeError("expected %s instance instead of %s" % (cls.__name__, type(value).__name__))
        as_parameter = getattr(value, "_as_parameter_", _MISSING)
        if as_parameter is not _MISSING:
            # As in ctypes, by the rules of every C data type, not these.
            return super().from_param(as_parameter)
        return _stdlib_parameter(cls, value)

    def set_type(cls, target):
        """Completes a pointer type made before its target (``SetPointerType``)."""
        if not _has_storage(target):
            raise TypeError("_type_ must have storage info")
        _core.set_pointer_type(cls, target)
        cls._type_ = target


_POINTER_BASE = None  # _Pointer, once built


def _has_storage(target):
    """Whether ``target`` is a C type with a layout (not an abstract base such as
    ``Structure`` itself): what a pointer may point to."""
    return isinstance(target, _CDataMeta) and getattr(target, "_typeinfo_", None) is not None


_MISSING = object()  # no such attribute (an `_as_parameter_` may be None)


def _byref_target(cls):
    """The type a ``byref`` given for a parameter of type ``cls`` must point to, as
    ctypes checks it: an array's element type, a pointer's target (None while it has
    none), otherwise ``cls`` itself (where ctypes crashes)."""
    if isinstance(cls, (PyCArrayType, PyCPointerType)):
        return getattr(cls, "_type_", None)
    return cls


def _stdlib_parameter(cls, value, refused=None):
    """``cls.from_param(value)`` for a stdlib ctypes object, which is taken as the
    ferrotypes object of its layout over its memory (keeping it) would be: an instance
    of ``cls`` itself where the layouts match, else its twin, by ``cls``' own rules.
    Anything else is refused: ``refused``, or ctypes' wrong-argument error."""
    from ferrotypes import _stdlib_ctypes

    std = _stdlib_ctypes.stdlib_types()
    if not std or not isinstance(value, (std[0], std[-1])):
        raise refused if refused is not None else _wrong_argument(cls, value)
    own = _stdlib_ctypes.adopt(value, cls) if isinstance(value, std[0]) else None
    try:
        return cls.from_param(own if own is not None else _stdlib_ctypes.twin(value))
    except TypeError:
        raise TypeError("expected ferrotypes %s, got ctypes %s" % (cls.__name__, type(value).__name__)) from None


def _wrong_argument(cls, value):
    """The TypeError of a ``from_param`` refusing ``value``, worded as ctypes words it
    (a ``byref`` is named by what it points to)."""
    if isinstance(value, _core.CArgObject):
        # What it keeps: None for a converted number (ctypes' holds None too).
        given = "pointer to %s" % type(value._obj).__name__
    else:
        given = type(value).__name__
    return TypeError("expected %s instance instead of %s" % (cls.__name__, given))


class PyCFuncPtrType(_CDataMeta):
    """Metaclass of function pointer types (``CFUNCTYPE`` results, ``CDLL._FuncPtr``)."""

    def __new__(mcls, name, bases, namespace, **kwargs):
        cls = super().__new__(mcls, name, bases, namespace, **kwargs)
        if _has_base(bases):  # not CFuncPtr itself, which is abstract
            cls._typeinfo_ = _core.function_info()
            _check_prototype(cls, namespace)
        _core._enable_vectorcall(cls)
        return cls

    # from_param is _CDataMeta's: an instance of this type (ctypes refuses None,
    # addresses and other function pointer types here too).


def _check_prototype(cls, namespace):
    """Checks a prototype class's own ``_flags_``, ``_argtypes_`` and ``_restype_`` when
    it is made, in ctypes' order and words: the class body must give ``_flags_`` as an
    int (a subclass too: ctypes does not inherit it); ``_argtypes_``, when given, is
    anything ``tuple()`` takes, whose items have ``from_param``; the result type must be
    a ctypes type, a callable or None."""
    if not isinstance(namespace.get("_flags_"), int):
        raise TypeError("class must define _flags_ which must be an integer")
    if "_argtypes_" in namespace:
        given = namespace["_argtypes_"]
        try:
            argtypes = tuple(given)
        except Exception:  # ctypes answers any failure of PySequence_Tuple so
            raise TypeError("_argtypes_ must be a sequence of types") from None
        if len(argtypes) > _core.CTYPES_MAX_ARGCOUNT:
            raise _core.ArgumentError("_argtypes_ has too many arguments (%d), maximum is %d"
                                      % (len(argtypes), _core.CTYPES_MAX_ARGCOUNT))
        for i, argtype in enumerate(argtypes, 1):
            if not hasattr(argtype, "from_param") and _core._stand_in(argtype) is None:
                raise TypeError("item %d in _argtypes_ has no from_param method" % i)
        if iter(given) is given:
            # A one-shot iterator stays the class's _argtypes_, as in ctypes (which
            # keeps the converters it made from its types); calls read the types it
            # gave from here, while _argtypes_ is still that iterator.
            type.__setattr__(cls, "_ft_argtypes_", (given, argtypes))
    if "_restype_" in namespace:
        _core._check_restype(namespace["_restype_"])


class _RecordMeta(_CDataMeta):
    """What structures and unions share: ``_fields_`` (in the class body or set later,
    once), ``_pack_``, ``_anonymous_``, and the byte order of ``BigEndianStructure``
    and friends (marked by ``_swappedbytes_``)."""

    _union = False

    def __new__(mcls, name, bases, namespace, **kwargs):
        cls = super().__new__(mcls, name, bases, namespace, **kwargs)
        if _core is None:
            return cls  # Structure / Union themselves
        for base in bases:
            info = getattr(base, "_typeinfo_", None)
            if info is not None and isinstance(base, _RecordMeta):
                info.mark_final()  # a subclass exists: the base's layout is fixed
        _ready.add(cls)
        if "_abstract_" in namespace:
            type.__setattr__(cls, "_typeinfo_", None)  # never instantiated
        elif "_fields_" in namespace:
            _set_fields(cls, namespace["_fields_"])
        elif _has_base(bases) and not isinstance(getattr(cls, "_typeinfo_", None), _core.TypeInfo):
            _set_fields(cls, (), final=False)  # an incomplete type: _fields_ may come later
        return cls

    def __setattr__(cls, name, value):
        if name == "_fields_":
            try:
                _set_fields(cls, value)
            except Exception:
                # ctypes stores the attribute before it lays the class out, so a failed
                # assignment leaves it set (the layout stays as it was here; see
                # docs/migrating.md).
                type.__setattr__(cls, "_fields_", value)
                raise
        else:
            super().__setattr__(name, value)


class PyCStructType(_RecordMeta):
    """Metaclass of ``Structure`` and its subclasses."""


class UnionType(_RecordMeta):
    """Metaclass of ``Union`` and its subclasses."""

    _union = True


_ready = weakref.WeakSet()  # record classes whose metaclass __new__ has run


def _is_final(cls):
    own = cls.__dict__.get("_typeinfo_")
    return own is not None and own.is_final


def _set_fields(cls, fields, final=True):
    """Lays out ``cls`` from ``fields`` and installs one descriptor per field; the
    layout is then ``final`` (ctypes lets ``_fields_`` be set once)."""
    if cls not in _ready:
        # Set from __init_subclass__, before the metaclass has seen the class.
        raise TypeError("ctypes state is not initialized")
    if not isinstance(fields, (list, tuple)):  # checked before finality, as in ctypes
        raise TypeError("'_fields_' must be a sequence of pairs")
    if _is_final(cls):
        raise AttributeError("_fields_ is final")
    pack = _pack(cls)
    swapped = hasattr(cls, "_swappedbytes_")
    big_endian = (sys.byteorder == "big") != swapped
    entries = []
    for index, entry in enumerate(fields):
        if not isinstance(entry, tuple) or len(entry) not in (2, 3) or not isinstance(entry[0], str):
            raise TypeError("'_fields_' must be a sequence of (name, C type) pairs")
        name, ctype = entry[0], entry[1]
        # A class standing for a simple type (an enum class of cdecl's) is a field of
        # that type, read back as the class's members.
        stands_for = None if isinstance(ctype, _CDataMeta) else _core._stand_in(ctype)
        if stands_for is None and (not isinstance(ctype, _CDataMeta) or not getattr(ctype, "_typeinfo_", None)):
            raise TypeError("second item in _fields_ tuple (index %d) must be a C type" % index)
        # As in ctypes, a type named as a field is final from here on, even if this
        # assignment fails later (so a record naming itself cannot get _fields_ after).
        (stands_for or ctype)._typeinfo_.mark_final()
        if ctype is cls:
            raise AttributeError("Structure or union cannot contain itself")
        if swapped:
            ctype = _other_endian(stands_for or ctype)
        bits = None
        if len(entry) == 3:
            bits = entry[2]
            if not isinstance(bits, int) or not -2**31 <= bits < 2**31:  # ctypes reads a C int
                raise TypeError("'_fields_' must be a sequence of (name, C type) pairs")
            _core._check_bit_field(ctype, bits)
        entries.append((name, ctype, bits))
    base = cls.__bases__[0]
    base = base if isinstance(base, _RecordMeta) and isinstance(getattr(base, "_typeinfo_", None), _core.TypeInfo) else None
    info, descriptors = _core.record_info(type(cls)._union, entries, pack, base, big_endian, final, _align(cls))
    for _, ctype, _ in entries:
        (_core._stand_in(ctype) or ctype)._typeinfo_.mark_final()  # the byte-order variants actually used, too
    if final:
        info.mark_final()
    type.__setattr__(cls, "_typeinfo_", info)
    type.__setattr__(cls, "_fields_", fields)
    for (name, _, _), descriptor in zip(entries, descriptors):
        type.__setattr__(cls, name, descriptor)
    for name in cls.__dict__.get("_anonymous_", ()):
        member = cls.__dict__.get(name)
        if not isinstance(member, _core.CField):
            raise AttributeError("type object %r has no attribute %r" % (cls.__name__, name))
        _expose_anonymous(cls, member, {e[0]: e[1] for e in entries}[name])




def _pack(cls):
    pack = getattr(cls, "_pack_", 0)
    if not isinstance(pack, int) or not 0 <= pack < 2**31:
        raise ValueError("_pack_ must be a non-negative integer")
    return pack or None


def _align(cls):
    """The least alignment ``_align_`` asks for (0: none), read from 3.13 on, as
    ctypes reads it (inherited like any attribute); on every version, the alignment
    past any C type's that ``ferrotypes.cdecl`` gives its own aligners (``_c_align_``,
    for C's ``aligned(32)`` and wider)."""
    own = cls.__dict__.get("_c_align_", 0)
    if own or sys.version_info < (3, 13):
        return own
    align = getattr(cls, "_align_", 0)
    if not isinstance(align, int) or isinstance(align, bool) or not 0 <= align < 2**31:
        raise ValueError("_align_ must be a non-negative integer")
    if align & (align - 1):
        # ctypes takes any number; C alignments are powers of two.
        raise ValueError("_align_ must be a power of two, got %d" % align)
    return align


def _expose_anonymous(cls, member, member_type):
    """Makes the fields of the anonymous member ``member`` (a record of class
    ``member_type``) attributes of ``cls``; fields of its own anonymous members too."""
    try:
        fields = member_type._fields_
    except AttributeError:
        raise AttributeError("type object %r has no attribute '_fields_'" % member_type.__name__) from None
    inner_anonymous = member_type.__dict__.get("_anonymous_", ())
    for entry in fields:
        inner = _core.anonymous_field(member, member_type.__dict__[entry[0]])
        if entry[0] in inner_anonymous:
            _expose_anonymous(cls, inner, entry[1])
        else:
            type.__setattr__(cls, entry[0], inner)


def _other_endian(ctype):
    """The class of the same type in the other byte order (records are used as they
    are: their own fields say their byte order)."""
    other = ctype.__dict__.get("__ctype_be__" if sys.byteorder == "little" else "__ctype_le__")
    if other is not None:
        return other
    if isinstance(ctype, PyCArrayType):
        return _other_endian(ctype._type_) * ctype._length_
    if isinstance(ctype, _RecordMeta):
        return ctype
    raise TypeError("This type does not support other endian: %s" % ctype)


def _metaclasses(meta):
    """``meta`` and every metaclass derived from it so far."""
    found = [meta]
    for sub in type.__subclasses__(meta):
        found += _metaclasses(sub)
    return found


def build_base_classes(core):
    """Creates the public base classes in the extension module ``core``."""
    global _core, _SIMPLE_BASE, _ARRAY_BASE, _POINTER_BASE
    _core = core
    for meta in _metaclasses(_CDataMeta):
        # Each its own (a method found on the exact metaclass is called without a
        # subclass check), as ctypes gives each metaclass its methods.
        core._add_class_methods(meta)
        if meta.__mul__ is _CDataMeta.__mul__ and meta.__rmul__ is _CDataMeta.__rmul__:
            core._add_array_operator(meta)  # cls * n without this module's __mul__ frame
    core._set_array_type_builder(_build_array_type)
    simple = PyCSimpleType("_SimpleCData", (core._SimpleData,), {"__module__": core.__name__, "__slots__": (),
                                                                 "__doc__": "The base of the simple types."})
    funcptr = PyCFuncPtrType("CFuncPtr", (core._FuncPtrData,), {"__module__": core.__name__, "__slots__": (),
                                                                 "__doc__": "The base of C function pointer types."})
    _SIMPLE_BASE = simple
    # Array[c_int] is a generic alias, as in ctypes (for annotations evaluated at run time).
    _ARRAY_BASE = PyCArrayType("Array", (core._ArrayData,), {"__module__": core.__name__, "__slots__": (),
                                                            "__class_getitem__": classmethod(types.GenericAlias),
                                                            "__doc__": "The base of C array types (``c_int * 3``)."})
    _POINTER_BASE = PyCPointerType("_Pointer", (core._PointerData,), {"__module__": core.__name__, "__slots__": (),
                                                                        "__doc__": "The base of C pointer types."})
    core._SimpleCData = simple
    core.Array = _ARRAY_BASE
    core._Pointer = _POINTER_BASE
    core.CFuncPtr = funcptr
    core.Structure = PyCStructType("Structure", (core._RecordData,), {
        "__module__": core.__name__, "_abstract_": True, "__slots__": (),
        "__doc__": "A C struct: subclass it and set ``_fields_ = [(name, type), ...]``."})
    core.Union = UnionType("Union", (core._RecordData,), {
        "__module__": core.__name__, "_abstract_": True, "__slots__": (),
        "__doc__": "A C union: subclass it and set ``_fields_ = [(name, type), ...]``."})
    core._set_default_from_param(PyCSimpleType.from_param, PyCPointerType.from_param, _CDataMeta.from_param)
