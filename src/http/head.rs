//! Request and response heads: parsing with httparse under fixed limits, serialization, and the
//! message framing rules (RFC 9112 section 6).

use super::{MAX_HEAD, MAX_HEADERS};
use std::fmt;
use std::time::SystemTime;

/// Header fields in arrival order; names compare case-insensitively.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers(pub Vec<(String, String)>);

impl Headers {
    pub fn new() -> Headers {
        Headers(Vec::new())
    }
    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    /// Replace every value of `name` with `value`.
    pub fn set(&mut self, name: &str, value: impl Into<String>) {
        self.remove(name);
        self.0.push((name.to_string(), value.into()));
    }
    /// Add `name` unless it is already present.
    pub fn set_default(&mut self, name: &str, value: impl Into<String>) {
        if self.get(name).is_none() {
            self.0.push((name.to_string(), value.into()));
        }
    }
    pub fn append(&mut self, name: &str, value: impl Into<String>) {
        self.0.push((name.to_string(), value.into()));
    }
    pub fn remove(&mut self, name: &str) {
        self.0.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
    }
    /// Whether a comma-separated header (`Connection`, `Transfer-Encoding`) lists `token`.
    pub fn has_token(&self, name: &str, token: &str) -> bool {
        self.get_all(name)
            .flat_map(|v| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case(token))
    }
}

/// Why a head could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeadError {
    /// Over [`MAX_HEAD`] bytes or [`MAX_HEADERS`] fields: `431 Request Header Fields Too Large`.
    TooLarge,
    /// Not HTTP/1.x syntax, or contradictory framing headers: `400 Bad Request`.
    Malformed(String),
    /// A transfer coding other than chunked: `501 Not Implemented`.
    UnsupportedTransferCoding(String),
}

impl fmt::Display for HeadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HeadError::TooLarge => write!(
                f,
                "message head larger than {MAX_HEAD} bytes or {MAX_HEADERS} fields"
            ),
            HeadError::Malformed(m) => write!(f, "malformed HTTP message: {m}"),
            HeadError::UnsupportedTransferCoding(c) => {
                write!(f, "unsupported transfer encoding: {c:?}")
            }
        }
    }
}

