//! Static trampolines: callback code that exists in the binary, for signatures that
//! need no libffi closure.
//!
//! On x86_64 System V a C caller passes integer-class arguments (integers, pointers)
//! in `%rdi, %rsi, %rdx, %rcx, %r8, %r9` in order and `float`/`double` ones in
//! `%xmm0..7` in order, each class independently of the other; an integer-class or
//! `void` result comes back in `%rax`, a `float` or `double` one in `%xmm0`. So one
//! function of type `fn(u64 ×6, f64 ×8) -> {u64, f64}` receives every argument of any
//! signature of at most 6 integer-class and 8 floating parameters (no records, no
//! `long double`, no complex), each in the register its class and position give it,
//! and returns any scalar result: the struct `{u64, f64}` comes back in `%rax` and
//! `%xmm0`, and the caller reads the one its result type lives in. Only the low bytes
//! of a register are meaningful for a narrower type (a `float` is the low 32 bits of
//! its vector register), which on this little-endian target is the value read from
//! the start of the register's copy.
//!
//! [`POOL_SIZE`] such trampolines exist, as many as the quarantine holds released
//! closures and more, so that a program making and releasing callbacks keeps finding
//! free ones. Each is a stub of a few bytes of the binary's code that passes its slot
//! number to one shared entry, which copies the argument registers and reads the
//! closure from the slot's entry of a slot table: making a closure takes a free slot,
//! stores the closure there (Release, before its code pointer is handed out; the entry
//! loads it with Acquire) and hands out the slot's stub. Calls then go straight to the
//! closure's handler path, without libffi's generic closure entry (which classifies
//! the signature's arguments again on every call). A released closure keeps its slot
//! through the quarantine like any closure (a late call still reaches
//! `Handler::call_released`); when it leaves it, the slot is emptied (a call then
//! returns zero) until a closure is published in it again: a spare keeping the slot,
//! or a new closure once the slot is freed.
//!
//! What it does not do: other ABIs (every signature keeps the libffi closure there),
//! or signatures with stack arguments, records, `long double` or complex values.

/// Where each parameter of a signature the static trampolines take arrives: its
/// index among the register copies a trampoline makes (the integer registers first,
/// then the vector registers). Made once per signature.
#[cfg_attr(not(all(target_arch = "x86_64", unix)), allow(dead_code))]
pub(super) struct RegisterLayout {
    registers: Box<[u8]>,
    /// How the result word is extended from the result's own width: shifted left by
    /// this much and back, arithmetically when `signed_result`. Zero (no change) for
    /// results as wide as the register, floating ones and `void`.
    result_shift: u32,
    signed_result: bool,
}

#[cfg(all(target_arch = "x86_64", unix))]
mod sysv {
    //! The x86_64 System V trampolines and their slot table.

    // Register indexes are below WORDS (checked as they are assigned); slot indexes
    // below POOL_SIZE, the length of the tables they index (taken from `FreeSlots`).
    #![allow(clippy::indexing_slicing, clippy::arithmetic_side_effects)]

    use std::ffi::c_void;
    use std::ptr::null_mut;
    use std::sync::atomic::{AtomicPtr, Ordering};
    use std::sync::Mutex;

    use super::RegisterLayout;
    use crate::closure::{Arguments, Inner};
    use crate::ctype::{CType, NumberClass, ScalarKind};

    /// Integer-class argument registers.
    const INT_REGISTERS: usize = 6;
    /// Vector argument registers.
    const VECTOR_REGISTERS: usize = 8;
    /// The register copies a trampoline makes.
    const WORDS: usize = INT_REGISTERS + VECTOR_REGISTERS;

    /// How many static trampolines exist: one for every closure the quarantine
    /// holds and 4,096 more for live ones, so that making and releasing callbacks
    /// does not run out of them (and reach for libffi) while the quarantine fills.
    pub const POOL_SIZE: usize = crate::closure::RELEASED_LIMIT + 4096;

    /// A trampoline's result: returned in `%rax` and `%xmm0` (a struct of one
    /// INTEGER and one SSE eightbyte).
    #[repr(C)]
    pub struct Returned {
        int: u64,
        float: f64,
    }

    /// The closure each trampoline calls; null when its slot is free.
    static SLOTS: [AtomicPtr<Inner>; POOL_SIZE] = [const { AtomicPtr::new(null_mut()) }; POOL_SIZE];

