//! Black-box lifecycle tests of the `runc` role on the real kernel (root). They pass against
//! real runc too: `BERTH_TEST_RUNTIME=runc cargo test --test runc_lifecycle`.
mod common;
use common::*;
use std::path::Path;

fn setup(name: &str, args: &[&str]) -> (TestDir, Runtime, String) {
    require_root();
    let t = TestDir::new(name);
    busybox_bundle(&t.join("bundle"), args);
    let rt = Runtime::new(&t);
    (t, rt, container_id(name))
}

#[test]
fn lifecycle_create_state_start_kill_delete() {
    let (t, rt, id) = setup("lifecycle", &["sleep", "1000"]);
    let bundle = t.join("bundle");
    let pidfile = t.join("init.pid");
    let mut g = ContainerGuard::new(&rt, &id);
    rt.ok(&[
        "create",
        "--bundle",
        bundle.to_str().unwrap(),
        "--pid-file",
        pidfile.to_str().unwrap(),
        &id,
    ]);
    let pid: i32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    g.pid = pid;
    let s = rt.state(&id);
    assert_eq!(s["status"], "created");
    assert_eq!(s["pid"], pid);
    assert_eq!(s["id"], id.as_str());
    assert_eq!(s["bundle"], bundle.to_str().unwrap());
    assert!(
        Path::new(&format!("/proc/{pid}")).exists(),
        "the init waits while created"
    );

    rt.ok(&["start", &id]);
    let s = rt.wait_status(&id, "running");
    assert_eq!(s["pid"], pid);
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap();
    assert!(
        cmdline.starts_with(b"sleep\x001000"),
        "the init became the container's process: {cmdline:?}"
    );

    let o = rt.run(&["start", &id]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("cannot start an already running container"),
        "{}",
        stderr(&o)
    );
    let o = rt.run(&["delete", &id]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains(&format!(
            "cannot delete container {id} that is not stopped: running"
        )),
        "{}",
        stderr(&o)
    );

    rt.ok(&["kill", &id, "KILL"]);
    let s = rt.wait_status(&id, "stopped");
    assert_eq!(s["pid"], 0, "a stopped container reports pid 0");
    reap(pid);
    let o = rt.run(&["start", &id]);
    assert!(
        stderr(&o).contains("cannot start a container that has stopped"),
        "{}",
        stderr(&o)
    );

    rt.ok(&["delete", &id]);
    let o = rt.run(&["state", &id]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("container does not exist"),
        "{}",
        stderr(&o)
    );
    assert!(
        !rt.root.join(&id).exists(),
        "delete removes the state directory"
    );
}

#[test]
fn delete_of_a_created_container_kills_its_init() {
    let (t, rt, id) = setup("delete_created", &["sleep", "1000"]);
    let mut g = ContainerGuard::new(&rt, &id);
    rt.ok(&[
        "create",
        "--bundle",
        t.join("bundle").to_str().unwrap(),
        &id,
    ]);
    let pid = g.track();
    rt.ok(&["delete", &id]);
    reap(pid);
    assert!(
        !Path::new(&format!("/proc/{pid}")).exists(),
        "init {pid} still exists after delete"
    );
}

#[test]
fn run_returns_the_container_exit_code_and_cleans_up() {
    let (t, rt, id) = setup("run_exit", &["sh", "-c", "echo out; echo err >&2; exit 7"]);
    let o = rt.run(&["run", "--bundle", t.join("bundle").to_str().unwrap(), &id]);
    assert_eq!(o.status.code(), Some(7), "{}", stderr(&o));
    assert_eq!(stdout(&o), "out\n");
    assert!(stderr(&o).contains("err"));
    assert!(
        !rt.root.join(&id).exists(),
        "run removes the container after it exits"
    );
    assert!(
        mounts_below(&t.path).is_empty(),
        "mounts left behind: {:?}",
        mounts_below(&t.path)
    );
}

#[test]
fn run_of_a_missing_program_fails_at_create_and_leaves_nothing() {
    let (t, rt, id) = setup("run_missing", &["berth-no-such-program"]);
    let o = rt.run(&["run", "--bundle", t.join("bundle").to_str().unwrap(), &id]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o)
            .contains("exec: \\\"berth-no-such-program\\\": executable file not found in $PATH"),
        "{}",
        stderr(&o)
    );
    assert!(!rt.root.join(&id).exists());
    assert!(mounts_below(&t.path).is_empty());
}

