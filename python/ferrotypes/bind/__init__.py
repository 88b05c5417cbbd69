"""Bindings from a header, written once and shipped: ``python -m ferrotypes.bind HEADER
-l LIB -o OUT.py`` (or ``generate``/``write_bindings``) reads the header as
``ferrotypes.include`` does and writes a module that needs no compiler and does no parsing
at run time (structures and unions with their ``_fields_``, enums, constants, functions
bound on first use), plus ``OUT.pyi`` for type checkers.

The module is written from the namespace's own classes, so every layout is the one
``include`` gives (the generator re-executes the module and compares before writing).
"""

from __future__ import annotations

import errno
import inspect
import keyword
import math
import os
import re
import tempfile
import types
import warnings

import ferrotypes as _ft
from ferrotypes import cdecl as _cdecl
from ferrotypes._verify import record_c_name

__all__ = ["Bindings", "generate", "write_bindings"]

# Names of the generated module itself; a C name equal to one gets a trailing "_".
_RESERVED = {
    "ctypes", "enum", "_ft_bind", "_ft_library", "_ft_declarations", "__getattr__", "__dir__",
    "__all__", "__name__", "__doc__", "__file__", "__spec__", "__loader__", "__package__",
    "__builtins__", "__path__", "__cached__", "__annotations__",
    # ... and of its .pyi
    "Any", "Callable", "TypeAlias", "TypeVar", "ReadableBuffer", "WriteableBuffer", "CArgObject",
    "_CFuncPtr", "_CDataBase", "_T", "_VoidPointer", "_CharPointer", "_PointerArg", "_ByteBuffer",
    "_ConstByteBuffer",
}
_SIMPLE = [
    "c_bool", "c_char", "c_byte", "c_ubyte", "c_short", "c_ushort", "c_int", "c_uint", "c_long",
    "c_ulong", "c_longlong", "c_ulonglong", "c_float", "c_double", "c_longdouble", "c_char_p",
    "c_void_p", "c_wchar", "c_wchar_p", "py_object", "c_float_complex", "c_double_complex",
    "c_longdouble_complex",
]
# The Python value of each simple type (a field read, a result).
_VALUE = {
    "c_bool": "bool", "c_char": "bytes", "c_wchar": "str", "c_char_p": "bytes | None",
    "c_wchar_p": "str | None", "c_void_p": "int | None", "py_object": "Any",
    "c_float": "float", "c_double": "float", "c_longdouble": "float",
    "c_float_complex": "complex", "c_double_complex": "complex", "c_longdouble_complex": "complex",
}
# What a parameter of each simple type accepts.
_PARAM = {
    "c_bool": "bool | int", "c_char": "bytes | int", "c_wchar": "str", "c_char_p": "_CharPointer",
    "c_wchar_p": "str | None", "c_void_p": "_VoidPointer", "py_object": "Any",
    "c_float": "float", "c_double": "float", "c_longdouble": "float",
    "c_float_complex": "complex", "c_double_complex": "complex", "c_longdouble_complex": "complex",
}
# What the .pyi calls the types parameters accept (_PointerArg[T]: a pointer to T).
_PYI_ALIASES = {
    "_VoidPointer": "int | bytes | _CDataBase | CArgObject | None",
    "_CharPointer": ("bytes | int | ctypes.c_char_p | ctypes.Array[ctypes.c_char] | "
                     "ctypes._Pointer[ctypes.c_char] | CArgObject | None"),
    "_PointerArg": "ctypes._Pointer[_T] | ctypes.Array[_T] | CArgObject | None",
    "_ByteBuffer": "ctypes._Pointer[Any] | ctypes.Array[Any] | CArgObject | WriteableBuffer | None",
    "_ConstByteBuffer": "ctypes._Pointer[Any] | ctypes.Array[Any] | CArgObject | ReadableBuffer | None",
}


class Bindings:
    """A generated binding: ``module`` (the ``.py`` text), ``stub`` (the ``.pyi`` text),
    ``skipped`` (``{name: reason}``), ``counts`` (what was bound, by kind) and
    ``records`` (``{class name in the module: C name}``, ``"struct tm"`` or a typedef
    name, for the records C can name) and ``renamed`` (``{C name: name in the module}``
    for C names Python cannot take as they are: keywords, ``raise`` → ``raise_``)."""

    def __init__(self, module, stub, skipped, counts, records, renamed):
        self.module, self.stub, self.skipped, self.counts = module, stub, skipped, counts
        self.records, self.renamed = records, renamed


