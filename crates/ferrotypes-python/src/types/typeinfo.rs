//! `TypeInfo`: what ferrotypes knows about one ctypes-like class — its size,
//! alignment, kind and how it crosses a call — stored on the class as `_typeinfo_`
//! (what ctypes calls the class's StgInfo).
//!
//! The metaclasses (Python, `ferrotypes._metatypes`) build one when a class is
//! created; instances copy a reference at construction so hot paths never look it up.
//! It does not hold Python-level class attributes (`_fields_`, `_type_`): those stay on
//! the class itself.

use ferrotypes_core::ctype::{CType, ScalarAt, ScalarKind};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::pyclass::{PyTraverseError, PyVisit};
use pyo3::types::PyType;
use pyo3::Borrowed;

use std::ffi::CString;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

use crate::support::gil_cell::GilCell;
use crate::support::python::class_attribute;

/// What family a ctypes-like class belongs to.
pub enum InfoKind {
    /// A simple type (`c_int`, `c_char_p`, ...); `swapped` for the other byte order;
    /// `native_values` for a direct subclass of `_SimpleCData` (`c_int`, ...), whose
    /// values ctypes hands out as native Python values (int, bytes, ...) where an
    /// instance would otherwise come out: a field, an element, a function's result
    /// (subclasses of those stay objects).
    Simple { scalar: ScalarKind, swapped: bool, native_values: bool },
    /// A pointer type; its target class may be set later (`SetPointerType`).
    /// `format` is its PEP 3118 format, fixed (as in ctypes) when the target is set:
    /// a pointer to a structure completed later keeps the incomplete one's `&B`.
    /// `native_target` is the target's scalar and byte order when the target is a
    /// simple type with native values (see `Simple`), which `p[i]` reads as such.
    Pointer { target: GilCell<Option<Py<PyType>>>, format: GilCell<String>, native_target: GilCell<Option<(ScalarKind, bool)>> },
    /// A function pointer type; `shared` holds what its instances share once the
    /// first is made (the function layer's class recipe), visited by the collector.
    Function { shared: GilCell<Option<Py<PyAny>>> },
    /// An array of `length` elements of class `element` (whose info is `element_info`).
    Array { element: Py<PyType>, element_info: Py<TypeInfo>, length: usize },
    /// A structure or union: its fields in initialisation order (a base structure's
    /// first), as laid out; `by_value_error` says why it cannot be passed by value,
    /// when it cannot.
    Record { fields: Vec<FieldLayout>, union: bool, by_value_error: Option<String>, layout: RecordTraits },
}

/// The families of C data classes, one for each kind of info: what each family
/// registers itself under at start-up (see `data::instances`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum FamilyKind {
    Simple,
    Array,
    Pointer,
    Record,
    Function,
}

impl FamilyKind {
    /// How many families there are.
    pub const COUNT: usize = 5;
    /// Every family, in the order of their numbers (`kind as usize`).
    pub const ALL: [FamilyKind; FamilyKind::COUNT] = [FamilyKind::Simple, FamilyKind::Array, FamilyKind::Pointer, FamilyKind::Record, FamilyKind::Function];

    /// The family's name, for diagnostics.
    pub fn name(self) -> &'static str {
        match self {
            FamilyKind::Simple => "simple",
            FamilyKind::Array => "array",
            FamilyKind::Pointer => "pointer",
            FamilyKind::Record => "record",
            FamilyKind::Function => "function",
        }
    }

    /// This family's entry in a table with one entry per family (`table[kind as
    /// usize]`, which cannot be out of range).
    #[inline(always)]
    pub fn entry_in<T>(self, table: &[T; FamilyKind::COUNT]) -> &T {
        let [simple, array, pointer, record, function] = table;
        match self {
            FamilyKind::Simple => simple,
            FamilyKind::Array => array,
            FamilyKind::Pointer => pointer,
            FamilyKind::Record => record,
            FamilyKind::Function => function,
        }
    }
}

impl InfoKind {
    /// The family of classes with this kind of info.
    #[inline]
    pub fn family(&self) -> FamilyKind {
        match self {
            InfoKind::Simple { .. } => FamilyKind::Simple,
            InfoKind::Array { .. } => FamilyKind::Array,
            InfoKind::Pointer { .. } => FamilyKind::Pointer,
            InfoKind::Record { .. } => FamilyKind::Record,
            InfoKind::Function { .. } => FamilyKind::Function,
        }
    }
}

