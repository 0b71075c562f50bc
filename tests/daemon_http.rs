//! dockerd's HTTP surface, spoken raw over the unix socket: Docker's headers, version prefixes,
//! error shapes, keep-alive, chunked request bodies, and protocol errors that must not hurt the
//! daemon.
mod common;
use common::daemon::Dockerd;
use common::*;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::time::Duration;

const T: Duration = Duration::from_secs(5);

/// A parsed response: status, headers (lower-cased names), body.
struct Resp {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Resp {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == &name.to_ascii_lowercase())
            .map(|(_, v)| v.as_str())
    }
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
}

/// Read exactly one response from `s` (Content-Length or chunked framing); `head_request` for
/// answers to HEAD, which have no body whatever their headers say.
fn read_response(s: &mut UnixStream, head_request: bool) -> Resp {
    s.set_read_timeout(Some(T)).unwrap();
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        assert_eq!(
            s.read(&mut byte).unwrap(),
            1,
            "connection closed inside a head: {:?}",
            String::from_utf8_lossy(&buf)
        );
        buf.push(byte[0]);
    }
    let head = String::from_utf8(buf).unwrap();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap();
    let status: u16 = status_line.split(' ').nth(1).unwrap().parse().unwrap();
    let headers: Vec<(String, String)> = lines
        .filter(|l| !l.is_empty())
        .map(|l| {
            let (n, v) = l.split_once(':').unwrap();
            (n.trim().to_ascii_lowercase(), v.trim().to_string())
        })
        .collect();
    let get = |n: &str| headers.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
    let mut body = Vec::new();
    if head_request {
    } else if let Some(n) = get("content-length") {
        body.resize(n.parse().unwrap(), 0);
        s.read_exact(&mut body).unwrap();
    } else if get("transfer-encoding").as_deref() == Some("chunked") {
        loop {
            let mut line = Vec::new();
            while !line.ends_with(b"\r\n") {
                s.read_exact(&mut byte).unwrap();
                line.push(byte[0]);
            }
            let size =
                usize::from_str_radix(std::str::from_utf8(&line).unwrap().trim(), 16).unwrap();
            let mut chunk = vec![0u8; size + 2];
            s.read_exact(&mut chunk).unwrap();
            if size == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..size]);
        }
    } else {
        s.read_to_end(&mut body).unwrap();
    }
    Resp {
        status,
        headers,
        body,
    }
}

fn exchange(d: &Dockerd, request: &str) -> Resp {
    let mut s = UnixStream::connect(&d.socket).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    read_response(&mut s, request.starts_with("HEAD "))
}

fn get(d: &Dockerd, path: &str) -> Resp {
    exchange(d, &format!("GET {path} HTTP/1.1\r\nHost: docker\r\n\r\n"))
}

fn assert_engine_headers(r: &Resp) {
    assert_eq!(r.header("Api-Version"), Some("1.50"));
    assert_eq!(r.header("Ostype"), Some("linux"));
    assert_eq!(r.header("Docker-Experimental"), Some("false"));
    let server = r.header("Server").unwrap();
    assert!(
        server.starts_with("Docker/") && server.ends_with(" (linux)"),
        "Server: {server}"
    );
    assert!(r.header("Date").is_some());
}

