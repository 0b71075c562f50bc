//! A process the shim supervises (the container's init or an exec) and its stdio: pipes, or a
//! pty whose master the runtime sends over the console socket.

use super::super::proto::{ExecSpec, ExitStatus, Status};
use crate::base::error::Context;
use crate::base::{Error, Result};
use crate::sys::poll as spoll;
use std::fs::File;
use std::io::{ErrorKind as IoKind, Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixListener;
use std::path::Path;
use std::time::Instant;

pub(super) struct Proc {
    /// None: the container's init.
    pub exec_id: Option<String>,
    /// An exec's process until it is started.
    pub spec: Option<ExecSpec>,
    pub tty: bool,
    pub pid: u32,
    /// Unknown: registered, not created/started yet.
    pub status: Status,
    pub exit: Option<ExitStatus>,
    pub exited: Option<Instant>,
    /// Waiters answered, stdio closed.
    pub reported: bool,
    pub io: ProcIo,
}

impl Proc {
    pub fn new(exec_id: Option<String>, tty: bool) -> Proc {
        Proc {
            exec_id,
            spec: None,
            tty,
            pid: 0,
            status: Status::Unknown,
            exit: None,
            exited: None,
            reported: false,
            io: ProcIo::default(),
        }
    }

    /// Write queued stdin without blocking; close it when asked and everything is written.
    pub fn write_stdin(&mut self) {
        let io = &mut self.io;
        while !io.stdin_buf.is_empty() {
            let Some(f) = io.stdin.as_mut() else {
                io.stdin_buf.clear();
                break;
            };
            match f.write(&io.stdin_buf) {
                Ok(n) => {
                    io.stdin_buf.drain(..n);
                }
                Err(e) if e.kind() == IoKind::WouldBlock => break,
                Err(e) if e.kind() == IoKind::Interrupted => continue,
                Err(_) => {
                    // EPIPE: the process closed its stdin.
                    io.stdin = None;
                    io.stdin_buf.clear();
                }
            }
        }
        if io.stdin_buf.is_empty() {
            if io.stdin_buf.capacity() > 64 * 1024 {
                io.stdin_buf = Vec::new();
            }
            if io.stdin_close {
                io.stdin = None;
            }
        }
    }

    pub fn close_stdin(&mut self) {
        self.io.stdin_close = true;
        self.write_stdin();
    }
}

/// The shim's side of a process's stdio, and, until the runtime is started, the child's side.
#[derive(Default)]
pub(super) struct ProcIo {
    /// Write end of the stdin pipe, or the pty master (a dup).
    pub stdin: Option<File>,
    pub stdin_buf: Vec<u8>,
    pub stdin_close: bool,
    /// Read ends: [stdout or the pty master, stderr].
    pub out: [Option<File>; 2],
    child: [Option<OwnedFd>; 3],
    console: Option<UnixListener>,
}

impl ProcIo {
    /// Pipes for the process (stdin only if asked), or a console socket for a terminal.
    pub fn prepare(tty: bool, stdin: bool, console: Option<&Path>) -> Result<ProcIo> {
        let mut io = ProcIo::default();
        if tty {
            let path =
                console.ok_or_else(|| Error::internal("terminal without a console socket path"))?;
            if path.as_os_str().len() > super::super::layout::MAX_SOCKET_PATH {
                return Err(Error::invalid(format!(
                    "console socket path {} is too long for a unix socket",
                    path.display()
                )));
            }
            let _ = std::fs::remove_file(path);
            io.console =
                Some(UnixListener::bind(path).ctx(|| format!("listen on {}", path.display()))?);
            return Ok(io);
        }
        if stdin {
            let (r, w) = spoll::pipe()?;
            spoll::set_nonblocking(&w, true)?;
            io.child[0] = Some(r);
            io.stdin = Some(File::from(w));
        }
        for s in 0..2 {
            let (r, w) = spoll::pipe()?;
            spoll::set_nonblocking(&r, true)?;
            io.child[s + 1] = Some(w);
            io.out[s] = Some(File::from(r));
        }
        Ok(io)
    }

    /// The runtime's stdio (moved out: the shim must not keep the child's ends open).
    pub fn child_stdio(&mut self) -> [Option<OwnedFd>; 3] {
        [
            self.child[0].take(),
            self.child[1].take(),
            self.child[2].take(),
        ]
    }

    /// After the runtime succeeded: receive the pty master from the console socket.
    pub fn finish(&mut self, console: Option<&Path>) -> Result<()> {
        let Some(listener) = self.console.take() else {
            return Ok(());
        };
        if let Some(p) = console {
            let _ = std::fs::remove_file(p);
        }
        listener
            .set_nonblocking(true)
            .ctx(|| "set the console socket non-blocking")?;
        let (conn, _) = listener.accept().map_err(|e| match e.kind() {
            IoKind::WouldBlock => {
                Error::internal("the runtime did not send the container's console")
            }
            _ => Error::from(e).context("accept on the console socket"),
        })?;
        conn.set_nonblocking(true)
            .ctx(|| "set the console connection non-blocking")?;
        let (_name, master) = crate::sys::scm::recv_fd(conn.as_fd())?;
        spoll::set_nonblocking(&master, true)?;
        let master = File::from(master);
        self.stdin = Some(master.try_clone().ctx(|| "dup the pty master")?);
        self.out[0] = Some(master);
        Ok(())
    }

    /// What the runtime wrote on the stderr pipe (its error message when it failed).
    pub fn read_stderr_now(&mut self) -> Vec<u8> {
        let mut v = Vec::new();
        if let Some(f) = self.out[1].as_mut() {
            let mut buf = [0u8; 4096];
            while v.len() < 16 * 1024 {
                match f.read(&mut buf) {
                    Ok(n) if n > 0 => v.extend_from_slice(&buf[..n]),
                    _ => break,
                }
            }
        }
        v
    }
}
