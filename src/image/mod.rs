//! The image store (placeholder while it is being built).

pub mod apply;
pub mod compress;
pub mod tarsplit;
pub mod tarstream;
