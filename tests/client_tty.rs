//! Interactive runs through a real pseudo-terminal: `run -it` (raw mode, window size, resize on
//! SIGWINCH, the exit code, the terminal restored), detach keys (ctrl-p ctrl-q) and `attach`,
//! `exec -it`. Each scenario runs with berth's client and, to check the test's own expectations,
//! with the Docker CLI 28, against Debian's dockerd and against berth's dockerd where it serves
//! the endpoints.
mod client_support;
mod common;
use client_support::*;
use common::*;
use std::time::Duration;

const T: Duration = Duration::from_secs(20);

fn client(d: &Daemon, real: bool, args: &[&str]) -> std::process::Command {
    if real {
        d.real_cmd(args)
    } else {
        d.berth_cmd(args)
    }
}

/// The terminal is back in cooked mode (echo and line editing) once the client is gone.
fn assert_cooked(pty: &Pty) {
    let slave = pty.slave();
    let t = rustix::termios::tcgetattr(&slave).unwrap();
    assert!(
        t.local_modes.contains(rustix::termios::LocalModes::ECHO),
        "echo left off"
    );
    assert!(
        t.local_modes.contains(rustix::termios::LocalModes::ICANON),
        "raw mode left on"
    );
}

fn run_it_scenario(d: &Daemon, real: bool) {
    let name = if real { "tty-real" } else { "tty-berth" };
    let pty = Pty::open(24, 80);
    let mut child = pty.spawn(client(
        d,
        real,
        &["run", "-it", "--rm", "--name", name, "small:peer", "sh"],
    ));
    let mut seen = String::new();
    pty.expect(&mut seen, "# ", T);
    pty.write(b"stty size\r");
    pty.expect(&mut seen, "24 80", T);
    // A window change reaches the container. The client may not watch SIGWINCH yet when the
    // prompt shows (the Docker CLI starts watching after its start call returns, and a signal
    // before that is lost), so each try makes a fresh change: 29 rows, then 30.
    let deadline = std::time::Instant::now() + T;
    loop {
        pty.resize(29, 100);
        pty.resize(30, 100);
        std::thread::sleep(Duration::from_millis(300));
        pty.write(b"stty size\r");
        if pty.wait_for(&mut seen, "30 100", Duration::from_secs(2)) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the window change never reached the container; terminal showed:\n{seen:?}"
        );
    }
    pty.write(b"echo $((6*7)) $TERM\r");
    pty.expect(&mut seen, "42 xterm", T);
    pty.write(b"exit 3\r");
    let st = wait_timeout(&mut child, T)
        .unwrap_or_else(|| panic!("client did not exit; terminal showed {seen:?}"));
    assert_eq!(st.code(), Some(3), "{seen:?}");
    assert_cooked(&pty);
}

fn detach_scenario(d: &Daemon, real: bool) {
    let name = if real { "det-real" } else { "det-berth" };
    let pty = Pty::open(24, 80);
    let mut child = pty.spawn(client(
        d,
        real,
        &["run", "-it", "--name", name, "small:peer", "sh"],
    ));
    let mut seen = String::new();
    pty.expect(&mut seen, "# ", T);
    // ctrl-p ctrl-q: the client leaves, the container keeps running.
    pty.write(&[0x10, 0x11]);
    let st = wait_timeout(&mut child, T)
        .unwrap_or_else(|| panic!("client did not detach; terminal showed {seen:?}"));
    assert_eq!(st.code(), Some(0));
    assert_cooked(&pty);
    assert_eq!(
        d.ok(&["inspect", "-f", "{{.State.Running}}", name]),
        "true\n"
    );
    // attach again and end it from the terminal.
    let pty2 = Pty::open(24, 80);
    let mut child = pty2.spawn(client(d, real, &["attach", name]));
    std::thread::sleep(Duration::from_millis(500));
    let mut seen = String::new();
    pty2.write(b"echo back again\r");
    pty2.expect(&mut seen, "back again", T);
    pty2.write(b"exit 4\r");
    let st = wait_timeout(&mut child, T)
        .unwrap_or_else(|| panic!("attach did not end; terminal showed {seen:?}"));
    assert_eq!(st.code(), Some(4), "{seen:?}");
    d.ok(&["rm", name]);
    // Custom detach keys.
    let pty3 = Pty::open(24, 80);
    let mut child = pty3.spawn(client(
        d,
        real,
        &[
            "run",
            "-it",
            "--rm",
            "--detach-keys",
            "ctrl-a,x",
            "--name",
            name,
            "small:peer",
            "sh",
        ],
    ));
    let mut seen = String::new();
    pty3.expect(&mut seen, "# ", T);
    // A partial sequence is passed on: ctrl-a then `e` types `e`.
    pty3.write(&[0x01]);
    pty3.write(b"echo partial\r");
    pty3.expect(&mut seen, "partial", T);
    pty3.write(&[0x01, b'x']);
    let st = wait_timeout(&mut child, T)
        .unwrap_or_else(|| panic!("custom keys did not detach; terminal showed {seen:?}"));
    assert_eq!(st.code(), Some(0));
    d.ok(&["rm", "-f", name]);
}

fn exec_it_scenario(d: &Daemon, real: bool) {
    // API 1.41 (dockerd 20.10) has no console size on exec start: both clients resize right after
    // the start, so the command waits a moment before it reads its size.
    let name = if real { "ex-real" } else { "ex-berth" };
    d.ok(&["run", "-d", "--name", name, "small:peer", "sleep", "100"]);
    let pty = Pty::open(33, 120);
    let mut child = pty.spawn(client(
        d,
        real,
        &[
            "exec",
            "-it",
            name,
            "sh",
            "-c",
            "sleep 0.5; stty size; read x; echo got $x; exit 5",
        ],
    ));
    let mut seen = String::new();
    pty.expect(&mut seen, "33 120", T);
    pty.write(b"hello\r");
    pty.expect(&mut seen, "got hello", T);
    let st = wait_timeout(&mut child, T)
        .unwrap_or_else(|| panic!("exec did not end; terminal showed {seen:?}"));
    assert_eq!(st.code(), Some(5), "{seen:?}");
    assert_cooked(&pty);
    d.ok(&["rm", "-f", name]);
}

fn all(kind: Kind, test: &str) {
    require_root();
    let d = Daemon::start(kind, test);
    if kind == Kind::Berth
        && !d.require(
            test,
            &[
                ("POST", "/containers/create"),
                ("POST", "/containers/x/attach"),
                ("POST", "/containers/x/resize"),
                ("POST", "/containers/x/exec"),
            ],
        )
    {
        return;
    }
    d.load_small();
    for real in [false, true] {
        run_it_scenario(&d, real);
        detach_scenario(&d, real);
        exec_it_scenario(&d, real);
    }
}

#[test]
fn interactive_on_real_dockerd() {
    all(Kind::Real, "client_tty");
}

#[test]
fn interactive_on_berth_dockerd() {
    all(Kind::Berth, "client_tty");
}
