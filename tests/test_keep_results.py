"""Callbacks returning pointers: ``CFUNCTYPE(POINTER(T) | c_void_p | c_char_p, ...,
keep_results=True)``. C gets the address of what the Python function returns, and the
object is kept alive as long as the callback object lives (``ferrotypes.release`` lets
go). Without ``keep_results`` a pointer result type stays refused, as in ctypes."""

import ctypes as std
import gc
import sys
import weakref

import numpy as np
import pytest

import ferrotypes as ft

Allocator = ft.CFUNCTYPE(ft.c_void_p, ft.c_size_t, keep_results=True)


@pytest.fixture
def use_allocator(fttest):
    """ftcb_use_allocator(alloc, n): C asks the allocator for n bytes and fills them
    with 1, 2, ..., n; returns -1 when it gets NULL."""
    f = fttest.ft["ftcb_use_allocator"]
    f.argtypes = [Allocator, ft.c_size_t]
    return f


def test_numpy_memory_handed_to_c_by_an_allocator_callback(use_allocator):
    made = []

    def allocate(n):
        array = np.zeros(n, dtype=np.uint8)
        made.append(weakref.ref(array))
        return array  # no other reference: the callback keeps it

    allocator = Allocator(allocate)
    assert use_allocator(allocator, 6) == 0
    gc.collect()
    array = made[0]()
    assert array is not None and array.tolist() == [1, 2, 3, 4, 5, 6]
    del array
    assert ft.release(allocator) is None
    gc.collect()
    assert made[0]() is None  # let go


def test_results_are_kept_until_the_callback_is_collected(use_allocator):
    class Buffer(bytearray):  # a bytearray that weak references can follow
        pass

    made = []

    def allocate(n):
        buffer = Buffer(n)
        made.append(weakref.ref(buffer))
        return buffer

    allocator = Allocator(allocate)
    for n in (3, 5, 7):
        assert use_allocator(allocator, n) == 0
    gc.collect()
    assert [bytes(ref()) for ref in made] == [bytes(range(1, n + 1)) for n in (3, 5, 7)]
    with pytest.raises(BufferError):
        made[0]().extend(b"x")  # kept memory cannot move under C
    del allocator
    gc.collect()
    assert all(ref() is None for ref in made)


@pytest.mark.parametrize("make", [
    lambda n: (ft.c_ubyte * n)(),
    lambda n: ft.create_string_buffer(n),
    lambda n: (std.c_ubyte * n)(),
    lambda n: np.zeros(n, dtype=np.uint8),
    lambda n: np.zeros((2, n), dtype=np.uint8)[0],  # a contiguous row of a larger array
    lambda n: bytearray(n),
    lambda n: memoryview(bytearray(n)),
], ids=["ferrotypes array", "string buffer", "stdlib array", "numpy", "numpy row", "bytearray", "memoryview"])
def test_every_kind_of_memory_reaches_c(use_allocator, make):
    made = []
    allocator = Allocator(lambda n: made.append(make(n)) or made[-1])
    assert use_allocator(allocator, 4) == 0
    assert bytes(memoryview(made[0]).cast("B")) == b"\x01\x02\x03\x04"


def test_pointers_give_the_address_they_hold_and_keep_their_target():
    Ints = ft.c_int * 3
    proto = ft.CFUNCTYPE(ft.POINTER(ft.c_int), keep_results=True)
    for make in (lambda: Ints(7, 8, 9), lambda: ft.cast(Ints(7, 8, 9), ft.POINTER(ft.c_int)),
                 lambda: (std.c_int * 3)(7, 8, 9), lambda: std.cast((std.c_int * 3)(7, 8, 9), std.POINTER(std.c_int))):
        callback = proto(make)
        result = callback()  # a call through the C trampoline
        gc.collect()
        assert [result[i] for i in range(3)] == [7, 8, 9]
        ft.release(callback)


