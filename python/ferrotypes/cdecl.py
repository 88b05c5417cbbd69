"""C declarations as the source of bindings: ``cdef`` reads C text, ``include`` a header
as this machine's C compiler sees it; both give a ``CNamespace`` of ferrotypes types,
functions bound to a library, enum classes, variables and macro values.

The parsing is the core's (``ferrotypes._ctypes.parse_c``, plain data out); this module
only turns that data into ferrotypes classes, lazily: a name's class is made on first use.
"""

from __future__ import annotations

import enum as _enum
import functools
import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import tempfile
import warnings
from collections.abc import Mapping

import ferrotypes as _ft
from ferrotypes import _ctypes

__all__ = ["CDeclError", "CNamespace", "VerifyError", "cdef", "include"]


class CDeclError(ValueError):
    """A problem in C declarations: ``file:line:column: message``, then the source line
    and a caret. ``file``, ``line`` and ``column`` are also attributes."""

    def __init__(self, message, file=None, line=None, column=None):
        super().__init__(message)
        self.file, self.line, self.column = file, line, column


class VerifyError(CDeclError):
    """The C compiler disagrees with a namespace (``CNamespace.verify``): the message lists
    each difference, ``differences`` holds them as strings."""

    def __init__(self, message, differences=()):
        super().__init__(message)
        self.differences = list(differences)


def _checked(function, *args):
    """``function(*args)``, its errors in C source raised as ``CDeclError``."""
    try:
        return function(*args)
    except ValueError as e:
        if len(e.args) == 4:
            raise CDeclError(*e.args) from None
        raise


def _parse(source, filename):
    return _checked(_ctypes.parse_c, source, filename)


# C integer and floating types by C spelling: the ferrotypes class, or None for the
# types ferrotypes has no class for (their bytes are kept, see _opaque).
_SCALARS = {
    "_Bool": _ft.c_bool, "char": _ft.c_char, "signed char": _ft.c_byte,
    "unsigned char": _ft.c_ubyte, "short": _ft.c_short, "unsigned short": _ft.c_ushort,
    "int": _ft.c_int, "unsigned int": _ft.c_uint, "long": _ft.c_long,
    "unsigned long": _ft.c_ulong, "long long": _ft.c_longlong,
    "unsigned long long": _ft.c_ulonglong, "float": _ft.c_float, "double": _ft.c_double,
    "long double": _ft.c_longdouble, "float _Complex": _ft.c_float_complex,
    "double _Complex": _ft.c_double_complex, "long double _Complex": _ft.c_longdouble_complex,
}
# (size, alignment) of the C types ferrotypes has no class for, kept as bytes in records.
_NO_CLASS = {
    "__int128": (16, 16), "unsigned __int128": (16, 16), "_Float128": (16, 16),
    "_Float128 _Complex": (32, 16),
}
# A type of each alignment up to 16, whose zero-length array gives a record that
# alignment (plain C types, so that `bind` can write them); past 16, see _aligner.
_ALIGNERS = {2: _ft.c_short, 4: _ft.c_int, 8: _ft.c_long, 16: _ft.c_longdouble}


class _CEnumType(_enum.EnumType):
    """The metaclass of cdecl's enum classes. An enum class stands for its C integer type
    (``_ctype_``, which ferrotypes resolves wherever it takes a type: ``argtypes``,
    ``restype``, ``_fields_``, ``sizeof``, ``POINTER``...); this adds ``E * n``, the
    array type of ``n`` of that integer type."""

    def __mul__(cls, length):
        return cls._ctype_ * length

    __rmul__ = __mul__


class _CIntEnum(_enum.IntEnum, metaclass=_CEnumType):
    """The base of cdecl's enum classes (see ``_CEnumType``)."""


class _Unbindable(Exception):
    """A declaration with no ferrotypes equivalent (the reason is the message)."""


class _NotExported(Exception):
    """A declared function or variable that no library given exports."""


def _load_libraries(lib):
    """``lib`` as a list of loaded libraries (see ``cdef``)."""
    if lib is None:
        return [_ft.CDLL(None)]
    if isinstance(lib, (list, tuple)):
        out = []
        for one in lib:
            out.extend(_load_libraries(one))
        return out
    if isinstance(lib, _ft.CDLL):
        return [lib]
    return [_ft.CDLL(_library_path(lib), mode=_ft.RTLD_GLOBAL)]


def _library_path(lib):
    """A library path as given, or a name (``"z"``) resolved by ``find_library``."""
    path = os.fspath(lib)
    if os.sep not in path and not os.path.exists(path):
        from ferrotypes.util import find_library

        found = find_library(path)
        if found is None:
            raise OSError(f"library {path!r} not found (find_library({path!r}) gave None)")
        path = found
    return path


