//! `_SimpleData`: instances of the simple types (`c_int`, `c_char_p`, `py_object`, ...):
//! one scalar in C memory, read and written through `.value`.
//!
//! What it does not do: pick the scalar's meaning (that is the class's `_type_`,
//! resolved once into its `TypeInfo`) or convert call arguments (see `argconv`).

use ferrotypes_core::ctype::ScalarKind;
use pyo3::exceptions::PyTypeError;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::Borrowed;
use pyo3::types::{PyDict, PyTuple, PyType};
use pyo3::PyClassInitializer;

use crate::data::cdata::CData;
use crate::data::keepalive;
use crate::data::construct::Construct;
use crate::data::instances;
use crate::support::scalar;
use crate::data::instances::Family;
use crate::data::registry;
use crate::data::slots;
use crate::types::typeinfo::{FamilyKind, InfoKind, TypeInfo};

/// The Rust side of `_SimpleCData`. It adds nothing to `CData` (what the scalar is
/// comes from the class's info), so that an instance is no larger than ctypes'.
#[pyclass(extends = CData, subclass, frozen, module = "ferrotypes._ctypes", name = "_CData")]
pub struct SimpleData {}

/// What a simple class's info says about its scalar.
#[derive(Clone, Copy)]
struct Traits {
    kind: ScalarKind,
    swapped: bool,
    /// Values come out as native Python values (see `InfoKind::Simple`).
    native_values: bool,
}

impl Traits {
    fn of(data: &CData) -> PyResult<Traits> {
        match data.info().get().kind {
            InfoKind::Simple { scalar, swapped, native_values } => Ok(Traits { kind: scalar, swapped, native_values }),
            _ => Err(PyTypeError::new_err("abstract class")),
        }
    }
}

impl SimpleData {
    /// Reads the value.
    pub fn value_of(slf: &Bound<'_, Self>) -> PyResult<Py<PyAny>> {
        let py = slf.py();
        let base = slf.as_super().get();
        let me = Traits::of(base)?;
        // SAFETY: the instance's memory holds at least one scalar of its kind.
        unsafe { scalar::read(py, me.kind, me.swapped, base.live_address(py)?) }
    }

    /// Writes the value, keeping alive whatever the scalar now points into.
    pub fn set_value_of(slf: &Bound<'_, Self>, value: &Bound<'_, PyAny>) -> PyResult<()> {
        let py = slf.py();
        let base = slf.as_super().get();
        let me = Traits::of(base)?;
        // SAFETY: the instance's memory holds at least one scalar of its kind.
        let keep = unsafe { scalar::write(value, me.kind, me.swapped, base.live_address(py)?) }?;
        keepalive::keep_ref(slf.as_super(), 0, keep)
    }
}

impl Family for SimpleData {
    const KIND: FamilyKind = FamilyKind::Simple;

    fn part(_cls: &Bound<'_, PyType>, info: &TypeInfo) -> PyResult<Option<Self>> {
        Ok((info.kind.family() == FamilyKind::Simple).then_some(SimpleData {}))
    }
}

/// Registers the simple family (at module initialisation), with `value` read and
/// stored by [`value_get`] and [`value_set`], which CPython calls directly: PyO3's
/// wrappers register the call with their attach count and check the receiver's type,
/// which CPython's getset descriptor has already checked.
pub fn register(py: Python<'_>) -> PyResult<()> {
    slots::replace_getset(&py.get_type::<SimpleData>(), c"value", value_get, Some((value_set, &GENERAL_VALUE_SETTER)))?;
    registry::register_data_family::<SimpleData>(py, Some(public_base_value))
}

/// The same `value` getset, made for `_SimpleCData` (the public base, a direct subclass
/// of `_SimpleData`), as ctypes makes it for its simple base: CPython checks each
/// access's instance against the descriptor's class, and finds `c_int`'s base one step
/// sooner in its MRO than `_SimpleData`.
static PUBLIC_BASE_VALUE: slots::StaticGetSetDef = slots::StaticGetSetDef::new(c"value", value_get, Some(value_set), c"current value");

/// Gives `cls` [`PUBLIC_BASE_VALUE`] when it is `_SimpleCData`, the class made directly
/// on `_SimpleData` (at start-up, before any simple type exists).
fn public_base_value(cls: &Bound<'_, PyType>) {
    let py = cls.py();
    // SAFETY: a live type object, read with the GIL held.
    let base = unsafe { (*cls.as_type_ptr()).tp_base };
    if base == py.get_type::<SimpleData>().as_type_ptr() {
        // A failure leaves `_SimpleData`'s getset, which does the same.
        let _ = slots::add_getset(cls, &PUBLIC_BASE_VALUE);
    }
}

