//! Helpers shared by the tests/image_*.rs files: fixtures, tar builders, tree listings.
#![allow(dead_code)]

pub mod daemon;

use berth::image::tarstream::{Kind, TarReader, TarWriter, WriteHeader};
use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
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
    manifest[0]["Layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| all[l.as_str().unwrap()].clone())
        .collect()
}

pub const SMALL_DIFF_IDS: [&str; 4] = [
    "sha256:615df381971417291f223fd1a8933314dfb0734d4bec30db95b722557824ad65",
    "sha256:bd4c239716a068807092945f519a5e2546086891e290047fdfe60c5d46cd448b",
    "sha256:1598d2babb0da184ba0e79578af0c92d90b23dca7ca1e28daab1e61ecaff7a29",
    "sha256:720d3886b2c0501a7b0ad153cdc9bf9f72b8f3417e2cfd589b09416aea72af8e",
];
pub const SMALL_ID: &str =
    "sha256:9f27a38a616979eaf28207c2d2670a9c3980941c75965700f081635a10c2706c";
pub const SKOPEO_ID: &str =
    "sha256:08c104fee44d40f4b3b1fa540b937d7518c8cf0848ee92e3972da01c3a27423d";

/// A tar builder for hostile and ordinary layers.
pub struct TarBuilder {
    w: TarWriter<Vec<u8>>,
}

impl TarBuilder {
    pub fn new() -> Self {
        TarBuilder {
            w: TarWriter::new(Vec::new()),
        }
    }
    pub fn dir(mut self, path: &str, mode: u32) -> Self {
        self.w
            .header(&WriteHeader {
                path,
                kind: Kind::Dir,
                mode,
                size: 0,
                mtime: 1_600_000_000,
                link: "",
            })
            .unwrap();
        self
    }
    pub fn file(mut self, path: &str, data: &[u8], mode: u32) -> Self {
        self.w
            .header(&WriteHeader {
                path,
                kind: Kind::File,
                mode,
                size: data.len() as u64,
                mtime: 1_600_000_000,
                link: "",
            })
            .unwrap();
        self.w.content(data, data.len() as u64).unwrap();
        self
    }
    pub fn symlink(mut self, path: &str, target: &str) -> Self {
        self.w
            .header(&WriteHeader {
                path,
                kind: Kind::Symlink,
                mode: 0o777,
                size: 0,
                mtime: 1_600_000_000,
                link: target,
            })
            .unwrap();
        self
    }
    pub fn hardlink(mut self, path: &str, target: &str) -> Self {
        self.w
            .header(&WriteHeader {
                path,
                kind: Kind::HardLink,
                mode: 0o644,
                size: 0,
                mtime: 1_600_000_000,
                link: target,
            })
            .unwrap();
        self
    }
    pub fn node(mut self, path: &str, kind: Kind, mode: u32) -> Self {
        self.w
            .header(&WriteHeader {
                path,
                kind,
                mode,
                size: 0,
                mtime: 1_600_000_000,
                link: "",
            })
            .unwrap();
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
        self.w
            .header(&WriteHeader {
                path: "PaxHeaders/x",
                kind: Kind::Other(b'x'),
                mode: 0o644,
                size: pax.len() as u64,
                mtime: 0,
                link: "",
            })
            .unwrap();
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
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
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
                format!(
                    "file {:o} {}:{} {}",
                    m.mode() & 0o7777,
                    m.uid(),
                    m.gid(),
                    m.size()
                )
            } else {
                format!(
                    "node {:o} {}:{} rdev={}",
                    m.mode(),
                    m.uid(),
                    m.gid(),
                    m.rdev()
                )
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

/// A fast deterministic stream of incompressible bytes (xorshift64*), for big test layers.
pub struct RandomData(u64);

impl RandomData {
    pub fn new(seed: u64) -> Self {
        RandomData(seed | 1)
    }
    pub fn fill(&mut self, buf: &mut [u8]) {
        for c in buf.chunks_mut(8) {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            let v = self.0.wrapping_mul(0x2545F4914F6CDD1D).to_le_bytes();
            c.copy_from_slice(&v[..c.len()]);
        }
    }
}

/// Write a layer tar to `path` from (name, kind, content) entries; returns (diff id, size).
fn write_layer(path: &Path, entries: &[(&str, Kind, LayerContent)]) -> (String, u64) {
    use berth::image::compress::HashWriter;
    let f = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path).unwrap());
    let mut w = TarWriter::new(HashWriter::new(f));
    for (name, kind, content) in entries {
        match content {
            LayerContent::None => {
                let mode = if *kind == Kind::Dir { 0o755 } else { 0o644 };
                w.header(&WriteHeader {
                    path: name,
                    kind: *kind,
                    mode,
                    size: 0,
                    mtime: 1_700_000_000,
                    link: "",
                })
                .unwrap();
            }
            LayerContent::Link(t) => {
                w.header(&WriteHeader {
                    path: name,
                    kind: Kind::Symlink,
                    mode: 0o777,
                    size: 0,
                    mtime: 1_700_000_000,
                    link: t,
                })
                .unwrap();
            }
            LayerContent::Bytes(b) => {
                w.header(&WriteHeader {
                    path: name,
                    kind: Kind::File,
                    mode: 0o755,
                    size: b.len() as u64,
                    mtime: 1_700_000_000,
                    link: "",
                })
                .unwrap();
                w.content(&b[..], b.len() as u64).unwrap();
            }
            LayerContent::Random(seed, size) => {
                w.header(&WriteHeader {
                    path: name,
                    kind: Kind::File,
                    mode: 0o644,
                    size: *size,
                    mtime: 1_700_000_000,
                    link: "",
                })
                .unwrap();
                let mut rng = RandomData::new(*seed);
                let mut buf = vec![0u8; 1 << 20];
                let mut left = *size;
                while left > 0 {
                    let n = (left as usize).min(buf.len());
                    rng.fill(&mut buf[..n]);
                    w.content(&buf[..n], n as u64).unwrap();
                    left -= n as u64;
                }
            }
        }
    }
    w.finish().unwrap();
    let d = w.out.digest().to_string();
    let n = w.out.count;
    use std::io::Write;
    w.out.inner.flush().unwrap();
    (d, n)
}