impl std::error::Error for HeadError {}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestHead {
    pub method: String,
    /// The request-target as sent (`/v1.50/containers/json?all=1`).
    pub target: String,
    /// 0 for HTTP/1.0, 1 for HTTP/1.1.
    pub minor: u8,
    pub headers: Headers,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseHead {
    pub status: u16,
    pub reason: String,
    pub minor: u8,
    pub headers: Headers,
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn collect_headers(hs: &[httparse::Header<'_>]) -> Headers {
    Headers(
        hs.iter()
            .map(|h| (h.name.to_string(), lossy(h.value).trim().to_string()))
            .collect(),
    )
}

fn map_err(e: httparse::Error) -> HeadError {
    match e {
        httparse::Error::TooManyHeaders => HeadError::TooLarge,
        other => HeadError::Malformed(other.to_string()),
    }
}

/// Parse a request head from the start of `buf`: `Ok(None)` while incomplete, else the head and
/// its length in bytes. Fails once `buf` holds [`MAX_HEAD`] bytes without a complete head.
pub fn parse_request(buf: &[u8]) -> Result<Option<(RequestHead, usize)>, HeadError> {
    // RFC 9112 2.2: a server SHOULD ignore at least one empty line before the request-line.
    let skip = buf
        .iter()
        .take_while(|&&c| c == b'\r' || c == b'\n')
        .count()
        .min(4);
    let body = &buf[skip..];
    let mut hs = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut hs);
    match req.parse(body).map_err(map_err)? {
        httparse::Status::Partial => {
            if buf.len() >= MAX_HEAD {
                Err(HeadError::TooLarge)
            } else {
                Ok(None)
            }
        }
        httparse::Status::Complete(n) => {
            if skip + n > MAX_HEAD {
                return Err(HeadError::TooLarge);
            }
            let head = RequestHead {
                method: req.method.unwrap_or_default().to_string(),
                target: req.path.unwrap_or_default().to_string(),
                minor: req.version.unwrap_or(1),
                headers: collect_headers(req.headers),
            };
            Ok(Some((head, skip + n)))
        }
    }
}

/// Parse a response head from the start of `buf` (see [`parse_request`]).
pub fn parse_response(buf: &[u8]) -> Result<Option<(ResponseHead, usize)>, HeadError> {
    let mut hs = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut resp = httparse::Response::new(&mut hs);
    match resp.parse(buf).map_err(map_err)? {
        httparse::Status::Partial => {
            if buf.len() >= MAX_HEAD {
                Err(HeadError::TooLarge)
            } else {
                Ok(None)
            }
        }
        httparse::Status::Complete(n) => {
            if n > MAX_HEAD {
                return Err(HeadError::TooLarge);
            }
            let head = ResponseHead {
                status: resp.code.unwrap_or(0),
                reason: resp.reason.unwrap_or_default().to_string(),
                minor: resp.version.unwrap_or(1),
                headers: collect_headers(resp.headers),
            };
            Ok(Some((head, n)))
        }
    }
}

/// How the body of a message is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    Empty,
    Length(u64),
    Chunked,
    /// The body runs until the peer closes (responses only).
    Close,
}

fn content_length(headers: &Headers) -> Result<Option<u64>, HeadError> {
    let mut found: Option<u64> = None;
    for v in headers.get_all("Content-Length").flat_map(|v| v.split(',')) {
        let v = v.trim();
        if v.is_empty() || !v.bytes().all(|c| c.is_ascii_digit()) || v.len() > 19 {
            return Err(HeadError::Malformed(format!("bad Content-Length {v:?}")));
        }
        let n: u64 = v
            .parse()
            .map_err(|_| HeadError::Malformed(format!("bad Content-Length {v:?}")))?;
        if found.is_some_and(|f| f != n) {
            return Err(HeadError::Malformed(
                "conflicting Content-Length headers".into(),
            ));
        }
        found = Some(n);
    }
    Ok(found)
}

/// Transfer-Encoding: only `chunked` (optionally after `identity`) is supported.
fn transfer_chunked(headers: &Headers) -> Result<bool, HeadError> {
    let codings: Vec<String> = headers
        .get_all("Transfer-Encoding")
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().to_ascii_lowercase())
        .filter(|t| !t.is_empty())
        .collect();
    if codings.is_empty() {
        return Ok(false);
    }
    match codings
        .iter()
        .filter(|c| *c != "identity")
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        [] => Ok(false),
        ["chunked"] if codings.last().map(String::as_str) == Some("chunked") => Ok(true),
        _ => Err(HeadError::UnsupportedTransferCoding(codings.join(", "))),
    }
}

/// Framing of a request body: chunked wins over Content-Length (RFC 9112 6.3); neither means empty.
pub fn request_framing(headers: &Headers) -> Result<Framing, HeadError> {
    if transfer_chunked(headers)? {
        return Ok(Framing::Chunked);
    }
    Ok(match content_length(headers)? {
        Some(0) | None => Framing::Empty,
        Some(n) => Framing::Length(n),
    })
}

/// Framing of a response body to a request with `method`.
pub fn response_framing(
    method: &str,
    status: u16,
    headers: &Headers,
) -> Result<Framing, HeadError> {
    if method.eq_ignore_ascii_case("HEAD")
        || (100..200).contains(&status)
        || status == 204
        || status == 304
    {
        return Ok(Framing::Empty);
    }
    if transfer_chunked(headers)? {
        return Ok(Framing::Chunked);
    }
    Ok(match content_length(headers)? {
        Some(0) => Framing::Empty,
        Some(n) => Framing::Length(n),
        None => Framing::Close,
    })
}

/// The reason phrase Go's net/http uses for `status`.
pub fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        101 => "Switching Protocols",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        206 => "Partial Content",
        301 => "Moved Permanently",
        302 => "Found",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        408 => "Request Timeout",
        409 => "Conflict",
        411 => "Length Required",
        412 => "Precondition Failed",
        413 => "Request Entity Too Large",
        416 => "Requested Range Not Satisfiable",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        _ => "",
    }
}

