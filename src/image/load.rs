//! `docker load`: the legacy docker-archive (`manifest.json` + `<id>/layer.tar`), the OCI image
//! layout (`index.json` + `blobs/`), and Docker 25+'s combination of both; the archive itself
//! plain, gzip or zstd.
//!
//! The archive is read once, as a stream: every entry that looks like a layer (a tar header,
//! or gzip/zstd magic) is extracted straight into a staging directory while its digests are
//! computed; small entries (JSON) are kept in memory. Only when the stream has ended are the
//! manifests read, the diff IDs checked and the layers committed, so a layer blob is written
//! once and never copied. Nothing becomes visible before every check has passed.

use super::apply::{apply_blob, clean_name, Applied};
use super::compress::{self, Peeked};
use super::layers::Prepared;
use super::reference::Reference;
use super::store::{Image, ImageMeta, Lease, Store};
use super::tarstream::{is_tar_header, EntryReader, Kind, TarReader};
use crate::base::{Error, Result};
use crate::oci::image::{
    chain_ids, is_index_media, is_manifest_media, Digest, ImageConfig, Index, Manifest,
    ANNOTATION_IMAGE_NAME, ANNOTATION_REF_NAME,
};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::io::{BufReader, Read};

/// Entries up to this size that are not layers are kept in memory (configs, manifests).
const SMALL_MAX: u64 = 16 << 20;
/// Total memory for such entries.
const SMALL_TOTAL_MAX: u64 = 256 << 20;

/// What a load reports while it runs.
#[derive(Debug, Clone, PartialEq)]
pub enum LoadEvent {
    /// Bytes of one layer read so far (Docker's "Loading layer" progress bar).
    Progress {
        id: String,
        current: u64,
        total: u64,
    },
    /// A line for the output stream, newline included ("Loaded image: small:peer\n").
    Line(String),
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ManifestItem {
    config: String,
    #[serde(default)]
    repo_tags: Option<Vec<String>>,
    #[serde(default)]
    layers: Vec<String>,
    #[serde(default)]
    parent: Option<String>,
}

/// A layer blob found in the archive.
enum Blob {
    Staged(Box<super::layers::Staging>, Applied),
    Failed(String),
}

/// One image to commit, after every check passed.
struct Plan {
    raw_config: Vec<u8>,
    config: ImageConfig,
    id: Digest,
    /// Per layer: the blob path that provides it (None when the store already has the chain).
    blobs: Vec<Option<String>>,
    tags: Vec<Reference>,
    parent: Option<String>,
}

struct Archive {
    small: HashMap<String, Vec<u8>>,
    blobs: HashMap<String, Blob>,
    links: HashMap<String, String>,
}

impl Archive {
    fn resolve(&self, path: &str) -> String {
        let mut p = norm(path);
        for _ in 0..16 {
            match self.links.get(&p) {
                Some(t) => p = t.clone(),
                None => break,
            }
        }
        p
    }

    fn file(&self, path: &str) -> Result<&Vec<u8>> {
        self.small.get(&self.resolve(path)).ok_or_else(|| {
            Error::not_found(format!("open {}: no such file or directory", norm(path)))
        })
    }

    fn blob_file(&self, d: &Digest) -> Result<Vec<u8>> {
        let data = self.file(&format!("blobs/sha256/{}", d.hex()))?;
        if Digest::of(data) != *d {
            return Err(Error::invalid(format!(
                "invalid archive: blob {d} does not match its digest"
            )));
        }
        Ok(data.clone())
    }
}

fn norm(path: &str) -> String {
    match clean_name(path.as_bytes()) {
        Ok(c) => c
            .iter()
            .map(|x| String::from_utf8_lossy(x).into_owned())
            .collect::<Vec<_>>()
            .join("/"),
        Err(_) => path.to_string(),
    }
}

fn looks_like_layer(head: &[u8]) -> bool {
    match compress::detect(head) {
        Ok(compress::Compression::None) => {
            head.len() >= 512
                && (is_tar_header(&head[..512]) || head[..512].iter().all(|b| *b == 0))
        }
        _ => true, // gzip, zstd, or a compression we will report as unsupported
    }
}

/// Counts bytes read through it and reports progress now and then.
struct Progress<'a, 'b, R> {
    inner: R,
    id: String,
    current: u64,
    total: u64,
    last: u64,
    events: &'a mut (dyn FnMut(LoadEvent) + 'b),
}

