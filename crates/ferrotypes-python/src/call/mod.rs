//! Calling C: the call recipe, argument conversion, zero-copy arguments, ndpointer
//! checks, result conversion, paramflags and calls without `argtypes`. Within the
//! folder, files depend on each other in this order only: `value` ← `peek`,
//! `zerocopy` ← `argconv` (with `ndpointer`) ← `untyped` ← `recipe` (with `result`);
//! `paramflags` stands alone.

pub mod argconv;
pub mod ndpointer;
pub mod paramflags;
pub mod peek;
pub mod recipe;
pub mod result;
pub mod untyped;
pub mod value;
pub mod zerocopy;
