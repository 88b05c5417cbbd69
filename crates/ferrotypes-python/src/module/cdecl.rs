//! C declarations for Python: `parse_c` runs the core's parser and hands the result to
//! `ferrotypes.cdecl` as plain data (tuples, lists, dicts), which builds the ferrotypes
//! classes from it. Errors in the C source are `ValueError(message, file, line, column)`,
//! which `ferrotypes.cdecl` raises as `CDeclError`.
//!
//! A type is a tuple: `(intern!(py, "void"),)`, `(intern!(py, "int"), c_name)`, `(intern!(py, "float"), c_name)`,
//! `(intern!(py, "ptr"), to, to_const)`, `(intern!(py, "array"), of, len_or_None)`,
//! `("func", ret, [(name, type)], variadic, unspecified)`, `(intern!(py, "record"), index)`,
//! `(intern!(py, "enum"), index)`, `(intern!(py, "named"), typedef_name)`, `(intern!(py, "opaque"), name, size, align)`,
//! `(intern!(py, "aligned"), type, align)`.

use ferrotypes_core::cdecl::constexpr::Value;
use ferrotypes_core::cdecl::model::{DeclKind, FuncType, Model, Type};
use ferrotypes_core::cdecl::parser::{self, ForwardArg, MacroValue, Parser};
use ferrotypes_core::cdecl::CDeclError;
use ferrotypes_core::layout::RecordKind;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::intern;
use pyo3::types::{PyBytes, PyDict, PyList, PyString};
use pyo3::IntoPyObjectExt;

/// Registers `parse_c` and `CUnit` on the extension module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<CUnit>()?;
    m.add_function(wrap_pyfunction!(parse_c, m)?)
}

fn cdecl_error(e: CDeclError) -> PyErr {
    PyValueError::new_err((e.to_string(), e.file, e.line, e.column))
}

/// Parses C declarations (`cdef` text or a header preprocessed with `-dD`).
#[pyfunction]
fn parse_c(py: Python<'_>, source: &str, filename: &str) -> PyResult<CUnit> {
    let source = source.to_string();
    let filename = filename.to_string();
    // Parsing touches no Python object: let other threads run meanwhile.
    let parsed = py.detach(move || parser::parse(&source, &filename));
    parsed.map(|parser| CUnit { parser }).map_err(cdecl_error)
}

/// One parsed source: its declarations, macros and the context to read type names in.
#[pyclass(module = "ferrotypes._ctypes", name = "CUnit")]
pub(crate) struct CUnit {
    parser: Parser,
}

/// The compiler's own typedef names, which no declaration defines.
const BUILTIN_TYPEDEFS: [&str; 3] = ["__builtin_va_list", "__int128_t", "__uint128_t"];

fn type_obj(py: Python<'_>, m: &Model, t: &Type) -> PyResult<Py<PyAny>> {
    match t {
        Type::Void => (intern!(py, "void"),).into_py_any(py),
        Type::Int(k) => (intern!(py, "int"), k.c_name()).into_py_any(py),
        Type::Float(k) => (intern!(py, "float"), k.c_name()).into_py_any(py),
        Type::Pointer { to, to_const } => (intern!(py, "ptr"), type_obj(py, m, to)?, *to_const).into_py_any(py),
        Type::Array { of, len } => (intern!(py, "array"), type_obj(py, m, of)?, *len).into_py_any(py),
        Type::Func(f) => func_obj(py, m, f),
        Type::Record(i) => (intern!(py, "record"), *i).into_py_any(py),
        Type::Enum(i) => (intern!(py, "enum"), *i).into_py_any(py),
        Type::Named(n) if BUILTIN_TYPEDEFS.contains(&n.as_str()) => type_obj(py, m, m.resolve(t)),
        Type::Named(n) => (intern!(py, "named"), n.as_str()).into_py_any(py),
        Type::Opaque { name, size, align } => {
            (intern!(py, "opaque"), name.as_str(), *size, *align).into_py_any(py)
        }
        Type::Aligned { ty, align } => (intern!(py, "aligned"), type_obj(py, m, ty)?, *align).into_py_any(py),
    }
}

