//! libFuzzer target: any UTF-8 text (what `ferrotypes.cdef` can be given) through every
//! entry point of the C declaration parser. A panic, a stack overflow or a hang is a bug.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        ferrotypes_core::cdecl::fuzzing::exercise(text);
    }
});
