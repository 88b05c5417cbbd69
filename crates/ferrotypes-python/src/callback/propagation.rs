//! Exceptions that reach the caller (`CFUNCTYPE(..., propagate=True)`): per thread,
//! how many ferrotypes foreign calls are in progress, and the exceptions kept by
//! propagating callbacks for the call they ran in.
//!
//! A foreign call makes its C call through [`foreign_call`]: one flag read while no
//! propagating prototype was ever made; after that, two counter updates and one
//! comparison on this thread's state, nothing more while no propagating callback
//! raised. A propagating callback that fails while a call is in progress on its own
//! thread keeps its exception for the innermost call ([`keep`]); that call's
//! [`foreign_call`] hands it back to be raised. Later propagating callbacks of
//! the same call see [`already_failed`] and return their error value at once. A
//! callback on a thread with no call in progress (a C thread, or C calling it with no
//! ferrotypes call waiting) reports as ctypes does.

use std::cell::{Cell, RefCell};
use std::sync::atomic::{AtomicBool, Ordering};

use pyo3::PyErr;

/// This thread's foreign calls: plain cells with constant initialisers and no
/// destructor, so reaching them is one thread-pointer-relative access.
struct Depths {
    /// How many ferrotypes foreign calls are in progress on this thread.
    calls: Cell<u32>,
    /// The depth of the innermost call an exception is kept for (0: none).
    kept_at: Cell<u32>,
}

thread_local! {
    static DEPTHS: Depths = const { Depths { calls: Cell::new(0), kept_at: Cell::new(0) } };
    /// The kept exceptions, innermost last, each with the depth of its call.
    static KEPT: RefCell<Vec<(u32, PyErr)>> = const { RefCell::new(Vec::new()) };
}

/// Whether a propagating prototype was ever made in this process: until then a
/// foreign call does not count itself (reaching a thread-local in a shared library
/// costs a call to `__tls_get_addr`, a few percent of a short foreign call).
static IN_USE: AtomicBool = AtomicBool::new(false);

/// Called for every propagating prototype's callback when it is made: from now on
/// foreign calls count themselves. A call already in progress then is not counted,
/// and a propagating callback it calls reports as outside any call.
pub fn start_counting() {
    IN_USE.store(true, Ordering::Relaxed);
}

/// The mark of a foreign call for which a propagating callback kept an exception:
/// [`PyErr::from`] takes the exception (out of line: a `PyErr` is several words,
/// which the call paths would otherwise carry in every result).
pub struct Kept(());

impl From<Kept> for PyErr {
    #[cold]
    #[inline(never)]
    fn from(_: Kept) -> PyErr {
        DEPTHS.with(|d| {
            KEPT.with(|kept| {
                let mut kept = kept.borrow_mut();
                let err = kept.pop().map(|(_, err)| err);
                d.kept_at.set(kept.last().map_or(0, |&(depth, _)| depth));
                err
            })
        })
        .unwrap_or_else(|| pyo3::exceptions::PySystemError::new_err("ferrotypes: a callback's kept exception was lost"))
    }
}

/// Runs `call`, the C call of a foreign call made on this thread, counted as one when
/// propagation is in use: `Err` when a propagating callback kept an exception for it.
#[inline(always)]
pub fn foreign_call<R>(call: impl FnOnce() -> R) -> Result<R, Kept> {
    if !IN_USE.load(Ordering::Relaxed) {
        return Ok(call());
    }
    counted_call(call)
}

#[inline(never)]
#[allow(clippy::arithmetic_side_effects)] // the depth counts the calls nested on this thread's stack
fn counted_call<R>(call: impl FnOnce() -> R) -> Result<R, Kept> {
    DEPTHS.with(|d| {
        let depth = d.calls.get() + 1;
        d.calls.set(depth);
        let result = call();
        d.calls.set(depth - 1);
        if d.kept_at.get() == depth {
            return Err(Kept(()));
        }
        Ok(result)
    })
}

/// The depth of the innermost foreign call in progress on this thread (0: none).
pub fn current_call() -> u32 {
    DEPTHS.with(|d| d.calls.get())
}

/// Whether a propagating callback already failed during the innermost foreign call in
/// progress on this thread.
#[inline]
pub fn already_failed() -> bool {
    DEPTHS.with(|d| d.kept_at.get() != 0 && d.kept_at.get() == d.calls.get())
}

/// Keeps `err` for the foreign call of `depth`, the innermost in progress on this
/// thread, unless one is kept for it already (then `err` is given back).
pub fn keep(depth: u32, err: PyErr) -> Result<(), PyErr> {
    DEPTHS.with(|d| {
        if d.kept_at.get() == depth {
            return Err(err);
        }
        KEPT.with(|kept| kept.borrow_mut().push((depth, err)));
        d.kept_at.set(depth);
        Ok(())
    })
}
