//! The OCI runtime library behind the `runc` role: synchronous and fork-safe (the role is
//! single-threaded, so it forks its container init directly; nothing here uses smol).
//!
//! # State on disk (`--root`, default /run/berth/runc), format version 1
//!
//! ```text
//! <root>/<id>/state.json   the container: bundle, rootfs, init pid + start time, the config
//! <root>/<id>/exec.fifo    present while the container is "created": `start` writes one byte
//!                          to it to let the waiting init continue, then removes it
//! ```
//!
//! The directory is created exclusively (a duplicate id fails there) and removed by `delete`.
//! state.json is replaced atomically (temp file + rename) but not fsynced: it describes live
//! processes, which a reboot ends anyway (/run is a tmpfs on a normal host).
//!
//! # Process model
//!
//! `create`/`run`/`exec` first re-exec the runtime from a sealed copy of its binary (see
//! `seal`, CVE-2019-5736). The runtime process then clones the container init into the new
//! namespaces; parent and init talk over a seqpacket socket pair (`protocol`). The init runs
//! the setup script in `init` (OCI spec order), reports Ready and waits on the exec fifo.

pub mod cgroups;
pub mod entry;
pub mod seccomp;

mod capabilities;
mod console;
mod container;
mod control;
mod exec;
mod hooks;
mod init;
mod namespaces;
mod process;
mod protocol;
mod rootfs;
mod seal;
mod spec;
mod state;
mod tiny_init;
