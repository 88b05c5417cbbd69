//! Callbacks: C function pointers made from Python callables (`CFUNCTYPE(...)(f)`).
//!
//! A prototype's argument and result converters are chosen once, when the callback is
//! made ([`Callback::new`]); the trampoline is a core [`Closure`] whose handler
//! ([`CallbackHandler`]) attaches to the interpreter (PyGILState_Ensure semantics, so
//! threads Python never saw work too), turns each raw argument into a Python value,
//! calls the callable through vectorcall and writes the result back in C form.
//!
//! Failures never reach C: an exception raised by the callable, or a result that does
//! not convert, goes to `sys.unraisablehook` with the messages ctypes uses and the
//! callback returns zero, or the prototype's `error_result`. A prototype made with
//! `propagate=True` keeps the exception instead for the foreign call in progress on
//! the callback's thread, which raises it when it returns (see [`super::propagation`]). When the callback object is collected its callable is
//! dropped but the trampoline stays callable (see `ferrotypes_core::closure`): a late
//! call is reported, naming the callback, and returns zero.
//!
//! Unlike ctypes, a callback may return a structure or union by value.
//!
//! What it does not do: keep a result that C receives a pointer into (a `bytes` for
//! `c_char_p`, say) alive beyond the call other than by leaking it, as ctypes does
//! (with its "memory leak in callback function" warning) — unless the prototype was
//! made with `keep_results=True` (see [`super::kept_results`]).

use std::collections::BTreeSet;
use std::ffi::{c_char, c_void};
use std::mem::MaybeUninit;
use std::ptr::null_mut;
use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::{Arc, OnceLock};

use ferrotypes_core::closure::{write_stderr, Arguments, Closure, ClosureSignature, Handler};
use ferrotypes_core::ctype::{CType, ScalarKind};
use pyo3::exceptions::{PyRuntimeError, PyRuntimeWarning, PyTypeError};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyString, PyTuple, PyType};
use pyo3::intern;
use pyo3::pyclass::{PyTraverseError, PyVisit};

use super::kept_results::{KeptObjects, KeptResults};
use super::propagation;
use crate::data::cdata::CData;
use crate::support::errno::ErrnoSwap;
use crate::support::gil_cell::GilCell;
use crate::support::scalar;
use crate::data::instances;
use crate::types::typeinfo::{info_of, InfoKind, TypeInfo};

/// Arguments up to this count are passed to the callable from a stack array.
const STACK_ARGS: usize = 16;

/// How one raw C argument becomes a Python value (ctypes' rules: the built-in
/// simple types give their value, every other ctypes type an instance holding a copy
/// of the argument's bytes).
enum FromC {
    /// A built-in simple type, native byte order: its value as a Python int, float, ...
    Value(ScalarKind),
    /// Any other ctypes type: an instance of the class with the bytes copied in. Each
    /// callback keeps the last one it made per argument (its [`Spare`]) and uses it
    /// again for a later call while no one else refers to it
    /// ([`instances::is_unshared_leaf`]): to the callable it is then the same as a new
    /// one, and it saves an allocation and a deallocation per argument (C's qsort
    /// calls a comparator with two pointers millions of times).
    Instance { cls: Py<PyType>, info: Py<TypeInfo> },
    /// An array type: C passes a pointer to the first element; an instance of the
    /// array class over that memory (as `from_address`), or None for NULL.
    ArrayAt { cls: Py<PyType> },
}

/// The converters of the parameters `argtypes` (None: no parameters), and their C
/// types, in order.
fn argument_converters(argtypes: Option<&Bound<'_, PyAny>>) -> PyResult<(Vec<FromC>, Vec<CType>)> {
    let argtypes = argtypes.filter(|a| !a.is_none());
    let tuple = argtypes.and_then(|a| a.cast::<PyTuple>().ok());
    let mut args = Vec::new();
    let mut ctypes = Vec::new();
    if let Some(tuple) = tuple {
        // A prototype's `_argtypes_` is a tuple: room for every converter at once.
        let no_memory = |_| pyo3::exceptions::PyMemoryError::new_err("no memory for the callback's argument converters");
        args.try_reserve_exact(tuple.len()).map_err(no_memory)?;
        ctypes.try_reserve_exact(tuple.len()).map_err(no_memory)?;
    }
    let mut add = |t: &Bound<'_, PyAny>, i: usize| -> PyResult<()> {
        let (converter, info) = FromC::for_argtype(t, i)?;
        info.get().check_by_value()?; // a packed record C passes in memory
        ctypes.push(info.get().param_ctype());
        args.push(converter);
        Ok(())
    };
    match (tuple, argtypes) {
        (Some(tuple), _) => {
            for (i, t) in tuple.iter_borrowed().enumerate() {
                add(&t, i)?;
            }
        }
        (None, Some(seq)) => {
            for (i, t) in seq.try_iter()?.enumerate() {
                add(&t?, i)?;
            }
        }
        (None, None) => {}
    }
    Ok((args, ctypes))
}

impl FromC {
    /// The converter for parameter `index` of type `argtype`, and the type's info.
    fn for_argtype<'py>(argtype: &Bound<'py, PyAny>, index: usize) -> PyResult<(FromC, Bound<'py, TypeInfo>)> {
        let info = info_of(argtype).map_err(|_| {
            PyTypeError::new_err(format!("argument {} of a callback prototype must be a ctypes type, not {}", index.saturating_add(1), crate::support::python::describe(argtype)))
        })?;
        let converter = match info.get().kind {
            InfoKind::Simple { scalar, native_values: true, swapped: false } => FromC::Value(scalar),
            InfoKind::Array { .. } => FromC::ArrayAt { cls: argtype.cast::<PyType>()?.clone().unbind() },
            _ => FromC::Instance { cls: argtype.cast::<PyType>()?.clone().unbind(), info: info.clone().unbind() },
        };
        Ok((converter, info))
    }

    /// The Python value of the argument at `p`; `spare` is the callback's spare
    /// instance for this argument, when it keeps one.
    ///
    /// # Safety
    /// `p` must point at a value of this converter's C type.
    #[inline]
    unsafe fn to_python(&self, py: Python<'_>, p: *const c_void, spare: Option<&Spare>) -> PyResult<*mut ffi::PyObject> {
        match self {
            FromC::Value(kind) => {
                // SAFETY: p points at a value of `kind` (the caller's promise).
                let obj = unsafe { value_to_python(py, *kind, p) };
                if obj.is_null() {
                    Err(PyErr::fetch(py))
                } else {
                    Ok(obj)
                }
            }
            FromC::Instance { cls, info } => {
                let size = info.get().size;
                // SAFETY: the spare is a live instance the cell holds a reference to.
                let reusable = spare.and_then(|spare| spare.with(py, |s| s.as_ref().map(|o| o.as_ptr()).filter(|&o| unsafe {
                    let o = Borrowed::from_ptr(py, o).cast_unchecked::<CData>();
                    ffi::Py_TYPE(o.as_ptr()) == cls.as_ptr().cast() && o.get().size(py) == size && instances::is_unshared_leaf(&o)
                })));
                let obj = match reusable {
                    // SAFETY: a live object; the new reference is the argument's.
                    Some(obj) => unsafe { Bound::from_borrowed_ptr(py, obj).cast_into_unchecked::<CData>() },
                    None => {
                        let obj = instances::instance(cls.bind(py), instances::Contents::Owned(info.clone_ref(py)))?;
                        // SAFETY: just made by `instance`, a C data instance.
                        let obj = unsafe { obj.cast_into_unchecked::<CData>() };
                        if let Some(old) = spare.and_then(|spare| spare.replace(py, Some(obj.clone().unbind()))) {
                            // SAFETY: the cell's reference, released at once (dropping
                            // the `Py` would defer it: see `with_gil`).
                            unsafe { ffi::Py_DECREF(old.into_ptr()) };
                        }
                        obj
                    }
                };
                // SAFETY: p points at a value of the argument's type, whose size the
                // instance owns.
                unsafe { std::ptr::copy_nonoverlapping(p.cast::<u8>(), obj.get().address(py), size) };
                Ok(obj.into_ptr())
            }
            FromC::ArrayAt { cls } => {
                // SAFETY: p points at the pointer argument.
                let address = unsafe { p.cast::<usize>().read_unaligned() };
                if address == 0 {
                    return Ok(py.None().into_ptr());
                }
                Ok(instances::instance_at(cls.bind(py), address, None, 0)?.into_ptr())
            }
        }
    }
}

