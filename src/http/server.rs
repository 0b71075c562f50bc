//! A small HTTP/1.1 server: one task per connection, keep-alive, chunked streaming responses
//! flushed per chunk, connection upgrade (hijack) and graceful shutdown.
//!
//! The server parses and frames; a [`Service`] turns each [`Request`] into a [`Response`]. It
//! answers protocol errors itself, like Go's net/http (whose words Docker clients see):
//! `400 Bad Request`, `431 Request Header Fields Too Large`, `501 Not Implemented`.
//!
//! Shutdown: when the stop channel closes, listeners stop accepting, idle connections close,
//! streaming responses end with their last chunk, and `serve` waits (up to a grace period) for
//! requests in flight to finish. Hijacked connections belong to their upgrade handler, which gets
//! the stop channel too.

use super::body::{Body, BodyState};
use super::chunked::{encode_chunk, LAST_CHUNK};
use super::conn::{ConnReader, SharedStream, Stream};
use super::head::{self, Framing, HeadError, Headers};
use super::url::percent_decode;
use smol::channel::Receiver;
use smol::future::FutureExt;
use smol::io::AsyncWriteExt;
use smol::stream::{Stream as AsyncStream, StreamExt};
use smol::{Async, Executor, Timer};
use std::future::Future;
use std::io;
use std::net::TcpListener;
use std::os::unix::net::UnixListener;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// A boxed, sendable future (handlers, upgrade callbacks).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;
/// A boxed stream of body chunks for streamed responses.
pub type BodyStream = Pin<Box<dyn AsyncStream<Item = io::Result<Vec<u8>>> + Send>>;
/// Called with the raw connection after `101 UPGRADED` (or `200 OK` for clients that did not ask
/// for an upgrade) was written.
pub type UpgradeFn = Box<dyn FnOnce(Upgraded) -> BoxFuture<'static, ()> + Send>;

/// Request bodies left unread by a handler are drained up to this much to keep the connection.
const DRAIN_LIMIT: u64 = 256 * 1024;

/// One parsed request; the body is read through `body`.
#[derive(Debug)]
pub struct Request<'a> {
    pub method: String,
    /// The request-target as sent.
    pub target: String,
    /// The path part of the target, percent-decoded.
    pub path: String,
    /// The raw query string (after `?`), not decoded.
    pub query: String,
    /// 0 for HTTP/1.0, 1 for HTTP/1.1.
    pub minor: u8,
    pub headers: Headers,
    pub body: Body<'a>,
}

impl Request<'_> {
    /// The client asked to take the connection over (`Connection: Upgrade`, `Upgrade: tcp`).
    pub fn wants_upgrade(&self) -> bool {
        self.headers.has_token("Connection", "upgrade") && self.headers.get("Upgrade").is_some()
    }
}

pub enum ResponseBody {
    Empty,
    Bytes(Vec<u8>),
    /// Sent chunked (HTTP/1.1) or until close (HTTP/1.0); each item is written and flushed as it
    /// comes. The head goes out before the first item, so a client sees the status at once.
    Stream(BodyStream),
    Upgrade(UpgradeFn),
}

impl std::fmt::Debug for ResponseBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ResponseBody::Empty => f.write_str("Empty"),
            ResponseBody::Bytes(b) => write!(f, "Bytes({} bytes)", b.len()),
            ResponseBody::Stream(_) => f.write_str("Stream"),
            ResponseBody::Upgrade(_) => f.write_str("Upgrade"),
        }
    }
}

#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Headers,
    pub body: ResponseBody,
}

