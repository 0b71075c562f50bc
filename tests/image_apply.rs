//! Layer application: the fixture layers in overlay form, tar-split replay, compression, and
//! hostile archives that try to write outside the layer root.

mod common;
mod image_support;

use berth::image::apply::{apply_blob, OPAQUE_XATTR};
use berth::image::tarsplit::{Assembler, SplitBuilder};
use berth::image::tarstream::Kind;
use berth::oci::image::Digest;
use berth::sys::fsat::Dir;
use common::{require_root, TestDir};
use image_support::*;
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

fn apply_into(dir: &Path, blob: &[u8]) -> berth::base::Result<berth::image::apply::Applied> {
    std::fs::create_dir_all(dir).unwrap();
    let d = Dir::open(dir).unwrap();
    apply_blob(blob, &d, None)
}

fn xattr(p: &Path, key: &str) -> Option<Vec<u8>> {
    let parent = Dir::open(p.parent().unwrap()).unwrap();
    parent.get_xattr(p.file_name().unwrap(), key).unwrap()
}

#[test]
fn fixture_layers_apply_in_overlay_form_and_replay_exactly() {
    require_root();
    let t = TestDir::new("fixture_layers_apply");
    for (i, layer) in small_layers().iter().enumerate() {
        let dir = t.join(format!("l{i}"));
        std::fs::create_dir_all(&dir).unwrap();
        let d = Dir::open(&dir).unwrap();
        let mut split = SplitBuilder::default();
        let a = apply_blob(&layer[..], &d, Some(&mut split)).unwrap();
        assert_eq!(a.diff_id.as_str(), SMALL_DIFF_IDS[i], "layer {i}");
        assert_eq!(a.blob_digest, a.diff_id);
        assert_eq!(a.tar_size, layer.len() as u64);
        let sf = t.join(format!("split{i}"));
        split.write_to(std::fs::File::create(&sf).unwrap()).unwrap();
        let mut again = Vec::new();
        Assembler::open(&sf, Dir::open(&dir).unwrap())
            .unwrap()
            .read_to_end(&mut again)
            .unwrap();
        assert!(
            again == *layer,
            "layer {i}: replay differs from the original tar"
        );
    }
    // Layer 1: busybox with ./-prefixed names, symlinked applets.
    let bb = std::fs::read(t.join("l0/bin/busybox")).unwrap();
    assert!(bb.len() > 100_000);
    assert_eq!(
        std::fs::read_link(t.join("l0/bin/ls")).unwrap(),
        Path::new("busybox")
    );
    // Layer 3: whiteout as char 0/0, opaque dir, hardlink, symlink.
    let wh = std::fs::symlink_metadata(t.join("l2/data/gone.txt")).unwrap();
    assert!(
        wh.file_type().is_char_device() && wh.rdev() == 0,
        "whiteout is a 0/0 char device"
    );
    assert!(!t.join("l2/data/.wh.gone.txt").exists());
    assert_eq!(
        xattr(&t.join("l2/data/dir"), OPAQUE_XATTR).as_deref(),
        Some(&b"y"[..])
    );
    assert!(!t.join("l2/data/dir/.wh..wh..opq").exists());
    let hard = std::fs::metadata(t.join("l2/data/hard")).unwrap();
    let keep = std::fs::metadata(t.join("l2/data/keep.txt")).unwrap();
    assert_eq!(
        hard.ino(),
        keep.ino(),
        "keep.txt is a hardlink to hard in layer 3"
    );
    assert_eq!(
        std::fs::read_link(t.join("l2/data/link")).unwrap(),
        Path::new("keep.txt")
    );
    // Layer 4: mode and times kept; directory times set after their contents.
    let k = std::fs::metadata(t.join("l3/data/keep.txt")).unwrap();
    assert_eq!(k.mode() & 0o7777, 0o640);
    assert!(
        (1795352800..1795352820).contains(&k.mtime()),
        "mtime from the tar: {}",
        k.mtime()
    );
    let data = std::fs::metadata(t.join("l3/data")).unwrap();
    assert!(
        data.mtime() > 1_700_000_000 && data.mtime() < 1_900_000_000,
        "dir mtime from the tar, not now: {}",
        data.mtime()
    );
}

#[test]
fn gzip_and_zstd_layers_report_both_digests() {
    require_root();
    let t = TestDir::new("gzip_zstd_layers");
    let layer = &small_layers()[1];
    for (name, blob) in [("gz", gzip(layer)), ("zst", zstd(layer))] {
        let a = apply_into(&t.join(name), &blob).unwrap();
        assert_eq!(a.diff_id.as_str(), SMALL_DIFF_IDS[1]);
        assert_eq!(a.blob_digest, Digest::of(&blob), "{name}");
        assert_eq!(a.blob_size, blob.len() as u64);
        assert_eq!(
            std::fs::read(t.join(name).join("data/rand.bin"))
                .unwrap()
                .len(),
            262144
        );
    }
}

