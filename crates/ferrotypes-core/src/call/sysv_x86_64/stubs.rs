//! The direct call stubs: a [`DirectPlan`]'s register file passed to the function
//! through one of a few fixed function-pointer types, whose System V argument
//! assignment puts each word in the register or stack word the plan gave it (see
//! [`DirectPlan`] for why this is sound).

use std::ffi::c_void;

use super::registers::{Registers, FEW_WORDS, FIRST_SSE, FIRST_STACK};
use super::{DirectPlan, Return, Shape};
use crate::call::Slot;

/// The C-variadic forms: calling through them makes the compiler set `%al` to the
/// number of vector registers passed, which a variadic callee reads (it reads the
/// arguments' registers and stack words like any other callee).
type IntReturningVariadic = unsafe extern "C" fn(u64, ...) -> u64;
type VectorReturningVariadic = unsafe extern "C" fn(u64, ...) -> f64;
type IntReturningGpr = unsafe extern "C" fn(u64, u64, u64, u64, u64, u64) -> u64;
type VectorReturningGpr = unsafe extern "C" fn(u64, u64, u64, u64, u64, u64) -> f64;
// Calls that pass vector registers always go through the variadic forms: a declared
// signature may still be a variadic function's (`printf` with `argtypes` naming each
// argument), which reads `%al` to know whether to save the vector registers, and the
// one `mov` that sets it costs nothing beside the call. (A `Gpr` call passes none, so
// whatever `%al` holds, the callee finds no vector argument missing.)
type IntReturningFew = IntReturningVariadic;
type VectorReturningFew = VectorReturningVariadic;
type IntReturning = IntReturningVariadic;
type VectorReturning = VectorReturningVariadic;
type IntReturningStack = IntReturningVariadic;
type VectorReturningStack = VectorReturningVariadic;

