//! `runc exec`: a new process in a running container. The runtime opens the init's namespaces
//! and root (checked against the init's start time), enters its pid namespace for its children,
//! and clones a child that joins the rest, takes the container's root and becomes the process.

use crate::base::{Error, Result};
use crate::oci::runtime::{Process, Spec};
use crate::runtime::container::{wait_foreground, write_pid_file};
use crate::runtime::process::{self, Program};
use crate::runtime::protocol::{error_from, Channel, Msg};
use crate::runtime::state::{self, Status, Store};
use crate::runtime::{capabilities, console};
use crate::sys::{fd as sfd, mount as sm, namespace as sn, process as sp};
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Default)]
pub struct ExecOpts {
    pub id: String,
    pub process_file: Option<PathBuf>,
    pub args: Vec<String>,
    pub tty: bool,
    pub cwd: Option<String>,
    pub env: Vec<String>,
    pub user: Option<String>,
    pub additional_gids: Vec<u32>,
    pub caps: Vec<String>,
    pub no_new_privs: bool,
    pub detach: bool,
    pub pid_file: Option<PathBuf>,
    pub console_socket: Option<PathBuf>,
    pub preserve_fds: u32,
}

/// The process to run: --process, or the container's process with the flags applied (runc's
/// rules: args replaced, env appended, caps added to every set but inheritable).
pub fn build_process(spec: &Spec, o: &ExecOpts) -> Result<Process> {
    if let Some(f) = &o.process_file {
        let data = std::fs::read(f)
            .map_err(|e| Error::from(e).context(format!("open {}", f.display())))?;
        return serde_json::from_slice(&data)
            .map_err(|e| Error::invalid(format!("parse {}: {e}", f.display())));
    }
    let mut p = spec.process.clone().unwrap_or_default();
    p.args = o.args.clone();
    p.terminal = o.tty;
    p.console_size = None;
    if let Some(cwd) = &o.cwd {
        p.cwd = cwd.clone();
    }
    p.env.extend(o.env.iter().cloned());
    if let Some(u) = &o.user {
        let (uid, gid) = match u.split_once(':') {
            Some((a, b)) => (a, Some(b)),
            None => (u.as_str(), None),
        };
        p.user.uid = uid.parse().map_err(|_| {
            Error::invalid(format!(
                "parsing {uid} as int for uid failed: invalid syntax"
            ))
        })?;
        if let Some(g) = gid {
            p.user.gid = g.parse().map_err(|_| {
                Error::invalid(format!("parsing {g} as int for gid failed: invalid syntax"))
            })?;
        }
    }
    p.user
        .additional_gids
        .extend(o.additional_gids.iter().copied());
    if !o.caps.is_empty() {
        let c = p.capabilities.get_or_insert_with(Default::default);
        for set in [
            &mut c.bounding,
            &mut c.effective,
            &mut c.permitted,
            &mut c.ambient,
        ] {
            set.get_or_insert_with(Vec::new)
                .extend(o.caps.iter().cloned());
        }
    }
    if o.no_new_privs {
        p.no_new_privileges = true;
    }
    Ok(p)
}

/// Namespaces the exec'd process joins: the init's, where they differ from ours.
const NS_ORDER: &[(&str, i32)] = &[
    ("user", sn::NEWUSER),
    ("ipc", sn::NEWIPC),
    ("uts", sn::NEWUTS),
    ("net", sn::NEWNET),
    ("cgroup", sn::NEWCGROUP),
    ("mnt", sn::NEWNS),
];

