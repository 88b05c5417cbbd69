"""``from ferrotypes import *`` gives exactly the names ``from ctypes import *`` gives on
the running Python version, so code written for ctypes sees no new names; ferrotypes'
own additions are reached as ``ferrotypes.X``."""

import subprocess
import sys
import textwrap

import ferrotypes

OWN_ADDITIONS = {"Arena", "owned", "release", "cdef", "include", "CDeclError", "CNamespace", "VerifyError"}


def star_names(module):
    """The names a star-import of ``module`` binds, in a fresh interpreter (a module
    imported earlier, ``ctypes.util`` say, would otherwise be one of ctypes' globals)."""
    code = textwrap.dedent(f"""
        namespace = {{}}
        exec("from {module} import *", namespace)
        print("\\n".join(sorted(set(namespace) - {{"__builtins__"}})))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd="/")
    return set(out.stdout.split())


def test_star_import_gives_ctypes_names_exactly():
    expected = star_names("ctypes")
    assert star_names("ferrotypes") == expected
    assert set(ferrotypes.__all__) == expected
    assert len(ferrotypes.__all__) == len(set(ferrotypes.__all__))


def test_every_name_of_all_exists():
    missing = [name for name in ferrotypes.__all__ if not hasattr(ferrotypes, name)]
    assert missing == []


def test_own_additions_are_module_attributes_only():
    assert OWN_ADDITIONS.isdisjoint(ferrotypes.__all__)
    assert all(hasattr(ferrotypes, name) for name in OWN_ADDITIONS)
    namespace = {}
    exec("from ferrotypes import *", namespace)
    assert OWN_ADDITIONS.isdisjoint(namespace)
    assert "cdecl" not in namespace and "util" not in namespace  # submodules are not ctypes' names
