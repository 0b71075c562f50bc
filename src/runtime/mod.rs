//! The OCI runtime library (synchronous, fork-safe): see ARCHITECTURE.md.

pub mod cgroups;
pub mod seccomp;
