"""The standard library's ctypes objects wherever ferrotypes takes its own (issue 20,
part 1): calls without ``argtypes``, initialisers and stores, ``pointer.contents``,
``cast``, ``addressof``, ``sizeof``, ``byref``, ``memmove``/``memset``,
``string_at``/``wstring_at``.

Every scenario is a function of a module, ``m``, that makes the *source* objects
(values, pointers, arrays, structures, ``byref``s) with ``m`` and hands them to
ferrotypes (targets, functions and ``cast``'s type are always ferrotypes'). It runs once
with ``m = ferrotypes`` and once with ``m = ctypes``; both runs must give the same
outcome: the same values read back, the same effects of real C functions (the
repository's test library and libc), or the same exception type.
"""

from __future__ import annotations

import ctypes as std
import gc

import numpy as np
import pytest
from difftools import outcome, same_value
from hypothesis import given, settings
from hypothesis import strategies as st

import ferrotypes as ft



def record(m, name):
    """The record classes of the scenarios, one per module (fields of that module)."""
    key = (m, name)
    if key not in _classes:
        if name == "Point":
            fields = [("x", m.c_int), ("y", m.c_int)]
        elif name == "Vec3f":
            fields = [("x", m.c_float), ("y", m.c_float), ("z", m.c_float)]
        elif name == "Swapped":  # same size as Point, other names
            fields = [("y", m.c_int), ("x", m.c_int)]
        elif name == "Wide":  # same names as Point, other types
            fields = [("x", m.c_long), ("y", m.c_long)]
        _classes[key] = type(name, (m.Structure,), {"_fields_": fields})
    return _classes[key]


class FtPoint(ft.Structure):
    _fields_ = [("x", ft.c_int), ("y", ft.c_int)]


#: (module, name) -> class; ferrotypes' Point is the one the targets below hold.
_classes: dict = {(ft, "Point"): FtPoint}


class Holder(ft.Structure):
    _fields_ = [("p", FtPoint), ("q", ft.POINTER(FtPoint)), ("n", ft.c_int * 2), ("f", ft.POINTER(ft.c_float)),
                ("d", ft.c_double)]


def same(scenario):
    """Runs ``scenario`` with both modules and checks the outcomes agree."""
    ours, theirs = outcome(lambda: scenario(ft)), outcome(lambda: scenario(std))
    assert ours[0] == theirs[0], f"ferrotypes sources: {ours}, ctypes sources: {theirs}"
    if ours[0] == "ok":
        assert ours[1] == theirs[1], f"ferrotypes sources: {ours[1]!r}, ctypes sources: {theirs[1]!r}"
    else:
        assert ours == theirs
    return ours


def fresh(lib, name, restype=None, argtypes=None):
    """A fresh ferrotypes function (item access is not cached on the library)."""
    f = lib.ft[name]
    if restype is not None:
        f.restype = restype
    if argtypes is not None:
        f.argtypes = argtypes
    return f


# --- calls without argtypes -------------------------------------------------------------------


def test_untyped_simple_values_pass_by_value(fttest):
    add = fresh(fttest, "ft_add_int")
    assert same(lambda m: add(m.c_int(3), m.c_int(-10))) == ("ok", -7)
    add_double = fresh(fttest, "ft_add_double", ft.c_double)
    assert same(lambda m: add_double(m.c_double(1.5), m.c_double(2.25))) == ("ok", 3.75)


def test_untyped_pointers_arrays_and_byref_pass_addresses(fttest, libc):
    total = fresh(fttest, "ft_sum_doubles", ft.c_double)
    values = lambda m: (m.c_double * 3)(1.0, 2.0, 4.0)  # noqa: E731
    assert same(lambda m: total(values(m), 3)) == ("ok", 7.0)
    assert same(lambda m: total(m.cast(values(m), m.POINTER(m.c_double)), 2)) == ("ok", 3.0)
    assert same(lambda m: total(m.byref(values(m), 8), 2)) == ("ok", 6.0)

    def divmod_(m):
        q, r = m.c_int(), m.c_int()
        fresh(fttest, "ft_divmod", None)(17, 5, m.byref(q), m.byref(r))
        return q.value, r.value

    assert same(divmod_) == ("ok", (3, 2))
    strlen = fresh(libc, "strlen")
    assert same(lambda m: strlen(m.create_string_buffer(b"hello"))) == ("ok", 5)
    assert same(lambda m: strlen(m.c_char_p(b"abc"))) == ("ok", 3)


