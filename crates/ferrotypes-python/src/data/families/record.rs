//! Structures and unions: the field descriptors (`CField`), the layout of a record
//! class (`record_info`, called by the metaclasses when `_fields_` is set), and
//! `_RecordData`, the Rust side of `Structure` and `Union`.
//!
//! The layout itself is the core crate's (`ferrotypes_core::layout`, GCC's rules);
//! this module turns its placements into descriptors that read and store each field
//! in place, and describes the record to libffi for calls by value.

// Panic audit (issue 17). Offsets and sizes here are a laid-out record's (checked
// into isize by the layout engine), bit widths were checked against their storage
// unit (at most 16 bytes), and slices are cut at positions found inside them.
// Hence `clippy::indexing_slicing` and `arithmetic_side_effects` stay off here.
#![warn(clippy::unwrap_used, clippy::expect_used)]

use ferrotypes_core::ctype::{CType, ScalarKind};
use ferrotypes_core::layout::{layout_record, FieldSpec, LayoutError, LayoutOptions, RecordKind};
use pyo3::exceptions::{PyAttributeError, PyTypeError, PyValueError};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::Borrowed;
use pyo3::types::{PyBytes, PyDict, PyList, PyString, PyTuple, PyType};
use pyo3::PyClassInitializer;

use crate::data::access;
use crate::data::cdata::CData;
use crate::data::construct::Construct;
use crate::support::gil_cell::GilCell;
use crate::support::scalar;
use crate::data::slots::{self, GeneralSlots};
use crate::types::typeinfo::{info_of, InfoKind, RecordTraits, TypeInfo};

/// The `_type_` codes of the integer types a bit-field may have.
const BIT_FIELD_CODES: &str = "bBhHiIlLqQ?";

/// How a field's bytes become a Python value and back.
#[derive(Clone, Copy)]
enum FieldAccess {
    /// Any field without a special rule: see [`access`].
    Value,
    /// A bit-field: `width` bits at `shift` in an unsigned unit of the field's size,
    /// read in the record's byte order, holding a value of `scalar`.
    Bits { scalar: ScalarKind, swapped: bool, shift: u32, width: u32 },
    /// A `c_char` array: read as bytes up to the first NUL, stored from bytes.
    Chars,
    /// A `c_wchar` array: read as str up to the first NUL, stored from str.
    WideChars,
}

/// A field holding one scalar of a simple type, as the fast paths read and store it.
#[derive(Clone, Copy)]
struct PlainScalar {
    kind: ScalarKind,
    swapped: bool,
    /// A built-in simple type (read as a plain value), not a subclass.
    direct: bool,
}

impl PlainScalar {
    /// The scalar of a field with this access and info, if it is plain.
    fn of(access: FieldAccess, info: &TypeInfo) -> Option<PlainScalar> {
        match (access, &info.kind) {
            (FieldAccess::Value, &InfoKind::Simple { scalar, swapped, direct }) => Some(PlainScalar { kind: scalar, swapped, direct }),
            _ => None,
        }
    }
}

/// A field of a structure or union: a descriptor on the record class.
#[pyclass(frozen, immutable_type, module = "ferrotypes._ctypes", name = "CField")]
pub struct CField {
    name: String,
    cls: Py<PyType>,
    info: Py<TypeInfo>,
    /// Byte offset of the field (of a bit-field's storage unit) in the record.
    offset: usize,
    /// Bytes of the field (of a bit-field's storage unit).
    size: usize,
    /// Position among the record's fields: names what the field keeps alive.
    index: usize,
    access: FieldAccess,
    /// For the fast paths: the scalar of a field of a simple type without a special
    /// rule (what `info` says, read once).
    plain: Option<PlainScalar>,
    /// The last class seen to hold this field in every instance, as its address and
    /// version tag (see [`CField::plain_address`]); `(0, 0)` when none yet.
    known_class: GilCell<(usize, u32)>,
}

