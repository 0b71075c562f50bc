//! berth's docker client where no daemon is involved: help in Docker's layout, argument errors
//! and exit codes, connection errors, host parsing. Every case is compared with the real
//! Docker CLI 28 run the same way.
mod common;
use common::*;
use std::collections::BTreeMap;
use std::process::{Command, Output, Stdio};

const DOCKER_CLI: &str = "/usr/local/bin/docker";

fn with_env(mut c: Command, host: &str, cfg: &std::path::Path) -> Command {
    c.env("DOCKER_HOST", host)
        .env("DOCKER_CONFIG", cfg)
        .env_remove("DOCKER_API_VERSION")
        .env_remove("DOCKER_CONTEXT")
        .stdin(Stdio::null());
    c
}

fn both(args: &[&str], host: &str, cfg: &std::path::Path) -> (Output, Output) {
    let mut b = with_env(Command::new(role("docker")), host, cfg);
    b.args(args);
    let mut r = with_env(Command::new(DOCKER_CLI), host, cfg);
    r.args(args);
    (b.output().unwrap(), r.output().unwrap())
}

/// Output with the client's own version number blanked (berth reports its own).
fn text(o: &Output) -> (String, String, Option<i32>) {
    let v = |s: String| {
        s.replace("0.1.0-berth", "<VERSION>")
            .replace("28.2.2", "<VERSION>")
    };
    (v(stdout(o)), v(stderr(o)), o.status.code())
}

const COMMANDS: &[&str] = &[
    "attach",
    "commit",
    "cp",
    "create",
    "diff",
    "events",
    "exec",
    "export",
    "history",
    "images",
    "import",
    "info",
    "inspect",
    "kill",
    "load",
    "login",
    "logout",
    "logs",
    "pause",
    "port",
    "ps",
    "pull",
    "push",
    "rename",
    "restart",
    "rm",
    "rmi",
    "run",
    "save",
    "start",
    "stats",
    "stop",
    "tag",
    "top",
    "unpause",
    "update",
    "version",
    "wait",
    "container attach",
    "container commit",
    "container cp",
    "container create",
    "container diff",
    "container exec",
    "container export",
    "container inspect",
    "container kill",
    "container logs",
    "container ls",
    "container list",
    "container ps",
    "container pause",
    "container port",
    "container prune",
    "container rename",
    "container restart",
    "container rm",
    "container remove",
    "container run",
    "container start",
    "container stats",
    "container stop",
    "container top",
    "container unpause",
    "container update",
    "container wait",
    "image history",
    "image import",
    "image inspect",
    "image load",
    "image ls",
    "image prune",
    "image pull",
    "image push",
    "image rm",
    "image save",
    "image tag",
    "system df",
    "system events",
    "system info",
    "system prune",
];

/// The flag table of a help text: long name → (shorthand, type word).
fn flags_of(help: &str) -> BTreeMap<String, (Option<char>, String)> {
    let mut m = BTreeMap::new();
    let mut in_opts = false;
    for line in help.lines() {
        if line == "Options:" || line == "Global Options:" {
            in_opts = true;
            continue;
        }
        if !in_opts || !line.starts_with("  ") {
            continue;
        }
        let t = line.trim_start();
        let (short, rest) = match t.strip_prefix('-') {
            Some(r) if !r.starts_with('-') => (r.chars().next(), r.get(3..).unwrap_or("")),
            _ => (None, t),
        };
        let Some(rest) = rest.strip_prefix("--") else {
            continue;
        };
        let mut words = rest.split(' ');
        let long = words.next().unwrap_or("").to_string();
        let ty = words
            .next()
            .filter(|w| !w.is_empty() && w.chars().all(|c| c.is_ascii_alphanumeric()))
            .unwrap_or("")
            .to_string();
        m.insert(long, (short, ty));
    }
    m
}

fn block_after<'a>(help: &'a str, title: &str) -> Option<&'a str> {
    let start = help.find(&format!("\n{title}\n"))? + title.len() + 2;
    let rest = &help[start..];
    Some(rest.split("\n\n").next().unwrap_or(rest))
}

