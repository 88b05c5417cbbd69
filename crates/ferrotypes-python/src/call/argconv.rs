//! Argument conversion: Python values into C argument slots, with ctypes' rules.
//!
//! A function's converters are chosen once, when its `argtypes` are set
//! ([`ArgConv::for_argtype`]); a call then runs one converter per argument with no
//! attribute lookups for the built-in simple types. Arguments past `argtypes` (and all
//! arguments of a function without `argtypes`) go through [`convert_unknown`], which
//! derives the C type from the value as ctypes does. `byref()` results are
//! [`CArgObject`]s. Pointer parameters also take foreign memory (buffers, the
//! standard library's ctypes instances): see [`crate::call::zerocopy`] and
//! [`crate::call::ndpointer`].

use ferrotypes_core::call::Slot;
use ferrotypes_core::ctype::{CType, NumberClass, ScalarKind};
use pyo3::exceptions::{PyOverflowError, PyTypeError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyFloat, PyInt, PyString, PyType};
use pyo3::{intern, PyTypeInfo};

use crate::support::buffer::ReadView;
use crate::data::cdata::CData;
use crate::call::ndpointer::NdRequirements;
use crate::support::scalar::{self, KeepAlive};
use crate::data::families::simple::SimpleData;
use crate::types::typeinfo::{info_of, InfoKind, TypeInfo};
use crate::call::zerocopy::{self, Pointee};

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
    fn scalar(kind: ScalarKind, slot: Slot, keep: Option<Py<PyAny>>) -> ArgValue {
        ArgValue { ctype: CType::Scalar(kind), slot, record: None, keep, view: None }
    }

    fn pointer(address: usize, keep: Option<Py<PyAny>>) -> ArgValue {
        ArgValue::scalar(ScalarKind::VoidPtr, pointer_slot(address), keep)
    }

    /// A pointer into (or read from) the memory of `view`, which it holds.
    pub fn with_view(address: usize, view: ReadView) -> ArgValue {
        ArgValue { view: Some(view), ..ArgValue::pointer(address, None) }
    }

    /// A scalar read from the memory of `view`, which it holds.
    pub fn scalar_with_view(kind: ScalarKind, slot: Slot, view: ReadView) -> ArgValue {
        ArgValue { view: Some(view), ..ArgValue::scalar(kind, slot, None) }
    }

    /// A record passed by value from the memory of `view`, which it holds.
    pub fn record_with_view(ctype: CType, view: ReadView) -> ArgValue {
        let record = Some(view.as_ptr().cast_mut());
        ArgValue { ctype, slot: Slot::ZERO, record, keep: None, view: Some(view) }
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
// SAFETY: as above; the value is never mutated after construction.
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

    /// The address passed, when this is a pointer (`byref`, or a pointer type's
    /// `from_param`): what a `c_void_p` parameter takes from it.
    #[inline(always)]
    pub fn pointer_word(&self) -> Option<u64> {
        matches!(self.tag, 'P' | 'z' | 'Z').then(|| u64::from_le_bytes(self.value.0.slot.0[..8].try_into().expect("8 bytes")))
    }

    /// The value passed and its C type, when it is a scalar (all but records).
    #[inline(always)]
    pub fn scalar_value(&self) -> Option<(ScalarKind, &Slot)> {
        match (&self.value.0.ctype, self.value.0.record) {
            (CType::Scalar(kind), None) => Some((*kind, &self.value.0.slot)),
            _ => None,
        }
    }

    fn copy_value(&self, py: Python<'_>) -> ArgValue {
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
        let word = u64::from_ne_bytes(v.slot.0[..8].try_into().expect("8 bytes"));
        let float_repr = |x: f64| PyFloat::new(py, x).repr().map(|r| r.to_string());
        Ok(match self.tag {
            'd' => format!("<cparam 'd' ({})>", float_repr(f64::from_bits(word))?),
            'f' => format!("<cparam 'f' ({})>", float_repr(f32::from_ne_bytes(v.slot.0[..4].try_into().expect("4 bytes")) as f64)?),
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

/// `byref(obj, offset=0)`: a pointer to `obj`'s memory for one call.
#[pyfunction]
#[pyo3(signature = (obj, offset = None))]
pub fn byref(obj: &Bound<'_, PyAny>, offset: Option<&Bound<'_, PyAny>>) -> PyResult<CArgObject> {
    let Ok(cdata) = obj.cast::<CData>() else {
        return Err(PyTypeError::new_err(format!("byref() argument must be a ctypes instance, not '{}'", scalar::type_name(obj))));
    };
    // Read after `obj`, and clamped to isize as ctypes clamps it (PyNumber_AsSsize_t
    // without an exception type).
    let offset = match offset {
        // SAFETY: a live object; -1 with an exception set on error.
        Some(o) => match unsafe { pyo3::ffi::PyNumber_AsSsize_t(o.as_ptr(), std::ptr::null_mut()) } {
            -1 => PyErr::take(obj.py()).map_or(Ok(-1), Err)?,
            n => n,
        },
        None => 0,
    };
    let address = cdata.get().address(obj.py()) as usize;
    let value = ArgValue::pointer(address.wrapping_add_signed(offset), Some(obj.clone().unbind()));
    Ok(CArgObject { tag: 'P', value: ArgValueCell(value) })
}

/// The metaclasses' own `from_param` functions (set once by `ferrotypes._metatypes`),
/// to recognise argtypes whose conversion ferrotypes may do itself.
pub struct DefaultFromParams {
    /// The simple types' (`PyCSimpleType.from_param`).
    pub simple: Py<PyAny>,
    /// The pointer types' (`PyCPointerType.from_param`).
    pub pointer: Py<PyAny>,
    /// Every other C data type's (arrays, records: `_CDataMeta.from_param`).
    pub cdata: Py<PyAny>,
}

pub static DEFAULT_FROM_PARAMS: PyOnceLock<DefaultFromParams> = PyOnceLock::new();

/// How one declared parameter converts its argument.
pub enum ArgConv {
    /// A simple type whose `from_param` is ctypes' own: converted here directly
    /// (`c_void_p` and `c_char_p` also take foreign memory).
    Simple { kind: ScalarKind, cls: Py<PyType> },
    /// A pointer or array type whose `from_param` is ctypes' own: foreign memory is
    /// checked against `pointee` here, anything else goes to `from_param` — except,
    /// for `POINTER(T)` (`own`: the pointer type and `T`), the cases its `from_param`
    /// accepts without `_as_parameter_`, converted here by the same rules.
    Pointer { from_param: Py<PyAny>, pointee: Pointee, own: Option<(Py<PyType>, Py<PyType>)> },
    /// A `ferrotypes.numpy.ndpointer` class: an ndarray meeting its requirements is
    /// passed from its buffer, anything else goes to `from_param`.
    NdPointer { from_param: Py<PyAny>, requirements: NdRequirements },
    /// A structure or union type `cls` passed by value, whose `from_param` is ctypes'
    /// own: an instance of `cls` is passed from its memory here; anything else goes to
    /// `from_param` (a `byref`, `_as_parameter_`, its error message), then, if that
    /// refuses it, to a stdlib instance of the same layout.
    Record { cls: Py<PyType>, from_param: Py<PyAny>, info: Py<TypeInfo> },
    /// Any other type: its `from_param` is called and the result converted. `record`
    /// is the type when it is a record passed by value: the result must then be one
    /// (see [`record_param`]).
    FromParam { from_param: Py<PyAny>, ctype: Option<CType>, record: Option<Py<PyAny>> },
}

impl ArgConv {
    /// Visits the objects the converter holds (for the collector).
    pub fn traverse(&self, visit: &pyo3::PyVisit<'_>) -> Result<(), pyo3::PyTraverseError> {
        match self {
            ArgConv::Simple { cls, .. } => visit.call(cls),
            ArgConv::Pointer { from_param, own, .. } => {
                visit.call(from_param)?;
                if let Some((pointer, target)) = own {
                    visit.call(pointer)?;
                    visit.call(target)?;
                }
                Ok(())
            }
            ArgConv::NdPointer { from_param, .. } => visit.call(from_param),
            ArgConv::Record { cls, from_param, info } => {
                visit.call(cls)?;
                visit.call(from_param)?;
                visit.call(info)
            }
            ArgConv::FromParam { from_param, record, .. } => {
                visit.call(from_param)?;
                visit.call(record)
            }
        }
    }

    /// The converter for one `argtypes` entry, or `TypeError` when it has no
    /// `from_param`.
    pub fn for_argtype(argtype: &Bound<'_, PyAny>, index: usize) -> PyResult<ArgConv> {
        let py = argtype.py();
        let from_param = argtype.getattr(intern!(py, "from_param")).map_err(|_| {
            PyTypeError::new_err(format!("item {} in _argtypes_ has no from_param method", index + 1))
        })?;
        let info = info_of(argtype).ok();
        if let Some(info) = &info {
            info.get().check_by_value()?;
        }
        let func = from_param.getattr(intern!(py, "__func__")).ok();
        let is_default = |pick: fn(&DefaultFromParams) -> &Py<PyAny>| {
            DEFAULT_FROM_PARAMS.get(py).zip(func.as_ref()).is_some_and(|(d, f)| f.is(pick(d).bind(py)))
        };
        if let (Some(info), Ok(cls)) = (&info, argtype.cast::<PyType>()) {
            let i = info.get();
            match &i.kind {
                InfoKind::Simple { scalar, swapped: false, .. } if is_default(|d| &d.simple) => {
                    return Ok(ArgConv::Simple { kind: *scalar, cls: cls.clone().unbind() });
                }
                // POINTER(c_char) converts as c_char_p (its from_param is c_char_p's).
                InfoKind::Pointer { .. } if is_default(|d| &d.simple) && is_char_pointer_type(&from_param) => {
                    return Ok(ArgConv::Pointer { from_param: from_param.unbind(), pointee: Pointee::chars_named(cls)?, own: None });
                }
                InfoKind::Pointer { target, .. } if is_default(|d| &d.pointer) => {
                    if let Some(target) = target.get_obj_type(py) {
                        let target = target.bind(py);
                        let pointee = Pointee::pointer_to(py, target, info_of(target.as_any())?.get())?;
                        let own = Some((cls.clone().unbind(), target.clone().unbind()));
                        return Ok(ArgConv::Pointer { from_param: from_param.unbind(), pointee, own });
                    }
                }
                // An array parameter is a pointer to its first element, as in C.
                InfoKind::Array { .. } if is_default(|d| &d.cdata) => {
                    return Ok(ArgConv::Pointer { from_param: from_param.unbind(), pointee: Pointee::array(py, cls, i)?, own: None });
                }
                InfoKind::Record { .. } if is_default(|d| &d.cdata) => {
                    return Ok(ArgConv::Record { cls: cls.clone().unbind(), from_param: from_param.unbind(), info: info.clone().unbind() });
                }
                _ => {}
            }
        }
        if let Some(requirements) = NdRequirements::for_argtype(argtype, func.as_ref())? {
            return Ok(ArgConv::NdPointer { from_param: from_param.unbind(), requirements });
        }
        let record = info.as_ref().is_some_and(|i| matches!(i.get().kind, InfoKind::Record { .. }));
        let ctype = info.as_ref().map(|i| i.get().param_ctype());
        Ok(ArgConv::FromParam { from_param: from_param.unbind(), ctype, record: record.then(|| argtype.clone().unbind()) })
    }

    /// The C type of the parameter, when it is known before the call.
    pub fn ctype(&self) -> Option<CType> {
        match self {
            ArgConv::Simple { kind, .. } => Some(CType::Scalar(*kind)),
            ArgConv::Pointer { .. } | ArgConv::NdPointer { .. } => Some(CType::Scalar(ScalarKind::VoidPtr)),
            ArgConv::Record { info, .. } => Some(info.get().ctype.clone()),
            ArgConv::FromParam { ctype, .. } => ctype.clone(),
        }
    }

    /// Whether the argument is always converted to a scalar or a record of the
    /// parameter's type without a user's `from_param` deciding how (the direct path
    /// may be used).
    pub fn is_native(&self) -> bool {
        !matches!(self, ArgConv::FromParam { .. })
    }

    /// Converts argument `value`, the `position`-th (1-based, for messages).
    pub fn convert(&self, value: &Bound<'_, PyAny>, position: usize) -> PyResult<ArgValue> {
        let py = value.py();
        match self {
            ArgConv::Simple { kind, cls } => {
                if let Some(foreign) = simple_foreign(*kind, value) {
                    return foreign.map(ArgValue::from);
                }
                simple_param(cls.bind(py), *kind, value).or_else(|err| stdlib_or(value, cls.bind(py).as_any(), err))
            }
            ArgConv::Pointer { pointee, .. } => match zerocopy::pointer_arg(value, pointee) {
                Some(foreign) => foreign.map(ArgValue::from),
                None => self.pointer_fallback(value, position),
            },
            ArgConv::NdPointer { from_param, requirements } => match requirements.accept(value) {
                Some(view) => Ok(ArgValue::with_view(view.as_ptr() as usize, view)),
                None => convert_unknown(&from_param.bind(py).call1((value,))?, position),
            },
            ArgConv::Record { cls, from_param, info } => {
                let info = info.get();
                if value.is_instance(cls.bind(py))? {
                    let address = value.cast::<CData>()?.get().address(py);
                    // The caller's reference keeps the instance alive for the call.
                    return Ok(ArgValue { ctype: info.ctype.clone(), slot: Slot::ZERO, record: Some(address), keep: None, view: None });
                }
                match from_param.bind(py).call1((value,)) {
                    Ok(converted) => record_param(&converted, cls.bind(py), &info.ctype, position),
                    Err(err) => zerocopy::stdlib_value(value, info).unwrap_or(Err(err)),
                }
            }
            ArgConv::FromParam { from_param, record, ctype } => {
                let converted = from_param.bind(py).call1((value,))?;
                match (record, ctype) {
                    (Some(cls), Some(ctype)) => record_param(&converted, cls.bind(py), ctype, position),
                    _ => convert_unknown(&converted, position),
                }
            }
        }
    }

    /// A record parameter's argument for the direct path: the address of at least the
    /// record's size of bytes to pass; what must stay alive until the call returns is
    /// added to `held`.
    #[inline]
    pub fn record_address<'py>(&self, value: &Bound<'py, PyAny>, position: usize, held: &mut Held<'py>) -> PyResult<*const u8> {
        let converted = self.convert(value, position)?;
        let Some(address) = converted.record else {
            return Err(PyTypeError::new_err("a scalar cannot be passed for a record parameter"));
        };
        held.add(value.py(), converted);
        Ok(address)
    }

    /// [`convert`](Self::convert) into a scalar slot (the direct path): the simple
    /// types' common cases without building an [`ArgValue`]. What the argument must
    /// keep until the call returns is added to `held`.
    #[inline]
    pub fn convert_into<'py>(&self, value: &Bound<'py, PyAny>, position: usize, slot: &mut Slot, held: &mut Held<'py>) -> PyResult<()> {
        let py = value.py();
        let foreign = match self {
            ArgConv::Simple { kind, cls } => match simple_foreign(*kind, value) {
                Some(foreign) => foreign,
                None => {
                    return match simple_param_into(cls.bind(py), *kind, value, slot) {
                        Ok(kept) => {
                            held.objects.extend(kept.map(|k| k.into_bound(py)));
                            Ok(())
                        }
                        Err(err) => scalar_into(py, stdlib_or(value, cls.bind(py).as_any(), err)?, slot, held),
                    };
                }
            },
            ArgConv::Pointer { pointee, .. } => match zerocopy::pointer_arg(value, pointee) {
                Some(foreign) => foreign,
                None => return scalar_into(py, self.pointer_fallback(value, position)?, slot, held),
            },
            ArgConv::NdPointer { requirements, from_param } => match requirements.accept(value) {
                Some(view) => Ok(zerocopy::Foreign::into(view)),
                None => return scalar_into(py, convert_unknown(&from_param.bind(py).call1((value,))?, position)?, slot, held),
            },
            ArgConv::Record { .. } | ArgConv::FromParam { .. } => return scalar_into(py, self.convert(value, position)?, slot, held),
        };
        let foreign = foreign?;
        *slot = pointer_slot(foreign.address);
        held.view(foreign.view);
        Ok(())
    }
}

/// `PyCPointerType.from_param`'s own cases for `POINTER(target)` (class `cls`), by its
/// rules: None, an instance of `cls`, an instance of `target` (passed by reference), a
/// `byref` of one, an array of `target`s or a pointer to them. None for anything else
/// (`from_param` then decides: `_as_parameter_`, its error message).
fn own_pointer_arg(value: &Bound<'_, PyAny>, cls: &Bound<'_, PyType>, target: &Bound<'_, PyType>) -> Option<PyResult<ArgValue>> {
    let py = value.py();
    if value.is_none() {
        return Some(Ok(ArgValue::pointer(0, None)));
    }
    if let Ok(carg) = value.cast::<CArgObject>() {
        let c = carg.get();
        let of_target = c.value.0.keep.as_ref().is_some_and(|k| k.bind(py).is_instance(target).unwrap_or(false));
        return of_target.then(|| Ok(c.copy_value(py)));
    }
    let cdata = value.cast::<CData>().ok()?;
    if value.is_instance(cls).ok()? {
        return Some(cdata_value(cdata));
    }
    if value.is_instance(target).ok()? {
        let address = cdata.get().address(py) as usize;
        return Some(Ok(ArgValue::pointer(address, Some(value.clone().unbind()))));
    }
    let points_into_targets = match &cdata.get().info().get().kind {
        InfoKind::Array { element, .. } => element.bind(py).is_subclass(target).ok()?,
        InfoKind::Pointer { target: own, .. } => own.get_obj_type(py)?.bind(py).is_subclass(target).ok()?,
        _ => false,
    };
    points_into_targets.then(|| cdata_value(cdata))
}

impl ArgConv {
    /// A pointer parameter's argument that is no foreign memory: by `from_param`'s
    /// rules natively where they allow ([`own_pointer_arg`]), else through it.
    fn pointer_fallback(&self, value: &Bound<'_, PyAny>, position: usize) -> PyResult<ArgValue> {
        let ArgConv::Pointer { from_param, own, .. } = self else { unreachable!("pointer converters only") };
        let py = value.py();
        if let Some(converted) = own.as_ref().and_then(|(cls, target)| own_pointer_arg(value, cls.bind(py), target.bind(py))) {
            return converted;
        }
        convert_unknown(&from_param.bind(py).call1((value,))?, position)
    }
}

/// What `from_param` gave for a parameter of record type `cls` (C type `ctype`),
/// converted: it must be a record of at least that size, since its bytes are passed
/// as that record. (ctypes passes whatever it is, and C reads garbage; for a `byref`
/// of an instance, which its own `from_param` returns, ctypes crashes.)
fn record_param(converted: &Bound<'_, PyAny>, cls: &Bound<'_, PyAny>, ctype: &CType, position: usize) -> PyResult<ArgValue> {
    let value = convert_unknown(converted, position)?;
    if value.record.is_some() && value.ctype.size() >= ctype.size() {
        return Ok(value);
    }
    let name = cls.cast::<PyType>().ok().and_then(|t| t.name().ok()).map_or_else(|| "record".to_owned(), |n| n.to_string());
    let given = match converted.cast::<CArgObject>() {
        Ok(carg) => match &carg.get().value.0.keep {
            Some(target) => format!("pointer to {}", scalar::type_name(target.bind(converted.py()))),
            None => "pointer to ???".to_owned(),
        },
        Err(_) => scalar::type_name(converted),
    };
    Err(PyTypeError::new_err(format!("expected {name} instance instead of {given}")))
}

/// A converted value of a scalar parameter into `slot`, what it keeps into `held`.
fn scalar_into<'py>(py: Python<'py>, converted: ArgValue, slot: &mut Slot, held: &mut Held<'py>) -> PyResult<()> {
    if converted.record.is_some() {
        return Err(PyTypeError::new_err("a record cannot be passed for a scalar parameter"));
    }
    *slot = converted.slot;
    held.add(py, converted);
    Ok(())
}

/// Whether the bound method `from_param` belongs to `c_char_p` (or a subclass).
fn is_char_pointer_type(from_param: &Bound<'_, PyAny>) -> bool {
    let owner = from_param.getattr(intern!(from_param.py(), "__self__"));
    owner.is_ok_and(|o| info_of(&o).is_ok_and(|i| matches!(i.get().scalar(), Some((ScalarKind::CharPtr, _)))))
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

impl<'py> Held<'py> {
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

/// Foreign memory for a `c_void_p` or `c_char_p` parameter; None for any other kind
/// or value (`bytes` included: these parameters take its own buffer as ctypes does).
#[inline]
fn simple_foreign(kind: ScalarKind, value: &Bound<'_, PyAny>) -> Option<PyResult<zerocopy::Foreign>> {
    let pointee = match kind {
        ScalarKind::VoidPtr => &zerocopy::VOID,
        ScalarKind::CharPtr => &zerocopy::CHARS,
        _ => return None,
    };
    if value.is_instance_of::<PyBytes>() {
        return None;
    }
    zerocopy::pointer_arg(value, pointee)
}

/// A stdlib ctypes instance of the same simple type as `cls`, else `err`.
fn stdlib_or(value: &Bound<'_, PyAny>, cls: &Bound<'_, PyAny>, err: PyErr) -> PyResult<ArgValue> {
    match info_of(cls).ok().and_then(|info| zerocopy::stdlib_value(value, info.get())) {
        Some(converted) => converted,
        None => Err(err),
    }
}

/// The built-in simple types' parameter conversion (their `from_param`).
pub fn simple_param(cls: &Bound<'_, PyType>, kind: ScalarKind, value: &Bound<'_, PyAny>) -> PyResult<ArgValue> {
    let mut slot = Slot::ZERO;
    let keep = simple_param_into(cls, kind, value, &mut slot)?;
    Ok(ArgValue::scalar(kind, slot, keep))
}

/// [`simple_param`] writing straight into a slot: the per-argument work of a call.
#[inline]
pub fn simple_param_into(cls: &Bound<'_, PyType>, kind: ScalarKind, value: &Bound<'_, PyAny>, slot: &mut Slot) -> PyResult<KeepAlive> {
    use ScalarKind::*;
    // The common cases first: a plain int or float for a numeric parameter.
    if kind.is_integer() && value.is_exact_instance_of::<PyInt>() {
        slot.0[..8].copy_from_slice(&scalar::mask_u64(value)?.to_le_bytes());
        return Ok(None);
    }
    if matches!(kind, Double | Float | LongDouble) && value.is_exact_instance_of::<PyFloat>() {
        return scalar::to_bytes(value, kind, &mut slot.0);
    }
    if (kind == VoidPtr && value.is_exact_instance_of::<PyInt>()) || (kind == CharPtr && value.is_exact_instance_of::<PyBytes>()) {
        return scalar::to_bytes(value, kind, &mut slot.0);
    }
    // The refusal in the running version's words: 3.13 names the pointer type, 3.12
    // gives a number's or character's own conversion error (`own`).
    let py = value.py();
    let wrong_type = || match kind {
        CharPtr | WCharPtr | VoidPtr if crate::support::python::python_at_least(py, (3, 13)) => PyTypeError::new_err(format!(
            "'{}' object cannot be interpreted as ctypes.{}",
            scalar::type_name(value),
            match kind {
                CharPtr => "c_char_p",
                WCharPtr => "c_wchar_p",
                _ => "c_void_p",
            }
        )),
        _ => PyTypeError::new_err(format!("expected {} instance, got {}", cls.name().map(|n| n.to_string()).unwrap_or_default(), scalar::type_name(value))),
    };
    let refusal = |own: PyErr| if crate::support::python::python_at_least(py, (3, 12)) { own } else { wrong_type() };
    let copy = |v: ArgValue, slot: &mut Slot| {
        *slot = v.slot;
        v.keep
    };
    if value.is_instance(cls.as_any())? {
        return Ok(copy(cdata_value(value.cast::<CData>()?)?, slot));
    }
    if let Ok(carg) = value.cast::<CArgObject>() {
        let c = carg.get();
        if c.tag == kind.code() || (kind == VoidPtr && matches!(c.tag, 'P' | 'z' | 'Z')) {
            return Ok(copy(c.copy_value(value.py()), slot));
        }
        // byref(c_char(...)) for a char pointer, byref(c_wchar(...)) for a wide one.
        let character = match kind {
            CharPtr => Some(Char),
            WCharPtr => Some(WChar),
            _ => None,
        };
        if let (Some(character), 'P', Some(target)) = (character, c.tag, &c.value.0.keep) {
            let target = target.bind(value.py());
            if target.cast::<CData>().is_ok_and(|d| d.get().info().get().scalar().is_some_and(|(k, _)| k == character)) {
                return Ok(copy(c.copy_value(value.py()), slot));
            }
        }
    }
    let accepted = match kind {
        Bool | VariantBool | Float | Double | LongDouble | Char | WChar => scalar::to_bytes(value, kind, &mut slot.0).map_err(refusal),
        k if k.is_integer() => {
            if value.is_instance_of::<PyInt>() {
                scalar::to_bytes(value, kind, &mut slot.0)
            } else {
                // What the conversion would say, without taking the value.
                let mut scratch = Slot::ZERO;
                Err(scalar::to_bytes(value, kind, &mut scratch.0).err().map_or_else(wrong_type, refusal))
            }
        }
        CharPtr if value.is_none() || value.is_instance_of::<PyBytes>() => scalar::to_bytes(value, kind, &mut slot.0),
        WCharPtr if value.is_none() || value.is_instance_of::<PyString>() => scalar::to_bytes(value, kind, &mut slot.0),
        CharPtr | WCharPtr if points_to_chars(value, if kind == CharPtr { Char } else { WChar }) => Ok(copy(cdata_value(value.cast::<CData>()?)?, slot)),
        VoidPtr => void_pointer_param(value).map(|v| copy(v, slot)).map_err(|_| wrong_type()),
        ObjectPtr => scalar::to_bytes(value, kind, &mut slot.0),
        _ => Err(wrong_type()),
    };
    match accepted {
        Ok(keep) => Ok(keep),
        Err(err) => match as_parameter(value)? {
            Some(inner) => with_recursion_guard(value.py(), || simple_param_into(cls, kind, &inner, slot)),
            None => Err(err),
        },
    }
}

/// True for an array of, or a pointer to, `element` characters: what a `char *` or
/// `wchar_t *` parameter accepts besides strings (ctypes does too).
fn points_to_chars(value: &Bound<'_, PyAny>, element: ScalarKind) -> bool {
    let Ok(cdata) = value.cast::<CData>() else { return false };
    let py = value.py();
    let is_element = |cls: &Bound<'_, PyType>| info_of(cls.as_any()).is_ok_and(|i| i.get().scalar().is_some_and(|(k, _)| k == element));
    match &cdata.get().info().get().kind {
        InfoKind::Array { element, .. } => is_element(element.bind(py)),
        InfoKind::Pointer { target, .. } => target.get_obj_type(py).is_some_and(|t| is_element(t.bind(py))),
        _ => false,
    }
}

/// `c_void_p.from_param`: addresses, None, bytes, str, and anything that is or holds
/// a pointer.
pub fn void_pointer_param(value: &Bound<'_, PyAny>) -> PyResult<ArgValue> {
    if value.is_none() {
        return Ok(ArgValue::pointer(0, None));
    }
    if let Ok(carg) = value.cast::<CArgObject>() {
        let c = carg.get();
        if matches!(c.tag, 'P' | 'z' | 'Z') {
            return Ok(c.copy_value(value.py()));
        }
    }
    if value.is_instance_of::<PyInt>() {
        return Ok(ArgValue::pointer(scalar::mask_u64(value)? as usize, None));
    }
    if let Ok(s) = value.cast::<PyString>() {
        let mut v = wide_string_arg(s)?;
        v.ctype = CType::Scalar(ScalarKind::VoidPtr);
        return Ok(v);
    }
    if value.is_instance_of::<PyBytes>() {
        let mut v = convert_unknown(value, 1)?;
        v.ctype = CType::Scalar(ScalarKind::VoidPtr);
        return Ok(v);
    }
    if let Ok(cdata) = value.cast::<CData>() {
        let info = cdata.get().info().get();
        if matches!(info.kind, InfoKind::Pointer { .. } | InfoKind::Function | InfoKind::Array { .. })
            || matches!(info.scalar(), Some((ScalarKind::CharPtr | ScalarKind::WCharPtr | ScalarKind::VoidPtr, _)))
        {
            let mut v = cdata_value(cdata)?;
            v.ctype = CType::Scalar(ScalarKind::VoidPtr);
            return Ok(v);
        }
    }
    Err(PyTypeError::new_err("wrong type"))
}

/// The value a ctypes instance passes by itself (ctypes' `paramfunc`): the scalar of a
/// simple instance, the pointer of a pointer, the bytes of a record.
pub fn cdata_value(cdata: &Bound<'_, CData>) -> PyResult<ArgValue> {
    let py = cdata.py();
    let data = cdata.get();
    let info: &TypeInfo = data.info().get();
    let address = data.address(py);
    let keep = Some(cdata.clone().into_any().unbind());
    match &info.kind {
        InfoKind::Simple { scalar, .. } => {
            let mut slot = Slot::ZERO;
            // SAFETY: a simple instance's memory holds one scalar of its kind.
            unsafe { std::ptr::copy_nonoverlapping(address, slot.0.as_mut_ptr(), scalar.size()) };
            Ok(ArgValue::scalar(*scalar, slot, keep))
        }
        InfoKind::Pointer { .. } | InfoKind::Function => {
            let mut slot = Slot::ZERO;
            // SAFETY: pointer instances hold one pointer.
            unsafe { std::ptr::copy_nonoverlapping(address, slot.0.as_mut_ptr(), 8) };
            Ok(ArgValue::scalar(ScalarKind::VoidPtr, slot, keep))
        }
        // An array argument decays to a pointer to its first element, as in C.
        InfoKind::Array { .. } => Ok(ArgValue::pointer(address as usize, keep)),
        // A record is passed by value: libffi copies it from the instance's memory.
        InfoKind::Record { .. } => {
            info.check_by_value()?;
            Ok(ArgValue { ctype: info.ctype.clone(), slot: Slot::ZERO, record: Some(address), keep, view: None })
        }
    }
}

/// Converts a value for a parameter whose type is not declared (ctypes' `ConvParam`);
/// `position` (1-based) is named in the error for values it cannot convert.
pub fn convert_unknown(value: &Bound<'_, PyAny>, position: usize) -> PyResult<ArgValue> {
    if let Ok(carg) = value.cast::<CArgObject>() {
        return Ok(carg.get().copy_value(value.py()));
    }
    if let Ok(cdata) = value.cast::<CData>() {
        return cdata_value(cdata);
    }
    if value.is_none() {
        return Ok(ArgValue::pointer(0, None));
    }
    if value.is_instance_of::<PyInt>() {
        // Like ctypes: any int that fits a C long or unsigned long is passed as an
        // int, truncated to its low 32 bits.
        let bits = match value.extract::<i64>() {
            Ok(n) => n as u64,
            Err(_) => value.extract::<u64>().map_err(|_| PyOverflowError::new_err("int too long to convert"))?,
        };
        let mut slot = Slot::ZERO;
        slot.0[..4].copy_from_slice(&(bits as u32).to_ne_bytes());
        return Ok(ArgValue::scalar(ScalarKind::Int, slot, None));
    }
    if let Ok(b) = value.cast::<PyBytes>() {
        return Ok(ArgValue::scalar(ScalarKind::CharPtr, pointer_slot(b.as_bytes().as_ptr() as usize), Some(value.clone().unbind())));
    }
    if let Ok(s) = value.cast::<PyString>() {
        let arg = wide_string_arg(s)?;
        // Like ctypes (which asks CPython for a C wide string here, unlike for
        // c_wchar_p and c_void_p argtypes): a NUL inside would silently cut it short.
        let units = arg.keep.as_ref().expect("kept buffer").bind(value.py()).cast::<PyBytes>()?.as_bytes();
        if units[..units.len() - 4].chunks_exact(4).any(|u| u == [0; 4]) {
            return Err(pyo3::exceptions::PyValueError::new_err("embedded null character"));
        }
        return Ok(arg);
    }
    match as_parameter(value)? {
        Some(inner) => with_recursion_guard(value.py(), || convert_unknown(&inner, position)),
        None => Err(PyTypeError::new_err(format!("Don't know how to convert parameter {position}"))),
    }
}

/// A `wchar_t *` argument pointing at a NUL-terminated copy of `s`, which it keeps.
fn wide_string_arg(s: &Bound<'_, PyString>) -> PyResult<ArgValue> {
    let buffer = scalar::wide_buffer(s)?;
    let address = buffer.as_bytes().as_ptr() as usize;
    Ok(ArgValue::scalar(ScalarKind::WCharPtr, pointer_slot(address), Some(buffer.into_any().unbind())))
}

fn pointer_slot(address: usize) -> Slot {
    let mut slot = Slot::ZERO;
    slot.0[..8].copy_from_slice(&(address as u64).to_ne_bytes());
    slot
}

/// Runs `f` one level deeper in CPython's recursion limit, so an endless chain of
/// `_as_parameter_` ends in RecursionError rather than a stack overflow.
fn with_recursion_guard<T>(py: Python<'_>, f: impl FnOnce() -> PyResult<T>) -> PyResult<T> {
    // SAFETY: the GIL is held; every successful Enter is paired with a Leave below.
    if unsafe { pyo3::ffi::Py_EnterRecursiveCall(c" while converting _as_parameter_".as_ptr()) } != 0 {
        return Err(PyErr::fetch(py));
    }
    let result = f();
    // SAFETY: pairs the successful Enter above.
    unsafe { pyo3::ffi::Py_LeaveRecursiveCall() };
    result
}

/// The value's `_as_parameter_`, if it has one.
fn as_parameter<'py>(value: &Bound<'py, PyAny>) -> PyResult<Option<Bound<'py, PyAny>>> {
    let py = value.py();
    if value.is_instance_of::<PyType>() || SimpleData::is_type_of(value) {
        return Ok(None);
    }
    // An object that is its own `_as_parameter_` recurses until RecursionError, as
    // in ctypes (callers run the conversion under a recursion guard).
    value.getattr_opt(intern!(py, "_as_parameter_"))
}

/// Applies C's default argument promotions to a value passed through `...`:
/// `float` becomes `double`, integer types narrower than `int` become `int`.
pub fn promote_variadic(arg: &mut ArgValue) {
    use ScalarKind::*;
    let CType::Scalar(kind) = arg.ctype else { return };
    match kind {
        Float => {
            let f = f32::from_ne_bytes(arg.slot.0[..4].try_into().expect("4 bytes"));
            arg.slot.0[..8].copy_from_slice(&(f as f64).to_ne_bytes());
            arg.ctype = CType::Scalar(Double);
        }
        _ if kind.size() < 4 && !kind.is_pointer() && kind != WChar => {
            let n = kind.size();
            let mut b = [0u8; 8];
            b[..n].copy_from_slice(&arg.slot.0[..n]);
            let shift = 64 - 8 * n as u32;
            let raw = u64::from_le_bytes(b) << shift;
            let v = match kind.number_class() {
                NumberClass::Signed => ((raw as i64) >> shift) as i32,
                _ => (raw >> shift) as i32,
            };
            arg.slot.0[..4].copy_from_slice(&v.to_ne_bytes());
            arg.ctype = CType::Scalar(Int);
        }
        _ => {}
    }
}

impl CArgObject {
    /// Wraps a converted value, tagged with its ctypes type code for `repr`.
    pub fn new(tag: char, value: ArgValue) -> CArgObject {
        CArgObject { tag, value: ArgValueCell(value) }
    }
}
