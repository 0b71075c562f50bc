//! Container scenarios with berth's docker client, each run against Debian's dockerd 20.10 and
//! against berth's dockerd (where it serves the endpoints). Outputs are compared with the
//! Docker CLI 28 against the same daemon wherever both clients can run the same command.
mod client_support;
mod common;
use client_support::*;
use common::*;
use std::process::Stdio;
use std::time::Duration;

const CONTAINER_ROUTES: &[(&str, &str)] = &[
    ("POST", "/containers/create"),
    ("GET", "/containers/json"),
    ("POST", "/containers/x/start"),
    ("POST", "/containers/x/wait"),
    ("POST", "/containers/x/attach"),
    ("GET", "/containers/x/json"),
    ("DELETE", "/containers/x"),
];

fn with_stdin(d: &Daemon, args: &[&str], input: &[u8], real: bool) -> std::process::Output {
    let mut c = if real {
        d.real_cmd(args)
    } else {
        d.berth_cmd(args)
    };
    c.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    {
        use std::io::Write;
        let mut i = child.stdin.take().unwrap();
        i.write_all(input).unwrap();
    }
    child.wait_with_output().unwrap()
}

fn is_id(s: &str) -> bool {
    s.len() == 65 && s.ends_with('\n') && s[..64].bytes().all(|c| c.is_ascii_hexdigit())
}

fn run_scenario(d: &Daemon) {
    d.load_small();
    let host_dir = d.dir.join("hostdir");
    std::fs::create_dir_all(&host_dir).unwrap();
    std::fs::write(host_dir.join("f"), "from the host\n").unwrap();
    let bind = format!("{}:/mnt:ro", host_dir.display());
    for args in [
        &["run", "--rm", "small:peer", "echo", "hi"][..],
        &[
            "run",
            "--rm",
            "small:peer",
            "sh",
            "-c",
            "echo out; echo err >&2; exit 3",
        ],
        &["run", "--rm", "small:peer", "nosuchcmd"],
        &["run", "--rm", "small:peer", "/data"],
        &[
            "run",
            "--rm",
            "-e",
            "A=1",
            "--env",
            "B=two words",
            "-w",
            "/tmp",
            "-u",
            "65534:65534",
            "small:peer",
            "sh",
            "-c",
            "echo $A $B $(pwd) $(id -u) $(id -g)",
        ],
        &[
            "run",
            "--rm",
            "--entrypoint",
            "echo",
            "small:peer",
            "a",
            "b",
        ],
        &["run", "--rm", "--init", "small:peer", "ps", "-o", "comm"],
        &["run", "--rm", "-h", "myhost", "small:peer", "hostname"],
        &[
            "run",
            "--rm",
            "-m",
            "64m",
            "small:peer",
            "cat",
            "/sys/fs/cgroup/memory/memory.limit_in_bytes",
        ],
        &[
            "run",
            "--rm",
            "--pids-limit",
            "10",
            "small:peer",
            "cat",
            "/sys/fs/cgroup/pids/pids.max",
        ],
        &[
            "run",
            "--rm",
            "--cpus",
            "0.5",
            "small:peer",
            "cat",
            "/sys/fs/cgroup/cpu/cpu.cfs_quota_us",
        ],
        &["run", "--rm", "-v", &bind, "small:peer", "cat", "/mnt/f"],
        &["run", "--rm", "--read-only", "small:peer", "touch", "/x"],
        &["run", "--rm", "-l", "a=b", "small:peer", "true"],
        &["run", "--rm", "--pull", "never", "nosuch:img", "true"],
        &["run", "--rm", "127.0.0.1:1/nosuch:img", "true"],
        &["run", "--rm", "--pull", "sometimes", "small:peer"],
        &["run", "--rm", "--restart", "always", "small:peer"],
        &["run", "-it", "--rm", "small:peer", "true"],
        &["run", "--rm", "-p", "x:80", "small:peer"],
        &["create", "--rm", "--restart", "on-failure:x", "small:peer"],
        &["run", "--rm", "small:peer", "sh", "-c", "exit 255"],
    ] {
        d.same(args, exact);
    }
    // Piped stdin without a TTY.
    let b = with_stdin(
        d,
        &["run", "-i", "--rm", "small:peer", "cat"],
        b"hi\nthere\n",
        false,
    );
    let r = with_stdin(
        d,
        &["run", "-i", "--rm", "small:peer", "cat"],
        b"hi\nthere\n",
        true,
    );
    assert_eq!(
        (out(&b), b.status.code()),
        ("hi\nthere\n".to_string(), Some(0)),
        "{}",
        err(&b)
    );
    assert_eq!(out(&b), out(&r));
    let b = with_stdin(
        d,
        &[
            "run",
            "-i",
            "--rm",
            "small:peer",
            "sh",
            "-c",
            "wc -c; exit 2",
        ],
        &[b'x'; 100_000],
        false,
    );
    assert_eq!((out(&b).trim(), b.status.code()), ("100000", Some(2)));
    // -d prints the full id; --rm then removes it once it ends; --cidfile holds it too.
    let cid = d.dir.join("cid");
    let id = d.ok(&[
        "run",
        "-d",
        "--rm",
        "--cidfile",
        cid.to_str().unwrap(),
        "small:peer",
        "sh",
        "-c",
        "sleep 0.3",
    ]);
    assert!(is_id(&id), "{id:?}");
    assert_eq!(std::fs::read_to_string(&cid).unwrap(), id.trim());
    assert_eq!(
        d.ok(&["wait", id.trim()])
            .trim()
            .parse::<i32>()
            .unwrap_or(0),
        0
    );
    std::thread::sleep(Duration::from_millis(300));
    // A name in use: both clients report the daemon's conflict with exit 125.
    d.ok(&["create", "--name", "taken", "small:peer"]);
    d.same(&["run", "--name", "taken", "small:peer"], exact);
    d.same(&["create", "--name", "taken", "small:peer"], exact);
    d.ok(&["rm", "taken"]);
    d.same(&["ps", "-a"], times);
    assert_eq!(d.ok(&["ps", "-aq"]), "", "--rm containers are gone");
}

