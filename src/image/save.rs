//! `docker save`: one or more images as a tar stream.
//!
//! `SaveFormat::Oci` (the default) writes what Docker 25+ writes: an OCI image layout
//! (`oci-layout`, `index.json` with `io.containerd.image.name` / `org.opencontainers.image.ref.name`
//! annotations, `blobs/sha256/…` holding manifests, configs and uncompressed layers) plus the
//! docker-archive `manifest.json` (pointing into `blobs/`) and `repositories`. Every mtime is 0
//! and the entries are sorted, so the output is byte-for-byte reproducible.
//! `SaveFormat::Legacy` writes Docker ≤ 24's layout (`<v1-id>/{VERSION,json,layer.tar}`,
//! `<config>.json`, `manifest.json`, `repositories`) with Docker's v1 IDs.
//!
//! Layers are rebuilt from their files and tar-split records and re-digested on the way out;
//! a layer whose files no longer reproduce its diff ID fails the save.

use super::compress::HashReader;
use super::reference::{self, AnyRef, Reference};
use super::store::{no_such_image, Image, State, Store};
use super::tarsplit::Assembler;
use super::tarstream::{Kind, TarWriter, WriteHeader};
use crate::base::{Error, ErrorKind, Result};
use crate::oci::image::{
    Descriptor, Digest, Index, Manifest, ANNOTATION_IMAGE_NAME, ANNOTATION_REF_NAME,
    MEDIA_OCI_CONFIG, MEDIA_OCI_INDEX, MEDIA_OCI_LAYER, MEDIA_OCI_MANIFEST,
};
use crate::sys::fsat::Dir;
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::{Read, Write};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SaveFormat {
    /// Docker 25+: OCI layout + manifest.json + repositories.
    #[default]
    Oci,
    /// Docker ≤ 24: per-layer directories.
    Legacy,
}

