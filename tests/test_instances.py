"""Instances made without a Python-level call (crates/ferrotypes-python/src/instances.rs):
the families' tp_new, the views ferrotypes makes (pointer contents, record fields,
callback arguments). They must behave as any Python object of their class — attributes,
weak references, garbage collection — and as stdlib ctypes' instances do."""

import ctypes
import gc
import sys
import weakref

import pytest

import ferrotypes
from ferrotypes import _ctypes

# These tests free, reuse and call memory in ways that could crash the interpreter.
pytestmark = pytest.mark.isolated


def make_all(m):
    """One instance of each family, as the user makes them."""
    class Point(m.Structure):
        _fields_ = [("x", m.c_int), ("y", m.c_int), ("z", m.c_double)]

    class Both(m.Union):
        _fields_ = [("i", m.c_int), ("d", m.c_double)]

    return {
        "simple": m.c_int(5),
        "double": m.c_double(2.5),
        "string": m.c_char_p(b"abc"),
        "record": Point(1, 2, 3.0),
        "union": Both(7),
        "array": (m.c_int * 4)(1, 2, 3, 4),
        "buffer": m.create_string_buffer(64),
        "pointer": m.pointer(m.c_int(9)),
        "function": m.CFUNCTYPE(m.c_int, m.c_int)(lambda x: x),
    }


def test_every_family_is_allocated_directly():
    make_all(ferrotypes)  # one instance of each family measures its layout
    view = ferrotypes.CFUNCTYPE(None).from_buffer(bytearray(8))  # a function pointer view
    assert view is not None
    assert dict(_ctypes._allocated_here()) == {
        "simple": True, "array": True, "pointer": True, "record": True, "function": True,
    }


@pytest.mark.parametrize("name", sorted(make_all(ctypes)))
def test_instances_take_attributes_and_weak_references(name):
    obj = make_all(ferrotypes)[name]
    obj.note = name
    assert obj.note == name and obj.__dict__ == {"note": name}
    ref = weakref.ref(obj)
    assert ref() is obj
    obj.me = obj  # a cycle through the instance's __dict__
    del obj
    gc.collect()
    assert ref() is None


# Function pointers are left out: they carry their prepared call and are larger.
@pytest.mark.parametrize("name", sorted(set(make_all(ctypes)) - {"function"}))
def test_instance_sizes_are_no_larger_than_ctypes(name):
    ours, theirs = make_all(ferrotypes)[name], make_all(ctypes)[name]
    assert sys.getsizeof(ours) <= sys.getsizeof(theirs)


@pytest.mark.parametrize("m", [ctypes, ferrotypes], ids=["ctypes", "ferrotypes"])
def test_views_do_not_run_a_user_defined_new(m):
    calls = []

    class Counted(m.Structure):
        _fields_ = [("v", m.c_int)]

        def __new__(cls, *args):
            calls.append(args)
            return super().__new__(cls)

    class Outer(m.Structure):
        _fields_ = [("inner", Counted)]

    made = Counted(3)
    outer = Outer()
    views = [outer.inner, m.pointer(made).contents, Counted.from_buffer(bytearray(4)),
             Counted.from_address(m.addressof(made))]
    assert calls == [(3,)]
    assert [type(v) for v in views] == [Counted] * 4
    assert views[1].v == 3 and views[3].v == 3


@pytest.mark.parametrize("m", [ctypes, ferrotypes], ids=["ctypes", "ferrotypes"])
def test_abstract_and_foreign_classes_are_refused(m):
    for make in (m.Structure, m.Union, m.Array, m._SimpleCData):
        with pytest.raises(TypeError, match="abstract class"):
            make()
    with pytest.raises(TypeError, match="is not a subtype of"):
        m.Structure.__new__(m.c_int)
    assert type(m.c_int.__new__(m.c_int)) is m.c_int
    assert m.c_int.__new__(m.c_int).value == 0


