//! Live restore: the supervisor's process (here the `containerd` role, our test "daemon") dies
//! with `kill -9` while containers run; a new one re-adopts every shim. And a shim killed with
//! `kill -9`: what the supervisor reports.
mod common;
mod supervisor_util;
use berth::supervisor::{AttachOpts, RuntimeConfig, Status, Supervisor};
use common::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use supervisor_util::*;

/// A `containerd` role on a socket under the test dir; killed (SIGKILL) and reaped on drop.
fn start_containerd(
    t: &TestDir,
    gen: u32,
    state: &Path,
    runtime_root: &Path,
) -> (ProcGuard, PathBuf) {
    let sock = t.join("containerd.sock");
    let mut c = Command::new(role("containerd"));
    c.arg("--address")
        .arg(&sock)
        .arg("--root")
        .arg(t.join("croot"))
        .arg("--state")
        .arg(state)
        .arg("--runtime-root")
        .arg(runtime_root);
    if let Some(rt) = runtime_path() {
        c.arg("--runtime").arg(rt);
    }
    let log = std::fs::File::create(t.join(format!("containerd-{gen}.log"))).unwrap();
    c.stdin(Stdio::null()).stdout(Stdio::null()).stderr(log);
    let mut g = ProcGuard::from_child(c.spawn().unwrap());
    wait_for(10, "containerd's socket", || {
        assert!(
            g.child().try_wait().unwrap().is_none(),
            "containerd exited: {}",
            std::fs::read_to_string(t.join(format!("containerd-{gen}.log"))).unwrap()
        );
        std::os::unix::net::UnixStream::connect(&sock).is_ok()
    });
    (g, sock)
}

fn kill9(g: &mut ProcGuard) {
    g.child().kill().unwrap();
    g.child().wait().unwrap();
}

#[test]
fn daemon_killed_with_9_keeps_containers_and_a_new_one_readopts_them() {
    require_root();
    let t = TestDir::new("sup_restore_daemon");
    let (state, rr) = (t.join("state"), t.join("rt"));
    let rt = RuntimeConfig {
        path: runtime_path(),
        root: rr.clone(),
        args: vec![],
    };
    let _shims = ShimGuard {
        exec_root: state.clone(),
        runtimes: vec![rt.clone()],
    };
    let (mut d1, sock) = start_containerd(&t, 1, &state, &rr);
    let sup = Supervisor::remote(&sock);

    let dir = t.join("b1");
    std::fs::create_dir_all(&dir).unwrap();
    let b1 = test_bundle(
        &dir,
        "restore-daemon-b1",
        &["/bin/sh", "-c", "echo started; exec cat"],
    );
    let log = berth::supervisor::LogConfig {
        path: t.join("c1-json.log"),
        max_size: None,
        max_file: 1,
        attrs: Default::default(),
    };
    let opts = berth::supervisor::CreateOpts {
        id: "c1".into(),
        bundle: b1,
        tty: false,
        stdin: true,
        log: Some(log),
        runtime: None,
    };
    block_on_timeout(20, sup.create(opts)).unwrap();
    let io = AttachOpts {
        stdin: true,
        stdout: true,
        stderr: true,
        close_stdin: true,
    };
    let mut a = block_on_timeout(20, sup.attach("c1", None, io)).unwrap();
    block_on_timeout(20, sup.start("c1")).unwrap();
    read_until(&mut a, 10, |o, _| o.contains("started\n"));
    write_stdin(&a, b"one\n");
    read_until(&mut a, 10, |o, _| o.contains("one\n"));

    // A second container that exits while no supervisor runs.
    let dir = t.join("b2");
    std::fs::create_dir_all(&dir).unwrap();
    let b2 = test_bundle(
        &dir,
        "restore-daemon-b2",
        &["/bin/sh", "-c", "sleep 1; exit 42"],
    );
    let opts = berth::supervisor::CreateOpts {
        id: "c2".into(),
        bundle: b2,
        tty: false,
        stdin: false,
        log: None,
        runtime: None,
    };
    block_on_timeout(20, sup.create(opts)).unwrap();
    block_on_timeout(20, sup.start("c2")).unwrap();

    let shim1 = std::fs::read_to_string(state.join("shims/c1/shim.pid"))
        .unwrap()
        .trim()
        .parse::<u32>()
        .unwrap();
    kill9(&mut d1);
    // The attach relayed by the dead daemon ends; the container does not notice.
    let (_, _, ended) = read_until(&mut a, 10, |_, _| false);
    assert!(ended);
    assert_eq!(runtime_status(&rt, "c1").as_deref(), Some("running"));
    assert!(
        Path::new(&format!("/proc/{shim1}")).exists(),
        "the shim died with the daemon"
    );
    wait_for(10, "c2 to exit while no supervisor runs", || {
        runtime_status(&rt, "c2").as_deref() == Some("stopped")
    });

    let (_d2, _) = start_containerd(&t, 2, &state, &rr);
    let list = block_on_timeout(20, sup.list()).unwrap();
    let summary: Vec<(&str, Status, Option<i32>)> = list
        .iter()
        .map(|s| (s.id.as_str(), s.status, s.exit.as_ref().map(|e| e.code)))
        .collect();
    assert_eq!(
        summary,
        [
            ("c1", Status::Running, None),
            ("c2", Status::Stopped, Some(42))
        ]
    );
    assert_eq!(list[0].shim_pid, shim1, "re-adopted, not replaced");
    let exit = block_on_timeout(20, sup.wait("c2")).unwrap();
    assert_eq!((exit.code, exit.error), (42, None));

    // Everything works on the re-adopted container: state, attach with stdin, logs, wait.
    let mut a = block_on_timeout(20, sup.attach("c1", None, io)).unwrap();
    write_stdin(&a, b"two\n");
    read_until(&mut a, 10, |o, _| o.contains("two\n"));
    close_stdin(&a);
    let (_, _, ended) = read_until(&mut a, 10, |_, _| false);
    assert!(ended, "stdin closed: cat exits and the stream ends");
    assert_eq!(block_on_timeout(20, sup.wait("c1")).unwrap().code, 0);
    let logged: Vec<String> = log_entries(&t.join("c1-json.log"))
        .into_iter()
        .map(|(l, _)| l)
        .collect();
    assert_eq!(logged, ["started\n", "one\n", "two\n"]);
    block_on_timeout(20, sup.delete("c1", false)).unwrap();
    block_on_timeout(20, sup.delete("c2", false)).unwrap();
    assert!(block_on_timeout(20, sup.list()).unwrap().is_empty());
}