/// How a field's bytes become a Python value and back.
#[derive(Clone, Copy)]
pub enum FieldAccess {
    /// Any field without a special rule: read and stored as a value of its class.
    Value,
    /// A bit-field: `width` bits at `shift` in an unsigned unit of the field's size,
    /// read in the record's byte order, holding a value of `scalar`.
    Bits { scalar: ScalarKind, swapped: bool, shift: u32, width: u32 },
    /// A `c_char` array: read as bytes up to the first NUL, stored from bytes.
    Chars,
    /// A `c_wchar` array: read as str up to the first NUL, stored from str.
    WideChars,
    /// A field whose class stands for a simple type ([`stand_in`]): stored as a value
    /// of that type, read back as one of the class's members ([`member_or_value`]).
    Member,
}

/// One field of a structure or union, where its record class placed it: the plain
/// data the field descriptors (`CField`) and the record's own code work from.
pub struct FieldLayout {
    /// The field's name, for messages and the buffer format.
    pub name: String,
    /// The field's class and its info.
    pub cls: Py<PyType>,
    pub info: Py<TypeInfo>,
    /// Byte offset of the field (of a bit-field's storage unit) in the record.
    pub offset: usize,
    /// Bytes of the field (of a bit-field's storage unit).
    pub size: usize,
    /// Position among the record's fields: names what the field keeps alive.
    pub index: usize,
    pub access: FieldAccess,
}

impl FieldLayout {
    /// A copy of this field's layout.
    pub fn clone_ref(&self, py: Python<'_>) -> FieldLayout {
        self.shifted(py, 0, self.index)
    }

    /// A copy of this field moved by `offset` bytes to position `index`: a field of an
    /// anonymous member that the outer record exposes as its own.
    pub fn shifted(&self, py: Python<'_>, offset: usize, index: usize) -> FieldLayout {
        FieldLayout {
            name: self.name.clone(),
            cls: self.cls.clone_ref(py),
            info: self.info.clone_ref(py),
            offset: self.offset.saturating_add(offset),
            size: self.size,
            index,
            access: self.access,
        }
    }

    /// The scalar of a field holding one value of a simple type with no special rule,
    /// with its byte order and whether its values are read as native Python values:
    /// what the fast paths read and store.
    pub fn simple_scalar(&self) -> Option<SimpleScalar> {
        match (self.access, &self.info.get().kind) {
            (FieldAccess::Value, &InfoKind::Simple { scalar, swapped, native_values }) => Some(SimpleScalar { kind: scalar, swapped, native_values }),
            _ => None,
        }
    }

    /// The field's scalars, at their offsets within the record.
    pub fn push_leaves(&self, py: Python<'_>, out: &mut Vec<ScalarAt>) {
        match self.access {
            FieldAccess::Bits { .. } => out.push(ScalarAt { bit_field: true, ..ScalarAt::plain(self.offset, unsigned_of_size(self.size)) }),
            _ => push_leaves(self.info.get(), py, self.offset, out),
        }
    }
}

/// A field holding one scalar of a simple type (see [`FieldLayout::simple_scalar`]).
#[derive(Clone, Copy)]
pub struct SimpleScalar {
    pub kind: ScalarKind,
    pub swapped: bool,
    /// The field's values are read as native Python values (see `InfoKind::Simple`).
    pub native_values: bool,
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
// Offsets within a value of a type that exists, whose size was checked into isize
// when the type was made.
#[allow(clippy::arithmetic_side_effects)]
pub fn push_leaves(info: &TypeInfo, py: Python<'_>, offset: usize, out: &mut Vec<ScalarAt>) {
    match &info.kind {
        InfoKind::Simple { scalar, swapped, .. } => out.push(ScalarAt { swapped: *swapped, ..ScalarAt::plain(offset, *scalar) }),
        InfoKind::Pointer { .. } | InfoKind::Function { .. } => out.push(ScalarAt::plain(offset, ScalarKind::VoidPtr)),
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
                f.push_leaves(py, out);
                out.iter_mut().skip(start).for_each(|leaf| leaf.offset += offset);
            }
        }
    }
}

/// What a record's instances export and carry, computed once with its layout.
pub struct RecordTraits {
    /// The PEP 3118 format of an instance, as ctypes reports it.
    pub format: String,
    /// Whether any field holds a pointer (such records cannot be pickled).
    pub has_pointers: bool,
}

