//! The runtime's side of the lifecycle: create (clone the init, serve it until Ready), start
//! (the exec fifo), run, kill, delete, and the state views of `state` and `list`.

use crate::base::{Error, ErrorKind, Result};
use crate::oci::runtime::{Linux, State};
use crate::runtime::cgroups::Manager;
use crate::runtime::init::{self, Init};
use crate::runtime::protocol::{error_from, Channel, Msg};
use crate::runtime::state::{self, Container, Status, Store, EXEC_FIFO};
use crate::runtime::{console, hooks, namespaces, spec};
use crate::sys::{fd as sfd, namespace as sn, process as sp};
use serde::Serialize;
use std::collections::BTreeMap;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, Clone, Default)]
pub struct CreateOpts {
    pub id: String,
    pub bundle: PathBuf,
    pub pid_file: Option<PathBuf>,
    pub console_socket: Option<PathBuf>,
    pub no_pivot: bool,
    pub no_new_keyring: bool,
    pub preserve_fds: u32,
}

/// What `runc state` and `runc list --format json` print, field for field.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct StateView {
    #[serde(rename = "ociVersion")]
    pub oci_version: String,
    pub id: String,
    pub pid: i32,
    pub status: String,
    pub bundle: String,
    pub rootfs: String,
    pub created: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    pub owner: String,
}

pub fn view(store: &Store, c: &Container, owner: String) -> StateView {
    let status = store.status(c);
    StateView {
        oci_version: spec::OCI_VERSION.into(),
        id: c.id.clone(),
        pid: if status == Status::Stopped {
            0
        } else {
            c.init_pid
        },
        status: status.as_str().into(),
        bundle: c.bundle.to_string_lossy().into_owned(),
        rootfs: c.rootfs.to_string_lossy().into_owned(),
        created: c.created.clone(),
        annotations: c.spec.annotations.clone(),
        owner,
    }
}

pub fn oci_state(c: &Container, status: &str, pid: Option<i32>) -> State {
    State {
        oci_version: spec::OCI_VERSION.into(),
        id: c.id.clone(),
        status: status.into(),
        pid,
        bundle: c.bundle.to_string_lossy().into_owned(),
        annotations: c.spec.annotations.clone(),
    }
}

/// Undo a half-made container when `create` fails: kill the init, remove the state.
struct Cleanup<'a> {
    store: &'a Store,
    id: String,
    pid: Option<i32>,
    cgroup: Option<Manager>,
    armed: bool,
}

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        if let Some(pid) = self.pid {
            // Our own child: kill and reap it (pid 1 of a new pid namespace takes the rest).
            let _ = sp::kill(pid, 9);
            let _ = sp::wait_pid(pid);
        }
        if let Some(m) = &self.cgroup {
            let _ = m.destroy();
        }
        let _ = self.store.remove(&self.id);
    }
}

/// The created container, from the runtime that made it (`create` drops it, `run` uses it).
pub struct Launched {
    pub container: Container,
    pub channel: Channel,
    pub pid: i32,
    /// Our end of the console socket pair when we serve the terminal ourselves.
    pub console: Option<OwnedFd>,
}

