//! One converted argument ([`ArgValue`]), what a call's arguments keep alive until it
//! returns ([`Held`]), and `byref()`'s result ([`CArgObject`], ctypes' `CArgObject`,
//! also what the simple types' `from_param` gives).
//!
//! What it does not do: convert anything (see [`crate::call::argconv`]).

use ferrotypes_core::call::Slot;
use ferrotypes_core::ctype::{CType, ScalarKind};
use pyo3::exceptions::PyTypeError;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::PyFloat;
use pyo3::Borrowed;

use crate::data::cdata::CData;
use crate::data::slots;
use crate::support::buffer::ReadView;
use crate::support::scalar;

/// One converted argument: its C type, its value, and what must outlive the call.
pub struct ArgValue {
    /// The C type the value has (decides the libffi type for per-call plans).
    pub ctype: CType,
    /// The value, for scalars.
    pub slot: Slot,
    /// For records passed by value: the address of their bytes (kept alive by `keep`).
    pub record: Option<*mut u8>,
    /// An object whose memory the value points into.
    pub keep: Option<Py<PyAny>>,
    /// A foreign object's memory the value points into, held until the call returns.
    pub view: Option<ReadView>,
}

impl ArgValue {
    /// A scalar of `kind`, keeping `keep` (what it points into) alive.
    pub fn scalar(kind: ScalarKind, slot: Slot, keep: Option<Py<PyAny>>) -> ArgValue {
        ArgValue { ctype: CType::Scalar(kind), slot, record: None, keep, view: None }
    }

    /// A pointer to `address`, keeping `keep` (what it points into) alive.
    pub fn pointer(address: usize, keep: Option<Py<PyAny>>) -> ArgValue {
        ArgValue::scalar(ScalarKind::VoidPtr, pointer_slot(address), keep)
    }

    /// A scalar read from the memory of `view`, which it holds.
    pub fn scalar_with_view(kind: ScalarKind, slot: Slot, view: ReadView) -> ArgValue {
        ArgValue { view: Some(view), ..ArgValue::scalar(kind, slot, None) }
    }
}

/// The result of `byref()` and of the simple types' `from_param`: a C value ready to
/// be passed, holding on to what it points into (ctypes' `CArgObject`).
#[pyclass(frozen, module = "ferrotypes._ctypes", name = "CArgObject")]
pub struct CArgObject {
    tag: char,
    value: ArgValueCell,
}

/// `ArgValue` holds raw pointers; a `CArgObject` only moves between threads under the
/// GIL with the objects that keep those pointers valid. It never holds a buffer view
/// (`view` is None: `byref` and `from_param` take no foreign memory).
struct ArgValueCell(ArgValue);
// SAFETY: the raw record pointer is into `keep`'s memory, which is GIL-protected.
unsafe impl Send for ArgValueCell {}
// SAFETY: the value is never mutated after construction, and the raw record pointer
// is only read under the GIL, which keeps `keep` (the memory's owner) alive.
unsafe impl Sync for ArgValueCell {}

impl CArgObject {
    /// The value passed, when the object it refers to is of exactly the type whose
    /// type object is at `target` (the quickest path's `byref` check).
    #[inline(always)]
    pub fn of_exact_type(&self, target: usize) -> Option<&Slot> {
        let keep = self.value.0.keep.as_ref()?;
        // SAFETY: keep is a live object; Py_TYPE reads its type pointer (no reference).
        (unsafe { pyo3::ffi::Py_TYPE(keep.as_ptr()) } as usize == target).then_some(&self.value.0.slot)
    }

    /// The address passed, when this is a `byref()` (or a pointer type's `from_param`,
    /// which is one): what a `c_void_p` parameter takes from it. A string's
    /// (`c_char_p.from_param(b"...")`) is refused there, as in ctypes.
    #[inline(always)]
    pub fn pointer_word(&self) -> Option<u64> {
        (self.tag == 'P').then(|| u64::from_le(self.value.0.slot.word()))
    }

    /// The value passed and its C type, when it is a scalar (all but records).
    #[inline(always)]
    pub fn scalar_value(&self) -> Option<(ScalarKind, &Slot)> {
        match (&self.value.0.ctype, self.value.0.record) {
            (CType::Scalar(kind), None) => Some((*kind, &self.value.0.slot)),
            _ => None,
        }
    }

    /// The type code `repr` shows (`'P'` for a pointer).
    pub fn tag(&self) -> char {
        self.tag
    }

