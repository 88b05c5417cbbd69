//! The System V x86-64 register model of a direct call: the register file the call
//! stubs pass (six integer registers, eight vector registers, then stack words), where
//! one scalar travels in it ([`Place`]), and how each argument's value is stored there
//! ([`Load`] for a scalar, [`RecordLoad`] for a record's eightbytes).

use crate::ctype::{NumberClass, ScalarKind};

/// How many stack words a direct call can pass after the registers are full.
pub const DIRECT_STACK_WORDS: usize = 8;

/// The argument words a direct call passes: the six integer argument registers and
/// the eight vector argument registers of the x86_64 System V ABI, then up to
/// [`DIRECT_STACK_WORDS`] eightbytes on the stack. A plan of the [`FEW_WORDS`] shape
/// (see [`DirectPlan::few_words`](super::DirectPlan::few_words)) may be given just the
/// first `N` = 8 of them.
#[derive(Clone, Copy)]
pub struct Registers<const N: usize = REGISTER_WORDS> {
    /// `%rdi..%r9` at 0..6, `%xmm0..7` at 6..14, the stack words from 14.
    pub(super) words: [u64; N],
}

const REGISTER_WORDS: usize = 6 + 8 + DIRECT_STACK_WORDS;
/// The index of `%xmm0` in [`Registers`].
pub(super) const FIRST_SSE: u8 = 6;
/// The index of the first stack word in [`Registers`].
pub(super) const FIRST_STACK: u8 = 14;
/// The words a plan of the `Few` shape passes: the integer registers, `%xmm0..1`.
pub const FEW_WORDS: usize = 8;

impl<const N: usize> Default for Registers<N> {
    #[inline(always)]
    fn default() -> Registers<N> {
        Registers { words: [0; N] }
    }
}

/// Where one scalar argument travels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Place {
    /// Integer register `n`; the value is widened to 64 bits (sign- or zero-extended
    /// by its type, as compilers expect for types narrower than `int`).
    Gpr(u8, ScalarKind),
    /// Vector register `n` holding a `double`.
    Double(u8),
    /// Vector register `n` holding a `float` in its low 32 bits.
    Float(u8),
    /// Stack word `n`, once the argument's register class is exhausted: integers
    /// widened as in a register, a `double` as its bits, a `float` in the low 32 bits.
    Stack(u8, ScalarKind),
}

/// Where one argument's word goes and how it is widened, worked out once per plan:
/// `words[index] = extend(word << shift) >> shift`, arithmetic when `signed`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Load {
    index: u8,
    shift: u8,
    signed: bool,
}

impl Load {
    /// Stores an argument's word (its value in the low bytes) where the call reads
    /// it, widened as its type requires.
    ///
    /// # Panics
    /// If `regs` is a smaller register file than the plan's calls pass (a
    /// `Registers<FEW_WORDS>` for a plan that is not
    /// [`few_words`](super::DirectPlan::few_words)).
    #[inline(always)]
    pub fn store<const N: usize>(self, regs: &mut Registers<N>, word: u64) {
        regs.words[self.index as usize] = self.widen(word);
    }

    /// The word as the callee reads it (narrow integers extended to 64 bits).
    #[inline(always)]
    pub fn widen(self, word: u64) -> u64 {
        let Load { shift, signed, .. } = self;
        if signed {
            ((word << shift) as i64 >> shift) as u64
        } else {
            (word << shift) >> shift
        }
    }

    pub(super) fn new(place: Place) -> Load {
        let (index, kind) = match place {
            Place::Gpr(n, kind) => (n, kind),
            Place::Double(n) => (FIRST_SSE + n, ScalarKind::Double),
            Place::Float(n) => (FIRST_SSE + n, ScalarKind::Float),
            Place::Stack(n, kind) => (FIRST_STACK + n, kind),
        };
        // Integers narrower than 64 bits are sign- or zero-extended by their
        // signedness; a float keeps its low 32 bits; 8-byte values pass unchanged.
        let size = kind.size().min(8) as u8;
        Load { index, shift: 64 - 8 * size, signed: kind.number_class() == NumberClass::Signed }
    }
}

