//! The per-container shim (`containerd-shim` role): one single-threaded process per container.
//!
//! Startup ([`start`]): the supervisor runs `containerd-shim --id ID --dir DIR`; that process forks
//! the shim proper and exits as soon as the shim serves its socket (or with the reason it could
//! not), so the shim is never the daemon's child. The shim starts a new session, becomes a child
//! subreaper (the container's init is reparented to it once `runc create` exits), points its own
//! stdio at shim.log, and serves `DIR/shim.sock`.
//!
//! The loop ([`Shim::run`]) is a poll(2) loop over: the listening socket, a signalfd for SIGCHLD,
//! the processes' stdio (pipes, or a pty master for a terminal), and client connections. No
//! threads, no async runtime: runtime commands run in a fork of this single-threaded process
//! (berth's own runtime, called in-process when the shim runs from a read-only bind of the
//! binary; see `runc.rs`) or in an exec'd runtime, and the memory a shim touches stays small.
//! When the init is reaped its exit status is written to exit.json durably before anything else
//! happens. Runtime commands run synchronously (a few milliseconds each); clients queue in the
//! socket's backlog meanwhile.

mod process;

use super::layout::{read_pid, ShimDir};
use super::logfile::LogWriter;
use super::proto::{self, ExitStatus, FrameReader, Reply, Request, Response, ShimConfig, Status};
use super::runc::{Op, Runtime};
use crate::base::error::Context;
use crate::base::{Error, Result};
use crate::sys::poll::{self as spoll, PollFd};
use crate::sys::reaper::{self, Ended, Fork, SigchldFd};
use process::{Proc, ProcIo};
use std::fs::File;
use std::io::{ErrorKind as IoKind, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The shim's command line.
pub struct ShimArgs {
    pub id: String,
    pub dir: PathBuf,
}

/// Stop reading a process's output while an attached client has this much unsent.
const CLIENT_HIGH_WATER: usize = 64 * 1024;
/// Stop reading an attach client's stdin while this much waits for the process.
const STDIN_HIGH_WATER: usize = 64 * 1024;
/// After a process exits, how long its output may stay open (a daemonized grandchild holding the
/// pipe) before waiters are answered anyway.
const DRAIN_GRACE: Duration = Duration::from_millis(1000);
/// Exits of unknown children remembered (an exec process can exit before its pid file is read).
const ORPHAN_EXITS: usize = 64;
/// Exited exec processes remembered for Wait/State.
const EXITED_EXECS: usize = 256;
/// After this long without a request, the shim gives back the pages it touched (see `idle`).
const IDLE_AFTER_MS: i32 = 500;

/// Run the `containerd-shim` role: returns in the original process once the forked shim serves
/// its socket; the forked shim serves until Delete or Shutdown and then exits the process.
pub fn start(args: &ShimArgs) -> Result<()> {
    reaper::close_fds_from(3);
    reaper::set_process_name("containerd-shim");
    proto::check_id("container", &args.id)?;
    let dir = ShimDir::at(args.dir.clone());
    let cfg: ShimConfig = serde_json::from_slice(
        &std::fs::read(dir.config()).ctx(|| format!("read {}", dir.config().display()))?,
    )
    .ctx(|| format!("parse {}", dir.config().display()))?;
    if cfg.id != args.id {
        return Err(Error::invalid(format!(
            "{} is the configuration of {}, not {}",
            dir.config().display(),
            cfg.id,
            args.id
        )));
    }
    let (r, w) = spoll::pipe()?;
    match reaper::fork_single_threaded()? {
        Fork::Parent(_) => {
            drop(w);
            let mut msg = String::new();
            let _ = File::from(r).read_to_string(&mut msg);
            match msg.as_str() {
                "ok" => Ok(()),
                "" => Err(Error::internal(format!(
                    "shim for {} exited during startup (see {})",
                    args.id,
                    dir.log().display()
                ))),
                m => Err(Error::internal(m.to_string())),
            }
        }
        Fork::Child => {
            drop(r);
            let mut w = File::from(w);
            match Shim::setup(cfg, dir) {
                Ok(shim) => {
                    let _ = w.write_all(b"ok");
                    drop(w);
                    let code = match shim.run() {
                        Ok(()) => 0,
                        Err(e) => {
                            eprintln!("containerd-shim: {e}");
                            1
                        }
                    };
                    std::process::exit(code)
                }
                Err(e) => {
                    let _ = w.write_all(format!("start shim for {}: {e}", args.id).as_bytes());
                    std::process::exit(1)
                }
            }
        }
    }
}

enum Mode {
    /// Reading the one request.
    Request,
    /// Answer when the process is done.
    Waiting(Option<String>),
    Attached(Attach),
    /// Send what is queued, then close.
    Closing,
}

struct Attach {
    target: Option<String>,
    stdin: bool,
    stdout: bool,
    stderr: bool,
    close_stdin: bool,
    tty: bool,
}

struct Client {
    sock: UnixStream,
    reader: FrameReader,
    out: Vec<u8>,
    mode: Mode,
    /// The client half-closed: it sends nothing more (for an attach: end of stdin), but may
    /// still read (a wait's answer, the process's output).
    eof: bool,
    dead: bool,
}

impl Client {
    fn respond(&mut self, r: Result<Reply>) {
        match proto::encode(&Response::from_result(r)) {
            Ok(f) => self.out.extend_from_slice(&f),
            Err(e) => {
                eprintln!("containerd-shim: encode response: {e}");
                self.dead = true;
            }
        }
    }

    fn flush(&mut self) {
        while !self.out.is_empty() {
            match self.sock.write(&self.out) {
                Ok(0) => {
                    self.dead = true;
                    return;
                }
                Ok(n) => {
                    self.out.drain(..n);
                }
                Err(e) if e.kind() == IoKind::WouldBlock => break,
                Err(e) if e.kind() == IoKind::Interrupted => continue,
                Err(_) => {
                    self.dead = true;
                    return;
                }
            }
        }
        if self.out.is_empty() && self.out.capacity() > CLIENT_HIGH_WATER {
            self.out = Vec::new();
        }
        if self.out.is_empty() && matches!(self.mode, Mode::Closing) {
            self.dead = true;
        }
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Quit {
    /// Deleted: remove the state directory on the way out.
    Delete,
    Shutdown,
}

#[derive(Clone, Copy)]
enum Tag {
    Listener,
    Sigchld,
    Out(usize, usize),
    In(usize),
    Client(usize),
}

pub(crate) struct Shim {
    cfg: ShimConfig,
    dir: ShimDir,
    listener: UnixListener,
    sigchld: SigchldFd,
    /// procs[0] is the container's init; the rest are exec processes.
    procs: Vec<Proc>,
    clients: Vec<Client>,
    orphans: Vec<(u32, Ended)>,
    log: Option<LogWriter>,
    /// The log write failed and said so in shim.log; quiet until a write succeeds again.
    log_failing: bool,
    quit: Option<Quit>,
    buf: Vec<u8>,
    /// Runs from a read-only bind of the binary: runtime commands fork instead of exec.
    sealed: bool,
}

impl Shim {
    fn setup(cfg: ShimConfig, dir: ShimDir) -> Result<Shim> {
        reaper::setsid()?;
        reaper::set_child_subreaper()?;
        let null = File::open("/dev/null").ctx(|| "open /dev/null")?;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.log())
            .ctx(|| format!("open {}", dir.log().display()))?;
        reaper::dup_onto(&null.into(), 0)?;
        let log: std::os::fd::OwnedFd = log.into();
        reaper::dup_onto(&log, 1)?;
        reaper::dup_onto(&log, 2)?;
        drop(log);
        // Hold no directory busy: every path the shim uses is absolute.
        std::env::set_current_dir("/").ctx(|| "chdir /")?;
        // Sockets only root can connect to (connecting needs write permission), logs 0640 as
        // Docker's, whatever umask the daemon had.
        reaper::set_umask(0o027);
        let sigchld = SigchldFd::new()?;
        let sock = dir.socket();
        if UnixStream::connect(&sock).is_ok() {
            return Err(Error::conflict(format!(
                "a shim already serves {}",
                sock.display()
            )));
        }
        let _ = std::fs::remove_file(&sock);
        let listener = UnixListener::bind(&sock).ctx(|| format!("listen on {}", sock.display()))?;
        listener
            .set_nonblocking(true)
            .ctx(|| "set the shim socket non-blocking")?;
        super::layout::write_replace(
            &dir.pid_file(),
            format!("{}\n", reaper::getpid()).as_bytes(),
            0o644,
        )?;
        let init = Proc::new(None, cfg.tty);
        Ok(Shim {
            cfg,
            dir,
            listener,
            sigchld,
            procs: vec![init],
            clients: Vec::new(),
            orphans: Vec::new(),
            log: None,
            log_failing: false,
            quit: None,
            buf: vec![0; 32 * 1024],
            sealed: crate::runtime::entry::is_sealed(),
        })
    }

    /// Quiet for a while: return freed heap and find the binary's pages to unmap, so an idle
    /// shim holds only what its loop touches (the pages stay shared in the page cache). They
    /// are unmapped right before the next wait (`run`): the kernel maps code back in 64 KB
    /// blocks around each page touched, so the less runs between the unmap and the wait, the
    /// smaller the idle shim.
    fn idle(&mut self) -> Vec<(usize, usize)> {
        let ranges = reaper::binary_ranges();
        reaper::trim_heap();
        ranges
    }

    fn runtime(&self) -> Runtime {
        Runtime::new(
            &self.cfg.runtime,
            Path::new("/proc/self/exe"),
            Some(self.dir.runtime_log()),
        )
        .in_process(self.sealed)
    }

    pub(crate) fn run(mut self) -> Result<()> {
        let mut fds: Vec<PollFd> = Vec::new();
        let mut tags: Vec<Tag> = Vec::new();
        let mut release = self.idle();
        // When the last request was handled, until the shim has gone idle again.
        let mut busy_since: Option<Instant> = None;
        loop {
            if self.quit.is_some() {
                self.finish_processes(true);
                self.clients.iter_mut().for_each(Client::flush);
                self.clients.retain(|c| !c.dead);
                if self.clients.iter().all(|c| c.out.is_empty()) {
                    break;
                }
            }
            fds.clear();
            tags.clear();
            self.poll_set(&mut fds, &mut tags);
            let draining = self.procs.iter().any(|p| p.exit.is_some() && !p.reported);
            let idle_in = busy_since.map(|t| {
                (IDLE_AFTER_MS - t.elapsed().as_millis().min(IDLE_AFTER_MS as u128) as i32).max(0)
            });
            let timeout = match (draining || self.quit.is_some(), idle_in) {
                (true, Some(t)) => t.min(50),
                (true, None) => 50,
                (false, Some(t)) => t,
                (false, None) => -1,
            };
            if release.is_empty() {
                spoll::poll(&mut fds, timeout)?;
            } else {
                let ranges = std::mem::take(&mut release);
                spoll::poll_after(&mut fds, timeout, || reaper::release_ranges(&ranges))?;
            }
            if fds
                .iter()
                .zip(tags.iter())
                .any(|(f, t)| f.revents != 0 && matches!(t, Tag::Listener | Tag::Client(_)))
            {
                busy_since = Some(Instant::now());
            } else if busy_since.is_some_and(|t| t.elapsed().as_millis() >= IDLE_AFTER_MS as u128) {
                release = self.idle();
                busy_since = None;
            }
            for (pfd, tag) in fds.iter().zip(tags.iter()) {
                if pfd.revents == 0 {
                    continue;
                }
                match *tag {
                    Tag::Listener => self.accept(),
                    Tag::Sigchld => self.reap(),
                    Tag::Out(pi, s) => {
                        self.read_output(pi, s);
                    }
                    Tag::In(pi) => self.procs[pi].write_stdin(),
                    Tag::Client(ci) => self.client_event(ci, pfd.revents),
                }
            }
            self.finish_processes(false);
            self.clients.retain(|c| !c.dead);
        }
        let _ = std::fs::remove_file(self.dir.socket());
        if self.quit == Some(Quit::Delete) {
            let _ = std::fs::remove_dir_all(self.dir.path());
        }
        Ok(())
    }

    fn poll_set(&self, fds: &mut Vec<PollFd>, tags: &mut Vec<Tag>) {
        if self.quit.is_none() {
            fds.push(PollFd::new(self.listener.as_raw_fd(), spoll::IN));
            tags.push(Tag::Listener);
        }
        fds.push(PollFd::new(self.sigchld.raw(), spoll::IN));
        tags.push(Tag::Sigchld);
        for (pi, p) in self.procs.iter().enumerate() {
            let backlogged = self.clients.iter().any(|c| match &c.mode {
                Mode::Attached(a) => a.target == p.exec_id && c.out.len() >= CLIENT_HIGH_WATER,
                _ => false,
            });
            if !backlogged {
                for (s, f) in p.io.out.iter().enumerate() {
                    if let Some(f) = f {
                        fds.push(PollFd::new(f.as_raw_fd(), spoll::IN));
                        tags.push(Tag::Out(pi, s));
                    }
                }
            }
            if let Some(f) = &p.io.stdin {
                if !p.io.stdin_buf.is_empty() {
                    fds.push(PollFd::new(f.as_raw_fd(), spoll::OUT));
                    tags.push(Tag::In(pi));
                }
            }
        }
        for (ci, c) in self.clients.iter().enumerate() {
            let mut ev = 0;
            match &c.mode {
                _ if c.eof => {}
                Mode::Request | Mode::Waiting(_) => ev |= spoll::IN,
                Mode::Attached(a) => {
                    let room = !a.stdin
                        || self.find(&a.target).map_or(true, |pi| {
                            self.procs[pi].io.stdin_buf.len() < STDIN_HIGH_WATER
                        });
                    if room {
                        ev |= spoll::IN;
                    }
                }
                _ => {}
            }
            if !c.out.is_empty() {
                ev |= spoll::OUT;
            }
            fds.push(PollFd::new(c.sock.as_raw_fd(), ev));
            tags.push(Tag::Client(ci));
        }
    }

    fn find(&self, exec_id: &Option<String>) -> Option<usize> {
        self.procs.iter().position(|p| &p.exec_id == exec_id)
    }

    fn find_or_err(&self, exec_id: &Option<String>) -> Result<usize> {
        self.find(exec_id).ok_or_else(|| match exec_id {
            Some(e) => Error::not_found(format!("no such exec: {e}")),
            None => Error::internal("no init process"),
        })
    }

    fn accept(&mut self) {
        loop {
            match self.listener.accept() {
                Ok((sock, _)) => {
                    if sock.set_nonblocking(true).is_err() {
                        continue;
                    }
                    self.clients.push(Client {
                        sock,
                        reader: FrameReader::default(),
                        out: Vec::new(),
                        mode: Mode::Request,
                        eof: false,
                        dead: false,
                    });
                }
                Err(e) if e.kind() == IoKind::Interrupted => continue,
                Err(_) => return,
            }
        }
    }

    // ---- children ----

    fn reap(&mut self) {
        self.sigchld.drain();
        loop {
            match reaper::reap_any() {
                Ok(Some((pid, ended))) => self.on_exit(pid, ended),
                Ok(None) => return,
                Err(e) => {
                    eprintln!("containerd-shim: {e}");
                    return;
                }
            }
        }
    }

    fn on_exit(&mut self, pid: u32, ended: Ended) {
        let Some(pi) = self
            .procs
            .iter()
            .position(|p| p.pid == pid && p.exit.is_none())
        else {
            self.orphans.push((pid, ended));
            if self.orphans.len() > ORPHAN_EXITS {
                self.orphans.remove(0);
            }
            return;
        };
        let st = ExitStatus {
            pid,
            code: ended.code(),
            signal: match ended {
                Ended::Signaled(s) => Some(s),
                Ended::Exited(_) => None,
            },
            exited_at: crate::base::time::now_rfc3339(),
            error: None,
        };
        if pi == 0 {
            // Durable before anything else: a daemon restarted after this instant learns the
            // status even if this shim dies right now.
            if let Err(e) = self.dir.write_exit(&st) {
                eprintln!(
                    "containerd-shim: record the exit status of {}: {e}",
                    self.cfg.id
                );
            }
        }
        let p = &mut self.procs[pi];
        p.exit = Some(st);
        p.status = Status::Stopped;
        p.exited = Some(Instant::now());
    }

    /// A pid the runtime just reported may already have been reaped as an unknown child.
    fn claim_orphan(&mut self, pi: usize) {
        let pid = self.procs[pi].pid;
        if let Some(i) = self.orphans.iter().position(|(p, _)| *p == pid) {
            let (_, ended) = self.orphans.remove(i);
            self.on_exit(pid, ended);
        }
    }

    /// Answer waiters and end attach streams of processes that exited and whose output is done
    /// (or has stayed open past the grace period; `force`: now).
    fn finish_processes(&mut self, force: bool) {
        for pi in 0..self.procs.len() {
            let p = &self.procs[pi];
            if p.reported || p.exit.is_none() {
                continue;
            }
            let drained = p.io.out.iter().all(Option::is_none);
            let late = p.exited.is_some_and(|t| t.elapsed() >= DRAIN_GRACE);
            if !(drained || late || force) {
                continue;
            }
            // Take what is still buffered in the pipes (a pipe holds 64 KiB; a writer that
            // outlived the process could go on forever, hence the bound), then close them.
            for s in 0..2 {
                for _ in 0..16 {
                    if !self.read_output(pi, s) {
                        break;
                    }
                }
                self.close_output(pi, s);
            }
            let p = &mut self.procs[pi];
            p.io.stdin = None;
            p.io.stdin_buf = Vec::new();
            p.reported = true;
            let exit = p.exit.clone();
            let target = p.exec_id.clone();
            for c in self.clients.iter_mut() {
                match &c.mode {
                    Mode::Waiting(t) if *t == target => {
                        c.respond(
                            exit.clone()
                                .map(|exit| Reply::Exit { exit })
                                .ok_or_else(|| Error::internal("no exit status")),
                        );
                        c.mode = Mode::Closing;
                        c.flush();
                    }
                    Mode::Attached(a) if a.target == target => {
                        c.mode = Mode::Closing;
                        c.flush();
                    }
                    _ => {}
                }
            }
        }
        self.forget_old_execs();
    }

    fn forget_old_execs(&mut self) {
        let done = self.procs.iter().skip(1).filter(|p| p.reported).count();
        if done > EXITED_EXECS {
            if let Some(i) = self.procs.iter().skip(1).position(|p| p.reported) {
                self.procs.remove(i + 1);
            }
        }
    }

    // ---- stdio ----

    /// One read from a process's output; false when nothing more is available now.
    fn read_output(&mut self, pi: usize, s: usize) -> bool {
        let Some(f) = self.procs[pi].io.out[s].as_mut() else {
            return false;
        };
        let n = match f.read(&mut self.buf) {
            Ok(0) => {
                self.close_output(pi, s);
                return false;
            }
            Ok(n) => n,
            Err(e) if e.kind() == IoKind::WouldBlock || e.kind() == IoKind::Interrupted => {
                return false
            }
            Err(_) => {
                // EIO on a pty master: every slave is closed.
                self.close_output(pi, s);
                return false;
            }
        };
        let stream = if s == 0 { proto::STDOUT } else { proto::STDERR };
        if pi == 0 {
            if let Some(log) = self.log.as_mut() {
                match log.write(stream, &self.buf[..n]) {
                    Ok(()) => self.log_failing = false,
                    Err(e) if !self.log_failing => {
                        eprintln!("containerd-shim: {e}");
                        self.log_failing = true;
                    }
                    Err(_) => {}
                }
            }
        }
        let target = &self.procs[pi].exec_id;
        for c in self.clients.iter_mut() {
            if let Mode::Attached(a) = &c.mode {
                if a.target != *target || !(if s == 0 { a.stdout } else { a.stderr }) {
                    continue;
                }
                if !a.tty {
                    c.out.extend_from_slice(&proto::stream_header(stream, n));
                }
                c.out.extend_from_slice(&self.buf[..n]);
                c.flush();
            }
        }
        true
    }

    fn close_output(&mut self, pi: usize, s: usize) {
        if self.procs[pi].io.out[s].take().is_some() && pi == 0 {
            if let Some(log) = self.log.as_mut() {
                let _ = log.flush(if s == 0 { proto::STDOUT } else { proto::STDERR });
            }
        }
    }

    // ---- clients ----

    fn client_event(&mut self, ci: usize, revents: i16) {
        if revents & spoll::OUT != 0 {
            self.clients[ci].flush();
        }
        if revents & (spoll::IN | spoll::HUP | spoll::ERR) == 0 || self.clients[ci].dead {
            return;
        }
        let mut tmp = [0u8; 4096];
        let c = &mut self.clients[ci];
        let n = match c.sock.read(&mut tmp) {
            Ok(n) => n,
            Err(e) if e.kind() == IoKind::WouldBlock || e.kind() == IoKind::Interrupted => return,
            Err(_) => {
                c.dead = true;
                return;
            }
        };
        if n == 0 {
            // Gone entirely (HUP), or only done sending (half-close).
            if revents & spoll::HUP != 0 || matches!(c.mode, Mode::Request) {
                c.dead = true;
            } else {
                c.eof = true;
                if matches!(c.mode, Mode::Attached(_)) {
                    self.attach_input(ci, &[]);
                }
            }
            return;
        }
        match &mut c.mode {
            Mode::Request => {
                let frame = c
                    .reader
                    .push(&tmp[..n])
                    .and_then(|()| c.reader.next_frame());
                let req = match frame {
                    Ok(None) => return,
                    Ok(Some(body)) => proto::decode::<Request>(&body),
                    Err(e) => Err(e),
                };
                match req {
                    Ok(req) => self.handle(ci, req),
                    Err(e) => self.reply(ci, Err(e)),
                }
            }
            Mode::Attached(_) => self.attach_input(ci, &tmp[..n]),
            Mode::Waiting(_) | Mode::Closing => {}
        }
    }

    /// Stdin from an attach client (empty: the client half-closed).
    fn attach_input(&mut self, ci: usize, data: &[u8]) {
        let Mode::Attached(a) = &mut self.clients[ci].mode else {
            return;
        };
        let target = a.target.clone();
        let (wants_stdin, close_stdin) = (a.stdin, a.close_stdin);
        let Some(pi) = self.find(&target) else { return };
        let p = &mut self.procs[pi];
        if data.is_empty() {
            if wants_stdin && close_stdin {
                p.close_stdin();
            }
            return;
        }
        if wants_stdin && p.io.stdin.is_some() {
            p.io.stdin_buf.extend_from_slice(data);
            p.write_stdin();
        }
    }

    fn handle(&mut self, ci: usize, req: Request) {
        if let Err(e) = req.validate() {
            let c = &mut self.clients[ci];
            c.respond(Err(e));
            c.mode = Mode::Closing;
            c.flush();
            return;
        }
        match req {
            Request::Wait { exec_id } => match self.find_or_err(&exec_id) {
                Ok(pi) => {
                    let p = &self.procs[pi];
                    let c = &mut self.clients[ci];
                    if p.reported {
                        let exit = p
                            .exit
                            .clone()
                            .ok_or_else(|| Error::internal("no exit status"));
                        c.respond(exit.map(|exit| Reply::Exit { exit }));
                        c.mode = Mode::Closing;
                        c.flush();
                    } else {
                        c.mode = Mode::Waiting(exec_id);
                    }
                }
                Err(e) => self.reply(ci, Err(e)),
            },
            Request::Attach {
                exec_id,
                stdin,
                stdout,
                stderr,
                close_stdin,
            } => match self.find_or_err(&exec_id) {
                Ok(pi) => {
                    let p = &self.procs[pi];
                    let (tty, done) = (p.tty, p.reported);
                    let c = &mut self.clients[ci];
                    c.respond(Ok(Reply::Attached { tty }));
                    let early = c.reader.take_rest();
                    c.mode = if done {
                        Mode::Closing
                    } else {
                        Mode::Attached(Attach {
                            target: exec_id,
                            stdin,
                            stdout,
                            stderr,
                            close_stdin,
                            tty,
                        })
                    };
                    c.flush();
                    if !early.is_empty() {
                        self.attach_input(ci, &early);
                    }
                }
                Err(e) => self.reply(ci, Err(e)),
            },
            other => {
                let r = self.operate(other);
                self.reply(ci, r);
            }
        }
    }

    fn reply(&mut self, ci: usize, r: Result<Reply>) {
        let c = &mut self.clients[ci];
        c.respond(r);
        c.mode = Mode::Closing;
        c.flush();
    }

    fn operate(&mut self, req: Request) -> Result<Reply> {
        let id = self.cfg.id.clone();
        match req {
            Request::Create => self.create(),
            Request::Start => {
                self.reap();
                let init = &self.procs[0];
                if init.status != Status::Created || init.exit.is_some() {
                    return Err(Error::conflict(format!(
                        "container {id} is not in the created state ({})",
                        init.status.as_str()
                    )));
                }
                self.runtime().op(&Op::Start(&id))?;
                self.procs[0].status = Status::Running;
                Ok(Reply::Pid {
                    pid: self.procs[0].pid,
                })
            }
            Request::Kill {
                signal,
                all,
                exec_id: None,
            } => self.kill_init(signal, all),
            Request::Kill {
                signal,
                exec_id: Some(e),
                ..
            } => {
                self.reap();
                let pi = self.find_or_err(&Some(e.clone()))?;
                let p = &self.procs[pi];
                if p.pid == 0 || p.exit.is_some() {
                    return Err(Error::conflict(format!("exec {e} is not running")));
                }
                reaper::kill(p.pid, signal)?;
                Ok(Reply::Done)
            }
            Request::ExecCreate { exec_id, spec } => {
                self.reap();
                if self.procs[0].status != Status::Running {
                    return Err(Error::conflict(format!("container {id} is not running")));
                }
                if self.find(&Some(exec_id.clone())).is_some() {
                    return Err(Error::conflict(format!(
                        "exec {exec_id} already exists in container {id}"
                    )));
                }
                let tty = spec.process.terminal;
                let mut p = Proc::new(Some(exec_id), tty);
                p.spec = Some(spec);
                self.procs.push(p);
                Ok(Reply::Done)
            }
            Request::ExecStart { exec_id } => self.exec_start(exec_id),
            Request::Resize {
                exec_id,
                width,
                height,
            } => {
                let pi = self.find_or_err(&exec_id)?;
                let p = &self.procs[pi];
                match (&p.io.out[0], p.tty) {
                    (Some(master), true) => spoll::set_winsize(master, width, height)?,
                    (_, true) => return Err(Error::conflict("the process has exited")),
                    _ => {
                        return Err(Error::invalid(format!(
                            "container {id}: the process has no terminal to resize"
                        )))
                    }
                }
                Ok(Reply::Done)
            }
            Request::Pause => {
                self.reap();
                if self.procs[0].status != Status::Running {
                    return Err(Error::conflict(format!("container {id} is not running")));
                }
                self.runtime().op(&Op::Pause(&id))?;
                self.procs[0].status = Status::Paused;
                Ok(Reply::Done)
            }
            Request::Resume => {
                if self.procs[0].status != Status::Paused {
                    return Err(Error::conflict(format!("container {id} is not paused")));
                }
                self.runtime().op(&Op::Resume(&id))?;
                self.procs[0].status = Status::Running;
                Ok(Reply::Done)
            }
            Request::State => {
                self.reap();
                Ok(Reply::State {
                    state: self.state(),
                })
            }
            Request::CloseStdin { exec_id } => {
                let pi = self.find_or_err(&exec_id)?;
                self.procs[pi].close_stdin();
                Ok(Reply::Done)
            }
            Request::Delete { force } => self.delete(force),
            Request::Shutdown { force } => {
                self.reap();
                let init = &self.procs[0];
                if !force
                    && init.exit.is_none()
                    && matches!(
                        init.status,
                        Status::Running | Status::Paused | Status::Created
                    )
                {
                    return Err(Error::conflict(format!(
                        "container {id} is still {}",
                        init.status.as_str()
                    )));
                }
                self.quit = Some(Quit::Shutdown);
                Ok(Reply::Done)
            }
            Request::Wait { .. } | Request::Attach { .. } => {
                Err(Error::internal("streaming request in operate"))
            }
        }
    }

    fn state(&self) -> proto::ShimState {
        let init = &self.procs[0];
        proto::ShimState {
            id: self.cfg.id.clone(),
            bundle: self.cfg.bundle.clone(),
            status: init.status,
            pid: init.pid,
            tty: self.cfg.tty,
            stdin: self.cfg.stdin,
            exit: init.exit.clone(),
            execs: self
                .procs
                .iter()
                .skip(1)
                .map(|p| proto::ExecState {
                    exec_id: p.exec_id.clone().unwrap_or_default(),
                    status: p.status,
                    pid: p.pid,
                    tty: p.tty,
                    exit: p.exit.clone(),
                })
                .collect(),
            shim_pid: reaper::getpid(),
        }
    }

    fn create(&mut self) -> Result<Reply> {
        let id = self.cfg.id.clone();
        if self.procs[0].status != Status::Unknown {
            return Err(Error::conflict(format!("container {id} already exists")));
        }
        if let Some(cfg) = self.cfg.log.clone() {
            self.log = Some(LogWriter::open(cfg)?);
        }
        let console = self.cfg.tty.then(|| self.dir.console());
        let mut io = ProcIo::prepare(self.cfg.tty, self.cfg.stdin, console.as_deref())?;
        let pid_file = self.dir.init_pid();
        let op = Op::Create {
            id: &id,
            bundle: &self.cfg.bundle,
            pid_file: &pid_file,
            console: console.as_deref(),
        };
        self.run_with_stdio(&op, &mut io)?;
        let pid = read_pid(&self.dir.init_pid())?
            .ok_or_else(|| Error::internal(format!("the runtime wrote no pid file for {id}")))?;
        io.finish(console.as_deref())?;
        let init = &mut self.procs[0];
        init.pid = pid;
        init.status = Status::Created;
        init.io = io;
        self.claim_orphan(0);
        Ok(Reply::Pid { pid })
    }

    fn exec_start(&mut self, exec_id: String) -> Result<Reply> {
        let id = self.cfg.id.clone();
        self.reap();
        let pi = self.find_or_err(&Some(exec_id.clone()))?;
        if self.procs[pi].status != Status::Unknown {
            return Err(Error::conflict(format!(
                "exec {exec_id} has already been started"
            )));
        }
        if self.procs[0].status != Status::Running {
            return Err(Error::conflict(format!("container {id} is not running")));
        }
        let spec = self.procs[pi]
            .spec
            .take()
            .ok_or_else(|| Error::internal("exec without a spec"))?;
        let tty = spec.process.terminal;
        let spec_path = self.dir.exec_spec(&exec_id);
        let pid_path = self.dir.exec_pid(&exec_id);
        std::fs::write(&spec_path, serde_json::to_vec(&spec.process)?)
            .ctx(|| format!("write {}", spec_path.display()))?;
        let console = tty.then(|| self.dir.console());
        let result = (|| -> Result<(u32, ProcIo)> {
            let mut io = ProcIo::prepare(tty, spec.stdin, console.as_deref())?;
            let op = Op::Exec {
                id: &id,
                process: &spec_path,
                pid_file: &pid_path,
                console: console.as_deref(),
            };
            self.run_with_stdio(&op, &mut io)?;
            let pid = read_pid(&pid_path)?.ok_or_else(|| {
                Error::internal(format!("the runtime wrote no pid file for exec {exec_id}"))
            })?;
            io.finish(console.as_deref())?;
            Ok((pid, io))
        })();
        let _ = std::fs::remove_file(&spec_path);
        let _ = std::fs::remove_file(&pid_path);
        match result {
            Ok((pid, io)) => {
                let p = &mut self.procs[pi];
                p.pid = pid;
                p.status = Status::Running;
                p.io = io;
                self.claim_orphan(pi);
                Ok(Reply::Pid { pid })
            }
            Err(e) => {
                // The exec never ran: answer its waiters and attach clients with Docker's codes
                // for a command that cannot be found (127) or executed (126).
                let msg = e.to_string();
                let lower = msg.to_ascii_lowercase();
                let code = if lower.contains("executable file not found")
                    || lower.contains("no such file or directory")
                {
                    127
                } else {
                    126
                };
                let p = &mut self.procs[pi];
                p.status = Status::Stopped;
                p.exit = Some(ExitStatus {
                    pid: 0,
                    code,
                    signal: None,
                    exited_at: crate::base::time::now_rfc3339(),
                    error: Some(msg),
                });
                p.exited = Some(Instant::now());
                Err(e)
            }
        }
    }

    /// Run a runtime command whose stdio is the process's (create, exec).
    fn run_with_stdio(&self, op: &Op, io: &mut ProcIo) -> Result<()> {
        let stdio = io.child_stdio();
        self.runtime()
            .op_with_stdio(op, stdio, &mut || io.read_stderr_now())
    }

    fn kill_init(&mut self, signal: i32, all: bool) -> Result<Reply> {
        let id = self.cfg.id.clone();
        self.reap();
        let init = &self.procs[0];
        if init.exit.is_some() || init.status == Status::Unknown {
            return Err(Error::conflict(format!("container {id} is not running")));
        }
        let paused = init.status == Status::Paused;
        if let Err(e) = self.runtime().op(&Op::Kill {
            id: &id,
            signal,
            all,
        }) {
            self.reap();
            if self.procs[0].exit.is_some() {
                return Err(Error::conflict(format!("container {id} is not running")));
            }
            return Err(e);
        }
        // A frozen process only dies once thawed (Docker resumes after SIGKILL too).
        if paused && signal == libc::SIGKILL {
            if self.runtime().op(&Op::Resume(&id)).is_ok() {
                self.procs[0].status = Status::Running;
            }
        }
        Ok(Reply::Done)
    }

    fn delete(&mut self, force: bool) -> Result<Reply> {
        let id = self.cfg.id.clone();
        self.reap();
        let alive = {
            let init = &self.procs[0];
            init.exit.is_none()
                && matches!(
                    init.status,
                    Status::Created | Status::Running | Status::Paused
                )
        };
        if alive {
            if !force {
                return Err(Error::conflict(format!(
                    "container {id} is {}: stop it first or delete with force",
                    self.procs[0].status.as_str()
                )));
            }
            // Kill and reap it here: `runc delete --force` would wait for a process that only
            // this shim can reap.
            let _ = self.kill_init(libc::SIGKILL, true);
            let pid = self.procs[0].pid;
            let deadline = Instant::now() + Duration::from_secs(10);
            while self.procs[0].exit.is_none() && Instant::now() < deadline {
                match reaper::try_reap(pid) {
                    Ok(Some(ended)) => self.on_exit(pid, ended),
                    Ok(None) => std::thread::sleep(Duration::from_millis(5)),
                    Err(_) => break,
                }
            }
        }
        if self.procs[0].status != Status::Unknown {
            let still = self.procs[0].exit.is_none();
            match self.runtime().op(&Op::Delete {
                id: &id,
                force: still,
            }) {
                Ok(_) => {}
                Err(e) if e.kind() == crate::base::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        // Gone from the exec root before the answer: whoever lists it next must not find it. The
        // listening socket keeps working for connections already accepted.
        if let Err(e) = std::fs::remove_dir_all(self.dir.path()) {
            eprintln!("containerd-shim: remove {}: {e}", self.dir.path().display());
        }
        self.quit = Some(Quit::Delete);
        Ok(Reply::Deleted {
            exit: self.procs[0].exit.clone(),
        })
    }
}
