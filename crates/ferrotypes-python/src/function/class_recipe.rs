//! The call recipe a prototype class's instances share: made when the first instance
//! is, from the class's `_argtypes_` (a tuple) and `_restype_`, and kept in the
//! class's [`TypeInfo`](crate::types::typeinfo::TypeInfo). Later instances (a
//! callback, a function pointer made from an address) take it while it is current:
//! neither the class nor any type of the signature (nor their metaclasses) has
//! changed since, as their `tp_version_tag`s tell (CPython gives a type a new tag
//! whenever it or a base is modified, and never reuses one). A recipe is only
//! shared when its types are settled (a record's `_fields_` final, a pointer's target
//! set): what the recipe took from them cannot change without a new tag.
//!
//! It also keeps the class attributes an instance is made from (`_flags_`,
//! `_argtypes_`, `_restype_`, `_error_result_`), which the same tags vouch for, so that
//! making a callback looks none of them up, and the argument converters and C
//! signature (libffi's call interface) of the class's callbacks once one was made.
//!
//! The collector sees the recipe's objects once, from the class's info; each instance
//! sharing it refers to the [`ClassRecipe`] object and visits only that.

use std::rc::Rc;
use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::pyclass::{PyTraverseError, PyVisit};
use pyo3::types::{PyTuple, PyType};

use crate::call::recipe::Recipe;
use crate::callback::thunk::CallbackPlan;
use crate::support::gil_cell::GilCell;
use crate::types::typeinfo::{info_of_class, InfoKind, TypeInfo};

/// How deep a chain of pointer targets is followed when checking that a signature's
/// types are settled (a pointer to a pointer to a structure is 2).
const MAX_POINTER_DEPTH: usize = 4;

/// A recipe shared by the instances of one prototype class.
#[pyclass(frozen, module = "ferrotypes._ctypes", name = "_ClassRecipe")]
pub struct ClassRecipe {
    /// Never replaced (a cell only because a `Recipe` is not `Sync`).
    recipe: GilCell<Rc<Recipe>>,
    /// The prototype class's tag when the recipe was made (no reference: the class
    /// holds this object, through its info).
    class_tag: u32,
    /// Each type of the signature and each one's metaclass, with its tag then.
    types: Box<[(Py<PyType>, u32)]>,
    /// The class's `_flags_`.
    pub flags: i32,
    /// The class's `_argtypes_`, `_restype_` and `_error_result_` (when its flags say
    /// it has one) the recipe was made from.
    pub argtypes: Py<PyAny>,
    pub restype: Option<Py<PyAny>>,
    pub error_result: Option<Py<PyAny>>,
    /// The argument converters and C signature of the class's callbacks, once one
    /// was made.
    callback_plan: GilCell<Option<Arc<CallbackPlan>>>,
}

/// The version tag of `tp`, 0 when it has none (CPython gives one at the next lookup).
fn tag_of(tp: *mut pyo3::ffi::PyTypeObject) -> u32 {
    // SAFETY: a live type object; the field is only read.
    unsafe { (*tp).tp_version_tag }
}

impl ClassRecipe {
    /// The recipe of `cls`'s instances, shared, when its class has a current one.
    pub fn current(cls: &Bound<'_, PyType>, info: &TypeInfo) -> Option<(Py<ClassRecipe>, Rc<Recipe>)> {
        let py = cls.py();
        let InfoKind::Function { shared } = &info.kind else { return None };
        let found = shared.with(py, |s| s.as_ref().map(|s| s.clone_ref(py)))?.into_bound(py).cast_into::<ClassRecipe>().ok()?;
        let me = found.get();
        let tag = tag_of(cls.as_type_ptr());
        let current = tag != 0 && tag == me.class_tag && me.types.iter().all(|(t, then)| tag_of(t.as_ptr().cast()) == *then);
        if !current {
            return None;
        }
        let recipe = me.recipe.get(py);
        Some((found.unbind(), recipe))
    }

    /// The plan of the class's callbacks, when one was made.
    pub fn callback_plan(&self, py: Python<'_>) -> Option<Arc<CallbackPlan>> {
        self.callback_plan.get(py)
    }

    /// Keeps `plan`, a callback's of this class, for later ones.
    pub fn keep_callback_plan(&self, py: Python<'_>, plan: Arc<CallbackPlan>) {
        drop(self.callback_plan.replace(py, Some(plan)));
    }

