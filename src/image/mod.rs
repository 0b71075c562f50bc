//! The image store: content-addressed configs, layers extracted once in overlay form, names,
//! snapshots for containers, and `docker load` / `save` / `import`.
//!
//! # On disk (`<data-root>/image`, format 1)
//!
//! ```text
//! VERSION                      "1": the layout version of this tree
//! db.json                      image records and names: {"version","images":{id: meta},"refs":{full ref: id}}
//! content/sha256/<hex>         image configs (the image ID is the digest of these bytes)
//! layers/<chain-hex>/          one per ChainID (see layers.rs): layer.json, diff/, tar-split.zst,
//!                              init/ (the shared init layer under containers' upper dirs)
//! l/<link>                     short symlinks to layers/<chain>/diff, for overlay lowerdir lists
//! snapshots/<key>/             container root file systems: snapshot.json + upper/ work/ (overlay,
//!                              over the image's layers and its init layer)
//!                              or rootfs/ (copies, where overlay cannot be used)
//! tmp/                         work in progress and trash; emptied when the store opens
//! ```
//!
//! # Crash safety
//!
//! Every change is built in `tmp/`, made durable (fsync, or one syncfs for a load's worth of
//! layer files), then published by one atomic rename; names and image records change only by
//! rewriting `db.json` atomically, which is the commit point of load, import, tag and rmi.
//! Layers and configs become durable before the db names them and are removed only after it
//! stopped naming them. So after `kill -9` at any instant `layers/` holds only whole layers and
//! every name leads to a whole image ([`store::Store::fsck`] checks exactly that, read-only);
//! opening the store drops what is unreferenced (half-done loads, trash) and a retry succeeds.
//! Layer use is counted from the db and the snapshots at run time, never stored.
//!
//! # For other modules
//!
//! - The daemon opens one [`Store`] (`daemon::images::open_store`) and serves the Engine API
//!   image endpoints from it (`daemon/images.rs`).
//! - Containers get their root file system with [`Store::prepare_snapshot`]`(key, image,
//!   read_only)`, which returns mounts as data ([`snapshot::Mount`]: type, source, options, and a
//!   `cwd` when the overlay lowerdirs are relative); the caller mounts them
//!   ([`snapshot::Mount::mount_at`] does it) and later calls [`Store::remove_snapshot`]. A
//!   snapshot keeps its image's layers alive even if the image is removed.
//! - Delete, prune and `system df` ask who uses images through [`store::ImageUsers`]; the
//!   daemon's `images::image_users` is the hook for the container store.

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

/// Give the heap that a big image operation freed (layer buffers, tar-split data, HTTP
/// chunks) back to the kernel, so an idle daemon goes back to its small resident size.
pub fn release_memory() {
    crate::sys::reaper::trim_heap();
}
