//! `_FuncPtrData`: foreign function objects (`CDLL` attributes, prototypes' instances).
//!
//! The signature (`argtypes`, `restype`) is prepared into a [`Recipe`] whenever it
//! changes (see [`crate::call::recipe`]). Calls arrive through the vectorcall protocol
//! ([`vectorcall`]) and follow it by one of its three paths (the quickest, the register
//! path, libffi), with the GIL released around the C call (unless the function belongs
//! to a `PyDLL`) and the result converted by the recipe. Instances made from Python callables own a
//! [`Callback`](crate::callback::thunk::Callback): their address is its trampoline.

use std::ffi::c_void;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr::null_mut;
use std::rc::Rc;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::sync::OnceLock;

use ferrotypes_core::call::{ArgLoad, LibffiPlan, DirectPlan, Registers, Slot, FEW_WORDS};
use ferrotypes_core::ctype::CType;
use ferrotypes_core::library;
use pyo3::exceptions::{PyAttributeError, PyRuntimeError, PyTypeError, PyValueError};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyInt, PyString, PyTuple, PyType};
use pyo3::pyclass::{PyTraverseError, PyVisit};
use pyo3::{intern, PyClassInitializer};

use crate::call::argconv::{convert_unknown, promote_variadic};
use crate::call::paramflags::ParamFlags;
use crate::call::recipe::{ArgRecipe, Recipe};
use crate::call::result::ResultBuffer;
use crate::call::untyped::{self, UntypedArgs};
use crate::call::value::{ArgValue, Held};
use crate::callback::propagation::{self, Kept};
use crate::callback::thunk::{Callback, OnError, Thunk};
use crate::data::cdata::CData;
use crate::function::class_recipe::{ClassRecipe, ClassSignature};
use crate::support::errno::ErrnoSwap;
use crate::support::errors::ArgumentError;
use crate::support::gil_cell::GilCell;
use crate::support::python::optional_class_attribute;
use crate::support::scalar;
use crate::types::typeinfo::{info_of_class, TypeInfo};

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
/// ferrotypes' own: the prototype's callbacks return its `_error_result_` when they
/// fail (`CFUNCTYPE(..., error_result=...)`).
pub const FUNCFLAG_ERROR_RESULT: i32 = 0x1000;
/// ferrotypes' own: the prototype's callbacks keep their exception for the foreign
/// call in progress on their thread (`CFUNCTYPE(..., propagate=True)`).
pub const FUNCFLAG_PROPAGATE: i32 = 0x2000;
/// ferrotypes' own: callbacks of the prototype keep what their pointer results point into (`keep_results=True`).
pub const FUNCFLAG_KEEP_RESULTS: i32 = 0x4000;

/// Calls with at most this many arguments convert into stack slots.
const STACK_ARGS: usize = 16;

/// Byte offset of `FuncPtr::vectorcall` inside the Python object, found at start-up.
static VECTORCALL_OFFSET: AtomicIsize = AtomicIsize::new(0);

/// `argtypes` as ctypes takes them: the tuple `tuple()` makes of them (any failure is
/// ctypes' TypeError), of at most `CTYPES_MAX_ARGCOUNT` types.
fn argtypes_tuple<'py>(given: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyTuple>> {
    let py = given.py();
    // SAFETY: a live object; a new reference or NULL with an exception set.
    let made = unsafe { ffi::PySequence_Tuple(given.as_ptr()) };
    if made.is_null() {
        drop(PyErr::take(py));
        return Err(PyTypeError::new_err("_argtypes_ must be a sequence of types"));
    }
    // SAFETY: a new reference to a tuple, owned from here.
    let types = unsafe { Bound::from_owned_ptr(py, made).cast_into_unchecked::<PyTuple>() };
    let max = crate::support::errors::CTYPES_MAX_ARGCOUNT;
    if types.len() > max {
        return Err(ArgumentError::new_err(format!("_argtypes_ has too many arguments ({}), maximum is {max}", types.len())));
    }
    Ok(types)
}

/// A prototype class's `_argtypes_` as calls read it: the attribute, except that a
/// one-shot iterator given in the class body (which the class keeps, as ctypes keeps
/// it) stands for the tuple it gave, which the metaclass filed with it as
/// `_ft_argtypes_` (`(iterator, tuple)`).
fn class_argtypes<'py>(cls: &Bound<'py, PyType>) -> PyResult<Option<Bound<'py, PyAny>>> {
    let py = cls.py();
    let Some(given) = optional_class_attribute(cls, intern!(py, "_argtypes_"))? else { return Ok(None) };
    if given.is_instance_of::<PyTuple>() || given.is_instance_of::<pyo3::types::PyList>() {
        return Ok(Some(given));
    }
    let made = optional_class_attribute(cls, intern!(py, "_ft_argtypes_"))?.and_then(|kept| kept.extract::<(Bound<'py, PyAny>, Bound<'py, PyAny>)>().ok());
    Ok(Some(match made {
        Some((from, types)) if from.is(&given) => types,
        _ => given,
    }))
}

/// The Rust side of `CFuncPtr`.
#[pyclass(extends = CData, subclass, frozen, module = "ferrotypes._ctypes", name = "_CData")]
pub struct FuncPtr {
    /// Read by CPython through `tp_vectorcall_offset`: the [`vectorcall`] variant for
    /// `flags`.
    vectorcall: ffi::vectorcallfunc,
    flags: i32,
    /// The instance's own parameter types, as the tuple they were given as or made
    /// into when set (what calls are prepared from, as ctypes converts them once).
    argtypes: GilCell<Option<Py<PyAny>>>,
    /// What `f.argtypes` reads back when it is not `argtypes` itself: the object the
    /// program set (a list, a generator), as in ctypes.
    argtypes_given: GilCell<Option<Py<PyAny>>>,
    restype: GilCell<Option<Py<PyAny>>>,
    errcheck: GilCell<Option<Py<PyAny>>>,
    recipe: GilCell<Rc<Recipe>>,
    /// Whether `recipe` reflects the signature (false until the first is made).
    recipe_made: GilCell<bool>,
    /// When `recipe` is the class's shared one: the object holding it, which the
    /// collector visits instead of the recipe's own objects.
    shared: GilCell<Option<Py<ClassRecipe>>>,
    /// The callback (ctypes' thunk), when this instance was made from a Python
    /// callable; also kept in `_objects`, so that where the function pointer is stored
    /// the callback stays alive.
    thunk: Option<Py<Thunk>>,
    /// Parameter directions, names and defaults (`proto((name, library), paramflags)`).
    paramflags: Option<ParamFlags>,
}

