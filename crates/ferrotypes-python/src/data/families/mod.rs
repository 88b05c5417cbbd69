//! The C data families, one a file: simple values, arrays, pointers, records.

pub mod array;
pub mod array_types;
pub mod elements;
pub mod field;
pub mod pointer;
pub mod pointer_types;
pub mod record;
pub mod simple;
