//! Being called from C: callbacks made from Python callables.

pub mod propagation;
pub mod thunk;
