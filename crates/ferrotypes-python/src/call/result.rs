//! Result conversion: how a function's C result becomes a Python value, chosen once
//! from the `restype` ([`ResultRecipe`]) and run after each call.
//!
//! What it does not do: `errcheck` (the function object runs it, with the arguments).

use std::ffi::c_void;

use ferrotypes_core::call::Slot;
use ferrotypes_core::ctype::{CType, ScalarKind};
use pyo3::exceptions::PyTypeError;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::pyclass::{PyTraverseError, PyVisit};
use pyo3::types::PyType;
use pyo3::intern;

use crate::data::cdata::CData;
use crate::data::instances;
use crate::support::python::describe;
use crate::support::scalar;
use crate::types::typeinfo::{info_of, member_or_value, stand_in, InfoKind};

/// A `restype` prepared: how the result converts, its C type, and the restype's
/// `_check_retval_`.
pub struct ResultRecipe {
    pub conv: ResultConv,
    /// The C type the call returns (an array restype comes back as a pointer word).
    pub ctype: CType,
    /// The restype's `_check_retval_`, if it has one.
    pub check_retval: Option<Py<PyAny>>,
}

impl ResultRecipe {
    /// `restype = None`: no result.
    pub fn void() -> ResultRecipe {
        ResultRecipe { conv: ResultConv::Void, ctype: CType::Void, check_retval: None }
    }

    /// The recipe for `restype` (None when unset); TypeError for what cannot be one
    /// ([`check_restype`]).
    pub fn for_restype(restype: Option<&Bound<'_, PyAny>>) -> PyResult<ResultRecipe> {
        let Some(r) = restype.filter(|r| !r.is_none()) else { return Ok(ResultRecipe::void()) };
        check_restype(r, "restype")?;
        let py = r.py();
        // Only a class has a result layout (ctypes asks the type's StgInfo): any other
        // callable, a function pointer instance too, is called with the C int.
        if let Some((class, ctype)) = r.cast::<PyType>().ok().and_then(|t| Some((t.clone(), stand_in(t)?))) {
            let recipe = ResultRecipe::for_restype(Some(ctype.as_any()))?;
            let ResultConv::Value(kind) = recipe.conv else { return Ok(recipe) };
            return Ok(ResultRecipe { conv: ResultConv::Member { kind, cls: class.unbind() }, ..recipe });
        }
        let Some(info) = r.cast::<PyType>().ok().and_then(|t| info_of(t.as_any()).ok()) else {
            return Ok(ResultRecipe { conv: ResultConv::Callable(r.clone().unbind()), ctype: CType::Scalar(ScalarKind::Int), check_retval: None });
        };
        let info = info.get();
        info.check_by_value()?;
        let conv = match info.kind {
            InfoKind::Simple { scalar, native_values: true, swapped: false } => ResultConv::Value(scalar),
            InfoKind::Simple { scalar, native_values: true, swapped: true } => ResultConv::SwappedValue(scalar),
            _ => ResultConv::Instance(r.cast::<PyType>()?.clone().unbind()),
        };
        // An array result comes back as ctypes takes it: as a pointer-sized word (C
        // functions return no arrays; ctypes describes array types to libffi so).
        let check_retval = crate::support::python::optional_class_attribute(r.cast::<PyType>()?, intern!(py, "_check_retval_"))?.map(Bound::unbind);
        Ok(ResultRecipe { conv, ctype: info.param_ctype(), check_retval })
    }

    /// Visits the objects the recipe holds (for the collector).
    pub fn traverse(&self, visit: &PyVisit<'_>) -> Result<(), PyTraverseError> {
        match &self.conv {
            ResultConv::Instance(cls) | ResultConv::Member { cls, .. } => visit.call(cls)?,
            ResultConv::Callable(f) => visit.call(f)?,
            ResultConv::Void | ResultConv::Value(_) | ResultConv::SwappedValue(_) => {}
        }
        visit.call(&self.check_retval)
    }

    /// How a number result is made straight from the result word, when the restype is
    /// a built-in numeric simple type without `_check_retval_`.
    pub fn number_maker(&self) -> Option<NumberMaker> {
        match (&self.conv, &self.check_retval) {
            (ResultConv::Value(kind), None) => number_maker(*kind),
            _ => None,
        }
    }

    /// The recipe's readable form (see [`crate::call::recipe`]).
    pub fn describe(&self, py: Python<'_>) -> String {
        let conv = match &self.conv {
            ResultConv::Void => "None".to_owned(),
            ResultConv::Value(_) if self.number_maker().is_some() => "its value, made straight from the result word".to_owned(),
            ResultConv::Value(_) => "its value".to_owned(),
            ResultConv::SwappedValue(_) => "its value, bytes reversed".to_owned(),
            ResultConv::Member { cls, .. } => format!("its value, as the member of {} that has it if one does", describe(cls.bind(py).as_any())),
            ResultConv::Instance(cls) => format!("an instance of {} holding the result's bytes", describe(cls.bind(py).as_any())),
            ResultConv::Callable(_) => "the callable called with the C int".to_owned(),
        };
        match self.check_retval {
            Some(_) => format!("{conv}, then _check_retval_"),
            None => conv,
        }
    }

