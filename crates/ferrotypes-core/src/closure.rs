//! Callback trampolines: C function pointers that call back into Rust.
//!
//! A [`Closure`] is a libffi closure allocated with `ffi_closure_alloc` and prepared
//! with `ffi_prep_closure_loc`, so libffi chooses how the code is mapped (static
//! trampolines, or a writable mapping and a separate executable alias of it): no
//! mapping is ever both writable and executable. Calling the closure's
//! [`code`](Closure::code) pointer from C runs the [`Handler`] with the raw argument
//! pointers and a zeroed result buffer.
//!
//! **Late calls.** C may keep a callback pointer after its owner is gone (ctypes
//! crashes then). Dropping a `Closure` therefore does not free its code: it marks the
//! closure released and keeps it in a quarantine, where a later call reaches
//! [`Handler::call_released`] (which reports it) and returns zero. The quarantine
//! holds at most [`RELEASED_LIMIT`] closures; beyond that the oldest released one is
//! freed for real, and calling *that* pointer again is undefined behaviour, as it is
//! in C. Each quarantined closure costs its libffi allocation and its handler (a few
//! hundred bytes); the signature is shared with its siblings.
//!
//! **Reuse.** A closure evicted from the quarantine is not freed at once: up to
//! [`SPARE_LIMIT`] of them are kept as spares, without their handler, and
//! [`Closure::new`] takes one before asking libffi for a new allocation. Making and
//! dropping callbacks in a loop then neither allocates nor frees libffi memory, whose
//! cost grows with the memory libffi holds (each `ffi_closure_alloc`,
//! `ffi_closure_free` and `ffi_prep_closure_loc` walks libffi's list of mapped pages,
//! about 260 of them once the quarantine is full). A spare keeps the signature it was
//! prepared for: given that same signature again it is already prepared as a fresh one
//! would be, and is prepared again only for another.
//!
//! **Panics** never unwind into C: the entry point catches them, writes zero and
//! tells the handler ([`Handler::panicked`]).
//!
//! What it does not do: convert values or know about Python; the handler does that.

use std::collections::VecDeque;
use std::ffi::c_void;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use libffi::low::{closure_free, ffi_arg, ffi_cif, ffi_closure, try_closure_alloc, CodePtr};
use libffi::middle::Cif;
use libffi::raw::ffi_prep_closure_loc;

use crate::call::PrepError;
use crate::ctype::{CType, NumberClass};

/// How many released closures are kept callable (see the module documentation).
pub const RELEASED_LIMIT: usize = 16384;

/// How many closures evicted from the quarantine are kept for reuse (see the module
/// documentation): each costs its libffi allocation and its `Inner` (about 150 bytes).
pub const SPARE_LIMIT: usize = 1024;

/// The C signature a closure is called with. Shared (`Arc`) by every closure of one
/// prototype; immutable once built.
pub struct ClosureSignature {
    cif: Cif,
    args: Vec<CType>,
    result: CType,
    /// Bytes of the result buffer libffi hands the handler: the result's size, at
    /// least one `ffi_arg` (libffi reads integer results narrower than that as a
    /// whole `ffi_arg`).
    result_room: usize,
}

// SAFETY: the cif is only read (by libffi, when a closure is entered) after it was
// prepared; its type array is owned by the Cif and never changes.
unsafe impl Send for ClosureSignature {}
// SAFETY: libffi only reads a prepared cif and its type array, which never change
// after preparation, so concurrent closure calls share nothing mutable (concurrent
// reads of a prepared cif are how libffi works); the other fields are plain data.
unsafe impl Sync for ClosureSignature {}

impl ClosureSignature {
    /// The signature of a C function taking `args` and returning `result`; `Err` when
    /// libffi cannot describe one of the types.
    pub fn new(args: &[CType], result: CType) -> Result<ClosureSignature, PrepError> {
        let cif = Cif::try_new(args.iter().map(CType::ffi_type), result.ffi_type()).map_err(PrepError)?;
        let result_room = result.size().max(std::mem::size_of::<ffi_arg>());
        Ok(ClosureSignature { cif, args: args.to_vec(), result, result_room })
    }

