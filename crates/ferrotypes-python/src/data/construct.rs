//! Calling a C data class: `c_int(5)`, `Point(1, 2, 3.0)`, `(c_int * 100)()`,
//! `POINTER(c_int)(x)`.
//!
//! `type.__call__` packs the arguments into a tuple (and a dict for keywords), calls
//! `tp_new` with them, then looks up and calls `tp_init` with them again: about as
//! much work as making the instance. A class of ours is called here instead, through
//! the vectorcall protocol: the arguments stay in the caller's vector, the instance
//! is made directly (what the families' `tp_new` does), and the family's own
//! constructor fast path stores native values ([`Construct::init`]).
//!
//! Everything `type.__call__` would do differently is left to it, or to the class's
//! own `tp_init`: a metaclass with its own `__call__`, a class with its own
//! `__new__`, a class with its own `__init__`, keyword arguments, and values the fast
//! path does not take. The checks are made on every call, so a `__new__` or
//! `__init__` assigned after the class statement is honoured.
//!
//! CPython finds a class's vectorcall function through its metaclass: the metaclass
//! must carry `Py_TPFLAGS_HAVE_VECTORCALL` and name the class object's
//! `tp_vectorcall` field. 3.11 sets neither on metaclasses written in Python, so
//! [`enable`] sets both on the metaclass of each class it enables.
//!
//! Each data family installs this at start-up ([`install`]) and has each class
//! prepared as the metaclass makes it ([`prepare_class`]).

use std::mem::offset_of;
use std::ptr::{addr_of, null_mut};

use pyo3::exceptions::PyTypeError;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple, PyType};
use pyo3::Borrowed;

use std::sync::OnceLock;

use crate::data::instances::{self, Family};
use crate::data::slots;
use crate::types::typeinfo::FamilyKind;

/// A family whose classes are constructed here, with a fast path for common
/// constructor arguments.
pub trait Construct: Family {
    /// Stores the positional constructor arguments `args` into `obj`, a new
    /// instance, when they are a case for the fast path: `None` leaves them to
    /// PyO3's `__init__`, which stores every value anew.
    fn init(obj: &Borrowed<'_, '_, Self>, args: &[*mut ffi::PyObject]) -> Option<PyResult<()>>;
}

/// PyO3's `__init__` of each family (its `tp_init`), saved by [`install`].
static GENERAL_INITS: [OnceLock<ffi::initproc>; FamilyKind::COUNT] = [const { OnceLock::new() }; FamilyKind::COUNT];

/// Has the classes of family `F` made by this module: the family's `tp_new` becomes
/// [`instances::new_slot`], and its `__init__` is saved for [`init_slot`] to fall
/// back on. Called once per family at module initialisation, before any subclass
/// exists, so that every class inherits the slot.
pub fn install<F: Construct>(py: Python<'_>) -> PyResult<()> {
    let family = py.get_type::<F>();
    // SAFETY: a live type object made by PyO3 (the GIL is held).
    let pyo3_init = unsafe { (*family.as_type_ptr()).tp_init };
    if slots::save_general(F::KIND.entry_in(&GENERAL_INITS), pyo3_init)? {
        // PyO3 made the family's tp_new from its `#[new]` (without one it would
        // forbid instances).
        slots::set_new(&family, instances::new_slot::<F>);
    }
    Ok(())
}

/// Puts [`init_slot`] on `cls`, a class of family `F` just made, when its `tp_init`
/// is still PyO3's (a class statement copies the wrapped function, not the slot, of a
/// base's `__init__`; an `__init__` the class defines in Python stays its own), and
/// has it called through [`class_vectorcall`] ([`enable`]).
pub fn prepare_class<F: Construct>(cls: &Bound<'_, PyType>) {
    let tp = cls.as_type_ptr();
    if let Some(&general) = F::KIND.entry_in(&GENERAL_INITS).get() {
        // SAFETY: a live heap type (the GIL is held); the slot keeps its signature.
        unsafe {
            if (*tp).tp_init.map(|f| f as usize) == Some(general as usize) {
                (*tp).tp_init = Some(init_slot::<F>);
            }
        }
    }
    enable::<F>(cls);
}

/// The items of `tuple`.
///
/// # Safety
/// `tuple` must be a tuple that outlives the slice.
unsafe fn tuple_items<'a>(tuple: *mut ffi::PyObject) -> &'a [*mut ffi::PyObject] {
    // SAFETY: a tuple's items are its ob_item array, of its ob_size (the caller's promise).
    unsafe {
        let items = addr_of!((*tuple.cast::<ffi::PyTupleObject>()).ob_item).cast::<*mut ffi::PyObject>();
        std::slice::from_raw_parts(items, ffi::PyTuple_GET_SIZE(tuple) as usize)
    }
}

