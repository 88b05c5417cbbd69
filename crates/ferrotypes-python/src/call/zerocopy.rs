//! Zero-copy arguments: memory that is not ferrotypes' own, passed for pointer
//! parameters without copying it.
//!
//! A parameter that C reads as a pointer (`POINTER(T)`, an array type, `c_void_p`,
//! `c_char_p`) also takes
//!
//! - any object with the buffer protocol (numpy arrays, `bytearray`, `memoryview`,
//!   `array.array`, ...): its items must be what the pointer points to (their
//!   struct-module format read by `ferrotypes_core::pep3118` and compared with the
//!   pointee's; `c_void_p` takes any items, `c_char_p` any bytes), its memory must be
//!   C-contiguous, writable unless the parameter is `c_void_p` or `c_char_p`, and as
//!   large as an array pointee. The buffer is held ([`ReadView`]) until the call returns.
//! - the standard library's ctypes instances, converted as ferrotypes' own of the same
//!   kind would be: a pointer (or `c_void_p`, `c_char_p`, function pointer) passes its
//!   value, an array its address, an instance of the target type (or its `byref`) its
//!   address for `POINTER(T)`. Simple parameters take stdlib instances of the same
//!   format ([`stdlib_value`]); records by value, those of the same layout (`argconv`).
//!
//! What it does not do: accept buffers where no argtype is declared, or in a
//! `from_param` (ctypes refuses them there, and so do its tests); ferrotypes' own
//! instances never come here. The standard library's `ctypes` is never imported: its
//! types are looked up once it is loaded (`ferrotypes._stdlib_ctypes`).

use std::borrow::Cow;
use std::cell::RefCell;

use ferrotypes_core::call::Slot;
use ferrotypes_core::ctype::ScalarKind;
use ferrotypes_core::pep3118::{self, Leaf};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyInt, PyString, PyType};

use crate::call::value::{ArgValue, CArgObject};
use crate::data::cdata::CData;
use crate::support::buffer::ReadView;
use crate::support::gil_cell::GilCell;
use crate::types::typeinfo::push_leaves;
use crate::support::scalar;
use crate::support::stdlib_ctypes::{self, StdTypes};
use crate::types::typeinfo::{InfoKind, TypeInfo};

/// Foreign memory taken for a pointer parameter: the address passed, and the view
/// that holds the memory (or the stdlib object holding the address) for the call.
pub struct Foreign {
    pub address: usize,
    pub view: ReadView,
}

impl Foreign {
    /// The memory of `view` itself.
    pub fn into(view: ReadView) -> Foreign {
        Foreign { address: view.as_ptr() as usize, view }
    }
}

/// What a pointer parameter points to, for checking the memory passed for it.
pub struct Pointee {
    /// The parameter in messages: "pointer to c_double", "c_void_p parameter".
    what: Cow<'static, str>,
    param: Param,
    items: Items,
    /// The fewest bytes the memory must hold: an array target's size, else 0.
    min_bytes: usize,
    /// Verdicts of [`Pointee::fits`] on the item formats met so far (a parameter meets
    /// few), so that a format is parsed once, not on every call.
    memo: GilCell<RefCell<Vec<Verdict>>>,
    /// The type of the last buffer-protocol object (not a stdlib ctypes object)
    /// taken: values of that type go straight to the buffer protocol, skipping the
    /// classification.
    last_buffer_type: GilCell<Option<Py<PyType>>>,
}

/// Whether items of a format (bytes) and an itemsize fit a [`Pointee`].
type Verdict = (Box<[u8]>, usize, bool);

/// How many verdicts a parameter remembers.
const MEMO_SIZE: usize = 8;

/// A `c_void_p` parameter: any memory.
pub static VOID: Pointee = Pointee::new(Cow::Borrowed("c_void_p parameter"), Param::Void, Items::Any, 0);

/// A `c_char_p` parameter: any bytes.
pub static CHARS: Pointee = Pointee::new(Cow::Borrowed("c_char_p parameter"), Param::Chars, Items::Bytes, 0);

