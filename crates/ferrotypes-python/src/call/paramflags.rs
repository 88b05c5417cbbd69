//! `paramflags`: parameter directions, names and defaults for a prototype's instance,
//! `proto((name, library), paramflags)`, as ctypes has them.
//!
//! `paramflags` is a tuple with one `(flag[, name[, default]])` tuple per entry of
//! `argtypes`. The flag says which way the value goes: 1 (or 0) in, 2 out, 3 in and
//! out, 5 in and taken from the default (ctypes' "lcid" parameter, zero when there is
//! no default). Parameters with a name may be passed as keyword arguments; a parameter
//! with a default may be left out. An output parameter without a default is allocated
//! for each call (an instance of the type its pointer type points to, or of the
//! array type) and passed by reference; after the call the output values are
//! returned instead of the C result: one value alone, several as a tuple, in
//! parameter order (`__ctypes_from_outparam__` of each output-only value, in-out
//! values as passed).
//!
//! What it does not do: call the function. [`ParamFlags::arrange`] turns one call's
//! Python arguments into the full argument list the function module converts and
//! calls with; [`CallArgs::result`] picks the values to return.

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::pyclass::{PyTraverseError, PyVisit};
use pyo3::types::{PyDict, PyString, PyTuple, PyType};

use ferrotypes_core::ctype::ScalarKind;

use crate::types::typeinfo::{info_of, InfoKind};

/// `PARAMFLAG_FIN`: the caller supplies the value.
const FIN: i64 = 1;
/// `PARAMFLAG_FOUT`: the value is returned after the call.
const FOUT: i64 = 2;
/// `PARAMFLAG_FLCID`: with `FIN`, the value comes from the default (or is zero).
const FLCID: i64 = 4;

/// Which way one parameter's value goes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Direction {
    /// Flag 0 or 1: from the caller.
    In,
    /// Flag 3: from the caller, and returned as passed.
    InOut,
    /// Flag 2: allocated here (or the default), returned after the call.
    Out,
    /// Flag 5: the default, or zero; never from the caller.
    Lcid,
}

struct Param {
    direction: Direction,
    /// The name (a `str`, or None as given: ctypes names that "None" in messages).
    name: Option<Py<PyAny>>,
    default: Option<Py<PyAny>>,
}

/// A function's validated `paramflags`.
pub struct ParamFlags {
    params: Vec<Param>,
}

/// ctypes' message for a malformed entry.
fn malformed() -> PyErr {
    PyTypeError::new_err("paramflags must be a sequence of (int [,string [,value]]) tuples")
}

/// How a type is named in messages: its `__name__` (ctypes prints `tp_name`).
fn type_name(t: &Bound<'_, PyAny>) -> String {
    match t.cast::<PyType>() {
        Ok(cls) => cls.name().map(|n| n.to_string()).unwrap_or_default(),
        Err(_) => crate::support::scalar::type_name(t),
    }
}

/// Whether an output parameter of type `t` can be allocated or given: a pointer or
/// array type, or one of the simple pointer types `c_void_p`, `c_char_p`,
/// `c_wchar_p` (which need a default).
fn is_out_type(t: &Bound<'_, PyAny>) -> bool {
    let Ok(info) = info_of(t) else { return false };
    match &info.get().kind {
        InfoKind::Pointer { .. } | InfoKind::Array { .. } => true,
        InfoKind::Simple { scalar, .. } => matches!(scalar, ScalarKind::VoidPtr | ScalarKind::CharPtr | ScalarKind::WCharPtr),
        _ => false,
    }
}

