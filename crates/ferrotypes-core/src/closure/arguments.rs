//! Where the arguments of one call to a closure are, as its handler receives them.
//!
//! libffi's closure entry hands over an array of pointers, one to each parameter's
//! value. A static trampoline has the argument registers copied into an array of
//! words instead, and each parameter's value is at the start of one of them: handing
//! the handler those words and where each parameter is spares building a pointer
//! array on every call.

use std::ffi::c_void;

/// The arguments of one call.
#[derive(Clone, Copy)]
pub enum Arguments<'a> {
    /// A pointer to the value of each parameter (libffi's closure entry).
    Pointers(&'a [*const c_void]),
    /// Copies of the argument registers, and for each parameter the index of the
    /// copy it arrived in; its value is in that word's first bytes (little-endian).
    Registers { words: &'a [u64], at: &'a [u8] },
}

impl<'a> Arguments<'a> {
    /// How many parameters the call has.
    pub fn len(&self) -> usize {
        match self {
            Arguments::Pointers(pointers) => pointers.len(),
            Arguments::Registers { at, .. } => at.len(),
        }
    }

    /// Whether the call has no parameters.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Calls `f` with where each parameter's value is, in order, until it fails. A
    /// register index past the copies (never made by the trampolines) ends the
    /// sequence early. One loop per form, so the form is not tested per parameter.
    #[inline(always)]
    pub fn try_for_each<E>(self, mut f: impl FnMut(*const c_void) -> Result<(), E>) -> Result<(), E> {
        match self {
            Arguments::Pointers(pointers) => pointers.iter().try_for_each(|&p| f(p)),
            Arguments::Registers { words, at } => {
                for &index in at {
                    let Some(word) = words.get(usize::from(index)) else { break };
                    f((word as *const u64).cast())?;
                }
                Ok(())
            }
        }
    }

    /// Where each parameter's value is, in order (see [`Arguments::try_for_each`]), for
    /// the tests' handlers.
    #[cfg(test)]
    pub fn to_vec(self) -> Vec<*const c_void> {
        let mut pointers = Vec::with_capacity(self.len());
        let _ = self.try_for_each(|p| {
            pointers.push(p);
            Ok::<(), ()>(())
        });
        pointers
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointers_are_handed_out_in_order() {
        let (a, b) = (1i32, 2.5f64);
        let pointers = [(&a as *const i32).cast::<c_void>(), (&b as *const f64).cast()];
        let args = Arguments::Pointers(&pointers);
        assert_eq!(args.len(), 2);
        assert_eq!(args.to_vec(), pointers);
    }

    #[test]
    fn registers_point_at_their_words() {
        let words = [7u64, 8, 9];
        let args = Arguments::Registers { words: &words, at: &[2, 0] };
        assert_eq!(args.len(), 2);
        // SAFETY: each pointer is into `words`, which is alive.
        let values: Vec<u64> = args.to_vec().into_iter().map(|p| unsafe { p.cast::<u64>().read() }).collect();
        assert_eq!(values, [9, 7]);
    }

    #[test]
    fn an_index_past_the_words_ends_the_sequence() {
        let words = [1u64];
        let args = Arguments::Registers { words: &words, at: &[0, 5, 0] };
        assert_eq!(args.to_vec().len(), 1);
    }
}