/// The kinds of pointer parameter.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Param {
    /// `c_void_p`: any memory, read-only too.
    Void,
    /// `c_char_p`: any bytes, read-only too.
    Chars,
    /// `POINTER(T)`: writable memory of `T`s; a stdlib instance of `T` by address.
    Pointer,
    /// An array type: writable memory of its elements, at least as large as it.
    Array,
}

/// What the items of the memory must be.
enum Items {
    /// Anything (`c_void_p`).
    Any,
    /// Bytes: characters or one-byte integers (`c_char`).
    Bytes,
    /// Values of one C type: its buffer format as ferrotypes (and ctypes) write it,
    /// compared first, its size, and its scalars, compared when the formats differ
    /// (None when nothing but the exact format will do: bit-fields).
    Typed { format: String, size: usize, leaves: Option<Vec<Leaf>> },
}

impl Pointee {
    const fn new(what: Cow<'static, str>, param: Param, items: Items, min_bytes: usize) -> Pointee {
        Pointee { what, param, items, min_bytes, memo: GilCell::new(RefCell::new(Vec::new())), last_buffer_type: GilCell::new(None) }
    }

    /// A `POINTER(target)` parameter; an array target also sets the fewest bytes.
    pub fn pointer_to(py: Python<'_>, target: &Bound<'_, PyType>, info: &TypeInfo) -> PyResult<Pointee> {
        let what = Cow::Owned(format!("pointer to {}", target.name()?));
        let min_bytes = if matches!(info.kind, InfoKind::Array { .. }) { info.size } else { 0 };
        Ok(Pointee::new(what, Param::Pointer, Items::of_element(py, info)?, min_bytes))
    }

    /// `POINTER(c_char)`, whose `from_param` is `c_char_p`'s (in ctypes too): a
    /// `c_char_p` parameter under another name.
    pub fn chars_named(cls: &Bound<'_, PyType>) -> PyResult<Pointee> {
        Ok(Pointee::new(Cow::Owned(format!("{} parameter", cls.name()?)), Param::Chars, Items::Bytes, 0))
    }

    /// An array-typed parameter (C receives a pointer to its first element).
    pub fn array(py: Python<'_>, cls: &Bound<'_, PyType>, info: &TypeInfo) -> PyResult<Pointee> {
        let what = Cow::Owned(format!("{} parameter", cls.name()?));
        Ok(Pointee::new(what, Param::Array, Items::of_element(py, info)?, info.size))
    }

    /// The parameter as messages name it ("pointer to c_double", "c_char_p parameter").
    pub fn describe(&self) -> &str {
        &self.what
    }

    /// Whether this is a `c_char_p` parameter (under any name: `POINTER(c_char)`).
    pub fn is_chars(&self) -> bool {
        self.param == Param::Chars
    }

    /// [`fits`](Self::fits), remembered per format.
    fn fits_memo(&self, py: Python<'_>, view: &ReadView) -> bool {
        if matches!(self.items, Items::Any) {
            return true;
        }
        let (format, itemsize) = (view.format_bytes(), view.itemsize());
        let known = self.memo.with(py, |m| m.borrow().iter().find(|(f, n, _)| **f == *format && *n == itemsize).map(|e| e.2));
        if let Some(verdict) = known {
            return verdict;
        }
        let verdict = self.fits(view.format(), itemsize);
        self.memo.with(py, |m| {
            let mut m = m.borrow_mut();
            if m.len() < MEMO_SIZE {
                m.push((format.into(), itemsize, verdict));
            }
        });
        verdict
    }

    /// Whether items of `format`, `itemsize` bytes each, are what this points to.
    fn fits(&self, format: &str, itemsize: usize) -> bool {
        match &self.items {
            Items::Any => true,
            Items::Bytes => pep3118::parse(format).is_some_and(|item| item.size == itemsize && item.is_bytes()),
            Items::Typed { format: own, size, leaves } => {
                (format == own && itemsize == *size) || self.fits_leaves(format, Some(itemsize), leaves.as_deref())
            }
        }
    }

