//! Reading Python objects in place, without the C API's calls: the value of a small
//! exact `int` from its digits, the C data part of a ferrotypes instance. The quickest
//! call path ([`crate::call::recipe::ExactArg`]), calls without `argtypes` and
//! callback results read their arguments so.
//!
//! What it does not do: convert anything that needs ctypes' rules (see
//! [`crate::call::argconv`]); every reader here says None and the caller takes the
//! general way.

use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};

use pyo3::ffi;
use pyo3::prelude::*;

use crate::call::value::CArgObject;
use crate::data::cdata::CData;
use crate::support::cpython_layout::{self, IntLayout};
use crate::types::typeinfo::TypeInfo;

/// The addresses of the type objects of `_CData` and `CArgObject`, which the quickest
/// paths compare with, looked up once (PyO3's lookup costs a few dozen instructions
/// per argument); the classes live as long as the module.
static CDATA_TYPE: AtomicUsize = AtomicUsize::new(0);
static CARG_TYPE: AtomicUsize = AtomicUsize::new(0);

#[inline(always)]
fn remembered_type(cell: &AtomicUsize, lookup: impl FnOnce() -> usize) -> usize {
    match cell.load(Ordering::Relaxed) {
        0 => {
            let address = lookup();
            cell.store(address, Ordering::Relaxed);
            address
        }
        address => address,
    }
}

/// `_CData`'s type object address.
#[inline(always)]
pub fn cdata_type(py: Python<'_>) -> usize {
    remembered_type(&CDATA_TYPE, || <CData as pyo3::PyTypeInfo>::type_object_raw(py) as usize)
}

/// `_CData`'s type object address once [`cdata_type`] has looked it up, else 0: for
/// a path too small to hold the lookup, which leaves that to its general path.
#[inline(always)]
pub fn known_cdata_type() -> usize {
    CDATA_TYPE.load(Ordering::Relaxed)
}

/// `CArgObject`'s type object address.
#[inline(always)]
pub fn carg_type(py: Python<'_>) -> usize {
    remembered_type(&CARG_TYPE, || <CArgObject as pyo3::PyTypeInfo>::type_object_raw(py) as usize)
}

/// The `TypeInfo` of `arg` when it is a ferrotypes C data instance (its class derives
/// from `_CData`, whose type object is at `cdata`), with the instance's memory address.
///
/// # Safety
/// `arg` is a valid object and the GIL is held.
#[inline(always)]
pub unsafe fn as_cdata<'a>(py: Python<'_>, arg: *mut ffi::PyObject, cdata: usize) -> Option<(&'a TypeInfo, *mut u8)> {
    // SAFETY: arg is a valid object (the caller's promise), so its type is readable;
    // PyType_IsSubtype only reads the types' MROs; the cast is checked by it.
    unsafe {
        let tp = ffi::Py_TYPE(arg);
        if ffi::PyType_IsSubtype(tp, cdata as *mut ffi::PyTypeObject) == 0 {
            return None;
        }
        // The instance is a `_CData`: its part is there, and its info lives as long as
        // the instance, which the caller's reference keeps for the call.
        let data = Borrowed::from_ptr(py, arg).cast_unchecked::<CData>().get();
        let info: *const TypeInfo = data.info().get();
        Some((&*info, data.plain_address(py)?))
    }
}

/// How [`small_int`] reads an exact int ([`cpython_layout::IntLayout`]): 0 not at all,
/// 1 a signed digit count in `ob_size` (3.11), 2 a tagged count in `lv_tag` (3.12,
/// 3.13); 30-bit digits follow the header either way. Set once at module
/// initialisation ([`init_int_layout`]).
static INT_LAYOUT: AtomicU8 = AtomicU8::new(0);

/// Records the running interpreter's int layout (see [`INT_LAYOUT`]).
pub fn init_int_layout(py: Python<'_>) -> PyResult<()> {
    let layout = match cpython_layout::known(py).map(|l| l.int) {
        None => 0,
        Some(IntLayout::SignedSize) => 1,
        Some(IntLayout::Tagged) => 2,
    };
    INT_LAYOUT.store(layout, Ordering::Relaxed);
    Ok(())
}

/// The value of an exact int of at most one digit (|v| < 2**30), as its 64-bit two's
/// complement, read from the object itself (saves a call per argument); None for
/// larger ints or an unknown layout.
///
/// # Safety
/// `arg` is an exact `int`.
#[inline(always)]
pub unsafe fn small_int(arg: *mut ffi::PyObject) -> Option<u64> {
    // SAFETY: with the layout recorded at start-up, an int is a header of an object's
    // two words and a third word giving its digit count and sign (`ob_size` on 3.11,
    // `lv_tag` on 3.12 and 3.13), followed by that many 32-bit digits; a zero has
    // none to read.
    const COUNT_AT: usize = 2 * size_of::<usize>();
    const DIGIT_AT: usize = 3 * size_of::<usize>();
    unsafe {
        let count = arg.cast::<u8>().add(COUNT_AT).cast::<isize>().read();
        let digit = || arg.cast::<u8>().add(DIGIT_AT).cast::<u32>().read();
        match (INT_LAYOUT.load(Ordering::Relaxed), count) {
            (1, 0) | (2, 1) => Some(0),
            (1, 1) | (2, 8) => Some(u64::from(digit())),
            (1, -1) | (2, 10) => Some(u64::from(digit()).wrapping_neg()),
            _ => None,
        }
    }
}

/// An exact int's low 64 bits (ctypes wraps around), or None, with no exception set,
/// when they cannot be read (the general conversion then raises the error).
///
/// # Safety
/// The GIL is held and `arg` is an exact `int`.
#[inline(always)]
pub unsafe fn int_bits(arg: *mut ffi::PyObject) -> Option<u64> {
    // SAFETY: arg is an exact int and the GIL is held (the caller's promise), which
    // small_int and PyLong_AsUnsignedLongLongMask need; the latter follows the C
    // API's error protocol (-1 with an exception set).
    unsafe {
        if let Some(small) = small_int(arg) {
            return Some(small);
        }
        let bits = ffi::PyLong_AsUnsignedLongLongMask(arg);
        if bits == u64::MAX && !ffi::PyErr_Occurred().is_null() {
            ffi::PyErr_Clear();
            return None;
        }
        Some(bits)
    }
}
