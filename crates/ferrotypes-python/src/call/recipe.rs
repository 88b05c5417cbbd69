//! The call recipe: what a function's signature (`argtypes`, `restype`) is prepared
//! into, once, whenever it changes; every call then follows it.
//!
//! A recipe holds one [`ArgRecipe`] per declared parameter — the converter chosen for
//! its `argtypes` entry ([`ArgConv`], ctypes' rules), and the exact-type conversion
//! the quickest path reads inline ([`ExactArg`], when the converter has one) — and
//! where each value goes: a register or stack word when the core can call the
//! function without libffi (the register path, its loads in [`DirectPlan::args`]),
//! else a 16-byte slot libffi reads. The three ways a call goes are derived from it:
//!
//! 1. the quickest path ([`ExactCall`], made from the recipe when every parameter has
//!    an exact conversion and a register or stack word): each argument of an exact
//!    type is read inline into its word, no Python code runs, nothing extra is kept;
//! 2. the register path ([`ArgRecipe::register_word`]): the exact conversion when the
//!    argument allows it, else the converter ([`ArgConv::convert_into`]), then the same
//!    words;
//! 3. libffi: the converter, into slots.
//!
//! `f._recipe` shows a function's recipe. Three functions of the test library
//! (`tests/clib`), with their recipes (`tests/test_recipe.py` checks each):
//!
//! ```text
//! C:        double ft_mixed5(int a, double b, long c, float d, void *p)
//! argtypes: c_int, c_double, c_long, c_float, c_void_p
//! restype:  c_double
//! recipe:
//!   call: in registers, without libffi; the quickest path takes exact arguments
//!   arg 1 c_int: simple 'i'; exact: int -> rdi, low 32 bits sign-extended
//!   arg 2 c_double: simple 'd'; exact: float -> xmm0
//!   arg 3 c_long: simple 'l'; exact: int -> rsi
//!   arg 4 c_float: simple 'f'; exact: float -> xmm1, low 32 bits zero-extended
//!   arg 5 c_void_p: simple 'P'; exact: int, None, byref, address-holding instance -> rdx
//!   result c_double: its value, made straight from the result word
//! ```
//!
//! ```text
//! C:        int ft_point_sum(ft_point p)
//! argtypes: Point
//! restype:  c_int
//! recipe:
//!   call: in registers, without libffi; the quickest path takes exact arguments
//!   arg 1 Point: record of 8 bytes; exact: instance -> rdi
//!   result c_int: its value, made straight from the result word
//! ```
//!
//! ```text
//! C:        ft_point ft_point_swap(ft_point p)
//! argtypes: Point
//! restype:  Point
//! recipe:
//!   call: libffi
//!   arg 1 Point: record of 8 bytes -> slot 1 (its own bytes)
//!   result Point: an instance of Point holding the result's bytes
//! ```
//!
//! A record result goes through libffi; so do `long double`, records the register path
//! does not take, a converter whose C type only the argument tells (a user's
//! `from_param`: `call: libffi, prepared per call`) and arguments past `argtypes`
//! (variadic). A function without `argtypes` converts each argument by its Python
//! type (`call: untyped`, see [`crate::call::untyped`]).
//!
//! What it does not do: convert (see [`crate::call::argconv`]) or call (the function
//! object does, `crate::function::funcptr`).

use ferrotypes_core::call::{ArgLoad, LibffiPlan, DirectPlan, Registers, Slot};
use ferrotypes_core::ctype::ScalarKind;
use pyo3::exceptions::PyTypeError;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::pyclass::{PyTraverseError, PyVisit};

use crate::call::argconv::ArgConv;
use crate::call::peek::{as_cdata, carg_type, cdata_type, int_bits};
use crate::call::result::{NumberMaker, ResultRecipe};
use crate::call::untyped::{self, UntypedPlans};
use crate::call::value::{CArgObject, Held};
use crate::data::cdata::CData;
use crate::support::python::describe;
use crate::types::typeinfo::{InfoKind, TypeInfo};

