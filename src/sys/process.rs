//! Processes for the runtime: fork/clone into new namespaces, exec, wait, signals, pidfds,
//! credentials, rlimits and the prctl switches a container init needs.
//!
//! Fork safety: the runtime role is single-threaded (nothing in it spawns threads), so the child
//! of a fork may keep running ordinary Rust code, allocate and return errors. Children leave with
//! `exit_now` (no atexit handlers, no double-flushed stdio buffers).

use crate::base::{Error, Result};
use crate::sys::fd::{c_path, c_str};
use crate::sys::last_error;
use std::ffi::CString;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::path::Path;

/// Result of a fork or clone as seen by the caller.
pub enum Forked {
    Parent(i32),
    Child,
}

/// clone(2) with fork semantics (no new stack: the child continues here) plus `ns_flags`
/// (CLONE_NEW*). With CLONE_NEWPID the child is pid 1 of the new namespace.
/// Refuses when this process has more than one thread: the child of a fork only gets the
/// calling thread, and a lock another thread held (malloc's, stdio's) would stay locked there.
pub fn clone_fork(ns_flags: i32) -> Result<Forked> {
    if thread_count() != Some(1) {
        return Err(Error::internal(
            "refusing to fork the container init from a multi-threaded process",
        ));
    }
    // SAFETY: raw clone without CLONE_VM: the child gets a copy-on-write copy of this
    // single-threaded process and resumes on its own copy of the stack, like fork(2).
    let r = unsafe {
        libc::syscall(
            libc::SYS_clone,
            (ns_flags | libc::SIGCHLD) as libc::c_ulong,
            0usize,
            0usize,
            0usize,
            0usize,
        )
    };
    match r {
        r if r < 0 => Err(last_error("clone")),
        0 => Ok(Forked::Child),
        pid => Ok(Forked::Parent(pid as i32)),
    }
}

/// clone3(2) with fork semantics, born inside the cgroup v2 directory `cgroup`
/// (CLONE_INTO_CGROUP, Linux 5.7): unlike a later write to cgroup.procs, this does not take the
/// cgroup threadgroup lock for writing, so it does not wait for an RCU grace period. Same
/// single-thread rule as [`clone_fork`]. An old kernel answers ENOSYS (or E2BIG/EINVAL for the
/// cgroup field): the caller falls back to [`clone_fork`] and a cgroup.procs write.
pub fn clone3_fork(ns_flags: i32, cgroup: BorrowedFd<'_>) -> Result<Forked> {
    const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;
    /// struct clone_args, CLONE_ARGS_SIZE_VER2 (88 bytes).
    #[repr(C)]
    #[derive(Default)]
    struct CloneArgs {
        flags: u64,
        pidfd: u64,
        child_tid: u64,
        parent_tid: u64,
        exit_signal: u64,
        stack: u64,
        stack_size: u64,
        tls: u64,
        set_tid: u64,
        set_tid_size: u64,
        cgroup: u64,
    }
    if thread_count() != Some(1) {
        return Err(Error::internal(
            "refusing to fork the container init from a multi-threaded process",
        ));
    }
    let args = CloneArgs {
        flags: ns_flags as u32 as u64 | CLONE_INTO_CGROUP,
        exit_signal: libc::SIGCHLD as u64,
        cgroup: cgroup.as_raw_fd() as u64,
        ..Default::default()
    };
    // SAFETY: clone3 without CLONE_VM and without a stack: fork semantics as in clone_fork (the
    // child resumes on its copy-on-write copy of this single-threaded process). `args` lives
    // across the call and its size is passed with it.
    let r = unsafe {
        libc::syscall(
            libc::SYS_clone3,
            &args as *const CloneArgs,
            std::mem::size_of::<CloneArgs>(),
        )
    };
    match r {
        r if r < 0 => Err(last_error("clone3 into the container's cgroup")),
        0 => Ok(Forked::Child),
        pid => Ok(Forked::Parent(pid as i32)),
    }
}

/// Threads of this process (field 20 of /proc/self/stat).
pub fn thread_count() -> Option<usize> {
    let s = std::fs::read_to_string("/proc/self/stat").ok()?;
    s[s.rfind(')')? + 1..]
        .split_whitespace()
        .nth(17)?
        .parse()
        .ok()
}

