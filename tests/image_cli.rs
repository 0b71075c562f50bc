//! The image endpoints through the real Docker CLI 28 against berth's dockerd: load (plain,
//! gzip, zstd; quiet and progress), images (-q, --digests, filters), inspect, history, tag,
//! rmi, prune, save (both layouts), import (file, stdin, URL, --change), system df; save/load
//! with Debian's dockerd 20.10 in both directions; kill -9 of the daemon during `docker load`.

mod common;
mod image_support;

use common::{require_root, TestDir};
use image_support::daemon::Daemon;
use image_support::*;
use std::io::Write;
use std::process::Stdio;
use std::time::Duration;

fn fixture_s(name: &str) -> String {
    fixture(name).to_string_lossy().into_owned()
}

#[test]
fn cli_load_formats_and_list() {
    require_root();
    let t = TestDir::new("cli_load_formats");
    let d = Daemon::berth(&t.join("d"), "{}");
    assert_eq!(
        d.ok(&["load", "-i", &fixture_s("docker-save-small.tar")]),
        "Loaded image: small:peer\n"
    );
    // stdin, gzip and zstd outer compression
    let data = std::fs::read(fixture("docker-save-small.tar")).unwrap();
    for blob in [gzip(&data), zstd(&data)] {
        d.ok(&["rmi", "small:peer"]);
        let mut c = d
            .docker_cmd(&["load"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        c.stdin.take().unwrap().write_all(&blob).unwrap();
        let o = c.wait_with_output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert_eq!(
            String::from_utf8_lossy(&o.stdout),
            "Loaded image: small:peer\n"
        );
    }
    let out = d.ok(&["load", "-i", &fixture_s("skopeo-oci-small.tar")]);
    assert_eq!(out, format!("The image small:peer already exists, renaming the old one with ID {SMALL_ID} to empty string\nLoaded image: small:peer\n"));
    let q = d.ok(&["images", "-q"]);
    assert_eq!(q, "08c104fee44d\n9f27a38a6169\n");
    let table = d.ok(&["images", "--digests"]);
    assert!(
        table.starts_with("REPOSITORY   TAG       DIGEST    IMAGE ID       CREATED"),
        "{table}"
    );
    assert!(
        table.contains("small        peer      <none>    08c104fee44d"),
        "{table}"
    );
    assert!(
        table.contains("<none>       <none>    <none>    9f27a38a6169"),
        "{table}"
    );
    assert!(table.contains("2.25MB"), "{table}");
    assert_eq!(
        d.ok(&["images", "-q", "--filter", "dangling=true"]),
        "9f27a38a6169\n"
    );
    assert_eq!(
        d.ok(&["images", "-q", "--filter", "dangling=false"]),
        "08c104fee44d\n"
    );
    assert_eq!(
        d.ok(&["images", "-q", "--filter", "reference=sm*"]),
        "08c104fee44d\n"
    );
    assert_eq!(
        d.ok(&[
            "images",
            "-q",
            "--filter",
            "label=org.example.fixture=small"
        ])
        .lines()
        .count(),
        2
    );
    assert_eq!(d.ok(&["images", "-q", "--filter", "label=nope"]), "");
    assert_eq!(
        d.ok(&[
            "images",
            "--format",
            "{{.Repository}}:{{.Tag}} {{.Size}}",
            "small"
        ]),
        "small:peer 2.25MB\n"
    );
    assert!(d
        .fails(&["images", "--filter", "bogus=1"])
        .contains("invalid filter 'bogus'"));
    // Progress messages when not quiet (the CLI asks for quiet when stdout is not a terminal).
    let o = std::process::Command::new("curl")
        .args(["-s", "--unix-socket"])
        .arg(&d.sock)
        .args([
            "-X",
            "POST",
            "-H",
            "Content-Type: application/x-tar",
            "--data-binary",
        ])
        .arg(format!("@{}", fixture_s("docker-save-small.tar")))
        .arg("http://docker/v1.50/images/load?quiet=0")
        .output()
        .unwrap();
    let body = String::from_utf8_lossy(&o.stdout);
    assert!(
        body.contains("\"status\":\"Loading layer\"")
            && body.contains("\"progressDetail\":{\"current\""),
        "{body}"
    );
    assert!(
        body.ends_with("{\"stream\":\"Loaded image: small:peer\\n\"}\r\n"),
        "{body}"
    );
    // Errors are messages in the stream, which the CLI prints.
    let e = d.fails(&["load", "-i", "/etc/hostname"]);
    assert!(
        e.contains("archive/tar") || e.contains("manifest.json"),
        "{e}"
    );
}

#[test]
fn cli_inspect_history_tag_rmi_prune_df() {
    require_root();
    let t = TestDir::new("cli_inspect_rmi");
    let d = Daemon::berth(&t.join("d"), "{}");
    d.ok(&["load", "-i", &fixture_s("docker-save-small.tar")]);
    let insp: serde_json::Value =
        serde_json::from_str(&d.ok(&["image", "inspect", "small:peer"])).unwrap();
    let i = &insp[0];
    assert_eq!(i["Id"], SMALL_ID);
    assert_eq!(i["RepoTags"], serde_json::json!(["small:peer"]));
    assert_eq!(i["Config"]["WorkingDir"], "/data");
    assert_eq!(i["Config"]["Cmd"], serde_json::json!(["sh"]));
    assert_eq!(i["Os"], "linux");
    assert_eq!(i["Architecture"], "amd64");
    assert_eq!(
        i["Size"], 2246322,
        "the size dockerd 20.10 reports for this image"
    );
    assert_eq!(i["RootFS"]["Layers"][0], SMALL_DIFF_IDS[0]);
    assert_eq!(i["GraphDriver"]["Name"], "overlay2");
    assert_eq!(i["Metadata"]["LastTagTime"], "0001-01-01T00:00:00Z");
    assert_eq!(
        d.ok(&["image", "inspect", "-f", "{{.Created}}", "9f27a38a6169"]),
        "2026-11-22T13:06:49.668261992Z\n"
    );
    let h = d.ok(&[
        "history",
        "--no-trunc",
        "--format",
        "{{.ID}}|{{.CreatedBy}}|{{.Size}}|{{.Comment}}",
        "small:peer",
    ]);
    let lines: Vec<&str> = h.lines().collect();
    assert_eq!(lines.len(), 8);
    assert_eq!(
        lines[0],
        format!("{SMALL_ID}|/bin/sh -c #(nop)  CMD [\"sh\"]|0B|")
    );
    assert_eq!(lines[7], "<missing>||1.98MB|Imported from -");
    assert!(lines[4].ends_with("|262kB|"), "{}", lines[4]);

    d.ok(&["tag", "small:peer", "other:1"]);
    d.ok(&["tag", "9f27", "localhost:5000/ns/app"]);
    assert_ne!(
        d.ok(&[
            "image",
            "inspect",
            "-f",
            "{{.Metadata.LastTagTime}}",
            "other:1"
        ]),
        "0001-01-01 00:00:00 +0000 UTC\n"
    );
    let e = d.fails(&["rmi", "9f27a38a6169"]);
    assert_eq!(e.trim(), "Error response from daemon: conflict: unable to delete 9f27a38a6169 (must be forced) - image is referenced in multiple repositories");
    assert_eq!(d.ok(&["rmi", "other:1"]), "Untagged: other:1\n");
    assert_eq!(
        d.fails(&["rmi", "nosuch"]).trim(),
        "Error response from daemon: No such image: nosuch:latest"
    );
    assert_eq!(
        d.fails(&["tag", "nosuch", "x"]).trim(),
        "Error response from daemon: No such image: nosuch:latest"
    );
    let out = d.ok(&["rmi", "-f", "9f27"]);
    let want = format!(
        "Untagged: small:peer\nUntagged: localhost:5000/ns/app:latest\nDeleted: {SMALL_ID}\n"
    );
    assert!(out.starts_with(&want), "{out}");
    assert_eq!(
        out.lines().filter(|l| l.starts_with("Deleted: ")).count(),
        5,
        "the image and its four layers"
    );
    assert_eq!(d.ok(&["images", "-q"]), "");

    // prune: dangling only, then -a.
    d.ok(&["load", "-i", &fixture_s("docker-save-small.tar")]);
    d.ok(&["load", "-i", &fixture_s("skopeo-oci-small.tar")]);
    let p = d.ok(&["image", "prune", "-f"]);
    assert_eq!(
        p,
        format!("Deleted Images:\ndeleted: {SMALL_ID}\n\nTotal reclaimed space: 0B\n")
    );
    let df = d.ok(&["system", "df"]);
    assert!(
        df.contains("Images          1         0         2.246MB   2.246MB (100%)"),
        "{df}"
    );
    let p = d.ok(&["image", "prune", "-a", "-f"]);
    assert!(
        p.contains("untagged: small:peer") && p.contains("Total reclaimed space: 2.246MB"),
        "{p}"
    );
    assert_eq!(d.ok(&["images", "-q"]), "");
    let v: serde_json::Value = serde_json::from_str(
        d.ok(&["system", "df", "--format", "{{json .}}"])
            .lines()
            .next()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(v["Type"], "Images");
}

#[test]
fn cli_save_layouts_round_trip() {
    require_root();
    let t = TestDir::new("cli_save_layouts");
    let d = Daemon::berth(&t.join("d"), "{}");
    d.ok(&["load", "-i", &fixture_s("docker-save-small.tar")]);
    d.ok(&["tag", "small:peer", "two:1"]);
    let out = t.join("oci.tar");
    d.ok(&["save", "-o", out.to_str().unwrap(), "small:peer", "two:1"]);
    let e = tar_entries(&std::fs::read(&out).unwrap());
    assert!(
        e.contains_key("oci-layout")
            && e.contains_key("index.json")
            && e.contains_key("manifest.json")
            && e.contains_key("repositories")
    );
    let index: serde_json::Value = serde_json::from_slice(&e["index.json"]).unwrap();
    assert_eq!(
        index["manifests"].as_array().unwrap().len(),
        2,
        "one descriptor per tag"
    );
    // stdout gives the same bytes (deterministic)
    let o = d
        .docker_cmd(&["save", "small:peer", "two:1"])
        .output()
        .unwrap();
    assert!(o.stdout == std::fs::read(&out).unwrap());
    assert!(d
        .fails(&["save", "nosuch:1"])
        .contains("reference does not exist"));
    // legacy layout, per daemon.json
    let l = Daemon::berth(
        &t.join("legacy"),
        r#"{"features": {"legacy-save-format": true}}"#,
    );
    l.ok(&["load", "-i", out.to_str().unwrap()]);
    let legacy = t.join("legacy.tar");
    l.ok(&["save", "-o", legacy.to_str().unwrap(), "small:peer"]);
    let ours = tar_entries(&std::fs::read(&legacy).unwrap());
    let theirs = tar_entries(&std::fs::read(fixture("docker-save-small.tar")).unwrap());
    assert_eq!(
        ours.keys().collect::<Vec<_>>(),
        theirs.keys().collect::<Vec<_>>(),
        "docker 20.10's layout and v1 IDs"
    );
    // Both load back into a fresh daemon.
    let f = Daemon::berth(&t.join("fresh"), "{}");
    assert_eq!(
        f.ok(&["load", "-i", legacy.to_str().unwrap()]),
        "Loaded image: small:peer\n"
    );
    let mut lines: Vec<String> = f
        .ok(&["load", "-i", out.to_str().unwrap()])
        .lines()
        .map(String::from)
        .collect();
    lines.sort();
    assert_eq!(lines, ["Loaded image: small:peer", "Loaded image: two:1"]);
}

#[test]
fn cli_import_file_stdin_url_changes() {
    require_root();
    let t = TestDir::new("cli_import");
    let d = Daemon::berth(&t.join("d"), "{}");
    let root = t.join("rootfs");
    common::busybox_rootfs(&root);
    let tar = t.join("rootfs.tar");
    assert!(std::process::Command::new("tar")
        .arg("-C")
        .arg(&root)
        .arg("-cf")
        .arg(&tar)
        .arg(".")
        .status()
        .unwrap()
        .success());
    let id = d.ok(&[
        "import",
        "-c",
        "CMD [\"sh\"]",
        "-c",
        "ENV A=1 B=2",
        "-c",
        "WORKDIR /srv",
        "-c",
        "ENTRYPOINT [\"/bin/sh\", \"-c\"]",
        "-c",
        "EXPOSE 8080/udp",
        "-c",
        "LABEL k=v",
        "-c",
        "USER nobody",
        "-c",
        "VOLUME /data",
        "-c",
        "STOPSIGNAL SIGINT",
        "-c",
        "ONBUILD RUN true",
        tar.to_str().unwrap(),
        "imp:file",
    ]);
    assert!(id.starts_with("sha256:") && id.trim().len() == 71, "{id}");
    let cfg: serde_json::Value =
        serde_json::from_str(&d.ok(&["image", "inspect", "-f", "{{json .Config}}", "imp:file"]))
            .unwrap();
    assert_eq!(cfg["Cmd"], serde_json::json!(["sh"]));
    assert_eq!(cfg["Env"], serde_json::json!(["A=1", "B=2"]));
    assert_eq!(cfg["WorkingDir"], "/srv");
    assert_eq!(cfg["Entrypoint"], serde_json::json!(["/bin/sh", "-c"]));
    assert_eq!(cfg["ExposedPorts"], serde_json::json!({"8080/udp": {}}));
    assert_eq!(cfg["Labels"], serde_json::json!({"k": "v"}));
    assert_eq!(cfg["User"], "nobody");
    assert_eq!(cfg["Volumes"], serde_json::json!({"/data": {}}));
    assert_eq!(cfg["StopSignal"], "SIGINT");
    assert_eq!(cfg["OnBuild"], serde_json::json!(["RUN true"]));
    assert!(
        d.ok(&["history", "imp:file"]).contains("Imported from -"),
        "the CLI sends a file as the body (fromSrc=-)"
    );
    // stdin with a message
    let mut c = d
        .docker_cmd(&["import", "-m", "piped in", "-", "imp:stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    c.stdin
        .take()
        .unwrap()
        .write_all(&gzip(&std::fs::read(&tar).unwrap()))
        .unwrap();
    let o = c.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        d.ok(&["image", "inspect", "-f", "{{.Comment}}", "imp:stdin"]),
        "piped in\n"
    );
    assert!(d
        .fails(&["import", "-c", "RUN true", tar.to_str().unwrap()])
        .contains("run is not a valid change command"));
    // http URL from a server this test runs on 127.0.0.1
    let (port, server) = serve_once(std::fs::read(&tar).unwrap());
    let out = d.ok(&[
        "import",
        &format!("http://127.0.0.1:{port}/rootfs.tar"),
        "imp:url",
    ]);
    assert!(
        out.starts_with(&format!(
            "Downloading from http://127.0.0.1:{port}/rootfs.tar\n"
        )),
        "{out}"
    );
    assert!(out.lines().last().unwrap().starts_with("sha256:"), "{out}");
    server.join().unwrap();
    assert_eq!(
        d.ok(&["image", "inspect", "-f", "{{.Comment}}", "imp:url"]),
        format!("Imported from http://127.0.0.1:{port}/rootfs.tar\n")
    );
    assert!(d
        .fails(&["import", "http://no-such-host.invalid/x.tar"])
        .contains("does not resolve host names"));
    let ids = d.ok(&["images", "-q", "imp"]);
    assert_eq!(ids.lines().count(), 3, "each import its own image: {ids}");
    let layers = d.ok(&[
        "image",
        "inspect",
        "-f",
        "{{index .RootFS.Layers 0}}",
        "imp:file",
        "imp:stdin",
        "imp:url",
    ]);
    assert_eq!(
        layers
            .lines()
            .collect::<std::collections::BTreeSet<_>>()
            .len(),
        1,
        "the same rootfs is the same layer: {layers}"
    );
}

/// A one-request HTTP server on 127.0.0.1 serving `body`.
fn serve_once(body: Vec<u8>) -> (u16, std::thread::JoinHandle<()>) {
    use std::io::{BufRead, BufReader};
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let h = std::thread::spawn(move || {
        let (mut s, _) = l.accept().unwrap();
        let mut r = BufReader::new(s.try_clone().unwrap());
        let mut line = String::new();
        while r.read_line(&mut line).unwrap() > 2 {
            line.clear();
        }
        write!(
            s,
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nContent-Type: application/x-tar\r\n\r\n",
            body.len()
        )
        .unwrap();
        s.write_all(&body).unwrap();
    });
    (port, h)
}

#[test]
fn save_and_load_between_berth_and_dockerd_20_10() {
    require_root();
    let t = TestDir::new("peer_interop");
    let peer = Daemon::peer(&t.join("peer"));
    let berth = Daemon::berth(&t.join("berth"), "{}");
    // berth → dockerd: the default (Docker 25) layout, and the legacy one.
    berth.ok(&["load", "-i", &fixture_s("skopeo-oci-small.tar")]);
    berth.ok(&["tag", "small:peer", "from-berth:oci"]);
    let a = t.join("from-berth.tar");
    berth.ok(&["save", "-o", a.to_str().unwrap(), "from-berth:oci"]);
    assert_eq!(
        peer.ok(&["load", "-i", a.to_str().unwrap()]),
        "Loaded image: from-berth:oci\n"
    );
    assert_eq!(
        peer.ok(&[
            "image",
            "inspect",
            "-f",
            "{{.Id}} {{.Size}}",
            "from-berth:oci"
        ]),
        format!("{SKOPEO_ID} 2246322\n")
    );
    let b = t.join("from-berth-legacy.tar");
    let o = std::process::Command::new("curl")
        .args(["-s", "--unix-socket"])
        .arg(&berth.sock)
        .arg("-o")
        .arg(&b)
        .arg("http://docker/v1.50/images/get?names=from-berth:oci&format=legacy")
        .output()
        .unwrap();
    assert!(o.status.success());
    peer.ok(&["rmi", "from-berth:oci"]);
    assert_eq!(
        peer.ok(&["load", "-i", b.to_str().unwrap()]),
        "Loaded image: from-berth:oci\n"
    );
    // dockerd → berth: an image imported into dockerd, saved by it.
    let root = t.join("rootfs");
    common::busybox_rootfs(&root);
    let tar = t.join("rootfs.tar");
    assert!(std::process::Command::new("tar")
        .arg("-C")
        .arg(&root)
        .arg("-cf")
        .arg(&tar)
        .arg(".")
        .status()
        .unwrap()
        .success());
    peer.ok(&[
        "import",
        "-c",
        "CMD [\"sh\"]",
        tar.to_str().unwrap(),
        "from-peer:1",
    ]);
    let id = peer.ok(&["image", "inspect", "-f", "{{.Id}}", "from-peer:1"]);
    let c = t.join("from-peer.tar");
    peer.ok(&[
        "save",
        "-o",
        c.to_str().unwrap(),
        "from-peer:1",
        "from-berth:oci",
    ]);
    let mut lines: Vec<String> = berth
        .ok(&["load", "-i", c.to_str().unwrap()])
        .lines()
        .map(String::from)
        .collect();
    lines.sort();
    assert_eq!(
        lines,
        ["Loaded image: from-berth:oci", "Loaded image: from-peer:1"]
    );
    assert_eq!(
        berth.ok(&["image", "inspect", "-f", "{{.Id}}", "from-peer:1"]),
        id
    );
    assert_eq!(
        berth.ok(&["image", "inspect", "-f", "{{.Size}}", "from-peer:1"]),
        peer.ok(&["image", "inspect", "-f", "{{.Size}}", "from-peer:1"])
    );
}

#[test]
fn kill_9_of_dockerd_during_load_then_restart() {
    require_root();
    let t = TestDir::new("kill9_dockerd_load");
    let archive = t.join("big.tar");
    write_big_image(&t.join("gen"), &archive, "big:crash", &[20, 20, 20], 7);
    let dir = t.join("d");
    let rounds: u64 = std::env::var("BERTH_DAEMON_CRASH_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(6);
    for round in 0..rounds {
        let mut d = Daemon::berth(&dir, "{}");
        let mut cli = d
            .docker_cmd(&["load", "-i", archive.to_str().unwrap()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let delay = 30 + (round * 97) % 400;
        std::thread::sleep(Duration::from_millis(delay));
        d.kill9();
        let _ = cli.wait();
        // On disk, before the daemon comes back: nothing half-visible, no dangling name.
        let problems = berth::image::Store::fsck(&dir.join("data/image")).unwrap();
        assert!(
            problems.is_empty(),
            "round {round} ({delay} ms): {problems:?}"
        );
        drop(d);
        let d = Daemon::berth(&dir, "{}");
        for id in d.ok(&["images", "-aq"]).lines() {
            d.ok(&["image", "inspect", id]);
            d.ok(&["history", id]);
        }
        assert_eq!(
            d.ok(&["load", "-i", archive.to_str().unwrap()]),
            "Loaded image: big:crash\n",
            "round {round}: a retry succeeds"
        );
        if round % 2 == 1 {
            d.ok(&["rmi", "big:crash"]);
        }
    }
    let d = Daemon::berth(&dir, "{}");
    d.ok(&["load", "-i", archive.to_str().unwrap()]);
    drop(d);
    // A final open of the real store finds nothing left over.
    let store = berth::image::Store::open(&dir.join("data/image"), Default::default()).unwrap();
    assert!(
        store.check().unwrap().is_empty(),
        "{:?}",
        store.check().unwrap()
    );
}
