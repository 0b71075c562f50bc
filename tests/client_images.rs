//! Image scenarios with berth's docker client, each run twice: against Debian's dockerd 20.10
//! and against berth's dockerd. Wherever both clients can run the same command, berth's output
//! (stdout, stderr, exit code) must equal the Docker CLI 28's against the same daemon.
mod client_support;
mod common;
use client_support::*;
use common::*;

fn images_scenario(d: &Daemon) {
    d.load_small();
    for args in [
        &["images"][..],
        &["images", "-q"],
        &["images", "-a"],
        &["images", "--digests"],
        &["images", "--no-trunc"],
        &["images", "--format", "json"],
        &[
            "images",
            "--format",
            "{{.Repository}}:{{.Tag}} {{.ID}} {{.Size}}",
        ],
        &["images", "--format", "table {{.ID}}\\t{{.Repository}}"],
        &["images", "small"],
        &["images", "nosuch"],
        &["image", "ls", "-f", "reference=small:*"],
        &["history", "small:peer"],
        &["history", "-q", "small:peer"],
        &["history", "--no-trunc", "small:peer"],
        &["history", "-H=false", "small:peer"],
        &["history", "--format", "json", "small:peer"],
        &["image", "inspect", "small:peer"],
        &["image", "inspect", "--format", "json", "small:peer"],
        &[
            "image",
            "inspect",
            "-f",
            "{{.Id}} {{.Config.Env}} {{json .Config.Labels}} {{index .RepoTags 0}}",
            "small:peer",
        ],
        &[
            "inspect",
            "-f",
            "{{range .RootFS.Layers}}{{.}} {{end}}",
            "small:peer",
        ],
        &["inspect", "--type", "image", "small:peer"],
        &["system", "df"],
        &["system", "df", "--format", "{{json .}}"],
        &["image", "inspect", "nosuch"],
        &["image", "inspect", "small:peer", "nosuch"],
        &["inspect", "nosuch"],
        &["history", "nosuch"],
        &["rmi", "nosuch"],
        &["rmi", "-f", "nosuch"],
        &["tag", "nosuch", "x:y"],
    ] {
        d.same(args, times);
    }
    // Tag and untag: the same list before and after, seen by both clients.
    d.ok(&["tag", "small:peer", "copy:v1"]);
    d.ok(&["tag", "small:peer", "127.0.0.1:5000/team/copy"]);
    d.same(&["images"], sorted);
    d.same(&["images", "--format", "{{.Repository}} {{.Tag}}"], sorted);
    assert_eq!(d.ok(&["rmi", "copy:v1"]), "Untagged: copy:v1\n");
    assert_eq!(
        d.ok(&["rmi", "127.0.0.1:5000/team/copy"]),
        "Untagged: 127.0.0.1:5000/team/copy:latest\n"
    );
    d.same(&["images", "--format", "{{.Repository}} {{.Tag}}"], exact);

    // save -o, remove, load it back: the same image ID.
    let tar = d.dir.join("saved.tar");
    d.ok(&["save", "-o", tar.to_str().unwrap(), "small:peer"]);
    assert!(std::fs::metadata(&tar).unwrap().len() > 2_000_000);
    let out = d.ok(&["rmi", "small:peer"]);
    assert!(
        out.starts_with("Untagged: small:peer\nDeleted: sha256:9f27a38a6169"),
        "{out}"
    );
    assert_eq!(
        d.ok(&["load", "-i", tar.to_str().unwrap()]),
        "Loaded image: small:peer\n"
    );
    assert_eq!(d.ok(&["images", "-q", "small:peer"]), "9f27a38a6169\n");
    // save to a pipe, load from stdin.
    let saved = d.berth_cmd(&["save", "small:peer"]).output().unwrap();
    assert!(
        saved.status.success() && saved.stdout.len() > 2_000_000,
        "{}",
        err(&saved)
    );
    d.ok(&["rmi", "small:peer"]);
    let mut load = d.berth_cmd(&["load"]);
    load.stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped());
    let mut child = load.spawn().unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(&saved.stdout).unwrap();
    }
    let o = child.wait_with_output().unwrap();
    assert_eq!(out_of(&o), "Loaded image: small:peer\n");

    // import a busybox rootfs (file and stdin), with --change and --message.
    let rootfs = d.dir.join("rootfs");
    busybox_rootfs(&rootfs);
    let rootfs_tar = d.dir.join("rootfs.tar");
    let status = std::process::Command::new("tar")
        .arg("-C")
        .arg(&rootfs)
        .arg("-cf")
        .arg(&rootfs_tar)
        .arg(".")
        .status()
        .unwrap();
    assert!(status.success());
    let id = d.ok(&[
        "import",
        "-c",
        "CMD [\"sh\"]",
        "-c",
        "ENV IMPORTED=yes",
        "-m",
        "from a test",
        rootfs_tar.to_str().unwrap(),
        "bb:imported",
    ]);
    assert!(id.starts_with("sha256:") && id.len() == 72, "{id:?}");
    assert_eq!(
        d.ok(&[
            "inspect",
            "-f",
            "{{.Config.Cmd}} {{.Config.Env}} {{.Comment}}",
            "bb:imported"
        ]),
        "[sh] [IMPORTED=yes] from a test\n"
    );
    d.same(&["history", "bb:imported"], times);
    let mut imp = d.berth_cmd(&["import", "-", "bb:stdin"]);
    imp.stdin(std::fs::File::open(&rootfs_tar).unwrap());
    let o = imp.output().unwrap();
    assert!(o.status.success(), "{}", err(&o));
    assert_eq!(d.ok(&["images", "-q", "bb:stdin"]).trim().len(), 12);
    // The same rootfs gives the same layer.
    let layers = |r: &str| d.ok(&["inspect", "-f", "{{json .RootFS.Layers}}", r]);
    assert_eq!(layers("bb:stdin"), layers("bb:imported"));

    // prune: nothing dangling, then an untagged image goes.
    d.same(&["image", "prune", "-f"], exact);
    d.ok(&["rmi", "bb:stdin"]);
    d.ok(&["tag", "bb:imported", "bb:other"]);
    d.ok(&["rmi", "bb:imported"]);
    assert!(d.ok(&["images", "-q"]).lines().count() >= 2);
    // Declined prompts change nothing and exit 0.
    let mut c = d.berth_cmd(&["image", "prune", "-a"]);
    c.stdin(std::process::Stdio::piped());
    let mut child = c.stdout(std::process::Stdio::piped()).spawn().unwrap();
    {
        use std::io::Write;
        child.stdin.take().unwrap().write_all(b"n\n").unwrap();
    }
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(out_of(&o), "WARNING! This will remove all images without at least one container associated to them.\nAre you sure you want to continue? [y/N] ");
    let out = d.ok(&["image", "prune", "-a", "-f"]);
    assert!(out.starts_with("Deleted Images:\n"), "{out}");
    assert!(
        out.contains("\nuntagged: bb:other\n") && out.contains("\nuntagged: small:peer\n"),
        "{out}"
    );
    assert!(out.contains("\n\nTotal reclaimed space: "), "{out}");
    assert_eq!(d.ok(&["images", "-q"]), "");
}

