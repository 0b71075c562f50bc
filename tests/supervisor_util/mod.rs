//! Helpers shared by the supervisor tests: a supervisor on a per-test exec root, bundles, and a
//! guard that kills every container and shim the test made (by PID) and deletes runtime state.
#![allow(dead_code)]

use crate::common::*;
use berth::supervisor::{AttachStream, Config, CreateOpts, LogConfig, RuntimeConfig, Supervisor};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// The OCI runtime under test: berth's own `runc` role (what the supervisor runs by default),
/// or BERTH_TEST_RUNTIME: `runc` for /usr/sbin/runc, or a path.
pub fn runtime_path() -> Option<PathBuf> {
    match std::env::var("BERTH_TEST_RUNTIME").ok().as_deref() {
        Some("runc") => Some(PathBuf::from("/usr/sbin/runc")),
        Some("berth") | Some("") | None => None,
        Some(p) => Some(PathBuf::from(p)),
    }
}

/// The runtime as a command line (for checks the test makes behind the supervisor's back).
pub fn runtime_cmd(cfg: &RuntimeConfig) -> Command {
    let mut c = match &cfg.path {
        Some(p) => Command::new(p),
        None => Command::new(role("runc")),
    };
    c.arg("--root").arg(&cfg.root);
    c
}

/// `runtime state ID` → status string, None if unknown.
pub fn runtime_status(cfg: &RuntimeConfig, id: &str) -> Option<String> {
    let o = run(runtime_cmd(cfg).args(["state", id]));
    if !o.status.success() {
        return None;
    }
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).ok()?;
    v["status"].as_str().map(str::to_string)
}

pub struct Env {
    pub name: String,
    pub exec_root: PathBuf,
    pub runtime_root: PathBuf,
    /// The runtime the supervisor uses by default.
    pub runtime: RuntimeConfig,
    pub sup: Supervisor,
    _guard: ShimGuard,
    pub t: TestDir,
}

impl Env {
    pub fn new(name: &str) -> Env {
        require_root();
        let t = TestDir::new(name);
        let exec_root = t.join("x");
        let runtime_root = t.join("rt");
        let runtime = RuntimeConfig {
            path: runtime_path(),
            root: runtime_root.clone(),
            args: vec![],
        };
        let real = RuntimeConfig {
            path: Some(PathBuf::from("/usr/sbin/runc")),
            root: t.join("rt-runc"),
            args: vec![],
        };
        let guard = ShimGuard {
            exec_root: exec_root.clone(),
            runtimes: vec![runtime.clone(), real],
        };
        let sup = Supervisor::new(config(&exec_root, &runtime_root)).unwrap();
        Env {
            name: name.to_string(),
            exec_root,
            runtime_root,
            runtime,
            sup,
            _guard: guard,
            t,
        }
    }

    /// Debian's runc, for what berth's runtime does not do yet (see the callers).
    pub fn real_runc(&self) -> RuntimeConfig {
        RuntimeConfig {
            path: Some(PathBuf::from("/usr/sbin/runc")),
            root: self.t.join("rt-runc"),
            args: vec![],
        }
    }

    /// A busybox bundle in its own directory, optionally edited (e.g. terminal: true).
    pub fn bundle(
        &self,
        name: &str,
        args: &[&str],
        edit: impl FnOnce(&mut serde_json::Value),
    ) -> PathBuf {
        let dir = self.t.join(format!("bundle-{name}"));
        std::fs::create_dir_all(&dir).unwrap();
        test_bundle(&dir, &format!("{}-{name}", self.name), args);
        let p = dir.join("config.json");
        let mut v: serde_json::Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
        edit(&mut v);
        std::fs::write(&p, serde_json::to_vec(&v).unwrap()).unwrap();
        dir
    }

    pub fn opts(&self, id: &str, bundle: &Path) -> CreateOpts {
        CreateOpts {
            id: id.into(),
            bundle: bundle.into(),
            tty: false,
            stdin: false,
            log: None,
            runtime: None,
        }
    }

    pub fn log(&self, name: &str) -> LogConfig {
        LogConfig {
            path: self.t.join(name),
            max_size: None,
            max_file: 1,
            attrs: Default::default(),
        }
    }

    pub fn shim_pid(&self, id: &str) -> u32 {
        std::fs::read_to_string(self.exec_root.join("shims").join(id).join("shim.pid"))
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    }
}

/// busybox_bundle with a cgroup of its own: runc names a container's cgroup after its id when the
/// bundle names none, and cgroups are global, so tests running in parallel (or in another
/// checkout) with the same short ids would share them.
pub fn test_bundle(dir: &Path, name: &str, args: &[&str]) -> PathBuf {
    busybox_bundle(dir, args);
    let p = dir.join("config.json");
    let mut v: serde_json::Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
    v["linux"]["cgroupsPath"] = format!("/{}", unique_name(name)).into();
    std::fs::write(&p, serde_json::to_vec(&v).unwrap()).unwrap();
    dir.to_path_buf()
}

pub fn config(exec_root: &Path, runtime_root: &Path) -> Config {
    let mut cfg = Config::new(exec_root);
    cfg.shim_binary = Some(berth_bin());
    cfg.runtime = RuntimeConfig {
        path: runtime_path(),
        root: runtime_root.to_path_buf(),
        args: vec![],
    };
    cfg
}

/// Kills every container and shim under an exec root (by the PIDs in their files) and deletes
/// the runtimes' state, on drop.
pub struct ShimGuard {
    pub exec_root: PathBuf,
    pub runtimes: Vec<RuntimeConfig>,
}

