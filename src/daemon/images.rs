//! Image endpoints of the Engine API, over the image store (`crate::image`).
//!
//! | endpoint | CLI |
//! | --- | --- |
//! | `GET /images/json` | `docker images` (`-a`, `-q`, `--digests`, `--filter`) |
//! | `GET /images/{name}/json` | `docker image inspect` |
//! | `GET /images/{name}/history` | `docker history` |
//! | `POST /images/{name}/tag` | `docker tag` |
//! | `DELETE /images/{name}` | `docker rmi` (`-f`, `--no-prune`) |
//! | `POST /images/prune` | `docker image prune` (`-a` is `dangling=false`) |
//! | `POST /images/load` | `docker load` (`-q`) |
//! | `GET /images/get`, `GET /images/{name}/get` | `docker save` |
//! | `POST /images/create?fromSrc=` | `docker import` (file, stdin, http URL; `--change`, `-m`) |
//! | `GET /system/df` | `docker system df` (the images part) |
//!
//! `docker save` writes Docker 25's layout (OCI image layout + `manifest.json` + `repositories`)
//! unless the request has `format=legacy` (a berth extension, `format=oci` for the default) or
//! the daemon is configured with `"features": {"legacy-save-format": true}` in daemon.json, in
//! which case it writes Docker ≤ 24's docker-archive layout.
//!
//! Store calls block (disk I/O), so they run on `smol::unblock` threads. Request bodies (load,
//! import) are pumped from the connection into a channel that the blocking side reads as a
//! `std::io::Read`; `docker save` output goes the other way. Progress and results are Docker's
//! JSON messages (`{"stream":…}`, `{"status":…}`, `{"errorDetail":…,"error":…}`, each followed
//! by `\r\n` as moby's streamformatter writes them).

use super::{reply, Daemon, HandlerFuture, Req};
use crate::base::{Error, ErrorKind, Result};
use crate::http::client::{Addr, Conn, RequestBody};
use crate::http::{Body, Headers, Response};
use crate::image::filters::Filters;
use crate::image::import::ImportOptions;
use crate::image::load::LoadEvent;
use crate::image::save::SaveFormat;
use crate::image::store::{ContainerUse, DeleteItem, ImageSummary, ListOptions};
use serde::Serialize;
use serde_json::{json, Value};
use smol::channel::{Receiver, Sender};
use smol::io::AsyncReadExt;
use smol::stream::StreamExt;
use std::io::{self, Read, Write};
use std::sync::Arc;

/// Open the image store under the data root: `--storage-driver vfs` selects copied snapshots,
/// otherwise overlay when the kernel and file system allow it.
pub fn open_store(
    cfg: &super::config::Config,
    roots: &super::roots::Roots,
) -> Result<crate::image::Store> {
    use crate::image::snapshot::SnapshotMode;
    let mode = match cfg.storage_driver.as_deref() {
        Some("vfs") => Some(SnapshotMode::Copy),
        _ => None,
    };
    crate::image::Store::open(
        &roots.data.join("image"),
        crate::image::store::StoreOptions {
            snapshot_mode: mode,
        },
    )
    .map_err(|e| e.context("open the image store"))
}

/// The containers using images (for rmi conflicts, prune and df), from the container store.
fn image_users(d: &Daemon) -> Vec<ContainerUse> {
    super::containers::handlers::image_users(d)
}

/// Run blocking store work off the executor.
async fn blocking<T: Send + 'static>(
    d: &Arc<Daemon>,
    f: impl FnOnce(&Daemon) -> Result<T> + Send + 'static,
) -> Result<T> {
    let d = d.clone();
    crate::http::rt::unblock(move || f(&d)).await
}

// ----- Docker's JSON messages -------------------------------------------------------------------

fn message(v: Value) -> Vec<u8> {
    let mut b = serde_json::to_vec(&v).unwrap_or_default();
    b.extend_from_slice(b"\r\n");
    b
}

fn stream_msg(s: &str) -> Vec<u8> {
    message(json!({ "stream": s }))
}

fn status_msg(s: &str) -> Vec<u8> {
    message(json!({ "status": s }))
}

fn error_msg(e: &str) -> Vec<u8> {
    message(json!({ "errorDetail": { "message": e }, "error": e }))
}

