//! The declaration parser: C11 declarations with the GNU extensions of real headers
//! (`__attribute__` anywhere, `__asm__` labels, `__extension__`, `__typeof__`, `__int128`,
//! `_FloatN`, `_Alignas`, `_Static_assert`, ...), tracking typedef names to tell declarations
//! apart. Bodies of inline functions and initializers are skipped by bracket matching, as
//! LuaJIT's `lj_cparse` does. Constant expressions (array sizes, enum values, bit widths,
//! macros) are evaluated as they are read.

#[cfg(test)]
use std::collections::HashSet;

use super::constexpr::{self, binary, unary, Value};
use super::lexer::{lex, line_text, Tok, Token};
use super::model::*;
use super::{CDeclError, NameMap};
use crate::layout::RecordKind;

/// Nesting limits: deeper input is an error, never a stack overflow.
const MAX_NESTING: u32 = 200;
const MAX_MACRO_DEPTH: u32 = 64;

/// GNU attributes ferrotypes acts on.
#[derive(Clone, Debug, Default)]
struct Attrs {
    packed: bool,
    aligned: Option<u64>,
    mode: Option<String>,
    vector_size: Option<u64>,
    /// `Some(empty)`: every pointer parameter.
    nonnull: Option<Vec<usize>>,
    deprecated: bool,
}

#[derive(Clone, Debug, Default)]
struct Specs {
    ty: Option<Type>,
    is_const: bool,
    typedef: bool,
    is_static: bool,
    is_extern: bool,
    attrs: Attrs,
}

/// A declarator before its type is put together.
#[derive(Clone, Debug, Default)]
struct Declarator {
    name: Option<String>,
    name_tok: Option<usize>,
    /// One entry per `*`: whether that pointer itself is `const`.
    ptrs: Vec<bool>,
    inner: Option<Box<Declarator>>,
    suffixes: Vec<Suffix>,
    attrs: Attrs,
}

#[derive(Clone, Debug)]
enum Suffix {
    Array(Option<u64>),
    Func {
        params: Vec<Param>,
        variadic: bool,
        unspecified: bool,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tag {
    Record(usize),
    Enum(usize),
}

/// How a macro's expansion reads.
#[derive(Clone, Debug, PartialEq)]
pub enum MacroValue {
    /// A constant.
    Value(Value),
    /// `NAME(a, b)` expanding to a call of a declared function; each argument of that call
    /// is one of the macro's parameters or a constant.
    Forward {
        function: String,
        args: Vec<ForwardArg>,
    },
}

/// An argument of a forwarding macro's call.
#[derive(Clone, Debug, PartialEq)]
pub enum ForwardArg {
    Param(usize),
    Const(Value),
}

/// Parsed C: the model, and what is needed to evaluate macros and type names later.
pub struct Parser {
    src: String,
    toks: Vec<Token>,
    pos: usize,
    files: Vec<String>,
    packs: Vec<(usize, Option<u64>)>,
    /// The declarations read so far.
    pub model: Model,
    tags: NameMap<String, Tag>,
    ordinary: NameMap<String, usize>,
    macro_index: NameMap<String, usize>,
    depth: u32,
}

/// Parses C declarations; `name` is the file name used until a line marker gives another.
pub fn parse(src: &str, name: &str) -> Result<Parser, CDeclError> {
    let lexed = lex(src, name)?;
    let mut p = Parser {
        src: src.to_string(),
        toks: lexed.tokens,
        pos: 0,
        files: lexed.files,
        packs: lexed.packs,
        model: Model::default(),
        tags: NameMap::default(),
        ordinary: NameMap::default(),
        macro_index: NameMap::default(),
        depth: 0,
    };
    p.model.macros = lexed.macros;
    for (i, m) in p.model.macros.iter().enumerate() {
        p.macro_index.insert(m.name.clone(), i);
    }
    p.builtin_typedefs();
    while !p.at_eof() {
        p.external_declaration()?;
    }
    // Only the model, the macros and the tag tables are used from here on: let the
    // tokens and the text go (a whole Python.h is megabytes of them).
    p.toks.drain(..p.toks.len() - 1);
    p.toks.shrink_to_fit();
    p.src = String::new();
    p.packs = Vec::new();
    Ok(p)
}

fn is_attr_kw(s: &str) -> bool {
    matches!(s, "__attribute__" | "__attribute")
}

fn is_asm_kw(s: &str) -> bool {
    matches!(s, "__asm__" | "__asm" | "asm")
}

fn strip_underscores(s: &str) -> &str {
    s.strip_prefix("__")
        .and_then(|s| s.strip_suffix("__"))
        .unwrap_or(s)
}

impl Parser {
    fn builtin_typedefs(&mut self) {
        let va = Type::Array {
            of: Box::new(Type::Opaque {
                name: "__va_list_tag".into(),
                size: 24,
                align: 8,
            }),
            len: Some(1),
        };
        for (n, t) in [
            ("__builtin_va_list", va),
            ("__int128_t", Type::Int(IntKind::Int128)),
            ("__uint128_t", Type::Int(IntKind::UInt128)),
        ] {
            self.model.typedefs.insert(n.to_string(), t);
        }
    }

    // ---- tokens -------------------------------------------------------------------

    fn tok(&self) -> &Tok {
        &self.toks[self.pos.min(self.toks.len() - 1)].tok
    }

    fn tok_at(&self, k: usize) -> &Tok {
        &self.toks[(self.pos + k).min(self.toks.len() - 1)].tok
    }

    fn at_eof(&self) -> bool {
        matches!(self.tok(), Tok::Eof)
    }

    fn bump(&mut self) {
        if self.pos < self.toks.len() - 1 {
            self.pos += 1;
        }
    }

    fn is_punct(&self, p: &str) -> bool {
        matches!(self.tok(), Tok::Punct(q) if *q == p)
    }

    fn eat(&mut self, p: &str) -> bool {
        if self.is_punct(p) {
            self.bump();
            true
        } else {
            false
        }
    }

    fn ident(&self) -> Option<&str> {
        match self.tok() {
            Tok::Ident(s) => Some(s),
            _ => None,
        }
    }

    fn describe(t: &Tok) -> String {
        match t {
            Tok::Ident(s) => format!("'{s}'"),
            Tok::Num(s) => format!("'{s}'"),
            Tok::Char { body, .. } => format!("'{body}'"),
            Tok::Str { .. } => "a string".into(),
            Tok::Punct(p) => format!("'{p}'"),
            Tok::Eof => "end of input".into(),
        }
    }

    fn err_at(&self, index: usize, msg: impl Into<String>) -> CDeclError {
        let t = &self.toks[index.min(self.toks.len() - 1)];
        CDeclError::at(
            self.files.get(t.file as usize).cloned().unwrap_or_default(),
            t.line,
            t.col,
            line_text(&self.src, t.offset),
            msg.into(),
        )
    }

    fn err(&self, msg: impl Into<String>) -> CDeclError {
        self.err_at(self.pos, msg)
    }

    fn expect(&mut self, p: &str) -> Result<(), CDeclError> {
        if self.eat(p) {
            Ok(())
        } else {
            Err(self.err(format!(
                "expected '{p}', got {}",
                Self::describe(self.tok())
            )))
        }
    }

    fn location(&self, index: usize) -> String {
        let t = &self.toks[index.min(self.toks.len() - 1)];
        format!(
            "{}:{}",
            self.files.get(t.file as usize).map_or("", |s| s),
            t.line
        )
    }

    /// Skips a balanced bracket group starting at the current opening bracket.
    fn skip_group(&mut self) -> Result<(), CDeclError> {
        let start = self.pos;
        let mut depth = 0i64;
        loop {
            match self.tok() {
                Tok::Punct("(") | Tok::Punct("[") | Tok::Punct("{") => depth += 1,
                Tok::Punct(")") | Tok::Punct("]") | Tok::Punct("}") => depth -= 1,
                Tok::Eof => return Err(self.err_at(start, "this bracket is never closed")),
                _ => {}
            }
            self.bump();
            if depth == 0 {
                return Ok(());
            }
        }
    }

    fn enter(&mut self) -> Result<(), CDeclError> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return Err(self.err("declarations nest too deeply"));
        }
        Ok(())
    }

    // ---- top level ----------------------------------------------------------------

