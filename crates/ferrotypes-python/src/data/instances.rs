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
//! A new instance's own bytes follow them in the same allocation ([`build_owned`]).

use std::mem::{align_of, size_of};
use std::sync::OnceLock;

use pyo3::exceptions::PyTypeError;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::PyType;
use pyo3::{Borrowed, PyClass, PyClassInitializer, PyTypeInfo};

use crate::data::cdata::CData;
use crate::data::liveness::Lease;
use crate::data::recycled;
use crate::data::tail::{self, round_up};
use crate::data::slots;
use crate::support::cpython_layout;
use crate::types::typeinfo::{info_of, FamilyKind, TypeInfo};

/// A family of C data classes: a Rust class extending [`CData`] (`_SimpleData`, ...).
/// Each registers itself at start-up ([`register`]), so that instances of its
/// classes can be made from their info alone ([`instance`]).
pub trait Family: PyClass<BaseType = CData, Frozen = pyo3::pyclass::boolean_struct::True> + PyTypeInfo + Sync {
    /// The kind of info this family's classes have.
    const KIND: FamilyKind;

    /// The family's part of an instance of `cls`, whose info is `info`; `None` when
    /// `info` is of another family (the class is abstract, like `_SimpleCData`).
    fn part(cls: &Bound<'_, PyType>, info: &TypeInfo) -> PyResult<Option<Self>>;
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
static LAYOUTS: [OnceLock<Option<Layout>>; FamilyKind::COUNT] = [const { OnceLock::new() }; FamilyKind::COUNT];

/// Family `F`'s [`Layout`], once measured and when its instances may be laid out here.
fn layout_of<F: Family>() -> Option<Layout> {
    F::KIND.entry_in(&LAYOUTS).get().copied().flatten()
}

/// The layout of `obj`, an instance of family `F` built by PyO3: accepted only when
/// the object is exactly a header, the `CData` and the part, in that order, with no
/// more than alignment padding between them — nothing else PyO3 would initialise.
#[allow(clippy::arithmetic_side_effects)] // offsets of an object's parts from its own start, and their small sizes
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
#[inline]
unsafe fn build<'py, F: Family>(cls: Borrowed<'_, 'py, PyType>, data: CData, part: F) -> PyResult<Bound<'py, PyAny>> {
    let py = cls.py();
    let tp = cls.as_type_ptr();
    if let Some(Some(layout)) = F::KIND.entry_in(&LAYOUTS).get() {
        // SAFETY: a live type; every class has tp_alloc (PyType_Ready fills it in).
        let alloc = unsafe { (*tp).tp_alloc }.unwrap_or(ffi::PyType_GenericAlloc);
        // SAFETY: tp_alloc returns zeroed memory of the class's size (at least the
        // family's, which the layout lies in), or NULL with an exception set.
        let obj = unsafe { alloc(tp, 0) };
        if obj.is_null() {
            return Err(PyErr::fetch(py));
        }
        // SAFETY: fresh from the class's allocator, which gave it the family's layout.
        return Ok(unsafe { write_parts(py, obj, *layout, data, part) });
    }
    let init = PyClassInitializer::from(data).add_subclass(part);
    // SAFETY: `cls` is F's type or a subclass of it (the caller's promise), as
    // tp_new_impl requires; it returns a new reference. tp_new_impl is PyO3's
    // (hidden) entry point for its `#[new]` wrappers, public for them; the PyO3
    // version is pinned.
    let obj = unsafe { pyo3::impl_::pymethods::tp_new_impl(py, init, tp).map(|obj| Bound::from_owned_ptr(py, obj))? };
    // SAFETY: just built as an instance of (a subclass of) F.
    F::KIND.entry_in(&LAYOUTS).get_or_init(|| measure(unsafe { obj.cast_unchecked::<F>() }));
    Ok(obj)
}

/// Writes `data` and `part` into `obj`, a new zeroed object of a class of family `F`,
/// at the positions `layout` measured.
///
/// # Safety
/// `obj` must be fresh from the class's allocator, of F's layout, seen by no one else.
#[inline]
unsafe fn write_parts<'py, F: Family>(py: Python<'py>, obj: *mut ffi::PyObject, layout: Layout, data: CData, part: F) -> Bound<'py, PyAny> {
    // SAFETY: the measured positions of the two parts, in memory of this family's
    // layout; zeroed bytes elsewhere are what PyO3 leaves there too. Nothing runs (no
    // collection can see the object) before both are written.
    unsafe {
        obj.cast::<u8>().add(layout.cdata).cast::<CData>().write(data);
        obj.cast::<u8>().add(layout.part).cast::<F>().write(part);
        Bound::from_owned_ptr(py, obj)
    }
}

