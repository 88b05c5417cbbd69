//! Array classes: `cls * n`, one class per (element class, length) for the life of
//! the process (as in ctypes), and the character buffers built on them
//! (`create_string_buffer`, `create_unicode_buffer`).
//!
//! The cache lives here so that the buffers, made millions of times by some
//! programs, find their class without running Python code. The class itself is
//! built by the Python metaclass (`_metatypes`), which registers its builder at
//! start-up.

// Panic audit (issue 17): a `bytes` length plus one cannot overflow (objects are
// smaller than isize::MAX); slices are cut at positions found inside them.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::Borrowed;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyInt, PyString, PyType};

use crate::data::cdata::CData;
use crate::support::cstring;
use crate::support::gil_cell::GilCell;
use crate::support::python;
use crate::data::instances;
use crate::data::recycled;
use crate::data::slots;
use crate::data::families::array::ArrayData;

/// Array classes by (element class address, length).
type ArrayTypeCache = HashMap<(usize, usize), Py<PyType>, BuildHasherDefault<KeyHasher>>;

/// A multiplicative hash for the cache's keys (two words, not chosen by an
/// adversary): a few instructions where the default SipHash takes a hundred.
#[derive(Default)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }

    fn write_u64(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x517c_c1b7_2722_0a95);
    }

    fn write_usize(&mut self, word: usize) {
        self.write_u64(word as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// The array classes made so far. A cached class keeps its element class alive
/// (through `_type_`), so an address in a key can never be reused by another class.
static ARRAY_TYPES: GilCell<Option<ArrayTypeCache>> = GilCell::new(None);

/// `_metatypes._build_array_type(element, length)`, which makes a new array class.
static BUILDER: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// Registers the function that builds a new array class (called once, by
/// `_metatypes.build_base_classes`).
#[pyfunction]
pub fn _set_array_type_builder(py: Python<'_>, builder: Py<PyAny>) -> PyResult<()> {
    BUILDER.set(py, builder).map_err(|_| PyValueError::new_err("the array type builder is already set"))
}

/// `element * length`: the array class of `length` elements, made on first use.
#[pyfunction]
pub fn array_type<'py>(element: &Bound<'py, PyType>, length: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyType>> {
    let py = element.py();
    if !length.is_instance_of::<PyInt>() {
        return Err(PyTypeError::new_err(format!("can't multiply sequence by non-int of type '{}'", crate::support::scalar::type_name(length))));
    }
    let n: isize = length.extract()?;
    let n = usize::try_from(n).map_err(|_| PyValueError::new_err(format!("Array length must be >= 0, not {n}")))?;
    let key = (element.as_ptr() as usize, n);
    let cached = ARRAY_TYPES.with(py, |types| types.as_ref().and_then(|t| t.get(&key)).map(|c| c.clone_ref(py)));
    if let Some(cls) = cached {
        return Ok(cls.into_bound(py));
    }
    let builder = BUILDER.get(py).ok_or_else(|| PyTypeError::new_err("array types are not available yet"))?;
    let built = builder.bind(py).call1((element, n))?.cast_into::<PyType>()?;
    // Building ran Python code, which may have let another thread build the same
    // class: the first one stored is the class, for every thread (no Python code runs
    // from here on, so the cache cannot change under us).
    let mut types = ARRAY_TYPES.replace(py, None).unwrap_or_default();
    let cls = types.entry(key).or_insert_with(|| built.unbind()).clone_ref(py);
    drop(ARRAY_TYPES.replace(py, Some(types)));
    Ok(cls.into_bound(py))
}

/// `cls * n` and `n * cls` as CPython calls a metaclass's `nb_multiply` (installed by
/// [`_add_array_operator`]): [`array_type`] without the metaclass's Python `__mul__`
/// frame and PyO3's argument parsing. As that `__mul__`/`__rmul__` (which never
/// return `NotImplemented`), the class is the operand whose type has this slot, the
/// left one when both have it.
///
/// # Safety
/// CPython's `binaryfunc` contract: the GIL held, `left` and `right` live objects
/// lent for the call, at least one of them an instance of a metaclass this slot was
/// installed on (a class).
unsafe extern "C" fn multiply_slot(left: *mut ffi::PyObject, right: *mut ffi::PyObject) -> *mut ffi::PyObject {
    // SAFETY: CPython calls slots with the GIL held. The token is not registered with
    // PyO3's attach count: the class returned is made or cloned, nothing dropped as a
    // `Py` (see data::slots).
    let py = unsafe { Python::assume_attached() };
    slots::guard(py, slots::NULL, || {
        // SAFETY: live objects; a type's number table is read with the GIL held.
        let left_is_class = unsafe {
            let numbers = (*ffi::Py_TYPE(left)).tp_as_number;
            !numbers.is_null() && (*numbers).nb_multiply.map(|f| f as usize) == Some(multiply_slot as ffi::binaryfunc as usize)
        };
        let (class, length) = if left_is_class { (left, right) } else { (right, left) };
        // SAFETY: `class` is an instance of a metaclass with this slot (CPython called
        // it for one of the operands), so a type; both are lent for the call.
        let (class, length) = unsafe { (Borrowed::from_ptr(py, class).cast_unchecked::<PyType>(), Borrowed::from_ptr(py, length)) };
        Ok(array_type(&class, &length)?.into_ptr())
    })
}

/// Has `cls * n` of the classes of metaclass `meta` (one of ferrotypes' own, whose
/// `__mul__` and `__rmul__` are `_CDataMeta`'s) made by [`multiply_slot`] (called by
/// `_metatypes.build_base_classes` for each).
#[pyfunction]
pub fn _add_array_operator(meta: &Bound<'_, PyType>) -> PyResult<()> {
    let tp = meta.as_type_ptr();
    // SAFETY: a live type object, written with the GIL held; a heap type's number
    // table is its own (type.__new__ allocated it with the class), and the slot keeps
    // its signature.
    unsafe {
        if (*tp).tp_flags & ffi::Py_TPFLAGS_HEAPTYPE == 0 || (*tp).tp_as_number.is_null() {
            return Err(PyTypeError::new_err("_add_array_operator() needs a metaclass defined in Python"));
        }
        (*(*tp).tp_as_number).nb_multiply = Some(multiply_slot);
    }
    Ok(())
}

/// `c_char` and `c_wchar`, the element classes of the character buffers.
static CHAR_TYPES: PyOnceLock<(Py<PyType>, Py<PyType>)> = PyOnceLock::new();

/// Registers `c_char` and `c_wchar` (called once, by `ferrotypes` at import).
#[pyfunction]
pub fn _set_char_types(py: Python<'_>, c_char: Py<PyType>, c_wchar: Py<PyType>) -> PyResult<()> {
    CHAR_TYPES.set(py, (c_char, c_wchar)).map_err(|_| PyValueError::new_err("the character types are already set"))
}

/// The registered `c_char` (or `c_wchar` when `wide`).
fn char_type(py: Python<'_>, wide: bool) -> PyResult<&Bound<'_, PyType>> {
    let (narrow, wide_type) = CHAR_TYPES.get(py).ok_or_else(|| PyTypeError::new_err("character types are not available yet"))?;
    Ok(if wide { wide_type.bind(py) } else { narrow.bind(py) })
}

/// A mutable `c_char` array: `create_string_buffer(b"text"[, size])` holds the bytes
/// and a terminating NUL; `create_string_buffer(n)` is `n` zero bytes.
#[pyfunction]
#[pyo3(signature = (init, size = None))]
pub fn create_string_buffer<'py>(init: &Bound<'py, PyAny>, size: Option<&Bound<'py, PyAny>>) -> PyResult<Bound<'py, PyAny>> {
    char_buffer(char_type(init.py(), false)?, false, init, size)
}

/// A mutable `c_wchar` array, like `create_string_buffer` for `str`.
#[pyfunction]
#[pyo3(signature = (init, size = None))]
pub fn create_unicode_buffer<'py>(init: &Bound<'py, PyAny>, size: Option<&Bound<'py, PyAny>>) -> PyResult<Bound<'py, PyAny>> {
    char_buffer(char_type(init.py(), true)?, true, init, size)
}

/// A new array of `element` (`c_wchar` when `wide`, else `c_char`) holding `init` and
/// a terminating NUL (`bytes`/`str`), or `init` zero elements (`int`), raising
/// ctypes' audit event first.
fn char_buffer<'py>(element: &Bound<'py, PyType>, wide: bool, init: &Bound<'py, PyAny>, size: Option<&Bound<'py, PyAny>>) -> PyResult<Bound<'py, PyAny>> {
    let py = element.py();
    let event = if wide { c"ctypes.create_unicode_buffer" } else { c"ctypes.create_string_buffer" };
    if init.is_instance_of::<PyInt>() {
        audit(py, event, &py.None().into_bound(py), init)?;
        return zeroed_buffer(element, wide, init);
    }
    let text = if wide { init.is_instance_of::<PyString>() } else { init.is_instance_of::<PyBytes>() };
    if !text {
        return Err(PyTypeError::new_err(init.clone().unbind()));
    }
    let length = match size {
        Some(size) => size.clone(),
        None => init.len()?.saturating_add(1).into_pyobject(py)?.into_any(),
    };
    audit(py, event, init, &length)?;
    let buffer = instances::new_instance::<ArrayData>(&array_type(element, &length)?)?;
    match init.cast::<PyBytes>() {
        Ok(bytes) => {
            // The bytes straight in (what the `value` setter does, without Python).
            let data = buffer.cast::<CData>()?.get();
            let bytes = bytes.as_bytes();
            if bytes.len() > data.size(py) {
                return Err(PyValueError::new_err("byte string too long"));
            }
            // SAFETY: the new buffer owns `size` bytes, at least `bytes.len()`; the
            // rest stays zero (the terminating NUL).
            unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), data.address(py), bytes.len()) };
        }
        Err(_) => buffer.setattr(pyo3::intern!(py, "value"), init)?,
    }
    Ok(buffer)
}

