//! poll(2), pipes, non-blocking descriptors and terminal window sizes: what a single-threaded
//! event loop (the shim) needs.

use crate::base::Result;
use std::os::fd::{AsFd, OwnedFd, RawFd};

pub const IN: i16 = libc::POLLIN;
pub const OUT: i16 = libc::POLLOUT;
pub const HUP: i16 = libc::POLLHUP;
pub const ERR: i16 = libc::POLLERR;
pub const NVAL: i16 = libc::POLLNVAL;

/// One entry of a poll set (the kernel's `struct pollfd`).
#[derive(Debug, Clone, Copy)]
pub struct PollFd {
    pub fd: RawFd,
    pub events: i16,
    pub revents: i16,
}

impl PollFd {
    pub fn new(fd: RawFd, events: i16) -> PollFd {
        PollFd {
            fd,
            events,
            revents: 0,
        }
    }
}

/// Wait for events on `fds` for at most `timeout_ms` (-1: forever). EINTR counts as a timeout.
pub fn poll(fds: &mut [PollFd], timeout_ms: i32) -> Result<usize> {
    poll_after(fds, timeout_ms, || {})
}

/// `poll`, with `before` run just before the wait, after the poll set is built.
pub fn poll_after(fds: &mut [PollFd], timeout_ms: i32, before: impl FnOnce()) -> Result<usize> {
    let mut raw: Vec<libc::pollfd> = fds
        .iter()
        .map(|p| libc::pollfd {
            fd: p.fd,
            events: p.events,
            revents: 0,
        })
        .collect();
    before();
    // SAFETY: `raw` is a valid, exclusively borrowed array of pollfd of the given length.
    let n = unsafe { libc::poll(raw.as_mut_ptr(), raw.len() as libc::nfds_t, timeout_ms) };
    if n < 0 {
        let e = std::io::Error::last_os_error();
        if e.raw_os_error() == Some(libc::EINTR) {
            return Ok(0);
        }
        return Err(super::last_error("poll"));
    }
    for (p, r) in fds.iter_mut().zip(&raw) {
        p.revents = r.revents;
    }
    Ok(n as usize)
}

/// A close-on-exec pipe: (read end, write end).
pub fn pipe() -> Result<(OwnedFd, OwnedFd)> {
    rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)
        .map_err(|e| super::errno_error(e, "pipe"))
}

pub fn set_nonblocking(fd: impl AsFd, on: bool) -> Result<()> {
    use rustix::fs::OFlags;
    let fl = rustix::fs::fcntl_getfl(&fd).map_err(|e| super::errno_error(e, "fcntl F_GETFL"))?;
    let fl = if on {
        fl | OFlags::NONBLOCK
    } else {
        fl & !OFlags::NONBLOCK
    };
    rustix::fs::fcntl_setfl(&fd, fl).map_err(|e| super::errno_error(e, "fcntl F_SETFL"))
}

/// Set a terminal's window size (TIOCSWINSZ on the pty master); the kernel sends SIGWINCH to the
/// terminal's foreground process group.
pub fn set_winsize(fd: impl AsFd, width: u16, height: u16) -> Result<()> {
    let ws = rustix::termios::Winsize {
        ws_row: height,
        ws_col: width,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    rustix::termios::tcsetwinsize(&fd, ws)
        .map_err(|e| super::errno_error(e, "set the terminal size"))
}

/// A terminal's window size as (width, height).
pub fn winsize(fd: impl AsFd) -> Result<(u16, u16)> {
    let ws = rustix::termios::tcgetwinsize(&fd)
        .map_err(|e| super::errno_error(e, "get the terminal size"))?;
    Ok((ws.ws_col, ws.ws_row))
}