/// The Python value of a built-in simple argument (`FromC::Value`): a new reference,
/// or NULL with the exception set. `int` and `double` straight through the C API;
/// two tests and a call, because with more cases here the compiler builds a jump
/// table costing more than the `int` test alone.
///
/// # Safety
/// `p` must point at a value of `kind`.
#[inline(always)]
unsafe fn value_to_python(py: Python<'_>, kind: ScalarKind, p: *const c_void) -> *mut ffi::PyObject {
    // SAFETY (all arms): p points at a value of `kind` (the caller's promise).
    unsafe {
        if kind == ScalarKind::Int {
            ffi::PyLong_FromLong((p as *const i32).read_unaligned() as _)
        } else if kind == ScalarKind::Double {
            ffi::PyFloat_FromDouble((p as *const f64).read_unaligned())
        } else {
            other_value_to_python(py, kind, p)
        }
    }
}

/// [`value_to_python`] for the kinds it does not take itself. Out of line, so that
/// the loop over value-only arguments stays small.
///
/// # Safety
/// `p` must point at a value of `kind`.
#[inline(never)]
unsafe fn other_value_to_python(py: Python<'_>, kind: ScalarKind, p: *const c_void) -> *mut ffi::PyObject {
    if matches!(kind, ScalarKind::Long | ScalarKind::LongLong) {
        // SAFETY: p points at a value of `kind` (the caller's promise), 8 bytes.
        return unsafe { ffi::PyLong_FromLongLong((p as *const i64).read_unaligned()) };
    }
    match scalar::read(py, kind, false, p.cast()) {
        Ok(value) => value.into_ptr(),
        Err(err) => {
            err.restore(py);
            null_mut()
        }
    }
}

/// Calls `callable` with the positional `args`: a Python function straight through
/// its vectorcall slot, anything else through `PyObject_Vectorcall`. The latter also
/// checks that a result and the exception state agree, which the interpreter
/// guarantees for a Python function; skipping its wrapper saves a fifth of a
/// callback's own cost.
///
/// # Safety
/// The GIL is held, `callable` is a live object and `args` holds live references.
#[inline(always)]
unsafe fn call_vectorcall(callable: *mut ffi::PyObject, args: &[*mut ffi::PyObject]) -> *mut ffi::PyObject {
    // SAFETY: callable is live (the caller's promise); a function object's type
    // has the vectorcall protocol, its slot at the type's tp_vectorcall_offset.
    unsafe {
        let tp = ffi::Py_TYPE(callable);
        if tp == std::ptr::addr_of_mut!(ffi::PyFunction_Type) {
            let slot = callable.cast::<u8>().offset((*tp).tp_vectorcall_offset).cast::<Option<ffi::vectorcallfunc>>().read();
            if let Some(function) = slot {
                return function(callable, args.as_ptr(), args.len(), null_mut());
            }
        }
        ffi::PyObject_Vectorcall(callable, args.as_ptr(), args.len(), null_mut())
    }
}

/// How the callable's result is written back for C.
enum ToC {
    /// `restype = None`: the result is ignored.
    Void,
    /// A simple type.
    Simple { kind: ScalarKind, swapped: bool },
    /// A structure or union by value (ctypes refuses these): the callable returns an
    /// instance of the class, or a tuple to make one from.
    Record { cls: Py<PyType>, size: usize },
    /// A pointer of a `keep_results` prototype: an address, what it points into kept
    /// (by the callback: [`CallbackHandler::kept`]).
    Kept(KeptResults),
}

impl ToC {
    /// The bytes of a result of this type.
    fn size(&self) -> usize {
        match self {
            ToC::Void => 0,
            ToC::Simple { kind, .. } => kind.size(),
            ToC::Record { size, .. } => *size,
            ToC::Kept(_) => ScalarKind::VoidPtr.size(),
        }
    }

    /// The bytes C gets for `value` as a callback's error result (`error_result=`),
    /// converted as a result the callable returned would be; refused when C would get
    /// a pointer into a Python object (it must live as long as the prototype's
    /// callbacks) or a new reference (`py_object`).
    fn error_bytes(&self, value: &Bound<'_, PyAny>) -> PyResult<Box<[u8]>> {
        let given = || format!("{} ({})", value.repr().map_or_else(|_| "?".to_owned(), |r| r.to_string()), scalar::type_name(value));
        match self {
            ToC::Void if value.is_none() => Ok(Box::new([])),
            ToC::Void => Err(PyTypeError::new_err(format!("error_result of a callback without a result (restype None) must be None, not {}", given()))),
            // An address or None, as for a c_void_p result.
            ToC::Kept(_) => ToC::Simple { kind: ScalarKind::VoidPtr, swapped: false }.error_bytes(value),
            ToC::Simple { kind: ScalarKind::ObjectPtr, .. } => Err(PyTypeError::new_err(format!("error_result is not supported for a py_object result (C would own a new reference to it), got {}", given()))),
            ToC::Simple { kind, swapped } => {
                if kind.is_integer() && value.is_instance_of::<pyo3::types::PyFloat>() {
                    return Err(PyTypeError::new_err(format!("error_result for a '{}' result: int expected, got {}", kind.code(), given())));
                }
                let mut raw = [0u8; 16];
                let keep = scalar::to_bytes(value, *kind, &mut raw).map_err(|e| {
                    let message = PyTypeError::new_err(format!("error_result {} does not convert to the '{}' result: {}", given(), kind.code(), e.value(value.py())));
                    message.set_cause(value.py(), Some(e));
                    message
                })?;
                if keep.is_some() {
                    return Err(PyTypeError::new_err(format!("error_result for a '{}' result must be an address (int) or None: C would get a pointer into {}", kind.code(), given())));
                }
                #[allow(clippy::indexing_slicing)] // a scalar is at most 16 bytes (long double), raw's length
                let bytes = &mut raw[..kind.size()];
                if *swapped {
                    bytes.reverse();
                }
                Ok(bytes.into())
            }
            ToC::Record { cls, size } => {
                let mut bytes = vec![0u8; *size];
                write_record(value, cls.bind(value.py()), *size, bytes.as_mut_ptr()).map_err(|e| {
                    let message = PyTypeError::new_err(format!("error_result {} does not convert to the result type: {}", given(), e.value(value.py())));
                    message.set_cause(value.py(), Some(e));
                    message
                })?;
                Ok(bytes.into())
            }
        }
    }

    fn for_restype(restype: Option<&Bound<'_, PyAny>>, keep_results: bool) -> PyResult<(ToC, CType)> {
        let Some(restype) = restype.filter(|r| !r.is_none()) else { return Ok((ToC::Void, CType::Void)) };
        if keep_results {
            return Ok((ToC::Kept(KeptResults::for_restype(restype)?), CType::Scalar(ScalarKind::VoidPtr)));
        }
        let invalid = || PyTypeError::new_err(format!("invalid result type for callback function: expected None, a simple ctypes type or a structure, got {}", crate::support::python::describe(restype)));
        let info = info_of(restype).map_err(|_| invalid())?;
        let info = info.get();
        match info.kind {
            // A result larger than 16 bytes (`long double _Complex`) is not converted.
            InfoKind::Simple { scalar, swapped, .. } if scalar.size() <= 16 => Ok((ToC::Simple { kind: scalar, swapped }, CType::Scalar(scalar))),
            InfoKind::Record { .. } => {
                info.check_by_value()?;
                let cls = restype.cast::<PyType>().map_err(|_| invalid())?.clone().unbind();
                Ok((ToC::Record { cls, size: info.size }, info.ctype.clone()))
            }
            _ => Err(invalid()),
        }
    }
}

