//! `_FuncPtrData`: foreign function objects (`CDLL` attributes, prototypes' instances).
//!
//! The signature (`argtypes`, `restype`) is prepared once into a [`Prepared`] call —
//! one converter per parameter and a libffi call interface — whenever it changes.
//! Calls arrive through the vectorcall protocol ([`vectorcall`]), convert each argument
//! into a stack slot, release the GIL (unless the function belongs to a `PyDLL`), call,
//! and convert the result. Instances made from Python callables own a
//! [`Callback`](crate::callback::thunk::Callback): their address is its trampoline.

use std::ffi::c_void;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr::null_mut;
use std::rc::Rc;
use std::sync::atomic::{AtomicIsize, AtomicU8, AtomicUsize, Ordering};

use ferrotypes_core::call::{ArgLoad, CallPlan, DirectPlan, Registers, Slot, FEW_WORDS};
use ferrotypes_core::ctype::{CType, ScalarKind};
use ferrotypes_core::library;
use pyo3::exceptions::{PyAttributeError, PyRuntimeError, PyTypeError, PyValueError};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyInt, PyString, PyTuple, PyType};
use pyo3::pyclass::{PyTraverseError, PyVisit};
use pyo3::{intern, PyClassInitializer};

use crate::call::argconv::{convert_unknown, promote_variadic, ArgConv, ArgValue, CArgObject, Held};
use crate::callback::thunk::{Callback, Thunk};
use crate::data::cdata::CData;
use crate::support::cpython_layout::{self, IntLayout};
use crate::support::errno::ErrnoSwap;
use crate::support::gil_cell::GilCell;
use crate::call::paramflags::ParamFlags;
use crate::support::scalar;
use crate::types::typeinfo::{info_of, InfoKind, TypeInfo};
use crate::call::untyped::{self, UntypedArgs, UntypedPlans};
use crate::support::errors::ArgumentError;

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
    /// Every converter is native ([`ArgConv::is_native`]: the direct path may be used).
    all_native: bool,
    /// The quickest path (see [`FuncPtr::call_fast`]), when the signature has a direct
    /// path and every parameter has a [`FastArg`].
    fast: Option<FastPlan>,
    /// The plans of calls without `argtypes` (see [`crate::call::untyped`]).
    untyped: UntypedPlans,
}

/// What [`FuncPtr::call_fast`] needs, worked out when the signature is prepared.
struct FastPlan {
    /// Each parameter's conversion and where its word goes.
    args: Box<[(FastArg, ArgLoad)]>,
    /// The call (the signature's direct path).
    direct: DirectPlan,
    /// How the result is made straight from the result word, when the restype is a
    /// built-in numeric simple type without `_check_retval_` ([`number_maker`]).
    number: Option<NumberMaker>,
}

/// How [`FuncPtr::call_fast`] converts one argument: only objects of exact types
/// (built-in ones, or the parameter's own classes) whose conversion runs no Python
/// code and keeps nothing alive beyond the caller's own reference. Any other argument
/// sends the call down the general paths, which give the same result for these
/// objects (tests compare them).
#[derive(Clone, Copy)]
enum FastArg {
    /// An integer parameter: an exact `int`, its low 64 bits (ctypes wraps around).
    Int,
    /// `c_void_p`: an exact `int` as above, None for NULL, a ferrotypes array (its
    /// address), pointer or function pointer, or `c_void_p`/`c_char_p`/`c_wchar_p`
    /// instance (the address it holds), or a `byref` (`cdata` and `carg`: the type
    /// objects' addresses) — the cases `c_void_p.from_param` takes from ferrotypes.
    Pointer { cdata: usize, carg: usize },
    /// `c_double`: an exact `float`.
    Double,
    /// `c_float`: an exact `float`, rounded to single precision.
    Float,
    /// `c_char_p` (and `POINTER(c_char)`, whose `from_param` is `c_char_p`'s): exact
    /// `bytes` (its own NUL-terminated buffer, as ctypes passes it; the caller's
    /// reference keeps it alive for the call), None for NULL, or a ferrotypes array of
    /// `c_char` (its address; `cdata` is the type object's address).
    Bytes { cdata: usize },
    /// `c_wchar_p`: None for NULL, or a ferrotypes array of `c_wchar` (its address);
    /// a `str` needs a wide copy and goes the general way.
    WideChars { cdata: usize },
    /// A structure or union parameter ([`ArgConv::Record`]): an instance of exactly
    /// its class (the type object's address), whose memory's address is the word (the
    /// plan copies the record from there before the call).
    Record { class: usize },
    /// A `POINTER(T)` parameter with ctypes' own `from_param` (`pointer` and `target`
    /// the two type objects' addresses, `carg` that of `CArgObject`): None for NULL,
    /// an instance of exactly `T` by reference, a `byref` of one, or an instance of
    /// exactly `POINTER(T)` passing the address it holds, or a ferrotypes array whose
    /// element class is exactly `T` (`cdata`: `_CData`'s type object), passing its
    /// address as C decays it — as [`ArgConv::Pointer`]'s own cases give them. The
    /// caller's reference keeps the memory alive (a `byref` and a pointer keep their
    /// target, an array is the memory).
    Ref { pointer: usize, target: usize, carg: usize, cdata: usize },
}

/// The addresses of the type objects of `_CData` and `CArgObject`, which the quickest
/// paths compare with, looked up once (PyO3's lookup costs a few dozen instructions
/// per argument); the classes live as long as the module.
static CDATA_TYPE: AtomicUsize = AtomicUsize::new(0);
static CARG_TYPE: AtomicUsize = AtomicUsize::new(0);

#[inline(always)]
fn remembered_type(cell: &AtomicUsize, lookup: impl FnOnce() -> usize) -> usize {
    match cell.load(Ordering::Relaxed) {
        0 => {
            let address = lookup();
            cell.store(address, Ordering::Relaxed);
            address
        }
        address => address,
    }
}

/// `_CData`'s type object address.
#[inline(always)]
pub(crate) fn cdata_type(py: Python<'_>) -> usize {
    remembered_type(&CDATA_TYPE, || <CData as pyo3::PyTypeInfo>::type_object_raw(py) as usize)
}

/// `CArgObject`'s type object address.
#[inline(always)]
pub(crate) fn carg_type(py: Python<'_>) -> usize {
    remembered_type(&CARG_TYPE, || <CArgObject as pyo3::PyTypeInfo>::type_object_raw(py) as usize)
}

/// The `TypeInfo` of `arg` when it is a ferrotypes C data instance (its class derives
/// from `_CData`, whose type object is at `cdata`), with the instance's memory address.
///
/// # Safety
/// `arg` is a valid object and the GIL is held.
#[inline(always)]
pub(crate) unsafe fn as_cdata<'a>(py: Python<'_>, arg: *mut ffi::PyObject, cdata: usize) -> Option<(&'a TypeInfo, *mut u8)> {
    // SAFETY: per the contract; PyType_IsSubtype only reads the types' MROs.
    unsafe {
        let tp = ffi::Py_TYPE(arg);
        if ffi::PyType_IsSubtype(tp, cdata as *mut ffi::PyTypeObject) == 0 {
            return None;
        }
        // The instance is a `_CData`: its part is there, and its info lives as long as
        // the instance, which the caller's reference keeps for the call.
        let data = Borrowed::from_ptr(py, arg).cast_unchecked::<CData>().get();
        let info: *const TypeInfo = data.info().get();
        Some((&*info, data.address(py)))
    }
}