impl ParamFlags {
    /// Validates `paramflags` as ctypes does when a function is made from a library
    /// (None means none). `argtypes` is the class's `_argtypes_`: the length and the
    /// types of output parameters are checked against it when there is one, and
    /// again at each call against the argument types then in force.
    pub fn parse(paramflags: &Bound<'_, PyAny>, argtypes: Option<&Bound<'_, PyAny>>) -> PyResult<Option<ParamFlags>> {
        if paramflags.is_none() {
            return Ok(None);
        }
        let tuple = paramflags.cast::<PyTuple>().map_err(|_| PyTypeError::new_err("paramflags must be a tuple or None"))?;
        let argtypes = match argtypes.filter(|a| !a.is_none()) {
            Some(a) => Some(a.try_iter()?.collect::<PyResult<Vec<_>>>()?),
            None => None,
        };
        if argtypes.as_ref().is_some_and(|a| a.len() != tuple.len()) {
            return Err(PyValueError::new_err("paramflags must have the same length as argtypes"));
        }
        let mut params = Vec::with_capacity(tuple.len());
        for (i, item) in tuple.iter().enumerate() {
            let item = item.cast_into::<PyTuple>().map_err(|_| malformed())?;
            if item.is_empty() || item.len() > 3 {
                return Err(malformed());
            }
            let flag: i32 = item.get_item(0)?.extract().map_err(|_| malformed())?;
            let name = match item.get_item(1) {
                Ok(n) if n.is_none() || n.is_instance_of::<PyString>() => Some(n.unbind()),
                Ok(_) => return Err(malformed()),
                Err(_) => None,
            };
            let default = item.get_item(2).ok().map(Bound::unbind);
            let direction = match i64::from(flag) & (FIN | FOUT | FLCID) {
                0 | FIN => Direction::In,
                x if x == FIN | FOUT => Direction::InOut,
                x if x == FIN | FLCID => Direction::Lcid,
                FOUT => Direction::Out,
                _ => return Err(PyTypeError::new_err(format!("paramflag value {flag} not supported"))),
            };
            if let (Direction::Out, Some(types)) = (direction, &argtypes) {
                if !is_out_type(&types[i]) {
                    return Err(PyTypeError::new_err(format!("'out' parameter {} must be a pointer type, not {}", i + 1, type_name(&types[i]))));
                }
            }
            params.push(Param { direction, name, default });
        }
        Ok(Some(ParamFlags { params }))
    }

    /// How many parameters the flags describe.
    pub fn len(&self) -> usize {
        self.params.len()
    }

    /// Visits the names and defaults (for the collector).
    pub fn traverse(&self, visit: &PyVisit<'_>) -> Result<(), PyTraverseError> {
        for p in &self.params {
            visit.call(&p.name)?;
            visit.call(&p.default)?;
        }
        Ok(())
    }

