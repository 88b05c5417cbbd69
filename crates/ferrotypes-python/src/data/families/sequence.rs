//! `_ArrayData` and `_PointerData`: the Rust side of `Array` and `_Pointer` — C data
//! read and written element by element.
//!
//! Elements of simple types are converted in place; elements of other types come back
//! as instances viewing the element's memory (kept valid by `_b_base_`). Indexes are
//! checked for arrays; a pointer, like C, has no length, so only NULL is refused.

// Panic audit (issue 17). Indexes are checked against the length (or, for a pointer,
// taken as C takes them, with wrapping address arithmetic); `index * size` stays
// within an array that exists, so below isize::MAX; slice positions come from
// CPython's slice fitting.
// Hence `clippy::indexing_slicing` and `arithmetic_side_effects` stay off here.
#![warn(clippy::unwrap_used, clippy::expect_used)]

use pyo3::exceptions::{PyIndexError, PyMemoryError, PyTypeError, PyValueError};
use ferrotypes_core::ctype::ScalarKind;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::Borrowed;
use pyo3::types::{PyBytes, PyDict, PyList, PySlice, PyString, PyTuple, PyType};
use pyo3::PyClassInitializer;

use crate::data::access;
use crate::data::cdata::CData;
use crate::data::construct::Construct;
use crate::support::scalar;
use crate::data::instances::Family;
use crate::data::registry;
use crate::data::slots;
use crate::types::typeinfo::{info_of, FamilyKind, InfoKind, TypeInfo};
use std::sync::OnceLock;

/// Reads the `index`-th element (class `cls`, info `info`) at `address` inside `owner`.
fn read_element(owner: &Bound<'_, PyAny>, cls: &Bound<'_, PyType>, info: &TypeInfo, address: *mut u8, index: usize) -> PyResult<Py<PyAny>> {
    // SAFETY: callers checked that `address` holds one element inside valid memory
    // (an array index in range, or a pointer's target, which C code vouches for).
    unsafe { access::read_value(owner, cls, info, address, index) }
}

/// Stores `value` as the `index`-th element at `address` inside `owner`.
fn write_element(owner: &Bound<'_, CData>, cls: &Bound<'_, PyType>, info: &TypeInfo, address: *mut u8, index: usize, value: &Bound<'_, PyAny>) -> PyResult<()> {
    // SAFETY: as in read_element.
    unsafe { access::write_value(owner, cls, info, address, index, value) }
}

/// The indexes a slice selects, in order. Each is in range by construction (the
/// slice was fitted to the length), and no index past the last is computed, so a huge
/// step cannot overflow.
fn slice_indices(ind: &pyo3::types::slice::PySliceIndices) -> impl Iterator<Item = usize> + '_ {
    (0..ind.slicelength).map(move |k| (ind.start + k as isize * ind.step) as usize)
}

/// An element index as ctypes reads it: `TypeError` (`not_integer`) for a non-integer,
/// `IndexError` for an integer too large for an `isize`.
fn index_value(index: &Bound<'_, PyAny>, not_integer: &'static str) -> PyResult<isize> {
    // SAFETY: a live object; PyIndex_Check only reads its type.
    if unsafe { ffi::PyIndex_Check(index.as_ptr()) } == 0 {
        return Err(PyTypeError::new_err(not_integer));
    }
    // SAFETY: as above; the result is -1 with an exception set on error.
    let i = unsafe { ffi::PyNumber_AsSsize_t(index.as_ptr(), ffi::PyExc_IndexError) };
    match PyErr::take(index.py()) {
        Some(err) if i == -1 => Err(err),
        _ => Ok(i),
    }
}

/// An empty vector with room for `count` items, or `MemoryError` (as ctypes raises)
/// when that much cannot be had: slice lengths come from Python.
fn vec_for<T>(count: usize) -> PyResult<Vec<T>> {
    let mut items = Vec::new();
    items.try_reserve_exact(count).map_err(|_| PyMemoryError::new_err(format!("cannot make a slice of {count} items")))?;
    Ok(items)
}

