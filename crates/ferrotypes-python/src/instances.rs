//! Making instances of C data classes without a Python-level call: what each
//! family adds to [`CData`], and the `tp_new` slot of the families.
//!
//! ferrotypes makes instances itself millions of times — the argument views of a
//! callback, `pointer.contents`, a structure field of record type — and Python makes
//! them on `c_int(5)`. Neither needs PyO3's generated `__new__`, which parses
//! `*args, **kwargs` that belong to `__init__`, and then has `object.__new__`
//! allocate (which on 3.11 also builds the instance's attribute values eagerly).
//! Here an instance is the class's `tp_alloc` memory, zeroed, with the `CData` and
//! the family's part written where PyO3 keeps them: positions measured on the first
//! instance PyO3 itself builds, and used only when they are all PyO3 initialises.

use std::mem::{align_of, size_of};
use std::sync::OnceLock;

use pyo3::exceptions::PyTypeError;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::PyType;
use pyo3::{Borrowed, PyClass, PyClassInitializer, PyTypeInfo};

use crate::cdata::CData;
use crate::function::FuncPtr;
use crate::record::RecordData;
use crate::sequence::{ArrayData, PointerData};
use crate::simple::SimpleData;
use crate::slots;
use crate::typeinfo::{InfoKind, TypeInfo};

/// A family of C data classes: a Rust class extending [`CData`] (`_SimpleData`, ...).
pub trait Family: PyClass<BaseType = CData, Frozen = pyo3::pyclass::boolean_struct::True> + PyTypeInfo + Sync {
    /// This family's entry in [`LAYOUTS`].
    const LAYOUT: usize;

    /// The family's part of an instance of `cls`, whose info is `info`; `None` when
    /// `info` is of another family (the class is abstract, like `_SimpleCData`).
    fn part(cls: &Bound<'_, PyType>, info: &TypeInfo) -> PyResult<Option<Self>>;
}

impl Family for SimpleData {
    const LAYOUT: usize = 0;

    fn part(_cls: &Bound<'_, PyType>, info: &TypeInfo) -> PyResult<Option<Self>> {
        Ok(matches!(info.kind, InfoKind::Simple { .. }).then_some(SimpleData {}))
    }
}

impl Family for ArrayData {
    const LAYOUT: usize = 1;

    fn part(_cls: &Bound<'_, PyType>, info: &TypeInfo) -> PyResult<Option<Self>> {
        Ok(matches!(info.kind, InfoKind::Array { .. }).then_some(ArrayData {}))
    }
}

impl Family for PointerData {
    const LAYOUT: usize = 2;

    fn part(_cls: &Bound<'_, PyType>, info: &TypeInfo) -> PyResult<Option<Self>> {
        Ok(matches!(info.kind, InfoKind::Pointer { .. }).then_some(PointerData {}))
    }
}

impl Family for RecordData {
    const LAYOUT: usize = 3;

    fn part(_cls: &Bound<'_, PyType>, info: &TypeInfo) -> PyResult<Option<Self>> {
        Ok(matches!(info.kind, InfoKind::Record { .. }).then_some(RecordData {}))
    }
}

impl Family for FuncPtr {
    const LAYOUT: usize = 4;

