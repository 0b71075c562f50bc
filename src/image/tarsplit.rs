//! Tar-split: what it takes to rebuild a layer's exact tar stream from its extracted files.
//!
//! While a layer is applied, every byte of the tar that is not a regular file's content
//! (headers, PAX records, padding, the end marker, trailing bytes, and contents berth does not
//! keep as files) is kept verbatim; file contents are kept as references (path in the layer
//! directory, size). Replaying the records reproduces the stream byte for byte, so the
//! layer's diff ID can be checked again on `docker save` and no second copy of the layer is
//! stored. The file is zstd-compressed; its format is private to berth (versioned by magic).

use crate::base::error::Context;
use crate::base::{Error, Result};
use crate::sys::fsat::Dir;
use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

const MAGIC: &[u8; 4] = b"BTS1";

#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    Raw(Vec<u8>),
    /// `size` bytes read from the file at this (canonical, symlink-free) path in the layer.
    File {
        path: Vec<u8>,
        size: u64,
    },
}

/// Records of one layer being built, with the bookkeeping needed when an entry later replaces
/// a file whose content was only referenced.
#[derive(Debug, Default)]
pub struct SplitBuilder {
    pub records: Vec<Record>,
    files: HashMap<Vec<u8>, usize>,
}

impl SplitBuilder {
    pub fn raw(&mut self, bytes: Vec<u8>) {
        if bytes.is_empty() {
            return;
        }
        if let Some(Record::Raw(last)) = self.records.last_mut() {
            last.extend_from_slice(&bytes);
            return;
        }
        self.records.push(Record::Raw(bytes));
    }

    pub fn file(&mut self, path: Vec<u8>, size: u64) {
        if size == 0 {
            return;
        }
        self.files.insert(path.clone(), self.records.len());
        self.records.push(Record::File { path, size });
    }

    /// `path` (and everything below it) is about to be removed from the layer directory:
    /// copy the content of referenced files into the records first.
    pub fn before_remove(&mut self, root: &Dir, path: &[u8]) -> Result<()> {
        if self.files.is_empty() {
            return Ok(());
        }
        let mut prefix = path.to_vec();
        prefix.push(b'/');
        let hit: Vec<Vec<u8>> = self
            .files
            .keys()
            .filter(|k| k.as_slice() == path || k.starts_with(&prefix))
            .cloned()
            .collect();
        for k in hit {
            let Some(idx) = self.files.remove(&k) else {
                continue;
            };
            if let Record::File { path, size } = &self.records[idx] {
                if *size > super::tarstream::MAX_RECORDED {
                    return Err(Error::unsupported(format!("layer replaces {} ({size} bytes) within itself: too big to keep for its tar-split", String::from_utf8_lossy(path))));
                }
                let mut data = Vec::with_capacity(*size as usize);
                let p = Path::new(std::ffi::OsStr::from_bytes(path));
                root.open_file_beneath(p)?
                    .take(*size)
                    .read_to_end(&mut data)
                    .ctx(|| format!("read {}", p.display()))?;
                if data.len() as u64 != *size {
                    return Err(Error::internal(format!(
                        "{} is shorter than its tar entry",
                        p.display()
                    )));
                }
                self.records[idx] = Record::Raw(data);
            }
        }
        Ok(())
    }

    /// Serialize (zstd) to `out`.
    pub fn write_to<W: Write>(&self, out: W) -> Result<()> {
        let mut enc = zstd::stream::write::Encoder::new(out, 3).ctx(|| "start zstd encoder")?;
        enc.write_all(MAGIC)?;
        for r in &self.records {
            match r {
                Record::Raw(b) => {
                    enc.write_all(&[0])?;
                    write_varint(&mut enc, b.len() as u64)?;
                    enc.write_all(b)?;
                }
                Record::File { path, size } => {
                    enc.write_all(&[1])?;
                    write_varint(&mut enc, *size)?;
                    write_varint(&mut enc, path.len() as u64)?;
                    enc.write_all(path)?;
                }
            }
        }
        enc.finish().ctx(|| "finish tar-split")?;
        Ok(())
    }
}

fn write_varint<W: Write>(w: &mut W, mut v: u64) -> io::Result<()> {
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            return w.write_all(&[b]);
        }
        w.write_all(&[b | 0x80])?;
    }
}

fn read_varint<R: Read>(r: &mut R) -> io::Result<Option<u64>> {
    let mut v: u64 = 0;
    let mut shift = 0;
    loop {
        let mut b = [0u8; 1];
        if r.read(&mut b)? == 0 {
            return if shift == 0 {
                Ok(None)
            } else {
                Err(io::ErrorKind::UnexpectedEof.into())
            };
        }
        if shift > 63 {
            return Err(io::ErrorKind::InvalidData.into());
        }
        v |= ((b[0] & 0x7f) as u64) << shift;
        if b[0] & 0x80 == 0 {
            return Ok(Some(v));
        }
        shift += 7;
    }
}

