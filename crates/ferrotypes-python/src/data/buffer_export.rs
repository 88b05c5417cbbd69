//! The buffer protocol of C data (`memoryview(obj)`): the instance's memory,
//! writable, with the PEP 3118 layout of its type.

use pyo3::exceptions::{PyBufferError, PyValueError};
use pyo3::ffi;
use pyo3::prelude::*;

use crate::data::cdata::CData;

/// What a buffer view of an instance points its `format` and `shape` at; owned by the
/// view (through `Py_buffer.internal`) and freed when it is released.
struct ExportedLayout {
    format: std::ffi::CString,
    shape: Vec<ffi::Py_ssize_t>,
}

/// The buffer protocol: the instance's memory, writable, with the PEP 3118 layout
/// of its type ([`TypeInfo::buffer_layout`]). As in ctypes, the view always
/// carries the format and shape, and spans the whole memory (past the type's size
/// after `resize`).
///
/// # Safety
/// Called by CPython with `view` pointing at a `Py_buffer` to fill.
pub unsafe fn get_buffer(slf: Bound<'_, CData>, view: *mut ffi::Py_buffer) -> PyResult<()> {
    if view.is_null() {
        return Err(PyBufferError::new_err("no Py_buffer to fill"));
    }
    let py = slf.py();
    let me = slf.get();
    let layout = me.info().get().buffer_layout(py)?;
    let format = std::ffi::CString::new(layout.format).map_err(|_| PyValueError::new_err("buffer format contains NUL"))?;
    let shape = layout.shape.iter().map(|&d| d as ffi::Py_ssize_t).collect();
    let exported = Box::new(ExportedLayout { format, shape });
    let len = ffi::Py_ssize_t::try_from(me.size(py)).map_err(|_| PyBufferError::new_err("instance too large to export"))?;
    let itemsize = ffi::Py_ssize_t::try_from(layout.itemsize).map_err(|_| PyBufferError::new_err("item too large to export"))?;
    let ndim = std::ffi::c_int::try_from(exported.shape.len()).map_err(|_| PyBufferError::new_err("too many dimensions"))?;
    // SAFETY: CPython passes a valid Py_buffer to fill. `format` and `shape` point
    // into the boxed layout, which `internal` owns until __releasebuffer__; the
    // memory stays valid while the view holds `obj` (a strong reference), and
    // `resize` refuses while `exports` is non-zero.
    unsafe {
        (*view).buf = me.address(py).cast();
        (*view).len = len;
        (*view).readonly = 0;
        (*view).itemsize = itemsize;
        (*view).ndim = ndim;
        (*view).format = exported.format.as_ptr().cast_mut();
        (*view).shape = if ndim == 0 { std::ptr::null_mut() } else { exported.shape.as_ptr().cast_mut() };
        (*view).strides = std::ptr::null_mut();
        (*view).suboffsets = std::ptr::null_mut();
        (*view).internal = Box::into_raw(exported).cast();
        (*view).obj = slf.clone().into_any().into_ptr();
    }
    me.count_export(py, true);
    Ok(())
}

/// Frees what [`get_buffer`] allocated for the view.
///
/// # Safety
/// Called by CPython once per view filled by `get_buffer`.
pub unsafe fn release_buffer(slf: Bound<'_, CData>, view: *mut ffi::Py_buffer) {
    // SAFETY: `internal` is the box get_buffer leaked for this view, released
    // exactly once (CPython calls this once per successful get_buffer).
    unsafe {
        let internal = (*view).internal.cast::<ExportedLayout>();
        if !internal.is_null() {
            drop(Box::from_raw(internal));
            (*view).internal = std::ptr::null_mut();
        }
    }
    let me = slf.get();
    me.count_export(slf.py(), false);
}