/// PyO3's `value` setter, which [`value_set`] falls back to.
static GENERAL_VALUE_SETTER: std::sync::OnceLock<slots::GeneralSetter> = std::sync::OnceLock::new();

/// `x.value` as CPython's getset descriptor calls it: a native-order number (or a
/// `char *`'s string) of memory that cannot be taken back is boxed here, with no
/// frame of its own (the C API's result, or NULL with its exception, is the answer);
/// every other case, and every error, is [`general_value_get`]'s.
///
/// # Safety
/// CPython's getter contract, after `getset_get`'s check: the GIL held, `obj` a live
/// instance of `_SimpleData` (or a subclass), lent for the call.
unsafe extern "C" fn value_get(obj: *mut ffi::PyObject, _closure: *mut std::ffi::c_void) -> *mut ffi::PyObject {
    // SAFETY: CPython calls getters with the GIL held. The token is not registered with
    // PyO3's attach count: nothing made here is dropped as a `Py` (see data::slots).
    let py = unsafe { Python::assume_attached() };
    // SAFETY: CPython never calls a getter without its instance, which the descriptor,
    // made for _SimpleData, checked is an instance of it.
    let slf = unsafe { Borrowed::from_ptr_or_opt(py, obj).unwrap_unchecked().cast_unchecked::<SimpleData>() };
    let data = slf.as_super().get();
    if let Some(scalar) = data.info().get().value_scalar {
        if let Some(address) = data.plain_address(py) {
            // SAFETY: the instance's memory holds at least one scalar of its kind.
            if let Some(value) = unsafe { scalar::read_native_number(scalar, address) } {
                return value;
            }
        }
    }
    // SAFETY: this function's contract.
    unsafe { general_value_get(obj, std::ptr::null_mut()) }
}

/// `x.value` in every case [`value_get`] leaves: other kinds, the other byte order,
/// memory that may be taken back (`ValueError` once it was), an abstract class.
/// A C function (it cannot unwind: `guard` catches panics), so that `value_get` ends
/// by jumping to it, without saving a register or aligning the stack for a call.
///
/// # Safety
/// As for [`value_get`].
#[cold]
#[inline(never)]
unsafe extern "C" fn general_value_get(obj: *mut ffi::PyObject, _closure: *mut std::ffi::c_void) -> *mut ffi::PyObject {
    // SAFETY: as in value_get.
    let py = unsafe { Python::assume_attached() };
    slots::guard(py, slots::NULL, || {
        // SAFETY: as in value_get.
        let slf = unsafe { Borrowed::from_ptr(py, obj).cast_unchecked::<SimpleData>() };
        let base = slf.as_super().get();
        let me = Traits::of(base)?;
        // SAFETY: the instance's memory holds at least one scalar of its kind.
        unsafe { scalar::read_fast(py, me.kind, me.swapped, base.live_address(py)?) }
    })
}

/// `x.value = v` (and `del x.value`) as CPython's getset descriptor calls it: a native
/// number stored into a numeric type here (it keeps nothing alive), anything else by
/// PyO3's setter ([`SimpleData::set_value_of`]).
///
/// # Safety
/// CPython's setter contract, after `getset_set`'s check: the GIL held, `obj` a live
/// instance of `_SimpleData` (or a subclass), `value` a live object or NULL
/// (deletion), lent for the call.
unsafe extern "C" fn value_set(obj: *mut ffi::PyObject, value: *mut ffi::PyObject, _closure: *mut std::ffi::c_void) -> std::ffi::c_int {
    // SAFETY: CPython calls setters with the GIL held (see value_get).
    let py = unsafe { Python::assume_attached() };
    let fast = slots::fast_path(py, -1, || {
        if value.is_null() {
            return None;
        }
        // SAFETY: as in value_get; `value` is a live object lent for the call.
        let (slf, value) = unsafe { (Borrowed::from_ptr(py, obj).cast_unchecked::<SimpleData>(), Borrowed::from_ptr(py, value)) };
        let data = slf.as_super().get();
        let me = Traits::of(data).ok()?;
        // SAFETY: the instance's memory holds one scalar of its kind.
        unsafe { scalar::write_native_number(&value, me.kind, me.swapped, data.plain_address(py)?) }.map(|()| Ok(0))
    });
    if let Some(answer) = fast {
        return answer;
    }
    match GENERAL_VALUE_SETTER.get() {
        // SAFETY: the arguments CPython gave us, to the setter of the same getset.
        Some(general) => unsafe { general.set(obj, value) },
        None => {
            pyo3::exceptions::PySystemError::new_err("ferrotypes: fast slots used before installation").restore(py);
            -1
        }
    }
}

