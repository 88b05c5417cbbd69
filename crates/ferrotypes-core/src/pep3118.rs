//! Buffer item formats (PEP 3118: the `struct` module's syntax, extended): which C
//! scalars one item of a buffer holds, and where.
//!
//! A pointer parameter given a buffer checks that the buffer's items are what the
//! pointer points to: [`parse`] reads an item format into its scalar [`Leaf`]s, and
//! [`Leaf::accepts`] compares them with the pointee's. Understood: the byte-order and
//! size modes (`@ ^ = < > !`, which last until the next one), repeat counts,
//! sub-arrays `(2,3)d`, structures `T{...}` with `:name:` labels, padding `x`,
//! strings `5s`, complex numbers `Zf Zd Zg`, and ctypes' `z`/`Z` (string pointers);
//! that covers what numpy, `array`, `memoryview` and ctypes write.
//!
//! What it does not do: ctypes' pointer formats (`&<i`), function pointers (`X{}`) and
//! anything else unknown parse to `None` — callers then compare format strings
//! exactly. ctypes' own structure formats list no padding, so the offsets read from
//! them are wrong: callers compare those exactly too, before parsing.

// The parser's cursor only moves past bytes it has peeked, so its slices stay inside
// the format string; counts and offsets are bounded by the item size the format
// itself declares (checked against the buffer's before use).
#![allow(clippy::indexing_slicing, clippy::arithmetic_side_effects)]

use crate::ctype::{NumberClass, ScalarAt, ScalarKind};

/// What kind of value a scalar inside a buffer item is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LeafClass {
    Signed,
    Unsigned,
    Float,
    /// Two floats, real and imaginary (`Zd`): `size` is both together.
    Complex,
    Bool,
    /// A one-byte character (`c`, each byte of `s`).
    Char,
    WChar,
    /// An address (`P`, and ctypes' `z`/`Z`).
    Pointer,
    /// A `PyObject *` (`O`).
    Object,
    /// A padding byte (`x`): it holds nothing, so it stands for nothing, or for a
    /// byte of the C type (`numpy.ctypeslib.as_ctypes_type` fills gaps with `char`
    /// arrays where numpy's own format has `x`).
    Pad,
}

/// One scalar of a buffer item: where it starts, what it is, its size and byte order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Leaf {
    pub offset: usize,
    pub class: LeafClass,
    pub size: usize,
    pub big_endian: bool,
}

/// One buffer item read from its format: its scalars by offset, and its size.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Item {
    pub leaves: Vec<Leaf>,
    pub size: usize,
}

impl Leaf {
    /// The leaf a scalar inside a C value is, in the byte order it is stored in.
    pub fn of_scalar(scalar: &ScalarAt) -> Leaf {
        Leaf::of_kind(scalar.kind, scalar.offset, cfg!(target_endian = "big") != scalar.swapped)
    }

    /// The leaf a value of `kind` is at `offset`, stored `big_endian` or not.
    pub fn of_kind(kind: ScalarKind, offset: usize, big_endian: bool) -> Leaf {
        use ScalarKind::*;
        let class = match kind {
            Bool => LeafClass::Bool,
            Char => LeafClass::Char,
            WChar => LeafClass::WChar,
            CharPtr | WCharPtr | VoidPtr => LeafClass::Pointer,
            ObjectPtr => LeafClass::Object,
            FloatComplex | DoubleComplex | LongDoubleComplex => LeafClass::Complex,
            k => match k.number_class() {
                NumberClass::Signed => LeafClass::Signed,
                NumberClass::Unsigned => LeafClass::Unsigned,
                NumberClass::Float => LeafClass::Float,
            },
        };
        Leaf { offset, class, size: kind.size(), big_endian }
    }

    /// Whether a buffer's leaf `other` can stand for this one: same offset, class, size
    /// and byte order — except that bytes (one-byte characters and integers of either
    /// sign) stand for characters and characters for bytes.
    pub fn accepts(&self, other: &Leaf) -> bool {
        if self.offset != other.offset || self.size != other.size {
            return false;
        }
        if self.class == LeafClass::Char || other.class == LeafClass::Char {
            return self.is_byte() && other.is_byte();
        }
        self.class == other.class && (self.size == 1 || self.big_endian == other.big_endian)
    }

