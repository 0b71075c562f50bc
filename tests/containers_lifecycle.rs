//! exec, tty, pause, restart, restart policies, health checks, top, stats, update, events,
//! diff, export, prune, df, and live restore (kill -9 of dockerd) through the real Docker CLI.
mod common;
mod containers_support;

use common::*;
use containers_support::{Engine, IMAGE};
use std::time::Duration;

/// The CLI under a pseudo-terminal of `rows`×`cols` (util-linux `script`).
fn in_pty(e: &Engine, rows: u16, cols: u16, docker_args: &str) -> String {
    let cmd = format!(
        "stty rows {rows} cols {cols}; {} {docker_args}",
        common::daemon::DOCKER_CLI
    );
    let o = run(std::process::Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .env("DOCKER_HOST", e.d().host())
        .env("DOCKER_CONFIG", e.dir.join("docker-config"))
        .stdin(std::process::Stdio::null()));
    stdout(&o).replace('\0', "").replace("^@", "")
}

#[test]
fn exec_attached_detached_tty_and_exit_codes() {
    let e = Engine::start("containers_exec");
    e.ok(&["run", "-d", "--name", "ex", IMAGE, "sleep", "60"]);
    let o = e.docker(&["exec", "ex", "sh", "-c", "echo out; echo err >&2; exit 4"]);
    assert_eq!(
        (o.status.code(), stdout(&o), stderr(&o)),
        (Some(4), "out\n".to_string(), "err\n".to_string())
    );
    let o = e.docker(&["exec", "ex", "nosuch"]);
    assert_eq!(o.status.code(), Some(127));
    assert!(
        stdout(&o).contains("exec: \"nosuch\": executable file not found in $PATH"),
        "{}",
        stdout(&o)
    );
    assert_eq!(
        e.ok(&[
            "exec",
            "-u",
            "nobody",
            "-w",
            "/tmp",
            "-e",
            "X=1",
            "ex",
            "sh",
            "-c",
            "id -un; pwd; echo $X"
        ]),
        "nobody\n/tmp\n1\n"
    );
    let o = e.with_stdin(&["exec", "-i", "ex", "cat"], b"through stdin\n");
    assert_eq!(stdout(&o), "through stdin\n");
    e.ok(&["exec", "-d", "ex", "sh", "-c", "sleep 0.3; touch /done"]);
    e.until("detached exec", || {
        e.docker(&["exec", "ex", "test", "-f", "/done"])
            .status
            .success()
    });
    // A tty exec gets a pty of the client's size.
    let out = in_pty(&e, 20, 70, "exec -it ex sh -c 'tty; stty size'");
    assert!(out.contains("/dev/pts/"), "{out}");
    assert!(out.contains("20 70"), "{out}");
    // Exec into a stopped container is refused.
    e.ok(&["stop", "-t", "0", "ex"]);
    let (code, err) = e.fails(&["exec", "ex", "true"]);
    assert_eq!(code, 1);
    assert!(err.contains("is not running"), "{err}");
}

