//! Struct and union layout: where C puts every member, computed exactly as GCC does on
//! x86-64 Linux (System V ABI), including bit-fields and `#pragma pack(n)`.
//!
//! What it does not do: it knows no C types (the caller gives each member's size and
//! alignment — scalars, arrays and nested records alike), touches no memory, and does not
//! model `__attribute__((packed))`, `__attribute__((aligned(n)))`, flexible array members,
//! or MSVC's bit-field rules (Windows). It is pure arithmetic, checked against GCC by
//! `tests/layout_vs_gcc.rs`.
//!
//! # The rules (GCC, x86-64 SysV)
//!
//! Positions are tracked in bits. With `pack = Some(n)` every member's alignment is first
//! capped at `n` ("capped alignment" below); without pack it is the member's own.
//!
//! * **Plain member** (scalar, array, nested record): starts at the next multiple of its
//!   capped alignment (so after bit-fields it starts at a fresh, aligned byte) and raises the
//!   record's alignment to its capped alignment.
//! * **Bit-field of width `w > 0`**: starts at the current bit — unless, without pack, it
//!   would straddle a boundary of its declared type's alignment unit (an `int` field may not
//!   cross a 32-bit boundary), in which case it starts at that boundary. Under pack there is
//!   no such move: packed bit-fields are contiguous and may straddle anything. Bit-fields of
//!   different declared types share storage freely. A *named* bit-field raises the record's
//!   alignment to its declared type's capped alignment; an unnamed one (`int :5;`) does not.
//! * **Zero-width bit-field** (`int :0;`, always unnamed): moves the position to the next
//!   multiple of its declared type's alignment — *not* capped by pack — and does not raise
//!   the record's alignment. In a union it does nothing.
//! * **Union**: every member starts at bit 0; the extent is the largest member (a bit-field
//!   counts its width in bits).
//! * **Record**: alignment is the largest contribution above (at least 1); size is the extent
//!   rounded up to whole bytes, then to a multiple of the alignment. An empty record has size
//!   0, as with GCC's C extension.
//!
//! # Where a bit-field is read from
//!
//! Each bit-field gets a storage unit — `size` bytes at `offset` — holding all its bits, read
//! as one unsigned integer (little-endian; big-endian with
//! [`LayoutOptions::big_endian_bits`]) and shifted right by `bit_offset`. The unit always lies
//! inside the record, so a reader never touches bytes past its end. It is chosen as:
//!
//! 1. the naturally aligned unit of the declared type containing the field's first bit, if it
//!    holds the whole field and fits in the record. GCC guarantees this for every named
//!    bit-field without pack (no straddling, and the record is aligned to the type), and it is
//!    the unit GCC itself loads;
//! 2. otherwise (pack, or an unnamed bit-field) a unit of the declared type's size, possibly
//!    unaligned, starting at the field's first byte or — if that would run past the record's
//!    end — ending at the record's end;
//! 3. otherwise, when no unit of the type's size can hold the field inside the record (a packed
//!    field straddling more bytes than its type has, e.g. `int b:30` starting at bit 4, or a
//!    record smaller than the type), exactly the bytes the field touches. Only here does `size`
//!    differ from the declared type's size; it is then at most one byte more.

// Offsets and sizes are computed in u128 from usize inputs (at most 2**64 members of
// at most 2**64 bytes: no u128 overflow) and checked into isize before they leave
// (`to_usize`); field indexes come from enumerating the fields themselves.
#![allow(clippy::indexing_slicing, clippy::arithmetic_side_effects)]

use std::fmt;

/// Whether members follow each other (struct) or overlap at offset 0 (union).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordKind {
    /// Members are placed one after another.
    Struct,
    /// Every member starts at offset 0.
    Union,
}

