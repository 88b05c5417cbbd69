//! Released instances kept for reuse, as CPython keeps floats and tuples: the class
//! `create_string_buffer(n)` (and `create_unicode_buffer(n)`) made last keeps up to
//! [`KEPT`] of its freed instances, and its next instances are those, zeroed again.
//! A program making and dropping buffers of one size then pays neither the allocator
//! nor the collector's bookkeeping, half of what a new buffer costs.
//!
//! An instance is kept only when it holds nothing but its bytes, in its own object's
//! tail: `instances::dealloc_slot` found no `__dict__`, weak reference or finaliser,
//! untracked it and released its parts. Between its release and its reuse no one can
//! reach it. The recycler holds the class for its kept instances (they give up their
//! own reference to it) and frees them before letting the class go. This module keeps
//! them; `instances` chooses the classes and makes the instances.

use std::mem::size_of;
use std::sync::OnceLock;

use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::PyType;

use crate::data::cdata::CData;
use crate::data::tail::TailShape;
use crate::support::gil_cell::GilCell;
use crate::types::typeinfo::TypeInfo;

/// How many released instances a recycler keeps: a program making one buffer at a
/// time needs one; a few more serve small batches without holding much memory.
const KEPT: usize = 8;

/// How many recyclers there are (`create_string_buffer`'s and `create_unicode_buffer`'s).
pub const SLOTS: usize = 2;

/// One class whose zeroed instances, their bytes in their tail, are made from what was
/// worked out when it was chosen, and its kept instances.
pub(crate) struct Recycler {
    class: Py<PyType>,
    /// The class's info, read when it was chosen.
    info: Py<TypeInfo>,
    /// The class's `tp_version_tag` when its info was read: setting an attribute of the
    /// class (or of a base) changes it, and the recycler is then chosen again.
    tag: std::ffi::c_uint,
    shape: TailShape,
    new_reference: NewReference,
    /// Released instances, the first `count` of them: untracked, reference count zero,
    /// no reference to their class of their own.
    kept: [*mut ffi::PyObject; KEPT],
    count: usize,
}

static RECYCLERS: GilCell<[Option<Recycler>; SLOTS]> = GilCell::new([None, None]);

/// CPython's `_Py_NewReference`, which gives a reused object its first reference as
/// CPython's own free lists do: the count, and tracemalloc's and (3.13) the reference
/// tracer's record of a new object.
type NewReference = unsafe extern "C" fn(*mut ffi::PyObject);

/// [`NewReference`], exported by CPython 3.11 to 3.13 (`cpython/object.h`) though not
/// bound by PyO3: found at run time, so that an interpreter without it only goes
/// without recyclers.
fn new_reference() -> Option<NewReference> {
    static FOUND: OnceLock<Option<NewReference>> = OnceLock::new();
    *FOUND.get_or_init(|| {
        // SAFETY: dlsym with RTLD_DEFAULT searches the loaded objects for a symbol; the
        // name is CPython's function taking an object and returning nothing.
        unsafe {
            let p = libc::dlsym(libc::RTLD_DEFAULT, c"_Py_NewReference".as_ptr());
            (!p.is_null()).then(|| std::mem::transmute::<*mut std::ffi::c_void, NewReference>(p))
        }
    })
}

impl Recycler {
    /// A recycler for `cls`, whose info `info` was read just now and whose instances
    /// have their bytes in their tail of `shape`; `None` when the class is not tracked
    /// by the collector, CPython gave it no version tag, or CPython does not export
    /// [`NewReference`].
    pub(crate) fn new(cls: &Bound<'_, PyType>, info: Py<TypeInfo>, shape: TailShape) -> Option<Recycler> {
        let tp = cls.as_type_ptr();
        // SAFETY: a live type object, read with the GIL held.
        let (tag, flags) = unsafe { ((*tp).tp_version_tag, (*tp).tp_flags) };
        if tag == 0 || flags & ffi::Py_TPFLAGS_HAVE_GC == 0 {
            return None;
        }
        let new_reference = new_reference()?;
        Some(Recycler { class: cls.clone().unbind(), info, tag, shape, new_reference, kept: [std::ptr::null_mut(); KEPT], count: 0 })
    }

    /// Frees the kept instances, then lets the class go.
    fn release(self, py: Python<'_>) {
        let tp = self.class.bind(py).as_type_ptr();
        for &obj in self.kept.iter().take(self.count) {
            // SAFETY: a kept instance, unreachable and untracked, allocated by the
            // class's allocator; its class is alive (held here) for tp_free to read.
            unsafe { (*tp).tp_free.unwrap_or(ffi::PyObject_GC_Del)(obj.cast()) };
        }
        drop((self.class.into_bound(py), self.info.into_bound(py)));
    }
}

