"""The quick paths of `len(array)`, `sizeof`, `alignment`, `POINTER` and `byref`
against stdlib ctypes: every kind of class and instance they take (subclasses, views,
classes changed after their first measure, stdlib objects), what they refuse and how."""

import ctypes
import gc
import sys

import pytest

import ferrotypes
from difftools import result_or_error


def classes(m):
    """Classes of every family, and subclasses of them."""
    class Point(m.Structure):
        _fields_ = [("x", m.c_int), ("y", m.c_int), ("z", m.c_double)]

    class Pair(m.Union):
        _fields_ = [("i", m.c_int), ("c", m.c_char * 3)]

    class SubPoint(Point):
        pass

    class MyInt(m.c_int):
        pass

    Ints = m.c_int * 7

    class SubInts(Ints):
        pass

    return [m.c_int, m.c_char, m.c_double, m.c_void_p, m.c_char_p, MyInt, Point, SubPoint, Pair,
            Ints, SubInts, m.c_char * 5, m.c_wchar * 2, Point * 3, (m.c_short * 2) * 3,
            m.c_int * 0, m.POINTER(m.c_int), m.POINTER(Point), m.CFUNCTYPE(m.c_int, m.c_int)]


def test_len_of_arrays_matches_ctypes():
    results = []
    for m in (ctypes, ferrotypes):
        row = []
        for cls in classes(m):
            if not issubclass(cls, m.Array):
                continue
            a = cls()
            row.append((len(a), a.__len__(), len(cls.from_buffer(bytearray(m.sizeof(cls))))))
        grid = ((m.c_int * 4) * 3)()
        row.append([len(grid), len(grid[1])])  # an element viewing its array's memory
        class Rec(m.Structure):
            _fields_ = [("a", m.c_short * 6)]
        row.append(len(Rec().a) if not isinstance(Rec().a, bytes) else None)
        row.append(len(m.pointer((m.c_int * 9)()).contents))
        row.append(len(m.create_string_buffer(11)))
        results.append(row)
    assert results[0] == results[1]


def test_len_after_a_class_assignment_is_the_instance_length_as_in_ctypes():
    results = []
    for m in (ctypes, ferrotypes):
        Three, Five = m.c_int * 3, m.c_int * 5
        a = Three()
        assigned = result_or_error(lambda: setattr(a, "__class__", Five))
        results.append((assigned[0], len(a), type(a) is Five))
    assert results[0] == results[1]


def test_len_of_a_non_array_is_refused_as_in_ctypes():
    results = []
    for m in (ctypes, ferrotypes):
        class Point(m.Structure):
            _fields_ = [("x", m.c_int)]
        results.append([result_or_error(lambda: len(obj))[:2] for obj in (Point(), m.c_int(3), m.pointer(m.c_int(1)))])
    assert results[0] == results[1]


def test_sizeof_and_alignment_of_classes_and_instances_match_ctypes():
    results = []
    for m in (ctypes, ferrotypes):
        row = []
        for cls in classes(m):
            for _ in range(2):  # the second time the class is remembered
                row.append((m.sizeof(cls), m.alignment(cls), m.sizeof(cls()), m.alignment(cls())))
        results.append(row)
    assert results[0] == results[1]


def test_sizeof_follows_resize_and_class_changes_as_in_ctypes():
    results = []
    for m in (ctypes, ferrotypes):
        buf = m.create_string_buffer(4)
        row = [m.sizeof(buf)]
        m.resize(buf, 40)
        row.append(m.sizeof(buf))
        class Late(m.Structure):
            pass
        row.append(m.sizeof(Late))  # remembered before its fields are set
        Late._fields_ = [("a", m.c_char), ("b", m.c_double)]
        row += [m.sizeof(Late), m.alignment(Late), m.sizeof(Late()), m.alignment(Late())]
        results.append(row)
    assert results[0] == results[1]


@pytest.mark.parametrize("function", ["sizeof", "alignment"])
def test_sizeof_and_alignment_refuse_what_ctypes_refuses(function):
    class Plain:
        pass

    results = []
    for m in (ctypes, ferrotypes):
        f = getattr(m, function)
        results.append([result_or_error(lambda: f(obj)) for obj in (5, None, int, Plain, Plain(), "c_int", [], type)])
        results[-1].append(result_or_error(lambda: f()))  # the messages name the module: compare types
        results[-1][-1] = results[-1][-1][:2]
    assert results[0] == results[1]


