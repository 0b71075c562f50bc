//! The image store: images, their names, layers and snapshots, with Docker's semantics for
//! lookup, tag, delete and prune. See `mod.rs` for the on-disk layout.
//!
//! Consistency: names and image records live in one file, `db.json`, rewritten atomically
//! (temp → fsync → rename → fsync dir). That rewrite is the commit point of load, import, tag and
//! rmi. Layers and config blobs are made durable *before* the db names them, and removed only
//! *after* the db stops naming them; whatever a crash leaves unreferenced is collected when the
//! store is opened. Layer and snapshot use is counted from the db at run time, never stored.

use super::content::ContentStore;
use super::filters::{parse_rfc3339, parse_timestamp, Filters};
use super::layers::{LayerInfo, LayerStore};
use super::reference::{self, AnyRef, Reference};
use super::snapshot::{self, Mount, SnapshotInfo, SnapshotMode};
use crate::base::error::Context;
use crate::base::{Error, ErrorKind, Result};
use crate::oci::image::{chain_ids, Digest, ImageConfig};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

pub const FORMAT_VERSION: u32 = 1;
/// The graph driver name reported in `docker info` and inspect.
pub const DRIVER_NAME: &str = "overlay2";

/// Per-image metadata that is not part of the (content-addressed) config.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ImageMeta {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<Digest>,
    /// RFC 3339; set by `docker tag` and import, not by load (as Docker does).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_tag_time: Option<String>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Db {
    version: u32,
    #[serde(default)]
    images: BTreeMap<Digest, ImageMeta>,
    #[serde(default)]
    refs: BTreeMap<String, Digest>,
}

/// An image as the store knows it.
#[derive(Debug, Clone)]
pub struct Image {
    pub id: Digest,
    pub config: ImageConfig,
    /// ChainIDs of its layers, bottom first.
    pub chain: Vec<Digest>,
    pub meta: ImageMeta,
}

impl Image {
    pub fn top_chain(&self) -> Option<&Digest> {
        self.chain.last()
    }
    /// Creation time in unix seconds (0 when absent or unparsable).
    pub fn created_unix(&self) -> i64 {
        self.created().map(|t| t.0).unwrap_or(0)
    }
    pub fn created(&self) -> Option<(i64, u32)> {
        self.config.created.as_deref().and_then(parse_rfc3339)
    }
}

/// A container (or view) using an image, as the daemon reports it for delete/prune/df.
#[derive(Debug, Clone)]
pub struct ContainerUse {
    pub id: String,
    pub image: Digest,
    pub running: bool,
}

/// Who uses images: the daemon's containers. Tests pass `&[]`.
pub trait ImageUsers {
    fn users(&self) -> Vec<ContainerUse>;
}

impl ImageUsers for Vec<ContainerUse> {
    fn users(&self) -> Vec<ContainerUse> {
        self.clone()
    }
}

/// No containers at all.
pub struct NoUsers;

impl ImageUsers for NoUsers {
    fn users(&self) -> Vec<ContainerUse> {
        Vec::new()
    }
}

/// One line of `docker rmi` output.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum DeleteItem {
    Untagged(String),
    Deleted(String),
}

/// `docker images` entry (Engine API ImageSummary fields).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ImageSummary {
    pub id: String,
    pub parent_id: String,
    pub repo_tags: Vec<String>,
    pub repo_digests: Vec<String>,
    pub created: i64,
    pub size: i64,
    pub shared_size: i64,
    pub labels: BTreeMap<String, String>,
    pub containers: i64,
}

#[derive(Debug, Clone, Default)]
pub struct ListOptions {
    pub all: bool,
    pub filters: Filters,
    pub shared_size: bool,
    pub container_count: bool,
}

/// `docker history` entry.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct HistoryItem {
    pub id: String,
    pub created: i64,
    pub created_by: String,
    pub tags: Vec<String>,
    pub size: i64,
    pub comment: String,
}

