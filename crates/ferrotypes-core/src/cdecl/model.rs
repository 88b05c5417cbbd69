//! The core's own model of C declarations: types, records, enums, functions, variables,
//! typedefs and macros, as the parser leaves them. Sizes and alignments of x86-64 System V
//! (LP64) and record layouts from the GCC engine in [`crate::layout`].

use crate::layout::{layout_record, FieldSpec, LayoutOptions, RecordKind};

/// C's integer types, by rank and signedness (plain `char` is signed on x86-64 but distinct).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IntKind {
    Bool,
    Char,
    SChar,
    UChar,
    Short,
    UShort,
    Int,
    UInt,
    Long,
    ULong,
    LongLong,
    ULongLong,
    Int128,
    UInt128,
}

impl IntKind {
    /// Size in bytes (also the alignment).
    pub fn size(self) -> u64 {
        use IntKind::*;
        match self {
            Bool | Char | SChar | UChar => 1,
            Short | UShort => 2,
            Int | UInt => 4,
            Long | ULong | LongLong | ULongLong => 8,
            Int128 | UInt128 => 16,
        }
    }

    /// Whether values of this type can be negative.
    pub fn signed(self) -> bool {
        use IntKind::*;
        matches!(self, Char | SChar | Short | Int | Long | LongLong | Int128)
    }

    /// C's conversion rank (int promotion and usual arithmetic conversions).
    pub fn rank(self) -> u8 {
        use IntKind::*;
        match self {
            Bool => 0,
            Char | SChar | UChar => 1,
            Short | UShort => 2,
            Int | UInt => 3,
            Long | ULong => 4,
            LongLong | ULongLong => 5,
            Int128 | UInt128 => 6,
        }
    }

    /// The unsigned type of the same rank.
    pub fn to_unsigned(self) -> IntKind {
        use IntKind::*;
        match self {
            Char | SChar => UChar,
            Short => UShort,
            Int => UInt,
            Long => ULong,
            LongLong => ULongLong,
            Int128 => UInt128,
            k => k,
        }
    }

    /// The integer type of `size` bytes with this signedness (for `__mode__`).
    pub fn with_size(self, size: u64) -> Option<IntKind> {
        use IntKind::*;
        let k = match size {
            1 => SChar,
            2 => Short,
            4 => Int,
            8 => Long,
            16 => Int128,
            _ => return None,
        };
        Some(if self.signed() { k } else { k.to_unsigned() })
    }

    /// `v` reduced to this type's range, as a conversion in C does (two's complement).
    pub fn wrap(self, v: i128) -> i128 {
        if self == IntKind::Bool {
            return (v != 0) as i128;
        }
        let bits = self.size() * 8;
        if bits >= 128 {
            return v;
        }
        let mask = (1i128 << bits) - 1;
        let u = v & mask;
        if self.signed() && u >> (bits - 1) != 0 {
            u - (1i128 << bits)
        } else {
            u
        }
    }

    /// Whether `v` is representable in this type.
    pub fn holds(self, v: i128) -> bool {
        self.wrap(v) == v
    }

    /// The C spelling, for messages and for the Python side.
    pub fn c_name(self) -> &'static str {
        use IntKind::*;
        match self {
            Bool => "_Bool",
            Char => "char",
            SChar => "signed char",
            UChar => "unsigned char",
            Short => "short",
            UShort => "unsigned short",
            Int => "int",
            UInt => "unsigned int",
            Long => "long",
            ULong => "unsigned long",
            LongLong => "long long",
            ULongLong => "unsigned long long",
            Int128 => "__int128",
            UInt128 => "unsigned __int128",
        }
    }
}

/// C's floating types, real and complex.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FloatKind {
    Float,
    Double,
    LongDouble,
    Float128,
    ComplexFloat,
    ComplexDouble,
    ComplexLongDouble,
    ComplexFloat128,
}

impl FloatKind {
    /// Size and alignment in bytes.
    pub fn size_align(self) -> (u64, u64) {
        use FloatKind::*;
        match self {
            Float => (4, 4),
            Double => (8, 8),
            LongDouble | Float128 => (16, 16),
            ComplexFloat => (8, 4),
            ComplexDouble => (16, 8),
            ComplexLongDouble | ComplexFloat128 => (32, 16),
        }
    }

    /// The C spelling.
    pub fn c_name(self) -> &'static str {
        use FloatKind::*;
        match self {
            Float => "float",
            Double => "double",
            LongDouble => "long double",
            Float128 => "_Float128",
            ComplexFloat => "float _Complex",
            ComplexDouble => "double _Complex",
            ComplexLongDouble => "long double _Complex",
            ComplexFloat128 => "_Float128 _Complex",
        }
    }
}

