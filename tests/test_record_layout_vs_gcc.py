"""Structure and union layout against the C compiler, end to end.

Random records (nesting, arrays, unions, bit-fields of mixed widths and types,
``_pack_`` 1/2/4/8, anonymous members) are declared twice: as C, compiled by the
system compiler into a program that prints ``sizeof``, ``_Alignof``, each plain
member's ``offsetof`` and, for each bit-field, the bytes of a zeroed record after
storing all ones into it; and as ferrotypes classes, whose ``sizeof``, ``alignment``,
field offsets and the same byte images must agree exactly. GCC is the reference:
where stdlib ctypes lays bit-fields out differently, this test follows GCC.
"""

from __future__ import annotations

import random
import subprocess
from dataclasses import dataclass, field

import pytest

import ferrotypes as ft

RECORDS = 1200
SEED = 20261120

# (C spelling, ferrotypes type name, may be a bit-field, signed)
SCALARS = [
    ("char", "c_char", False, False),
    ("signed char", "c_byte", True, True),
    ("unsigned char", "c_ubyte", True, False),
    ("short", "c_short", True, True),
    ("unsigned short", "c_ushort", True, False),
    ("int", "c_int", True, True),
    ("unsigned int", "c_uint", True, False),
    ("long", "c_long", True, True),
    ("unsigned long", "c_ulong", True, False),
    ("long long", "c_longlong", True, True),
    ("unsigned long long", "c_ulonglong", True, False),
    ("float", "c_float", False, False),
    ("double", "c_double", False, False),
    ("void *", "c_void_p", False, False),
    ("_Bool", "c_bool", False, False),
]


@dataclass
class Member:
    name: str
    c_type: str            # C declaration of the type (a typedef name or scalar)
    ft_type: object        # the ferrotypes class
    bits: int | None = None
    signed: bool = False
    array: int | None = None
    anonymous: bool = False
    record: "Record | None" = None   # for nested/anonymous records


@dataclass
class Record:
    name: str
    union: bool
    pack: int | None
    members: list[Member] = field(default_factory=list)
    cls: object = None


class Generator:
    def __init__(self, seed):
        self.rng = random.Random(seed)
        self.records: list[Record] = []
        self.count = 0

    def record(self, depth=0, pack=False) -> Record:
        """A new random record; ``pack`` forces its packing (an anonymous member
        is declared inline in C, under its outer record's ``#pragma pack``)."""
        rng = self.rng
        if pack is False:
            pack = rng.choice([None, None, None, 1, 2, 4, 8])
        rec = Record(f"R{self.count}", union=rng.random() < 0.2, pack=pack)
        self.count += 1
        for i in range(rng.randint(1, 6)):
            roll = rng.random()
            if roll < 0.15 and depth < 2:
                anonymous = rng.random() < 0.4
                inner = self.record(depth + 1, pack=rec.pack if anonymous else False)
                member = Member(f"m{i}_{rec.name}", inner.name, inner.cls, anonymous=anonymous, record=inner)
                if not anonymous and rng.random() < 0.3:
                    member.array = rng.randint(1, 3)
            elif roll < 0.55:
                c, name, _, signed = rng.choice([s for s in SCALARS if s[2]])
                size = ft.sizeof(getattr(ft, name))
                member = Member(f"m{i}_{rec.name}", c, getattr(ft, name), bits=rng.randint(1, 8 * size), signed=signed)
            else:
                c, name, _, signed = rng.choice(SCALARS)
                member = Member(f"m{i}_{rec.name}", c, getattr(ft, name), signed=signed)
                if rng.random() < 0.2:
                    member.array = rng.randint(1, 4)
            rec.members.append(member)
        rec.cls = self.build_class(rec)
        self.records.append(rec)  # after the records it contains: C needs them first
        return rec

    @staticmethod
    def build_class(rec: Record):
        fields = []
        for m in rec.members:
            t = m.ft_type * m.array if m.array else m.ft_type
            fields.append((m.name, t, m.bits) if m.bits else (m.name, t))
        namespace = {"_fields_": fields}
        if rec.pack:
            namespace["_pack_"] = rec.pack
        anonymous = [m.name for m in rec.members if m.anonymous]
        if anonymous:
            namespace["_anonymous_"] = anonymous
        base = ft.Union if rec.union else ft.Structure
        return type(base)(rec.name, (base,), namespace)