impl CField {
    /// The address of this field inside `instance`, after checking that the instance
    /// is C data large enough to hold it (a descriptor can be called on anything).
    fn address_in<'py>(&self, instance: &Bound<'py, PyAny>) -> PyResult<(Bound<'py, CData>, *mut u8)> {
        let py = instance.py();
        let cdata = instance.cast::<CData>().map_err(|_| PyTypeError::new_err(format!("not a ctype instance: {}", scalar::type_name(instance))))?;
        let data = cdata.get();
        if self.offset + self.size > data.size(py) {
            return Err(PyTypeError::new_err(format!(
                "field '{}' ({} bytes at offset {}) does not fit in a {} instance of {} bytes",
                self.name, self.size, self.offset, scalar::type_name(instance), data.size(py)
            )));
        }
        // SAFETY: offset + size is within the instance's memory (checked above).
        Ok((cdata.clone(), unsafe { data.address(py).add(self.offset) }))
    }

    /// Reads the field of `instance`.
    pub fn read(&self, instance: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let py = instance.py();
        let (_, address) = self.address_in(instance)?;
        match self.access {
            // SAFETY: address_in checked that the field lies inside the instance.
            FieldAccess::Value => unsafe { access::read_value(instance, self.cls.bind(py), self.info.get(), address, self.index) },
            FieldAccess::Bits { scalar, swapped, shift, width } => {
                // SAFETY: as above; the unit is the field's `size` bytes.
                let unit = unsafe { read_unit(address, self.size, swapped) };
                let mut bits = (unit >> shift) & mask(width);
                if scalar.number_class() == ferrotypes_core::ctype::NumberClass::Signed && width > 0 && bits >> (width - 1) & 1 == 1 {
                    bits |= !mask(width); // sign-extend
                }
                let mut raw = [0u8; 16];
                raw[..scalar.size()].copy_from_slice(&bits.to_le_bytes()[..scalar.size()]);
                scalar::from_bytes(py, scalar, &raw)
            }
            FieldAccess::Chars => {
                // SAFETY: as above.
                let bytes = unsafe { std::slice::from_raw_parts(address, self.size) };
                let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
                Ok(scalar::new_bytes(py, &bytes[..end])?.into_any().unbind())
            }
            FieldAccess::WideChars => {
                let chars = self.size / std::mem::size_of::<libc::wchar_t>();
                // SAFETY: as above; the field holds `chars` wide characters.
                let len = (0..chars).position(|i| unsafe { address.cast::<libc::wchar_t>().add(i).read_unaligned() } == 0).unwrap_or(chars);
                // SAFETY: `len` wide characters are readable at address.
                unsafe { scalar::wide_string_at(py, address.cast(), Some(len)) }
            }
        }
    }

    /// Stores `value` into the field of `instance`.
    pub fn write(&self, instance: &Bound<'_, PyAny>, value: &Bound<'_, PyAny>) -> PyResult<()> {
        let py = instance.py();
        let (owner, address) = self.address_in(instance)?;
        match self.access {
            // SAFETY: address_in checked that the field lies inside the instance.
            FieldAccess::Value => unsafe { access::write_value(&owner, self.cls.bind(py), self.info.get(), address, self.index, value) },
            FieldAccess::Bits { scalar, swapped, shift, width } => {
                let mut raw = [0u8; 16];
                scalar::to_bytes(value, scalar, &mut raw)?;
                let mut word = [0u8; 16];
                word[..scalar.size()].copy_from_slice(&raw[..scalar.size()]);
                let bits = u128::from_le_bytes(word) & mask(width);
                // SAFETY: as above; the unit is the field's `size` bytes.
                unsafe {
                    let unit = read_unit(address, self.size, swapped);
                    let updated = (unit & !(mask(width) << shift)) | (bits << shift);
                    write_unit(address, self.size, swapped, updated);
                }
                Ok(())
            }
            FieldAccess::Chars => {
                let bytes = value.cast::<PyBytes>().map_err(|_| PyTypeError::new_err(format!("expected bytes, {} found", scalar::type_name(value))))?;
                let bytes = bytes.as_bytes();
                if bytes.len() > self.size {
                    return Err(PyValueError::new_err(format!("bytes too long ({}, maximum length {})", bytes.len(), self.size)));
                }
                // Like a C string copy, as ctypes does: up to the first NUL.
                let bytes = &bytes[..bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len())];
                if bytes.len() > self.size {
                    return Err(PyValueError::new_err(format!("bytes too long ({}, maximum length {})", bytes.len(), self.size)));
                }
                // SAFETY: as above; at most `size` bytes are written, plus a NUL when
                // there is room for one.
                unsafe {
                    std::ptr::copy_nonoverlapping(bytes.as_ptr(), address, bytes.len());
                    if bytes.len() < self.size {
                        address.add(bytes.len()).write(0);
                    }
                }
                Ok(())
            }
            FieldAccess::WideChars => {
                let text = value.cast::<PyString>().map_err(|_| PyTypeError::new_err(format!("unicode string expected instead of {} instance", scalar::type_name(value))))?;
                let wide = scalar::wide_buffer(text)?;
                let units = wide.as_bytes().len() / std::mem::size_of::<libc::wchar_t>() - 1; // without the NUL
                let chars = self.size / std::mem::size_of::<libc::wchar_t>();
                if units > chars {
                    return Err(PyValueError::new_err(format!("string too long ({units}, maximum length {chars})")));
                }
                let n = (units + 1).min(chars) * std::mem::size_of::<libc::wchar_t>();
                // SAFETY: as above; n <= size.
                unsafe { std::ptr::copy_nonoverlapping(wide.as_bytes().as_ptr(), address, n) };
                Ok(())
            }
        }
    }

    /// This field moved by `offset` bytes, for the fields of an anonymous member that
    /// the outer record exposes as its own.
    fn shifted(&self, py: Python<'_>, offset: usize, index: usize) -> CField {
        CField {
            name: self.name.clone(),
            cls: self.cls.clone_ref(py),
            info: self.info.clone_ref(py),
            offset: self.offset + offset,
            size: self.size,
            index,
            access: self.access,
            plain: self.plain,
            known_class: GilCell::new((0, 0)),
        }
    }

    /// The field's scalars, at their offsets within the record.
    fn push_leaves(&self, py: Python<'_>, out: &mut Vec<ScalarAt>) {
        match self.access {
            FieldAccess::Bits { .. } => out.push(ScalarAt { offset: self.offset, kind: unsigned_of_size(self.size), swapped: false, bit_field: true }),
            _ => push_leaves(self.info.get(), py, self.offset, out),
        }
    }
}

