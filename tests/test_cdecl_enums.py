"""Enum classes of ``ferrotypes.cdef`` as ferrotypes types (tests/clib/cdecl_enums.h and
.c): each stands for the C integer type GCC gives it wherever a type is taken
(``argtypes``, ``restype``, ``_fields_``, ``sizeof``, ``alignment``, ``POINTER``,
``E * n``), and results and fields read back as members where the value is one, else
as ints. Sizes, alignments, signedness and layouts are the compiler's."""

from __future__ import annotations

import enum
import subprocess

import pytest

import ferrotypes as ft
from cdecl_probe import CC, CLIB, clib_library, clib_namespace, layout_checks

HEADER = CLIB / "cdecl_enums.h"
ENUMS = ["enum ec_color", "enum ec_neg", "enum ec_big", "enum ec_negbig", "enum ec_top", "ec_flag"]

pytestmark = pytest.mark.skipif(CC is None, reason="no C compiler")


@pytest.fixture(scope="module")
def api():
    return clib_namespace("cdecl_enums")


@pytest.fixture(scope="module")
def compiled_enums(tmp_path_factory):
    """``{C name: (sizeof, _Alignof, signed)}`` as the compiler has them."""
    lines = "".join(f'printf("%zu %zu %d\\n", sizeof({e}), _Alignof({e}), ({e})-1 < ({e})0);\n' for e in ENUMS)
    src = tmp_path_factory.mktemp("enums") / "probe.c"
    src.write_text(f'#include <stdio.h>\n#include "{HEADER}"\nint main(void) {{\n{lines}return 0;\n}}\n')
    exe = src.with_suffix("")
    subprocess.run([CC, "-o", str(exe), str(src)], check=True)
    out = subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout.split("\n")
    return {e: tuple(int(v) for v in line.split()) for e, line in zip(ENUMS, out)}


def test_records_holding_enums_match_the_compiler(api):
    checked, wrong = layout_checks(f'#include "{HEADER}"', api)
    assert checked > 20
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("c_name", ENUMS)
def test_sizeof_alignment_and_signedness_are_the_compilers(api, compiled_enums, c_name):
    cls = api[c_name]
    assert issubclass(cls, enum.IntEnum)
    size, align, signed = compiled_enums[c_name]
    assert (ft.sizeof(cls), ft.alignment(cls)) == (size, align)
    assert (ft.sizeof(cls * 3), ft.alignment(cls * 3)) == (3 * size, align)
    assert cls._ctype_(-1).value < 0 if signed else cls._ctype_(-1).value > 0


def test_enum_classes_stand_for_their_integer_type(api):
    color, big = api["enum ec_color"], api["enum ec_big"]
    assert color._ctype_ is ft.c_uint and big._ctype_ is ft.c_ulong  # as GCC picks them
    assert api["enum ec_negbig"]._ctype_ is ft.c_long and api["enum ec_neg"]._ctype_ is ft.c_int
    assert color * 4 is ft.c_uint * 4 and 4 * color is ft.c_uint * 4
    assert ft.POINTER(color) is ft.POINTER(ft.c_uint)
    assert api.ec_flag is api.typeof("ec_flag") and api.EC_A is api.ec_flag.EC_A


def test_parameters_take_members_and_ints_results_give_members(api):
    color = api["enum ec_color"]
    assert api.ec_next.argtypes == [color] and api.ec_next.restype is color
    got = api.ec_next(color.EC_GREEN)
    assert got is color.EC_BLUE
    assert api.ec_next(4) is color.EC_GREEN  # an int is taken
    not_a_member = api.ec_next(color.EC_BLUE)  # 7: C's enums hold any value of their type
    assert type(not_a_member) is int and not_a_member == 7
    assert api.ec_negate(api.EC_MINUS) is api.EC_PLUS
    assert api.ec_negate(5) == -5
    with pytest.raises(ft.ArgumentError):
        api.ec_next("red")


def test_enums_past_int_max_pass_whole(api):
    big, top = api["enum ec_big"], api["enum ec_top"]
    assert api.ec_big_times(big.EC_HUGE, 1) is big.EC_HUGE
    assert api.ec_big_times(1 << 33, 3) == 3 << 33
    assert api.ec_top_minus(top.EC_TOP, 0) is top.EC_TOP
    assert api.ec_top_minus(top.EC_TOP, 5) == (1 << 64) - 6