    /// The full argument list for one call (ctypes' `_build_callargs`): `args` are
    /// the positional arguments, `kwargs` the keyword ones; `argtypes` gives the
    /// types output parameters are allocated from (asked for only when one is).
    pub fn arrange<'py>(
        &self,
        py: Python<'py>,
        args: &[Bound<'py, PyAny>],
        kwargs: Option<&Bound<'py, PyDict>>,
        argtypes: impl FnOnce() -> PyResult<Vec<Bound<'py, PyAny>>>,
    ) -> PyResult<CallArgs<'py>> {
        let mut argtypes = Some(argtypes);
        let mut types: Option<Vec<Bound<'py, PyAny>>> = None;
        let mut consumed = 0usize;
        let mut values = Vec::with_capacity(self.params.len());
        let mut outputs = Vec::new();
        for (i, p) in self.params.iter().enumerate() {
            let value = match p.direction {
                Direction::Lcid => match &p.default {
                    Some(d) => d.bind(py).clone(),
                    None => 0i32.into_pyobject(py)?.into_any(),
                },
                Direction::In | Direction::InOut => {
                    if p.direction == Direction::InOut {
                        outputs.push((i, false));
                    }
                    self.argument(py, p, args, kwargs, &mut consumed)?
                }
                Direction::Out => {
                    outputs.push((i, true));
                    match &p.default {
                        Some(d) => d.bind(py).clone(),
                        None => {
                            if types.is_none() {
                                types = Some((argtypes.take().expect("taken once"))()?);
                            }
                            let t = types.as_ref().and_then(|t| t.get(i)).ok_or_else(|| PyValueError::new_err("paramflags must have the same length as argtypes"))?;
                            new_output(t, i)?
                        }
                    }
                }
            };
            values.push(value);
        }
        let given = args.len() + kwargs.map_or(0, |k| k.len());
        if given != consumed {
            return Err(PyTypeError::new_err(format!("call takes exactly {consumed} arguments ({given} given)")));
        }
        Ok(CallArgs { values, outputs })
    }

    /// The caller's value for an in parameter (ctypes' `_get_arg`): the next
    /// positional argument, else the keyword argument of its name, else its default.
    fn argument<'py>(&self, py: Python<'py>, p: &Param, args: &[Bound<'py, PyAny>], kwargs: Option<&Bound<'py, PyDict>>, consumed: &mut usize) -> PyResult<Bound<'py, PyAny>> {
        if let Some(v) = args.get(*consumed) {
            *consumed += 1;
            return Ok(v.clone());
        }
        if let (Some(kwargs), Some(name)) = (kwargs, &p.name) {
            if let Some(v) = kwargs.get_item(name.bind(py))? {
                *consumed += 1;
                return Ok(v);
            }
        }
        if let Some(d) = &p.default {
            return Ok(d.bind(py).clone());
        }
        Err(PyTypeError::new_err(match &p.name {
            Some(name) => format!("required argument '{}' missing", name.bind(py)),
            None => "not enough arguments".to_owned(),
        }))
    }
}

/// A fresh value for output parameter `index` (0-based) of type `t`: an array
/// type's instance, or an instance of what a pointer type points to.
fn new_output<'py>(t: &Bound<'py, PyAny>, index: usize) -> PyResult<Bound<'py, PyAny>> {
    let py = t.py();
    let not_pointer = || PyTypeError::new_err(format!("'out' parameter {} must be a pointer type, not {}", index + 1, type_name(t)));
    let info = info_of(t).map_err(|_| not_pointer())?;
    let target = match &info.get().kind {
        InfoKind::Array { .. } => return t.call0(),
        InfoKind::Pointer { target, .. } => target.get_obj_type(py),
        InfoKind::Simple { scalar: ScalarKind::VoidPtr | ScalarKind::CharPtr | ScalarKind::WCharPtr, .. } => {
            return Err(PyTypeError::new_err(format!("{} 'out' parameter must be passed as default value", type_name(t))));
        }
        _ => return Err(not_pointer()),
    };
    match target {
        Some(target) => target.bind(py).call0(),
        None => Err(PyTypeError::new_err(format!("'out' parameter {}: the pointer type {} has no target type yet", index + 1, type_name(t)))),
    }
}

/// One call's full argument list, and which of its values are returned.
pub struct CallArgs<'py> {
    /// One value per parameter, in order.
    pub values: Vec<Bound<'py, PyAny>>,
    /// The returned parameters in order: (index, whether output-only).
    outputs: Vec<(usize, bool)>,
}

impl<'py> CallArgs<'py> {
    /// What the call returns (ctypes' `_build_result`): `result` when no parameter is
    /// an output, else the output values (one alone, several as a tuple).
    pub fn result(self, result: Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        if self.outputs.is_empty() {
            return Ok(result);
        }
        let py = result.py();
        let mut out = Vec::with_capacity(self.outputs.len());
        for &(i, output_only) in &self.outputs {
            let v = &self.values[i];
            out.push(if output_only { v.call_method0(pyo3::intern!(py, "__ctypes_from_outparam__"))? } else { v.clone() });
        }
        if out.len() == 1 {
            return Ok(out.pop().expect("one value"));
        }
        Ok(PyTuple::new(py, out)?.into_any())
    }
}
