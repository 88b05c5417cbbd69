//! Conversions between Python values and scalars in C memory: the getters and setters
//! of every simple type (ctypes' `getfunc`/`setfunc`), with ctypes' rules and messages.
//!
//! Integers wrap around as in C (ctypes masks, it never raises `OverflowError` here);
//! `char *`/`wchar_t *` setters return the object that must stay alive as long as the
//! pointer is used. What it does not do: decide where the memory is.

use std::ffi::{c_char, CStr};

use ferrotypes_core::ctype::{NumberClass, ScalarKind};
use ferrotypes_core::longdouble;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyComplex, PyString};
use pyo3::Borrowed;

/// A value written into C memory may need a Python object kept alive with it.
pub type KeepAlive = Option<Py<PyAny>>;

/// Reads the scalar at `ptr` as a Python value.
///
/// # Safety
/// `ptr` must be valid for reading `kind.size()` bytes (no alignment required).
pub unsafe fn read(py: Python<'_>, kind: ScalarKind, swapped: bool, ptr: *const u8) -> PyResult<Py<PyAny>> {
    if let Some(part) = kind.complex_part() {
        // SAFETY: the caller guarantees the two parts readable at `ptr`.
        let (re, im) = unsafe { (read_real(part, swapped, ptr), read_real(part, swapped, ptr.add(part.size()))) };
        return Ok(PyComplex::from_doubles(py, re, im).into_any().unbind());
    }
    if !swapped {
        // SAFETY: the caller guarantees one readable scalar at `ptr`.
        if let Some(obj) = unsafe { read_native_number(kind, ptr) } {
            // SAFETY: a new reference from the C API, or NULL with an exception set.
            return unsafe { Bound::from_owned_ptr_or_err(py, obj) }.map(Bound::unbind);
        }
    }
    let mut raw = [0u8; 16];
    // SAFETY: the caller guarantees `size` readable bytes; `raw` has 16.
    unsafe { copy_scalar(ptr, raw.as_mut_ptr(), kind.size()) };
    if swapped {
        #[allow(clippy::indexing_slicing)] // a scalar is at most 16 bytes (long double), raw's length
        raw[..kind.size()].reverse();
    }
    from_bytes(py, kind, &raw)
}

/// [`read`] for the fast paths, as a raw new reference: the common numbers in native
/// byte order inline, every other scalar through `read`.
///
/// # Safety
/// As for [`read`].
#[inline(always)]
pub unsafe fn read_fast(py: Python<'_>, kind: ScalarKind, swapped: bool, ptr: *const u8) -> PyResult<*mut ffi::PyObject> {
    if !swapped {
        // SAFETY: the caller guarantees one readable scalar at `ptr`.
        if let Some(obj) = unsafe { read_native_number(kind, ptr) } {
            return if obj.is_null() { Err(PyErr::fetch(py)) } else { Ok(obj) };
        }
    }
    // SAFETY: the caller guarantees one readable scalar of `kind` at `ptr`.
    unsafe { read(py, kind, swapped, ptr) }.map(Py::into_ptr)
}

