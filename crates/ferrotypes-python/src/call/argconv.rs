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

use crate::call::ndpointer::NdRequirements;
use crate::call::value::{pointer_slot, ArgValue, CArgObject, Held, Passed};
use crate::call::zerocopy::{self, Pointee};
use crate::data::cdata::CData;
use crate::data::families::simple::SimpleData;
use crate::support::python::class_attribute;
use crate::support::scalar::{self, KeepAlive};
use crate::support::stdlib_ctypes;
use crate::types::typeinfo::{info_of, stand_in, InfoKind, TypeInfo};


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
    /// refuses it, to a stdlib instance of the same layout (`stdlib_record`).
    Record { cls: Py<PyType>, from_param: Py<PyAny>, info: Py<TypeInfo> },
    /// Any other type: its `from_param` is called and the result converted. `record`
    /// is the type when it is a record passed by value: the result must then be one
    /// (see [`record_param`]).
    FromParam { from_param: Py<PyAny>, ctype: Option<CType>, record: Option<Py<PyAny>> },
    /// A parameter type with a `_nonnull_` message (`ferrotypes.cdecl`'s `nonnull`
    /// parameters): None raises `ValueError(message)` instead of passing NULL; anything
    /// else converts as the type's own converter `inner` does.
    NonNull { inner: Box<ArgConv>, message: Py<PyAny> },
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
            ArgConv::NonNull { inner, message } => {
                visit.call(message)?;
                inner.traverse(visit)
            }
        }
    }

    /// The converter for one `argtypes` entry, or `TypeError` when it has no
    /// `from_param`.
    pub fn for_argtype(argtype: &Bound<'_, PyAny>, index: usize) -> PyResult<ArgConv> {
        let py = argtype.py();
        // Only classes carry it (cdecl makes them); most argtypes have none, so it is
        // looked up without raising.
        let nonnull = argtype.cast::<PyType>().ok().and_then(|class| class_attribute(class, intern!(py, "_nonnull_")));
        if let Some(message) = nonnull {
            let inner = Box::new(Self::for_argtype_of_value(argtype, index)?);
            return Ok(ArgConv::NonNull { inner, message: message.unbind() });
        }
        Self::for_argtype_of_value(argtype, index)
    }

    /// [`for_argtype`](Self::for_argtype) without the `_nonnull_` check.
    fn for_argtype_of_value(argtype: &Bound<'_, PyAny>, index: usize) -> PyResult<ArgConv> {
        let py = argtype.py();
        let from_param = match argtype.getattr(intern!(py, "from_param")) {
            Ok(from_param) => from_param,
            Err(_) => match argtype.cast::<PyType>().ok().and_then(stand_in) {
                Some(ctype) => return Self::for_argtype_of_value(ctype.as_any(), index),
                None => return Err(PyTypeError::new_err(format!("item {} in _argtypes_ has no from_param method", index.saturating_add(1)))),
            },
        };
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
                // A scalar larger than a slot (`long double _Complex`) is converted by
                // its from_param into an instance, passed from the instance's memory.
                InfoKind::Simple { scalar, swapped: false, .. } if is_default(|d| &d.simple) && scalar.size() <= std::mem::size_of::<Slot>() => {
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
            ArgConv::NonNull { inner, .. } => inner.ctype(),
        }
    }

    /// What the converter is, for the recipe's readable form ([`crate::call::recipe`]).
    pub fn describe(&self) -> String {
        match self {
            ArgConv::Simple { kind, .. } => format!("simple '{}'", kind.code()),
            ArgConv::Pointer { pointee, .. } => format!("zero-copy {}", pointee.describe()),
            ArgConv::NdPointer { .. } => "ndpointer".to_owned(),
            ArgConv::Record { info, .. } => format!("record of {} bytes", info.get().size),
            ArgConv::FromParam { record: Some(_), .. } => "its from_param, then a record".to_owned(),
            ArgConv::FromParam { .. } => "its from_param".to_owned(),
            ArgConv::NonNull { inner, .. } => format!("{}, None refused (nonnull)", inner.describe()),
        }
    }

    /// Whether the argument is always converted to a scalar or a record of the
    /// parameter's type without a user's `from_param` deciding how (the register path
    /// may be used).
    pub fn is_native(&self) -> bool {
        match self {
            ArgConv::FromParam { .. } => false,
            ArgConv::NonNull { inner, .. } => inner.is_native(),
            _ => true,
        }
    }

    /// For a `NonNull` converter given None: its `ValueError`.
    fn refuse_null(&self, value: &Bound<'_, PyAny>) -> PyResult<()> {
        match self {
            ArgConv::NonNull { message, .. } if value.is_none() => {
                Err(crate::support::errors::null_argument_error(value.py(), message.clone_ref(value.py())))
            }
            _ => Ok(()),
        }
    }

    /// Converts argument `value`, the `position`-th (1-based, for messages), into
    /// `slot` (a scalar) or in place (a record passed by value: its address is in the
    /// result); what the value needs kept alive until the call returns goes into
    /// `held`. The one conversion of every call path but the quickest, which takes the
    /// exact types of [`crate::call::recipe::ExactArg`] the same way (tests compare
    /// them). Written into the caller's slot: most arguments are scalars, and an
    /// [`ArgValue`] built and moved per argument costs a call a few percent; and
    /// inlined, so that the common arms' [`Passed`] costs nothing (measured: out of
    /// line it adds a hundred instructions a call).
    #[inline(always)]
    pub fn convert_into<'py>(&self, value: &Bound<'py, PyAny>, position: usize, slot: &mut Slot, held: &mut Held<'py>) -> PyResult<Passed<'_>> {
        let py = value.py();
        let foreign = match self {
            ArgConv::NonNull { inner, .. } => {
                self.refuse_null(value)?;
                return inner.convert_into(value, position, slot, held);
            }
            ArgConv::Simple { kind, cls } => match simple_foreign(*kind, value) {
                Some(foreign) => foreign,
                None => {
                    return match simple_param_into(cls.bind(py), *kind, value, slot) {
                        Ok(kept) => {
                            held.keep(kept.map(|k| k.into_bound(py)));
                            Ok(Passed::Scalar(*kind))
                        }
                        Err(err) => Ok(held.take(py, stdlib_or(value, cls.bind(py).as_any(), err)?, slot)),
                    };
                }
            },
            ArgConv::Pointer { pointee, .. } => match zerocopy::pointer_arg(value, pointee) {
                Some(foreign) => foreign,
                None => return Ok(held.take(py, self.pointer_fallback(value, position)?, slot)),
            },
            ArgConv::NdPointer { from_param, requirements } => match requirements.accept(value) {
                Some(view) => Ok(zerocopy::Foreign::into(view)),
                None => return Ok(held.take(py, convert_unknown(&from_param.bind(py).call1((value,))?, position)?, slot)),
            },
            ArgConv::Record { cls, from_param, info } => {
                let info = info.get();
                if value.is_instance(cls.bind(py))? {
                    let address = value.cast::<CData>()?.get().live_address(py)?;
                    // The caller's reference keeps the instance alive for the call.
                    return Ok(Passed::Record(address, &info.ctype));
                }
                let converted = match from_param.bind(py).call1((value,)) {
                    Ok(converted) => record_param(&converted, cls.bind(py), &info.ctype, position),
                    Err(err) => stdlib_record(value, cls.bind(py), err),
                };
                return Ok(held.take(py, converted?, slot));
            }
            ArgConv::FromParam { from_param, record, ctype } => {
                let converted = from_param.bind(py).call1((value,))?;
                let converted = match (record, ctype) {
                    (Some(cls), Some(ctype)) => record_param(&converted, cls.bind(py), ctype, position),
                    _ => convert_unknown(&converted, position),
                };
                return Ok(held.take(py, converted?, slot));
            }
        };
        let foreign = foreign?;
        *slot = pointer_slot(foreign.address);
        held.view(foreign.view);
        Ok(Passed::Scalar(ScalarKind::VoidPtr))
    }
}

