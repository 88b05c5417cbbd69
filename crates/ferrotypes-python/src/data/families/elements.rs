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
    index_value_or(index, || PyTypeError::new_err(not_integer))
}

/// [`index_value`] with the error for a non-integer made by `not_integer`.
pub(super) fn index_value_or(index: &Bound<'_, PyAny>, not_integer: impl FnOnce() -> PyErr) -> PyResult<isize> {
    // SAFETY: a live object; PyIndex_Check only reads its type.
    if unsafe { ffi::PyIndex_Check(index.as_ptr()) } == 0 {
        return Err(not_integer());
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
    if count == 0 {
        return Ok(PyBytes::new(py, b"").into_any().unbind());
    }
    let at = |k: usize| first.wrapping_offset(start.wrapping_add((k as isize).wrapping_mul(step)));
    if step == 1 {
        // SAFETY: the caller vouches for the `count` bytes from `at(0)`; the new
        // bytes object is ours.
        return unsafe { byte_run(py, at(0), count).map(|bytes| Bound::from_owned_ptr(py, bytes).unbind()) };
    }
    let mut bytes: Vec<u8> = vec_for(count)?;
    for k in 0..count {
        // SAFETY: one of the bytes the caller vouches for.
        bytes.push(unsafe { at(k).read() });
    }
    Ok(crate::support::scalar::new_bytes(py, &bytes)?.into_any().unbind())
}

/// The `count` bytes from `first` as a new bytes object (a new reference).
///
/// # Safety
/// Those bytes must be readable (when `count` is not zero).
#[inline(always)] // on the path of buf[i:j]
pub(super) unsafe fn byte_run(py: Python<'_>, first: *const u8, count: usize) -> PyResult<*mut ffi::PyObject> {
    let len = ffi::Py_ssize_t::try_from(count).map_err(|_| PyMemoryError::new_err(format!("cannot make a slice of {count} items")))?;
    // SAFETY: the caller vouches for the bytes, which CPython copies into a new bytes
    // object (NULL with an exception set on failure).
    let bytes = unsafe { ffi::PyBytes_FromStringAndSize(first.cast(), len) };
    if bytes.is_null() {
        return Err(PyErr::fetch(py));
    }
    Ok(bytes)
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

/// The longest slice the fast paths make: longer ones go to the general path, which
/// reserves their room first and names the length in its `MemoryError`.
pub(super) const FAST_SLICE_LIMIT: usize = 1 << 20;

/// For the fast paths: the start, stop and step of `index` when it is a `slice` whose
/// parts are each `None` or an `int` that fits an `isize` (read without running Python
/// code); `None` for anything else (the general path reads it, with its errors).
pub(super) fn exact_slice_parts(index: &Borrowed<'_, '_, PyAny>) -> Option<[Option<isize>; 3]> {
    let obj = index.as_ptr();
    // SAFETY: a live object; `slice` cannot be subclassed, so the check is exact.
    if unsafe { ffi::PySlice_Check(obj) } == 0 {
        return None;
    }
    // SAFETY: a slice object (checked above), whose three parts are live objects.
    let parts = unsafe {
        let slice = obj.cast::<ffi::PySliceObject>();
        [(*slice).start, (*slice).stop, (*slice).step]
    };
    let mut out = [None; 3];
    for (part, slot) in parts.into_iter().zip(out.iter_mut()) {
        // SAFETY: a live object, lent for the call.
        if unsafe { ffi::Py_IsNone(part) } != 0 {
            continue;
        }
        // SAFETY: as above.
        *slot = Some(exact_index(&unsafe { Borrowed::from_ptr(index.py(), part) })?);
    }
    Some(out)
}

/// For the fast paths: where a slice with no step (`a[i:j]`, `a[:j]`, ...) of a
/// sequence of `length` items starts and how many items it selects, fitted as
/// `slice.indices` fits it, when its bounds are each `None` or an `int` that fits an
/// `isize` (read without running Python code); `None` for anything else (a step
/// included), which [`exact_slice_parts`] and [`fit_slice`] or the general path read.
#[inline(always)] // on the path of buf[i:j]
pub(super) fn unit_slice(index: &Borrowed<'_, '_, PyAny>, length: usize) -> Option<(usize, usize)> {
    let obj = index.as_ptr();
    // SAFETY: a live object; `slice` cannot be subclassed, so the check is exact.
    if unsafe { ffi::PySlice_Check(obj) } == 0 {
        return None;
    }
    // SAFETY: a slice object (checked above), whose three parts are live objects.
    let [start, stop, step] = unsafe {
        let slice = obj.cast::<ffi::PySliceObject>();
        [(*slice).start, (*slice).stop, (*slice).step]
    };
    // SAFETY: a live object, lent for the call.
    if unsafe { ffi::Py_IsNone(step) } == 0 {
        return None;
    }
    let length = isize::try_from(length).ok()?;
    // As `slice.indices` with a step of 1: a negative bound counts from the end, and
    // both are clamped to 0..=length.
    let fit = |bound: *mut ffi::PyObject, absent: isize| -> Option<usize> {
        // SAFETY: a live object, lent for the call.
        let i = if unsafe { ffi::Py_IsNone(bound) } != 0 { absent } else { exact_index(&unsafe { Borrowed::from_ptr(index.py(), bound) })? };
        let i = if i < 0 { i.saturating_add(length).max(0) } else { i.min(length) };
        usize::try_from(i).ok()
    };
    let start = fit(start, 0)?;
    let stop = fit(stop, length)?;
    Some((start, stop.saturating_sub(start)))
}

/// The `count` scalars of `kind` at `first + (start + k * step) * size`, `k` from 0,
/// as ctypes slices them: one `bytes` for `c_char`, one `str` for `c_wchar`, else a
/// list of their values (a new reference).
///
/// # Safety
/// Each of those scalars must be readable (when `count` is not zero), and `count` at
/// most [`FAST_SLICE_LIMIT`].
pub(super) unsafe fn native_run(py: Python<'_>, kind: ScalarKind, swapped: bool, first: *const u8, start: isize, step: isize, count: usize) -> PyResult<*mut ffi::PyObject> {
    match kind {
        // SAFETY (both): the caller's promise, in bytes or wide characters.
        ScalarKind::Char => return unsafe { char_slice(py, first, start, step, count) }.map(Py::into_ptr),
        ScalarKind::WChar => return unsafe { wide_char_slice(py, first.cast(), start, step, count) }.map(Py::into_ptr),
        _ => {}
    }
    let size = kind.size() as isize;
    // SAFETY: a new list of `count` empty places (count is small: the caller's
    // promise), or NULL with an exception set.
    let list = unsafe { ffi::PyList_New(count as ffi::Py_ssize_t) };
    if list.is_null() {
        return Err(PyErr::fetch(py));
    }
    for k in 0..count {
        let at = first.wrapping_offset(start.wrapping_add((k as isize).wrapping_mul(step)).wrapping_mul(size));
        // SAFETY: one of the scalars the caller vouches for.
        match unsafe { crate::support::scalar::read_fast(py, kind, swapped, at) } {
            // SAFETY: place k of the new list, empty, takes the new reference.
            Ok(item) => unsafe { ffi::PyList_SET_ITEM(list, k as ffi::Py_ssize_t, item) },
            Err(err) => {
                // SAFETY: the list is ours; its empty places are NULL, which it skips.
                unsafe { ffi::Py_DECREF(list) };
                return Err(err);
            }
        }
    }
    Ok(list)
}

/// Where a slice of a sequence of `length` items starts, its step and how many items
/// it selects, from its parts (each `None` when not given), as `slice.indices` fits
/// them: `ValueError` for a zero step.
pub(super) fn fit_slice([start, stop, step]: [Option<isize>; 3], length: usize) -> PyResult<(isize, isize, usize)> {
    let step = match step {
        None => 1,
        Some(0) => return Err(pyo3::exceptions::PyValueError::new_err("slice step cannot be zero")),
        // As CPython: -step must not overflow.
        Some(step) => step.max(-isize::MAX),
    };
    let (mut start, mut stop) = if step < 0 {
        (start.unwrap_or(isize::MAX), stop.unwrap_or(isize::MIN))
    } else {
        (start.unwrap_or(0), stop.unwrap_or(isize::MAX))
    };
    let length = ffi::Py_ssize_t::try_from(length).unwrap_or(isize::MAX);
    // SAFETY: plain arithmetic on the numbers, which CPython fits to the length.
    let count = unsafe { ffi::PySlice_AdjustIndices(length, &mut start, &mut stop, step) };
    Ok((start, step, count.unsigned_abs()))
}
