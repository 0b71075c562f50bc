//! Containers through shims: the supervisor (daemon side), the per-container shim, the
//! daemon↔shim protocol and json-file logs.
//!
//! ```text
//! dockerd ──Supervisor──► <exec-root>/shims/<id>/shim.sock ──► containerd-shim (one per container)
//!    │  (or Supervisor::remote ──► `containerd` role ──► the same shims)     │ runc create/start/…
//!    │                                                                      ▼  (exec of the runtime)
//!    └─ survives nothing: all state is in the shims and their directories   container init
//! ```
//!
//! # The API for the daemon
//!
//! [`Supervisor`] is cheap to clone and async (async-io; call it from smol tasks). Every method
//! names the container by id; `exec_id` selects an exec process instead of the main one.
//!
//! | call | does | answers |
//! | --- | --- | --- |
//! | [`Supervisor::new`]`(Config)` / [`Supervisor::remote`]`(socket)` | embedded supervisor / client of a `containerd` role | |
//! | `create(CreateOpts{id, bundle, tty, stdin, log, runtime})` | spawns the shim, `runc create` | [`ShimState`] (status created, pid) |
//! | `start(id)` | `runc start` | pid |
//! | `kill(id, signal, all)`, `kill_exec(id, exec_id, signal)` | `runc kill [--all]` / kill(2) | |
//! | `wait(id)`, `wait_exec(id, exec_id)` | resolves once the process exited and its output is drained | [`ExitStatus`] (code = 128+signal when signalled) |
//! | `state(id)` | | [`ShimState`] (status, pid, exit, execs) |
//! | `pause(id)`, `resume(id)` | `runc pause/resume` | |
//! | `exec_create(id, exec_id, ExecSpec)` then `attach(.., Some(exec_id), ..)` then `exec_start` | `runc exec --detach` | pid; `exec` does create+start |
//! | `attach(id, exec_id, AttachOpts)` | the process's stdio as a stream | [`AttachStream`] |
//! | `resize(id, exec_id, w, h)`, `close_stdin(id, exec_id)` | pty size / end of stdin | |
//! | `delete(id, force)` | `runc delete` (force: SIGKILL first); the shim removes its directory, answers, exits | exit status if it ran |
//! | `list()` / `restore()` | every container under the exec root: call it at daemon start to re-adopt | `Vec<ShimState>` |
//! | `shutdown(id, force)` | stops the shim without deleting | |
//!
//! Attach streams: with a tty, raw bytes both ways; otherwise the stream carries Docker's
//! multiplexed frames (`[1|2,0,0,0,len BE u32]` + payload), exactly what an HTTP attach sends for
//! API ≥ 1.42, so the daemon can splice it to a hijacked connection unchanged. Write stdin to the
//! stream; half-close it (`shutdown(Write)`) to end stdin. The stream ends when the process has
//! exited and its output is drained. Attach before `start`/`exec_start` to miss nothing.
//!
//! Errors keep their [`ErrorKind`](crate::base::ErrorKind) across sockets: NotFound ("no such
//! container: ID", "no such exec: E"), Conflict ("container ID is not running", "… already
//! exists"), Unavailable (the shim is gone), Internal ("OCI runtime create failed: <runtime's
//! message>", e.g. `exec: "x": executable file not found in $PATH` → the daemon maps to 127).
//!
//! # Live restore
//!
//! Shims are started through a fork in a new session and are never the daemon's children, so
//! `kill -9` of the daemon leaves them and their containers running; a new supervisor on the same
//! exec root calls `list()` and every operation works again (state, attach, wait, kill, logs —
//! the shim kept writing them). A container that exited meanwhile is reported stopped with its
//! exit code: its shim wrote exit.json durably the moment it reaped it, and keeps serving until
//! `delete`.
//!
//! A shim killed with `kill -9`: an exit it had already reaped is in exit.json and is reported.
//! If the container was still running, it lost its stdio and its reaper (it is reparented to init,
//! which reaps it, so its real exit status cannot be learned by anyone); the supervisor, at the
//! next call for that container, kills it through the runtime and reports exit code 137 with
//! `ExitStatus::error` = "the shim of container ID died; the container was killed" (if it had
//! already stopped: 255, "… exit status is lost"). That record is written to exit.json.
//!
//! Memory: an idle shim is about 0.8 MB VmRSS, of which ~0.2 MB private (the rest is the
//! binary's code, shared in the page cache); after 500 ms without requests it gives back its
//! freed heap and unmaps the code pages it touched (`sys::reaper::release_binary_pages`).
//!
//! Rules of the layer: the shim is single-threaded and synchronous (no smol in `shim/`); the
//! runtime is only ever exec'd (runc's command line, [`runc`]); the daemon side is async.

