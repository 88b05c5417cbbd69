//! `_CData`: the base of every ctypes-like instance — a block of C memory it owns or
//! borrows, the object whose memory it borrows (`_b_base_`), and the objects it keeps
//! alive (`_objects`).
//!
//! An instance owns its bytes in one of two places: new instances in their object's
//! own allocation, after its fields (the tail, which `instances` allocates: one
//! allocation where ctypes makes two above 16 bytes), the rest — resized ones, those
//! too large for Python's small-object allocator, and those PyO3 builds — in a
//! zeroed heap block. What it does not do: interpret the bytes — the families built
//! on it (simple, pointer, function) do that.

use pyo3::exceptions::{PyBufferError, PyMemoryError, PyTypeError, PyValueError};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::pyclass::{PyTraverseError, PyVisit};
use pyo3::types::{PyDict, PyTuple, PyType};

use crate::support::gil_cell::GilCell;
use crate::types::typeinfo::{class_info, TypeInfo};

/// The alignment every `PyMem_Calloc` block has on 64-bit CPython, and the strictest
/// a C type has here (`long double`; records and arrays inherit their members').
const PYMEM_ALIGN: usize = 16;

/// The fewest zeroed bytes an instance's memory has, whatever its type's size: ctypes
/// keeps an instance of up to 16 bytes in a 16-byte zeroed buffer, so C that reads a
/// little past a small object (`strlen` of a `byref(c_char(b"x"))`, an `int` read from
/// an empty array) finds zeros there with ctypes, and must with ferrotypes too.
pub const LEAST_ZEROED: usize = 16;

/// A zeroed block of `size` bytes (at least [`LEAST_ZEROED`]) from Python's allocator (`PyMem_Calloc`, whose
/// blocks are 16-byte aligned and, up to 512 bytes, much cheaper than the system's),
/// to be freed by a [`Memory`] owning it. Called with the GIL held: instances are
/// created and freed only under it.
fn zeroed_block(size: usize, align: usize) -> PyResult<*mut u8> {
    if align > PYMEM_ALIGN {
        return Err(PyValueError::new_err(format!("cannot allocate memory aligned to {align} bytes (at most {PYMEM_ALIGN})")));
    }
    // SAFETY: called with the GIL held (see above); any size is valid.
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
    base: Option<Py<PyAny>>,
    /// Where this instance sits in `base` (field or element index; ctypes' `b_index`),
    /// which names its entries in the root's `_objects`.
    index: usize,
    objects: GilCell<Option<Py<PyAny>>>,
    info: Py<TypeInfo>,
}