pub enum LayerContent {
    None,
    Link(String),
    Bytes(Vec<u8>),
    Random(u64, u64),
}

/// A multi-layer image as a legacy docker archive at `out` (built in `work`), shaped like the
/// big image of fixtures/README.md: a busybox base, then `mb[i]` MiB of random data per layer,
/// and a last layer with a whiteout (data/.wh.b.bin) and an opaque directory (data/dir).
/// Returns the image ID. `seed` varies the content.
pub fn write_big_image(work: &Path, out: &Path, tag: &str, mb: &[u64], seed: u64) -> String {
    std::fs::create_dir_all(work).unwrap();
    let mut layers: Vec<(String, u64, std::path::PathBuf)> = Vec::new();
    // 1: busybox and its applet links.
    let bb = std::fs::read(crate::common::busybox()).unwrap();
    let list = std::process::Command::new(crate::common::busybox())
        .arg("--list")
        .output()
        .unwrap();
    let applets: Vec<String> = String::from_utf8_lossy(&list.stdout)
        .lines()
        .filter(|a| !a.is_empty() && *a != "busybox")
        .map(|a| format!("bin/{a}"))
        .collect();
    let mut e: Vec<(&str, Kind, LayerContent)> = vec![
        ("bin/", Kind::Dir, LayerContent::None),
        ("bin/busybox", Kind::File, LayerContent::Bytes(bb)),
    ];
    for a in &applets {
        e.push((
            a.as_str(),
            Kind::Symlink,
            LayerContent::Link("busybox".into()),
        ));
    }
    for d in ["etc/", "tmp/", "proc/", "sys/", "dev/"] {
        e.push((d, Kind::Dir, LayerContent::None));
    }
    let p = work.join("layer0.tar");
    let (d, n) = write_layer(&p, &e);
    layers.push((d, n, p));
    let names = ["a", "b", "c", "d", "e", "f", "g", "h"];
    for (i, size) in mb.iter().enumerate() {
        let file = format!("data/{}.bin", names[i % names.len()]);
        let last = i + 1 == mb.len() && i > 0;
        let mut e: Vec<(&str, Kind, LayerContent)> = vec![("data/", Kind::Dir, LayerContent::None)];
        if i == 0 {
            e.push(("data/dir/", Kind::Dir, LayerContent::None));
            e.push((
                "data/dir/old.txt",
                Kind::File,
                LayerContent::Bytes(b"old\n".to_vec()),
            ));
        }
        if last {
            e.push(("data/.wh.b.bin", Kind::File, LayerContent::None));
            e.push(("data/dir/", Kind::Dir, LayerContent::None));
            e.push(("data/dir/.wh..wh..opq", Kind::File, LayerContent::None));
            e.push((
                "data/dir/new.txt",
                Kind::File,
                LayerContent::Bytes(b"new\n".to_vec()),
            ));
        }
        e.push((
            file.as_str(),
            Kind::File,
            LayerContent::Random(seed.wrapping_mul(31).wrapping_add(i as u64 + 1), size << 20),
        ));
        let p = work.join(format!("layer{}.tar", i + 1));
        let (d, n) = write_layer(&p, &e);
        layers.push((d, n, p));
    }
    let diff_ids: Vec<&String> = layers.iter().map(|l| &l.0).collect();
    let mut history =
        vec![serde_json::json!({"created": "2026-01-01T00:00:00Z", "comment": "Imported from -"})];
    for i in 0..mb.len() {
        history.push(serde_json::json!({"created": "2026-01-01T00:00:01Z", "created_by": format!("/bin/sh -c layer {i} seed {seed}")}));
    }
    history.push(serde_json::json!({"created": "2026-01-01T00:00:02Z", "created_by": "/bin/sh -c #(nop)  CMD [\"sh\"]", "empty_layer": true}));
    let config = serde_json::json!({
        "architecture": "amd64",
        "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], "Cmd": ["sh"]},
        "created": "2026-01-01T00:00:02Z",
        "history": history,
        "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    });
    let config = serde_json::to_vec(&config).unwrap();
    let id = berth::oci::image::Digest::of(&config);
    let layer_names: Vec<String> = (0..layers.len())
        .map(|i| format!("{:064x}/layer.tar", i + 1))
        .collect();
    let manifest = serde_json::json!([{"Config": format!("{}.json", id.hex()), "RepoTags": [tag], "Layers": layer_names}]);
    let f = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(out).unwrap());
    let mut w = TarWriter::new(f);
    for (i, (_, size, path)) in layers.iter().enumerate() {
        w.dir(&format!("{:064x}/", i + 1), 0).unwrap();
        w.header(&WriteHeader {
            path: &layer_names[i],
            kind: Kind::File,
            mode: 0o644,
            size: *size,
            mtime: 0,
            link: "",
        })
        .unwrap();
        w.content(std::fs::File::open(path).unwrap(), *size)
            .unwrap();
        std::fs::remove_file(path).unwrap();
    }
    w.file(&format!("{}.json", id.hex()), &config, 0).unwrap();
    w.file("manifest.json", &serde_json::to_vec(&manifest).unwrap(), 0)
        .unwrap();
    w.finish().unwrap();
    id.to_string()
}