mod client;
pub mod entry;
pub mod layout;
mod local;
pub mod logfile;
pub mod proto;
mod remote;
pub mod runc;
mod service;
pub(crate) mod shim;

pub use local::Config;
pub use logfile::LogConfig;
pub use proto::{CreateOpts, ExecSpec, ExecState, ExitStatus, RuntimeConfig, ShimState, Status};

use crate::base::{Error, Result};
use proto::{Reply, Request, ServiceRequest};
use smol::Async;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::sync::Arc;

/// Which streams an attach carries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AttachOpts {
    pub stdin: bool,
    pub stdout: bool,
    pub stderr: bool,
    /// Close the process's stdin when this client's stdin ends (Docker's `StdinOnce`).
    pub close_stdin: bool,
}

/// A process's stdio as a stream (see the module doc for the framing).
pub struct AttachStream {
    pub tty: bool,
    pub stream: Async<UnixStream>,
}

#[derive(Clone)]
enum Backend {
    Local(Arc<local::Local>),
    Remote(Arc<remote::Remote>),
}

/// The daemon's handle on every container's shim.
#[derive(Clone)]
pub struct Supervisor {
    backend: Backend,
}

impl Supervisor {
    /// An embedded supervisor over `cfg.exec_root` (created if missing).
    pub fn new(cfg: Config) -> Result<Supervisor> {
        Ok(Supervisor {
            backend: Backend::Local(Arc::new(local::Local::new(cfg)?)),
        })
    }

    /// A client of a `containerd` role serving `socket`.
    pub fn remote(socket: impl Into<PathBuf>) -> Supervisor {
        Supervisor {
            backend: Backend::Remote(Arc::new(remote::Remote::new(socket.into()))),
        }
    }

    pub async fn create(&self, opts: CreateOpts) -> Result<ShimState> {
        match &self.backend {
            Backend::Local(l) => l.create(opts).await,
            Backend::Remote(r) => match r.call(ServiceRequest::Create { opts }).await? {
                Reply::State { state } => Ok(state),
                other => Err(unexpected(other)),
            },
        }
    }

    /// Every container under the exec root, with shims that died resolved; the daemon calls this
    /// at startup to re-adopt running containers and learn about exits while it was down.
    pub async fn list(&self) -> Result<Vec<ShimState>> {
        match &self.backend {
            Backend::Local(l) => l.list().await,
            Backend::Remote(r) => match r.call(ServiceRequest::List).await? {
                Reply::List { containers } => Ok(containers),
                other => Err(unexpected(other)),
            },
        }
    }

    /// `list` under the name the daemon's startup uses: re-adopt what survived it.
    pub async fn restore(&self) -> Result<Vec<ShimState>> {
        self.list().await
    }

    /// One raw request to a container's shim.
    pub async fn request(&self, id: &str, req: Request) -> Result<Reply> {
        match &self.backend {
            Backend::Local(l) => l.call(id, req).await,
            Backend::Remote(r) => {
                r.call(ServiceRequest::Task {
                    id: id.to_string(),
                    request: req,
                })
                .await
            }
        }
    }

    pub(crate) async fn attach_request(
        &self,
        id: &str,
        req: Request,
    ) -> Result<(bool, Async<UnixStream>)> {
        match &self.backend {
            Backend::Local(l) => l.attach(id, req).await,
            Backend::Remote(r) => {
                r.attach(ServiceRequest::Task {
                    id: id.to_string(),
                    request: req,
                })
                .await
            }
        }
    }

    async fn done(&self, id: &str, req: Request) -> Result<()> {
        match self.request(id, req).await? {
            Reply::Done => Ok(()),
            other => Err(unexpected(other)),
        }
    }

    async fn pid(&self, id: &str, req: Request) -> Result<u32> {
        match self.request(id, req).await? {
            Reply::Pid { pid } => Ok(pid),
            other => Err(unexpected(other)),
        }
    }

