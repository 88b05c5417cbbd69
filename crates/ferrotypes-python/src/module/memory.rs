//! Module functions over raw memory and instances: `sizeof`, `alignment`,
//! `addressof`, `resize`, `string_at`, `wstring_at`, and the addresses of libc's
//! `memmove`/`memset` that the Python layer wraps as foreign functions.
//!
//! Reading memory at an arbitrary address cannot be checked; like ctypes, these trust
//! the address they are given — except NULL, which is refused.

// Panic audit (issue 17): sizes from Python are converted fallibly and summed with
// checked arithmetic (`needed_bytes`).
#![warn(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::arithmetic_side_effects)]

use pyo3::exceptions::{PyTypeError, PyValueError};
use std::ffi::CStr;

use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyType};
use pyo3::Borrowed;

use crate::call::peek;
use crate::call::value::ArgValue;
use crate::data::cdata::CData;
use crate::data::keepalive;
use crate::data::slots;
use crate::support::python;
use crate::support::scalar;
use crate::support::stdlib_ctypes::{self, stdlib_measure, Measure};
use crate::types::typeinfo::{info_of, read_class_info, read_recent_class_info, TypeInfo};

/// `sizeof(type_or_instance)`.
pub fn sizeof(obj: &Bound<'_, PyAny>) -> PyResult<usize> {
    if let Some(size) = class_info(obj, |info| info.size) {
        return Ok(size);
    }
    if let Ok(cdata) = obj.cast::<CData>() {
        return Ok(cdata.get().size(obj.py()));
    }
    info_of(obj).map(|i| i.get().size).or_else(|_| stdlib_measure(obj, Measure::Size).unwrap_or_else(|| Err(PyTypeError::new_err("this type has no size"))))
}

/// `alignment(type_or_instance)`: an instance's is its class info's, which it holds.
pub fn alignment(obj: &Bound<'_, PyAny>) -> PyResult<usize> {
    if let Some(align) = class_info(obj, |info| info.reported_align) {
        return Ok(align);
    }
    if let Ok(cdata) = obj.cast::<CData>() {
        return Ok(cdata.get().info().get().reported_align);
    }
    info_of(obj).map(|i| i.get().reported_align).or_else(|_| stdlib_measure(obj, Measure::Alignment).unwrap_or_else(|| Err(PyTypeError::new_err("no alignment info"))))
}

/// `read` of the class info of `obj` when it is a C data class: a class is told by a
/// flag of its type, where the instance test walks the metaclass's bases.
#[inline(always)]
fn class_info(obj: &Bound<'_, PyAny>, read: fn(&TypeInfo) -> usize) -> Option<usize> {
    read_class_info(obj.cast::<PyType>().ok()?, read)
}

/// `addressof(instance)`: the address of the instance's memory.
pub fn addressof(obj: &Bound<'_, PyAny>) -> PyResult<usize> {
    match obj.cast::<CData>() {
        Ok(cdata) => Ok(cdata.get().live_address(obj.py())? as usize),
        Err(_) => stdlib_measure(obj, Measure::Address)
            .unwrap_or_else(|| Err(PyTypeError::new_err("invalid type"))),
    }
}

