//! Store operations with Docker's semantics: import with --change, tag, rmi (conflicts and
//! their wording), prune, history, list filters, system df.

mod common;
mod image_support;

use berth::image::filters::Filters;
use berth::image::import::ImportOptions;
use berth::image::reference::Reference;
use berth::image::store::{ContainerUse, DeleteItem, ListOptions, NoUsers, StoreOptions};
use berth::image::Store;
use berth::oci::image::Digest;
use common::{busybox_rootfs, require_root, TestDir};
use image_support::*;
use std::process::Command;

fn store_with_small(t: &TestDir) -> Store {
    let s = Store::open(&t.join("store"), StoreOptions::default()).unwrap();
    s.load(
        &std::fs::read(fixture("docker-save-small.tar")).unwrap()[..],
        &mut |_| {},
    )
    .unwrap();
    s
}

fn rootfs_tar(t: &TestDir) -> Vec<u8> {
    let root = t.join("rootfs");
    busybox_rootfs(&root);
    let out = Command::new("tar")
        .arg("-C")
        .arg(&root)
        .args(["-c", "."])
        .output()
        .unwrap();
    assert!(out.status.success());
    out.stdout
}

fn u(id: &str) -> DeleteItem {
    DeleteItem::Untagged(id.into())
}
fn d(id: &str) -> DeleteItem {
    DeleteItem::Deleted(id.into())
}

#[test]
fn import_with_changes() {
    require_root();
    let t = TestDir::new("import_with_changes");
    let s = Store::open(&t.join("store"), StoreOptions::default()).unwrap();
    let tar = rootfs_tar(&t);
    let opts = ImportOptions {
        reference: Some(Reference::parse_normalized("imported:v1").unwrap()),
        message: "Imported from -".into(),
        changes: [
            "CMD [\"sh\"]",
            "ENV A=1",
            "WORKDIR /srv",
            "ENTRYPOINT [\"/bin/sh\",\"-c\"]",
            "EXPOSE 8080",
            "LABEL k=v",
            "USER 1000",
            "VOLUME /data",
            "STOPSIGNAL SIGTERM",
            "ONBUILD RUN true",
        ]
        .iter()
        .map(|x| x.to_string())
        .collect(),
    };
    let id = s.import(&tar[..], &opts).unwrap();
    let insp = s.inspect("imported:v1").unwrap();
    assert_eq!(insp.image.id, id);
    let c = insp.image.config.config.as_ref().unwrap();
    assert_eq!(
        c.cmd.as_deref().unwrap(),
        ["sh"],
        "CMD set before ENTRYPOINT in the same changes stays"
    );
    assert_eq!(c.entrypoint.as_deref().unwrap(), ["/bin/sh", "-c"]);
    assert_eq!(c.env.as_deref().unwrap(), ["A=1"]);
    assert_eq!(c.working_dir, "/srv");
    assert!(c.exposed_ports.as_ref().unwrap().contains_key("8080/tcp"));
    assert_eq!(c.labels.as_ref().unwrap()["k"], "v");
    assert_eq!(c.user, "1000");
    assert!(c.volumes.as_ref().unwrap().contains_key("/data"));
    assert_eq!(c.stop_signal, "SIGTERM");
    assert_eq!(c.on_build.as_deref().unwrap(), ["RUN true"]);
    assert_eq!(insp.comment, "Imported from -");
    assert_eq!(
        insp.image.config.diff_ids()[0],
        Digest::of(&tar),
        "diff ID is the digest of the tar as given"
    );
    assert_ne!(
        insp.last_tag_time,
        berth::image::store::ZERO_TIME,
        "import tags like `docker tag`"
    );
    assert_eq!(insp.image.config.architecture, "amd64");
    // A gzip-compressed rootfs gives the same layer.
    let id2 = s
        .import(&gzip(&tar)[..], &ImportOptions::default())
        .unwrap();
    assert_eq!(s.image(&id2).unwrap().chain, s.image(&id).unwrap().chain);
    // Errors leave nothing behind.
    let bad = ImportOptions {
        changes: vec!["RUN true".into()],
        ..Default::default()
    };
    assert_eq!(
        s.import(&tar[..], &bad).unwrap_err().to_string(),
        "run is not a valid change command"
    );
    assert!(s
        .import(
            &b"not a tar at all, just some text that is long enough"[..],
            &ImportOptions::default()
        )
        .is_err());
    assert!(s.check().unwrap().is_empty(), "{:?}", s.check().unwrap());
    assert_eq!(s.all_layers().len(), 1);
}

