//! Call plans: a C signature prepared once into a libffi call interface, then called
//! many times with argument values already written into slots.
//!
//! Plans whose parameters are scalars or records passed by value, and whose result is
//! a scalar or `void`, also carry a [`DirectPlan`], which calls the function without
//! libffi (see there).
//!
//! What it does not do: convert values (callers write raw C values into [`Slot`]s) or
//! check that a function really has the signature it is called with — C cannot tell.

// Register and stack-word indexes are small numbers the plan computes from the
// signature (at most 6 + 8 + DIRECT_STACK_WORDS, checked as they are assigned), and
// the arrays they index are sized by the same constants; record sizes here are at
// most 8 * DIRECT_STACK_WORDS. Nothing comes from Python unchecked.
#![allow(clippy::indexing_slicing, clippy::arithmetic_side_effects)]

use std::ffi::c_void;

use libffi::middle::{Cif, Type};
use libffi::raw::ffi_call;

use crate::ctype::{CType, NumberClass, ScalarKind};

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

/// A prepared signature. Immutable once built; cheap to share between threads.
pub struct CallPlan {
    cif: Cif,
    arg_count: usize,
    result: CType,
    direct: Option<DirectPlan>,
}

// SAFETY: a prepared ffi_cif is only read by ffi_call; libffi never mutates it after
// ffi_prep_cif, and the Types it points to are owned by the Cif and never change.
unsafe impl Send for CallPlan {}
// SAFETY: as above, concurrent ffi_call on one cif is how libffi is meant to be used.
unsafe impl Sync for CallPlan {}

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

impl CallPlan {
    /// Prepares a call to a function taking `args` and returning `result`; `Err` when
    /// libffi cannot describe one of the types.
    pub fn new(args: &[CType], result: CType) -> Result<CallPlan, PrepError> {
        let cif = Cif::try_new(args.iter().map(CType::ffi_type), result.ffi_type()).map_err(PrepError)?;
        let direct = DirectPlan::new(args, &result);
        Ok(CallPlan { cif, arg_count: args.len(), result, direct })
    }

    /// Prepares a call to a variadic function whose first `fixed` parameters are
    /// declared, the rest being this call's extra arguments (already promoted as C's
    /// default argument promotions require).
    pub fn new_variadic(args: &[CType], fixed: usize, result: CType) -> Result<CallPlan, PrepError> {
        let types: Vec<Type> = args.iter().map(CType::ffi_type).collect();
        let cif = Cif::try_new_variadic(types, fixed, result.ffi_type()).map_err(PrepError)?;
        // Variadic callees read %al (the number of vector registers used), which only
        // libffi sets: no direct path for them.
        Ok(CallPlan { cif, arg_count: args.len(), result, direct: None })
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

/// How many stack words a direct call can pass after the registers are full.
pub const DIRECT_STACK_WORDS: usize = 8;

/// The argument words a direct call passes: the six integer argument registers and
/// the eight vector argument registers of the x86_64 System V ABI, then up to
/// [`DIRECT_STACK_WORDS`] eightbytes on the stack. A plan of the [`FEW_WORDS`] shape
/// (see [`DirectPlan::few_words`]) may be given just the first `N` = 8 of them.
#[derive(Clone, Copy)]
pub struct Registers<const N: usize = REGISTER_WORDS> {
    /// `%rdi..%r9` at 0..6, `%xmm0..7` at 6..14, the stack words from 14.
    words: [u64; N],
}

const REGISTER_WORDS: usize = 6 + 8 + DIRECT_STACK_WORDS;
const FIRST_SSE: u8 = 6;
const FIRST_STACK: u8 = 14;
/// The words a plan of the `Few` shape passes: the integer registers, `%xmm0..1`.
pub const FEW_WORDS: usize = 8;

impl<const N: usize> Default for Registers<N> {
    #[inline(always)]
    fn default() -> Registers<N> {
        Registers { words: [0; N] }
    }
}

/// Where one argument's word goes and how it is widened, worked out once per plan:
/// `words[index] = extend(word << shift) >> shift`, arithmetic when `signed`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Load {
    index: u8,
    shift: u8,
    signed: bool,
}

impl Load {
    /// Stores an argument's word (its value in the low bytes) where the call reads
    /// it, widened as its type requires.
    #[inline(always)]
    pub fn store<const N: usize>(self, regs: &mut Registers<N>, word: u64) {
        regs.words[self.index as usize] = self.widen(word);
    }

    /// The word as the callee reads it (narrow integers extended to 64 bits).
    #[inline(always)]
    pub fn widen(self, word: u64) -> u64 {
        let Load { shift, signed, .. } = self;
        if signed {
            ((word << shift) as i64 >> shift) as u64
        } else {
            (word << shift) >> shift
        }
    }

