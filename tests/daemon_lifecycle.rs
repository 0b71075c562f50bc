//! dockerd's life: socket permissions, pid file, state roots, configuration errors, clean
//! shutdown on SIGTERM/SIGINT, and its idle memory.
mod common;
use common::daemon::Dockerd;
use common::*;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::process::Stdio;
use std::time::Duration;

fn docker_gid() -> u32 {
    let g = std::fs::read_to_string("/etc/group").unwrap_or_default();
    g.lines()
        .find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.first() == Some(&"docker")).then(|| f[2].parse().unwrap())
        })
        .unwrap_or(0)
}

#[test]
fn socket_is_0660_root_and_the_docker_group() {
    require_root();
    let dir = TestDir::new("daemon_socket_mode");
    let d = Dockerd::start(&dir, &[]);
    let m = std::fs::symlink_metadata(&d.socket).unwrap();
    assert!(m.file_type().is_socket());
    assert_eq!(m.mode() & 0o7777, 0o660);
    assert_eq!(m.uid(), 0);
    assert_eq!(m.gid(), docker_gid());
    // Nothing left of the private bind directory.
    let leftovers: Vec<_> = std::fs::read_dir(&dir.path)
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .filter(|n| n.to_string_lossy().starts_with(".berth"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn socket_group_flag_is_honoured_and_checked() {
    require_root();
    let dir = TestDir::new("daemon_socket_group");
    let d = Dockerd::start(&dir, &["-G", "4242"]);
    assert_eq!(std::fs::metadata(&d.socket).unwrap().gid(), 4242);
    drop(d);
    let dir = TestDir::new("daemon_socket_nogroup");
    let e = Dockerd::try_start(&dir.path, &["--group", "no-such-group-berth"])
        .err()
        .unwrap();
    assert!(
        e.contains("failed to start daemon: group no-such-group-berth not found"),
        "{e}"
    );
}

#[test]
fn sigterm_removes_socket_and_pidfile_and_exits_0() {
    require_root();
    let dir = TestDir::new("daemon_sigterm");
    let mut d = Dockerd::start(&dir, &[]);
    assert_eq!(
        std::fs::read_to_string(&d.pidfile).unwrap().trim(),
        d.pid.to_string()
    );
    let st = d.stop();
    assert_eq!(st.code(), Some(0), "{}", d.log_text());
    assert!(!d.socket.exists(), "socket left behind");
    assert!(!d.pidfile.exists(), "pid file left behind");
    let log = d.log_text();
    assert!(
        log.contains("Processing signal 'terminated'") && log.contains("Daemon shutdown complete"),
        "{log}"
    );
}

#[test]
fn sigint_shuts_down_cleanly_too() {
    require_root();
    let dir = TestDir::new("daemon_sigint");
    let mut d = Dockerd::start(&dir, &[]);
    let st = d
        .signal_and_wait(libc::SIGINT, Duration::from_secs(10))
        .expect("exit after SIGINT");
    assert_eq!(st.code(), Some(0));
    assert!(!d.socket.exists() && !d.pidfile.exists());
}

#[test]
fn sigterm_with_an_idle_keepalive_connection_still_exits_promptly() {
    require_root();
    let dir = TestDir::new("daemon_sigterm_idle_conn");
    let mut d = Dockerd::start(&dir, &[]);
    let mut s = std::os::unix::net::UnixStream::connect(&d.socket).unwrap();
    use std::io::{Read, Write};
    s.write_all(b"GET /_ping HTTP/1.1\r\n\r\n").unwrap();
    let mut buf = [0u8; 4096];
    assert!(s.read(&mut buf).unwrap() > 0);
    let start = std::time::Instant::now();
    assert_eq!(d.stop().code(), Some(0));
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "took {:?}",
        start.elapsed()
    );
}

#[test]
fn second_daemon_on_the_same_pidfile_refuses() {
    require_root();
    let dir = TestDir::new("daemon_pidfile_twice");
    let d = Dockerd::start(&dir, &[]);
    let other = dir.join("other");
    std::fs::create_dir_all(&other).unwrap();
    let o = run(Dockerd::command(&other, &[])
        .arg("--pidfile")
        .arg(&d.pidfile)
        .stdin(Stdio::null()));
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains(&format!(
            "failed to start daemon: pid file found, ensure docker is not running or delete {}",
            d.pidfile.display()
        )),
        "{}",
        stderr(&o)
    );
    assert!(!other.join("docker.sock").exists());
    // The first daemon is untouched.
    assert_eq!(
        std::fs::read_to_string(&d.pidfile).unwrap().trim(),
        d.pid.to_string()
    );
    assert!(run(d.docker().arg("version")).status.success());
}

#[test]
fn second_daemon_on_a_live_socket_refuses() {
    require_root();
    let dir = TestDir::new("daemon_socket_twice");
    let d = Dockerd::start(&dir, &[]);
    let other = dir.join("other");
    std::fs::create_dir_all(&other).unwrap();
    let o = run(Dockerd::command(&other, &[])
        .arg("-H")
        .arg(d.host())
        .stdin(Stdio::null()));
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("another daemon is serving this socket"),
        "{}",
        stderr(&o)
    );
    assert!(run(d.docker().arg("version")).status.success());
}

#[test]
fn stale_socket_and_pidfile_of_a_killed_daemon_are_replaced() {
    require_root();
    let dir = TestDir::new("daemon_stale_files");
    let mut d = Dockerd::start(&dir, &[]);
    d.signal_and_wait(libc::SIGKILL, Duration::from_secs(5))
        .unwrap();
    assert!(
        d.socket.exists() && d.pidfile.exists(),
        "SIGKILL leaves both behind"
    );
    drop(d);
    let d2 = Dockerd::start(&dir, &[]);
    assert_eq!(
        std::fs::read_to_string(&d2.pidfile).unwrap().trim(),
        d2.pid.to_string()
    );
    assert!(run(d2.docker().arg("version")).status.success());
}