impl Construct for SimpleData {
    /// `c_int()`, `c_int(5)`, `c_char_p(b"abc")`: any one value is stored here, as
    /// ctypes' `Simple_init` stores it (a native number straight into a numeric type,
    /// anything else by the type's setter, [`SimpleData::set_value_of`], which keeps
    /// what a pointer value points into); several values go to PyO3's `__init__` for
    /// its error.
    fn init(obj: &Borrowed<'_, '_, Self>, args: &[*mut ffi::PyObject]) -> Option<PyResult<()>> {
        match *args {
            [] => Some(Ok(())),
            [value] => {
                let py = obj.py();
                // SAFETY: a constructor argument, lent for the call.
                let value = unsafe { Borrowed::from_ptr(py, value) };
                let data = obj.as_super().get();
                let me = Traits::of(data).ok()?;
                if let Some(address) = data.plain_address(py) {
                    // SAFETY: the instance's memory holds one scalar of its kind.
                    if unsafe { scalar::write_native_number(&value, me.kind, me.swapped, address) }.is_some() {
                        return Some(Ok(()));
                    }
                }
                Some(SimpleData::set_value_of(obj, &value))
            }
            _ => None,
        }
    }
}

#[pymethods]
impl SimpleData {
    /// Made by `instances::new_slot` once the module is initialised (this is the
    /// `tp_new` PyO3 generates; without a `#[new]` PyO3 forbids instances).
    #[new]
    #[classmethod]
    #[pyo3(signature = (*_args, **_kwargs))]
    fn py_new(cls: &Bound<'_, PyType>, _args: &Bound<'_, PyTuple>, _kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<PyClassInitializer<Self>> {
        instances::owned_initializer(cls)
    }

    /// `c_int(value)`; keyword arguments are ignored, as ctypes ignores them.
    #[pyo3(signature = (*args, **_kwargs))]
    fn __init__(slf: &Bound<'_, Self>, args: &Bound<'_, PyTuple>, _kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<()> {
        match args.len() {
            0 => Ok(()),
            1 => SimpleData::set_value_of(slf, &args.get_item(0)?),
            n => Err(PyTypeError::new_err(format!("__init__ expected at most 1 argument, got {n}"))),
        }
    }

    /// The value, as a Python object.
    #[getter]
    fn get_value(slf: &Bound<'_, Self>) -> PyResult<Py<PyAny>> {
        SimpleData::value_of(slf)
    }

    #[setter]
    fn set_value(slf: &Bound<'_, Self>, value: &Bound<'_, PyAny>) -> PyResult<()> {
        SimpleData::set_value_of(slf, value)
    }

    /// `del x.value`: refused with ctypes' exception type.
    #[deleter]
    fn delete_value(&self) -> PyResult<()> {
        Err(PyTypeError::new_err("can't delete attribute"))
    }

    /// `c_int(5)` for the built-in types, `<X object at ...>` for subclasses — except
    /// the string pointers, whose `X(address)` form subclasses inherit (as in ctypes,
    /// where `c_char_p` and `c_wchar_p` define their own `__repr__`).
    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        let name = slf.get_type().name()?.to_string();
        let me = Traits::of(slf.as_super().get())?;
        let string_pointer = matches!(me.kind, ScalarKind::CharPtr | ScalarKind::WCharPtr);
        if !me.native_values && !string_pointer {
            return Ok(format!("<{name} object at {:#x}>", slf.as_ptr() as usize));
        }
        let value = if string_pointer {
            // The address, never the string: the pointer may not point at one.
            let addr = slf.as_super().get().with_bytes(slf.py(), |b| b.first_chunk::<8>().map_or(0, |w| u64::from_ne_bytes(*w)))?;
            if addr == 0 { "None".to_owned() } else { addr.to_string() }
        } else {
            slf.as_super().get().live_address(slf.py())?; // freed memory is an error, not <NULL>
            match SimpleData::value_of(slf) {
                Ok(v) => v.bind(slf.py()).repr()?.to_string(),
                Err(_) => "<NULL>".to_owned(),
            }
        };
        Ok(format!("{name}({value})"))
    }

    fn __bool__(slf: &Bound<'_, Self>) -> PyResult<bool> {
        slf.as_super().get().with_bytes(slf.py(), |bytes| bytes.iter().any(|&b| b != 0))
    }

    /// What a function returning this type gives back: the native value for the
    /// built-in simple types, the instance itself for subclasses.
    fn __ctypes_from_outparam__(slf: &Bound<'_, Self>) -> PyResult<Py<PyAny>> {
        if Traits::of(slf.as_super().get())?.native_values {
            SimpleData::value_of(slf)
        } else {
            Ok(slf.clone().into_any().unbind())
        }
    }
}