    fn new(place: Place) -> Load {
        let (index, kind) = match place {
            Place::Gpr(n, kind) => (n, kind),
            Place::Double(n) => (FIRST_SSE + n, ScalarKind::Double),
            Place::Float(n) => (FIRST_SSE + n, ScalarKind::Float),
            Place::Stack(n, kind) => (FIRST_STACK + n, kind),
        };
        // Integers narrower than 64 bits are sign- or zero-extended by their
        // signedness; a float keeps its low 32 bits; 8-byte values pass unchanged.
        let size = kind.size().min(8) as u8;
        Load { index, shift: 64 - 8 * size, signed: kind.number_class() == NumberClass::Signed }
    }
}

/// How one argument of a direct call is loaded, worked out once per plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArgLoad {
    /// A scalar: one word.
    Word(Load),
    /// A record passed by value: its bytes, copied eightbyte by eightbyte.
    Record(RecordLoad),
}

impl ArgLoad {
    /// Loads the argument from `word`: a scalar's value (in its low bytes), or the
    /// address of a record's bytes.
    ///
    /// # Safety
    /// For a record, `word` is the address of at least [`RecordLoad::size`] readable
    /// bytes.
    #[inline(always)]
    pub unsafe fn store<const N: usize>(self, regs: &mut Registers<N>, word: u64) {
        match self {
            ArgLoad::Word(load) => load.store(regs, word),
            // SAFETY: per this function's contract.
            ArgLoad::Record(record) => unsafe { record.store(regs, word as *const u8) },
        }
    }
}

/// Where the eightbytes of a record passed by value go: the System V classification
/// (see [`DirectPlan`]) done once, each eightbyte given its integer register, vector
/// register or stack word.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordLoad {
    size: u8,
    /// The word (index into [`Registers`]) of the first eightbyte.
    first: u8,
    /// The word of the second eightbyte, if any; further ones (a record passed in
    /// memory, whose words are consecutive) follow it.
    second: u8,
}

impl RecordLoad {
    /// The record's size in bytes: how many [`store`](Self::store) reads.
    pub fn size(self) -> usize {
        usize::from(self.size)
    }

    /// Copies the record at `bytes` into the words the call passes (a last, partial
    /// eightbyte zero-extended: the callee reads only the record's own bytes).
    ///
    /// # Safety
    /// `bytes` points at [`size`](Self::size) readable bytes.
    #[inline(always)]
    pub unsafe fn store<const N: usize>(self, regs: &mut Registers<N>, bytes: *const u8) {
        let (first, second) = (usize::from(self.first), usize::from(self.second));
        // Eightbyte `k`, the last one possibly partial.
        let eightbyte = |k: usize| {
            let n = (self.size() - 8 * k).min(8);
            // SAFETY: bytes 8 * k..8 * k + n lie within the record.
            unsafe { if n == 8 { bytes.add(8 * k).cast::<u64>().read_unaligned() } else { partial_word(bytes.add(8 * k), n) } }
        };
        // The commonest records first: one or two whole eightbytes.
        match self.size {
            8 => regs.words[first] = eightbyte(0),
            16 => {
                regs.words[first] = eightbyte(0);
                regs.words[second] = eightbyte(1);
            }
            _ => {
                regs.words[first] = eightbyte(0);
                if self.size > 8 {
                    regs.words[second] = eightbyte(1);
                }
                // Only a record in memory has more, in consecutive stack words.
                for k in 2..self.size().div_ceil(8) {
                    regs.words[second + k - 1] = eightbyte(k);
                }
            }
        }
    }
}

/// The `n` (< 8) bytes at `bytes` as the low bytes of a word, the rest zero.
///
/// # Safety
/// `bytes` points at `n` readable bytes.
#[inline(always)]
unsafe fn partial_word(bytes: *const u8, n: usize) -> u64 {
    let mut word = 0u64;
    let mut at = 0;
    // SAFETY (each read): at + the read's width <= n.
    unsafe {
        if n & 4 != 0 {
            word = u64::from(bytes.cast::<u32>().read_unaligned());
            at = 4;
        }
        if n & 2 != 0 {
            word |= u64::from(bytes.add(at).cast::<u16>().read_unaligned()) << (8 * at);
            at += 2;
        }
        if n & 1 != 0 {
            word |= u64::from(bytes.add(at).read()) << (8 * at);
        }
    }
    word
}

/// The System V class of each eightbyte of a record of at most 16 bytes whose
/// members are `members`, laid out as libffi lays them out: vector (`true`) when only
/// `float` and `double` members touch it, integer otherwise. None when a `long
/// double` is inside (the record then goes in memory) or an eightbyte holds no member:
/// cases left to libffi.
fn eightbyte_classes(members: &[CType], size: usize) -> Option<[bool; 2]> {
    let mut leaves = Vec::new();
    let mut end = 0usize;
    for m in members {
        end = m.push_leaves(end.next_multiple_of(m.align()), &mut leaves);
    }
    if end > size || leaves.iter().any(|&(_, k)| k == ScalarKind::LongDouble) {
        return None;
    }
    let mut classes = [false; 2];
    for (k, class) in classes.iter_mut().enumerate().take(size.div_ceil(8)) {
        let (start, stop) = (8 * k, 8 * k + 8);
        let mut touching = leaves.iter().filter(|&&(o, kind)| o < stop && o + kind.size() > start).peekable();
        touching.peek()?;
        *class = touching.all(|&(_, kind)| kind.number_class() == NumberClass::Float);
    }
    Some(classes)
}

