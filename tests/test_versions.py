"""ferrotypes behaves as the running Python's own ctypes, whichever of 3.11, 3.12 and
3.13 it is: names, record formats, `_align_`, and the object-layout paths that are on
only where their layout is known."""

import ctypes as std
import ctypes.wintypes as std_wintypes
import os
import sys

import pytest

import ferrotypes as ft
import ferrotypes.wintypes as ft_wintypes
from ferrotypes import _ctypes

# Private helpers of the stdlib's ctypes/__init__.py that ferrotypes has no use for.
STDLIB_PRIVATE = {"_calcsize", "_cast", "_cast_addr", "_check_size", "_ctypes_version", "_dlopen", "_endian",
                  "_memmove_addr", "_memset_addr", "_string_at", "_string_at_addr", "_types", "_wstring_at",
                  "_wstring_at_addr"}


def test_every_name_of_this_versions_ctypes_exists():
    modules = {name for name in dir(std) if type(getattr(std, name)) is type(std)}  # ctypes.util, once imported
    missing = sorted(set(dir(std)) - set(dir(ft)) - STDLIB_PRIVATE - modules)
    assert missing == []


def test_time_t_as_this_version_has_it():
    assert hasattr(ft, "SIZEOF_TIME_T") == hasattr(std, "SIZEOF_TIME_T")
    if hasattr(std, "SIZEOF_TIME_T"):
        assert ft.SIZEOF_TIME_T == std.SIZEOF_TIME_T == ft.sizeof(ft.c_time_t)


def test_wintypes_byte_has_this_versions_signedness():
    assert ft_wintypes.BYTE(-1).value == std_wintypes.BYTE(-1).value


def _records(mod):
    class MidPad(mod.Structure):
        _fields_ = [("x", mod.c_byte), ("y", mod.c_uint)]

    class EndPad(mod.Structure):
        _fields_ = [("x", mod.c_uint), ("y", mod.c_byte)]

    class PackedMidPad(mod.Structure):
        _pack_ = 2
        _fields_ = [("x", mod.c_byte), ("y", mod.c_uint64)]

    class BigEndian(mod.BigEndianStructure):
        _fields_ = [("x", mod.c_int), ("y", mod.c_double)]

    class Bits(mod.Structure):
        _fields_ = [("x", mod.c_int, 3), ("y", mod.c_int, 5), ("z", mod.c_int)]

    class Either(mod.Union):
        _fields_ = [("x", mod.c_int), ("y", mod.c_double)]

    return [MidPad, EndPad, PackedMidPad, BigEndian, Bits, Either, MidPad * 2, mod.POINTER(EndPad)]


@pytest.mark.parametrize("index", range(8))
def test_buffer_formats_are_this_versions(index):
    ours, theirs = memoryview(_records(ft)[index]()), memoryview(_records(std)[index]())
    assert (ours.format, ours.shape, ours.itemsize) == (theirs.format, theirs.shape, theirs.itemsize)


def _aligned(mod, align, base_name="Structure"):
    base = getattr(mod, base_name)

    class Inner(base):
        _align_ = align
        _fields_ = [("a", mod.c_ubyte), ("b", mod.c_ubyte)]

    class Outer(mod.Structure):
        _fields_ = [("x", mod.c_ubyte), ("inner", Inner), ("z", mod.c_ubyte)]

    return (mod.sizeof(Inner), mod.alignment(Inner), mod.sizeof(Outer), mod.alignment(Outer),
            Outer.inner.offset, Outer.z.offset)


@pytest.mark.parametrize("align", [0, 1, 2, 4, 16])
@pytest.mark.parametrize("base", ["Structure", "Union", "BigEndianStructure"])
def test_align_is_honoured_where_this_version_honours_it(align, base):
    assert _aligned(ft, align, base) == _aligned(std, align, base)


