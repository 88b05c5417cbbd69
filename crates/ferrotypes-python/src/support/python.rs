//! Facts about the running interpreter and short descriptions of Python objects for
//! messages.

use pyo3::prelude::*;
use pyo3::types::PyType;

use crate::support::scalar;

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