/// One scalar inside a value: where, of which kind, in which byte order, and whether
/// it is a bit-field's storage unit (whose bits no scalar kind describes).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct ScalarAt {
    pub offset: usize,
    pub kind: ScalarKind,
    /// Stored in the other byte order (`BigEndianStructure` fields on this target).
    pub swapped: bool,
    pub bit_field: bool,
}

/// The unsigned integer kind of a bit-field storage unit's size (odd sizes, possible
/// only in packed records, as bytes: they are integer class either way).
fn unsigned_of_size(size: usize) -> ScalarKind {
    match size {
        8 => ScalarKind::ULongLong,
        4 => ScalarKind::UInt,
        2 => ScalarKind::UShort,
        _ => ScalarKind::UByte,
    }
}

/// Appends every scalar inside a value of type `info` placed at `offset`, in field
/// order (not sorted: the members of a union overlap). One per array element: callers
/// bound the size of what they ask about (the scalars of a long array are never
/// needed: see `CType::record_for_call`).
pub fn push_leaves(info: &TypeInfo, py: Python<'_>, offset: usize, out: &mut Vec<ScalarAt>) {
    match &info.kind {
        InfoKind::Simple { scalar, swapped, .. } => out.push(ScalarAt { offset, kind: *scalar, swapped: *swapped, bit_field: false }),
        InfoKind::Pointer { .. } | InfoKind::Function => out.push(ScalarAt { offset, kind: ScalarKind::VoidPtr, swapped: false, bit_field: false }),
        InfoKind::Array { element_info, length, .. } => {
            let e = element_info.get();
            if e.size == 0 {
                return; // no scalars, however many elements
            }
            for i in 0..*length {
                push_leaves(e, py, offset + i * e.size, out);
            }
        }
        InfoKind::Record { fields, .. } => {
            for f in fields {
                let start = out.len();
                f.get().push_leaves(py, out);
                out[start..].iter_mut().for_each(|leaf| leaf.offset += offset);
            }
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
/// plain simple value is read here; anything else goes to PyO3's `__get__`.
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
        field.get().read_plain(&instance)
    });
    // SAFETY: PyO3's own slot, called with the arguments CPython gave us.
    slots::or_general(py, fast, slots::NULL, |general| unsafe { (general.field_get)(field, instance, owner) })
}

