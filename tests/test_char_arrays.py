"""`value` and `raw` of c_char arrays and `value` of c_wchar arrays (array_types.rs:
getset descriptors made for each class, as ctypes makes them): what they read and
store, and the errors, against stdlib ctypes."""

import ctypes

from hypothesis import given, settings
from hypothesis import strategies as st

import ferrotypes
from difftools import result_or_error


values = st.one_of(st.binary(max_size=12), st.binary(max_size=12).map(bytearray),
                   st.binary(max_size=12).map(memoryview), st.text(max_size=3), st.integers(), st.none())


@settings(max_examples=300, deadline=None)
@given(size=st.integers(0, 10), initial=st.binary(max_size=10), name=st.sampled_from(["value", "raw"]), value=values)
def test_stores_and_reads_match_ctypes(size, initial, name, value):
    results = []
    for m in (ctypes, ferrotypes):
        buf = (m.c_char * size)()
        buf.raw = initial[:size]

        def store():
            setattr(buf, name, value)
            return buf.value, buf.raw
        results.append((result_or_error(store), buf.value, buf.raw))
    assert results[0] == results[1]


def test_deleting_is_refused_as_in_ctypes():
    results = []
    for m in (ctypes, ferrotypes):
        buf = m.create_string_buffer(b"ab")
        results.append([result_or_error(lambda: delattr(buf, name)) for name in ("value", "raw")])
    assert results[0] == results[1]


def test_resized_buffers_and_views():
    for m in (ctypes, ferrotypes):
        buf = m.create_string_buffer(b"abc", 4)
        m.resize(buf, 16)
        buf.raw = b"x" * 16
        assert buf.value == b"x" * 16  # the whole resized memory
        backing = bytearray(b"hello\0world")
        view = (m.c_char * 11).from_buffer(backing)
        assert view.value == b"hello"
        view.value = b"HI"
        assert bytes(backing) == b"HI\0lo\0world"
        view.raw = memoryview(backing)[6:]  # the view's own memory, overlapping
        assert bytes(backing) == b"world\0world"


def test_class_level_access_gives_the_descriptor():
    cls = ferrotypes.c_char * 3
    assert type(cls.value) is type(cls.raw)
    assert cls.__dict__["value"].__get__(None, cls) is cls.__dict__["value"]


texts = st.one_of(st.text(max_size=8), st.binary(max_size=4), st.integers(), st.none())


@settings(max_examples=200, deadline=None)
@given(size=st.integers(0, 8), initial=st.text(max_size=8), value=texts)
def test_wide_char_array_value_matches_ctypes(size, initial, value):
    results = []
    for m in (ctypes, ferrotypes):
        buf = (m.c_wchar * size)()
        for i, ch in enumerate(initial[:size]):
            buf[i] = ch

        def store():
            buf.value = value
            return buf.value, buf[:]
        results.append((result_or_error(store), buf.value, buf[:]))
    assert results[0] == results[1]


def test_descriptors_are_ctypes_getsets_with_its_messages():
    """The same descriptor type, repr and docstrings as ctypes', and the same refusals,
    word for word: other objects (also another array class's), wrong values, deletion."""
    results = []
    for m in (ctypes, ferrotypes):
        class MyChar(m.c_char):
            pass

        chars, wide, mine = m.c_char * 4, m.c_wchar * 3, MyChar * 2
        got = [(type(cls.__dict__[name]).__name__, repr(cls.__dict__[name]), cls.__dict__[name].__doc__)
               for cls, name in ((chars, "value"), (chars, "raw"), (wide, "value"), (mine, "value"), (mine, "raw"))]
        got.append("raw" in wide.__dict__)
        for descr in (chars.__dict__["value"], chars.__dict__["raw"], wide.__dict__["value"]):
            for other in (object(), (m.c_int * 4)(), m.c_int(1)):
                got.append(result_or_error(lambda: descr.__get__(other, type(other))))
                got.append(result_or_error(lambda: descr.__set__(other, b"x")))
        buf, text = chars(), wide()
        for target, name, value in ((buf, "value", "str"), (buf, "value", bytearray(b"x")), (buf, "value", b"12345"),
                                    (buf, "raw", "str"), (buf, "raw", b"12345"), (text, "value", b"x"),
                                    (text, "value", "1234")):
            got.append(result_or_error(lambda: setattr(target, name, value)))
        for target, name in ((buf, "value"), (buf, "raw"), (text, "value")):
            got.append(result_or_error(lambda: delattr(target, name)))
        results.append(got)
    assert results[0] == results[1]


