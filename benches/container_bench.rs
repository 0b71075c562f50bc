//! Containers through the Docker CLI 28: berth's dockerd against Debian's dockerd 20.10
//! (with its own containerd and runc), both private daemons on the same host, the same busybox
//! image imported into each, alternating runs.
//!
//! - `docker run --rm bb true`, end to end (create, attach, wait, start, exit, removal);
//! - 50 concurrent `docker run -d bb sleep 300` (wall time until every CLI returned);
//! - each of those twice: with the Docker CLI as the client of both daemons, and with berth's
//!   `docker` role as the client of both (the Docker CLI's start-up and exit are ~20 ms of
//!   every run, a fixed cost that the daemon cannot remove);
//! - the client's own floor: 50 concurrent `docker ps -q` with the Docker CLI;
//! - memory: the idle daemon (dockerd + containerd for the peer), and per running container
//!   (the daemons' growth plus every shim) with the 50 containers up.
//!
//! Fairness: the peer runs with `--bridge=none`, so neither side sets up a network; both use
//! overlay snapshots on the disk and exec roots on a tmpfs (each daemon's default place). Removal
//! of the 50 containers is not timed. Each timed run starts after a sync and a pause (300 ms
//! before a single run, 3 s before 50), so neither daemon is timed on the tail of the other's
//! work.

use crate::image_support::daemon::Daemon;
use crate::median;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn rss_kib(pid: i32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// Processes whose command line mentions `needle` (their summed RSS, and how many).
fn rss_of_matching(needle: &str, name_has: &str) -> (u64, usize) {
    let mut total = 0;
    let mut n = 0;
    for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
        if cmd.contains(needle) && cmd.contains(name_has) {
            total += rss_kib(pid);
            n += 1;
        }
    }
    (total, n)
}

/// The daemon's own memory: dockerd, plus the containerd the peer starts.
fn daemon_rss(d: &Daemon) -> u64 {
    let mut r = rss_kib(d.pid());
    if let Some((kib, _)) = Some(rss_of_matching(
        &d.dir.join("exec").display().to_string(),
        "containerd --config",
    ))
    .filter(|x| x.1 > 0)
    {
        r += kib;
    }
    r
}

fn shims_rss(d: &Daemon) -> (u64, usize) {
    let exec = d.dir.join("exec").display().to_string();
    let (a, n1) = rss_of_matching(&exec, "containerd-shim-runc-v2");
    let (b, n2) = rss_of_matching(&exec, "containerd-shim --id");
    (a + b, n1 + n2)
}

fn busybox_tar(dir: &Path) -> std::path::PathBuf {
    let root = dir.join("rootfs");
    crate::common::busybox_rootfs(&root);
    let tar = dir.join("busybox.tar");
    let ok = Command::new("tar")
        .arg("-C")
        .arg(&root)
        .arg("-cf")
        .arg(&tar)
        .arg(".")
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(ok, "tar of the busybox rootfs failed");
    tar
}

/// Which client binary drives a case: the Docker CLI 28, or berth's own `docker` role.
#[derive(Clone, Copy, PartialEq)]
enum Client {
    DockerCli,
    Ours,
}

/// `docker ARGS` against `d` with the chosen client (same environment either way).
fn client_cmd(d: &Daemon, client: Client, args: &[&str]) -> Command {
    let c = d.docker_cmd(args);
    if client == Client::DockerCli {
        return c;
    }
    let mut o = Command::new(crate::common::role("docker"));
    for (k, v) in c.get_envs() {
        match v {
            Some(v) => o.env(k, v),
            None => o.env_remove(k),
        };
    }
    o.env("DOCKER_CONFIG", d.dir.join("cli-config"));
    o.args(args);
    o
}

/// Before each timed run: flush dirty data and let the previous run's aftermath finish (the
/// other daemon's shim and containerd teardown, the kernel's deferred namespace cleanup), so
/// each daemon is timed on a quiet machine rather than on the tail of its peer's run.
fn settle(after: Duration) {
    rustix::fs::sync();
    std::thread::sleep(after);
}