/// What C's calls of one callback reach.
pub struct CallbackHandler {
    /// The Python callable; None once the callback object was released.
    callable: GilCell<Option<Py<PyAny>>>,
    /// How the callable was named when the callback was made (for late-call reports).
    name: CallableName,
    /// What the prototype's callbacks share: converters, signature, failure handling.
    plan: Arc<CallbackPlan>,
    /// One per argument when an argument converts to an instance, else none.
    spares: Box<[Spare]>,
    /// What the results of a `keep_results` callback point into.
    kept: KeptObjects,
}

impl CallbackHandler {
    /// One call from C, with the GIL held.
    ///
    /// # Safety
    /// `args` and `result` are as [`Handler::call`] describes, for this handler's
    /// signature.
    unsafe fn run(&self, py: Python<'_>, args: Arguments<'_>, result: *mut u8) {
        if self.plan.propagate && propagation::already_failed() {
            // SAFETY: result has room for the result type (the caller's promise).
            unsafe { self.write_error_result(result) };
            return;
        }
        // A strong reference for the duration of the call (the callable may release
        // its own callback object), taken with the C API's inline refcounting: a
        // `Py` clone and drop would cost a thread-local lookup each.
        let Some(callable) = self.callable.with(py, |c| c.as_ref().map(|c| c.as_ptr())) else {
            self.report_released(py);
            return;
        };
        // SAFETY: callable is alive (held by the cell) and the GIL is held.
        let callable = unsafe { Bound::from_borrowed_ptr(py, callable) };
        // The converted arguments: not zeroed first (only the converted entries are
        // ever read), on the stack for the usual short lists.
        let mut stack = [MaybeUninit::<*mut ffi::PyObject>::uninit(); STACK_ARGS];
        match stack.get_mut(..args.len()) {
            // SAFETY: one slot per argument; args and result as promised by the caller.
            Some(slots) => unsafe { self.call_callable(py, &callable, args, slots, result) },
            // SAFETY: args and result as promised by the caller.
            None => unsafe { self.call_with_many_arguments(py, &callable, args, result) },
        }
    }

    /// [`Self::call_callable`] with the converted arguments on the heap.
    ///
    /// # Safety
    /// As for [`Self::run`].
    #[cold]
    #[inline(never)]
    unsafe fn call_with_many_arguments(&self, py: Python<'_>, callable: &Bound<'_, PyAny>, args: Arguments<'_>, result: *mut u8) {
        let mut heap = Vec::new();
        if heap.try_reserve_exact(args.len()).is_err() {
            pyo3::exceptions::PyMemoryError::new_err("no memory for the callback's arguments").restore(py);
            // SAFETY: result has room for the result type (the caller's promise).
            unsafe { self.fail(py, "on calling ctypes callback function", callable, result) };
            return;
        }
        heap.resize(args.len(), MaybeUninit::uninit());
        // SAFETY: one slot per argument; args and result as promised by the caller.
        unsafe { self.call_callable(py, callable, args, &mut heap, result) }
    }

    /// Converts the arguments into `slots` (one per argument), calls the callable
    /// with them and writes its result for C.
    ///
    /// # Safety
    /// As for [`Self::run`]; `slots` has one entry per argument.
    #[inline(always)]
    unsafe fn call_callable(&self, py: Python<'_>, callable: &Bound<'_, PyAny>, args: Arguments<'_>, slots: &mut [MaybeUninit<*mut ffi::PyObject>], result: *mut u8) {
        // SAFETY: args as promised by the caller.
        let converted = unsafe { self.convert_arguments(py, args, slots) };
        let (Ok(converted) | Err(converted)) = converted;
        // SAFETY: the first `converted` slots were written (in order, each with a new
        // reference), and `converted` is at most the slots' length.
        let argv = unsafe { std::slice::from_raw_parts(slots.as_ptr().cast::<*mut ffi::PyObject>(), converted.min(slots.len())) };
        if converted < args.len() {
            // SAFETY: result has room for the result type (the caller's promise).
            unsafe { self.argument_failed(py, argv, callable, result) };
            return;
        }
        let errno = self.plan.use_errno.then(ErrnoSwap::enter);
        // SAFETY: callable is a live object; argv holds `len` owned references.
        let ret = unsafe { call_vectorcall(callable.as_ptr(), argv) };
        drop(errno);
        decref_all(argv);
        if ret.is_null() {
            // SAFETY: result has room for the result type (the caller's promise).
            unsafe { self.fail(py, "on calling ctypes callback function", callable, result) };
            return;
        }
        // SAFETY: a non-NULL vectorcall result is a new reference.
        let ret = unsafe { Bound::from_owned_ptr(py, ret) };
        // SAFETY: result has room for the result type (the caller's promise).
        unsafe { self.write_result(py, &ret, result, callable) };
    }

    /// Writes each argument's Python value into its slot, in order: `Ok` with the
    /// count, or `Err` with the count written before the one that failed, whose
    /// exception is then set.
    ///
    /// # Safety
    /// As for [`Self::run`]; `slots` has one entry per argument.
    #[inline(always)]
    unsafe fn convert_arguments(&self, py: Python<'_>, args: Arguments<'_>, slots: &mut [MaybeUninit<*mut ffi::PyObject>]) -> Result<usize, usize> {
        let mut converted = 0usize;
        if let (Some(kinds), Arguments::Registers { words, at }) = (&self.plan.values, args) {
            // The usual case, in one loop: built-in simple values in register copies.
            let count = slots.len().min(kinds.len()).min(at.len());
            for (i, ((slot, &kind), &index)) in slots.iter_mut().zip(kinds.iter()).zip(at).enumerate() {
                // An index past the copies is never made (`Arguments::Registers`):
                // the argument counts as not converted.
                let Some(word) = words.get(usize::from(index)) else { return Err(i) };
                let p = (word as *const u64).cast::<c_void>();
                // SAFETY: p points at a value of this parameter's type, `kind`.
                let obj = unsafe { value_to_python(py, kind, p) };
                if obj.is_null() {
                    return Err(i);
                }
                slot.write(obj);
            }
            return Ok(count);
        }
        let mut slots = slots.iter_mut();
        let outcome = if let Some(kinds) = &self.plan.values {
            // Every argument a built-in simple value: no converter to match, no spare.
            let mut kinds = kinds.iter();
            args.try_for_each(|p| {
                let (Some(slot), Some(&kind)) = (slots.next(), kinds.next()) else { return Ok(()) };
                // SAFETY: p points at a value of this parameter's type, `kind`.
                let obj = unsafe { value_to_python(py, kind, p) };
                if obj.is_null() {
                    return Err(());
                }
                slot.write(obj);
                converted = converted.saturating_add(1);
                Ok(())
            })
        } else {
            let mut converters = self.plan.args.iter().zip(self.spares.iter().map(Some).chain(std::iter::repeat(None)));
            args.try_for_each(|p| {
                let (Some(slot), Some((conv, spare))) = (slots.next(), converters.next()) else { return Ok(()) };
                // SAFETY: p points at a value of this parameter's type.
                let obj = unsafe { conv.to_python(py, p, spare) }.map_err(|err| err.restore(py))?;
                slot.write(obj);
                converted = converted.saturating_add(1);
                Ok(())
            })
        };
        outcome.map(|()| converted).map_err(|()| converted)
    }

    /// Argument `converted.len()` did not convert (its exception is set): releases the
    /// ones that did and reports the failure.
    ///
    /// # Safety
    /// `result` has room for the result type; `converted` holds owned references.
    #[cold]
    #[inline(never)]
    unsafe fn argument_failed(&self, py: Python<'_>, converted: &[*mut ffi::PyObject], callable: &Bound<'_, PyAny>, result: *mut u8) {
        decref_all(converted);
        let what = format!("on converting argument {} of ctypes callback function", converted.len().saturating_add(1));
        // SAFETY: result has room for the result type (the caller's promise).
        unsafe { self.fail(py, &what, callable, result) };
    }