/// What a buffer view of an instance points its `format` and `shape` at; owned by the
/// view (through `Py_buffer.internal`) and freed when it is released.
struct ExportedLayout {
    format: std::ffi::CString,
    shape: Vec<ffi::Py_ssize_t>,
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
        let info = class_info(cls).ok_or_else(|| PyTypeError::new_err("abstract class"))?;
        info.get().mark_final();
        Ok(info.unbind())
    }

    /// Zeroed memory of the type's size in a heap block, owned by the instance.
    pub fn owned(info: Py<TypeInfo>) -> PyResult<CData> {
        let (size, align) = {
            let i = info.get();
            (i.size, i.align)
        };
        Ok(CData::with_memory(info, Memory::new(zeroed_block(size, align)?, Owner::Heap), size, None))
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

    #[inline]
    fn with_memory(info: Py<TypeInfo>, memory: Memory, size: usize, base: Option<Py<PyAny>>) -> CData {
        CData { memory: GilCell::new(memory), size: GilCell::new(size), base, index: 0, objects: GilCell::new(None), info }
    }

    /// The address of the instance's bytes.
    #[inline]
    pub fn address(&self, py: Python<'_>) -> *mut u8 {
        self.memory.with(py, |m| m.address)
    }

    /// The number of bytes (the type's size, or more after `resize`).
    pub fn size(&self, py: Python<'_>) -> usize {
        self.size.get(py)
    }

    /// The class's layout info.
    pub fn info(&self) -> &Py<TypeInfo> {
        &self.info
    }

    /// This view placed at position `index` inside its base (see [`CData::keep_ref`]).
    pub fn at_index(mut self, index: usize) -> CData {
        self.index = index;
        self
    }

    /// Keeps `keep` alive as long as the memory `slf` lives in (ctypes' `KeepRef`).
    ///
    /// The objects are held by the root of the `_b_base_` chain, the instance that
    /// owns the memory. When its type has sub-objects (a record, array or pointer),
    /// they are a dict keyed by the path to the slot — `index` in hex, then the
    /// index of each view on the way up, joined by ':' — so that storing into a slot
    /// again replaces what the slot kept before. A simple instance keeps one object.
    pub fn keep_ref(slf: &Bound<'_, CData>, index: usize, keep: Option<Py<PyAny>>) -> PyResult<()> {
        let py = slf.py();
        let Some(keep) = keep.filter(|k| !k.is_none(py)) else { return Ok(()) };
        let mut digits = [0; HEX_DIGITS];
        let Some(mut parent) = slf.get().parent(py) else {
            return slf.get().file_kept(py, hex(index, &mut digits), keep);
        };
        let mut key = hex(index, &mut digits).to_owned();
        let mut root = slf.clone();
        loop {
            key.push(':');
            key.push_str(hex(root.get().index, &mut digits));
            root = parent;
            match root.get().parent(py) {
                Some(next) => parent = next,
                None => break,
            }
        }
        root.get().file_kept(py, &key, keep)
    }

    /// [`CData::keep_ref`] for an instance still being built (no Python object yet,
    /// no `_b_base_`): keeps `keep` in slot `index`.
    pub fn keep_ref_new(&self, py: Python<'_>, index: usize, keep: Py<PyAny>) -> PyResult<()> {
        self.file_kept(py, hex(index, &mut [0; HEX_DIGITS]), keep)
    }

    /// Files `keep` under `key` in this (root) instance's `_objects`: in the dict of a
    /// type with sub-objects, else as the one object kept.
    fn file_kept(&self, py: Python<'_>, key: &str, keep: Py<PyAny>) -> PyResult<()> {
        match self.container_objects(py)? {
            Some(dict) => dict.set_item(key, keep),
            None => {
                drop(self.objects.replace(py, Some(keep)));
                Ok(())
            }
        }
    }

    /// The instance that owns the memory `slf` lives in: the end of its `_b_base_`
    /// chain of C data.
    fn root<'py>(slf: &Bound<'py, CData>) -> Bound<'py, CData> {
        let mut root = slf.clone();
        while let Some(parent) = root.get().parent(slf.py()) {
            root = parent;
        }
        root
    }

    /// What storing `slf` somewhere must keep alive: the objects of the memory it
    /// lives in (ctypes' `GetKeepedObjects`).
    pub fn kept_objects(slf: &Bound<'_, CData>) -> PyResult<Option<Py<PyAny>>> {
        let py = slf.py();
        let root = CData::root(slf);
        root.get().container_objects(py)?;
        Ok(root.get().objects.get_obj(py))
    }

    /// Makes `target` keep what `source` keeps, in the very same dict, plus `source`
    /// itself under its id (what `cast` does, so that the cast pointer keeps its
    /// source alive and both see later stores).
    pub fn share_objects(source: &Bound<'_, CData>, target: &Bound<'_, CData>) -> PyResult<()> {
        let py = source.py();
        let root = CData::root(source);
        let dict = match root.get().container_objects(py)? {
            Some(dict) => dict,
            None if root.get().objects.with(py, Option::is_none) => {
                let dict = PyDict::new(py);
                drop(root.get().objects.replace(py, Some(dict.clone().into_any().unbind())));
                dict
            }
            None => return Ok(()), // a simple instance keeping one object: nothing to share
        };
        dict.set_item(source.as_ptr() as usize, source)?;
        drop(target.get().objects.replace(py, Some(dict.into_any().unbind())));
        Ok(())
    }

    /// The C data instance whose memory this one views, if any.
    fn parent<'py>(&self, py: Python<'py>) -> Option<Bound<'py, CData>> {
        self.base.as_ref().and_then(|b| b.bind(py).cast::<CData>().ok()).cloned()
    }

    /// Creates the `_objects` dict of a type with sub-objects on first use; returns it
    /// when `_objects` is (still) such a dict.
    fn container_objects<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        if self.objects.with(py, Option::is_none) && self.info.get().keep_slots() > 0 {
            drop(self.objects.replace(py, Some(PyDict::new(py).into_any().unbind())));
        }
        Ok(self.objects.get_obj(py).and_then(|o| o.into_bound(py).cast_into_exact::<PyDict>().ok()))
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
        let block = zeroed_block(size, info.align)?;
        // SAFETY: both regions are valid for `current` bytes and do not overlap (the
        // block is fresh).
        unsafe { std::ptr::copy_nonoverlapping(self.address(py), block, current) };
        drop(self.memory.replace(py, Memory::new(block, Owner::Heap)));
        self.size.replace(py, size);
        Ok(())
    }

    /// `f` of the bytes, borrowed.
    pub fn with_bytes<R>(&self, py: Python<'_>, f: impl FnOnce(&[u8]) -> R) -> R {
        let (p, n) = (self.address(py), self.size(py));
        // SAFETY: as in `bytes`; the slice does not outlive this call.
        f(unsafe { std::slice::from_raw_parts(p, n) })
    }

    /// A copy of the bytes (MemoryError when there is no room for one).
    pub fn bytes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, pyo3::types::PyBytes>> {
        let (p, n) = (self.address(py), self.size(py));
        // SAFETY: the instance's memory is valid for its size for as long as it lives
        // (owned, or kept valid by `base` / the user's promise for from_address).
        crate::support::scalar::new_bytes(py, unsafe { std::slice::from_raw_parts(p, n) })
    }
}