/// A directory next to the layer root that no entry may touch.
fn outside(t: &TestDir) -> std::path::PathBuf {
    let o = t.join("outside");
    std::fs::create_dir_all(&o).unwrap();
    std::fs::write(o.join("victim"), b"original").unwrap();
    o
}

fn assert_outside_untouched(o: &Path) {
    let names: Vec<_> = std::fs::read_dir(o)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["victim"], "something was written outside the root");
    assert_eq!(std::fs::read(o.join("victim")).unwrap(), b"original");
}

#[test]
fn hostile_dotdot_names_are_rejected() {
    require_root();
    let t = TestDir::new("hostile_dotdot");
    let o = outside(&t);
    for name in [
        "../outside/evil",
        "a/../../outside/evil",
        "./../outside/victim",
    ] {
        let tar = TarBuilder::new().file(name, b"pwned", 0o644).build();
        let e = apply_into(&t.join("root"), &tar).unwrap_err();
        assert!(
            e.to_string().contains("outside of the layer root"),
            "{name}: {e}"
        );
        assert_outside_untouched(&o);
    }
    // A hardlink whose target climbs out.
    let tar = TarBuilder::new().hardlink("h", "../outside/victim").build();
    assert!(apply_into(&t.join("root2"), &tar).is_err());
    assert_outside_untouched(&o);
}

#[test]
fn hostile_absolute_names_and_symlink_parents_stay_inside() {
    require_root();
    let t = TestDir::new("hostile_symlinks");
    let o = outside(&t);
    let root = t.join("root");
    let abs_outside = o.to_string_lossy().into_owned();
    let tar = TarBuilder::new()
        // absolute names are taken relative to the root
        .file(&format!("{abs_outside}/victim"), b"pwned", 0o644)
        // a symlink to the real outside dir, then a file through it
        .symlink("esc", &abs_outside)
        .file("esc/new", b"pwned", 0o644)
        // relative escape through a symlink
        .symlink("up", "../../../../../../..")
        .file("up/escaped", b"pwned", 0o644)
        // a symlink at a name, then a regular file at the same name: the link is replaced
        .symlink("victim-link", &format!("{abs_outside}/victim"))
        .file("victim-link", b"pwned", 0o644)
        // hardlink through a symlinked parent resolves inside the root (to the file made above)
        .hardlink("hl", "esc/new")
        .build();
    apply_into(&root, &tar).unwrap();
    assert_outside_untouched(&o);
    let inner = root.join(abs_outside.trim_start_matches('/'));
    assert_eq!(std::fs::read(inner.join("victim")).unwrap(), b"pwned");
    assert_eq!(std::fs::read(inner.join("new")).unwrap(), b"pwned");
    assert_eq!(
        std::fs::read(root.join("escaped")).unwrap(),
        b"pwned",
        "../.. through a symlink stops at the root"
    );
    assert!(std::fs::symlink_metadata(root.join("victim-link"))
        .unwrap()
        .is_file());
    assert_eq!(
        std::fs::metadata(root.join("hl")).unwrap().ino(),
        std::fs::metadata(inner.join("new")).unwrap().ino()
    );
    assert_eq!(
        std::fs::read_link(root.join("esc"))
            .unwrap()
            .to_string_lossy(),
        abs_outside,
        "symlink targets are kept verbatim"
    );
}

#[test]
fn hostile_hardlink_to_outside_target_fails() {
    require_root();
    let t = TestDir::new("hostile_hardlink");
    let o = outside(&t);
    let abs_outside = o.to_string_lossy().into_owned();
    // Absolute hardlink target: resolved inside the root, where it does not exist.
    let tar = TarBuilder::new()
        .hardlink("h", &format!("{abs_outside}/victim"))
        .build();
    let e = apply_into(&t.join("r1"), &tar).unwrap_err();
    assert!(e.to_string().contains("victim"), "{e}");
    // Through a symlink to the outside directory: still resolved inside.
    let tar = TarBuilder::new()
        .symlink("esc", &abs_outside)
        .hardlink("h", "esc/victim")
        .build();
    assert!(apply_into(&t.join("r2"), &tar).is_err());
    // A hardlink to a symlink that points outside links the symlink, never the target.
    let tar = TarBuilder::new()
        .symlink("s", &format!("{abs_outside}/victim"))
        .hardlink("h", "s")
        .file("h2", b"x", 0o644)
        .build();
    apply_into(&t.join("r3"), &tar).unwrap();
    assert!(std::fs::symlink_metadata(t.join("r3/h"))
        .unwrap()
        .file_type()
        .is_symlink());
    assert_outside_untouched(&o);
    assert_eq!(
        std::fs::metadata(o.join("victim")).unwrap().nlink(),
        1,
        "no link to the outside file was made"
    );
}