/// How one argument of a direct call is loaded, worked out once per plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArgLoad {
    /// A scalar: one word.
    Word(Load),
    /// A record passed by value: its bytes, copied eightbyte by eightbyte.
    Record(RecordLoad),
}

impl ArgLoad {
    /// Loads the argument from `word`: a scalar's value (in its low bytes), or the
    /// address of a record's bytes.
    ///
    /// # Safety
    /// For a record, `word` is the address of at least [`RecordLoad::size`] readable
    /// bytes.
    ///
    /// # Panics
    /// As [`Load::store`], if `regs` is smaller than the plan's calls pass.
    #[inline(always)]
    pub unsafe fn store<const N: usize>(self, regs: &mut Registers<N>, word: u64) {
        match self {
            ArgLoad::Word(load) => load.store(regs, word),
            // SAFETY: for a record the caller guarantees that `word` is the address of
            // the record's `size` readable bytes.
            ArgLoad::Record(record) => unsafe { record.store(regs, word as *const u8) },
        }
    }
}

/// Where the eightbytes of a record passed by value go: the System V classification
/// (see [`DirectPlan`](super::DirectPlan)) done once, each eightbyte given its integer
/// register, vector register or stack word.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordLoad {
    pub(super) size: u8,
    /// The word (index into [`Registers`]) of the first eightbyte.
    pub(super) first: u8,
    /// The word of the second eightbyte, if any; further ones (a record passed in
    /// memory, whose words are consecutive) follow it.
    pub(super) second: u8,
}

impl RecordLoad {
    /// The record's size in bytes: how many [`store`](Self::store) reads.
    pub fn size(self) -> usize {
        usize::from(self.size)
    }

    /// Copies the record at `bytes` into the words the call passes (a last, partial
    /// eightbyte zero-extended: the callee reads only the record's own bytes).
    ///
    /// # Safety
    /// `bytes` points at [`size`](Self::size) readable bytes.
    ///
    /// # Panics
    /// As [`Load::store`], if `regs` is smaller than the plan's calls pass.
    #[inline(always)]
    pub unsafe fn store<const N: usize>(self, regs: &mut Registers<N>, bytes: *const u8) {
        let (first, second) = (usize::from(self.first), usize::from(self.second));
        // Eightbyte `k`, the last one possibly partial.
        let eightbyte = |k: usize| {
            let n = (self.size() - 8 * k).min(8);
            // SAFETY: bytes 8 * k..8 * k + n lie within the record.
            unsafe { if n == 8 { bytes.add(8 * k).cast::<u64>().read_unaligned() } else { partial_word(bytes.add(8 * k), n) } }
        };
        // The commonest records first: one or two whole eightbytes.
        match self.size {
            8 => regs.words[first] = eightbyte(0),
            16 => {
                regs.words[first] = eightbyte(0);
                regs.words[second] = eightbyte(1);
            }
            _ => {
                regs.words[first] = eightbyte(0);
                if self.size > 8 {
                    regs.words[second] = eightbyte(1);
                }
                // Only a record in memory has more, in consecutive stack words.
                for k in 2..self.size().div_ceil(8) {
                    regs.words[second + k - 1] = eightbyte(k);
                }
            }
        }
    }
}

/// The `n` (< 8) bytes at `bytes` as the low bytes of a word, the rest zero.
///
/// # Safety
/// `bytes` points at `n` readable bytes.
#[inline(always)]
unsafe fn partial_word(bytes: *const u8, n: usize) -> u64 {
    let mut word = 0u64;
    let mut at = 0;
    // SAFETY (each read): at + the read's width <= n.
    unsafe {
        if n & 4 != 0 {
            word = u64::from(bytes.cast::<u32>().read_unaligned());
            at = 4;
        }
        if n & 2 != 0 {
            word |= u64::from(bytes.add(at).cast::<u16>().read_unaligned()) << (8 * at);
            at += 2;
        }
        if n & 1 != 0 {
            word |= u64::from(bytes.add(at).read()) << (8 * at);
        }
    }
    word
}