/// A signature prepared for calling (see the module's description).
pub struct Recipe {
    /// One step per declared parameter; None when `argtypes` is unset.
    pub args: Option<Vec<ArgRecipe>>,
    /// libffi's call interface for exactly the declared parameters, when all their C
    /// types are known in advance; it carries the register path when there is one.
    pub libffi: Option<LibffiPlan>,
    pub result: ResultRecipe,
    /// Every converter is native ([`ArgConv::is_native`]): the register path may be used.
    pub all_native: bool,
    /// The quickest path, when the signature has a register path and every parameter
    /// an [`ExactArg`].
    pub exact: Option<ExactCall>,
    /// The plans of calls without `argtypes` (see [`crate::call::untyped`]).
    pub untyped: UntypedPlans,
}

/// One parameter's part of a [`Recipe`]: its converter, and its exact-type conversion
/// when it has one. Where its value goes is the recipe's (the register path's load of
/// this argument, or libffi's slot).
pub struct ArgRecipe {
    pub conv: ArgConv,
    pub exact: Option<ExactArg>,
}

impl ArgRecipe {
    /// The argument's word for the register path: by the exact conversion when the
    /// argument is of one of its types, else by the converter; for a `record`
    /// parameter, the address of its bytes. What the value needs kept alive until the
    /// call returns goes into `held` (the caller's reference keeps exact arguments).
    #[inline]
    pub fn register_word<'py>(&self, arg: Borrowed<'_, 'py, PyAny>, position: usize, record: bool, held: &mut Held<'py>) -> PyResult<u64> {
        let py = arg.py();
        if let Some(exact) = &self.exact {
            // SAFETY: arg is a valid reference the caller holds for the call, the GIL
            // is held, and the classes an ExactArg names are held by this recipe's
            // converter.
            if let Some(word) = unsafe { exact.word(py, arg.as_ptr()) } {
                return Ok(word);
            }
        }
        let mut slot = Slot::ZERO;
        let passed = self.conv.convert_into(&arg, position, &mut slot, held)?;
        match (passed.record(), record) {
            (Some(address), true) => Ok(address as u64),
            (None, false) => Ok(slot.word()),
            (Some(_), false) => Err(PyTypeError::new_err("a record cannot be passed for a scalar parameter")),
            (None, true) => Err(PyTypeError::new_err("a scalar cannot be passed for a record parameter")),
        }
    }
}

impl Recipe {
    /// No signature yet (void result, arguments unknown).
    pub fn empty() -> Recipe {
        Recipe { args: None, libffi: None, result: ResultRecipe::void(), all_native: false, exact: None, untyped: UntypedPlans::default() }
    }

    /// The recipe of `argtypes` (None when unset) and `restype`.
    pub fn new(py: Python<'_>, argtypes: Option<&Bound<'_, PyAny>>, restype: Option<&Bound<'_, PyAny>>) -> PyResult<Recipe> {
        let args = match argtypes {
            Some(seq) if !seq.is_none() => {
                let mut args = Vec::new();
                for (i, t) in seq.try_iter()?.enumerate() {
                    let conv = ArgConv::for_argtype(&t?, i)?;
                    args.push(ArgRecipe { exact: ExactArg::for_conv(py, &conv), conv });
                }
                Some(args)
            }
            _ => None,
        };
        let result = ResultRecipe::for_restype(restype)?;
        let libffi = match &args {
            // A signature libffi refuses gets no plan: calls take the general path,
            // which reports the refusal as ctypes does, when the function is called.
            Some(args) => args.iter().map(|a| a.conv.ctype()).collect::<Option<Vec<_>>>().and_then(|types| LibffiPlan::new(&types, result.ctype.clone()).ok()),
            None => None,
        };
        let all_native = args.as_ref().is_some_and(|a| a.iter().all(|a| a.conv.is_native()));
        let mut recipe = Recipe { args, libffi, result, all_native, exact: None, untyped: UntypedPlans::default() };
        if let Some(direct) = recipe.registers() {
            let exact = recipe.args.iter().flatten().zip(direct.args()).map(|(a, load)| a.exact.map(|how| (how, *load))).collect::<Option<Box<[_]>>>();
            let number = recipe.result.number_maker();
            recipe.exact = exact.map(|args| ExactCall { args, direct: direct.clone(), number });
        }
        Ok(recipe)
    }