impl Drop for ShimGuard {
    fn drop(&mut self) {
        let Ok(rd) = std::fs::read_dir(self.exec_root.join("shims")) else {
            return;
        };
        for e in rd.flatten() {
            let id = e.file_name().to_string_lossy().into_owned();
            for rt in &self.runtimes {
                let _ = runtime_cmd(rt).args(["kill", "--all", &id, "9"]).output();
            }
            for f in ["init.pid", "shim.pid"] {
                if let Some(pid) = std::fs::read_to_string(e.path().join(f))
                    .ok()
                    .and_then(|s| s.trim().parse::<i32>().ok())
                {
                    drop(ProcGuard::from_pid(pid));
                }
            }
            for rt in &self.runtimes {
                let _ = runtime_cmd(rt).args(["delete", "--force", &id]).output();
            }
            // What a failed delete left in the container's own cgroup (test_bundle names it).
            if let Some(cg) = container_cgroup(&e.path()) {
                let mut dirs = vec![Path::new("/sys/fs/cgroup").join(&cg)];
                if let Ok(ctrls) = std::fs::read_dir("/sys/fs/cgroup") {
                    dirs.extend(ctrls.flatten().map(|c| c.path().join(&cg)));
                }
                for d in dirs.into_iter().filter(|d| d.is_dir()) {
                    remove_cgroup_tree(&d);
                }
            }
        }
    }
}

/// The cgroupsPath of the bundle a shim directory's config.json names (relative, no leading /).
fn container_cgroup(shim_dir: &Path) -> Option<String> {
    let cfg: serde_json::Value =
        serde_json::from_slice(&std::fs::read(shim_dir.join("config.json")).ok()?).ok()?;
    let bundle = PathBuf::from(cfg["bundle"].as_str()?);
    let spec: serde_json::Value =
        serde_json::from_slice(&std::fs::read(bundle.join("config.json")).ok()?).ok()?;
    let p = spec["linux"]["cgroupsPath"]
        .as_str()?
        .trim_start_matches('/')
        .to_string();
    (p.starts_with("berth-") && !p.contains("..")).then_some(p)
}

/// Run a future with a deadline.
pub fn block_on_timeout<T>(secs: u64, f: impl std::future::Future<Output = T>) -> T {
    smol::block_on(async {
        smol::future::or(async { Some(f.await) }, async {
            smol::Timer::after(Duration::from_secs(secs)).await;
            None
        })
        .await
    })
    .unwrap_or_else(|| panic!("timed out after {secs}s"))
}

/// Read an attach stream until `pred` holds for (stdout, stderr) or the stream ends.
pub fn read_until(
    a: &mut AttachStream,
    secs: u64,
    pred: impl Fn(&str, &str) -> bool,
) -> (String, String, bool) {
    use smol::io::AsyncReadExt;
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut demux = berth::supervisor::proto::Demux::default();
    let (mut out, mut err) = (String::new(), String::new());
    let mut buf = [0u8; 4096];
    loop {
        if pred(&out, &err) {
            return (out, err, false);
        }
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(
            !left.is_zero(),
            "timed out; stdout so far {out:?}, stderr {err:?}"
        );
        let n = smol::block_on(smol::future::or(
            async { Some(a.stream.read(&mut buf).await) },
            async {
                smol::Timer::after(left).await;
                None
            },
        ));
        let n = match n {
            Some(Ok(n)) => n,
            Some(Err(e)) => panic!("read attach stream: {e}"),
            None => continue,
        };
        if n == 0 {
            return (out, err, true);
        }
        if a.tty {
            out.push_str(&String::from_utf8_lossy(&buf[..n]));
        } else {
            demux.push(&buf[..n]);
            while let Some((s, d)) = demux.next_chunk() {
                let d = String::from_utf8_lossy(&d);
                if s == 2 {
                    err.push_str(&d)
                } else {
                    out.push_str(&d)
                }
            }
        }
    }
}

pub fn write_stdin(a: &AttachStream, data: &[u8]) {
    use std::io::Write;
    let mut s = a.stream.get_ref();
    s.write_all(data).unwrap();
}

pub fn close_stdin(a: &AttachStream) {
    let _ = a.stream.get_ref().shutdown(std::net::Shutdown::Write);
}

/// The json-file entries of a log file: (log, stream).
pub fn log_entries(p: &Path) -> Vec<(String, String)> {
    let mut s = String::new();
    if let Ok(mut f) = std::fs::File::open(p) {
        f.read_to_string(&mut s).unwrap();
    }
    s.lines()
        .map(|l| {
            let v: serde_json::Value =
                serde_json::from_str(l).unwrap_or_else(|e| panic!("bad log line {l:?}: {e}"));
            assert!(v["time"].as_str().unwrap().ends_with('Z'), "{l}");
            (
                v["log"].as_str().unwrap_or("").to_string(),
                v["stream"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

pub fn wait_for(secs: u64, what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// (ppid, session id) of a process, from /proc/PID/stat.
pub fn ppid_sid(pid: u32) -> (u32, u32) {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let rest: Vec<&str> = s.rsplit_once(')').unwrap().1.split_whitespace().collect();
    (rest[1].parse().unwrap(), rest[3].parse().unwrap())
}

pub fn proc_status_field(pid: u32, field: &str) -> String {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    s.lines()
        .find(|l| l.starts_with(field))
        .map(|l| l[field.len()..].trim().to_string())
        .unwrap_or_default()
}
