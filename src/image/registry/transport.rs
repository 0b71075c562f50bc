//! HTTP and HTTPS to registries: URLs, name resolution ([`super::resolve`]), TCP, TLS (rustls
//! with the host's CA bundle plus `/etc/docker/certs.d/<host:port>/`), keep-alive connections
//! kept in a small pool, and responses whose bodies stream.
//!
//! Heads and bodies use the sans-IO pieces of [`crate::http`] (head parsing, framing, the
//! chunked decoder), so the wire rules are the daemon's own.

use super::resolve::Resolver;
use crate::base::{Error, ErrorKind, Result};
use crate::http::body::{Body, BodyState};
use crate::http::chunked::{encode_chunk, LAST_CHUNK};
use crate::http::head::{self, Framing, Headers};
use futures_rustls::rustls;
use futures_rustls::TlsConnector;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use smol::io::{
    AsyncBufRead, AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader,
};
use smol::Async;
use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

/// How long to wait for a TCP connection (Go's default dialer waits 30 s).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// Idle connections kept per origin.
const POOL_PER_ORIGIN: usize = 8;

/// An absolute http(s) URL, split the way requests need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    pub https: bool,
    /// Host name or address, IPv6 without brackets.
    pub host: String,
    pub port: u16,
    /// Path and query (`/v2/x/manifests/y?a=b`).
    pub target: String,
}

impl Url {
    pub fn parse(s: &str) -> Result<Url> {
        let bad = || Error::invalid(format!("invalid URL {s:?}"));
        let (https, rest) = if let Some(r) = s.strip_prefix("https://") {
            (true, r)
        } else if let Some(r) = s.strip_prefix("http://") {
            (false, r)
        } else {
            return Err(bad());
        };
        let (authority, target) = match rest.find(['/', '?']) {
            Some(i) => (&rest[..i], rest[i..].to_string()),
            None => (rest, "/".to_string()),
        };
        let target = if target.starts_with('?') {
            format!("/{target}")
        } else {
            target
        };
        let authority = authority.rsplit_once('@').map_or(authority, |(_, a)| a);
        let (host, port) = if let Some(r) = authority.strip_prefix('[') {
            let (h, after) = r.split_once(']').ok_or_else(bad)?;
            (h.to_string(), after.strip_prefix(':'))
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h.to_string(), Some(p)),
                None => (authority.to_string(), None),
            }
        };
        let port = match port {
            Some(p) => p.parse::<u16>().map_err(|_| bad())?,
            None if https => 443,
            None => 80,
        };
        if host.is_empty() {
            return Err(bad());
        }
        Ok(Url {
            https,
            host: host.to_ascii_lowercase(),
            port,
            target,
        })
    }

    /// `host[:port]` as the Host header and Docker's certs.d directory name it (default port
    /// left out, IPv6 in brackets).
    pub fn authority(&self) -> String {
        let h = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        if self.port == if self.https { 443 } else { 80 } {
            h
        } else {
            format!("{h}:{}", self.port)
        }
    }

    pub fn origin(&self) -> String {
        format!(
            "{}://{}",
            if self.https { "https" } else { "http" },
            self.authority()
        )
    }

    /// Resolve a `Location` header (absolute, or a path on this origin).
    pub fn join(&self, location: &str) -> Result<Url> {
        if location.starts_with("http://") || location.starts_with("https://") {
            return Url::parse(location);
        }
        if location.starts_with("//") {
            return Url::parse(&format!(
                "{}:{location}",
                if self.https { "https" } else { "http" }
            ));
        }
        let mut u = self.clone();
        u.target = if location.starts_with('/') {
            location.to_string()
        } else {
            let base = self.target.split('?').next().unwrap_or("/");
            let dir = &base[..base.rfind('/').map_or(0, |i| i + 1)];
            format!("{dir}{location}")
        };
        Ok(u)
    }

    /// This URL with `key=value` added to the query (value escaped).
    pub fn with_query(&self, key: &str, value: &str) -> Url {
        let mut u = self.clone();
        let sep = if u.target.contains('?') { '&' } else { '?' };
        u.target = format!(
            "{}{sep}{key}={}",
            u.target,
            crate::http::url::query_escape(value)
        );
        u
    }

    fn pool_key(&self) -> String {
        format!("{}|{}", self.origin(), self.port)
    }
}

