//! The lowest layer: what every other layer may use and which uses nothing of this
//! crate above it — errors, the GIL cell, errno, borrowed buffers, scalar conversions,
//! CPython's object layouts and the interpreter's version.

pub mod buffer;
pub mod cpython_layout;
pub mod cstring;
pub mod errno;
pub mod errors;
pub mod gil_cell;
pub mod library;
pub mod python;
pub mod scalar;
pub mod stdlib_ctypes;
