//! `docker commit`: a container's changes (the upper directory of its overlay snapshot) become
//! a new layer on top of its image, with the container's configuration as the new image's.
//!
//! The upper directory is turned into a Docker layer tar (overlay whiteouts → `.wh.NAME`,
//! opaque directories → `.wh..wh..opq`), then applied like any loaded layer, so the new layer
//! has its tar-split and digest like the others.

use super::apply::{apply_blob, OPAQUE_XATTR};
use super::import::{go_time, DOCKER_VERSION};
use super::reference::Reference;
use super::store::no_such_image;
use super::Store;
use crate::base::error::Context;
use crate::base::{Error, Result};
use crate::oci::image::{chain_id, ContainerConfig, Digest, ImageConfig};
use crate::sys::fsat::Dir;
use std::ffi::OsStr;
use std::io::Write;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;
use std::time::SystemTime;

#[derive(Debug, Clone)]
pub struct CommitOptions {
    /// The image the container was made from (its ID).
    pub parent: Digest,
    /// The container's configuration, the new image's `config`.
    pub config: ContainerConfig,
    pub container_id: String,
    pub author: String,
    pub comment: String,
    /// The history line: the container's command.
    pub created_by: String,
    pub reference: Option<Reference>,
    /// Paths (relative to the root) the runtime created as mount points: left out.
    pub exclude: Vec<String>,
}

/// Write the overlay-form directory `upper` as a Docker layer tar into `out`.
pub fn layer_tar(upper: &Path, exclude: &[String], out: impl Write) -> Result<()> {
    let mut b = tar::Builder::new(out);
    b.follow_symlinks(false);
    let mut stack = vec![std::path::PathBuf::new()];
    let mut inodes: std::collections::HashMap<(u64, u64), std::path::PathBuf> =
        std::collections::HashMap::new();
    while let Some(rel) = stack.pop() {
        let dir = upper.join(&rel);
        let mut entries: Vec<_> = std::fs::read_dir(&dir)
            .ctx(|| format!("read {}", dir.display()))?
            .flatten()
            .collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let r = rel.join(e.file_name());
            if exclude
                .iter()
                .any(|x| Path::new(x.trim_start_matches('/')) == r)
            {
                continue;
            }
            let full = upper.join(&r);
            let m = std::fs::symlink_metadata(&full).ctx(|| format!("stat {}", full.display()))?;
            let ft = m.file_type();
            if ft.is_char_device() && m.rdev() == 0 {
                let name = r
                    .parent()
                    .unwrap_or(Path::new(""))
                    .join(format!(".wh.{}", e.file_name().to_string_lossy()));
                let mut h = tar::Header::new_gnu();
                h.set_entry_type(tar::EntryType::Regular);
                h.set_size(0);
                h.set_mode(0o644);
                h.set_mtime(m.mtime().max(0) as u64);
                b.append_data(&mut h, &name, std::io::empty())
                    .ctx(|| format!("tar {}", name.display()))?;
                continue;
            }
            if m.nlink() > 1 && !ft.is_dir() {
                if let Some(first) = inodes.get(&(m.dev(), m.ino())) {
                    let mut h = tar::Header::new_gnu();
                    h.set_metadata(&m);
                    h.set_entry_type(tar::EntryType::Link);
                    h.set_size(0);
                    b.append_link(&mut h, &r, first)
                        .ctx(|| format!("tar {}", r.display()))?;
                    continue;
                }
                inodes.insert((m.dev(), m.ino()), r.clone());
            }
            b.append_path_with_name(&full, &r)
                .ctx(|| format!("tar {}", r.display()))?;
            if ft.is_dir() {
                let opaque = Dir::open(&full)
                    .and_then(|d| d.get_xattr(OsStr::new(""), OPAQUE_XATTR))
                    .ok()
                    .flatten();
                if opaque.as_deref() == Some(b"y") {
                    let mut h = tar::Header::new_gnu();
                    h.set_entry_type(tar::EntryType::Regular);
                    h.set_size(0);
                    h.set_mode(0o644);
                    b.append_data(&mut h, r.join(".wh..wh..opq"), std::io::empty())
                        .ctx(|| format!("tar {}", r.display()))?;
                }
                stack.push(r);
            }
        }
    }
    b.finish().ctx(|| "finish the layer tar")
}