/// Go's units.HumanSize: decimal units, four significant digits.
fn human_size(n: u64) -> String {
    let units = ["B", "kB", "MB", "GB", "TB", "PB"];
    let mut v = n as f64;
    let mut i = 0;
    while v >= 1000.0 && i < units.len() - 1 {
        v /= 1000.0;
        i += 1;
    }
    let s = format!("{v:.4}");
    // %.4g: four significant digits, trailing zeros trimmed.
    let digits = if v >= 100.0 {
        1
    } else if v >= 10.0 {
        2
    } else {
        3
    };
    let s = format!("{:.*}", digits.min(s.len()), v);
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    };
    format!("{s}{}", units[i])
}

/// A progress message as moby's JSONProgress renders it (a 50-column bar).
fn progress_msg(status: &str, id: &str, current: u64, total: u64) -> Vec<u8> {
    let width = 50usize;
    let mut bar = String::new();
    if total > 0 {
        let filled = ((current.min(total) as f64 / total as f64) * width as f64) as usize;
        bar.push('[');
        bar.push_str(&"=".repeat(filled.saturating_sub(1)));
        bar.push(if filled >= width { '=' } else { '>' });
        bar.push_str(&" ".repeat(width - filled.max(1)));
        bar.push(']');
    }
    let text = format!("{bar} {:>8}/{}", human_size(current), human_size(total));
    message(
        json!({ "status": status, "progressDetail": { "current": current, "total": total }, "progress": text, "id": id }),
    )
}

// ----- request bodies as std::io::Read, responses from std::io::Write ----------------------------

/// Copy a request body into a channel until EOF. When the consumer stops early (it failed),
/// the rest of the body is read and dropped: a client still sending would otherwise see the
/// connection reset instead of the error response.
async fn pump_body<R: smol::io::AsyncRead + Unpin>(
    body: &mut R,
    tx: Sender<Vec<u8>>,
) -> io::Result<u64> {
    let mut total = 0u64;
    let mut consumer = true;
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = body.read(&mut buf).await?;
        if n == 0 {
            return Ok(total);
        }
        total += n as u64;
        if consumer && tx.send(buf[..n].to_vec()).await.is_err() {
            consumer = false;
        }
    }
}

/// The blocking side of `pump_body`.
struct ChannelReader {
    rx: Receiver<Vec<u8>>,
    cur: Vec<u8>,
    pos: usize,
}

impl ChannelReader {
    fn new(rx: Receiver<Vec<u8>>) -> ChannelReader {
        ChannelReader {
            rx,
            cur: Vec::new(),
            pos: 0,
        }
    }
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos >= self.cur.len() {
            match self.rx.recv_blocking() {
                Ok(v) => {
                    self.cur = v;
                    self.pos = 0;
                }
                Err(_) => return Ok(0),
            }
        }
        let n = buf.len().min(self.cur.len() - self.pos);
        buf[..n].copy_from_slice(&self.cur[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// A blocking writer that sends 1 MiB chunks to a streamed response.
struct ChannelWriter {
    tx: Sender<Result<Vec<u8>>>,
    buf: Vec<u8>,
}

const CHUNK: usize = 1 << 20;

impl Write for ChannelWriter {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(b);
        if self.buf.len() >= CHUNK {
            self.flush()?;
        }
        Ok(b.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK));
        self.tx
            .send_blocking(Ok(chunk))
            .map_err(|_| io::Error::from(io::ErrorKind::BrokenPipe))
    }
}

/// Run `f` (which reads the request body through a `ChannelReader`) while pumping the body.
async fn with_body<T: Send + 'static>(
    d: &Arc<Daemon>,
    body: &mut Body<'_>,
    f: impl FnOnce(&Daemon, &mut ChannelReader) -> T + Send + 'static,
) -> (T, io::Result<u64>) {
    let (tx, rx) = smol::channel::bounded::<Vec<u8>>(16);
    let d = d.clone();
    let job = crate::http::rt::unblock(move || {
        let mut r = ChannelReader::new(rx);
        let out = f(&d, &mut r);
        // Hang up, so the pump stops instead of blocking on a full channel.
        drop(r);
        crate::image::release_memory();
        out
    });
    smol::future::zip(job, pump_body(body, tx)).await
}

// ----- handlers ----------------------------------------------------------------------------------

fn filters(req: &Req<'_>) -> Result<Filters> {
    Filters::parse(req.query.get("filters").unwrap_or(""))
}