    /// The object whose memory the value points into (`byref`'s argument).
    pub fn target(&self) -> Option<&Py<PyAny>> {
        self.value.0.keep.as_ref()
    }

    /// The value passed, as a new [`ArgValue`] keeping what this one keeps.
    pub fn copy_value(&self, py: Python<'_>) -> ArgValue {
        let v = &self.value.0;
        ArgValue { ctype: v.ctype.clone(), slot: v.slot, record: v.record, keep: v.keep.as_ref().map(|k| k.clone_ref(py)), view: None }
    }
}

#[pymethods]
impl CArgObject {
    /// ctypes' repr: the value for numbers (floats as Python writes them), a printable
    /// character or its `\xNN` escape, an address for pointers, else the object's.
    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let v = &self.value.0;
        let word = v.slot.word();
        let float_repr = |x: f64| PyFloat::new(py, x).repr().map(|r| r.to_string());
        Ok(match self.tag {
            'd' => format!("<cparam 'd' ({})>", float_repr(f64::from_bits(word))?),
            'f' => format!("<cparam 'f' ({})>", float_repr({
                let [b0, b1, b2, b3, ..] = v.slot.0;
                f32::from_ne_bytes([b0, b1, b2, b3]) as f64
            })?),
            'c' => match v.slot.0[0] {
                c @ 0x20..=0x7e if c != b'\\' && c != b'\'' => format!("<cparam 'c' ('{}')>", c as char),
                c => format!("<cparam 'c' ('\\x{c:02x}')>"),
            },
            // ctypes 3.11 prints every integer at its width as a signed number,
            // the unsigned kinds included (c_ubyte.from_param(200) shows -56).
            'b' | 'B' => format!("<cparam '{}' ({})>", self.tag, word as u8 as i8),
            'h' | 'H' => format!("<cparam '{}' ({})>", self.tag, word as u16 as i16),
            'i' | 'I' => format!("<cparam '{}' ({})>", self.tag, word as u32 as i32),
            'l' | 'L' | 'q' | 'Q' => format!("<cparam '{}' ({})>", self.tag, word as i64),
            'P' | 'z' | 'Z' => format!("<cparam '{}' ({:#x})>", self.tag, word),
            tag => format!("<cparam '{tag}' at {:#x}>", self as *const _ as usize),
        })
    }

    /// The object this argument refers to.
    #[getter]
    fn _obj(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        self.value.0.keep.as_ref().map(|k| k.clone_ref(py))
    }
}

/// `byref(obj, offset=0)`: a pointer to `obj`'s memory for one call. The offset is
/// read first, as ctypes reads it (so a bad offset is refused before a bad `obj`), and
/// clamped to isize as ctypes clamps it (PyNumber_AsSsize_t without an exception type).
pub fn byref(obj: &Bound<'_, PyAny>, offset: Option<&Bound<'_, PyAny>>) -> PyResult<CArgObject> {
    let offset = match offset {
        // SAFETY: a live object; -1 with an exception set on error.
        Some(o) => match unsafe { pyo3::ffi::PyNumber_AsSsize_t(o.as_ptr(), std::ptr::null_mut()) } {
            -1 => PyErr::take(obj.py()).map_or(Ok(-1), Err)?,
            n => n,
        },
        None => 0,
    };
    byref_at(obj, offset)
}

/// [`byref`] with its offset read.
fn byref_at(obj: &Bound<'_, PyAny>, offset: isize) -> PyResult<CArgObject> {
    let Ok(cdata) = obj.cast::<CData>() else {
        // A stdlib instance: the byref of the ferrotypes instance over its memory.
        if crate::support::stdlib_ctypes::is_stdlib_cdata(obj) {
            if let Some(own) = crate::support::stdlib_ctypes::twin(obj)? {
                return byref_at(&own, offset);
            }
        }
        return Err(PyTypeError::new_err(format!("byref() argument must be a ctypes instance, not '{}'", scalar::type_name(obj))));
    };
    let address = cdata.get().live_address(obj.py())? as usize;
    let value = ArgValue::pointer(address.wrapping_add_signed(offset), Some(obj.clone().unbind()));
    Ok(CArgObject { tag: 'P', value: ArgValueCell(value) })
}

/// Where a `CArgObject` lies in its Python object (bytes from the object's start),
/// and the address of its class (which has no subclasses), measured on the first one
/// [`new_carg`] has PyO3 make: `None` inside when PyO3 puts anything more than it
/// after the header (then PyO3 makes every one).
static CARG_LAYOUT: std::sync::OnceLock<Option<(usize, usize)>> = std::sync::OnceLock::new();

