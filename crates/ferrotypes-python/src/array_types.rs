//! Array classes: `cls * n`, one class per (element class, length) for the life of
//! the process (as in ctypes), and the character buffers built on them
//! (`create_string_buffer`, `create_unicode_buffer`).
//!
//! The cache lives here so that the buffers, made millions of times by some
//! programs, find their class without running Python code. The class itself is
//! built by the Python metaclass (`_metatypes`), which registers its builder at
//! start-up.

use std::collections::HashMap;

use ferrotypes_core::ctype::ScalarKind;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyInt, PyString, PyType};

use crate::gil_cell::GilCell;
use crate::typeinfo::info_of;

/// Array classes by (element class address, length).
type ArrayTypeCache = HashMap<(usize, usize), Py<PyType>>;

/// The array classes made so far. A cached class keeps its element class alive
/// (through `_type_`), so an address in a key can never be reused by another class.
static ARRAY_TYPES: GilCell<Option<ArrayTypeCache>> = GilCell::new(None);

/// `_metatypes._build_array_type(element, length)`, which makes a new array class.
static BUILDER: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// Registers the function that builds a new array class (called once, by
/// `_metatypes.build_base_classes`).
#[pyfunction]
pub fn _set_array_type_builder(py: Python<'_>, builder: Py<PyAny>) -> PyResult<()> {
    BUILDER.set(py, builder).map_err(|_| PyValueError::new_err("the array type builder is already set"))
}

/// `element * length`: the array class of `length` elements, made on first use.
#[pyfunction]
pub fn array_type<'py>(element: &Bound<'py, PyType>, length: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyType>> {
    let py = element.py();
    if !length.is_instance_of::<PyInt>() {
        return Err(PyTypeError::new_err(format!("can't multiply sequence by non-int of type '{}'", crate::scalar::type_name(length))));
    }
    let n: isize = length.extract()?;
    let n = usize::try_from(n).map_err(|_| PyValueError::new_err(format!("Array length must be >= 0, not {n}")))?;
    let key = (element.as_ptr() as usize, n);
    let cached = ARRAY_TYPES.with(py, |types| types.as_ref().and_then(|t| t.get(&key)).map(|c| c.clone_ref(py)));
    if let Some(cls) = cached {
        return Ok(cls.into_bound(py));
    }
    let builder = BUILDER.get(py).ok_or_else(|| PyTypeError::new_err("array types are not available yet"))?;
    let cls = builder.bind(py).call1((element, n))?.cast_into::<PyType>()?;
    let mut types = ARRAY_TYPES.replace(py, None).unwrap_or_default();
    types.insert(key, cls.clone().unbind());
    drop(ARRAY_TYPES.replace(py, Some(types)));
    Ok(cls)
}

/// `create_string_buffer` (for `c_char`) and `create_unicode_buffer` (for `c_wchar`):
/// a new array of `element` holding `init` and a terminating NUL (`bytes`/`str`), or
/// `init` zero elements (`int`), raising ctypes' audit event first.
#[pyfunction]
#[pyo3(signature = (element, init, size = None))]
pub fn _char_buffer<'py>(element: &Bound<'py, PyType>, init: &Bound<'py, PyAny>, size: Option<&Bound<'py, PyAny>>) -> PyResult<Bound<'py, PyAny>> {
    let py = element.py();
    let wide = match info_of(element.as_any())?.get().scalar() {
        Some((ScalarKind::Char, _)) => false,
        Some((ScalarKind::WChar, _)) => true,
        _ => return Err(PyTypeError::new_err("a character buffer holds c_char or c_wchar")),
    };
    let event = if wide { c"ctypes.create_unicode_buffer" } else { c"ctypes.create_string_buffer" };
    let text = if wide { init.is_instance_of::<PyString>() } else { init.is_instance_of::<PyBytes>() };
    if text {
        let length = match size {
            Some(size) => size.clone(),
            None => (init.len()? + 1).into_pyobject(py)?.into_any(),
        };
        audit(py, event, init, &length)?;
        let buffer = array_type(element, &length)?.call0()?;
        buffer.setattr(pyo3::intern!(py, "value"), init)?;
        return Ok(buffer);
    }
    if init.is_instance_of::<PyInt>() {
        audit(py, event, &py.None().into_bound(py), init)?;
        return array_type(element, init)?.call0();
    }
    Err(PyTypeError::new_err(init.clone().unbind()))
}

/// Raises the audit event `event` with arguments `(init, size)`, as ctypes does.
fn audit(py: Python<'_>, event: &std::ffi::CStr, init: &Bound<'_, PyAny>, size: &Bound<'_, PyAny>) -> PyResult<()> {
    // SAFETY: a NUL-terminated event name and a format of two objects, both live.
    let status = unsafe { PySys_Audit(event.as_ptr(), c"OO".as_ptr(), init.as_ptr(), size.as_ptr()) };
    if status < 0 {
        return Err(PyErr::fetch(py));
    }
    Ok(())
}

extern "C" {
    /// CPython's audit hook entry (variadic, hence not in PyO3's bindings).
    fn PySys_Audit(event: *const std::ffi::c_char, format: *const std::ffi::c_char, ...) -> std::ffi::c_int;
}
