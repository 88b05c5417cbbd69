//! `_FuncPtrData`: foreign function objects (`CDLL` attributes, prototypes' instances).
//!
//! The signature (`argtypes`, `restype`) is prepared once into a [`Prepared`] call —
//! one converter per parameter and a libffi call interface — whenever it changes.
//! Calls arrive through the vectorcall protocol ([`vectorcall`]), convert each argument
//! into a stack slot, release the GIL (unless the function belongs to a `PyDLL`), call,
//! and convert the result. Instances made from Python callables own a
//! [`Callback`](crate::callback::Callback): their address is its trampoline.

use std::ffi::c_void;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr::null_mut;
use std::rc::Rc;
use std::sync::atomic::{AtomicIsize, Ordering};

use ferrotypes_core::call::{CallPlan, Registers, Slot};
use ferrotypes_core::ctype::{CType, ScalarKind};
use ferrotypes_core::library;
use pyo3::exceptions::{PyAttributeError, PyTypeError, PyValueError};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyInt, PyString, PyTuple, PyType};
use pyo3::{intern, PyClassInitializer};

use crate::argconv::{convert_unknown, promote_variadic, simple_param_into, ArgConv, ArgValue};
use crate::callback::Callback;
use crate::cdata::CData;
use crate::errno::ErrnoSwap;
use crate::gil_cell::GilCell;
use crate::scalar;
use crate::typeinfo::{info_of, InfoKind};
use crate::ArgumentError;

/// The function pointer uses the C calling convention (the only one on Linux).
pub const FUNCFLAG_CDECL: i32 = 0x1;
/// Windows' HRESULT results (accepted for compatibility, never set on Linux).
pub const FUNCFLAG_HRESULT: i32 = 0x2;
/// The function is part of the Python C API: the GIL is held during the call.
pub const FUNCFLAG_PYTHONAPI: i32 = 0x4;
/// `errno` is swapped with ctypes' private copy around the call.
pub const FUNCFLAG_USE_ERRNO: i32 = 0x8;
/// Windows' `GetLastError` swap (accepted, has no effect on Linux).
pub const FUNCFLAG_USE_LAST_ERROR: i32 = 0x10;

/// Calls with at most this many arguments convert into stack slots.
const STACK_ARGS: usize = 16;

/// The simple types' own `from_param` (set once by the metaclass module), to
/// recognise argtypes that convert without calling back into Python.
pub static DEFAULT_FROM_PARAM: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// Byte offset of `FuncPtr::vectorcall` inside the Python object, found at start-up.
static VECTORCALL_OFFSET: AtomicIsize = AtomicIsize::new(0);

/// How the C result becomes a Python value.
enum ResultConv {
    /// `restype = None`: the result is `None`.
    Void,
    /// A built-in simple type: its plain value.
    Value(ScalarKind),
    /// A built-in simple type of the other byte order (`c_int.__ctype_be__`): the
    /// value read from the result's bytes reversed, as ctypes' swapped getters do.
    SwappedValue(ScalarKind),
    /// Any other ctypes type: an instance holding the result's bytes.
    Instance(Py<PyType>),
    /// A callable that is not a ctypes type: called with the C `int` result.
    Callable(Py<PyAny>),
}

/// A signature prepared for calling.
struct Prepared {
    /// One converter per declared parameter; None when `argtypes` is unset.
    converters: Option<Vec<ArgConv>>,
    /// The call interface for exactly the declared parameters, when all their C types
    /// are known in advance.
    plan: Option<CallPlan>,
    result: ResultConv,
    result_ctype: CType,
    /// The restype's `_check_retval_`, if it has one.
    check_retval: Option<Py<PyAny>>,
    /// Every converter is a built-in simple type's (the direct path may be used).
    all_simple: bool,
}