def test_untyped_structures_pass_by_value_and_by_pointer(fttest):
    point_sum = fresh(fttest, "ft_point_sum")
    assert same(lambda m: point_sum(record(m, "Point")(3, 4))) == ("ok", 7)
    dot = fresh(fttest, "ft_vec3f_dot", ft.c_double)
    vec = lambda m, *v: record(m, "Vec3f")(*v)  # noqa: E731
    assert same(lambda m: dot(vec(m, 1, 2, 3), vec(m, 4, 5, 6))) == ("ok", 32.0)

    def scale(m):
        p = record(m, "Point")(1, 2)
        fresh(fttest, "ft_point_scale", None)(m.pointer(p), 10)
        fresh(fttest, "ft_point_scale", None)(m.byref(p), 2)
        return p.x, p.y

    assert same(scale) == ("ok", (20, 40))


def test_untyped_refusals_agree(fttest):
    f = fresh(fttest, "ft_add_int")
    same(lambda m: f(m.c_int))  # a class is no argument
    assert same(lambda m: f(m.c_void_p.from_param(7))) == ("ok", 7)  # an address alone
    # A stdlib CArgObject of a number (what c_int.from_param(5) gives) shows its value
    # to nothing but its repr: refused, where ferrotypes' own passes.
    with pytest.raises(ft.ArgumentError, match="argument 1: TypeError: Don't know how to convert parameter 1"):
        f(std.c_int.from_param(5))


def packed_records(m):
    """``ft_packed_big`` (pack 1: a char, then two doubles), a same-sized impostor with
    another first field name, a union and a bit-field record, of module ``m``."""
    key = (m, "packed")
    if key not in _classes:
        packed = type("PackedBig", (m.Structure,), {"_pack_": 1, "_fields_": [("tag", m.c_char), ("a", m.c_double),
                                                                                 ("b", m.c_double)]})
        impostor = type("Impostor", (m.Structure,), {"_pack_": 1, "_fields_": [("mark", m.c_char), ("a", m.c_double),
                                                                                  ("b", m.c_double)]})
        union = type("FloatOrInt", (m.Union,), {"_fields_": [("f", m.c_float), ("i", m.c_int)]})
        bits = type("Bits", (m.Structure,), {"_fields_": [("a", m.c_uint, 3), ("b", m.c_int, 5), ("c", m.c_uint, 20)]})
        _classes[key] = packed, impostor, union, bits
    return _classes[key]


def test_records_by_value_match_by_layout(fttest):
    """With argtypes and without: a stdlib record passes by value where its fields,
    offsets and size are those of the declared class (its buffer format, ``B`` for
    every packed record, says too little), and not otherwise."""
    packed, _, union, bits = packed_records(ft)
    typed = {name: fresh(fttest, name, restype, [argtype]) for name, restype, argtype in
             [("ft_packed_big_sum", ft.c_double, packed), ("ft_float_or_int_bits", ft.c_int, union),
              ("ft_bits_sum", ft.c_int, bits)]}
    untyped = {name: fresh(fttest, name, f.restype) for name, f in typed.items()}

    def calls(m, functions):
        their_packed, _, their_union, their_bits = packed_records(m)
        return (functions["ft_packed_big_sum"](their_packed(b"\x02", 1.5, 4.0)),
                functions["ft_float_or_int_bits"](their_union(i=77)),
                functions["ft_bits_sum"](their_bits(5, -3, 1000)))

    assert same(lambda m: calls(m, typed)) == ("ok", (7.5, 77, 1002))
    assert same(lambda m: calls(m, untyped)) == ("ok", (7.5, 77, 1002))
    same(lambda m: typed["ft_packed_big_sum"](packed_records(m)[1](b"\x02", 1.5, 4.0)))  # the impostor
    with pytest.raises(ft.ArgumentError, match="expected ferrotypes PackedBig, got ctypes Impostor"):
        typed["ft_packed_big_sum"](packed_records(std)[1](b"\x02", 1.5, 4.0))


