//! `berth::runtime::cgroups::Manager` against the real kernel of this hybrid host (v1 controllers
//! plus cgroup2 at /sys/fs/cgroup/unified): children spawned here are put into fresh cgroups,
//! limited, frozen, counted and killed, and the directories are gone afterwards. Pure cgroup v2 is
//! exercised in a VM by tests/runc_cgroups.rs.

mod common;

use berth::oci::runtime::{BlockIo, Cpu, DeviceCgroup, HugepageLimit, Memory, Pids, Resources};
use berth::runtime::cgroups::{FreezerState, Manager, Mode};
use common::{require_root, unique_name, CgroupGuard, ProcGuard, TestDir};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A manager for an absolute cgroup named after the test, with a guard that removes whatever is
/// left of it (declare the guard before the processes, so the processes go first).
fn manager(test: &str) -> (Manager, CgroupGuard) {
    let name = unique_name(test);
    let m = Manager::new(Some(&format!("/{name}")), &name).unwrap();
    let guard = CgroupGuard(m.paths().values().cloned().collect());
    (m, guard)
}

fn spawn(script: &str) -> ProcGuard {
    ProcGuard::from_child(Command::new("sh").args(["-c", script]).stdin(Stdio::piped()).spawn().unwrap())
}

fn read(dir: &Path, file: &str) -> String {
    std::fs::read_to_string(dir.join(file)).unwrap_or_else(|e| panic!("read {}: {e}", dir.join(file).display())).trim().to_string()
}

fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < Duration::from_secs(5), "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn hybrid_host_is_detected_with_a_unified_directory() {
    require_root();
    let (m, _g) = manager("hybrid_detect");
    assert_eq!(m.mode(), Mode::Hybrid);
    let name = unique_name("hybrid_detect");
    for c in ["memory", "cpu", "cpuacct", "cpuset", "pids", "blkio", "devices", "freezer", "name=systemd"] {
        let d = m.path(c).unwrap_or_else(|| panic!("no {c} path"));
        assert!(d.starts_with("/sys/fs/cgroup") && d.ends_with(&name), "{c}: {}", d.display());
    }
    assert_eq!(m.path("").unwrap(), Path::new("/sys/fs/cgroup/unified").join(&name));
}

#[test]
fn limits_are_written_and_read_back() {
    require_root();
    let (m, _g) = manager("limits");
    let mut child = spawn("exec sleep 1000");
    m.apply(child.pid).unwrap();
    for d in m.paths().values() {
        assert!(read(d, "cgroup.procs").lines().any(|l| l == child.pid.to_string()), "pid not in {}", d.display());
    }
    let r = Resources {
        memory: Some(Memory { limit: Some(64 << 20), swap: Some(128 << 20), reservation: Some(32 << 20), ..Default::default() }),
        cpu: Some(Cpu { shares: Some(512), quota: Some(50_000), period: Some(100_000), cpus: Some("0".into()), mems: Some("0".into()), ..Default::default() }),
        pids: Some(Pids { limit: 20 }),
        ..Default::default()
    };
    m.set(&r).unwrap();
    let mem = m.path("memory").unwrap();
    assert_eq!(read(mem, "memory.limit_in_bytes"), (64u64 << 20).to_string());
    assert_eq!(read(mem, "memory.memsw.limit_in_bytes"), (128u64 << 20).to_string());
    assert_eq!(read(mem, "memory.soft_limit_in_bytes"), (32u64 << 20).to_string());
    let cpu = m.path("cpu").unwrap();
    assert_eq!(read(cpu, "cpu.shares"), "512");
    assert_eq!(read(cpu, "cpu.cfs_quota_us"), "50000");
    assert_eq!(read(cpu, "cpu.cfs_period_us"), "100000");
    assert_eq!(read(m.path("cpuset").unwrap(), "cpuset.cpus"), "0");
    assert_eq!(read(m.path("cpuset").unwrap(), "cpuset.mems"), "0");
    assert_eq!(read(m.path("pids").unwrap(), "pids.max"), "20");
    // The child runs where we put it.
    let allowed = std::fs::read_to_string(format!("/proc/{}/status", child.pid)).unwrap();
    assert!(allowed.lines().any(|l| l.starts_with("Cpus_allowed_list:") && l.trim().ends_with('0')), "{allowed}");

    // Lowering memory+swap below memory is refused by the kernel order we keep: shrink both.
    let r2 = Resources { memory: Some(Memory { limit: Some(32 << 20), swap: Some(48 << 20), ..Default::default() }), ..Default::default() };
    m.update(&r2).unwrap();
    assert_eq!(read(mem, "memory.limit_in_bytes"), (32u64 << 20).to_string());
    assert_eq!(read(mem, "memory.memsw.limit_in_bytes"), (48u64 << 20).to_string());
    // And growing both again (memsw must go first).
    let r3 = Resources { memory: Some(Memory { limit: Some(256 << 20), swap: Some(512 << 20), ..Default::default() }), ..Default::default() };
    m.update(&r3).unwrap();
    assert_eq!(read(mem, "memory.memsw.limit_in_bytes"), (512u64 << 20).to_string());

    child.child().kill().unwrap();
    child.child().wait().unwrap();
    m.destroy().unwrap();
    for d in m.paths().values() {
        assert!(!d.exists(), "{} left behind", d.display());
    }
}