/// The common numbers in native byte order, boxed straight from memory, and the
/// string a `char *` points to (a new reference, or NULL with an exception set);
/// `None` for every other kind.
///
/// # Safety
/// `ptr` must be valid for reading `kind.size()` bytes (no alignment required).
#[inline(always)]
pub unsafe fn read_native_number(kind: ScalarKind, ptr: *const u8) -> Option<*mut ffi::PyObject> {
    use ScalarKind::*;
    // SAFETY (all arms): the caller guarantees `kind.size()` readable bytes, which is
    // the size of the type read; the C API calls need only the GIL, which is held.
    unsafe {
        Some(match kind {
            Int => ffi::PyLong_FromLong(ptr.cast::<i32>().read_unaligned().into()),
            UInt => ffi::PyLong_FromUnsignedLong(ptr.cast::<u32>().read_unaligned().into()),
            Long => ffi::PyLong_FromLong(ptr.cast::<std::ffi::c_long>().read_unaligned()),
            ULong => ffi::PyLong_FromUnsignedLong(ptr.cast::<std::ffi::c_ulong>().read_unaligned()),
            LongLong => ffi::PyLong_FromLongLong(ptr.cast::<i64>().read_unaligned()),
            ULongLong => ffi::PyLong_FromUnsignedLongLong(ptr.cast::<u64>().read_unaligned()),
            Short => ffi::PyLong_FromLong(ptr.cast::<i16>().read_unaligned().into()),
            UShort => ffi::PyLong_FromLong(ptr.cast::<u16>().read_unaligned().into()),
            Byte => ffi::PyLong_FromLong(ptr.cast::<i8>().read().into()),
            UByte => ffi::PyLong_FromLong(ptr.read().into()),
            Double => ffi::PyFloat_FromDouble(ptr.cast::<f64>().read_unaligned()),
            Float => ffi::PyFloat_FromDouble(ptr.cast::<f32>().read_unaligned().into()),
            CharPtr => match ptr.cast::<*const c_char>().read_unaligned() {
                // Py_INCREF inline, where a call would make the getters that inline
                // this save a register across it.
                p if p.is_null() => ffi::Py_NewRef(ffi::Py_None()),
                // A non-NULL char* in a c_char_p is, by the type's contract, a
                // NUL-terminated string (as in `from_bytes`).
                p => ffi::PyBytes_FromString(p),
            },
            _ => return None,
        })
    }
}

/// A `bytes` object holding `data`, or `MemoryError` (PyO3's `PyBytes::new` panics when
/// CPython cannot allocate, and the sizes here come from Python).
pub fn new_bytes<'py>(py: Python<'py>, data: &[u8]) -> PyResult<Bound<'py, PyBytes>> {
    let len = ffi::Py_ssize_t::try_from(data.len()).map_err(|_| pyo3::exceptions::PyMemoryError::new_err("bytes too large"))?;
    // SAFETY: `data` is valid for `len` bytes, which CPython copies; the result is a new
    // reference to a bytes object, or NULL with an exception set.
    unsafe { Bound::from_owned_ptr_or_err(py, ffi::PyBytes_FromStringAndSize(data.as_ptr().cast(), len)).map(|b| b.cast_into_unchecked()) }
}

/// The real number (of kind `part`: `float`, `double` or `long double`) at `ptr`, as
/// a double.
///
/// # Safety
/// `ptr` must be valid for reading `part.size()` bytes (no alignment required).
unsafe fn read_real(part: ScalarKind, swapped: bool, ptr: *const u8) -> f64 {
    let mut raw = [0u8; 16];
    let n = part.size().min(raw.len());
    // SAFETY: the caller guarantees `part.size()` readable bytes; `raw` has room.
    unsafe { std::ptr::copy_nonoverlapping(ptr, raw.as_mut_ptr(), n) };
    if swapped {
        if let Some(bytes) = raw.get_mut(..n) {
            bytes.reverse();
        }
    }
    real_from_bytes(part, &raw)
}

/// The real number of kind `part` in the native-order bytes at the start of `raw`.
fn real_from_bytes(part: ScalarKind, raw: &[u8; 16]) -> f64 {
    match part {
        ScalarKind::Float => f64::from(f32::from_ne_bytes([raw[0], raw[1], raw[2], raw[3]])),
        ScalarKind::Double => f64::from_ne_bytes([raw[0], raw[1], raw[2], raw[3], raw[4], raw[5], raw[6], raw[7]]),
        _ => longdouble::to_f64(raw),
    }
}

/// The native-order bytes of the real number `x` as kind `part`, at the start.
fn real_to_bytes(part: ScalarKind, x: f64) -> [u8; 16] {
    let mut raw = [0u8; 16];
    match part {
        ScalarKind::Float => raw[..4].copy_from_slice(&(x as f32).to_ne_bytes()),
        ScalarKind::Double => raw[..8].copy_from_slice(&x.to_ne_bytes()),
        _ => raw = longdouble::from_f64(x),
    }
    raw
}