def test_callback_arguments_outlive_the_call_with_their_own_copy(fttest_path):
    """Pointer and record arguments are new instances holding a copy of the C
    argument; kept past the call they stay valid and independent."""
    m = ferrotypes
    lib = m.CDLL(str(fttest_path))
    proto = m.CFUNCTYPE(m.c_int, m.POINTER(m.c_int), m.POINTER(m.c_int))
    fn = lib.ftcb_qsort_ints
    fn.argtypes = [m.c_void_p, m.c_void_p, m.c_size_t, proto]
    data = [5, 3, 9, 1, 7, 2, 8]
    src, work = (m.c_int * len(data))(*data), (m.c_int * len(data))()
    kept = []

    def compare(a, b):
        a.note = "seen"
        kept.append((a, b))
        return a[0] - b[0]

    fn(src, work, len(data), proto(compare))
    assert list(work) == sorted(data)
    gc.collect()
    assert kept and all(type(a) is m.POINTER(m.c_int) and a.note == "seen" for a, _ in kept)
    assert len({id(a) for a, _ in kept}) == len(kept)  # one new instance per call
    assert all(isinstance(a[0], int) for a, b in kept)


# Deallocation: the families' Python classes free plain instances themselves
# (instances.rs, dealloc_slot) and hand the rest to CPython's subtype_dealloc. Each
# case below runs through both libraries and must behave the same.

def _point_class(m):
    class Point(m.Structure):
        _fields_ = [("x", m.c_int), ("y", m.c_int), ("z", m.c_double)]
    return Point


@pytest.mark.parametrize("m", [ctypes, ferrotypes], ids=["ctypes", "ferrotypes"])
def test_del_runs_once_per_instance_also_when_added_later(m):
    Point = _point_class(m)
    finalised = []
    a, b = Point(1, 2, 3.0), Point(4, 5, 6.0)
    del a  # no __del__ yet
    Point.__del__ = lambda self: finalised.append(self.x)
    del b
    c = Point(7, 8, 9.0)
    del c
    assert finalised == [4, 7]


@pytest.mark.parametrize("m", [ctypes, ferrotypes], ids=["ctypes", "ferrotypes"])
def test_an_instance_resurrected_by_del_stays_valid_and_is_finalised_once(m):
    Point = _point_class(m)
    saved, finalised = [], []

    def finalise(self):
        finalised.append(self.y)
        saved.append(self)

    Point.__del__ = finalise
    p = Point(1, 2, 3.0)
    ref = weakref.ref(p)
    del p
    assert finalised == [2] and ref() is saved[0]
    assert (saved[0].x, saved[0].y, saved[0].z) == (1, 2, 3.0)
    saved.clear()
    assert finalised == [2] and ref() is None


@pytest.mark.parametrize("m", [ctypes, ferrotypes], ids=["ctypes", "ferrotypes"])
def test_subclasses_with_slots_release_their_slots_weak_references_and_dict(m):
    Point = _point_class(m)

    class Slotted(Point):
        __slots__ = ("extra",)

    class Deeper(Slotted):
        pass

    for cls in (Slotted, Deeper):
        sentinel = m.c_int(1)  # weakly referenceable in both libraries
        held, in_dict = weakref.ref(sentinel), m.c_int(2)
        in_dict_ref = weakref.ref(in_dict)
        obj = cls(1, 2, 3.0)
        obj.extra, obj.other = sentinel, in_dict
        del sentinel, in_dict
        callbacks = []
        ref = weakref.ref(obj, callbacks.append)
        del obj  # by reference counting alone, no collection
        assert ref() is None and callbacks == [ref]
        assert held() is None and in_dict_ref() is None


@pytest.mark.parametrize("m", [ctypes, ferrotypes], ids=["ctypes", "ferrotypes"])
def test_instances_release_their_class_and_what_they_keep_alive(m):
    Point = _point_class(m)
    IntPointer = m.POINTER(m.c_int)
    before = sys.getrefcount(Point), sys.getrefcount(IntPointer)
    for _ in range(1000):
        Point(1, 2, 3.0)
        p = Point(1, 2, 3.0)
        p.note = "attribute"
        target = m.c_int(3)
        kept = weakref.ref(target)
        pointer = IntPointer(target)
        del target, pointer
        assert kept() is None
    del p
    assert (sys.getrefcount(Point), sys.getrefcount(IntPointer)) == before