/// One member of a record, as far as layout is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FieldSpec {
    /// Size in bytes. For a bit-field: the size of its declared integer type.
    pub size: usize,
    /// Natural alignment in bytes (a power of two). For a bit-field: its declared type's.
    pub align: usize,
    /// `Some(width)` for a bit-field, in bits; `Some(0)` is the unnamed `type :0;`, which
    /// only aligns the next member. `None` for a plain member.
    pub bit_width: Option<u32>,
    /// Whether a bit-field's declared type is signed. Informational: layout ignores it.
    pub signed: bool,
    /// `true` for an unnamed bit-field (`int :5;`): placed like any other but adds nothing to
    /// the record's alignment. Zero-width bit-fields are always treated as unnamed. Ignored for
    /// plain members (anonymous struct/union members are laid out like named ones).
    pub anonymous: bool,
}

impl FieldSpec {
    /// A plain member — scalar, array or nested record — of `size` bytes aligned to `align`.
    pub const fn plain(size: usize, align: usize) -> Self {
        FieldSpec {
            size,
            align,
            bit_width: None,
            signed: false,
            anonymous: false,
        }
    }

    /// A named bit-field of `width` bits whose declared integer type has this size and alignment.
    pub const fn bits(size: usize, align: usize, width: u32, signed: bool) -> Self {
        FieldSpec {
            size,
            align,
            bit_width: Some(width),
            signed,
            anonymous: false,
        }
    }

    /// An unnamed bit-field (`type :width;`); `width` 0 aligns the next member to the type.
    pub const fn unnamed_bits(size: usize, align: usize, width: u32) -> Self {
        FieldSpec {
            size,
            align,
            bit_width: Some(width),
            signed: false,
            anonymous: true,
        }
    }
}

/// Record-wide settings.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LayoutOptions {
    /// `Some(n)`, like `#pragma pack(n)` or ctypes' `_pack_ = n`: caps every member's alignment
    /// at `n` (a power of two) and lets bit-fields straddle. `None`: natural alignment.
    pub pack: Option<usize>,
    /// Number bit-field bits as ctypes does for `BigEndianStructure`/`BigEndianUnion`: the unit
    /// is read as a big-endian integer and `bit_offset` counts from its least significant bit,
    /// with fields allocated from the most significant end (as on big-endian GCC targets).
    /// Byte offsets, sizes and alignment are unaffected.
    pub big_endian_bits: bool,
}

/// Where one member lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FieldPlacement {
    /// Byte offset from the record's start: of the member itself, or of a bit-field's storage
    /// unit (see the module documentation for how that unit is chosen).
    pub offset: usize,
    /// Bytes to read at `offset`: the member's size, or the bit-field's storage unit size
    /// (normally its declared type's size; 0 for a zero-width bit-field).
    pub size: usize,
    /// For a bit-field: how far to shift the unit, read as an unsigned integer, right to reach
    /// the field's least significant bit. 0 for plain members.
    pub bit_offset: u32,
    /// The bit-field's width, as given; `None` for plain members.
    pub bit_width: Option<u32>,
}

/// The computed layout of a record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordLayout {
    /// `sizeof` the record, in bytes.
    pub size: usize,
    /// `_Alignof` the record, in bytes.
    pub align: usize,
    /// One placement per [`FieldSpec`], in the same order.
    pub fields: Vec<FieldPlacement>,
}

/// Why a record cannot be laid out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LayoutError {
    /// The pack value is not a power of two (0 included: use `None` for no packing).
    InvalidPack(usize),
    /// A member's alignment is not a power of two.
    InvalidAlignment {
        /// Index of the member.
        field: usize,
        /// The alignment given.
        align: usize,
    },
    /// A bit-field is wider than its declared type.
    BitFieldTooWide {
        /// Index of the member.
        field: usize,
        /// The width given, in bits.
        width: u32,
        /// Size of the declared type, in bytes.
        type_size: usize,
    },
    /// The record or an offset in it does not fit in this machine's address space.
    TooLarge,
}