/// A value as C's `double _Complex`, with Python's own conversion and message
/// (`complex`, `float`, `int`, `__complex__`, `__float__`, `__index__`), as ctypes'
/// complex setters take it.
fn as_complex(value: &Bound<'_, PyAny>) -> PyResult<(f64, f64)> {
    // SAFETY: value is a valid object; the call follows the C API's error protocol.
    let c = unsafe { ffi::PyComplex_AsCComplex(value.as_ptr()) };
    if c.real == -1.0 {
        if let Some(err) = PyErr::take(value.py()) {
            return Err(err);
        }
    }
    Ok((c.real, c.imag))
}

/// Interprets the native-order bytes of a scalar as a Python value. A scalar larger
/// than `raw` (`long double _Complex`) is read by [`read`] from its memory instead.
pub fn from_bytes(py: Python<'_>, kind: ScalarKind, raw: &[u8; 16]) -> PyResult<Py<PyAny>> {
    use ScalarKind::*;
    if let Some(part) = kind.complex_part() {
        let mut im = [0u8; 16];
        let (Some(from), Some(to)) = (raw.get(part.size()..kind.size()), im.get_mut(..part.size())) else { return Err(too_large(kind)) };
        to.copy_from_slice(from);
        return Ok(PyComplex::from_doubles(py, real_from_bytes(part, raw), real_from_bytes(part, &im)).into_any().unbind());
    }
    let [b0, b1, b2, b3, b4, b5, b6, b7, ..] = *raw;
    let word = u64::from_ne_bytes([b0, b1, b2, b3, b4, b5, b6, b7]);
    let obj = match kind {
        Bool => (raw[0] != 0).into_pyobject(py)?.to_owned().into_any().unbind(),
        VariantBool => ((raw[0] | raw[1]) != 0).into_pyobject(py)?.to_owned().into_any().unbind(),
        Char => PyBytes::new(py, &raw[..1]).into_any().unbind(),
        WChar => {
            let unit = libc::wchar_t::from_ne_bytes([b0, b1, b2, b3]);
            unicode_from_wide(py, &[unit])?
        }
        Float => f32::from_ne_bytes([b0, b1, b2, b3]).into_pyobject(py)?.into_any().unbind(),
        Double => f64::from_bits(word).into_pyobject(py)?.into_any().unbind(),
        LongDouble => longdouble::to_f64(raw).into_pyobject(py)?.into_any().unbind(),
        CharPtr => {
            if word == 0 {
                py.None()
            } else {
                // SAFETY: a non-NULL char* stored in a c_char_p is, by the type's
                // contract, a NUL-terminated string (ctypes makes the same assumption).
                let s = unsafe { CStr::from_ptr(word as *const c_char) };
                new_bytes(py, s.to_bytes())?.into_any().unbind()
            }
        }
        WCharPtr => {
            if word == 0 {
                py.None()
            } else {
                // SAFETY: a non-NULL wchar_t* stored in a c_wchar_p is, by the type's
                // contract, a NUL-terminated wide string (as ctypes assumes).
                unsafe { wide_string_at(py, word as *const libc::wchar_t, None)? }
            }
        }
        VoidPtr => {
            if word == 0 {
                py.None()
            } else {
                word.into_pyobject(py)?.into_any().unbind()
            }
        }
        ObjectPtr => {
            if word == 0 {
                return Err(PyValueError::new_err("PyObject is NULL"));
            }
            // SAFETY: a py_object slot holds a strong reference set by `write` (or a
            // borrowed one C gave back); we take a new reference to it.
            unsafe { Bound::from_borrowed_ptr(py, word as *mut ffi::PyObject) }.unbind()
        }
        _ => integer_from_bytes(py, kind, raw)?,
    };
    Ok(obj)
}

// Only the integer kinds reach here: `n` is 1, 2, 4 or 8, within `buf`, and the shift
// is below 64.
#[allow(clippy::indexing_slicing, clippy::arithmetic_side_effects)]
fn integer_from_bytes(py: Python<'_>, kind: ScalarKind, raw: &[u8; 16]) -> PyResult<Py<PyAny>> {
    let n = kind.size();
    let mut buf = [0u8; 8];
    buf[..n].copy_from_slice(&raw[..n]);
    let unsigned = u64::from_le_bytes(buf);
    Ok(match kind.number_class() {
        NumberClass::Signed => {
            let shift = 64 - 8 * n as u32;
            (((unsigned << shift) as i64) >> shift).into_pyobject(py)?.into_any().unbind()
        }
        _ => unsigned.into_pyobject(py)?.into_any().unbind(),
    })
}

