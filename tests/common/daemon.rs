//! A private `dockerd` (berth) for a test: its socket, data root, exec root and pid file live in
//! the test's directory; the real Docker CLI can be pointed at it; on drop it gets SIGTERM, then
//! SIGKILL after a few seconds, by PID.

use super::{role, TestDir};
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// The Docker CLI the compatibility tests drive.
pub const DOCKER_CLI: &str = "/usr/local/bin/docker";

pub struct Dockerd {
    pub root: PathBuf,
    pub socket: PathBuf,
    pub data_root: PathBuf,
    pub exec_root: PathBuf,
    pub pidfile: PathBuf,
    pub log: PathBuf,
    pub pid: i32,
    child: Option<Child>,
}

fn kill(pid: i32, sig: i32) {
    // SAFETY: kill(2) on a pid this test started.
    unsafe { libc::kill(pid, sig) };
}

impl Dockerd {
    /// The command line `start` uses, for tests that want to run it themselves.
    /// Writes an empty `daemon.json` in `dir` unless there is one.
    pub fn command(dir: &Path, extra: &[&str]) -> Command {
        let cfg = dir.join("daemon.json");
        if !cfg.exists() {
            std::fs::write(&cfg, "{}").unwrap();
        }
        let mut c = Command::new(role("dockerd"));
        c.arg("-H")
            .arg(format!("unix://{}", dir.join("docker.sock").display()))
            .arg("--data-root")
            .arg(dir.join("data"))
            .arg("--exec-root")
            .arg(dir.join("exec"))
            .arg("--pidfile")
            .arg(dir.join("dockerd.pid"))
            .arg("--config-file")
            .arg(dir.join("daemon.json"))
            .args(extra);
        c
    }

    /// Start a daemon in `dir` (a fresh `daemon.json` with `{}` unless the test wrote one) and
    /// wait until its socket answers. Panics with the daemon's log if it does not come up.
    pub fn start(dir: &TestDir, extra: &[&str]) -> Dockerd {
        match Dockerd::try_start(&dir.path, extra) {
            Ok(d) => d,
            Err(e) => panic!("dockerd did not start: {e}"),
        }
    }

    pub fn try_start(dir: &Path, extra: &[&str]) -> Result<Dockerd, String> {
        let log = dir.join("dockerd.log");
        let logf = std::fs::File::create(&log).unwrap();
        let child = Dockerd::command(dir, extra)
            .stdin(Stdio::null())
            .stdout(logf.try_clone().unwrap())
            .stderr(logf)
            .spawn()
            .map_err(|e| format!("spawn dockerd: {e}"))?;
        let mut d = Dockerd {
            root: dir.to_path_buf(),
            socket: dir.join("docker.sock"),
            data_root: dir.join("data"),
            exec_root: dir.join("exec"),
            pidfile: dir.join("dockerd.pid"),
            log,
            pid: child.id() as i32,
            child: Some(child),
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            // Ready when it answers: a connect alone succeeds as soon as the socket is in place,
            // before the daemon has finished setting up (and serves).
            if ping(&d.socket) {
                return Ok(d);
            }
            if let Ok(Some(st)) = d.child.as_mut().unwrap().try_wait() {
                d.child = None;
                return Err(format!("exited with {st}: {}", d.log_text()));
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "socket {} did not appear in 10s: {}",
                    d.socket.display(),
                    d.log_text()
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `DOCKER_HOST` for this daemon.
    pub fn host(&self) -> String {
        format!("unix://{}", self.socket.display())
    }

    /// The real Docker CLI aimed at this daemon, with a private config directory and no
    /// inherited API version or context.
    pub fn docker(&self) -> Command {
        let mut c = Command::new(DOCKER_CLI);
        c.env("DOCKER_HOST", self.host())
            .env("DOCKER_CONFIG", self.root.join("docker-config"))
            .env_remove("DOCKER_API_VERSION")
            .env_remove("DOCKER_CONTEXT")
            .env_remove("DOCKER_TLS_VERIFY")
            .stdin(Stdio::null());
        c
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Resident memory of the daemon in KiB (VmRSS).
    pub fn rss_kib(&self) -> u64 {
        let s = std::fs::read_to_string(format!("/proc/{}/status", self.pid)).unwrap();
        s.lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap()
    }

    /// Send `sig` and wait for the exit (up to `timeout`); `None` if it is still running.
    pub fn signal_and_wait(&mut self, sig: i32, timeout: Duration) -> Option<ExitStatus> {
        let child = self.child.as_mut()?;
        kill(self.pid, sig);
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(st)) = child.try_wait() {
                self.child = None;
                return Some(st);
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// SIGTERM and wait for a clean exit.
    pub fn stop(&mut self) -> ExitStatus {
        match self.signal_and_wait(libc::SIGTERM, Duration::from_secs(10)) {
            Some(st) => st,
            None => panic!(
                "dockerd did not exit within 10s of SIGTERM: {}",
                self.log_text()
            ),
        }
    }

    /// One raw HTTP exchange on a new connection: write `request`, read until the server closes
    /// (the request should say `Connection: close`) or `timeout` passes.
    pub fn raw(&self, request: &[u8], timeout: Duration) -> Vec<u8> {
        let mut s = UnixStream::connect(&self.socket).unwrap();
        s.set_read_timeout(Some(timeout)).unwrap();
        let _ = s.write_all(request);
        let mut out = Vec::new();
        let mut buf = [0u8; 65536];
        loop {
            match s.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => out.extend_from_slice(&buf[..n]),
                Err(_) => break,
            }
        }
        out
    }
}

impl Drop for Dockerd {
    fn drop(&mut self) {
        if self.child.is_some()
            && self
                .signal_and_wait(libc::SIGTERM, Duration::from_secs(5))
                .is_none()
        {
            if let Some(mut c) = self.child.take() {
                let _ = c.kill();
                let _ = c.wait();
            }
        }
    }
}

/// One `GET /_ping` over the unix socket: true on any HTTP answer.
fn ping(socket: &Path) -> bool {
    let Ok(mut s) = UnixStream::connect(socket) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    if s.write_all(b"GET /_ping HTTP/1.0\r\nHost: x\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut buf = [0u8; 16];
    matches!(s.read(&mut buf), Ok(n) if n >= 7 && buf.starts_with(b"HTTP/1."))
}
