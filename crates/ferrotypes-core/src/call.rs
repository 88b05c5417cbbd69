//! Call plans: a C signature prepared once into a libffi call interface, then called
//! many times with argument values already written into slots.
//!
//! Plans whose parameters and result are all scalars that travel in registers also
//! carry a [`DirectPlan`], which calls the function without libffi (see there).
//!
//! What it does not do: convert values (callers write raw C values into [`Slot`]s) or
//! check that a function really has the signature it is called with — C cannot tell.

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

impl CallPlan {
    /// Prepares a call to a function taking `args` and returning `result`.
    pub fn new(args: &[CType], result: CType) -> CallPlan {
        let cif = Cif::new(args.iter().map(CType::ffi_type), result.ffi_type());
        let direct = DirectPlan::new(args, &result);
        CallPlan { cif, arg_count: args.len(), result, direct }
    }

    /// Prepares a call to a variadic function whose first `fixed` parameters are
    /// declared, the rest being this call's extra arguments (already promoted as C's
    /// default argument promotions require).
    pub fn new_variadic(args: &[CType], fixed: usize, result: CType) -> CallPlan {
        let types: Vec<Type> = args.iter().map(CType::ffi_type).collect();
        let cif = Cif::new_variadic(types, fixed, result.ffi_type());
        // Variadic callees read %al (the number of vector registers used), which only
        // libffi sets: no direct path for them.
        CallPlan { cif, arg_count: args.len(), result, direct: None }
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
/// [`DIRECT_STACK_WORDS`] eightbytes on the stack.
#[derive(Clone, Copy)]
pub struct Registers {
    /// `%rdi..%r9` at 0..6, `%xmm0..7` at 6..14, the stack words from 14.
    words: [u64; REGISTER_WORDS],
}

const REGISTER_WORDS: usize = 6 + 8 + DIRECT_STACK_WORDS;
const FIRST_SSE: u8 = 6;
const FIRST_STACK: u8 = 14;

impl Default for Registers {
    #[inline(always)]
    fn default() -> Registers {
        Registers { words: [0; REGISTER_WORDS] }
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
    pub fn store(self, regs: &mut Registers, word: u64) {
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

/// Where one argument travels.
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

/// A call without libffi, for signatures whose parameters are all integer, pointer,
/// `float` or `double` scalars and whose result is such a scalar or `void`, with at
/// most [`DIRECT_STACK_WORDS`] arguments past the registers.
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
/// callees read `%al`, and they never take this path. The libffi path stays the
/// reference; tests compare the two.
pub struct DirectPlan {
    loads: Box<[Load]>,
    ret: Return,
    /// Which registers and stack words the call must load.
    shape: Shape,
}

/// The argument words a direct call passes, from the cheapest to load to the dearest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shape {
    /// Integer registers only (no floating argument, nothing on the stack).
    Gpr,
    /// Integer and vector registers.
    Registers,
    /// Registers and stack words.
    Stack,
}

type IntReturningGpr = unsafe extern "C" fn(u64, u64, u64, u64, u64, u64) -> u64;
type VectorReturningGpr = unsafe extern "C" fn(u64, u64, u64, u64, u64, u64) -> f64;
type IntReturning = unsafe extern "C" fn(u64, u64, u64, u64, u64, u64, f64, f64, f64, f64, f64, f64, f64, f64) -> u64;
type VectorReturning = unsafe extern "C" fn(u64, u64, u64, u64, u64, u64, f64, f64, f64, f64, f64, f64, f64, f64) -> f64;
type IntReturningStack = unsafe extern "C" fn(
    u64, u64, u64, u64, u64, u64, f64, f64, f64, f64, f64, f64, f64, f64, u64, u64, u64, u64, u64, u64, u64, u64,
) -> u64;
type VectorReturningStack = unsafe extern "C" fn(
    u64, u64, u64, u64, u64, u64, f64, f64, f64, f64, f64, f64, f64, f64, u64, u64, u64, u64, u64, u64, u64, u64,
) -> f64;

impl DirectPlan {
    fn new(args: &[CType], result: &CType) -> Option<DirectPlan> {
        if !cfg!(all(target_arch = "x86_64", unix)) {
            return None;
        }
        let (mut gpr, mut sse, mut stack) = (0u8, 0u8, 0u8);
        let mut places = Vec::with_capacity(args.len());
        for arg in args {
            let CType::Scalar(kind) = arg else { return None };
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
            if usize::from(stack) > DIRECT_STACK_WORDS {
                return None;
            }
            places.push(place);
        }
        let ret = match result {
            CType::Void => Return::Int,
            CType::Scalar(ScalarKind::LongDouble) => return None,
            CType::Scalar(k) if k.number_class() == NumberClass::Float => Return::Vector,
            CType::Scalar(_) => Return::Int,
            _ => return None,
        };
        let loads = places.into_iter().map(Load::new).collect();
        let shape = match (sse, stack) {
            (0, 0) => Shape::Gpr,
            (_, 0) => Shape::Registers,
            _ => Shape::Stack,
        };
        Some(DirectPlan { loads, ret, shape })
    }

    /// The number of arguments.
    pub fn arg_count(&self) -> usize {
        self.loads.len()
    }

    /// Loads argument `index` from its slot into the register or stack word it
    /// travels in.
    #[inline]
    pub fn load(&self, regs: &mut Registers, index: usize, slot: &Slot) {
        self.load_word(regs, index, u64::from_le_bytes(slot.0[..8].try_into().expect("8 bytes")));
    }

    /// [`load`](Self::load) from the first 8 bytes of a slot given as a word (the
    /// value in its low bytes, as on this little-endian target).
    #[inline(always)]
    pub fn load_word(&self, regs: &mut Registers, index: usize, word: u64) {
        self.loads[index].store(regs, word);
    }

    /// Each argument's [`Load`], in parameter order.
    pub fn loads(&self) -> &[Load] {
        &self.loads
    }

    /// Whether every argument travels in an integer register: argument `i` is then
    /// in register `i`, and [`call_gpr`](Self::call_gpr) may be used.
    pub fn gpr_only(&self) -> bool {
        self.shape == Shape::Gpr
    }

    /// [`call`](Self::call) for a [`gpr_only`](Self::gpr_only) plan, given just the
    /// six integer argument registers (widened by [`Load::widen`], unused ones zero).
    ///
    /// # Safety
    /// As for `call`; the plan must be `gpr_only`.
    #[inline(always)]
    pub unsafe fn call_gpr(&self, function: *const c_void, g: &[u64; 6]) -> Slot {
        debug_assert!(self.gpr_only());
        let mut out = Slot::ZERO;
        // SAFETY: as for `call`'s Gpr shape: the callee reads only integer registers.
        let word = match self.ret {
            Return::Int => {
                let f: IntReturningGpr = unsafe { std::mem::transmute(function) };
                unsafe { f(g[0], g[1], g[2], g[3], g[4], g[5]) }
            }
            Return::Vector => {
                let f: VectorReturningGpr = unsafe { std::mem::transmute(function) };
                unsafe { f(g[0], g[1], g[2], g[3], g[4], g[5]) }.to_bits()
            }
        };
        out.0[..8].copy_from_slice(&word.to_le_bytes());
        out
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
            (Return::Int, Shape::Registers) => {
                let f: IntReturning = unsafe { std::mem::transmute(function) };
                unsafe { f(g[0], g[1], g[2], g[3], g[4], g[5], x[0], x[1], x[2], x[3], x[4], x[5], x[6], x[7]) }
            }
            (Return::Vector, Shape::Registers) => {
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
        // SAFETY: h was just returned by open.
        let snprintf = unsafe { crate::library::symbol(h, "snprintf") }.unwrap();
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
        let plan = CallPlan::new(&args, CType::Scalar(ret));
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
        let plan = CallPlan::new(&args, CType::Scalar(Byte));
        let direct = plan.direct().unwrap();
        assert!(direct.gpr_only());
        let mut g = [0u64; 6];
        for (i, (load, v)) in direct.loads().iter().zip(&values).enumerate() {
            g[i] = load.widen(u64::from_le_bytes(v.0[..8].try_into().unwrap()));
        }
        // SAFETY: `narrow` is (signed char, short) -> signed char.
        let out = unsafe { direct.call_gpr(narrow as *const c_void, &g) };
        assert_eq!(out.0[0], expected.0[0]);
        assert!(!CallPlan::new(&[CType::Scalar(Double)], CType::Void).direct().unwrap().gpr_only());
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

    #[test]
    fn signatures_beyond_the_direct_stack_have_no_direct_path() {
        let fourteen = vec![CType::Scalar(Int); 6 + DIRECT_STACK_WORDS];
        assert!(CallPlan::new(&fourteen, CType::Scalar(Int)).direct().is_some());
        let fifteen = vec![CType::Scalar(Int); 7 + DIRECT_STACK_WORDS];
        assert!(CallPlan::new(&fifteen, CType::Scalar(Int)).direct().is_none());
        assert!(CallPlan::new(&[CType::Scalar(LongDouble)], CType::Void).direct().is_none());
        assert!(CallPlan::new_variadic(&[CType::Scalar(Int)], 1, CType::Void).direct().is_none());
    }
}