#[test]
fn refused_limits_are_errors_naming_file_and_value() {
    require_root();
    let (m, _g) = manager("refused");
    let mut child = spawn("exec sleep 1000");
    m.apply(child.pid).unwrap();
    let cpus = |c: &str| Resources { cpu: Some(Cpu { cpus: Some(c.into()), ..Default::default() }), ..Default::default() };
    let e = m.update(&cpus("4095")).unwrap_err().to_string();
    assert!(e.contains("cpuset.cpus") && e.contains("\"4095\""), "{e}");
    let mem = Resources { memory: Some(Memory { limit: Some(100 << 20), swap: Some(50 << 20), ..Default::default() }), ..Default::default() };
    let e = m.update(&mem).unwrap_err().to_string();
    assert!(e.contains("memory.memsw.limit_in_bytes") && e.contains(&format!("\"{}\"", 50u64 << 20)), "{e}");
    let shares = Resources { cpu: Some(Cpu { shares: Some(1), ..Default::default() }), ..Default::default() };
    let e = m.update(&shares).unwrap_err().to_string();
    assert!(e.contains("minimum allowed cpu-shares is 2"), "{e}");
    // Block I/O weight: the CFQ file, else BFQ's; with neither the error names blkio.weight.
    let blkio = m.path("blkio").unwrap();
    let w = Resources { block_io: Some(BlockIo { weight: Some(500), ..Default::default() }), ..Default::default() };
    match (blkio.join("blkio.weight").exists(), blkio.join("blkio.bfq.weight").exists()) {
        (true, _) => {
            m.update(&w).unwrap();
            assert_eq!(read(blkio, "blkio.weight"), "500");
        }
        (false, true) => {
            m.update(&w).unwrap();
            assert!(read(blkio, "blkio.bfq.weight").starts_with("500") || read(blkio, "blkio.bfq.weight").contains("default 500"));
        }
        (false, false) => {
            let e = m.update(&w).unwrap_err().to_string();
            assert!(e.contains("blkio.weight") && e.contains("\"500\""), "{e}");
        }
    }
    // Unified resources on a hybrid host go to the unified directory; a file it lacks is named.
    let mut u = Resources::default();
    u.unified.insert("memory.high".into(), "1G".into());
    let e = m.update(&u).unwrap_err().to_string();
    assert!(e.contains("memory.high") && e.contains("memory controller"), "{e}");
    child.child().kill().unwrap();
    child.child().wait().unwrap();
    m.destroy().unwrap();
}

#[test]
fn freeze_stops_the_processes_and_thaw_resumes_them() {
    require_root();
    let dir = TestDir::new("cg-freeze");
    let (m, _g) = manager("freeze");
    let counter = dir.join("n");
    let mut child = spawn(&format!("read x; i=0; while :; do i=$((i+1)); echo $i > {}; sleep 0.01; done", counter.display()));
    m.apply(child.pid).unwrap();
    writeln!(child.child().stdin.as_mut().unwrap()).unwrap();
    wait_until("the counter to run", || std::fs::read_to_string(&counter).map(|s| s.trim().parse::<u32>().unwrap_or(0) > 3).unwrap_or(false));
    assert_eq!(m.state().unwrap(), FreezerState::Thawed);
    m.freeze().unwrap();
    assert_eq!(m.state().unwrap(), FreezerState::Frozen);
    assert_eq!(read(m.path("freezer").unwrap(), "freezer.state"), "FROZEN");
    let a = std::fs::read_to_string(&counter).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(std::fs::read_to_string(&counter).unwrap(), a, "counter moved while frozen");
    m.thaw().unwrap();
    assert_eq!(m.state().unwrap(), FreezerState::Thawed);
    wait_until("the counter to move again", || std::fs::read_to_string(&counter).map(|s| s != a).unwrap_or(false));
    m.kill_all(9).unwrap();
    child.child().wait().unwrap();
    wait_until("the cgroup to empty", || m.pids().unwrap().is_empty());
    m.destroy().unwrap();
}

