//! What Python sees of `_CDataBase`, the base of every C data instance: its
//! constructor, attributes and protocols, each the work of the file of its concept.

use pyo3::exceptions::PyTypeError;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::pyclass::{PyTraverseError, PyVisit};
use pyo3::types::{PyDict, PyTuple, PyType};

use crate::data::buffer_export;
use crate::data::cdata::CData;
use crate::data::pickle;

#[pymethods]
impl CData {
    #[new]
    #[classmethod]
    #[pyo3(signature = (*_args, **_kwargs))]
    fn py_new(cls: &Bound<'_, PyType>, _args: &Bound<'_, PyTuple>, _kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<CData> {
        if cls.is(cls.py().get_type::<CData>()) {
            return Err(PyTypeError::new_err("abstract class"));
        }
        CData::for_class(cls)
    }

    /// The object whose memory this instance views, or None.
    #[getter(_b_base_)]
    fn b_base(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        self.base.as_ref().map(|b| b.clone_ref(py))
    }

    /// True when the instance owns its memory.
    #[getter(_b_needsfree_)]
    fn b_needsfree(&self, py: Python<'_>) -> bool {
        self.b_needsfree_py(py)
    }

    /// The objects kept alive by this instance.
    #[getter(_objects)]
    fn objects(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        self.objects.get_obj(py)
    }

    fn __ctypes_from_outparam__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    /// The references the collector must see (ctypes' `PyCData_traverse`): what the
    /// instance keeps alive and the instance it views.
    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        // SAFETY: called by the collector through tp_traverse; the closure only visits.
        unsafe { self.objects.with_in_traverse(|o| visit.call(o)) }?;
        visit.call(&self.base)
    }

    /// Breaks cycles through `_objects`. `_b_base_` stays: it keeps the viewed memory
    /// valid, and a cycle through it always passes through something else clearable.
    fn __clear__(&self, py: Python<'_>) {
        drop(self.objects.replace(py, None));
    }

    /// The buffer protocol (see `buffer_export`): PyO3's wrapper, which the raw
    /// slots replace (`buffer_export::install_buffer_slots`); from 3.12 it is also
    /// what `__buffer__` wraps, and so what a class statement first gives a class.
    ///
    /// # Safety
    /// Called by CPython with `view` pointing at a `Py_buffer` to fill.
    unsafe fn __getbuffer__(slf: Bound<'_, Self>, view: *mut ffi::Py_buffer, _flags: std::ffi::c_int) -> PyResult<()> {
        // SAFETY: CPython passes a valid `Py_buffer` to fill, as get_buffer requires.
        unsafe { buffer_export::get_buffer(slf, view) }
    }

    /// Frees what `__getbuffer__` allocated for the view.
    ///
    /// # Safety
    /// Called by CPython once per view filled by `__getbuffer__`.
    unsafe fn __releasebuffer__(slf: Bound<'_, Self>, view: *mut ffi::Py_buffer) {
        // SAFETY: CPython calls this once per view get_buffer filled, as
        // release_buffer requires.
        unsafe { buffer_export::release_buffer(slf, view) }
    }

    /// Pickling (see `pickle`).
    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyTuple>> {
        pickle::reduce(slf)
    }

    /// Restores a pickled state (see `pickle`).
    fn __setstate__(slf: &Bound<'_, Self>, dict: &Bound<'_, PyAny>, data: &Bound<'_, PyAny>) -> PyResult<()> {
        pickle::set_state(slf, dict, data)
    }

    /// C data is mutable, so, as in ctypes, it is not hashable (in ctypes' words,
    /// which name no type; `POINTER(instance)` says so too).
    fn __hash__(_slf: &Bound<'_, Self>) -> PyResult<isize> {
        Err(PyTypeError::new_err("unhashable type"))
    }
}