#[test]
fn state_roots_carry_a_format_version() {
    require_root();
    let dir = TestDir::new("daemon_roots_format");
    let mut d = Dockerd::start(&dir, &[]);
    assert_eq!(
        std::fs::read_to_string(d.data_root.join("format")).unwrap(),
        "1\n"
    );
    assert_eq!(
        std::fs::read_to_string(d.exec_root.join("format")).unwrap(),
        "1\n"
    );
    assert_eq!(d.stop().code(), Some(0));
    std::fs::write(d.data_root.join("format"), "99\n").unwrap();
    let e = Dockerd::try_start(&dir.path, &[]).err().unwrap();
    assert!(
        e.contains("has layout format 99, newer than this berth understands (1)"),
        "{e}"
    );
    // Another engine's data root is not adopted.
    let foreign = dir.join("foreign");
    std::fs::create_dir_all(foreign.join("overlay2")).unwrap();
    let o = run(Dockerd::command(&dir.path, &[])
        .arg("--data-root")
        .arg(&foreign)
        .stdin(Stdio::null()));
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("is not empty and has no berth format file"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn daemon_json_errors_use_dockerds_words() {
    require_root();
    let dir = TestDir::new("daemon_json_errors");
    let cfg = dir.join("daemon.json");
    std::fs::write(&cfg, r#"{"foo": 1, "live-restore": true}"#).unwrap();
    let o = run(Dockerd::command(&dir.path, &[]).stdin(Stdio::null()));
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr(&o).trim(),
        format!("unable to configure the Docker daemon with file {}: the following directives don't match any configuration option: foo", cfg.display())
    );
    std::fs::write(&cfg, r#"{"debug": false}"#).unwrap();
    let o = run(Dockerd::command(&dir.path, &["-D"]).stdin(Stdio::null()));
    assert!(
        stderr(&o).contains("the following directives are specified both as a flag and in the configuration file: debug: (from flag: true, from file: false)"),
        "{}",
        stderr(&o)
    );
    std::fs::write(&cfg, "{bad").unwrap();
    let o = run(Dockerd::command(&dir.path, &[]).stdin(Stdio::null()));
    assert!(
        stderr(&o).ends_with("invalid character 'b' looking for beginning of object key string\n"),
        "{}",
        stderr(&o)
    );
    // Keys from the file are used: the file's socket path is where the daemon listens.
    let sock = dir.join("from-file.sock");
    std::fs::write(
        &cfg,
        format!(
            r#"{{"hosts": ["unix://{}"], "debug": true}}"#,
            sock.display()
        ),
    )
    .unwrap();
    let mut c = std::process::Command::new(role("dockerd"));
    c.arg("--config-file")
        .arg(&cfg)
        .arg("--data-root")
        .arg(dir.join("data"))
        .arg("--exec-root")
        .arg(dir.join("exec"));
    let child = c
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut guard = ProcGuard::from_child(child);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while std::os::unix::net::UnixStream::connect(&sock).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "daemon did not listen on the socket named in daemon.json"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // SAFETY: kill(2) on the daemon this test started.
    unsafe { libc::kill(guard.pid, libc::SIGTERM) };
    assert_eq!(guard.child().wait().unwrap().code(), Some(0));
    assert!(!sock.exists());
}

#[test]
fn flag_errors_use_pflag_words() {
    let o = run(std::process::Command::new(role("dockerd")).arg("--bogus"));
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr(&o),
        "Status: unknown flag: --bogus\nSee 'dockerd --help'., Code: 125\n"
    );
    let o = run(std::process::Command::new(role("dockerd")).arg("-H"));
    assert_eq!(
        stderr(&o),
        "Status: flag needs an argument: 'H' in -H\nSee 'dockerd --help'., Code: 125\n"
    );
    let o = run(std::process::Command::new(role("dockerd")).arg("--help"));
    assert!(
        o.status.success() && stdout(&o).contains("--data-root string"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn unsupported_options_are_refused_with_a_clear_message() {
    require_root();
    let dir = TestDir::new("daemon_unsupported");
    for (args, words) in [
        (
            &["--tlsverify"][..],
            "TLS on the API socket is not supported",
        ),
        (&["--rootless"][..], "--rootless is not supported"),
        (&["-s", "btrfs"][..], "driver not supported: btrfs"),
        (&["-H", "tcp://localhost:2375"][..], "numeric IP address"),
        (
            &["--log-level", "chatty"][..],
            "unable to parse logging level: chatty",
        ),
    ] {
        let o = run(Dockerd::command(&dir.path, args).stdin(Stdio::null()));
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        assert!(stderr(&o).contains(words), "{args:?}: {}", stderr(&o));
    }
    assert!(!dir.join("docker.sock").exists());
}

#[test]
fn idle_daemon_stays_small() {
    require_root();
    let dir = TestDir::new("daemon_idle_rss");
    let d = Dockerd::start(&dir, &[]);
    for args in [&["version"][..], &["info"][..], &["version"][..]] {
        assert!(run(d.docker().args(args)).status.success());
    }
    std::thread::sleep(Duration::from_millis(200));
    let rss = d.rss_kib();
    eprintln!("idle dockerd (berth) VmRSS: {rss} KiB");
    assert!(rss < 8 * 1024, "idle RSS {rss} KiB is over the 8 MiB goal");
}
