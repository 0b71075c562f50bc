//! Containers through shims with the real runtime: logs, exit codes, tty, attach, exec, kill,
//! pause/resume, rotation, and what a shim looks like from outside.
mod common;
mod supervisor_util;
use berth::supervisor::{AttachOpts, ExecSpec, Status};

use supervisor_util::*;

#[test]
fn run_logs_stdout_and_stderr_and_records_the_exit_code() {
    let env = Env::new("sup_run_logs");
    let b = env.bundle(
        "b",
        &[
            "/bin/sh",
            "-c",
            "echo out; echo err >&2; echo '<tag> & \"q\"'; exit 3",
        ],
        |_| {},
    );
    let mut o = env.opts("c1", &b);
    o.log = Some(env.log("c1-json.log"));
    let st = block_on_timeout(20, env.sup.create(o)).unwrap();
    assert_eq!(st.status, Status::Created);
    assert!(st.pid > 0);
    let pid = block_on_timeout(20, env.sup.start("c1")).unwrap();
    assert_eq!(pid, st.pid);
    let exit = block_on_timeout(20, env.sup.wait("c1")).unwrap();
    assert_eq!(exit.code, 3);
    assert_eq!(exit.signal, None);
    let mut entries = log_entries(&env.t.join("c1-json.log"));
    entries.sort();
    let mut want = vec![
        ("out\n".to_string(), "stdout".to_string()),
        ("err\n".into(), "stderr".into()),
        ("<tag> & \"q\"\n".into(), "stdout".into()),
    ];
    want.sort();
    assert_eq!(entries, want);
    let raw = std::fs::read_to_string(env.t.join("c1-json.log")).unwrap();
    assert!(
        raw.contains(r#""log":"\u003ctag\u003e \u0026 \"q\"\n""#),
        "Go-style escaping: {raw}"
    );
    // The exit status is on disk, durably, next to the shim.
    let on_disk: serde_json::Value =
        serde_json::from_slice(&std::fs::read(env.exec_root.join("shims/c1/exit.json")).unwrap())
            .unwrap();
    assert_eq!(on_disk["code"], 3);
    let st = block_on_timeout(20, env.sup.state("c1")).unwrap();
    assert_eq!(
        (st.status, st.exit.map(|e| e.code)),
        (Status::Stopped, Some(3))
    );
    let shim = env.shim_pid("c1");
    let gone = block_on_timeout(20, env.sup.delete("c1", false)).unwrap();
    assert_eq!(gone.map(|e| e.code), Some(3));
    wait_for(10, "the shim to exit", || {
        !std::path::Path::new(&format!("/proc/{shim}")).exists()
            || proc_status_field(shim, "State:").starts_with('Z')
    });
    assert!(
        !env.exec_root.join("shims/c1").exists(),
        "shim directory left behind"
    );
    assert_eq!(
        runtime_status(&env.runtime, "c1"),
        None,
        "runtime state left behind"
    );
    let e = block_on_timeout(20, env.sup.state("c1")).unwrap_err();
    assert_eq!(e.to_string(), "no such container: c1");
}

#[test]
fn attach_forwards_stdin_through_cat() {
    let env = Env::new("sup_attach_cat");
    let b = env.bundle("b", &["/bin/cat"], |_| {});
    let mut o = env.opts("cat1", &b);
    o.stdin = true;
    o.log = Some(env.log("cat-json.log"));
    block_on_timeout(20, env.sup.create(o)).unwrap();
    let opts = AttachOpts {
        stdin: true,
        stdout: true,
        stderr: true,
        close_stdin: true,
    };
    let mut a = block_on_timeout(20, env.sup.attach("cat1", None, opts)).unwrap();
    assert!(!a.tty);
    block_on_timeout(20, env.sup.start("cat1")).unwrap();
    write_stdin(&a, b"hello\n");
    let (out, _, _) = read_until(&mut a, 10, |o, _| o.contains("hello\n"));
    assert_eq!(out, "hello\n");
    write_stdin(&a, b"second line\n");
    close_stdin(&a);
    let (out, err, ended) = read_until(&mut a, 10, |_, _| false);
    assert!(ended);
    assert_eq!((out.as_str(), err.as_str()), ("second line\n", ""));
    let exit = block_on_timeout(20, env.sup.wait("cat1")).unwrap();
    assert_eq!(exit.code, 0);
    let entries = log_entries(&env.t.join("cat-json.log"));
    assert_eq!(
        entries,
        [
            ("hello\n".to_string(), "stdout".to_string()),
            ("second line\n".into(), "stdout".into())
        ]
    );
    block_on_timeout(20, env.sup.delete("cat1", false)).unwrap();
}

#[test]
fn tty_runs_through_a_pty_with_resize_and_interactive_input() {
    let env = Env::new("sup_tty");
    let b = env.bundle("b", &["/bin/sh"], |v| {
        v["process"]["terminal"] = true.into()
    });
    let mut o = env.opts("tty1", &b);
    o.tty = true;
    o.stdin = true;
    o.log = Some(env.log("tty-json.log"));
    block_on_timeout(20, env.sup.create(o)).unwrap();
    block_on_timeout(20, env.sup.resize("tty1", None, 123, 45)).unwrap();
    let opts = AttachOpts {
        stdin: true,
        stdout: true,
        stderr: true,
        close_stdin: false,
    };
    let mut a = block_on_timeout(20, env.sup.attach("tty1", None, opts)).unwrap();
    assert!(a.tty);
    block_on_timeout(20, env.sup.start("tty1")).unwrap();
    write_stdin(&a, b"stty size; tty; echo marker-$((6*7))\n");
    let (out, _, _) = read_until(&mut a, 10, |o, _| o.contains("marker-42"));
    assert!(out.contains("45 123"), "stty size through the pty: {out:?}");
    assert!(out.contains("/dev/pts/"), "tty: {out:?}");
    assert!(out.contains("\r\n"), "a pty turns \\n into \\r\\n: {out:?}");
    write_stdin(&a, b"exit 5\n");
    let (_, _, ended) = read_until(&mut a, 10, |_, _| false);
    assert!(ended);
    assert_eq!(block_on_timeout(20, env.sup.wait("tty1")).unwrap().code, 5);
    // With a tty everything is one stream, logged as stdout.
    let entries = log_entries(&env.t.join("tty-json.log"));
    assert!(entries.iter().all(|(_, s)| s == "stdout"));
    assert!(
        entries.iter().any(|(l, _)| l.contains("marker-42")),
        "{entries:?}"
    );
    block_on_timeout(20, env.sup.delete("tty1", false)).unwrap();
}

fn process(args: &[&str], terminal: bool) -> berth::oci::runtime::Process {
    let mut p = berth::oci::runtime::Process::default();
    p.args = args.iter().map(|s| s.to_string()).collect();
    p.env = vec!["PATH=/bin:/usr/bin".into()];
    p.cwd = "/".into();
    p.terminal = terminal;
    p.user = serde_json::from_value(serde_json::json!({"uid": 0, "gid": 0})).unwrap();
    p
}

#[test]
fn exec_streams_its_output_and_reports_its_exit_code() {
    let env = Env::new("sup_exec");
    let b = env.bundle("b", &["/bin/sleep", "1000"], |_| {});
    block_on_timeout(20, env.sup.create(env.opts("ex1", &b))).unwrap();
    block_on_timeout(20, env.sup.start("ex1")).unwrap();
    let spec = ExecSpec {
        process: process(
            &["/bin/sh", "-c", "echo in-exec; echo to-err >&2; exit 7"],
            false,
        ),
        stdin: false,
    };
    block_on_timeout(20, env.sup.exec_create("ex1", "e1", spec)).unwrap();
    let opts = AttachOpts {
        stdin: false,
        stdout: true,
        stderr: true,
        close_stdin: false,
    };
    let mut a = block_on_timeout(20, env.sup.attach("ex1", Some("e1"), opts)).unwrap();
    let pid = block_on_timeout(20, env.sup.exec_start("ex1", "e1")).unwrap();
    assert!(pid > 0);
    let (out, err, ended) = read_until(&mut a, 10, |_, _| false);
    assert!(ended);
    assert_eq!((out.as_str(), err.as_str()), ("in-exec\n", "to-err\n"));
    assert_eq!(
        block_on_timeout(20, env.sup.wait_exec("ex1", "e1"))
            .unwrap()
            .code,
        7
    );
    // An exec with stdin, echoed back.
    let spec = ExecSpec {
        process: process(&["/bin/cat"], false),
        stdin: true,
    };
    block_on_timeout(20, env.sup.exec_create("ex1", "e2", spec)).unwrap();
    let opts = AttachOpts {
        stdin: true,
        stdout: true,
        stderr: true,
        close_stdin: true,
    };
    let mut a = block_on_timeout(20, env.sup.attach("ex1", Some("e2"), opts)).unwrap();
    block_on_timeout(20, env.sup.exec_start("ex1", "e2")).unwrap();
    write_stdin(&a, b"ping\n");
    close_stdin(&a);
    let (out, _, ended) = read_until(&mut a, 10, |_, _| false);
    assert!(ended);
    assert_eq!(out, "ping\n");
    assert_eq!(
        block_on_timeout(20, env.sup.wait_exec("ex1", "e2"))
            .unwrap()
            .code,
        0
    );
    // A command that does not exist: an error naming it, and Docker's 127.
    let spec = ExecSpec {
        process: process(&["/no/such/cmd"], false),
        stdin: false,
    };
    let e = block_on_timeout(20, env.sup.exec("ex1", "e3", spec)).unwrap_err();
    assert!(e.to_string().contains("/no/such/cmd"), "{e}");
    assert_eq!(
        block_on_timeout(20, env.sup.wait_exec("ex1", "e3"))
            .unwrap()
            .code,
        127
    );
    let st = block_on_timeout(20, env.sup.state("ex1")).unwrap();
    assert_eq!(
        st.execs
            .iter()
            .map(|e| (e.exec_id.as_str(), e.exit.as_ref().map(|x| x.code)))
            .collect::<Vec<_>>(),
        [("e1", Some(7)), ("e2", Some(0)), ("e3", Some(127))]
    );
    // A detached exec keeps running after exec returns; killing it by exec id works.
    let spec = ExecSpec {
        process: process(&["/bin/sleep", "1000"], false),
        stdin: false,
    };
    block_on_timeout(20, env.sup.exec("ex1", "e4", spec)).unwrap();
    block_on_timeout(20, env.sup.kill_exec("ex1", "e4", 9)).unwrap();
    assert_eq!(
        block_on_timeout(20, env.sup.wait_exec("ex1", "e4"))
            .unwrap()
            .code,
        137
    );
    // A tty exec.
    let spec = ExecSpec {
        process: process(&["/bin/sh", "-c", "tty"], true),
        stdin: false,
    };
    block_on_timeout(20, env.sup.exec_create("ex1", "e5", spec)).unwrap();
    let mut a = block_on_timeout(
        20,
        env.sup.attach(
            "ex1",
            Some("e5"),
            AttachOpts {
                stdout: true,
                ..Default::default()
            },
        ),
    )
    .unwrap();
    assert!(a.tty);
    block_on_timeout(20, env.sup.exec_start("ex1", "e5")).unwrap();
    let (out, _, _) = read_until(&mut a, 10, |_, _| false);
    assert!(out.starts_with("/dev/pts/"), "{out:?}");
    block_on_timeout(20, env.sup.delete("ex1", true)).unwrap();
}

#[test]
fn kill_then_stop_semantics_and_force_delete() {
    let env = Env::new("sup_kill");
    // PID 1 of a pid namespace ignores SIGTERM without a handler: stop must escalate to SIGKILL.
    let b = env.bundle("b", &["/bin/sleep", "1000"], |_| {});
    block_on_timeout(20, env.sup.create(env.opts("k1", &b))).unwrap();
    block_on_timeout(20, env.sup.start("k1")).unwrap();
    block_on_timeout(20, env.sup.kill("k1", 15, false)).unwrap();
    let waited = smol::block_on(smol::future::or(
        async { Some(env.sup.wait("k1").await) },
        async {
            smol::Timer::after(std::time::Duration::from_millis(700)).await;
            None
        },
    ));
    assert!(waited.is_none(), "sleep as PID 1 ignored SIGTERM");
    block_on_timeout(20, env.sup.kill("k1", 9, true)).unwrap();
    let exit = block_on_timeout(20, env.sup.wait("k1")).unwrap();
    assert_eq!((exit.code, exit.signal), (137, Some(9)));
    let e = block_on_timeout(20, env.sup.kill("k1", 9, false)).unwrap_err();
    assert_eq!(e.to_string(), "container k1 is not running");
    block_on_timeout(20, env.sup.delete("k1", false)).unwrap();

    // A handler for SIGTERM: the container exits with its own code.
    let b = env.bundle(
        "b2",
        &[
            "/bin/sh",
            "-c",
            "trap 'exit 143' TERM; while true; do sleep 0.1; done",
        ],
        |_| {},
    );
    block_on_timeout(20, env.sup.create(env.opts("k2", &b))).unwrap();
    block_on_timeout(20, env.sup.start("k2")).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(200));
    block_on_timeout(20, env.sup.kill("k2", 15, false)).unwrap();
    assert_eq!(block_on_timeout(20, env.sup.wait("k2")).unwrap().code, 143);
    block_on_timeout(20, env.sup.delete("k2", false)).unwrap();

    // Deleting a running container needs force; force kills it.
    let b = env.bundle("b3", &["/bin/sleep", "1000"], |_| {});
    block_on_timeout(20, env.sup.create(env.opts("k3", &b))).unwrap();
    block_on_timeout(20, env.sup.start("k3")).unwrap();
    let e = block_on_timeout(20, env.sup.delete("k3", false)).unwrap_err();
    assert_eq!(e.kind(), berth::base::ErrorKind::Conflict, "{e}");
    let exit = block_on_timeout(20, env.sup.delete("k3", true)).unwrap();
    assert_eq!(exit.map(|e| e.code), Some(137));
    assert_eq!(runtime_status(&env.runtime, "k3"), None);
}

