"""ferrotypes.Arena: C data freed all at once, against real C (libc, the test library).

Every instance made in an arena, and every view read from one (fields, elements,
pointer targets), raises ValueError on any access once the arena is closed; closing is
refused with BufferError while a buffer view of the memory is open."""

import ctypes as std
import gc
import pickle
import threading
import tracemalloc

import numpy as np
import pytest

import ferrotypes as ft
import ferrotypes.numpy  # noqa: F401 (ft.numpy)

FREED = "the memory of this instance was freed: its arena was closed"


class Point(ft.Structure):
    _fields_ = [("x", ft.c_int), ("y", ft.c_int), ("z", ft.c_double)]


class Shape(ft.Structure):
    _fields_ = [("corner", Point), ("points", Point * 3), ("count", ft.c_int),
                ("target", ft.POINTER(ft.c_int)), ("name", ft.c_char * 8)]


@pytest.fixture
def libc(libc):
    return libc.ft


def test_new_makes_zeroed_instances_of_every_kind():
    with ft.Arena() as arena:
        assert arena.new(ft.c_int).value == 0
        assert arena.new(ft.c_double).value == 0.0
        assert list(arena.new(ft.c_int * 5)) == [0] * 5
        shape = arena.new(Shape)
        assert (shape.corner.x, shape.count, bool(shape.target), shape.name) == (0, 0, False, b"")
        assert type(shape) is Shape and ft.sizeof(shape) == ft.sizeof(Shape)
        assert shape._b_base_ is arena and not shape._b_needsfree_


def test_new_initialises_as_the_class_would():
    with ft.Arena() as arena:
        assert arena.new(ft.c_int, 42).value == 42
        assert arena.new(ft.c_char_p, b"abc").value == b"abc"
        assert list(arena.new(ft.c_double * 3, 1.5, 2.5)) == [1.5, 2.5, 0.0]
        p = arena.new(Point, 1, 2, 3.5)
        assert (p.x, p.y, p.z) == (1, 2, 3.5)
        kw = arena.new(Point, y=7)
        assert (kw.x, kw.y) == (0, 7)
        with pytest.raises(TypeError):
            arena.new(Point, 1, 2, 3.0, 4)  # too many initialisers: Point's own error
        with pytest.raises(IndexError):
            arena.new(ft.c_int * 2, 1, 2, 3)


def test_string_is_what_create_string_buffer_makes():
    with ft.Arena() as arena:
        for args in [(b"hello",), (b"",), (b"hi", 10), (b"abc", 3), (b"a\x00b",), (6,)]:
            made, expected = arena.string(*args), std.create_string_buffer(*args)
            assert type(made).__name__ == type(expected).__name__
            assert ft.sizeof(made) == std.sizeof(expected)
            assert made.raw == expected.raw and made.value == expected.value
        with pytest.raises(ValueError, match="too long"):
            arena.string(b"abcd", 3)
        with pytest.raises(TypeError, match="bytes"):
            arena.string("text")


def test_arena_memory_is_used_by_c(libc, fttest):
    snprintf = libc["snprintf"]
    with ft.Arena() as arena:
        text = arena.string(b"ferrotypes")
        assert libc.strlen(text) == 10  # without argtypes
        strlen = libc["strlen"]
        strlen.argtypes, strlen.restype = [ft.c_char_p], ft.c_size_t
        assert strlen(text) == 10
        out = arena.string(32)
        snprintf(out, 32, b"%d-%s", 7, text)
        assert out.value == b"7-ferrotypes"
        ints = arena.new(ft.c_int * 6, 5, 3, 6, 1, 4, 2)
        cmp = ft.CFUNCTYPE(ft.c_int, ft.POINTER(ft.c_int), ft.POINTER(ft.c_int))(lambda a, b: a[0] - b[0])
        qsort = libc["qsort"]
        qsort.restype = None
        qsort(ints, 6, ft.sizeof(ft.c_int), cmp)
        assert list(ints) == [1, 2, 3, 4, 5, 6]
        add = fttest.ft["ft_add_int"]
        add.argtypes, add.restype = [ft.c_int, ft.c_int], ft.c_int
        assert add(arena.new(ft.c_int, 40), 2) == 42


