//! The data families' registry: each family (simple, array, pointer, record)
//! registers itself at start-up, from its own module, with what its classes need —
//! how instances are made, constructed and freed, and its own fast paths — and each
//! class the metaclass makes is prepared by the family it belongs to. Nothing here
//! names a family.

use std::sync::OnceLock;

use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::PyType;

use crate::data::construct::{self, Construct};
use crate::data::instances::{self, Family};
use crate::types::typeinfo::FamilyKind;

/// What a data family registered.
struct DataFamily {
    /// Whether a class is one of the family's.
    includes: fn(&Bound<'_, PyType>) -> bool,
    /// Puts the fast paths every family has on a new class of the family.
    prepare: fn(&Bound<'_, PyType>),
    /// The family's own fast paths for a new class of it (an array's `a[i]`, say).
    own_fast_paths: Option<fn(&Bound<'_, PyType>)>,
    /// Whether calling a class of the family goes to the constructor fast path.
    constructed_directly: fn(&Bound<'_, PyType>) -> bool,
}

static DATA_FAMILIES: [OnceLock<DataFamily>; FamilyKind::COUNT] = [const { OnceLock::new() }; FamilyKind::COUNT];

/// Whether `cls` is `F`'s type or a subclass of it.
fn includes<F: Family>(cls: &Bound<'_, PyType>) -> bool {
    // SAFETY: both are live type objects (the GIL is held).
    unsafe { ffi::PyType_IsSubtype(cls.as_type_ptr(), F::type_object_raw(cls.py())) != 0 }
}

fn prepare<F: Construct>(cls: &Bound<'_, PyType>) {
    instances::install_dealloc::<F>(cls);
    construct::prepare_class::<F>(cls);
}

/// Registers data family `F` (at module initialisation, before any of its Python
/// classes exists): its instances are made by `instances`, its classes constructed
/// by `construct`, and `own_fast_paths` (if any) is put on each of its new classes.
pub fn register_data_family<F: Construct>(py: Python<'_>, own_fast_paths: Option<fn(&Bound<'_, PyType>)>) -> PyResult<()> {
    instances::register::<F>();
    construct::install::<F>(py)?;
    let _ = F::KIND.entry_in(&DATA_FAMILIES).set(DataFamily {
        includes: includes::<F>,
        prepare: prepare::<F>,
        own_fast_paths,
        constructed_directly: construct::constructed_directly::<F>,
    });
    Ok(())
}

/// The registered family of `cls`, if it is a data class.
fn family_of(cls: &Bound<'_, PyType>) -> Option<&'static DataFamily> {
    DATA_FAMILIES.iter().filter_map(OnceLock::get).find(|family| (family.includes)(cls))
}

/// Puts the fast paths on `cls`, a C data class the metaclass just created.
///
/// A class statement does not copy a base's slot function when the base also has the
/// method's wrapper in its dict (`__init__`, `__getitem__`, ...): it takes the
/// function the wrapper wraps, PyO3's. So the metaclass calls this for every class;
/// only slots still holding PyO3's functions are replaced, so methods a class
/// defines in Python stay its own.
#[pyfunction]
pub fn _enable_fast_slots(cls: &Bound<'_, PyType>) {
    if let Some(family) = family_of(cls) {
        crate::data::buffer_export::buffer_fast_slots(cls);
        (family.prepare)(cls);
        if let Some(own) = family.own_fast_paths {
            own(cls);
        }
    }
}

/// Whether calling `cls` goes to the constructor fast path: a diagnostic for the tests.
#[pyfunction]
pub fn _constructed_directly(cls: &Bound<'_, PyType>) -> bool {
    family_of(cls).is_some_and(|family| (family.constructed_directly)(cls))
}
