//! Side-by-side benchmarks: the same workload against berth and the installed peer, alternating
//! A B A B in one run so machine drift hits both, reporting medians and the median of the per-pair
//! ratios. Run with `make bench`; the README's table is copied from this output.
//!
//! Fairness notes: every command is a whole process started from this harness with stdout and
//! stderr discarded; one warm-up run of each precedes the counted runs.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

// The pull pair reuses the test helpers (daemons, image generator, registry).
#[path = "../tests/common/mod.rs"]
mod common;
#[path = "../tests/image_support/mod.rs"]
mod image_support;
mod pull_bench;

struct Case {
    name: &'static str,
    berth: Vec<String>,
    peer_name: &'static str,
    peer: Vec<String>,
}

fn berth() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/berth");
    assert!(p.is_file(), "run `make build` first");
    p
}

/// A directory of role symlinks, so berth is timed the way users run it.
fn links() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("berth-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for r in ["runc", "docker", "dockerd"] {
        let _ = std::fs::remove_file(dir.join(r));
        std::os::unix::fs::symlink(berth(), dir.join(r)).unwrap();
    }
    dir
}

fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?.to_str()?.split(':').map(|d| Path::new(d).join(name)).find(|p| p.is_file())
}

fn time_once(argv: &[String]) -> Duration {
    let t = Instant::now();
    let st = Command::new(&argv[0]).args(&argv[1..]).stdout(Stdio::null()).stderr(Stdio::null()).status();
    let d = t.elapsed();
    match st {
        Ok(s) if s.success() => d,
        other => panic!("{argv:?} failed: {other:?}"),
    }
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = v.len();
    if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 }
}

fn main() {
    let runs: usize = std::env::var("BENCH_RUNS").ok().and_then(|s| s.parse().ok()).unwrap_or(50);
    let l = links();
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let mut cases = Vec::new();
    if let Some(runc) = which("runc") {
        cases.push(Case {
            name: "dispatch: runc --version",
            berth: s(&[l.join("runc").to_str().unwrap(), "--version"]),
            peer_name: "runc",
            peer: s(&[runc.to_str().unwrap(), "--version"]),
        });
    } else {
        eprintln!("runc is not installed: `make bench` installs it; skipping the runc pair");
    }
    if let Some(docker) = which("docker").filter(|p| !p.starts_with(&l)) {
        cases.push(Case {
            name: "dispatch: docker --version",
            berth: s(&[l.join("docker").to_str().unwrap(), "--version"]),
            peer_name: "docker CLI",
            peer: s(&[docker.to_str().unwrap(), "--version"]),
        });
    }
    println!("| case | berth median | peer | peer median | berth/peer (median of pair ratios) |");
    println!("| --- | ---: | --- | ---: | ---: |");
    for c in &cases {
        time_once(&c.berth);
        time_once(&c.peer);
        let (mut a, mut b, mut r) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..runs {
            let x = time_once(&c.berth).as_secs_f64() * 1e3;
            let y = time_once(&c.peer).as_secs_f64() * 1e3;
            a.push(x);
            b.push(y);
            r.push(x / y);
        }
        println!("| {} | {:.2} ms | {} | {:.2} ms | {:.2}x |", c.name, median(&mut a), c.peer_name, median(&mut b), median(&mut r));
    }
    let pull_runs: usize = std::env::var("BENCH_PULL_RUNS").ok().and_then(|s| s.parse().ok()).unwrap_or(5);
    if pull_runs > 0 {
        pull_bench::run(pull_runs);
    }
    let _ = std::fs::remove_dir_all(&l);
}
