//! `dlopen`, `dlsym` and `dlclose` as `_ctypes` exposes them, over the core's library
//! loading. Errors carry the loader's own text, as `OSError`; a name with a NUL byte
//! is a `ValueError`, as in ctypes.

#![warn(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::arithmetic_side_effects)]

use std::ffi::{c_void, OsString};

use ferrotypes_core::library::{self, LoadError};
use pyo3::exceptions::{PyOSError, PyValueError};
use pyo3::prelude::*;

/// Loads a library (the main program for None) and returns its handle.
#[pyfunction]
#[pyo3(signature = (name = None, mode = library::RTLD_LOCAL))]
pub fn dlopen(name: Option<OsString>, mode: i32) -> PyResult<usize> {
    library::open(name.as_deref(), mode).map(|h| h as usize).map_err(|e| load_error::<PyOSError>(e, "byte"))
}

/// The address of `name` in the library behind `handle`.
#[pyfunction]
pub fn dlsym(handle: usize, name: &str) -> PyResult<usize> {
    // SAFETY: a handle from `dlopen` (the library loader's), or the user's own, who
    // vouches for it as with ctypes' `CDLL(handle=...)`.
    unsafe { library::symbol(handle as *mut c_void, name) }.map(|p| p as usize).map_err(|e| load_error::<PyOSError>(e, "character"))
}

/// A loading error as Python sees it: `ValueError` for a NUL byte in the name, else
/// `E` (`OSError`, or `AttributeError` for a function looked up on a library) with the
/// loader's message.
/// Python's own words for the NUL: "byte" in a path, "character" in a `str` name.
pub fn load_error<E: pyo3::PyTypeInfo>(err: LoadError, nul: &'static str) -> PyErr {
    match err {
        LoadError::NulInName => PyValueError::new_err(format!("embedded null {nul}")),
        LoadError::Loader(message) => PyErr::new::<E, _>(message),
    }
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