    /// Files `recipe`, made just now from `cls`'s `argtypes` and `restype`, as the
    /// class's shared one when the signature allows (a tuple of settled types; a
    /// restype that is a settled type, None or a callable); the object to refer to.
    /// `flags` and `error_result` are the class's `_flags_` and `_error_result_`.
    pub fn file(cls: &Bound<'_, PyType>, info: &TypeInfo, signature: ClassSignature<'_, '_>, recipe: &Rc<Recipe>) -> PyResult<Option<Py<ClassRecipe>>> {
        let ClassSignature { flags, argtypes, restype, error_result } = signature;
        let py = cls.py();
        let InfoKind::Function { shared } = &info.kind else { return Ok(None) };
        // A list could change in place without the class's tag changing.
        let Some(argtypes) = argtypes.and_then(|a| a.cast::<PyTuple>().ok()) else { return Ok(None) };
        let argtypes_object = argtypes.clone().into_any().unbind();
        let mut types = Vec::new();
        for argtype in argtypes.iter() {
            let Ok(class) = argtype.cast_into::<PyType>() else { return Ok(None) };
            types.push(class);
        }
        if let Some(restype) = restype.filter(|r| !r.is_none()) {
            if let Ok(class) = restype.cast::<PyType>() {
                types.push(class.clone());
            }
        }
        let mut tagged = Vec::new();
        tagged.try_reserve(types.len().saturating_mul(2)).map_err(|_| pyo3::exceptions::PyMemoryError::new_err("no memory for a class recipe"))?;
        for class in types {
            if !settled(&class, MAX_POINTER_DEPTH) {
                return Ok(None);
            }
            let metaclass = class.get_type();
            for t in [class, metaclass] {
                let tag = tag_of(t.as_type_ptr());
                if tag == 0 {
                    return Ok(None);
                }
                tagged.push((t.unbind(), tag));
            }
        }
        let class_tag = tag_of(cls.as_type_ptr());
        if class_tag == 0 {
            return Ok(None);
        }
        let made = ClassRecipe {
            recipe: GilCell::new(recipe.clone()),
            class_tag,
            types: tagged.into_boxed_slice(),
            flags,
            argtypes: argtypes_object,
            restype: restype.map(|r| r.clone().unbind()),
            error_result: error_result.map(|e| e.clone().unbind()),
            callback_plan: GilCell::new(None),
        };
        let made = Py::new(py, made)?;
        drop(shared.replace(py, Some(made.clone_ref(py).into_any())));
        Ok(Some(made))
    }
}

/// The class attributes a recipe is made from.
pub struct ClassSignature<'a, 'py> {
    pub flags: i32,
    pub argtypes: Option<&'a Bound<'py, PyAny>>,
    pub restype: Option<&'a Bound<'py, PyAny>>,
    pub error_result: Option<&'a Bound<'py, PyAny>>,
}

/// Whether what a recipe takes from `class` is fixed: a record's `_fields_` final,
/// a pointer's target and an array's element settled in turn; types without info (stand-ins,
/// `ndpointer` classes) are judged by their tag alone.
fn settled(class: &Bound<'_, PyType>, depth: usize) -> bool {
    let Some(info) = info_of_class(class) else { return true };
    let info = info.get();
    match &info.kind {
        InfoKind::Record { .. } => info.final_.load(std::sync::atomic::Ordering::Relaxed),
        InfoKind::Pointer { target, .. } => {
            let Some(depth) = depth.checked_sub(1) else { return false };
            target.with(class.py(), |t| t.as_ref().map(|t| t.clone_ref(class.py()))).is_some_and(|t| settled(t.bind(class.py()), depth))
        }
        InfoKind::Array { element, .. } => depth.checked_sub(1).is_some_and(|depth| settled(element.bind(class.py()), depth)),
        InfoKind::Simple { .. } | InfoKind::Function { .. } => true,
    }
}

#[pymethods]
impl ClassRecipe {
    /// The recipe's objects, the class attributes, the signature's types and the
    /// callback plan's.
    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        // SAFETY: called by the collector through tp_traverse; the closure only visits.
        unsafe { self.recipe.with_in_traverse(|r| r.traverse(&visit)) }?;
        visit.call(&self.argtypes)?;
        visit.call(&self.restype)?;
        visit.call(&self.error_result)?;
        for (t, _) in self.types.iter() {
            visit.call(t)?;
        }
        // SAFETY: called by the collector through tp_traverse; the closure only visits.
        unsafe { self.callback_plan.with_in_traverse(|plan| plan.as_ref().map_or(Ok(()), |plan| plan.traverse(&visit))) }?;
        Ok(())
    }
}
