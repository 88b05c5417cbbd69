//! The libffi plan: a C signature prepared once into a libffi call interface (fixed or
//! variadic), then called with pointers to the argument values. Any signature libffi
//! can describe, on any target; the reference the direct path is tested against.

use std::ffi::c_void;

use libffi::middle::{Cif, Type};
use libffi::raw::ffi_call;

use super::DirectPlan;
use crate::ctype::CType;

/// A signature prepared for libffi, with its [`DirectPlan`] when the target's ABI
/// module gives it one. Immutable once built; cheap to share between threads.
pub struct LibffiPlan {
    cif: Cif,
    arg_count: usize,
    result: CType,
    direct: Option<DirectPlan>,
}

// SAFETY: a prepared ffi_cif is only read by ffi_call; libffi never mutates it after
// ffi_prep_cif, and the Types it points to are owned by the Cif and never change.
unsafe impl Send for LibffiPlan {}
// SAFETY: ffi_call only reads the prepared cif and its Types, which never change after
// ffi_prep_cif, so concurrent calls through one cif share nothing mutable (libffi is
// meant to be used so); the direct plan is plain data.
unsafe impl Sync for LibffiPlan {}

/// Why libffi refused to prepare a signature: a type it cannot describe (a record of
/// no bytes: no members, `_fields_ = []`, an incomplete one), too many arguments, or
/// memory. The extension turns it into ctypes' `RuntimeError`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PrepError(pub libffi::low::Error);

impl PrepError {
    /// libffi's `ffi_status` number, which ctypes puts in some of its messages.
    pub fn status(self) -> u32 {
        match self.0 {
            libffi::low::Error::Typedef => 1,
            libffi::low::Error::Abi => 2,
            libffi::low::Error::ArgType => 3,
            libffi::low::Error::Allocation => 4,
            _ => 1,
        }
    }
}

impl std::fmt::Display for PrepError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let why = match self.0 {
            libffi::low::Error::Typedef => "a type libffi cannot describe (a structure or union of no bytes)",
            libffi::low::Error::Abi => "an unsupported calling convention",
            libffi::low::Error::ArgType => "an unsupported argument type or count",
            libffi::low::Error::Allocation => "out of memory",
            _ => "an error libffi did not name",
        };
        write!(f, "ffi_prep_cif failed: {why}")
    }
}

impl std::error::Error for PrepError {}

impl LibffiPlan {
    /// Prepares a call to a function taking `args` and returning `result`; `Err` when
    /// libffi cannot describe one of the types.
    pub fn new(args: &[CType], result: CType) -> Result<LibffiPlan, PrepError> {
        let cif = Cif::try_new(args.iter().map(CType::ffi_type), result.ffi_type()).map_err(PrepError)?;
        let direct = DirectPlan::new(args, &result);
        Ok(LibffiPlan { cif, arg_count: args.len(), result, direct })
    }

    /// Prepares a call to a variadic function whose first `fixed` parameters are
    /// declared, the rest being this call's extra arguments (already promoted as C's
    /// default argument promotions require).
    pub fn new_variadic(args: &[CType], fixed: usize, result: CType) -> Result<LibffiPlan, PrepError> {
        let types: Vec<Type> = args.iter().map(CType::ffi_type).collect();
        let cif = Cif::try_new_variadic(types, fixed, result.ffi_type()).map_err(PrepError)?;
        // Variadic callees read %al (the number of vector registers used), which only
        // libffi sets: no direct path for them.
        Ok(LibffiPlan { cif, arg_count: args.len(), result, direct: None })
    }

    /// The libffi-free path for this signature, if it has one.
    pub fn direct(&self) -> Option<&DirectPlan> {
        self.direct.as_ref()
    }

    /// The number of arguments the plan expects.
    pub fn arg_count(&self) -> usize {
        self.arg_count
    }

    /// The result type.
    pub fn result(&self) -> &CType {
        &self.result
    }

