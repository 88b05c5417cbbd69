//! `_ArrayData`: the Rust side of `Array` — C data read and written element by
//! element, with indexes checked against the length.
//!
//! Elements of simple types are converted in place; elements of other types come back
//! as instances viewing the element's memory (kept valid by `_b_base_`).

// Panic audit (issue 17). Indexes are checked against the length (or, for a pointer,
// taken as C takes them, with wrapping address arithmetic); `index * size` stays
// within an array that exists, so below isize::MAX; slice positions come from
// CPython's slice fitting. The sites that rely on this say so.

use pyo3::exceptions::{PyIndexError, PyTypeError, PyValueError};
use ferrotypes_core::ctype::ScalarKind;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::Borrowed;
use pyo3::types::{PyDict, PyList, PySlice, PyTuple, PyType};
use pyo3::PyClassInitializer;

use crate::data::access;
use crate::data::cdata::CData;
use crate::data::construct::Construct;
use crate::support::scalar;
use crate::data::instances::Family;
use crate::data::registry;
use crate::data::slots;
use crate::types::typeinfo::{FamilyKind, InfoKind, TypeInfo};
use std::sync::OnceLock;

use crate::data::families::elements::{byte_run, char_slice, exact_index, exact_slice_parts, fit_slice, index_value, mapping_of, char_elements, native_run, slice_indices, unit_slice, vec_for, wide_char_elements, wide_char_slice, FAST_SLICE_LIMIT};

/// The Rust side of `Array`.
#[pyclass(extends = CData, subclass, frozen, module = "ferrotypes._ctypes", name = "_CData")]
pub struct ArrayData {}

impl ArrayData {
    fn parts<'py>(slf: &Bound<'py, Self>) -> PyResult<(Bound<'py, PyType>, Bound<'py, TypeInfo>, usize)> {
        let info = slf.as_super().get().info().bind(slf.py()).clone();
        let InfoKind::Array { element, element_info, length } = &info.get().kind else {
            return Err(PyTypeError::new_err("abstract class"));
        };
        Ok((element.bind(slf.py()).clone(), element_info.bind(slf.py()).clone(), *length))
    }

    #[allow(clippy::arithmetic_side_effects)] // index < length: the offset is within the array's size
    fn element_address(slf: &Bound<'_, Self>, index: usize, element_size: usize) -> PyResult<*mut u8> {
        // SAFETY: callers pass index < length, so the offset stays inside the array.
        Ok(unsafe { slf.as_super().get().live_address(slf.py())?.add(index * element_size) })
    }

    fn normalise(index: isize, length: usize) -> PyResult<usize> {
        let i = if index < 0 { index.checked_add_unsigned(length) } else { Some(index) };
        match i {
            Some(i) if i >= 0 && (i as usize) < length => Ok(i as usize),
            _ => Err(PyIndexError::new_err("invalid index")),
        }
    }
}

