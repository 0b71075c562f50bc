//! `docker exec`: exec instances (create, start attached or detached, inspect, resize), and
//! the process they run, derived from the container's own configuration as Docker does.

use super::create::event_attributes;
use super::state::Status;
use super::store::Container;
use super::{lifecycle, rootfs, spec, stdio, user};
use crate::api::container::{ExecConfig, ExecInspect, ExecProcessConfig};
use crate::base::{Error, ErrorKind, Result};
use crate::daemon::Daemon;
use crate::http::server::Upgraded;
use crate::oci::runtime::{Capabilities, ConsoleSize, Process, User};
use crate::supervisor::{AttachOpts, ExecSpec};
use smol::io::AsyncWriteExt;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

#[derive(Debug, Default, Clone)]
pub struct ExecRun {
    pub running: bool,
    /// Started (or tried to): an exec runs once.
    pub started: bool,
    pub exit_code: Option<i64>,
    pub pid: i64,
}

#[derive(Debug)]
pub struct Exec {
    pub id: String,
    pub container_id: String,
    pub config: ExecConfig,
    pub run: Mutex<ExecRun>,
}

impl Exec {
    fn run(&self) -> ExecRun {
        self.run.lock().map(|r| r.clone()).unwrap_or_default()
    }
    fn set(&self, f: impl FnOnce(&mut ExecRun)) {
        if let Ok(mut r) = self.run.lock() {
            f(&mut r);
        }
    }

    pub fn inspect(&self) -> ExecInspect {
        let r = self.run();
        let cmd = self.config.Cmd.clone().unwrap_or_default();
        ExecInspect {
            ID: self.id.clone(),
            Running: r.running,
            ExitCode: r.exit_code,
            ProcessConfig: ExecProcessConfig {
                tty: self.config.Tty,
                entrypoint: cmd.first().cloned().unwrap_or_default(),
                arguments: cmd.iter().skip(1).cloned().collect(),
                privileged: Some(self.config.Privileged),
                user: (!self.config.User.is_empty()).then(|| self.config.User.clone()),
            },
            OpenStdin: self.config.AttachStdin,
            OpenStderr: self.config.AttachStderr,
            OpenStdout: self.config.AttachStdout,
            CanRemove: r.started && !r.running,
            ContainerID: self.container_id.clone(),
            DetachKeys: self.config.DetachKeys.clone(),
            Pid: r.pid,
        }
    }
}

/// Every exec instance of the daemon (they live in memory, as in Docker).
#[derive(Debug, Default)]
pub struct Execs {
    map: Mutex<HashMap<String, Arc<Exec>>>,
}

impl Execs {
    pub fn get(&self, id: &str) -> Result<Arc<Exec>> {
        self.map
            .lock()
            .ok()
            .and_then(|m| m.get(id).cloned())
            .ok_or_else(|| Error::not_found(format!("No such exec instance: {id}")))
    }
    fn insert(&self, e: Arc<Exec>) {
        if let Ok(mut m) = self.map.lock() {
            m.insert(e.id.clone(), e);
        }
    }
    /// Forget the execs of a removed container.
    pub fn forget_container(&self, container_id: &str) {
        if let Ok(mut m) = self.map.lock() {
            m.retain(|_, e| e.container_id != container_id);
        }
    }
}

fn check_running(c: &Container) -> Result<()> {
    match c.with(|r| r.state.status) {
        Status::Running => Ok(()),
        Status::Paused => Err(Error::conflict(format!(
            "Container {} is paused, unpause the container before exec",
            c.id
        ))),
        Status::Restarting => Err(Error::conflict(format!(
            "Container {} is restarting, wait until the container is running",
            c.id
        ))),
        _ => Err(Error::conflict(format!(
            "Container {} is not running",
            c.id
        ))),
    }
}

/// `POST /containers/{id}/exec`.
pub fn create(d: &Daemon, c: &Container, cfg: ExecConfig) -> Result<String> {
    check_running(c)?;
    let cmd = cfg.Cmd.clone().unwrap_or_default();
    if cmd.is_empty() {
        return Err(Error::invalid("No exec command specified"));
    }
    if !cfg.DetachKeys.is_empty() {
        stdio::parse_detach_keys(&cfg.DetachKeys)?;
    }
    let id = crate::base::id::random_hex_id();
    d.containers.execs.insert(Arc::new(Exec {
        id: id.clone(),
        container_id: c.id.clone(),
        config: cfg,
        run: Mutex::new(ExecRun::default()),
    }));
    c.live()?.exec_ids.push(id.clone());
    let mut attrs = event_attributes(&c.snapshot());
    attrs.insert("execID".into(), id.clone());
    d.events.publish(
        "container",
        &format!("exec_create: {}", cmd.join(" ")),
        &c.id,
        attrs,
    );
    Ok(id)
}