#[test]
fn tag_and_rmi_follow_docker() {
    require_root();
    let t = TestDir::new("tag_and_rmi");
    let s = store_with_small(&t);
    let chains: Vec<String> = s
        .resolve("small:peer")
        .unwrap()
        .chain
        .iter()
        .rev()
        .map(|c| c.to_string())
        .collect();
    s.tag("small:peer", "other", "1").unwrap();
    s.tag("small:peer", "localhost:5000/x/y", "").unwrap();
    assert_eq!(
        s.inspect(SMALL_ID).unwrap().repo_tags,
        ["other:1", "small:peer", "localhost:5000/x/y:latest"]
    );
    assert!(s
        .inspect(SMALL_ID)
        .unwrap()
        .repo_tags
        .contains(&"localhost:5000/x/y:latest".to_string()));
    assert_ne!(
        s.inspect(SMALL_ID).unwrap().last_tag_time,
        berth::image::store::ZERO_TIME
    );
    assert_eq!(
        s.tag("nosuch", "a", "b").unwrap_err().to_string(),
        "No such image: nosuch:latest"
    );
    assert!(s.tag("small:peer", "Bad", "x").is_err());
    // By ID with several repositories: a soft conflict.
    let e = s.delete("9f27a38a6169", false, true, &NoUsers).unwrap_err();
    assert_eq!(e.to_string(), "conflict: unable to delete 9f27a38a6169 (must be forced) - image is referenced in multiple repositories");
    // By tag while other tags remain: only untag.
    assert_eq!(
        s.delete("small:peer", false, true, &NoUsers).unwrap(),
        [u("small:peer")]
    );
    assert_eq!(
        s.delete("localhost:5000/x/y", false, true, &NoUsers)
            .unwrap(),
        [u("localhost:5000/x/y:latest")]
    );
    // Containers using it.
    let stopped = vec![ContainerUse {
        id: "abcdef0123456789".into(),
        image: Digest::parse(SMALL_ID).unwrap(),
        running: false,
    }];
    let running = vec![ContainerUse {
        id: "abcdef0123456789".into(),
        image: Digest::parse(SMALL_ID).unwrap(),
        running: true,
    }];
    assert_eq!(
        s.delete("other:1", false, true, &stopped).unwrap_err().to_string(),
        "conflict: unable to remove repository reference \"other:1\" (must force) - container abcdef012345 is using its referenced image 9f27a38a6169"
    );
    assert_eq!(s.delete(SMALL_ID, false, true, &stopped).unwrap_err().to_string(), "conflict: unable to delete 9f27a38a6169 (must be forced) - image is being used by stopped container abcdef012345");
    assert_eq!(s.delete(SMALL_ID, true, true, &running).unwrap_err().to_string(), "conflict: unable to delete 9f27a38a6169 (cannot be forced) - image is being used by running container abcdef012345");
    // Forced untag of the last tag while a container runs: untagged, the image stays (dangling).
    assert_eq!(
        s.delete("other:1", true, true, &running).unwrap(),
        [u("other:1")]
    );
    assert!(s.resolve(SMALL_ID).is_ok());
    s.tag(SMALL_ID, "other", "1").unwrap();
    // The last tag: untag, delete the image and its layers (top first).
    let mut want = vec![u("other:1"), d(SMALL_ID)];
    want.extend(chains.iter().map(|c| d(c)));
    assert_eq!(s.delete("other:1", false, true, &NoUsers).unwrap(), want);
    assert!(s.all_layers().is_empty());
    assert_eq!(
        s.delete("small:peer", false, true, &NoUsers)
            .unwrap_err()
            .to_string(),
        "No such image: small:peer"
    );
    assert!(s.check().unwrap().is_empty());
    // By short ID with one tag: untag then delete.
    let s = store_with_small(&t);
    let recs = s.delete("9f27a3", false, true, &NoUsers).unwrap();
    assert_eq!(recs[..2], [u("small:peer"), d(SMALL_ID)]);
    assert!(s.check().unwrap().is_empty());
}