/// How [`small_int`] reads an exact int ([`cpython_layout::IntLayout`]): 0 not at all,
/// 1 a signed digit count in `ob_size` (3.11), 2 a tagged count in `lv_tag` (3.12,
/// 3.13); 30-bit digits follow the header either way. Set once at module
/// initialisation ([`init_int_layout`]).
static INT_LAYOUT: AtomicU8 = AtomicU8::new(0);

/// Records the running interpreter's int layout (see [`INT_LAYOUT`]).
pub fn init_int_layout(py: Python<'_>) -> PyResult<()> {
    let layout = match cpython_layout::known(py).map(|l| l.int) {
        None => 0,
        Some(IntLayout::SignedSize) => 1,
        Some(IntLayout::Tagged) => 2,
    };
    INT_LAYOUT.store(layout, Ordering::Relaxed);
    Ok(())
}

/// The value of an exact int of at most one digit (|v| < 2**30), as its 64-bit two's
/// complement, read from the object itself (saves a call per argument); None for
/// larger ints or an unknown layout.
///
/// # Safety
/// `arg` is an exact `int`.
#[inline(always)]
pub(crate) unsafe fn small_int(arg: *mut ffi::PyObject) -> Option<u64> {
    // SAFETY: with the layout recorded at start-up, an int is a header of an object's
    // two words and a third word giving its digit count and sign (`ob_size` on 3.11,
    // `lv_tag` on 3.12 and 3.13), followed by that many 32-bit digits; a zero has
    // none to read.
    unsafe {
        let count = arg.cast::<u8>().add(2 * size_of::<usize>()).cast::<isize>().read();
        let digit = || arg.cast::<u8>().add(3 * size_of::<usize>()).cast::<u32>().read();
        match (INT_LAYOUT.load(Ordering::Relaxed), count) {
            (1, 0) | (2, 1) => Some(0),
            (1, 1) | (2, 8) => Some(u64::from(digit())),
            (1, -1) | (2, 10) => Some(u64::from(digit()).wrapping_neg()),
            _ => None,
        }
    }
}

/// An exact int's low 64 bits (ctypes wraps around), or None, with no exception set,
/// when they cannot be read (the general conversion then raises the error).
///
/// # Safety
/// The GIL is held and `arg` is an exact `int`.
#[inline(always)]
pub(crate) unsafe fn int_bits(arg: *mut ffi::PyObject) -> Option<u64> {
    // SAFETY: per the contract; PyLong_AsUnsignedLongLongMask follows the C API's
    // error protocol.
    unsafe {
        if let Some(small) = small_int(arg) {
            return Some(small);
        }
        let bits = ffi::PyLong_AsUnsignedLongLongMask(arg);
        if bits == u64::MAX && !ffi::PyErr_Occurred().is_null() {
            ffi::PyErr_Clear();
            return None;
        }
        Some(bits)
    }
}

impl FastPlan {
    /// Converts `args` into the words the call passes; None when one is not of its
    /// parameter's exact types.
    ///
    /// # Safety
    /// `args` are valid objects, as many as the plan has parameters, and the GIL is
    /// held; `N` is at least the number of words the plan's call passes.
    #[inline(always)]
    unsafe fn load<const N: usize>(&self, py: Python<'_>, args: &[*mut ffi::PyObject], regs: &mut Registers<N>) -> Option<()> {
        for (&(how, load), &arg) in self.args.iter().zip(args) {
            // SAFETY: per this function's contract; the converters hold the classes.
            let word = unsafe { how.word(py, arg) }?;
            // SAFETY: a record parameter's word is the address of an instance of
            // exactly its class, which has the record's size.
            unsafe { load.store(regs, word) };
        }
        Some(())
    }
}

impl FastArg {
    /// The quickest conversion for a parameter's converter, if it has one.
    fn for_conv(py: Python<'_>, conv: &ArgConv) -> Option<FastArg> {
        match conv {
            ArgConv::Simple { kind, .. } => FastArg::for_kind(py, *kind),
            ArgConv::Record { cls, .. } => Some(FastArg::Record { class: cls.as_ptr() as usize }),
            ArgConv::Pointer { own: Some((pointer, target)), .. } => Some(FastArg::Ref {
                pointer: pointer.as_ptr() as usize,
                target: target.as_ptr() as usize,
                carg: carg_type(py),
                cdata: cdata_type(py),
            }),
            ArgConv::Pointer { own: None, pointee, .. } if pointee.is_chars() => Some(FastArg::Bytes { cdata: cdata_type(py) }),
            _ => None,
        }
    }

    #[inline(always)]
    fn for_kind(py: Python<'_>, kind: ScalarKind) -> Option<FastArg> {
        match kind {
            k if k.is_integer() => Some(FastArg::Int),
            ScalarKind::VoidPtr => Some(FastArg::Pointer { cdata: cdata_type(py), carg: carg_type(py) }),
            ScalarKind::Double => Some(FastArg::Double),
            ScalarKind::Float => Some(FastArg::Float),
            ScalarKind::CharPtr => Some(FastArg::Bytes { cdata: cdata_type(py) }),
            ScalarKind::WCharPtr => Some(FastArg::WideChars { cdata: cdata_type(py) }),
            _ => None,
        }
    }

    /// The argument's word (for a record, the address of its bytes), or None when
    /// `arg` is not one of this converter's exact types.
    ///
    /// # Safety
    /// `arg` is a valid object, and the classes a `Record` or `Ref` names are alive
    /// (the converter they come from holds them).
    #[inline(always)]
    unsafe fn word(self, py: Python<'_>, arg: *mut ffi::PyObject) -> Option<u64> {
        // The address of the memory of `arg`, a C data instance.
        let memory = |arg: *mut ffi::PyObject| {
            // SAFETY: the callers below checked that arg's type is a C data class.
            unsafe { Borrowed::from_ptr(py, arg).cast_unchecked::<CData>() }.get().address(py)
        };
        // SAFETY: per the caller; the type checks come before each type's accessor.
        unsafe {
            let tp = ffi::Py_TYPE(arg);
            match self {
                FastArg::Record { class } if tp as usize == class => Some(memory(arg) as u64),
                FastArg::Ref { .. } if arg == ffi::Py_None() => Some(0),
                FastArg::Ref { target, .. } if tp as usize == target => Some(memory(arg) as u64),
                // A pointer instance's memory holds the one pointer it passes.
                FastArg::Ref { pointer, .. } if tp as usize == pointer => Some(memory(arg).cast::<u64>().read_unaligned()),
                FastArg::Ref { target, carg, .. } if tp as usize == carg => {
                    let value = Borrowed::from_ptr(py, arg).cast_unchecked::<CArgObject>().get().of_exact_type(target)?;
                    Some(u64::from_le_bytes(value.0[..8].try_into().expect("8 bytes")))
                }
                // An array of exactly T decays to a pointer to its first element.
                FastArg::Ref { target, cdata, .. } => match as_cdata(py, arg, cdata)? {
                    (TypeInfo { kind: InfoKind::Array { element, .. }, .. }, address) if element.as_ptr() as usize == target => Some(address as u64),
                    _ => None,
                },
                FastArg::Int if tp == std::ptr::addr_of_mut!(ffi::PyLong_Type) => int_bits(arg),
                FastArg::Double if tp == std::ptr::addr_of_mut!(ffi::PyFloat_Type) => Some(ffi::PyFloat_AS_DOUBLE(arg).to_bits()),
                FastArg::Float if tp == std::ptr::addr_of_mut!(ffi::PyFloat_Type) => {
                    Some((ffi::PyFloat_AS_DOUBLE(arg) as f32).to_bits() as u64)
                }
                FastArg::Bytes { .. } if tp == std::ptr::addr_of_mut!(ffi::PyBytes_Type) => Some(ffi::PyBytes_AS_STRING(arg) as u64),
                FastArg::Pointer { .. } | FastArg::Bytes { .. } | FastArg::WideChars { .. } if arg == ffi::Py_None() => Some(0),
                FastArg::Pointer { .. } if tp == std::ptr::addr_of_mut!(ffi::PyLong_Type) => int_bits(arg),
                FastArg::Pointer { carg, .. } if tp as usize == carg => {
                    Borrowed::from_ptr(py, arg).cast_unchecked::<CArgObject>().get().pointer_word()
                }
                FastArg::Pointer { cdata, .. } => {
                    let (info, address) = as_cdata(py, arg, cdata)?;
                    match &info.kind {
                        InfoKind::Array { .. } => Some(address as u64),
                        // These hold one address.
                        InfoKind::Pointer { .. } | InfoKind::Function => Some(address.cast::<u64>().read_unaligned()),
                        InfoKind::Simple { scalar: ScalarKind::VoidPtr | ScalarKind::CharPtr | ScalarKind::WCharPtr, .. } => {
                            Some(address.cast::<u64>().read_unaligned())
                        }
                        _ => None,
                    }
                }
                FastArg::Bytes { cdata } => chars_array(py, arg, cdata, ScalarKind::Char),
                FastArg::WideChars { cdata } => chars_array(py, arg, cdata, ScalarKind::WChar),
                _ => None,
            }
        }
    }
}

