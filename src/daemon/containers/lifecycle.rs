//! Start, stop, kill, pause, restart, remove; what happens when a container exits (restart
//! policies with Docker's back-off, AutoRemove); and live restore at daemon start-up.
//!
//! Locking: lifecycle operations hold the container's `op` lock for their whole run. The
//! monitor task that handles an exit does not take it (a `stop` holding it waits for that very
//! exit); it records the exit under the record lock, and a generation number keeps a late
//! monitor of an earlier run from touching a newer one.

use super::create::event_attributes;
use super::spec::{self, Inputs};
use super::state::Status;
use super::store::{no_such_container, Container};
use super::{health, rootfs, user};
use crate::base::error::Context;
use crate::base::{Error, ErrorKind, Result};
use crate::daemon::Daemon;
use crate::supervisor::{CreateOpts, ExitStatus, LogConfig, Status as ShimStatus};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Docker's default stop timeout (seconds).
pub const DEFAULT_STOP_TIMEOUT: i64 = 10;
/// Restart back-off: first delay, cap, and how long a run must last to reset it.
pub const BACKOFF_START: Duration = Duration::from_millis(100);
pub const BACKOFF_MAX: Duration = Duration::from_secs(60);
pub const BACKOFF_RESET_AFTER: Duration = Duration::from_secs(10);

/// Should a container that exited with `exit_code` be restarted? (Docker's restart manager.)
pub fn should_restart(
    policy: &str,
    max_retries: i64,
    restart_count: i64,
    exit_code: i64,
    manually_stopped: bool,
    cancelled: bool,
) -> bool {
    if cancelled {
        return false;
    }
    match policy {
        "always" => true,
        "unless-stopped" => !manually_stopped,
        "on-failure" => exit_code != 0 && (max_retries == 0 || restart_count < max_retries),
        _ => false,
    }
}

/// The next back-off delay: doubled after a short run, reset after a run of at least 10 s.
pub fn next_backoff(prev: Option<Duration>, ran_for: Duration) -> Duration {
    match prev {
        _ if ran_for >= BACKOFF_RESET_AFTER => BACKOFF_START,
        None => BACKOFF_START,
        Some(p) => (p * 2).min(BACKOFF_MAX),
    }
}

/// Is `path` a mount point in this process's mount namespace?
pub fn is_mountpoint(path: &Path) -> bool {
    if let Some(yes) = crate::image::snapshot::is_mount_point(path) {
        return yes;
    }
    let Ok(info) = std::fs::read_to_string("/proc/self/mountinfo") else {
        return false;
    };
    let want = path.to_string_lossy();
    info.lines()
        .filter_map(|l| l.split(' ').nth(4))
        .any(|p| unescape(p) == want)
}

fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            out.push((b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0'));
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Mount the container's snapshot at `<bundle>/rootfs` (unless it already is).
pub fn mount_rootfs(d: &Daemon, id: &str) -> Result<PathBuf> {
    let target = d.containers.bundle(id).join("rootfs");
    crate::base::fs::mkdir_all(&target, 0o755)?;
    if is_mountpoint(&target) {
        return Ok(target);
    }
    for m in d.images.snapshot_mounts(id)? {
        m.mount_at(&target)
            .map_err(|e| e.context(format!("mount the root file system of container {id}")))?;
    }
    Ok(target)
}

/// Unmount `<bundle>/rootfs` (every layer mounted there) and drop the bundle directory.
pub fn unmount_rootfs(d: &Daemon, id: &str) -> Result<()> {
    let bundle = d.containers.bundle(id);
    let target = bundle.join("rootfs");
    while is_mountpoint(&target) {
        crate::image::snapshot::unmount(&target)
            .map_err(|e| e.context(format!("unmount the root file system of container {id}")))?;
    }
    match std::fs::remove_dir_all(&bundle) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::from(e).context(format!("remove {}", bundle.display()))),
    }
}

fn not_running(id: &str) -> Error {
    Error::conflict(format!("container {id} is not running"))
}

/// Go spells errno messages in lower case ("is a directory"); clients match on those words.
pub fn go_errno_words(msg: &str) -> String {
    let mut m = msg.to_string();
    for (rust, go) in [
        ("Is a directory", "is a directory"),
        ("Permission denied", "permission denied"),
        ("No such file or directory", "no such file or directory"),
        ("Exec format error", "exec format error"),
        ("Not a directory", "not a directory"),
        ("Operation not permitted", "operation not permitted"),
    ] {
        m = m.replace(rust, go);
    }
    m
}