/// The class of the last zeroed buffer made, with its length, for `c_char` (0) and
/// `c_wchar` (1): programs make buffers of one size over and over. Only classes that
/// passed [`instances::new_instance`]'s family check are kept.
static LAST_ZEROED: GilCell<[Option<LengthClass>; recycled::SLOTS]> = GilCell::new([None, None]);

/// A buffer class, its length, and the `int` object that length was given as: the
/// same object again (a small int, which CPython keeps one of, or a constant of the
/// calling code) is the same length, told without reading its value.
type LengthClass = (Py<PyAny>, isize, Py<PyType>);

/// A new array of `length` zeroed `element`s (`c_wchar` when `wide`, else `c_char`):
/// the class remembered for this length when it is the last one made, from its
/// recycler when the length is the same object as last time (the commonest call), else
/// the cached class (the array cache's lookup and the family check are half the cost
/// of `create_string_buffer(64)`).
fn zeroed_buffer<'py>(element: &Bound<'py, PyType>, wide: bool, length: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let py = element.py();
    let which = usize::from(wide);
    let same_object = LAST_ZEROED.with(py, |last| last.get(which)?.as_ref().filter(|(given, _, _)| given.as_ptr() == length.as_ptr()).map(|(_, _, cls)| cls.as_ptr().cast::<ffi::PyTypeObject>()));
    if let Some(tp) = same_object {
        // SAFETY: a remembered class passed new_instance's check that it is an
        // ArrayData subclass, and is alive (the array cache holds it for good).
        if let Some(made) = unsafe { instances::new_recycled::<ArrayData>(py, which, tp) } {
            return made;
        }
    }
    let remembered = |same: &dyn Fn(&LengthClass) -> bool| {
        LAST_ZEROED.with(py, |last| last.get(which)?.as_ref().filter(|entry| same(entry)).map(|(_, _, cls)| cls.clone_ref(py).into_bound(py)))
    };
    let mut n = None;
    let mut found = remembered(&|(given, _, _)| given.as_ptr() == length.as_ptr());
    if found.is_none() {
        // A length out of range is left to array_type, which raises ctypes' error.
        n = length.extract::<isize>().ok();
        found = n.and_then(|n| remembered(&|(_, m, _)| *m == n));
    }
    if let Some(cls) = found {
        // SAFETY: a remembered class passed new_instance's check that it is an
        // ArrayData subclass, and classes do not change their bases' layout.
        return unsafe { instances::new_owned::<ArrayData>(cls.as_borrowed()) };
    }
    let cls = array_type(element, length)?;
    let buffer = instances::new_instance::<ArrayData>(&cls)?;
    if let Some(n) = n {
        let old = LAST_ZEROED.with_mut(py, |last| last.get_mut(which).and_then(|slot| slot.replace((length.clone().unbind(), n, cls.unbind()))));
        // Released at once (this may run on a token PyO3 does not count as attached).
        drop(old.map(|(given, _, cls)| (given.into_bound(py), cls.into_bound(py))));
    }
    Ok(buffer)
}

