//! The shims' state under the exec root (format version 1):
//!
//! ```text
//! <exec-root>/shims/<id>/
//!   config.json      ShimConfig, written by the supervisor before the shim starts
//!   shim.sock        the shim's socket (proto.rs)
//!   shim.pid         the shim's pid
//!   shim.log         the shim's own stderr (startup and I/O errors)
//!   init.pid         the container's init pid (`runc create --pid-file`)
//!   exit.json        the init's ExitStatus: written durably (temp, fsync, rename, fsync dir) by
//!                    the shim the moment it reaps the init, before anything else; or by the
//!                    supervisor when it finds the shim dead (with `error` set)
//!   runtime.log      the runtime's JSON log of the last command (`--log`, `--log-format json`)
//!   console.sock     transient `--console-socket` while the runtime creates a pty
//!   exec-<eid>.json  an exec's OCI process;  exec-<eid>.pid  its pid
//! ```
//! A directory without config.json is a create that never finished; the supervisor removes it.

use super::proto::ExitStatus;
use crate::base::error::Context;
use crate::base::{fs, Result};
use std::path::{Path, PathBuf};

pub const VERSION: u32 = 1;

/// Unix socket paths are limited to 107 bytes (sun_path).
pub const MAX_SOCKET_PATH: usize = 107;

pub fn shims_root(exec_root: &Path) -> PathBuf {
    exec_root.join("shims")
}

#[derive(Debug, Clone)]
pub struct ShimDir(PathBuf);

impl ShimDir {
    pub fn new(exec_root: &Path, id: &str) -> ShimDir {
        ShimDir(shims_root(exec_root).join(id))
    }
    pub fn at(path: PathBuf) -> ShimDir {
        ShimDir(path)
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
    pub fn config(&self) -> PathBuf {
        self.0.join("config.json")
    }
    pub fn socket(&self) -> PathBuf {
        self.0.join("shim.sock")
    }
    pub fn pid_file(&self) -> PathBuf {
        self.0.join("shim.pid")
    }
    pub fn log(&self) -> PathBuf {
        self.0.join("shim.log")
    }
    pub fn init_pid(&self) -> PathBuf {
        self.0.join("init.pid")
    }
    pub fn exit(&self) -> PathBuf {
        self.0.join("exit.json")
    }
    pub fn runtime_log(&self) -> PathBuf {
        self.0.join("runtime.log")
    }
    pub fn console(&self) -> PathBuf {
        self.0.join("console.sock")
    }
    pub fn exec_spec(&self, exec_id: &str) -> PathBuf {
        self.0.join(format!("exec-{exec_id}.json"))
    }
    pub fn exec_pid(&self, exec_id: &str) -> PathBuf {
        self.0.join(format!("exec-{exec_id}.pid"))
    }

    pub fn read_exit(&self) -> Result<Option<ExitStatus>> {
        match std::fs::read(self.exit()) {
            Ok(b) => Ok(Some(
                serde_json::from_slice(&b).ctx(|| format!("parse {}", self.exit().display()))?,
            )),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e).ctx(|| format!("read {}", self.exit().display())),
        }
    }

    /// Durable: after this returns, the status survives a crash of this process or the machine.
    pub fn write_exit(&self, st: &ExitStatus) -> Result<()> {
        fs::write_atomic(&self.exit(), &serde_json::to_vec(st)?, 0o600)
    }
}

/// Replace `path` atomically (temp file, rename) without fsync: for files that only have to be
/// whole after a crash of a process (config.json, shim.pid), not after a crash of the machine,
/// after which no container survives anyway. Saves two fsyncs (~10 ms on a disk) per create.
/// The exit status is the one record that is written durably (`write_exit`).
pub fn write_replace(path: &Path, data: &[u8], mode: u32) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = fs::temp_sibling(path);
    let r = (|| -> std::io::Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&tmp)?;
        f.write_all(data)?;
        std::fs::rename(&tmp, path)
    })();
    if r.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    r.ctx(|| format!("write {}", path.display()))
}

/// A pid file as written by runc (`123`, maybe without newline); None if absent.
pub fn read_pid(path: &Path) -> Result<Option<u32>> {
    match std::fs::read_to_string(path) {
        Ok(s) => s.trim().parse::<u32>().map(Some).map_err(|_| {
            crate::base::Error::invalid(format!("pid file {} holds {:?}", path.display(), s.trim()))
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).ctx(|| format!("read {}", path.display())),
    }
}
