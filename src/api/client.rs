//! The Engine API client the `docker` role uses: daemon address (`DOCKER_HOST`, `-H`), API
//! version negotiation (`HEAD /_ping`, downgrade to the server's `Api-Version`, or a fixed
//! `DOCKER_API_VERSION`), JSON requests with Docker's error wording, streamed bodies, and
//! hijacked connections for attach and exec.
//!
//! One connection is kept alive between requests; a hijack takes a connection of its own.

use crate::http::client::{Addr, ClientResponse, Conn};
use crate::http::head::ResponseHead;
use crate::http::url::encode_query;
use crate::http::Headers;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// The API version this client speaks (the Docker CLI 28.2's).
pub const CLIENT_API_VERSION: &str = "1.50";
/// What a daemon that sends no `Api-Version` header is assumed to speak.
pub const FALLBACK_API_VERSION: &str = "1.24";
/// The daemon address when neither `-H` nor `DOCKER_HOST` names one.
pub const DEFAULT_HOST: &str = "unix:///var/run/docker.sock";
/// The port of `tcp://HOST` without one (Docker's plain-TCP port).
pub const DEFAULT_TCP_PORT: u16 = 2375;

/// Why a call failed, in the words the Docker CLI prints.
#[derive(Debug)]
pub enum Error {
    /// The daemon could not be reached at all.
    Connect { host: String },
    /// The daemon answered with an error status.
    Daemon { status: u16, message: String },
    /// The address or another client-side input is unusable.
    Invalid(String),
    /// The connection broke or the answer was not what the API promises.
    Io(String),
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// The daemon said 404 (no such container, image, exec...).
    pub fn is_not_found(&self) -> bool {
        matches!(self, Error::Daemon { status: 404, .. })
    }
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Daemon { status, .. } => Some(*status),
            _ => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Connect { host } => write!(
                f,
                "Cannot connect to the Docker daemon at {host}. Is the docker daemon running?"
            ),
            Error::Daemon { message, .. } => write!(f, "Error response from daemon: {message}"),
            Error::Invalid(m) | Error::Io(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for Error {}

fn io_err(e: io::Error) -> Error {
    Error::Io(format!("error during connect: {e}"))
}

/// Docker's `ParseHost`: the canonical form of a `-H`/`DOCKER_HOST` value (what error messages
/// show): no scheme means TCP, an empty host is `localhost`, a missing port 2375, `unix://`
/// alone the default socket.
pub fn normalize_host(host: &str) -> Result<String> {
    let host = host.trim();
    if host.is_empty() {
        return Ok(DEFAULT_HOST.to_string());
    }
    let bad = |what: &str| {
        Error::Invalid(format!(
            "unable to resolve docker endpoint: invalid bind address format: {what}"
        ))
    };
    let (proto, addr) = match host.split_once("://") {
        Some((p, a)) => (p, a),
        None => ("tcp", host),
    };
    match proto {
        "unix" => {
            if addr.contains("://") {
                return Err(Error::Invalid(format!(
                    "unable to resolve docker endpoint: invalid proto, expected unix: {addr}"
                )));
            }
            let addr = if addr.is_empty() {
                "/var/run/docker.sock"
            } else {
                addr
            };
            Ok(format!("unix://{addr}"))
        }
        "tcp" => {
            if addr.contains("://") || addr.is_empty() {
                return Err(bad(addr));
            }
            let (hostport, path) = match addr.find('/') {
                Some(i) => (&addr[..i], &addr[i..]),
                None => (addr, ""),
            };
            let (h, p) = if let Some(rest) = hostport.strip_prefix('[') {
                match rest.split_once(']') {
                    Some((h, tail)) => (
                        format!("[{h}]"),
                        tail.strip_prefix(':').unwrap_or("").to_string(),
                    ),
                    None => return Err(bad(addr)),
                }
            } else {
                match hostport.rsplit_once(':') {
                    Some((h, p)) => (h.to_string(), p.to_string()),
                    None => (hostport.to_string(), String::new()),
                }
            };
            let h = if h.is_empty() {
                "localhost".to_string()
            } else {
                h
            };
            let p = if p.is_empty() {
                DEFAULT_TCP_PORT.to_string()
            } else {
                p
            };
            if p.parse::<u16>().is_err() {
                return Err(bad(addr));
            }
            Ok(format!("tcp://{h}:{p}{path}"))
        }
        _ => Err(bad(host)),
    }
}

/// Resolve a (normalized) `-H`/`DOCKER_HOST` value to an address: `unix://PATH`,
/// `tcp://IP:PORT`, `tcp://localhost:PORT` (no name service is asked: `localhost` is loopback).
pub fn parse_host(host: &str) -> Result<Addr> {
    let host = normalize_host(host)?;
    if let Some(path) = host.strip_prefix("unix://") {
        return Ok(Addr::Unix(path.into()));
    }
    let rest = host.strip_prefix("tcp://").unwrap_or(&host);
    let hostport = rest.split('/').next().unwrap_or("");
    let (h, port) = hostport
        .rsplit_once(':')
        .ok_or_else(|| Error::Invalid(format!("invalid address {host}")))?;
    let port: u16 = port
        .parse()
        .map_err(|_| Error::Invalid(format!("invalid address {host}")))?;
    let h = h.trim_start_matches('[').trim_end_matches(']');
    let ip: IpAddr = match h {
        "localhost" => IpAddr::V4(Ipv4Addr::LOCALHOST),
        other => other.parse().map_err(|_| {
            Error::Invalid(format!("unable to resolve docker endpoint: {host}: only numeric addresses and localhost are supported"))
        })?,
    };
    Ok(Addr::Tcp(SocketAddr::new(ip, port)))
}

/// How to reach the daemon.
#[derive(Debug, Clone)]
pub struct Options {
    /// As the user wrote it (errors repeat it verbatim).
    pub host: String,
    /// `DOCKER_API_VERSION`: use this version and skip negotiation.
    pub api_version: Option<String>,
    pub user_agent: String,
}

/// A client of one daemon.
pub struct Client {
    host: String,
    addr: Addr,
    version: Option<String>,
    fixed: bool,
    user_agent: String,
    conn: Option<Conn>,
    ping: Option<Ping>,
}

/// What `/_ping` told us.
#[derive(Debug, Clone, Default)]
pub struct Ping {
    pub api_version: String,
    pub os_type: String,
    pub experimental: bool,
}

/// A response whose body the caller reads (streams: logs, events, progress, archives).
pub struct Response<'c> {
    pub status: u16,
    pub headers: Headers,
    pub body: crate::http::Body<'c>,
}

/// A hijacked connection: the raw socket and any bytes the daemon sent after the head.
pub struct Hijacked {
    pub head: ResponseHead,
    pub stream: SharedStream,
    pub buffered: Vec<u8>,
}

impl Hijacked {
    /// The daemon frames stdout/stderr (`application/vnd.docker.multiplexed-stream`, or any
    /// non-TTY stream of an older daemon, which the caller knows from the container config).
    pub fn content_type(&self) -> &str {
        self.head.headers.get("Content-Type").unwrap_or("")
    }
}

/// A query string built in order; empty values are kept (Docker's handlers read `all=` etc).
#[derive(Debug, Default, Clone)]
pub struct Query(Vec<(String, String)>);

impl Query {
    pub fn new() -> Query {
        Query(Vec::new())
    }
    pub fn add(mut self, k: &str, v: impl Into<String>) -> Query {
        self.0.push((k.to_string(), v.into()));
        self
    }
    /// Add `k=1` only when `on`.
    pub fn flag(self, k: &str, on: bool) -> Query {
        if on {
            self.add(k, "1")
        } else {
            self
        }
    }
    /// Add `k=v` only when `v` is not empty.
    pub fn opt(self, k: &str, v: &str) -> Query {
        if v.is_empty() {
            self
        } else {
            self.add(k, v)
        }
    }
    pub fn encode(&self) -> String {
        encode_query(self.0.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    }
}

impl Client {
    pub fn new(o: &Options) -> Result<Client> {
        let addr = parse_host(&o.host)?;
        let fixed = o.api_version.as_deref().is_some_and(|v| !v.is_empty());
        Ok(Client {
            host: normalize_host(&o.host)?,
            addr,
            version: if fixed { o.api_version.clone() } else { None },
            fixed,
            user_agent: o.user_agent.clone(),
            conn: None,
            ping: None,
        })
    }

