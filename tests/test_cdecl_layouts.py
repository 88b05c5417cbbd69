"""Record layouts ``ferrotypes.cdef`` cannot write as plain ``_fields_``, judged by the C
compiler: ``aligned(N)`` of every power of two (on records, members and typedefs),
zero-width bit-fields (which ctypes has no spelling for), unnamed bit-fields (which add
no alignment, where a ctypes bit-field adds its type's) and members with an alignment
their class lacks among bit-fields. ``ns.verify()`` checks sizes, alignments and the
offsets of plain members; bit-fields are checked by their bytes: the compiler's program
and the ferrotypes instance each set one member to all ones in a zeroed record, and the
two images must be equal."""

from __future__ import annotations

import random
import re
import warnings

import pytest

import ferrotypes as ft
from cdecl_probe import CC
from ferrotypes import _verify

pytestmark = pytest.mark.skipif(CC is None, reason="no C compiler")

ALIGNMENTS = [2, 4, 8, 16, 32, 64, 128, 4096]


def _bound_silently(source):
    """``cdef(source)`` with every record built: a layout the binding knows differs from
    the compiler's is a ``RuntimeWarning``, made an error here."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        ns = ft.cdef(source)
        for r in ns._records:
            name = _verify.record_c_name(r)
            if name is not None and r["fields"] is not None:
                ns[name] if name.startswith(("struct ", "union ")) else getattr(ns, name)
    return ns


@pytest.mark.parametrize("n", ALIGNMENTS)
def test_aligned_of_any_power_of_two_is_the_compilers(n):
    ns = _bound_silently(f"""
        struct __attribute__((aligned({n}))) on_type {{ int x; }};
        struct on_member {{ char c; int x __attribute__((aligned({n}))); char d; }};
        typedef int aligned_int __attribute__((aligned({n})));
        struct through_typedef {{ char c; aligned_int v; short s; }};
        typedef struct {{ char c; }} __attribute__((aligned({n}))) aligned_typedef_record;
        struct holds_records {{ char c; struct on_type t; aligned_typedef_record r; char d; }};
        union in_union {{ char c; struct on_type t; }};
        struct with_bits {{ char a : 3; int x __attribute__((aligned({n}))); unsigned b : 5; }};
    """)
    assert ns.verify() == 22  # 7 records, 15 members
    assert ft.alignment(ns["struct on_type"]) == max(n, 4)
    assert ft.alignment(ns["struct on_member"]) == max(n, 4)
    if n != 4:
        # A class keeps its type's alignment; the typedef's own is reported under its name.
        # Past 4, GCC keeps the int's 4 bytes: no class can have that size and alignment.
        note = f" (4 bytes, not a multiple of {n}, which no ctypes class's size can be)" if n > 4 else ""
        assert ns.skipped == {"aligned_int": f"aligned({n}) on a typedef: the class keeps alignment 4{note}"}
    else:
        assert ns.skipped == {}


def test_an_aligned_typedef_is_reported_under_its_own_name():
    ns = ft.cdef("""
        typedef struct { int a; } plain_record;
        typedef plain_record wide_record __attribute__((aligned(32)));
        typedef long wide_long __attribute__((aligned(64)));
        struct uses { char c; wide_record r; wide_long l; };
    """)
    ns["struct uses"]
    assert ns.skipped == {
        "wide_record": "aligned(32) on a typedef: the class keeps alignment 4 "
                       "(4 bytes, not a multiple of 32, which no ctypes class's size can be)",
        "wide_long": "aligned(64) on a typedef: the class keeps alignment 8 "
                     "(8 bytes, not a multiple of 64, which no ctypes class's size can be)",
    }
    assert ns.verify() == 6  # struct uses, its members, and plain_record


def test_a_typedef_aligned_past_its_size_is_placed_as_the_compiler_places_it():
    # glibc's __pthread_unwind_buf_t: `typedef struct {...} T __attribute__((__aligned__))`,
    # 104 bytes aligned to 16 for GCC; its class keeps the struct's (104, 8), and records
    # holding it still match the compiler.
    ns = ft.cdef("""
        typedef struct { void *p[13]; } unwind_like __attribute__((__aligned__));
        struct holder { char c; unwind_like buf; char d; };
        union either { char c; unwind_like buf; };
    """)
    assert (ft.sizeof(ns.unwind_like), ft.alignment(ns.unwind_like)) == (104, 8)
    assert "104 bytes, not a multiple of 16" in ns.skipped["unwind_like"]
    assert ft.alignment(ns["struct holder"]) == 16
    checked, wrong = _verify.differences(ns, ns._probe[2], [CC], [], [])
    assert wrong == ["unwind_like: sizeof/_Alignof (104, 8), compiler (104, 16) (a Structure cannot have this layout)"]
    assert checked == 9  # 3 records (one differs), 6 members


def test_the_zero_width_bit_field_of_the_issue():
    ns = _bound_silently("struct z { char a; unsigned : 0; char c; unsigned x : 3; };")
    z = ns["struct z"]
    assert (ft.sizeof(z), ft.alignment(z), z.c.offset) == (8, 4, 4)  # gcc's, printed by verify:
    assert ns.verify() == 3


def test_an_unnamed_bit_field_adds_no_alignment():
    ns = _bound_silently("struct u { char a; long long : 3; char c; };\n"
                         "struct v { short a : 5; unsigned long long : 61; int b : 24; };")
    assert ns.verify() == 4
    assert (ft.sizeof(ns["struct u"]), ft.alignment(ns["struct u"])) == (3, 1)  # as verify found gcc's


# Declared types of the generated records' members: (C spelling, signed).
_BIT_TYPES = [("signed char", True), ("unsigned char", False), ("short", True),
              ("unsigned short", False), ("int", True), ("unsigned int", False),
              ("long long", True), ("unsigned long long", False), ("char", True)]
_PLAIN_TYPES = ["signed char", "short", "int", "long long"]


def _random_struct(rng, index):
    """C text of a struct of bit-fields, zero-width bit-fields and plain members, some
    packed or aligned; and its named members as ``(name, width or None, signed)``."""
    members, named, last_zero = [], [], False
    for i in range(rng.randint(1, 9)):
        roll = rng.random()
        if roll < 0.25 and not last_zero:
            members.append(f"{rng.choice(_BIT_TYPES)[0]} : 0;")
            last_zero = True
            continue
        last_zero = False
        if roll < 0.7:
            ctype, signed = rng.choice(_BIT_TYPES)
            size = {"signed char": 8, "unsigned char": 8, "char": 8, "short": 16,
                    "unsigned short": 16, "int": 32, "unsigned int": 32}.get(ctype, 64)
            width = rng.randint(1, size)
            if rng.random() < 0.15:
                members.append(f"{ctype} : {width};")  # unnamed: padding bits
            else:
                members.append(f"{ctype} m{i} : {width};")
                named.append((f"m{i}", width, signed))
        else:
            ctype = rng.choice(_PLAIN_TYPES)
            attribute = ""
            if rng.random() < 0.3:
                attribute = f" __attribute__((aligned({rng.choice(ALIGNMENTS[:6])})))"
            members.append(f"{ctype} m{i}{attribute};")
            named.append((f"m{i}", None, True))
    record_attribute = ""
    if rng.random() < 0.2:
        record_attribute = f"__attribute__((aligned({rng.choice(ALIGNMENTS[:6])}))) "
    text = f"struct {record_attribute}s{index} {{ {' '.join(members)} }};"
    if rng.random() < 0.15:
        text = f"#pragma pack({rng.choice([1, 2, 4])})\n{text}\n#pragma pack()"
    return text, named


def test_generated_records_with_zero_width_and_unnamed_bit_fields_match_the_compiler():
    rng = random.Random(14)
    structs = [_random_struct(rng, i) for i in range(300)]
    source = "\n".join(text for text, _ in structs) + "\n"
    lines = [source, "#include <stdio.h>", "#include <string.h>", "int main(void) {"]
    for i, (_, named) in enumerate(structs):
        for name, _, _ in named:
            lines.append(f"{{ struct s{i} v; memset(&v, 0, sizeof v); v.{name} = -1;"
                         f' printf("s{i}|{name}|"); for (size_t k = 0; k < sizeof v; k++)'
                         f' printf("%02x", ((unsigned char *)&v)[k]); printf("\\n"); }}')
    lines.append("return 0; }")
    images = {}
    for line in _verify.probe_output([CC], [], "\n".join(lines) + "\n").splitlines():
        record, name, image = line.split("|")
        images[record, name] = image

    ns = _bound_silently(source)
    assert ns.verify() > 300  # sizes, alignments and plain members' offsets
    wrong = []
    for i, (text, named) in enumerate(structs):
        cls = ns[f"struct s{i}"]
        for name, width, signed in named:
            value = cls()
            if width is None or signed:
                setattr(value, name, -1)
            else:
                setattr(value, name, (1 << width) - 1)
            if bytes(value).hex() != images[f"s{i}", name]:
                wrong.append(f"{text}\n  {name}: {bytes(value).hex()}, compiler {images[f's{i}', name]}")
    assert not wrong, "\n".join(wrong[:10])
    assert sum(" : 0;" in text for text, _ in structs) > 100
    assert sum(re.search(r"(char|short|int|long) : [1-9]", text) is not None for text, _ in structs) > 50
