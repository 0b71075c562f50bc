//! `docker save` logic: Docker 25's OCI layout by default (deterministic), the legacy layout with
//! Docker's own v1 IDs, round trips through load, several images in one archive.

mod common;
mod image_support;

use berth::image::save::SaveFormat;
use berth::image::store::{NoUsers, StoreOptions};
use berth::image::Store;
use common::{require_root, TestDir};
use image_support::*;

fn store_with_small(t: &TestDir, name: &str) -> Store {
    let s = Store::open(&t.join(name), StoreOptions::default()).unwrap();
    s.load(
        &std::fs::read(fixture("docker-save-small.tar")).unwrap()[..],
        &mut |_| {},
    )
    .unwrap();
    s
}

fn save(s: &Store, names: &[&str], f: SaveFormat) -> Vec<u8> {
    let mut out = Vec::new();
    s.save(
        &names.iter().map(|x| x.to_string()).collect::<Vec<_>>(),
        f,
        &mut out,
    )
    .unwrap();
    out
}

#[test]
fn legacy_save_matches_docker_20_10_byte_for_byte_per_file() {
    require_root();
    let t = TestDir::new("legacy_save_matches_docker");
    let s = store_with_small(&t, "store");
    let ours = tar_entries(&save(&s, &["small:peer"], SaveFormat::Legacy));
    let theirs = tar_entries(&std::fs::read(fixture("docker-save-small.tar")).unwrap());
    let names: Vec<&String> = ours.keys().collect();
    let want: Vec<&String> = theirs.keys().collect();
    assert_eq!(names, want, "same entries, same v1 IDs as docker 20.10");
    for (k, v) in &theirs {
        assert!(
            ours[k] == *v,
            "{k} differs:\nours:   {}\ntheirs: {}",
            String::from_utf8_lossy(&ours[k][..ours[k].len().min(600)]),
            String::from_utf8_lossy(&v[..v.len().min(600)])
        );
    }
}

