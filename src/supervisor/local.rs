//! The supervisor embedded in a process (dockerd, or the `containerd` role): spawns shims, routes
//! requests to them, and stands in for a shim that is gone.
//!
//! It keeps no state of its own: everything lives in the shims and their directories, so a
//! supervisor started after a crash finds every container again by listing the exec root.
//!
//! When a shim is gone (its socket refuses connections) and exit.json is absent, the container
//! lost its stdio and its reaper: if the runtime still reports it alive, the supervisor kills it
//! (`kill --all 9`) and records exit code 137 with an `error` saying why (containerd does the
//! same); if it is already stopped, the status is lost and recorded as 255 with the reason. Either
//! way the record is written to exit.json, so every later call sees the same answer.

use super::client::{self, Conn};
use super::layout::{self, read_pid, ShimDir};
use super::proto::{
    CreateOpts, ExitStatus, Reply, Request, Response, RuntimeConfig, ShimConfig, ShimState, Status,
};
use super::runc::Runtime;
use crate::base::error::Context;
use crate::base::{Error, ErrorKind, Result};
use std::collections::HashSet;
use std::os::fd::AsRawFd;
use std::os::unix::fs::DirBuilderExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Where and how the supervisor runs shims.
#[derive(Debug, Clone)]
pub struct Config {
    /// Runtime state root (`--exec-root`): shims live in `<exec_root>/shims/<id>/`.
    pub exec_root: PathBuf,
    /// The berth binary to re-exec as `containerd-shim`; None: this process's executable
    /// (`/proc/self/exe`).
    pub shim_binary: Option<PathBuf>,
    /// The OCI runtime for containers that do not name one.
    pub runtime: RuntimeConfig,
}

impl Config {
    /// Defaults: berth itself as shim and as runtime (`runc` role), runtime root
    /// `<exec_root>/runc`.
    pub fn new(exec_root: impl Into<PathBuf>) -> Config {
        let exec_root = exec_root.into();
        let runtime = RuntimeConfig {
            path: None,
            root: exec_root.join("runc"),
            args: Vec::new(),
        };
        Config {
            exec_root,
            shim_binary: None,
            runtime,
        }
    }
}

pub(crate) struct Local {
    exec_root: PathBuf,
    shim_binary: PathBuf,
    /// Keeps the read-only bind that `shim_binary` names (through /proc/self/fd) alive.
    _sealed: Option<std::os::fd::OwnedFd>,
    runtime: RuntimeConfig,
    /// Creates in progress: their directories exist before their shims serve.
    creating: Mutex<HashSet<String>>,
}

struct Creating<'a>(&'a Local, String);

impl Drop for Creating<'_> {
    fn drop(&mut self) {
        if let Ok(mut set) = self.0.creating.lock() {
            set.remove(&self.1);
        }
    }
}

