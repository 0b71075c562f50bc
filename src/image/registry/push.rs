//! `docker push`: for each layer (in parallel), skip it when the registry already has a blob
//! we know holds it (`HEAD`), else mount it from another repository of the same registry
//! (`POST …/blobs/uploads/?mount=&from=`), else rebuild the layer's tar from its tar-split,
//! gzip it and stream it up (`POST`, one chunked `PATCH`, `PUT ?digest=`); then the config
//! (monolithic `POST` + `PUT`) and the manifest. Output as dockerd writes it.

use super::client::{Registry, Upload};
use super::manifest::{self, LayerBlob};
use super::metadata::BlobSource;
use super::progress::{Message, Progress, Throttle};
use super::{AuthConfig, Service, StoreRef};
use crate::base::{Error, Result};
use crate::image::compress::HashWriter;
use crate::image::layers::LayerInfo;
use crate::image::reference::Reference;
use crate::image::store::{ListOptions, NoUsers};
use crate::image::tarsplit::Assembler;
use crate::oci::image::{Digest, MEDIA_DOCKER_LAYER_GZIP};
use crate::sys::fsat::Dir;
use std::io::{self, Read, Write};

/// Bytes per message from the compressor to the upload.
const CHUNK: usize = 256 * 1024;

impl Service {
    /// Push `repo` (`localhost:5000/app`) at `tag`, or every tag of it when `tag` is empty.
    /// All errors after the first line are reported in the stream, as Docker does.
    pub async fn push(
        &self,
        sref: &StoreRef,
        repo: &Reference,
        tag: &str,
        creds: AuthConfig,
        out: &Progress,
    ) -> Result<()> {
        let store = sref.store();
        out.send(Message::text(format!(
            "The push refers to repository [{}]",
            repo.name()
        )));
        let mut targets: Vec<(String, Digest)> = Vec::new();
        if !tag.is_empty() {
            let r = Reference {
                tag: Some(tag.to_string()),
                digest: None,
                ..repo.clone()
            };
            let img = store.resolve(&r.full()).map_err(|_| {
                Error::not_found(format!(
                    "An image does not exist locally with the tag: {}",
                    repo.familiar_name()
                ))
            })?;
            targets.push((tag.to_string(), img.id));
        } else {
            for s in store.list(
                &ListOptions {
                    all: true,
                    ..Default::default()
                },
                &NoUsers,
            )? {
                for t in &s.repo_tags {
                    if let Ok(r) = Reference::parse_normalized(t) {
                        if r.name() == repo.name() {
                            if let (Some(tag), Ok(id)) = (r.tag, Digest::parse(&s.id)) {
                                targets.push((tag, id));
                            }
                        }
                    }
                }
            }
            targets.sort();
            if targets.is_empty() {
                return Err(Error::not_found(format!(
                    "An image does not exist locally with the tag: {}",
                    repo.familiar_name()
                )));
            }
        }
        let registry = self.connect(&repo.domain, creds).await?;
        let scopes = vec![format!("repository:{}:pull,push", repo.path)];
        for (tag, id) in targets {
            self.push_image(sref, &registry, repo, &tag, &id, &scopes, out)
                .await?;
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    async fn push_image(
        &self,
        sref: &StoreRef,
        reg: &Registry,
        repo: &Reference,
        tag: &str,
        id: &Digest,
        scopes: &[String],
        out: &Progress,
    ) -> Result<()> {
        let store = sref.store();
        let img = store
            .image(id)
            .ok_or_else(|| Error::not_found(format!("No such image: {id}")))?;
        let _lease = store.lease(&img.chain);
        let layers: Vec<LayerInfo> = img
            .chain
            .iter()
            .map(|c| {
                store
                    .layer(c)
                    .ok_or_else(|| Error::not_found(format!("layer {c} does not exist")))
            })
            .collect::<Result<_>>()?;
        for l in layers.iter().rev() {
            out.send(Message::layer(l.diff_id.short(), "Preparing"));
        }
        // Upload each distinct layer once, up to max_uploads at a time, top first like Docker.
        let mut order: Vec<usize> = Vec::new();
        for (i, l) in layers.iter().enumerate().rev() {
            if !order.iter().any(|&j| layers[j].diff_id == l.diff_id) {
                order.push(i);
            }
        }
        let limit = self.opts.max_uploads.max(1);
        for &i in order.iter().skip(limit) {
            out.send(Message::layer(layers[i].diff_id.short(), "Waiting"));
        }
        let queue = std::sync::Mutex::new(
            order
                .iter()
                .copied()
                .collect::<std::collections::VecDeque<usize>>(),
        );
        let results =
            std::sync::Mutex::new(std::collections::HashMap::<Digest, Result<LayerBlob>>::new());
        let failed = std::sync::atomic::AtomicBool::new(false);
        let worker = || async {
            loop {
                let next = lock(&queue).pop_front();
                let Some(i) = next else { break };
                if failed.load(std::sync::atomic::Ordering::Relaxed) {
                    break;
                }
                let r = self
                    .push_layer(sref, reg, repo, &layers[i], scopes, out)
                    .await;
                if r.is_err() {
                    failed.store(true, std::sync::atomic::Ordering::Relaxed);
                }
                lock(&results).insert(layers[i].diff_id.clone(), r);
            }
        };
        super::pull::join_all(
            (0..limit.min(order.len()))
                .map(|_| {
                    Box::pin(worker())
                        as std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + '_>>
                })
                .collect(),
        )
        .await;
        let mut results = std::mem::take(&mut *lock(&results));
        let mut blobs: std::collections::HashMap<Digest, LayerBlob> =
            std::collections::HashMap::new();
        for &i in &order {
            match results.remove(&layers[i].diff_id) {
                Some(Ok(b)) => {
                    blobs.insert(layers[i].diff_id.clone(), b);
                }
                Some(Err(e)) => return Err(e),
                None => {}
            }
        }
        let blobs: Vec<LayerBlob> = layers
            .iter()
            .map(|l| {
                blobs
                    .get(&l.diff_id)
                    .cloned()
                    .ok_or_else(|| Error::internal(format!("layer {} was not pushed", l.diff_id)))
            })
            .collect::<Result<_>>()?;
        // Config, then the manifest.
        let config = store.config_bytes(id)?;
        if reg.head_blob(&repo.path, id, scopes).await?.is_none() {
            reg.upload_monolithic(&repo.path, id, &config, scopes)
                .await?;
        }
        let (raw, media) = manifest::build(id, config.len() as i64, &blobs)?;
        let digest = Digest::of(&raw);
        reg.put_manifest(&repo.path, tag, media, &raw, scopes)
            .await?;
        let learned = layers.iter().zip(&blobs).map(|(l, b)| {
            (
                l.diff_id.clone(),
                BlobSource {
                    digest: b.digest.clone(),
                    media_type: b.media_type.clone(),
                    size: b.size,
                    registry: repo.domain.clone(),
                    repository: repo.path.clone(),
                },
            )
        });
        if let Err(e) = self.metadata.add(learned.collect()) {
            log::warn!("registry: remembering blob sources: {e}");
        }
        // Docker records the pushed digest as a RepoDigest of the image.
        let canonical = Reference {
            tag: None,
            digest: Some(digest.clone()),
            ..repo.clone()
        };
        let st = sref.clone();
        let (img_id, img_cfg, chain) = (img.id.clone(), img.config.clone(), img.chain.clone());
        let _ = img_id;
        let res = crate::http::rt::unblock(move || {
            st.store().commit_image(
                &config,
                img_cfg,
                chain.into_iter().map(|c| (c, None)).collect(),
                &[canonical],
                None,
                false,
            )
        })
        .await;
        if let Err(e) = res {
            log::warn!("registry: recording the pushed digest: {e}");
        }
        out.send(Message::text(format!(
            "{tag}: digest: {digest} size: {}",
            raw.len()
        )));
        out.send(Message::aux(
            serde_json::json!({"Tag": tag, "Digest": digest.to_string(), "Size": raw.len()}),
        ));
        Ok(())
    }

    async fn push_layer(
        &self,
        sref: &StoreRef,
        reg: &Registry,
        repo: &Reference,
        layer: &LayerInfo,
        scopes: &[String],
        out: &Progress,
    ) -> Result<LayerBlob> {
        let store = sref.store();
        let id = layer.diff_id.short().to_string();
        let known: Vec<BlobSource> = self
            .metadata
            .sources(&layer.diff_id)
            .into_iter()
            .filter(|s| s.registry == repo.domain)
            .collect();
        let blob = |s: &BlobSource| LayerBlob {
            media_type: s.media_type.clone(),
            size: s.size,
            digest: s.digest.clone(),
        };
        for s in known.iter().filter(|s| s.repository == repo.path) {
            if reg
                .head_blob(&repo.path, &s.digest, scopes)
                .await?
                .is_some()
            {
                out.send(Message::layer(&id, "Layer already exists"));
                return Ok(blob(s));
            }
        }
        let mut session = None;
        for s in known.iter().filter(|s| s.repository != repo.path).take(3) {
            let mut sc = scopes.to_vec();
            sc.push(format!("repository:{}:pull", s.repository));
            match reg
                .start_upload(&repo.path, Some((&s.digest, &s.repository)), &sc)
                .await
            {
                Ok(Upload::Mounted) => {
                    out.send(Message::layer(
                        &id,
                        format!("Mounted from {}", s.repository),
                    ));
                    return Ok(blob(s));
                }
                Ok(Upload::Session(loc)) => {
                    session = Some(loc);
                    break;
                }
                Err(e) => log::debug!("mount of {} from {} failed: {e}", s.digest, s.repository),
            }
        }
        let loc = match session {
            Some(l) => l,
            None => match reg.start_upload(&repo.path, None, scopes).await? {
                Upload::Session(l) => l,
                Upload::Mounted => {
                    return Err(Error::internal("registry mounted a blob nobody asked for"))
                }
            },
        };
        // Compress on a blocking thread while the upload streams what it produces.
        let (tx, rx) = smol::channel::bounded::<io::Result<Vec<u8>>>(16);
        let split = store.layers.split_path(&layer.chain_id);
        let diff = store.layer_dir(&layer.chain_id);
        let (total, out2, id2) = (layer.tar_size, out.clone(), id.clone());
        let compress = crate::http::rt::unblock(move || -> Result<(Digest, u64)> {
            let asm = Assembler::open(&split, Dir::open(&diff)?)?;
            let reader = Counting {
                inner: asm,
                n: 0,
                total,
                out: out2,
                id: id2,
                throttle: Throttle::new(),
            };
            let sink = ChannelWriter {
                tx: tx.clone(),
                buf: Vec::with_capacity(CHUNK),
            };
            let mut gz =
                flate2::write::GzEncoder::new(HashWriter::new(sink), flate2::Compression::fast());
            let res = (|| -> io::Result<()> {
                let mut r = reader;
                io::copy(&mut r, &mut gz)?;
                r.report(true);
                Ok(())
            })();
            let res = res.and_then(|()| gz.finish()).and_then(|mut hw| {
                hw.inner.flush_all()?;
                Ok(hw)
            });
            match res {
                Ok(hw) => Ok((hw.digest(), hw.count)),
                Err(e) => {
                    let _ = tx.send_blocking(Err(io::Error::new(e.kind(), e.to_string())));
                    Err(Error::from(e).context(format!("compress layer {}", layer_name(&split))))
                }
            }
        });
        let (up, comp) = smol::future::zip(reg.patch_upload(&loc, rx, scopes), compress).await;
        let (digest, size) = comp?;
        let next = up?;
        reg.put_upload(&next, &digest, &[], scopes).await?;
        out.send(Message::layer(&id, "Pushed"));
        Ok(LayerBlob {
            media_type: MEDIA_DOCKER_LAYER_GZIP.to_string(),
            size: size as i64,
            digest,
        })
    }
}

fn layer_name(split: &std::path::Path) -> String {
    split
        .parent()
        .and_then(|p| p.file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

/// Counts the uncompressed bytes read and reports `Pushing` progress.
struct Counting<R> {
    inner: R,
    n: u64,
    total: u64,
    out: Progress,
    id: String,
    throttle: Throttle,
}

impl<R> Counting<R> {
    fn report(&mut self, last: bool) {
        if self.throttle.due(last) {
            self.out
                .send(Message::bar(&self.id, "Pushing", self.n, self.total));
        }
    }
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.n += n as u64;
        self.report(false);
        Ok(n)
    }
}

/// Hands compressed bytes to the upload in chunks.
struct ChannelWriter {
    tx: smol::channel::Sender<io::Result<Vec<u8>>>,
    buf: Vec<u8>,
}

impl ChannelWriter {
    fn flush_all(&mut self) -> io::Result<()> {
        if !self.buf.is_empty() {
            let b = std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK));
            self.tx
                .send_blocking(Ok(b))
                .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "upload stopped"))?;
        }
        Ok(())
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.flush_all()?;
        }
        Ok(data.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
