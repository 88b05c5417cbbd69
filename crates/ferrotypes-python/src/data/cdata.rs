//! `_CData`: the base of every ctypes-like instance — a block of C memory it owns or
//! borrows, the object whose memory it borrows (`_b_base_`), and the objects it keeps
//! alive (`_objects`). This file is the memory; keeping objects alive is
//! `keepalive`'s, the buffer protocol `buffer_export`'s, pickling `pickle`'s, and
//! what Python sees of the class `cdata_methods`'.
//!
//! An instance owns its bytes in one of two places: new instances in their object's
//! own allocation, after its fields (the tail, which `instances` allocates: one
//! allocation where ctypes makes two above 16 bytes), the rest — resized ones, those
//! too large for Python's small-object allocator, and those PyO3 builds — in a
//! zeroed heap block. What it does not do: interpret the bytes — the families built
//! on it (simple, pointer, function) do that.
//!
//! Memory that can be taken back (an arena's, an owned object's: see `liveness`) is
//! marked revocable, and is reached through [`CData::live_address`], which asks the
//! lease at the end of the instance's `_b_base_` chain whether it may still be used.
//! For every other instance that is one compare of the owner tag.

use pyo3::exceptions::{PyBufferError, PyMemoryError, PyTypeError, PyValueError};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::PyType;

use crate::data::liveness::Lease;
use crate::support::gil_cell::GilCell;
use crate::types::typeinfo::{info_of_class, TypeInfo};

/// The fewest zeroed bytes an instance's memory has, whatever its type's size: ctypes
/// keeps an instance of up to 16 bytes in a 16-byte zeroed buffer, so C that reads a
/// little past a small object (`strlen` of a `byref(c_char(b"x"))`, an `int` read from
/// an empty array) finds zeros there with ctypes, and must with ferrotypes too.
pub const LEAST_ZEROED: usize = 16;

/// A zeroed block of `size` bytes (at least [`LEAST_ZEROED`]) from Python's allocator (`PyMem_Calloc`, whose
/// blocks are 16-byte aligned and, up to 512 bytes, much cheaper than the system's),
/// to be freed by a [`Memory`] owning it. Called with the GIL held: instances are
/// created and freed only under it. A type aligned past 16 bytes (`aligned(64)` from
/// C declarations) gets a 16-byte aligned block, as ctypes' instances and the
/// instances kept in the object's own allocation do.
pub(crate) fn zeroed_block(size: usize) -> PyResult<*mut u8> {
    // SAFETY: instances are created only with the GIL held, as PyMem_Calloc
    // requires; any size is valid.
    let ptr = unsafe { ffi::PyMem_Calloc(1, size.max(LEAST_ZEROED)) }.cast::<u8>();
    if ptr.is_null() {
        return Err(PyMemoryError::new_err(format!("out of memory allocating {size} bytes")));
    }
    Ok(ptr)
}

/// Who frees an instance's bytes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Owner {
    /// The instance's object: they are its tail, freed with it.
    Object,
    /// The instance: a [`zeroed_block`], freed when the `CData` is dropped.
    Heap,
    /// Someone else (`from_address`, the structure a field view is in, ...).
    Other,
    /// Someone else, who may take the memory back: the [`Lease`] at the end of the
    /// instance's `_b_base_` chain says whether it may still be used.
    Revocable,
}

/// An instance's bytes: where they are, who frees them, and how many buffer views of
/// them are open. Two words, so that an instance is smaller than ctypes'.
struct Memory {
    address: *mut u8,
    owner: Owner,
    /// Buffer views not yet released; `resize` refuses while any exist.
    exports: u32,
}

impl Memory {
    fn new(address: *mut u8, owner: Owner) -> Memory {
        Memory { address, owner, exports: 0 }
    }
}

impl Drop for Memory {
    fn drop(&mut self) {
        if self.owner == Owner::Heap {
            // SAFETY: the address came from zeroed_block (PyMem_Calloc) and is freed
            // once, here, with the GIL held.
            unsafe { ffi::PyMem_Free(self.address.cast()) };
        }
    }
}

/// The base of every ctypes-like instance.
#[pyclass(subclass, frozen, module = "ferrotypes._ctypes", name = "_CDataBase")]
pub struct CData {
    memory: GilCell<Memory>,
    size: GilCell<usize>,
    /// The object whose memory this instance views (`_b_base_`), if any.
    pub(super) base: Option<Py<PyAny>>,
    /// Where this instance sits in `base` (field or element index; ctypes' `b_index`),
    /// which names its entries in the root's `_objects`.
    pub(super) index: usize,
    /// The objects kept alive with the memory (`_objects`: see `keepalive`).
    pub(super) objects: GilCell<Option<Py<PyAny>>>,
    info: Py<TypeInfo>,
}

impl CData {
    /// A new instance of class `cls`: zeroed memory of the class's size, owned.
    #[inline]
    pub fn for_class(cls: &Bound<'_, PyType>) -> PyResult<CData> {
        CData::owned(CData::class_info(cls)?)
    }

