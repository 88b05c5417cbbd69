//! What the parser's fuzzers run. [`exercise`] puts one input through every entry point
//! `ferrotypes.cdef`/`include` reach (a panic there is a bug: none may cross into Python);
//! [`Mutator`] makes inputs from valid C, for fuzzing on stable Rust (the random-input
//! test, `examples/cdecl_fuzz.rs`) where libFuzzer (`fuzz/`, nightly Rust) is not at hand.

use super::model::{DeclKind, Type};
use super::parser::parse;

/// Parses `source`, then evaluates every macro, lays out every record, sizes every
/// declared type and reads `source` itself and each tag as a type name: all that the
/// Python side can ask of a parse. Errors are the expected outcome for most inputs;
/// only a panic (or a hang) is a finding.
pub fn exercise(source: &str) {
    let Ok(mut p) = parse(source, "<fuzz>") else {
        return;
    };
    for name in p.macro_names() {
        let _ = p.eval_macro(&name);
    }
    for i in 0..p.model.records.len() {
        let _ = p.model.record_layout(i);
    }
    for d in &p.model.decls {
        let ty = match &d.kind {
            DeclKind::Function { ty, .. } => Type::Func(Box::new(ty.clone())),
            DeclKind::Variable { ty, .. } | DeclKind::Typedef { ty } => ty.clone(),
        };
        let _ = p.model.size_align(&ty);
        let _ = p.decl(&d.name);
    }
    let tags: Vec<String> = (p.model.records.iter().filter_map(|r| r.tag.as_ref()))
        .chain(p.model.enums.iter().filter_map(|e| e.tag.as_ref()))
        .cloned()
        .collect();
    for tag in tags {
        for kind in ["struct", "union", "enum"] {
            let _ = p.parse_type_name(&format!("{kind} {tag} *"));
        }
    }
    let _ = p.parse_type_name(source);
}

/// Pieces of C (and of things that are not C) that [`Mutator`] splices in.
pub const PIECES: &[&str] = &[
    "int",
    "char",
    "struct",
    "union",
    "enum",
    "typedef",
    "T",
    "x",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    "*",
    ",",
    ";",
    ":",
    "=",
    "...",
    "0",
    "1",
    "-1",
    "0x7fffffff",
    "18446744073709551615",
    "1u",
    "sizeof",
    "const",
    "__attribute__((packed))",
    "__attribute__((aligned(8)))",
    "__attribute__((aligned(0)))",
    "__attribute__((nonnull(1, 9)))",
    "__attribute__((mode(DI)))",
    "__attribute__((vector_size(16)))",
    "__asm__(\"y\")",
    "__extension__",
    "_Alignas(16)",
    "long",
    "unsigned",
    "double",
    "_Complex",
    "void",
    "#define M ",
    "#define F(a, b) a ## b\n",
    "\n",
    "#pragma pack(2)\n",
    "#pragma pack(push, 1)\n",
    "#pragma pack(pop)\n",
    "# 3 \"f.h\"\n",
    "#undef M\n",
    "'a'",
    "'\\x41'",
    "\"s\\n\"",
    "L\"w\"",
    "1e9",
    "0x1p-3",
    "?",
    "/",
    "%",
    "<<",
    ">>",
    "&&",
    "->",
    "##",
    "#",
    "__typeof__",
    "_Static_assert",
    "__int128",
    "_Float128",
    "static",
    "inline",
    "@",
    "\\",
    "/*",
    "*/",
    "\"",
    "'",
    "__builtin_va_list",
    "f",
    "(((",
    ")))",
    "M",
    "F(",
    "é",
    ":3",
    "[0]",
    "[]",
];

/// A small xorshift generator with a seed, so that a run can be repeated.
pub struct Mutator {
    state: u64,
}

impl Mutator {
    /// A generator from `seed` (any value; 0 is replaced).
    pub fn new(seed: u64) -> Self {
        Mutator { state: seed.max(1) }
    }

    fn next(&mut self) -> u64 {
        self.state ^= self.state << 13;
        self.state ^= self.state >> 7;
        self.state ^= self.state << 17;
        self.state
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }

    /// Up to `count` pieces from [`PIECES`], space-separated.
    pub fn pieces(&mut self, count: usize) -> String {
        let mut text = String::new();
        for _ in 0..self.below(count + 1) {
            text.push_str(PIECES[self.below(PIECES.len())]);
            text.push(' ');
        }
        text
    }

    /// A variation of `source`: a run of its lines (all of them one time in four), then
    /// each space-separated word kept, dropped, doubled, swapped with the next or
    /// followed by a piece from [`PIECES`] (one word in 2 to 60 changed, by chance).
    pub fn mutate(&mut self, source: &str) -> String {
        let lines: Vec<&str> = source.lines().collect();
        let (start, len) = if self.below(4) == 0 {
            (0, lines.len())
        } else {
            let start = self.below(lines.len());
            (start, 1 + self.below(200))
        };
        let window = lines
            .iter()
            .skip(start)
            .take(len)
            .copied()
            .collect::<Vec<_>>()
            .join("\n");
        let mut words: Vec<&str> = window.split(' ').collect();
        let mut text = String::with_capacity(window.len() + 64);
        let one_in = 2 + self.below(59);
        let mut i = 0;
        while i < words.len() {
            match self.below(one_in) {
                0 => {}
                1 => {
                    text.push_str(words[i]);
                    text.push(' ');
                    text.push_str(words[i]);
                }
                2 if i + 1 < words.len() => {
                    words.swap(i, i + 1);
                    text.push_str(words[i]);
                }
                3 => {
                    text.push_str(words[i]);
                    text.push(' ');
                    text.push_str(PIECES[self.below(PIECES.len())]);
                }
                _ => text.push_str(words[i]),
            }
            text.push(' ');
            i += 1;
        }
        text
    }
}
