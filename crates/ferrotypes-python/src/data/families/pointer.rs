//! `_PointerData`: the Rust side of `_Pointer` — C data read and written through an
//! address. A pointer, like C, has no length, so only NULL is refused.
//!
//! Elements of simple types are converted in place; elements of other types come back
//! as instances viewing the target's memory.

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
use crate::data::keepalive;
use crate::data::construct::Construct;
use crate::support::scalar;
use crate::support::stdlib_ctypes;
use crate::data::instances::{self, Family};
use crate::data::registry;
use crate::data::slots;
use crate::types::typeinfo::{info_of, FamilyKind, InfoKind, TypeInfo};
use std::sync::OnceLock;

use crate::data::families::elements::{char_slice, exact_index, exact_slice_parts, index_value, index_value_or, mapping_of, char_elements, native_run, vec_for, wide_char_elements, wide_char_slice, FAST_SLICE_LIMIT};

/// The `mp_subscript` slot of `_PointerData` (see [`crate::data::slots`]): `p[i]` for a
/// non-NULL pointer to a built-in simple type and an `int` index is read here, and so
/// is `p[start:stop:step]` when the slice's parts are `int`s or `None`; anything else
/// goes to PyO3's `__getitem__`.
///
/// # Safety
/// CPython's `mp_subscript` contract: called with the GIL held, `pointer` an
/// instance of a class this slot was installed on (a pointer class), `index` a live
/// object, both lent for the call.
pub unsafe extern "C" fn pointer_subscript_slot(pointer: *mut ffi::PyObject, index: *mut ffi::PyObject) -> *mut ffi::PyObject {
    // SAFETY: CPython calls mapping slots with the GIL held.
    let py = unsafe { Python::assume_attached() };
    let fast = slots::fast_path(py, slots::NULL, || {
        // SAFETY: this slot is installed only where PyO3's `_PointerData` slot was, so
        // `pointer` is a pointer instance; `index` is a live object lent for the call.
        let (pointer, index) = unsafe { (Borrowed::from_ptr(py, pointer).cast_unchecked::<PointerData>(), Borrowed::from_ptr(py, index)) };
        if let Some((kind, swapped, address)) = PointerData::native_element(&pointer, &index) {
            // SAFETY: C memory at a non-NULL pointer plus the index, as ctypes reads it:
            // the pointer's owner vouches for it.
            return Some(unsafe { scalar::read_fast(py, kind, swapped, address) });
        }
        PointerData::native_slice(&pointer, exact_slice_parts(&index)?)
    });
    // SAFETY: PyO3's own slot, called with the arguments CPython gave us.
    slots::or_general(py, fast, slots::NULL, &GENERAL_POINTER_SUBSCRIPT, |general| unsafe { general(pointer, index) })
}

/// The `mp_ass_subscript` slot of `_PointerData`: an `int` or `float` stored at an
/// `int` index of a non-NULL pointer to a built-in numeric type is written here (as
/// in ctypes, a number keeps nothing alive); anything else (deletion included) goes
/// to PyO3's `__setitem__`.
///
/// # Safety
/// CPython's `mp_ass_subscript` contract: called with the GIL held, `pointer` an
/// instance of a class this slot was installed on (a pointer class), `index` a live
/// object and `value` one or NULL (deletion), all lent for the call.
pub unsafe extern "C" fn pointer_ass_subscript_slot(pointer: *mut ffi::PyObject, index: *mut ffi::PyObject, value: *mut ffi::PyObject) -> std::ffi::c_int {
    // SAFETY: CPython calls mapping slots with the GIL held.
    let py = unsafe { Python::assume_attached() };
    let fast = slots::fast_path(py, -1, || {
        if value.is_null() {
            return None;
        }
        // SAFETY: this slot is installed only where PyO3's `_PointerData` slot was, so
        // `pointer` is a pointer instance; `index` and `value` are live objects lent
        // for the call.
        let (pointer, index, value) = unsafe {
            (Borrowed::from_ptr(py, pointer).cast_unchecked::<PointerData>(), Borrowed::from_ptr(py, index), Borrowed::from_ptr(py, value))
        };
        let (kind, swapped, address) = PointerData::native_element(&pointer, &index)?;
        // SAFETY: C memory at a non-NULL pointer plus the index, as ctypes writes it:
        // the pointer's owner vouches for it.
        unsafe { scalar::write_native_number(&value, kind, swapped, address) }.map(|()| Ok(0))
    });
    // SAFETY: PyO3's own slot, called with the arguments CPython gave us.
    slots::or_general(py, fast, -1, &GENERAL_POINTER_ASS_SUBSCRIPT, |general| unsafe { general(pointer, index, value) })
}