    /// Writes the callable's result `value` for C.
    ///
    /// # Safety
    /// `result` must have room for the result type.
    #[inline(always)]
    unsafe fn write_result(&self, py: Python<'_>, value: &Bound<'_, PyAny>, result: *mut u8, callable: &Bound<'_, PyAny>) {
        // SAFETY: result has room for the result type (the caller's promise), the
        // one the fast conversion was chosen for.
        if unsafe { !self.plan.fast_result.write(value, result) } {
            // SAFETY: as promised by the caller.
            unsafe { self.convert_result(py, value, result, callable) };
        }
    }

    /// [`Self::write_result`] for the results the fast conversion does not take.
    ///
    /// # Safety
    /// `result` must have room for the result type.
    #[inline(never)]
    unsafe fn convert_result(&self, py: Python<'_>, value: &Bound<'_, PyAny>, result: *mut u8, callable: &Bound<'_, PyAny>) {
        let (kind, swapped) = match &self.plan.result {
            ToC::Void => return,
            ToC::Simple { kind, swapped } => (*kind, *swapped),
            ToC::Record { cls, size } => {
                if let Err(err) = write_record(value, cls.bind(py), *size, result) {
                    err.restore(py);
                    // SAFETY: result has room for the result type (this function's contract).
                    unsafe { self.fail(py, "on converting result of ctypes callback function", callable, result) };
                }
                return;
            }
            ToC::Kept(kept) => {
                match kept.address(value, &self.kept) {
                    // SAFETY: result has room for a pointer, the result type.
                    Ok(address) => unsafe { result.cast::<usize>().write_unaligned(address) },
                    Err(err) => {
                        err.restore(py);
                        // SAFETY: result has room for the result type (this function's contract).
                        unsafe { self.fail(py, "on converting result of ctypes callback function", callable, result) };
                    }
                }
                return;
            }
        };
        if kind.is_integer() && value.is_instance_of::<pyo3::types::PyFloat>() {
            PyTypeError::new_err(format!("int expected instead of float (the callback's result type is '{}')", kind.code())).restore(py);
            // SAFETY: result has room for the result type (this function's contract).
            unsafe { self.fail(py, "on converting result of ctypes callback function", callable, result) };
            return;
        }
        let mut raw = [0u8; 16];
        match scalar::to_bytes(value, kind, &mut raw) {
            Ok(keep) => {
                if swapped {
                    #[allow(clippy::indexing_slicing)] // a scalar is at most 16 bytes (long double), raw's length
                    raw[..kind.size()].reverse();
                }
                // SAFETY: result has room for the result type (the caller's promise).
                unsafe { std::ptr::copy_nonoverlapping(raw.as_ptr(), result, kind.size()) };
                if let Some(keep) = keep {
                    // The C caller gets a pointer into `keep` (a new reference for
                    // py_object): it must outlive this call, so it is never released,
                    // as in ctypes, which also warns for anything but py_object.
                    if kind != ScalarKind::ObjectPtr {
                        if let Err(err) = PyErr::warn(py, &py.get_type::<PyRuntimeWarning>(), c"memory leak in callback function.", 1) {
                            err.restore(py);
                            write_unraisable(py, "on converting result of ctypes callback function", Some(callable));
                        }
                    }
                    std::mem::forget(keep);
                }
            }
            Err(err) => {
                err.restore(py);
                // SAFETY: result has room for the result type (this function's contract).
                unsafe { self.fail(py, "on converting result of ctypes callback function", callable, result) };
            }
        }
    }

    /// The callback failed with the exception currently set: it is kept for the
    /// foreign call in progress on this thread when the prototype propagates and a
    /// call is in progress, else reported as ctypes reports it (`what`); C gets the
    /// error result.
    ///
    /// # Safety
    /// `result` must have room for the result type.
    #[cold]
    unsafe fn fail(&self, py: Python<'_>, what: &str, callable: &Bound<'_, PyAny>, result: *mut u8) {
        let depth = if self.plan.propagate { propagation::current_call() } else { 0 };
        let unkept = if depth == 0 { Some(PyErr::fetch(py)) } else { propagation::keep(depth, PyErr::fetch(py)).err() };
        if let Some(err) = unkept {
            err.restore(py);
            write_unraisable(py, what, Some(callable));
        }
        // SAFETY: result has room for the result type (the caller's promise).
        unsafe { self.write_error_result(result) };
    }

    /// Writes the value C gets from a failed call.
    ///
    /// # Safety
    /// `result` must have room for the result type.
    unsafe fn write_error_result(&self, result: *mut u8) {
        match &self.plan.error_result {
            // SAFETY: the bytes are of the result type, for which result has room.
            Some(bytes) => unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), result, bytes.len()) },
            // SAFETY: result has room for the result type's size (this function's
            // contract); zero is the default error result.
            None => unsafe { std::ptr::write_bytes(result, 0, self.plan.result.size()) },
        }
    }

    /// Drops the argument instances kept for reuse, and the results a `keep_results`
    /// callback kept (with the callable: the trampoline outlives the callback object).
    fn release_spares(&self, py: Python<'_>) {
        for spare in self.spares.iter() {
            drop(spare.replace(py, None));
        }
        if matches!(self.plan.result, ToC::Kept(_)) {
            self.kept.release(py);
        }
    }

    fn report_released(&self, py: Python<'_>) {
        let name = self.name.text(py);
        PyRuntimeError::new_err(format!("the ctypes callback function {name} was called from C after its callback object was released; it returned 0")).restore(py);
        write_unraisable(py, &format!("on calling released ctypes callback function {name}"), None);
    }
}

/// The common results without the general conversion, chosen once per prototype: an
/// exact `int` for a native integer result (its low bits, as ctypes wraps around), an
/// exact `float` for a native `double`.
#[derive(Clone, Copy)]
enum FastResult {
    /// No fast conversion for this result type.
    None,
    /// A native integer of this many bytes (1, 2, 4 or 8).
    Int(u8),
    /// A native `double`.
    Double,
}

impl FastResult {
    fn of(result: &ToC) -> FastResult {
        match result {
            ToC::Simple { kind, swapped: false } if kind.is_integer() => match kind.size() {
                size @ (1 | 2 | 4 | 8) => FastResult::Int(size as u8),
                _ => FastResult::None,
            },
            ToC::Simple { kind: ScalarKind::Double, swapped: false } => FastResult::Double,
            _ => FastResult::None,
        }
    }

    /// Writes `value` when it is of the type this conversion takes; returns false,
    /// having written nothing, otherwise.
    ///
    /// # Safety
    /// `result` must have room for the result type this conversion was chosen for.
    #[inline(always)]
    unsafe fn write(self, value: &Bound<'_, PyAny>, result: *mut u8) -> bool {
        let obj = value.as_ptr();
        // SAFETY: obj is a live object; each accessor follows its type check; result
        // has room for the result type (the caller's promise), whose size `Int` holds.
        unsafe {
            let tp = ffi::Py_TYPE(obj);
            match self {
                FastResult::Int(size) if tp == std::ptr::addr_of_mut!(ffi::PyLong_Type) => {
                    let Some(bits) = crate::call::peek::int_bits(obj) else { return false };
                    if cfg!(all(target_endian = "little", target_pointer_width = "64")) {
                        // The whole word: the value's own bytes come first, and the
                        // buffer has at least one 8-byte `ffi_arg` of room (the core
                        // extends the result from its own width afterwards).
                        result.cast::<u64>().write_unaligned(bits);
                    } else {
                        // The low bytes of the word, with fixed-size stores (no memcpy).
                        match size {
                            1 => result.write(bits as u8),
                            2 => result.cast::<u16>().write_unaligned(bits as u16),
                            4 => result.cast::<u32>().write_unaligned(bits as u32),
                            _ => result.cast::<u64>().write_unaligned(bits),
                        }
                    }
                    true
                }
                FastResult::Double if tp == std::ptr::addr_of_mut!(ffi::PyFloat_Type) => {
                    result.cast::<f64>().write_unaligned(ffi::PyFloat_AS_DOUBLE(obj));
                    true
                }
                _ => false,
            }
        }
    }
}