class CNamespace:
    """What C declarations make visible: functions, variables, typedefs, enum constants
    and macros as attributes; tags and any C type name as items (``ns["struct tm"]``);
    ``typeof(name)`` for type names; ``skipped`` for what could not be bound, with why."""

    def __init__(self, unit, libraries, origin):
        data = unit.model()
        self._unit = unit
        self._libs = libraries
        self._origin = origin
        self._records = data["records"]
        self._enums = data["enums"]
        self._decls = _Declarations(unit)
        self._constants = {}
        for i, e in enumerate(self._enums):
            for name, value in e["constants"]:
                self._constants[name] = (value, i)
        self._skipped = {}
        kinds = self._decls.kinds
        self._macros = dict.fromkeys(unit.macro_names())  # ordered, and a fast `in`
        # A macro with a declaration's name is the declaration (`#define stdin stdin`,
        # glibc's enum constants defined as themselves); for a function the function wins
        # (curl_easy_setopt) and the macro is reported.
        for m in self._macros.keys() & kinds.keys():
            if kinds[m] == "function":
                self._skipped[m] = "a macro with the name of a declared function (the function wins)"
            del self._macros[m]
        for m in self._macros.keys() & self._constants.keys():
            del self._macros[m]
        self._tags = {}
        for i, r in enumerate(self._records):
            if r["tag"] is not None:
                self._tags[r["kind"] + " " + r["tag"]] = ("record", i)
        for i, e in enumerate(self._enums):
            if e["tag"] is not None:
                self._tags["enum " + e["tag"]] = ("enum", i)
        self._values = {}
        self._record_classes = {}
        self._record_pending = []
        self._record_done = set()
        self._enum_classes = {}
        self._types = {}
        self._all_evaluated = False

    def __repr__(self):
        return f"<CNamespace of {self._origin}: {len(self._decls)} declarations, {len(self._macros)} macros>"

    # -- names -------------------------------------------------------------------------

    def __dir__(self):
        names = set(self._decls) | set(self._constants) | set(self._macros)
        names |= {t.split(" ", 1)[1] for t in self._tags}
        return sorted(names)

    def __getattr__(self, name):
        if "_decls" not in self.__dict__:  # not initialised (copy, pickle probes)
            raise AttributeError(name)
        try:
            return self._values[name]
        except KeyError:
            pass
        value = self._lookup(name)
        self._values[name] = value
        return value

    def _lookup(self, name):
        decl = self._decls.get(name)
        if decl is not None:
            return self._bind(decl)
        if name in self._constants:
            value, index = self._constants[name]
            return self._enum_class(index)(value) if self._enum_is_class(index) else value
        if name in self._macros:
            if name in self._skipped:
                raise AttributeError(f"{name}: {self._skipped[name]}")
            try:
                return self._macro(name)
            except _Unbindable as e:
                self._skipped[name] = str(e)
                raise AttributeError(f"macro {name} has no Python value: {e}") from None
        for kind in ("struct", "union", "enum"):
            if f"{kind} {name}" in self._tags:
                return self[f"{kind} {name}"]
        raise AttributeError(f"{self._origin} declares no {name!r}")

    def __getitem__(self, c_name):
        tag = self._tags.get(c_name)
        if tag is not None:
            return self._record_class(tag[1]) if tag[0] == "record" else self._enum_class(tag[1])
        return self.typeof(c_name)

    def typeof(self, c_type_name):
        """The ferrotypes type of a C type name (``"struct tm *"``, ``"int (*)(int)"``)."""
        t = _checked(self._unit.type_name, c_type_name)
        try:
            cls = self._class(t)
        except _Unbindable as e:
            raise TypeError(f"{c_type_name}: {e}") from None
        self._finish_records()
        return cls

    @property
    def skipped(self):
        """``{name: reason}`` for every declaration and macro that has no binding."""
        if not self._all_evaluated:
            for name in dir(self):
                try:
                    getattr(self, name)
                except (AttributeError, _Unbindable):
                    pass
                except Exception as e:  # a type this header builds but ferrotypes refuses
                    self._skipped.setdefault(name, f"{type(e).__name__}: {e}")
            self._all_evaluated = True
        return dict(self._skipped)

    # How `verify` compiles its probe: (compiler argv or None for $CC, flags, the C lines
    # declaring what the namespace holds); set by `cdef` and `include`.
    _probe = None

    def verify(self):
        """Compiles a probe with the compiler and flags that made this namespace and
        compares every structure and union (size, alignment, member offsets) and every
        constant with it; raises ``VerifyError`` listing the differences. Returns the
        number of values checked."""
        from ferrotypes import _verify

        return _verify.verify(self)

    # -- types -------------------------------------------------------------------------

    def _class(self, t, role="field"):
        """The ferrotypes type of type tuple ``t``; ``role`` is "field", "param" or
        "result" (``char *`` results differ, see ``_pointer``)."""
        kind = t[0]
        if kind == "void":
            return None
        if kind in ("int", "float"):
            cls = _SCALARS.get(t[1])
            if cls is None:
                if role in ("param", "result"):
                    raise _Unbindable(f"ferrotypes has no type for {t[1]} (passed by value)")
                return _opaque(t[1], *_NO_CLASS[t[1]])
            return cls
        if kind == "named":
            return self._typedef(t[1], role)
        if kind == "ptr":
            return self._pointer(t[1], t[2], role)
        if kind == "array":
            elem = self._class(t[1])
            if elem is None:
                raise _Unbindable("array of void")
            return elem * (t[2] or 0)
        if kind == "record":
            if role != "pointee":
                self._record_complete(t[1])
            return self._record_class(t[1], complete=role != "pointee")
        if kind == "enum":
            return self._enum_ctype(t[1])
        if kind == "func":
            raise _Unbindable("a function type is not a value type")
        if kind == "opaque":
            if role in ("param", "result"):
                raise _Unbindable(f"ferrotypes has no type for {t[1]} (passed by value)")
            return _opaque(t[1], t[2], t[3])
        if kind == "aligned":
            # A typedef's own alignment: a ctypes class has only its type's (`_typedef`
            # reports it; records place such members themselves).
            return self._class(t[1], role)
        raise _Unbindable(f"unknown type {t!r}")

    def _resolve(self, t):
        while t[0] == "named":
            d = self._decls.get(t[1])
            if d is None:
                return t
            t = d["type"]
        return t

    def _typedef(self, name, role):
        d = self._decls.get(name)
        if d is None:  # the compiler's own typedefs come resolved from the core
            raise _Unbindable(f"unknown typedef name {name}")
        key = ("typedef", name, role if self._role_matters(d["type"]) else "field")
        try:
            return self._types[key]
        except KeyError:
            pass
        cls = self._class(d["type"], role)
        self._types[key] = cls
        t = self._resolve(d["type"])
        if t[0] == "aligned" and cls is not None and _ft.alignment(cls) != t[2] and role != "pointee":
            self._skipped.setdefault(name, _typedef_alignment_note(t[2], cls))
        return cls

    def _role_matters(self, t):
        t = self._resolve(t)
        return t[0] in ("ptr", "record", "opaque", "aligned")

    def _pointer(self, to, to_const, role):
        target = self._resolve(to)
        if target[0] == "void":
            return _ft.c_void_p
        if target[0] == "func":
            if target[3] or target[4]:
                # Variadic or unprototyped: no CFUNCTYPE can describe it; an address can.
                return _ft.c_void_p
            return self._callback_param(target) if role == "param" else self._prototype(target)
        if target[0] == "int" and target[1] == "char":
            # char * is a string, except a non-const result (C's memory, to be freed).
            if role == "result" and not to_const:
                return _ft.POINTER(_ft.c_char)
            return _ft.c_char_p
        if target[0] == "record" and self._records[target[1]]["tag"] == "_object":
            return _ft.py_object  # Python's PyObject *
        if target[0] == "record" and self._records[target[1]]["fields"] is None:
            # An incomplete type: a pointer to a class that a later definition completes.
            return _ft.POINTER(self._record_class(target[1], complete=False))
        try:
            pointee = self._class(to, "pointee")
        except _Unbindable:
            return _ft.c_void_p
        if pointee is None:
            return _ft.c_void_p
        if role == "param" and pointee in (_ft.c_byte, _ft.c_ubyte):
            # Its from_param is Python: kept to the one-byte pointees (byte buffers of any
            # format), where that is what the C programmer means.
            return _buffer_pointer(pointee, to_const)
        return _ft.POINTER(pointee)

    def _prototype(self, ft):
        """The CFUNCTYPE of a function type (one class per signature)."""
        key = ("proto", repr(ft))
        try:
            return self._types[key]
        except KeyError:
            pass
        _, ret, params = ft[:3]  # callers pass prototyped, fixed-arity functions only
        restype = self._class(ret, "result")
        argtypes = tuple(self._class(p, "field") for _, p in params)
        proto = _ft.CFUNCTYPE(restype, *argtypes)
        self._types[key] = proto
        return proto

    def _callback_param(self, ft):
        """The prototype as a parameter type: it also takes a Python callable, made into
        a callback for the call (the call's arguments keep it alive until C returns)."""
        return _callback_parameter(self._prototype(ft))

    def _record_class(self, index, complete=True):
        cls = self._record_classes.get(index)
        if cls is None:
            r = self._records[index]
            name = r["tag"] or r["typedef_name"] or f"anonymous_{r['kind']}_{index}"
            base = _ft.Structure if r["kind"] == "struct" else _ft.Union
            cls = type(base)(name, (base,), {"__module__": "ferrotypes.cdecl"})
            self._record_classes[index] = cls
            self._record_pending.append(index)
        if complete:
            self._record_complete(index)
        return cls

    def _record_complete(self, index):
        cls = self._record_classes.get(index) or self._record_class(index, complete=False)
        r = self._records[index]
        if index in self._record_done or r["fields"] is None:
            return
        self._record_done.add(index)
        try:
            fields, kept_offsets, anonymous, pads, zero_widths, unnamed = [], [], [], 0, [], set()
            size, align, offsets, natural = r["layout"]
            for (name, t, bits), offset in zip(r["fields"], offsets):
                if bits == 0:
                    # `int :0` only moves the next member (to `offset` at the earliest; in a
                    # union it does nothing); ctypes has no zero-width bit-field, see _place.
                    if r["kind"] == "struct":
                        zero_widths.append((len(fields), offset))
                    continue
                ftype = self._class(t, "field")
                if bits is not None and isinstance(ftype, _CEnumType):
                    ftype = ftype._ctype_  # an enum bit-field reads back as an int
                if bits is not None and ftype is _ft.c_char:
                    ftype = _ft.c_byte  # plain char is signed here; ctypes' bit-fields need an integer type
                if name is None:
                    pads += 1
                    name = f"_anon_{pads}"
                    if bits is None:
                        anonymous.append(name)
                    else:
                        unnamed.add(len(fields))
                fields.append((name, ftype) if bits is None else (name, ftype, bits))
                kept_offsets.append(offset)
            if anonymous:
                cls._anonymous_ = anonymous
            if r["pack"]:
                cls._pack_ = r["pack"]
            cls._fields_ = self._place(cls, fields, size, align, kept_offsets, natural, zero_widths, unnamed)
        except BaseException:
            self._record_done.discard(index)
            raise
        self._check_layout(cls, r, fields, kept_offsets, unnamed)

    def _check_layout(self, cls, r, fields, offsets, unnamed):
        """Compares the class with the compiler's layout (the core's); a difference is
        reported in ``skipped`` and as a ``RuntimeWarning`` rather than left silent.
        Unnamed bit-fields (indexes ``unnamed``) are padding, not compared."""
        size, align = r["layout"][:2]
        problems = []
        if (_ft.sizeof(cls), _ft.alignment(cls)) != (size, align):
            problems.append(f"sizeof/alignment {(_ft.sizeof(cls), _ft.alignment(cls))}, compiler {(size, align)}")
        for i, (f, offset) in enumerate(zip(fields, offsets)):
            if i not in unnamed and getattr(cls, f[0]).offset != offset:
                problems.append(f"{f[0]} at offset {getattr(cls, f[0]).offset}, compiler {offset}")
        if problems:
            name = f"{r['kind']} {r['tag']}" if r["tag"] else (r["typedef_name"] or cls.__name__)
            reason = "bound, but the layout differs from the compiler's: " + "; ".join(problems)
            self._skipped[name] = reason
            warnings.warn(f"{name}: {reason}", RuntimeWarning, stacklevel=2)

    def _place(self, cls, fields, size, align, offsets, natural, zero_widths, unnamed):
        """``fields`` as given when `_fields_` with `_pack_` reproduce the compiler's layout;
        else each member put at the compiler's offset by explicit padding, with a
        zero-length array first to give the record its alignment (``aligned`` attributes,
        types ferrotypes keeps as bytes). ``zero_widths`` are the ``(index in fields,
        offset)`` of the struct's zero-width bit-fields, ``unnamed`` the indexes of its
        unnamed bit-fields."""
        natural = natural and not any(_is_opaque(f[1]) for f in fields)
        pack = cls.__dict__.get("_pack_", 0)
        # An unnamed bit-field adds nothing to the record's alignment, a ctypes bit-field
        # its type's: one whose type is aligned more than the record is becomes padding.
        wide_unnamed = {i for i in unnamed if (min(_ft.alignment(fields[i][1]), pack) if pack else _ft.alignment(fields[i][1])) > align}
        if natural and not zero_widths and not wide_unnamed:
            return fields
        bit_fields = any(len(f) == 3 for f in fields)
        if not bit_fields:
            # A member at an offset its class's alignment does not divide (`packed`, a
            # typedef lowering its alignment): `_pack_` as large as such offsets allow, so
            # that the record keeps as much of its alignment as they let it have.
            pack = min((off & -off for f, off in zip(fields, offsets) if off % _ft.alignment(f[1])), default=0)
            if pack:
                cls._pack_ = min(pack, cls.__dict__.get("_pack_") or pack)
        pack = cls.__dict__.get("_pack_", 0)
        widest = max((_ft.alignment(f[1]) for f in fields), default=1)
        anchor = []
        if align > (min(widest, pack) if pack else widest):
            if pack:
                # `_pack_` caps a zero-length array's alignment too: the record says it.
                cls._c_align_ = align
            else:
                anchor = [("_align_", _aligner(align))]
        if bit_fields:
            # The engine places bit-fields as the compiler does, from where the members
            # before them end. Where that is not where the compiler puts the next member
            # (after `type :0`, which ctypes lacks, or before a member with an alignment
            # its class lacks), bytes are put before it (see _pads).
            starts = {} if natural else {i: off for i, (f, off) in enumerate(zip(fields, offsets)) if len(f) == 2}
            zero = set()
            for i, off in zero_widths:
                starts.setdefault(i, off)
                zero.add(i)
            shift = len(anchor)
            return _pads(anchor + fields, {i + shift: off for i, off in starts.items()}, {i + shift for i in zero},
                         {i + shift for i in wide_unnamed}, pack)
        placed, at, pad = list(anchor), 0, 0
        for f, off in zip(fields, offsets):
            if off > at:
                pad += 1
                placed.append((f"_pad_{pad}", _ft.c_ubyte * (off - at)))
            placed.append(f)
            at = max(at, off + _ft.sizeof(f[1]))
        if size > at:
            placed.append(("_pad_end", _ft.c_ubyte * (size - at)))
        return placed

    def _finish_records(self):
        while self._record_pending:
            self._record_complete(self._record_pending.pop())

    def _enum_is_class(self, index):
        return self._enums[index]["complete"]

    def _enum_class(self, index):
        cls = self._enum_classes.get(index)
        if cls is None:
            e = self._enums[index]
            name = e["tag"] or e["typedef_name"] or f"anonymous_enum_{index}"
            cls = _CIntEnum(name, list(e["constants"]) or [], module="ferrotypes.cdecl")
            cls._ctype_ = _SCALARS[e["underlying"]]
            self._enum_classes[index] = cls
        return cls

    def _enum_ctype(self, index):
        """The enum's class, standing for its C integer type."""
        e = self._enums[index]
        if not e["complete"]:
            raise _Unbindable(f"enum {e['tag']} is incomplete")
        return self._enum_class(index)

    # -- declarations ------------------------------------------------------------------

    def _bind(self, decl):
        name = decl["name"]
        try:
            if decl["kind"] == "typedef":
                t = self._resolve(decl["type"])
                if t[0] == "enum" and self._enums[t[1]]["complete"]:
                    return self._enum_class(t[1])
                if t[0] == "func":
                    raise _Unbindable("a function type (use a pointer to it)")
                cls = self._typedef(name, "field")
                self._finish_records()
                return cls
            if decl["kind"] == "variable":
                return self._variable(decl)
            return self._function(decl)
        except _Unbindable as e:
            self._skipped[name] = str(e)
            raise AttributeError(f"{name}: {e}") from None
        except _NotExported as e:
            self._skipped[name] = str(e)
            raise AttributeError(str(e)) from None

    def _symbol(self, decl):
        return decl["asm_label"] or decl["name"]

    def _find(self, decl, getter):
        symbol = self._symbol(decl)
        for lib in self._libs:
            try:
                return getter(lib, symbol)
            except (AttributeError, ValueError):
                continue
        names = ", ".join(repr(lib._name) for lib in self._libs)
        raise _NotExported(
            f"{decl['name']}: symbol {symbol!r} is declared but not exported by any of the "
            f"libraries searched: {names}"
        )

    def _function(self, decl):
        if decl["static"]:
            raise _Unbindable("static (inline) function: no library exports it")
        _, ret, params, variadic, unspecified = decl["type"]
        restype = self._class(ret, "result")
        argtypes = None if unspecified else [self._class(p, "param") for _, p in params]
        self._finish_records()
        func = self._find(decl, lambda lib, symbol: lib[symbol])
        func.restype = restype
        if argtypes is not None:
            for i in decl["nonnull"]:
                if i < len(argtypes) and _is_pointer_type(argtypes[i]):
                    pname = params[i][0] or f"#{i + 1}"
                    argtypes[i] = _nonnull(argtypes[i], f"{decl['name']}(): parameter {pname} "
                                           f"(argument {i + 1}) is declared nonnull, got None")
            func.argtypes = argtypes
        func.__name__ = decl["name"]
        if decl["deprecated"]:
            # Once per function: a namespace binds each function once.
            warnings.warn(f"{decl['name']} is declared deprecated ({decl['location']})",
                          DeprecationWarning, stacklevel=5)
        return func

    def _variable(self, decl):
        if decl["static"]:
            raise _Unbindable("static variable: no library exports it")
        cls = self._class(decl["type"], "field")
        self._finish_records()
        if cls is None:
            raise _Unbindable("a variable of type void")
        return self._find(decl, lambda lib, symbol: cls.in_dll(lib, symbol))

    # -- macros ------------------------------------------------------------------------

    def _macro(self, name):
        try:
            meaning = self._unit.eval_macro(name)
        except ValueError as e:
            raise _Unbindable(str(e)) from None
        if meaning[0] == "forward":
            _, function, args = meaning
            return _forwarder(name, self, function, [(k, _macro_value(v) if k == "const" else v) for k, v in args])
        return _macro_value(meaning)