/// An instance of `cls` owning zeroed memory of its type's size (`info`'s), holding
/// `part`: in the object's tail when the class allows (one allocation), else in a
/// heap block.
///
/// # Safety
/// `cls` must be F's type or a subclass of it.
#[inline(always)]
pub unsafe fn build_owned<'py, F: Family>(cls: Borrowed<'_, 'py, PyType>, info: Py<TypeInfo>, part: F) -> PyResult<Bound<'py, PyAny>> {
    let py = cls.py();
    let (size, align) = {
        let i = info.get();
        (i.size, i.align)
    };
    if let Some(Some(layout)) = F::KIND.entry_in(&LAYOUTS).get() {
        let tp = cls.as_type_ptr();
        // SAFETY: cls is a live class of family F (the caller's promise), and the
        // shape is the one tail_shape gave for it.
        if let Some(shape) = unsafe { tail::tail_shape(py, tp, size, align) } {
            let (obj, tail) = unsafe { tail::alloc_tail(py, tp, shape)? };
            // SAFETY: the tail is zeroed, aligned, `size` bytes long and freed with
            // `obj`, which the CData is written into; obj is fresh and of F's layout.
            return Ok(unsafe { write_parts(py, obj, *layout, CData::in_tail(info, tail), part) });
        }
    }
    // SAFETY: cls is F's type or a subclass of it (the caller's promise).
    unsafe { build(cls, CData::owned(info)?, part) }
}

/// `TypeError` unless `cls` is F's type or a subclass of it. A class whose `tp_new` is
/// the family's [`new_slot`] is one (only F's type has it, and only classes based on
/// it inherit it): told without walking its MRO.
#[inline]
fn check_family<F: Family>(cls: &Bound<'_, PyType>) -> PyResult<()> {
    // SAFETY: a live type object, read with the GIL held.
    if unsafe { (*cls.as_type_ptr()).tp_new }.map(|f| f as usize) == Some(new_slot::<F> as ffi::newfunc as usize) {
        return Ok(());
    }
    // SAFETY: both are live type objects.
    if unsafe { ffi::PyType_IsSubtype(cls.as_type_ptr(), F::type_object_raw(cls.py())) } == 0 {
        return Err(PyTypeError::new_err(format!("{} is not a subtype of {}", cls.name()?, F::NAME)));
    }
    Ok(())
}

fn abstract_class() -> PyErr {
    PyTypeError::new_err("abstract class")
}

/// What a new instance made by [`instance`] holds.
pub enum Contents {
    /// This memory: a view, or memory the instance already owns.
    Data(CData),
    /// New zeroed memory of this type's size, which the instance owns.
    Owned(Py<TypeInfo>),
}

impl Contents {
    fn info(&self) -> &TypeInfo {
        match self {
            Contents::Data(data) => data.info().get(),
            Contents::Owned(info) => info.get(),
        }
    }
}

/// An instance of `cls`, a class of family `F`, holding `contents`. Neither `__new__`
/// nor `__init__` runs (a user-defined `__new__` runs only when the user makes an
/// instance, as in ctypes).
fn instance_of<'py, F: Family>(cls: &Bound<'py, PyType>, contents: Contents) -> PyResult<Bound<'py, PyAny>> {
    check_family::<F>(cls)?;
    let part = F::part(cls, contents.info())?.ok_or_else(abstract_class)?;
    // SAFETY (both): cls is a subclass of F (checked above).
    match contents {
        Contents::Data(data) => unsafe { build(cls.as_borrowed(), data, part) },
        Contents::Owned(info) => unsafe { build_owned(cls.as_borrowed(), info, part) },
    }
}

/// How a family makes an instance of one of its classes from contents.
type InstanceMaker = for<'py> fn(&Bound<'py, PyType>, Contents) -> PyResult<Bound<'py, PyAny>>;