    /// Whether a stdlib pointer whose target has `format` (of unknown size) points to
    /// what this points to. ctypes writes the same format for the same type; only
    /// its structures packed or with bit-fields all read `B`, which says nothing.
    fn fits_target(&self, format: &str) -> bool {
        match &self.items {
            Items::Typed { format: own, leaves, .. } => (format == own && own != "B") || self.fits_leaves(format, None, leaves.as_deref()),
            _ => self.fits(format, pep3118::parse(format).map_or(0, |item| item.size)),
        }
    }

    /// Whether `format` parses into whole items with the scalars `leaves`.
    fn fits_leaves(&self, format: &str, itemsize: Option<usize>, leaves: Option<&[Leaf]>) -> bool {
        let Items::Typed { size, .. } = &self.items else { return false };
        let (Some(leaves), Some(mut item)) = (leaves, pep3118::parse(format)) else { return false };
        itemsize.is_none_or(|n| item.pad_to(n)) && item.repeats(leaves, *size)
    }

    /// The items, for messages.
    fn describe_items(&self) -> String {
        match &self.items {
            Items::Any => "any items".to_owned(),
            Items::Bytes => "bytes".to_owned(),
            Items::Typed { format, size, .. } => format!("format '{format}', itemsize {size}"),
        }
    }

    /// Checks a view acquired from `obj` for this parameter and makes it the argument.
    fn take_view(&self, obj: &Bound<'_, PyAny>, view: ReadView) -> PyResult<Foreign> {
        if matches!(self.param, Param::Pointer | Param::Array) && view.readonly() {
            return Err(PyTypeError::new_err(format!(
                "read-only buffer ({}) for a writable {}; pass writable memory, or declare the parameter c_void_p or c_char_p",
                scalar::type_name(obj),
                self.what
            )));
        }
        if !view.is_contiguous(b'C') {
            return Err(PyTypeError::new_err(format!(
                "non-contiguous buffer ({}, shape {:?}) for a {}: C needs the items one after another (make a C-contiguous copy first)",
                scalar::type_name(obj),
                view.shape(),
                self.what
            )));
        }
        if !self.fits_memo(obj.py(), &view) {
            return Err(PyTypeError::new_err(format!(
                "buffer of format '{}', itemsize {} ({}) does not fit a {} ({})",
                view.format(),
                view.itemsize(),
                scalar::type_name(obj),
                self.what,
                self.describe_items()
            )));
        }
        self.check_size(view.len(), "buffer")?;
        Ok(Foreign::into(view))
    }

    /// ValueError when `len` bytes of `memory` ("buffer", "target") are too few.
    fn check_size(&self, len: usize, memory: &str) -> PyResult<()> {
        if len < self.min_bytes {
            return Err(PyValueError::new_err(format!("{memory} of {len} bytes is too small for a {} ({} bytes)", self.what, self.min_bytes)));
        }
        Ok(())
    }

    /// A stdlib object refused: both named by their library, as `stdlib_ctypes::mismatch`
    /// names classes, with what this parameter points to.
    fn mismatch(&self, obj: &Bound<'_, PyAny>) -> PyErr {
        PyTypeError::new_err(format!("expected ferrotypes {} ({}), got ctypes {}", self.what, self.describe_items(), stdlib_ctypes::class_name(obj)))
    }
}

/// The largest record whose scalars are compared one by one with a buffer's format.
const LARGEST_LEAF_COMPARED: usize = 1 << 16;