class _Unrenderable(Exception):
    """A class the generated module cannot spell (the reason is the message)."""


def _library_spec(lib):
    """``-l`` arguments as what the module loads: sonames for names ``find_library``
    resolves (so that no compiler is needed at run time), paths as given."""
    if lib is None:
        return [], False
    libs = lib if isinstance(lib, (list, tuple)) else [lib]
    if any(one is _ft.pythonapi or one == "pythonapi" for one in libs):
        return [], True
    return [_cdecl._library_path(one) for one in libs], False


def generate(header, lib=None, *, include_dirs=(), defines=None, cc=None, command=None, progress=None):
    """The bindings of ``header`` (as ``ferrotypes.include`` reads it) for ``lib``: names
    (``"z"``, resolved now to the library's file name), paths, ``"pythonapi"``, a list
    of these, or ``None`` (the process). ``progress`` is called with a line of text
    at each stage."""
    say = progress or (lambda text: None)
    names, python_api = _library_spec(lib)
    libs = _ft.pythonapi if python_api else lib
    ns = _cdecl.include(header, libs, include_dirs=include_dirs, defines=defines, cc=cc)
    say(f"{header}: {len(ns._decls)} declarations, {len(ns._records)} records, "
        f"{len(ns._enums)} enums, {len(ns._macros)} macros")
    gen = _Generator(ns, header, names, python_api, command, say)
    bindings = gen.run()
    say(f"{header}: checking the module against include()")
    _check(ns, bindings.module, gen)
    return bindings


def write_bindings(path, bindings):
    """Writes ``bindings`` to ``path`` (``.py``) and its ``.pyi``: each to a temporary
    file in the same directory, renamed into place, so nothing is left half-written."""
    path = os.fspath(path)
    stub_path = os.path.splitext(path)[0] + ".pyi"
    directory = os.path.dirname(os.path.abspath(path))
    for target in (path, stub_path):
        if os.path.isdir(target):  # a rename onto it would fail after the other one's
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), target)
    written = []
    try:
        for target, text in ((path, bindings.module), (stub_path, bindings.stub)):
            fd, tmp = tempfile.mkstemp(dir=directory, prefix=".ferrotypes-bind-", suffix=".tmp")
            written.append((tmp, target))
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
        for tmp, target in written:
            os.replace(tmp, target)
    except OSError:
        for tmp, _ in written:
            if os.path.exists(tmp):
                os.unlink(tmp)
        raise
    return path, stub_path


# --- header comments as docstrings ---------------------------------------------------------


class _Comments:
    """The comment directly preceding a declaration in its header, as text."""

    def __init__(self):
        self._files = {}

    def _lines(self, path):
        if path not in self._files:
            try:
                with open(path, encoding="utf-8", errors="replace") as f:
                    self._files[path] = f.read().split("\n")
            except OSError:
                self._files[path] = []
        return self._files[path]

    def before(self, location):
        path, _, number = location.rpartition(":")
        if not number.isdigit():
            return None
        lines = self._lines(path)
        i = int(number) - 2
        # Up over the declaration's own earlier lines (a return type on its own line).
        while 0 <= i < len(lines) and lines[i].strip() and not _ends_something(lines[i]):
            i -= 1
        if not 0 <= i < len(lines):
            return None
        last = lines[i].strip()
        if last.endswith("*/"):
            j = i
            while j >= 0 and "/*" not in lines[j]:
                j -= 1
            if j < 0 or not lines[j].lstrip().startswith("/*"):
                return None  # the comment closes a line of code
            block = "\n".join(lines[j:i + 1]).strip()[2:-2]
            body = [re.sub(r"^\s*\*+", "", line) for line in block.split("\n")]
        elif last.startswith("//"):
            j = i
            while j - 1 >= 0 and lines[j - 1].strip().startswith("//"):
                j -= 1
            body = [re.sub(r"^\s*//+", "", line) for line in lines[j:i + 1]]
        else:
            return None
        text = inspect.cleandoc("\n".join(line.rstrip() for line in body).strip("*\n"))
        return text or None


def _ends_something(line):
    s = line.strip()
    return s.startswith(("#", "//")) or s.endswith((";", "}", "{", "*/"))


def _docstring(text, indent):
    body = text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    if body.endswith('"'):
        body += " "
    lines = body.split("\n")
    pad = " " * indent
    if len(lines) == 1:
        return f'{pad}"""{body}"""\n'
    return f'{pad}"""' + ("\n".join(lines[:1] + [(pad + line) if line else "" for line in lines[1:]])) + f'\n{pad}"""\n'