    /// The register path (no libffi), when every parameter converts in Rust and the
    /// core has one for the signature's C types.
    #[inline]
    pub fn registers(&self) -> Option<&DirectPlan> {
        if self.all_native {
            self.libffi.as_ref()?.direct()
        } else {
            None
        }
    }

    /// Visits the objects the recipe holds (for the collector).
    pub fn traverse(&self, visit: &PyVisit<'_>) -> Result<(), PyTraverseError> {
        for arg in self.args.iter().flatten() {
            arg.conv.traverse(visit)?;
        }
        self.result.traverse(visit)
    }

    /// The readable form (`f._recipe`; the module's description shows examples):
    /// `argtypes` and `restype` are the types the recipe was made from, for their names.
    pub fn describe(&self, py: Python<'_>, argtypes: &[Bound<'_, PyAny>], restype: Option<&Bound<'_, PyAny>>) -> String {
        let registers = self.registers();
        let mut lines = vec![match (&self.args, &self.libffi, registers) {
            (None, _, _) => format!("call: untyped, each argument by its Python type; plans remembered: {} of {}", self.untyped.len(), untyped::PLANS),
            (Some(_), _, Some(_)) if self.exact.is_some() => "call: in registers, without libffi; the quickest path takes exact arguments".to_owned(),
            (Some(_), _, Some(_)) => "call: in registers, without libffi".to_owned(),
            (Some(_), Some(_), None) => "call: libffi".to_owned(),
            (Some(_), None, None) => "call: libffi, prepared per call".to_owned(),
        }];
        for (i, arg) in self.args.iter().flatten().enumerate() {
            let name = argtypes.get(i).map_or_else(|| "?".to_owned(), describe);
            let exact = match (registers, arg.exact) {
                (Some(_), Some(exact)) => format!("; exact: {}", exact.describe()),
                _ => String::new(),
            };
            let place = match registers {
                Some(direct) => direct.args().get(i).map_or_else(|| "?".to_owned(), |&load| describe_load(load)),
                None if matches!(arg.conv, ArgConv::Record { .. }) => format!("slot {} (its own bytes)", i.saturating_add(1)),
                None => format!("slot {}", i.saturating_add(1)),
            };
            lines.push(format!("arg {} {name}: {}{exact} -> {place}", i.saturating_add(1), arg.conv.describe()));
        }
        let result_name = restype.filter(|r| !r.is_none()).map_or_else(|| "None".to_owned(), describe);
        lines.push(format!("result {result_name}: {}", self.result.describe(py)));
        lines.join("\n")
    }
}

/// What the quickest path needs, made from the recipe when it is prepared.
pub struct ExactCall {
    /// Each parameter's exact conversion and where its word goes.
    pub args: Box<[(ExactArg, ArgLoad)]>,
    /// The call (the signature's register path).
    pub direct: DirectPlan,
    /// How the result is made straight from the result word, when the restype is a
    /// built-in numeric simple type without `_check_retval_`.
    pub number: Option<NumberMaker>,
}