impl FuncPtr {
    fn address(slf: &Bound<'_, Self>) -> PyResult<usize> {
        let base = slf.as_super().get();
        // SAFETY: a function pointer instance's memory holds one pointer.
        Ok(unsafe { base.live_address(slf.py())?.cast::<usize>().read_unaligned() })
    }

    /// The parameter types calls are prepared from: the instance's own, else its
    /// class's (see [`class_argtypes`]).
    fn effective_argtypes(slf: &Bound<'_, Self>) -> PyResult<Option<Py<PyAny>>> {
        if let Some(v) = slf.get().argtypes.get_obj(slf.py()) {
            return Ok(Some(v));
        }
        Ok(class_argtypes(&slf.get_type())?.map(Bound::unbind))
    }

    /// The argtypes and restype in force: the instance's own, else its class's.
    fn effective(slf: &Bound<'_, Self>, own: &GilCell<Option<Py<PyAny>>>, class_attr: &Bound<'_, PyString>) -> PyResult<Option<Py<PyAny>>> {
        if let Some(v) = own.get_obj(slf.py()) {
            return Ok(Some(v));
        }
        Ok(optional_class_attribute(&slf.get_type(), class_attr)?.map(Bound::unbind))
    }

    fn remake_recipe(slf: &Bound<'_, Self>) -> PyResult<()> {
        let py = slf.py();
        let me = slf.get();
        let argtypes = FuncPtr::effective_argtypes(slf)?;
        let restype = FuncPtr::effective(slf, &me.restype, intern!(py, "_restype_"))?;
        let mut recipe = Recipe::new(py, argtypes.as_ref().map(|a| a.bind(py)), restype.as_ref().map(|r| r.bind(py)))?;
        if me.paramflags.is_some() {
            recipe.exact = None; // such calls arrange their arguments first
        }
        FuncPtr::set_recipe(slf, Rc::new(recipe), None);
        Ok(())
    }

    /// The recipe a new instance starts with: its class's shared one while that is
    /// current (see [`ClassRecipe`]), else one made now, filed as the class's when it
    /// can be shared. An instance with a signature of its own makes its own.
    fn take_class_recipe(slf: &Bound<'_, Self>) -> PyResult<()> {
        let py = slf.py();
        let me = slf.get();
        let own_signature = me.paramflags.is_some() || me.argtypes.with(py, Option::is_some) || me.restype.with(py, Option::is_some);
        let cls = slf.get_type();
        let info = if own_signature { None } else { info_of_class(&cls) };
        let Some(info) = info else { return FuncPtr::remake_recipe(slf) };
        if let Some((shared, recipe)) = ClassRecipe::current(&cls, info.get()) {
            FuncPtr::set_recipe(slf, recipe, Some(shared));
            return Ok(());
        }
        let argtypes = class_argtypes(&cls)?;
        let restype = optional_class_attribute(&cls, intern!(py, "_restype_"))?;
        let recipe = Rc::new(Recipe::new(py, argtypes.as_ref(), restype.as_ref())?);
        let error_result = if me.flags & FUNCFLAG_ERROR_RESULT != 0 { optional_class_attribute(&cls, intern!(py, "_error_result_"))? } else { None };
        let signature = ClassSignature { flags: me.flags, argtypes: argtypes.as_ref(), restype: restype.as_ref(), error_result: error_result.as_ref() };
        let shared = ClassRecipe::file(&cls, info.get(), signature, &recipe)?;
        FuncPtr::set_recipe(slf, recipe, shared);
        Ok(())
    }

    /// Installs `recipe` (the class's, held by `shared`, or the instance's own).
    fn set_recipe(slf: &Bound<'_, Self>, recipe: Rc<Recipe>, shared: Option<Py<ClassRecipe>>) {
        let py = slf.py();
        let me = slf.get();
        let old = (me.recipe.replace(py, recipe), me.shared.replace(py, shared));
        me.recipe_made.replace(py, true);
        drop(old);
    }

