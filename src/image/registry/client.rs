//! The distribution API v2 client for one registry: endpoint choice (HTTPS, or plain HTTP for
//! loopback and `--insecure-registry`), the `/v2/` ping that yields the auth challenge, and the
//! manifest, blob and upload requests with their authorization.

use super::auth::{parse_challenges, registry_error, AuthConfig, Authorizer, Challenge};
use super::transport::{go_request_error, Payload, Response, Transport, Url};
use crate::base::{Error, ErrorKind, Result};
use crate::http::head::Headers;
use crate::oci::image::{
    Digest, MEDIA_DOCKER_MANIFEST, MEDIA_DOCKER_MANIFEST_LIST, MEDIA_OCI_INDEX, MEDIA_OCI_MANIFEST,
};
use std::net::IpAddr;

/// Every manifest type we read, in Docker's order of preference.
pub const MANIFEST_ACCEPT: &str = "application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json";
/// The longest manifest we read (distribution's own limit is 4 MiB).
pub const MANIFEST_MAX: usize = 4 << 20;
const REDIRECTS_MAX: usize = 5;

/// Docker's built-in insecure ranges (loopback), plus `--insecure-registry` entries (a
/// `host:port`, a host, or a CIDR that a literal address falls in).
pub fn is_insecure(domain: &str, insecure: &[String]) -> bool {
    let host = host_of(domain);
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    let ip = host.parse::<IpAddr>().ok();
    if ip.is_some_and(|ip| ip.is_loopback()) {
        return true;
    }
    insecure.iter().any(|e| {
        let e = e
            .trim()
            .trim_start_matches("http://")
            .trim_start_matches("https://")
            .trim_end_matches('/');
        if e.eq_ignore_ascii_case(domain) || e.eq_ignore_ascii_case(host) {
            return true;
        }
        match (ip, e.split_once('/')) {
            (Some(ip), Some((net, bits))) => cidr_contains(net, bits, ip),
            _ => false,
        }
    })
}

fn cidr_contains(net: &str, bits: &str, ip: IpAddr) -> bool {
    let Ok(bits) = bits.parse::<u32>() else {
        return false;
    };
    match (net.parse::<IpAddr>(), ip) {
        (Ok(IpAddr::V4(n)), IpAddr::V4(a)) if bits <= 32 => {
            let mask = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - bits)
            };
            u32::from(n) & mask == u32::from(a) & mask
        }
        (Ok(IpAddr::V6(n)), IpAddr::V6(a)) if bits <= 128 => {
            let mask = if bits == 0 {
                0
            } else {
                u128::MAX << (128 - bits)
            };
            u128::from(n) & mask == u128::from(a) & mask
        }
        _ => false,
    }
}

fn host_of(domain: &str) -> &str {
    if domain.starts_with('[') {
        return domain
            .split_once(']')
            .map_or(domain, |(h, _)| h)
            .trim_start_matches('[');
    }
    domain.rsplit_once(':').map_or(domain, |(h, _)| h)
}

/// What starting an upload gave.
pub enum Upload {
    /// A cross-repository mount succeeded: the blob is there.
    Mounted,
    /// An upload session at this location.
    Session(Url),
}

/// One registry, pinged and ready.
#[derive(Debug)]
pub struct Registry {
    /// As the reference names it (`localhost:5000`).
    pub domain: String,
    pub base: Url,
    transport: Transport,
    auth: Authorizer,
}

impl Registry {
    /// Ping the registry (`GET /v2/`) over HTTPS, falling back to HTTP when it is insecure.
    pub async fn connect(
        transport: &Transport,
        domain: &str,
        insecure: bool,
        creds: AuthConfig,
    ) -> Result<Registry> {
        let host = if domain == super::DOCKER_IO {
            "registry-1.docker.io"
        } else {
            domain
        };
        let mut schemes = vec![true];
        if insecure {
            transport.skip_verify(host);
            schemes.push(false);
            if transport.remembered_plain(host) {
                schemes.reverse();
            }
        }
        let mut last = None;
        for https in schemes {
            let base = Url::parse(&format!(
                "{}://{host}/v2/",
                if https { "https" } else { "http" }
            ))?;
            match ping(transport, &base).await {
                Ok(ch) => {
                    if !https {
                        transport.remember_plain(host);
                    }
                    return Ok(Registry {
                        domain: domain.to_string(),
                        base,
                        transport: transport.clone(),
                        auth: Authorizer::new(ch, creds),
                    });
                }
                Err(e) => {
                    log::debug!("registry {domain}: {e}");
                    last = Some(e);
                }
            }
        }
        Err(last.unwrap_or_else(|| Error::internal("no registry endpoint")))
    }