/// Leave a forked child immediately with `code` (no atexit handlers, no stdio flush).
pub fn exit_now(code: i32) -> ! {
    // SAFETY: _exit never returns and touches no user-space state.
    unsafe { libc::_exit(code) }
}

pub fn getpid() -> i32 {
    // SAFETY: getpid cannot fail.
    unsafe { libc::getpid() }
}

pub fn getegid() -> u32 {
    // SAFETY: getegid cannot fail.
    unsafe { libc::getegid() }
}

pub fn getppid() -> i32 {
    // SAFETY: getppid cannot fail.
    unsafe { libc::getppid() }
}

/// How a child ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Code(i32),
    Signal(i32),
}

impl Exit {
    /// The shell convention runc follows: the code, or 128 + the signal.
    pub fn code(self) -> i32 {
        match self {
            Exit::Code(c) => c,
            Exit::Signal(s) => 128 + s,
        }
    }
}

fn decode(status: i32) -> Option<Exit> {
    if libc::WIFEXITED(status) {
        Some(Exit::Code(libc::WEXITSTATUS(status)))
    } else if libc::WIFSIGNALED(status) {
        Some(Exit::Signal(libc::WTERMSIG(status)))
    } else {
        None
    }
}

/// Wait for a child to end (blocking, EINTR retried).
pub fn wait_pid(pid: i32) -> Result<Exit> {
    loop {
        let mut st = 0;
        // SAFETY: waitpid on our child with a valid status pointer.
        let r = unsafe { libc::waitpid(pid, &mut st, 0) };
        if r < 0 {
            let e = std::io::Error::last_os_error();
            if e.raw_os_error() == Some(libc::EINTR) {
                continue;
            }
            return Err(Error::from(e).context(format!("wait for pid {pid}")));
        }
        if let Some(x) = decode(st) {
            return Ok(x);
        }
    }
}

/// Reap a child if it has ended; None while it runs.
pub fn try_wait_pid(pid: i32) -> Result<Option<Exit>> {
    let mut st = 0;
    // SAFETY: as in wait_pid, non-blocking.
    let r = unsafe { libc::waitpid(pid, &mut st, libc::WNOHANG) };
    if r < 0 {
        return Err(last_error(format!("wait for pid {pid}")));
    }
    if r == 0 {
        return Ok(None);
    }
    Ok(decode(st))
}

pub fn kill(pid: i32, sig: i32) -> Result<()> {
    // SAFETY: kill(2) has no memory effects.
    if unsafe { libc::kill(pid, sig) } < 0 {
        return Err(last_error(format!("kill pid {pid} with signal {sig}")));
    }
    Ok(())
}

/// A pidfd for `pid` (close-on-exec): signals and waits that cannot hit a recycled pid.
pub fn pidfd_open(pid: i32) -> Result<OwnedFd> {
    // SAFETY: pidfd_open returns a new fd or -1.
    let r = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if r < 0 {
        return Err(last_error(format!("pidfd_open {pid}")));
    }
    // SAFETY: r is a new fd owned by us.
    Ok(unsafe { OwnedFd::from_raw_fd(r as RawFd) })
}

pub fn pidfd_send_signal(pidfd: BorrowedFd<'_>, sig: i32) -> Result<()> {
    // SAFETY: pidfd_send_signal with a null siginfo sends like kill(2).
    let r = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            pidfd.as_raw_fd(),
            sig,
            std::ptr::null::<u8>(),
            0,
        )
    };
    if r < 0 {
        return Err(last_error(format!("signal {sig}")));
    }
    Ok(())
}

/// Replace this process image. Returns only the error.
pub fn execve(path: &Path, argv: &[String], envp: &[String]) -> Error {
    let run = || -> Result<Error> {
        let p = c_path(path)?;
        let a = cstrings(argv)?;
        let e = cstrings(envp)?;
        let ap = ptrs(&a);
        let ep = ptrs(&e);
        // SAFETY: p, ap and ep are NUL-terminated and outlive the call; execve returns only on error.
        unsafe { libc::execve(p.as_ptr(), ap.as_ptr(), ep.as_ptr()) };
        Ok(last_error(format!("exec {}", path.display())))
    };
    run().unwrap_or_else(|e| e)
}

