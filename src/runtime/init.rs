//! The container init: what runs in the cloned child, in the order the OCI runtime spec
//! implies. Every step returns an error instead of exiting; the error goes to the parent over
//! the init socket and becomes `create`'s error message.

use crate::base::{Error, Result};
use crate::oci::runtime::{Spec, State};
use crate::runtime::namespaces::{self, Plan};
use crate::runtime::process::{self, Program};
use crate::runtime::protocol::{Channel, Msg};
use crate::runtime::{capabilities, console, hooks, rootfs};
use crate::sys::{fd as sfd, namespace as sn, process as sp};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::Path;

/// What the init needs, borrowed from the parent's memory (the clone copied it).
pub struct Init<'a> {
    pub id: &'a str,
    pub bundle: &'a Path,
    pub rootfs: &'a Path,
    pub spec: &'a Spec,
    pub ns: &'a Plan,
    pub no_pivot: bool,
    pub no_new_keyring: bool,
    pub preserve_fds: u32,
}

/// The descriptors the init owns: its end of the init socket, the exec fifo (read end, opened
/// by the parent before the clone so no path is resolved from inside the container), and the
/// console socket when the process wants a terminal.
pub struct Fds {
    pub channel: Channel,
    pub fifo: OwnedFd,
    pub console: Option<OwnedFd>,
    /// v1 `tasks` files to write "0" into first thing (see `cgroups::Manager::self_join`).
    pub cgroup_tasks: Vec<OwnedFd>,
}

/// Run the init in the cloned child. Never returns.
pub fn run(i: &Init<'_>, fds: Fds) -> ! {
    let Fds {
        channel,
        fifo,
        console,
        cgroup_tasks,
    } = fds;
    if let Err(e) = crate::runtime::cgroups::SelfJoin::join_v1(cgroup_tasks) {
        fail(&channel, e);
    }
    let (program, host_pid, seccomp) = match setup(i, &channel, console) {
        Ok(p) => p,
        Err(e) => fail(&channel, e),
    };
    if let Err(e) = sp::exit_on_terminating_signals() {
        fail(&channel, e);
    }
    if channel.send(&Msg::Ready).is_err() {
        sp::exit_now(1);
    }
    // Created: wait until `start` writes to the exec fifo.
    if let Err(e) = wait_for_start(fifo) {
        fail(&channel, e);
    }
    // startContainer hooks: part of start, in the container, before the user's program.
    let hooks = i
        .spec
        .hooks
        .as_ref()
        .map(|h| h.start_container.as_slice())
        .unwrap_or(&[]);
    if !hooks.is_empty() {
        if let Err(e) = hooks::run(hooks, &state(i, "created", host_pid)) {
            fail(&channel, e);
        }
    }
    let nnp = i
        .spec
        .process
        .as_ref()
        .map(|p| p.no_new_privileges)
        .unwrap_or(false);
    let e = process::exec(&program, i.preserve_fds, nnp, seccomp.as_ref());
    fail(&channel, e)
}

/// Report an error to the parent if it still listens (create and run do until Ready, run
/// until exec); otherwise to the container's stderr. Then exit.
fn fail(channel: &Channel, e: Error) -> ! {
    if channel.send(&Msg::from_error(&e)).is_err() {
        if let Some(err) = sfd::borrow_stdio(2) {
            let _ = sfd::write_all(err, format!("runc init: {e}\n").as_bytes());
        }
    }
    sp::exit_now(1)
}

fn state(i: &Init<'_>, status: &str, pid: i32) -> State {
    State {
        oci_version: crate::runtime::spec::OCI_VERSION.into(),
        id: i.id.into(),
        status: status.into(),
        pid: Some(pid),
        bundle: i.bundle.to_string_lossy().into_owned(),
        annotations: i.spec.annotations.clone(),
    }
}

