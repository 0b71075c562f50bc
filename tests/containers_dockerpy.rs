//! docker-py (Debian's python3-docker 5.0.3, which .ci/run installs; also passes with docker-py 7.1 from pip) against berth's dockerd.
mod common;
mod containers_support;

use common::*;
use containers_support::Engine;

#[test]
fn docker_py_runs_execs_inspects_and_removes_containers() {
    let probe = run(std::process::Command::new("python3").args(["-c", "import docker"]));
    assert!(
        probe.status.success(),
        "docker-py is missing: install python3-docker (.ci/run): {}",
        stderr(&probe)
    );
    let e = Engine::start("containers_dockerpy");
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/containers_support/dockerpy_check.py");
    let o = run(std::process::Command::new("python3")
        .arg(&script)
        .arg(e.d().host()));
    assert!(
        o.status.success(),
        "docker-py check failed:\n{}\n{}\ndaemon log:\n{}",
        stdout(&o),
        stderr(&o),
        e.log_tail()
    );
    assert_eq!(stdout(&o).trim(), "ok");
}
