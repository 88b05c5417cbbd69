//! Keeping objects alive with C memory (ctypes' `_objects`): what a pointer or a
//! string stored into an instance points into must live as long as the memory it was
//! stored in, which the root of the `_b_base_` chain owns.

use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::data::cdata::CData;

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
    let Some(mut parent) = base_data(slf.get(), py) else {
        return file_kept(slf.get(), py, Key::Index(index), keep);
    };
    let mut digits = [0; HEX_DIGITS];
    let mut key = hex(index, &mut digits).to_owned();
    let mut root = slf.clone();
    loop {
        key.push(':');
        key.push_str(hex(root.get().index, &mut digits));
        root = parent;
        match base_data(root.get(), py) {
            Some(next) => parent = next,
            None => break,
        }
    }
    file_kept(root.get(), py, Key::Path(&key), keep)
}

/// [`keep_ref`] for an instance still being built (no Python object yet,
/// no `_b_base_`): keeps `keep` in slot `index`.
pub fn keep_ref_new(data: &CData, py: Python<'_>, index: usize, keep: Py<PyAny>) -> PyResult<()> {
    file_kept(data, py, Key::Index(index), keep)
}

/// Where a kept object is filed in a root's `_objects` dict: a slot of the root
/// itself (its key made only when there is a dict: a simple instance has none), or
/// the path from a view.
enum Key<'a> {
    Index(usize),
    Path(&'a str),
}

/// Files `keep` under `key` in this (root) instance's `_objects`: in the dict of a
/// type with sub-objects, else as the one object kept. What it replaces is released
/// at once, not left to PyO3's pool: fast paths call this with a token PyO3 does not
/// count as attached.
fn file_kept(data: &CData, py: Python<'_>, key: Key<'_>, keep: Py<PyAny>) -> PyResult<()> {
    match container_objects(data, py)? {
        Some(dict) => match key {
            Key::Index(index) => dict.set_item(hex(index, &mut [0; HEX_DIGITS]), keep),
            Key::Path(path) => dict.set_item(path, keep),
        },
        None => {
            drop(data.objects.replace(py, Some(keep)).map(|old| old.into_bound(py)));
            Ok(())
        }
    }
}

/// The instance that owns the memory `slf` lives in: the end of its `_b_base_`
/// chain of C data.
fn memory_owner<'py>(slf: &Bound<'py, CData>) -> Bound<'py, CData> {
    let mut root = slf.clone();
    while let Some(parent) = base_data(root.get(), slf.py()) {
        root = parent;
    }
    root
}

/// What storing `slf` somewhere must keep alive: the objects of the memory it
/// lives in (ctypes' `GetKeepedObjects`).
pub fn kept_objects(slf: &Bound<'_, CData>) -> PyResult<Option<Py<PyAny>>> {
    let py = slf.py();
    let root = memory_owner(slf);
    container_objects(root.get(), py)?;
    Ok(root.get().objects.get_obj(py))
}

/// Makes `target` keep what `source` keeps, in the very same dict, plus `source`
/// itself under its id (what `cast` does, so that the cast pointer keeps its
/// source alive and both see later stores).
pub fn share_objects(source: &Bound<'_, CData>, target: &Bound<'_, CData>) -> PyResult<()> {
    let py = source.py();
    let root = memory_owner(source);
    let dict = match container_objects(root.get(), py)? {
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
fn base_data<'py>(data: &CData, py: Python<'py>) -> Option<Bound<'py, CData>> {
    data.base.as_ref().and_then(|b| b.bind(py).cast::<CData>().ok()).cloned()
}

/// Creates the `_objects` dict of a type with sub-objects on first use; returns it
/// when `_objects` is (still) such a dict.
fn container_objects<'py>(data: &CData, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
    if data.objects.with(py, Option::is_none) && data.info().get().keep_slots() > 0 {
        drop(data.objects.replace(py, Some(PyDict::new(py).into_any().unbind())));
    }
    Ok(data.objects.get_obj(py).and_then(|o| o.into_bound(py).cast_into_exact::<PyDict>().ok()))
}

/// The most hex digits of a `usize`.
const HEX_DIGITS: usize = 2 * size_of::<usize>();

/// `n` in lowercase hex, written at the end of `digits` (a part of a keep-alive key,
/// made without a heap allocation: one is made per pointer or string stored).
// `n & 0xf` is below 16; `start` steps down once per hex digit of `n`, of which a
// usize has at most HEX_DIGITS.
#[allow(clippy::indexing_slicing, clippy::arithmetic_side_effects)]
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_lowercase_hex_without_leading_zeros() {
        let mut digits = [0; HEX_DIGITS];
        assert_eq!(hex(0, &mut digits), "0");
        assert_eq!(hex(0xffff_ffff, &mut digits), "ffffffff");
        assert_eq!(hex(0x1a, &mut digits), "1a");
        assert_eq!(hex(usize::MAX, &mut digits).len(), HEX_DIGITS);
    }
}
