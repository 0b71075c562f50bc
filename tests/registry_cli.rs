//! `docker push`, `docker pull`, `docker login`/`logout` through the real Docker CLI 28 against
//! berth's dockerd and the real registry (Debian's docker-registry on 127.0.0.1): round trips
//! by tag and by digest, cross-repository mounts, Basic and Bearer auth, manifest lists, images
//! exchanged with Debian's dockerd 20.10, and kill -9 of the daemon during a pull.

mod common;
mod image_support;
mod registry_support;

use common::{require_root, TestDir};
use image_support::daemon::Daemon;
use image_support::*;
use registry_support::*;
use serde_json::Value;
use std::process::Stdio;

fn inspect(d: &Daemon, name: &str) -> Value {
    let v: Value = serde_json::from_str(&d.ok(&["image", "inspect", name])).unwrap();
    v[0].clone()
}

fn load_small(d: &Daemon) {
    d.ok(&[
        "load",
        "-i",
        fixture("docker-save-small.tar").to_str().unwrap(),
    ]);
}

#[test]
fn push_then_pull_by_tag_and_digest() {
    require_root();
    let t = TestDir::new("reg_push_pull");
    let reg = Registry::start(&t.join("reg"), RegAuth::None);
    let d = Daemon::berth(&t.join("d"), "{}");
    load_small(&d);
    let name = format!("{}/small:peer", reg.host());
    d.ok(&["tag", "small:peer", &name]);
    let before = inspect(&d, &name);
    let out = d.ok(&["push", &name]);
    assert!(
        out.starts_with(&format!(
            "The push refers to repository [{}/small]\n",
            reg.host()
        )),
        "{out}"
    );
    for l in SMALL_DIFF_IDS {
        let short = &l[7..19];
        assert!(
            out.contains(&format!("{short}: Pushed")),
            "{short} pushed:\n{out}"
        );
    }
    let last = out.lines().last().unwrap();
    assert!(
        last.starts_with("peer: digest: sha256:") && last.contains(" size: "),
        "{out}"
    );
    let digest = last.split_whitespace().nth(2).unwrap().to_string();
    // The same image again: every layer is known to be there.
    let again = d.ok(&["push", &name]);
    assert_eq!(again.matches("Layer already exists").count(), 4, "{again}");
    assert!(
        again.ends_with(&format!(
            "peer: digest: {digest} size: {}\n",
            last.split_whitespace().last().unwrap()
        )),
        "same manifest: {again}"
    );
    // Another repository on the same registry: blobs are mounted, not uploaded.
    let other = format!("{}/other/small:v1", reg.host());
    d.ok(&["tag", "small:peer", &other]);
    let out = d.ok(&["push", &other]);
    assert_eq!(out.matches("Mounted from small").count(), 4, "{out}");
    assert!(out.contains(&format!("v1: digest: {digest}")), "{out}");

    // Remove everything, pull back by tag.
    d.ok(&["rmi", &name, &other, "small:peer"]);
    assert_eq!(d.ok(&["images", "-q"]), "");
    let out = d.ok(&["pull", &name]);
    assert!(out.starts_with("peer: Pulling from small\n"), "{out}");
    assert!(out.contains(&format!("Digest: {digest}\n")), "{out}");
    assert!(
        out.contains(&format!("Status: Downloaded newer image for {name}\n")),
        "{out}"
    );
    assert!(out.ends_with(&format!("{name}\n")), "{out}");
    let after = inspect(&d, &name);
    assert_eq!(after["Id"], before["Id"]);
    assert_eq!(after["RootFS"], before["RootFS"]);
    assert_eq!(after["Config"], before["Config"]);
    assert_eq!(
        after["RepoDigests"],
        serde_json::json!([format!("{}/small@{digest}", reg.host())])
    );
    let out = d.ok(&["pull", &name]);
    assert!(
        out.contains(&format!("Status: Image is up to date for {name}")),
        "{out}"
    );

    // By digest, into a clean store.
    d.ok(&["rmi", &name]);
    let by_digest = format!("{}/small@{digest}", reg.host());
    let out = d.ok(&["pull", &by_digest]);
    assert!(
        out.contains(&format!("Status: Downloaded newer image for {by_digest}")),
        "{out}"
    );
    assert_eq!(inspect(&d, &by_digest)["Id"], before["Id"]);
    // Layers are shared: pulling the tag now only adds a name.
    let out = d.ok(&["pull", &name]);
    assert!(out.contains("Status: Downloaded newer image for"), "{out}");
    assert!(!out.contains("Pull complete"), "{out}");

    // --all-tags: every tag of the repository.
    d.ok(&["tag", &name, &format!("{}/small:second", reg.host())]);
    d.ok(&["push", &format!("{}/small:second", reg.host())]);
    d.ok(&["rmi", &name, &format!("{}/small:second", reg.host())]);
    assert_eq!(d.ok(&["images", "-q"]), "");
    d.ok(&["pull", "--all-tags", &format!("{}/small", reg.host())]);
    let tags = d.ok(&[
        "images",
        "--format",
        "{{.Tag}}",
        &format!("{}/small", reg.host()),
    ]);
    assert_eq!(
        tags.lines().collect::<std::collections::BTreeSet<_>>(),
        ["peer", "second"].into_iter().collect(),
        "{tags}"
    );

    // Docker's errors.
    let e = d.fails(&["pull", &format!("{}/small:nosuch", reg.host())]);
    assert!(
        e.contains(&format!(
            "manifest for {}/small:nosuch not found: manifest unknown: manifest unknown",
            reg.host()
        )),
        "{e}"
    );
    let e = d.fails(&["push", &format!("{}/small:nosuch", reg.host())]);
    assert!(
        e.contains(&format!(
            "An image does not exist locally with the tag: {}/small",
            reg.host()
        )),
        "{e}"
    );
    let closed = free_port();
    let e = d.fails(&["pull", &format!("127.0.0.1:{closed}/x")]);
    assert!(
        e.contains(&format!(
            "dial tcp 127.0.0.1:{closed}: connect: connection refused"
        )),
        "{e}"
    );
}