    /// Another client of the same daemon at the same (already settled) version, with a
    /// connection of its own (for threads that resize or forward signals meanwhile).
    pub fn clone_fresh(&self) -> Client {
        Client {
            host: self.host.clone(),
            addr: self.addr.clone(),
            version: self.version.clone(),
            fixed: self.fixed,
            user_agent: self.user_agent.clone(),
            conn: None,
            ping: self.ping.clone(),
        }
    }

    pub fn host(&self) -> &str {
        &self.host
    }

    /// The version requests are sent at (after negotiation).
    pub fn version(&self) -> &str {
        self.version.as_deref().unwrap_or(CLIENT_API_VERSION)
    }

    /// Whether the version was negotiated down from ours.
    pub fn downgraded(&self) -> bool {
        !self.fixed
            && self
                .version
                .as_deref()
                .is_some_and(|v| v != CLIENT_API_VERSION)
    }

    /// `version >= v`.
    pub fn version_ge(&self, v: &str) -> bool {
        crate::api::version::compare(self.version(), v) != std::cmp::Ordering::Less
    }

    async fn connection(&mut self) -> Result<&mut Conn> {
        let fresh = match &self.conn {
            Some(c) => !c.is_reusable(),
            None => true,
        };
        if fresh {
            let c = Conn::connect(&self.addr)
                .await
                .map_err(|e| self.connect_error(e))?;
            self.conn = Some(c);
        }
        self.conn
            .as_mut()
            .ok_or_else(|| Error::Io("no connection".into()))
    }

