//! Registry endpoints of the Engine API, over [`crate::image::registry`].
//!
//! | endpoint | CLI |
//! | --- | --- |
//! | `POST /images/create?fromImage=&tag=` | `docker pull` (also `name@sha256:…`, and `tag` holding a digest) |
//! | `POST /images/{name}/push?tag=` | `docker push` (`-a`: no tag, every tag of the repository) |
//! | `POST /auth` | `docker login` (the CLI stores the credentials itself; `logout` never calls us) |
//!
//! Credentials come in `X-Registry-Auth` (base64 JSON). A pull reports failures before its
//! first message as an HTTP error (what Docker does: the CLI prints `Error response from
//! daemon: …`); once the stream has started, as a JSON `errorDetail` message. A push streams
//! from its first line on.

use super::{reply, Daemon, HandlerFuture, Req};
use crate::base::{Error, ErrorKind, Result};
use crate::http::Response;
use crate::image::reference::Reference;
use crate::image::registry::{AsStore, AuthConfig, Message, Options, Progress, Service, StoreRef};
use crate::image::Store;
use crate::oci::image::Digest;
use serde::Serialize;
use std::sync::Arc;

impl AsStore for Daemon {
    fn store(&self) -> &Store {
        &self.images
    }
}

/// The registry service for this daemon's configuration.
pub fn service(config: &super::config::Config, roots: &super::roots::Roots) -> Service {
    let n = |v: Option<i64>, d: usize| v.filter(|n| *n > 0).map_or(d, |n| n as usize);
    let opts = Options {
        insecure_registries: config.insecure_registries.clone(),
        max_downloads: n(config.max_concurrent_downloads, 3),
        max_uploads: n(config.max_concurrent_uploads, 5),
        ..Options::default()
    };
    Service::new(opts, &roots.data.join("image").join("distribution.json"))
}

fn creds(req: &Req<'_>) -> Result<AuthConfig> {
    AuthConfig::from_header(req.headers.get("X-Registry-Auth"))
}

/// Stream what `work` reports to the client; the work goes on if the client leaves.
fn stream<F>(work: impl FnOnce(Progress) -> F + Send + 'static) -> Response
where
    F: std::future::Future<Output = Result<()>> + Send + 'static,
{
    let (tx, resp) = Response::channel(200, "application/json");
    let (progress, rx) = Progress::channel();
    crate::http::rt::spawn_detached(async move {
        let job = async move {
            let p = progress.clone();
            if let Err(e) = work(p).await {
                progress.send(Message::error(e.to_string()));
            }
        };
        let forward = async move {
            let mut client = true;
            while let Ok(m) = rx.recv().await {
                if client && tx.send(m.to_line()).await.is_err() {
                    client = false;
                }
            }
        };
        smol::future::zip(job, forward).await;
    });
    resp
}

/// `POST /images/create?fromImage=…` (the `fromSrc` import lives in `images.rs`).
pub fn pull<'a>(req: Req<'a>) -> HandlerFuture<'a> {
    Box::pin(async move {
        let from = req.query.get("fromImage").unwrap_or("");
        let tag = req.query.get("tag").unwrap_or("");
        let mut r = Reference::parse_normalized(from)
            .map_err(|e| e.with_kind(ErrorKind::InvalidArgument))?;
        if tag.is_empty() && r.is_name_only() {
            return pull_all_tags(req, r).await;
        }
        if !tag.is_empty() {
            // moby: the "tag" may be a digest.
            match Digest::parse(tag) {
                Ok(d) => {
                    r.tag = None;
                    r.digest = Some(d);
                }
                Err(_) => {
                    r = Reference::parse(&format!("{}:{tag}", r.name()))
                        .map_err(|e| e.with_kind(ErrorKind::InvalidArgument))?;
                }
            }
        }
        if let Some(p) = req.query.get("platform").filter(|p| !p.is_empty()) {
            let (os, arch) = crate::image::registry::manifest::host_platform();
            let want: Vec<&str> = p.split('/').collect();
            if want.first() != Some(&os) || want.get(1).is_some_and(|a| *a != arch) {
                return Err(Error::invalid(format!("image with reference {} was found but does not match the specified platform: wanted {p}", r.familiar())));
            }
        }
        let creds = creds(&req)?;
        let daemon = req.daemon.clone();
        let plan = daemon.registry.prepare_pull(&r, creds).await?;
        Ok(stream(move |out| async move {
            let sref: StoreRef = daemon.clone();
            let res = daemon.registry.pull(&sref, plan, &out).await.map(|_| ());
            crate::image::release_memory();
            res
        }))
    })
}

/// `docker pull --all-tags`: the CLI sends no tag at all.
async fn pull_all_tags(req: Req<'_>, r: Reference) -> Result<Response> {
    let creds = creds(&req)?;
    let daemon = req.daemon.clone();
    let reg = daemon.registry.connect(&r.domain, creds.clone()).await?;
    let tags = reg
        .tags(&r.path, &[format!("repository:{}:pull", r.path)])
        .await?;
    if tags.is_empty() {
        return Err(Error::not_found(format!(
            "repository {} not found: no tags",
            r.familiar_name()
        )));
    }
    Ok(stream(move |out| async move {
        let sref: StoreRef = daemon.clone();
        for t in tags {
            let one = Reference {
                tag: Some(t),
                ..r.clone()
            };
            let plan = daemon.registry.prepare_pull(&one, creds.clone()).await?;
            daemon.registry.pull(&sref, plan, &out).await?;
        }
        Ok(())
    }))
}

/// `POST /images/{name}/push?tag=`.
pub fn push<'a>(req: Req<'a>) -> HandlerFuture<'a> {
    Box::pin(async move {
        let name = req.param("name");
        let mut r = Reference::parse_normalized(name)
            .map_err(|e| e.with_kind(ErrorKind::InvalidArgument))?;
        if r.digest.is_some() {
            return Err(Error::invalid(format!(
                "cannot push a digest reference: {name}"
            )));
        }
        let mut tag = req.query.get("tag").unwrap_or("").to_string();
        if tag.is_empty() {
            tag = r.tag.take().unwrap_or_default();
        }
        r.tag = None;
        let creds = creds(&req)?;
        let daemon = req.daemon.clone();
        Ok(stream(move |out| async move {
            let sref: StoreRef = daemon.clone();
            daemon.registry.push(&sref, &r, &tag, creds, &out).await
        }))
    })
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct AuthOk {
    identity_token: String,
    status: &'static str,
}

/// `POST /auth`: check the credentials with the registry.
pub fn auth<'a>(mut req: Req<'a>) -> HandlerFuture<'a> {
    Box::pin(async move {
        let creds: AuthConfig = req.json().await?;
        let daemon: Arc<Daemon> = req.daemon.clone();
        match daemon.registry.login(&creds).await {
            Ok(token) => Ok(reply::json(
                200,
                &AuthOk {
                    identity_token: token,
                    status: "Login Succeeded",
                },
            )),
            // moby answers a refused login with 401 (errdefs.Unauthorized).
            Err(e) if e.kind() == ErrorKind::PermissionDenied => {
                Ok(reply::error(401, &e.to_string()))
            }
            Err(e) => Err(e),
        }
    })
}