impl std::fmt::Display for Url {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}{}", self.origin(), self.target)
    }
}

/// Go's way of naming a failed request: `Get "http://x/v2/": <what went wrong>`.
pub fn go_request_error(method: &str, url: &Url, what: impl std::fmt::Display) -> String {
    let m = method.to_ascii_lowercase();
    let m = m[..1].to_ascii_uppercase() + &m[1..];
    format!("{m} \"{url}\": {what}")
}

fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

/// A TCP or TLS connection.
enum Io {
    Plain(Async<TcpStream>),
    Tls(Box<futures_rustls::client::TlsStream<Async<TcpStream>>>),
}

impl AsyncRead for Io {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Io::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Io {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Io::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Io::Plain(s) => Pin::new(s).poll_flush(cx),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Io::Plain(s) => Pin::new(s).poll_close(cx),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_close(cx),
        }
    }
}

struct Conn {
    io: BufReader<Io>,
    state: BodyState,
}

/// What goes in a request body.
pub enum Payload<'a> {
    Empty,
    Bytes(&'a [u8]),
    /// Sent chunked as it arrives; an `Err` item aborts the request.
    Stream(smol::channel::Receiver<io::Result<Vec<u8>>>),
}

struct Inner {
    resolver: Resolver,
    certs_dir: PathBuf,
    tls: Mutex<HashMap<String, Arc<rustls::ClientConfig>>>,
    pool: Mutex<HashMap<String, Vec<Conn>>>,
    /// Insecure registries that answered over plain HTTP (tried first next time).
    plain: Mutex<std::collections::HashSet<String>>,
    skip_verify: Mutex<std::collections::HashSet<String>>,
}

/// Connections to registries; cheap to clone, shared by every pull and push of a daemon.
#[derive(Clone)]
pub struct Transport {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transport")
            .field("certs_dir", &self.inner.certs_dir)
            .finish()
    }
}

/// CA bundles of the common distributions; the first that exists is used.
const CA_BUNDLES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/pki/tls/cacert.pem",
    "/etc/ssl/cert.pem",
];

impl Transport {
    /// `certs_dir` is Docker's `/etc/docker/certs.d`.
    pub fn new(resolver: Resolver, certs_dir: PathBuf) -> Transport {
        Transport {
            inner: Arc::new(Inner {
                resolver,
                certs_dir,
                tls: Mutex::new(HashMap::new()),
                pool: Mutex::new(HashMap::new()),
                plain: Mutex::new(Default::default()),
                skip_verify: Mutex::new(Default::default()),
            }),
        }
    }

    pub fn remember_plain(&self, host: &str) {
        lock(&self.inner.plain).insert(host.to_string());
    }

    pub fn remembered_plain(&self, host: &str) -> bool {
        lock(&self.inner.plain).contains(host)
    }

    /// Registries whose certificates are not checked (Docker's `InsecureSkipVerify` for
    /// insecure registries: loopback and `--insecure-registry`).
    pub fn skip_verify(&self, authority: &str) {
        lock(&self.inner.skip_verify).insert(authority.to_string());
    }

