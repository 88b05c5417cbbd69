//! The function-pointer object (`_FuncPtrData`): foreign functions and prototypes'
//! instances.

pub mod funcptr;
pub mod family;
