//! Helpers for tests/containers_*.rs: a private berth dockerd with a busybox image imported in
//! the test (never pulled), the real Docker CLI aimed at it, and cleanup that leaves nothing
//! running: containers outlive dockerd (live restore), so the guard removes them through the
//! API first, then kills any shim and container init still alive by PID and removes their
//! cgroups.
#![allow(dead_code)]

use crate::common::daemon::Dockerd;
use crate::common::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The image every test imports: busybox-static as a one-layer rootfs.
pub const IMAGE: &str = "bb:latest";

pub struct Engine {
    pub dir: TestDir,
    pub d: Option<Dockerd>,
    /// The daemon's extra arguments, kept for restarts.
    pub extra: Vec<String>,
}

/// A tar of a busybox rootfs (made once per test binary under target/).
pub fn busybox_tar() -> PathBuf {
    static ONCE: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    ONCE.get_or_init(|| {
        let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-images");
        std::fs::create_dir_all(&base).unwrap();
        let tar = base.join(format!("busybox-{}.tar", std::process::id()));
        let root = base.join(format!("busybox-root-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        busybox_rootfs(&root);
        let o = run(Command::new("tar")
            .arg("-C")
            .arg(&root)
            .arg("-cf")
            .arg(&tar)
            .arg("."));
        assert!(o.status.success(), "tar: {}", stderr(&o));
        let _ = std::fs::remove_dir_all(&root);
        tar
    })
    .clone()
}

impl Engine {
    /// A daemon in a fresh test directory with `bb:latest` imported.
    pub fn start(name: &str) -> Engine {
        Engine::start_with(name, &[])
    }

    pub fn start_with(name: &str, extra: &[&str]) -> Engine {
        require_root();
        let dir = TestDir::new(name);
        let d = Dockerd::start(&dir, extra);
        let e = Engine {
            dir,
            d: Some(d),
            extra: extra.iter().map(|s| s.to_string()).collect(),
        };
        e.ok(&["import", busybox_tar().to_str().unwrap(), IMAGE]);
        e
    }

    pub fn d(&self) -> &Dockerd {
        self.d.as_ref().expect("daemon running")
    }

    /// The CLI with `args` (stdin: /dev/null).
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = self.d().docker();
        c.args(args);
        c
    }

    pub fn docker(&self, args: &[&str]) -> Output {
        run(&mut self.cmd(args))
    }

    /// Run and require success; stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let o = self.docker(args);
        assert!(
            o.status.success(),
            "docker {args:?} failed ({:?}):\nstdout: {}\nstderr: {}\ndaemon log:\n{}",
            o.status,
            stdout(&o),
            stderr(&o),
            self.log_tail()
        );
        stdout(&o)
    }

    /// Run and require failure; stderr.
    pub fn fails(&self, args: &[&str]) -> (i32, String) {
        let o = self.docker(args);
        assert!(
            !o.status.success(),
            "docker {args:?} should have failed: {}",
            stdout(&o)
        );
        (o.status.code().unwrap_or(-1), stderr(&o))
    }

    /// Feed `input` to the CLI's stdin.
    pub fn with_stdin(&self, args: &[&str], input: &[u8]) -> Output {
        use std::io::Write;
        let mut c = self.cmd(args);
        c.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = c.spawn().unwrap();
        child.stdin.take().unwrap().write_all(input).unwrap();
        child.wait_with_output().unwrap()
    }

    pub fn inspect(&self, name: &str) -> serde_json::Value {
        let v: serde_json::Value = serde_json::from_str(&self.ok(&["inspect", name])).unwrap();
        v[0].clone()
    }

    pub fn status(&self, name: &str) -> String {
        self.ok(&["inspect", "-f", "{{.State.Status}}", name])
            .trim()
            .to_string()
    }

    /// Poll until `f` holds (10 s).
    pub fn until(&self, what: &str, mut f: impl FnMut() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !f() {
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}\ndaemon log:\n{}",
                self.log_tail()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn log_tail(&self) -> String {
        let l = self.d.as_ref().map(|d| d.log_text()).unwrap_or_default();
        l.lines()
            .rev()
            .take(40)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
            .join("\n")
    }

    pub fn exec_root(&self) -> PathBuf {
        self.dir.join("exec")
    }

    /// Kill dockerd with SIGKILL (containers keep running) and start a new one on the same
    /// roots.
    pub fn kill9_and_restart(&mut self) {
        self.kill9_and_restart_after(|_| {});
    }

    /// `kill9_and_restart`, running `between` (given the data root) while no daemon runs.
    pub fn kill9_and_restart_after(&mut self, between: impl FnOnce(&std::path::Path)) {
        let mut d = self.d.take().unwrap();
        assert!(
            d.signal_and_wait(libc::SIGKILL, Duration::from_secs(10))
                .is_some(),
            "dockerd did not die"
        );
        let _ = std::fs::remove_file(&d.socket);
        drop(d);
        between(&self.dir.path.join("data"));
        let extra: Vec<&str> = self.extra.iter().map(String::as_str).collect();
        self.d = Some(Dockerd::start(&self.dir, &extra));
    }

    /// Remove every container through the API, then make sure no shim or container process
    /// of this daemon is left.
    pub fn cleanup(&mut self) {
        if let Some(d) = &self.d {
            let o = run(d.docker().args(["ps", "-aq", "--no-trunc"]));
            let ids: Vec<String> = stdout(&o).split_whitespace().map(str::to_string).collect();
            if !ids.is_empty() {
                let mut c = d.docker();
                c.args(["rm", "-f"]).args(&ids);
                let _ = c.output();
            }
        }
        kill_berth_shims(&self.exec_root());
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.cleanup();
        if let Some(mut d) = self.d.take() {
            let _ = d.signal_and_wait(libc::SIGTERM, Duration::from_secs(10));
        }
    }
}
