//! `docker load` logic against the store: both fixture layouts, compressed archives, Docker's
//! error wording, and the merged view of the small image mounted from its overlay snapshot.

mod common;
mod image_support;

use berth::image::load::LoadEvent;
use berth::image::snapshot::SnapshotMode;
use berth::image::store::{NoUsers, StoreOptions, ZERO_TIME};
use berth::image::tarstream::TarWriter;
use berth::image::Store;
use common::{require_root, MountGuard, TestDir};
use image_support::*;
use std::collections::BTreeMap;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

fn open(t: &TestDir) -> Store {
    Store::open(&t.join("store"), StoreOptions::default()).unwrap()
}

fn load(store: &Store, data: &[u8]) -> berth::base::Result<Vec<String>> {
    let mut lines = Vec::new();
    store.load(data, &mut |e| {
        if let LoadEvent::Line(l) = e {
            lines.push(l)
        }
    })?;
    Ok(lines)
}

fn tar_of(entries: &BTreeMap<String, Vec<u8>>) -> Vec<u8> {
    let mut w = TarWriter::new(Vec::new());
    for (k, v) in entries {
        w.file(k, v, 0).unwrap();
    }
    w.finish().unwrap();
    w.out
}

fn assert_clean(store: &Store) {
    let problems = store.check().unwrap();
    assert!(problems.is_empty(), "store problems: {problems:?}");
}

#[test]
fn load_legacy_docker_archive() {
    require_root();
    let t = TestDir::new("load_legacy_docker_archive");
    let store = open(&t);
    let data = std::fs::read(fixture("docker-save-small.tar")).unwrap();
    let mut progress = 0;
    let mut lines = Vec::new();
    let ids = store
        .load(&data[..], &mut |e| match e {
            LoadEvent::Progress { .. } => progress += 1,
            LoadEvent::Line(l) => lines.push(l),
        })
        .unwrap();
    assert_eq!(lines, ["Loaded image: small:peer\n"]);
    assert!(progress >= 4, "progress for every layer");
    assert_eq!(ids[0].as_str(), SMALL_ID);
    let img = store.resolve("small:peer").unwrap();
    assert_eq!(img.id.as_str(), SMALL_ID);
    assert_eq!(
        store.resolve("docker.io/library/small:peer").unwrap().id,
        img.id
    );
    assert_eq!(store.resolve("9f27a38a6169").unwrap().id, img.id);
    assert_eq!(store.resolve(&SMALL_ID[7..]).unwrap().id, img.id);
    assert_eq!(store.resolve(SMALL_ID).unwrap().id, img.id);
    assert_eq!(
        store.resolve("small").unwrap_err().to_string(),
        "No such image: small:latest"
    );
    let insp = store.inspect("small:peer").unwrap();
    assert_eq!(insp.repo_tags, ["small:peer"]);
    assert_eq!(
        insp.last_tag_time, ZERO_TIME,
        "load does not set LastTagTime, as in Docker"
    );
    assert_eq!(
        insp.image.config.config.as_ref().unwrap().working_dir,
        "/data"
    );
    assert!(
        insp.size > 2_000_000 && insp.size < 3_000_000,
        "size {}",
        insp.size
    );
    assert_clean(&store);
    // Loading again is a no-op that says the same.
    assert_eq!(load(&store, &data).unwrap(), ["Loaded image: small:peer\n"]);
    assert_clean(&store);
    // Reopening finds the same image.
    drop(store);
    let store = open(&t);
    assert_eq!(store.resolve("small:peer").unwrap().id.as_str(), SMALL_ID);
    assert_clean(&store);
}

#[test]
fn load_oci_layout_then_tag_moves() {
    require_root();
    let t = TestDir::new("load_oci_layout");
    let store = open(&t);
    let oci = std::fs::read(fixture("skopeo-oci-small.tar")).unwrap();
    assert_eq!(load(&store, &oci).unwrap(), ["Loaded image: small:peer\n"]);
    assert_eq!(store.resolve("small:peer").unwrap().id.as_str(), SKOPEO_ID);
    // The docker archive of the same content: same layers (chain IDs), another config.
    let docker = std::fs::read(fixture("docker-save-small.tar")).unwrap();
    let lines = load(&store, &docker).unwrap();
    assert_eq!(lines, [format!("The image small:peer already exists, renaming the old one with ID {SKOPEO_ID} to empty string\n"), "Loaded image: small:peer\n".to_string()]);
    let imgs = store.list(&Default::default(), &NoUsers).unwrap();
    assert_eq!(imgs.len(), 2, "the skopeo image is now dangling");
    assert_eq!(
        store.all_layers().len(),
        4,
        "both images share the four layers"
    );
    assert_clean(&store);
}

