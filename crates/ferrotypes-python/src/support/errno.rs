//! ctypes' private copy of `errno`: one per thread, swapped with the real `errno`
//! around calls of functions created with `use_errno=True`.

use std::cell::Cell;

use pyo3::prelude::*;

thread_local! {
    static SAVED_ERRNO: Cell<i32> = const { Cell::new(0) };
}

fn real_errno() -> *mut i32 {
    // SAFETY: __errno_location always returns this thread's errno slot.
    unsafe { libc::__errno_location() }
}

/// Puts the private copy into `errno` before a call and saves it back after.
pub struct ErrnoSwap;

impl ErrnoSwap {
    /// Swaps the private value into the real `errno` (call just before the C call).
    pub fn enter() -> ErrnoSwap {
        swap();
        ErrnoSwap
    }
}

impl Drop for ErrnoSwap {
    fn drop(&mut self) {
        swap();
    }
}

fn swap() {
    let p = real_errno();
    SAVED_ERRNO.with(|saved| {
        // SAFETY: p is this thread's errno; nothing else runs between read and write.
        let real = unsafe { *p };
        unsafe { *p = saved.get() };
        saved.set(real);
    });
}

/// `get_errno()`: the private copy for this thread.
#[pyfunction]
pub fn get_errno() -> i32 {
    SAVED_ERRNO.with(Cell::get)
}

/// `set_errno(value)`: sets the private copy, returning the old value.
#[pyfunction]
pub fn set_errno(value: i32) -> i32 {
    SAVED_ERRNO.with(|saved| saved.replace(value))
}