class _Declarations(Mapping):
    """The declarations of a parse by name, each read from the core (as a dict) when first
    asked for: most of a header's declarations are never used."""

    def __init__(self, unit):
        self._unit = unit
        self.kinds = unit.decl_kinds()  # {name: "function" | "variable" | "typedef"}
        self._read = {}

    def __getitem__(self, name):
        try:
            return self._read[name]
        except KeyError:
            pass
        decl = self._unit.decl(name) if name in self.kinds else None
        if decl is None:
            raise KeyError(name)
        self._read[name] = decl
        return decl

    def get(self, name, default=None):
        try:
            return self[name]
        except KeyError:
            return default

    def __contains__(self, name):
        return name in self.kinds

    def __iter__(self):
        return iter(self.kinds)

    def __len__(self):
        return len(self.kinds)


def _macro_value(v):
    if v[0] in ("int", "float"):
        return v[1]
    if v[0] == "str":
        return v[1]
    return _ft.c_void_p(v[1])


def _forwarder(name, namespace, function, args):
    """The function-like macro ``name`` as a callable: it calls ``function`` of
    ``namespace`` (bound on first call) with its arguments and the macro's constants."""
    nparams = sum(1 for k, _ in args if k == "param")

    def call(*given):
        if len(given) != nparams:
            raise TypeError(f"{name}() takes {nparams} arguments ({len(given)} given)")
        return getattr(namespace, function)(*[given[v] if k == "param" else v for k, v in args])

    call.__name__ = name
    call.__qualname__ = name
    call.__doc__ = f"The macro {name}, calling {function}."
    return call


