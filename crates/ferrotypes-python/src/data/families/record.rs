//! Structures and unions: the layout of a record class (`record_info`, called by the
//! metaclasses when `_fields_` is set), and `_RecordData`, the Rust side of
//! `Structure` and `Union`. The fields' descriptors are `field`'s.
//!
//! The layout itself is the core crate's (`ferrotypes_core::layout`, GCC's rules);
//! this module turns its placements into field layouts and descriptors, and
//! describes the record to libffi for calls by value.

// Panic audit (issue 17). Offsets and sizes here are a laid-out record's (checked
// into isize by the layout engine), bit widths were checked against their storage
// unit (at most 16 bytes), and slices are cut at positions found inside them.

use ferrotypes_core::ctype::{CType, ScalarKind};
use ferrotypes_core::layout::{layout_record, FieldSpec, LayoutError, LayoutOptions, RecordKind};
use pyo3::exceptions::{PyAttributeError, PyTypeError, PyValueError};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::Borrowed;
use pyo3::types::{PyDict, PyList, PyString, PyTuple, PyType};
use pyo3::PyClassInitializer;

use crate::data::cdata::CData;
use crate::data::construct::Construct;
use crate::data::families::field::{self, CField};
use crate::data::instances::Family;
use crate::data::registry;
use crate::support::scalar;
use crate::types::typeinfo::{info_of, info_of_class, FamilyKind, FieldAccess, FieldLayout, InfoKind, RecordTraits, TypeInfo};

/// The `_type_` codes of the integer types a bit-field may have.
const BIT_FIELD_CODES: &str = "bBhHiIlLqQ?";

/// The layout of a bit-field of `width` bits declared with class `cls` (info
/// `info`), or the error ctypes raises for it: the one bit-field rule, which the
/// metaclass applies too as each `_fields_` entry is read ([`_check_bit_field`]).
/// Whether the bits fit the type is the core layout engine's rule, asked of the field
/// alone.
fn bit_field_spec(cls: &Bound<'_, PyType>, info: &TypeInfo, width: i64) -> PyResult<FieldSpec> {
    let Some((kind, _)) = info.scalar().filter(|(k, _)| BIT_FIELD_CODES.contains(k.code())) else {
        return Err(PyTypeError::new_err(format!("bit fields not allowed for type {}", cls.name()?)));
    };
    let invalid = || PyValueError::new_err("number of bits invalid for bit field");
    let width = u32::try_from(width).ok().filter(|&w| w > 0).ok_or_else(invalid)?;
    let spec = FieldSpec::bits(info.size, info.align, width, kind.number_class() == ferrotypes_core::ctype::NumberClass::Signed);
    match layout_record(RecordKind::Struct, &[spec], &LayoutOptions::default()) {
        Err(LayoutError::BitFieldTooWide { .. }) => Err(invalid()),
        _ => Ok(spec),
    }
}

/// `TypeError` or `ValueError` unless class `cls` may hold a bit-field of `width`
/// bits (see [`bit_field_spec`]).
#[pyfunction]
pub fn _check_bit_field(cls: &Bound<'_, PyType>, width: i64) -> PyResult<()> {
    bit_field_spec(cls, info_of(cls.as_any())?.get(), width).map(drop)
}

impl Family for RecordData {
    const KIND: FamilyKind = FamilyKind::Record;

    fn part(_cls: &Bound<'_, PyType>, info: &TypeInfo) -> PyResult<Option<Self>> {
        Ok((info.kind.family() == FamilyKind::Record).then_some(RecordData {}))
    }
}

/// Registers the record family (at module initialisation), and the fast paths of
/// its fields' descriptors.
pub fn register(py: Python<'_>) -> PyResult<()> {
    field::register(py)?;
    registry::register_data_family::<RecordData>(py, None)
}

impl Construct for RecordData {
    /// `Point()`, and native numbers given for numeric fields (`Point(1, 2, 3.0)`).
    fn init(obj: &Borrowed<'_, '_, Self>, args: &[*mut ffi::PyObject]) -> Option<PyResult<()>> {
        if args.is_empty() {
            return Some(Ok(()));
        }
        let info = obj.as_super().get().info().get();
        let InfoKind::Record { fields, .. } = &info.kind else { return None };
        if args.len() > fields.len() {
            return None;
        }
        let data = obj.as_super().get();
        let address = data.plain_address(obj.py())?;
        for (field, &value) in fields.iter().zip(args) {
            // SAFETY: a constructor argument, lent for the call.
            let value = unsafe { Borrowed::from_ptr(obj.py(), value) };
            let simple = field.simple_scalar()?;
            // SAFETY: the instance is of this record class, whose memory holds every
            // field the class laid out (an instance is never smaller than its class).
            match unsafe { scalar::write_native_number(&value, simple.kind, simple.swapped, address.add(field.offset)) } {
                Some(()) => {}
                None => return None,
            }
        }
        Some(Ok(()))
    }
}

