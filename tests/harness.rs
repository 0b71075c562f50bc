//! The harness itself is tested: its bundle runs under the real runc, and its guards clean up
//! after a panicking test.
mod common;
use common::*;
use std::process::Command;

#[test]
fn busybox_bundle_runs_under_real_runc() {
    require_root();
    let t = TestDir::new("bundle_real_runc");
    let bundle = busybox_bundle(
        &t.join("bundle"),
        &["/bin/sh", "-c", "echo hello from $(hostname); exit 3"],
    );
    let id = unique_name("bundle-real-runc");
    let root = t.join("runc-root");
    let o = run(Command::new("runc")
        .arg("--root")
        .arg(&root)
        .args(["run", "--bundle"])
        .arg(&bundle)
        .arg(&id));
    let _ = Command::new("runc")
        .arg("--root")
        .arg(&root)
        .args(["delete", "--force", &id])
        .output();
    assert_eq!(
        stdout(&o),
        "hello from berth-test\n",
        "stderr: {}",
        stderr(&o)
    );
    assert_eq!(o.status.code(), Some(3));
}

#[test]
fn guards_clean_up_when_a_test_panics() {
    require_root();
    let t = TestDir::new("guards_panic");
    let target = t.join("mnt");
    std::fs::create_dir(&target).unwrap();
    let cg_root = std::path::Path::new("/sys/fs/cgroup/pids");
    let cg = if cg_root.is_dir() {
        cg_root.join(unique_name("guard"))
    } else {
        std::path::Path::new("/sys/fs/cgroup").join(unique_name("guard"))
    };
    let (target2, cg2) = (target.clone(), cg.clone());
    let pid = std::thread::spawn(move || {
        let _m = MountGuard(target2.clone());
        rustix::mount::mount(
            "tmpfs",
            target2.as_path(),
            "tmpfs",
            rustix::mount::MountFlags::empty(),
            None,
        )
        .unwrap();
        std::fs::create_dir(&cg2).unwrap();
        let _c = CgroupGuard(vec![cg2.clone()]);
        let child = Command::new("sleep").arg("1000").spawn().unwrap();
        let pid = child.id();
        std::fs::write(cg2.join("cgroup.procs"), pid.to_string()).unwrap();
        let _p = ProcGuard::from_child(child);
        std::panic::panic_any(pid);
    })
    .join()
    .unwrap_err();
    let pid = *pid.downcast_ref::<u32>().unwrap();
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(!mounts.contains(target.to_str().unwrap()), "mount leaked");
    assert!(!cg.exists(), "cgroup leaked");
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "process {pid} leaked"
    );
}