/// Slices of `c_char` give bytes and of `c_wchar` give str, not lists.
fn join_chars(py: Python<'_>, kind: ferrotypes_core::ctype::ScalarKind, items: &[Py<PyAny>]) -> PyResult<Py<PyAny>> {
    if kind == ferrotypes_core::ctype::ScalarKind::Char {
        let bytes: Vec<u8> = items.iter().map(|b| b.bind(py).cast::<PyBytes>().map(|b| b.as_bytes()[0])).collect::<Result<_, _>>()?;
        return Ok(crate::support::scalar::new_bytes(py, &bytes)?.into_any().unbind());
    }
    // Joined by Python, not through a Rust String: lone surrogates are kept, as in ctypes.
    Ok(PyString::new(py, "").call_method1(pyo3::intern!(py, "join"), (PyList::new(py, items)?,))?.unbind())
}

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

    fn element_address(slf: &Bound<'_, Self>, index: usize, element_size: usize) -> *mut u8 {
        // SAFETY: callers pass index < length, so the offset stays inside the array.
        unsafe { slf.as_super().get().address(slf.py()).add(index * element_size) }
    }

    fn normalise(index: isize, length: usize) -> PyResult<usize> {
        let i = if index < 0 { index + length as isize } else { index };
        if i < 0 || i as usize >= length {
            return Err(PyIndexError::new_err("invalid index"));
        }
        Ok(i as usize)
    }

    fn is_char_array(info: &TypeInfo) -> Option<ferrotypes_core::ctype::ScalarKind> {
        use ferrotypes_core::ctype::ScalarKind::{Char, WChar};
        match info.kind {
            InfoKind::Simple { scalar: k @ (Char | WChar), .. } => Some(k),
            _ => None,
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

    fn __len__(slf: &Bound<'_, Self>) -> PyResult<usize> {
        Ok(ArrayData::parts(slf)?.2)
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
            let mut items = vec_for(ind.slicelength)?;
            for i in slice_indices(&ind) {
                items.push(read_element(slf.as_any(), &cls, info, ArrayData::element_address(slf, i, info.size), i)?);
            }
            return match ArrayData::is_char_array(info) {
                Some(kind) => join_chars(py, kind, &items),
                None => Ok(PyList::new(py, items)?.into_any().unbind()),
            };
        }
        let i = ArrayData::normalise(index_value(index, "indices must be integers")?, length)?;
        read_element(slf.as_any(), &cls, info, ArrayData::element_address(slf, i, info.size), i)
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
                write_element(slf.as_super(), &cls, info, ArrayData::element_address(slf, i, info.size), i, &v)?;
            }
            return Ok(());
        }
        let i = ArrayData::normalise(index_value(index, "indices must be integers")?, length)?;
        write_element(slf.as_super(), &cls, info, ArrayData::element_address(slf, i, info.size), i, value)
    }
}

/// The `mp_subscript` slot of `_ArrayData` (see [`crate::data::slots`]): an element of a
/// built-in simple type at an `int` index in range is read here; anything else goes
/// to PyO3's `__getitem__`.
pub unsafe extern "C" fn array_subscript_slot(array: *mut ffi::PyObject, index: *mut ffi::PyObject) -> *mut ffi::PyObject {
    // SAFETY: CPython calls mapping slots with the GIL held.
    let py = unsafe { Python::assume_attached() };
    let fast = slots::fast_path(py, slots::NULL, || {
        // SAFETY: this slot is installed on _ArrayData and inherited only by its
        // subclasses, so `array` is one; `index` is a live object lent for the call.
        let (array, index) = unsafe { (Borrowed::from_ptr(py, array).cast_unchecked::<ArrayData>(), Borrowed::from_ptr(py, index)) };
        let (kind, swapped, address) = ArrayData::plain_element(&array, &index)?;
        // SAFETY: plain_element checked the index against the length.
        Some(unsafe { scalar::read_fast(py, kind, swapped, address) })
    });
    // SAFETY: PyO3's own slot, called with the arguments CPython gave us.
    slots::or_general(py, fast, slots::NULL, &GENERAL_ARRAY_SUBSCRIPT, |general| unsafe { general(array, index) })
}

