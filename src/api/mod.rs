//! The Docker Engine API vocabulary: wire types, version negotiation, JSON bodies with Docker's
//! error wording, and the response shapes every handler uses.
//!
//! Stream framing for attach/exec (multiplexed stdout/stderr) and the progress messages of
//! pull/load will live here too, next to the client that the `docker` role uses.

pub mod client;
pub mod container;
pub mod json;
pub mod reply;
pub mod stream;
pub mod types;
pub mod units;
pub mod version;

pub use version::{ApiVersion, MAX_API_VERSION, MIN_API_VERSION};
