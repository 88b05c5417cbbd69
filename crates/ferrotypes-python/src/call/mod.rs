//! Calling C: argument conversion, zero-copy arguments, ndpointer checks,
//! paramflags and calls without `argtypes`.

pub mod argconv;
pub mod ndpointer;
pub mod paramflags;
pub mod untyped;
pub mod zerocopy;
