"""``ns.verify()`` and ``include(..., verify=True)``: the namespace checked against the C
compiler that made it (every record's size, alignment and member offsets, every constant).
"""

from __future__ import annotations

import pytest

import ferrotypes as ft
from cdecl_probe import CC
from test_cdecl_headers import HEADERS

pytestmark = pytest.mark.skipif(CC is None, reason="no C compiler")


@pytest.mark.parametrize("header", HEADERS)
def test_verify_passes_over_every_yardstick_header(header):
    ns = ft.include(header, verify=True)
    assert ns.verify() > 100  # the number of values the probe checked


def test_a_cdef_namespace_is_verified_against_its_own_source():
    ns = ft.cdef("""
        #pragma pack(1)
        struct packed { char c; int x; };
        #pragma pack()
        struct bits { unsigned a : 3, b : 7; long l; };
        union u { char c[3]; short s; };
        #define SHIFTED (1u << 4)
        #define NAME "ferro"
        enum e { A = -1, B = 7 };
    """)
    assert ns.verify() >= 8


def _header(path, field_type, constant):
    path.write_text(f"""
        struct sample {{ int a; {field_type} b; char c; }};
        typedef union {{ {field_type} x; char bytes[3]; }} sample_u;
        #define SAMPLE_LIMIT {constant}
        enum sample_kind {{ SAMPLE_ONE = 1, SAMPLE_TWO }};
    """)


def test_a_namespace_the_header_no_longer_matches_is_reported_with_the_differences(tmp_path):
    header = tmp_path / "sample.h"
    _header(header, "long", 3)
    ns = ft.include(str(header), verify=True)
    assert ft.sizeof(ns["struct sample"]) == 24
    _header(header, "short", 4)  # a field type changed, a constant changed
    with pytest.raises(ft.VerifyError) as info:
        ns.verify()
    wrong = info.value.differences
    assert "struct sample: sizeof/_Alignof (24, 8), compiler (8, 4)" in wrong
    assert "struct sample.b: offset 8, compiler 4" in wrong
    assert "struct sample.c: offset 16, compiler 6" in wrong
    assert "sample_u: sizeof/_Alignof (8, 8), compiler (4, 2)" in wrong
    assert "SAMPLE_LIMIT: 3, compiler 4" in wrong
    assert len(wrong) == 5, wrong  # struct sample.a and the enum still agree
    message = str(info.value)
    assert message.startswith(f"{header}: 5 of ") and "SAMPLE_LIMIT: 3, compiler 4" in message
    assert isinstance(info.value, ft.CDeclError)


def test_a_probe_the_compiler_rejects_is_a_verify_error():
    ns = ft.cdef("struct s { int a; };")
    ns._probe = (None, [], "struct s { int a; }")  # the C text lost its semicolon
    with pytest.raises(ft.VerifyError, match="rejected the probe"):
        ns.verify()
