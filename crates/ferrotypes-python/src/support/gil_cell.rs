//! `GilCell`: interior mutability for state that is only touched with the GIL held.
//!
//! pyclasses must be `Sync`; ferrotypes' objects keep mutable state (an instance's
//! memory, a function's prepared call) that the GIL already serialises. This module is
//! the one place that claims so. It does not support free-threaded Python: the module
//! is declared to need the GIL (PyO3's default).

use std::cell::UnsafeCell;

use pyo3::Python;

/// A value read and replaced only while the GIL is held (proved by a `Python` token).
pub struct GilCell<T>(UnsafeCell<T>);

// SAFETY: every access goes through a `Python<'_>` token, so at most one thread at a
// time touches the value: the GIL is the lock.
unsafe impl<T> Sync for GilCell<T> {}
// SAFETY: every access goes through a `Python<'_>` token, so a value moved to another
// thread is still only touched by the thread holding the GIL.
unsafe impl<T> Send for GilCell<T> {}

impl<T> GilCell<T> {
    /// Wraps `value`.
    pub const fn new(value: T) -> Self {
        GilCell(UnsafeCell::new(value))
    }

    /// Replaces the value, returning the old one (dropped by the caller, after the
    /// cell no longer refers to it, so a destructor re-entering Python sees a
    /// consistent cell).
    pub fn replace(&self, _py: Python<'_>, value: T) -> T {
        // SAFETY: the GIL is held (token), and no reference from `get` can be alive
        // across this call because `get` only hands out clones.
        unsafe { std::mem::replace(&mut *self.0.get(), value) }
    }

    /// The value, through the only reference to the cell (a destructor's `&mut self`).
    pub fn get_mut(&mut self) -> &mut T {
        self.0.get_mut()
    }
}

impl<T: Clone> GilCell<T> {
    /// A copy of the value. Handing out clones rather than references means no
    /// reference survives a call into Python that might replace the value.
    pub fn get(&self, _py: Python<'_>) -> T {
        // SAFETY: the GIL is held; the clone is made before any Python code can run.
        unsafe { (*self.0.get()).clone() }
    }
}

impl<T> GilCell<T> {
    /// Runs `f` on a shared reference to the value. `f` must not call into Python
    /// (which could replace the value while the reference is alive); callers keep
    /// these closures to plain reads.
    #[inline]
    pub fn with<R>(&self, _py: Python<'_>, f: impl FnOnce(&T) -> R) -> R {
        // SAFETY: the GIL is held and `f` does not run Python code, so nothing can
        // call `replace` while the reference is alive.
        f(unsafe { &*self.0.get() })
    }

    /// Runs `f` on the only reference to the value, to change part of it in place.
    /// As with [`GilCell::with`], `f` must not call into Python (nor use the cell).
    #[inline]
    pub fn with_mut<R>(&self, _py: Python<'_>, f: impl FnOnce(&mut T) -> R) -> R {
        // SAFETY: the GIL is held and `f` runs no Python code and does not touch the
        // cell, so no other reference to the value exists while this one is alive.
        f(unsafe { &mut *self.0.get() })
    }
}

impl<T> GilCell<T> {
    /// [`GilCell::with`] for the garbage collector's `__traverse__`, where PyO3 hands
    /// out no `Python` token (so that no Python code can run).
    ///
    /// # Safety
    /// Only for `__traverse__` implementations: the collector calls them with the GIL
    /// held, and `f` only visits references (runs no Python code).
    #[inline]
    pub unsafe fn with_in_traverse<R>(&self, f: impl FnOnce(&T) -> R) -> R {
        // SAFETY: the collector calls traverse with the GIL held (the caller's
        // promise), and `f` runs no Python code, so nothing can replace the value while
        // `f` reads it.
        f(unsafe { &*self.0.get() })
    }
}

impl GilCell<Option<pyo3::Py<pyo3::PyAny>>> {
    /// A new reference to the object held, if any.
    pub fn get_obj(&self, py: Python<'_>) -> Option<pyo3::Py<pyo3::PyAny>> {
        self.with(py, |v| v.as_ref().map(|o| o.clone_ref(py)))
    }
}

impl GilCell<Option<pyo3::Py<pyo3::types::PyType>>> {
    /// A new reference to the type held, if any.
    pub fn get_obj_type(&self, py: Python<'_>) -> Option<pyo3::Py<pyo3::types::PyType>> {
        self.with(py, |v| v.as_ref().map(|o| o.clone_ref(py)))
    }

    /// Sets the type (for `SetPointerType` on a pointer whose target came later).
    pub fn set_type(&self, py: Python<'_>, value: pyo3::Py<pyo3::types::PyType>) {
        drop(self.replace(py, Some(value)));
    }
}
