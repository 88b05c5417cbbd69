//! Calls of functions without `argtypes`: every argument converted by its Python type
//! as ctypes' `ConvParam` does, and the call interface for each combination of C types
//! met remembered per signature ([`UntypedPlans`], an inline cache of a few plans), so
//! that a call whose arguments convert to the C types of an earlier one prepares
//! nothing.
//!
//! The cache is keyed by the C types the arguments convert to, not by their Python
//! types: every call still converts every argument — the common kinds (small `int`,
//! `bytes`, None, `byref` and other `CArgObject`s, ferrotypes instances) read in place
//! here, everything else through [`convert_unknown`], whose rules these follow — so a
//! value is passed as nothing but what ctypes makes of it, whatever its class, or its
//! `_as_parameter_`, did since the last call.

use std::cell::RefCell;
use std::mem::MaybeUninit;
use std::rc::Rc;

use ferrotypes_core::call::{LibffiPlan, Slot};
use ferrotypes_core::ctype::{CType, ScalarKind};
use pyo3::ffi;
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;

use crate::call::argconv::convert_unknown;
use crate::call::peek::{as_cdata, carg_type, cdata_type, small_int};
use crate::call::value::{CArgObject, Held};
use crate::types::typeinfo::{InfoKind, TypeInfo};

/// Calls with more arguments than this go the general way (a plan made per call).
pub const MAX_ARGS: usize = 16;

/// How many combinations of C types a signature remembers; calls with others make a
/// plan each time, as before there was a cache.
pub const PLANS: usize = 4;

/// The arguments of one untyped call, converted.
pub struct UntypedArgs<'py> {
    /// How many arguments are converted: `kinds` and `slots` are written up to here.
    count: usize,
    /// Each argument's C type, when it is a scalar (the cache key).
    kinds: [ScalarKind; MAX_ARGS],
    /// Each argument's value; for a record passed by value, the address of its bytes
    /// (kept alive by the caller or `held`). Left uninitialised past `count`: most
    /// calls pass a few arguments, and the whole array would be cleared on each.
    slots: [MaybeUninit<Slot>; MAX_ARGS],
    /// Records passed by value: their position and C type.
    records: Vec<(usize, CType)>,
    /// What the converted values point into, held until the call returns (made by
    /// the first argument that needs it).
    held: Option<Held<'py>>,
}