/// A one-argument function of the module as CPython calls it (`METH_O`: the argument
/// itself, no argument tuple or vector to parse, as ctypes defines `sizeof`,
/// `alignment` and `addressof`), answering `f(obj)` as an `int`.
///
/// # Safety
/// CPython's `METH_O` contract: the GIL held, `obj` a live object lent for the call.
#[inline(always)]
unsafe fn one_argument(obj: *mut ffi::PyObject, f: impl FnOnce(&Bound<'_, PyAny>) -> PyResult<usize>) -> *mut ffi::PyObject {
    // SAFETY: CPython calls a METH_O function with the GIL held. The token is not
    // registered with PyO3's attach count: only `Bound`s are made and dropped here.
    let py = unsafe { Python::assume_attached() };
    slots::guard(py, slots::NULL, || {
        // SAFETY: a live object lent for the call (the caller's promise).
        let obj = unsafe { Borrowed::from_ptr(py, obj) };
        let n = f(&obj)?;
        // SAFETY: a new reference, or NULL with an exception set (returned as is).
        Ok(unsafe { ffi::PyLong_FromSize_t(n) })
    })
}

/// The size or alignment (`class_read` of a class's info, `instance_read` of an
/// instance) of `obj` when it is a C data class whose info is remembered
/// ([`read_recent_class_info`]) or a C data instance; `None` for every other case,
/// left to the general function (which looks up `_CData`'s type for the instance test
/// here). Inlined into the slots below with nothing else, so that they need no stack
/// frame.
///
/// # Safety
/// CPython's `METH_O` contract: the GIL held, `obj` a live object lent for the call.
#[inline(always)]
unsafe fn measured_quickly(obj: *mut ffi::PyObject, class_read: fn(&TypeInfo) -> usize, instance_read: fn(&CData, Python<'_>) -> usize) -> Option<usize> {
    // SAFETY: CPython calls a METH_O function with the GIL held, and a live (never
    // NULL) argument. The token is not registered with PyO3's attach count: no
    // reference is taken or dropped here.
    let (py, obj) = unsafe {
        std::hint::assert_unchecked(!obj.is_null());
        let py = Python::assume_attached();
        (py, Borrowed::from_ptr(py, obj))
    };
    // The type checks without PyO3's `cast`, whose failure makes an error object.
    // SAFETY: a live object.
    if unsafe { ffi::PyType_Check(obj.as_ptr()) } != 0 {
        // SAFETY: a type, checked just now.
        return read_recent_class_info(&*unsafe { obj.cast_unchecked::<PyType>() }, class_read);
    }
    let cdata_type = peek::known_cdata_type();
    // SAFETY: a live object and, unless 0, a live type object (`_CData`'s).
    if cdata_type != 0 && unsafe { ffi::PyObject_TypeCheck(obj.as_ptr(), cdata_type as *mut ffi::PyTypeObject) } != 0 {
        // SAFETY: an instance of CData or of a subclass, checked just now.
        return Some(instance_read(unsafe { obj.cast_unchecked::<CData>() }.get(), py));
    }
    None
}

/// `sizeof` as `METH_O`.
///
/// # Safety
/// CPython's `METH_O` contract (see [`one_argument`]).
unsafe extern "C" fn sizeof_slot(_module: *mut ffi::PyObject, obj: *mut ffi::PyObject) -> *mut ffi::PyObject {
    // SAFETY: this function's own contract.
    match unsafe { measured_quickly(obj, |info| info.size, |cdata, py| cdata.size(py)) } {
        // SAFETY: a new reference, or NULL with an exception set (returned as is).
        Some(n) => unsafe { ffi::PyLong_FromSize_t(n) },
        // SAFETY: this function's own contract.
        None => unsafe { sizeof_general(obj) },
    }
}

/// [`sizeof_slot`]'s cases other than the quick ones.
///
/// # Safety
/// CPython's `METH_O` contract (see [`one_argument`]).
#[cold]
#[inline(never)]
unsafe fn sizeof_general(obj: *mut ffi::PyObject) -> *mut ffi::PyObject {
    // SAFETY: this function's own contract.
    peek::cdata_type(unsafe { Python::assume_attached() });
    // SAFETY: this function's own contract.
    unsafe { one_argument(obj, sizeof) }
}

/// `alignment` as `METH_O`.
///
/// # Safety
/// CPython's `METH_O` contract (see [`one_argument`]).
unsafe extern "C" fn alignment_slot(_module: *mut ffi::PyObject, obj: *mut ffi::PyObject) -> *mut ffi::PyObject {
    // SAFETY: this function's own contract.
    match unsafe { measured_quickly(obj, |info| info.reported_align, |cdata, _| cdata.info().get().reported_align) } {
        // SAFETY: a new reference, or NULL with an exception set (returned as is).
        Some(n) => unsafe { ffi::PyLong_FromSize_t(n) },
        // SAFETY: this function's own contract.
        None => unsafe { alignment_general(obj) },
    }
}

/// [`alignment_slot`]'s cases other than the quick ones.
///
/// # Safety
/// CPython's `METH_O` contract (see [`one_argument`]).
#[cold]
#[inline(never)]
unsafe fn alignment_general(obj: *mut ffi::PyObject) -> *mut ffi::PyObject {
    // SAFETY: this function's own contract.
    peek::cdata_type(unsafe { Python::assume_attached() });
    // SAFETY: this function's own contract.
    unsafe { one_argument(obj, alignment) }
}

/// `addressof` as `METH_O`.
///
/// # Safety
/// CPython's `METH_O` contract (see [`one_argument`]).
unsafe extern "C" fn addressof_slot(_module: *mut ffi::PyObject, obj: *mut ffi::PyObject) -> *mut ffi::PyObject {
    // SAFETY: this function's own contract.
    unsafe { one_argument(obj, addressof) }
}

/// Adds `sizeof`, `alignment` and `addressof` to module `m` as `METH_O` functions,
/// with their signatures (positional-only, as in ctypes) and documentation.
pub fn add_one_argument_functions(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    let module_name = m.name()?;
    for def in &ONE_ARGUMENT_FUNCTIONS.0 {
        // SAFETY: a static definition of a METH_O function, which CPython only reads; the
        // module and its name are live objects. The result is a new reference or NULL
        // with an exception set.
        let function = unsafe { Bound::from_owned_ptr_or_err(py, ffi::PyCFunction_NewEx(std::ptr::from_ref(def).cast_mut(), m.as_ptr(), module_name.as_ptr())) }?;
        // SAFETY: ml_name is one of the static C strings below.
        let name = unsafe { CStr::from_ptr(def.ml_name) };
        m.add(name.to_str().map_err(|_| PyValueError::new_err("function name is not UTF-8"))?, function)?;
    }
    Ok(())
}

/// The definitions of the one-argument functions: CPython keeps a pointer to a
/// function's definition for the function's life, so they are static.
struct MethodDefs([ffi::PyMethodDef; 3]);

// SAFETY: the definitions are never written after they are made, and CPython only reads
// them, so sharing them between threads is sound.
unsafe impl Sync for MethodDefs {}

static ONE_ARGUMENT_FUNCTIONS: MethodDefs = MethodDefs([
    one_argument_function(c"sizeof", sizeof_slot, c"sizeof($module, obj, /)\n--\n\nThe size in bytes of a C data class or instance (an instance's after `resize`)."),
    one_argument_function(c"alignment", alignment_slot, c"alignment($module, obj, /)\n--\n\nThe alignment in bytes of a C data class or instance."),
    one_argument_function(c"addressof", addressof_slot, c"addressof($module, obj, /)\n--\n\nThe address of an instance's memory."),
]);

const fn one_argument_function(name: &'static CStr, meth: ffi::PyCFunction, doc: &'static CStr) -> ffi::PyMethodDef {
    ffi::PyMethodDef { ml_name: name.as_ptr(), ml_meth: ffi::PyMethodDefPointer { PyCFunction: meth }, ml_flags: ffi::METH_O, ml_doc: doc.as_ptr() }
}

/// `resize(instance, size)`: grows an instance's own memory.
#[pyfunction]
pub fn resize(obj: &Bound<'_, PyAny>, size: isize) -> PyResult<()> {
    let cdata = obj.cast::<CData>().map_err(|_| PyTypeError::new_err("expected a ctypes instance"))?;
    let size = usize::try_from(size).map_err(|_| PyValueError::new_err(format!("minimum size is {}", cdata.get().info().get().size)))?;
    cdata.get().resize(obj.py(), size)
}

/// `string_at(address, size=-1)`: the bytes at `address`, up to the NUL when `size`
/// is -1.
#[pyfunction]
#[pyo3(signature = (address, size = None))]
pub fn string_at<'py>(py: Python<'py>, address: &Bound<'py, PyAny>, size: Option<&Bound<'py, PyAny>>) -> PyResult<Bound<'py, PyBytes>> {
    let (p, _keep) = pointer_argument(address)?;
    let size = c_int_size(size)?;
    let p = not_null(p)? as *const u8;
    let n = match size {
        // SAFETY: the caller promises a NUL-terminated string at `p` (ctypes' contract).
        // A string in memory is shorter than isize::MAX bytes.
        -1 => isize::try_from(unsafe { libc::strlen(p.cast()) }).unwrap_or(isize::MAX),
        n => n as isize,
    };
    // SAFETY: `n` bytes are readable at `p`, by the caller's promise. CPython allocates
    // before copying, so an impossible size fails with MemoryError before any read, and
    // a negative one with SystemError (as in ctypes) before any read.
    unsafe { Bound::from_owned_ptr_or_err(py, pyo3::ffi::PyBytes_FromStringAndSize(p.cast(), n)) }.map(|b| {
        // SAFETY: PyBytes_FromStringAndSize returns a bytes object.
        unsafe { b.cast_into_unchecked() }
    })
}

