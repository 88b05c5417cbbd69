//! The function-pointer object (`_FuncPtrData`): foreign functions and prototypes'
//! instances.

pub mod class_recipe;
pub mod funcptr;
pub mod family;
