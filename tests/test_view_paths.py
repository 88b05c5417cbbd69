"""Views made on the quick path (`p.contents`, `from_address`, `from_buffer`,
`from_buffer_copy`) against stdlib ctypes: subclasses of the classes and of their
metaclasses, wrong arguments and their messages, offsets, read-only and too small
buffers, audit events, and what each keeps alive."""

import ctypes
import subprocess
import sys
import textwrap

import pytest

import ferrotypes

MODULES = (ctypes, ferrotypes)


def outcome(action):
    try:
        result = action()
    except Exception as exc:
        return ("error", type(exc).__name__, str(exc))
    return ("ok", type(result).__name__)


def classes(m):
    """Classes of every data family, with subclasses of the classes and of a
    metaclass, and a class with a __new__ of its own (the general path)."""

    class Point(m.Structure):
        _fields_ = [("x", m.c_int), ("y", m.c_int), ("z", m.c_double)]

    class SubPoint(Point):
        pass

    class MyInt(m.c_int):
        pass

    class NewInt(m.c_int):
        def __new__(cls, *args):  # its tp_new is then not the family's: the general path
            return m.c_int.__new__(cls, *args)

    class Meta(type(m.Structure)):
        pass

    class MetaPoint(m.Structure, metaclass=Meta):
        _fields_ = [("a", m.c_int), ("b", m.c_short)]

    class U(m.Union):
        _fields_ = [("i", m.c_int), ("d", m.c_double)]

    return {
        "c_int": m.c_int, "c_double": m.c_double, "c_char_p": m.c_char_p,
        "MyInt": MyInt, "NewInt": NewInt, "Point": Point, "SubPoint": SubPoint,
        "MetaPoint": MetaPoint, "U": U, "Ints": m.c_int * 3,
        "IntPtr": m.POINTER(m.c_int), "Proto": m.CFUNCTYPE(m.c_int),
    }


NAMES = list(classes(ctypes))


@pytest.mark.parametrize("name", NAMES)
def test_contents_of_every_class_matches_ctypes(name):
    got = []
    for m in MODULES:
        cls = classes(m)[name]
        target = cls()
        p = m.pointer(target)
        view = p.contents
        got.append((type(view).__name__, bytes(view) == bytes(target), view._b_base_ is None,
                    m.addressof(view) == m.addressof(target), view._objects))
        assert type(view) is cls
    assert got[0][:4] == got[1][:4]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("offset", [0, 1, 3, 8, -1, 2**63 - 1, 2**63, 2**70, "1", 1.0])
def test_from_buffer_matches_ctypes(name, offset):
    got = []
    for m in MODULES:
        cls = classes(m)[name]
        ba = bytearray(range(40))

        def make():
            view = cls.from_buffer(ba, offset)
            assert m.addressof(view) == m.addressof(cls.from_buffer(ba)) + offset
            return view
        got.append(outcome(make))
    assert_same_outcome(got, offset)


def assert_same_outcome(got, offset):
    if offset == 2**63 - 1:
        # ctypes reports its wrapped sum (a negative size), ferrotypes the true one.
        assert [g[:2] for g in got] == [("error", "ValueError")] * 2
        assert all(g[2].startswith("Buffer size too small (40 instead of at least ") for g in got)
    else:
        assert got[0] == got[1]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("offset", [0, 1, 3, 8, -1, 2**63 - 1, 2**63, 2**70, "1", 1.0])
def test_from_buffer_copy_matches_ctypes(name, offset):
    got = []
    for m in MODULES:
        cls = classes(m)[name]
        data = bytes(range(40))

        def make():
            copy = cls.from_buffer_copy(data, offset)
            size = m.sizeof(cls)
            assert bytes(copy) == data[offset:offset + size]
            return copy
        got.append(outcome(make))
    assert_same_outcome(got, offset)


SOURCES = {
    "bytes": lambda: bytes(16),
    "bytearray": lambda: bytearray(16),
    "small bytearray": lambda: bytearray(3),
    "empty": lambda: bytearray(),
    "read-only memoryview": lambda: memoryview(bytearray(16)).toreadonly(),
    "strided memoryview": lambda: memoryview(bytearray(32))[::2],
    "int": lambda: 5,
    "str": lambda: "abcdabcd",
    "None": lambda: None,
    "array": lambda: __import__("array").array("i", [1, 2, 3, 4]),
}


