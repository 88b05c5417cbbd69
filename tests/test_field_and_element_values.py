"""Reading and storing numbers in record fields, array elements and through pointers,
and making instances from plain numbers, give exactly what stdlib ctypes gives: every
numeric type, in both byte orders, the errors, values that keep objects alive, and
methods a class overrides in Python.

These operations go through fast paths in front of PyO3's slots, which hand every
case they do not handle to the general paths; the tests cover both sides."""

import ctypes
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ferrotypes

# These tests free, reuse and call memory in ways that could crash the interpreter.
pytestmark = pytest.mark.isolated

NUMERIC = ["c_bool", "c_byte", "c_ubyte", "c_short", "c_ushort", "c_int", "c_uint", "c_long",
           "c_ulong", "c_longlong", "c_ulonglong", "c_float", "c_double"]
BASES = ["Structure", "BigEndianStructure", "LittleEndianStructure"]

numbers = st.one_of(st.integers(min_value=-(2**70), max_value=2**70),
                    st.floats(allow_nan=False, width=64))


def record(m, base, type_name):
    class R(getattr(m, base)):
        _fields_ = [("pad", m.c_char), ("v", getattr(m, type_name))]
    return R


def outcome(action):
    try:
        return ("ok", action())
    except Exception as exc:  # the type is what must agree
        return ("error", type(exc))


@settings(max_examples=300, deadline=None)
@given(base=st.sampled_from(BASES), type_name=st.sampled_from(NUMERIC), value=numbers)
def test_field_store_and_read_match_ctypes(base, type_name, value):
    results = []
    for m in (ctypes, ferrotypes):
        def store_and_read():
            r = record(m, base, type_name)()  # ctypes refuses c_bool in big-endian records
            r.v = value
            return r.v
        results.append(outcome(store_and_read))
    assert results[0] == results[1]


@settings(max_examples=200, deadline=None)
@given(type_name=st.sampled_from(NUMERIC), value=numbers, index=st.integers(min_value=-6, max_value=6))
def test_element_store_and_read_match_ctypes(type_name, value, index):
    results = []
    for m in (ctypes, ferrotypes):
        a = (getattr(m, type_name) * 4)()

        def store_and_read():
            a[index] = value
            return a[index], list(a)
        results.append(outcome(store_and_read))
    assert results[0] == results[1]


@settings(max_examples=200, deadline=None)
@given(type_name=st.sampled_from(NUMERIC + ["c_char", "c_wchar", "c_void_p"]),
       swapped=st.booleans(), start=st.integers(min_value=0, max_value=3),
       index=st.one_of(st.integers(min_value=-3, max_value=3), st.just(2**70)))
def test_pointer_element_read_matches_ctypes(type_name, swapped, start, index):
    results = []
    for m in (ctypes, ferrotypes):
        element = getattr(m, type_name)
        if swapped and type_name not in ("c_bool", "c_char", "c_wchar", "c_void_p"):
            element = element.__ctype_be__
        values = (m.c_ubyte * 128)(*range(3, 131))  # the bytes every element is read from
        pointer = m.cast(m.byref(values, 24 + start * m.sizeof(element)), m.POINTER(element))
        results.append(outcome(lambda: pointer[index]))
    assert results[0] == results[1]


@settings(max_examples=200, deadline=None)
@given(type_name=st.sampled_from(NUMERIC), swapped=st.booleans(), value=numbers,
       index=st.integers(min_value=-3, max_value=3))
def test_pointer_element_store_matches_ctypes(type_name, swapped, value, index):
    results = []
    for m in (ctypes, ferrotypes):
        element = getattr(m, type_name)
        if swapped and type_name != "c_bool":
            element = element.__ctype_be__
        values = (m.c_ubyte * 128)()  # every element is stored into these bytes
        pointer = m.cast(m.byref(values, 48), m.POINTER(element))

        def store_and_read():
            pointer[index] = value
            return pointer[index], bytes(values)
        results.append(outcome(store_and_read))
    assert results[0] == results[1]


def test_pointer_stores_that_take_the_general_path():
    chars = ferrotypes.pointer(ferrotypes.c_char(b"a"))
    chars[0] = b"z"
    assert chars[0] == b"z"
    with pytest.raises(TypeError, match="item deletion"):
        del chars[0]
    null = ferrotypes.POINTER(ferrotypes.c_int)()
    with pytest.raises(ValueError, match="NULL pointer access"):
        null[0] = 1
    target = ferrotypes.c_int(0)
    p = ferrotypes.pointer(target)
    p[0] = ferrotypes.c_int(9)  # an instance, not a number
    assert target.value == 9


def _pointer_deletions_and_store_indices(m):
    """What deleting through a pointer and storing at a non-integer index do, in ``m``:
    the exceptions with their messages, which agree on every version."""
    def said(action):
        try:
            return ("ok", action())
        except Exception as exc:  # noqa: BLE001 (the exception is the outcome)
            return (type(exc).__name__, str(exc))
    p, null = m.pointer(m.c_int(1)), m.POINTER(m.c_int)()

    class Index:
        def __index__(self):
            return 0
    out = []
    for target in (p, null):
        def delete_contents():
            del target.contents
        out.append(said(delete_contents))
    out.append(said(lambda: setattr(p, "contents", None)))
    for key in (0, Index(), False, 2**70, slice(0, 1), "a", 1.5, None):  # only p[0] exists
        def delete_item():
            del p[key]

        def store_item():
            p[key] = 5
        out += [said(delete_item), said(store_item)]
    out.append(p[0])
    return out


