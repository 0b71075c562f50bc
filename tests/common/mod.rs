//! Shared test harness: the built binary and its symlinks, root checks, per-test temp dirs, and
//! Drop guards that undo what a test did (processes by PID, mounts, cgroups, links, netns) even
//! when the test panics.
#![allow(dead_code)]

pub mod daemon;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};
use std::sync::OnceLock;

/// Tests that need root call this first: it fails loudly, it never skips.
pub fn require_root() {
    // SAFETY-free: geteuid through rustix.
    let uid = rustix::process::geteuid().as_raw();
    assert_eq!(
        uid, 0,
        "this test needs root (CI runs as root): run `sudo make test`"
    );
}

/// The shipped static binary, built by `make build`.
pub fn berth_bin() -> PathBuf {
    let p = match std::env::var_os("BERTH_BIN") {
        Some(p) => PathBuf::from(p),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("target/berth"),
    };
    assert!(
        p.is_file(),
        "{} is missing: run `make build` (or `make test`, which builds first)",
        p.display()
    );
    p
}

/// A directory of role symlinks to the built binary, made once per test process.
pub fn bin_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        // One directory per build tree (not per process, so nothing is left in /tmp); links are
        // made under a temp name and renamed, so concurrent test binaries never see a half state.
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-links");
        std::fs::create_dir_all(&dir).unwrap();
        let bin = berth_bin();
        for role in [
            "docker",
            "dockerd",
            "containerd",
            "runc",
            "containerd-shim",
            "docker-init",
        ] {
            let tmp = dir.join(format!(".{role}.{}", std::process::id()));
            let _ = std::fs::remove_file(&tmp);
            std::os::unix::fs::symlink(&bin, &tmp).unwrap();
            std::fs::rename(&tmp, dir.join(role)).unwrap();
        }
        dir
    })
}

/// The path of `role` as a symlink to berth (e.g. `role("runc")`).
pub fn role(name: &str) -> PathBuf {
    bin_dir().join(name)
}

/// Run a command to completion and return its output (stdout/stderr captured).
pub fn run(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("spawn {cmd:?}: {e}"))
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A per-test directory under /tmp named after the test; on drop, everything mounted below it is
/// unmounted (deepest first) and the tree is removed.
pub struct TestDir {
    pub path: PathBuf,
}

