//! The type model: the C types ferrotypes can put in memory and pass to functions.
//!
//! A [`ScalarKind`] is one of ctypes' simple types, named by its `_type_` code; a
//! [`CType`] adds `void` and records/arrays passed by value. Sizes and alignments are
//! those of this platform's C compiler (x86_64/aarch64 Linux, LP64).
//! What it does not do: lay out records (see [`crate::layout`]) or convert values.

use std::ffi::{c_char, c_double, c_float, c_int, c_long, c_longlong, c_short, c_void};
use std::mem::{align_of, size_of};
use std::sync::Arc;

use libffi::middle::Type;

/// One of ctypes' simple types, named after the `_type_` code ctypes gives it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ScalarKind {
    /// `?` — `_Bool`
    Bool,
    /// `c` — `char`, one byte holding a character
    Char,
    /// `b` — `signed char` as a small integer
    Byte,
    /// `B` — `unsigned char` as a small integer
    UByte,
    /// `h` — `short`
    Short,
    /// `H` — `unsigned short`
    UShort,
    /// `i` — `int`
    Int,
    /// `I` — `unsigned int`
    UInt,
    /// `l` — `long`
    Long,
    /// `L` — `unsigned long`
    ULong,
    /// `q` — `long long`
    LongLong,
    /// `Q` — `unsigned long long`
    ULongLong,
    /// `f` — `float`
    Float,
    /// `d` — `double`
    Double,
    /// `g` — `long double`
    LongDouble,
    /// `u` — `wchar_t`
    WChar,
    /// `z` — `char *` holding a NUL-terminated string
    CharPtr,
    /// `Z` — `wchar_t *` holding a NUL-terminated wide string
    WCharPtr,
    /// `P` — `void *`
    VoidPtr,
    /// `O` — a pointer to a Python object (the extension gives it meaning)
    ObjectPtr,
    /// `v` — Windows' `VARIANT_BOOL`, a 16-bit truth value (`-1` true, `0` false);
    /// ctypes offers it on every platform (`wintypes.VARIANT_BOOL`)
    VariantBool,
    /// `F` — `float _Complex` (C99; ctypes has it from Python 3.14)
    FloatComplex,
    /// `D` — `double _Complex`
    DoubleComplex,
    /// `G` — `long double _Complex`
    LongDoubleComplex,
}

/// Every scalar kind, in ctypes' `_type_` code order.
pub const ALL_SCALARS: [ScalarKind; 24] = [
    ScalarKind::Bool,
    ScalarKind::Char,
    ScalarKind::Byte,
    ScalarKind::UByte,
    ScalarKind::Short,
    ScalarKind::UShort,
    ScalarKind::Int,
    ScalarKind::UInt,
    ScalarKind::Long,
    ScalarKind::ULong,
    ScalarKind::LongLong,
    ScalarKind::ULongLong,
    ScalarKind::Float,
    ScalarKind::Double,
    ScalarKind::LongDouble,
    ScalarKind::WChar,
    ScalarKind::CharPtr,
    ScalarKind::WCharPtr,
    ScalarKind::VoidPtr,
    ScalarKind::ObjectPtr,
    ScalarKind::VariantBool,
    ScalarKind::FloatComplex,
    ScalarKind::DoubleComplex,
    ScalarKind::LongDoubleComplex,
];

/// `long double` is 16 bytes, 16-aligned on x86_64 and aarch64 Linux.
const LONG_DOUBLE_SIZE: usize = 16;
/// `long double _Complex`: two of them.
const LONG_DOUBLE_COMPLEX_SIZE: usize = 2 * LONG_DOUBLE_SIZE;

/// How a scalar's bytes are to be read as a number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NumberClass {
    /// A signed integer of the kind's size.
    Signed,
    /// An unsigned integer of the kind's size (also `_Bool`, `char`, `wchar_t`, pointers).
    Unsigned,
    /// A binary floating-point number.
    Float,
}

