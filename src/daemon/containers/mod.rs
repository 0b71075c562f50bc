//! Containers: the Docker container model of the daemon.
//!
//! - [`spec`]: Docker config → OCI runtime spec (pure), with [`user`] resolving `--user`;
//! - [`store`]: the metadata store under `<data-root>/containers` and the in-memory index;
//! - [`state`]: the state machine and `docker ps`'s words for it;
//! - [`view`]: inspect and list shapes, list filters;
//! - [`names`]: name validation and Docker-style random names.

pub mod names;
pub mod rootfs;
pub mod spec;
pub mod state;
pub mod store;
pub mod user;
pub mod view;