def c_declaration(rec: Record) -> str:
    lines = []
    if rec.pack:
        lines.append(f"#pragma pack(push, {rec.pack})")
    lines.append(f"typedef {'union' if rec.union else 'struct'} {rec.name} {{")
    lines.extend(member_lines(rec))
    lines.append(f"}} {rec.name};")
    if rec.pack:
        lines.append("#pragma pack(pop)")
    return "\n".join(lines)


def member_lines(rec: Record):
    out = []
    for m in rec.members:
        if m.anonymous:
            inner = m.record
            out.append(f"  {'union' if inner.union else 'struct'} {{")
            out.extend("  " + line for line in member_lines(inner))
            out.append("  };")
        else:
            out.extend(member_lines_one(m))
    return out


def member_lines_one(m: Member):
    if m.bits:
        return [f"  {m.c_type} {m.name} : {m.bits};"]
    if m.array:
        return [f"  {m.c_type} {m.name}[{m.array}];"]
    return [f"  {m.c_type} {m.name};"]


def leaf_members(rec: Record):
    """Members reachable by name from the record (through anonymous members)."""
    for m in rec.members:
        if m.anonymous:
            yield from leaf_members(m.record)
        else:
            yield m


def c_checks(rec: Record) -> list[str]:
    """C statements printing the facts about ``rec``, one line each."""
    n = rec.name
    out = [f'printf("{n} size %zu align %zu\\n", sizeof({n}), _Alignof({n}));']
    for m in leaf_members(rec):
        if m.bits:
            ones = "-1" if m.signed else "~0ULL"
            out.append(f"{{ {n} v; memset(&v, 0, sizeof v); v.{m.name} = {ones}; dump(\"{n} {m.name}\", &v, sizeof v); }}")
        else:
            out.append(f'printf("{n} {m.name} offset %zu\\n", offsetof({n}, {m.name}));')
    return out


def ft_facts(rec: Record) -> list[str]:
    cls = rec.cls
    out = [f"{rec.name} size {ft.sizeof(cls)} align {ft.alignment(cls)}"]
    for m in leaf_members(rec):
        if m.bits:
            v = cls()
            setattr(v, m.name, -1 if m.signed else (1 << m.bits) - 1)
            out.append(f"{rec.name} {m.name} {ft.string_at(ft.addressof(v), ft.sizeof(v)).hex()}")
        else:
            out.append(f"{rec.name} {m.name} offset {getattr(cls, m.name).offset}")
    return out


C_PRELUDE = """
#include <stddef.h>
#include <stdio.h>
#include <string.h>
static void dump(const char *label, const void *p, size_t n) {
    const unsigned char *b = p;
    printf("%s ", label);
    for (size_t i = 0; i < n; i++) printf("%02x", b[i]);
    printf("\\n");
}
"""


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    from ferrotypes import _cbuild

    compiler = _cbuild.find_compiler()
    if compiler is None:
        pytest.fail("no C compiler: the layout oracle needs one (gcc is part of the platform)")
    gen = Generator(SEED)
    while len(gen.records) < RECORDS:
        gen.record()
    source = [C_PRELUDE]
    source += [c_declaration(r) for r in gen.records]
    source.append("int main(void) {")
    for r in gen.records:
        source += ["  " + line for line in c_checks(r)]
    source.append("  return 0;\n}")
    work = tmp_path_factory.mktemp("layout")
    c_file, exe = work / "layout.c", work / "layout"
    c_file.write_text("\n".join(source))
    subprocess.run([compiler, "-std=gnu11", "-w", "-o", str(exe), str(c_file)], check=True)
    printed = subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout.splitlines()
    return gen.records, printed


def test_every_generated_record_matches_the_compiler(compiled):
    records, printed = compiled
    expected = iter(printed)
    mismatches = []
    for rec in records:
        for fact in ft_facts(rec):
            c_fact = next(expected)
            if fact != c_fact:
                mismatches.append(f"{c_declaration(rec)}\n  C:          {c_fact}\n  ferrotypes: {fact}")
    assert not mismatches, f"{len(mismatches)} disagreements, first:\n" + "\n".join(mismatches[:3])


def test_the_generator_covers_what_the_issue_names(compiled):
    records, _ = compiled
    members = [m for r in records for m in r.members]
    assert len(records) >= 1000
    assert any(r.union for r in records)
    assert {r.pack for r in records} >= {None, 1, 2, 4, 8}
    assert sum(1 for m in members if m.bits) > 500
    assert any(m.anonymous for m in members)
    assert any(m.array and m.record for m in members)
