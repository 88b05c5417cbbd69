//! Released instances kept for reuse, as CPython keeps floats and tuples: once
//! `create_string_buffer(n)` (or `create_unicode_buffer(n)`) makes the same class twice
//! in a row, that class keeps up to [`KEPT`] of its freed instances, and its next
//! instances are those, zeroed again (a program alternating lengths pays nothing for it).
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

/// The class a recycler is for, and how it reuses the class's instances when it can.
pub(crate) struct Recycler {
    class: Py<PyType>,
    /// `None` when the class's instances cannot be reused (see [`Recycler::new`]).
    reuse: Option<Reuse>,
}

/// What a recycler worked out once for its class, and the instances it keeps.
struct Reuse {
    /// The class's info, read when it was chosen.
    info: Py<TypeInfo>,
    /// The class's `tp_version_tag` when its info was read: setting an attribute of the
    /// class (or of a base) changes it, and the recycler is then made again.
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
/// without reuse.
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
    /// A recycler for `cls`, which reuses its instances when `fit` gives the class's
    /// info (read just now) and the tail shape of its instances' bytes, the class is
    /// tracked by the collector, CPython gave it a version tag and exports
    /// [`NewReference`]; otherwise it only remembers that they cannot be.
    pub(crate) fn new(cls: &Bound<'_, PyType>, fit: Option<(Py<TypeInfo>, TailShape)>) -> Recycler {
        let tp = cls.as_type_ptr();
        // SAFETY: a live type object, read with the GIL held.
        let (tag, flags) = unsafe { ((*tp).tp_version_tag, (*tp).tp_flags) };
        let reuse = fit.filter(|_| tag != 0 && flags & ffi::Py_TPFLAGS_HAVE_GC != 0).and_then(|(info, shape)| {
            Some(Reuse { info, tag, shape, new_reference: new_reference()?, kept: [std::ptr::null_mut(); KEPT], count: 0 })
        });
        Recycler { class: cls.clone().unbind(), reuse }
    }

    /// Frees the kept instances, then lets the class go.
    fn release(self, py: Python<'_>) {
        let class = self.class.into_bound(py);
        let tp = class.as_type_ptr();
        if let Some(reuse) = self.reuse {
            for &obj in reuse.kept.iter().take(reuse.count) {
                // SAFETY: a kept instance, unreachable and untracked, allocated by the
                // class's allocator; its class is alive (held here) for tp_free to read.
                unsafe { (*tp).tp_free.unwrap_or(ffi::PyObject_GC_Del)(obj.cast()) };
            }
            drop(reuse.info.into_bound(py));
        }
        drop(class);
    }
}

/// Makes `recycler` recycler `slot`, freeing what the previous one kept.
pub(crate) fn install(py: Python<'_>, slot: usize, recycler: Recycler) {
    let old = RECYCLERS.with_mut(py, |all| all.get_mut(slot).and_then(|place| place.replace(recycler)));
    if let Some(old) = old {
        old.release(py);
    }
}

/// What recycler `slot` says of class `tp`.
pub(crate) enum Found {
    /// It is the recycler's class, unchanged: its info (a new reference) and shape.
    Current(Py<TypeInfo>, TailShape),
    /// It is the recycler's class, whose instances cannot be reused.
    Unfit,
    /// It is not the recycler's class, or it changed since it was chosen.
    Other,
}

/// What recycler `slot` says of class `tp`.
#[inline(always)]
pub(crate) fn find(py: Python<'_>, slot: usize, tp: *mut ffi::PyTypeObject) -> Found {
    RECYCLERS.with(py, |all| {
        let Some(recycler) = all.get(slot).and_then(Option::as_ref).filter(|r| r.class.as_ptr() == tp.cast()) else { return Found::Other };
        let Some(reuse) = &recycler.reuse else { return Found::Unfit };
        // SAFETY: the recycler's class, alive (held by it), read with the GIL held.
        if unsafe { (*tp).tp_version_tag } != reuse.tag {
            return Found::Other;
        }
        Found::Current(reuse.info.clone_ref(py), reuse.shape)
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
        let reuse = all.get_mut(slot)?.as_mut().filter(|r| r.class.as_ptr() == tp.cast())?.reuse.as_mut()?;
        reuse.count = reuse.count.checked_sub(1)?;
        let obj = reuse.kept.get(reuse.count).copied()?;
        Some((tp, obj, reuse.shape, reuse.new_reference))
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
        let Some(reuse) = all.iter_mut().flatten().find(|r| r.class.as_ptr() == tp.cast()).and_then(|r| r.reuse.as_mut()) else { return false };
        let fits = data.info().as_ptr() == reuse.info.as_ptr() && data.is_tail_at(py, reuse.shape.tail_of(obj));
        match reuse.kept.get_mut(reuse.count) {
            Some(place) if fits => {
                *place = obj;
                reuse.count = reuse.count.saturating_add(1);
                true
            }
            _ => false,
        }
    })
}