def _typedef_alignment_note(align, cls):
    """Why the class of a typedef with its own ``aligned(align)`` keeps its type's
    alignment: ``ns.skipped``'s words."""
    note = f"aligned({align}) on a typedef: the class keeps alignment {_ft.alignment(cls)}"
    size = _ft.sizeof(cls)
    if size % align:
        # glibc's __pthread_unwind_buf_t: GCC keeps the size (and refuses arrays of it).
        note += f" ({size} bytes, not a multiple of {align}, which no ctypes class's size can be)"
    return note


_callback_params = {}


def _callback_parameter(proto):
    """Prototype ``proto`` as a parameter type that also takes a Python callable."""
    cls = _callback_params.get(proto)
    if cls is None:
        def from_param(cls, obj, _proto=proto):
            if obj is None:
                return None
            if callable(obj) and not isinstance(obj, _ft._CFuncPtr):
                obj = _proto(obj)
            return _proto.from_param(obj)

        # A prototype class names its own _flags_ (the metaclass requires it, as ctypes').
        cls = type(proto)(proto.__name__, (proto,), {"_flags_": proto._flags_, "from_param": classmethod(from_param),
                                                     "__module__": __name__})
        _callback_params[proto] = cls
    return cls


_buffer_pointers = {}


def _buffer_pointer(pointee, to_const):
    """``POINTER(pointee)`` as the type of a parameter pointing to a one-byte type: it
    also takes any byte buffer, read-only ones only when the pointee is ``const``."""
    key = (pointee, to_const)
    cls = _buffer_pointers.get(key)
    if cls is not None:
        return cls
    base = _ft.POINTER(pointee)

    def from_param(cls, obj):
        if obj is None:
            return None
        try:
            return base.from_param(obj)
        except TypeError:
            try:
                view = memoryview(obj)
            except TypeError:
                raise TypeError(
                    f"expected {base.__name__} instance or a buffer, got {type(obj).__name__}"
                ) from None
        with view:
            if not view.c_contiguous:
                raise TypeError(f"{type(obj).__name__} is not C-contiguous")
            if view.readonly:
                if not to_const:
                    raise TypeError(
                        f"{type(obj).__name__} is read-only and the parameter is not const"
                    )
                if isinstance(obj, bytes):
                    return obj  # passed as its char * without a copy
                return (_ft.c_char * view.nbytes).from_buffer_copy(view)
            return (_ft.c_char * view.nbytes).from_buffer(view)

    cls = type(base)(base.__name__, (base,), {"from_param": classmethod(from_param), "_type_": pointee, "__module__": __name__})
    _buffer_pointers[key] = cls
    return cls