    /// The info of `cls`, about to have an instance: its layout is final from now on.
    #[inline]
    pub fn class_info(cls: &Bound<'_, PyType>) -> PyResult<Py<TypeInfo>> {
        let info = info_of_class(cls).ok_or_else(|| PyTypeError::new_err("abstract class"))?;
        info.get().mark_final();
        Ok(info.unbind())
    }

    /// Zeroed memory of the type's size in a heap block, owned by the instance.
    pub fn owned(info: Py<TypeInfo>) -> PyResult<CData> {
        let size = info.get().size;
        Ok(CData::with_memory(info, Memory::new(zeroed_block(size)?, Owner::Heap), size, None))
    }

    /// The type's size of memory at `tail`, in the allocation of the object that is
    /// to hold this `CData`, owned by it.
    ///
    /// # Safety
    /// `tail` must be valid for the type's size, zeroed, aligned for the type, and
    /// freed with the object this `CData` is written into (and not before).
    #[inline]
    pub unsafe fn in_tail(info: Py<TypeInfo>, tail: *mut u8) -> CData {
        let size = info.get().size;
        CData::with_memory(info, Memory::new(tail, Owner::Object), size, None)
    }

    /// A view of `size_of(type)` bytes at `address`, kept valid by `base` if given.
    pub fn borrowed(info: Py<TypeInfo>, address: *mut u8, base: Option<Py<PyAny>>) -> CData {
        let size = info.get().size;
        CData::with_memory(info, Memory::new(address, Owner::Other), size, base)
    }

    /// A view of `size_of(type)` bytes at `address` that `base` may take back: a
    /// [`Lease`], or a revocable instance (whose memory this view is part of).
    pub fn revocable(info: Py<TypeInfo>, address: *mut u8, base: Py<PyAny>) -> CData {
        let size = info.get().size;
        CData::with_memory(info, Memory::new(address, Owner::Revocable), size, Some(base))
    }

    #[inline]
    fn with_memory(info: Py<TypeInfo>, memory: Memory, size: usize, base: Option<Py<PyAny>>) -> CData {
        CData { memory: GilCell::new(memory), size: GilCell::new(size), base, index: 0, objects: GilCell::new(None), info }
    }

    /// The address of the instance's bytes, whether or not they may still be used:
    /// for reading or writing them, [`live_address`](Self::live_address).
    #[inline]
    pub fn address(&self, py: Python<'_>) -> *mut u8 {
        self.memory.with(py, |m| m.address)
    }

    /// Whether the instance's bytes are the tail of its own object, at `address` (see
    /// [`CData::in_tail`]).
    #[inline]
    pub fn is_tail_at(&self, py: Python<'_>, address: *mut u8) -> bool {
        self.memory.with(py, |m| m.owner == Owner::Object && m.address == address)
    }

    /// The address of the instance's bytes, to read or write them: `ValueError` when
    /// they were taken back (the instance outlived its arena, or was released).
    #[inline]
    pub fn live_address(&self, py: Python<'_>) -> PyResult<*mut u8> {
        let (address, owner) = self.memory.with(py, |m| (m.address, m.owner));
        if owner == Owner::Revocable {
            self.check_lease(py)?;
        }
        Ok(address)
    }

    /// The address of the instance's bytes for fast paths, which leave revocable
    /// memory (`None`) to their general path and its [`live_address`](Self::live_address).
    #[inline]
    pub fn plain_address(&self, py: Python<'_>) -> Option<*mut u8> {
        self.memory.with(py, |m| (m.owner != Owner::Revocable).then_some(m.address))
    }

    /// Whether the memory may be taken back (an arena's, an owned object's).
    #[inline]
    pub fn is_revocable(&self, py: Python<'_>) -> bool {
        self.memory.with(py, |m| m.owner == Owner::Revocable)
    }

