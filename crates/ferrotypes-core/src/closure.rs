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
//! **Static trampolines.** On x86_64 System V a signature of at most 6 integer or
//! pointer and 8 `float`/`double` parameters and a scalar or `void` result needs no
//! libffi closure: [`Closure::new`] gives it one of a fixed pool of trampolines compiled
//! into the binary ([`static_trampolines`]) while one is free, which enters the same
//! handler path with less work per call. It is released, quarantined and called late
//! like any closure; leaving the quarantine it empties its slot (a call through it then
//! returns zero) and becomes a spare that keeps the slot, taken before a free slot by the
//! next closure that needs one (up to [`SPARE_LIMIT`] such spares; beyond, the slot is
//! freed): making and dropping callbacks in a loop then allocates no closure.
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

mod arguments;
mod static_trampolines;
pub use arguments::Arguments;
use static_trampolines::{RegisterLayout, Slot};

/// How many closures can be static trampolines at once (none on ABIs without them).
pub const STATIC_TRAMPOLINES: usize = static_trampolines::POOL_SIZE;

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
    /// How a narrow integer result is extended to an `ffi_arg`.
    widening: Widening,
    /// Where the arguments arrive when a static trampoline takes the signature.
    registers: Option<RegisterLayout>,
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
        let registers = RegisterLayout::new(args, &result);
        let widening = Widening::of(&result);
        Ok(ClosureSignature { cif, args: args.to_vec(), result, result_room, widening, registers })
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
    /// Handles one call. `args` gives where the value of each parameter (of the
    /// signature's type) is; `result` points at `result_room` zeroed bytes where the
    /// result, in the result type's own size and native byte order, is to be written.
    /// Writing nothing returns zero.
    ///
    /// # Safety
    /// Called only by the closure's entry point, with pointers as described.
    unsafe fn call(&self, args: Arguments<'_>, result: *mut u8);

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
    code: Code,
    /// The signature the closure is called with (for a libffi closure, prepared for:
    /// its cif is the one libffi reads).
    signature: Arc<ClosureSignature>,
    /// Shared with its owner, which may keep its own reference (no second allocation
    /// wrapping it); none for a spare. Set only through [`Inner::set_handler`].
    handler: Option<Arc<dyn Handler>>,
    /// Where `handler`'s value is ([`NoHandler`] when there is none), so that a call
    /// reaches it without unwrapping the `Arc`.
    handler_at: *const dyn Handler,
    released: AtomicBool,
}

/// The code C calls.
enum Code {
    /// A libffi closure, from `ffi_closure_alloc`.
    Libffi { raw: *mut ffi_closure, code: CodePtr },
    /// A static trampoline and the slot it reads this Inner from.
    Static { slot: Slot, code: *const c_void },
}

// SAFETY: `raw` and `code` are only freed by Drop and otherwise only used by libffi;
// a static trampoline's code is never freed; the handler is Send + Sync, and
// `handler_at` only points at it (or at the static NoHandler).
unsafe impl Send for Inner {}
// SAFETY: shared references only read the code and the signature (which libffi never
// mutates), call the handler (Send + Sync) and touch the atomic flag, the only
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
        let Code::Libffi { raw, code } = &self.code else { return Ok(()) };
        let user_data = self as *const Inner as *mut c_void;
        // SAFETY: raw and code are a closure/code pair from ffi_closure_alloc; the cif
        // lives in the signature, which this Inner keeps alive (Arc) for as long as the
        // closure is prepared for it; user_data is this boxed Inner, which does not
        // move and is freed only together with the closure (the caller's promise).
        let status = unsafe { ffi_prep_closure_loc(*raw, self.signature.cif.as_raw_ptr(), Some(entry), user_data, code.as_mut_ptr()) };
        if status == libffi::raw::ffi_status_FFI_OK {
            Ok(())
        } else {
            Err(format!("libffi could not prepare the closure (status {status})"))
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        // A static trampoline's slot is emptied and freed by its own Drop.
        let Code::Libffi { raw, .. } = self.code else { return };
        // SAFETY: raw came from ffi_closure_alloc and is freed exactly once, here;
        // Inner is dropped only when no C caller can reach it any more (construction
        // failed, or the pool let it go: evicted from the quarantine with no room
        // among the spares).
        unsafe { closure_free(raw) };
    }
}

