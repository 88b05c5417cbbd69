"""The quicker paths of bench/sweep.py's simple-type and module-function rows, against
stdlib ctypes: constructing a simple instance from any one value (strings and
addresses included, kept alive as ctypes keeps them), freeing it, reading `.value`,
`len` of arrays, `byref`, `from_address`, `sizeof`/`alignment`, `cls * n`."""

import ctypes
import gc
import sys
import weakref

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ferrotypes
from difftools import SIMPLE_CODES, result_or_error


class Index:
    """Not an int, but converts to one (`__index__`)."""

    def __index__(self):
        return 7


values = st.one_of(st.integers(-2**65, 2**65), st.floats(allow_nan=False), st.booleans(), st.none(),
                   st.binary(max_size=3), st.text(max_size=3), st.just(bytearray(b"x")), st.just(Index()),
                   st.just(1 + 2j), st.just([1]))


def readable(code, value):
    """Whether reading back a value stored into `code` is safe: an int stored into a
    string pointer is an address, which reading dereferences."""
    return not (code in ("c_char_p", "c_wchar_p") and isinstance(value, int) and value is not None)


@settings(max_examples=500, deadline=None)
@given(code=st.sampled_from(SIMPLE_CODES), value=values, subclass=st.booleans())
def test_constructing_from_one_value_matches_ctypes(code, value, subclass):
    results = []
    for m in (ctypes, ferrotypes):
        cls = getattr(m, code)
        if subclass:
            cls = type("Sub", (cls,), {})

        def make():
            x = cls(value)
            read = x.value if readable(code, value) else None
            kept = x._objects
            # the string pointers keep what they point into: the bytes themselves, or
            # a wide copy of a str (a capsule in ctypes, a bytes here). (ctypes' truth
            # of a long double reads the padding its store left unset.)
            same = kept is value if isinstance(value, bytes) else kept is not None
            truth = None if code == "c_longdouble" else bool(x)
            return read, same, truth
        results.append(result_or_error(make))
    assert results[0] == results[1]


@pytest.mark.parametrize("code", ["c_int", "c_char_p", "c_void_p", "c_wchar_p", "c_double"])
def test_constructor_argument_counts_and_keywords_match_ctypes(code):
    results = []
    for m in (ctypes, ferrotypes):
        cls = getattr(m, code)
        results.append([result_or_error(lambda: cls(None, None)), result_or_error(lambda: cls().value),
                        result_or_error(lambda: cls(value=None).value), result_or_error(lambda: cls(None, x=1).value)])
    assert results[0] == results[1]


def test_a_string_pointer_keeps_its_bytes_and_frees_them_with_itself():
    for m in (ctypes, ferrotypes):
        data = b"kept" + bytes(sys.getrefcount.__name__, "ascii")  # a fresh bytes object
        before = sys.getrefcount(data)
        p = m.c_char_p(data)
        assert p._objects is data and p.value == data
        assert sys.getrefcount(data) == before + 1
        del p
        assert sys.getrefcount(data) == before


def test_a_string_pointer_keeping_a_bytes_subclass_frees_it_through_its_own_deallocator():
    released = []

    class Bytes(bytes):
        def __del__(self):
            released.append(True)

    for m in (ctypes, ferrotypes):
        p = m.c_char_p(Bytes(b"abc"))
        assert p.value == b"abc" and type(p._objects) is Bytes
        del p
        gc.collect()
    assert released == [True, True]


def test_a_simple_instance_with_weak_references_or_a_dict_is_freed_as_ctypes_frees_it():
    for m in (ctypes, ferrotypes):
        class Text(m.c_char_p):
            pass
        p = Text(b"abc")
        p.note = "attribute"
        ref = weakref.ref(p)
        assert p.value == b"abc" and p.note == "attribute"
        del p
        assert ref() is None


def test_wide_strings_and_addresses_construct_as_in_ctypes():
    results = []
    for m in (ctypes, ferrotypes):
        a = m.create_string_buffer(b"in memory")
        address = m.addressof(a)
        row = [m.c_wchar_p("wide \udc80 text").value, m.c_char_p(address).value, m.c_void_p(address).value == address,
               m.c_void_p(2**64 + 5).value, m.c_void_p(-1).value, m.c_char_p(None).value, m.c_wchar_p(None).value,
               m.c_void_p(None).value, m.c_void_p().value, m.c_char_p(address)._objects, m.c_void_p(5)._objects,
               result_or_error(lambda: m.c_void_p(1.5)), result_or_error(lambda: m.c_char_p("text")),
               result_or_error(lambda: m.c_wchar_p(b"bytes")), result_or_error(lambda: m.c_void_p(b"bytes"))]
        results.append(row)
    assert results[0] == results[1]