def test_a_record_ferrotypes_lays_out_otherwise_is_refused(fttest):
    """``struct { int a:3; char s[4]; }``: GCC and ferrotypes put ``s`` at offset 1,
    the stdlib's ctypes (before 3.14) at 4. Such a stdlib record stands for no
    ferrotypes class: refused by value and in stores, with TypeErrors that say why;
    pointers to it and arrays of it still pass and cast as addresses."""
    fields = lambda m: [("a", m.c_int, 3), ("s", m.c_char * 4)]  # noqa: E731
    theirs = type("Bits", (std.Structure,), {"_fields_": fields(std)})
    ours = type("Bits", (ft.Structure,), {"_fields_": fields(ft)})
    if theirs.s.offset == ours.s.offset:
        pytest.skip("this Python's ctypes lays the record out as GCC does")
    with pytest.raises(ft.ArgumentError, match="ctypes Bits has no ferrotypes equivalent"):
        fresh(fttest, "ft_add_int")(theirs())
    with pytest.raises(TypeError, match="expected ferrotypes Bits, got ctypes Bits"):
        (ours * 1)(theirs())
    assert ft.cast(ft.pointer(ours()), ft.c_void_p).value  # its pointers still cast
    one, two = theirs(), (theirs * 2)()
    assert ft.cast(std.pointer(one), ft.c_void_p).value == std.addressof(one)
    assert ft.cast(two, ft.c_void_p).value == std.addressof(two)
    same_pointer = fresh(fttest, "ftnp_same_pointer", ft.c_void_p)
    assert same_pointer(std.pointer(one)) == std.addressof(one)
    assert same_pointer(two) == std.addressof(two)


# --- initialisers and stores ------------------------------------------------------------------


def test_array_initialisers_and_element_stores(libc):
    assert same(lambda m: (ft.c_int * 3)(m.c_int(1), 2, m.c_int(3))[:]) == ("ok", [1, 2, 3])

    def element_store(m):
        a = (ft.c_double * 2)()
        a[1] = m.c_double(2.5)
        a[0:1] = [m.c_double(-1.0)]
        return a[:]

    assert same(element_store) == ("ok", [-1.0, 2.5])
    points = lambda m: (FtPoint * 2)(record(m, "Point")(1, 2), record(m, "Point")(3, 4))  # noqa: E731
    assert same(lambda m: [(p.x, p.y) for p in points(m)]) == ("ok", [(1, 2), (3, 4)])
    # an array of arrays, from arrays of the other module
    assert same(lambda m: [r[:] for r in (ft.c_short * 2 * 2)((m.c_short * 2)(1, 2), (m.c_short * 2)(3, 4))]) \
        == ("ok", [[1, 2], [3, 4]])


def test_structure_initialisers_and_field_stores(fttest):
    point_sum_ptr = fresh(fttest, "ft_point_sum_ptr", ft.c_int, [ft.POINTER(FtPoint)])

    def build(m):
        point = record(m, "Point")
        h = Holder(point(1, 2), m.pointer(point(30, 40)), (m.c_int * 2)(5, 6), None, m.c_double(0.5))
        h.p = point(7, 8)
        return h.p.x, h.p.y, h.q[0].x, h.n[:], h.d, point_sum_ptr(h.q)

    assert same(build) == ("ok", (7, 8, 30, [5, 6], 0.5, 70))

    def array_into_pointer_field(m):
        h = Holder()
        h.q = (record(m, "Point") * 2)((1, 1), (2, 5))  # decays to its first element
        return h.q[1].y, point_sum_ptr(h.q)

    assert same(array_into_pointer_field) == ("ok", (5, 2))


