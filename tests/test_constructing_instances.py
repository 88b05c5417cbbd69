"""Making instances by calling a C data class (``Point(1, 2, 3.0)``, ``c_int(5)``,
``(c_int * 3)(1, 2)``): every way of calling, every override (made in the class
statement or assigned later), a metaclass's ``__call__`` and every error come out as
in stdlib ctypes.

The call goes through the class's vectorcall function, which makes the instance and
stores plain values itself and leaves everything else to what ``type.__call__`` would
call."""

import ctypes
import functools
import gc
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ferrotypes
from ferrotypes import _ctypes


def kinds(m):
    """A class of each family with a constructor fast path."""
    class Point(m.Structure):
        _fields_ = [("x", m.c_int), ("y", m.c_short), ("z", m.c_double)]

    class Both(m.Union):
        _fields_ = [("i", m.c_int), ("d", m.c_double)]

    return {"record": Point, "union": Both, "simple": m.c_int, "double": m.c_double,
            "array": m.c_int * 3, "chars": m.c_char * 4}


def snapshot(obj):
    """What an instance holds, comparable between ctypes and ferrotypes."""
    if isinstance(obj, (ctypes.Structure, ctypes.Union, ferrotypes.Structure, ferrotypes.Union)):
        return tuple(getattr(obj, name) for name, *_ in obj._fields_)
    if isinstance(obj, (ctypes.Array, ferrotypes.Array)):
        return obj[:]
    if isinstance(obj, (ctypes._SimpleCData, ferrotypes._SimpleCData)):
        return obj.value
    if isinstance(obj, (ctypes._Pointer, ferrotypes._Pointer)):
        return bool(obj)  # NULL or not
    return obj


def outcome(action):
    try:
        return ("ok", snapshot(action()))
    except Exception as exc:
        return ("error", type(exc), str(exc))


def agree(ours, theirs):
    """The same result, or errors of one type whose messages agree: ferrotypes names
    the field after ctypes' message ("... (field 'z')")."""
    if ours[0] == theirs[0] == "error":
        return ours[1] is theirs[1] and ours[2].startswith(theirs[2])
    return ours == theirs


def test_the_families_with_a_fast_path_are_called_directly():
    for cls in kinds(ferrotypes).values():
        assert _ctypes._constructed_directly(cls), cls

    class Sub(kinds(ferrotypes)["record"]):
        _fields_ = [("w", ferrotypes.c_int)]

    assert _ctypes._constructed_directly(Sub)
    assert _ctypes._constructed_directly(ferrotypes.c_char_p)
    assert _ctypes._constructed_directly(ferrotypes.POINTER(ferrotypes.c_int))
    assert not _ctypes._constructed_directly(ferrotypes.CFUNCTYPE(ferrotypes.c_int))


CALLS = [
    ((), {}),
    ((1,), {}),
    ((1, 2), {}),
    ((1, 2, 3.5), {}),
    ((1, 2, 3.5, 4), {}),
    ((), {"x": 5}),
    ((1,), {"z": 2.5}),
    ((1,), {"x": 2}),
    ((), {"value": 3}),
    ((), {"nonsense": 1}),
    (("text",), {}),
    ((2.5,), {}),
    ((b"ab",), {}),
    ((b"abcdef",), {}),
    ((None,), {}),
    ((2**40,), {}),
    ((1.5, "x"), {}),
]


def callables(m):
    """The classes above, and a pointer class (whose __init__ the general path runs)."""
    return dict(kinds(m), pointer=m.POINTER(m.c_int))


@pytest.mark.parametrize("kind", sorted(callables(ctypes)))
@pytest.mark.parametrize("args,kwargs", CALLS)
def test_every_call_matches_ctypes(kind, args, kwargs):
    results = []
    for m in (ctypes, ferrotypes):
        cls = callables(m)[kind]
        results.append(outcome(lambda: cls(*args, **kwargs)))
    assert agree(results[1], results[0]), results


def test_every_way_of_calling_gives_the_same_instance():
    for m in (ctypes, ferrotypes):
        Point = kinds(m)["record"]
        made = [
            Point(1, 2, 3.0),
            Point(*(1, 2), **{"z": 3.0}),
            functools.partial(Point, 1)(2, 3.0),
            type(Point).__call__(Point, 1, 2, 3.0),
            next(map(Point, [1], [2], [3.0])),
            Point(x=1, y=2, z=3.0),
        ]
        assert {snapshot(p) for p in made} == {(1, 2, 3.0)}


@settings(max_examples=200, deadline=None)
@given(values=st.lists(st.one_of(st.integers(-(2**40), 2**40), st.floats(allow_nan=False), st.text(max_size=2)),
                       max_size=4),
       keyword=st.booleans())
def test_generated_record_calls_match_ctypes(values, keyword):
    results = []
    for m in (ctypes, ferrotypes):
        Point = kinds(m)["record"]
        kwargs = {"z": values[-1]} if keyword and values else {}
        args = values[:-1] if kwargs else values
        results.append(outcome(lambda: Point(*args, **kwargs)))
    assert agree(results[1], results[0]), results