/// Reads a wide string of `len` characters, or up to its NUL when `len` is None.
///
/// # Safety
/// `p` must point to `len` readable `wchar_t`s, or to a NUL-terminated wide string.
pub unsafe fn wide_string_at(py: Python<'_>, p: *const libc::wchar_t, len: Option<usize>) -> PyResult<Py<PyAny>> {
    // SAFETY: with no `len`, the caller promises a NUL-terminated wide string at `p`.
    let n = len.unwrap_or_else(|| unsafe { libc::wcslen(p) });
    // SAFETY: n wchar_t's are readable.
    let units = unsafe { std::slice::from_raw_parts(p, n) };
    unicode_from_wide(py, units)
}

/// A `str` of the code points in `units` (a 32-bit `wchar_t` is one code point).
/// Lone surrogates are kept, as in ctypes; values above U+10FFFF raise `ValueError`.
pub fn unicode_from_wide(py: Python<'_>, units: &[libc::wchar_t]) -> PyResult<Py<PyAny>> {
    let len = ffi::Py_ssize_t::try_from(units.len()).map_err(|_| PyValueError::new_err("wide string too long"))?;
    // SAFETY: `units` is valid for `len` wchar_t's; CPython copies them and returns a
    // new reference or NULL with an exception set.
    unsafe { Bound::from_owned_ptr_or_err(py, ffi::PyUnicode_FromWideChar(units.as_ptr().cast(), len)) }.map(Bound::unbind)
}

/// The code point of a one-character `str` (surrogates included), or None when the
/// string has another length.
fn single_code_point(s: &Bound<'_, PyString>) -> Option<u32> {
    // SAFETY: s is a live str object; neither call can fail for index 0 of a
    // one-character string.
    unsafe {
        if ffi::PyUnicode_GetLength(s.as_ptr()) != 1 {
            return None;
        }
        Some(ffi::PyUnicode_ReadChar(s.as_ptr(), 0))
    }
}

/// A scalar that does not fit a 16-byte buffer, given one (never, by the callers'
/// design: such scalars are read and written in place).
#[cold]
fn too_large(kind: ScalarKind) -> PyErr {
    PyTypeError::new_err(format!("a '{}' value ({} bytes) is read and written in place only", kind.code(), kind.size()))
}

/// Converts a Python value into the native-order bytes of a scalar, with ctypes'
/// acceptance rules, returning the object to keep alive for pointer kinds. A scalar
/// larger than `raw` (`long double _Complex`) is written by [`write`] instead.
pub fn to_bytes(value: &Bound<'_, PyAny>, kind: ScalarKind, raw: &mut [u8; 16]) -> PyResult<KeepAlive> {
    use ScalarKind::*;
    if let Some(part) = kind.complex_part() {
        let n = part.size();
        let (re_at, im_at) = raw.split_at_mut_checked(n).ok_or_else(|| too_large(kind))?;
        let (re, im) = as_complex(value)?;
        for (x, to) in [(re, re_at), (im, im_at)] {
            let bytes = real_to_bytes(part, x);
            let (Some(from), Some(to)) = (bytes.get(..n), to.get_mut(..n)) else { return Err(too_large(kind)) };
            to.copy_from_slice(from);
        }
        return Ok(None);
    }
    match kind {
        Bool => raw[0] = value.is_truthy()? as u8,
        // VARIANT_TRUE is -1: every bit set.
        VariantBool => raw[..2].copy_from_slice(&(if value.is_truthy()? { -1i16 } else { 0 }).to_ne_bytes()),
        Char => raw[0] = char_byte(value)?,
        WChar => {
            let s = value.cast::<PyString>().map_err(|_| {
                PyTypeError::new_err(format!("unicode string expected instead of {} instance", type_name(value)))
            })?;
            match single_code_point(s) {
                Some(c) => raw[..4].copy_from_slice(&c.to_ne_bytes()),
                None => return Err(PyTypeError::new_err("one character unicode string expected")),
            }
        }
        Float => raw[..4].copy_from_slice(&(as_double(value)? as f32).to_ne_bytes()),
        Double => raw[..8].copy_from_slice(&as_double(value)?.to_ne_bytes()),
        LongDouble => *raw = longdouble::from_f64(as_double(value)?),
        CharPtr => return char_pointer(value, raw),
        WCharPtr => return wide_pointer(value, raw),
        VoidPtr => {
            let addr = if value.is_none() {
                0
            } else if value.is_instance_of::<pyo3::types::PyInt>() {
                mask_u64(value)?
            } else {
                return Err(PyTypeError::new_err("cannot be converted to pointer"));
            };
            raw[..8].copy_from_slice(&addr.to_ne_bytes());
        }
        ObjectPtr => {
            raw[..8].copy_from_slice(&(value.as_ptr() as u64).to_ne_bytes());
            return Ok(Some(value.clone().unbind()));
        }
        _ => {
            let bits = mask_u64(value)?;
            raw[..8].copy_from_slice(&bits.to_le_bytes());
        }
    }
    Ok(None)
}