/// What each family registered ([`register`]), by [`FamilyKind`].
static MAKERS: [OnceLock<InstanceMaker>; FamilyKind::COUNT] = [const { OnceLock::new() }; FamilyKind::COUNT];

/// How a family allocates a view (an instance over existing memory) of one of its
/// classes on the quick path ([`view_of`]): the new object with its family part
/// written, and where its `CData` goes; `None` for the general path.
type ViewAllocator = for<'py> fn(&Bound<'py, PyType>, &TypeInfo) -> Option<PyResult<(std::ptr::NonNull<ffi::PyObject>, usize)>>;

/// Each family's [`ViewAllocator`], by [`FamilyKind`].
static VIEW_ALLOCATORS: [OnceLock<ViewAllocator>; FamilyKind::COUNT] = [const { OnceLock::new() }; FamilyKind::COUNT];

/// Registers family `F`: instances of its classes are made here from then on (called
/// once per family at module initialisation; a second call changes nothing).
pub fn register<F: Family>() {
    let _ = F::KIND.entry_in(&MAKERS).set(instance_of::<F>);
    let _ = F::KIND.entry_in(&VIEW_ALLOCATORS).set(allocate_view::<F>);
}

/// The quick path of a view of `cls`, a class whose `tp_new` is the family's own
/// [`new_slot`] (so F's type or a subclass of it, told in one compare), once the
/// family's layout is known: the class's allocator, the family part written and the
/// place of the `CData` given back for the caller to write, with none of
/// [`instance`]'s dispatch on contents. Anything else (a class with a `__new__` of
/// its own, function pointers, the family's first instances) is `None`.
fn allocate_view<F: Family>(cls: &Bound<'_, PyType>, info: &TypeInfo) -> Option<PyResult<(std::ptr::NonNull<ffi::PyObject>, usize)>> {
    let tp = cls.as_type_ptr();
    // SAFETY: a live type object, read with the GIL held.
    let (new, alloc) = unsafe { ((*tp).tp_new, (*tp).tp_alloc) };
    let (Some(Some(layout)), Some(alloc)) = (F::KIND.entry_in(&LAYOUTS).get(), alloc) else { return None };
    if new.map(|f| f as usize) != Some(new_slot::<F> as ffi::newfunc as usize) {
        return None;
    }
    let part = match F::part(cls, info) {
        Ok(Some(part)) => part,
        Ok(None) => return Some(Err(abstract_class())),
        Err(err) => return Some(Err(err)),
    };
    // SAFETY: tp_alloc returns zeroed memory of the class's size (at least the
    // family's, which the layout lies in), or NULL with an exception set.
    let Some(obj) = std::ptr::NonNull::new(unsafe { alloc(tp, 0) }) else { return Some(Err(PyErr::fetch(cls.py()))) };
    // SAFETY: the measured place of the part, in fresh memory of a class of family F
    // (its tp_new says so), which has the family's layout.
    unsafe { obj.as_ptr().cast::<u8>().add(layout.part).cast::<F>().write(part) };
    Some(Ok((obj, layout.cdata)))
}

/// A view of `cls` over the memory at `address`, inside `base` at `index`; revocable
/// (see `liveness`) when `revocable` (then `base` is given). Made on the family's
/// quick path ([`allocate_view`]) when it applies, else by [`instance`].
#[inline(always)]
fn view<'py>(cls: &Bound<'py, PyType>, address: usize, base: Option<Py<PyAny>>, revocable: bool, index: usize) -> PyResult<Bound<'py, PyAny>> {
    let info = view_info(cls)?;
    let made = info.get().kind.family().entry_in(&VIEW_ALLOCATORS).get().and_then(|allocate| allocate(cls, info.get()));
    let data = match (revocable, base) {
        (true, Some(base)) => CData::revocable(info, address as *mut u8, base),
        (_, base) => CData::borrowed(info, address as *mut u8, base),
    }
    .at_index(index);
    match made {
        Some(Ok((obj, cdata))) => {
            // SAFETY: the place of the CData in a new object whose family part is
            // written and nothing else yet; no code ran since its allocation.
            unsafe {
                obj.as_ptr().cast::<u8>().add(cdata).cast::<CData>().write(data);
                Ok(Bound::from_owned_ptr(cls.py(), obj.as_ptr()))
            }
        }
        Some(Err(err)) => Err(err),
        None => instance(cls, Contents::Data(data)),
    }
}