    /// A one-byte character or integer.
    pub fn is_byte(&self) -> bool {
        self.size == 1 && matches!(self.class, LeafClass::Char | LeafClass::Signed | LeafClass::Unsigned)
    }
}

impl Item {
    /// Whether this item (a buffer's) is one or more `size`-byte values one after
    /// another, each with exactly the scalars `expected` (a C type's, by offset): a
    /// numpy sub-array `(3)d` is three `double`s.
    /// Padding bytes of this item ([`LeafClass::Pad`]) may face no scalar, or a byte.
    /// `expected` must be sorted by offset.
    pub fn repeats(&self, expected: &[Leaf], size: usize) -> bool {
        if expected.is_empty() || size == 0 || self.size == 0 || !self.size.is_multiple_of(size) {
            return false;
        }
        let mut wanted = (0..self.size / size).flat_map(|i| expected.iter().map(move |e| Leaf { offset: e.offset + i * size, ..*e })).peekable();
        for leaf in &self.leaves {
            let facing = wanted.peek().filter(|e| e.offset == leaf.offset).copied();
            match (leaf.class, facing) {
                (LeafClass::Pad, Some(e)) if e.is_byte() => {
                    wanted.next();
                }
                (LeafClass::Pad, Some(_)) => return false, // padding where the C type has data
                (LeafClass::Pad, None) => {}
                (_, Some(e)) if e.accepts(leaf) => {
                    wanted.next();
                }
                _ => return false,
            }
        }
        wanted.next().is_none()
    }

    /// Whether the item is nothing but bytes (characters, one-byte integers, padding).
    pub fn is_bytes(&self) -> bool {
        !self.leaves.is_empty() && self.leaves.iter().all(|l| l.is_byte() || l.class == LeafClass::Pad)
    }

    /// Pads the item with `x` bytes up to `size` (numpy leaves trailing padding out
    /// of a structure's format: `T{b:a:}` for a 2-byte item); false when it is larger.
    pub fn pad_to(&mut self, size: usize) -> bool {
        if self.size > size {
            return false;
        }
        let big_endian = cfg!(target_endian = "big");
        self.leaves.extend((self.size..size).map(|offset| Leaf { offset, class: LeafClass::Pad, size: 1, big_endian }));
        self.size = size;
        true
    }

    /// The item's scalars without its padding.
    pub fn data_leaves(&self) -> impl Iterator<Item = &Leaf> {
        self.leaves.iter().filter(|l| l.class != LeafClass::Pad)
    }
}

/// The most scalars an item is read into (a `(1000,1000)d` item is not).
const MAX_LEAVES: usize = 1 << 16;

/// Reads an item format; `None` for what this module does not understand (or holding
/// more than [`MAX_LEAVES`] scalars).
pub fn parse(format: &str) -> Option<Item> {
    let mut parser = Parser { s: format.as_bytes(), pos: 0, mode: Mode::Native };
    let (leaves, size) = parser.sequence(0)?;
    (parser.pos == parser.s.len()).then_some(Item { leaves, size })
}

/// The size and alignment mode, and byte order, that format characters set.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// `@`: native sizes, each scalar at an offset its size divides (counted from the
    /// item's start: numpy writes `@` only where that holds, nested structures
    /// included, which are not padded as a whole), native byte order.
    Native,
    /// `^`: native sizes, no alignment, native byte order.
    NativeUnaligned,
    /// `= < > !`: standard sizes, no alignment, the given byte order.
    Standard { big_endian: bool },
}

impl Mode {
    fn big_endian(self) -> bool {
        match self {
            Mode::Standard { big_endian } => big_endian,
            _ => cfg!(target_endian = "big"),
        }
    }
}

/// The mode a byte-order/size character sets.
fn mode_of(c: u8) -> Option<Mode> {
    match c {
        b'@' => Some(Mode::Native),
        b'^' => Some(Mode::NativeUnaligned),
        b'=' => Some(Mode::Standard { big_endian: cfg!(target_endian = "big") }),
        b'<' => Some(Mode::Standard { big_endian: false }),
        b'>' | b'!' => Some(Mode::Standard { big_endian: true }),
        _ => None,
    }
}