def _accesses(arena):
    """(name, access) pairs touching, after the arena closes, memory made before."""
    shape = arena.new(Shape)
    number, ints, text = arena.new(ft.c_int, 5), arena.new(ft.c_int * 4), arena.string(b"abc")
    pointer = arena.new(ft.POINTER(ft.c_int), number)
    corner, points, first = shape.corner, shape.points, shape.points[0]  # views made while open
    viewed = ft.c_int.from_buffer(ints, 4)  # a view too: it does not hold the arena open
    libc = ft.CDLL(None)
    typed_strlen = libc["strlen"]
    typed_strlen.argtypes = [ft.c_char_p]
    by_pointer = libc["memset"]
    by_pointer.argtypes = [ft.POINTER(Point), ft.c_int, ft.c_size_t]
    return [
        ("field get", lambda: shape.count), ("field set", lambda: setattr(shape, "count", 1)),
        ("char field", lambda: shape.name), ("record field", lambda: shape.corner),
        ("view field get", lambda: corner.x), ("view field set", lambda: setattr(corner, "x", 1)),
        ("view element", lambda: points[1]), ("element view field", lambda: first.z),
        ("value get", lambda: number.value), ("value set", lambda: setattr(number, "value", 3)),
        ("repr", lambda: repr(number)), ("bool", lambda: bool(number)),
        ("element get", lambda: ints[0]), ("element set", lambda: ints.__setitem__(0, 1)),
        ("slice", lambda: ints[0:2]), ("list", lambda: list(ints)), ("char slice", lambda: text[:2]),
        ("char value", lambda: text.value), ("char raw", lambda: text.raw),
        ("char raw set", lambda: setattr(text, "raw", b"x")),
        ("pointer value", lambda: bool(pointer)), ("pointer index", lambda: pointer[0]),
        ("pointer contents", lambda: pointer.contents),
        ("bytes", lambda: bytes(shape)), ("memoryview", lambda: memoryview(ints)),
        ("pickle", lambda: pickle.dumps(number)), ("addressof", lambda: ft.addressof(shape)),
        ("byref", lambda: ft.byref(shape)), ("pointer()", lambda: ft.pointer(number)),
        ("store as pointer target", lambda: setattr(ft.POINTER(ft.c_int)(), "contents", number)),
        ("copy into a record", lambda: setattr(arena_free_shape(), "corner", corner)),
        ("from_buffer", lambda: ft.c_int.from_buffer(number)), ("from_buffer view", lambda: viewed.value),
        ("from_buffer_copy", lambda: ft.c_int.from_buffer_copy(number)),
        ("numpy", lambda: np.frombuffer(ints, dtype=np.int32)),
        ("stdlib from_buffer", lambda: std.c_int.from_buffer(number)),
        ("cast", lambda: ft.cast(ints, ft.POINTER(ft.c_int))), ("string_at", lambda: ft.string_at(text)),
        ("memmove", lambda: ft.memmove(ints, b"abcd", 4)),
        ("untyped call", lambda: libc.strlen(text)), ("typed call", lambda: typed_strlen(text)),
        ("untyped by value", lambda: libc.abs(number)),
        ("pointer parameter", lambda: by_pointer(corner, 0, 1)),
        ("untyped byref", lambda: libc.strlen(ft.byref(text))),
    ]


def arena_free_shape():
    return Shape()


def test_every_access_after_close_is_a_value_error():
    arena = ft.Arena()
    accesses = _accesses(arena)
    for name, access in accesses:  # everything works while the arena is open
        access()
    gc.collect()
    arena.close()
    assert arena.closed
    for name, access in accesses:
        with pytest.raises((ValueError, ft.ArgumentError)) as info:
            access()
        assert FREED in str(info.value), name
        if isinstance(info.value, ft.ArgumentError):  # as ctypes wraps a conversion error
            assert "ValueError: " + FREED in str(info.value), name


def test_what_never_reads_the_memory_still_works_after_close():
    with ft.Arena() as arena:
        shape = arena.new(Shape)
    assert ft.sizeof(shape) == ft.sizeof(Shape) and type(shape) is Shape
    assert shape._b_base_ is arena and shape._objects is None
    with pytest.raises(ValueError, match="doesn't own it"):
        ft.resize(shape, 1000)


def test_closing_with_a_view_open_is_a_buffer_error_and_the_arena_stays_open():
    arena = ft.Arena()
    ints = arena.new(ft.c_int * 4, 1, 2, 3, 4)
    view = memoryview(ints)
    with pytest.raises(BufferError, match="1 buffer view"):
        arena.close()
    assert not arena.closed and list(ints) == [1, 2, 3, 4]
    view.release()
    arena.close()
    assert arena.closed


