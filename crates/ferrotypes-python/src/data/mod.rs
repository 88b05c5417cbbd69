//! The C data base object and what every family shares: memory, keep-alive,
//! making and freeing instances, reading and storing values, the fast type slots.
//! The families themselves live in `families`, above this layer.

pub mod access;
pub mod buffer_export;
pub mod cdata;
pub mod cdata_methods;
pub mod construct;
pub mod families;
pub mod instances;
pub mod keepalive;
pub mod leased;
pub mod liveness;
pub mod pickle;
pub mod recycled;
pub mod registry;
pub mod slots;
pub mod tail;
