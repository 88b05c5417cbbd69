//! The exceptions ctypes adds (`ArgumentError`) or C declarations promise (a `nonnull`
//! parameter given None), and the argument limit that raises `ArgumentError`.

use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyType};

create_exception!(ferrotypes._ctypes, ArgumentError, PyException, "A foreign function argument could not be converted.");

/// The class of [`null_argument_error`], made on first use.
static NULL_ARGUMENT: PyOnceLock<Py<PyType>> = PyOnceLock::new();

/// `NullArgumentError(message)`: None given for a parameter a C declaration says is
/// `nonnull`. It is a `ValueError`, as the declaration's binding promises, and an
/// `ArgumentError`, as every other refused argument is; the call raises it as it is (see
/// [`is_null_argument`]), its message naming the function and the parameter.
pub fn null_argument_error(py: Python<'_>, message: Py<PyAny>) -> PyErr {
    let class = NULL_ARGUMENT.get_or_try_init(py, || -> PyResult<Py<PyType>> {
        let namespace = PyDict::new(py);
        namespace.set_item("__module__", "ferrotypes._ctypes")?;
        namespace.set_item("__doc__", "None given for a parameter declared nonnull.")?;
        let bases = (py.get_type::<ArgumentError>(), py.get_type::<PyValueError>());
        let class = py.get_type::<PyType>().call1(("NullArgumentError", bases, namespace))?;
        Ok(class.cast_into::<PyType>()?.unbind())
    });
    match class {
        Ok(class) => PyErr::from_type(class.bind(py).clone(), message),
        Err(err) => err,
    }
}

/// Whether `err` is a [`null_argument_error`], which the call does not wrap again.
pub fn is_null_argument(py: Python<'_>, err: &PyErr) -> bool {
    NULL_ARGUMENT.get(py).is_some_and(|class| err.get_type(py).is(class.bind(py)))
}

/// The most arguments a foreign function may take (as in ctypes).
pub const CTYPES_MAX_ARGCOUNT: usize = 1024;
