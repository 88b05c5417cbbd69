//! What arrays and pointers share: reading an index as ctypes does, the pieces of
//! slicing, character elements, their mapping slots.

// Panic audit (issue 17). Indexes are checked against the length (or, for a pointer,
// taken as C takes them, with wrapping address arithmetic); `index * size` stays
// within an array that exists, so below isize::MAX; slice positions come from
// CPython's slice fitting. The sites that rely on this say so.

use pyo3::exceptions::{PyMemoryError, PyTypeError};
use ferrotypes_core::ctype::ScalarKind;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::Borrowed;
use pyo3::types::{PyBytes, PyType};

use crate::types::typeinfo::{InfoKind, TypeInfo};

/// The indexes a slice selects, in order. Each is in range by construction (the
/// slice was fitted to the length), and no index past the last is computed, so a huge
/// step cannot overflow.
#[allow(clippy::arithmetic_side_effects)] // each index is in range (above)
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

/// Whether elements of type `info` are `c_wchar`s (or of a subclass), whose slices
/// are the str they select, as in ctypes (which, as for `c_char`, reads an element of
/// a subclass as an instance but its slices as text).
pub(super) fn wide_char_elements(info: &TypeInfo) -> bool {
    matches!(info.kind, InfoKind::Simple { scalar: ScalarKind::WChar, .. })
}

/// A slice of `c_wchar` elements as one str: the `count` wide characters at
/// `first + start + k * step` (lone surrogates kept, as in ctypes; `c_wchar` has no
/// other byte order to read them in).
///
/// # Safety
/// Each of those wide characters must be readable (when `count` is not zero).
pub(super) unsafe fn wide_char_slice(py: Python<'_>, first: *const libc::wchar_t, start: isize, step: isize, count: usize) -> PyResult<Py<PyAny>> {
    let mut units: Vec<libc::wchar_t> = vec_for(count)?;
    for k in 0..count {
        let at = first.wrapping_offset(start.wrapping_add((k as isize).wrapping_mul(step)));
        // SAFETY: one of the wide characters the caller vouches for (unaligned reads:
        // a pointer may hold any address).
        units.push(unsafe { at.read_unaligned() });
    }
    crate::support::scalar::unicode_from_wide(py, &units)
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