/// What a spare, which has no handler, answers: a late call reaching one (undefined
/// behaviour, see the module documentation) finds the closure released and this
/// handler, which does nothing, and returns zero.
struct NoHandler;

impl Handler for NoHandler {
    unsafe fn call(&self, _args: Arguments<'_>, _result: *mut u8) {}
}

impl Inner {
    /// An Inner for `code` and `signature`, calling `handler`.
    fn new(code: Code, signature: &Arc<ClosureSignature>, handler: Arc<dyn Handler>) -> Inner {
        let handler_at = Arc::as_ptr(&handler);
        Inner { code, signature: signature.clone(), handler: Some(handler), handler_at, released: AtomicBool::new(false) }
    }

    /// Replaces the handler, returning the previous one.
    fn set_handler(&mut self, handler: Option<Arc<dyn Handler>>) -> Option<Arc<dyn Handler>> {
        self.handler_at = handler.as_ref().map_or(&NoHandler as *const dyn Handler, Arc::as_ptr);
        std::mem::replace(&mut self.handler, handler)
    }

    /// The handler, or [`NoHandler`] for a spare.
    #[inline(always)]
    fn handler(&self) -> &dyn Handler {
        // SAFETY: handler_at is the static NoHandler or the value of the Arc in
        // `handler`, which this Inner keeps alive (both change together, in
        // `set_handler`, with the Inner owned exclusively).
        unsafe { &*self.handler_at }
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
    /// The same for closures on static trampolines (at most [`SPARE_LIMIT`]), each
    /// keeping its slot, emptied: a call through it returns zero until the closure is
    /// taken again and published in it anew.
    #[allow(clippy::vec_box)]
    static_spares: Vec<Box<Inner>>,
}

static POOL: Mutex<Pool> = Mutex::new(Pool { released: VecDeque::new(), spares: Vec::new(), static_spares: Vec::new() });

/// Whether `static_spares` may hold one (set under the pool's lock with each change):
/// read without the lock, so that closures made while the quarantine fills, when there
/// are none, take a slot without locking the pool. A stale answer only costs a lock,
/// or a fresh slot instead of a spare.
static ANY_STATIC_SPARE: AtomicBool = AtomicBool::new(false);

fn pool() -> std::sync::MutexGuard<'static, Pool> {
    POOL.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Closure {
    /// A closure for `signature` calling `handler`, or an error when libffi cannot
    /// allocate or prepare one: a static trampoline when the signature takes one and
    /// one is free, else a libffi closure, reusing a spare when there is one (see the
    /// module documentation).
    pub fn new(signature: &Arc<ClosureSignature>, handler: Arc<dyn Handler>) -> Result<Closure, String> {
        match Closure::new_static(signature, handler) {
            Ok(closure) => Ok(closure),
            Err(handler) => Closure::new_libffi(signature, handler),
        }
    }

    /// A libffi closure for `signature` calling `handler`.
    fn new_libffi(signature: &Arc<ClosureSignature>, handler: Arc<dyn Handler>) -> Result<Closure, String> {
        let spare = pool().spares.pop();
        let inner = match spare {
            Some(mut inner) => {
                // The spare is owned here alone: out of the pool, and evicted from the
                // quarantine, so no C caller may reach it.
                drop(inner.set_handler(Some(handler)));
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
                let inner = Box::new(Inner::new(Code::Libffi { raw, code }, signature, handler));
                // SAFETY: a fresh allocation, which no C caller has seen; the Inner is
                // boxed and keeps its address until it is dropped with the closure.
                unsafe { inner.prepare() }?;
                inner
            }
        };
        Ok(Closure { inner: Some(inner) })
    }

    /// A closure on a static trampoline, when the signature takes one and a slot is
    /// free; else the handler back.
    fn new_static(signature: &Arc<ClosureSignature>, handler: Arc<dyn Handler>) -> Result<Closure, Arc<dyn Handler>> {
        if signature.registers.is_none() {
            return Err(handler);
        }
        let spare = if ANY_STATIC_SPARE.load(Ordering::Relaxed) {
            let mut pool = pool();
            let spare = pool.static_spares.pop();
            ANY_STATIC_SPARE.store(!pool.static_spares.is_empty(), Ordering::Relaxed);
            spare
        } else {
            None
        };
        let mut inner = match spare {
            Some(mut inner) => {
                // Owned here alone: out of the pool, and its slot emptied when it left
                // the quarantine, so no C caller may reach it (see `Closure::drop`).
                drop(inner.set_handler(Some(handler)));
                if !Arc::ptr_eq(&inner.signature, signature) {
                    inner.signature = signature.clone();
                }
                *inner.released.get_mut() = false;
                inner
            }
            None => {
                let Some(slot) = Slot::take() else { return Err(handler) };
                Box::new(Inner::new(Code::Static { slot, code: std::ptr::null() }, signature, handler))
            }
        };
        let address: *const Inner = &*inner;
        if let Code::Static { slot, code } = &mut inner.code {
            // SAFETY: the Inner is boxed, so it keeps its address until it is dropped,
            // and it owns the slot, which is emptied (by `Slot::empty` when it becomes a
            // spare, by the slot's Drop when it is freed) before the Inner is changed
            // or goes.
            *code = unsafe { slot.publish(address) };
        }
        Ok(Closure { inner: Some(inner) })
    }

    /// The C function pointer.
    pub fn code(&self) -> *const c_void {
        match &self.inner().code {
            Code::Libffi { code, .. } => code.as_ptr(),
            Code::Static { code, .. } => *code,
        }
    }

    /// Whether C's calls reach the closure through a static trampoline.
    pub fn is_static(&self) -> bool {
        matches!(self.inner().code, Code::Static { .. })
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
                    let handler = evicted.set_handler(None);
                    match &evicted.code {
                        Code::Libffi { .. } if pool.spares.len() < SPARE_LIMIT => {
                            pool.spares.push(evicted);
                            (handler, None)
                        }
                        Code::Static { slot, .. } if pool.static_spares.len() < SPARE_LIMIT => {
                            slot.empty();
                            pool.static_spares.push(evicted);
                            ANY_STATIC_SPARE.store(true, Ordering::Relaxed);
                            (handler, None)
                        }
                        _ => (handler, Some(evicted)),
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
    let n = inner.signature.args.len();
    // SAFETY: libffi passes one pointer per parameter of the cif.
    let args: &[*const c_void] = if n == 0 { &[] } else { unsafe { std::slice::from_raw_parts(args as *const *const c_void, n) } };
    // SAFETY: the result buffer has result_room bytes (libffi's promise, above).
    unsafe { zero_result(result.cast(), inner.signature.result_room) };
    // SAFETY: the pointers and the (zeroed) result buffer are as libffi hands them.
    unsafe { inner.dispatch(Arguments::Pointers(args), result.cast()) };
    // SAFETY: the result buffer has result_room bytes, at least one ffi_arg.
    unsafe { widen_result(inner.signature.widening, result.cast()) };
}

impl Inner {
    /// One call from C, whichever code it came through: runs the handler (or reports
    /// a late call) and catches a panic. The result is left in its own width: each
    /// entry extends a narrow integer the way its caller reads it.
    ///
    /// # Safety
    /// `args` gives one value per parameter of the signature, each of the parameter's
    /// type, and `result` is a zeroed buffer of at least `result_room` bytes.
    #[inline(always)]
    unsafe fn dispatch(&self, args: Arguments<'_>, result: *mut u8) {
        let signature = &*self.signature;
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            if self.released.load(Ordering::Acquire) {
                self.handler().call_released();
                return;
            }
            // SAFETY: the pointers are as `Handler::call` describes (the caller's promise).
            unsafe { self.handler().call(args, result) };
        }));
        match outcome {
            Ok(()) => {}
            Err(panic) => {
                // SAFETY: the result buffer has result_room bytes.
                unsafe { zero_result(result, signature.result_room) };
                let message = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_else(|| "unknown panic".to_owned());
                // A panic in the report itself must not unwind into C either.
                let _ = catch_unwind(AssertUnwindSafe(|| self.handler().panicked(&message)));
            }
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

/// How a result is extended to a whole `ffi_arg` (libffi reads an integer result
/// narrower than that as one): decided once per signature, from the result type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Widening {
    /// Not narrower than an `ffi_arg`, a float, `void` or a record: left as written.
    None,
    /// A signed or unsigned integer of 1, 2 or 4 bytes.
    Signed(u8),
    Unsigned(u8),
}

impl Widening {
    fn of(result: &CType) -> Widening {
        let CType::Scalar(kind) = result else { return Widening::None };
        if kind.size() >= std::mem::size_of::<ffi_arg>() || kind.number_class() == NumberClass::Float || !matches!(kind.size(), 1 | 2 | 4) {
            return Widening::None;
        }
        // A size of 1, 2 or 4 (checked above) fits a u8.
        let size = kind.size() as u8;
        if kind.number_class() == NumberClass::Signed {
            Widening::Signed(size)
        } else {
            Widening::Unsigned(size)
        }
    }
}

/// Extends the value the handler wrote (in its own width, at the buffer's start) to a
/// whole `ffi_arg`, sign- or zero-extended by its type. Portable: `ffi_arg`'s width
/// and the byte order are the target's.
///
/// # Safety
/// `buffer` must be valid for reads and writes of `max(result size, size_of::<ffi_arg>())`
/// bytes (`result_room`), and `widening` be the result type's.
#[inline(always)]
unsafe fn widen_result(widening: Widening, buffer: *mut u8) {
    // SAFETY: the handler's value is in the buffer's first `size` bytes, which are
    // readable (the buffer has at least one ffi_arg, wider than the value).
    let wide: u64 = unsafe {
        match widening {
            Widening::None => return,
            Widening::Signed(1) => buffer.cast::<i8>().read() as i64 as u64,
            Widening::Unsigned(1) => u64::from(buffer.read()),
            Widening::Signed(2) => buffer.cast::<i16>().read_unaligned() as i64 as u64,
            Widening::Unsigned(2) => u64::from(buffer.cast::<u16>().read_unaligned()),
            Widening::Signed(_) => buffer.cast::<i32>().read_unaligned() as i64 as u64,
            Widening::Unsigned(_) => u64::from(buffer.cast::<u32>().read_unaligned()),
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
        unsafe fn call(&self, args: Arguments<'_>, result: *mut u8) {
            let args = args.to_vec();
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
        unsafe fn call(&self, _args: Arguments<'_>, result: *mut u8) {
            // SAFETY: room for an int.
            unsafe { (result as *mut i32).write_unaligned(99) };
            panic!("on purpose");
        }
        fn panicked(&self, _message: &str) {}
    }

    /// Returns its `signed char` argument, to check widening.
    struct Narrow;
    impl Handler for Narrow {
        unsafe fn call(&self, args: Arguments<'_>, result: *mut u8) {
            let args = args.to_vec();
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

    /// A static trampoline (where this ABI has them) and a libffi closure for the same
    /// signature and handler.
    fn both_kinds(sig: &Arc<ClosureSignature>, handler: Arc<dyn Handler>) -> [Closure; 2] {
        let fast = Closure::new(sig, handler.clone()).unwrap();
        assert_eq!(fast.is_static(), STATIC_TRAMPOLINES > 0);
        let libffi = Closure::new_libffi(sig, handler).unwrap();
        assert!(!libffi.is_static());
        [fast, libffi]
    }

    #[test]
    fn calls_handler_then_reports_after_release() {
        let _serial = serial();
        let count = Arc::new(AtomicUsize::new(0));
        for closure in both_kinds(&int_sig(), Arc::new(AddK { k: 5, released_calls: count.clone() })) {
            count.store(0, Ordering::SeqCst);
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
    }

    #[test]
    fn panic_returns_zero() {
        let _serial = serial();
        for closure in both_kinds(&int_sig(), Arc::new(Panics)) {
            // SAFETY: (int) -> int.
            let f: extern "C" fn(i32) -> i32 = unsafe { std::mem::transmute(closure.code()) };
            assert_eq!(f(1), 0);
        }
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
            unsafe { widen_result(Widening::of(&CType::Scalar(kind)), buffer.as_mut_ptr()) };
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
            unsafe fn call(&self, _args: Arguments<'_>, _result: *mut u8) {
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
        unsafe fn call(&self, args: Arguments<'_>, result: *mut u8) {
            let args = args.to_vec();
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
        let sig = libffi_sig();
        let count = Arc::new(AtomicUsize::new(0));
        let closures: Vec<Closure> = (0..n).map(|_| Closure::new(&sig, Arc::new(AddK { k, released_calls: count.clone() })).unwrap()).collect();
        closures.iter().map(|c| c.code() as usize).collect()
    }

    fn call_int(code: *const c_void, x: i32) -> i32 {
        // SAFETY: every closure these tests call through this is (int) -> int.
        let f: extern "C" fn(i32) -> i32 = unsafe { std::mem::transmute(code) };
        f(x)
    }

    /// Seven ints, one more than the registers hold: a signature only libffi takes,
    /// for the tests of libffi's spares.
    fn libffi_sig() -> Arc<ClosureSignature> {
        Arc::new(ClosureSignature::new(&vec![CType::Scalar(ScalarKind::Int); 7], CType::Scalar(ScalarKind::Int)).unwrap())
    }

    fn call_int7(code: *const c_void, x: i32) -> i32 {
        // SAFETY: every closure these tests call through this is (int ×7) -> int.
        let f: extern "C" fn(i32, i32, i32, i32, i32, i32, i32) -> i32 = unsafe { std::mem::transmute(code) };
        f(x, 0, 0, 0, 0, 0, 0)
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
        drop(Closure::new(&libffi_sig(), Arc::new(AddK { k: 1, released_calls: old_calls.clone() })).unwrap());
        let reused = Closure::new(&libffi_sig(), Arc::new(AddK { k: 1000, released_calls: new_calls.clone() })).unwrap();
        let code = reused.code() as usize;
        // The most recently evicted closure is the one taken: the 21st made above
        // (the one dropped just before was pushed into the quarantine, evicting it),
        // or, with no spare left before that drop (a full list), the 20th.
        assert!(made.get(19..21).is_some_and(|m| m.contains(&code)), "a spare is taken before libffi allocates");
        assert_eq!(call_int7(reused.code(), 5), 1005);
        assert_eq!(old_calls.load(Ordering::SeqCst), 0);
        drop(reused);
        // Released again: the call is a late one, reported by the new handler.
        assert_eq!(call_int7(code as *const c_void, 5), 0);
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
            unsafe fn call(&self, args: Arguments<'_>, result: *mut u8) {
                let args = args.to_vec();
                // SAFETY: the signature is (double ×9) -> double.
                unsafe { (result as *mut f64).write_unaligned(*(args[0] as *const f64) / 2.0) };
            }
        }
        // Nine doubles, one more than the registers hold: a libffi closure.
        let sig = Arc::new(ClosureSignature::new(&vec![CType::Scalar(ScalarKind::Double); 9], CType::Scalar(ScalarKind::Double)).unwrap());
        let spares = spare_count();
        let closure = Closure::new(&sig, Arc::new(Halve)).unwrap();
        assert!(!closure.is_static());
        assert_eq!(spare_count(), spares - 1, "the spare was taken");
        // SAFETY: the closure's signature is (double ×9) -> double.
        let f: extern "C" fn(f64, f64, f64, f64, f64, f64, f64, f64, f64) -> f64 = unsafe { std::mem::transmute(closure.code()) };
        assert_eq!(f(5.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0), 2.5);
    }

    #[test]
    fn spares_are_capped_and_the_rest_freed() {
        let _serial = serial();
        churn(RELEASED_LIMIT + SPARE_LIMIT + 100, 1);
        assert_eq!(released_count(), RELEASED_LIMIT);
        assert_eq!(spare_count(), SPARE_LIMIT);
        // Taking spares empties the list, and then libffi allocates again.
        let sig = libffi_sig();
        let count = Arc::new(AtomicUsize::new(0));
        let kept: Vec<Closure> = (0..SPARE_LIMIT + 3).map(|_| Closure::new(&sig, Arc::new(AddK { k: 2, released_calls: count.clone() })).unwrap()).collect();
        assert_eq!(spare_count(), 0);
        assert!(kept.iter().all(|c| call_int7(c.code(), 1) == 3));
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

    /// Empties the quarantine (as RELEASED_LIMIT more releases would) and drops the
    /// spares of static trampolines, freeing the slots they hold, so that a test finds
    /// slots free whatever ran before it.
    fn drain_quarantine() {
        let drained: Vec<Box<Inner>> = {
            let mut pool = pool();
            let static_spares: Vec<Box<Inner>> = pool.static_spares.drain(..).collect();
            ANY_STATIC_SPARE.store(false, Ordering::Relaxed);
            pool.released.drain(..).chain(static_spares).collect()
        };
        drop(drained);
    }

    /// Copies its first argument's `size` bytes to the result, and keeps the bytes of
    /// every argument it was called with.
    struct Record {
        sizes: Vec<usize>,
        seen: Mutex<Vec<Vec<u8>>>,
    }

    impl Handler for Record {
        unsafe fn call(&self, args: Arguments<'_>, result: *mut u8) {
            let args = args.to_vec();
            let mut seen = self.seen.lock().unwrap();
            for (&p, &size) in args.iter().zip(&self.sizes) {
                // SAFETY: each argument points at a value of its size.
                seen.push(unsafe { std::slice::from_raw_parts(p.cast::<u8>(), size) }.to_vec());
            }
            // SAFETY: the result type is the first argument's, with room for it.
            unsafe { std::ptr::copy_nonoverlapping(args[0].cast::<u8>(), result, self.sizes[0]) };
        }
    }

    fn record(args: &[CType]) -> Arc<Record> {
        Arc::new(Record { sizes: args.iter().map(CType::size).collect(), seen: Mutex::new(Vec::new()) })
    }

    #[test]
    fn static_trampolines_take_register_signatures_only() {
        let _serial = serial();
        drain_quarantine();
        use ScalarKind::*;
        let s = |k: ScalarKind| CType::Scalar(k);
        let record = CType::Record { members: [s(Int), s(Int)].into(), size: 8, align: 4 };
        let mut ints6_doubles8 = vec![s(Int); 6];
        ints6_doubles8.extend(vec![s(Double); 8]);
        let taken: Vec<(Vec<CType>, CType)> = vec![
            (vec![], CType::Void),
            (vec![s(Int)], s(Int)),
            (ints6_doubles8.clone(), s(Double)),
            (vec![s(Float), s(Char), s(VoidPtr), s(Double), s(Bool)], s(Float)),
            (vec![s(ObjectPtr), s(WChar)], s(Bool)),
        ];
        let mut ints7 = ints6_doubles8.clone();
        ints7.push(s(Long));
        let mut doubles9 = ints6_doubles8.clone();
        doubles9.push(s(Float));
        let refused: Vec<(Vec<CType>, CType)> = vec![
            (ints7, s(Int)),
            (doubles9, s(Int)),
            (vec![s(LongDouble)], s(Int)),
            (vec![s(Int)], s(LongDouble)),
            (vec![s(DoubleComplex)], s(Int)),
            (vec![s(Int)], s(FloatComplex)),
            (vec![record.clone()], s(Int)),
            (vec![s(Int)], record),
        ];
        for (args, result, expected) in taken.into_iter().map(|(a, r)| (a, r, true)).chain(refused.into_iter().map(|(a, r)| (a, r, false))) {
            let sig = Arc::new(ClosureSignature::new(&args, result.clone()).unwrap());
            let closure = Closure::new(&sig, Arc::new(NoHandler)).unwrap();
            assert_eq!(closure.is_static(), expected && STATIC_TRAMPOLINES > 0, "{args:?} -> {result:?}");
        }
    }

    #[test]
    fn every_register_scalar_round_trips_as_through_libffi() {
        let _serial = serial();
        drain_quarantine();
        // Upper bytes set: a narrow argument must be read from its low bytes only.
        let word = 0xa5c3_0f1e_8d7b_6981u64;
        for kind in crate::ctype::ALL_SCALARS {
            if kind == ScalarKind::LongDouble || kind.complex_part().is_some() {
                continue;
            }
            let args = [CType::Scalar(kind)];
            let sig = Arc::new(ClosureSignature::new(&args, CType::Scalar(kind)).unwrap());
            let handler = record(&args);
            let returned: Vec<u64> = both_kinds(&sig, handler.clone())
                .iter()
                .map(|closure| match kind {
                    ScalarKind::Float => {
                        // SAFETY: the closure's signature is (float) -> float.
                        let f: extern "C" fn(f32) -> f32 = unsafe { std::mem::transmute(closure.code()) };
                        u64::from(f(-1.25e-3).to_bits())
                    }
                    ScalarKind::Double => {
                        // SAFETY: the closure's signature is (double) -> double.
                        let f: extern "C" fn(f64) -> f64 = unsafe { std::mem::transmute(closure.code()) };
                        f(f64::from_bits(word)).to_bits()
                    }
                    _ => {
                        // SAFETY: an integer-class (T) -> T: the argument travels in an
                        // integer register whose low bytes are the value, and the whole
                        // result register is read (both kinds of closure extend it).
                        let f: extern "C" fn(u64) -> u64 = unsafe { std::mem::transmute(closure.code()) };
                        f(word)
                    }
                })
                .collect();
            // libffi's closure extends a narrow result to 32 bits of %rax (C reads its
            // own width): the static trampoline agrees on those bits, and is exact at 64.
            let meaningful = if kind.size() < 8 { u64::from(u32::MAX) } else { u64::MAX };
            assert_eq!(returned[0] & meaningful, returned[1] & meaningful, "{kind:?}: static and libffi closures return the same value");
            let seen = handler.seen.lock().unwrap();
            assert_eq!(seen[0], seen[1], "{kind:?}: both see the same argument");
            let expected = match kind {
                ScalarKind::Float => u64::from((-1.25e-3f32).to_bits()),
                _ => word,
            };
            assert_eq!(seen[0][..], expected.to_le_bytes()[..kind.size()], "{kind:?}");
        }
    }

    #[test]
    fn mixed_register_arguments_arrive_in_order() {
        let _serial = serial();
        drain_quarantine();
        use ScalarKind::*;
        let s = CType::Scalar;
        // Six integer-class and eight floating parameters, interleaved.
        let args = [s(Byte), s(Float), s(UShort), s(Double), s(Double), s(LongLong), s(Float), s(VoidPtr), s(Double), s(Int), s(Float), s(Bool), s(Double), s(Float)];
        let sig = Arc::new(ClosureSignature::new(&args, s(Byte)).unwrap());
        let handler = record(&args);
        type Mixed = extern "C" fn(i8, f32, u16, f64, f64, i64, f32, usize, f64, i32, f32, bool, f64, f32) -> i8;
        for closure in both_kinds(&sig, handler.clone()) {
            // SAFETY: the closure's signature is Mixed's.
            let f: Mixed = unsafe { std::mem::transmute(closure.code()) };
            assert_eq!(f(-7, 1.5, 65000, -2.25, 1e300, -5_000_000_000, -0.0, 0xdead_beef, 3.0, i32::MIN, 7.0, true, -1e-300, f32::MAX), -7);
        }
        let seen = handler.seen.lock().unwrap();
        let expected: Vec<Vec<u8>> = vec![
            (-7i8).to_le_bytes().to_vec(),
            1.5f32.to_le_bytes().to_vec(),
            65000u16.to_le_bytes().to_vec(),
            (-2.25f64).to_le_bytes().to_vec(),
            1e300f64.to_le_bytes().to_vec(),
            (-5_000_000_000i64).to_le_bytes().to_vec(),
            (-0.0f32).to_le_bytes().to_vec(),
            0xdead_beefusize.to_le_bytes().to_vec(),
            3.0f64.to_le_bytes().to_vec(),
            i32::MIN.to_le_bytes().to_vec(),
            7.0f32.to_le_bytes().to_vec(),
            vec![1u8],
            (-1e-300f64).to_le_bytes().to_vec(),
            f32::MAX.to_le_bytes().to_vec(),
        ];
        assert_eq!(seen[..args.len()], expected[..], "static trampoline");
        assert_eq!(seen[args.len()..], expected[..], "libffi closure");
    }

    #[test]
    fn a_static_trampoline_out_of_the_quarantine_returns_zero_and_its_slot_is_reused() {
        let _serial = serial();
        drain_quarantine();
        let count = Arc::new(AtomicUsize::new(0));
        let closure = Closure::new(&int_sig(), Arc::new(AddK { k: 1, released_calls: count.clone() })).unwrap();
        if !closure.is_static() {
            return; // an ABI without static trampolines
        }
        let code = closure.code();
        drop(closure);
        assert_eq!(call_int(code, 1), 0);
        assert_eq!(count.load(Ordering::SeqCst), 1, "a late call in the quarantine is reported");
        drain_quarantine();
        assert_eq!(call_int(code, 1), 0);
        assert_eq!(count.load(Ordering::SeqCst), 1, "out of the quarantine: the slot is empty");
        let again = Closure::new(&int_sig(), Arc::new(AddK { k: 2, released_calls: count.clone() })).unwrap();
        assert_eq!(again.code(), code, "the freed slot is taken first");
        assert_eq!(call_int(code, 1), 3);
    }

    #[test]
    fn evicted_static_closures_keep_their_slot_empty_and_are_taken_first() {
        let _serial = serial();
        drain_quarantine();
        let old_calls = Arc::new(AtomicUsize::new(0));
        let first = Closure::new(&int_sig(), Arc::new(AddK { k: 1, released_calls: old_calls.clone() })).unwrap();
        if !first.is_static() {
            return; // an ABI without static trampolines
        }
        let code = first.code();
        drop(first);
        for _ in 0..RELEASED_LIMIT - 1 {
            drop(Closure::new(&int_sig(), Arc::new(NoHandler)).unwrap());
        }
        assert_eq!(call_int(code, 1), 0);
        assert_eq!(old_calls.load(Ordering::SeqCst), 1, "still in the quarantine: reported");
        // One more release evicts the first: a spare now, its slot emptied.
        drop(Closure::new(&int_sig(), Arc::new(NoHandler)).unwrap());
        assert_eq!(call_int(code, 1), 0);
        assert_eq!(old_calls.load(Ordering::SeqCst), 1, "evicted: the handler is not reached");
        let new_calls = Arc::new(AtomicUsize::new(0));
        let again = Closure::new(&int_sig(), Arc::new(AddK { k: 7, released_calls: new_calls.clone() })).unwrap();
        assert_eq!(again.code(), code, "the spare, with its slot, is taken first");
        assert_eq!(call_int(code, 1), 8);
        drop(again);
        assert_eq!(call_int(code, 1), 0);
        assert_eq!((old_calls.load(Ordering::SeqCst), new_calls.load(Ordering::SeqCst)), (1, 1), "the late call reaches the new handler");
    }

    #[test]
    fn when_static_trampolines_run_out_libffi_takes_over() {
        let _serial = serial();
        drain_quarantine();
        let count = Arc::new(AtomicUsize::new(0));
        let live: Vec<Closure> = (0..STATIC_TRAMPOLINES + 3).map(|i| Closure::new(&int_sig(), Arc::new(AddK { k: i as i32, released_calls: count.clone() })).unwrap()).collect();
        assert_eq!(live.iter().filter(|c| c.is_static()).count(), STATIC_TRAMPOLINES);
        for (i, closure) in live.iter().enumerate() {
            assert_eq!(call_int(closure.code(), 10), 10 + i as i32);
        }
    }
}