/// Writes the bytes of `value` — an instance of `cls`, or a tuple to make one from —
/// to `result`, which has room for `size` bytes.
fn write_record(value: &Bound<'_, PyAny>, cls: &Bound<'_, PyType>, size: usize, result: *mut u8) -> PyResult<()> {
    let made;
    let instance = if value.is_instance(cls.as_any())? {
        value
    } else if let Ok(args) = value.cast::<pyo3::types::PyTuple>() {
        made = cls.call1(args)?;
        &made
    } else {
        return Err(PyTypeError::new_err(format!("expected {} instance or tuple, got {}", cls.name()?, scalar::type_name(value))));
    };
    let cdata = instance.cast::<CData>()?.get();
    let n = size.min(cdata.size(value.py()));
    // SAFETY: the instance owns at least `n` bytes; result has room for `size`.
    unsafe { std::ptr::copy_nonoverlapping(cdata.live_address(value.py())?, result, n) };
    Ok(())
}

fn decref_all(argv: &[*mut ffi::PyObject]) {
    for &obj in argv {
        // SAFETY: each entry is an owned reference (never NULL) made in `run`.
        unsafe { ffi::Py_DECREF(obj) };
    }
}

/// How a callback's thread came to hold the GIL; dropping it undoes exactly that
/// (also when unwinding).
///
/// Why not `Python::attach`: PyO3 counts attachments per thread and trusts the
/// count, but a foreign call releases the GIL with `PyEval_SaveThread` while that
/// count stays up, so a callback arriving on the calling thread would be wrongly
/// believed attached. The interpreter itself is asked instead. And why not plain
/// `PyGILState_Ensure`: in the common case (C calling back on the thread that called
/// it) that is the same `PyEval_RestoreThread` with bookkeeping around it that costs
/// a fifth of a short callback.
///
/// A thread Python never saw (C's own: OpenMP workers, a library's pool) gets a thread
/// state on its first callback and keeps it, released with the GIL between callbacks,
/// so later callbacks take the `Restored` path; it is deleted when the thread exits
/// ([`ForeignThreadState`]). ctypes makes and deletes one per callback (~10 µs).
// A plain tag (the state is a C enum, which Rust would otherwise pack the tag
// into): telling the variants apart on every callback is then one compare.
#[repr(u8)]
enum Attachment {
    /// The thread held the GIL already: a callback from a `PyDLL` function, or from C
    /// that Python code called without releasing it.
    Held,
    /// The thread's own thread state, which released the GIL for the foreign call
    /// this callback comes from (or between two callbacks of a thread Python never
    /// saw), was made current again (what `PyGILState_Ensure` does for such a thread).
    Restored,
    /// A thread Python has no state for, whose exit can no longer be hooked (the
    /// callback comes from another thread-exit destructor): `PyGILState_Ensure` made
    /// one for this call, and its `PyGILState_Release` deletes it.
    Ensured(ffi::PyGILState_STATE),
}

/// The thread state this thread was given on its first callback, deleted when the
/// thread exits (Rust runs a thread-local's destructor then, for threads C started
/// too) — unless the interpreter is finalizing or gone by then: it deletes every
/// thread state itself, and a thread must not take the GIL while it does.
struct ForeignThreadState {
    adopted: std::cell::Cell<bool>,
}

thread_local! {
    static FOREIGN_THREAD_STATE: ForeignThreadState = const { ForeignThreadState { adopted: std::cell::Cell::new(false) } };
}

impl Drop for ForeignThreadState {
    fn drop(&mut self) {
        if !self.adopted.get() || !interpreter_running() {
            return;
        }
        // SAFETY: the interpreter is running and this thread's gilstate thread state
        // is the one PyGILState_Ensure made for it (kept, its counter at one, the GIL
        // released by SaveThread after each callback): restoring it takes the GIL, and
        // the matching Release clears and deletes it, releasing the GIL.
        unsafe {
            let own = ffi::PyGILState_GetThisThreadState();
            if !own.is_null() {
                ffi::PyEval_RestoreThread(own);
                ffi::PyGILState_Release(ffi::PyGILState_STATE::PyGILState_UNLOCKED);
            }
        }
    }
}

/// `Py_IsFinalizing` (3.13) or `_Py_IsFinalizing` (before), found at module
/// initialisation ([`init_finalizing_check`]) so one build serves both; null until then.
static IS_FINALIZING: AtomicPtr<c_void> = AtomicPtr::new(null_mut());

/// Finds the interpreter's finalizing check for [`interpreter_running`].
pub fn init_finalizing_check() {
    let found = [c"Py_IsFinalizing", c"_Py_IsFinalizing"].iter().find_map(|name| {
        // SAFETY: dlsym with RTLD_DEFAULT searches the loaded objects for a symbol.
        let p = unsafe { libc::dlsym(libc::RTLD_DEFAULT, name.as_ptr()) };
        (!p.is_null()).then_some(p)
    });
    IS_FINALIZING.store(found.unwrap_or(null_mut()), Ordering::Relaxed);
}

/// Whether the interpreter is running, that is not finalizing. This module exists
/// only in an initialised interpreter, and finalization leaves the flag set (until a
/// later `Py_Initialize`), so it also tells a finished interpreter. False when the
/// check was not found.
fn interpreter_running() -> bool {
    let is_finalizing = IS_FINALIZING.load(Ordering::Relaxed);
    if is_finalizing.is_null() {
        return false;
    }
    // SAFETY: a non-null value is one of the two CPython functions above, both taking
    // nothing and returning an int; they only read the runtime's state, from any thread.
    unsafe { std::mem::transmute::<*mut c_void, unsafe extern "C" fn() -> std::ffi::c_int>(is_finalizing)() == 0 }
}

impl Attachment {
    /// Takes the GIL for a callback; `None`, touching nothing, when this thread does not
    /// hold it and the interpreter is finalizing or gone (a C thread calling back at
    /// exit), since taking it then would stop the thread or touch freed state.
    #[inline(always)]
    fn attach() -> Option<Attachment> {
        // SAFETY: the current thread state is read from a thread-local of the runtime,
        // valid from any thread at any time.
        let current = unsafe { ffi::compat::PyThreadState_GetUnchecked() };
        if current.is_null() && !interpreter_running() {
            return None;
        }
        // SAFETY: may be called from any thread, with or without the GIL, while the
        // interpreter is initialised (checked above when this thread does not hold the
        // GIL); it reads this thread's gilstate thread state.
        let own = unsafe { ffi::PyGILState_GetThisThreadState() };
        if own.is_null() {
            // A thread-local can still be registered unless the thread is exiting.
            if FOREIGN_THREAD_STATE.try_with(|state| state.adopted.set(true)).is_ok() {
                // SAFETY: PyGILState_Ensure may be called from any thread while the
                // interpreter is initialised (checked above). The state Ensure makes is kept (its counter left at
                // one) and the GIL released by the SaveThread of `Restored`'s drop; the
                // thread-local's destructor releases it at thread exit.
                unsafe { ffi::PyGILState_Ensure() };
                return Some(Attachment::Restored);
            }
            // SAFETY: callable from any thread while the interpreter is initialised
            // (checked above); paired with the Release in Drop.
            return Some(Attachment::Ensured(unsafe { ffi::PyGILState_Ensure() }));
        }
        if own == current {
            return Some(Attachment::Held);
        }
        // SAFETY: `own` is this thread's thread state and is not current, so this thread
        // does not hold the GIL; restoring it takes the GIL (PyGILState_Ensure does the
        // same). Paired with the SaveThread in Drop.
        unsafe { ffi::PyEval_RestoreThread(own) };
        Some(Attachment::Restored)
    }
}

impl Drop for Attachment {
    #[inline(always)]
    fn drop(&mut self) {
        match self {
            Attachment::Held => {}
            // SAFETY: this thread holds the GIL with the state restored in `attach`.
            Attachment::Restored => drop(unsafe { ffi::PyEval_SaveThread() }),
            // SAFETY: releases exactly the state Ensure returned, on the same thread.
            Attachment::Ensured(state) => unsafe { ffi::PyGILState_Release(*state) },
        }
    }
}