/// The `tp_init` slot of the families' classes (installed by
/// [`prepare_class`] over PyO3's): [`Construct::init`] when there are
/// no keyword arguments and it takes the values, PyO3's `__init__` otherwise.
///
/// # Safety
/// CPython's `tp_init` contract: called with the GIL held, `obj` an instance of a
/// class this slot was installed on (a subclass of F), `args` a tuple and `kwargs`
/// NULL or a dict, all lent for the call.
pub unsafe extern "C" fn init_slot<F: Construct>(obj: *mut ffi::PyObject, args: *mut ffi::PyObject, kwargs: *mut ffi::PyObject) -> std::ffi::c_int {
    // SAFETY: CPython calls tp_init with the GIL held.
    let py = unsafe { Python::assume_attached() };
    let fast = slots::fast_path(py, -1, || {
        // SAFETY: CPython passes tp_init a tuple and NULL or a dict.
        if unsafe { !slots::no_keywords(kwargs) } {
            return None;
        }
        // SAFETY: `obj` is an instance of a class this slot was installed on (a
        // subclass of F), lent for the call, as is the tuple `args`.
        let (obj, args) = unsafe { (Borrowed::from_ptr(py, obj).cast_unchecked::<F>(), tuple_items(args)) };
        F::init(&obj, args).map(|result| result.map(|()| 0))
    });
    // SAFETY: PyO3's own slot, called with the arguments CPython gave us.
    slots::or_general(py, fast, -1, F::KIND.entry_in(&GENERAL_INITS), |general| unsafe { general(obj, args, kwargs) })
}

/// `type.__call__`'s slot function.
fn type_call() -> Option<ffi::ternaryfunc> {
    // SAFETY: PyType_Type is CPython's static `type`, whose tp_call is never changed.
    unsafe { (*addr_of!(ffi::PyType_Type)).tp_call }
}

/// The vectorcall function of the classes of family `F` ([`enable`] installs it):
/// `cls(*args, **kwargs)`.
///
/// # Safety
/// CPython's vectorcall contract: `callable` is the class called, a subclass of F's
/// type (the only classes it is installed on, or inherited by); `args` holds
/// `nargsf`'s count of positional values followed by one value per name in
/// `kwnames` (NULL or a tuple of strings).
pub unsafe extern "C" fn class_vectorcall<F: Construct>(callable: *mut ffi::PyObject, args: *const *mut ffi::PyObject, nargsf: usize, kwnames: *mut ffi::PyObject) -> *mut ffi::PyObject {
    // SAFETY: CPython calls vectorcall functions with the GIL held.
    let py = unsafe { Python::assume_attached() };
    slots::guard(py, slots::NULL, || {
        // SAFETY: the vector holds nargs positional values, then one per keyword name.
        let (all, nargs) = unsafe {
            let nargs = ffi::PyVectorcall_NARGS(nargsf) as usize;
            let keyword_count = if kwnames.is_null() { 0 } else { ffi::PyTuple_GET_SIZE(kwnames) as usize };
            // Both counts are of one vector in memory: their sum cannot overflow.
            #[allow(clippy::arithmetic_side_effects)]
            let all = std::slice::from_raw_parts(args, nargs + keyword_count);
            (all, nargs)
        };
        let (positional, keywords) = all.split_at(nargs);
        // SAFETY: `callable` is the class called, live for the call (CPython's
        // vectorcall contract).
        let cls = unsafe { Borrowed::from_ptr(py, callable).cast_unchecked::<PyType>() };
        let tp = cls.as_type_ptr();
        // SAFETY: live type objects; their slots are read with the GIL held.
        let (own_new, metaclass_call) = unsafe {
            ((*tp).tp_new.map(|f| f as usize) == Some(instances::new_slot::<F> as ffi::newfunc as usize), (*ffi::Py_TYPE(callable)).tp_call)
        };
        if !own_new || metaclass_call.map(|f| f as usize) != type_call().map(|f| f as usize) {
            let call = metaclass_call.ok_or_else(|| PyTypeError::new_err("the metaclass is not callable"))?;
            let (args, kwargs) = packed(py, positional, kwnames, keywords)?;
            // SAFETY: the metaclass's own tp_call, called as CPython would call it.
            let result = unsafe { call(callable, args.as_ptr(), kwargs.as_ref().map_or(null_mut(), |d| d.as_ptr())) };
            // SAFETY: tp_call returns a new reference, or NULL with an exception set.
            return unsafe { Bound::from_owned_ptr_or_err(py, result) }.map(Bound::into_ptr);
        }
        // SAFETY: cls is a subclass of F, as new_slot::<F> being its tp_new shows;
        // this makes what new_slot would.
        let obj = unsafe { instances::new_owned::<F>(cls) }?;
        // SAFETY: a live type object (read once the instance exists, as type.__call__ does).
        let Some(init) = (unsafe { (*tp).tp_init }) else { return Ok(obj.into_ptr()) };
        let family_init = init as usize == init_slot::<F> as ffi::initproc as usize;
        if family_init && keywords.is_empty() {
            // SAFETY: just made as an instance of (a subclass of) F.
            if let Some(result) = F::init(&unsafe { obj.as_borrowed().cast_unchecked::<F>() }, positional) {
                return result.map(|()| obj.into_ptr());
            }
        }
        let (args, kwargs) = packed(py, positional, kwnames, keywords)?;
        let (obj_ptr, args_ptr, kwargs_ptr) = (obj.as_ptr(), args.as_ptr(), kwargs.as_ref().map_or(null_mut(), |d| d.as_ptr()));
        let status = if family_init {
            // What init_slot falls back on, without trying F::init a second time.
            // SAFETY: PyO3's own slot, called as type.__call__ would call tp_init.
            slots::or_general(py, None, -1, F::KIND.entry_in(&GENERAL_INITS), |general| unsafe { general(obj_ptr, args_ptr, kwargs_ptr) })
        } else {
            // SAFETY: the class's own tp_init, called as type.__call__ calls it.
            unsafe { init(obj_ptr, args_ptr, kwargs_ptr) }
        };
        if status < 0 {
            return Err(PyErr::fetch(py));
        }
        Ok(obj.into_ptr())
    })
}