impl ScalarKind {
    /// The kind for a ctypes `_type_` code, if there is one on this platform.
    pub fn from_code(code: char) -> Option<ScalarKind> {
        ALL_SCALARS.iter().copied().find(|k| k.code() == code)
    }

    /// The ctypes `_type_` code.
    pub fn code(self) -> char {
        use ScalarKind::*;
        match self {
            Bool => '?',
            Char => 'c',
            Byte => 'b',
            UByte => 'B',
            Short => 'h',
            UShort => 'H',
            Int => 'i',
            UInt => 'I',
            Long => 'l',
            ULong => 'L',
            LongLong => 'q',
            ULongLong => 'Q',
            Float => 'f',
            Double => 'd',
            LongDouble => 'g',
            WChar => 'u',
            CharPtr => 'z',
            WCharPtr => 'Z',
            VoidPtr => 'P',
            ObjectPtr => 'O',
            VariantBool => 'v',
            FloatComplex => 'F',
            DoubleComplex => 'D',
            LongDoubleComplex => 'G',
        }
    }

    /// `sizeof` of the C type.
    pub fn size(self) -> usize {
        use ScalarKind::*;
        match self {
            Bool | Char | Byte | UByte => 1,
            Short | UShort | VariantBool => size_of::<c_short>(),
            Int | UInt => size_of::<c_int>(),
            Long | ULong => size_of::<c_long>(),
            LongLong | ULongLong => size_of::<c_longlong>(),
            Float => size_of::<c_float>(),
            Double => size_of::<c_double>(),
            LongDouble => LONG_DOUBLE_SIZE,
            WChar => size_of::<libc::wchar_t>(),
            CharPtr | WCharPtr | VoidPtr | ObjectPtr => size_of::<*mut c_void>(),
            // C11 6.2.5: an array of two of the corresponding real type.
            FloatComplex => size_of::<[c_float; 2]>(),
            DoubleComplex => size_of::<[c_double; 2]>(),
            LongDoubleComplex => LONG_DOUBLE_COMPLEX_SIZE,
        }
    }

    /// `_Alignof` of the C type.
    pub fn align(self) -> usize {
        use ScalarKind::*;
        match self {
            Bool | Char | Byte | UByte => align_of::<c_char>(),
            Short | UShort | VariantBool => align_of::<c_short>(),
            Int | UInt => align_of::<c_int>(),
            Long | ULong => align_of::<c_long>(),
            LongLong | ULongLong => align_of::<c_longlong>(),
            Float => align_of::<c_float>(),
            Double => align_of::<c_double>(),
            LongDouble => LONG_DOUBLE_SIZE,
            WChar => align_of::<libc::wchar_t>(),
            CharPtr | WCharPtr | VoidPtr | ObjectPtr => align_of::<*mut c_void>(),
            FloatComplex | DoubleComplex | LongDoubleComplex => self.complex_part().map_or(1, ScalarKind::align),
        }
    }

    /// How the bytes read as a number (long double counts as `Float`, and so do the
    /// complex kinds, two floating-point numbers: see [`complex_part`](Self::complex_part)).
    pub fn number_class(self) -> NumberClass {
        use ScalarKind::*;
        match self {
            Byte | Short | Int | Long | LongLong | VariantBool => NumberClass::Signed,
            Float | Double | LongDouble | FloatComplex | DoubleComplex | LongDoubleComplex => NumberClass::Float,
            Char => {
                if c_char::MIN == 0 {
                    NumberClass::Unsigned
                } else {
                    NumberClass::Signed
                }
            }
            WChar => {
                if libc::wchar_t::MIN == 0 {
                    NumberClass::Unsigned
                } else {
                    NumberClass::Signed
                }
            }
            Bool | UByte | UShort | UInt | ULong | ULongLong | CharPtr | WCharPtr | VoidPtr
            | ObjectPtr => NumberClass::Unsigned,
        }
    }

