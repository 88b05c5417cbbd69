//! Exceptions that reach the caller (`CFUNCTYPE(..., propagate=True)`): per thread,
//! how many ferrotypes foreign calls are in progress, and the exceptions kept by
//! propagating callbacks for the call they ran in.
//!
//! A foreign call brackets its C call with [`enter`] and [`leave`]: two counter
//! updates and one comparison on this thread's state, nothing more while no
//! propagating callback raised. A propagating callback that fails while a call is in
//! progress on its own thread keeps its exception for the innermost call ([`keep`]);
//! that call's [`leave`] hands it back to be raised. Later propagating callbacks of
//! the same call see [`already_failed`] and return their error value at once. A
//! callback on a thread with no call in progress (a C thread, or C calling it with no
//! ferrotypes call waiting) reports as ctypes does.

use std::cell::{Cell, RefCell};

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

/// A foreign call begins on this thread; returns its depth, for [`leave`].
#[inline(always)]
pub fn enter() -> u32 {
    DEPTHS.with(|d| {
        let depth = d.calls.get() + 1;
        d.calls.set(depth);
        depth
    })
}

/// The foreign call of `depth` (from [`enter`]) returned: the exception a propagating
/// callback kept for it, if any, to be raised by the call.
#[inline(always)]
pub fn leave(depth: u32) -> Result<(), PyErr> {
    DEPTHS.with(|d| {
        d.calls.set(depth - 1);
        if d.kept_at.get() == depth {
            return take_kept(d).map_or(Ok(()), Err);
        }
        Ok(())
    })
}

#[cold]
#[inline(never)]
fn take_kept(d: &Depths) -> Option<PyErr> {
    KEPT.with(|kept| {
        let mut kept = kept.borrow_mut();
        let err = kept.pop().map(|(_, err)| err);
        d.kept_at.set(kept.last().map_or(0, |&(depth, _)| depth));
        err
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
