//! Snapshots: the root file systems of containers (and read-only image views), described as
//! mounts for the caller to make.
//!
//! Overlay mode: `lowerdir` = the image's layer directories (top first, through the short
//! links in `l/`), plus a per-snapshot `upper/` and `work/`. When the absolute option string
//! would not fit in a page (the mount(2) data limit), the lowerdirs are given relative to the
//! store root and `Mount::cwd` says so (`Mount::mount_at` handles it). Copy mode (where overlay
//! cannot be used): the layers are merged into `rootfs/` by copying, honouring whiteouts and
//! opaque directories, and the mount is a bind mount of it.
//!
//! ```text
//! snapshots/<key>/snapshot.json   SnapshotInfo
//! snapshots/<key>/upper/ work/    overlay mode
//! snapshots/<key>/rootfs/         copy mode
//! ```

use super::apply::OPAQUE_XATTR;
use crate::base::{Error, Result};
use crate::oci::image::Digest;
use crate::sys::fsat::{self, Dir, Node};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SnapshotMode {
    Overlay,
    Copy,
}

/// One mount to make, as data: `mount -t <typ> -o <options> <source> <target>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mount {
    #[serde(rename = "type")]
    pub typ: String,
    pub source: String,
    pub options: Vec<String>,
    /// When set, relative paths in `options` are relative to this directory (the overlay
    /// lowerdir list was too long for a page as absolute paths).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cwd: Option<PathBuf>,
}

impl Mount {
    pub fn read_only(&self) -> bool {
        self.options.iter().any(|o| o == "ro")
    }

