//! Fast paths in front of PyO3's type slots, for the operations a program does
//! millions of times: reading and storing a structure field or an array element,
//! making an instance. This file holds what every fast path shares (saving PyO3's
//! slot, falling back to it, keeping errors and panics from CPython); each family
//! installs its own fast paths when it registers (see `registry`).
//!
//! PyO3's slot wrappers register the call with PyO3's attach count, extract and
//! convert each argument, and check the receiver's type: several times the cost of
//! the access itself. A fast path here takes the raw slot call, handles the common
//! case (a native number, say) itself, and hands everything else to the slot PyO3
//! installed, saved at module initialisation, so the general rules live in one place.
//!
//! A fast path runs with a `Python` token that is not registered with PyO3's attach
//! count (as the foreign-call entry of the function-pointer object does): a `Py` dropped inside would
//! be released late, at PyO3's next entry. Fast paths therefore only create objects
//! they return and borrow everything else.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr::null_mut;
use std::sync::OnceLock;

use pyo3::exceptions::PySystemError;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::PyType;

/// Replaces the `tp_new` of `family`, a type with no subclasses yet.
pub fn set_new(family: &Bound<'_, PyType>, slot: ffi::newfunc) {
    // SAFETY: a live type object made by PyO3 (the GIL is held); the slot keeps its
    // signature. `__new__` in its dict calls whatever tp_new holds.
    unsafe {
        (*family.as_type_ptr()).tp_new = Some(slot);
        ffi::PyType_Modified(family.as_type_ptr());
    }
}

/// Saves `pyo3_slot`, the slot function PyO3 gave a type, into `saved` for the fast
/// path that replaces it to fall back to. `false` when one was saved before (the
/// module was initialised before and the fast path is already installed: what the
/// type holds now is the fast path itself).
pub fn save_general<S>(saved: &OnceLock<S>, pyo3_slot: Option<S>) -> PyResult<bool> {
    let slot = pyo3_slot.ok_or_else(|| PySystemError::new_err("ferrotypes: a PyO3 slot to wrap is missing"))?;
    Ok(saved.set(slot).is_ok())
}

