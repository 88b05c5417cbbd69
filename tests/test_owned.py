"""ferrotypes.owned and ferrotypes.release: memory whose destructor runs exactly once,
against real C (libc malloc/free and fopen/fclose, sqlite3)."""

import gc
import sys
import threading

import pytest

import ferrotypes as ft
from ferrotypes.util import find_library

RELEASED = "the memory of this instance was freed: it was released"


class Point(ft.Structure):
    _fields_ = [("x", ft.c_int), ("y", ft.c_int)]


class MallInfo2(ft.Structure):
    _fields_ = [(name, ft.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]


@pytest.fixture
def libc():
    libc = ft.CDLL(find_library("c"))
    libc.malloc.restype = ft.c_void_p
    libc.malloc.argtypes = [ft.c_size_t]
    libc.calloc.restype = ft.POINTER(Point)
    libc.free.argtypes = [ft.c_void_p]
    libc.free.restype = None
    libc.mallinfo2.restype = MallInfo2
    return libc


def in_use(libc):
    """Bytes malloc has handed out and not had back (glibc's own accounting)."""
    info = libc.mallinfo2()
    return info.uordblks + info.hblkhd


@pytest.fixture
def sqlite():
    lib = ft.CDLL(find_library("sqlite3"))
    lib.sqlite3_open.argtypes = [ft.c_char_p, ft.POINTER(ft.c_void_p)]
    lib.sqlite3_exec.argtypes = [ft.c_void_p, ft.c_char_p, ft.c_void_p, ft.c_void_p, ft.c_void_p]
    lib.sqlite3_close.argtypes = [ft.c_void_p]
    lib.sqlite3_memory_used.restype = ft.c_int64
    return lib


def open_database(sqlite):
    db = ft.c_void_p()
    assert sqlite.sqlite3_open(b":memory:", ft.byref(db)) == 0
    return db


def test_free_runs_at_release_and_the_memory_goes_back_to_malloc(libc):
    size = 8 << 20
    before = in_use(libc)
    block = ft.owned(ft.c_void_p(libc.malloc(size)), libc.free)
    assert type(block) is ft.c_void_p and block.value
    assert in_use(libc) - before >= size
    ft.memset(block, 0xAB, size)  # the memory is usable through the owned pointer
    assert ft.string_at(block, 4) == b"\xab" * 4
    ft.release(block)
    assert in_use(libc) - before < size
    ft.release(block)  # a second release does nothing (free is not called twice)
    with pytest.raises(ValueError, match=RELEASED):
        block.value


def test_free_runs_when_collected(libc):
    size = 8 << 20
    before = in_use(libc)
    block = ft.owned(ft.c_void_p(libc.malloc(size)), libc.free)
    assert in_use(libc) - before >= size
    del block
    gc.collect()
    assert in_use(libc) - before < size


def test_views_read_from_an_owned_pointer_are_released_with_it(libc):
    calls = []
    raw = libc.calloc(2, ft.sizeof(Point))
    points = ft.owned(raw, lambda p: (calls.append(p), libc.free(p)))
    assert type(points) is type(raw) and ft.cast(points, ft.c_void_p).value == ft.cast(raw, ft.c_void_p).value
    first, second = points.contents, points[1]
    first.x, second.y = 3, 4
    assert (points[0].x, points[1].y) == (3, 4)
    ft.release(points)
    assert calls == [raw]
    for access in (lambda: first.x, lambda: setattr(second, "y", 1), lambda: points[0], lambda: points.contents,
                   lambda: bool(points), lambda: points[0:1]):
        with pytest.raises(ValueError, match=RELEASED):
            access()


def test_a_view_keeps_the_owner_alive(libc):
    calls = []
    points = ft.owned(libc.calloc(1, ft.sizeof(Point)), lambda p: (calls.append(1), libc.free(p)))
    first = points.contents
    del points
    gc.collect()
    assert calls == [] and first.x == 0  # the view holds the memory
    del first
    gc.collect()
    assert calls == [1]


def test_fclose_flushes_the_file_at_release(libc, tmp_path):
    libc.fopen.restype = ft.c_void_p
    libc.fopen.argtypes = [ft.c_char_p, ft.c_char_p]
    libc.fputs.argtypes = [ft.c_char_p, ft.c_void_p]
    libc.fclose.argtypes = [ft.c_void_p]
    path = tmp_path / "out.txt"
    stream = ft.owned(ft.c_void_p(libc.fopen(bytes(path), b"w")), libc.fclose)
    assert libc.fputs(b"written through C\n", stream) >= 0
    assert path.read_bytes() == b""  # still in the FILE's buffer
    ft.release(stream)
    assert path.read_bytes() == b"written through C\n"
    with pytest.raises(ft.ArgumentError, match="argument 2: ValueError: " + RELEASED):
        libc.fputs(b"more", stream)


def test_fclose_runs_when_collected(libc, tmp_path):
    libc.fopen.restype = ft.c_void_p
    libc.fputs.argtypes = [ft.c_char_p, ft.c_void_p]
    path = tmp_path / "out.txt"
    stream = ft.owned(ft.c_void_p(libc.fopen(bytes(path), b"w")), libc.fclose)
    libc.fputs(b"bye", stream)
    del stream
    gc.collect()
    assert path.read_bytes() == b"bye"


def test_sqlite3_close_at_release(sqlite):
    before = sqlite.sqlite3_memory_used()
    db = ft.owned(open_database(sqlite), sqlite.sqlite3_close)
    assert sqlite.sqlite3_exec(db, b"create table t(x); insert into t values (1)", None, None, None) == 0
    assert sqlite.sqlite3_memory_used() > before
    ft.release(db)
    assert sqlite.sqlite3_memory_used() == before
    with pytest.raises(ft.ArgumentError, match="argument 1: ValueError: " + RELEASED):
        sqlite.sqlite3_exec(db, b"select 1", None, None, None)


def test_sqlite3_close_when_collected(sqlite):
    before = sqlite.sqlite3_memory_used()
    results = []
    db = ft.owned(open_database(sqlite), lambda handle: results.append(sqlite.sqlite3_close(handle)))
    sqlite.sqlite3_exec(db, b"create table t(x)", None, None, None)
    del db
    gc.collect()
    assert results == [0]  # SQLITE_OK, once
    assert sqlite.sqlite3_memory_used() == before


def test_the_destructor_gets_the_original_object():
    got = []
    original = (ft.c_int * 3)(1, 2, 3)
    made = ft.owned(original, got.append)
    assert type(made) is type(original) and list(made) == [1, 2, 3]
    made[0] = 10  # the same memory
    assert original[0] == 10
    ft.release(made)
    assert got == [original] and list(original) == [10, 2, 3]  # the original is not revoked


def test_a_foreign_callback_as_destructor_is_called_once():
    got = []
    destructor = ft.CFUNCTYPE(None, ft.c_void_p)(got.append)
    block = ft.owned(ft.c_void_p(1234), destructor)
    del block
    gc.collect()
    assert got == [1234]


def test_release_from_many_threads_calls_the_destructor_once():
    calls = []
    block = ft.owned(ft.c_void_p(42), lambda p: calls.append(p.value))
    barrier = threading.Barrier(8)
    errors = []

    def release():
        barrier.wait()
        try:
            ft.release(block)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=release) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert calls == [42] and errors == []
    del block
    gc.collect()
    assert calls == [42]