#[test]
fn prune_dangling_and_all() {
    require_root();
    let t = TestDir::new("prune_images");
    let s = store_with_small(&t);
    s.load(
        &std::fs::read(fixture("skopeo-oci-small.tar")).unwrap()[..],
        &mut |_| {},
    )
    .unwrap();
    // The docker image lost its tag to the skopeo one: it is dangling.
    let rep = s.prune(&Filters::default(), &NoUsers).unwrap();
    assert_eq!(rep.images_deleted, [d(SMALL_ID)]);
    assert_eq!(rep.space_reclaimed, 0, "its layers are shared");
    // -a: every image no container uses.
    let users = vec![ContainerUse {
        id: "c1".into(),
        image: Digest::parse(SKOPEO_ID).unwrap(),
        running: false,
    }];
    let rep = s
        .prune(&Filters::from_pairs(&[("dangling", "false")]), &users)
        .unwrap();
    assert!(rep.images_deleted.is_empty(), "in use by a container");
    let rep = s
        .prune(&Filters::from_pairs(&[("dangling", "false")]), &NoUsers)
        .unwrap();
    assert_eq!(rep.images_deleted[..2], [u("small:peer"), d(SKOPEO_ID)]);
    assert!(rep.space_reclaimed > 2_000_000, "{}", rep.space_reclaimed);
    assert!(s.all_layers().is_empty());
    assert!(s
        .prune(&Filters::from_pairs(&[("bogus", "1")]), &NoUsers)
        .unwrap_err()
        .to_string()
        .contains("invalid filter 'bogus'"));
}

#[test]
fn history_list_filters_and_df() {
    require_root();
    let t = TestDir::new("history_list_df");
    let s = store_with_small(&t);
    let h = s.history("small:peer").unwrap();
    assert_eq!(h.len(), 8);
    assert_eq!(h[0].id, SMALL_ID);
    assert_eq!(h[0].tags, ["small:peer"]);
    assert!(h[0].created_by.contains("CMD [\"sh\"]"));
    assert!(h[1..].iter().all(|x| x.id == "<missing>"));
    assert_eq!(h[7].comment, "Imported from -");
    assert!(h[7].size > 1_900_000, "busybox layer size {}", h[7].size);
    assert_eq!(h.iter().filter(|x| x.size > 0).count(), 4);
    // A second, newer image (import) to filter against.
    let root = t.join("rootfs");
    std::fs::create_dir_all(root.join("x")).unwrap();
    let tar = Command::new("tar")
        .arg("-C")
        .arg(&root)
        .args(["-c", "."])
        .output()
        .unwrap()
        .stdout;
    let imported = s
        .import(
            &tar[..],
            &ImportOptions {
                reference: Some(Reference::parse_normalized("late:1").unwrap()),
                ..Default::default()
            },
        )
        .unwrap();
    let list = |f: &[(&str, &str)]| -> Vec<String> {
        s.list(
            &ListOptions {
                filters: Filters::from_pairs(f),
                ..Default::default()
            },
            &NoUsers,
        )
        .unwrap()
        .into_iter()
        .map(|i| i.id)
        .collect()
    };
    assert_eq!(
        list(&[]),
        [imported.to_string(), SMALL_ID.to_string()],
        "newest first"
    );
    assert_eq!(list(&[("reference", "small")]), [SMALL_ID]);
    assert_eq!(list(&[("reference", "l*:1")]), [imported.to_string()]);
    assert_eq!(list(&[("label", "org.example.fixture=small")]), [SMALL_ID]);
    assert_eq!(list(&[("label", "org.example.fixture")]), [SMALL_ID]);
    assert_eq!(list(&[("since", "small:peer")]), [imported.to_string()]);
    assert_eq!(list(&[("before", "late:1")]), [SMALL_ID]);
    assert!(list(&[("dangling", "true")]).is_empty());
    s.delete("late:1", false, true, &NoUsers).unwrap();
    s.import(&tar[..], &ImportOptions::default()).unwrap();
    assert_eq!(list(&[("dangling", "true")]).len(), 1);
    assert_eq!(list(&[("dangling", "false")]), [SMALL_ID]);
    let (total, imgs) = s.disk_usage(&NoUsers).unwrap();
    assert!(total > 2_000_000);
    assert_eq!(imgs.len(), 2);
    assert!(imgs.iter().all(|i| i.shared_size == 0 && i.containers == 0));
}
