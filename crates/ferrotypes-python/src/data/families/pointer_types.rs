//! `pointer(obj)`: a new pointer to `obj`, of the pointer class that `POINTER` made
//! for the object's class. Programs call it once per foreign call that takes an
//! address, so it finds the class without running Python code.
//!
//! `POINTER(cls)`: the class from the cache (`_pointer_type_cache`, the dict ctypes
//! also has) when there, as one `METH_O` function; the cache and the function that
//! makes a new pointer class live in Python (`ferrotypes/__init__.py`), which
//! registers both at import.

#![warn(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::arithmetic_side_effects)]

use std::ffi::CStr;

use pyo3::exceptions::{PySystemError, PyValueError};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyDict;
use pyo3::Borrowed;

use crate::data::slots;

/// `_pointer_type_cache` and the function that makes a new pointer class, as registered.
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
pub fn pointer<'py>(obj: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let py = obj.py();
    let (cache, _) = POINTER_TYPES.get(py).ok_or_else(|| PySystemError::new_err("pointer types not registered"))?;
    let cls = obj.get_type();
    let pointer_class = match cache.bind(py).get_item(&cls)? {
        Some(pointer_class) => pointer_class,
        None => {
            // A stdlib instance: a pointer to the ferrotypes instance over its memory.
            if crate::support::stdlib_ctypes::is_stdlib_cdata(obj) {
                if let Some(own) = crate::support::stdlib_ctypes::twin(obj)? {
                    return pointer(&own);
                }
            }
            pointer_type(cls.as_any())?
        }
    };
    pointer_class.call1((obj,))
}

/// `POINTER(cls)`: the cached class, else the registered function's new one.
fn pointer_type<'py>(cls: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let py = cls.py();
    let (cache, factory) = POINTER_TYPES.get(py).ok_or_else(|| PySystemError::new_err("pointer types not registered"))?;
    match cache.bind(py).get_item(cls)? {
        Some(pointer_type) => Ok(pointer_type),
        None => factory.bind(py).call1((cls,)),
    }
}

/// `POINTER` as CPython calls it (`METH_O`, as ctypes defines it): a cached class is
/// found with one dictionary lookup, as ctypes finds it, and nothing else (no PyO3
/// wrapper, no stack frame); the rest is [`pointer_type_uncached`]'s.
///
/// # Safety
/// CPython's `METH_O` contract: the GIL held, `cls` a live object lent for the call.
unsafe extern "C" fn pointer_type_entry(_module: *mut ffi::PyObject, cls: *mut ffi::PyObject) -> *mut ffi::PyObject {
    // SAFETY: CPython calls a METH_O function with the GIL held. The token is not
    // registered with PyO3's attach count: no reference is dropped here.
    let py = unsafe { Python::assume_attached() };
    if let Some((cache, _)) = POINTER_TYPES.get(py) {
        // SAFETY: a live dict and a live key; the result is borrowed from the dict, or
        // NULL (with an exception set when the lookup failed, e.g. `cls` unhashable).
        let found = unsafe { ffi::PyDict_GetItemWithError(cache.as_ptr(), cls) };
        if !found.is_null() {
            // SAFETY: a live object (the cache holds it); the new reference is returned.
            unsafe { ffi::Py_INCREF(found) };
            return found;
        }
    }
    // SAFETY: this function's own contract.
    unsafe { pointer_type_uncached(cls) }
}

/// [`pointer_type_entry`] for a class not in the cache: the failed lookup's error,
/// or the registered function's new class.
///
/// # Safety
/// CPython's `METH_O` contract: the GIL held, `cls` a live object lent for the call.
#[cold]
#[inline(never)]
unsafe fn pointer_type_uncached(cls: *mut ffi::PyObject) -> *mut ffi::PyObject {
    // SAFETY: the GIL is held (this function's contract).
    let py = unsafe { Python::assume_attached() };
    // SAFETY: the GIL is held; a set exception is the cache lookup's, raised as is.
    if !unsafe { ffi::PyErr_Occurred() }.is_null() {
        return slots::NULL;
    }
    slots::guard(py, slots::NULL, || {
        // SAFETY: a live object lent for the call (the caller's promise).
        let cls = unsafe { Borrowed::from_ptr(py, cls) };
        Ok(pointer_type(&cls)?.into_ptr())
    })
}

