//! A small HTTP/1.1 client: one connection, one request at a time, kept alive between requests.
//! Used by the docker client role (unix socket to the daemon) and the registry client (TCP by
//! numeric address; no name resolution here, static glibc has no NSS).

use super::body::{Body, BodyState};
use super::chunked::{encode_chunk, LAST_CHUNK};
use super::conn::{ConnReader, SharedStream, Stream};
use super::head::{self, Framing, Headers, ResponseHead};
use smol::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;

/// Where a server listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Addr {
    Unix(PathBuf),
    Tcp(SocketAddr),
}

impl Addr {
    /// `unix:///run/docker.sock`, `/run/docker.sock`, `tcp://127.0.0.1:2375`, `127.0.0.1:5000`.
    /// Host names are refused: resolve them first (we never call getaddrinfo).
    pub fn parse(s: &str) -> Result<Addr, String> {
        if let Some(p) = s.strip_prefix("unix://") {
            if p.is_empty() {
                return Err(format!("invalid unix socket address {s:?}: no path"));
            }
            return Ok(Addr::Unix(PathBuf::from(p)));
        }
        if s.starts_with('/') {
            return Ok(Addr::Unix(PathBuf::from(s)));
        }
        let hostport = s
            .strip_prefix("tcp://")
            .or_else(|| s.strip_prefix("http://"))
            .unwrap_or(s);
        let hostport = hostport.trim_end_matches('/');
        hostport.parse::<SocketAddr>().map(Addr::Tcp).map_err(|_| {
            format!(
                "invalid address {s:?}: expected unix://PATH or tcp://IP:PORT with a numeric IP"
            )
        })
    }

    /// The `Host` header value to send.
    pub fn host_header(&self) -> String {
        match self {
            Addr::Unix(_) => "api.moby.localhost".to_string(),
            Addr::Tcp(a) => a.to_string(),
        }
    }
}

/// The body of an outgoing request.
pub enum RequestBody<'b> {
    Empty,
    Bytes(&'b [u8]),
    /// Sent with chunked transfer coding, read until EOF.
    Reader(&'b mut (dyn AsyncRead + Unpin + Send)),
}

/// A response whose body is read from the connection.
#[derive(Debug)]
pub struct ClientResponse<'c> {
    pub status: u16,
    pub reason: String,
    pub headers: Headers,
    pub body: Body<'c>,
}

/// One client connection.
pub struct Conn {
    stream: SharedStream,
    rd: ConnReader<SharedStream>,
    state: BodyState,
    host: String,
    broken: bool,
}

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conn")
            .field("host", &self.host)
            .field("broken", &self.broken)
            .finish()
    }
}

impl Conn {
    pub async fn connect(addr: &Addr) -> io::Result<Conn> {
        let stream = match addr {
            Addr::Unix(p) => Stream::connect_unix(p).await?,
            Addr::Tcp(a) => Stream::connect_tcp(*a).await?,
        };
        let stream = SharedStream::new(stream);
        Ok(Conn {
            rd: ConnReader::new(stream.clone()),
            stream,
            state: BodyState::new(Framing::Empty),
            host: addr.host_header(),
            broken: false,
        })
    }

    /// Whether another request can go on this connection (the last body was read to its end).
    pub fn is_reusable(&self) -> bool {
        !self.broken && self.state.is_finished()
    }

    async fn write_request(
        &mut self,
        method: &str,
        target: &str,
        headers: &Headers,
        body: RequestBody<'_>,
    ) -> io::Result<()> {
        if !self.is_reusable() {
            let mut rest = Body::new(&mut self.rd, &mut self.state);
            if self.broken || !rest.drain(256 * 1024).await.unwrap_or(false) {
                self.broken = true;
                return Err(io::Error::new(
                    io::ErrorKind::ConnectionAborted,
                    "connection not reusable: previous response body not consumed",
                ));
            }
        }
        let mut h = headers.clone();
        h.set_default("Host", self.host.clone());
        h.set_default("User-Agent", concat!("berth/", env!("CARGO_PKG_VERSION")));
        match &body {
            RequestBody::Empty => {
                if matches!(method, "POST" | "PUT" | "PATCH") {
                    h.set("Content-Length", "0");
                }
            }
            RequestBody::Bytes(b) => h.set("Content-Length", b.len().to_string()),
            RequestBody::Reader(_) => {
                h.remove("Content-Length");
                h.set("Transfer-Encoding", "chunked");
            }
        }
        let mut w = self.stream.clone();
        let mut out = head::write_request_head(method, target, &h);
        match body {
            RequestBody::Empty => w.write_all(&out).await?,
            RequestBody::Bytes(b) if b.len() <= 64 * 1024 => {
                out.extend_from_slice(b);
                w.write_all(&out).await?;
            }
            RequestBody::Bytes(b) => {
                w.write_all(&out).await?;
                w.write_all(b).await?;
            }
            RequestBody::Reader(r) => {
                w.write_all(&out).await?;
                let mut buf = vec![0u8; 32 * 1024];
                loop {
                    let n = r.read(&mut buf).await?;
                    if n == 0 {
                        break;
                    }
                    let mut chunk = Vec::with_capacity(n + 16);
                    encode_chunk(&buf[..n], &mut chunk);
                    w.write_all(&chunk).await?;
                }
                w.write_all(LAST_CHUNK).await?;
            }
        }
        w.flush().await
    }