impl TestDir {
    pub fn new(test_name: &str) -> TestDir {
        let path =
            std::env::temp_dir().join(format!("berth-test-{test_name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        TestDir { path }
    }
    pub fn join(&self, p: impl AsRef<Path>) -> PathBuf {
        self.path.join(p)
    }
}

impl Drop for TestDir {
    fn drop(&mut self) {
        unmount_below(&self.path);
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// Unmount every mount point at or below `root`, deepest first (lazy, so a busy mount still goes).
pub fn unmount_below(root: &Path) {
    let Ok(info) = std::fs::read_to_string("/proc/self/mountinfo") else {
        return;
    };
    let root = root.to_string_lossy().into_owned();
    let mut points: Vec<String> = info
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .map(unescape_mountinfo)
        .filter(|p| p == &root || p.starts_with(&format!("{root}/")))
        .collect();
    points.sort_by_key(|p| std::cmp::Reverse(p.len()));
    for p in points {
        let _ = rustix::mount::unmount(p.as_str(), rustix::mount::UnmountFlags::DETACH);
    }
}

fn unescape_mountinfo(s: &str) -> String {
    // mountinfo escapes space, tab, newline and backslash as \ooo.
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len() + 0
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            out.push((b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0'));
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Kills (SIGKILL) and reaps a process this test started, by PID, on drop.
pub struct ProcGuard {
    pub pid: i32,
    child: Option<Child>,
}

impl ProcGuard {
    pub fn from_child(child: Child) -> ProcGuard {
        ProcGuard {
            pid: child.id() as i32,
            child: Some(child),
        }
    }
    /// A PID this test caused to exist but did not fork itself (e.g. from a pid file).
    pub fn from_pid(pid: i32) -> ProcGuard {
        ProcGuard { pid, child: None }
    }
    pub fn child(&mut self) -> &mut Child {
        self.child.as_mut().expect("guard holds a Child")
    }
}

impl Drop for ProcGuard {
    fn drop(&mut self) {
        if let Some(c) = self.child.as_mut() {
            if let Ok(None) = c.try_wait() {
                let _ = c.kill();
            }
            let _ = c.wait();
        } else if self.pid > 0 {
            // SAFETY: plain kill(2) on a pid the test recorded.
            unsafe { libc::kill(self.pid, libc::SIGKILL) };
        }
    }
}

/// Unmounts a path on drop.
pub struct MountGuard(pub PathBuf);

impl Drop for MountGuard {
    fn drop(&mut self) {
        let _ = rustix::mount::unmount(self.0.as_path(), rustix::mount::UnmountFlags::DETACH);
    }
}

/// Removes cgroup directories on drop (after killing the PIDs still in them, which this test
/// started); children before parents.
pub struct CgroupGuard(pub Vec<PathBuf>);

impl Drop for CgroupGuard {
    fn drop(&mut self) {
        let mut dirs = self.0.clone();
        dirs.sort_by_key(|p| std::cmp::Reverse(p.as_os_str().len()));
        for d in dirs {
            remove_cgroup_tree(&d);
        }
    }
}

pub fn remove_cgroup_tree(d: &Path) {
    if let Ok(rd) = std::fs::read_dir(d) {
        for e in rd.flatten() {
            if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                remove_cgroup_tree(&e.path());
            }
        }
    }
    for _ in 0..50 {
        if let Ok(procs) = std::fs::read_to_string(d.join("cgroup.procs")) {
            for pid in procs.lines().filter_map(|l| l.trim().parse::<i32>().ok()) {
                // SAFETY: kill(2) of a process inside the test's own cgroup.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
        }
        match std::fs::remove_dir(d) {
            Ok(()) => return,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
            Err(_) => std::thread::sleep(std::time::Duration::from_millis(20)),
        }
    }
}

/// Deletes a network link (veth, bridge) on drop.
pub struct LinkGuard(pub String);

impl Drop for LinkGuard {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["link", "del", &self.0]).output();
    }
}

/// Deletes a named network namespace on drop.
pub struct NetnsGuard(pub String);

impl Drop for NetnsGuard {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).output();
    }
}

/// The host's static busybox (package busybox-static).
pub fn busybox() -> PathBuf {
    for p in ["/bin/busybox", "/usr/bin/busybox"] {
        let p = PathBuf::from(p);
        if p.is_file() {
            return p;
        }
    }
    panic!("busybox not found: install busybox-static (.ci/run does)");
}

/// Make a busybox rootfs at `rootfs`: the static binary, its applet symlinks, and the usual dirs.
pub fn busybox_rootfs(rootfs: &Path) {
    for d in [
        "bin", "proc", "sys", "dev", "etc", "tmp", "usr/bin", "sbin", "root",
    ] {
        std::fs::create_dir_all(rootfs.join(d)).unwrap();
    }
    let bb = rootfs.join("bin/busybox");
    std::fs::copy(busybox(), &bb).unwrap();
    // List applets with the host's busybox, not the fresh copy: exec'ing a file just written can
    // fail with ETXTBSY while another test thread forks with the write fd briefly inherited.
    let list = run(Command::new(busybox()).arg("--list"));
    for applet in stdout(&list)
        .lines()
        .filter(|a| !a.is_empty() && *a != "busybox")
    {
        let _ = std::os::unix::fs::symlink("busybox", rootfs.join("bin").join(applet));
    }
    std::fs::write(
        rootfs.join("etc/passwd"),
        "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
    )
    .unwrap();
    std::fs::write(rootfs.join("etc/group"), "root:x:0:\nnogroup:x:65534:\n").unwrap();
}

/// Make an OCI bundle (`config.json` + busybox `rootfs/`) in `dir` running `args`. The config is
/// the shape `runc spec` writes (namespaces, default mounts, masked paths), without a terminal.
pub fn busybox_bundle(dir: &Path, args: &[&str]) -> PathBuf {
    busybox_rootfs(&dir.join("rootfs"));
    let config = serde_json::json!({
        "ociVersion": "1.0.2",
        "process": {
            "terminal": false,
            "user": {"uid": 0, "gid": 0},
            "args": args,
            "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
            "cwd": "/",
            "capabilities": {
                "bounding": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
                "effective": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
                "permitted": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
                "ambient": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
            },
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": true
        },
        "root": {"path": "rootfs", "readonly": true},
        "hostname": "berth-test",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
            {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]},
            {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup", "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]}
        ],
        "linux": {
            "resources": {"devices": [{"allow": false, "access": "rwm"}]},
            "namespaces": [{"type": "pid"}, {"type": "network"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}, {"type": "cgroup"}],
            "maskedPaths": ["/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
                            "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi"],
            "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
        }
    });
    std::fs::write(
        dir.join("config.json"),
        serde_json::to_vec_pretty(&config).unwrap(),
    )
    .unwrap();
    dir.to_path_buf()
}