/// An instance of `cls`, of whichever family its info says, holding `contents`.
#[inline(always)]
pub fn instance<'py>(cls: &Bound<'py, PyType>, contents: Contents) -> PyResult<Bound<'py, PyAny>> {
    let family = contents.info().kind.family();
    match family.entry_in(&MAKERS).get() {
        Some(make) => make(cls, contents),
        None => Err(not_registered(family)),
    }
}

#[cold]
fn not_registered(family: FamilyKind) -> PyErr {
    pyo3::exceptions::PySystemError::new_err(format!("ferrotypes: the {} family is not registered", family.name()))
}

/// [`view_in`]'s quickest case as the raw getters want it: a view of `cls` at
/// `address` inside `base`, a C data instance whose memory cannot be taken back, when
/// `cls`'s info is one of the remembered classes' and its family's [`allocate_view`]
/// applies. The new object, or NULL with an exception set; `None` for every other
/// case, which the caller leaves to [`view_in`].
///
/// # Safety
/// `base` must be a live C data instance whose memory cannot be taken back (its
/// `plain_address` is `Some`), lent for the call; `address` the start of memory
/// inside it (or vouched for by it) holding an instance of `cls`.
#[inline(always)]
pub unsafe fn quick_view_in(cls: &Bound<'_, PyType>, address: usize, base: *mut ffi::PyObject, index: usize) -> Option<*mut ffi::PyObject> {
    let py = cls.py();
    let info = crate::types::typeinfo::info_of_class(cls)?;
    info.get().mark_final();
    let allocate = info.get().kind.family().entry_in(&VIEW_ALLOCATORS).get()?;
    match allocate(cls, info.get())? {
        Ok((obj, cdata)) => {
            // SAFETY: `base` is a live object (the caller's promise), kept by the view.
            let base = unsafe { Bound::from_borrowed_ptr(py, base) }.unbind();
            let data = CData::borrowed(info.unbind(), address as *mut u8, Some(base)).at_index(index);
            // SAFETY: the place of the CData in a new object whose family part is
            // written and nothing else yet; no code ran since its allocation.
            unsafe { obj.as_ptr().cast::<u8>().add(cdata).cast::<CData>().write(data) };
            Some(obj.as_ptr())
        }
        Err(err) => {
            err.restore(py);
            Some(std::ptr::null_mut())
        }
    }
}

/// An instance of `cls` over the memory at `address`, made without running
/// `__new__` or `__init__`; `index` is its position inside `base` (see
/// [`keepalive::keep_ref`](crate::data::keepalive::keep_ref)).
#[inline]
pub fn instance_at<'py>(cls: &Bound<'py, PyType>, address: usize, base: Option<Py<PyAny>>, index: usize) -> PyResult<Bound<'py, PyAny>> {
    view(cls, address, base, false, index)
}

/// [`instance_at`] for a view inside the memory of `base`, a C data instance (a field,
/// an element, a pointer's target): revocable when `base` is (see `liveness`).
#[inline]
pub fn view_in<'py>(cls: &Bound<'py, PyType>, address: usize, base: &Bound<'py, CData>, index: usize) -> PyResult<Bound<'py, PyAny>> {
    view(cls, address, Some(base.clone().into_any().unbind()), base.get().is_revocable(cls.py()), index)
}

/// An instance of `cls` over memory at `address` that `lease` may take back (an
/// arena's block, an owned object's memory), with the lease as its `_b_base_`.
pub fn leased_instance<'py>(cls: &Bound<'py, PyType>, address: usize, lease: &Bound<'py, Lease>) -> PyResult<Bound<'py, PyAny>> {
    view(cls, address, Some(lease.clone().into_any().unbind()), true, 0)
}

/// The info of `cls`, about to have a view: as in ctypes, a view is an instance, so
/// `_fields_` is final from then on.
#[inline]
fn view_info(cls: &Bound<'_, PyType>) -> PyResult<Py<TypeInfo>> {
    let info = match crate::types::typeinfo::info_of_class(cls) {
        Some(info) => info,
        None => info_of(cls.as_any())?,
    };
    info.get().mark_final();
    Ok(info.unbind())
}