    /// The real type of a complex kind's two parts (real, then imaginary); None for the
    /// other kinds.
    pub fn complex_part(self) -> Option<ScalarKind> {
        use ScalarKind::*;
        match self {
            FloatComplex => Some(Float),
            DoubleComplex => Some(Double),
            LongDoubleComplex => Some(LongDouble),
            _ => None,
        }
    }

    /// True for the kinds ctypes treats as integers (`b B h H i I l L q Q`).
    pub fn is_integer(self) -> bool {
        use ScalarKind::*;
        matches!(
            self,
            Byte | UByte | Short | UShort | Int | UInt | Long | ULong | LongLong | ULongLong
        )
    }

    /// True for the pointer-sized kinds that hold an address.
    pub fn is_pointer(self) -> bool {
        use ScalarKind::*;
        matches!(self, CharPtr | WCharPtr | VoidPtr | ObjectPtr)
    }

    /// The libffi type describing this scalar in a call.
    pub fn ffi_type(self) -> Type {
        use NumberClass::*;
        match self {
            ScalarKind::FloatComplex => return Type::c32(),
            ScalarKind::DoubleComplex => return Type::c64(),
            ScalarKind::LongDoubleComplex => return Type::complex_longdouble(),
            _ => {}
        }
        match (self.number_class(), self.size()) {
            (Float, 4) => Type::f32(),
            (Float, 8) => Type::f64(),
            (Float, _) => Type::longdouble(),
            _ if self.is_pointer() => Type::pointer(),
            (Signed, 1) => Type::i8(),
            (Signed, 2) => Type::i16(),
            (Signed, 4) => Type::i32(),
            (Signed, _) => Type::i64(),
            (Unsigned, 1) => Type::u8(),
            (Unsigned, 2) => Type::u16(),
            (Unsigned, 4) => Type::u32(),
            (Unsigned, _) => Type::u64(),
        }
    }
}

/// A C type as it crosses a call boundary: a scalar, `void`, or a record or array
/// passed by value (described by its members, flattened as libffi needs them).
#[derive(Clone, Debug, PartialEq)]
pub enum CType {
    /// No value (a `void` result).
    Void,
    /// A simple type.
    Scalar(ScalarKind),
    /// A struct or union passed by value. `members` are the types libffi must see;
    /// for a union, a member list whose libffi struct has the union's size and
    /// alignment. Shared, so that a call's converted record argument clones it without
    /// allocating.
    Record {
        /// The members, in order.
        members: Arc<[CType]>,
        /// `sizeof` the record, as laid out.
        size: usize,
        /// `_Alignof` the record.
        align: usize,
    },
    /// A fixed-length array inside a record (C passes bare arrays as pointers).
    Array {
        /// The element type.
        element: Box<CType>,
        /// The number of elements.
        length: usize,
    },
}

impl CType {
    /// `sizeof`.
    pub fn size(&self) -> usize {
        match self {
            CType::Void => 0,
            CType::Scalar(k) => k.size(),
            CType::Record { size, .. } => *size,
            // Saturating: an array type's size was checked against isize::MAX when the
            // type was made, so this never saturates for a type that exists.
            CType::Array { element, length } => element.size().saturating_mul(*length),
        }
    }

    /// `_Alignof` (of the type as libffi sees it for a scalar or an array; a record's
    /// own, which `_pack_` may have lowered).
    pub fn align(&self) -> usize {
        match self {
            CType::Void => 1,
            CType::Scalar(k) => k.align(),
            CType::Record { align, .. } => *align,
            CType::Array { element, .. } => element.align(),
        }
    }