    pub fn url(&self, path: &str) -> Url {
        let mut u = self.base.clone();
        u.target = format!("/v2/{path}");
        u
    }

    pub fn authorizer(&self) -> &Authorizer {
        &self.auth
    }

    pub fn transport(&self) -> &Transport {
        &self.transport
    }

    /// A request with authorization for `scopes`; a refused cached token is renewed once.
    pub async fn request(
        &self,
        method: &str,
        url: &Url,
        headers: &Headers,
        body: Payload<'_>,
        scopes: &[String],
    ) -> Result<Response> {
        let same_origin = url.origin() == self.base.origin();
        let replay = match &body {
            Payload::Empty => Some(None),
            Payload::Bytes(b) => Some(Some(*b)),
            Payload::Stream(_) => None,
        };
        let mut h = headers.clone();
        if same_origin {
            if let Some(a) = self
                .auth
                .header(&self.transport, scopes, method, url)
                .await?
            {
                h.set("Authorization", a);
            }
        }
        let resp = self.transport.send(method, url, &h, body).await?;
        let bearer = self
            .auth
            .challenge
            .as_ref()
            .is_some_and(|c| c.scheme == "bearer")
            && self.auth.creds.registry_token.is_empty();
        match (resp.status, replay) {
            (401, Some(b)) if same_origin && bearer => {
                resp.discard().await;
                self.auth.forget(scopes);
                if let Some(a) = self
                    .auth
                    .header(&self.transport, scopes, method, url)
                    .await?
                {
                    h.set("Authorization", a);
                }
                let payload = match b {
                    Some(b) => Payload::Bytes(b),
                    None => Payload::Empty,
                };
                self.transport.send(method, url, &h, payload).await
            }
            _ => Ok(resp),
        }
    }

    /// A manifest by tag or digest: its bytes, media type and the digest the registry claims.
    pub async fn get_manifest(
        &self,
        name: &str,
        reference: &str,
        scopes: &[String],
    ) -> Result<(Vec<u8>, String, Option<String>)> {
        let url = self.url(&format!("{name}/manifests/{reference}"));
        let mut h = Headers::new();
        h.set("Accept", MANIFEST_ACCEPT);
        let resp = self
            .request("GET", &url, &h, Payload::Empty, scopes)
            .await?;
        let status = resp.status;
        let media = resp
            .header("Content-Type")
            .unwrap_or("")
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_string();
        let digest = resp.header("Docker-Content-Digest").map(str::to_string);
        let body = resp.read_all(MANIFEST_MAX).await?;
        if status != 200 {
            return Err(registry_error(status, &body));
        }
        Ok((body, media, digest))
    }

    /// Start reading a blob at byte `from`, following redirects (to storage backends) without
    /// sending our credentials elsewhere. The caller checks the status (200, or 206 when
    /// resuming).
    pub async fn get_blob(
        &self,
        name: &str,
        digest: &Digest,
        from: u64,
        scopes: &[String],
    ) -> Result<Response> {
        let mut url = self.url(&format!("{name}/blobs/{digest}"));
        let mut h = Headers::new();
        if from > 0 {
            h.set("Range", format!("bytes={from}-"));
        }
        for _ in 0..=REDIRECTS_MAX {
            let resp = self
                .request("GET", &url, &h, Payload::Empty, scopes)
                .await?;
            if matches!(resp.status, 301 | 302 | 303 | 307 | 308) {
                let loc = resp
                    .header("Location")
                    .ok_or_else(|| {
                        Error::new(
                            ErrorKind::Unavailable,
                            go_request_error("GET", &url, "redirect without Location"),
                        )
                    })?
                    .to_string();
                let next = url.join(&loc)?;
                resp.discard().await;
                url = next;
                continue;
            }
            return Ok(resp);
        }
        Err(Error::new(
            ErrorKind::Unavailable,
            go_request_error("GET", &url, "stopped after 5 redirects"),
        ))
    }

