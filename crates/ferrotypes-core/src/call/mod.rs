//! Calling C functions: a signature prepared once, then called many times with
//! argument values already written as raw C values.
//!
//! Two ways to call, both prepared from the same signature:
//!
//! - [`LibffiPlan`] (`libffi_plan.rs`): a libffi call interface; any signature libffi
//!   describes, on any target libffi supports, arguments given as pointers to their
//!   values ([`Slot`]s, or a record's own memory). It is the reference.
//! - [`DirectPlan`]: the *direct* path, a call without libffi for the signatures this
//!   target's ABI module classifies (scalars and small records in, a scalar or `void`
//!   out): each argument's register or stack word is worked out once, the values are
//!   stored into a register file ([`Registers`]) and the function is called through a
//!   fixed function-pointer type that loads exactly those registers and words. A
//!   `LibffiPlan` carries one when the signature has one ([`LibffiPlan::direct`]).
//!
//! Everything that depends on the ABI is in the direct path's module, chosen below by
//! one `cfg`: `sysv_x86_64/` (the System V classification and register model in
//! `registers.rs` and `classify.rs`, the call stubs in `stubs.rs`) on x86_64 Unix, and
//! `no_direct_path.rs` elsewhere, where no direct plan can be made and every call goes
//! through libffi. Another ABI is another module offering the names that file lists.
//!
//! What it does not do: convert values (callers write raw C values) or check that a
//! function really has the signature it is called with — C cannot tell.

use std::ffi::c_void;

mod libffi_plan;

#[cfg_attr(all(target_arch = "x86_64", unix), path = "sysv_x86_64/mod.rs")]
#[cfg_attr(not(all(target_arch = "x86_64", unix)), path = "no_direct_path.rs")]
mod direct;

// Compiled on every test build, so that the other targets' module keeps compiling.
#[cfg(test)]
#[allow(dead_code, clippy::duplicate_mod)]
mod no_direct_path;

pub use direct::{ArgLoad, DirectPlan, Load, RecordLoad, Registers, DIRECT_STACK_WORDS, FEW_WORDS};
pub use libffi_plan::{LibffiPlan, PrepError};

/// One argument's storage: big enough and aligned for any scalar, `long double`
/// included. Records passed by value live elsewhere; their slot is unused and the
/// argument pointer points at the record's own memory.
#[derive(Clone, Copy)]
#[repr(C, align(16))]
pub struct Slot(pub [u8; 16]);

impl Slot {
    /// A zeroed slot.
    pub const ZERO: Slot = Slot([0; 16]);

    /// The slot's first eight bytes as a native-order word (a pointer's or an
    /// integer's value).
    pub fn word(&self) -> u64 {
        let [b0, b1, b2, b3, b4, b5, b6, b7, ..] = self.0;
        u64::from_ne_bytes([b0, b1, b2, b3, b4, b5, b6, b7])
    }

    /// A pointer to the slot's bytes, as libffi wants argument pointers.
    pub fn as_mut_ptr(&mut self) -> *mut c_void {
        self.0.as_mut_ptr().cast()
    }
}

/// Why [`DirectPlan::load`] refused: the plan has no scalar argument `index` (it has
/// fewer arguments, or that one is a record, whose address goes to
/// [`ArgLoad::store`] instead).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NoScalarArgument {
    /// The index asked for.
    pub index: usize,
}

impl std::fmt::Display for NoScalarArgument {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the direct plan has no scalar argument {}", self.index)
    }
}

impl std::error::Error for NoScalarArgument {}
