//! The standard library's ctypes objects, as every layer meets them: telling them
//! apart (without an `isinstance` per value), and asking `ferrotypes._stdlib_ctypes`
//! for the ferrotypes object that stands for one (`adopted`, `twin`).
//!
//! Every use is on a fallback path, after ferrotypes' own objects and Python's values
//! were tried. The standard library's `ctypes` is never imported: its types are looked
//! up once it is loaded.

#![warn(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::arithmetic_side_effects)]

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyTuple, PyType};

use crate::support::scalar;

/// The standard library's ctypes base classes, once its `_ctypes` is loaded, and the
/// helpers of `ferrotypes._stdlib_ctypes`.
pub struct StdTypes {
    /// The buffer export function of every stdlib C data type: comparing a type's
    /// with it tells stdlib instances apart without an `isinstance` per argument.
    getbuffer: usize,
    pub cdata: Py<PyType>,
    pub simple: Py<PyType>,
    pub pointer: Py<PyType>,
    pub array: Py<PyType>,
    pub function: Py<PyType>,
    pub carg: Py<PyType>,
    /// `byref_address(carg)`: the address a stdlib `byref()` holds.
    pub byref_address: Py<PyAny>,
    /// `adopt(value, cls)`.
    adopt: Py<PyAny>,
    /// `twin(value)`.
    twin: Py<PyAny>,
    /// `sizeof(value)`, `alignment(value)`, `addressof(value)`: the stdlib's own.
    sizeof: Py<PyAny>,
    alignment: Py<PyAny>,
    addressof: Py<PyAny>,
}

/// The address of `cls`'s buffer export function, if it has one.
pub fn getbuffer_of(cls: &Bound<'_, PyType>) -> Option<usize> {
    // SAFETY: cls is a live type object; tp_as_buffer is NULL or points to its slots.
    unsafe {
        let procs = (*cls.as_type_ptr()).tp_as_buffer;
        if procs.is_null() {
            return None;
        }
        (*procs).bf_getbuffer.map(|f| f as usize)
    }
}

/// Set once the stdlib's types are found, or to None once `_ctypes` turns out to be
/// ferrotypes itself (as in the conformance runs, where `ctypes` is ferrotypes).
static STD_TYPES: PyOnceLock<Option<StdTypes>> = PyOnceLock::new();

impl StdTypes {
    /// The stdlib types, if the stdlib's `_ctypes` is loaded.
    pub fn get(py: Python<'_>) -> Option<&StdTypes> {
        if let Some(found) = STD_TYPES.get(py) {
            return found.as_ref();
        }
        // SAFETY: the GIL is held; PyImport_GetModuleDict returns a borrowed dict.
        let modules = unsafe { Bound::from_borrowed_ptr(py, pyo3::ffi::PyImport_GetModuleDict()) };
        if !modules.cast::<PyDict>().ok()?.contains("_ctypes").ok()? {
            return None; // nothing can have made stdlib instances yet
        }
        let helper = py.import("ferrotypes._stdlib_ctypes").ok()?;
        let found = helper.getattr("stdlib_types").ok()?.call0().ok()?;
        if found.is_none() {
            return None; // loading, not loaded: look again next time
        }
        let found = StdTypes::from_tuple(&found, &helper).ok();
        STD_TYPES.get_or_init(py, || found).as_ref()
    }

    /// The types from `stdlib_types()`'s tuple; Err for its `False` (ferrotypes is `_ctypes`).
    fn from_tuple(found: &Bound<'_, PyAny>, helper: &Bound<'_, PyModule>) -> PyResult<StdTypes> {
        let t = found.cast::<PyTuple>()?;
        let ty = |i: usize| -> PyResult<Py<PyType>> { Ok(t.get_item(i)?.cast_into::<PyType>()?.unbind()) };
        let function = |name: &str| -> PyResult<Py<PyAny>> { Ok(helper.getattr(name)?.unbind()) };
        let cdata = ty(0)?;
        Ok(StdTypes {
            getbuffer: getbuffer_of(cdata.bind(found.py())).ok_or_else(|| PyTypeError::new_err("stdlib C data exports no buffer"))?,
            cdata,
            simple: ty(1)?,
            pointer: ty(2)?,
            array: ty(3)?,
            function: ty(4)?,
            carg: ty(5)?,
            byref_address: function("byref_address")?,
            adopt: function("adopt")?,
            twin: function("twin")?,
            sizeof: function("sizeof")?,
            alignment: function("alignment")?,
            addressof: function("addressof")?,
        })
    }

    /// Whether `value` is a stdlib C data instance (any class of the stdlib's ctypes).
    pub fn is_cdata(&self, value: &Bound<'_, PyAny>) -> bool {
        getbuffer_of(&value.get_type()) == Some(self.getbuffer)
    }