# --- the generator ---------------------------------------------------------------------------


class _Generator:
    def __init__(self, ns, header, lib_names, python_api, command, say):
        self.ns, self.header, self.lib_names, self.python_api = ns, header, lib_names, python_api
        self.command = command
        self.say = say
        self.comments = _Comments()
        self.skipped = {}
        self.renamed = {}
        self.simple = {getattr(_ft, n): n for n in reversed(_SIMPLE)}
        self.scalar_aliases = {}  # typedef name: (its simple class, the module's name)
        self.in_class = False
        self.taken = set()

    # -- names ------------------------------------------------------------------------

    def pyname(self, c_name):
        """The module's name for C identifier ``c_name`` (unique, not a keyword)."""
        name = c_name
        while keyword.iskeyword(name) or name in _RESERVED or name in self.taken:
            name += "_"
        if name != c_name:
            self.renamed[c_name] = name
        self.taken.add(name)
        return name

    # -- rendering classes as Python expressions ---------------------------------------

    def ref(self, name):
        """``name`` as written in the module; inside a class body (``self.in_class``) a
        name Python would mangle (``__off_t``) is read from the module's globals."""
        if self.in_class and _mangled(name):
            return f"globals()[{name!r}]"
        return name

    def expr(self, cls, deps, hint=None):
        """``cls`` as an expression of the module; ``deps`` collects ``(record class,
        needs its fields)`` for the records it names. ``hint``, the C type ``cls`` was
        made from, lets a typedef's name stand for the class it names (``Bytef``)."""
        if cls is None:
            return "None"
        while hint is not None and hint[0] == "aligned":
            hint = hint[1]
        if hint is not None and hint[0] == "named" and self.scalar_aliases.get(hint[1], (None,))[0] is cls:
            alias = self.scalar_aliases[hint[1]][1]
            if not (self.in_class and _mangled(alias)):  # else the class itself reads better
                return alias
        inner_hint = hint[1] if hint is not None and hint[0] in ("ptr", "array") else None
        if cls in self.record_names:
            deps.append((cls, True))
            return self.ref(self.record_names[cls])
        if cls in self.simple:
            return f"ctypes.{self.simple[cls]}"
        if cls in self.nonnull:
            base, message = self.nonnull[cls]
            return f"_ft_bind.nonnull({self.expr(base, deps, hint)}, {message!r})"
        if cls in self.buffers:
            pointee, const = self.buffers[cls]
            return f"_ft_bind.byte_buffer({self.expr(pointee, deps, inner_hint)}, const={const})"
        if cls in self.callbacks:
            return f"_ft_bind.callback({self.expr(self.callbacks[cls], deps)})"
        if isinstance(cls, type) and issubclass(cls, _ft._Pointer):
            inner = []
            text = self.expr(cls._type_, inner, inner_hint)
            deps.extend((c, False) for c, _ in inner)  # a pointer needs only the class
            return f"ctypes.POINTER({text})"
        if isinstance(cls, type) and issubclass(cls, _ft.Array):
            if cls._length_ == 0 and "_c_align_" in cls._type_.__dict__:  # cdecl's aligner past 16
                return f"_ft_bind.aligned({cls._type_._c_align_})"
            return f"{self.expr(cls._type_, deps, inner_hint)} * {cls._length_}"
        if isinstance(cls, type) and issubclass(cls, _ft._CFuncPtr) and hasattr(cls, "_argtypes_"):
            if cls._flags_ != _ft.CFUNCTYPE(None)._flags_:
                raise _Unrenderable(f"function pointer type with flags {cls._flags_}")
            args = [self.expr(cls._restype_, deps)] + [self.expr(a, deps) for a in cls._argtypes_]
            return f"ctypes.CFUNCTYPE({', '.join(args)})"
        if isinstance(cls, type) and cls in self.enum_names:
            return self.ref(self.enum_names[cls])
        raise _Unrenderable(f"no spelling for {cls!r}")

    # -- the .pyi's types --------------------------------------------------------------

    def instance(self, cls):
        """The annotation of an instance of ``cls``."""
        if cls is None:
            return "None"
        if cls in self.record_names:
            return self.record_names[cls]
        if cls in self.simple:
            return "ctypes.py_object[Any]" if cls is _ft.py_object else f"ctypes.{self.simple[cls]}"
        for table in (self.nonnull, self.buffers):
            if cls in table:
                return self.instance(cls.__mro__[1])
        if issubclass(cls, _ft._Pointer):
            return f"ctypes._Pointer[{self.instance(cls._type_)}]"
        if issubclass(cls, _ft.Array):
            return f"ctypes.Array[{self.instance(cls._type_)}]"
        return "_CFuncPtr"

    def value(self, cls):
        """The annotation of what reading a field (or a result) of type ``cls`` gives."""
        if cls is None:
            return "None"
        if cls in self.simple:
            return _VALUE.get(self.simple[cls], "int")
        if isinstance(cls, type) and issubclass(cls, _ft.Array) and cls._type_ in (_ft.c_char, _ft.c_wchar):
            return "bytes" if cls._type_ is _ft.c_char else "str"
        return self.instance(cls)

    def param(self, cls):
        """The annotation of what a parameter of type ``cls`` accepts."""
        if cls in self.simple:
            return _PARAM.get(self.simple[cls], "int")
        if cls in self.nonnull:
            # Without None: the alias's other members spelled out.
            accepted = self.param(self.nonnull[cls][0])
            alias, _, arg = accepted.partition("[")
            if alias in _PYI_ALIASES:
                text = _PYI_ALIASES[alias].replace("_T", arg[:-1]) if arg else _PYI_ALIASES[alias]
                return " | ".join(p for p in text.split(" | ") if p != "None")
            return accepted
        if cls in self.buffers:
            return "_ConstByteBuffer" if self.buffers[cls][1] else "_ByteBuffer"
        if cls in self.callbacks:
            return "_CFuncPtr | Callable[..., Any] | None"
        if issubclass(cls, _ft._Pointer):
            return f"_PointerArg[{self.instance(cls._type_)}]"
        return self.instance(cls)

    # -- the run ------------------------------------------------------------------------

    def run(self):
        ns = self.ns
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # deprecated functions, layouts already reported
            self.say(f"{self.header}: binding every name")
            self.skipped.update(ns.skipped)
            for i in range(len(ns._records)):
                try:
                    ns._record_class(i)
                except Exception as e:  # a record the namespace cannot complete either
                    self.skipped.setdefault(self._record_label(i), f"{type(e).__name__}: {e}")
            ns._finish_records()
            for i in range(len(ns._enums)):
                ns._enum_class(i)
        # The parameter classes cdecl made while binding, each known by what made it.
        self.nonnull = {cls: key for key, cls in _cdecl._nonnull_types.items()}
        self.buffers = {cls: key for key, cls in _cdecl._buffer_pointers.items()}
        self.callbacks = {cls: proto for proto, cls in _cdecl._callback_params.items()}
        self.values = {}
        for name in dir(ns):
            if name in self.skipped and not self.skipped[name].startswith("bound, but"):
                continue
            try:
                self.values[name] = getattr(ns, name)
            except Exception as e:
                self.skipped.setdefault(name, f"{type(e).__name__}: {e}")
        self._name_types()
        self.say(f"{self.header}: writing {len(self.values)} names, {len(self.record_names)} records")
        py, pyi = [], []
        self._enums(py, pyi)
        self._typedefs(py, pyi, scalars=True)
        self._records(py, pyi)
        self._typedefs(py, pyi, scalars=False)
        self._constants(py, pyi)
        self._forwarders(py, pyi)
        self._declarations(py, pyi)
        counts = {kind: len(v) for kind, v in self.done.items()}
        module = self._module_text(py)
        stub = self._stub_text(pyi)
        records = {}
        for cls, name in self.record_names.items():
            c_name = record_c_name(self.ns._records[self.record_index[cls]])
            if c_name is not None:
                records[name] = c_name
        return Bindings(module, stub, dict(sorted(self.skipped.items())), counts, dict(sorted(records.items())),
                        dict(sorted(self.renamed.items())))

    def _record_label(self, i):
        r = self.ns._records[i]
        return record_c_name(r) or f"anonymous {r['kind']} #{i}"

    def _name_types(self):
        ns = self.ns
        ordinary = set(ns._decls) | set(ns._constants) | set(ns._macros)
        self.taken = set()
        self.done = {"functions": [], "variables": [], "records": [], "enums": [], "typedefs": [],
                     "constants": [], "macros": []}
        self.record_names, self.enum_names, self.record_index = {}, {}, {}
        for i, r in enumerate(ns._records):
            cls = ns._record_classes.get(i)
            if cls is None:
                continue
            if cls in self.record_names:  # one class for several declarations of the record
                if r["fields"] is not None:
                    self.record_index[cls] = i
                continue
            self.record_index[cls] = i
            self.record_names[cls] = self._type_name(r["tag"], r["typedef_name"], r["kind"], i, cls, ordinary)
        for i, e in enumerate(ns._enums):
            cls = ns._enum_classes[i]
            self.enum_names[cls] = self._type_name(e["tag"], e["typedef_name"], "enum", i, cls, ordinary)
        # Functions and variables are named before the constants and forwarding macros
        # that come first in the module (a forwarder names the function it calls).
        self.decl_names = {name: self.pyname(name) for name, d in ns._decls.items()
                           if d["kind"] in ("function", "variable") and name in self.values}

    def _type_name(self, tag, typedef_name, kind, index, cls, ordinary):
        if tag is not None:
            # A tag is the class's name unless an ordinary identifier (other than a
            # typedef of this very type) has it: `struct stat` beside the function stat.
            clash = tag in ordinary and self.values.get(tag) is not cls
            return self.pyname(f"{kind}_{tag}" if clash else tag)
        if typedef_name is not None:
            return self.pyname(typedef_name)
        return self.pyname(f"_anonymous_{kind}_{index}")

    def _doc_of_typedef(self, name):
        d = self.ns._decls.get(name) if name else None
        return self.comments.before(d["location"]) if d else None

    def _enums(self, py, pyi):
        ns = self.ns
        for i, e in enumerate(ns._enums):
            cls = ns._enum_classes[i]
            name = self.enum_names[cls]
            doc = self._doc_of_typedef(e["typedef_name"])
            members = list(e["constants"])
            valid = all(m.isidentifier() and not keyword.iskeyword(m) and not _mangled(m) for m, _ in members)
            if valid:
                py.append(f"class {name}(_ft_bind.IntEnum):\n")
                if doc:
                    py.append(_docstring(doc, 4))
                py.extend(f"    {m} = {v}\n" for m, v in members)
                if not members and not doc:
                    py.append("    pass\n")
            else:
                py.append(f"{name} = _ft_bind.IntEnum({cls.__name__!r}, {members!r}, module=__name__)\n")
            py.append(f"{name}._ctype_ = {self.expr(cls._ctype_, [])}\n")
            pyi.append(f"class {name}(enum.IntEnum):\n")
            if doc:
                pyi.append(_docstring(doc, 4))
            pyi.extend(f"    {m} = {v}\n" for m, v in members if m.isidentifier() and not keyword.iskeyword(m))
            if not members and not doc:
                pyi.append("    pass\n")
            for m, _ in members:
                if self.values.get(m) is not None and m not in ns._decls:
                    const = self.pyname(m)
                    py.append(f"{const} = {name}.{m}\n" if valid else f"{const} = {name}[{m!r}]\n")
                    pyi.append(f"{const}: {name}\n")
                    self.done["constants"].append(m)
            py.append("\n\n")
            pyi.append("\n")
            self.done["enums"].append(name)

    def _records(self, py, pyi):
        ns = self.ns
        classes = list(self.record_names)
        fields, deps = {}, {}  # fields: {class: {in a class body?: entries}}
        for cls in classes:
            if "_fields_" not in cls.__dict__ or ns._records[self.record_index[cls]]["fields"] is None:
                continue  # incomplete (ferrotypes gives an incomplete record an empty _fields_)
            hints = {f[0]: f[1] for f in ns._records[self.record_index[cls]]["fields"] or () if f[0] is not None}
            fields[cls] = {}
            for self.in_class in (False, True):
                entries, d = [], []
                for f in cls._fields_:
                    try:
                        text = self.expr(f[1], d, hints.get(f[0]))
                    except _Unrenderable as e:
                        raise AssertionError(f"{cls.__name__}.{f[0]}: {e}") from None
                    entries.append(f"({f[0]!r}, {text}, {f[2]})" if len(f) == 3 else f"({f[0]!r}, {text})")
                fields[cls][self.in_class] = entries
            self.in_class = False
            deps[cls] = d
        declared, completed, visiting = set(), set(), set()

        def settings(cls, in_class):
            out = []
            if "_pack_" in cls.__dict__:
                out.append(("_pack_", repr(cls._pack_)))
            if "_c_align_" in cls.__dict__:  # packed and aligned: the record says its alignment
                out.append(("_c_align_", repr(cls._c_align_)))
            if "_anonymous_" in cls.__dict__:
                out.append(("_anonymous_", repr(list(cls._anonymous_))))
            if cls in fields:
                out.append(("_fields_", "[\n" + "".join(f"        {e},\n" for e in fields[cls][in_class]) + "    ]"))
            return out

        def declare(cls, whole=False):
            """The class statement: with its layout when ``whole``, else a forward
            declaration (a pointer to it comes before its fields)."""
            if cls in declared:
                return
            declared.add(cls)
            name = self.record_names[cls]
            base = "ctypes.Structure" if issubclass(cls, _ft.Structure) else "ctypes.Union"
            py.append(f"class {name}({base}):\n")
            doc = self._doc_of_typedef(ns._records[self.record_index[cls]]["typedef_name"])
            body = [_docstring(doc, 4)] if doc else []
            if whole or cls not in fields:
                body.extend(f"    {k} = {v}\n" for k, v in settings(cls, True))
            py.extend(body or ["    pass\n"])
            py.append("\n\n")
            self._record_stub(cls, name, doc, pyi)
            self.done["records"].append(name)

        def complete(cls):
            if cls in completed or cls in visiting or cls not in fields:
                return
            visiting.add(cls)
            for dep, needs_fields in deps[cls]:
                if needs_fields and dep is not cls:
                    complete(dep)
            for dep, needs_fields in deps[cls]:
                if not needs_fields or dep is cls:
                    declare(dep)
            if any("globals()[" in e for e in fields[cls][True]):
                declare(cls)  # its fields name `__x` types: written outside the class body
            if cls in declared:
                # Forward-declared: _pack_ and _anonymous_ must come before _fields_.
                name = self.record_names[cls]
                py.extend(f"{name}.{k} = {v.replace(chr(10) + '    ', chr(10))}\n" for k, v in settings(cls, False))
                py.append("\n\n")
            else:
                declare(cls, whole=True)
            visiting.discard(cls)
            completed.add(cls)

        for cls in classes:
            complete(cls)
            declare(cls)

    def _record_stub(self, cls, name, doc, pyi):
        base = "ctypes.Structure" if issubclass(cls, _ft.Structure) else "ctypes.Union"
        pyi.append(f"class {name}({base}):\n")
        if doc:
            pyi.append(_docstring(doc, 4))
        lines = []
        self._field_stubs(cls, lines, set())
        pyi.extend(lines or ["    pass\n"])
        pyi.append("\n")

    def _field_stubs(self, cls, lines, seen):
        anonymous = set(cls.__dict__.get("_anonymous_", ()))
        for f in cls.__dict__.get("_fields_", ()):
            fname, ftype = f[0], f[1]
            if re.fullmatch(r"_pad_\d+|_pad_end|_align_", fname):
                continue
            if fname in anonymous:
                self._field_stubs(ftype, lines, seen)  # its members are the record's own
            if fname in seen or not fname.isidentifier() or keyword.iskeyword(fname):
                continue
            seen.add(fname)
            lines.append(f"    {fname}: {'int' if len(f) == 3 else self.value(ftype)}\n")

    def _typedefs(self, py, pyi, scalars):
        """The typedefs naming simple types (``scalars``: before the records, whose
        fields use them), or the others (after the records)."""
        ns = self.ns
        for name, d in ns._decls.items():
            if d["kind"] != "typedef" or name not in self.values:
                continue
            value = self.values[name]
            if (value in self.simple) != scalars:
                continue
            own = self.record_names.get(value) or self.enum_names.get(value)
            if own == name:
                continue
            try:
                text = self.expr(value, [])
            except _Unrenderable as e:
                self.skipped[name] = str(e)
                continue
            alias = self.pyname(name)
            if scalars:
                self.scalar_aliases[name] = (value, alias)
            py.append(f"{alias} = {text}\n")
            if own is not None or value in self.simple:
                pyi.append(f"{alias} = {text}\n")
            else:
                pyi.append(f"{alias}: type[{self.instance(value)}]\n")
            self.done["typedefs"].append(name)
        py.append("\n")
        pyi.append("\n")

    def _constants(self, py, pyi):
        ns = self.ns
        self.forwarders = []
        for name in ns._macros:
            if name not in self.values:
                continue
            value = self.values[name]
            if isinstance(value, types.FunctionType):
                self.forwarders.append(name)
                continue
            if isinstance(value, _ft.c_void_p):
                text, annotation = f"ctypes.c_void_p({value.value or 0})", "ctypes.c_void_p"
            elif isinstance(value, int):
                text, annotation = repr(int(value)), "int"
            elif isinstance(value, float):
                text = repr(value) if math.isfinite(value) else f"float({repr(value)!r})"
                annotation = "float"
            elif isinstance(value, bytes):
                text, annotation = repr(value), "bytes"
            else:
                self.skipped[name] = f"a value of type {type(value).__name__}"
                continue
            const = self.pyname(name)
            py.append(f"{const} = {text}\n")
            pyi.append(f"{const}: {annotation}\n")
            self.done["macros"].append(name)
        py.append("\n")
        pyi.append("\n")

    def _forwarders(self, py, pyi):
        ns = self.ns
        for name in self.forwarders:
            _, function, args = ns._unit.eval_macro(name)
            if function not in self.values or ns._decls.get(function, {}).get("kind") != "function":
                self.skipped[name] = f"forwards to {function}, which is not bound"
                continue
            func, params = self.values[function], ns._decls[function]["type"][2]
            argtypes = func.argtypes or []
            names, types_, call = {}, {}, []
            for position, (kind, v) in enumerate(args):
                if kind == "param":
                    given = params[position][0] if position < len(params) else None
                    pname = given if given and given.isidentifier() and not keyword.iskeyword(given) else f"arg{v}"
                    if pname in names.values():
                        pname = f"arg{v}"
                    names[v] = pname
                    types_[v] = self.param(argtypes[position]) if position < len(argtypes) else "Any"
                    call.append(pname)
                else:
                    const = _cdecl._macro_value(v)
                    call.append(f"ctypes.c_void_p({const.value or 0})" if isinstance(const, _ft.c_void_p) else repr(const))
            order = [names[i] for i in sorted(names)]
            pyname = self.pyname(name)
            target = self.decl_names[function]
            py.append(f"def {pyname}({', '.join(order)}):\n")
            py.append(_docstring(f"The macro {name}, calling {function}.", 4))
            py.append(f"    return __getattr__({target!r})({', '.join(call)})\n\n\n")
            sig = ", ".join(f"{names[i]}: {types_[i]}" for i in sorted(names))
            pyi.append(f"def {pyname}({sig}{', /' if sig else ''}) -> {self.value(func.restype)}:\n")
            pyi.append(_docstring(f"The macro {name}, calling {function}.", 4))
            self.done["macros"].append(name)

    def _declarations(self, py, pyi):
        ns = self.ns
        body = []
        self.in_class = True  # the methods of _ft_declarations
        for name, pyname in self.decl_names.items():
            d, value = ns._decls[name], self.values[name]
            doc = self.comments.before(d["location"])
            symbol = d["asm_label"] or name
            deco = []
            if symbol != pyname:
                deco.append(f"    @_ft_bind.symbol({symbol!r})\n")
            if d["kind"] == "variable":
                deco.append("    @_ft_bind.variable\n")
                try:
                    returned = self.expr(type(value), [], d["type"])
                except _Unrenderable as e:
                    self.skipped[name] = str(e)
                    continue
                pyi.append(f"{pyname}: {self.instance(type(value))}\n")
                if doc:
                    pyi.append(_docstring(doc, 0))
                self.done["variables"].append(name)
            else:
                if d["deprecated"]:
                    message = f"{name} is declared deprecated ({d['location']})"
                    deco.append(f"    @_ft_bind.deprecated({message!r})\n")
                _, ret, params = d["type"][:3]
                try:
                    restype = self.expr(value.restype, [], ret)
                    argtypes = None if value.argtypes is None else [
                        self.expr(a, [], params[i][1] if i < len(params) else None) for i, a in enumerate(value.argtypes)]
                except _Unrenderable as e:
                    self.skipped[name] = str(e)
                    continue
                returned = f"{restype}, " + ("None" if argtypes is None else "[" + ", ".join(argtypes) + "]")
                pyi.append(self._function_stub(pyname, d, value, doc))
                self.done["functions"].append(name)
            body.extend(deco)
            body.append(f"    def {pyname}():\n")
            if doc:
                body.append(_docstring(doc, 8))
            body.append(f"        return {returned}\n\n")
        self.in_class = False
        py.append("class _ft_declarations:\n")
        py.append(_docstring("The functions and variables of the header: each method gives a function's\n"
                             "(restype, argtypes), or a variable's type; bound on first access.", 4))
        py.extend(body)
        py.append("\n")

    def _function_stub(self, pyname, d, func, doc):
        _, _, params, variadic, unspecified = d["type"]
        if func.argtypes is None:
            sig = "*args: Any"
        else:
            parts, seen = [], {"args"} if variadic else set()
            for i, argtype in enumerate(func.argtypes):
                given = params[i][0] if i < len(params) else None
                pname = given if given and given.isidentifier() and not keyword.iskeyword(given) and given not in seen else f"arg{i}"
                seen.add(pname)
                parts.append(f"{pname}: {self.param(argtype)}")
            if parts:
                parts.append("/")
            if variadic:
                parts.append("*args: Any")
            sig = ", ".join(parts)
        text = f"def {pyname}({sig}) -> {self.value(func.restype)}:"
        return text + ("\n" + _docstring(doc, 4) if doc else " ...\n")

    # -- the files ------------------------------------------------------------------------

    def _origin(self):
        if self.command:
            return self.command
        return f"ferrotypes.bind of {self.header}"

    def _module_text(self, py):
        libs = ("python_api=True" if self.python_api else repr(self.lib_names))
        exported = sorted(set(self.taken) - {n for n in self.taken if n.startswith("_anonymous_")})
        head = [
            f"# Generated by {self._origin()}. Do not edit: generate it again.\n",
            _docstring(f"Bindings for {self.header}, for ferrotypes (no compiler or header needed at\n"
                       "run time). Functions and variables are bound on first access.", 0),
            "\n",
            "import ferrotypes as ctypes\n",
            "from ferrotypes.bind import runtime as _ft_bind\n\n",
            f"_ft_library = _ft_bind.Library({libs})\n\n\n",
        ]
        tail = [
            "def __getattr__(name):\n",
            "    return _ft_library.bind(globals(), _ft_declarations, name)\n\n\n",
            "def __dir__():\n",
            "    return sorted(set(globals()) | set(_ft_bind.names(_ft_declarations)))\n\n\n",
            "__all__ = [\n" + "".join(f"    {n!r},\n" for n in exported) + "]\n",
        ]
        if self.skipped:
            tail.append("\n# Not bound, with the reason:\n")
            tail.extend(f"#   {name}: {_one_line(reason)}\n" for name, reason in sorted(self.skipped.items()))
        return "".join(head + py + tail)

    def _stub_text(self, pyi):
        head = [
            f"# Generated by {self._origin()}. Do not edit: generate it again.\n",
            "import enum\n",
            "from collections.abc import Callable\n",
            "from typing import Any, TypeAlias, TypeVar\n\n",
            "from _typeshed import ReadableBuffer, WriteableBuffer\n\n",
            "import ferrotypes as ctypes\n",
            "from ferrotypes._ctypes import CArgObject, CFuncPtr as _CFuncPtr, _CDataBase\n\n",
            '_T = TypeVar("_T", bound=_CDataBase)\n',
        ]
        for alias, text in _PYI_ALIASES.items():
            head.append(f"{alias}: TypeAlias = {text}\n")
        head.append("\n")
        return "".join(head + pyi)


