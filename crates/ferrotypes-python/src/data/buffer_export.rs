//! The buffer protocol of C data (`memoryview(obj)`): the instance's memory,
//! writable, with the PEP 3118 layout of its type. Views are counted on the instance
//! (`resize` waits for them) and on the lease of revocable memory (which is not taken
//! back while they are open).

use std::sync::OnceLock;

use pyo3::exceptions::{PyBufferError, PySystemError};
use pyo3::ffi;
use pyo3::prelude::*;

use crate::data::cdata::CData;
use crate::data::slots;
use crate::types::typeinfo::ExportLayout;

/// PyO3's `bf_getbuffer` and `bf_releasebuffer` of `_CDataBase`, which
/// [`install_buffer_slots`] replaces.
static GENERAL_SLOTS: OnceLock<(ffi::getbufferproc, ffi::releasebufferproc)> = OnceLock::new();

/// Gives `_CDataBase` the buffer protocol through [`getbuffer_slot`] and
/// [`releasebuffer_slot`], which CPython calls directly, in place of PyO3's wrappers
/// (which register each call with PyO3's attach count). Called at module
/// initialisation before any class derives from it: PyO3's family classes copy the
/// slots from their base; Python classes get them from [`buffer_fast_slots`].
pub fn install_buffer_slots(py: Python<'_>) -> PyResult<()> {
    let tp = py.get_type::<CData>();
    // SAFETY: a live heap type made by PyO3 (whose buffer table is its own), written
    // with the GIL held before any subclass exists; the slots keep their signatures.
    unsafe {
        let buffer = (*tp.as_type_ptr()).tp_as_buffer;
        let missing = || PySystemError::new_err("ferrotypes: _CDataBase has no PyO3 buffer slots to replace");
        if buffer.is_null() {
            return Err(missing());
        }
        if let (Some(get), Some(release)) = ((*buffer).bf_getbuffer, (*buffer).bf_releasebuffer) {
            if get as usize == getbuffer_slot as *const () as usize {
                return Ok(()); // installed by an earlier initialisation
            }
            let _ = GENERAL_SLOTS.set((get, release));
        } else {
            return Err(missing());
        }
        (*buffer).bf_getbuffer = Some(getbuffer_slot);
        (*buffer).bf_releasebuffer = Some(releasebuffer_slot);
    }
    Ok(())
}

/// Puts the raw buffer slots on `cls`, a C data class the metaclass just made, where
/// it holds PyO3's: from 3.12 a class statement takes the function `__buffer__`
/// wraps, PyO3's, instead of its base's slot (3.11 copies the slot). A class that
/// defines `__buffer__` keeps its own.
pub fn buffer_fast_slots(cls: &Bound<'_, pyo3::types::PyType>) {
    let Some(&(general_get, general_release)) = GENERAL_SLOTS.get() else { return };
    // SAFETY: a heap type's buffer table is its own, written with the GIL held; each
    // slot is replaced only where it is PyO3's of the same kind.
    unsafe {
        let buffer = (*cls.as_type_ptr()).tp_as_buffer;
        if buffer.is_null() {
            return;
        }
        if (*buffer).bf_getbuffer.map(|f| f as usize) == Some(general_get as usize) {
            (*buffer).bf_getbuffer = Some(getbuffer_slot);
        }
        if (*buffer).bf_releasebuffer.map(|f| f as usize) == Some(general_release as usize) {
            (*buffer).bf_releasebuffer = Some(releasebuffer_slot);
        }
    }
}