/// The `mp_ass_subscript` slot of `_ArrayData`: an `int` or `float` stored at an
/// `int` index in range of a numeric array is written here; anything else (deletion
/// included) goes to PyO3's `__setitem__`.
pub unsafe extern "C" fn array_ass_subscript_slot(array: *mut ffi::PyObject, index: *mut ffi::PyObject, value: *mut ffi::PyObject) -> std::ffi::c_int {
    // SAFETY: CPython calls mapping slots with the GIL held.
    let py = unsafe { Python::assume_attached() };
    let fast = slots::fast_path(py, -1, || {
        if value.is_null() {
            return None;
        }
        // SAFETY: as in array_subscript_slot; `value` is a live object lent for the call.
        let (array, index, value) = unsafe {
            (Borrowed::from_ptr(py, array).cast_unchecked::<ArrayData>(), Borrowed::from_ptr(py, index), Borrowed::from_ptr(py, value))
        };
        let (kind, swapped, address) = ArrayData::plain_element(&array, &index)?;
        // SAFETY: plain_element checked the index against the length.
        unsafe { scalar::write_plain_number(&value, kind, swapped, address) }.map(|()| Ok(0))
    });
    // SAFETY: PyO3's own slot, called with the arguments CPython gave us.
    slots::or_general(py, fast, -1, &GENERAL_ARRAY_ASS_SUBSCRIPT, |general| unsafe { general(array, index, value) })
}

/// The `mp_subscript` slot of `_PointerData` (see [`crate::data::slots`]): `p[i]` for a
/// non-NULL pointer to a built-in simple type and an `int` index is read here;
/// anything else goes to PyO3's `__getitem__`.
pub unsafe extern "C" fn pointer_subscript_slot(pointer: *mut ffi::PyObject, index: *mut ffi::PyObject) -> *mut ffi::PyObject {
    // SAFETY: CPython calls mapping slots with the GIL held.
    let py = unsafe { Python::assume_attached() };
    let fast = slots::fast_path(py, slots::NULL, || {
        // SAFETY: this slot is installed only where PyO3's `_PointerData` slot was, so
        // `pointer` is a pointer instance; `index` is a live object lent for the call.
        let (pointer, index) = unsafe { (Borrowed::from_ptr(py, pointer).cast_unchecked::<PointerData>(), Borrowed::from_ptr(py, index)) };
        let (kind, swapped, address) = PointerData::plain_element(&pointer, &index)?;
        // SAFETY: C memory at a non-NULL pointer plus the index, as ctypes reads it:
        // the pointer's owner vouches for it.
        Some(unsafe { scalar::read_fast(py, kind, swapped, address) })
    });
    // SAFETY: PyO3's own slot, called with the arguments CPython gave us.
    slots::or_general(py, fast, slots::NULL, &GENERAL_POINTER_SUBSCRIPT, |general| unsafe { general(pointer, index) })
}

impl PointerData {
    /// For the fast path: the element at `index` (an exact `int`) of a non-NULL
    /// pointer to a built-in simple type, as its scalar kind, byte order and address;
    /// `None` for every other case.
    fn plain_element(pointer: &Borrowed<'_, '_, PointerData>, index: &Borrowed<'_, '_, PyAny>) -> Option<(ScalarKind, bool, *mut u8)> {
        let py = pointer.py();
        let index = exact_index(index)?;
        let address = PointerData::value(pointer);
        if address == 0 {
            return None;
        }
        let data = pointer.as_super().get();
        let InfoKind::Pointer { plain_target, .. } = &data.info().get().kind else { return None };
        let (scalar, swapped) = plain_target.get(py)?;
        let offset = index.checked_mul(scalar.size() as isize)?;
        Some((scalar, swapped, address.wrapping_add_signed(offset) as *mut u8))
    }
}