/// `create_string_buffer` and `create_unicode_buffer` as PyO3 makes them (argument
/// parsing, keywords and their messages): every call but the commonest goes there.
static GENERAL_ENTRIES: PyOnceLock<(Py<PyAny>, Py<PyAny>)> = PyOnceLock::new();

/// `create_string_buffer` (`create_unicode_buffer` when `wide`) as CPython calls it
/// (`METH_FASTCALL | METH_KEYWORDS`): one positional argument and no keywords, the
/// commonest call, is made here without PyO3's argument parsing (a tenth of
/// `create_string_buffer(64)`); any other call goes to the PyO3 function.
///
/// # Safety
/// CPython's `METH_FASTCALL | METH_KEYWORDS` contract: the GIL held, `args` holding
/// `nargs` positional values then one value per name in `kwnames` (NULL or a tuple).
unsafe fn buffer_entry(wide: bool, args: *const *mut ffi::PyObject, nargs: ffi::Py_ssize_t, kwnames: *mut ffi::PyObject) -> *mut ffi::PyObject {
    // SAFETY: CPython calls module functions with the GIL held. The token is not
    // registered with PyO3's attach count: only `Bound`s are made and dropped here.
    let py = unsafe { Python::assume_attached() };
    if nargs == 1 && kwnames.is_null() {
        return slots::guard(py, slots::NULL, || {
            // SAFETY: one positional argument, a live object lent for the call.
            let init = unsafe { Borrowed::from_ptr(py, *args) };
            Ok(char_buffer(char_type(py, wide)?, wide, &init, None)?.into_ptr())
        });
    }
    let Some((narrow_entry, wide_entry)) = GENERAL_ENTRIES.get(py) else {
        PyTypeError::new_err("character buffers are not available yet").restore(py);
        return slots::NULL;
    };
    let general = if wide { wide_entry } else { narrow_entry };
    // SAFETY: the arguments exactly as CPython passed them, to a live callable; the
    // result is a new reference or NULL with an exception set, handed on as is.
    unsafe { ffi::PyObject_Vectorcall(general.as_ptr(), args, nargs as usize, kwnames) }
}

