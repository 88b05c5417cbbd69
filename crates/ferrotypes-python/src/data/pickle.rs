//! Pickling C data, as ctypes does: the class, the instance's `__dict__` and a copy
//! of its bytes; instances holding pointers are refused.

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

use crate::data::cdata::CData;

/// Pickling, as in ctypes: `(_unpickle, (type, (__dict__, bytes of the memory)))`.
/// Instances holding pointers are refused: an address is meaningless elsewhere.
pub fn reduce<'py>(slf: &Bound<'py, CData>) -> PyResult<Bound<'py, PyTuple>> {
    let py = slf.py();
    if slf.get().info().get().contains_pointers() {
        return Err(PyValueError::new_err("ctypes objects containing pointers cannot be pickled"));
    }
    let dict = slf.getattr(pyo3::intern!(py, "__dict__"))?;
    let data = slf.get().bytes(py)?;
    let unpickle = py.import("ferrotypes._ctypes")?.getattr(pyo3::intern!(py, "_unpickle"))?;
    let state = PyTuple::new(py, [dict, data.into_any()])?;
    PyTuple::new(py, [unpickle, PyTuple::new(py, [slf.get_type().into_any(), state.into_any()])?.into_any()])
}

/// Restores a pickled state: copies the bytes (at most the instance's size) into
/// the memory and updates `__dict__`.
pub fn set_state(slf: &Bound<'_, CData>, dict: &Bound<'_, PyAny>, data: &Bound<'_, PyAny>) -> PyResult<()> {
    let py = slf.py();
    let dict = dict.cast::<PyDict>().map_err(|_| {
        PyTypeError::new_err(format!("argument 1 must be dict, not {}", crate::support::scalar::type_name(dict)))
    })?;
    let bytes: Vec<u8> = if let Ok(b) = data.cast::<pyo3::types::PyBytes>() {
        b.as_bytes().to_vec()
    } else if let Ok(s) = data.cast::<pyo3::types::PyString>() {
        s.to_str()?.as_bytes().to_vec()
    } else {
        return Err(PyTypeError::new_err(format!(
            "argument 2 must be read-only bytes-like object, not {}",
            crate::support::scalar::type_name(data)
        )));
    };
    let me = slf.get();
    let n = bytes.len().min(me.size(py));
    // SAFETY: the instance's memory is valid for its size, and n is at most that;
    // `bytes` is a separate allocation.
    unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), me.live_address(py)?, n) };
    let own = slf.getattr(pyo3::intern!(py, "__dict__"))?;
    let own = own.cast::<PyDict>().map_err(|_| {
        PyTypeError::new_err(format!("{}.__dict__ must be a dictionary, not {}", slf.get_type().name().map(|n| n.to_string()).unwrap_or_default(), crate::support::scalar::type_name(&own)))
    })?;
    own.update(dict.as_mapping())
}

/// Rebuilds a pickled instance: `typ.__new__(typ)`, then `__setstate__(*state)`.
#[pyfunction]
pub fn _unpickle<'py>(typ: &Bound<'py, PyAny>, state: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let py = typ.py();
    let state = state.cast::<PyTuple>().map_err(|_| {
        PyTypeError::new_err(format!("state must be a tuple, not {}", crate::support::scalar::type_name(state)))
    })?;
    let obj = typ.call_method1(pyo3::intern!(py, "__new__"), (typ,))?;
    obj.getattr(pyo3::intern!(py, "__setstate__"))?.call1(state)?;
    Ok(obj)
}