/// How the quickest path (`FuncPtr::call_exact`) converts one argument: only objects of exact types
/// (built-in ones, or the parameter's own classes) whose conversion runs no Python
/// code and keeps nothing alive beyond the caller's own reference. Any other argument
/// sends the call down the general paths, which give the same result for these
/// objects (tests compare them).
#[derive(Clone, Copy)]
pub enum ExactArg {
    /// An integer parameter: an exact `int`, its low 64 bits (ctypes wraps around).
    Int,
    /// `c_void_p`: an exact `int` as above, None for NULL, a ferrotypes array (its
    /// address), pointer or function pointer, or `c_void_p`/`c_char_p`/`c_wchar_p`
    /// instance (the address it holds), or a `byref` (`cdata` and `carg`: the type
    /// objects' addresses) — the cases `c_void_p.from_param` takes from ferrotypes.
    Pointer { cdata: usize, carg: usize, null: bool },
    /// `c_double`: an exact `float`.
    Double,
    /// `c_float`: an exact `float`, rounded to single precision.
    Float,
    /// `c_char_p` (and `POINTER(c_char)`, whose `from_param` is `c_char_p`'s): exact
    /// `bytes` (its own NUL-terminated buffer, as ctypes passes it; the caller's
    /// reference keeps it alive for the call), None for NULL, or a ferrotypes array of
    /// `c_char` (its address; `cdata` is the type object's address).
    Bytes { cdata: usize, null: bool },
    /// `c_wchar_p`: None for NULL, or a ferrotypes array of `c_wchar` (its address);
    /// a `str` needs a wide copy and goes the general way.
    WideChars { cdata: usize, null: bool },
    /// A structure or union parameter ([`ArgConv::Record`]): an instance of exactly
    /// its class (the type object's address), whose memory's address is the word (the
    /// plan copies the record from there before the call).
    Record { class: usize },
    /// A `POINTER(T)` parameter with ctypes' own `from_param` (`pointer` and `target`
    /// the two type objects' addresses, `carg` that of `CArgObject`): None for NULL,
    /// an instance of exactly `T` by reference, a `byref` of one, or an instance of
    /// exactly `POINTER(T)` passing the address it holds, or a ferrotypes array whose
    /// element class is exactly `T` (`cdata`: `_CData`'s type object), passing its
    /// address as C decays it — as [`ArgConv::Pointer`]'s own cases give them. The
    /// caller's reference keeps the memory alive (a `byref` and a pointer keep their
    /// target, an array is the memory).
    ///
    /// In the four pointer-like conversions `null` says whether None passes NULL; a
    /// `nonnull` parameter's is false, so None goes the general way, which raises.
    Ref { pointer: usize, target: usize, carg: usize, cdata: usize, null: bool },
}


impl ExactCall {
    /// Converts `args` into the words the call passes; None when one is not of its
    /// parameter's exact types.
    ///
    /// # Safety
    /// `args` are valid objects, as many as the plan has parameters, and the GIL is
    /// held; `N` is at least the number of words the plan's call passes.
    #[inline(always)]
    pub unsafe fn load<const N: usize>(&self, py: Python<'_>, args: &[*mut ffi::PyObject], regs: &mut Registers<N>) -> Option<()> {
        for (&(how, load), &arg) in self.args.iter().zip(args) {
            // SAFETY: each arg is a valid object and the GIL is held (this function's
            // contract); the classes an ExactArg names are held by the recipe's
            // converters, which outlive the call.
            let word = unsafe { how.word(py, arg) }?;
            // SAFETY: a record parameter's word is the address of an instance of
            // exactly its class (ExactArg::Record), which owns the record's size of
            // bytes, and the caller's reference keeps it alive.
            unsafe { load.store(regs, word) };
        }
        Some(())
    }
}


