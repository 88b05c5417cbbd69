//! Loading shared libraries and resolving their symbols, reporting the loader's own
//! error text.
//!
//! Handles are raw `dlopen` handles so that they can be shown to Python as integers
//! (ctypes' `_handle`) and handed back (`CDLL(name, handle=h)`). A handle is never
//! closed here: like ctypes, ferrotypes keeps libraries loaded for the life of the
//! process, because function pointers into them may outlive any Python object.

use std::ffi::{c_int, c_void, OsStr};

use libloading::os::unix::Library;

/// `RTLD_LOCAL`, as the platform defines it.
pub const RTLD_LOCAL: c_int = libc::RTLD_LOCAL;
/// `RTLD_GLOBAL`, as the platform defines it.
pub const RTLD_GLOBAL: c_int = libc::RTLD_GLOBAL;
/// `RTLD_NOW`, added to every mode as ctypes does.
pub const RTLD_NOW: c_int = libc::RTLD_NOW;

/// Why a library or symbol was not found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LoadError {
    /// The name has a NUL byte before its end: C would read only the part before it
    /// and load or resolve something else than was asked for.
    NulInName,
    /// The loader's own message.
    Loader(String),
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LoadError::NulInName => f.write_str("embedded null byte"),
            LoadError::Loader(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for LoadError {}

/// Loads `path` (or the main program for `None`) with `dlopen` and `mode | RTLD_NOW`,
/// returning the raw handle or the loader's message.
pub fn open(path: Option<&OsStr>, mode: c_int) -> Result<*mut c_void, LoadError> {
    if path.is_some_and(|p| p.as_encoded_bytes().contains(&0)) {
        return Err(LoadError::NulInName);
    }
    // SAFETY: dlopen runs the library's initialisers; loading a library is inherently
    // trusting its code, exactly as ctypes does. libloading serialises dlerror access.
    let lib = unsafe { Library::open(path, mode | RTLD_NOW) }.map_err(loader_message)?;
    Ok(lib.into_raw())
}

/// Resolves `name` in the library behind `handle`, returning its address or the
/// loader's message.
///
/// # Safety
/// `handle` must be a live handle from `open` or from `dlopen` itself (or
/// `RTLD_DEFAULT`/`RTLD_NEXT`): `dlsym` reads through it.
pub unsafe fn symbol(handle: *mut c_void, name: &str) -> Result<*mut c_void, LoadError> {
    if name.as_bytes().contains(&0) {
        return Err(LoadError::NulInName);
    }
    // SAFETY: a live handle (the caller's promise); the Library is turned back into
    // the raw handle below without running its Drop, so the library stays loaded.
    let lib = unsafe { Library::from_raw(handle) };
    // SAFETY: we read the symbol's address only; no value of type T is produced.
    let found = unsafe { lib.get::<*mut c_void>(name.as_bytes()) }
        .map(|sym| *sym)
        .map_err(loader_message);
    let _ = lib.into_raw();
    found
}

/// The text of the loader's error, without libloading's own prefix.
fn loader_message(err: libloading::Error) -> LoadError {
    use std::error::Error;
    LoadError::Loader(match err.source() {
        Some(inner) => inner.to_string(),
        None => err.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn main_program_exports_libc() {
        let h = open(None, RTLD_LOCAL).expect("dlopen(NULL)");
        // SAFETY: h was just returned by open.
        assert!(!unsafe { symbol(h, "strlen") }.unwrap().is_null());
    }

    #[test]
    fn missing_library_reports_loader_text() {
        let err = open(Some(OsStr::new("libno_such_lib_ft.so")), RTLD_LOCAL).unwrap_err();
        assert!(err.to_string().contains("libno_such_lib_ft.so"), "{err}");
    }

    #[test]
    fn missing_symbol_reports_loader_text() {
        let h = open(None, RTLD_LOCAL).unwrap();
        // SAFETY: h was just returned by open.
        let err = unsafe { symbol(h, "no_such_symbol_ft") }.unwrap_err();
        assert!(err.to_string().contains("no_such_symbol_ft"), "{err}");
    }

    #[test]
    fn names_with_nul_bytes_are_refused() {
        assert_eq!(open(Some(OsStr::new("libc.so.6\0junk")), RTLD_LOCAL), Err(LoadError::NulInName));
        let h = open(None, RTLD_LOCAL).unwrap();
        // SAFETY: a handle from open.
        assert_eq!(unsafe { symbol(h, "strlen\0junk") }, Err(LoadError::NulInName));
    }
}