#[test]
fn run_detached_then_kill_and_delete() {
    let (t, rt, id) = setup("run_detach", &["sleep", "1000"]);
    let mut g = ContainerGuard::new(&rt, &id);
    rt.ok(&[
        "run",
        "-d",
        "--bundle",
        t.join("bundle").to_str().unwrap(),
        &id,
    ]);
    let pid = g.track();
    assert_eq!(rt.state(&id)["status"], "running");
    rt.ok(&["delete", "--force", &id]);
    reap(pid);
    assert!(!rt.root.join(&id).exists());
}

#[test]
fn exec_runs_in_the_container_with_its_exit_code() {
    let (t, rt, id) = setup("exec", &["sleep", "1000"]);
    let mut g = ContainerGuard::new(&rt, &id);
    rt.ok(&[
        "run",
        "-d",
        "--bundle",
        t.join("bundle").to_str().unwrap(),
        &id,
    ]);
    g.track();
    let o = rt.run(&["exec", &id, "sh", "-c", "hostname; exit 5"]);
    assert_eq!(o.status.code(), Some(5), "{}", stderr(&o));
    assert_eq!(stdout(&o), "berth-test\n");
    // Flags: env appended, cwd, user.
    let out = rt.ok(&[
        "exec",
        "--env",
        "FOO=bar",
        "--cwd",
        "/tmp",
        "--user",
        "1000:1001",
        &id,
        "sh",
        "-c",
        "echo $FOO $(pwd) $(id -u) $(id -g)",
    ]);
    assert_eq!(out, "bar /tmp 1000 1001\n");
    // The exec'd process sees the container's pid namespace: the init is pid 1.
    let out = rt.ok(&["exec", &id, "cat", "/proc/1/cmdline"]);
    assert!(out.starts_with("sleep"), "{out:?}");
    // --process replaces everything.
    let proc_json = t.join("process.json");
    std::fs::write(&proc_json, r#"{"args":["sh","-c","echo from-process-file; exit 3"],"cwd":"/","env":["PATH=/bin"],"user":{"uid":0,"gid":0}}"#).unwrap();
    let o = rt.run(&["exec", "--process", proc_json.to_str().unwrap(), &id]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert_eq!(stdout(&o), "from-process-file\n");
    // Detached with a pid file.
    let pf = t.join("exec.pid");
    rt.ok(&[
        "exec",
        "-d",
        "--pid-file",
        pf.to_str().unwrap(),
        &id,
        "sleep",
        "1000",
    ]);
    let epid: i32 = std::fs::read_to_string(&pf).unwrap().parse().unwrap();
    assert!(Path::new(&format!("/proc/{epid}")).exists());
    // A missing program: runc's words and exit code 255.
    let o = rt.run(&["exec", &id, "berth-nosuch"]);
    assert_eq!(o.status.code(), Some(255));
    assert!(
        stderr(&o).contains("executable file not found in $PATH"),
        "{}",
        stderr(&o)
    );
    rt.ok(&["kill", "--all", &id, "KILL"]);
    // The detached exec'd process was reparented to this (subreaper) test process; the dying
    // init of the pid namespace waits until every process in it has been reaped.
    reap(epid);
    rt.wait_status(&id, "stopped");
    let o = rt.run(&["exec", &id, "true"]);
    assert_eq!(o.status.code(), Some(255));
    assert!(
        stderr(&o).contains("cannot exec in a stopped container"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn kill_accepts_signal_names_and_numbers() {
    let (t, rt, id) = setup(
        "kill_names",
        &[
            "sh",
            "-c",
            "trap 'exit 0' USR1; trap 'exit 0' HUP; while :; do sleep 0.05; done",
        ],
    );
    let mut g = ContainerGuard::new(&rt, &id);
    rt.ok(&[
        "run",
        "-d",
        "--bundle",
        t.join("bundle").to_str().unwrap(),
        &id,
    ]);
    let pid = g.track();
    let o = rt.run(&["kill", &id, "FOO"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("unknown signal \\\"FOO\\\""),
        "{}",
        stderr(&o)
    );
    rt.ok(&["kill", &id, "0"]);
    rt.ok(&["kill", &id, "SIGUSR1"]);
    rt.wait_status(&id, "stopped");
    reap(pid);
    let o = rt.run(&["kill", &id, "KILL"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("container not running"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn kill_all_reaches_every_process() {
    let (t, rt, id) = setup("kill_all", &["sh", "-c", "sleep 1000 & sleep 1000 & wait"]);
    let mut g = ContainerGuard::new(&rt, &id);
    rt.ok(&[
        "run",
        "-d",
        "--bundle",
        t.join("bundle").to_str().unwrap(),
        &id,
    ]);
    let pid = g.track();
    let pidns = std::fs::read_link(format!("/proc/{pid}/ns/pid")).unwrap();
    // The container's processes, with their start times (a pid alone could be reused).
    let stat = |p: &str| std::fs::read_to_string(format!("/proc/{p}/stat")).ok();
    let start_of = |s: &str| {
        s[s.rfind(')').unwrap() + 2..]
            .split(' ')
            .nth(19)
            .map(String::from)
    };
    let mut members = Vec::new();
    for _ in 0..100 {
        members = std::fs::read_dir("/proc")
            .unwrap()
            .flatten()
            .filter(|e| std::fs::read_link(e.path().join("ns/pid")).ok().as_ref() == Some(&pidns))
            .filter_map(|e| {
                let p = e.file_name().to_string_lossy().into_owned();
                stat(&p).and_then(|s| start_of(&s)).map(|st| (p, st))
            })
            .collect::<Vec<_>>();
        if members.len() >= 3 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(members.len() >= 3, "sh and two sleeps: {members:?}");
    rt.ok(&["kill", "--all", &id, "KILL"]);
    rt.wait_status(&id, "stopped");
    reap(pid);
    let alive: Vec<_> = members
        .iter()
        .filter(|(p, st)| {
            stat(p).is_some_and(|s| start_of(&s).as_ref() == Some(st) && !s.contains(") Z"))
        })
        .collect();
    assert!(
        alive.is_empty(),
        "container processes still alive after kill --all: {alive:?}"
    );
}

#[test]
fn delete_force_kills_a_running_container() {
    let (t, rt, id) = setup("delete_force", &["sleep", "1000"]);
    let mut g = ContainerGuard::new(&rt, &id);
    rt.ok(&[
        "run",
        "-d",
        "--bundle",
        t.join("bundle").to_str().unwrap(),
        &id,
    ]);
    let pid = g.track();
    rt.ok(&["delete", "--force", &id]);
    reap(pid);
    assert!(!Path::new(&format!("/proc/{pid}")).exists());
    assert!(!rt.root.join(&id).exists());
    // Deleting what does not exist: an error, except with --force.
    let o = rt.run(&["delete", &id]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("container does not exist"));
    rt.ok(&["delete", "--force", &id]);
}

#[test]
fn state_and_list_report_runc_fields() {
    let (t, rt, id) = setup("list_fields", &["sleep", "1000"]);
    let mut g = ContainerGuard::new(&rt, &id);
    edit_config(&t.join("bundle"), |c| {
        c["annotations"] = serde_json::json!({"org.berth.test": "yes"})
    });
    assert!(rt
        .ok(&["list"])
        .starts_with("ID          PID         STATUS      BUNDLE      CREATED     OWNER\n"));
    assert_eq!(rt.ok(&["list", "--format", "json"]).trim(), "null");
    rt.ok(&[
        "create",
        "--bundle",
        t.join("bundle").to_str().unwrap(),
        &id,
    ]);
    let pid = g.track();
    let s = rt.state(&id);
    for k in [
        "ociVersion",
        "id",
        "pid",
        "status",
        "bundle",
        "rootfs",
        "created",
        "owner",
    ] {
        assert!(s.get(k).is_some(), "state lacks {k}: {s}");
    }
    assert_eq!(s["annotations"]["org.berth.test"], "yes");
    assert_eq!(s["rootfs"], t.join("bundle/rootfs").to_str().unwrap());
    assert!(s["created"].as_str().unwrap().ends_with('Z'));
    let l: serde_json::Value = serde_json::from_str(&rt.ok(&["list", "-f", "json"])).unwrap();
    assert_eq!(l[0]["id"], id.as_str());
    assert_eq!(l[0]["pid"], pid);
    assert_eq!(l[0]["status"], "created");
    assert_eq!(l[0]["owner"], "root");
    let table = rt.ok(&["list"]);
    let row = table.lines().nth(1).unwrap();
    let cols: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(
        cols,
        [
            id.as_str(),
            &pid.to_string(),
            "created",
            t.join("bundle").to_str().unwrap(),
            s["created"].as_str().unwrap(),
            "root"
        ]
    );
    assert_eq!(rt.ok(&["list", "-q"]).trim(), id);
}

#[test]
fn errors_on_unknown_duplicate_and_bad_input_leave_nothing_behind() {
    let (t, rt, id) = setup("errors", &["sleep", "1000"]);
    let mut g = ContainerGuard::new(&rt, &id);
    for args in [
        vec!["state", "nosuch"],
        vec!["start", "nosuch"],
        vec!["kill", "nosuch"],
        vec!["delete", "nosuch"],
    ] {
        let o = rt.run(&args);
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        assert!(
            stderr(&o).contains("container does not exist"),
            "{args:?}: {}",
            stderr(&o)
        );
    }
    let o = rt.run(&["state", "bad/id"]);
    assert!(
        stderr(&o).contains("invalid container ID format"),
        "{}",
        stderr(&o)
    );
    // A duplicate id fails and leaves the first container alone.
    let b = t.join("bundle");
    rt.ok(&["create", "--bundle", b.to_str().unwrap(), &id]);
    let pid = g.track();
    let o = rt.run(&["create", "--bundle", b.to_str().unwrap(), &id]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("container with given ID already exists"),
        "{}",
        stderr(&o)
    );
    assert_eq!(rt.state(&id)["pid"], pid);
    assert_eq!(rt.state(&id)["status"], "created");
    // A bundle without config.json, and a missing bundle.
    let empty = t.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let o = rt.run(&["create", "--bundle", empty.to_str().unwrap(), "other"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("JSON specification file config.json not found"),
        "{}",
        stderr(&o)
    );
    let o = rt.run(&[
        "create",
        "--bundle",
        t.join("nope").to_str().unwrap(),
        "other",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        !rt.root.join("other").exists(),
        "a failed create leaves no state directory"
    );
    // A config whose mount cannot be made: the half-made container is undone.
    edit_config(&b, |c| {
        c["mounts"].as_array_mut().unwrap().push(serde_json::json!({"destination": "/data", "type": "bind", "source": "/nonexistent/berth-src", "options": ["rbind"]}))
    });
    let o = rt.run(&["run", "--bundle", b.to_str().unwrap(), "third"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(!rt.root.join("third").exists());
    let ids = rt.ok(&["list", "-q"]);
    assert_eq!(ids.trim(), id, "only the first container is listed");
}

#[test]
fn cgroup_holds_init_and_exec_and_goes_with_delete() {
    let (t, rt, id) = setup("cgroup", &["sleep", "1000"]);
    let mut g = ContainerGuard::new(&rt, &id);
    let cg = format!("/berth-test-{id}");
    edit_config(&t.join("bundle"), |c| {
        c["linux"]["cgroupsPath"] = cg.clone().into();
        c["linux"]["resources"]["memory"] = serde_json::json!({"limit": 67108864});
        c["linux"]["resources"]["pids"] = serde_json::json!({"limit": 50});
    });
    rt.ok(&[
        "create",
        "--bundle",
        t.join("bundle").to_str().unwrap(),
        &id,
    ]);
    let pid = g.track();
    let own = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    let mem_line = own
        .lines()
        .find(|l| {
            l.split(':')
                .nth(1)
                .is_some_and(|c| c.split(',').any(|x| x == "memory"))
        })
        .unwrap();
    assert!(
        mem_line.ends_with(&cg),
        "the created init is in its cgroup already: {own}"
    );
    let mem_dir = Path::new("/sys/fs/cgroup/memory").join(cg.trim_start_matches('/'));
    assert_eq!(
        std::fs::read_to_string(mem_dir.join("memory.limit_in_bytes"))
            .unwrap()
            .trim(),
        "67108864"
    );
    rt.ok(&["start", &id]);
    let pf = t.join("exec.pid");
    rt.ok(&[
        "exec",
        "-d",
        "--pid-file",
        pf.to_str().unwrap(),
        &id,
        "sleep",
        "1000",
    ]);
    let epid = std::fs::read_to_string(&pf).unwrap();
    let procs = std::fs::read_to_string(mem_dir.join("cgroup.procs")).unwrap();
    assert!(procs.lines().any(|l| l == pid.to_string()), "{procs}");
    assert!(
        procs.lines().any(|l| l == epid),
        "the exec'd process joined the cgroup: {procs}"
    );
    rt.ok(&["kill", "--all", &id, "KILL"]);
    reap(epid.parse().unwrap());
    rt.ok(&["delete", "--force", &id]);
    reap(pid);
    assert!(!mem_dir.exists(), "delete removes the cgroup");
}

#[test]
fn kill_term_stops_a_created_container() {
    let (t, rt, id) = setup("kill_created", &["sleep", "1000"]);
    let mut g = ContainerGuard::new(&rt, &id);
    rt.ok(&[
        "create",
        "--bundle",
        t.join("bundle").to_str().unwrap(),
        &id,
    ]);
    let pid = g.track();
    rt.ok(&["kill", &id]);
    rt.wait_status(&id, "stopped");
    reap(pid);
    rt.ok(&["delete", &id]);
}

#[test]
fn run_keep_leaves_the_stopped_container() {
    let (t, rt, id) = setup("run_keep", &["sh", "-c", "exit 2"]);
    let _g = ContainerGuard::new(&rt, &id);
    let o = rt.run(&[
        "run",
        "--keep",
        "--bundle",
        t.join("bundle").to_str().unwrap(),
        &id,
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_eq!(rt.state(&id)["status"], "stopped");
    rt.ok(&["delete", &id]);
    assert!(!rt.root.join(&id).exists());
}

/// Without a pid namespace of its own, processes outlive the init: `delete` (and the automatic
/// delete of a foreground `run`) SIGKILLs what is left in the cgroup, as runc does, instead of
/// failing on the busy cgroup.
#[test]
fn delete_without_own_pid_namespace_kills_what_outlives_the_init() {
    let (t, rt, id) = setup(
        "shared_pidns",
        &[
            "sh",
            "-c",
            "sleep 1000 </dev/null >/dev/null 2>&1 & echo $!",
        ],
    );
    let bundle = t.join("bundle");
    edit_config(&bundle, |v| {
        let ns = v["linux"]["namespaces"].as_array_mut().unwrap();
        ns.retain(|n| n["type"] != "pid");
    });
    let gone = |pid: i32| {
        reap(pid);
        !Path::new(&format!("/proc/{pid}")).exists()
    };
    // Foreground run: the runtime deletes the container itself when the init exits.
    let o = {
        let _g = ContainerGuard::new(&rt, &id);
        rt.run(&["run", "--bundle", bundle.to_str().unwrap(), &id])
    };
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let pid: i32 = stdout(&o).trim().parse().expect("the sleep's pid");
    let _pg = ProcGuard::from_pid(pid);
    assert!(gone(pid), "the sleep outlived the container");
    // create/start, the init exits, the container is stopped with the sleep still in it.
    let mut g = ContainerGuard::new(&rt, &id);
    let out = t.join("created.out");
    let o = rt
        .cmd()
        .args(["create", "--bundle", bundle.to_str().unwrap(), &id])
        .stdin(std::process::Stdio::null())
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::process::Stdio::inherit())
        .status()
        .unwrap();
    assert!(o.success());
    g.track();
    rt.ok(&["start", &id]);
    rt.wait_status(&id, "stopped");
    let mut pid = 0;
    for _ in 0..500 {
        if let Ok(p) = std::fs::read_to_string(&out)
            .unwrap_or_default()
            .trim()
            .parse()
        {
            pid = p;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(pid > 0, "no pid printed");
    let _pg = ProcGuard::from_pid(pid);
    assert!(
        Path::new(&format!("/proc/{pid}")).exists(),
        "the sleep outlives the init"
    );
    rt.ok(&["delete", &id]);
    assert!(gone(pid), "delete left the sleep running");
    let o = rt.run(&["state", &id]);
    assert!(!o.status.success());
}