impl Response {
    /// A response with no body.
    pub fn empty(status: u16) -> Response {
        Response {
            status,
            headers: Headers::new(),
            body: ResponseBody::Empty,
        }
    }
    pub fn bytes(status: u16, content_type: &str, body: Vec<u8>) -> Response {
        let mut headers = Headers::new();
        headers.set("Content-Type", content_type);
        Response {
            status,
            headers,
            body: ResponseBody::Bytes(body),
        }
    }
    pub fn text(status: u16, body: &str) -> Response {
        Response::bytes(
            status,
            "text/plain; charset=utf-8",
            body.as_bytes().to_vec(),
        )
    }
    pub fn stream(status: u16, content_type: &str, body: BodyStream) -> Response {
        let mut headers = Headers::new();
        headers.set("Content-Type", content_type);
        Response {
            status,
            headers,
            body: ResponseBody::Stream(body),
        }
    }
    /// A streamed response fed through a channel: send chunks on the returned sender (from a
    /// spawned task); dropping the sender ends the body. `send` fails once the client is gone.
    pub fn channel(status: u16, content_type: &str) -> (smol::channel::Sender<Vec<u8>>, Response) {
        let (tx, rx) = smol::channel::bounded::<Vec<u8>>(16);
        (
            tx,
            Response::stream(status, content_type, Box::pin(rx.map(Ok))),
        )
    }
    /// Hijack: after the head, `f` owns the connection. Docker's attach/exec write
    /// `101 UPGRADED` with `Connection: Upgrade`, `Upgrade: tcp` when the client asked for an
    /// upgrade, else `200 OK`; `content_type` is the stream type
    /// (`application/vnd.docker.raw-stream` or `…multiplexed-stream`).
    pub fn upgrade(content_type: &str, f: UpgradeFn) -> Response {
        let mut headers = Headers::new();
        headers.set("Content-Type", content_type);
        Response {
            status: 101,
            headers,
            body: ResponseBody::Upgrade(f),
        }
    }
    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Response {
        self.headers.set(name, value);
        self
    }
}

/// A connection handed over after an upgrade.
pub struct Upgraded {
    /// The socket; clone it to read and write from two tasks.
    pub stream: SharedStream,
    /// Bytes the client sent after the request that the server had already read: consume them
    /// before reading `stream`.
    pub read_ahead: Vec<u8>,
    /// Closes when the server shuts down.
    pub stop: Receiver<()>,
}

/// What the server calls for every request.
pub trait Service: Send + Sync + 'static {
    fn call<'a>(&'a self, req: Request<'a>) -> BoxFuture<'a, Response>;
}

/// A listening socket.
#[derive(Debug)]
pub enum Listener {
    Unix(Async<UnixListener>),
    Tcp(Async<TcpListener>),
}

impl Listener {
    pub async fn accept(&self) -> io::Result<Stream> {
        match self {
            Listener::Unix(l) => Ok(Stream::Unix(l.accept().await?.0)),
            Listener::Tcp(l) => {
                let (s, _) = l.accept().await?;
                let _ = s.get_ref().set_nodelay(true);
                Ok(Stream::Tcp(s))
            }
        }
    }
}

/// Serve `listeners` until `stop` closes, then wait up to `grace` for requests in flight.
pub async fn serve(
    listeners: Vec<Listener>,
    service: Arc<dyn Service>,
    ex: Arc<Executor<'static>>,
    stop: Receiver<()>,
    grace: Duration,
) {
    let inflight = Arc::new(smol::lock::RwLock::new(()));
    let accepters: Vec<_> = listeners
        .into_iter()
        .map(|l| {
            let (service, stop, inflight, ex2) =
                (service.clone(), stop.clone(), inflight.clone(), ex.clone());
            ex.spawn(async move {
                accept_loop(l, service, ex2, stop, inflight).await;
            })
        })
        .collect();
    let _ = stop.recv().await;
    for a in accepters {
        a.await;
    }
    // Every request in flight holds a read lock; the write lock means they are all done.
    let drained = async {
        let _all = inflight.write().await;
        true
    };
    let timeout = async {
        Timer::after(grace).await;
        false
    };
    if !drained.or(timeout).await {
        log::warn!("shutdown: requests still in flight after {grace:?}, closing them");
    }
}

