//! Facts about the running interpreter, attribute lookup on classes without raising,
//! short descriptions of Python objects for messages, and CPython entry points PyO3
//! does not bind.

use pyo3::prelude::*;
use pyo3::types::PyType;

use crate::support::scalar;

extern "C" {
    /// CPython's audit hook entry (variadic, hence not in PyO3's bindings).
    pub(crate) fn PySys_Audit(event: *const std::ffi::c_char, format: *const std::ffi::c_char, ...) -> std::ffi::c_int;
}

/// Whether the running interpreter is at least `version` (major, minor): where
/// ctypes' behaviour or CPython's object layout changed between versions.
pub(crate) fn python_at_least(py: Python<'_>, version: (u8, u8)) -> bool {
    static RUNNING: std::sync::OnceLock<(u8, u8)> = std::sync::OnceLock::new();
    *RUNNING.get_or_init(|| (py.version_info().major, py.version_info().minor)) >= version
}

/// A short description of an object for messages: a class by name, anything else by
/// its type's name.
pub(crate) fn describe(obj: &Bound<'_, PyAny>) -> String {
    match obj.cast::<PyType>() {
        Ok(t) => t.name().map(|n| n.to_string()).unwrap_or_default(),
        Err(_) => format!("{} instance", scalar::type_name(obj)),
    }
}

/// `name` looked up along `class`'s MRO, as attribute access on the class finds a
/// class attribute, without making an `AttributeError` when it is absent (which costs
/// more than the lookup itself, on paths that mostly find nothing).
pub(crate) fn class_attribute<'py>(class: &Bound<'py, PyType>, name: &Bound<'py, pyo3::types::PyString>) -> Option<Bound<'py, PyAny>> {
    // SAFETY: a live type object and a str; the result is a borrowed reference or NULL,
    // with no exception set either way.
    let found = unsafe { _PyType_Lookup(class.as_type_ptr(), name.as_ptr()) };
    // SAFETY: when not NULL, a borrowed reference to a live object, of which the Bound
    // takes a share of its own.
    (!found.is_null()).then(|| unsafe { Bound::from_borrowed_ptr(class.py(), found) })
}

/// `getattr(class, name, None)` for a class, without making an `AttributeError` when
/// the name is absent. When the class's metaclass looks attributes up as `type` does
/// and has no attribute of that name itself, `type`'s lookup is the class's MRO
/// entry, returned as it is unless it is a descriptor (whose `__get__` decides): that
/// is done here with two lookups. Anything else is asked through `getattr`.
pub(crate) fn optional_class_attribute<'py>(class: &Bound<'py, PyType>, name: &Bound<'py, pyo3::types::PyString>) -> PyResult<Option<Bound<'py, PyAny>>> {
    let metaclass = class.get_type();
    // The slot's address: CPython's own `type` getattro is one C function, so equal
    // addresses are that function.
    // SAFETY: a live type object; its getattro slot is only read.
    let getattro = |tp: *mut pyo3::ffi::PyTypeObject| unsafe { (*tp).tp_getattro }.map(|f| f as usize);
    let plain_lookup = getattro(metaclass.as_type_ptr()) == getattro(std::ptr::addr_of_mut!(pyo3::ffi::PyType_Type));
    if plain_lookup && class_attribute(&metaclass, name).is_none() {
        match class_attribute(class, name) {
            None => return Ok(None),
            // SAFETY: a live object's type; its descriptor slot is only read.
            Some(found) if unsafe { (*found.get_type().as_type_ptr()).tp_descr_get }.is_none() => return Ok(Some(found)),
            Some(_) => {}
        }
    }
    class.as_any().getattr_opt(name)
}

extern "C" {
    /// CPython's lookup of a name along a type's MRO (exported by every CPython 3
    /// build, used by its own extension modules; not part of PyO3's bindings).
    fn _PyType_Lookup(class: *mut pyo3::ffi::PyTypeObject, name: *mut pyo3::ffi::PyObject) -> *mut pyo3::ffi::PyObject;
}