/// The layout and kind of one ctypes-like class.
#[pyclass(frozen, module = "ferrotypes._ctypes", name = "TypeInfo")]
pub struct TypeInfo {
    /// `sizeof`.
    pub size: usize,
    /// The alignment the memory of an instance and of a field of this type has.
    pub align: usize,
    /// What `alignment` answers: `align`, but 0 for a record whose `_fields_` are not
    /// set yet and for arrays of one, as ctypes answers for a type not laid out (in
    /// memory and as a field such a type is aligned to 1 in both).
    pub reported_align: usize,
    /// The family and its details.
    pub kind: InfoKind,
    /// How a value of this type crosses a call by value.
    pub ctype: CType,
    /// ctypes' `length` of the type, read from here by the hot paths (without matching
    /// `kind`): an array's element count, which `len()` of an instance is; a record's
    /// number of fields; 1 for a pointer or function pointer; 0 for a simple type. At
    /// most `isize::MAX` (an array's `_length_` is a `Py_ssize_t`, as in ctypes).
    pub length: usize,
    /// The scalar `.value` of an instance reads straight from memory as a Python number
    /// or `bytes` (see `scalar::read_native_number`): a simple type's, in native byte
    /// order; `None` for the other kinds and byte order. Read by the `.value` getter
    /// with one load, where matching `kind` takes several compares.
    pub value_scalar: Option<ScalarKind>,
    /// Set once an instance or a subclass exists: a structure's `_fields_` can then no
    /// longer change (ctypes' "_fields_ is final").
    pub final_: AtomicBool,
    /// The buffer layout instances export, made on the first export (see
    /// [`TypeInfo::fixed_export`]).
    export: OnceLock<ExportLayout>,
}

impl TypeInfo {
    /// A type of this kind and layout, not yet final.
    pub fn new(size: usize, align: usize, kind: InfoKind, ctype: CType) -> TypeInfo {
        let length = match &kind {
            InfoKind::Simple { .. } => 0,
            InfoKind::Pointer { .. } | InfoKind::Function { .. } => 1,
            InfoKind::Array { length, .. } => *length,
            InfoKind::Record { fields, .. } => fields.len(),
        };
        let value_scalar = match kind {
            InfoKind::Simple { scalar, swapped: false, .. } => Some(scalar),
            _ => None,
        };
        TypeInfo { size, align, reported_align: align, kind, ctype, length, value_scalar, final_: AtomicBool::new(false), export: OnceLock::new() }
    }

    /// This type, answering `reported_align` to `alignment` (see the field).
    pub fn reporting_align(self, reported_align: usize) -> TypeInfo {
        TypeInfo { reported_align, ..self }
    }

    /// How many sub-objects an instance may keep alive (ctypes' `b_length`): when
    /// non-zero, `_objects` is a dict keyed by the sub-object's index; when zero, the
    /// one object kept replaces the previous one.
    pub fn keep_slots(&self) -> usize {
        self.length
    }

    /// The C type of a parameter of this type: an array decays to a pointer to its
    /// first element, as in C and ctypes.
    pub fn param_ctype(&self) -> CType {
        match self.kind {
            InfoKind::Array { .. } => CType::Scalar(ScalarKind::VoidPtr),
            _ => self.ctype.clone(),
        }
    }

    /// `TypeError` when a value of this type cannot cross a call by value.
    pub fn check_by_value(&self) -> PyResult<()> {
        match &self.kind {
            InfoKind::Record { by_value_error: Some(why), .. } => Err(PyTypeError::new_err(why.clone())),
            _ => Ok(()),
        }
    }

    /// Marks the type final (an instance or a subclass of it exists).
    pub fn mark_final(&self) {
        self.final_.store(true, Ordering::Relaxed);
    }

    /// The scalar kind, when this is a simple type.
    pub fn scalar(&self) -> Option<(ScalarKind, bool)> {
        match self.kind {
            InfoKind::Simple { scalar, swapped, .. } => Some((scalar, swapped)),
            _ => None,
        }
    }
}

/// How an instance's memory looks through the buffer protocol (PEP 3118), as ctypes
/// exports it: the struct-module format of one item, the array shape (empty for a
/// scalar), and the size of one item.
pub struct BufferLayout {
    /// The format of the innermost item, without the array shape: `<i`, `>d`,
    /// `&<i`, `X{}`, ...
    pub format: String,
    /// The array dimensions, outermost first; empty for non-arrays.
    pub shape: Vec<usize>,
    /// `sizeof` of the innermost item.
    pub itemsize: usize,
}