#[test]
fn pause_and_resume_freeze_the_container() {
    let env = Env::new("sup_pause");
    let b = env.bundle(
        "b",
        &[
            "/bin/sh",
            "-c",
            "i=0; while true; do i=$((i+1)); echo $i; sleep 0.05; done",
        ],
        |_| {},
    );
    let mut o = env.opts("p1", &b);
    o.log = Some(env.log("p-json.log"));
    let rt = env.runtime.clone();
    block_on_timeout(20, env.sup.create(o)).unwrap();
    block_on_timeout(20, env.sup.start("p1")).unwrap();
    let log = env.t.join("p-json.log");
    wait_for(10, "output", || log_entries(&log).len() >= 3);
    block_on_timeout(20, env.sup.pause("p1")).unwrap();
    assert_eq!(
        block_on_timeout(20, env.sup.state("p1")).unwrap().status,
        Status::Paused
    );
    assert_eq!(runtime_status(&rt, "p1").as_deref(), Some("paused"));
    let n = log_entries(&log).len();
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert_eq!(
        log_entries(&log).len(),
        n,
        "a paused container wrote output"
    );
    let e = block_on_timeout(20, env.sup.pause("p1")).unwrap_err();
    assert_eq!(e.kind(), berth::base::ErrorKind::Conflict);
    block_on_timeout(20, env.sup.resume("p1")).unwrap();
    assert_eq!(
        block_on_timeout(20, env.sup.state("p1")).unwrap().status,
        Status::Running
    );
    wait_for(10, "output after resume", || {
        log_entries(&log).len() > n + 2
    });
    // SIGKILL to a paused container works (the shim thaws it).
    block_on_timeout(20, env.sup.pause("p1")).unwrap();
    block_on_timeout(20, env.sup.kill("p1", 9, true)).unwrap();
    assert_eq!(block_on_timeout(20, env.sup.wait("p1")).unwrap().code, 137);
    block_on_timeout(20, env.sup.delete("p1", false)).unwrap();
}

