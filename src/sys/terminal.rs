//! Pseudo-terminals for containers: a pty pair from a given ptmx, the controlling terminal,
//! window sizes and raw mode for the foreground proxy.

use crate::base::Result;
use crate::sys::last_error;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

/// Open a new pty master from the ptmx at `ptmx` (an O_PATH-free regular open), unlock it and
/// open its peer with TIOCGPTPEER: the slave comes from the master itself, never from a
/// /dev/pts/N path a container could have replaced with a symlink.
pub fn open_pty(ptmx: &std::path::Path) -> Result<(OwnedFd, OwnedFd)> {
    let master = crate::sys::fd::open(ptmx, libc::O_RDWR | libc::O_NOCTTY, 0)?;
    let unlock: libc::c_int = 0;
    // SAFETY: TIOCSPTLCK takes a pointer to an int.
    if unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCSPTLCK, &unlock) } < 0 {
        return Err(last_error("unlock the pty"));
    }
    // SAFETY: TIOCGPTPEER returns a new fd for the peer with the given open flags.
    let peer = unsafe {
        libc::ioctl(
            master.as_raw_fd(),
            libc::TIOCGPTPEER,
            libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC,
        )
    };
    if peer < 0 {
        return Err(last_error("open the pty peer"));
    }
    // SAFETY: peer is a new fd.
    Ok((master, unsafe { OwnedFd::from_raw_fd(peer) }))
}

/// Make `fd` the controlling terminal of this (session leader) process.
pub fn set_controlling(fd: BorrowedFd<'_>) -> Result<()> {
    // SAFETY: TIOCSCTTY with argument 0.
    if unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCSCTTY, 0) } < 0 {
        return Err(last_error("set the controlling terminal"));
    }
    Ok(())
}

pub fn set_size(fd: BorrowedFd<'_>, rows: u16, cols: u16) -> Result<()> {
    let ws = libc::winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ reads a winsize.
    if unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCSWINSZ, &ws) } < 0 {
        return Err(last_error("set the terminal size"));
    }
    Ok(())
}

pub fn get_size(fd: BorrowedFd<'_>) -> Option<(u16, u16)> {
    // SAFETY: zeroed winsize is a valid out-parameter.
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    // SAFETY: TIOCGWINSZ writes a winsize.
    if unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCGWINSZ, &mut ws) } < 0 {
        return None;
    }
    Some((ws.ws_row, ws.ws_col))
}

pub fn is_terminal(fd: BorrowedFd<'_>) -> bool {
    // SAFETY: isatty has no memory effects.
    unsafe { libc::isatty(fd.as_raw_fd()) == 1 }
}

/// Saved terminal attributes, restored by `restore`.
pub struct Saved(libc::termios);

/// Put a terminal in raw mode; returns what to restore.
pub fn make_raw(fd: BorrowedFd<'_>) -> Result<Saved> {
    // SAFETY: zeroed termios is a valid out-parameter for tcgetattr.
    let mut t: libc::termios = unsafe { std::mem::zeroed() };
    // SAFETY: fd open; t writable.
    if unsafe { libc::tcgetattr(fd.as_raw_fd(), &mut t) } < 0 {
        return Err(last_error("tcgetattr"));
    }
    let saved = Saved(t);
    // SAFETY: cfmakeraw edits t in place.
    unsafe { libc::cfmakeraw(&mut t) };
    // SAFETY: t is a valid termios.
    if unsafe { libc::tcsetattr(fd.as_raw_fd(), libc::TCSANOW, &t) } < 0 {
        return Err(last_error("tcsetattr"));
    }
    Ok(saved)
}

pub fn restore(fd: BorrowedFd<'_>, s: &Saved) {
    // SAFETY: s.0 came from tcgetattr.
    unsafe { libc::tcsetattr(fd.as_raw_fd(), libc::TCSANOW, &s.0) };
}