def test_init_called_again_replaces_what_is_kept():
    results = []
    for m in (ctypes, ferrotypes):
        p = m.c_char_p(b"first")
        p.__init__(b"second")
        row = [p.value, p._objects]
        p.__init__(None)
        row += [p.value, p._objects]
        results.append(row)
    assert results[0] == results[1]


def test_a_subclass_with_its_own_init_or_new_is_honoured():
    results = []
    for m in (ctypes, ferrotypes):
        class Upper(m.c_char_p):
            def __init__(self, value):
                super().__init__(value.upper())

        class Fixed(m.c_void_p):
            def __new__(cls, *args):
                return super().__new__(cls)

        results.append([Upper(b"abc").value, Fixed(1234).value])
    assert results[0] == results[1]


def test_a_simple_view_of_arena_memory_constructs_through_the_general_path():
    arena = ferrotypes.Arena()
    p = arena.new(ferrotypes.c_char_p)
    p.__init__(b"in the arena")
    assert p.value == b"in the arena" and p._objects == b"in the arena"
    arena.close()
    with pytest.raises(ValueError):
        p.__init__(b"after")


@pytest.mark.parametrize("value", [b"abc", b"", b"with\x00nul", None])
def test_string_pointer_values_read_as_in_ctypes(value):
    results = []
    for m in (ctypes, ferrotypes):
        class Text(m.c_char_p):
            pass
        class Holder(m.Structure):
            _fields_ = [("p", m.c_char_p)]
        row = [m.c_char_p(value).value, Text(value).value, Holder(value).p, (m.c_char_p * 2)(value, value)[1]]
        results.append(row)
    assert results[0] == results[1]


def test_len_of_arrays_and_their_subclasses_matches_ctypes():
    results = []
    for m in (ctypes, ferrotypes):
        Ints = m.c_int * 7

        class Sub(Ints):
            pass

        class Own(Ints):
            def __len__(self):
                return 3

        empty = m.c_double * 0
        results.append([len(Ints()), len(Sub()), len(Own()), len(empty()), len(m.create_string_buffer(5)),
                        len((m.POINTER(m.c_int) * 2)()), result_or_error(lambda: len(m.Array))[:2]])
    assert results[0] == results[1]


@settings(max_examples=200, deadline=None)
@given(offset=st.one_of(st.integers(-2**70, 2**70), st.just(Index()), st.just(1.5), st.just("4"), st.none()),
       target=st.sampled_from(["c_int", "Point", "array", "pointer", "int", "stdlib"]))
def test_byref_matches_ctypes(offset, target):
    results = []
    for m in (ctypes, ferrotypes):
        class Point(m.Structure):
            _fields_ = [("x", m.c_int), ("y", m.c_int)]
        obj = {"c_int": lambda: m.c_int(5), "Point": Point, "array": m.c_int * 3,
               "pointer": lambda: m.pointer(m.c_int(1)), "int": lambda: 5, "stdlib": lambda: ctypes.c_int(2)}[target]()

        def make():
            ref = m.byref(obj) if offset is None else m.byref(obj, offset)
            # the address, relative to the object's (ctypes' byref of a stdlib
            # object in ferrotypes passes the same address)
            base = (ctypes if target == "stdlib" else m).addressof(obj)
            return ctypes.cast(ref, ctypes.c_void_p).value - base if m is ctypes else ref._obj is obj or target == "stdlib"
        got = result_or_error(make)
        results.append(got[:2] if got[0] == "error" else "ok")
    assert results[0] == results[1]


def test_byref_passes_the_offset_address_and_keeps_its_object():
    for offset in (0, 4, -4, 2**62):
        x = ferrotypes.c_int(5)
        ref = ferrotypes.byref(x, offset)
        assert ref._obj is x
        assert ferrotypes.cast(ref, ferrotypes.c_void_p).value == (ferrotypes.addressof(x) + offset) % 2**64
    x = ferrotypes.c_int(5)
    before = sys.getrefcount(x)
    ref = ferrotypes.byref(x)
    assert sys.getrefcount(x) == before + 1
    del ref
    assert sys.getrefcount(x) == before