def test_sizeof_and_alignment_of_stdlib_objects_are_ctypes_own():
    class Point(ctypes.Structure):
        _fields_ = [("x", ctypes.c_char), ("y", ctypes.c_double)]

    for obj in (ctypes.c_int, ctypes.c_int(1), Point, Point(), ctypes.c_short * 5):
        assert ferrotypes.sizeof(obj) == ctypes.sizeof(obj)
        assert ferrotypes.alignment(obj) == ctypes.alignment(obj)


def test_an_instance_measured_first_is_measured_as_in_ctypes():
    # The instance test needs `_CData`'s type, looked up on the general path: a fresh
    # interpreter measures an instance before anything else.
    import subprocess

    code = ("import ferrotypes as m\n"
            "class P(m.Structure):\n    _fields_ = [('a', m.c_char), ('b', m.c_long)]\n"
            "print(m.sizeof(P()), m.alignment(P()), m.sizeof(P()), m.alignment(P()), m.sizeof(P), m.alignment(P))")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert run.stdout.split() == ["16", "8", "16", "8", "16", "8"]


def test_pointer_types_match_ctypes():
    results = []
    for m in (ctypes, ferrotypes):
        row = []
        for cls in classes(m):
            first = m.POINTER(cls)
            row.append((first.__name__, m.POINTER(cls) is first, first._type_ is cls))
        class Node(m.Structure):
            pass
        incomplete = m.POINTER("Node")
        row.append((incomplete.__name__, m.POINTER("Node") is incomplete))
        for obj in ([], {}, 5, int, None):  # errors, and POINTER(None), which is c_void_p
            r = result_or_error(lambda: m.POINTER(obj))
            row.append(("ok", r[1].__name__) if r[0] == "ok" else r)
        results.append(row)
    assert results[0] == results[1]


def test_pointer_follows_the_cache_dict():
    # `_pointer_type_cache` is the cache POINTER reads, as in ctypes: what a program
    # puts there (or takes out) is what POINTER answers.
    results = []
    for m in (ctypes, ferrotypes):
        class T(m.Structure):
            _fields_ = [("x", m.c_int)]
        made = m.POINTER(T)
        del m._pointer_type_cache[T]
        remade = m.POINTER(T)
        m._pointer_type_cache[T] = made
        results.append((remade is not made, m.POINTER(T) is made))
    assert results[0] == results[1] == (True, True)


def test_byref_matches_ctypes():
    results = []
    for m in (ctypes, ferrotypes):
        class Point(m.Structure):
            _fields_ = [("x", m.c_int), ("y", m.c_int)]
        class MyInt(m.c_int):
            pass
        row = []
        for obj in (m.c_int(5), MyInt(3), Point(1, 2), (m.c_int * 3)(), m.create_string_buffer(3)):
            for args in ((obj,), (obj, 4), (obj, -2), (obj, 2**70)):
                r = result_or_error(lambda: m.byref(*args))
                if r[0] == "ok":
                    ref = r[1]
                    r = ("ok", type(ref).__name__, ref._obj is obj, repr(ref).split(" ")[:2])
                row.append(r)
        for bad in ((5,), (None,), ("x",), (m.c_int(1), "4")):
            row.append(result_or_error(lambda: m.byref(*bad)))
        # Calls the quick path does not take, refused in ctypes' words.
        for args, kwargs in (((), {}), ((m.c_int(1), 1, 2), {}), ((m.c_int(1),), {"offset": 1})):
            row.append(result_or_error(lambda: m.byref(*args, **kwargs)))
        results.append(row)
    assert results[0] == results[1]


def test_byref_objects_are_freed_with_what_they_keep():
    import weakref

    class Point(ferrotypes.Structure):
        _fields_ = [("x", ferrotypes.c_int)]

    for _ in range(3):  # the first is made by PyO3, the others in place
        p = Point(7)
        alive = weakref.ref(p)
        ref = ferrotypes.byref(p, 0)
        del p
        assert alive() is not None and ref._obj.x == 7
        del ref
        gc.collect()
        assert alive() is None


def test_byref_passes_the_address_in_calls():
    libc = ferrotypes.CDLL(None)
    sscanf = libc.sscanf
    results = []
    for _ in range(3):
        value = ferrotypes.c_int()
        assert sscanf(b"42", b"%d", ferrotypes.byref(value)) == 1
        buf = (ferrotypes.c_int * 2)()
        assert sscanf(b"7", b"%d", ferrotypes.byref(buf, 4)) == 1
        results.append((value.value, list(buf)))
    assert results == [(42, [0, 7])] * 3