struct Parser<'a> {
    s: &'a [u8],
    pos: usize,
    mode: Mode,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let c = self.peek()?;
        self.pos += 1;
        Some(c)
    }

    fn number(&mut self) -> Option<usize> {
        let start = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
        }
        std::str::from_utf8(&self.s[start..self.pos]).ok()?.parse().ok()
    }

    /// Items up to the end or a `}`, starting at offset `base` of the whole item:
    /// their leaves (offsets from `base`) and total size.
    fn sequence(&mut self, base: usize) -> Option<(Vec<Leaf>, usize)> {
        let (mut leaves, mut offset) = (Vec::new(), 0usize);
        while let Some(c) = self.peek() {
            match c {
                b'}' => break,
                b' ' | b'\t' | b'\n' => {
                    self.pos += 1;
                    continue;
                }
                _ => {}
            }
            if let Some(mode) = mode_of(c) {
                self.mode = mode;
                self.pos += 1;
                continue;
            }
            // Sub-array shapes (numpy nests them: `(2)(3)b`), then ctypes' byte order
            // after a shape (`(2,3)<i`), then a repeat count or a string's length.
            let mut count = 1usize;
            while self.peek() == Some(b'(') {
                self.pos += 1;
                loop {
                    count = count.checked_mul(self.number()?)?;
                    match self.next()? {
                        b',' => {}
                        b')' => break,
                        _ => return None,
                    }
                }
            }
            if let Some(mode) = self.peek().and_then(mode_of) {
                self.mode = mode;
                self.pos += 1;
            }
            let mut length = 1usize;
            if self.peek().is_some_and(|c| c.is_ascii_digit()) {
                length = self.number()?;
            }
            let aligns = self.mode == Mode::Native && self.peek() != Some(b'T');
            let (element, size, element_align) = self.element(&mut length, base + offset)?;
            let count = count.checked_mul(length)?;
            if aligns {
                offset = (base + offset).checked_next_multiple_of(element_align)? - base;
            }
            if leaves.len().saturating_add(count.saturating_mul(element.len())) > MAX_LEAVES {
                return None; // callers fall back to comparing formats exactly
            }
            for i in 0..count {
                let base = offset.checked_add(i.checked_mul(size)?)?;
                leaves.extend(element.iter().map(|l| Leaf { offset: l.offset + base, ..*l }));
            }
            offset = offset.checked_add(count.checked_mul(size)?)?;
            if self.peek() == Some(b':') {
                self.pos += 1;
                while self.next()? != b':' {}
            }
        }
        Some((leaves, offset))
    }

    /// One element after its count, at offset `at` of the whole item (for a nested
    /// structure): its leaves, size and alignment. A string's count is its length, so
    /// `count` becomes 1 for it.
    fn element(&mut self, count: &mut usize, at: usize) -> Option<(Vec<Leaf>, usize, usize)> {
        let big_endian = self.mode.big_endian();
        let scalar = |class, size: usize| Some((vec![Leaf { offset: 0, class, size, big_endian }], size, size));
        let native = !matches!(self.mode, Mode::Standard { .. });
        let long = if native { std::mem::size_of::<std::ffi::c_long>() } else { 4 };
        match self.next()? {
            b'T' => {
                if self.next()? != b'{' {
                    return None;
                }
                let (leaves, size) = self.sequence(at)?;
                (self.next()? == b'}').then_some((leaves, size, 1))
            }
            b'x' => Some((vec![Leaf { offset: 0, class: LeafClass::Pad, size: 1, big_endian }], 1, 1)),
            b's' => {
                let n = std::mem::replace(count, 1);
                let leaves = (0..n).map(|i| Leaf { offset: i, class: LeafClass::Char, size: 1, big_endian }).collect();
                Some((leaves, n, 1))
            }
            b'Z' => {
                let part = match self.peek() {
                    Some(b'e') => 2,
                    Some(b'f') => 4,
                    Some(b'd') => 8,
                    Some(b'g') => 16,
                    _ => return scalar(LeafClass::Pointer, ScalarKind::WCharPtr.size()), // ctypes' c_wchar_p
                };
                self.pos += 1;
                Some((vec![Leaf { offset: 0, class: LeafClass::Complex, size: 2 * part, big_endian }], 2 * part, part))
            }
            b'?' => scalar(LeafClass::Bool, 1),
            b'c' => scalar(LeafClass::Char, 1),
            b'b' => scalar(LeafClass::Signed, 1),
            b'B' => scalar(LeafClass::Unsigned, 1),
            b'h' => scalar(LeafClass::Signed, 2),
            b'H' => scalar(LeafClass::Unsigned, 2),
            b'i' => scalar(LeafClass::Signed, 4),
            b'I' => scalar(LeafClass::Unsigned, 4),
            b'l' => scalar(LeafClass::Signed, long),
            b'L' => scalar(LeafClass::Unsigned, long),
            b'q' => scalar(LeafClass::Signed, 8),
            b'Q' => scalar(LeafClass::Unsigned, 8),
            b'n' => scalar(LeafClass::Signed, std::mem::size_of::<isize>()),
            b'N' => scalar(LeafClass::Unsigned, std::mem::size_of::<usize>()),
            b'e' => scalar(LeafClass::Float, 2),
            b'f' => scalar(LeafClass::Float, 4),
            b'd' => scalar(LeafClass::Float, 8),
            b'g' => scalar(LeafClass::Float, ScalarKind::LongDouble.size()),
            // PEP 3118's `u` is UCS-2, but ctypes writes it for its 4-byte wchar_t.
            b'u' => scalar(LeafClass::WChar, ScalarKind::WChar.size()),
            b'w' => scalar(LeafClass::WChar, 4),
            b'P' | b'z' => scalar(LeafClass::Pointer, std::mem::size_of::<usize>()),
            b'O' => scalar(LeafClass::Object, std::mem::size_of::<usize>()),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaf(offset: usize, class: LeafClass, size: usize, big_endian: bool) -> Leaf {
        Leaf { offset, class, size, big_endian }
    }

    #[test]
    fn scalars_in_each_mode() {
        use LeafClass::*;
        assert_eq!(parse("d"), Some(Item { leaves: vec![leaf(0, Float, 8, false)], size: 8 }));
        assert_eq!(parse(">i").unwrap().leaves, vec![leaf(0, Signed, 4, true)]);
        assert_eq!(parse("<q").unwrap().leaves, vec![leaf(0, Signed, 8, false)]);
        assert_eq!(parse("l").unwrap().size, 8, "native long");
        assert_eq!(parse("=l").unwrap().size, 4, "standard long");
        assert_eq!(parse("Zd").unwrap().leaves, vec![leaf(0, Complex, 16, false)]);
        assert_eq!(parse("g").unwrap().size, 16);
        assert_eq!(parse("<z").unwrap().leaves, vec![leaf(0, Pointer, 8, false)]);
        assert_eq!(parse("<Z").unwrap().leaves, vec![leaf(0, Pointer, 8, false)]);
        assert_eq!(parse("3s").unwrap().leaves.len(), 3);
        assert_eq!(parse("(2,5)<d").unwrap().size, 80, "ctypes' array formats");
        assert_eq!(parse("(1)(2)b").unwrap().size, 2, "numpy's nested sub-arrays");
        assert_eq!(parse("(2)3s").unwrap().size, 6);
        assert_eq!(parse("(1000,1000)d"), None, "too many scalars to list");
        assert_eq!(parse("&<i"), None);
        assert_eq!(parse("X{}"), None);
        assert_eq!(parse("d junk"), None);
    }

    #[test]
    fn numpy_structures_with_padding_and_modes() {
        use LeafClass::*;
        // dtype([('a', '<i4'), ('b', '<f8')], align=True): explicit padding in '@' mode.
        let aligned = parse("T{i:a:xxxxd:b:}").unwrap();
        let data: Vec<Leaf> = aligned.data_leaves().copied().collect();
        assert_eq!(data, vec![leaf(0, Signed, 4, false), leaf(8, Float, 8, false)]);
        assert_eq!(aligned.size, 16);
        // The same packed: '=' switches alignment off.
        let packed = parse("T{i:a:=d:b:}").unwrap();
        assert_eq!(packed, Item { leaves: vec![leaf(0, Signed, 4, false), leaf(4, Float, 8, false)], size: 12 });
        // '@' aligns by itself, sub-arrays repeat, nested structures nest.
        let nested = parse("T{b:a:(2)d:b:T{h:x:>h:y:}:c:}").unwrap();
        let offsets: Vec<usize> = nested.leaves.iter().map(|l| l.offset).collect();
        assert_eq!(offsets, vec![0, 8, 16, 24, 26]);
        assert!(nested.leaves[4].big_endian && !nested.leaves[3].big_endian);
        assert_eq!(nested.size, 28);
        // A packed structure nesting one whose scalars are aligned where they land.
        let packed = parse("T{h:a:T{h:a:i:b:}:b:}").unwrap();
        assert_eq!(packed.leaves.iter().map(|l| l.offset).collect::<Vec<_>>(), vec![0, 2, 4]);
    }

    #[test]
    fn leaves_accept_their_own_kind_and_bytes_for_chars() {
        let double = Leaf::of_kind(ScalarKind::Double, 0, false);
        assert!(double.accepts(&parse("d").unwrap().leaves[0]));
        assert!(!double.accepts(&parse(">d").unwrap().leaves[0]));
        assert!(!double.accepts(&parse("q").unwrap().leaves[0]));
        let long = Leaf::of_kind(ScalarKind::Long, 0, false);
        assert!(long.accepts(&parse("q").unwrap().leaves[0]) && long.accepts(&parse("l").unwrap().leaves[0]));
        assert!(!long.accepts(&parse("L").unwrap().leaves[0]));
        let ch = Leaf::of_kind(ScalarKind::Char, 0, false);
        for f in ["B", "b", "c", "1s"] {
            assert!(ch.accepts(&parse(f).unwrap().leaves[0]), "{f}");
        }
        let byte = Leaf::of_kind(ScalarKind::Byte, 0, false);
        assert!(!byte.accepts(&parse("B").unwrap().leaves[0]) && !byte.accepts(&parse("?").unwrap().leaves[0]));
        assert!(parse("5s").unwrap().is_bytes() && parse("B").unwrap().is_bytes() && !parse("h").unwrap().is_bytes());
    }

    #[test]
    fn items_match_leaf_by_leaf() {
        let expected = [Leaf::of_kind(ScalarKind::Int, 0, false), Leaf::of_kind(ScalarKind::Double, 8, false)];
        assert!(parse("T{i:a:xxxxd:b:}").unwrap().repeats(&expected, 16));
        assert!(!parse("T{i:a:=d:b:}").unwrap().repeats(&expected, 16));
        assert!(!parse("T{i:a:xxxxd:b:xxxx}").unwrap().repeats(&expected, 16));
        // Padding may face a gap, or bytes of the C type (a `char` array filling the gap).
        let filled = [Leaf::of_kind(ScalarKind::Int, 0, false), Leaf::of_kind(ScalarKind::Char, 4, false), Leaf::of_kind(ScalarKind::Char, 5, false), Leaf::of_kind(ScalarKind::Char, 6, false), Leaf::of_kind(ScalarKind::Char, 7, false), Leaf::of_kind(ScalarKind::Double, 8, false)];
        assert!(parse("T{i:a:xxxxd:b:}").unwrap().repeats(&filled, 16));
        assert!(!parse("T{x:a:xxxxxxxd:b:}").unwrap().repeats(&expected, 16), "padding over an int");
        let mut short = parse("T{i:a:xxxxd:b:}").unwrap();
        assert!(short.pad_to(24) && short.size == 24 && short.repeats(&[Leaf::of_kind(ScalarKind::Int, 0, false), Leaf::of_kind(ScalarKind::Double, 8, false)], 24));
        assert!(!parse("d").unwrap().pad_to(4));
        let double = [Leaf::of_kind(ScalarKind::Double, 0, false)];
        assert!(parse("(3)d").unwrap().repeats(&double, 8) && parse("d").unwrap().repeats(&double, 8));
        assert!(!parse("T{d:a:i:b:}").unwrap().repeats(&double, 8));
    }
}