#[test]
fn load_compressed_archives() {
    require_root();
    let t = TestDir::new("load_compressed_archives");
    let store = open(&t);
    let data = std::fs::read(fixture("docker-save-small.tar")).unwrap();
    for (i, blob) in [gzip(&data), zstd(&data)].into_iter().enumerate() {
        assert_eq!(
            load(&store, &blob).unwrap(),
            ["Loaded image: small:peer\n"],
            "case {i}"
        );
        store.delete("small:peer", false, true, &NoUsers).unwrap();
        assert!(store
            .list(&Default::default(), &NoUsers)
            .unwrap()
            .is_empty());
        assert_clean(&store);
    }
}

#[test]
fn load_errors_use_dockers_words_and_leave_nothing() {
    require_root();
    let t = TestDir::new("load_errors");
    let store = open(&t);
    let mut entries = tar_entries(&std::fs::read(fixture("docker-save-small.tar")).unwrap());
    let cfg_name = format!("{}.json", &SMALL_ID[7..]);

    let mut no_manifest = entries.clone();
    no_manifest.remove("manifest.json");
    assert_eq!(
        load(&store, &tar_of(&no_manifest)).unwrap_err().to_string(),
        "invalid archive: does not contain a manifest.json"
    );

    // A wrong diff ID in the config (the config then has another digest, which is fine).
    let mut cfg: serde_json::Value = serde_json::from_slice(&entries[&cfg_name]).unwrap();
    let wrong = "sha256:0000000000000000000000000000000000000000000000000000000000000000";
    cfg["rootfs"]["diff_ids"][1] = serde_json::json!(wrong);
    let mut bad = entries.clone();
    bad.insert(cfg_name.clone(), serde_json::to_vec(&cfg).unwrap());
    let e = load(&store, &tar_of(&bad)).unwrap_err().to_string();
    assert_eq!(
        e,
        format!(
            "invalid diffID for layer 1: expected \"{wrong}\", got \"{}\"",
            SMALL_DIFF_IDS[1]
        )
    );

    // One layer fewer in the manifest.
    let mut m: serde_json::Value = serde_json::from_slice(&entries["manifest.json"]).unwrap();
    m[0]["Layers"].as_array_mut().unwrap().pop();
    let mut bad = entries.clone();
    bad.insert("manifest.json".into(), serde_json::to_vec(&m).unwrap());
    assert_eq!(
        load(&store, &tar_of(&bad)).unwrap_err().to_string(),
        "invalid manifest, layers length mismatch: expected 3, got 4"
    );

    // A missing layer file.
    let top = m[0]["Layers"][2].as_str().unwrap().to_string();
    let mut bad = entries.clone();
    bad.remove(&top);
    assert_eq!(
        load(&store, &tar_of(&bad)).unwrap_err().to_string(),
        format!("open {top}: no such file or directory")
    );

    // A null manifest; a truncated archive.
    entries.insert("manifest.json".into(), b"null".to_vec());
    assert_eq!(
        load(&store, &tar_of(&entries)).unwrap_err().to_string(),
        "invalid manifest, manifest cannot be null (but can be [])"
    );
    let data = std::fs::read(fixture("docker-save-small.tar")).unwrap();
    assert!(load(&store, &data[..1_000_000]).is_err());

    assert!(store
        .list(&Default::default(), &NoUsers)
        .unwrap()
        .is_empty());
    assert_eq!(store.all_layers().len(), 0, "no layer left behind");
    assert_clean(&store);
}

/// fixtures/README.md: the merged view of small:peer, checked file by file on a real overlay
/// mount of the image's snapshot.
#[test]
fn merged_view_of_small_image_matches_readme() {
    require_root();
    let t = TestDir::new("merged_view_small");
    for mode in [SnapshotMode::Overlay, SnapshotMode::Copy] {
        let store = Store::open(
            &t.join(format!("store-{mode:?}")),
            StoreOptions {
                snapshot_mode: Some(mode),
            },
        )
        .unwrap();
        load(
            &store,
            &std::fs::read(fixture("docker-save-small.tar")).unwrap(),
        )
        .unwrap();
        let mounts = store.prepare_snapshot("view", "small:peer", true).unwrap();
        assert_eq!(mounts.len(), 1);
        let target = t.join(format!("merged-{mode:?}"));
        std::fs::create_dir_all(&target).unwrap();
        mounts[0].mount_at(&target).unwrap();
        let _g = MountGuard(target.clone());
        check_small_view(&target);
        drop(_g);
        // The OCI copy (gzip layers, skopeo's config) gives the same view.
        load(
            &store,
            &std::fs::read(fixture("skopeo-oci-small.tar")).unwrap(),
        )
        .unwrap();
        let m = store.prepare_snapshot("view-oci", SKOPEO_ID, true).unwrap();
        m[0].mount_at(&target).unwrap();
        let g = MountGuard(target.clone());
        check_small_view(&target);
        drop(g);
        store.remove_snapshot("view-oci").unwrap();
        store.delete(SKOPEO_ID, true, true, &NoUsers).unwrap();
        // The snapshot keeps its layers even when the image goes.
        store.delete(SMALL_ID, true, true, &NoUsers).unwrap();
        assert_eq!(store.all_layers().len(), 4);
        store.remove_snapshot("view").unwrap();
        assert_eq!(store.all_layers().len(), 0);
        assert_clean(&store);
    }
}