fn func_obj(py: Python<'_>, m: &Model, f: &FuncType) -> PyResult<Py<PyAny>> {
    let params = PyList::empty(py);
    for p in &f.params {
        params.append((p.name.as_deref(), type_obj(py, m, &p.ty)?))?;
    }
    (
        intern!(py, "func"),
        type_obj(py, m, &f.ret)?,
        params,
        f.variadic,
        f.unspecified,
    )
        .into_py_any(py)
}

fn decl_kind_name<'py>(py: Python<'py>, kind: &DeclKind) -> &'py Bound<'py, PyString> {
    match kind {
        DeclKind::Function { .. } => intern!(py, "function"),
        DeclKind::Variable { .. } => intern!(py, "variable"),
        DeclKind::Typedef { .. } => intern!(py, "typedef"),
    }
}

fn value_obj(py: Python<'_>, v: &Value) -> PyResult<Py<PyAny>> {
    match v {
        Value::Int(x, k) => (intern!(py, "int"), *x, k.c_name()).into_py_any(py),
        Value::Float(f, k) => (intern!(py, "float"), *f, k.c_name()).into_py_any(py),
        Value::Str(s) => ("str", PyBytes::new(py, s)).into_py_any(py),
        Value::Ptr(p) => (intern!(py, "ptr"), *p).into_py_any(py),
    }
}

#[pymethods]
impl CUnit {
    /// The records and enums, as a dict of `records` and `enums` (see the module doc); the
    /// declarations are fetched by name (`decl`), when first used.
    fn model(&self, py: Python<'_>) -> PyResult<Py<PyDict>> {
        let m = &self.parser.model;
        let records = PyList::empty(py);
        for (i, r) in m.records.iter().enumerate() {
            let kind = if r.kind == RecordKind::Struct {
                intern!(py, "struct")
            } else {
                intern!(py, "union")
            };
            let fields = match &r.fields {
                None => py.None(),
                Some(fs) => {
                    let l = PyList::empty(py);
                    for f in fs {
                        l.append((f.name.as_deref(), type_obj(py, m, &f.ty)?, f.bit_width))?;
                    }
                    l.into_any().unbind()
                }
            };
            // A complete record's layout (size, align, offsets, natural) or None.
            let layout = match (&r.fields, m.record_layout(i)) {
                (Some(_), Ok(l)) => (l.size, l.align, l.offsets, l.natural).into_py_any(py)?,
                _ => py.None(),
            };
            let d = PyDict::new(py);
            d.set_item(intern!(py, "kind"), kind)?;
            d.set_item(intern!(py, "tag"), r.tag.as_deref())?;
            d.set_item(intern!(py, "typedef_name"), r.typedef_name.as_deref())?;
            d.set_item(intern!(py, "fields"), fields)?;
            d.set_item(intern!(py, "pack"), if r.packed { Some(1) } else { r.pack })?;
            d.set_item(intern!(py, "layout"), layout)?;
            records.append(d)?;
        }
        let enums = PyList::empty(py);
        for e in &m.enums {
            let d = PyDict::new(py);
            d.set_item(intern!(py, "tag"), e.tag.as_deref())?;
            d.set_item(intern!(py, "typedef_name"), e.typedef_name.as_deref())?;
            d.set_item(intern!(py, "constants"), e.constants.clone())?;
            d.set_item(intern!(py, "underlying"), e.underlying.c_name())?;
            d.set_item(intern!(py, "complete"), e.complete)?;
            enums.append(d)?;
        }
        let out = PyDict::new(py);
        out.set_item(intern!(py, "records"), records)?;
        out.set_item(intern!(py, "enums"), enums)?;
        Ok(out.unbind())
    }

