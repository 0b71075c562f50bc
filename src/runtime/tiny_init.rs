//! The `docker-init` role: PID 1 of `--init` containers (what tini is for Docker).
//!
//! A process that is PID 1 of a pid namespace gets no default signal actions (SIGTERM with no
//! handler does nothing) and inherits every orphan. This init starts the command, then forwards
//! each signal it receives to it and reaps every child, and exits with the command's status
//! (128 + signal if a signal ended it) once the command is gone.
//!
//! Order: the child is spawned before signals are blocked (a blocked mask would be inherited
//! across exec); signals then arrive through a signalfd together with SIGCHLD, so one poll
//! loop serves both.

use crate::sys::poll::{poll, PollFd, IN};
use crate::sys::process::{block_all_signals, kill, read_signals, signalfd_all};
use crate::sys::reaper::reap_any;
use std::os::fd::{AsFd, AsRawFd};

/// Run `docker-init [options] [--] command [args...]`; the exit code.
pub fn run(args: &[String]) -> i32 {
    let cmd: Vec<&String> = match args.iter().position(|a| a == "--") {
        Some(i) => args[i + 1..].iter().collect(),
        // tini's flags (-s, -g, -v, ...) take no values: skip them.
        None => args.iter().skip_while(|a| a.starts_with('-')).collect(),
    };
    let Some((prog, rest)) = cmd.split_first() else {
        eprintln!(
            "docker-init (berth): no command given\nusage: docker-init [--] program [args...]"
        );
        return 1;
    };
    let child = match std::process::Command::new(prog).args(rest).spawn() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("[FATAL docker-init] exec {prog} failed: {e}");
            return match e.kind() {
                std::io::ErrorKind::NotFound => 127,
                _ => 126,
            };
        }
    };
    let pid = child.id();
    // The Child handle is not used to wait: the loop reaps every process, the command included.
    std::mem::forget(child);
    if let Err(e) = block_all_signals() {
        eprintln!("[WARN docker-init] {e}");
    }
    let sfd = match signalfd_all() {
        Ok(fd) => fd,
        Err(e) => {
            eprintln!("[FATAL docker-init] {e}");
            return 1;
        }
    };
    loop {
        let mut fds = [PollFd::new(sfd.as_fd().as_raw_fd(), IN)];
        let _ = poll(&mut fds, 1000);
        for sig in read_signals(sfd.as_fd()) {
            if sig != libc::SIGCHLD {
                let _ = kill(pid as i32, sig);
            }
        }
        let mut status = None;
        while let Ok(Some((p, ended))) = reap_any() {
            if p == pid {
                status = Some(ended.code());
            }
        }
        if let Some(code) = status {
            return code;
        }
    }
}