/// `wstring_at(address, size=-1)`: the wide string at `address`.
#[pyfunction]
#[pyo3(signature = (address, size = None))]
pub fn wstring_at<'py>(py: Python<'py>, address: &Bound<'py, PyAny>, size: Option<&Bound<'py, PyAny>>) -> PyResult<Py<PyAny>> {
    let (p, _keep) = pointer_argument(address)?;
    let size = c_int_size(size)?;
    let p = not_null(p)? as *const libc::wchar_t;
    let n = match size {
        -1 => None,
        n if n < 0 => return Err(pyo3::exceptions::PySystemError::new_err("Negative size passed to PyUnicode_FromWideChar")),
        n => Some(n as usize),
    };
    // SAFETY: the caller promises `size` wide characters, or a NUL-terminated string.
    unsafe { scalar::wide_string_at(py, p, n) }
}

/// The `size` of `string_at`/`wstring_at`, read as ctypes reads it: a C `int`
/// (ctypes declares the helpers so), any Python int taken modulo 2**32, so that a size
/// beyond `int` reads what ctypes reads instead of far past the memory.
fn c_int_size(size: Option<&Bound<'_, PyAny>>) -> PyResult<i32> {
    let Some(size) = size else { return Ok(-1) };
    if !size.is_instance_of::<pyo3::types::PyInt>() {
        return Err(crate::support::errors::ArgumentError::new_err("argument 2: TypeError: wrong type"));
    }
    // Truncation is the point: C's conversion to int.
    Ok(scalar::mask_u64(size)? as u32 as i32)
}

/// An address given as an int or as something that converts to a pointer (NULL
/// included: see [`not_null`]). The second value keeps the memory alive (a `str`
/// converts to a temporary wide copy): hold it while reading.
fn pointer_argument(address: &Bound<'_, PyAny>) -> PyResult<(usize, Option<Py<PyAny>>)> {
    let (value, _) = address_argument(address)?;
    Ok((value.slot.word() as usize, value.keep))
}

/// `obj` converted as the first argument of a foreign function taking a `c_void_p`,
/// which ctypes' `cast`, `string_at` and `wstring_at` are: ints, None, bytes, str,
/// pointer-like instances (a number held in a simple instance, `c_int(5)`, is not an
/// address), a stdlib object as the ferrotypes object of its layout, and what an
/// `_as_parameter_` gives; else ctypes' ArgumentError in the running version's words.
/// Also the object that stands for `obj` (its twin for a stdlib one), whose
/// `_objects` a cast shares.
fn address_argument<'py>(obj: &Bound<'py, PyAny>) -> PyResult<(ArgValue, Bound<'py, PyAny>)> {
    use crate::call::argconv;
    let py = obj.py();
    if let Ok(value) = argconv::void_pointer_param(obj) {
        return Ok((value, obj.clone()));
    }
    if let Some(own) = twin_of_stdlib(obj)? {
        return address_argument(&own);
    }
    if let Some(freed) = CData::freed_error(obj) {
        return Err(crate::support::errors::ArgumentError::new_err(format!("argument 1: ValueError: {}", freed.value(py))));
    }
    match argconv::as_parameter(obj)? {
        // What stands for `obj` is still `obj` (ctypes' cast keeps the object given).
        Some(inner) => argconv::with_recursion_guard(py, || address_argument(&inner)).map(|(value, _)| (value, obj.clone())),
        None => Err(crate::support::errors::ArgumentError::new_err(format!(
            "argument 1: TypeError: {}",
            argconv::wrong_type(ferrotypes_core::ctype::ScalarKind::VoidPtr, obj).value(py)
        ))),
    }
}