fn out_of(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn images_on_real_dockerd() {
    require_root();
    let d = Daemon::start(Kind::Real, "client_images");
    images_scenario(&d);
}

#[test]
fn images_on_berth_dockerd() {
    require_root();
    let d = Daemon::start(Kind::Berth, "client_images");
    images_scenario(&d);
}

/// login, push, pull, logout against a registry on 127.0.0.1 with basic auth.
fn registry_scenario(d: &Daemon) {
    let reg = Registry::start(
        &format!("client_registry_{:?}", d.kind),
        Some(("tester", "s3cret")),
    );
    d.load_small();
    let image = format!("{}/team/small:v1", reg.addr);
    d.ok(&["tag", "small:peer", &image]);
    // Without credentials the registry refuses.
    let e = d.fails(&["push", &image], 1);
    assert!(
        e.contains("no basic auth credentials") || e.contains("unauthorized"),
        "{e}"
    );
    // A wrong password: the daemon's words, exit 1.
    let mut c = d.berth_cmd(&["login", "-u", "tester", "--password-stdin", &reg.addr]);
    c.stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = c.spawn().unwrap();
    {
        use std::io::Write;
        child.stdin.take().unwrap().write_all(b"wrong\n").unwrap();
    }
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", err(&o));
    assert!(
        err(&o).starts_with("Error response from daemon: "),
        "{}",
        err(&o)
    );
    // The right one, from stdin.
    let mut c = d.berth_cmd(&["login", "-u", "tester", "--password-stdin", &reg.addr]);
    c.stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = c.spawn().unwrap();
    {
        use std::io::Write;
        child.stdin.take().unwrap().write_all(b"s3cret\n").unwrap();
    }
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", err(&o));
    assert_eq!(out_of(&o), "Login Succeeded\n");
    let cfg: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.config_dir().join("config.json")).unwrap())
            .unwrap();
    assert_eq!(
        cfg["auths"][&reg.addr]["auth"], "dGVzdGVyOnMzY3JldA==",
        "{cfg}"
    );
    // The real CLI reads what we wrote: it pushes with our stored credentials.
    let out = d.ok(&["push", &image]);
    assert!(
        out.starts_with(&format!(
            "The push refers to repository [{}/team/small]\n",
            reg.addr
        )),
        "{out}"
    );
    assert!(out.contains("Pushed\n"), "{out}");
    let digest_line = out.lines().last().unwrap().to_string();
    assert!(
        digest_line.starts_with("v1: digest: sha256:") && digest_line.contains(" size: "),
        "{out}"
    );
    let o = d.real(&["push", &image]);
    assert!(o.status.success(), "{}", err(&o));
    assert!(
        out_of(&o).contains("Layer already exists"),
        "{}",
        out_of(&o)
    );
    // Pull it back under a clean name.
    d.ok(&["rmi", &image]);
    let out = d.ok(&["pull", &image]);
    let digest = digest_line.split(' ').nth(2).unwrap();
    assert!(out.starts_with("v1: Pulling from team/small\n"), "{out}");
    assert!(out.contains(&format!("Digest: {digest}\n")), "{out}");
    assert!(
        out.ends_with(&format!(
            "Status: Downloaded newer image for {image}\n{image}\n"
        )),
        "{out}"
    );
    assert_eq!(d.ok(&["pull", "-q", &image]), format!("{image}\n"));
    // No tag: latest, which does not exist.
    let name = format!("{}/team/small", reg.addr);
    d.same(&["pull", &name], exact);
    d.same(&["pull", "-a", &format!("{name}:v1")], exact);
    assert_eq!(
        d.ok(&["logout", &reg.addr]),
        format!("Removing login credentials for {}\n", reg.addr)
    );
    let cfg: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.config_dir().join("config.json")).unwrap())
            .unwrap();
    assert!(cfg["auths"].get(&reg.addr).is_none(), "{cfg}");
    d.same(&["logout", &reg.addr], exact);
}

#[test]
fn registry_on_real_dockerd() {
    require_root();
    let d = Daemon::start(Kind::Real, "client_registry");
    registry_scenario(&d);
}

#[test]
fn registry_on_berth_dockerd() {
    require_root();
    let d = Daemon::start(Kind::Berth, "client_registry");
    assert!(d.require(
        "registry",
        &[
            ("POST", "/images/create"),
            ("POST", "/auth"),
            ("POST", "/images/x/push")
        ]
    ));
    registry_scenario(&d);
}