async fn accept_loop(
    l: Listener,
    service: Arc<dyn Service>,
    ex: Arc<Executor<'static>>,
    stop: Receiver<()>,
    inflight: Arc<smol::lock::RwLock<()>>,
) {
    loop {
        let accepted = async { Some(l.accept().await) }.or(async {
            let _ = stop.recv().await;
            None
        });
        match accepted.await {
            None => return,
            Some(Ok(s)) => {
                let (service, stop, inflight) = (service.clone(), stop.clone(), inflight.clone());
                ex.spawn(serve_conn(SharedStream::new(s), service, stop, inflight))
                    .detach();
            }
            Some(Err(e)) => {
                // EMFILE and friends: back off instead of spinning.
                log::warn!("accept: {e}");
                Timer::after(Duration::from_millis(100)).await;
            }
        }
    }
}

enum Wait<T> {
    Got(T),
    Stop,
}

/// Read until a whole request head is buffered. `Ok(None)`: the connection ended or the server
/// stops while idle.
async fn read_head(
    rd: &mut ConnReader<SharedStream>,
    stop: &Receiver<()>,
) -> Result<Option<head::RequestHead>, HeadError> {
    loop {
        if let Some((h, n)) = head::parse_request(rd.buffered())? {
            rd.consume_bytes(n);
            return Ok(Some(h));
        }
        if stop.is_closed() && rd.buffered().is_empty() {
            return Ok(None);
        }
        let more = if rd.buffered().is_empty() {
            let read = async { Wait::Got(rd.read_more().await) };
            read.or(async {
                let _ = stop.recv().await;
                Wait::Stop
            })
            .await
        } else {
            Wait::Got(rd.read_more().await)
        };
        match more {
            Wait::Stop | Wait::Got(Ok(0)) | Wait::Got(Err(_)) => return Ok(None),
            Wait::Got(Ok(_)) => {}
        }
    }
}

async fn serve_conn(
    stream: SharedStream,
    service: Arc<dyn Service>,
    stop: Receiver<()>,
    inflight: Arc<smol::lock::RwLock<()>>,
) {
    let mut rd = ConnReader::new(stream.clone());
    let mut w = stream.clone();
    loop {
        let head = match read_head(&mut rd, &stop).await {
            Ok(Some(h)) => h,
            Ok(None) => return,
            Err(e) => return protocol_error(&stream, &mut rd, &e).await,
        };
        let framing = match head::request_framing(&head.headers) {
            Ok(f) => f,
            Err(e) => return protocol_error(&stream, &mut rd, &e).await,
        };
        let _busy = inflight.read_arc().await;
        let keep_alive = if head.minor >= 1 {
            !head.headers.has_token("Connection", "close")
        } else {
            head.headers.has_token("Connection", "keep-alive")
        };
        let expects_continue = framing != Framing::Empty
            && head
                .headers
                .get("Expect")
                .is_some_and(|v| v.eq_ignore_ascii_case("100-continue"));
        if expects_continue && w.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").await.is_err() {
            return;
        }
        let method = head.method.clone();
        let minor = head.minor;
        let wants_upgrade = head.headers.has_token("Connection", "upgrade")
            && head.headers.get("Upgrade").is_some();
        let mut state = BodyState::new(framing);
        let response = {
            let (path, query) = match head.target.split_once('?') {
                Some((p, q)) => (p, q.to_string()),
                None => (head.target.as_str(), String::new()),
            };
            let req = Request {
                path: percent_decode(path, false),
                query,
                method: head.method,
                minor: head.minor,
                headers: head.headers,
                body: Body::new(&mut rd, &mut state),
                target: head.target.clone(),
            };
            service.call(req).await
        };
        let Response {
            status,
            mut headers,
            body,
        } = response;
        headers.set_default("Date", head::http_date(SystemTime::now()));
        let is_head = method.eq_ignore_ascii_case("HEAD");
        let mut close = !keep_alive || stop.is_closed();
        match body {
            ResponseBody::Upgrade(f) => {
                // What is left of the request body is not stream data: drop it first.
                if !state.is_finished() {
                    let mut body = Body::new(&mut rd, &mut state);
                    if !matches!(body.drain(DRAIN_LIMIT).await, Ok(true)) {
                        return;
                    }
                }
                let out = if wants_upgrade {
                    headers.set("Connection", "Upgrade");
                    headers.set("Upgrade", "tcp");
                    head::write_response_head(101, "UPGRADED", &headers)
                } else {
                    head::write_response_head(200, "OK", &headers)
                };
                if w.write_all(&out).await.is_err() {
                    return;
                }
                drop(_busy);
                let (_, read_ahead) = rd.into_parts();
                f(Upgraded {
                    stream,
                    read_ahead,
                    stop,
                })
                .await;
                return;
            }
            ResponseBody::Empty | ResponseBody::Bytes(_) => {
                let bytes = match body {
                    ResponseBody::Bytes(b) => b,
                    _ => Vec::new(),
                };
                if status < 200 || status == 204 || status == 304 {
                    headers.remove("Content-Length");
                } else if !(is_head && headers.get("Content-Length").is_some()) {
                    // A HEAD answer announces the length the GET body would have.
                    headers.set("Content-Length", bytes.len().to_string());
                }
                if close {
                    headers.set("Connection", "close");
                } else if minor == 0 {
                    headers.set("Connection", "keep-alive");
                }
                let mut out = head::write_response_head(status, head::reason(status), &headers);
                if !is_head {
                    out.extend_from_slice(&bytes);
                }
                if w.write_all(&out).await.is_err() {
                    return;
                }
            }
            ResponseBody::Stream(mut chunks) => {
                let chunked = minor >= 1;
                headers.remove("Content-Length");
                if chunked {
                    headers.set("Transfer-Encoding", "chunked");
                } else {
                    close = true;
                }
                if close {
                    headers.set("Connection", "close");
                }
                let out = head::write_response_head(status, head::reason(status), &headers);
                if w.write_all(&out).await.is_err() || w.flush().await.is_err() {
                    return;
                }
                if !is_head {
                    match write_stream(&mut w, &mut rd, &mut chunks, chunked, &stop).await {
                        StreamEnd::Complete => {}
                        StreamEnd::Stopped => close = true,
                        StreamEnd::Broken => return,
                    }
                }
            }
        }
        drop(_busy);
        if !state.is_finished() {
            if state.is_failed() {
                return;
            }
            let mut body = Body::new(&mut rd, &mut state);
            if !matches!(body.drain(DRAIN_LIMIT).await, Ok(true)) {
                return;
            }
        }
        if close {
            stream.shutdown();
            return;
        }
        rd.shrink();
    }
}