impl Prepared {
    fn new(py: Python<'_>, argtypes: Option<&Bound<'_, PyAny>>, restype: Option<&Bound<'_, PyAny>>) -> PyResult<Prepared> {
        let converters = match argtypes {
            Some(seq) if !seq.is_none() => {
                let default = DEFAULT_FROM_PARAM.get(py).map(|f| f.bind(py).clone()).unwrap_or_else(|| py.None().into_bound(py));
                let mut convs = Vec::new();
                for (i, t) in seq.try_iter()?.enumerate() {
                    convs.push(ArgConv::for_argtype(&t?, i, &default)?);
                }
                Some(convs)
            }
            _ => None,
        };
        let (result, result_ctype, check_retval) = match restype {
            None => (ResultConv::Void, CType::Void, None),
            Some(r) if r.is_none() => (ResultConv::Void, CType::Void, None),
            Some(r) => match info_of(r) {
                Ok(info) => {
                    let info = info.get();
                    info.check_by_value()?;
                    let cls = r.cast::<PyType>()?.clone().unbind();
                    let conv = match info.kind {
                        InfoKind::Simple { scalar, direct: true, swapped: false } => ResultConv::Value(scalar),
                        InfoKind::Simple { scalar, direct: true, swapped: true } => ResultConv::SwappedValue(scalar),
                        _ => ResultConv::Instance(cls),
                    };
                    (conv, info.ctype.clone(), r.getattr_opt(intern!(py, "_check_retval_"))?.map(Bound::unbind))
                }
                Err(_) if r.is_callable() => (ResultConv::Callable(r.clone().unbind()), CType::Scalar(ScalarKind::Int), None),
                Err(_) => return Err(PyTypeError::new_err("restype must be a type, a callable, or None")),
            },
        };
        let plan = match &converters {
            Some(convs) => convs.iter().map(ArgConv::ctype).collect::<Option<Vec<_>>>().map(|types| CallPlan::new(&types, result_ctype.clone())),
            None => None,
        };
        let all_simple = converters.as_ref().is_some_and(|c| c.iter().all(|c| matches!(c, ArgConv::Simple { .. })));
        Ok(Prepared { converters, plan, result, result_ctype, check_retval, all_simple })
    }
}

/// The Rust side of `CFuncPtr`.
#[pyclass(extends = CData, subclass, frozen, module = "ferrotypes._ctypes", name = "_FuncPtrData")]
pub struct FuncPtr {
    /// Read by CPython through `tp_vectorcall_offset`; always [`vectorcall`].
    vectorcall: ffi::vectorcallfunc,
    flags: i32,
    argtypes: GilCell<Option<Py<PyAny>>>,
    restype: GilCell<Option<Py<PyAny>>>,
    errcheck: GilCell<Option<Py<PyAny>>>,
    prepared: GilCell<Rc<Prepared>>,
    /// Whether `prepared` reflects the signature (false until the first preparation).
    prepared_once: GilCell<bool>,
    /// The trampoline, when this instance was made from a Python callable.
    callback: Option<Callback>,
}

impl FuncPtr {
    fn address(slf: &Bound<'_, Self>) -> usize {
        let base = slf.as_super().get();
        // SAFETY: a function pointer instance's memory holds one pointer.
        unsafe { base.address(slf.py()).cast::<usize>().read_unaligned() }
    }

    /// The argtypes and restype in force: the instance's own, else its class's.
    fn effective(slf: &Bound<'_, Self>, own: &GilCell<Option<Py<PyAny>>>, class_attr: &Bound<'_, PyString>) -> PyResult<Option<Py<PyAny>>> {
        if let Some(v) = own.get_obj(slf.py()) {
            return Ok(Some(v));
        }
        Ok(slf.get_type().getattr_opt(class_attr)?.map(Bound::unbind))
    }