/// The ferrotypes object standing for a stdlib object passed where an address is read
/// (`cast`, `string_at`): None for anything else; an `ArgumentError` (argument 1) when
/// its class has no ferrotypes equivalent.
fn twin_of_stdlib<'py>(obj: &Bound<'py, PyAny>) -> PyResult<Option<Bound<'py, PyAny>>> {
    if obj.is_instance_of::<CData>() {
        return Ok(None);
    }
    stdlib_ctypes::twin(obj).map_err(|e| crate::support::errors::ArgumentError::new_err(format!("argument 1: TypeError: {}", e.value(obj.py()))))
}

/// `address`, or `ValueError` for NULL, which is refused rather than read (ctypes
/// reads it, and crashes). Checked after every argument is converted, as ctypes
/// converts them all before its C call.
fn not_null(address: usize) -> PyResult<usize> {
    if address == 0 {
        return Err(PyValueError::new_err("NULL pointer access"));
    }
    Ok(address)
}

/// The address of libc's `memmove`, wrapped by the Python layer as `memmove`.
pub fn memmove_address() -> usize {
    libc::memmove as *const () as usize
}

/// The address of libc's `memset`, wrapped by the Python layer as `memset`.
pub fn memset_address() -> usize {
    libc::memset as *const () as usize
}

/// An `int` address, read as ctypes reads it ([`scalar::address_from_int`]).
#[inline(always)]
fn address_value(address: &Bound<'_, PyAny>) -> PyResult<usize> {
    if !address.is_instance_of::<pyo3::types::PyInt>() {
        return Err(PyTypeError::new_err("integer expected"));
    }
    scalar::address_from_int(address)
}

/// `cls.from_address(address)` as CPython calls a `METH_O` method of the metaclasses
/// (installed by [`_add_class_methods`], as ctypes defines it: no Python frame, no
/// PyO3 argument parsing), raising ctypes' `ctypes.cdata` audit event with the
/// address before making the instance.
///
/// # Safety
/// CPython's `METH_O` contract for a method descriptor of `_CDataMeta`: the GIL held,
/// `cls` an instance of it (a class; the descriptor checked), `address` a live object,
/// both lent for the call.
unsafe extern "C" fn from_address_entry(cls: *mut ffi::PyObject, address: *mut ffi::PyObject) -> *mut ffi::PyObject {
    // SAFETY: CPython calls methods with the GIL held. The token is not registered
    // with PyO3's attach count: the instance made is returned, and the references
    // it keeps are made, not dropped (see data::slots).
    let py = unsafe { Python::assume_attached() };
    slots::guard(py, slots::NULL, || {
        // SAFETY: `cls` is an instance of a metaclass (a subclass of `type`), as the
        // descriptor checked; both are live objects lent for the call.
        let (cls, address) = unsafe { (Borrowed::from_ptr(py, cls).cast_unchecked::<PyType>(), Borrowed::from_ptr(py, address)) };
        from_address(&cls, &address)
    })
}

/// `from_address` on 3.13 and later, where ctypes' Argument Clinic words the
/// argument errors (`METH_FASTCALL | METH_KEYWORDS`; see [`positional_only`]).
///
/// # Safety
/// As for [`from_buffer_entry`].
unsafe extern "C" fn from_address_clinic_entry(cls: *mut ffi::PyObject, args: *const *mut ffi::PyObject, nargs: ffi::Py_ssize_t, kwnames: *mut ffi::PyObject) -> *mut ffi::PyObject {
    // SAFETY: as in from_address_entry.
    let py = unsafe { Python::assume_attached() };
    slots::guard(py, slots::NULL, || {
        // SAFETY: the arguments as CPython passed them (this function's contract).
        let args = unsafe { positional_only(py, "from_address", args, nargs, kwnames, 1, 1) }?;
        let [address] = args else { return Err(PyTypeError::new_err("from_address() takes exactly 1 argument")) };
        // SAFETY: as in from_address_entry.
        let (cls, address) = unsafe { (Borrowed::from_ptr(py, cls).cast_unchecked::<PyType>(), Borrowed::from_ptr(py, *address)) };
        from_address(&cls, &address)
    })
}

/// The work of `from_address`: the address read, ctypes' audit event, the view.
#[inline(always)]
fn from_address(cls: &Borrowed<'_, '_, PyType>, address: &Borrowed<'_, '_, PyAny>) -> PyResult<*mut ffi::PyObject> {
    let address = address_value(address)?;
    audit_address(cls.py(), address)?;
    if address == 0 {
        return Err(PyValueError::new_err("NULL pointer access"));
    }
    Ok(crate::data::instances::instance_at(cls, address, None, 0)?.into_ptr())
}

static FROM_ADDRESS: slots::StaticMethodDef = slots::StaticMethodDef(ffi::PyMethodDef {
    ml_name: c"from_address".as_ptr(),
    ml_meth: ffi::PyMethodDefPointer { PyCFunction: from_address_entry },
    ml_flags: ffi::METH_O,
    ml_doc: c"from_address($cls, address, /)\n--\n\nAn instance viewing the memory at `address` (which must stay valid).".as_ptr(),
});

static FROM_ADDRESS_CLINIC: slots::StaticMethodDef = slots::StaticMethodDef(ffi::PyMethodDef {
    ml_name: c"from_address".as_ptr(),
    ml_meth: ffi::PyMethodDefPointer { PyCFunctionFastWithKeywords: from_address_clinic_entry },
    ml_flags: ffi::METH_FASTCALL | ffi::METH_KEYWORDS,
    ml_doc: FROM_ADDRESS.0.ml_doc,
});