def _is_pointer_type(cls):
    """Whether a parameter of type ``cls`` could be given NULL (``None``)."""
    return cls is not None and (issubclass(cls, (_ft._Pointer, _ft._CFuncPtr)) or cls in (_ft.c_void_p, _ft.c_char_p))


_nonnull_types = {}


def _nonnull(base, message):
    """``base`` as the type of a ``nonnull`` parameter: ``None`` raises ``ValueError``
    (with ``message``) instead of passing NULL to C. The call does the check itself
    (``_nonnull_``), so anything else converts as fast as for ``base``."""
    key = (base, message)
    cls = _nonnull_types.get(key)
    if cls is None:
        namespace = {"_nonnull_": message, "__module__": __name__}
        if issubclass(base, _ft._Pointer):
            namespace["_type_"] = base._type_
        elif issubclass(base, _ft._CFuncPtr):
            namespace["_flags_"] = base._flags_  # required of each prototype class
        cls = type(base)(base.__name__, (base,), namespace)
        _nonnull_types[key] = cls
    return cls


_aligners = {}


def _aligner(align):
    """A zero-length array of alignment ``align``: first in ``_fields_``, it gives a
    record that alignment and no bytes (unless ``_pack_`` caps it). Past 16 no C type has
    the alignment, so its element is an empty record of that alignment (``_c_align_``,
    which ``_metatypes`` honours on every Python version)."""
    if align in _ALIGNERS:
        return _ALIGNERS[align] * 0
    cls = _aligners.get(align)
    if cls is None:
        element = type(_ft.Structure)(f"aligned_{align}", (_ft.Structure,),
                                      {"_c_align_": align, "_fields_": [], "__module__": __name__})
        cls = _aligners[align] = element * 0
    return cls