/// How `POINTER(T)`'s `from_param` takes a value, in the cases it decides without
/// `_as_parameter_` ([`pointer_case`]).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum PointerCase {
    /// Passed as it is: None (NULL), an instance of the pointer type, a `byref` of a
    /// `T`, an array of `T`s or a pointer to them (the address they hold or are).
    AsIs,
    /// An instance of `T`: passed by reference (`byref`).
    ByReference,
}

/// Whether, and how, a parameter of pointer type `cls` pointing to `target` (None
/// while it has none) takes `value` by its own rules — ctypes' `PyCPointerType.from_param`
/// without `_as_parameter_` and the refusal message. The one statement of the rule:
/// `from_param` itself (through [`_pointer_param_case`]) and the converters
/// ([`ArgConv::Pointer`]) call it; the quickest path takes the exact-type subset of
/// these cases (`ExactArg::Ref`, compared with it by the tests).
pub fn pointer_case(value: &Bound<'_, PyAny>, cls: &Bound<'_, PyType>, target: Option<&Bound<'_, PyAny>>) -> PyResult<Option<PointerCase>> {
    let py = value.py();
    if value.is_none() || value.is_instance(cls)? {
        return Ok(Some(PointerCase::AsIs));
    }
    let Some(target) = target else { return Ok(None) };
    if let Ok(carg) = value.cast::<CArgObject>() {
        let of_target = match carg.get().target() {
            Some(obj) => obj.bind(py).is_instance(target)?,
            None => false,
        };
        return Ok(of_target.then_some(PointerCase::AsIs));
    }
    let Ok(cdata) = value.cast::<CData>() else { return Ok(None) };
    if value.is_instance(target)? {
        return Ok(Some(PointerCase::ByReference));
    }
    let target = target.cast::<PyType>()?;
    let points_into_targets = match &cdata.get().info().get().kind {
        InfoKind::Array { element, .. } => element.bind(py).is_subclass(target)?,
        InfoKind::Pointer { target: own, .. } => match own.get_obj_type(py) {
            Some(own) => own.bind(py).is_subclass(target)?,
            None => false,
        },
        _ => false,
    };
    Ok(points_into_targets.then_some(PointerCase::AsIs))
}

