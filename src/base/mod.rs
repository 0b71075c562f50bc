//! Ground floor shared by every layer: the error type, durable file helpers, ids and time.
//! Nothing here calls libc directly (that is `sys`'s job); std's safe file API is enough.

pub mod error;
pub mod fs;
pub mod id;
pub mod logging;
pub mod time;

pub use error::{Error, ErrorKind, Result};