/// The address of `arg` when it is a ferrotypes array of `character`s (a `char *` or
/// `wchar_t *` parameter takes one, as in C).
///
/// # Safety
/// As for [`as_cdata`].
#[inline(always)]
unsafe fn chars_array(py: Python<'_>, arg: *mut ffi::PyObject, cdata: usize, character: ScalarKind) -> Option<u64> {
    // SAFETY: per the contract.
    match unsafe { as_cdata(py, arg, cdata) }? {
        (TypeInfo { kind: InfoKind::Array { element_info, .. }, .. }, address) if element_info.get().scalar().is_some_and(|(k, _)| k == character) => {
            Some(address as u64)
        }
        _ => None,
    }
}

impl Prepared {
    /// The direct (libffi-free) path, when every parameter converts in Rust and the
    /// signature has one.
    #[inline]
    fn direct(&self) -> Option<&DirectPlan> {
        if self.all_native {
            self.plan.as_ref()?.direct()
        } else {
            None
        }
    }

    /// No signature yet (void result, arguments unknown).
    fn empty() -> Prepared {
        Prepared { converters: None, plan: None, result: ResultConv::Void, result_ctype: CType::Void, check_retval: None, all_native: false, fast: None, untyped: UntypedPlans::default() }
    }

    /// Visits the objects the signature holds (for the collector).
    fn traverse(&self, visit: &PyVisit<'_>) -> Result<(), PyTraverseError> {
        for conv in self.converters.iter().flatten() {
            conv.traverse(visit)?;
        }
        match &self.result {
            ResultConv::Instance(cls) => visit.call(cls)?,
            ResultConv::Callable(f) => visit.call(f)?,
            ResultConv::Void | ResultConv::Value(_) | ResultConv::SwappedValue(_) => {}
        }
        visit.call(&self.check_retval)
    }

    fn new(py: Python<'_>, argtypes: Option<&Bound<'_, PyAny>>, restype: Option<&Bound<'_, PyAny>>) -> PyResult<Prepared> {
        let converters = match argtypes {
            Some(seq) if !seq.is_none() => {
                let mut convs = Vec::new();
                for (i, t) in seq.try_iter()?.enumerate() {
                    convs.push(ArgConv::for_argtype(&t?, i)?);
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
                        InfoKind::Simple { scalar, native_values: true, swapped: false } => ResultConv::Value(scalar),
                        InfoKind::Simple { scalar, native_values: true, swapped: true } => ResultConv::SwappedValue(scalar),
                        _ => ResultConv::Instance(cls),
                    };
                    // An array result comes back as ctypes takes it: as a pointer-sized word (C
                    // functions return no arrays; ctypes describes array types to libffi so).
                    (conv, info.param_ctype(), r.getattr_opt(intern!(py, "_check_retval_"))?.map(Bound::unbind))
                }
                Err(_) if r.is_callable() => (ResultConv::Callable(r.clone().unbind()), CType::Scalar(ScalarKind::Int), None),
                Err(_) => return Err(PyTypeError::new_err("restype must be a type, a callable, or None")),
            },
        };
        let plan = match &converters {
            // A signature libffi refuses gets no plan: calls take the general path,
            // which reports the refusal as ctypes does, when the function is called.
            Some(convs) => convs.iter().map(ArgConv::ctype).collect::<Option<Vec<_>>>().and_then(|types| CallPlan::new(&types, result_ctype.clone()).ok()),
            None => None,
        };
        let all_native = converters.as_ref().is_some_and(|c| c.iter().all(ArgConv::is_native));
        let mut prepared = Prepared { converters, plan, result, result_ctype, check_retval, all_native, fast: None, untyped: UntypedPlans::default() };
        if let Some(direct) = prepared.direct() {
            let args = prepared
                .converters
                .iter()
                .flatten()
                .zip(direct.args())
                .map(|(c, load)| FastArg::for_conv(py, c).map(|how| (how, *load)))
                .collect::<Option<Box<[(FastArg, ArgLoad)]>>>();
            let number = match (&prepared.result, &prepared.check_retval) {
                (ResultConv::Value(kind), None) => number_maker(*kind),
                _ => None,
            };
            prepared.fast = args.map(|args| FastPlan { args, direct: direct.clone(), number });
        }
        Ok(prepared)
    }
}