def test_byref_argument_errors_match_ctypes():
    results = []
    for m in (ctypes, ferrotypes):
        x = m.c_int(5)
        results.append([result_or_error(lambda: m.byref())[:2], result_or_error(lambda: m.byref(x, 1, 2))[:2],
                        result_or_error(lambda: m.byref(5)), result_or_error(lambda: m.byref(x, "4"))[:2]])
    assert results[0] == results[1]


@pytest.mark.parametrize("address", [2**64, 1.0, "16", None, ctypes.c_int(5)])
def test_from_address_refuses_what_ctypes_refuses(address):
    ours = result_or_error(lambda: ferrotypes.c_int.from_address(address))
    theirs = result_or_error(lambda: ctypes.c_int.from_address(address))
    assert ours[0] == theirs[0] == "error"
    assert issubclass(ours[1], theirs[1]) or (ours[1], theirs[1]) == (OverflowError, ValueError), (ours, theirs)


# Addresses as ctypes reads them (PyLong_AsVoidPtr): -2**63..-1 wrap to their unsigned
# bits, outside -2**63..2**64 is OverflowError with Python's message. Nothing is read.
ADDRESS_EDGES = [-1, -8, -2**63, 2**64 - 1, -2**63 - 1, 2**64]


@pytest.mark.parametrize("address", ADDRESS_EDGES)
def test_from_address_reads_an_address_as_ctypes_does_for_every_family(address):
    results = []
    for m in (ctypes, ferrotypes):
        class Point(m.Structure):
            _fields_ = [("x", m.c_int)]

        class Both(m.Union):
            _fields_ = [("x", m.c_int), ("y", m.c_short)]

        class Int(m.c_int):
            pass
        classes = [m.c_int, Int, m.c_double, m.c_char_p, m.c_void_p, Point, Both, m.c_int * 2,
                   m.POINTER(m.c_int), m.CFUNCTYPE(m.c_int)]
        def view_at(cls):
            """The view's class and address only: its value is never read."""
            view = cls.from_address(address)
            return type(view).__name__, m.addressof(view)
        results.append([result_or_error(lambda: view_at(cls)) for cls in classes])
    assert results[0] == results[1]
    if -2**63 <= address < 2**64:
        assert results[1][0] == ("ok", ("c_int", address % 2**64))


def test_from_address_refuses_what_is_not_an_int_in_ctypes_words():
    for address in (1.0, "16", None, Index()):
        assert result_or_error(lambda: ferrotypes.c_int.from_address(address)) == result_or_error(lambda: ctypes.c_int.from_address(address))


@pytest.mark.parametrize("address", ADDRESS_EDGES)
def test_other_int_addresses_are_read_as_ctypes_reads_them(address):
    results = []
    for m in (ctypes, ferrotypes):
        proto = m.CFUNCTYPE(m.c_int)
        row = [result_or_error(lambda: m.c_void_p(address).value), result_or_error(lambda: m.cast(address, m.c_void_p).value),
               result_or_error(lambda: m.cast(m.cast(address, m.POINTER(m.c_int)), m.c_void_p).value),
               result_or_error(lambda: m.cast(proto(address), m.c_void_p).value),
               result_or_error(lambda: m.cast(m.c_char_p(address), m.c_void_p).value),
               result_or_error(lambda: m.memmove(address, address, 0))]
        if address % 2**64:  # string_at(NULL, 0) is a known difference (tests/known_differences.py)
            row += [result_or_error(lambda: m.string_at(address, 0)), result_or_error(lambda: m.wstring_at(address, 0))]
        results.append(row)
    assert results[0] == results[1]


def test_from_address_refuses_null_where_ctypes_reads_it():
    assert result_or_error(lambda: ferrotypes.c_int.from_address(0)) == ("error", ValueError, "NULL pointer access")


def test_from_address_views_memory_for_every_family_and_subclass():
    results = []
    for m in (ctypes, ferrotypes):
        class Point(m.Structure):
            _fields_ = [("x", m.c_int), ("y", m.c_int)]

        class Int(m.c_int):
            pass
        a = (m.c_int * 4)(1, 2, 3, 4)
        address = m.addressof(a)
        row = [m.c_int.from_address(address).value, Int.from_address(address + 4).value,
               Point.from_address(address + 8).y, list((m.c_int * 2).from_address(address + 4)),
               type(Int.from_address(address)).__name__, m.c_int.from_address(address)._b_base_,
               m.c_int.from_address(address)._objects, m.c_int.from_address.__name__,
               result_or_error(lambda: m.c_int.from_address())[:2], result_or_error(lambda: type(m.c_int).from_address(5, address))[:2],
               result_or_error(lambda: m.Structure.from_address(address))[:2]]
        view = m.c_int.from_address(address)
        view.value = 9
        row.append(a[0])
        results.append(row)
    assert results[0] == results[1]


