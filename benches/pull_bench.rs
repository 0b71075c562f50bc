//! `docker pull` of a ~212 MB, 5-layer image (the image of `image_bench`: busybox base and four
//! layers of 50 MiB random data) from a local registry (Debian's docker-registry on 127.0.0.1,
//! plain HTTP), berth's dockerd against Debian's dockerd 20.10, the same Docker CLI 28 against
//! each, alternating runs.
//!
//! Fairness: the image is pushed once by dockerd 20.10 (so both pull the same gzip blobs);
//! before each timed pull the image is removed from that daemon (untimed), so every pull
//! downloads and extracts every layer. Both use their default download concurrency (3). berth
//! makes the layers durable (one syncfs) before naming the image; dockerd 20.10 does not fsync
//! layer data. The registry serves from the page cache for both.

#[path = "../tests/registry_support/mod.rs"]
mod registry_support;

use crate::image_support::daemon::Daemon;
use crate::{median, time_argv as time_once};
use registry_support::{RegAuth, Registry};

pub fn run(runs: usize) {
    if crate::which("dockerd").is_none() || crate::which("docker-registry").is_none() {
        eprintln!(
            "dockerd (docker.io) or docker-registry is not installed: skipping the pull pair"
        );
        return;
    }
    let t = std::env::temp_dir().join(format!("berth-bench-pull-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&t);
    std::fs::create_dir_all(&t).unwrap();
    let archive = t.join("big.tar");
    crate::image_support::write_big_image(
        &t.join("gen"),
        &archive,
        "big:bench",
        &[50, 50, 50, 50],
        42,
    );
    let reg = Registry::start(&t.join("reg"), RegAuth::None);
    let name = format!("{}/big:bench", reg.host());
    let berth = Daemon::berth(&t.join("berth"), "{}");
    let peer = Daemon::peer(&t.join("peer"));
    peer.ok(&["load", "-i", archive.to_str().unwrap()]);
    peer.ok(&["tag", "big:bench", &name]);
    peer.ok(&["push", &name]);
    let _ = peer.docker(&["rmi", "-f", "big:bench"]);
    let size: u64 = std::fs::read_dir(reg.dir.join("storage/docker/registry/v2/blobs/sha256"))
        .unwrap()
        .flat_map(|a| std::fs::read_dir(a.unwrap().path()).unwrap())
        .map(|b| {
            std::fs::metadata(b.unwrap().path().join("data"))
                .map(|m| m.len())
                .unwrap_or(0)
        })
        .sum();
    let with_env = |d: &Daemon, args: &[&str]| -> Vec<String> {
        let c = d.docker_cmd(args);
        let mut v = vec![
            "env".to_string(),
            format!("DOCKER_HOST=unix://{}", d.sock.display()),
            format!("DOCKER_CONFIG={}", d.dir.join("cli-config").display()),
        ];
        v.push(c.get_program().to_string_lossy().into_owned());
        v.extend(c.get_args().map(|a| a.to_string_lossy().into_owned()));
        v
    };
    let pull_b = with_env(&berth, &["pull", &name]);
    let pull_p = with_env(&peer, &["pull", &name]);
    let rmi = |d: &Daemon| {
        let _ = d.docker(&["rmi", "-f", &name]);
    };
    rmi(&berth);
    time_once(&pull_b);
    rmi(&peer);
    time_once(&pull_p);
    let (mut x, mut y, mut r) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..runs {
        rmi(&berth);
        let a = time_once(&pull_b).as_secs_f64();
        rmi(&peer);
        let b = time_once(&pull_p).as_secs_f64();
        x.push(a);
        y.push(b);
        r.push(a / b);
    }
    let (mb, mp) = (median(&mut x), median(&mut y));
    println!(
        "| pull {:.0} MB (5 layers, local registry) | {:.0} ms ({:.0} MB/s) | dockerd 20.10 | {:.0} ms ({:.0} MB/s) | {:.2}x |",
        size as f64 / 1e6,
        mb * 1e3,
        size as f64 / 1e6 / mb,
        mp * 1e3,
        size as f64 / 1e6 / mp,
        median(&mut r)
    );
    drop(berth);
    drop(peer);
    drop(reg);
    let _ = std::fs::remove_dir_all(&t);
}