/// The type info and family part of a new instance of `cls`, made by `__new__`. The
/// class is final from then on.
#[inline(always)]
fn owned_part<F: Family>(cls: &Bound<'_, PyType>) -> PyResult<(Py<TypeInfo>, F)> {
    let info = CData::class_info(cls)?;
    let part = F::part(cls, info.get())?.ok_or_else(abstract_class)?;
    Ok((info, part))
}

/// A new instance of `cls`, a class of family `F`, owning zeroed memory, made as
/// `cls()` would make it when the class defines no `__new__` or `__init__` of its own.
pub fn new_instance<'py, F: Family>(cls: &Bound<'py, PyType>) -> PyResult<Bound<'py, PyAny>> {
    check_family::<F>(cls)?;
    // SAFETY: cls is a subclass of F (checked above).
    unsafe { new_owned::<F>(cls.as_borrowed()) }
}

/// What the family's `tp_new` ([`new_slot`]) makes: a new instance of `cls` owning
/// zeroed memory.
///
/// # Safety
/// `cls` must be F's type or a subclass of it.
#[inline(always)]
pub unsafe fn new_owned<'py, F: Family>(cls: Borrowed<'_, 'py, PyType>) -> PyResult<Bound<'py, PyAny>> {
    let (info, part) = owned_part::<F>(&cls)?;
    // SAFETY: `cls` is F's type or a subclass of it (the caller's promise).
    unsafe { build_owned(cls, info, part) }
}

/// Makes `cls`, a class of family `F`, the class of recycler `slot` (see `recycled`),
/// which reuses its instances when they have their bytes in their tail.
fn recycle<F: Family>(cls: &Bound<'_, PyType>, slot: usize) {
    let py = cls.py();
    let fit = (|| {
        check_family::<F>(cls).ok()?;
        let (info, _) = owned_part::<F>(cls).ok()?;
        layout_of::<F>()?;
        let (size, align) = (info.get().size, info.get().align);
        // SAFETY: a live class of family F. No Python code runs from the info's
        // lookup to the recycler's reading of the class's version tag.
        let shape = unsafe { tail::tail_shape(py, cls.as_type_ptr(), size, align) }?;
        Some((info, shape))
    })();
    recycled::install(py, slot, recycled::Recycler::new(cls, fit));
}

/// A new instance of `tp`, a class of family `F`, owning zeroed memory, made by
/// recycler `slot` (a kept instance when there is one); `None` when the recycler
/// cannot reuse `tp`'s instances, or is for another class or `tp` changed since it
/// was chosen (then it is made `tp`'s, for the next call: a class asked for twice in
/// a row, as `create_string_buffer` does when the length is the same as last time).
///
/// # Safety
/// `tp` must be a live class of family `F`.
#[inline(always)]
pub unsafe fn new_recycled<'py, F: Family>(py: Python<'py>, slot: usize, tp: *mut ffi::PyTypeObject) -> Option<PyResult<Bound<'py, PyAny>>> {
    // SAFETY: `tp` is a live class (the caller's promise).
    let cls = unsafe { Borrowed::from_ptr(py, tp.cast()).cast_unchecked::<PyType>() };
    let (info, shape, layout) = match (recycled::find(py, slot, tp), layout_of::<F>()) {
        (recycled::Found::Current(info, shape), Some(layout)) => (info, shape, layout),
        (recycled::Found::Unfit, _) => return None,
        _ => {
            recycle::<F>(&cls, slot);
            return None;
        }
    };
    let part = match F::part(&cls, info.get()) {
        Ok(Some(part)) => part,
        Ok(None) => return Some(Err(abstract_class())),
        Err(err) => return Some(Err(err)),
    };
    let reused = recycled::take(py, slot, tp);
    let (obj, tail) = match reused {
        Some(taken) => taken,
        // SAFETY: a live class of family F, and the shape tail_shape gave for it.
        None => match unsafe { tail::alloc_tail(py, tp, shape) } {
            Ok(made) => made,
            Err(err) => return Some(Err(err)),
        },
    };
    // SAFETY: obj is of F's layout (its class is of family F), seen by no one else,
    // with its zeroed tail of the info's size and alignment, freed with it.
    let made = unsafe { write_parts(py, obj, layout, CData::in_tail(info, tail), part) };
    if reused.is_some() {
        // SAFETY: a live object of a collected class, untracked until now, whose parts
        // are written.
        unsafe { ffi::PyObject_GC_Track(obj.cast()) };
    }
    Some(Ok(made))
}

