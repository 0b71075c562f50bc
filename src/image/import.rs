//! `docker import`: a root file system tar (plain, gzip or zstd) becomes a one-layer image, its
//! config built from `--change` instructions, as Docker's ImportImage does.

use super::apply::apply_blob;
use super::changes::apply_changes;
use super::load::host_arch;
use super::reference::Reference;
use super::save::go_json;
use super::Store;
use crate::base::Result;
use crate::oci::image::{ContainerConfig, Digest, History, ImageConfig};
use std::collections::BTreeMap;
use std::io::Read;
use std::time::{SystemTime, UNIX_EPOCH};

/// The Docker version berth writes into the configs it makes.
pub const DOCKER_VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "-berth");

#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// `repo[:tag]` to name the image (tag defaults to latest).
    pub reference: Option<Reference>,
    /// The history comment (Docker: `Imported from <src>` unless `--message`).
    pub message: String,
    pub changes: Vec<String>,
}

/// Go's time.Format(RFC3339Nano) of a UTC instant: fraction without trailing zeros.
pub fn go_time(t: SystemTime) -> String {
    let full = crate::base::time::rfc3339_nanos(t);
    let d = t
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    if d == 0 {
        return format!("{}Z", &full[..19]);
    }
    let frac = format!("{d:09}");
    format!("{}.{}Z", &full[..19], frac.trim_end_matches('0'))
}

impl Store {
    /// Import a root file system tar as a new image; returns its ID.
    pub fn import<R: Read>(&self, input: R, opts: &ImportOptions) -> Result<Digest> {
        let mut cfg = ContainerConfig::default();
        apply_changes(&mut cfg, &opts.changes)?;
        let mut st = self.layers.stage()?;
        let applied = match apply_blob(input, &st.diff, Some(&mut st.split)) {
            Ok(a) => a,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&st.path);
                return Err(e);
            }
        };
        let chain = applied.diff_id.clone();
        let prepared = self.layers.prepare(
            st,
            &chain,
            &applied.diff_id,
            None,
            applied.tar_size,
            applied.content_size,
        )?;
        self.layers.sync()?;
        let created = go_time(SystemTime::now());
        // Go's image.Image marshals through a map: top-level keys sorted, values as Go writes them.
        let mut fields: BTreeMap<&str, String> = BTreeMap::new();
        fields.insert("architecture", go_json(&host_arch())?);
        if !opts.message.is_empty() {
            fields.insert("comment", go_json(&opts.message)?);
        }
        fields.insert("config", go_json(&cfg)?);
        fields.insert("container_config", go_json(&ContainerConfig::default())?);
        fields.insert("created", go_json(&created)?);
        fields.insert("docker_version", go_json(&DOCKER_VERSION)?);
        let history = vec![History {
            created: Some(created.clone()),
            comment: opts.message.clone(),
            ..Default::default()
        }];
        fields.insert("history", go_json(&history)?);
        fields.insert("os", go_json(&"linux")?);
        fields.insert(
            "rootfs",
            format!(
                "{{\"type\":\"layers\",\"diff_ids\":[{}]}}",
                go_json(&applied.diff_id.as_str())?
            ),
        );
        let raw = format!(
            "{{{}}}",
            fields
                .iter()
                .map(|(k, v)| format!("\"{k}\":{v}"))
                .collect::<Vec<_>>()
                .join(",")
        );
        let config = ImageConfig::from_json(raw.as_bytes())?;
        let tags: Vec<Reference> = opts.reference.iter().cloned().collect();
        self.commit_image(
            raw.as_bytes(),
            config,
            vec![(chain, Some(prepared))],
            &tags,
            None,
            true,
        )?;
        Ok(Digest::of(raw.as_bytes()))
    }
}