impl<R: Read> Read for Progress<'_, '_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.current += n as u64;
        if self.current - self.last >= 512 * 1024 || (n > 0 && self.current == self.total) {
            self.last = self.current;
            (self.events)(LoadEvent::Progress {
                id: self.id.clone(),
                current: self.current,
                total: self.total,
            });
        }
        Ok(n)
    }
}

impl Store {
    /// Load every image in the archive `input`. Events report progress and the lines Docker
    /// prints; the error wording follows Docker's tarexport.
    pub fn load<R: Read>(
        &self,
        input: R,
        events: &mut dyn FnMut(LoadEvent),
    ) -> Result<Vec<Digest>> {
        let mut arch = Archive {
            small: HashMap::new(),
            blobs: HashMap::new(),
            links: HashMap::new(),
        };
        let t0 = std::time::Instant::now();
        let res = self.read_archive(input, &mut arch, events).and_then(|()| {
            log::debug!(
                "load: archive read and layers extracted in {:?}",
                t0.elapsed()
            );
            self.plan_and_commit(&mut arch, events)
        });
        log::debug!("load: done in {:?}", t0.elapsed());
        for (_, b) in arch.blobs.drain() {
            if let Blob::Staged(st, _) = b {
                let _ = std::fs::remove_dir_all(&st.path);
            }
        }
        res
    }

    fn read_archive<R: Read>(
        &self,
        input: R,
        arch: &mut Archive,
        events: &mut dyn FnMut(LoadEvent),
    ) -> Result<()> {
        let (_, dec) = compress::decompress(input)?;
        let mut tr = TarReader::new(BufReader::with_capacity(1 << 20, dec), false);
        let mut small_total = 0u64;
        while let Some(h) = tr.next_header()? {
            let path = h.path_lossy();
            let comps = clean_name(&h.path).map_err(|_| {
                Error::invalid(format!(
                    "invalid archive: entry {path:?} is outside of the archive"
                ))
            })?;
            let name = comps
                .iter()
                .map(|c| String::from_utf8_lossy(c).into_owned())
                .collect::<Vec<_>>()
                .join("/");
            match h.kind {
                Kind::Symlink => {
                    let link = String::from_utf8_lossy(&h.link).into_owned();
                    let target = if link.starts_with('/') {
                        norm(&link)
                    } else {
                        norm(&format!(
                            "{}/{link}",
                            name.rsplit_once('/').map(|x| x.0).unwrap_or("")
                        ))
                    };
                    arch.links.insert(name, target);
                    continue;
                }
                Kind::HardLink => {
                    arch.links
                        .insert(name, norm(&String::from_utf8_lossy(&h.link)));
                    continue;
                }
                Kind::File => {}
                _ => continue,
            }
            let size = h.size;
            let peeked = Peeked::new(EntryReader { tr: &mut tr }, 512)?;
            if looks_like_layer(peeked.head()) {
                let id = name
                    .strip_prefix("blobs/sha256/")
                    .map(|h| h.chars().take(12).collect())
                    .unwrap_or_else(|| {
                        name.split('/')
                            .next()
                            .unwrap_or("")
                            .chars()
                            .take(12)
                            .collect()
                    });
                let mut st = self.layers.stage()?;
                let reader = Progress {
                    inner: peeked,
                    id,
                    current: 0,
                    total: size,
                    last: 0,
                    events: &mut *events,
                };
                match apply_blob(reader, &st.diff, Some(&mut st.split)) {
                    Ok(applied) => {
                        arch.blobs.insert(name, Blob::Staged(Box::new(st), applied));
                    }
                    Err(e) => {
                        let _ = std::fs::remove_dir_all(&st.path);
                        arch.blobs.insert(name, Blob::Failed(e.to_string()));
                    }
                }
            } else if size <= SMALL_MAX && small_total + size <= SMALL_TOTAL_MAX {
                let mut data = Vec::with_capacity(size as usize);
                let mut r = peeked;
                r.read_to_end(&mut data)
                    .map_err(|e| Error::from(e).context(format!("read {name}")))?;
                small_total += size;
                arch.small.insert(name, data);
            }
            tr.finish_entry(false)?;
        }
        tr.drain_trailer()?;
        Ok(())
    }

