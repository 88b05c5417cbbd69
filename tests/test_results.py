"""What a foreign call returns: the restype attribute (a simple type, a subclass of one,
None, any callable, a type with ``_check_retval_``), strings, and ``py_object``
results taken as new references.

``fttest`` (tests/conftest.py) is the C test library (tests/clib/fttest.c) loaded by
both implementations; ``fttest.func(name, restype, argtypes)`` gives a freshly
configured function object of each.
"""

import ctypes as std_ctypes
import gc
import re
import weakref

import pytest

import ferrotypes
from calltools import IDENTITY
from difftools import outcome, same_value


# --------------------------------------------------------------------------
# restype
# --------------------------------------------------------------------------

def test_restype_defaults_to_c_int(fttest, ft):
    assert fttest.ft["ft_f0"].restype is ft.c_int
    assert fttest.ft["ft_f0"].argtypes is None
    assert fttest.ft["ft_f0"]() == 42


def test_restype_none_returns_none(fttest):
    ftf, stdf = fttest.func("ft_bump_counter", None)
    assert ftf() is None
    assert stdf() is None


def test_restype_callable_receives_the_int_result(fttest):
    ftf, stdf = fttest.func("ft_id_int", lambda m: hex)
    assert ftf(255) == stdf(255) == "0xff"
    seen = []
    ftf.restype = lambda value: seen.append(value) or "done"
    assert ftf(-7) == "done"
    assert seen == [-7]


def test_restype_subclass_is_returned_as_an_instance(fttest, ft):
    # A subclass of a simple type is not converted to a Python value.
    class Handle(ft.c_int):
        pass

    f = fttest.ft["ft_id_int"]
    f.restype = Handle
    result = f(5)
    assert type(result) is Handle
    assert result.value == 5
    assert re.fullmatch(r"<Handle object at 0x[0-9a-f]+>", repr(result))


@pytest.mark.parametrize("name", ["c_char_p", "c_void_p", "c_double", "c_short"])
def test_restype_subclass_of_each_kind_matches_ctypes(fttest, name):
    suffix, _ = IDENTITY[name]
    value = {"c_char_p": b"abc", "c_void_p": 1234, "c_double": 2.5, "c_short": -3}[name]
    ftsub = type("Sub", (getattr(ferrotypes, name),), {})
    stdsub = type("Sub", (getattr(std_ctypes, name),), {})
    ftf, stdf = fttest.func("ft_id_" + suffix, lambda m: ftsub if m is ferrotypes else stdsub, [name])
    got, expected = ftf(value), stdf(value)
    assert type(got) is ftsub and type(expected) is stdsub
    assert got.value == expected.value == value


def test_restype_check_retval_is_applied(fttest, ft):
    class Checked(ft.c_int):
        @staticmethod
        def _check_retval_(result):
            return ("checked", result.value)

    f = fttest.ft["ft_id_int"]
    f.restype = Checked
    assert f(3) == ("checked", 3)


def _checked_int(m, how):
    """A c_int subclass whose _check_retval_ is found as ``how`` says."""
    class Tagging:
        def __call__(self, result):
            return ("object", result.value)

    if how == "metaclass":
        class Meta(type(m.c_int)):
            def _check_retval_(cls, result):
                return ("metaclass", cls.__name__, result.value)

        class Checked(m.c_int, metaclass=Meta):
            pass
        return Checked
    if how == "metaclass_and_class":
        class Meta(type(m.c_int)):
            _check_retval_ = staticmethod(lambda result: ("metaclass", result.value))

        class Checked(m.c_int, metaclass=Meta):
            _check_retval_ = staticmethod(lambda result: ("class", result.value))
        return Checked
    namespace = {
        "classmethod": {"_check_retval_": classmethod(lambda cls, result: ("classmethod", cls.__name__, result.value))},
        "callable_object": {"_check_retval_": Tagging()},
        "inherited": {},
    }[how]
    base = m.c_int
    if how == "inherited":
        base = type("Base", (m.c_int,), {"_check_retval_": staticmethod(lambda result: ("base", result.value))})
    return type("Checked", (base,), namespace)


@pytest.mark.parametrize("how", ["classmethod", "callable_object", "inherited", "metaclass", "metaclass_and_class"])
def test_restype_check_retval_is_found_as_ctypes_finds_it(fttest, how):
    ftf, stdf = fttest.func("ft_id_int", lambda m: _checked_int(m, how), ["c_int"])
    assert ftf(7) == stdf(7)


def test_restype_byte_swapped_returns_a_plain_int_like_ctypes(fttest):
    # ctypes treats the byte-swapped simple types like the others as restype:
    # the result is converted to an int (the bytes read in the other order).
    ftf, stdf = fttest.func("ft_id_int", lambda m: m.c_int.__ctype_be__, ["c_int"])
    assert same_value(ftf(1), stdf(1))


def test_restype_strings(fttest):
    ftf, stdf = fttest.func("ft_static_string", "c_char_p")
    assert ftf() == stdf() == b"ferrotypes"
    ftf, stdf = fttest.func("ft_static_wstring", "c_wchar_p")
    assert ftf() == stdf() == "ferrotypes \u00e9\u4e2d"


@pytest.mark.parametrize("value", [5, "c_int", object()], ids=repr)
def test_restype_must_be_a_type_a_callable_or_none(fttest, value):
    ftf, stdf = fttest.ft["ft_f0"], fttest.std["ft_f0"]
    assert outcome(lambda: setattr(ftf, "restype", value)) == \
        outcome(lambda: setattr(stdf, "restype", value)) == ("raises", "TypeError")
    assert ftf() == 42  # the previous restype is still in force


# --------------------------------------------------------------------------
# py_object results
# --------------------------------------------------------------------------

def test_py_object_result_is_a_new_reference(ft, std):
    # As in ctypes, a py_object result is taken as a new reference: the caller
    # owns it, nothing leaks.
    class Thing:
        pass

    for module in (ft, std):
        f = module.PyDLL(None).PyObject_CallObject
        f.argtypes = [module.py_object, module.c_void_p]
        f.restype = module.py_object
        result = f(Thing, None)
        assert type(result) is Thing
        ref = weakref.ref(result)
        del result
        module.sizeof(module.c_int)  # any call into the extension
        gc.collect()
        assert ref() is None, module.__name__