fn check_small_view(root: &Path) {
    let data = root.join("data");
    let mut names: Vec<String> = std::fs::read_dir(&data)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "dir",
            "empty",
            "hard",
            "keep.txt",
            "link",
            "rand.bin",
            "three.txt"
        ]
    );
    let dir: Vec<String> = std::fs::read_dir(data.join("dir"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(dir, ["b.txt"], "a.txt and sub/ hidden by the opaque marker");
    assert_eq!(std::fs::read(data.join("dir/b.txt")).unwrap(), b"two\n");
    assert!(std::fs::metadata(data.join("empty")).unwrap().is_dir());
    let hard = std::fs::metadata(data.join("hard")).unwrap();
    assert_eq!(hard.mode() & 0o7777, 0o644);
    assert_eq!(std::fs::read(data.join("hard")).unwrap(), b"keep\n");
    let keep = std::fs::metadata(data.join("keep.txt")).unwrap();
    assert_eq!(keep.mode() & 0o7777, 0o640);
    assert_eq!(std::fs::read(data.join("keep.txt")).unwrap(), b"keep\n");
    assert_ne!(
        hard.ino(),
        keep.ino(),
        "keep.txt from layer 4 is no longer the same inode as hard"
    );
    assert_eq!(
        std::fs::read_link(data.join("link")).unwrap(),
        Path::new("keep.txt")
    );
    assert_eq!(
        std::fs::metadata(data.join("rand.bin")).unwrap().len(),
        262144
    );
    assert_eq!(std::fs::read(data.join("three.txt")).unwrap(), b"three\n");
    assert!(!data.join("gone.txt").exists());
    assert!(
        std::fs::symlink_metadata(data.join("gone.txt")).is_err(),
        "no whiteout device visible"
    );
    let bb = std::fs::metadata(root.join("bin/busybox")).unwrap();
    assert!(bb.is_file() && bb.len() > 100_000);
    assert_eq!(
        std::fs::read_link(root.join("bin/ls")).unwrap(),
        Path::new("busybox")
    );
    for d in ["proc", "sys", "dev", "etc", "tmp", "usr/bin", "sbin"] {
        assert!(root.join(d).is_dir(), "{d}");
    }
    assert!(!std::fs::symlink_metadata(data.join("dir"))
        .unwrap()
        .file_type()
        .is_char_device());
}

/// An image with `n` one-file layers as a legacy archive (layer i adds `f/<i>`; the last one
/// whites out `f/0`).
fn many_layer_archive(n: usize) -> Vec<u8> {
    let mut layers = Vec::new();
    for i in 0..n {
        let mut b = TarBuilder::new().dir("f/", 0o755).file(
            &format!("f/{i}"),
            format!("{i}\n").as_bytes(),
            0o644,
        );
        if i == n - 1 {
            b = b.file("f/.wh.0", b"", 0o644);
        }
        layers.push(b.build());
    }
    let diff_ids: Vec<String> = layers
        .iter()
        .map(|l| berth::oci::image::Digest::of(l).to_string())
        .collect();
    let config = serde_json::to_vec(&serde_json::json!({"architecture": "amd64", "os": "linux", "config": {"Cmd": ["sh"]}, "rootfs": {"type": "layers", "diff_ids": diff_ids}})).unwrap();
    let id = berth::oci::image::Digest::of(&config);
    let mut entries = BTreeMap::new();
    let names: Vec<String> = (0..n).map(|i| format!("{i:04}/layer.tar")).collect();
    for (i, l) in layers.into_iter().enumerate() {
        entries.insert(names[i].clone(), l);
    }
    entries.insert(format!("{}.json", id.hex()), config);
    entries.insert("manifest.json".into(), serde_json::to_vec(&serde_json::json!([{"Config": format!("{}.json", id.hex()), "RepoTags": ["many:layers"], "Layers": names}])).unwrap());
    tar_of(&entries)
}

/// 150 layers: the absolute lowerdir list is longer than a page, so the mount is described
/// with lowerdirs relative to the store (short `l/` links) and made from that directory.
#[test]
fn many_layers_mount_with_relative_lowerdirs() {
    require_root();
    let t = TestDir::new("many_layers_mount");
    let store = open(&t);
    assert_eq!(
        load(&store, &many_layer_archive(150)).unwrap(),
        ["Loaded image: many:layers\n"]
    );
    let mounts = store
        .prepare_snapshot("many", "many:layers", false)
        .unwrap();
    let m = &mounts[0];
    assert_eq!(
        m.cwd.as_deref(),
        Some(store.root()),
        "relative lowerdirs, made from the store root"
    );
    assert!(m.data().len() < 4096, "fits in a page: {}", m.data().len());
    // The shared init layer on top, then the layers by their short links.
    let lowers: Vec<&str> = m.options[0]
        .strip_prefix("lowerdir=")
        .unwrap()
        .split(':')
        .collect();
    assert_eq!(lowers.len(), 151, "{lowers:?}");
    assert!(
        lowers[0].starts_with("layers/") && lowers[0].ends_with("/init"),
        "{}",
        lowers[0]
    );
    assert!(
        lowers[1..].iter().all(|l| l.starts_with("l/")),
        "{lowers:?}"
    );
    let target = t.join("merged");
    std::fs::create_dir_all(&target).unwrap();
    m.mount_at(&target).unwrap();
    let _g = MountGuard(target.clone());
    let mut names: Vec<usize> = std::fs::read_dir(target.join("f"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().parse().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        (1..150).collect::<Vec<_>>(),
        "f/0 whited out by the top layer"
    );
    assert_eq!(std::fs::read(target.join("f/149")).unwrap(), b"149\n");
    // The container's writes go to its upper dir, not into the layers.
    std::fs::write(target.join("f/new"), b"x").unwrap();
    drop(_g);
    assert!(store.root().join("snapshots/many/upper/f/new").is_file());
    store.remove_snapshot("many").unwrap();
    assert_clean(&store);
}

/// Containers of one image made at once share one init layer: each create may stage one, the
/// first rename publishes it, the others drop theirs. A snapshot recorded before init layers
/// existed (no `init` in snapshot.json) still mounts, without one.
#[test]
fn concurrent_snapshots_share_one_init_layer_and_old_ones_mount_without() {
    require_root();
    let t = TestDir::new("init_layer_concurrent");
    let store = open(&t);
    load(
        &store,
        &std::fs::read(fixture("docker-save-small.tar")).unwrap(),
    )
    .unwrap();
    let keys: Vec<String> = (0..8).map(|i| format!("{i:0>64}")).collect();
    let lowers: Vec<String> = std::thread::scope(|s| {
        let hs: Vec<_> = keys
            .iter()
            .map(|k| {
                let store = &store;
                s.spawn(move || {
                    let m = store.prepare_snapshot(k, "small:peer", false).unwrap();
                    m[0].options[0].clone()
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let first = lowers[0].split(':').next().unwrap().to_string();
    assert!(first.ends_with("/init"), "{first}");
    assert!(lowers.iter().all(|l| l.starts_with(&format!("{first}:"))));
    // Nothing staged is left behind in tmp/.
    let staged: Vec<_> = std::fs::read_dir(store.root().join("tmp"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("init-"))
        .collect();
    assert!(staged.is_empty(), "{staged:?}");
    // An old snapshot: drop `init` from its record and open the store again.
    let rec = store
        .root()
        .join("snapshots")
        .join(&keys[0])
        .join("snapshot.json");
    let mut v: serde_json::Value = serde_json::from_slice(&std::fs::read(&rec).unwrap()).unwrap();
    v.as_object_mut().unwrap().remove("init");
    std::fs::write(&rec, serde_json::to_vec(&v).unwrap()).unwrap();
    drop(store);
    let store = open(&t);
    let m = store.snapshot_mounts(&keys[0]).unwrap();
    assert!(!m[0].options[0].contains("/init"), "{}", m[0].options[0]);
    let target = t.join("merged");
    std::fs::create_dir_all(&target).unwrap();
    m[0].mount_at(&target).unwrap();
    let g = MountGuard(target.clone());
    assert!(!target.join(".dockerenv").exists());
    drop(g);
    for k in &keys {
        store.remove_snapshot(k).unwrap();
    }
    store.delete(SMALL_ID, true, true, &NoUsers).unwrap();
    assert_clean(&store);
}