/// Gives `meta`, a C data metaclass (`_CDataMeta` or one derived from it), the methods
/// written in Rust (`from_address`, `from_buffer`, `from_buffer_copy`), as method descriptors in its dict, which its
/// subclasses inherit (called by `_metatypes.build_base_classes` for each of its own).
#[pyfunction]
pub fn _add_class_methods(meta: &Bound<'_, PyType>) -> PyResult<()> {
    let py = meta.py();
    let from_address = if python::python_at_least(py, (3, 13)) { &FROM_ADDRESS_CLINIC } else { &FROM_ADDRESS };
    for def in [from_address, &FROM_BUFFER, &FROM_BUFFER_COPY] {
        // SAFETY: a live type and a static definition (see StaticMethodDef); the
        // result is a new reference or NULL with an exception set.
        let method = unsafe { Bound::from_owned_ptr_or_err(py, ffi::PyDescr_NewMethod(meta.as_type_ptr(), std::ptr::from_ref(&def.0).cast_mut())) }?;
        // Set in the dict (the class may already refuse new attributes), then the
        // attribute caches told.
        // SAFETY: a live heap type's own dict, written with the GIL held.
        unsafe {
            if ffi::PyDict_SetItemString((*meta.as_type_ptr()).tp_dict, def.0.ml_name, method.as_ptr()) != 0 {
                return Err(PyErr::fetch(py));
            }
        }
    }
    // SAFETY: a live type, with the GIL held.
    unsafe { ffi::PyType_Modified(meta.as_type_ptr()) };
    Ok(())
}

/// `cls.from_buffer_copy(source, offset=0)`: a new instance holding a copy of
/// `sizeof(cls)` bytes of any object with the buffer protocol (made as ctypes makes
/// it, without calling the class), after ctypes' `ctypes.cdata/buffer` audit event.
fn from_buffer_copy<'py>(cls: &Bound<'py, PyType>, info: Bound<'py, TypeInfo>, source: &Bound<'py, PyAny>, offset: Option<&Bound<'py, PyAny>>) -> PyResult<Bound<'py, PyAny>> {
    let size = info.get().size;
    // In ctypes' order: the buffer, then the offset's type and range, then its sign.
    let view = crate::support::buffer::ReadView::new(source)?;
    let offset = offset.map_or(Ok(0), ssize_argument)?;
    let offset = usize::try_from(offset).map_err(|_| PyValueError::new_err("offset cannot be negative"))?;
    check_buffer_room(view.len(), size, offset)?;
    audit_buffer(cls.py(), view.as_ptr() as usize, view.len(), offset)?;
    // As ctypes: made without calling the class, so no `__new__` or `__init__` of its
    // own runs.
    let obj = crate::data::instances::instance(cls, crate::data::instances::Contents::Owned(info.unbind()))?;
    // SAFETY: every instance a family's maker makes is C data.
    let cdata = unsafe { obj.cast_unchecked::<CData>() }.get();
    // SAFETY: the view holds at least offset+size readable bytes; the new instance
    // owns at least `size` bytes; they are distinct allocations.
    unsafe { std::ptr::copy_nonoverlapping(view.as_ptr().add(offset), cdata.live_address(obj.py())?, size) };
    Ok(obj)
}

/// The info of `cls` for a class method: ctypes' "abstract class" when it has none.
fn abstract_or_info<'py>(cls: &Bound<'py, PyType>) -> PyResult<Bound<'py, TypeInfo>> {
    crate::types::typeinfo::info_of_class(cls).ok_or_else(|| PyTypeError::new_err("abstract class"))
}

/// An offset argument as ctypes' `n` format reads it: any object with `__index__`,
/// `OverflowError` past `Py_ssize_t` (with `PyLong_AsSsize_t`'s message).
fn ssize_argument(value: &Bound<'_, PyAny>) -> PyResult<isize> {
    let py = value.py();
    // SAFETY: a live object; the result is a new reference or NULL with an exception set.
    let index = unsafe { Bound::from_owned_ptr_or_err(py, ffi::PyNumber_Index(value.as_ptr())) }?;
    // SAFETY: an int; the result is -1 with an exception set on error.
    let n = unsafe { ffi::PyLong_AsSsize_t(index.as_ptr()) };
    if n == -1 {
        if let Some(err) = PyErr::take(py) {
            return Err(err);
        }
    }
    Ok(n)
}

/// ctypes' `ctypes.cdata/buffer` audit event: the buffer's address and length, and
/// the offset asked for.
fn audit_buffer(py: Python<'_>, address: usize, len: usize, offset: usize) -> PyResult<()> {
    // SAFETY: a NUL-terminated event name and the format of three Py_ssize_t, given
    // three (the address's bits, as ctypes passes its pointer).
    if unsafe { python::PySys_Audit(c"ctypes.cdata/buffer".as_ptr(), c"nnn".as_ptr(), address as ffi::Py_ssize_t, len as ffi::Py_ssize_t, offset as ffi::Py_ssize_t) } < 0 {
        return Err(PyErr::fetch(py));
    }
    Ok(())
}

/// ctypes' `ctypes.cdata` audit event, raised by every instance made at an address.
fn audit_address(py: Python<'_>, address: usize) -> PyResult<()> {
    // SAFETY: a NUL-terminated event name and the format of one Py_ssize_t, given
    // one (the address's bits, as ctypes passes its pointer).
    if unsafe { python::PySys_Audit(c"ctypes.cdata".as_ptr(), c"n".as_ptr(), address as ffi::Py_ssize_t) } < 0 {
        return Err(PyErr::fetch(py));
    }
    Ok(())
}