#[test]
fn daemon_killed_with_9_then_stop_works_on_the_readopted_container() {
    require_root();
    let t = TestDir::new("sup_restore_stop");
    let (state, rr) = (t.join("state"), t.join("rt"));
    let rt = RuntimeConfig {
        path: runtime_path(),
        root: rr.clone(),
        args: vec![],
    };
    let _shims = ShimGuard {
        exec_root: state.clone(),
        runtimes: vec![rt.clone()],
    };
    let (mut d1, sock) = start_containerd(&t, 1, &state, &rr);
    let sup = Supervisor::remote(&sock);
    let dir = t.join("b");
    std::fs::create_dir_all(&dir).unwrap();
    let b = test_bundle(&dir, "restore-stop-b", &["/bin/sleep", "1000"]);
    let opts = berth::supervisor::CreateOpts {
        id: "s1".into(),
        bundle: b,
        tty: false,
        stdin: false,
        log: None,
        runtime: None,
    };
    block_on_timeout(20, sup.create(opts)).unwrap();
    block_on_timeout(20, sup.start("s1")).unwrap();
    // A wait pending in the daemon when it dies.
    let waiter = {
        let sup = sup.clone();
        std::thread::spawn(move || smol::block_on(sup.wait("s1")))
    };
    std::thread::sleep(std::time::Duration::from_millis(200));
    kill9(&mut d1);
    let e = waiter.join().unwrap().unwrap_err();
    assert_eq!(e.kind(), berth::base::ErrorKind::Unavailable, "{e}");
    let (_d2, _) = start_containerd(&t, 2, &state, &rr);
    // Stop: SIGTERM is ignored by sleep as PID 1, then SIGKILL.
    block_on_timeout(20, sup.kill("s1", 15, false)).unwrap();
    block_on_timeout(20, sup.kill("s1", 9, true)).unwrap();
    assert_eq!(block_on_timeout(20, sup.wait("s1")).unwrap().code, 137);
    block_on_timeout(20, sup.delete("s1", false)).unwrap();
}

