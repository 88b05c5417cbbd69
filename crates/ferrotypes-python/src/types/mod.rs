//! What ferrotypes knows about a ctypes-like class (ctypes' StgInfo), built on
//! `support` only.

pub mod typeinfo;