/// The position of `carg`'s Rust part in its object, when the object is exactly a
/// header and that part (with no more than alignment padding): nothing else that
/// PyO3 would initialise.
#[allow(clippy::arithmetic_side_effects)] // offsets inside one small object, and its size
fn measure_carg(carg: &Bound<'_, CArgObject>) -> Option<(usize, usize)> {
    let offset = carg.get() as *const CArgObject as usize - carg.as_ptr() as usize;
    let align = std::mem::align_of::<CArgObject>().max(std::mem::align_of::<ffi::PyObject>());
    // SAFETY: a live type object.
    let tp = unsafe { ffi::Py_TYPE(carg.as_ptr()) };
    // SAFETY: a live type object.
    let basic_size = unsafe { (*tp).tp_basicsize } as usize;
    let round_up = |n: usize, to: usize| n.div_ceil(to) * to;
    let exact = offset == round_up(std::mem::size_of::<ffi::PyObject>(), std::mem::align_of::<CArgObject>())
        && basic_size == round_up(offset + std::mem::size_of::<CArgObject>(), align);
    exact.then_some((offset, tp as usize))
}

/// A new `CArgObject` object holding `carg` (a new reference): allocated by its
/// class's allocator and written in place once its layout is known, without PyO3's
/// initialiser (which calls `object.__new__` with an empty argument tuple).
fn new_carg(py: Python<'_>, carg: CArgObject) -> PyResult<*mut ffi::PyObject> {
    if let Some(&Some((offset, tp))) = CARG_LAYOUT.get() {
        let tp = tp as *mut ffi::PyTypeObject;
        // SAFETY: CArgObject's live type object (final: the class has no subclasses;
        // it lives as long as the module),
        // whose allocator returns zeroed memory of its size, or NULL with an exception
        // set; every class has tp_alloc once ready.
        let obj = unsafe { (*tp).tp_alloc.unwrap_or(ffi::PyType_GenericAlloc)(tp, 0) };
        if obj.is_null() {
            return Err(PyErr::fetch(py));
        }
        // SAFETY: the measured place of the Rust part, in a fresh object of the class
        // (so of the measured layout), seen by no one else: nothing can run between
        // its allocation and this write.
        unsafe { obj.cast::<u8>().add(offset).cast::<CArgObject>().write(carg) };
        return Ok(obj);
    }
    let obj = Bound::new(py, carg)?;
    CARG_LAYOUT.get_or_init(|| measure_carg(&obj));
    Ok(obj.into_ptr())
}

/// `byref` as CPython calls it (`METH_FASTCALL | METH_KEYWORDS`, so that keywords
/// reach it and are refused in ctypes' words): one or two positional arguments go
/// straight to [`byref`]; any other call is refused as ctypes' `byref` refuses it
/// (its messages are the same in 3.11 to 3.13).
///
/// # Safety
/// CPython's `METH_FASTCALL | METH_KEYWORDS` contract: the GIL held, `args` holding
/// `nargs` positional values then one value per name in `kwnames` (NULL or a tuple).
unsafe extern "C" fn byref_entry(_module: *mut ffi::PyObject, args: *const *mut ffi::PyObject, nargs: ffi::Py_ssize_t, kwnames: *mut ffi::PyObject) -> *mut ffi::PyObject {
    // SAFETY: CPython calls module functions with the GIL held. The token is not
    // registered with PyO3's attach count: the object made is returned, and the
    // reference it keeps is made, not dropped (see data::slots).
    let py = unsafe { Python::assume_attached() };
    let keywords = || {
        if kwnames.is_null() {
            return 0;
        }
        // SAFETY: kwnames is NULL or a live tuple (the contract above).
        unsafe { ffi::PyTuple_GET_SIZE(kwnames) }
    };
    if (nargs == 1 || nargs == 2) && (kwnames.is_null() || keywords() == 0) {
        return slots::guard(py, slots::NULL, || {
            // SAFETY: one or two positional arguments, live objects lent for the call.
            let (obj, offset) = unsafe { (Borrowed::from_ptr(py, *args), (nargs == 2).then(|| Borrowed::from_ptr(py, *args.add(1)))) };
            new_carg(py, byref(&obj, offset.as_deref())?)
        });
    }
    let message = if keywords() > 0 {
        "byref() takes no keyword arguments".to_owned()
    } else if nargs < 1 {
        format!("byref expected at least 1 argument, got {nargs}")
    } else {
        format!("byref expected at most 2 arguments, got {nargs}")
    };
    PyTypeError::new_err(message).restore(py);
    slots::NULL
}