    /// A function pointer made here is a view of one in C memory: no callback, no
    /// `paramflags`, the calling convention of the class's `_flags_`.
    fn part(cls: &Bound<'_, PyType>, info: &TypeInfo) -> PyResult<Option<Self>> {
        if !matches!(info.kind, InfoKind::Function) {
            return Ok(None);
        }
        Ok(Some(FuncPtr::with_callback(FuncPtr::flags_of(cls)?, None)))
    }
}

/// Where an instance of a family keeps its `CData` and its family part (byte offsets
/// from the object's start), when those two are all PyO3 initialises in it.
#[derive(Clone, Copy)]
struct Layout {
    cdata: usize,
    part: usize,
}

/// Each family's [`Layout`], measured on its first instance; `None` inside when the
/// instance holds more than the two parts (then PyO3 builds every instance).
static LAYOUTS: [OnceLock<Option<Layout>>; 5] = [OnceLock::new(), OnceLock::new(), OnceLock::new(), OnceLock::new(), OnceLock::new()];

/// `n` rounded up to a multiple of `align` (a power of two).
const fn round_up(n: usize, align: usize) -> usize {
    (n + align - 1) & !(align - 1)
}

/// The layout of `obj`, an instance of family `F` built by PyO3: accepted only when
/// the object is exactly a header, the `CData` and the part, in that order, with no
/// more than alignment padding between them — nothing else PyO3 would initialise.
fn measure<F: Family>(obj: &Bound<'_, F>) -> Option<Layout> {
    let start = obj.as_ptr() as usize;
    let cdata = obj.as_super().get() as *const CData as usize - start;
    let part = obj.get() as *const F as usize - start;
    let align = align_of::<CData>().max(align_of::<F>()).max(align_of::<ffi::PyObject>());
    // SAFETY: a live type object.
    let basic_size = unsafe { (*F::type_object_raw(obj.py())).tp_basicsize } as usize;
    let exact = cdata == round_up(size_of::<ffi::PyObject>(), align_of::<CData>())
        && part == round_up(cdata + size_of::<CData>(), align_of::<F>())
        && basic_size == round_up(part + size_of::<F>(), align);
    exact.then_some(Layout { cdata, part })
}

/// An instance of `cls` holding `data` and `part`.
///
/// # Safety
/// `cls` must be F's type or a subclass of it.
unsafe fn build<'py, F: Family>(cls: Borrowed<'_, 'py, PyType>, data: CData, part: F) -> PyResult<Bound<'py, PyAny>> {
    let py = cls.py();
    let tp = cls.as_type_ptr();
    if let Some(Some(layout)) = LAYOUTS[F::LAYOUT].get() {
        // SAFETY: a live type; every class has tp_alloc (PyType_Ready fills it in).
        let alloc = unsafe { (*tp).tp_alloc }.unwrap_or(ffi::PyType_GenericAlloc);
        // SAFETY: tp_alloc returns zeroed memory of the class's size (at least the
        // family's, which the layout lies in), or NULL with an exception set.
        let obj = unsafe { alloc(tp, 0) };
        if obj.is_null() {
            return Err(PyErr::fetch(py));
        }
        // SAFETY: the measured positions of the two parts, in memory of this family's
        // layout; zeroed bytes elsewhere are what PyO3 leaves there too. Nothing runs
        // (no collection can see the object) before both are written.
        unsafe {
            obj.cast::<u8>().add(layout.cdata).cast::<CData>().write(data);
            obj.cast::<u8>().add(layout.part).cast::<F>().write(part);
            return Ok(Bound::from_owned_ptr(py, obj));
        }
    }
    let init = PyClassInitializer::from(data).add_subclass(part);
    // SAFETY: `cls` is F's type or a subclass of it (the caller's promise), as
    // tp_new_impl requires; it returns a new reference. tp_new_impl is PyO3's
    // (hidden) entry point for its `#[new]` wrappers, public for them; the PyO3
    // version is pinned.
    let obj = unsafe { pyo3::impl_::pymethods::tp_new_impl(py, init, tp).map(|obj| Bound::from_owned_ptr(py, obj))? };
    // SAFETY: just built as an instance of (a subclass of) F.
    LAYOUTS[F::LAYOUT].get_or_init(|| measure(unsafe { obj.cast_unchecked::<F>() }));
    Ok(obj)
}

/// `TypeError` unless `cls` is F's type or a subclass of it.
fn check_family<F: Family>(cls: &Bound<'_, PyType>) -> PyResult<()> {
    // SAFETY: both are live type objects.
    if unsafe { ffi::PyType_IsSubtype(cls.as_type_ptr(), F::type_object_raw(cls.py())) } == 0 {
        return Err(PyTypeError::new_err(format!("{} is not a subtype of {}", cls.name()?, F::NAME)));
    }
    Ok(())
}

fn abstract_class() -> PyErr {
    PyTypeError::new_err("abstract class")
}

/// An instance of `cls`, a class of family `F`, holding `data`. Neither `__new__` nor
/// `__init__` runs (a user-defined `__new__` runs only when the user makes an instance,
/// as in ctypes).
pub fn instance_of<'py, F: Family>(cls: &Bound<'py, PyType>, data: CData) -> PyResult<Bound<'py, PyAny>> {
    check_family::<F>(cls)?;
    let part = F::part(cls, data.info().get())?.ok_or_else(abstract_class)?;
    // SAFETY: cls is a subclass of F (checked above).
    unsafe { build(cls.as_borrowed(), data, part) }
}