def test_release_in_another_thread_revokes_for_this_one():
    point = ft.owned(Point(1, 2), lambda p: None)
    thread = threading.Thread(target=ft.release, args=(point,))
    thread.start()
    thread.join()
    with pytest.raises(ValueError, match=RELEASED):
        point.x


def test_an_exception_from_the_destructor_is_raised_by_release():
    calls = []

    def destructor(p):
        calls.append(p)
        raise OSError("cannot close")

    block = ft.owned(ft.c_void_p(7), destructor)
    with pytest.raises(OSError, match="cannot close"):
        ft.release(block)
    ft.release(block)  # released all the same: not called again
    del block
    gc.collect()
    assert len(calls) == 1


def test_an_exception_from_the_destructor_at_collection_is_reported(monkeypatch):
    reported = []
    monkeypatch.setattr(sys, "unraisablehook", lambda args: reported.append(args.exc_value))

    def destructor(p):
        raise OSError("cannot close %d" % p.value)

    block = ft.owned(ft.c_void_p(7), destructor)
    del block
    gc.collect()
    assert len(reported) == 1 and isinstance(reported[0], OSError) and str(reported[0]) == "cannot close 7"


def test_a_destructor_in_a_reference_cycle_runs_once():
    calls = []

    class Holder:
        def destroy(self, pointer):
            calls.append((self, pointer.value))

    holder = Holder()
    holder.block = ft.owned(ft.c_void_p(9), holder.destroy)  # holder -> block -> owner -> holder
    del holder
    gc.collect()
    assert len(calls) == 1


def test_release_waits_for_buffer_views():
    calls = []
    data = ft.owned((ft.c_char * 8)(), calls.append)
    view = memoryview(data)
    with pytest.raises(BufferError, match="1 buffer view"):
        ft.release(data)
    assert calls == [] and data.raw == bytes(8)
    view.release()
    ft.release(data)
    assert len(calls) == 1


def test_misuse_is_named():
    with pytest.raises(TypeError, match="owned\\(\\) takes a ctypes instance .*got int"):
        ft.owned(5, lambda p: None)
    with pytest.raises(TypeError, match="destructor must be callable"):
        ft.owned(ft.c_void_p(1), 5)
    with ft.Arena() as arena:
        number = arena.new(ft.c_int)
        with pytest.raises(ValueError, match="already has one"):
            ft.owned(number, lambda p: None)
        with pytest.raises(TypeError, match="close the arena"):
            ft.release(number)
    with pytest.raises(ValueError, match="already has one"):
        ft.owned(ft.owned(ft.c_int(), lambda p: None), lambda p: None)
    for bad in (5, ft.c_int(), None):
        with pytest.raises(TypeError, match="release\\(\\) takes"):
            ft.release(bad)
    point = ft.owned(Point(), lambda p: None)
    with pytest.raises(TypeError, match="release\\(\\) takes"):
        ft.release(ft.pointer(point).contents)  # a view, not the owned instance