/// `create_string_buffer`'s entry point (see [`buffer_entry`]).
///
/// # Safety
/// As for [`buffer_entry`].
unsafe extern "C" fn string_buffer_entry(_module: *mut ffi::PyObject, args: *const *mut ffi::PyObject, nargs: ffi::Py_ssize_t, kwnames: *mut ffi::PyObject) -> *mut ffi::PyObject {
    // SAFETY: this function's own contract.
    unsafe { buffer_entry(false, args, nargs, kwnames) }
}

/// `create_unicode_buffer`'s entry point (see [`buffer_entry`]).
///
/// # Safety
/// As for [`buffer_entry`].
unsafe extern "C" fn unicode_buffer_entry(_module: *mut ffi::PyObject, args: *const *mut ffi::PyObject, nargs: ffi::Py_ssize_t, kwnames: *mut ffi::PyObject) -> *mut ffi::PyObject {
    // SAFETY: this function's own contract.
    unsafe { buffer_entry(true, args, nargs, kwnames) }
}

/// The definitions of the two entry points: CPython keeps a pointer to a function's
/// definition for the function's life, so they are static.
struct EntryDefs([ffi::PyMethodDef; 2]);

// SAFETY: the definitions are never written after they are made, and CPython only reads
// them, so sharing them between threads is sound.
unsafe impl Sync for EntryDefs {}

static BUFFER_ENTRIES: EntryDefs = EntryDefs([
    buffer_entry_def(
        c"create_string_buffer",
        string_buffer_entry,
        c"create_string_buffer($module, /, init, size=None)\n--\n\nA mutable c_char array: `create_string_buffer(b\"text\"[, size])` holds the bytes\nand a terminating NUL; `create_string_buffer(n)` is `n` zero bytes.",
    ),
    buffer_entry_def(
        c"create_unicode_buffer",
        unicode_buffer_entry,
        c"create_unicode_buffer($module, /, init, size=None)\n--\n\nA mutable c_wchar array, like `create_string_buffer` for `str`.",
    ),
]);

const fn buffer_entry_def(name: &'static std::ffi::CStr, meth: ffi::PyCFunctionFastWithKeywords, doc: &'static std::ffi::CStr) -> ffi::PyMethodDef {
    ffi::PyMethodDef {
        ml_name: name.as_ptr(),
        ml_meth: ffi::PyMethodDefPointer { PyCFunctionFastWithKeywords: meth },
        ml_flags: ffi::METH_FASTCALL | ffi::METH_KEYWORDS,
        ml_doc: doc.as_ptr(),
    }
}

