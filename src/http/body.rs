//! A message body as an `AsyncRead`, over the connection's buffered reader.
//!
//! The body borrows the reader and a [`BodyState`] that outlives it, so after a handler is done
//! (or dropped the body half-read) the connection knows how much is left to drain before the next
//! request on a kept-alive connection.

use super::chunked::{Decoder, Step};
use super::head::Framing;
use smol::io::{AsyncBufRead, AsyncRead, AsyncReadExt};
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Where a body stands: its framing and progress.
#[derive(Debug)]
pub struct BodyState {
    framing: Framing,
    left: u64,
    decoder: Decoder,
    finished: bool,
    failed: bool,
}

impl BodyState {
    pub fn new(framing: Framing) -> BodyState {
        let left = if let Framing::Length(n) = framing {
            n
        } else {
            0
        };
        BodyState {
            framing,
            left,
            decoder: Decoder::new(),
            finished: framing == Framing::Empty,
            failed: false,
        }
    }
    pub fn framing(&self) -> Framing {
        self.framing
    }
    /// The whole body was read (the connection is positioned at the next message).
    pub fn is_finished(&self) -> bool {
        self.finished
    }
    /// Reading failed (bad framing, early EOF): the connection cannot be reused.
    pub fn is_failed(&self) -> bool {
        self.failed
    }
}

type Source<'a> = dyn AsyncBufRead + Unpin + Send + 'a;

/// A request or response body. Reads return `Ok(0)` at its end; a peer that hangs up early is an
/// `UnexpectedEof` error, malformed chunking an `InvalidData` error.
pub struct Body<'a> {
    src: &'a mut Source<'a>,
    state: &'a mut BodyState,
}

impl std::fmt::Debug for Body<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Body").field("state", &self.state).finish()
    }
}

impl<'a> Body<'a> {
    pub fn new(src: &'a mut Source<'a>, state: &'a mut BodyState) -> Body<'a> {
        Body { src, state }
    }

    /// The head announced no body at all (no Content-Length, or 0, and not chunked).
    pub fn is_empty(&self) -> bool {
        self.state.framing == Framing::Empty
    }

    /// The announced length, when the sender gave one.
    pub fn content_length(&self) -> Option<u64> {
        match self.state.framing {
            Framing::Empty => Some(0),
            Framing::Length(n) => Some(n),
            _ => None,
        }
    }

    /// Read the whole body into memory; more than `limit` bytes is an error (`InvalidData`,
    /// "body larger than N bytes") and nothing more is read.
    pub async fn read_all(&mut self, limit: usize) -> io::Result<Vec<u8>> {
        if let Some(n) = self.content_length() {
            if n > limit as u64 {
                return Err(too_large(limit));
            }
        }
        let mut out = Vec::new();
        let mut buf = [0u8; 8192];
        loop {
            let n = self.read(&mut buf).await?;
            if n == 0 {
                return Ok(out);
            }
            if out.len() + n > limit {
                return Err(too_large(limit));
            }
            out.extend_from_slice(&buf[..n]);
        }
    }

    /// Read and discard up to `limit` bytes; true when the body ended within them.
    pub async fn drain(&mut self, limit: u64) -> io::Result<bool> {
        let mut buf = [0u8; 8192];
        let mut seen = 0u64;
        while seen <= limit {
            let n = self.read(&mut buf).await?;
            if n == 0 {
                return Ok(true);
            }
            seen += n as u64;
        }
        Ok(false)
    }
}

fn too_large(limit: usize) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("body larger than {limit} bytes"),
    )
}

fn early_eof() -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        "connection closed before the end of the body",
    )
}