impl Items {
    /// The items of memory an array or pointer of this type points into: an array's
    /// innermost element, or the type itself.
    fn of_element(py: Python<'_>, info: &TypeInfo) -> PyResult<Items> {
        let mut element = info;
        while let InfoKind::Array { element_info, .. } = &element.kind {
            element = element_info.get();
        }
        if matches!(element.scalar(), Some((ScalarKind::Char, _))) {
            return Ok(Items::Bytes);
        }
        if element.size > LARGEST_LEAF_COMPARED {
            // One scalar per array element would cost memory in proportion to the
            // record's size: its format is compared as it is written instead.
            return Ok(Items::Typed { format: element.buffer_layout(py)?.format, size: element.size, leaves: None });
        }
        let mut scalars = Vec::new();
        push_leaves(element, py, 0, &mut scalars);
        scalars.sort_by_key(|s| s.offset); // stable: a union's overlapping members stay in order
        let leaves = (!scalars.is_empty() && scalars.iter().all(|s| !s.bit_field))
            .then(|| scalars.iter().map(Leaf::of_scalar).collect());
        Ok(Items::Typed { format: element.buffer_layout(py)?.format, size: element.size, leaves })
    }
}

/// Whether `value` may be foreign memory: not one of ferrotypes' own objects and
/// not a value the usual conversions take (None, int, str).
#[inline]
pub fn is_foreign(value: &Bound<'_, PyAny>) -> bool {
    !(value.is_none()
        || value.is_instance_of::<PyInt>()
        || value.is_instance_of::<PyString>()
        || value.is_instance_of::<CData>()
        || value.is_instance_of::<CArgObject>())
}

/// Converts `value` for a parameter pointing to `pointee` when it is foreign memory
/// (not ferrotypes' own, not None/int/str: [`is_foreign`]); None when it is not, or is
/// neither a stdlib ctypes object nor a buffer (the caller's usual conversion then
/// decides, and reports).
#[inline]
pub fn pointer_arg(value: &Bound<'_, PyAny>, pointee: &Pointee) -> Option<PyResult<Foreign>> {
    let py = value.py();
    // SAFETY: value is a live object; Py_TYPE reads its type pointer (no reference).
    let value_type = unsafe { pyo3::ffi::Py_TYPE(value.as_ptr()) };
    let known = pointee.last_buffer_type.with(py, |t| t.as_ref().is_some_and(|t| t.as_ptr().cast() == value_type));
    if known {
        return Some(buffer_arg(value, pointee));
    }
    if !is_foreign(value) {
        return None;
    }
    if let Some(std) = StdTypes::get(py) {
        if let Some(converted) = StdArgs(std).pointer_arg(value, pointee) {
            return Some(converted);
        }
    }
    // SAFETY: value is a live object; PyObject_CheckBuffer only reads its type.
    if unsafe { pyo3::ffi::PyObject_CheckBuffer(value.as_ptr()) } == 0 {
        return None;
    }
    let converted = buffer_arg(value, pointee);
    if converted.is_ok() {
        drop(pointee.last_buffer_type.replace(py, Some(value.get_type().unbind())));
    }
    Some(converted)
}

/// [`pointer_arg`] for an object known to export a buffer and to be no stdlib ctypes
/// object.
fn buffer_arg(value: &Bound<'_, PyAny>, pointee: &Pointee) -> PyResult<Foreign> {
    let cannot = |e: PyErr| PyTypeError::new_err(format!("cannot take the memory of {}: {}", scalar::type_name(value), e));
    let view = match ReadView::records(value) {
        Ok(view) => view,
        // Memory whose items have no format (numpy's datetimes) is still memory.
        Err(_) if pointee.param == Param::Void => ReadView::strided(value).map_err(cannot)?,
        Err(e) => return Err(cannot(e)),
    };
    pointee.take_view(value, view)
}

