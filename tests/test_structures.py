"""Structures and unions: differential against stdlib ctypes, and calls by value and
by pointer through the repository's C library (tests/clib/records.c).

ctypes is the oracle for records without bit-fields (there it agrees with the
compiler); bit-field layout is checked against the compiler in
test_record_layout_vs_gcc.py.
"""

from __future__ import annotations

import gc
import math
import weakref

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ctypes as std
import ferrotypes as ft

SIMPLE = ["c_char", "c_byte", "c_ubyte", "c_short", "c_ushort", "c_int", "c_uint",
          "c_long", "c_ulong", "c_longlong", "c_ulonglong", "c_float", "c_double",
          "c_void_p", "c_bool", "c_wchar"]


def _field_type(mod, spec):
    name, length = spec
    t = getattr(mod, name)
    return t * length if length else t


field_specs = st.lists(st.tuples(st.sampled_from(SIMPLE), st.sampled_from([None, None, 1, 3])), min_size=1, max_size=8)


def _build(mod, specs, union=False, pack=None, nested=None):
    fields = [(f"f{i}", _field_type(mod, s)) for i, s in enumerate(specs)]
    if nested is not None:
        fields.append(("inner", nested))
    ns = {"_fields_": fields}
    if pack:
        ns["_pack_"] = pack
    base = mod.Union if union else mod.Structure
    return type(base)("R", (base,), ns)


@settings(max_examples=200, deadline=None)
@given(specs=field_specs, inner=field_specs, union=st.booleans(), pack=st.sampled_from([None, 1, 2, 4, 8]))
def test_layout_matches_ctypes_without_bit_fields(specs, inner, union, pack):
    records = {}
    for mod in (ft, std):
        nested = _build(mod, inner)
        records[mod] = _build(mod, specs, union, pack, nested)
    a, b = records[ft], records[std]
    assert (ft.sizeof(a), ft.alignment(a)) == (std.sizeof(b), std.alignment(b))
    for name, _ in b._fields_:
        assert (getattr(a, name).offset, getattr(a, name).size) == (getattr(b, name).offset, getattr(b, name).size)


def _value_for(name, draw_int):
    if name in ("c_float", "c_double"):
        return float(draw_int % 1000) / 8
    if name == "c_char":
        return bytes([draw_int % 256])
    if name == "c_wchar":
        return chr(65 + draw_int % 26)
    if name == "c_bool":
        return bool(draw_int % 2)
    if name == "c_void_p":
        return draw_int % 2**64 or None
    return draw_int


@settings(max_examples=200, deadline=None)
@given(specs=field_specs, data=st.data())
def test_field_values_and_bytes_match_ctypes(specs, data):
    specs = [(name, None) for name, _ in specs]
    a, b = _build(ft, specs), _build(std, specs)
    values = [_value_for(name, data.draw(st.integers(-2**70, 2**70))) for name, _ in specs]
    x, y = a(*values), b(*values)
    for (name, _), v in zip(specs, values):
        assert getattr(x, f"f{specs.index((name, None))}") == getattr(y, f"f{specs.index((name, None))}")
    assert bytes(memoryview(x)) == bytes(memoryview(y))
    assert [getattr(x, f"f{i}") for i in range(len(specs))] == [getattr(y, f"f{i}") for i in range(len(specs))]


def test_field_descriptors_repr_offset_and_size_like_ctypes():
    for mod in (ft, std):
        class P(mod.Structure):
            _fields_ = [("x", mod.c_int), ("y", mod.c_int, 3), ("s", mod.c_char * 4)]
        mod.P = P
    assert repr(ft.P.x) == repr(std.P.x)
    assert repr(ft.P.y) == repr(std.P.y)
    assert (ft.P.y.offset, ft.P.y.size) == (std.P.y.offset, std.P.y.size)
    del ft.P, std.P