    fn connect_error(&self, e: io::Error) -> Error {
        match e.kind() {
            io::ErrorKind::PermissionDenied => Error::Io(format!(
                "permission denied while trying to connect to the Docker daemon socket at {}: {e}",
                self.host
            )),
            _ => Error::Connect {
                host: self.host.clone(),
            },
        }
    }

    fn headers(&self, extra: &[(&str, String)]) -> Headers {
        let mut h = Headers::new();
        h.set("User-Agent", self.user_agent.clone());
        for (k, v) in extra {
            h.set(k, v.clone());
        }
        h
    }

    /// `HEAD /_ping` (then `GET` if HEAD is refused), remembering what the daemon announced.
    pub async fn ping(&mut self) -> Result<Ping> {
        let h = self.headers(&[]);
        let mut ping = None;
        for method in ["HEAD", "GET"] {
            let conn = self.connection().await?;
            let resp = match conn.send(method, "/_ping", &h, RequestBody::Empty).await {
                Ok(r) => r,
                Err(e) => {
                    self.conn = None;
                    if e.kind() == io::ErrorKind::UnexpectedEof && method == "HEAD" {
                        continue;
                    }
                    return Err(io_err(e));
                }
            };
            let (status, headers) = (resp.status, resp.headers.clone());
            drain(resp).await;
            if method == "HEAD" && status != 200 && status != 500 {
                continue;
            }
            ping = Some(Ping {
                api_version: headers.get("Api-Version").unwrap_or("").to_string(),
                os_type: headers.get("Ostype").unwrap_or("").to_string(),
                experimental: headers.get("Docker-Experimental") == Some("true"),
            });
            break;
        }
        let p = ping.unwrap_or_default();
        self.ping = Some(p.clone());
        Ok(p)
    }

    /// Settle the API version once: ours, or the daemon's when it is older.
    pub async fn negotiate(&mut self) -> Result<()> {
        if self.version.is_some() {
            return Ok(());
        }
        let p = self.ping().await?;
        let server = if p.api_version.is_empty() {
            FALLBACK_API_VERSION.to_string()
        } else {
            p.api_version
        };
        let v = if crate::api::version::compare(&server, CLIENT_API_VERSION)
            == std::cmp::Ordering::Less
        {
            server
        } else {
            CLIENT_API_VERSION.to_string()
        };
        self.version = Some(v);
        Ok(())
    }

    fn target(&self, path: &str, q: &Query) -> String {
        let qs = q.encode();
        let v = self.version();
        if qs.is_empty() {
            format!("/v{v}{path}")
        } else {
            format!("/v{v}{path}?{qs}")
        }
    }

    /// Send a request; error statuses become [`Error::Daemon`] with the daemon's message.
    pub async fn send(
        &mut self,
        method: &str,
        path: &str,
        q: &Query,
        extra: &[(&str, String)],
        body: RequestBody<'_>,
    ) -> Result<Response<'_>> {
        self.negotiate().await?;
        let target = self.target(path, q);
        let h = self.headers(extra);
        let conn = self.connection().await?;
        let resp = conn.send(method, &target, &h, body).await.map_err(io_err)?;
        if resp.status >= 400 {
            let status = resp.status;
            let reason = resp.reason.clone();
            let ct = resp.headers.get("Content-Type").unwrap_or("").to_string();
            let mut body = resp.body;
            let data = body.read_all(1 << 20).await.unwrap_or_default();
            return Err(Error::Daemon {
                status,
                message: error_message(status, &reason, &ct, &data),
            });
        }
        Ok(Response {
            status: resp.status,
            headers: resp.headers,
            body: resp.body,
        })
    }

