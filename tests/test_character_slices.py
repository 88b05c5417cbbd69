"""Slices of character arrays and pointers (`c_char`, `c_wchar` and subclasses of
them) against stdlib ctypes: a slice is bytes or str even where an element of a
subclass reads as an instance, whatever the memory holds (lone surrogates, code
points past U+10FFFF) and whatever the slice."""

import ctypes

from hypothesis import assume, given, settings
from hypothesis import strategies as st

import ferrotypes


def outcome(action):
    try:
        return ("ok", action())
    except Exception as exc:
        return ("error", type(exc).__name__)


def element_type(module, name, subclass):
    base = getattr(module, name)
    return type("Sub", (base,), {}) if subclass else base


#: Wide characters: ASCII, a lone surrogate, the last code point, one past it, and
#: a negative wchar_t.
wide_units = st.lists(st.sampled_from([0x61, 0x62, 0, 0xE9, 0xDC80, 0x10FFFF, 0x110000, -1]), min_size=0, max_size=6)
byte_units = st.lists(st.integers(0, 255), min_size=0, max_size=6)
bounds = st.one_of(st.none(), st.integers(-8, 8))
steps = st.one_of(st.none(), st.sampled_from([-3, -2, -1, 1, 2, 3]))


def filled(module, element, units):
    """An array of `element` over memory holding `units` (as wchar_t or bytes)."""
    raw = (module.c_int * len(units))(*units) if module.sizeof(element) == 4 else (module.c_ubyte * len(units))(*units)
    return (element * len(units)).from_buffer(raw), raw


@settings(max_examples=300, deadline=None)
@given(wide=st.booleans(), subclass=st.booleans(), data=st.data(), start=bounds, stop=bounds, step=steps)
def test_array_slices_match_ctypes(wide, subclass, data, start, stop, step):
    units = data.draw(wide_units if wide else byte_units)
    results = []
    for m in (ctypes, ferrotypes):
        element = element_type(m, "c_wchar" if wide else "c_char", subclass)
        array, _raw = filled(m, element, units)
        results.append(outcome(lambda: array[start:stop:step]))
    assert results[0] == results[1]


@settings(max_examples=300, deadline=None)
@given(wide=st.booleans(), subclass=st.booleans(), data=st.data(), start=bounds, stop=st.integers(-8, 8), step=steps)
def test_pointer_slices_match_ctypes(wide, subclass, data, start, stop, step):
    # ctypes reads one element of an empty stepped slice (docs/migrating.md).
    assume(not ((0 if start is None else start) == stop and step is not None and abs(step) >= 2))
    units = data.draw(wide_units if wide else byte_units)
    # Room around the units, so that any index in -8..8 reads memory the test owns
    # (index 8 of an empty run is the ninth unit after the pointer).
    padded = [0] * 8 + units + [0] * 9
    results = []
    for m in (ctypes, ferrotypes):
        element = element_type(m, "c_wchar" if wide else "c_char", subclass)
        array, _raw = filled(m, element, padded)
        pointer = m.cast(m.byref(array, 8 * m.sizeof(element)), m.POINTER(element))
        results.append(outcome(lambda: pointer[start:stop:step]))
    assert results[0] == results[1]


def test_wchar_subclass_slice_is_a_str_as_in_ctypes():
    """The case that raised TypeError: the elements, instances of the subclass, were
    joined as if they were str."""
    for m in (ctypes, ferrotypes):
        class W(m.c_wchar):
            pass

        a = (W * 3)(*"abc")
        assert isinstance(a[0], W)
        assert a[0:2] == "ab"
        assert a[::-1] == "cba"
        assert m.cast(a, m.POINTER(W))[1:3] == "bc"


def outcome_with_message(action):
    try:
        value = action()
        return ("ok", type(value).__name__, value)
    except Exception as exc:
        return ("error", type(exc).__name__, str(exc))


class Index:
    """A bound with an `__index__` method (Python code the fast path leaves alone)."""

    def __init__(self, value):
        self.value = value

    def __index__(self):
        return self.value


#: Bounds of `buf[i:j]`: small ints, ints past the length and past `isize`, bools,
#: `__index__` objects and things that are not indices.
char_bounds = st.one_of(
    st.none(),
    st.integers(-12, 12),
    st.sampled_from([2**62, -(2**62), 2**63 - 1, -(2**63), 2**70, -(2**70), True, False]),
    st.integers(-12, 12).map(Index),
    st.sampled_from([1.5, "1", b"x"]),
)
char_steps = st.one_of(st.none(), st.sampled_from([1, -1, 2, 0, True, 2**70]), st.just(Index(1)))


def char_array(module, form, content):
    """A `c_char` array of 10 holding `content`, in one of the forms a slice meets:
    a string buffer (owned memory), a view on a buffer, an instance of an array
    subclass, an array of a `c_char` subclass, of the byte-swapped `c_char`, and of
    a second array type of `c_char`."""
    if form == "buffer":
        return module.create_string_buffer(content, 10), None
    if form == "view":
        raw = bytearray(content.ljust(10, b"\0"))
        return (module.c_char * 10).from_buffer(raw), raw
    element = {
        "char subclass": type("Sub", (module.c_char,), {}),
        "big-endian": module.c_char.__ctype_be__,
        "little-endian": module.c_char.__ctype_le__,
    }.get(form, module.c_char)
    cls = type("Buf", (element * 10,), {}) if form == "array subclass" else element * 10
    return cls(*[content[i : i + 1] for i in range(len(content))]), None


char_forms = st.sampled_from(["buffer", "view", "array subclass", "char subclass", "big-endian", "little-endian"])


@settings(max_examples=400, deadline=None)
@given(form=char_forms, content=st.binary(max_size=10), start=char_bounds, stop=char_bounds, step=char_steps)
def test_char_array_slices_match_ctypes(form, content, start, stop, step):
    """`buf[i:j]` (and with a step) of a `c_char` array, with every kind of bound,
    gives what ctypes gives: the same bytes, or the same error and message."""
    results = []
    for m in (ctypes, ferrotypes):
        array, _raw = char_array(m, form, content)
        results.append(outcome_with_message(lambda: array[start:stop] if step is None else array[start:stop:step]))
    assert results[0] == results[1]


def test_char_array_slice_errors_match_ctypes():
    for index in [slice(0, 8, 0), slice(1.5, 2), slice("a", None), slice(None, None, "x"), "x", 1.5, None]:
        results = []
        for m in (ctypes, ferrotypes):
            buf = m.create_string_buffer(b"abcdef", 64)
            results.append(outcome_with_message(lambda: buf[index]))
        assert results[0] == results[1], index


def test_char_array_slice_bounds_fitted_as_in_ctypes():
    """Bounds past either end, negative ones and empty runs, on owned memory (closed
    arenas, whose slices raise, are tested in test_arena.py)."""
    results = []
    for m in (ctypes, ferrotypes):
        buf = m.create_string_buffer(b"abcdef", 64)
        results.append((buf[:8], buf[2:], buf[-3:], buf[:0], buf[60:100], buf[-100:2]))
    assert results[0] == results[1]
