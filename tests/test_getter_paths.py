"""The frameless getters of bench/sweep.py's reading rows, against stdlib ctypes:
`.value` of every simple type (native numbers and `char *` boxed at once, everything
else on the general path), `value` of `c_char` arrays (a NUL in the first eight bytes
found without a call), and the buffer export of `bytes(x)`/`memoryview(x)` (common
exports filled and released without the general path) — for subclasses, the other
byte order, memory that is borrowed or may be taken back, and the errors."""

import ctypes

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ferrotypes
from difftools import SIMPLE_CODES, result_or_error


def variants(m, code):
    """The class of `code`, a subclass of it, and both byte orders (where ctypes has them)."""
    cls = getattr(m, code)
    found = [cls, type("Sub", (cls,), {})]
    for order in ("__ctype_be__", "__ctype_le__"):
        other = getattr(cls, order, None)
        if other is not None:
            found += [other, type("SubOrder", (other,), {})]
    return found


@settings(max_examples=300, deadline=None)
@given(code=st.sampled_from(SIMPLE_CODES), raw=st.binary(min_size=16, max_size=16))
def test_value_of_every_simple_type_in_either_order_and_subclass_matches_ctypes(code, raw):
    if code in ("c_char_p", "c_wchar_p", "c_void_p"):
        raw = bytes(16)  # an address: read only NULL (None), never dereference garbage
    results = []
    for m in (ctypes, ferrotypes):
        row = []
        for cls in variants(m, code):
            # over borrowed memory (from_buffer) as well as an instance's own
            store = bytearray(raw)
            view = cls.from_buffer(store)
            own = cls.from_buffer_copy(raw)
            row.append((result_or_error(lambda: repr(view.value)), result_or_error(lambda: repr(own.value))))  # repr: NaN equals itself
        results.append(row)
    assert results[0] == results[1]


@pytest.mark.parametrize("text", [b"", b"a", b"abc", b"abcdefg", b"abcdefgh", b"abcdefghij" * 3])
def test_string_pointer_values_read_as_in_ctypes(text):
    for m in (ctypes, ferrotypes):
        class Sub(m.c_char_p):
            pass
        assert m.c_char_p(text).value == text
        assert Sub(text).value == text
        assert m.c_char_p().value is None
        assert Sub().value is None


def test_the_value_of_abstract_and_freed_instances_is_refused():
    arena = ferrotypes.Arena()
    with arena:
        x = arena.new(ferrotypes.c_int)
        x.value = 3
        assert x.value == 3  # memory that may be taken back: the general path
    with pytest.raises(ValueError):
        x.value
    for m in (ctypes, ferrotypes):
        with pytest.raises(TypeError, match="abstract class"):
            m._SimpleCData().value


@settings(max_examples=300, deadline=None)
@given(size=st.integers(1, 20), nul=st.integers(0, 21), filler=st.sampled_from([b"a", b"\x01", b"\x80", b"\xff"]))
def test_char_array_value_ends_at_the_first_nul_as_in_ctypes(size, nul, filler):
    data = bytearray(filler * size)
    if nul < size:
        data[nul] = 0
    if nul + 2 < size:
        data[nul + 2] = 0  # a second NUL after the first changes nothing
    results = []
    for m in (ctypes, ferrotypes):
        cls = m.c_char * size
        sub = type("Sub", (cls,), {})
        made = [cls.from_buffer_copy(data), sub.from_buffer_copy(data), cls.from_buffer(bytearray(data))]
        results.append([(x.value, x.raw) for x in made])
    assert results[0] == results[1]


def test_char_array_value_of_memory_taken_back_is_refused():
    arena = ferrotypes.Arena()
    with arena:
        buf = arena.new(ferrotypes.c_char * 12)
        buf.value = b"abc"
        assert buf.value == b"abc"
        buf.value = b"abcdefghijk"
        assert buf.value == b"abcdefghijk"
    with pytest.raises(ValueError):
        buf.value


def exported(m):
    """What memoryview and bytes give for instances of every family, and subclasses."""
    class Point(m.Structure):
        _fields_ = [("x", m.c_int), ("y", m.c_int), ("z", m.c_double)]

    class SubPoint(Point):
        pass

    class Swapped(m.BigEndianStructure):
        _fields_ = [("a", m.c_short), ("b", m.c_uint)]

    class Pair(m.Union):
        _fields_ = [("i", m.c_int), ("d", m.c_double)]

    made = [m.c_int(5), m.c_double(1.5), m.c_int.__ctype_be__(3), type("Sub", (m.c_int,), {})(7),
            Point(1, 2, 3.0), SubPoint(4, 5, 6.0), Swapped(1, 2), Pair(5), (m.c_int * 3)(1, 2, 3),
            ((m.c_short * 2) * 2)(), m.create_string_buffer(b"abc", 8), m.pointer(m.c_int(1)),
            (m.POINTER(m.c_int) * 2)(), m.c_char_p(b"x")]
    rows = []
    for x in made:
        for _ in range(2):  # the second export reuses the class's layout
            with memoryview(x) as view:
                rows.append((view.format, view.shape, view.itemsize, view.readonly, view.nbytes, view.ndim))
        data = bytes(x)
        rows.append(len(data) if isinstance(x, (m.c_char_p, m._Pointer)) or type(x).__name__.startswith("LP_") else data)
    return rows


def test_exports_of_every_family_match_ctypes():
    assert exported(ctypes) == exported(ferrotypes)


def test_released_views_let_an_instance_resize_and_open_ones_do_not():
    buf = ferrotypes.create_string_buffer(8)
    views = [memoryview(buf), memoryview(buf)]
    with pytest.raises(BufferError):
        ferrotypes.resize(buf, 32)
    views[0].release()
    with pytest.raises(BufferError):
        ferrotypes.resize(buf, 32)
    views[1].release()
    bytes(buf)  # an export opened and released at once
    ferrotypes.resize(buf, 32)
    assert ferrotypes.sizeof(buf) == 32
    assert len(bytes(buf)) == 32


def test_an_open_view_keeps_an_arenas_memory_and_a_released_one_does_not():
    arena = ferrotypes.Arena()
    arena.__enter__()
    x = arena.new(ferrotypes.c_int)
    view = memoryview(x)
    with pytest.raises(BufferError):
        arena.__exit__(None, None, None)
    view.release()
    arena.__exit__(None, None, None)
    with pytest.raises(ValueError):
        memoryview(x)
    with pytest.raises(ValueError):
        bytes(x)