static BYREF_ENTRY: slots::StaticMethodDef = slots::StaticMethodDef(ffi::PyMethodDef {
    ml_name: c"byref".as_ptr(),
    ml_meth: ffi::PyMethodDefPointer { PyCFunctionFastWithKeywords: byref_entry },
    ml_flags: ffi::METH_FASTCALL | ffi::METH_KEYWORDS,
    ml_doc: c"byref($module, obj, offset=0, /)\n--\n\nA pointer to `obj`'s memory (plus `offset` bytes) for one call.".as_ptr(),
});

/// Adds `byref` to module `m`.
pub fn add_byref(m: &Bound<'_, PyModule>) -> PyResult<()> {
    slots::add_function(m, &BYREF_ENTRY)
}

/// What the arguments of one call hold on to until it returns: the objects their
/// values point into, and the buffers of foreign memory passed (the first in place:
/// most calls pass at most one).
#[derive(Default)]
pub struct Held<'py> {
    objects: Vec<Bound<'py, PyAny>>,
    view: Option<ReadView>,
    more_views: Vec<ReadView>,
}

/// What a converted argument is, beside its slot: a scalar (its value in the slot it
/// was converted into) or a record passed by value (the address of its bytes, held by
/// the caller's reference or the call's [`Held`]), with its C type. Borrowed or plain
/// in the common cases, so that passing it costs nothing.
pub enum Passed<'a> {
    /// A scalar of this kind, the parameter's own.
    Scalar(ScalarKind),
    /// A record of the parameter's type, at this address.
    Record(*mut u8, &'a CType),
    /// What a `from_param` or another fallback gave: its C type, and its address when
    /// it is a record.
    Converted(CType, Option<*mut u8>),
}

impl Passed<'_> {
    /// The address of a record's bytes; None for a scalar.
    #[inline(always)]
    pub fn record(&self) -> Option<*mut u8> {
        match self {
            Passed::Scalar(_) => None,
            Passed::Record(address, _) => Some(*address),
            Passed::Converted(_, record) => *record,
        }
    }

    /// The C type and record address (for a plan made for this call).
    pub fn into_parts(self) -> (CType, Option<*mut u8>) {
        match self {
            Passed::Scalar(kind) => (CType::Scalar(kind), None),
            Passed::Record(address, ctype) => (ctype.clone(), Some(address)),
            Passed::Converted(ctype, record) => (ctype, record),
        }
    }
}

impl<'py> Held<'py> {
    /// Keeps `object` (when there is one) until the call returns.
    #[inline]
    pub fn keep(&mut self, object: Option<Bound<'py, PyAny>>) {
        self.objects.extend(object);
    }

    /// Takes a converted value apart: its value into `slot`, what it keeps into this.
    #[inline]
    pub fn take(&mut self, py: Python<'py>, value: ArgValue, slot: &mut Slot) -> Passed<'static> {
        *slot = value.slot;
        let ArgValue { ctype, record, keep, view, .. } = value;
        self.keep(keep.map(|k| k.into_bound(py)));
        if let Some(view) = view {
            self.view(view);
        }
        Passed::Converted(ctype, record)
    }

    /// Keeps what `value` needs kept.
    #[inline]
    pub fn add(&mut self, py: Python<'py>, value: ArgValue) {
        self.objects.extend(value.keep.map(|k| k.into_bound(py)));
        if let Some(view) = value.view {
            self.view(view);
        }
    }

    /// Holds a buffer view.
    #[inline]
    pub fn view(&mut self, view: ReadView) {
        match self.view {
            None => self.view = Some(view),
            Some(_) => self.more_views.push(view),
        }
    }
}

/// A slot holding the pointer `address`.
pub fn pointer_slot(address: usize) -> Slot {
    let mut slot = Slot::ZERO;
    slot.0[..8].copy_from_slice(&(address as u64).to_ne_bytes());
    slot
}

impl CArgObject {
    /// Wraps a converted value, tagged with its ctypes type code for `repr`.
    pub fn new(tag: char, value: ArgValue) -> CArgObject {
        CArgObject { tag, value: ArgValueCell(value) }
    }
}

impl ArgValue {
    /// The pointer libffi reads this argument's value from.
    pub fn pointer_for_call(&mut self) -> *mut std::ffi::c_void {
        match self.record {
            Some(p) => p.cast(),
            None => self.slot.as_mut_ptr(),
        }
    }
}
