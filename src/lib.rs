//! berth: a Docker-compatible container engine in one static multicall binary.
//! See ARCHITECTURE.md for the module map and the allowed direction of imports.

pub mod api;
pub mod base;
pub mod cli;
pub mod daemon;
pub mod http;
pub mod image;
pub mod oci;
pub mod runtime;
pub mod supervisor;
pub mod sys;