impl fmt::Display for LayoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LayoutError::InvalidPack(n) => write!(
                f,
                "pack must be a power of two (1, 2, 4, 8, ...), got {n}; \
                 leave it unset for natural alignment"
            ),
            LayoutError::InvalidAlignment { field, align } => write!(
                f,
                "field at index {field}: alignment must be a power of two, got {align}"
            ),
            LayoutError::BitFieldTooWide {
                field,
                width,
                type_size,
            } => write!(
                f,
                "field at index {field}: number of bits invalid for bit field: \
                 width {width} does not fit in its {}-bit type",
                bits(*type_size)
            ),
            LayoutError::TooLarge => {
                write!(f, "record is too large for this machine's address space")
            }
        }
    }
}

impl std::error::Error for LayoutError {}

/// Bits in `bytes` bytes (u128 arithmetic cannot overflow for any `usize` input).
fn bits(bytes: usize) -> u128 {
    bytes as u128 * 8
}

/// `x` rounded up to a multiple of `m` (`m` > 0).
fn round_up(x: u128, m: u128) -> u128 {
    x.div_ceil(m) * m
}

/// `x` as a `usize` no larger than `isize::MAX` (the most any object may span, in
/// Rust as in C), or [`LayoutError::TooLarge`].
fn to_usize(x: u128) -> Result<usize, LayoutError> {
    isize::try_from(x).map(|n| n as usize).map_err(|_| LayoutError::TooLarge)
}

/// GCC's straddle test: placing `width` bits at bit `pos` would touch more alignment units
/// (`unit` bits each) than the declared type (`type_bits`) spans.
fn spans_too_many_units(pos: u128, width: u128, unit: u128, type_bits: u128) -> bool {
    (pos % unit + width).div_ceil(unit) > type_bits / unit
}

/// Computes size, alignment and member placements of a struct or union, as GCC does on
/// x86-64 Linux. `fields` are in declaration order; the result's `fields` match them 1:1.
pub fn layout_record(
    kind: RecordKind,
    fields: &[FieldSpec],
    opts: &LayoutOptions,
) -> Result<RecordLayout, LayoutError> {
    if let Some(p) = opts.pack {
        if !p.is_power_of_two() {
            return Err(LayoutError::InvalidPack(p));
        }
    }

    // Pass 1: the first bit of every member, the record's extent and alignment.
    let mut starts = Vec::with_capacity(fields.len());
    let mut pos: u128 = 0; // next free bit (stays 0 in a union)
    let mut extent: u128 = 0; // bits used so far
    let mut align: usize = 1;
    for (i, f) in fields.iter().enumerate() {
        if !f.align.is_power_of_two() {
            return Err(LayoutError::InvalidAlignment {
                field: i,
                align: f.align,
            });
        }
        let capped = opts.pack.map_or(f.align, |p| p.min(f.align));
        let unit = bits(f.align);
        let (start, len) = match f.bit_width {
            None => {
                align = align.max(capped);
                (round_up(pos, bits(capped)), bits(f.size))
            }
            Some(0) => (round_up(pos, unit), 0),
            Some(w) => {
                let (width, type_bits) = (u128::from(w), bits(f.size));
                if width > type_bits {
                    return Err(LayoutError::BitFieldTooWide {
                        field: i,
                        width: w,
                        type_size: f.size,
                    });
                }
                if !f.anonymous {
                    align = align.max(capped);
                }
                let straddles = spans_too_many_units(pos, width, unit, type_bits);
                let start = if opts.pack.is_none() && straddles {
                    round_up(pos, unit)
                } else {
                    pos
                };
                (start, width)
            }
        };
        starts.push(start);
        extent = extent.max(start + len);
        if kind == RecordKind::Struct {
            pos = start + len;
        }
    }
    let size = round_up(extent.div_ceil(8), align as u128);

    // Pass 2: placements, now that the record's size bounds the bit-field units.
    let placements = fields
        .iter()
        .zip(starts)
        .map(|(f, start)| place(f, start, size, opts.big_endian_bits))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(RecordLayout {
        size: to_usize(size)?,
        align,
        fields: placements,
    })
}

