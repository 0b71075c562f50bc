//! Multicall dispatch through symlinks, as users install berth.
mod common;
use common::*;
use std::process::Command;

#[test]
fn every_role_answers_version_through_its_symlink() {
    let expect = [
        ("runc", "runc version "),
        ("docker", "Docker version "),
        ("dockerd", "Docker version "),
        ("containerd", "containerd berth "),
        ("containerd-shim", "containerd-shim (berth)"),
        ("docker-init", "docker-init (berth)"),
    ];
    for (r, prefix) in expect {
        let o = run(Command::new(role(r)).arg("--version"));
        assert!(o.status.success(), "{r} --version failed: {}", stderr(&o));
        let out = stdout(&o);
        assert!(out.starts_with(prefix), "{r} --version printed {out:?}");
        assert!(
            out.contains("berth"),
            "{r} --version should name berth: {out:?}"
        );
    }
}

#[test]
fn runc_version_has_spec_line() {
    let out = stdout(&run(Command::new(role("runc")).arg("--version")));
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("runc version "));
    assert!(lines.iter().any(|l| l.starts_with("spec: 1.")), "{out}");
}

#[test]
fn role_from_first_argument() {
    let o = run(Command::new(berth_bin()).args(["runc", "--version"]));
    assert!(o.status.success());
    assert!(stdout(&o).starts_with("runc version "));
}

#[test]
fn docker_version_has_build() {
    let out = stdout(&run(Command::new(role("docker")).arg("--version")));
    assert!(
        out.starts_with("Docker version ") && out.contains(", build "),
        "{out}"
    );
}

#[test]
fn list_prints_every_role() {
    let o = run(Command::new(berth_bin()).arg("--list"));
    assert!(o.status.success());
    let roles: Vec<String> = stdout(&o).lines().map(String::from).collect();
    assert_eq!(
        roles,
        [
            "docker",
            "dockerd",
            "containerd",
            "runc",
            "containerd-shim",
            "docker-init"
        ]
    );
}

#[test]
fn unknown_role_exits_1_naming_it() {
    let o = run(Command::new(berth_bin()).arg("frobnicate"));
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("unknown role 'frobnicate'"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn bare_berth_prints_usage_listing_roles() {
    let o = run(&mut Command::new(berth_bin()));
    assert!(o.status.success());
    let out = stdout(&o);
    for r in ["docker", "dockerd", "containerd", "runc"] {
        assert!(out.contains(&format!("  {r} ")), "usage lacks {r}: {out}");
    }
}

#[test]
fn install_creates_links_and_is_idempotent() {
    let t = TestDir::new("install_links");
    let o = run(Command::new(berth_bin()).arg("--install").arg(&t.path));
    assert!(o.status.success(), "{}", stderr(&o));
    let o = run(Command::new(berth_bin()).arg("--install").arg(&t.path));
    assert!(
        o.status.success(),
        "second install must accept its own links: {}",
        stderr(&o)
    );
    let o = run(Command::new(t.join("runc")).arg("--version"));
    assert!(stdout(&o).starts_with("runc version "));
    assert!(std::fs::symlink_metadata(t.join("dockerd"))
        .unwrap()
        .file_type()
        .is_symlink());
}

#[test]
fn install_refuses_to_overwrite_a_foreign_file() {
    let t = TestDir::new("install_refuses");
    std::fs::write(t.join("docker"), "#!/bin/sh\n").unwrap();
    let o = run(Command::new(berth_bin()).arg("--install").arg(&t.path));
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("refusing to overwrite"),
        "{}",
        stderr(&o)
    );
    assert_eq!(
        std::fs::read_to_string(t.join("docker")).unwrap(),
        "#!/bin/sh\n",
        "foreign file was touched"
    );
    assert!(
        !t.join("runc").exists(),
        "a refused install must create nothing"
    );
    std::os::unix::fs::symlink("/bin/sh", t.join("runc")).unwrap();
    std::fs::remove_file(t.join("docker")).unwrap();
    let o = run(Command::new(berth_bin()).arg("--install").arg(&t.path));
    assert_eq!(
        o.status.code(),
        Some(1),
        "a link to another binary is foreign too"
    );
}

#[test]
fn binary_is_static() {
    let o = run(Command::new("file").arg("-L").arg(berth_bin()));
    let out = stdout(&o);
    assert!(
        out.contains("statically linked") || out.contains("static-pie"),
        "not static: {out}"
    );
}