/// For the fast paths: `index` as an `isize` when it is an exact `int` that fits;
/// `None` otherwise (the general path raises its own error for a too large one).
fn exact_index(index: &Borrowed<'_, '_, PyAny>) -> Option<isize> {
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

impl Family for ArrayData {
    const KIND: FamilyKind = FamilyKind::Array;

    fn part(_cls: &Bound<'_, PyType>, info: &TypeInfo) -> PyResult<Option<Self>> {
        Ok((info.kind.family() == FamilyKind::Array).then_some(ArrayData {}))
    }
}

/// PyO3's `a[i]` and `a[i] = v` of `_ArrayData`, which the fast paths fall back to.
static GENERAL_ARRAY_SUBSCRIPT: OnceLock<ffi::binaryfunc> = OnceLock::new();
static GENERAL_ARRAY_ASS_SUBSCRIPT: OnceLock<ffi::objobjargproc> = OnceLock::new();

/// Registers the array family (at module initialisation), saving PyO3's element
/// slots for its fast paths.
pub fn register_arrays(py: Python<'_>) -> PyResult<()> {
    let mapping = mapping_of(&py.get_type::<ArrayData>())?;
    // SAFETY: the live mapping table of a type made by PyO3, read with the GIL held.
    let (get, set) = unsafe { ((*mapping).mp_subscript, (*mapping).mp_ass_subscript) };
    slots::save_general(&GENERAL_ARRAY_SUBSCRIPT, get)?;
    slots::save_general(&GENERAL_ARRAY_ASS_SUBSCRIPT, set)?;
    registry::register_data_family::<ArrayData>(py, Some(array_fast_paths))
}

/// The mapping table of `cls`, which a family with `__getitem__` has.
fn mapping_of(cls: &Bound<'_, PyType>) -> PyResult<*mut ffi::PyMappingMethods> {
    // SAFETY: a live type object, read with the GIL held.
    let mapping = unsafe { (*cls.as_type_ptr()).tp_as_mapping };
    if mapping.is_null() {
        return Err(pyo3::exceptions::PySystemError::new_err("ferrotypes: a PyO3 slot to wrap is missing"));
    }
    Ok(mapping)
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
        }
        if (*mapping).mp_ass_subscript.map(|f| f as usize) == Some(set as usize) {
            (*mapping).mp_ass_subscript = Some(array_ass_subscript_slot);
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
    fn plain_element(array: &Borrowed<'_, '_, ArrayData>, index: &Borrowed<'_, '_, PyAny>) -> Option<(ScalarKind, bool, *mut u8)> {
        let index = exact_index(index)?;
        let data = array.as_super().get();
        let InfoKind::Array { element_info, length, .. } = &data.info().get().kind else { return None };
        let element = element_info.get();
        let InfoKind::Simple { scalar, swapped, direct: true } = element.kind else { return None };
        let i = ArrayData::normalise(index, *length).ok()?;
        // SAFETY: i < length, so the element lies inside the array's memory.
        Some((scalar, swapped, unsafe { data.address(array.py()).add(i * element.size) }))
    }
}

impl Family for PointerData {
    const KIND: FamilyKind = FamilyKind::Pointer;

    fn part(_cls: &Bound<'_, PyType>, info: &TypeInfo) -> PyResult<Option<Self>> {
        Ok((info.kind.family() == FamilyKind::Pointer).then_some(PointerData {}))
    }
}

/// PyO3's `p[i]` of `_PointerData`, which the fast path falls back to.
static GENERAL_POINTER_SUBSCRIPT: OnceLock<ffi::binaryfunc> = OnceLock::new();

/// Registers the pointer family (at module initialisation), saving PyO3's `p[i]`
/// for its fast path.
pub fn register_pointers(py: Python<'_>) -> PyResult<()> {
    let mapping = mapping_of(&py.get_type::<PointerData>())?;
    // SAFETY: the live mapping table of a type made by PyO3, read with the GIL held.
    slots::save_general(&GENERAL_POINTER_SUBSCRIPT, unsafe { (*mapping).mp_subscript })?;
    registry::register_data_family::<PointerData>(py, Some(pointer_fast_paths))
}

/// Puts the `p[i]` fast path on `cls`, a new pointer class, where its slot is still
/// PyO3's.
fn pointer_fast_paths(cls: &Bound<'_, PyType>) {
    let Some(&get) = GENERAL_POINTER_SUBSCRIPT.get() else { return };
    let Ok(mapping) = mapping_of(cls) else { return };
    // SAFETY: a heap type's mapping table is its own; the slot keeps its signature,
    // and replaces only PyO3's `_PointerData` slot.
    unsafe {
        if (*mapping).mp_subscript.map(|f| f as usize) == Some(get as usize) {
            (*mapping).mp_subscript = Some(pointer_subscript_slot);
        }
    }
}

impl Construct for PointerData {
    /// `P()`, and `P(target)`: every case (a wrong target raises what `__init__` would).
    fn init(obj: &Borrowed<'_, '_, Self>, args: &[*mut ffi::PyObject]) -> Option<PyResult<()>> {
        match *args {
            [] => Some(Ok(())),
            // SAFETY: a constructor argument, lent for the call.
            [target] => Some(PointerData::set_contents(obj, &*unsafe { Borrowed::from_ptr(obj.py(), target) })),
            _ => None,
        }
    }
}

/// The Rust side of `_Pointer`.
#[pyclass(extends = CData, subclass, frozen, module = "ferrotypes._ctypes", name = "_CData")]
pub struct PointerData {}

impl PointerData {
    fn target<'py>(slf: &Bound<'py, Self>) -> PyResult<(Bound<'py, PyType>, Bound<'py, TypeInfo>)> {
        let py = slf.py();
        let info = slf.as_super().get().info().bind(py).clone();
        let InfoKind::Pointer { target, .. } = &info.get().kind else {
            return Err(PyTypeError::new_err("abstract class"));
        };
        let Some(cls) = target.get_obj_type(py) else {
            return Err(PyTypeError::new_err("pointer type has no target type (_type_) yet"));
        };
        let target_info = info_of(cls.bind(py).as_any())?;
        Ok((cls.into_bound(py), target_info))
    }

    /// The address the pointer holds.
    pub fn value(slf: &Bound<'_, Self>) -> usize {
        // SAFETY: a pointer instance's memory holds one pointer.
        unsafe { slf.as_super().get().address(slf.py()).cast::<usize>().read_unaligned() }
    }

    /// `p[start:stop:step]`: a list of the elements (bytes for `c_char`, str for
    /// `c_wchar`). A pointer has no length, so the stop (and, stepping backwards, the
    /// start) must be given.
    fn slice(slf: &Bound<'_, Self>, slice: &Bound<'_, PySlice>) -> PyResult<Py<PyAny>> {
        let py = slf.py();
        // As ctypes reads them: an integer beyond isize is ValueError.
        let part = |name: &str| -> PyResult<Option<isize>> {
            let v = slice.getattr(name)?;
            if v.is_none() {
                return Ok(None);
            }
            // SAFETY: a live object; the result is -1 with an exception set on error.
            let n = unsafe { ffi::PyNumber_AsSsize_t(v.as_ptr(), ffi::PyExc_ValueError) };
            match PyErr::take(py) {
                Some(err) if n == -1 => Err(err),
                _ => Ok(Some(n)),
            }
        };
        let step = part("step")?.unwrap_or(1);
        if step == 0 {
            return Err(PyValueError::new_err("slice step cannot be zero"));
        }
        let start = match part("start")? {
            Some(s) => s,
            None if step < 0 => return Err(PyValueError::new_err("slice start is required for step < 0")),
            None => 0,
        };
        let Some(stop) = part("stop")? else {
            return Err(PyValueError::new_err("slice stop is required"));
        };
        let count = if (step > 0 && start < stop) || (step < 0 && start > stop) { stop.abs_diff(start).div_ceil(step.unsigned_abs()) } else { 0 };
        let (cls, info, first) = if count == 0 {
            // Nothing is read, so NULL is no error (as in ctypes).
            let (cls, info) = PointerData::target(slf)?;
            (cls, info, std::ptr::null_mut())
        } else {
            PointerData::element(slf, 0)?
        };
        let size = info.get().size as isize;
        // Reserved before anything is read: a length no memory holds is a MemoryError,
        // not a read past the pointee. Then every index lies between start and stop.
        let mut items = vec_for(count)?;
        for k in 0..count {
            let i = start.wrapping_add((k as isize).wrapping_mul(step));
            let address = first.wrapping_offset(i.wrapping_mul(size));
            items.push(read_element(slf.as_any(), &cls, info.get(), address, i as usize)?);
        }
        match ArrayData::is_char_array(info.get()) {
            Some(kind) => join_chars(py, kind, &items),
            None => Ok(PyList::new(py, items)?.into_any().unbind()),
        }
    }

    /// A pointer index as ctypes reads it (see [`index_value`]).
    fn index(index: &Bound<'_, PyAny>) -> PyResult<isize> {
        index_value(index, "Pointer indices must be integer")
    }

    fn element<'py>(slf: &Bound<'py, Self>, index: isize) -> PyResult<(Bound<'py, PyType>, Bound<'py, TypeInfo>, *mut u8)> {
        let address = PointerData::value(slf);
        if address == 0 {
            return Err(PyValueError::new_err("NULL pointer access"));
        }
        let (cls, info) = PointerData::target(slf)?;
        let offset = index.checked_mul(info.get().size as isize).ok_or_else(|| PyIndexError::new_err("pointer index out of range"))?;
        Ok((cls, info, address.wrapping_add_signed(offset) as *mut u8))
    }
}

