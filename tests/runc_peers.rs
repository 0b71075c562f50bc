//! berth's `runc` role as a drop-in runtime under the REAL peers (root): Debian's containerd 1.6
//! (driven with `ctr`, through its runc v2 shim) and Debian's dockerd 20.10 (with its own
//! containerd, driven with the Docker CLI). Each daemon is private to the test (sockets, roots
//! and state under the test's directory) and is stopped by PID.
//!
//! The same tests pass with the real runc: `BERTH_TEST_RUNTIME=runc cargo test --test runc_peers`.
//! The shim runs the runtime as `<bin> --root <RuncRoot>/<namespace> --log <bundle>/log.json
//! --log-format json ...` and reports the last JSON error line of that log.
mod common;
use common::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const IMAGE_TAR: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/docker-save-small.tar"
);
/// The name `ctr images import` gives the fixture's `small:peer`.
const CTR_IMAGE: &str = "docker.io/library/small:peer";

fn kill(pid: i32, sig: i32) {
    if pid > 0 {
        // SAFETY: kill(2) on a pid this test started (or that a daemon it started recorded).
        unsafe { libc::kill(pid, sig) };
    }
}

fn alive(pid: i32) -> bool {
    // A zombie still has /proc/<pid>; its state letter is Z.
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(s) => !s
            .rsplit(')')
            .next()
            .unwrap_or("")
            .trim_start()
            .starts_with('Z'),
        Err(_) => false,
    }
}

/// Run `cmd` with stdin /dev/null and output through files (a detached container may inherit
/// them), killing it after `secs`: a hung peer fails the test instead of hanging it.
fn run_timeout(cmd: &mut Command, secs: u64, scratch: &Path) -> Output {
    use std::sync::atomic::{AtomicU64, Ordering};
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let n = SEQ.fetch_add(1, Ordering::Relaxed);
    std::fs::create_dir_all(scratch).unwrap();
    let (po, pe) = (
        scratch.join(format!("{n}.out")),
        scratch.join(format!("{n}.err")),
    );
    let (fo, fe) = (
        std::fs::File::create(&po).unwrap(),
        std::fs::File::create(&pe).unwrap(),
    );
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(fo)
        .stderr(fe)
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {cmd:?}: {e}"));
    let deadline = Instant::now() + Duration::from_secs(secs);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{cmd:?} did not finish in {secs} s; stderr: {}",
                std::fs::read_to_string(&pe).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let out = Output {
        status,
        stdout: std::fs::read(&po).unwrap(),
        stderr: std::fs::read(&pe).unwrap(),
    };
    let _ = std::fs::remove_file(&po);
    let _ = std::fs::remove_file(&pe);
    out
}

/// Task ids below a shim v2 state tree (`<state>/io.containerd.runtime.v2.task/<ns>/<id>/`).
fn task_dirs(task_root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for ns in std::fs::read_dir(task_root).into_iter().flatten().flatten() {
        out.extend(
            std::fs::read_dir(ns.path())
                .into_iter()
                .flatten()
                .flatten()
                .map(|e| e.path()),
        );
    }
    out
}

/// SIGKILL what a failed test leaves behind in a shim v2 state tree, by recorded PIDs: each
/// task's init (`init.pid`) and its shim (containerd 1.6 writes no shim.pid; the shim is the
/// init's parent, as its subreaper).
fn kill_task_pids(task_root: &Path) {
    for dir in task_dirs(task_root) {
        let Some(init) = std::fs::read_to_string(dir.join("init.pid"))
            .ok()
            .and_then(|s| s.trim().parse::<i32>().ok())
        else {
            continue;
        };
        let ppid = std::fs::read_to_string(format!("/proc/{init}/stat"))
            .ok()
            .and_then(|s| {
                s.rsplit(')')
                    .next()
                    .and_then(|r| r.split_whitespace().nth(1))
                    .and_then(|p| p.parse::<i32>().ok())
            });
        kill(init, libc::SIGKILL);
        if let Some(shim) = ppid {
            if std::fs::read_to_string(format!("/proc/{shim}/comm"))
                .map(|c| c.starts_with("containerd-shim"))
                .unwrap_or(false)
            {
                kill(shim, libc::SIGKILL);
            }
        }
    }
}