#[test]
fn pids_are_found_in_sub_cgroups_and_kill_all_ends_them() {
    require_root();
    let (m, _g) = manager("pids");
    let mut child = spawn("read x; sleep 1000 & sleep 1000 & wait");
    let mut extra = ProcGuard::from_child(Command::new("sleep").arg("1000").spawn().unwrap());
    m.apply(child.pid).unwrap();
    writeln!(child.child().stdin.as_mut().unwrap()).unwrap();
    wait_until("two sleeps inside", || m.pids().unwrap().len() == 3);
    // A sub-cgroup (as a container's own nesting would make) is part of the container.
    let sub = m.path("pids").unwrap().join("sub");
    std::fs::create_dir(&sub).unwrap();
    std::fs::write(sub.join("cgroup.procs"), extra.pid.to_string()).unwrap();
    let pids = m.pids().unwrap();
    assert_eq!(pids.len(), 4, "{pids:?}");
    assert!(pids.contains(&child.pid) && pids.contains(&extra.pid));
    // destroy refuses while processes are inside, and says where.
    let e = m.destroy().unwrap_err();
    assert_eq!(e.errno(), Some(16), "{e}");
    assert!(e.to_string().contains(&unique_name("pids")), "{e}");
    m.kill_all(9).unwrap();
    child.child().wait().unwrap();
    extra.child().wait().unwrap();
    wait_until("every process gone", || m.pids().unwrap().is_empty());
    assert_eq!(m.state().unwrap(), FreezerState::Thawed, "kill_all leaves the cgroup thawed");
    m.destroy().unwrap();
    assert!(!sub.exists());
    for d in m.paths().values() {
        assert!(!d.exists(), "{} left behind", d.display());
    }
}

#[test]
fn kill_all_with_sigterm_keeps_a_paused_container_paused() {
    require_root();
    let (m, _g) = manager("killpaused");
    let mut child = spawn("exec sleep 1000");
    m.apply(child.pid).unwrap();
    m.freeze().unwrap();
    m.kill_all(15).unwrap();
    assert_eq!(m.state().unwrap(), FreezerState::Frozen);
    m.thaw().unwrap();
    let status = child.child().wait().unwrap();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), Some(15));
    m.destroy().unwrap();
}

#[test]
fn stats_report_usage_and_limits() {
    require_root();
    let dir = TestDir::new("cg-stats");
    let (m, _g) = manager("stats");
    // Page cache written from inside is charged to the new memory cgroup.
    let mut child = spawn(&format!("read x; head -c 1000000 /dev/zero > {}; while :; do :; done", dir.join("f").display()));
    m.apply(child.pid).unwrap();
    m.set(&Resources { memory: Some(Memory { limit: Some(64 << 20), ..Default::default() }), pids: Some(Pids { limit: 20 }), ..Default::default() }).unwrap();
    writeln!(child.child().stdin.as_mut().unwrap()).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let s = m.stats().unwrap();
    assert!(s.cpu.usage.total > 10_000_000, "cpu total {}", s.cpu.usage.total);
    assert!(!s.cpu.usage.percpu.is_empty());
    assert_eq!(s.memory.usage.limit, 64 << 20);
    assert!(s.memory.usage.usage > 0);
    assert!(!s.memory.raw.is_empty());
    assert_eq!((s.pids.current, s.pids.limit), (1, 20));
    assert!(!s.cpuset.cpus.is_empty());
    assert!(s.hugetlb.contains_key("2MB"), "{:?}", s.hugetlb);
    let j = serde_json::to_value(&s).unwrap();
    for k in ["cpu", "cpuset", "memory", "pids", "blkio", "hugetlb", "intel_rdt", "network_interfaces"] {
        assert!(j.get(k).is_some(), "no {k} in {j}");
    }
    assert_eq!(j["pids"], serde_json::json!({"current": 1, "limit": 20}));
    child.child().kill().unwrap();
    child.child().wait().unwrap();
    m.destroy().unwrap();
}