#[pymethods]
impl ArrayData {
    /// Made by `instances::new_slot` once the module is initialised (this is the
    /// `tp_new` PyO3 generates; without a `#[new]` PyO3 forbids instances).
    #[new]
    #[classmethod]
    #[pyo3(signature = (*_args, **_kwargs))]
    fn py_new(cls: &Bound<'_, PyType>, _args: &Bound<'_, PyTuple>, _kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<PyClassInitializer<Self>> {
        crate::data::instances::owned_initializer(cls)
    }

    /// `A(v0, v1, ...)`; keyword arguments are ignored, as ctypes ignores them.
    #[pyo3(signature = (*args, **_kwargs))]
    fn __init__(slf: &Bound<'_, Self>, args: &Bound<'_, PyTuple>, _kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<()> {
        let (_, _, length) = ArrayData::parts(slf)?;
        for (i, item) in args.iter().enumerate() {
            // Stored in order, as ctypes does: a bad value before the first surplus
            // one is what is reported.
            if i >= length {
                return Err(PyIndexError::new_err("invalid index"));
            }
            ArrayData::__setitem__(slf, &i.into_pyobject(slf.py())?.into_any(), &item)?;
        }
        Ok(())
    }

    /// The length, read from the class info without taking references to its parts.
    fn __len__(slf: &Bound<'_, Self>) -> PyResult<usize> {
        match slf.as_super().get().info().get().kind {
            InfoKind::Array { length, .. } => Ok(length),
            _ => Err(PyTypeError::new_err("abstract class")),
        }
    }

    fn __delitem__(&self, _index: &Bound<'_, PyAny>) -> PyResult<()> {
        Err(PyTypeError::new_err("Array does not support item deletion"))
    }

    fn __getitem__(slf: &Bound<'_, Self>, index: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let py = slf.py();
        let (cls, info, length) = ArrayData::parts(slf)?;
        let info = info.get();
        if let Ok(slice) = index.cast::<PySlice>() {
            let ind = slice.indices(length as isize)?;
            if char_elements(info) {
                // SAFETY: the slice was fitted to the length, so every byte it selects
                // lies inside the array's memory.
                return unsafe { char_slice(py, slf.as_super().get().live_address(py)?, ind.start, ind.step, ind.slicelength) };
            }
            if wide_char_elements(info) {
                // SAFETY: as for char_slice above, in wide characters.
                return unsafe { wide_char_slice(py, slf.as_super().get().live_address(py)?.cast(), ind.start, ind.step, ind.slicelength) };
            }
            let mut items = vec_for(ind.slicelength)?;
            for i in slice_indices(&ind) {
                // SAFETY: i < length (the slice was fitted to it), so the element lies
                // inside the array's memory.
                items.push(unsafe { access::read_value(slf.as_super(), &cls, info, ArrayData::element_address(slf, i, info.size)?, i) }?);
            }
            return Ok(PyList::new(py, items)?.into_any().unbind());
        }
        let i = ArrayData::normalise(index_value(index, "indices must be integers")?, length)?;
        // SAFETY: i < length (normalise checked it), so the element lies inside the
        // array's memory.
        unsafe { access::read_value(slf.as_super(), &cls, info, ArrayData::element_address(slf, i, info.size)?, i) }
    }

    fn __setitem__(slf: &Bound<'_, Self>, index: &Bound<'_, PyAny>, value: &Bound<'_, PyAny>) -> PyResult<()> {
        let (cls, info, length) = ArrayData::parts(slf)?;
        let info = info.get();
        if let Ok(slice) = index.cast::<PySlice>() {
            let ind = slice.indices(length as isize)?;
            // As ctypes: anything without the same length (an int, an iterator) is
            // this ValueError; the items are then taken by index.
            if value.len().ok() != Some(ind.slicelength) {
                return Err(PyValueError::new_err("Can only assign sequence of same size"));
            }
            for (k, i) in slice_indices(&ind).enumerate() {
                let v = value.get_item(k)?;
                // SAFETY: i < length (the slice was fitted to it), so the element lies
                // inside the array's memory.
                unsafe { access::write_value(slf.as_super(), &cls, info, ArrayData::element_address(slf, i, info.size)?, i, &v) }?;
            }
            return Ok(());
        }
        let i = ArrayData::normalise(index_value(index, "indices must be integers")?, length)?;
        // SAFETY: i < length (normalise checked it), so the element lies inside the
        // array's memory.
        unsafe { access::write_value(slf.as_super(), &cls, info, ArrayData::element_address(slf, i, info.size)?, i, value) }
    }
}

/// The `mp_subscript` slot of `_ArrayData` (see [`crate::data::slots`]): an element of a
/// built-in simple type at an `int` index in range is read here, and so is a slice of
/// such elements (or of `c_char`/`c_wchar` subclasses, whose slices are bytes/str);
/// anything else goes to PyO3's `__getitem__`.
///
/// # Safety
/// CPython's `mp_subscript` contract: called with the GIL held, `array` an instance
/// of a class this slot was installed on (an array class), `index` a live object,
/// both lent for the call.
pub unsafe extern "C" fn array_subscript_slot(array: *mut ffi::PyObject, index: *mut ffi::PyObject) -> *mut ffi::PyObject {
    // SAFETY: CPython calls mapping slots with the GIL held.
    let py = unsafe { Python::assume_attached() };
    let fast = slots::fast_path(py, slots::NULL, || {
        // SAFETY: this slot is installed on _ArrayData and inherited only by its
        // subclasses, so `array` is one; `index` is a live object lent for the call.
        let (array, index) = unsafe { (Borrowed::from_ptr(py, array).cast_unchecked::<ArrayData>(), Borrowed::from_ptr(py, index)) };
        if let Some((kind, swapped, address)) = ArrayData::native_element(&array, &index) {
            // SAFETY: native_element checked the index against the length.
            return Some(unsafe { scalar::read_fast(py, kind, swapped, address) });
        }
        ArrayData::native_slice(&array, &index)
    });
    // SAFETY: PyO3's own slot, called with the arguments CPython gave us.
    slots::or_general(py, fast, slots::NULL, &GENERAL_ARRAY_SUBSCRIPT, |general| unsafe { general(array, index) })
}

/// The `mp_ass_subscript` slot of `_ArrayData`: an `int` or `float` stored at an
/// `int` index in range of a numeric array is written here; anything else (deletion
/// included) goes to PyO3's `__setitem__`.
///
/// # Safety
/// CPython's `mp_ass_subscript` contract: called with the GIL held, `array` an
/// instance of a class this slot was installed on (an array class), `index` a live
/// object and `value` one or NULL (deletion), all lent for the call.
pub unsafe extern "C" fn array_ass_subscript_slot(array: *mut ffi::PyObject, index: *mut ffi::PyObject, value: *mut ffi::PyObject) -> std::ffi::c_int {
    // SAFETY: CPython calls mapping slots with the GIL held.
    let py = unsafe { Python::assume_attached() };
    let fast = slots::fast_path(py, -1, || {
        if value.is_null() {
            return None;
        }
        // SAFETY: this slot is installed on _ArrayData's classes only, so `array` is
        // one; `index` and `value` are live objects lent for the call.
        let (array, index, value) = unsafe {
            (Borrowed::from_ptr(py, array).cast_unchecked::<ArrayData>(), Borrowed::from_ptr(py, index), Borrowed::from_ptr(py, value))
        };
        let (kind, swapped, address) = ArrayData::native_element(&array, &index)?;
        // SAFETY: native_element checked the index against the length.
        unsafe { scalar::write_native_number(&value, kind, swapped, address) }.map(|()| Ok(0))
    });
    // SAFETY: PyO3's own slot, called with the arguments CPython gave us.
    slots::or_general(py, fast, -1, &GENERAL_ARRAY_ASS_SUBSCRIPT, |general| unsafe { general(array, index, value) })
}

/// The `sq_item` slot of the array classes, which iteration (`list(a)`, `for x in a`)
/// and `PySequence_GetItem` call with a C index: an element of a built-in simple type
/// is read here, as `a[i]` reads it; any other element goes to `a[i]` with the index
/// as an `int`. Without it, CPython's slot for a Python class calls `__getitem__`
/// through a method lookup and an argument tuple per element.
///
/// # Safety
/// CPython's `sq_item` contract: called with the GIL held, `array` an instance of a
/// class this slot was installed on (an array class), lent for the call.
pub unsafe extern "C" fn array_item_slot(array: *mut ffi::PyObject, index: ffi::Py_ssize_t) -> *mut ffi::PyObject {
    // SAFETY: CPython calls sequence slots with the GIL held.
    let py = unsafe { Python::assume_attached() };
    let fast = slots::fast_path(py, slots::NULL, || {
        // SAFETY: this slot is installed on _ArrayData's classes only, so `array` is one.
        let array = unsafe { Borrowed::from_ptr(py, array).cast_unchecked::<ArrayData>() };
        let data = array.as_super().get();
        let InfoKind::Array { length, .. } = data.info().get().kind else { return None };
        // As ctypes' sq_item: CPython has added the length to a negative index already.
        if usize::try_from(index).map_or(true, |i| i >= length) {
            return Some(Err(PyIndexError::new_err("invalid index")));
        }
        let (kind, swapped, address) = ArrayData::native_element_at(&array, index)?;
        // SAFETY: native_element_at checked the index against the length.
        Some(unsafe { scalar::read_fast(py, kind, swapped, address) })
    });
    if let Some(answer) = fast {
        return answer;
    }
    // SAFETY: a new int, or NULL with an exception set.
    let index = unsafe { ffi::PyLong_FromSsize_t(index) };
    if index.is_null() {
        return slots::NULL;
    }
    // SAFETY: the array as CPython gave it and a live int; the int is ours to release.
    unsafe {
        let item = array_subscript_slot(array, index);
        ffi::Py_DECREF(index);
        item
    }
}

impl Family for ArrayData {
    const KIND: FamilyKind = FamilyKind::Array;

    fn part(_cls: &Bound<'_, PyType>, info: &TypeInfo) -> PyResult<Option<Self>> {
        Ok((info.kind.family() == FamilyKind::Array).then_some(ArrayData {}))
    }
}

/// PyO3's `a[i]` and `a[i] = v` of `_ArrayData`, which the fast paths fall back to.
static GENERAL_ARRAY_SUBSCRIPT: OnceLock<ffi::binaryfunc> = OnceLock::new();

static GENERAL_ARRAY_ASS_SUBSCRIPT: OnceLock<ffi::objobjargproc> = OnceLock::new();

/// PyO3's `len(a)` of `_ArrayData` (its mapping and sequence slots), which
/// [`array_length_slot`] replaces on each array class.
static GENERAL_ARRAY_LENGTHS: OnceLock<(Option<ffi::lenfunc>, Option<ffi::lenfunc>)> = OnceLock::new();

/// `len(a)` as CPython calls it: the length from the class info the instance holds
/// (two loads, no compare: ctypes reads it from the instance, one load), without
/// PyO3's wrapper (its attach count and receiver check) and without a stack frame.
///
/// # Safety
/// CPython's `lenfunc` contract: the GIL held, `obj` a live instance of an array
/// class this slot was installed on (by [`array_fast_paths`]) or of a subclass.
unsafe extern "C" fn array_length_slot(obj: *mut ffi::PyObject) -> ffi::Py_ssize_t {
    // SAFETY: CPython calls slots with the GIL held (see data::slots), and never with
    // a NULL object.
    let py = unsafe {
        std::hint::assert_unchecked(!obj.is_null());
        Python::assume_attached()
    };
    // SAFETY: the slot is only on array classes, whose instances are ArrayData.
    let array = unsafe { Borrowed::from_ptr(py, obj).cast_unchecked::<ArrayData>() };
    // An array class's info is an array's, whose length is at most isize::MAX (see
    // TypeInfo::length): the cast keeps it.
    #[allow(clippy::cast_possible_wrap)]
    let length = array.as_super().get().info().get().length as ffi::Py_ssize_t;
    length
}

/// Registers the array family (at module initialisation), saving PyO3's element
/// slots for its fast paths.
pub fn register(py: Python<'_>) -> PyResult<()> {
    let mapping = mapping_of(&py.get_type::<ArrayData>())?;
    // SAFETY: the live mapping table of a type made by PyO3, read with the GIL held.
    let (get, set) = unsafe { ((*mapping).mp_subscript, (*mapping).mp_ass_subscript) };
    slots::save_general(&GENERAL_ARRAY_SUBSCRIPT, get)?;
    slots::save_general(&GENERAL_ARRAY_ASS_SUBSCRIPT, set)?;
    // SAFETY: the live slot tables of a type made by PyO3, read with the GIL held.
    let lengths = unsafe {
        let sequence = (*py.get_type::<ArrayData>().as_type_ptr()).tp_as_sequence;
        ((*mapping).mp_length, if sequence.is_null() { None } else { (*sequence).sq_length })
    };
    slots::save_general(&GENERAL_ARRAY_LENGTHS, Some(lengths))?;
    registry::register_data_family::<ArrayData>(py, Some(array_fast_paths))
}

/// Puts the element fast paths on `cls`, a new array class, where its element slots
/// are still PyO3's (see `registry::_enable_fast_slots`).
fn array_fast_paths(cls: &Bound<'_, PyType>) {
    let (Some(&get), Some(&set)) = (GENERAL_ARRAY_SUBSCRIPT.get(), GENERAL_ARRAY_ASS_SUBSCRIPT.get()) else { return };
    let Ok(mapping) = mapping_of(cls) else { return };
    // SAFETY: a heap type's mapping table is its own; the slots keep their signatures,
    // and each fast path replaces only PyO3's slot of the same family.
    unsafe {
        if (*mapping).mp_subscript.map(|f| f as usize) == Some(get as usize) {
            (*mapping).mp_subscript = Some(array_subscript_slot);
            // `__getitem__` is ours, not a Python method: so is sq_item.
            let sequence = (*cls.as_type_ptr()).tp_as_sequence;
            if !sequence.is_null() {
                (*sequence).sq_item = Some(array_item_slot);
            }
        }
        if (*mapping).mp_ass_subscript.map(|f| f as usize) == Some(set as usize) {
            (*mapping).mp_ass_subscript = Some(array_ass_subscript_slot);
        }
        if let Some(&(mapping_length, sequence_length)) = GENERAL_ARRAY_LENGTHS.get() {
            // A class statement fills both slots from one `__len__` descriptor: either
            // slot may hold either of PyO3's functions.
            let pyo3_slot = |slot: Option<ffi::lenfunc>| slot.is_some_and(|f| [mapping_length, sequence_length].iter().flatten().any(|&g| g as usize == f as usize));
            if pyo3_slot((*mapping).mp_length) {
                (*mapping).mp_length = Some(array_length_slot);
            }
            let sequence = (*cls.as_type_ptr()).tp_as_sequence;
            if !sequence.is_null() && pyo3_slot((*sequence).sq_length) {
                (*sequence).sq_length = Some(array_length_slot);
            }
        }
    }
}

impl Construct for ArrayData {
    /// `A()`: nothing to store.
    fn init(_obj: &Borrowed<'_, '_, Self>, args: &[*mut ffi::PyObject]) -> Option<PyResult<()>> {
        args.is_empty().then_some(Ok(()))
    }
}

impl ArrayData {
    /// For the fast paths: the element at `index` (an exact `int`, in range) when the
    /// elements are of a built-in simple type, as its scalar kind, byte order and
    /// address; `None` for every other case.
    #[inline(always)] // on the path of a[i]
    fn native_element(array: &Borrowed<'_, '_, ArrayData>, index: &Borrowed<'_, '_, PyAny>) -> Option<(ScalarKind, bool, *mut u8)> {
        ArrayData::native_element_at(array, exact_index(index)?)
    }

    /// [`ArrayData::native_element`] at an index already read.
    #[inline(always)] // on the path of a[i] and of iteration
    fn native_element_at(array: &Borrowed<'_, '_, ArrayData>, index: isize) -> Option<(ScalarKind, bool, *mut u8)> {
        let data = array.as_super().get();
        let InfoKind::Array { element_info, length, .. } = &data.info().get().kind else { return None };
        let element = element_info.get();
        let InfoKind::Simple { scalar, swapped, native_values: true } = element.kind else { return None };
        let i = ArrayData::normalise(index, *length).ok()?;
        // SAFETY: i < length, so the element lies inside the array's memory.
        #[allow(clippy::arithmetic_side_effects)] // i < length: the offset is within the array's size
        Some((scalar, swapped, unsafe { data.plain_address(array.py())?.add(i * element.size) }))
    }

    /// For the fast path: `a[start:stop:step]` when the elements are of a built-in
    /// simple type, or `c_char`/`c_wchar` (subclasses included: their slices are
    /// bytes/str), and the slice's parts are `int`s or `None`; `None` for every other
    /// case. The slice is fitted to the length as the general path's `slice.indices`
    /// fits it, with its errors.
    #[inline(never)] // off the path of a[i]
    fn native_slice(array: &Borrowed<'_, '_, ArrayData>, slice: &Borrowed<'_, '_, PyAny>) -> Option<PyResult<*mut ffi::PyObject>> {
        let py = array.py();
        let data = array.as_super().get();
        let InfoKind::Array { element_info, length, .. } = &data.info().get().kind else { return None };
        let InfoKind::Simple { scalar, swapped, native_values } = element_info.get().kind else { return None };
        if !(native_values || matches!(scalar, ScalarKind::Char | ScalarKind::WChar)) {
            return None;
        }
        if matches!(scalar, ScalarKind::Char) {
            if let Some((start, count)) = unit_slice(slice, *length) {
                let first = data.plain_address(py)?;
                // SAFETY: start + count <= length (unit_slice fitted them), so the
                // bytes lie inside the array's memory (c_char is one byte).
                return Some(unsafe { byte_run(py, first.add(start), count) });
            }
        }
        // Parts with `__index__` methods, which run Python code, go to the general path.
        let parts = exact_slice_parts(slice)?;
        let (start, step, count) = match fit_slice(parts, *length) {
            Ok(fitted) => fitted,
            Err(err) => return Some(Err(err)),
        };
        let first = data.plain_address(py)?;
        if count > FAST_SLICE_LIMIT {
            return None;
        }
        // SAFETY: the slice was fitted to the length, so every element it selects lies
        // inside the array's memory.
        Some(unsafe { native_run(py, scalar, swapped, first, start, step, count) })
    }
}
