//! Module-level functions that stand on every layer below: raw memory (`sizeof`,
//! `cast`, `string_at`, ...) and C declarations (`parse_c`).

pub mod cdecl;
pub mod from_param;
pub mod memory;
