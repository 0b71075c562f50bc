//! The image store (placeholder while it is being built).

pub mod apply;
pub mod changes;
pub mod commit;
pub mod compress;
pub mod content;
pub mod filters;
pub mod import;
pub mod layers;
pub mod load;
pub mod reference;
pub mod registry;
pub mod save;
pub mod snapshot;
pub mod store;
pub mod tarsplit;
pub mod tarstream;

pub use store::Store;