def test_from_address_raises_the_cdata_audit_event():
    code = """
import sys
import ferrotypes
seen = []
sys.addaudithook(lambda event, args: seen.append(args) if event == "ctypes.cdata" else None)
a = (ferrotypes.c_int * 2)(7, 8)
x = ferrotypes.c_int.from_address(ferrotypes.addressof(a) + 4)
assert x.value == 8, x.value
assert seen == [(ferrotypes.addressof(a) + 4,)], seen
def refuse(event, args):
    if event == "ctypes.cdata":
        raise RuntimeError("refused by the hook")
sys.addaudithook(refuse)
try:
    ferrotypes.c_int.from_address(ferrotypes.addressof(a))
except RuntimeError as exc:
    print(exc)
"""
    import subprocess
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert run.stdout == "refused by the hook\n"


@pytest.mark.parametrize("length", [0, 3, 100, -1, 2**70, 2.0, "3", None, True])
def test_array_types_by_multiplication_match_ctypes(length):
    results = []
    for m in (ctypes, ferrotypes):
        class Point(m.Structure):
            _fields_ = [("x", m.c_int)]
        row = []
        for cls in (m.c_int, Point, m.POINTER(m.c_int), m.c_char * 2, m.CFUNCTYPE(None)):
            for product in (lambda: cls * length, lambda: length * cls):
                got = result_or_error(product)
                row.append(got[:2] if got[0] == "error" else (got[1]._length_, got[1]._type_.__name__, got[1] is cls * length))
        row.append(result_or_error(lambda: m.c_int * m.c_int)[:2])
        row.append(result_or_error(lambda: [1] * m.c_int)[:2])
        results.append(row)
    assert results[0] == results[1]


def test_a_metaclass_subclass_multiplies_through_its_own_operator():
    class Meta(type(ferrotypes.c_int)):
        def __mul__(cls, length):
            return ("own", length)

    class Special(ferrotypes.c_int, metaclass=Meta):
        pass
    assert Special * 3 == ("own", 3)
    assert ferrotypes.c_int * 3 is ferrotypes.c_int * 3


def test_sizeof_and_alignment_of_classes_instances_and_other_objects_match_ctypes():
    results = []
    for m in (ctypes, ferrotypes):
        class Point(m.Structure):
            _fields_ = [("x", m.c_int), ("y", m.c_double)]

        class Int(m.c_int):
            pass
        row = []
        for obj in (Point, Point(), m.c_int, Int, Int(3), m.c_char * 5, (m.c_char * 5)(), m.POINTER(Point),
                    m.c_longdouble, m.CFUNCTYPE(None), 5, "text", None, int, m.Structure):
            row.append((result_or_error(lambda: m.sizeof(obj))[:2], result_or_error(lambda: m.alignment(obj))[:2]))
        results.append(row)
    assert results[0] == results[1]


def test_sizeof_follows_a_class_whose_info_changes():
    class Later(ferrotypes.Structure):
        pass
    assert ferrotypes.sizeof(Later) == 0
    Later._fields_ = [("x", ferrotypes.c_double)]
    assert ferrotypes.sizeof(Later) == 8 and ferrotypes.alignment(Later) == 8


def test_pointer_takes_one_positional_argument_as_in_ctypes():
    results = []
    for m in (ctypes, ferrotypes):
        x = m.c_int(5)
        p = m.pointer(x)
        results.append([p.contents.value, p._objects == {"1": x}, result_or_error(lambda: m.pointer())[:2],
                        result_or_error(lambda: m.pointer(x, x))[:2], result_or_error(lambda: m.pointer(obj=x))[:2],
                        result_or_error(lambda: m.pointer(5))[:2]])
    assert results[0] == results[1]


def test_py_object_keeps_any_object_and_releases_it_with_itself():
    for m in (ctypes, ferrotypes):
        obj = ["any", "object"]
        before = sys.getrefcount(obj)
        x = m.py_object(obj)
        assert x.value is obj and x._objects is obj
        del x
        assert sys.getrefcount(obj) == before
