//! Terminals: inside the container, a pty from the container's own devpts whose master goes to
//! the console socket (SCM_RIGHTS, as runc does); in the runtime, the foreground proxy between
//! the caller's terminal and that master for `run`/`exec` without --console-socket.

use crate::base::{Error, Result};
use crate::oci::runtime::ConsoleSize;
use crate::runtime::rootfs;
use crate::sys::{fd as sfd, mount as sm, process as sp, terminal as st};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::Path;

/// In the container (after pivot_root): allocate the pty, hand the master to `socket`, make the
/// slave the controlling terminal and stdio; with `bind_console`, also /dev/console.
pub fn setup(
    socket: OwnedFd,
    size: Option<ConsoleSize>,
    uid: u32,
    gid: u32,
    bind_console: bool,
) -> Result<()> {
    let ptmx = Path::new("/dev/ptmx");
    let probe = sfd::open(ptmx, sfd::O_PATH, 0).map_err(|e| e.context("open /dev/ptmx"))?;
    // The ptmx must belong to a devpts instance: a rootfs could put anything at /dev/ptmx.
    if sfd::fs_magic(probe.as_fd())? != sfd::DEVPTS_SUPER_MAGIC {
        return Err(Error::invalid(
            "/dev/ptmx is not a devpts ptmx (is /dev/pts mounted?)",
        ));
    }
    drop(probe);
    let (master, slave) = st::open_pty(ptmx)?;
    if let Some(s) = size {
        st::set_size(slave.as_fd(), s.height as u16, s.width as u16)?;
    }
    if uid != 0 || gid != 0 {
        let _ = sfd::fchown(slave.as_fd(), uid, gid);
    }
    sfd::send_fd(socket.as_fd(), b"/dev/ptmx", master.as_fd())?;
    drop(master);
    drop(socket);
    if bind_console {
        bind_dev_console(slave.as_fd())?;
    }
    // The init is a session leader already (EPERM then); an exec'd process becomes one here.
    if let Err(e) = sp::setsid() {
        if e.errno() != Some(1) {
            return Err(e);
        }
    }
    st::set_controlling(slave.as_fd())?;
    for fd in 0..3 {
        sfd::dup2(slave.as_raw_fd(), fd)?;
    }
    Ok(())
}

fn bind_dev_console(slave: BorrowedFd<'_>) -> Result<()> {
    let root = sfd::open(Path::new("/"), sfd::O_PATH | sfd::O_DIRECTORY, 0)?;
    let target = rootfs::ensure_in(root.as_fd(), Path::new("dev/console"), false)
        .map_err(|e| e.context("create /dev/console"))?;
    let clone = sm::clone_tree(slave, "", false)?;
    sm::move_mount_to(clone.as_fd(), target.as_fd())
        .map_err(|e| e.context("bind the console to /dev/console"))
}

/// The runtime's end of a console socket pair it made for itself (foreground terminal).
pub fn recv_master(sock: BorrowedFd<'_>) -> Result<OwnedFd> {
    let (_, fd) = sfd::recv_fd(sock)?;
    Ok(fd)
}

/// Copies between our stdin/stdout and a pty master while the container runs.
pub struct Proxy {
    pub master: OwnedFd,
    stdin_open: bool,
    saved: Option<st::Saved>,
}

impl Proxy {
    pub fn new(master: OwnedFd) -> Proxy {
        let stdin = sfd::borrow_stdio(0);
        let saved = stdin.filter(|s| st::is_terminal(*s)).and_then(|s| {
            if let Some((r, c)) = st::get_size(s) {
                let _ = st::set_size(master.as_fd(), r, c);
            }
            st::make_raw(s).ok()
        });
        Proxy {
            master,
            stdin_open: true,
            saved,
        }
    }

    /// The fds to poll: (master, stdin when still open).
    pub fn poll_fds(&self) -> Vec<(i32, i16)> {
        let mut v = vec![(self.master.as_raw_fd(), sfd::POLLIN)];
        if self.stdin_open {
            v.push((0, sfd::POLLIN));
        }
        v
    }

    /// Move data for the revents of `poll_fds`; false once the master reports EOF/EIO.
    pub fn pump(&mut self, rev: &[i16]) -> bool {
        let mut buf = [0u8; 8192];
        let mut alive = true;
        if rev.first().copied().unwrap_or(0) != 0 {
            match sfd::read(self.master.as_fd(), &mut buf) {
                Ok(0) | Err(_) => alive = false,
                Ok(n) => {
                    if let Some(out) = sfd::borrow_stdio(1) {
                        let _ = sfd::write_all(out, &buf[..n]);
                    }
                }
            }
        }
        if self.stdin_open && rev.get(1).copied().unwrap_or(0) != 0 {
            match sfd::borrow_stdio(0).map(|s| sfd::read(s, &mut buf)) {
                Some(Ok(n)) if n > 0 => {
                    let _ = sfd::write_all(self.master.as_fd(), &buf[..n]);
                }
                _ => self.stdin_open = false,
            }
        }
        alive
    }

    /// Drain what the master still holds after the process exited.
    pub fn drain(&mut self) {
        loop {
            match sfd::poll(&[(self.master.as_raw_fd(), sfd::POLLIN)], 0) {
                Ok(r) if r[0] & sfd::POLLIN != 0 => {
                    if !self.pump(&[r[0]]) {
                        return;
                    }
                }
                _ => return,
            }
        }
    }

    pub fn resize_from_stdin(&self) {
        if let Some((r, c)) = sfd::borrow_stdio(0).and_then(st::get_size) {
            let _ = st::set_size(self.master.as_fd(), r, c);
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        if let (Some(s), Some(stdin)) = (&self.saved, sfd::borrow_stdio(0)) {
            st::restore(stdin, s);
        }
    }
}