/// Lays out a record class: `fields` are `(name, class, bits or None)` in order, after
/// those of `base` (a record class this one derives from). Returns the class's info
/// and one descriptor per field, its own fields only.
#[pyfunction]
#[pyo3(signature = (union, fields, pack, base, big_endian, complete = true, align = 0))]
#[allow(clippy::too_many_arguments)]
pub fn record_info<'py>(py: Python<'py>, union: bool, fields: &Bound<'py, PyList>, pack: Option<usize>, base: Option<Bound<'py, PyType>>, big_endian: bool, complete: bool, align: usize) -> PyResult<(TypeInfo, Bound<'py, PyList>)> {
    let mut all_fields: Vec<FieldLayout> = Vec::new();
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
        let spec = match bits {
            None => FieldSpec::plain(info.get().size, info.get().align),
            Some(width) => bit_field_spec(&cls, info.get(), i64::from(width))?,
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
    for ((name, cls, info, bits), place) in declared.into_iter().zip(layout.fields.iter().skip(skip)) {
        let access = match (bits, info.get().scalar()) {
            (Some(width), Some((scalar, swapped))) => FieldAccess::Bits { scalar, swapped, shift: place.bit_offset, width },
            _ if info_of_class(&cls).is_none() => FieldAccess::Member,
            _ => match &info.get().kind {
                InfoKind::Array { element_info, .. } => match element_info.get().scalar() {
                    Some((ScalarKind::Char, _)) => FieldAccess::Chars,
                    Some((ScalarKind::WChar, _)) => FieldAccess::WideChars,
                    _ => FieldAccess::Value,
                },
                _ => FieldAccess::Value,
            },
        };
        let layout = FieldLayout { name, cls: cls.unbind(), info: info.unbind(), offset: place.offset, size: place.size, index: all_fields.len(), access };
        own.append(Py::new(py, CField::new(layout.clone_ref(py)))?)?;
        all_fields.push(layout);
    }
    let leaves = || {
        let mut scalars = Vec::new();
        for f in &all_fields {
            f.push_leaves(py, &mut scalars);
        }
        scalars.sort_by_key(|s| s.offset);
        scalars.dedup_by_key(|s| (s.offset, s.kind));
        scalars
    };
    let (ctype, by_value_error) = match CType::record_for_call(layout.size, layout.align, leaves) {
        Ok(t) => (t, None),
        Err(e) => (CType::Record { members: [].into(), size: layout.size, align: layout.align }, Some(e)),
    };
    // ctypes 3.11 describes packed structs as bytes; 3.12 describes them with padding.
    let bytes_only = union || !complete || (pack.is_some() && !crate::support::python::python_at_least(py, (3, 12)));
    let traits = record_traits(py, &all_fields, layout.size, bytes_only)?;
    let info = TypeInfo::new(layout.size, layout.align, InfoKind::Record { fields: all_fields, union, by_value_error, layout: traits }, ctype);
    let reported_align = if complete { info.align } else { 0 };
    Ok((info.reporting_align(reported_align), own))
}

/// The buffer format and pointer content of a record of `size` bytes with these
/// fields, as the running version's ctypes gives it: a struct is
/// `T{<format>:<name>:...}`, from 3.12 on with padding entries (`3x`) between and
/// after the fields; a union or an incomplete record (no `_fields_` yet) is plain
/// bytes (`B`), as is, before 3.12, a packed struct (`bytes_only`).
fn record_traits(py: Python<'_>, fields: &[FieldLayout], size: usize, bytes_only: bool) -> PyResult<RecordTraits> {
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
                if let Some(kwargs) = kwargs {
                    if kwargs.contains(&field.name)? {
                        return Err(PyTypeError::new_err(format!("duplicate values for field '{}'", field.name)));
                    }
                }
                field::write(field, slf.as_any(), &value)?;
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