#[pymethods]
impl PointerData {
    /// Made by `instances::new_slot` once the module is initialised (this is the
    /// `tp_new` PyO3 generates; without a `#[new]` PyO3 forbids instances).
    #[new]
    #[classmethod]
    #[pyo3(signature = (*_args, **_kwargs))]
    fn py_new(cls: &Bound<'_, PyType>, _args: &Bound<'_, PyTuple>, _kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<PyClassInitializer<Self>> {
        crate::data::instances::owned_initializer(cls)
    }

    /// `P(target)`; keyword arguments are ignored, as ctypes ignores them.
    #[pyo3(signature = (*args, **_kwargs))]
    fn __init__(slf: &Bound<'_, Self>, args: &Bound<'_, PyTuple>, _kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<()> {
        match args.len() {
            0 => Ok(()),
            1 => PointerData::set_contents(slf, &args.get_item(0)?),
            n => Err(PyTypeError::new_err(format!("POINTER expected at most 1 argument, got {n}"))),
        }
    }

    /// The object the pointer points to.
    #[getter]
    fn get_contents(slf: &Bound<'_, Self>) -> PyResult<Py<PyAny>> {
        let (cls, _, address) = PointerData::element(slf, 0)?;
        Ok(crate::data::instances::instance_at(&cls, address as usize, Some(slf.clone().into_any().unbind()), 0)?.unbind())
    }

    #[setter]
    fn set_contents(slf: &Bound<'_, Self>, value: &Bound<'_, PyAny>) -> PyResult<()> {
        let py = slf.py();
        let (cls, _) = PointerData::target(slf)?;
        if !value.is_instance(cls.as_any())? {
            return Err(PyTypeError::new_err(format!("expected {} instead of {}", cls.name()?, scalar::type_name(value))));
        }
        let address = value.cast::<CData>()?.get().address(py) as usize;
        // SAFETY: a pointer instance's memory holds one pointer.
        unsafe { slf.as_super().get().address(py).cast::<usize>().write_unaligned(address) };
        // As ctypes: slot 1 keeps the target, slot 0 what the target keeps.
        let target = value.cast::<CData>()?;
        CData::keep_ref(slf.as_super(), 1, Some(value.clone().unbind()))?;
        CData::keep_ref(slf.as_super(), 0, CData::kept_objects(target)?)
    }

    fn __getitem__(slf: &Bound<'_, Self>, index: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        if let Ok(slice) = index.cast::<PySlice>() {
            return PointerData::slice(slf, slice);
        }
        let index = PointerData::index(index)?;
        let (cls, info, address) = PointerData::element(slf, index)?;
        read_element(slf.as_any(), &cls, info.get(), address, index as usize)
    }

    fn __setitem__(slf: &Bound<'_, Self>, index: &Bound<'_, PyAny>, value: &Bound<'_, PyAny>) -> PyResult<()> {
        let index = PointerData::index(index)?;
        let (cls, info, address) = PointerData::element(slf, index)?;
        write_element(slf.as_super(), &cls, info.get(), address, index as usize, value)
    }

    fn __bool__(slf: &Bound<'_, Self>) -> bool {
        PointerData::value(slf) != 0
    }

    fn __delitem__(&self, _index: &Bound<'_, PyAny>) -> PyResult<()> {
        Err(PyTypeError::new_err("Pointer does not support item deletion"))
    }
}