@pytest.mark.parametrize("method", ["from_buffer", "from_buffer_copy"])
@pytest.mark.parametrize("source", SOURCES.values(), ids=SOURCES.keys())
@pytest.mark.parametrize("name", ["c_int", "Point", "Ints", "MyInt"])
def test_sources_match_ctypes(method, source, name):
    got = []
    for m in MODULES:
        cls = classes(m)[name]
        got.append(outcome(lambda: getattr(cls, method)(source())))
    assert got[0] == got[1]


ARGUMENTS = {
    "none": ((), {}),
    "three": ((bytearray(8), 0, 0), {}),
    "keyword offset": ((bytearray(8),), {"offset": 0}),
    "keyword source": ((), {"source": bytearray(8)}),
}


@pytest.mark.parametrize("method", ["from_buffer", "from_buffer_copy", "from_address"])
@pytest.mark.parametrize("arguments", ARGUMENTS.values(), ids=ARGUMENTS.keys())
def test_argument_errors_match_ctypes(method, arguments):
    args, kwargs = arguments
    got = [outcome(lambda: getattr(m.c_int, method)(*args, **kwargs)) for m in MODULES]
    assert got[0] == got[1]


@pytest.mark.parametrize("method", ["from_buffer", "from_buffer_copy"])
@pytest.mark.parametrize("base", ["_SimpleCData", "Structure", "Union", "Array", "_Pointer"])
def test_abstract_classes_are_refused_like_ctypes(method, base):
    got = [outcome(lambda: getattr(getattr(m, base), method)(bytearray(64))) for m in MODULES]
    assert got[0] == got[1] == ("error", "TypeError", "abstract class")


def test_abstract_class_is_refused_before_the_arguments_are_read():
    got = [outcome(lambda: m.Structure.from_buffer()) for m in MODULES]
    assert got[0] == got[1]


def test_from_buffer_keeps_the_exporter_and_locks_its_size():
    kept_types = []
    for m in MODULES:
        ba = bytearray(16)
        before = sys.getrefcount(ba)
        view = m.c_int.from_buffer(ba, 4)
        kept_types.append((type(view._objects).__name__, sys.getrefcount(ba) - before))
        with pytest.raises(BufferError):
            ba.extend(b"x")  # the export is held while the view lives
        view.value = 7
        assert ba[4:8] == (7).to_bytes(4, sys.byteorder)
        del view
        ba.extend(b"x")  # and released with it
    assert kept_types[0] == kept_types[1]


def test_from_buffer_copy_keeps_nothing():
    for m in MODULES:
        data = bytes(range(16))
        before = sys.getrefcount(data)
        copy = m.c_int.from_buffer_copy(data, 4)
        assert sys.getrefcount(data) == before
        assert copy._objects is None and copy._b_base_ is None


def test_contents_keeps_what_ctypes_keeps():
    deltas = []
    for m in MODULES:
        target = m.c_int(5)
        p = m.pointer(target)
        before = sys.getrefcount(p), sys.getrefcount(target)
        view = p.contents
        during = sys.getrefcount(p), sys.getrefcount(target)
        assert view.value == 5
        del view
        assert (sys.getrefcount(p), sys.getrefcount(target)) == before
        deltas.append((during[0] - before[0], during[1] - before[1]))
    assert deltas[0] == deltas[1]


def test_from_address_keeps_nothing():
    for m in MODULES:
        a = (m.c_int * 4)(1, 2, 3, 4)
        before = sys.getrefcount(a)
        view = m.c_int.from_address(m.addressof(a) + 8)
        assert view.value == 3 and view._b_base_ is None and view._objects is None
        assert sys.getrefcount(a) == before


def test_from_buffer_of_an_instance_views_it(ft, std):
    got = []
    for m in MODULES:
        source = (m.c_int * 4)(1, 2, 3, 4)
        view = m.c_int.from_buffer(source, 8)
        view.value = 30
        got.append((source[2], outcome(lambda: m.c_int.from_buffer(source, 13)),
                    outcome(lambda: m.c_int.from_buffer(source, -1))))
    assert got[0] == got[1]


