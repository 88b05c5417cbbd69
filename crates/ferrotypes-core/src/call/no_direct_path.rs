//! The direct path on targets whose ABI has no module yet: none. Every call goes
//! through libffi.
//!
//! This file is also the list of what an ABI module offers (`sysv_x86_64/` says what
//! each name means): exactly these names, with these signatures, so that the
//! extension compiles unchanged on every target. Here no value of them can exist —
//! `DirectPlan`, `Load` and `RecordLoad` each hold a `Never`, `DirectPlan::new` gives
//! None — so [`LibffiPlan::direct`](super::LibffiPlan::direct) is always None and the
//! code that would use a plan is unreachable. (Private fields rather than empty
//! enums: the extension's patterns stay what they are on x86_64, with no
//! irrefutable-pattern warnings.)

use std::ffi::c_void;

use super::{NoScalarArgument, Slot};
use crate::ctype::CType;

/// How many stack words a direct call can pass: none.
pub const DIRECT_STACK_WORDS: usize = 0;
/// The words a plan of few words passes: none.
pub const FEW_WORDS: usize = 0;

/// The words a direct call passes: none. (Not a unit struct, so that the extension's
/// `Registers::default()` reads as on other targets.)
#[derive(Clone, Copy, Default)]
pub struct Registers<const N: usize = 0>(());

/// A type without values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Never {}

/// How one scalar argument is loaded: never, there is no plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Load(Never);

impl Load {
    /// Stores an argument's word where the call reads it.
    pub fn store<const N: usize>(self, _regs: &mut Registers<N>, _word: u64) {
        match self.0 {}
    }

    /// The word as the callee reads it.
    pub fn widen(self, _word: u64) -> u64 {
        match self.0 {}
    }
}

/// How a record argument is loaded: never, there is no plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordLoad(Never);

impl RecordLoad {
    /// The record's size in bytes.
    pub fn size(self) -> usize {
        match self.0 {}
    }

    /// Copies the record at `bytes` into the words the call passes.
    ///
    /// # Safety
    /// Never called: no value of this type exists.
    pub unsafe fn store<const N: usize>(self, _regs: &mut Registers<N>, _bytes: *const u8) {
        match self.0 {}
    }
}

/// How one argument of a direct call is loaded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArgLoad {
    /// A scalar.
    Word(Load),
    /// A record passed by value.
    Record(RecordLoad),
}

impl ArgLoad {
    /// Loads the argument from `word`.
    ///
    /// # Safety
    /// Never called: no value of this type exists (neither variant's field has one).
    pub unsafe fn store<const N: usize>(self, regs: &mut Registers<N>, word: u64) {
        match self {
            ArgLoad::Word(load) => load.store(regs, word),
            ArgLoad::Record(record) => match record.0 {},
        }
    }
}

/// A call without libffi: none on this target.
#[derive(Clone)]
pub struct DirectPlan(Never);

impl DirectPlan {
    /// No signature has a direct plan here.
    pub(in crate::call) fn new(_args: &[CType], _result: &CType) -> Option<DirectPlan> {
        None
    }

    /// The number of arguments.
    pub fn arg_count(&self) -> usize {
        match self.0 {}
    }

    /// Loads scalar argument `index` from its slot.
    pub fn load(&self, _regs: &mut Registers, _index: usize, _slot: &Slot) -> Result<(), NoScalarArgument> {
        match self.0 {}
    }

    /// How each argument is loaded.
    pub fn args(&self) -> &[ArgLoad] {
        match self.0 {}
    }

    /// Whether every argument travels in an integer register.
    pub fn gpr_only(&self) -> bool {
        match self.0 {}
    }

    /// Whether the call passes only the first [`FEW_WORDS`] words.
    pub fn few_words(&self) -> bool {
        match self.0 {}
    }

    /// Calls `function`.
    ///
    /// # Safety
    /// Never called: no value of this type exists.
    pub unsafe fn call(&self, _function: *const c_void, _regs: &Registers) -> Slot {
        match self.0 {}
    }

    /// Calls `function` given the first [`FEW_WORDS`] words.
    ///
    /// # Safety
    /// Never called: no value of this type exists.
    pub unsafe fn call_few(&self, _function: *const c_void, _regs: &Registers<FEW_WORDS>) -> u64 {
        match self.0 {}
    }

    /// Calls `function` given its integer-register arguments.
    ///
    /// # Safety
    /// Never called: no value of this type exists.
    pub unsafe fn call_gpr(&self, _function: *const c_void, _g: &[u64; 6]) -> u64 {
        match self.0 {}
    }

    /// Calls `function`, which may be variadic.
    ///
    /// # Safety
    /// Never called: no value of this type exists.
    pub unsafe fn call_maybe_variadic(&self, _function: *const c_void, _regs: &Registers) -> u64 {
        match self.0 {}
    }

    /// Calls `function`, which may be variadic, given its integer-register arguments.
    ///
    /// # Safety
    /// Never called: no value of this type exists.
    pub unsafe fn call_gpr_maybe_variadic(&self, _function: *const c_void, _g: &[u64; 6]) -> u64 {
        match self.0 {}
    }
}