    /// Whether a blob is in the repository (and its size).
    pub async fn head_blob(
        &self,
        name: &str,
        digest: &Digest,
        scopes: &[String],
    ) -> Result<Option<u64>> {
        let url = self.url(&format!("{name}/blobs/{digest}"));
        let resp = self
            .request("HEAD", &url, &Headers::new(), Payload::Empty, scopes)
            .await?;
        let status = resp.status;
        let size = resp.header("Content-Length").and_then(|v| v.parse().ok());
        resp.discard().await;
        match status {
            200 => Ok(Some(size.unwrap_or(0))),
            404 => Ok(None),
            s => Err(registry_error(s, b"")),
        }
    }

    /// `POST /v2/<name>/blobs/uploads/`, trying a cross-repository mount first when `mount`
    /// names a blob and the repository it is in.
    pub async fn start_upload(
        &self,
        name: &str,
        mount: Option<(&Digest, &str)>,
        scopes: &[String],
    ) -> Result<Upload> {
        let mut url = self.url(&format!("{name}/blobs/uploads/"));
        if let Some((d, from)) = mount {
            url = url.with_query("mount", d.as_str()).with_query("from", from);
        }
        let resp = self
            .request("POST", &url, &Headers::new(), Payload::Empty, scopes)
            .await?;
        let status = resp.status;
        let loc = resp.header("Location").map(str::to_string);
        let body = resp.read_all(1 << 20).await?;
        match (status, loc) {
            (201, _) if mount.is_some() => Ok(Upload::Mounted),
            (202, Some(l)) => Ok(Upload::Session(url.join(&l)?)),
            (202, None) => Err(Error::new(
                ErrorKind::Unavailable,
                go_request_error("POST", &url, "upload started without a Location"),
            )),
            (s, _) => Err(registry_error(s, &body)),
        }
    }

    /// Stream a blob's bytes into an upload session (`PATCH`, chunked); the next location.
    pub async fn patch_upload(
        &self,
        location: &Url,
        data: smol::channel::Receiver<std::io::Result<Vec<u8>>>,
        scopes: &[String],
    ) -> Result<Url> {
        let mut h = Headers::new();
        h.set("Content-Type", "application/octet-stream");
        let resp = self
            .request("PATCH", location, &h, Payload::Stream(data), scopes)
            .await?;
        let status = resp.status;
        let loc = resp.header("Location").map(str::to_string);
        let body = resp.read_all(1 << 20).await?;
        match (status, loc) {
            (202, Some(l)) => location.join(&l),
            (202, None) => Ok(location.clone()),
            (s, _) => Err(registry_error(s, &body)),
        }
    }

    /// Finish an upload session: `PUT <location>?digest=` with the last (or only) bytes.
    pub async fn put_upload(
        &self,
        location: &Url,
        digest: &Digest,
        data: &[u8],
        scopes: &[String],
    ) -> Result<()> {
        let url = location.with_query("digest", digest.as_str());
        let mut h = Headers::new();
        h.set("Content-Type", "application/octet-stream");
        let resp = self
            .request("PUT", &url, &h, Payload::Bytes(data), scopes)
            .await?;
        let status = resp.status;
        let body = resp.read_all(1 << 20).await?;
        match status {
            201 | 204 => Ok(()),
            s => Err(registry_error(s, &body)),
        }
    }

    /// Upload a small blob in one go (POST, then PUT with the whole body).
    pub async fn upload_monolithic(
        &self,
        name: &str,
        digest: &Digest,
        data: &[u8],
        scopes: &[String],
    ) -> Result<()> {
        match self.start_upload(name, None, scopes).await? {
            Upload::Session(loc) => self.put_upload(&loc, digest, data, scopes).await,
            Upload::Mounted => Ok(()),
        }
    }

