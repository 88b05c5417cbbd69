//! The metaclasses' `from_param` as the extension serves it: the simple types' own,
//! and the record of the metaclasses' defaults, so that argtypes keeping them
//! convert without calling into Python.

use ferrotypes_core::ctype::ScalarKind;
use pyo3::prelude::*;
use pyo3::types::PyType;

use crate::call::argconv;
use crate::call::value::CArgObject;
use crate::types::typeinfo;

/// The simple types' `from_param`: the instance itself, or a `CArgObject` holding the
/// converted value.
#[pyfunction]
pub fn _simple_from_param(cls: &Bound<'_, PyType>, value: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
    if value.is_instance(cls.as_any())? {
        return Ok(value.clone().unbind());
    }
    let info = typeinfo::info_of(cls.as_any())?;
    let Some((kind, _)) = info.get().scalar() else {
        return Err(pyo3::exceptions::PyTypeError::new_err("from_param of a non-simple type"));
    };
    // NULL passes through unchanged, as in ctypes; py_object's None is the object None.
    if value.is_none() && kind.is_pointer() && kind != ScalarKind::ObjectPtr {
        return Ok(value.clone().unbind());
    }
    if kind.size() > std::mem::size_of::<ferrotypes_core::call::Slot>() {
        // No CArgObject holds it (`long double _Complex`): an instance does.
        return Ok(cls.call1((value,))?.unbind());
    }
    let converted = argconv::simple_param(cls, kind, value)?;
    Ok(Py::new(cls.py(), CArgObject::new(kind.code(), converted))?.into_any())
}

/// Records the metaclasses' own `from_param` functions (the simple types', the
/// pointer types', and the other C data types'), so argtypes that keep them convert
/// without calling into Python.
#[pyfunction]
pub fn _set_default_from_param(py: Python<'_>, simple: Py<PyAny>, pointer: Py<PyAny>, cdata: Py<PyAny>) -> PyResult<()> {
    argconv::DEFAULT_FROM_PARAMS
        .set(py, argconv::DefaultFromParams { simple, pointer, cdata })
        .map_err(|_| pyo3::exceptions::PyRuntimeError::new_err("default from_param already set"))
}