/// `POINTER`'s definition: CPython keeps a pointer to a function's definition for the
/// function's life, so it is static.
struct EntryDef(ffi::PyMethodDef);

// SAFETY: the definition is never written after it is made, and CPython only reads it,
// so sharing it between threads is sound.
unsafe impl Sync for EntryDef {}

static POINTER_ENTRY: EntryDef = EntryDef(ffi::PyMethodDef {
    ml_name: c"POINTER".as_ptr(),
    ml_meth: ffi::PyMethodDefPointer { PyCFunction: pointer_type_entry },
    ml_flags: ffi::METH_O,
    ml_doc: c"POINTER($module, cls, /)\n--\n\nThe pointer type to `cls` (cached; a string names an incomplete type whose\ntarget is set later with `SetPointerType`).".as_ptr(),
});

/// Adds `POINTER` to module `m`.
pub fn add_pointer_type_function(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    let def = &POINTER_ENTRY.0;
    // SAFETY: a static definition of a METH_O function, which CPython only reads; the
    // module and its name are live objects. The result is a new reference or NULL with
    // an exception set.
    let function = unsafe { Bound::from_owned_ptr_or_err(py, ffi::PyCFunction_NewEx(std::ptr::from_ref(def).cast_mut(), m.as_ptr(), m.name()?.as_ptr())) }?;
    // SAFETY: ml_name is the static C string above.
    let name = unsafe { CStr::from_ptr(def.ml_name) };
    m.add(name.to_str().map_err(|_| PyValueError::new_err("function name is not UTF-8"))?, function)
}

/// `pointer` as CPython calls it (`METH_O`, as ctypes defines it): no PyO3 argument
/// parsing.
///
/// # Safety
/// CPython's `METH_O` contract: the GIL held, `obj` a live object lent for the call.
unsafe extern "C" fn pointer_entry(_module: *mut ffi::PyObject, obj: *mut ffi::PyObject) -> *mut ffi::PyObject {
    // SAFETY: CPython calls a METH_O function with the GIL held. The token is not
    // registered with PyO3's attach count: only `Bound`s are made and dropped here
    // (the new pointer keeps `obj` through its constructor, as a call from Python).
    let py = unsafe { Python::assume_attached() };
    slots::guard(py, slots::NULL, || {
        // SAFETY: a live object lent for the call (the caller's promise).
        let obj = unsafe { Borrowed::from_ptr(py, obj) };
        Ok(pointer(&obj)?.into_ptr())
    })
}

static POINTER_TO_ENTRY: slots::StaticMethodDef = slots::StaticMethodDef(ffi::PyMethodDef {
    ml_name: c"pointer".as_ptr(),
    ml_meth: ffi::PyMethodDefPointer { PyCFunction: pointer_entry },
    ml_flags: ffi::METH_O,
    ml_doc: c"pointer($module, obj, /)\n--\n\nA new pointer to `obj`, of the type `POINTER(type(obj))`.".as_ptr(),
});

/// Adds `pointer` to module `m`.
pub fn add_pointer_function(m: &Bound<'_, PyModule>) -> PyResult<()> {
    slots::add_function(m, &POINTER_TO_ENTRY)
}

/// Completes a pointer type created before its target (`SetPointerType`).
#[pyfunction]
pub fn set_pointer_type(pointer: &Bound<'_, pyo3::types::PyType>, target: &Bound<'_, pyo3::types::PyType>) -> PyResult<()> {
    crate::types::typeinfo::set_pointer_target(crate::types::typeinfo::info_of(pointer.as_any())?.get(), target)
}