impl Local {
    pub fn new(cfg: Config) -> Result<Local> {
        // /proc/self/exe still runs this binary after an upgrade replaced the file on disk
        // (current_exe() would then name a deleted path).
        // Shims run from a read-only bind of the binary where the mount API allows: such a
        // shim forks berth's runtime in-process, never exposing a writable host binary
        // (CVE-2019-5736), instead of exec'ing the `runc` role (which then seals itself).
        let (shim_binary, sealed) = match cfg.shim_binary {
            Some(p) => (p, None),
            None => match crate::runtime::entry::sealed_binary() {
                Ok(fd) => (
                    PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd())),
                    Some(fd),
                ),
                Err(e) => {
                    log::debug!("shims exec /proc/self/exe: no read-only bind of the binary ({e})");
                    (PathBuf::from("/proc/self/exe"), None)
                }
            },
        };
        crate::base::fs::mkdir_all(&layout::shims_root(&cfg.exec_root), 0o711)?;
        Ok(Local {
            exec_root: cfg.exec_root,
            shim_binary,
            _sealed: sealed,
            runtime: cfg.runtime,
            creating: Mutex::new(HashSet::new()),
        })
    }

    fn dir(&self, id: &str) -> ShimDir {
        ShimDir::new(&self.exec_root, id)
    }

    fn is_creating(&self, id: &str) -> bool {
        self.creating
            .lock()
            .map(|s| s.contains(id))
            .unwrap_or(false)
    }

    pub async fn create(&self, opts: CreateOpts) -> Result<ShimState> {
        super::proto::check_id("container", &opts.id)?;
        let id = opts.id.clone();
        if !opts.bundle.is_absolute() {
            return Err(Error::invalid(format!(
                "bundle path {} is not absolute",
                opts.bundle.display()
            )));
        }
        let dir = self.dir(&id);
        for p in [dir.socket(), dir.console()] {
            if p.as_os_str().len() > layout::MAX_SOCKET_PATH {
                return Err(Error::invalid(format!(
                    "socket path {} is longer than {} bytes: use a shorter exec root",
                    p.display(),
                    layout::MAX_SOCKET_PATH
                )));
            }
        }
        {
            let mut set = self
                .creating
                .lock()
                .map_err(|_| Error::internal("supervisor lock poisoned"))?;
            if !set.insert(id.clone()) {
                return Err(Error::conflict(format!("container {id} is being created")));
            }
        }
        let _guard = Creating(self, id.clone());
        match std::fs::DirBuilder::new().mode(0o700).create(dir.path()) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(Error::conflict(format!("container {id} already exists")))
            }
            Err(e) => {
                return Err(Error::from(e).context(format!("create {}", dir.path().display())))
            }
        }
        let cfg = ShimConfig {
            id: id.clone(),
            bundle: opts.bundle,
            tty: opts.tty,
            stdin: opts.stdin,
            log: opts.log,
            runtime: opts.runtime.unwrap_or_else(|| self.runtime.clone()),
        };
        let made = async {
            layout::write_replace(&dir.config(), &serde_json::to_vec_pretty(&cfg)?, 0o600)?;
            self.spawn_shim(&id, &dir).await?;
            match self.call(&id, Request::Create).await {
                Ok(_) => {}
                Err(e) => {
                    let _ = self.call(&id, Request::Shutdown { force: true }).await;
                    return Err(e);
                }
            }
            match self.call(&id, Request::State).await? {
                Reply::State { state } => Ok(state),
                other => Err(unexpected(&other)),
            }
        }
        .await;
        if made.is_err() {
            let _ = std::fs::remove_dir_all(dir.path());
        }
        made
    }

    /// Run `containerd-shim --id ID --dir DIR`; it returns once the forked shim serves.
    async fn spawn_shim(&self, id: &str, dir: &ShimDir) -> Result<()> {
        let mut cmd = Command::new(&self.shim_binary);
        cmd.arg0("containerd-shim")
            .arg("--id")
            .arg(id)
            .arg("--dir")
            .arg(dir.path());
        cmd.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let bin = self.shim_binary.clone();
        let out = smol::unblock(move || cmd.output())
            .await
            .ctx(|| format!("run the shim {}", bin.display()))?;
        if !out.status.success() {
            let msg = String::from_utf8_lossy(&out.stderr).trim().to_string();
            let msg = if msg.is_empty() {
                format!("shim exited with {}", out.status)
            } else {
                msg
            };
            return Err(Error::internal(msg));
        }
        Ok(())
    }

    /// Send one request to the container's shim, or answer for a shim that is gone.
    pub async fn call(&self, id: &str, req: Request) -> Result<Reply> {
        req.validate()?;
        let dir = self.dir(id);
        if !dir.path().is_dir() {
            return Err(Error::not_found(format!("no such container: {id}")));
        }
        let mut conn = match client::connect(&dir.socket()).await {
            Ok(c) => c,
            Err(e) if client::is_gone(&e) && !self.is_creating(id) => {
                return self.stand_in(id, req).await
            }
            Err(e) => {
                return Err(Error::from(e).context(format!("connect to the shim of {id}")))
                    .map_err(|e| e.with_kind(ErrorKind::Unavailable))
            }
        };
        client::send(&mut conn, &req)
            .await
            .map_err(|e| e.context(format!("shim of {id}")))?;
        match client::recv_response(&mut conn).await? {
            Some(r) => r.into_result(),
            None => {
                // The shim closed without answering: it died (or exited after a delete).
                if self.shim_gone(&dir).await {
                    if !dir.path().is_dir() {
                        return Err(Error::not_found(format!("no such container: {id}")));
                    }
                    return self.stand_in(id, req).await;
                }
                Err(Error::new(
                    ErrorKind::Unavailable,
                    format!("the shim of {id} closed the connection without answering"),
                ))
            }
        }
    }

    /// Attach: the shim's answer, and the connection now carrying the stream.
    pub async fn attach(&self, id: &str, req: Request) -> Result<(bool, Conn)> {
        req.validate()?;
        let dir = self.dir(id);
        if !dir.path().is_dir() {
            return Err(Error::not_found(format!("no such container: {id}")));
        }
        let gone = || {
            Error::new(
                ErrorKind::Unavailable,
                format!("cannot attach to {id}: its shim is gone"),
            )
        };
        let mut conn = match client::connect(&dir.socket()).await {
            Ok(c) => c,
            Err(e) if client::is_gone(&e) => return Err(gone()),
            Err(e) => return Err(Error::from(e).context(format!("connect to the shim of {id}"))),
        };
        client::send(&mut conn, &req).await?;
        match client::recv_response(&mut conn).await? {
            Some(Response::Ok(Reply::Attached { tty })) => Ok((tty, conn)),
            Some(r) => Err(r
                .into_result()
                .map(|r| unexpected(&r))
                .unwrap_or_else(|e| e)),
            None => Err(gone()),
        }
    }

    async fn shim_gone(&self, dir: &ShimDir) -> bool {
        match client::connect(&dir.socket()).await {
            Ok(_) => false,
            Err(e) => client::is_gone(&e),
        }
    }

    /// Every container under the exec root, dead shims resolved (what a restarted daemon calls).
    pub async fn list(&self) -> Result<Vec<ShimState>> {
        let root = layout::shims_root(&self.exec_root);
        let mut ids = Vec::new();
        for e in std::fs::read_dir(&root)
            .ctx(|| format!("read {}", root.display()))?
            .flatten()
        {
            let name = e.file_name().to_string_lossy().into_owned();
            if super::proto::check_id("container", &name).is_err() || self.is_creating(&name) {
                continue;
            }
            if !e.path().join("config.json").exists() {
                // A create that stopped before writing its configuration.
                let _ = std::fs::remove_dir_all(e.path());
                continue;
            }
            ids.push(name);
        }
        ids.sort();
        let mut out = Vec::new();
        for id in ids {
            match self.call(&id, Request::State).await {
                Ok(Reply::State { state }) => out.push(state),
                Ok(other) => return Err(unexpected(&other)),
                Err(e) if e.kind() == ErrorKind::NotFound => {}
                Err(e) => return Err(e.context(format!("state of {id}"))),
            }
        }
        Ok(out)
    }

    /// Answer a request for a container whose shim is gone.
    async fn stand_in(&self, id: &str, req: Request) -> Result<Reply> {
        let (dir, bin, id2) = (self.dir(id), self.shim_binary.clone(), id.to_string());
        let state = smol::unblock(move || lost_state(&dir, &bin, &id2)).await?;
        let not_running = || Error::conflict(format!("container {id} is not running"));
        match req {
            Request::State => Ok(Reply::State { state }),
            Request::Wait { exec_id: None } => state
                .exit
                .map(|exit| Reply::Exit { exit })
                .ok_or_else(|| Error::internal("no exit status")),
            Request::Wait { exec_id: Some(e) } => Err(Error::new(
                ErrorKind::Unavailable,
                format!("exec {e} of {id}: the shim is gone and the exit status with it"),
            )),
            Request::Kill { .. }
            | Request::Pause
            | Request::Resume
            | Request::Start
            | Request::ExecCreate { .. }
            | Request::ExecStart { .. } => Err(not_running()),
            Request::Delete { .. } => {
                let (dir, bin, id2) = (self.dir(id), self.shim_binary.clone(), id.to_string());
                smol::unblock(move || delete_lost(&dir, &bin, &id2)).await?;
                Ok(Reply::Deleted { exit: state.exit })
            }
            Request::Shutdown { .. } => Ok(Reply::Done),
            Request::Create
            | Request::Resize { .. }
            | Request::CloseStdin { .. }
            | Request::Attach { .. } => Err(Error::new(
                ErrorKind::Unavailable,
                format!("container {id}: its shim is gone"),
            )),
        }
    }
}