/// The process an exec (or a health probe) runs in `c` (blocking: reads the container's
/// /etc/passwd).
pub fn process_for(
    d: &Daemon,
    c: &Container,
    cfg: &ExecConfig,
    console: Option<[u32; 2]>,
) -> Result<Process> {
    let r = c.snapshot();
    let root = d.containers.bundle(&c.id).join("rootfs");
    let user_spec = if cfg.User.is_empty() {
        r.config.User.clone()
    } else {
        cfg.User.clone()
    };
    let passwd = rootfs::read_file(&root, "/etc/passwd")?;
    let group = rootfs::read_file(&root, "/etc/group")?;
    let u = user::resolve(
        &user_spec,
        r.host_config.GroupAdd.as_deref().unwrap_or(&[]),
        passwd.as_deref(),
        group.as_deref(),
    )?;
    let mut env = spec::environment(&r.config, &r.config.Hostname);
    if cfg.Tty && !env.iter().any(|e| e.starts_with("TERM=")) {
        env.push("TERM=xterm".into());
    }
    for e in cfg.Env.iter().flatten() {
        let key = e.split('=').next().unwrap_or("");
        match env.iter_mut().find(|x| x.split('=').next() == Some(key)) {
            Some(slot) => *slot = e.clone(),
            None => env.push(e.clone()),
        }
    }
    let caps = if cfg.Privileged {
        spec::ALL_CAPS.iter().map(|s| s.to_string()).collect()
    } else {
        spec::capabilities(&r.host_config)?
    };
    let root_user = u.uid == 0;
    let cwd = if !cfg.WorkingDir.is_empty() {
        cfg.WorkingDir.clone()
    } else if !r.config.WorkingDir.is_empty() {
        r.config.WorkingDir.clone()
    } else {
        "/".into()
    };
    let nnp = r.host_config.SecurityOpt.iter().flatten().any(|o| {
        o == "no-new-privileges" || o == "no-new-privileges:true" || o == "no-new-privileges=true"
    });
    Ok(Process {
        terminal: cfg.Tty,
        console_size: console
            .filter(|s| cfg.Tty && *s != [0, 0])
            .map(|s| ConsoleSize {
                height: s[0],
                width: s[1],
            }),
        user: User {
            uid: u.uid,
            gid: u.gid,
            umask: None,
            additional_gids: u.additional_gids,
            username: None,
        },
        args: cfg.Cmd.clone().unwrap_or_default(),
        env,
        cwd,
        capabilities: Some(Capabilities {
            bounding: Some(caps.clone()),
            effective: root_user.then(|| caps.clone()),
            permitted: root_user.then(|| caps.clone()),
            inheritable: None,
            ambient: None,
        }),
        rlimits: Vec::new(),
        no_new_privileges: nnp,
        apparmor_profile: None,
        oom_score_adj: None,
        selinux_label: None,
    })
}

/// Start an exec: attached (`up` is the hijacked connection) or detached.
pub async fn start(
    d: Arc<Daemon>,
    e: Arc<Exec>,
    console: Option<[u32; 2]>,
    up: Option<Upgraded>,
) -> Result<()> {
    {
        let mut run = e
            .run
            .lock()
            .map_err(|_| Error::internal("exec lock poisoned"))?;
        if run.exit_code.is_some() || run.started {
            return Err(Error::conflict(format!(
                "exec command {} has already run",
                e.id
            )));
        }
        if run.running {
            return Err(Error::conflict(format!(
                "exec command {} is already running",
                e.id
            )));
        }
        run.started = true;
        run.running = true;
    }
    let c = d.containers.store.get(&e.container_id)?;
    let res = start_inner(&d, &c, &e, console, up).await;
    if let Err(err) = &res {
        e.set(|r| {
            r.running = false;
            if r.exit_code.is_none() {
                r.exit_code = Some(
                    lifecycle::start_exit_code(&err.to_string())
                        .min(127)
                        .max(126),
                );
            }
        });
    }
    res
}