    fn plan_and_commit(
        &self,
        arch: &mut Archive,
        events: &mut dyn FnMut(LoadEvent),
    ) -> Result<Vec<Digest>> {
        // Layers the plans count on finding in the store are pinned until the images are
        // committed, so a concurrent rmi or prune cannot remove them in between.
        let mut leases = Vec::new();
        let plans = if arch.small.contains_key("manifest.json")
            || arch.links.contains_key("manifest.json")
        {
            self.plan_docker(arch, &mut leases)?
        } else if arch.small.contains_key("index.json") {
            self.plan_oci(arch, &mut leases)?
        } else {
            return Err(Error::invalid(
                "invalid archive: does not contain a manifest.json",
            ));
        };
        // Prepare every layer the plans need (a blob used at two places in a stack is copied).
        let mut prepared: HashMap<Digest, Prepared> = HashMap::new();
        let mut blob_chain: HashMap<String, Digest> = HashMap::new();
        let res = (|| -> Result<()> {
            for plan in &plans {
                let chain = chain_ids(plan.config.diff_ids());
                for (i, b) in plan.blobs.iter().enumerate() {
                    let Some(path) = b else { continue };
                    if prepared.contains_key(&chain[i]) {
                        continue;
                    }
                    let parent = if i > 0 { Some(&chain[i - 1]) } else { None };
                    let p = match (blob_chain.get(path), arch.blobs.remove(path)) {
                        (_, Some(Blob::Staged(st, a))) => self.layers.prepare(
                            *st,
                            &chain[i],
                            &a.diff_id,
                            parent,
                            a.tar_size,
                            a.content_size,
                        )?,
                        (Some(first), _) => {
                            let from = prepared
                                .get(first)
                                .ok_or_else(|| Error::internal("prepared layer vanished"))?;
                            self.layers.prepare_copy(from, &chain[i], parent)?
                        }
                        _ => return Err(Error::internal(format!("layer blob {path} is gone"))),
                    };
                    blob_chain.insert(path.clone(), chain[i].clone());
                    prepared.insert(chain[i].clone(), p);
                }
            }
            Ok(())
        })();
        if let Err(e) = res {
            for (_, p) in prepared.drain() {
                self.layers.discard(p);
            }
            return Err(e);
        }
        let t0 = std::time::Instant::now();
        self.layers.sync()?;
        log::debug!("load: layers prepared, syncfs took {:?}", t0.elapsed());
        let mut ids_text = String::new();
        let mut ref_count = 0;
        let mut loaded = Vec::new();
        let mut parents: Vec<(Digest, Option<String>)> = Vec::new();
        for plan in plans {
            let chain = chain_ids(plan.config.diff_ids());
            let layers: Vec<(Digest, Option<Prepared>)> = chain
                .iter()
                .map(|c| (c.clone(), prepared.remove(c)))
                .collect();
            let moved = self.commit_image(
                &plan.raw_config,
                plan.config.clone(),
                layers,
                &plan.tags,
                None,
                false,
            )?;
            ids_text.push_str(&format!("Loaded image ID: {}\n", plan.id));
            ref_count = 0;
            for t in &plan.tags {
                if let Some((_, prev)) = moved.iter().find(|(r, _)| r == t) {
                    events(LoadEvent::Line(format!("The image {} already exists, renaming the old one with ID {prev} to empty string\n", t.familiar())));
                }
                events(LoadEvent::Line(format!("Loaded image: {}\n", t.familiar())));
                ref_count += 1;
            }
            parents.push((plan.id.clone(), plan.parent.clone()));
            loaded.push(plan.id);
        }
        for (_, p) in prepared.drain() {
            self.layers.discard(p);
        }
        self.set_loaded_parents(&parents)?;
        if ref_count == 0 {
            events(LoadEvent::Line(ids_text));
        }
        Ok(loaded)
    }