    fn tls_config(&self, url: &Url) -> Result<Arc<rustls::ClientConfig>> {
        let key = url.authority();
        let insecure = lock(&self.inner.skip_verify).contains(&key);
        let cache_key = format!("{key}|{insecure}");
        if let Some(c) = lock(&self.inner.tls).get(&cache_key) {
            return Ok(c.clone());
        }
        let mut roots = rustls::RootCertStore::empty();
        let env = std::env::var("SSL_CERT_FILE").ok();
        if let Some(bundle) = env
            .iter()
            .map(String::as_str)
            .chain(CA_BUNDLES.iter().copied())
            .find(|p| std::path::Path::new(p).is_file())
        {
            if let Ok(it) = CertificateDer::pem_file_iter(bundle) {
                let (ok, bad) = roots.add_parsable_certificates(it.filter_map(|c| c.ok()));
                log::debug!("registry TLS: {ok} CA certificates from {bundle} ({bad} unusable)");
            }
        }
        let dir = self.inner.certs_dir.join(&key);
        let mut client_cert: Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)> = None;
        if let Ok(entries) = std::fs::read_dir(&dir) {
            let mut names: Vec<PathBuf> =
                entries.filter_map(|e| e.ok()).map(|e| e.path()).collect();
            names.sort();
            for p in &names {
                let ext = p.extension().and_then(|e| e.to_str()).unwrap_or("");
                if ext == "crt" {
                    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(p)
                        .map_err(|e| Error::invalid(format!("read {}: {e}", p.display())))?
                        .filter_map(|c| c.ok())
                        .collect();
                    roots.add_parsable_certificates(certs);
                } else if ext == "cert" {
                    // Docker pairs client.cert with client.key.
                    let keyf = p.with_extension("key");
                    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(p)
                        .map_err(|e| Error::invalid(format!("read {}: {e}", p.display())))?
                        .filter_map(|c| c.ok())
                        .collect();
                    let k = PrivateKeyDer::from_pem_file(&keyf).map_err(|e| {
                        Error::invalid(format!(
                            "missing key {} for client certificate {}: {e}",
                            keyf.display(),
                            p.display()
                        ))
                    })?;
                    client_cert = Some((certs, k));
                }
            }
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::internal(format!("TLS setup: {e}")))?;
        let builder = if insecure {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AnyCertificate {
                    algorithms: provider.signature_verification_algorithms,
                }))
        } else {
            builder.with_root_certificates(roots)
        };
        let config = match client_cert {
            Some((certs, k)) => builder
                .with_client_auth_cert(certs, k)
                .map_err(|e| Error::invalid(format!("client certificate for {key}: {e}")))?,
            None => builder.with_no_client_auth(),
        };
        let config = Arc::new(config);
        lock(&self.inner.tls).insert(cache_key, config.clone());
        Ok(config)
    }

    async fn connect(&self, method: &str, url: &Url) -> Result<Conn> {
        let unavailable =
            |what: String| Error::new(ErrorKind::Unavailable, go_request_error(method, url, what));
        let ips: Vec<IpAddr> = self
            .inner
            .resolver
            .resolve(&url.host)
            .await
            .map_err(|e| unavailable(format!("dial tcp: {}", e.message())))?;
        let mut last = String::from("no addresses");
        let mut tcp = None;
        for ip in ips {
            let addr = SocketAddr::new(ip, url.port);
            let attempt = async {
                Async::<TcpStream>::connect(addr)
                    .await
                    .map_err(|e| lower_first(Error::from(e).message()))
            };
            let timeout = async {
                async_io::Timer::after(CONNECT_TIMEOUT).await;
                Err("i/o timeout".to_string())
            };
            match smol::future::or(attempt, timeout).await {
                Ok(s) => {
                    let _ = s.get_ref().set_nodelay(true);
                    tcp = Some(s);
                    break;
                }
                Err(e) => last = format!("dial tcp {addr}: connect: {e}"),
            }
        }
        let tcp = tcp.ok_or_else(|| unavailable(last))?;
        let io = if url.https {
            let config = self.tls_config(url)?;
            let name = ServerName::try_from(url.host.clone()).map_err(|e| {
                Error::invalid(format!("invalid TLS server name {:?}: {e}", url.host))
            })?;
            let tls = TlsConnector::from(config)
                .connect(name, tcp)
                .await
                .map_err(|e| unavailable(format!("tls: {}", lower_first(&e.to_string()))))?;
            Io::Tls(Box::new(tls))
        } else {
            Io::Plain(tcp)
        };
        Ok(Conn {
            io: BufReader::with_capacity(256 * 1024, io),
            state: BodyState::new(Framing::Empty),
        })
    }

    fn pooled(&self, url: &Url) -> Option<Conn> {
        lock(&self.inner.pool)
            .get_mut(&url.pool_key())
            .and_then(|v| v.pop())
    }

    fn give_back(&self, key: String, conn: Conn) {
        let mut pool = lock(&self.inner.pool);
        let v = pool.entry(key).or_default();
        if v.len() < POOL_PER_ORIGIN {
            v.push(conn);
        }
    }

    /// Send one request. A replayable request on a kept-alive connection that turns out dead is
    /// sent again on a new connection.
    pub async fn send(
        &self,
        method: &str,
        url: &Url,
        headers: &Headers,
        body: Payload<'_>,
    ) -> Result<Response> {
        let replayable = !matches!(body, Payload::Stream(_));
        if replayable {
            if let Some(mut c) = self.pooled(url) {
                let b = match &body {
                    Payload::Bytes(b) => Payload::Bytes(b),
                    _ => Payload::Empty,
                };
                if let Ok((status, h)) = exchange(&mut c, method, url, headers, b).await {
                    return Ok(self.response(c, method, url, status, h));
                }
            }
        }
        let mut c = self.connect(method, url).await?;
        let (status, h) = exchange(&mut c, method, url, headers, body)
            .await
            .map_err(|e| Error::new(ErrorKind::Unavailable, go_request_error(method, url, e)))?;
        Ok(self.response(c, method, url, status, h))
    }

    fn response(
        &self,
        mut c: Conn,
        method: &str,
        url: &Url,
        status: u16,
        headers: Headers,
    ) -> Response {
        let framing = head::response_framing(method, status, &headers).unwrap_or(Framing::Close);
        let keep = framing != Framing::Close && !headers.has_token("Connection", "close");
        c.state = BodyState::new(framing);
        Response {
            status,
            headers,
            conn: Some(c),
            keep,
            transport: self.clone(),
            key: url.pool_key(),
            method: method.to_string(),
            url: url.clone(),
        }
    }
}

