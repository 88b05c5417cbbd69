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
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
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

impl Direction {
    /// The direction a `paramflags` flag gives (its bits beyond these three ignored, as
    /// in ctypes); None for the combinations ctypes refuses.
    fn of_flag(flag: i32) -> Option<Direction> {
        match i64::from(flag) & (FIN | FOUT | FLCID) {
            0 | FIN => Some(Direction::In),
            x if x == FIN | FOUT => Some(Direction::InOut),
            x if x == FIN | FLCID => Some(Direction::Lcid),
            FOUT => Some(Direction::Out),
            _ => None,
        }
    }
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
            let direction = Direction::of_flag(flag).ok_or_else(|| PyTypeError::new_err(format!("paramflag value {flag} not supported")))?;
            // argtypes has one type per flag (checked above).
            if let (Direction::Out, Some(t)) = (direction, argtypes.as_ref().and_then(|types| types.get(i))) {
                if !is_out_type(t) {
                    return Err(PyTypeError::new_err(format!("'out' parameter {} must be a pointer type, not {}", i.saturating_add(1), type_name(t))));
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
        let shapes: Vec<Shape> = self.params.iter().map(|p| Shape { direction: p.direction, named: p.name.is_some(), has_default: p.default.is_some() }).collect();
        let keywords = kwargs.map_or(0, |k| k.len());
        let keyword = |i: usize| -> PyResult<Option<Bound<'py, PyAny>>> {
            match (kwargs, self.params.get(i).and_then(|p| p.name.as_ref())) {
                (Some(kwargs), Some(name)) => kwargs.get_item(name.bind(py)),
                _ => Ok(None),
            }
        };
        let (sources, refusal) = sources(&shapes, args.len(), keywords, keyword)?;
        let mut argtypes = Some(argtypes);
        let mut types: Option<Vec<Bound<'py, PyAny>>> = None;
        let mut values = Vec::with_capacity(self.params.len());
        for (i, (p, source)) in self.params.iter().zip(sources).enumerate() {
            values.push(match source {
                // `sources` gives positions below args.len() only.
                #[allow(clippy::indexing_slicing)]
                Source::Positional(k) => args[k].clone(),
                Source::Keyword(value) => value,
                Source::Default => p.default.as_ref().map_or_else(|| py.None().into_bound(py), |d| d.bind(py).clone()),
                Source::Zero => 0i32.into_pyobject(py)?.into_any(),
                Source::NewOutput => {
                    if let (None, Some(argtypes)) = (&types, argtypes.take()) {
                        types = Some(argtypes()?);
                    }
                    let t = types.as_ref().and_then(|t| t.get(i)).ok_or_else(|| PyValueError::new_err("paramflags must have the same length as argtypes"))?;
                    new_output(t, i)?
                }
            });
        }
        match refusal {
            None => {}
            Some(Refusal::Missing(i)) => {
                return Err(PyTypeError::new_err(match self.params.get(i).and_then(|p| p.name.as_ref()) {
                    Some(name) => format!("required argument '{}' missing", name.bind(py)),
                    None => "not enough arguments".to_owned(),
                }))
            }
            Some(Refusal::Count { taken, given }) => return Err(PyTypeError::new_err(format!("call takes exactly {taken} arguments ({given} given)"))),
        }
        let outputs = self.params.iter().enumerate().filter_map(|(i, p)| match p.direction {
            Direction::InOut => Some((i, false)),
            Direction::Out => Some((i, true)),
            Direction::In | Direction::Lcid => None,
        });
        Ok(CallArgs { values, outputs: outputs.collect() })
    }
}

/// What the arrangement of a call needs to know of one parameter.
#[derive(Clone, Copy)]
struct Shape {
    direction: Direction,
    named: bool,
    has_default: bool,
}

/// Where one parameter's value comes from in one call; `V` is a keyword argument's value.
#[derive(Debug, PartialEq, Eq)]
enum Source<V> {
    /// The caller's positional argument at this index.
    Positional(usize),
    /// The caller's keyword argument of the parameter's name.
    Keyword(V),
    /// The parameter's default.
    Default,
    /// Zero: a flag-5 parameter without a default.
    Zero,
    /// A new instance of what the output parameter's type points to.
    NewOutput,
}

/// Why a call's arguments do not fit the parameters.
#[derive(Debug, PartialEq, Eq)]
enum Refusal {
    /// Parameter `i` (0-based) takes a value from the caller and got none.
    Missing(usize),
    /// The parameters took `taken` of the `given` arguments.
    Count { taken: usize, given: usize },
}

