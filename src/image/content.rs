//! Content store: blobs (image configs, manifests) by sha256 under `content/sha256/<hex>`.
//!
//! A blob is written to a temp file in the store's `tmp/`, fsynced, checked against its digest,
//! renamed into place and the directory fsynced: a blob name is visible only when the whole,
//! verified content is on disk. Reads verify again (Docker's image store does the same).

use super::compress::HashWriter;
use crate::base::error::Context;
use crate::base::{Error, Result};
use crate::oci::image::Digest;
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

pub struct ContentStore {
    dir: PathBuf,
    tmp: PathBuf,
}

impl ContentStore {
    pub fn open(root: &Path, tmp: &Path) -> Result<ContentStore> {
        let dir = root.join("content/sha256");
        crate::base::fs::mkdir_all(&dir, 0o700)?;
        Ok(ContentStore {
            dir,
            tmp: tmp.to_path_buf(),
        })
    }

    pub fn path(&self, d: &Digest) -> PathBuf {
        self.dir.join(d.hex())
    }

    pub fn exists(&self, d: &Digest) -> bool {
        self.path(d).is_file()
    }

    /// Store `data`; if `expected` is given the content must match it.
    pub fn put(&self, data: &[u8], expected: Option<&Digest>) -> Result<Digest> {
        let d = Digest::of(data);
        if let Some(e) = expected {
            if *e != d {
                return Err(Error::invalid(format!(
                    "failed to verify content: expected {e}, got {d}"
                )));
            }
        }
        if self.exists(&d) {
            return Ok(d);
        }
        self.put_stream(data, &d)?;
        Ok(d)
    }

    /// Stream a blob of known digest into the store (verified before it becomes visible).
    pub fn put_stream<R: Read>(&self, mut r: R, expected: &Digest) -> Result<u64> {
        let tmp = self.tmp.join(format!(
            "blob-{}-{}",
            expected.short(),
            crate::base::id::random_hex_id()
        ));
        let res = (|| -> Result<u64> {
            let f = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&tmp)
                .ctx(|| format!("create {}", tmp.display()))?;
            let mut w = HashWriter::new(f);
            let n = std::io::copy(&mut r, &mut w).ctx(|| format!("write blob {expected}"))?;
            let got = w.digest();
            if got != *expected {
                return Err(Error::invalid(format!(
                    "failed to verify content: expected {expected}, got {got}"
                )));
            }
            w.inner
                .sync_all()
                .ctx(|| format!("fsync {}", tmp.display()))?;
            fs::rename(&tmp, self.path(expected))
                .ctx(|| format!("rename blob {expected} into place"))?;
            Ok(n)
        })();
        if res.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        let n = res?;
        crate::base::fs::sync_dir(&self.dir)?;
        Ok(n)
    }

    /// The blob's bytes, verified against its digest.
    pub fn read(&self, d: &Digest) -> Result<Vec<u8>> {
        let p = self.path(d);
        let data = fs::read(&p).map_err(|e| Error::from(e).context(format!("read blob {d}")))?;
        let got = Digest::of(&data);
        if got != *d {
            return Err(Error::internal(format!(
                "failed to verify {d}: content has digest {got}"
            )));
        }
        Ok(data)
    }

    pub fn open_blob(&self, d: &Digest) -> Result<File> {
        File::open(self.path(d)).ctx(|| format!("open blob {d}"))
    }

    pub fn size(&self, d: &Digest) -> Result<u64> {
        Ok(fs::metadata(self.path(d))
            .ctx(|| format!("stat blob {d}"))?
            .len())
    }

    /// Remove a blob (missing is fine); durable once this returns.
    pub fn delete(&self, d: &Digest) -> Result<()> {
        match fs::remove_file(self.path(d)) {
            Ok(()) => crate::base::fs::sync_dir(&self.dir),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::from(e).context(format!("remove blob {d}"))),
        }
    }

    /// Every blob present (names that are not digests are reported separately as junk).
    pub fn list(&self) -> Result<(Vec<Digest>, Vec<PathBuf>)> {
        let mut good = Vec::new();
        let mut junk = Vec::new();
        for e in fs::read_dir(&self.dir).ctx(|| format!("read {}", self.dir.display()))? {
            let e = e?;
            match e
                .file_name()
                .to_str()
                .and_then(|n| Digest::from_hex(n).ok())
            {
                Some(d) => good.push(d),
                None => junk.push(e.path()),
            }
        }
        Ok((good, junk))
    }
}

/// Write `data` into a new file and fsync it (inside a staging directory).
pub fn write_synced(path: &Path, data: &[u8]) -> Result<()> {
    let mut f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .ctx(|| format!("create {}", path.display()))?;
    f.write_all(data)
        .ctx(|| format!("write {}", path.display()))?;
    f.sync_all().ctx(|| format!("fsync {}", path.display()))
}