#[test]
fn json_file_log_rotates_at_max_size_keeping_max_file() {
    let env = Env::new("sup_rotate");
    let b = env.bundle(
        "b",
        &[
            "/bin/sh",
            "-c",
            "i=0; while [ $i -lt 3000 ]; do echo line-$i; i=$((i+1)); done",
        ],
        |_| {},
    );
    let mut o = env.opts("r1", &b);
    let mut log = env.log("r-json.log");
    log.max_size = Some(10_000);
    log.max_file = 3;
    o.log = Some(log.clone());
    block_on_timeout(20, env.sup.create(o)).unwrap();
    block_on_timeout(20, env.sup.start("r1")).unwrap();
    assert_eq!(block_on_timeout(30, env.sup.wait("r1")).unwrap().code, 0);
    let files = berth::supervisor::logfile::files_oldest_first(&log.path, 3);
    assert_eq!(files.len(), 3, "{files:?}");
    assert!(!env.t.join("r-json.log.3").exists());
    let mut lines = Vec::new();
    for f in &files {
        let len = std::fs::metadata(f).unwrap().len();
        assert!(len <= 10_000 + 100, "{} has {len} bytes", f.display());
        lines.extend(log_entries(f).into_iter().map(|(l, _)| l));
    }
    assert_eq!(lines.last().unwrap(), "line-2999\n");
    let nums: Vec<u32> = lines
        .iter()
        .map(|l| l.trim()[5..].parse().unwrap())
        .collect();
    assert!(
        nums.windows(2).all(|w| w[1] == w[0] + 1),
        "lines are consecutive across files"
    );
    block_on_timeout(20, env.sup.delete("r1", false)).unwrap();
}