/// The placement of member `f` whose first bit is `start`, in a record of `record_size` bytes.
fn place(
    f: &FieldSpec,
    start: u128,
    record_size: u128,
    big_endian_bits: bool,
) -> Result<FieldPlacement, LayoutError> {
    let first = start / 8;
    let (offset, size, bit_offset) = match f.bit_width {
        None => (first, f.size as u128, 0),
        Some(0) => (first, 0, 0),
        Some(w) => {
            let width = u128::from(w);
            let stop = (start + width).div_ceil(8); // one past the last byte touched
            let type_size = f.size as u128;
            let natural = start / bits(f.align) * f.align as u128;
            let (offset, size) =
                if natural + type_size >= stop && natural + type_size <= record_size {
                    (natural, type_size)
                } else if stop - first <= type_size && type_size <= record_size {
                    (first.min(record_size - type_size), type_size)
                } else {
                    (first, stop - first)
                };
            let shift = start - offset * 8;
            let bit_offset = if big_endian_bits {
                size * 8 - shift - width
            } else {
                shift
            };
            (
                offset,
                size,
                u32::try_from(bit_offset).map_err(|_| LayoutError::TooLarge)?,
            )
        }
    };
    Ok(FieldPlacement {
        offset: to_usize(offset)?,
        size: to_usize(size)?,
        bit_offset,
        bit_width: f.bit_width,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHAR: FieldSpec = FieldSpec::plain(1, 1);
    const INT: FieldSpec = FieldSpec::plain(4, 4);

    fn int_bits(width: u32) -> FieldSpec {
        FieldSpec::bits(4, 4, width, true)
    }

    fn layout(kind: RecordKind, fields: &[FieldSpec], pack: Option<usize>) -> RecordLayout {
        let opts = LayoutOptions {
            pack,
            big_endian_bits: false,
        };
        match layout_record(kind, fields, &opts) {
            Ok(l) => l,
            Err(e) => panic!("unexpected layout error: {e}"),
        }
    }

    fn at(offset: usize, size: usize) -> FieldPlacement {
        FieldPlacement {
            offset,
            size,
            bit_offset: 0,
            bit_width: None,
        }
    }

    fn bits_at(offset: usize, size: usize, bit_offset: u32, width: u32) -> FieldPlacement {
        FieldPlacement {
            offset,
            size,
            bit_offset,
            bit_width: Some(width),
        }
    }

    #[test]
    fn plain_members_take_natural_alignment() {
        // struct { char a; int b; char c; }  →  a@0 b@4 c@8, size 12, align 4
        let l = layout(RecordKind::Struct, &[CHAR, INT, CHAR], None);
        assert_eq!((l.size, l.align), (12, 4));
        assert_eq!(l.fields, vec![at(0, 1), at(4, 4), at(8, 1)]);
    }

    #[test]
    fn bit_field_shares_the_unit_of_the_preceding_char() {
        // struct { char a; int b:3; char c; }: b takes bits 8..11 of the int at offset 0,
        // c the next free byte. GCC: size 4, align 4.
        // ctypes 3.11 gives size 12: it opens a new int for b at offset 4 and puts c at 8.
        let l = layout(RecordKind::Struct, &[CHAR, int_bits(3), CHAR], None);
        assert_eq!((l.size, l.align), (4, 4));
        assert_eq!(l.fields, vec![at(0, 1), bits_at(0, 4, 8, 3), at(2, 1)]);
    }

    #[test]
    fn bit_field_moves_rather_than_straddle_its_type_unit() {
        // struct { int a:30; int b:4; }: b would cross bit 32, so it starts there. Size 8.
        let l = layout(RecordKind::Struct, &[int_bits(30), int_bits(4)], None);
        assert_eq!((l.size, l.align), (8, 4));
        assert_eq!(l.fields, vec![bits_at(0, 4, 0, 30), bits_at(4, 4, 0, 4)]);
    }

    #[test]
    fn bit_fields_of_different_types_share_storage() {
        // struct { char a:4; short b:8; int c:20; }: bits 0..4, 4..12, 12..32; one int, and
        // the record is aligned like its widest named bit-field's type. GCC: size 4, align 4.
        // ctypes 3.11 places the bits the same but gives alignment 1.
        let fields = [
            FieldSpec::bits(1, 1, 4, true),
            FieldSpec::bits(2, 2, 8, true),
            int_bits(20),
        ];
        let l = layout(RecordKind::Struct, &fields, None);
        assert_eq!((l.size, l.align), (4, 4));
        assert_eq!(
            l.fields,
            vec![
                bits_at(0, 1, 0, 4),
                bits_at(0, 2, 4, 8),
                bits_at(0, 4, 12, 20)
            ]
        );
    }

    #[test]
    fn long_long_bit_fields_after_an_int_share_its_eight_byte_unit() {
        // struct { int a; long long b:32; }: b fits bits 32..64 of the 8-byte unit at 0.
        // GCC: size 8. ctypes 3.11 gives size 16 (b in a fresh long long at offset 8).
        let l = layout(
            RecordKind::Struct,
            &[INT, FieldSpec::bits(8, 8, 32, true)],
            None,
        );
        assert_eq!((l.size, l.align), (8, 8));
        assert_eq!(l.fields, vec![at(0, 4), bits_at(0, 8, 32, 32)]);
    }

    #[test]
    fn zero_width_bit_field_aligns_the_next_member_only() {
        // struct { char a; int :0; char b; }: b@4, but the record's alignment stays 1. Size 5.
        let l = layout(
            RecordKind::Struct,
            &[CHAR, FieldSpec::unnamed_bits(4, 4, 0), CHAR],
            None,
        );
        assert_eq!((l.size, l.align), (5, 1));
        assert_eq!(l.fields, vec![at(0, 1), bits_at(4, 0, 0, 0), at(4, 1)]);
    }

    #[test]
    fn zero_width_bit_field_ignores_pack() {
        // #pragma pack(1)  struct { char a; long long :0; char b; }: b@8, size 9.
        let fields = [CHAR, FieldSpec::unnamed_bits(8, 8, 0), CHAR];
        let l = layout(RecordKind::Struct, &fields, Some(1));
        assert_eq!((l.size, l.align), (9, 1));
        assert_eq!(l.fields[2], at(8, 1));
    }

    #[test]
    fn unnamed_bit_field_does_not_align_the_record() {
        // struct { char a; int :5; }: size 2, align 1 (a named `int b:5` would make it 4, 4).
        let l = layout(
            RecordKind::Struct,
            &[CHAR, FieldSpec::unnamed_bits(4, 4, 5)],
            None,
        );
        assert_eq!((l.size, l.align), (2, 1));
        // The int-sized unit would overrun the 2-byte record, so the unit is the byte touched.
        assert_eq!(l.fields[1], bits_at(1, 1, 0, 5));
    }

    #[test]
    fn pack_caps_alignment_and_lets_bit_fields_straddle() {
        // #pragma pack(4)  struct { char a; int b:30; }: b takes bits 8..38; size 8, align 4.
        // ctypes 3.11 (_pack_ = 4) agrees on size but puts b in a new int at offset 4.
        let l = layout(RecordKind::Struct, &[CHAR, int_bits(30)], Some(4));
        assert_eq!((l.size, l.align), (8, 4));
        // The aligned int at 0 does not hold bit 37, so the unit is the (unaligned) int at 1.
        assert_eq!(l.fields[1], bits_at(1, 4, 0, 30));
        // #pragma pack(2)  struct { char a; double d; }: d@2, size 10, align 2.
        let l = layout(RecordKind::Struct, &[CHAR, FieldSpec::plain(8, 8)], Some(2));
        assert_eq!((l.size, l.align, l.fields[1]), (10, 2, at(2, 8)));
    }

    #[test]
    fn packed_bit_field_touching_more_bytes_than_its_type_gets_a_wider_unit() {
        // #pragma pack(1)  struct { char a:4; int b:30; }: b takes bits 4..34, five bytes.
        // ctypes 3.11 (_pack_ = 1) agrees on size 5 but starts b at bit 8.
        let l = layout(
            RecordKind::Struct,
            &[FieldSpec::bits(1, 1, 4, true), int_bits(30)],
            Some(1),
        );
        assert_eq!((l.size, l.align), (5, 1));
        assert_eq!(l.fields[1], bits_at(0, 5, 4, 30));
    }

    #[test]
    fn union_of_bit_fields() {
        // union { char a:3; int b:17; }: both at bit 0; 17 bits need 3 bytes, align 4 → size 4.
        // ctypes 3.11 gives size 3, alignment 1, and reports b at offset -1.
        let l = layout(
            RecordKind::Union,
            &[FieldSpec::bits(1, 1, 3, false), int_bits(17)],
            None,
        );
        assert_eq!((l.size, l.align), (4, 4));
        assert_eq!(l.fields, vec![bits_at(0, 1, 0, 3), bits_at(0, 4, 0, 17)]);
    }

    #[test]
    fn big_endian_bit_numbering() {
        // BigEndianStructure with (a: c_uint, 4), (b: c_uint, 12): a is the top 4 bits of the
        // big-endian int at 0, so shift 28; b follows it, shift 16.
        let opts = LayoutOptions {
            pack: None,
            big_endian_bits: true,
        };
        let l = layout_record(RecordKind::Struct, &[int_bits(4), int_bits(12)], &opts);
        assert_eq!(
            l.map(|l| l.fields),
            Ok(vec![bits_at(0, 4, 28, 4), bits_at(0, 4, 16, 12)])
        );
    }

    #[test]
    fn errors_say_what_is_wrong() {
        let opts = LayoutOptions::default();
        let err = layout_record(RecordKind::Struct, &[CHAR, int_bits(33)], &opts);
        assert_eq!(
            err,
            Err(LayoutError::BitFieldTooWide {
                field: 1,
                width: 33,
                type_size: 4
            })
        );
        let msg = err.map(|_| ()).unwrap_err().to_string();
        assert!(
            msg.contains("number of bits invalid for bit field"),
            "{msg}"
        );

        let packed = LayoutOptions {
            pack: Some(3),
            big_endian_bits: false,
        };
        assert_eq!(
            layout_record(RecordKind::Struct, &[INT], &packed),
            Err(LayoutError::InvalidPack(3))
        );
        let zero = LayoutOptions {
            pack: Some(0),
            big_endian_bits: false,
        };
        assert_eq!(
            layout_record(RecordKind::Union, &[INT], &zero),
            Err(LayoutError::InvalidPack(0))
        );

        let odd = FieldSpec::plain(6, 6);
        let err = layout_record(RecordKind::Struct, &[odd], &opts);
        assert_eq!(
            err,
            Err(LayoutError::InvalidAlignment { field: 0, align: 6 })
        );
    }

    #[test]
    fn empty_record_has_size_zero() {
        let l = layout(RecordKind::Struct, &[], None);
        assert_eq!((l.size, l.align, l.fields.len()), (0, 1, 0));
    }

    #[test]
    fn records_beyond_isize_are_too_large() {
        let half = FieldSpec::plain(1 << 62, 1);
        let l = layout_record(RecordKind::Struct, &[half, half], &LayoutOptions::default());
        assert_eq!(l.err(), Some(LayoutError::TooLarge));
        let u = layout_record(RecordKind::Union, &[FieldSpec::plain(usize::MAX, 1)], &LayoutOptions::default());
        assert_eq!(u.err(), Some(LayoutError::TooLarge));
        let many = vec![FieldSpec::plain(1 << 62, 1); 5];
        assert_eq!(layout_record(RecordKind::Struct, &many, &LayoutOptions::default()).err(), Some(LayoutError::TooLarge));
    }
}