/// The `tp_descr_set` slot of `CField`: a plain number stored into a numeric field is
/// written here; anything else (deletion included) goes to PyO3's `__set__`.
pub unsafe extern "C" fn field_set_slot(field: *mut ffi::PyObject, instance: *mut ffi::PyObject, value: *mut ffi::PyObject) -> std::ffi::c_int {
    // SAFETY: CPython calls descriptor slots with the GIL held.
    let py = unsafe { Python::assume_attached() };
    let fast = slots::fast_path(py, -1, || {
        if value.is_null() {
            return None;
        }
        // SAFETY: as in field_get_slot; `value` is a live object lent for the call.
        let (field, instance, value) = unsafe {
            (Borrowed::from_ptr(py, field).cast_unchecked::<CField>(), Borrowed::from_ptr(py, instance), Borrowed::from_ptr(py, value))
        };
        field.get().write_number(&instance, &value).map(|r| r.map(|()| 0))
    });
    // SAFETY: PyO3's own slot, called with the arguments CPython gave us.
    slots::or_general(py, fast, -1, |general| unsafe { (general.field_set)(field, instance, value) })
}

impl Construct for RecordData {
    fn general_init(slots: &GeneralSlots) -> ffi::initproc {
        slots.record_init
    }

    /// `Point()`, and plain numbers given for numeric fields (`Point(1, 2, 3.0)`).
    fn init(obj: &Borrowed<'_, '_, Self>, args: &[*mut ffi::PyObject]) -> Option<PyResult<()>> {
        if args.is_empty() {
            return Some(Ok(()));
        }
        let info = obj.as_super().get().info().get();
        let InfoKind::Record { fields, .. } = &info.kind else { return None };
        if args.len() > fields.len() {
            return None;
        }
        let instance = obj.as_any().as_borrowed();
        for (field, &value) in fields.iter().zip(args) {
            // SAFETY: a constructor argument, lent for the call.
            let value = unsafe { Borrowed::from_ptr(obj.py(), value) };
            match field.get().write_number(&instance, &value) {
                Some(Ok(())) => {}
                _ => return None,
            }
        }
        Some(Ok(()))
    }
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
    fn plain_address(&self, instance: &Borrowed<'_, '_, PyAny>) -> Option<*mut u8> {
        let py = instance.py();
        let class = instance.get_type_ptr();
        // SAFETY: the type of a live object is a live type object.
        let tag = unsafe { (*class).tp_version_tag };
        let end = self.offset + self.size;
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
        Some(unsafe { data.get().address(py).add(self.offset) })
    }

    /// Reads a field of a built-in simple type (returned as a plain Python value), or
    /// `None` for any other field.
    #[inline(always)]
    fn read_plain(&self, instance: &Borrowed<'_, '_, PyAny>) -> Option<PyResult<*mut ffi::PyObject>> {
        let Some(PlainScalar { kind, swapped, direct: true }) = self.plain else { return None };
        let address = self.plain_address(instance)?;
        // SAFETY: plain_address checked that the scalar lies inside the instance.
        Some(unsafe { scalar::read_fast(instance.py(), kind, swapped, address) })
    }

