//! Helpers shared by the tests/image_*.rs files: fixtures, tar builders, tree listings.
#![allow(dead_code)]

use berth::image::tarstream::{Kind, TarReader, TarWriter, WriteHeader};
use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

/// The entries of an (uncompressed) tar as name → bytes.
pub fn tar_entries(data: &[u8]) -> BTreeMap<String, Vec<u8>> {
    let mut r = TarReader::new(data, false);
    let mut out = BTreeMap::new();
    while let Some(h) = r.next_header().unwrap() {
        let mut v = Vec::new();
        let mut buf = vec![0u8; 65536];
        loop {
            let n = r.read_content(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            v.extend_from_slice(&buf[..n]);
        }
        r.finish_entry(false).unwrap();
        out.insert(h.path_lossy(), v);
    }
    out
}

/// The four layer tars of docker-save-small.tar, bottom first (from its manifest.json).
pub fn small_layers() -> Vec<Vec<u8>> {
    let all = tar_entries(&std::fs::read(fixture("docker-save-small.tar")).unwrap());
    let manifest: serde_json::Value = serde_json::from_slice(&all["manifest.json"]).unwrap();
    manifest[0]["Layers"].as_array().unwrap().iter().map(|l| all[l.as_str().unwrap()].clone()).collect()
}

pub const SMALL_DIFF_IDS: [&str; 4] = [
    "sha256:615df381971417291f223fd1a8933314dfb0734d4bec30db95b722557824ad65",
    "sha256:bd4c239716a068807092945f519a5e2546086891e290047fdfe60c5d46cd448b",
    "sha256:1598d2babb0da184ba0e79578af0c92d90b23dca7ca1e28daab1e61ecaff7a29",
    "sha256:720d3886b2c0501a7b0ad153cdc9bf9f72b8f3417e2cfd589b09416aea72af8e",
];
pub const SMALL_ID: &str = "sha256:9f27a38a616979eaf28207c2d2670a9c3980941c75965700f081635a10c2706c";
pub const SKOPEO_ID: &str = "sha256:08c104fee44d40f4b3b1fa540b937d7518c8cf0848ee92e3972da01c3a27423d";

/// A tar builder for hostile and ordinary layers.
pub struct TarBuilder {
    w: TarWriter<Vec<u8>>,
}

impl TarBuilder {
    pub fn new() -> Self {
        TarBuilder { w: TarWriter::new(Vec::new()) }
    }
    pub fn dir(mut self, path: &str, mode: u32) -> Self {
        self.w.header(&WriteHeader { path, kind: Kind::Dir, mode, size: 0, mtime: 1_600_000_000, link: "" }).unwrap();
        self
    }
    pub fn file(mut self, path: &str, data: &[u8], mode: u32) -> Self {
        self.w.header(&WriteHeader { path, kind: Kind::File, mode, size: data.len() as u64, mtime: 1_600_000_000, link: "" }).unwrap();
        self.w.content(data, data.len() as u64).unwrap();
        self
    }
    pub fn symlink(mut self, path: &str, target: &str) -> Self {
        self.w.header(&WriteHeader { path, kind: Kind::Symlink, mode: 0o777, size: 0, mtime: 1_600_000_000, link: target }).unwrap();
        self
    }
    pub fn hardlink(mut self, path: &str, target: &str) -> Self {
        self.w.header(&WriteHeader { path, kind: Kind::HardLink, mode: 0o644, size: 0, mtime: 1_600_000_000, link: target }).unwrap();
        self
    }
    pub fn node(mut self, path: &str, kind: Kind, mode: u32) -> Self {
        self.w.header(&WriteHeader { path, kind, mode, size: 0, mtime: 1_600_000_000, link: "" }).unwrap();
        self
    }
    /// A regular file preceded by a PAX header carrying `records` (e.g. SCHILY.xattr.*).
    pub fn file_with_pax(mut self, path: &str, data: &[u8], records: &[(&str, &[u8])]) -> Self {
        let mut pax = Vec::new();
        for (k, v) in records {
            let base = k.len() + v.len() + 3;
            let mut len = base + 1;
            while len != base + len.to_string().len() {
                len = base + len.to_string().len();
            }
            pax.extend_from_slice(format!("{len} {k}=").as_bytes());
            pax.extend_from_slice(v);
            pax.push(b'\n');
        }
        self.w.header(&WriteHeader { path: "PaxHeaders/x", kind: Kind::Other(b'x'), mode: 0o644, size: pax.len() as u64, mtime: 0, link: "" }).unwrap();
        self.w.content(&pax[..], pax.len() as u64).unwrap();
        self.file(path, data, 0o644)
    }
    pub fn build(mut self) -> Vec<u8> {
        self.w.finish().unwrap();
        self.w.out
    }
}

/// A listing of a tree: relative path → "kind mode uid:gid [size|target|dev]".
pub fn listing(root: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
        entries.sort();
        for p in entries {
            let m = std::fs::symlink_metadata(&p).unwrap();
            let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
            let ft = m.file_type();
            let desc = if ft.is_dir() {
                format!("dir {:o} {}:{}", m.mode() & 0o7777, m.uid(), m.gid())
            } else if ft.is_symlink() {
                format!("link -> {}", std::fs::read_link(&p).unwrap().display())
            } else if ft.is_file() {
                format!("file {:o} {}:{} {}", m.mode() & 0o7777, m.uid(), m.gid(), m.size())
            } else {
                format!("node {:o} {}:{} rdev={}", m.mode(), m.uid(), m.gid(), m.rdev())
            };
            out.insert(rel, desc);
            if ft.is_dir() {
                walk(root, &p, out);
            }
        }
    }
    walk(root, root, &mut out);
    out
}

pub fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

pub fn zstd(data: &[u8]) -> Vec<u8> {
    zstd::stream::encode_all(data, 3).unwrap()
}