#[test]
fn device_rules_deny_unlisted_devices() {
    require_root();
    let dir = TestDir::new("cg-devices");
    // A device node of our own: 1:11 (kmsg) is not among the devices every container gets.
    let node = dir.join("kmsg");
    let c = std::ffi::CString::new(node.to_str().unwrap()).unwrap();
    // SAFETY: mknod of a character device node in the test's own directory.
    assert_eq!(unsafe { libc::mknod(c.as_ptr(), libc::S_IFCHR | 0o600, libc::makedev(1, 11)) }, 0);
    let (m, _g) = manager("devices");
    let script = format!(
        "read x; head -c1 /dev/zero >/dev/null && echo zero-ok; (exec 3<{}) 2>/dev/null && echo kmsg-ok || echo kmsg-denied",
        node.display()
    );
    let mut child = ProcGuard::from_child(Command::new("sh").args(["-c", &script]).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap());
    m.apply(child.pid).unwrap();
    m.set(&Resources { devices: vec![DeviceCgroup { allow: false, access: Some("rwm".into()), ..Default::default() }], ..Default::default() }).unwrap();
    let list = read(m.path("devices").unwrap(), "devices.list");
    let mut lines: Vec<&str> = list.lines().collect();
    lines.sort();
    let mut want = ["b *:* m", "c *:* m", "c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm", "c 1:8 rwm", "c 1:9 rwm", "c 10:200 rwm", "c 136:* rwm", "c 5:0 rwm", "c 5:2 rwm"];
    want.sort();
    assert_eq!(lines, want);
    drop(child.child().stdin.take().map(|mut s| s.write_all(b"\n")));
    let out = child.child().wait_with_output_compat();
    assert!(out.contains("zero-ok") && out.contains("kmsg-denied"), "{out}");
    // Setting the same rules again writes nothing that widens access even for an instant.
    m.set(&Resources { devices: vec![DeviceCgroup { allow: false, access: Some("rwm".into()), ..Default::default() }], ..Default::default() }).unwrap();
    m.destroy().unwrap();
}

trait WaitOut {
    fn wait_with_output_compat(&mut self) -> String;
}

impl WaitOut for std::process::Child {
    fn wait_with_output_compat(&mut self) -> String {
        use std::io::Read;
        let mut s = String::new();
        self.stdout.take().unwrap().read_to_string(&mut s).unwrap();
        self.wait().unwrap();
        s
    }
}

#[test]
fn unified_directory_of_a_hybrid_host_is_joined_and_holds_hugetlb() {
    require_root();
    let (m, _g) = manager("unified");
    let mut child = spawn("exec sleep 1000");
    m.apply(child.pid).unwrap();
    let cg = std::fs::read_to_string(format!("/proc/{}/cgroup", child.pid)).unwrap();
    assert!(cg.lines().any(|l| l == format!("0::/{}", unique_name("unified"))), "{cg}");
    let unified = m.path("").unwrap().to_path_buf();
    if std::fs::read_to_string("/sys/fs/cgroup/unified/cgroup.controllers").unwrap().contains("hugetlb") {
        m.set(&Resources { hugepage_limits: vec![HugepageLimit { page_size: "2MB".into(), limit: 4 << 20 }], ..Default::default() }).unwrap();
        assert_eq!(read(&unified, "hugetlb.2MB.max"), (4u64 << 20).to_string());
    }
    child.child().kill().unwrap();
    child.child().wait().unwrap();
    m.destroy().unwrap();
    assert!(!unified.exists());
}

#[test]
fn relative_and_default_paths_live_under_our_own_cgroups() {
    require_root();
    let id = unique_name("relative");
    let m = Manager::new(None, &id).unwrap();
    let _g = CgroupGuard(m.paths().values().cloned().collect());
    let own: Vec<(String, String)> = std::fs::read_to_string("/proc/self/cgroup")
        .unwrap()
        .lines()
        .filter_map(|l| {
            let mut f = l.splitn(3, ':');
            f.next();
            Some((f.next()?.to_string(), f.next()?.to_string()))
        })
        .collect();
    for (ctrls, path) in &own {
        let key = ctrls.split(',').next().unwrap();
        let Some(dir) = m.path(key) else { continue };
        let want = PathBuf::from(format!("{}/{id}", path.trim_end_matches('/')));
        assert!(dir.ends_with(want.strip_prefix("/").unwrap()), "{key}: {} does not end with {}", dir.display(), want.display());
    }
    let mut child = spawn("exec sleep 1000");
    m.apply(child.pid).unwrap();
    let nested = Manager::new(Some("pods/../../../x"), &id).unwrap();
    assert!(nested.path("freezer").unwrap().ends_with("x"));
    assert!(!nested.path("freezer").unwrap().to_string_lossy().contains(".."));
    child.child().kill().unwrap();
    child.child().wait().unwrap();
    m.destroy().unwrap();
}

#[test]
fn manager_kept_as_json_still_controls_the_cgroup() {
    require_root();
    let (m, _g) = manager("json");
    let mut child = spawn("exec sleep 1000");
    m.apply(child.pid).unwrap();
    let kept = serde_json::to_string(&m).unwrap();
    let back: Manager = serde_json::from_str(&kept).unwrap();
    assert_eq!(back.pids().unwrap(), vec![child.pid]);
    back.freeze().unwrap();
    assert_eq!(m.state().unwrap(), FreezerState::Frozen);
    back.kill_all(9).unwrap();
    child.child().wait().unwrap();
    back.destroy().unwrap();
    assert!(!m.exists());
}