    /// The slots never taken yet are `next..POOL_SIZE`; `returned` holds the ones
    /// given back.
    struct FreeSlots {
        next: usize,
        returned: Vec<usize>,
    }

    static FREE: Mutex<FreeSlots> = Mutex::new(FreeSlots { next: 0, returned: Vec::new() });

    fn free_slots() -> std::sync::MutexGuard<'static, FreeSlots> {
        FREE.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    impl RegisterLayout {
        /// The layout of a signature the static trampolines take (see the module
        /// documentation), or None.
        pub fn new(args: &[CType], result: &CType) -> Option<RegisterLayout> {
            let (mut ints, mut vectors) = (0usize, 0usize);
            let mut registers = Vec::with_capacity(args.len());
            for arg in args {
                let CType::Scalar(kind) = arg else { return None };
                if !scalar_in_one_register(*kind) {
                    return None;
                }
                let index = if kind.number_class() == NumberClass::Float {
                    vectors += 1;
                    (vectors <= VECTOR_REGISTERS).then_some(INT_REGISTERS + vectors - 1)?
                } else {
                    ints += 1;
                    (ints <= INT_REGISTERS).then_some(ints - 1)?
                };
                registers.push(index as u8);
            }
            let (result_shift, signed_result) = match result {
                CType::Void => (0, false),
                CType::Scalar(kind) if scalar_in_one_register(*kind) => match kind.number_class() {
                    NumberClass::Float => (0, false),
                    // A scalar's size is at most 8 here: the shift is below 64.
                    class => (64 - 8 * kind.size() as u32, class == NumberClass::Signed),
                },
                _ => return None,
            };
            Some(RegisterLayout { registers: registers.into(), result_shift, signed_result })
        }
    }

    /// Whether a scalar travels in one integer or one vector register, as an argument
    /// and as a result: every kind but `long double` and the complex ones.
    fn scalar_in_one_register(kind: ScalarKind) -> bool {
        kind != ScalarKind::LongDouble && kind.complex_part().is_none()
    }

    /// A taken slot: its trampoline calls the closure stored in it. Dropping it
    /// empties the slot and frees it.
    pub struct Slot(usize);

    impl Slot {
        /// A free slot, or None when every one is taken.
        pub fn take() -> Option<Slot> {
            let mut free = free_slots();
            if let Some(index) = free.returned.pop() {
                return Some(Slot(index));
            }
            if free.next < POOL_SIZE {
                free.next += 1;
                return Some(Slot(free.next - 1));
            }
            None
        }

        /// Makes the slot's trampoline call `inner`, and returns the trampoline.
        ///
        /// # Safety
        /// `inner` must stay at its address, alive, for as long as the slot is taken
        /// (it is dropped after this slot, which it owns).
        pub unsafe fn publish(&self, inner: *const Inner) -> *const c_void {
            // Release: a trampoline that loads this pointer (Acquire) sees the Inner
            // as it was built; the code pointer is handed out only after this store.
            SLOTS[self.0].store(inner.cast_mut(), Ordering::Release);
            (stub_table as *const u8).wrapping_add(self.0 * STUB_BYTES).cast()
        }

        /// Empties the slot, which stays taken: its trampoline returns zero until a
        /// closure is published in it again.
        pub fn empty(&self) {
            SLOTS[self.0].store(null_mut(), Ordering::Release);
        }
    }

    impl Drop for Slot {
        fn drop(&mut self) {
            self.empty();
            let mut free = free_slots();
            // Fallible: with no memory for the list the slot stays out of use.
            if free.returned.try_reserve(1).is_ok() {
                free.returned.push(self.0);
            }
        }
    }

    /// Bytes of one stub of [`stub_table`].
    const STUB_BYTES: usize = 16;

    /// The trampolines: [`POOL_SIZE`] stubs of [`STUB_BYTES`] each, stub `k` being
    /// `mov r11d, k; jmp common_entry` (encoded byte by byte, so that every stub has the
    /// same size whatever the assembler would choose) padded with `int3`. `%r11` is a
    /// scratch register no C caller passes an argument in. One small stub per slot
    /// rather than one compiled function keeps a pool as large as the quarantine in
    /// about a third of a megabyte of code.
    #[unsafe(naked)]
    extern "C" fn stub_table() {
        core::arch::naked_asm!(
            ".set ferrotypes_trampoline_slot, 0",
            ".rept {count}",
            ".byte 0x41, 0xbb",
            ".long ferrotypes_trampoline_slot",
            ".byte 0xe9",
            ".long {common} - . - 4",
            ".byte 0xcc, 0xcc, 0xcc, 0xcc, 0xcc",
            ".set ferrotypes_trampoline_slot, ferrotypes_trampoline_slot + 1",
            ".endr",
            count = const POOL_SIZE,
            common = sym common_entry,
        )
    }