pub fn exec(store: &Store, o: &ExecOpts) -> Result<i32> {
    let c = store.load(&o.id)?;
    match store.status(&c) {
        Status::Stopped => return Err(Error::invalid("cannot exec in a stopped container")),
        Status::Paused => return Err(Error::invalid("cannot exec in a paused container")),
        _ => {}
    }
    let p = build_process(&c.spec, o)?;
    if p.args.is_empty() {
        return Err(Error::invalid("args must not be empty"));
    }
    if p.terminal && o.detach && o.console_socket.is_none() {
        return Err(Error::invalid(
            "cannot allocate tty if runc will detach without setting console socket",
        ));
    }
    let init = c.init_pid;
    let pidfd =
        sp::pidfd_open(init).map_err(|_| Error::invalid("cannot exec in a stopped container"))?;
    let mut joins: Vec<(OwnedFd, i32, &str)> = Vec::new();
    for &(name, flag) in NS_ORDER {
        let theirs = PathBuf::from(format!("/proc/{init}/ns/{name}"));
        if sn::identity(&theirs)? != sn::identity(Path::new(&format!("/proc/self/ns/{name}")))? {
            joins.push((sfd::open(&theirs, sfd::O_RDONLY, 0)?, flag, name));
        }
    }
    let their_pid = PathBuf::from(format!("/proc/{init}/ns/pid"));
    let pidns = if sn::identity(&their_pid)? != sn::identity(Path::new("/proc/self/ns/pid"))? {
        Some(sfd::open(&their_pid, sfd::O_RDONLY, 0)?)
    } else {
        None
    };
    let root = sfd::open(
        Path::new(&format!("/proc/{init}/root")),
        sfd::O_PATH | sfd::O_DIRECTORY,
        0,
    )?;
    // Everything above was opened by pid: only now, with the start time still the recorded one,
    // do we know those fds belong to the container's init and not to a recycled pid.
    if !state::init_alive(init, c.init_start) {
        return Err(Error::invalid("cannot exec in a stopped container"));
    }
    drop(pidfd);

    let (console_child, console_ours) = match (&o.console_socket, p.terminal) {
        (Some(path), true) => (Some(sfd::connect_unix(path)?), None),
        (None, true) => {
            let (a, b) = std::os::unix::net::UnixStream::pair()
                .map_err(|e| Error::from(e).context("console socket pair"))?;
            (Some(OwnedFd::from(a)), Some(OwnedFd::from(b)))
        }
        _ => (None, None),
    };
    let mask = if o.detach {
        None
    } else {
        Some(sp::block_all_signals()?)
    };
    let res = (|| -> Result<i32> {
        let (ours, theirs) = Channel::pair()?;
        sp::set_dumpable(false)?;
        let own_pidns = match &pidns {
            Some(fd) => {
                let own = sfd::open(Path::new("/proc/self/ns/pid"), sfd::O_RDONLY, 0)?;
                sn::setns(fd.as_fd(), sn::NEWPID, "the container's pid namespace")?;
                Some(own)
            }
            None => None,
        };
        let forked = sp::clone_fork(0);
        if let Ok(sp::Forked::Child) = forked {
            drop(ours);
            drop(console_ours);
            sp::reset_signals();
            child(
                &c.spec,
                &p,
                &joins,
                &root,
                theirs,
                console_child,
                o.preserve_fds,
            );
        }
        if let Some(own) = &own_pidns {
            sn::setns(own.as_fd(), sn::NEWPID, "the runtime's own pid namespace")?;
        }
        let pid = match forked? {
            sp::Forked::Parent(pid) => pid,
            sp::Forked::Child => sp::exit_now(1),
        };
        drop(theirs);
        drop(console_child);
        // Into the container's cgroup before the process runs anything of its own.
        if let Some(m) = &c.cgroup {
            if let Err(e) = m.apply(pid) {
                let _ = sp::kill(pid, 9);
                let _ = sp::wait_pid(pid);
                return Err(e);
            }
        }
        ours.send(&Msg::Go { pid })?;
        let proxy = match &console_ours {
            Some(sock) => match console::recv_master(sock.as_fd()) {
                Ok(m) => Some(console::Proxy::new(m)),
                Err(e) => {
                    let _ = sp::wait_pid(pid);
                    return Err(e);
                }
            },
            None => None,
        };
        match ours.recv()? {
            None => {}
            Some(Msg::Error { kind, message }) => {
                let _ = sp::wait_pid(pid);
                return Err(error_from(&kind, message));
            }
            Some(other) => {
                return Err(Error::internal(format!(
                    "unexpected message from exec child: {other:?}"
                )))
            }
        }
        if let Some(pf) = &o.pid_file {
            write_pid_file(pf, pid)?;
        }
        if o.detach {
            return Ok(0);
        }
        wait_foreground(pid, proxy)
    })();
    if let Some(m) = mask {
        let _ = sp::restore_signal_mask(&m);
    }
    res
}

