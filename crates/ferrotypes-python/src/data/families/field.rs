//! `CField`: the descriptor of one field of a structure or union, which reads and
//! stores the field in place inside an instance, with fast paths for fields of
//! simple types. Where the field is comes from the record's layout
//! ([`FieldLayout`], which the class info holds as plain data).

// Panic audit (issue 17). Offsets and sizes here are a laid-out record's (checked
// into isize by the layout engine), bit widths were checked against their storage
// unit (at most 16 bytes), so shifts and masks stay within a u128 and slices of a
// 16-byte unit within it; a wide buffer always ends in its NUL unit. Nothing here is
// a size or index taken from Python unchecked. Hence this module allows them.
#![allow(clippy::indexing_slicing, clippy::arithmetic_side_effects)]

use std::sync::OnceLock;

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};
use pyo3::Borrowed;

use crate::data::access;
use crate::data::cdata::CData;
use crate::data::slots;
use crate::support::cstring;
use crate::support::gil_cell::GilCell;
use crate::support::scalar;
use crate::types::typeinfo::{member_or_value, FieldAccess, FieldLayout, SimpleScalar};

/// A field of a structure or union: a descriptor on the record class.
#[pyclass(frozen, immutable_type, module = "ferrotypes._ctypes", name = "CField")]
pub struct CField {
    /// Where the field is and how it is read and stored.
    layout: FieldLayout,
    /// For the fast paths: the scalar of a field of a simple type without a special
    /// rule (what the layout says, read once).
    simple: Option<SimpleScalar>,
    /// The last class seen to hold this field in every instance, as its address and
    /// version tag (see [`CField::checked_address`]); `(0, 0)` when none yet.
    known_class: GilCell<(usize, u32)>,
}

impl CField {
    /// The descriptor of a field laid out as `layout`.
    pub fn new(layout: FieldLayout) -> CField {
        CField { simple: layout.simple_scalar(), layout, known_class: GilCell::new((0, 0)) }
    }

    /// Where the field is and how it is read and stored.
    pub fn layout(&self) -> &FieldLayout {
        &self.layout
    }
}

/// The address of this field inside `instance`, after checking that the instance
/// is C data large enough to hold it (a descriptor can be called on anything).
fn address_in<'py>(field: &FieldLayout, instance: &Bound<'py, PyAny>) -> PyResult<(Bound<'py, CData>, *mut u8)> {
    let py = instance.py();
    let cdata = instance.cast::<CData>().map_err(|_| PyTypeError::new_err(format!("not a ctype instance: {}", scalar::type_name(instance))))?;
    let data = cdata.get();
    if field.offset + field.size > data.size(py) {
        return Err(PyTypeError::new_err(format!(
            "field '{}' ({} bytes at offset {}) does not fit in a {} instance of {} bytes",
            field.name, field.size, field.offset, scalar::type_name(instance), data.size(py)
        )));
    }
    // SAFETY: offset + size is within the instance's memory (checked above).
    Ok((cdata.clone(), unsafe { data.live_address(py)?.add(field.offset) }))
}

/// Reads `field` of `instance`.
pub fn read(field: &FieldLayout, instance: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
    let py = instance.py();
    let (owner, address) = address_in(field, instance)?;
    match field.access {
        // SAFETY: address_in checked that the field lies inside the instance.
        FieldAccess::Value => unsafe { access::read_value(&owner, field.cls.bind(py), field.info.get(), address, field.index) },
        FieldAccess::Member => {
            // SAFETY: address_in checked that the field lies inside the instance.
            let value = unsafe { access::read_value(&owner, field.cls.bind(py), field.info.get(), address, field.index) }?;
            member_or_value(field.cls.bind(py), value)
        }
        FieldAccess::Bits { scalar, swapped, shift, width } => {
            // SAFETY: address_in checked that the field's `size` bytes, its storage
            // unit, lie inside the instance.
            let unit = unsafe { read_unit(address, field.size, swapped) };
            let mut bits = (unit >> shift) & mask(width);
            if scalar.number_class() == ferrotypes_core::ctype::NumberClass::Signed && width > 0 && bits >> (width - 1) & 1 == 1 {
                bits |= !mask(width); // sign-extend
            }
            let mut raw = [0u8; 16];
            raw[..scalar.size()].copy_from_slice(&bits.to_le_bytes()[..scalar.size()]);
            scalar::from_bytes(py, scalar, &raw)
        }
        FieldAccess::Chars => {
            // SAFETY: address_in checked that the field's `size` bytes lie inside the
            // instance.
            let bytes = unsafe { std::slice::from_raw_parts(address, field.size) };
            Ok(scalar::new_bytes(py, cstring::up_to_nul(bytes))?.into_any().unbind())
        }
        FieldAccess::WideChars => {
            let chars = field.size / std::mem::size_of::<libc::wchar_t>();
            // SAFETY: address_in checked that the field's `size` bytes, `chars` wide
            // characters, lie inside the instance.
            let len = unsafe { cstring::wide_len(address.cast(), chars) };
            // SAFETY: `len` wide characters are readable at address.
            unsafe { scalar::wide_string_at(py, address.cast(), Some(len)) }
        }
    }
}