/// Create the container: everything up to "created" (the init waits on the exec fifo).
pub fn launch(store: &Store, o: &CreateOpts, foreground: bool) -> Result<Launched> {
    if !crate::base::id::valid_container_id(&o.id) {
        return Err(Error::invalid("invalid container ID format"));
    }
    let t0 = std::time::Instant::now();
    let phase =
        |what: &str| log::debug!("create {}: {what} at {} µs", o.id, t0.elapsed().as_micros());
    let b = spec::load_bundle(&o.bundle)?;
    let p = b
        .spec
        .process
        .as_ref()
        .ok_or_else(|| Error::invalid("process property must not be empty"))?;
    if p.terminal && o.console_socket.is_none() && !foreground {
        return Err(Error::invalid(
            "cannot allocate tty if runc will detach without setting console socket",
        ));
    }
    if !p.terminal && o.console_socket.is_some() {
        return Err(Error::invalid(
            "cannot use console socket if runc will not detach or allocate tty",
        ));
    }
    let linux = b.spec.linux.as_ref();
    let plan = namespaces::plan(linux)?;
    let dir = store.reserve(&o.id)?;
    let mut cleanup = Cleanup {
        store,
        id: o.id.clone(),
        pid: None,
        cgroup: None,
        armed: true,
    };
    let cgroup = Manager::new(linux.and_then(|l| l.cgroups_path.as_deref()), &o.id)?;

    let fifo_path = dir.join(EXEC_FIFO);
    sfd::mkfifo(&fifo_path, 0o622)?;
    // The read end, opened here and inherited: the init never resolves a host path for it.
    let fifo = sfd::open(&fifo_path, sfd::O_RDONLY | sfd::O_NONBLOCK, 0)?;
    let (console_init, console_ours) = match (&o.console_socket, p.terminal) {
        (Some(path), true) => (Some(sfd::connect_unix(path)?), None),
        (None, true) => {
            let (a, b) = std::os::unix::net::UnixStream::pair()
                .map_err(|e| Error::from(e).context("console socket pair"))?;
            (Some(OwnedFd::from(a)), Some(OwnedFd::from(b)))
        }
        _ => (None, None),
    };
    let (ours, theirs) = Channel::pair()?;
    // Non-dumpable until the container's program replaces us: a process sharing the pid
    // namespace cannot ptrace us or open our /proc entries (fds, exe) meanwhile.
    sp::set_dumpable(false)?;
    let own_pidns = match &plan.join_pid {
        Some(j) => {
            let own = sfd::open(Path::new("/proc/self/ns/pid"), sfd::O_RDONLY, 0)?;
            sn::setns(
                j.fd.as_fd(),
                sn::NEWPID,
                &format!("pid namespace {}", j.path),
            )?;
            Some(own)
        }
        None => None,
    };
    if namespaces::needs_second_fork(&plan) {
        // The init will be our grandchild: be its subreaper so we can still wait for it.
        sp::set_child_subreaper()?;
    }
    // The init joins the cgroups itself where it can (no user namespace to map first, no
    // second fork): born into the unified one by clone3, and writing "0" into each v1 `tasks`
    // file. That skips the RCU grace period a cgroup.procs write of its pid would cost.
    let mut self_join = None;
    if !plan.new_user && !namespaces::needs_second_fork(&plan) {
        cleanup.cgroup = Some(cgroup.clone());
        cgroup.create()?;
        self_join = Some(cgroup.self_join()?);
    }
    let forked = match self_join.as_ref().and_then(|j| j.unified.as_ref()) {
        Some(dir) => match sp::clone3_fork(plan.clone_flags, dir.as_fd()) {
            Err(e)
                if matches!(
                    e.errno(),
                    Some(libc::ENOSYS) | Some(libc::E2BIG) | Some(libc::EINVAL)
                ) =>
            {
                log::debug!("{e}: joining the cgroups after the clone");
                self_join = None;
                sp::clone_fork(plan.clone_flags)
            }
            r => r,
        },
        None => sp::clone_fork(plan.clone_flags),
    };
    if let Ok(sp::Forked::Child) = forked {
        drop(ours);
        drop(console_ours);
        sp::reset_signals();
        let i = Init {
            id: &o.id,
            bundle: &b.path,
            rootfs: &b.rootfs,
            spec: &b.spec,
            ns: &plan,
            no_pivot: o.no_pivot,
            no_new_keyring: o.no_new_keyring,
            preserve_fds: o.preserve_fds + listen_fds(),
        };
        init::run(
            &i,
            init::Fds {
                channel: theirs,
                fifo,
                console: console_init,
                cgroup_tasks: self_join.map(|j| j.tasks).unwrap_or_default(),
            },
        );
    }
    if let Some(own) = &own_pidns {
        sn::setns(own.as_fd(), sn::NEWPID, "the runtime's own pid namespace")?;
    }
    let mut pid = match forked? {
        sp::Forked::Parent(pid) => pid,
        // The child never gets here: it ran the init above, which ends in execve or _exit.
        sp::Forked::Child => sp::exit_now(1),
    };
    cleanup.pid = Some(pid);
    drop(theirs);
    drop(fifo);
    drop(console_init);
    let mut start = state::start_time(pid)?;
    phase(&format!("init {pid} cloned"));

    if plan.new_user {
        if let Some(l) = linux {
            write_id_maps(pid, l)?;
        }
    }
    if let Some(adj) = p.oom_score_adj {
        std::fs::write(format!("/proc/{pid}/oom_score_adj"), adj.to_string()).map_err(|e| {
            Error::from(e).context(format!(
                "set oom_score_adj to {adj} (lowering it needs CAP_SYS_RESOURCE)"
            ))
        })?;
    }
    ours.send(&Msg::Go { pid })?;
    // The container's cgroup, joined while the init starts its setup: the first write to a
    // cgroup.procs waits for an RCU grace period, which the init's mount work now overlaps.
    // The init waits for CgroupJoined before anything the cgroup must see (its cgroup
    // namespace, the cgroup mount, hooks, forks), and long before the container's program.
    if self_join.is_none() {
        cleanup.cgroup = Some(cgroup.clone());
        cgroup.apply(pid)?;
    }
    drop(self_join);
    phase("cgroup joined");
    // If the init already failed, its error is waiting on the socket: the loop reports it.
    let _ = ours.send(&Msg::CgroupJoined);
    let state_of = |pid: i32| State {
        oci_version: spec::OCI_VERSION.into(),
        id: o.id.clone(),
        status: "creating".into(),
        pid: Some(pid),
        bundle: b.path.to_string_lossy().into_owned(),
        annotations: b.spec.annotations.clone(),
    };
    loop {
        match ours.recv()? {
            Some(Msg::Pid { pid: init }) => {
                // The intermediate child (joined user namespace) forked the real init and left.
                let _ = sp::wait_pid(pid);
                pid = init;
                start = state::start_time(pid)?;
                cleanup.pid = Some(pid);
                ours.send(&Msg::Go { pid })?;
            }
            Some(Msg::RunHooks) => {
                let h = b.spec.hooks.clone().unwrap_or_default();
                let st = state_of(pid);
                let r =
                    hooks::run(&h.prestart, &st).and_then(|_| hooks::run(&h.create_runtime, &st));
                match r {
                    Ok(()) => ours.send(&Msg::HooksDone)?,
                    Err(e) => {
                        let _ = ours.send(&Msg::from_error(&e));
                        return Err(e);
                    }
                }
            }
            Some(Msg::Ready) => {
                phase("init ready");
                // Limits last, as runc does: the init's setup (device nodes, mounts) is done.
                // A spec without resources still gets the device rules (deny all but the
                // default devices), as with runc.
                let none = Default::default();
                cgroup.set(linux.and_then(|l| l.resources.as_ref()).unwrap_or(&none))?;
                break;
            }
            Some(Msg::Error { kind, message }) => return Err(init_error(&kind, message)),
            Some(other) => {
                return Err(Error::internal(format!(
                    "unexpected message from init: {other:?}"
                )))
            }
            None => {
                let how = sp::wait_pid(pid)
                    .map(|x| format!(" (exit {})", x.code()))
                    .unwrap_or_default();
                cleanup.pid = None;
                return Err(Error::internal(format!(
                    "container init exited prematurely{how}"
                )));
            }
        }
    }
    let c = Container {
        version: state::STATE_VERSION,
        id: o.id.clone(),
        bundle: b.path.clone(),
        rootfs: b.rootfs.clone(),
        created: state::rfc3339_nano_trimmed(std::time::SystemTime::now()),
        init_pid: pid,
        init_start: start,
        owner: crate::sys::euid(),
        no_pivot: o.no_pivot,
        spec: b.spec.clone(),
        cgroup: Some(cgroup.clone()),
    };
    store.save(&c)?;
    phase("created");
    if let Some(pf) = &o.pid_file {
        write_pid_file(pf, pid)?;
    }
    cleanup.armed = false;
    Ok(Launched {
        container: c,
        channel: ours,
        pid,
        console: console_ours,
    })
}

