//! `layout_record` against the C compiler itself.
//!
//! Generates thousands of random structs and unions from fixed seeds — scalars, arrays,
//! nested records and arrays of them, anonymous inline members, bit-fields of every integer
//! type (named, unnamed, `:0`), `#pragma pack(1|2|4|8|16)` — writes them into one C file per
//! batch together with code that prints `sizeof`, `_Alignof`, `offsetof` of every plain member
//! and, for every bit-field, which bits of the zeroed record a `-1` stored into it sets. It
//! compiles and runs that with `cc` and requires exact agreement with `layout_record`.
//! One batch uses GCC's `scalar_storage_order("big-endian")` to check
//! `LayoutOptions::big_endian_bits`. Every bit-field placement is also checked against the
//! contract documented in `layout.rs` (its unit lies inside the record and holds the field).
//!
//! A failure prints the seed, the C definitions involved and both answers; the generated C
//! file is kept under the target directory for replaying by hand.

use ferrotypes_core::layout::{
    layout_record, FieldPlacement, FieldSpec, LayoutOptions, RecordKind, RecordLayout,
};
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

/// (seed, records, big-endian bit numbering)
const BATCHES: &[(u64, usize, bool)] = &[
    (1, 600, false),
    (2, 600, false),
    (3, 600, false),
    (4, 600, false),
    (5, 600, true),
];

/// Plain scalar members: C spelling, size, alignment (x86-64 SysV).
const SCALARS: &[(&str, usize, usize)] = &[
    ("char", 1, 1),
    ("_Bool", 1, 1),
    ("short", 2, 2),
    ("int", 4, 4),
    ("long", 8, 8),
    ("long long", 8, 8),
    ("float", 4, 4),
    ("double", 8, 8),
    ("long double", 16, 16),
    ("__int128", 16, 16),
    ("void *", 8, 8),
];

/// Bit-field types: C spelling, size (= alignment), signed, widest allowed width.
const BIT_TYPES: &[(&str, usize, bool, u32)] = &[
    ("_Bool", 1, false, 1),
    ("char", 1, true, 8),
    ("signed char", 1, true, 8),
    ("unsigned char", 1, false, 8),
    ("short", 2, true, 16),
    ("unsigned short", 2, false, 16),
    ("int", 4, true, 32),
    ("unsigned int", 4, false, 32),
    ("long", 8, true, 64),
    ("unsigned long", 8, false, 64),
    ("long long", 8, true, 64),
    ("unsigned long long", 8, false, 64),
];

const PACKS: &[usize] = &[1, 2, 4, 8, 16];

/// Records bigger than this are not nested into later ones (keeps sizes small).
const MAX_NESTED_SIZE: usize = 64;

/// xorshift64*: tiny, deterministic, good enough to pick shapes.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `0..n` (n > 0).
    fn below(&mut self, n: usize) -> usize {
        (self.next() >> 32) as usize % n
    }

    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: u32, hi: u32) -> u32 {
        lo + self.below((hi - lo + 1) as usize) as u32
    }

    fn percent(&mut self, p: usize) -> bool {
        self.below(100) < p
    }

    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
}

/// What the compiled program must print for one member.
#[derive(Clone, Copy, Debug)]
enum Expect {
    /// `offsetof` of a plain member.
    Offset(usize),
    /// A bit-field's bits: first bit from the record's start (in memory order: LSB-first per
    /// byte, or MSB-first for big-endian records) and its width.
    Bits { first: usize, width: u32 },
}

/// One member of a record and what the program must print for it.
struct Check {
    member: String,
    expect: Expect,
}

/// How a generated member is checked.
enum Member {
    Plain(String),
    Bits(String),
    Unnamed,
    /// An anonymous inline struct/union, with the checks of its members relative to itself.
    Inline(Vec<Check>),
}

/// A generated top-level record.
struct Record {
    name: String,
    c_type: String,
    definition: String,
    deps: Vec<usize>,
    layout: RecordLayout,
    checks: Vec<Check>,
}

fn keyword(kind: RecordKind) -> &'static str {
    match kind {
        RecordKind::Struct => "struct",
        RecordKind::Union => "union",
    }
}