/// Stores `value` into `field` of `instance`.
pub fn write(field: &FieldLayout, instance: &Bound<'_, PyAny>, value: &Bound<'_, PyAny>) -> PyResult<()> {
    let py = instance.py();
    let (owner, address) = address_in(field, instance)?;
    match field.access {
        // SAFETY: address_in checked that the field lies inside the instance.
        FieldAccess::Value | FieldAccess::Member => unsafe { access::write_value(&owner, field.cls.bind(py), field.info.get(), address, field.index, value) },
        FieldAccess::Bits { scalar, swapped, shift, width } => {
            let mut raw = [0u8; 16];
            if let Err(refused) = scalar::to_bytes(value, scalar, &mut raw) {
                // An instance of the field's own type stores its value (ctypes copies its
                // bytes by the bit-field's encoded size, far past both objects); looked
                // at only once the number was refused, off the ordinary store's path.
                if !value.is_instance(field.cls.bind(py))? {
                    return Err(refused);
                }
                scalar::to_bytes(&value.getattr(pyo3::intern!(py, "value"))?, scalar, &mut raw)?;
            }
            let mut word = [0u8; 16];
            word[..scalar.size()].copy_from_slice(&raw[..scalar.size()]);
            let bits = u128::from_le_bytes(word) & mask(width);
            // SAFETY: address_in checked that the field's `size` bytes, its storage
            // unit, lie inside the instance.
            unsafe {
                let unit = read_unit(address, field.size, swapped);
                let updated = (unit & !(mask(width) << shift)) | (bits << shift);
                write_unit(address, field.size, swapped, updated);
            }
            Ok(())
        }
        FieldAccess::Chars => {
            let bytes = value.cast::<PyBytes>().map_err(|_| PyTypeError::new_err(format!("expected bytes, {} found", scalar::type_name(value))))?;
            let bytes = bytes.as_bytes();
            if bytes.len() > field.size {
                return Err(PyValueError::new_err(format!("bytes too long ({}, maximum length {})", bytes.len(), field.size)));
            }
            // Like a C string copy, as ctypes does: up to the first NUL.
            let bytes = cstring::up_to_nul(bytes);
            if bytes.len() > field.size {
                return Err(PyValueError::new_err(format!("bytes too long ({}, maximum length {})", bytes.len(), field.size)));
            }
            // SAFETY: address_in checked that the field's `size` bytes lie inside the
            // instance; the bytes fit them (checked above) and are a bytes object's,
            // not C data memory.
            unsafe { cstring::store_with_nul(address, field.size, bytes) };
            Ok(())
        }
        FieldAccess::WideChars => {
            let text = value.cast::<PyString>().map_err(|_| PyTypeError::new_err(format!("unicode string expected instead of {} instance", scalar::type_name(value))))?;
            let wide = scalar::wide_buffer(text)?;
            let units = wide.as_bytes().len() / std::mem::size_of::<libc::wchar_t>() - 1; // without the NUL
            let chars = field.size / std::mem::size_of::<libc::wchar_t>();
            if units > chars {
                return Err(PyValueError::new_err(format!("string too long ({units}, maximum length {chars})")));
            }
            let text = wide.as_bytes().get(..units * std::mem::size_of::<libc::wchar_t>()).unwrap_or_default();
            // SAFETY: address_in checked that the field's `size` bytes lie inside the
            // instance; the text's `units` <= chars wide characters fit them, and are a
            // bytes object's, not C data memory.
            unsafe { cstring::store_wide_with_nul(address, chars * std::mem::size_of::<libc::wchar_t>(), text) };
            Ok(())
        }
    }
}

fn mask(width: u32) -> u128 {
    if width >= 128 {
        u128::MAX
    } else {
        (1u128 << width) - 1
    }
}

/// Reads `size` bytes (at most 16) at `address` as an unsigned integer.
///
/// # Safety
/// `size` bytes must be readable at `address`.
unsafe fn read_unit(address: *const u8, size: usize, big_endian: bool) -> u128 {
    let mut bytes = [0u8; 16];
    // SAFETY: the caller guarantees `size` readable bytes; size <= 16.
    unsafe { std::ptr::copy_nonoverlapping(address, bytes.as_mut_ptr(), size) };
    if big_endian {
        bytes[..size].reverse();
    }
    u128::from_le_bytes(bytes)
}