async fn start_inner(
    d: &Arc<Daemon>,
    c: &Arc<Container>,
    e: &Arc<Exec>,
    console: Option<[u32; 2]>,
    up: Option<Upgraded>,
) -> Result<()> {
    check_running(c)?;
    let rid = d.containers.runtime_id(&c.id);
    let console = console.or(e.config.ConsoleSize);
    let (dd, cc, cfg) = (d.clone(), c.clone(), e.config.clone());
    let process = crate::http::rt::unblock(move || process_for(&dd, &cc, &cfg, console)).await;
    let process = match process {
        Ok(p) => p,
        Err(err) => return fail(up, e.config.Tty, err).await,
    };
    let cmd = e.config.Cmd.clone().unwrap_or_default().join(" ");
    if let Err(err) = d
        .supervisor
        .exec_create(
            &rid,
            &e.id,
            ExecSpec {
                process,
                stdin: e.config.AttachStdin,
            },
        )
        .await
    {
        return fail(up, e.config.Tty, err).await;
    }
    let stream = match &up {
        Some(_) => {
            let opts = AttachOpts {
                stdin: e.config.AttachStdin,
                stdout: e.config.AttachStdout,
                stderr: e.config.AttachStderr,
                close_stdin: !e.config.Tty,
            };
            match d.supervisor.attach(&rid, Some(&e.id), opts).await {
                Ok(s) => Some(s),
                Err(err) => return fail(up, e.config.Tty, err).await,
            }
        }
        None => None,
    };
    let pid = match d.supervisor.exec_start(&rid, &e.id).await {
        Ok(pid) => pid,
        Err(err) => {
            let words = lifecycle::go_errno_words(&err.to_string());
            let msg = if words.contains("OCI runtime exec failed") {
                words
            } else {
                format!("OCI runtime exec failed: {words}")
            };
            let code = lifecycle::start_exit_code(&msg).clamp(126, 127);
            e.set(|r| r.exit_code = Some(code));
            return fail(up, e.config.Tty, Error::new(err.kind(), msg)).await;
        }
    };
    e.set(|r| r.pid = pid as i64);
    let mut attrs = event_attributes(&c.snapshot());
    attrs.insert("execID".into(), e.id.clone());
    d.events.publish(
        "container",
        &format!("exec_start: {cmd}"),
        &c.id,
        attrs.clone(),
    );
    let finish = {
        let (d, c, e, rid) = (d.clone(), c.clone(), e.clone(), rid.clone());
        async move {
            let code = match d.supervisor.wait_exec(&rid, &e.id).await {
                Ok(x) => x.code as i64,
                Err(err) => {
                    log::warn!("wait for exec {}: {err}", e.id);
                    if err.kind() == ErrorKind::NotFound {
                        137
                    } else {
                        126
                    }
                }
            };
            e.set(|r| {
                r.running = false;
                r.exit_code = Some(code);
            });
            if let Ok(mut l) = c.live() {
                l.exec_ids.retain(|x| x != &e.id);
            }
            attrs.insert("exitCode".into(), code.to_string());
            d.events.publish("container", "exec_die", &c.id, attrs);
        }
    };
    match (up, stream) {
        (Some(up), Some(s)) => {
            let keys = stdio::parse_detach_keys(&e.config.DetachKeys).ok();
            let keys = if e.config.AttachStdin { keys } else { None };
            stdio::splice(&up, s, e.config.AttachStdin, keys).await;
            // The CLI reads the exit code as soon as the stream closes: record it first.
            finish.await;
            up.stream.shutdown();
        }
        _ => crate::http::rt::spawn_detached(finish),
    }
    Ok(())
}

/// An exec that failed to start: attached clients get the message in their stream (moby writes
/// it there after the hijack), detached ones get the error.
async fn fail(up: Option<Upgraded>, tty: bool, err: Error) -> Result<()> {
    match up {
        Some(up) => {
            let mut s = up.stream.clone();
            // moby writes it as stdout (a multiplexed frame unless the exec has a tty).
            let _ = s
                .write_all(&stdio::frame(1, format!("{err}\r\n").as_bytes(), tty))
                .await;
            let _ = s.flush().await;
            up.stream.shutdown();
            Err(err)
        }
        None => Err(err),
    }
}

/// `POST /exec/{id}/resize`.
pub async fn resize(d: &Daemon, e: &Exec, h: u16, w: u16) -> Result<()> {
    let rid = d.containers.runtime_id(&e.container_id);
    d.supervisor.resize(&rid, Some(&e.id), w, h).await
}
