//! Connections: a unix or TCP socket registered with the async reactor, shareable between a
//! reading and a writing task, and a buffered reader whose unread bytes can be handed over.

use smol::io::{AsyncBufRead, AsyncRead, AsyncWrite};
use smol::Async;
use std::io;
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

/// A connected socket.
#[derive(Debug)]
pub enum Stream {
    Unix(Async<UnixStream>),
    Tcp(Async<TcpStream>),
}

impl Stream {
    pub async fn connect_unix(path: &Path) -> io::Result<Stream> {
        Ok(Stream::Unix(Async::<UnixStream>::connect(path).await?))
    }
    /// Numeric addresses only: name resolution is the caller's business (static glibc has no NSS).
    pub async fn connect_tcp(addr: SocketAddr) -> io::Result<Stream> {
        let s = Async::<TcpStream>::connect(addr).await?;
        let _ = s.get_ref().set_nodelay(true);
        Ok(Stream::Tcp(s))
    }
    /// Half-close: the peer reads EOF, we can still read its answer (hijacked stdin EOF).
    pub fn shutdown_write(&self) -> io::Result<()> {
        match self {
            Stream::Unix(s) => s.get_ref().shutdown(Shutdown::Write),
            Stream::Tcp(s) => s.get_ref().shutdown(Shutdown::Write),
        }
    }
    /// Close both directions now, waking any task blocked on this socket.
    pub fn shutdown(&self) {
        let _ = match self {
            Stream::Unix(s) => s.get_ref().shutdown(Shutdown::Both),
            Stream::Tcp(s) => s.get_ref().shutdown(Shutdown::Both),
        };
    }
    pub fn is_unix(&self) -> bool {
        matches!(self, Stream::Unix(_))
    }
}

macro_rules! delegate {
    ($self:expr, $s:ident => $e:expr) => {
        match $self {
            Stream::Unix($s) => $e,
            Stream::Tcp($s) => $e,
        }
    };
}

impl AsyncRead for &Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        delegate!(*self.get_mut(), s => Pin::new(&mut &*s).poll_read(cx, buf))
    }
}

impl AsyncWrite for &Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        delegate!(*self.get_mut(), s => Pin::new(&mut &*s).poll_write(cx, buf))
    }
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        delegate!(*self.get_mut(), s => Pin::new(&mut &*s).poll_write_vectored(cx, bufs))
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        delegate!(*self.get_mut(), s => Pin::new(&mut &*s).poll_flush(cx))
    }
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        delegate!(*self.get_mut(), s => Pin::new(&mut &*s).poll_close(cx))
    }
}

/// A stream shared by reference count: one clone reads while another writes (hijacked
/// connections copy both directions at once).
#[derive(Debug, Clone)]
pub struct SharedStream(pub Arc<Stream>);

impl SharedStream {
    pub fn new(s: Stream) -> SharedStream {
        SharedStream(Arc::new(s))
    }
}

impl std::ops::Deref for SharedStream {
    type Target = Stream;
    fn deref(&self) -> &Stream {
        &self.0
    }
}

impl AsyncRead for SharedStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut &*self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for SharedStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut &*self.0).poll_write(cx, buf)
    }
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut &*self.0).poll_write_vectored(cx, bufs)
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut &*self.0).poll_flush(cx)
    }
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut &*self.0).poll_close(cx)
    }
}

/// Bytes asked of the socket per read.
const READ_CHUNK: usize = 64 * 1024;

/// A read buffer in front of a connection. Unlike a plain `BufReader` it can read *more* while
/// holding unconsumed bytes (a head split across packets) and give its unread bytes away (upgrade).
#[derive(Debug)]
pub struct ConnReader<R> {
    inner: R,
    buf: Vec<u8>,
    pos: usize,
    end: usize,
}

impl<R: AsyncRead + Unpin> ConnReader<R> {
    pub fn new(inner: R) -> ConnReader<R> {
        ConnReader {
            inner,
            buf: Vec::new(),
            pos: 0,
            end: 0,
        }
    }

