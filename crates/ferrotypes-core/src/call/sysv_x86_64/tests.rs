//! The direct path must give exactly what the libffi path gives: each test calls
//! real functions both ways and compares the result bytes.

use std::ffi::c_void;

use super::registers::{Place, FIRST_STACK};
use super::*;
use crate::call::{LibffiPlan, NoScalarArgument};
use crate::ctype::{CType, ScalarAt};
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
    let plan = LibffiPlan::new(&args, CType::Scalar(ret)).unwrap();
    let direct = plan.direct().expect("a register-only signature has a direct path");
    let mut regs = Registers::default();
    for (i, v) in values.iter().enumerate() {
        direct.load(&mut regs, i, v).unwrap();
    }
    // SAFETY: each test gives `f` with the signature `kinds` -> `ret`, and every
    // argument was loaded.
    let fast = unsafe { direct.call(f, &regs) };
    let mut slots = values.to_vec();
    let mut ptrs: Vec<*mut c_void> = slots.iter_mut().map(Slot::as_mut_ptr).collect();
    let mut slow = Slot::ZERO;
    // SAFETY: `f` has the plan's signature; one pointer per argument, each to a slot
    // holding its value; the result slot has 16 bytes.
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
    let plan = LibffiPlan::new(&args, CType::Scalar(Byte)).unwrap();
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
    assert!(!LibffiPlan::new(&[CType::Scalar(Double)], CType::Void).unwrap().direct().unwrap().gpr_only());
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
    CType::record_for_call(size, align, || leaves.iter().map(|&(offset, kind)| ScalarAt::plain(offset, kind)).collect()).unwrap()
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
    let plan = LibffiPlan::new(types, CType::Scalar(ret)).unwrap();
    let direct = plan.direct().expect("a direct path");
    let mut regs = Registers::default();
    let mut few = Registers::<FEW_WORDS>::default();
    for (load, &arg) in direct.args().iter().zip(args.iter()) {
        let word = match load {
            // SAFETY: a scalar's pointer is to a 16-byte slot.
            ArgLoad::Word(_) => u64::from_le_bytes(unsafe { arg.cast::<[u8; 8]>().read() }),
            ArgLoad::Record(_) => arg as u64,
        };
        // SAFETY: a record's word is the address of its value, which the caller's
        // `args` points at.
        unsafe { load.store(&mut regs, word) };
        if direct.few_words() {
            // SAFETY: a record's word is the address of its value, which the caller's
            // `args` points at.
            unsafe { load.store(&mut few, word) };
        }
    }
    // SAFETY: each test gives `f` with the signature `types` -> `ret`, and every
    // argument was stored.
    let fast = unsafe { direct.call(f, &regs) };
    let mut slow = Slot::ZERO;
    // SAFETY: `f` has the plan's signature; `args` holds one pointer per argument,
    // each to its value; the result slot has 16 bytes.
    unsafe { plan.call(f, args, slow.as_mut_ptr()) };
    let n = ret.size();
    assert_eq!(fast.0[..n], slow.0[..n], "direct and libffi paths differ");
    if direct.few_words() {
        // SAFETY: `f` has the plan's signature, the plan is few_words and every
        // argument was stored into `few`.
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
    let plan = LibffiPlan::new(&types, CType::Scalar(LongLong)).unwrap();
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
    assert!(LibffiPlan::new(&[long_double], CType::Void).unwrap().direct().is_none());
    let two_bigs = [big(), big()];
    assert!(LibffiPlan::new(&two_bigs, CType::Void).unwrap().direct().is_none(), "10 stack words");
    assert!(LibffiPlan::new(&[big(), point3()], CType::Void).unwrap().direct().is_some());
    assert!(LibffiPlan::new(&[point3()], point3()).unwrap().direct().is_none(), "record results");
    assert!(!LibffiPlan::new(&[record(8, 4, &[(0, Int), (4, Int)])], CType::Void).unwrap().direct().unwrap().gpr_only());
}

#[test]
fn signatures_beyond_the_direct_stack_have_no_direct_path() {
    let fourteen = vec![CType::Scalar(Int); 6 + DIRECT_STACK_WORDS];
    assert!(LibffiPlan::new(&fourteen, CType::Scalar(Int)).unwrap().direct().is_some());
    let fifteen = vec![CType::Scalar(Int); 7 + DIRECT_STACK_WORDS];
    assert!(LibffiPlan::new(&fifteen, CType::Scalar(Int)).unwrap().direct().is_none());
    assert!(LibffiPlan::new(&[CType::Scalar(LongDouble)], CType::Void).unwrap().direct().is_none());
    for complex in [FloatComplex, DoubleComplex, LongDoubleComplex] {
        assert!(LibffiPlan::new(&[CType::Scalar(complex)], CType::Void).unwrap().direct().is_none());
        assert!(LibffiPlan::new(&[], CType::Scalar(complex)).unwrap().direct().is_none());
        assert!(LibffiPlan::new(&[record(complex.size(), complex.align(), &[(0, complex)])], CType::Void).unwrap().direct().is_none());
    }
    assert!(LibffiPlan::new_variadic(&[CType::Scalar(Int)], 1, CType::Void).unwrap().direct().is_none());
}

#[test]
fn direct_calls_of_variadic_libc_snprintf_tell_the_vector_registers() {
    // snprintf called through a plan made for its arguments' types (as a call
    // without argtypes makes it): doubles in vector registers and on the stack.
    let h = crate::library::open(None, crate::library::RTLD_LOCAL).unwrap();
    // SAFETY: h was just returned by open.
    let snprintf = unsafe { crate::library::symbol(h, "snprintf") }.unwrap();
    let p = CType::Scalar(VoidPtr);
    let mut types = vec![p.clone(), CType::Scalar(ULong), p];
    types.extend(std::iter::repeat_n(CType::Scalar(Double), 9));
    let plan = LibffiPlan::new(&types, CType::Scalar(Int)).expect("libffi describes these");
    let direct = plan.direct().expect("nine doubles fit the direct path's stack words");
    let mut buf = [0u8; 64];
    let fmt = b"%.0f %.0f %.0f %.0f %.0f %.0f %.0f %.0f %.0f\0";
    let mut slots = vec![word_slot(buf.as_mut_ptr()), word_slot(buf.len() as u64), word_slot(fmt.as_ptr())];
    slots.extend((1..=9).map(|i| word_slot(i as f64)));
    let mut regs = Registers::default();
    for (i, slot) in slots.iter().enumerate() {
        direct.load(&mut regs, i, slot).unwrap();
    }
    // SAFETY: snprintf(char*, size_t, const char*, ...) with nine doubles.
    let written = unsafe { direct.call_maybe_variadic(snprintf, &regs) };
    assert_eq!(written as i32, 17);
    assert_eq!(&buf[..18], b"1 2 3 4 5 6 7 8 9\0");
}

#[test]
fn load_refuses_records_and_missing_arguments() {
    let types = [CType::Scalar(Int), pair()];
    let plan = LibffiPlan::new(&types, CType::Void).unwrap();
    let direct = plan.direct().expect("an int and a 16-byte record have a direct path");
    let mut regs = Registers::default();
    assert_eq!(direct.load(&mut regs, 0, &word_slot(5i32)), Ok(()));
    assert_eq!(direct.load(&mut regs, 1, &Slot::ZERO), Err(NoScalarArgument { index: 1 }), "a record");
    assert_eq!(direct.load(&mut regs, 2, &Slot::ZERO), Err(NoScalarArgument { index: 2 }), "past the last argument");
}