fn summary_json(s: &ImageSummary, req: &Req<'_>) -> Value {
    let mut tags = s.repo_tags.clone();
    let mut digests = s.repo_digests.clone();
    if req.version.lt("1.43") && tags.is_empty() && digests.is_empty() {
        tags.push("<none>:<none>".into());
        digests.push("<none>@<none>".into());
    }
    let mut v = json!({
        "Containers": s.containers,
        "Created": s.created,
        "Id": s.id,
        "Labels": if s.labels.is_empty() { Value::Null } else { json!(s.labels) },
        "ParentId": s.parent_id,
        "RepoDigests": digests,
        "RepoTags": tags,
        "SharedSize": s.shared_size,
        "Size": s.size,
    });
    if req.version.lt("1.44") {
        v["VirtualSize"] = json!(s.size);
    }
    v
}

/// `GET /images/json`
pub fn list<'a>(req: Req<'a>) -> HandlerFuture<'a> {
    Box::pin(async move {
        let mut f = filters(&req)?;
        if req.version.lt("1.41") {
            if let Some(p) = req.query.get("filter").filter(|p| !p.is_empty()) {
                f.0.entry("reference".into())
                    .or_default()
                    .insert(p.to_string());
            }
        }
        let opts = ListOptions {
            all: req.query.bool("all"),
            filters: f,
            shared_size: req.version.ge("1.42") && req.query.bool("shared-size"),
            container_count: false,
        };
        let list = blocking(&req.daemon, move |d| d.images.list(&opts, &image_users(d))).await?;
        let out: Vec<Value> = list.iter().map(|s| summary_json(s, &req)).collect();
        Ok(reply::json(200, &out))
    })
}

/// `GET /images/{name}/json`
pub fn inspect<'a>(req: Req<'a>) -> HandlerFuture<'a> {
    Box::pin(async move {
        let name = req.param("name").to_string();
        let i = blocking(&req.daemon, move |d| d.images.inspect(&name)).await?;
        let c = &i.image.config;
        let mut v = serde_json::Map::new();
        v.insert("Id".into(), json!(i.image.id));
        v.insert("RepoTags".into(), json!(i.repo_tags));
        v.insert("RepoDigests".into(), json!(i.repo_digests));
        v.insert(
            "Parent".into(),
            json!(i
                .image
                .meta
                .parent
                .as_ref()
                .map(|p| p.to_string())
                .unwrap_or_default()),
        );
        v.insert("Comment".into(), json!(i.comment));
        match &c.created {
            Some(t) => v.insert("Created".into(), json!(t)),
            None if req.version.lt("1.44") => {
                v.insert("Created".into(), json!("0001-01-01T00:00:00Z"))
            }
            None => None,
        };
        if req.version.lt("1.45") {
            if !c.container.is_empty() {
                v.insert("Container".into(), json!(c.container));
            }
            v.insert(
                "ContainerConfig".into(),
                json!(c.container_config.clone().unwrap_or_default()),
            );
        }
        v.insert("DockerVersion".into(), json!(c.docker_version));
        v.insert("Author".into(), json!(c.author));
        let cfg = c.config.clone().unwrap_or_default();
        v.insert(
            "Config".into(),
            if req.version.lt("1.50") {
                json!(cfg)
            } else {
                cfg.to_oci_json()
            },
        );
        v.insert("Architecture".into(), json!(c.architecture));
        if !c.variant.is_empty() {
            v.insert("Variant".into(), json!(c.variant));
        }
        v.insert("Os".into(), json!(c.os()));
        if !c.os_version.is_empty() {
            v.insert("OsVersion".into(), json!(c.os_version));
        }
        v.insert("Size".into(), json!(i.size));
        if req.version.lt("1.44") {
            v.insert("VirtualSize".into(), json!(i.size));
        }
        v.insert(
            "GraphDriver".into(),
            json!({ "Data": i.graph_driver, "Name": crate::image::store::DRIVER_NAME }),
        );
        let layers: Vec<String> = c.diff_ids().iter().map(|d| d.to_string()).collect();
        let mut rootfs = json!({ "Type": c.rootfs.as_ref().map(|r| r.typ.clone()).unwrap_or_else(|| "layers".into()) });
        if !layers.is_empty() {
            rootfs["Layers"] = json!(layers);
        }
        v.insert("RootFS".into(), rootfs);
        v.insert("Metadata".into(), json!({ "LastTagTime": i.last_tag_time }));
        Ok(reply::json(200, &Value::Object(v)))
    })
}