/// A C type. Typedef names stay names (`Named`) so that the binding can reuse the typedef's
/// class; [`Model::resolve`] looks through them.
#[derive(Clone, Debug, PartialEq)]
pub enum Type {
    Void,
    Int(IntKind),
    Float(FloatKind),
    /// A pointer; `to_const` when the pointee is `const`-qualified.
    Pointer {
        to: Box<Type>,
        to_const: bool,
    },
    /// `len` is `None` for `T[]` (a flexible array member or an unsized declaration).
    Array {
        of: Box<Type>,
        len: Option<u64>,
    },
    Func(Box<FuncType>),
    /// Index into [`Model::records`].
    Record(usize),
    /// Index into [`Model::enums`].
    Enum(usize),
    /// A typedef name.
    Named(String),
    /// Bytes of a type with no ferrotypes class (vector types, `__va_list_tag`).
    Opaque {
        name: String,
        size: u64,
        align: u64,
    },
    /// A typedef name's type with the alignment its `aligned` attribute gives (GCC keeps the size).
    Aligned {
        ty: Box<Type>,
        align: u64,
    },
}

/// A function's type.
#[derive(Clone, Debug, PartialEq)]
pub struct FuncType {
    pub ret: Type,
    /// The parameters, arrays and functions already adjusted to pointers.
    pub params: Vec<Param>,
    pub variadic: bool,
    /// `f()` in C: parameters not given (K&R); `f(void)` has `params` empty and this false.
    pub unspecified: bool,
}

/// One parameter.
#[derive(Clone, Debug, PartialEq)]
pub struct Param {
    pub name: Option<String>,
    pub ty: Type,
}

/// One member of a struct or union.
#[derive(Clone, Debug, PartialEq)]
pub struct Field {
    /// `None` for an anonymous struct/union member or an unnamed bit-field.
    pub name: Option<String>,
    pub ty: Type,
    pub bit_width: Option<u32>,
    /// `aligned(N)` given on the member, or `_Alignas`.
    pub aligned: Option<u64>,
    /// `packed` given on the member.
    pub packed: bool,
}

/// A struct or union, complete or not.
#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    pub kind: RecordKind,
    pub tag: Option<String>,
    /// `None` while only declared (`struct s;`).
    pub fields: Option<Vec<Field>>,
    /// `#pragma pack` in effect at the closing brace.
    pub pack: Option<u64>,
    /// `__attribute__((packed))` on the record.
    pub packed: bool,
    /// `__attribute__((aligned(N)))` on the record.
    pub aligned: Option<u64>,
    /// A name to call it by when it has no tag (the first typedef naming it).
    pub typedef_name: Option<String>,
}

/// An enum: its constants and the integer type GCC gives it.
#[derive(Clone, Debug, PartialEq)]
pub struct Enum {
    pub tag: Option<String>,
    pub constants: Vec<(String, i128)>,
    pub underlying: IntKind,
    pub complete: bool,
    pub typedef_name: Option<String>,
}

/// An ordinary identifier's declaration.
#[derive(Clone, Debug, PartialEq)]
pub enum DeclKind {
    Function {
        ty: FuncType,
        /// `static` (so no symbol to bind) or `static inline`.
        is_static: bool,
        /// Indexes (0-based) of `nonnull` parameters; all pointer parameters when the
        /// attribute had no arguments.
        nonnull: Vec<usize>,
        deprecated: bool,
    },
    Variable {
        ty: Type,
        is_static: bool,
    },
    Typedef {
        ty: Type,
    },
}

/// A declaration of an ordinary identifier.
#[derive(Clone, Debug, PartialEq)]
pub struct Decl {
    pub name: String,
    pub kind: DeclKind,
    /// The symbol an `__asm__("...")` label names instead of `name`.
    pub asm_label: Option<String>,
    /// Where it is declared (`file:line`).
    pub location: String,
}

/// A `#define`.
#[derive(Clone, Debug, PartialEq)]
pub struct Macro {
    pub name: String,
    /// `Some` for a function-like macro.
    pub params: Option<Vec<String>>,
    pub variadic: bool,
    pub body: Vec<super::lexer::Token>,
}

/// Layout of a complete type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SizeAlign {
    pub size: u64,
    pub align: u64,
}

/// Everything a source declared, in order.
#[derive(Clone, Debug, Default)]
pub struct Model {
    pub records: Vec<Record>,
    pub enums: Vec<Enum>,
    pub decls: Vec<Decl>,
    /// Enum constants by name: (value, enum index).
    pub constants: super::NameMap<String, (i128, usize)>,
    pub typedefs: super::NameMap<String, Type>,
    pub macros: Vec<Macro>,
}

/// Depth past which type resolution gives up (self-referential typedef chains cannot be
/// written in C, but a malformed model must not recurse forever).
const MAX_DEPTH: u32 = 64;

impl Model {
    /// Looks through typedef names to the type they stand for.
    pub fn resolve<'a>(&'a self, mut ty: &'a Type) -> &'a Type {
        for _ in 0..MAX_DEPTH {
            match ty {
                Type::Named(n) => match self.typedefs.get(n) {
                    Some(t) => ty = t,
                    None => return ty,
                },
                _ => return ty,
            }
        }
        ty
    }

    /// `sizeof` and `_Alignof` of a complete type, or why it has none.
    pub fn size_align(&self, ty: &Type) -> Result<SizeAlign, String> {
        self.size_align_depth(ty, 0)
    }