/// Stop a daemon by PID: SIGTERM, then SIGKILL after `grace`; reap it.
fn stop_daemon(child: &mut std::process::Child, grace: Duration) {
    let pid = child.id() as i32;
    if let Ok(None) = child.try_wait() {
        kill(pid, libc::SIGTERM);
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
    }
    let _ = child.wait();
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

// ------------------------------------------------------------------------------------------
// containerd 1.6 + ctr

/// A private containerd: its own config (CRI off), gRPC socket, root and state under the test
/// directory; the test's namespace is unique, and the runtime's --root is private (--runc-root).
struct Containerd {
    child: std::process::Child,
    sock: PathBuf,
    ns: String,
    runc_root: PathBuf,
    state: PathBuf,
    // Declared last: dropped after the daemon is stopped, unmounting what is left below it.
    t: TestDir,
}

impl Containerd {
    fn start(name: &str) -> Containerd {
        require_root();
        let t = TestDir::new(name);
        let (sock, root, state) = (t.join("c.sock"), t.join("croot"), t.join("cstate"));
        let config = format!(
            "version = 2\nroot = {root:?}\nstate = {state:?}\ndisabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n\
             [grpc]\n  address = {sock:?}\n[ttrpc]\n  address = \"{}.ttrpc\"\n[debug]\n  address = \"{}\"\n[metrics]\n  address = \"\"\n",
            sock.display(),
            t.join("debug.sock").display(),
        );
        std::fs::write(t.join("config.toml"), config).unwrap();
        let log = std::fs::File::create(t.join("containerd.log")).unwrap();
        let child = Command::new("containerd")
            .arg("-c")
            .arg(t.join("config.toml"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("spawn containerd (Debian package containerd)");
        let c = Containerd {
            child,
            sock,
            ns: unique_name(name),
            runc_root: t.join("runc-root"),
            state,
            t,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if c.sock.exists() && c.ctr(&["version"]).status.success() {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "containerd did not come up: {}",
                c.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let o = c.ctr(&["images", "import", IMAGE_TAR]);
        assert!(
            o.status.success(),
            "ctr images import: {}{}",
            text(&o.stderr),
            text(&o.stdout)
        );
        c
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.t.join("containerd.log")).unwrap_or_default()
    }

    fn ctr(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new("ctr");
        cmd.arg("--address")
            .arg(&self.sock)
            .arg("-n")
            .arg(&self.ns)
            .args(args);
        run_timeout(&mut cmd, 60, &self.t.join("out"))
    }

    /// `ctr run` with the runtime under test and its private root.
    fn ctr_run(&self, flags: &[&str], id: &str, cmd: &[&str]) -> Output {
        let rt = runtime_bin();
        let mut args = vec![
            "run",
            "--runc-binary",
            rt.to_str().unwrap(),
            "--runc-root",
            self.runc_root.to_str().unwrap(),
        ];
        args.extend_from_slice(flags);
        args.push(CTR_IMAGE);
        args.push(id);
        args.extend_from_slice(cmd);
        self.ctr(&args)
    }

    fn ok(&self, args: &[&str]) -> String {
        let o = self.ctr(args);
        assert!(
            o.status.success(),
            "ctr {args:?} failed ({:?}): {}{}",
            o.status,
            text(&o.stderr),
            text(&o.stdout)
        );
        text(&o.stdout)
    }

    /// The STATUS column of `ctr task ls` for `id` ("" when there is no task).
    fn task_status(&self, id: &str) -> String {
        let out = self.ok(&["task", "ls"]);
        out.lines()
            .filter_map(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                (f.len() == 3 && f[0] == id).then(|| f[2].to_string())
            })
            .next()
            .unwrap_or_default()
    }

    fn wait_task_status(&self, id: &str, want: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let s = self.task_status(id);
            if s == want {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "task {id} is {s:?}, never {want}; runtime log: {}",
                self.runtime_log(id)
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The runtime's log.json for container `id` (what the shim reads errors from).
    fn runtime_log(&self, id: &str) -> String {
        let p = self
            .state
            .join("io.containerd.runtime.v2.task")
            .join(&self.ns)
            .join(id)
            .join("log.json");
        std::fs::read_to_string(p).unwrap_or_default()
    }
}

impl Drop for Containerd {
    fn drop(&mut self) {
        // Leftover tasks first: deleted through containerd (so their shims exit), then by the
        // PIDs recorded, then the daemon.
        let task_root = self.state.join("io.containerd.runtime.v2.task");
        for dir in task_dirs(&task_root) {
            if let Some(id) = dir.file_name().and_then(|n| n.to_str()) {
                let mut cmd = Command::new("ctr");
                cmd.args(["--timeout", "10s", "--address"])
                    .arg(&self.sock)
                    .arg("-n")
                    .arg(&self.ns)
                    .args(["task", "delete", "--force", id]);
                let _ = cmd
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status();
            }
        }
        kill_task_pids(&task_root);
        stop_daemon(&mut self.child, Duration::from_secs(10));
        // The containers' cgroups are /<namespace>/<id>: unique to this test.
        if let Ok(ctrls) = std::fs::read_dir("/sys/fs/cgroup") {
            for c in ctrls.flatten() {
                remove_cgroup_tree(&c.path().join(&self.ns));
            }
        }
        remove_cgroup_tree(&Path::new("/sys/fs/cgroup").join(&self.ns));
    }
}

#[test]
fn containerd_run_output_exit_code_and_create_error() {
    let c = Containerd::start("peer_ctr_run");
    let id = container_id("ctr-run");
    let o = c.ctr_run(
        &["--rm"],
        &id,
        &["sh", "-c", "echo hi from $FIXTURE in $(pwd); exit 3"],
    );
    assert_eq!(
        o.status.code(),
        Some(3),
        "stderr: {} runtime log: {}",
        text(&o.stderr),
        c.runtime_log(&id)
    );
    assert_eq!(text(&o.stdout), "hi from small in /data\n");
    assert!(
        !c.ok(&["containers", "ls", "-q"]).contains(&id),
        "--rm removed the container"
    );

    // A create-time error comes back through the runtime's JSON log with runc's words.
    let id2 = container_id("ctr-nosuch");
    let o = c.ctr_run(&["--rm"], &id2, &["/nosuch"]);
    assert!(!o.status.success());
    let err = text(&o.stderr);
    assert!(
        err.contains("OCI runtime create failed")
            && err.contains(r#"exec: "/nosuch": stat /nosuch: no such file or directory"#),
        "{err}"
    );
    let _ = c.ctr(&["containers", "delete", &id2]);
    assert_eq!(c.ok(&["task", "ls", "-q"]).trim(), "", "no task is left");
}

#[test]
fn containerd_detached_task_exec_pause_ps_kill_delete() {
    let c = Containerd::start("peer_ctr_task");
    let id = container_id("ctr-task");
    // The init exits 7 on SIGTERM (a shell as pid 1 would otherwise ignore it).
    let o = c.ctr_run(
        &["-d"],
        &id,
        &[
            "sh",
            "-c",
            "trap 'exit 7' TERM; while :; do sleep 0.1; done",
        ],
    );
    assert!(
        o.status.success(),
        "ctr run -d: {} runtime log: {}",
        text(&o.stderr),
        c.runtime_log(&id)
    );
    c.wait_task_status(&id, "RUNNING");

    let o = c.ctr(&[
        "task",
        "exec",
        "--exec-id",
        "x1",
        &id,
        "sh",
        "-c",
        "echo exec sees $(cat /proc/1/comm); exit 5",
    ]);
    assert_eq!(
        o.status.code(),
        Some(5),
        "exec: {} runtime log: {}",
        text(&o.stderr),
        c.runtime_log(&id)
    );
    assert_eq!(
        text(&o.stdout),
        "exec sees sh\n",
        "exec joins the init's pid namespace"
    );

    // ps goes through the runtime (`ps --format json`): the init's pid is listed.
    let init_pid = c
        .ok(&["task", "ls"])
        .lines()
        .find(|l| l.starts_with(&id))
        .and_then(|l| l.split_whitespace().nth(1).map(str::to_string))
        .unwrap();
    let ps = c.ok(&["task", "ps", &id]);
    assert!(
        ps.lines()
            .any(|l| l.split_whitespace().next() == Some(init_pid.as_str())),
        "task ps lists init {init_pid}: {ps}"
    );

    c.ok(&["task", "pause", &id]);
    c.wait_task_status(&id, "PAUSED");
    c.ok(&["task", "resume", &id]);
    c.wait_task_status(&id, "RUNNING");

    c.ok(&["task", "kill", &id]); // SIGTERM
    c.wait_task_status(&id, "STOPPED");
    let o = c.ctr(&["task", "delete", &id]);
    assert!(o.status.success(), "task delete: {}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("exit code 7"),
        "the init's exit status: {}",
        text(&o.stderr)
    );
    c.ok(&["containers", "delete", &id]);
    assert_eq!(c.ok(&["containers", "ls", "-q"]).trim(), "");
    assert!(!Path::new(&format!("/proc/{init_pid}")).exists() || !alive(init_pid.parse().unwrap()));
    // The runtime's state for the container is gone from its --root.
    let left: Vec<_> = std::fs::read_dir(c.runc_root.join(&c.ns))
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "runtime state left: {left:?}");
}

#[test]
fn containerd_kill_sigkill_and_force_delete_running() {
    let c = Containerd::start("peer_ctr_kill");
    let id = container_id("ctr-kill");
    let o = c.ctr_run(&["-d"], &id, &["sleep", "100"]);
    assert!(o.status.success(), "ctr run -d: {}", text(&o.stderr));
    c.wait_task_status(&id, "RUNNING");
    // A plain SIGTERM does not stop `sleep` as pid 1 (no handler): still running.
    c.ok(&["task", "kill", &id]);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(c.task_status(&id), "RUNNING");
    c.ok(&["task", "kill", "-s", "SIGKILL", &id]);
    c.wait_task_status(&id, "STOPPED");
    let o = c.ctr(&["task", "delete", &id]);
    assert!(
        text(&o.stderr).contains("exit code 137"),
        "{}",
        text(&o.stderr)
    );

    // `task delete --force` of a running task kills and deletes it.
    let o = c.ctr(&["task", "start", "-d", &id]);
    assert!(o.status.success(), "task start: {}", text(&o.stderr));
    c.wait_task_status(&id, "RUNNING");
    c.ok(&["task", "delete", "--force", &id]);
    assert_eq!(c.task_status(&id), "");
    c.ok(&["containers", "delete", &id]);
}

// ------------------------------------------------------------------------------------------
// dockerd 20.10 + the Docker CLI

/// A private Debian dockerd with the runtime under test registered as `berth`.
struct PeerDockerd {
    child: std::process::Child,
    host: String,
    exec: PathBuf,
    data: PathBuf,
    // Declared last: dropped after the daemon is stopped.
    t: TestDir,
}

impl PeerDockerd {
    fn start(name: &str) -> PeerDockerd {
        require_root();
        let t = TestDir::new(name);
        std::fs::create_dir_all(t.join("config")).unwrap();
        let (exec, data) = (t.join("exec"), t.join("data"));
        let host = format!("unix://{}", t.join("docker.sock").display());
        let log = std::fs::File::create(t.join("dockerd.log")).unwrap();
        let rt = runtime_bin();
        let child = Command::new("/usr/sbin/dockerd")
            .args(["-H", &host, "--data-root"])
            .arg(&data)
            .arg("--exec-root")
            .arg(&exec)
            .arg("--pidfile")
            .arg(t.join("pid"))
            .arg("--config-file")
            .arg({
                std::fs::write(t.join("daemon.json"), "{}").unwrap();
                t.join("daemon.json")
            })
            .args([
                "--bridge=none",
                "--iptables=false",
                "--ip-masq=false",
                "--shutdown-timeout",
                "3",
            ])
            .arg(format!("--add-runtime=berth={}", rt.display()))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("spawn dockerd (Debian package docker.io)");
        let d = PeerDockerd {
            child,
            host,
            exec,
            data,
            t,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if d.t.join("docker.sock").exists() && d.docker(&["version"]).status.success() {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "dockerd did not come up: {}",
                d.log()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        d.ok(&["load", "-i", IMAGE_TAR]);
        d
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.t.join("dockerd.log")).unwrap_or_default()
    }

    fn docker(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new(common::daemon::DOCKER_CLI);
        cmd.env("DOCKER_HOST", &self.host)
            .env("DOCKER_CONFIG", self.t.join("config"))
            .args(args);
        run_timeout(&mut cmd, 90, &self.t.join("out"))
    }

    fn ok(&self, args: &[&str]) -> String {
        let o = self.docker(args);
        assert!(
            o.status.success(),
            "docker {args:?} failed ({:?}): {}{}\n{}",
            o.status,
            text(&o.stderr),
            text(&o.stdout),
            self.log_tail()
        );
        text(&o.stdout)
    }

    fn log_tail(&self) -> String {
        let l = self.log();
        let lines: Vec<&str> = l.lines().collect();
        lines[lines.len().saturating_sub(15)..].join("\n")
    }

    /// `docker run --runtime berth --network none <args>`.
    fn run(&self, args: &[&str]) -> Output {
        let mut a = vec!["run", "--runtime", "berth", "--network", "none"];
        a.extend_from_slice(args);
        self.docker(&a)
    }

    fn status(&self, id: &str) -> String {
        self.ok(&["inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", id])
            .trim()
            .to_string()
    }
}

impl Drop for PeerDockerd {
    fn drop(&mut self) {
        let task_root = self
            .exec
            .join("containerd/daemon/io.containerd.runtime.v2.task");
        let containerd_pid = std::fs::read_to_string(self.exec.join("containerd/containerd.pid"))
            .ok()
            .and_then(|s| s.trim().parse::<i32>().ok());
        let ids: Vec<String> = std::fs::read_dir(self.data.join("containers"))
            .map(|d| {
                d.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        stop_daemon(&mut self.child, Duration::from_secs(15));
        // Whatever the daemon left: shims and inits by their recorded PIDs, then its containerd
        // (a child of dockerd, orphaned if dockerd had to be killed).
        kill_task_pids(&task_root);
        if let Some(pid) = containerd_pid {
            if std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .map(|c| c.trim() == "containerd")
                .unwrap_or(false)
            {
                kill(pid, libc::SIGKILL);
            }
        }
        // cgroupfs driver: /docker/<container id>, ids made by this daemon only.
        if let Ok(ctrls) = std::fs::read_dir("/sys/fs/cgroup") {
            for c in ctrls.flatten() {
                for id in &ids {
                    remove_cgroup_tree(&c.path().join("docker").join(id));
                }
            }
        }
        unmount_below(&self.t.path);
    }
}

#[test]
fn dockerd_run_output_and_exit_codes() {
    let d = PeerDockerd::start("peer_dockerd_run");
    let o = d.run(&[
        "--rm",
        "small:peer",
        "sh",
        "-c",
        "echo hi from $FIXTURE in $(pwd); exit 3",
    ]);
    assert_eq!(
        o.status.code(),
        Some(3),
        "{}\n{}",
        text(&o.stderr),
        d.log_tail()
    );
    assert_eq!(text(&o.stdout), "hi from small in /data\n");
    let o = d.run(&["--rm", "small:peer", "echo", "hi"]);
    assert_eq!(
        (o.status.code(), text(&o.stdout).as_str()),
        (Some(0), "hi\n"),
        "{}",
        text(&o.stderr)
    );

    // The CLI maps the runtime's words to exit codes: runc's wording is an interface.
    let o = d.run(&["--rm", "small:peer", "/nosuch"]);
    assert_eq!(o.status.code(), Some(127), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains(r#"exec: "/nosuch": stat /nosuch: no such file or directory"#),
        "{}",
        text(&o.stderr)
    );
    let o = d.run(&["--rm", "small:peer", "nosuch-cmd"]);
    assert_eq!(o.status.code(), Some(127), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains(r#"exec: "nosuch-cmd": executable file not found in $PATH"#),
        "{}",
        text(&o.stderr)
    );
    let o = d.run(&["--rm", "small:peer", "/data/three.txt"]);
    assert_eq!(o.status.code(), Some(126), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains(r#"exec: "/data/three.txt": permission denied"#),
        "{}",
        text(&o.stderr)
    );
    let o = d.run(&["--rm", "small:peer", "/data"]);
    assert_eq!(o.status.code(), Some(126), "{}", text(&o.stderr));
    assert_eq!(d.ok(&["ps", "-aq"]).trim(), "", "no container is left");
}

#[test]
fn dockerd_detached_exec_logs_pause_top_rm() {
    let d = PeerDockerd::start("peer_dockerd_detached");
    let o = d.run(&["-d", "small:peer", "sh", "-c", "echo started; sleep 100"]);
    assert!(o.status.success(), "{}\n{}", text(&o.stderr), d.log_tail());
    let id = text(&o.stdout).trim().to_string();
    assert_eq!(d.status(&id), "running 0");

    let o = d.docker(&[
        "exec",
        &id,
        "sh",
        "-c",
        "echo exec as $(id -u) in $(pwd); exit 4",
    ]);
    assert_eq!(o.status.code(), Some(4), "{}", text(&o.stderr));
    assert_eq!(text(&o.stdout), "exec as 0 in /data\n");
    // dockerd 20.10 reports every exec start failure as 126, with the runtime's words.
    let o = d.docker(&["exec", &id, "/nosuch"]);
    assert_eq!(o.status.code(), Some(126), "{}", text(&o.stderr));
    let said = format!("{}{}", text(&o.stdout), text(&o.stderr));
    assert!(
        said.contains(r#"exec: "/nosuch": stat /nosuch: no such file or directory"#),
        "{said}"
    );

    let deadline = Instant::now() + Duration::from_secs(5);
    while !d.ok(&["logs", &id]).contains("started") {
        assert!(Instant::now() < deadline, "logs never showed the output");
        std::thread::sleep(Duration::from_millis(50));
    }

    let top = d.ok(&["top", &id]);
    assert!(top.contains("sleep 100"), "{top}");

    d.ok(&["pause", &id]);
    assert_eq!(d.status(&id), "paused 0");
    let o = d.docker(&["exec", &id, "true"]);
    assert!(!o.status.success(), "exec into a paused container fails");
    d.ok(&["unpause", &id]);
    assert_eq!(d.status(&id), "running 0");

    d.ok(&["kill", &id]);
    let o = d.docker(&["wait", &id]);
    assert_eq!(text(&o.stdout).trim(), "137");
    d.ok(&["rm", &id]);
    assert_eq!(d.ok(&["ps", "-aq"]).trim(), "");
}

#[test]
fn dockerd_stop_sends_sigterm_then_sigkill() {
    let d = PeerDockerd::start("peer_dockerd_stop");
    // A container that handles SIGTERM: stop returns at once with its own exit code.
    let o = d.run(&[
        "-d",
        "small:peer",
        "sh",
        "-c",
        "trap 'echo got TERM; exit 7' TERM; echo ready; while :; do sleep 0.1; done",
    ]);
    assert!(o.status.success(), "{}\n{}", text(&o.stderr), d.log_tail());
    let term = text(&o.stdout).trim().to_string();
    // And one that ignores it: stop has to SIGKILL it after the timeout.
    let o = d.run(&[
        "-d",
        "small:peer",
        "sh",
        "-c",
        "trap '' TERM; echo ready; while :; do sleep 0.1; done",
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let ignore = text(&o.stdout).trim().to_string();
    for id in [&term, &ignore] {
        let deadline = Instant::now() + Duration::from_secs(5);
        while !d.ok(&["logs", id]).contains("ready") {
            assert!(Instant::now() < deadline, "{id} never became ready");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    let t0 = Instant::now();
    d.ok(&["stop", "-t", "10", &term]);
    let took = t0.elapsed();
    assert!(
        took < Duration::from_secs(5),
        "SIGTERM stopped it at once, not after the timeout: {took:?}"
    );
    assert_eq!(d.status(&term), "exited 7");
    assert!(d.ok(&["logs", &term]).contains("got TERM"));

    let t0 = Instant::now();
    d.ok(&["stop", "-t", "2", &ignore]);
    let took = t0.elapsed();
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_secs(10),
        "SIGKILL after the 2 s timeout: {took:?}"
    );
    assert_eq!(d.status(&ignore), "exited 137");

    // A stopped container starts again under the same runtime.
    d.ok(&["start", &term]);
    assert_eq!(d.status(&term), "running 0");
    d.ok(&["rm", "-f", &term, &ignore]);
    assert_eq!(d.ok(&["ps", "-aq"]).trim(), "");
}

#[test]
fn dockerd_limits_mounts_user_tty_init_update_restart() {
    let d = PeerDockerd::start("peer_dockerd_config");
    let vol = d.t.join("vol");
    std::fs::create_dir_all(&vol).unwrap();
    std::fs::write(vol.join("f"), "volfile\n").unwrap();
    let bind = format!("{}:/vol:ro", vol.display());
    let o = d.run(&[
        "-d",
        "-m",
        "64m",
        "--user",
        "65534:65534",
        "--read-only",
        "-v",
        &bind,
        "--tmpfs",
        "/scratch",
        "small:peer",
        "sleep",
        "100",
    ]);
    assert!(o.status.success(), "{}\n{}", text(&o.stderr), d.log_tail());
    let id = text(&o.stdout).trim().to_string();
    let script = "id -u; cat /sys/fs/cgroup/memory/memory.limit_in_bytes; cat /vol/f; touch /x 2>&1; touch /scratch/y && echo tmpfs-ok";
    let out = d.ok(&["exec", &id, "sh", "-c", script]);
    assert_eq!(
        out,
        "65534\n67108864\nvolfile\ntouch: /x: Read-only file system\ntmpfs-ok\n"
    );

    // `docker update` goes through the runtime's `update`.
    d.ok(&["update", "--memory", "128m", "--memory-swap", "256m", &id]);
    assert_eq!(
        d.ok(&[
            "exec",
            &id,
            "cat",
            "/sys/fs/cgroup/memory/memory.limit_in_bytes"
        ]),
        "134217728\n"
    );

    // restart: kill, delete, create and start again under the same runtime.
    d.ok(&["restart", "-t", "1", &id]);
    assert_eq!(d.status(&id), "running 0");
    d.ok(&["rm", "-f", &id]);

    // A terminal through the runtime's console socket (run -t, exec -t), and stdin through exec -i.
    let o = d.run(&["--rm", "-t", "small:peer", "sh", "-c", "tty; exit 2"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    assert_eq!(text(&o.stdout).trim(), "/dev/pts/0");
    // --init: docker-init is pid 1 and runs the command.
    let o = d.run(&["--rm", "--init", "small:peer", "cat", "/proc/1/comm"]);
    assert_eq!(
        (o.status.code(), text(&o.stdout).as_str()),
        (Some(0), "docker-init\n"),
        "{}",
        text(&o.stderr)
    );
    let o = d.run(&["-d", "small:peer", "sleep", "100"]);
    let id = text(&o.stdout).trim().to_string();
    assert_eq!(d.ok(&["exec", "-t", &id, "tty"]).trim(), "/dev/pts/0");
    // Through coreutils' timeout: a stuck stdin copy fails the test instead of hanging it.
    let mut cmd = Command::new("timeout");
    cmd.env("DOCKER_HOST", &d.host)
        .env("DOCKER_CONFIG", d.t.join("config"))
        .args(["30", common::daemon::DOCKER_CLI, "exec", "-i", &id, "cat"]);
    let out = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(b"piped\n")?;
            c.wait_with_output()
        })
        .unwrap();
    assert_eq!(text(&out.stdout), "piped\n", "{}", text(&out.stderr));
    d.ok(&["rm", "-f", &id]);
    assert_eq!(d.ok(&["ps", "-aq"]).trim(), "");
}