/// Adds `create_string_buffer` and `create_unicode_buffer` to module `m` (their entry
/// points, with the PyO3 functions behind them for the other calls).
pub fn add_buffer_functions(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    let general = (wrap_pyfunction!(create_string_buffer, m)?.into_any().unbind(), wrap_pyfunction!(create_unicode_buffer, m)?.into_any().unbind());
    GENERAL_ENTRIES.set(py, general).map_err(|_| PyValueError::new_err("the buffer functions are already added"))?;
    let module_name = m.name()?;
    for def in &BUFFER_ENTRIES.0 {
        // SAFETY: a static definition of a METH_FASTCALL | METH_KEYWORDS function, which
        // CPython only reads; the module and its name are live objects. The result is a
        // new reference or NULL with an exception set.
        let function = unsafe { Bound::from_owned_ptr_or_err(py, ffi::PyCFunction_NewEx(std::ptr::from_ref(def).cast_mut(), m.as_ptr(), module_name.as_ptr())) }?;
        // SAFETY: ml_name is one of the static C strings above.
        let name = unsafe { std::ffi::CStr::from_ptr(def.ml_name) };
        m.add(name.to_str().map_err(|_| PyValueError::new_err("function name is not UTF-8"))?, function)?;
    }
    Ok(())
}

/// Raises the audit event `event` with arguments `(init, size)`, as ctypes does.
fn audit(py: Python<'_>, event: &std::ffi::CStr, init: &Bound<'_, PyAny>, size: &Bound<'_, PyAny>) -> PyResult<()> {
    // SAFETY: a NUL-terminated event name and a format of two objects, both live.
    let status = unsafe { python::PySys_Audit(event.as_ptr(), c"OO".as_ptr(), init.as_ptr(), size.as_ptr()) };
    if status < 0 {
        return Err(PyErr::fetch(py));
    }
    Ok(())
}

/// The `value` and `raw` getsets of `c_char` array classes and the `value` getset of
/// `c_wchar` array classes, as ctypes gives them (one getset descriptor per class, made
/// for it by [`_add_char_array_getsets`]). CPython's getset descriptor checks that the
/// instance is one of the class before calling, so the raw functions below read an
/// instance's memory directly: no PyO3 wrapper, no type check of their own.
static CHAR_ARRAY_GETSETS: [slots::StaticGetSetDef; 2] = [
    slots::StaticGetSetDef::new(c"value", char_value_get, Some(char_value_set), c"string value"),
    slots::StaticGetSetDef::new(c"raw", char_raw_get, Some(char_raw_set), c"value"),
];

static WIDE_CHAR_ARRAY_GETSETS: [slots::StaticGetSetDef; 1] =
    [slots::StaticGetSetDef::new(c"value", wide_value_get, Some(wide_value_set), c"string value")];

/// Gives `cls`, a new array class of `c_char` (`c_wchar` when `wide`), its `value`
/// and `raw` getsets (`value` alone for `c_wchar`); called by the array metaclass.
#[pyfunction]
pub fn _add_char_array_getsets(cls: &Bound<'_, PyType>, wide: bool) -> PyResult<()> {
    if crate::types::typeinfo::info_of_class(cls).is_none_or(|info| info.get().kind.family() != crate::types::typeinfo::FamilyKind::Array) {
        return Err(PyTypeError::new_err("_add_char_array_getsets() needs an array class"));
    }
    let defs: &'static [slots::StaticGetSetDef] = if wide { &WIDE_CHAR_ARRAY_GETSETS } else { &CHAR_ARRAY_GETSETS };
    defs.iter().try_for_each(|def| slots::add_getset(cls, def))
}

/// The memory of `obj` as a C data instance: its address (`ValueError` when it was
/// taken back: see `liveness`) and size in bytes.
///
/// # Safety
/// `obj` must be a live instance of a C data class, lent for the call (CPython's
/// getset descriptor checked it is one of the array class it was made for).
unsafe fn memory_of(py: Python<'_>, obj: *mut ffi::PyObject) -> PyResult<(*mut u8, usize)> {
    // SAFETY: the caller's promise: an instance of a C data class.
    let data = unsafe { Borrowed::from_ptr(py, obj).cast_unchecked::<CData>() };
    let data = data.get();
    Ok((data.live_address(py)?, data.size(py)))
}