#[pymethods]
impl CData {
    #[new]
    #[classmethod]
    #[pyo3(signature = (*_args, **_kwargs))]
    fn py_new(cls: &Bound<'_, PyType>, _args: &Bound<'_, PyTuple>, _kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<CData> {
        if cls.is(cls.py().get_type::<CData>()) {
            return Err(PyTypeError::new_err("abstract class"));
        }
        CData::for_class(cls)
    }

    /// The object whose memory this instance views, or None.
    #[getter(_b_base_)]
    fn b_base(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        self.base.as_ref().map(|b| b.clone_ref(py))
    }

    /// True when the instance owns its memory.
    #[getter(_b_needsfree_)]
    fn b_needsfree(&self, py: Python<'_>) -> bool {
        self.b_needsfree_py(py)
    }

    /// The objects kept alive by this instance.
    #[getter(_objects)]
    fn objects(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        self.objects.get_obj(py)
    }

    fn __ctypes_from_outparam__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    /// The buffer protocol: the instance's memory, writable, with the PEP 3118 layout
    /// of its type ([`TypeInfo::buffer_layout`]). As in ctypes, the view always
    /// carries the format and shape, and spans the whole memory (past the type's size
    /// after `resize`).
    ///
    /// # Safety
    /// Called by CPython with `view` pointing at a `Py_buffer` to fill.
    unsafe fn __getbuffer__(slf: Bound<'_, Self>, view: *mut ffi::Py_buffer, _flags: std::ffi::c_int) -> PyResult<()> {
        if view.is_null() {
            return Err(PyBufferError::new_err("no Py_buffer to fill"));
        }
        let py = slf.py();
        let me = slf.get();
        let layout = me.info.get().buffer_layout(py)?;
        let format = std::ffi::CString::new(layout.format).map_err(|_| PyValueError::new_err("buffer format contains NUL"))?;
        let shape = layout.shape.iter().map(|&d| d as ffi::Py_ssize_t).collect();
        let exported = Box::new(ExportedLayout { format, shape });
        let len = ffi::Py_ssize_t::try_from(me.size(py)).map_err(|_| PyBufferError::new_err("instance too large to export"))?;
        let itemsize = ffi::Py_ssize_t::try_from(layout.itemsize).map_err(|_| PyBufferError::new_err("item too large to export"))?;
        let ndim = std::ffi::c_int::try_from(exported.shape.len()).map_err(|_| PyBufferError::new_err("too many dimensions"))?;
        // SAFETY: CPython passes a valid Py_buffer to fill. `format` and `shape` point
        // into the boxed layout, which `internal` owns until __releasebuffer__; the
        // memory stays valid while the view holds `obj` (a strong reference), and
        // `resize` refuses while `exports` is non-zero.
        unsafe {
            (*view).buf = me.address(py).cast();
            (*view).len = len;
            (*view).readonly = 0;
            (*view).itemsize = itemsize;
            (*view).ndim = ndim;
            (*view).format = exported.format.as_ptr().cast_mut();
            (*view).shape = if ndim == 0 { std::ptr::null_mut() } else { exported.shape.as_ptr().cast_mut() };
            (*view).strides = std::ptr::null_mut();
            (*view).suboffsets = std::ptr::null_mut();
            (*view).internal = Box::into_raw(exported).cast();
            (*view).obj = slf.clone().into_any().into_ptr();
        }
        me.memory.with_mut(py, |m| m.exports += 1);
        Ok(())
    }

    /// Frees what [`__getbuffer__`] allocated for the view.
    ///
    /// # Safety
    /// Called by CPython once per view filled by `__getbuffer__`.
    unsafe fn __releasebuffer__(slf: Bound<'_, Self>, view: *mut ffi::Py_buffer) {
        // SAFETY: `internal` is the box __getbuffer__ leaked for this view, released
        // exactly once (CPython calls this once per successful __getbuffer__).
        unsafe {
            let internal = (*view).internal.cast::<ExportedLayout>();
            if !internal.is_null() {
                drop(Box::from_raw(internal));
                (*view).internal = std::ptr::null_mut();
            }
        }
        let me = slf.get();
        me.memory.with_mut(slf.py(), |m| m.exports = m.exports.saturating_sub(1));
    }

    /// Pickling, as in ctypes: `(_unpickle, (type, (__dict__, bytes of the memory)))`.
    /// Instances holding pointers are refused: an address is meaningless elsewhere.
    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyTuple>> {
        let py = slf.py();
        if slf.get().info.get().contains_pointers() {
            return Err(PyValueError::new_err("ctypes objects containing pointers cannot be pickled"));
        }
        let dict = slf.getattr(pyo3::intern!(py, "__dict__"))?;
        let data = slf.get().bytes(py)?;
        let unpickle = py.import("ferrotypes._ctypes")?.getattr(pyo3::intern!(py, "_unpickle"))?;
        let state = PyTuple::new(py, [dict, data.into_any()])?;
        PyTuple::new(py, [unpickle, PyTuple::new(py, [slf.get_type().into_any(), state.into_any()])?.into_any()])
    }

    /// Restores a pickled state: copies the bytes (at most the instance's size) into
    /// the memory and updates `__dict__`.
    fn __setstate__(slf: &Bound<'_, Self>, dict: &Bound<'_, PyAny>, data: &Bound<'_, PyAny>) -> PyResult<()> {
        let py = slf.py();
        let dict = dict.cast::<PyDict>().map_err(|_| {
            PyTypeError::new_err(format!("argument 1 must be dict, not {}", crate::support::scalar::type_name(dict)))
        })?;
        let bytes: Vec<u8> = if let Ok(b) = data.cast::<pyo3::types::PyBytes>() {
            b.as_bytes().to_vec()
        } else if let Ok(s) = data.cast::<pyo3::types::PyString>() {
            s.to_str()?.as_bytes().to_vec()
        } else {
            return Err(PyTypeError::new_err(format!(
                "argument 2 must be read-only bytes-like object, not {}",
                crate::support::scalar::type_name(data)
            )));
        };
        let me = slf.get();
        let n = bytes.len().min(me.size(py));
        // SAFETY: the instance's memory is valid for its size, and n is at most that;
        // `bytes` is a separate allocation.
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), me.address(py), n) };
        let own = slf.getattr(pyo3::intern!(py, "__dict__"))?;
        let own = own.cast::<PyDict>().map_err(|_| {
            PyTypeError::new_err(format!("{}.__dict__ must be a dictionary, not {}", slf.get_type().name().map(|n| n.to_string()).unwrap_or_default(), crate::support::scalar::type_name(&own)))
        })?;
        own.update(dict.as_mapping())
    }

    /// The references the collector must see (ctypes' `PyCData_traverse`): what the
    /// instance keeps alive and the instance it views.
    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        // SAFETY: called by the collector through tp_traverse; the closure only visits.
        unsafe { self.objects.with_in_traverse(|o| visit.call(o)) }?;
        visit.call(&self.base)
    }

    /// Breaks cycles through `_objects`. `_b_base_` stays: it keeps the viewed memory
    /// valid, and a cycle through it always passes through something else clearable.
    fn __clear__(&self, py: Python<'_>) {
        drop(self.objects.replace(py, None));
    }

    /// C data is mutable, so, as in ctypes, it is not hashable.
    fn __hash__(slf: &Bound<'_, Self>) -> PyResult<isize> {
        Err(PyTypeError::new_err(format!("unhashable type: '{}'", slf.get_type().name()?)))
    }
}