    fn reprepare(slf: &Bound<'_, Self>) -> PyResult<()> {
        let py = slf.py();
        let me = slf.get();
        let argtypes = FuncPtr::effective(slf, &me.argtypes, intern!(py, "_argtypes_"))?;
        let restype = FuncPtr::effective(slf, &me.restype, intern!(py, "_restype_"))?;
        let prepared = Prepared::new(py, argtypes.as_ref().map(|a| a.bind(py)), restype.as_ref().map(|r| r.bind(py)))?;
        drop(me.prepared.replace(py, Rc::new(prepared)));
        me.prepared_once.replace(py, true);
        Ok(())
    }

    /// Calls the function with `args` (borrowed object pointers from the caller).
    fn call(slf: &Bound<'_, Self>, args: &[*mut ffi::PyObject]) -> PyResult<Py<PyAny>> {
        let py = slf.py();
        let me = slf.get();
        if !me.prepared_once.with(py, |p| *p) {
            FuncPtr::reprepare(slf)?;
        }
        let prepared = me.prepared.get(py);
        let function = FuncPtr::address(slf);
        if function == 0 {
            return Err(PyValueError::new_err("NULL function pointer access"));
        }
        if args.len() > crate::CTYPES_MAX_ARGCOUNT {
            return Err(ArgumentError::new_err(format!("too many arguments ({}), maximum is {}", args.len(), crate::CTYPES_MAX_ARGCOUNT)));
        }
        let declared = prepared.converters.as_ref().map_or(0, Vec::len);
        if args.len() < declared {
            let s = if declared == 1 { "" } else { "s" };
            return Err(PyTypeError::new_err(format!("this function takes at least {declared} argument{s} ({} given)", args.len())));
        }
        let mut keep: Vec<Py<PyAny>> = Vec::new();
        let mut result = ResultBuffer::for_type(&prepared.result_ctype);
        match (&prepared.converters, &prepared.plan) {
            (Some(convs), Some(plan)) if args.len() == declared && prepared.all_simple && plan.direct().is_some() => {
                let direct = plan.direct().expect("checked above");
                let mut regs = Registers::default();
                for (i, (conv, &arg)) in convs.iter().zip(args).enumerate() {
                    let ArgConv::Simple { kind, cls } = conv else { unreachable!("all_simple") };
                    // SAFETY: CPython hands vectorcall valid borrowed references.
                    let arg = unsafe { Borrowed::from_ptr(py, arg) };
                    let mut slot = Slot::ZERO;
                    let kept = simple_param_into(cls.bind(py), *kind, &arg, &mut slot).map_err(|e| argument_error(py, i, e))?;
                    keep.extend(kept);
                    direct.load(&mut regs, i, &slot);
                }
                me.invoke_direct(plan, function, &regs, &mut result);
            }
            (Some(convs), Some(plan)) if args.len() == declared && declared <= STACK_ARGS => {
                let mut slots = [Slot::ZERO; STACK_ARGS];
                let mut pointers = [null_mut::<c_void>(); STACK_ARGS];
                for (i, (conv, &arg)) in convs.iter().zip(args).enumerate() {
                    // SAFETY: CPython hands vectorcall valid borrowed references.
                    let arg = unsafe { Borrowed::from_ptr(py, arg) };
                    let value = conv.convert(&arg, i + 1).map_err(|e| argument_error(py, i, e))?;
                    slots[i] = value.slot;
                    pointers[i] = match value.record {
                        Some(p) => p.cast(),
                        None => slots[i..].as_mut_ptr().cast(),
                    };
                    keep.extend(value.keep);
                }
                me.invoke(plan, function, &mut pointers[..declared], &mut result);
            }
            _ => {
                let mut values = Vec::with_capacity(args.len());
                for (i, &arg) in args.iter().enumerate() {
                    // SAFETY: as above.
                    let arg = unsafe { Borrowed::from_ptr(py, arg) };
                    let converted = match prepared.converters.as_ref().and_then(|c| c.get(i)) {
                        Some(conv) => conv.convert(&arg, i + 1),
                        None => convert_unknown(&arg, i + 1),
                    };
                    let mut value = converted.map_err(|e| argument_error(py, i, e))?;
                    if prepared.converters.is_some() && i >= declared {
                        promote_variadic(&mut value);
                    }
                    values.push(value);
                }
                let types: Vec<CType> = values.iter().map(|v| v.ctype.clone()).collect();
                let plan = match prepared.converters {
                    Some(_) if args.len() > declared => CallPlan::new_variadic(&types, declared, prepared.result_ctype.clone()),
                    _ => CallPlan::new(&types, prepared.result_ctype.clone()),
                };
                let mut pointers: Vec<*mut c_void> = values.iter_mut().map(ArgValue::pointer_for_call).collect();
                me.invoke(&plan, function, &mut pointers, &mut result);
                keep.extend(values.into_iter().filter_map(|v| v.keep));
            }
        }
        // `keep` lives until the result is converted: a returned pointer may point
        // into an argument (a wide copy of a str, say), as ctypes allows.
        // A Python C API function reports failure by setting an exception.
        if me.flags & FUNCFLAG_PYTHONAPI != 0 {
            if let Some(err) = PyErr::take(py) {
                return Err(err);
            }
        }
        // A py_object result is a new reference when the C API returned it, or when
        // the function is one of our own callbacks (which hand C a new reference).
        let steal = me.flags & FUNCFLAG_PYTHONAPI != 0 || me.callback.as_ref().is_some_and(Callback::returns_object);
        let mut value = convert_result(py, &prepared, &result, steal)?;
        drop(keep);
        if let Some(check) = &prepared.check_retval {
            value = check.bind(py).call1((value,))?.unbind();
        }
        if me.errcheck.with(py, Option::is_none) {
            return Ok(value);
        }
        if let Some(errcheck) = me.errcheck.get_obj(py) {
            let arg_tuple = PyTuple::new(py, args.iter().map(|&p| {
                // SAFETY: as above.
                unsafe { Borrowed::from_ptr(py, p) }.to_owned()
            }))?;
            let checked = errcheck.bind(py).call1((value.bind(py), slf, &arg_tuple))?;
            // Returning the arguments unchanged means "keep the normal result" (ctypes).
            if !checked.is(&arg_tuple) {
                value = checked.unbind();
            }
        }
        Ok(value)
    }