/// The memory of `obj` for the fast paths: its address and size, or `None` when the
/// memory may be taken back (left to the general path, [`memory_of`], which raises
/// once it was) or its size is beyond `Py_ssize_t`.
///
/// # Safety
/// As for [`memory_of`].
#[inline(always)]
unsafe fn plain_memory_of(py: Python<'_>, obj: *mut ffi::PyObject) -> Option<(*mut u8, ffi::Py_ssize_t)> {
    // SAFETY: the caller's promise: a live (so not NULL) instance of a C data class.
    let data = unsafe { Borrowed::from_ptr_or_opt(py, obj).unwrap_unchecked().cast_unchecked::<CData>() };
    let data = data.get();
    Some((data.plain_address(py)?, ffi::Py_ssize_t::try_from(data.size(py)).ok()?))
}

/// A new `bytes` of the `len` bytes at `address`, or NULL with an exception set: what
/// a getter returns, handed back as CPython's allocator gives it (a tail call).
///
/// # Safety
/// `len` bytes must be readable at `address`.
#[inline(always)]
unsafe fn bytes_at(address: *const u8, len: ffi::Py_ssize_t) -> *mut ffi::PyObject {
    // SAFETY: the caller's promise; CPython copies the bytes.
    unsafe { ffi::PyBytes_FromStringAndSize(address.cast(), len) }
}

/// `buf.value` of a `c_char` array: its bytes up to the first NUL.
///
/// # Safety
/// CPython's getter contract after `getset_get`'s check: the GIL held, `obj` a live
/// instance of the `c_char` array class the descriptor was made for, lent for the call.
unsafe extern "C" fn char_value_get(obj: *mut ffi::PyObject, _closure: *mut std::ffi::c_void) -> *mut ffi::PyObject {
    // SAFETY: CPython calls getters with the GIL held. The token is not registered with
    // PyO3's attach count: only the result is made here (see data::slots).
    let py = unsafe { Python::assume_attached() };
    // SAFETY: this function's contract.
    match unsafe { plain_memory_of(py, obj) } {
        Some((address, size)) => {
            // SAFETY: an instance's memory is `size` readable bytes (a size that fits
            // Py_ssize_t fits usize).
            let bytes = unsafe { std::slice::from_raw_parts(address, size.unsigned_abs()) };
            // Most strings end in the first eight bytes, found without a call (and so
            // without a frame); the rest of the memory is searched by `memchr`.
            match cstring::nul_in_first_word(bytes) {
                // SAFETY: a prefix of the instance's memory (at most 8 bytes).
                Some(len) => unsafe { bytes_at(address, len as ffi::Py_ssize_t) },
                None => value_beyond_first_word(bytes),
            }
        }
        // SAFETY: this function's contract.
        None => unsafe { general_get(obj, false) },
    }
}

/// `buf.value` of memory whose first eight bytes hold no NUL (or that is shorter).
#[inline(never)]
fn value_beyond_first_word(bytes: &[u8]) -> *mut ffi::PyObject {
    let value = cstring::up_to_nul(bytes);
    // SAFETY: a prefix of the instance's memory, whose size fits Py_ssize_t.
    unsafe { bytes_at(value.as_ptr(), value.len() as ffi::Py_ssize_t) }
}

/// `buf.value` (`buf.raw` when `raw`) of a `c_char` array whose memory may be taken
/// back: `ValueError` once it was. A C function (it cannot unwind: `guard` catches
/// panics), so that the getters end by jumping to it, without saving a register or
/// aligning the stack for a call.
///
/// # Safety
/// As for [`char_value_get`].
#[cold]
#[inline(never)]
unsafe extern "C" fn general_get(obj: *mut ffi::PyObject, raw: bool) -> *mut ffi::PyObject {
    // SAFETY: as in char_value_get.
    let py = unsafe { Python::assume_attached() };
    slots::guard(py, slots::NULL, || {
        // SAFETY: this function's contract.
        let (address, size) = unsafe { memory_of(py, obj) }?;
        // SAFETY: an instance's memory is `size` readable bytes.
        let bytes = unsafe { std::slice::from_raw_parts(address, size) };
        let bytes = if raw { bytes } else { cstring::up_to_nul(bytes) };
        Ok(crate::support::scalar::new_bytes(py, bytes)?.into_ptr())
    })
}