def test_pointer_arrays_from_pointers_of_either_module(fttest):
    """An array of ``POINTER(c_float)`` built from the stdlib's ``LP_c_float`` objects
    (as numpy's ``arr.ctypes.data_as`` makes them), read back and through C."""
    rows = [np.array([1.0, 2.0], dtype=np.float32), np.array([10.0, 20.0], dtype=np.float32)]

    def table(m):
        pointers = (ft.POINTER(ft.c_float) * 2)(*(r.ctypes.data_as(m.POINTER(m.c_float)) for r in rows))
        pointers[1] = m.cast(rows[1].ctypes.data, m.POINTER(m.c_float))
        return [pointers[i][j] for i in range(2) for j in range(2)]

    assert same(table) == ("ok", [1.0, 2.0, 10.0, 20.0])


IntCallback = ft.CFUNCTYPE(ft.c_int, ft.c_int)


class CallbackHolder(ft.Structure):
    _fields_ = [("tag", ft.c_int), ("cb", IntCallback)]


def test_callbacks_of_either_module_stored_and_called_by_c(fttest):
    """A callback stored in a structure field and an array of function pointers, which
    C calls (``ftcb_call_held``, ``ftcb_call_each``); each callback lives as long as
    what holds it."""
    call_held = fresh(fttest, "ftcb_call_held", ft.c_int, [ft.POINTER(CallbackHolder), ft.c_int])
    call_each = fresh(fttest, "ftcb_call_each", ft.c_int, [ft.POINTER(IntCallback), ft.c_int, ft.c_int])

    def calls(m):
        prototype = m.CFUNCTYPE(m.c_int, m.c_int)
        holder = CallbackHolder(100, prototype(lambda x: 2 * x))
        callbacks = (IntCallback * 2)(prototype(lambda x: x + 1), prototype(lambda x: x * x))
        gc.collect()
        return call_held(ft.byref(holder), 21), call_each(callbacks, 2, 5), holder.cb(4)

    assert same(calls) == ("ok", (142, 31, 8))
    same(lambda m: CallbackHolder(1, m.CFUNCTYPE(m.c_int, m.c_double)(lambda x: 0)))  # another prototype


def test_pointer_contents_share_the_memory():
    def contents(m):
        source = m.c_int(5)
        p = ft.POINTER(ft.c_int)(source)
        p[0] = 9  # written through the pointer: the source changes
        second = m.c_int(1)
        p.contents = second
        p[0] += 41
        return source.value, second.value, p.contents.value

    assert same(contents) == ("ok", (9, 42, 42))


def test_pointer_to_an_instance_of_either_module():
    def point_at(m):
        source = m.c_double(1.5)
        p = ft.pointer(source)
        p[0] = 3.0
        del source
        gc.collect()
        return type(p).__name__, type(p).__module__, p[0], ft.pointer(record(m, "Point")(1, 2)).contents.y

    assert same(point_at) == ("ok", ("LP_c_double", "ferrotypes", 3.0, 2))


def test_stored_objects_are_kept_alive():
    def kept(m):
        a = (ft.POINTER(ft.c_int) * 1)()
        a[0] = m.pointer(m.c_int(42))  # the int lives only in the pointer's keep-alive
        h = Holder()
        h.q = m.pointer(record(m, "Point")(3, 4))
        h.f = np.array([2.5], dtype=np.float32).ctypes.data_as(m.POINTER(m.c_float))
        p = ft.POINTER(ft.c_double)(m.c_double(1.25))
        gc.collect()
        np.ones(1000)  # reuse freed memory, if any was freed
        return a[0][0], h.q[0].y, h.f[0], p[0]

    assert same(kept) == ("ok", (42, 4, 2.5, 1.25))