impl TypeInfo {
    /// The PEP 3118 layout of this type's instances, exactly as ctypes 3.11 reports
    /// it (`memoryview(x).format/.shape/.itemsize`): byte order always explicit (`<`
    /// or `>`), `long` as `q`/`Q` (8 bytes here), arrays as their element's format
    /// with the dimensions in `shape`, pointers as `&` followed by the target's
    /// format (with its shape in parentheses for a pointer to an array) as it was when
    /// the target was set ([`pointer_format`]), function pointers as `X{}`.
    pub fn buffer_layout(&self, py: Python<'_>) -> PyResult<BufferLayout> {
        match &self.kind {
            InfoKind::Simple { scalar, swapped, .. } => {
                // Only the byte-swapped types are "the other" order; the rest is native.
                let big_endian = cfg!(target_endian = "big") != *swapped;
                let code = match scalar {
                    // PEP 3118 sizes are the standard ones: an 8-byte long is `q`.
                    ScalarKind::Long if scalar.size() == 8 => "q".to_owned(),
                    ScalarKind::ULong if scalar.size() == 8 => "Q".to_owned(),
                    // Complex: `Z` and the part's code, as numpy writes it.
                    other => match other.complex_part() {
                        Some(part) => format!("Z{}", part.code()),
                        None => other.code().to_string(),
                    },
                };
                Ok(BufferLayout { format: format!("{}{code}", if big_endian { '>' } else { '<' }), shape: Vec::new(), itemsize: self.size })
            }
            InfoKind::Array { element_info, length, .. } => {
                let element = element_info.get().buffer_layout(py)?;
                let mut shape = Vec::with_capacity(element.shape.len().saturating_add(1));
                shape.push(*length);
                shape.extend(element.shape);
                Ok(BufferLayout { format: element.format, shape, itemsize: element.itemsize })
            }
            InfoKind::Pointer { format, .. } => Ok(BufferLayout { format: format.get(py), shape: Vec::new(), itemsize: self.size }),
            InfoKind::Function { .. } => Ok(BufferLayout { format: "X{}".to_owned(), shape: Vec::new(), itemsize: self.size }),
            InfoKind::Record { layout, .. } => Ok(BufferLayout { format: layout.format.clone(), shape: Vec::new(), itemsize: self.size }),
        }
    }
}

/// A [`BufferLayout`] as a `Py_buffer` carries it: a NUL-terminated format, the shape
/// as `Py_ssize_t`s, the item size.
pub struct ExportLayout {
    pub format: CString,
    pub shape: Box<[pyo3::ffi::Py_ssize_t]>,
    pub itemsize: pyo3::ffi::Py_ssize_t,
}

impl ExportLayout {
    /// `layout` as a view carries it; `BufferError` when a figure does not fit.
    pub fn new(layout: BufferLayout) -> PyResult<ExportLayout> {
        use pyo3::exceptions::PyBufferError;
        let format = CString::new(layout.format).map_err(|_| PyValueError::new_err("buffer format contains NUL"))?;
        let shape = layout
            .shape
            .iter()
            .map(|&d| pyo3::ffi::Py_ssize_t::try_from(d))
            .collect::<Result<Box<[_]>, _>>()
            .map_err(|_| PyBufferError::new_err("array dimension too large to export"))?;
        let itemsize = pyo3::ffi::Py_ssize_t::try_from(layout.itemsize).map_err(|_| PyBufferError::new_err("item too large to export"))?;
        Ok(ExportLayout { format, shape, itemsize })
    }
}

impl TypeInfo {
    /// The layout every instance exports, made once per class (ctypes keeps it in the
    /// class's StgInfo), or `None` when it is not fixed: a pointer's format, and so that
    /// of an array of pointers, changes when `SetPointerType` sets the target, and is
    /// then made per export by [`TypeInfo::buffer_layout`].
    pub fn fixed_export(&self, py: Python<'_>) -> PyResult<Option<&ExportLayout>> {
        if let Some(export) = self.export.get() {
            return Ok(Some(export));
        }
        if !self.export_is_fixed() {
            return Ok(None);
        }
        let export = ExportLayout::new(self.buffer_layout(py)?)?;
        // Another thread may have set it in between (the GIL is not held throughout
        // on free-threaded builds): either value is the same layout.
        Ok(Some(self.export.get_or_init(|| export)))
    }