/// The certificate check of an insecure registry: any certificate is accepted, but the
/// handshake signatures are still verified with rustls's own functions (so the peer holds the
/// key of the certificate it sent).
#[derive(Debug)]
struct AnyCertificate {
    algorithms: rustls::crypto::WebPkiSupportedAlgorithms,
}

impl rustls::client::danger::ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> std::result::Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> std::result::Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> std::result::Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }
    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

/// Write the request, read the response head.
async fn exchange(
    c: &mut Conn,
    method: &str,
    url: &Url,
    headers: &Headers,
    body: Payload<'_>,
) -> io::Result<(u16, Headers)> {
    let mut h = headers.clone();
    h.set("Host", url.authority());
    h.set_default("User-Agent", concat!("berth/", env!("CARGO_PKG_VERSION")));
    match &body {
        Payload::Empty if matches!(method, "POST" | "PUT" | "PATCH") => {
            h.set("Content-Length", "0")
        }
        Payload::Empty => {}
        Payload::Bytes(b) => h.set("Content-Length", b.len().to_string()),
        Payload::Stream(_) => h.set("Transfer-Encoding", "chunked"),
    }
    let w = c.io.get_mut();
    let mut out = head::write_request_head(method, &url.target, &h);
    match body {
        Payload::Empty => w.write_all(&out).await?,
        Payload::Bytes(b) if b.len() <= 64 * 1024 => {
            out.extend_from_slice(b);
            w.write_all(&out).await?;
        }
        Payload::Bytes(b) => {
            w.write_all(&out).await?;
            w.write_all(b).await?;
        }
        Payload::Stream(rx) => {
            w.write_all(&out).await?;
            let mut chunk = Vec::new();
            while let Ok(item) = rx.recv().await {
                let data = item?;
                if data.is_empty() {
                    continue;
                }
                chunk.clear();
                encode_chunk(&data, &mut chunk);
                w.write_all(&chunk).await?;
            }
            w.write_all(LAST_CHUNK).await?;
        }
    }
    w.flush().await?;
    read_head(&mut c.io).await
}