def test_initialisation_positional_keyword_nested_and_inherited():
    results = []
    for mod in (ft, std):
        class Point(mod.Structure):
            _fields_ = [("x", mod.c_int), ("y", mod.c_int)]

        class Rect(mod.Structure):
            _fields_ = [("ul", Point), ("lr", Point), ("name", mod.c_char * 8)]

        class Point3(Point):
            _fields_ = [("z", mod.c_double)]

        r = Rect((1, 2), Point(3, 4), name=b"box")
        p3 = Point3(1, 2, 3.5)
        results.append((r.ul.x, r.ul.y, r.lr.x, r.lr.y, r.name, p3.x, p3.y, p3.z,
                        mod.sizeof(Point3), Point3.z.offset))
    assert results[0] == results[1]


def test_arrays_of_records_and_multidimensional_arrays():
    out = []
    for mod in (ft, std):
        class P(mod.Structure):
            _fields_ = [("a", mod.c_short), ("b", mod.c_double)]
        arr = (P * 3)((1, 1.5), (2, 2.5))
        grid = ((mod.c_int * 3) * 2)((1, 2, 3), (4, 5, 6))
        arr[2] = P(7, 7.5)
        out.append(([(p.a, p.b) for p in arr], [list(row) for row in grid], grid[1][2], len(grid)))
    assert out[0] == out[1]


def test_anonymous_members_are_reachable_from_the_outer_record():
    for mod in (ft, std):
        class Inner(mod.Union):
            _fields_ = [("i", mod.c_int), ("f", mod.c_float)]

        class Outer(mod.Structure):
            _anonymous_ = ["u"]
            _fields_ = [("tag", mod.c_char), ("u", Inner)]

        o = Outer(b"x", Inner(5))
        assert (o.i, o.u.i, Outer.i.offset) == (5, 5, 4)
        o.i = 9
        assert o.u.i == 9


def test_big_endian_structures_store_big_endian_bytes():
    for mod in (ft, std):
        class BE(mod.BigEndianStructure):
            _fields_ = [("a", mod.c_int), ("b", mod.c_short), ("c", mod.c_double)]
        v = BE(0x01020304, 0x0506, 1.0)
        raw = bytes(memoryview(v))
        assert raw[:6] == b"\x01\x02\x03\x04\x05\x06"
        assert (v.a, v.b, v.c) == (0x01020304, 0x0506, 1.0)


def test_incomplete_types_completed_later_make_linked_lists():
    class Node(ft.Structure):
        pass
    Node._fields_ = [("value", ft.c_int), ("next", ft.POINTER(Node))]
    nodes = [Node(i) for i in range(4)]
    for a, b in zip(nodes, nodes[1:]):
        a.next = ft.pointer(b)
    p, seen = ft.pointer(nodes[0]), []
    while p:
        seen.append(p.contents.value)
        p = p.contents.next
    assert seen == [0, 1, 2, 3]


def test_a_pointer_stored_in_a_structure_keeps_its_target_alive():
    class Holder(ft.Structure):
        _fields_ = [("p", ft.POINTER(ft.c_int))]
    h = Holder()
    target = ft.c_int(42)
    ref = weakref.ref(target)
    h.p = ft.pointer(target)
    del target
    gc.collect()
    assert ref() is not None and h.p.contents.value == 42
    del h
    gc.collect()
    assert ref() is None


def test_keep_alive_objects_are_named_like_ctypes():
    out = []
    for mod in (ft, std):
        class S(mod.Structure):
            _fields_ = [("a", mod.c_char_p), ("b", mod.c_char_p)]

        class T(mod.Structure):
            _fields_ = [("x", mod.c_int), ("s", S)]
        t = T()
        t.s.b = b"kept"
        out.append(t._objects)
    assert out[0] == out[1] == {"1:1": b"kept"}


def test_keep_alive_keys_of_deep_and_wide_stores_match_ctypes():
    out = []
    for mod in (ft, std):
        class S(mod.Structure):
            _fields_ = [("pad", mod.c_int * 3)] + [("p%d" % i, mod.c_char_p) for i in range(20)]

        class T(mod.Structure):
            _fields_ = [("x", mod.c_int), ("arr", S * 18)]
        t = T()
        t.arr[17].p19 = b"deep"
        t.arr[2].p0 = b"shallow"
        strings = (mod.c_char_p * 40)()
        strings[33] = b"wide"
        to_int = mod.pointer(mod.c_int(5))
        to_pointer = mod.pointer(to_int)
        out.append((t._objects, strings._objects, sorted(to_int._objects), sorted(to_pointer._objects)))
    assert out[0] == out[1]
    assert out[0][0] == {"14:11:1": b"deep", "1:2:1": b"shallow"}


