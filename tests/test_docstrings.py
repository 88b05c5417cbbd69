"""Every public name of ferrotypes has a docstring (the API reference in docs/ is made
from them, with the stubs' types)."""

import inspect

import pytest

import ferrotypes
import ferrotypes.util


def _public(module):
    names = getattr(module, "__all__", None) or [n for n in dir(module) if not n.startswith("_")]
    for name in names:
        obj = getattr(module, name)
        if inspect.isclass(obj) or inspect.isfunction(obj) or inspect.isbuiltin(obj):
            yield f"{module.__name__}.{name}", obj


def _own_doc(obj):
    return obj.__dict__.get("__doc__") if inspect.isclass(obj) else obj.__doc__


MODULES = [ferrotypes, ferrotypes.util]
try:
    import ferrotypes.numpy
except ImportError:  # numpy is optional
    pass
else:
    MODULES.append(ferrotypes.numpy)


@pytest.mark.parametrize("name, obj", [pair for module in MODULES for pair in _public(module)],
                         ids=lambda value: value if isinstance(value, str) else "")
def test_public_name_has_a_docstring(name, obj):
    assert (_own_doc(obj) or "").strip(), f"{name} has no docstring"


@pytest.mark.parametrize("cls", [ferrotypes.CDLL, ferrotypes.LibraryLoader])
def test_public_methods_have_docstrings(cls):
    for name, member in vars(cls).items():
        if inspect.isfunction(member) and (not name.startswith("_") or name in ("__getattr__", "__getitem__")):
            assert member.__doc__, f"{cls.__name__}.{name} has no docstring"