/// execveat(fd, "", AT_EMPTY_PATH): run the file behind `fd` (the sealed runtime binary).
pub fn execve_fd(fd: BorrowedFd<'_>, argv: &[String], envp: &[String]) -> Error {
    let run = || -> Result<Error> {
        let a = cstrings(argv)?;
        let e = cstrings(envp)?;
        let ap = ptrs(&a);
        let ep = ptrs(&e);
        let empty = c"";
        // SAFETY: all pointers are valid NUL-terminated arrays; returns only on error.
        unsafe {
            libc::syscall(
                libc::SYS_execveat,
                fd.as_raw_fd(),
                empty.as_ptr(),
                ap.as_ptr(),
                ep.as_ptr(),
                libc::AT_EMPTY_PATH,
            )
        };
        Ok(last_error("execveat the sealed runtime binary"))
    };
    run().unwrap_or_else(|e| e)
}

fn cstrings(v: &[String]) -> Result<Vec<CString>> {
    v.iter().map(|s| c_str(s)).collect()
}

fn ptrs(v: &[CString]) -> Vec<*const libc::c_char> {
    let mut p: Vec<*const libc::c_char> = v.iter().map(|c| c.as_ptr()).collect();
    p.push(std::ptr::null());
    p
}

/// The environment of this process as KEY=VALUE strings.
pub fn environ() -> Vec<String> {
    std::env::vars_os()
        .map(|(k, v)| format!("{}={}", k.to_string_lossy(), v.to_string_lossy()))
        .collect()
}

fn prctl(op: i32, a: libc::c_ulong, b: libc::c_ulong, what: &str) -> Result<i32> {
    // SAFETY: the prctl options used here take integer arguments only.
    let r = unsafe { libc::prctl(op, a, b, 0 as libc::c_ulong, 0 as libc::c_ulong) };
    if r < 0 {
        return Err(last_error(what.to_string()));
    }
    Ok(r)
}

/// Non-dumpable processes cannot be ptraced and their /proc entries (fd/, exe, mem) are
/// root-only: the runtime stays so until it execs the container's program.
pub fn set_dumpable(on: bool) -> Result<()> {
    prctl(
        libc::PR_SET_DUMPABLE,
        on as libc::c_ulong,
        0,
        "prctl(PR_SET_DUMPABLE)",
    )
    .map(|_| ())
}

pub fn set_no_new_privs() -> Result<()> {
    prctl(
        libc::PR_SET_NO_NEW_PRIVS,
        1,
        0,
        "prctl(PR_SET_NO_NEW_PRIVS)",
    )
    .map(|_| ())
}

pub fn set_keep_caps(on: bool) -> Result<()> {
    prctl(
        libc::PR_SET_KEEPCAPS,
        on as libc::c_ulong,
        0,
        "prctl(PR_SET_KEEPCAPS)",
    )
    .map(|_| ())
}

pub fn set_child_subreaper() -> Result<()> {
    prctl(
        libc::PR_SET_CHILD_SUBREAPER,
        1,
        0,
        "prctl(PR_SET_CHILD_SUBREAPER)",
    )
    .map(|_| ())
}

pub fn set_parent_death_signal(sig: i32) -> Result<()> {
    prctl(
        libc::PR_SET_PDEATHSIG,
        sig as libc::c_ulong,
        0,
        "prctl(PR_SET_PDEATHSIG)",
    )
    .map(|_| ())
}

pub fn setsid() -> Result<()> {
    // SAFETY: setsid has no memory effects.
    if unsafe { libc::setsid() } < 0 {
        return Err(last_error("setsid"));
    }
    Ok(())
}

pub fn umask(mask: u32) {
    // SAFETY: umask cannot fail.
    unsafe { libc::umask(mask as libc::mode_t) };
}

/// setgroups(2); in a user namespace this needs /proc/PID/setgroups to be "allow".
pub fn setgroups(gids: &[u32]) -> Result<()> {
    // SAFETY: gids is a valid array of gid_t (u32) of the given length.
    if unsafe { libc::setgroups(gids.len(), gids.as_ptr()) } < 0 {
        return Err(last_error(format!("setgroups {gids:?}")));
    }
    Ok(())
}