/// $LISTEN_FDS (socket activation) are passed on like --preserve-fds, as runc does.
fn listen_fds() -> u32 {
    std::env::var("LISTEN_FDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Errors from the init read like runc's ("unable to start container process: ...").
fn init_error(kind: &str, message: String) -> Error {
    if message.starts_with("unable to start container process") {
        error_from(kind, message)
    } else {
        error_from(
            kind,
            format!("unable to start container process: error during container init: {message}"),
        )
    }
}

/// uid_map/gid_map of a new user namespace, written by us (privileged in the parent
/// namespace) while the init waits.
fn write_id_maps(pid: i32, l: &Linux) -> Result<()> {
    let fmt = |m: &[crate::oci::runtime::IdMapping]| {
        m.iter()
            .map(|x| format!("{} {} {}\n", x.container_id, x.host_id, x.size))
            .collect::<String>()
    };
    for (file, maps) in [("uid_map", &l.uid_mappings), ("gid_map", &l.gid_mappings)] {
        std::fs::write(format!("/proc/{pid}/{file}"), fmt(maps)).map_err(|e| {
            Error::from(e).context(format!("write {file} of the container's user namespace"))
        })?;
    }
    Ok(())
}

/// The pid file, written atomically like runc's (no trailing newline).
pub fn write_pid_file(path: &Path, pid: i32) -> Result<()> {
    let abs = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()?.join(path)
    };
    state::write_replace(&abs, pid.to_string().as_bytes(), 0o644)
}

pub fn create(store: &Store, o: &CreateOpts) -> Result<()> {
    launch(store, o, false).map(|_| ())
}

pub fn start(store: &Store, id: &str) -> Result<()> {
    let c = store.load(id)?;
    match store.status(&c) {
        Status::Created => {}
        Status::Stopped => return Err(Error::invalid("cannot start a container that has stopped")),
        _ => return Err(Error::conflict("cannot start an already running container")),
    }
    signal_start(store, &c)?;
    poststart(&c)
}

/// Let the init go: one byte into the exec fifo, then the fifo goes (status: running).
fn signal_start(store: &Store, c: &Container) -> Result<()> {
    let path = store.fifo(&c.id);
    let f = match sfd::open(&path, sfd::O_WRONLY | sfd::O_NONBLOCK, 0) {
        Ok(f) => f,
        // No reader: the init is gone.
        Err(e) if e.errno() == Some(6) || e.errno() == Some(2) => {
            return Err(Error::invalid("cannot start a container that has stopped"))
        }
        Err(e) => return Err(e),
    };
    sfd::write_all(f.as_fd(), b"0")?;
    drop(f);
    std::fs::remove_file(&path)
        .map_err(|e| Error::from(e).context(format!("remove {}", path.display())))
}

fn poststart(c: &Container) -> Result<()> {
    let Some(h) = c.spec.hooks.as_ref().filter(|h| !h.poststart.is_empty()) else {
        return Ok(());
    };
    if let Err(e) = hooks::run(&h.poststart, &oci_state(c, "running", Some(c.init_pid))) {
        let _ = kill_and_wait(c);
        return Err(e);
    }
    Ok(())
}

/// `run`: create + start; in the foreground, wait and return the container's exit code (and
/// delete the container unless `keep`).
pub fn run(store: &Store, o: &CreateOpts, detach: bool, keep: bool) -> Result<i32> {
    let mask = if detach {
        None
    } else {
        Some(sp::block_all_signals()?)
    };
    let res = run_inner(store, o, detach, keep);
    if let Some(m) = mask {
        let _ = sp::restore_signal_mask(&m);
    }
    res
}

fn run_inner(store: &Store, o: &CreateOpts, detach: bool, keep: bool) -> Result<i32> {
    let l = launch(store, o, !detach)?;
    let c = &l.container;
    let proxy = match &l.console {
        Some(sock) => Some(console::Proxy::new(console::recv_master(sock.as_fd())?)),
        None => None,
    };
    let started = signal_start(store, c).and_then(|_| match l.channel.recv()? {
        None => Ok(()),
        Some(Msg::Error { kind, message }) => Err(init_error(&kind, message)),
        Some(other) => Err(Error::internal(format!(
            "unexpected message from init: {other:?}"
        ))),
    });
    if let Err(e) = started {
        let _ = sp::kill(l.pid, 9);
        let _ = sp::wait_pid(l.pid);
        let _ = destroy(store, c);
        return Err(e);
    }
    if let Err(e) = poststart(c) {
        let _ = sp::wait_pid(l.pid);
        let _ = destroy(store, c);
        return Err(e);
    }
    if detach {
        return Ok(0);
    }
    let code = wait_foreground(l.pid, proxy)?;
    if !keep {
        destroy(store, c)?;
    }
    Ok(code)
}

/// Wait for our child `pid`, forwarding signals to it and serving the terminal proxy.
/// Signals must already be blocked (so they queue on the signalfd).
pub fn wait_foreground(pid: i32, mut proxy: Option<console::Proxy>) -> Result<i32> {
    let sigfd = sp::signalfd_all()?;
    let pidfd = sp::pidfd_open(pid)?;
    loop {
        let mut fds = vec![
            (sigfd.as_raw_fd(), sfd::POLLIN),
            (pidfd.as_raw_fd(), sfd::POLLIN),
        ];
        if let Some(p) = &proxy {
            fds.extend(p.poll_fds());
        }
        let rev = sfd::poll(&fds, -1)?;
        if rev[0] != 0 {
            for s in sp::read_signals(sigfd.as_fd()) {
                match s {
                    17 => {} // SIGCHLD: the pidfd tells us
                    28 => {
                        if let Some(p) = &proxy {
                            p.resize_from_stdin();
                        }
                    }
                    s => {
                        let _ = sp::pidfd_send_signal(pidfd.as_fd(), s);
                    }
                }
            }
        }
        if let Some(p) = &mut proxy {
            if !p.pump(&rev[2..]) {
                // The terminal closed (the process exited or closed it): keep waiting on the pid.
                p.drain();
                proxy = None;
            }
        }
        if rev[1] != 0 {
            if let Some(p) = &mut proxy {
                p.drain();
            }
            drop(proxy);
            return Ok(sp::wait_pid(pid)?.code());
        }
    }
}

pub fn state(store: &Store, id: &str) -> Result<StateView> {
    let c = store.load(id)?;
    Ok(view(store, &c, String::new()))
}

pub fn list(store: &Store) -> Result<Vec<StateView>> {
    let mut out = Vec::new();
    for id in store.ids()? {
        // A container deleted while we list is simply not listed.
        if let Ok(c) = store.load(&id) {
            let owner = state::user_name(c.owner);
            out.push(view(store, &c, owner));
        }
    }
    Ok(out)
}

pub fn kill(store: &Store, id: &str, sig: i32, all: bool) -> Result<()> {
    let c = store.load(id)?;
    if store.status(&c) == Status::Stopped {
        return Err(Error::invalid("container not running"));
    }
    if all {
        return kill_all(&c, sig);
    }
    signal_init(&c, sig).map_err(|e| match e.errno() {
        Some(_) => Error::new(
            e.kind(),
            format!("unable to signal init: {}", e.message().to_lowercase()),
        ),
        None => e,
    })
}

/// Signal the init through a pidfd opened while its start time still matched: the signal
/// cannot reach a process that reused the pid.
fn signal_init(c: &Container, sig: i32) -> Result<()> {
    let fd = sp::pidfd_open(c.init_pid).map_err(|_| Error::invalid("container not running"))?;
    if !state::init_alive(c.init_pid, c.init_start) {
        return Err(Error::invalid("container not running"));
    }
    sp::pidfd_send_signal(fd.as_fd(), sig)
}

/// `kill --all`: every process in the container's cgroup (frozen meanwhile, so nothing forks
/// past the signal). Without a cgroup: every process in its pid namespace.
fn kill_all(c: &Container, sig: i32) -> Result<()> {
    if let Some(m) = c.cgroup.as_ref().filter(|m| m.exists()) {
        return m.kill_all(sig);
    }
    let ns = |pid: i32| sn::identity(Path::new(&format!("/proc/{pid}/ns/pid"))).ok();
    let init_ns = ns(c.init_pid);
    let own = ns(sp::getpid());
    signal_init(c, sig)?;
    if init_ns.is_none() || init_ns == own {
        return Ok(());
    }
    for e in std::fs::read_dir("/proc")?.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        if pid != c.init_pid && ns(pid) == init_ns {
            let _ = sp::kill(pid, sig);
        }
    }
    Ok(())
}

