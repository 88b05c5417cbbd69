//! `ferrotypes._ctypes`: the extension module under `ferrotypes`, mirroring the
//! stdlib's `_ctypes`. This file only registers: the classes, functions and
//! constants of the layers below (see ARCHITECTURE.md; the layer order is checked by
//! `tests/test_layers.py`), each family of C data, and then the metaclasses and the
//! public base classes built with them (`_SimpleCData`, `CFuncPtr`, ...), which come
//! from the pure Python `ferrotypes._metatypes`, called once at import.

// The panic audit (issue 17), as in ferrotypes-core: outside tests, no `unwrap`/`expect`,
// and indexing or arithmetic that could panic or wrap only where a module or function
// says why it cannot (sizes, lengths and indices that come from Python are checked
// where they enter and become the exception ctypes raises).
#![cfg_attr(
    not(test),
    warn(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::arithmetic_side_effects)
)]

use pyo3::prelude::*;

mod call;
mod callback;
mod data;
mod function;
mod module;
mod support;
mod types;

use call::{argconv, ndpointer, peek, result, value};
use callback::thunk as callback_thunk;
use data::families::{array, array_types, field, pointer, pointer_types, record, simple};
use data::{buffer_export, cdata, instances, leased, liveness, pickle, registry, slots};
use function::funcptr;
use module::{cdecl, from_param, memory};
use support::errors::{ArgumentError, CTYPES_MAX_ARGCOUNT};
use support::{cpython_layout, errno, library};
use types::typeinfo;

#[pymodule]
fn _ctypes(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add_class::<cdata::CData>()?;
    buffer_export::install_buffer_slots(py)?; // before any class derives from it
    // Each family's class is named `_CData`, the name ctypes shows for the base of its
    // public classes (`Structure.__base__`), which CPython's own suite checks; the
    // module knows them by family.
    m.add("_SimpleData", py.get_type::<simple::SimpleData>())?;
    m.add("_FuncPtrData", py.get_type::<funcptr::FuncPtr>())?;
    m.add("_ArrayData", py.get_type::<array::ArrayData>())?;
    m.add("_PointerData", py.get_type::<pointer::PointerData>())?;
    m.add("_RecordData", py.get_type::<record::RecordData>())?;
    m.add_class::<field::CField>()?;
    m.add_class::<liveness::Lease>()?;
    m.add_function(wrap_pyfunction!(leased::_arena_new, m)?)?;
    m.add_function(wrap_pyfunction!(leased::_owned_view, m)?)?;
    m.add_class::<value::CArgObject>()?;
    m.add_class::<typeinfo::TypeInfo>()?;
    m.add_function(wrap_pyfunction!(array_types::_add_char_array_getsets, m)?)?;
    m.add("ArgumentError", py.get_type::<ArgumentError>())?;
    cdecl::register(m)?;
    m.add_function(wrap_pyfunction!(typeinfo::simple_info, m)?)?;
    m.add_function(wrap_pyfunction!(typeinfo::pointer_info, m)?)?;
    m.add_function(wrap_pyfunction!(typeinfo::function_info, m)?)?;
    m.add_function(wrap_pyfunction!(typeinfo::array_info, m)?)?;
    m.add_function(wrap_pyfunction!(typeinfo::_stand_in, m)?)?;
    m.add_function(wrap_pyfunction!(record::record_info, m)?)?;
    m.add_function(wrap_pyfunction!(field::anonymous_field, m)?)?;
    m.add_function(wrap_pyfunction!(record::_check_bit_field, m)?)?;
    m.add_function(wrap_pyfunction!(pointer_types::set_pointer_type, m)?)?;
    value::add_byref(m)?;
    m.add_function(wrap_pyfunction!(argconv::_pointer_param_case, m)?)?;
    m.add_function(wrap_pyfunction!(result::_check_restype, m)?)?;
    m.add_function(wrap_pyfunction!(pickle::_unpickle, m)?)?;
    memory::add_one_argument_functions(m)?;
    m.add_function(wrap_pyfunction!(memory::resize, m)?)?;
    m.add_function(wrap_pyfunction!(memory::_add_class_methods, m)?)?;
    m.add_function(wrap_pyfunction!(instances::_allocated_here, m)?)?;
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
    m.add_function(wrap_pyfunction!(array_types::_add_array_operator, m)?)?;
    pointer_types::add_pointer_function(m)?;
    m.add_function(wrap_pyfunction!(pointer_types::_set_pointer_types, m)?)?;
    pointer_types::add_pointer_type_function(m)?;
    m.add_function(wrap_pyfunction!(array_types::_set_array_type_builder, m)?)?;
    m.add_function(wrap_pyfunction!(array_types::_set_char_types, m)?)?;
    array_types::add_buffer_functions(m)?;
    m.add_function(wrap_pyfunction!(from_param::_simple_from_param, m)?)?;
    m.add_function(wrap_pyfunction!(callback_thunk::_released_callbacks, m)?)?;
    m.add_function(wrap_pyfunction!(callback_thunk::_check_error_result, m)?)?;
    m.add_function(wrap_pyfunction!(cpython_layout::_layout_paths, m)?)?;
    m.add_function(wrap_pyfunction!(memory::py_obj_from_ptr, m)?)?;
    m.add_function(wrap_pyfunction!(from_param::_set_default_from_param, m)?)?;
    m.add_function(wrap_pyfunction!(ndpointer::_register_ndpointer, m)?)?;
    m.add("_memmove_addr", memory::memmove_address())?;
    m.add("_memset_addr", memory::memset_address())?;
    m.add("FUNCFLAG_CDECL", funcptr::FUNCFLAG_CDECL)?;
    m.add("FUNCFLAG_HRESULT", funcptr::FUNCFLAG_HRESULT)?;
    m.add("FUNCFLAG_PYTHONAPI", funcptr::FUNCFLAG_PYTHONAPI)?;
    m.add("FUNCFLAG_USE_ERRNO", funcptr::FUNCFLAG_USE_ERRNO)?;
    m.add("FUNCFLAG_USE_LASTERROR", funcptr::FUNCFLAG_USE_LAST_ERROR)?;
    m.add("_FUNCFLAG_ERROR_RESULT", funcptr::FUNCFLAG_ERROR_RESULT)?;
    m.add("_FUNCFLAG_PROPAGATE", funcptr::FUNCFLAG_PROPAGATE)?;
    m.add("_FUNCFLAG_KEEP_RESULTS", funcptr::FUNCFLAG_KEEP_RESULTS)?;
    m.add_function(wrap_pyfunction!(funcptr::_release_results, m)?)?;
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
    function::family::register(py);
    peek::init_int_layout(py)?;
    callback_thunk::init_finalizing_check();
    py.import("ferrotypes._metatypes")?.call_method1("build_base_classes", (m,))?;
    Ok(())
}