pub fn setresgid(gid: u32) -> Result<()> {
    // SAFETY: raw syscall so only this (the only) thread changes; no memory effects.
    if unsafe { libc::syscall(libc::SYS_setresgid, gid, gid, gid) } < 0 {
        return Err(last_error(format!("setresgid {gid}")));
    }
    Ok(())
}

pub fn setresuid(uid: u32) -> Result<()> {
    // SAFETY: as setresgid.
    if unsafe { libc::syscall(libc::SYS_setresuid, uid, uid, uid) } < 0 {
        return Err(last_error(format!("setresuid {uid}")));
    }
    Ok(())
}

/// Resource numbers by their OCI names.
pub fn rlimit_resource(name: &str) -> Option<i32> {
    Some(match name {
        "RLIMIT_CPU" => libc::RLIMIT_CPU,
        "RLIMIT_FSIZE" => libc::RLIMIT_FSIZE,
        "RLIMIT_DATA" => libc::RLIMIT_DATA,
        "RLIMIT_STACK" => libc::RLIMIT_STACK,
        "RLIMIT_CORE" => libc::RLIMIT_CORE,
        "RLIMIT_RSS" => libc::RLIMIT_RSS,
        "RLIMIT_NPROC" => libc::RLIMIT_NPROC,
        "RLIMIT_NOFILE" => libc::RLIMIT_NOFILE,
        "RLIMIT_MEMLOCK" => libc::RLIMIT_MEMLOCK,
        "RLIMIT_AS" => libc::RLIMIT_AS,
        "RLIMIT_LOCKS" => libc::RLIMIT_LOCKS,
        "RLIMIT_SIGPENDING" => libc::RLIMIT_SIGPENDING,
        "RLIMIT_MSGQUEUE" => libc::RLIMIT_MSGQUEUE,
        "RLIMIT_NICE" => libc::RLIMIT_NICE,
        "RLIMIT_RTPRIO" => libc::RLIMIT_RTPRIO,
        "RLIMIT_RTTIME" => libc::RLIMIT_RTTIME,
        _ => return None,
    } as i32)
}

/// (soft, hard) of a resource of this process.
pub fn getrlimit(resource: i32) -> Result<(u64, u64)> {
    // SAFETY: zeroed rlimit is a valid out-parameter.
    let mut r: libc::rlimit = unsafe { std::mem::zeroed() };
    // SAFETY: r is writable.
    if unsafe { libc::prlimit(0, resource as _, std::ptr::null(), &mut r) } < 0 {
        return Err(last_error(format!("getrlimit {resource}")));
    }
    Ok((r.rlim_cur, r.rlim_max))
}

pub fn setrlimit(resource: i32, soft: u64, hard: u64) -> Result<()> {
    let r = libc::rlimit {
        rlim_cur: soft,
        rlim_max: hard,
    };
    // SAFETY: r is a valid rlimit; pid 0 is this process.
    if unsafe { libc::prlimit(0, resource as _, &r, std::ptr::null_mut()) } < 0 {
        return Err(last_error(format!("setrlimit(soft {soft}, hard {hard})")));
    }
    Ok(())
}

/// Join a new session keyring named `name` (runc's default unless --no-new-keyring).
pub fn join_session_keyring(name: &str) -> Result<()> {
    let c = c_str(name)?;
    const KEYCTL_JOIN_SESSION_KEYRING: libc::c_long = 1;
    // SAFETY: keyctl(JOIN_SESSION_KEYRING, name) reads a NUL-terminated string.
    let r = unsafe { libc::syscall(libc::SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, c.as_ptr()) };
    if r < 0 {
        return Err(last_error("join a new session keyring"));
    }
    Ok(())
}

pub fn sethostname(name: &str) -> Result<()> {
    // SAFETY: the pointer and length describe name's bytes.
    if unsafe { libc::sethostname(name.as_ptr().cast(), name.len()) } < 0 {
        return Err(last_error(format!("sethostname {name}")));
    }
    Ok(())
}

pub fn setdomainname(name: &str) -> Result<()> {
    // SAFETY: as sethostname.
    if unsafe { libc::setdomainname(name.as_ptr().cast(), name.len()) } < 0 {
        return Err(last_error(format!("setdomainname {name}")));
    }
    Ok(())
}

// ---- signals ----

/// Every signal a process can catch or block (1..=64 minus KILL and STOP).
fn catchable() -> impl Iterator<Item = i32> {
    (1..=64).filter(|&s| s != libc::SIGKILL && s != libc::SIGSTOP && !(32..=33).contains(&s))
}