    /// The layout every instance exports, once [`TypeInfo::fixed_export`] made it (a
    /// fast path's read, which leaves making it to the general path).
    #[inline]
    pub fn ready_export(&self) -> Option<&ExportLayout> {
        self.export.get()
    }

    /// Whether [`TypeInfo::buffer_layout`] gives the same layout for the class's whole
    /// life: everything but pointers and arrays whose innermost element is one (a
    /// record's format was fixed with its fields).
    fn export_is_fixed(&self) -> bool {
        match &self.kind {
            InfoKind::Pointer { .. } => false,
            InfoKind::Array { element_info, .. } => element_info.get().export_is_fixed(),
            InfoKind::Simple { .. } | InfoKind::Function { .. } | InfoKind::Record { .. } => true,
        }
    }
}

impl TypeInfo {
    /// Whether instances hold pointers (ctypes' `TYPEFLAG_ISPOINTER | HASPOINTER`):
    /// such instances cannot be pickled, since an address means nothing in another
    /// process. The pointer-sized simple types (`c_char_p`, `c_wchar_p`, `c_void_p`,
    /// `py_object`) count, as in ctypes.
    pub fn contains_pointers(&self) -> bool {
        match &self.kind {
            InfoKind::Simple { scalar, .. } => scalar.is_pointer(),
            InfoKind::Pointer { .. } | InfoKind::Function { .. } => true,
            InfoKind::Array { element_info, .. } => element_info.get().contains_pointers(),
            InfoKind::Record { layout, .. } => layout.has_pointers,
        }
    }
}

impl BufferLayout {
    /// The format with the shape in front, as a pointer's or a record field's format
    /// embeds an array type: `(2,3)<i`.
    pub fn format_with_shape(&self) -> String {
        if self.shape.is_empty() {
            return self.format.clone();
        }
        let dims: Vec<String> = self.shape.iter().map(usize::to_string).collect();
        format!("({}){}", dims.join(","), self.format)
    }
}

#[pymethods]
impl TypeInfo {
    #[getter]
    fn size(&self) -> usize {
        self.size
    }

    #[getter]
    fn align(&self) -> usize {
        self.align
    }

    /// True once `_fields_` can no longer be set.
    #[getter(is_final)]
    fn is_final(&self) -> bool {
        self.final_.load(Ordering::Relaxed)
    }

    /// Marks the type final (called by the metaclass when it is subclassed).
    #[pyo3(name = "mark_final")]
    fn py_mark_final(&self) {
        self.mark_final();
    }

    /// What a function type's instances share, which the collector reaches from here.
    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        if let InfoKind::Function { shared } = &self.kind {
            // SAFETY: called by the collector through tp_traverse; the closure only visits.
            unsafe { shared.with_in_traverse(|s| visit.call(s)) }?;
        }
        Ok(())
    }

    /// Breaks a cycle through what a function type's instances share (the next
    /// instance makes it again).
    fn __clear__(&self, py: Python<'_>) {
        if let InfoKind::Function { shared } = &self.kind {
            drop(shared.replace(py, None));
        }
    }

    fn __repr__(&self) -> String {
        let kind = match &self.kind {
            InfoKind::Simple { scalar, swapped, .. } => {
                format!("simple '{}'{}", scalar.code(), if *swapped { " swapped" } else { "" })
            }
            InfoKind::Pointer { .. } => "pointer".to_owned(),
            InfoKind::Function { .. } => "function".to_owned(),
            InfoKind::Array { length, .. } => format!("array[{length}]"),
            InfoKind::Record { union: true, .. } => "union".to_owned(),
            InfoKind::Record { union: false, .. } => "struct".to_owned(),
        };
        format!("<TypeInfo {kind} size={} align={}>", self.size, self.align)
    }
}

/// The `_type_` codes this platform supports, in the order ctypes lists them.
pub const SIMPLE_TYPE_CODES: &str = "cbBhHiIlLdfuzZqQPXOv?g";