def test_from_param_takes_either_module(fttest):
    # The wrapper pattern: an argtypes entry whose from_param delegates to a type's.
    def delegating(ft_type):
        return type("Param", (), {"from_param": classmethod(lambda cls, obj: ft_type.from_param(obj))})

    total = fresh(fttest, "ft_sum_doubles", ft.c_double, [delegating(ft.POINTER(ft.c_double)), ft.c_int])
    values = lambda m: (m.c_double * 3)(1.0, 2.0, 4.0)  # noqa: E731
    assert same(lambda m: total(values(m), 3)) == ("ok", 7.0)
    assert same(lambda m: total(m.cast(values(m), m.POINTER(m.c_double)), 2)) == ("ok", 3.0)
    assert same(lambda m: total(m.byref(m.c_double(2.5)), 1)) == ("ok", 2.5)
    same(lambda m: total(m.byref(values(m), 8), 2))  # a byref of an array: refused alike
    same(lambda m: total(m.pointer(m.c_float(1)), 1))
    add = fresh(fttest, "ft_add_int", ft.c_int, [delegating(ft.c_int)] * 2)
    assert same(lambda m: add(m.c_int(3), m.c_int(-10))) == ("ok", -7)
    same(lambda m: add(m.c_double(3), 1))  # refused alike
    assert same(lambda m: FtPoint.from_param(record(m, "Point")(1, 2)).y) == ("ok", 2)
    same(lambda m: FtPoint.from_param(record(m, "Swapped")(1, 2)))  # refused alike
    with pytest.raises(TypeError, match="^expected ferrotypes c_int, got ctypes c_double$"):
        ft.c_int.from_param(std.c_double(1))

def test_mismatches_are_refused_alike():
    floats = ft.POINTER(ft.c_float) * 1

    def store(a, i, value):
        a[i] = value

    same(lambda m: store(floats(), 0, m.pointer(m.c_double(1))))
    same(lambda m: store((ft.c_int * 1)(), 0, m.c_double(1.0)))
    same(lambda m: store((ft.c_int * 1)(), 0, m.c_int.__ctype_be__(1)))  # another byte order
    same(lambda m: Holder(record(m, "Swapped")(1, 2)))
    same(lambda m: Holder(record(m, "Wide")(1, 2)))
    same(lambda m: Holder(None, (m.c_int * 2)()))  # an int array for a Point pointer
    same(lambda m: setattr(Holder(), "n", (m.c_int * 3)()))  # another length

    def contents(m):
        ft.POINTER(ft.c_int)().contents = m.c_uint(1)

    same(contents)


def test_mismatch_messages_name_both_libraries():
    a = (ft.POINTER(ft.c_float) * 1)()
    with pytest.raises(TypeError, match="^expected ferrotypes LP_c_float, got ctypes LP_c_double$"):
        a[0] = std.pointer(std.c_double(1))
    with pytest.raises(TypeError, match="^expected ferrotypes c_int, got ctypes c_uint$"):
        ft.POINTER(ft.c_int)(std.c_uint(1))
    with pytest.raises(TypeError, match="^expected ferrotypes FtPoint, got ctypes Swapped$"):
        Holder(record(std, "Swapped")(1, 2))
    takes_floats = ft.CFUNCTYPE(None, ft.POINTER(ft.c_float))(lambda p: None)
    with pytest.raises(ft.ArgumentError, match=r"^argument 1: TypeError: expected ferrotypes pointer to c_float "
                                               r"\(format '<f', itemsize 4\), got ctypes LP_c_double$"):
        takes_floats(std.pointer(std.c_double(1)))


def test_layouts_are_matched_recursively_and_remembered():
    from ferrotypes import _stdlib_ctypes

    class StdNode(std.Structure):
        pass

    StdNode._fields_ = [("next", std.POINTER(StdNode)), ("value", std.c_int * 2)]

    class FtNode(ft.Structure):
        pass

    FtNode._fields_ = [("next", ft.POINTER(FtNode)), ("value", ft.c_int * 2)]

    class Derived(StdNode):
        _fields_ = [("extra", std.c_char)]

    assert _stdlib_ctypes.layout_matches(StdNode, FtNode)
    assert not _stdlib_ctypes.layout_matches(Derived, FtNode)
    assert _stdlib_ctypes._verdicts[StdNode][FtNode] is True
    n = FtNode()
    n.next = std.pointer(StdNode(None, (std.c_int * 2)(1, 2)))
    assert n.next[0].value[:] == [1, 2]