    fn external_declaration(&mut self) -> Result<(), CDeclError> {
        if self.eat(";") {
            return Ok(());
        }
        if let Some(id) = self.ident() {
            if id == "_Static_assert" || id == "static_assert" {
                return self.static_assert();
            }
            if is_asm_kw(id) {
                self.bump();
                while matches!(
                    self.ident(),
                    Some("volatile" | "__volatile__" | "inline" | "goto")
                ) {
                    self.bump();
                }
                if !self.is_punct("(") {
                    return Err(self.err("expected '(' after asm"));
                }
                self.skip_group()?;
                return self.expect(";");
            }
        }
        let start = self.pos;
        let specs = self.specifiers(true)?;
        if self.eat(";") {
            return Ok(());
        }
        loop {
            let decl = self.declarator(false)?;
            let name_tok = decl.name_tok.unwrap_or(start);
            let mut attrs = specs.attrs.clone();
            merge_attrs(&mut attrs, &decl.attrs);
            let mut asm_label = None;
            loop {
                if self.ident().is_some_and(is_asm_kw) {
                    self.bump();
                    asm_label = Some(self.asm_label()?);
                } else if self.ident().is_some_and(is_attr_kw) {
                    self.attributes(&mut attrs)?;
                } else {
                    break;
                }
            }
            let ty = self.build_type(&specs, &decl)?;
            let mut ty = self.apply_type_attrs(ty, &attrs, name_tok)?;
            if let (true, Some(align)) = (specs.typedef, attrs.aligned) {
                // `aligned` on a typedef sets the new name's alignment (and may lower it).
                ty = Type::Aligned {
                    ty: Box::new(ty),
                    align,
                };
            }
            let Some(name) = decl.name.clone() else {
                return Err(self.err_at(name_tok, "expected a name in this declaration"));
            };
            self.declare(name, ty, &specs, &attrs, asm_label, name_tok)?;
            if self.is_punct("{") {
                // A function definition (a static inline one in headers): skip its body.
                self.skip_group()?;
                return Ok(());
            }
            if self.eat("=") {
                self.skip_initializer()?;
            }
            if self.eat(",") {
                continue;
            }
            return self.expect(";");
        }
    }

    fn skip_initializer(&mut self) -> Result<(), CDeclError> {
        loop {
            match self.tok() {
                Tok::Punct(",") | Tok::Punct(";") => return Ok(()),
                Tok::Punct("(") | Tok::Punct("[") | Tok::Punct("{") => self.skip_group()?,
                Tok::Eof => return Err(self.err("unexpected end of input in an initializer")),
                _ => self.bump(),
            }
        }
    }

    fn static_assert(&mut self) -> Result<(), CDeclError> {
        let at = self.pos;
        self.bump();
        self.expect("(")?;
        let v = self.const_expr()?;
        if !v.truthy() {
            return Err(self.err_at(at, "static assertion failed"));
        }
        if self.eat(",") {
            while matches!(self.tok(), Tok::Str { .. }) {
                self.bump();
            }
        }
        self.expect(")")?;
        self.expect(";")
    }

    fn asm_label(&mut self) -> Result<String, CDeclError> {
        self.expect("(")?;
        let mut s = Vec::new();
        while let Tok::Str { bytes, .. } = self.tok() {
            s.extend_from_slice(bytes);
            self.bump();
        }
        self.expect(")")?;
        Ok(String::from_utf8_lossy(&s).into_owned())
    }

    fn declare(
        &mut self,
        name: String,
        ty: Type,
        specs: &Specs,
        attrs: &Attrs,
        asm_label: Option<String>,
        at: usize,
    ) -> Result<(), CDeclError> {
        let kind = if specs.typedef {
            // Name an anonymous record or enum after its first typedef.
            let named = match &ty {
                Type::Aligned { ty, .. } => ty,
                t => t,
            };
            match named {
                Type::Record(i) if self.model.records[*i].typedef_name.is_none() => {
                    self.model.records[*i].typedef_name = Some(name.clone())
                }
                Type::Enum(i) if self.model.enums[*i].typedef_name.is_none() => {
                    self.model.enums[*i].typedef_name = Some(name.clone())
                }
                _ => {}
            }
            DeclKind::Typedef { ty: ty.clone() }
        } else if let Type::Func(f) = &ty {
            let nonnull = match &attrs.nonnull {
                Some(v) if v.is_empty() => f
                    .params
                    .iter()
                    .enumerate()
                    .filter(|(_, p)| matches!(self.model.resolve(&p.ty), Type::Pointer { .. }))
                    .map(|(i, _)| i)
                    .collect(),
                Some(v) => v.clone(),
                None => Vec::new(),
            };
            DeclKind::Function {
                ty: (**f).clone(),
                is_static: specs.is_static,
                nonnull,
                deprecated: attrs.deprecated,
            }
        } else {
            DeclKind::Variable {
                ty: ty.clone(),
                is_static: specs.is_static,
            }
        };
        if let Some(&i) = self.ordinary.get(&name) {
            let old = &mut self.model.decls[i];
            let clash = match (&old.kind, &kind) {
                (DeclKind::Typedef { ty: a }, DeclKind::Typedef { ty: b }) => a != b,
                (DeclKind::Function { ty: a, .. }, DeclKind::Function { ty: b, .. }) => {
                    !a.unspecified
                        && !b.unspecified
                        && (a.params.len() != b.params.len() || a.variadic != b.variadic)
                }
                (DeclKind::Variable { .. }, DeclKind::Variable { .. }) => false,
                _ => true,
            };
            if clash {
                let where_ = old.location.clone();
                return Err(self.err_at(
                    at,
                    format!("conflicting declaration of '{name}' (first declared at {where_})"),
                ));
            }
            // A later declaration may add what the first left out.
            if asm_label.is_some() {
                old.asm_label = asm_label;
            }
            match (&mut old.kind, kind) {
                (
                    DeclKind::Function {
                        ty: a,
                        nonnull: na,
                        deprecated: da,
                        ..
                    },
                    DeclKind::Function {
                        ty: b,
                        nonnull: nb,
                        deprecated: db,
                        ..
                    },
                ) => {
                    if a.unspecified && !b.unspecified {
                        *a = b;
                    }
                    if na.is_empty() {
                        *na = nb;
                    }
                    *da |= db;
                }
                (DeclKind::Variable { ty: a, .. }, DeclKind::Variable { ty: b, .. }) => {
                    if let (Type::Array { len: None, .. }, Type::Array { len: Some(_), .. }) =
                        (&*a, &b)
                    {
                        *a = b;
                    }
                }
                _ => {}
            }
            return Ok(());
        }
        if specs.typedef {
            self.model.typedefs.insert(name.clone(), ty);
        }
        self.ordinary.insert(name.clone(), self.model.decls.len());
        let location = self.location(at);
        self.model.decls.push(Decl {
            name,
            kind,
            asm_label,
            location,
        });
        Ok(())
    }

    // ---- specifiers ---------------------------------------------------------------

    fn is_type_start(&self, t: &Tok) -> bool {
        match t {
            Tok::Ident(s) => {
                matches!(
                    s.as_str(),
                    "void"
                        | "char"
                        | "short"
                        | "int"
                        | "long"
                        | "float"
                        | "double"
                        | "signed"
                        | "__signed__"
                        | "__signed"
                        | "unsigned"
                        | "_Bool"
                        | "bool"
                        | "_Complex"
                        | "__complex__"
                        | "struct"
                        | "union"
                        | "enum"
                        | "const"
                        | "__const"
                        | "__const__"
                        | "volatile"
                        | "__volatile__"
                        | "__volatile"
                        | "restrict"
                        | "__restrict"
                        | "__restrict__"
                        | "_Atomic"
                        | "__int128"
                        | "__typeof__"
                        | "__typeof"
                        | "typeof"
                        | "_Float16"
                        | "_Float32"
                        | "_Float64"
                        | "_Float128"
                        | "_Float32x"
                        | "_Float64x"
                        | "_Float128x"
                        | "__float128"
                        | "__float80"
                        | "__bf16"
                        | "__extension__"
                        | "__attribute__"
                        | "_Decimal32"
                        | "_Decimal64"
                        | "_Decimal128"
                        | "_Alignas"
                ) || self.model.typedefs.contains_key(s.as_str())
            }
            _ => false,
        }
    }