/// Writes the low `size` bytes of `value` at `address`.
///
/// # Safety
/// `size` bytes must be writable at `address`.
unsafe fn write_unit(address: *mut u8, size: usize, big_endian: bool, value: u128) {
    let mut bytes = value.to_le_bytes();
    if big_endian {
        bytes[..size].reverse();
    }
    // SAFETY: the caller guarantees `size` writable bytes; size <= 16.
    unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), address, size) };
}

/// The `tp_descr_get` slot of `CField` (see [`crate::data::slots`]): a field holding a
/// native value (see `InfoKind::Simple`) is read here; anything else goes to PyO3's `__get__`.
///
/// # Safety
/// CPython's `tp_descr_get` contract: called with the GIL held, `field` a `CField`
/// (the only type this slot is installed on), `instance` NULL (class access) or a
/// live object, `owner` a type or NULL, all lent for the call.
pub unsafe extern "C" fn field_get_slot(field: *mut ffi::PyObject, instance: *mut ffi::PyObject, owner: *mut ffi::PyObject) -> *mut ffi::PyObject {
    // SAFETY: CPython calls descriptor slots with the GIL held.
    let py = unsafe { Python::assume_attached() };
    let fast = slots::fast_path(py, slots::NULL, || {
        if instance.is_null() {
            return None; // class attribute access: the general path returns the field
        }
        // SAFETY: this slot is installed on CField only, so `field` is one; `instance`
        // is a live object CPython lends us for the call.
        let (field, instance) = unsafe { (Borrowed::from_ptr(py, field).cast_unchecked::<CField>(), Borrowed::from_ptr(py, instance)) };
        field.get().read_native(&instance)
    });
    // SAFETY: PyO3's own slot, called with the arguments CPython gave us.
    slots::or_general(py, fast, slots::NULL, &GENERAL_GET, |general| unsafe { general(field, instance, owner) })
}

/// The `tp_descr_set` slot of `CField`: a native number (int, float) stored into a numeric field is
/// written here; anything else (deletion included) goes to PyO3's `__set__`.
///
/// # Safety
/// CPython's `tp_descr_set` contract: called with the GIL held, `field` a `CField`,
/// `instance` a live object and `value` one or NULL (deletion), all lent for the call.
pub unsafe extern "C" fn field_set_slot(field: *mut ffi::PyObject, instance: *mut ffi::PyObject, value: *mut ffi::PyObject) -> std::ffi::c_int {
    // SAFETY: CPython calls descriptor slots with the GIL held.
    let py = unsafe { Python::assume_attached() };
    let fast = slots::fast_path(py, -1, || {
        if value.is_null() {
            return None;
        }
        // SAFETY: this slot is installed on CField only, so `field` is one;
        // `instance` and `value` are live objects lent for the call.
        let (field, instance, value) = unsafe {
            (Borrowed::from_ptr(py, field).cast_unchecked::<CField>(), Borrowed::from_ptr(py, instance), Borrowed::from_ptr(py, value))
        };
        field.get().write_number(&instance, &value).map(|r| r.map(|()| 0))
    });
    // SAFETY: PyO3's own slot, called with the arguments CPython gave us.
    slots::or_general(py, fast, -1, &GENERAL_SET, |general| unsafe { general(field, instance, value) })
}

/// PyO3's `__get__` and `__set__` of `CField`, which the fast paths fall back to.
static GENERAL_GET: OnceLock<ffi::descrgetfunc> = OnceLock::new();
static GENERAL_SET: OnceLock<ffi::descrsetfunc> = OnceLock::new();

/// Puts the fast paths in front of PyO3's descriptor slots of `CField` (at module
/// initialisation, before any field exists).
pub fn register(py: Python<'_>) -> PyResult<()> {
    let tp = py.get_type::<CField>().as_type_ptr();
    // SAFETY: a live type object made by PyO3 (the GIL is held); its slots are read,
    // and written (keeping their signatures), before any instance exists.
    unsafe {
        let saved_get = slots::save_general(&GENERAL_GET, (*tp).tp_descr_get)?;
        if slots::save_general(&GENERAL_SET, (*tp).tp_descr_set)? && saved_get {
            (*tp).tp_descr_get = Some(field_get_slot);
            (*tp).tp_descr_set = Some(field_set_slot);
            ffi::PyType_Modified(tp);
        }
    }
    Ok(())
}