def _mangled(name):
    """Whether Python mangles ``name`` inside a class body (``__x``, not ``__x__``)."""
    return name.startswith("__") and not name.endswith("__")


def _one_line(text):
    return " ".join(text.split())


def _check(ns, source, gen):
    """Executes the generated module and compares its records and constants with the
    namespace's: any difference is a bug of the generator."""
    module = types.ModuleType("_ferrotypes_bind_check")
    exec(compile(source, "<generated>", "exec"), module.__dict__)
    wrong = []
    for cls, name in gen.record_names.items():
        made = getattr(module, name)
        if "_fields_" not in cls.__dict__:
            continue
        if (_ft.sizeof(made), _ft.alignment(made)) != (_ft.sizeof(cls), _ft.alignment(cls)):
            wrong.append(f"{name}: size/alignment {(_ft.sizeof(made), _ft.alignment(made))}, include() "
                         f"{(_ft.sizeof(cls), _ft.alignment(cls))}")
        for f in cls._fields_:
            if getattr(made, f[0]).offset != getattr(cls, f[0]).offset:
                wrong.append(f"{name}.{f[0]}: offset differs from include()'s")
    for kind in ("constants", "macros"):
        for c_name in gen.done[kind]:
            value = gen.values[c_name]
            if isinstance(value, types.FunctionType):
                continue
            made = getattr(module, gen.renamed.get(c_name, c_name))
            same = (made.value == value.value) if isinstance(value, _ft.c_void_p) else (
                made == value or (made != made and value != value))
            if not same:
                wrong.append(f"{c_name}: {made!r}, include() {value!r}")
    if wrong:
        raise AssertionError("the generated module differs from include():\n" + "\n".join(wrong[:50]))


