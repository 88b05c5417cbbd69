//! The metaclasses' `from_param` as the extension serves it: the simple types' own,
//! and the record of the metaclasses' defaults, so that argtypes keeping them
//! convert without calling into Python.

use ferrotypes_core::ctype::ScalarKind;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString, PyType};

use crate::call::argconv;
use crate::call::value::CArgObject;
use crate::data::cdata::CData;
use crate::types::typeinfo;

/// The simple types' `from_param`, as ctypes': `value` itself when it is an instance
/// (or, for the pointer types, an array, pointer or `byref` they take as it is), else
/// a `CArgObject` holding the converted value, tagged as ctypes tags it; failing
/// that, what `value`'s `_as_parameter_` gives.
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
    if argconv::from_param_returns_itself(kind, value) {
        return Ok(value.clone().unbind());
    }
    if kind.size() > std::mem::size_of::<ferrotypes_core::call::Slot>() {
        // No CArgObject holds it (`long double _Complex`): an instance does.
        return Ok(cls.call1((value,))?.unbind());
    }
    match argconv::simple_param(cls, kind, value) {
        Ok(converted) => Ok(Py::new(cls.py(), CArgObject::new(tag(kind, value), converted))?.into_any()),
        Err(refused) => match argconv::as_parameter(value)? {
            Some(inner) => argconv::with_recursion_guard(value.py(), || _simple_from_param(cls, &inner)),
            None => Err(refused),
        },
    }
}

/// The type code the `CArgObject` of `kind`'s `from_param(value)` shows: the kind's,
/// but `c_void_p`'s tells a string from an address, as ctypes' does (`'z'` for bytes,
/// `'Z'` for str and for `c_char_p`/`c_wchar_p` instances).
fn tag(kind: ScalarKind, value: &Bound<'_, PyAny>) -> char {
    if kind != ScalarKind::VoidPtr {
        return kind.code();
    }
    if value.is_instance_of::<PyBytes>() {
        return 'z';
    }
    let string_instance = || value.cast::<CData>().is_ok_and(|d| matches!(d.get().info().get().scalar(), Some((ScalarKind::CharPtr | ScalarKind::WCharPtr, _))));
    if value.is_instance_of::<PyString>() || string_instance() {
        'Z'
    } else {
        'P'
    }
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