/// Runs `f` holding the GIL, from any thread, whatever PyO3 believes.
///
/// The token is not registered with PyO3's attach count (that is another
/// PyGILState_Ensure/Release pair per callback): a `Py` dropped in `f` would be
/// released only at PyO3's next attach, so `f` holds objects as `Bound`s (released at
/// once) and reports errors through [`write_unraisable`], which attaches properly.
///
/// When the GIL cannot be taken (a C thread calling back while the interpreter shuts
/// down) `f` is not run: the call is reported on standard error, C gets the zeroed
/// result.
#[inline(always)]
fn with_gil(f: impl for<'py> FnOnce(Python<'py>)) {
    let Some(_attachment) = Attachment::attach() else {
        write_stderr("ferrotypes: a callback was called while the interpreter was shutting down; it returned zero\n");
        return;
    };
    // SAFETY: the GIL is held from here until `_attachment` is dropped, after `f`.
    f(unsafe { Python::assume_attached() })
}

/// The core's view of a handler, shared with the Python-side [`Callback`].
impl Handler for CallbackHandler {
    unsafe fn call(&self, args: Arguments<'_>, result: *mut u8) {
        // SAFETY: args and result are as the core's entry point promises for this
        // closure's signature, the one the handler's converters were made for.
        with_gil(|py| unsafe { self.run(py, args, result) });
    }

    fn call_released(&self) {
        with_gil(|py| self.report_released(py));
    }

    fn panicked(&self, message: &str) {
        with_gil(|py| {
            pyo3::panic::PanicException::new_err(format!("ferrotypes bug: a callback panicked: {message}")).restore(py);
            write_unraisable(py, &format!("on calling ctypes callback function {}", self.name.text(py)), None);
        });
    }
}

/// The code addresses of the live callbacks whose result is a `py_object`. C gets a
/// new reference from them, which a foreign call of such an address takes over (as
/// ctypes takes over every `py_object` result), also through a function pointer made
/// from the address alone.
static OBJECT_RESULT_CODE: GilCell<BTreeSet<usize>> = GilCell::new(BTreeSet::new());

/// Whether `code` is the address of a live callback whose result is a new reference.
pub fn returns_new_reference(py: Python<'_>, code: usize) -> bool {
    OBJECT_RESULT_CODE.with(py, |codes| codes.contains(&code))
}

/// What a callback does when its callable raises or returns something unconvertible
/// (the prototype's `error_result=` and `propagate=`).
pub struct OnError<'a, 'py> {
    /// The value C gets (None: zero).
    pub error_result: Option<&'a Bound<'py, PyAny>>,
    /// Whether the exception is kept for the foreign call in progress on the thread.
    pub propagate: bool,
    /// Whether a pointer result keeps what it points into (`keep_results=True`); here
    /// because `error_result` is checked against the result type it decides.
    pub keep_results: bool,
}

/// Checks that `value` converts to a callback result of type `restype` as an
/// `error_result` (what `CFUNCTYPE(..., error_result=value)` calls), raising a
/// `TypeError` naming both when it does not.
#[pyfunction]
#[pyo3(signature = (restype, value, keep_results = false))]
pub fn _check_error_result(restype: &Bound<'_, PyAny>, value: &Bound<'_, PyAny>, keep_results: bool) -> PyResult<()> {
    let (result, _) = ToC::for_restype(Some(restype), keep_results)?;
    result.error_bytes(value).map(drop)
}

/// The callback behind one function pointer instance: its trampoline and handler.
/// Dropping it (with the instance) releases the callable; the trampoline stays valid.
pub struct Callback {
    handler: Arc<CallbackHandler>,
    closure: Closure,
}

/// What the callbacks of one prototype share: the converters chosen from its
/// `_argtypes_` and `_restype_`, what a failure does, and the C signature. Made with the prototype's first callback and
/// kept by its class recipe for the later ones while its types are unchanged (see
/// `crate::function::class_recipe`).
pub struct CallbackPlan {
    args: Box<[FromC]>,
    /// The kinds of the arguments when every one is a built-in simple value
    /// (`FromC::Value`), for the loop that converts those alone.
    values: Option<Box<[ScalarKind]>>,
    result: ToC,
    /// The result's conversion without the general path, when it has one.
    fast_result: FastResult,
    use_errno: bool,
    /// The bytes C gets when the callable fails (None: zero, the core's default).
    error_result: Option<Box<[u8]>>,
    /// Whether a failure is kept for the foreign call in progress on the thread.
    propagate: bool,
    signature: Arc<ClosureSignature>,
}

impl CallbackPlan {
    /// The plan of a prototype taking `argtypes` and returning `restype`.
    fn new(argtypes: Option<&Bound<'_, PyAny>>, restype: Option<&Bound<'_, PyAny>>, use_errno: bool, errors: &OnError<'_, '_>) -> PyResult<CallbackPlan> {
        let (args, ctypes) = argument_converters(argtypes)?;
        let (result, result_ctype) = ToC::for_restype(restype, errors.keep_results)?;
        if matches!(result_ctype, CType::Record { size: 0, .. }) {
            // ctypes refuses every record result so; ferrotypes those libffi cannot describe.
            return Err(PyTypeError::new_err("invalid result type for callback function"));
        }
        let signature = ClosureSignature::new(&ctypes, result_ctype).map_err(|e| PyRuntimeError::new_err(format!("ffi_prep_cif failed with {}", e.status())))?;
        let error_result = errors.error_result.map(|value| result.error_bytes(value)).transpose()?;
        let value_kind = |a: &FromC| if let FromC::Value(kind) = a { Some(*kind) } else { None };
        let values = if args.iter().all(|a| value_kind(a).is_some()) {
            let mut kinds = Vec::new();
            kinds.try_reserve_exact(args.len()).map_err(|_| pyo3::exceptions::PyMemoryError::new_err("no memory for the callback's argument kinds"))?;
            kinds.extend(args.iter().filter_map(value_kind));
            Some(kinds.into_boxed_slice())
        } else {
            None
        };
        Ok(CallbackPlan { args: args.into_boxed_slice(), values, fast_result: FastResult::of(&result), result, use_errno, error_result, propagate: errors.propagate, signature: Arc::new(signature) })
    }

    /// The classes and type infos the converters hold, for the collector (through the
    /// class recipe keeping the plan).
    pub fn traverse(&self, visit: &PyVisit<'_>) -> Result<(), PyTraverseError> {
        for conv in self.args.iter() {
            match conv {
                FromC::Value(_) => {}
                FromC::Instance { cls, info } => {
                    visit.call(cls)?;
                    visit.call(info)?;
                }
                FromC::ArrayAt { cls } => visit.call(cls)?,
            }
        }
        Ok(())
    }
}

/// A callback's instance kept for reuse as one argument's value (see [`FromC::Instance`]).
type Spare = GilCell<Option<Py<CData>>>;

impl Callback {
    /// A callback calling `callable` with the signature `argtypes` -> `restype`, with
    /// ctypes' private `errno` swapped in around each call when `use_errno`, and what
    /// a failure does (`errors`). `prepared` is the plan of an earlier callback of the
    /// same prototype, types unchanged since (see [`Callback::plan`]); without it one
    /// is made.
    pub fn new(callable: &Bound<'_, PyAny>, argtypes: Option<&Bound<'_, PyAny>>, restype: Option<&Bound<'_, PyAny>>, use_errno: bool, errors: OnError<'_, '_>, prepared: Option<Arc<CallbackPlan>>) -> PyResult<Callback> {
        if !callable.is_callable() {
            return Err(PyTypeError::new_err("argument must be callable or integer function address"));
        }
        let plan = match prepared {
            Some(plan) => plan,
            None => Arc::new(CallbackPlan::new(argtypes, restype, use_errno, &errors)?),
        };
        let spares: Box<[Spare]> = if plan.args.iter().any(|a| matches!(a, FromC::Instance { .. })) {
            let mut spares = Vec::new();
            spares.try_reserve_exact(plan.args.len()).map_err(|_| pyo3::exceptions::PyMemoryError::new_err("no memory for the callback's argument instances"))?;
            spares.extend(plan.args.iter().map(|_| GilCell::new(None)));
            spares.into_boxed_slice()
        } else {
            Box::new([])
        };
        let name = CallableName::of(callable)?;
        if plan.propagate {
            propagation::start_counting();
        }
        let handler = Arc::new(CallbackHandler { callable: GilCell::new(Some(callable.clone().unbind())), name, plan, spares, kept: KeptObjects::default() });
        let closure = Closure::new(&handler.plan.signature, handler.clone()).map_err(pyo3::exceptions::PyMemoryError::new_err)?;
        let callback = Callback { handler, closure };
        if callback.returns_object() {
            OBJECT_RESULT_CODE.with_mut(callable.py(), |codes| codes.insert(callback.code()));
        }
        Ok(callback)
    }