impl CData {
    /// Whether the instance refers to other Python objects (a `_b_base_` or
    /// `_objects`), whose release could run arbitrary deallocators; its type info
    /// aside, which its class also holds.
    pub fn refers_to_objects(&self, py: Python<'_>) -> bool {
        self.base.is_some() || self.objects.with(py, |o| o.is_some())
    }

    /// Drops a CData that does not [refer to objects](Self::refers_to_objects), from a
    /// deallocator: PyO3 does not count such a caller as attached, and would defer
    /// the release of the type info to its next entry, through a locked pool.
    pub fn release_leaf(self) {
        let CData { info, .. } = self; // the other parts hold no Python object
        // SAFETY: deallocators run with the GIL held; `into_ptr` hands over the
        // reference this instance held.
        unsafe { ffi::Py_DECREF(info.into_ptr()) };
    }

    /// True when the instance owns its memory (ctypes' `_b_needsfree_`).
    pub fn b_needsfree_py(&self, py: Python<'_>) -> bool {
        self.memory.with(py, |m| m.owner != Owner::Other)
    }
}

/// The most hex digits of a `usize`.
const HEX_DIGITS: usize = 2 * size_of::<usize>();

/// `n` in lowercase hex, written at the end of `digits` (a part of a keep-alive key,
/// made without a heap allocation: one is made per pointer or string stored).
fn hex(mut n: usize, digits: &mut [u8; HEX_DIGITS]) -> &str {
    let mut start = HEX_DIGITS;
    loop {
        start -= 1;
        digits[start] = b"0123456789abcdef"[n & 0xf];
        n >>= 4;
        if n == 0 {
            break;
        }
    }
    std::str::from_utf8(&digits[start..]).unwrap_or_default()
}

/// Rebuilds a pickled instance: `typ.__new__(typ)`, then `__setstate__(*state)`.
#[pyfunction]
pub fn _unpickle<'py>(typ: &Bound<'py, PyAny>, state: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let py = typ.py();
    let state = state.cast::<PyTuple>().map_err(|_| {
        PyTypeError::new_err(format!("state must be a tuple, not {}", crate::support::scalar::type_name(state)))
    })?;
    let obj = typ.call_method1(pyo3::intern!(py, "__new__"), (typ,))?;
    obj.getattr(pyo3::intern!(py, "__setstate__"))?.call1(state)?;
    Ok(obj)
}
