//! The runc commands that work through a container's cgroup — pause, resume, update, events, ps —
//! plus features, cgroup creation and removal by create/delete, kill --all, and seccomp profiles
//! in real containers. Black box: the built binary through its `runc` link, or the real runc with
//! BERTH_TEST_RUNTIME=runc (the suite is meant to pass against both). Pure cgroup v2 runs in a
//! qemu guest at the end.

mod common;

use common::{busybox_bundle, require_root, role, stderr, stdout, CgroupGuard, TestDir};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn real_runc() -> bool {
    std::env::var("BERTH_TEST_RUNTIME")
        .map(|v| v == "runc")
        .unwrap_or(false)
}

fn runtime_bin() -> PathBuf {
    match std::env::var("BERTH_TEST_RUNTIME").as_deref() {
        Ok("runc") => PathBuf::from("/usr/sbin/runc"),
        Ok("") | Err(_) | Ok("berth") => role("runc"),
        Ok(other) => PathBuf::from(other),
    }
}

/// Orphaned container inits come back to us to be reaped (pid 1 here does not reap).
fn become_subreaper() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    // SAFETY: prctl with integer arguments.
    ONCE.call_once(|| unsafe {
        libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    });
}

fn reap(pid: i32) {
    for _ in 0..300 {
        let mut st = 0;
        // SAFETY: waitpid on one pid, WNOHANG.
        let r = unsafe { libc::waitpid(pid, &mut st, libc::WNOHANG) };
        if r != 0 {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// One container of one test: its bundle, a private --root, and guards that delete it, reap its
/// init and remove its cgroup whatever happens.
struct Ctr {
    id: String,
    root: PathBuf,
    bundle: PathBuf,
    pid: i32,
    /// The absolute cgroupsPath the test gave it ("/berth-<test>-<pid>").
    cgroup: String,
    _cg: CgroupGuard,
    dir: TestDir,
}

impl Ctr {
    /// A busybox bundle running `args` in cgroup "/<unique name>", with `edit` applied to the config.
    fn new(test: &str, args: &[&str], edit: impl FnOnce(&mut Value)) -> Ctr {
        require_root();
        become_subreaper();
        let dir = TestDir::new(&format!("rcg-{test}"));
        let bundle = busybox_bundle(&dir.join("bundle"), args);
        let name = common::unique_name(test);
        let cgroup = format!("/{name}");
        let mut cfg: Value =
            serde_json::from_slice(&std::fs::read(bundle.join("config.json")).unwrap()).unwrap();
        cfg["linux"]["cgroupsPath"] = json!(cgroup);
        edit(&mut cfg);
        std::fs::write(
            bundle.join("config.json"),
            serde_json::to_vec_pretty(&cfg).unwrap(),
        )
        .unwrap();
        let guard = CgroupGuard(hierarchies().into_iter().map(|h| h.join(&name)).collect());
        Ctr {
            id: name,
            root: dir.join("state"),
            bundle,
            pid: 0,
            cgroup,
            _cg: guard,
            dir,
        }
    }

    fn cmd(&self) -> Command {
        let mut c = Command::new(runtime_bin());
        c.arg("--root").arg(&self.root);
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        common::run(self.cmd().args(args).stdin(Stdio::null()))
    }

    fn ok(&self, args: &[&str]) -> String {
        let o = self.run(args);
        assert!(
            o.status.success(),
            "runc {args:?} failed ({}): {}{}",
            o.status,
            stderr(&o),
            stdout(&o)
        );
        stdout(&o)
    }

    /// `run -d`, with the container's stdio on files (a pipe would be held open by it).
    fn start(&mut self) {
        let out = std::fs::File::create(self.dir.join("out")).unwrap();
        let err = std::fs::File::create(self.dir.join("err")).unwrap();
        let st = self
            .cmd()
            .args(["run", "-d", "--bundle"])
            .arg(&self.bundle)
            .arg(&self.id)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .status()
            .unwrap();
        let err = std::fs::read_to_string(self.dir.join("err")).unwrap_or_default();
        assert!(st.success(), "run -d failed ({st}): {err}");
        self.pid = self.state()["pid"].as_i64().unwrap() as i32;
    }

    fn output(&self) -> String {
        std::fs::read_to_string(self.dir.join("out")).unwrap_or_default()
    }

    fn state(&self) -> Value {
        serde_json::from_str(&self.ok(&["state", &self.id])).unwrap()
    }

    /// The container's directory for a v1 controller ("memory") or the unified one ("").
    fn dir_of(&self, controller: &str) -> PathBuf {
        let base = if controller.is_empty() {
            PathBuf::from("/sys/fs/cgroup/unified")
        } else {
            PathBuf::from("/sys/fs/cgroup").join(controller)
        };
        base.join(self.cgroup.trim_start_matches('/'))
    }
}

impl Drop for Ctr {
    fn drop(&mut self) {
        let _ = self
            .cmd()
            .args(["delete", "--force", &self.id])
            .stdin(Stdio::null())
            .output();
        if self.pid > 0 {
            reap(self.pid);
        }
    }
}

/// Every cgroup hierarchy mounted under /sys/fs/cgroup (v1 controllers and the unified one).
fn hierarchies() -> Vec<PathBuf> {
    let mut out = Vec::new();
    if Path::new("/sys/fs/cgroup/cgroup.controllers").exists() {
        out.push(PathBuf::from("/sys/fs/cgroup"));
    }
    for e in std::fs::read_dir("/sys/fs/cgroup").unwrap().flatten() {
        if e.path().join("cgroup.procs").exists() {
            out.push(e.path());
        }
    }
    out
}

fn read(p: &Path, file: &str) -> String {
    std::fs::read_to_string(p.join(file))
        .unwrap_or_else(|e| panic!("read {}: {e}", p.join(file).display()))
        .trim()
        .to_string()
}

fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn create_puts_the_init_in_every_hierarchy_and_delete_removes_them() {
    let mut c = Ctr::new("cgcreate", &["sleep", "1000"], |cfg| {
        cfg["linux"]["resources"]["memory"] = json!({"limit": 100 << 20});
        cfg["linux"]["resources"]["pids"] = json!({"limit": 30});
        cfg["linux"]["resources"]["cpu"] = json!({"shares": 256});
    });
    c.start();
    let own = std::fs::read_to_string(format!("/proc/{}/cgroup", c.pid)).unwrap();
    for line in own.lines() {
        let path = line.splitn(3, ':').nth(2).unwrap();
        // With a cgroup namespace the init sees "/" for its own cgroups.
        assert!(path == "/" || path.ends_with(&c.id), "{line}");
    }
    assert_eq!(
        read(&c.dir_of("memory"), "memory.limit_in_bytes"),
        (100u64 << 20).to_string()
    );
    assert_eq!(read(&c.dir_of("pids"), "pids.max"), "30");
    assert_eq!(read(&c.dir_of("cpu"), "cpu.shares"), "256");
    assert!(read(&c.dir_of("pids"), "cgroup.procs")
        .lines()
        .any(|l| l == c.pid.to_string()));
    // The device list is the spec's deny-all plus the devices every container gets.
    let devices = read(&c.dir_of("devices"), "devices.list");
    assert!(
        devices.contains("c 1:3 rwm")
            && devices.contains("c 136:* rwm")
            && !devices.contains("a *:* rwm"),
        "{devices}"
    );
    c.ok(&["kill", &c.id, "KILL"]);
    wait_until("stopped", || c.state()["status"] == "stopped");
    c.ok(&["delete", &c.id]);
    reap(c.pid);
    for h in hierarchies() {
        assert!(
            !h.join(c.cgroup.trim_start_matches('/')).exists(),
            "cgroup left in {}",
            h.display()
        );
    }
}

#[test]
fn pause_and_resume_freeze_the_container() {
    let mut c = Ctr::new(
        "cgpause",
        &[
            "sh",
            "-c",
            "i=0; while :; do i=$((i+1)); echo $i > /dev/shm/n; sleep 0.01; done",
        ],
        |_| {},
    );
    c.start();
    let freezer = c.dir_of("freezer");
    let st = c.run(&["resume", &c.id]);
    assert!(
        !st.status.success() && stderr(&st).contains("container not paused"),
        "{}",
        stderr(&st)
    );
    c.ok(&["pause", &c.id]);
    assert_eq!(c.state()["status"], "paused");
    assert_eq!(read(&freezer, "freezer.state"), "FROZEN");
    let list = c.ok(&["list"]);
    assert!(
        list.lines()
            .any(|l| l.starts_with(&c.id) && l.contains("paused")),
        "{list}"
    );
    // Frozen means frozen: the counter in the container's /dev/shm does not move.
    let shm = format!("/proc/{}/root/dev/shm/n", c.pid);
    let a = std::fs::read_to_string(&shm).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(std::fs::read_to_string(&shm).unwrap(), a);
    c.ok(&["resume", &c.id]);
    assert_eq!(c.state()["status"], "running");
    assert_eq!(read(&freezer, "freezer.state"), "THAWED");
    wait_until("the counter to move", || {
        std::fs::read_to_string(&shm)
            .map(|s| s != a)
            .unwrap_or(false)
    });
    c.ok(&["kill", &c.id, "KILL"]);
    wait_until("stopped", || c.state()["status"] == "stopped");
    let st = c.run(&["pause", &c.id]);
    assert!(
        !st.status.success() && stderr(&st).contains("container not running"),
        "{}",
        stderr(&st)
    );
}

#[test]
fn update_flags_change_limits_and_are_remembered() {
    let mut c = Ctr::new("cgupdate", &["sleep", "1000"], |cfg| {
        cfg["linux"]["resources"]["memory"] = json!({"limit": 256 << 20, "swap": 512 << 20});
        cfg["linux"]["resources"]["cpu"] = json!({"quota": 50000, "period": 100000});
    });
    c.start();
    c.ok(&[
        "update",
        "--memory",
        "64m",
        "--memory-swap",
        "128m",
        "--memory-reservation",
        "32m",
        "--cpu-share",
        "512",
        "--cpu-period",
        "200000",
        "--cpuset-cpus",
        "0",
        "--cpuset-mems",
        "0",
        "--pids-limit",
        "10",
        &c.id,
    ]);
    let mem = c.dir_of("memory");
    assert_eq!(
        read(&mem, "memory.limit_in_bytes"),
        (64u64 << 20).to_string()
    );
    assert_eq!(
        read(&mem, "memory.memsw.limit_in_bytes"),
        (128u64 << 20).to_string()
    );
    assert_eq!(
        read(&mem, "memory.soft_limit_in_bytes"),
        (32u64 << 20).to_string()
    );
    let cpu = c.dir_of("cpu");
    assert_eq!(read(&cpu, "cpu.shares"), "512");
    // Period alone: the stored quota stays.
    assert_eq!(read(&cpu, "cpu.cfs_period_us"), "200000");
    assert_eq!(read(&cpu, "cpu.cfs_quota_us"), "50000");
    assert_eq!(read(&c.dir_of("cpuset"), "cpuset.cpus"), "0");
    assert_eq!(read(&c.dir_of("pids"), "pids.max"), "10");
    // Quota alone now: the period given before was remembered.
    c.ok(&["update", "--cpu-quota", "30000", &c.id]);
    assert_eq!(read(&cpu, "cpu.cfs_quota_us"), "30000");
    assert_eq!(read(&cpu, "cpu.cfs_period_us"), "200000");
    // Growing memory past memory+swap works because memsw is raised first.
    c.ok(&["update", "--memory", "300m", "--memory-swap", "600m", &c.id]);
    assert_eq!(
        read(&mem, "memory.limit_in_bytes"),
        (300u64 << 20).to_string()
    );
    // Refusals name the value and the file, and exit 1.
    let o = c.run(&["update", "--cpuset-cpus", "4095", &c.id]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("cpuset.cpus") && stderr(&o).contains("4095"),
        "{}",
        stderr(&o)
    );
    let o = c.run(&["update", "--memory", "lots", &c.id]);
    assert!(
        !o.status.success() && stderr(&o).contains("invalid value for memory"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn update_blkio_weight_is_written_or_refused_by_name() {
    let mut c = Ctr::new("cgblkio", &["sleep", "1000"], |_| {});
    c.start();
    let blkio = c.dir_of("blkio");
    let o = c.run(&["update", "--blkio-weight", "300", &c.id]);
    if blkio.join("blkio.weight").exists() {
        assert!(o.status.success(), "{}", stderr(&o));
        assert_eq!(read(&blkio, "blkio.weight"), "300");
    } else if blkio.join("blkio.bfq.weight").exists() {
        assert!(o.status.success(), "{}", stderr(&o));
        assert!(
            read(&blkio, "blkio.bfq.weight").contains("300"),
            "{}",
            read(&blkio, "blkio.bfq.weight")
        );
    } else {
        assert!(
            !o.status.success() && stderr(&o).contains("blkio.weight"),
            "{}",
            stderr(&o)
        );
    }
}

#[test]
fn update_from_a_resources_document_on_stdin() {
    let mut c = Ctr::new("cgupdjson", &["sleep", "1000"], |_| {});
    c.start();
    let mut child = c
        .cmd()
        .args(["update", "-r", "-", &c.id])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(br#"{"memory": {"limit": 80000000, "swap": 160000000}, "cpu": {"shares": 300}, "pids": {"limit": 12}}"#).unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        read(&c.dir_of("memory"), "memory.limit_in_bytes"),
        (80000000u64 / 4096 * 4096).to_string()
    );
    assert_eq!(read(&c.dir_of("cpu"), "cpu.shares"), "300");
    assert_eq!(read(&c.dir_of("pids"), "pids.max"), "12");
    let file = c.dir.join("res.json");
    std::fs::write(&file, r#"{"pids": {"limit": 13}}"#).unwrap();
    c.ok(&["update", "--resources", file.to_str().unwrap(), &c.id]);
    assert_eq!(read(&c.dir_of("pids"), "pids.max"), "13");
}

/// Every key path of a JSON value ("data.memory.usage.limit"), for shape comparisons.
fn key_paths(v: &Value, prefix: &str, out: &mut Vec<String>) {
    if let Value::Object(m) = v {
        for (k, x) in m {
            let p = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            if k != "raw" {
                key_paths(x, &p, out);
            }
            out.push(p);
        }
    }
}

#[test]
fn events_stats_prints_one_line_in_runc_shape() {
    let mut c = Ctr::new(
        "cgevents",
        &["sh", "-c", "sleep 1000 & sleep 1000"],
        |cfg| {
            cfg["linux"]["resources"]["memory"] = json!({"limit": 100 << 20});
            cfg["linux"]["resources"]["pids"] = json!({"limit": 40});
        },
    );
    c.start();
    wait_until("two processes", || {
        serde_json::from_str::<Vec<i32>>(&c.ok(&["ps", "-f", "json", &c.id]))
            .map(|v| v.len() == 2)
            .unwrap_or(false)
    });
    let out = c.ok(&["events", "--stats", &c.id]);
    assert_eq!(out.lines().count(), 1, "{out}");
    let e: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(e["type"], "stats");
    assert_eq!(e["id"], json!(c.id));
    let d = &e["data"];
    assert_eq!(d["pids"], json!({"current": 2, "limit": 40}));
    assert_eq!(d["memory"]["usage"]["limit"], json!(100u64 << 20));
    assert!(d["memory"]["usage"]["usage"].as_u64().unwrap() > 0);
    assert!(d["cpu"]["usage"]["total"].as_u64().unwrap() > 0);
    assert!(d["network_interfaces"].is_null());
    // The same fields as runc 1.1's events (this host: v1 hierarchies).
    let mut keys = Vec::new();
    key_paths(&e, "", &mut keys);
    for k in [
        "type",
        "id",
        "data.cpu.usage.total",
        "data.cpu.usage.percpu",
        "data.cpu.usage.kernel",
        "data.cpu.usage.user",
        "data.cpu.throttling",
        "data.cpuset.cpus",
        "data.cpuset.mems",
        "data.cpuset.sched_load_balance",
        "data.memory.usage.limit",
        "data.memory.usage.max",
        "data.memory.usage.failcnt",
        "data.memory.swap.limit",
        "data.memory.kernel.limit",
        "data.memory.kernelTCP.limit",
        "data.memory.raw",
        "data.pids.current",
        "data.pids.limit",
        "data.blkio",
        "data.hugetlb",
        "data.intel_rdt",
        "data.network_interfaces",
    ] {
        assert!(keys.iter().any(|x| x == k), "no {k} in {out}");
    }
    let o = c.run(&["events", "--interval", "0s", &c.id]);
    assert!(
        !o.status.success() && stderr(&o).contains("duration interval must be greater than 0"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn events_interval_streams_and_reports_oom_until_the_container_stops() {
    // After a moment, dd allocates a 64 MiB block buffer in a 16 MiB cgroup: the OOM killer ends
    // dd, the container (its shell) stays.
    let mut c = Ctr::new(
        "cgoom",
        &[
            "sh",
            "-c",
            "sleep 1; dd if=/dev/zero of=/dev/null bs=64M count=1; sleep 1000",
        ],
        |cfg| {
            cfg["linux"]["resources"]["memory"] = json!({"limit": 16 << 20, "swap": 16 << 20});
        },
    );
    c.start();
    let mut ev = c
        .cmd()
        .args(["events", "--interval", "200ms", &c.id])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(ev.stdout.take().unwrap()).lines();
    let mut stats = 0;
    let mut oom = false;
    let start = Instant::now();
    while (stats < 3 || !oom) && start.elapsed() < Duration::from_secs(15) {
        let Some(Ok(l)) = lines.next() else { break };
        let v: Value = serde_json::from_str(&l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"));
        assert_eq!(v["id"], json!(c.id));
        match v["type"].as_str() {
            Some("stats") => stats += 1,
            Some("oom") => {
                assert!(v.get("data").is_none(), "{l}");
                oom = true
            }
            other => panic!("unexpected event type {other:?}: {l}"),
        }
    }
    assert!(stats >= 3 && oom, "stats lines {stats}, oom {oom}");
    // The stream ends by itself once the container is gone (berth: stopped; runc: deleted).
    c.ok(&["kill", &c.id, "KILL"]);
    wait_until("stopped", || c.state()["status"] == "stopped");
    c.ok(&["delete", &c.id]);
    wait_until("events to exit", || ev.try_wait().unwrap().is_some());
}

#[test]
fn ps_shows_the_container_processes_as_table_or_json() {
    let mut c = Ctr::new("cgps", &["sh", "-c", "sleep 1001 & sleep 1002"], |_| {});
    c.start();
    wait_until("both sleeps", || {
        serde_json::from_str::<Vec<i32>>(&c.ok(&["ps", "-f", "json", &c.id]))
            .map(|v| v.len() == 2)
            .unwrap_or(false)
    });
    let pids: Vec<i32> = serde_json::from_str(&c.ok(&["ps", "--format", "json", &c.id])).unwrap();
    assert!(pids.contains(&c.pid));
    let table = c.ok(&["ps", &c.id]);
    let mut lines = table.lines();
    assert!(
        lines.next().unwrap().split_whitespace().any(|t| t == "PID"),
        "{table}"
    );
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 2, "{table}");
    assert!(
        rows.iter().any(|r| r.contains("sleep 1001"))
            && rows.iter().any(|r| r.contains("sleep 1002")),
        "{table}"
    );
    // Arguments after the id go to ps.
    let custom = c.ok(&["ps", &c.id, "-o", "pid,args"]);
    assert!(
        custom.lines().next().unwrap().trim().starts_with("PID"),
        "{custom}"
    );
    assert_eq!(custom.lines().count(), 3, "{custom}");
    let o = c.run(&["ps", "-f", "xml", &c.id]);
    assert!(
        !o.status.success() && stderr(&o).contains("invalid format option"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn kill_all_reaches_every_process_of_the_cgroup() {
    let mut c = Ctr::new(
        "cgkillall",
        &["sh", "-c", "trap '' TERM; sleep 1000 & sleep 1000 & wait"],
        |_| {},
    );
    c.start();
    wait_until("three processes", || {
        serde_json::from_str::<Vec<i32>>(&c.ok(&["ps", "-f", "json", &c.id]))
            .map(|v| v.len() == 3)
            .unwrap_or(false)
    });
    let pids: Vec<i32> = serde_json::from_str(&c.ok(&["ps", "-f", "json", &c.id])).unwrap();
    c.ok(&["kill", "--all", &c.id, "KILL"]);
    wait_until("every process gone", || {
        pids.iter().all(|p| {
            !Path::new(&format!("/proc/{p}")).exists()
                || std::fs::read_to_string(format!("/proc/{p}/stat"))
                    .map(|s| s.contains(") Z "))
                    .unwrap_or(true)
        })
    });
}

#[test]
fn features_describe_cgroups_and_seccomp() {
    require_root();
    let o = common::run(Command::new(runtime_bin()).arg("features"));
    assert!(o.status.success(), "{}", stderr(&o));
    let f: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert!(
        stdout(&o).starts_with("{\n    \""),
        "runc indents with four spaces"
    );
    assert_eq!(f["ociVersionMin"], "1.0.0");
    assert!(f["ociVersionMax"].as_str().unwrap().starts_with("1."));
    assert!(f["hooks"]
        .as_array()
        .unwrap()
        .contains(&json!("createContainer")));
    for o in ["rbind", "ro", "nosuid", "rprivate"] {
        assert!(
            f["mountOptions"].as_array().unwrap().contains(&json!(o)),
            "mount option {o}"
        );
    }
    let l = &f["linux"];
    for ns in ["cgroup", "ipc", "mount", "network", "pid", "user", "uts"] {
        assert!(
            l["namespaces"].as_array().unwrap().contains(&json!(ns)),
            "namespace {ns}"
        );
    }
    assert!(l["capabilities"]
        .as_array()
        .unwrap()
        .contains(&json!("CAP_NET_ADMIN")));
    assert_eq!(l["cgroup"]["v1"], true);
    assert_eq!(l["cgroup"]["v2"], true);
    assert_eq!(l["seccomp"]["enabled"], true);
    for a in [
        "SCMP_ACT_ALLOW",
        "SCMP_ACT_ERRNO",
        "SCMP_ACT_KILL",
        "SCMP_ACT_KILL_PROCESS",
        "SCMP_ACT_LOG",
        "SCMP_ACT_TRACE",
        "SCMP_ACT_TRAP",
    ] {
        assert!(
            l["seccomp"]["actions"]
                .as_array()
                .unwrap()
                .contains(&json!(a)),
            "action {a}"
        );
    }
    assert_eq!(l["seccomp"]["operators"].as_array().unwrap().len(), 7);
    for a in ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"] {
        assert!(
            l["seccomp"]["archs"]
                .as_array()
                .unwrap()
                .contains(&json!(a)),
            "arch {a}"
        );
    }
    if !real_runc() {
        assert_eq!(l["cgroup"]["systemd"], false, "berth has no systemd driver");
        assert_eq!(l["seccomp"]["supportedFlags"], l["seccomp"]["knownFlags"]);
    }
    let o = common::run(Command::new(runtime_bin()).args(["features", "extra"]));
    assert!(!o.status.success());
}

#[test]
fn relative_cgroups_path_is_under_the_runtime_s_own_cgroup() {
    let name = common::unique_name("cgrel");
    let rel = format!("{name}/inner");
    let mut c = Ctr::new("cgrel", &["sleep", "1000"], |cfg| {
        cfg["linux"]["cgroupsPath"] = json!(rel)
    });
    // Our own cgroups, which the runtime we start inherits.
    let own = std::fs::read_to_string("/proc/self/cgroup").unwrap();
    let mut extra = Vec::new();
    for line in own.lines() {
        let mut f = line.splitn(3, ':');
        let (_, ctrls, path) = (f.next().unwrap(), f.next().unwrap(), f.next().unwrap());
        let mount = if ctrls.is_empty() {
            "unified".to_string()
        } else {
            ctrls.split(',').next().unwrap().replace("name=", "")
        };
        extra.push(
            Path::new("/sys/fs/cgroup")
                .join(mount)
                .join(path.trim_start_matches('/'))
                .join(&name),
        );
    }
    let _g = CgroupGuard(extra);
    c.start();
    let mem_own = own
        .lines()
        .find(|l| l.split(':').nth(1) == Some("memory"))
        .unwrap()
        .splitn(3, ':')
        .nth(2)
        .unwrap();
    let dir = Path::new("/sys/fs/cgroup/memory")
        .join(mem_own.trim_start_matches('/'))
        .join(&rel);
    assert!(
        read(&dir, "cgroup.procs")
            .lines()
            .any(|l| l == c.pid.to_string()),
        "init not in {}",
        dir.display()
    );
    c.ok(&["kill", &c.id, "KILL"]);
    wait_until("stopped", || c.state()["status"] == "stopped");
    c.ok(&["delete", &c.id]);
    assert!(!dir.exists());
}

#[test]
fn seccomp_profile_applies_to_init_and_exec_with_and_without_no_new_privs() {
    for nnp in [true, false] {
        let test = if nnp { "cgseccomp-nnp" } else { "cgseccomp" };
        let mut c = Ctr::new(test, &["sh", "-c", "mkdir /dev/shm/a; echo mkdir=$?; cat /proc/self/status | grep ^Seccomp:; sleep 1000"], |cfg| {
            cfg["process"]["noNewPrivileges"] = json!(nnp);
            cfg["linux"]["seccomp"] = json!({
                "defaultAction": "SCMP_ACT_ALLOW",
                "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
                "syscalls": [
                    {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13},
                    {"names": ["no_such_syscall"], "action": "SCMP_ACT_KILL"}
                ]
            });
        });
        c.start();
        wait_until("the init's report", || c.output().contains("Seccomp:"));
        let out = c.output();
        assert!(
            out.contains("mkdir=1") && out.contains("Seccomp:\t2"),
            "nnp={nnp}: {out}"
        );
        let o = c.run(&[
            "exec",
            &c.id,
            "sh",
            "-c",
            "mkdir /dev/shm/b; echo mkdir=$?; ls /dev/shm | wc -l",
        ]);
        assert!(
            stdout(&o).contains("mkdir=1") && stdout(&o).contains('0'),
            "exec nnp={nnp}: {}{}",
            stdout(&o),
            stderr(&o)
        );
        assert!(
            stderr(&o).contains("Permission denied"),
            "EACCES from the profile: {}",
            stderr(&o)
        );
    }
}

// ---- pure cgroup v2: berth runc in a qemu guest ----

fn vm_tool() -> PathBuf {
    PathBuf::from(
        std::env::var("BERTH_INITRAMFS_VM").unwrap_or_else(|_| {
            concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/initramfs-vm").into()
        }),
    )
}

#[test]
fn runc_commands_on_a_pure_cgroup_v2_host() {
    require_root();
    if real_runc() {
        return; // the guest has berth only
    }
    let dir = TestDir::new("rcg-v2-vm");
    let cfg_dir = dir.join("cfg");
    busybox_bundle(&cfg_dir, &["sh", "-c", "echo ready; sleep 1000"]);
    let mut cfg: Value =
        serde_json::from_slice(&std::fs::read(cfg_dir.join("config.json")).unwrap()).unwrap();
    cfg["linux"]["cgroupsPath"] = json!("/berth/c1");
    cfg["linux"]["resources"]["memory"] = json!({"limit": 64 << 20, "swap": 96 << 20});
    cfg["linux"]["resources"]["cpu"] = json!({"shares": 1024, "quota": 50000, "period": 100000});
    cfg["linux"]["resources"]["pids"] = json!({"limit": 20});
    cfg["root"]["readonly"] = json!(false);
    let script = format!(
        r#"fail() {{ echo "GUEST-CHECK-FAILED $*"; exit 1; }}
check() {{ echo "check $1 ok"; }}
mkdir -p /b/rootfs/bin /b/rootfs/proc /b/rootfs/sys /b/rootfs/dev /b/rootfs/tmp && cp /bin/busybox /b/rootfs/bin/ || fail copy
for a in sh sleep echo cat mknod head ls wc; do ln -s busybox /b/rootfs/bin/$a; done
cat > /b/config.json <<'CFG'
{cfg}
CFG
cd /b
R="runc --root /run/t"
$R run -d --no-pivot c1 </dev/null >/tmp/c1.out 2>&1 || {{ cat /tmp/c1.out; fail run; }}
D=/sys/fs/cgroup/berth/c1
[ "$(cat $D/memory.max)" = "67108864" ] && check memory_max || fail "memory.max $(cat $D/memory.max)"
[ "$(cat $D/memory.swap.max)" = "33554432" ] && check swap_max || fail "swap $(cat $D/memory.swap.max)"
[ "$(cat $D/cpu.weight)" = "39" ] && check cpu_weight || fail "weight $(cat $D/cpu.weight)"
[ "$(cat $D/cpu.max)" = "50000 100000" ] && check cpu_max || fail "cpu.max $(cat $D/cpu.max)"
[ "$(cat $D/pids.max)" = "20" ] && check pids_max || fail pids
$R pause c1 || fail pause
[ "$(cat $D/cgroup.freeze)" = "1" ] && $R state c1 | grep -q '"paused"' && check paused || fail paused
$R resume c1 || fail resume
$R state c1 | grep -q '"running"' && check resumed || fail resumed
$R update --memory 32m --memory-swap 48m --pids-limit 7 c1 || fail update
[ "$(cat $D/memory.max)" = "33554432" ] && [ "$(cat $D/memory.swap.max)" = "16777216" ] && [ "$(cat $D/pids.max)" = "7" ] && check update || fail "update $(cat $D/memory.max)"
$R events --stats c1 > /tmp/ev || fail events
grep -q '"type":"stats"' /tmp/ev && grep -q '"pids":{{"current":1,"limit":7}}' /tmp/ev && check events || {{ cat /tmp/ev; fail events-content; }}
[ "$($R ps -f json c1)" = "[$(cat $D/cgroup.procs)]" ] && check ps || fail ps
# The eBPF device filter: mknod is allowed (c *:* m), opening 1:11 is not; /dev/null is.
$R exec --cap CAP_MKNOD c1 sh -c 'mknod /tmp/k c 1 11 && echo made; head -c1 /tmp/k' >/tmp/exec.out 2>/tmp/exec.err && fail "kmsg readable"
grep -q made /tmp/exec.out && grep -q "Operation not permitted" /tmp/exec.err && check device_denied || {{ cat /tmp/exec.out /tmp/exec.err; fail device-msg; }}
$R exec c1 sh -c 'echo x > /dev/null' && check device_null || fail null
$R kill c1 KILL; sleep 0.5
$R delete c1 || fail delete
[ ! -e $D ] && check cgroup_removed || fail "cgroup left"
echo GUEST-ALL-OK
"#,
        cfg = serde_json::to_string_pretty(&cfg).unwrap()
    );
    let guest = dir.join("guest.sh");
    std::fs::write(&guest, script).unwrap();
    let out = common::run(
        Command::new(vm_tool())
            .arg("--berth")
            .arg(common::berth_bin())
            .arg("--guest")
            .arg(&guest)
            .args(["--timeout", "300"]),
    );
    let console = stdout(&out) + &stderr(&out);
    for name in [
        "memory_max",
        "swap_max",
        "cpu_weight",
        "cpu_max",
        "pids_max",
        "paused",
        "resumed",
        "update",
        "events",
        "ps",
        "device_denied",
        "device_null",
        "cgroup_removed",
    ] {
        assert!(
            console.contains(&format!("check {name} ok")),
            "guest check {name} failed; console:\n{console}"
        );
    }
    assert!(
        out.status.success() && console.contains("GUEST-ALL-OK"),
        "{console}"
    );
}