/// Builds one batch of records, each possibly nesting earlier ones.
struct Generator {
    seed: u64,
    rng: Rng,
    big_endian: bool,
    next_member: usize,
    records: Vec<Record>,
}

impl Generator {
    fn member_name(&mut self) -> String {
        self.next_member += 1;
        format!("m{}", self.next_member)
    }

    /// The attribute giving a record big-endian storage (and bit numbering), if wanted.
    fn attribute(&self) -> &'static str {
        if self.big_endian {
            " __attribute__((scalar_storage_order(\"big-endian\")))"
        } else {
            ""
        }
    }

    /// Generates a record body: member declarations, specs and how to check each. `deps`
    /// collects the earlier records it uses, `broken` placement-contract breaches.
    fn body(
        &mut self,
        kind: RecordKind,
        opts: &LayoutOptions,
        depth: usize,
        deps: &mut Vec<usize>,
        broken: &mut Vec<String>,
    ) -> (String, Vec<FieldSpec>, Vec<Member>) {
        let count = match kind {
            RecordKind::Struct => self.rng.range(1, 9),
            RecordKind::Union => self.rng.range(1, 5),
        };
        let (mut decls, mut specs, mut members) = (String::new(), Vec::new(), Vec::new());
        let mut named = false;
        for _ in 0..count {
            let roll = self.rng.below(100);
            let nestable: Vec<usize> = (0..self.records.len())
                .filter(|&i| self.records[i].layout.size <= MAX_NESTED_SIZE)
                .collect();
            if roll < 30 || ((78..93).contains(&roll) && nestable.is_empty()) {
                let &(c, size, align) = self.rng.pick(SCALARS);
                let name = self.member_name();
                let _ = writeln!(decls, "    {c} {name};");
                specs.push(FieldSpec::plain(size, align));
                members.push(Member::Plain(name));
                named = true;
            } else if roll < 38 {
                let &(c, size, align) = self.rng.pick(SCALARS);
                let n = self.rng.range(1, 4) as usize;
                let name = self.member_name();
                let _ = writeln!(decls, "    {c} {name}[{n}];");
                specs.push(FieldSpec::plain(size * n, align));
                members.push(Member::Plain(name));
                named = true;
            } else if roll < 70 || (roll >= 93 && depth >= 2) {
                let &(c, size, signed, max) = self.rng.pick(BIT_TYPES);
                let width = if self.rng.percent(50) {
                    self.rng.range(1, max.min(8))
                } else {
                    self.rng.range(1, max)
                };
                let name = self.member_name();
                let _ = writeln!(decls, "    {c} {name} : {width};");
                specs.push(FieldSpec::bits(size, size, width, signed));
                members.push(Member::Bits(name));
                named = true;
            } else if roll < 78 {
                let &(c, size, _, max) = self.rng.pick(BIT_TYPES);
                let width = if self.rng.percent(50) {
                    0
                } else {
                    self.rng.range(1, max)
                };
                let _ = writeln!(decls, "    {c} : {width};");
                specs.push(FieldSpec::unnamed_bits(size, size, width));
                members.push(Member::Unnamed);
            } else if roll < 93 {
                let index = *self.rng.pick(&nestable);
                let n = if roll < 88 {
                    1
                } else {
                    self.rng.range(1, 3) as usize
                };
                let name = self.member_name();
                let record = &self.records[index];
                let array = if roll < 88 {
                    String::new()
                } else {
                    format!("[{n}]")
                };
                let _ = writeln!(decls, "    {} {name}{array};", record.c_type);
                specs.push(FieldSpec::plain(
                    record.layout.size * n,
                    record.layout.align,
                ));
                members.push(Member::Plain(name));
                deps.push(index);
                named = true;
            } else {
                let inner_kind = if self.rng.percent(50) {
                    RecordKind::Struct
                } else {
                    RecordKind::Union
                };
                let (inner, inner_specs, inner_members) =
                    self.body(inner_kind, opts, depth + 1, deps, broken);
                let layout = layout_record(inner_kind, &inner_specs, opts)
                    .unwrap_or_else(|e| panic!("generator made an invalid record: {e}"));
                let checks = checks_for(&layout, &inner_specs, inner_members, opts, broken);
                let kw = keyword(inner_kind);
                let inner: String = inner.lines().map(|line| format!("    {line}\n")).collect();
                let _ = writeln!(decls, "    {kw}{} {{\n{inner}    }};", self.attribute());
                specs.push(FieldSpec::plain(layout.size, layout.align));
                members.push(Member::Inline(checks));
                named = true;
            }
        }
        if !named {
            let name = self.member_name();
            let _ = writeln!(decls, "    int {name};");
            specs.push(FieldSpec::plain(4, 4));
            members.push(Member::Plain(name));
        }
        (decls, specs, members)
    }

    /// Generates the next top-level record (random kind and pack) and appends it.
    fn record(&mut self, problems: &mut Vec<String>) {
        let mut broken = Vec::new(); // placement-contract breaches, reported with the record
        let kind = if self.rng.percent(25) {
            RecordKind::Union
        } else {
            RecordKind::Struct
        };
        let pack = if self.rng.percent(50) {
            None
        } else {
            Some(*self.rng.pick(PACKS))
        };
        let opts = LayoutOptions {
            pack,
            big_endian_bits: self.big_endian,
        };
        let mut deps = Vec::new();
        let (body, specs, members) = self.body(kind, &opts, 0, &mut deps, &mut broken);
        let layout = layout_record(kind, &specs, &opts)
            .unwrap_or_else(|e| panic!("generator made an invalid record: {e}"));
        let checks = checks_for(&layout, &specs, members, &opts, &mut broken);
        let name = format!("R{}", self.records.len());
        let kw = keyword(kind);
        let c_type = format!("{kw} {name}");
        let mut definition = String::new();
        if let Some(n) = pack {
            let _ = writeln!(definition, "#pragma pack(push, {n})");
        }
        let _ = writeln!(definition, "{kw}{} {name} {{\n{body}}};", self.attribute());
        if pack.is_some() {
            let _ = writeln!(definition, "#pragma pack(pop)");
        }
        deps.sort_unstable();
        deps.dedup();
        if !broken.is_empty() {
            problems.push(format!(
                "seed {}, record {name}: placement contract broken:\n{definition}{}",
                self.seed,
                broken.join("\n")
            ));
        }
        self.records.push(Record {
            name,
            c_type,
            definition,
            deps,
            layout,
            checks,
        });
    }
}