/// The `bf_getbuffer` slot of C data (see [`get_buffer`]; the flags ask nothing that
/// the view does not give: it is writable and always has its format and shape). The
/// common export, of memory that cannot be taken back with its class's fixed layout
/// made, is filled here without a frame for errors; every other one (and every
/// error) is [`general_getbuffer`]'s.
///
/// # Safety
/// CPython's `bf_getbuffer` contract: the GIL held, `obj` a live instance of
/// `_CDataBase` (or a subclass), `view` a `Py_buffer` to fill.
unsafe extern "C" fn getbuffer_slot(obj: *mut ffi::PyObject, view: *mut ffi::Py_buffer, flags: std::ffi::c_int) -> std::ffi::c_int {
    // SAFETY: CPython calls buffer slots with the GIL held. The token is not registered
    // with PyO3's attach count: what is made here is kept by the view (see data::slots).
    let py = unsafe { Python::assume_attached() };
    // SAFETY: the slot is installed on _CDataBase, so `obj` is one of its (live, so
    // not NULL) instances.
    let me = unsafe { pyo3::Borrowed::from_ptr_or_opt(py, obj).unwrap_unchecked().cast_unchecked::<CData>() }.get();
    if !view.is_null() {
        if let (Some(address), Some(layout)) = (me.plain_address(py), me.info().get().ready_export()) {
            if let (Ok(len), Ok(ndim)) = (ffi::Py_ssize_t::try_from(me.size(py)), std::ffi::c_int::try_from(layout.shape.len())) {
                // SAFETY: `view` is the Py_buffer CPython passes to fill; `obj` is the
                // live instance the view is of, which it keeps (a new reference).
                unsafe {
                    fill_view(view, address, len, layout, ndim);
                    (*view).internal = std::ptr::null_mut();
                    ffi::Py_INCREF(obj);
                    (*view).obj = obj;
                }
                me.count_export(py, true);
                return 0;
            }
        }
    }
    // SAFETY: this function's contract.
    unsafe { general_getbuffer(py, obj, view, flags) }
}

/// The `bf_getbuffer` slot in every case [`getbuffer_slot`] leaves.
///
/// # Safety
/// As for [`getbuffer_slot`].
#[cold]
#[inline(never)]
unsafe fn general_getbuffer(py: Python<'_>, obj: *mut ffi::PyObject, view: *mut ffi::Py_buffer, _flags: std::ffi::c_int) -> std::ffi::c_int {
    slots::guard(py, -1, || {
        // SAFETY: the slot is installed on _CDataBase, so `obj` is one of its instances.
        let slf = unsafe { pyo3::Borrowed::from_ptr(py, obj).cast_unchecked::<CData>() };
        // SAFETY: CPython passes a `Py_buffer` to fill.
        unsafe { get_buffer(slf.to_owned(), view) }.map(|()| 0)
    })
}

/// The `bf_releasebuffer` slot of C data (see [`release_buffer`]), which cannot fail:
/// a view of memory that cannot be taken back, which owns no layout of its own, is
/// uncounted here; every other one by [`general_releasebuffer`].
///
/// # Safety
/// CPython's `bf_releasebuffer` contract: the GIL held, called once per view
/// [`getbuffer_slot`] filled, with the exporting instance.
unsafe extern "C" fn releasebuffer_slot(obj: *mut ffi::PyObject, view: *mut ffi::Py_buffer) {
    // SAFETY: as in getbuffer_slot.
    let py = unsafe { Python::assume_attached() };
    // SAFETY: as in getbuffer_slot; CPython passes the view the slot filled.
    let (me, internal) = unsafe { (pyo3::Borrowed::from_ptr_or_opt(py, obj).unwrap_unchecked().cast_unchecked::<CData>().get(), (*view).internal) };
    if internal.is_null() && !me.is_revocable(py) {
        me.count_export(py, false);
        return;
    }
    // SAFETY: this function's contract.
    unsafe { general_releasebuffer(py, obj, view) }
}

/// The `bf_releasebuffer` slot in every case [`releasebuffer_slot`] leaves.
///
/// # Safety
/// As for [`releasebuffer_slot`].
#[cold]
#[inline(never)]
unsafe fn general_releasebuffer(py: Python<'_>, obj: *mut ffi::PyObject, view: *mut ffi::Py_buffer) {
    slots::guard_dealloc(py, || {
        // SAFETY: the slot is installed on _CDataBase, so `obj` is one of its
        // instances; CPython calls this once per view get_buffer filled.
        unsafe { release_buffer(pyo3::Borrowed::from_ptr(py, obj).cast_unchecked::<CData>().to_owned(), view) }
    });
}

/// Fills `view` with `len` bytes at `address` laid out as `layout` (of `ndim`
/// dimensions), writable; the caller sets `internal` and `obj`.
///
/// # Safety
/// `view` must be a `Py_buffer` to fill; `layout` must outlive the view (the class
/// info's own, which the instance the view holds keeps alive, or one the view owns).
#[inline(always)]
unsafe fn fill_view(view: *mut ffi::Py_buffer, address: *mut u8, len: ffi::Py_ssize_t, layout: &ExportLayout, ndim: std::ffi::c_int) {
    // SAFETY: the caller's promises; `format` and `shape` point into `layout`, which
    // lives as long as the view.
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
    }
}

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
        fill_view(view, address, len, layout, ndim);
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
