//! Fuzzing the C declaration parser on stable Rust: mutations of real headers (as the
//! compiler preprocesses them) put through `ferrotypes_core::cdecl::fuzzing::exercise`,
//! the harness the libFuzzer target (`fuzz/`, nightly Rust) runs too.
//!
//! ```text
//! for h in stdio.h zlib.h sqlite3.h; do cc -E -dD -x c - <<< "#include <$h>" > /tmp/$h.i; done
//! cargo run --release --example cdecl_fuzz -- SECONDS SEED /tmp/*.i
//! ```
//!
//! Every minute it prints how many inputs it ran; an input that panics is written to
//! `cdecl-fuzz-panic-N.h` in the current directory, and the run goes on. It exits with
//! status 1 if any input panicked.

use std::time::{Duration, Instant};

use ferrotypes_core::cdecl::fuzzing::{exercise, Mutator};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(seconds), Some(seed)) = (
        args.first().and_then(|s| s.parse::<u64>().ok()),
        args.get(1).and_then(|s| s.parse::<u64>().ok()),
    ) else {
        eprintln!("usage: cdecl_fuzz SECONDS SEED FILE...");
        std::process::exit(2);
    };
    let sources: Vec<String> = args[2..]
        .iter()
        .map(|path| std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}")))
        .collect();
    if sources.is_empty() {
        eprintln!("cdecl_fuzz: no seed files given");
        std::process::exit(2);
    }
    // The harness's own panics are what is looked for: report them, keep going.
    std::panic::set_hook(Box::new(|info| eprintln!("panic: {info}")));
    let mut rng = Mutator::new(seed);
    let start = Instant::now();
    let budget = Duration::from_secs(seconds);
    let (mut inputs, mut panics, mut minute) = (0u64, 0u64, 1u64);
    while start.elapsed() < budget {
        let text = if rng.below(8) == 0 {
            rng.pieces(80)
        } else {
            let which = rng.below(sources.len());
            rng.mutate(&sources[which])
        };
        if std::panic::catch_unwind(|| exercise(&text)).is_err() {
            panics += 1;
            let path = format!("cdecl-fuzz-panic-{panics}.h");
            std::fs::write(&path, &text).unwrap_or_else(|e| panic!("{path}: {e}"));
            eprintln!("input written to {path}");
        }
        inputs += 1;
        if start.elapsed() >= Duration::from_secs(60 * minute) {
            eprintln!("{minute} min: {inputs} inputs, {panics} panics");
            minute += 1;
        }
    }
    println!(
        "cdecl_fuzz: {inputs} inputs in {:.0} s (seed {seed}), {panics} panics",
        start.elapsed().as_secs_f64()
    );
    std::process::exit(i32::from(panics > 0));
}