    /// Whether `value` is a stdlib `byref()` (or another of its `CArgObject`s).
    pub fn is_carg(&self, value: &Bound<'_, PyAny>) -> bool {
        value.get_type().is(self.carg.bind(value.py()))
    }
}

/// Whether `value` is a stdlib C data instance.
pub fn is_stdlib_cdata(value: &Bound<'_, PyAny>) -> bool {
    // Most objects export no buffer: they are told apart without looking further.
    getbuffer_of(&value.get_type()).is_some() && StdTypes::get(value.py()).is_some_and(|std| std.is_cdata(value))
}

/// `value`, a stdlib instance, as ferrotypes class `cls` takes it in a store: an
/// instance of `cls` over its memory when the layouts match (for a pointer class, also
/// an array of its target type over a stdlib array of a matching element type), which
/// keeps `value` alive. None for anything else, and for a stdlib instance that does not
/// fit (the caller reports it: [`mismatch`]).
pub fn adopted<'py>(value: &Bound<'py, PyAny>, cls: &Bound<'py, PyType>) -> PyResult<Option<Bound<'py, PyAny>>> {
    let py = value.py();
    if !is_stdlib_cdata(value) {
        return Ok(None);
    }
    let Some(std) = StdTypes::get(py) else { return Ok(None) };
    let own = std.adopt.bind(py).call1((value, cls))?;
    Ok((!own.is_none()).then_some(own))
}

/// The ferrotypes object standing for stdlib object `value` wherever its kind is taken
/// without a declared type (calls without `argtypes`, `cast`, `byref`, `string_at`): an
/// instance of the ferrotypes class of its layout over its memory, or for a stdlib
/// `byref()` a ferrotypes one at the same address. None when `value` is neither; a
/// TypeError when its class has no ferrotypes equivalent.
pub fn twin<'py>(value: &Bound<'py, PyAny>) -> PyResult<Option<Bound<'py, PyAny>>> {
    let py = value.py();
    let Some(std) = StdTypes::get(py) else { return Ok(None) };
    if !std.is_cdata(value) && !std.is_carg(value) {
        return Ok(None);
    }
    let own = std.twin.bind(py).call1((value,))?;
    Ok((!own.is_none()).then_some(own))
}

/// `sizeof`, `alignment` or `addressof` (`which`) of a stdlib class or instance (an
/// address: of an instance), as the stdlib answers it; None when `obj` is none of its.
pub fn stdlib_measure(obj: &Bound<'_, PyAny>, which: Measure) -> Option<PyResult<usize>> {
    let py = obj.py();
    let std = StdTypes::get(py)?;
    let is_stdlib_class = || obj.cast::<PyType>().is_ok_and(|cls| cls.is_subclass(std.cdata.bind(py)).unwrap_or(false));
    let ours = match which {
        Measure::Size | Measure::Alignment => std.is_cdata(obj) || is_stdlib_class(),
        Measure::Address => std.is_cdata(obj),
    };
    if !ours {
        return None;
    }
    let function = match which {
        Measure::Size => &std.sizeof,
        Measure::Alignment => &std.alignment,
        Measure::Address => &std.addressof,
    };
    Some(function.bind(py).call1((obj,)).and_then(|n| n.extract()))
}

/// What [`stdlib_measure`] asks.
#[derive(Clone, Copy)]
pub enum Measure {
    Size,
    Alignment,
    Address,
}

/// The TypeError refusing stdlib instance `value` where ferrotypes class `expected` is
/// taken: both classes named by their library (`expected ferrotypes LP_c_float, got
/// ctypes LP_c_double`), since the two libraries' classes of one name are not
/// interchangeable.
pub fn mismatch(expected: &Bound<'_, PyType>, value: &Bound<'_, PyAny>) -> PyErr {
    let expected_name = expected.name().map(|n| n.to_string()).unwrap_or_default();
    PyTypeError::new_err(format!("expected ferrotypes {expected_name}, got ctypes {}", class_name(value)))
}

/// The name of a stdlib instance's class where a message already names its library
/// (`got ctypes CArgObject`): its `__name__`, without the `_ctypes.` of its `tp_name`.
pub fn class_name(value: &Bound<'_, PyAny>) -> String {
    value.get_type().name().map(|n| n.to_string()).unwrap_or_default()
}

/// The TypeError for a value of the wrong type where ferrotypes class `expected` is
/// taken: ctypes' message (`ctypes_message(expected, given)`), or [`mismatch`]'s for a
/// stdlib instance.
pub fn wrong_type(expected: &Bound<'_, PyType>, value: &Bound<'_, PyAny>, ctypes_message: impl FnOnce(&str, &str) -> String) -> PyErr {
    if is_stdlib_cdata(value) {
        return mismatch(expected, value);
    }
    let expected_name = expected.name().map(|n| n.to_string()).unwrap_or_default();
    PyTypeError::new_err(ctypes_message(&expected_name, &scalar::type_name(value)))
}
