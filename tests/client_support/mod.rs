//! Shared by the tests/client_*.rs files: a private daemon of either kind (Debian's dockerd 20.10
//! or berth's dockerd), berth's docker client and the real Docker CLI 28 aimed at it with a
//! private DOCKER_CONFIG, output comparison between the two clients, a registry on 127.0.0.1,
//! and a pseudo-terminal for interactive runs.
#![allow(dead_code)]

use crate::common::{role, unmount_below, TestDir};
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub const DOCKER_CLI: &str = "/usr/local/bin/docker";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Debian's dockerd 20.10 (API 1.41).
    Real,
    /// berth's own dockerd.
    Berth,
}

fn kill(pid: i32, sig: i32) {
    // SAFETY: kill(2) on a pid this test started.
    unsafe { libc::kill(pid, sig) };
}

/// A private daemon, stopped by PID on drop; everything mounted below its directory is
/// unmounted when the TestDir goes.
pub struct Daemon {
    pub kind: Kind,
    pub dir: PathBuf,
    pub sock: PathBuf,
    child: Option<Child>,
    _tmp: TestDir,
}

impl Daemon {
    pub fn start(kind: Kind, test: &str) -> Daemon {
        Daemon::start_with(kind, test, &[])
    }

    pub fn start_with(kind: Kind, test: &str, extra: &[&str]) -> Daemon {
        let tmp = TestDir::new(&format!("{test}-{kind:?}"));
        let dir = tmp.path.clone();
        std::fs::write(dir.join("daemon.json"), "{}").unwrap();
        let sock = dir.join("docker.sock");
        let mut c = match kind {
            Kind::Real => {
                let mut c = Command::new("dockerd");
                c.args(["--bridge=none", "--iptables=false", "--ip-masq=false"]);
                c
            }
            Kind::Berth => Command::new(role("dockerd")),
        };
        c.arg("-H").arg(format!("unix://{}", sock.display()));
        c.arg("--data-root")
            .arg(dir.join("data"))
            .arg("--exec-root")
            .arg(dir.join("exec"));
        c.arg("--pidfile")
            .arg(dir.join("dockerd.pid"))
            .arg("--config-file")
            .arg(dir.join("daemon.json"));
        c.args(extra);
        let log = std::fs::File::create(dir.join("daemon.log")).unwrap();
        c.stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        let child = c
            .spawn()
            .unwrap_or_else(|e| panic!("start {kind:?} dockerd: {e}"));
        let d = Daemon {
            kind,
            dir,
            sock,
            child: Some(child),
            _tmp: tmp,
        };
        d.wait_ready();
        d
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if self.sock.exists() && self.raw_status("GET", "/_ping") == Some(200) {
                return;
            }
            if Instant::now() > deadline {
                panic!("{:?} dockerd did not come up:\n{}", self.kind, self.log());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("daemon.log")).unwrap_or_default()
    }

    pub fn host(&self) -> String {
        format!("unix://{}", self.sock.display())
    }

    pub fn config_dir(&self) -> PathBuf {
        self.dir.join("client-config")
    }

    /// The status of one raw request (None when the daemon is not answering).
    pub fn raw_status(&self, method: &str, path: &str) -> Option<u16> {
        let mut s = std::os::unix::net::UnixStream::connect(&self.sock).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
        write!(
            s,
            "{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )
        .ok()?;
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out);
        let text = String::from_utf8_lossy(&out);
        text.split(' ').nth(1)?.parse().ok()
    }

    /// Whether the daemon routes `method path` at all (berth's answers unknown routes with a
    /// 404 "page not found"; a 404 about a missing object still means the route exists).
    pub fn serves(&self, method: &str, path: &str) -> bool {
        let Ok(mut s) = std::os::unix::net::UnixStream::connect(&self.sock) else {
            return false;
        };
        let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
        let _ = write!(s, "{method} /v1.41{path} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out);
        let text = String::from_utf8_lossy(&out);
        !(text.starts_with("HTTP/1.1 404") && text.contains("page not found"))
    }

    /// For berth's daemon: every route a scenario needs must be served; a missing one fails the
    /// test naming the route (never a silent skip).
    pub fn require(&self, scenario: &str, routes: &[(&str, &str)]) -> bool {
        let missing: Vec<String> = routes
            .iter()
            .filter(|(m, p)| !self.serves(m, p))
            .map(|(m, p)| format!("{m} {p}"))
            .collect();
        if missing.is_empty() {
            return true;
        }
        panic!(
            "{:?} dockerd: scenario {scenario}: the daemon does not serve {}",
            self.kind,
            missing.join(", ")
        );
    }

    fn env(&self, c: &mut Command) {
        c.env("DOCKER_HOST", self.host())
            .env("DOCKER_CONFIG", self.config_dir())
            .env_remove("DOCKER_API_VERSION")
            .env_remove("DOCKER_CONTEXT")
            .env_remove("DOCKER_TLS_VERIFY")
            .env("HOME", &self.dir);
    }

    /// berth's client (`target/berth` via its `docker` link) aimed at this daemon.
    pub fn berth_cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(role("docker"));
        self.env(&mut c);
        c.args(args).stdin(Stdio::null());
        c
    }