def test_fields_store_members_and_ints_and_read_back_members(api):
    paint, color, big = api["struct ec_paint"], api["enum ec_color"], api["enum ec_big"]
    p = paint(b"t", color.EC_GREEN, big.EC_HUGE, api.EC_B, api.EC_MINUS, 6)
    assert p.color is color.EC_GREEN and p.big is big.EC_HUGE and p.flag is api.EC_B
    assert p.neg is api.EC_MINUS
    assert [api.ec_paint_get(p, i) for i in range(5)] == [5, 1 << 32, 4, -1, 6]
    assert type(p.bits) is int and p.bits == 6  # an enum bit-field reads as an int
    p.color = 3
    assert type(p.color) is int and p.color == 3
    api.ec_paint_set(ft.byref(p), color.EC_BLUE, 7, api.EC_PLUS)
    assert (p.color, p.big, p.neg) == (color.EC_BLUE, 7, api.EC_PLUS)
    assert p.color is color.EC_BLUE and type(p.big) is int
    assert paint.color.offset == 4 and paint.big.offset == 8


def test_records_with_enum_fields_by_value(api):
    p = api.ec_paint_make(api.EC_GREEN, api.EC_A)
    assert (p.tag, p.color, p.big, p.flag, p.neg, p.bits) == (b"p", api.EC_GREEN, api.EC_HUGE, api.EC_A, api.EC_MINUS, 6)
    assert p.color is api.EC_GREEN and p.flag is api.EC_A


def test_arrays_of_enums(api):
    color = api["enum ec_color"]
    colors = (color * 3)(color.EC_GREEN, color.EC_BLUE, 9)
    assert api.ec_sum_colors(colors, 3) == 20
    assert list(colors) == [5, 6, 9]
    assert memoryview(colors).format == memoryview((ft.c_uint * 3)()).format


def test_a_union_of_a_wide_signed_enum(api):
    either = api["union ec_either"]
    u = either(n=api.EC_LOW)
    assert u.n is api.EC_LOW
    u.n = -5
    assert u.n == -5 and ft.sizeof(either) == 8


def test_callbacks_take_and_return_enums(api):
    seen = []

    def pick(c):
        seen.append(c)
        return api.EC_RED if c == api.EC_GREEN else c + 10

    assert api.ec_apply(pick, api.EC_GREEN) is api.EC_RED
    assert api.ec_apply(pick, 3) == 13
    assert seen == [5, 3]


def test_a_hand_made_class_standing_for_a_type():
    class Mode(enum.IntEnum):
        OFF = 0
        ON = 1
    Mode._ctype_ = ft.c_short

    class Lamp(ft.Structure):
        _fields_ = [("a", ft.c_char), ("mode", Mode)]

    assert (ft.sizeof(Mode), ft.sizeof(Lamp), Lamp.mode.offset) == (2, 4, 2)
    assert Lamp(b"x", 1).mode is Mode.ON
    libc = ft.CDLL(None)
    labs = libc.labs
    labs.argtypes, labs.restype = [ft.c_long], Mode
    assert labs(-1) is Mode.ON


def test_classes_that_stand_for_nothing_are_refused():
    class Plain(enum.IntEnum):
        A = 1

    class Bad(enum.IntEnum):
        A = 1
    Bad._ctype_ = ft.Structure  # not a simple type

    for cls in (Plain, Bad):
        with pytest.raises(TypeError):
            ft.sizeof(cls)
        with pytest.raises(TypeError, match="must be a C type"):
            type("R", (ft.Structure,), {"_fields_": [("x", cls)]})


def test_generated_bindings_have_the_same_enum_classes(tmp_path, monkeypatch):
    from ferrotypes.bind import generate, write_bindings

    path = clib_library("cdecl_enums")
    write_bindings(tmp_path / "enum_bindings.py", generate(str(HEADER), str(path)))
    monkeypatch.syspath_prepend(str(tmp_path))
    import enum_bindings as m

    color = m.ec_color
    assert issubclass(color, enum.IntEnum) and color._ctype_ is ft.c_uint
    assert color * 2 is ft.c_uint * 2 and ft.sizeof(m.ec_big) == 8
    assert m.ec_next(color.EC_GREEN) is color.EC_BLUE and m.ec_next(6) == 7
    assert m.ec_paint_make(m.EC_GREEN, m.EC_A).color is color.EC_GREEN