    /// The Python value of a call's result, from the bytes the call left (at least 16).
    #[inline]
    pub fn convert<'py>(&self, py: Python<'py>, bytes: &[u8], steal_object: bool) -> PyResult<Bound<'py, PyAny>> {
        convert_result(py, self, bytes, steal_object)
    }
}

/// Whether `restype` can be a function's result type: a ctypes type, another callable
/// (any class is one), or None; TypeError otherwise, in ctypes' words, naming the
/// `attribute` it was given as.
/// The one check: prototype classes (`_restype_`, through [`_check_restype`]) and
/// `restype` assignments ([`ResultRecipe::for_restype`]) both call it.
pub fn check_restype(restype: &Bound<'_, PyAny>, attribute: &str) -> PyResult<()> {
    if restype.is_none() || restype.is_callable() {
        return Ok(());
    }
    Err(PyTypeError::new_err(format!("{attribute} must be a type, a callable, or None")))
}

/// [`check_restype`] for the prototype classes' `_restype_`.
#[pyfunction]
pub fn _check_restype(restype: &Bound<'_, PyAny>) -> PyResult<()> {
    check_restype(restype, "_restype_")
}

/// How the C result becomes a Python value.
pub enum ResultConv {
    /// `restype = None`: the result is `None`.
    Void,
    /// A built-in simple type: its value as a Python int, float, bytes, ...
    Value(ScalarKind),
    /// A built-in simple type of the other byte order (`c_int.__ctype_be__`): the
    /// value read from the result's bytes reversed, as ctypes' swapped getters do.
    SwappedValue(ScalarKind),
    /// A class standing for a built-in simple type (an enum class, see
    /// [`stand_in`]): the value as the class's member that has it, else the value.
    Member { kind: ScalarKind, cls: Py<PyType> },
    /// Any other ctypes type: an instance holding the result's bytes.
    Instance(Py<PyType>),
    /// A callable that is not a ctypes type: called with the C `int` result.
    Callable(Py<PyAny>),
}

/// Room for a result: libffi widens small integers to a machine word, and records
/// may be larger than a slot.
pub enum ResultBuffer {
    Small(Slot),
    Large(Vec<Slot>),
}

impl ResultBuffer {
    /// `MemoryError` when the result type (the user's) is larger than memory allows.
    pub fn for_type(t: &CType) -> PyResult<ResultBuffer> {
        let size = t.size();
        if size <= 16 {
            return Ok(ResultBuffer::Small(Slot::ZERO));
        }
        let mut slots = Vec::new();
        slots.try_reserve_exact(size.div_ceil(16)).map_err(|_| pyo3::exceptions::PyMemoryError::new_err(format!("cannot allocate a result of {size} bytes")))?;
        slots.resize(size.div_ceil(16), Slot::ZERO);
        Ok(ResultBuffer::Large(slots))
    }

    /// Where libffi writes the result.
    pub fn as_mut_ptr(&mut self) -> *mut c_void {
        match self {
            ResultBuffer::Small(s) => s.as_mut_ptr(),
            ResultBuffer::Large(v) => v.as_mut_ptr().cast(),
        }
    }

    /// The result's bytes (at least 16).
    pub fn bytes(&self) -> &[u8] {
        match self {
            ResultBuffer::Small(s) => &s.0,
            // SAFETY: a Vec<Slot> is contiguous plain bytes, 16 per slot, all initialised.
            ResultBuffer::Large(v) => unsafe { std::slice::from_raw_parts(v.as_ptr().cast::<u8>(), size_of_val(v.as_slice())) },
        }
    }
}

/// The first 16 bytes of a result buffer, which every [`ResultBuffer`] has.
#[inline(always)]
fn first_16(bytes: &[u8]) -> PyResult<&[u8; 16]> {
    bytes.first_chunk::<16>().ok_or_else(|| pyo3::exceptions::PySystemError::new_err("a result buffer of fewer than 16 bytes"))
}