    /// The C call through libffi.
    fn invoke(&self, plan: &CallPlan, function: usize, pointers: &mut [*mut c_void], result: &mut ResultBuffer) {
        self.around_call(|| {
            // SAFETY: the plan describes the declared signature (the user's promise, as
            // in ctypes); each pointer points at a converted value that lives until
            // after the call (slots on this stack frame, records kept alive by `keep`).
            unsafe { plan.call(function as *const c_void, pointers, result.as_mut_ptr()) };
        });
    }

    /// The C call through the plan's direct path (no libffi).
    fn invoke_direct(&self, plan: &CallPlan, function: usize, regs: &Registers, result: &mut ResultBuffer) {
        let direct = plan.direct().expect("caller checked");
        let ResultBuffer::Small(slot) = result else { unreachable!("direct results are scalars") };
        self.around_call(
            #[inline(always)]
            || {
                // SAFETY: as for `invoke`; every argument register was loaded by the caller.
                *slot = unsafe { direct.call(function as *const c_void, regs) };
            },
        );
    }

    /// Runs `call` with the GIL released (unless this is a Python API function) and
    /// with `errno` swapped when the function asked for it. `call` must not touch
    /// Python objects.
    #[inline]
    fn around_call(&self, call: impl FnOnce()) {
        let release = self.flags & FUNCFLAG_PYTHONAPI == 0;
        let swap_errno = self.flags & FUNCFLAG_USE_ERRNO != 0;
        // SAFETY: the GIL is held here and is re-acquired below before any Python
        // object is touched; `call` touches none.
        let saved = if release { unsafe { ffi::PyEval_SaveThread() } } else { null_mut() };
        let errno = swap_errno.then(ErrnoSwap::enter);
        call();
        drop(errno);
        if release {
            // SAFETY: `saved` came from PyEval_SaveThread on this thread.
            unsafe { ffi::PyEval_RestoreThread(saved) };
        }
    }
}