    /// manifest.json: the legacy layout and Docker 25+'s.
    fn plan_docker<'s>(&'s self, arch: &Archive, leases: &mut Vec<Lease<'s>>) -> Result<Vec<Plan>> {
        let raw = arch.file("manifest.json")?;
        let items: Option<Vec<ManifestItem>> = serde_json::from_slice(raw).map_err(|e| {
            Error::invalid(format!(
                "invalid archive: failed to decode manifest.json: {e}"
            ))
        })?;
        let items = items.ok_or_else(|| {
            Error::invalid("invalid manifest, manifest cannot be null (but can be [])")
        })?;
        let mut plans = Vec::new();
        for m in items {
            let raw_config = arch.file(&m.config)?.clone();
            let mut tags = Vec::new();
            for t in m.repo_tags.unwrap_or_default() {
                let r = Reference::parse_normalized(&t)?;
                if !r.is_tagged() {
                    return Err(Error::invalid(format!("invalid tag {t:?}")));
                }
                tags.push(r);
            }
            let plan = self.plan_image(arch, raw_config, &m.layers, None, tags, leases)?;
            plans.push(Plan {
                parent: m.parent,
                ..plan
            });
        }
        Ok(plans)
    }

    /// index.json of an OCI layout without manifest.json (skopeo, podman, buildah).
    fn plan_oci<'s>(&'s self, arch: &Archive, leases: &mut Vec<Lease<'s>>) -> Result<Vec<Plan>> {
        let index: Index = serde_json::from_slice(arch.file("index.json")?).map_err(|e| {
            Error::invalid(format!("invalid archive: failed to decode index.json: {e}"))
        })?;
        let mut plans = Vec::new();
        for desc in &index.manifests {
            let mut tags = Vec::new();
            let name = desc
                .annotations
                .get(ANNOTATION_IMAGE_NAME)
                .or_else(|| desc.annotations.get(ANNOTATION_REF_NAME));
            if let Some(r) = name
                .and_then(|n| Reference::parse_normalized(n).ok())
                .filter(|r| r.is_tagged())
            {
                tags.push(r);
            }
            let manifest = self.pick_manifest(arch, desc, 0)?;
            let raw_config = arch.blob_file(&manifest.config.digest)?;
            let paths: Vec<String> = manifest
                .layers
                .iter()
                .map(|l| format!("blobs/sha256/{}", l.digest.hex()))
                .collect();
            let digests: Vec<Digest> = manifest.layers.iter().map(|l| l.digest.clone()).collect();
            // Two index entries naming one image: merge their tags.
            let plan = self.plan_image(arch, raw_config, &paths, Some(&digests), tags, leases)?;
            if let Some(existing) = plans.iter_mut().find(|p: &&mut Plan| p.id == plan.id) {
                existing.tags.extend(plan.tags);
            } else {
                plans.push(plan);
            }
        }
        Ok(plans)
    }

    /// Follow an index to the manifest for this platform (linux/amd64 or the first linux one).
    fn pick_manifest(
        &self,
        arch: &Archive,
        desc: &crate::oci::image::Descriptor,
        depth: usize,
    ) -> Result<Manifest> {
        if depth > 4 {
            return Err(Error::invalid("invalid archive: nested indexes too deep"));
        }
        let data = arch.blob_file(&desc.digest)?;
        let media = if desc.media_type.is_empty() {
            serde_json::from_slice::<serde_json::Value>(&data)
                .ok()
                .and_then(|v| v["mediaType"].as_str().map(str::to_string))
                .unwrap_or_default()
        } else {
            desc.media_type.clone()
        };
        if is_index_media(&media) {
            let idx: Index = serde_json::from_slice(&data)
                .map_err(|e| Error::invalid(format!("invalid index {}: {e}", desc.digest)))?;
            let arch_name = host_arch();
            let pick = idx
                .manifests
                .iter()
                .find(|m| {
                    m.platform
                        .as_ref()
                        .is_some_and(|p| p.os == "linux" && p.architecture == arch_name)
                })
                .or_else(|| {
                    idx.manifests
                        .iter()
                        .find(|m| m.platform.as_ref().map_or(true, |p| p.os == "linux"))
                })
                .ok_or_else(|| {
                    Error::not_found(format!(
                        "no matching manifest for linux/{arch_name} in the manifest list entries"
                    ))
                })?;
            return self.pick_manifest(arch, pick, depth + 1);
        }
        if !media.is_empty() && !is_manifest_media(&media) {
            return Err(Error::invalid(format!(
                "unsupported manifest media type {media}"
            )));
        }
        serde_json::from_slice(&data)
            .map_err(|e| Error::invalid(format!("invalid manifest {}: {e}", desc.digest)))
    }

    /// Check one image: config, OS, layer count, diff IDs (and blob digests for OCI).
    fn plan_image<'s>(
        &'s self,
        arch: &Archive,
        raw_config: Vec<u8>,
        layer_paths: &[String],
        blob_digests: Option<&[Digest]>,
        tags: Vec<Reference>,
        leases: &mut Vec<Lease<'s>>,
    ) -> Result<Plan> {
        let config = ImageConfig::from_json(&raw_config)?;
        if config.os() != "linux" {
            return Err(Error::invalid(format!(
                "cannot load {} image on linux",
                config.os()
            )));
        }
        let diff_ids = config.diff_ids();
        if layer_paths.len() != diff_ids.len() {
            return Err(Error::invalid(format!(
                "invalid manifest, layers length mismatch: expected {}, got {}",
                layer_paths.len(),
                diff_ids.len()
            )));
        }
        let chain = chain_ids(diff_ids);
        leases.push(self.lease(&chain));
        let mut blobs = Vec::new();
        for (i, diff_id) in diff_ids.iter().enumerate() {
            if self.layer(&chain[i]).is_some() {
                blobs.push(None);
                continue;
            }
            let path = arch.resolve(&layer_paths[i]);
            match arch.blobs.get(&path) {
                Some(Blob::Staged(_, a)) => {
                    if let Some(d) = blob_digests.and_then(|d| d.get(i)) {
                        if a.blob_digest != *d {
                            return Err(Error::invalid(format!(
                                "invalid archive: layer {i} blob has digest {}, manifest says {d}",
                                a.blob_digest
                            )));
                        }
                    }
                    if a.diff_id != *diff_id {
                        return Err(Error::invalid(format!(
                            "invalid diffID for layer {i}: expected {:?}, got {:?}",
                            diff_id.as_str(),
                            a.diff_id.as_str()
                        )));
                    }
                }
                Some(Blob::Failed(e)) => {
                    return Err(Error::invalid(format!(
                        "load layer {}: {e}",
                        norm(&layer_paths[i])
                    )))
                }
                None if arch.small.contains_key(&path) => {
                    return Err(Error::invalid(format!(
                        "invalid archive: {} is not a layer",
                        norm(&layer_paths[i])
                    )));
                }
                None => {
                    return Err(Error::not_found(format!(
                        "open {}: no such file or directory",
                        norm(&layer_paths[i])
                    )))
                }
            }
            blobs.push(Some(path));
        }
        Ok(Plan {
            id: Digest::of(&raw_config),
            raw_config,
            config,
            blobs,
            tags,
            parent: None,
        })
    }

    /// Commit an image whose layers are present or prepared (and synced): publish the layers,
    /// store the config blob, then name the image in one db write. Returns the tags that
    /// pointed at another image before, with that image.
    pub(crate) fn commit_image(
        &self,
        raw_config: &[u8],
        config: ImageConfig,
        layers: Vec<(Digest, Option<Prepared>)>,
        tags: &[Reference],
        parent: Option<Digest>,
        set_tag_time: bool,
    ) -> Result<Vec<(Reference, Digest)>> {
        let id = Digest::of(raw_config);
        let mut st = self.lock();
        let chain: Vec<Digest> = layers.iter().map(|(c, _)| c.clone()).collect();
        let mut missing = None;
        for (c, p) in layers {
            if st.layers.contains_key(&c) {
                if let Some(p) = p {
                    self.layers.discard(p);
                }
                continue;
            }
            match p {
                Some(p) => {
                    let info = self.layers.publish(p)?;
                    st.layers.insert(c, info);
                }
                None => missing = Some(c),
            }
        }
        if let Some(c) = missing {
            return Err(Error::not_found(format!("layer {c} does not exist")));
        }
        self.content.put(raw_config, Some(&id))?;
        let now = crate::base::time::now_rfc3339();
        let img = st.images.entry(id.clone()).or_insert_with(|| Image {
            id: id.clone(),
            config,
            chain,
            meta: ImageMeta::default(),
        });
        if parent.is_some() {
            img.meta.parent = parent;
        }
        if set_tag_time && !tags.is_empty() {
            img.meta.last_tag_time = Some(now);
        }
        let mut moved = Vec::new();
        for t in tags {
            if let Some(prev) = st.refs.insert(t.full(), id.clone()) {
                if prev != id {
                    moved.push((t.clone(), prev));
                }
            }
        }
        self.write_db(&st)?;
        Ok(moved)
    }

    /// manifest.json `Parent` links between images of one archive (Docker's validatedParentLinks
    /// and checkValidParent).
    fn set_loaded_parents(&self, links: &[(Digest, Option<String>)]) -> Result<()> {
        let mut st = self.lock();
        let mut changed = false;
        for (id, parent) in links {
            let Some(p) = parent.as_deref().and_then(|p| Digest::parse(p).ok()) else {
                continue;
            };
            if p == *id || !links.iter().any(|(x, _)| *x == p) {
                continue;
            }
            let (Some(img), Some(par)) = (st.images.get(id), st.images.get(&p)) else {
                continue;
            };
            if !valid_parent(&img.config, &par.config) {
                return Err(Error::invalid(format!(
                    "image {p} is not a valid parent for {id}"
                )));
            }
            if let Some(img) = st.images.get_mut(id) {
                img.meta.parent = Some(p);
                changed = true;
            }
        }
        if changed {
            self.write_db(&st)?;
        }
        Ok(())
    }
}

fn valid_parent(img: &ImageConfig, parent: &ImageConfig) -> bool {
    if img.history.is_empty() && parent.history.is_empty() {
        return true;
    }
    if img.history.len() != parent.history.len() + 1 {
        return false;
    }
    parent.history.iter().zip(&img.history).all(|(p, c)| {
        let times = match (&p.created, &c.created) {
            (Some(a), Some(b)) => {
                super::filters::parse_rfc3339(a) == super::filters::parse_rfc3339(b)
            }
            (None, None) => true,
            _ => false,
        };
        times
            && p.created_by == c.created_by
            && p.author == c.author
            && p.comment == c.comment
            && p.empty_layer == c.empty_layer
    })
}

/// The image-spec architecture name of this host.
pub fn host_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64le",
        other => other,
    }
}

/// For tests: summarize what an archive holds without loading it.
pub fn archive_names(data: &[u8]) -> Result<BTreeMap<String, u64>> {
    let (_, dec) = compress::decompress(data)?;
    let mut tr = TarReader::new(dec, false);
    let mut out = BTreeMap::new();
    while let Some(h) = tr.next_header()? {
        out.insert(h.path_lossy(), h.size);
        tr.finish_entry(false)?;
    }
    Ok(out)
}