    /// Bytes read from the socket and not consumed yet.
    pub fn buffered(&self) -> &[u8] {
        &self.buf[self.pos..self.end]
    }

    pub fn consume_bytes(&mut self, n: usize) {
        self.pos = (self.pos + n).min(self.end);
        if self.pos == self.end {
            self.pos = 0;
            self.end = 0;
        }
    }

    /// Read once more from the socket, appending to the buffered bytes; `Ok(0)` at EOF.
    pub async fn read_more(&mut self) -> io::Result<usize> {
        if self.pos > 0 {
            self.buf.copy_within(self.pos..self.end, 0);
            self.end -= self.pos;
            self.pos = 0;
        }
        if self.buf.len() < self.end + READ_CHUNK {
            self.buf.resize(self.end + READ_CHUNK, 0);
        }
        let (inner, buf, end) = (&mut self.inner, &mut self.buf, self.end);
        let n = smol::future::poll_fn(|cx| Pin::new(&mut *inner).poll_read(cx, &mut buf[end..]))
            .await?;
        self.end += n;
        Ok(n)
    }

    /// Give up a large buffer once it is drained, so idle keep-alive connections stay small.
    pub fn shrink(&mut self) {
        if self.pos == self.end && self.buf.len() > READ_CHUNK {
            self.buf = Vec::new();
            self.pos = 0;
            self.end = 0;
        }
    }

    pub fn get_ref(&self) -> &R {
        &self.inner
    }

    /// The reader and the bytes it had buffered but nobody consumed.
    pub fn into_parts(self) -> (R, Vec<u8>) {
        let rest = self.buf[self.pos..self.end].to_vec();
        (self.inner, rest)
    }
}

impl<R: AsyncRead + Unpin> AsyncBufRead for ConnReader<R> {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        let this = self.get_mut();
        if this.pos == this.end {
            if this.buf.len() < READ_CHUNK {
                this.buf.resize(READ_CHUNK, 0);
            }
            let n = match Pin::new(&mut this.inner).poll_read(cx, &mut this.buf) {
                Poll::Ready(Ok(n)) => n,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            };
            this.pos = 0;
            this.end = n;
        }
        Poll::Ready(Ok(&this.buf[this.pos..this.end]))
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        self.get_mut().consume_bytes(amt);
    }
}

impl<R: AsyncRead + Unpin> AsyncRead for ConnReader<R> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        out: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.pos == this.end && out.len() >= READ_CHUNK {
            // Large reads bypass the buffer.
            return Pin::new(&mut this.inner).poll_read(cx, out);
        }
        let avail = match Pin::new(&mut *this).poll_fill_buf(cx) {
            Poll::Ready(Ok(b)) => b,
            Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
            Poll::Pending => return Poll::Pending,
        };
        let n = avail.len().min(out.len());
        out[..n].copy_from_slice(&avail[..n]);
        this.consume_bytes(n);
        Poll::Ready(Ok(n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use smol::io::{AsyncBufReadExt, AsyncReadExt};

    #[test]
    fn read_more_keeps_unconsumed_bytes_and_hands_them_over() {
        smol::future::block_on(async {
            let data: &[u8] = b"GET / HTTP/1.1\r\n\r\nBODY";
            let mut r = ConnReader::new(data);
            assert_eq!(r.read_more().await.unwrap(), data.len());
            r.consume_bytes(18);
            assert_eq!(r.buffered(), b"BODY");
            assert_eq!(r.read_more().await.unwrap(), 0);
            assert_eq!(r.buffered(), b"BODY");
            let (_, rest) = r.into_parts();
            assert_eq!(rest, b"BODY");
        });
    }

    #[test]
    fn buf_read_and_read_agree() {
        smol::future::block_on(async {
            let data: &[u8] = b"line one\nline two\n";
            let mut r = ConnReader::new(data);
            let mut line = String::new();
            r.read_line(&mut line).await.unwrap();
            assert_eq!(line, "line one\n");
            let mut rest = Vec::new();
            r.read_to_end(&mut rest).await.unwrap();
            assert_eq!(rest, b"line two\n");
        });
    }
}