/// Builds the info of a simple type from its `_type_` code (called by the metaclass).
#[pyfunction]
#[pyo3(signature = (code, swapped=false, native_values=true))]
pub fn simple_info(code: &str, swapped: bool, native_values: bool) -> PyResult<TypeInfo> {
    let mut chars = code.chars();
    let scalar = match (chars.next(), chars.next()) {
        (Some(c), None) => ScalarKind::from_code(c),
        _ => None,
    };
    if scalar.is_none() && code.len() == 1 && SIMPLE_TYPE_CODES.contains(code) {
        // A code ctypes knows but only supports on Windows ('X', BSTR).
        return Err(PyValueError::new_err(format!("_type_ '{code}' not supported")));
    }
    let Some(scalar) = scalar else {
        return Err(pyo3::exceptions::PyAttributeError::new_err(format!(
            "class must define a '_type_' attribute which must be\na single character string containing one of '{SIMPLE_TYPE_CODES}' (got '{code}')."
        )));
    };
    if swapped && !(scalar.is_integer() || matches!(scalar, ScalarKind::Float | ScalarKind::Double)) {
        return Err(PyTypeError::new_err("This type does not support other endian"));
    }
    Ok(TypeInfo::new(scalar.size(), scalar.align(), InfoKind::Simple { scalar, swapped, native_values }, CType::Scalar(scalar)))
}

/// Builds the info of a pointer type whose target may still be unknown.
#[pyfunction]
#[pyo3(signature = (target=None))]
pub fn pointer_info(target: Option<Bound<'_, PyType>>) -> TypeInfo {
    let ptr = ScalarKind::VoidPtr;
    let format = target.as_ref().map_or_else(|| "B".to_owned(), pointer_format);
    let native_target = target.as_ref().and_then(native_scalar);
    let kind = InfoKind::Pointer { target: GilCell::new(target.map(Bound::unbind)), format: GilCell::new(format), native_target: GilCell::new(native_target) };
    TypeInfo::new(ptr.size(), ptr.align(), kind, CType::Scalar(ptr))
}

/// Sets the target of the pointer type whose info is `info` (`SetPointerType`).
pub fn set_pointer_target(info: &TypeInfo, target: &Bound<'_, PyType>) -> PyResult<()> {
    let InfoKind::Pointer { target: slot, format, native_target } = &info.kind else {
        return Err(PyTypeError::new_err("SetPointerType() needs a pointer type"));
    };
    let py = target.py();
    slot.set_type(py, target.clone().unbind());
    format.replace(py, pointer_format(target));
    native_target.replace(py, native_scalar(target));
    Ok(())
}

/// The scalar and byte order of `cls` when it is a built-in simple type, whose
/// values are native Python numbers, strings or bytes.
fn native_scalar(cls: &Bound<'_, PyType>) -> Option<(ScalarKind, bool)> {
    match info_of(cls.as_any()).ok()?.get().kind {
        InfoKind::Simple { scalar, swapped, native_values: true } => Some((scalar, swapped)),
        _ => None,
    }
}

/// The PEP 3118 format of a pointer to `target` as the target is now: `&` and the
/// target's format (with its shape for an array), `&B` when the target has none yet.
pub fn pointer_format(target: &Bound<'_, PyType>) -> String {
    match info_of(target.as_any()).and_then(|info| info.get().buffer_layout(target.py())) {
        Ok(layout) => format!("&{}", layout.format_with_shape()),
        Err(_) => "&B".to_owned(),
    }
}

/// Builds the info of a function pointer type.
#[pyfunction]
pub fn function_info() -> TypeInfo {
    let ptr = ScalarKind::VoidPtr;
    TypeInfo::new(ptr.size(), ptr.align(), InfoKind::Function { shared: GilCell::new(None) }, CType::Scalar(ptr))
}

/// Builds the info of an array type of `length` elements of class `element`.
#[pyfunction]
pub fn array_info(element: &Bound<'_, PyType>, length: &Bound<'_, PyAny>) -> PyResult<TypeInfo> {
    if length.lt(0)? {
        return Err(PyValueError::new_err("The '_length_' attribute must not be negative"));
    }
    // A `Py_ssize_t`, as ctypes reads it: `len()` of an instance returns it as one.
    let length: usize = length.extract::<isize>().ok().and_then(|n| usize::try_from(n).ok()).ok_or_else(|| pyo3::exceptions::PyOverflowError::new_err("The '_length_' attribute is too large"))?;
    let element_info = info_of(element.as_any())?;
    let (size, align, reported_align, ctype) = {
        let e = element_info.get();
        let size = e.size.checked_mul(length).filter(|&n| isize::try_from(n).is_ok()).ok_or_else(|| pyo3::exceptions::PyOverflowError::new_err("array too large"))?;
        (size, e.align, e.reported_align, CType::Array { element: Box::new(e.ctype.clone()), length })
    };
    let info = TypeInfo::new(size, align, InfoKind::Array { element: element.clone().unbind(), element_info: element_info.unbind(), length }, ctype);
    Ok(info.reporting_align(reported_align))
}