/// The setup up to "created": the program to exec, the init's pid as the runtime sees it, and
/// the seccomp filter still to install (when no_new_privs lets it wait until the very end).
fn setup(
    i: &Init<'_>,
    ch: &Channel,
    console: Option<OwnedFd>,
) -> Result<(Program, i32, Option<crate::runtime::seccomp::Program>)> {
    let spec = i.spec;
    let proc_ = spec
        .process
        .as_ref()
        .ok_or_else(|| Error::invalid("process property must not be empty"))?;
    let linux = spec.linux.as_ref();

    // 0. Wait for the parent: in a new user namespace we are nobody until it has written our
    //    id maps.
    let host_pid = match ch.recv()? {
        Some(Msg::Go { pid }) => pid,
        Some(other) => {
            return Err(Error::internal(format!(
                "init: unexpected message {other:?}"
            )))
        }
        None => return Err(Error::internal("init: the runtime exited during setup")),
    };
    // Setup creates device nodes and files with exact modes; the process's umask comes last.
    sp::umask(0);
    // A session of its own, as runc's init: signals for the caller's terminal stay there.
    let _ = sp::setsid();

    // The parent joins us to the container's cgroup meanwhile; `cgroup.ready()` waits for that.
    let mut cgroup = CgroupGate {
        ch,
        paths: None,
        new_ns: i.ns.new_cgroup,
    };

    // 1. Namespaces (linux.namespaces). Joins first and the user namespace first among them:
    //    it decides what we may do in the others. Then act as root of the new user namespace.
    namespaces::enter(i.ns)?;
    let host_pid = if namespaces::needs_second_fork(i.ns) {
        // The child must be born inside the container's cgroup.
        cgroup.ready()?;
        // A pid namespace owned by the joined user namespace only takes our children: the
        // child becomes the init; we report it to the parent and leave.
        match sp::clone_fork(0)? {
            sp::Forked::Parent(child) => {
                let _ = ch.send(&Msg::Pid { pid: child });
                sp::exit_now(0);
            }
            sp::Forked::Child => match ch.recv()? {
                Some(Msg::Go { pid }) => pid,
                _ => return Err(Error::internal("init: the runtime exited during setup")),
            },
        }
    } else {
        host_pid
    };
    if i.ns.new_user || i.ns.user_joined() {
        sp::setresgid(0)?;
        sp::setresuid(0)?;
    }
    if !i.no_new_keyring {
        // A session keyring per container, so keys do not leak between containers.
        if let Err(e) = sp::join_session_keyring(&format!("_ses.{}", i.id)) {
            if e.errno() != Some(38) {
                return Err(e.context("unable to join session keyring"));
            }
        }
    }

    // 2. hostname and domainname need a private UTS namespace (spec: "hostname").
    for (what, v) in [
        ("hostname", &spec.hostname),
        ("domainname", &spec.domainname),
    ] {
        if let Some(name) = v.as_deref().filter(|s| !s.is_empty()) {
            if !i.ns.new_uts {
                return Err(Error::invalid(format!(
                    "unable to set {what} without a private UTS namespace"
                )));
            }
            if what == "hostname" {
                sp::sethostname(name)?;
            } else {
                sp::setdomainname(name)?;
            }
        }
    }

    // 3. The root filesystem (root, mounts, linux.devices, rootfsPropagation), while the host's
    //    tree is still our root: sources are host paths, destinations resolve inside the rootfs.
    //    Only in a mount namespace of our own: a joined one is used as it is.
    if !i.ns.has_mount {
        return Err(Error::invalid(
            "a mount namespace is required (linux.namespaces has no \"mount\")",
        ));
    }
    let prepared = if i.ns.new_mount {
        let cx = rootfs::Context {
            rootfs: i.rootfs,
            bundle: i.bundle,
            spec,
            userns: i.ns.new_user || i.ns.user_joined(),
            cgroupns: i.ns.new_cgroup,
        };
        Some(rootfs::prepare(&cx, &mut || cgroup.ready())?)
    } else {
        None
    };
    // From here on the init forks (hooks) and finishes: the cgroup must hold it.
    cgroup.ready()?;

    // 4. prestart and createRuntime hooks: run by the parent in the runtime's namespaces, after
    //    the container's namespaces and mounts exist, before pivot_root (spec: lifecycle 6-7).
    if let Some(h) = &spec.hooks {
        if !h.prestart.is_empty() || !h.create_runtime.is_empty() {
            ch.send(&Msg::RunHooks)?;
            match ch.recv()? {
                Some(Msg::HooksDone) => {}
                Some(Msg::Error { kind, message }) => {
                    return Err(crate::runtime::protocol::error_from(&kind, message))
                }
                _ => {
                    return Err(Error::internal(
                        "init: the runtime exited while running hooks",
                    ))
                }
            }
        }
        // 5. createContainer hooks: in the container's namespaces, before pivot_root.
        if !h.create_container.is_empty() {
            hooks::run(&h.create_container, &state(i, "creating", host_pid))?;
        }
    }

    // 6. sysctl, readonlyPaths, maskedPaths, in that order: sysctl writes go through the
    //    container's /proc before readonlyPaths makes /proc/sys read-only, and the masks come
    //    last so nothing writes under them. Done against the rootfs fd before pivot_root: the
    //    host's /dev/null (the mask for files) can only be cloned while its mount is in view.
    if let Some(l) = linux {
        let root = match &prepared {
            Some(p) => p.root.try_clone()?,
            None => sfd::open(Path::new("/"), sfd::O_PATH | sfd::O_DIRECTORY, 0)?,
        };
        rootfs::sysctl(root.as_fd(), &l.sysctl)?;
        if let Some(p) = &prepared {
            rootfs::readonly_paths(p.root.as_fd(), &l.readonly_paths)?;
            rootfs::mask_paths(p.root.as_fd(), &l.masked_paths, p.dev_null.as_fd())?;
        }
    }
    drop(prepared);

    // 7. pivot_root (or MS_MOVE + chroot with --no-pivot): the host's tree leaves our view.
    if i.ns.new_mount {
        rootfs::pivot(i.rootfs, i.no_pivot)?;
    }

    // 8. The terminal, after pivot_root: the pty must come from the container's own devpts.
    if proc_.terminal {
        let sock = console.ok_or_else(|| {
            Error::invalid("cannot allocate tty if runc will detach without setting console socket")
        })?;
        console::setup(
            sock,
            proc_.console_size,
            proc_.user.uid,
            proc_.user.gid,
            i.ns.new_mount,
        )?;
    }

    // 9. root.readonly: after everything below the root is mounted.
    if spec.root.as_ref().is_some_and(|r| r.readonly) && i.ns.new_mount {
        rootfs::readonly_root()?;
    }

    // 10. The process: rlimits while we still hold every capability, then the user switch with
    //     its capability sets, then the working directory as that user, then the program lookup
    //     (so a missing binary is a create-time error, as with runc).
    process::set_rlimits(&proc_.rlimits)?;
    let mut seccomp = process::compile_seccomp(linux.and_then(|l| l.seccomp.as_ref()))?;
    if !proc_.no_new_privileges {
        // Without no_new_privs, loading a filter needs CAP_SYS_ADMIN: before the caps drop.
        if let Some(f) = seccomp.take() {
            f.install()?;
        }
    }
    process::fix_stdio(proc_.user.uid, proc_.user.gid);
    let caps = capabilities::resolve(proc_.capabilities.as_ref())?;
    process::switch_user(&proc_.user, &caps, true)?;
    process::enter_cwd(&proc_.cwd)?;
    sp::umask(proc_.user.umask.unwrap_or(0o022));
    let env = process::environment(proc_);
    let path = process::lookup(&proc_.args[0], &env)
        .map_err(|e| e.context("unable to start container process"))?;
    Ok((
        Program {
            path,
            args: proc_.args.clone(),
            env,
        },
        host_pid,
        seccomp,
    ))
}