/// Writes a Python value into the scalar at `ptr`.
///
/// # Safety
/// `ptr` must be valid for writing `kind.size()` bytes (no alignment required).
pub unsafe fn write(value: &Bound<'_, PyAny>, kind: ScalarKind, swapped: bool, ptr: *mut u8) -> PyResult<KeepAlive> {
    if let Some(part) = kind.complex_part() {
        let (re, im) = as_complex(value)?;
        let n = part.size();
        for (x, at) in [(re, 0), (im, n)] {
            let mut bytes = real_to_bytes(part, x);
            if let Some(value) = bytes.get_mut(..n).filter(|_| swapped) {
                value.reverse();
            }
            // SAFETY: the caller guarantees `kind.size()` = 2 * n writable bytes.
            unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), ptr.add(at), n) };
        }
        return Ok(None);
    }
    let mut raw = [0u8; 16];
    let keep = to_bytes(value, kind, &mut raw)?;
    if swapped {
        #[allow(clippy::indexing_slicing)] // a scalar is at most 16 bytes (long double), raw's length
        raw[..kind.size()].reverse();
    }
    // SAFETY: the caller guarantees `size` writable bytes.
    unsafe { copy_scalar(raw.as_ptr(), ptr, kind.size()) };
    Ok(keep)
}

/// Copies one scalar of `size` bytes; the common sizes as single moves rather than a
/// call to `memcpy` (this is on every value read and stored).
///
/// # Safety
/// `size` bytes must be readable at `src` and writable at `dst`, not overlapping.
#[inline(always)]
unsafe fn copy_scalar(src: *const u8, dst: *mut u8, size: usize) {
    // SAFETY (all arms): the caller guarantees `size` bytes at both ends; the reads
    // and writes are unaligned-safe.
    unsafe {
        match size {
            1 => dst.write(src.read()),
            2 => dst.cast::<u16>().write_unaligned(src.cast::<u16>().read_unaligned()),
            4 => dst.cast::<u32>().write_unaligned(src.cast::<u32>().read_unaligned()),
            8 => dst.cast::<u64>().write_unaligned(src.cast::<u64>().read_unaligned()),
            _ => std::ptr::copy_nonoverlapping(src, dst, size),
        }
    }
}