#[test]
fn ping_head_and_get_carry_dockers_headers() {
    require_root();
    let dir = TestDir::new("daemon_ping_headers");
    let d = Dockerd::start(&dir, &[]);
    let head = exchange(&d, "HEAD /_ping HTTP/1.1\r\nHost: docker\r\n\r\n");
    assert_eq!(head.status, 200);
    assert_engine_headers(&head);
    assert_eq!(head.header("Content-Length"), Some("0"));
    assert_eq!(
        head.header("Content-Type"),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(
        head.header("Cache-Control"),
        Some("no-cache, no-store, must-revalidate")
    );
    assert_eq!(head.header("Pragma"), Some("no-cache"));
    assert_eq!(head.header("Builder-Version"), Some("1"));
    let get = get(&d, "/_ping");
    assert_eq!((get.status, get.text().as_str()), (200, "OK"));
    assert_engine_headers(&get);
    assert_eq!(
        get.header("Cache-Control"),
        Some("no-cache, no-store, must-revalidate")
    );
    // Versioned ping, as clients with a pinned version send it.
    assert_eq!(self::get(&d, "/v1.41/_ping").text(), "OK");
}

#[test]
fn versioned_paths_are_served() {
    require_root();
    let dir = TestDir::new("daemon_versioned_paths");
    let d = Dockerd::start(&dir, &[]);
    for path in [
        "/v1.41/version",
        "/version",
        "/v1.24/version",
        "/v1.50/version",
    ] {
        let r = get(&d, path);
        assert_eq!(r.status, 200, "{path}: {}", r.text());
        assert_eq!(r.header("Content-Type"), Some("application/json"));
        assert!(
            r.body.ends_with(b"}\n"),
            "Go's encoder ends JSON with a newline"
        );
        let v = r.json();
        assert_eq!(v["ApiVersion"], "1.50");
        assert_eq!(v["MinAPIVersion"], "1.24");
        assert_eq!(v["Os"], "linux");
        assert_eq!(v["Components"][0]["Name"], "Engine");
    }
    // Version-gated /info fields.
    let old = get(&d, "/v1.41/info").json();
    assert_eq!(old["BridgeNfIptables"], false);
    assert!(old["ContainerdCommit"]["Expected"].is_string());
    assert!(old["RegistryConfig"]["AllowNondistributableArtifactsCIDRs"].is_null());
    let new = get(&d, "/v1.50/info").json();
    assert!(new.get("BridgeNfIptables").is_none());
    assert!(new["ContainerdCommit"].get("Expected").is_none());
    assert!(new["RegistryConfig"]
        .get("AllowNondistributableArtifactsCIDRs")
        .is_none());
}

#[test]
fn out_of_range_versions_get_400_with_dockers_words() {
    require_root();
    let dir = TestDir::new("daemon_version_range");
    let d = Dockerd::start(&dir, &[]);
    let r = get(&d, "/v1.99/version");
    assert_eq!(r.status, 400);
    assert_engine_headers(&r);
    assert_eq!(
        r.json()["message"],
        "client version 1.99 is too new. Maximum supported API version is 1.50"
    );
    let r = get(&d, "/v1.12/info");
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json()["message"],
        "client version 1.12 is too old. Minimum supported API version is 1.24, please upgrade your client to a newer version"
    );
}

#[test]
fn unknown_routes_are_404_page_not_found() {
    require_root();
    let dir = TestDir::new("daemon_404");
    let d = Dockerd::start(&dir, &[]);
    for req in [
        "GET /nothing HTTP/1.1\r\n\r\n",
        "GET /v1.41/nothing HTTP/1.1\r\n\r\n",
        "DELETE /_ping HTTP/1.1\r\n\r\n",
        "GET /v1.99/nothing HTTP/1.1\r\n\r\n",
    ] {
        let r = exchange(&d, req);
        assert_eq!(r.status, 404, "{req}");
        assert_eq!(r.header("Content-Type"), Some("application/json"));
        assert_eq!(r.body, b"{\"message\":\"page not found\"}\n");
    }
}

#[test]
fn keep_alive_serves_several_requests_on_one_connection() {
    require_root();
    let dir = TestDir::new("daemon_keepalive");
    let d = Dockerd::start(&dir, &[]);
    let mut s = UnixStream::connect(&d.socket).unwrap();
    s.write_all(b"GET /_ping HTTP/1.1\r\nHost: docker\r\n\r\n")
        .unwrap();
    assert_eq!(read_response(&mut s, false).text(), "OK");
    s.write_all(b"GET /v1.50/version HTTP/1.1\r\nHost: docker\r\n\r\n")
        .unwrap();
    assert_eq!(read_response(&mut s, false).json()["ApiVersion"], "1.50");
    // Pipelined: three requests in one write, three answers in order; the last closes.
    s.write_all(b"HEAD /_ping HTTP/1.1\r\n\r\nGET /_ping HTTP/1.1\r\n\r\nGET /nothing HTTP/1.1\r\nConnection: close\r\n\r\n").unwrap();
    assert_eq!(read_response(&mut s, true).status, 200);
    assert_eq!(read_response(&mut s, false).text(), "OK");
    let last = read_response(&mut s, false);
    assert_eq!(last.status, 404);
    assert_eq!(last.header("Connection"), Some("close"));
    let mut rest = Vec::new();
    s.read_to_end(&mut rest).unwrap();
    assert!(
        rest.is_empty(),
        "server should close after Connection: close"
    );
}

#[test]
fn chunked_request_bodies_are_decoded() {
    require_root();
    let dir = TestDir::new("daemon_chunked_body");
    let d = Dockerd::start(&dir, &[]);
    let mut s = UnixStream::connect(&d.socket).unwrap();
    let head = "POST /v1.50/swarm/init HTTP/1.1\r\nHost: docker\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
    // A valid JSON body split across chunks (with an extension) reaches the handler whole.
    s.write_all(
        format!("{head}5;x=y\r\n{{\"Lis\r\n19\r\ntenAddr\":\"0.0.0.0:2377\"}}\r\n0\r\n\r\n")
            .as_bytes(),
    )
    .unwrap();
    let r = read_response(&mut s, false);
    assert_eq!(r.status, 501, "{}", r.text());
    assert_eq!(r.json()["message"], "berth does not support swarm mode");
    // A bad one gets Go's words; the connection stays usable afterwards.
    s.write_all(format!("{head}2\r\n{{b\r\n2\r\nad\r\n0\r\n\r\n").as_bytes())
        .unwrap();
    let r = read_response(&mut s, false);
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json()["message"],
        "invalid character 'b' looking for beginning of object key string"
    );
    s.write_all(b"GET /_ping HTTP/1.1\r\n\r\n").unwrap();
    assert_eq!(read_response(&mut s, false).text(), "OK");
}