#[test]
fn shim_killed_with_9_is_reported_and_cleaned_up() {
    let env = Env::new("sup_shim_kill9");
    let b = env.bundle("b", &["/bin/sleep", "1000"], |_| {});
    let st = block_on_timeout(20, env.sup.create(env.opts("k1", &b))).unwrap();
    block_on_timeout(20, env.sup.start("k1")).unwrap();
    let waiter = {
        let sup = env.sup.clone();
        std::thread::spawn(move || smol::block_on(sup.wait("k1")))
    };
    std::thread::sleep(std::time::Duration::from_millis(200));
    let shim = env.shim_pid("k1");
    rustix::process::kill_process(
        rustix::process::Pid::from_raw(shim as i32).unwrap(),
        rustix::process::Signal::KILL,
    )
    .unwrap();
    // The pending wait learns what happened: the container lost its shim and was killed.
    let exit = waiter.join().unwrap().unwrap();
    assert_eq!(exit.code, 137);
    let why = exit.error.clone().unwrap();
    assert_eq!(
        why,
        "the shim of container k1 died; the container was killed"
    );
    let state = block_on_timeout(20, env.sup.state("k1")).unwrap();
    assert_eq!(
        (
            state.status,
            state.shim_pid,
            state.exit.as_ref().map(|e| e.code)
        ),
        (Status::Stopped, 0, Some(137))
    );
    wait_for(10, "the orphaned container to be gone", || {
        !Path::new(&format!("/proc/{}", st.pid)).exists()
            || proc_status_field(st.pid, "State:").starts_with('Z')
    });
    assert_ne!(
        runtime_status(&env.runtime, "k1").as_deref(),
        Some("running")
    );
    let e = block_on_timeout(20, env.sup.kill("k1", 9, false)).unwrap_err();
    assert_eq!(e.to_string(), "container k1 is not running");
    // A new supervisor on the same exec root reports the same recorded status.
    let again = Supervisor::new(config(&env.exec_root, &env.runtime_root)).unwrap();
    let list = block_on_timeout(20, again.list()).unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(
        list[0].exit.as_ref().unwrap().error.as_deref(),
        Some(why.as_str())
    );
    let gone = block_on_timeout(20, again.delete("k1", false)).unwrap();
    assert_eq!(gone.map(|e| e.code), Some(137));
    assert!(!env.exec_root.join("shims/k1").exists());
    assert_eq!(runtime_status(&env.runtime, "k1"), None);

    // A shim killed after its container exited: the recorded status survives, with no error.
    let b = env.bundle("b2", &["/bin/sh", "-c", "exit 9"], |_| {});
    block_on_timeout(20, env.sup.create(env.opts("k2", &b))).unwrap();
    block_on_timeout(20, env.sup.start("k2")).unwrap();
    assert_eq!(block_on_timeout(20, env.sup.wait("k2")).unwrap().code, 9);
    let shim = env.shim_pid("k2");
    rustix::process::kill_process(
        rustix::process::Pid::from_raw(shim as i32).unwrap(),
        rustix::process::Signal::KILL,
    )
    .unwrap();
    wait_for(10, "the shim to die", || {
        std::os::unix::net::UnixStream::connect(env.exec_root.join("shims/k2/shim.sock")).is_err()
    });
    let exit = block_on_timeout(20, env.sup.wait("k2")).unwrap();
    assert_eq!((exit.code, exit.error), (9, None));
    block_on_timeout(20, env.sup.delete("k2", false)).unwrap();
    assert!(!env.exec_root.join("shims/k2").exists());
}