impl Store {
    /// Make an image of `upper` on top of `opts.parent`; returns the new image's ID.
    pub fn commit_container(&self, upper: &Path, opts: &CommitOptions) -> Result<Digest> {
        let parent = self
            .image(&opts.parent)
            .ok_or_else(|| no_such_image(opts.parent.as_str()))?;
        let parent_raw = self.config_bytes(&opts.parent)?;
        // The layer tar, staged in the store's scratch space, then applied as loads are.
        let tmp = self.tmp.join(format!(
            "commit-{}.tar",
            &crate::base::id::random_hex_id()[..16]
        ));
        let res = (|| -> Result<Digest> {
            let f = std::fs::File::create(&tmp).ctx(|| format!("create {}", tmp.display()))?;
            let mut w = std::io::BufWriter::new(f);
            layer_tar(upper, &opts.exclude, &mut w)?;
            w.flush().ctx(|| format!("write {}", tmp.display()))?;
            drop(w);
            let mut st = self.layers.stage()?;
            let input = std::fs::File::open(&tmp).ctx(|| format!("open {}", tmp.display()))?;
            let applied = match apply_blob(input, &st.diff, Some(&mut st.split)) {
                Ok(a) => a,
                Err(e) => {
                    let _ = std::fs::remove_dir_all(&st.path);
                    return Err(e);
                }
            };
            let mut diff_ids: Vec<Digest> = parent.config.diff_ids().to_vec();
            diff_ids.push(applied.diff_id.clone());
            let chain = chain_id(&diff_ids).ok_or_else(|| Error::internal("empty layer chain"))?;
            let parent_chain = parent.top_chain().cloned();
            let prepared = self.layers.prepare(
                st,
                &chain,
                &applied.diff_id,
                parent_chain.as_ref(),
                applied.tar_size,
                applied.content_size,
            )?;
            self.layers.sync()?;

            // The parent's config with the container's on top (Docker's commit keeps the rest).
            let mut v: serde_json::Value =
                serde_json::from_slice(&parent_raw).ctx(|| "parse the parent image config")?;
            let created = go_time(SystemTime::now());
            let obj = v
                .as_object_mut()
                .ok_or_else(|| Error::invalid("parent image config is not an object"))?;
            obj.insert("config".into(), serde_json::to_value(&opts.config)?);
            obj.insert(
                "container_config".into(),
                serde_json::to_value(&opts.config)?,
            );
            obj.insert("container".into(), opts.container_id.clone().into());
            obj.insert("created".into(), created.clone().into());
            obj.insert("docker_version".into(), DOCKER_VERSION.into());
            obj.insert("parent".into(), opts.parent.as_str().into());
            if opts.author.is_empty() {
                obj.remove("author");
            } else {
                obj.insert("author".into(), opts.author.clone().into());
            }
            if opts.comment.is_empty() {
                obj.remove("comment");
            } else {
                obj.insert("comment".into(), opts.comment.clone().into());
            }
            let mut history = obj
                .get("history")
                .and_then(|h| h.as_array())
                .cloned()
                .unwrap_or_default();
            let mut h = serde_json::Map::new();
            h.insert("created".into(), created.into());
            if !opts.author.is_empty() {
                h.insert("author".into(), opts.author.clone().into());
            }
            h.insert("created_by".into(), opts.created_by.clone().into());
            if !opts.comment.is_empty() {
                h.insert("comment".into(), opts.comment.clone().into());
            }
            history.push(serde_json::Value::Object(h));
            obj.insert("history".into(), history.into());
            obj.insert(
                "rootfs".into(),
                serde_json::json!({ "type": "layers", "diff_ids": diff_ids.iter().map(|d| d.as_str().to_string()).collect::<Vec<_>>() }),
            );
            let raw = serde_json::to_vec(&v)?;
            let config = ImageConfig::from_json(&raw)?;
            let mut layers: Vec<(Digest, Option<super::layers::Prepared>)> =
                parent.chain.iter().map(|c| (c.clone(), None)).collect();
            layers.push((chain, Some(prepared)));
            let tags: Vec<Reference> = opts.reference.iter().cloned().collect();
            self.commit_image(&raw, config, layers, &tags, Some(opts.parent.clone()), true)?;
            Ok(Digest::of(&raw))
        })();
        let _ = std::fs::remove_file(&tmp);
        res
    }
}