#[test]
fn pull_progress_is_docker_json() {
    require_root();
    let t = TestDir::new("reg_progress");
    let reg = Registry::start(&t.join("reg"), RegAuth::None);
    let d = Daemon::berth(&t.join("d"), "{}");
    load_small(&d);
    let name = format!("{}/small:peer", reg.host());
    d.ok(&["tag", "small:peer", &name]);
    d.ok(&["push", &name]);
    d.ok(&["rmi", &name, "small:peer"]);
    // The raw stream, as the CLI reads it.
    let out = std::process::Command::new("curl")
        .args([
            "-s",
            "-X",
            "POST",
            "--unix-socket",
            d.sock.to_str().unwrap(),
        ])
        .arg(format!(
            "http://x/v1.50/images/create?fromImage={}/small&tag=peer",
            reg.host()
        ))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let msgs: Vec<Value> = text
        .split("\r\n")
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        msgs[0],
        serde_json::json!({"status": "Pulling from small", "id": "peer"})
    );
    let statuses: Vec<&str> = msgs.iter().filter_map(|m| m["status"].as_str()).collect();
    for s in [
        "Pulling fs layer",
        "Downloading",
        "Verifying Checksum",
        "Download complete",
        "Pull complete",
    ] {
        assert!(statuses.contains(&s), "{s} in {statuses:?}");
    }
    let bar = msgs.iter().find(|m| m["status"] == "Downloading").unwrap();
    assert!(
        bar["progressDetail"]["total"].as_i64().unwrap() > 0
            && bar["progress"].as_str().unwrap().starts_with('['),
        "{bar}"
    );
    assert_eq!(bar["id"].as_str().unwrap().len(), 12);
    assert!(
        statuses
            .last()
            .unwrap()
            .starts_with("Status: Downloaded newer image for"),
        "{statuses:?}"
    );
}

