//! Process control for supervisors and shims: fork of a single-threaded process, sessions, the
//! child-subreaper flag, reaping, signals, and SIGCHLD delivered through a file descriptor.

use crate::base::{Error, Result};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// What `fork_single_threaded` returns on each side.
pub enum Fork {
    Parent(i32),
    Child,
}

/// fork(2), refused unless this process has exactly one thread: a child of a multi-threaded
/// process may only call async-signal-safe functions, and the shim continues in Rust code.
pub fn fork_single_threaded() -> Result<Fork> {
    let threads = std::fs::read_dir("/proc/self/task")
        .map(|d| d.count())
        .unwrap_or(0);
    if threads != 1 {
        return Err(Error::internal(format!(
            "refusing to fork a process with {threads} threads"
        )));
    }
    // SAFETY: the process has one thread (checked above), so the child inherits a consistent
    // heap and no lock held by another thread.
    let pid = unsafe { libc::fork() };
    match pid {
        -1 => Err(super::last_error("fork")),
        0 => Ok(Fork::Child),
        p => Ok(Fork::Parent(p)),
    }
}

/// Start a new session (the shim must not share the daemon's session or terminal).
pub fn setsid() -> Result<()> {
    rustix::process::setsid()
        .map(|_| ())
        .map_err(|e| super::errno_error(e, "setsid"))
}

/// Become the reaper of orphaned descendants (the container's init after the runtime exits).
pub fn set_child_subreaper() -> Result<()> {
    rustix::process::set_child_subreaper(Some(rustix::process::getpid()))
        .map_err(|e| super::errno_error(e, "prctl PR_SET_CHILD_SUBREAPER"))
}

/// The process name `ps` and /proc/PID/comm show (at most 15 bytes): a shim exec'd through a
/// descriptor would otherwise be named after the descriptor's number.
pub fn set_process_name(name: &str) {
    let mut buf = [0u8; 16];
    let n = name.len().min(15);
    buf[..n].copy_from_slice(&name.as_bytes()[..n]);
    // SAFETY: PR_SET_NAME reads a NUL-terminated string of at most 16 bytes from buf.
    unsafe { libc::prctl(libc::PR_SET_NAME, buf.as_ptr() as libc::c_ulong, 0, 0, 0) };
}

pub fn getpid() -> u32 {
    rustix::process::getpid().as_raw_nonzero().get() as u32
}

/// How a child ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    Exited(i32),
    Signaled(i32),
}

impl Ended {
    /// The shell's and Docker's convention: the exit code, or 128 + the signal.
    pub fn code(self) -> i32 {
        match self {
            Ended::Exited(c) => c,
            Ended::Signaled(s) => 128 + s,
        }
    }
}

fn ended(st: rustix::process::WaitStatus) -> Option<Ended> {
    if let Some(c) = st.exit_status() {
        Some(Ended::Exited(c))
    } else {
        st.terminating_signal().map(Ended::Signaled)
    }
}

/// Reap one exited child (any pid) without blocking: `waitpid(-1, WNOHANG)`.
/// `Ok(None)` when no child has exited (or there are no children).
pub fn reap_any() -> Result<Option<(u32, Ended)>> {
    loop {
        // rustix's waitpid(None) is waitpid(0): the caller's process group only. wait() is -1.
        match rustix::process::wait(rustix::process::WaitOptions::NOHANG) {
            Ok(Some((pid, st))) => match ended(st) {
                Some(e) => return Ok(Some((pid.as_raw_nonzero().get() as u32, e))),
                None => continue, // stopped/continued: not an exit
            },
            Ok(None) => return Ok(None),
            Err(rustix::io::Errno::CHILD) => return Ok(None),
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(super::errno_error(e, "waitpid")),
        }
    }
}

/// Reap `pid` if it has exited, without blocking.
pub fn try_reap(pid: u32) -> Result<Option<Ended>> {
    let p = rustix::process::Pid::from_raw(pid as i32).ok_or_else(|| Error::invalid("pid 0"))?;
    loop {
        match rustix::process::waitpid(Some(p), rustix::process::WaitOptions::NOHANG) {
            Ok(Some((_, st))) => match ended(st) {
                Some(e) => return Ok(Some(e)),
                None => continue,
            },
            Ok(None) => return Ok(None),
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(super::errno_error(e, format!("waitpid {pid}"))),
        }
    }
}

/// Send signal `sig` (any number, real-time signals included) to `pid`.
pub fn kill(pid: u32, sig: i32) -> Result<()> {
    if pid == 0 || pid > i32::MAX as u32 {
        return Err(Error::invalid(format!("invalid pid {pid}")));
    }
    // SAFETY: kill(2) takes plain integers; pid > 0 so it never targets a process group.
    if unsafe { libc::kill(pid as i32, sig) } == -1 {
        return Err(super::last_error(format!("kill {pid} with signal {sig}")));
    }
    Ok(())
}

/// True if `pid` exists (zombies included): kill(pid, 0) succeeds or fails with EPERM.
pub fn exists(pid: u32) -> bool {
    match kill(pid, 0) {
        Ok(()) => true,
        Err(e) => e.errno() == Some(libc::EPERM),
    }
}

/// The process state letter from /proc/PID/stat ('R', 'S', 'Z', ...), None if it is gone.
pub fn proc_state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // "pid (comm) S ...": comm may hold spaces and parentheses, so split after the last ')'.
    stat.rsplit_once(')')?.1.trim_start().chars().next()
}

/// SIGCHLD as a readable file descriptor: SIGCHLD is blocked in this thread and delivered through
/// a non-blocking signalfd, so a poll loop sees child exits without a signal handler. Children
/// started through std's `Command` get an empty signal mask back before exec.
pub struct SigchldFd(OwnedFd);