    /// The parameter types.
    pub fn args(&self) -> &[CType] {
        &self.args
    }

    /// The result type.
    pub fn result(&self) -> &CType {
        &self.result
    }
}

/// What a closure does when C calls it. Implementations are called from any thread,
/// concurrently, and must take their own locks.
pub trait Handler: Send + Sync + 'static {
    /// Handles one call. `args[i]` points at the value of parameter `i` (of the
    /// signature's type); `result` points at `result_room` zeroed bytes where the
    /// result, in the result type's own size and native byte order, is to be written.
    /// Writing nothing returns zero.
    ///
    /// # Safety
    /// Called only by the closure's entry point, with pointers as described.
    unsafe fn call(&self, args: &[*const c_void], result: *mut u8);

    /// A call that arrived after the closure was released. The result is zero.
    fn call_released(&self) {}

    /// `call` panicked with `message`; the result is zero. The default writes the
    /// message to standard error.
    fn panicked(&self, message: &str) {
        write_stderr(&format!("ferrotypes: a callback handler panicked ({message}); the callback returned 0\n"));
    }
}

/// Writes to file descriptor 2 without Rust's stderr machinery (which may panic).
pub fn write_stderr(message: &str) {
    // SAFETY: writing a valid buffer to fd 2; a failure is ignored on purpose.
    unsafe { libc::write(2, message.as_ptr().cast(), message.len()) };
}

/// The part of a closure that C's calls reach: allocated once, at a fixed address,
/// and passed to libffi as the closure's user data. It stays with its libffi
/// allocation for as long as that exists, through every reuse.
struct Inner {
    raw: *mut ffi_closure,
    code: CodePtr,
    /// The signature the libffi closure is prepared for; its cif is the one libffi reads.
    signature: Arc<ClosureSignature>,
    /// Shared with its owner, which may keep its own reference (no second allocation
    /// wrapping it); none for a spare.
    handler: Option<Arc<dyn Handler>>,
    released: AtomicBool,
}

// SAFETY: `raw` and `code` are only freed by Drop and otherwise only used by libffi;
// the handler is Send + Sync.
unsafe impl Send for Inner {}
// SAFETY: shared references only read `raw`, `code` and the signature (which libffi
// never mutates), call the handler (Send + Sync) and touch the atomic flag, the only
// mutable state; `raw` and `code` are freed only by Drop, and the signature and
// handler replaced only by the pool's reuse, both with the Inner owned exclusively.
unsafe impl Sync for Inner {}