    /// `{name: kind}` of every declaration, in order: kind is `"function"`, `"variable"`
    /// or `"typedef"`.
    fn decl_kinds(&self, py: Python<'_>) -> PyResult<Py<PyDict>> {
        let out = PyDict::new(py);
        for d in &self.parser.model.decls {
            out.set_item(d.name.as_str(), decl_kind_name(py, &d.kind))?;
        }
        Ok(out.unbind())
    }

    /// The declaration of `name` as a dict (`name`, `kind`, `type`, `asm_label`,
    /// `location`; functions add `static`, `nonnull`, `deprecated`, variables `static`),
    /// or None when nothing of that name is declared.
    fn decl(&self, py: Python<'_>, name: &str) -> PyResult<Option<Py<PyDict>>> {
        let m = &self.parser.model;
        let Some(d) = self.parser.decl(name) else {
            return Ok(None);
        };
        let o = PyDict::new(py);
        o.set_item(intern!(py, "name"), d.name.as_str())?;
        o.set_item(intern!(py, "kind"), decl_kind_name(py, &d.kind))?;
        o.set_item(intern!(py, "asm_label"), d.asm_label.as_deref())?;
        o.set_item(intern!(py, "location"), d.location.as_str())?;
        match &d.kind {
            DeclKind::Function {
                ty,
                is_static,
                nonnull,
                deprecated,
            } => {
                o.set_item(intern!(py, "type"), func_obj(py, m, ty)?)?;
                o.set_item(intern!(py, "static"), *is_static)?;
                o.set_item(intern!(py, "nonnull"), nonnull.clone())?;
                o.set_item(intern!(py, "deprecated"), *deprecated)?;
            }
            DeclKind::Variable { ty, is_static } => {
                o.set_item(intern!(py, "type"), type_obj(py, m, ty)?)?;
                o.set_item(intern!(py, "static"), *is_static)?;
            }
            DeclKind::Typedef { ty } => {
                o.set_item(intern!(py, "type"), type_obj(py, m, ty)?)?;
            }
        }
        Ok(Some(o.unbind()))
    }

    /// The names of the macros, in definition order.
    fn macro_names(&self) -> Vec<String> {
        self.parser.macro_names()
    }

    /// A macro's meaning: `(intern!(py, "int"), v, c_type)`, `(intern!(py, "float"), v, c_type)`, `("str", bytes)`,
    /// `(intern!(py, "ptr"), address)` or `("forward", function, [("param", i) | ("const", value)])`;
    /// `ValueError(reason)` when it is none of these.
    fn eval_macro(&mut self, py: Python<'_>, name: &str) -> PyResult<Py<PyAny>> {
        match self.parser.eval_macro(name) {
            Ok(MacroValue::Value(v)) => value_obj(py, &v),
            Ok(MacroValue::Forward { function, args }) => {
                let l = PyList::empty(py);
                for a in &args {
                    match a {
                        ForwardArg::Param(i) => l.append(("param", *i))?,
                        ForwardArg::Const(v) => l.append(("const", value_obj(py, v)?))?,
                    }
                }
                ("forward", function, l).into_py_any(py)
            }
            Err(reason) => Err(PyValueError::new_err(reason)),
        }
    }

    /// The type a C type name denotes (`"struct tm *"`, `"int (*)(int)"`).
    fn type_name(&mut self, py: Python<'_>, text: &str) -> PyResult<Py<PyAny>> {
        let t = self.parser.parse_type_name(text).map_err(cdecl_error)?;
        type_obj(py, &self.parser.model, &t)
    }

    /// `(size, align)` of a type given as a C type name.
    fn size_align(&mut self, text: &str) -> PyResult<(u64, u64)> {
        let t = self.parser.parse_type_name(text).map_err(cdecl_error)?;
        let sa = self
            .parser
            .model
            .size_align(&t)
            .map_err(PyValueError::new_err)?;
        Ok((sa.size, sa.align))
    }
}