/// The info of a ctypes-like class (or of the type a class stands for, [`stand_in`]),
/// or `TypeError` naming what was given.
#[inline]
pub fn info_of<'py>(cls: &Bound<'py, PyAny>) -> PyResult<Bound<'py, TypeInfo>> {
    let py = cls.py();
    if let Ok(class) = cls.cast::<PyType>() {
        return info_of_class(class).or_else(|| stand_in_info(class)).ok_or_else(|| not_a_ctype(cls));
    }
    match cls.getattr(pyo3::intern!(py, "_typeinfo_")) {
        Ok(info) => info.cast_into::<TypeInfo>().map_err(|_| not_a_ctype(cls)),
        Err(_) => Err(not_a_ctype(cls)),
    }
}

/// Entries of [`RECENT_INFOS`]: a power of two.
const RECENT_SLOTS: usize = 256;

/// One remembered class: its address, its version tag then, and its info.
#[derive(Clone, Copy)]
struct Recent {
    class: usize,
    tag: u32,
    info: *mut pyo3::ffi::PyObject,
}

/// The classes whose info was looked up recently, by address (direct-mapped).
///
/// An entry is used only while its class still has the version tag it had when the
/// entry was made. CPython changes a class's tag whenever the class or a base is
/// modified (setting `_typeinfo_` included) and never gives two classes — or one class
/// before and after a change — the same tag, so a matching entry names a live class
/// whose `_typeinfo_` is still the info remembered, which that class keeps alive.
static RECENT_INFOS: GilCell<[Recent; RECENT_SLOTS]> = GilCell::new([Recent { class: 0, tag: 0, info: std::ptr::null_mut() }; RECENT_SLOTS]);

/// The info of class `class`, or `None` when it has none (a `TypeInfo` as its
/// `_typeinfo_`, along its MRO): a class's own attribute, looked up through CPython's
/// attribute cache — what `getattr` finds (the metaclasses define no attribute of
/// that name), without the metaclass lookups — and remembered in [`RECENT_INFOS`].
#[inline]
pub fn info_of_class<'py>(class: &Bound<'py, PyType>) -> Option<Bound<'py, TypeInfo>> {
    match recent_info(class) {
        // SAFETY: a matching entry's info is alive (see RECENT_INFOS) and a TypeInfo.
        Ok(info) => Some(unsafe { Bound::from_borrowed_ptr(class.py(), info).cast_into_unchecked() }),
        Err(slot) => info_of_class_uncached(class, slot),
    }
}

/// `read` of the info of class `class` ([`info_of_class`]), taking no reference to it
/// when the class is in [`RECENT_INFOS`] (`sizeof` and `alignment` of a class are
/// little more than this). `read` must not run Python code.
#[inline(always)]
pub fn read_class_info<R>(class: &Bound<'_, PyType>, read: impl FnOnce(&TypeInfo) -> R) -> Option<R> {
    match recent_info(class) {
        // SAFETY: a matching entry's info is a TypeInfo, alive while its class holds
        // it, which no code run here can change (`read` runs no Python code).
        Ok(info) => Some(read(unsafe { Borrowed::from_ptr(class.py(), info).cast_unchecked::<TypeInfo>() }.get())),
        Err(slot) => info_of_class_uncached(class, slot).map(|info| read(info.get())),
    }
}

/// `read` of the info of class `class` when [`RECENT_INFOS`] remembers it, else
/// `None`: [`read_class_info`] without the lookup, for a fast path that leaves every
/// other case to a general one. `read` must not run Python code.
#[inline(always)]
pub fn read_recent_class_info<R>(class: &Bound<'_, PyType>, read: impl FnOnce(&TypeInfo) -> R) -> Option<R> {
    let info = recent_info(class).ok()?;
    // SAFETY: a matching entry's info is a TypeInfo (never NULL: entries are made from
    // a live info), alive while its class holds it, which no code run here can change
    // (`read` runs no Python code).
    Some(read(unsafe {
        std::hint::assert_unchecked(!info.is_null());
        Borrowed::from_ptr(class.py(), info).cast_unchecked::<TypeInfo>()
    }
    .get()))
}