/// Has CPython call the instances of `tp` through the vectorcall function each holds
/// at `offset` (bytes from its start; a NULL one sends the call to `tp_call`). 3.11
/// gives no heap type the vectorcall flag, nor passes it on to subclasses.
///
/// # Safety
/// `tp` must be a live heap type whose instances, and its subclasses' instances, all
/// hold a `vectorcallfunc` (or NULL) at `offset`.
pub unsafe fn enable_vectorcall(tp: *mut ffi::PyTypeObject, offset: ffi::Py_ssize_t) {
    // SAFETY: `tp` is a live heap type whose instances (and its subclasses') hold a
    // vectorcall function or NULL at `offset` (the caller's promise), which is all
    // CPython needs of these two fields, read on every call.
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
    // SAFETY: a non-NULL `kwargs` is a dict (the caller's promise).
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

/// Runs `f`, the work of a `tp_dealloc` slot, which can neither fail nor raise: a
/// panic is caught and reported to `sys.unraisablehook` as a `SystemError`, never
/// unwound into CPython, and the exception in flight (a deallocation may run while
/// one is being raised) is kept.
pub fn guard_dealloc(py: Python<'_>, f: impl FnOnce()) {
    if catch_unwind(AssertUnwindSafe(f)).is_err() {
        let in_flight = PyErr::take(py);
        PySystemError::new_err("ferrotypes: internal error (panic) in a deallocator").write_unraisable(py, None);
        if let Some(err) = in_flight {
            err.restore(py);
        }
    }
}

/// Runs a fast path: `Some(Ok(v))` is the answer, `Some(Err(e))` raises `e` (the
/// answer is then `failure`), `None` means "not a case for the fast path" (see
/// [`guard`] for panics).
pub fn fast_path<T>(py: Python<'_>, failure: T, f: impl FnOnce() -> Option<PyResult<T>>) -> Option<T> {
    guard(py, Some(failure), || f().transpose())
}

/// The fast path's answer (`fast`), or else what PyO3's slot, saved in `saved` by
/// [`save_general`], answers (`general` calls it). Before it is saved (it cannot
/// happen: a fast path is installed after saving the slot it replaces) a
/// `SystemError` is raised and `failure` returned.
#[inline(always)]
pub fn or_general<S: Copy, T>(py: Python<'_>, fast: Option<T>, failure: T, saved: &OnceLock<S>, general: impl FnOnce(S) -> T) -> T {
    match (fast, saved.get()) {
        (Some(answer), _) => answer,
        (None, Some(&slot)) => general(slot),
        (None, None) => {
            PySystemError::new_err("ferrotypes: fast slots used before installation").restore(py);
            failure
        }
    }
}

/// A NULL object result (the slot's failure value).
pub const NULL: *mut ffi::PyObject = null_mut();

/// PyO3's setter of a getset and its closure, saved by [`replace_getset`] for the raw
/// setter that replaces it to fall back to.
pub struct GeneralSetter {
    set: ffi::setter,
    closure: *mut std::ffi::c_void,
}

// SAFETY: the closure is PyO3's description of the getset, immutable and alive for
// the life of the type (PyO3 keeps it with the type object, which is never freed);
// it is only passed back to PyO3's setter, with the GIL held.
unsafe impl Send for GeneralSetter {}
// SAFETY: the closure is never written after the type is made and is only read by
// PyO3's setter with the GIL held, so sharing references across threads is sound.
unsafe impl Sync for GeneralSetter {}

impl GeneralSetter {
    /// Stores `value` (NULL: deletes) into `obj` as PyO3's setter does.
    ///
    /// # Safety
    /// CPython's setter contract: the GIL held, `obj` a live instance of the type the
    /// getset belongs to, `value` a live object or NULL, lent for the call.
    pub unsafe fn set(&self, obj: *mut ffi::PyObject, value: *mut ffi::PyObject) -> std::ffi::c_int {
        // SAFETY: PyO3's own setter with its own closure, on the caller's promise.
        unsafe { (self.set)(obj, value, self.closure) }
    }
}

/// Puts `get` in front of PyO3's getset `name` of `tp`, a type PyO3 made, before it
/// has subclasses: a new getset descriptor with `get` as its getter and PyO3's setter
/// (with its closure) and docstring, so that reading the attribute skips PyO3's wrapper
/// (its attach count, its receiver check, which CPython's descriptor has made) while
/// storing is unchanged. Done once per process (see [`replace_getset`]).
pub fn replace_getter(tp: &Bound<'_, PyType>, name: &'static std::ffi::CStr, get: ffi::getter) -> PyResult<()> {
    replace_getset(tp, name, get, None)
}

/// As [`replace_getter`], and when `set` is given also the setter: `set.0` becomes the
/// descriptor's setter and PyO3's is saved in `set.1` for it to fall back to. Done once
/// per process: a later call finds `get` there already.
pub fn replace_getset(tp: &Bound<'_, PyType>, name: &'static std::ffi::CStr, get: ffi::getter, set: Option<(ffi::setter, &OnceLock<GeneralSetter>)>) -> PyResult<()> {
    let py = tp.py();
    let missing = || PySystemError::new_err(format!("ferrotypes: {} has no PyO3 getset {name:?} to replace", tp.name().map(|n| n.to_string()).unwrap_or_default()));
    let key = pyo3::types::PyString::new(py, name.to_str().map_err(|_| missing())?);
    // SAFETY: a live type object, read with the GIL held; the dict holds its own
    // reference to the descriptor while we read it.
    let descr = unsafe { ffi::PyDict_GetItemWithError((*tp.as_type_ptr()).tp_dict, key.as_ptr()) };
    if descr.is_null() {
        return Err(PyErr::take(py).unwrap_or_else(missing));
    }
    // SAFETY: `descr` is a live object (borrowed from the dict).
    if unsafe { ffi::Py_TYPE(descr) } != std::ptr::addr_of_mut!(ffi::PyGetSetDescr_Type) {
        return Err(missing());
    }
    // SAFETY: a getset descriptor (checked above), whose definition lives as long as
    // the type.
    let general = unsafe { &*(*descr.cast::<ffi::PyGetSetDescrObject>()).d_getset };
    if general.get.map(|f| f as usize) == Some(get as usize) {
        return Ok(()); // installed by an earlier initialisation
    }
    let setter = match set {
        None => general.set,
        Some((ours, saved)) => {
            let pyo3_set = general.set.ok_or_else(missing)?;
            // Saved once: the type (and so its getset) is made once per process.
            let _ = saved.set(GeneralSetter { set: pyo3_set, closure: general.closure });
            Some(ours)
        }
    };
    // CPython keeps a pointer to the definition for the descriptor's life: one small
    // allocation per process.
    let def = Box::leak(Box::new(ffi::PyGetSetDef { name: name.as_ptr(), get: Some(get), set: setter, doc: general.doc, closure: general.closure }));
    // SAFETY: a live type and a definition that lives for ever; a new reference or
    // NULL with an exception set.
    let ours = unsafe { Bound::from_owned_ptr_or_err(py, ffi::PyDescr_NewGetSet(tp.as_type_ptr(), def)) }?;
    // SAFETY: the type's own dict, written with the GIL held before any subclass
    // exists; PyType_Modified drops what attribute caches knew of it.
    unsafe {
        if ffi::PyDict_SetItem((*tp.as_type_ptr()).tp_dict, key.as_ptr(), ours.as_ptr()) != 0 {
            return Err(PyErr::fetch(py));
        }
        ffi::PyType_Modified(tp.as_type_ptr());
    }
    Ok(())
}

/// A getset's definition with raw getter and setter: CPython keeps a pointer to it for
/// the life of each descriptor made from it, so the definitions are statics.
pub struct StaticGetSetDef(ffi::PyGetSetDef);

// SAFETY: a definition is never written after it is made, and CPython only reads it,
// so sharing it between threads is sound.
unsafe impl Sync for StaticGetSetDef {}

impl StaticGetSetDef {
    pub const fn new(name: &'static std::ffi::CStr, get: ffi::getter, set: Option<ffi::setter>, doc: &'static std::ffi::CStr) -> Self {
        StaticGetSetDef(ffi::PyGetSetDef { name: name.as_ptr(), get: Some(get), set, doc: doc.as_ptr(), closure: null_mut() })
    }
}

/// Gives `cls` a getset descriptor made from `def` for it, under the definition's
/// name, as a C type's `tp_getset` does: CPython's descriptor then checks that the
/// instance is one of `cls` before calling the getter or setter.
pub fn add_getset(cls: &Bound<'_, PyType>, def: &'static StaticGetSetDef) -> PyResult<()> {
    let py = cls.py();
    // SAFETY: a live type and a static definition, which CPython only reads; a new
    // reference or NULL with an exception set.
    let descr = unsafe { Bound::from_owned_ptr_or_err(py, ffi::PyDescr_NewGetSet(cls.as_type_ptr(), std::ptr::from_ref(&def.0).cast_mut())) }?;
    // SAFETY: name is a static C string.
    let name = unsafe { std::ffi::CStr::from_ptr(def.0.name) };
    cls.setattr(name.to_str().map_err(|_| PySystemError::new_err("ferrotypes: a getset name is not UTF-8"))?, descr)
}

/// Makes `cls`, a class of ours made in Python (a public base or a metaclass), refuse
/// new attributes, as ctypes' bases and metaclasses do (they are static types there;
/// CPython 3.13's suite checks the flag).
#[pyfunction]
pub fn _make_immutable(cls: &Bound<'_, PyType>) {
    // SAFETY: a live type object, written with the GIL held; CPython reads the flag only
    // when an attribute of the class is set (type_setattro), and clears no cache over it.
    unsafe { (*cls.as_type_ptr()).tp_flags |= ffi::Py_TPFLAGS_IMMUTABLETYPE };
}

/// A function's or method descriptor's definition: CPython keeps a pointer to it for
/// the life of what it makes, so the definitions of the raw entry points are statics.
pub struct StaticMethodDef(pub ffi::PyMethodDef);

// SAFETY: a definition is never written after it is made, and CPython only reads it,
// so sharing it between threads is sound.
unsafe impl Sync for StaticMethodDef {}

/// Adds the function `def` defines (a raw entry point: `METH_O` or `METH_FASTCALL`, no
/// PyO3 wrapper) to module `m`, under its own name.
pub fn add_function(m: &Bound<'_, PyModule>, def: &'static StaticMethodDef) -> PyResult<()> {
    let py = m.py();
    // SAFETY: a static definition, which CPython only reads; the module and its name
    // are live objects. The result is a new reference or NULL with an exception set.
    let function = unsafe { Bound::from_owned_ptr_or_err(py, ffi::PyCFunction_NewEx(std::ptr::from_ref(&def.0).cast_mut(), m.as_ptr(), m.name()?.as_ptr())) }?;
    // SAFETY: ml_name is a static C string.
    let name = unsafe { std::ffi::CStr::from_ptr(def.0.ml_name) };
    m.add(name.to_str().map_err(|_| PySystemError::new_err("ferrotypes: a function name is not UTF-8"))?, function)
}