def test_a_bad_align_is_refused_where_it_is_read():
    if sys.version_info >= (3, 13):
        for mod in (ft, std):
            with pytest.raises(ValueError, match="_align_ must be a non-negative integer"):
                _aligned(mod, -1)
    else:
        # Not read before 3.13: the layout is ctypes' own, as if _align_ were absent.
        assert _aligned(ft, -1) == _aligned(std, -1)


@pytest.mark.skipif(sys.version_info < (3, 13), reason="_align_ is read from 3.13 on")
def test_an_align_that_is_no_power_of_two_is_refused():
    """A documented difference: ctypes 3.13 lays out `_align_ = 3` (a size of 3, then
    fields at odd offsets), which no C compiler accepts; ferrotypes refuses it."""
    with pytest.raises(ValueError, match="_align_ must be a power of two"):
        _aligned(ft, 3)


def test_set_pointer_type_warns_where_this_version_deprecates_it():
    import warnings

    for mod in (ft, std):
        lp = mod.POINTER("cell_%s" % mod.__name__)

        class cell(mod.Structure):
            _fields_ = [("next", lp)]

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            mod.SetPointerType(lp, cell)
        assert any(issubclass(w.category, DeprecationWarning) for w in caught) == (sys.version_info >= (3, 13))
        mod._reset_cache()


def test_reset_cache_forgets_made_types_and_keeps_the_built_in_ones():
    made = ft.POINTER(ft.c_short)
    ft._reset_cache()
    assert ft.POINTER(ft.c_short) is not made
    assert ft.POINTER(None) is ft.c_void_p
    assert ft.POINTER(ft.c_char).from_param(b"abc") is not None


@pytest.mark.parametrize("kind, value", [("c_char", b"ab"), ("c_wchar", "ab"), ("c_wchar", 5), ("c_int", "x"),
                                         ("c_double", "x"), ("c_char_p", 1), ("c_wchar_p", b"x"), ("c_void_p", 1.5)])
def test_from_param_refusals_read_as_this_versions(kind, value):
    """3.11 says "wrong type", 3.12 too for the pointer types but gives a number's or
    character's own conversion error, 3.13 names the pointer type (every type and value:
    tests/test_refusals_as_ctypes.py)."""
    with pytest.raises(TypeError) as ours:
        getattr(ft, kind).from_param(value)
    with pytest.raises(TypeError) as theirs:
        getattr(std, kind).from_param(value)
    assert str(ours.value) == str(theirs.value)


def test_layout_paths_are_on_only_where_the_layout_is_known():
    portable = os.environ.get("FERROTYPES_PORTABLE", "") not in ("", "0")
    assert _ctypes._layout_paths() == (not portable and sys.version_info[:2] in {(3, 11), (3, 12), (3, 13)})


def test_structure_base_is_named_as_in_ctypes():
    assert ft.Structure.__base__.__name__ == std.Structure.__base__.__name__ == "_CData"


SUBCLASS_BODIES = {"_SimpleCData": {"_type_": "i"}, "Structure": {}, "Array": {"_type_": ft.c_int, "_length_": 2},
                   "_Pointer": {"_type_": ft.c_int}, "CFuncPtr": {"_flags_": ft._FUNCFLAG_CDECL}}


@pytest.mark.parametrize("name", sorted(SUBCLASS_BODIES))
def test_bases_and_metaclasses_take_no_new_attributes_as_in_ctypes(name):
    ours = getattr(_ctypes, name)
    for cls in (ours, type(ours)):
        with pytest.raises(TypeError, match="immutable type"):
            cls.new_attribute = 1
    sub = type(ours)("Sub", (ours,), dict(SUBCLASS_BODIES[name]))
    sub.new_attribute = 1  # their subclasses stay open, as in ctypes


def test_field_descriptors_cannot_be_made_or_changed_as_in_ctypes():
    class Point(ft.Structure):
        _fields_ = [("x", ft.c_int)]

    field_type = type(Point.x)
    with pytest.raises(TypeError, match="cannot create"):
        field_type()
    with pytest.raises(TypeError, match="immutable type"):
        field_type.new_attribute = 1