#[test]
fn oci_save_is_deterministic_and_loads_back() {
    require_root();
    let t = TestDir::new("oci_save_roundtrip");
    let s = store_with_small(&t, "a");
    let one = save(&s, &["small:peer"], SaveFormat::Oci);
    let two = save(&s, &["small"], SaveFormat::Oci);
    assert!(one == two, "the same image saves to the same bytes");
    let e = tar_entries(&one);
    let names: Vec<&str> = e.keys().map(|k| k.as_str()).collect();
    assert!(
        names.contains(&"oci-layout")
            && names.contains(&"index.json")
            && names.contains(&"manifest.json")
            && names.contains(&"repositories"),
        "{names:?}"
    );
    assert_eq!(e["oci-layout"], br#"{"imageLayoutVersion": "1.0.0"}"#);
    let index: serde_json::Value = serde_json::from_slice(&e["index.json"]).unwrap();
    assert_eq!(
        index["mediaType"],
        "application/vnd.oci.image.index.v1+json"
    );
    let ann = &index["manifests"][0]["annotations"];
    assert_eq!(
        ann["io.containerd.image.name"],
        "docker.io/library/small:peer"
    );
    assert_eq!(ann["org.opencontainers.image.ref.name"], "peer");
    let m: serde_json::Value = serde_json::from_slice(&e["manifest.json"]).unwrap();
    assert_eq!(m[0]["Config"], format!("blobs/sha256/{}", &SMALL_ID[7..]));
    assert_eq!(m[0]["RepoTags"][0], "small:peer");
    assert_eq!(
        m[0]["Layers"][3],
        format!("blobs/sha256/{}", &SMALL_DIFF_IDS[3][7..])
    );
    let repos: serde_json::Value = serde_json::from_slice(&e["repositories"]).unwrap();
    assert_eq!(repos["small"]["peer"], &SMALL_DIFF_IDS[3][7..]);
    for d in SMALL_DIFF_IDS {
        let blob = &e[&format!("blobs/sha256/{}", &d[7..])];
        assert_eq!(
            berth::oci::image::Digest::of(blob).as_str(),
            d,
            "layer blob digest"
        );
    }
    // Every mtime is 0.
    let mut r = berth::image::tarstream::TarReader::new(&one[..], false);
    while let Some(h) = r.next_header().unwrap() {
        assert_eq!(h.mtime.0, 0, "{}", h.path_lossy());
        r.finish_entry(false).unwrap();
    }
    // Loads into a fresh store (our loader prefers manifest.json) and as pure OCI (index.json).
    let b = Store::open(&t.join("b"), StoreOptions::default()).unwrap();
    b.load(&one[..], &mut |_| {}).unwrap();
    assert_eq!(b.resolve("small:peer").unwrap().id.as_str(), SMALL_ID);
    let mut pure = e.clone();
    pure.remove("manifest.json");
    pure.remove("repositories");
    let mut w = berth::image::tarstream::TarWriter::new(Vec::new());
    for (k, v) in &pure {
        w.file(k, v, 0).unwrap();
    }
    w.finish().unwrap();
    let c = Store::open(&t.join("c"), StoreOptions::default()).unwrap();
    c.load(&w.out[..], &mut |_| {}).unwrap();
    assert_eq!(c.resolve("small:peer").unwrap().id.as_str(), SMALL_ID);
    assert!(c.check().unwrap().is_empty());
}

#[test]
fn save_several_images_and_names() {
    require_root();
    let t = TestDir::new("save_several_images");
    let s = store_with_small(&t, "a");
    s.load(
        &std::fs::read(fixture("skopeo-oci-small.tar")).unwrap()[..],
        &mut |_| {},
    )
    .unwrap();
    // small:peer now names the skopeo image; give the docker one a name again.
    s.tag(SMALL_ID, "other/repo", "v1").unwrap();
    s.tag(SMALL_ID, "other/repo", "v2").unwrap();
    let out = save(&s, &["small:peer", "other/repo"], SaveFormat::Oci);
    let e = tar_entries(&out);
    let m: serde_json::Value = serde_json::from_slice(&e["manifest.json"]).unwrap();
    assert_eq!(m.as_array().unwrap().len(), 2);
    let b = Store::open(&t.join("b"), StoreOptions::default()).unwrap();
    let mut lines = Vec::new();
    b.load(&out[..], &mut |ev| {
        if let berth::image::load::LoadEvent::Line(l) = ev {
            lines.push(l)
        }
    })
    .unwrap();
    lines.sort();
    assert_eq!(
        lines,
        [
            "Loaded image: other/repo:v1\n",
            "Loaded image: other/repo:v2\n",
            "Loaded image: small:peer\n"
        ]
    );
    assert_eq!(b.resolve("other/repo:v2").unwrap().id.as_str(), SMALL_ID);
    assert_eq!(b.resolve("small:peer").unwrap().id.as_str(), SKOPEO_ID);
    assert_eq!(b.list(&Default::default(), &NoUsers).unwrap().len(), 2);
    // Legacy layout with two images sharing layers writes each layer once (then symlinks).
    let legacy = save(&s, &[SMALL_ID, SKOPEO_ID], SaveFormat::Legacy);
    let c = Store::open(&t.join("c"), StoreOptions::default()).unwrap();
    c.load(&legacy[..], &mut |_| {}).unwrap();
    let listed = c.list(&Default::default(), &NoUsers).unwrap();
    assert_eq!(listed.len(), 2, "dangling images are listed (as <none>)");
    assert!(listed.iter().all(|i| i.repo_tags.is_empty()));
    assert!(c.resolve(SKOPEO_ID).is_ok() && c.resolve(SMALL_ID).is_ok());
    // Errors.
    let mut sink = Vec::new();
    assert_eq!(
        s.save(&["nosuch:tag".into()], SaveFormat::Oci, &mut sink)
            .unwrap_err()
            .to_string(),
        "reference does not exist"
    );
    assert_eq!(
        s.save(&["nosuch".into()], SaveFormat::Oci, &mut sink)
            .unwrap_err()
            .to_string(),
        "No such image: nosuch"
    );
}

/// An independent reader of OCI layouts (skopeo) accepts what berth saves: digests, sizes,
/// media types and the ref.name annotation.
#[test]
fn skopeo_reads_the_oci_layout_berth_saves() {
    require_root();
    let t = TestDir::new("skopeo_reads_save");
    let s = store_with_small(&t, "a");
    let file = t.join("saved.tar");
    std::fs::write(&file, save(&s, &["small:peer"], SaveFormat::Oci)).unwrap();
    let o = std::process::Command::new("skopeo")
        .arg("inspect")
        .arg(format!("oci-archive:{}:peer", file.display()))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["Labels"]["org.example.fixture"], "small");
    assert_eq!(v["Layers"].as_array().unwrap().len(), 4);
    let dir = t.join("copied");
    let o = std::process::Command::new("skopeo")
        .arg("copy")
        .arg(format!("oci-archive:{}:peer", file.display()))
        .arg(format!("dir:{}", dir.display()))
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "skopeo verifies every blob it copies: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        dir.join(&SMALL_ID[7..]).is_file(),
        "the config blob, by the image ID"
    );
}