#[test]
fn help_has_dockers_usage_aliases_and_flags() {
    let t = TestDir::new("client_cli_help");
    let host = format!("unix://{}", t.join("none.sock").display());
    let mut problems = Vec::new();
    for c in COMMANDS {
        let mut args: Vec<&str> = c.split(' ').collect();
        args.push("--help");
        let (b, r) = both(&args, &host, &t.join("cfg"));
        assert_eq!(b.status.code(), Some(0), "{c} --help: {}", stderr(&b));
        let (bh, rh) = (stdout(&b), stdout(&r));
        // Usage line(s): everything up to the first blank line.
        let usage = |h: &str| h.split("\n\n").next().unwrap_or("").to_string();
        if usage(&bh) != usage(&rh) {
            problems.push(format!(
                "{c}: usage {:?} vs docker {:?}",
                usage(&bh),
                usage(&rh)
            ));
        }
        if block_after(&bh, "Aliases:") != block_after(&rh, "Aliases:") {
            problems.push(format!(
                "{c}: aliases {:?} vs docker {:?}",
                block_after(&bh, "Aliases:"),
                block_after(&rh, "Aliases:")
            ));
        }
        let (bf, rf) = (flags_of(&bh), flags_of(&rh));
        for (long, spec) in &bf {
            match rf.get(long) {
                Some(r) if r == spec => {}
                Some(r) => problems.push(format!("{c}: --{long} is {spec:?}, docker has {r:?}")),
                None => problems.push(format!("{c}: --{long} is not a Docker flag")),
            }
        }
        // The flag table is in pflag's layout: every line starts a flag or continues one at the
        // text column, and nothing runs past the width.
        let opts = block_after(&bh, "Options:").unwrap_or("");
        for line in opts.lines() {
            if line.chars().count() > 80 {
                problems.push(format!("{c}: help line longer than 80 columns: {line:?}"));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn help_text_is_laid_out_like_pflag() {
    let t = TestDir::new("client_cli_help_wrap");
    let host = format!("unix://{}", t.join("none.sock").display());
    // Commands without flags: the whole text is Docker's.
    for c in [
        &["pause", "--help"][..],
        &["unpause", "--help"],
        &["rename", "--help"],
        &["diff", "--help"],
    ] {
        let (b, r) = both(c, &host, &t.join("cfg"));
        assert_eq!(text(&b), text(&r), "{c:?}");
    }
    // With flags: the text column and the wrapping of a long description.
    let (b, r) = both(&["ps", "--help"], &host, &t.join("cfg"));
    let line = |o: &Output, start: &str| {
        stdout(o)
            .lines()
            .find(|l| l.starts_with(start))
            .map(String::from)
    };
    for start in [
        "  -a, --all ",
        "  -q, --quiet ",
        "      --no-trunc ",
        "  -n, --last int ",
    ] {
        assert_eq!(line(&b, start), line(&r, start), "{start}");
    }
    let wrapped = |o: &Output| {
        stdout(o)
            .lines()
            .skip_while(|l| !l.starts_with("  -n, --last"))
            .nth(1)
            .map(String::from)
    };
    assert_eq!(wrapped(&b), wrapped(&r));
}

#[test]
fn argument_errors_and_exit_codes_match_docker() {
    let t = TestDir::new("client_cli_errors");
    let host = format!("unix://{}", t.join("none.sock").display());
    let cases: &[&[&str]] = &[
        &["ps", "--nope"],
        &["ps", "-x"],
        &["ps", "x"],
        &["ps", "-n", "x"],
        &["rm"],
        &["rename", "a"],
        &["tag", "a"],
        &["logs"],
        &["images", "a", "b"],
        &["run"],
        &["create"],
        &["exec", "c"],
        &["version", "x"],
        &["stop", "-t", "x", "a"],
        &["nocmd"],
        &["container", "nocmd"],
        &["image", "nocmd"],
        &["--nope"],
        &["-H"],
        &["run", "--rm=maybe", "img"],
        &["run", "--memory", "lots", "img"],
        &["run", "--health-interval", "soon", "img"],
        &["history", "-H=maybe", "img"],
        &["cp", "a", "b"],
        &["cp", "a:x", "b:y"],
        &["pull", "Bad"],
        &["pull", "-a", "x:1"],
        &["tag", "a", "Bad"],
        &["inspect", "--type", "foo", "x"],
        &["--log-level", "loud", "ps"],
    ];
    let mut problems = Vec::new();
    for c in cases {
        let (b, r) = both(c, &host, &t.join("cfg"));
        if text(&b) != text(&r) {
            problems.push(format!(
                "{c:?}:\n  berth:  {:?}\n  docker: {:?}",
                text(&b),
                text(&r)
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn connection_errors_match_docker() {
    let t = TestDir::new("client_cli_connect");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let hosts = [
        format!("unix://{}", t.join("none.sock").display()),
        format!("tcp://127.0.0.1:{port}"),
        format!("tcp://localhost:{port}"),
    ];
    for host in &hosts {
        for c in [
            &["ps"][..],
            &["images"],
            &["info"],
            &["rm", "x"],
            &["logout", "127.0.0.1:1"],
        ] {
            let (b, r) = both(c, host, &t.join("cfg"));
            assert_eq!(text(&b), text(&r), "{c:?} with DOCKER_HOST={host}");
        }
        // The client half of version/info still prints, then the error.
        let (b, r) = both(
            &["version", "--format", "{{.Client.APIVersion}}"],
            host,
            &t.join("cfg"),
        );
        assert_eq!(text(&b), text(&r), "version with DOCKER_HOST={host}");
    }
    let (b, r) = both(&["ps"], "foo://x", &t.join("cfg"));
    assert_eq!(text(&b), text(&r));
    // -H wins over DOCKER_HOST, and only one is allowed.
    let (b, r) = both(
        &["-H", &hosts[0], "ps"],
        "tcp://127.0.0.1:1",
        &t.join("cfg"),
    );
    assert_eq!(text(&b), text(&r));
}

#[test]
fn version_and_group_help() {
    let o = run(Command::new(role("docker")).arg("--version"));
    assert!(stdout(&o).starts_with("Docker version "), "{}", stdout(&o));
    let o = run(Command::new(role("docker")).args(["container"]));
    let h = stdout(&o);
    assert!(
        h.starts_with("Usage:  docker container COMMAND\n\nManage containers\n\nCommands:\n"),
        "{h}"
    );
    for c in [
        "attach", "commit", "cp", "create", "exec", "ls", "prune", "run", "wait",
    ] {
        assert!(h.contains(&format!("\n  {c} ")), "{c} missing from\n{h}");
    }
    assert!(
        h.ends_with("\nRun 'docker container COMMAND --help' for more information on a command.\n")
    );
    let o = run(Command::new(role("docker")).arg("--help"));
    let h = stdout(&o);
    assert!(h.starts_with("Usage:  docker [OPTIONS] COMMAND\n"), "{h}");
    assert!(
        h.contains("\nManagement Commands:\n  container   Manage containers\n"),
        "{h}"
    );
    // `berth docker` and a `docker` link are the same front end.
    let a = run(Command::new(berth_bin()).args(["docker", "image", "--help"]));
    let b = run(Command::new(role("docker")).args(["image", "--help"]));
    assert_eq!(stdout(&a), stdout(&b));
}
