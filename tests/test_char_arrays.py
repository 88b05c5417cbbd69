"""`value` and `raw` of c_char arrays (array_types.rs, CharArrayBytes): what they read
and store, and the errors, against stdlib ctypes."""

import ctypes

from hypothesis import given, settings
from hypothesis import strategies as st

import ferrotypes


def outcome(action):
    try:
        return ("ok", action())
    except Exception as exc:
        return ("error", type(exc), str(exc))


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
        results.append((outcome(store), buf.value, buf.raw))
    assert results[0] == results[1]


def test_deleting_is_refused_as_in_ctypes():
    results = []
    for m in (ctypes, ferrotypes):
        buf = m.create_string_buffer(b"ab")
        results.append([outcome(lambda: delattr(buf, name)) for name in ("value", "raw")])
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