enum StreamEnd {
    Complete,
    /// The server is stopping: the body was ended early but properly.
    Stopped,
    /// Write failed or the client went away: drop the connection.
    Broken,
}

enum Next {
    Item(Option<io::Result<Vec<u8>>>),
    ClientGone,
    ClientSentMore,
    Stop,
}

async fn write_stream(
    w: &mut SharedStream,
    rd: &mut ConnReader<SharedStream>,
    chunks: &mut BodyStream,
    chunked: bool,
    stop: &Receiver<()>,
) -> StreamEnd {
    // While waiting for the next chunk, watch the client: EOF means it went away (Docker's
    // handlers use this to stop `events` or `wait` streams).
    let mut watch_client = true;
    loop {
        let next = {
            let item = async { Next::Item(chunks.next().await) };
            let stopping = async {
                let _ = stop.recv().await;
                Next::Stop
            };
            if watch_client {
                let gone = async {
                    match rd.read_more().await {
                        Ok(0) | Err(_) => Next::ClientGone,
                        Ok(_) => Next::ClientSentMore,
                    }
                };
                item.or(stopping).or(gone).await
            } else {
                item.or(stopping).await
            }
        };
        match next {
            Next::Item(Some(Ok(data))) => {
                let mut out = Vec::with_capacity(data.len() + 16);
                if chunked {
                    encode_chunk(&data, &mut out);
                } else {
                    out = data;
                }
                if !out.is_empty() && (w.write_all(&out).await.is_err() || w.flush().await.is_err())
                {
                    return StreamEnd::Broken;
                }
            }
            Next::Item(Some(Err(e))) => {
                // HTTP/1.1 cannot report an error mid-body; cutting the connection tells the
                // client the body is incomplete (Docker's handlers put errors in the stream).
                log::warn!("response stream failed: {e}");
                return StreamEnd::Broken;
            }
            Next::Item(None) | Next::Stop => {
                if chunked && w.write_all(LAST_CHUNK).await.is_err() {
                    return StreamEnd::Broken;
                }
                return if matches!(next, Next::Stop) {
                    StreamEnd::Stopped
                } else {
                    StreamEnd::Complete
                };
            }
            Next::ClientGone => return StreamEnd::Broken,
            Next::ClientSentMore => watch_client = false,
        }
    }
}