/// [`pointer_case`] for `PyCPointerType.from_param`: `"as is"`, `"by reference"`, or
/// None when `_as_parameter_` or the refusal decides.
#[pyfunction]
pub fn _pointer_param_case(cls: &Bound<'_, PyType>, value: &Bound<'_, PyAny>) -> PyResult<Option<&'static str>> {
    let target = cls.getattr_opt(intern!(cls.py(), "_type_"))?.filter(|t| !t.is_none());
    Ok(pointer_case(value, cls, target.as_ref())?.map(|case| match case {
        PointerCase::AsIs => "as is",
        PointerCase::ByReference => "by reference",
    }))
}

/// [`pointer_case`]'s value for a `POINTER(target)` (class `cls`) parameter, converted;
/// None when it is none of those cases (`from_param` then decides).
fn own_pointer_arg(value: &Bound<'_, PyAny>, cls: &Bound<'_, PyType>, target: &Bound<'_, PyType>) -> Option<PyResult<ArgValue>> {
    let py = value.py();
    let converted = match pointer_case(value, cls, Some(target.as_any())) {
        Ok(case) => case?,
        Err(err) => return Some(Err(err)),
    };
    Some(match converted {
        PointerCase::AsIs if value.is_none() => Ok(ArgValue::pointer(0, None)),
        PointerCase::AsIs => match value.cast::<CArgObject>() {
            Ok(carg) => Ok(carg.get().copy_value(py)),
            Err(_) => value.cast::<CData>().map_err(PyErr::from).and_then(cdata_value),
        },
        PointerCase::ByReference => match value.cast::<CData>() {
            Ok(cdata) => cdata.get().live_address(py).map(|address| ArgValue::pointer(address as usize, Some(value.clone().unbind()))),
            Err(err) => Err(err.into()),
        },
    })
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
        // A converted value's own (`c_int.from_param(3)`) has no target: ctypes' holds None.
        Ok(carg) => match carg.get().target() {
            Some(target) => format!("pointer to {}", scalar::type_name(target.bind(converted.py()))),
            None => "pointer to NoneType".to_owned(),
        },
        Err(_) => scalar::type_name(converted),
    };
    Err(PyTypeError::new_err(format!("expected {name} instance instead of {given}")))
}