/// The Python value of a call's result, from the bytes the call left (at least 16).
#[inline]
fn convert_result<'py>(py: Python<'py>, recipe: &ResultRecipe, bytes: &[u8], steal_object: bool) -> PyResult<Bound<'py, PyAny>> {
    match &recipe.conv {
        ResultConv::Void => Ok(py.None().into_bound(py)),
        ResultConv::Value(kind) if kind.size() > 16 => {
            // `long double _Complex`, in the result buffer sized for it (ResultBuffer).
            let bytes = bytes.get(..kind.size()).ok_or_else(|| PyTypeError::new_err("result buffer too small"))?;
            // SAFETY: `bytes` holds one value of `kind` (its size, checked above).
            unsafe { scalar::read(py, *kind, false, bytes.as_ptr()) }.map(|v| v.into_bound(py))
        }
        ResultConv::Value(kind) => {
            let raw = first_16(bytes)?;
            let word = Slot(*raw).word();
            if let Some(value) = number_from_word(py, *kind, word) {
                return value;
            }
            let value = scalar::from_bytes(py, *kind, raw)?.into_bound(py);
            if *kind == ScalarKind::ObjectPtr && steal_object {
                // A Python C API function (or a callback of ours) returning PyObject* returns a new reference:
                // take it over (from_bytes took one of its own). For other functions
                // the reference is kept borrowed: stealing one a C function did not
                // give (an identity function, say) would free a live object; ctypes
                // steals and crashes there, ferrotypes leaks at worst.
                // SAFETY: the pointer is the non-NULL object from_bytes just read.
                unsafe { ffi::Py_DECREF(value.as_ptr()) };
            }
            Ok(value)
        }
        ResultConv::SwappedValue(kind) => {
            // SAFETY: the result buffer holds at least 16 bytes, more than any scalar.
            unsafe { scalar::read(py, *kind, true, bytes.as_ptr()) }.map(|v| v.into_bound(py))
        }
        ResultConv::Member { kind, cls } => {
            let word = bytes.first_chunk::<8>().map_or(0, |w| u64::from_ne_bytes(*w));
            let value = match number_from_word(py, *kind, word) {
                Some(value) => value?.unbind(),
                // SAFETY: the result buffer holds at least 16 bytes, more than any scalar.
                None => unsafe { scalar::read(py, *kind, false, bytes.as_ptr()) }?,
            };
            Ok(member_or_value(cls.bind(py), value)?.into_bound(py))
        }
        ResultConv::Instance(cls) => {
            // As ctypes makes it: neither `__new__` nor `__init__` runs.
            let cls = cls.bind(py);
            let obj = instances::instance(cls, instances::Contents::Owned(CData::class_info(cls)?))?;
            let cdata = obj.cast::<CData>()?.get();
            let n = cdata.size(py).min(recipe.ctype.size());
            // SAFETY: the new instance owns at least `n` bytes; the buffer has them too.
            unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), cdata.address(py), n) };
            Ok(obj)
        }
        ResultConv::Callable(f) => {
            let [b0, b1, b2, b3, ..] = *first_16(bytes)?;
            let v = i32::from_ne_bytes([b0, b1, b2, b3]);
            f.bind(py).call1((v,))
        }
    }
}

/// The common numeric results straight from the result word (libffi and the register
/// path both leave integers widened to a word, floating results at its start), with
/// the same values `scalar::from_bytes` gives; None for the other kinds.
#[inline(always)]
fn number_from_word(py: Python<'_>, kind: ScalarKind, word: u64) -> Option<PyResult<Bound<'_, PyAny>>> {
    // SAFETY: the GIL is held (the token says so); number_ptr returns a new reference
    // or NULL with an exception set, which from_owned_ptr_or_err turns into an error.
    unsafe { number_ptr(kind, word).map(|ptr| Bound::from_owned_ptr_or_err(py, ptr)) }
}

/// [`number_from_word`] as a new reference, or NULL with an exception set.
///
/// # Safety
/// The GIL is held.
#[inline(always)]
unsafe fn number_ptr(kind: ScalarKind, word: u64) -> Option<*mut ffi::PyObject> {
    // SAFETY: the GIL is held (this function's contract), all a NumberMaker needs.
    number_maker(kind).map(|make| unsafe { make(word) })
}

/// Makes a Python number from a result word; a new reference, or NULL with an
/// exception set. Must be called with the GIL held.
pub type NumberMaker = unsafe fn(u64) -> *mut ffi::PyObject;

/// The [`NumberMaker`] of the common numeric results (libffi and the register path
/// both leave integers widened to a word, floating results at its start), with the
/// values `scalar::from_bytes` gives; None for the other kinds.
fn number_maker(kind: ScalarKind) -> Option<NumberMaker> {
    use std::ffi::{c_long, c_ulong};
    use ScalarKind::*;
    // SAFETY (each constructor): the GIL is held (NumberMaker's contract); they take
    // numbers only.
    let make: NumberMaker = match kind {
        Int => |w| unsafe { ffi::PyLong_FromLong(w as u32 as i32 as c_long) },
        UInt => |w| unsafe { ffi::PyLong_FromUnsignedLong(w as u32 as c_ulong) },
        Long | LongLong => |w| unsafe { ffi::PyLong_FromLongLong(w as i64) },
        ULong | ULongLong => |w| unsafe { ffi::PyLong_FromUnsignedLongLong(w) },
        Short => |w| unsafe { ffi::PyLong_FromLong(w as u16 as i16 as c_long) },
        UShort => |w| unsafe { ffi::PyLong_FromLong(w as u16 as c_long) },
        Byte => |w| unsafe { ffi::PyLong_FromLong(w as u8 as i8 as c_long) },
        UByte => |w| unsafe { ffi::PyLong_FromLong(w as u8 as c_long) },
        Double => |w| unsafe { ffi::PyFloat_FromDouble(f64::from_bits(w)) },
        Float => |w| unsafe { ffi::PyFloat_FromDouble(f32::from_bits(w as u32) as f64) },
        _ => return None,
    };
    Some(make)
}
