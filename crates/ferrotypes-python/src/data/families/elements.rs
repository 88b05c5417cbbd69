//! What arrays and pointers share: reading an index as ctypes does, the pieces of
//! slicing, character elements, their mapping slots.

// Panic audit (issue 17). Indexes are checked against the length (or, for a pointer,
// taken as C takes them, with wrapping address arithmetic); `index * size` stays
// within an array that exists, so below isize::MAX; slice positions come from
// CPython's slice fitting.
// Hence `clippy::indexing_slicing` and `arithmetic_side_effects` stay off here.
#![warn(clippy::unwrap_used, clippy::expect_used)]

use pyo3::exceptions::{PyMemoryError, PyTypeError};
use ferrotypes_core::ctype::ScalarKind;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::Borrowed;
use pyo3::types::{PyBytes, PyList, PyString, PyType};

use crate::types::typeinfo::{InfoKind, TypeInfo};

/// The indexes a slice selects, in order. Each is in range by construction (the
/// slice was fitted to the length), and no index past the last is computed, so a huge
/// step cannot overflow.
pub(super) fn slice_indices(ind: &pyo3::types::slice::PySliceIndices) -> impl Iterator<Item = usize> + '_ {
    (0..ind.slicelength).map(move |k| (ind.start + k as isize * ind.step) as usize)
}

/// An element index as ctypes reads it: `TypeError` (`not_integer`) for a non-integer,
/// `IndexError` for an integer too large for an `isize`.
pub(super) fn index_value(index: &Bound<'_, PyAny>, not_integer: &'static str) -> PyResult<isize> {
    // SAFETY: a live object; PyIndex_Check only reads its type.
    if unsafe { ffi::PyIndex_Check(index.as_ptr()) } == 0 {
        return Err(PyTypeError::new_err(not_integer));
    }
    // SAFETY: a live object that supports __index__ (checked above); the result is
    // -1 with an exception set on error.
    let i = unsafe { ffi::PyNumber_AsSsize_t(index.as_ptr(), ffi::PyExc_IndexError) };
    match PyErr::take(index.py()) {
        Some(err) if i == -1 => Err(err),
        _ => Ok(i),
    }
}

/// An empty vector with room for `count` items, or `MemoryError` (as ctypes raises)
/// when that much cannot be had: slice lengths come from Python.
pub(super) fn vec_for<T>(count: usize) -> PyResult<Vec<T>> {
    let mut items = Vec::new();
    items.try_reserve_exact(count).map_err(|_| PyMemoryError::new_err(format!("cannot make a slice of {count} items")))?;
    Ok(items)
}

/// Whether elements of type `info` are `c_char`s (or of a subclass), whose slices are
/// the bytes they select, as in ctypes (which reads an element of a subclass as an
/// instance, but its slices as bytes).
pub(super) fn char_elements(info: &TypeInfo) -> bool {
    matches!(info.kind, InfoKind::Simple { scalar: ScalarKind::Char, .. })
}

/// A slice of one-byte `c_char` elements as one bytes object: the `count` bytes at
/// `first + start + k * step`, with no object made per element.
///
/// # Safety
/// Each of those bytes must be readable (when `count` is not zero).
pub(super) unsafe fn char_slice(py: Python<'_>, first: *const u8, start: isize, step: isize, count: usize) -> PyResult<Py<PyAny>> {
    let too_large = || PyMemoryError::new_err(format!("cannot make a slice of {count} items"));
    if count == 0 {
        return Ok(PyBytes::new(py, b"").into_any().unbind());
    }
    let at = |k: usize| first.wrapping_offset(start.wrapping_add((k as isize).wrapping_mul(step)));
    if step == 1 {
        let len = ffi::Py_ssize_t::try_from(count).map_err(|_| too_large())?;
        // SAFETY: the caller vouches for the `count` bytes from `at(0)`, which CPython
        // copies into a new bytes object (NULL with an exception set on failure).
        return unsafe { Bound::from_owned_ptr_or_err(py, ffi::PyBytes_FromStringAndSize(at(0).cast(), len)) }.map(Bound::unbind);
    }
    let mut bytes: Vec<u8> = vec_for(count)?;
    for k in 0..count {
        // SAFETY: one of the bytes the caller vouches for.
        bytes.push(unsafe { at(k).read() });
    }
    Ok(crate::support::scalar::new_bytes(py, &bytes)?.into_any().unbind())
}

/// Slices of `c_char` give bytes and of `c_wchar` give str, not lists.
pub(super) fn join_chars(py: Python<'_>, kind: ferrotypes_core::ctype::ScalarKind, items: &[Py<PyAny>]) -> PyResult<Py<PyAny>> {
    if kind == ferrotypes_core::ctype::ScalarKind::Char {
        let bytes: Vec<u8> = items.iter().map(|b| b.bind(py).cast::<PyBytes>().map(|b| b.as_bytes()[0])).collect::<Result<_, _>>()?;
        return Ok(crate::support::scalar::new_bytes(py, &bytes)?.into_any().unbind());
    }
    // Joined by Python, not through a Rust String: lone surrogates are kept, as in ctypes.
    Ok(PyString::new(py, "").call_method1(pyo3::intern!(py, "join"), (PyList::new(py, items)?,))?.unbind())
}

/// For the fast paths: `index` as an `isize` when it is an exact `int` that fits;
/// `None` otherwise (the general path raises its own error for a too large one).
pub(super) fn exact_index(index: &Borrowed<'_, '_, PyAny>) -> Option<isize> {
    if !index.is_exact_instance_of::<pyo3::types::PyInt>() {
        return None;
    }
    // SAFETY: index is an int, converted without running Python code.
    let i = unsafe { ffi::PyLong_AsSsize_t(index.as_ptr()) };
    // SAFETY: the GIL is held; an error here can only be this conversion's.
    if i == -1 && unsafe { !ffi::PyErr_Occurred().is_null() } {
        // SAFETY: an exception is set (checked above) and the GIL is held.
        unsafe { ffi::PyErr_Clear() };
        return None;
    }
    Some(i)
}

/// The mapping table of `cls`, which a family with `__getitem__` has.
pub(super) fn mapping_of(cls: &Bound<'_, PyType>) -> PyResult<*mut ffi::PyMappingMethods> {
    // SAFETY: a live type object, read with the GIL held.
    let mapping = unsafe { (*cls.as_type_ptr()).tp_as_mapping };
    if mapping.is_null() {
        return Err(pyo3::exceptions::PySystemError::new_err("ferrotypes: a PyO3 slot to wrap is missing"));
    }
    Ok(mapping)
}

/// The character kind of elements of type `info` (`c_char` or `c_wchar`), whose
/// slices read as bytes or str rather than lists.
pub(super) fn character_kind(info: &TypeInfo) -> Option<ScalarKind> {
    match info.kind {
        InfoKind::Simple { scalar: k @ (ScalarKind::Char | ScalarKind::WChar), .. } => Some(k),
        _ => None,
    }
}