#[test]
fn login_logout_basic_auth() {
    require_root();
    let t = TestDir::new("reg_basic");
    let reg = Registry::start(
        &t.join("reg"),
        RegAuth::Htpasswd {
            user: "user".into(),
            pass: "pass".into(),
        },
    );
    let d = Daemon::berth(&t.join("d"), "{}");
    load_small(&d);
    let name = format!("{}/small:peer", reg.host());
    d.ok(&["tag", "small:peer", &name]);
    let e = d.fails(&["push", &name]);
    assert!(e.contains("no basic auth credentials"), "{e}");
    let e = d.fails(&["pull", &name]);
    assert!(e.contains("no basic auth credentials"), "{e}");
    let e = d.fails(&["login", "-u", "user", "-p", "wrong", &reg.host()]);
    assert!(e.contains(&format!("Error response from daemon: login attempt to http://{}/v2/ failed with status: 401 Unauthorized", reg.host())), "{e}");
    let mut login = d
        .docker_cmd(&["login", "-u", "user", "--password-stdin", &reg.host()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    login.stdin.take().unwrap().write_all(b"pass\n").unwrap();
    let o = login.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains("Login Succeeded"));
    let cfg = std::fs::read_to_string(d.dir.join("cli-config/config.json")).unwrap();
    assert!(
        cfg.contains(&reg.host()) && cfg.contains("dXNlcjpwYXNz"),
        "{cfg}"
    );
    let out = d.ok(&["push", &name]);
    assert_eq!(out.matches(": Pushed").count(), 4, "{out}");
    d.ok(&["rmi", &name, "small:peer"]);
    let out = d.ok(&["pull", &name]);
    assert!(out.contains("Status: Downloaded newer image"), "{out}");
    assert!(d
        .ok(&["logout", &reg.host()])
        .contains(&format!("Removing login credentials for {}", reg.host())));
    d.ok(&["rmi", &name]);
    let e = d.fails(&["pull", &name]);
    assert!(e.contains("no basic auth credentials"), "{e}");
    // Wrong credentials in X-Registry-Auth: the registry's refusal.
    let auth = berth::image::registry::base64::encode(
        format!(
            r#"{{"username":"user","password":"bad","serveraddress":"{}"}}"#,
            reg.host()
        )
        .as_bytes(),
    );
    let out = std::process::Command::new("curl")
        .args([
            "-s",
            "-X",
            "POST",
            "--unix-socket",
            d.sock.to_str().unwrap(),
            "-H",
        ])
        .arg(format!("X-Registry-Auth: {auth}"))
        .arg(format!(
            "http://x/v1.50/images/create?fromImage={}/small&tag=peer",
            reg.host()
        ))
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("unauthorized: authentication required"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn bearer_token_auth() {
    require_root();
    let t = TestDir::new("reg_bearer");
    let tokens = TokenServer::start(&t.join("tok"), "user", "pass");
    let reg = Registry::start(&t.join("reg"), RegAuth::Token(tokens.info.clone()));
    let d = Daemon::berth(&t.join("d"), "{}");
    load_small(&d);
    let name = format!("{}/small:peer", reg.host());
    d.ok(&["tag", "small:peer", &name]);
    let e = d.fails(&["push", &name]);
    assert!(e.contains("unauthorized: authentication required"), "{e}");
    let e = d.fails(&["login", "-u", "user", "-p", "wrong", &reg.host()]);
    assert!(
        e.contains("login attempt to") && e.contains("401 Unauthorized"),
        "{e}"
    );
    d.ok(&["login", "-u", "user", "-p", "pass", &reg.host()]);
    let out = d.ok(&["push", &name]);
    assert_eq!(out.matches(": Pushed").count(), 4, "{out}");
    d.ok(&["rmi", &name, "small:peer"]);
    let out = d.ok(&["pull", &name]);
    assert!(out.contains("Status: Downloaded newer image"), "{out}");
    assert!(
        tokens.issued.load(std::sync::atomic::Ordering::SeqCst) >= 2,
        "tokens were fetched"
    );
}

#[test]
fn manifest_list_picks_linux_amd64() {
    require_root();
    let t = TestDir::new("reg_index");
    let reg = Registry::start(&t.join("reg"), RegAuth::None);
    let d = Daemon::berth(&t.join("d"), "{}");
    // The skopeo copy of the fixture is another image (its config differs) under the same tag.
    d.ok(&[
        "load",
        "-i",
        fixture("skopeo-oci-small.tar").to_str().unwrap(),
    ]);
    let other = "second:x".to_string();
    d.ok(&["tag", "small:peer", &other]);
    load_small(&d);
    // Two single-platform images in the repository; their manifests become the list entries.
    let amd = format!("{}/multi:amd64", reg.host());
    let arm = format!("{}/multi:arm64", reg.host());
    d.ok(&["tag", "small:peer", &amd]);
    d.ok(&["tag", &other, &arm]);
    d.ok(&["push", &amd]);
    d.ok(&["push", &arm]);
    let head = |tag: &str| {
        let (st, h, _) = http(
            &reg.addr(),
            "HEAD",
            &format!("/v2/multi/manifests/{tag}"),
            &[(
                "Accept",
                "application/vnd.docker.distribution.manifest.v2+json",
            )],
            b"",
        );
        assert_eq!(st, 200);
        (
            header(&h, "Docker-Content-Digest").unwrap().to_string(),
            header(&h, "Content-Length")
                .unwrap()
                .parse::<i64>()
                .unwrap(),
        )
    };
    let (amd_digest, amd_size) = head("amd64");
    let (arm_digest, arm_size) = head("arm64");
    let index = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [
            {"mediaType": "application/vnd.docker.distribution.manifest.v2+json", "digest": arm_digest, "size": arm_size, "platform": {"architecture": "arm64", "os": "linux", "variant": "v8"}},
            {"mediaType": "application/vnd.docker.distribution.manifest.v2+json", "digest": amd_digest, "size": amd_size, "platform": {"architecture": "amd64", "os": "linux"}}
        ]
    });
    let body = serde_json::to_vec(&index).unwrap();
    let (st, h, b) = http(
        &reg.addr(),
        "PUT",
        "/v2/multi/manifests/both",
        &[("Content-Type", "application/vnd.oci.image.index.v1+json")],
        &body,
    );
    assert_eq!(st, 201, "{}", String::from_utf8_lossy(&b));
    let index_digest = header(&h, "Docker-Content-Digest").unwrap().to_string();
    // The amd64 image again as an OCI manifest (same blobs, OCI media types).
    let (_, _, docker_manifest) = http(
        &reg.addr(),
        "GET",
        "/v2/multi/manifests/amd64",
        &[(
            "Accept",
            "application/vnd.docker.distribution.manifest.v2+json",
        )],
        b"",
    );
    let mut oci: Value = serde_json::from_slice(&docker_manifest).unwrap();
    oci["mediaType"] = "application/vnd.oci.image.manifest.v1+json".into();
    oci["config"]["mediaType"] = "application/vnd.oci.image.config.v1+json".into();
    for l in oci["layers"].as_array_mut().unwrap() {
        l["mediaType"] = "application/vnd.oci.image.layer.v1.tar+gzip".into();
    }
    let (st, _, b) = http(
        &reg.addr(),
        "PUT",
        "/v2/multi/manifests/oci",
        &[("Content-Type", "application/vnd.oci.image.manifest.v1+json")],
        &serde_json::to_vec(&oci).unwrap(),
    );
    assert_eq!(st, 201, "{}", String::from_utf8_lossy(&b));
    let small_id = inspect(&d, "small:peer")["Id"].clone();
    d.ok(&["rmi", &amd, &arm, "small:peer", &other]);
    let name = format!("{}/multi:both", reg.host());
    let out = d.ok(&["pull", &name]);
    assert!(
        out.contains(&format!("Digest: {index_digest}")),
        "the list's digest is reported: {out}"
    );
    let img = inspect(&d, &name);
    assert_eq!(img["Id"], small_id, "the linux/amd64 entry was chosen");
    assert_eq!(
        img["RepoDigests"],
        serde_json::json!([format!("{}/multi@{index_digest}", reg.host())])
    );
    let oci_name = format!("{}/multi:oci", reg.host());
    d.ok(&["rmi", &name]);
    let out = d.ok(&["pull", &oci_name]);
    assert!(out.contains("Pull complete"), "{out}");
    assert_eq!(
        inspect(&d, &oci_name)["Id"],
        small_id,
        "an OCI manifest pulls the same image"
    );
}

#[test]
fn images_move_between_berth_and_dockerd_20_10() {
    require_root();
    let t = TestDir::new("reg_interop");
    let reg = Registry::start(&t.join("reg"), RegAuth::None);
    let peer = Daemon::peer(&t.join("peer"));
    let d = Daemon::berth(&t.join("d"), "{}");
    // dockerd 20.10 pushes, berth pulls.
    peer.ok(&[
        "load",
        "-i",
        fixture("docker-save-small.tar").to_str().unwrap(),
    ]);
    let from_peer = format!("{}/frompeer:v1", reg.host());
    peer.ok(&["tag", "small:peer", &from_peer]);
    let peer_out = peer.ok(&["push", &from_peer]);
    let out = d.ok(&["pull", &from_peer]);
    assert!(out.contains("Status: Downloaded newer image"), "{out}");
    let pi = inspect(&peer, &from_peer);
    let bi = inspect(&d, &from_peer);
    assert_eq!(bi["Id"], pi["Id"]);
    assert_eq!(bi["RootFS"], pi["RootFS"]);
    assert_eq!(bi["RepoDigests"], pi["RepoDigests"]);
    let peer_digest = peer_out
        .lines()
        .last()
        .unwrap()
        .split_whitespace()
        .nth(2)
        .unwrap()
        .to_string();
    // Pushing what was pulled keeps the blobs and so the manifest digest.
    let again = format!("{}/again:v1", reg.host());
    d.ok(&["tag", &from_peer, &again]);
    let out = d.ok(&["push", &again]);
    assert!(out.contains("Mounted from frompeer"), "{out}");
    assert!(out.contains(&format!("v1: digest: {peer_digest}")), "{out}");
    // berth pushes (its own compression), dockerd 20.10 pulls.
    let from_berth = format!("{}/fromberth:v1", reg.host());
    d.ok(&[
        "load",
        "-i",
        fixture("skopeo-oci-small.tar").to_str().unwrap(),
    ]);
    let skopeo = d
        .ok(&["images", "--format", "{{.Repository}}:{{.Tag}}"])
        .lines()
        .find(|l| !l.contains("frompeer") && !l.contains("again"))
        .unwrap()
        .to_string();
    d.ok(&["tag", &skopeo, &from_berth]);
    d.ok(&["push", &from_berth]);
    let out = peer.ok(&["pull", &from_berth]);
    assert!(out.contains("Status: Downloaded newer image"), "{out}");
    assert_eq!(
        inspect(&peer, &from_berth)["Id"],
        inspect(&d, &from_berth)["Id"]
    );
    assert_eq!(
        inspect(&peer, &from_berth)["RootFS"],
        inspect(&d, &from_berth)["RootFS"]
    );
}

#[test]
fn kill_9_of_dockerd_during_pull_then_retry() {
    require_root();
    let t = TestDir::new("reg_kill9");
    let reg = Registry::start(&t.join("reg"), RegAuth::None);
    let archive = t.join("big.tar");
    write_big_image(&t.join("gen"), &archive, "big:crash", &[12, 12, 12, 12], 11);
    let name = format!("{}/big:crash", reg.host());
    let dir = t.join("d");
    // How long a whole pull takes here: the kills are spread over that span.
    let full = {
        let d = Daemon::berth(&dir, "{}");
        d.ok(&["load", "-i", archive.to_str().unwrap()]);
        d.ok(&["tag", "big:crash", &name]);
        d.ok(&["push", &name]);
        d.ok(&["rmi", &name, "big:crash"]);
        let start = std::time::Instant::now();
        d.ok(&["pull", &name]);
        let full = start.elapsed();
        d.ok(&["rmi", &name]);
        full
    };
    let rounds: u32 = std::env::var("BERTH_PULL_CRASH_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(6);
    let mut interrupted = 0;
    for round in 0..rounds {
        let mut d = Daemon::berth(&dir, "{}");
        let mut cli = d
            .docker_cmd(&["pull", &name])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let delay = full.mul_f64((f64::from(round) + 0.5) / f64::from(rounds));
        std::thread::sleep(delay);
        d.kill9();
        let _ = cli.wait();
        let problems = berth::image::Store::fsck(&dir.join("data/image")).unwrap();
        assert!(
            problems.is_empty(),
            "round {round} ({delay:?}): {problems:?}"
        );
        drop(d);
        let d = Daemon::berth(&dir, "{}");
        if !d.docker(&["image", "inspect", &name]).status.success() {
            interrupted += 1;
        }
        let out = d.ok(&["pull", &name]);
        assert!(
            out.contains("Status:"),
            "round {round}: a retry succeeds: {out}"
        );
        d.ok(&["image", "inspect", &name]);
        d.ok(&["rmi", &name]);
    }
    eprintln!("a pull takes {full:?}; {interrupted} of {rounds} kills landed before the image was committed");
    assert!(
        interrupted > 0,
        "no kill landed inside a pull ({full:?} per pull)"
    );
    let store = berth::image::Store::open(&dir.join("data/image"), Default::default()).unwrap();
    assert!(
        store.check().unwrap().is_empty(),
        "{:?}",
        store.check().unwrap()
    );
}
