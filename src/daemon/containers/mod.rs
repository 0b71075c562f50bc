//! Containers: the Docker container model of the daemon.
//!
//! - [`spec`]: Docker config → OCI runtime spec (pure), with [`user`] resolving `--user` and
//!   [`rootfs`] resolving paths inside an image the way the container sees them;
//! - [`store`]: the metadata store under `<data-root>/containers` and the in-memory index;
//! - [`state`]: the state machine and `docker ps`'s words for it;
//! - [`view`]: inspect and list shapes, list filters;
//! - [`names`]: name validation and Docker-style random names;
//! - [`create`], [`lifecycle`] (start, stop, kill, pause, restart policies, exits, live
//!   restore), [`stdio`] (attach, wait, logs), [`exec`], [`health`], [`stats`]: the operations;
//! - [`handlers`]: the HTTP endpoints, thin.
//!
//! # Running a container
//!
//! ```text
//! create: image → merged Config, snapshot (overlay upper on the image's layers), record on disk
//! start:  mount the snapshot at <exec-root>/containers/<id>/rootfs, write config.json there,
//!         supervisor.create (a shim runs `runc create`), hand pending attaches their streams,
//!         supervisor.start, spawn the monitor
//! exit:   the monitor's supervisor.wait returns → delete the shim, unmount, record the exit,
//!         `die` event, then the restart policy (back-off) or AutoRemove
//! ```
//!
//! Live restore: shims outlive the daemon; at start-up [`lifecycle::restore`] matches every
//! record with its shim, re-adopts the running ones and finishes the exits it missed.

pub mod create;
pub mod exec;
pub mod handlers;
pub mod health;
pub mod lifecycle;
pub mod names;
pub mod rootfs;
pub mod seccomp;
pub mod spec;
pub mod state;
pub mod stats;
pub mod stdio;
pub mod store;
pub mod user;
pub mod view;

use crate::base::Result;
use crate::supervisor::{AttachOpts, AttachStream};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// An attach that arrived before the container's shim exists (the CLI attaches, then starts).
pub struct PendingAttach {
    pub opts: AttachOpts,
    pub tx: smol::channel::Sender<Result<AttachStream>>,
}

/// The daemon's containers and what their operations share.
pub struct Containers {
    pub store: store::Store,
    pub host: spec::Host,
    /// `<exec-root>/containers`: one bundle directory per started container.
    pub bundles: PathBuf,
    /// The exec root (the supervisor keeps its shims under it).
    pub exec_root: PathBuf,
    pub ncpu: u32,
    /// The daemon's default log driver and options.
    pub log_driver: String,
    pub log_opts: std::collections::BTreeMap<String, String>,
    pending_attach: Mutex<HashMap<String, Vec<PendingAttach>>>,
    pub execs: exec::Execs,
}

impl std::fmt::Debug for Containers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Containers")
            .field("root", &self.store.root)
            .field("bundles", &self.bundles)
            .finish()
    }
}

impl Containers {
    pub fn open(
        data_root: &Path,
        exec_root: &Path,
        host: spec::Host,
        ncpu: u32,
        log_driver: String,
        log_opts: std::collections::BTreeMap<String, String>,
    ) -> Result<Containers> {
        let store = store::Store::open(&data_root.join("containers"))?;
        let bundles = exec_root.join("containers");
        crate::base::fs::mkdir_all(&bundles, 0o711)?;
        Ok(Containers {
            store,
            host,
            bundles,
            exec_root: exec_root.to_path_buf(),
            ncpu,
            log_driver,
            log_opts,
            pending_attach: Mutex::new(HashMap::new()),
            execs: exec::Execs::default(),
        })
    }

    /// The id the supervisor and runtime know a container by: its full id, or (when the exec
    /// root is so long that the shim's socket paths would not fit in a sockaddr_un) a prefix
    /// that still fits. A pure function of the two, so a restarted daemon finds the same shims.
    pub fn runtime_id(&self, id: &str) -> String {
        runtime_id(&self.exec_root, id)
    }

    pub fn bundle(&self, id: &str) -> PathBuf {
        self.bundles.join(id)
    }

    pub fn add_pending_attach(&self, id: &str, p: PendingAttach) {
        if let Ok(mut m) = self.pending_attach.lock() {
            m.entry(id.to_string()).or_default().push(p);
        }
    }

    pub fn take_pending_attach(&self, id: &str) -> Vec<PendingAttach> {
        self.pending_attach
            .lock()
            .ok()
            .and_then(|mut m| m.remove(id))
            .unwrap_or_default()
    }
}

/// See [`Containers::runtime_id`].
pub fn runtime_id(exec_root: &Path, id: &str) -> String {
    // <exec-root>/shims/<id>/console.sock must fit in sun_path (107 bytes).
    let fixed = exec_root.as_os_str().len() + "/shims/".len() + "/console.sock".len();
    let room = 107usize.saturating_sub(fixed);
    if room >= id.len() {
        id.to_string()
    } else {
        id[..room.clamp(12, id.len())].to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runtime_ids_fit_socket_paths() {
        let id = "a".repeat(64);
        assert_eq!(runtime_id(Path::new("/run/berth"), &id), id);
        let long = Path::new("/tmp/berth-test-containers_run_attached_long_name-123456/exec");
        let r = runtime_id(long, &id);
        assert!(r.len() < 64 && r.len() >= 12);
        assert!(long.as_os_str().len() + "/shims/".len() + r.len() + "/console.sock".len() <= 107);
    }
}