/// A header name or value as it may go on the wire: CR, LF and NUL would split or end the head.
fn clean(s: &str) -> std::borrow::Cow<'_, str> {
    if s.bytes().any(|c| c == b'\r' || c == b'\n' || c == 0) {
        s.replace(['\r', '\n', '\0'], " ").into()
    } else {
        s.into()
    }
}

fn write_headers(out: &mut Vec<u8>, headers: &Headers) {
    for (n, v) in &headers.0 {
        out.extend_from_slice(clean(n).as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(clean(v).as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
}

/// `HTTP/1.1 <status> <reason>` followed by the headers and the blank line.
pub fn write_response_head(status: u16, reason_phrase: &str, headers: &Headers) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(format!("HTTP/1.1 {status} {}\r\n", clean(reason_phrase)).as_bytes());
    write_headers(&mut out, headers);
    out
}

/// `<METHOD> <target> HTTP/1.1` followed by the headers and the blank line.
pub fn write_request_head(method: &str, target: &str, headers: &Headers) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(
        format!(
            "{} {} HTTP/1.1\r\n",
            clean(method),
            clean(target).replace(' ', "%20")
        )
        .as_bytes(),
    );
    write_headers(&mut out, headers);
    out
}

/// An IMF-fixdate for the `Date` header: `Mon, 23 Nov 2026 13:00:53 GMT`.
pub fn http_date(t: SystemTime) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let secs = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    // The calendar arithmetic lives in base::time; reuse its RFC 3339 rendering.
    let rfc = crate::base::time::rfc3339_nanos(
        SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(secs),
    );
    let (y, mo, d, hms) = (&rfc[0..4], &rfc[5..7], &rfc[8..10], &rfc[11..19]);
    let month = mo
        .parse::<usize>()
        .ok()
        .and_then(|m| MONTHS.get(m.wrapping_sub(1)))
        .copied()
        .unwrap_or("Jan");
    let weekday = DAYS[((secs / 86400) % 7) as usize];
    format!("{weekday}, {d} {month} {y} {hms} GMT")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn parses_a_request_and_reports_its_length() {
        let raw = b"GET /v1.50/version HTTP/1.1\r\nHost: docker\r\nUser-Agent: Docker-Client/28.2.2\r\n\r\nrest";
        let (h, n) = parse_request(raw).unwrap().unwrap();
        assert_eq!(h.method, "GET");
        assert_eq!(h.target, "/v1.50/version");
        assert_eq!(h.minor, 1);
        assert_eq!(h.headers.get("host"), Some("docker"));
        assert_eq!(&raw[n..], b"rest");
    }

    #[test]
    fn partial_heads_wait_for_more() {
        assert_eq!(
            parse_request(b"GET / HTTP/1.1\r\nHost: x\r\n").unwrap(),
            None
        );
        assert_eq!(parse_request(b"").unwrap(), None);
    }

    #[test]
    fn leading_blank_line_is_ignored() {
        let (h, n) = parse_request(b"\r\nGET /_ping HTTP/1.0\r\n\r\n")
            .unwrap()
            .unwrap();
        assert_eq!((h.target.as_str(), h.minor, n), ("/_ping", 0, 25));
    }

    #[test]
    fn oversized_heads_are_refused() {
        let mut raw = b"GET / HTTP/1.1\r\nX: ".to_vec();
        raw.resize(MAX_HEAD + 10, b'a');
        assert_eq!(parse_request(&raw), Err(HeadError::TooLarge));
        let mut many = b"GET / HTTP/1.1\r\n".to_vec();
        for i in 0..MAX_HEADERS + 1 {
            many.extend_from_slice(format!("X-{i}: y\r\n").as_bytes());
        }
        many.extend_from_slice(b"\r\n");
        assert_eq!(parse_request(&many), Err(HeadError::TooLarge));
    }

    #[test]
    fn garbage_is_malformed() {
        assert!(matches!(
            parse_request(b"GARBAGE\r\n\r\n"),
            Err(HeadError::Malformed(_))
        ));
        assert!(matches!(
            parse_request(b"GET / HTTP/2.0\r\n\r\n"),
            Err(HeadError::Malformed(_))
        ));
        assert!(matches!(
            parse_request(b"GET / HTTP/1.1\r\nBad Header\r\n\r\n"),
            Err(HeadError::Malformed(_))
        ));
    }

    fn hs(pairs: &[(&str, &str)]) -> Headers {
        Headers(
            pairs
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
        )
    }

    #[test]
    fn request_framing_rules() {
        assert_eq!(request_framing(&hs(&[])).unwrap(), Framing::Empty);
        assert_eq!(
            request_framing(&hs(&[("Content-Length", "12")])).unwrap(),
            Framing::Length(12)
        );
        assert_eq!(
            request_framing(&hs(&[("content-length", "0")])).unwrap(),
            Framing::Empty
        );
        assert_eq!(
            request_framing(&hs(&[
                ("Transfer-Encoding", "chunked"),
                ("Content-Length", "3")
            ]))
            .unwrap(),
            Framing::Chunked
        );
        assert_eq!(
            request_framing(&hs(&[("Content-Length", "5, 5")])).unwrap(),
            Framing::Length(5)
        );
        assert!(request_framing(&hs(&[("Content-Length", "5"), ("Content-Length", "6")])).is_err());
        assert!(request_framing(&hs(&[("Content-Length", "-1")])).is_err());
        assert!(request_framing(&hs(&[("Content-Length", "99999999999999999999")])).is_err());
        assert!(matches!(
            request_framing(&hs(&[("Transfer-Encoding", "gzip, chunked")])),
            Err(HeadError::UnsupportedTransferCoding(_))
        ));
        assert!(request_framing(&hs(&[("Transfer-Encoding", "chunked, identity")])).is_err());
    }

    #[test]
    fn response_framing_rules() {
        assert_eq!(
            response_framing("HEAD", 200, &hs(&[("Content-Length", "9")])).unwrap(),
            Framing::Empty
        );
        assert_eq!(
            response_framing("GET", 204, &hs(&[])).unwrap(),
            Framing::Empty
        );
        assert_eq!(
            response_framing("GET", 200, &hs(&[])).unwrap(),
            Framing::Close
        );
        assert_eq!(
            response_framing("GET", 200, &hs(&[("Transfer-Encoding", "chunked")])).unwrap(),
            Framing::Chunked
        );
    }

    #[test]
    fn serializes_heads_without_header_injection() {
        let h = hs(&[
            ("Content-Type", "text/plain"),
            ("X-Evil", "a\r\nInjected: 1"),
        ]);
        let out = String::from_utf8(write_response_head(200, "OK", &h)).unwrap();
        assert_eq!(
            out,
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Evil: a  Injected: 1\r\n\r\n"
        );
        let (back, _) = parse_response(out.as_bytes()).unwrap().unwrap();
        assert_eq!(back.status, 200);
        assert_eq!(back.headers.0.len(), 2);
        let req = String::from_utf8(write_request_head(
            "GET",
            "/a b",
            &hs(&[("Host", "docker")]),
        ))
        .unwrap();
        assert_eq!(req, "GET /a%20b HTTP/1.1\r\nHost: docker\r\n\r\n");
    }

    #[test]
    fn header_tokens() {
        let h = hs(&[("Connection", "keep-alive, Upgrade"), ("Upgrade", "tcp")]);
        assert!(h.has_token("connection", "upgrade"));
        assert!(!h.has_token("connection", "close"));
    }

    #[test]
    fn http_dates() {
        assert_eq!(
            http_date(SystemTime::UNIX_EPOCH),
            "Thu, 01 Jan 1970 00:00:00 GMT"
        );
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_438_053);
        assert_eq!(http_date(t), "Mon, 23 Nov 2026 12:47:33 GMT");
    }
}