    /// The scalars inside a value of this type with their byte offsets from `base`,
    /// members placed as libffi places them (each at the next multiple of its
    /// alignment), which [`record_for_call`](Self::record_for_call) makes the record's
    /// own layout. Returns the offset just past the value.
    pub fn push_leaves(&self, base: usize, out: &mut Vec<ScalarAt>) -> usize {
        match self {
            CType::Void => base,
            // Offsets inside a value that exists (at most isize::MAX bytes): the
            // saturating sums never saturate.
            CType::Scalar(k) => {
                out.push(ScalarAt::plain(base, *k));
                base.saturating_add(k.size())
            }
            CType::Record { members, size, .. } => {
                let mut end = base;
                for m in members.iter() {
                    end = m.push_leaves(end.next_multiple_of(m.align()), out);
                }
                base.saturating_add(*size)
            }
            CType::Array { element, length } => {
                let mut end = base;
                for _ in 0..*length {
                    end = element.push_leaves(end, out);
                }
                end
            }
        }
    }

    /// The libffi type, with arrays spelled as repeated members as libffi requires.
    ///
    /// An aggregate larger than [`LARGEST_CLASSIFIED_AGGREGATE`] is described by its
    /// size and alignment alone (no ABI ferrotypes runs on looks inside it), so that
    /// its description costs the same whatever its length. A record of no bytes is
    /// described with no members, which libffi refuses when a call is prepared
    /// (see [`PrepError`](crate::call::PrepError)).
    pub fn ffi_type(&self) -> Type {
        match self {
            CType::Void => Type::void(),
            CType::Scalar(k) => k.ffi_type(),
            // Left empty whatever it holds (zero-length arrays of any length).
            _ if self.size() == 0 => Type::structure([]),
            _ if self.size() > LARGEST_CLASSIFIED_AGGREGATE => opaque_aggregate(self.size(), self.align()),
            CType::Record { members, .. } => {
                let mut flat = Vec::new();
                for m in members.iter() {
                    m.push_flattened(&mut flat);
                }
                Type::structure(flat)
            }
            CType::Array { element, length } => {
                Type::structure((0..*length).map(|_| element.ffi_type()))
            }
        }
    }

    /// A struct or union of `size` bytes aligned to `align`, passed by value, described
    /// by its scalar leaves: every scalar inside it (nested members flattened, a
    /// bit-field as its storage unit) with its byte offset.
    ///
    /// libffi lays its struct members out naturally, so a record it can describe
    /// member by member (no overlap, no packing, no padding libffi would not add) is
    /// given as those members. Any other record — a union, a packed struct, bit-fields
    /// — is described by what the x86-64 SysV ABI looks at: each eightbyte is
    /// floating point when only `float`/`double` leaves touch it, integer otherwise,
    /// spelled with pieces no larger than the record's alignment so that libffi
    /// computes the same size and alignment.
    ///
    /// `leaves` is asked for only when the ABI looks inside the record (at most
    /// [`LARGEST_CLASSIFIED_AGGREGATE`] bytes); a larger record is described by its
    /// size and alignment, so a record with a long array member costs no more to
    /// describe than one with a short one.
    ///
    /// Returns `Err` for a record of at most 16 bytes with a member at an offset that is
    /// not a multiple of its natural alignment: C passes that in memory, which no
    /// libffi type of that size expresses.
    // Past the first test the record is at most 64 bytes and its leaves lie inside
    // it: the sums below are small.
    #[allow(clippy::arithmetic_side_effects)]
    pub fn record_for_call(size: usize, align: usize, leaves: impl FnOnce() -> Vec<ScalarAt>) -> Result<CType, String> {
        if size > LARGEST_CLASSIFIED_AGGREGATE {
            return Ok(CType::Record { members: [].into(), size, align });
        }
        let leaves = &leaves()[..];
        let unaligned = leaves.iter().any(|s| !s.offset.is_multiple_of(s.kind.align()));
        if unaligned && size <= 16 {
            return Err(format!(
                "a record of {size} bytes with unaligned members is passed in memory by C, \
                 which ferrotypes cannot call by value; pass a pointer to it instead"
            ));
        }
        if let Some(members) = natural_members(size, leaves) {
            return Ok(CType::Record { members: members.into(), size, align });
        }
        let piece = align.clamp(1, 8);
        let mut members = Vec::new();
        let mut start = 0;
        while start < size {
            let n = (size - start).min(8);
            let mut touching = leaves.iter().filter(|s| s.offset < start + n && s.end() > start).peekable();
            let float = touching.peek().is_some() && touching.all(|s| matches!(s.kind, ScalarKind::Float | ScalarKind::Double | ScalarKind::FloatComplex | ScalarKind::DoubleComplex));
            let kind = match (float, piece) {
                (true, 8) => ScalarKind::Double,
                (true, 4) => ScalarKind::Float,
                (_, 8) => ScalarKind::ULongLong,
                (_, 4) => ScalarKind::UInt,
                (_, 2) => ScalarKind::UShort,
                _ => ScalarKind::UByte,
            };
            members.extend(std::iter::repeat_n(CType::Scalar(kind), n.div_ceil(kind.size())));
            start += n;
        }
        Ok(CType::Record { members: members.into(), size, align })
    }