#[test]
fn create_failure_names_the_cause_and_leaves_nothing() {
    let env = Env::new("sup_create_fail");
    let b = env.bundle("b", &["/no/such/binary"], |_| {});
    let e = block_on_timeout(20, env.sup.create(env.opts("f1", &b))).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.starts_with("OCI runtime create failed:") && msg.contains("/no/such/binary"),
        "{msg}"
    );
    assert!(!env.exec_root.join("shims/f1").exists());
    assert_eq!(runtime_status(&env.runtime, "f1"), None);
    let e = block_on_timeout(20, env.sup.create(env.opts("../x", &b))).unwrap_err();
    assert_eq!(e.kind(), berth::base::ErrorKind::InvalidArgument);
    // Same id twice.
    let ok = env.bundle("ok", &["/bin/true"], |_| {});
    block_on_timeout(20, env.sup.create(env.opts("f2", &ok))).unwrap();
    let e = block_on_timeout(20, env.sup.create(env.opts("f2", &ok))).unwrap_err();
    assert_eq!(e.to_string(), "container f2 already exists");
    block_on_timeout(20, env.sup.delete("f2", true)).unwrap();
}

/// The shim from outside: its own session, not our child, single-threaded, the container's
/// parent, and small. Prints its memory once it is idle.
#[test]
fn shim_is_detached_single_threaded_and_small() {
    let env = Env::new("sup_shim_shape");
    let b = env.bundle(
        "b",
        &[
            "/bin/sh",
            "-c",
            "i=0; while [ $i -lt 50 ]; do echo tick $i; i=$((i+1)); done; exec sleep 1000",
        ],
        |_| {},
    );
    let mut o = env.opts("s1", &b);
    o.log = Some(env.log("s-json.log"));
    let st = block_on_timeout(20, env.sup.create(o)).unwrap();
    let mut a = block_on_timeout(
        20,
        env.sup.attach(
            "s1",
            None,
            AttachOpts {
                stdout: true,
                ..Default::default()
            },
        ),
    )
    .unwrap();
    block_on_timeout(20, env.sup.start("s1")).unwrap();
    let shim = env.shim_pid("s1");
    assert_eq!(st.shim_pid, shim);
    let (ppid, sid) = ppid_sid(shim);
    assert_ne!(
        ppid,
        std::process::id(),
        "the shim must not be the supervisor's child"
    );
    assert_eq!(sid, shim, "the shim leads its own session");
    assert_eq!(proc_status_field(shim, "Threads:"), "1");
    assert_eq!(
        ppid_sid(st.pid).0,
        shim,
        "the container's init is the shim's child (subreaper)"
    );
    // Some traffic: output logged and relayed, a few requests.
    read_until(&mut a, 10, |o, _| o.contains("tick 49\n"));
    drop(a);
    for _ in 0..20 {
        block_on_timeout(20, env.sup.state("s1")).unwrap();
    }
    // Idle: after half a second without requests the shim gives back what it touched.
    std::thread::sleep(std::time::Duration::from_millis(800));
    let kb = |f: &str| -> u64 {
        proc_status_field(shim, f)
            .trim_end_matches(" kB")
            .trim()
            .parse()
            .unwrap()
    };
    let (rss, anon) = (kb("VmRSS:"), kb("RssAnon:"));
    eprintln!("idle shim: VmRSS {rss} kB, RssAnon {anon} kB (the rest is the binary's shared, clean pages)");
    assert!(anon < 512, "shim private memory {anon} kB");
    // The issue's goal: under 1 MB (containerd's shim: 13 MB here). About 400 kB when measured.
    assert!(rss < 1024, "shim VmRSS {rss} kB");
    block_on_timeout(20, env.sup.delete("s1", true)).unwrap();
}

