"""What a module written by ``python -m ferrotypes.bind`` uses at run time: its libraries,
loaded on first use, the binding of a declared function or variable on first access (the
module's ``__getattr__``), and the parameter types a header gives that plain ctypes has
no class for (byte buffers, callables for function pointers, ``nonnull``), the same
classes ``ferrotypes.include`` uses.
"""

from __future__ import annotations

import warnings

import ferrotypes as _ft
from ferrotypes import cdecl as _cdecl

__all__ = ["IntEnum", "Library", "aligned", "byte_buffer", "callback", "deprecated", "names", "nonnull",
           "symbol", "variable"]

# The base of the enum classes: `enum.IntEnum` whose classes stand for their C integer
# type (`_ctype_`, set by the module) and give `E * n`, as `include`'s do.
IntEnum = _cdecl._CIntEnum


def aligned(align):
    """A zero-length member that gives its record alignment ``align`` and no bytes, for
    alignments past any C type's (``__attribute__((aligned(32)))``)."""
    return _cdecl._aligner(align)


def byte_buffer(pointee, const):
    """``POINTER(pointee)`` (a one-byte type) as a parameter type that also takes any
    byte buffer; read-only ones (``bytes``) only when ``const``."""
    return _cdecl._buffer_pointer(pointee, const)


def callback(prototype):
    """A ``CFUNCTYPE`` prototype as a parameter type that also takes a Python callable,
    made into a callback for the call."""
    return _cdecl._callback_parameter(prototype)


def nonnull(base, message):
    """Parameter type ``base`` refusing ``None`` with ``ValueError(message)``, for a
    parameter the header declares ``nonnull``."""
    return _cdecl._nonnull(base, message)


def symbol(name):
    """Decorates a declaration whose symbol in the library is ``name`` (an ``__asm__``
    label, or a C name that is a Python keyword)."""

    def mark(declaration):
        declaration.symbol = name
        return declaration

    return mark


def deprecated(message):
    """Decorates a function the header declares deprecated: binding it warns once."""

    def mark(declaration):
        declaration.deprecated = message
        return declaration

    return mark


def variable(declaration):
    """Decorates a declaration returning the type of a variable (not a signature)."""
    declaration.is_variable = True
    return declaration


class Library:
    """The libraries a generated module binds to, loaded (with ``RTLD_GLOBAL``, in order)
    on first use: ``names`` for ``CDLL``, none for the process itself, or
    ``python_api=True`` for ``ferrotypes.pythonapi`` (calls keep the GIL)."""

    def __init__(self, names=(), *, python_api=False):
        self.names = list(names)
        self.python_api = python_api
        self._loaded = None

    def libraries(self):
        if self._loaded is None:
            if self.python_api:
                self._loaded = [_ft.pythonapi]
            elif self.names:
                self._loaded = [_ft.CDLL(name, mode=_ft.RTLD_GLOBAL) for name in self.names]
            else:
                self._loaded = [_ft.CDLL(None)]
        return self._loaded

    def bind(self, module_globals, declarations, name):
        """The module attribute ``name``: a function or variable of ``declarations`` (a
        class whose methods return a signature or a variable's type), bound and stored in
        ``module_globals`` so that the next access is a plain attribute."""
        try:
            return module_globals[name]
        except KeyError:
            pass
        declaration = declarations.__dict__.get(_in_class(declarations, name))
        if declaration is None or not callable(declaration):
            raise AttributeError(f"module {module_globals['__name__']!r} has no attribute {name!r}")
        symbol_name = getattr(declaration, "symbol", name)
        if getattr(declaration, "is_variable", False):
            value = self._find(name, symbol_name, lambda lib: declaration().in_dll(lib, symbol_name))
        else:
            restype, argtypes = declaration()
            value = self._find(name, symbol_name, lambda lib: lib[symbol_name])
            value.restype = restype
            if argtypes is not None:
                value.argtypes = argtypes
            value.__name__ = name
            value.__doc__ = declaration.__doc__
            message = getattr(declaration, "deprecated", None)
            if message is not None:
                warnings.warn(message, DeprecationWarning, stacklevel=3)
        module_globals[name] = value
        return value

    def _find(self, name, symbol_name, get):
        for lib in self.libraries():
            try:
                return get(lib)
            except (AttributeError, ValueError):
                continue
        searched = ", ".join(repr(lib._name) for lib in self.libraries())
        raise AttributeError(f"{name}: symbol {symbol_name!r} is declared but not exported by any of the "
                             f"libraries searched: {searched}")


def _in_class(declarations, name):
    """The key of ``name`` in the class ``declarations``: Python mangles ``__x``
    defined in a class body to ``_Class__x``."""
    if name.startswith("__") and not name.endswith("__"):
        return f"_{declarations.__name__.lstrip('_')}{name}"
    return name


def names(declarations):
    """The names ``declarations`` declares (for the module's ``__dir__``)."""
    prefix = f"_{declarations.__name__.lstrip('_')}__"
    return [n[len(prefix) - 2:] if n.startswith(prefix) else n for n, v in declarations.__dict__.items()
            if callable(v) and not (n.startswith("__") and n.endswith("__"))]