    /// Stores an `int` or `float` into a numeric field, or `None` for any other case
    /// (other values, fields that keep objects alive, conversion errors: the general
    /// path redoes those and names the field in the error).
    #[inline(always)]
    fn write_number(&self, instance: &Borrowed<'_, '_, PyAny>, value: &Borrowed<'_, '_, PyAny>) -> Option<PyResult<()>> {
        let PlainScalar { kind, swapped, .. } = self.plain?;
        let address = self.plain_address(instance)?;
        // SAFETY: plain_address checked that the scalar lies inside the instance.
        unsafe { scalar::write_plain_number(value, kind, swapped, address) }.map(Ok)
    }
}

#[pymethods]
impl CField {
    /// Byte offset of the field (of a bit-field's storage unit).
    #[getter]
    fn offset(&self) -> usize {
        self.offset
    }

    /// The field's size in bytes; for a bit-field, as ctypes encodes it:
    /// `width << 16 | bit offset`.
    #[getter]
    fn size(&self) -> usize {
        match self.access {
            FieldAccess::Bits { shift, width, .. } => ((width as usize) << 16) | shift as usize,
            _ => self.size,
        }
    }

    fn __get__(slf: &Bound<'_, Self>, instance: Option<&Bound<'_, PyAny>>, _owner: Option<&Bound<'_, PyAny>>) -> PyResult<Py<PyAny>> {
        match instance {
            None => Ok(slf.clone().into_any().unbind()),
            Some(instance) => slf.get().read(instance),
        }
    }

    fn __set__(&self, instance: &Bound<'_, PyAny>, value: &Bound<'_, PyAny>) -> PyResult<()> {
        self.write(instance, value).map_err(|err| self.naming_error(instance.py(), err))
    }

    fn __delete__(&self, _instance: &Bound<'_, PyAny>) -> PyResult<()> {
        Err(PyTypeError::new_err("can't delete attribute"))
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let name = self.cls.bind(py).name()?;
        Ok(match self.access {
            FieldAccess::Bits { shift, width, .. } => format!("<Field type={name}, ofs={}:{shift}, bits={width}>", self.offset),
            _ => format!("<Field type={name}, ofs={}, size={}>", self.offset, self.size),
        })
    }
}

impl CField {
    /// Names the field in a conversion error, keeping the exception's type.
    fn naming_error(&self, py: Python<'_>, err: PyErr) -> PyErr {
        if !(err.is_instance_of::<PyTypeError>(py) || err.is_instance_of::<PyValueError>(py)) {
            return err;
        }
        let message = format!("{} (field '{}')", err.value(py), self.name);
        let new = if err.is_instance_of::<PyTypeError>(py) { PyTypeError::new_err(message) } else { PyValueError::new_err(message) };
        new.set_cause(py, Some(err));
        new
    }
}