impl ArgValue {
    /// The pointer libffi reads this argument's value from.
    fn pointer_for_call(&mut self) -> *mut c_void {
        match self.record {
            Some(p) => p.cast(),
            None => self.slot.as_mut_ptr(),
        }
    }
}

/// Room for a result: libffi widens small integers to a machine word, and records
/// may be larger than a slot.
enum ResultBuffer {
    Small(Slot),
    Large(Vec<Slot>),
}

impl ResultBuffer {
    fn for_type(t: &CType) -> ResultBuffer {
        let size = t.size();
        if size <= 16 {
            ResultBuffer::Small(Slot::ZERO)
        } else {
            ResultBuffer::Large(vec![Slot::ZERO; size.div_ceil(16)])
        }
    }

    fn as_mut_ptr(&mut self) -> *mut c_void {
        match self {
            ResultBuffer::Small(s) => s.as_mut_ptr(),
            ResultBuffer::Large(v) => v.as_mut_ptr().cast(),
        }
    }

    fn bytes(&self) -> &[u8] {
        match self {
            ResultBuffer::Small(s) => &s.0,
            // SAFETY: a Vec<Slot> is contiguous plain bytes.
            ResultBuffer::Large(v) => unsafe { std::slice::from_raw_parts(v.as_ptr().cast::<u8>(), v.len() * 16) },
        }
    }
}

fn convert_result(py: Python<'_>, prepared: &Prepared, result: &ResultBuffer, python_api: bool) -> PyResult<Py<PyAny>> {
    let bytes = result.bytes();
    match &prepared.result {
        ResultConv::Void => Ok(py.None()),
        ResultConv::Value(kind) => {
            let mut raw = [0u8; 16];
            raw.copy_from_slice(&bytes[..16]);
            let value = scalar::from_bytes(py, *kind, &raw)?;
            if *kind == ScalarKind::ObjectPtr && python_api {
                // A Python C API function returning PyObject* returns a new reference:
                // take it over (from_bytes took one of its own). For other functions
                // the reference is kept borrowed: stealing one a C function did not
                // give (an identity function, say) would free a live object; ctypes
                // steals and crashes there, ferrotypes leaks at worst.
                // SAFETY: the pointer is the non-NULL object from_bytes just read.
                unsafe { ffi::Py_DECREF(value.as_ptr()) };
            }
            Ok(value)
        }
        ResultConv::SwappedValue(kind) => {
            // SAFETY: the result buffer holds at least 16 bytes, more than any scalar.
            unsafe { scalar::read(py, *kind, true, bytes.as_ptr()) }
        }
        ResultConv::Instance(cls) => {
            let obj = cls.bind(py).call0()?;
            let cdata = obj.cast::<CData>()?.get();
            let n = cdata.size(py).min(prepared.result_ctype.size());
            // SAFETY: the new instance owns at least `n` bytes; the buffer has them too.
            unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), cdata.address(py), n) };
            Ok(obj.unbind())
        }
        ResultConv::Callable(f) => {
            let v = i32::from_ne_bytes(bytes[..4].try_into().expect("4 bytes"));
            Ok(f.bind(py).call1((v,))?.unbind())
        }
    }
}

/// Wraps a conversion error as ctypes does: `ArgumentError("argument 2: TypeError: ...")`.
fn argument_error(py: Python<'_>, index: usize, err: PyErr) -> PyErr {
    let kind = err.get_type(py).name().map(|n| n.to_string()).unwrap_or_default();
    let new = ArgumentError::new_err(format!("argument {}: {kind}: {}", index + 1, err.value(py)));
    new.set_cause(py, Some(err));
    new
}