/// `GET /images/{name}/history`
pub fn history<'a>(req: Req<'a>) -> HandlerFuture<'a> {
    Box::pin(async move {
        let name = req.param("name").to_string();
        let h = blocking(&req.daemon, move |d| d.images.history(&name)).await?;
        let out: Vec<Value> = h
            .iter()
            .map(|x| json!({ "Id": x.id, "Created": x.created, "CreatedBy": x.created_by, "Tags": if x.tags.is_empty() { Value::Null } else { json!(x.tags) }, "Size": x.size, "Comment": x.comment }))
            .collect();
        Ok(reply::json(200, &out))
    })
}

/// `POST /images/{name}/tag?repo=&tag=`
pub fn tag<'a>(req: Req<'a>) -> HandlerFuture<'a> {
    Box::pin(async move {
        let name = req.param("name").to_string();
        let repo = req.query.get("repo").unwrap_or("").to_string();
        let tag = req.query.get("tag").unwrap_or("").to_string();
        if repo.is_empty() {
            return Err(Error::invalid(
                "repository name must have at least one component",
            ));
        }
        blocking(&req.daemon, move |d| d.images.tag(&name, &repo, &tag)).await?;
        Ok(Response::empty(201))
    })
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct PruneOut<'a> {
    images_deleted: Option<&'a [DeleteItem]>,
    space_reclaimed: u64,
}

/// `DELETE /images/{name}?force=&noprune=`
pub fn delete<'a>(req: Req<'a>) -> HandlerFuture<'a> {
    Box::pin(async move {
        let name = req.param("name").to_string();
        if name.trim().is_empty() {
            return Err(Error::invalid("image name cannot be blank"));
        }
        let force = req.query.bool("force");
        let prune = !req.query.bool("noprune");
        let recs = blocking(&req.daemon, move |d| {
            d.images.delete(&name, force, prune, &image_users(d))
        })
        .await?;
        Ok(reply::json(200, &recs))
    })
}

/// `POST /images/prune?filters=`
pub fn prune<'a>(req: Req<'a>) -> HandlerFuture<'a> {
    Box::pin(async move {
        let f = filters(&req)?;
        let rep = blocking(&req.daemon, move |d| d.images.prune(&f, &image_users(d))).await?;
        let out = PruneOut {
            images_deleted: if rep.images_deleted.is_empty() {
                None
            } else {
                Some(&rep.images_deleted)
            },
            space_reclaimed: rep.space_reclaimed,
        };
        Ok(reply::json(200, &out))
    })
}

/// `GET /system/df`: the images part (containers, volumes and build cache are empty until
/// those stores exist).
pub fn disk_usage<'a>(req: Req<'a>) -> HandlerFuture<'a> {
    Box::pin(async move {
        let types: Vec<String> = req.query.get_all("type").map(str::to_string).collect();
        let want = |t: &str| types.is_empty() || types.iter().any(|x| x == t);
        let mut out = serde_json::Map::new();
        if want("image") {
            let (total, images) =
                blocking(&req.daemon, move |d| d.images.disk_usage(&image_users(d))).await?;
            out.insert("LayersSize".into(), json!(total));
            out.insert(
                "Images".into(),
                json!(images
                    .iter()
                    .map(|s| summary_json(s, &req))
                    .collect::<Vec<_>>()),
            );
        }
        if want("container") {
            out.insert(
                "Containers".into(),
                json!(super::containers::handlers::disk_usage(
                    &req.daemon,
                    &req.version
                )),
            );
        }
        if want("volume") {
            out.insert("Volumes".into(), json!([]));
        }
        if want("build-cache") {
            out.insert("BuildCache".into(), json!([]));
        }
        Ok(reply::json(200, &Value::Object(out)))
    })
}

/// `POST /images/load?quiet=`: 200 and a JSON message stream; errors go into the stream, as
/// moby's postImagesLoad writes them.
pub fn load<'a>(mut req: Req<'a>) -> HandlerFuture<'a> {
    Box::pin(async move {
        let quiet = req.query.bool_or("quiet", true);
        let daemon = req.daemon.clone();
        let (res, pumped) = with_body(&daemon, &mut req.body, move |d, r| {
            let mut out = Vec::new();
            let res = d.images.load(r, &mut |ev| match ev {
                LoadEvent::Progress { id, current, total } if !quiet => {
                    out.extend(progress_msg("Loading layer", &id, current, total))
                }
                LoadEvent::Progress { .. } => {}
                LoadEvent::Line(l) => out.extend(stream_msg(&l)),
            });
            (res, out)
        })
        .await;
        let (res, mut out) = res;
        let res = match (res, pumped) {
            (Err(e), _) => Err(e),
            (Ok(_), Err(e)) => Err(Error::from(e).context("read request body")),
            (Ok(_), Ok(_)) => Ok(()),
        };
        if let Err(e) = res {
            log::debug!("load failed: {e}");
            out.extend(error_msg(&e.to_string()));
        }
        Ok(Response::bytes(200, "application/json", out))
    })
}