impl PointerData {
    /// For the fast path: `p[start:stop:step]` of a pointer to a built-in simple type,
    /// from the slice's parts ([`exact_slice_parts`]), as the general path reads it;
    /// `None` for every other case (a NULL pointer included, whose error is the
    /// general path's).
    #[inline(never)] // off the path of p[i]
    fn native_slice(pointer: &Borrowed<'_, '_, PointerData>, [start, stop, step]: [Option<isize>; 3]) -> Option<PyResult<*mut ffi::PyObject>> {
        let py = pointer.py();
        let InfoKind::Pointer { native_target, .. } = &pointer.as_super().get().info().get().kind else { return None };
        let (kind, swapped) = native_target.get(py)?;
        let (start, step, count) = match slice_bounds(step, || Ok(start), || Ok(stop)) {
            Ok(bounds) => bounds,
            Err(err) => return Some(Err(err)),
        };
        if count > FAST_SLICE_LIMIT {
            return None;
        }
        // Nothing is read from an empty slice, so NULL is no error there (as in ctypes).
        let first = if count == 0 { 0 } else { PointerData::value(pointer).ok().filter(|&a| a != 0)? };
        // SAFETY: C memory at a non-NULL pointer plus the indexes, as ctypes reads it:
        // the pointer's owner vouches for it (nothing is read when count is zero).
        Some(unsafe { native_run(py, kind, swapped, first as *const u8, start, step, count) })
    }

    /// For the fast paths: the element at `index` (an exact `int`) of a non-NULL
    /// pointer to a built-in simple type, as its scalar kind, byte order and address;
    /// `None` for every other case.
    #[inline(always)] // on the path of p[i]
    fn native_element(pointer: &Borrowed<'_, '_, PointerData>, index: &Borrowed<'_, '_, PyAny>) -> Option<(ScalarKind, bool, *mut u8)> {
        let py = pointer.py();
        let index = exact_index(index)?;
        let address = PointerData::value(pointer).ok()?; // freed memory: the general path's error
        if address == 0 {
            return None;
        }
        let data = pointer.as_super().get();
        let InfoKind::Pointer { native_target, .. } = &data.info().get().kind else { return None };
        let (scalar, swapped) = native_target.get(py)?;
        let offset = index.checked_mul(scalar.size() as isize)?;
        Some((scalar, swapped, address.wrapping_add_signed(offset) as *mut u8))
    }
}

/// Where a pointer slice starts, its step and how many elements it selects, from its
/// step and (read in that order, as ctypes reads them) its start and stop, each `None`
/// when not given. A pointer has no length, so the stop (and, stepping backwards, the
/// start) must be given.
fn slice_bounds(
    step: Option<isize>,
    start: impl FnOnce() -> PyResult<Option<isize>>,
    stop: impl FnOnce() -> PyResult<Option<isize>>,
) -> PyResult<(isize, isize, usize)> {
    let step = step.unwrap_or(1);
    if step == 0 {
        return Err(PyValueError::new_err("slice step cannot be zero"));
    }
    let start = match start()? {
        Some(s) => s,
        None if step < 0 => return Err(PyValueError::new_err("slice start is required for step < 0")),
        None => 0,
    };
    let Some(stop) = stop()? else {
        return Err(PyValueError::new_err("slice stop is required"));
    };
    let count = if (step > 0 && start < stop) || (step < 0 && start > stop) { stop.abs_diff(start).div_ceil(step.unsigned_abs()) } else { 0 };
    Ok((start, step, count))
}

impl Family for PointerData {
    const KIND: FamilyKind = FamilyKind::Pointer;

    fn part(_cls: &Bound<'_, PyType>, info: &TypeInfo) -> PyResult<Option<Self>> {
        Ok((info.kind.family() == FamilyKind::Pointer).then_some(PointerData {}))
    }
}

/// PyO3's `p[i]` and `p[i] = v` of `_PointerData`, which the fast paths fall back to.
static GENERAL_POINTER_SUBSCRIPT: OnceLock<ffi::binaryfunc> = OnceLock::new();

