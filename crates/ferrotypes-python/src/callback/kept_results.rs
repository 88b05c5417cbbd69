//! Pointer results of callbacks made from a `keep_results=True` prototype.
//!
//! ctypes refuses a pointer result type for a callback: whatever the returned pointer
//! points into could die as the callback returns. With `keep_results=True` the callback
//! may return a pointer (`POINTER(T)`, `c_void_p`, `c_char_p`): the callable's result —
//! a ferrotypes or stdlib ctypes array or pointer, any writable buffer (a numpy array),
//! an address or None — is converted to the address C gets by
//! `ferrotypes._ownership._result_address`, and the object holding that memory is kept
//! with the callback: alive for as long as the callback object lives, or until
//! `ferrotypes.release(callback)`.

#![warn(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::arithmetic_side_effects)]

use ferrotypes_core::ctype::ScalarKind;
use pyo3::exceptions::{PyMemoryError, PyTypeError};
use pyo3::prelude::*;
use pyo3::pyclass::{PyTraverseError, PyVisit};

use crate::support::gil_cell::GilCell;
use crate::types::typeinfo::{info_of, InfoKind};

/// The result converter of a `keep_results` prototype, shared by its callbacks.
pub struct KeptResults {
    /// `ferrotypes._ownership._result_address`: `(value, restype)` -> `(address, keep)`.
    convert: Py<PyAny>,
    restype: Py<PyAny>,
}

/// What one callback's results point into, in the order returned.
pub struct KeptObjects(GilCell<Vec<Py<PyAny>>>);

impl Default for KeptObjects {
    fn default() -> KeptObjects {
        KeptObjects(GilCell::new(Vec::new()))
    }
}

impl KeptResults {
    /// The converter for `restype`, which must be a pointer type: `TypeError` otherwise.
    pub fn for_restype(restype: &Bound<'_, PyAny>) -> PyResult<KeptResults> {
        let py = restype.py();
        let pointer = info_of(restype).is_ok_and(|info| {
            let info = info.get();
            matches!(info.kind, InfoKind::Pointer { .. })
                || matches!(info.scalar(), Some((ScalarKind::VoidPtr | ScalarKind::CharPtr | ScalarKind::WCharPtr, false)))
        });
        if !pointer {
            return Err(PyTypeError::new_err(format!(
                "keep_results=True is for pointer result types (POINTER(T), c_void_p, c_char_p, c_wchar_p), not {}",
                crate::support::python::describe(restype)
            )));
        }
        let convert = py.import("ferrotypes._ownership")?.getattr("_result_address")?.unbind();
        Ok(KeptResults { convert, restype: restype.clone().unbind() })
    }

    /// Converts the callable's result `value` to the address C gets, keeping what it
    /// points into in `kept` (the callback's).
    pub fn address(&self, value: &Bound<'_, PyAny>, kept: &KeptObjects) -> PyResult<usize> {
        let py = value.py();
        let (address, keep): (usize, Option<Py<PyAny>>) = self.convert.bind(py).call1((value, self.restype.bind(py)))?.extract()?;
        if let Some(keep) = keep {
            kept.0.with_mut(py, |kept| {
                kept.try_reserve(1).map_err(|_| PyMemoryError::new_err("out of memory keeping a callback's result"))?;
                kept.push(keep);
                Ok::<(), PyErr>(())
            })?;
        }
        Ok(address)
    }
}

impl KeptObjects {
    /// Lets go of everything kept (`ferrotypes.release(callback)`, or the callback
    /// released); the number of objects let go.
    pub fn release(&self, py: Python<'_>) -> usize {
        let kept = self.0.replace(py, Vec::new());
        let count = kept.len();
        drop(kept); // after the cell no longer refers to them: a destructor may re-enter
        count
    }

    /// The kept objects, for the collector (a result may refer back to its callback).
    pub fn traverse(&self, visit: &PyVisit<'_>) -> Result<(), PyTraverseError> {
        // SAFETY: called from a tp_traverse; the closure only visits.
        unsafe { self.0.with_in_traverse(|kept| kept.iter().try_for_each(|k| visit.call(k))) }
    }
}