    /// The lease of revocable memory: the end of the `_b_base_` chain, through the
    /// revocable instances this one is part of.
    pub fn lease<'py>(&self, py: Python<'py>) -> Option<Bound<'py, Lease>> {
        if !self.is_revocable(py) {
            return None;
        }
        let mut base = self.base.as_ref()?.bind(py).clone();
        loop {
            if let Ok(lease) = base.cast::<Lease>() {
                return Some(lease.clone());
            }
            let next = {
                let parent = base.cast::<CData>().ok()?.get();
                if !parent.is_revocable(py) {
                    return None;
                }
                parent.base.as_ref()?.bind(py).clone()
            };
            base = next;
        }
    }

    /// The error of using `obj`'s memory, when it is C data whose memory was taken
    /// back: for conversions that otherwise answer every failure with "wrong type".
    #[cold]
    pub fn freed_error(obj: &Bound<'_, PyAny>) -> Option<PyErr> {
        obj.cast::<CData>().ok()?.get().live_address(obj.py()).err()
    }

    #[cold]
    fn check_lease(&self, py: Python<'_>) -> PyResult<()> {
        self.lease(py).map_or(Ok(()), |lease| lease.get().check_alive(py))
    }

    /// The number of bytes (the type's size, or more after `resize`).
    pub fn size(&self, py: Python<'_>) -> usize {
        self.size.get(py)
    }

    /// The class's layout info.
    pub fn info(&self) -> &Py<TypeInfo> {
        &self.info
    }

    /// This view placed at position `index` inside its base (see [`keepalive::keep_ref`](crate::data::keepalive::keep_ref)).
    pub fn at_index(mut self, index: usize) -> CData {
        self.index = index;
        self
    }

    /// Counts a buffer view of the memory opened (`true`) or released: `resize`
    /// refuses while any is open.
    pub(super) fn count_export(&self, py: Python<'_>, opened: bool) {
        self.memory.with_mut(py, |m| m.exports = if opened { m.exports.saturating_add(1) } else { m.exports.saturating_sub(1) });
    }

    /// Grows the memory to `size` bytes (ctypes' `resize`), copying the old bytes.
    pub fn resize(&self, py: Python<'_>, size: usize) -> PyResult<()> {
        let info = self.info.get();
        if size < info.size {
            return Err(PyValueError::new_err(format!("minimum size is {}", info.size)));
        }
        if !self.b_needsfree_py(py) {
            return Err(PyValueError::new_err("Memory cannot be resized because this object doesn't own it"));
        }
        // ctypes moves the memory under live views (a use-after-free); ferrotypes
        // refuses, as bytearray does.
        let exports = self.memory.with(py, |m| m.exports);
        if exports > 0 {
            return Err(PyBufferError::new_err(format!("cannot resize: the memory is exported to {exports} buffer view(s); release them first")));
        }
        let current = self.size.get(py);
        if size <= current {
            self.size.replace(py, size);
            return Ok(());
        }
        let block = zeroed_block(size)?;
        // SAFETY: both regions are valid for `current` bytes and do not overlap (the
        // block is fresh).
        unsafe { std::ptr::copy_nonoverlapping(self.live_address(py)?, block, current) };
        drop(self.memory.replace(py, Memory::new(block, Owner::Heap)));
        self.size.replace(py, size);
        Ok(())
    }

    /// `f` of the bytes, borrowed.
    pub fn with_bytes<R>(&self, py: Python<'_>, f: impl FnOnce(&[u8]) -> R) -> PyResult<R> {
        let (p, n) = (self.live_address(py)?, self.size(py));
        // SAFETY: the instance's memory is valid for its size while it lives (owned,
        // kept valid by `base`, or by the user's promise for from_address); the
        // slice does not outlive this call.
        Ok(f(unsafe { std::slice::from_raw_parts(p, n) }))
    }

    /// A copy of the bytes (MemoryError when there is no room for one).
    pub fn bytes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, pyo3::types::PyBytes>> {
        let (p, n) = (self.live_address(py)?, self.size(py));
        // SAFETY: the instance's memory is valid for its size for as long as it lives
        // (owned, or kept valid by `base` / the user's promise for from_address).
        crate::support::scalar::new_bytes(py, unsafe { std::slice::from_raw_parts(p, n) })
    }
}

impl CData {
    /// Whether the instance refers to other Python objects (a `_b_base_` or
    /// `_objects`), whose release could run arbitrary deallocators; its type info
    /// aside, which its class also holds.
    pub fn refers_to_objects(&self, py: Python<'_>) -> bool {
        self.base.is_some() || self.objects.with(py, |o| o.is_some())
    }

    /// Whether what the instance keeps in `_objects` is nothing or an exact `bytes`
    /// (what a `c_char_p` or `c_wchar_p` keeps), whose release runs no code and
    /// reaches no other object.
    pub fn keeps_at_most_bytes(&self, py: Python<'_>) -> bool {
        // SAFETY: a live object, whose type is read.
        self.objects.with(py, |o| o.as_ref().is_none_or(|o| unsafe { ffi::PyBytes_CheckExact(o.as_ptr()) } != 0))
    }

    /// Drops a CData that [keeps at most bytes](Self::keeps_at_most_bytes) and whose
    /// base, if any, others hold too, from a deallocator: PyO3 does not count such a
    /// caller as attached, and would defer the release of the type info, of a kept
    /// `bytes` and of the base to its next entry, through a locked pool.
    pub fn release_leaf(self) {
        let CData { info, base, mut objects, .. } = self; // the other parts hold no Python object
        // SAFETY: deallocators run with the GIL held; `into_ptr` hands over the
        // references this instance held (a kept object is an exact bytes, whose
        // release runs no code; the base is held by others too).
        unsafe {
            if let Some(kept) = objects.get_mut().take() {
                ffi::Py_DECREF(kept.into_ptr());
            }
            ffi::Py_DECREF(info.into_ptr());
            if let Some(base) = base {
                ffi::Py_DECREF(base.into_ptr());
            }
        }
    }

    /// True when the instance owns its memory (ctypes' `_b_needsfree_`).
    pub fn b_needsfree_py(&self, py: Python<'_>) -> bool {
        self.memory.with(py, |m| matches!(m.owner, Owner::Object | Owner::Heap))
    }
}