def test_subclasses_and_element_subclasses_read_and_store_as_ctypes():
    results = []
    for m in (ctypes, ferrotypes):
        class MyChar(m.c_char):
            pass

        class Buf(MyChar * 6):
            pass

        class Text(m.c_wchar * 4):
            pass

        b, t = Buf(), Text()
        b.value = b"abc"
        t.value = "xy"
        results.append((b.value, b.raw, t.value, type(Buf.value).__name__, result_or_error(lambda: setattr(b, "value", b"1234567"))))
    assert results[0] == results[1]


def test_freed_memory_is_refused_by_every_descriptor():
    arena = ferrotypes.Arena()
    with arena:
        buf = arena.new(ferrotypes.c_char * 4)
        text = arena.new(ferrotypes.c_wchar * 4)
    for action in (lambda: buf.value, lambda: buf.raw, lambda: setattr(buf, "value", b"x"),
                   lambda: setattr(buf, "raw", b"x"), lambda: text.value, lambda: setattr(text, "value", "x")):
        try:
            action()
        except ValueError:
            continue
        raise AssertionError("freed memory was read or written")


class Length(int):
    pass


lengths = st.one_of(st.integers(-3, 300), st.sampled_from([True, False, 10**30, -(10**30)]),
                    st.integers(0, 40).map(Length))


@settings(max_examples=200, deadline=None)
@given(sequence=st.lists(lengths, min_size=1, max_size=8))
def test_zeroed_buffers_in_any_order_of_lengths_match_ctypes(sequence):
    """create_string_buffer(n) remembers the last length's class, told by the int
    object given or else by its value: lengths repeated as the same object (small
    ints), as equal objects, as bools and int subclasses, out of range."""
    results = []
    for m in (ctypes, ferrotypes):
        got = []
        for n in sequence:
            for make in (m.create_string_buffer, m.create_unicode_buffer):
                result = result_or_error(lambda: make(n))
                if result[0] == "ok":
                    buf = result[1]
                    result = ("ok", type(buf).__name__, type(buf)._length_, len(buf), buf[:] == type(buf)()[:])
                got.append(result[:2] if result[0] == "error" else result)
        results.append(got)
    assert results[0] == results[1]


def test_equal_lengths_given_as_other_objects_give_the_cached_class():
    big = 10**3 + int("0")  # a new int object each time
    first = ferrotypes.create_string_buffer(big)
    second = ferrotypes.create_string_buffer(10**3 + int("0"))
    assert type(first) is type(second) is ferrotypes.c_char * 1000
    assert type(ferrotypes.create_string_buffer(Length(7))) is ferrotypes.c_char * 7


def test_value_of_simple_types_is_the_public_bases_getset_as_in_ctypes():
    """`value` lives on `_SimpleCData`, as in ctypes (the class name there carries its
    module, `_ctypes.`, which ferrotypes' Python-made base does not)."""
    results = []
    for m in (ctypes, ferrotypes):
        class MyInt(m.c_int):
            pass

        descr = m._SimpleCData.__dict__["value"]
        got = [type(descr).__name__, descr.__doc__, m.c_int.value is descr, MyInt.value is descr]
        for other in (object(), (m.c_int * 2)(), m.c_char_p.__mro__[-1]):
            got.append(result_or_error(lambda: descr.__get__(other, type(other))))
            got.append(result_or_error(lambda: descr.__set__(other, 1)))
        x = MyInt(4)
        got += [result_or_error(lambda: x.value), result_or_error(lambda: setattr(x, "value", 9)), x.value,
                result_or_error(lambda: setattr(x, "value", "a")), result_or_error(lambda: delattr(x, "value"))]
        results.append([str(r).replace("_ctypes._SimpleCData", "_SimpleCData") for r in got])
    assert results[0] == results[1]