    fn specifiers(&mut self, allow_storage: bool) -> Result<Specs, CDeclError> {
        let mut s = Specs::default();
        let start = self.pos;
        let (mut signed, mut unsigned, mut short, mut longs) = (false, false, false, 0u32);
        let (mut base, mut complex, mut seen_any_type): (Option<&'static str>, bool, bool) =
            (None, false, false);
        while let Tok::Ident(word) = self.tok().clone() {
            let w = word.as_str();
            match w {
                "typedef" | "extern" | "static" | "auto" | "register" | "inline" | "__inline"
                | "__inline__" | "_Noreturn" | "__thread" | "_Thread_local" | "thread_local"
                | "constexpr" => {
                    if !allow_storage && !matches!(w, "register" | "auto") {
                        return Err(self.err(format!("'{w}' is not allowed here")));
                    }
                    match w {
                        "typedef" => s.typedef = true,
                        "extern" => s.is_extern = true,
                        "static" => s.is_static = true,
                        _ => {}
                    }
                    self.bump();
                }
                "const" | "__const" | "__const__" => {
                    s.is_const = true;
                    self.bump();
                }
                "volatile" | "__volatile" | "__volatile__" | "restrict" | "__restrict"
                | "__restrict__" | "__extension__" => self.bump(),
                "_Atomic" => {
                    self.bump();
                    if self.is_punct("(") {
                        self.bump();
                        let t = self.type_name()?;
                        self.expect(")")?;
                        s.ty = Some(t);
                        seen_any_type = true;
                    }
                }
                "__attribute__" | "__attribute" => self.attributes(&mut s.attrs)?,
                "_Alignas" | "alignas" => {
                    self.bump();
                    self.expect("(")?;
                    let a = if self.is_type_start(&self.tok().clone()) {
                        let t = self.type_name()?;
                        self.size_align(&t)?.align
                    } else {
                        self.const_expr()?.as_int().map_err(|m| self.err(m))? as u64
                    };
                    self.expect(")")?;
                    s.attrs.aligned = Some(s.attrs.aligned.unwrap_or(0).max(a));
                }
                "signed" | "__signed__" | "__signed" => {
                    signed = true;
                    seen_any_type = true;
                    self.bump();
                }
                "unsigned" => {
                    unsigned = true;
                    seen_any_type = true;
                    self.bump();
                }
                "short" => {
                    short = true;
                    seen_any_type = true;
                    self.bump();
                }
                "long" => {
                    longs += 1;
                    seen_any_type = true;
                    self.bump();
                }
                "_Complex" | "__complex__" => {
                    complex = true;
                    seen_any_type = true;
                    self.bump();
                }
                "void" | "char" | "int" | "float" | "double" | "_Bool" | "bool" | "__int128"
                | "_Float16" | "_Float32" | "_Float64" | "_Float128" | "_Float32x"
                | "_Float64x" | "_Float128x" | "__float128" | "__float80" | "__bf16"
                | "_Decimal32" | "_Decimal64" | "_Decimal128" => {
                    if base.is_some() || s.ty.is_some() {
                        return Err(self.err(format!("two types in one declaration ('{w}')")));
                    }
                    base = Some(match w {
                        "void" => "void",
                        "char" => "char",
                        "int" => "int",
                        "float" => "float",
                        "double" => "double",
                        "_Bool" | "bool" => "_Bool",
                        "__int128" => "__int128",
                        "_Float16" => "_Float16",
                        "_Float32" => "_Float32",
                        "_Float64" => "_Float64",
                        "_Float32x" => "_Float32x",
                        "_Float64x" | "__float80" => "_Float64x",
                        "_Float128" | "_Float128x" | "__float128" => "_Float128",
                        "__bf16" => "__bf16",
                        "_Decimal32" => "_Decimal32",
                        "_Decimal64" => "_Decimal64",
                        _ => "_Decimal128",
                    });
                    seen_any_type = true;
                    self.bump();
                }
                "struct" | "union" => {
                    if seen_any_type || s.ty.is_some() {
                        return Err(self.err(format!("two types in one declaration ('{w}')")));
                    }
                    self.bump();
                    let kind = if w == "struct" {
                        RecordKind::Struct
                    } else {
                        RecordKind::Union
                    };
                    s.ty = Some(self.record_specifier(kind, &mut s.attrs)?);
                    seen_any_type = true;
                }
                "enum" => {
                    if seen_any_type || s.ty.is_some() {
                        return Err(self.err("two types in one declaration ('enum')"));
                    }
                    self.bump();
                    s.ty = Some(self.enum_specifier(&mut s.attrs)?);
                    seen_any_type = true;
                }
                "__typeof__" | "__typeof" | "typeof" | "__typeof_unqual__" | "typeof_unqual" => {
                    if seen_any_type || s.ty.is_some() {
                        return Err(self.err("two types in one declaration (typeof)"));
                    }
                    self.bump();
                    s.ty = Some(self.typeof_specifier()?);
                    seen_any_type = true;
                }
                _ if !seen_any_type && s.ty.is_none() && self.model.typedefs.contains_key(w) => {
                    s.ty = Some(Type::Named(word.to_string()));
                    seen_any_type = true;
                    self.bump();
                }
                _ => break,
            }
        }
        if s.ty.is_some() {
            if signed || unsigned || short || longs > 0 || complex {
                if let Some(Type::Named(n)) = &s.ty {
                    return Err(
                        self.err_at(start, format!("cannot combine '{n}' with other type words"))
                    );
                }
                return Err(self.err_at(start, "cannot combine these type words"));
            }
            return Ok(s);
        }
        if !seen_any_type {
            let what = match self.tok() {
                Tok::Ident(id) => format!("unknown type name '{id}'"),
                t => format!("expected a type, got {}", Self::describe(t)),
            };
            return Err(self.err(what));
        }
        s.ty = Some(self.base_type(base, signed, unsigned, short, longs, complex, start)?);
        Ok(s)
    }

    #[allow(clippy::too_many_arguments)]
    fn base_type(
        &self,
        base: Option<&str>,
        signed: bool,
        unsigned: bool,
        short: bool,
        longs: u32,
        complex: bool,
        start: usize,
    ) -> Result<Type, CDeclError> {
        use FloatKind as F;
        use IntKind as I;
        let bad = || self.err_at(start, "invalid combination of type words");
        if signed && unsigned {
            return Err(bad());
        }
        let int_like = |k: I| if unsigned { k.to_unsigned() } else { k };
        let t = match base {
            Some("void") if !(signed || unsigned || short || longs > 0 || complex) => Type::Void,
            Some("_Bool") if !(signed || unsigned || short || longs > 0 || complex) => {
                Type::Int(I::Bool)
            }
            Some("char") if !short && longs == 0 => Type::Int(if unsigned {
                I::UChar
            } else if signed {
                I::SChar
            } else {
                I::Char
            }),
            Some("__int128") if !short && longs == 0 => Type::Int(int_like(I::Int128)),
            Some("int") | None => {
                let k = match (short, longs) {
                    (true, 0) => I::Short,
                    (false, 0) => I::Int,
                    (false, 1) => I::Long,
                    (false, 2) => I::LongLong,
                    _ => return Err(bad()),
                };
                if complex {
                    // GNU complex integers: no ferrotypes class, keep the bytes.
                    return Ok(Type::Opaque {
                        name: "complex int".into(),
                        size: k.size() * 2,
                        align: k.size(),
                    });
                }
                Type::Int(int_like(k))
            }
            Some(f) if !(signed || unsigned || short) => {
                let real = match (f, longs) {
                    ("float", 0) | ("_Float32", 0) => F::Float,
                    ("double", 0) | ("_Float64", 0) | ("_Float32x", 0) => F::Double,
                    ("double", 1) | ("_Float64x", 0) => F::LongDouble,
                    ("_Float128", 0) => F::Float128,
                    ("_Float16", 0)
                    | ("__bf16", 0)
                    | ("_Decimal32", 0)
                    | ("_Decimal64", 0)
                    | ("_Decimal128", 0) => {
                        let size = match f {
                            "_Float16" | "__bf16" => 2,
                            "_Decimal32" => 4,
                            "_Decimal64" => 8,
                            _ => 16,
                        };
                        let (size, align) = if complex {
                            (size * 2, size)
                        } else {
                            (size, size)
                        };
                        return Ok(Type::Opaque {
                            name: f.to_string(),
                            size,
                            align,
                        });
                    }
                    _ => return Err(bad()),
                };
                Type::Float(if complex {
                    match real {
                        F::Float => F::ComplexFloat,
                        F::Double => F::ComplexDouble,
                        F::LongDouble => F::ComplexLongDouble,
                        _ => F::ComplexFloat128,
                    }
                } else {
                    real
                })
            }
            _ => return Err(bad()),
        };
        if complex && matches!(t, Type::Int(_) | Type::Void) {
            return Err(bad());
        }
        Ok(t)
    }

    fn typeof_specifier(&mut self) -> Result<Type, CDeclError> {
        self.expect("(")?;
        let t = if self.is_type_start(&self.tok().clone()) {
            self.type_name()?
        } else if let (Some(name), Tok::Punct(")")) =
            (self.ident().map(str::to_string), self.tok_at(1).clone())
        {
            let ty = self
                .ordinary
                .get(&name)
                .map(|&i| match &self.model.decls[i].kind {
                    DeclKind::Function { ty, .. } => Type::Func(Box::new(ty.clone())),
                    DeclKind::Variable { ty, .. } => ty.clone(),
                    DeclKind::Typedef { ty } => ty.clone(),
                });
            let Some(ty) = ty else {
                return Err(self.err(format!("__typeof__: '{name}' is not declared")));
            };
            self.bump();
            ty
        } else {
            let v = self.const_expr()?;
            match v {
                Value::Int(_, k) => Type::Int(k),
                Value::Float(_, k) => Type::Float(k),
                _ => return Err(self.err("__typeof__ of this expression is not supported")),
            }
        };
        self.expect(")")?;
        Ok(t)
    }

    // ---- attributes ---------------------------------------------------------------

    /// Reads any number of `__attribute__((...))`, keeping the ones ferrotypes acts on.
    fn attributes(&mut self, out: &mut Attrs) -> Result<(), CDeclError> {
        while self.ident().is_some_and(is_attr_kw) {
            self.bump();
            self.expect("(")?;
            self.expect("(")?;
            loop {
                if self.eat(",") {
                    continue;
                }
                if self.is_punct(")") {
                    break;
                }
                let Tok::Ident(name) = self.tok().clone() else {
                    return Err(self.err(format!(
                        "expected an attribute name, got {}",
                        Self::describe(self.tok())
                    )));
                };
                let at = self.pos;
                self.bump();
                let name = strip_underscores(&name).to_string();
                if !self.is_punct("(") {
                    match name.as_str() {
                        "packed" => out.packed = true,
                        "aligned" => out.aligned = Some(16),
                        "nonnull" => out.nonnull = Some(Vec::new()),
                        "deprecated" => out.deprecated = true,
                        _ => {}
                    }
                    continue;
                }
                match name.as_str() {
                    "aligned" => {
                        self.bump();
                        let v = self
                            .const_expr()?
                            .as_int()
                            .map_err(|m| self.err_at(at, m))?;
                        if v <= 0 || !(v as u128).is_power_of_two() {
                            return Err(self.err_at(
                                at,
                                format!("requested alignment {v} is not a positive power of two"),
                            ));
                        }
                        out.aligned = Some(out.aligned.unwrap_or(0).max(v as u64));
                        self.expect(")")?;
                    }
                    "vector_size" => {
                        self.bump();
                        let v = self
                            .const_expr()?
                            .as_int()
                            .map_err(|m| self.err_at(at, m))?;
                        if v <= 0 {
                            return Err(self.err_at(at, "vector_size must be positive"));
                        }
                        out.vector_size = Some(v as u64);
                        self.expect(")")?;
                    }
                    "mode" => {
                        self.bump();
                        let m = self.ident().map(|s| strip_underscores(s).to_string());
                        let Some(m) = m else {
                            return Err(self.err("mode needs a machine mode name"));
                        };
                        self.bump();
                        out.mode = Some(m);
                        self.expect(")")?;
                    }
                    "nonnull" => {
                        self.bump();
                        let mut v = out.nonnull.take().unwrap_or_default();
                        while !self.is_punct(")") {
                            let n = self
                                .const_expr()?
                                .as_int()
                                .map_err(|m| self.err_at(at, m))?;
                            if n >= 1 {
                                v.push((n - 1) as usize);
                            }
                            if !self.eat(",") {
                                break;
                            }
                        }
                        self.expect(")")?;
                        out.nonnull = Some(v);
                    }
                    "deprecated" => {
                        out.deprecated = true;
                        self.skip_group()?;
                    }
                    _ => self.skip_group()?,
                }
            }
            self.expect(")")?;
            self.expect(")")?;
        }
        Ok(())
    }

    /// Applies `mode`, `vector_size` and `aligned` of a declaration to its type.
    fn apply_type_attrs(&self, mut ty: Type, a: &Attrs, at: usize) -> Result<Type, CDeclError> {
        if let Some(m) = &a.mode {
            let size = match m.as_str() {
                "QI" | "byte" => Some(1),
                "HI" => Some(2),
                "SI" => Some(4),
                "DI" | "word" | "pointer" => Some(8),
                "TI" => Some(16),
                _ => None,
            };
            let resolved = self.model.resolve(&ty).clone();
            match (size, resolved) {
                (Some(sz), Type::Int(k)) => {
                    ty = Type::Int(k.with_size(sz).ok_or_else(|| self.err_at(at, "bad mode"))?)
                }
                (_, Type::Float(_)) if matches!(m.as_str(), "SF" | "DF" | "XF" | "TF") => {
                    ty = Type::Float(match m.as_str() {
                        "SF" => FloatKind::Float,
                        "DF" => FloatKind::Double,
                        "XF" => FloatKind::LongDouble,
                        _ => FloatKind::Float128,
                    })
                }
                _ => {
                    let sa = self.size_align(&ty)?;
                    ty = Type::Opaque {
                        name: format!("mode({m})"),
                        size: sa.size,
                        align: sa.align,
                    };
                }
            }
        }
        if let Some(n) = a.vector_size {
            let e = self.size_align(&ty)?;
            ty = Type::Opaque {
                name: format!("vector of {n} bytes"),
                size: n,
                align: n.max(e.align).min(64),
            };
        }
        Ok(ty)
    }

    // ---- records and enums --------------------------------------------------------

    fn record_specifier(
        &mut self,
        kind: RecordKind,
        outer: &mut Attrs,
    ) -> Result<Type, CDeclError> {
        self.enter()?;
        let mut attrs = Attrs::default();
        self.attributes(&mut attrs)?;
        let tag_tok = self.pos;
        let tag = self.ident().map(str::to_string);
        if tag.is_some() {
            self.bump();
        }
        self.attributes(&mut attrs)?;
        let word = if kind == RecordKind::Struct {
            "struct"
        } else {
            "union"
        };
        let index = if let Some(t) = &tag {
            match self.tags.get(t) {
                Some(Tag::Record(i)) if self.model.records[*i].kind == kind => {
                    // `struct s;` in an inner scope would declare a new type; headers do not.
                    *i
                }
                Some(_) => {
                    return Err(
                        self.err_at(tag_tok, format!("'{t}' defined as a different kind of tag"))
                    )
                }
                None => {
                    self.model.records.push(Record {
                        kind,
                        tag: Some(t.clone()),
                        fields: None,
                        pack: None,
                        packed: false,
                        aligned: None,
                        typedef_name: None,
                    });
                    let i = self.model.records.len() - 1;
                    self.tags.insert(t.clone(), Tag::Record(i));
                    i
                }
            }
        } else {
            if !self.is_punct("{") {
                return Err(self.err(format!("expected a tag or '{{' after '{word}'")));
            }
            self.model.records.push(Record {
                kind,
                tag: None,
                fields: None,
                pack: None,
                packed: false,
                aligned: None,
                typedef_name: None,
            });
            self.model.records.len() - 1
        };
        if self.is_punct("{") {
            if self.model.records[index].fields.is_some() {
                return Err(self.err_at(
                    tag_tok,
                    format!("redefinition of '{word} {}'", tag.unwrap_or_default()),
                ));
            }
            self.bump();
            let mut fields = Vec::new();
            while !self.eat("}") {
                if self.at_eof() {
                    return Err(self.err(format!("'{word}' body is never closed")));
                }
                self.member_declaration(&mut fields)?;
            }
            let close = self.pos - 1;
            self.attributes(&mut attrs)?;
            let pack = self.pack_at(close);
            let r = &mut self.model.records[index];
            r.fields = Some(fields);
            r.pack = pack;
            r.packed |= attrs.packed;
            r.aligned = attrs.aligned.or(r.aligned);
            // The layout must be computable now: errors belong here, not at use.
            self.model
                .record_layout(index)
                .map_err(|m| self.err_at(close, m))?;
        } else {
            // Attributes after a reference apply to the declaration (`struct s __attribute__((x)) v`).
            merge_attrs(outer, &attrs);
        }
        self.depth -= 1;
        Ok(Type::Record(index))
    }

    fn pack_at(&self, token_index: usize) -> Option<u64> {
        let i = self.packs.partition_point(|(at, _)| *at <= token_index);
        if i == 0 {
            None
        } else {
            self.packs[i - 1].1
        }
    }

    fn member_declaration(&mut self, fields: &mut Vec<Field>) -> Result<(), CDeclError> {
        if self.eat(";") {
            return Ok(());
        }
        if matches!(self.ident(), Some("_Static_assert" | "static_assert")) {
            return self.static_assert();
        }
        let start = self.pos;
        let specs = self.specifiers(false)?;
        if self.eat(";") {
            // An anonymous struct or union member.
            if let Some(Type::Record(i)) = &specs.ty {
                if self.model.records[*i].tag.is_none() || self.model.records[*i].fields.is_some() {
                    fields.push(Field {
                        name: None,
                        ty: Type::Record(*i),
                        bit_width: None,
                        aligned: specs.attrs.aligned,
                        packed: specs.attrs.packed,
                    });
                }
                return Ok(());
            }
            return Err(self.err_at(start, "declaration does not declare anything"));
        }
        loop {
            let decl = if self.is_punct(":") {
                Declarator::default()
            } else {
                self.declarator(false)?
            };
            let mut attrs = specs.attrs.clone();
            merge_attrs(&mut attrs, &decl.attrs);
            self.attributes(&mut attrs)?;
            let mut bit_width = None;
            if self.eat(":") {
                let at = self.pos;
                let w = self
                    .const_expr()?
                    .as_int()
                    .map_err(|m| self.err_at(at, m))?;
                if !(0..=128).contains(&w) {
                    return Err(self.err_at(at, format!("bit-field width {w} is out of range")));
                }
                bit_width = Some(w as u32);
            }
            self.attributes(&mut attrs)?;
            let ty = self.build_type(&specs, &decl)?;
            let ty = self.apply_type_attrs(ty, &attrs, start)?;
            if let Some(w) = bit_width {
                let sa = self.size_align(&ty)?;
                if !matches!(self.model.resolve(&ty), Type::Int(_) | Type::Enum(_)) {
                    return Err(self.err_at(start, "bit-field has a non-integer type"));
                }
                if w as u64 > sa.size * 8 {
                    return Err(self.err_at(
                        start,
                        format!(
                            "width of bit-field ({w} bits) exceeds its type ({} bits)",
                            sa.size * 8
                        ),
                    ));
                }
            }
            if matches!(ty, Type::Func(_)) {
                return Err(self.err_at(start, "a member cannot have a function type"));
            }
            fields.push(Field {
                name: decl.name,
                ty,
                bit_width,
                aligned: attrs.aligned,
                packed: attrs.packed,
            });
            if self.eat(",") {
                continue;
            }
            return self.expect(";");
        }
    }

    fn enum_specifier(&mut self, outer: &mut Attrs) -> Result<Type, CDeclError> {
        let mut attrs = Attrs::default();
        self.attributes(&mut attrs)?;
        let tag_tok = self.pos;
        let tag = self.ident().map(str::to_string);
        if tag.is_some() {
            self.bump();
        }
        self.attributes(&mut attrs)?;
        let mut fixed = None;
        if self.is_punct(":") {
            self.bump();
            let t = self.type_name()?;
            match self.model.resolve(&t) {
                Type::Int(k) => fixed = Some(*k),
                _ => return Err(self.err("an enum's underlying type must be an integer type")),
            }
        }
        let index = match tag.as_ref().and_then(|t| self.tags.get(t)) {
            Some(Tag::Enum(i)) => *i,
            Some(Tag::Record(_)) => {
                return Err(self.err_at(
                    tag_tok,
                    format!(
                        "'{}' defined as a different kind of tag",
                        tag.unwrap_or_default()
                    ),
                ))
            }
            None => {
                if tag.is_none() && !self.is_punct("{") {
                    return Err(self.err("expected a tag or '{' after 'enum'"));
                }
                self.model.enums.push(Enum {
                    tag: tag.clone(),
                    constants: Vec::new(),
                    underlying: fixed.unwrap_or(IntKind::UInt),
                    complete: fixed.is_some(),
                    typedef_name: None,
                });
                let i = self.model.enums.len() - 1;
                if let Some(t) = &tag {
                    self.tags.insert(t.clone(), Tag::Enum(i));
                }
                i
            }
        };
        if !self.eat("{") {
            merge_attrs(outer, &attrs);
            return Ok(Type::Enum(index));
        }
        if self.model.enums[index].complete && fixed.is_none() {
            return Err(self.err_at(
                tag_tok,
                format!("redefinition of 'enum {}'", tag.unwrap_or_default()),
            ));
        }
        let mut next: i128 = 0;
        let mut constants = Vec::new();
        while !self.eat("}") {
            let at = self.pos;
            let Some(name) = self.ident().map(str::to_string) else {
                return Err(self.err(format!(
                    "expected an enumerator name, got {}",
                    Self::describe(self.tok())
                )));
            };
            self.bump();
            let mut ignored = Attrs::default();
            self.attributes(&mut ignored)?;
            if self.eat("=") {
                next = self
                    .const_expr()?
                    .as_int()
                    .map_err(|m| self.err_at(at, m))?;
            }
            if self.ordinary.contains_key(&name) || self.model.constants.contains_key(&name) {
                return Err(self.err_at(at, format!("redeclaration of '{name}'")));
            }
            self.model.constants.insert(name.clone(), (next, index));
            constants.push((name, next));
            next = next
                .checked_add(1)
                .ok_or_else(|| self.err_at(at, "enumerator value overflows"))?;
            if !self.eat(",") {
                self.expect("}")?;
                break;
            }
        }
        self.attributes(&mut attrs)?;
        let lo = constants.iter().map(|c| c.1).min().unwrap_or(0);
        let hi = constants.iter().map(|c| c.1).max().unwrap_or(0);
        use IntKind as I;
        let underlying = if let Some(k) = fixed {
            k
        } else if attrs.packed {
            [
                I::UChar,
                I::SChar,
                I::UShort,
                I::Short,
                I::UInt,
                I::Int,
                I::ULong,
                I::Long,
            ]
            .into_iter()
            .find(|k| k.holds(lo) && k.holds(hi))
            .unwrap_or(I::Long)
        } else {
            [I::UInt, I::Int, I::ULong, I::Long]
                .into_iter()
                .find(|k| k.holds(lo) && k.holds(hi))
                .ok_or_else(|| {
                    self.err_at(tag_tok, "enumerator values do not fit in any integer type")
                })?
        };
        let e = &mut self.model.enums[index];
        e.constants = constants;
        e.underlying = underlying;
        e.complete = true;
        Ok(Type::Enum(index))
    }

    // ---- declarators --------------------------------------------------------------

    /// A declarator; `abstract_ok` lets the name be missing (parameters and type names).
    fn declarator(&mut self, abstract_ok: bool) -> Result<Declarator, CDeclError> {
        self.enter()?;
        let mut d = Declarator::default();
        self.attributes(&mut d.attrs)?;
        while self.eat("*") || self.eat("^") {
            let mut is_const = false;
            loop {
                match self.ident() {
                    Some("const" | "__const" | "__const__") => {
                        is_const = true;
                        self.bump()
                    }
                    Some(
                        "volatile" | "__volatile__" | "__volatile" | "restrict" | "__restrict"
                        | "__restrict__" | "_Atomic" | "__extension__",
                    ) => self.bump(),
                    Some(a) if is_attr_kw(a) => {
                        let mut ignored = Attrs::default();
                        self.attributes(&mut ignored)?;
                    }
                    _ => break,
                }
            }
            d.ptrs.push(is_const);
            if d.ptrs.len() > MAX_NESTING as usize {
                return Err(self.err("too many '*' in one declarator"));
            }
        }
        if self.is_punct("(") && self.nested_declarator_follows() {
            self.bump();
            let inner = self.declarator(abstract_ok)?;
            self.expect(")")?;
            d.name = inner.name.clone();
            d.name_tok = inner.name_tok;
            d.inner = Some(Box::new(inner));
        } else if let Some(id) = self.ident() {
            if !is_attr_kw(id) && !is_asm_kw(id) {
                d.name = Some(id.to_string());
                d.name_tok = Some(self.pos);
                self.bump();
            }
        }
        if d.name.is_none() && !abstract_ok && d.inner.is_none() {
            return Err(self.err(format!(
                "expected a name, got {}",
                Self::describe(self.tok())
            )));
        }
        self.attributes(&mut d.attrs)?;
        loop {
            if d.suffixes.len() > MAX_NESTING as usize {
                return Err(self.err("too many array or function suffixes in one declarator"));
            }
            if self.eat("[") {
                while matches!(
                    self.ident(),
                    Some("static" | "const" | "restrict" | "__restrict" | "volatile")
                ) {
                    self.bump();
                }
                if self.eat("]") {
                    d.suffixes.push(Suffix::Array(None));
                    continue;
                }
                if self.is_punct("*") && matches!(self.tok_at(1), Tok::Punct("]")) {
                    self.bump();
                    self.bump();
                    d.suffixes.push(Suffix::Array(None));
                    continue;
                }
                let at = self.pos;
                let n = self
                    .const_expr()?
                    .as_int()
                    .map_err(|m| self.err_at(at, m))?;
                if n < 0 {
                    return Err(self.err_at(at, format!("array size {n} is negative")));
                }
                self.expect("]")?;
                d.suffixes.push(Suffix::Array(Some(n as u64)));
            } else if self.is_punct("(") {
                self.bump();
                d.suffixes.push(self.parameters()?);
            } else {
                break;
            }
        }
        self.depth -= 1;
        Ok(d)
    }

    /// After `(`: a nested declarator rather than a parameter list?
    fn nested_declarator_follows(&self) -> bool {
        match self.tok_at(1) {
            Tok::Punct("*") | Tok::Punct("^") | Tok::Punct("(") | Tok::Punct("[") => true,
            Tok::Ident(s) => is_attr_kw(s) || !self.is_type_start(self.tok_at(1)),
            _ => false,
        }
    }

    fn parameters(&mut self) -> Result<Suffix, CDeclError> {
        if self.eat(")") {
            return Ok(Suffix::Func {
                params: Vec::new(),
                variadic: false,
                unspecified: true,
            });
        }
        if matches!(self.ident(), Some("void")) && matches!(self.tok_at(1), Tok::Punct(")")) {
            self.bump();
            self.bump();
            return Ok(Suffix::Func {
                params: Vec::new(),
                variadic: false,
                unspecified: false,
            });
        }
        let mut params = Vec::new();
        let mut variadic = false;
        loop {
            if self.eat("...") {
                variadic = true;
                self.expect(")")?;
                break;
            }
            let specs = self.specifiers(false)?;
            let d = self.declarator(true)?;
            let mut ignored = Attrs::default();
            self.attributes(&mut ignored)?;
            let ty = self.build_type(&specs, &d)?;
            let ty = self.apply_type_attrs(ty, &specs.attrs, self.pos)?;
            params.push(Param {
                name: d.name,
                ty: self.decay(ty, specs.is_const),
            });
            if self.eat(",") {
                continue;
            }
            self.expect(")")?;
            break;
        }
        Ok(Suffix::Func {
            params,
            variadic,
            unspecified: false,
        })
    }

    /// A parameter's type as the function sees it: arrays and functions become pointers.
    fn decay(&self, ty: Type, is_const: bool) -> Type {
        match self.model.resolve(&ty) {
            Type::Array { of, .. } => Type::Pointer {
                to: of.clone(),
                to_const: is_const,
            },
            Type::Func(_) => Type::Pointer {
                to: Box::new(ty),
                to_const: false,
            },
            _ => ty,
        }
    }

    fn build_type(&self, specs: &Specs, d: &Declarator) -> Result<Type, CDeclError> {
        let base = specs.ty.clone().unwrap_or(Type::Int(IntKind::Int));
        self.apply_declarator(base, specs.is_const, d)
    }

    fn apply_declarator(
        &self,
        mut ty: Type,
        mut is_const: bool,
        d: &Declarator,
    ) -> Result<Type, CDeclError> {
        for &c in &d.ptrs {
            ty = Type::Pointer {
                to: Box::new(ty),
                to_const: is_const,
            };
            is_const = c;
        }
        for s in d.suffixes.iter().rev() {
            ty = match s {
                Suffix::Array(n) => {
                    if matches!(ty, Type::Func(_)) {
                        return Err(
                            self.err_at(d.name_tok.unwrap_or(self.pos), "array of functions")
                        );
                    }
                    Type::Array {
                        of: Box::new(ty),
                        len: *n,
                    }
                }
                Suffix::Func {
                    params,
                    variadic,
                    unspecified,
                } => {
                    if matches!(ty, Type::Func(_) | Type::Array { .. }) {
                        return Err(self.err_at(
                            d.name_tok.unwrap_or(self.pos),
                            "a function cannot return a function or an array",
                        ));
                    }
                    let ret = ty;
                    Type::Func(Box::new(FuncType {
                        ret,
                        params: params.clone(),
                        variadic: *variadic,
                        unspecified: *unspecified,
                    }))
                }
            };
        }
        match &d.inner {
            Some(inner) => self.apply_declarator(ty, is_const, inner),
            None => Ok(ty),
        }
    }

    /// A type name (`unsigned long`, `struct tm *`, `int (*)(int)`).
    pub fn type_name(&mut self) -> Result<Type, CDeclError> {
        let specs = self.specifiers(false)?;
        let d = self.declarator(true)?;
        if d.name.is_some() {
            return Err(self.err_at(
                d.name_tok.unwrap_or(self.pos),
                "a type name has no identifier",
            ));
        }
        let ty = self.build_type(&specs, &d)?;
        self.apply_type_attrs(ty, &specs.attrs, self.pos)
    }

    fn size_align(&self, ty: &Type) -> Result<SizeAlign, CDeclError> {
        self.model.size_align(ty).map_err(|m| self.err(m))
    }

    // ---- constant expressions -----------------------------------------------------

    /// A conditional expression (no commas), evaluated.
    pub fn const_expr(&mut self) -> Result<Value, CDeclError> {
        self.enter()?;
        let cond = self.binary_expr(0)?;
        let r = if self.eat("?") {
            let a = self.const_expr()?;
            self.expect(":")?;
            let b = self.const_expr()?;
            if cond.truthy() {
                a
            } else {
                b
            }
        } else {
            cond
        };
        self.depth -= 1;
        Ok(r)
    }

    fn binary_expr(&mut self, min_prec: u8) -> Result<Value, CDeclError> {
        let mut lhs = self.unary_expr()?;
        while let Tok::Punct(p) = self.tok() {
            let (op, prec) = match *p {
                "||" => ("||", 1),
                "&&" => ("&&", 2),
                "|" => ("|", 3),
                "^" => ("^", 4),
                "&" => ("&", 5),
                "==" | "!=" => (*p, 6),
                "<" | ">" | "<=" | ">=" => (*p, 7),
                "<<" | ">>" => (*p, 8),
                "+" | "-" => (*p, 9),
                "*" | "/" | "%" => (*p, 10),
                _ => break,
            };
            if prec < min_prec {
                break;
            }
            let at = self.pos;
            self.bump();
            let rhs = self.binary_expr(prec + 1)?;
            lhs = binary(op, &lhs, &rhs).map_err(|m| self.err_at(at, m))?;
        }
        Ok(lhs)
    }

    fn unary_expr(&mut self) -> Result<Value, CDeclError> {
        self.enter()?;
        let at = self.pos;
        let r = match self.tok().clone() {
            Tok::Punct(op @ ("-" | "+" | "~" | "!")) => {
                self.bump();
                let v = self.unary_expr()?;
                unary(op, &v).map_err(|m| self.err_at(at, m))?
            }
            Tok::Punct("(") if self.is_type_start(self.tok_at(1)) => {
                self.bump();
                let t = self.type_name()?;
                self.expect(")")?;
                let v = self.unary_expr()?;
                self.cast(&v, &t).map_err(|m| self.err_at(at, m))?
            }
            Tok::Ident(w)
                if matches!(
                    w.as_str(),
                    "sizeof" | "_Alignof" | "__alignof__" | "__alignof" | "alignof"
                ) =>
            {
                self.bump();
                let sa = if self.is_punct("(") && self.is_type_start(self.tok_at(1)) {
                    self.bump();
                    let t = self.type_name()?;
                    self.expect(")")?;
                    self.size_align(&t)?
                } else {
                    let v = self.unary_expr()?;
                    let t = match v {
                        Value::Int(_, k) => Type::Int(k),
                        Value::Float(_, k) => Type::Float(k),
                        Value::Ptr(_) => Type::Pointer {
                            to: Box::new(Type::Void),
                            to_const: false,
                        },
                        Value::Str(s) => Type::Array {
                            of: Box::new(Type::Int(IntKind::Char)),
                            len: Some(s.len() as u64 + 1),
                        },
                    };
                    self.size_align(&t)?
                };
                Value::Int(
                    if w.as_str() == "sizeof" {
                        sa.size
                    } else {
                        sa.align
                    } as i128,
                    IntKind::ULong,
                )
            }
            _ => self.primary()?,
        };
        self.depth -= 1;
        Ok(r)
    }

    fn cast(&self, v: &Value, t: &Type) -> Result<Value, String> {
        match self.model.resolve(t) {
            Type::Int(k) => v.cast_int(*k),
            Type::Enum(i) => v.cast_int(self.model.enums[*i].underlying),
            Type::Float(k) => v.cast_float(*k),
            Type::Pointer { .. } => v.cast_ptr(),
            Type::Void => Ok(v.clone()),
            _ => Err("cannot cast a constant to this type".into()),
        }
    }

    fn primary(&mut self) -> Result<Value, CDeclError> {
        let at = self.pos;
        match self.tok().clone() {
            Tok::Num(n) => {
                self.bump();
                constexpr::number(&n).map_err(|m| self.err_at(at, m))
            }
            Tok::Char { prefix, body } => {
                self.bump();
                constexpr::character(prefix, &body).map_err(|m| self.err_at(at, m))
            }
            Tok::Str { bytes, .. } => {
                let mut s = bytes.into_vec();
                self.bump();
                while let Tok::Str { bytes, .. } = self.tok() {
                    s.extend_from_slice(bytes);
                    self.bump();
                }
                Ok(Value::Str(s))
            }
            Tok::Punct("(") => {
                self.bump();
                let v = self.const_expr()?;
                self.expect(")")?;
                Ok(v)
            }
            Tok::Ident(name) => {
                self.bump();
                if let Some(&(v, e)) = self.model.constants.get(name.as_str()) {
                    let k = if IntKind::Int.holds(v) {
                        IntKind::Int
                    } else {
                        self.model.enums[e].underlying
                    };
                    return Ok(Value::Int(v, k));
                }
                if name.starts_with("__builtin_") && self.is_punct("(") {
                    return self.builtin(&name, at);
                }
                Err(self.err_at(at, format!("'{name}' is not a constant")))
            }
            t => Err(self.err(format!(
                "expected an expression, got {}",
                Self::describe(&t)
            ))),
        }
    }

    fn builtin(&mut self, name: &str, at: usize) -> Result<Value, CDeclError> {
        self.skip_group()?;
        let f = match name {
            "__builtin_huge_val" | "__builtin_inf" => {
                Value::Float(f64::INFINITY, FloatKind::Double)
            }
            "__builtin_huge_valf" | "__builtin_inff" => {
                Value::Float(f64::INFINITY, FloatKind::Float)
            }
            "__builtin_huge_vall" | "__builtin_infl" => {
                Value::Float(f64::INFINITY, FloatKind::LongDouble)
            }
            "__builtin_nan" | "__builtin_nans" => Value::Float(f64::NAN, FloatKind::Double),
            "__builtin_nanf" | "__builtin_nansf" => Value::Float(f64::NAN, FloatKind::Float),
            "__builtin_nanl" | "__builtin_nansl" => Value::Float(f64::NAN, FloatKind::LongDouble),
            _ => return Err(self.err_at(at, format!("'{name}' is not evaluated as a constant"))),
        };
        Ok(f)
    }

    // ---- macros -------------------------------------------------------------------

    /// Expands macros in `toks` (object-like and function-like, `#` and `##`), with each
    /// macro unavailable inside its own expansion.
    fn expand(
        &self,
        toks: &[Token],
        active: &mut Vec<String>,
        depth: u32,
    ) -> Result<Vec<Token>, String> {
        if depth > MAX_MACRO_DEPTH {
            return Err("macros nest too deeply".into());
        }
        let mut out = Vec::with_capacity(toks.len());
        let mut i = 0;
        while i < toks.len() {
            let t = &toks[i];
            let Tok::Ident(name) = &t.tok else {
                out.push(t.clone());
                i += 1;
                continue;
            };
            let m = match self.macro_index.get(name.as_str()) {
                Some(&mi) if !active.iter().any(|a| a == name.as_str()) => &self.model.macros[mi],
                _ => {
                    out.push(t.clone());
                    i += 1;
                    continue;
                }
            };
            let Some(params) = &m.params else {
                active.push(name.to_string());
                let e = self.expand(&m.body, active, depth + 1);
                active.pop();
                out.extend(e?);
                i += 1;
                continue;
            };
            if !matches!(toks.get(i + 1).map(|t| &t.tok), Some(Tok::Punct("("))) {
                out.push(t.clone());
                i += 1;
                continue;
            }
            // Collect the arguments.
            let mut args: Vec<Vec<Token>> = vec![Vec::new()];
            let mut j = i + 2;
            let mut level = 0;
            loop {
                let Some(a) = toks.get(j) else {
                    return Err(format!("unterminated call of macro '{name}'"));
                };
                match &a.tok {
                    Tok::Punct("(") => level += 1,
                    Tok::Punct(")") if level == 0 => break,
                    Tok::Punct(")") => level -= 1,
                    Tok::Punct(",") if level == 0 && !(m.variadic && args.len() > params.len()) => {
                        args.push(Vec::new());
                        j += 1;
                        continue;
                    }
                    _ => {}
                }
                if let Some(last) = args.last_mut() {
                    last.push(a.clone());
                }
                j += 1;
            }
            if args.len() == 1 && args[0].is_empty() && params.is_empty() {
                args.clear();
            }
            let want = params.len() + m.variadic as usize;
            if args.len() < params.len() || (!m.variadic && args.len() != params.len()) {
                return Err(format!(
                    "macro '{name}' takes {} arguments, {} given",
                    params.len(),
                    args.len()
                ));
            }
            while args.len() < want {
                args.push(Vec::new());
            }
            let names: Vec<&str> = params
                .iter()
                .map(String::as_str)
                .chain(m.variadic.then_some("__VA_ARGS__"))
                .collect();
            let arg_of = |id: &str| names.iter().position(|p| *p == id);
            let mut body: Vec<Token> = Vec::new();
            let mut k = 0;
            while k < m.body.len() {
                let bt = &m.body[k];
                if let Tok::Punct("#") = bt.tok {
                    if let Some(Tok::Ident(p)) = m.body.get(k + 1).map(|t| &t.tok) {
                        if let Some(a) = arg_of(p) {
                            let text: Vec<String> = args[a].iter().map(token_text).collect();
                            body.push(Token {
                                tok: Tok::Str {
                                    prefix: "",
                                    bytes: text.join(" ").into_bytes().into(),
                                },
                                ..bt.clone()
                            });
                            k += 2;
                            continue;
                        }
                    }
                }
                let pasting = matches!(m.body.get(k + 1).map(|t| &t.tok), Some(Tok::Punct("##")))
                    || matches!(
                        k.checked_sub(1).and_then(|p| m.body.get(p)).map(|t| &t.tok),
                        Some(Tok::Punct("##"))
                    );
                match &bt.tok {
                    Tok::Punct("##") => {
                        let (Some(left), Some(right)) = (body.pop(), m.body.get(k + 1)) else {
                            return Err("'##' at the edge of a macro".into());
                        };
                        let right_toks = match &right.tok {
                            Tok::Ident(p) if arg_of(p).is_some() => {
                                args[arg_of(p).unwrap_or(0)].clone()
                            }
                            _ => vec![right.clone()],
                        };
                        let joined = format!(
                            "{}{}",
                            token_text(&left),
                            right_toks.first().map(token_text).unwrap_or_default()
                        );
                        let mut pasted = super::lexer::lex(&joined, "")
                            .map_err(|e| e.message)?
                            .tokens;
                        pasted.pop();
                        for p in &mut pasted {
                            p.file = left.file;
                            p.line = left.line;
                            p.col = left.col;
                            p.offset = left.offset;
                        }
                        body.extend(pasted);
                        body.extend(right_toks.into_iter().skip(1));
                        k += 2;
                        continue;
                    }
                    Tok::Ident(p) if arg_of(p).is_some() => {
                        let a = &args[arg_of(p).unwrap_or(0)];
                        if pasting {
                            body.extend(a.iter().cloned());
                        } else {
                            body.extend(self.expand(a, active, depth + 1)?);
                        }
                    }
                    _ => body.push(bt.clone()),
                }
                k += 1;
            }
            active.push(name.to_string());
            let e = self.expand(&body, active, depth + 1);
            active.pop();
            out.extend(e?);
            i = j + 1;
        }
        Ok(out)
    }

    /// Evaluates `tokens` as one whole constant expression.
    fn eval_tokens(&mut self, tokens: Vec<Token>) -> Result<Value, CDeclError> {
        let eof = Token {
            tok: Tok::Eof,
            ..tokens.last().cloned().unwrap_or(Token {
                tok: Tok::Eof,
                file: 0,
                line: 0,
                col: 0,
                offset: 0,
            })
        };
        let mut toks = tokens;
        toks.push(eof);
        // A cast in a macro may mention a tag; the macro declares nothing.
        self.parse_whole(toks, "expression", Self::const_expr).0
    }

    /// Runs `parse` over `toks` alone, as if they were the whole input, requiring it to
    /// take them all (`what` names the construct in the error), then puts the parser
    /// back where it was. Tags the parse declared are forgotten; the first is returned.
    fn parse_whole<T>(
        &mut self,
        toks: Vec<Token>,
        what: &str,
        parse: impl FnOnce(&mut Self) -> Result<T, CDeclError>,
    ) -> (Result<T, CDeclError>, Option<String>) {
        let saved_toks = std::mem::replace(&mut self.toks, toks);
        let saved_pos = std::mem::replace(&mut self.pos, 0);
        let saved_depth = self.depth;
        let mark = self.tag_mark();
        let r = parse(self).and_then(|v| {
            if self.at_eof() {
                Ok(v)
            } else {
                Err(self.err(format!(
                    "unexpected {} after the {what}",
                    Self::describe(self.tok())
                )))
            }
        });
        let declared = self.forget_tags_since(mark);
        self.toks = saved_toks;
        self.pos = saved_pos;
        self.depth = saved_depth;
        (r, declared)
    }

    /// The names of the macros, in definition order.
    pub fn macro_names(&self) -> Vec<String> {
        self.model.macros.iter().map(|m| m.name.clone()).collect()
    }

    /// What macro `name` stands for: a constant, a forwarding call, or why neither.
    pub fn eval_macro(&mut self, name: &str) -> Result<MacroValue, String> {
        let Some(&mi) = self.macro_index.get(name) else {
            return Err(format!("no macro named '{name}'"));
        };
        let m = self.model.macros[mi].clone();
        if m.body.is_empty() {
            return Err("expands to nothing".into());
        }
        match &m.params {
            None => {
                let toks = self.expand(&m.body, &mut vec![m.name.clone()], 0)?;
                self.eval_tokens(toks)
                    .map(MacroValue::Value)
                    .map_err(|e| e.message)
            }
            Some(params) => self.forwarding(&m, params),
        }
    }

    fn forwarding(&mut self, m: &Macro, params: &[String]) -> Result<MacroValue, String> {
        let mut body: &[Token] = &m.body;
        // Strip redundant outer parentheses.
        while body.len() >= 2
            && matches!(body[0].tok, Tok::Punct("("))
            && matches!(body[body.len() - 1].tok, Tok::Punct(")"))
            && closes_at_end(body)
        {
            body = &body[1..body.len() - 1];
        }
        let (Some(Tok::Ident(func)), Some(Tok::Punct("("))) =
            (body.first().map(|t| &t.tok), body.get(1).map(|t| &t.tok))
        else {
            return Err("a function-like macro that is not a call of a declared function".into());
        };
        if !matches!(body.last().map(|t| &t.tok), Some(Tok::Punct(")")))
            || !closes_at_end(&body[1..])
        {
            return Err("a function-like macro that is not a single call".into());
        }
        let is_function = self
            .ordinary
            .get(func.as_str())
            .is_some_and(|&i| matches!(self.model.decls[i].kind, DeclKind::Function { .. }));
        if !is_function {
            return Err(format!(
                "a function-like macro calling '{func}', which is not a declared function"
            ));
        }
        let inner = &body[2..body.len() - 1];
        let mut args = Vec::new();
        let mut used = vec![false; params.len()];
        for arg in split_args(inner) {
            // A parameter, possibly parenthesised or cast: `(strm)`, `(int)(level)`.
            let idents: Vec<&str> = arg
                .iter()
                .filter_map(|t| {
                    if let Tok::Ident(s) = &t.tok {
                        Some(s.as_str())
                    } else {
                        None
                    }
                })
                .collect();
            let param_hits: Vec<usize> = idents
                .iter()
                .filter_map(|s| params.iter().position(|p| p == s))
                .collect();
            if param_hits.len() == 1 {
                let pi = param_hits[0];
                let rest_are_types = arg.iter().all(|t| match &t.tok {
                    Tok::Ident(s) => {
                        params.get(pi).is_some_and(|p| p == s.as_str())
                            || self.is_type_start(&t.tok)
                    }
                    Tok::Punct("(") | Tok::Punct(")") | Tok::Punct("*") => true,
                    _ => false,
                });
                if !rest_are_types {
                    return Err("an argument computes with a parameter".into());
                }
                used[pi] = true;
                args.push(ForwardArg::Param(pi));
            } else if param_hits.is_empty() {
                let toks = self.expand(arg, &mut vec![m.name.clone()], 0)?;
                let v = self
                    .eval_tokens(toks)
                    .map_err(|e| format!("argument is not a constant: {}", e.message))?;
                args.push(ForwardArg::Const(v));
            } else {
                return Err("an argument uses several parameters".into());
            }
        }
        if used.iter().any(|u| !u) || m.variadic {
            return Err("not every parameter is passed on".into());
        }
        Ok(MacroValue::Forward {
            function: func.to_string(),
            args,
        })
    }

    /// Parses `text` as a type name with everything declared so far.
    pub fn parse_type_name(&mut self, text: &str) -> Result<Type, CDeclError> {
        let lexed = lex(text, "<type>")?;
        let saved_src = std::mem::replace(&mut self.src, text.to_string());
        let saved_files = std::mem::replace(&mut self.files, lexed.files);
        let (r, declared) = self.parse_whole(lexed.tokens, "type name", Self::type_name);
        self.src = saved_src;
        self.files = saved_files;
        match (r, declared) {
            (Ok(_), Some(what)) => Err(CDeclError::at(
                "<type>".into(),
                1,
                1,
                text.to_string(),
                format!("{what} is not declared here (a type name cannot declare or define a tag)"),
            )),
            (r, _) => r,
        }
    }

    /// How many records and enums exist, to undo what a type name or macro declares.
    fn tag_mark(&self) -> (usize, usize) {
        (self.model.records.len(), self.model.enums.len())
    }

    /// Removes records, enums, tags and enum constants made since `mark`; names the first.
    fn forget_tags_since(&mut self, (records, enums): (usize, usize)) -> Option<String> {
        let what = if let Some(r) = self.model.records.get(records) {
            let kind = if r.kind == RecordKind::Struct {
                "struct"
            } else {
                "union"
            };
            Some(format!("{kind} {}", r.tag.as_deref().unwrap_or("")))
        } else {
            self.model
                .enums
                .get(enums)
                .map(|e| format!("enum {}", e.tag.as_deref().unwrap_or("")))
        };
        self.model.records.truncate(records);
        self.model.enums.truncate(enums);
        self.tags.retain(|_, t| match t {
            Tag::Record(i) => *i < records,
            Tag::Enum(i) => *i < enums,
        });
        self.model.constants.retain(|_, (_, e)| *e < enums);
        what
    }

    /// The declaration of an ordinary identifier (function, variable or typedef).
    pub fn decl(&self, name: &str) -> Option<&Decl> {
        self.ordinary
            .get(name)
            .and_then(|&i| self.model.decls.get(i))
    }

    /// The record or enum declared with this tag.
    pub fn tag(&self, name: &str) -> Option<Type> {
        self.tags.get(name).map(|t| match t {
            Tag::Record(i) => Type::Record(*i),
            Tag::Enum(i) => Type::Enum(*i),
        })
    }
}

fn merge_attrs(into: &mut Attrs, from: &Attrs) {
    into.packed |= from.packed;
    if let Some(a) = from.aligned {
        into.aligned = Some(into.aligned.unwrap_or(0).max(a));
    }
    if from.mode.is_some() {
        into.mode = from.mode.clone();
    }
    if from.vector_size.is_some() {
        into.vector_size = from.vector_size;
    }
    if let Some(n) = &from.nonnull {
        let mut v = into.nonnull.take().unwrap_or_default();
        v.extend(n.iter().copied());
        into.nonnull = Some(v);
    }
    into.deprecated |= from.deprecated;
}

/// Whether the bracket opened by `toks[0]` closes at the last token.
fn closes_at_end(toks: &[Token]) -> bool {
    let mut level = 0i64;
    for (i, t) in toks.iter().enumerate() {
        match t.tok {
            Tok::Punct("(") => level += 1,
            Tok::Punct(")") => {
                level -= 1;
                if level == 0 {
                    return i == toks.len() - 1;
                }
            }
            _ => {}
        }
    }
    false
}

fn split_args(toks: &[Token]) -> Vec<&[Token]> {
    let mut out = Vec::new();
    if toks.is_empty() {
        return out;
    }
    let (mut level, mut start) = (0i64, 0);
    for (i, t) in toks.iter().enumerate() {
        match t.tok {
            Tok::Punct("(") | Tok::Punct("[") | Tok::Punct("{") => level += 1,
            Tok::Punct(")") | Tok::Punct("]") | Tok::Punct("}") => level -= 1,
            Tok::Punct(",") if level == 0 => {
                out.push(&toks[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&toks[start..]);
    out
}

/// A token as C source text.
fn token_text(t: &Token) -> String {
    match &t.tok {
        Tok::Ident(s) | Tok::Num(s) => s.to_string(),
        Tok::Char { prefix, body } => format!("{prefix}'{body}'"),
        Tok::Str { prefix, bytes } => {
            let mut s = format!("{prefix}\"");
            for &b in bytes {
                match b {
                    b'"' | b'\\' => {
                        s.push('\\');
                        s.push(b as char)
                    }
                    0x20..=0x7e => s.push(b as char),
                    _ => s.push_str(&format!("\\{b:03o}")),
                }
            }
            s.push('"');
            s
        }
        Tok::Punct(p) => p.to_string(),
        Tok::Eof => String::new(),
    }
}

/// The declared ordinary identifiers (for tests).
#[cfg(test)]
fn names(p: &Parser) -> HashSet<String> {
    p.model.decls.iter().map(|d| d.name.clone()).collect()
}

#[cfg(test)]
mod tests;