/// Where one scalar argument travels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Place {
    /// Integer register `n`; the value is widened to 64 bits (sign- or zero-extended
    /// by its type, as compilers expect for types narrower than `int`).
    Gpr(u8, ScalarKind),
    /// Vector register `n` holding a `double`.
    Double(u8),
    /// Vector register `n` holding a `float` in its low 32 bits.
    Float(u8),
    /// Stack word `n`, once the argument's register class is exhausted: integers
    /// widened as in a register, a `double` as its bits, a `float` in the low 32 bits.
    Stack(u8, ScalarKind),
}

/// How the result comes back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Return {
    /// In `%rax` (integers, pointers; also `void`, whose `%rax` is ignored).
    Int,
    /// In `%xmm0` (`double`, and `float` in its low 32 bits).
    Vector,
}

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
/// callees read `%al`, and they never take this path.
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
    fn new(args: &[CType], result: &CType) -> Option<DirectPlan> {
        if !cfg!(all(target_arch = "x86_64", unix)) {
            return None;
        }
        let (mut gpr, mut sse, mut stack) = (0u8, 0u8, 0u8);
        let mut loads = Vec::with_capacity(args.len());
        for arg in args {
            let load = match arg {
                CType::Scalar(kind) => {
                    let place = match (kind.number_class(), kind) {
                        (_, ScalarKind::LongDouble) => return None,
                        (NumberClass::Float, _) if sse == 8 => Place::Stack(stack, *kind),
                        (NumberClass::Float, ScalarKind::Float) => Place::Float(sse),
                        (NumberClass::Float, _) => Place::Double(sse),
                        _ if gpr == 6 => Place::Stack(stack, *kind),
                        _ => Place::Gpr(gpr, *kind),
                    };
                    match place {
                        Place::Gpr(..) => gpr += 1,
                        Place::Stack(..) => stack += 1,
                        _ => sse += 1,
                    }
                    ArgLoad::Word(Load::new(place))
                }
                CType::Record { members, size, align } => {
                    let size = *size;
                    if size == 0 || size > 8 * DIRECT_STACK_WORDS || *align > 8 {
                        return None;
                    }
                    let eightbytes = size.div_ceil(8);
                    let classes = if size <= 16 { Some(eightbyte_classes(members, size)?) } else { None };
                    let registers = classes.filter(|c| {
                        let vector = c[..eightbytes].iter().filter(|&&v| v).count() as u8;
                        gpr + (eightbytes as u8 - vector) <= 6 && sse + vector <= 8
                    });
                    let mut words = [0u8; 2];
                    for (k, word) in words.iter_mut().enumerate().take(eightbytes) {
                        let (first, counter) = match registers {
                            Some(c) if c[k] => (FIRST_SSE, &mut sse),
                            Some(_) => (0, &mut gpr),
                            None => (FIRST_STACK, &mut stack),
                        };
                        *word = first + *counter;
                        *counter += 1;
                    }
                    if registers.is_none() {
                        // In memory: the eightbytes past the second follow it.
                        stack += eightbytes.saturating_sub(2) as u8;
                    }
                    ArgLoad::Record(RecordLoad { size: size as u8, first: words[0], second: words[1] })
                }
                _ => return None,
            };
            if usize::from(stack) > DIRECT_STACK_WORDS {
                return None;
            }
            loads.push(load);
        }
        let ret = match result {
            CType::Void => Return::Int,
            CType::Scalar(ScalarKind::LongDouble) => return None,
            CType::Scalar(k) if k.number_class() == NumberClass::Float => Return::Vector,
            CType::Scalar(_) => Return::Int,
            _ => return None,
        };
        let shape = match (sse, stack) {
            (0, 0) => Shape::Gpr,
            (1..=2, 0) => Shape::Few,
            (_, 0) => Shape::Registers,
            _ => Shape::Stack,
        };
        let gpr_only = shape == Shape::Gpr && loads.iter().all(|l| matches!(l, ArgLoad::Word(_)));
        Some(DirectPlan { args: loads.into(), ret, shape, gpr_only })
    }

    /// The number of arguments.
    pub fn arg_count(&self) -> usize {
        self.args.len()
    }

    /// Loads scalar argument `index` from its slot into the register or stack word it
    /// travels in.
    ///
    /// # Panics
    /// If argument `index` is a record (give its address to [`ArgLoad::store`]).
    #[inline]
    pub fn load(&self, regs: &mut Registers, index: usize, slot: &Slot) {
        let ArgLoad::Word(load) = self.args[index] else { panic!("argument {index} is a record, not a scalar") };
        let [b0, b1, b2, b3, b4, b5, b6, b7, ..] = slot.0;
        load.store(regs, u64::from_le_bytes([b0, b1, b2, b3, b4, b5, b6, b7]));
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

    /// [`call`](Self::call) for a plan whose arguments are all in the first
    /// [`FEW_WORDS`] words ([`few_words`](Self::few_words)), returning the result's
    /// word: the first 8 bytes of `call`'s slot.
    ///
    /// # Safety
    /// As for `call`; the plan must be `few_words`.
    #[inline(always)]
    pub unsafe fn call_few(&self, function: *const c_void, regs: &Registers<FEW_WORDS>) -> u64 {
        debug_assert!(self.few_words());
        let w = &regs.words;
        let (x0, x1) = (f64::from_bits(w[6]), f64::from_bits(w[7]));
        // SAFETY: as for `call`: the callee reads at most the integer registers and
        // %xmm0..1, all loaded here.
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
    /// just the six integer argument registers (widened by [`Load::widen`], unused
    /// ones zero).
    ///
    /// # Safety
    /// As for `call`; the plan must be `gpr_only`.
    #[inline(always)]
    pub unsafe fn call_gpr(&self, function: *const c_void, g: &[u64; 6]) -> u64 {
        debug_assert!(self.gpr_only());
        // SAFETY: as for `call`'s Gpr shape: the callee reads only integer registers.
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
    /// As for `call`.
    #[inline(always)]
    pub unsafe fn call_maybe_variadic(&self, function: *const c_void, regs: &Registers) -> u64 {
        let w = &regs.words;
        let x: [f64; 8] = std::array::from_fn(|i| f64::from_bits(w[FIRST_SSE as usize + i]));
        let s = &w[FIRST_STACK as usize..];
        // SAFETY: as for `call`: in the System V ABI a variadic call assigns registers
        // and stack words to its arguments exactly as a prototyped one does (six
        // integers to the integer registers, eight doubles to %xmm0-7, the rest to
        // the stack in order), so each call below passes the words `call` passes; the
        // callee reads those its real type gives it.
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
    /// As for `call`; the plan must be `gpr_only`.
    #[inline(always)]
    pub unsafe fn call_gpr_maybe_variadic(&self, function: *const c_void, g: &[u64; 6]) -> u64 {
        debug_assert!(self.gpr_only());
        // SAFETY: as for `call_maybe_variadic`'s integer-only case.
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

    /// Calls `function`, returning the result as libffi would write it: integers
    /// widened to a word, floating results in their own format at the slot's start.
    ///
    /// # Safety
    /// `function` must have the plan's signature, and every argument must have been
    /// loaded.
    #[inline(always)]
    pub unsafe fn call(&self, function: *const c_void, regs: &Registers) -> Slot {
        let w = &regs.words;
        let g = &w[..6];
        let x: [f64; 8] = std::array::from_fn(|i| f64::from_bits(w[FIRST_SSE as usize + i]));
        let s = &w[FIRST_STACK as usize..];
        let mut out = Slot::ZERO;
        // SAFETY (every call below): see the type's documentation — the System V
        // assignment of registers and stack words makes each call equivalent to one
        // through the function's real type (a float result sits in the low half of
        // %xmm0). A `Gpr` plan has no floating parameter, so the vector registers it
        // does not load are ones the callee does not read.
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
        let plan = CallPlan::new(&[const { CType::Scalar(ScalarKind::Int) }; 2], CType::Scalar(ScalarKind::Int)).unwrap();
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
        let plan = CallPlan::new_variadic(&args, 3, CType::Scalar(ScalarKind::Int)).unwrap();
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

    #[test]
    fn direct_calls_of_variadic_libc_snprintf_tell_the_vector_registers() {
        // snprintf called through a plan made for its arguments' types (as a call
        // without argtypes makes it): doubles in vector registers and on the stack.
        let h = crate::library::open(None, crate::library::RTLD_LOCAL).unwrap();
        // SAFETY: h was just returned by open.
        let snprintf = unsafe { crate::library::symbol(h, "snprintf") }.unwrap();
        let p = CType::Scalar(ScalarKind::VoidPtr);
        let mut types = vec![p.clone(), CType::Scalar(ScalarKind::ULong), p];
        types.extend(std::iter::repeat_n(CType::Scalar(ScalarKind::Double), 9));
        let plan = CallPlan::new(&types, CType::Scalar(ScalarKind::Int)).expect("libffi describes these");
        let direct = plan.direct().expect("nine doubles fit the direct path's stack words");
        let mut buf = [0u8; 64];
        let fmt = b"%.0f %.0f %.0f %.0f %.0f %.0f %.0f %.0f %.0f\0";
        let mut slots = vec![slot_of(buf.as_mut_ptr()), slot_of(buf.len() as u64), slot_of(fmt.as_ptr())];
        slots.extend((1..=9).map(|i| slot_of(i as f64)));
        let mut regs = Registers::default();
        for (i, slot) in slots.iter().enumerate() {
            direct.load(&mut regs, i, slot);
        }
        // SAFETY: snprintf(char*, size_t, const char*, ...) with nine doubles.
        let written = unsafe { direct.call_maybe_variadic(snprintf, &regs) };
        assert_eq!(written as i32, 17);
        assert_eq!(&buf[..18], b"1 2 3 4 5 6 7 8 9\0");
    }
}

#[cfg(test)]
mod direct_tests {
    //! The direct path must give exactly what the libffi path gives.
    use super::*;
    use crate::ctype::ScalarKind::{self, *};

    extern "C" fn mix(a: i8, b: f32, c: u16, d: f64, e: i64, f: u8, g: f32, h: i32) -> f64 {
        a as f64 + b as f64 * 2.0 + c as f64 * 3.0 + d * 4.0 + e as f64 * 5.0 + f as f64 * 6.0 + g as f64 * 7.0 + h as f64 * 8.0
    }
    extern "C" fn narrow(a: i8, b: i16) -> i8 {
        a.wrapping_add(b as i8)
    }
    extern "C" fn halve(x: f32) -> f32 {
        x / 2.0
    }
    extern "C" fn six(a: i64, b: i64, c: i64, d: i64, e: i64, f: u64) -> u64 {
        (a + b + c + d + e) as u64 ^ f
    }

    fn slot(bytes: &[u8]) -> Slot {
        let mut s = Slot::ZERO;
        s.0[..bytes.len()].copy_from_slice(bytes);
        s
    }

    /// Calls `f` both ways and checks the meaningful result bytes are equal.
    fn both(f: *const c_void, kinds: &[ScalarKind], values: &[Slot], ret: ScalarKind) -> Slot {
        let args: Vec<CType> = kinds.iter().map(|k| CType::Scalar(*k)).collect();
        let plan = CallPlan::new(&args, CType::Scalar(ret)).unwrap();
        let direct = plan.direct().expect("a register-only signature has a direct path");
        let mut regs = Registers::default();
        for (i, v) in values.iter().enumerate() {
            direct.load(&mut regs, i, v);
        }
        // SAFETY: each function below is called with its own signature.
        let fast = unsafe { direct.call(f, &regs) };
        let mut slots = values.to_vec();
        let mut ptrs: Vec<*mut c_void> = slots.iter_mut().map(Slot::as_mut_ptr).collect();
        let mut slow = Slot::ZERO;
        // SAFETY: as above.
        unsafe { plan.call(f, &mut ptrs, slow.as_mut_ptr()) };
        let n = ret.size();
        assert_eq!(fast.0[..n], slow.0[..n], "direct and libffi paths differ");
        fast
    }

    #[test]
    fn mixed_registers_agree() {
        let vals = [
            slot(&(-3i8).to_ne_bytes()),
            slot(&1.5f32.to_ne_bytes()),
            slot(&65535u16.to_ne_bytes()),
            slot(&0.25f64.to_ne_bytes()),
            slot(&(-7i64).to_ne_bytes()),
            slot(&200u8.to_ne_bytes()),
            slot(&(-0.5f32).to_ne_bytes()),
            slot(&i32::MIN.to_ne_bytes()),
        ];
        let out = both(mix as *const c_void, &[Byte, Float, UShort, Double, Long, UByte, Float, Int], &vals, Double);
        let expected = mix(-3, 1.5, 65535, 0.25, -7, 200, -0.5, i32::MIN);
        assert_eq!(f64::from_ne_bytes(out.0[..8].try_into().unwrap()), expected);
    }

    #[test]
    fn narrow_integers_and_float_results_agree() {
        both(narrow as *const c_void, &[Byte, Short], &[slot(&[0x7f]), slot(&(-2i16).to_ne_bytes())], Byte);
        let out = both(halve as *const c_void, &[Float], &[slot(&3.0f32.to_ne_bytes())], Float);
        assert_eq!(f32::from_ne_bytes(out.0[..4].try_into().unwrap()), 1.5);
        both(six as *const c_void, &[LongLong, LongLong, LongLong, LongLong, LongLong, ULongLong], &[slot(&1i64.to_ne_bytes()), slot(&2i64.to_ne_bytes()), slot(&3i64.to_ne_bytes()), slot(&4i64.to_ne_bytes()), slot(&5i64.to_ne_bytes()), slot(&u64::MAX.to_ne_bytes())], ULongLong);
    }

    extern "C" fn eight_ints(a: i32, b: i32, c: i32, d: i32, e: i32, f: i32, g: i8, h: u16) -> i32 {
        a + 2 * b + 3 * c + 4 * d + 5 * e + 6 * f + 7 * g as i32 + 8 * h as i32
    }

    #[allow(clippy::too_many_arguments)]
    extern "C" fn crowded(
        a: i8, b: f64, c: u16, d: f32, e: i64, f: i32, g: f64, h: u8, i: i16, j: f32, k: f64, l: u32, m: f64, n: i64,
        o: f64, p: f32, q: i32, r: f64, s: f64,
    ) -> f64 {
        let ints = [a as f64, c as f64, e as f64, f as f64, h as f64, i as f64, l as f64, n as f64, q as f64];
        let floats = [b, d as f64, g, j as f64, k, m, o, p as f64, r, s];
        let mut total = 0.0;
        for (w, v) in ints.iter().chain(floats.iter()).enumerate() {
            total += (w as f64 + 1.0) * v;
        }
        total
    }

    extern "C" fn ten_floats(a: f32, b: f32, c: f32, d: f32, e: f32, f: f32, g: f32, h: f32, i: f32, j: f32) -> f32 {
        a + 2.0 * b + 3.0 * c + 4.0 * d + 5.0 * e + 6.0 * f + 7.0 * g + 8.0 * h + 9.0 * i + 10.0 * j
    }

    #[test]
    fn register_words_given_directly_agree() {
        let kinds = [Byte, Short];
        let values = [slot(&[0x7f]), slot(&(-2i16).to_ne_bytes())];
        let expected = both(narrow as *const c_void, &kinds, &values, Byte);
        let args: Vec<CType> = kinds.iter().map(|k| CType::Scalar(*k)).collect();
        let plan = CallPlan::new(&args, CType::Scalar(Byte)).unwrap();
        let direct = plan.direct().unwrap();
        assert!(direct.gpr_only());
        let mut g = [0u64; 6];
        for (i, (load, v)) in direct.args().iter().zip(&values).enumerate() {
            let ArgLoad::Word(load) = load else { unreachable!("scalars only") };
            g[i] = load.widen(u64::from_le_bytes(v.0[..8].try_into().unwrap()));
        }
        // SAFETY: `narrow` is (signed char, short) -> signed char.
        let out = unsafe { direct.call_gpr(narrow as *const c_void, &g) };
        assert_eq!(out as u8, expected.0[0]);
        assert!(!CallPlan::new(&[CType::Scalar(Double)], CType::Void).unwrap().direct().unwrap().gpr_only());
    }

    #[test]
    fn stack_arguments_agree() {
        let out = both(
            eight_ints as *const c_void,
            &[Int, Int, Int, Int, Int, Int, Byte, UShort],
            &[slot(&1i32.to_ne_bytes()), slot(&2i32.to_ne_bytes()), slot(&3i32.to_ne_bytes()), slot(&4i32.to_ne_bytes()), slot(&5i32.to_ne_bytes()), slot(&6i32.to_ne_bytes()), slot(&(-7i8).to_ne_bytes()), slot(&60000u16.to_ne_bytes())],
            Int,
        );
        assert_eq!(i32::from_ne_bytes(out.0[..4].try_into().unwrap()), eight_ints(1, 2, 3, 4, 5, 6, -7, 60000));
        let floats: Vec<Slot> = (1..=10).map(|v| slot(&(v as f32 * 0.5).to_ne_bytes())).collect();
        both(ten_floats as *const c_void, &[Float; 10], &floats, Float);
        let kinds = [Byte, Double, UShort, Float, LongLong, Int, Double, UByte, Short, Float, Double, UInt, Double, Long, Double, Float, Int, Double, Double];
        let values: Vec<Slot> = kinds
            .iter()
            .enumerate()
            .map(|(i, k)| match k {
                Double => slot(&(i as f64 + 0.25).to_ne_bytes()),
                Float => slot(&(i as f32 - 0.5).to_ne_bytes()),
                _ => slot(&(-(i as i64) * 3).to_ne_bytes()),
            })
            .collect();
        let out = both(crowded as *const c_void, &kinds, &values, Double);
        let expected = crowded(0, 1.25, 65530, 2.5, -12, -15, 6.25, 235, -24, 8.5, 10.25, (-33i64) as u32, 12.25, -39, 14.25, 14.5, -48, 17.25, 18.25);
        assert_eq!(f64::from_ne_bytes(out.0[..8].try_into().unwrap()), expected);
    }

    #[repr(C)]
    #[derive(Clone, Copy)]
    struct Point3 {
        x: i32,
        y: i32,
        z: f64,
    }
    #[repr(C)]
    #[derive(Clone, Copy)]
    struct Vec3f {
        x: f32,
        y: f32,
        z: f32,
    }
    #[repr(C)]
    #[derive(Clone, Copy)]
    struct Bytes3 {
        a: u8,
        b: i8,
        c: u8,
    }
    #[repr(C)]
    #[derive(Clone, Copy)]
    struct FloatInt {
        f: f32,
        i: i32,
    }
    #[repr(C)]
    #[derive(Clone, Copy)]
    struct Pair {
        a: i64,
        b: i64,
    }
    #[repr(C)]
    #[derive(Clone, Copy)]
    struct Doubles {
        a: f64,
        b: f64,
    }
    #[repr(C)]
    #[derive(Clone, Copy)]
    struct Big {
        a: i64,
        b: i64,
        c: i64,
        d: f64,
        name: [u8; 8],
    }

    fn record(size: usize, align: usize, leaves: &[(usize, ScalarKind)]) -> CType {
        CType::record_for_call(size, align, || leaves.to_vec()).unwrap()
    }
    fn point3() -> CType {
        record(16, 8, &[(0, Int), (4, Int), (8, Double)])
    }
    fn pair() -> CType {
        record(16, 8, &[(0, LongLong), (8, LongLong)])
    }
    fn doubles() -> CType {
        record(16, 8, &[(0, Double), (8, Double)])
    }
    fn big() -> CType {
        let mut leaves = vec![(0, LongLong), (8, LongLong), (16, LongLong), (24, Double)];
        leaves.extend((32..40).map(|o| (o, Char)));
        record(40, 8, &leaves)
    }

    extern "C" fn point3_sum(p: Point3) -> f64 {
        p.x as f64 * 3.0 + p.y as f64 * 5.0 + p.z
    }
    extern "C" fn vec3f_mix(k: f32, v: Vec3f, j: i32) -> f32 {
        k * v.x + 2.0 * v.y + 4.0 * v.z + j as f32
    }
    extern "C" fn bytes3(b: Bytes3, f: FloatInt) -> i64 {
        b.a as i64 * 1000 + b.b as i64 * 10 + b.c as i64 + (f.f * 2.0) as i64 * 100_000 + f.i as i64 * 10_000_000
    }
    #[allow(clippy::too_many_arguments)]
    extern "C" fn pair_after_five(a: i64, b: i64, c: i64, d: i64, e: i64, p: Pair, g: i64) -> i64 {
        a + 2 * b + 3 * c + 4 * d + 5 * e + 6 * p.a + 7 * p.b + 8 * g
    }
    #[allow(clippy::too_many_arguments)]
    extern "C" fn doubles_after_seven(a: f64, b: f64, c: f64, d: f64, e: f64, f: f64, g: f64, p: Doubles, h: f64) -> f64 {
        a + 2.0 * b + 3.0 * c + 4.0 * d + 5.0 * e + 6.0 * f + 7.0 * g + 8.0 * p.a + 9.0 * p.b + 10.0 * h
    }
    extern "C" fn big_between(k: i32, v: Big, scale: f64, w: Point3) -> f64 {
        k as f64 * 1000.0 + (v.a + 2 * v.b + 3 * v.c) as f64 + v.d * scale + v.name[0] as f64 + v.name[7] as f64 + point3_sum(w)
    }

    /// Calls `f` both ways with `args` (pointers to each argument's value) and checks
    /// the meaningful result bytes are equal.
    fn both_records(f: *const c_void, types: &[CType], args: &mut [*mut c_void], ret: ScalarKind) -> Slot {
        let plan = CallPlan::new(types, CType::Scalar(ret)).unwrap();
        let direct = plan.direct().expect("a direct path");
        let mut regs = Registers::default();
        let mut few = Registers::<FEW_WORDS>::default();
        for (load, &arg) in direct.args().iter().zip(args.iter()) {
            let word = match load {
                // SAFETY: a scalar's pointer is to a 16-byte slot.
                ArgLoad::Word(_) => u64::from_le_bytes(unsafe { arg.cast::<[u8; 8]>().read() }),
                ArgLoad::Record(_) => arg as u64,
            };
            // SAFETY: a record's word is the address of its value.
            unsafe { load.store(&mut regs, word) };
            if direct.few_words() {
                // SAFETY: as above.
                unsafe { load.store(&mut few, word) };
            }
        }
        // SAFETY: each function below is called with its own signature.
        let fast = unsafe { direct.call(f, &regs) };
        let mut slow = Slot::ZERO;
        // SAFETY: as above.
        unsafe { plan.call(f, args, slow.as_mut_ptr()) };
        let n = ret.size();
        assert_eq!(fast.0[..n], slow.0[..n], "direct and libffi paths differ");
        if direct.few_words() {
            // SAFETY: as above; the plan is few_words.
            let word = unsafe { direct.call_few(f, &few) };
            assert_eq!(word.to_le_bytes()[..n], slow.0[..n], "call_few and libffi differ");
        }
        fast
    }

    fn word_slot<T: Copy>(v: T) -> Slot {
        let mut s = Slot::ZERO;
        // SAFETY: every T used here is at most 8 bytes; the slot is 16-aligned.
        unsafe { s.0.as_mut_ptr().cast::<T>().write(v) };
        s
    }

    fn ptr<T>(v: &mut T) -> *mut c_void {
        (v as *mut T).cast()
    }

    fn as_f64(s: Slot) -> f64 {
        f64::from_ne_bytes(s.0[..8].try_into().unwrap())
    }

    #[test]
    fn records_in_registers_agree() {
        let mut p = Point3 { x: -7, y: 11, z: 0.25 };
        let out = both_records(point3_sum as *const c_void, &[point3()], &mut [ptr(&mut p)], Double);
        assert_eq!(as_f64(out), point3_sum(p));
        let vec3f = record(12, 4, &[(0, Float), (4, Float), (8, Float)]);
        let (mut k, mut v, mut j) = (word_slot(1.5f32), Vec3f { x: 2.0, y: -3.0, z: 0.5 }, word_slot(9i32));
        let out = both_records(vec3f_mix as *const c_void, &[CType::Scalar(Float), vec3f, CType::Scalar(Int)], &mut [k.as_mut_ptr(), ptr(&mut v), j.as_mut_ptr()], Float);
        assert_eq!(f32::from_ne_bytes(out.0[..4].try_into().unwrap()), vec3f_mix(1.5, v, 9));
        let b3 = record(3, 1, &[(0, UByte), (1, Byte), (2, UByte)]);
        let float_int = record(8, 4, &[(0, Float), (4, Int)]);
        let (mut b, mut fi) = (Bytes3 { a: 200, b: -5, c: 7 }, FloatInt { f: 3.5, i: -4 });
        let out = both_records(bytes3 as *const c_void, &[b3, float_int], &mut [ptr(&mut b), ptr(&mut fi)], LongLong);
        assert_eq!(i64::from_ne_bytes(out.0[..8].try_into().unwrap()), bytes3(b, fi));
    }

    #[test]
    fn records_find_their_registers_full_and_go_to_the_stack() {
        let mut words: Vec<Slot> = (1..=5i64).map(word_slot).collect();
        let (mut p, mut g) = (Pair { a: -100, b: 1 << 40 }, word_slot(77i64));
        let mut types = vec![CType::Scalar(LongLong); 5];
        types.extend([pair(), CType::Scalar(LongLong)]);
        let plan = CallPlan::new(&types, CType::Scalar(LongLong)).unwrap();
        // The pair needs two integer registers, one is left: it goes to the stack and
        // the last argument takes the register.
        assert!(matches!(plan.direct().unwrap().args()[5], ArgLoad::Record(r) if (r.first, r.second) == (FIRST_STACK, FIRST_STACK + 1)));
        assert_eq!(plan.direct().unwrap().args()[6], ArgLoad::Word(Load::new(Place::Gpr(5, LongLong))));
        let mut args: Vec<*mut c_void> = words.iter_mut().map(Slot::as_mut_ptr).collect();
        args.extend([ptr(&mut p), g.as_mut_ptr()]);
        let out = both_records(pair_after_five as *const c_void, &types, &mut args, LongLong);
        assert_eq!(i64::from_ne_bytes(out.0[..8].try_into().unwrap()), pair_after_five(1, 2, 3, 4, 5, p, 77));

        let mut floats: Vec<Slot> = (1..=7).map(|v| word_slot(v as f64 * 0.5)).collect();
        let (mut d, mut h) = (Doubles { a: 1e10, b: -0.125 }, word_slot(3.0f64));
        let mut types = vec![CType::Scalar(Double); 7];
        types.extend([doubles(), CType::Scalar(Double)]);
        let mut args: Vec<*mut c_void> = floats.iter_mut().map(Slot::as_mut_ptr).collect();
        args.extend([ptr(&mut d), h.as_mut_ptr()]);
        let out = both_records(doubles_after_seven as *const c_void, &types, &mut args, Double);
        assert_eq!(as_f64(out), doubles_after_seven(0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, d, 3.0));
    }

    #[test]
    fn large_records_are_copied_to_the_stack() {
        let mut v = Big { a: 1, b: -2, c: 3, d: 0.75, name: *b"abcdefgh" };
        let mut w = Point3 { x: 1, y: 2, z: 3.5 };
        let (mut k, mut scale) = (word_slot(4i32), word_slot(2.0f64));
        let types = [CType::Scalar(Int), big(), CType::Scalar(Double), point3()];
        let out = both_records(big_between as *const c_void, &types, &mut [k.as_mut_ptr(), ptr(&mut v), scale.as_mut_ptr(), ptr(&mut w)], Double);
        assert_eq!(as_f64(out), big_between(4, v, 2.0, w));
    }

    #[test]
    fn records_the_direct_path_leaves_to_libffi() {
        let long_double = record(16, 16, &[(0, LongDouble)]);
        assert!(CallPlan::new(&[long_double], CType::Void).unwrap().direct().is_none());
        let two_bigs = [big(), big()];
        assert!(CallPlan::new(&two_bigs, CType::Void).unwrap().direct().is_none(), "10 stack words");
        assert!(CallPlan::new(&[big(), point3()], CType::Void).unwrap().direct().is_some());
        assert!(CallPlan::new(&[point3()], point3()).unwrap().direct().is_none(), "record results");
        assert!(!CallPlan::new(&[record(8, 4, &[(0, Int), (4, Int)])], CType::Void).unwrap().direct().unwrap().gpr_only());
    }

    #[test]
    fn signatures_beyond_the_direct_stack_have_no_direct_path() {
        let fourteen = vec![CType::Scalar(Int); 6 + DIRECT_STACK_WORDS];
        assert!(CallPlan::new(&fourteen, CType::Scalar(Int)).unwrap().direct().is_some());
        let fifteen = vec![CType::Scalar(Int); 7 + DIRECT_STACK_WORDS];
        assert!(CallPlan::new(&fifteen, CType::Scalar(Int)).unwrap().direct().is_none());
        assert!(CallPlan::new(&[CType::Scalar(LongDouble)], CType::Void).unwrap().direct().is_none());
        assert!(CallPlan::new_variadic(&[CType::Scalar(Int)], 1, CType::Void).unwrap().direct().is_none());
    }
}