fn lifecycle_scenario(d: &Daemon) {
    d.load_small();
    // A stable process tree (top is compared), and a trap that `stop` triggers.
    let script = "echo hello; echo oops >&2; trap 'echo bye; exit 7' TERM; sleep 1000 & wait";
    let id = d.ok(&[
        "create",
        "--name",
        "c1",
        "-l",
        "role=test",
        "small:peer",
        "sh",
        "-c",
        script,
    ]);
    assert!(is_id(&id));
    d.same(&["ps", "-a"], times);
    assert_eq!(d.ok(&["start", "c1"]), "c1\n");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !d.ok(&["logs", "c1"]).contains("hello") {
        assert!(std::time::Instant::now() < deadline, "no output from c1");
        std::thread::sleep(Duration::from_millis(50));
    }
    for args in [
        &["ps"][..],
        &["ps", "-a"],
        &["ps", "-q"],
        &["ps", "--no-trunc"],
        &["ps", "-s"],
        &["ps", "-n", "1"],
        &["ps", "-l"],
        &["ps", "--format", "json"],
        &["ps", "-f", "name=c1", "--format", "{{.Names}} {{.Label \"role\"}} {{.State}}"],
        &["ps", "-f", "status=exited"],
        &["ps", "--format", "table {{.ID}}\\t{{.Names}}\\t{{.Labels}}"],
        &["container", "ls", "-a", "--format", "{{.Image}} {{.Command}} {{.Mounts}} {{.Networks}}"],
        &["logs", "c1"],
        &["logs", "-t", "c1"],
        &["logs", "--tail", "1", "c1"],
        &["logs", "--since", "1h", "c1"],
        &["logs", "--until", "2000-01-01T00:00:00Z", "c1"],
        &["logs", "nosuch"],
        &["exec", "c1", "echo", "from exec"],
        &["exec", "c1", "sh", "-c", "echo to err >&2; exit 4"],
        &["exec", "-e", "X=1", "-w", "/tmp", "-u", "65534", "c1", "sh", "-c", "echo $X $(pwd) $(id -u)"],
        &["exec", "c1", "nosuchcmd"],
        &["exec", "nosuch", "true"],
        &["exec", "-it", "c1", "true"],
        &["top", "c1", "-o", "pid,comm"],
        &["port", "c1"],
        &["port", "c1", "80"],
        &["inspect", "-f", "{{.State.Status}} {{.Name}} {{.Config.Cmd}} {{.Config.Labels}} {{.HostConfig.RestartPolicy.Name}}", "c1"],
        &["container", "inspect", "--format", "{{json .Config.Env}}", "c1"],
        &["inspect", "c1"],
        &["diff", "c1"],
        &["rename", "nosuch", "x"],
        &["unpause", "c1"],
    ] {
        d.same(args, times);
    }
    // pause/unpause
    assert_eq!(d.ok(&["pause", "c1"]), "c1\n");
    d.same(&["ps", "--format", "{{.Names}} {{.State}}"], exact);
    d.same(&["pause", "c1"], exact);
    assert_eq!(d.ok(&["unpause", "c1"]), "c1\n");
    // rename, update, stats
    assert_eq!(d.ok(&["rename", "c1", "c2"]), "");
    assert_eq!(
        d.ok(&[
            "update",
            "--memory",
            "96m",
            "--memory-swap",
            "192m",
            "--restart",
            "on-failure:2",
            "c2"
        ]),
        "c2\n"
    );
    d.same(
        &[
            "inspect",
            "-f",
            "{{.HostConfig.Memory}} {{.HostConfig.MemorySwap}} {{.HostConfig.RestartPolicy}}",
            "c2",
        ],
        exact,
    );
    d.same(&["update", "c2"], exact);
    let s = d.ok(&[
        "stats",
        "--no-stream",
        "--format",
        "{{.Name}} {{.PIDs}} {{.MemUsage}}",
        "c2",
    ]);
    assert!(s.starts_with("c2 ") && s.contains(" / 96MiB"), "{s}");
    let s = d.ok(&["stats", "--no-stream", "c2"]);
    assert!(
        s.starts_with("CONTAINER ID   NAME      CPU %     MEM USAGE / LIMIT"),
        "{s}"
    );
    // stop: the trap runs, the exit code is the container's.
    assert_eq!(d.ok(&["stop", "-t", "5", "c2"]), "c2\n");
    d.same(&["wait", "c2"], exact);
    d.same(&["logs", "c2"], exact);
    d.same(&["ps", "-a", "--format", "{{.Names}} {{.Status}}"], times);
    assert_eq!(d.ok(&["restart", "-t", "1", "c2"]), "c2\n");
    assert_eq!(d.ok(&["kill", "-s", "KILL", "c2"]), "c2\n");
    d.same(&["wait", "c2"], exact);
    d.same(&["kill", "c2"], exact);
    d.same(&["stop", "nosuch", "c2"], exact);
    // commit, export
    let img = d.ok(&[
        "commit",
        "-m",
        "a message",
        "-a",
        "a tester",
        "-c",
        "ENV COMMITTED=1",
        "c2",
        "committed:v1",
    ]);
    assert!(img.starts_with("sha256:"), "{img}");
    d.same(
        &[
            "inspect",
            "-f",
            "{{.Comment}}|{{.Author}}|{{.Config.Env}}",
            "committed:v1",
        ],
        exact,
    );
    let tar = d.dir.join("export.tar");
    d.ok(&["export", "-o", tar.to_str().unwrap(), "c2"]);
    let list = std::process::Command::new("tar")
        .arg("tf")
        .arg(&tar)
        .output()
        .unwrap();
    assert!(
        out(&list).lines().any(|l| l == "bin/busybox"),
        "{}",
        out(&list)
    );
    d.same(&["export", "nosuch"], exact);
    // rm
    d.same(&["rm", "nosuch"], exact);
    d.same(&["rm", "-f", "nosuch"], exact);
    assert_eq!(d.ok(&["rm", "c2"]), "c2\n");
    d.ok(&["create", "--name", "gone", "small:peer"]);
    let out_ = d.ok(&["container", "prune", "-f"]);
    assert!(
        out_.starts_with("Deleted Containers:\n")
            && out_.ends_with("\n\nTotal reclaimed space: 0B\n"),
        "{out_}"
    );
    d.same(&["container", "prune", "-f"], exact);
    d.same(&["ps", "-a"], exact);
}

