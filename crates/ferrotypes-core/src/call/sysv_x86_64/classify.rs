//! The System V x86-64 classification: which signatures the direct path takes, and
//! where each of their arguments travels — a scalar in the next integer or vector
//! register of its class or else the next stack word; a record's eightbytes
//! classified INTEGER or SSE and given registers of their classes when all fit, or
//! consecutive stack words. Done once per signature, into a [`DirectPlan`].

use super::registers::{ArgLoad, Load, Place, RecordLoad, DIRECT_STACK_WORDS, FIRST_SSE, FIRST_STACK};
use super::{DirectPlan, Return, Shape};
use crate::ctype::{CType, NumberClass, ScalarKind};

impl DirectPlan {
    /// The plan for a function taking `args` and returning `result`, or None when the
    /// direct path does not take the signature (a `long double` or complex, a record result, a
    /// record aligned to more than 8 or holding a `long double` or complex, more than
    /// [`DIRECT_STACK_WORDS`] stack words): libffi calls those.
    pub(in crate::call) fn new(args: &[CType], result: &CType) -> Option<DirectPlan> {
        let (mut gpr, mut sse, mut stack) = (0u8, 0u8, 0u8);
        let mut loads = Vec::with_capacity(args.len());
        for arg in args {
            let load = match arg {
                CType::Scalar(kind) => {
                    let place = match (kind.number_class(), kind) {
                        (_, ScalarKind::LongDouble) => return None,
                        _ if kind.complex_part().is_some() => return None,
                        (NumberClass::Float, _) if sse == 8 => Place::Stack(stack, *kind),
                        (NumberClass::Float, ScalarKind::Float) => Place::Float(sse),
                        (NumberClass::Float, _) => Place::Double(sse),
                        _ if gpr == 6 => Place::Stack(stack, *kind),
                        _ => Place::Gpr(gpr, *kind),
                    };
                    match place {
                        Place::Gpr(..) => gpr += 1,
                        Place::Stack(..) => stack += 1,
                        _ => sse += 1,
                    }
                    ArgLoad::Word(Load::new(place))
                }
                CType::Record { members, size, align } => {
                    let size = *size;
                    if size == 0 || size > 8 * DIRECT_STACK_WORDS || *align > 8 {
                        return None;
                    }
                    let eightbytes = size.div_ceil(8);
                    let classes = if size <= 16 { Some(eightbyte_classes(members, size)?) } else { None };
                    let registers = classes.filter(|c| {
                        let vector = c[..eightbytes].iter().filter(|&&v| v).count() as u8;
                        gpr + (eightbytes as u8 - vector) <= 6 && sse + vector <= 8
                    });
                    let mut words = [0u8; 2];
                    for (k, word) in words.iter_mut().enumerate().take(eightbytes) {
                        let (first, counter) = match registers {
                            Some(c) if c[k] => (FIRST_SSE, &mut sse),
                            Some(_) => (0, &mut gpr),
                            None => (FIRST_STACK, &mut stack),
                        };
                        *word = first + *counter;
                        *counter += 1;
                    }
                    if registers.is_none() {
                        // In memory: the eightbytes past the second follow it.
                        stack += eightbytes.saturating_sub(2) as u8;
                    }
                    ArgLoad::Record(RecordLoad { size: size as u8, first: words[0], second: words[1] })
                }
                _ => return None,
            };
            if usize::from(stack) > DIRECT_STACK_WORDS {
                return None;
            }
            loads.push(load);
        }
        let ret = match result {
            CType::Void => Return::Int,
            CType::Scalar(ScalarKind::LongDouble) => return None,
            CType::Scalar(k) if k.complex_part().is_some() => return None,
            CType::Scalar(k) if k.number_class() == NumberClass::Float => Return::Vector,
            CType::Scalar(_) => Return::Int,
            _ => return None,
        };
        let shape = match (sse, stack) {
            (0, 0) => Shape::Gpr,
            (1..=2, 0) => Shape::Few,
            (_, 0) => Shape::Registers,
            _ => Shape::Stack,
        };
        let gpr_only = shape == Shape::Gpr && loads.iter().all(|l| matches!(l, ArgLoad::Word(_)));
        Some(DirectPlan { args: loads.into(), ret, shape, gpr_only })
    }
}

/// The System V class of each eightbyte of a record of at most 16 bytes whose
/// members are `members`, laid out as libffi lays them out: vector (`true`) when only
/// `float` and `double` members touch it, integer otherwise. None when a `long
/// double` is inside (the record then goes in memory) or an eightbyte holds no member:
/// cases left to libffi.
fn eightbyte_classes(members: &[CType], size: usize) -> Option<[bool; 2]> {
    let mut leaves = Vec::new();
    let mut end = 0usize;
    for m in members {
        end = m.push_leaves(end.next_multiple_of(m.align()), &mut leaves);
    }
    if end > size || leaves.iter().any(|s| s.kind == ScalarKind::LongDouble || s.kind.complex_part().is_some()) {
        return None;
    }
    let mut classes = [false; 2];
    for (k, class) in classes.iter_mut().enumerate().take(size.div_ceil(8)) {
        let (start, stop) = (8 * k, 8 * k + 8);
        let mut touching = leaves.iter().filter(|s| s.offset < stop && s.end() > start).peekable();
        touching.peek()?;
        *class = touching.all(|s| s.kind.number_class() == NumberClass::Float);
    }
    Some(classes)
}