/// The expected output for each member of a laid-out record, and a check of the placement
/// contract (every bit-field unit lies inside the record and holds the whole field).
fn checks_for(
    layout: &RecordLayout,
    specs: &[FieldSpec],
    members: Vec<Member>,
    opts: &LayoutOptions,
    problems: &mut Vec<String>,
) -> Vec<Check> {
    let mut checks = Vec::new();
    for ((member, spec), place) in members.into_iter().zip(specs).zip(&layout.fields) {
        match member {
            Member::Plain(member) => checks.push(Check {
                member,
                expect: Expect::Offset(place.offset),
            }),
            Member::Bits(member) => {
                check_unit(layout, spec, place, &member, opts, problems);
                let (first, width) = (
                    first_bit(place, opts.big_endian_bits),
                    place.bit_width.unwrap_or(0),
                );
                checks.push(Check {
                    member,
                    expect: Expect::Bits { first, width },
                });
            }
            Member::Unnamed => check_unit(layout, spec, place, "(unnamed)", opts, problems),
            Member::Inline(inner) => checks.extend(inner.into_iter().map(|c| Check {
                member: c.member,
                expect: match c.expect {
                    Expect::Offset(o) => Expect::Offset(place.offset + o),
                    Expect::Bits { first, width } => Expect::Bits {
                        first: place.offset * 8 + first,
                        width,
                    },
                },
            })),
        }
    }
    checks
}

/// The first bit (in memory order) of a bit-field, from its placement.
fn first_bit(place: &FieldPlacement, big_endian: bool) -> usize {
    let (offset, size) = (place.offset * 8, place.size * 8);
    let (shift, width) = (
        place.bit_offset as usize,
        place.bit_width.unwrap_or(0) as usize,
    );
    if big_endian {
        // Saturating: a unit too small for its field is reported by `check_unit`.
        (offset + size).saturating_sub(shift + width)
    } else {
        offset + shift
    }
}

