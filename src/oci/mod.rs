//! OCI runtime-spec and image-spec types (serde), shared by the runtime, image store and daemon.

pub mod runtime;
pub mod image;