static GENERAL_POINTER_ASS_SUBSCRIPT: OnceLock<ffi::objobjargproc> = OnceLock::new();

/// Registers the pointer family (at module initialisation), saving PyO3's element
/// slots for its fast paths.
pub fn register(py: Python<'_>) -> PyResult<()> {
    let mapping = mapping_of(&py.get_type::<PointerData>())?;
    // SAFETY: the live mapping table of a type made by PyO3, read with the GIL held.
    let (get, set) = unsafe { ((*mapping).mp_subscript, (*mapping).mp_ass_subscript) };
    slots::save_general(&GENERAL_POINTER_SUBSCRIPT, get)?;
    slots::save_general(&GENERAL_POINTER_ASS_SUBSCRIPT, set)?;
    slots::replace_getter(&py.get_type::<PointerData>(), c"contents", contents_get)?;
    registry::register_data_family::<PointerData>(py, Some(pointer_fast_paths))
}

/// `p.contents` as CPython's getset descriptor calls it, without PyO3's wrapper (see
/// [`slots::replace_getter`]): a pointer whose memory cannot be taken back, holding
/// an address, to a class whose view is made on the quick path
/// ([`instances::quick_view_in`]) is read here; every other case, and every error,
/// is [`general_contents_get`]'s. Storing stays PyO3's setter.
///
/// # Safety
/// CPython's getter contract, after `getset_get`'s check: the GIL held, `obj` a live
/// instance of `_PointerData` (or a subclass), lent for the call.
unsafe extern "C" fn contents_get(obj: *mut ffi::PyObject, closure: *mut std::ffi::c_void) -> *mut ffi::PyObject {
    // SAFETY: CPython calls getters with the GIL held. The token is not registered with
    // PyO3's attach count: what is made here is returned or kept (see data::slots).
    let py = unsafe { Python::assume_attached() };
    // SAFETY: the descriptor was made for _PointerData, and CPython checked that `obj`
    // is an instance of it before calling.
    let slf = unsafe { Borrowed::from_ptr_or_opt(py, obj).unwrap_unchecked().cast_unchecked::<PointerData>() };
    let data = slf.as_super().get();
    if let (Some(memory), InfoKind::Pointer { target, .. }) = (data.plain_address(py), &data.info().get().kind) {
        // SAFETY: a pointer instance's memory holds one pointer.
        let address = unsafe { memory.cast::<usize>().read_unaligned() };
        // A new reference (running the allocator may run code that sets the target),
        // bound, so that it is released at once (a `Py` dropped here would be queued:
        // see data::slots).
        if let (true, Some(cls)) = (address != 0, target.get_obj_type(py).map(|cls| cls.into_bound(py))) {
            // SAFETY: `obj` is a live C data instance whose memory cannot be taken back
            // (plain_address), lent for the call; a non-NULL address in a pointer of
            // class `cls`'s target is, as in ctypes, vouched for by its owner.
            if let Some(made) = unsafe { instances::quick_view_in(&cls, address, obj, 0) } {
                return made;
            }
        }
    }
    // SAFETY: this function's contract.
    unsafe { general_contents_get(obj, closure) }
}

/// `p.contents` in every case [`contents_get`] leaves: NULL, memory that may be taken
/// back, no target class yet, a class whose views are made by `instance`. A C
/// function (it cannot unwind: `guard` catches panics), so that `contents_get` ends by
/// jumping to it.
///
/// # Safety
/// As for [`contents_get`].
#[cold]
#[inline(never)]
unsafe extern "C" fn general_contents_get(obj: *mut ffi::PyObject, _closure: *mut std::ffi::c_void) -> *mut ffi::PyObject {
    // SAFETY: as in contents_get.
    let py = unsafe { Python::assume_attached() };
    slots::guard(py, slots::NULL, || {
        // SAFETY: as in contents_get.
        let slf = unsafe { Borrowed::from_ptr(py, obj).cast_unchecked::<PointerData>() };
        PointerData::get_contents(&slf).map(Py::into_ptr)
    })
}