/// Whether the bound method `from_param` belongs to `c_char_p` (or a subclass).
fn is_char_pointer_type(from_param: &Bound<'_, PyAny>) -> bool {
    let owner = from_param.getattr(intern!(from_param.py(), "__self__"));
    owner.is_ok_and(|o| info_of(&o).is_ok_and(|i| matches!(i.get().scalar(), Some((ScalarKind::CharPtr, _)))))
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
    match info_of(cls).ok().and_then(|info| zerocopy::stdlib_value(value, cls, info.get())) {
        Some(converted) => converted,
        None => Err(err),
    }
}

/// A stdlib ctypes structure or union of the layout of record class `cls`, passed by
/// value from its memory (which the argument keeps); else `err`, or for a stdlib
/// instance of another layout the refusal naming both libraries.
fn stdlib_record(value: &Bound<'_, PyAny>, cls: &Bound<'_, PyType>, err: PyErr) -> PyResult<ArgValue> {
    match stdlib_ctypes::adopted(value, cls)? {
        Some(own) => cdata_value(own.cast::<CData>()?),
        None if stdlib_ctypes::is_stdlib_cdata(value) => Err(stdlib_ctypes::mismatch(cls, value)),
        None => Err(err),
    }
}

/// A simple type's `from_param` refusing `value` for a parameter of `kind`, in the
/// running version's words: 3.11 says "wrong type" for every kind, 3.12 for the
/// pointer kinds (its numbers and characters give their conversion's own error),
/// 3.13 names the pointer type and the value's.
pub fn wrong_type(kind: ScalarKind, value: &Bound<'_, PyAny>) -> PyErr {
    let pointer_name = match kind {
        ScalarKind::CharPtr => "c_char_p",
        ScalarKind::WCharPtr => "c_wchar_p",
        ScalarKind::VoidPtr => "c_void_p",
        _ => return PyTypeError::new_err("wrong type"),
    };
    if crate::support::python::python_at_least(value.py(), (3, 13)) {
        PyTypeError::new_err(format!("'{}' object cannot be interpreted as ctypes.{pointer_name}", scalar::type_name(value)))
    } else {
        PyTypeError::new_err("wrong type")
    }
}

/// The built-in simple types' parameter conversion of `value` itself, not of its
/// `_as_parameter_` (which their `from_param` tries after it fails).
pub fn simple_param(cls: &Bound<'_, PyType>, kind: ScalarKind, value: &Bound<'_, PyAny>) -> PyResult<ArgValue> {
    let mut slot = Slot::ZERO;
    let keep = simple_param_direct_into(cls, kind, value, &mut slot)?;
    Ok(ArgValue::scalar(kind, slot, keep))
}

/// A built-in simple type's conversion for a call, into a slot: `value`, else its
/// `_as_parameter_`; what the value must keep alive.
#[inline]
fn simple_param_into(cls: &Bound<'_, PyType>, kind: ScalarKind, value: &Bound<'_, PyAny>, slot: &mut Slot) -> PyResult<KeepAlive> {
    match simple_param_direct_into(cls, kind, value, slot) {
        Ok(keep) => Ok(keep),
        Err(err) => match as_parameter(value)? {
            Some(inner) => with_recursion_guard(value.py(), || simple_param_into(cls, kind, &inner, slot)),
            None => Err(err),
        },
    }
}