/// Stores `value` into the numeric scalar at `ptr` when it is a native number the
/// store cannot refuse: an exact `int` that fits in 64 signed bits into an integer
/// or `bool` scalar, an exact `float` into a `float` or `double`. `None` (nothing
/// written) for everything else, which [`write`] decides. The fast paths' store:
/// the same bytes as [`write`], without its general conversions.
///
/// # Safety
/// `ptr` must be valid for writing `kind.size()` bytes (no alignment required).
#[inline]
pub unsafe fn write_native_number(value: &Borrowed<'_, '_, PyAny>, kind: ScalarKind, swapped: bool, ptr: *mut u8) -> Option<()> {
    use ScalarKind::*;
    let obj = value.as_ptr();
    // The scalar's bits in the low `size` bytes of a word, native order.
    // SAFETY (both checks and conversions): a live object; exact ints and floats run
    // no Python code when converted.
    let bits = if unsafe { ffi::PyLong_CheckExact(obj) } != 0 {
        if !kind.is_integer() && kind != Bool {
            return None;
        }
        let mut overflow = 0;
        let v = unsafe { ffi::PyLong_AsLongLongAndOverflow(obj, &mut overflow) };
        if overflow != 0 {
            return None;
        }
        // Truncation to the scalar's size is ctypes' wrap-around.
        if kind == Bool { u64::from(v != 0) } else { v as u64 }
    } else if unsafe { ffi::PyFloat_CheckExact(obj) } != 0 {
        let x = unsafe { ffi::PyFloat_AS_DOUBLE(obj) };
        match kind {
            Float => u64::from((x as f32).to_bits()),
            Double => x.to_bits(),
            _ => return None,
        }
    } else {
        return None;
    };
    let size = kind.size();
    // The other byte order: the low `size` bytes reversed, kept low.
    #[allow(clippy::arithmetic_side_effects)] // integer, bool, float and double kinds: size is 1 to 8
    let bits = if swapped { bits.swap_bytes() >> (64 - 8 * size) } else { bits };
    // SAFETY (all arms): the caller guarantees `size` writable bytes; the writes are
    // unaligned-safe and truncate to the scalar's width.
    unsafe {
        match size {
            1 => ptr.write(bits as u8),
            2 => ptr.cast::<u16>().write_unaligned(bits as u16),
            4 => ptr.cast::<u32>().write_unaligned(bits as u32),
            8 => ptr.cast::<u64>().write_unaligned(bits),
            _ => return None,
        }
    }
    Some(())
}

/// An integer's low 64 bits, as ctypes' setters take them (`__index__` honoured,
/// floats refused).
pub fn mask_u64(value: &Bound<'_, PyAny>) -> PyResult<u64> {
    // SAFETY: value is a valid object; the call follows the C API's error protocol.
    let bits = unsafe { ffi::PyLong_AsUnsignedLongLongMask(value.as_ptr()) };
    if bits == u64::MAX {
        if let Some(err) = PyErr::take(value.py()) {
            return Err(err);
        }
    }
    Ok(bits)
}

/// An int read as an address, as ctypes reads one (`PyLong_AsVoidPtr`): a negative
/// value down to -2**63 wraps to its unsigned bits (-1 is 2**64 - 1); beyond
/// -2**63..2**64, Python's `OverflowError`. The caller has checked that it is an int.
pub fn address_from_int(value: &Bound<'_, PyAny>) -> PyResult<usize> {
    // SAFETY: value is a valid object; NULL with an exception set on error (NULL
    // itself is the address 0).
    let address = unsafe { ffi::PyLong_AsVoidPtr(value.as_ptr()) };
    if address.is_null() {
        if let Some(err) = PyErr::take(value.py()) {
            return Err(err);
        }
    }
    Ok(address as usize)
}

/// A float as C's double, with Python's own conversion and message.
pub fn as_double(value: &Bound<'_, PyAny>) -> PyResult<f64> {
    // SAFETY: value is a valid object; the call follows the C API's error protocol.
    let x = unsafe { ffi::PyFloat_AsDouble(value.as_ptr()) };
    if x == -1.0 {
        if let Some(err) = PyErr::take(value.py()) {
            return Err(err);
        }
    }
    Ok(x)
}

fn char_byte(value: &Bound<'_, PyAny>) -> PyResult<u8> {
    let err = || PyTypeError::new_err("one character bytes, bytearray or integer expected");
    if let Ok(b) = value.cast::<PyBytes>() {
        return match b.as_bytes() {
            [c] => Ok(*c),
            _ => Err(err()),
        };
    }
    if let Ok(b) = value.cast::<PyByteArray>() {
        return match b.to_vec()[..] {
            [c] => Ok(c),
            _ => Err(err()),
        };
    }
    if value.is_instance_of::<pyo3::types::PyInt>() {
        return match value.extract::<i64>() {
            Ok(v @ 0..=255) => Ok(v as u8),
            _ => Err(err()),
        };
    }
    Err(err())
}