/// The container's cgroup as the init waits for it: `ready` blocks until the parent reports
/// the init joined, then (once) reads the init's cgroup paths and enters a new cgroup
/// namespace if the config asks for one: after the join, so the container's cgroup becomes
/// the namespace's root.
struct CgroupGate<'a> {
    ch: &'a Channel,
    paths: Option<String>,
    new_ns: bool,
}

impl CgroupGate<'_> {
    fn ready(&mut self) -> Result<String> {
        if let Some(p) = &self.paths {
            return Ok(p.clone());
        }
        match self.ch.recv()? {
            Some(Msg::CgroupJoined) => {}
            Some(other) => {
                return Err(Error::internal(format!(
                    "init: unexpected message {other:?}"
                )))
            }
            None => return Err(Error::internal("init: the runtime exited during setup")),
        }
        let paths = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
        if self.new_ns {
            sn::unshare(sn::NEWCGROUP)?;
        }
        self.paths = Some(paths.clone());
        Ok(paths)
    }
}

/// Block until `start` writes to the exec fifo. The fifo was opened O_RDONLY|O_NONBLOCK before
/// any writer existed, so poll reports nothing (not even HUP) until `start` opens and writes.
fn wait_for_start(fifo: OwnedFd) -> Result<()> {
    loop {
        let r = sfd::poll(&[(fifo.as_raw_fd(), sfd::POLLIN)], -1)?;
        if r[0] & (sfd::POLLIN | sfd::POLLHUP | sfd::POLLERR) != 0 {
            let mut b = [0u8; 1];
            let _ = sfd::read(fifo.as_fd(), &mut b);
            return Ok(());
        }
    }
}