def test_pointer_deletions_and_store_indices_as_in_ctypes():
    # ctypes stores through a pointer as a sequence: a non-integer index is CPython's
    # TypeError, an integer one is read before deletion is refused.
    assert _pointer_deletions_and_store_indices(ferrotypes) == _pointer_deletions_and_store_indices(ctypes)


def test_pointer_reads_that_take_the_general_path():
    null = ferrotypes.POINTER(ferrotypes.c_int)()
    with pytest.raises(ValueError, match="NULL pointer access"):
        null[0]
    with pytest.raises(TypeError):
        ferrotypes.pointer(ferrotypes.c_int(1))["0"]
    p = ferrotypes.pointer(ferrotypes.c_int(7))
    assert p[True] is not None and p[0:1] == [7]

    class Indexed(ferrotypes.POINTER(ferrotypes.c_short)):
        _type_ = ferrotypes.c_short

        def __getitem__(self, index):
            return ("own", super().__getitem__(index))
    assert Indexed(ferrotypes.c_short(4))[0] == ("own", 4)


@settings(max_examples=200, deadline=None)
@given(type_name=st.sampled_from(NUMERIC), value=numbers)
def test_simple_constructor_matches_ctypes(type_name, value):
    results = [outcome(lambda m=m: getattr(m, type_name)(value).value) for m in (ctypes, ferrotypes)]
    assert results[0] == results[1]


@settings(max_examples=100, deadline=None)
@given(values=st.lists(numbers, max_size=4))
def test_record_constructor_matches_ctypes(values):
    results = []
    for m in (ctypes, ferrotypes):
        class P(m.Structure):
            _fields_ = [("x", m.c_int), ("y", m.c_short), ("z", m.c_double)]
        results.append(outcome(lambda P=P: (lambda p: (p.x, p.y, p.z))(P(*values))))
    assert results[0] == results[1]


def test_errors_from_the_general_paths():
    class P(ferrotypes.Structure):
        _fields_ = [("x", ferrotypes.c_int), ("s", ferrotypes.c_char_p)]
    p = P()
    with pytest.raises(TypeError, match="field 'x'"):
        p.x = "text"
    with pytest.raises(TypeError, match="too many initializers"):
        P(1, b"a", 3)
    a = (ferrotypes.c_int * 3)()
    with pytest.raises(IndexError):
        a[3]
    with pytest.raises(IndexError):
        a[-4] = 1
    with pytest.raises(TypeError):
        a[0] = "text"
    with pytest.raises(TypeError):
        ferrotypes.c_int("text")


def test_values_that_keep_objects_alive_take_the_general_path():
    class P(ferrotypes.Structure):
        _fields_ = [("x", ferrotypes.c_int), ("s", ferrotypes.c_char_p)]
    text = b"kept"
    p = P(5, text)
    assert (p.x, p.s) == (5, text)
    assert p._objects == {"1": text}
    arr = (ferrotypes.c_char_p * 2)(b"a", b"b")
    assert arr[1] == b"b"


def test_python_overrides_are_kept():
    # (zero-argument super() in a simple subclass fails in stdlib ctypes 3.11)
    class Doubled(ferrotypes.c_int):
        def __init__(self, value):
            super().__init__(value * 2)

    class Shifted(ferrotypes.c_int * 3):
        def __getitem__(self, index):
            return super().__getitem__(index) + 100

        def __setitem__(self, index, value):
            super().__setitem__(index, value - 1)

    class Named(ferrotypes.Structure):
        _fields_ = [("x", ferrotypes.c_int)]

        def __init__(self, x):
            super().__init__(x + 1)

    assert Doubled(4).value == 8
    s = Shifted()
    s[0] = 5
    assert s[0] == 104
    assert Named(1).x == 2


def test_subclasses_of_fast_classes_are_fast_and_right():
    class Point(ferrotypes.Structure):
        _fields_ = [("x", ferrotypes.c_int), ("y", ferrotypes.c_int)]

    class Point3(Point):
        _fields_ = [("z", ferrotypes.c_int)]

    p = Point3(1, 2, 3)
    assert (p.x, p.y, p.z) == (1, 2, 3)
    # A descriptor of one class applied to a foreign object still checks it.
    with pytest.raises(TypeError):
        Point.__dict__["x"].__get__(object(), Point)
    small = ferrotypes.c_byte()
    with pytest.raises(TypeError):
        Point3.__dict__["z"].__get__(small, Point3)


def test_resized_and_borrowed_instances():
    class P(ferrotypes.Structure):
        _fields_ = [("x", ferrotypes.c_int), ("y", ferrotypes.c_int)]
    p = P(1, 2)
    ferrotypes.resize(p, 64)
    assert (p.x, p.y) == (1, 2)
    view = P.from_address(ferrotypes.addressof(p))
    view.y = 7
    assert p.y == 7
    assert sys.getrefcount(view) >= 2
