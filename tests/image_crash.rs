//! Crash safety: a child process (this test binary, re-executed) loads, tags, deletes and
//! prunes images in a loop and is killed with SIGKILL after a random delay. Before the store is
//! opened again its on-disk state must already be consistent (no half layer in `layers/`, no name
//! pointing at a missing image or blob); after opening, nothing is left over; and a retried
//! load succeeds.

mod common;
mod image_support;

use berth::image::snapshot::SnapshotMode;
use berth::image::store::{ListOptions, NoUsers, StoreOptions};
use berth::image::Store;
use common::{require_root, ProcGuard, TestDir};
use image_support::*;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

const CHILD_ENV: &str = "BERTH_IMAGE_CRASH_CHILD";

fn open(root: &Path) -> Store {
    Store::open(
        root,
        StoreOptions {
            snapshot_mode: Some(SnapshotMode::Overlay),
        },
    )
    .unwrap()
}

/// The child's loop (a no-op when run as an ordinary test).
#[test]
fn crash_child() {
    let Ok(root) = std::env::var(CHILD_ENV) else {
        return;
    };
    let store = open(Path::new(&root));
    let docker = std::fs::read(fixture("docker-save-small.tar")).unwrap();
    let docker_zst = zstd(&docker);
    let skopeo = std::fs::read(fixture("skopeo-oci-small.tar")).unwrap();
    let mut saved = Vec::new();
    loop {
        store.load(&docker_zst[..], &mut |_| {}).unwrap();
        store.load(&skopeo[..], &mut |_| {}).unwrap();
        store.tag(SMALL_ID, "again", "1").unwrap();
        saved.clear();
        store
            .save(&["again:1".to_string()], Default::default(), &mut saved)
            .unwrap();
        store.delete("small:peer", true, true, &NoUsers).unwrap();
        store.delete(SMALL_ID, true, true, &NoUsers).unwrap();
        store.load(&saved[..], &mut |_| {}).unwrap();
        store
            .prune(
                &berth::image::filters::Filters::from_pairs(&[("dangling", "false")]),
                &NoUsers,
            )
            .unwrap();
    }
}

fn random_ms(max: u64) -> u64 {
    let h = berth::base::id::random_hex_id();
    u64::from_str_radix(&h[..8], 16).unwrap() % max
}

#[test]
fn kill_9_at_any_instant_leaves_a_consistent_store() {
    require_root();
    let t = TestDir::new("kill9_store");
    let root = t.join("store");
    drop(open(&root));
    let exe = std::env::current_exe().unwrap();
    let docker = std::fs::read(fixture("docker-save-small.tar")).unwrap();
    let rounds: usize = std::env::var("BERTH_CRASH_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    for round in 0..rounds {
        let delay = 20 + random_ms(2500);
        let child = Command::new(&exe)
            .args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, &root)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut g = ProcGuard::from_child(child);
        std::thread::sleep(Duration::from_millis(delay));
        let _ = g.child().kill();
        let status = g.child().wait().unwrap();
        assert!(
            status.code().is_none(),
            "round {round}: the child ended by itself ({status:?}) instead of being killed"
        );
        drop(g);

        // Before any recovery: whatever is named exists whole.
        let raw = Store::fsck(&root).unwrap();
        assert!(
            raw.is_empty(),
            "round {round} (killed after {delay} ms): inconsistent on disk: {raw:?}"
        );

        // Reopen: recovery leaves nothing over, every listed image is whole.
        let store = open(&root);
        let problems = store.check().unwrap();
        assert!(
            problems.is_empty(),
            "round {round}: after reopening: {problems:?}"
        );
        for img in store
            .list(
                &ListOptions {
                    all: true,
                    ..Default::default()
                },
                &NoUsers,
            )
            .unwrap()
        {
            let i = store.inspect(&img.id).unwrap();
            for c in &i.image.chain {
                assert!(
                    store.layer_dir(c).is_dir(),
                    "round {round}: layer {c} of {} missing",
                    img.id
                );
            }
            store.history(&img.id).unwrap();
        }
        // A retried load succeeds and the result is sound.
        store.load(&docker[..], &mut |_| {}).unwrap();
        assert_eq!(store.resolve("small:peer").unwrap().id.as_str(), SMALL_ID);
        assert!(store.check().unwrap().is_empty());
        // Sometimes start the next round from an empty store, sometimes from a full one.
        if round % 2 == 0 {
            store
                .prune(
                    &berth::image::filters::Filters::from_pairs(&[("dangling", "false")]),
                    &NoUsers,
                )
                .unwrap();
        }
    }
}