    async fn exit(&self, id: &str, req: Request) -> Result<ExitStatus> {
        match self.request(id, req).await? {
            Reply::Exit { exit } => Ok(exit),
            other => Err(unexpected(other)),
        }
    }

    /// Start the created container; returns its init pid.
    pub async fn start(&self, id: &str) -> Result<u32> {
        self.pid(id, Request::Start).await
    }

    /// Signal the container's init (`all`: every process in it).
    pub async fn kill(&self, id: &str, signal: i32, all: bool) -> Result<()> {
        self.done(
            id,
            Request::Kill {
                signal,
                all,
                exec_id: None,
            },
        )
        .await
    }

    pub async fn kill_exec(&self, id: &str, exec_id: &str, signal: i32) -> Result<()> {
        self.done(
            id,
            Request::Kill {
                signal,
                all: false,
                exec_id: Some(exec_id.to_string()),
            },
        )
        .await
    }

    /// Resolves when the container has exited (immediately if it already has).
    pub async fn wait(&self, id: &str) -> Result<ExitStatus> {
        self.exit(id, Request::Wait { exec_id: None }).await
    }

    pub async fn wait_exec(&self, id: &str, exec_id: &str) -> Result<ExitStatus> {
        self.exit(
            id,
            Request::Wait {
                exec_id: Some(exec_id.to_string()),
            },
        )
        .await
    }

    pub async fn state(&self, id: &str) -> Result<ShimState> {
        match self.request(id, Request::State).await? {
            Reply::State { state } => Ok(state),
            other => Err(unexpected(other)),
        }
    }

    pub async fn pause(&self, id: &str) -> Result<()> {
        self.done(id, Request::Pause).await
    }

    pub async fn resume(&self, id: &str) -> Result<()> {
        self.done(id, Request::Resume).await
    }

    /// Register an exec process; attach to it, then `exec_start`.
    pub async fn exec_create(&self, id: &str, exec_id: &str, spec: ExecSpec) -> Result<()> {
        self.done(
            id,
            Request::ExecCreate {
                exec_id: exec_id.to_string(),
                spec,
            },
        )
        .await
    }

    pub async fn exec_start(&self, id: &str, exec_id: &str) -> Result<u32> {
        self.pid(
            id,
            Request::ExecStart {
                exec_id: exec_id.to_string(),
            },
        )
        .await
    }

    /// `exec_create` + `exec_start` (for detached execs); returns the pid.
    pub async fn exec(&self, id: &str, exec_id: &str, spec: ExecSpec) -> Result<u32> {
        self.exec_create(id, exec_id, spec).await?;
        self.exec_start(id, exec_id).await
    }

    pub async fn attach(
        &self,
        id: &str,
        exec_id: Option<&str>,
        opts: AttachOpts,
    ) -> Result<AttachStream> {
        let req = Request::Attach {
            exec_id: exec_id.map(str::to_string),
            stdin: opts.stdin,
            stdout: opts.stdout,
            stderr: opts.stderr,
            close_stdin: opts.close_stdin,
        };
        let (tty, stream) = self.attach_request(id, req).await?;
        Ok(AttachStream { tty, stream })
    }

    pub async fn resize(
        &self,
        id: &str,
        exec_id: Option<&str>,
        width: u16,
        height: u16,
    ) -> Result<()> {
        self.done(
            id,
            Request::Resize {
                exec_id: exec_id.map(str::to_string),
                width,
                height,
            },
        )
        .await
    }

    pub async fn close_stdin(&self, id: &str, exec_id: Option<&str>) -> Result<()> {
        self.done(
            id,
            Request::CloseStdin {
                exec_id: exec_id.map(str::to_string),
            },
        )
        .await
    }

    /// Delete the container (`force`: kill it first); its shim exits and its directory goes.
    pub async fn delete(&self, id: &str, force: bool) -> Result<Option<ExitStatus>> {
        match self.request(id, Request::Delete { force }).await? {
            Reply::Deleted { exit } => Ok(exit),
            other => Err(unexpected(other)),
        }
    }

    /// Stop the shim, keeping the container's directory (refused while it runs unless `force`).
    pub async fn shutdown(&self, id: &str, force: bool) -> Result<()> {
        self.done(id, Request::Shutdown { force }).await
    }
}

fn unexpected(r: Reply) -> Error {
    Error::internal(format!("unexpected reply: {r:?}"))
}