/// What PyO3's `#[new]` of the families (which [`new_slot`] replaces) makes: the
/// memory in a heap block.
pub fn owned_initializer<F: Family>(cls: &Bound<'_, PyType>) -> PyResult<PyClassInitializer<F>> {
    let (info, part) = owned_part::<F>(cls)?;
    Ok(PyClassInitializer::from(CData::owned(info)?).add_subclass(part))
}

/// The `tp_new` slot of the families other than function pointers (installed by
/// [`slots::install`] over PyO3's): an instance owning zeroed memory. The arguments
/// are `__init__`'s; `__new__` ignores them, as ctypes' does.
///
/// # Safety
/// CPython's `tp_new` contract: called with the GIL held, `subtype` the live type
/// being instantiated, a subclass of the family F this slot is installed on.
pub unsafe extern "C" fn new_slot<F: Family>(subtype: *mut ffi::PyTypeObject, _args: *mut ffi::PyObject, _kwargs: *mut ffi::PyObject) -> *mut ffi::PyObject {
    // SAFETY: CPython calls tp_new with the GIL held.
    let py = unsafe { Python::assume_attached() };
    slots::guard(py, slots::NULL, || {
        // SAFETY: CPython passes tp_new the (live) type being instantiated, a
        // subtype of the family this slot is installed on.
        let cls = unsafe { Borrowed::from_ptr(py, subtype.cast()).cast_unchecked::<PyType>() };
        // SAFETY: cls is the type being instantiated, a subclass of F (the family
        // whose tp_new this is).
        unsafe { new_owned::<F>(cls) }.map(Bound::into_ptr)
    })
}

/// CPython's `subtype_dealloc`: the `tp_dealloc` every Python class gets from
/// `type.__new__`, saved from the first class [`install_dealloc`] takes over.
static SUBTYPE_DEALLOC: OnceLock<ffi::destructor> = OnceLock::new();


/// Whether releasing `obj` can run no code and reach no other object of ours: its
/// class has no `__del__`, and it has no `__dict__` (nor its values), no weak
/// references, no `_b_base_` or `_objects`. Never on an interpreter whose layouts
/// [`cpython_layout`] does not know.
///
/// # Safety
/// `obj` must be a live C data instance whose `CData` is `cdata`.
unsafe fn is_leaf(py: Python<'_>, obj: *mut ffi::PyObject, cdata: &CData) -> bool {
    // SAFETY: the caller's promise.
    !cdata.refers_to_objects(py) && unsafe { holds_nothing_else(py, obj) }
}

/// Whether `obj` may be freed without `subtype_dealloc` ([`dealloc_slot`]): a leaf
/// ([`is_leaf`]), or one that keeps at most a `bytes` in `_objects` and whose
/// `_b_base_`, if any, is held by more than this view, so that letting them go frees
/// nothing else (no code runs, and no chain of views is freed without the trashcan
/// that bounds the recursion).
///
/// # Safety
/// `obj` must be a live C data instance whose `CData` is `cdata`.
unsafe fn is_releasable(py: Python<'_>, obj: *mut ffi::PyObject, cdata: &CData) -> bool {
    // SAFETY: the base is a live object the instance holds a reference to.
    let base_outlives = cdata.base.as_ref().is_none_or(|base| unsafe { ffi::Py_REFCNT(base.as_ptr()) } > 1);
    // SAFETY: the caller's promise.
    base_outlives && cdata.keeps_at_most_bytes(py) && unsafe { holds_nothing_else(py, obj) }
}