async fn read_head(io: &mut BufReader<Io>) -> io::Result<(u16, Headers)> {
    let mut acc: Vec<u8> = Vec::new();
    loop {
        let avail = io.fill_buf().await?;
        if avail.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "server closed the connection before responding",
            ));
        }
        let before = acc.len();
        acc.extend_from_slice(avail);
        match head::parse_response(&acc) {
            Ok(Some((h, n))) => {
                Pin::new(&mut *io).consume(n - before);
                if h.status == 100 {
                    acc.clear();
                    continue;
                }
                return Ok((h.status, h.headers));
            }
            Ok(None) => {
                let k = avail.len();
                Pin::new(&mut *io).consume(k);
                if acc.len() > crate::http::MAX_HEAD {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "response head too large",
                    ));
                }
            }
            Err(e) => return Err(io::Error::new(io::ErrorKind::InvalidData, e)),
        }
    }
}

/// A response; its body is read from the connection, which goes back to the pool once the body
/// has been read to its end.
pub struct Response {
    pub status: u16,
    pub headers: Headers,
    conn: Option<Conn>,
    keep: bool,
    transport: Transport,
    key: String,
    pub method: String,
    pub url: Url,
}

impl std::fmt::Debug for Response {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Response")
            .field("status", &self.status)
            .field("url", &self.url.to_string())
            .finish()
    }
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name)
    }

    /// Read some body bytes; `Ok(0)` at the end.
    pub async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let Some(c) = self.conn.as_mut() else {
            return Ok(0);
        };
        let n = Body::new(&mut c.io, &mut c.state).read(buf).await?;
        if n == 0 {
            self.release();
        }
        Ok(n)
    }

    /// The whole body (at most `limit` bytes).
    pub async fn read_all(mut self, limit: usize) -> Result<Vec<u8>> {
        let Some(c) = self.conn.as_mut() else {
            return Ok(Vec::new());
        };
        let data = Body::new(&mut c.io, &mut c.state)
            .read_all(limit)
            .await
            .map_err(|e| {
                Error::new(
                    ErrorKind::Unavailable,
                    go_request_error(&self.method, &self.url, e),
                )
            })?;
        self.release();
        Ok(data)
    }

    /// Drop the rest of a short body so the connection can be reused.
    pub async fn discard(mut self) {
        if let Some(c) = self.conn.as_mut() {
            if Body::new(&mut c.io, &mut c.state)
                .drain(64 * 1024)
                .await
                .unwrap_or(false)
            {
                self.release();
            }
        }
    }

    fn release(&mut self) {
        if let Some(c) = self.conn.take() {
            if self.keep && c.state.is_finished() {
                self.transport.give_back(self.key.clone(), c);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let u = Url::parse("http://LocalHost:5000/v2/").unwrap();
        assert_eq!(
            (u.https, u.host.as_str(), u.port, u.target.as_str()),
            (false, "localhost", 5000, "/v2/")
        );
        assert_eq!(u.authority(), "localhost:5000");
        let u = Url::parse("https://reg.example").unwrap();
        assert_eq!(
            (u.port, u.target.as_str(), u.authority().as_str()),
            (443, "/", "reg.example")
        );
        let u = Url::parse("http://[::1]:80/token?x=1").unwrap();
        assert_eq!(
            (
                u.host.as_str(),
                u.authority().as_str(),
                u.to_string().as_str()
            ),
            ("::1", "[::1]", "http://[::1]/token?x=1")
        );
        assert!(
            Url::parse("ftp://x/").is_err()
                && Url::parse("http://:5/").is_err()
                && Url::parse("http://h:x/").is_err()
        );
        let base = Url::parse("http://127.0.0.1:5000/v2/a/blobs/uploads/").unwrap();
        assert_eq!(
            base.join("/v2/a/blobs/uploads/uuid?_state=s")
                .unwrap()
                .target,
            "/v2/a/blobs/uploads/uuid?_state=s"
        );
        assert_eq!(
            base.join("https://cdn.example/b").unwrap().to_string(),
            "https://cdn.example/b"
        );
        assert_eq!(base.join("x").unwrap().target, "/v2/a/blobs/uploads/x");
        assert_eq!(
            base.with_query("digest", "sha256:ab").target,
            "/v2/a/blobs/uploads/?digest=sha256%3Aab"
        );
        assert_eq!(
            go_request_error("HEAD", &base, "no basic auth credentials"),
            "Head \"http://127.0.0.1:5000/v2/a/blobs/uploads/\": no basic auth credentials"
        );
    }
}
