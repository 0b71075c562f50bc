//! Distribution metadata: which registry blobs hold a layer (diff ID → compressed blob digest,
//! media type, size, registry and repository), learned from pulls and pushes. Push uses it to
//! skip uploads (`HEAD` says the blob is there), to mount blobs across repositories, and to
//! keep the blob digests a pulled image had, so the pushed manifest keeps its digest.
//!
//! A cache, not a source of truth: one JSON file rewritten atomically; unreadable means empty.

use crate::base::Result;
use crate::oci::image::Digest;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

const VERSION: u32 = 1;
/// Sources kept per layer (the newest first).
const PER_LAYER: usize = 16;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlobSource {
    pub digest: Digest,
    pub media_type: String,
    pub size: i64,
    /// The registry as references name it (`localhost:5000`).
    pub registry: String,
    /// The repository path in it (`team/app`).
    pub repository: String,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct File {
    version: u32,
    #[serde(default)]
    layers: BTreeMap<Digest, Vec<BlobSource>>,
}

#[derive(Debug)]
pub struct Metadata {
    path: PathBuf,
    data: Mutex<File>,
}

impl Metadata {
    pub fn open(path: &Path) -> Metadata {
        let data = std::fs::read(path)
            .ok()
            .and_then(|b| serde_json::from_slice::<File>(&b).ok())
            .filter(|f| f.version == VERSION)
            .unwrap_or(File {
                version: VERSION,
                layers: BTreeMap::new(),
            });
        Metadata {
            path: path.to_path_buf(),
            data: Mutex::new(data),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, File> {
        match self.data.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// What is known for a layer, newest first.
    pub fn sources(&self, diff_id: &Digest) -> Vec<BlobSource> {
        self.lock().layers.get(diff_id).cloned().unwrap_or_default()
    }

    /// Remember blobs (diff ID, source) and write the file once.
    pub fn add(&self, entries: Vec<(Digest, BlobSource)>) -> Result<()> {
        if entries.is_empty() {
            return Ok(());
        }
        let mut f = self.lock();
        for (diff, src) in entries {
            let v = f.layers.entry(diff).or_default();
            v.retain(|s| {
                !(s.digest == src.digest
                    && s.registry == src.registry
                    && s.repository == src.repository)
            });
            v.insert(0, src);
            v.truncate(PER_LAYER);
        }
        if let Some(dir) = self.path.parent() {
            crate::base::fs::mkdir_all(dir, 0o700)?;
        }
        crate::base::fs::write_atomic(&self.path, &serde_json::to_vec(&*f)?, 0o600)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_and_persists() {
        let dir = std::env::temp_dir().join(format!("berth-meta-{}", std::process::id()));
        let p = dir.join("distribution.json");
        let m = Metadata::open(&p);
        let diff = Digest::of(b"diff");
        let src = |repo: &str| BlobSource {
            digest: Digest::of(b"blob"),
            media_type: "m".into(),
            size: 4,
            registry: "localhost:5000".into(),
            repository: repo.into(),
        };
        m.add(vec![
            (diff.clone(), src("a")),
            (diff.clone(), src("b")),
            (diff.clone(), src("a")),
        ])
        .unwrap();
        assert_eq!(
            m.sources(&diff)
                .iter()
                .map(|s| s.repository.as_str())
                .collect::<Vec<_>>(),
            ["a", "b"]
        );
        assert_eq!(Metadata::open(&p).sources(&diff).len(), 2);
        std::fs::write(&p, b"junk").unwrap();
        assert!(Metadata::open(&p).sources(&diff).is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