/// CPython's entry point for `f(*args)`.
unsafe extern "C" fn vectorcall(callable: *mut ffi::PyObject, args: *const *mut ffi::PyObject, nargsf: usize, kwnames: *mut ffi::PyObject) -> *mut ffi::PyObject {
    // CPython calls vectorcall functions with the GIL held. `attach` (rather than
    // assuming it) tells PyO3 so, which lets references dropped in the call be released
    // at once instead of queued until some later PyO3 entry.
    Python::attach(|py| {
        let outcome = catch_unwind(AssertUnwindSafe(|| -> PyResult<Py<PyAny>> {
            // SAFETY: callable is an instance of a FuncPtr subclass: the vectorcall
            // offset is only installed on such classes.
            let slf = unsafe { Borrowed::from_ptr(py, callable).cast_unchecked::<FuncPtr>() };
            // SAFETY: nargsf came from CPython.
            let n = unsafe { ffi::PyVectorcall_NARGS(nargsf) } as usize;
            // SAFETY: CPython guarantees `n` argument pointers (args may be NULL if n == 0).
            let argv = if n == 0 { &[][..] } else { unsafe { std::slice::from_raw_parts(args, n) } };
            // SAFETY: kwnames is NULL or a tuple.
            if !kwnames.is_null() && unsafe { ffi::PyTuple_Size(kwnames) } > 0 {
                return Err(PyTypeError::new_err("foreign functions take no keyword arguments"));
            }
            FuncPtr::call(&slf, argv)
        }));
        match outcome {
            Ok(Ok(obj)) => obj.into_ptr(),
            Ok(Err(err)) => {
                err.restore(py);
                null_mut()
            }
            Err(panic) => {
                let message = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_else(|| "unknown panic".to_owned());
                pyo3::panic::PanicException::new_err(message).restore(py);
                null_mut()
            }
        }
    })
}

/// Makes CPython call instances of `cls` (a FuncPtr subclass) through [`vectorcall`].
/// Heap subclasses do not inherit the vectorcall flag on Python 3.11, so the metaclass
/// calls this for every function pointer class it creates.
#[pyfunction]
pub fn _enable_vectorcall(cls: &Bound<'_, PyType>) -> PyResult<()> {
    if !cls.is_subclass_of::<FuncPtr>()? {
        return Err(PyTypeError::new_err("not a function pointer class"));
    }
    let offset = VECTORCALL_OFFSET.load(Ordering::Relaxed);
    let tp = cls.as_type_ptr();
    // SAFETY: tp is a live type object that is a FuncPtr subclass, so its instances
    // have the FuncPtr layout and the field at `offset`; writing these two fields is
    // how vectorcall is enabled for a type (CPython reads them on every call).
    unsafe {
        (*tp).tp_vectorcall_offset = offset;
        (*tp).tp_flags |= ffi::Py_TPFLAGS_HAVE_VECTORCALL;
    }
    Ok(())
}

/// Finds where the `vectorcall` field sits in a FuncPtr object and enables vectorcall
/// on the base class. Called once at module initialisation.
pub fn init_vectorcall(py: Python<'_>) -> PyResult<()> {
    let info = Py::new(py, crate::typeinfo::function_info())?;
    let probe = Bound::new(py, PyClassInitializer::from(CData::owned(info)?).add_subclass(FuncPtr::with_address(0)))?;
    let field = &probe.get().vectorcall as *const ffi::vectorcallfunc as isize;
    VECTORCALL_OFFSET.store(field - probe.as_ptr() as isize, Ordering::Relaxed);
    _enable_vectorcall(&py.get_type::<FuncPtr>())
}

impl FuncPtr {
    fn with_address(flags: i32) -> FuncPtr {
        FuncPtr::with_callback(flags, None)
    }

    fn with_callback(flags: i32, callback: Option<Callback>) -> FuncPtr {
        FuncPtr {
            callback,
            vectorcall,
            flags,
            argtypes: GilCell::new(None),
            restype: GilCell::new(None),
            errcheck: GilCell::new(None),
            prepared_once: GilCell::new(false),
            prepared: GilCell::new(Rc::new(Prepared { converters: None, plan: None, result: ResultConv::Void, result_ctype: CType::Void, check_retval: None, all_simple: false })),
        }
    }
}