/// The Rust side of `CFuncPtr`.
#[pyclass(extends = CData, subclass, frozen, module = "ferrotypes._ctypes", name = "_CData")]
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
    /// The callback (ctypes' thunk), when this instance was made from a Python
    /// callable; also kept in `_objects`, so that where the function pointer is stored
    /// the callback stays alive.
    thunk: Option<Py<Thunk>>,
    /// Parameter directions, names and defaults (`proto((name, library), paramflags)`).
    paramflags: Option<ParamFlags>,
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
        let mut prepared = Prepared::new(py, argtypes.as_ref().map(|a| a.bind(py)), restype.as_ref().map(|r| r.bind(py)))?;
        if me.paramflags.is_some() {
            prepared.fast = None; // such calls arrange their arguments first
        }
        drop(me.prepared.replace(py, Rc::new(prepared)));
        me.prepared_once.replace(py, true);
        Ok(())
    }

    /// Calls the function with `args` (borrowed object pointers from the caller).
    ///
    /// Everything owned here is a `Bound` (released at once when dropped): the
    /// vectorcall entry point does not register with PyO3's attach count, so a `Py`
    /// dropped during a call would only be released at PyO3's next entry.
    fn call<'py>(slf: &Bound<'py, Self>, args: &[*mut ffi::PyObject], run_errcheck: bool) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let me = slf.get();
        if !me.prepared_once.with(py, |p| *p) {
            FuncPtr::reprepare(slf)?;
        }
        // A clone (a count increment): converters may run Python code that sets a new
        // signature while this call still uses the old one.
        let prepared = me.prepared.get(py);
        let function = FuncPtr::address(slf);
        if function == 0 {
            return Err(PyValueError::new_err("NULL function pointer access"));
        }
        if prepared.converters.is_none() && args.len() <= untyped::MAX_ARGS {
            return me.call_untyped(slf, &prepared, function, args, run_errcheck);
        }
        if let (Some(direct), Some(convs)) = (prepared.direct(), &prepared.converters) {
            if args.len() == direct.arg_count() {
                let value = me.call_direct(slf, &prepared, direct, convs, function, args)?;
                return me.finish(slf, &prepared, value, args, run_errcheck);
            }
        }
        if args.len() > crate::support::errors::CTYPES_MAX_ARGCOUNT {
            return Err(ArgumentError::new_err(format!("too many arguments ({}), maximum is {}", args.len(), crate::support::errors::CTYPES_MAX_ARGCOUNT)));
        }
        let declared = prepared.converters.as_ref().map_or(0, Vec::len);
        if args.len() < declared {
            let s = if declared == 1 { "" } else { "s" };
            return Err(PyTypeError::new_err(format!("this function takes at least {declared} argument{s} ({} given)", args.len())));
        }
        let mut held = Held::default();
        let mut result = ResultBuffer::for_type(&prepared.result_ctype)?;
        match (&prepared.converters, &prepared.plan) {
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
                    held.add(py, value);
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
                }
                .map_err(|_| PyRuntimeError::new_err("ffi_prep_cif failed"))?;
                let mut pointers: Vec<*mut c_void> = values.iter_mut().map(ArgValue::pointer_for_call).collect();
                me.invoke(&plan, function, &mut pointers, &mut result);
                values.into_iter().for_each(|v| held.add(py, v));
            }
        }
        // `held` lives until the result is converted: a returned pointer may point
        // into an argument (a wide copy of a str, say), as ctypes allows.
        me.check_python_error(py)?;
        let value = convert_result(py, &prepared, result.bytes(), me.steals_object_result(py, function))?;
        drop(held);
        me.finish(slf, &prepared, value, args, run_errcheck)
    }

    /// A call without `argtypes` (see [`crate::call::untyped`]): the arguments converted by
    /// their types, the call interface for their C types taken from the signature's
    /// remembered plans, the function called without libffi when the plan has a direct
    /// path — through a C-variadic function type, since the callee may be variadic
    /// (`printf`) and then reads from `%al` how many vector registers are used —, else
    /// through libffi.
    #[inline(always)]
    fn call_untyped<'py>(&self, slf: &Bound<'py, Self>, prepared: &Prepared, function: usize, args: &[*mut ffi::PyObject], run_errcheck: bool) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        // A block, so that the arguments are dropped where they are (not moved into
        // a `drop`) once the result is converted: a result may point into an argument
        // (a wide copy of a str, say), as ctypes allows.
        let value = {
            let mut converted = UntypedArgs::new();
            // SAFETY: CPython hands vectorcall valid borrowed references.
            unsafe { converted.convert(py, args) }.map_err(|(i, e)| argument_error(py, i, e))?;
            let plan = prepared.untyped.plan_for(&converted, &prepared.result_ctype)?;
            let mut result = ResultBuffer::for_type(&prepared.result_ctype)?;
            match plan.plan.direct() {
                Some(direct) if direct.gpr_only() => {
                    let mut g = [0u64; 6];
                    for ((load, slot), word) in direct.args().iter().zip(converted.slots()).zip(g.iter_mut()) {
                        let ArgLoad::Word(load) = load else { unreachable!("gpr_only plans pass no record") };
                        *word = load.widen(u64::from_ne_bytes(slot.0[..8].try_into().expect("8 bytes")));
                    }
                    let function = function as *const c_void;
                    // SAFETY: as for `invoke`; the plan is gpr_only and `g` holds its
                    // widened arguments.
                    let word = self.around_call(|| unsafe { direct.call_gpr_maybe_variadic(function, &g) });
                    if let ResultBuffer::Small(slot) = &mut result {
                        slot.0[..8].copy_from_slice(&word.to_ne_bytes());
                    }
                }
                Some(direct) => {
                    let mut regs = Registers::default();
                    for (load, slot) in direct.args().iter().zip(converted.slots()) {
                        // SAFETY: a record's word is the address of its bytes, which the
                        // caller or `converted` keeps alive (see UntypedArgs).
                        unsafe { load.store(&mut regs, u64::from_ne_bytes(slot.0[..8].try_into().expect("8 bytes"))) };
                    }
                    let function = function as *const c_void;
                    // SAFETY: as for `invoke`: the plan describes the arguments given
                    // and every one of them was loaded.
                    let word = self.around_call(|| unsafe { direct.call_maybe_variadic(function, &regs) });
                    if let ResultBuffer::Small(slot) = &mut result {
                        slot.0[..8].copy_from_slice(&word.to_ne_bytes());
                    }
                }
                None => {
                    let mut pointers = [null_mut::<c_void>(); untyped::MAX_ARGS];
                    for (i, pointer) in pointers[..args.len()].iter_mut().enumerate() {
                        *pointer = converted.pointer_for_call(i);
                    }
                    self.invoke(&plan.plan, function, &mut pointers[..args.len()], &mut result);
                }
            }
            self.check_python_error(py)?;
            convert_result(py, prepared, result.bytes(), self.steals_object_result(py, function))?
        };
        self.finish(slf, prepared, value, args, run_errcheck)
    }

    /// The quickest path, tried first by [`vectorcall`]: a direct-path signature whose
    /// arguments are all of the exact types its [`FastArg`]s take, no keyword
    /// arguments, no `paramflags` (their functions have no [`FastPlan`]; nor has one
    /// not yet prepared). Returns None, having done nothing, when it does not apply;
    /// otherwise the result, or NULL with the exception set.
    ///
    /// # Safety
    /// `args` are valid borrowed references from CPython.
    #[inline(always)]
    unsafe fn call_fast(slf: &Bound<'_, Self>, args: &[*mut ffi::PyObject]) -> Option<*mut ffi::PyObject> {
        let py = slf.py();
        let me = slf.get();
        // A clone: Python code run by the C function (PyDLL), or by another thread
        // while the GIL is released, may set a new signature.
        let prepared = me.prepared.get(py);
        let Some(fast) = prepared.fast.as_ref() else {
            return FuncPtr::call_untyped_fast(slf, &prepared, args);
        };
        let direct = &fast.direct;
        if args.len() != fast.args.len() {
            return None;
        }
        let function = FuncPtr::address(slf);
        if function == 0 {
            return None; // the general path raises
        }
        let function = function as *const c_void;
        // The result word (scalar results only: a direct plan returns no record).
        let word = if direct.gpr_only() {
            // At most six integer-register arguments: no register file to clear.
            let mut g = [0u64; 6];
            for ((&(how, load), &arg), word) in fast.args.iter().zip(args).zip(g.iter_mut()) {
                let ArgLoad::Word(load) = load else { return None }; // (gpr_only: none is a record)
                // SAFETY: per this function's contract; the converters hold the classes.
                *word = load.widen(unsafe { how.word(py, arg) }?);
            }
            me.around_call(
                #[inline(always)]
                // SAFETY: as for `invoke`; the plan is gpr_only and `g` holds its
                // widened arguments.
                || unsafe { direct.call_gpr(function, &g) },
            )
        } else if direct.few_words() {
            // Integer registers and at most two vector registers: a smaller register
            // file to clear and load.
            let mut regs = Registers::<FEW_WORDS>::default();
            // SAFETY: per this function's contract.
            unsafe { fast.load(py, args, &mut regs) }?;
            me.around_call(
                #[inline(always)]
                // SAFETY: as for `invoke`; the plan is few_words and every argument
                // was loaded.
                || unsafe { direct.call_few(function, &regs) },
            )
        } else {
            let mut regs = Registers::default();
            // SAFETY: per this function's contract.
            unsafe { fast.load(py, args, &mut regs) }?;
            u64::from_le_bytes(me.invoke_direct(direct, function as usize, &regs).0[..8].try_into().expect("8 bytes"))
        };
        let python_api = me.flags & FUNCFLAG_PYTHONAPI != 0;
        // SAFETY: the GIL is held; PyErr_Occurred only reads the thread state.
        if python_api && !unsafe { ffi::PyErr_Occurred() }.is_null() {
            return Some(null_mut()); // the C function's exception stays set
        }
        let no_errcheck = me.errcheck.with(py, Option::is_none);
        if let (Some(make), true) = (fast.number, no_errcheck) {
            // SAFETY: the GIL is held. NULL only with an exception set.
            return Some(unsafe { make(word) });
        }
        Some(FuncPtr::fast_result(slf, &prepared, word, args, no_errcheck))
    }

    /// [`call_untyped`](Self::call_untyped) from the quickest path, for a function
    /// without `argtypes` whose signature is prepared, with at most
    /// [`untyped::MAX_ARGS`] arguments and an address (None, having done nothing,
    /// otherwise): the result, or NULL with the exception set. Out of line: the
    /// quickest path stays small.
    #[inline(never)]
    fn call_untyped_fast(slf: &Bound<'_, Self>, prepared: &Prepared, args: &[*mut ffi::PyObject]) -> Option<*mut ffi::PyObject> {
        let py = slf.py();
        let me = slf.get();
        if prepared.converters.is_some() || args.len() > untyped::MAX_ARGS || !me.prepared_once.with(py, |p| *p) {
            return None;
        }
        let function = FuncPtr::address(slf);
        if function == 0 {
            return None; // the general path raises
        }
        match me.call_untyped(slf, prepared, function, args, true) {
            Ok(value) => Some(value.into_ptr()),
            Err(e) => {
                e.restore(py);
                Some(null_mut())
            }
        }
    }

    /// The quickest path's result when it is not a number made straight from the
    /// result word: converted by the restype, then `_check_retval_` and `errcheck`;
    /// NULL with an exception set on failure. Out of line: the quickest path stays small.
    #[inline(never)]
    fn fast_result(slf: &Bound<'_, Self>, prepared: &Prepared, word: u64, args: &[*mut ffi::PyObject], no_errcheck: bool) -> *mut ffi::PyObject {
        let py = slf.py();
        let me = slf.get();
        let mut slot = Slot::ZERO;
        slot.0[..8].copy_from_slice(&word.to_le_bytes());
        let converted = convert_result(py, prepared, &slot.0, me.steals_object_result(py, FuncPtr::address(slf))).and_then(|value| {
            if prepared.check_retval.is_none() && no_errcheck {
                Ok(value)
            } else {
                me.finish(slf, prepared, value, args, true)
            }
        });
        match converted {
            Ok(v) => v.into_ptr(),
            Err(e) => {
                e.restore(py);
                null_mut()
            }
        }
    }

    /// The direct path: every parameter native (a built-in simple type, a pointer
    /// or ndpointer), converted straight into its register or stack word, and the
    /// function called without libffi. Returns the converted result (before
    /// `_check_retval_` and `errcheck`).
    #[inline]
    fn call_direct<'py>(
        &self,
        slf: &Bound<'py, Self>,
        prepared: &Prepared,
        direct: &DirectPlan,
        convs: &[ArgConv],
        function: usize,
        args: &[*mut ffi::PyObject],
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let mut regs = Registers::default();
        let mut held = Held::default();
        for (i, ((conv, &arg), &load)) in convs.iter().zip(args).zip(direct.args()).enumerate() {
            // SAFETY: CPython hands vectorcall valid borrowed references.
            let arg = unsafe { Borrowed::from_ptr(py, arg) };
            let word = match (conv, load) {
                // A record: the address of bytes of at least its size, kept alive by
                // the caller or `held`.
                (_, ArgLoad::Record(_)) => conv.record_address(&arg, i + 1, &mut held).map_err(|e| argument_error(py, i, e))? as u64,
                // The exact int/float/bytes/None of a simple parameter first, as
                // call_fast reads them (another argument sent the call here).
                // SAFETY: arg is a valid borrowed reference and the GIL is held.
                (ArgConv::Simple { kind, .. }, _) if let Some(word) = FastArg::for_kind(py, *kind).and_then(|how| unsafe { how.word(py, arg.as_ptr()) }) => word,
                _ => {
                    let mut slot = Slot::ZERO;
                    conv.convert_into(&arg, i + 1, &mut slot, &mut held).map_err(|e| argument_error(py, i, e))?;
                    u64::from_le_bytes(slot.0[..8].try_into().expect("8 bytes"))
                }
            };
            // SAFETY: a record's word is the address record_address gave (see above).
            unsafe { load.store(&mut regs, word) };
        }
        let slot = self.invoke_direct(direct, function, &regs);
        self.check_python_error(py)?;
        let value = convert_result(py, prepared, &slot.0, self.steals_object_result(py, function))?;
        drop(held);
        Ok(value)
    }

    /// A Python C API function (`PyDLL`) reports failure by setting an exception.
    #[inline]
    fn check_python_error(&self, py: Python<'_>) -> PyResult<()> {
        // SAFETY: the GIL is held; PyErr_Occurred only reads the thread state.
        if self.flags & FUNCFLAG_PYTHONAPI != 0 && !unsafe { ffi::PyErr_Occurred() }.is_null() {
            return Err(PyErr::fetch(py));
        }
        Ok(())
    }

    /// The restype's `_check_retval_`, and the function's `errcheck` if asked.
    #[inline]
    fn finish<'py>(&self, slf: &Bound<'py, Self>, prepared: &Prepared, mut value: Bound<'py, PyAny>, args: &[*mut ffi::PyObject], run_errcheck: bool) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        if let Some(check) = &prepared.check_retval {
            value = check.bind(py).call1((value,))?;
        }
        if !run_errcheck || self.errcheck.with(py, Option::is_none) {
            return Ok(value);
        }
        Ok(self.errcheck(slf, &value, args)?.unwrap_or(value))
    }

    /// Calls `errcheck(result, func, args)` if set; None when it is not set or
    /// returned `args` itself, which means "keep the normal result" (ctypes).
    fn errcheck<'py>(&self, slf: &Bound<'py, Self>, value: &Bound<'py, PyAny>, args: &[*mut ffi::PyObject]) -> PyResult<Option<Bound<'py, PyAny>>> {
        let py = slf.py();
        let Some(errcheck) = self.errcheck.get_obj(py) else { return Ok(None) };
        let arg_tuple = PyTuple::new(py, args.iter().map(|&p| {
            // SAFETY: the callers pass valid references they hold for the call.
            unsafe { Borrowed::from_ptr(py, p) }.to_owned()
        }))?;
        let checked = errcheck.bind(py).call1((value, slf, &arg_tuple))?;
        Ok((!checked.is(&arg_tuple)).then_some(checked))
    }

    /// A call through vectorcall of a function with `paramflags`: `names` are the
    /// keyword arguments' names (a tuple), `values` their values.
    fn call_keywords<'py>(slf: &Bound<'py, Self>, flags: &ParamFlags, args: &[*mut ffi::PyObject], names: Option<Borrowed<'_, 'py, PyAny>>, values: &[*mut ffi::PyObject]) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        // SAFETY: CPython hands vectorcall valid borrowed references.
        let positional: Vec<Bound<'py, PyAny>> = args.iter().map(|&p| unsafe { Borrowed::from_ptr(py, p) }.to_owned()).collect();
        let kwargs = match names {
            Some(names) => {
                let dict = PyDict::new(py);
                for (name, &value) in names.try_iter()?.zip(values) {
                    // SAFETY: as above.
                    dict.set_item(name?, unsafe { Borrowed::from_ptr(py, value) })?;
                }
                Some(dict)
            }
            None => None,
        };
        FuncPtr::call_with_paramflags(slf, flags, &positional, kwargs.as_ref())
    }

    /// A call of a function with `paramflags` (ctypes' `PyCFuncPtr_call` with
    /// `_build_callargs` and `_build_result`): the full argument list is arranged from
    /// the positional and keyword arguments, the function is called with it, `errcheck`
    /// sees that list, and the output parameters are returned.
    fn call_with_paramflags<'py>(slf: &Bound<'py, Self>, flags: &ParamFlags, args: &[Bound<'py, PyAny>], kwargs: Option<&Bound<'py, PyDict>>) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let me = slf.get();
        if !me.prepared_once.with(py, |p| *p) {
            FuncPtr::reprepare(slf)?;
        }
        let declared = me.prepared.with(py, |p| p.converters.as_ref().map(Vec::len)).unwrap_or(0);
        if declared == 0 {
            // As in ctypes: without argument types the flags do not apply.
            if kwargs.is_some_and(|k| !k.is_empty()) {
                return Err(no_keywords());
            }
            let pointers: Vec<*mut ffi::PyObject> = args.iter().map(|a| a.as_ptr()).collect();
            return FuncPtr::call(slf, &pointers, true);
        }
        if declared != flags.len() {
            return Err(PyValueError::new_err("paramflags must have the same length as argtypes"));
        }
        let argtypes = || match FuncPtr::effective(slf, &me.argtypes, intern!(py, "_argtypes_"))? {
            Some(types) => types.into_bound(py).try_iter()?.collect(),
            None => Ok(Vec::new()),
        };
        let callargs = flags.arrange(py, args, kwargs, argtypes)?;
        let pointers: Vec<*mut ffi::PyObject> = callargs.values.iter().map(|a| a.as_ptr()).collect();
        let result = FuncPtr::call(slf, &pointers, false)?;
        if let Some(checked) = me.errcheck(slf, &result, &pointers)? {
            return Ok(checked);
        }
        callargs.result(result)
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
    #[inline(always)]
    fn invoke_direct(&self, direct: &DirectPlan, function: usize, regs: &Registers) -> Slot {
        self.around_call(
            #[inline(always)]
            // SAFETY: as for `invoke`; every argument word was loaded by the caller.
            || unsafe { direct.call(function as *const c_void, regs) },
        )
    }

    /// Runs `call` with the GIL released (unless this is a Python API function) and
    /// with `errno` swapped when the function asked for it. `call` must not touch
    /// Python objects.
    #[inline(always)]
    fn around_call<R>(&self, call: impl FnOnce() -> R) -> R {
        let release = self.flags & FUNCFLAG_PYTHONAPI == 0;
        let swap_errno = self.flags & FUNCFLAG_USE_ERRNO != 0;
        // SAFETY: the GIL is held here and is re-acquired below before any Python
        // object is touched; `call` touches none.
        let saved = if release { unsafe { ffi::PyEval_SaveThread() } } else { null_mut() };
        let errno = swap_errno.then(ErrnoSwap::enter);
        let result = call();
        drop(errno);
        if release {
            // SAFETY: `saved` came from PyEval_SaveThread on this thread.
            unsafe { ffi::PyEval_RestoreThread(saved) };
        }
        result
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
    /// `MemoryError` when the result type (the user's) is larger than memory allows.
    fn for_type(t: &CType) -> PyResult<ResultBuffer> {
        let size = t.size();
        if size <= 16 {
            return Ok(ResultBuffer::Small(Slot::ZERO));
        }
        let mut slots = Vec::new();
        slots.try_reserve_exact(size.div_ceil(16)).map_err(|_| pyo3::exceptions::PyMemoryError::new_err(format!("cannot allocate a result of {size} bytes")))?;
        slots.resize(size.div_ceil(16), Slot::ZERO);
        Ok(ResultBuffer::Large(slots))
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

/// The Python value of a call's result, from the bytes the call left (at least 16).
#[inline]
fn convert_result<'py>(py: Python<'py>, prepared: &Prepared, bytes: &[u8], steal_object: bool) -> PyResult<Bound<'py, PyAny>> {
    match &prepared.result {
        ResultConv::Void => Ok(py.None().into_bound(py)),
        ResultConv::Value(kind) => {
            let word = u64::from_ne_bytes(bytes[..8].try_into().expect("8 bytes"));
            if let Some(value) = number_from_word(py, *kind, word) {
                return value;
            }
            let mut raw = [0u8; 16];
            raw.copy_from_slice(&bytes[..16]);
            let value = scalar::from_bytes(py, *kind, &raw)?.into_bound(py);
            if *kind == ScalarKind::ObjectPtr && steal_object {
                // A Python C API function (or a callback of ours) returning PyObject* returns a new reference:
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
            unsafe { scalar::read(py, *kind, true, bytes.as_ptr()) }.map(|v| v.into_bound(py))
        }
        ResultConv::Instance(cls) => {
            // As ctypes makes it: neither `__new__` nor `__init__` runs.
            let cls = cls.bind(py);
            let obj = crate::data::instances::instance(cls, crate::data::instances::Contents::Owned(CData::class_info(cls)?))?;
            let cdata = obj.cast::<CData>()?.get();
            let n = cdata.size(py).min(prepared.result_ctype.size());
            // SAFETY: the new instance owns at least `n` bytes; the buffer has them too.
            unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), cdata.address(py), n) };
            Ok(obj)
        }
        ResultConv::Callable(f) => {
            let v = i32::from_ne_bytes(bytes[..4].try_into().expect("4 bytes"));
            f.bind(py).call1((v,))
        }
    }
}