/// Whether `obj`'s class has no `__del__` and `obj` no `__dict__` (nor its values) and
/// no weak references. Never on an interpreter whose layouts [`cpython_layout`] does
/// not know.
///
/// # Safety
/// `obj` must be a live C data instance.
unsafe fn holds_nothing_else(py: Python<'_>, obj: *mut ffi::PyObject) -> bool {
    let Some(layout) = cpython_layout::known(py) else { return false };
    // SAFETY: obj is a live object (the caller's promise); the words read are its
    // type's dict and weak list slots, inside the object or, for a managed dict and
    // (from 3.12) a managed weak list, in the pre-header CPython allocated for it at
    // the offsets this version keeps them.
    unsafe {
        let tp = ffi::Py_TYPE(obj);
        let is_null_at = |offset: isize| obj.cast::<*mut ffi::PyObject>().byte_offset(offset).read().is_null();
        let no_dict = if (*tp).tp_flags & ffi::Py_TPFLAGS_MANAGED_DICT != 0 {
            let word = size_of::<usize>() as isize;
            // CPython's fixed word offsets (-4 to -1) times a word's size.
            #[allow(clippy::arithmetic_side_effects)]
            let dict_is_null = |w: isize| is_null_at(w * word);
            (*tp).tp_flags & cpython_layout::INLINE_VALUES == 0 && layout.managed_dict_words.iter().all(|&w| dict_is_null(w))
        } else {
            (*tp).tp_dictoffset == 0
        };
        let weaklist = (*tp).tp_weaklistoffset;
        (*tp).tp_finalize.is_none() && no_dict && (weaklist == 0 || is_null_at(weaklist))
    }
}

/// Whether `obj`, a C data instance, is a leaf ([`is_leaf`]) of a data family that
/// only its holder refers to: the holder may then give it new contents and hand it
/// out again as if it were a new instance, and no one can tell. (A function pointer
/// never counts: its restype, argtypes and errcheck live beside its bytes.)
pub fn is_unshared_leaf(obj: &Bound<'_, CData>) -> bool {
    let data = obj.get();
    // SAFETY: a live C data instance, with its own CData.
    unsafe { ffi::Py_REFCNT(obj.as_ptr()) == 1 && data.info().get().kind.family() != FamilyKind::Function && is_leaf(obj.py(), obj.as_ptr(), data) }
}

/// The `tp_dealloc` slot of the data families' Python classes (installed by
/// [`install_dealloc`] over `subtype_dealloc`, on classes that add no instance
/// slots to their family).
///
/// `subtype_dealloc` followed by PyO3's deallocator costs several times an
/// allocation; most instances, though, hold nothing but their bytes (and maybe a kept
/// `bytes`), or view the bytes of an instance that something else holds too
/// (`p.contents`, a field of record type). Such an instance ([`is_releasable`]) is
/// freed here: its parts dropped (releasing no Python object but the type info its
/// class also holds, a kept `bytes` and the base others hold) and its memory
/// returned. Every other instance goes to `subtype_dealloc`, with the class's
/// slot set back to it for the call, so that it finds the deallocator of the base
/// the same way as without this slot.
///
/// # Safety
/// CPython's `tp_dealloc` contract: called with the GIL held, on an object no one
/// refers to any more, of a class this slot was installed on (by [`install_dealloc`],
/// which checked that it has family `F`'s layout) or of a subclass of one.
pub unsafe extern "C" fn dealloc_slot<F: Family>(obj: *mut ffi::PyObject) {
    // SAFETY: CPython calls tp_dealloc with the GIL held.
    let py = unsafe { Python::assume_attached() };
    // SAFETY: CPython calls tp_dealloc with the GIL held, on an object no one refers
    // to, of a class this slot was installed on (with F's layout) or a subclass.
    slots::guard_dealloc(py, || unsafe { dealloc::<F>(py, obj) });
}