/// A name for kernel objects (cgroups, links, container ids) unique to this test and process.
pub fn unique_name(test_name: &str) -> String {
    format!(
        "berth-{}-{}",
        test_name.replace('_', "-"),
        std::process::id()
    )
}

// ---- OCI runtime tests: berth's runc role, or real runc with BERTH_TEST_RUNTIME=runc ----

/// The runtime under test: berth's `runc` role, or the real runc when BERTH_TEST_RUNTIME=runc
/// (so the black-box runtime suite itself is known to be right).
pub fn runtime_bin() -> PathBuf {
    match std::env::var("BERTH_TEST_RUNTIME").as_deref() {
        Ok("runc") => PathBuf::from("/usr/sbin/runc"),
        Ok("") | Err(_) | Ok("berth") => role("runc"),
        Ok(other) => PathBuf::from(other),
    }
}

/// True when the suite runs against the real runc rather than berth.
pub fn testing_real_runc() -> bool {
    std::env::var("BERTH_TEST_RUNTIME")
        .map(|v| v == "runc")
        .unwrap_or(false)
}

/// Orphaned container inits are reparented to the nearest subreaper: make that this test
/// process, so that it can reap (by pid) the inits its tests created. Pid 1 here does not reap.
pub fn become_subreaper() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        // SAFETY: prctl with integer arguments.
        unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    });
}