/// A slow attach client holds the container's output back (no loss, no unbounded buffering):
/// everything arrives in order, and the log has every line.
#[test]
fn slow_attach_client_gets_every_byte_in_order() {
    let env = Env::new("sup_backpressure");
    let b = env.bundle("b", &["/bin/seq", "1", "200000"], |_| {});
    let mut o = env.opts("bp1", &b);
    o.log = Some(env.log("bp-json.log"));
    block_on_timeout(20, env.sup.create(o)).unwrap();
    let mut a = block_on_timeout(
        20,
        env.sup.attach(
            "bp1",
            None,
            AttachOpts {
                stdout: true,
                stderr: true,
                ..Default::default()
            },
        ),
    )
    .unwrap();
    block_on_timeout(20, env.sup.start("bp1")).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(500));
    let st = block_on_timeout(20, env.sup.state("bp1")).unwrap();
    assert_eq!(
        st.status,
        Status::Running,
        "seq must be blocked on its full pipe while we do not read"
    );
    let (out, err, ended) = read_until(&mut a, 60, |_, _| false);
    assert!(ended && err.is_empty());
    let want: String = (1..=200000).map(|i| format!("{i}\n")).collect();
    assert!(
        out == want,
        "stdout differs: {} bytes vs {}",
        out.len(),
        want.len()
    );
    assert_eq!(block_on_timeout(20, env.sup.wait("bp1")).unwrap().code, 0);
    let logged = log_entries(&env.t.join("bp-json.log"));
    assert_eq!(logged.len(), 200000);
    assert_eq!(logged[199999].0, "200000\n");
    block_on_timeout(20, env.sup.delete("bp1", false)).unwrap();
}