    /// Calls `function` with the argument values `args` points at, writing the result
    /// into `result`.
    ///
    /// Integer results narrower than a machine word are widened by libffi to a full
    /// `ffi_arg`, so `result` must have room for `max(result size, size_of::<ffi_arg>())`
    /// bytes (8 on 64-bit targets).
    ///
    /// # Safety
    /// `function` must be a function with this plan's signature; `args` must hold
    /// exactly [`arg_count`](Self::arg_count) pointers, each to a valid value of its
    /// parameter's type; `result` must be writable and aligned as described above.
    pub unsafe fn call(&self, function: *const c_void, args: &mut [*mut c_void], result: *mut c_void) {
        debug_assert_eq!(args.len(), self.arg_count);
        // SAFETY: a function pointer and a data pointer have the same size; libffi
        // calls it only through the cif, with the signature the caller guarantees.
        let f: unsafe extern "C" fn() = unsafe { std::mem::transmute(function) };
        // SAFETY: the caller guarantees the signature, one valid pointer per parameter
        // and a result buffer of the room described above; the cif outlives the call
        // because it is borrowed from self.
        unsafe { ffi_call(self.cif.as_raw_ptr(), Some(f), result, args.as_mut_ptr()) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::call::Slot;
    use crate::ctype::ScalarKind;

    extern "C" fn add(a: i32, b: i32) -> i32 {
        a + b
    }

    extern "C" fn scale(x: f64, k: f32) -> f64 {
        x * k as f64
    }

    fn slot_of<T: Copy>(v: T) -> Slot {
        let mut s = Slot::ZERO;
        // SAFETY: every T used here is at most 16 bytes; the slot is 16-aligned.
        unsafe { s.0.as_mut_ptr().cast::<T>().write(v) };
        s
    }

    #[test]
    fn calls_int_function() {
        let plan = LibffiPlan::new(&[const { CType::Scalar(ScalarKind::Int) }; 2], CType::Scalar(ScalarKind::Int)).unwrap();
        let (mut a, mut b) = (slot_of(3i32), slot_of(4i32));
        let mut args = [a.as_mut_ptr(), b.as_mut_ptr()];
        let mut out = Slot::ZERO;
        // SAFETY: `add` has the signature (int, int) -> int.
        unsafe { plan.call(add as *const c_void, &mut args, out.as_mut_ptr()) };
        assert_eq!(i32::from_ne_bytes(out.0[..4].try_into().unwrap()), 7);
    }

    #[test]
    fn calls_mixed_float_function() {
        let plan = LibffiPlan::new(
            &[CType::Scalar(ScalarKind::Double), CType::Scalar(ScalarKind::Float)],
            CType::Scalar(ScalarKind::Double),
        ).unwrap();
        let (mut a, mut b) = (slot_of(1.5f64), slot_of(2.0f32));
        let mut args = [a.as_mut_ptr(), b.as_mut_ptr()];
        let mut out = Slot::ZERO;
        // SAFETY: `scale` has the signature (double, float) -> double.
        unsafe { plan.call(scale as *const c_void, &mut args, out.as_mut_ptr()) };
        assert_eq!(f64::from_ne_bytes(out.0[..8].try_into().unwrap()), 3.0);
    }

    #[test]
    fn calls_variadic_libc_snprintf() {
        let h = crate::library::open(None, crate::library::RTLD_LOCAL).unwrap();
        // SAFETY: h was just returned by open.
        let snprintf = unsafe { crate::library::symbol(h, "snprintf") }.unwrap();
        let p = CType::Scalar(ScalarKind::VoidPtr);
        let args = [p.clone(), CType::Scalar(ScalarKind::ULong), p, CType::Scalar(ScalarKind::Int), CType::Scalar(ScalarKind::Double)];
        let plan = LibffiPlan::new_variadic(&args, 3, CType::Scalar(ScalarKind::Int)).unwrap();
        let mut buf = [0u8; 32];
        let fmt = b"%d-%.1f\0";
        let mut slots = [
            slot_of(buf.as_mut_ptr()),
            slot_of(buf.len() as u64),
            slot_of(fmt.as_ptr()),
            slot_of(42i32),
            slot_of(2.5f64),
        ];
        let mut ptrs: Vec<*mut c_void> = slots.iter_mut().map(Slot::as_mut_ptr).collect();
        let mut out = Slot::ZERO;
        // SAFETY: snprintf(char*, size_t, const char*, ...) with an int and a double.
        unsafe { plan.call(snprintf, &mut ptrs, out.as_mut_ptr()) };
        assert_eq!(&buf[..7], b"42-2.5\0");
    }
}