/// Reap `pid` if it is (now) our child and has exited; never blocks on other children.
pub fn reap(pid: i32) {
    if pid <= 0 {
        return;
    }
    for _ in 0..200 {
        let mut st = 0;
        // SAFETY: waitpid on one specific pid with WNOHANG.
        let r = unsafe { libc::waitpid(pid, &mut st, libc::WNOHANG) };
        if r != 0 {
            return; // reaped, or not our child (ECHILD)
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// A runtime with a private --root per test.
pub struct Runtime {
    pub bin: PathBuf,
    pub root: PathBuf,
}

impl Runtime {
    pub fn new(dir: &TestDir) -> Runtime {
        become_subreaper();
        Runtime {
            bin: runtime_bin(),
            root: dir.join("state"),
        }
    }
    pub fn cmd(&self) -> Command {
        let mut c = Command::new(&self.bin);
        c.arg("--root").arg(&self.root);
        c
    }
    /// Run the runtime with `args` to completion; stdin is /dev/null. stdout and stderr go
    /// through files, not pipes: a container started by `create` or `run -d` inherits them
    /// and keeps them open, so a pipe would never reach EOF.
    pub fn run(&self, args: &[&str]) -> Output {
        use std::sync::atomic::{AtomicU64, Ordering};
        static SEQ: AtomicU64 = AtomicU64::new(0);
        let n = SEQ.fetch_add(1, Ordering::Relaxed);
        let dir = self.root.parent().unwrap_or(Path::new("/tmp")).join("out");
        std::fs::create_dir_all(&dir).unwrap();
        let (po, pe) = (dir.join(format!("{n}.out")), dir.join(format!("{n}.err")));
        let (fo, fe) = (
            std::fs::File::create(&po).unwrap(),
            std::fs::File::create(&pe).unwrap(),
        );
        let status = self
            .cmd()
            .args(args)
            .stdin(std::process::Stdio::null())
            .stdout(fo)
            .stderr(fe)
            .status()
            .unwrap_or_else(|e| panic!("spawn {:?}: {e}", self.bin));
        let out = Output {
            status,
            stdout: std::fs::read(&po).unwrap(),
            stderr: std::fs::read(&pe).unwrap(),
        };
        let _ = std::fs::remove_file(&po);
        let _ = std::fs::remove_file(&pe);
        out
    }
    /// Like `run`, asserting success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let o = self.run(args);
        assert!(
            o.status.success(),
            "{:?} {args:?} failed ({:?}): {}{}",
            self.bin,
            o.status,
            stderr(&o),
            stdout(&o)
        );
        stdout(&o)
    }
    pub fn state(&self, id: &str) -> serde_json::Value {
        serde_json::from_str(&self.ok(&["state", id])).expect("state is JSON")
    }
    /// Poll `state` until the status is `want` (or fail after ~5 s).
    pub fn wait_status(&self, id: &str, want: &str) -> serde_json::Value {
        for _ in 0..500 {
            let s = self.state(id);
            if s["status"] == want {
                return s;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        panic!(
            "container {id} never reached status {want}: {}",
            self.state(id)
        );
    }
}

/// Deletes (--force) a container on drop and reaps its init if it was reparented to us.
pub struct ContainerGuard<'a> {
    pub rt: &'a Runtime,
    pub id: String,
    pub pid: i32,
}

impl<'a> ContainerGuard<'a> {
    pub fn new(rt: &'a Runtime, id: &str) -> ContainerGuard<'a> {
        ContainerGuard {
            rt,
            id: id.to_string(),
            pid: 0,
        }
    }
    /// Record the init pid (from `state`) so the drop can reap it.
    pub fn track(&mut self) -> i32 {
        let o = self.rt.run(&["state", &self.id]);
        if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&o.stdout) {
            self.pid = v["pid"].as_i64().unwrap_or(0) as i32;
        }
        self.pid
    }
}

impl Drop for ContainerGuard<'_> {
    fn drop(&mut self) {
        if self.pid == 0 {
            self.track();
        }
        let _ = self.rt.run(&["delete", "--force", &self.id]);
        reap(self.pid);
    }
}

/// Edit a bundle's config.json in place.
pub fn edit_config(bundle: &Path, f: impl FnOnce(&mut serde_json::Value)) {
    let p = bundle.join("config.json");
    let mut v: serde_json::Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
    f(&mut v);
    std::fs::write(&p, serde_json::to_vec_pretty(&v).unwrap()).unwrap();
}

/// A container id unique to this test process (runc ids allow [\w+-.]).
pub fn container_id(test_name: &str) -> String {
    format!("{}-{}", test_name.replace('_', "-"), std::process::id())
}

/// Mount points (from /proc/self/mountinfo) at or below `root`: a test leaves none behind.
pub fn mounts_below(root: &Path) -> Vec<String> {
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let r = root.to_string_lossy().into_owned();
    info.lines()
        .filter_map(|l| l.split(' ').nth(4))
        .map(unescape_mountinfo)
        .filter(|p| p == &r || p.starts_with(&format!("{r}/")))
        .collect()
}

/// After a test's berth dockerd: SIGKILL every shim and container init it left under
/// `exec_root/shims` (by the pids in their pid files: shims outlive the daemon by design, so a
/// failed test would leave them running) and remove their cgroups (`docker/<id>`).
pub fn kill_berth_shims(exec_root: &Path) {
    let Ok(rd) = std::fs::read_dir(exec_root.join("shims")) else {
        return;
    };
    for e in rd.flatten() {
        for f in ["init.pid", "shim.pid"] {
            if let Some(pid) = std::fs::read_to_string(e.path().join(f))
                .ok()
                .and_then(|s| s.trim().parse::<i32>().ok())
                .filter(|&p| p > 0)
            {
                // SAFETY: kill(2) of a process this test's daemon started.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
        }
        let id = e.file_name().to_string_lossy().into_owned();
        if let Ok(ctrls) = std::fs::read_dir("/sys/fs/cgroup") {
            for ctrl in ctrls.flatten() {
                if let Ok(rd) = std::fs::read_dir(ctrl.path().join("docker")) {
                    for c in rd
                        .flatten()
                        .filter(|c| c.file_name().to_string_lossy().starts_with(&id))
                    {
                        remove_cgroup_tree(&c.path());
                    }
                }
            }
        }
    }
}