/// `buf.raw` of a `c_char` array: all its bytes.
///
/// # Safety
/// As for [`char_value_get`].
unsafe extern "C" fn char_raw_get(obj: *mut ffi::PyObject, _closure: *mut std::ffi::c_void) -> *mut ffi::PyObject {
    // SAFETY: as in char_value_get.
    let py = unsafe { Python::assume_attached() };
    // SAFETY: this function's contract.
    match unsafe { plain_memory_of(py, obj) } {
        // SAFETY: an instance's memory is `size` readable bytes.
        Some((address, size)) => unsafe { bytes_at(address, size) },
        // SAFETY: this function's contract.
        None => unsafe { general_get(obj, true) },
    }
}

/// `buf.value = v` of a `c_char` array: `bytes` only, ended with a NUL when there is
/// room; NULL (`del buf.value`) is refused with ctypes' error.
///
/// # Safety
/// CPython's setter contract after `getset_set`'s check: the GIL held, `obj` a live
/// instance of the `c_char` array class the descriptor was made for, `value` a live
/// object or NULL, lent for the call.
unsafe extern "C" fn char_value_set(obj: *mut ffi::PyObject, value: *mut ffi::PyObject, _closure: *mut std::ffi::c_void) -> std::ffi::c_int {
    // SAFETY: CPython calls setters with the GIL held (see char_value_get).
    let py = unsafe { Python::assume_attached() };
    // The commonest store, `bytes` that fit memory that cannot be taken back, here;
    // anything else (and every error) below.
    // SAFETY: `value` is NULL or a live object, lent for the call; the instance is one
    // of a c_char array class (this function's contract).
    if !value.is_null() && unsafe { ffi::PyBytes_Check(value) } != 0 {
        // SAFETY: this function's contract.
        if let Some((address, size)) = unsafe { plain_memory_of(py, obj) } {
            // SAFETY: a live bytes object (checked above), lent for the call, read as
            // CPython's own macros read it.
            let (start, len) = unsafe { (ffi::PyBytes_AS_STRING(value), ffi::Py_SIZE(value)) };
            if len <= size {
                // Neither size is negative (a bytes object's, and one `plain_memory_of`
                // gives), so both convert as they are.
                #[allow(clippy::cast_sign_loss)]
                let (len, size) = (len as usize, size as usize);
                // SAFETY: `len` readable bytes at `start` (the bytes object's), which fit
                // the instance's `size` writable bytes and are not C data memory.
                unsafe { cstring::store_with_nul(address, size, std::slice::from_raw_parts(start.cast::<u8>(), len)) };
                return 0;
            }
        }
    }
    // SAFETY: this function's contract.
    unsafe { general_value_set(py, obj, value) }
}

/// `buf.value = v` of a `c_char` array, every case [`char_value_set`] leaves: other
/// values, memory that may be taken back, deletion, and the errors.
///
/// # Safety
/// As for [`char_value_set`].
#[cold]
#[inline(never)]
unsafe fn general_value_set(py: Python<'_>, obj: *mut ffi::PyObject, value: *mut ffi::PyObject) -> std::ffi::c_int {
    slots::guard(py, -1, || {
        if value.is_null() {
            return Err(PyTypeError::new_err("can't delete attribute"));
        }
        // SAFETY: this function's contract.
        let (address, size) = unsafe { memory_of(py, obj) }?;
        // SAFETY: a live object lent for the call.
        let value = unsafe { Borrowed::from_ptr(py, value) };
        let bytes = value.cast::<PyBytes>().map_err(|_| {
            PyTypeError::new_err(format!("bytes expected instead of {} instance", crate::support::scalar::type_name(&value)))
        })?;
        let bytes = bytes.as_bytes();
        if bytes.len() > size {
            return Err(PyValueError::new_err("byte string too long"));
        }
        // SAFETY: the bytes fit the instance's memory (checked above), and a bytes
        // object's storage is not C data memory.
        unsafe { cstring::store_with_nul(address, size, bytes) };
        Ok(0)
    })
}