impl<'py> UntypedArgs<'py> {
    /// Room for converting a call's arguments (made in the caller's frame: the
    /// arguments are not moved again).
    #[inline(always)]
    pub fn new() -> UntypedArgs<'py> {
        UntypedArgs { count: 0, kinds: [ScalarKind::Int; MAX_ARGS], slots: [MaybeUninit::uninit(); MAX_ARGS], records: Vec::new(), held: None }
    }

    /// The converted arguments' values (see `slots`).
    #[inline(always)]
    pub fn slots(&self) -> &[Slot] {
        // SAFETY: the first `count` slots are written (see `convert`); MaybeUninit<Slot>
        // has Slot's layout.
        unsafe { std::slice::from_raw_parts(self.slots.as_ptr().cast::<Slot>(), self.count) }
    }

    /// Converts `args` (at most [`MAX_ARGS`]) from left to right; on failure, the
    /// position (0-based) of the argument that could not be converted and the error.
    ///
    /// # Safety
    /// `args` are valid borrowed references for the call, and the GIL is held.
    #[inline(always)]
    #[allow(clippy::indexing_slicing, clippy::arithmetic_side_effects)] // i < MAX_ARGS, the arrays' length (`take`)
    pub unsafe fn convert(&mut self, py: Python<'py>, args: &[*mut ffi::PyObject]) -> Result<(), (usize, PyErr)> {
        let cdata = cdata_type(py);
        let carg = carg_type(py);
        for (i, &arg) in args.iter().enumerate().take(MAX_ARGS) {
            let slot = self.slots[i].write(Slot::ZERO);
            // SAFETY: arg is a valid borrowed reference for the call and the GIL is
            // held (this function's contract).
            match unsafe { in_place(py, arg, slot, cdata, carg) } {
                Some(kind) => self.kinds[i] = kind,
                None => self.convert_general(py, i, arg).map_err(|e| (i, e))?,
            }
            self.count = i + 1;
        }
        Ok(())
    }

    /// The address libffi reads argument `i` from: its slot, or a record's bytes;
    /// None when argument `i` was not converted.
    pub fn pointer_for_call(&mut self, i: usize) -> Option<*mut std::ffi::c_void> {
        let word = self.slots().get(i)?.word();
        if self.records.iter().any(|&(at, _)| at == i) {
            Some(word as usize as *mut std::ffi::c_void)
        } else {
            self.slots.get_mut(i).map(|slot| slot.as_mut_ptr().cast())
        }
    }

    /// Argument `i` by [`convert_unknown`] (ctypes' rules for every case).
    #[inline(never)]
    #[allow(clippy::indexing_slicing)] // i < MAX_ARGS, the arrays' length (see `convert`)
    fn convert_general(&mut self, py: Python<'py>, i: usize, arg: *mut ffi::PyObject) -> PyResult<()> {
        // SAFETY: a valid borrowed reference (see `convert`).
        let arg = unsafe { Borrowed::from_ptr(py, arg) };
        let value = convert_unknown(&arg, i.saturating_add(1))?;
        match (&value.ctype, value.record) {
            (CType::Scalar(kind), None) => {
                self.kinds[i] = *kind;
                self.slots[i].write(value.slot);
            }
            (ctype, Some(bytes)) => {
                self.records.push((i, ctype.clone()));
                self.slots[i].write(word_slot(bytes as u64));
            }
            (_, None) => return Err(pyo3::exceptions::PySystemError::new_err("convert_unknown gave neither a scalar nor a record")),
        }
        self.held.get_or_insert_with(Held::default).add(py, value);
        Ok(())
    }

    /// The C types of the arguments, in order.
    #[allow(clippy::indexing_slicing)] // records are at positions below count (see `convert_general`)
    fn ctypes(&self) -> Vec<CType> {
        let mut types: Vec<CType> = self.kinds.iter().take(self.count).map(|&k| CType::Scalar(k)).collect();
        for (i, ctype) in &self.records {
            types[*i] = ctype.clone();
        }
        types
    }
}