/// The cloned child: join, take the container's root, become the process. Never returns.
fn child(
    spec: &Spec,
    p: &Process,
    joins: &[(OwnedFd, i32, &str)],
    root: &OwnedFd,
    ch: Channel,
    console_sock: Option<OwnedFd>,
    preserve_fds: u32,
) -> ! {
    let r = (|| -> Result<(Program, Option<crate::runtime::seccomp::Program>)> {
        match ch.recv()? {
            Some(Msg::Go { .. }) => {}
            _ => return Err(Error::internal("exec: the runtime exited during setup")),
        }
        // User namespace first: it decides what the other joins may do.
        for (fd, flag, name) in joins {
            sn::setns(
                fd.as_fd(),
                *flag,
                &format!("the container's {name} namespace"),
            )?;
        }
        // The init's root, whether it got there by pivot_root or by chroot (--no-pivot).
        sm::fchdir(root.as_fd())?;
        sm::chroot(Path::new("."))?;
        sm::chdir(Path::new("/"))?;
        if p.terminal {
            let sock = console_sock.ok_or_else(|| {
                Error::invalid(
                    "cannot allocate tty if runc will detach without setting console socket",
                )
            })?;
            console::setup(sock, p.console_size, p.user.uid, p.user.gid, false)?;
        }
        process::set_rlimits(&p.rlimits)?;
        let mut seccomp =
            process::compile_seccomp(spec.linux.as_ref().and_then(|l| l.seccomp.as_ref()))?;
        if !p.no_new_privileges {
            // Without no_new_privs, loading a filter needs CAP_SYS_ADMIN: before the caps drop.
            if let Some(f) = seccomp.take() {
                f.install()?;
            }
        }
        process::fix_stdio(p.user.uid, p.user.gid);
        let caps = capabilities::resolve(p.capabilities.as_ref())?;
        process::switch_user(&p.user, &caps, true)?;
        process::enter_cwd(&p.cwd)?;
        sp::umask(p.user.umask.unwrap_or(0o022));
        let env = process::environment(p);
        let path = process::lookup(&p.args[0], &env)
            .map_err(|e| e.context("unable to start container process"))?;
        Ok((
            Program {
                path,
                args: p.args.clone(),
                env,
            },
            seccomp,
        ))
    })();
    let e = match r {
        Ok((prog, seccomp)) => {
            process::exec(&prog, preserve_fds, p.no_new_privileges, seccomp.as_ref())
        }
        Err(e) => e,
    };
    let _ = ch.send(&Msg::from_error(&e));
    sp::exit_now(255)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oci::runtime::Capabilities;

    fn spec() -> Spec {
        Spec {
            process: Some(Process {
                args: vec!["sh".into()],
                env: vec!["PATH=/bin".into()],
                cwd: "/".into(),
                capabilities: Some(Capabilities {
                    bounding: Some(vec!["CAP_KILL".into()]),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn flags_apply_like_runc() {
        let o = ExecOpts {
            args: vec!["id".into()],
            env: vec!["A=1".into()],
            user: Some("1000:1001".into()),
            caps: vec!["CAP_NET_ADMIN".into()],
            cwd: Some("/tmp".into()),
            ..Default::default()
        };
        let p = build_process(&spec(), &o).unwrap();
        assert_eq!(p.args, ["id"]);
        assert_eq!(p.env, ["PATH=/bin", "A=1"]);
        assert_eq!((p.user.uid, p.user.gid), (1000, 1001));
        assert_eq!(p.cwd, "/tmp");
        let c = p.capabilities.unwrap();
        assert_eq!(c.bounding.unwrap(), ["CAP_KILL", "CAP_NET_ADMIN"]);
        assert_eq!(c.ambient.unwrap(), ["CAP_NET_ADMIN"]);
        assert!(c.inheritable.is_none());
        let bad = ExecOpts {
            user: Some("bob".into()),
            args: vec!["x".into()],
            ..Default::default()
        };
        assert!(build_process(&spec(), &bad)
            .unwrap_err()
            .to_string()
            .contains("parsing bob as int for uid"));
    }
}
