//! Memory that can be taken back: a `Lease` says whether a region of C memory (an
//! arena's blocks, the memory of an owned object) may still be used, and counts the
//! buffer views open on it.
//!
//! Instances over such memory are marked revocable (see `cdata`); the lease is at the
//! end of their `_b_base_` chain, and every access to their memory asks it first, so
//! that an instance outliving its arena, or an owned object used after its release,
//! raises `ValueError` instead of reading freed memory. Revoking is refused while a
//! buffer view (a `memoryview`, a numpy array) is open on the memory, as resizing is.
//! An arena's blocks belong to its lease, which frees them when it is revoked.

#![warn(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::arithmetic_side_effects)]

use pyo3::exceptions::{PyBufferError, PyMemoryError, PyValueError};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

use crate::support::gil_cell::GilCell;

/// What a lease knows.
struct State {
    /// Why the memory may no longer be used (`None` while it may).
    revoked: Option<String>,
    /// Buffer views of the memory not yet released.
    exports: u32,
    /// The blocks the lease owns (an arena's), `PyMem_Calloc`'d, freed on revocation.
    blocks: Vec<*mut u8>,
}

/// The liveness of a region of C memory (`ferrotypes.Arena` and the owner records of
/// `ferrotypes.owned` are its Python subclasses).
#[pyclass(subclass, frozen, module = "ferrotypes._ctypes", name = "_Lease")]
pub struct Lease {
    state: GilCell<State>,
}

impl Lease {
    /// `ValueError` naming why, once the memory has been taken back.
    pub fn check_alive(&self, py: Python<'_>) -> PyResult<()> {
        self.state.with(py, |s| match &s.revoked {
            None => Ok(()),
            Some(reason) => Err(PyValueError::new_err(format!("the memory of this instance was freed: {reason}"))),
        })
    }

    /// Counts a buffer view of the memory opened (`true`) or released.
    pub fn count_export(&self, py: Python<'_>, opened: bool) {
        self.state.with_mut(py, |s| s.exports = if opened { s.exports.saturating_add(1) } else { s.exports.saturating_sub(1) });
    }

    /// Takes ownership of `block` (from `cdata::zeroed_block`), freed when the lease is
    /// revoked or dropped; refused (and the block freed) once revoked or when there is
    /// no memory to remember it.
    pub fn adopt(&self, py: Python<'_>, block: *mut u8) -> PyResult<()> {
        let kept = self.check_alive(py).and_then(|()| {
            self.state.with_mut(py, |s| {
                s.blocks.try_reserve(1).map_err(|_| PyMemoryError::new_err("out of memory recording an arena block"))?;
                s.blocks.push(block);
                Ok(())
            })
        });
        if kept.is_err() {
            free_block(block);
        }
        kept
    }
}

/// Frees a block from `cdata::zeroed_block`.
fn free_block(block: *mut u8) {
    // SAFETY: every block given to a lease came from PyMem_Calloc and is freed once,
    // here, with the GIL held (leases are used and dropped only under it).
    unsafe { ffi::PyMem_Free(block.cast()) };
}

#[pymethods]
impl Lease {
    /// A live lease (subclasses take their own constructor arguments).
    #[new]
    #[pyo3(signature = (*_args, **_kwargs))]
    fn py_new(_args: &Bound<'_, PyTuple>, _kwargs: Option<&Bound<'_, PyDict>>) -> Lease {
        Lease { state: GilCell::new(State { revoked: None, exports: 0, blocks: Vec::new() }) }
    }

    /// Takes the memory back, for `reason` (which access errors quote): frees the
    /// lease's blocks, and every instance over the memory raises `ValueError` from then
    /// on. `BufferError` while buffer views of it are open (the lease stays live).
    /// True when this call revoked it, False when it already was.
    fn _revoke(&self, py: Python<'_>, reason: String) -> PyResult<bool> {
        let (exports, already) = self.state.with(py, |s| (s.exports, s.revoked.is_some()));
        if already {
            return Ok(false);
        }
        if exports > 0 {
            return Err(PyBufferError::new_err(format!(
                "cannot free the memory: {exports} buffer view(s) of it (memoryview, numpy array, from_buffer) are still open; release them first"
            )));
        }
        let blocks = self.state.with_mut(py, |s| {
            s.revoked = Some(reason);
            std::mem::take(&mut s.blocks)
        });
        blocks.into_iter().for_each(free_block);
        Ok(true)
    }

    /// True until the memory is taken back.
    #[getter]
    fn _alive(&self, py: Python<'_>) -> bool {
        self.state.with(py, |s| s.revoked.is_none())
    }

    /// The number of buffer views of the memory open.
    #[getter]
    fn _exports(&self, py: Python<'_>) -> u32 {
        self.state.with(py, |s| s.exports)
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        // A lease is dropped with the GIL held (in its object's deallocator), and no
        // instance is left over its blocks: each holds the lease through `_b_base_`.
        std::mem::take(&mut self.state.get_mut().blocks).into_iter().for_each(free_block);
    }
}