    /// The plan (converters, failure handling, C signature), to share with the
    /// prototype's later callbacks.
    pub fn plan(&self) -> Arc<CallbackPlan> {
        self.handler.plan.clone()
    }

    /// The C function pointer.
    pub fn code(&self) -> usize {
        self.closure.code() as usize
    }

    /// Lets go of the results a `keep_results` callback kept (`ferrotypes.release`);
    /// `TypeError` for any other callback.
    pub fn release_results(&self, py: Python<'_>) -> PyResult<usize> {
        match &self.handler.plan.result {
            ToC::Kept(_) => Ok(self.handler.kept.release(py)),
            _ => Err(PyTypeError::new_err("release() of a callback lets go of the results of a keep_results=True prototype; this callback's prototype keeps none")),
        }
    }

    /// Whether the callback's result is a `py_object` (a new reference for the caller).
    fn returns_object(&self) -> bool {
        matches!(self.handler.plan.result, ToC::Simple { kind: ScalarKind::ObjectPtr, .. })
    }
}

impl Drop for Callback {
    fn drop(&mut self) {
        // Release the callable now; the closure then goes to the quarantine.
        // SAFETY: a Callback is owned by its Thunk, dropped by the Thunk's deallocation,
        // or by `FuncPtr::new_parts` when the Thunk cannot be made: the GIL is held.
        let py = unsafe { Python::assume_attached() };
        if self.returns_object() {
            OBJECT_RESULT_CODE.with_mut(py, |codes| codes.remove(&self.code()));
        }
        if let Some(callable) = self.handler.callable.replace(py, None) {
            // SAFETY: the cell's reference, released at once (dropping the `Py` with a
            // token PyO3 does not count would defer it: see `with_gil`).
            unsafe { ffi::Py_DECREF(callable.into_ptr()) };
        }
        if !self.handler.spares.is_empty() || matches!(self.handler.plan.result, ToC::Kept(_)) {
            // Their objects are dropped as `Py`s: attached as PyO3 counts it, so at once.
            Python::attach(|py| self.handler.release_spares(py));
        }
    }
}

/// ctypes' `CThunkObject`: the Python object that owns a [`Callback`]. A function
/// pointer made from a callable files its thunk in its `_objects`, as ctypes does, so
/// whatever keeps that function pointer's objects (a structure field or array element
/// it was stored into, a `cast` of it) keeps the trampoline and its callable alive.
#[pyclass(frozen, module = "ferrotypes._ctypes", name = "CThunkObject")]
pub struct Thunk {
    callback: Callback,
}

/// Where a Thunk object keeps its Rust part (bytes from the object's start), measured
/// on the first one PyO3 builds; `None` inside when PyO3's object holds anything more
/// (then PyO3 builds and frees every one).
static THUNK_LAYOUT: OnceLock<Option<usize>> = OnceLock::new();

impl Thunk {
    /// A new thunk object owning `callback`. Once the layout is known it is allocated
    /// by the type's allocator with the callback written in place, and freed by
    /// [`thunk_dealloc`]: PyO3's `object.__new__` call (with its empty argument tuple)
    /// and its deallocation trampoline cost a tenth of making and dropping a callback.
    pub fn new_object(py: Python<'_>, callback: Callback) -> PyResult<Py<Thunk>> {
        let tp = <Thunk as pyo3::PyTypeInfo>::type_object_raw(py);
        if let Some(Some(offset)) = THUNK_LAYOUT.get() {
            // SAFETY: a ready type object, whose tp_alloc returns zeroed memory of its
            // basic size or NULL with an exception set.
            let obj = unsafe { (*tp).tp_alloc.unwrap_or(ffi::PyType_GenericAlloc)(tp, 0) };
            if obj.is_null() {
                return Err(PyErr::fetch(py)); // the callback is dropped, the GIL held
            }
            // SAFETY: the measured position of the Rust part in an object of this
            // type's size, fresh and seen by no one else: the bytes PyO3 writes there,
            // and nothing else (checked when measured).
            unsafe {
                obj.cast::<u8>().add(*offset).cast::<Thunk>().write(Thunk { callback });
                return Ok(Bound::from_owned_ptr(py, obj).cast_into_unchecked::<Thunk>().unbind());
            }
        }
        let obj = Bound::new(py, Thunk { callback })?;
        if THUNK_LAYOUT.get_or_init(|| thunk_layout(&obj)).is_some() {
            // SAFETY: the type is PyO3's and not subclassable (no `subclass`), so every
            // instance is of exactly this layout, which the slot frees; its slots
            // are its own to change, with the GIL held, before a second instance exists.
            unsafe { (*tp).tp_dealloc = Some(thunk_dealloc) };
        }
        Ok(obj.unbind())
    }

    pub fn callback(&self) -> &Callback {
        &self.callback
    }
}

/// The position of `obj`'s Rust part, when the object is exactly a header and that
/// part, with no more than alignment padding: nothing else PyO3 would initialise.
#[allow(clippy::arithmetic_side_effects)] // an object's part's offset from its start, and small sizes
fn thunk_layout(obj: &Bound<'_, Thunk>) -> Option<usize> {
    let offset = obj.get() as *const Thunk as usize - obj.as_ptr() as usize;
    // SAFETY: a live type object, read with the GIL held.
    let (basic_size, flags) = unsafe { ((*ffi::Py_TYPE(obj.as_ptr())).tp_basicsize as usize, (*ffi::Py_TYPE(obj.as_ptr())).tp_flags) };
    let align = std::mem::align_of::<Thunk>().max(std::mem::align_of::<ffi::PyObject>());
    let round_up = |n: usize, a: usize| n.div_ceil(a) * a;
    let exact = offset == round_up(std::mem::size_of::<ffi::PyObject>(), std::mem::align_of::<Thunk>())
        && basic_size == round_up(offset + std::mem::size_of::<Thunk>(), align)
        && flags & ffi::Py_TPFLAGS_BASETYPE == 0;
    exact.then_some(offset)
}

/// The `tp_dealloc` of thunk objects once their layout is measured: drops the Rust
/// part in place and frees the object, as PyO3's deallocator does.
///
/// # Safety
/// CPython's `tp_dealloc` contract: `obj` is a thunk object whose reference count
/// reached zero, the GIL held.
unsafe extern "C" fn thunk_dealloc(obj: *mut ffi::PyObject) {
    // SAFETY: CPython calls tp_dealloc with the GIL held.
    let py = unsafe { Python::assume_attached() };
    let Some(Some(offset)) = THUNK_LAYOUT.get() else { return };
    // SAFETY: obj is a thunk object being deallocated (the caller's promise), of the
    // measured layout (the slot is installed only then): untracked before its part is
    // dropped (the collector must not traverse it half-dropped), the part dropped once,
    // then the memory freed by the type's tp_free; a heap type's instance held a
    // reference to it, released last.
    unsafe {
        let tp = ffi::Py_TYPE(obj);
        ffi::PyObject_GC_UnTrack(obj.cast());
        let part = obj.cast::<u8>().add(*offset).cast::<Thunk>();
        // Dropped attached as PyO3 counts it, as its own deallocator does, so that the
        // `Py`s of this callback's handler and of the older ones the quarantine lets go
        // of now are released at once, not deferred: free inside one of PyO3's slots
        // (a function pointer's deallocation, the usual way a thunk goes), a
        // PyGILState_Ensure of the thread holding the GIL otherwise. Without it (the
        // interpreter finalizing) they are deferred.
        if Python::try_attach(|py| crate::data::slots::guard_dealloc(py, || std::ptr::drop_in_place(part))).is_none() {
            crate::data::slots::guard_dealloc(py, || std::ptr::drop_in_place(part));
        }
        (*tp).tp_free.unwrap_or(ffi::PyObject_GC_Del)(obj.cast());
        if ffi::PyType_HasFeature(tp, ffi::Py_TPFLAGS_HEAPTYPE) != 0 {
            ffi::Py_DECREF(tp.cast());
        }
    }
}