impl SaveFormat {
    /// Names accepted by the daemon's `format` query parameter and `--save-format` option.
    pub fn parse(s: &str) -> Result<SaveFormat> {
        match s {
            "" | "oci" | "docker25" => Ok(SaveFormat::Oci),
            "legacy" | "docker-archive" | "v1" => Ok(SaveFormat::Legacy),
            other => Err(Error::invalid(format!(
                "unknown save format {other:?} (use \"oci\" or \"legacy\")"
            ))),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ManifestItem {
    config: String,
    repo_tags: Option<Vec<String>>,
    layers: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    parent: Option<String>,
}

struct SaveImage {
    img: Image,
    raw_config: Vec<u8>,
    tags: Vec<Reference>,
}

/// One layer to write: its diff ID, the chain it is stored as, and its tar size.
#[derive(Clone)]
struct SaveLayer {
    diff_id: Digest,
    chain: Digest,
    tar_size: u64,
}

const OCI_LAYOUT: &[u8] = br#"{"imageLayoutVersion": "1.0.0"}"#;

/// Go's json.Marshal escapes <, > and & (and U+2028/9) inside strings; v1 IDs hash that form.
fn go_escape(s: String) -> String {
    s.replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
}

pub(crate) fn go_json<T: Serialize>(v: &T) -> Result<String> {
    Ok(go_escape(serde_json::to_string(v)?))
}

impl Store {
    /// Which images (and tags) `names` select, as Docker's tarexporter.parseNames.
    fn parse_save_names(st: &State, names: &[String]) -> Result<BTreeMap<Digest, Vec<Reference>>> {
        let mut out: BTreeMap<Digest, Vec<Reference>> = BTreeMap::new();
        let mut add = |id: Digest, r: Option<Reference>| {
            let e = out.entry(id).or_default();
            if let Some(r) = r {
                if r.is_canonical() {
                    return;
                }
                let r = r.with_default_tag();
                if !e.contains(&r) {
                    e.push(r);
                }
            }
        };
        for name in names {
            match reference::parse_any(name).map_err(|e| e.with_kind(ErrorKind::InvalidArgument))? {
                AnyRef::Digest(d) => {
                    if !st.images.contains_key(&d) {
                        return Err(no_such_image(d.as_str()));
                    }
                    add(d, None);
                }
                AnyRef::Named(r) if r.familiar_name() == "sha256" => {
                    let img = Store::resolve_in(st, name)?;
                    add(img.id, None);
                }
                AnyRef::Named(r) if r.is_name_only() => {
                    let assoc: Vec<(Reference, Digest)> = st
                        .refs
                        .iter()
                        .filter_map(|(k, v)| {
                            Reference::parse(k)
                                .ok()
                                .filter(|x| x.name() == r.name())
                                .map(|x| (x, v.clone()))
                        })
                        .collect();
                    if assoc.is_empty() {
                        let img = Store::resolve_in(st, name).map_err(|_| no_such_image(name))?;
                        add(img.id, None);
                    }
                    for (x, id) in assoc {
                        add(id, Some(x));
                    }
                }
                AnyRef::Named(r) => {
                    let id = st
                        .refs
                        .get(&r.full())
                        .cloned()
                        .ok_or_else(|| Error::not_found("reference does not exist"))?;
                    add(id, Some(r));
                }
            }
        }
        Ok(out)
    }

    /// Write the images named by `names` as a tar stream to `out`.
    pub fn save<W: Write>(&self, names: &[String], format: SaveFormat, out: W) -> Result<()> {
        let (images, _lease) = {
            let st = self.lock();
            let sel = Self::parse_save_names(&st, names)?;
            let mut images = Vec::new();
            let mut chains = Vec::new();
            for (id, tags) in sel {
                let img = st
                    .images
                    .get(&id)
                    .cloned()
                    .ok_or_else(|| no_such_image(id.as_str()))?;
                if img.chain.is_empty() {
                    return Err(Error::unsupported("empty export - not implemented"));
                }
                chains.extend(img.chain.iter().cloned());
                images.push(SaveImage {
                    raw_config: self.content.read(&id)?,
                    img,
                    tags,
                });
            }
            drop(st);
            let lease = self.lease(&chains);
            (images, lease)
        };
        let mut w = TarWriter::new(out);
        match format {
            SaveFormat::Oci => self.save_oci(&images, &mut w)?,
            SaveFormat::Legacy => self.save_legacy(&images, &mut w)?,
        }
        w.finish()
    }

    fn layers_of(&self, img: &Image) -> Result<Vec<SaveLayer>> {
        img.chain
            .iter()
            .zip(img.config.diff_ids())
            .map(|(c, d)| {
                let info = self
                    .layer(c)
                    .ok_or_else(|| Error::not_found(format!("layer {c} does not exist")))?;
                Ok(SaveLayer {
                    diff_id: d.clone(),
                    chain: c.clone(),
                    tar_size: info.tar_size,
                })
            })
            .collect()
    }

    /// Stream one layer's tar into the archive, checking it still has its diff ID.
    fn write_layer<W: Write>(
        &self,
        w: &mut TarWriter<W>,
        path: &str,
        l: &SaveLayer,
        mtime: i64,
    ) -> Result<()> {
        w.header(&WriteHeader {
            path,
            kind: Kind::File,
            mode: 0o644,
            size: l.tar_size,
            mtime,
            link: "",
        })?;
        let asm = Assembler::open(
            &self.layers.split_path(&l.chain),
            Dir::open(&self.layers.diff_dir(&l.chain))?,
        )?;
        let mut h = HashReader::new(asm);
        w.content(&mut h, l.tar_size)?;
        let mut extra = [0u8; 1];
        if h.read(&mut extra)
            .map_err(|e| Error::from(e).context(format!("read layer {}", l.chain)))?
            != 0
        {
            return Err(Error::internal(format!(
                "layer {} is longer than recorded",
                l.diff_id
            )));
        }
        if h.digest() != l.diff_id {
            return Err(Error::internal(format!(
                "layer {} no longer matches its content: got {}",
                l.diff_id,
                h.digest()
            )));
        }
        Ok(())
    }

    fn save_oci<W: Write>(&self, images: &[SaveImage], w: &mut TarWriter<W>) -> Result<()> {
        enum BlobSrc<'a> {
            Bytes(Vec<u8>),
            Config(&'a [u8]),
            Layer(SaveLayer),
        }
        let mut blobs: BTreeMap<String, BlobSrc> = BTreeMap::new();
        let mut index = Index {
            schema_version: 2,
            media_type: MEDIA_OCI_INDEX.into(),
            artifact_type: None,
            manifests: Vec::new(),
            subject: None,
            annotations: BTreeMap::new(),
        };
        let mut items = Vec::new();
        let mut repos: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
        let ids: Vec<&Digest> = images.iter().map(|i| &i.img.id).collect();
        for si in images {
            let layers = self.layers_of(&si.img)?;
            let manifest = Manifest {
                schema_version: 2,
                media_type: MEDIA_OCI_MANIFEST.into(),
                artifact_type: None,
                config: Descriptor::new(
                    MEDIA_OCI_CONFIG,
                    si.img.id.clone(),
                    si.raw_config.len() as i64,
                ),
                layers: layers
                    .iter()
                    .map(|l| Descriptor::new(MEDIA_OCI_LAYER, l.diff_id.clone(), l.tar_size as i64))
                    .collect(),
                subject: None,
                annotations: BTreeMap::new(),
            };
            let mbytes = go_json(&manifest)?.into_bytes();
            let mdigest = Digest::of(&mbytes);
            let untagged =
                Descriptor::new(MEDIA_OCI_MANIFEST, mdigest.clone(), mbytes.len() as i64);
            blobs.insert(mdigest.hex().to_string(), BlobSrc::Bytes(mbytes));
            blobs.insert(si.img.id.hex().to_string(), BlobSrc::Config(&si.raw_config));
            for l in &layers {
                blobs
                    .entry(l.diff_id.hex().to_string())
                    .or_insert_with(|| BlobSrc::Layer(l.clone()));
            }
            let top = layers
                .last()
                .map(|l| l.diff_id.hex().to_string())
                .unwrap_or_default();
            for t in &si.tags {
                repos
                    .entry(t.familiar_name())
                    .or_default()
                    .insert(t.tag.clone().unwrap_or_default(), top.clone());
                let mut d = untagged.clone();
                d.annotations.insert(ANNOTATION_IMAGE_NAME.into(), t.full());
                d.annotations.insert(
                    ANNOTATION_REF_NAME.into(),
                    t.tag.clone().unwrap_or_default(),
                );
                index.manifests.push(d);
            }
            if si.tags.is_empty() {
                index.manifests.push(untagged);
            }
            let parent = si
                .img
                .meta
                .parent
                .as_ref()
                .filter(|p| ids.contains(p))
                .map(|p| p.to_string());
            items.push(ManifestItem {
                config: format!("blobs/sha256/{}", si.img.id.hex()),
                repo_tags: if si.tags.is_empty() {
                    None
                } else {
                    Some(si.tags.iter().map(|t| t.familiar()).collect())
                },
                layers: layers
                    .iter()
                    .map(|l| format!("blobs/sha256/{}", l.diff_id.hex()))
                    .collect(),
                parent,
            });
        }
        w.dir("blobs/", 0)?;
        w.dir("blobs/sha256/", 0)?;
        for (hex, src) in &blobs {
            let path = format!("blobs/sha256/{hex}");
            match src {
                BlobSrc::Bytes(b) => w.file(&path, b, 0)?,
                BlobSrc::Config(b) => w.file(&path, b, 0)?,
                BlobSrc::Layer(l) => self.write_layer(w, &path, l, 0)?,
            }
        }
        w.file("index.json", go_json(&index)?.as_bytes(), 0)?;
        w.file(
            "manifest.json",
            format!("{}\n", go_json(&items)?).as_bytes(),
            0,
        )?;
        w.file("oci-layout", OCI_LAYOUT, 0)?;
        if !repos.is_empty() {
            w.file(
                "repositories",
                format!("{}\n", go_json(&repos)?).as_bytes(),
                0,
            )?;
        }
        Ok(())
    }

    fn save_legacy<W: Write>(&self, images: &[SaveImage], w: &mut TarWriter<W>) -> Result<()> {
        enum Entry {
            Dir,
            Bytes(Vec<u8>),
            Layer(SaveLayer),
            Link(String),
        }
        // path → (entry, mtime); written in the order a directory walk would give.
        let mut entries: BTreeMap<String, (Entry, i64)> = BTreeMap::new();
        let mut items = Vec::new();
        let mut repos: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
        let mut diff_paths: BTreeMap<Digest, String> = BTreeMap::new();
        let ids: Vec<&Digest> = images.iter().map(|i| &i.img.id).collect();
        for si in images {
            let layers = self.layers_of(&si.img)?;
            let created = si.img.created().map(|t| t.0).unwrap_or(0);
            let mut parent: Option<Digest> = None;
            let mut v1_ids = Vec::new();
            for (i, l) in layers.iter().enumerate() {
                let top = i == layers.len() - 1;
                let fields = v1_fields(&si.img, top)?;
                // Docker sets `os` on the lower layers' V1Image only after computing their ID.
                let id_fields: Vec<(String, String)> = fields
                    .iter()
                    .filter(|(k, _)| top || k != "os")
                    .cloned()
                    .collect();
                let v1id = v1_create_id(&id_fields, &l.chain, parent.as_ref())?;
                let mut json_fields = vec![("id".to_string(), go_json(&v1id.hex())?)];
                if let Some(p) = &parent {
                    json_fields.push(("parent".to_string(), go_json(&p.hex())?));
                }
                json_fields.extend(
                    fields
                        .into_iter()
                        .filter(|(k, _)| k != "id" && k != "parent"),
                );
                let order = [
                    "id",
                    "parent",
                    "comment",
                    "created",
                    "container",
                    "container_config",
                    "docker_version",
                    "author",
                    "config",
                    "architecture",
                    "variant",
                    "os",
                ];
                json_fields
                    .sort_by_key(|(k, _)| order.iter().position(|o| o == k).unwrap_or(order.len()));
                let json = format!(
                    "{{{}}}",
                    json_fields
                        .iter()
                        .map(|(k, v)| format!("\"{k}\":{v}"))
                        .collect::<Vec<_>>()
                        .join(",")
                );
                let dir = v1id.hex().to_string();
                if !entries.contains_key(&format!("{dir}/")) {
                    entries.insert(format!("{dir}/"), (Entry::Dir, created));
                    entries.insert(
                        format!("{dir}/VERSION"),
                        (Entry::Bytes(b"1.0".to_vec()), created),
                    );
                    entries.insert(
                        format!("{dir}/json"),
                        (Entry::Bytes(json.into_bytes()), created),
                    );
                    let lpath = format!("{dir}/layer.tar");
                    match diff_paths.get(&l.diff_id) {
                        Some(first) => {
                            entries.insert(lpath, (Entry::Link(format!("../{first}")), created));
                        }
                        None => {
                            diff_paths.insert(l.diff_id.clone(), lpath.clone());
                            entries.insert(lpath, (Entry::Layer(l.clone()), created));
                        }
                    }
                }
                v1_ids.push(dir);
                parent = Some(v1id);
            }
            entries.insert(
                format!("{}.json", si.img.id.hex()),
                (Entry::Bytes(si.raw_config.clone()), created),
            );
            let top = v1_ids.last().cloned().unwrap_or_default();
            for t in &si.tags {
                repos
                    .entry(t.familiar_name())
                    .or_default()
                    .insert(t.tag.clone().unwrap_or_default(), top.clone());
            }
            let parent_id = si
                .img
                .meta
                .parent
                .as_ref()
                .filter(|p| ids.contains(p))
                .map(|p| p.to_string());
            items.push(ManifestItem {
                config: format!("{}.json", si.img.id.hex()),
                repo_tags: if si.tags.is_empty() {
                    None
                } else {
                    Some(si.tags.iter().map(|t| t.familiar()).collect())
                },
                layers: v1_ids.iter().map(|d| format!("{d}/layer.tar")).collect(),
                parent: parent_id,
            });
        }
        entries.insert(
            "manifest.json".into(),
            (
                Entry::Bytes(format!("{}\n", go_json(&items)?).into_bytes()),
                0,
            ),
        );
        if !repos.is_empty() {
            entries.insert(
                "repositories".into(),
                (
                    Entry::Bytes(format!("{}\n", go_json(&repos)?).into_bytes()),
                    0,
                ),
            );
        }
        // Directory-walk order: compare path components, so "x/" sorts before "x.json".
        let mut keys: Vec<&String> = entries.keys().collect();
        keys.sort_by(|a, b| {
            a.trim_end_matches('/')
                .split('/')
                .cmp(b.trim_end_matches('/').split('/'))
        });
        for k in keys {
            let (e, mtime) = &entries[k];
            match e {
                Entry::Dir => w.dir(k, *mtime)?,
                Entry::Bytes(b) => w.file(k, b, *mtime)?,
                Entry::Layer(l) => self.write_layer(w, k, l, *mtime)?,
                Entry::Link(t) => w.header(&WriteHeader {
                    path: k,
                    kind: Kind::Symlink,
                    mode: 0o777,
                    size: 0,
                    mtime: *mtime,
                    link: t,
                })?,
            }
        }
        Ok(())
    }
}

/// The V1Image fields (key, Go-marshalled value) of one layer of a legacy save: the image's own
/// for the top layer, an empty one (epoch creation time) below it.
fn v1_fields(img: &Image, top: bool) -> Result<Vec<(String, String)>> {
    let c = &img.config;
    let mut f: Vec<(String, String)> = Vec::new();
    let mut put = |k: &str, v: String| f.push((k.to_string(), v));
    if top {
        if !c.comment.is_empty() {
            put("comment", go_json(&c.comment)?);
        }
        if let Some(cr) = &c.created {
            put("created", go_json(cr)?);
        }
        if !c.container.is_empty() {
            put("container", go_json(&c.container)?);
        }
        put(
            "container_config",
            go_json(&c.container_config.clone().unwrap_or_default())?,
        );
        if !c.docker_version.is_empty() {
            put("docker_version", go_json(&c.docker_version)?);
        }
        if !c.author.is_empty() {
            put("author", go_json(&c.author)?);
        }
        if let Some(cfg) = &c.config {
            put("config", go_json(cfg)?);
        }
        if !c.architecture.is_empty() {
            put("architecture", go_json(&c.architecture)?);
        }
        if !c.variant.is_empty() {
            put("variant", go_json(&c.variant)?);
        }
    } else {
        put("created", go_json(&"1970-01-01T00:00:00Z")?);
        put(
            "container_config",
            go_json(&crate::oci::image::ContainerConfig::default())?,
        );
    }
    put("os", go_json(&c.os().to_string())?);
    Ok(f)
}

/// Docker's v1.CreateID: sha256 of the V1Image JSON (without id) re-marshalled as a map with
/// `layer_id` and `parent` added, keys sorted.
fn v1_create_id(
    fields: &[(String, String)],
    chain: &Digest,
    parent: Option<&Digest>,
) -> Result<Digest> {
    let mut m: BTreeMap<String, String> =
        fields.iter().filter(|(k, _)| k != "id").cloned().collect();
    m.insert("layer_id".into(), go_json(&chain.as_str())?);
    if let Some(p) = parent {
        m.insert("parent".into(), go_json(&p.as_str())?);
    }
    let json = format!(
        "{{{}}}",
        m.iter()
            .map(|(k, v)| format!("\"{k}\":{v}"))
            .collect::<Vec<_>>()
            .join(",")
    );
    Ok(Digest::of(json.as_bytes()))
}
