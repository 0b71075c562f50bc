//! Daemons for the image tests: berth's dockerd (target/berth) or Debian's dockerd 20.10, each
//! private (own socket, data root, exec root, pid file) and stopped by PID on drop; the real
//! Docker CLI (/usr/local/bin/docker) pointed at one of them.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub const DOCKER_CLI: &str = "/usr/local/bin/docker";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Berth,
    Peer,
}

pub struct Daemon {
    pub kind: Kind,
    pub dir: PathBuf,
    pub sock: PathBuf,
    pub data: PathBuf,
    child: Option<Child>,
}

fn kill(pid: i32, sig: i32) {
    // SAFETY: kill(2) on a pid this test started.
    unsafe { libc::kill(pid, sig) };
}

impl Daemon {
    /// berth's dockerd in `dir` with `daemon.json` holding `config` (e.g. `{}`).
    pub fn berth(dir: &Path, config: &str) -> Daemon {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join("daemon.json"), config).unwrap();
        let mut c = Command::new(crate::common::role("dockerd"));
        c.arg("-H")
            .arg(format!("unix://{}", dir.join("docker.sock").display()));
        c.arg("--data-root")
            .arg(dir.join("data"))
            .arg("--exec-root")
            .arg(dir.join("exec"));
        c.arg("--pidfile")
            .arg(dir.join("dockerd.pid"))
            .arg("--config-file")
            .arg(dir.join("daemon.json"));
        Self::spawn(Kind::Berth, dir, c)
    }

    /// Debian's dockerd 20.10, private and without networking setup.
    pub fn peer(dir: &Path) -> Daemon {
        std::fs::create_dir_all(dir).unwrap();
        let mut c = Command::new("dockerd");
        c.arg("-H")
            .arg(format!("unix://{}", dir.join("docker.sock").display()));
        c.arg("--data-root")
            .arg(dir.join("data"))
            .arg("--exec-root")
            .arg(dir.join("exec"));
        c.arg("--pidfile").arg(dir.join("dockerd.pid"));
        c.args([
            "--bridge=none",
            "--iptables=false",
            "--ip-masq=false",
            "--config-file",
        ])
        .arg(dir.join("daemon.json"));
        std::fs::write(dir.join("daemon.json"), "{}").unwrap();
        Self::spawn(Kind::Peer, dir, c)
    }

    fn spawn(kind: Kind, dir: &Path, mut c: Command) -> Daemon {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("daemon.log"))
            .unwrap();
        c.stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log));
        let child = c
            .spawn()
            .unwrap_or_else(|e| panic!("start {kind:?} dockerd: {e}"));
        let d = Daemon {
            kind,
            dir: dir.to_path_buf(),
            sock: dir.join("docker.sock"),
            data: dir.join("data"),
            child: Some(child),
        };
        d.wait_ready();
        d
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if self.sock.exists() {
                let o = self.docker(&["version", "--format", "{{.Server.Version}}"]);
                if o.status.success() {
                    return;
                }
            }
            if Instant::now() > deadline {
                panic!(
                    "{:?} dockerd did not come up:\n{}",
                    self.kind,
                    std::fs::read_to_string(self.dir.join("daemon.log")).unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn pid(&self) -> i32 {
        self.child.as_ref().map(|c| c.id() as i32).unwrap_or(0)
    }

    /// The Docker CLI against this daemon (its own config dir, never the user's).
    pub fn docker_cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(DOCKER_CLI);
        c.env("DOCKER_HOST", format!("unix://{}", self.sock.display()));
        c.env("DOCKER_CONFIG", self.dir.join("cli-config"));
        c.env_remove("DOCKER_API_VERSION");
        c.args(args);
        c
    }

    pub fn docker(&self, args: &[&str]) -> Output {
        self.docker_cmd(args).output().unwrap()
    }

    /// Run the CLI, expect success, return stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let o = self.docker(args);
        assert!(
            o.status.success(),
            "docker {args:?} failed ({:?}):\nstdout: {}\nstderr: {}",
            o.status,
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    /// Run the CLI, expect failure, return stderr.
    pub fn fails(&self, args: &[&str]) -> String {
        let o = self.docker(args);
        assert!(
            !o.status.success(),
            "docker {args:?} should have failed:\n{}",
            String::from_utf8_lossy(&o.stdout)
        );
        String::from_utf8_lossy(&o.stderr).into_owned()
    }

    /// SIGKILL the daemon and reap it (the crash test).
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM and wait (up to 20 s, then SIGKILL).
    pub fn stop(&mut self) {
        let Some(mut c) = self.child.take() else {
            return;
        };
        kill(c.id() as i32, libc::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = c.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = c.kill();
        let _ = c.wait();
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.stop();
        crate::common::kill_berth_shims(&self.dir.join("exec"));
        crate::common::unmount_below(&self.dir);
    }
}
