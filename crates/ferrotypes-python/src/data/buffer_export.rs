//! The buffer protocol of C data (`memoryview(obj)`): the instance's memory,
//! writable, with the PEP 3118 layout of its type. Views are counted on the instance
//! (`resize` waits for them) and on the lease of revocable memory (which is not taken
//! back while they are open).

use pyo3::exceptions::PyBufferError;
use pyo3::ffi;
use pyo3::prelude::*;

use crate::data::cdata::CData;
use crate::types::typeinfo::ExportLayout;

/// The buffer protocol: the instance's memory, writable, with the PEP 3118 layout
/// of its type ([`TypeInfo::buffer_layout`]). As in ctypes, the view always
/// carries the format and shape, and spans the whole memory (past the type's size
/// after `resize`). The format and shape are the class info's own when its layout is
/// fixed ([`TypeInfo::fixed_export`]: no allocation per export); otherwise they are
/// made for the view, which owns them through `Py_buffer.internal` until released.
///
/// # Safety
/// Called by CPython with `view` pointing at a `Py_buffer` to fill.
///
/// [`TypeInfo::buffer_layout`]: crate::types::typeinfo::TypeInfo::buffer_layout
/// [`TypeInfo::fixed_export`]: crate::types::typeinfo::TypeInfo::fixed_export
pub unsafe fn get_buffer(slf: Bound<'_, CData>, view: *mut ffi::Py_buffer) -> PyResult<()> {
    if view.is_null() {
        return Err(PyBufferError::new_err("no Py_buffer to fill"));
    }
    let py = slf.py();
    let me = slf.get();
    // Revocable memory (checked, and counted on its lease below) is the rare case.
    let (address, lease) = match me.plain_address(py) {
        Some(address) => (address, None),
        None => (me.live_address(py)?, me.lease(py)),
    };
    let info = me.info().get();
    let len = ffi::Py_ssize_t::try_from(me.size(py)).map_err(|_| PyBufferError::new_err("instance too large to export"))?;
    let mut made: Option<Box<ExportLayout>> = None;
    let layout = match info.fixed_export(py)? {
        Some(fixed) => fixed,
        None => &**made.insert(Box::new(ExportLayout::new(info.buffer_layout(py)?)?)),
    };
    let ndim = std::ffi::c_int::try_from(layout.shape.len()).map_err(|_| PyBufferError::new_err("too many dimensions"))?;
    // SAFETY: CPython passes a valid Py_buffer to fill. `format` and `shape` point
    // into the class info (kept alive by the instance, which the view holds in `obj`
    // as a strong reference) or into the box `internal` owns until __releasebuffer__;
    // the memory stays valid while the view holds `obj`, and `resize` refuses while
    // `exports` is non-zero.
    unsafe {
        (*view).buf = address.cast();
        (*view).len = len;
        (*view).readonly = 0;
        (*view).itemsize = layout.itemsize;
        (*view).ndim = ndim;
        (*view).format = layout.format.as_ptr().cast_mut();
        (*view).shape = if ndim == 0 { std::ptr::null_mut() } else { layout.shape.as_ptr().cast_mut() };
        (*view).strides = std::ptr::null_mut();
        (*view).suboffsets = std::ptr::null_mut();
        (*view).internal = made.map_or(std::ptr::null_mut(), Box::into_raw).cast();
        (*view).obj = slf.clone().into_any().into_ptr();
    }
    me.count_export(py, true);
    // Memory that may be taken back is not, while the view is open (see `liveness`).
    if let Some(lease) = lease {
        lease.get().count_export(py, true);
    }
    Ok(())
}

/// Frees what [`get_buffer`] allocated for the view, if anything.
///
/// # Safety
/// Called by CPython once per view filled by `get_buffer`.
pub unsafe fn release_buffer(slf: Bound<'_, CData>, view: *mut ffi::Py_buffer) {
    // SAFETY: `internal` is null or the box get_buffer made for this view, released
    // exactly once (CPython calls this once per successful get_buffer).
    unsafe {
        let internal = (*view).internal.cast::<ExportLayout>();
        if !internal.is_null() {
            drop(Box::from_raw(internal));
            (*view).internal = std::ptr::null_mut();
        }
    }
    let me = slf.get();
    me.count_export(slf.py(), false);
    if let Some(lease) = me.lease(slf.py()) {
        lease.get().count_export(slf.py(), false);
    }
}