    async fn read_head(&mut self) -> io::Result<ResponseHead> {
        loop {
            match head::parse_response(self.rd.buffered()) {
                Ok(Some((h, n))) => {
                    self.rd.consume_bytes(n);
                    if h.status == 100 {
                        continue; // interim response; the real one follows
                    }
                    return Ok(h);
                }
                Ok(None) => {}
                Err(e) => {
                    self.broken = true;
                    return Err(io::Error::new(io::ErrorKind::InvalidData, e));
                }
            }
            if self.rd.read_more().await? == 0 {
                self.broken = true;
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "server closed the connection before responding",
                ));
            }
        }
    }

    /// Send a request and read the response head; the body is read from the returned response.
    pub async fn send(
        &mut self,
        method: &str,
        target: &str,
        headers: &Headers,
        body: RequestBody<'_>,
    ) -> io::Result<ClientResponse<'_>> {
        self.write_request(method, target, headers, body).await?;
        let h = self.read_head().await?;
        let framing = head::response_framing(method, h.status, &h.headers)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        if framing == Framing::Close || h.headers.has_token("Connection", "close") {
            self.broken = true;
        }
        self.state = BodyState::new(framing);
        Ok(ClientResponse {
            status: h.status,
            reason: h.reason,
            headers: h.headers,
            body: Body::new(&mut self.rd, &mut self.state),
        })
    }

    /// Send a request asking to take the connection over (Docker's attach and exec). On `101`
    /// (or `200`, which old daemons send) returns the head, the socket and any bytes already read
    /// past the head; other statuses come back as `Err((head, body))` for the caller's error text.
    pub async fn upgrade(
        mut self,
        method: &str,
        target: &str,
        headers: &Headers,
        body: RequestBody<'_>,
    ) -> io::Result<Result<(ResponseHead, SharedStream, Vec<u8>), (ResponseHead, Vec<u8>)>> {
        let mut h = headers.clone();
        h.set("Connection", "Upgrade");
        h.set("Upgrade", "tcp");
        self.write_request(method, target, &h, body).await?;
        let head = self.read_head().await?;
        if head.status == 101 || head.status == 200 {
            let (stream, rest) = self.rd.into_parts();
            return Ok(Ok((head, stream, rest)));
        }
        let framing = head::response_framing(method, head.status, &head.headers)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        self.state = BodyState::new(framing);
        let text = Body::new(&mut self.rd, &mut self.state)
            .read_all(1 << 20)
            .await?;
        Ok(Err((head, text)))
    }
}

/// One request on a fresh connection, body read whole (up to `limit` bytes).
pub async fn request(
    addr: &Addr,
    method: &str,
    target: &str,
    headers: &Headers,
    body: RequestBody<'_>,
    limit: usize,
) -> io::Result<(u16, Headers, Vec<u8>)> {
    let mut c = Conn::connect(addr).await?;
    let mut resp = c.send(method, target, headers, body).await?;
    let data = resp.body.read_all(limit).await?;
    Ok((resp.status, resp.headers, data))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_addresses() {
        assert_eq!(
            Addr::parse("unix:///var/run/docker.sock").unwrap(),
            Addr::Unix("/var/run/docker.sock".into())
        );
        assert_eq!(
            Addr::parse("/x.sock").unwrap(),
            Addr::Unix("/x.sock".into())
        );
        assert_eq!(
            Addr::parse("tcp://127.0.0.1:2375").unwrap(),
            Addr::Tcp("127.0.0.1:2375".parse().unwrap())
        );
        assert_eq!(
            Addr::parse("[::1]:5000").unwrap(),
            Addr::Tcp("[::1]:5000".parse().unwrap())
        );
        assert!(Addr::parse("tcp://localhost:2375").is_err());
        assert!(Addr::parse("unix://").is_err());
    }
}