    /// What every stub jumps to, with its slot in `%r11`: copies the six integer and
    /// eight vector argument registers to the stack (the integer ones first, as
    /// [`RegisterLayout`] numbers them) and calls [`enter`], whose
    /// `Returned` comes back in `%rax` and `%xmm0`, where the C caller reads its
    /// result. 120 bytes keep the stack 16-byte aligned at the call (the C caller's
    /// call left it 8 off).
    #[unsafe(naked)]
    extern "C" fn common_entry() {
        core::arch::naked_asm!(
            "sub rsp, 120",
            "mov [rsp], rdi",
            "mov [rsp + 8], rsi",
            "mov [rsp + 16], rdx",
            "mov [rsp + 24], rcx",
            "mov [rsp + 32], r8",
            "mov [rsp + 40], r9",
            "movsd [rsp + 48], xmm0",
            "movsd [rsp + 56], xmm1",
            "movsd [rsp + 64], xmm2",
            "movsd [rsp + 72], xmm3",
            "movsd [rsp + 80], xmm4",
            "movsd [rsp + 88], xmm5",
            "movsd [rsp + 96], xmm6",
            "movsd [rsp + 104], xmm7",
            "mov edi, r11d",
            "mov rsi, rsp",
            "call {enter}",
            "add rsp, 120",
            "ret",
            enter = sym enter,
        )
    }

    /// Stub `slot`'s call, with the argument registers' copies: the part every
    /// trampoline shares, called by [`common_entry`] with the C calling convention.
    extern "C" fn enter(slot: usize, words: &[u64; WORDS]) -> Returned {
        let inner = SLOTS.get(slot).map_or(null_mut(), |s| s.load(Ordering::Acquire));
        if inner.is_null() {
            // A slot emptied after its closure left the quarantine: calling it is
            // undefined behaviour for a libffi closure; here it returns zero.
            return Returned { int: 0, float: 0.0 };
        }
        // SAFETY: a non-null slot holds an Inner that stays alive while the slot
        // does (`Slot::publish`), and the slot is emptied before it is dropped.
        let inner = unsafe { &*inner };
        let Some(layout) = inner.signature.registers.as_ref() else { return Returned { int: 0, float: 0.0 } };
        // A word, as a libffi result buffer: the zeroed and extended result of any
        // scalar the layout takes (a `float`'s 4 bytes at its start).
        let mut result = 0u64;
        // Every register index of the layout is below WORDS (`RegisterLayout::new`).
        let args = Arguments::Registers { words, at: &layout.registers };
        // SAFETY: each parameter's value is at the start of the copy of the register
        // it arrives in (little-endian; the layout gives each parameter its register);
        // result is zeroed and has the result's room (one word).
        unsafe { inner.dispatch(args, (&mut result as *mut u64).cast()) };
        // The handler wrote the result in its own width at the word's start, the low
        // bytes on this little-endian target: extended to the whole register, as
        // libffi extends a narrow integer result.
        let shift = layout.result_shift;
        let result = if layout.signed_result { ((result << shift) as i64 >> shift) as u64 } else { (result << shift) >> shift };
        Returned { int: result, float: f64::from_bits(result) }
    }
}

#[cfg(not(all(target_arch = "x86_64", unix)))]
mod sysv {
    //! Other ABIs: no static trampolines; every closure is libffi's.

    use std::ffi::c_void;

    use super::RegisterLayout;
    use crate::closure::{Arguments, Inner};
    use crate::ctype::CType;

    pub const POOL_SIZE: usize = 0;

    impl RegisterLayout {
        pub fn new(_args: &[CType], _result: &CType) -> Option<RegisterLayout> {
            None
        }
    }

    /// A slot, of which there are none.
    pub struct Slot(());

    impl Slot {
        pub fn take() -> Option<Slot> {
            None
        }

        /// # Safety
        /// Never called: no slot exists.
        pub unsafe fn publish(&self, _inner: *const Inner) -> *const c_void {
            std::ptr::null()
        }

        pub fn empty(&self) {}
    }
}

pub(super) use sysv::{Slot, POOL_SIZE};