impl ExactArg {
    /// What the conversion takes, for the recipe's readable form.
    pub fn describe(self) -> &'static str {
        match self {
            ExactArg::Int => "int",
            ExactArg::Double | ExactArg::Float => "float",
            ExactArg::Pointer { null: true, .. } => "int, None, byref, address-holding instance",
            ExactArg::Pointer { null: false, .. } => "int, byref, address-holding instance",
            ExactArg::Bytes { null: true, .. } => "bytes, None, char array",
            ExactArg::Bytes { null: false, .. } => "bytes, char array",
            ExactArg::WideChars { null: true, .. } => "None, wchar array",
            ExactArg::WideChars { null: false, .. } => "wchar array",
            ExactArg::Record { .. } => "instance",
            ExactArg::Ref { null: true, .. } => "None, target, its byref, pointer, target array",
            ExactArg::Ref { null: false, .. } => "target, its byref, pointer, target array",
        }
    }

    /// The quickest conversion for a parameter's converter, if it has one.
    pub fn for_conv(py: Python<'_>, conv: &ArgConv) -> Option<ExactArg> {
        match conv {
            ArgConv::Simple { kind, .. } => ExactArg::for_kind(py, *kind),
            ArgConv::Record { cls, .. } => Some(ExactArg::Record { class: cls.as_ptr() as usize }),
            ArgConv::Pointer { own: Some((pointer, target)), .. } => Some(ExactArg::Ref {
                pointer: pointer.as_ptr() as usize,
                target: target.as_ptr() as usize,
                carg: carg_type(py),
                cdata: cdata_type(py),
                null: true,
            }),
            ArgConv::Pointer { own: None, pointee, .. } if pointee.is_chars() => Some(ExactArg::Bytes { cdata: cdata_type(py), null: true }),
            ArgConv::NonNull { inner, .. } => ExactArg::for_conv(py, inner).map(ExactArg::refusing_none),
            _ => None,
        }
    }

    /// The same conversion with None refused (left to the general path, which raises
    /// a `nonnull` parameter's error).
    fn refusing_none(self) -> ExactArg {
        match self {
            ExactArg::Pointer { cdata, carg, .. } => ExactArg::Pointer { cdata, carg, null: false },
            ExactArg::Bytes { cdata, .. } => ExactArg::Bytes { cdata, null: false },
            ExactArg::WideChars { cdata, .. } => ExactArg::WideChars { cdata, null: false },
            ExactArg::Ref { pointer, target, carg, cdata, .. } => ExactArg::Ref { pointer, target, carg, cdata, null: false },
            other => other,
        }
    }

    /// The exact conversion of a simple parameter of `kind`, if it has one.
    #[inline(always)]
    pub fn for_kind(py: Python<'_>, kind: ScalarKind) -> Option<ExactArg> {
        match kind {
            k if k.is_integer() => Some(ExactArg::Int),
            ScalarKind::VoidPtr => Some(ExactArg::Pointer { cdata: cdata_type(py), carg: carg_type(py), null: true }),
            ScalarKind::Double => Some(ExactArg::Double),
            ScalarKind::Float => Some(ExactArg::Float),
            ScalarKind::CharPtr => Some(ExactArg::Bytes { cdata: cdata_type(py), null: true }),
            ScalarKind::WCharPtr => Some(ExactArg::WideChars { cdata: cdata_type(py), null: true }),
            _ => None,
        }
    }

    /// The argument's word (for a record, the address of its bytes), or None when
    /// `arg` is not one of this converter's exact types.
    ///
    /// # Safety
    /// `arg` is a valid object, and the classes a `Record` or `Ref` names are alive
    /// (the converter they come from holds them).
    #[inline(always)]
    pub unsafe fn word(&self, py: Python<'_>, arg: *mut ffi::PyObject) -> Option<u64> {
        // The address of the memory of `arg`, a C data instance.
        let memory = |arg: *mut ffi::PyObject| {
            // SAFETY: the callers below checked that arg's type is a C data class.
            unsafe { Borrowed::from_ptr(py, arg).cast_unchecked::<CData>() }.get().plain_address(py)
        };
        // SAFETY: arg is a valid object and the classes named are alive (this
        // function's contract); each arm checks the object's type before it reads the
        // object through that type's accessor.
        unsafe {
            let tp = ffi::Py_TYPE(arg);
            match *self {
                ExactArg::Record { class } if tp as usize == class => Some(memory(arg)? as u64),
                ExactArg::Ref { null: true, .. } if arg == ffi::Py_None() => Some(0),
                ExactArg::Ref { target, .. } if tp as usize == target => Some(memory(arg)? as u64),
                // A pointer instance's memory holds the one pointer it passes.
                ExactArg::Ref { pointer, .. } if tp as usize == pointer => Some(memory(arg)?.cast::<u64>().read_unaligned()),
                ExactArg::Ref { target, carg, .. } if tp as usize == carg => {
                    let value = Borrowed::from_ptr(py, arg).cast_unchecked::<CArgObject>().get().of_exact_type(target)?;
                    Some(u64::from_le(value.word()))
                }
                // An array of exactly T decays to a pointer to its first element.
                ExactArg::Ref { target, cdata, .. } => match as_cdata(py, arg, cdata)? {
                    (TypeInfo { kind: InfoKind::Array { element, .. }, .. }, address) if element.as_ptr() as usize == target => Some(address as u64),
                    _ => None,
                },
                ExactArg::Int if tp == std::ptr::addr_of_mut!(ffi::PyLong_Type) => int_bits(arg),
                ExactArg::Double if tp == std::ptr::addr_of_mut!(ffi::PyFloat_Type) => Some(ffi::PyFloat_AS_DOUBLE(arg).to_bits()),
                ExactArg::Float if tp == std::ptr::addr_of_mut!(ffi::PyFloat_Type) => {
                    Some((ffi::PyFloat_AS_DOUBLE(arg) as f32).to_bits() as u64)
                }
                ExactArg::Bytes { .. } if tp == std::ptr::addr_of_mut!(ffi::PyBytes_Type) => Some(ffi::PyBytes_AS_STRING(arg) as u64),
                ExactArg::Pointer { null: true, .. } | ExactArg::Bytes { null: true, .. } | ExactArg::WideChars { null: true, .. } if arg == ffi::Py_None() => Some(0),
                ExactArg::Pointer { .. } if tp == std::ptr::addr_of_mut!(ffi::PyLong_Type) => int_bits(arg),
                ExactArg::Pointer { carg, .. } if tp as usize == carg => {
                    Borrowed::from_ptr(py, arg).cast_unchecked::<CArgObject>().get().pointer_word()
                }
                ExactArg::Pointer { cdata, .. } => {
                    let (info, address) = as_cdata(py, arg, cdata)?;
                    match &info.kind {
                        InfoKind::Array { .. } => Some(address as u64),
                        // These hold one address.
                        InfoKind::Pointer { .. } | InfoKind::Function { .. } => Some(address.cast::<u64>().read_unaligned()),
                        InfoKind::Simple { scalar: ScalarKind::VoidPtr | ScalarKind::CharPtr | ScalarKind::WCharPtr, .. } => {
                            Some(address.cast::<u64>().read_unaligned())
                        }
                        _ => None,
                    }
                }
                ExactArg::Bytes { cdata, .. } => chars_array(py, arg, cdata, ScalarKind::Char),
                ExactArg::WideChars { cdata, .. } => chars_array(py, arg, cdata, ScalarKind::WChar),
                _ => None,
            }
        }
    }
}

