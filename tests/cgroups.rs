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
    ProcGuard::from_child(
        Command::new("sh")
            .args(["-c", script])
            .stdin(Stdio::piped())
            .spawn()
            .unwrap(),
    )
}

fn read(dir: &Path, file: &str) -> String {
    std::fs::read_to_string(dir.join(file))
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.join(file).display()))
        .trim()
        .to_string()
}

fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn hybrid_host_is_detected_with_a_unified_directory() {
    require_root();
    let (m, _g) = manager("hybrid_detect");
    assert_eq!(m.mode(), Mode::Hybrid);
    let name = unique_name("hybrid_detect");
    for c in [
        "memory",
        "cpu",
        "cpuacct",
        "cpuset",
        "pids",
        "blkio",
        "devices",
        "freezer",
        "name=systemd",
    ] {
        let d = m.path(c).unwrap_or_else(|| panic!("no {c} path"));
        assert!(
            d.starts_with("/sys/fs/cgroup") && d.ends_with(&name),
            "{c}: {}",
            d.display()
        );
    }
    assert_eq!(
        m.path("").unwrap(),
        Path::new("/sys/fs/cgroup/unified").join(&name)
    );
}

#[test]
fn limits_are_written_and_read_back() {
    require_root();
    let (m, _g) = manager("limits");
    let mut child = spawn("exec sleep 1000");
    m.apply(child.pid).unwrap();
    for d in m.paths().values() {
        assert!(
            read(d, "cgroup.procs")
                .lines()
                .any(|l| l == child.pid.to_string()),
            "pid not in {}",
            d.display()
        );
    }
    let r = Resources {
        memory: Some(Memory {
            limit: Some(64 << 20),
            swap: Some(128 << 20),
            reservation: Some(32 << 20),
            ..Default::default()
        }),
        cpu: Some(Cpu {
            shares: Some(512),
            quota: Some(50_000),
            period: Some(100_000),
            cpus: Some("0".into()),
            mems: Some("0".into()),
            ..Default::default()
        }),
        pids: Some(Pids { limit: 20 }),
        ..Default::default()
    };
    m.set(&r).unwrap();
    let mem = m.path("memory").unwrap();
    assert_eq!(
        read(mem, "memory.limit_in_bytes"),
        (64u64 << 20).to_string()
    );
    assert_eq!(
        read(mem, "memory.memsw.limit_in_bytes"),
        (128u64 << 20).to_string()
    );
    assert_eq!(
        read(mem, "memory.soft_limit_in_bytes"),
        (32u64 << 20).to_string()
    );
    let cpu = m.path("cpu").unwrap();
    assert_eq!(read(cpu, "cpu.shares"), "512");
    assert_eq!(read(cpu, "cpu.cfs_quota_us"), "50000");
    assert_eq!(read(cpu, "cpu.cfs_period_us"), "100000");
    assert_eq!(read(m.path("cpuset").unwrap(), "cpuset.cpus"), "0");
    assert_eq!(read(m.path("cpuset").unwrap(), "cpuset.mems"), "0");
    assert_eq!(read(m.path("pids").unwrap(), "pids.max"), "20");
    // The child runs where we put it.
    let allowed = std::fs::read_to_string(format!("/proc/{}/status", child.pid)).unwrap();
    assert!(
        allowed
            .lines()
            .any(|l| l.starts_with("Cpus_allowed_list:") && l.trim().ends_with('0')),
        "{allowed}"
    );

    // Lowering memory+swap below memory is refused by the kernel order we keep: shrink both.
    let r2 = Resources {
        memory: Some(Memory {
            limit: Some(32 << 20),
            swap: Some(48 << 20),
            ..Default::default()
        }),
        ..Default::default()
    };
    m.update(&r2).unwrap();
    assert_eq!(
        read(mem, "memory.limit_in_bytes"),
        (32u64 << 20).to_string()
    );
    assert_eq!(
        read(mem, "memory.memsw.limit_in_bytes"),
        (48u64 << 20).to_string()
    );
    // And growing both again (memsw must go first).
    let r3 = Resources {
        memory: Some(Memory {
            limit: Some(256 << 20),
            swap: Some(512 << 20),
            ..Default::default()
        }),
        ..Default::default()
    };
    m.update(&r3).unwrap();
    assert_eq!(
        read(mem, "memory.memsw.limit_in_bytes"),
        (512u64 << 20).to_string()
    );

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
    let cpus = |c: &str| Resources {
        cpu: Some(Cpu {
            cpus: Some(c.into()),
            ..Default::default()
        }),
        ..Default::default()
    };
    let e = m.update(&cpus("4095")).unwrap_err().to_string();
    assert!(e.contains("cpuset.cpus") && e.contains("\"4095\""), "{e}");
    let mem = Resources {
        memory: Some(Memory {
            limit: Some(100 << 20),
            swap: Some(50 << 20),
            ..Default::default()
        }),
        ..Default::default()
    };
    let e = m.update(&mem).unwrap_err().to_string();
    assert!(
        e.contains("memory.memsw.limit_in_bytes") && e.contains(&format!("\"{}\"", 50u64 << 20)),
        "{e}"
    );
    let shares = Resources {
        cpu: Some(Cpu {
            shares: Some(1),
            ..Default::default()
        }),
        ..Default::default()
    };
    let e = m.update(&shares).unwrap_err().to_string();
    assert!(e.contains("minimum allowed cpu-shares is 2"), "{e}");
    // Block I/O weight: the CFQ file, else BFQ's; with neither the error names blkio.weight.
    let blkio = m.path("blkio").unwrap();
    let w = Resources {
        block_io: Some(BlockIo {
            weight: Some(500),
            ..Default::default()
        }),
        ..Default::default()
    };
    match (
        blkio.join("blkio.weight").exists(),
        blkio.join("blkio.bfq.weight").exists(),
    ) {
        (true, _) => {
            m.update(&w).unwrap();
            assert_eq!(read(blkio, "blkio.weight"), "500");
        }
        (false, true) => {
            m.update(&w).unwrap();
            assert!(
                read(blkio, "blkio.bfq.weight").starts_with("500")
                    || read(blkio, "blkio.bfq.weight").contains("default 500")
            );
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
    assert!(
        e.contains("memory.high") && e.contains("memory controller"),
        "{e}"
    );
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
    let mut child = spawn(&format!(
        "read x; i=0; while :; do i=$((i+1)); echo $i > {}; sleep 0.01; done",
        counter.display()
    ));
    m.apply(child.pid).unwrap();
    writeln!(child.child().stdin.as_mut().unwrap()).unwrap();
    wait_until("the counter to run", || {
        std::fs::read_to_string(&counter)
            .map(|s| s.trim().parse::<u32>().unwrap_or(0) > 3)
            .unwrap_or(false)
    });
    assert_eq!(m.state().unwrap(), FreezerState::Thawed);
    m.freeze().unwrap();
    assert_eq!(m.state().unwrap(), FreezerState::Frozen);
    assert_eq!(read(m.path("freezer").unwrap(), "freezer.state"), "FROZEN");
    let a = std::fs::read_to_string(&counter).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        std::fs::read_to_string(&counter).unwrap(),
        a,
        "counter moved while frozen"
    );
    m.thaw().unwrap();
    assert_eq!(m.state().unwrap(), FreezerState::Thawed);
    wait_until("the counter to move again", || {
        std::fs::read_to_string(&counter)
            .map(|s| s != a)
            .unwrap_or(false)
    });
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
    assert_eq!(
        m.state().unwrap(),
        FreezerState::Thawed,
        "kill_all leaves the cgroup thawed"
    );
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
    let mut child = spawn(&format!(
        "read x; head -c 1000000 /dev/zero > {}; while :; do :; done",
        dir.join("f").display()
    ));
    m.apply(child.pid).unwrap();
    m.set(&Resources {
        memory: Some(Memory {
            limit: Some(64 << 20),
            ..Default::default()
        }),
        pids: Some(Pids { limit: 20 }),
        ..Default::default()
    })
    .unwrap();
    writeln!(child.child().stdin.as_mut().unwrap()).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let s = m.stats().unwrap();
    assert!(
        s.cpu.usage.total > 10_000_000,
        "cpu total {}",
        s.cpu.usage.total
    );
    assert!(!s.cpu.usage.percpu.is_empty());
    assert_eq!(s.memory.usage.limit, 64 << 20);
    assert!(s.memory.usage.usage > 0);
    assert!(!s.memory.raw.is_empty());
    assert_eq!((s.pids.current, s.pids.limit), (1, 20));
    assert!(!s.cpuset.cpus.is_empty());
    assert!(s.hugetlb.contains_key("2MB"), "{:?}", s.hugetlb);
    let j = serde_json::to_value(&s).unwrap();
    for k in [
        "cpu",
        "cpuset",
        "memory",
        "pids",
        "blkio",
        "hugetlb",
        "intel_rdt",
        "network_interfaces",
    ] {
        assert!(j.get(k).is_some(), "no {k} in {j}");
    }
    assert_eq!(j["pids"], serde_json::json!({"current": 1, "limit": 20}));
    child.child().kill().unwrap();
    child.child().wait().unwrap();
    m.destroy().unwrap();
}

#[test]
fn oom_kills_are_counted() {
    require_root();
    let (m, _g) = manager("oom");
    // tail keeps the newline-free stream of zeroes in memory until the OOM killer ends it.
    let mut child = spawn("read x; head -c 200000000 /dev/zero | tail -n 1 >/dev/null; echo done");
    m.apply(child.pid).unwrap();
    m.set(&Resources {
        memory: Some(Memory {
            limit: Some(16 << 20),
            swap: Some(16 << 20),
            ..Default::default()
        }),
        ..Default::default()
    })
    .unwrap();
    assert_eq!(m.oom_kill_count().unwrap(), 0);
    writeln!(child.child().stdin.as_mut().unwrap()).unwrap();
    child.child().wait().unwrap();
    assert!(m.oom_kill_count().unwrap() >= 1, "no OOM kill counted");
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
    assert_eq!(
        unsafe { libc::mknod(c.as_ptr(), libc::S_IFCHR | 0o600, libc::makedev(1, 11)) },
        0
    );
    let (m, _g) = manager("devices");
    let script = format!(
        "read x; head -c1 /dev/zero >/dev/null && echo zero-ok; (exec 3<{}) 2>/dev/null && echo kmsg-ok || echo kmsg-denied",
        node.display()
    );
    let mut child = ProcGuard::from_child(
        Command::new("sh")
            .args(["-c", &script])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    m.apply(child.pid).unwrap();
    m.set(&Resources {
        devices: vec![DeviceCgroup {
            allow: false,
            access: Some("rwm".into()),
            ..Default::default()
        }],
        ..Default::default()
    })
    .unwrap();
    let list = read(m.path("devices").unwrap(), "devices.list");
    let mut lines: Vec<&str> = list.lines().collect();
    lines.sort();
    let mut want = [
        "b *:* m",
        "c *:* m",
        "c 1:3 rwm",
        "c 1:5 rwm",
        "c 1:7 rwm",
        "c 1:8 rwm",
        "c 1:9 rwm",
        "c 10:200 rwm",
        "c 136:* rwm",
        "c 5:0 rwm",
        "c 5:2 rwm",
    ];
    want.sort();
    assert_eq!(lines, want);
    drop(child.child().stdin.take().map(|mut s| s.write_all(b"\n")));
    let out = child.child().wait_with_output_compat();
    assert!(
        out.contains("zero-ok") && out.contains("kmsg-denied"),
        "{out}"
    );
    // Setting the same rules again writes nothing that widens access even for an instant.
    m.set(&Resources {
        devices: vec![DeviceCgroup {
            allow: false,
            access: Some("rwm".into()),
            ..Default::default()
        }],
        ..Default::default()
    })
    .unwrap();
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
    assert!(
        cg.lines()
            .any(|l| l == format!("0::/{}", unique_name("unified"))),
        "{cg}"
    );
    let unified = m.path("").unwrap().to_path_buf();
    if std::fs::read_to_string("/sys/fs/cgroup/unified/cgroup.controllers")
        .unwrap()
        .contains("hugetlb")
    {
        m.set(&Resources {
            hugepage_limits: vec![HugepageLimit {
                page_size: "2MB".into(),
                limit: 4 << 20,
            }],
            ..Default::default()
        })
        .unwrap();
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
        assert!(
            dir.ends_with(want.strip_prefix("/").unwrap()),
            "{key}: {} does not end with {}",
            dir.display(),
            want.display()
        );
    }
    let mut child = spawn("exec sleep 1000");
    m.apply(child.pid).unwrap();
    let nested = Manager::new(Some("pods/../../../x"), &id).unwrap();
    assert!(nested.path("freezer").unwrap().ends_with("x"));
    assert!(!nested
        .path("freezer")
        .unwrap()
        .to_string_lossy()
        .contains(".."));
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

// ---- pure cgroup v2, in a VM ----
//
// This host is hybrid, so the v2 code paths run in a qemu guest booted by
// scripts/initramfs-vm (a pure v2 host with every controller). The guest gets this very
// test binary (stripped, with its dynamic loader and libraries in a tar passed as the "image") and
// runs `v2_guest_entry`, which prints one "check NAME ok|FAILED" line per assertion.

const V2_ENV: &str = "BERTH_CGROUP_V2_GUEST";

fn vm_tool() -> PathBuf {
    PathBuf::from(
        std::env::var("BERTH_INITRAMFS_VM").unwrap_or_else(|_| {
            concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/initramfs-vm").into()
        }),
    )
}

/// A tar with this test binary, the shared libraries it loads and their loader.
fn guest_payload(dir: &Path) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let stage = dir.join("payload");
    std::fs::create_dir_all(&stage).unwrap();
    let bin = stage.join("cgroups-test");
    let stripped = Command::new("strip")
        .arg("-o")
        .arg(&bin)
        .arg(&exe)
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !stripped {
        std::fs::copy(&exe, &bin).unwrap();
    }
    let ldd = common::run(Command::new("ldd").arg(&exe));
    for line in common::stdout(&ldd).lines() {
        // "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x…)" or "/lib64/ld-linux-x86-64.so.2 (0x…)"
        let path = line
            .split("=>")
            .last()
            .unwrap()
            .split_whitespace()
            .next()
            .unwrap_or("");
        if path.starts_with('/') {
            let name = Path::new(path).file_name().unwrap();
            std::fs::copy(path, stage.join(name)).unwrap();
        }
    }
    let tar = dir.join("payload.tar");
    let st = Command::new("tar")
        .arg("-cf")
        .arg(&tar)
        .arg("-C")
        .arg(&stage)
        .arg(".")
        .status()
        .unwrap();
    assert!(st.success());
    tar
}

#[test]
fn pure_cgroup_v2_in_a_vm() {
    require_root();
    let dir = TestDir::new("cg-v2-vm");
    let tar = guest_payload(&dir.path);
    let script = dir.join("guest.sh");
    std::fs::write(
        &script,
        format!(
            "mkdir -p /x && cd /x && tar -xf /berth-image.tar && \
             {V2_ENV}=1 ./ld-linux-x86-64.so.2 --library-path /x ./cgroups-test --exact v2_guest_entry --nocapture --test-threads=1\n"
        ),
    )
    .unwrap();
    let out = common::run(
        Command::new(vm_tool())
            .arg("--image")
            .arg(&tar)
            .arg("--guest")
            .arg(&script)
            .args(["--timeout", "300"]),
    );
    let console = common::stdout(&out) + &common::stderr(&out);
    let checks: Vec<&str> = console
        .lines()
        .filter_map(|l| l.find("check ").map(|i| l[i..].trim()))
        .collect();
    for name in [
        "mode_v2",
        "apply_joins",
        "set_ok",
        "memory_max",
        "memory_swap_max",
        "memory_low",
        "cpu_weight",
        "cpu_max",
        "cpuset_cpus",
        "pids_max",
        "unified_memory_high",
        "io_weight_written_or_named",
        "device_filter_denies_kmsg",
        "device_filter_allows_null",
        "device_filter_replaced",
        "freeze_state",
        "frozen_counter_stops",
        "thaw_resumes",
        "pids_recursive",
        "stats_shape",
        "kill_all_sigkill",
        "destroy_removes",
        "relative_path",
        "refused_swappiness",
        "oom_counted",
    ] {
        assert!(
            checks.contains(&format!("check {name} ok").as_str()),
            "v2 guest check {name} did not pass; console:\n{console}"
        );
    }
    assert!(out.status.success(), "guest failed:\n{console}");
}

/// Runs inside the guest only.
#[test]
fn v2_guest_entry() {
    if std::env::var_os(V2_ENV).is_none() {
        return;
    }
    let mut failed = false;
    let mut check = |name: &str, ok: bool, detail: String| {
        println!(
            "check {name} {}{}",
            if ok { "ok" } else { "FAILED " },
            if ok { String::new() } else { detail }
        );
        failed |= !ok;
    };
    let m = Manager::new(Some("/berth/v2"), "v2").unwrap();
    check(
        "mode_v2",
        m.mode() == Mode::V2 && m.paths().len() == 1,
        format!("{:?} {:?}", m.mode(), m.paths()),
    );
    let d = m.path("").unwrap().to_path_buf();
    let counter = PathBuf::from("/tmp/v2-counter");
    let script = format!(
        "read x; (exec 3</dev/kmsg) 2>/dev/null && echo kmsg-ok || echo kmsg-denied; cat /dev/null && echo null-ok; \
         i=0; while :; do i=$((i+1)); echo $i > {}; sleep 0.01; done",
        counter.display()
    );
    let mut child = Command::new("sh")
        .args(["-c", &script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id() as i32;
    m.apply(pid).unwrap();
    check(
        "apply_joins",
        read(&d, "cgroup.procs") == pid.to_string(),
        read(&d, "cgroup.procs"),
    );
    let deny_all = DeviceCgroup {
        allow: false,
        access: Some("rwm".into()),
        ..Default::default()
    };
    let r = Resources {
        memory: Some(Memory {
            limit: Some(64 << 20),
            swap: Some(96 << 20),
            reservation: Some(16 << 20),
            ..Default::default()
        }),
        cpu: Some(Cpu {
            shares: Some(1024),
            quota: Some(50_000),
            period: Some(100_000),
            cpus: Some("0".into()),
            mems: Some("0".into()),
            ..Default::default()
        }),
        pids: Some(Pids { limit: 20 }),
        devices: vec![deny_all.clone()],
        ..Default::default()
    };
    let res = m.set(&r);
    check("set_ok", res.is_ok(), format!("{res:?}"));
    check(
        "memory_max",
        read(&d, "memory.max") == (64u64 << 20).to_string(),
        read(&d, "memory.max"),
    );
    check(
        "memory_swap_max",
        read(&d, "memory.swap.max") == (32u64 << 20).to_string(),
        read(&d, "memory.swap.max"),
    );
    check(
        "memory_low",
        read(&d, "memory.low") == (16u64 << 20).to_string(),
        read(&d, "memory.low"),
    );
    check(
        "cpu_weight",
        read(&d, "cpu.weight") == "39",
        read(&d, "cpu.weight"),
    );
    check(
        "cpu_max",
        read(&d, "cpu.max") == "50000 100000",
        read(&d, "cpu.max"),
    );
    check(
        "cpuset_cpus",
        read(&d, "cpuset.cpus") == "0",
        read(&d, "cpuset.cpus"),
    );
    check(
        "pids_max",
        read(&d, "pids.max") == "20",
        read(&d, "pids.max"),
    );
    let mut u = Resources::default();
    u.unified.insert("memory.high".into(), "50M".into());
    let res = m.update(&u);
    check(
        "unified_memory_high",
        res.is_ok() && read(&d, "memory.high") == (50u64 << 20).to_string(),
        format!("{res:?}"),
    );
    let w = m.update(&Resources {
        block_io: Some(BlockIo {
            weight: Some(500),
            ..Default::default()
        }),
        ..Default::default()
    });
    let io_ok = match &w {
        Ok(()) => {
            d.join("io.bfq.weight").exists() && read(&d, "io.bfq.weight").contains("500")
                || read(&d, "io.weight").contains("default 4950")
        }
        Err(e) => e.to_string().contains("io.weight") && e.to_string().contains("default 4950"),
    };
    check("io_weight_written_or_named", io_ok, format!("{w:?}"));
    writeln!(child.stdin.as_mut().unwrap()).unwrap();
    let mut first = String::new();
    {
        use std::io::BufRead;
        let mut r = std::io::BufReader::new(child.stdout.take().unwrap());
        r.read_line(&mut first).unwrap();
        let mut second = String::new();
        r.read_line(&mut second).unwrap();
        check(
            "device_filter_denies_kmsg",
            first.trim() == "kmsg-denied",
            first.clone(),
        );
        check(
            "device_filter_allows_null",
            second.trim() == "null-ok",
            second,
        );
    }
    // New rules replace the old program (attach new, detach old).
    let allow_kmsg = DeviceCgroup {
        allow: true,
        kind: Some("c".into()),
        major: Some(1),
        minor: Some(11),
        access: Some("r".into()),
    };
    m.set(&Resources {
        devices: vec![deny_all, allow_kmsg],
        ..Default::default()
    })
    .unwrap();
    let probe = Command::new("sh").args(["-c", &format!("echo $$ > {d}/cgroup.procs; (exec 3</dev/kmsg) 2>/dev/null && echo ok || echo denied", d = d.display())]).output().unwrap();
    check(
        "device_filter_replaced",
        String::from_utf8_lossy(&probe.stdout).trim() == "ok",
        String::from_utf8_lossy(&probe.stdout).into_owned(),
    );
    wait_until("the counter", || {
        std::fs::read_to_string(&counter)
            .map(|s| s.trim().parse::<u32>().unwrap_or(0) > 2)
            .unwrap_or(false)
    });
    m.freeze().unwrap();
    check(
        "freeze_state",
        m.state().unwrap() == FreezerState::Frozen && read(&d, "cgroup.freeze") == "1",
        read(&d, "cgroup.events"),
    );
    let a = std::fs::read_to_string(&counter).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    check(
        "frozen_counter_stops",
        std::fs::read_to_string(&counter).unwrap() == a,
        a.clone(),
    );
    m.thaw().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    check(
        "thaw_resumes",
        m.state().unwrap() == FreezerState::Thawed
            && std::fs::read_to_string(&counter).unwrap() != a,
        String::new(),
    );
    let extra = Command::new("sleep").arg("1000").spawn().unwrap();
    let sub = d.join("sub");
    std::fs::create_dir(&sub).unwrap();
    std::fs::write(sub.join("cgroup.procs"), extra.id().to_string()).unwrap();
    let pids = m.pids().unwrap();
    check(
        "pids_recursive",
        pids.contains(&pid) && pids.contains(&(extra.id() as i32)),
        format!("{pids:?}"),
    );
    let s = m.stats().unwrap();
    check(
        "stats_shape",
        s.memory.usage.limit == 64 << 20
            && s.pids.limit == 20
            && s.pids.current >= 2
            && s.cpu.usage.total > 0,
        serde_json::to_string(&s).unwrap(),
    );
    m.kill_all(9).unwrap();
    child.wait().unwrap();
    let mut extra = extra;
    extra.wait().unwrap();
    wait_until("the cgroup to empty", || m.pids().unwrap().is_empty());
    check("kill_all_sigkill", true, String::new());
    let res = m.destroy();
    check(
        "destroy_removes",
        res.is_ok() && !d.exists() && !sub.exists(),
        format!("{res:?}"),
    );
    // The OOM killer's work is counted (dd touches its whole 64 MiB block buffer).
    let oom = Manager::new(Some("/berth/oom"), "oom").unwrap();
    let mut hog = Command::new("sh")
        .args([
            "-c",
            "read x; dd if=/dev/zero of=/dev/null bs=64M count=1 2>/dev/null",
        ])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    oom.apply(hog.id() as i32).unwrap();
    oom.set(&Resources {
        memory: Some(Memory {
            limit: Some(16 << 20),
            swap: Some(16 << 20),
            ..Default::default()
        }),
        ..Default::default()
    })
    .unwrap();
    writeln!(hog.stdin.as_mut().unwrap()).unwrap();
    hog.wait().unwrap();
    let n = oom.oom_kill_count();
    check(
        "oom_counted",
        n.as_ref().is_ok_and(|&n| n >= 1),
        format!("{n:?}"),
    );
    oom.destroy().unwrap();
    let rel = Manager::new(None, "rel").unwrap();
    check(
        "relative_path",
        rel.path("") == Some(Path::new("/sys/fs/cgroup/rel")),
        format!("{:?}", rel.paths()),
    );
    let e = rel.set(&Resources {
        memory: Some(Memory {
            swappiness: Some(10),
            ..Default::default()
        }),
        ..Default::default()
    });
    check(
        "refused_swappiness",
        e.is_err_and(|e| e.to_string().contains("swappiness")),
        String::new(),
    );
    std::process::exit(if failed { 1 } else { 0 });
}
