//! Being called from C: callbacks made from Python callables.

pub mod kept_results;
pub mod propagation;
pub mod thunk;