/// The quickest conversions of an untyped argument, as [`convert_unknown`] makes
/// them, written into `slot`: an `int` of one digit (a C `int`, its low 32 bits),
/// `bytes` (its buffer, which the caller's reference keeps), None, a `CArgObject`
/// holding a scalar, and ferrotypes simple, pointer and array instances (their value,
/// or an array's address). None, with nothing done, for every other argument.
/// `cdata` and `carg` are the type objects of `_CData` and `CArgObject`.
///
/// # Safety
/// `arg` is a valid object and the GIL is held.
#[inline(always)]
unsafe fn in_place(py: Python<'_>, arg: *mut ffi::PyObject, slot: &mut Slot, cdata: usize, carg: usize) -> Option<ScalarKind> {
    // SAFETY: arg is a valid object and the GIL is held (this function's contract);
    // each branch checks the object's type before reading it through that type's
    // accessor or layout.
    unsafe {
        let tp = ffi::Py_TYPE(arg);
        if tp == std::ptr::addr_of_mut!(ffi::PyLong_Type) {
            // ctypes passes an int that fits a C long as a C int: its low 32 bits.
            let bits = small_int(arg)?;
            *slot = Slot::ZERO;
            slot.0[..4].copy_from_slice(&(bits as u32).to_ne_bytes());
            return Some(ScalarKind::Int);
        }
        if tp == std::ptr::addr_of_mut!(ffi::PyBytes_Type) {
            *slot = word_slot(ffi::PyBytes_AS_STRING(arg) as u64);
            return Some(ScalarKind::CharPtr);
        }
        if arg == ffi::Py_None() {
            *slot = Slot::ZERO;
            return Some(ScalarKind::VoidPtr);
        }
        if tp as usize == carg {
            // The CArgObject keeps what its value points into; the caller keeps it.
            let (kind, value) = Borrowed::from_ptr(py, arg).cast_unchecked::<CArgObject>().get().scalar_value()?;
            *slot = *value;
            return Some(kind);
        }
        let (info, address) = as_cdata(py, arg, cdata)?;
        match info {
            TypeInfo { kind: InfoKind::Simple { scalar, .. }, .. } => {
                *slot = Slot::ZERO;
                // SAFETY: a simple instance's memory holds one scalar of its kind.
                std::ptr::copy_nonoverlapping(address, slot.0.as_mut_ptr(), scalar.size());
                Some(*scalar)
            }
            // These hold one address.
            TypeInfo { kind: InfoKind::Pointer { .. } | InfoKind::Function { .. }, .. } => {
                *slot = word_slot(address.cast::<u64>().read_unaligned());
                Some(ScalarKind::VoidPtr)
            }
            // An array decays to a pointer to its first element, as in C.
            TypeInfo { kind: InfoKind::Array { .. }, .. } => {
                *slot = word_slot(address as u64);
                Some(ScalarKind::VoidPtr)
            }
            TypeInfo { kind: InfoKind::Record { .. }, .. } => None,
        }
    }
}

fn word_slot(word: u64) -> Slot {
    let mut slot = Slot::ZERO;
    slot.0[..8].copy_from_slice(&word.to_ne_bytes());
    slot
}

/// A call interface for the C types of one call's arguments.
pub struct UntypedPlan {
    kinds: Box<[ScalarKind]>,
    pub plan: LibffiPlan,
}

/// The plans a signature (argtypes unset, a restype) has made for untyped calls, at
/// most [`PLANS`]; dropped with the signature (`argtypes`, `restype` set) and cleared
/// when `errcheck` is set.
#[derive(Default)]
pub struct UntypedPlans {
    plans: RefCell<Vec<Rc<UntypedPlan>>>,
}

impl UntypedPlans {
    /// The plan for calling with `args` and returning `result`: a remembered one when
    /// the arguments' C types were met before, else a new one (remembered while there
    /// is room, and unless a record is passed by value). No borrow of the cache
    /// outlives this call, so the C call (which may release the GIL or call back into
    /// Python) may use the cache again. A signature libffi refuses is a RuntimeError,
    /// as ctypes reports it.
    #[inline]
    pub fn plan_for(&self, args: &UntypedArgs<'_>, result: &CType) -> PyResult<Rc<UntypedPlan>> {
        #[allow(clippy::indexing_slicing)] // count <= MAX_ARGS, kinds' length (see `convert`)
        let kinds = &args.kinds[..args.count];
        if args.records.is_empty() {
            if let Some(plan) = self.plans.borrow().iter().find(|p| *p.kinds == *kinds) {
                return Ok(plan.clone());
            }
        }
        let call_plan = LibffiPlan::new(&args.ctypes(), result.clone()).map_err(|_| PyRuntimeError::new_err("ffi_prep_cif failed"))?;
        let plan = Rc::new(UntypedPlan { kinds: kinds.into(), plan: call_plan });
        if args.records.is_empty() {
            if let Ok(mut plans) = self.plans.try_borrow_mut() {
                if plans.len() < PLANS {
                    plans.push(plan.clone());
                }
            }
        }
        Ok(plan)
    }

    /// Forgets every plan.
    pub fn clear(&self) {
        if let Ok(mut plans) = self.plans.try_borrow_mut() {
            plans.clear();
        }
    }

    /// How many plans are remembered.
    pub fn len(&self) -> usize {
        self.plans.borrow().len()
    }
}