/// The placement contract of a bit-field's storage unit: it lies inside the record and holds
/// the whole field; it is the declared type's size unless no such unit fits (then exactly the
/// bytes touched); without pack, a named field's unit is naturally aligned.
fn check_unit(
    layout: &RecordLayout,
    spec: &FieldSpec,
    place: &FieldPlacement,
    member: &str,
    opts: &LayoutOptions,
    problems: &mut Vec<String>,
) {
    let width = place.bit_width.unwrap_or(0) as usize;
    let first = first_bit(place, opts.big_endian_bits);
    let touched = (first + width).div_ceil(8) - first / 8;
    let holds = place.bit_offset as usize + width <= place.size * 8 && first >= place.offset * 8;
    let inside = place.offset + place.size <= layout.size;
    let sized = if width == 0 {
        place.size == 0
    } else if touched > spec.size || layout.size < spec.size {
        place.size == touched
    } else {
        place.size == spec.size
    };
    let natural = opts.pack.is_some() || spec.anonymous || place.offset.is_multiple_of(spec.align);
    if !(holds && inside && sized && natural) {
        problems.push(format!(
            "{member}: storage unit {place:?} breaks the contract in {layout:?}"
        ));
    }
}

/// Writes the C program for one batch.
fn program(records: &[Record], big_endian: bool) -> String {
    let mut c = String::new();
    let _ = writeln!(
        c,
        "#include <stdio.h>\n#include <stddef.h>\n#include <string.h>\n\
         static void scan(const char *m, const void *p, size_t n) {{\n\
         \x20   const unsigned char *b = p; long first = -1, last = -1, count = 0;\n\
         \x20   for (size_t i = 0; i < n; i++) for (int k = 0; k < 8; k++) if (b[i] >> k & 1) {{\n\
         \x20       long pos = (long)i * 8 + ({be} ? 7 - k : k);\n\
         \x20       if (first < 0 || pos < first) first = pos;\n\
         \x20       if (pos > last) last = pos;\n\
         \x20       count++;\n\
         \x20   }}\n\
         \x20   printf(\"%s %ld %ld %ld\\n\", m, first, last, count);\n\
         }}\n\
         #define SIZE(T, name) printf(\"%s %zu %zu\\n\", name, sizeof(T), _Alignof(T))\n\
         #define OFF(T, m) printf(#m \" %zu\\n\", offsetof(T, m))\n\
         #define BITS(T, m) do {{ T s_; memset(&s_, 0, sizeof s_); s_.m = -1; scan(#m, &s_, sizeof s_); }} while (0)",
        be = u8::from(big_endian)
    );
    for r in records {
        c.push_str(&r.definition);
        let _ = writeln!(
            c,
            "static void check_{}(void) {{\n    SIZE({}, \"{}\");",
            r.name, r.c_type, r.name
        );
        for check in &r.checks {
            let mac = if matches!(check.expect, Expect::Offset(_)) {
                "OFF"
            } else {
                "BITS"
            };
            let _ = writeln!(c, "    {mac}({}, {});", r.c_type, check.member);
        }
        let _ = writeln!(c, "}}");
    }
    let _ = writeln!(c, "int main(void) {{");
    for r in records {
        let _ = writeln!(c, "    check_{}();", r.name);
    }
    let _ = writeln!(c, "    return 0;\n}}");
    c
}

/// The definitions a reader needs to reproduce record `i`: its dependencies, then itself.
fn definitions(records: &[Record], i: usize) -> String {
    let mut needed = vec![false; records.len()];
    let mut stack = vec![i];
    while let Some(j) = stack.pop() {
        if !needed[j] {
            needed[j] = true;
            stack.extend(&records[j].deps);
        }
    }
    (0..records.len())
        .filter(|&j| needed[j])
        .map(|j| records[j].definition.as_str())
        .collect()
}