/// The address of `arg` when it is a ferrotypes array of `character`s (a `char *` or
/// `wchar_t *` parameter takes one, as in C).
///
/// # Safety
/// `arg` is a valid object and the GIL is held.
#[inline(always)]
unsafe fn chars_array(py: Python<'_>, arg: *mut ffi::PyObject, cdata: usize, character: ScalarKind) -> Option<u64> {
    // SAFETY: arg is a valid object and the GIL is held (this function's contract).
    match unsafe { as_cdata(py, arg, cdata) }? {
        (TypeInfo { kind: InfoKind::Array { element_info, .. }, .. }, address) if element_info.get().scalar().is_some_and(|(k, _)| k == character) => {
            Some(address as u64)
        }
        _ => None,
    }
}


/// The integer argument registers, in the order System V assigns them.
const INTEGER_REGISTERS: [&str; 6] = ["rdi", "rsi", "rdx", "rcx", "r8", "r9"];

/// Where a load puts an argument, in words: `rdi`, `xmm0`, `stack word 2`, a record's
/// eightbytes joined by `+`; a narrow integer's widening after a comma.
///
/// The core's loads show their word index (0..6 the integer registers, 6..14 the
/// vector registers, then the stack words) only through `Debug`, which this reads.
fn describe_load(load: ArgLoad) -> String {
    let text = format!("{load:?}");
    let field = |name: &str| -> Option<u64> {
        let label = format!("{name}: ");
        let start = text.find(&label)?.checked_add(label.len())?;
        text.get(start..)?.split(|c: char| !c.is_ascii_alphanumeric()).next()?.parse().ok()
    };
    let word = |index: u64| match index {
        0..6 => INTEGER_REGISTERS.get(index as usize).map_or("?", |r| r).to_owned(),
        6..14 => format!("xmm{}", index.saturating_sub(6)),
        _ => format!("stack word {}", index.saturating_sub(14)),
    };
    match load {
        ArgLoad::Word(_) => {
            let (Some(index), Some(shift)) = (field("index"), field("shift")) else { return text };
            let signed = text.contains("signed: true");
            match shift {
                0 => word(index),
                _ => format!("{}, low {} bits {}-extended", word(index), 64u64.saturating_sub(shift), if signed { "sign" } else { "zero" }),
            }
        }
        ArgLoad::Record(record) => {
            let (Some(first), Some(second)) = (field("first"), field("second")) else { return text };
            match record.size().div_ceil(8) {
                1 => word(first),
                2 => format!("{}+{}", word(first), word(second)),
                n => format!("stack words {} to {}", first.saturating_sub(14), first.saturating_sub(14).saturating_add(n as u64).saturating_sub(1)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use ferrotypes_core::call::LibffiPlan;
    use ferrotypes_core::ctype::{CType, ScalarKind};

    use super::describe_load;

    /// Where each argument of a call with these parameters goes, as recipes show it.
    fn places(args: &[CType]) -> Vec<String> {
        let plan = LibffiPlan::new(args, CType::Void).expect("libffi prepares the signature");
        let direct = plan.direct().expect("the signature has a register path");
        direct.args().iter().map(|&load| describe_load(load)).collect()
    }

    fn record(members: &[ScalarKind]) -> CType {
        let members: Vec<CType> = members.iter().map(|&k| CType::Scalar(k)).collect();
        let align = members.iter().map(CType::align).max().unwrap_or(1);
        let size = members.iter().fold(0usize, |end, m| end.next_multiple_of(m.align()) + m.size()).next_multiple_of(align);
        CType::Record { members: Arc::from(members), size, align }
    }

    #[test]
    fn scalars_fill_the_integer_and_vector_registers_in_order_then_the_stack() {
        use ScalarKind::*;
        let args: Vec<CType> = [Int, Double, Long, Float, VoidPtr, Short, UByte, ULongLong, Int].iter().map(|&k| CType::Scalar(k)).collect();
        assert_eq!(
            places(&args),
            [
                "rdi, low 32 bits sign-extended",
                "xmm0",
                "rsi",
                "xmm1, low 32 bits zero-extended",
                "rdx",
                "rcx, low 16 bits sign-extended",
                "r8, low 8 bits zero-extended",
                "r9",
                "stack word 0, low 32 bits sign-extended",
            ]
        );
    }

    #[test]
    fn records_take_a_register_per_eightbyte_of_its_class_or_stack_words() {
        use ScalarKind::*;
        // { double; long } is SSE then INTEGER; { int; int } one INTEGER eightbyte; a
        // 24-byte record goes in memory, three consecutive stack words.
        let args = [record(&[Double, Long]), record(&[Int, Int]), record(&[Long, Long, Long])];
        assert_eq!(places(&args), ["xmm0+rdi", "rsi", "stack words 0 to 2"]);
    }
}