fn attach_and_wait_scenario(d: &Daemon) {
    d.load_small();
    d.ok(&[
        "run",
        "-d",
        "--name",
        "a1",
        "small:peer",
        "sh",
        "-c",
        "sleep 1; echo late; exit 5",
    ]);
    let o = d.berth(&["attach", "a1"]);
    assert_eq!(
        (out(&o), o.status.code()),
        ("late\n".to_string(), Some(5)),
        "{}",
        err(&o)
    );
    d.same(&["attach", "a1"], exact);
    d.same(&["wait", "a1"], exact);
    // start -a / -ai
    d.ok(&[
        "create",
        "-i",
        "--name",
        "a2",
        "small:peer",
        "sh",
        "-c",
        "read x; echo got $x; exit 6",
    ]);
    let o = with_stdin(d, &["start", "-ai", "a2"], b"line\n", false);
    assert_eq!(
        (out(&o), o.status.code()),
        ("got line\n".to_string(), Some(6)),
        "{}",
        err(&o)
    );
    d.same(&["start", "nosuch", "nosuch2"], exact);
    d.same(&["start", "-a", "a1", "a2"], exact);
    d.ok(&["rm", "-f", "a1", "a2"]);
}

fn cp_scenario(d: &Daemon) {
    d.load_small();
    d.ok(&["run", "-d", "--name", "cp1", "small:peer", "sleep", "60"]);
    let host = d.dir.join("cp");
    std::fs::create_dir_all(&host).unwrap();
    let dst = host.to_str().unwrap();
    // A directory into an existing directory, then its contents into a new one.
    assert_eq!(d.ok(&["cp", "cp1:/data", dst]), "");
    for f in ["keep.txt", "three.txt", "dir/b.txt", "hard", "rand.bin"] {
        assert!(host.join("data").join(f).is_file(), "{f}");
    }
    assert_eq!(
        std::fs::read_link(host.join("data/link")).unwrap().to_str(),
        Some("keep.txt")
    );
    assert_eq!(
        std::fs::read_to_string(host.join("data/three.txt")).unwrap(),
        "three\n"
    );
    d.ok(&["cp", "cp1:/data/.", &format!("{dst}/contents")]);
    assert!(host.join("contents/keep.txt").is_file());
    // A file to a new name; a symlink as a link and, with -L, as its target.
    d.ok(&["cp", "cp1:/data/keep.txt", &format!("{dst}/k.txt")]);
    assert_eq!(
        std::fs::read_to_string(host.join("k.txt")).unwrap(),
        "keep\n"
    );
    d.ok(&["cp", "cp1:/data/link", &format!("{dst}/l")]);
    assert!(std::fs::symlink_metadata(host.join("l"))
        .unwrap()
        .file_type()
        .is_symlink());
    d.ok(&["cp", "-L", "cp1:/data/link", &format!("{dst}/l2")]);
    assert_eq!(std::fs::read_to_string(host.join("l2")).unwrap(), "keep\n");
    // To the container: a file into a directory, a directory to a new path, a tar on stdin.
    std::fs::write(host.join("up.txt"), "uploaded\n").unwrap();
    d.ok(&["cp", &format!("{dst}/up.txt"), "cp1:/tmp/"]);
    d.ok(&["cp", &format!("{dst}/data"), "cp1:/newdir"]);
    let tarball = std::process::Command::new("tar")
        .arg("-C")
        .arg(&host)
        .args(["-cf", "-", "up.txt"])
        .output()
        .unwrap()
        .stdout;
    let o = with_stdin(d, &["cp", "-", "cp1:/data/dir"], &tarball, false);
    assert!(o.status.success(), "{}", err(&o));
    d.same(
        &[
            "exec",
            "cp1",
            "sh",
            "-c",
            "cat /tmp/up.txt /data/dir/up.txt; ls /newdir",
        ],
        exact,
    );
    // To stdout as a tar.
    let o = d.berth(&["cp", "cp1:/data/dir", "-"]);
    let names = std::process::Command::new("tar")
        .arg("t")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let listing = {
        use std::io::Write;
        let mut n = names;
        n.stdin.take().unwrap().write_all(&o.stdout).unwrap();
        out(&n.wait_with_output().unwrap())
    };
    assert_eq!(listing, "dir/\ndir/b.txt\ndir/up.txt\n");
    // Errors, word for word.
    for args in [
        &["cp", "cp1:/nosuch", dst][..],
        &["cp", &format!("{dst}/up.txt"), "cp1:/nosuchdir/x"],
        &["cp", "nosuch:/x", dst],
        &["cp", "cp1:/data", "cp1:/x"],
        &["cp", dst, dst],
    ] {
        d.same(args, exact);
    }
    d.ok(&["rm", "-f", "cp1"]);
}