fn char_pointer(value: &Bound<'_, PyAny>, raw: &mut [u8; 16]) -> PyResult<KeepAlive> {
    if value.is_none() {
        raw[..8].fill(0);
        return Ok(None);
    }
    if let Ok(b) = value.cast::<PyBytes>() {
        // A bytes object's buffer is NUL-terminated and lives as long as the object.
        raw[..8].copy_from_slice(&(b.as_bytes().as_ptr() as u64).to_ne_bytes());
        return Ok(Some(value.clone().unbind()));
    }
    if value.is_instance_of::<pyo3::types::PyInt>() {
        raw[..8].copy_from_slice(&mask_u64(value)?.to_ne_bytes());
        return Ok(None);
    }
    Err(PyTypeError::new_err(format!("bytes or integer address expected instead of {} instance", type_name(value))))
}

fn wide_pointer(value: &Bound<'_, PyAny>, raw: &mut [u8; 16]) -> PyResult<KeepAlive> {
    if value.is_none() {
        raw[..8].fill(0);
        return Ok(None);
    }
    if let Ok(s) = value.cast::<PyString>() {
        let buffer = wide_buffer(s)?;
        raw[..8].copy_from_slice(&(buffer.as_bytes().as_ptr() as u64).to_ne_bytes());
        return Ok(Some(buffer.into_any().unbind()));
    }
    if value.is_instance_of::<pyo3::types::PyInt>() {
        raw[..8].copy_from_slice(&mask_u64(value)?.to_ne_bytes());
        return Ok(None);
    }
    Err(PyTypeError::new_err(format!("unicode string or integer address expected instead of {} instance", type_name(value))))
}

/// A NUL-terminated `wchar_t` copy of `s`, held in a bytes object that keeps it alive.
/// Every code point is copied as it is, lone surrogates included (as in ctypes).
pub fn wide_buffer<'py>(s: &Bound<'py, PyString>) -> PyResult<Bound<'py, PyBytes>> {
    // SAFETY: s is a live str object.
    let len = unsafe { ffi::PyUnicode_GetLength(s.as_ptr()) };
    if len < 0 {
        return Err(PyErr::fetch(s.py()));
    }
    // With its NUL; sizes past memory are a MemoryError, as allocating them would be.
    let units = (len as usize).checked_add(1).ok_or_else(|| pyo3::exceptions::PyMemoryError::new_err("string too long"))?;
    let bytes = units.checked_mul(4).ok_or_else(|| pyo3::exceptions::PyMemoryError::new_err("string too long"))?;
    PyBytes::new_with(s.py(), bytes, |buf| {
        // SAFETY: `buf` has room for `units` UCS4 code points (it is zeroed and 4 *
        // units bytes long); with copy_null CPython writes the string and a NUL.
        let done = unsafe { ffi::PyUnicode_AsUCS4(s.as_ptr(), buf.as_mut_ptr().cast(), units as ffi::Py_ssize_t, 1) };
        if done.is_null() {
            return Err(PyErr::fetch(s.py()));
        }
        Ok(())
    })
}

/// The name of an object's type as ctypes' messages print it: the type's `tp_name`,
/// which is a Python class's `__name__` and a built-in or extension type's dotted
/// name (`datetime.date`, `ferrotypes._ctypes.CArgObject`).
pub fn type_name(value: &Bound<'_, PyAny>) -> String {
    type_name_of_class(&value.get_type())
}

/// A class's `tp_name` (see [`type_name`]).
pub fn type_name_of_class(class: &Bound<'_, pyo3::types::PyType>) -> String {
    // SAFETY: a live type object, whose `tp_name` is a NUL-terminated string living
    // as long as the type (a heap type's points into its `__name__`, replaced only
    // when `__name__` is).
    let name = unsafe { CStr::from_ptr((*class.as_type_ptr()).tp_name) };
    name.to_string_lossy().into_owned()
}
