//! The exception ctypes adds (`ArgumentError`) and the argument limit that raises it.

use pyo3::create_exception;
use pyo3::exceptions::PyException;

create_exception!(ferrotypes._ctypes, ArgumentError, PyException, "A foreign function argument could not be converted.");

/// The most arguments a foreign function may take (as in ctypes).
pub const CTYPES_MAX_ARGCOUNT: usize = 1024;