/// The shim's socket from a raw client: framing, refusal of bad input, a waiter that half-closes
/// after its request, and who may connect.
#[test]
fn shim_socket_speaks_the_protocol_and_refuses_bad_input() {
    use berth::supervisor::proto::{self, Reply, Request, Response};
    use std::io::{Read, Write};
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::net::UnixStream;
    let env = Env::new("sup_wire");
    let b = env.bundle("b", &["/bin/sh", "-c", "sleep 0.5; exit 4"], |_| {});
    block_on_timeout(20, env.sup.create(env.opts("w1", &b))).unwrap();
    let dir = env.exec_root.join("shims/w1");
    let sock = dir.join("shim.sock");
    assert_eq!(
        std::fs::metadata(&sock).unwrap().permissions().mode() & 0o777,
        0o750,
        "only root may connect"
    );
    assert_eq!(
        std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777,
        0o700
    );
    let answer = |s: &mut UnixStream| -> Response {
        proto::decode(&proto::read_frame(s).unwrap().expect("an answer")).unwrap()
    };

    // Garbage, an unknown op, an oversized frame: an error answer each, and the shim goes on.
    let mut s = UnixStream::connect(&sock).unwrap();
    s.write_all(&[0, 0, 0, 3, b'{', b'x', b'}']).unwrap();
    assert!(
        matches!(answer(&mut s), Response::Err(e) if e.kind == "invalid_argument" && e.message.starts_with("malformed message"))
    );
    let mut s = UnixStream::connect(&sock).unwrap();
    s.write_all(&proto::encode(&serde_json::json!({"op": "format_disk"})).unwrap())
        .unwrap();
    assert!(matches!(answer(&mut s), Response::Err(e) if e.kind == "invalid_argument"));
    let mut s = UnixStream::connect(&sock).unwrap();
    s.write_all(&(proto::MAX_FRAME as u32 + 1).to_be_bytes())
        .unwrap();
    assert!(matches!(answer(&mut s), Response::Err(e) if e.message.contains("exceeds")));
    let mut s = UnixStream::connect(&sock).unwrap();
    proto::write_frame(
        &mut s,
        &Request::Kill {
            signal: 99,
            all: false,
            exec_id: None,
        },
    )
    .unwrap();
    assert!(matches!(answer(&mut s), Response::Err(e) if e.message == "invalid signal 99"));
    let mut s = UnixStream::connect(&sock).unwrap();
    proto::write_frame(
        &mut s,
        &Request::Wait {
            exec_id: Some("nope".into()),
        },
    )
    .unwrap();
    assert!(
        matches!(answer(&mut s), Response::Err(e) if e.kind == "not_found" && e.message == "no such exec: nope")
    );
    // A client that connects and leaves without a word.
    drop(UnixStream::connect(&sock).unwrap());

    // A waiter that half-closes after its request still gets the exit status.
    let mut w = UnixStream::connect(&sock).unwrap();
    proto::write_frame(&mut w, &Request::Wait { exec_id: None }).unwrap();
    w.shutdown(std::net::Shutdown::Write).unwrap();
    block_on_timeout(20, env.sup.start("w1")).unwrap();
    w.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    match answer(&mut w) {
        Response::Ok(Reply::Exit { exit }) => assert_eq!(exit.code, 4),
        other => panic!("{other:?}"),
    }
    let mut rest = Vec::new();
    w.read_to_end(&mut rest).unwrap();
    assert!(rest.is_empty(), "one answer per connection");
    block_on_timeout(20, env.sup.delete("w1", false)).unwrap();
}

