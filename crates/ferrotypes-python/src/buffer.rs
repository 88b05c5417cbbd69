//! Borrowing other objects' memory through the buffer protocol.
//!
//! A [`ReadView`] holds a `Py_buffer` for as long as it lives and releases it on drop.
//! What it does not do: export ferrotypes' own instances as buffers (`cdata.rs` does).

use std::mem::MaybeUninit;

use pyo3::exceptions::PyTypeError;
use pyo3::ffi;
use pyo3::prelude::*;

/// A C-contiguous view of an object's bytes.
pub struct ReadView {
    view: Box<ffi::Py_buffer>,
}

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

    fn request(obj: &Bound<'_, PyAny>, flags: std::ffi::c_int) -> PyResult<ReadView> {
        let mut view: Box<MaybeUninit<ffi::Py_buffer>> = Box::new(MaybeUninit::uninit());
        // SAFETY: obj is a live object; on success CPython fills the whole struct.
        let rc = unsafe { ffi::PyObject_GetBuffer(obj.as_ptr(), view.as_mut_ptr(), flags) };
        if rc != 0 {
            return Err(PyErr::fetch(obj.py()));
        }
        // SAFETY: PyObject_GetBuffer succeeded, so the struct is initialised.
        let view = unsafe { Box::from_raw(Box::into_raw(view).cast::<ffi::Py_buffer>()) };
        Ok(ReadView { view })
    }

    /// The number of bytes.
    pub fn len(&self) -> usize {
        self.view.len as usize
    }

    /// The first byte.
    pub fn as_ptr(&self) -> *const u8 {
        self.view.buf as *const u8
    }

}

impl Drop for ReadView {
    fn drop(&mut self) {
        // SAFETY: the view was filled by PyObject_GetBuffer and is released once; the
        // GIL is held wherever a ReadView is dropped (it never leaves a GIL scope).
        unsafe { ffi::PyBuffer_Release(&mut *self.view) };
    }
}