def test_strings_for_char_pointer_results():
    names = ft.CFUNCTYPE(ft.c_char_p, ft.c_int, keep_results=True)(lambda i: b"name-%d" % i)
    assert [names(i) for i in range(3)] == [b"name-0", b"name-1", b"name-2"]
    wide = ft.CFUNCTYPE(ft.c_wchar_p, keep_results=True)(lambda: "wide ✓")
    assert wide() == "wide ✓"


def test_addresses_and_none_pass_as_they_are():
    proto = ft.CFUNCTYPE(ft.c_void_p, ft.c_void_p, keep_results=True)
    same = proto(lambda p: p)
    assert same(1234) == 1234 and same(None) is None
    assert ft.release(same) is None


def test_without_keep_results_pointer_results_stay_refused_as_in_ctypes():
    for module in (ft, std):
        with pytest.raises(TypeError):
            module.CFUNCTYPE(module.POINTER(module.c_int))(lambda: None)


def test_keep_results_needs_a_pointer_result_type():
    for restype in (ft.c_int, ft.c_double, None, ft.c_char, ft.CFUNCTYPE(None)):
        with pytest.raises(TypeError, match="keep_results=True is for pointer result types"):
            ft.CFUNCTYPE(restype, keep_results=True)


def test_keep_results_prototypes_are_classes_of_their_own():
    assert ft.CFUNCTYPE(ft.c_void_p, keep_results=True) is not ft.CFUNCTYPE(ft.c_void_p)
    assert ft.CFUNCTYPE(ft.c_void_p, keep_results=True) is ft.CFUNCTYPE(ft.c_void_p, keep_results=True)


def test_unconvertible_results_are_reported_and_c_gets_null(use_allocator, monkeypatch):
    reported = []
    monkeypatch.setattr(sys, "unraisablehook", lambda args: reported.append(args.exc_value))
    for bad, message in [(b"read-only", "read-only"), ("text", "must return a pointer"),
                         (np.zeros((4, 4), dtype=np.uint8)[:, 0], "not C-contiguous"), (bytearray(), "empty")]:
        allocator = Allocator(lambda n, bad=bad: bad)
        assert use_allocator(allocator, 4) == -1
        assert message in str(reported[-1])


def test_propagate_raises_the_conversion_error_from_the_call(fttest):
    Propagating = ft.CFUNCTYPE(ft.c_void_p, ft.c_size_t, keep_results=True, propagate=True)
    f = fttest.ft["ftcb_use_allocator"]
    f.argtypes = [Propagating, ft.c_size_t]
    with pytest.raises(TypeError, match="read-only"):
        f(Propagating(lambda n: b"abc"), 3)


def test_arena_and_owned_memory_is_refused(use_allocator, monkeypatch):
    reported = []
    monkeypatch.setattr(sys, "unraisablehook", lambda args: reported.append(args.exc_value))
    with ft.Arena() as arena:
        allocator = Allocator(lambda n: arena.new(ft.c_ubyte * n))
        assert use_allocator(allocator, 4) == -1
    assert "cannot keep memory that an Arena or owned() frees" in str(reported[-1])


def test_error_result_is_an_address(monkeypatch):
    monkeypatch.setattr(sys, "unraisablehook", lambda args: None)
    proto = ft.CFUNCTYPE(ft.c_void_p, keep_results=True, error_result=1234)
    assert proto(lambda: 1 / 0)() == 1234
    with pytest.raises(TypeError):
        ft.CFUNCTYPE(ft.POINTER(ft.c_int), keep_results=True, error_result=b"bytes")


def test_a_result_referring_to_its_callback_is_collected():
    class Buffer(bytearray):
        pass

    holder = Buffer(8)
    allocator = Allocator(lambda n: holder)
    holder.callback = allocator  # result -> callback -> result
    assert allocator(8)
    tracked = weakref.ref(holder)
    del holder, allocator
    gc.collect()
    assert tracked() is None


def test_release_of_other_objects_is_a_type_error():
    plain = ft.CFUNCTYPE(ft.c_int)(lambda: 0)
    with pytest.raises(TypeError, match="keeps none"):
        ft.release(plain)
    with pytest.raises(TypeError, match="release\\(\\) takes"):
        ft.release(ft.CDLL(None).strlen)