def test_cast_shares_objects_like_ctypes():
    for mod in (ft, std):
        array = (mod.c_char_p * 2)()
        array[0] = b"foo"
        p = mod.cast(array, mod.POINTER(mod.c_char_p))
        assert p._objects is array._objects
        assert p._objects == {"0": b"foo", id(array): array}
        assert p[0] == b"foo"


# --- calls through tests/clib/records.c -----------------------------------------------

@pytest.fixture(scope="module")
def types():
    class Point(ft.Structure):
        _fields_ = [("x", ft.c_int), ("y", ft.c_int)]

    class Vec3f(ft.Structure):
        _fields_ = [("x", ft.c_float), ("y", ft.c_float), ("z", ft.c_float)]

    class Tagged(ft.Structure):
        _fields_ = [("id", ft.c_int), ("weight", ft.c_double)]

    class Big(ft.Structure):
        _fields_ = [("a", ft.c_long), ("b", ft.c_long), ("c", ft.c_long), ("d", ft.c_double), ("name", ft.c_char * 8)]

    class WithArray(ft.Structure):
        _fields_ = [("n", ft.c_short), ("values", ft.c_int * 4)]

    class PackedAligned(ft.Structure):
        _pack_ = 2
        _fields_ = [("a", ft.c_short), ("b", ft.c_short), ("c", ft.c_int)]

    class PackedBig(ft.Structure):
        _pack_ = 1
        _fields_ = [("tag", ft.c_char), ("a", ft.c_double), ("b", ft.c_double)]

    class FloatOrInt(ft.Union):
        _fields_ = [("f", ft.c_float), ("i", ft.c_int)]

    class DoubleOrFloats(ft.Union):
        _fields_ = [("d", ft.c_double), ("f", ft.c_float * 2)]

    class Bits(ft.Structure):
        _fields_ = [("a", ft.c_uint, 3), ("b", ft.c_int, 5), ("c", ft.c_uint, 20)]

    return dict(Point=Point, Vec3f=Vec3f, Tagged=Tagged, Big=Big, WithArray=WithArray,
                PackedAligned=PackedAligned, PackedBig=PackedBig, FloatOrInt=FloatOrInt,
                DoubleOrFloats=DoubleOrFloats, Bits=Bits)


def _fn(lib, name, restype, *argtypes):
    f = lib[name]
    f.restype = restype
    f.argtypes = list(argtypes)
    return f


def test_small_integer_records_by_value_and_by_pointer(fttest, types):
    Point, lib = types["Point"], fttest.ft
    p = _fn(lib, "ft_point_make", Point, ft.c_int, ft.c_int)(3, -4)
    assert (p.x, p.y) == (3, -4)
    assert _fn(lib, "ft_point_sum", ft.c_int, Point)(p) == -1
    q = _fn(lib, "ft_point_swap", Point, Point)(p)
    assert (q.x, q.y) == (-4, 3)
    assert _fn(lib, "ft_point_sum_ptr", ft.c_int, ft.POINTER(Point))(ft.byref(p)) == -1
    _fn(lib, "ft_point_scale", None, ft.POINTER(Point), ft.c_int)(p, 5)
    assert (p.x, p.y) == (15, -20)


def test_float_and_mixed_records_by_value(fttest, types):
    Vec3f, Tagged, lib = types["Vec3f"], types["Tagged"], fttest.ft
    v = _fn(lib, "ft_vec3f_scale", Vec3f, Vec3f, ft.c_float)(Vec3f(1, 2, 3), 2.0)
    assert (v.x, v.y, v.z) == (2.0, 4.0, 6.0)
    assert _fn(lib, "ft_vec3f_dot", ft.c_double, Vec3f, Vec3f)(v, Vec3f(1, 1, 1)) == 12.0
    t = _fn(lib, "ft_tagged_next", Tagged, Tagged)(Tagged(7, 1.25))
    assert (t.id, t.weight) == (8, 2.5)