/// Compiles and runs one batch's program, returning its output.
fn run(dir: &Path, stem: &str, source: &str) -> String {
    let c_file = dir.join(format!("{stem}.c"));
    let exe = dir.join(stem);
    std::fs::write(&c_file, source).expect("write generated C");
    let out = Command::new("cc")
        .args(["-std=gnu11", "-O0", "-w", "-o"])
        .arg(&exe)
        .arg(&c_file)
        .output()
        .expect("run cc");
    assert!(
        out.status.success(),
        "cc failed on {}:\n{}",
        c_file.display(),
        String::from_utf8_lossy(&out.stderr)
            .chars()
            .take(4000)
            .collect::<String>()
    );
    let out = Command::new(&exe).output().expect("run generated program");
    assert!(
        out.status.success(),
        "{} failed: {:?}",
        exe.display(),
        out.status
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

fn numbers(line: &str) -> Vec<i64> {
    line.split_whitespace()
        .skip(1)
        .map(|w| w.parse().expect("number in output"))
        .collect()
}

/// Compares one batch; returns (records, members) checked and mismatch reports.
fn check_batch(
    dir: &Path,
    seed: u64,
    count: usize,
    big_endian: bool,
) -> (usize, usize, Vec<String>) {
    let mut problems = Vec::new();
    let mut generator = Generator {
        seed,
        rng: Rng::new(seed),
        big_endian,
        next_member: 0,
        records: Vec::new(),
    };
    for _ in 0..count {
        generator.record(&mut problems);
    }
    let records = generator.records;
    let stem = format!("batch{seed}_{}", std::process::id());
    let source = program(&records, big_endian);
    let output = run(dir, &stem, &source);
    let mut lines = output.lines();
    let mut members = 0;
    for (i, r) in records.iter().enumerate() {
        let mut diffs = Vec::new();
        let got = lines.next().map(numbers);
        if got != Some(vec![r.layout.size as i64, r.layout.align as i64]) {
            diffs.push(format!(
                "size/align: ferrotypes {} {}, gcc {got:?}",
                r.layout.size, r.layout.align
            ));
        }
        for check in &r.checks {
            members += 1;
            let line = lines.next().unwrap_or("");
            let got = numbers(line);
            let ok = match check.expect {
                Expect::Offset(o) => got == [o as i64],
                Expect::Bits { first, width } => {
                    let (first, width) = (first as i64, i64::from(width));
                    got == [first, first + width - 1, width]
                }
            };
            if !ok || line.split_whitespace().next() != Some(check.member.as_str()) {
                diffs.push(format!(
                    "{}: ferrotypes {:?}, gcc `{line}` (bits: first last count)",
                    check.member, check.expect
                ));
            }
        }
        if !diffs.is_empty() {
            problems.push(format!(
                "seed {seed}, record {} (big-endian bits: {big_endian}), file {}.c:\n{}\
                 ferrotypes layout: {:?}\n{}",
                r.name,
                dir.join(&stem).display(),
                definitions(&records, i),
                r.layout,
                diffs.join("\n")
            ));
        }
    }
    if problems.is_empty() {
        // Keep the files only when there is something to replay.
        let _ = std::fs::remove_file(dir.join(&stem));
        let _ = std::fs::remove_file(dir.join(format!("{stem}.c")));
    }
    (records.len(), members, problems)
}

#[test]
fn layout_matches_gcc() {
    if !cfg!(all(target_arch = "x86_64", target_os = "linux")) {
        eprintln!("layout_vs_gcc skipped: the layout engine models x86-64 Linux only");
        return;
    }
    let version = match Command::new("cc").arg("--version").output() {
        Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout).into_owned(),
        _ => {
            eprintln!("layout_vs_gcc SKIPPED: no C compiler `cc` on PATH to compare against");
            return;
        }
    };
    let is_clang = version.contains("clang");
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("layout_vs_gcc");
    std::fs::create_dir_all(&dir).expect("create scratch directory");

    let (mut records, mut members, mut problems) = (0, 0, Vec::new());
    for &(seed, count, big_endian) in BATCHES {
        if big_endian && is_clang {
            eprintln!("layout_vs_gcc: big-endian batch skipped: `cc` is clang, which lacks scalar_storage_order");
            continue;
        }
        let (r, m, p) = check_batch(&dir, seed, count, big_endian);
        records += r;
        members += m;
        problems.extend(p);
    }
    eprintln!(
        "layout_vs_gcc: {records} records, {members} members checked against {}",
        version.lines().next().unwrap_or("cc")
    );
    assert!(
        problems.is_empty(),
        "{} mismatches with the C compiler; the first ones:\n\n{}",
        problems.len(),
        problems
            .iter()
            .take(8)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n\n")
    );
}
