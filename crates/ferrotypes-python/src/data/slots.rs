//! Fast paths in front of PyO3's type slots, for the operations a program does
//! millions of times: reading and storing a structure field or an array element.
//!
//! PyO3's slot wrappers register the call with PyO3's attach count, extract and
//! convert each argument, and check the receiver's type: several times the cost of
//! the access itself. A fast path here takes the raw slot call, handles the common
//! case (a plain number, say) itself, and hands everything else to the slot PyO3
//! installed, saved at module initialisation, so the general rules live in one place.
//!
//! A fast path runs with a `Python` token that is not registered with PyO3's attach
//! count (as the foreign-call entry in `function` does): a `Py` dropped inside would
//! be released late, at PyO3's next entry. Fast paths therefore only create objects
//! they return and borrow everything else.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr::null_mut;
use std::sync::OnceLock;

use pyo3::exceptions::PySystemError;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::PyType;

/// The slots PyO3 installed, which the fast paths fall back to.
pub struct GeneralSlots {
    pub field_get: ffi::descrgetfunc,
    pub field_set: ffi::descrsetfunc,
    pub subscript: ffi::binaryfunc,
    pub pointer_subscript: ffi::binaryfunc,
    pub ass_subscript: ffi::objobjargproc,
    pub simple_init: ffi::initproc,
    pub array_init: ffi::initproc,
    pub pointer_init: ffi::initproc,
    pub record_init: ffi::initproc,
}

static GENERAL: OnceLock<GeneralSlots> = OnceLock::new();

/// The general slots, once [`install`] has run (it runs at module initialisation,
/// before any instance can exist).
fn general() -> Option<&'static GeneralSlots> {
    GENERAL.get()
}

/// Saves PyO3's slots of `CField` and the instance families, and puts the fast paths
/// in front of them: on `CField` itself, and on the families' Python subclasses as
/// the metaclass creates them ([`_enable_fast_slots`]).
pub fn install(py: Python<'_>) -> PyResult<()> {
    use crate::data::families::{record, sequence, simple};
    use crate::data::instances;
    let missing = || PySystemError::new_err("ferrotypes: a PyO3 slot to wrap is missing");
    let field_tp = py.get_type::<record::CField>().as_type_ptr();
    let init_of = |tp: *mut ffi::PyTypeObject| {
        // SAFETY: a live type object made by PyO3 (the GIL is held).
        unsafe { (*tp).tp_init }.ok_or_else(missing)
    };
    let array_tp = py.get_type::<sequence::ArrayData>().as_type_ptr();
    let pointer_tp = py.get_type::<sequence::PointerData>().as_type_ptr();
    // SAFETY: live type objects just created by PyO3 (the GIL is held); their slot
    // tables are read, and CField's written, before any instance exists.
    unsafe {
        let mapping = (*array_tp).tp_as_mapping;
        let pointer_mapping = (*pointer_tp).tp_as_mapping;
        if mapping.is_null() || pointer_mapping.is_null() {
            return Err(missing());
        }
        let general = GeneralSlots {
            field_get: (*field_tp).tp_descr_get.ok_or_else(missing)?,
            field_set: (*field_tp).tp_descr_set.ok_or_else(missing)?,
            subscript: (*mapping).mp_subscript.ok_or_else(missing)?,
            pointer_subscript: (*pointer_mapping).mp_subscript.ok_or_else(missing)?,
            ass_subscript: (*mapping).mp_ass_subscript.ok_or_else(missing)?,
            simple_init: init_of(py.get_type::<simple::SimpleData>().as_type_ptr())?,
            array_init: init_of(array_tp)?,
            pointer_init: init_of(pointer_tp)?,
            record_init: init_of(py.get_type::<record::RecordData>().as_type_ptr())?,
        };
        if GENERAL.set(general).is_err() {
            return Ok(()); // already installed (the module was initialised before)
        }
        (*field_tp).tp_descr_get = Some(record::field_get_slot);
        (*field_tp).tp_descr_set = Some(record::field_set_slot);
        ffi::PyType_Modified(field_tp);
    }
    // Before any subclass exists, so that every class inherits them. PyO3 made the
    // families' tp_new from their `#[new]` (without one it would forbid instances).
    set_new(py.get_type::<simple::SimpleData>(), instances::new_slot::<simple::SimpleData>);
    set_new(py.get_type::<sequence::ArrayData>(), instances::new_slot::<sequence::ArrayData>);
    set_new(py.get_type::<sequence::PointerData>(), instances::new_slot::<sequence::PointerData>);
    set_new(py.get_type::<record::RecordData>(), instances::new_slot::<record::RecordData>);
    Ok(())
}

/// Replaces the `tp_new` of `family`, a type with no subclasses yet.
fn set_new(family: Bound<'_, PyType>, slot: ffi::newfunc) {
    // SAFETY: a live type object made by PyO3 (the GIL is held); the slot keeps its
    // signature. `__new__` in its dict calls whatever tp_new holds.
    unsafe {
        (*family.as_type_ptr()).tp_new = Some(slot);
        ffi::PyType_Modified(family.as_type_ptr());
    }
}