impl CField {
    /// The field's address in `instance` when it is C data that holds the field, for
    /// the fast paths (`None` otherwise: the general path raises the right error).
    ///
    /// The checks are skipped for instances of the class last found to hold the field
    /// in all its instances (its size covers the field, and an instance's memory is
    /// never smaller than its class's size). The class is recognised by address and
    /// version tag together: CPython never gives two live-at-different-times classes
    /// the same tag, so a new class at a freed one's address cannot pass for it.
    #[inline(always)]
    fn checked_address(&self, instance: &Borrowed<'_, '_, PyAny>) -> Option<*mut u8> {
        let py = instance.py();
        let class = instance.get_type_ptr();
        // SAFETY: the type of a live object is a live type object.
        let tag = unsafe { (*class).tp_version_tag };
        let end = self.layout.offset + self.layout.size;
        let data = if tag != 0 && self.known_class.get(py) == (class as usize, tag) {
            // SAFETY: this class passed the cast below when it was remembered.
            unsafe { instance.cast_unchecked::<CData>() }
        } else {
            let data = instance.cast::<CData>().ok()?;
            if end > data.get().size(py) {
                return None;
            }
            if tag != 0 && end <= data.get().info().get().size {
                self.known_class.replace(py, (class as usize, tag));
            }
            data
        };
        // SAFETY: offset + size is within the instance's memory (checked above, or
        // implied by its class).
        Some(unsafe { data.get().plain_address(py)?.add(self.layout.offset) })
    }

    /// Reads a field of a built-in simple type (returned as a native Python value), or
    /// `None` for any other field.
    #[inline(always)]
    fn read_native(&self, instance: &Borrowed<'_, '_, PyAny>) -> Option<PyResult<*mut ffi::PyObject>> {
        let Some(SimpleScalar { kind, swapped, native_values: true }) = self.simple else { return None };
        let address = self.checked_address(instance)?;
        // SAFETY: checked_address checked that the scalar lies inside the instance.
        Some(unsafe { scalar::read_fast(instance.py(), kind, swapped, address) })
    }

    /// Stores an `int` or `float` into a numeric field, or `None` for any other case
    /// (other values, fields that keep objects alive, conversion errors: the general
    /// path redoes those and names the field in the error).
    #[inline(always)]
    fn write_number(&self, instance: &Borrowed<'_, '_, PyAny>, value: &Borrowed<'_, '_, PyAny>) -> Option<PyResult<()>> {
        let SimpleScalar { kind, swapped, .. } = self.simple?;
        let address = self.checked_address(instance)?;
        // SAFETY: checked_address checked that the scalar lies inside the instance.
        unsafe { scalar::write_native_number(value, kind, swapped, address) }.map(Ok)
    }
}

#[pymethods]
impl CField {
    /// Byte offset of the field (of a bit-field's storage unit).
    #[getter]
    fn offset(&self) -> usize {
        self.layout.offset
    }

    /// The field's size in bytes; for a bit-field, as ctypes encodes it:
    /// `width << 16 | bit offset`.
    #[getter]
    fn size(&self) -> usize {
        match self.layout.access {
            FieldAccess::Bits { shift, width, .. } => ((width as usize) << 16) | shift as usize,
            _ => self.layout.size,
        }
    }

    fn __get__(slf: &Bound<'_, Self>, instance: Option<&Bound<'_, PyAny>>, _owner: Option<&Bound<'_, PyAny>>) -> PyResult<Py<PyAny>> {
        match instance {
            None => Ok(slf.clone().into_any().unbind()),
            Some(instance) => read(&slf.get().layout, instance),
        }
    }

    fn __set__(&self, instance: &Bound<'_, PyAny>, value: &Bound<'_, PyAny>) -> PyResult<()> {
        write(&self.layout, instance, value).map_err(|err| self.naming_error(instance.py(), err))
    }

    fn __delete__(&self, _instance: &Bound<'_, PyAny>) -> PyResult<()> {
        Err(PyTypeError::new_err("can't delete attribute"))
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let name = self.layout.cls.bind(py).name()?;
        Ok(match self.layout.access {
            FieldAccess::Bits { shift, width, .. } => format!("<Field type={name}, ofs={}:{shift}, bits={width}>", self.layout.offset),
            _ => format!("<Field type={name}, ofs={}, size={}>", self.layout.offset, self.layout.size),
        })
    }
}

impl CField {
    /// Names the field in a conversion error, keeping the exception's type.
    fn naming_error(&self, py: Python<'_>, err: PyErr) -> PyErr {
        if !(err.is_instance_of::<PyTypeError>(py) || err.is_instance_of::<PyValueError>(py)) {
            return err;
        }
        let message = format!("{} (field '{}')", err.value(py), self.layout.name);
        let new = if err.is_instance_of::<PyTypeError>(py) { PyTypeError::new_err(message) } else { PyValueError::new_err(message) };
        new.set_cause(py, Some(err));
        new
    }
}

/// The descriptor for a field of the anonymous member `member` of a record, exposed
/// on the outer record: `field` moved to the member's offset.
#[pyfunction]
pub fn anonymous_field(py: Python<'_>, member: &Bound<'_, CField>, field: &Bound<'_, CField>) -> CField {
    let m = member.get();
    CField::new(field.get().layout.shifted(py, m.layout.offset, m.layout.index))
}
