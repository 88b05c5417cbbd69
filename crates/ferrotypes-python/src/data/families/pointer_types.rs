//! `pointer(obj)`: a new pointer to `obj`, of the pointer class that `POINTER` made
//! for the object's class. Programs call it once per foreign call that takes an
//! address, so it finds the class without running Python code.
//!
//! The cache (`_pointer_type_cache`, the dict ctypes also has) and `POINTER` itself
//! live in Python (`ferrotypes/__init__.py`), which registers both at import.

#![warn(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::arithmetic_side_effects)]

use pyo3::exceptions::PySystemError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyDict;

/// `_pointer_type_cache` and `POINTER`, as registered.
static POINTER_TYPES: PyOnceLock<(Py<PyDict>, Py<PyAny>)> = PyOnceLock::new();

/// Registers the pointer class cache and the function that makes and caches a
/// pointer class (called once, by `ferrotypes/__init__.py`).
#[pyfunction]
pub fn _set_pointer_types(py: Python<'_>, cache: Py<PyDict>, factory: Py<PyAny>) -> PyResult<()> {
    POINTER_TYPES
        .set(py, (cache, factory))
        .map_err(|_| PySystemError::new_err("pointer types already registered"))
}

/// `pointer(obj)`: `POINTER(type(obj))(obj)`, the class taken from the cache when
/// there.
#[pyfunction]
pub fn pointer<'py>(obj: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let py = obj.py();
    let (cache, factory) = POINTER_TYPES.get(py).ok_or_else(|| PySystemError::new_err("pointer types not registered"))?;
    let cls = obj.get_type();
    let pointer_type = match cache.bind(py).get_item(&cls)? {
        Some(pointer_type) => pointer_type,
        None => {
            // A stdlib instance: a pointer to the ferrotypes instance over its memory.
            if crate::support::stdlib_ctypes::is_stdlib_cdata(obj) {
                if let Some(own) = crate::support::stdlib_ctypes::twin(obj)? {
                    return pointer(&own);
                }
            }
            factory.bind(py).call1((cls,))?
        }
    };
    pointer_type.call1((obj,))
}

/// Completes a pointer type created before its target (`SetPointerType`).
#[pyfunction]
pub fn set_pointer_type(pointer: &Bound<'_, pyo3::types::PyType>, target: &Bound<'_, pyo3::types::PyType>) -> PyResult<()> {
    crate::types::typeinfo::set_pointer_target(crate::types::typeinfo::info_of(pointer.as_any())?.get(), target)
}