/// `ValueError` unless a buffer of `available` bytes holds `size` bytes at `offset`
/// (ctypes' "Buffer size too small"): the one check of `from_buffer` and
/// `from_buffer_copy`, for buffers and for C data sources. Both numbers come from
/// Python, so a sum past any memory is the same error, not a wrapped number.
fn check_buffer_room(available: usize, size: usize, offset: usize) -> PyResult<()> {
    let needed = size.checked_add(offset).ok_or_else(|| PyValueError::new_err(format!("Buffer size too small (offset {offset} past any memory)")))?;
    if available < needed {
        return Err(PyValueError::new_err(format!("Buffer size too small ({available} instead of at least {needed} bytes)")));
    }
    Ok(())
}

/// `cls.from_buffer(source, offset=0)`: an instance sharing the memory of a writable
/// buffer, after ctypes' audit events (`ctypes.cdata/buffer`, then `ctypes.cdata`).
/// The instance keeps a memoryview of `source` as its `_b_base_` and in `_objects`
/// (slot -1, as ctypes), which holds the export (and so the memory, and a
/// `bytearray`'s size) for as long as the instance lives. A ferrotypes instance as
/// `source` is viewed directly, its `_b_base_` (so revocable with it).
fn from_buffer<'py>(cls: &Bound<'py, PyType>, info: &TypeInfo, source: &Bound<'py, PyAny>, offset: Option<&Bound<'py, PyAny>>) -> PyResult<Bound<'py, PyAny>> {
    let py = cls.py();
    let size = info.size;
    let offset = offset.map_or(Ok(0), ssize_argument)?;
    if let Ok(data) = source.cast::<CData>() {
        let offset = usize::try_from(offset).map_err(|_| PyValueError::new_err("offset cannot be negative"))?;
        let available = data.get().size(py);
        check_buffer_room(available, size, offset)?;
        let start = data.get().live_address(py)? as usize;
        audit_buffer(py, start, available, offset)?;
        // In bounds: offset + size <= the source's size (checked above).
        let address = start.wrapping_add(offset);
        audit_address(py, address)?;
        return crate::data::instances::view_in(cls, address, data, 0);
    }
    // SAFETY: source is a live object; the result is a new reference or NULL with an
    // exception set.
    let view = unsafe { Bound::from_owned_ptr_or_err(py, ffi::PyMemoryView_FromObject(source.as_ptr())) }?;
    // The memoryview holds its own export of `source`, so the address read through this
    // short-lived second view stays valid for as long as the memoryview lives.
    let buffer = crate::support::buffer::ReadView::strided(&view)?;
    if buffer.readonly() {
        return Err(PyTypeError::new_err("underlying buffer is not writable"));
    }
    if !buffer.is_contiguous(b'C') {
        return Err(PyTypeError::new_err("underlying buffer is not C contiguous"));
    }
    let offset = usize::try_from(offset).map_err(|_| PyValueError::new_err("offset cannot be negative"))?;
    check_buffer_room(buffer.len(), size, offset)?;
    audit_buffer(py, buffer.as_ptr() as usize, buffer.len(), offset)?;
    // SAFETY: offset + size <= the buffer's length (checked above): in bounds.
    let address = unsafe { buffer.as_ptr().add(offset) } as usize;
    drop(buffer);
    audit_address(py, address)?;
    let instance = crate::data::instances::instance_at(cls, address, Some(view.clone().unbind()), 0)?;
    // ctypes lists the view in `_objects` too (slot -1, as a 32-bit key).
    keepalive::keep_ref(instance.cast::<CData>()?, 0xffff_ffff, Some(view.into_any().unbind()))?;
    Ok(instance)
}

/// The positional arguments of a class method taking `min..=max` of them and no
/// keywords (`from_buffer(source, offset=0, /)`), refused with the messages of the
/// running version's ctypes: before 3.13 `PyArg_ParseTuple`'s (keywords first), from
/// 3.13 Argument Clinic's (the positional count, then the total, then keywords).
///
/// # Safety
/// CPython's `METH_FASTCALL | METH_KEYWORDS` contract: `args` holds `nargs` live
/// objects followed by one per name in `kwnames` (a tuple of `str`, or NULL), lent
/// for the call (`'a`).
#[allow(clippy::arithmetic_side_effects)] // counts of a call's arguments, far below isize::MAX
unsafe fn positional_only<'a>(py: Python<'_>, name: &str, args: *const *mut ffi::PyObject, nargs: ffi::Py_ssize_t, kwnames: *mut ffi::PyObject, min: isize, max: isize) -> PyResult<&'a [*mut ffi::PyObject]> {
    // SAFETY: a tuple of names when not NULL (the caller's promise).
    let keywords = if kwnames.is_null() { 0 } else { unsafe { ffi::PyTuple_GET_SIZE(kwnames) } };
    let plural = |n: isize| if n == 1 { "" } else { "s" };
    if python::python_at_least(py, (3, 13)) {
        if nargs < min {
            let how = if min == max { "exactly" } else { "at least" };
            return Err(PyTypeError::new_err(format!("{name}() takes {how} {min} positional argument{} ({nargs} given)", plural(min))));
        }
        if nargs + keywords > max {
            return Err(PyTypeError::new_err(format!("{name}() takes at most {max} argument{} ({} given)", plural(max), nargs + keywords)));
        }
        if keywords > 0 {
            // SAFETY: a non-empty tuple of `str` (the caller's promise).
            let first = unsafe { Borrowed::from_ptr(py, ffi::PyTuple_GET_ITEM(kwnames, 0)) }.str()?;
            return Err(PyTypeError::new_err(format!("{name}() got an unexpected keyword argument '{first}'")));
        }
    } else {
        if keywords > 0 {
            return Err(PyTypeError::new_err(format!("{name}() takes no keyword arguments")));
        }
        if nargs < min {
            return Err(PyTypeError::new_err(format!("{name}() takes at least {min} argument{} ({nargs} given)", plural(min))));
        }
        if nargs > max {
            return Err(PyTypeError::new_err(format!("{name}() takes at most {max} argument{} ({nargs} given)", plural(max))));
        }
    }
    // SAFETY: `args` holds `nargs` (>= min >= 1) live objects (the caller's promise).
    Ok(unsafe { std::slice::from_raw_parts(args, nargs as usize) })
}