/// Where each parameter's value comes from (ctypes' `_build_callargs` and `_get_arg`),
/// for `positional` positional and `keywords` keyword arguments, `keyword(i)` giving
/// the keyword argument naming parameter `i` if there is one: an in parameter takes the
/// next positional argument — counted together with the keyword arguments taken so
/// far, as ctypes counts them —, else its keyword argument, else its default; an output
/// parameter its default or a new instance; a flag-5 parameter its default or zero.
/// The sources come up to the first parameter that gets no value, with the refusal.
fn sources<V, E>(params: &[Shape], positional: usize, keywords: usize, mut keyword: impl FnMut(usize) -> Result<Option<V>, E>) -> Result<(Vec<Source<V>>, Option<Refusal>), E> {
    let mut taken = 0usize;
    let mut sources = Vec::with_capacity(params.len());
    for (i, p) in params.iter().enumerate() {
        let source = match p.direction {
            Direction::Lcid if p.has_default => Source::Default,
            Direction::Lcid => Source::Zero,
            Direction::Out if p.has_default => Source::Default,
            Direction::Out => Source::NewOutput,
            Direction::In | Direction::InOut if taken < positional => Source::Positional(taken),
            Direction::In | Direction::InOut => match if p.named { keyword(i)? } else { None } {
                Some(value) => Source::Keyword(value),
                None if p.has_default => Source::Default,
                None => return Ok((sources, Some(Refusal::Missing(i)))),
            },
        };
        if matches!(source, Source::Positional(_) | Source::Keyword(_)) {
            taken = taken.saturating_add(1);
        }
        sources.push(source);
    }
    let given = positional.saturating_add(keywords);
    Ok((sources, (given != taken).then_some(Refusal::Count { taken, given })))
}

/// A fresh value for output parameter `index` (0-based) of type `t`: an array
/// type's instance, or an instance of what a pointer type points to.
fn new_output<'py>(t: &Bound<'py, PyAny>, index: usize) -> PyResult<Bound<'py, PyAny>> {
    let py = t.py();
    let not_pointer = || PyTypeError::new_err(format!("'out' parameter {} must be a pointer type, not {}", index.saturating_add(1), type_name(t)));
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
        None => Err(PyTypeError::new_err(format!("'out' parameter {}: the pointer type {} has no target type yet", index.saturating_add(1), type_name(t)))),
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
            #[allow(clippy::indexing_slicing)] // outputs index the parameters, which values has one each of
            let v = &self.values[i];
            out.push(if output_only { v.call_method0(pyo3::intern!(py, "__ctypes_from_outparam__"))? } else { v.clone() });
        }
        match <[Bound<'py, PyAny>; 1]>::try_from(out) {
            Ok([one]) => Ok(one),
            Err(out) => Ok(PyTuple::new(py, out)?.into_any()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{sources, Direction, Refusal, Shape, Source};

    fn shape(direction: Direction, named: bool, has_default: bool) -> Shape {
        Shape { direction, named, has_default }
    }

    /// The sources for `positional` positional arguments and keyword arguments naming
    /// the parameters at `named` (each found under that name: its value is its index).
    fn arrange(params: &[Shape], positional: usize, named: &[usize]) -> (Vec<Source<usize>>, Option<Refusal>) {
        let keyword = |i: usize| Ok::<_, ()>(named.contains(&i).then_some(i));
        sources(params, positional, named.len(), keyword).expect("no lookup fails")
    }

    #[test]
    fn flags_give_ctypes_directions() {
        assert_eq!(Direction::of_flag(0), Some(Direction::In));
        assert_eq!(Direction::of_flag(1), Some(Direction::In));
        assert_eq!(Direction::of_flag(2), Some(Direction::Out));
        assert_eq!(Direction::of_flag(3), Some(Direction::InOut));
        assert_eq!(Direction::of_flag(5), Some(Direction::Lcid));
        assert_eq!(Direction::of_flag(1 | 8), Some(Direction::In)); // other bits ignored
        assert_eq!(Direction::of_flag(4), None);
        assert_eq!(Direction::of_flag(6), None);
        assert_eq!(Direction::of_flag(7), None);
    }

    #[test]
    fn in_parameters_take_positionals_then_keywords_then_defaults() {
        let params = [shape(Direction::In, true, false), shape(Direction::In, true, false), shape(Direction::In, true, true)];
        assert_eq!(arrange(&params, 2, &[]), (vec![Source::Positional(0), Source::Positional(1), Source::Default], None));
        assert_eq!(arrange(&params, 1, &[1]), (vec![Source::Positional(0), Source::Keyword(1), Source::Default], None));
        assert_eq!(arrange(&params, 0, &[1, 0]), (vec![Source::Keyword(0), Source::Keyword(1), Source::Default], None));
        assert_eq!(arrange(&params, 1, &[2]), (vec![Source::Positional(0)], Some(Refusal::Missing(1))));
    }

    #[test]
    fn outputs_and_flag_five_take_no_argument() {
        let params = [shape(Direction::Lcid, false, false), shape(Direction::In, false, false), shape(Direction::Out, true, false), shape(Direction::Out, true, true), shape(Direction::InOut, true, false)];
        let expected = vec![Source::Zero, Source::Positional(0), Source::NewOutput, Source::Default, Source::Positional(1)];
        assert_eq!(arrange(&params, 2, &[]), (expected, None));
    }

    #[test]
    fn unused_arguments_are_refused_with_the_count() {
        let params = [shape(Direction::In, true, false)];
        let (taken, refusal) = arrange(&params, 2, &[]);
        assert_eq!(taken, vec![Source::Positional(0)]);
        assert_eq!(refusal, Some(Refusal::Count { taken: 1, given: 2 }));
        // A keyword naming no parameter counts as given, not taken.
        assert_eq!(arrange(&params, 1, &[5]).1, Some(Refusal::Count { taken: 1, given: 2 }));
    }
}
