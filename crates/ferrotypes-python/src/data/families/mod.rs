//! The C data families, one a file: simple values, arrays, pointers, records.

pub mod array_types;
pub mod field;
pub mod pointer_types;
pub mod record;
pub mod sequence;
pub mod simple;