/// SIGKILL the container and wait (through a pidfd: the init is not our child) until it died.
fn kill_and_wait(c: &Container) -> Result<()> {
    let fd = match sp::pidfd_open(c.init_pid) {
        Ok(fd) if state::init_alive(c.init_pid, c.init_start) => fd,
        _ => return Ok(()),
    };
    let _ = kill_all(c, 9);
    let r = sfd::poll(
        &[(fd.as_raw_fd(), sfd::POLLIN)],
        Duration::from_secs(10).as_millis() as i32,
    )?;
    if r[0] == 0 {
        return Err(Error::new(
            ErrorKind::Unavailable,
            format!(
                "container {} did not exit within 10 seconds of SIGKILL",
                c.id
            ),
        ));
    }
    // Reap it if it happens to be our child (run in the same process); harmless otherwise.
    let _ = sp::try_wait_pid(c.init_pid);
    Ok(())
}

pub fn delete(store: &Store, id: &str, force: bool) -> Result<()> {
    let c = match store.load(id) {
        Ok(c) => c,
        Err(e) if e.kind() == ErrorKind::NotFound && force => return store.remove(id),
        Err(e) => return Err(e),
    };
    match store.status(&c) {
        Status::Stopped => {}
        Status::Created => kill_and_wait(&c)?,
        _ if force => kill_and_wait(&c)?,
        s => {
            return Err(Error::conflict(format!(
                "cannot delete container {id} that is not stopped: {}",
                s.as_str()
            )))
        }
    }
    destroy(store, &c)
}