impl SigchldFd {
    pub fn new() -> Result<SigchldFd> {
        // SAFETY: sigset_t is plain data initialised by sigemptyset before use; the pointers
        // passed to pthread_sigmask and signalfd point to that local set.
        unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, libc::SIGCHLD);
            let rc = libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
            if rc != 0 {
                return Err(Error::from_errno(rc, "block SIGCHLD"));
            }
            let fd = libc::signalfd(-1, &set, libc::SFD_NONBLOCK | libc::SFD_CLOEXEC);
            if fd < 0 {
                return Err(super::last_error("signalfd SIGCHLD"));
            }
            Ok(SigchldFd(OwnedFd::from_raw_fd(fd)))
        }
    }

    pub fn raw(&self) -> i32 {
        self.0.as_raw_fd()
    }

    /// Consume the pending notifications (the caller then reaps with `reap_any`).
    pub fn drain(&self) {
        let mut buf = [0u8; 128 * 4];
        loop {
            match rustix::io::read(&self.0, &mut buf) {
                Ok(n) if n > 0 => continue,
                _ => return,
            }
        }
    }
}

/// Close every descriptor from `from` up (inherited ones a re-exec'd shim must not keep).
pub fn close_fds_from(from: u32) {
    // SAFETY: close_range(2) only closes descriptors; nothing in this process refers to the
    // inherited ones above `from` (it is called first thing in a fresh exec).
    let rc = unsafe { libc::syscall(libc::SYS_close_range, from, u32::MAX, 0u32) };
    if rc != 0 {
        // Kernels before 5.9: walk /proc/self/fd.
        let fds: Vec<i32> = std::fs::read_dir("/proc/self/fd")
            .map(|d| {
                d.flatten()
                    .filter_map(|e| e.file_name().to_str().and_then(|s| s.parse().ok()))
                    .collect()
            })
            .unwrap_or_default();
        for fd in fds.into_iter().filter(|&fd| fd >= from as i32) {
            // SAFETY: closing an inherited descriptor nothing else owns (see above).
            unsafe { libc::close(fd) };
        }
    }
}

/// Make `fd` the process's descriptor `target` (0, 1 or 2), e.g. to point stdio at a log file.
pub fn dup_onto(fd: &OwnedFd, target: i32) -> Result<()> {
    if !(0..=2).contains(&target) {
        return Err(Error::invalid(format!(
            "dup_onto: {target} is not a stdio descriptor"
        )));
    }
    // SAFETY: dup2 onto a stdio number; std's own handles for 0..2 are not owned objects.
    if unsafe { libc::dup2(fd.as_raw_fd(), target) } == -1 {
        return Err(super::last_error(format!("dup2 onto {target}")));
    }
    Ok(())
}

/// Give freed heap back to the kernel (keeps a long-lived shim's RSS small).
pub fn trim_heap() {
    // SAFETY: malloc_trim has no preconditions.
    unsafe { libc::malloc_trim(0) };
}

/// Resident set size of `pid` in KiB (VmRSS from /proc/PID/status).
pub fn rss_kib(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = s.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Unmap this process's read-only mappings of its own executable (code and constants) with
/// MADV_DONTNEED. The pages stay in the page cache, shared; only those the process touches again
/// are mapped back. A long-lived idle process (a shim) then counts a few pages of the binary in
/// its RSS instead of all the code its startup touched. Only mappings without a single private
/// (anonymous) page qualify: RELRO pages were relocated at startup and must keep their copies.
pub fn release_binary_pages() {
    release_ranges(&binary_ranges());
}

/// The ranges `release_binary_pages` drops, found without dropping them: a caller that blocks
/// right after (the shim's poll) releases them last, so little code is touched, and mapped back
/// whole by the kernel's fault-around, between the release and the wait.
pub fn binary_ranges() -> Vec<(usize, usize)> {
    let Ok(meta) = std::fs::metadata("/proc/self/exe") else {
        return Vec::new();
    };
    let ino = std::os::unix::fs::MetadataExt::ino(&meta);
    let Ok(smaps) = std::fs::read_to_string("/proc/self/smaps") else {
        return Vec::new();
    };
    let mut candidate: Option<(usize, usize)> = None;
    let mut release = Vec::new();
    for line in smaps.lines() {
        let first = line.split_whitespace().next().unwrap_or("");
        if let Some((start, end)) = first.split_once('-').filter(|_| !first.ends_with(':')) {
            // "start-end perms offset dev inode path"
            let f: Vec<&str> = line.split_whitespace().collect();
            candidate = None;
            if f.len() < 6
                || f[4].parse::<u64>().ok() != Some(ino)
                || f[1].as_bytes().get(1) != Some(&b'-')
                || !f[1].ends_with('p')
            {
                continue;
            }
            if let (Ok(s), Ok(e)) = (
                usize::from_str_radix(start, 16),
                usize::from_str_radix(end, 16),
            ) {
                candidate = Some((s, e));
            }
        } else if let Some(kb) = line.strip_prefix("Anonymous:") {
            if let Some(range) = candidate.take() {
                if kb.trim().trim_end_matches("kB").trim() == "0" {
                    release.push(range);
                }
            }
        }
    }
    release
}

/// MADV_DONTNEED on ranges from `binary_ranges` (allocates nothing).
pub fn release_ranges(ranges: &[(usize, usize)]) {
    for &(start, end) in ranges {
        // SAFETY: the range is a private, read-only, file-backed mapping of our executable with no
        // private page (checked by binary_ranges): MADV_DONTNEED only drops its page table
        // entries, and the next access maps the same file contents again.
        unsafe { libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_DONTNEED) };
    }
}

/// Set the file mode creation mask (returns nothing: umask cannot fail).
pub fn set_umask(mask: u32) {
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(mask));
}
