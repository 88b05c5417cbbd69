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

SIMPLE_CODES = ["c_bool", "c_byte", "c_ubyte", "c_short", "c_ushort", "c_int", "c_uint", "c_long", "c_ulong",
                "c_longlong", "c_ulonglong", "c_size_t", "c_ssize_t", "c_float", "c_double", "c_longdouble",
                "c_char", "c_wchar", "c_void_p", "c_char_p", "c_wchar_p"]


def outcome(action):
    try:
        return ("ok", action())
    except Exception as exc:
        return ("error", type(exc), str(exc))


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
        results.append(outcome(make))
    assert results[0] == results[1]


@pytest.mark.parametrize("code", ["c_int", "c_char_p", "c_void_p", "c_wchar_p", "c_double"])
def test_constructor_argument_counts_and_keywords_match_ctypes(code):
    results = []
    for m in (ctypes, ferrotypes):
        cls = getattr(m, code)
        results.append([outcome(lambda: cls(None, None)), outcome(lambda: cls().value),
                        outcome(lambda: cls(value=None).value), outcome(lambda: cls(None, x=1).value)])
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
               outcome(lambda: m.c_void_p(1.5)), outcome(lambda: m.c_char_p("text")),
               outcome(lambda: m.c_wchar_p(b"bytes")), outcome(lambda: m.c_void_p(b"bytes"))]
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