    /// The data string for mount(2): options other than the flags berth handles itself.
    pub fn data(&self) -> String {
        self.options
            .iter()
            .filter(|o| !matches!(o.as_str(), "ro" | "rw" | "bind" | "rbind"))
            .cloned()
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Make this mount at `target`.
    pub fn mount_at(&self, target: &Path) -> Result<()> {
        match self.typ.as_str() {
            "bind" => fsat::bind_mount(Path::new(&self.source), target, self.read_only()),
            _ => match &self.cwd {
                Some(cwd) => fsat::mount_fs_in(
                    cwd,
                    &self.typ,
                    &self.source,
                    target,
                    &self.data(),
                    self.read_only(),
                ),
                None => fsat::mount_fs(
                    &self.typ,
                    &self.source,
                    target,
                    &self.data(),
                    self.read_only(),
                ),
            },
        }
    }
}

/// Undo [`Mount::mount_at`] (detached, so a busy mount point still goes): the daemon unmounts
/// a container's root file system when it stops.
pub fn unmount(target: &Path) -> Result<()> {
    fsat::unmount(target, true)
}

/// Is `target` a mount point? `None` where the kernel cannot say without mountinfo.
pub fn is_mount_point(target: &Path) -> Option<bool> {
    crate::sys::mount::is_mount_root(target)
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SnapshotInfo {
    pub key: String,
    /// The image the snapshot was made from.
    pub image: Digest,
    /// The ChainID of the image's top layer (None for an image without layers).
    pub parent: Option<Digest>,
    pub mode: SnapshotMode,
    #[serde(default)]
    pub read_only: bool,
    /// The init layer of `parent` lies under the upper directory (snapshots made before it
    /// existed have none).
    #[serde(default)]
    pub init: bool,
}

/// Build the overlay mount for `upper`/`work` over `lowers` (short link names, bottom first)
/// and, above them, the init layer `init` (a path relative to the store root).
pub fn overlay_mount(
    store_root: &Path,
    lowers_bottom_first: &[String],
    init: Option<&Path>,
    upper: &Path,
    work: &Path,
    read_only: bool,
) -> Mount {
    let abs: Vec<String> = init
        .map(|i| store_root.join(i).to_string_lossy().into_owned())
        .into_iter()
        .chain(
            lowers_bottom_first
                .iter()
                .rev()
                .map(|l| store_root.join("l").join(l).to_string_lossy().into_owned()),
        )
        .collect();
    let mut options = vec![
        format!("lowerdir={}", abs.join(":")),
        format!("upperdir={}", upper.display()),
        format!("workdir={}", work.display()),
        "index=off".to_string(),
    ];
    let mut cwd = None;
    if options.join(",").len() >= fsat::page_size() {
        let rel: Vec<String> = init
            .map(|i| i.to_string_lossy().into_owned())
            .into_iter()
            .chain(lowers_bottom_first.iter().rev().map(|l| format!("l/{l}")))
            .collect();
        options[0] = format!("lowerdir={}", rel.join(":"));
        cwd = Some(store_root.to_path_buf());
    }
    if read_only {
        options.push("ro".into());
    }
    Mount {
        typ: "overlay".into(),
        source: "overlay".into(),
        options,
        cwd,
    }
}

/// Can this store use overlayfs? Builds a tiny overlay from directories in `tmp` (detached,
/// never attached to the tree) and checks that the opaque xattr can be set.
pub fn probe_overlay(tmp: &Path) -> bool {
    let base = tmp.join(format!("probe-{}", &crate::base::id::random_hex_id()[..8]));
    let ok = (|| -> Result<()> {
        for d in ["lower", "upper", "work", "merged"] {
            crate::base::fs::mkdir_all(&base.join(d), 0o700)?;
        }
        Dir::open(&base.join("lower"))?.set_xattr(OsStr::new(""), OPAQUE_XATTR, b"y")?;
        fsat::probe_overlay(
            &base.join("lower"),
            &base.join("upper"),
            &base.join("work"),
            &base.join("merged"),
        )
    })();
    if let Err(e) = &ok {
        log::warn!("overlayfs is not usable for the image store, falling back to copies: {e}");
    }
    let _ = std::fs::remove_dir_all(&base);
    ok.is_ok()
}

/// Copy mode: merge layer directories (bottom first, overlay form) into `dest`.
pub fn merge_layers(layer_dirs: &[PathBuf], dest: &Path) -> Result<()> {
    let d = Dir::open(dest)?;
    let mut links: HashMap<(u64, u64), PathBuf> = HashMap::new();
    for l in layer_dirs {
        let src = Dir::open(l)?;
        links.clear();
        copy_tree(&src, &d, &d, Path::new(""), &mut links, false)?;
    }
    Ok(())
}

/// An exact copy of a layer directory in overlay form (whiteouts and opaque markers kept).
pub fn copy_raw(src: &Path, dest: &Path) -> Result<()> {
    let (s, d) = (Dir::open(src)?, Dir::open(dest)?);
    let st = s
        .stat(OsStr::new(""))?
        .ok_or_else(|| Error::not_found(format!("{} vanished", src.display())))?;
    copy_tree(&s, &d, &d, Path::new(""), &mut HashMap::new(), true)?;
    d.chown(OsStr::new(""), st.uid, st.gid)?;
    d.chmod(OsStr::new(""), st.perm())?;
    if let Some(v) = s.get_xattr(OsStr::new(""), OPAQUE_XATTR)? {
        d.set_xattr(OsStr::new(""), OPAQUE_XATTR, &v)?;
    }
    d.set_times(OsStr::new(""), st.atime, st.mtime)
}

fn copy_meta(src: &Dir, dst: &Dir, name: &OsStr, st: &fsat::FileStat, raw: bool) -> Result<()> {
    dst.chown(name, st.uid, st.gid)?;
    if !st.is_symlink() {
        dst.chmod(name, st.perm())?;
    }
    for k in src.list_xattrs(name)? {
        if k.starts_with("trusted.overlay.") && !raw {
            continue;
        }
        if let Some(v) = src.get_xattr(name, &k)? {
            if let Err(e) = dst.set_xattr(name, &k, &v) {
                if !matches!(e.errno(), Some(libc::ENOTSUP) | Some(libc::EPERM)) {
                    return Err(e);
                }
            }
        }
    }
    dst.set_times(name, st.atime, st.mtime)
}

/// Copy one layer directory over `dst`: whiteouts delete, opaque directories are emptied
/// first, hardlinks within the layer stay hardlinks.
fn copy_tree(
    src: &Dir,
    dst: &Dir,
    root: &Dir,
    rel: &Path,
    links: &mut HashMap<(u64, u64), PathBuf>,
    raw: bool,
) -> Result<()> {
    let mut entries = src.entries()?;
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    for e in entries {
        let n = e.name.as_os_str();
        let Some(st) = src.stat(n)? else { continue };
        let existing = dst.stat(n)?;
        if st.is_whiteout() && !raw {
            if existing.is_some() {
                dst.remove_all(n)?;
            }
            continue;
        }
        if st.is_dir() {
            let opaque = !raw && src.get_xattr(n, OPAQUE_XATTR)?.as_deref() == Some(b"y");
            match existing {
                Some(x) if x.is_dir() => {
                    if opaque {
                        let sub = dst.open_subdir(n)?;
                        for c in sub.entries()? {
                            sub.remove_all(&c.name)?;
                        }
                    }
                }
                Some(_) => {
                    dst.remove_all(n)?;
                    dst.mkdir(n, 0o700)?;
                }
                None => dst.mkdir(n, 0o700)?,
            }
            let (s2, d2) = (src.open_subdir(n)?, dst.open_subdir(n)?);
            copy_tree(&s2, &d2, root, &rel.join(n), links, raw)?;
            copy_meta(src, dst, n, &st, raw)?;
            continue;
        }
        if existing.is_some() {
            dst.remove_all(n)?;
        }
        let here = rel.join(n);
        if st.nlink > 1 && !st.is_dir() {
            if let Some(first) = links.get(&(st.dev, st.ino)) {
                let (fp, fname) = (
                    first.parent().unwrap_or(Path::new("")),
                    first.file_name().unwrap_or_default(),
                );
                let fdir = root.open_dir_beneath(fp)?;
                dst.hardlink(&fdir, fname, n)?;
                continue;
            }
            links.insert((st.dev, st.ino), here.clone());
        }
        match st.kind() {
            libc::S_IFREG => {
                let mut from = src.open_file(n)?;
                let mut to = dst.create_file(n, 0o600)?;
                std::io::copy(&mut from, &mut to)
                    .map_err(|e| Error::from(e).context(format!("copy {}", here.display())))?;
            }
            libc::S_IFLNK => dst.symlink(&src.readlink(n)?, n)?,
            libc::S_IFCHR => dst.mknod(n, Node::Char(st.rdev_major, st.rdev_minor), st.perm())?,
            libc::S_IFBLK => dst.mknod(n, Node::Block(st.rdev_major, st.rdev_minor), st.perm())?,
            libc::S_IFIFO => dst.mknod(n, Node::Fifo, st.perm())?,
            _ => continue, // sockets are not part of images
        }
        copy_meta(src, dst, n, &st, raw)?;
    }
    Ok(())
}
