//! `docker pull`: resolve the reference to one image manifest (through a manifest list to this
//! host's platform), fetch the config, then download the missing layers in parallel, each
//! extracted while it streams in (the bytes go straight from the socket through the
//! decompressor into a staging directory) and resumed with a `Range` request when the
//! connection breaks. Every blob and manifest is checked against its digest, every layer
//! against the config's diff ID, before anything becomes visible.
//!
//! Crash safety comes from the store's commit order: layers are staged in `tmp/` (dropped when
//! the store is opened), published by rename, and named by the image only in the final db
//! write; a layer published by a pull that died before that write is unreferenced and
//! collected at the next open. A retry starts over and succeeds.

use super::client::Registry;
use super::metadata::BlobSource;
use super::progress::{Message, Progress, Throttle};
use super::{manifest, AuthConfig, Service, StoreRef};
use crate::base::{Error, ErrorKind, Result};
use crate::image::apply::{apply_blob, Applied};
use crate::image::layers::{Prepared, Staging};
use crate::image::reference::Reference;
use crate::image::Store;
use crate::oci::image::{chain_ids, Descriptor, Digest, ImageConfig, Manifest};
use std::collections::HashMap;
use std::io::{self, Read};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Attempts per layer before a pull gives up (moby's maxDownloadAttempts).
const ATTEMPTS: u32 = 5;
/// A download that receives nothing for this long is retried.
const STALL: Duration = Duration::from_secs(60);
/// Largest config blob read.
const CONFIG_MAX: usize = 16 << 20;
/// Bytes asked of the socket per read (and per message to the extractor).
const READ_SIZE: usize = 256 * 1024;

/// A pull resolved to one image manifest; `run` downloads it.
#[derive(Debug)]
pub struct PullPlan {
    registry: Registry,
    reference: Reference,
    scopes: Vec<String>,
    /// What the tag pointed at (a manifest list's digest for a multi-platform tag).
    pub manifest_digest: Digest,
    pub manifest: Manifest,
}

fn verification_failed(d: &Digest) -> Error {
    Error::invalid(format!("manifest verification failed for digest {d}"))
}

impl Service {
    /// Everything that can fail before Docker starts its progress stream: reaching the
    /// registry, authorization, and the manifest.
    pub async fn prepare_pull(&self, reference: &Reference, creds: AuthConfig) -> Result<PullPlan> {
        let reference = reference.clone().with_default_tag();
        let registry = self.connect(&reference.domain, creds).await?;
        let scopes = vec![format!("repository:{}:pull", reference.path)];
        let want = match &reference.digest {
            Some(d) => d.to_string(),
            None => reference.tag.clone().unwrap_or_else(|| "latest".into()),
        };
        let not_found = |e: Error| {
            if e.kind() == ErrorKind::NotFound {
                Error::not_found(format!(
                    "manifest for {} not found: {}",
                    reference.familiar(),
                    e.message()
                ))
            } else {
                e
            }
        };
        let (raw, media, claimed) = registry
            .get_manifest(&reference.path, &want, &scopes)
            .await
            .map_err(not_found)?;
        let top = Digest::of(&raw);
        if reference.digest.as_ref().is_some_and(|d| *d != top)
            || claimed
                .as_deref()
                .and_then(|c| Digest::parse(c).ok())
                .is_some_and(|c| c != top)
        {
            return Err(verification_failed(&top));
        }
        let manifest = match manifest::parse(&raw, &media)?.0 {
            manifest::Document::Image(m) => m,
            manifest::Document::Index(idx) => {
                let (os, arch) = manifest::host_platform();
                let desc = manifest::select(&idx, os, arch)?;
                let (raw, media, _) = registry
                    .get_manifest(&reference.path, desc.digest.as_str(), &scopes)
                    .await
                    .map_err(not_found)?;
                if Digest::of(&raw) != desc.digest {
                    return Err(verification_failed(&desc.digest));
                }
                match manifest::parse(&raw, &media)?.0 {
                    manifest::Document::Image(m) => m,
                    manifest::Document::Index(_) => {
                        return Err(Error::invalid(format!(
                            "manifest list {} points at another list",
                            desc.digest
                        )))
                    }
                }
            }
        };
        Ok(PullPlan {
            registry,
            reference,
            scopes,
            manifest_digest: top,
            manifest,
        })
    }

    /// Download and commit the image; reports as dockerd does. Returns the image ID.
    pub async fn pull(&self, sref: &StoreRef, plan: PullPlan, out: &Progress) -> Result<Digest> {
        let store = sref.store();
        let r = &plan.reference;
        let label = match &r.digest {
            Some(d) => d.to_string(),
            None => r.tag.clone().unwrap_or_default(),
        };
        out.send(Message::with_id(&label, format!("Pulling from {}", r.path)));
        let mut names = vec![Reference {
            digest: None,
            ..r.clone()
        }];
        if r.digest.is_some() {
            names = vec![Reference {
                tag: None,
                ..r.clone()
            }];
        } else {
            names.push(Reference {
                tag: None,
                digest: Some(plan.manifest_digest.clone()),
                ..r.clone()
            });
        }
        let before = store.resolve(&names[0].full()).ok().map(|i| i.id);
        let m = &plan.manifest;
        let id = m.config.digest.clone();
        if let Some(img) = store.image(&id) {
            let chain = img.chain.clone();
            let st = sref.clone();
            let cfg = store.config_bytes(&id)?;
            let n = names.clone();
            crate::http::rt::unblock(move || {
                st.store().commit_image(
                    &cfg,
                    img.config,
                    chain.into_iter().map(|c| (c, None)).collect(),
                    &n,
                    None,
                    false,
                )
            })
            .await?;
        } else {
            self.download_and_commit(sref, &plan, &names, out).await?;
        }
        out.send(Message::text(format!("Digest: {}", plan.manifest_digest)));
        let what = if before.as_ref() == Some(&id) {
            "Image is up to date for"
        } else {
            "Downloaded newer image for"
        };
        out.send(Message::text(format!(
            "Status: {what} {}",
            names[0].familiar()
        )));
        Ok(id)
    }

    async fn download_and_commit(
        &self,
        sref: &StoreRef,
        plan: &PullPlan,
        names: &[Reference],
        out: &Progress,
    ) -> Result<()> {
        let store = sref.store();
        let m = &plan.manifest;
        let raw_config = fetch_small(
            &plan.registry,
            &plan.reference.path,
            &m.config.digest,
            &plan.scopes,
        )
        .await?;
        let config = ImageConfig::from_json(&raw_config)?;
        if !config.os().is_empty() && config.os() != "linux" {
            return Err(Error::invalid(format!(
                "image operating system \"{}\" cannot be used on this platform",
                config.os()
            )));
        }
        let diff_ids = config.diff_ids().to_vec();
        if diff_ids.len() != m.layers.len() {
            return Err(Error::invalid(
                "layers from manifest don't match image configuration",
            ));
        }
        let chain = chain_ids(&diff_ids);
        let first_missing = chain
            .iter()
            .position(|c| store.layer(c).is_none())
            .unwrap_or(chain.len());
        let short = |d: &Descriptor| d.digest.short().to_string();
        for (i, l) in m.layers.iter().enumerate() {
            out.send(Message::layer(
                &short(l),
                if i < first_missing {
                    "Already exists"
                } else {
                    "Pulling fs layer"
                },
            ));
        }
        // One download per distinct blob.
        let mut jobs: Vec<Descriptor> = Vec::new();
        for l in &m.layers[first_missing..] {
            if !jobs.iter().any(|j| j.digest == l.digest) {
                jobs.push(l.clone());
            }
        }
        let limit = self.opts.max_downloads.max(1);
        for j in jobs.iter().skip(limit) {
            out.send(Message::layer(&short(j), "Waiting"));
        }
        let abort = AtomicBool::new(false);
        let queue = std::sync::Mutex::new(
            jobs.clone()
                .into_iter()
                .collect::<std::collections::VecDeque<_>>(),
        );
        let results: std::sync::Mutex<HashMap<Digest, Result<(Staging, Applied)>>> =
            std::sync::Mutex::new(HashMap::new());
        let worker = || async {
            loop {
                let next = lock(&queue).pop_front();
                let Some(desc) = next else { break };
                let r = if abort.load(Ordering::Relaxed) {
                    Err(Error::internal("pull aborted"))
                } else {
                    fetch_layer(
                        &plan.registry,
                        &plan.reference.path,
                        &plan.scopes,
                        &desc,
                        sref,
                        out,
                        &abort,
                    )
                    .await
                };
                if r.is_err() {
                    abort.store(true, Ordering::Relaxed);
                }
                lock(&results).insert(desc.digest.clone(), r);
            }
        };
        join_all(
            (0..limit.min(jobs.len()))
                .map(|_| {
                    Box::pin(worker())
                        as std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + '_>>
                })
                .collect(),
        )
        .await;
        let mut done: HashMap<Digest, (Staging, Applied)> = HashMap::new();
        let mut first_err = None;
        for (d, r) in std::mem::take(&mut *lock(&results)) {
            match r {
                Ok(x) => {
                    done.insert(d, x);
                }
                Err(e) if e.message() == "pull aborted" => {}
                Err(e) => {
                    first_err.get_or_insert(e);
                }
            }
        }
        let cleanup = |done: HashMap<Digest, (Staging, Applied)>| {
            for (_, (s, _)) in done {
                let _ = std::fs::remove_dir_all(&s.path);
            }
        };
        if let Some(e) = first_err {
            cleanup(done);
            return Err(e);
        }
        for (i, l) in m.layers.iter().enumerate().skip(first_missing) {
            let Some((_, a)) = done.get(&l.digest) else {
                cleanup(done);
                return Err(Error::internal(format!(
                    "layer {} was not downloaded",
                    l.digest
                )));
            };
            if a.diff_id != diff_ids[i] {
                cleanup(done);
                return Err(Error::invalid(
                    "layers from manifest don't match image configuration",
                ));
            }
        }
        // Commit (blocking file work): prepare in order, sync once, publish and name.
        let st = sref.clone();
        let layers: Vec<Descriptor> = m.layers.clone();
        let names = names.to_vec();
        let raw = raw_config.clone();
        let ids = diff_ids.clone();
        crate::http::rt::unblock(move || {
            commit(
                st.store(),
                raw,
                config,
                &layers,
                &ids,
                first_missing,
                done,
                &names,
            )
        })
        .await?;
        for l in &m.layers[first_missing..] {
            out.send(Message::bar(
                &short(l),
                "Extracting",
                l.size.max(0) as u64,
                l.size.max(0) as u64,
            ));
            out.send(Message::layer(&short(l), "Pull complete"));
        }
        let learned = m.layers.iter().zip(&diff_ids).map(|(l, d)| {
            (
                d.clone(),
                BlobSource {
                    digest: l.digest.clone(),
                    media_type: l.media_type.clone(),
                    size: l.size,
                    registry: plan.reference.domain.clone(),
                    repository: plan.reference.path.clone(),
                },
            )
        });
        if let Err(e) = self.metadata.add(learned.collect()) {
            log::warn!("registry: remembering blob sources: {e}");
        }
        Ok(())
    }
}

#[allow(clippy::too_many_arguments)]
fn commit(
    store: &Store,
    raw_config: Vec<u8>,
    config: ImageConfig,
    layers: &[Descriptor],
    diff_ids: &[Digest],
    first_missing: usize,
    mut done: HashMap<Digest, (Staging, Applied)>,
    names: &[Reference],
) -> Result<()> {
    let chain = chain_ids(diff_ids);
    let mut prepared: Vec<(Digest, Option<Prepared>)> = chain[..first_missing]
        .iter()
        .map(|c| (c.clone(), None))
        .collect();
    let mut first_of_blob: HashMap<Digest, usize> = HashMap::new();
    let res = (|| -> Result<()> {
        for i in first_missing..layers.len() {
            let parent = if i > 0 { Some(&chain[i - 1]) } else { None };
            let p = match (
                done.remove(&layers[i].digest),
                first_of_blob.get(&layers[i].digest),
            ) {
                (Some((st, a)), _) => store.layers.prepare(
                    st,
                    &chain[i],
                    &a.diff_id,
                    parent,
                    a.tar_size,
                    a.content_size,
                )?,
                (None, Some(&j)) => {
                    let from = prepared[j]
                        .1
                        .as_ref()
                        .ok_or_else(|| Error::internal("prepared layer vanished"))?;
                    store.layers.prepare_copy(from, &chain[i], parent)?
                }
                (None, None) => {
                    return Err(Error::internal(format!(
                        "layer {} is not staged",
                        layers[i].digest
                    )))
                }
            };
            first_of_blob.entry(layers[i].digest.clone()).or_insert(i);
            prepared.push((chain[i].clone(), Some(p)));
        }
        Ok(())
    })();
    for (_, (s, _)) in done {
        let _ = std::fs::remove_dir_all(&s.path);
    }
    if let Err(e) = res {
        for (_, p) in prepared {
            if let Some(p) = p {
                store.layers.discard(p);
            }
        }
        return Err(e);
    }
    store.layers.sync()?;
    store.commit_image(&raw_config, config, prepared, names, None, false)?;
    Ok(())
}

fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

/// Poll futures together until all are done.
pub(crate) async fn join_all<'a>(
    mut futs: Vec<std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + 'a>>>,
) {
    let mut done = vec![false; futs.len()];
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, f) in futs.iter_mut().enumerate() {
            if !done[i] {
                if f.as_mut().poll(cx).is_ready() {
                    done[i] = true;
                } else {
                    pending = true;
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await
}

/// A small blob (a config), whole and verified.
pub(crate) async fn fetch_small(
    reg: &Registry,
    name: &str,
    digest: &Digest,
    scopes: &[String],
) -> Result<Vec<u8>> {
    let resp = reg.get_blob(name, digest, 0, scopes).await?;
    let status = resp.status;
    let data = resp.read_all(CONFIG_MAX).await?;
    if status != 200 {
        return Err(super::auth::registry_error(status, &data));
    }
    if Digest::of(&data) != *digest {
        return Err(Error::invalid(format!(
            "filesystem layer verification failed for digest {digest}"
        )));
    }
    Ok(data)
}

/// Bytes from the download task, as a blocking `Read` for the extractor.
struct ChannelReader {
    rx: smol::channel::Receiver<io::Result<Vec<u8>>>,
    buf: Vec<u8>,
    pos: usize,
}

impl Read for ChannelReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.pos >= self.buf.len() {
            match self.rx.recv_blocking() {
                Ok(Ok(b)) => {
                    self.buf = b;
                    self.pos = 0;
                }
                Ok(Err(e)) => return Err(e),
                Err(_) => return Ok(0),
            }
        }
        let n = out.len().min(self.buf.len() - self.pos);
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// Start writing extracted layers to disk while other layers still download, on a thread of
/// its own (the download slot is not held), one flush at a time: the commit's own sync then
/// finds little left to write. Durability still comes from that final sync.
fn early_flush(st: &StoreRef) {
    static RUNNING: AtomicBool = AtomicBool::new(false);
    if RUNNING.swap(true, Ordering::AcqRel) {
        return;
    }
    let st = st.clone();
    let spawned = std::thread::Builder::new()
        .name("layer-flush".into())
        .spawn(move || {
            if let Err(e) = st.store().layers.sync() {
                log::debug!("early flush of pulled layers: {e}");
            }
            RUNNING.store(false, Ordering::Release);
        });
    if spawned.is_err() {
        RUNNING.store(false, Ordering::Release);
    }
}

/// How a download ended.
enum Fetched {
    Done,
    /// The extractor stopped reading (its own error explains why).
    ReaderGone,
}

/// Download one layer blob into a staging directory, extracting as it streams.
async fn fetch_layer(
    reg: &Registry,
    name: &str,
    scopes: &[String],
    desc: &Descriptor,
    sref: &StoreRef,
    out: &Progress,
    abort: &AtomicBool,
) -> Result<(Staging, Applied)> {
    let id = desc.digest.short().to_string();
    let (tx, rx) = smol::channel::bounded::<io::Result<Vec<u8>>>(32);
    let st = sref.clone();
    let extract = crate::http::rt::unblock(move || -> Result<(Staging, Applied)> {
        let mut staging = st.store().layers.stage()?;
        let reader = ChannelReader {
            rx,
            buf: Vec::new(),
            pos: 0,
        };
        match apply_blob(reader, &staging.diff, Some(&mut staging.split)) {
            Ok(a) => {
                early_flush(&st);
                Ok((staging, a))
            }
            Err(e) => {
                let _ = std::fs::remove_dir_all(&staging.path);
                Err(e)
            }
        }
    });
    let download = async move {
        let r = stream_blob(reg, name, scopes, desc, &tx, out, &id, abort).await;
        if let Err(e) = &r {
            let _ = tx.send(Err(io::Error::other(e.to_string()))).await;
        }
        r
    };
    let (dres, xres) = smol::future::zip(download, extract).await;
    let id = desc.digest.short();
    match (dres, xres) {
        (Err(e), Ok((s, _))) => {
            let _ = std::fs::remove_dir_all(&s.path);
            Err(e)
        }
        (Err(e), Err(_)) => Err(e),
        (Ok(_), Err(e)) => Err(e.context(format!("extract layer {}", desc.digest))),
        (Ok(Fetched::ReaderGone), Ok((s, _))) => {
            let _ = std::fs::remove_dir_all(&s.path);
            Err(Error::internal(format!(
                "layer {} ended early",
                desc.digest
            )))
        }
        (Ok(Fetched::Done), Ok((s, a))) => {
            out.send(Message::layer(id, "Verifying Checksum"));
            if a.blob_digest != desc.digest {
                let _ = std::fs::remove_dir_all(&s.path);
                return Err(Error::invalid(format!(
                    "filesystem layer verification failed for digest {}",
                    desc.digest
                )));
            }
            out.send(Message::layer(id, "Download complete"));
            Ok((s, a))
        }
    }
}

/// Whether an error is worth another attempt (network trouble, server errors).
fn retryable(e: &Error) -> bool {
    e.kind() == ErrorKind::Unavailable
}

#[allow(clippy::too_many_arguments)]
async fn stream_blob(
    reg: &Registry,
    name: &str,
    scopes: &[String],
    desc: &Descriptor,
    tx: &smol::channel::Sender<io::Result<Vec<u8>>>,
    out: &Progress,
    id: &str,
    abort: &AtomicBool,
) -> Result<Fetched> {
    let total = desc.size.max(0) as u64;
    let mut offset = 0u64;
    let mut failures = 0u32;
    let mut throttle = Throttle::new();
    loop {
        if abort.load(Ordering::Relaxed) {
            return Err(Error::internal("pull aborted"));
        }
        let start = offset;
        let attempt: Result<Option<Fetched>> = async {
            let mut resp = reg.get_blob(name, &desc.digest, offset, scopes).await?;
            let mut skip = 0u64;
            match resp.status {
                200 => skip = offset, // the server ignored the Range: drop what we already have
                206 => {
                    let from = resp
                        .header("Content-Range")
                        .and_then(|v| v.strip_prefix("bytes "))
                        .and_then(|v| v.split('-').next())
                        .and_then(|v| v.parse::<u64>().ok());
                    if from != Some(offset) {
                        skip = u64::MAX; // nonsense range: start over below
                    }
                }
                s => {
                    let body = resp.read_all(1 << 20).await.unwrap_or_default();
                    return Err(super::auth::registry_error(s, &body));
                }
            }
            if skip == u64::MAX {
                return Err(Error::new(
                    ErrorKind::Unavailable,
                    "registry answered a different range",
                ));
            }
            loop {
                let mut buf = vec![0u8; READ_SIZE];
                let read = resp.read(&mut buf);
                let timer = async {
                    async_io::Timer::after(STALL).await;
                    Err(io::Error::new(io::ErrorKind::TimedOut, "read timeout"))
                };
                let n = smol::future::or(read, timer).await.map_err(|e| {
                    Error::new(
                        ErrorKind::Unavailable,
                        format!("read blob {}: {e}", desc.digest),
                    )
                })?;
                if n == 0 {
                    return Ok(None);
                }
                buf.truncate(n);
                if skip > 0 {
                    let k = skip.min(n as u64) as usize;
                    skip -= k as u64;
                    buf.drain(..k);
                    if buf.is_empty() {
                        continue;
                    }
                }
                offset += buf.len() as u64;
                if tx.send(Ok(buf)).await.is_err() {
                    return Ok(Some(Fetched::ReaderGone));
                }
                if throttle.due(false) {
                    out.send(Message::bar(id, "Downloading", offset, total));
                }
            }
        }
        .await;
        let err = match attempt {
            Ok(Some(f)) => return Ok(f),
            Ok(None) if total == 0 || offset >= total => {
                out.send(Message::bar(id, "Downloading", offset, total));
                return Ok(Fetched::Done);
            }
            Ok(None) => Error::new(
                ErrorKind::Unavailable,
                format!(
                    "read blob {}: unexpected EOF at {offset} of {total} bytes",
                    desc.digest
                ),
            ),
            Err(e) => e,
        };
        if !retryable(&err) {
            return Err(err);
        }
        if offset > start {
            failures = 0; // progress was made: a fresh budget for the rest
        }
        failures += 1;
        if failures >= ATTEMPTS {
            return Err(err);
        }
        log::info!(
            "pull {name}: layer {}: {err}; retrying from byte {offset}",
            desc.digest
        );
        out.send(Message::layer(
            id,
            format!(
                "Retrying in {failures} second{}",
                if failures == 1 { "" } else { "s" }
            ),
        ));
        async_io::Timer::after(Duration::from_secs(failures as u64)).await;
    }
}