fn unexpected(r: &Reply) -> Error {
    Error::internal(format!("unexpected reply from the shim: {r:?}"))
}

fn read_config(dir: &ShimDir, id: &str) -> Result<ShimConfig> {
    match std::fs::read(dir.config()) {
        Ok(b) => serde_json::from_slice(&b).ctx(|| format!("parse {}", dir.config().display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Err(Error::not_found(format!("no such container: {id}")))
        }
        Err(e) => Err(e).ctx(|| format!("read {}", dir.config().display())),
    }
}

/// The state of a container whose shim is gone, recording an exit status if none was (blocking).
fn lost_state(dir: &ShimDir, own_binary: &Path, id: &str) -> Result<ShimState> {
    let cfg = read_config(dir, id)?;
    let pid = read_pid(&dir.init_pid()).ok().flatten().unwrap_or(0);
    let exit = match dir.read_exit()? {
        Some(e) => e,
        None => {
            let rt = Runtime::new(&cfg.runtime, own_binary, None);
            let (code, signal, why) = match rt.state(id) {
                Ok(Some(st)) if matches!(st.status.as_str(), "running" | "created" | "paused" | "creating") => {
                    if st.status == "paused" {
                        let _ = rt.run(&["resume", id]);
                    }
                    let _ = rt.run(&["kill", "--all", id, "9"]);
                    let deadline = Instant::now() + Duration::from_secs(5);
                    while Instant::now() < deadline {
                        match rt.state(id) {
                            Ok(Some(s)) if s.status != "stopped" => std::thread::sleep(Duration::from_millis(20)),
                            _ => break,
                        }
                    }
                    (137, Some(9), format!("the shim of container {id} died; the container was killed"))
                }
                Ok(Some(_)) => (255, None, format!("the shim of container {id} died; the container's exit status is lost")),
                Ok(None) if pid == 0 => (255, None, format!("the shim of container {id} died before the container was created")),
                Ok(None) => (255, None, format!("the shim of container {id} died and the runtime no longer knows the container")),
                Err(e) => (255, None, format!("the shim of container {id} died; runtime state: {e}")),
            };
            let st = ExitStatus {
                pid,
                code,
                signal,
                exited_at: crate::base::time::now_rfc3339(),
                error: Some(why),
            };
            // Another caller may have recorded it meanwhile: the first record wins.
            match dir.read_exit()? {
                Some(e) => e,
                None => {
                    dir.write_exit(&st)?;
                    st
                }
            }
        }
    };
    Ok(ShimState {
        id: id.to_string(),
        bundle: cfg.bundle,
        status: Status::Stopped,
        pid,
        tty: cfg.tty,
        stdin: cfg.stdin,
        exit: Some(exit),
        execs: Vec::new(),
        shim_pid: 0,
    })
}

fn delete_lost(dir: &ShimDir, own_binary: &Path, id: &str) -> Result<()> {
    let cfg = read_config(dir, id)?;
    let rt = Runtime::new(&cfg.runtime, own_binary, None);
    match rt.run(&["delete", "--force", id]) {
        Ok(_) => {}
        Err(e) if e.kind() == ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    std::fs::remove_dir_all(dir.path()).ctx(|| format!("remove {}", dir.path().display()))
}