@pytest.mark.parametrize("make_view", [
    lambda x: np.frombuffer(x, dtype=np.int32),
    lambda x: np.ctypeslib.as_array(x),
    lambda x: ft.numpy.as_array(x),
    lambda x: memoryview(x)[1:],
    lambda x: memoryview(x.__class__.from_buffer(x)),
], ids=["frombuffer", "np.ctypeslib.as_array", "ft.numpy.as_array", "memoryview slice", "memoryview of from_buffer"])
def test_numpy_and_other_views_keep_the_arena_open(make_view):
    arena = ft.Arena()
    ints = arena.new(ft.c_int * 4, 1, 2, 3, 4)
    view = make_view(ints)
    with pytest.raises(BufferError):
        arena.close()
    assert list(ints) == [1, 2, 3, 4]
    del view
    gc.collect()
    arena.close()
    with pytest.raises(ValueError, match=FREED):
        ints[0]


def test_a_view_of_a_field_counts_too():
    with pytest.raises(BufferError):
        with ft.Arena() as arena:
            shape = arena.new(Shape)
            view = memoryview(shape.points)  # noqa: F841 (open while the block ends)
    assert not arena.closed
    del view
    arena.close()


def test_an_exception_in_the_block_closes_the_arena():
    with pytest.raises(KeyError):
        with ft.Arena() as arena:
            number = arena.new(ft.c_int, 1)
            raise KeyError("boom")
    assert arena.closed
    with pytest.raises(ValueError, match=FREED):
        number.value


def test_a_closed_arena_makes_nothing_more():
    arena = ft.Arena()
    arena.close()
    arena.close()  # a second close does nothing
    with pytest.raises(ValueError, match="closed arena"):
        arena.new(ft.c_int)
    with pytest.raises(ValueError, match="closed"):
        with arena:
            pass


def test_bad_types_are_type_errors():
    with ft.Arena() as arena:
        for bad in (5, int, "c_int", None, ft.Structure):
            with pytest.raises(TypeError):
                arena.new(bad)


def test_allocations_past_any_memory_are_memory_errors():
    with ft.Arena() as arena:
        with pytest.raises(MemoryError):
            arena.new(ft.c_char * 2**46)
        assert arena.new(ft.c_int, 3).value == 3  # the arena still works


def test_close_frees_the_memory():
    tracemalloc.start()
    try:
        arena = ft.Arena()
        before = tracemalloc.get_traced_memory()[0]
        made = [arena.new(ft.c_char * 10_000) for _ in range(100)]
        grown = tracemalloc.get_traced_memory()[0]
        assert grown - before >= 100 * 10_000
        arena.close()
        assert tracemalloc.get_traced_memory()[0] - before < 100 * 10_000 // 2
        assert len(made) == 100
    finally:
        tracemalloc.stop()


def test_an_instance_keeps_an_unclosed_arena_alive():
    number = ft.Arena().new(ft.c_int, 5)  # the arena itself is dropped at once
    gc.collect()
    assert number.value == 5
    assert isinstance(number._b_base_, ft.Arena) and not number._b_base_.closed


def test_stored_pointers_keep_their_targets_alive():
    with ft.Arena() as arena:
        shape = arena.new(Shape)
        shape.target = ft.pointer(ft.c_int(99))
        gc.collect()
        assert shape.target[0] == 99
        inner = arena.new(ft.c_int, 7)
        shape.target = ft.pointer(inner)
        assert shape.target.contents.value == 7


def test_close_from_another_thread():
    arena = ft.Arena()
    ints = arena.new(ft.c_int * 3, 1, 2, 3)
    closer = threading.Thread(target=arena.close)
    closer.start()
    closer.join()
    with pytest.raises(ValueError, match=FREED):
        ints[0]


def test_threads_reading_while_another_closes_get_values_or_value_errors():
    arena = ft.Arena()
    ints = arena.new(ft.c_int * 100, *range(100))
    outcomes = []

    def read():
        try:
            for _ in range(2000):
                assert sum(ints) == 4950
            outcomes.append("read")
        except ValueError as exc:
            outcomes.append(str(exc))

    readers = [threading.Thread(target=read) for _ in range(4)]
    for reader in readers:
        reader.start()
    arena.close()
    for reader in readers:
        reader.join()
    assert set(outcomes) <= {"read", FREED} and len(outcomes) == 4