impl Inner {
    /// Prepares the libffi closure to call `entry` with this `Inner` as user data,
    /// for its current signature.
    ///
    /// # Safety
    /// No C caller may be inside or enter the closure while it is prepared: it is new,
    /// or a spare (evicted from the quarantine: calling it is undefined behaviour, as
    /// the module documentation says). `self` must be boxed (its address is the user
    /// data) and stay at that address for as long as the closure exists.
    unsafe fn prepare(&self) -> Result<(), String> {
        let user_data = self as *const Inner as *mut c_void;
        // SAFETY: raw and code are a closure/code pair from ffi_closure_alloc; the cif
        // lives in the signature, which this Inner keeps alive (Arc) for as long as the
        // closure is prepared for it; user_data is this boxed Inner, which does not
        // move and is freed only together with the closure (the caller's promise).
        let status = unsafe { ffi_prep_closure_loc(self.raw, self.signature.cif.as_raw_ptr(), Some(entry), user_data, self.code.as_mut_ptr()) };
        if status == libffi::raw::ffi_status_FFI_OK {
            Ok(())
        } else {
            Err(format!("libffi could not prepare the closure (status {status})"))
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        // SAFETY: raw came from ffi_closure_alloc and is freed exactly once, here;
        // Inner is dropped only when no C caller can reach it any more (construction
        // failed, or the pool let it go: evicted from the quarantine with no room
        // among the spares).
        unsafe { closure_free(self.raw) };
    }
}

/// What a spare, which has no handler, answers: a late call reaching one (undefined
/// behaviour, see the module documentation) finds the closure released and this
/// handler, which does nothing, and returns zero.
struct NoHandler;

impl Handler for NoHandler {
    unsafe fn call(&self, _args: &[*const c_void], _result: *mut u8) {}
}

impl Inner {
    /// The handler, or [`NoHandler`] for a spare.
    fn handler(&self) -> &dyn Handler {
        match &self.handler {
            Some(handler) => &**handler,
            None => &NoHandler,
        }
    }
}

/// A C function pointer whose calls run a [`Handler`].
pub struct Closure {
    inner: Option<Box<Inner>>,
}

/// Closures that C may no longer call legitimately but that are not freed yet.
struct Pool {
    /// Released but still callable, oldest first (at most [`RELEASED_LIMIT`]).
    released: VecDeque<Box<Inner>>,
    /// Evicted from `released`, handler dropped, kept for reuse (at most
    /// [`SPARE_LIMIT`]); the most recently evicted last. Boxed: each `Inner`'s address
    /// is its libffi closure's user data and must not move.
    #[allow(clippy::vec_box)]
    spares: Vec<Box<Inner>>,
}

static POOL: Mutex<Pool> = Mutex::new(Pool { released: VecDeque::new(), spares: Vec::new() });

fn pool() -> std::sync::MutexGuard<'static, Pool> {
    POOL.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Closure {
    /// A closure for `signature` calling `handler`, or an error when libffi cannot
    /// allocate or prepare one. A spare is reused when there is one (see the module
    /// documentation).
    pub fn new(signature: &Arc<ClosureSignature>, handler: Arc<dyn Handler>) -> Result<Closure, String> {
        let spare = pool().spares.pop();
        let inner = match spare {
            Some(mut inner) => {
                // The spare is owned here alone: out of the pool, and evicted from the
                // quarantine, so no C caller may reach it.
                inner.handler = Some(handler);
                if !Arc::ptr_eq(&inner.signature, signature) {
                    let previous = std::mem::replace(&mut inner.signature, signature.clone());
                    // SAFETY: a spare, which no C caller may enter; the Inner is boxed
                    // and keeps its address until it is dropped with the closure.
                    unsafe { inner.prepare() }?;
                    drop(previous);
                }
                // Unless prepared again just now, the libffi closure already is what
                // preparing it would make: the same cif (the signature, kept alive by
                // the Inner since it was prepared), entry point, user data and code.
                *inner.released.get_mut() = false;
                inner
            }
            None => {
                let (raw, code) = try_closure_alloc().ok_or_else(|| "libffi could not allocate a closure".to_owned())?;
                let inner = Box::new(Inner { raw, code, signature: signature.clone(), handler: Some(handler), released: AtomicBool::new(false) });
                // SAFETY: a fresh allocation, which no C caller has seen; the Inner is
                // boxed and keeps its address until it is dropped with the closure.
                unsafe { inner.prepare() }?;
                inner
            }
        };
        Ok(Closure { inner: Some(inner) })
    }

    /// The C function pointer.
    pub fn code(&self) -> *const c_void {
        self.inner().code.as_ptr()
    }

    /// The signature.
    pub fn signature(&self) -> &Arc<ClosureSignature> {
        &self.inner().signature
    }

    /// The handler.
    pub fn handler(&self) -> &dyn Handler {
        self.inner().handler()
    }

    // `inner` is taken only by Drop, after which no method runs.
    #[allow(clippy::expect_used)]
    fn inner(&self) -> &Inner {
        self.inner.as_ref().expect("a live Closure always has its inner part")
    }
}

impl Drop for Closure {
    /// Releases the closure: its code stays valid (see the module documentation).
    fn drop(&mut self) {
        let Some(inner) = self.inner.take() else { return };
        inner.released.store(true, Ordering::Release);
        let (evicted_handler, freed) = {
            let mut pool = pool();
            pool.released.push_back(inner);
            let evicted = if pool.released.len() > RELEASED_LIMIT { pool.released.pop_front() } else { None };
            match evicted {
                // Out of the quarantine, C may no longer call it: its handler goes
                // (dropped below), and the closure is kept for reuse while there is
                // room, else freed.
                Some(mut evicted) => {
                    let handler = evicted.handler.take();
                    if pool.spares.len() < SPARE_LIMIT {
                        pool.spares.push(evicted);
                        (handler, None)
                    } else {
                        (handler, Some(evicted))
                    }
                }
                None => (None, None),
            }
        };
        // Dropped outside the lock: the handler's destructor may take locks of its own.
        drop((evicted_handler, freed));
    }
}

/// How many released closures are being kept callable.
pub fn released_count() -> usize {
    pool().released.len()
}

/// How many evicted closures are kept for reuse.
pub fn spare_count() -> usize {
    pool().spares.len()
}

/// libffi's entry point for every closure.
///
/// # Safety
/// Called only by libffi, for a closure prepared in [`Closure::new`]: `user_data` is
/// that closure's `Inner`, `args` holds one pointer per parameter of its signature,
/// each to a value of the parameter's type, and `result` is a buffer of at least
/// `result_room` bytes.
unsafe extern "C" fn entry(_cif: *mut ffi_cif, result: *mut c_void, args: *mut *mut c_void, user_data: *mut c_void) {
    // SAFETY: user_data is the Inner given to ffi_prep_closure_loc, alive as long as
    // the closure's code can be called (it is freed only together with the closure).
    let inner = unsafe { &*(user_data as *const Inner) };
    let signature = &*inner.signature;
    let result = result.cast::<u8>();
    // SAFETY: libffi hands a result buffer of at least the result's size, and at least
    // one ffi_arg for results narrower than that.
    unsafe { zero_result(result, signature.result_room) };
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        if inner.released.load(Ordering::Acquire) {
            inner.handler().call_released();
            return;
        }
        let n = signature.args.len();
        // SAFETY: libffi passes one pointer per parameter of the cif.
        let args: &[*const c_void] = if n == 0 { &[] } else { unsafe { std::slice::from_raw_parts(args as *const *const c_void, n) } };
        // SAFETY: the pointers are as `Handler::call` describes.
        unsafe { inner.handler().call(args, result) };
    }));
    match outcome {
        // SAFETY: libffi's result buffer has result_room bytes, at least one ffi_arg.
        Ok(()) => unsafe { widen_result(&signature.result, result) },
        Err(panic) => {
            // SAFETY: libffi's result buffer has result_room bytes.
            unsafe { zero_result(result, signature.result_room) };
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "unknown panic".to_owned());
            // A panic in the report itself must not unwind into C either.
            let _ = catch_unwind(AssertUnwindSafe(|| inner.handler().panicked(&message)));
        }
    }
}