/// The `containerd` role serves every operation to a remote supervisor: exec with attach, a tty
/// with resize, and errors with their kinds.
#[test]
fn containerd_role_serves_exec_tty_and_errors() {
    use berth::base::ErrorKind;
    use berth::supervisor::ExecSpec;
    require_root();
    let t = TestDir::new("sup_containerd_ops");
    let (state, rr) = (t.join("state"), t.join("rt"));
    let rt = RuntimeConfig {
        path: runtime_path(),
        root: rr.clone(),
        args: vec![],
    };
    let real = RuntimeConfig {
        path: Some("/usr/sbin/runc".into()),
        root: t.join("rt-runc"),
        args: vec![],
    };
    let _shims = ShimGuard {
        exec_root: state.clone(),
        runtimes: vec![rt.clone(), real.clone()],
    };
    let (_d, sock) = start_containerd(&t, 1, &state, &rr);
    let sup = Supervisor::remote(&sock);
    let dir = t.join("b");
    std::fs::create_dir_all(&dir).unwrap();
    let b = test_bundle(&dir, "containerd-ops-b", &["/bin/sleep", "1000"]);
    let opts = berth::supervisor::CreateOpts {
        id: "r1".into(),
        bundle: b.clone(),
        tty: false,
        stdin: false,
        log: None,
        runtime: None,
    };
    block_on_timeout(20, sup.create(opts.clone())).unwrap();
    let e = block_on_timeout(20, sup.create(opts)).unwrap_err();
    assert_eq!(
        (e.kind(), e.to_string()),
        (
            ErrorKind::Conflict,
            "container r1 already exists".to_string()
        )
    );
    let e = block_on_timeout(20, sup.state("nosuch")).unwrap_err();
    assert_eq!(
        (e.kind(), e.to_string()),
        (ErrorKind::NotFound, "no such container: nosuch".to_string())
    );
    let e = block_on_timeout(20, sup.exec_start("r1", "x")).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    block_on_timeout(20, sup.start("r1")).unwrap();

    let mut p = berth::oci::runtime::Process::default();
    p.args = vec![
        "/bin/sh".into(),
        "-c".into(),
        "read line; echo got:$line; echo oops >&2; exit 3".into(),
    ];
    p.cwd = "/".into();
    p.env = vec!["PATH=/bin".into()];
    block_on_timeout(
        20,
        sup.exec_create(
            "r1",
            "e1",
            ExecSpec {
                process: p,
                stdin: true,
            },
        ),
    )
    .unwrap();
    let io = AttachOpts {
        stdin: true,
        stdout: true,
        stderr: true,
        close_stdin: true,
    };
    let mut a = block_on_timeout(20, sup.attach("r1", Some("e1"), io)).unwrap();
    block_on_timeout(20, sup.exec_start("r1", "e1")).unwrap();
    write_stdin(&a, b"hello\n");
    let (out, err, ended) = read_until(&mut a, 10, |_, _| false);
    assert!(ended);
    assert_eq!((out.as_str(), err.as_str()), ("got:hello\n", "oops\n"));
    assert_eq!(
        block_on_timeout(20, sup.wait_exec("r1", "e1"))
            .unwrap()
            .code,
        3
    );
    let e = block_on_timeout(20, sup.resize("r1", None, 80, 24)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
    block_on_timeout(20, sup.delete("r1", true)).unwrap();

    // A tty container through the remote supervisor.
    let dir = t.join("bt");
    std::fs::create_dir_all(&dir).unwrap();
    let bt = test_bundle(&dir, "containerd-ops-bt", &["/bin/sh", "-c", "stty size"]);
    let cfg = bt.join("config.json");
    let mut v: serde_json::Value = serde_json::from_slice(&std::fs::read(&cfg).unwrap()).unwrap();
    v["process"]["terminal"] = true.into();
    std::fs::write(&cfg, serde_json::to_vec(&v).unwrap()).unwrap();
    let opts = berth::supervisor::CreateOpts {
        id: "r2".into(),
        bundle: bt,
        tty: true,
        stdin: false,
        log: None,
        runtime: None,
    };
    block_on_timeout(20, sup.create(opts)).unwrap();
    block_on_timeout(20, sup.resize("r2", None, 100, 30)).unwrap();
    let mut a = block_on_timeout(
        20,
        sup.attach(
            "r2",
            None,
            AttachOpts {
                stdout: true,
                ..Default::default()
            },
        ),
    )
    .unwrap();
    assert!(a.tty);
    block_on_timeout(20, sup.start("r2")).unwrap();
    let (out, _, ended) = read_until(&mut a, 10, |_, _| false);
    assert!(ended);
    assert_eq!(out, "30 100\r\n");
    assert_eq!(block_on_timeout(20, sup.wait("r2")).unwrap().code, 0);
    block_on_timeout(20, sup.delete("r2", false)).unwrap();
    assert!(block_on_timeout(20, sup.list()).unwrap().is_empty());
}