impl DirectPlan {
    /// Calls `function`, returning the result as libffi would write it: integers
    /// widened to a word, floating results in their own format at the slot's start.
    ///
    /// # Safety
    /// `function` must be a function with the plan's signature (the one it was made
    /// from), and every argument must have been stored into `regs` (by
    /// [`ArgLoad::store`](super::ArgLoad::store) or [`load`](Self::load)), a record's
    /// from memory that was readable for its size.
    #[inline(always)]
    pub unsafe fn call(&self, function: *const c_void, regs: &Registers) -> Slot {
        let w = &regs.words;
        let g = &w[..6];
        let x: [f64; 8] = std::array::from_fn(|i| f64::from_bits(w[FIRST_SSE as usize + i]));
        let s = &w[FIRST_STACK as usize..];
        let mut out = Slot::ZERO;
        // SAFETY (every transmute and call below): `function` is a function pointer
        // (the caller's promise), as wide as a data pointer. The System V assignment
        // of registers and stack words (see the type's documentation) makes each call
        // load every register and stack word the function's real parameters occupy,
        // with the values the plan stored there, so it is a call through the real
        // type; a float result sits in the low half of %xmm0. A `Gpr` plan has no
        // floating parameter, so the vector registers it does not load are ones the
        // callee does not read.
        let word = match (self.ret, self.shape) {
            (Return::Int, Shape::Gpr) => {
                let f: IntReturningGpr = unsafe { std::mem::transmute(function) };
                unsafe { f(g[0], g[1], g[2], g[3], g[4], g[5]) }
            }
            (Return::Vector, Shape::Gpr) => {
                let f: VectorReturningGpr = unsafe { std::mem::transmute(function) };
                unsafe { f(g[0], g[1], g[2], g[3], g[4], g[5]) }.to_bits()
            }
            (Return::Int, Shape::Few | Shape::Registers) => {
                let f: IntReturning = unsafe { std::mem::transmute(function) };
                unsafe { f(g[0], g[1], g[2], g[3], g[4], g[5], x[0], x[1], x[2], x[3], x[4], x[5], x[6], x[7]) }
            }
            (Return::Vector, Shape::Few | Shape::Registers) => {
                let f: VectorReturning = unsafe { std::mem::transmute(function) };
                unsafe { f(g[0], g[1], g[2], g[3], g[4], g[5], x[0], x[1], x[2], x[3], x[4], x[5], x[6], x[7]) }.to_bits()
            }
            (Return::Int, Shape::Stack) => {
                let f: IntReturningStack = unsafe { std::mem::transmute(function) };
                unsafe {
                    f(g[0], g[1], g[2], g[3], g[4], g[5], x[0], x[1], x[2], x[3], x[4], x[5], x[6], x[7], s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7])
                }
            }
            (Return::Vector, Shape::Stack) => {
                let f: VectorReturningStack = unsafe { std::mem::transmute(function) };
                unsafe {
                    f(g[0], g[1], g[2], g[3], g[4], g[5], x[0], x[1], x[2], x[3], x[4], x[5], x[6], x[7], s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7])
                }
                .to_bits()
            }
        };
        out.0[..8].copy_from_slice(&word.to_le_bytes());
        out
    }

    /// [`call`](Self::call) for a plan whose arguments are all in the first
    /// [`FEW_WORDS`] words ([`few_words`](Self::few_words)), returning the result's
    /// word: the first 8 bytes of `call`'s slot.
    ///
    /// # Safety
    /// As for [`call`](Self::call) — `function` has the plan's signature, every
    /// argument was stored into `regs` — and the plan is
    /// [`few_words`](Self::few_words).
    #[inline(always)]
    pub unsafe fn call_few(&self, function: *const c_void, regs: &Registers<FEW_WORDS>) -> u64 {
        debug_assert!(self.few_words());
        let w = &regs.words;
        let (x0, x1) = (f64::from_bits(w[6]), f64::from_bits(w[7]));
        // SAFETY (every transmute and call below): `function` has the plan's signature
        // and the plan is few_words (the caller's promises), so the callee's parameters
        // occupy at most the six integer registers and %xmm0..1, all passed here with
        // the values the plan stored; the System V assignment makes this a call
        // through its real type (see `call`).
        match self.ret {
            Return::Int => {
                let f: IntReturningFew = unsafe { std::mem::transmute(function) };
                unsafe { f(w[0], w[1], w[2], w[3], w[4], w[5], x0, x1) }
            }
            Return::Vector => {
                let f: VectorReturningFew = unsafe { std::mem::transmute(function) };
                unsafe { f(w[0], w[1], w[2], w[3], w[4], w[5], x0, x1) }.to_bits()
            }
        }
    }

    /// [`call_few`](Self::call_few) for a [`gpr_only`](Self::gpr_only) plan, given
    /// just the six integer argument registers (widened by
    /// [`Load::widen`](super::Load::widen), unused ones zero).
    ///
    /// # Safety
    /// `function` has the plan's signature, the plan is [`gpr_only`](Self::gpr_only),
    /// and `g[i]` is argument `i` widened by its [`Load::widen`](super::Load::widen).
    #[inline(always)]
    pub unsafe fn call_gpr(&self, function: *const c_void, g: &[u64; 6]) -> u64 {
        debug_assert!(self.gpr_only());
        // SAFETY (every transmute and call below): `function` has the plan's signature
        // and the plan is gpr_only (the caller's promises): its parameters are the
        // integer registers 0..n in order, passed here widened, and it reads no vector
        // register, so this is a call through its real type (see `call`).
        match self.ret {
            Return::Int => {
                let f: IntReturningGpr = unsafe { std::mem::transmute(function) };
                unsafe { f(g[0], g[1], g[2], g[3], g[4], g[5]) }
            }
            Return::Vector => {
                let f: VectorReturningGpr = unsafe { std::mem::transmute(function) };
                unsafe { f(g[0], g[1], g[2], g[3], g[4], g[5]) }.to_bits()
            }
        }
    }

    /// [`call`](Self::call) for a function that may be variadic (a call without a
    /// declared signature): every register and stack word is passed through a
    /// C-variadic function type, so that `%al` tells the callee how many vector
    /// registers hold arguments (0 for a `gpr_only` plan, else 8, an upper bound the
    /// ABI allows), as libffi does. Returns the result's word.
    ///
    /// # Safety
    /// `function` is a function whose parameters (the fixed ones, then the variadic
    /// ones as C promotes them) are the plan's signature, and every argument was
    /// stored into `regs`, as for [`call`](Self::call).
    #[inline(always)]
    pub unsafe fn call_maybe_variadic(&self, function: *const c_void, regs: &Registers) -> u64 {
        let w = &regs.words;
        let x: [f64; 8] = std::array::from_fn(|i| f64::from_bits(w[FIRST_SSE as usize + i]));
        let s = &w[FIRST_STACK as usize..];
        // SAFETY (every transmute and call below): `function` is a function pointer
        // whose parameters are the plan's signature (the caller's promise). In the
        // System V ABI a variadic call assigns registers and stack words to its
        // arguments exactly as a prototyped one does (six integers to the integer
        // registers, eight doubles to %xmm0-7, the rest to the stack in order), so
        // each call below passes the words `call` passes, which hold the values the
        // plan stored; the callee reads those its real type gives it, and %al tells a
        // variadic one how many vector registers to save.
        unsafe {
            match (self.ret, self.shape) {
                (Return::Int, Shape::Gpr) => {
                    let f: IntReturningVariadic = std::mem::transmute(function);
                    f(w[0], w[1], w[2], w[3], w[4], w[5])
                }
                (Return::Vector, Shape::Gpr) => {
                    let f: VectorReturningVariadic = std::mem::transmute(function);
                    f(w[0], w[1], w[2], w[3], w[4], w[5]).to_bits()
                }
                (Return::Int, _) => {
                    let f: IntReturningVariadic = std::mem::transmute(function);
                    f(w[0], w[1], w[2], w[3], w[4], w[5], x[0], x[1], x[2], x[3], x[4], x[5], x[6], x[7], s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7])
                }
                (Return::Vector, _) => {
                    let f: VectorReturningVariadic = std::mem::transmute(function);
                    f(w[0], w[1], w[2], w[3], w[4], w[5], x[0], x[1], x[2], x[3], x[4], x[5], x[6], x[7], s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7])
                        .to_bits()
                }
            }
        }
    }

    /// [`call_maybe_variadic`](Self::call_maybe_variadic) for a
    /// [`gpr_only`](Self::gpr_only) plan, given just the six integer argument
    /// registers as for [`call_gpr`](Self::call_gpr) (`%al` is 0).
    ///
    /// # Safety
    /// As for [`call_maybe_variadic`](Self::call_maybe_variadic) — `function`'s
    /// parameters, fixed and promoted variadic ones, are the plan's signature — and
    /// as for [`call_gpr`](Self::call_gpr): the plan is `gpr_only` and `g[i]` is
    /// argument `i` widened.
    #[inline(always)]
    pub unsafe fn call_gpr_maybe_variadic(&self, function: *const c_void, g: &[u64; 6]) -> u64 {
        debug_assert!(self.gpr_only());
        // SAFETY (the transmute and call below): `function`'s parameters are the
        // plan's signature and all travel in integer registers, which a variadic call
        // assigns as a prototyped one does; they are passed here widened, with %al 0
        // (no vector register holds an argument).
        unsafe {
            match self.ret {
                Return::Int => {
                    let f: IntReturningVariadic = std::mem::transmute(function);
                    f(g[0], g[1], g[2], g[3], g[4], g[5])
                }
                Return::Vector => {
                    let f: VectorReturningVariadic = std::mem::transmute(function);
                    f(g[0], g[1], g[2], g[3], g[4], g[5]).to_bits()
                }
            }
        }
    }
}
