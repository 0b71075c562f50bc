//! Layer store: one directory per ChainID, holding the layer extracted once in overlay form.
//!
//! ```text
//! layers/<chain-hex>/layer.json     LayerInfo (diff id, parent chain, sizes, short link)
//! layers/<chain-hex>/diff/          the layer's files (whiteouts as 0/0 devices, opaque xattrs)
//! layers/<chain-hex>/tar-split.zst  what rebuilds the layer's exact tar (see tarsplit.rs)
//! layers/<chain-hex>/init/          the init layer of containers of images topped by this layer
//!                                   (made on first use, see INIT_LAYER; goes with the layer)
//! l/<link>                          -> ../layers/<chain-hex>/diff (short overlay lowerdir names)
//! ```
//!
//! A layer is built in `tmp/`, synced (syncfs), and renamed into `layers/` with
//! RENAME_NOREPLACE: the rename is the commit point, so a layer directory is either whole or
//! absent. Removal renames it back into `tmp/` first.

use super::tarsplit::SplitBuilder;
use crate::base::error::Context;
use crate::base::{Error, Result};
use crate::oci::image::Digest;
use crate::sys::fsat::Dir;
use serde::{Deserialize, Serialize};
use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LayerInfo {
    pub chain_id: Digest,
    pub diff_id: Digest,
    #[serde(default)]
    pub parent: Option<Digest>,
    /// Bytes of the uncompressed tar.
    pub tar_size: u64,
    /// Docker's DiffSize: file contents and symlink targets, hardlinks counted once.
    pub size: u64,
    /// Name of the short link in `l/`.
    pub link: String,
}

/// A layer written in `tmp/` and named, waiting for `publish`.
pub struct Prepared {
    pub path: PathBuf,
    pub info: LayerInfo,
}

/// A layer being built in `tmp/`.
pub struct Staging {
    pub path: PathBuf,
    pub diff: Dir,
    pub split: SplitBuilder,
}

pub struct LayerStore {
    layers: PathBuf,
    links: PathBuf,
    tmp: PathBuf,
}

const LINK_LEN: usize = 10;

/// One entry of the init layer.
pub enum InitEntry {
    Dir,
    File,
    Symlink(&'static str),
}

/// The init layer: what every container's runtime would otherwise create in its fresh upper
/// directory (mount points of /proc, /sys, /dev and of the /etc files the daemon binds), plus
/// Docker's `/.dockerenv` and `/etc/mtab`. It lies between the image's layers and the
/// container's upper directory, made once per top layer and shared read-only, so `run` allocates
/// no inodes (and copies up no /etc) for them; `diff` and `commit` never see them, as in Docker.
pub const INIT_LAYER: &[(&str, InitEntry)] = &[
    (".dockerenv", InitEntry::File),
    ("proc", InitEntry::Dir),
    ("sys", InitEntry::Dir),
    ("dev", InitEntry::Dir),
    ("etc", InitEntry::Dir),
    ("etc/hostname", InitEntry::File),
    ("etc/hosts", InitEntry::File),
    ("etc/resolv.conf", InitEntry::File),
    ("etc/mtab", InitEntry::Symlink("/proc/mounts")),
];

fn short_link() -> String {
    // Base-32-ish (A-Z, 2-7) from random bytes: 10 characters, 50 bits.
    const ALPHA: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let hex = crate::base::id::random_hex_id();
    hex.as_bytes()
        .chunks(2)
        .take(LINK_LEN)
        .map(|c| {
            ALPHA[(u8::from_str_radix(std::str::from_utf8(c).unwrap_or("0"), 16).unwrap_or(0) & 31)
                as usize] as char
        })
        .collect()
}

impl LayerStore {
    pub fn open(root: &Path, tmp: &Path) -> Result<LayerStore> {
        let layers = root.join("layers");
        let links = root.join("l");
        crate::base::fs::mkdir_all(&layers, 0o700)?;
        crate::base::fs::mkdir_all(&links, 0o700)?;
        Ok(LayerStore {
            layers,
            links,
            tmp: tmp.to_path_buf(),
        })
    }