/// The common numeric results straight from the result word (libffi and the direct
/// path both leave integers widened to a word, floating results at its start), with
/// the same values `scalar::from_bytes` gives; None for the other kinds.
#[inline(always)]
fn number_from_word(py: Python<'_>, kind: ScalarKind, word: u64) -> Option<PyResult<Bound<'_, PyAny>>> {
    // SAFETY: the GIL is held (the token says so); number_ptr returns a new reference
    // or NULL with an exception set, which from_owned_ptr_or_err turns into an error.
    unsafe { number_ptr(kind, word).map(|ptr| Bound::from_owned_ptr_or_err(py, ptr)) }
}

/// [`number_from_word`] as a new reference, or NULL with an exception set.
///
/// # Safety
/// The GIL is held.
#[inline(always)]
unsafe fn number_ptr(kind: ScalarKind, word: u64) -> Option<*mut ffi::PyObject> {
    // SAFETY: per this function's contract.
    number_maker(kind).map(|make| unsafe { make(word) })
}

/// Makes a Python number from a result word; a new reference, or NULL with an
/// exception set. Must be called with the GIL held.
type NumberMaker = unsafe fn(u64) -> *mut ffi::PyObject;

/// The [`NumberMaker`] of the common numeric results (libffi and the direct path
/// both leave integers widened to a word, floating results at its start), with the
/// values `scalar::from_bytes` gives; None for the other kinds.
fn number_maker(kind: ScalarKind) -> Option<NumberMaker> {
    use std::ffi::{c_long, c_ulong};
    use ScalarKind::*;
    // SAFETY (each constructor): the GIL is held (NumberMaker's contract); they take
    // plain numbers.
    let make: NumberMaker = match kind {
        Int => |w| unsafe { ffi::PyLong_FromLong(w as u32 as i32 as c_long) },
        UInt => |w| unsafe { ffi::PyLong_FromUnsignedLong(w as u32 as c_ulong) },
        Long | LongLong => |w| unsafe { ffi::PyLong_FromLongLong(w as i64) },
        ULong | ULongLong => |w| unsafe { ffi::PyLong_FromUnsignedLongLong(w) },
        Short => |w| unsafe { ffi::PyLong_FromLong(w as u16 as i16 as c_long) },
        UShort => |w| unsafe { ffi::PyLong_FromLong(w as u16 as c_long) },
        Byte => |w| unsafe { ffi::PyLong_FromLong(w as u8 as i8 as c_long) },
        UByte => |w| unsafe { ffi::PyLong_FromLong(w as u8 as c_long) },
        Double => |w| unsafe { ffi::PyFloat_FromDouble(f64::from_bits(w)) },
        Float => |w| unsafe { ffi::PyFloat_FromDouble(f32::from_bits(w as u32) as f64) },
        _ => return None,
    };
    Some(make)
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
    // SAFETY: CPython calls vectorcall functions with the GIL held, on this thread.
    // The token is not registered with PyO3's attach count (`Python::attach` would do
    // that through PyGILState_Ensure/Release, a third of a short call's cost), so a
    // `Py` dropped in here is queued in PyO3's reference pool and released at PyO3's
    // next entry rather than at once; `FuncPtr::call` therefore holds its objects as
    // `Bound`s, which release at once.
    let py = unsafe { Python::assume_attached() };
    {
        // Ok(NULL) means "an exception is already set".
        let outcome = catch_unwind(AssertUnwindSafe(|| -> PyResult<*mut ffi::PyObject> {
            // SAFETY: callable is an instance of a FuncPtr subclass: the vectorcall
            // offset is only installed on such classes.
            let slf = unsafe { Borrowed::from_ptr(py, callable).cast_unchecked::<FuncPtr>() };
            // SAFETY: nargsf came from CPython.
            let n = unsafe { ffi::PyVectorcall_NARGS(nargsf) } as usize;
            // SAFETY: CPython guarantees `n` argument pointers (args may be NULL if n == 0).
            let argv = if n == 0 { &[][..] } else { unsafe { std::slice::from_raw_parts(args, n) } };
            if kwnames.is_null() {
                // SAFETY: argv holds CPython's borrowed references.
                if let Some(result) = unsafe { FuncPtr::call_fast(&slf, argv) } {
                    return Ok(result);
                }
            }
            // SAFETY: as CPython gives them.
            unsafe { vectorcall_general(&slf, args, argv, kwnames) }
        }));
        match outcome {
            Ok(Ok(obj)) => obj,
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
    }
}

/// [`vectorcall`] past the quickest path (out of line, so that the quickest path's
/// code stays small): keyword arguments, `paramflags`, and every other call.
///
/// # Safety
/// `args`, `argv` (its positional part) and `kwnames` are as CPython passed them.
#[inline(never)]
unsafe fn vectorcall_general<'py>(slf: &Bound<'py, FuncPtr>, args: *const *mut ffi::PyObject, argv: &[*mut ffi::PyObject], kwnames: *mut ffi::PyObject) -> PyResult<*mut ffi::PyObject> {
    let py = slf.py();
    // SAFETY: kwnames is NULL or a tuple.
    let keywords = if kwnames.is_null() { 0 } else { unsafe { ffi::PyTuple_GET_SIZE(kwnames) }.max(0) as usize };
    if let Some(flags) = &slf.get().paramflags {
        // SAFETY: CPython passes the keyword values after the positional ones (args
        // may be NULL when there are none of either).
        let values = if keywords == 0 { &[][..] } else { unsafe { std::slice::from_raw_parts(args.add(argv.len()), keywords) } };
        // SAFETY: kwnames is a tuple of `keywords` names when non-NULL.
        let names = (keywords > 0).then(|| unsafe { Borrowed::from_ptr(py, kwnames) });
        return FuncPtr::call_keywords(slf, flags, argv, names, values).map(Bound::into_ptr);
    }
    if keywords > 0 {
        return Err(no_keywords());
    }
    FuncPtr::call(slf, argv, true).map(Bound::into_ptr)
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
    // have the FuncPtr layout and the field at `offset`.
    unsafe { crate::data::slots::enable_vectorcall(tp, offset) };
    Ok(())
}

/// Finds where the `vectorcall` field sits in a FuncPtr object and enables vectorcall
/// on the base class. Called once at module initialisation.
pub fn init_vectorcall(py: Python<'_>) -> PyResult<()> {
    let info = Py::new(py, crate::types::typeinfo::function_info())?;
    let probe = Bound::new(py, PyClassInitializer::from(CData::owned(info)?).add_subclass(FuncPtr::with_address(0)))?;
    let field = &probe.get().vectorcall as *const ffi::vectorcallfunc as isize;
    VECTORCALL_OFFSET.store(field - probe.as_ptr() as isize, Ordering::Relaxed);
    _enable_vectorcall(&py.get_type::<FuncPtr>())
}

impl FuncPtr {
    fn with_address(flags: i32) -> FuncPtr {
        FuncPtr::with_callback(flags, None)
    }

    /// Whether a `py_object` result of the function at `function` is a new reference
    /// to take over: the Python C API returns new references, and so do our own
    /// callbacks (however their address was obtained).
    fn steals_object_result(&self, py: Python<'_>, function: usize) -> bool {
        self.flags & FUNCFLAG_PYTHONAPI != 0 || crate::callback::thunk::returns_new_reference(py, function)
    }

    /// The class's calling convention (`_flags_`).
    pub fn flags_of(cls: &Bound<'_, PyType>) -> PyResult<i32> {
        Ok(cls.getattr_opt(intern!(cls.py(), "_flags_"))?.map(|f| f.extract::<i32>()).transpose()?.unwrap_or(FUNCFLAG_CDECL))
    }

    /// The part of a function pointer instance, made from a callback (`thunk`) or not.
    pub fn with_callback(flags: i32, thunk: Option<Py<Thunk>>) -> FuncPtr {
        FuncPtr {
            thunk,
            paramflags: None,
            vectorcall,
            flags,
            argtypes: GilCell::new(None),
            restype: GilCell::new(None),
            errcheck: GilCell::new(None),
            prepared_once: GilCell::new(false),
            prepared: GilCell::new(Rc::new(Prepared::empty())),
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
        let base = CData::for_class(cls)?;
        let flags = FuncPtr::flags_of(cls)?;
        let mut thunk = None;
        let mut paramflags = None;
        let first = args.get_item(0).ok();
        let address = match (args.len(), first) {
            (0, _) => 0,
            // `proto((name, library)[, paramflags])`
            (n, Some(spec)) if spec.is_instance_of::<PyTuple>() => {
                if n > 2 {
                    return Err(PyTypeError::new_err(format!("function takes at most 2 arguments ({n} given)")));
                }
                let address = function_address(&spec)?;
                if let Ok(flags) = args.get_item(1) {
                    paramflags = ParamFlags::parse(&flags, cls.getattr_opt(intern!(py, "_argtypes_"))?.as_ref())?;
                }
                address
            }
            (1, Some(first)) => {
                if is_callback_source(&first) {
                    let argtypes = cls.getattr_opt(intern!(py, "_argtypes_"))?;
                    let restype = cls.getattr_opt(intern!(py, "_restype_"))?;
                    let cb = Callback::new(&first, argtypes.as_ref(), restype.as_ref(), flags)?;
                    let code = cb.code();
                    let owner = Py::new(py, Thunk::new(cb))?;
                    // The instance keeps its thunk (and so the callable) in
                    // `_objects`, as in ctypes.
                    crate::data::keepalive::keep_ref_new(&base, py, 0, owner.clone_ref(py).into_any())?;
                    thunk = Some(owner);
                    code
                } else {
                    function_address(&first)?
                }
            }
            (n, _) => return Err(PyTypeError::new_err(format!("function takes exactly 1 argument ({n} given)"))),
        };
        // SAFETY: an owned function pointer instance has room for one pointer.
        unsafe { base.address(py).cast::<usize>().write_unaligned(address) };
        let mut data = FuncPtr::with_callback(flags, thunk);
        data.paramflags = paramflags;
        Ok(PyClassInitializer::from(base).add_subclass(data))
    }

    #[pyo3(signature = (*_args, **_kwargs))]
    fn __init__(slf: &Bound<'_, Self>, _args: &Bound<'_, PyTuple>, _kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<()> {
        FuncPtr::reprepare(slf)
    }

    #[pyo3(signature = (*args, **kwargs))]
    fn __call__(slf: &Bound<'_, Self>, args: &Bound<'_, PyTuple>, kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<Py<PyAny>> {
        if let Some(flags) = &slf.get().paramflags {
            let positional: Vec<Bound<'_, PyAny>> = args.iter().collect();
            return FuncPtr::call_with_paramflags(slf, flags, &positional, kwargs).map(Bound::unbind);
        }
        if kwargs.is_some_and(|k| !k.is_empty()) {
            return Err(no_keywords());
        }
        let pointers: Vec<*mut ffi::PyObject> = args.iter().map(|a| a.as_ptr()).collect();
        FuncPtr::call(slf, &pointers, true).map(Bound::unbind)
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
        self.prepared.with(py, |p| p.untyped.clear());
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
        self.prepared.with(py, |p| p.untyped.clear());
        Ok(())
    }

    fn __bool__(slf: &Bound<'_, Self>) -> bool {
        FuncPtr::address(slf) != 0
    }

    /// What the collector must see: the signature's objects (an `errcheck` or
    /// `restype` callable may refer back to this function) and the thunk; the C data
    /// part (`_objects`, `_b_base_`) is visited by `_CData`'s own traverse.
    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        // SAFETY (each with_in_traverse): called by the collector through
        // tp_traverse; the closures only visit.
        unsafe {
            self.argtypes.with_in_traverse(|v| visit.call(v))?;
            self.restype.with_in_traverse(|v| visit.call(v))?;
            self.errcheck.with_in_traverse(|v| visit.call(v))?;
            self.prepared.with_in_traverse(|p| p.traverse(&visit))?;
        }
        if let Some(flags) = &self.paramflags {
            flags.traverse(&visit)?;
        }
        visit.call(&self.thunk)
    }

    /// Breaks cycles through the signature; a later call prepares the class's again.
    fn __clear__(&self, py: Python<'_>) {
        let old = (self.argtypes.replace(py, None), self.restype.replace(py, None), self.errcheck.replace(py, None));
        let prepared = self.prepared.replace(py, Rc::new(Prepared::empty()));
        self.prepared_once.replace(py, false);
        drop((old, prepared));
    }

    /// How calls with exactly the declared arguments are made: `"direct"` (no libffi),
    /// `"libffi"`, or `"per-call"` (the C types are only known from the arguments).
    #[getter]
    fn _call_path(&self, py: Python<'_>) -> &'static str {
        let prepared = self.prepared.get(py);
        match &prepared.plan {
            Some(plan) if prepared.all_native && plan.direct().is_some() => "direct",
            Some(_) => "libffi",
            None => "per-call",
        }
    }

    /// How many call interfaces calls without `argtypes` have remembered (at most 4).
    #[getter]
    fn _untyped_plans(&self, py: Python<'_>) -> usize {
        self.prepared.with(py, |p| p.untyped.len())
    }

    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        Ok(format!("<{} object at {:#x}>", slf.get_type().name()?, slf.as_ptr() as usize))
    }
}

fn no_keywords() -> PyErr {
    PyTypeError::new_err("foreign functions take no keyword arguments (only a function made with paramflags does)")
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
        // As ctypes reads it (PyLong_AsVoidPtr): OverflowError outside -2**63..2**64.
        // SAFETY: a live int; NULL with an exception set on error (NULL itself is 0).
        let address = unsafe { pyo3::ffi::PyLong_AsVoidPtr(arg.as_ptr()) };
        if address.is_null() {
            if let Some(err) = PyErr::take(py) {
                return Err(err);
            }
        }
        return Ok(address as usize);
    }
    let Ok(pair) = arg.cast::<PyTuple>() else {
        return Err(PyTypeError::new_err(format!("argument must be callable or integer function address, not {}", scalar::type_name(arg))));
    };
    if pair.len() != 2 {
        return Err(PyTypeError::new_err("illegal func_spec argument"));
    }
    let (name, dll) = (pair.get_item(0)?, pair.get_item(1)?);
    let name: String = if name.is_instance_of::<PyInt>() {
        return Err(PyTypeError::new_err("function ordinals are only supported on Windows"));
    } else if let Ok(bytes) = name.cast::<pyo3::types::PyBytes>() {
        String::from_utf8(bytes.as_bytes().to_vec()).map_err(|_| PyValueError::new_err("function name is not valid UTF-8"))?
    } else if let Ok(text) = name.cast::<pyo3::types::PyString>() {
        text.to_str()?.to_owned() // UnicodeEncodeError for a lone surrogate, as in ctypes
    } else {
        return Err(PyTypeError::new_err("function name must be string, bytes object or integer"));
    };
    let handle = dll.getattr(intern!(py, "_handle"))?;
    if !handle.is_instance_of::<PyInt>() {
        return Err(PyTypeError::new_err("the _handle attribute of the second argument must be an integer"));
    }
    let handle: usize = handle.extract().map_err(|_| PyValueError::new_err("could not convert the _handle attribute to a pointer"))?;
    // SAFETY: the library object's handle, from dlopen (or given by the user, who
    // vouches for it as with ctypes' `CDLL(handle=...)`).
    unsafe { library::symbol(handle as *mut c_void, &name) }.map(|p| p as usize).map_err(|e| crate::support::library::load_error::<PyAttributeError>(e, "character"))
}