/// Lays out a record class: `fields` are `(name, class, bits or None)` in order, after
/// those of `base` (a record class this one derives from). Returns the class's info
/// and one descriptor per field, its own fields only.
#[pyfunction]
#[pyo3(signature = (union, fields, pack, base, big_endian, complete = true, align = 0))]
#[allow(clippy::too_many_arguments)]
pub fn record_info<'py>(py: Python<'py>, union: bool, fields: &Bound<'py, PyList>, pack: Option<usize>, base: Option<Bound<'py, PyType>>, big_endian: bool, complete: bool, align: usize) -> PyResult<(TypeInfo, Bound<'py, PyList>)> {
    let mut all_fields: Vec<Py<CField>> = Vec::new();
    let mut specs = Vec::new();
    if let Some(base) = &base {
        let info = info_of(base.as_any())?;
        let info = info.get();
        if let InfoKind::Record { fields, .. } = &info.kind {
            all_fields.extend(fields.iter().map(|f| f.clone_ref(py)));
        }
        specs.push(FieldSpec::plain(info.size, info.align));
    }
    let skip = specs.len();
    let mut declared = Vec::new();
    for (i, entry) in fields.iter().enumerate() {
        let (name, cls, bits): (Bound<'py, PyString>, Bound<'py, PyType>, Option<u32>) = entry.extract()?;
        // ctypes encodes a structure's field names into its buffer format (a lone
        // surrogate is UnicodeEncodeError there) but not a union's; this name is for
        // messages (the class attribute is set under the name itself, by the metaclass).
        let name = if union { name.to_string_lossy().into_owned() } else { name.to_str()?.to_owned() };
        let info = info_of(cls.as_any()).map_err(|_| PyTypeError::new_err(format!("second item in _fields_ tuple (index {i}) must be a C type")))?;
        let spec = {
            let t = info.get();
            match bits {
                None => FieldSpec::plain(t.size, t.align),
                Some(width) => {
                    let Some((kind, _)) = t.scalar().filter(|(k, _)| BIT_FIELD_CODES.contains(k.code())) else {
                        return Err(PyTypeError::new_err(format!("bit fields not allowed for type {}", cls.name()?)));
                    };
                    if width == 0 || width as usize > 8 * t.size {
                        return Err(PyValueError::new_err("number of bits invalid for bit field"));
                    }
                    FieldSpec::bits(t.size, t.align, width, kind.number_class() == ferrotypes_core::ctype::NumberClass::Signed)
                }
            }
        };
        specs.push(spec);
        declared.push((name, cls, info, bits));
    }
    let kind = if union { RecordKind::Union } else { RecordKind::Struct };
    let options = LayoutOptions { pack, big_endian_bits: big_endian };
    let mut layout = layout_record(kind, &specs, &options).map_err(|e| match e {
        // ctypes' word for the same condition in `cls * n`.
        LayoutError::TooLarge => pyo3::exceptions::PyOverflowError::new_err(e.to_string()),
        _ => PyValueError::new_err(e.to_string()),
    })?;
    // `_align_` (ctypes 3.13) raises the record's alignment, as GCC's `aligned(N)` on a
    // type does, and its size with it to a multiple of the new alignment.
    if align > layout.align {
        layout.size = layout
            .size
            .div_ceil(align)
            .checked_mul(align)
            .filter(|&n| isize::try_from(n).is_ok())
            .ok_or_else(|| PyValueError::new_err("_align_ makes the structure too large"))?;
        layout.align = align;
    }
    let own = PyList::empty(py);
    for ((name, cls, info, bits), place) in declared.into_iter().zip(&layout.fields[skip..]) {
        let access = match (bits, info.get().scalar()) {
            (Some(width), Some((scalar, swapped))) => FieldAccess::Bits { scalar, swapped, shift: place.bit_offset, width },
            _ => match &info.get().kind {
                InfoKind::Array { element_info, .. } => match element_info.get().scalar() {
                    Some((ScalarKind::Char, _)) => FieldAccess::Chars,
                    Some((ScalarKind::WChar, _)) => FieldAccess::WideChars,
                    _ => FieldAccess::Value,
                },
                _ => FieldAccess::Value,
            },
        };
        let plain = PlainScalar::of(access, info.get());
        let field = Py::new(py, CField { name, cls: cls.unbind(), info: info.unbind(), offset: place.offset, size: place.size, index: all_fields.len(), access, plain, known_class: GilCell::new((0, 0)) })?;
        own.append(&field)?;
        all_fields.push(field);
    }
    let leaves = || {
        let mut scalars = Vec::new();
        for f in &all_fields {
            f.get().push_leaves(py, &mut scalars);
        }
        let mut leaves: Vec<(usize, ScalarKind)> = scalars.iter().map(|s| (s.offset, s.kind)).collect();
        leaves.sort_by_key(|&(o, _)| o);
        leaves.dedup();
        leaves
    };
    let (ctype, by_value_error) = match CType::record_for_call(layout.size, layout.align, leaves) {
        Ok(t) => (t, None),
        Err(e) => (CType::Record { members: [].into(), size: layout.size, align: layout.align }, Some(e)),
    };
    // ctypes 3.11 describes packed structs as bytes; 3.12 describes them with padding.
    let bytes_only = union || !complete || (pack.is_some() && !crate::support::python::python_at_least(py, (3, 12)));
    let traits = record_traits(py, &all_fields, layout.size, bytes_only)?;
    let info = TypeInfo::new(layout.size, layout.align, InfoKind::Record { fields: all_fields, union, by_value_error, layout: traits }, ctype);
    Ok((info, own))
}