def test_from_buffer_of_an_arena_block_is_revoked_with_it(ft):
    arena = ft.Arena()
    block = arena.new(ft.c_int * 4)
    view = ft.c_int.from_buffer(block, 4)
    assert view._b_base_ is block
    arena.close()
    with pytest.raises(ValueError, match="its arena was closed"):
        view.value  # noqa: B018


def test_audit_events_match_ctypes():
    script = textwrap.dedent("""
        import sys
        import {module} as m
        events = []
        def hook(event, args):
            if event.startswith("ctypes.cdata"):
                events.append((event, len(args)))
        sys.addaudithook(hook)
        ba = bytearray(16)
        m.c_int.from_buffer(ba, 4)
        m.c_int.from_buffer_copy(bytes(16), 4)
        m.c_int.from_address(m.addressof(m.c_int.from_buffer(ba)))
        print(events)
    """)
    outputs = [subprocess.run([sys.executable, "-c", script.format(module=name)], capture_output=True,
                              text=True, check=True).stdout for name in ("ctypes", "ferrotypes")]
    assert outputs[0] == outputs[1]
    assert "ctypes.cdata/buffer" in outputs[1]


def test_an_audit_hook_can_refuse_from_buffer():
    script = textwrap.dedent("""
        import sys
        import {module} as m
        def hook(event, args):
            if event == "ctypes.cdata/buffer":
                raise RuntimeError("refused " + event)
        sys.addaudithook(hook)
        for call in (lambda: m.c_int.from_buffer(bytearray(4)), lambda: m.c_int.from_buffer_copy(bytes(4))):
            try:
                call()
            except RuntimeError as exc:
                print(exc)
    """)
    outputs = [subprocess.run([sys.executable, "-c", script.format(module=name)], capture_output=True,
                              text=True, check=True).stdout for name in ("ctypes", "ferrotypes")]
    assert outputs[0] == outputs[1] == "refused ctypes.cdata/buffer\n" * 2


def test_views_do_not_run_new_or_init():
    for m in MODULES:
        calls = []

        class Watched(m.c_int):
            def __new__(cls, *args):
                calls.append("new")
                return m.c_int.__new__(cls, *args)

            def __init__(self, *args):
                calls.append("init")

        target = Watched()
        target.value = 3
        calls.clear()
        views = [m.pointer(target).contents, Watched.from_address(m.addressof(target)),
                 Watched.from_buffer(target), Watched.from_buffer_copy(target)]
        assert calls == [] and all(type(v) is Watched and v.value == 3 for v in views)


def test_contents_of_null_pointers_subclasses_and_later_targets_matches_ctypes():
    # The raw getter's quick path and each case it leaves to the general one.
    got = []
    for m in MODULES:
        class IntPtr(m.POINTER(m.c_int)):
            _type_ = m.c_int

        class Node(m.Structure):
            pass
        NodePtr = m.POINTER("Node_%s" % m.__name__)
        if sys.version_info < (3, 13):  # deprecated from 3.13 on
            m.SetPointerType(NodePtr, Node)
        Node._fields_ = [("value", m.c_int)]
        node = Node(7)
        row = [outcome(lambda: m.POINTER(m.c_int)().contents), outcome(lambda: IntPtr().contents),
               IntPtr(m.c_int(3)).contents.value, type(IntPtr(m.c_int(3)).contents).__name__,
               m.pointer(m.pointer(m.c_int(4))).contents.contents.value,
               list(m.pointer((m.c_short * 2)(5, 6)).contents)]
        if sys.version_info < (3, 13):
            row.append(NodePtr(node).contents.value)
        got.append(row)
    assert got[0] == got[1]


def test_contents_releases_every_reference_it_takes():
    for m in MODULES:
        class Point(m.Structure):
            _fields_ = [("x", m.c_int)]
        target = Point(1)
        p = m.pointer(target)
        counts = lambda: (sys.getrefcount(Point), sys.getrefcount(type(p)), sys.getrefcount(p), sys.getrefcount(target))
        before = counts()
        for _ in range(100):
            view = p.contents
            assert view.x == 1
            del view
        assert counts() == before


def test_contents_of_a_pointer_in_released_memory_raises():
    with ferrotypes.Arena() as arena:
        p = arena.new(ferrotypes.POINTER(ferrotypes.c_int), ferrotypes.c_int(9))
        assert p.contents.value == 9
    with pytest.raises(ValueError):
        p.contents