/// The work of [`dealloc_slot`].
///
/// # Safety
/// As for [`dealloc_slot`].
unsafe fn dealloc<F: Family>(py: Python<'_>, obj: *mut ffi::PyObject) {
    // The part is left in place, undropped: the data families' parts hold nothing.
    const { assert!(!std::mem::needs_drop::<F>()) };
    // SAFETY (all blocks below): `obj` is a live object being deallocated with the
    // GIL held, whose class has family F's layout and a tp_dealloc slot (the caller's
    // promise); its type object outlives the call (the instance holds a reference).
    let tp = unsafe { ffi::Py_TYPE(obj) };
    // Installation saved subtype_dealloc before installing this slot.
    let Some(&subtype_dealloc) = SUBTYPE_DEALLOC.get() else { return };
    let slot = unsafe { (*tp).tp_dealloc };
    // (A C function of the interpreter: its address is unique.)
    if slot.map(|f| f as usize) == Some(subtype_dealloc as usize) {
        // The base deallocator of a subclass (one with `__slots__`, or a class of ours
        // in the middle of the call below), whose `subtype_dealloc` has run `__del__`,
        // freed the dict and cleared its own slots; the weak references are for the
        // class that added them, this one.
        unsafe { release_as_base::<F>(py, obj) };
        return;
    }
    if let Some(Some(layout)) = F::KIND.entry_in(&LAYOUTS).get() {
        let cdata = unsafe { obj.cast::<u8>().add(layout.cdata).cast::<CData>() };
        if unsafe { is_releasable(py, obj, &*cdata) } {
            unsafe {
                ffi::PyObject_GC_UnTrack(obj.cast());
                let data = cdata.read();
                // A buffer of the class `create_string_buffer` made last may be kept
                // for its next call (a recycler holds the class meanwhile).
                let kept = F::KIND == FamilyKind::Array && recycled::keep(py, obj, tp, &data);
                data.release_leaf();
                if !kept {
                    (*tp).tp_free.unwrap_or(ffi::PyObject_GC_Del)(obj.cast());
                }
                ffi::Py_DECREF(tp.cast()); // an instance of a heap type owns a reference to it
            }
            return;
        }
    }
    unsafe {
        // Held across the call: the instance's reference to the class goes with it.
        ffi::Py_INCREF(tp.cast());
        (*tp).tp_dealloc = Some(subtype_dealloc);
        subtype_dealloc(obj);
        (*tp).tp_dealloc = slot;
        ffi::Py_DECREF(tp.cast());
    }
}

/// What the family's part of a deallocation leaves to a class of ours that is the
/// base of the instance's class: clearing weak references, then PyO3's deallocator.
///
/// # Safety
/// As for [`dealloc_slot`], called from a subclass's `subtype_dealloc`.
unsafe fn release_as_base<F: Family>(py: Python<'_>, obj: *mut ffi::PyObject) {
    // SAFETY: obj is being deallocated by CPython with the GIL held, its reference
    // count zero, as PyObject_ClearWeakRefs requires; a class whose weak-list offset is
    // non-zero supports weak references, wherever the list lives (inside the object,
    // or from 3.12 on before it, a negative offset), and PyObject_ClearWeakRefs finds
    // it there itself and returns at once when it is empty. The family's own
    // tp_dealloc is PyO3's (only Python classes get this slot), which a ready type
    // always has.
    unsafe {
        if (*ffi::Py_TYPE(obj)).tp_weaklistoffset != 0 {
            ffi::PyObject_ClearWeakRefs(obj);
        }
        if let Some(dealloc) = (*F::type_object_raw(py)).tp_dealloc {
            dealloc(obj);
        }
    }
}

/// Installs [`dealloc_slot`] on `cls`, a Python class of data family `F` just made
/// by `type.__new__`, when its instances are exactly the family's layout (no
/// `__slots__`, no legacy `tp_del`).
pub fn install_dealloc<F: Family>(cls: &Bound<'_, PyType>) {
    let py = cls.py();
    let tp = cls.as_type_ptr();
    let family = F::type_object_raw(py);
    // SAFETY: live type objects (the GIL is held); a heap type's slots are its own,
    // and tp_dealloc keeps its signature.
    unsafe {
        if tp == family || ffi::PyType_IsSubtype(tp, family) == 0 {
            return;
        }
        let Some(current) = (*tp).tp_dealloc else { return };
        let subtype_dealloc = *SUBTYPE_DEALLOC.get_or_init(|| current);
        // The family's size, and the weak list `type.__new__` appends unless
        // `__slots__` leaves it out: anything more would be slots of its own.
        let weaklist = if (*family).tp_weaklistoffset == 0 && (*tp).tp_weaklistoffset > 0 { size_of::<usize>() } else { 0 };
        if current as usize == subtype_dealloc as usize && (*tp).tp_basicsize as usize == ((*family).tp_basicsize as usize).saturating_add(weaklist)
            && (*tp).tp_itemsize == 0 && (*tp).tp_del.is_none() {
            (*tp).tp_dealloc = Some(dealloc_slot::<F>);
        }
    }
}

/// Which families' instances are allocated here rather than by PyO3, by family: a
/// diagnostic for the tests (false until the family's first instance, and for good
/// if PyO3's layout ever holds more than the two parts).
#[pyfunction]
pub fn _allocated_here() -> Vec<(&'static str, bool)> {
    FamilyKind::ALL.iter().map(|&kind| (kind.name(), matches!(kind.entry_in(&LAYOUTS).get(), Some(Some(_))))).collect()
}