    fn size_align_depth(&self, ty: &Type, depth: u32) -> Result<SizeAlign, String> {
        if depth > MAX_DEPTH {
            return Err("type nests too deeply".into());
        }
        let sa = |size, align| Ok(SizeAlign { size, align });
        match ty {
            Type::Void => sa(1, 1),
            Type::Int(k) => sa(k.size(), k.size()),
            Type::Float(k) => {
                let (s, a) = k.size_align();
                sa(s, a)
            }
            Type::Pointer { .. } => sa(8, 8),
            Type::Func(_) => sa(1, 1),
            Type::Array { of, len } => {
                let e = self.size_align_depth(of, depth + 1)?;
                let n = len.unwrap_or(0);
                let size = e
                    .size
                    .checked_mul(n)
                    .ok_or_else(|| "array is too large".to_string())?;
                sa(size, e.align)
            }
            Type::Named(n) => match self.typedefs.get(n) {
                Some(t) => self.size_align_depth(t, depth + 1),
                None => Err(format!("unknown type name '{n}'")),
            },
            Type::Opaque { size, align, .. } => sa(*size, *align),
            Type::Aligned { ty, align } => {
                let inner = self.size_align_depth(ty, depth + 1)?;
                sa(inner.size, *align)
            }
            Type::Enum(i) => {
                let e = &self.enums[*i];
                if !e.complete {
                    return Err(format!(
                        "enum {} is incomplete",
                        e.tag.as_deref().unwrap_or("")
                    ));
                }
                sa(e.underlying.size(), e.underlying.size())
            }
            Type::Record(i) => self.record_layout_depth(*i, depth + 1).map(|l| SizeAlign {
                size: l.size,
                align: l.align,
            }),
        }
    }

    /// Whether `ty` is, or is an array of, a typedef name with an `aligned` attribute: the
    /// alignment is the typedef's own, which a class for the type it names does not have.
    fn typedef_aligned<'a>(&'a self, mut ty: &'a Type) -> bool {
        for _ in 0..MAX_DEPTH {
            ty = match ty {
                Type::Aligned { .. } => return true,
                Type::Array { of, .. } => of,
                Type::Named(n) => match self.typedefs.get(n) {
                    Some(t) => t,
                    None => return false,
                },
                _ => return false,
            };
        }
        false
    }

    /// The layout of record `index`: size, alignment and each field's placement.
    pub fn record_layout(&self, index: usize) -> Result<LaidOut, String> {
        self.record_layout_depth(index, 0)
    }

    fn record_layout_depth(&self, index: usize, depth: u32) -> Result<LaidOut, String> {
        let rec = &self.records[index];
        let what = || {
            format!(
                "{} {}",
                if rec.kind == RecordKind::Struct {
                    "struct"
                } else {
                    "union"
                },
                rec.tag
                    .as_deref()
                    .or(rec.typedef_name.as_deref())
                    .unwrap_or("<anonymous>")
            )
        };
        let fields = rec
            .fields
            .as_ref()
            .ok_or_else(|| format!("{} is incomplete", what()))?;
        let mut specs = Vec::with_capacity(fields.len());
        for f in fields {
            let inner = self.size_align_depth(&f.ty, depth + 1)?;
            let mut align = inner.align;
            if f.packed || rec.packed {
                align = 1;
            }
            if let Some(a) = f.aligned {
                align = align.max(a);
            }
            let spec = match f.bit_width {
                None => FieldSpec::plain(inner.size as usize, align as usize),
                Some(w) => {
                    let signed = matches!(self.resolve(&f.ty), Type::Int(k) if k.signed());
                    if f.name.is_none() {
                        FieldSpec::unnamed_bits(inner.size as usize, inner.align as usize, w)
                    } else {
                        FieldSpec::bits(inner.size as usize, inner.align as usize, w, signed)
                    }
                }
            };
            specs.push(spec);
        }
        let pack = if rec.packed { Some(1) } else { rec.pack };
        let opts = LayoutOptions {
            pack: pack.map(|p| p as usize),
            big_endian_bits: false,
        };
        let laid =
            layout_record(rec.kind, &specs, &opts).map_err(|e| format!("{}: {e}", what()))?;
        let mut align = laid.align as u64;
        if let Some(a) = rec.aligned {
            align = align.max(a);
        }
        let size = (laid.size as u64).div_ceil(align) * align;
        Ok(LaidOut {
            size,
            align,
            offsets: laid.fields.iter().map(|p| p.offset as u64).collect(),
            natural: rec.aligned.is_none()
                && fields
                    .iter()
                    .all(|f| f.aligned.is_none() && !f.packed && !self.typedef_aligned(&f.ty)),
        })
    }
}

/// A record's computed layout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LaidOut {
    pub size: u64,
    pub align: u64,
    /// Byte offset of each field (of its storage unit for bit-fields).
    pub offsets: Vec<u64>,
    /// No `aligned` or member `packed` attribute, on the record, its members or their
    /// typedefs: `_fields_` with `_pack_` reproduce it.
    pub natural: bool,
}