/// The save format for a request: `format=` query, else the daemon's default.
fn save_format(req: &Req<'_>) -> Result<SaveFormat> {
    match req.query.get("format") {
        Some(f) => SaveFormat::parse(f),
        None if req
            .daemon
            .config
            .features
            .get("legacy-save-format")
            .copied()
            .unwrap_or(false) =>
        {
            Ok(SaveFormat::Legacy)
        }
        None => Ok(SaveFormat::Oci),
    }
}

/// `GET /images/get?names=…` and `GET /images/{name}/get`: a tar stream. Name errors come back
/// as HTTP errors (nothing was written yet); a failure later cuts the stream short.
pub fn get<'a>(req: Req<'a>) -> HandlerFuture<'a> {
    Box::pin(async move {
        let names: Vec<String> = if req.param("name").is_empty() {
            req.query.get_all("names").map(str::to_string).collect()
        } else {
            vec![req.param("name").to_string()]
        };
        let format = save_format(&req)?;
        let (tx, rx) = smol::channel::bounded::<Result<Vec<u8>>>(8);
        let d = req.daemon.clone();
        crate::http::rt::unblock_detached(move || {
            let mut w = ChannelWriter {
                tx: tx.clone(),
                buf: Vec::with_capacity(CHUNK),
            };
            let res = d
                .images
                .save(&names, format, &mut w)
                .and_then(|()| w.flush().map_err(Error::from));
            if let Err(e) = res {
                let _ = tx.send_blocking(Err(e));
            }
            drop(w);
            crate::image::release_memory();
        });
        let first = match rx.recv().await {
            Ok(Ok(chunk)) => chunk,
            Ok(Err(e)) => return Err(e),
            Err(_) => Vec::new(),
        };
        let rest = rx.map(|r| r.map_err(|e| io::Error::other(e.to_string())));
        Ok(Response::stream(
            200,
            "application/x-tar",
            Box::pin(smol::stream::once(Ok(first)).chain(rest)),
        ))
    })
}