/// A signal mask saved by `block_all_signals` and given back to `restore_signal_mask`.
pub struct SigMask(libc::sigset_t);

/// Block every catchable signal; returns the previous mask.
pub fn block_all_signals() -> Result<SigMask> {
    // SAFETY: sigset_t values are initialised by sigfillset/sigemptyset before use.
    unsafe {
        let mut all: libc::sigset_t = std::mem::zeroed();
        let mut old: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut all);
        if libc::sigprocmask(libc::SIG_BLOCK, &all, &mut old) < 0 {
            return Err(last_error("sigprocmask"));
        }
        Ok(SigMask(old))
    }
}

pub fn restore_signal_mask(m: &SigMask) -> Result<()> {
    // SAFETY: m holds a mask returned by sigprocmask.
    if unsafe { libc::sigprocmask(libc::SIG_SETMASK, &m.0, std::ptr::null_mut()) } < 0 {
        return Err(last_error("sigprocmask"));
    }
    Ok(())
}

/// A signalfd for every catchable signal (they must be blocked first).
pub fn signalfd_all() -> Result<OwnedFd> {
    // SAFETY: the set is initialised by sigfillset; signalfd returns a new fd.
    unsafe {
        let mut all: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut all);
        let fd = libc::signalfd(-1, &all, libc::SFD_CLOEXEC | libc::SFD_NONBLOCK);
        if fd < 0 {
            return Err(last_error("signalfd"));
        }
        Ok(OwnedFd::from_raw_fd(fd))
    }
}

/// Read pending signals from a signalfd (non-blocking): the signal numbers.
pub fn read_signals(fd: BorrowedFd<'_>) -> Vec<i32> {
    let mut out = Vec::new();
    loop {
        // SAFETY: zeroed siginfo is a valid buffer; read fills at most its size.
        let mut si: libc::signalfd_siginfo = unsafe { std::mem::zeroed() };
        let n = unsafe {
            libc::read(
                fd.as_raw_fd(),
                (&mut si as *mut libc::signalfd_siginfo).cast(),
                std::mem::size_of::<libc::signalfd_siginfo>(),
            )
        };
        if n != std::mem::size_of::<libc::signalfd_siginfo>() as isize {
            return out;
        }
        out.push(si.ssi_signo as i32);
    }
}

extern "C" fn exit_on_signal(sig: libc::c_int) {
    // SAFETY: _exit is async-signal-safe.
    unsafe { libc::_exit(128 + sig) }
}

/// While the init waits for `start`, a signal whose default action ends a process must end it,
/// even as pid 1 of a pid namespace (where the kernel drops signals that have no handler):
/// runc's Go init behaves that way, so `kill` of a created container works. execve resets
/// handlers to their defaults.
pub fn exit_on_terminating_signals() -> Result<()> {
    for s in [
        libc::SIGHUP,
        libc::SIGINT,
        libc::SIGQUIT,
        libc::SIGTERM,
        libc::SIGUSR1,
        libc::SIGUSR2,
        libc::SIGALRM,
        libc::SIGPIPE,
        libc::SIGABRT,
        libc::SIGVTALRM,
        libc::SIGPROF,
        libc::SIGXCPU,
        libc::SIGXFSZ,
    ] {
        // SAFETY: installing a handler that only calls _exit; sa is fully initialised.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = exit_on_signal as *const () as usize;
            libc::sigemptyset(&mut sa.sa_mask);
            if libc::sigaction(s, &sa, std::ptr::null_mut()) < 0 {
                return Err(last_error("sigaction"));
            }
        }
    }
    Ok(())
}

/// Reset every catchable signal to its default action and unblock all (before exec).
pub fn reset_signals() {
    for s in catchable() {
        // SAFETY: SIG_DFL for a catchable signal number; errors (EINVAL) are irrelevant.
        unsafe { libc::signal(s, libc::SIG_DFL) };
    }
    // SAFETY: an empty set initialised by sigemptyset.
    unsafe {
        let mut none: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut none);
        libc::sigprocmask(libc::SIG_SETMASK, &none, std::ptr::null_mut());
    }
}

