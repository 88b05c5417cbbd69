//! Instances over memory that a lease may take back (see `liveness`): a new zeroed
//! block of an arena (`Arena.new`), and a second instance over an object's memory
//! (`owned`). Each has the lease as its `_b_base_`.

#![warn(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::arithmetic_side_effects)]

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyType;

use crate::data::cdata::{zeroed_block, CData};
use crate::data::instances::leased_instance;
use crate::data::liveness::Lease;
use crate::support::scalar;
use crate::types::typeinfo::info_of;

/// A new instance of `cls` in zeroed memory the arena `lease` owns and frees when it
/// is closed. `ValueError` once it is closed; `MemoryError` when no memory is left.
#[pyfunction]
pub fn _arena_new<'py>(lease: &Bound<'py, Lease>, cls: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let py = lease.py();
    let cls = cls.cast::<PyType>().ok().filter(|c| info_of(c.as_any()).is_ok()).ok_or_else(|| {
        PyTypeError::new_err(format!("Arena.new() takes a ctypes type (c_int, a Structure, c_int * 3, ...), got {}", scalar::type_name(cls)))
    })?;
    lease.get().check_alive(py).map_err(|_| PyValueError::new_err("Arena.new() on a closed arena"))?;
    let size = info_of(cls.as_any())?.get().size;
    let block = zeroed_block(size)?;
    lease.get().adopt(py, block)?;
    leased_instance(cls, block as usize, lease)
}

/// A new instance of `obj`'s class over `obj`'s memory, which `lease` (holding `obj`)
/// may take back. Memory that already has an owner (an arena's, an owned object's) is
/// refused: it has one lease already.
#[pyfunction]
pub fn _owned_view<'py>(lease: &Bound<'py, Lease>, obj: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let py = lease.py();
    let data = obj.cast::<CData>().map_err(|_| {
        PyTypeError::new_err(format!("owned() takes a ctypes instance (a pointer, c_void_p, structure, array...), got {}", scalar::type_name(obj)))
    })?;
    if data.get().is_revocable(py) {
        return Err(PyValueError::new_err(format!(
            "owned() takes memory without an owner; this {} instance's memory already has one (an arena, or an earlier owned())",
            scalar::type_name(obj)
        )));
    }
    let address = data.get().live_address(py)? as usize;
    leased_instance(&obj.get_type(), address, lease)
}
