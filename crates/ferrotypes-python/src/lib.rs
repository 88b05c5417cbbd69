//! `ferrotypes._ctypes`: the extension module under `ferrotypes`, mirroring the
//! stdlib's `_ctypes`. It holds the C data base classes, foreign functions, argument
//! conversion and the module-level functions; the metaclasses and the public
//! base classes built with them (`_SimpleCData`, `CFuncPtr`, ...) come from the pure
//! Python `ferrotypes._metatypes`, which this module calls once at import.

use pyo3::prelude::*;
use pyo3::types::PyType;

mod call;
mod callback;
mod data;
mod function;
mod module;
mod support;
mod types;

use call::{argconv, ndpointer};
use callback::thunk as callback_thunk;
use data::families::{array, array_types, field, pointer, pointer_types, record, simple};
use data::{cdata, instances, pickle, registry, slots};
use function::funcptr;
use module::{cdecl, memory};
use support::errors::{ArgumentError, CTYPES_MAX_ARGCOUNT};
use support::{cpython_layout, errno, library};
use types::typeinfo;

/// The simple types' `from_param`: the instance itself, or a `CArgObject` holding the
/// converted value.
#[pyfunction]
fn _simple_from_param(cls: &Bound<'_, PyType>, value: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
    if value.is_instance(cls.as_any())? {
        return Ok(value.clone().unbind());
    }
    let info = typeinfo::info_of(cls.as_any())?;
    let Some((kind, _)) = info.get().scalar() else {
        return Err(pyo3::exceptions::PyTypeError::new_err("from_param of a non-simple type"));
    };
    if value.is_none() && kind.is_pointer() {
        return Ok(value.clone().unbind()); // NULL passes through unchanged, as in ctypes
    }
    let converted = argconv::simple_param(cls, kind, value)?;
    Ok(Py::new(cls.py(), argconv::CArgObject::new(kind.code(), converted))?.into_any())
}

/// Records the metaclasses' own `from_param` functions (the simple types', the
/// pointer types', and the other C data types'), so argtypes that keep them convert
/// without calling into Python.
#[pyfunction]
fn _set_default_from_param(py: Python<'_>, simple: Py<PyAny>, pointer: Py<PyAny>, cdata: Py<PyAny>) -> PyResult<()> {
    argconv::DEFAULT_FROM_PARAMS
        .set(py, argconv::DefaultFromParams { simple, pointer, cdata })
        .map_err(|_| pyo3::exceptions::PyRuntimeError::new_err("default from_param already set"))
}

