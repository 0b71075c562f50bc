//! `docker create/run/ps/inspect/rm/rename/logs/wait` through the real Docker CLI 28 against
//! berth's dockerd, with a busybox image imported in the test.
mod common;
mod containers_support;

use common::*;
use containers_support::{Engine, IMAGE};

#[test]
fn run_attached_prints_output_and_returns_the_exit_code() {
    let e = Engine::start("containers_run_attached");
    let o = e.docker(&[
        "run",
        "--name",
        "a1",
        IMAGE,
        "sh",
        "-c",
        "echo out; echo err >&2; exit 3",
    ]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert_eq!(stdout(&o), "out\n");
    assert_eq!(stderr(&o), "err\n");
    let st = e.inspect("a1");
    assert_eq!(st["State"]["Status"], "exited");
    assert_eq!(st["State"]["ExitCode"], 3);
    assert_eq!(st["Path"], "sh");
    assert_eq!(st["Args"][0], "-c");
    assert_ne!(st["State"]["FinishedAt"], "0001-01-01T00:00:00Z");
    // The json-file log kept both streams, and -a starts it again attached.
    assert_eq!(e.ok(&["logs", "a1"]), "out\n");
    let o = e.docker(&["start", "-a", "a1"]);
    assert_eq!(
        (o.status.code(), stdout(&o)),
        (Some(3), "out\n".to_string())
    );
    assert_eq!(e.ok(&["logs", "a1"]), "out\nout\n");
}

#[test]
fn exit_codes_125_126_127_follow_the_cli() {
    let e = Engine::start("containers_run_exit_codes");
    let (code, err) = e.fails(&["run", IMAGE, "nosuch-command"]);
    assert_eq!(code, 127, "{err}");
    assert!(
        err.contains("exec: \"nosuch-command\": executable file not found in $PATH"),
        "{err}"
    );
    let (code, err) = e.fails(&["run", "--rm", IMAGE, "/etc"]);
    assert_eq!(code, 126, "{err}");
    let (code, err) = e.fails(&["run", "--user", "nosuchuser", IMAGE, "true"]);
    assert_eq!(code, 125, "{err}");
    assert!(
        err.contains("unable to find user nosuchuser: no matching entries in passwd file"),
        "{err}"
    );
    let (code, err) = e.fails(&["run", "--network", "bridge", IMAGE, "true"]);
    assert_eq!(code, 125, "{err}");
    assert!(err.contains("come later"), "{err}");
    let (code, _) = e.fails(&["run", "-m", "1k", IMAGE, "true"]);
    assert_eq!(code, 125);
    // The failed container stays as created, with the code, as in Docker.
    let ps = e.ok(&["ps", "-a", "--format", "{{.Command}} {{.Status}}"]);
    assert!(ps.contains("\"nosuch-command\" Created"), "{ps}");
    // A --rm container that failed to start is gone.
    assert!(!ps.contains("/etc"), "{ps}");
}

#[test]
fn create_inspect_ps_rename_rm() {
    let e = Engine::start("containers_create_ps");
    let id = e
        .ok(&[
            "create", "--name", "web", "-e", "A=1", "-l", "team=x", "-w", "/srv", "-h", "myhost",
            IMAGE, "sleep", "30",
        ])
        .trim()
        .to_string();
    assert_eq!(id.len(), 64);
    let v = e.inspect("web");
    assert_eq!(v["Id"], id.as_str());
    assert_eq!(v["Name"], "/web");
    assert_eq!(v["State"]["Status"], "created");
    assert_eq!(v["Config"]["Env"][0], "A=1");
    assert_eq!(v["Config"]["Labels"]["team"], "x");
    assert_eq!(v["Config"]["WorkingDir"], "/srv");
    assert_eq!(v["Config"]["Hostname"], "myhost");
    assert_eq!(v["Config"]["Image"], IMAGE);
    assert_eq!(v["HostConfig"]["NetworkMode"], "default");
    assert_eq!(v["HostConfig"]["LogConfig"]["Type"], "json-file");
    assert!(v["Image"].as_str().unwrap().starts_with("sha256:"));
    assert!(v["LogPath"].as_str().unwrap().ends_with("-json.log"));
    assert_eq!(v["Driver"], "overlay2");
    // Conflicting name: Docker's 409 wording (`create` exits 1 on it, `run` 125).
    let (code, err) = e.fails(&["create", "--name", "web", IMAGE, "true"]);
    assert_eq!(code, 1);
    assert!(
        err.contains(&format!(
            "Conflict. The container name \"/web\" is already in use by container \"{id}\""
        )),
        "{err}"
    );
    let (code, err) = e.fails(&["run", "--name", "web", IMAGE, "true"]);
    assert_eq!(code, 125);
    assert!(
        err.contains(&format!(
            "Conflict. The container name \"/web\" is already in use by container \"{id}\""
        )),
        "{err}"
    );
    // ps: created containers only with -a; filters; quiet.
    assert_eq!(e.ok(&["ps", "-q"]), "");
    assert_eq!(e.ok(&["ps", "-aq"]).trim(), &id[..12]);
    assert_eq!(
        e.ok(&[
            "ps",
            "-a",
            "--filter",
            "label=team=x",
            "--format",
            "{{.Names}}"
        ])
        .trim(),
        "web"
    );
    assert_eq!(e.ok(&["ps", "-a", "--filter", "status=exited", "-q"]), "");
    assert_eq!(
        e.ok(&[
            "ps",
            "-a",
            "--filter",
            "name=we",
            "--format",
            "{{.Names}} {{.Image}} {{.Status}}"
        ])
        .trim(),
        "web bb:latest Created"
    );
    let (_, err) = e.fails(&["ps", "--filter", "bogus=1"]);
    assert!(err.contains("invalid filter 'bogus'"), "{err}");
    // An anonymous container gets an adjective_surname name.
    e.ok(&["create", IMAGE, "true"]);
    let names = e.ok(&["ps", "-a", "--format", "{{.Names}}"]);
    assert!(
        names.lines().any(|n| n != "web" && n.contains('_')),
        "{names}"
    );
    // rename, then rm.
    e.ok(&["rename", "web", "api"]);
    assert_eq!(e.inspect(&id[..12])["Name"], "/api");
    let (code, err) = e.fails(&["inspect", "web"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("No such object: web") || err.contains("No such container: web"),
        "{err}"
    );
    e.ok(&["rm", "api"]);
    let (code, err) = e.fails(&["rm", "api"]);
    assert_eq!(code, 1);
    assert!(err.contains("No such container: api"), "{err}");
    assert!(!e.dir.join("data/containers").join(&id).exists());
}

#[test]
fn detached_logs_stop_and_rm_force() {
    let e = Engine::start("containers_detached_logs");
    let id = e.ok(&[
        "run",
        "-d",
        "--name",
        "d1",
        IMAGE,
        "sh",
        "-c",
        "echo one; echo two >&2; trap 'echo bye; exit 0' TERM; while true; do sleep 0.1; done",
    ]);
    assert_eq!(id.trim().len(), 64);
    e.until("logs", || e.ok(&["logs", "d1"]).contains("one"));
    let o = e.docker(&["logs", "d1"]);
    assert_eq!(
        (stdout(&o).as_str(), stderr(&o).as_str()),
        ("one\n", "two\n")
    );
    assert_eq!(e.status("d1"), "running");
    let ps = e.ok(&["ps", "--format", "{{.Names}} {{.Status}}"]);
    assert!(ps.starts_with("d1 Up "), "{ps}");
    // rm of a running container needs -f.
    let (code, err) = e.fails(&["rm", "d1"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("container is running: stop the container before removing or force remove"),
        "{err}"
    );
    // stop sends SIGTERM: the trap runs and the exit code is 0.
    e.ok(&["stop", "d1"]);
    let v = e.inspect("d1");
    assert_eq!(
        (
            v["State"]["Status"].as_str(),
            v["State"]["ExitCode"].as_i64()
        ),
        (Some("exited"), Some(0))
    );
    assert!(e.ok(&["logs", "d1"]).contains("bye"));
    // Stopping a stopped container is fine (304), and so is rm -f of a running one.
    e.ok(&["stop", "d1"]);
    e.ok(&["start", "d1"]);
    assert_eq!(e.status("d1"), "running");
    e.ok(&["rm", "-f", "d1"]);
    assert_eq!(e.ok(&["ps", "-aq"]), "");
    // Nothing left mounted or running for it.
    assert!(!std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .contains(id.trim()));
}

#[test]
fn rm_flag_removes_the_container_and_stdin_reaches_it() {
    let e = Engine::start("containers_rm_stdin");
    let o = e.with_stdin(
        &[
            "run",
            "--rm",
            "-i",
            IMAGE,
            "sh",
            "-c",
            "read x; echo got:$x",
        ],
        b"hello\n",
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "got:hello\n");
    assert_eq!(e.ok(&["ps", "-aq"]), "");
    let o = e.with_stdin(
        &["run", "-i", "--rm", IMAGE, "wc", "-c"],
        &vec![b'x'; 200_000],
    );
    assert_eq!(stdout(&o).trim(), "200000");
}

#[test]
fn wait_and_kill() {
    let e = Engine::start("containers_wait_kill");
    // PID 1 ignores signals it has no handler for (as in Docker): trap USR1.
    e.ok(&[
        "run",
        "-d",
        "--name",
        "w1",
        IMAGE,
        "sh",
        "-c",
        "trap 'exit 7' USR1; while true; do sleep 0.1; done",
    ]);
    let mut waiter = e
        .cmd(&["wait", "w1"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(
        waiter.try_wait().unwrap().is_none(),
        "wait returned while the container runs"
    );
    e.ok(&["kill", "-s", "USR1", "w1"]);
    let out = waiter.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "7");
    assert_eq!(e.inspect("w1")["State"]["ExitCode"], 7);
    let (code, err) = e.fails(&["kill", "w1"]);
    assert_eq!(code, 1);
    assert!(err.contains("is not running"), "{err}");
    // wait on a stopped container answers at once.
    assert_eq!(e.ok(&["wait", "w1"]).trim(), "7");
    // SIGKILL of a sleeping container: 137.
    e.ok(&["run", "-d", "--name", "w2", IMAGE, "sleep", "30"]);
    e.ok(&["kill", "w2"]);
    assert_eq!(e.ok(&["wait", "w2"]).trim(), "137");
}

#[test]
fn user_workdir_env_and_hostname_reach_the_process() {
    let e = Engine::start("containers_process_config");
    let out = e.ok(&[
        "run",
        "--rm",
        "-u",
        "65534:65534",
        "-w",
        "/work/dir",
        "-e",
        "FOO=bar",
        "-h",
        "box",
        IMAGE,
        "sh",
        "-c",
        "id -u; id -g; pwd; echo $FOO; hostname; cat /etc/hostname",
    ]);
    assert_eq!(out, "65534\n65534\n/work/dir\nbar\nbox\nbox\n");
    let out = e.ok(&["run", "--rm", "-u", "nobody", IMAGE, "id", "-un"]);
    assert_eq!(out.trim(), "nobody");
    // Default network: a private namespace with only loopback.
    let out = e.ok(&["run", "--rm", IMAGE, "sh", "-c", "ls /sys/class/net"]);
    assert_eq!(out.trim(), "lo");
    let out = e.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        IMAGE,
        "sh",
        "-c",
        "ls /sys/class/net",
    ]);
    assert_eq!(out.trim(), "lo");
    // Host network: the host's interfaces.
    let host_ifaces: usize = std::fs::read_dir("/sys/class/net").unwrap().count();
    let out = e.ok(&[
        "run",
        "--rm",
        "--network",
        "host",
        IMAGE,
        "sh",
        "-c",
        "ls /sys/class/net | wc -l",
    ]);
    assert_eq!(out.trim().parse::<usize>().unwrap(), host_ifaces);
}

#[test]
fn read_only_root_binds_and_tmpfs() {
    let e = Engine::start("containers_mounts");
    let host = e.dir.join("shared");
    std::fs::create_dir_all(&host).unwrap();
    std::fs::write(host.join("in.txt"), "from-host").unwrap();
    let bind = format!("{}:/data", host.display());
    let bind_ro = format!("{}:/ro:ro", host.display());
    let out = e.ok(&[
        "run", "--rm", "--read-only", "--tmpfs", "/scratch", "-v", &bind, "-v", &bind_ro, IMAGE, "sh", "-c",
        "cat /data/in.txt; echo; echo hi > /data/out.txt; touch /x 2>/dev/null || echo root-ro; touch /ro/y 2>/dev/null || echo bind-ro; echo t > /scratch/t && cat /scratch/t",
    ]);
    assert_eq!(out, "from-host\nroot-ro\nbind-ro\nt\n");
    assert_eq!(
        std::fs::read_to_string(host.join("out.txt")).unwrap(),
        "hi\n"
    );
    let v = {
        e.ok(&["create", "--name", "mnt", "-v", &bind_ro, IMAGE, "true"]);
        e.inspect("mnt")
    };
    assert_eq!(v["Mounts"][0]["Type"], "bind");
    assert_eq!(v["Mounts"][0]["Destination"], "/ro");
    assert_eq!(v["Mounts"][0]["RW"], false);
    assert_eq!(v["Mounts"][0]["Mode"], "ro");
}

#[test]
fn logs_since_until_tail_timestamps_follow() {
    let e = Engine::start("containers_logs_options");
    e.ok(&[
        "run",
        "-d",
        "--name",
        "lg",
        IMAGE,
        "sh",
        "-c",
        "for i in 1 2 3 4 5; do echo line$i; done; echo oops >&2; sleep 1.2; echo late; sleep 60",
    ]);
    e.until("first lines", || e.ok(&["logs", "lg"]).contains("line5"));
    // --tail counts entries of both streams, as Docker does.
    let o = e.docker(&["logs", "--tail", "3", "lg"]);
    assert_eq!(
        (stdout(&o), stderr(&o)),
        ("line4\nline5\n".to_string(), "oops\n".to_string())
    );
    let o = e.docker(&["logs", "--tail", "1", "lg"]);
    assert_eq!(
        (stdout(&o), stderr(&o)),
        (String::new(), "oops\n".to_string())
    );
    let ts = e.ok(&["logs", "-t", "--tail", "1", "lg"]);
    let o = e.docker(&["logs", "-t", "--tail", "1", "lg"]);
    let line = stderr(&o);
    let (stamp, text) = line.trim_end().split_once(' ').unwrap();
    assert_eq!(text, "oops", "{ts}");
    assert!(stamp.ends_with('Z') && stamp.contains('T'), "{stamp}");
    // --since after the first burst: only what came later; --until before it: nothing later.
    e.until("late line", || e.ok(&["logs", "lg"]).contains("late"));
    let all = e.docker(&["logs", "-t", "lg"]);
    let late_stamp = stdout(&all)
        .lines()
        .find(|l| l.ends_with("late"))
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .to_string();
    assert_eq!(e.ok(&["logs", "--since", &late_stamp, "lg"]), "late\n");
    assert_eq!(
        e.ok(&["logs", "--until", &stamp, "lg"]),
        "line1\nline2\nline3\nline4\nline5\n"
    );
    // -f follows until the container stops.
    let f = e
        .cmd(&["logs", "-f", "--tail", "0", "lg"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    e.ok(&["exec", "lg", "sh", "-c", "echo followed > /proc/1/fd/1"]);
    std::thread::sleep(std::time::Duration::from_millis(300));
    e.ok(&["stop", "-t", "0", "lg"]);
    let out = f.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "followed\n");
}

#[test]
fn json_file_rotation_keeps_max_file_files() {
    let e = Engine::start("containers_log_rotation");
    e.ok(&[
        "run",
        "--name",
        "rot",
        "--log-opt",
        "max-size=1k",
        "--log-opt",
        "max-file=3",
        IMAGE,
        "sh",
        "-c",
        "i=0; while [ $i -lt 200 ]; do echo line-$i-xxxxxxxxxxxxxxxxxxxxxxxx; i=$((i+1)); done",
    ]);
    let log = e.inspect("rot")["LogPath"].as_str().unwrap().to_string();
    assert!(std::path::Path::new(&format!("{log}.1")).exists());
    assert!(std::path::Path::new(&format!("{log}.2")).exists());
    assert!(!std::path::Path::new(&format!("{log}.3")).exists());
    let out = e.ok(&["logs", "rot"]);
    assert!(
        out.ends_with("line-199-xxxxxxxxxxxxxxxxxxxxxxxx\n"),
        "{out}"
    );
    assert!(
        !out.contains("line-0-"),
        "the oldest lines were rotated away"
    );
    let (code, err) = e.fails(&["run", "--log-opt", "max-file=2", IMAGE, "true"]);
    assert_eq!(code, 125);
    assert!(
        err.contains("max-file cannot be set without max-size"),
        "{err}"
    );
}

#[test]
fn init_is_pid_1_forwards_signals_and_is_read_only() {
    let e = Engine::start("containers_init");
    let out = e.ok(&["run", "--rm", "--init", IMAGE, "ps", "-o", "pid,args"]);
    let first = out.lines().nth(1).unwrap();
    assert!(
        first.trim_start().starts_with("1 ") && first.contains("/sbin/docker-init -- ps"),
        "{out}"
    );
    // sleep as a child of the init dies of SIGTERM at once: stop takes no 10 s grace period.
    e.ok(&["run", "-d", "--init", "--name", "ini", IMAGE, "sleep", "60"]);
    let t = std::time::Instant::now();
    e.ok(&["stop", "ini"]);
    assert!(
        t.elapsed() < std::time::Duration::from_secs(5),
        "{:?}",
        t.elapsed()
    );
    assert_eq!(e.inspect("ini")["State"]["ExitCode"], 143);
    let o = e.docker(&["run", "--rm", "--init", IMAGE, "sh", "-c", "exit 9"]);
    assert_eq!(o.status.code(), Some(9));
    // The host's binary is mounted read-only: no write reaches it (CVE-2019-5736).
    let bin = std::fs::read(berth_bin()).unwrap();
    let o = e.docker(&[
        "run",
        "--rm",
        "--init",
        IMAGE,
        "sh",
        "-c",
        "echo x > /sbin/docker-init || echo refused; echo y >> /proc/1/exe || echo refused",
    ]);
    assert_eq!(stdout(&o), "refused\nrefused\n", "{}", stderr(&o));
    assert_eq!(std::fs::read(berth_bin()).unwrap(), bin);
}

/// Whether `path` (a /proc/PID/exe link is followed) lies on a read-only mount.
fn on_read_only_mount(path: &str) -> bool {
    let c = std::ffi::CString::new(path).unwrap();
    // SAFETY: statvfs fills a zeroed struct from a NUL-terminated path.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::statvfs(c.as_ptr(), &mut st) };
    assert_eq!(r, 0, "statvfs {path}: {}", std::io::Error::last_os_error());
    st.f_flag & libc::ST_RDONLY != 0
}

#[test]
fn shims_and_their_runtime_forks_run_from_a_read_only_binary() {
    // CVE-2019-5736 through the daemon: the shim runs from a detached read-only bind of berth
    // and forks berth's runtime from there (no exec), so every container init starts out with a
    // read-only exe. The host's binary itself is on a writable mount.
    let e = Engine::start("containers_sealed_shim");
    assert!(!on_read_only_mount(berth_bin().to_str().unwrap()));
    e.ok(&["run", "-d", "--name", "sealed", IMAGE, "sleep", "60"]);
    let id = e.inspect("sealed")["Id"].as_str().unwrap().to_string();
    // The shim's directory is named by the id, shortened to fit socket paths.
    let shim_dir = std::fs::read_dir(e.exec_root().join("shims"))
        .unwrap()
        .flatten()
        .map(|d| d.path())
        .find(|p| id.starts_with(p.file_name().unwrap().to_str().unwrap()))
        .expect("the container's shim directory");
    let shim_pid = std::fs::read_to_string(shim_dir.join("shim.pid")).unwrap();
    let shim_pid = shim_pid.trim();
    assert!(on_read_only_mount(&format!("/proc/{shim_pid}/exe")));
    // Named as Docker's shims are (not after the descriptor it was exec'd through).
    assert_eq!(
        std::fs::read_to_string(format!("/proc/{shim_pid}/comm")).unwrap(),
        "containerd-shim\n"
    );
    // An exec'd process enters through a fork of the same shim.
    assert_eq!(e.ok(&["exec", "sealed", "echo", "in"]), "in\n");
    // The attack: an entrypoint of /proc/self/exe runs the runtime's own binary inside the
    // container (berth's static binary runs there: its docker-init role). What it runs from is
    // the read-only bind, so no write reaches the host's file.
    let bin = std::fs::read(berth_bin()).unwrap();
    e.ok(&[
        "run",
        "-d",
        "--name",
        "selfexe",
        "--entrypoint",
        "/proc/self/exe",
        IMAGE,
        "docker-init",
        "--",
        "sleep",
        "60",
    ]);
    let pid = e.inspect("selfexe")["State"]["Pid"].as_i64().unwrap();
    assert!(pid > 0, "{}", e.ok(&["logs", "selfexe"]));
    assert!(on_read_only_mount(&format!("/proc/{pid}/exe")));
    let w = std::fs::OpenOptions::new()
        .append(true)
        .open(format!("/proc/{pid}/exe"));
    assert!(w.is_err(), "the container's exe opened for writing");
    assert_eq!(std::fs::read(berth_bin()).unwrap(), bin);
    e.ok(&["rm", "-f", "sealed", "selfexe"]);
    assert!(!shim_dir.exists());
}

#[test]
fn attach_to_a_running_container() {
    let e = Engine::start("containers_attach");
    e.ok(&[
        "run",
        "-d",
        "-i",
        "--name",
        "at",
        IMAGE,
        "sh",
        "-c",
        "echo ready; read l; echo got:$l; exit 5",
    ]);
    e.until("ready", || e.ok(&["logs", "at"]).contains("ready"));
    let o = e.with_stdin(&["attach", "at"], b"hello\n");
    assert_eq!(stdout(&o), "got:hello\n", "{}", stderr(&o));
    assert_eq!(o.status.code(), Some(5));
    assert_eq!(e.inspect("at")["State"]["ExitCode"], 5);
    // `start -ai` attaches before starting: nothing is lost.
    let o = e.with_stdin(&["start", "-ai", "at"], b"again\n");
    assert_eq!(stdout(&o), "ready\ngot:again\n");
}

/// The shim directories under the exec root (one per task).
fn shim_count(e: &Engine) -> usize {
    std::fs::read_dir(e.exec_root().join("shims"))
        .map(|d| d.flatten().filter(|x| x.path().is_dir()).count())
        .unwrap_or(0)
}

/// Overlay mounts of this engine's containers.
fn rootfs_mounts(e: &Engine) -> usize {
    let root = e.exec_root().display().to_string();
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .filter(|l| l.split(' ').nth(4).is_some_and(|m| m.starts_with(&root)))
        .count()
}

#[test]
fn a_task_made_ahead_of_start_is_used_or_torn_down() {
    // After `create` the daemon makes the task (rootfs, shim, runtime create) in the
    // background, so `run`'s `start` only lets the init go. It is invisible: the container
    // stays Created, and an unused task goes after 2 s, on `update` and on `rm`.
    let e = Engine::start("containers_prepared");
    e.ok(&["create", "--name", "later", IMAGE, "echo", "started"]);
    assert_eq!(e.status("later"), "created");
    e.until("the task made ahead of start", || shim_count(&e) == 1);
    assert_eq!(rootfs_mounts(&e), 1);
    e.until("the unused task torn down", || {
        shim_count(&e) == 0 && rootfs_mounts(&e) == 0
    });
    assert_eq!(e.status("later"), "created");
    // A late start does the whole job.
    assert_eq!(e.ok(&["start", "-a", "later"]), "started\n");

    // update: the task made with the old resources is not the one that runs.
    e.ok(&[
        "create",
        "--name",
        "limits",
        "-m",
        "64m",
        IMAGE,
        "sh",
        "-c",
        "cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max",
    ]);
    e.until("the task made ahead of start", || shim_count(&e) == 1);
    e.ok(&["update", "-m", "32m", "--memory-swap", "64m", "limits"]);
    assert_eq!(shim_count(&e), 0);
    assert_eq!(e.ok(&["start", "-a", "limits"]), "33554432\n");

    // rm of a created container takes its task along.
    e.ok(&["create", "--name", "gone", IMAGE, "true"]);
    e.until("the task made ahead of start", || shim_count(&e) == 1);
    e.ok(&["rm", "gone"]);
    assert_eq!(shim_count(&e), 0);
    // The two exited containers' rootfs are unmounted.
    assert_eq!(rootfs_mounts(&e), 0);

    // A daemon killed with the task made: the restarted one removes it, and start works.
    let mut e = e;
    e.ok(&["create", "--name", "crash", IMAGE, "echo", "after"]);
    e.until("the task made ahead of start", || shim_count(&e) == 1);
    e.kill9_and_restart();
    assert_eq!(shim_count(&e), 0);
    assert_eq!(e.ok(&["start", "-a", "crash"]), "after\n");
    e.ok(&["rm", "later", "limits", "crash"]);
}

#[test]
fn mount_points_come_from_a_shared_init_layer() {
    // As Docker's init layer: the mount points the runtime needs (/proc, /sys, /dev and the
    // /etc files the daemon binds), /.dockerenv and /etc/mtab lie in one read-only layer per
    // image between the image's layers and each container's upper directory. A run allocates
    // nothing in its upper directory for them, and `diff` never shows them.
    let e = Engine::start("containers_init_layer");
    let out = e.ok(&[
        "run",
        "--name",
        "i1",
        "--hostname",
        "box",
        IMAGE,
        "sh",
        "-c",
        "test -f /.dockerenv && readlink /etc/mtab && test -d /proc/1 && cat /etc/hostname",
    ]);
    assert_eq!(out, "/proc/mounts\nbox\n");
    let lowers = |name: &str| -> Vec<String> {
        e.inspect(name)["GraphDriver"]["Data"]["LowerDir"]
            .as_str()
            .unwrap()
            .split(':')
            .map(String::from)
            .collect()
    };
    let upper = e.inspect("i1")["GraphDriver"]["Data"]["UpperDir"]
        .as_str()
        .unwrap()
        .to_string();
    let written: Vec<_> = std::fs::read_dir(&upper).unwrap().flatten().collect();
    assert!(written.is_empty(), "upper dir of a bare run: {written:?}");
    assert_eq!(e.ok(&["diff", "i1"]), "");
    let init = lowers("i1")[0].clone();
    assert!(init.ends_with("/init"), "{init}");
    for p in [
        "proc",
        "sys",
        "dev",
        "etc/hosts",
        "etc/hostname",
        "etc/resolv.conf",
        ".dockerenv",
    ] {
        assert!(
            std::fs::symlink_metadata(std::path::Path::new(&init).join(p)).is_ok(),
            "{p} in {init}"
        );
    }
    // Shared: a second container of the image stacks the same directory.
    e.ok(&["create", "--name", "i2", IMAGE, "true"]);
    assert_eq!(lowers("i2")[0], init);
    // A write lands in the container's own upper directory, never in the shared layer.
    e.ok(&[
        "run",
        "--name",
        "i3",
        IMAGE,
        "sh",
        "-c",
        "echo x > /etc/extra",
    ]);
    assert_eq!(e.ok(&["diff", "i3"]), "C /etc\nA /etc/extra\n");
    assert!(!std::path::Path::new(&init).join("etc/extra").exists());
    // The layer goes with the image's layers once nothing uses them.
    e.ok(&["rm", "i1", "i2", "i3"]);
    e.ok(&["rmi", IMAGE]);
    assert!(!std::path::Path::new(&init).exists(), "{init} left behind");
}

#[test]
fn seccomp_confines_containers_as_docker_does() {
    // The built-in profile by default: the process runs under a filter (Seccomp: 2), and what
    // no capability stops but the profile does (a user namespace) is refused. Unconfined and
    // --privileged run without a filter; --cap-add SYS_ADMIN brings mount back; a profile of
    // the user's (the Docker CLI sends the file's contents) applies instead of the default.
    let e = Engine::start("containers_seccomp");
    let probe = "grep '^Seccomp:' /proc/self/status | tr -d '\\t'; unshare -U true 2>/dev/null && echo userns || echo no-userns";
    assert_eq!(
        e.ok(&["run", "--rm", IMAGE, "sh", "-c", probe]),
        "Seccomp:2\nno-userns\n"
    );
    assert_eq!(
        e.ok(&[
            "run",
            "--rm",
            "--security-opt",
            "seccomp=unconfined",
            IMAGE,
            "sh",
            "-c",
            probe
        ]),
        "Seccomp:0\nuserns\n"
    );
    // Exec'd processes get the container's filter.
    e.ok(&["run", "-d", "--name", "sc", IMAGE, "sleep", "60"]);
    assert_eq!(
        e.ok(&[
            "exec",
            "sc",
            "sh",
            "-c",
            "grep '^Seccomp:' /proc/self/status | tr -d '\\t'"
        ]),
        "Seccomp:2\n"
    );
    e.ok(&["rm", "-f", "sc"]);
    assert_eq!(
        e.ok(&[
            "run",
            "--rm",
            IMAGE,
            "sh",
            "-c",
            "mkdir /m; mount -t tmpfs t /m 2>/dev/null && echo mounted || echo refused"
        ]),
        "refused\n"
    );
    assert_eq!(
        e.ok(&[
            "run",
            "--rm",
            "--cap-add",
            "SYS_ADMIN",
            IMAGE,
            "sh",
            "-c",
            "mkdir /m; mount -t tmpfs t /m && echo mounted"
        ]),
        "mounted\n"
    );
    let profile = e.dir.join("no-mkdir.json");
    std::fs::write(
        &profile,
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO"}]}"#,
    )
    .unwrap();
    let opt = format!("seccomp={}", profile.display());
    assert_eq!(
        e.ok(&[
            "run",
            "--rm",
            "--security-opt",
            &opt,
            IMAGE,
            "sh",
            "-c",
            "mkdir /x 2>&1; echo $?"
        ]),
        "mkdir: can't create directory '/x': Operation not permitted\n1\n"
    );
    // Inspect shows the option as the CLI sent it: the profile's text.
    e.ok(&[
        "create",
        "--name",
        "sp",
        "--security-opt",
        &opt,
        IMAGE,
        "true",
    ]);
    let sec = e.inspect("sp")["HostConfig"]["SecurityOpt"].to_string();
    assert!(sec.contains("mkdirat"), "{sec}");
    e.ok(&["rm", "sp"]);
    // A profile the daemon refuses (the CLI itself checks only that it is JSON): the exit code
    // for a daemon error, Docker's words.
    std::fs::write(
        &profile,
        r#"{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86_64"],"archMap":[{"architecture":"SCMP_ARCH_X86_64"}]}"#,
    )
    .unwrap();
    let (code, err) = e.fails(&["run", "--rm", "--security-opt", &opt, IMAGE, "true"]);
    assert_eq!(code, 125);
    assert!(
        err.contains("use either 'architectures' or 'archMap'"),
        "{err}"
    );
    assert_eq!(e.ok(&["ps", "-aq"]), "", "nothing left of the refused run");
    assert_eq!(
        e.ok(&["info", "--format", "{{json .SecurityOptions}}"])
            .trim(),
        r#"["name=seccomp,profile=builtin"]"#
    );
}

#[test]
fn the_daemon_seccomp_profile_is_the_default_of_its_containers() {
    let e = Engine::start_with(
        "containers_seccomp_daemon",
        &["--seccomp-profile", "unconfined"],
    );
    assert_eq!(
        e.ok(&[
            "run",
            "--rm",
            IMAGE,
            "sh",
            "-c",
            "grep '^Seccomp:' /proc/self/status | tr -d '\\t'"
        ]),
        "Seccomp:0\n"
    );
    assert_eq!(
        e.ok(&["info", "--format", "{{json .SecurityOptions}}"])
            .trim(),
        r#"["name=seccomp,profile=unconfined"]"#
    );
    // A container may still ask for the built-in one.
    assert_eq!(
        e.ok(&[
            "run",
            "--rm",
            "--security-opt",
            "seccomp=builtin",
            IMAGE,
            "sh",
            "-c",
            "grep '^Seccomp:' /proc/self/status | tr -d '\\t'"
        ]),
        "Seccomp:2\n"
    );
    // A profile file that cannot be read stops the daemon from starting, saying why.
    let dir = TestDir::new("containers_seccomp_bad");
    let missing = dir.join("missing.json");
    let o = common::daemon::Dockerd::command(
        &dir.path,
        &["--seccomp-profile", missing.to_str().unwrap()],
    )
    .output()
    .unwrap();
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("opening seccomp profile"), "{err}");
}

#[test]
fn auto_removal_leaves_nothing_and_image_removal_waits_for_it() {
    // `run --rm` answers once the container is removed: whatever comes next sees it gone, and
    // an `rmi` straight after deletes the image and its layer, leaving no mount, snapshot or
    // container directory behind.
    let e = Engine::start("containers_autoremove");
    let data = e.dir.join("data");
    for i in 0..5 {
        assert_eq!(
            e.ok(&[
                "run",
                "--rm",
                "--name",
                "gone",
                IMAGE,
                "echo",
                &i.to_string()
            ]),
            format!("{i}\n")
        );
        assert_eq!(e.ok(&["ps", "-aq"]), "");
    }
    e.ok(&["run", "--rm", IMAGE, "true"]);
    let out = e.ok(&["rmi", IMAGE]);
    assert_eq!(
        out.lines().filter(|l| l.starts_with("Deleted: ")).count(),
        2,
        "the image and its layer: {out}"
    );
    let entries = |p: &std::path::Path| -> Vec<String> {
        std::fs::read_dir(p)
            .map(|r| {
                r.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default()
    };
    assert_eq!(entries(&data.join("image/snapshots")), Vec::<String>::new());
    assert_eq!(entries(&data.join("image/layers")), Vec::<String>::new());
    assert_eq!(entries(&data.join("containers")), Vec::<String>::new());
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let ours: Vec<&str> = mounts
        .lines()
        .filter(|l| l.contains(e.dir.path.to_str().unwrap()) && l.contains(" - overlay "))
        .collect();
    assert!(ours.is_empty(), "{ours:?}");
}