/// The buffer format and pointer content of a record of `size` bytes with these
/// fields, as the running version's ctypes gives it: a struct is
/// `T{<format>:<name>:...}`, from 3.12 on with padding entries (`3x`) between and
/// after the fields; a union or an incomplete record (no `_fields_` yet) is plain
/// bytes (`B`), as is, before 3.12, a packed struct (`bytes_only`).
fn record_traits(py: Python<'_>, fields: &[Py<CField>], size: usize, bytes_only: bool) -> PyResult<RecordTraits> {
    let with_padding = crate::support::python::python_at_least(py, (3, 12));
    let mut format = String::from("T{");
    let mut has_pointers = false;
    // Where the fields so far end (bit-fields sharing a unit end at the unit's end).
    let mut end = 0;
    let pad = |format: &mut String, bytes: usize| match bytes {
        0 => {}
        1 => format.push('x'),
        n => format.push_str(&format!("{n}x")),
    };
    for f in fields {
        let f = f.get();
        let info = f.info.get();
        has_pointers |= info.contains_pointers();
        if with_padding {
            pad(&mut format, f.offset.saturating_sub(end));
            end = end.max(f.offset.saturating_add(f.size));
        }
        format.push_str(&info.buffer_layout(py)?.format_with_shape());
        format.push(':');
        format.push_str(&f.name);
        format.push(':');
    }
    if with_padding {
        pad(&mut format, size.saturating_sub(end));
    }
    format.push('}');
    if bytes_only {
        format = "B".to_owned();
    }
    Ok(RecordTraits { format, has_pointers })
}

/// The descriptor for a field of the anonymous member `member` of a record, exposed
/// on the outer record: `field` moved to the member's offset.
#[pyfunction]
pub fn anonymous_field(py: Python<'_>, member: &Bound<'_, CField>, field: &Bound<'_, CField>) -> CField {
    let m = member.get();
    field.get().shifted(py, m.offset, m.index)
}

/// The Rust side of `Structure` and `Union`.
#[pyclass(extends = CData, subclass, frozen, module = "ferrotypes._ctypes", name = "_CData")]
pub struct RecordData {}

#[pymethods]
impl RecordData {
    /// Made by `instances::new_slot` once the module is initialised (this is the
    /// `tp_new` PyO3 generates; without a `#[new]` PyO3 forbids instances).
    #[new]
    #[classmethod]
    #[pyo3(signature = (*_args, **_kwargs))]
    fn py_new(cls: &Bound<'_, PyType>, _args: &Bound<'_, PyTuple>, _kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<PyClassInitializer<Self>> {
        crate::data::instances::owned_initializer(cls)
    }

    /// Positional values fill the fields in order (a base structure's first);
    /// keyword values are set by name.
    #[pyo3(signature = (*args, **kwargs))]
    fn __init__(slf: &Bound<'_, Self>, args: &Bound<'_, PyTuple>, kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<()> {
        let py = slf.py();
        if !args.is_empty() {
            let info = slf.as_super().get().info().bind(py).clone();
            let InfoKind::Record { fields, .. } = &info.get().kind else {
                return Err(PyTypeError::new_err("abstract class"));
            };
            for (field, value) in fields.iter().zip(args.iter()) {
                let field = field.get();
                if let Some(kwargs) = kwargs {
                    if kwargs.contains(&field.name)? {
                        return Err(PyTypeError::new_err(format!("duplicate values for field '{}'", field.name)));
                    }
                }
                field.write(slf.as_any(), &value)?;
            }
            if args.len() > fields.len() {
                return Err(PyTypeError::new_err("too many initializers"));
            }
        }
        if let Some(kwargs) = kwargs {
            for (name, value) in kwargs.iter() {
                slf.as_any().setattr(name.cast_into::<PyString>().map_err(|_| PyAttributeError::new_err("field names must be strings"))?, value)?;
            }
        }
        Ok(())
    }
}