    /// The real Docker CLI 28 aimed at this daemon.
    pub fn real_cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(DOCKER_CLI);
        self.env(&mut c);
        c.args(args).stdin(Stdio::null());
        c
    }

    pub fn berth(&self, args: &[&str]) -> Output {
        self.berth_cmd(args).output().unwrap()
    }

    pub fn real(&self, args: &[&str]) -> Output {
        self.real_cmd(args).output().unwrap()
    }

    /// berth's client, expecting success; stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let o = self.berth(args);
        assert!(
            o.status.success(),
            "docker {args:?} failed ({:?}) on {:?}:\nstdout: {}\nstderr: {}",
            o.status,
            self.kind,
            out(&o),
            err(&o)
        );
        out(&o)
    }

    /// berth's client, expecting failure with `code`; stderr.
    pub fn fails(&self, args: &[&str], code: i32) -> String {
        let o = self.berth(args);
        assert_eq!(
            o.status.code(),
            Some(code),
            "docker {args:?} on {:?}:\nstdout: {}\nstderr: {}",
            self.kind,
            out(&o),
            err(&o)
        );
        err(&o)
    }

    /// Run `args` with both clients and demand the same stdout, stderr and exit code, after
    /// `norm` (for values that change between two runs: times, generated names).
    pub fn same(&self, args: &[&str], norm: fn(&str) -> String) -> Output {
        let r = self.real(args);
        let b = self.berth(args);
        assert_eq!(
            (norm(&out(&b)), norm(&err(&b)), b.status.code()),
            (norm(&out(&r)), norm(&err(&r)), r.status.code()),
            "berth vs Docker CLI differ for {args:?} on {:?} dockerd (left berth, right docker)",
            self.kind
        );
        b
    }

    /// Load the small fixture image (`small:peer`).
    pub fn load_small(&self) {
        let o = self.berth(&[
            "load",
            "-i",
            fixture_path("docker-save-small.tar").to_str().unwrap(),
        ]);
        assert!(o.status.success(), "load: {}", err(&o));
        assert_eq!(out(&o), "Loaded image: small:peer\n");
    }

    /// Containers left behind by a failed assertion go with the daemon; this removes them
    /// explicitly too, so a shared daemon stays clean between scenarios.
    pub fn remove_all_containers(&self) {
        let ids = out(&self.real(&["ps", "-aq"]));
        for id in ids.lines().filter(|l| !l.is_empty()) {
            let _ = self.real(&["rm", "-f", id]);
        }
    }

    pub fn pid(&self) -> i32 {
        self.child.as_ref().map(|c| c.id() as i32).unwrap_or(0)
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if self.kind == Kind::Berth {
            self.remove_all_containers();
        }
        if let Some(mut c) = self.child.take() {
            kill(c.id() as i32, libc::SIGTERM);
            let deadline = Instant::now() + Duration::from_secs(20);
            let mut done = false;
            while Instant::now() < deadline {
                if let Ok(Some(_)) = c.try_wait() {
                    done = true;
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            if !done {
                let _ = c.kill();
                let _ = c.wait();
            }
        }
        if self.kind == Kind::Berth {
            crate::common::kill_berth_shims(&self.dir.join("exec"));
        }
        unmount_below(&self.dir);
    }
}

pub fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn fixture_path(name: &str) -> PathBuf {
    let local = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    if local.is_file() {
        return local;
    }
    Path::new("/work/shared/fixtures").join(name)
}

/// No normalization.
pub fn exact(s: &str) -> String {
    s.to_string()
}

/// Relative times ("Less than a second ago", "2 seconds ago", "Up 3 seconds") vary between two
/// runs of the same command: they become `<T>`; runs of spaces (table padding that follows the
/// text) become one.
pub fn times(s: &str) -> String {
    let mut t = s.to_string();
    for fixed in ["Less than a second", "About a minute", "About an hour"] {
        t = t.replace(fixed, "<T>");
    }
    let units = ["seconds", "second", "minutes", "minute", "hours", "hour"];
    let mut out = String::with_capacity(t.len());
    let mut rest = t.as_str();
    while let Some(pos) = rest.find(|c: char| c.is_ascii_digit()) {
        let (before, from) = rest.split_at(pos);
        out.push_str(before);
        let digits = from
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(from.len());
        let after = &from[digits..];
        let boundary = before.is_empty() || before.ends_with([' ', '(', '\n', '\t', '"']);
        match after.strip_prefix(' ').and_then(|a| {
            units
                .iter()
                .find(|u| a.starts_with(**u))
                .map(|u| &a[u.len()..])
        }) {
            Some(tail) if boundary => {
                out.push_str("<T>");
                rest = tail;
            }
            _ => {
                out.push_str(&from[..digits]);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    let mut squeezed = String::with_capacity(out.len());
    let mut prev_space = false;
    for c in out.chars() {
        if c == ' ' && prev_space {
            continue;
        }
        prev_space = c == ' ';
        squeezed.push(c);
    }
    squeezed
}

/// For lists whose order Docker leaves to a Go map (the tags of one image): `times`, then the
/// lines sorted.
pub fn sorted(s: &str) -> String {
    let t = times(s);
    let mut lines: Vec<&str> = t.lines().collect();
    lines.sort();
    lines.join("\n")
}

/// A free TCP port on 127.0.0.1 (bound and released; tests bind it right after).
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// docker-registry on 127.0.0.1, optionally with basic auth (bcrypt htpasswd), storage in the
/// test directory; killed by PID on drop.
pub struct Registry {
    pub addr: String,
    child: Child,
    _dir: TestDir,
}

impl Registry {
    pub fn start(test: &str, user_pass: Option<(&str, &str)>) -> Registry {
        let dir = TestDir::new(&format!("{test}-registry"));
        let port = free_port();
        let mut cfg = format!(
            "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n",
            dir.join("storage").display()
        );
        if let Some((u, p)) = user_pass {
            let o = Command::new("htpasswd")
                .args(["-B", "-b", "-c"])
                .arg(dir.join("htpasswd"))
                .args([u, p])
                .output()
                .unwrap();
            assert!(o.status.success(), "htpasswd: {}", err(&o));
            cfg.push_str(&format!(
                "auth:\n  htpasswd:\n    realm: berth-test\n    path: {}\n",
                dir.join("htpasswd").display()
            ));
        }
        std::fs::write(dir.join("config.yml"), cfg).unwrap();
        let log = std::fs::File::create(dir.join("registry.log")).unwrap();
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(dir.join("config.yml"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let addr = format!("127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(&addr).is_err() {
            assert!(
                Instant::now() < deadline,
                "registry did not listen on {addr}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Registry {
            addr,
            child,
            _dir: dir,
        }
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A pseudo-terminal pair: the child gets the slave as its controlling terminal (so window
/// changes reach it as SIGWINCH); the test reads and writes the master.
pub struct Pty {
    pub master: OwnedFd,
    slave_path: PathBuf,
}

impl Pty {
    pub fn open(rows: u16, cols: u16) -> Pty {
        use rustix::pty::{grantpt, openpt, ptsname, unlockpt, OpenptFlags};
        let master = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY).unwrap();
        grantpt(&master).unwrap();
        unlockpt(&master).unwrap();
        let name = ptsname(&master, Vec::new()).unwrap();
        let pty = Pty {
            master,
            slave_path: PathBuf::from(name.to_string_lossy().into_owned()),
        };
        pty.resize(rows, cols);
        pty
    }

    pub fn resize(&self, rows: u16, cols: u16) {
        let ws = libc::winsize {
            ws_row: rows,
            ws_col: cols,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: TIOCSWINSZ reads a winsize from a valid pointer.
        let r = unsafe { libc::ioctl(self.master.as_raw_fd(), libc::TIOCSWINSZ, &ws) };
        assert_eq!(r, 0, "TIOCSWINSZ");
    }

    /// Start `cmd` with the slave as stdin, stdout and stderr, in a new session whose
    /// controlling terminal it is.
    pub fn spawn(&self, mut cmd: Command) -> Child {
        let open = || {
            std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open(&self.slave_path)
                .unwrap()
        };
        cmd.stdin(open()).stdout(open()).stderr(open());
        // SAFETY: only async-signal-safe calls (setsid, ioctl) between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                if libc::setsid() < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                if libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        cmd.spawn().unwrap()
    }

    /// The terminal side, opened anew (to look at its modes).
    pub fn slave(&self) -> std::fs::File {
        std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&self.slave_path)
            .unwrap()
    }

    pub fn write(&self, data: &[u8]) {
        let mut f = std::fs::File::from(self.master.try_clone().unwrap());
        f.write_all(data).unwrap();
    }

    /// Read until `want` appears in the output (or panic after `timeout`); returns everything
    /// read so far.
    pub fn expect(&self, seen: &mut String, want: &str, timeout: Duration) {
        assert!(
            self.wait_for(seen, want, timeout),
            "timed out waiting for {want:?}; terminal showed:\n{seen:?}"
        );
    }

    /// Read until `want` shows (true) or `timeout` passes (false).
    pub fn wait_for(&self, seen: &mut String, want: &str, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let fd = self.master.as_raw_fd();
        while !seen.contains(want) {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            let mut pfd = libc::pollfd {
                fd,
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: poll on one valid pollfd.
            let r = unsafe { libc::poll(&mut pfd, 1, left.as_millis().min(1000) as i32) };
            if r <= 0 {
                continue;
            }
            let mut buf = [0u8; 4096];
            // SAFETY: read into a stack buffer of the given size.
            let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
            if n <= 0 {
                assert!(
                    seen.contains(want),
                    "terminal closed before {want:?}; it showed:\n{seen:?}"
                );
                return true;
            }
            seen.push_str(&String::from_utf8_lossy(&buf[..n as usize]));
        }
        true
    }
}

/// Wait for a child with a deadline; kill it (by PID, ours) on timeout.
pub fn wait_timeout(c: &mut Child, timeout: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Ok(Some(st)) = c.try_wait() {
            return Some(st);
        }
        if Instant::now() > deadline {
            let _ = c.kill();
            let _ = c.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
