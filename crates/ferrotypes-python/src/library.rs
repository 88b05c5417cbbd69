//! `dlopen`, `dlsym` and `dlclose` as `_ctypes` exposes them, over the core's library
//! loading. Errors carry the loader's own text, as `OSError`.

use std::ffi::{c_void, OsString};

use ferrotypes_core::library;
use pyo3::exceptions::PyOSError;
use pyo3::prelude::*;

/// Loads a library (the main program for None) and returns its handle.
#[pyfunction]
#[pyo3(signature = (name = None, mode = library::RTLD_LOCAL))]
pub fn dlopen(name: Option<OsString>, mode: i32) -> PyResult<usize> {
    library::open(name.as_deref(), mode).map(|h| h as usize).map_err(PyOSError::new_err)
}

/// The address of `name` in the library behind `handle`.
#[pyfunction]
pub fn dlsym(handle: usize, name: &str) -> PyResult<usize> {
    // SAFETY: a handle from `dlopen` (the library loader's), or the user's own, who
    // vouches for it as with ctypes' `CDLL(handle=...)`.
    unsafe { library::symbol(handle as *mut c_void, name) }.map(|p| p as usize).map_err(PyOSError::new_err)
}

/// Closes a handle from `dlopen` (only for code that knows no function of the library
/// is still in use).
#[pyfunction]
pub fn dlclose(handle: usize) -> PyResult<()> {
    // SAFETY: the caller owns `handle` (ctypes' contract for _ctypes.dlclose).
    if unsafe { libc::dlclose(handle as *mut c_void) } != 0 {
        return Err(PyOSError::new_err("dlclose failed"));
    }
    Ok(())
}
