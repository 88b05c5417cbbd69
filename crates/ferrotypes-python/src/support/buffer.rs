//! Borrowing other objects' memory through the buffer protocol.
//!
//! A [`ReadView`] holds a `Py_buffer` for as long as it lives and releases it on drop;
//! foreign functions hold one per buffer argument for the duration of the call.
//! What it does not do: export ferrotypes' own instances as buffers (`cdata.rs` does).

use std::ffi::CStr;
use std::mem::{ManuallyDrop, MaybeUninit};

use pyo3::exceptions::PyTypeError;
use pyo3::ffi;
use pyo3::prelude::*;

use crate::support::gil_cell::GilCell;

/// A view of an object's bytes (C-contiguous unless made by [`ReadView::records`]).
/// The `Py_buffer` is boxed because exporters may point into it (`PyBuffer_FillInfo`
/// sets `shape` to `&view->len`): it must not move while held.
pub struct ReadView {
    view: ManuallyDrop<Box<ffi::Py_buffer>>,
}

/// The allocation of the last view released, for the next request: a call passing an
/// array would otherwise allocate and free one per call.
static SPARE: GilCell<Option<Box<MaybeUninit<ffi::Py_buffer>>>> = GilCell::new(None);

impl ReadView {
    /// Requests a simple (contiguous, unformatted) buffer from `obj`, with CPython's
    /// own errors: `TypeError` for objects without the buffer protocol, `BufferError`
    /// for non-contiguous ones (as ctypes reports them).
    pub fn new(obj: &Bound<'_, PyAny>) -> PyResult<ReadView> {
        ReadView::request(obj, ffi::PyBUF_SIMPLE)
    }

    /// Requests a writable C-contiguous buffer from `obj`.
    pub fn writable(obj: &Bound<'_, PyAny>) -> PyResult<ReadView> {
        ReadView::request(obj, ffi::PyBUF_C_CONTIGUOUS | ffi::PyBUF_WRITABLE)
            .map_err(|_| PyTypeError::new_err("underlying buffer is not writable or not C contiguous"))
    }

    /// Requests a view with the item format, shape and strides, of any layout and
    /// possibly read-only (what a pointer argument checks before taking the memory).
    pub fn records(obj: &Bound<'_, PyAny>) -> PyResult<ReadView> {
        ReadView::request(obj, ffi::PyBUF_RECORDS_RO)
    }

    /// Requests a view with shape and strides but no item format (which some exporters
    /// cannot give: numpy's datetime arrays); the items read as unsigned bytes.
    pub fn strided(obj: &Bound<'_, PyAny>) -> PyResult<ReadView> {
        ReadView::request(obj, ffi::PyBUF_STRIDES)
    }

    fn request(obj: &Bound<'_, PyAny>, flags: std::ffi::c_int) -> PyResult<ReadView> {
        let py = obj.py();
        let mut view = SPARE.replace(py, None).unwrap_or_else(|| Box::new(MaybeUninit::uninit()));
        // SAFETY: obj is a live object; on success CPython fills the whole struct.
        let rc = unsafe { ffi::PyObject_GetBuffer(obj.as_ptr(), view.as_mut_ptr(), flags) };
        if rc != 0 {
            SPARE.replace(py, Some(view));
            return Err(PyErr::fetch(py));
        }
        // SAFETY: PyObject_GetBuffer succeeded, so the struct is initialised.
        let view = unsafe { Box::from_raw(Box::into_raw(view).cast::<ffi::Py_buffer>()) };
        Ok(ReadView { view: ManuallyDrop::new(view) })
    }

    /// The number of bytes.
    pub fn len(&self) -> usize {
        self.view.len as usize
    }

    /// The first byte.
    pub fn as_ptr(&self) -> *const u8 {
        self.view.buf as *const u8
    }

    /// The struct-module format of one item (`B` when the exporter gave none).
    pub fn format(&self) -> &str {
        if self.view.format.is_null() {
            return "B";
        }
        // SAFETY: a non-NULL format is a NUL-terminated string owned by the exporter,
        // valid while the view is held (as long as `self`).
        unsafe { CStr::from_ptr(self.view.format) }.to_str().unwrap_or("")
    }

    /// [`format`](Self::format) as bytes, unchecked (for comparisons).
    pub fn format_bytes(&self) -> &[u8] {
        if self.view.format.is_null() {
            return b"B";
        }
        // SAFETY: a non-NULL format is a NUL-terminated string owned by the exporter,
        // valid while the view is held (as long as `self`).
        unsafe { CStr::from_ptr(self.view.format) }.to_bytes()
    }

    /// The size of one item.
    pub fn itemsize(&self) -> usize {
        self.view.itemsize as usize
    }

    /// The extent of each dimension (empty for a scalar, or when none was requested).
    pub fn shape(&self) -> &[isize] {
        if self.view.shape.is_null() || self.view.ndim <= 0 {
            return &[];
        }
        // SAFETY: a non-NULL shape holds `ndim` extents, valid while the view is held.
        unsafe { std::slice::from_raw_parts(self.view.shape, self.view.ndim as usize) }
    }

    /// Whether the exporter refuses writes through this memory.
    pub fn readonly(&self) -> bool {
        self.view.readonly != 0
    }

    /// Whether the items lie one after another in C (`b'C'`) or Fortran (`b'F'`) order.
    pub fn is_contiguous(&self, order: u8) -> bool {
        // SAFETY: the view is filled and held; CPython only reads it.
        unsafe { ffi::PyBuffer_IsContiguous(&**self.view, order as std::ffi::c_char) != 0 }
    }
}

impl Drop for ReadView {
    fn drop(&mut self) {
        // SAFETY: a ReadView never leaves a GIL scope, so the GIL is held wherever it is
        // dropped.
        let py = unsafe { Python::assume_attached() };
        // SAFETY: `self.view` is taken once, here, and not used afterwards.
        let mut view = unsafe { ManuallyDrop::take(&mut self.view) };
        // SAFETY: the view was filled by PyObject_GetBuffer and is released once.
        unsafe { ffi::PyBuffer_Release(&mut *view) };
        // SAFETY: a Py_buffer is plain data: its allocation may be reused uninitialised.
        let spare = unsafe { Box::from_raw(Box::into_raw(view).cast::<MaybeUninit<ffi::Py_buffer>>()) };
        drop(SPARE.replace(py, Some(spare)));
    }
}