#[pymethods]
impl Thunk {
    /// The collector sees the callable and the argument instances kept for reuse: a
    /// cycle through them (a bound method of an object that holds the callback, an
    /// argument given an attribute that refers to it) is then collectable.
    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        let handler = &self.callback.handler;
        // SAFETY: called by the collector through tp_traverse; the closure only visits.
        unsafe { handler.callable.with_in_traverse(|c| visit.call(c)) }?;
        for spare in handler.spares.iter() {
            // SAFETY: called by the collector through tp_traverse; the closure only visits.
            unsafe { spare.with_in_traverse(|s| visit.call(s)) }?;
        }
        handler.kept.traverse(&visit)?;
        Ok(())
    }

    /// Breaks a cycle: the callback is released (a later call from C is reported).
    fn __clear__(&self, py: Python<'_>) {
        drop(self.callback.handler.callable.replace(py, None));
        self.callback.handler.release_spares(py);
    }
}

/// How a callable is named in late-call reports: `module.qualname`, or its repr. The
/// strings are kept as they were when the callback was made, and made into the text
/// only when a report needs it (most callbacks never make one).
enum CallableName {
    /// Its `__qualname__`, and its `__module__` when that is a str.
    Qualified { qualname: Py<PyString>, module: Option<Py<PyAny>> },
    /// Its repr, for a callable without a str `__qualname__`.
    Repr(String),
}

impl CallableName {
    fn of(callable: &Bound<'_, PyAny>) -> PyResult<CallableName> {
        let py = callable.py();
        // SAFETY: a live object; only its type is read.
        if unsafe { ffi::PyFunction_Check(callable.as_ptr()) } != 0 {
            // A function (the type has no subclasses): `__qualname__` and `__module__`
            // are data descriptors of the function type reading these two fields
            // (ahead of any `__dict__` entry), so the fields are what the lookups
            // below would find, read without two attribute lookups.
            let function = callable.as_ptr().cast::<ffi::PyFunctionObject>();
            // SAFETY: an exact function object, of the layout CPython's headers (which
            // PyO3's definition follows for the version built for) give it; both fields
            // are read while the function is alive, and each is NULL or a live object.
            let (qualname, module) = unsafe { ((*function).func_qualname, (*function).func_module) };
            // SAFETY: NULL or a borrowed reference to a live object (see above), of
            // which the Bound takes a share of its own.
            let (qualname, module) = unsafe { (Bound::from_borrowed_ptr_or_opt(py, qualname), Bound::from_borrowed_ptr_or_opt(py, module)) };
            if let Some(Ok(qualname)) = qualname.map(|q| q.cast_into::<PyString>()) {
                let module = module.filter(|m| m.is_instance_of::<PyString>());
                return Ok(CallableName::Qualified { qualname: qualname.unbind(), module: module.map(Bound::unbind) });
            }
        }
        if let Some(q) = callable.getattr_opt(intern!(py, "__qualname__"))? {
            if let Ok(qualname) = q.cast_into::<PyString>() {
                let module = callable.getattr_opt(intern!(py, "__module__"))?.filter(|m| m.is_instance_of::<PyString>());
                return Ok(CallableName::Qualified { qualname: qualname.unbind(), module: module.map(Bound::unbind) });
            }
        }
        Ok(CallableName::Repr(callable.repr()?.to_string()))
    }

    /// The name as reports write it: `'module.qualname'`, `'qualname'` or the repr.
    fn text(&self, py: Python<'_>) -> String {
        match self {
            CallableName::Qualified { qualname, module } => {
                let q = qualname.bind(py);
                match module.as_ref().and_then(|m| m.bind(py).extract::<String>().ok()) {
                    Some(m) => format!("'{m}.{q}'"),
                    None => format!("'{q}'"),
                }
            }
            CallableName::Repr(text) => text.clone(),
        }
    }
}

/// CPython's way to report an exception nobody can catch, with ctypes' wording:
/// "Exception ignored {what}: {object}". Takes the exception currently set.
pub fn write_unraisable(_py: Python<'_>, what: &str, object: Option<&Bound<'_, PyAny>>) {
    // Attached as PyO3 counts it, so that objects dropped here are released at once
    // (callbacks run with a token PyO3 does not count; see `with_gil`).
    Python::attach(|py| write_unraisable_attached(py, what, object.map_or(null_mut(), |o| o.as_ptr())));
}

fn write_unraisable_attached(py: Python<'_>, what: &str, obj: *mut ffi::PyObject) {
    let Ok(message) = std::ffi::CString::new(what) else { return };
    match unraisable_api() {
        // SAFETY: the functions take a NUL-terminated message and an object or NULL;
        // an exception is set (the callers restore one first).
        UnraisableApi::WriteMsg(f) => unsafe { f(message.as_ptr(), obj) },
        // SAFETY: an exception is set (the callers restore one first) and the message
        // is NUL-terminated; the format "%s" takes one C string, and "%s %R" a C
        // string and a live object, whose repr ends the message as in 3.13's ctypes.
        UnraisableApi::Format(f) => unsafe {
            if obj.is_null() {
                f(c"Exception ignored %s".as_ptr(), message.as_ptr())
            } else {
                f(c"Exception ignored %s %R".as_ptr(), message.as_ptr(), obj)
            }
        },
        // SAFETY: an exception is set (the callers restore one first); obj is a live
        // object or NULL.
        UnraisableApi::Plain => unsafe { ffi::PyErr_WriteUnraisable(obj) },
    }
    if PyErr::occurred(py) {
        // The hook itself failed: nothing more can be done but say so.
        write_stderr(&format!("ferrotypes: sys.unraisablehook failed while reporting an exception {what}\n"));
        drop(PyErr::take(py));
    }
}

#[derive(Clone, Copy)]
enum UnraisableApi {
    /// `_PyErr_WriteUnraisableMsg(msg, obj)` (CPython 3.8 to 3.12).
    WriteMsg(unsafe extern "C" fn(*const c_char, *mut ffi::PyObject)),
    /// `PyErr_FormatUnraisable(format, ...)` (CPython 3.13 and later): the object is
    /// named in the message, not passed.
    Format(unsafe extern "C" fn(*const c_char, ...)),
    /// Only `PyErr_WriteUnraisable(obj)`.
    Plain,
}

/// Finds the richest unraisable-reporting function this interpreter exports. Looked
/// up at run time so one build works across Python versions.
fn unraisable_api() -> UnraisableApi {
    static API: OnceLock<UnraisableApi> = OnceLock::new();
    *API.get_or_init(|| {
        // SAFETY: dlsym with RTLD_DEFAULT searches the loaded objects (the interpreter
        // included) for a symbol; the types below are those CPython declares.
        unsafe {
            let p = libc::dlsym(libc::RTLD_DEFAULT, c"_PyErr_WriteUnraisableMsg".as_ptr());
            if !p.is_null() {
                return UnraisableApi::WriteMsg(std::mem::transmute::<*mut c_void, unsafe extern "C" fn(*const c_char, *mut ffi::PyObject)>(p));
            }
            let p = libc::dlsym(libc::RTLD_DEFAULT, c"PyErr_FormatUnraisable".as_ptr());
            if !p.is_null() {
                return UnraisableApi::Format(std::mem::transmute::<*mut c_void, unsafe extern "C" fn(*const c_char, ...)>(p));
            }
            UnraisableApi::Plain
        }
    })
}

/// How many released callbacks are kept callable (for tests and diagnostics).
#[pyfunction]
pub fn _released_callbacks() -> usize {
    ferrotypes_core::closure::released_count()
}
