//! Side-by-side benchmarks: the same workload against berth and the installed peer, alternating
//! A B A B in one run so machine drift hits both, reporting medians and the median of the per-pair
//! ratios. Run with `make bench`; the README's table is copied from this output.
//!
//! Fairness notes: every command is a whole process started from this harness with stdout and
//! stderr discarded; one warm-up run of each precedes the counted runs. Runtime cases run the
//! same busybox bundle (runc's default config, /bin/true) for both runtimes, each with its own
//! --root; steps a case needs before or after the timed command (create before start, delete
//! after create) are not timed. The harness is a child subreaper, so container inits orphaned
//! by `create` are reaped here rather than left as zombies.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// An untimed step around the timed command.
enum Step {
    Cmd(Vec<String>),
    /// Wait (as their subreaper) until the process in this pid file has exited.
    WaitPidFile(PathBuf),
}

struct Side {
    argv: Vec<String>,
    env: Vec<(&'static str, &'static str)>,
    before: Vec<Step>,
    after: Vec<Step>,
}

impl Side {
    fn cmd(argv: Vec<String>) -> Side {
        Side {
            argv,
            env: Vec::new(),
            before: Vec::new(),
            after: Vec::new(),
        }
    }
}
// The image load/save pairs reuse the test helpers (daemons, image generator).
#[path = "../tests/common/mod.rs"]
mod common;
mod container_bench;
mod image_bench;
#[path = "../tests/image_support/mod.rs"]
mod image_support;
mod pull_bench;

struct Case {
    name: String,
    berth: Side,
    peer_name: &'static str,
    peer: Side,
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
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|d| Path::new(d).join(name))
        .find(|p| p.is_file())
}

fn run_step(s: &Step) {
    match s {
        Step::Cmd(argv) => {
            let st = Command::new(&argv[0])
                .args(&argv[1..])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
            assert!(
                matches!(st, Ok(s) if s.success()),
                "{argv:?} failed: {st:?}"
            );
        }
        Step::WaitPidFile(p) => {
            let pid: i32 = std::fs::read_to_string(p).unwrap().trim().parse().unwrap();
            // SAFETY: waitpid on one pid (ours as subreaper); ECHILD if already reaped.
            unsafe { libc::waitpid(pid, std::ptr::null_mut(), 0) };
        }
    }
}

/// Reap whatever orphans were reparented to us (the harness is single-threaded).
fn reap_orphans() {
    // SAFETY: non-blocking waitpid for any child; nothing else in this process waits.
    while unsafe { libc::waitpid(-1, std::ptr::null_mut(), libc::WNOHANG) } > 0 {}
}