    /// A request whose answer is read whole and thrown away (204s, 201s).
    pub async fn call(&mut self, method: &str, path: &str, q: &Query) -> Result<()> {
        let resp = self.send(method, path, q, &[], RequestBody::Empty).await?;
        drain_body(resp).await
    }

    /// A request with a JSON body whose answer is thrown away.
    pub async fn call_json<B: Serialize + ?Sized>(
        &mut self,
        method: &str,
        path: &str,
        q: &Query,
        body: &B,
    ) -> Result<()> {
        let data = json_body(body)?;
        let resp = self
            .send(
                method,
                path,
                q,
                &[("Content-Type", "application/json".into())],
                RequestBody::Bytes(&data),
            )
            .await?;
        drain_body(resp).await
    }

    /// `GET path` decoded as JSON.
    pub async fn get<T: DeserializeOwned>(&mut self, path: &str, q: &Query) -> Result<T> {
        let resp = self.send("GET", path, q, &[], RequestBody::Empty).await?;
        read_json(resp).await
    }

    /// `GET path`, the raw body (inspect prints what the daemon sent).
    pub async fn get_raw(&mut self, path: &str, q: &Query) -> Result<Vec<u8>> {
        let mut resp = self.send("GET", path, q, &[], RequestBody::Empty).await?;
        resp.body
            .read_all(64 << 20)
            .await
            .map_err(|e| Error::Io(format!("read response: {e}")))
    }

    /// A request with an optional JSON body, answer decoded as JSON.
    pub async fn post<B: Serialize + ?Sized, T: DeserializeOwned>(
        &mut self,
        path: &str,
        q: &Query,
        body: Option<&B>,
    ) -> Result<T> {
        let resp = match body {
            Some(b) => {
                let data = json_body(b)?;
                self.send(
                    "POST",
                    path,
                    q,
                    &[("Content-Type", "application/json".into())],
                    RequestBody::Bytes(&data),
                )
                .await?
            }
            None => self.send("POST", path, q, &[], RequestBody::Empty).await?,
        };
        read_json(resp).await
    }

    /// `DELETE path` decoded as JSON (`rmi` answers with a list).
    pub async fn delete<T: DeserializeOwned>(&mut self, path: &str, q: &Query) -> Result<T> {
        let resp = self
            .send("DELETE", path, q, &[], RequestBody::Empty)
            .await?;
        read_json(resp).await
    }