/// [`simple_param`] writing into a slot.
#[inline(always)]
fn simple_param_direct_into(cls: &Bound<'_, PyType>, kind: ScalarKind, value: &Bound<'_, PyAny>, slot: &mut Slot) -> PyResult<KeepAlive> {
    use ScalarKind::*;
    // The common cases first: an exact int or float for a numeric parameter.
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
    // 3.12 gives a number's or character's own conversion error (`own`).
    let py = value.py();
    let refuse = || wrong_type(kind, value);
    let refusal = |own: PyErr| if crate::support::python::python_at_least(py, (3, 12)) { own } else { refuse() };
    let copy = |v: ArgValue, slot: &mut Slot| {
        *slot = v.slot;
        v.keep
    };
    if value.is_instance(cls.as_any())? {
        return Ok(copy(cdata_value(value.cast::<CData>()?)?, slot));
    }
    // Of the `byref`-like objects ctypes takes a `byref()` (tag 'P') for `c_void_p`,
    // and for `c_char_p`/`c_wchar_p` a `byref` of their character; no other (not even
    // a `from_param` result of the parameter's own type).
    if let Ok(carg) = value.cast::<CArgObject>() {
        let c = carg.get();
        let taken = match kind {
            VoidPtr => c.tag() == 'P',
            CharPtr => is_byref_of(c, value.py(), Char),
            WCharPtr => is_byref_of(c, value.py(), WChar),
            _ => false,
        };
        if taken {
            return Ok(copy(c.copy_value(value.py()), slot));
        }
    }
    let accepted = match kind {
        Bool | VariantBool | Float | Double | LongDouble | Char | WChar | FloatComplex | DoubleComplex => scalar::to_bytes(value, kind, &mut slot.0).map_err(refusal),
        k if k.is_integer() => {
            if value.is_instance_of::<PyInt>() {
                scalar::to_bytes(value, kind, &mut slot.0)
            } else {
                // What the conversion would say, without taking the value.
                let mut scratch = Slot::ZERO;
                Err(scalar::to_bytes(value, kind, &mut scratch.0).err().map_or_else(refuse, refusal))
            }
        }
        CharPtr if value.is_none() || value.is_instance_of::<PyBytes>() => scalar::to_bytes(value, kind, &mut slot.0),
        WCharPtr if value.is_none() || value.is_instance_of::<PyString>() => scalar::to_bytes(value, kind, &mut slot.0),
        CharPtr | WCharPtr if points_to_chars(value, if kind == CharPtr { Char } else { WChar }) => Ok(copy(cdata_value(value.cast::<CData>()?)?, slot)),
        VoidPtr => void_pointer_param(value).map(|v| copy(v, slot)).map_err(|_| CData::freed_error(value).unwrap_or_else(refuse)),
        ObjectPtr => scalar::to_bytes(value, kind, &mut slot.0),
        _ => Err(refuse()),
    };
    accepted
}

/// Whether `carg` is a `byref()` of an instance of the simple type of `character`
/// (what `c_char_p` and `c_wchar_p` parameters take as their strings).
fn is_byref_of(carg: &CArgObject, py: Python<'_>, character: ScalarKind) -> bool {
    match (carg.tag(), carg.target()) {
        ('P', Some(target)) => target.bind(py).cast::<CData>().is_ok_and(|d| d.get().info().get().scalar().is_some_and(|(k, _)| k == character)),
        _ => false,
    }
}