#[test]
fn whiteouts_opaque_devices_and_xattrs() {
    require_root();
    let t = TestDir::new("whiteouts_devices");
    let tar = TarBuilder::new()
        .dir("d/", 0o755)
        .file("d/.wh..wh..opq", b"", 0o644)
        .file("d/kept", b"k", 0o600)
        .file(".wh.gone", b"", 0o644)
        .file("x", b"replace me", 0o644)
        .file(".wh.x", b"", 0o644)
        .node("dev/null", Kind::Char, 0o666)
        .node("fifo", Kind::Fifo, 0o600)
        .file_with_pax(
            "attr",
            b"a",
            &[
                ("SCHILY.xattr.user.test", b"v"),
                ("SCHILY.xattr.trusted.overlay.redirect", b"/etc"),
            ],
        )
        .build();
    apply_into(&t.join("r"), &tar).unwrap();
    let r = t.join("r");
    assert_eq!(
        xattr(&r.join("d"), OPAQUE_XATTR).as_deref(),
        Some(&b"y"[..])
    );
    assert_eq!(std::fs::read(r.join("d/kept")).unwrap(), b"k");
    for w in ["gone", "x"] {
        let m = std::fs::symlink_metadata(r.join(w)).unwrap();
        assert!(
            m.file_type().is_char_device() && m.rdev() == 0,
            "{w} is a whiteout"
        );
    }
    assert!(std::fs::symlink_metadata(r.join("dev/null"))
        .unwrap()
        .file_type()
        .is_char_device());
    assert!(std::fs::symlink_metadata(r.join("fifo"))
        .unwrap()
        .file_type()
        .is_fifo());
    assert_eq!(
        xattr(&r.join("attr"), "user.test").as_deref(),
        Some(&b"v"[..])
    );
    assert_eq!(
        xattr(&r.join("attr"), "trusted.overlay.redirect"),
        None,
        "overlay xattrs from an image are dropped"
    );
    // Invalid whiteouts.
    for bad in [".wh..", ".wh."] {
        let tar = TarBuilder::new().file(bad, b"", 0o644).build();
        assert!(
            apply_into(&t.join(format!("bad{}", bad.len())), &tar).is_err(),
            "{bad}"
        );
    }
}

#[test]
fn replaced_files_still_replay_exactly() {
    require_root();
    let t = TestDir::new("replaced_files_replay");
    let tar = TarBuilder::new()
        .file("a", b"first content", 0o644)
        .dir("d/", 0o755)
        .file("d/f", b"in a dir that goes away", 0o644)
        .file("a", b"second", 0o644)
        .file("d", b"now a file", 0o644)
        .symlink("s", "a")
        .file("s", b"was a symlink", 0o644)
        .build();
    let dir = t.join("r");
    std::fs::create_dir_all(&dir).unwrap();
    let mut split = SplitBuilder::default();
    let a = apply_blob(&tar[..], &Dir::open(&dir).unwrap(), Some(&mut split)).unwrap();
    assert_eq!(std::fs::read(dir.join("a")).unwrap(), b"second");
    assert_eq!(std::fs::read(dir.join("d")).unwrap(), b"now a file");
    split
        .write_to(std::fs::File::create(t.join("split")).unwrap())
        .unwrap();
    let mut again = Vec::new();
    Assembler::open(&t.join("split"), Dir::open(&dir).unwrap())
        .unwrap()
        .read_to_end(&mut again)
        .unwrap();
    assert_eq!(Digest::of(&again), a.diff_id);
}

#[test]
fn owners_modes_and_times_survive() {
    require_root();
    let t = TestDir::new("owners_modes");
    let tar = TarBuilder::new()
        .dir("d/", 0o1777)
        .file_with_pax(
            "d/suid",
            b"#!/bin/sh\n",
            &[
                ("uid", b"1234"),
                ("gid", b"5678"),
                ("mtime", b"1500000000.25"),
            ],
        )
        .file_with_pax("d/plain", b"x", &[("uid", b"65534"), ("gid", b"65534")])
        .build();
    // file_with_pax writes mode 0644; make one setuid by patching the ustar mode field.
    let mut tar = tar;
    let mut off = 0;
    while off + 512 <= tar.len() {
        if &tar[off..off + 6] == b"d/suid" {
            tar[off + 100..off + 108].copy_from_slice(b"0004755\0");
            // fix the checksum
            tar[off + 148..off + 156].fill(b' ');
            let sum: u32 = tar[off..off + 512].iter().map(|b| *b as u32).sum();
            tar[off + 148..off + 156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
            break;
        }
        off += 512;
    }
    let r = t.join("r");
    apply_into(&r, &tar).unwrap();
    let m = std::fs::metadata(r.join("d/suid")).unwrap();
    assert_eq!((m.uid(), m.gid()), (1234, 5678));
    assert_eq!(m.mode() & 0o7777, 0o4755, "setuid kept: chown before chmod");
    assert_eq!(
        (m.mtime(), m.mtime_nsec()),
        (1_500_000_000, 250_000_000),
        "PAX sub-second mtime"
    );
    let p = std::fs::metadata(r.join("d/plain")).unwrap();
    assert_eq!((p.uid(), p.gid()), (65534, 65534));
    assert_eq!(
        std::fs::metadata(r.join("d")).unwrap().mode() & 0o7777,
        0o1777,
        "sticky dir"
    );
}