/// Answer a request we cannot parse the way Go's net/http does, then close gently: stop
/// writing, discard what the client still sends for a moment so it can read our answer.
async fn protocol_error(stream: &SharedStream, rd: &mut ConnReader<SharedStream>, e: &HeadError) {
    let (status, text) = match e {
        HeadError::TooLarge => (431, "431 Request Header Fields Too Large"),
        HeadError::Malformed(_) => (400, "400 Bad Request"),
        HeadError::UnsupportedTransferCoding(_) => (501, "501 Not Implemented"),
    };
    log::debug!("closing connection: {e}");
    let mut out = format!("HTTP/1.1 {status} {}\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n", head::reason(status)).into_bytes();
    out.extend_from_slice(text.as_bytes());
    let mut w = stream.clone();
    if w.write_all(&out).await.is_err() {
        return;
    }
    let _ = stream.shutdown_write();
    let linger = async {
        let mut seen = 0usize;
        while seen < (1 << 20) {
            rd.consume_bytes(rd.buffered().len());
            match rd.read_more().await {
                Ok(0) | Err(_) => break,
                Ok(n) => seen += n,
            }
        }
    };
    let deadline = async {
        Timer::after(Duration::from_secs(1)).await;
    };
    linger.or(deadline).await;
    stream.shutdown();
}

#[cfg(test)]
mod tests {
    //! The server and client against each other over a real unix socket.
    use super::*;
    use crate::http::client::{Addr, Conn, RequestBody};
    use smol::io::{AsyncReadExt, AsyncWriteExt};
    use std::sync::atomic::{AtomicBool, Ordering};

    struct TestService {
        release: Receiver<()>,
        client_gone: Arc<AtomicBool>,
    }

    impl Service for TestService {
        fn call<'a>(&'a self, mut req: Request<'a>) -> BoxFuture<'a, Response> {
            Box::pin(async move {
                match req.path.as_str() {
                    "/echo" => match req.body.read_all(1 << 20).await {
                        Ok(b) => Response::bytes(200, "application/octet-stream", b),
                        Err(e) => Response::text(400, &e.to_string()),
                    },
                    "/stream" => {
                        // First chunk at once, the second only when the test says so: the client
                        // must see the first before the second exists.
                        let (tx, resp) = Response::channel(200, "application/json");
                        let release = self.release.clone();
                        crate::http::rt::spawn_detached(async move {
                            let _ = tx.send(b"{\"n\":1}\n".to_vec()).await;
                            let _ = release.recv().await;
                            let _ = tx.send(b"{\"n\":2}\n".to_vec()).await;
                        });
                        resp
                    }
                    "/forever" => {
                        let (tx, resp) = Response::channel(200, "application/json");
                        let gone = self.client_gone.clone();
                        crate::http::rt::spawn_detached(async move {
                            loop {
                                if tx.send(b"tick\n".to_vec()).await.is_err() {
                                    gone.store(true, Ordering::SeqCst);
                                    return;
                                }
                                Timer::after(Duration::from_millis(10)).await;
                            }
                        });
                        resp
                    }
                    "/slow" => {
                        Timer::after(Duration::from_millis(300)).await;
                        Response::text(200, "done")
                    }
                    "/upgrade" => Response::upgrade(
                        "application/vnd.docker.raw-stream",
                        Box::new(|up: Upgraded| {
                            Box::pin(async move {
                                let mut input = up.read_ahead.clone();
                                let mut r = up.stream.clone();
                                let _ = r.read_to_end(&mut input).await;
                                let mut w = up.stream.clone();
                                let _ = w.write_all(&input.to_ascii_uppercase()).await;
                                let _ = up.stream.shutdown_write();
                            })
                        }),
                    ),
                    _ => Response::text(404, "no"),
                }
            })
        }
    }