/// Makes `recycler` (or none) recycler `slot`, freeing what the previous one kept.
pub(crate) fn install(py: Python<'_>, slot: usize, recycler: Option<Recycler>) {
    let old = RECYCLERS.with_mut(py, |all| all.get_mut(slot).and_then(|place| std::mem::replace(place, recycler)));
    if let Some(old) = old {
        old.release(py);
    }
}

/// What recycler `slot` says of class `tp`.
pub(crate) enum Found {
    /// It is the recycler's class, unchanged: its info (a new reference) and shape.
    Current(Py<TypeInfo>, TailShape),
    /// It is the recycler's class, changed since it was chosen.
    Changed,
}

/// What recycler `slot` says of class `tp`; `None` when it is not its class.
#[inline(always)]
pub(crate) fn find(py: Python<'_>, slot: usize, tp: *mut ffi::PyTypeObject) -> Option<Found> {
    RECYCLERS.with(py, |all| {
        let recycler = all.get(slot)?.as_ref()?;
        if recycler.class.as_ptr() != tp.cast() {
            return None;
        }
        // SAFETY: the recycler's class, alive (held by it), read with the GIL held.
        let unchanged = unsafe { (*tp).tp_version_tag } == recycler.tag;
        Some(if unchanged { Found::Current(recycler.info.clone_ref(py), recycler.shape) } else { Found::Changed })
    })
}

/// A kept instance of class `tp` from recycler `slot`, taken out and made a new object
/// again as `PyType_GenericAlloc` leaves one (zeroed, one reference, holding one to
/// its class), and the address of its bytes; not yet tracked by the collector (the
/// caller tracks it once its parts are written). `None` when none is kept, or the
/// recycler is not `tp`'s.
#[inline(always)]
pub(crate) fn take(py: Python<'_>, slot: usize, tp: *mut ffi::PyTypeObject) -> Option<(*mut ffi::PyObject, *mut u8)> {
    let (tp, obj, shape, new_reference) = RECYCLERS.with_mut(py, |all| {
        let recycler = all.get_mut(slot)?.as_mut().filter(|r| r.class.as_ptr() == tp.cast())?;
        recycler.count = recycler.count.checked_sub(1)?;
        let obj = recycler.kept.get(recycler.count).copied()?;
        Some((tp, obj, recycler.shape, recycler.new_reference))
    })?;
    let header = size_of::<ffi::PyObject>();
    // SAFETY: a kept object's allocation, all of it its own (the shape's): the
    // collector's two words just before the object (3.11 to 3.13), cleared of any flag
    // left from its previous life, then everything after its header up to the end of
    // what it uses. Its `__dict__` and weak-list words were found empty when it was
    // kept. Its class is alive (the recycler holds it), and gets back the reference
    // the instance gave up.
    unsafe {
        obj.cast::<usize>().sub(2).write_bytes(0, 2);
        obj.cast::<u8>().add(header).write_bytes(0, shape.end().saturating_sub(header));
        new_reference(obj);
        ffi::Py_INCREF(tp.cast());
    }
    Some((obj, shape.tail_of(obj)))
}

/// Keeps `obj`, an instance of `tp` being freed, for reuse when `tp` is a recycler's
/// class, its bytes are its tail of that recycler's shape and the recycler has room;
/// whether it did. The caller then releases `data` and gives up the instance's
/// reference to `tp`, without freeing `obj`.
///
/// # Safety
/// `obj` must be being freed by `instances::dealloc_slot` with the GIL held, found
/// to hold nothing but `data` (no `__dict__`, weak reference or finaliser), already
/// untracked; `data` is its `CData`.
#[inline(always)]
pub unsafe fn keep(py: Python<'_>, obj: *mut ffi::PyObject, tp: *mut ffi::PyTypeObject, data: &CData) -> bool {
    RECYCLERS.with_mut(py, |all| {
        let Some(recycler) = all.iter_mut().flatten().find(|r| r.class.as_ptr() == tp.cast()) else { return false };
        let fits = data.info().as_ptr() == recycler.info.as_ptr() && data.is_tail_at(py, recycler.shape.tail_of(obj));
        match recycler.kept.get_mut(recycler.count) {
            Some(place) if fits => {
                *place = obj;
                recycler.count = recycler.count.saturating_add(1);
                true
            }
            _ => false,
        }
    })
}
