//! The direct path on x86_64 System V (Linux, the BSDs, macOS): calls without libffi.
//! Compiled only for that ABI (the `cfg` in `call/mod.rs`); the names it exports are
//! the ones `call/no_direct_path.rs` lists for every ABI module.
//!
//! - `registers.rs`: the register model — the register file a call passes and how an
//!   argument's value is stored into it;
//! - `classify.rs`: the ABI's classification — which signatures have a direct plan,
//!   and where each of their arguments travels;
//! - `stubs.rs`: the calls themselves, through fixed function-pointer types.

// Register and stack-word indexes are small numbers the plan computes from the
// signature (at most 6 + 8 + DIRECT_STACK_WORDS, checked as they are assigned), and
// the arrays they index are sized by the same constants; record sizes here are at
// most 8 * DIRECT_STACK_WORDS. Nothing comes from Python unchecked.
#![allow(clippy::indexing_slicing, clippy::arithmetic_side_effects)]

mod classify;
mod registers;
mod stubs;
#[cfg(test)]
mod tests;

pub use registers::{ArgLoad, Load, RecordLoad, Registers, DIRECT_STACK_WORDS, FEW_WORDS};

use super::{NoScalarArgument, Slot};

/// A call without libffi, for signatures whose parameters are integer, pointer,
/// `float` or `double` scalars or records passed by value (below), and whose result
/// is such a scalar or `void`, with at most [`DIRECT_STACK_WORDS`] words of arguments
/// past the registers.
///
/// Why this is sound on x86_64 System V: integer-class arguments are assigned to
/// `%rdi, %rsi, %rdx, %rcx, %r8, %r9` in order and floating ones to `%xmm0..7` in
/// order, independently of each other; a callee reads only the registers its own
/// parameters occupy. Arguments of either class that find their registers full go to
/// the stack, one eightbyte each, in parameter order (for both classes together),
/// starting at the lowest address. So calling any such function through the single
/// type `fn(u64 ×6, f64 ×8) -> R` — or `fn(u64 ×6, f64 ×8, u64 ×8) -> R` when stack
/// words are needed, whose trailing `u64`s land exactly in those stack eightbytes —
/// loads every register and stack word its parameters read, and some it ignores (the
/// caller owns and pops the stack area, so extra words are harmless). Only variadic
/// callees read `%al`, which the stubs set whenever vector registers are passed.
///
/// A record (struct or union) passed by value is classified by the ABI's rules, for
/// the records taken here: aligned to at most 8 bytes, no `long double` inside, every
/// member at a multiple of its alignment when the record has at most 16 bytes (others
/// cannot be passed by value at all, see `CType::record_for_call`). Such a record of
/// at most 16 bytes is one or two eightbytes, each of class SSE when only `float` and
/// `double` members touch it and INTEGER otherwise; it travels in the next free
/// registers of those classes if there are enough for all its eightbytes, and
/// otherwise wholly on the stack, leaving the registers to later arguments. A larger
/// record is of class MEMORY: its bytes are copied to the stack, in its place among the
/// stack arguments, as consecutive eightbytes (8-byte alignment is the most these
/// records need). A stack word is a stack word whatever its class, so a record's
/// eightbytes are loaded exactly like scalars of their class. The libffi path stays
/// the reference; tests compare the two.
#[derive(Clone)]
pub struct DirectPlan {
    args: Box<[ArgLoad]>,
    ret: Return,
    /// Which registers and stack words the call must load.
    shape: Shape,
    /// Whether argument `i` travels in integer register `i`: scalars only, all in
    /// integer registers.
    gpr_only: bool,
}

/// How the result comes back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Return {
    /// In `%rax` (integers, pointers; also `void`, whose `%rax` is ignored).
    Int,
    /// In `%xmm0` (`double`, and `float` in its low 32 bits).
    Vector,
}

/// The argument words a direct call passes, from the cheapest to load to the dearest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shape {
    /// Integer registers only (no floating argument, nothing on the stack).
    Gpr,
    /// Integer registers and at most two vector registers.
    Few,
    /// Integer and vector registers.
    Registers,
    /// Registers and stack words.
    Stack,
}

impl DirectPlan {
    /// The number of arguments.
    pub fn arg_count(&self) -> usize {
        self.args.len()
    }

    /// Loads scalar argument `index` from its slot into the register or stack word it
    /// travels in; `Err` when the plan has no scalar argument `index` (a record's
    /// address goes to [`ArgLoad::store`] instead).
    #[inline]
    pub fn load(&self, regs: &mut Registers, index: usize, slot: &Slot) -> Result<(), NoScalarArgument> {
        let Some(ArgLoad::Word(load)) = self.args.get(index) else { return Err(NoScalarArgument { index }) };
        load.store(regs, slot.word());
        Ok(())
    }

    /// How each argument is loaded, in parameter order.
    pub fn args(&self) -> &[ArgLoad] {
        &self.args
    }

    /// Whether every argument is a scalar travelling in an integer register: argument
    /// `i` is then in register `i`, and [`call_gpr`](Self::call_gpr) may be used.
    pub fn gpr_only(&self) -> bool {
        self.gpr_only
    }

    /// Whether the call passes only the first [`FEW_WORDS`] words (integer registers,
    /// at most two vector registers): [`call_few`](Self::call_few) may be used.
    pub fn few_words(&self) -> bool {
        matches!(self.shape, Shape::Gpr | Shape::Few)
    }
}