    /// Take a connection over (attach, exec start): `Connection: Upgrade`, `Upgrade: tcp`.
    pub async fn hijack(&mut self, path: &str, q: &Query, body: Option<&[u8]>) -> Result<Hijacked> {
        self.negotiate().await?;
        let target = self.target(path, q);
        let mut h = self.headers(&[]);
        let rb = match body {
            Some(b) => {
                h.set("Content-Type", "application/json");
                RequestBody::Bytes(b)
            }
            None => RequestBody::Empty,
        };
        let conn = match self.conn.take() {
            Some(c) if c.is_reusable() => c,
            _ => Conn::connect(&self.addr)
                .await
                .map_err(|e| self.connect_error(e))?,
        };
        match conn
            .upgrade("POST", &target, &h, rb)
            .await
            .map_err(io_err)?
        {
            Ok((head, stream, buffered)) => Ok(Hijacked {
                head,
                stream,
                buffered,
            }),
            Err((head, data)) => {
                let ct = head.headers.get("Content-Type").unwrap_or("").to_string();
                Err(Error::Daemon {
                    status: head.status,
                    message: error_message(head.status, &head.reason, &ct, &data),
                })
            }
        }
    }
}

fn json_body<B: Serialize + ?Sized>(b: &B) -> Result<Vec<u8>> {
    let mut data =
        serde_json::to_vec(b).map_err(|e| Error::Invalid(format!("encode request: {e}")))?;
    data.push(b'\n');
    Ok(data)
}

async fn drain(resp: ClientResponse<'_>) {
    let mut b = resp.body;
    let _ = b.drain(1 << 20).await;
}

async fn drain_body(mut resp: Response<'_>) -> Result<()> {
    resp.body
        .drain(1 << 24)
        .await
        .map_err(|e| Error::Io(format!("read response: {e}")))?;
    Ok(())
}

async fn read_json<T: DeserializeOwned>(mut resp: Response<'_>) -> Result<T> {
    let data = resp
        .body
        .read_all(256 << 20)
        .await
        .map_err(|e| Error::Io(format!("read response: {e}")))?;
    serde_json::from_slice(&data).map_err(|e| Error::Io(format!("decode response: {e}")))
}

/// The text after "Error response from daemon: ", as moby's client builds it.
pub fn error_message(status: u16, reason: &str, content_type: &str, body: &[u8]) -> String {
    if body.is_empty() {
        return format!("request returned {status} {reason}; check if the server supports the requested API version");
    }
    if content_type == "application/json" {
        #[derive(serde::Deserialize)]
        struct E {
            #[serde(default)]
            message: String,
        }
        return match serde_json::from_slice::<E>(body) {
            Ok(e) if !e.message.is_empty() => e.message.trim().to_string(),
            Ok(_) => format!(
                "API returned a {status} ({}) but provided no error-message",
                crate::http::head::reason(status)
            ),
            Err(e) => format!("Error reading JSON: {e}"),
        };
    }
    String::from_utf8_lossy(body).trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_parse_like_docker() {
        assert_eq!(
            parse_host("unix:///run/d.sock").unwrap(),
            Addr::Unix("/run/d.sock".into())
        );
        assert_eq!(
            parse_host("tcp://127.0.0.1:2375").unwrap(),
            Addr::Tcp("127.0.0.1:2375".parse().unwrap())
        );
        assert_eq!(
            parse_host("tcp://localhost:1234").unwrap(),
            Addr::Tcp("127.0.0.1:1234".parse().unwrap())
        );
        assert_eq!(
            parse_host("tcp://10.0.0.1").unwrap(),
            Addr::Tcp("10.0.0.1:2375".parse().unwrap())
        );
        assert_eq!(
            parse_host("tcp://:4000").unwrap(),
            Addr::Tcp("127.0.0.1:4000".parse().unwrap())
        );
        assert_eq!(
            parse_host("127.0.0.1:4000").unwrap(),
            Addr::Tcp("127.0.0.1:4000".parse().unwrap())
        );
        assert_eq!(normalize_host(":1").unwrap(), "tcp://localhost:1");
        assert_eq!(
            normalize_host("tcp://127.0.0.1").unwrap(),
            "tcp://127.0.0.1:2375"
        );
        assert_eq!(
            normalize_host("unix://").unwrap(),
            "unix:///var/run/docker.sock"
        );
        assert_eq!(
            normalize_host("/tmp/x.sock").unwrap(),
            "tcp://localhost:2375/tmp/x.sock"
        );
        assert_eq!(
            parse_host("tcp://[::1]:5000").unwrap(),
            Addr::Tcp("[::1]:5000".parse().unwrap())
        );
        assert_eq!(
            parse_host("foo://x").unwrap_err().to_string(),
            "unable to resolve docker endpoint: invalid bind address format: foo://x"
        );
        assert!(parse_host("tcp://example.com:2375").is_err());
    }

    #[test]
    fn daemon_errors_read_like_moby() {
        assert_eq!(
            error_message(
                404,
                "Not Found",
                "application/json",
                br#"{"message":"No such container: x"}"#
            ),
            "No such container: x"
        );
        assert_eq!(
            error_message(500, "Internal Server Error", "text/plain", b"boom\n"),
            "boom"
        );
        assert_eq!(
            error_message(404, "Not Found", "application/json", b""),
            "request returned 404 Not Found; check if the server supports the requested API version"
        );
        assert_eq!(
            error_message(400, "Bad Request", "application/json", b"{}"),
            "API returned a 400 (Bad Request) but provided no error-message"
        );
        let e = Error::Daemon {
            status: 404,
            message: "No such image: x".into(),
        };
        assert_eq!(
            e.to_string(),
            "Error response from daemon: No such image: x"
        );
        assert!(e.is_not_found());
    }

    #[test]
    fn queries_keep_order() {
        let q = Query::new()
            .add("all", "1")
            .opt("filters", "")
            .flag("size", false)
            .add("name", "a b");
        assert_eq!(q.encode(), "all=1&name=a+b");
    }
}

/// The HTTP pieces the `docker` front end needs, re-exported so `cli` depends on `api` only
/// (ARCHITECTURE.md: cli → api, never cli → http).
pub use crate::http::client::RequestBody;
pub use crate::http::conn::SharedStream;
pub use crate::http::url::path_escape;
