//! An instance's bytes in its own object's allocation, after the class's fields:
//! where they go for a class and size ([`tail_shape`], worked out once), and a new
//! object with room for them ([`alloc_tail`]). One allocation instead of two makes
//! owned instances (`c_int(5)`, `create_string_buffer(64)`) cheaper to make and free.

use std::mem::size_of;

use pyo3::ffi;
use pyo3::prelude::*;

use crate::support::cpython_layout;

/// `n` rounded up to a multiple of `align` (a power of two).
#[allow(clippy::arithmetic_side_effects)] // only for sizes and addresses inside one small object (callers)
pub(crate) const fn round_up(n: usize, align: usize) -> usize {
    (n + align - 1) & !(align - 1)
}

/// The largest allocation CPython's small-object allocator serves; larger ones go to
/// the system's `malloc`, where one large block costs more than two small ones.
const SMALL_ALLOCATION: usize = 512;

/// What CPython allocates before an instance of a Python class: the garbage
/// collector's two words and the managed `__dict__`'s and weak list's two.
const PRE_HEADER: usize = 4 * size_of::<usize>();

/// Where a class's instances keep their bytes in their own allocation, after the
/// class's fields ([`tail_shape`]): worked out once per class and size, used for each
/// instance ([`alloc_tail`]).
#[derive(Clone, Copy)]
pub(crate) struct TailShape {
    /// The item count `PyType_GenericAlloc` is given for the bytes and their padding.
    items: ffi::Py_ssize_t,
    /// Where the class's fields end, from the object's start.
    fields_end: usize,
    /// The bytes' alignment (a power of two).
    align: usize,
    /// Where what the instance uses of its allocation ends, from the object's start.
    end: usize,
}

impl TailShape {
    /// The address of the bytes of `obj`, an object allocated with this shape.
    // The address lies inside the object's allocation (tail_shape left room for the
    // padding), far from the end of the address space.
    #[allow(clippy::arithmetic_side_effects)]
    #[inline(always)]
    pub(crate) fn tail_of(&self, obj: *mut ffi::PyObject) -> *mut u8 {
        let start = obj as usize + self.fields_end;
        obj.cast::<u8>().wrapping_add(round_up(start, self.align) - obj as usize)
    }

    /// Where what the instance uses of its allocation ends, from the object's start.
    pub(crate) fn end(&self) -> usize {
        self.end
    }
}

/// How a new object of class `tp` gets room for `size` zeroed bytes aligned to `align`
/// after its fields; `None` when the class does not allocate through
/// `PyType_GenericAlloc` (which alone can be asked for the room), when the bytes would
/// take the object past [`SMALL_ALLOCATION`], or where CPython may keep something after
/// the class's fields (an interpreter whose layouts [`cpython_layout`] does not know, a
/// class with inline attribute values).
///
/// # Safety
/// `tp` must be a live class.
// No sum overflows: size is at most SMALL_ALLOCATION (checked first), align a power
// of two (so align - 1 < 2**63) and basic_size an existing object's.
#[allow(clippy::arithmetic_side_effects)]
#[inline(always)]
pub(crate) unsafe fn tail_shape(py: Python<'_>, tp: *mut ffi::PyTypeObject, size: usize, align: usize) -> Option<TailShape> {
    // SAFETY: a live type object (the caller's promise), read with the GIL held.
    unsafe {
        if size > SMALL_ALLOCATION || !align.is_power_of_two() || cpython_layout::known(py).is_none() || (*tp).tp_flags & cpython_layout::INLINE_VALUES != 0 {
            return None;
        }
        let basic_size = (*tp).tp_basicsize as usize;
        // Every allocation is at least 8-aligned: only a stricter alignment, or fields
        // ending off it, may need padding before the bytes.
        let padding = if align <= 8 && basic_size.is_multiple_of(align) { 0 } else { align - 1 };
        let room = size.max(crate::data::cdata::LEAST_ZEROED) + padding;
        let generic = (*tp).tp_alloc.map(|f| f as usize) == Some(ffi::PyType_GenericAlloc as *const () as usize);
        if PRE_HEADER + basic_size + room > SMALL_ALLOCATION || !generic || (*tp).tp_itemsize != 0 {
            return None;
        }
        // One item less: the allocator adds one (a sentinel of variable-size objects).
        Some(TailShape { items: (room - 1) as ffi::Py_ssize_t, fields_end: basic_size, align, end: basic_size + room })
    }
}

/// A new object of class `tp` with zeroed room of `shape` after its fields, and the
/// address of its bytes there (freed with the object).
///
/// `PyType_GenericAlloc(tp, n)` allocates `tp_basicsize + (n + 1) * tp_itemsize`
/// bytes, zeroed, and frees them with the object; the class's `tp_itemsize` is 1 for
/// the call only. No Python code runs while it is: the garbage collector, which may
/// run finalisers from an allocation, is held off until the next one.
///
/// # Safety
/// `tp` must be a live class whose instances `build` may lay out, and `shape` what
/// [`tail_shape`] gave for it.
#[inline(always)]
pub(crate) unsafe fn alloc_tail(py: Python<'_>, tp: *mut ffi::PyTypeObject, shape: TailShape) -> PyResult<(*mut ffi::PyObject, *mut u8)> {
    // SAFETY: a live type object (the caller's promise), read and written with the
    // GIL held; the class is restored before anything else can see it. The tail lies
    // inside the object allocated (tail_shape measured it).
    unsafe {
        let collector_was_enabled = ffi::PyGC_Disable();
        (*tp).tp_itemsize = 1;
        let obj = ffi::PyType_GenericAlloc(tp, shape.items);
        (*tp).tp_itemsize = 0;
        if collector_was_enabled != 0 {
            ffi::PyGC_Enable();
        }
        if obj.is_null() {
            return Err(PyErr::fetch(py));
        }
        // The item count `PyType_GenericAlloc` recorded, in bytes `write_parts` overwrites.
        (*obj.cast::<ffi::PyVarObject>()).ob_size = 0;
        Ok((obj, shape.tail_of(obj)))
    }
}

