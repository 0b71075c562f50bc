//! OCI runtime-spec and image-spec types (serde), shared by the runtime, image store and daemon.

pub mod image;
pub mod runtime;