fn events_scenario(d: &Daemon) {
    d.load_small();
    let t0 = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    d.ok(&["run", "--rm", "--name", "ev", "small:peer", "true"]);
    std::thread::sleep(Duration::from_millis(1100));
    let t1 = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 1;
    std::thread::sleep(Duration::from_millis(1100));
    let (since, until) = (t0.to_string(), t1.to_string());
    for fmt in [
        None,
        Some("{{json .}}"),
        Some("{{.Type}} {{.Action}} {{.Actor.Attributes.name}}"),
    ] {
        let mut args = vec![
            "events",
            "--since",
            &since,
            "--until",
            &until,
            "-f",
            "container=ev",
        ];
        if let Some(f) = fmt {
            args.extend(["--format", f]);
        }
        let o = d.same(&args, exact);
        assert!(out(&o).contains("start"), "{}", out(&o));
    }
    d.same(&["events", "--since", "nonsense"], exact);
}

fn signals_scenario(d: &Daemon) {
    d.load_small();
    // Without a TTY the client forwards SIGTERM to the container (--sig-proxy is on).
    let script = "trap 'echo got TERM; exit 7' TERM; echo ready; while :; do sleep 0.1; done";
    let mut c = d.berth_cmd(&[
        "run",
        "--rm",
        "--name",
        "sig",
        "small:peer",
        "sh",
        "-c",
        script,
    ]);
    c.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !out(&d.berth(&["logs", "sig"])).contains("ready") {
        assert!(
            std::time::Instant::now() < deadline,
            "container sig never ran"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // SAFETY: kill(2) of the client process this test started.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let st = wait_timeout(&mut child, Duration::from_secs(15))
        .expect("client did not end after the container did");
    let o = child.wait_with_output().unwrap();
    assert_eq!(st.code(), Some(7), "{}", err(&o));
    assert_eq!(out(&o), "ready\ngot TERM\n");
    // --sig-proxy=false: the signal ends the client; the container keeps running.
    let mut c = d.berth_cmd(&[
        "run",
        "--sig-proxy=false",
        "--name",
        "nosig",
        "small:peer",
        "sh",
        "-c",
        script,
    ]);
    c.stdout(Stdio::piped());
    let mut child = c.spawn().unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !out(&d.berth(&["logs", "nosig"])).contains("ready") {
        assert!(
            std::time::Instant::now() < deadline,
            "container nosig never ran"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // SAFETY: kill(2) of the client process this test started.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    assert!(wait_timeout(&mut child, Duration::from_secs(10)).is_some());
    assert_eq!(
        d.ok(&["inspect", "-f", "{{.State.Running}}", "nosig"]),
        "true\n"
    );
    d.ok(&["rm", "-f", "nosig"]);
}

fn scenarios(kind: Kind, name: &str, f: fn(&Daemon)) {
    require_root();
    let d = Daemon::start(kind, name);
    if kind == Kind::Berth && !d.require(name, CONTAINER_ROUTES) {
        return;
    }
    f(&d);
    d.remove_all_containers();
}

#[test]
fn run_on_real_dockerd() {
    scenarios(Kind::Real, "client_run", run_scenario);
}
#[test]
fn run_on_berth_dockerd() {
    scenarios(Kind::Berth, "client_run", run_scenario);
}
#[test]
fn lifecycle_on_real_dockerd() {
    scenarios(Kind::Real, "client_lifecycle", lifecycle_scenario);
}
#[test]
fn lifecycle_on_berth_dockerd() {
    scenarios(Kind::Berth, "client_lifecycle", lifecycle_scenario);
}
#[test]
fn attach_on_real_dockerd() {
    scenarios(Kind::Real, "client_attach", attach_and_wait_scenario);
}
#[test]
fn attach_on_berth_dockerd() {
    scenarios(Kind::Berth, "client_attach", attach_and_wait_scenario);
}
#[test]
fn cp_on_real_dockerd() {
    scenarios(Kind::Real, "client_cp", cp_scenario);
}
/// berth's daemon does not serve the archive endpoints yet (`docker cp` comes with a later
/// issue): both clients must report that the same way, and nothing is left behind.
#[test]
fn cp_on_berth_dockerd_is_refused_as_docker_refuses_it() {
    require_root();
    let d = Daemon::start(Kind::Berth, "client_cp");
    assert!(
        !d.serves("GET", "/containers/x/archive"),
        "berth serves the archive now: run cp_scenario against it"
    );
    d.load_small();
    d.ok(&["run", "-d", "--name", "cp1", "small:peer", "sleep", "60"]);
    let dst = d.dir.join("cp");
    let o = d.same(&["cp", "cp1:/etc/hostname", dst.to_str().unwrap()], exact);
    assert_eq!(o.status.code(), Some(1), "{}", err(&o));
    assert!(!dst.exists());
    d.remove_all_containers();
}
#[test]
fn events_on_real_dockerd() {
    scenarios(Kind::Real, "client_events", events_scenario);
}
#[test]
fn events_on_berth_dockerd() {
    require_root();
    let d = Daemon::start(Kind::Berth, "client_events");
    if d.require("client_events", CONTAINER_ROUTES)
        && d.require("client_events", &[("GET", "/events")])
    {
        events_scenario(&d);
    }
}
#[test]
fn signals_on_real_dockerd() {
    scenarios(Kind::Real, "client_signals", signals_scenario);
}
#[test]
fn signals_on_berth_dockerd() {
    scenarios(Kind::Berth, "client_signals", signals_scenario);
}

#[test]
fn api_version_negotiation_and_override() {
    require_root();
    let d = Daemon::start(Kind::Real, "client_apiversion");
    let v = d.ok(&["version"]);
    assert!(
        v.contains(" API version:       1.41 (downgraded from 1.50)\n"),
        "{v}"
    );
    assert!(
        v.contains("  API version:      1.41 (minimum version 1.12)\n"),
        "{v}"
    );
    // A fixed version is used as is, without a ping.
    let o = d
        .berth_cmd(&["version", "--format", "{{.Client.APIVersion}}"])
        .env("DOCKER_API_VERSION", "1.40")
        .output()
        .unwrap();
    assert_eq!(out(&o), "1.40\n", "{}", err(&o));
    let r = d
        .real_cmd(&["version", "--format", "{{.Client.APIVersion}}"])
        .env("DOCKER_API_VERSION", "1.40")
        .output()
        .unwrap();
    assert_eq!(out(&o), out(&r));
    // Too new for this daemon: its own words.
    let o = d
        .berth_cmd(&["ps"])
        .env("DOCKER_API_VERSION", "1.99")
        .output()
        .unwrap();
    let r = d
        .real_cmd(&["ps"])
        .env("DOCKER_API_VERSION", "1.99")
        .output()
        .unwrap();
    assert_eq!((err(&o), o.status.code()), (err(&r), r.status.code()));
    // berth's daemon speaks 1.50: no downgrade.
    let b = Daemon::start(Kind::Berth, "client_apiversion");
    let v = b.ok(&["version"]);
    assert!(
        v.contains(" API version:       1.50\n") && !v.contains("downgraded"),
        "{v}"
    );
}

#[test]
fn tcp_hosts_and_dash_h() {
    require_root();
    let port = free_port();
    let tcp = format!("tcp://127.0.0.1:{port}");
    let d = Daemon::start_with(Kind::Berth, "client_tcp", &["-H", &tcp]);
    for host in [
        tcp.clone(),
        format!("tcp://localhost:{port}"),
        format!("127.0.0.1:{port}"),
    ] {
        let o = d
            .berth_cmd(&["version", "--format", "{{.Server.Version}}"])
            .env("DOCKER_HOST", &host)
            .output()
            .unwrap();
        assert_eq!(out(&o), "0.1.0-berth\n", "DOCKER_HOST={host}: {}", err(&o));
    }
    let o = d
        .berth_cmd(&["-H", &tcp, "info", "--format", "{{.Name}}"])
        .env("DOCKER_HOST", "unix:///nonexistent.sock")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", err(&o));
    let o = d
        .berth_cmd(&["-H", &tcp, "-H", &d.host(), "ps"])
        .output()
        .unwrap();
    let r = d
        .real_cmd(&["-H", &tcp, "-H", &d.host(), "ps"])
        .output()
        .unwrap();
    assert_eq!((err(&o), o.status.code()), (err(&r), r.status.code()));
}