    pub fn dir(&self, chain: &Digest) -> PathBuf {
        self.layers.join(chain.hex())
    }

    pub fn diff_dir(&self, chain: &Digest) -> PathBuf {
        self.dir(chain).join("diff")
    }

    /// The init layer of containers whose image's top layer is `chain` (see [`INIT_LAYER`]).
    pub fn init_dir(&self, chain: &Digest) -> PathBuf {
        self.dir(chain).join("init")
    }

    /// Make the init layer of `chain` if it is not there yet: staged in tmp/, made durable, then
    /// renamed into the layer's directory (so it goes with the layer). Concurrent callers may
    /// both stage one; the first rename wins and the other is dropped.
    pub fn ensure_init(&self, chain: &Digest) -> Result<PathBuf> {
        let dest = self.init_dir(chain);
        if dest.is_dir() {
            return Ok(dest);
        }
        let stage = self
            .tmp
            .join(format!("init-{}", &crate::base::id::random_hex_id()[..16]));
        let made = (|| -> Result<()> {
            let mut dirs = vec![stage.clone()];
            fs::create_dir(&stage)?;
            for (path, kind) in INIT_LAYER {
                let p = stage.join(path);
                match kind {
                    InitEntry::Dir => {
                        fs::create_dir(&p)?;
                        dirs.push(p.clone());
                    }
                    InitEntry::File => {
                        fs::File::create(&p)?.sync_all()?;
                    }
                    InitEntry::Symlink(target) => std::os::unix::fs::symlink(target, &p)?,
                }
                // Whatever the umask: directories and files 0755/0644 as Docker makes them.
                if !matches!(kind, InitEntry::Symlink(_)) {
                    let mode = if matches!(kind, InitEntry::Dir) || *path == ".dockerenv" {
                        0o755
                    } else {
                        0o644
                    };
                    fs::set_permissions(&p, std::os::unix::fs::PermissionsExt::from_mode(mode))?;
                }
            }
            fs::set_permissions(&stage, std::os::unix::fs::PermissionsExt::from_mode(0o755))?;
            for d in dirs.iter().rev() {
                crate::base::fs::sync_dir(d)?;
            }
            Ok(())
        })()
        .ctx(|| format!("make the init layer {}", stage.display()));
        if let Err(e) = made {
            let _ = remove_tree(&stage);
            return Err(e);
        }
        match fs::rename(&stage, &dest) {
            Ok(()) => crate::base::fs::sync_dir(&self.dir(chain))?,
            // Another create made it first (ENOTEMPTY/EEXIST); the layer went away (ENOENT).
            Err(e) => {
                let _ = remove_tree(&stage);
                if !dest.is_dir() {
                    return Err(Error::from(e).context(format!("publish {}", dest.display())));
                }
            }
        }
        Ok(dest)
    }

    pub fn split_path(&self, chain: &Digest) -> PathBuf {
        self.dir(chain).join("tar-split.zst")
    }

    pub fn links_dir(&self) -> &Path {
        &self.links
    }

    pub fn exists(&self, chain: &Digest) -> bool {
        self.dir(chain).join("layer.json").is_file()
    }