/// Without a pid namespace a background child can outlive the main process and hold its stdout:
/// the exit is still reported (after a short grace for the output), and delete cleans up.
#[test]
fn wait_answers_when_a_survivor_holds_the_output() {
    let env = Env::new("sup_survivor");
    let b = env.bundle(
        "b",
        &["/bin/sh", "-c", "sleep 30 & echo bye; exit 2"],
        |v| {
            let ns = v["linux"]["namespaces"].as_array_mut().unwrap();
            ns.retain(|n| n["type"] != "pid");
        },
    );
    let mut o = env.opts("sv1", &b);
    o.log = Some(env.log("sv-json.log"));
    // berth's runc does not yet kill what is left in the cgroup of a container without its own
    // pid namespace on delete (runc does): "remove cgroup …: Device or resource busy".
    let rt = env.real_runc();
    o.runtime = Some(rt.clone());
    block_on_timeout(20, env.sup.create(o)).unwrap();
    let t0 = std::time::Instant::now();
    block_on_timeout(20, env.sup.start("sv1")).unwrap();
    let exit = block_on_timeout(20, env.sup.wait("sv1")).unwrap();
    assert_eq!(exit.code, 2);
    assert!(
        t0.elapsed() < std::time::Duration::from_secs(5),
        "wait took {:?}",
        t0.elapsed()
    );
    assert_eq!(
        log_entries(&env.t.join("sv-json.log")),
        [("bye\n".to_string(), "stdout".to_string())]
    );
    block_on_timeout(20, env.sup.delete("sv1", false)).unwrap();
    assert_eq!(runtime_status(&rt, "sv1"), None);
}