#[pymethods]
impl FuncPtr {
    #[new]
    #[classmethod]
    #[pyo3(signature = (*args, **_kwargs))]
    fn py_new(cls: &Bound<'_, PyType>, args: &Bound<'_, PyTuple>, _kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<PyClassInitializer<Self>> {
        let py = cls.py();
        let base = CData::for_class(cls, args)?;
        let flags = cls.getattr_opt(intern!(py, "_flags_"))?.map(|f| f.extract::<i32>()).transpose()?.unwrap_or(FUNCFLAG_CDECL);
        let borrowed = !base.b_needsfree_py(py);
        let mut callback = None;
        if !borrowed {
            let address = match args.len() {
                0 => 0,
                1 | 2 => {
                    let first = args.get_item(0)?;
                    if is_callback_source(&first) {
                        let argtypes = cls.getattr_opt(intern!(py, "_argtypes_"))?;
                        let restype = cls.getattr_opt(intern!(py, "_restype_"))?;
                        let cb = Callback::new(&first, argtypes.as_ref(), restype.as_ref(), flags)?;
                        // The instance keeps the callable alive, as in ctypes.
                        base.keep_ref_new(py, 0, first.unbind())?;
                        let code = cb.code();
                        callback = Some(cb);
                        code
                    } else {
                        function_address(&first)?
                    }
                }
                n => return Err(PyTypeError::new_err(format!("a function pointer takes at most 2 arguments ({n} given)"))),
            };
            // SAFETY: an owned function pointer instance has room for one pointer.
            unsafe { base.address(py).cast::<usize>().write_unaligned(address) };
        }
        Ok(PyClassInitializer::from(base).add_subclass(FuncPtr::with_callback(flags, callback)))
    }

    #[pyo3(signature = (*_args, **_kwargs))]
    fn __init__(slf: &Bound<'_, Self>, _args: &Bound<'_, PyTuple>, _kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<()> {
        FuncPtr::reprepare(slf)
    }

    #[pyo3(signature = (*args, **kwargs))]
    fn __call__(slf: &Bound<'_, Self>, args: &Bound<'_, PyTuple>, kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<Py<PyAny>> {
        if kwargs.is_some_and(|k| !k.is_empty()) {
            return Err(PyTypeError::new_err("foreign functions take no keyword arguments"));
        }
        let pointers: Vec<*mut ffi::PyObject> = args.iter().map(|a| a.as_ptr()).collect();
        FuncPtr::call(slf, &pointers)
    }

    /// The parameter types, or None.
    #[getter]
    fn get_argtypes(slf: &Bound<'_, Self>) -> PyResult<Option<Py<PyAny>>> {
        FuncPtr::effective(slf, &slf.get().argtypes, intern!(slf.py(), "_argtypes_"))
    }

    #[setter]
    fn set_argtypes(slf: &Bound<'_, Self>, value: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
        let py = slf.py();
        let value = match value {
            None => None,
            Some(v) if v.is_none() => None,
            Some(v) => {
                v.try_iter().map_err(|_| PyTypeError::new_err("_argtypes_ must be a sequence of types"))?;
                Some(v.clone().unbind()) // kept as given: ctypes returns the same object
            }
        };
        let old = slf.get().argtypes.replace(py, value);
        if let Err(e) = FuncPtr::reprepare(slf) {
            drop(slf.get().argtypes.replace(py, old));
            return Err(e);
        }
        Ok(())
    }

    /// The result type (a ctypes type, a callable, or None for void).
    #[getter]
    fn get_restype(slf: &Bound<'_, Self>) -> PyResult<Option<Py<PyAny>>> {
        FuncPtr::effective(slf, &slf.get().restype, intern!(slf.py(), "_restype_"))
    }

    #[setter]
    fn set_restype(slf: &Bound<'_, Self>, value: &Bound<'_, PyAny>) -> PyResult<()> {
        let py = slf.py();
        let old = slf.get().restype.replace(py, Some(value.clone().unbind()));
        if let Err(e) = FuncPtr::reprepare(slf) {
            drop(slf.get().restype.replace(py, old));
            return Err(e);
        }
        Ok(())
    }

    /// `del f.argtypes`: back to the class's `_argtypes_` (none for library functions).
    #[deleter]
    fn delete_argtypes(slf: &Bound<'_, Self>) -> PyResult<()> {
        FuncPtr::set_argtypes(slf, None)
    }

    /// `del f.restype`: back to the class's `_restype_` (`c_int` for library functions).
    #[deleter]
    fn delete_restype(slf: &Bound<'_, Self>) -> PyResult<()> {
        let py = slf.py();
        let old = slf.get().restype.replace(py, None);
        if let Err(e) = FuncPtr::reprepare(slf) {
            drop(slf.get().restype.replace(py, old));
            return Err(e);
        }
        Ok(())
    }

    /// `del f.errcheck`: no check any more.
    #[deleter]
    fn delete_errcheck(&self, py: Python<'_>) {
        drop(self.errcheck.replace(py, None));
    }

    /// A function called with `(result, func, args)` whose return value replaces the
    /// result.
    #[getter]
    fn get_errcheck(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        self.errcheck.get_obj(py)
    }

    #[setter]
    fn set_errcheck(&self, py: Python<'_>, value: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
        let value = match value {
            Some(v) if v.is_callable() => Some(v.clone().unbind()),
            _ => return Err(PyTypeError::new_err("the errcheck attribute must be callable")),
        };
        drop(self.errcheck.replace(py, value));
        Ok(())
    }

    fn __bool__(slf: &Bound<'_, Self>) -> bool {
        FuncPtr::address(slf) != 0
    }

    /// How calls with exactly the declared arguments are made: `"direct"` (no libffi),
    /// `"libffi"`, or `"per-call"` (the C types are only known from the arguments).
    #[getter]
    fn _call_path(&self, py: Python<'_>) -> &'static str {
        let prepared = self.prepared.get(py);
        match &prepared.plan {
            Some(plan) if prepared.all_simple && plan.direct().is_some() => "direct",
            Some(_) => "libffi",
            None => "per-call",
        }
    }

    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        Ok(format!("<{} object at {:#x}>", slf.get_type().name()?, slf.as_ptr() as usize))
    }
}

/// Whether a constructor argument asks for a callback: a callable that is not an
/// address or a `(name, library)` pair.
fn is_callback_source(arg: &Bound<'_, PyAny>) -> bool {
    arg.is_callable() && !arg.is_instance_of::<PyInt>() && !arg.is_instance_of::<PyTuple>()
}

/// The address a function pointer is constructed from: an integer, or a
/// `(name, library)` pair resolved in the library.
fn function_address(arg: &Bound<'_, PyAny>) -> PyResult<usize> {
    let py = arg.py();
    if arg.is_instance_of::<PyInt>() {
        return Ok(scalar::mask_u64(arg)? as usize);
    }
    if let Ok(pair) = arg.cast::<PyTuple>() {
        if pair.len() == 2 {
            let (name, dll) = (pair.get_item(0)?, pair.get_item(1)?);
            if name.is_instance_of::<PyInt>() {
                return Err(PyTypeError::new_err("function ordinals are only supported on Windows"));
            }
            let name: String = name.extract().map_err(|_| PyTypeError::new_err("function name must be str"))?;
            let handle: usize = dll.getattr(intern!(py, "_handle"))?.extract()?;
            return library::symbol(handle as *mut c_void, &name).map(|p| p as usize).map_err(PyAttributeError::new_err);
        }
    }
    Err(PyTypeError::new_err(format!("argument must be callable or integer function address, not {}", scalar::type_name(arg))))
}
