//! HTTP/1.1 for the Engine API, the docker client and the registry client.
//!
//! Layers, bottom up:
//! - [`head`]: sans-IO parsing (httparse) and serialization of request and response heads, with
//!   bounded sizes, and the framing rules (Content-Length, chunked, until close) of RFC 9112.
//! - [`chunked`]: a sans-IO chunked-body decoder and the encoder for streamed responses.
//! - [`conn`]: the byte stream (unix or TCP socket) and a buffered reader that can hand its
//!   unread bytes over when a connection is upgraded (hijacked).
//! - [`body`]: the body of a request or response as an `AsyncRead`.
//! - [`server`]: accepts connections, parses requests, calls a [`server::Service`], writes
//!   responses (full, chunked streams flushed per chunk, or `101 UPGRADED` hijacks), keep-alive,
//!   graceful shutdown.
//! - [`client`]: one request at a time over one connection (unix path or numeric TCP address).
//!
//! Protocol errors the server answers itself use Go's net/http wording (`400 Bad Request`,
//! `431 Request Header Fields Too Large`), because Docker's daemon is a Go server and clients see
//! those exact bodies.

pub mod body;
pub mod chunked;
pub mod client;
pub mod conn;
pub mod head;
pub mod rt;
pub mod server;
pub mod url;

pub use body::Body;
pub use conn::Stream;
pub use head::Headers;
pub use server::{Request, Response};

/// The longest request or response head we read (request line + headers).
pub const MAX_HEAD: usize = 64 * 1024;
/// The most header fields in one head.
pub const MAX_HEADERS: usize = 128;
/// The longest chunk-size line (size, extensions, CRLF) or trailer line.
pub const MAX_CHUNK_LINE: usize = 4096;
/// The most trailer bytes after the last chunk.
pub const MAX_TRAILERS: usize = 16 * 1024;
