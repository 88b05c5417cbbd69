//! Call plans: a C signature prepared once into a libffi call interface, then called
//! many times with argument values already written into slots.
//!
//! What it does not do: convert values (callers write raw C values into [`Slot`]s) or
//! check that a function really has the signature it is called with — C cannot tell.

use std::ffi::c_void;

use libffi::middle::{Cif, Type};
use libffi::raw::ffi_call;

use crate::ctype::CType;

/// One argument's storage: big enough and aligned for any scalar, `long double`
/// included. Records passed by value live elsewhere; their slot is unused and the
/// argument pointer points at the record's own memory.
#[derive(Clone, Copy)]
#[repr(C, align(16))]
pub struct Slot(pub [u8; 16]);

impl Slot {
    /// A zeroed slot.
    pub const ZERO: Slot = Slot([0; 16]);

    /// A pointer to the slot's bytes, as libffi wants argument pointers.
    pub fn as_mut_ptr(&mut self) -> *mut c_void {
        self.0.as_mut_ptr().cast()
    }
}

/// A prepared signature. Immutable once built; cheap to share between threads.
pub struct CallPlan {
    cif: Cif,
    arg_count: usize,
    result: CType,
}

// SAFETY: a prepared ffi_cif is only read by ffi_call; libffi never mutates it after
// ffi_prep_cif, and the Types it points to are owned by the Cif and never change.
unsafe impl Send for CallPlan {}
// SAFETY: as above, concurrent ffi_call on one cif is how libffi is meant to be used.
unsafe impl Sync for CallPlan {}

impl CallPlan {
    /// Prepares a call to a function taking `args` and returning `result`.
    pub fn new(args: &[CType], result: CType) -> CallPlan {
        let cif = Cif::new(args.iter().map(CType::ffi_type), result.ffi_type());
        CallPlan { cif, arg_count: args.len(), result }
    }

    /// Prepares a call to a variadic function whose first `fixed` parameters are
    /// declared, the rest being this call's extra arguments (already promoted as C's
    /// default argument promotions require).
    pub fn new_variadic(args: &[CType], fixed: usize, result: CType) -> CallPlan {
        let types: Vec<Type> = args.iter().map(CType::ffi_type).collect();
        let cif = Cif::new_variadic(types, fixed, result.ffi_type());
        CallPlan { cif, arg_count: args.len(), result }
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
    /// word, so `result` must have room for `max(result size, 8)` bytes.
    ///
    /// # Safety
    /// `function` must be a function with this plan's signature; `args` must hold
    /// exactly [`arg_count`](Self::arg_count) pointers, each to a valid value of its
    /// parameter's type; `result` must be writable and aligned as described above.
    pub unsafe fn call(&self, function: *const c_void, args: &mut [*mut c_void], result: *mut c_void) {
        debug_assert_eq!(args.len(), self.arg_count);
        // SAFETY: the caller guarantees the signature and the argument pointers;
        // the cif outlives the call because it is borrowed from self.
        let f: unsafe extern "C" fn() = unsafe { std::mem::transmute(function) };
        unsafe { ffi_call(self.cif.as_raw_ptr(), Some(f), result, args.as_mut_ptr()) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
        let plan = CallPlan::new(&[const { CType::Scalar(ScalarKind::Int) }; 2], CType::Scalar(ScalarKind::Int));
        let (mut a, mut b) = (slot_of(3i32), slot_of(4i32));
        let mut args = [a.as_mut_ptr(), b.as_mut_ptr()];
        let mut out = Slot::ZERO;
        // SAFETY: `add` has the signature (int, int) -> int.
        unsafe { plan.call(add as *const c_void, &mut args, out.as_mut_ptr()) };
        assert_eq!(i32::from_ne_bytes(out.0[..4].try_into().unwrap()), 7);
    }

    #[test]
    fn calls_mixed_float_function() {
        let plan = CallPlan::new(
            &[CType::Scalar(ScalarKind::Double), CType::Scalar(ScalarKind::Float)],
            CType::Scalar(ScalarKind::Double),
        );
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
        let snprintf = crate::library::symbol(h, "snprintf").unwrap();
        let p = CType::Scalar(ScalarKind::VoidPtr);
        let args = [p.clone(), CType::Scalar(ScalarKind::ULong), p, CType::Scalar(ScalarKind::Int), CType::Scalar(ScalarKind::Double)];
        let plan = CallPlan::new_variadic(&args, 3, CType::Scalar(ScalarKind::Int));
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