    fn push_flattened(&self, out: &mut Vec<Type>) {
        match self {
            CType::Array { element, length } => {
                for _ in 0..*length {
                    element.push_flattened(out);
                }
            }
            other => out.push(other.ffi_type()),
        }
    }
}

/// One scalar inside a value: where it starts, of which kind, whether it is stored in
/// the other byte order (a big-endian structure's field on this target), and whether it
/// is a bit-field's storage unit (whose bits no scalar kind describes). What a call
/// classifies a record by, what a buffer's format is checked against, and what the
/// extension finds inside its classes are all lists of these.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScalarAt {
    pub offset: usize,
    pub kind: ScalarKind,
    pub swapped: bool,
    pub bit_field: bool,
}

impl ScalarAt {
    /// A scalar of `kind` at `offset`, in this target's byte order, not a bit-field.
    pub fn plain(offset: usize, kind: ScalarKind) -> ScalarAt {
        ScalarAt { offset, kind, swapped: false, bit_field: false }
    }

    /// The offset just past it (inside a value that exists, so it cannot overflow).
    pub fn end(&self) -> usize {
        self.offset.saturating_add(self.kind.size())
    }
}

/// The largest aggregate whose members an ABI ferrotypes runs on looks at: x86-64
/// System V passes anything above 32 bytes (above 16 without vector types) in
/// memory, AArch64 anything above 16 bytes except homogeneous aggregates of at most
/// four floating-point members (64 bytes with `long double`).
pub const LARGEST_CLASSIFIED_AGGREGATE: usize = 64;

/// A libffi struct type of `size` bytes aligned to `align` with one byte member:
/// libffi trusts a type whose size is already set (it computes it only when zero) and
/// passes an aggregate this large in memory by its size and alignment.
fn opaque_aggregate(size: usize, align: usize) -> Type {
    let t = Type::structure([Type::u8()]);
    let raw = t.as_raw_ptr();
    // SAFETY: `raw` points to the ffi_type `t` owns and nothing else references yet;
    // an alignment above u16::MAX cannot occur (scalars align to at most 16) and is
    // clamped rather than wrapped.
    unsafe {
        (*raw).size = size;
        (*raw).alignment = u16::try_from(align).unwrap_or(u16::MAX);
    }
    t
}