/// Time one run of `side`: (wall time, the timed process's max RSS in KiB).
fn time_once(side: &Side) -> (Duration, i64) {
    side.before.iter().for_each(run_step);
    let mut c = Command::new(&side.argv[0]);
    c.args(&side.argv[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    for (k, v) in &side.env {
        c.env(k, v);
    }
    let t = Instant::now();
    let child = c.spawn().unwrap_or_else(|e| panic!("{:?}: {e}", side.argv));
    let mut status = 0;
    // SAFETY: zeroed rusage is a valid out-parameter; wait4 on our own child.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut ru) };
    let d = t.elapsed();
    assert!(
        r > 0 && libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "{:?} failed: status {status:#x}",
        side.argv
    );
    side.after.iter().for_each(run_step);
    reap_orphans();
    (d, ru.ru_maxrss)
}

/// Wall time of a plain command (the image and pull pairs).
fn time_argv(argv: &[String]) -> Duration {
    time_once(&Side::cmd(argv.to_vec())).0
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

/// A busybox bundle with runc's default config running /bin/true (no terminal).
fn busybox_bundle(dir: &Path, runtime: &Path) -> Option<PathBuf> {
    let bb = ["/bin/busybox", "/usr/bin/busybox"]
        .iter()
        .map(Path::new)
        .find(|p| p.is_file())?;
    let rootfs = dir.join("rootfs");
    for d in ["bin", "proc", "sys", "dev", "etc", "tmp"] {
        std::fs::create_dir_all(rootfs.join(d)).ok()?;
    }
    std::fs::copy(bb, rootfs.join("bin/busybox")).ok()?;
    for a in ["true", "sh"] {
        let _ = std::os::unix::fs::symlink("busybox", rootfs.join("bin").join(a));
    }
    let _ = std::fs::remove_file(dir.join("config.json"));
    let st = Command::new(runtime)
        .args(["spec", "--bundle"])
        .arg(dir)
        .status()
        .ok()?;
    if !st.success() {
        return None;
    }
    let mut v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("config.json")).ok()?).ok()?;
    // A version every peer parses (crun 1.8 rejects newer ones).
    v["ociVersion"] = "1.0.2-dev".into();
    v["process"]["terminal"] = false.into();
    v["process"]["args"] = serde_json::json!(["/bin/true"]);
    std::fs::write(dir.join("config.json"), serde_json::to_vec_pretty(&v).ok()?).ok()?;
    Some(dir.to_path_buf())
}

/// The runtime cases for one peer runtime at `peer` (named `peer_name`).
fn runtime_cases(
    cases: &mut Vec<Case>,
    work: &Path,
    bundle: &Path,
    ours: &Path,
    peer_name: &'static str,
    peer: &Path,
) {
    let b = bundle.to_str().unwrap();
    let side = |bin: &Path, tag: &str| -> (String, String) {
        (
            bin.to_str().unwrap().to_string(),
            work.join(format!("root-{tag}"))
                .to_str()
                .unwrap()
                .to_string(),
        )
    };
    let (ob, or) = side(ours, "berth");
    let (pb, pr) = side(peer, peer_name);
    let mk = |bin: &str, root: &str, tag: &str, what: &str| -> Side {
        let id = format!("bench-{tag}");
        let pidfile = work.join(format!("{tag}.pid"));
        let pf = pidfile.to_str().unwrap();
        let base = |cmd: &[&str]| -> Vec<String> {
            let mut v = s(&[bin, "--root", root]);
            v.extend(s(cmd));
            v
        };
        match what {
            "run" => Side::cmd(base(&["run", "--bundle", b, &id])),
            "create" => Side {
                after: vec![Step::Cmd(base(&["delete", "--force", &id]))],
                ..Side::cmd(base(&["create", "--bundle", b, "--pid-file", pf, &id]))
            },
            "start" => Side {
                before: vec![Step::Cmd(base(&[
                    "create",
                    "--bundle",
                    b,
                    "--pid-file",
                    pf,
                    &id,
                ]))],
                after: vec![
                    Step::WaitPidFile(pidfile.clone()),
                    Step::Cmd(base(&["delete", "--force", &id])),
                ],
                ..Side::cmd(base(&["start", &id]))
            },
            "delete" => Side {
                before: vec![
                    Step::Cmd(base(&["create", "--bundle", b, "--pid-file", pf, &id])),
                    Step::Cmd(base(&["start", &id])),
                    Step::WaitPidFile(pidfile.clone()),
                ],
                ..Side::cmd(base(&["delete", &id]))
            },
            _ => unreachable!(),
        }
    };
    for what in ["run", "create", "start", "delete"] {
        let label = match what {
            "run" => "runtime: run /bin/true (busybox bundle)".to_string(),
            "delete" => "runtime: delete (stopped container)".to_string(),
            w => format!("runtime: {w}"),
        };
        cases.push(Case {
            name: label,
            berth: mk(&ob, &or, &format!("berth-{peer_name}"), what),
            peer_name,
            peer: mk(&pb, &pr, peer_name, what),
        });
    }
}

fn main() {
    let runs: usize = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(50);
    // SAFETY: prctl with integer arguments; makes orphaned container inits our children.
    unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    let l = links();
    let mut cases = Vec::new();
    let mut notes = Vec::new();
    if let Some(runc) = which("runc") {
        cases.push(Case {
            name: "dispatch: runc --version".into(),
            berth: Side::cmd(s(&[l.join("runc").to_str().unwrap(), "--version"])),
            peer_name: "runc",
            peer: Side::cmd(s(&[runc.to_str().unwrap(), "--version"])),
        });
    } else {
        eprintln!("runc is not installed: `make bench` installs it; skipping the runc pair");
    }
    if let Some(docker) = which("docker").filter(|p| !p.starts_with(&l)) {
        cases.push(Case {
            name: "dispatch: docker --version".into(),
            berth: Side::cmd(s(&[l.join("docker").to_str().unwrap(), "--version"])),
            peer_name: "docker CLI",
            peer: Side::cmd(s(&[docker.to_str().unwrap(), "--version"])),
        });
    }

    // The OCI runtime: berth's runc role against runc (and crun where this host lets it run).
    let work = std::env::temp_dir().join(format!("berth-bench-rt-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).unwrap();
    let ours = l.join("runc");
    let bundle = busybox_bundle(&work.join("bundle"), &ours);
    let is_root = unsafe { libc::geteuid() } == 0;
    let mut floor = None;
    match (&bundle, is_root) {
        (Some(bundle), true) => {
            if let Some(runc) = which("runc") {
                runtime_cases(&mut cases, &work, bundle, &ours, "runc", &runc);
            }
            if let Some(crun) = which("crun") {
                let o = Command::new(&crun)
                    .args([
                        "--root",
                        work.join("crun-probe").to_str().unwrap(),
                        "run",
                        "--bundle",
                        bundle.to_str().unwrap(),
                        "probe",
                    ])
                    .output();
                match o {
                    Ok(o) if o.status.success() => {
                        runtime_cases(&mut cases, &work, bundle, &ours, "crun", &crun)
                    }
                    Ok(o) => notes.push(format!(
                        "crun skipped: `crun run` fails on this host: {}",
                        String::from_utf8_lossy(&o.stderr).trim()
                    )),
                    Err(e) => notes.push(format!("crun skipped: {e}")),
                }
            }
            // The CVE-2019-5736 guard: the default read-only bind of the binary vs a sealed memfd copy.
            let id = "bench-seal";
            let root = work.join("root-seal");
            let argv = s(&[
                ours.to_str().unwrap(),
                "--root",
                root.to_str().unwrap(),
                "run",
                "--bundle",
                bundle.to_str().unwrap(),
                id,
            ]);
            cases.push(Case {
                name: "CVE-2019-5736 guard: run, ro bind (berth default) vs memfd copy".into(),
                berth: Side::cmd(argv.clone()),
                peer_name: "berth (memfd)",
                peer: Side {
                    env: vec![("BERTH_RUNC_SEAL", "memfd")],
                    ..Side::cmd(argv)
                },
            });
            if which("unshare").is_some() {
                floor = Some(Side::cmd(s(&[
                    "unshare", "--fork", "--pid", "--mount", "--uts", "--ipc", "--net", "true",
                ])));
            }
        }
        (None, _) => {
            notes.push("runtime cases skipped: no busybox (package busybox-static)".into())
        }
        (_, false) => notes.push("runtime cases skipped: they need root".into()),
    }

    println!("| case | berth median | peer | peer median | berth/peer (median of pair ratios) | max RSS berth / peer |");
    println!("| --- | ---: | --- | ---: | ---: | ---: |");
    let mut berth_run = None;
    for c in &cases {
        time_once(&c.berth);
        time_once(&c.peer);
        let (mut a, mut b, mut r) = (Vec::new(), Vec::new(), Vec::new());
        let (mut ra, mut rb) = (0, 0);
        for _ in 0..runs {
            let (x, mx) = time_once(&c.berth);
            let (y, my) = time_once(&c.peer);
            let (x, y) = (x.as_secs_f64() * 1e3, y.as_secs_f64() * 1e3);
            a.push(x);
            b.push(y);
            r.push(x / y);
            ra = ra.max(mx);
            rb = rb.max(my);
        }
        let ma = median(&mut a);
        if c.name.starts_with("runtime: run") && berth_run.is_none() {
            berth_run = Some(ma);
        }
        println!(
            "| {} | {:.2} ms | {} | {:.2} ms | {:.2}x | {} / {} KiB |",
            c.name,
            ma,
            c.peer_name,
            median(&mut b),
            median(&mut r),
            ra,
            rb
        );
    }
    if let Some(f) = floor {
        time_once(&f);
        let mut v: Vec<f64> = (0..runs)
            .map(|_| time_once(&f).0.as_secs_f64() * 1e3)
            .collect();
        let m = median(&mut v);
        let rel = berth_run
            .map(|b| format!(" (berth run = {:.1}x the floor)", b / m))
            .unwrap_or_default();
        println!("\nFloor: `unshare --fork --pid --mount --uts --ipc --net true`: {m:.2} ms{rel}");
    }
    for n in notes {
        println!("\nNote: {n}");
    }
    let _ = std::fs::remove_dir_all(&work);
    let container_runs: usize = std::env::var("BENCH_CONTAINER_RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    if container_runs > 0 && is_root {
        container_bench::run(container_runs);
    }
    let image_runs: usize = std::env::var("BENCH_IMAGE_RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    if image_runs > 0 {
        image_bench::run(image_runs);
    }
    let pull_runs: usize = std::env::var("BENCH_PULL_RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    if pull_runs > 0 {
        pull_bench::run(pull_runs);
    }
    let _ = std::fs::remove_dir_all(&l);
}
