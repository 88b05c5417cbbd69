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

/// The registers a direct call loads: the six integer argument registers and the
/// eight vector argument registers of the x86_64 System V ABI.
#[derive(Clone, Copy, Default)]
pub struct Registers {
    gpr: [u64; 6],
    sse: [u64; 8],
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
/// `float` or `double` scalars fitting in argument registers and whose result is such
/// a scalar or `void`.
///
/// Why this is sound on x86_64 System V: integer-class arguments are assigned to
/// `%rdi, %rsi, %rdx, %rcx, %r8, %r9` in order and floating ones to `%xmm0..7` in
/// order, independently of each other; a callee reads only the registers its own
/// parameters occupy. So calling any such function through the single type
/// `fn(u64 ×6, f64 ×8) -> R` loads every register its parameters need and some it
/// ignores. The libffi path stays the reference; tests compare the two.
pub struct DirectPlan {
    places: Vec<Place>,
    ret: Return,
}

type IntReturning = unsafe extern "C" fn(u64, u64, u64, u64, u64, u64, f64, f64, f64, f64, f64, f64, f64, f64) -> u64;
type VectorReturning = unsafe extern "C" fn(u64, u64, u64, u64, u64, u64, f64, f64, f64, f64, f64, f64, f64, f64) -> f64;

impl DirectPlan {
    fn new(args: &[CType], result: &CType) -> Option<DirectPlan> {
        if !cfg!(all(target_arch = "x86_64", unix)) {
            return None;
        }
        let (mut gpr, mut sse) = (0u8, 0u8);
        let mut places = Vec::with_capacity(args.len());
        for arg in args {
            let CType::Scalar(kind) = arg else { return None };
            let place = match (kind.number_class(), kind) {
                (_, ScalarKind::LongDouble) => return None,
                (NumberClass::Float, ScalarKind::Float) => Place::Float(sse),
                (NumberClass::Float, _) => Place::Double(sse),
                _ => Place::Gpr(gpr, *kind),
            };
            match place {
                Place::Gpr(..) => gpr += 1,
                _ => sse += 1,
            }
            if gpr > 6 || sse > 8 {
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
        Some(DirectPlan { places, ret })
    }

    /// Loads argument `index` from its slot into the register it travels in.
    #[inline]
    pub fn load(&self, regs: &mut Registers, index: usize, slot: &Slot) {
        let word = u64::from_le_bytes(slot.0[..8].try_into().expect("8 bytes"));
        match self.places[index] {
            Place::Gpr(n, kind) => {
                let size = kind.size();
                regs.gpr[n as usize] = if size >= 8 {
                    word
                } else {
                    let shift = 64 - 8 * size as u32;
                    match kind.number_class() {
                        NumberClass::Signed => (((word << shift) as i64) >> shift) as u64,
                        _ => (word << shift) >> shift,
                    }
                };
            }
            Place::Double(n) => regs.sse[n as usize] = word,
            Place::Float(n) => regs.sse[n as usize] = word & 0xffff_ffff,
        }
    }

    /// Calls `function`, returning the result as libffi would write it: integers
    /// widened to a word, floating results in their own format at the slot's start.
    ///
    /// # Safety
    /// `function` must have the plan's signature, and every argument must have been
    /// loaded.
    #[inline]
    pub unsafe fn call(&self, function: *const c_void, regs: &Registers) -> Slot {
        let g = regs.gpr;
        let x = regs.sse.map(f64::from_bits);
        let mut out = Slot::ZERO;
        match self.ret {
            Return::Int => {
                // SAFETY: see the type's documentation: the System V register
                // assignment makes this call equivalent to one through the real type.
                let f: IntReturning = unsafe { std::mem::transmute(function) };
                let r = unsafe { f(g[0], g[1], g[2], g[3], g[4], g[5], x[0], x[1], x[2], x[3], x[4], x[5], x[6], x[7]) };
                out.0[..8].copy_from_slice(&r.to_le_bytes());
            }
            Return::Vector => {
                // SAFETY: as above; a float result sits in the low half of %xmm0.
                let f: VectorReturning = unsafe { std::mem::transmute(function) };
                let r = unsafe { f(g[0], g[1], g[2], g[3], g[4], g[5], x[0], x[1], x[2], x[3], x[4], x[5], x[6], x[7]) };
                out.0[..8].copy_from_slice(&r.to_bits().to_le_bytes());
            }
        }
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

    #[test]
    fn signatures_beyond_registers_have_no_direct_path() {
        let seven = vec![CType::Scalar(Int); 7];
        assert!(CallPlan::new(&seven, CType::Scalar(Int)).direct().is_none());
        assert!(CallPlan::new(&[CType::Scalar(LongDouble)], CType::Void).direct().is_none());
        assert!(CallPlan::new_variadic(&[CType::Scalar(Int)], 1, CType::Void).direct().is_none());
    }
}