/// What `from_buffer` and `from_buffer_copy` work with: the class's info, `source`
/// and `offset` (when given).
type BufferArguments<'a, 'py> = (Bound<'py, TypeInfo>, Borrowed<'a, 'py, PyAny>, Option<Borrowed<'a, 'py, PyAny>>);

/// The info of `cls`, and `source` and `offset` of `from_buffer`/`from_buffer_copy`, checked after the class
/// as the running version's ctypes checks them: before 3.13 an abstract class is
/// refused first, from 3.13 the arguments are.
///
/// # Safety
/// As for [`positional_only`].
unsafe fn source_and_offset<'a, 'py>(cls: &Borrowed<'_, 'py, PyType>, name: &str, args: *const *mut ffi::PyObject, nargs: ffi::Py_ssize_t, kwnames: *mut ffi::PyObject) -> PyResult<BufferArguments<'a, 'py>> {
    // SAFETY: a tuple of names when not NULL (the caller's promise).
    let keywords = !kwnames.is_null() && unsafe { ffi::PyTuple_GET_SIZE(kwnames) } > 0;
    if keywords || !(1..=2).contains(&nargs) {
        // SAFETY: the caller's promise.
        return Err(unsafe { argument_error(cls, name, args, nargs, kwnames) });
    }
    let info = abstract_or_info(cls)?;
    // SAFETY: `args` holds `nargs` (1 or 2) live objects lent for the call (the
    // caller's promise).
    let arg = |i: usize| unsafe { Borrowed::from_ptr(cls.py(), *args.add(i)) };
    Ok((info, arg(0), (nargs == 2).then(|| arg(1))))
}

/// The error of a `from_buffer`/`from_buffer_copy` call whose arguments do not fit,
/// in the order the running version's ctypes checks them.
///
/// # Safety
/// As for [`positional_only`].
#[cold]
unsafe fn argument_error(cls: &Borrowed<'_, '_, PyType>, name: &str, args: *const *mut ffi::PyObject, nargs: ffi::Py_ssize_t, kwnames: *mut ffi::PyObject) -> PyErr {
    let py = cls.py();
    if !python::python_at_least(py, (3, 13)) {
        if let Err(abstract_class) = abstract_or_info(cls) {
            return abstract_class;
        }
    }
    // SAFETY: the caller's promise.
    match unsafe { positional_only(py, name, args, nargs, kwnames, 1, 2) } {
        Err(err) => err,
        Ok(args) => PyTypeError::new_err(format!("{name}() takes 1 or 2 positional arguments ({} given)", args.len())),
    }
}

/// `cls.from_buffer(source, offset=0)` as CPython calls a `METH_FASTCALL |
/// METH_KEYWORDS` method of the metaclasses (installed by [`_add_class_methods`]).
///
/// # Safety
/// CPython's contract for such a method descriptor of `_CDataMeta`: the GIL held,
/// `cls` an instance of it (a class; the descriptor checked), `args` holding `nargs`
/// live objects and one per name of `kwnames` (a tuple or NULL), all lent.
unsafe extern "C" fn from_buffer_entry(cls: *mut ffi::PyObject, args: *const *mut ffi::PyObject, nargs: ffi::Py_ssize_t, kwnames: *mut ffi::PyObject) -> *mut ffi::PyObject {
    // SAFETY: CPython calls methods with the GIL held; the token is not registered
    // with PyO3's attach count (see from_address_entry).
    let py = unsafe { Python::assume_attached() };
    slots::guard(py, slots::NULL, || {
        // SAFETY: `cls` is a class (the descriptor checked it is a metaclass instance).
        let cls = unsafe { Borrowed::from_ptr(py, cls).cast_unchecked::<PyType>() };
        // SAFETY: the arguments as CPython passed them (this function's contract).
        let (info, source, offset) = unsafe { source_and_offset(&cls, "from_buffer", args, nargs, kwnames) }?;
        Ok(from_buffer(&cls, info.get(), &source, offset.as_deref())?.into_ptr())
    })
}

/// `cls.from_buffer_copy(source, offset=0)`, as [`from_buffer_entry`] for `from_buffer`.
///
/// # Safety
/// As for [`from_buffer_entry`].
unsafe extern "C" fn from_buffer_copy_entry(cls: *mut ffi::PyObject, args: *const *mut ffi::PyObject, nargs: ffi::Py_ssize_t, kwnames: *mut ffi::PyObject) -> *mut ffi::PyObject {
    // SAFETY: as in from_buffer_entry.
    let py = unsafe { Python::assume_attached() };
    slots::guard(py, slots::NULL, || {
        // SAFETY: `cls` is a class (the descriptor checked it is a metaclass instance).
        let cls = unsafe { Borrowed::from_ptr(py, cls).cast_unchecked::<PyType>() };
        // SAFETY: the arguments as CPython passed them (this function's contract).
        let (info, source, offset) = unsafe { source_and_offset(&cls, "from_buffer_copy", args, nargs, kwnames) }?;
        Ok(from_buffer_copy(&cls, info, &source, offset.as_deref())?.into_ptr())
    })
}

/// `from_buffer` for the Python layer (`_stdlib_ctypes` viewing a stdlib object's
/// memory), whatever the class's metaclass defines.
#[pyfunction]
pub fn _from_buffer<'py>(cls: &Bound<'py, PyType>, source: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    from_buffer(cls, abstract_or_info(cls)?.get(), source, None)
}