/// Replays a tar-split file against a layer directory as a `Read` of the original tar.
pub struct Assembler<R: Read> {
    split: R,
    root: Dir,
    current: Current,
}

enum Current {
    None,
    Raw(u64),
    File(std::io::Take<std::fs::File>, u64, Vec<u8>),
}

impl Assembler<io::BufReader<zstd::stream::read::Decoder<'static, io::BufReader<std::fs::File>>>> {
    pub fn open(split_file: &Path, layer_dir: Dir) -> Result<Self> {
        let f = std::fs::File::open(split_file).ctx(|| format!("open {}", split_file.display()))?;
        let dec =
            zstd::stream::read::Decoder::new(f).ctx(|| format!("read {}", split_file.display()))?;
        let mut split = io::BufReader::new(dec);
        let mut magic = [0u8; 4];
        split
            .read_exact(&mut magic)
            .ctx(|| format!("read {}", split_file.display()))?;
        if &magic != MAGIC {
            return Err(Error::internal(format!(
                "{} is not a berth tar-split file",
                split_file.display()
            )));
        }
        Ok(Assembler {
            split,
            root: layer_dir,
            current: Current::None,
        })
    }
}

impl<R: Read> Read for Assembler<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match &mut self.current {
                Current::Raw(left) if *left > 0 => {
                    let want = buf.len().min(*left as usize);
                    let n = self.split.read(&mut buf[..want])?;
                    if n == 0 {
                        return Err(io::ErrorKind::UnexpectedEof.into());
                    }
                    *left -= n as u64;
                    return Ok(n);
                }
                Current::File(f, left, path) if *left > 0 => {
                    let want = buf.len().min(*left as usize);
                    let n = f.read(&mut buf[..want])?;
                    if n == 0 {
                        let p = String::from_utf8_lossy(path).into_owned();
                        return Err(io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            format!("layer file {p} is shorter than recorded"),
                        ));
                    }
                    *left -= n as u64;
                    return Ok(n);
                }
                _ => {}
            }
            let mut tag = [0u8; 1];
            if self.split.read(&mut tag)? == 0 {
                self.current = Current::None;
                return Ok(0);
            }
            match tag[0] {
                0 => {
                    let len = read_varint(&mut self.split)?.ok_or(io::ErrorKind::UnexpectedEof)?;
                    self.current = Current::Raw(len);
                }
                1 => {
                    let size = read_varint(&mut self.split)?.ok_or(io::ErrorKind::UnexpectedEof)?;
                    let plen = read_varint(&mut self.split)?.ok_or(io::ErrorKind::UnexpectedEof)?;
                    if plen > 1 << 20 {
                        return Err(io::ErrorKind::InvalidData.into());
                    }
                    let mut path = vec![0u8; plen as usize];
                    self.split.read_exact(&mut path)?;
                    let f = self
                        .root
                        .open_file_beneath(Path::new(std::ffi::OsStr::from_bytes(&path)))
                        .map_err(|e| io::Error::other(e.to_string()))?;
                    self.current = Current::File(f.take(size), size, path);
                }
                _ => {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "corrupt tar-split record",
                    ))
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replays_raw_and_file_records() {
        let dir = std::env::temp_dir().join(format!("berth-split-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("layer/d")).unwrap();
        std::fs::write(dir.join("layer/d/f"), b"0123456789").unwrap();
        std::fs::write(dir.join("layer/g"), b"abc").unwrap();
        let root = Dir::open(&dir.join("layer")).unwrap();
        let mut b = SplitBuilder::default();
        b.raw(b"HEAD".to_vec());
        b.file(b"d/f".to_vec(), 10);
        b.raw(b"PAD".to_vec());
        b.file(b"g".to_vec(), 3);
        b.raw(b"END".to_vec());
        // g is replaced later in the layer: its bytes move into the records.
        b.before_remove(&root, b"g").unwrap();
        std::fs::remove_file(dir.join("layer/g")).unwrap();
        let f = std::fs::File::create(dir.join("split")).unwrap();
        b.write_to(f).unwrap();
        let mut a =
            Assembler::open(&dir.join("split"), Dir::open(&dir.join("layer")).unwrap()).unwrap();
        let mut out = Vec::new();
        a.read_to_end(&mut out).unwrap();
        assert_eq!(out, b"HEAD0123456789PADabcEND");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