def test_records_that_point_to_each_other_have_ferrotypes_equivalents(fttest):
    """The ferrotypes class standing for a stdlib record is built before its fields, so
    records pointing to themselves and to each other get one, checked as a whole."""
    from ferrotypes import _stdlib_ctypes

    class A(std.Structure):
        pass

    class B(std.Structure):
        _fields_ = [("a", std.POINTER(A)), ("n", std.c_int)]

    A._fields_ = [("b", std.POINTER(B)), ("next", std.POINTER(A)), ("n", std.c_int)]
    a = A(n=3)
    b = B(std.pointer(a), 5)
    a.b, a.next = std.pointer(b), std.pointer(a)
    p = ft.pointer(a)
    assert type(p).__module__ == "ferrotypes"
    assert (p[0].n, p[0].b[0].n, p[0].b[0].a[0].next[0].n) == (3, 5, 3)
    assert _stdlib_ctypes.layout_matches(A, _stdlib_ctypes.twin_class(A))
    assert fresh(fttest, "ftnp_same_pointer", ft.c_void_p)(std.pointer(b)) == std.addressof(b)

    class Bits(std.Structure):  # ctypes puts s at 4, GCC and ferrotypes at 1 (see below)
        _fields_ = [("a", std.c_int, 3), ("s", std.c_char * 4)]

    class Broken(std.Structure):  # holds such a record by value
        _fields_ = [("next", std.POINTER(A)), ("bits", Bits)]

    assert Bits.s.offset == 4
    for attempt in range(2):  # refused, then refused at once from memory
        with pytest.raises(TypeError, match="ctypes Broken has no ferrotypes equivalent"):
            _stdlib_ctypes.twin_class(Broken)
    assert _stdlib_ctypes.twin_class(A) is _stdlib_ctypes.twin_class(A)  # A's twin stays


# --- cast, addressof, sizeof, byref, memmove, memset, string_at ---------------------------------


def test_cast_keeps_and_reads_the_source():
    def cast(m):
        values = (m.c_int * 3)(1, 2, 3)
        as_ints = ft.cast(values, ft.POINTER(ft.c_int))
        through_pointer = ft.cast(m.cast(values, m.POINTER(m.c_int)), ft.POINTER(ft.c_short))
        by_reference = ft.cast(m.byref(values, 4), ft.POINTER(ft.c_int))
        del values
        gc.collect()
        return as_ints[2], through_pointer[2], by_reference[0], ft.cast(m.c_void_p(16), ft.c_void_p).value

    assert same(cast) == ("ok", (3, 2, 2, 16))
    same(lambda m: ft.cast(m.c_int(5), ft.c_void_p))  # a number is no address: refused alike


def test_addressof_sizeof_and_byref():
    def measure(m):
        value, point = m.c_double(2.0), record(m, "Point")(1, 2)
        return (ft.addressof(value) == m.addressof(value), ft.sizeof(value), ft.sizeof(m.c_short),
                ft.sizeof(point), ft.sizeof(record(m, "Vec3f")), ft.sizeof(m.c_int * 5),
                ft.alignment(m.c_short), ft.alignment(point))

    assert same(measure) == ("ok", (True, 8, 2, 8, 12, 20, 2, 4))
    same(lambda m: ft.addressof(m.c_int))  # a class has no address


def test_byref_of_either_module_reaches_c(fttest):
    divmod_ = fresh(fttest, "ft_divmod", None, [ft.c_int, ft.c_int, ft.POINTER(ft.c_int), ft.POINTER(ft.c_int)])

    def call(m):
        q, r = m.c_int(), (m.c_int * 2)()
        divmod_(-17, 5, ft.byref(q), ft.cast(ft.byref(r, 4), ft.POINTER(ft.c_int)))
        return q.value, r[:]

    assert same(call) == ("ok", (-3, [0, -2]))


def test_memmove_memset_string_at():
    def memory(m):
        buffer = m.create_string_buffer(b"hello world")
        ft.memmove(buffer, b"HE", 2)
        ft.memset(m.byref(buffer, 6), ord("W"), 1)
        copy = m.create_string_buffer(12)
        ft.memmove(copy, buffer, 12)
        wide = m.create_unicode_buffer("h\u00e9llo")
        return (copy.value, ft.string_at(buffer), ft.string_at(m.byref(buffer, 6), 3),
                ft.string_at(m.cast(buffer, m.c_char_p), 2), ft.wstring_at(wide), ft.wstring_at(m.byref(wide, 4), 2))

    assert same(memory) == ("ok", (b"HEllo World", b"HEllo World", b"Wor", b"HE", "h\u00e9llo", "\u00e9l"))


