//! `docker load` and `docker save` of a ~212 MB, 5-layer image (busybox base, four layers of
//! 50 MiB random data, a whiteout and an opaque directory in the last one; see
//! tests/fixtures/README.md), berth's dockerd against Debian's dockerd 20.10, both private
//! daemons on the same disk, the same Docker CLI 28 against each, alternating runs.
//!
//! Fairness: before each timed load the image is removed from that daemon and the page cache is
//! written back (`sync`, then a short pause; untimed), so every load writes all layers and no
//! run pays for the previous run's writeback or block discards. berth makes the layers durable (one syncfs per load) before it names
//! the image; dockerd 20.10 does not fsync layer data, so berth pays for a disk flush that
//! dockerd skips. The archive is read from the page cache by both. Save output goes to
//! /dev/null through the CLI.

use crate::image_support::daemon::Daemon;
use crate::{median, time_argv as time_once};
use std::io::Write;
use std::path::Path;
use std::time::Instant;

/// Write-and-fsync speed of the disk under `dir` (MB/s), like `dd bs=1M conv=fsync`.
fn disk_write_speed(dir: &Path) -> f64 {
    let p = dir.join("ddtest");
    let buf = vec![0x5au8; 1 << 20];
    let t = Instant::now();
    let mut f = std::fs::File::create(&p).unwrap();
    for _ in 0..512 {
        f.write_all(&buf).unwrap();
    }
    f.sync_all().unwrap();
    let secs = t.elapsed().as_secs_f64();
    drop(f);
    let _ = std::fs::remove_file(&p);
    512.0 * 1048576.0 / secs / 1e6
}

pub fn run(runs: usize) {
    if which_dockerd().is_none() {
        eprintln!("dockerd (docker.io) is not installed: skipping the image load/save pairs");
        return;
    }
    let t = std::env::temp_dir().join(format!("berth-bench-images-{}", std::process::id()));
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
    let size = std::fs::metadata(&archive).unwrap().len();
    let disk = disk_write_speed(&t);
    let berth = Daemon::berth(&t.join("berth"), "{}");
    let peer = Daemon::peer(&t.join("peer"));
    let cli = |d: &Daemon, args: &[&str]| -> Vec<String> {
        let c = d.docker_cmd(args);
        let mut v = vec![c.get_program().to_string_lossy().into_owned()];
        v.extend(c.get_args().map(|a| a.to_string_lossy().into_owned()));
        v
    };
    // time_once does not pass the environment of a Command: wrap in `env`.
    let with_env = |d: &Daemon, args: &[&str]| -> Vec<String> {
        let mut v = vec![
            "env".to_string(),
            format!("DOCKER_HOST=unix://{}", d.sock.display()),
            format!("DOCKER_CONFIG={}", d.dir.join("cli-config").display()),
        ];
        v.extend(cli(d, args));
        v
    };
    let a = archive.to_str().unwrap();
    let load_b = with_env(&berth, &["load", "-i", a]);
    let load_p = with_env(&peer, &["load", "-i", a]);
    let rmi = |d: &Daemon| {
        let _ = d.docker(&["rmi", "-f", "big:bench"]);
        settle();
    };
    // warm-up
    rmi(&berth);
    time_once(&load_b);
    rmi(&peer);
    time_once(&load_p);
    let (mut x, mut y, mut r) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..runs {
        rmi(&berth);
        let a = time_once(&load_b).as_secs_f64();
        rmi(&peer);
        let b = time_once(&load_p).as_secs_f64();
        x.push(a);
        y.push(b);
        r.push(a / b);
    }
    let (lb, lp, lr) = (median(&mut x), median(&mut y), median(&mut r));
    let mb = size as f64 / 1e6;
    println!("| docker load, {mb:.0} MB, 5 layers (disk write+fsync here: {disk:.0} MB/s) | {:.0} ms ({:.0} MB/s) | dockerd 20.10 | {:.0} ms ({:.0} MB/s) | {lr:.2}x | – |", lb * 1e3, mb / lb, lp * 1e3, mb / lp);
    let save_b = with_env(&berth, &["save", "big:bench"]);
    let save_p = with_env(&peer, &["save", "big:bench"]);
    time_once(&save_b);
    time_once(&save_p);
    let (mut x, mut y, mut r) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..runs {
        settle();
        let a = time_once(&save_b).as_secs_f64();
        settle();
        let b = time_once(&save_p).as_secs_f64();
        x.push(a);
        y.push(b);
        r.push(a / b);
    }
    let (sb, sp, sr) = (median(&mut x), median(&mut y), median(&mut r));
    println!("| docker save, {mb:.0} MB, 5 layers | {:.0} ms ({:.0} MB/s) | dockerd 20.10 | {:.0} ms ({:.0} MB/s) | {sr:.2}x | – |", sb * 1e3, mb / sb, sp * 1e3, mb / sp);
    drop(berth);
    drop(peer);
    crate::common::unmount_below(&t);
    let _ = std::fs::remove_dir_all(&t);
}

/// Write back dirty pages and let the disk settle, between runs.
fn settle() {
    let _ = std::process::Command::new("sync").status();
    std::thread::sleep(std::time::Duration::from_secs(2));
}

fn which_dockerd() -> Option<std::path::PathBuf> {
    crate::which("dockerd")
}