#[test]
fn run_it_uses_the_client_terminal_size_and_resize() {
    let e = Engine::start("containers_tty");
    let out = in_pty(&e, 33, 101, "run -it --rm bb:latest stty size");
    assert!(out.contains("33 101"), "{out}");
    // Resize of a detached tty container through the API.
    e.ok(&[
        "run",
        "-d",
        "-t",
        "--name",
        "tt",
        IMAGE,
        "sh",
        "-c",
        "while [ ! -f /go ]; do sleep 0.05; done; stty size; sleep 60",
    ]);
    let r = e.d().raw(b"POST /containers/tt/resize?h=44&w=99 HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", Duration::from_secs(5));
    assert!(
        String::from_utf8_lossy(&r).starts_with("HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&r)
    );
    e.ok(&["exec", "tt", "touch", "/go"]);
    e.until("stty output", || e.ok(&["logs", "tt"]).contains("44 99"));
}

#[test]
fn pause_unpause_restart_and_top() {
    let e = Engine::start("containers_pause");
    e.ok(&["run", "-d", "--name", "pz", IMAGE, "sleep", "60"]);
    e.ok(&["pause", "pz"]);
    assert_eq!(e.status("pz"), "paused");
    assert!(e
        .ok(&["ps", "--format", "{{.Status}}"])
        .contains("(Paused)"));
    let (_, err) = e.fails(&["exec", "pz", "true"]);
    assert!(err.contains("is paused"), "{err}");
    e.ok(&["unpause", "pz"]);
    assert_eq!(e.status("pz"), "running");
    let top = e.ok(&["top", "pz"]);
    assert!(top.lines().next().unwrap().contains("PID"), "{top}");
    assert!(top.contains("sleep 60"), "{top}");
    let pid1 = e.inspect("pz")["State"]["Pid"].as_i64().unwrap();
    e.ok(&["restart", "-t", "1", "pz"]);
    let v = e.inspect("pz");
    assert_eq!(v["State"]["Status"], "running");
    assert_ne!(v["State"]["Pid"].as_i64().unwrap(), pid1);
    // A paused container can be stopped.
    e.ok(&["pause", "pz"]);
    e.ok(&["stop", "-t", "1", "pz"]);
    assert_eq!(e.status("pz"), "exited");
}

#[test]
fn restart_policies_and_backoff() {
    let e = Engine::start("containers_restart_policy");
    e.ok(&[
        "run",
        "-d",
        "--name",
        "of",
        "--restart",
        "on-failure:2",
        IMAGE,
        "sh",
        "-c",
        "exit 3",
    ]);
    e.until("on-failure to give up", || {
        e.ok(&["inspect", "-f", "{{.RestartCount}} {{.State.Status}}", "of"])
            .trim()
            == "2 exited"
    });
    assert_eq!(e.inspect("of")["State"]["ExitCode"], 3);
    e.ok(&[
        "run",
        "-d",
        "--name",
        "ok",
        "--restart",
        "on-failure",
        IMAGE,
        "true",
    ]);
    e.until("exit 0", || e.status("ok") == "exited");
    assert_eq!(e.inspect("ok")["RestartCount"], 0);
    e.ok(&[
        "run",
        "-d",
        "--name",
        "al",
        "--restart",
        "always",
        IMAGE,
        "sh",
        "-c",
        "sleep 0.1",
    ]);
    e.until("always to restart", || {
        e.inspect("al")["RestartCount"].as_i64().unwrap() >= 2
    });
    e.ok(&["stop", "al"]);
    let n = e.inspect("al")["RestartCount"].as_i64().unwrap();
    std::thread::sleep(Duration::from_millis(800));
    assert_eq!(e.status("al"), "exited");
    assert_eq!(
        e.inspect("al")["RestartCount"].as_i64().unwrap(),
        n,
        "a stopped container must not restart"
    );
    // `docker kill` (SIGKILL, or the stop signal) also means "exit on next", as with dockerd:
    // the on-failure policy does not bring the container back.
    e.ok(&[
        "run",
        "-d",
        "--name",
        "kl",
        "--restart",
        "on-failure:3",
        IMAGE,
        "sleep",
        "60",
    ]);
    e.ok(&["kill", "kl"]);
    std::thread::sleep(Duration::from_millis(800));
    assert_eq!(
        e.ok(&[
            "inspect",
            "-f",
            "{{.RestartCount}} {{.State.Status}} {{.State.ExitCode}}",
            "kl"
        ])
        .trim(),
        "0 exited 137"
    );
    let (code, err) = e.fails(&["run", "--rm", "--restart", "always", IMAGE, "true"]);
    assert_eq!(code, 125, "{err}");
}

#[test]
fn health_checks_report_in_inspect_and_ps() {
    let e = Engine::start("containers_health");
    e.ok(&[
        "run",
        "-d",
        "--name",
        "hc",
        "--health-cmd",
        "test -f /tmp/ok",
        "--health-interval",
        "200ms",
        "--health-retries",
        "2",
        IMAGE,
        "sh",
        "-c",
        "sleep 1; touch /tmp/ok; sleep 60",
    ]);
    assert!(
        e.ok(&["ps", "--format", "{{.Status}}"])
            .contains("health: starting")
            || e.inspect("hc")["State"]["Health"]["Status"] != "healthy"
    );
    e.until("healthy", || {
        e.inspect("hc")["State"]["Health"]["Status"] == "healthy"
    });
    assert!(e
        .ok(&["ps", "--format", "{{.Status}}"])
        .contains("(healthy)"));
    assert_eq!(
        e.ok(&["ps", "--filter", "health=healthy", "--format", "{{.Names}}"])
            .trim(),
        "hc"
    );
    e.ok(&["exec", "hc", "rm", "/tmp/ok"]);
    e.until("unhealthy", || {
        e.inspect("hc")["State"]["Health"]["Status"] == "unhealthy"
    });
    let v = e.inspect("hc");
    assert!(v["State"]["Health"]["FailingStreak"].as_i64().unwrap() >= 2);
    assert!(v["State"]["Health"]["Log"].as_array().unwrap().len() <= 5);
}

#[test]
fn stats_and_update_read_and_write_cgroups() {
    let e = Engine::start("containers_stats_update");
    e.ok(&[
        "run",
        "-d",
        "--name",
        "st",
        "-m",
        "64m",
        "--pids-limit",
        "30",
        IMAGE,
        "sleep",
        "60",
    ]);
    let v: serde_json::Value =
        serde_json::from_str(&e.ok(&["stats", "--no-stream", "--format", "{{json .}}", "st"]))
            .unwrap();
    assert_eq!(v["Name"], "st");
    assert!(v["MemUsage"].as_str().unwrap().contains("/ 64MiB"), "{v}");
    assert_eq!(v["PIDs"], "1");
    e.ok(&[
        "update",
        "-m",
        "96m",
        "--memory-swap",
        "200m",
        "--cpus",
        "0.5",
        "--pids-limit",
        "40",
        "st",
    ]);
    let h = &e.inspect("st")["HostConfig"];
    assert_eq!(
        (
            h["Memory"].as_i64(),
            h["NanoCpus"].as_i64(),
            h["PidsLimit"].as_i64()
        ),
        (Some(96 << 20), Some(500_000_000), Some(40))
    );
    let pid = e.inspect("st")["State"]["Pid"].as_i64().unwrap();
    let cg = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    let mem_path = cg
        .lines()
        .find_map(|l| l.split_once(":memory:").map(|x| x.1.to_string()));
    if let Some(p) = mem_path {
        let limit =
            std::fs::read_to_string(format!("/sys/fs/cgroup/memory{p}/memory.limit_in_bytes"))
                .unwrap();
        assert_eq!(limit.trim(), (96u64 << 20).to_string());
    }
    let v: serde_json::Value =
        serde_json::from_str(&e.ok(&["stats", "--no-stream", "--format", "{{json .}}", "st"]))
            .unwrap();
    assert!(v["MemUsage"].as_str().unwrap().contains("/ 96MiB"), "{v}");
}

#[test]
fn events_stream_with_filters() {
    let e = Engine::start("containers_events");
    let mut ev = e.cmd(&[
        "events",
        "--filter",
        "type=container",
        "--filter",
        "container=ev",
        "--format",
        "{{.Action}} {{.Actor.Attributes.name}}",
    ]);
    ev.stdout(std::process::Stdio::piped());
    let child = ev.spawn().unwrap();
    let mut guard = ProcGuard::from_child(child);
    std::thread::sleep(Duration::from_millis(300));
    e.ok(&["run", "--name", "ev", IMAGE, "true"]);
    e.ok(&["rm", "ev"]);
    e.ok(&["run", "--rm", IMAGE, "true"]);
    std::thread::sleep(Duration::from_millis(300));
    // SAFETY: kill(2) of the `docker events` client this test started.
    unsafe { libc::kill(guard.pid, libc::SIGTERM) };
    let out = guard.child().wait_with_output_ref();
    assert_eq!(out, "create ev\nattach ev\nstart ev\ndie ev\ndestroy ev\n");
    // --since/--until replay the history. The CLI sends a duration as whole seconds (Unix()), so an
    // event in the current second is after `--until 0s`, as with dockerd: let that second pass.
    std::thread::sleep(Duration::from_millis(1100));
    let out = e.ok(&[
        "events",
        "--since",
        "1m",
        "--until",
        "0s",
        "--filter",
        "event=destroy",
        "--format",
        "{{.Type}} {{.Action}}",
    ]);
    assert_eq!(out.lines().count(), 2, "{out}");
}

trait OutputOf {
    fn wait_with_output_ref(&mut self) -> String;
}

impl OutputOf for std::process::Child {
    fn wait_with_output_ref(&mut self) -> String {
        use std::io::Read;
        let mut s = String::new();
        if let Some(mut out) = self.stdout.take() {
            let _ = out.read_to_string(&mut s);
        }
        let _ = self.wait();
        s
    }
}

#[test]
fn diff_export_prune_and_df() {
    let e = Engine::start("containers_diff_export");
    e.ok(&[
        "run",
        "--name",
        "ch",
        IMAGE,
        "sh",
        "-c",
        "echo hi > /newfile; rm /bin/vi; mkdir /etc/sub",
    ]);
    let diff = e.ok(&["diff", "ch"]);
    assert_eq!(diff, "C /bin\nD /bin/vi\nC /etc\nA /etc/sub\nA /newfile\n");
    let tar = e.dir.join("c.tar");
    e.ok(&["export", "-o", tar.to_str().unwrap(), "ch"]);
    let list = stdout(&run(std::process::Command::new("tar").arg("-tf").arg(&tar)));
    assert!(
        list.lines()
            .any(|l| l.trim_start_matches("./") == "newfile"),
        "{list}"
    );
    assert!(
        !list.lines().any(|l| l.trim_start_matches("./") == "bin/vi"),
        "{list}"
    );
    let df = e.ok(&[
        "system",
        "df",
        "--format",
        "{{.Type}} {{.TotalCount}} {{.Active}}",
    ]);
    assert!(df.contains("Containers 1 0"), "{df}");
    e.ok(&["run", "-d", "--name", "keep", IMAGE, "sleep", "60"]);
    let out = e.ok(&["container", "prune", "-f"]);
    assert!(out.contains("Deleted Containers:"), "{out}");
    assert_eq!(e.ok(&["ps", "-a", "--format", "{{.Names}}"]).trim(), "keep");
    let info = e.ok(&[
        "info",
        "--format",
        "{{.Containers}} {{.ContainersRunning}} {{.ContainersStopped}}",
    ]);
    assert_eq!(info.trim(), "1 1 0");
}

#[test]
fn live_restore_after_kill_9_of_dockerd() {
    let mut e = Engine::start("containers_live_restore");
    e.ok(&[
        "run",
        "-d",
        "--name",
        "lr",
        IMAGE,
        "sh",
        "-c",
        "i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.1; done",
    ]);
    e.ok(&[
        "run",
        "-d",
        "--name",
        "ends",
        IMAGE,
        "sh",
        "-c",
        "sleep 1; exit 5",
    ]);
    e.ok(&[
        "run",
        "-d",
        "--name",
        "rp",
        "--restart",
        "always",
        IMAGE,
        "sh",
        "-c",
        "sleep 1.5",
    ]);
    let pid = e.inspect("lr")["State"]["Pid"].as_i64().unwrap();
    e.until("output", || e.ok(&["logs", "lr"]).contains("tick 2"));
    e.kill9_and_restart();
    // Still the same process, logs still flowing, exec and stop work.
    let v = e.inspect("lr");
    assert_eq!(v["State"]["Status"], "running");
    assert_eq!(v["State"]["Pid"].as_i64().unwrap(), pid);
    assert!(std::path::Path::new(&format!("/proc/{pid}")).exists());
    let before = e.ok(&["logs", "lr"]).lines().count();
    e.until("more output", || {
        e.ok(&["logs", "lr"]).lines().count() > before + 3
    });
    assert_eq!(e.ok(&["exec", "lr", "echo", "exec-ok"]), "exec-ok\n");
    // The container that exited while nobody watched: its code was kept.
    e.until("exit seen", || e.status("ends") == "exited");
    assert_eq!(e.inspect("ends")["State"]["ExitCode"], 5);
    // Restart policies keep working after the restart.
    let n = e.inspect("rp")["RestartCount"].as_i64().unwrap();
    e.until("restart after restore", || {
        e.inspect("rp")["RestartCount"].as_i64().unwrap() > n
    });
    // Attach and wait to a re-adopted container.
    let mut w = e
        .cmd(&["wait", "lr"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    e.ok(&["kill", "lr"]);
    assert_eq!(w.wait_with_output_ref().trim(), "137");
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}")).exists()
            || std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .unwrap_or_default()
                .contains(" Z ")
    );
}

#[test]
fn a_create_cut_short_by_a_crash_leaves_nothing_behind() {
    // create writes the snapshot and the record side by side and commits the record
    // (config.v2.json) last. A crash before the commit leaves a snapshot and a directory with
    // hostconfig.json only: the next daemon removes both, and keeps the container that was
    // made in full.
    let mut e = Engine::start("containers_cut_create");
    let whole = e.ok(&["create", "--name", "whole", IMAGE, "true"]);
    let cut = e.ok(&["create", "--name", "cut", IMAGE, "true"]);
    let (whole, cut) = (whole.trim().to_string(), cut.trim().to_string());
    e.kill9_and_restart_after(|data| {
        let dir = data.join("containers").join(&cut);
        std::fs::remove_file(dir.join("config.v2.json")).unwrap();
        assert!(dir.join("hostconfig.json").exists());
        assert!(data.join("image/snapshots").join(&cut).is_dir());
    });
    let data = e.dir.path.join("data");
    assert!(!data.join("containers").join(&cut).exists());
    assert!(!data.join("image/snapshots").join(&cut).exists());
    assert!(data.join("image/snapshots").join(&whole).is_dir());
    assert_eq!(e.ok(&["ps", "-aq", "--no-trunc"]).trim(), whole);
    // The name is free again, and the kept container runs.
    e.ok(&["create", "--name", "cut", IMAGE, "true"]);
    e.ok(&["start", "-a", "whole"]);
    assert_eq!(e.status("whole"), "exited");
}

#[test]
fn commit_makes_an_image_of_the_changes() {
    let e = Engine::start("containers_commit");
    e.ok(&[
        "run",
        "--name",
        "cm",
        IMAGE,
        "sh",
        "-c",
        "echo committed > /hello.txt; rm /bin/vi; mkdir -p /opt/app",
    ]);
    let id = e.ok(&[
        "commit",
        "-m",
        "first commit",
        "-a",
        "tester",
        "-c",
        "CMD [\"cat\", \"/hello.txt\"]",
        "cm",
        "mine:v1",
    ]);
    assert!(id.trim().starts_with("sha256:"), "{id}");
    assert_eq!(e.ok(&["run", "--rm", "mine:v1"]), "committed\n");
    assert_eq!(e.ok(&["run", "--rm", "mine:v1", "sh", "-c", "test -e /bin/vi || echo gone; test -d /opt/app && echo dir; test -e /etc/hostname && echo mounted"]), "gone\ndir\nmounted\n");
    let v: serde_json::Value =
        serde_json::from_str(&e.ok(&["image", "inspect", "mine:v1"])).unwrap();
    assert_eq!(v[0]["Comment"], "first commit");
    assert_eq!(v[0]["Author"], "tester");
    assert_eq!(v[0]["RootFS"]["Layers"].as_array().unwrap().len(), 2);
    let hist = e.ok(&[
        "history",
        "--no-trunc",
        "--format",
        "{{.Comment}}",
        "mine:v1",
    ]);
    assert!(
        hist.lines().next().unwrap().contains("first commit"),
        "{hist}"
    );
    // The image is in use: rmi refuses while the container exists.
    e.ok(&["rm", "cm"]);
}

#[test]
fn oom_killed_containers_say_so() {
    let e = Engine::start("containers_oom");
    // `tail` of an endless line keeps all of it in memory.
    let o = e.docker(&[
        "run",
        "--name",
        "oom",
        "-m",
        "8m",
        "--memory-swap",
        "8m",
        IMAGE,
        "tail",
        "/dev/zero",
    ]);
    assert_eq!(o.status.code(), Some(137), "{}", stderr(&o));
    let v = e.inspect("oom");
    assert_eq!(v["State"]["OOMKilled"], true);
    assert_eq!(v["State"]["ExitCode"], 137);
}

/// `dockerd --containerd SOCKET`: the shims belong to a standalone `containerd` role, not to
/// dockerd; containers run, exec and stop through it, and survive a kill -9 of dockerd.
#[test]
fn dockerd_uses_a_standalone_containerd_role() {
    require_root();
    let t = TestDir::new("ctd");
    let sock = t.join("containerd.sock");
    let state = t.join("s");
    let child = std::process::Command::new(role("containerd"))
        .arg("--address")
        .arg(&sock)
        .arg("--root")
        .arg(t.join("ctd-root"))
        .arg("--state")
        .arg(&state)
        .stdin(std::process::Stdio::null())
        .stdout(std::fs::File::create(t.join("containerd.log")).unwrap())
        .stderr(std::fs::File::create(t.join("containerd.err")).unwrap())
        .spawn()
        .unwrap();
    let _ctd = ProcGuard::from_child(child);
    for _ in 0..200 {
        if sock.exists() {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(
        sock.exists(),
        "containerd role never listened: {}",
        std::fs::read_to_string(t.join("containerd.err")).unwrap_or_default()
    );
    let mut e = Engine::start_with(
        "containers_with_ctd",
        &["--containerd", sock.to_str().unwrap()],
    );
    let id = e
        .ok(&["run", "-d", "--name", "sc", IMAGE, "sleep", "60"])
        .trim()
        .to_string();
    // The shim is the containerd role's, under its state directory, not under dockerd's exec root.
    let shim_dirs = |root: &std::path::Path| -> Vec<String> {
        let mut v = Vec::new();
        let mut stack = vec![root.to_path_buf()];
        while let Some(d) = stack.pop() {
            for ent in std::fs::read_dir(&d).into_iter().flatten().flatten() {
                if ent.file_name() == "shim.pid" {
                    v.push(d.display().to_string());
                } else if ent.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                    stack.push(ent.path());
                }
            }
        }
        v
    };
    let ours = shim_dirs(&state);
    assert!(
        ours.iter().any(|d| d.contains(&id[..12])),
        "no shim for {id} under {}: {ours:?}",
        state.display()
    );
    assert!(
        shim_dirs(&e.exec_root()).is_empty(),
        "dockerd started a shim of its own"
    );
    assert_eq!(
        e.ok(&["exec", "sc", "echo", "via containerd"]),
        "via containerd\n"
    );
    e.kill9_and_restart();
    assert_eq!(e.status("sc"), "running");
    assert_eq!(e.ok(&["exec", "sc", "echo", "still"]), "still\n");
    e.ok(&["stop", "-t", "1", "sc"]);
    assert_eq!(e.status("sc"), "exited");
    e.ok(&["rm", "sc"]);
    e.cleanup();
    for d in shim_dirs(&state) {
        let dir = std::path::Path::new(&d);
        kill_berth_shims(dir.parent().unwrap().parent().unwrap_or(dir));
    }
}