/// A stdlib ctypes instance of the same format (type code and byte order) as the
/// simple type `info` (a parameter passed by value): its value. None when `value` is
/// no stdlib simple instance.
pub fn stdlib_value(value: &Bound<'_, PyAny>, cls: &Bound<'_, PyAny>, info: &TypeInfo) -> Option<PyResult<ArgValue>> {
    let std = StdTypes::get(value.py())?;
    if !matches!(info.kind, InfoKind::Simple { .. }) || !value.is_instance(std.simple.bind(value.py())).unwrap_or(false) {
        return None;
    }
    let convert = || {
        let view = ReadView::records(value)?;
        let own = info.buffer_layout(value.py())?;
        if view.format() != own.format || view.itemsize() != info.size || !view.shape().is_empty() {
            return Err(PyTypeError::new_err(format!(
                "expected ferrotypes {} (format '{}'), got ctypes {} (format '{}')",
                crate::support::python::describe(cls),
                own.format,
                stdlib_ctypes::class_name(value),
                view.format()
            )));
        }
        let (kind, _) = info.scalar().ok_or_else(|| PyTypeError::new_err("a simple type without a scalar"))?;
        let mut slot = Slot::ZERO;
        // SAFETY: the view holds info.size (= kind.size() <= 16) bytes.
        unsafe { std::ptr::copy_nonoverlapping(view.as_ptr(), slot.0.as_mut_ptr(), kind.size()) };
        Ok(ArgValue::scalar_with_view(kind, slot, view))
    };
    Some(convert())
}

/// [`pointer_arg`] for the stdlib's objects.
struct StdArgs<'a>(&'a StdTypes);

impl StdArgs<'_> {
    /// [`pointer_arg`] for stdlib objects; None for anything else.
    fn pointer_arg(&self, value: &Bound<'_, PyAny>, pointee: &Pointee) -> Option<PyResult<Foreign>> {
        let py = value.py();
        let std = self.0;
        if std.is_carg(value) {
            return Some(self.byref_arg(value, pointee));
        }
        if !std.is_cdata(value) {
            return None;
        }
        let is = |t: &Py<PyType>| value.is_instance(t.bind(py)).unwrap_or(false);
        let convert = || {
            let view = ReadView::records(value)?;
            let format = view.format();
            // Pointer-valued instances pass the address they hold.
            let holds_address = if is(&std.pointer) {
                let target = format.strip_prefix('&').unwrap_or("");
                if let Some(item) = pep3118::parse(target) {
                    pointee.check_size(item.size, "pointer target")?; // a smaller array
                }
                pointee.param != Param::Array && pointee.fits_target(target)
            } else if is(&std.function) {
                pointee.param == Param::Void
            } else if is(&std.simple) {
                matches!((pointee.param, format), (Param::Void, "<P" | "<z" | "<Z") | (Param::Chars, "<z"))
            } else {
                false
            };
            if holds_address && view.len() >= std::mem::size_of::<usize>() {
                // SAFETY: the view holds at least one address's bytes (checked).
                let address = unsafe { view.as_ptr().cast::<usize>().read_unaligned() };
                return Ok(Foreign { address, view });
            }
            // An array passes its address; any other instance too where the parameter
            // points to its type (ctypes' POINTER(T).from_param(T()) is a byref).
            let by_address = matches!(pointee.param, Param::Pointer | Param::Array) && !is(&std.pointer) && !is(&std.function);
            if (is(&std.array) || by_address) && pointee.fits(format, view.itemsize()) {
                pointee.check_size(view.len(), "buffer")?;
                return Ok(Foreign::into(view));
            }
            Err(pointee.mismatch(value))
        };
        Some(convert())
    }

    /// A stdlib `byref(obj)`: the address it holds, when `obj` is what the parameter
    /// points to. The view of `obj` keeps it for the call.
    fn byref_arg(&self, value: &Bound<'_, PyAny>, pointee: &Pointee) -> PyResult<Foreign> {
        let py = value.py();
        let target = value.getattr("_obj")?;
        let view = match target.is_instance(self.0.cdata.bind(py))? {
            true => ReadView::records(&target).ok().filter(|v| pointee.fits(v.format(), v.itemsize())),
            false => None,
        };
        let address = self.0.byref_address.bind(py).call1((value,))?;
        match view {
            Some(view) if !address.is_none() => Ok(Foreign { address: scalar::mask_u64(&address)? as usize, view }),
            _ => Err(pointee.mismatch(value)),
        }
    }
}