/// The leaves as libffi members, when libffi's natural layout of them puts each at
/// its offset and ends at `size`.
#[allow(clippy::arithmetic_side_effects)] // offsets and sizes within a record of at most 64 bytes
fn natural_members(size: usize, leaves: &[ScalarAt]) -> Option<Vec<CType>> {
    let mut end = 0usize;
    let mut align = 1usize;
    for leaf in leaves {
        if end.next_multiple_of(leaf.kind.align()) != leaf.offset {
            return None;
        }
        end = leaf.end();
        align = align.max(leaf.kind.align());
    }
    (end.next_multiple_of(align) == size && !leaves.is_empty()).then(|| leaves.iter().map(|s| CType::Scalar(s.kind)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaves(at: &[(usize, ScalarKind)]) -> Vec<ScalarAt> {
        at.iter().map(|&(offset, kind)| ScalarAt::plain(offset, kind)).collect()
    }

    #[test]
    fn codes_round_trip() {
        for k in ALL_SCALARS {
            assert_eq!(ScalarKind::from_code(k.code()), Some(k));
        }
        assert_eq!(ScalarKind::from_code('x'), None);
    }

    #[test]
    fn natural_records_keep_their_members() {
        use ScalarKind::*;
        let t = CType::record_for_call(16, 8, || leaves(&[(0, Char), (4, Int), (8, Double)])).unwrap();
        assert_eq!(t, CType::Record { members: [CType::Scalar(Char), CType::Scalar(Int), CType::Scalar(Double)].into(), size: 16, align: 8 });
    }

    #[test]
    fn unions_are_classified_per_eightbyte() {
        use ScalarKind::*;
        // union { float f; int i; }: integer class.
        let t = CType::record_for_call(4, 4, || leaves(&[(0, Float), (0, Int)])).unwrap();
        assert_eq!(t, CType::Record { members: [CType::Scalar(UInt)].into(), size: 4, align: 4 });
        // union { float f[3]; double d; } (16 bytes): both eightbytes floating point.
        let t = CType::record_for_call(16, 8, || leaves(&[(0, Float), (4, Float), (8, Float), (0, Double)])).unwrap();
        assert_eq!(t, CType::Record { members: [CType::Scalar(Double), CType::Scalar(Double)].into(), size: 16, align: 8 });
            }

    #[test]
    fn small_records_with_unaligned_members_are_refused() {
        use ScalarKind::*;
        assert!(CType::record_for_call(5, 1, || leaves(&[(0, Char), (1, Int)])).is_err());
        // Larger than 16 bytes: memory class anyway, which libffi expresses.
        assert!(CType::record_for_call(17, 1, || leaves(&[(0, Char), (1, Double), (9, Double)])).is_ok());
    }

    #[test]
    fn sizes_follow_lp64() {
        assert_eq!(ScalarKind::Int.size(), 4);
        assert_eq!(ScalarKind::Long.size(), 8);
        assert_eq!(ScalarKind::LongDouble.size(), 16);
        assert_eq!(ScalarKind::WChar.size(), 4);
        assert_eq!(ScalarKind::VoidPtr.align(), 8);
        assert_eq!((ScalarKind::FloatComplex.size(), ScalarKind::FloatComplex.align()), (8, 4));
        assert_eq!((ScalarKind::DoubleComplex.size(), ScalarKind::DoubleComplex.align()), (16, 8));
        assert_eq!((ScalarKind::LongDoubleComplex.size(), ScalarKind::LongDoubleComplex.align()), (32, 16));
    }

    #[test]
    fn large_records_need_no_leaves() {
        let t = CType::record_for_call(1 << 40, 8, || unreachable!("a record this large is described by its size")).unwrap();
        assert_eq!(t.size(), 1 << 40);
        // Cheap to describe, whatever the size.
        let ffi = t.ffi_type();
        // SAFETY: reading the ffi_type the Type owns.
        let (size, align) = unsafe { ((*ffi.as_raw_ptr()).size, (*ffi.as_raw_ptr()).alignment) };
        assert_eq!((size, align), (1 << 40, 8));
        let huge_array = CType::Array { element: Box::new(CType::Scalar(ScalarKind::Int)), length: 1 << 40 };
        // SAFETY: reading the ffi_type the temporary Type owns, while it lives.
        assert_eq!(unsafe { (*huge_array.ffi_type().as_raw_ptr()).size }, 4 << 40);
    }
}