    struct Fixture {
        dir: std::path::PathBuf,
        addr: Addr,
        stop: Option<smol::channel::Sender<()>>,
        release: smol::channel::Sender<()>,
        client_gone: Arc<AtomicBool>,
        server: Option<smol::Task<()>>,
    }

    impl Drop for Fixture {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    fn start(ex: &Arc<Executor<'static>>, name: &str) -> Fixture {
        let dir = std::env::temp_dir().join(format!("berth-http-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("s.sock");
        let l = Listener::Unix(Async::<UnixListener>::bind(&path).unwrap());
        let (stop_tx, stop_rx) = smol::channel::bounded(1);
        let (rel_tx, rel_rx) = smol::channel::bounded(1);
        let gone = Arc::new(AtomicBool::new(false));
        let svc: Arc<dyn Service> = Arc::new(TestService {
            release: rel_rx,
            client_gone: gone.clone(),
        });
        let server = ex.spawn(serve(
            vec![l],
            svc,
            ex.clone(),
            stop_rx,
            Duration::from_secs(2),
        ));
        Fixture {
            dir,
            addr: Addr::Unix(path),
            stop: Some(stop_tx),
            release: rel_tx,
            client_gone: gone,
            server: Some(server),
        }
    }

    fn run_test(name: &str, f: impl for<'x> FnOnce(&'x mut Fixture) -> BoxFuture<'x, ()>) {
        let ex = Arc::new(Executor::new());
        smol::block_on(ex.run(async {
            let mut fx = start(&ex, name);
            f(&mut fx).await;
        }));
    }

    #[test]
    fn request_bodies_sent_chunked_come_back_whole() {
        run_test("echo", |fx| {
            Box::pin(async move {
                let mut c = Conn::connect(&fx.addr).await.unwrap();
                let data: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
                let mut reader = &data[..];
                let mut r = c
                    .send(
                        "POST",
                        "/echo",
                        &Headers::new(),
                        RequestBody::Reader(&mut reader),
                    )
                    .await
                    .unwrap();
                assert_eq!(r.status, 200);
                assert_eq!(r.body.read_all(1 << 20).await.unwrap(), data);
                // Same connection, length-framed this time.
                let mut r = c
                    .send(
                        "POST",
                        "/echo",
                        &Headers::new(),
                        RequestBody::Bytes(b"again"),
                    )
                    .await
                    .unwrap();
                assert_eq!(r.body.read_all(100).await.unwrap(), b"again");
                assert!(c.is_reusable());
            })
        });
    }

    #[test]
    fn streamed_responses_are_flushed_chunk_by_chunk() {
        run_test("stream", |fx| {
            Box::pin(async move {
                let mut c = Conn::connect(&fx.addr).await.unwrap();
                let mut r = c
                    .send("GET", "/stream", &Headers::new(), RequestBody::Empty)
                    .await
                    .unwrap();
                assert_eq!(r.headers.get("Transfer-Encoding"), Some("chunked"));
                let mut first = vec![0u8; 8];
                r.body.read_exact(&mut first).await.unwrap();
                assert_eq!(
                    first, b"{\"n\":1}\n",
                    "the first chunk arrives before the second is produced"
                );
                fx.release.send(()).await.unwrap();
                let rest = r.body.read_all(100).await.unwrap();
                assert_eq!(rest, b"{\"n\":2}\n");
                let mut again = c
                    .send("GET", "/echo", &Headers::new(), RequestBody::Empty)
                    .await
                    .unwrap();
                assert_eq!(again.status, 200);
                assert!(again.body.read_all(10).await.unwrap().is_empty());
            })
        });
    }

    #[test]
    fn a_client_that_hangs_up_stops_the_stream() {
        run_test("gone", |fx| {
            Box::pin(async move {
                let mut c = Conn::connect(&fx.addr).await.unwrap();
                let mut r = c
                    .send("GET", "/forever", &Headers::new(), RequestBody::Empty)
                    .await
                    .unwrap();
                let mut tick = vec![0u8; 5];
                r.body.read_exact(&mut tick).await.unwrap();
                drop(c);
                for _ in 0..100 {
                    if fx.client_gone.load(Ordering::SeqCst) {
                        return;
                    }
                    Timer::after(Duration::from_millis(10)).await;
                }
                panic!("the producer never learnt that the client left");
            })
        });
    }

    #[test]
    fn upgrade_hands_over_the_connection_with_read_ahead_bytes() {
        run_test("upgrade", |fx| {
            Box::pin(async move {
                // The client's first stream bytes travel in the same write as the request.
                let Addr::Unix(p) = &fx.addr else {
                    unreachable!()
                };
                let s = Stream::connect_unix(p).await.unwrap();
                let mut w = &s;
                w.write_all(
                    b"POST /upgrade HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\nearly ",
                )
                .await
                .unwrap();
                let mut head = Vec::new();
                let mut b = [0u8; 1];
                let mut r = &s;
                while !head.ends_with(b"\r\n\r\n") {
                    r.read_exact(&mut b).await.unwrap();
                    head.push(b[0]);
                }
                let head = String::from_utf8(head).unwrap();
                assert!(head.starts_with("HTTP/1.1 101 UPGRADED\r\n"), "{head}");
                assert!(
                    head.contains("Content-Type: application/vnd.docker.raw-stream\r\n")
                        && head.contains("Upgrade: tcp\r\n"),
                    "{head}"
                );
                w.write_all(b"late").await.unwrap();
                s.shutdown_write().unwrap();
                let mut out = Vec::new();
                r.read_to_end(&mut out).await.unwrap();
                assert_eq!(out, b"EARLY LATE");

                // Through the client, without the upgrade header: 200 OK and the same stream.
                let c = Conn::connect(&fx.addr).await.unwrap();
                let (h, stream, rest) = c
                    .upgrade("POST", "/upgrade", &Headers::new(), RequestBody::Empty)
                    .await
                    .unwrap()
                    .unwrap();
                assert_eq!(h.status, 101);
                assert!(rest.is_empty());
                let mut w = stream.clone();
                w.write_all(b"abc").await.unwrap();
                stream.shutdown_write().unwrap();
                let mut out = Vec::new();
                let mut r = stream.clone();
                r.read_to_end(&mut out).await.unwrap();
                assert_eq!(out, b"ABC");
            })
        });
    }

    #[test]
    fn shutdown_lets_requests_in_flight_finish_and_ends_streams_cleanly() {
        run_test("shutdown", |fx| {
            Box::pin(async move {
                let addr = fx.addr.clone();
                let slow = smol::spawn(async move {
                    crate::http::client::request(
                        &addr,
                        "GET",
                        "/slow",
                        &Headers::new(),
                        RequestBody::Empty,
                        100,
                    )
                    .await
                });
                let mut c = Conn::connect(&fx.addr).await.unwrap();
                let mut r = c
                    .send("GET", "/forever", &Headers::new(), RequestBody::Empty)
                    .await
                    .unwrap();
                let mut tick = vec![0u8; 5];
                r.body.read_exact(&mut tick).await.unwrap();
                Timer::after(Duration::from_millis(50)).await;
                drop(fx.stop.take());
                // The endless stream ends with its last chunk, not a broken connection.
                let rest = r.body.read_all(1 << 20).await.unwrap();
                assert!(rest.ends_with(b"tick\n") || rest.is_empty());
                let (status, _, body) = slow.await.unwrap();
                assert_eq!((status, body.as_slice()), (200, &b"done"[..]));
                fx.server.take().unwrap().await;
                assert!(
                    Conn::connect(&fx.addr).await.is_err() || {
                        // The socket file may linger (removal is the daemon's job) but nobody accepts.
                        let mut c = Conn::connect(&fx.addr).await.unwrap();
                        c.send("GET", "/echo", &Headers::new(), RequestBody::Empty)
                            .await
                            .is_err()
                    }
                );
            })
        });
    }
}