def _pads(fields, starts, zero_widths, unnamed, pack):
    """``fields`` of a struct with bit-fields, with padding members where the engine
    would not place the next member as the compiler does:

    - bytes before the member at each index of ``starts`` up to the offset given there:
      the compiler's offset of a plain member, or the offset past a zero-width bit-field
      (``zero_widths``: the indexes following one, or ``len(fields)``), where the next
      member may start. A byte array adds no alignment and leaves the next member at its
      end (``type :0`` leaves it at a fresh byte even with no bytes between);
    - the unnamed bit-fields at the indexes ``unnamed`` replaced by bits of alignment 1
      up to where they end.

    Where the members before end, to the bit, is the engine's to say, so a record of
    them is laid out to ask (see ``_bit_position``)."""
    placed, done, n = [], 0, 0

    def pad(ctype, *bits):
        nonlocal n
        n += 1
        placed.append((f"_pad_{n}", ctype, *bits))

    for index in sorted(set(starts) | unnamed):
        placed.extend(fields[done:index])
        done = index
        if index in starts:
            gap = starts[index] - (_bit_position(placed, ("_end_", _ft.c_ubyte, 1), pack) + 7) // 8
            if gap > 0 or (gap == 0 and index in zero_widths):
                pad(_ft.c_ubyte * gap)
        if index in unnamed:
            at = _bit_position(placed, ("_end_", _ft.c_ubyte, 1), pack)
            end = _bit_position(placed, fields[index], pack) + fields[index][2]
            if at % 8 and end > at:
                pad(_ft.c_ubyte, min(8 - at % 8, end - at))
                at += min(8 - at % 8, end - at)
            if end - at >= 8:
                pad(_ft.c_ubyte * ((end - at) // 8))
                at += (end - at) // 8 * 8
            if end > at:
                pad(_ft.c_ubyte, end - at)
            done = index + 1
    placed.extend(fields[done:])
    return placed


def _bit_position(placed, field, pack):
    """The first bit of bit-field ``field`` placed after the members ``placed``."""
    probe = type(_ft.Structure)("prefix", (_ft.Structure,), {"_pack_": pack, "_fields_": [*placed, field]})
    member = getattr(probe, field[0])
    return member.offset * 8 + (member.size & 0xFFFF)  # ctypes' size: width << 16 | bit offset


_opaque_cache = {}


def _opaque(name, size, align):
    """Bytes standing for a type ferrotypes has no class for, keeping its size."""
    key = (name, size, align)
    cls = _opaque_cache.get(key)
    if cls is None:
        cls = _ft.c_ubyte * size
        _opaque_cache[key] = cls
    return cls


def _is_opaque(cls):
    return cls in _opaque_cache.values()


def cdef(source, lib=None):
    """C declarations as text (``#define NAME <constant>``, ``#pragma pack`` and
    ``#undef`` included; no ``#include`` or conditionals: use ``include``) bound to
    ``lib``: a ``CDLL``/``PyDLL``, a path, a name for ``find_library``, a list of
    these (loaded in order with ``RTLD_GLOBAL``) or ``None`` (the process)."""
    unit = _parse(source, "<cdef>")
    ns = CNamespace(unit, _load_libraries(lib), "<cdef>")
    ns._probe = (None, [], source)
    return ns


def _compiler(cc):
    cc = cc or os.environ.get("CC") or "cc"
    argv = shlex.split(cc)
    if not argv or _which(argv[0], os.environ.get("PATH")) is None:
        raise OSError(
            f"no C compiler: {cc!r} is not on PATH (set CC to a C compiler to use include; "
            "cdef needs none)"
        )
    return argv


@functools.lru_cache(maxsize=16)
def _which(program, path):
    """``shutil.which``, remembered per PATH (a cached include should not search PATH)."""
    found = shutil.which(program, path=path)
    return found and os.path.realpath(found)


def _include_command(header, include_dirs, defines, cc):
    """``(compiler argv, flags, the #include line)`` with which ``include`` reads
    ``header`` (``verify`` compiles its probe with the same)."""
    argv = _compiler(cc)
    flags = [f"-I{os.path.abspath(d)}" for d in include_dirs]
    for k, v in (defines or {}).items():
        flags.append(f"-D{k}" if v is None else f"-D{k}={v}")
    if header == "Python.h" and not include_dirs:
        import sysconfig

        flags.append("-I" + sysconfig.get_paths()["include"])
    if os.path.exists(header) and (os.sep in header or not header.endswith(".h")):
        line = f'#include "{os.path.abspath(header)}"\n'
    else:
        line = f"#include <{header}>\n"
    return argv, flags, line


def include(header, lib=None, *, include_dirs=(), defines=None, cc=None, verify=False):
    """A header as this machine's C compiler sees it (preprocessed by ``$CC``, else
    ``cc``, with its predefined macros), bound to ``lib`` as in ``cdef``. ``header`` is
    searched like ``#include <...>``, or is a path. The preprocessed text is cached on
    disk, keyed by the compiler, the flags and every file the header included.
    ``verify=True`` checks the namespace against the compiler (``CNamespace.verify``)."""
    argv, flags, line = _include_command(header, include_dirs, defines, cc)
    command = argv + ["-E", "-dD", *flags, "-x", "c", "-"]
    text = _cached_preprocess(command, line)
    if text is None:
        proc = subprocess.run(command, input=line, capture_output=True, text=True)
        if proc.returncode != 0:
            if "No such file or directory" in proc.stderr and header in proc.stderr:
                raise FileNotFoundError(
                    f"header {header!r} not found; {' '.join(argv)} searched: "
                    f"{', '.join(_search_dirs(argv, flags))}"
                )
            raise OSError(f"{' '.join(argv)} -E failed on {header!r}:\n{proc.stderr}")
        text = proc.stdout
        _store_preprocessed(command, line, text)
    unit = _parse(text, header)
    ns = CNamespace(unit, _load_libraries(lib), header)
    ns._probe = (argv, flags, line)
    if verify:
        ns.verify()
    return ns


# --- the disk cache of preprocessed headers -------------------------------------------------

_CACHE_VERSION = 2
_LINE_MARKER = re.compile(r'^# \d+ "([^"<][^"]*)"', re.M)
# Environment variables that change what the preprocessor finds or defines.
_CC_ENVIRONMENT = ("CPATH", "C_INCLUDE_PATH", "GCC_EXEC_PREFIX", "COMPILER_PATH")


def _cache_dir():
    root = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(root, "ferrotypes", "headers")


def _stamp(path):
    """What changes when a file does: its modification and status-change times (the
    latter cannot be set back by hand), size and inode (a file replaced by another)."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return [st.st_mtime_ns, st.st_ctime_ns, st.st_size, st.st_ino]


def _cache_key(command, line):
    compiler = _which(command[0], os.environ.get("PATH")) or command[0]
    environment = [os.environ.get(name) for name in _CC_ENVIRONMENT]
    ident = [_CACHE_VERSION, command, line, compiler, _stamp(compiler), environment]
    return hashlib.sha256(json.dumps(ident).encode()).hexdigest()


def _cached_preprocess(command, line):
    """The cached preprocessor output, if every file it came from is unchanged. An entry
    is one line of JSON (``[[file, stamp], ...]``), then the text itself."""
    path = os.path.join(_cache_dir(), _cache_key(command, line) + ".txt")
    try:
        with open(path, "rb") as f:
            data = f.read()
        head, _, text = data.partition(b"\n")
        if any(_stamp(dep) != stamp for dep, stamp in json.loads(head)):
            return None
        return text.decode("utf-8")
    except (OSError, ValueError, TypeError):  # no entry, or a damaged one: a miss
        return None


def _store_preprocessed(command, line, text):
    directory = _cache_dir()
    deps = sorted(set(_LINE_MARKER.findall(text)))
    head = json.dumps([[d, _stamp(d)] for d in deps])
    try:
        os.makedirs(directory, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=directory, suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            f.write(head.encode("utf-8") + b"\n" + text.encode("utf-8"))
        os.replace(tmp, os.path.join(directory, _cache_key(command, line) + ".txt"))
    except OSError:
        pass  # no cache directory: every include runs the preprocessor


def _search_dirs(argv, flags):
    """The directories the compiler searches for ``<...>`` headers (from ``-v``)."""
    proc = subprocess.run(argv + ["-E", "-v", *flags, "-x", "c", os.devnull], capture_output=True, text=True)
    dirs, inside = [], False
    for line in proc.stderr.splitlines():
        if line.startswith("#include <...> search starts here"):
            inside = True
        elif line.startswith("End of search list"):
            break
        elif inside:
            dirs.append(line.strip())
    return dirs