impl AsyncRead for Body<'_> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        out: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let st = &mut *this.state;
        if st.finished || out.is_empty() {
            return Poll::Ready(Ok(0));
        }
        if st.failed {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "body already failed",
            )));
        }
        let mut src = Pin::new(&mut *this.src);
        loop {
            let avail = match src.as_mut().poll_fill_buf(cx) {
                Poll::Ready(Ok(b)) => b,
                Poll::Ready(Err(e)) => {
                    st.failed = true;
                    return Poll::Ready(Err(e));
                }
                Poll::Pending => return Poll::Pending,
            };
            if avail.is_empty() {
                if st.framing == Framing::Close {
                    st.finished = true;
                    return Poll::Ready(Ok(0));
                }
                st.failed = true;
                return Poll::Ready(Err(early_eof()));
            }
            match st.framing {
                Framing::Empty => {
                    st.finished = true;
                    return Poll::Ready(Ok(0));
                }
                Framing::Close => {
                    let n = avail.len().min(out.len());
                    out[..n].copy_from_slice(&avail[..n]);
                    src.as_mut().consume(n);
                    return Poll::Ready(Ok(n));
                }
                Framing::Length(_) => {
                    let n = (avail.len() as u64).min(st.left).min(out.len() as u64) as usize;
                    out[..n].copy_from_slice(&avail[..n]);
                    src.as_mut().consume(n);
                    st.left -= n as u64;
                    st.finished = st.left == 0;
                    return Poll::Ready(Ok(n));
                }
                Framing::Chunked => match st.decoder.step(avail) {
                    Ok(Step::Framing(n)) => src.as_mut().consume(n),
                    Ok(Step::Data(n)) => {
                        let n = n.min(out.len());
                        out[..n].copy_from_slice(&avail[..n]);
                        src.as_mut().consume(n);
                        st.decoder.data_taken(n);
                        return Poll::Ready(Ok(n));
                    }
                    Ok(Step::Done(n)) => {
                        src.as_mut().consume(n);
                        st.finished = true;
                        return Poll::Ready(Ok(0));
                    }
                    Err(e) => {
                        st.failed = true;
                        return Poll::Ready(Err(io::Error::new(io::ErrorKind::InvalidData, e)));
                    }
                },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::conn::ConnReader;
    use smol::future::block_on;

    fn read_all(wire: &'static [u8], framing: Framing) -> (io::Result<Vec<u8>>, Vec<u8>) {
        block_on(async {
            let mut r = ConnReader::new(wire);
            let mut st = BodyState::new(framing);
            let res = Body::new(&mut r, &mut st).read_all(1 << 20).await;
            let (_, rest) = r.into_parts();
            (res, rest)
        })
    }

    #[test]
    fn length_framed_stops_at_the_length() {
        let (b, rest) = read_all(b"hello worldGET", Framing::Length(11));
        assert_eq!(b.unwrap(), b"hello world");
        assert_eq!(rest, b"GET");
    }

    #[test]
    fn chunked_body_then_next_request_stays_buffered() {
        let (b, rest) = read_all(b"5\r\nhello\r\n0\r\n\r\nNEXT", Framing::Chunked);
        assert_eq!(b.unwrap(), b"hello");
        assert_eq!(rest, b"NEXT");
    }

    #[test]
    fn early_eof_is_an_error() {
        let (b, _) = read_all(b"hel", Framing::Length(5));
        assert_eq!(b.unwrap_err().kind(), io::ErrorKind::UnexpectedEof);
        let (b, _) = read_all(b"5\r\nhel", Framing::Chunked);
        assert_eq!(b.unwrap_err().kind(), io::ErrorKind::UnexpectedEof);
    }

    #[test]
    fn until_close_reads_everything() {
        let (b, _) = read_all(b"all of it", Framing::Close);
        assert_eq!(b.unwrap(), b"all of it");
    }

    #[test]
    fn limits_apply() {
        block_on(async {
            let mut r = ConnReader::new(&b"0123456789"[..]);
            let mut st = BodyState::new(Framing::Close);
            let e = Body::new(&mut r, &mut st).read_all(4).await.unwrap_err();
            assert_eq!(e.to_string(), "body larger than 4 bytes");
            let mut r = ConnReader::new(&b"0123456789"[..]);
            let mut st = BodyState::new(Framing::Length(10));
            assert!(Body::new(&mut r, &mut st).read_all(4).await.is_err());
            assert!(!st.is_finished());
        });
    }
}