/// Whether the container was given a new pid namespace (not none, not joined by path).
fn owns_pid_namespace(c: &Container) -> bool {
    let ns = c
        .spec
        .linux
        .as_ref()
        .map(|l| l.namespaces.as_slice())
        .unwrap_or_default();
    ns.iter()
        .any(|n| n.kind == "pid" && n.path.as_deref().is_none_or(str::is_empty))
}

/// The end of a container: cgroup, poststop hooks (failures warn, as the spec says), state.
fn destroy(store: &Store, c: &Container) -> Result<()> {
    if let Some(m) = &c.cgroup {
        if !owns_pid_namespace(c) && m.exists() {
            // Without a pid namespace of its own, the init's death does not take the rest of the
            // container with it: like runc, SIGKILL what is left in the cgroup before removing it.
            let _ = m.kill_all(9);
            let deadline = std::time::Instant::now() + Duration::from_secs(10);
            while m.pids().is_ok_and(|p| !p.is_empty()) && std::time::Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(2));
            }
        }
        m.destroy()?;
    }
    if let Some(h) = c.spec.hooks.as_ref().filter(|h| !h.poststop.is_empty()) {
        if let Err(e) = hooks::run(&h.poststop, &oci_state(c, "stopped", None)) {
            log::warn!("poststop hook failed for container {}: {e}", c.id);
        }
    }
    store.remove(&c.id)
}