/// The signal state of a freshly exec'd Rust program, for a fork that stands in for one: no
/// handlers, nothing blocked, SIGPIPE ignored (as std sets it before main).
pub fn signals_after_exec() {
    reset_signals();
    // SAFETY: SIG_IGN for SIGPIPE has no memory effects.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
}

/// Signal numbers by name: `KILL`, `SIGKILL`, `9`, and realtime `RTMIN+3`.
pub fn signal_number(name: &str) -> Option<i32> {
    if let Ok(n) = name.parse::<i32>() {
        return Some(n);
    }
    let up = name.to_ascii_uppercase();
    let n = up.strip_prefix("SIG").unwrap_or(&up);
    let table: &[(&str, i32)] = &[
        ("ABRT", libc::SIGABRT),
        ("ALRM", libc::SIGALRM),
        ("BUS", libc::SIGBUS),
        ("CHLD", libc::SIGCHLD),
        ("CLD", libc::SIGCHLD),
        ("CONT", libc::SIGCONT),
        ("FPE", libc::SIGFPE),
        ("HUP", libc::SIGHUP),
        ("ILL", libc::SIGILL),
        ("INT", libc::SIGINT),
        ("IO", libc::SIGIO),
        ("IOT", libc::SIGIOT),
        ("KILL", libc::SIGKILL),
        ("PIPE", libc::SIGPIPE),
        ("POLL", libc::SIGPOLL),
        ("PROF", libc::SIGPROF),
        ("PWR", libc::SIGPWR),
        ("QUIT", libc::SIGQUIT),
        ("SEGV", libc::SIGSEGV),
        ("STKFLT", libc::SIGSTKFLT),
        ("STOP", libc::SIGSTOP),
        ("SYS", libc::SIGSYS),
        ("TERM", libc::SIGTERM),
        ("TRAP", libc::SIGTRAP),
        ("TSTP", libc::SIGTSTP),
        ("TTIN", libc::SIGTTIN),
        ("TTOU", libc::SIGTTOU),
        ("URG", libc::SIGURG),
        ("USR1", libc::SIGUSR1),
        ("USR2", libc::SIGUSR2),
        ("VTALRM", libc::SIGVTALRM),
        ("WINCH", libc::SIGWINCH),
        ("XCPU", libc::SIGXCPU),
        ("XFSZ", libc::SIGXFSZ),
    ];
    if let Some(&(_, s)) = table.iter().find(|(k, _)| *k == n) {
        return Some(s);
    }
    let rt = |off: &str, base: i32, sign: i32| -> Option<i32> {
        let k: i32 = if off.is_empty() { 0 } else { off.parse().ok()? };
        let s = base + sign * k;
        (34..=64).contains(&s).then_some(s)
    };
    if let Some(rest) = n.strip_prefix("RTMIN") {
        return match rest.strip_prefix('+') {
            Some(k) => rt(k, 34, 1),
            None if rest.is_empty() => Some(34),
            None => None,
        };
    }
    if let Some(rest) = n.strip_prefix("RTMAX") {
        return match rest.strip_prefix('-') {
            Some(k) => rt(k, 64, -1),
            None if rest.is_empty() => Some(64),
            None => None,
        };
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signal_names_with_and_without_prefix() {
        assert_eq!(signal_number("KILL"), Some(9));
        assert_eq!(signal_number("SIGKILL"), Some(9));
        assert_eq!(signal_number("sigterm"), Some(15));
        assert_eq!(signal_number("9"), Some(9));
        assert_eq!(signal_number("RTMIN+2"), Some(36));
        assert_eq!(signal_number("SIGRTMAX-1"), Some(63));
        assert_eq!(signal_number("FOO"), None);
    }

    #[test]
    fn thread_count_sees_threads() {
        let n = thread_count().unwrap();
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let h = std::thread::spawn(move || rx.recv().ok());
        assert!(
            thread_count().unwrap() > n.min(1),
            "a second thread is counted"
        );
        assert!(
            matches!(clone_fork(0), Err(_)),
            "fork from a multi-threaded process is refused"
        );
        tx.send(()).unwrap();
        h.join().unwrap();
    }

    #[test]
    fn exit_codes_follow_the_shell_convention() {
        assert_eq!(Exit::Code(3).code(), 3);
        assert_eq!(Exit::Signal(9).code(), 137);
    }
}