/// The call's arguments as `type.__call__` receives them: a tuple, and a dict when
/// there are keyword arguments.
fn packed<'py>(py: Python<'py>, positional: &[*mut ffi::PyObject], kwnames: *mut ffi::PyObject, keywords: &[*mut ffi::PyObject]) -> PyResult<(Bound<'py, PyTuple>, Option<Bound<'py, PyDict>>)> {
    // SAFETY: the call's argument vector, live for the call.
    let borrowed = |items: &[*mut ffi::PyObject]| items.iter().map(|&item| unsafe { Borrowed::from_ptr(py, item) }).collect::<Vec<_>>();
    let args = PyTuple::new(py, borrowed(positional))?;
    if keywords.is_empty() {
        return Ok((args, None));
    }
    // SAFETY: kwnames is the tuple naming the keyword values (there are some).
    let names = unsafe { Borrowed::from_ptr(py, kwnames).cast_unchecked::<PyTuple>() };
    let kwargs = PyDict::new(py);
    for (name, value) in names.iter().zip(borrowed(keywords)) {
        kwargs.set_item(name, value)?;
    }
    Ok((args, Some(kwargs)))
}

/// Whether `tp`'s `tp_new` is family `F`'s [`instances::new_slot`]: it is a class of
/// `F` that makes its instances as the family does.
fn makes_as_family<F: Construct>(tp: *mut ffi::PyTypeObject) -> bool {
    // SAFETY: a live type object (the callers' promise), read with the GIL held.
    let new = unsafe { (*tp).tp_new }.map(|f| f as usize);
    new == Some(instances::new_slot::<F> as ffi::newfunc as usize)
}

/// Has `cls`, a class of family `F` just made, called through [`class_vectorcall`]
/// when it makes its instances as the family does and its metaclass leaves calls to
/// `type.__call__`.
fn enable<F: Construct>(cls: &Bound<'_, PyType>) {
    let tp = cls.as_type_ptr();
    if !makes_as_family::<F>(tp) {
        return;
    }
    // SAFETY: live type objects (the GIL is held). Only a heap metaclass is changed,
    // and every instance of a metaclass is a class object, with a tp_vectorcall field.
    unsafe {
        let metaclass = ffi::Py_TYPE(tp.cast());
        let is_heap = (*metaclass).tp_flags & ffi::Py_TPFLAGS_HEAPTYPE != 0;
        let calls_type = (*metaclass).tp_call.map(|f| f as usize) == type_call().map(|f| f as usize);
        if !is_heap || !calls_type {
            return;
        }
        slots::enable_vectorcall(metaclass, offset_of!(ffi::PyTypeObject, tp_vectorcall) as ffi::Py_ssize_t);
        (*tp).tp_vectorcall = Some(class_vectorcall::<F>);
    }
}

/// Whether calling `cls`, a class of family `F`, goes to [`class_vectorcall`].
pub fn constructed_directly<F: Construct>(cls: &Bound<'_, PyType>) -> bool {
    let tp = cls.as_type_ptr();
    // SAFETY: live type objects, read with the GIL held.
    unsafe {
        let metaclass = ffi::Py_TYPE(tp.cast());
        let reaches_field = (*metaclass).tp_flags & ffi::Py_TPFLAGS_HAVE_VECTORCALL != 0
            && (*metaclass).tp_vectorcall_offset == offset_of!(ffi::PyTypeObject, tp_vectorcall) as ffi::Py_ssize_t;
        let ours = class_vectorcall::<F> as ffi::vectorcallfunc as usize;
        reaches_field && makes_as_family::<F>(tp) && (*tp).tp_vectorcall.map(|f| f as usize) == Some(ours)
    }
}
