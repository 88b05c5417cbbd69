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
