//! The function-pointer object as a C data family: a function pointer in C memory
//! (a structure's field, a callback's argument) is made into a `_FuncPtrData` by
//! the same machinery as any other C data, once this family has registered.

use pyo3::prelude::*;
use pyo3::types::PyType;

use crate::data::instances::{self, Family};
use crate::function::funcptr::FuncPtr;
use crate::types::typeinfo::{FamilyKind, TypeInfo};

impl Family for FuncPtr {
    const KIND: FamilyKind = FamilyKind::Function;

    /// A function pointer made here is a view of one in C memory: no callback, no
    /// `paramflags`, the calling convention of the class's `_flags_`.
    fn part(cls: &Bound<'_, PyType>, info: &TypeInfo) -> PyResult<Option<Self>> {
        if info.kind.family() != FamilyKind::Function {
            return Ok(None);
        }
        Ok(Some(FuncPtr::with_callback(FuncPtr::flags_of(cls)?, None)))
    }
}

/// Registers the function-pointer family and its `tp_new` (at module initialisation).
pub fn register(py: Python<'_>) {
    instances::register::<FuncPtr>();
    crate::function::funcptr::install_new(py);
}