/// What `docker image inspect` reports; the daemon shapes `Config` per API version.
#[derive(Debug, Clone)]
pub struct ImageInspect {
    pub image: Image,
    pub repo_tags: Vec<String>,
    pub repo_digests: Vec<String>,
    pub comment: String,
    pub size: i64,
    pub graph_driver: BTreeMap<String, String>,
    /// RFC 3339 or Go's zero time.
    pub last_tag_time: String,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PruneReport {
    pub images_deleted: Vec<DeleteItem>,
    pub space_reclaimed: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StoreOptions {
    /// None: use overlay when a probe mount works, else copies.
    pub snapshot_mode: Option<SnapshotMode>,
}

pub(crate) struct State {
    pub(crate) images: BTreeMap<Digest, Image>,
    pub(crate) refs: BTreeMap<String, Digest>,
    pub(crate) layers: HashMap<Digest, LayerInfo>,
    pub(crate) snapshots: BTreeMap<String, SnapshotInfo>,
    /// Layers pinned by operations in flight (a save streaming them): never collected.
    pub(crate) leases: HashMap<Digest, usize>,
}

pub struct Store {
    pub(crate) root: PathBuf,
    pub(crate) tmp: PathBuf,
    pub(crate) content: ContentStore,
    pub(crate) layers: LayerStore,
    mode: SnapshotMode,
    pub(crate) state: Mutex<State>,
}

pub(crate) fn no_such_image(r: &str) -> Error {
    Error::not_found(format!("No such image: {r}"))
}

/// Go's zero time as Docker prints an unset LastTagTime.
pub const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

impl Store {
    /// Open (creating if needed) the store at `root`, finishing or rolling back whatever a
    /// crash left half-done.
    pub fn open(root: &Path, opts: StoreOptions) -> Result<Store> {
        crate::base::fs::mkdir_all(root, 0o700)?;
        let tmp = root.join("tmp");
        // Everything in tmp/ is uncommitted work of a previous run (or trash): drop it.
        super::layers::remove_tree(&tmp)?;
        crate::base::fs::mkdir_all(&tmp, 0o700)?;
        crate::base::fs::mkdir_all(&root.join("snapshots"), 0o700)?;
        let version_file = root.join("VERSION");
        match fs::read_to_string(&version_file) {
            Ok(v) if v.trim() == FORMAT_VERSION.to_string() => {}
            Ok(v) => {
                return Err(Error::unsupported(format!(
                    "image store {} has format {}, this berth reads {FORMAT_VERSION}",
                    root.display(),
                    v.trim()
                )))
            }
            Err(_) => crate::base::fs::write_atomic(
                &version_file,
                format!("{FORMAT_VERSION}\n").as_bytes(),
                0o600,
            )?,
        }
        let content = ContentStore::open(root, &tmp)?;
        let layers = LayerStore::open(root, &tmp)?;
        let mode = match opts.snapshot_mode {
            Some(m) => m,
            None if snapshot::probe_overlay(&tmp) => SnapshotMode::Overlay,
            None => SnapshotMode::Copy,
        };
        let store = Store {
            root: root.to_path_buf(),
            tmp,
            content,
            layers,
            mode,
            state: Mutex::new(State {
                images: BTreeMap::new(),
                refs: BTreeMap::new(),
                layers: HashMap::new(),
                snapshots: BTreeMap::new(),
                leases: HashMap::new(),
            }),
        };
        store.recover()?;
        Ok(store)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn mode(&self) -> SnapshotMode {
        self.mode
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        match self.state.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    fn db_path(&self) -> PathBuf {
        self.root.join("db.json")
    }

    fn read_db(&self) -> Result<Db> {
        match fs::read(self.db_path()) {
            Ok(b) => serde_json::from_slice(&b)
                .map_err(|e| Error::internal(format!("corrupt {}: {e}", self.db_path().display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Db {
                version: FORMAT_VERSION,
                ..Default::default()
            }),
            Err(e) => Err(Error::from(e).context(format!("read {}", self.db_path().display()))),
        }
    }

    /// The commit point of every change to names and images.
    pub(crate) fn write_db(&self, st: &State) -> Result<()> {
        let db = Db {
            version: FORMAT_VERSION,
            images: st
                .images
                .iter()
                .map(|(k, v)| (k.clone(), v.meta.clone()))
                .collect(),
            refs: st.refs.clone(),
        };
        crate::base::fs::write_atomic(&self.db_path(), &serde_json::to_vec(&db)?, 0o600)
    }

    /// Rebuild the in-memory state from disk, dropping what is incomplete or unreferenced.
    fn recover(&self) -> Result<()> {
        let mut st = self.lock();
        let (layers, junk) = self.layers.read_all()?;
        for j in junk {
            log::warn!(
                "image store: removing incomplete layer directory {}",
                j.display()
            );
            super::layers::remove_tree(&j)?;
        }
        for l in layers {
            st.layers.insert(l.chain_id.clone(), l);
        }
        // Layers whose parent is gone cannot be used (cannot happen when commits are ordered).
        loop {
            let orphans: Vec<LayerInfo> = st
                .layers
                .values()
                .filter(|l| {
                    l.parent
                        .as_ref()
                        .is_some_and(|p| !st.layers.contains_key(p))
                })
                .cloned()
                .collect();
            if orphans.is_empty() {
                break;
            }
            for o in orphans {
                log::warn!(
                    "image store: removing layer {} whose parent is missing",
                    o.chain_id
                );
                self.layers.remove(&o)?;
                st.layers.remove(&o.chain_id);
            }
        }
        let db = self.read_db()?;
        let mut dirty = false;
        for (id, meta) in db.images {
            match self.load_image(&st, &id, meta) {
                Ok(img) => {
                    st.images.insert(id, img);
                }
                Err(e) => {
                    log::warn!("image store: dropping image {id}: {e}");
                    dirty = true;
                }
            }
        }
        for (r, id) in db.refs {
            if st.images.contains_key(&id) && Reference::parse(&r).is_ok() {
                st.refs.insert(r, id);
            } else {
                dirty = true;
            }
        }
        let ids: HashSet<Digest> = st.images.keys().cloned().collect();
        for img in st.images.values_mut() {
            if img.meta.parent.as_ref().is_some_and(|p| !ids.contains(p)) {
                img.meta.parent = None;
                dirty = true;
            }
        }
        // Snapshots.
        let snaps = self.root.join("snapshots");
        for e in fs::read_dir(&snaps).ctx(|| format!("read {}", snaps.display()))? {
            let e = e?;
            let key = e.file_name().to_string_lossy().into_owned();
            let info: Option<SnapshotInfo> = fs::read(e.path().join("snapshot.json"))
                .ok()
                .and_then(|b| serde_json::from_slice(&b).ok());
            match info {
                Some(i)
                    if i.parent
                        .as_ref()
                        .map_or(true, |p| st.layers.contains_key(p)) =>
                {
                    st.snapshots.insert(key, i);
                }
                _ => {
                    log::warn!("image store: removing incomplete snapshot {key}");
                    self.trash(&e.path())?;
                }
            }
        }
        if dirty {
            self.write_db(&st)?;
        }
        self.collect(&mut st)?;
        self.layers.clean_links()?;
        Ok(())
    }

    fn load_image(&self, st: &State, id: &Digest, meta: ImageMeta) -> Result<Image> {
        let raw = self.content.read(id)?;
        let config = ImageConfig::from_json(&raw)?;
        let chain = chain_ids(config.diff_ids());
        for c in &chain {
            if !st.layers.contains_key(c) {
                return Err(Error::not_found(format!("layer {c} is missing")));
            }
        }
        Ok(Image {
            id: id.clone(),
            config,
            chain,
            meta,
        })
    }

    /// Move a directory into tmp/ (atomic) and delete it.
    pub(crate) fn trash(&self, p: &Path) -> Result<()> {
        match self.move_to_trash(p)? {
            Some(t) => Self::empty_trash(p, &t),
            None => Ok(()),
        }
    }

    /// The removal itself: `p` renamed into tmp/ (None if it was not there).
    fn move_to_trash(&self, p: &Path) -> Result<Option<PathBuf>> {
        let t = self
            .tmp
            .join(format!("trash-{}", &crate::base::id::random_hex_id()[..16]));
        match fs::rename(p, &t) {
            Ok(()) => Ok(Some(t)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::from(e).context(format!("remove {}", p.display()))),
        }
    }

    /// After `move_to_trash(p)` gave `t`: make the move durable, delete the files.
    fn empty_trash(p: &Path, t: &Path) -> Result<()> {
        if let Some(parent) = p.parent() {
            crate::base::fs::sync_dir(parent)?;
        }
        super::layers::remove_tree(t)
    }

    /// Layers in use: every layer of every image, of every snapshot's parent chain, and leases.
    fn used_layers(st: &State) -> HashSet<Digest> {
        let mut used: HashSet<Digest> = HashSet::new();
        for img in st.images.values() {
            used.extend(img.chain.iter().cloned());
        }
        let mut stack: Vec<Digest> = st
            .snapshots
            .values()
            .filter_map(|s| s.parent.clone())
            .collect();
        stack.extend(st.leases.keys().cloned());
        while let Some(c) = stack.pop() {
            if let Some(p) = st.layers.get(&c).and_then(|l| l.parent.clone()) {
                if !used.contains(&p) {
                    stack.push(p);
                }
            }
            used.insert(c);
        }
        used
    }

    /// Remove layers and blobs nothing uses; returns the removed layers, top first.
    pub(crate) fn collect(&self, st: &mut State) -> Result<Vec<LayerInfo>> {
        let used = Self::used_layers(st);
        let mut unused: Vec<LayerInfo> = st
            .layers
            .values()
            .filter(|l| !used.contains(&l.chain_id))
            .cloned()
            .collect();
        // Children before parents (Docker lists removed layers top first).
        let depth = |l: &LayerInfo, layers: &HashMap<Digest, LayerInfo>| {
            let mut d = 0;
            let mut p = l.parent.clone();
            while let Some(x) = p {
                d += 1;
                p = layers.get(&x).and_then(|l| l.parent.clone());
            }
            d
        };
        unused.sort_by_key(|l| std::cmp::Reverse(depth(l, &st.layers)));
        for l in &unused {
            self.layers.remove(l)?;
            st.layers.remove(&l.chain_id);
        }
        // Config blobs of images that are gone.
        let (blobs, junk) = self.content.list()?;
        for b in blobs {
            if !st.images.contains_key(&b) {
                self.content.delete(&b)?;
            }
        }
        for j in junk {
            let _ = fs::remove_file(j);
        }
        Ok(unused)
    }

    /// What must hold on disk at every instant, even right after a crash and before the
    /// store is opened again: names point at images, images at verified configs and complete
    /// layers, layers at their parents; `layers/` holds only complete layers. Read-only.
    pub fn fsck(root: &Path) -> Result<Vec<String>> {
        let mut problems = Vec::new();
        let db: Db = match fs::read(root.join("db.json")) {
            Ok(b) => serde_json::from_slice(&b)
                .map_err(|e| Error::internal(format!("corrupt db.json: {e}")))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Db::default(),
            Err(e) => return Err(e.into()),
        };
        let tmp = root.join("tmp");
        let content = ContentStore::open(root, &tmp)?;
        let layers = LayerStore::open(root, &tmp)?;
        let (present, junk) = layers.read_all()?;
        for j in junk {
            problems.push(format!("incomplete layer directory {}", j.display()));
        }
        let chains: HashSet<Digest> = present.iter().map(|l| l.chain_id.clone()).collect();
        for l in &present {
            if let Some(p) = &l.parent {
                if !chains.contains(p) {
                    problems.push(format!("layer {}: parent {p} missing", l.chain_id));
                }
            }
        }
        for id in db.images.keys() {
            match content
                .read(id)
                .and_then(|raw| ImageConfig::from_json(&raw))
            {
                Ok(cfg) => {
                    for c in chain_ids(cfg.diff_ids()) {
                        if !chains.contains(&c) {
                            problems.push(format!("image {id}: layer {c} missing"));
                        }
                    }
                }
                Err(e) => problems.push(format!("image {id}: {e}")),
            }
        }
        for (r, id) in &db.refs {
            if !db.images.contains_key(id) {
                problems.push(format!("reference {r} names missing image {id}"));
            }
        }
        Ok(problems)
    }

    /// Consistency check of an open store: `fsck`, plus no leftovers (tmp/, links, unused
    /// layers) and snapshots whose layers exist. Empty when the store is sound.
    pub fn check(&self) -> Result<Vec<String>> {
        let st = self.lock();
        let mut problems = Self::fsck(&self.root)?;
        let used = Self::used_layers(&st);
        for l in st.layers.values() {
            if !used.contains(&l.chain_id) {
                problems.push(format!("layer {} is not used by anything", l.chain_id));
            }
            if !self.layers.links_dir().join(&l.link).is_symlink() {
                problems.push(format!("layer {}: link l/{} missing", l.chain_id, l.link));
            }
        }
        for l in self.layers.dangling_links()? {
            problems.push(format!("dangling link l/{l}"));
        }
        if st.leases.is_empty() {
            for e in fs::read_dir(&self.tmp).ctx(|| "read tmp")? {
                let e = e?;
                problems.push(format!("leftover tmp/{}", e.file_name().to_string_lossy()));
            }
        }
        for (k, s) in &st.snapshots {
            if let Some(p) = &s.parent {
                if !st.layers.contains_key(p) {
                    problems.push(format!("snapshot {k}: layer {p} missing"));
                }
            }
        }
        Ok(problems)
    }

    // ----- lookup -------------------------------------------------------------------------

    /// Docker's GetImage: a reference, a full or short ID, or a digest.
    pub fn resolve(&self, name: &str) -> Result<Image> {
        let st = self.lock();
        Self::resolve_in(&st, name)
    }

    pub(crate) fn resolve_in(st: &State, name: &str) -> Result<Image> {
        match reference::parse_any(name) {
            Err(e) => Err(e.with_kind(ErrorKind::InvalidArgument)),
            Ok(AnyRef::Digest(d)) => st
                .images
                .get(&d)
                .cloned()
                .ok_or_else(|| no_such_image(d.as_str())),
            Ok(AnyRef::Named(r)) => {
                let key = r.clone().with_default_tag().full();
                if let Some(img) = st.refs.get(&key).and_then(|id| st.images.get(id)) {
                    return Ok(img.clone());
                }
                if let Some(id) = Self::search_id(st, name) {
                    if let Some(img) = st.images.get(&id) {
                        return Ok(img.clone());
                    }
                }
                Err(no_such_image(&r.with_default_tag().familiar()))
            }
        }
    }

    /// A unique image ID with this (hex, or sha256:hex) prefix.
    fn search_id(st: &State, term: &str) -> Option<Digest> {
        let hex = term.strip_prefix("sha256:").unwrap_or(term);
        if hex.is_empty()
            || !hex
                .bytes()
                .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
        {
            return None;
        }
        let mut hits = st.images.keys().filter(|id| id.hex().starts_with(hex));
        let first = hits.next()?;
        if hits.next().is_some() {
            return None;
        }
        Some(first.clone())
    }

    pub fn image(&self, id: &Digest) -> Option<Image> {
        self.lock().images.get(id).cloned()
    }

    /// The raw config JSON of an image (its ID is the digest of these bytes).
    pub fn config_bytes(&self, id: &Digest) -> Result<Vec<u8>> {
        self.content.read(id)
    }

    pub(crate) fn refs_of(st: &State, id: &Digest) -> Vec<Reference> {
        let mut v: Vec<Reference> = st
            .refs
            .iter()
            .filter(|(_, v)| *v == id)
            .filter_map(|(k, _)| Reference::parse(k).ok())
            .collect();
        v.sort_by_key(|r| r.full());
        v
    }

    fn children(st: &State, id: &Digest) -> usize {
        st.images
            .values()
            .filter(|i| i.meta.parent.as_ref() == Some(id))
            .count()
    }

    fn image_size(st: &State, img: &Image) -> i64 {
        img.chain
            .iter()
            .filter_map(|c| st.layers.get(c))
            .map(|l| l.size as i64)
            .sum()
    }

    // ----- list, inspect, history, df ------------------------------------------------------

    pub fn list(&self, opts: &ListOptions, users: &dyn ImageUsers) -> Result<Vec<ImageSummary>> {
        let f = &opts.filters;
        f.validate(&["dangling", "label", "before", "since", "reference", "until"])?;
        let dangling_only = f.bool_or("dangling", false)?;
        let st = self.lock();
        let mut before: Option<(i64, u32)> = None;
        for v in f.get("before") {
            let img = Self::resolve_in(&st, &v)?;
            if let Some(c) = img.created() {
                if before.map_or(true, |b| b > c) {
                    before = Some(c);
                }
            }
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        for v in f.get("until") {
            let t = parse_timestamp(&v, now)?;
            if before.map_or(true, |b| b > t) {
                before = Some(t);
            }
        }
        let mut since: Option<(i64, u32)> = None;
        for v in f.get("since") {
            let img = Self::resolve_in(&st, &v)?;
            if let Some(c) = img.created() {
                if since.map_or(true, |s| s < c) {
                    since = Some(c);
                }
            }
        }
        let patterns = f.get("reference");
        let all_users = if opts.container_count {
            users.users()
        } else {
            Vec::new()
        };
        let mut out = Vec::new();
        for img in st.images.values() {
            if dangling_only && Self::children(&st, &img.id) > 0 {
                continue;
            }
            if let Some(b) = before {
                if img.created().map_or(true, |c| c >= b) {
                    continue;
                }
            }
            if let Some(s) = since {
                if img.created().map_or(true, |c| c <= s) {
                    continue;
                }
            }
            if f.contains("label")
                && (img.config.config.is_none() || !f.match_kv("label", img.config.labels()))
            {
                continue;
            }
            let mut tags = Vec::new();
            let mut digests = Vec::new();
            for r in Self::refs_of(&st, &img.id) {
                if !patterns.is_empty() {
                    let mut found = false;
                    for p in &patterns {
                        if reference::familiar_match(p, &r)? {
                            found = true;
                            break;
                        }
                    }
                    if !found {
                        continue;
                    }
                }
                if r.is_canonical() {
                    digests.push(r.familiar());
                }
                if r.tag.is_some() {
                    tags.push(r.familiar());
                }
            }
            if tags.is_empty() && digests.is_empty() {
                if opts.all || Self::children(&st, &img.id) == 0 {
                    if f.contains("dangling") && !dangling_only {
                        continue;
                    }
                    if !patterns.is_empty() {
                        continue;
                    }
                } else {
                    continue;
                }
            } else if dangling_only && !tags.is_empty() {
                continue;
            }
            out.push(ImageSummary {
                id: img.id.to_string(),
                parent_id: img
                    .meta
                    .parent
                    .as_ref()
                    .map(|p| p.to_string())
                    .unwrap_or_default(),
                repo_tags: tags,
                repo_digests: digests,
                created: img.created_unix(),
                size: Self::image_size(&st, img),
                shared_size: -1,
                labels: img.config.labels().cloned().unwrap_or_default(),
                containers: if opts.container_count {
                    all_users.iter().filter(|u| u.image == img.id).count() as i64
                } else {
                    -1
                },
            });
        }
        if opts.shared_size {
            let mut refs: HashMap<&Digest, usize> = HashMap::new();
            for img in st.images.values() {
                for c in &img.chain {
                    *refs.entry(c).or_default() += 1;
                }
            }
            for s in out.iter_mut() {
                let Ok(id) = Digest::parse(&s.id) else {
                    continue;
                };
                let img = &st.images[&id];
                s.shared_size = img
                    .chain
                    .iter()
                    .filter(|c| refs.get(c).copied().unwrap_or(0) > 1)
                    .filter_map(|c| st.layers.get(c))
                    .map(|l| l.size as i64)
                    .sum();
            }
        }
        out.sort_by(|a, b| b.created.cmp(&a.created).then_with(|| a.id.cmp(&b.id)));
        Ok(out)
    }

    pub fn inspect(&self, name: &str) -> Result<ImageInspect> {
        let st = self.lock();
        let img = Self::resolve_in(&st, name)?;
        let mut tags = Vec::new();
        let mut digests = Vec::new();
        for r in Self::refs_of(&st, &img.id) {
            if r.is_canonical() {
                digests.push(r.familiar());
            } else if r.tag.is_some() {
                tags.push(r.familiar());
            }
        }
        let mut comment = img.config.comment.clone();
        if comment.is_empty() {
            comment = img
                .config
                .history
                .last()
                .map(|h| h.comment.clone())
                .unwrap_or_default();
        }
        let mut gd = BTreeMap::new();
        if let Some(top) = img.top_chain() {
            let lowers: Vec<String> = img
                .chain
                .iter()
                .rev()
                .skip(1)
                .map(|c| self.layers.diff_dir(c).to_string_lossy().into_owned())
                .collect();
            if !lowers.is_empty() {
                gd.insert("LowerDir".to_string(), lowers.join(":"));
            }
            gd.insert(
                "MergedDir".to_string(),
                self.layers
                    .dir(top)
                    .join("merged")
                    .to_string_lossy()
                    .into_owned(),
            );
            gd.insert(
                "UpperDir".to_string(),
                self.layers.diff_dir(top).to_string_lossy().into_owned(),
            );
            gd.insert(
                "WorkDir".to_string(),
                self.layers
                    .dir(top)
                    .join("work")
                    .to_string_lossy()
                    .into_owned(),
            );
        }
        Ok(ImageInspect {
            size: Self::image_size(&st, &img),
            last_tag_time: img
                .meta
                .last_tag_time
                .clone()
                .unwrap_or_else(|| ZERO_TIME.to_string()),
            image: img,
            repo_tags: tags,
            repo_digests: digests,
            comment,
            graph_driver: gd,
        })
    }

    pub fn history(&self, name: &str) -> Result<Vec<HistoryItem>> {
        let st = self.lock();
        let img = Self::resolve_in(&st, name)?;
        let mut items: Vec<HistoryItem> = Vec::new();
        let mut n = 0;
        for h in &img.config.history {
            let mut size = 0;
            if !h.empty_layer {
                let c = img.chain.get(n).ok_or_else(|| {
                    Error::invalid("too many non-empty layers in History section")
                })?;
                size = st.layers.get(c).map(|l| l.size as i64).unwrap_or(0);
                n += 1;
            }
            items.insert(
                0,
                HistoryItem {
                    id: "<missing>".into(),
                    created: h
                        .created
                        .as_deref()
                        .and_then(parse_rfc3339)
                        .map(|t| t.0)
                        .unwrap_or(0),
                    created_by: h.created_by.clone(),
                    tags: Vec::new(),
                    size,
                    comment: h.comment.clone(),
                },
            );
        }
        let mut cur = Some(img);
        for item in items.iter_mut() {
            let Some(i) = cur.take() else { break };
            item.id = i.id.to_string();
            item.tags = Self::refs_of(&st, &i.id)
                .into_iter()
                .filter(|r| r.is_tagged())
                .map(|r| r.familiar())
                .collect();
            cur = i
                .meta
                .parent
                .as_ref()
                .and_then(|p| st.images.get(p))
                .cloned();
        }
        Ok(items)
    }

    /// `docker system df` (images part): total layer bytes and every image with shared sizes
    /// and container counts.
    pub fn disk_usage(&self, users: &dyn ImageUsers) -> Result<(i64, Vec<ImageSummary>)> {
        let total: i64 = self.lock().layers.values().map(|l| l.size as i64).sum();
        let images = self.list(
            &ListOptions {
                all: true,
                filters: Filters::default(),
                shared_size: true,
                container_count: true,
            },
            users,
        )?;
        Ok((total, images))
    }

    // ----- tag, delete, prune ---------------------------------------------------------------

    /// `docker tag`: point `repo:tag` (tag defaults to latest) at the image `name`.
    pub fn tag(&self, name: &str, repo: &str, tag: &str) -> Result<()> {
        let r = reference::repo_tag(repo, tag)?
            .ok_or_else(|| Error::invalid("repository name must have at least one component"))?;
        if r.familiar_name() == "sha256" {
            return Err(Error::invalid(
                "refusing to create an ambiguous tag using digest algorithm as name",
            ));
        }
        let mut st = self.lock();
        let img = Self::resolve_in(&st, name).map_err(|e| e.with_kind(ErrorKind::NotFound))?;
        st.refs.insert(r.full(), img.id.clone());
        if let Some(i) = st.images.get_mut(&img.id) {
            i.meta.last_tag_time = Some(crate::base::time::now_rfc3339());
        }
        self.write_db(&st)
    }

    /// `docker rmi` with Docker's rules (see moby daemon/images/image_delete.go).
    pub fn delete(
        &self,
        name: &str,
        force: bool,
        prune: bool,
        users: &dyn ImageUsers,
    ) -> Result<Vec<DeleteItem>> {
        let mut st = self.lock();
        let users = users.users();
        self.delete_locked(&mut st, name, force, prune, &users)
    }

    fn delete_locked(
        &self,
        st: &mut State,
        name: &str,
        force: bool,
        prune: bool,
        users: &[ContainerUse],
    ) -> Result<Vec<DeleteItem>> {
        let img = Self::resolve_in(st, name)?;
        let id = img.id.clone();
        let mut records = Vec::new();
        let mut repo_refs = Self::refs_of(st, &id);
        let by_id = is_id_prefix(id.as_str(), name);
        let mut removed_repository_ref = false;
        if !by_id {
            if !force && is_single_reference(&repo_refs) {
                if let Some(c) = users.iter().find(|u| u.image == id) {
                    return Err(Error::conflict(format!(
                        "conflict: unable to remove repository reference \"{name}\" (must force) - container {} is using its referenced image {}",
                        short(&c.id),
                        id.short()
                    )));
                }
            }
            let parsed = Reference::parse_normalized(name)?.with_default_tag();
            st.refs.remove(&parsed.full());
            records.push(DeleteItem::Untagged(parsed.familiar()));
            repo_refs = Self::refs_of(st, &id);
            if !parsed.is_canonical()
                && !repo_refs
                    .iter()
                    .any(|r| !r.is_canonical() && r.name() == parsed.name())
            {
                let mut remaining = Vec::new();
                for r in repo_refs {
                    if r.is_canonical() && r.name() == parsed.name() {
                        st.refs.remove(&r.full());
                        records.push(DeleteItem::Untagged(r.familiar()));
                    } else {
                        remaining.push(r);
                    }
                }
                repo_refs = remaining;
            }
            if !repo_refs.is_empty() {
                self.write_db(st)?;
                return Ok(records);
            }
            removed_repository_ref = true;
        } else if is_single_reference(&repo_refs) {
            let mask = if force { HARD } else { HARD | STOPPED };
            if let Some(c) = Self::conflict(st, &id, mask, users) {
                return Err(Error::conflict(c.message()));
            }
            for r in repo_refs {
                st.refs.remove(&r.full());
                records.push(DeleteItem::Untagged(r.familiar()));
            }
        }
        match self.delete_helper(
            st,
            &id,
            &mut records,
            force,
            prune,
            removed_repository_ref,
            users,
        ) {
            Ok(()) => {}
            Err(e) => {
                if !records.is_empty() {
                    // Untagging already happened in memory; keep memory and disk in step.
                    self.write_db(st)?;
                }
                return Err(e);
            }
        }
        Ok(records)
    }

    fn conflict(st: &State, id: &Digest, mask: u8, users: &[ContainerUse]) -> Option<Conflict> {
        if mask & CHILD != 0 && Self::children(st, id) > 0 {
            return Some(Conflict {
                hard: true,
                used: false,
                id: id.clone(),
                msg: "image has dependent child images".into(),
            });
        }
        if mask & RUNNING != 0 {
            if let Some(c) = users.iter().find(|u| u.image == *id && u.running) {
                return Some(Conflict {
                    hard: true,
                    used: true,
                    id: id.clone(),
                    msg: format!("image is being used by running container {}", short(&c.id)),
                });
            }
        }
        if mask & REFERENCE != 0 && !Self::refs_of(st, id).is_empty() {
            return Some(Conflict {
                hard: false,
                used: false,
                id: id.clone(),
                msg: "image is referenced in multiple repositories".into(),
            });
        }
        if mask & STOPPED != 0 {
            if let Some(c) = users.iter().find(|u| u.image == *id && !u.running) {
                return Some(Conflict {
                    hard: false,
                    used: true,
                    id: id.clone(),
                    msg: format!("image is being used by stopped container {}", short(&c.id)),
                });
            }
        }
        None
    }

    #[allow(clippy::too_many_arguments)]
    fn delete_helper(
        &self,
        st: &mut State,
        id: &Digest,
        records: &mut Vec<DeleteItem>,
        force: bool,
        prune: bool,
        quiet: bool,
        users: &[ContainerUse],
    ) -> Result<()> {
        let mask = if force { HARD } else { HARD | SOFT };
        if let Some(c) = Self::conflict(st, id, mask, users) {
            let dangling = Self::refs_of(st, id).is_empty() && Self::children(st, id) == 0;
            if quiet && (!dangling || c.used) {
                return self.write_db(st);
            }
            return Err(Error::conflict(c.message()));
        }
        let parent = st.images.get(id).and_then(|i| i.meta.parent.clone());
        for r in Self::refs_of(st, id) {
            st.refs.remove(&r.full());
            records.push(DeleteItem::Untagged(r.with_default_tag().familiar()));
        }
        st.images.remove(id);
        self.write_db(st)?;
        records.push(DeleteItem::Deleted(id.to_string()));
        for l in self.collect(st)? {
            records.push(DeleteItem::Deleted(l.chain_id.to_string()));
        }
        match parent {
            Some(p) if prune && st.images.contains_key(&p) => {
                self.delete_helper(st, &p, records, false, true, true, users)
            }
            _ => Ok(()),
        }
    }

    /// `docker image prune` (`dangling=false` filter: every unused image, as `-a`).
    pub fn prune(&self, filters: &Filters, users: &dyn ImageUsers) -> Result<PruneReport> {
        filters.validate(&["dangling", "label", "label!", "until"])?;
        let dangling_only = filters.bool_or("dangling", true)?;
        let until = match filters.get("until").as_slice() {
            [] => None,
            [one] => {
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_secs() as i64)
                    .unwrap_or(0);
                Some(parse_timestamp(one, now)?)
            }
            _ => return Err(Error::invalid("more than one until filter specified")),
        };
        let users = users.users();
        let mut st = self.lock();
        let sizes: HashMap<Digest, u64> =
            st.layers.iter().map(|(k, v)| (k.clone(), v.size)).collect();
        let mut top: Vec<Digest> = Vec::new();
        for img in st.images.values() {
            if dangling_only && Self::children(&st, &img.id) > 0 {
                continue;
            }
            if Self::refs_of(&st, &img.id).is_empty() && Self::children(&st, &img.id) != 0 {
                continue;
            }
            if let Some(u) = until {
                if img.created().map_or(true, |c| c > u) {
                    continue;
                }
            }
            if img.config.config.is_some() {
                if !filters.match_kv("label", img.config.labels()) {
                    continue;
                }
                if filters.contains("label!") && filters.match_kv("label!", img.config.labels()) {
                    continue;
                }
            }
            top.push(img.id.clone());
        }
        let mut rep = PruneReport::default();
        for id in top {
            if !st.images.contains_key(&id) {
                continue;
            }
            let refs = Self::refs_of(&st, &id);
            if !refs.is_empty() {
                let should = !dangling_only || !refs.iter().any(|r| r.is_tagged());
                if should {
                    for r in refs {
                        match self.delete_locked(&mut st, &r.full(), false, true, &users) {
                            Ok(recs) => rep.images_deleted.extend(recs),
                            Err(e) if e.kind() == ErrorKind::Conflict => {}
                            Err(e) => log::warn!("failed to prune image {}: {e}", r.familiar()),
                        }
                    }
                }
            } else {
                match self.delete_locked(&mut st, id.hex(), false, true, &users) {
                    Ok(recs) => rep.images_deleted.extend(recs),
                    Err(e) if e.kind() == ErrorKind::Conflict => {}
                    Err(e) => log::warn!("failed to prune image {id}: {e}"),
                }
            }
        }
        for d in &rep.images_deleted {
            if let DeleteItem::Deleted(x) = d {
                if let Ok(dg) = Digest::parse(x) {
                    rep.space_reclaimed += sizes.get(&dg).copied().unwrap_or(0);
                }
            }
        }
        Ok(rep)
    }

    // ----- snapshots -------------------------------------------------------------------------

    /// Create the root file system of a container (or a read-only view) from an image, as
    /// mounts for the caller to make. `key` names it (the container ID).
    pub fn prepare_snapshot(&self, key: &str, image: &str, read_only: bool) -> Result<Vec<Mount>> {
        if !crate::base::id::valid_container_id(key) {
            return Err(Error::invalid(format!("invalid snapshot key {key:?}")));
        }
        let (img, layer_dirs) = {
            let st = self.lock();
            if st.snapshots.contains_key(key) {
                return Err(Error::conflict(format!("snapshot {key} already exists")));
            }
            let img = Self::resolve_in(&st, image)?;
            let dirs: Vec<PathBuf> = img.chain.iter().map(|c| self.layers.diff_dir(c)).collect();
            (img, dirs)
        };
        let work = self
            .tmp
            .join(format!("snap-{}", &crate::base::id::random_hex_id()[..16]));
        crate::base::fs::mkdir_all(&work, 0o700)?;
        // A container's snapshot (writable, over layers) gets the shared init layer.
        let init = self.mode == SnapshotMode::Overlay && !read_only && img.top_chain().is_some();
        let info = SnapshotInfo {
            key: key.to_string(),
            image: img.id.clone(),
            parent: img.top_chain().cloned(),
            mode: self.mode,
            read_only,
            init,
        };
        let res = (|| -> Result<()> {
            if let (true, Some(top)) = (init, img.top_chain()) {
                self.layers.ensure_init(top)?;
            }
            match self.mode {
                SnapshotMode::Overlay => {
                    crate::base::fs::mkdir_all(&work.join("upper"), 0o755)?;
                    crate::base::fs::mkdir_all(&work.join("work"), 0o700)?;
                }
                SnapshotMode::Copy => {
                    crate::base::fs::mkdir_all(&work.join("rootfs"), 0o755)?;
                    snapshot::merge_layers(&layer_dirs, &work.join("rootfs"))?;
                }
            }
            super::content::write_synced(&work.join("snapshot.json"), &serde_json::to_vec(&info)?)?;
            crate::base::fs::sync_dir(&work)
        })();
        if let Err(e) = res {
            let _ = fs::remove_dir_all(&work);
            return Err(e);
        }
        let mut st = self.lock();
        if st.snapshots.contains_key(key) || !img.chain.iter().all(|c| st.layers.contains_key(c)) {
            let _ = fs::remove_dir_all(&work);
            return Err(Error::conflict(format!(
                "snapshot {key}: image {} changed while preparing",
                img.id
            )));
        }
        let dest = self.root.join("snapshots").join(key);
        fs::rename(&work, &dest).ctx(|| format!("commit snapshot {key}"))?;
        st.snapshots.insert(key.to_string(), info.clone());
        drop(st);
        // Durable before the caller learns of it; the lock is not held for the fsync.
        if let Err(e) = crate::base::fs::sync_dir(&self.root.join("snapshots")) {
            let _ = self.remove_snapshot(key);
            return Err(e);
        }
        self.snapshot_mounts(key)
    }

    /// The mounts of an existing snapshot.
    pub fn snapshot_mounts(&self, key: &str) -> Result<Vec<Mount>> {
        let st = self.lock();
        let info = st
            .snapshots
            .get(key)
            .ok_or_else(|| Error::not_found(format!("snapshot {key} does not exist")))?;
        let dir = self.root.join("snapshots").join(key);
        match info.mode {
            SnapshotMode::Copy => {
                let mut options = vec!["rbind".to_string()];
                options.push(if info.read_only { "ro" } else { "rw" }.to_string());
                Ok(vec![Mount {
                    typ: "bind".into(),
                    source: dir.join("rootfs").to_string_lossy().into_owned(),
                    options,
                    cwd: None,
                }])
            }
            SnapshotMode::Overlay => {
                let mut chain = Vec::new();
                let mut c = info.parent.clone();
                while let Some(x) = c {
                    let l = st.layers.get(&x).ok_or_else(|| {
                        Error::internal(format!("snapshot {key}: layer {x} missing"))
                    })?;
                    chain.push(l.link.clone());
                    c = l.parent.clone();
                }
                chain.reverse();
                if chain.is_empty() {
                    // An image without layers: an empty lower directory.
                    let empty = dir.join("empty");
                    crate::base::fs::mkdir_all(&empty, 0o755)?;
                    let mut m = snapshot::overlay_mount(
                        &self.root,
                        &[],
                        None,
                        &dir.join("upper"),
                        &dir.join("work"),
                        info.read_only,
                    );
                    m.options[0] = format!("lowerdir={}", empty.display());
                    return Ok(vec![m]);
                }
                // Made again if it went missing (it is derived data).
                let init = match (&info.parent, info.init) {
                    (Some(top), true) => {
                        self.layers.ensure_init(top)?;
                        Some(
                            self.layers
                                .init_dir(top)
                                .strip_prefix(&self.root)
                                .map(Path::to_path_buf)
                                .map_err(|_| {
                                    Error::internal("layer store outside the image store")
                                })?,
                        )
                    }
                    _ => None,
                };
                Ok(vec![snapshot::overlay_mount(
                    &self.root,
                    &chain,
                    init.as_deref(),
                    &dir.join("upper"),
                    &dir.join("work"),
                    info.read_only,
                )])
            }
        }
    }

    /// Remove a snapshot (unmounted by the caller) and the layers only it kept.
    pub fn remove_snapshot(&self, key: &str) -> Result<()> {
        let dir = self.root.join("snapshots").join(key);
        let mut st = self.lock();
        let Some(info) = st.snapshots.remove(key) else {
            return Err(Error::not_found(format!("snapshot {key} does not exist")));
        };
        let parent_used = info
            .parent
            .as_ref()
            .is_none_or(|p| Self::used_layers(&st).contains(p));
        if !parent_used {
            // The last user of layers whose image is gone: they go with it, in order.
            self.trash(&dir)?;
            self.collect(&mut st)?;
            return Ok(());
        }
        // The common case: the rename is the removal (atomic, under the lock); making it
        // durable and deleting the files need no lock, so concurrent creates and removals of
        // other containers do not wait on them.
        let moved = self.move_to_trash(&dir)?;
        drop(st);
        match moved {
            Some(t) => Self::empty_trash(&dir, &t),
            None => Ok(()),
        }
    }

    pub fn snapshots(&self) -> Vec<SnapshotInfo> {
        self.lock().snapshots.values().cloned().collect()
    }

    /// Pin layers while an operation reads them without holding the lock.
    pub(crate) fn lease(&self, chains: &[Digest]) -> Lease<'_> {
        let mut st = self.lock();
        for c in chains {
            *st.leases.entry(c.clone()).or_default() += 1;
        }
        Lease {
            store: self,
            chains: chains.to_vec(),
        }
    }

    pub fn layer(&self, chain: &Digest) -> Option<LayerInfo> {
        self.lock().layers.get(chain).cloned()
    }

    /// How many images the store holds (`docker info` Images).
    pub fn image_count(&self) -> usize {
        self.lock().images.len()
    }

    /// Every layer in the store.
    pub fn all_layers(&self) -> Vec<LayerInfo> {
        self.lock().layers.values().cloned().collect()
    }

    pub fn layer_dir(&self, chain: &Digest) -> PathBuf {
        self.layers.diff_dir(chain)
    }
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("root", &self.root)
            .field("mode", &self.mode)
            .finish()
    }
}

pub(crate) struct Lease<'a> {
    store: &'a Store,
    chains: Vec<Digest>,
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        let mut st = self.store.lock();
        let mut freed = false;
        for c in &self.chains {
            if let Some(n) = st.leases.get_mut(c) {
                *n -= 1;
                if *n == 0 {
                    st.leases.remove(c);
                    freed = true;
                }
            }
        }
        if freed {
            if let Err(e) = self.store.collect(&mut st) {
                log::warn!("image store: collecting released layers: {e}");
            }
        }
    }
}

const CHILD: u8 = 1;
const RUNNING: u8 = 2;
const REFERENCE: u8 = 4;
const STOPPED: u8 = 8;
const HARD: u8 = CHILD | RUNNING;
const SOFT: u8 = REFERENCE | STOPPED;

struct Conflict {
    hard: bool,
    used: bool,
    id: Digest,
    msg: String,
}

impl Conflict {
    fn message(&self) -> String {
        let force = if self.hard {
            "cannot be forced"
        } else {
            "must be forced"
        };
        format!(
            "conflict: unable to delete {} ({force}) - {}",
            self.id.short(),
            self.msg
        )
    }
}

fn short(id: &str) -> &str {
    let id = id.strip_prefix("sha256:").unwrap_or(id);
    &id[..id.len().min(12)]
}

fn is_id_prefix(id: &str, prefix: &str) -> bool {
    id.starts_with(prefix)
        || id
            .split_once(':')
            .is_some_and(|(_, hex)| hex.starts_with(prefix))
}

/// All references from one repository and at most one tag (false for none).
fn is_single_reference(refs: &[Reference]) -> bool {
    if refs.len() <= 1 {
        return refs.len() == 1;
    }
    let mut single: Option<&Reference> = None;
    let mut canonical: BTreeSet<String> = BTreeSet::new();
    for r in refs {
        if r.is_canonical() {
            canonical.insert(r.name());
        } else if single.is_none() {
            single = Some(r);
        } else {
            return false;
        }
    }
    let single = single.unwrap_or(&refs[0]);
    canonical.len() == 1 && canonical.contains(&single.name())
}