    /// A fresh staging directory with an empty `diff/`.
    pub fn stage(&self) -> Result<Staging> {
        let path = self
            .tmp
            .join(format!("layer-{}", crate::base::id::random_hex_id()));
        crate::base::fs::mkdir_all(&path.join("diff"), 0o755)?;
        fs::set_permissions(
            path.join("diff"),
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .ctx(|| format!("chmod {}", path.display()))?;
        let diff = Dir::open(&path.join("diff"))?;
        Ok(Staging {
            path,
            diff,
            split: SplitBuilder::default(),
        })
    }

    /// Write what a staged layer needs besides its files (tar-split, layer.json, short link)
    /// as layer `chain`. Not durable until `sync`, not visible until `publish`.
    pub fn prepare(
        &self,
        st: Staging,
        chain: &Digest,
        diff_id: &Digest,
        parent: Option<&Digest>,
        tar_size: u64,
        size: u64,
    ) -> Result<Prepared> {
        let ctx = || format!("prepare layer {chain}");
        let split_file = fs::File::create(st.path.join("tar-split.zst")).ctx(ctx)?;
        st.split
            .write_to(split_file)
            .map_err(|e| e.context(ctx()))?;
        drop(st.diff);
        self.finish_prepare(st.path, chain, diff_id, parent, tar_size, size)
    }

    fn finish_prepare(
        &self,
        path: PathBuf,
        chain: &Digest,
        diff_id: &Digest,
        parent: Option<&Digest>,
        tar_size: u64,
        size: u64,
    ) -> Result<Prepared> {
        let target = Path::new("../layers").join(chain.hex()).join("diff");
        let link = loop {
            let l = short_link();
            match std::os::unix::fs::symlink(&target, self.links.join(&l)) {
                Ok(()) => break l,
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(Error::from(e).context(format!("create link l/{l}"))),
            }
        };
        let info = LayerInfo {
            chain_id: chain.clone(),
            diff_id: diff_id.clone(),
            parent: parent.cloned(),
            tar_size,
            size,
            link,
        };
        fs::write(path.join("layer.json"), serde_json::to_vec(&info)?)
            .ctx(|| format!("write layer.json of {chain}"))?;
        Ok(Prepared { path, info })
    }

    /// A second prepared layer with the same files as `from` (the same blob used at another
    /// place in a layer stack, e.g. an empty layer).
    pub fn prepare_copy(
        &self,
        from: &Prepared,
        chain: &Digest,
        parent: Option<&Digest>,
    ) -> Result<Prepared> {
        let path = self
            .tmp
            .join(format!("layer-{}", crate::base::id::random_hex_id()));
        crate::base::fs::mkdir_all(&path.join("diff"), 0o755)?;
        let res = (|| -> Result<Prepared> {
            super::snapshot::copy_raw(&from.path.join("diff"), &path.join("diff"))?;
            fs::copy(from.path.join("tar-split.zst"), path.join("tar-split.zst"))
                .ctx(|| format!("copy tar-split of {}", from.info.chain_id))?;
            self.finish_prepare(
                path.clone(),
                chain,
                &from.info.diff_id,
                parent,
                from.info.tar_size,
                from.info.size,
            )
        })();
        if res.is_err() {
            let _ = fs::remove_dir_all(&path);
        }
        res
    }

    /// Make everything written so far durable: one syncfs covers all extracted files,
    /// tar-splits and layer.json files (far cheaper than an fsync per file).
    pub fn sync(&self) -> Result<()> {
        Dir::open(&self.tmp)?.sync_filesystem()
    }

    /// Publish a prepared (and synced) layer: the rename into `layers/` is the commit point.
    /// When the layer already exists, the prepared copy is dropped and the existing one returned.
    pub fn publish(&self, p: Prepared) -> Result<LayerInfo> {
        let chain = p.info.chain_id.clone();
        let tmpd = Dir::open(&self.tmp)?;
        let layersd = Dir::open(&self.layers)?;
        let name = p.path.file_name().unwrap_or(OsStr::new("")).to_os_string();
        match tmpd.rename(&name, &layersd, OsStr::new(chain.hex()), true) {
            Ok(()) => {}
            Err(e) if matches!(e.errno(), Some(libc::EEXIST) | Some(libc::ENOTEMPTY)) => {
                self.discard(p);
                return self
                    .read(&chain)?
                    .ok_or_else(|| Error::internal(format!("layer {chain} vanished")));
            }
            Err(e) => return Err(e.context(format!("publish layer {chain}"))),
        }
        layersd.sync()?;
        Dir::open(&self.links)?.sync()?;
        Ok(p.info)
    }

    pub fn discard(&self, p: Prepared) {
        let _ = fs::remove_file(self.links.join(&p.info.link));
        let _ = fs::remove_dir_all(&p.path);
    }

    /// prepare + sync + publish, for a single layer (import).
    pub fn commit(
        &self,
        st: Staging,
        chain: &Digest,
        diff_id: &Digest,
        parent: Option<&Digest>,
        tar_size: u64,
        size: u64,
    ) -> Result<LayerInfo> {
        let p = self.prepare(st, chain, diff_id, parent, tar_size, size)?;
        self.sync()?;
        self.publish(p)
    }

    /// The stored info of a layer (None when absent).
    pub fn read(&self, chain: &Digest) -> Result<Option<LayerInfo>> {
        let p = self.dir(chain).join("layer.json");
        match fs::read(&p) {
            Ok(b) => Ok(Some(serde_json::from_slice(&b).map_err(|e| {
                Error::internal(format!("corrupt {}: {e}", p.display()))
            })?)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::from(e).context(format!("read {}", p.display()))),
        }
    }

    /// Every committed layer, plus directories in `layers/` that are not valid layers.
    pub fn read_all(&self) -> Result<(Vec<LayerInfo>, Vec<PathBuf>)> {
        let mut good = Vec::new();
        let mut junk = Vec::new();
        for e in fs::read_dir(&self.layers).ctx(|| format!("read {}", self.layers.display()))? {
            let e = e?;
            let Some(chain) = e
                .file_name()
                .to_str()
                .and_then(|n| Digest::from_hex(n).ok())
            else {
                junk.push(e.path());
                continue;
            };
            match self.read(&chain) {
                Ok(Some(info))
                    if info.chain_id == chain
                        && e.path().join("diff").is_dir()
                        && self.split_path(&chain).is_file() =>
                {
                    good.push(info)
                }
                _ => junk.push(e.path()),
            }
        }
        Ok((good, junk))
    }

    /// Remove a layer: renamed out of `layers/` (the commit point), then deleted.
    pub fn remove(&self, info: &LayerInfo) -> Result<()> {
        let tmpd = Dir::open(&self.tmp)?;
        let layersd = Dir::open(&self.layers)?;
        let trash = format!(
            "trash-{}-{}",
            info.chain_id.short(),
            &crate::base::id::random_hex_id()[..8]
        );
        match layersd.rename(
            OsStr::new(info.chain_id.hex()),
            &tmpd,
            OsStr::new(&trash),
            true,
        ) {
            Ok(()) => {}
            Err(e) if e.errno() == Some(libc::ENOENT) => return Ok(()),
            Err(e) => return Err(e.context(format!("remove layer {}", info.chain_id))),
        }
        layersd.sync()?;
        let _ = fs::remove_file(self.links.join(&info.link));
        remove_tree(&self.tmp.join(&trash))
    }

    /// Remove links in `l/` that point at no layer.
    pub fn clean_links(&self) -> Result<usize> {
        let mut n = 0;
        for e in fs::read_dir(&self.links).ctx(|| format!("read {}", self.links.display()))? {
            let e = e?;
            if fs::metadata(e.path()).is_err() {
                let _ = fs::remove_file(e.path());
                n += 1;
            }
        }
        Ok(n)
    }

    /// Links in `l/` that do not resolve (for fsck).
    pub fn dangling_links(&self) -> Result<Vec<String>> {
        let mut out = Vec::new();
        for e in fs::read_dir(&self.links).ctx(|| format!("read {}", self.links.display()))? {
            let e = e?;
            if fs::metadata(e.path()).is_err() {
                out.push(e.file_name().to_string_lossy().into_owned());
            }
        }
        Ok(out)
    }
}

/// Delete a tree without following symlinks (std's remove_dir_all is symlink-safe).
pub fn remove_tree(p: &Path) -> Result<()> {
    match fs::remove_dir_all(p) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::from(e).context(format!("remove {}", p.display()))),
    }
}