# --- random simple types and values --------------------------------------------------------------

#: simple types with an identity function in the test library (ft_id_NAME).
IDENTITIES = {
    "c_bool": "bool", "c_byte": "schar", "c_ubyte": "uchar", "c_short": "short", "c_ushort": "ushort",
    "c_int": "int", "c_uint": "uint", "c_long": "long", "c_ulong": "ulong", "c_longlong": "longlong",
    "c_ulonglong": "ulonglong", "c_float": "float", "c_double": "double",
}


def values_of(name):
    if name == "c_bool":
        return st.booleans()
    if name in ("c_float", "c_double"):
        return st.floats(width=32 if name == "c_float" else 64, allow_nan=False)
    size = ft.sizeof(getattr(ft, name)) * 8
    signed = not name.startswith("c_u")
    return st.integers(-(2 ** (size - 1)), 2 ** (size - 1) - 1) if signed else st.integers(0, 2**size - 1)


simple_cases = st.sampled_from(sorted(IDENTITIES)).flatmap(lambda name: st.tuples(st.just(name), values_of(name)))


@settings(max_examples=150, deadline=None)
@given(case=simple_cases, target=st.sampled_from(sorted(IDENTITIES)))
def test_random_simple_values_pass_and_store_alike(fttest, case, target):
    """A simple value of either module: passed without argtypes to an identity
    function of its type, stored into an array, a field and through a pointer of
    a random simple type (its own type: stored; any other: refused alike)."""
    name, value = case
    identity = fresh(fttest, f"ft_id_{IDENTITIES[name]}", getattr(ft, name))
    field_holder = type("H", (ft.Structure,), {"_fields_": [("v", getattr(ft, target))]})

    def run(m):
        source = getattr(m, name)(value)
        results = [outcome(lambda: identity(source))]
        results.append(outcome(lambda: (getattr(ft, target) * 1)(source)[0]))
        results.append(outcome(lambda: field_holder(source).v))
        results.append(outcome(lambda: ft.POINTER(getattr(ft, target))(source)[0]))
        return results

    ours, theirs = run(ft), run(std)
    assert [r[0] for r in ours] == [r[0] for r in theirs], (ours, theirs)
    for a, b in zip(ours, theirs):
        assert a[0] != "ok" or same_value(a[1], b[1]), (ours, theirs)
        assert a[0] == "ok" or a == b, (ours, theirs)


@settings(max_examples=100, deadline=None)
@given(source=st.sampled_from(sorted(IDENTITIES)), target=st.sampled_from(sorted(IDENTITIES)),
       lengths=st.tuples(st.integers(1, 4), st.integers(1, 4)))
def test_random_pointers_and_arrays_store_alike(fttest, source, target, lengths):
    """Pointers to and arrays of a random simple type of either module, stored where
    ferrotypes takes pointers to or arrays of another random simple type (of a random
    length): taken when the element types (and lengths) agree, refused alike otherwise;
    and passed without argtypes, their addresses reach C."""
    length, target_length = lengths
    same_pointer = fresh(fttest, "ftnp_same_pointer", ft.c_void_p)
    holder = type("H", (ft.Structure,), {"_fields_": [("p", ft.POINTER(getattr(ft, target))),
                                                        ("a", getattr(ft, target) * target_length)]})

    def run(m):
        element = getattr(m, source)
        values = (element * length)(*(1 for _ in range(length)))
        h = holder()
        results = [outcome(lambda: setattr(h, "p", m.pointer(element(1))))]
        results.append(outcome(lambda: setattr(h, "a", values)))
        results.append(outcome(lambda: setattr(h, "p", values)))  # an array decays where its element type fits
        results.append(outcome(lambda: h.a[:]))
        results.append(outcome(lambda: same_pointer(values) == m.addressof(values)))
        results.append(outcome(lambda: same_pointer(m.pointer(values)) == m.addressof(values)))
        return results

    ours, theirs = run(ft), run(std)
    assert ours == theirs
