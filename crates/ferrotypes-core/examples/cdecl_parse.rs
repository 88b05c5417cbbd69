//! How long the core takes to lex and to parse a C source (a header preprocessed with
//! `cc -E -dD`, as `ferrotypes.include` does), best of N runs: the part of
//! `bench/cdecl.py`'s figures that is the core's, without Python, and a program to
//! profile (`perf record`, `valgrind --tool=callgrind`).
//!
//! ```text
//! cc -E -dD -x c - <<< '#include <sqlite3.h>' > /tmp/sqlite3.i
//! cargo run --release --example cdecl_parse -- /tmp/sqlite3.i 300
//! ```

use std::time::{Duration, Instant};

use ferrotypes_core::cdecl::{lexer, parser};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(path) = args.first() else {
        eprintln!("usage: cdecl_parse FILE [RUNS]");
        std::process::exit(2);
    };
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let runs: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(100);
    let (mut best_lex, mut best_parse, mut tokens) = (Duration::MAX, Duration::MAX, 0);
    for _ in 0..runs {
        let t = Instant::now();
        let lexed = lexer::lex(&text, path).unwrap_or_else(|e| panic!("{e}"));
        best_lex = best_lex.min(t.elapsed());
        tokens = lexed.tokens.len();
        drop(lexed);
        let t = Instant::now();
        let parsed = parser::parse(&text, path).unwrap_or_else(|e| panic!("{e}"));
        drop(std::hint::black_box(parsed));
        best_parse = best_parse.min(t.elapsed());
    }
    println!(
        "{path}: {} bytes, {tokens} tokens; best of {runs}: lexing {best_lex:?}, \
         lexing and parsing {best_parse:?}",
        text.len()
    );
}