/// `buf.raw = v` of a `c_char` array: any bytes-like object (whose bytes may be the
/// array's own); NULL (`del buf.raw`) is refused with ctypes' error.
///
/// # Safety
/// As for [`char_value_set`].
unsafe extern "C" fn char_raw_set(obj: *mut ffi::PyObject, value: *mut ffi::PyObject, _closure: *mut std::ffi::c_void) -> std::ffi::c_int {
    // SAFETY: as in char_value_set.
    let py = unsafe { Python::assume_attached() };
    slots::guard(py, -1, || {
        if value.is_null() {
            return Err(pyo3::exceptions::PyAttributeError::new_err("cannot delete attribute"));
        }
        // SAFETY: this function's contract.
        let (address, size) = unsafe { memory_of(py, obj) }?;
        // SAFETY: a live object lent for the call.
        let value = unsafe { Borrowed::from_ptr(py, value) };
        let view = crate::support::buffer::ReadView::new(&value)?;
        if view.len() > size {
            return Err(PyValueError::new_err("byte string too long"));
        }
        // SAFETY: the view's bytes are readable while it lives and fit the instance's
        // memory; they may overlap it.
        unsafe { std::ptr::copy(view.as_ptr(), address, view.len()) };
        Ok(0)
    })
}

/// The memory of `obj`, an array of `c_wchar`: its address and length in wide
/// characters.
///
/// # Safety
/// As for [`memory_of`].
unsafe fn wide_memory_of(py: Python<'_>, obj: *mut ffi::PyObject) -> PyResult<(*mut libc::wchar_t, usize)> {
    // SAFETY: the caller's promise.
    let (address, size) = unsafe { memory_of(py, obj) }?;
    #[allow(clippy::arithmetic_side_effects)] // divided by wchar_t's size, not zero
    Ok((address.cast(), size / std::mem::size_of::<libc::wchar_t>()))
}

/// `buf.value` of a `c_wchar` array: its characters up to the first NUL.
///
/// # Safety
/// As for [`char_value_get`], for a `c_wchar` array class.
unsafe extern "C" fn wide_value_get(obj: *mut ffi::PyObject, _closure: *mut std::ffi::c_void) -> *mut ffi::PyObject {
    // SAFETY: as in char_value_get.
    let py = unsafe { Python::assume_attached() };
    slots::guard(py, slots::NULL, || {
        // SAFETY: this function's contract.
        let (address, chars) = unsafe { wide_memory_of(py, obj) }?;
        // SAFETY: an instance's memory is `chars` readable wide characters.
        let len = unsafe { cstring::wide_len(address, chars) };
        // SAFETY: `len` <= chars wide characters are readable at address.
        Ok(unsafe { crate::support::scalar::wide_string_at(py, address, Some(len)) }?.into_ptr())
    })
}

/// `buf.value = v` of a `c_wchar` array: a `str`, ended with a NUL when there is room;
/// NULL (`del buf.value`) is refused with ctypes' error.
///
/// # Safety
/// As for [`char_value_set`], for a `c_wchar` array class.
unsafe extern "C" fn wide_value_set(obj: *mut ffi::PyObject, value: *mut ffi::PyObject, _closure: *mut std::ffi::c_void) -> std::ffi::c_int {
    // SAFETY: as in char_value_set.
    let py = unsafe { Python::assume_attached() };
    slots::guard(py, -1, || {
        if value.is_null() {
            return Err(PyTypeError::new_err("can't delete attribute"));
        }
        // SAFETY: this function's contract.
        let (address, chars) = unsafe { wide_memory_of(py, obj) }?;
        // SAFETY: a live object lent for the call.
        let value = unsafe { Borrowed::from_ptr(py, value) };
        let text = value.cast::<PyString>().map_err(|_| {
            PyTypeError::new_err(format!("unicode string expected instead of {} instance", crate::support::scalar::type_name(&value)))
        })?;
        let wide = crate::support::scalar::wide_buffer(&text)?;
        let bytes = wide.as_bytes();
        let text_bytes = bytes.get(..bytes.len().saturating_sub(std::mem::size_of::<libc::wchar_t>())).unwrap_or_default(); // without the NUL
        #[allow(clippy::arithmetic_side_effects)] // chars is the instance's size divided by this (`wide_memory_of`)
        let room = chars * std::mem::size_of::<libc::wchar_t>();
        if text_bytes.len() > room {
            return Err(PyValueError::new_err("string too long"));
        }
        // SAFETY: the array's memory is `room` writable bytes; the text fits them
        // (checked above) and is a bytes object's, not C data memory.
        unsafe { cstring::store_wide_with_nul(address.cast(), room, text_bytes) };
        Ok(0)
    })
}