fn run_rm(d: &Daemon, client: Client) -> Duration {
    settle(Duration::from_millis(300));
    let t = Instant::now();
    let o = client_cmd(d, client, &["run", "--rm", "bb", "true"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    let e = t.elapsed();
    assert!(o.success(), "docker run --rm failed against {:?}", d.kind);
    e
}

/// `n` concurrent `docker ARGS`; the wall time until every client returned.
fn run_many(d: &Daemon, client: Client, n: usize, args: &[&str]) -> Duration {
    settle(Duration::from_secs(3));
    let t = Instant::now();
    let children: Vec<_> = (0..n)
        .map(|_| {
            client_cmd(d, client, args)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut c in children {
        assert!(
            c.wait().unwrap().success(),
            "docker {args:?} failed against {:?}",
            d.kind
        );
    }
    t.elapsed()
}

fn remove_all(d: &Daemon) {
    let ids = d.ok(&["ps", "-aq"]);
    let ids: Vec<&str> = ids.split_whitespace().collect();
    if !ids.is_empty() {
        let mut args = vec!["rm", "-f"];
        args.extend(ids);
        d.ok(&args);
    }
}

pub fn run(runs: usize) {
    if Command::new("dockerd").arg("--version").output().is_err() {
        eprintln!("dockerd (docker.io) is not installed: skipping the container pairs");
        return;
    }
    let t = std::env::temp_dir().join(format!("berth-bench-ct-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&t);
    std::fs::create_dir_all(&t).unwrap();
    let tar = busybox_tar(&t);
    // Exec roots on tmpfs, as both daemons' defaults are (/run/berth, /var/run/docker and
    // /run/containerd); data roots stay on the disk.
    for side in ["b", "p"] {
        let exec = t.join(side).join("exec");
        std::fs::create_dir_all(&exec).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "mode=0711", "tmpfs"])
            .arg(&exec)
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        assert!(ok, "mount a tmpfs on {}", exec.display());
    }
    let berth = Daemon::berth(&t.join("b"), "{}");
    let peer = Daemon::peer(&t.join("p"));
    for d in [&berth, &peer] {
        d.ok(&["import", tar.to_str().unwrap(), "bb:latest"]);
    }
    std::thread::sleep(Duration::from_secs(1));
    let (idle_b, idle_p) = (daemon_rss(&berth), daemon_rss(&peer));

    println!("\n### Containers: berth dockerd vs dockerd 20.10 (containerd 1.6, runc 1.1), Docker CLI 28\n");
    println!("| case | berth median | dockerd median | berth/dockerd (median of pair ratios) |");
    println!("| --- | ---: | ---: | ---: |");
    let mut per_container = (0.0, 0.0, 0, 0, 0u64, 0u64);
    for (client, who) in [
        (Client::DockerCli, "Docker CLI"),
        (Client::Ours, "berth's docker role"),
    ] {
        run_rm(&berth, client);
        run_rm(&peer, client);
        let (mut a, mut b, mut r) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..runs {
            let x = run_rm(&berth, client).as_secs_f64() * 1e3;
            let y = run_rm(&peer, client).as_secs_f64() * 1e3;
            a.push(x);
            b.push(y);
            r.push(x / y);
        }
        println!(
            "| `docker run --rm bb true` ({who} as the client of both) | {:.1} ms | {:.1} ms | {:.3}x |",
            median(&mut a),
            median(&mut b),
            median(&mut r)
        );
    }

    let n = 50;
    let rounds = 3.min(runs.max(1));
    let run_d: &[&str] = &["run", "-d", "bb", "sleep", "300"];
    for (client, who) in [
        (Client::DockerCli, "Docker CLI"),
        (Client::Ours, "berth's docker role"),
    ] {
        let (mut a, mut b, mut r) = (Vec::new(), Vec::new(), Vec::new());
        for round in 0..rounds {
            let x = run_many(&berth, client, n, run_d).as_secs_f64() * 1e3;
            let y = run_many(&peer, client, n, run_d).as_secs_f64() * 1e3;
            if round == 0 && client == Client::DockerCli {
                std::thread::sleep(Duration::from_secs(2));
                let (sb, nb) = shims_rss(&berth);
                let (sp, np) = shims_rss(&peer);
                let (db, dp) = (daemon_rss(&berth), daemon_rss(&peer));
                per_container = (
                    (db.saturating_sub(idle_b) + sb) as f64 / n as f64,
                    (dp.saturating_sub(idle_p) + sp) as f64 / n as f64,
                    nb,
                    np,
                    if nb > 0 { sb / nb as u64 } else { 0 },
                    if np > 0 { sp / np as u64 } else { 0 },
                );
            }
            remove_all(&berth);
            remove_all(&peer);
            a.push(x);
            b.push(y);
            r.push(x / y);
        }
        println!(
            "| {n} concurrent `docker run -d` ({who} as the client of both) | {:.0} ms | {:.0} ms | {:.3}x |",
            median(&mut a),
            median(&mut b),
            median(&mut r)
        );
    }
    // The Docker CLI's own share: the same 50 processes doing a trivial round trip.
    let (mut a, mut b, mut r) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds {
        let x = run_many(&berth, Client::DockerCli, n, &["ps", "-q"]).as_secs_f64() * 1e3;
        let y = run_many(&peer, Client::DockerCli, n, &["ps", "-q"]).as_secs_f64() * 1e3;
        a.push(x);
        b.push(y);
        r.push(x / y);
    }
    println!(
        "| floor: {n} concurrent `docker ps -q` (Docker CLI, no container work) | {:.0} ms | {:.0} ms | {:.3}x |",
        median(&mut a),
        median(&mut b),
        median(&mut r)
    );
    println!("\n| memory | berth | dockerd 20.10 |");
    println!("| --- | ---: | ---: |");
    println!("| idle daemon RSS (dockerd + containerd) | {idle_b} KiB | {idle_p} KiB |");
    println!(
        "| RSS per running container (daemon growth + shim) | {:.0} KiB | {:.0} KiB |",
        per_container.0, per_container.1
    );
    println!(
        "| RSS of one shim ({} / {} shims seen) | {} KiB | {} KiB |",
        per_container.2, per_container.3, per_container.4, per_container.5
    );
    client_pairs(&berth, &peer, runs.max(20));
    drop(berth);
    drop(peer);
    crate::common::unmount_below(&t);
    let _ = std::fs::remove_dir_all(&t);
}

/// One timed CLI invocation (output discarded); panics if it fails.
fn time_cli(mut c: Command) -> f64 {
    let t = Instant::now();
    let ok = c
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    let e = t.elapsed().as_secs_f64() * 1e3;
    assert!(ok, "{c:?} failed");
    e
}

/// The docker role against the Docker CLI 28: start-up alone (`--version`, no daemon) and a `ps`
/// round trip (start, negotiate, list, print) against each daemon, with a few containers listed.
fn client_pairs(berth: &Daemon, peer: &Daemon, runs: usize) {
    let with_ours = |d: &Daemon, args: &[&str]| client_cmd(d, Client::Ours, args);
    for d in [berth, peer] {
        for i in 0..5 {
            d.ok(&["create", "--name", &format!("listed{i}"), "bb", "true"]);
        }
    }
    println!("\n### The docker role vs the Docker CLI 28 (same daemon, alternating runs)\n");
    println!("| case | berth client | Docker CLI | berth/Docker CLI (median of pair ratios) |");
    println!("| --- | ---: | ---: | ---: |");
    let cases: [(&str, &Daemon, &[&str]); 3] = [
        ("`docker --version` (start-up)", berth, &["--version"]),
        ("`docker ps -a` against berth dockerd", berth, &["ps", "-a"]),
        ("`docker ps -a` against dockerd 20.10", peer, &["ps", "-a"]),
    ];
    for (name, d, args) in cases {
        time_cli(with_ours(d, args));
        time_cli(d.docker_cmd(args));
        let (mut a, mut b, mut r) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..runs {
            let x = time_cli(with_ours(d, args));
            let y = time_cli(d.docker_cmd(args));
            a.push(x);
            b.push(y);
            r.push(x / y);
        }
        println!(
            "| {name} | {:.2} ms | {:.2} ms | {:.3}x |",
            median(&mut a),
            median(&mut b),
            median(&mut r)
        );
    }
    remove_all(berth);
    remove_all(peer);
}