def test_overrides_in_the_class_statement_run():
    for m in (ctypes, ferrotypes):
        calls = []

        class Init(m.Structure):
            _fields_ = [("x", m.c_int)]

            def __init__(self, *args, **kwargs):
                calls.append(("init", args, kwargs))
                m.Structure.__init__(self, *args, **kwargs)

        class New(m.c_int):
            def __new__(cls, *args):
                calls.append(("new", args))
                return m.c_int.__new__(cls)

        class Foreign(m.Structure):
            _fields_ = [("x", m.c_int)]

            def __new__(cls, *args):
                return 42  # not an instance: __init__ is not called

            def __init__(self, *args):
                calls.append("never")

        assert Init(4).x == 4
        assert New(7).value == 7
        assert Foreign(1) == 42
        assert calls == [("init", (4,), {}), ("new", (7,))]


def test_overrides_assigned_later_are_honoured_and_removable():
    for m in (ctypes, ferrotypes):
        class Point(m.Structure):
            _fields_ = [("x", m.c_int), ("y", m.c_int)]

        class Sub(Point):
            pass

        assert (Point(1, 2).x, Sub(1, 2).y) == (1, 2)
        Point.__init__ = lambda self, *args: m.Structure.__init__(self, *(a * 10 for a in args))
        assert snapshot(Point(1, 2)) == (10, 20)
        assert snapshot(Sub(1, 2)) == (10, 20)
        del Point.__init__
        assert snapshot(Sub(1, 2)) == (1, 2)
        Sub.__new__ = lambda cls, *args: "made by __new__"
        assert Sub(1, 2) == "made by __new__"
        del Sub.__new__
        assert snapshot(Sub(3, 4)) == (3, 4)


def test_a_metaclass_call_is_honoured():
    for m in (ctypes, ferrotypes):
        class Meta(type(m.Structure)):
            def __call__(cls, *args, **kwargs):
                obj = super().__call__(*args, **kwargs)
                obj.y = 99
                return obj

        class Point(m.Structure, metaclass=Meta):
            _fields_ = [("x", m.c_int), ("y", m.c_int)]

        assert snapshot(Point(1, 2)) == (1, 99)

        class Plain(type(m.Structure)):
            pass

        class Later(m.Structure, metaclass=Plain):
            _fields_ = [("x", m.c_int)]

        assert Later(5).x == 5
        Plain.__call__ = lambda cls, *args: "made by the metaclass"
        assert Later(5) == "made by the metaclass"
        del Plain.__call__
        assert Later(6).x == 6


def test_an_init_that_raises_frees_the_instance():
    for m in (ctypes, ferrotypes):
        class Failing(m.Structure):
            _fields_ = [("x", m.c_int)]

            def __init__(self, *args):
                raise ValueError("refused")

        Point = kinds(m)["record"]
        gc.collect()
        before = sys.getrefcount(Failing), sys.getrefcount(Point)
        for _ in range(1000):
            with pytest.raises(ValueError, match="refused"):
                Failing(1)
            with pytest.raises(TypeError):
                Point("text")
        gc.collect()
        assert (sys.getrefcount(Failing), sys.getrefcount(Point)) == before


def test_arguments_are_borrowed_not_kept():
    value, number = 2.5, 10**30 // 10**29  # objects of their own, not cached constants
    Point = kinds(ferrotypes)["record"]
    before = [sys.getrefcount(v) for v in (value, number)]
    for _ in range(1000):
        Point(number, 2, value)
        Point(x=number, z=value)
        ferrotypes.c_double(value)
    assert [sys.getrefcount(v) for v in (value, number)] == before


def test_abstract_classes_refuse_as_in_ctypes():
    for name in ("_SimpleCData", "Array"):
        results = [outcome(lambda m=m: getattr(m, name)()) for m in (ctypes, ferrotypes)]
        assert results[0][:2] == results[1][:2] == ("error", TypeError)


def test_pointer_matches_ctypes():
    for m in (ctypes, ferrotypes):
        class MyInt(m.c_int):
            pass

        x, mine = m.c_int(5), MyInt(6)
        p = m.pointer(x)
        assert type(p) is m.POINTER(m.c_int)
        assert p.contents.value == 5 and p._objects == {"1": x}
        assert type(m.pointer(mine)) is m.POINTER(MyInt)
        assert m.pointer(p).contents.contents.value == 5
    results = []
    for m in (ctypes, ferrotypes):
        results.append([outcome(lambda: m.pointer(5)), outcome(lambda: m.POINTER(m.c_int)(m.c_int(1), m.c_int(2))),
                        outcome(lambda: m.POINTER(m.c_int)("text"))])
    assert [r[:2] for r in results[0]] == [r[:2] for r in results[1]]
    assert results[0][1:] == results[1][1:]


def test_a_pointer_refuses_a_target_of_another_type():
    # ctypes takes any C data instance here, so POINTER(c_double)(c_int(1)).contents
    # reads 8 bytes of a 4-byte object.
    assert ctypes.POINTER(ctypes.c_double)(ctypes.c_int(1))
    with pytest.raises(TypeError, match="expected c_double instead of c_int"):
        ferrotypes.POINTER(ferrotypes.c_double)(ferrotypes.c_int(1))