/// The info of `class` as [`RECENT_INFOS`] remembers it (a borrowed pointer), or the
/// slot where it would be.
#[inline(always)]
fn recent_info(class: &Bound<'_, PyType>) -> Result<*mut pyo3::ffi::PyObject, usize> {
    let tp = class.as_type_ptr();
    let slot = (tp as usize >> 4) & (RECENT_SLOTS - 1);
    // SAFETY: a live type object.
    let tag = unsafe { (*tp).tp_version_tag };
    #[allow(clippy::indexing_slicing)] // masked below RECENT_SLOTS, a power of two
    let recent = RECENT_INFOS.with(class.py(), |r| r[slot]);
    // A class without a tag (0) matches no entry: entries are made only with a tag,
    // and the empty ones name no class (address 0).
    if recent.class == tp as usize && recent.tag == tag {
        Ok(recent.info)
    } else {
        Err(slot)
    }
}

/// [`info_of_class`] for a class not in [`RECENT_INFOS`] (at `slot`): looked up, and
/// remembered there.
#[cold]
fn info_of_class_uncached<'py>(class: &Bound<'py, PyType>, slot: usize) -> Option<Bound<'py, TypeInfo>> {
    let py = class.py();
    let tp = class.as_type_ptr();
    let info = class_attribute(class, pyo3::intern!(py, "_typeinfo_"))?.cast_into::<TypeInfo>().ok()?;
    // The lookup gave the class a tag if it had none.
    // SAFETY: a live type object.
    let tag = unsafe { (*tp).tp_version_tag };
    if tag != 0 {
        #[allow(clippy::indexing_slicing)] // info_of_class's slot, masked below RECENT_SLOTS
        RECENT_INFOS.with_mut(py, |r| r[slot] = Recent { class: tp as usize, tag, info: info.as_ptr() });
    }
    Some(info)
}

/// The ferrotypes type that class `class` stands for: a class that is not one of
/// ferrotypes' own but names, as `_ctype_`, a simple type with native values (an enum
/// class cdecl makes, standing for its C integer type). Wherever a type is resolved
/// (argtypes, restype, `_fields_`, `sizeof`, `alignment`, `POINTER`), the class is
/// taken as that type; results and fields of it read back through
/// [`member_or_value`].
pub fn stand_in<'py>(class: &Bound<'py, PyType>) -> Option<Bound<'py, PyType>> {
    if info_of_class(class).is_some() {
        return None;
    }
    let ctype = class_attribute(class, pyo3::intern!(class.py(), "_ctype_"))?.cast_into::<PyType>().ok()?;
    let native = info_of_class(&ctype).is_some_and(|info| matches!(info.get().kind, InfoKind::Simple { native_values: true, .. }));
    native.then_some(ctype)
}

/// [`info_of`] for a class without info of its own: its stand-in's.
#[cold]
fn stand_in_info<'py>(class: &Bound<'py, PyType>) -> Option<Bound<'py, TypeInfo>> {
    info_of_class(&stand_in(class)?)
}

/// `_stand_in(cls)`: the ferrotypes type `cls` stands for ([`stand_in`]), or None.
#[pyfunction]
pub fn _stand_in<'py>(cls: &Bound<'py, PyAny>) -> Option<Bound<'py, PyType>> {
    stand_in(cls.cast::<PyType>().ok()?)
}

/// A value of stand-in class `class` as the class's member of that value (an enum's
/// `_value2member_map_`), or the value itself when none has it.
pub fn member_or_value(class: &Bound<'_, PyType>, value: Py<PyAny>) -> PyResult<Py<PyAny>> {
    let py = class.py();
    let Some(members) = class_attribute(class, pyo3::intern!(py, "_value2member_map_")) else { return Ok(value) };
    let Ok(members) = members.cast_into::<pyo3::types::PyDict>() else { return Ok(value) };
    Ok(members.get_item(value.bind(py))?.map_or(value, Bound::unbind))
}

fn not_a_ctype(cls: &Bound<'_, PyAny>) -> PyErr {
    PyTypeError::new_err(format!("expected a ctypes type, got {}", crate::support::python::describe(cls)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_family_has_its_number_and_a_name() {
        for (number, kind) in FamilyKind::ALL.iter().enumerate() {
            assert_eq!(*kind as usize, number);
            assert!(!kind.name().is_empty());
        }
    }

    #[test]
    fn a_bit_field_unit_is_an_unsigned_integer_of_its_size() {
        assert_eq!(unsigned_of_size(8), ScalarKind::ULongLong);
        assert_eq!(unsigned_of_size(4), ScalarKind::UInt);
        assert_eq!(unsigned_of_size(2), ScalarKind::UShort);
        assert_eq!(unsigned_of_size(3), ScalarKind::UByte);
    }
}