/// Puts the element fast paths on `cls`, a new pointer class, where its slots are
/// still PyO3's.
fn pointer_fast_paths(cls: &Bound<'_, PyType>) {
    let (Some(&get), Some(&set)) = (GENERAL_POINTER_SUBSCRIPT.get(), GENERAL_POINTER_ASS_SUBSCRIPT.get()) else { return };
    let Ok(mapping) = mapping_of(cls) else { return };
    // SAFETY: a heap type's mapping table is its own; the slots keep their signatures,
    // and each fast path replaces only PyO3's `_PointerData` slot of the same kind.
    unsafe {
        if (*mapping).mp_subscript.map(|f| f as usize) == Some(get as usize) {
            (*mapping).mp_subscript = Some(pointer_subscript_slot);
        }
        if (*mapping).mp_ass_subscript.map(|f| f as usize) == Some(set as usize) {
            (*mapping).mp_ass_subscript = Some(pointer_ass_subscript_slot);
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
        let cls = PointerData::target_class(slf)?;
        let target_info = info_of(cls.as_any())?;
        Ok((cls, target_info))
    }

    /// The target class alone (see [`PointerData::target`]).
    fn target_class<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyType>> {
        let py = slf.py();
        let InfoKind::Pointer { target, .. } = &slf.as_super().get().info().get().kind else {
            return Err(PyTypeError::new_err("abstract class"));
        };
        let Some(cls) = target.get_obj_type(py) else {
            return Err(PyTypeError::new_err("pointer type has no target type (_type_) yet"));
        };
        Ok(cls.into_bound(py))
    }

    /// The address the pointer holds.
    pub fn value(slf: &Bound<'_, Self>) -> PyResult<usize> {
        // SAFETY: a pointer instance's memory holds one pointer.
        Ok(unsafe { slf.as_super().get().live_address(slf.py())?.cast::<usize>().read_unaligned() })
    }

    /// `p[start:stop:step]`: a list of the elements (bytes for `c_char`, str for
    /// `c_wchar`). A pointer has no length, so the stop (and, stepping backwards, the
    /// start) must be given.
    fn slice(slf: &Bound<'_, Self>, slice: &Bound<'_, PySlice>) -> PyResult<Py<PyAny>> {
        let py = slf.py();
        // As ctypes reads them: an integer beyond isize is ValueError.
        let part = |name: &Bound<'_, pyo3::types::PyString>| -> PyResult<Option<isize>> {
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
        let (start, step, count) = slice_bounds(part(pyo3::intern!(py, "step"))?, || part(pyo3::intern!(py, "start")), || part(pyo3::intern!(py, "stop")))?;
        let (cls, info, first) = if count == 0 {
            // Nothing is read, so NULL is no error (as in ctypes).
            let (cls, info) = PointerData::target(slf)?;
            (cls, info, std::ptr::null_mut())
        } else {
            PointerData::element(slf, 0)?
        };
        if char_elements(info.get()) {
            // SAFETY: C memory at a non-NULL pointer (when anything is read) plus the
            // indexes, as ctypes reads it: the pointer's owner vouches for it.
            return unsafe { char_slice(py, first, start, step, count) };
        }
        if wide_char_elements(info.get()) {
            // SAFETY: as for char_slice above, in wide characters.
            return unsafe { wide_char_slice(py, first.cast(), start, step, count) };
        }
        let size = info.get().size as isize;
        // Reserved before anything is read: a length no memory holds is a MemoryError,
        // not a read past the pointee. Then every index lies between start and stop.
        let mut items = vec_for(count)?;
        for k in 0..count {
            let i = start.wrapping_add((k as isize).wrapping_mul(step));
            let address = first.wrapping_offset(i.wrapping_mul(size));
            // SAFETY: C memory at a non-NULL pointer plus an index, as ctypes reads it:
            // the pointer's owner vouches for it.
            items.push(unsafe { access::read_value(slf.as_super(), &cls, info.get(), address, i as usize) }?);
        }
        Ok(PyList::new(py, items)?.into_any().unbind())
    }

    /// A pointer index as ctypes reads it (see [`index_value`]).
    fn index(index: &Bound<'_, PyAny>) -> PyResult<isize> {
        index_value(index, "Pointer indices must be integer")
    }

    /// The index of a store or deletion (`p[i] = v`, `del p[i]`), which ctypes reads as
    /// a sequence index: CPython's `TypeError` for a non-integer (slices too),
    /// `IndexError` for one too large for an `isize`.
    fn store_index(index: &Bound<'_, PyAny>) -> PyResult<isize> {
        index_value_or(index, || PyTypeError::new_err(format!("sequence index must be integer, not '{}'", scalar::type_name(index))))
    }

    fn element<'py>(slf: &Bound<'py, Self>, index: isize) -> PyResult<(Bound<'py, PyType>, Bound<'py, TypeInfo>, *mut u8)> {
        let address = PointerData::value(slf)?;
        if address == 0 {
            return Err(PyValueError::new_err("NULL pointer access"));
        }
        let (cls, info) = PointerData::target(slf)?;
        let offset = index.checked_mul(info.get().size as isize).ok_or_else(|| PyIndexError::new_err("pointer index out of range"))?;
        Ok((cls, info, address.wrapping_add_signed(offset) as *mut u8))
    }

    /// Points at `value`, an instance of the target class (or a stdlib instance of
    /// its layout), keeping it alive with the pointer.
    fn set_contents(slf: &Bound<'_, Self>, value: &Bound<'_, PyAny>) -> PyResult<()> {
        let py = slf.py();
        let (cls, _) = PointerData::target(slf)?;
        if !value.is_instance(cls.as_any())? {
            // A stdlib instance of the target's layout points to its own memory.
            return match stdlib_ctypes::adopted(value, &cls)? {
                Some(own) if own.is_instance(cls.as_any())? => PointerData::set_contents(slf, &own),
                _ => Err(stdlib_ctypes::wrong_type(&cls, value, |expected, given| format!("expected {expected} instead of {given}"))),
            };
        }
        let address = value.cast::<CData>()?.get().live_address(py)? as usize;
        // SAFETY: a pointer instance's memory holds one pointer.
        unsafe { slf.as_super().get().live_address(py)?.cast::<usize>().write_unaligned(address) };
        // As ctypes: slot 1 keeps the target, slot 0 what the target keeps.
        let target = value.cast::<CData>()?;
        keepalive::keep_ref(slf.as_super(), 1, Some(value.clone().unbind()))?;
        keepalive::keep_ref(slf.as_super(), 0, keepalive::kept_objects(target)?)
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
        // As `element(slf, 0)`, without looking up the target's info (instance_at does).
        let address = PointerData::value(slf)?;
        if address == 0 {
            return Err(PyValueError::new_err("NULL pointer access"));
        }
        let cls = PointerData::target_class(slf)?;
        Ok(crate::data::instances::view_in(&cls, address, slf.as_super(), 0)?.unbind())
    }

    #[setter(contents)]
    fn store_contents(slf: &Bound<'_, Self>, value: &Bound<'_, PyAny>) -> PyResult<()> {
        PointerData::set_contents(slf, value)
    }

    /// `del p.contents`: ctypes' `TypeError`.
    #[deleter(contents)]
    fn delete_contents(&self) -> PyResult<()> {
        Err(PyTypeError::new_err("Pointer does not support item deletion"))
    }

    fn __getitem__(slf: &Bound<'_, Self>, index: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        if let Ok(slice) = index.cast::<PySlice>() {
            return PointerData::slice(slf, slice);
        }
        let index = PointerData::index(index)?;
        let (cls, info, address) = PointerData::element(slf, index)?;
        // SAFETY: C memory at a non-NULL pointer plus the index, as ctypes reads it:
        // the pointer's owner vouches for it.
        unsafe { access::read_value(slf.as_super(), &cls, info.get(), address, index as usize) }
    }

    fn __setitem__(slf: &Bound<'_, Self>, index: &Bound<'_, PyAny>, value: &Bound<'_, PyAny>) -> PyResult<()> {
        let index = PointerData::store_index(index)?;
        let (cls, info, address) = PointerData::element(slf, index)?;
        // SAFETY: C memory at a non-NULL pointer plus the index, as ctypes stores it:
        // the pointer's owner vouches for it.
        unsafe { access::write_value(slf.as_super(), &cls, info.get(), address, index as usize, value) }
    }

    fn __bool__(slf: &Bound<'_, Self>) -> PyResult<bool> {
        Ok(PointerData::value(slf)? != 0)
    }

    /// `del p[i]`: ctypes' `TypeError`, once the index has been read.
    fn __delitem__(&self, index: &Bound<'_, PyAny>) -> PyResult<()> {
        PointerData::store_index(index)?;
        Err(PyTypeError::new_err("Pointer does not support item deletion"))
    }
}
