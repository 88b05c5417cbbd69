//! ferrotypes-core: the C world of ferrotypes, with no Python in it.
//!
//! - [`ctype`]: the type model — scalar kinds, their sizes, alignments and libffi types.
//! - [`layout`]: struct/union layout as GCC computes it on this platform.
//! - [`library`]: loading shared libraries and resolving symbols.
//! - [`call`]: C signatures prepared once (a libffi plan, and a libffi-free direct
//!   plan where the target's ABI module takes the signature), and the calls.
//! - [`cdecl`]: C declarations and headers read into a model of types, functions and macros.
//! - [`closure`]: callback trampolines (libffi closures) that call a Rust handler.
//! - [`longdouble`]: x86_64 `long double` to and from `f64`.
//! - [`pep3118`]: buffer item formats, read into the C scalars they describe.
//!
//! What it deliberately does not do: convert Python values (that is the extension's
//! job), or own any policy about the GIL.

// The panic audit (issue 17): outside tests, no `unwrap`/`expect`, and indexing or
// arithmetic that could panic or wrap only where a module or function says why it
// cannot (sizes that come from Python are checked where they enter).
#![cfg_attr(
    not(test),
    warn(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::arithmetic_side_effects)
)]

pub mod call;
pub mod cdecl;
pub mod closure;
pub mod ctype;
pub mod layout;
pub mod library;
pub mod longdouble;
pub mod pep3118;