    /// Every tag of a repository (`GET /v2/<name>/tags/list`, following `Link` pages).
    pub async fn tags(&self, name: &str, scopes: &[String]) -> Result<Vec<String>> {
        #[derive(serde::Deserialize)]
        struct Tags {
            #[serde(default)]
            tags: Option<Vec<String>>,
        }
        let mut url = self.url(&format!("{name}/tags/list"));
        let mut out = Vec::new();
        for _ in 0..1000 {
            let resp = self
                .request("GET", &url, &Headers::new(), Payload::Empty, scopes)
                .await?;
            let status = resp.status;
            let next = resp
                .header("Link")
                .and_then(|l| l.split(';').next())
                .map(|l| {
                    l.trim()
                        .trim_start_matches('<')
                        .trim_end_matches('>')
                        .to_string()
                });
            let body = resp.read_all(MANIFEST_MAX).await?;
            if status != 200 {
                return Err(registry_error(status, &body));
            }
            let t: Tags = serde_json::from_slice(&body)
                .map_err(|e| Error::invalid(format!("invalid tag list: {e}")))?;
            out.extend(t.tags.unwrap_or_default());
            match next {
                Some(n) if !n.is_empty() => url = url.join(&n)?,
                _ => break,
            }
        }
        Ok(out)
    }

    /// `PUT /v2/<name>/manifests/<reference>`; the digest the registry reports.
    pub async fn put_manifest(
        &self,
        name: &str,
        reference: &str,
        media_type: &str,
        data: &[u8],
        scopes: &[String],
    ) -> Result<Option<String>> {
        let url = self.url(&format!("{name}/manifests/{reference}"));
        let mut h = Headers::new();
        h.set("Content-Type", media_type);
        let resp = self
            .request("PUT", &url, &h, Payload::Bytes(data), scopes)
            .await?;
        let status = resp.status;
        let digest = resp.header("Docker-Content-Digest").map(str::to_string);
        let body = resp.read_all(1 << 20).await?;
        match status {
            200..=202 => Ok(digest),
            s => Err(registry_error(s, &body)),
        }
    }
}

/// `GET /v2/`: 200 (no auth) or 401 with the challenge to answer.
async fn ping(transport: &Transport, base: &Url) -> Result<Option<Challenge>> {
    let resp = transport
        .send("GET", base, &Headers::new(), Payload::Empty)
        .await?;
    let status = resp.status;
    let challenges: Vec<Challenge> = resp
        .headers
        .get_all("WWW-Authenticate")
        .flat_map(parse_challenges)
        .collect();
    resp.discard().await;
    match status {
        200..=299 => Ok(None),
        401 => Ok(challenges
            .iter()
            .find(|c| c.scheme == "bearer")
            .or_else(|| challenges.iter().find(|c| c.scheme == "basic"))
            .cloned()),
        s => Err(Error::new(
            ErrorKind::Unavailable,
            go_request_error(
                "GET",
                base,
                format!(
                    "received unexpected HTTP status: {s} {}",
                    crate::http::head::reason(s)
                ),
            ),
        )),
    }
}

/// Media types of manifests and indexes we can pull.
pub fn is_known_manifest(media: &str) -> bool {
    matches!(
        media,
        MEDIA_DOCKER_MANIFEST | MEDIA_DOCKER_MANIFEST_LIST | MEDIA_OCI_MANIFEST | MEDIA_OCI_INDEX
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insecure_registries() {
        let none: Vec<String> = Vec::new();
        assert!(is_insecure("localhost:5000", &none));
        assert!(is_insecure("127.0.0.1:5000", &none));
        assert!(is_insecure("[::1]:5000", &none));
        assert!(!is_insecure("reg.example:5000", &none));
        let list = vec![
            "reg.example:5000".to_string(),
            "10.0.0.0/8".to_string(),
            "other.example".to_string(),
        ];
        assert!(is_insecure("reg.example:5000", &list));
        assert!(!is_insecure("reg.example:6000", &list));
        assert!(is_insecure("10.2.3.4:5000", &list));
        assert!(!is_insecure("11.2.3.4:5000", &list));
        assert!(is_insecure("other.example", &list));
    }
}
