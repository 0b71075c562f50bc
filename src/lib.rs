//! berth: a Docker-compatible container engine in one static multicall binary.
//! See ARCHITECTURE.md for the module map and the allowed direction of imports.

pub mod base;
pub mod cli;
pub mod oci;
pub mod supervisor;
pub mod sys;