#[pymodule]
fn _ctypes(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add_class::<cdata::CData>()?;
    // Each family's class is named `_CData`, the name ctypes shows for the base of its
    // public classes (`Structure.__base__`), which CPython's own suite checks; the
    // module knows them by family.
    m.add("_SimpleData", py.get_type::<simple::SimpleData>())?;
    m.add("_FuncPtrData", py.get_type::<funcptr::FuncPtr>())?;
    m.add("_ArrayData", py.get_type::<array::ArrayData>())?;
    m.add("_PointerData", py.get_type::<pointer::PointerData>())?;
    m.add("_RecordData", py.get_type::<record::RecordData>())?;
    m.add_class::<field::CField>()?;
    m.add_class::<argconv::CArgObject>()?;
    m.add_class::<typeinfo::TypeInfo>()?;
    m.add_class::<array_types::CharArrayBytes>()?;
    m.add("ArgumentError", py.get_type::<ArgumentError>())?;
    cdecl::register(m)?;
    m.add_function(wrap_pyfunction!(typeinfo::simple_info, m)?)?;
    m.add_function(wrap_pyfunction!(typeinfo::pointer_info, m)?)?;
    m.add_function(wrap_pyfunction!(typeinfo::function_info, m)?)?;
    m.add_function(wrap_pyfunction!(typeinfo::array_info, m)?)?;
    m.add_function(wrap_pyfunction!(record::record_info, m)?)?;
    m.add_function(wrap_pyfunction!(field::anonymous_field, m)?)?;
    m.add_function(wrap_pyfunction!(set_pointer_type, m)?)?;
    m.add_function(wrap_pyfunction!(argconv::byref, m)?)?;
    m.add_function(wrap_pyfunction!(pickle::_unpickle, m)?)?;
    m.add_function(wrap_pyfunction!(memory::sizeof, m)?)?;
    m.add_function(wrap_pyfunction!(memory::alignment, m)?)?;
    m.add_function(wrap_pyfunction!(memory::addressof, m)?)?;
    m.add_function(wrap_pyfunction!(memory::resize, m)?)?;
    m.add_function(wrap_pyfunction!(memory::_instance_at, m)?)?;
    m.add_function(wrap_pyfunction!(instances::_direct_allocation, m)?)?;
    m.add_function(wrap_pyfunction!(memory::_from_buffer_copy, m)?)?;
    m.add_function(wrap_pyfunction!(memory::_from_buffer, m)?)?;
    m.add_function(wrap_pyfunction!(memory::string_at, m)?)?;
    m.add_function(wrap_pyfunction!(memory::cast, m)?)?;
    m.add_function(wrap_pyfunction!(memory::wstring_at, m)?)?;
    m.add_function(wrap_pyfunction!(errno::get_errno, m)?)?;
    m.add_function(wrap_pyfunction!(errno::set_errno, m)?)?;
    m.add_function(wrap_pyfunction!(library::dlopen, m)?)?;
    m.add_function(wrap_pyfunction!(library::dlsym, m)?)?;
    m.add_function(wrap_pyfunction!(library::dlclose, m)?)?;
    m.add_function(wrap_pyfunction!(funcptr::_enable_vectorcall, m)?)?;
    m.add_function(wrap_pyfunction!(registry::_enable_fast_slots, m)?)?;
    m.add_function(wrap_pyfunction!(slots::_make_immutable, m)?)?;
    m.add_function(wrap_pyfunction!(registry::_constructed_directly, m)?)?;
    m.add_function(wrap_pyfunction!(array_types::array_type, m)?)?;
    m.add_function(wrap_pyfunction!(pointer_types::pointer, m)?)?;
    m.add_function(wrap_pyfunction!(pointer_types::_set_pointer_types, m)?)?;
    m.add_function(wrap_pyfunction!(array_types::_set_array_type_builder, m)?)?;
    m.add_function(wrap_pyfunction!(array_types::_set_char_types, m)?)?;
    m.add_function(wrap_pyfunction!(array_types::create_string_buffer, m)?)?;
    m.add_function(wrap_pyfunction!(array_types::create_unicode_buffer, m)?)?;
    m.add_function(wrap_pyfunction!(_simple_from_param, m)?)?;
    m.add_function(wrap_pyfunction!(callback_thunk::_released_callbacks, m)?)?;
    m.add_function(wrap_pyfunction!(cpython_layout::_layout_paths, m)?)?;
    m.add_function(wrap_pyfunction!(py_obj_from_ptr, m)?)?;
    m.add_function(wrap_pyfunction!(_set_default_from_param, m)?)?;
    m.add_function(wrap_pyfunction!(ndpointer::_register_ndpointer, m)?)?;
    m.add("_memmove_addr", memory::memmove_address())?;
    m.add("_memset_addr", memory::memset_address())?;
    m.add("FUNCFLAG_CDECL", funcptr::FUNCFLAG_CDECL)?;
    m.add("FUNCFLAG_HRESULT", funcptr::FUNCFLAG_HRESULT)?;
    m.add("FUNCFLAG_PYTHONAPI", funcptr::FUNCFLAG_PYTHONAPI)?;
    m.add("FUNCFLAG_USE_ERRNO", funcptr::FUNCFLAG_USE_ERRNO)?;
    m.add("FUNCFLAG_USE_LASTERROR", funcptr::FUNCFLAG_USE_LAST_ERROR)?;
    m.add("RTLD_LOCAL", ferrotypes_core::library::RTLD_LOCAL)?;
    m.add("RTLD_GLOBAL", ferrotypes_core::library::RTLD_GLOBAL)?;
    m.add("CTYPES_MAX_ARGCOUNT", CTYPES_MAX_ARGCOUNT)?;
    if py.version_info() >= (3, 12) {
        // Added to ctypes in 3.12, with `c_time_t`.
        m.add("SIZEOF_TIME_T", std::mem::size_of::<libc::time_t>())?;
    }
    m.add("__version__", "1.1.0")?;
    funcptr::init_vectorcall(py)?;
    // Each family registers what its classes need, before any class exists.
    simple::register(py)?;
    array::register(py)?;
    pointer::register(py)?;
    record::register(py)?;
    function::family::register();
    funcptr::init_int_layout(py)?;
    py.import("ferrotypes._metatypes")?.call_method1("build_base_classes", (m,))?;
    Ok(())
}

/// `PyObj_FromPtr(address)`: the Python object at `address` (a new reference to it),
/// as ctypes' `_ctypes.PyObj_FromPtr`. The address must be that of a live object (as
/// `id()` gives); nothing can check that.
#[pyfunction]
#[pyo3(name = "PyObj_FromPtr")]
fn py_obj_from_ptr(py: Python<'_>, address: usize) -> PyResult<Py<PyAny>> {
    if address == 0 {
        return Err(pyo3::exceptions::PyValueError::new_err("PyObj_FromPtr: the address is NULL"));
    }
    // SAFETY: the caller promises `address` is a live object (ctypes makes the same
    // promise its users' job); a new reference is taken.
    Ok(unsafe { Bound::from_borrowed_ptr(py, address as *mut pyo3::ffi::PyObject) }.unbind())
}

/// Completes a pointer type created before its target (`SetPointerType`).
#[pyfunction]
fn set_pointer_type(pointer: &Bound<'_, PyType>, target: &Bound<'_, PyType>) -> PyResult<()> {
    typeinfo::set_pointer_target(typeinfo::info_of(pointer.as_any())?.get(), target)
}