static FROM_BUFFER: slots::StaticMethodDef = slots::StaticMethodDef(ffi::PyMethodDef {
    ml_name: c"from_buffer".as_ptr(),
    ml_meth: ffi::PyMethodDefPointer { PyCFunctionFastWithKeywords: from_buffer_entry },
    ml_flags: ffi::METH_FASTCALL | ffi::METH_KEYWORDS,
    ml_doc: c"from_buffer($cls, source, offset=0, /)\n--\n\nAn instance sharing the memory of the writable buffer `source`, from `offset`.".as_ptr(),
});

static FROM_BUFFER_COPY: slots::StaticMethodDef = slots::StaticMethodDef(ffi::PyMethodDef {
    ml_name: c"from_buffer_copy".as_ptr(),
    ml_meth: ffi::PyMethodDefPointer { PyCFunctionFastWithKeywords: from_buffer_copy_entry },
    ml_flags: ffi::METH_FASTCALL | ffi::METH_KEYWORDS,
    ml_doc: c"from_buffer_copy($cls, source, offset=0, /)\n--\n\nA new instance holding a copy of the instance's size in bytes of `source`, from `offset`.".as_ptr(),
});

/// `cast(obj, typ)`: an instance of the pointer type `typ` holding the address `obj`
/// converts to (as a `c_void_p` argument would). When `obj` is C data, the result
/// shares its `_objects` and keeps `obj` itself alive in them, as in ctypes.
#[pyfunction]
pub fn cast<'py>(obj: &Bound<'py, PyAny>, typ: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    use ferrotypes_core::ctype::ScalarKind::{CharPtr, ObjectPtr, VoidPtr, WCharPtr};
    use crate::types::typeinfo::InfoKind;
    let py = obj.py();
    // `obj` is converted first, as ctypes' `cast` (a foreign function taking it as a
    // `c_void_p`) does, so a bad `obj` is an ArgumentError whatever `typ` is. A stdlib
    // object is cast as ferrotypes' own of its layout, which keeps it.
    let (value, source) = address_argument(obj)?;
    // ctypes' `cast` passes `typ` as a `py_object` parameter, which takes a `py_object`
    // instance as the object it holds: that is cast to.
    let held = held_by_py_object(typ)?;
    let typ = held.as_ref().unwrap_or(typ);
    let pointer_like = typ.is_instance_of::<PyType>() && info_of(typ).is_ok_and(|info| {
        let info = info.get();
        matches!(info.kind, InfoKind::Pointer { .. } | InfoKind::Function { .. }) || matches!(info.scalar(), Some((CharPtr | WCharPtr | VoidPtr | ObjectPtr, false)))
    });
    if !pointer_like {
        return Err(not_a_pointer_type(typ));
    }
    let address = value.slot.word();
    let result = typ.call0()?;
    let target = result.cast::<CData>()?;
    // SAFETY: an instance of a pointer-like type holds one pointer.
    unsafe { target.get().live_address(py)?.cast::<u64>().write_unaligned(address) };
    if let Ok(source) = source.cast::<CData>() {
        keepalive::share_objects(source, target)?;
    }
    Ok(result)
}

/// The object a `py_object` instance holds (None for anything else, and for an empty one).
fn held_by_py_object<'py>(value: &Bound<'py, PyAny>) -> PyResult<Option<Bound<'py, PyAny>>> {
    use ferrotypes_core::ctype::ScalarKind::ObjectPtr;
    let is_py_object = value.cast::<CData>().is_ok_and(|d| matches!(d.get().info().get().scalar(), Some((ObjectPtr, _))));
    if !is_py_object {
        return Ok(None);
    }
    Ok(value.getattr(pyo3::intern!(value.py(), "value")).ok())
}

/// `cast`'s refusal of `typ`, naming it (a class by its name, anything else by its
/// type's) as ctypes does; 3.13 names only what its `_ctypes` module made (its
/// classes and their instances, a `byref`), as here what ferrotypes' module made.
fn not_a_pointer_type(typ: &Bound<'_, PyAny>) -> PyErr {
    let ours = typ.is_instance_of::<CData>() || typ.is_instance_of::<crate::call::value::CArgObject>() || typ.cast::<PyType>().is_ok_and(|t| t.is_subclass_of::<CData>().unwrap_or(false));
    if python::python_at_least(typ.py(), (3, 13)) && !ours {
        return PyTypeError::new_err("cast() argument 2 must be a pointer type");
    }
    let name = match typ.cast::<PyType>() {
        Ok(class) => scalar::type_name_of_class(class),
        Err(_) => scalar::type_name(typ),
    };
    PyTypeError::new_err(format!("cast() argument 2 must be a pointer type, not {name}"))
}

/// `PyObj_FromPtr(address)`: the Python object at `address` (a new reference to it),
/// as ctypes' `_ctypes.PyObj_FromPtr`. The address must be that of a live object (as
/// `id()` gives); nothing can check that.
#[pyfunction]
#[pyo3(name = "PyObj_FromPtr")]
pub fn py_obj_from_ptr(py: Python<'_>, address: usize) -> PyResult<Py<PyAny>> {
    if address == 0 {
        return Err(pyo3::exceptions::PyValueError::new_err("PyObj_FromPtr: the address is NULL"));
    }
    // SAFETY: the caller promises `address` is a live object (ctypes makes the same
    // promise its users' job); a new reference is taken.
    Ok(unsafe { Bound::from_borrowed_ptr(py, address as *mut pyo3::ffi::PyObject) }.unbind())
}
