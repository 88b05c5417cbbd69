//! What ferrotypes knows of CPython's private object layouts, by version: the one
//! place that says which fast paths may read or write an object's memory directly.
//!
//! | path | what it relies on | 3.11 | 3.12 | 3.13 |
//! |---|---|---|---|---|
//! | leaf deallocation (`instances::is_leaf`) | where a managed `__dict__` lives | values at -4 words, dict at -3 | dict (or values) at -3 | dict at -3; no inline values |
//! | instance bytes after the fields (`tail::tail_shape`) | nothing of CPython's after a class's fields | yes | yes | yes, for classes without inline values |
//! | reusing released buffers (`recycled::take`) | the collector's two words just before the object; `_Py_NewReference` (found at run time) | yes | yes | yes |
//! | reading small ints in calls (`call::peek::small_int`) | `PyLongObject` | signed digit count in `ob_size` | `lv_tag`: digit count << 3, sign in the low bits | as 3.12 |
//!
//! Weak-reference lists need no table: `tp_weaklistoffset` says where the list is,
//! inside the object (positive) or, from 3.12 on, before it (negative).
//!
//! Any other version, or `FERROTYPES_PORTABLE` set in the environment (to prove the
//! portable paths alone), turns every one of these paths off: objects are then only
//! made, read and freed through CPython's API.

use std::sync::OnceLock;

use pyo3::prelude::*;

/// The layouts of the running interpreter, when it is a version listed above.
#[derive(Clone, Copy, Debug)]
pub struct Layout {
    /// Word offsets from an object of a class with a managed `__dict__` at which that
    /// dict (and, on 3.11, its values) are kept; all null when the instance has none.
    pub managed_dict_words: &'static [isize],
    /// How an exact int's digits are counted.
    pub int: IntLayout,
}

/// How a `PyLongObject` says how many 30-bit digits follow its header, and its sign.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IntLayout {
    /// `ob_size`: the digit count, negative for negative numbers (3.11).
    SignedSize,
    /// `lv_tag`: the digit count shifted left by 3, the sign in the two low bits (0
    /// positive, 1 zero, 2 negative) (3.12 and 3.13).
    Tagged,
}

/// `Py_TPFLAGS_INLINE_VALUES` (3.13): the class keeps its instances' attribute values
/// right after their fields. No class of ours gets it (its instances are not made by
/// `object.__new__`), but one that did would have no room after its fields.
pub const INLINE_VALUES: std::ffi::c_ulong = 1 << 2;

/// The running interpreter's layouts, or `None` where the paths that read CPython's
/// object layouts are off.
pub fn known(py: Python<'_>) -> Option<Layout> {
    static KNOWN: OnceLock<Option<Layout>> = OnceLock::new();
    *KNOWN.get_or_init(|| {
        if std::env::var_os("FERROTYPES_PORTABLE").is_some_and(|v| !v.is_empty() && v != "0") {
            return None;
        }
        let digit_bits = py.import("sys").and_then(|sys| sys.getattr("int_info")?.getattr("bits_per_digit")?.extract::<u32>()).ok()?;
        if digit_bits != 30 {
            return None;
        }
        match (py.version_info().major, py.version_info().minor) {
            (3, 11) => Some(Layout { managed_dict_words: &[-4, -3], int: IntLayout::SignedSize }),
            (3, 12 | 13) => Some(Layout { managed_dict_words: &[-3], int: IntLayout::Tagged }),
            _ => None,
        }
    })
}

/// Whether the paths that read CPython's object layouts are on (for the tests:
/// `FERROTYPES_PORTABLE` turns them off).
#[pyfunction]
pub fn _layout_paths(py: Python<'_>) -> bool {
    known(py).is_some()
}