    /// Calls the function with `args` (borrowed object pointers from the caller).
    ///
    /// Everything owned here is a `Bound` (released at once when dropped): the
    /// vectorcall entry point does not register with PyO3's attach count, so a `Py`
    /// dropped during a call would only be released at PyO3's next entry.
    fn call<'py>(slf: &Bound<'py, Self>, args: &[*mut ffi::PyObject], run_errcheck: bool) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let me = slf.get();
        if !me.recipe_made.with(py, |p| *p) {
            FuncPtr::remake_recipe(slf)?;
        }
        // A clone (a count increment): converters may run Python code that sets a new
        // signature while this call still uses the old one.
        let recipe = me.recipe.get(py);
        let function = FuncPtr::address(slf)?;
        if function == 0 {
            return Err(PyValueError::new_err("NULL function pointer access"));
        }
        if recipe.args.is_none() && args.len() <= untyped::MAX_ARGS {
            return me.call_untyped(slf, &recipe, function, args, run_errcheck);
        }
        if let (Some(direct), Some(steps)) = (recipe.registers(), &recipe.args) {
            if args.len() == direct.arg_count() {
                let value = me.call_register_path(slf, &recipe, direct, steps, function, args)?;
                return me.finish(slf, &recipe, value, args, run_errcheck);
            }
        }
        if args.len() > crate::support::errors::CTYPES_MAX_ARGCOUNT {
            return Err(ArgumentError::new_err(format!("too many arguments ({}), maximum is {}", args.len(), crate::support::errors::CTYPES_MAX_ARGCOUNT)));
        }
        let declared = recipe.args.as_ref().map_or(0, Vec::len);
        if args.len() < declared {
            let s = if declared == 1 { "" } else { "s" };
            return Err(PyTypeError::new_err(format!("this function takes at least {declared} argument{s} ({} given)", args.len())));
        }
        let mut held = Held::default();
        let mut result = ResultBuffer::for_type(&recipe.result.ctype)?;
        match (&recipe.args, &recipe.libffi) {
            (Some(steps), Some(plan)) if args.len() == declared && declared <= STACK_ARGS => {
                let mut slots = [Slot::ZERO; STACK_ARGS];
                let mut pointers = [null_mut::<c_void>(); STACK_ARGS];
                // i < declared <= STACK_ARGS, the arrays' length (the guard above).
                #[allow(clippy::indexing_slicing, clippy::arithmetic_side_effects)]
                for (i, (step, &arg)) in steps.iter().zip(args).enumerate() {
                    // SAFETY: CPython hands vectorcall valid borrowed references.
                    let arg = unsafe { Borrowed::from_ptr(py, arg) };
                    let passed = step.conv.convert_into(&arg, i + 1, &mut slots[i], &mut held).map_err(|e| argument_error(py, i, e))?;
                    pointers[i] = match passed.record() {
                        Some(p) => p.cast(),
                        None => slots[i..].as_mut_ptr().cast(),
                    };
                }
                #[allow(clippy::indexing_slicing)] // declared <= STACK_ARGS (the guard above)
                me.libffi_call(plan, function, &mut pointers[..declared], &mut result)?;
            }
            _ => {
                let mut values = Vec::with_capacity(args.len());
                for (i, &arg) in args.iter().enumerate() {
                    // SAFETY: CPython hands vectorcall valid borrowed references.
                    let arg = unsafe { Borrowed::from_ptr(py, arg) };
                    let converted = match recipe.args.as_ref().and_then(|steps| steps.get(i)) {
                        Some(step) => {
                            let mut slot = Slot::ZERO;
                            step.conv.convert_into(&arg, i.saturating_add(1), &mut slot, &mut held).map(|passed| {
                                let (ctype, record) = passed.into_parts();
                                ArgValue { ctype, slot, record, keep: None, view: None }
                            })
                        }
                        None => convert_unknown(&arg, i.saturating_add(1)),
                    };
                    let mut value = converted.map_err(|e| argument_error(py, i, e))?;
                    if recipe.args.is_some() && i >= declared {
                        promote_variadic(&mut value);
                    }
                    values.push(value);
                }
                let types: Vec<CType> = values.iter().map(|v| v.ctype.clone()).collect();
                let plan = match recipe.args {
                    Some(_) if args.len() > declared => LibffiPlan::new_variadic(&types, declared, recipe.result.ctype.clone()),
                    _ => LibffiPlan::new(&types, recipe.result.ctype.clone()),
                }
                .map_err(|_| PyRuntimeError::new_err("ffi_prep_cif failed"))?;
                let mut pointers: Vec<*mut c_void> = values.iter_mut().map(ArgValue::pointer_for_call).collect();
                me.libffi_call(&plan, function, &mut pointers, &mut result)?;
                values.into_iter().for_each(|v| held.add(py, v));
            }
        }
        // `held` lives until the result is converted: a returned pointer may point
        // into an argument (a wide copy of a str, say), as ctypes allows.
        me.check_python_error(py)?;
        let value = recipe.result.convert(py, result.bytes(), me.steals_object_result(py, function))?;
        drop(held);
        me.finish(slf, &recipe, value, args, run_errcheck)
    }

    /// A call without `argtypes` (see [`crate::call::untyped`]): the arguments converted by
    /// their types, the call interface for their C types taken from the signature's
    /// remembered plans, the function called without libffi when the plan has a register
    /// path — through a C-variadic function type, since the callee may be variadic
    /// (`printf`) and then reads from `%al` how many vector registers are used —, else
    /// through libffi.
    #[inline(always)]
    fn call_untyped<'py>(&self, slf: &Bound<'py, Self>, recipe: &Recipe, function: usize, args: &[*mut ffi::PyObject], run_errcheck: bool) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        // A block, so that the arguments are dropped where they are (not moved into
        // a `drop`) once the result is converted: a result may point into an argument
        // (a wide copy of a str, say), as ctypes allows.
        let value = {
            let mut converted = UntypedArgs::new();
            // SAFETY: CPython hands vectorcall valid borrowed references.
            unsafe { converted.convert(py, args) }.map_err(|(i, e)| argument_error(py, i, e))?;
            let plan = recipe.untyped.plan_for(&converted, &recipe.result.ctype)?;
            let mut result = ResultBuffer::for_type(&recipe.result.ctype)?;
            match plan.plan.direct() {
                Some(direct) if direct.gpr_only() => {
                    let mut g = [0u64; 6];
                    for ((load, slot), word) in direct.args().iter().zip(converted.slots()).zip(g.iter_mut()) {
                        let ArgLoad::Word(load) = load else { return Err(pyo3::exceptions::PySystemError::new_err("a gpr_only plan passes a record")) };
                        *word = load.widen(slot.word());
                    }
                    let function = function as *const c_void;
                    // SAFETY: the plan is made for the C types the arguments converted
                    // to (the user's promise that the function takes them, as in
                    // ctypes); it is gpr_only and `g` holds its widened arguments.
                    let word = self.around_call(|| unsafe { direct.call_gpr_maybe_variadic(function, &g) })?;
                    if let ResultBuffer::Small(slot) = &mut result {
                        slot.0[..8].copy_from_slice(&word.to_ne_bytes());
                    }
                }
                Some(direct) => {
                    let mut regs = Registers::default();
                    for (load, slot) in direct.args().iter().zip(converted.slots()) {
                        // SAFETY: a record's word is the address of its bytes, which the
                        // caller or `converted` keeps alive (see UntypedArgs).
                        unsafe { load.store(&mut regs, slot.word()) };
                    }
                    let function = function as *const c_void;
                    // SAFETY: the plan is made for the C types the arguments converted
                    // to (the user's promise that the function takes them, as in
                    // ctypes), and every one of them was loaded.
                    let word = self.around_call(|| unsafe { direct.call_maybe_variadic(function, &regs) })?;
                    if let ResultBuffer::Small(slot) = &mut result {
                        slot.0[..8].copy_from_slice(&word.to_ne_bytes());
                    }
                }
                None => {
                    let mut pointers = [null_mut::<c_void>(); untyped::MAX_ARGS];
                    // Callers pass at most MAX_ARGS arguments (`call`, `try_call_untyped`).
                    #[allow(clippy::indexing_slicing)]
                    let pointers = &mut pointers[..args.len()];
                    for (i, pointer) in pointers.iter_mut().enumerate() {
                        *pointer = converted.pointer_for_call(i).ok_or_else(|| pyo3::exceptions::PySystemError::new_err("an argument was not converted"))?;
                    }
                    self.libffi_call(&plan.plan, function, pointers, &mut result)?;
                }
            }
            self.check_python_error(py)?;
            recipe.result.convert(py, result.bytes(), self.steals_object_result(py, function))?
        };
        self.finish(slf, recipe, value, args, run_errcheck)
    }

    /// The quickest path, tried first by [`vectorcall`]: a signature with a register
    /// path whose arguments are all of the exact types its recipe's
    /// [`ExactArg`](crate::call::recipe::ExactArg)s take, no keyword arguments, no
    /// `paramflags` (their functions have no [`ExactCall`](crate::call::recipe::ExactCall);
    /// nor has one not yet prepared). Returns None, having done nothing, when it does not apply;
    /// otherwise the result, or NULL with the exception set.
    ///
    /// # Safety
    /// `args` are valid borrowed references from CPython.
    #[inline(always)]
    unsafe fn call_exact<const PYTHON_API: bool, const USE_ERRNO: bool>(slf: &Bound<'_, Self>, args: &[*mut ffi::PyObject]) -> Option<*mut ffi::PyObject> {
        let py = slf.py();
        let me = slf.get();
        // A clone: Python code run by the C function (PyDLL), or by another thread
        // while the GIL is released, may set a new signature.
        let recipe = me.recipe.get(py);
        let Some(exact) = recipe.exact.as_ref() else {
            return FuncPtr::try_call_untyped(slf, &recipe, args);
        };
        let direct = &exact.direct;
        if args.len() != exact.args.len() {
            return None;
        }
        let function = FuncPtr::address(slf).ok()?;
        if function == 0 {
            return None; // the general path raises
        }
        let function = function as *const c_void;
        // The result word (scalar results only: a register path returns no record).
        let word = if direct.gpr_only() {
            // At most six integer-register arguments: no register file to clear.
            let mut g = [0u64; 6];
            for ((&(how, load), &arg), word) in exact.args.iter().zip(args).zip(g.iter_mut()) {
                let ArgLoad::Word(load) = load else { return None }; // (gpr_only: none is a record)
                // SAFETY: arg is a valid borrowed reference from CPython (this
                // function's contract) and the GIL is held; the classes `how` names
                // are held by the recipe's converters, which `recipe` keeps.
                *word = load.widen(unsafe { how.word(py, arg) }?);
            }
            around_foreign_call(!PYTHON_API, USE_ERRNO, 
                #[inline(always)]
                // SAFETY: the plan describes the declared signature (the user's promise,
                // as in ctypes); it is gpr_only and `g` holds its widened arguments.
                || unsafe { direct.call_gpr(function, &g) },
            )
        } else if direct.few_words() {
            // Integer registers and at most two vector registers: a smaller register
            // file to clear and load.
            let mut regs = Registers::<FEW_WORDS>::default();
            // SAFETY: args are valid borrowed references from CPython, as many as the
            // plan's parameters (checked above), the GIL is held, and the plan is
            // few_words, so FEW_WORDS words hold its arguments.
            unsafe { exact.load(py, args, &mut regs) }?;
            around_foreign_call(!PYTHON_API, USE_ERRNO, 
                #[inline(always)]
                // SAFETY: the plan describes the declared signature (the user's
                // promise, as in ctypes); it is few_words and every argument was loaded.
                || unsafe { direct.call_few(function, &regs) },
            )
        } else {
            let mut regs = Registers::default();
            // SAFETY: args are valid borrowed references from CPython, as many as the
            // plan's parameters (checked above), and the GIL is held; a full register
            // file holds any plan's words.
            unsafe { exact.load(py, args, &mut regs) }?;
            around_foreign_call(
                !PYTHON_API,
                USE_ERRNO,
                #[inline(always)]
                // SAFETY: the plan describes the declared signature (the user's promise,
                // as in ctypes), and every argument's word was loaded into `regs`.
                || unsafe { direct.call(function, &regs) },
            ).map(|slot| u64::from_le(slot.word()))
        };
        let word = match word {
            Ok(word) => word,
            Err(kept) => {
                // A propagating callback's exception, raised by this call.
                PyErr::from(kept).restore(py);
                return Some(null_mut());
            }
        };
        // SAFETY: the GIL is held; PyErr_Occurred only reads the thread state.
        if PYTHON_API && !unsafe { ffi::PyErr_Occurred() }.is_null() {
            return Some(null_mut()); // the C function's exception stays set
        }
        let no_errcheck = me.errcheck.with(py, Option::is_none);
        if let (Some(make), true) = (exact.number, no_errcheck) {
            // SAFETY: the GIL is held. NULL only with an exception set.
            return Some(unsafe { make(word) });
        }
        Some(FuncPtr::exact_result(slf, &recipe, word, args, no_errcheck))
    }

    /// [`call_untyped`](Self::call_untyped) from the quickest path, for a function
    /// without `argtypes` whose signature is prepared, with at most
    /// [`untyped::MAX_ARGS`] arguments and an address (None, having done nothing,
    /// otherwise): the result, or NULL with the exception set. Out of line: the
    /// quickest path stays small.
    #[inline(never)]
    fn try_call_untyped(slf: &Bound<'_, Self>, recipe: &Recipe, args: &[*mut ffi::PyObject]) -> Option<*mut ffi::PyObject> {
        let py = slf.py();
        let me = slf.get();
        if recipe.args.is_some() || args.len() > untyped::MAX_ARGS || !me.recipe_made.with(py, |p| *p) {
            return None;
        }
        let function = FuncPtr::address(slf).ok()?;
        if function == 0 {
            return None; // the general path raises
        }
        match me.call_untyped(slf, recipe, function, args, true) {
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
    fn exact_result(slf: &Bound<'_, Self>, recipe: &Recipe, word: u64, args: &[*mut ffi::PyObject], no_errcheck: bool) -> *mut ffi::PyObject {
        let py = slf.py();
        let me = slf.get();
        let mut slot = Slot::ZERO;
        slot.0[..8].copy_from_slice(&word.to_le_bytes());
        // (Its memory freed during the call — an arena closed by a callback — it is no
        // callback of ours: at worst a reference is not taken over.)
        let function = FuncPtr::address(slf).unwrap_or_default();
        let converted = recipe.result.convert(py, &slot.0, me.steals_object_result(py, function)).and_then(|value| {
            if recipe.result.check_retval.is_none() && no_errcheck {
                Ok(value)
            } else {
                me.finish(slf, recipe, value, args, true)
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

    /// The register path: every parameter native (a built-in simple type, a pointer,
    /// ndpointer or record type with ctypes' own `from_param`), each argument turned
    /// into its register or stack word by its [`ArgRecipe::register_word`], and the
    /// function called without libffi. Returns the converted result (before
    /// `_check_retval_` and `errcheck`).
    #[inline]
    fn call_register_path<'py>(
        &self,
        slf: &Bound<'py, Self>,
        recipe: &Recipe,
        direct: &DirectPlan,
        steps: &[ArgRecipe],
        function: usize,
        args: &[*mut ffi::PyObject],
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let mut regs = Registers::default();
        let mut held = Held::default();
        for (i, ((step, &arg), &load)) in steps.iter().zip(args).zip(direct.args()).enumerate() {
            // SAFETY: CPython hands vectorcall valid borrowed references.
            let arg = unsafe { Borrowed::from_ptr(py, arg) };
            let record = matches!(load, ArgLoad::Record(_));
            #[allow(clippy::arithmetic_side_effects)] // i enumerates the arguments, a slice
            let word = step.register_word(arg, i + 1, record, &mut held).map_err(|e| argument_error(py, i, e))?;
            // SAFETY: a record's word is the address of its bytes — an instance of the
            // record's class, or a record at least as large (register_word checks) —,
            // kept alive by the caller's reference or `held` until after the call.
            unsafe { load.store(&mut regs, word) };
        }
        let slot = self.register_call(direct, function, &regs)?;
        self.check_python_error(py)?;
        let value = recipe.result.convert(py, &slot.0, self.steals_object_result(py, function))?;
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
    fn finish<'py>(&self, slf: &Bound<'py, Self>, recipe: &Recipe, mut value: Bound<'py, PyAny>, args: &[*mut ffi::PyObject], run_errcheck: bool) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        if let Some(check) = &recipe.result.check_retval {
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
                    // SAFETY: CPython hands vectorcall valid borrowed keyword values.
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
        if !me.recipe_made.with(py, |p| *p) {
            FuncPtr::remake_recipe(slf)?;
        }
        let declared = me.recipe.with(py, |p| p.args.as_ref().map(Vec::len)).unwrap_or(0);
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
        let argtypes = || match FuncPtr::effective_argtypes(slf)? {
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
    fn libffi_call(&self, plan: &LibffiPlan, function: usize, pointers: &mut [*mut c_void], result: &mut ResultBuffer) -> Result<(), Kept> {
        self.around_call(|| {
            // SAFETY: the plan describes the declared signature (the user's promise, as
            // in ctypes); each pointer points at a converted value that lives until
            // after the call (slots on this stack frame, records kept alive by `keep`).
            unsafe { plan.call(function as *const c_void, pointers, result.as_mut_ptr()) };
        })
    }

    /// The C call through the plan's register path (no libffi); `regs` holds every
    /// argument's word.
    #[inline(always)]
    fn register_call(&self, direct: &DirectPlan, function: usize, regs: &Registers) -> Result<Slot, Kept> {
        self.around_call(
            #[inline(always)]
            // SAFETY: the plan describes the declared signature (the user's promise, as
            // in ctypes), and the callers loaded every argument's word into `regs`.
            || unsafe { direct.call(function as *const c_void, regs) },
        )
    }

    /// Runs `call` with the GIL released (unless this is a Python API function) and
    /// with `errno` swapped when the function asked for it, as a foreign call of this
    /// thread (see [`propagation`]): the exception a propagating callback kept for it
    /// is returned instead of its result. `call` must not touch Python objects.
    #[inline(always)]
    fn around_call<R>(&self, call: impl FnOnce() -> R) -> Result<R, Kept> {
        around_foreign_call(self.flags & FUNCFLAG_PYTHONAPI == 0, self.flags & FUNCFLAG_USE_ERRNO != 0, call)
    }
}

/// [`FuncPtr::around_call`] with the function's flags given: `release` the GIL unless
/// it is a Python API function, `swap_errno` when it asked for it. The quickest path
/// passes them as constants of its instance's [`vectorcall`] variant, so that none of
/// the tests remains in its code.
#[inline(always)]
fn around_foreign_call<R>(release: bool, swap_errno: bool, call: impl FnOnce() -> R) -> Result<R, Kept> {
    // SAFETY: the GIL is held here and is re-acquired below before any Python object
    // is touched; `call` touches none.
    let saved = if release { unsafe { ffi::PyEval_SaveThread() } } else { null_mut() };
    let errno = swap_errno.then(ErrnoSwap::enter);
    let result = propagation::foreign_call(call);
    drop(errno);
    if release {
        // SAFETY: `saved` came from PyEval_SaveThread on this thread.
        unsafe { ffi::PyEval_RestoreThread(saved) };
    }
    result
}


/// The [`vectorcall`] variant for a function pointer of these flags (which never change).
fn vectorcall_for(flags: i32) -> ffi::vectorcallfunc {
    match (flags & FUNCFLAG_PYTHONAPI != 0, flags & FUNCFLAG_USE_ERRNO != 0) {
        (false, false) => vectorcall::<false, false>,
        (false, true) => vectorcall::<false, true>,
        (true, false) => vectorcall::<true, false>,
        (true, true) => vectorcall::<true, true>,
    }
}

/// Wraps a conversion error as ctypes does: `ArgumentError("argument 2: TypeError: ...")`;
/// a `nonnull` parameter's refusal of None is already one, and named.
fn argument_error(py: Python<'_>, index: usize, err: PyErr) -> PyErr {
    if crate::support::errors::is_null_argument(py, &err) {
        return err;
    }
    let kind = err.get_type(py).name().map(|n| n.to_string()).unwrap_or_default();
    let new = ArgumentError::new_err(format!("argument {}: {kind}: {}", index.saturating_add(1), err.value(py)));
    new.set_cause(py, Some(err));
    new
}

/// CPython's entry point for `f(*args)`, one variant per combination of the two flags
/// the quickest path reads (chosen by [`vectorcall_for`]): whether the function is a
/// Python API one (`PYTHON_API`: the GIL held, the exception it sets checked) and
/// whether it swaps `errno` (`USE_ERRNO`).
///
/// # Safety
/// Called by CPython only (through the vectorcall offset, installed on function
/// pointer classes alone), with the GIL held: `callable` is a function pointer
/// instance, `args` holds the positional arguments then the keyword values (valid
/// borrowed references), `nargsf` counts the positional ones, `kwnames` is NULL or a
/// tuple naming the keyword ones.
unsafe extern "C" fn vectorcall<const PYTHON_API: bool, const USE_ERRNO: bool>(
    callable: *mut ffi::PyObject,
    args: *const *mut ffi::PyObject,
    nargsf: usize,
    kwnames: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
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
                if let Some(result) = unsafe { FuncPtr::call_exact::<PYTHON_API, USE_ERRNO>(&slf, argv) } {
                    return Ok(result);
                }
            }
            // SAFETY: args, argv and kwnames are as CPython passed them (above).
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

/// Makes CPython call instances of `cls` (a FuncPtr subclass) through [`vectorcall`],
/// and initialise them through [`init_slot`] unless the class has an `__init__` of its
/// own. Heap subclasses do not inherit the vectorcall flag on Python 3.11, and a class
/// statement takes PyO3's `__init__` function rather than the base's slot, so the
/// metaclass calls this for every function pointer class it creates.
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
    if let Some(&pyo3_init) = PYO3_INIT.get() {
        // SAFETY: a live heap type (the GIL is held), a FuncPtr subclass; the slot
        // keeps its signature, and only PyO3's own `__init__` is replaced.
        unsafe {
            if (*tp).tp_init.map(|f| f as usize) == Some(pyo3_init as usize) {
                (*tp).tp_init = Some(init_slot);
            }
        }
    }
    Ok(())
}

/// PyO3's `tp_init` of `FuncPtr` (its `__init__`), saved at module initialisation.
static PYO3_INIT: OnceLock<ffi::initproc> = OnceLock::new();

/// The `tp_init` of function pointer classes without an `__init__` of their own (see
/// [`_enable_vectorcall`]): what `__init__` does, without PyO3's handling of
/// arguments it ignores — nothing once `__new__` gave the instance its class's recipe.
///
/// # Safety
/// CPython's `tp_init` contract: called with the GIL held, `obj` an instance of a
/// class this slot was installed on (a subclass of FuncPtr), lent for the call.
unsafe extern "C" fn init_slot(obj: *mut ffi::PyObject, _args: *mut ffi::PyObject, _kwargs: *mut ffi::PyObject) -> std::ffi::c_int {
    // SAFETY: CPython calls tp_init with the GIL held.
    let py = unsafe { Python::assume_attached() };
    crate::data::slots::guard(py, -1, || {
        // SAFETY: an instance of a class this slot was installed on, a FuncPtr
        // subclass, lent for the call.
        let obj = unsafe { Borrowed::from_ptr(py, obj).cast_unchecked::<FuncPtr>() };
        if !obj.get().recipe_made.with(py, |made| *made) {
            FuncPtr::take_class_recipe(&obj)?;
        }
        Ok(0)
    })
}

/// Finds where the `vectorcall` field sits in a FuncPtr object and enables vectorcall
/// on the base class. Called once at module initialisation.
pub fn init_vectorcall(py: Python<'_>) -> PyResult<()> {
    let info = Py::new(py, crate::types::typeinfo::function_info())?;
    let probe = Bound::new(py, PyClassInitializer::from(CData::owned(info)?).add_subclass(FuncPtr::with_address(0)))?;
    let field = &probe.get().vectorcall as *const ffi::vectorcallfunc as isize;
    let offset = field.checked_sub(probe.as_ptr() as isize).ok_or_else(|| pyo3::exceptions::PySystemError::new_err("the vectorcall field's offset overflows"))?;
    VECTORCALL_OFFSET.store(offset, Ordering::Relaxed);
    let funcptr = py.get_type::<FuncPtr>();
    // SAFETY: a live type object made by PyO3 (the GIL is held); the slot is only read.
    let pyo3_init = unsafe { (*funcptr.as_type_ptr()).tp_init };
    crate::data::slots::save_general(&PYO3_INIT, pyo3_init)?;
    _enable_vectorcall(&funcptr)
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
        Ok(optional_class_attribute(cls, intern!(cls.py(), "_flags_"))?.map(|f| f.extract::<i32>()).transpose()?.unwrap_or(FUNCFLAG_CDECL))
    }

    /// What `__new__` makes a new instance of `cls` from, given the constructor's
    /// `args`: the class's info, the instance's part (with its thunk when it is made
    /// from a callable) and the address its bytes hold.
    fn new_parts(cls: &Bound<'_, PyType>, args: &Bound<'_, PyTuple>) -> PyResult<(Py<TypeInfo>, FuncPtr, usize)> {
        let py = cls.py();
        let info = CData::class_info(cls)?;
        // The class's recipe and attributes, when a current one is filed.
        let shared = ClassRecipe::current(cls, info.get());
        let class = shared.as_ref().map(|(s, _)| s.get());
        let flags = match class {
            Some(class) => class.flags,
            None => FuncPtr::flags_of(cls)?,
        };
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
                    paramflags = ParamFlags::parse(&flags, class_argtypes(cls)?.as_ref())?;
                }
                address
            }
            (1, Some(first)) => {
                if is_callback_source(&first) {
                    let (argtypes, restype, error_result) = match class {
                        Some(class) => (Some(class.argtypes.bind(py).clone()), class.restype.as_ref().map(|r| r.bind(py).clone()), class.error_result.as_ref().map(|e| e.bind(py).clone())),
                        None => (
                            class_argtypes(cls)?,
                            optional_class_attribute(cls, intern!(py, "_restype_"))?,
                            if flags & FUNCFLAG_ERROR_RESULT != 0 { optional_class_attribute(cls, intern!(py, "_error_result_"))? } else { None },
                        ),
                    };
                    let errors = OnError { error_result: error_result.as_ref(), propagate: flags & FUNCFLAG_PROPAGATE != 0, keep_results: flags & FUNCFLAG_KEEP_RESULTS != 0 };
                    let prepared = class.and_then(|c| c.callback_plan(py));
                    let first_of_class = prepared.is_none();
                    let cb = Callback::new(&first, argtypes.as_ref(), restype.as_ref(), flags & FUNCFLAG_USE_ERRNO != 0, errors, prepared)?;
                    if let (Some(class), true) = (class, first_of_class) {
                        class.keep_callback_plan(py, cb.plan());
                    }
                    let code = cb.code();
                    thunk = Some(Thunk::new_object(py, cb)?);
                    code
                } else {
                    function_address(&first)?
                }
            }
            (n, _) => return Err(PyTypeError::new_err(format!("function takes exactly 1 argument ({n} given)"))),
        };
        // An instance with paramflags makes its own recipe (in `__init__`).
        let part = match paramflags {
            None => FuncPtr::with_recipe(flags, thunk, shared),
            paramflags => FuncPtr { paramflags, ..FuncPtr::with_callback(flags, thunk) },
        };
        Ok((info, part, address))
    }

    /// Completes a new instance whose C data is `base` and part `part`: writes
    /// `address` into its bytes, and files its thunk in its `_objects`, as ctypes keeps
    /// its thunk (so that whatever keeps the instance's objects keeps the callable).
    fn fill_new(base: &CData, py: Python<'_>, part: &FuncPtr, address: usize) -> PyResult<()> {
        // SAFETY: an owned function pointer instance has room for one pointer.
        unsafe { base.address(py).cast::<usize>().write_unaligned(address) };
        match &part.thunk {
            Some(thunk) => crate::data::keepalive::keep_ref_new(base, py, 0, thunk.clone_ref(py).into_any()),
            None => Ok(()),
        }
    }


    /// The part of a function pointer instance, made from a callback (`thunk`) or not.
    pub fn with_callback(flags: i32, thunk: Option<Py<Thunk>>) -> FuncPtr {
        FuncPtr::with_recipe(flags, thunk, None)
    }

    /// [`FuncPtr::with_callback`] given its class's current shared recipe, when there
    /// is one (no recipe of its own is made then).
    fn with_recipe(flags: i32, thunk: Option<Py<Thunk>>, shared: Option<(Py<ClassRecipe>, Rc<Recipe>)>) -> FuncPtr {
        let (recipe_made, recipe, shared) = match shared {
            Some((shared, recipe)) => (true, recipe, Some(shared)),
            None => (false, Rc::new(Recipe::empty()), None),
        };
        FuncPtr {
            thunk,
            paramflags: None,
            vectorcall: vectorcall_for(flags),
            flags,
            argtypes: GilCell::new(None),
            argtypes_given: GilCell::new(None),
            restype: GilCell::new(None),
            errcheck: GilCell::new(None),
            recipe_made: GilCell::new(recipe_made),
            recipe: GilCell::new(recipe),
            shared: GilCell::new(shared),
        }
    }
}

#[pymethods]
impl FuncPtr {
    /// Made by [`new_slot`] once the module is initialised (this is the `tp_new` PyO3
    /// generates; without a `#[new]` PyO3 forbids instances): the same instance, its
    /// bytes in a heap block.
    #[new]
    #[classmethod]
    #[pyo3(signature = (*args, **_kwargs))]
    fn py_new(cls: &Bound<'_, PyType>, args: &Bound<'_, PyTuple>, _kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<PyClassInitializer<Self>> {
        let (info, part, address) = FuncPtr::new_parts(cls, args)?;
        let base = CData::owned(info)?;
        FuncPtr::fill_new(&base, cls.py(), &part, address)?;
        Ok(PyClassInitializer::from(base).add_subclass(part))
    }

    /// What [`init_slot`] does for classes that take it; a class's own `__init__`
    /// reaches this one through `super().__init__()`.
    #[pyo3(signature = (*_args, **_kwargs))]
    fn __init__(slf: &Bound<'_, Self>, _args: &Bound<'_, PyTuple>, _kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<()> {
        // `py_new` gave it the class's current recipe, or every change since made one.
        if slf.get().recipe_made.with(slf.py(), |made| *made) {
            return Ok(());
        }
        FuncPtr::take_class_recipe(slf)
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

    /// The parameter types, or None: the object set (the instance's, else the class's
    /// `_argtypes_`), as in ctypes.
    #[getter]
    fn get_argtypes(slf: &Bound<'_, Self>) -> PyResult<Option<Py<PyAny>>> {
        if let Some(given) = slf.get().argtypes_given.get_obj(slf.py()) {
            return Ok(Some(given));
        }
        FuncPtr::effective(slf, &slf.get().argtypes, intern!(slf.py(), "_argtypes_"))
    }

    /// Sets the parameter types: anything `tuple()` takes (once, as ctypes takes it,
    /// so a generator gives its types once and reads back as itself), at most
    /// `CTYPES_MAX_ARGCOUNT` of them, each with a `from_param`.
    #[setter]
    fn set_argtypes(slf: &Bound<'_, Self>, value: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
        let py = slf.py();
        let (types, given) = match value {
            None => (None, None),
            Some(v) if v.is_none() => (None, None),
            Some(v) => {
                let types = argtypes_tuple(v)?;
                let given = (!v.is(&types)).then(|| v.clone().unbind());
                (Some(types.into_any().unbind()), given)
            }
        };
        let me = slf.get();
        let old = (me.argtypes.replace(py, types), me.argtypes_given.replace(py, given));
        if let Err(e) = FuncPtr::remake_recipe(slf) {
            drop((me.argtypes.replace(py, old.0), me.argtypes_given.replace(py, old.1)));
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
        if let Err(e) = FuncPtr::remake_recipe(slf) {
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
        if let Err(e) = FuncPtr::remake_recipe(slf) {
            drop(slf.get().restype.replace(py, old));
            return Err(e);
        }
        Ok(())
    }

    /// `del f.errcheck`: no check any more.
    #[deleter]
    fn delete_errcheck(&self, py: Python<'_>) {
        drop(self.errcheck.replace(py, None));
        self.recipe.with(py, |p| p.untyped.clear());
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
        self.recipe.with(py, |p| p.untyped.clear());
        Ok(())
    }

    fn __bool__(slf: &Bound<'_, Self>) -> PyResult<bool> {
        Ok(FuncPtr::address(slf)? != 0)
    }

    /// What the collector must see: the signature's objects (an `errcheck` or
    /// `restype` callable may refer back to this function) and the thunk; the C data
    /// part (`_objects`, `_b_base_`) is visited by `_CData`'s own traverse.
    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        // SAFETY (each with_in_traverse): called by the collector through
        // tp_traverse; the closures only visit.
        unsafe {
            self.argtypes.with_in_traverse(|v| visit.call(v))?;
            self.argtypes_given.with_in_traverse(|v| visit.call(v))?;
            self.restype.with_in_traverse(|v| visit.call(v))?;
            self.errcheck.with_in_traverse(|v| visit.call(v))?;
            if self.shared.with_in_traverse(Option::is_some) {
                self.shared.with_in_traverse(|s| visit.call(s))?;
            } else {
                self.recipe.with_in_traverse(|p| p.traverse(&visit))?;
            }
        }
        if let Some(flags) = &self.paramflags {
            flags.traverse(&visit)?;
        }
        visit.call(&self.thunk)
    }

    /// Breaks cycles through the signature; a later call prepares the class's again.
    fn __clear__(&self, py: Python<'_>) {
        let old = (self.argtypes.replace(py, None), self.argtypes_given.replace(py, None), self.restype.replace(py, None), self.errcheck.replace(py, None));
        let recipe = (self.recipe.replace(py, Rc::new(Recipe::empty())), self.shared.replace(py, None));
        self.recipe_made.replace(py, false);
        drop((old, recipe));
    }

    /// The recipe calls follow, in its readable form (see `crate::call::recipe`).
    #[getter]
    fn _recipe(slf: &Bound<'_, Self>) -> PyResult<String> {
        let py = slf.py();
        if !slf.get().recipe_made.with(py, |made| *made) {
            FuncPtr::remake_recipe(slf)?;
        }
        let recipe = slf.get().recipe.get(py);
        let argtypes = match FuncPtr::effective_argtypes(slf)? {
            Some(types) => types.into_bound(py).try_iter()?.collect::<PyResult<Vec<_>>>()?,
            None => Vec::new(),
        };
        let restype = FuncPtr::effective(slf, &slf.get().restype, intern!(py, "_restype_"))?.map(|r| r.into_bound(py));
        Ok(recipe.describe(py, &argtypes, restype.as_ref()))
    }

    /// How many call interfaces calls without `argtypes` have remembered (at most 4).
    #[getter]
    fn _untyped_plans(&self, py: Python<'_>) -> usize {
        self.recipe.with(py, |p| p.untyped.len())
    }

    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        Ok(format!("<{} object at {:#x}>", slf.get_type().name()?, slf.as_ptr() as usize))
    }
}

/// The `tp_new` of function pointers, installed over PyO3's at start-up ([`install_new`]),
/// as the data families have theirs: the instance `__new__` makes
/// ([`FuncPtr::new_parts`]), built by `instances::build_owned` — its bytes in the
/// object's own allocation, and without `object.__new__`, which on 3.11 also builds
/// an instance's attribute values eagerly (ctypes' instances make them when first
/// set). Keyword arguments are `__init__`'s, ignored here as PyO3's `__new__` ignores
/// them.
///
/// # Safety
/// CPython's `tp_new` contract: called with the GIL held, `subtype` the live type
/// being instantiated (a subclass of `FuncPtr`, whose slot this is), `args` a tuple.
unsafe extern "C" fn new_slot(subtype: *mut ffi::PyTypeObject, args: *mut ffi::PyObject, _kwargs: *mut ffi::PyObject) -> *mut ffi::PyObject {
    // SAFETY: CPython calls tp_new with the GIL held.
    let py = unsafe { Python::assume_attached() };
    crate::data::slots::guard(py, crate::data::slots::NULL, || {
        // SAFETY: CPython passes tp_new the (live) type being instantiated.
        let cls = unsafe { Borrowed::from_ptr(py, subtype.cast()).cast_unchecked::<PyType>() };
        // SAFETY: CPython passes tp_new its positional arguments, a live object.
        let args = unsafe { Borrowed::from_ptr(py, args) }.cast::<PyTuple>()?;
        let (info, part, address) = FuncPtr::new_parts(&cls, &args)?;
        // SAFETY: cls is a subclass of FuncPtr, the family whose tp_new this is.
        let obj = unsafe { crate::data::instances::build_owned(cls, info, part) }?;
        // SAFETY: just built as an instance of (a subclass of) FuncPtr.
        let obj = unsafe { obj.cast_into_unchecked::<FuncPtr>() };
        FuncPtr::fill_new(obj.as_super().get(), py, obj.get(), address)?;
        Ok(obj.into_any().into_ptr())
    })
}

/// Makes [`new_slot`] the `tp_new` of function pointers (at module initialisation,
/// before any prototype class exists, so that every one inherits it).
pub fn install_new(py: Python<'_>) {
    crate::data::slots::set_new(&py.get_type::<FuncPtr>(), new_slot);
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
        return scalar::address_from_int(arg);
    }
    let Ok(pair) = arg.cast::<PyTuple>() else {
        return Err(PyTypeError::new_err("argument must be callable or integer function address"));
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

/// `ferrotypes.release(callback)`: lets go of the results a callback of a
/// `keep_results=True` prototype kept alive; their number. `TypeError` for anything else.
#[pyfunction]
pub fn _release_results(obj: &Bound<'_, PyAny>) -> PyResult<usize> {
    let not_kept = || PyTypeError::new_err(format!("release() takes an instance made by ferrotypes.owned() or a callback of a keep_results=True prototype, got {}", scalar::type_name(obj)));
    let function = obj.cast::<FuncPtr>().map_err(|_| not_kept())?;
    let thunk = function.get().thunk.as_ref().ok_or_else(not_kept)?;
    thunk.get().callback().release_results(obj.py())
}