/// Docker's translation of a failed task start into the container's exit code.
pub fn start_exit_code(msg: &str) -> i64 {
    let m = msg.to_ascii_lowercase();
    if m.contains("executable file not found") || m.contains("no such file or directory") {
        127
    } else if m.contains("permission denied")
        || m.contains("is a directory")
        || m.contains("exec format error")
    {
        126
    } else {
        128
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Started {
    Now,
    AlreadyRunning,
}

/// `POST /containers/{id}/start`.
pub async fn start(d: &Arc<Daemon>, c: &Arc<Container>) -> Result<Started> {
    let _op = c.op.lock().await;
    start_locked(d, c).await
}

/// Write the bundle for the container's next run (blocking).
fn prepare_bundle(d: &Daemon, c: &Container) -> Result<(PathBuf, bool, bool)> {
    let r = c.snapshot();
    let rootfs_dir = mount_rootfs(d, &c.id)?;
    let made = (|| -> Result<(PathBuf, bool, bool)> {
        let passwd = rootfs::read_file(&rootfs_dir, "/etc/passwd")?;
        let group = rootfs::read_file(&rootfs_dir, "/etc/group")?;
        let u = user::resolve(
            &r.config.User,
            r.host_config.GroupAdd.as_deref().unwrap_or(&[]),
            passwd.as_deref(),
            group.as_deref(),
        )?;
        if !r.config.WorkingDir.is_empty() {
            rootfs::make_workdir(&rootfs_dir, &r.config.WorkingDir, u.uid, u.gid)?;
        }
        let bundle = d.containers.bundle(&c.id);
        let spec = spec::build(&Inputs {
            id: &c.id,
            config: &r.config,
            host_config: &r.host_config,
            user: &u,
            rootfs: "rootfs".into(),
            hostname_path: Some(PathBuf::from(&r.hostname_path)),
            hosts_path: Some(PathBuf::from(&r.hosts_path)),
            resolv_conf_path: Some(PathBuf::from(&r.resolv_conf_path)),
            host: &d.containers.host,
        })?;
        // The exec root is volatile (a tmpfs, normally): no fsync for the bundle.
        std::fs::write(bundle.join("config.json"), serde_json::to_vec(&spec)?)
            .ctx(|| format!("write {}", bundle.join("config.json").display()))?;
        Ok((bundle, r.config.Tty, r.config.OpenStdin))
    })();
    if made.is_err() {
        let _ = unmount_rootfs(d, &c.id);
    }
    made
}

fn log_config(r: &super::store::Record) -> Result<Option<LogConfig>> {
    if r.host_config.LogConfig.Type == "none" || r.log_path.is_empty() {
        return Ok(None);
    }
    let opts = r.host_config.LogConfig.Config.clone().unwrap_or_default();
    LogConfig::from_opts(PathBuf::from(&r.log_path), &opts).map(Some)
}

/// How long a task made at create time waits for its `start` before it is torn down.
const PREPARED_TTL: Duration = Duration::from_secs(2);

/// Make the task of a just-created container in the background: rootfs mount, bundle, shim and
/// runtime `create` (the init waits for `start`). `docker run` sends `start` some milliseconds
/// after `create` (attach and wait come first), so by then only the init has to be let go.
/// Nothing of it is visible in the container's state; a failure here, a `start` later than
/// PREPARED_TTL, an `update` or a removal discard it, and `start` then does the whole job.
pub fn prepare(d: Arc<Daemon>, c: Arc<Container>) {
    crate::http::rt::spawn_detached(async move {
        let _prep = c.prep.lock().await;
        if c.snapshot().state.status != Status::Created || d.containers.store.get(&c.id).is_err() {
            return;
        }
        match c.live() {
            Ok(l) if l.prepared.is_none() => {}
            _ => return,
        }
        if let Err(e) = make_task(&d, &c).await {
            // `start` will meet the same error and report it.
            log::debug!("prepare container {}: {e}", c.id);
            return;
        }
        let token = Instant::now();
        if let Ok(mut l) = c.live() {
            l.prepared = Some(token);
        }
        let (d, c) = (d.clone(), c.clone());
        crate::http::rt::spawn_detached(async move {
            smol::Timer::after(PREPARED_TTL).await;
            let _op = c.op.lock().await;
            if c.live().ok().and_then(|l| l.prepared) == Some(token) {
                discard_prepared(&d, &c).await;
            }
        });
    });
}

/// Tear down a task made by `prepare` that no `start` used (op lock held; waits for a
/// `prepare` in progress).
pub async fn discard_prepared(d: &Arc<Daemon>, c: &Arc<Container>) {
    let _prep = c.prep.lock().await;
    if c.live().ok().and_then(|mut l| l.prepared.take()).is_none() {
        return;
    }
    let rid = d.containers.runtime_id(&c.id);
    let _ = d.supervisor.delete(&rid, true).await;
    let (dd, id) = (d.clone(), c.id.clone());
    if let Err(e) = crate::http::rt::unblock(move || unmount_rootfs(&dd, &id)).await {
        log::warn!("{e}");
    }
}

/// The container's task up to "created": rootfs, bundle, shim, runtime create. On failure
/// nothing of it is left.
async fn make_task(d: &Arc<Daemon>, c: &Arc<Container>) -> Result<()> {
    let log = log_config(&c.snapshot())?;
    let rid = d.containers.runtime_id(&c.id);
    // A shim left from an earlier run (a crash between exit and cleanup) goes first.
    let _ = d.supervisor.delete(&rid, true).await;
    let (dd, cc) = (d.clone(), c.clone());
    let (bundle, tty, stdin) = crate::http::rt::unblock(move || prepare_bundle(&dd, &cc)).await?;
    let opts = CreateOpts {
        id: rid.clone(),
        bundle,
        tty,
        stdin,
        log,
        runtime: None,
    };
    if let Err(e) = d.supervisor.create(opts).await {
        let _ = d.supervisor.delete(&rid, true).await;
        let (dd, id) = (d.clone(), c.id.clone());
        let _ = crate::http::rt::unblock(move || unmount_rootfs(&dd, &id)).await;
        return Err(e);
    }
    Ok(())
}

/// Start with the op lock held.
pub async fn start_locked(d: &Arc<Daemon>, c: &Arc<Container>) -> Result<Started> {
    let r = c.snapshot();
    match r.state.status {
        Status::Running => return Ok(Started::AlreadyRunning),
        Status::Paused => {
            return Err(Error::conflict(
                "cannot start a paused container, try unpause instead",
            ))
        }
        Status::Removing | Status::Dead => {
            return Err(Error::conflict(format!(
                "container is marked for removal and cannot be started"
            )))
        }
        Status::Restarting => {
            if let Ok(mut l) = c.live() {
                l.restart_cancel = None;
            }
        }
        Status::Created | Status::Exited => {}
    }
    let rid = d.containers.runtime_id(&c.id);
    // A task being made ahead of start is finished first, then used; held to the end, so none
    // is made while this start makes its own.
    let _prep = c.prep.lock().await;
    let prepared = c.live().ok().and_then(|mut l| l.prepared.take()).is_some();
    let res = async {
        let created = if prepared {
            Ok(())
        } else {
            make_task(d, c).await
        };
        if let Err(e) = created {
            // Whatever attach was waiting for this run will not get it.
            for p in d.containers.take_pending_attach(&c.id) {
                let _ = p.tx.try_send(Err(Error::new(e.kind(), e.to_string())));
            }
            return Err(e);
        }
        for p in d.containers.take_pending_attach(&c.id) {
            let s = d.supervisor.attach(&rid, None, p.opts).await;
            let _ = p.tx.send(s).await;
        }
        d.supervisor.start(&rid).await
    }
    .await;
    let pid = match res {
        Ok(pid) => pid,
        Err(e) => {
            let _ = d.supervisor.delete(&rid, true).await;
            let (dd, id) = (d.clone(), c.id.clone());
            let _ = crate::http::rt::unblock(move || unmount_rootfs(&dd, &id)).await;
            let msg = format!(
                "failed to create task for container: {}",
                go_errno_words(&e.to_string())
            );
            let code = start_exit_code(&msg);
            // As in Docker, the status stays (created or exited) and a `next-exit` waiter keeps
            // waiting: the CLI reports the start error itself.
            let _ = c.update(|r| {
                r.state.error = msg.clone();
                r.state.exit_code = code;
            });
            let kind = if code == 128 {
                e.kind()
            } else {
                ErrorKind::InvalidArgument
            };
            return Err(Error::new(kind, msg));
        }
    };
    let generation = {
        let mut l = c.live()?;
        l.generation += 1;
        l.stopping = false;
        l.restart_cancel = None;
        l.generation
    };
    // Not durable: a machine crash stops the container anyway, and the previous record (not
    // running) is what a reboot should find. Unless it clears "manually stopped", which an
    // `unless-stopped` policy reads after a reboot.
    let record = |r: &mut super::store::Record| {
        r.state.status = Status::Running;
        r.state.pid = pid as i64;
        r.state.exit_code = 0;
        r.state.error.clear();
        r.state.started_at = crate::base::time::now_rfc3339();
        r.state.oom_killed = false;
        r.has_been_started_before = true;
        r.has_been_manually_stopped = false;
        if r.config.Healthcheck.as_ref().is_some_and(health::enabled) {
            r.state.health = Some(crate::api::container::Health {
                Status: "starting".into(),
                FailingStreak: 0,
                Log: Some(Vec::new()),
            });
        }
    };
    if c.with(|r| r.has_been_manually_stopped) {
        c.update(record)?;
    } else {
        c.update_volatile(record)?;
    }
    d.events
        .publish("container", "start", &c.id, event_attributes(&c.snapshot()));
    spawn_monitor(d.clone(), c.clone(), generation);
    health::spawn(d.clone(), c.clone(), generation);
    Ok(Started::Now)
}

fn spawn_monitor(d: Arc<Daemon>, c: Arc<Container>, generation: u64) {
    crate::http::rt::spawn_detached(async move {
        let rid = d.containers.runtime_id(&c.id);
        let mut delay = Duration::from_millis(100);
        let exit = loop {
            match d.supervisor.wait(&rid).await {
                Ok(e) => break e,
                Err(e) if e.kind() == ErrorKind::Unavailable => {
                    log::warn!("waiting for container {}: {e}; retrying", c.id);
                    smol::Timer::after(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(5));
                }
                Err(e) => {
                    log::error!("waiting for container {}: {e}", c.id);
                    break ExitStatus {
                        pid: 0,
                        code: 255,
                        signal: None,
                        exited_at: crate::base::time::now_rfc3339(),
                        error: Some(e.to_string()),
                    };
                }
            }
        };
        handle_exit(&d, &c, generation, exit).await;
    });
}

/// Record an exit and apply the restart policy or AutoRemove.
pub async fn handle_exit(d: &Arc<Daemon>, c: &Arc<Container>, generation: u64, exit: ExitStatus) {
    let stopping = match c.live() {
        Ok(mut l) if l.generation == generation => {
            // Stop the health checks of this run.
            l.health_stop = None;
            l.stopping
        }
        _ => return,
    };
    let rid = d.containers.runtime_id(&c.id);
    // Before the runtime removes the cgroup: did the OOM killer strike?
    let cgroup_path = {
        let r = c.snapshot();
        let parent = if r.host_config.Resources.CgroupParent.is_empty() {
            d.containers.host.cgroup_parent.clone()
        } else {
            r.host_config.Resources.CgroupParent.clone()
        };
        format!("{}/{}", parent.trim_end_matches('/'), c.id)
    };
    let oom = crate::http::rt::unblock(move || super::stats::oom_killed(&cgroup_path)).await;
    let r = c.snapshot();
    let ran_for = super::state::parse_time(&r.state.started_at)
        .and_then(|t| std::time::SystemTime::now().duration_since(t).ok())
        .unwrap_or_default();
    let policy = r.host_config.RestartPolicy.clone();
    let restart = should_restart(
        &policy.Name,
        policy.MaximumRetryCount,
        r.restart_count,
        exit.code as i64,
        r.has_been_manually_stopped,
        stopping,
    ) && !d.shutting_down();
    if let Ok(mut l) = c.live() {
        l.exits += 1;
    }
    // AutoRemove: the exit and the removal mark are one durable write.
    let auto_remove = !restart && r.host_config.AutoRemove;
    let record = {
        let exit = exit.clone();
        move |r: &mut super::store::Record| {
            r.state.status = if restart {
                Status::Restarting
            } else if auto_remove {
                Status::Removing
            } else {
                Status::Exited
            };
            r.state.pid = 0;
            r.state.exit_code = exit.code as i64;
            r.state.finished_at = if exit.exited_at.is_empty() {
                crate::base::time::now_rfc3339()
            } else {
                exit.exited_at.clone()
            };
            r.state.error = exit.error.clone().unwrap_or_default();
            r.state.oom_killed = oom;
            if restart {
                r.restart_count += 1;
            }
        }
    };
    let announce = |d: &Arc<Daemon>, c: &Arc<Container>| {
        if oom {
            d.events
                .publish("container", "oom", &c.id, event_attributes(&c.snapshot()));
        }
        let mut attrs = event_attributes(&c.snapshot());
        attrs.insert("exitCode".into(), exit.code.to_string());
        d.events.publish("container", "die", &c.id, attrs);
    };
    // The task (shim, cgroups) and the rootfs mount go at the same time: the init is gone, and
    // the rootfs is detached lazily from whatever still sees it. With AutoRemove the exit is
    // recorded (as Removing) and the snapshot removed meanwhile too, under the operation lock
    // (an export or commit in progress finishes first); the record's directory goes last,
    // once the shim that writes its log is gone.
    let record_removal = record.clone();
    let mounts = async {
        let (dd, cc) = (d.clone(), c.clone());
        if !auto_remove {
            return (
                crate::http::rt::unblock(move || unmount_rootfs(&dd, &cc.id)).await,
                None,
            );
        }
        let recorded = crate::http::rt::unblock(move || cc.update(record_removal)).await;
        if let Err(e) = &recorded {
            log::error!("record the exit of container {}: {e}", c.id);
        }
        announce(d, c);
        let op = c.op.lock().await;
        let cc = c.clone();
        let removed = crate::http::rt::unblock(move || -> Result<()> {
            unmount_rootfs(&dd, &cc.id)?;
            if recorded.is_ok() {
                match dd.images.remove_snapshot(&cc.id) {
                    Ok(()) => {}
                    Err(e) if e.kind() == ErrorKind::NotFound => {}
                    Err(e) => return Err(e),
                }
            }
            Ok(())
        })
        .await;
        (removed, Some(op))
    };
    let (deleted, (unmounted, op)) =
        smol::future::zip(d.supervisor.delete(&rid, true), mounts).await;
    if let Err(e) = deleted {
        if e.kind() != ErrorKind::NotFound {
            log::warn!("delete the task of container {}: {e}", c.id);
        }
    }
    if let Err(e) = unmounted {
        log::error!("{e}");
    }
    if auto_remove {
        // Whatever failed above is retried by destroy, which marks the container Dead if it
        // cannot finish.
        if let Err(e) = destroy(d, c).await {
            if e.kind() != ErrorKind::NotFound {
                log::error!("auto-remove container {}: {e}", c.id);
            }
        }
        drop(op);
        return;
    }
    if let Err(e) = c.update(record) {
        log::error!("record the exit of container {}: {e}", c.id);
    }
    announce(d, c);
    if restart {
        schedule_restart(d.clone(), c.clone(), ran_for);
    }
}

fn schedule_restart(d: Arc<Daemon>, c: Arc<Container>, ran_for: Duration) {
    let (tx, rx) = smol::channel::bounded::<()>(1);
    let delay = {
        let Ok(mut l) = c.live() else { return };
        l.restart_cancel = Some(tx);
        let next = next_backoff(l.backoff, ran_for);
        l.backoff = Some(next);
        next
    };
    crate::http::rt::spawn_detached(async move {
        use smol::future::FutureExt;
        let cancelled = async {
            let _ = rx.recv().await;
            true
        }
        .or(async {
            smol::Timer::after(delay).await;
            false
        })
        .await;
        if cancelled {
            return;
        }
        let _op = c.op.lock().await;
        if c.with(|r| r.state.status) != Status::Restarting {
            return;
        }
        if let Err(e) = start_locked(&d, &c).await {
            log::error!("restart container {}: {e}", c.id);
            let _ = c.update(|r| r.state.status = Status::Exited);
        } else {
            d.events.publish(
                "container",
                "restart",
                &c.id,
                event_attributes(&c.snapshot()),
            );
        }
    });
}

/// Wait until the container is no longer running or paused; false on timeout.
pub async fn wait_stopped(c: &Container, timeout: Option<Duration>) -> bool {
    let deadline = timeout.map(|t| Instant::now() + t);
    loop {
        let rx = c.watch();
        if !c.with(|r| r.state.status.is_alive()) {
            return true;
        }
        match deadline {
            None => {
                let _ = rx.recv().await;
            }
            Some(dl) => {
                let now = Instant::now();
                if now >= dl {
                    return false;
                }
                use smol::future::FutureExt;
                let woke = async {
                    let _ = rx.recv().await;
                    true
                }
                .or(async {
                    smol::Timer::at(dl).await;
                    false
                })
                .await;
                if !woke && c.with(|r| r.state.status.is_alive()) {
                    return false;
                }
            }
        }
    }
}

async fn signal(d: &Arc<Daemon>, c: &Container, sig: i32) -> Result<()> {
    let rid = d.containers.runtime_id(&c.id);
    d.supervisor.kill(&rid, sig, false).await?;
    let mut attrs = event_attributes(&c.snapshot());
    attrs.insert("signal".into(), sig.to_string());
    d.events.publish("container", "kill", &c.id, attrs);
    Ok(())
}

/// `POST /containers/{id}/stop`: true if it was running (false → 304).
pub async fn stop(
    d: &Arc<Daemon>,
    c: &Arc<Container>,
    sig: Option<&str>,
    timeout: Option<i64>,
) -> Result<bool> {
    let _op = c.op.lock().await;
    stop_locked(d, c, sig, timeout).await
}

pub async fn stop_locked(
    d: &Arc<Daemon>,
    c: &Arc<Container>,
    sig: Option<&str>,
    timeout: Option<i64>,
) -> Result<bool> {
    let r = c.snapshot();
    if r.state.status == Status::Restarting {
        if let Ok(mut l) = c.live() {
            l.restart_cancel = None;
        }
        c.update(|r| {
            r.state.status = Status::Exited;
            r.has_been_manually_stopped = true;
        })?;
        d.events
            .publish("container", "stop", &c.id, event_attributes(&r));
        return Ok(true);
    }
    if !r.state.status.is_alive() {
        return Ok(false);
    }
    let sig = match sig.filter(|s| !s.is_empty()) {
        Some(s) => spec::parse_signal(s)?,
        None if !r.config.StopSignal.is_empty() => spec::parse_signal(&r.config.StopSignal)?,
        None => 15,
    };
    let timeout = timeout
        .or(r.config.StopTimeout)
        .unwrap_or(DEFAULT_STOP_TIMEOUT);
    c.live()?.stopping = true;
    c.update(|r| r.has_been_manually_stopped = true)?;
    let paused = r.state.status == Status::Paused;
    if let Err(e) = signal(d, c, sig).await {
        if e.kind() != ErrorKind::Conflict && e.kind() != ErrorKind::NotFound {
            log::warn!("stop container {}: signal {sig}: {e}", c.id);
        }
    }
    if paused {
        // A frozen process cannot act on the signal until it is thawed.
        let _ = d.supervisor.resume(&d.containers.runtime_id(&c.id)).await;
    }
    let limit = if timeout < 0 {
        None
    } else {
        Some(Duration::from_secs(timeout as u64))
    };
    if !wait_stopped(c, limit).await {
        log::info!("Container {} failed to exit within {timeout} seconds of signal {sig} - using the force", c.id);
        if let Err(e) = signal(d, c, 9).await {
            if e.kind() != ErrorKind::Conflict && e.kind() != ErrorKind::NotFound {
                return Err(e.context(format!("cannot stop container: {}", c.id)));
            }
        }
        wait_stopped(c, None).await;
    }
    d.events
        .publish("container", "stop", &c.id, event_attributes(&c.snapshot()));
    Ok(true)
}

/// `POST /containers/{id}/kill`.
pub async fn kill(
    d: &Arc<Daemon>,
    c: &Arc<Container>,
    term: &str,
    sig: Option<&str>,
) -> Result<()> {
    let _op = c.op.lock().await;
    let sig = match sig.filter(|s| !s.is_empty()) {
        Some(s) => spec::parse_signal(s)?,
        None => 9,
    };
    let r = c.snapshot();
    if r.state.status == Status::Restarting && sig == 9 {
        drop(_op);
        stop(d, c, None, None).await?;
        return Ok(());
    }
    if !r.state.status.is_alive() {
        return Err(Error::conflict(format!(
            "cannot kill container: {term}: container {} is not running",
            c.id
        )));
    }
    // As dockerd: a kill with the container's stop signal (SIGTERM unless it names one) or with
    // SIGKILL means "exit on next": the restart policy does not bring the container back.
    let stop_sig = if r.config.StopSignal.is_empty() {
        None
    } else {
        spec::parse_signal(&r.config.StopSignal).ok()
    };
    if sig == 9 || stop_sig.is_none_or(|s| s == sig) {
        c.live()?.stopping = true;
    }
    c.update(|r| r.has_been_manually_stopped = true)?;
    signal(d, c, sig).await.map_err(|e| {
        if e.kind() == ErrorKind::Conflict {
            Error::conflict(format!(
                "cannot kill container: {term}: container {} is not running",
                c.id
            ))
        } else {
            e
        }
    })?;
    if sig == 9 && r.state.status == Status::Paused {
        let _ = d.supervisor.resume(&d.containers.runtime_id(&c.id)).await;
    }
    if sig == 9 {
        // Docker returns once a SIGKILLed container is gone.
        wait_stopped(c, Some(Duration::from_secs(10))).await;
    }
    Ok(())
}

/// `POST /containers/{id}/restart`.
pub async fn restart(
    d: &Arc<Daemon>,
    c: &Arc<Container>,
    sig: Option<&str>,
    timeout: Option<i64>,
) -> Result<()> {
    let _op = c.op.lock().await;
    stop_locked(d, c, sig, timeout).await?;
    start_locked(d, c).await?;
    d.events.publish(
        "container",
        "restart",
        &c.id,
        event_attributes(&c.snapshot()),
    );
    Ok(())
}

pub async fn pause(d: &Arc<Daemon>, c: &Arc<Container>) -> Result<()> {
    let _op = c.op.lock().await;
    match c.with(|r| r.state.status) {
        Status::Running => {}
        Status::Paused => {
            return Err(Error::conflict(format!(
                "container {} is already paused",
                c.id
            )))
        }
        _ => return Err(not_running(&c.id)),
    }
    d.supervisor.pause(&d.containers.runtime_id(&c.id)).await?;
    c.update(|r| r.state.status = Status::Paused)?;
    d.events
        .publish("container", "pause", &c.id, event_attributes(&c.snapshot()));
    Ok(())
}

pub async fn unpause(d: &Arc<Daemon>, c: &Arc<Container>) -> Result<()> {
    let _op = c.op.lock().await;
    if c.with(|r| r.state.status) != Status::Paused {
        return Err(Error::conflict(format!("container {} is not paused", c.id)));
    }
    d.supervisor.resume(&d.containers.runtime_id(&c.id)).await?;
    c.update(|r| {
        if r.state.status == Status::Paused {
            r.state.status = Status::Running;
        }
    })?;
    d.events.publish(
        "container",
        "unpause",
        &c.id,
        event_attributes(&c.snapshot()),
    );
    Ok(())
}

#[derive(Debug, Clone, Default)]
pub struct RemoveOpts {
    pub force: bool,
    /// How the user named it (for messages).
    pub term: String,
}

/// `DELETE /containers/{id}`.
pub async fn remove(d: &Arc<Daemon>, c: &Arc<Container>, opts: RemoveOpts) -> Result<()> {
    let _op = c.op.lock().await;
    let r = c.snapshot();
    if d.containers.store.get(&c.id).is_err() {
        return Err(no_such_container(&c.id));
    }
    match r.state.status {
        Status::Removing => {
            return Err(Error::conflict(format!(
                "removal of container {} is already in progress",
                opts.term
            )))
        }
        Status::Running | Status::Paused | Status::Restarting if !opts.force => {
            let what = match r.state.status {
                Status::Paused => "paused",
                Status::Restarting => "restarting",
                _ => "running",
            };
            return Err(Error::conflict(format!(
                "cannot remove container \"{}\": container is {what}: stop the container before removing or force remove",
                r.name
            )));
        }
        _ => {}
    }
    if let Ok(mut l) = c.live() {
        l.restart_cancel = None;
        l.stopping = true;
    }
    if r.state.status.is_alive() {
        if r.state.status == Status::Paused {
            let _ = d.supervisor.resume(&d.containers.runtime_id(&c.id)).await;
        }
        signal(d, c, 9).await.ok();
        if !wait_stopped(c, Some(Duration::from_secs(30))).await {
            return Err(Error::internal(format!(
                "could not kill running container {}, cannot remove",
                c.id
            )));
        }
    }
    c.update(|r| r.state.status = Status::Removing)?;
    destroy(d, c).await
}

/// Remove a container marked Removing (op lock held): its task, rootfs mount, snapshot and
/// record; Dead if that fails half-way.
async fn destroy(d: &Arc<Daemon>, c: &Arc<Container>) -> Result<()> {
    if d.containers.store.get(&c.id).is_err() {
        return Err(no_such_container(&c.id));
    }
    let r = c.snapshot();
    {
        // A task being made ahead of start goes with the rest below.
        let _prep = c.prep.lock().await;
        if let Ok(mut l) = c.live() {
            l.prepared = None;
        }
    }
    let res = async {
        let rid = d.containers.runtime_id(&c.id);
        match d.supervisor.delete(&rid, true).await {
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        let (dd, cc) = (d.clone(), c.clone());
        crate::http::rt::unblock(move || -> Result<()> {
            unmount_rootfs(&dd, &cc.id)?;
            match dd.images.remove_snapshot(&cc.id) {
                Ok(()) => {}
                Err(e) if e.kind() == ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
            dd.containers.store.remove(&cc)
        })
        .await
    }
    .await;
    if let Err(e) = res {
        let _ = c.update(|r| r.state.status = Status::Dead);
        return Err(e.context(format!("unable to remove container {}", c.id)));
    }
    d.events
        .publish("container", "destroy", &c.id, event_attributes(&r));
    Ok(())
}

/// At daemon start: match every container record with its shim. Running ones are re-adopted
/// (a new monitor waits on the same shim), exits that happened while the daemon was down are
/// recorded and handled (restart policy, AutoRemove), half-done removals finish, and shims
/// without a record are deleted.
pub async fn restore(d: &Arc<Daemon>) -> Result<()> {
    let shims = d
        .supervisor
        .list()
        .await
        .ctx(|| "list the containers' shims")?;
    let mut by_rid: BTreeMap<String, crate::supervisor::ShimState> =
        shims.into_iter().map(|s| (s.id.clone(), s)).collect();
    for c in d.containers.store.all() {
        let rid = d.containers.runtime_id(&c.id);
        let shim = by_rid.remove(&rid);
        let r = c.snapshot();
        match (r.state.status, shim) {
            (Status::Running | Status::Paused | Status::Restarting, Some(s))
                if matches!(s.status, ShimStatus::Running | ShimStatus::Paused) =>
            {
                let generation = {
                    let mut l = c.live()?;
                    l.generation += 1;
                    l.generation
                };
                c.update(|r| {
                    r.state.status = if s.status == ShimStatus::Paused {
                        Status::Paused
                    } else {
                        Status::Running
                    };
                    r.state.pid = s.pid as i64;
                })?;
                log::info!("restored container {} (pid {})", c.id, s.pid);
                spawn_monitor(d.clone(), c.clone(), generation);
                health::spawn(d.clone(), c.clone(), generation);
            }
            (Status::Running | Status::Paused | Status::Restarting, Some(s)) => {
                // It exited while the daemon was away (or never started).
                let generation = c.live()?.generation;
                let exit = s.exit.unwrap_or(ExitStatus {
                    pid: s.pid,
                    code: 255,
                    signal: None,
                    exited_at: crate::base::time::now_rfc3339(),
                    error: Some("the container's exit status was lost".into()),
                });
                handle_exit(d, &c, generation, exit).await;
            }
            (Status::Running | Status::Paused | Status::Restarting, None) => {
                // No shim at all: the exec root was wiped (a reboot).
                let generation = c.live()?.generation;
                let exit = ExitStatus {
                    pid: 0,
                    code: 255,
                    signal: None,
                    exited_at: crate::base::time::now_rfc3339(),
                    error: None,
                };
                handle_exit(d, &c, generation, exit).await;
            }
            (Status::Removing, shim) => {
                if shim.is_some() {
                    let _ = d.supervisor.delete(&rid, true).await;
                }
                let _ = c.update(|r| r.state.status = Status::Dead);
                if let Err(e) = remove(
                    d,
                    &c,
                    RemoveOpts {
                        force: true,
                        term: c.id.clone(),
                    },
                )
                .await
                {
                    log::error!("finish removing container {}: {e}", c.id);
                }
            }
            (_, Some(_)) => {
                let _ = d.supervisor.delete(&rid, true).await;
                let (dd, id) = (d.clone(), c.id.clone());
                let _ = crate::http::rt::unblock(move || unmount_rootfs(&dd, &id)).await;
            }
            (_, None) => {
                if d.containers.bundle(&c.id).exists() {
                    let (dd, id) = (d.clone(), c.id.clone());
                    let _ = crate::http::rt::unblock(move || unmount_rootfs(&dd, &id)).await;
                }
            }
        }
    }
    for (rid, _) in by_rid {
        log::warn!("deleting the shim of unknown container {rid}");
        let _ = d.supervisor.delete(&rid, true).await;
    }
    // A create cut short by a crash made its snapshot but never committed its record (the
    // store dropped the unfinished directory when it opened): nothing refers to the snapshot.
    let dd = d.clone();
    crate::http::rt::unblock(move || {
        let ids: std::collections::HashSet<String> = dd
            .containers
            .store
            .all()
            .iter()
            .map(|c| c.id.clone())
            .collect();
        for s in dd.images.snapshots() {
            if !ids.contains(&s.key) {
                log::warn!("removing the snapshot of unknown container {}", s.key);
                if let Err(e) = dd.images.remove_snapshot(&s.key) {
                    log::error!("remove snapshot {}: {e}", s.key);
                }
            }
        }
    })
    .await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restart_policy_decisions() {
        assert!(should_restart("always", 0, 5, 0, true, false));
        assert!(!should_restart("always", 0, 5, 0, false, true));
        assert!(should_restart("unless-stopped", 0, 0, 0, false, false));
        assert!(!should_restart("unless-stopped", 0, 0, 1, true, false));
        assert!(should_restart("on-failure", 3, 2, 1, false, false));
        assert!(!should_restart("on-failure", 3, 3, 1, false, false));
        assert!(!should_restart("on-failure", 0, 100, 0, false, false));
        assert!(should_restart("on-failure", 0, 100, 2, false, false));
        assert!(!should_restart("no", 0, 0, 1, false, false));
    }

    #[test]
    fn backoff_doubles_and_resets() {
        let short = Duration::from_millis(10);
        let mut d = next_backoff(None, short);
        assert_eq!(d, BACKOFF_START);
        for _ in 0..20 {
            d = next_backoff(Some(d), short);
        }
        assert_eq!(d, BACKOFF_MAX);
        assert_eq!(
            next_backoff(Some(d), Duration::from_secs(11)),
            BACKOFF_START
        );
        assert_eq!(
            next_backoff(Some(Duration::from_millis(100)), short),
            Duration::from_millis(200)
        );
    }

    #[test]
    fn start_errors_map_to_cli_exit_codes() {
        assert_eq!(
            start_exit_code(
                "OCI runtime create failed: exec: \"nosuch\": executable file not found in $PATH"
            ),
            127
        );
        assert_eq!(start_exit_code("exec: \"/etc\": is a directory"), 126);
        assert_eq!(start_exit_code("open /x: permission denied"), 126);
        assert_eq!(start_exit_code("cgroup trouble"), 128);
    }

    #[test]
    fn mountinfo_unescapes() {
        assert_eq!(unescape("/a\\040b"), "/a b");
        assert!(is_mountpoint(Path::new("/")) || !Path::new("/proc/self/mountinfo").exists());
    }
}
