//! Reading and storing one value of any ctypes-like class in memory that an instance
//! owns or views: the common ground of array elements, pointer targets and structure
//! fields (ctypes' `PyCData_get` / `PyCData_set`).
//!
//! Values of ctypes' own simple types come back as Python values; everything else
//! comes back as an instance viewing the memory, kept valid by its `_b_base_`. Storing
//! follows ctypes' rules: a native Python value is converted for a simple type; an
//! instance of the class is copied; a tuple builds an instance of the class first; an array
//! may be stored into a pointer to its element type.

#![warn(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::arithmetic_side_effects)]

use ferrotypes_core::ctype::ScalarKind;
use pyo3::exceptions::{PyRuntimeError, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::{PyTuple, PyType};

use crate::data::cdata::CData;
use crate::data::keepalive;
use crate::support::scalar;
use crate::support::stdlib_ctypes;
use crate::types::typeinfo::{InfoKind, TypeInfo};

/// Reads the value of class `cls` (info `info`) at `address`, the `index`-th
/// sub-object of `owner`.
///
/// # Safety
/// `address` must be valid for reading `info.size` bytes for as long as `owner` lives.
pub unsafe fn read_value(owner: &Bound<'_, CData>, cls: &Bound<'_, PyType>, info: &TypeInfo, address: *mut u8, index: usize) -> PyResult<Py<PyAny>> {
    match info.kind {
        // SAFETY: the caller guarantees one readable value at `address`.
        InfoKind::Simple { scalar, swapped, native_values: true } => unsafe { scalar::read(owner.py(), scalar, swapped, address) },
        _ => Ok(crate::data::instances::view_in(cls, address as usize, owner, index)?.unbind()),
    }
}

/// Stores `value` as the `index`-th sub-object of `owner`, of class `cls` at
/// `address`, and keeps alive what the stored bytes point into.
///
/// # Safety
/// `address` must be valid for writing `info.size` bytes for as long as `owner` lives.
pub unsafe fn write_value(owner: &Bound<'_, CData>, cls: &Bound<'_, PyType>, info: &TypeInfo, address: *mut u8, index: usize, value: &Bound<'_, PyAny>) -> PyResult<()> {
    let py = owner.py();
    let Ok(source) = value.cast::<CData>() else {
        if let InfoKind::Simple { scalar, swapped, .. } = info.kind {
            // `c_bool` and `py_object` take any object, but a stdlib instance stands
            // for ferrotypes' own: stored if of this type, else refused as ours is.
            if matches!(scalar, ScalarKind::Bool | ScalarKind::ObjectPtr) && stdlib_ctypes::is_stdlib_cdata(value) {
                // SAFETY: as for this call (the caller's promise).
                return unsafe { write_stdlib(owner, cls, info, address, index, value) }
                    .unwrap_or_else(|| Err(stdlib_ctypes::mismatch(cls, value)));
            }
            // SAFETY: the caller guarantees one writable value at `address`.
            let keep = match unsafe { scalar::write(value, scalar, swapped, address) } {
                Ok(keep) => keep,
                // SAFETY: as for this call (the caller's promise).
                Err(err) => return unsafe { write_stdlib(owner, cls, info, address, index, value) }.unwrap_or(Err(err)),
            };
            return keepalive::keep_ref(owner, index, keep);
        }
        if let Ok(args) = value.cast::<PyTuple>() {
            // Any class without a simple value (records, arrays, pointers, function
            // pointers) is called with the tuple, as in ctypes: `()` is a NULL pointer.
            let built = cls.call1(args).map_err(|e| nested_init_error(py, cls, e))?;
            // SAFETY: one writable value of `info`'s type at `address`, inside `owner`'s
            // memory (the caller's promise for this function, unchanged by the call).
            return unsafe { write_value(owner, cls, info, address, index, &built) };
        }
        if value.is_none() && matches!(info.kind, InfoKind::Pointer { .. } | InfoKind::Function { .. }) {
            // SAFETY: a pointer's memory holds one pointer.
            unsafe { address.cast::<usize>().write_unaligned(0) };
            return Ok(());
        }
        // SAFETY: as for this call (the caller's promise).
        if let Some(stored) = unsafe { write_stdlib(owner, cls, info, address, index, value) } {
            return stored;
        }
        return Err(stdlib_ctypes::wrong_type(cls, value, |expected, given| format!("expected {expected} instance, got {given}")));
    };
    if value.is_instance(cls.as_any())? {
        // SAFETY: both regions hold one value of this class; they overlap only if they
        // are the same value, which ptr::copy allows.
        unsafe { std::ptr::copy(source.get().live_address(py)?, address, info.size) };
        return keepalive::keep_ref(owner, index, keepalive::kept_objects(source)?);
    }
    if let (InfoKind::Pointer { target, .. }, InfoKind::Array { element, .. }) = (&info.kind, &source.get().info().get().kind) {
        if target.get_obj_type(py).is_some_and(|t| t.is(element)) {
            // An array stored into a pointer decays to the address of its first element;
            // the array itself must then stay alive, with what it keeps.
            // SAFETY: a pointer's memory holds one pointer.
            unsafe { address.cast::<usize>().write_unaligned(source.get().live_address(py)? as usize) };
            let kept = keepalive::kept_objects(source)?.unwrap_or_else(|| py.None());
            let both = PyTuple::new(py, [kept, value.clone().unbind()])?;
            return keepalive::keep_ref(owner, index, Some(both.into_any().unbind()));
        }
    }
    Err(PyTypeError::new_err(format!("incompatible types, {} instance instead of {} instance", scalar::type_name(value), cls.name()?)))
}

/// Stores a stdlib ctypes instance of the layout of `cls` (or, for a pointer, an array
/// of its target type) as ferrotypes' own of that class would be stored, keeping the
/// stdlib instance alive; None for any other value.
///
/// # Safety
/// As [`write_value`].
unsafe fn write_stdlib(owner: &Bound<'_, CData>, cls: &Bound<'_, PyType>, info: &TypeInfo, address: *mut u8, index: usize, value: &Bound<'_, PyAny>) -> Option<PyResult<()>> {
    let own = match stdlib_ctypes::adopted(value, cls) {
        Ok(own) => own?,
        Err(err) => return Some(Err(err)),
    };
    // SAFETY: the caller's promise; `own` is ferrotypes C data, which takes the copy
    // or decay path and does not come back here.
    Some(unsafe { write_value(owner, cls, info, address, index, &own) })
}

/// ctypes reports a failed tuple initialisation of a nested record as
/// `RuntimeError("(Inner) TypeError: message")`.
fn nested_init_error(py: Python<'_>, cls: &Bound<'_, PyType>, err: PyErr) -> PyErr {
    let kind = err.get_type(py).name().map(|n| n.to_string()).unwrap_or_default();
    let name = cls.name().map(|n| n.to_string()).unwrap_or_default();
    PyRuntimeError::new_err(format!("({name}) {kind}: {}", err.value(py)))
}