/// Zeroes the result buffer: one store for the common one-word results (a call to
/// `memset` is a tenth of the entry point's own cost).
///
/// # Safety
/// `result` must be valid for `room` bytes.
#[inline(always)]
unsafe fn zero_result(result: *mut u8, room: usize) {
    // SAFETY: the caller guarantees `room` writable bytes at `result`; the one-word
    // store writes exactly those 8 when `room` is 8.
    unsafe {
        if room == 8 {
            result.cast::<u64>().write_unaligned(0);
        } else {
            std::ptr::write_bytes(result, 0, room);
        }
    }
}

/// libffi reads an integer result narrower than an `ffi_arg` as a whole `ffi_arg`:
/// extends the value the handler wrote (in its own width, at the buffer's start) to
/// one, sign- or zero-extended by its type. Portable: `ffi_arg`'s width and the byte
/// order are the target's.
///
/// # Safety
/// `buffer` must be valid for reads and writes of `max(result size, size_of::<ffi_arg>())`
/// bytes (`result_room`).
unsafe fn widen_result(result: &CType, buffer: *mut u8) {
    let CType::Scalar(kind) = result else { return };
    if kind.size() >= std::mem::size_of::<ffi_arg>() || kind.number_class() == NumberClass::Float {
        return;
    }
    let signed = kind.number_class() == NumberClass::Signed;
    // SAFETY: the handler's value is in the buffer's first `size` bytes, which are
    // readable (the buffer has at least one ffi_arg, wider than the value).
    let wide: u64 = unsafe {
        match (kind.size(), signed) {
            (1, true) => buffer.cast::<i8>().read() as i64 as u64,
            (1, false) => u64::from(buffer.read()),
            (2, true) => buffer.cast::<i16>().read_unaligned() as i64 as u64,
            (2, false) => u64::from(buffer.cast::<u16>().read_unaligned()),
            (4, true) => buffer.cast::<i32>().read_unaligned() as i64 as u64,
            (4, false) => u64::from(buffer.cast::<u32>().read_unaligned()),
            _ => return,
        }
    };
    // SAFETY: the buffer holds at least one ffi_arg. The cast keeps the low bits,
    // which are the extended value in an ffi_arg of any width.
    unsafe { buffer.cast::<ffi_arg>().write_unaligned(wide as ffi_arg) };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ctype::ScalarKind;
    use std::sync::atomic::AtomicUsize;

    /// Adds a constant to its int argument and counts released calls.
    struct AddK {
        k: i32,
        released_calls: Arc<AtomicUsize>,
    }

    impl Handler for AddK {
        unsafe fn call(&self, args: &[*const c_void], result: *mut u8) {
            // SAFETY: the signature is (int) -> int.
            let x = unsafe { *(args[0] as *const i32) };
            // SAFETY: result has room for an int.
            unsafe { (result as *mut i32).write_unaligned(x + self.k) };
        }
        fn call_released(&self) {
            self.released_calls.fetch_add(1, Ordering::SeqCst);
        }
    }

    struct Panics;
    impl Handler for Panics {
        unsafe fn call(&self, _args: &[*const c_void], result: *mut u8) {
            // SAFETY: room for an int.
            unsafe { (result as *mut i32).write_unaligned(99) };
            panic!("on purpose");
        }
        fn panicked(&self, _message: &str) {}
    }

    /// Returns its `signed char` argument, to check widening.
    struct Narrow;
    impl Handler for Narrow {
        unsafe fn call(&self, args: &[*const c_void], result: *mut u8) {
            // SAFETY: the signature is (signed char) -> signed char.
            unsafe { *result = *(args[0] as *const u8) };
        }
    }

    /// The pool is process-wide and tests run on several threads: every test that
    /// makes closures holds this, so that the tests counting spares see only their own.
    static SERIAL: Mutex<()> = Mutex::new(());

    fn serial() -> std::sync::MutexGuard<'static, ()> {
        SERIAL.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn int_sig() -> Arc<ClosureSignature> {
        Arc::new(ClosureSignature::new(&[CType::Scalar(ScalarKind::Int)], CType::Scalar(ScalarKind::Int)).unwrap())
    }

    #[test]
    fn calls_handler_then_reports_after_release() {
        let _serial = serial();
        let count = Arc::new(AtomicUsize::new(0));
        let closure = Closure::new(&int_sig(), Arc::new(AddK { k: 5, released_calls: count.clone() })).unwrap();
        // SAFETY: the closure's signature is (int) -> int.
        let f: extern "C" fn(i32) -> i32 = unsafe { std::mem::transmute(closure.code()) };
        assert_eq!(f(6), 11);
        assert_eq!(f(-5), 0);
        drop(closure);
        // The code stays valid after release: the call is answered with zero.
        assert_eq!(f(6), 0);
        assert_eq!(count.load(Ordering::SeqCst), 1);
        assert!(released_count() >= 1);
    }

    #[test]
    fn panic_returns_zero() {
        let _serial = serial();
        let closure = Closure::new(&int_sig(), Arc::new(Panics)).unwrap();
        // SAFETY: (int) -> int.
        let f: extern "C" fn(i32) -> i32 = unsafe { std::mem::transmute(closure.code()) };
        assert_eq!(f(1), 0);
    }

    #[test]
    fn narrow_results_are_widened() {
        let _serial = serial();
        let sig = Arc::new(ClosureSignature::new(&[CType::Scalar(ScalarKind::Byte)], CType::Scalar(ScalarKind::Byte)).unwrap());
        let closure = Closure::new(&sig, Arc::new(Narrow)).unwrap();
        // SAFETY: (signed char) -> signed char; read back as a full register through
        // libffi's call path, which is what C callers see.
        let plan = crate::call::LibffiPlan::new(&[CType::Scalar(ScalarKind::Byte)], CType::Scalar(ScalarKind::Byte)).unwrap();
        let mut arg = crate::call::Slot::ZERO;
        arg.0[0] = 0xfe; // -2
        let mut out = crate::call::Slot::ZERO;
        let mut ptrs = [arg.as_mut_ptr()];
        // SAFETY: the closure has the plan's signature.
        unsafe { plan.call(closure.code(), &mut ptrs, out.as_mut_ptr()) };
        assert_eq!(i64::from_ne_bytes(out.0[..8].try_into().unwrap()), -2);
    }

    #[test]
    fn narrow_integer_results_fill_an_ffi_arg_by_their_signedness() {
        use ScalarKind::*;
        let cases: [(ScalarKind, Vec<u8>, i64); 7] = [
            (Byte, (-2i8).to_ne_bytes().to_vec(), -2),
            (UByte, 254u8.to_ne_bytes().to_vec(), 254),
            (Short, (-2i16).to_ne_bytes().to_vec(), -2),
            (UShort, 65534u16.to_ne_bytes().to_vec(), 65534),
            (Int, (-2i32).to_ne_bytes().to_vec(), -2),
            (UInt, 0xffff_fffeu32.to_ne_bytes().to_vec(), 0xffff_fffe),
            (LongLong, (-2i64).to_ne_bytes().to_vec(), -2),
        ];
        for (kind, value, expected) in cases {
            // What the handler leaves: its value at the start, stale bytes after it.
            let mut buffer = [0x55u8; 16];
            buffer[..value.len()].copy_from_slice(&value);
            // SAFETY: 16 bytes, more than any result_room here.
            unsafe { widen_result(&CType::Scalar(kind), buffer.as_mut_ptr()) };
            // SAFETY: 16 readable bytes.
            let read = unsafe { buffer.as_ptr().cast::<ffi_arg>().read_unaligned() };
            assert_eq!(read, expected as ffi_arg, "{kind:?}");
        }
    }

    #[test]
    fn threads_call_concurrently() {
        let _serial = serial();
        struct Count(AtomicUsize);
        impl Handler for Count {
            unsafe fn call(&self, _args: &[*const c_void], _result: *mut u8) {
                self.0.fetch_add(1, Ordering::Relaxed);
            }
        }
        let sig = Arc::new(ClosureSignature::new(&[], CType::Void).unwrap());
        let closure = Closure::new(&sig, Arc::new(Count(AtomicUsize::new(0)))).unwrap();
        let code = closure.code() as usize;
        let threads: Vec<_> = (0..4)
            .map(|_| {
                std::thread::spawn(move || {
                    // SAFETY: () -> void; the closure outlives the threads (joined below).
                    let f: extern "C" fn() = unsafe { std::mem::transmute(code) };
                    for _ in 0..10_000 {
                        f();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let counted = {
            let h = closure.handler() as *const dyn Handler as *const Count;
            // SAFETY: the handler is the Count boxed above.
            unsafe { (*h).0.load(Ordering::SeqCst) }
        };
        assert_eq!(counted, 40_000);
    }

    #[test]
    fn records_of_no_bytes_are_refused_not_panicked_on() {
        let empty = CType::Record { members: [].into(), size: 0, align: 1 };
        let err = ClosureSignature::new(std::slice::from_ref(&empty), CType::Void).err();
        assert_eq!(err.map(PrepError::status), Some(1), "FFI_BAD_TYPEDEF");
        assert!(ClosureSignature::new(&[], empty.clone()).is_err());
        assert!(crate::call::LibffiPlan::new(std::slice::from_ref(&empty), CType::Void).is_err());
        assert!(crate::call::LibffiPlan::new_variadic(&[CType::Scalar(ScalarKind::Int), empty], 1, CType::Void).is_err());
    }

    /// Sums the bytes of its large record argument and returns the record with every
    /// byte incremented, to check that an aggregate described by its size alone
    /// travels whole both ways.
    struct BigRecord;
    const BIG: usize = 4096 + 3;
    impl Handler for BigRecord {
        unsafe fn call(&self, args: &[*const c_void], result: *mut u8) {
            // SAFETY: the signature is (struct of BIG bytes, int) -> that struct, and
            // result has room for BIG bytes.
            let (input, offset) = unsafe { (std::slice::from_raw_parts(args[0] as *const u8, BIG), *(args[1] as *const i32)) };
            for (i, b) in input.iter().enumerate() {
                // SAFETY: i < BIG, the result's size.
                unsafe { *result.add(i) = b.wrapping_add(offset as u8) };
            }
        }
    }

    #[test]
    fn large_records_cross_by_size_alone() {
        let _serial = serial();
        let big = CType::Record { members: [].into(), size: BIG, align: 1 };
        let args = [big.clone(), CType::Scalar(ScalarKind::Int)];
        let sig = Arc::new(ClosureSignature::new(&args, big.clone()).unwrap());
        let closure = Closure::new(&sig, Arc::new(BigRecord)).unwrap();
        let plan = crate::call::LibffiPlan::new(&args, big).unwrap();
        let mut input: Vec<u8> = (0..BIG).map(|i| (i * 7) as u8).collect();
        let mut offset = crate::call::Slot::ZERO;
        offset.0[..4].copy_from_slice(&3i32.to_ne_bytes());
        let mut output = vec![0u8; BIG];
        let mut ptrs = [input.as_mut_ptr().cast(), offset.as_mut_ptr()];
        // SAFETY: the closure has the plan's signature; output has room for the result.
        unsafe { plan.call(closure.code(), &mut ptrs, output.as_mut_ptr().cast()) };
        let expected: Vec<u8> = input.iter().map(|b| b.wrapping_add(3)).collect();
        assert!(output == expected);
    }

    /// Makes `n` (int) -> int closures adding `k`, all alive at once, then drops them
    /// in the order they were made, and returns their code addresses in that order:
    /// the first `n - RELEASED_LIMIT` are then out of the quarantine (which was full
    /// before, or is now).
    fn churn(n: usize, k: i32) -> Vec<usize> {
        let sig = int_sig();
        let count = Arc::new(AtomicUsize::new(0));
        let closures: Vec<Closure> = (0..n).map(|_| Closure::new(&sig, Arc::new(AddK { k, released_calls: count.clone() })).unwrap()).collect();
        closures.iter().map(|c| c.code() as usize).collect()
    }

    fn call_int(code: *const c_void, x: i32) -> i32 {
        // SAFETY: every closure these tests call through this is (int) -> int.
        let f: extern "C" fn(i32) -> i32 = unsafe { std::mem::transmute(code) };
        f(x)
    }

    #[test]
    fn evicted_closures_are_reused_and_call_their_new_handler_only() {
        let _serial = serial();
        let made = churn(RELEASED_LIMIT + 20, 1);
        assert_eq!(released_count(), RELEASED_LIMIT);
        assert!(spare_count() >= 20);
        let old_calls = Arc::new(AtomicUsize::new(0));
        let new_calls = Arc::new(AtomicUsize::new(0));
        // Tell the old handlers' late calls apart: their released counter is old_calls.
        drop(Closure::new(&int_sig(), Arc::new(AddK { k: 1, released_calls: old_calls.clone() })).unwrap());
        let reused = Closure::new(&int_sig(), Arc::new(AddK { k: 1000, released_calls: new_calls.clone() })).unwrap();
        let code = reused.code() as usize;
        // The most recently evicted closure is the one taken: the 21st made above
        // (the one dropped just before was pushed into the quarantine, evicting it),
        // or, with no spare left before that drop (a full list), the 20th.
        assert!(made.get(19..21).is_some_and(|m| m.contains(&code)), "a spare is taken before libffi allocates");
        assert_eq!(call_int(reused.code(), 5), 1005);
        assert_eq!(old_calls.load(Ordering::SeqCst), 0);
        drop(reused);
        // Released again: the call is a late one, reported by the new handler.
        assert_eq!(call_int(code as *const c_void, 5), 0);
        assert_eq!(new_calls.load(Ordering::SeqCst), 1);
        assert_eq!(old_calls.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn spares_are_prepared_again_for_another_signature() {
        let _serial = serial();
        churn(RELEASED_LIMIT + 4, 1);
        assert!(spare_count() >= 1);
        struct Halve;
        impl Handler for Halve {
            unsafe fn call(&self, args: &[*const c_void], result: *mut u8) {
                // SAFETY: the signature is (double) -> double.
                unsafe { (result as *mut f64).write_unaligned(*(args[0] as *const f64) / 2.0) };
            }
        }
        let sig = Arc::new(ClosureSignature::new(&[CType::Scalar(ScalarKind::Double)], CType::Scalar(ScalarKind::Double)).unwrap());
        let spares = spare_count();
        let closure = Closure::new(&sig, Arc::new(Halve)).unwrap();
        assert_eq!(spare_count(), spares - 1, "the spare was taken");
        // SAFETY: the closure's signature is (double) -> double.
        let f: extern "C" fn(f64) -> f64 = unsafe { std::mem::transmute(closure.code()) };
        assert_eq!(f(5.0), 2.5);
    }

    #[test]
    fn spares_are_capped_and_the_rest_freed() {
        let _serial = serial();
        churn(RELEASED_LIMIT + SPARE_LIMIT + 100, 1);
        assert_eq!(released_count(), RELEASED_LIMIT);
        assert_eq!(spare_count(), SPARE_LIMIT);
        // Taking spares empties the list, and then libffi allocates again.
        let sig = int_sig();
        let count = Arc::new(AtomicUsize::new(0));
        let kept: Vec<Closure> = (0..SPARE_LIMIT + 3).map(|_| Closure::new(&sig, Arc::new(AddK { k: 2, released_calls: count.clone() })).unwrap()).collect();
        assert_eq!(spare_count(), 0);
        assert!(kept.iter().all(|c| call_int(c.code(), 1) == 3));
    }

    #[test]
    fn threads_make_and_drop_closures_concurrently() {
        let _serial = serial();
        const THREADS: usize = 4;
        const EACH: usize = RELEASED_LIMIT / 2;
        let sig = int_sig();
        let workers: Vec<_> = (0..THREADS)
            .map(|t| {
                let sig = sig.clone();
                std::thread::spawn(move || {
                    let count = Arc::new(AtomicUsize::new(0));
                    let mut live = Vec::new();
                    for i in 0..EACH {
                        // Each closure adds its own constant: a closure reused across
                        // threads calling any other handler shows as a wrong sum.
                        let k = i32::try_from(t * EACH + i).unwrap();
                        let closure = Closure::new(&sig, Arc::new(AddK { k, released_calls: count.clone() })).unwrap();
                        assert_eq!(call_int(closure.code(), 7), k + 7);
                        live.push(closure);
                        if live.len() > 3 {
                            let oldest = live.remove(0);
                            assert_eq!(call_int(oldest.code(), 1), oldest_k(&oldest) + 1);
                            drop(oldest);
                        }
                    }
                    assert_eq!(count.load(Ordering::SeqCst), 0, "no late call reached a handler of this thread");
                })
            })
            .collect();
        for w in workers {
            w.join().unwrap();
        }
        assert_eq!(released_count(), RELEASED_LIMIT);
        assert!(spare_count() <= SPARE_LIMIT);
    }

    /// The constant of an `AddK` closure.
    fn oldest_k(closure: &Closure) -> i32 {
        let h = closure.handler() as *const dyn Handler as *const AddK;
        // SAFETY: every handler of the test using this is an AddK.
        unsafe { (*h).k }
    }
}