/// Whether a built-in simple type's `from_param` returns `value` itself, not a
/// converted copy, as ctypes' does: for `c_void_p` an array, a pointer or a `byref()`,
/// for `c_char_p`/`c_wchar_p` an array of or pointer to their characters or a
/// `byref` of one (an instance of the type itself is returned by every kind).
pub fn from_param_returns_itself(kind: ScalarKind, value: &Bound<'_, PyAny>) -> bool {
    let character = match kind {
        ScalarKind::VoidPtr => {
            return match value.cast::<CArgObject>() {
                Ok(carg) => carg.get().tag() == 'P',
                Err(_) => value.cast::<CData>().is_ok_and(|d| matches!(d.get().info().get().kind, InfoKind::Array { .. } | InfoKind::Pointer { .. })),
            };
        }
        ScalarKind::CharPtr => ScalarKind::Char,
        ScalarKind::WCharPtr => ScalarKind::WChar,
        _ => return false,
    };
    match value.cast::<CArgObject>() {
        Ok(carg) => is_byref_of(carg.get(), value.py(), character),
        Err(_) => points_to_chars(value, character),
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
        if c.tag() == 'P' {
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
        if matches!(info.kind, InfoKind::Pointer { .. } | InfoKind::Function { .. } | InfoKind::Array { .. })
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
    let address = data.live_address(py)?;
    let keep = Some(cdata.clone().into_any().unbind());
    match &info.kind {
        // Too large for a slot: passed from the instance's own memory.
        InfoKind::Simple { scalar, .. } if scalar.size() > std::mem::size_of::<Slot>() => {
            Ok(ArgValue { ctype: CType::Scalar(*scalar), slot: Slot::ZERO, record: Some(address), keep, view: None })
        }
        InfoKind::Simple { scalar, .. } => {
            let mut slot = Slot::ZERO;
            // SAFETY: a simple instance's memory holds one scalar of its kind.
            unsafe { std::ptr::copy_nonoverlapping(address, slot.0.as_mut_ptr(), scalar.size()) };
            Ok(ArgValue::scalar(*scalar, slot, keep))
        }
        InfoKind::Pointer { .. } | InfoKind::Function { .. } => {
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
        // Like ctypes (which asks CPython for a C wide string here, unlike for
        // c_wchar_p and c_void_p argtypes): a NUL inside would silently cut it short.
        let buffer = scalar::wide_buffer(s)?;
        let nul_inside = buffer.as_bytes().split_last_chunk::<4>().is_some_and(|(text, _nul)| text.chunks_exact(4).any(|u| u == [0; 4]));
        if nul_inside {
            return Err(pyo3::exceptions::PyValueError::new_err("embedded null character"));
        }
        return Ok(wide_buffer_arg(buffer));
    }
    // A stdlib ctypes object passes as ferrotypes' own of its layout would.
    if let Some(own) = stdlib_ctypes::twin(value)? {
        return convert_unknown(&own, position);
    }
    match as_parameter(value)? {
        Some(inner) => with_recursion_guard(value.py(), || convert_unknown(&inner, position)),
        None => Err(PyTypeError::new_err(format!("Don't know how to convert parameter {position}"))),
    }
}

/// A `wchar_t *` argument pointing at a NUL-terminated copy of `s`, which it keeps.
fn wide_string_arg(s: &Bound<'_, PyString>) -> PyResult<ArgValue> {
    Ok(wide_buffer_arg(scalar::wide_buffer(s)?))
}

/// A `wchar_t *` argument pointing at `buffer` (from [`scalar::wide_buffer`]), which it keeps.
fn wide_buffer_arg(buffer: Bound<'_, PyBytes>) -> ArgValue {
    let address = buffer.as_bytes().as_ptr() as usize;
    ArgValue::scalar(ScalarKind::WCharPtr, pointer_slot(address), Some(buffer.into_any().unbind()))
}


/// Runs `f` one level deeper in CPython's recursion limit, so an endless chain of
/// `_as_parameter_` ends in RecursionError rather than a stack overflow.
pub(crate) fn with_recursion_guard<T>(py: Python<'_>, f: impl FnOnce() -> PyResult<T>) -> PyResult<T> {
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
pub(crate) fn as_parameter<'py>(value: &Bound<'py, PyAny>) -> PyResult<Option<Bound<'py, PyAny>>> {
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
            let [b0, b1, b2, b3, ..] = arg.slot.0;
            let f = f32::from_ne_bytes([b0, b1, b2, b3]);
            arg.slot.0[..8].copy_from_slice(&(f as f64).to_ne_bytes());
            arg.ctype = CType::Scalar(Double);
        }
        _ if kind.size() < 4 && !kind.is_pointer() && kind != WChar => {
            // One or two bytes (char, short and their kin), widened as C does.
            let [b0, b1, ..] = arg.slot.0;
            let v = match (kind.size(), kind.number_class()) {
                (1, NumberClass::Signed) => i32::from(b0 as i8),
                (1, _) => i32::from(b0),
                (_, NumberClass::Signed) => i32::from(i16::from_ne_bytes([b0, b1])),
                _ => i32::from(u16::from_ne_bytes([b0, b1])),
            };
            arg.slot.0[..4].copy_from_slice(&v.to_ne_bytes());
            arg.ctype = CType::Scalar(Int);
        }
        _ => {}
    }
}