#[test]
fn bad_json_gets_400_with_dockers_message() {
    require_root();
    let dir = TestDir::new("daemon_bad_json");
    let d = Dockerd::start(&dir, &[]);
    let post = |ct: &str, body: &str| {
        exchange(
            &d,
            &format!("POST /v1.50/swarm/init HTTP/1.1\r\nContent-Type: {ct}\r\nContent-Length: {}\r\n\r\n{body}", body.len()),
        )
    };
    let r = post("application/json", "{bad");
    assert_eq!(r.status, 400);
    assert_engine_headers(&r);
    assert_eq!(
        r.body,
        b"{\"message\":\"invalid character 'b' looking for beginning of object key string\"}\n"
    );
    assert_eq!(
        post("application/json", "").json()["message"],
        "got EOF while reading request body"
    );
    assert_eq!(
        post("application/json", "{\"ListenAddr\":").json()["message"],
        "unexpected EOF"
    );
    let r = post("text/plain", "{}");
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json()["message"],
        "Content-Type specified (text/plain) must be 'application/json'"
    );
    let r = post("application/json", "{\"ListenAddr\": 5}");
    assert_eq!(r.status, 400);
    assert!(
        r.json()["message"]
            .as_str()
            .unwrap()
            .starts_with("json: invalid type: integer"),
        "{}",
        r.text()
    );
}

#[test]
fn oversized_head_is_refused_and_the_daemon_lives_on() {
    require_root();
    let dir = TestDir::new("daemon_big_head");
    let d = Dockerd::start(&dir, &[]);
    let mut req = b"GET /_ping HTTP/1.1\r\nHost: docker\r\nX-Big: ".to_vec();
    req.resize(req.len() + 100 * 1024, b'a');
    req.extend_from_slice(b"\r\n\r\n");
    let out = d.raw(&req, T);
    let text = String::from_utf8_lossy(&out);
    assert!(
        text.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"),
        "{text}"
    );
    assert!(
        text.ends_with("431 Request Header Fields Too Large"),
        "{text}"
    );
    // Too many header fields is the same error.
    let mut many = String::from("GET /_ping HTTP/1.1\r\n");
    for i in 0..300 {
        many.push_str(&format!("X-{i}: y\r\n"));
    }
    many.push_str("\r\n");
    assert!(String::from_utf8_lossy(&d.raw(many.as_bytes(), T)).starts_with("HTTP/1.1 431 "));
    assert_eq!(get(&d, "/_ping").text(), "OK");
}

#[test]
fn malformed_requests_get_400_and_the_daemon_lives_on() {
    require_root();
    let dir = TestDir::new("daemon_malformed");
    let d = Dockerd::start(&dir, &[]);
    for bad in [
        &b"GARBAGE\r\n\r\n"[..],
        b"GET /_ping HTTP/9.9\r\n\r\n",
        b"GET /_ping HTTP/1.1\r\nNo colon here\r\n\r\n",
        b"POST /_ping HTTP/1.1\r\nContent-Length: nope\r\n\r\n",
        b"POST /_ping HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
    ] {
        let out = d.raw(bad, T);
        let text = String::from_utf8_lossy(&out);
        assert!(
            text.starts_with("HTTP/1.1 400 Bad Request\r\n"),
            "{:?} → {text}",
            String::from_utf8_lossy(bad)
        );
        assert!(text.contains("Connection: close\r\n"));
    }
    let out = d.raw(
        b"POST /_ping HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
        T,
    );
    assert!(String::from_utf8_lossy(&out).starts_with("HTTP/1.1 501 Not Implemented"));
    // Bad chunk framing inside an otherwise fine request: the answer may come, the connection
    // must close, and the daemon must carry on.
    let _ = d.raw(b"POST /v1.50/swarm/init HTTP/1.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", T);
    // A client that hangs up mid-head.
    drop(
        UnixStream::connect(&d.socket)
            .unwrap()
            .write_all(b"GET /_pi"),
    );
    assert_eq!(get(&d, "/_ping").text(), "OK");
    assert!(!d.log_text().contains("panicked"), "{}", d.log_text());
}