/// An instance of `cls`, of whichever family its info says, holding `data`.
pub fn instance<'py>(cls: &Bound<'py, PyType>, data: CData) -> PyResult<Bound<'py, PyAny>> {
    match data.info().get().kind {
        InfoKind::Simple { .. } => instance_of::<SimpleData>(cls, data),
        InfoKind::Pointer { .. } => instance_of::<PointerData>(cls, data),
        InfoKind::Array { .. } => instance_of::<ArrayData>(cls, data),
        InfoKind::Record { .. } => instance_of::<RecordData>(cls, data),
        InfoKind::Function => instance_of::<FuncPtr>(cls, data),
    }
}

/// What `__new__` puts in a new instance of `cls`: zeroed memory of the class's
/// size, owned, and the family's part. The class is final from then on.
fn owned_parts<F: Family>(cls: &Bound<'_, PyType>) -> PyResult<(CData, F)> {
    let data = CData::for_class(cls)?;
    let part = F::part(cls, data.info().get())?.ok_or_else(abstract_class)?;
    Ok((data, part))
}

/// A new instance of `cls`, a class of family `F`, owning zeroed memory, made as
/// `cls()` would make it when the class defines no `__new__` or `__init__` of its own.
pub fn new_instance<'py, F: Family>(cls: &Bound<'py, PyType>) -> PyResult<Bound<'py, PyAny>> {
    check_family::<F>(cls)?;
    let (data, part) = owned_parts::<F>(cls)?;
    // SAFETY: cls is a subclass of F (checked above).
    unsafe { build(cls.as_borrowed(), data, part) }
}

/// [`owned_parts`] for PyO3's `#[new]` of the families (which [`new_slot`] replaces).
pub fn owned_initializer<F: Family>(cls: &Bound<'_, PyType>) -> PyResult<PyClassInitializer<F>> {
    let (data, part) = owned_parts::<F>(cls)?;
    Ok(PyClassInitializer::from(data).add_subclass(part))
}

/// The `tp_new` slot of the families other than function pointers (installed by
/// [`slots::install`] over PyO3's): an instance owning zeroed memory. The arguments
/// are `__init__`'s; `__new__` ignores them, as ctypes' does.
pub unsafe extern "C" fn new_slot<F: Family>(subtype: *mut ffi::PyTypeObject, _args: *mut ffi::PyObject, _kwargs: *mut ffi::PyObject) -> *mut ffi::PyObject {
    // SAFETY: CPython calls tp_new with the GIL held.
    let py = unsafe { Python::assume_attached() };
    slots::guard(py, slots::NULL, || {
        // SAFETY: CPython passes tp_new the (live) type being instantiated, a
        // subtype of the family this slot is installed on.
        let cls = unsafe { Borrowed::from_ptr(py, subtype.cast()).cast_unchecked::<PyType>() };
        let (data, part) = owned_parts::<F>(&cls)?;
        // SAFETY: as above, cls is a subclass of F.
        unsafe { build(cls, data, part) }.map(Bound::into_ptr)
    })
}

/// Which families' instances are allocated here rather than by PyO3, by family
/// name: a diagnostic for the tests (false until the family's first instance, and
/// for good if PyO3's layout ever holds more than the two parts).
#[pyfunction]
pub fn _direct_allocation() -> Vec<(&'static str, bool)> {
    let direct = |layout: usize| matches!(LAYOUTS[layout].get(), Some(Some(_)));
    vec![
        (SimpleData::NAME, direct(SimpleData::LAYOUT)),
        (ArrayData::NAME, direct(ArrayData::LAYOUT)),
        (PointerData::NAME, direct(PointerData::LAYOUT)),
        (RecordData::NAME, direct(RecordData::LAYOUT)),
        (FuncPtr::NAME, direct(FuncPtr::LAYOUT)),
    ]
}