/// Puts the fast paths on `cls`, a C data class the metaclass just created.
///
/// A class statement does not copy a base's slot function when the base also has the
/// method's wrapper in its dict (`__init__`, `__getitem__`, ...): it takes the
/// function the wrapper wraps, PyO3's. So the metaclass calls this for every class;
/// only slots still holding PyO3's functions are replaced, so methods a class
/// defines in Python stay its own.
#[pyfunction]
pub fn _enable_fast_slots(cls: &Bound<'_, PyType>) -> PyResult<()> {
    use crate::data::construct;
    use crate::data::families::{record, sequence, simple};
    use construct::init_slot;
    let Some(general) = general() else { return Ok(()) };
    crate::data::instances::install_dealloc(cls);
    let tp = cls.as_type_ptr();
    let is = |slot: Option<usize>, general: usize| slot == Some(general);
    // SAFETY: tp is a live heap type; the slots written keep their signatures, and a
    // heap type's mapping table is its own. Each fast path is installed only where
    // PyO3's slot for the same family was, so it only ever sees that family.
    unsafe {
        let init = (*tp).tp_init.map(|f| f as usize);
        if is(init, general.simple_init as usize) {
            (*tp).tp_init = Some(init_slot::<simple::SimpleData>);
        } else if is(init, general.array_init as usize) {
            (*tp).tp_init = Some(init_slot::<sequence::ArrayData>);
        } else if is(init, general.pointer_init as usize) {
            (*tp).tp_init = Some(init_slot::<sequence::PointerData>);
        } else if is(init, general.record_init as usize) {
            (*tp).tp_init = Some(init_slot::<record::RecordData>);
        }
        let mapping = (*tp).tp_as_mapping;
        if !mapping.is_null() {
            let subscript = (*mapping).mp_subscript.map(|f| f as usize);
            if is(subscript, general.subscript as usize) {
                (*mapping).mp_subscript = Some(sequence::array_subscript_slot);
            } else if is(subscript, general.pointer_subscript as usize) {
                (*mapping).mp_subscript = Some(sequence::pointer_subscript_slot);
            }
            if is((*mapping).mp_ass_subscript.map(|f| f as usize), general.ass_subscript as usize) {
                (*mapping).mp_ass_subscript = Some(sequence::array_ass_subscript_slot);
            }
        }
    }
    construct::enable(cls);
    Ok(())
}

/// Has CPython call the instances of `tp` through the vectorcall function each holds
/// at `offset` (bytes from its start; a NULL one sends the call to `tp_call`). 3.11
/// gives no heap type the vectorcall flag, nor passes it on to subclasses.
///
/// # Safety
/// `tp` must be a live heap type whose instances, and its subclasses' instances, all
/// hold a `vectorcallfunc` (or NULL) at `offset`.
pub unsafe fn enable_vectorcall(tp: *mut ffi::PyTypeObject, offset: ffi::Py_ssize_t) {
    // SAFETY: as the caller guarantees; CPython reads these two fields on every call.
    unsafe {
        (*tp).tp_vectorcall_offset = offset;
        (*tp).tp_flags |= ffi::Py_TPFLAGS_HAVE_VECTORCALL;
    }
}

/// Whether `kwargs` is NULL or an empty dict.
///
/// # Safety
/// `kwargs` must be NULL or a dict.
pub unsafe fn no_keywords(kwargs: *mut ffi::PyObject) -> bool {
    // SAFETY: as the caller guarantees.
    kwargs.is_null() || unsafe { ffi::PyDict_Size(kwargs) } == 0
}

/// Runs `f` for a raw slot: its error is raised and `failure` returned; a panic is
/// caught and raised as `SystemError`, never unwound into CPython.
pub fn guard<T>(py: Python<'_>, failure: T, f: impl FnOnce() -> PyResult<T>) -> T {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(value)) => value,
        Ok(Err(err)) => {
            err.restore(py);
            failure
        }
        Err(_) => {
            PySystemError::new_err("ferrotypes: internal error (panic) in a fast path").restore(py);
            failure
        }
    }
}

/// Runs a fast path: `Some(Ok(v))` is the answer, `Some(Err(e))` raises `e` (the
/// answer is then `failure`), `None` means "not a case for the fast path" (see
/// [`guard`] for panics).
pub fn fast_path<T>(py: Python<'_>, failure: T, f: impl FnOnce() -> Option<PyResult<T>>) -> Option<T> {
    guard(py, Some(failure), || f().transpose())
}

/// The fast path's answer (`fast`), or else what PyO3's saved slot answers
/// (`general` calls it). Before [`install`] has run (it cannot happen: the slots are
/// only reachable after it) a `SystemError` is raised and `failure` returned.
pub fn or_general<T>(py: Python<'_>, fast: Option<T>, failure: T, general: impl FnOnce(&GeneralSlots) -> T) -> T {
    match (fast, GENERAL.get()) {
        (Some(answer), _) => answer,
        (None, Some(slots)) => general(slots),
        (None, None) => {
            PySystemError::new_err("ferrotypes: fast slots used before installation").restore(py);
            failure
        }
    }
}

/// A NULL object result (the slot's failure value).
pub const NULL: *mut ffi::PyObject = null_mut();

/// Makes `cls`, a class of ours made in Python (a public base or a metaclass), refuse
/// new attributes, as ctypes' bases and metaclasses do (they are static types there;
/// CPython 3.13's suite checks the flag).
#[pyfunction]
pub fn _make_immutable(cls: &Bound<'_, PyType>) {
    // SAFETY: a live type object, written with the GIL held; CPython reads the flag only
    // when an attribute of the class is set (type_setattro), and clears no cache over it.
    unsafe { (*cls.as_type_ptr()).tp_flags |= ffi::Py_TPFLAGS_IMMUTABLETYPE };
}