/// `http://IP[:port]/path` (or `localhost`) → address, path. berth resolves no host names.
fn parse_http_url(src: &str) -> Result<(Addr, String, String)> {
    let rest = src
        .strip_prefix("http://")
        .ok_or_else(|| Error::invalid(format!("berth imports only from http:// URLs: {src}")))?;
    let (hostport, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let hp = if hostport.contains(':') {
        hostport.to_string()
    } else {
        format!("{hostport}:80")
    };
    let hp = hp.replacen("localhost:", "127.0.0.1:", 1);
    let addr = Addr::parse(&hp).map_err(|_| {
        Error::invalid(format!(
            "cannot import from {src}: berth does not resolve host names, use an IP address"
        ))
    })?;
    Ok((addr, path.to_string(), hostport.to_string()))
}

/// `POST /images/create`: `fromSrc` imports (`-` is the body, else an http URL); `fromImage`
/// would pull from a registry.
pub fn create<'a>(mut req: Req<'a>) -> HandlerFuture<'a> {
    Box::pin(async move {
        if !req.query.get("fromImage").unwrap_or("").is_empty() {
            return super::registry::pull(req).await;
        }
        let src = req.query.get("fromSrc").unwrap_or("").to_string();
        let reference = crate::image::reference::repo_tag(
            req.query.get("repo").unwrap_or(""),
            req.query.get("tag").unwrap_or(""),
        )
        .map_err(|e| e.with_kind(ErrorKind::InvalidArgument))?;
        let mut message = req.query.get("message").unwrap_or("").to_string();
        if message.is_empty() {
            message = format!("Imported from {src}");
        }
        let changes: Vec<String> = req.query.get_all("changes").map(str::to_string).collect();
        let opts = ImportOptions {
            reference,
            message,
            changes,
        };
        let daemon = req.daemon.clone();
        if src == "-" {
            let (res, pumped) = with_body(&daemon, &mut req.body, move |d, r| {
                d.images.import(r, &opts)
            })
            .await;
            let id = res?;
            pumped.map_err(|e| Error::from(e).context("read request body"))?;
            return Ok(Response::bytes(
                200,
                "application/json",
                status_msg(id.as_str()),
            ));
        }
        // A URL: output starts at once, so later errors go into the stream.
        let url = if src.contains("://") {
            src.clone()
        } else {
            format!("http://{src}")
        };
        let mut out = Vec::new();
        let res: Result<String> = async {
            let (addr, path, host) = parse_http_url(&url)?;
            let mut conn = Conn::connect(&addr)
                .await
                .map_err(|e| Error::from(e).context(format!("Get \"{url}\"")))?;
            let mut headers = Headers::new();
            headers.set("Host", host);
            headers.set("User-Agent", "berth");
            let mut resp = conn
                .send("GET", &path, &headers, RequestBody::Empty)
                .await
                .map_err(|e| Error::from(e).context(format!("Get \"{url}\"")))?;
            if resp.status >= 400 {
                let body = resp.body.read_all(64 * 1024).await.unwrap_or_default();
                return Err(Error::new(
                    ErrorKind::Unavailable,
                    format!(
                        "failed to GET {url} with status {} {}: {}",
                        resp.status,
                        crate::http::head::reason(resp.status),
                        String::from_utf8_lossy(&body).trim()
                    ),
                ));
            }
            out.extend(status_msg(&format!("Downloading from {url}")));
            let total = resp.body.content_length().unwrap_or(0);
            let (tx, rx) = smol::channel::bounded::<Vec<u8>>(16);
            let (ptx, prx) = smol::channel::unbounded::<u64>();
            let d = daemon.clone();
            let job = crate::http::rt::unblock(move || {
                let mut r = Counting {
                    inner: ChannelReader::new(rx),
                    n: 0,
                    last: 0,
                    tx: ptx,
                };
                let res = d.images.import(&mut r, &opts);
                drop(r);
                crate::image::release_memory();
                res
            });
            let (res, pumped) = smol::future::zip(job, pump_body(&mut resp.body, tx)).await;
            while let Ok(n) = prx.try_recv() {
                out.extend(progress_msg("Importing", "", n, total));
            }
            let id = res?;
            pumped.map_err(|e| Error::from(e).context(format!("read {url}")))?;
            Ok(id.to_string())
        }
        .await;
        match res {
            Ok(id) => out.extend(status_msg(&id)),
            Err(e) if out.is_empty() => return Err(e),
            Err(e) => out.extend(error_msg(&e.to_string())),
        }
        Ok(Response::bytes(200, "application/json", out))
    })
}

/// Counts bytes read and reports every MiB (import progress).
struct Counting<R> {
    inner: R,
    n: u64,
    last: u64,
    tx: Sender<u64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let k = self.inner.read(buf)?;
        self.n += k as u64;
        if self.n - self.last >= 1 << 20 || (k == 0 && self.n != self.last) {
            self.last = self.n;
            let _ = self.tx.try_send(self.n);
        }
        Ok(k)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_messages_as_streamformatter_writes_them() {
        assert_eq!(
            stream_msg("Loaded image: a:b\n"),
            b"{\"stream\":\"Loaded image: a:b\\n\"}\r\n"
        );
        assert_eq!(
            error_msg("x"),
            b"{\"error\":\"x\",\"errorDetail\":{\"message\":\"x\"}}\r\n"
        );
        let p = String::from_utf8(progress_msg(
            "Loading layer",
            "615df3819714",
            1_064_960,
            2_129_920,
        ))
        .unwrap();
        assert!(
            p.contains("\"current\":1064960")
                && p.contains("1.065MB/2.13MB")
                && p.contains("[=========="),
            "{p}"
        );
        assert_eq!(human_size(0), "0B");
        assert_eq!(human_size(2_129_920), "2.13MB");
        assert_eq!(human_size(999), "999B");
    }

    #[test]
    fn import_urls_and_refs() {
        let (a, p, h) = parse_http_url("http://127.0.0.1:8000/x/rootfs.tar").unwrap();
        assert_eq!(
            (a, p.as_str(), h.as_str()),
            (
                Addr::Tcp("127.0.0.1:8000".parse().unwrap()),
                "/x/rootfs.tar",
                "127.0.0.1:8000"
            )
        );
        assert!(parse_http_url("http://example.com/x").is_err());
        assert!(parse_http_url("https://127.0.0.1/x").is_err());
    }
}