def test_results_are_made_without_running_init_as_in_ctypes(fttest_path):
    made = []
    for mod in (ft, std):
        inits = []

        class Tagged(mod.Structure):
            _fields_ = [("id", mod.c_int), ("weight", mod.c_double)]

            def __init__(self, id, weight):
                inits.append((id, weight))
                mod.Structure.__init__(self, id, weight)

        class Count(mod.c_int):
            def __init__(self, *args):
                inits.append(args)
                mod.c_int.__init__(self, *args)

        lib = mod.CDLL(fttest_path)
        f = _fn(lib, "ft_tagged_next", Tagged, Tagged)
        g = _fn(lib, "ft_add_int", Count, mod.c_int, mod.c_int)
        t, n = f(Tagged(7, 1.25)), g(2, 3)
        made.append(((t.id, t.weight), (type(n).__name__, n.value), inits))
    # __init__ ran for the argument only.
    assert made[0] == made[1] == ((8, 2.5), ("Count", 5), [(7, 1.25)])


def test_large_records_in_memory_between_scalars(fttest, types):
    Big, lib = types["Big"], fttest.ft
    b = _fn(lib, "ft_big_make", Big, ft.c_long, ft.c_long, ft.c_long, ft.c_double, ft.c_char_p)(1, 2, 3, 0.5, b"name")
    assert (b.a, b.b, b.c, b.d, b.name) == (1, 2, 3, 0.5, b"name")
    assert _fn(lib, "ft_big_sum", ft.c_double, Big)(b) == 6.5 + ord("n")
    between = _fn(lib, "ft_big_between", ft.c_double, ft.c_int, Big, ft.c_double)
    assert between(2, b, 2.0) == 2000 + (6.5 + ord("n")) * 2


def test_records_with_arrays_packed_unions_and_bit_fields(fttest, types):
    lib = fttest.ft
    WA = types["WithArray"]
    w = _fn(lib, "ft_with_array_iota", WA, ft.c_short)(5)
    assert (w.n, list(w.values)) == (5, [5, 6, 7, 8])
    assert _fn(lib, "ft_with_array_sum", ft.c_int, WA)(w) == 5 + 5 + 12 + 21 + 32
    PA = types["PackedAligned"]
    pa = _fn(lib, "ft_packed_aligned_make", PA, ft.c_short, ft.c_short, ft.c_int)(1, 2, 3)
    assert (pa.a, pa.b, pa.c) == (1, 2, 3)
    assert _fn(lib, "ft_packed_aligned_sum", ft.c_int, PA)(pa) == 321
    PB = types["PackedBig"]
    pb = _fn(lib, "ft_packed_big_make", PB, ft.c_char, ft.c_double, ft.c_double)(b"\x02", 1.5, 2.5)
    assert (pb.tag, pb.a, pb.b) == (b"\x02", 1.5, 2.5)
    assert _fn(lib, "ft_packed_big_sum", ft.c_double, PB)(pb) == 6.0
    FI = types["FloatOrInt"]
    u = _fn(lib, "ft_float_or_int_from_float", FI, ft.c_float)(1.0)
    assert u.i == 0x3F800000
    assert _fn(lib, "ft_float_or_int_bits", ft.c_int, FI)(u) == 0x3F800000
    DF = types["DoubleOrFloats"]
    d = DF()
    d.f[0], d.f[1] = 1.5, 2.25
    assert _fn(lib, "ft_double_or_floats_sum", ft.c_double, DF)(d) == 3.75
    assert _fn(lib, "ft_double_or_floats_make", DF, ft.c_double)(math.pi).d == math.pi
    B = types["Bits"]
    bits = _fn(lib, "ft_bits_make", B, ft.c_uint, ft.c_int, ft.c_uint)(5, -3, 123456)
    assert (bits.a, bits.b, bits.c) == (5, -3, 123456)
    assert _fn(lib, "ft_bits_sum", ft.c_int, B)(B(1, -2, 3)) == 2



