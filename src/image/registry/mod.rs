//! The registry client (distribution spec v2): `docker pull`, `docker push` and the
//! credential check behind `docker login`, for the daemon's image store.
//!
//! - [`resolve`]: host names without libc (`/etc/hosts`, then DNS over UDP per resolv.conf).
//! - [`transport`]: HTTP/1.1 over TCP or TLS (rustls; the host CA bundle plus Docker's
//!   `/etc/docker/certs.d/<host:port>/`), pooled keep-alive connections, streamed bodies.
//! - [`auth`]: `X-Registry-Auth` credentials, `WWW-Authenticate` challenges, Basic, Bearer
//!   tokens per scope.
//! - [`client`]: one registry: endpoint choice (HTTPS; for loopback and `--insecure-registry`
//!   HTTPS without certificate checks, then plain HTTP, as Docker does), the `/v2/` ping,
//!   manifest/blob/upload requests.
//! - [`manifest`]: manifest kinds, platform choice in lists, the manifest a push writes.
//! - [`pull`], [`push`]: the two operations, reporting in Docker's JSON progress format
//!   ([`progress`]).
//! - [`metadata`]: which registry blobs hold which layers (for push's skip and mount).
//!
//! The daemon owns one [`Service`] and calls `prepare_pull` (errors become HTTP errors), then
//! `pull` with a [`Progress`] it streams to the client; `push` and `login` likewise.

pub mod auth;
pub mod base64;
pub mod client;
pub mod manifest;
pub mod metadata;
pub mod progress;
pub mod pull;
pub mod push;
pub mod resolve;
pub mod transport;

pub use auth::AuthConfig;
pub use progress::{Message, Progress};

use crate::base::{Error, ErrorKind, Result};
use crate::http::head::Headers;
use client::Registry;
use std::path::{Path, PathBuf};

/// Who owns the image store a pull or push works on: blocking work runs on other threads, so
/// they need a shared handle (the daemon passes itself, tests an `Arc<Store>`).
pub trait AsStore: Send + Sync + 'static {
    fn store(&self) -> &crate::image::Store;
}

impl AsStore for crate::image::Store {
    fn store(&self) -> &crate::image::Store {
        self
    }
}

/// A shared store handle.
pub type StoreRef = std::sync::Arc<dyn AsStore>;

/// The registry Docker Hub names resolve to (never contacted by tests).
pub const DOCKER_IO: &str = "docker.io";

#[derive(Debug, Clone)]
pub struct Options {
    /// `--insecure-registry` entries.
    pub insecure_registries: Vec<String>,
    /// `--max-concurrent-downloads` (Docker's default 3).
    pub max_downloads: usize,
    /// `--max-concurrent-uploads` (Docker's default 5).
    pub max_uploads: usize,
    /// Docker's `/etc/docker/certs.d`.
    pub certs_dir: PathBuf,
    pub resolver: resolve::Resolver,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            insecure_registries: Vec::new(),
            max_downloads: 3,
            max_uploads: 5,
            certs_dir: "/etc/docker/certs.d".into(),
            resolver: resolve::Resolver::default(),
        }
    }
}

/// The daemon's registry client: options, connections, blob metadata.
#[derive(Debug)]
pub struct Service {
    pub opts: Options,
    transport: transport::Transport,
    metadata: metadata::Metadata,
}

impl Service {
    /// `metadata_path`: where the blob metadata file lives (next to the image store).
    pub fn new(opts: Options, metadata_path: &Path) -> Service {
        let transport = transport::Transport::new(opts.resolver.clone(), opts.certs_dir.clone());
        Service {
            opts,
            transport,
            metadata: metadata::Metadata::open(metadata_path),
        }
    }

    /// Reach a registry (by the domain a reference names) and learn how it authenticates.
    pub async fn connect(&self, domain: &str, creds: AuthConfig) -> Result<Registry> {
        let insecure = client::is_insecure(domain, &self.opts.insecure_registries);
        Registry::connect(&self.transport, domain, insecure, creds).await
    }

    /// `POST /auth`: check credentials against the registry the way `docker login` expects.
    /// Returns the identity (refresh) token when the token server gave one.
    pub async fn login(&self, creds: &AuthConfig) -> Result<String> {
        let domain = login_domain(&creds.server_address);
        let reg = self.connect(&domain, creds.clone()).await?;
        let url = reg.base.clone();
        let failed = || {
            Error::new(
                ErrorKind::PermissionDenied,
                format!("login attempt to {url} failed with status: 401 Unauthorized"),
            )
        };
        let Some(ch) = reg.authorizer().challenge.clone() else {
            return Ok(String::new()); // a registry without auth accepts anyone
        };
        let mut h = Headers::new();
        match ch.scheme.as_str() {
            "basic" => {
                let Some((u, p)) = creds.user_pass() else {
                    return Err(failed());
                };
                h.set(
                    "Authorization",
                    format!("Basic {}", base64::encode(format!("{u}:{p}").as_bytes())),
                );
            }
            "bearer" => {
                let token = reg
                    .authorizer()
                    .token(reg.transport(), &[], true)
                    .await
                    .map_err(|e| {
                        if e.kind() == ErrorKind::PermissionDenied {
                            failed()
                        } else {
                            e
                        }
                    })?;
                h.set("Authorization", format!("Bearer {token}"));
            }
            other => {
                return Err(Error::unsupported(format!(
                    "unsupported authentication scheme {other:?}"
                )))
            }
        }
        let resp = reg
            .transport()
            .send("GET", &url, &h, transport::Payload::Empty)
            .await?;
        let status = resp.status;
        resp.discard().await;
        match status {
            200..=299 => Ok(reg.authorizer().refresh_token().unwrap_or_default()),
            401 => Err(failed()),
            s => Err(Error::new(
                ErrorKind::Unavailable,
                format!(
                    "login attempt to {url} failed with status: {s} {}",
                    crate::http::head::reason(s)
                ),
            )),
        }
    }
}

/// The registry a `docker login` server address names: scheme and path dropped, Docker Hub's
/// legacy addresses mapped to `docker.io`.
pub fn login_domain(server: &str) -> String {
    let s = server.trim();
    let s = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))
        .unwrap_or(s);
    let s = s.split('/').next().unwrap_or("");
    match s {
        "" | "index.docker.io" | "registry-1.docker.io" | "docker.io" => DOCKER_IO.to_string(),
        other => other.to_ascii_lowercase(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_domains() {
        assert_eq!(login_domain("localhost:5000"), "localhost:5000");
        assert_eq!(login_domain("http://127.0.0.1:5000/v2/"), "127.0.0.1:5000");
        assert_eq!(login_domain("https://index.docker.io/v1/"), "docker.io");
        assert_eq!(login_domain(""), "docker.io");
    }
}
