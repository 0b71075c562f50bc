//! Stream plumbing for archives and layers: compression detected by magic number (plain, gzip,
//! zstd), digesting readers, and a reader that can look at its first bytes before deciding.

use crate::base::{Error, Result};
use crate::oci::image::Digest;
use sha2::{Digest as _, Sha256};
use std::io::{self, Read};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

impl Compression {
    pub fn name(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
        }
    }
}

/// Which compression `head` (the first bytes of a stream) announces.
pub fn detect(head: &[u8]) -> Result<Compression> {
    if head.starts_with(&[0x1f, 0x8b, 0x08]) {
        return Ok(Compression::Gzip);
    }
    if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        return Ok(Compression::Zstd);
    }
    if head.starts_with(b"BZh") {
        return Err(Error::unsupported("unsupported compression format bzip2"));
    }
    if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0x00]) {
        return Err(Error::unsupported("unsupported compression format xz"));
    }
    Ok(Compression::None)
}

/// A reader whose first bytes were read ahead to look at them.
pub struct Peeked<R> {
    head: Vec<u8>,
    pos: usize,
    inner: R,
}

impl<R: Read> Peeked<R> {
    /// Read up to `n` bytes ahead (fewer only at EOF).
    pub fn new(mut inner: R, n: usize) -> Result<Peeked<R>> {
        let mut head = vec![0u8; n];
        let mut got = 0;
        while got < n {
            match inner.read(&mut head[got..]) {
                Ok(0) => break,
                Ok(k) => got += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Error::from(e).context("read stream header")),
            }
        }
        head.truncate(got);
        Ok(Peeked {
            head,
            pos: 0,
            inner,
        })
    }

    pub fn head(&self) -> &[u8] {
        &self.head
    }

    pub fn into_inner(self) -> R {
        self.inner
    }
}

impl<R: Read> Read for Peeked<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos < self.head.len() {
            let n = buf.len().min(self.head.len() - self.pos);
            buf[..n].copy_from_slice(&self.head[self.pos..self.pos + n]);
            self.pos += n;
            return Ok(n);
        }
        self.inner.read(buf)
    }
}

/// A reader that digests (sha256) and counts everything read through it.
pub struct HashReader<R> {
    inner: R,
    hasher: Sha256,
    pub count: u64,
}

impl<R: Read> HashReader<R> {
    pub fn new(inner: R) -> Self {
        HashReader {
            inner,
            hasher: Sha256::new(),
            count: 0,
        }
    }

    pub fn digest(&self) -> Digest {
        Digest::from_sha256(self.hasher.clone().finalize().into())
    }

    pub fn inner_mut(&mut self) -> &mut R {
        &mut self.inner
    }

    pub fn into_inner(self) -> R {
        self.inner
    }
}

impl<R: Read> Read for HashReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }
}

/// A writer that digests and counts what passes through.
pub struct HashWriter<W> {
    pub inner: W,
    hasher: Sha256,
    pub count: u64,
}

impl<W: io::Write> HashWriter<W> {
    pub fn new(inner: W) -> Self {
        HashWriter {
            inner,
            hasher: Sha256::new(),
            count: 0,
        }
    }
    pub fn digest(&self) -> Digest {
        Digest::from_sha256(self.hasher.clone().finalize().into())
    }
}

impl<W: io::Write> io::Write for HashWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// The decompressed view of `r`, by the compression its first bytes announce.
pub fn decompress<'a, R: Read + 'a>(r: R) -> Result<(Compression, Box<dyn Read + 'a>)> {
    let p = Peeked::new(r, 6)?;
    let c = detect(p.head())?;
    let out: Box<dyn Read + 'a> = match c {
        Compression::None => Box::new(p),
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(p)),
        Compression::Zstd => Box::new(
            zstd::stream::read::Decoder::new(p)
                .map_err(|e| Error::from(e).context("start zstd decoder"))?,
        ),
    };
    Ok((c, out))
}

/// Read `r` to its end, discarding (digesting readers below still see every byte).
pub fn drain<R: Read>(mut r: R) -> Result<u64> {
    let mut buf = vec![0u8; 64 * 1024];
    let mut n = 0u64;
    loop {
        match r.read(&mut buf) {
            Ok(0) => return Ok(n),
            Ok(k) => n += k as u64,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Error::from(e).context("read stream")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn detects_and_decompresses_each_format() {
        let data = b"hello berth".repeat(100);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&data).unwrap();
        let gz = gz.finish().unwrap();
        let zs = zstd::stream::encode_all(&data[..], 3).unwrap();
        for (input, want) in [
            (&data[..], Compression::None),
            (&gz[..], Compression::Gzip),
            (&zs[..], Compression::Zstd),
        ] {
            let (c, mut r) = decompress(input).unwrap();
            assert_eq!(c, want);
            let mut out = Vec::new();
            r.read_to_end(&mut out).unwrap();
            assert_eq!(out, data);
        }
        assert!(detect(b"BZh91AY")
            .unwrap_err()
            .to_string()
            .contains("bzip2"));
        let mut h = HashReader::new(&b""[..]);
        drain(&mut h).unwrap();
        assert_eq!(h.digest(), Digest::of(b""));
    }
}