def test_a_bit_field_takes_an_instance_of_its_own_type_by_value():
    # ctypes copies such an instance by the bit-field's encoded size (width << 16 |
    # offset bytes), past both objects, and crashes or corrupts memory: no oracle.
    class SB(ft.Structure):
        _fields_ = [("a", ft.c_int, 3), ("b", ft.c_uint, 5), ("c", ft.c_int, 24)]

    s = SB(ft.c_int(-2), ft.c_uint(31))
    s.c = ft.c_int(-(2 ** 23))
    assert (s.a, s.b, s.c) == (-2, 31, -(2 ** 23))
    with pytest.raises(TypeError, match="field 'a'"):
        s.a = ft.c_long(1)

def test_small_records_with_misaligned_members_are_refused_by_value():
    class Packed(ft.Structure):
        _pack_ = 1
        _fields_ = [("c", ft.c_char), ("i", ft.c_int)]
    f = ft.CDLL(None).abs
    with pytest.raises(TypeError, match="unaligned"):
        f.argtypes = [Packed]
    with pytest.raises(TypeError, match="unaligned"):
        f.restype = Packed


# --- bad input ---------------------------------------------------------------------------

def test_bad_input_raises_the_exceptions_ctypes_raises():
    from difftools import outcome

    def cases(mod):
        class P(mod.Structure):
            _fields_ = [("x", mod.c_int), ("s", mod.c_char * 4)]
        arr = (P * 2)()
        return [
            lambda: arr[2],
            lambda: setattr(P(), "x", "text"),
            lambda: setattr(P(), "s", b"too long"),
            lambda: P(1, b"a", 3),
            lambda: P(1, x=2),
            lambda: mod.resize(P(), 2),
            lambda: P.from_buffer(b"12345678"),
            lambda: P.from_buffer(bytearray(4)),
            lambda: type(mod.Structure)("Q", (mod.Structure,), {"_fields_": [("a", int)]}),
            lambda: type(mod.Structure)("Q", (mod.Structure,), {"_fields_": [("a", mod.c_int, 33)]}),
            lambda: type(mod.Structure)("Q", (mod.Structure,), {"_fields_": [("a", mod.c_double, 3)]}),
            lambda: type(mod.Structure)("Q", (mod.Structure,), {"_fields_": 5}),
            lambda: setattr(P, "_fields_", [("y", mod.c_int)]),
            lambda: mod.POINTER(P)()[0],
        ]
    for a, b in zip(cases(ft), cases(std)):
        assert outcome(a) == outcome(b)


def test_a_wrong_field_value_names_the_field():
    class P(ft.Structure):
        _fields_ = [("count", ft.c_int)]
    with pytest.raises(TypeError, match="count"):
        P().count = "many"


@pytest.mark.parametrize("make_fields", [
    lambda m: [("a", m.c_int, 0)],           # a bit width the type refuses
    lambda m: [("a", m.c_int), ("b", 5)],    # not a C type
    lambda m: 5,                             # not a sequence
], ids=["bad bit width", "not a type", "not a sequence"])
def test_a_failed_fields_assignment_leaves_the_attribute_set_as_in_ctypes(make_fields):
    outcomes = []
    for m in (std, ft):
        class S(m.Structure):
            pass
        fields = make_fields(m)
        with pytest.raises(Exception) as raised:
            S._fields_ = fields
        outcomes.append((type(raised.value), str(raised.value), S.__dict__.get("_fields_") is fields, m.sizeof(S)))
    assert outcomes[0] == outcomes[1]
    assert outcomes[1][2]


def test_a_failed_fields_assignment_on_a_final_record_leaves_it_set_as_in_ctypes():
    outcomes = []
    for m in (std, ft):
        class S(m.Structure):
            _fields_ = [("a", m.c_int)]
        fields = [("b", m.c_int)]
        with pytest.raises(AttributeError):
            S._fields_ = fields
        outcomes.append((S.__dict__["_fields_"] is fields, m.sizeof(S), hasattr(S, "b")))
    assert outcomes[0] == outcomes[1] == (True, 4, False)