def test_owned_memory_is_returned():
    import tracemalloc
    tracemalloc.start()
    try:
        for _ in range(2):  # the first round fills caches
            start = tracemalloc.get_traced_memory()[0]
            for _ in range(20_000):
                ferrotypes.create_string_buffer(64)
                (ferrotypes.c_int * 100)()
                ferrotypes.c_int(5)
        assert tracemalloc.get_traced_memory()[0] - start < 20_000
    finally:
        tracemalloc.stop()


def _sized_classes(m):
    """Classes of many sizes and alignments, around the limits where ferrotypes puts
    an instance's bytes in the object itself or in a separate block."""
    classes = [m.c_char * n for n in (0, 1, 7, 8, 9, 15, 16, 17, 64, 100, 383, 384, 385, 399, 400, 401, 432, 433, 512, 4000)]
    classes += [m.c_int * 100, m.c_double * 3, m.c_longdouble, m.c_longdouble * 3]

    class Wide(m.Structure):
        _fields_ = [("tail", m.c_char), ("ld", m.c_longdouble), ("text", m.c_char * 20)]

    class Slotted(Wide):
        __slots__ = ("a", "b", "c")

    class Packed(m.Structure):
        _pack_ = 1
        _fields_ = [("c", m.c_char), ("i", m.c_int), ("text", m.c_char * 30)]

    return classes + [Wide, Slotted, Packed]


@pytest.mark.parametrize("m", [ctypes, ferrotypes], ids=["ctypes", "ferrotypes"])
def test_memory_of_every_size_is_zeroed_aligned_and_separate(m):
    for cls in _sized_classes(m):
        size, align = m.sizeof(cls), m.alignment(cls)
        objs = [cls() for _ in range(40)]
        for k, obj in enumerate(objs):
            address = m.addressof(obj)
            assert address % align == 0, (cls, address)
            assert m.string_at(address, size) == bytes(size), cls
            m.memset(address, k + 1, size)
        for k, obj in enumerate(objs):  # no instance wrote into another
            assert m.string_at(m.addressof(obj), size) == bytes([k + 1]) * size, cls
        assert cls.__itemsize__ == 0


def test_resizing_moves_the_bytes_out_of_the_object():
    buffer = ferrotypes.create_string_buffer(b"abcdef", 40)
    in_object = ferrotypes.addressof(buffer)
    ferrotypes.resize(buffer, 2000)
    assert ferrotypes.addressof(buffer) != in_object
    assert buffer.raw[:7] == b"abcdef\0" and len(buffer.raw) == 2000
    assert buffer._b_needsfree_ == 1


@pytest.mark.parametrize("enabled", [True, False])
def test_making_instances_leaves_the_collector_as_it_was(enabled):
    was = gc.isenabled()
    (gc.enable if enabled else gc.disable)()
    try:
        for cls in _sized_classes(ferrotypes):
            cls()
            assert gc.isenabled() == enabled
    finally:
        (gc.enable if was else gc.disable)()


@pytest.mark.parametrize("m", [ctypes, ferrotypes], ids=["ctypes", "ferrotypes"])
def test_collections_during_allocation_see_consistent_classes(m):
    """Finalisers run by collections that allocations trigger make instances and
    subclasses of the classes being allocated."""
    Buffer = m.c_char * 100
    made = []

    class Cycle:
        def __del__(self):
            class Sub(Buffer):
                pass
            obj = Sub()
            obj.attribute = len(made)
            made.append((Sub.__itemsize__, obj.attribute, bytes(obj)))

    old = gc.get_threshold()
    gc.set_threshold(1)
    try:
        for _ in range(300):
            cycle = Cycle()
            cycle.me = cycle
            del cycle
            Buffer()
    finally:
        gc.set_threshold(*old)
    gc.collect()
    assert len(made) == 300
    assert all(item == (0, i, bytes(100)) for i, item in enumerate(made))
