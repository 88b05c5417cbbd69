//! `ferrotypes.numpy.ndpointer` parameters checked without calling their `from_param`.
//!
//! numpy's `ndpointer.from_param` is Python: a dozen attribute lookups and
//! comparisons per call. When `argtypes` are set, an ndpointer class whose
//! requirements a buffer view can show (dtype through the item format, `ndim`, shape,
//! and the flags C_CONTIGUOUS, F_CONTIGUOUS, WRITEABLE) gets an [`NdRequirements`],
//! computed by `ferrotypes.numpy._native_requirements`; an exact `ndarray` that meets
//! them all is then passed straight from its buffer, which is held for the call.
//! Anything else — an ndarray subclass, a failed requirement (for numpy's error
//! message), an unusual dtype or flag — goes to the class's `from_param`, which
//! stays the definition of what is accepted.
//!
//! What it does not do: import numpy (`ferrotypes.numpy` registers itself here).

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyTuple, PyType};

use crate::support::buffer::ReadView;

/// `ndpointer`'s own `from_param` function, and the function giving a class's
/// [`NdRequirements`], registered by `ferrotypes.numpy` when it is imported.
struct Registration {
    from_param: Py<PyAny>,
    requirements: Py<PyAny>,
}

static REGISTERED: PyOnceLock<Registration> = PyOnceLock::new();

/// Called by `ferrotypes.numpy` at import.
#[pyfunction]
pub fn _register_ndpointer(py: Python<'_>, from_param: Py<PyAny>, requirements: Py<PyAny>) {
    // A second import (a reloaded module) keeps the first registration.
    let _ = REGISTERED.set(py, Registration { from_param, requirements });
}

/// What an ndarray must be for an ndpointer class, as its buffer view shows it.
pub struct NdRequirements {
    ndarray: Py<PyType>,
    /// The item format of the class's dtype (None: any dtype).
    format: Option<String>,
    itemsize: usize,
    ndim: Option<usize>,
    shape: Option<Vec<isize>>,
    c_contiguous: bool,
    f_contiguous: bool,
    writeable: bool,
}

impl NdRequirements {
    /// The requirements of `argtype` when it is an ndpointer class whose
    /// `from_param` (`from_param_func`, its `__func__`) is ndpointer's own and whose
    /// requirements can be checked natively.
    pub fn for_argtype(argtype: &Bound<'_, PyAny>, from_param_func: Option<&Bound<'_, PyAny>>) -> PyResult<Option<NdRequirements>> {
        let py = argtype.py();
        let (Some(registered), Some(func)) = (REGISTERED.get(py), from_param_func) else { return Ok(None) };
        if !func.is(registered.from_param.bind(py)) {
            return Ok(None);
        }
        let found = registered.requirements.bind(py).call1((argtype,))?;
        if found.is_none() {
            return Ok(None);
        }
        let t = found.cast::<PyTuple>()?;
        Ok(Some(NdRequirements {
            ndarray: t.get_item(0)?.cast_into::<PyType>()?.unbind(),
            format: t.get_item(1)?.extract()?,
            itemsize: t.get_item(2)?.extract()?,
            ndim: t.get_item(3)?.extract()?,
            shape: t.get_item(4)?.extract()?,
            c_contiguous: t.get_item(5)?.extract()?,
            f_contiguous: t.get_item(6)?.extract()?,
            writeable: t.get_item(7)?.extract()?,
        }))
    }

    /// The view of `value` when it is an exact ndarray meeting every requirement;
    /// None when the class's `from_param` must decide.
    #[inline]
    pub fn accept(&self, value: &Bound<'_, PyAny>) -> Option<ReadView> {
        if !value.get_type().is(self.ndarray.bind(value.py())) {
            return None;
        }
        let view = match &self.format {
            Some(_) => ReadView::records(value),
            None => ReadView::strided(value),
        };
        // A failed request leaves an exception set (PyErr::fetch took it): dropped.
        let view = view.ok()?;
        if let Some(format) = &self.format {
            if view.format_bytes() != format.as_bytes() || view.itemsize() != self.itemsize {
                return None;
            }
        }
        let shape = view.shape();
        let fits = self.ndim.is_none_or(|n| n == shape.len())
            && self.shape.as_deref().is_none_or(|s| s == shape)
            && (!self.c_contiguous || view.is_contiguous(b'C'))
            && (!self.f_contiguous || view.is_contiguous(b'F'))
            && (!self.writeable || !view.readonly());
        fits.then_some(view)
    }
}
