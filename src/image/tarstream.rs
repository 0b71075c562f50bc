//! A streaming tar reader that hands back every byte it consumed except file contents, so a
//! layer can be extracted once and its exact tar stream rebuilt later (see `tarsplit`), and a
//! small deterministic tar writer for `docker save`.
//!
//! Formats read: v7, ustar, GNU (long names `L`/`K`, base-256 numbers) and PAX (`x` per-entry and
//! `g` global records: path, linkpath, size, uid, gid, mtime, atime, SCHILY.xattr.*). GNU sparse
//! files and multi-volume archives are refused.

use crate::base::{Error, Result};
use std::io::{self, Read, Write};

pub const BLOCK: usize = 512;
/// Limit on any metadata record (PAX, GNU long name) kept in memory.
const MAX_META: u64 = 1 << 20;
/// Limit on what a recording reader keeps (headers, padding, non-file contents, trailing
/// bytes): tar-split data lives in memory until the layer is committed.
pub const MAX_RECORDED: u64 = 64 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    File,
    HardLink,
    Symlink,
    Char,
    Block,
    Dir,
    Fifo,
    /// Entries with no file system meaning here (volume labels, GNU dump dirs): skipped.
    Other(u8),
}

#[derive(Debug, Clone)]
pub struct Header {
    pub path: Vec<u8>,
    pub link: Vec<u8>,
    pub kind: Kind,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub size: u64,
    pub mtime: (i64, u32),
    pub atime: Option<(i64, u32)>,
    pub dev_major: u32,
    pub dev_minor: u32,
    pub xattrs: Vec<(String, Vec<u8>)>,
}

impl Header {
    pub fn path_lossy(&self) -> String {
        String::from_utf8_lossy(&self.path).into_owned()
    }
}

fn bad(msg: impl Into<String>) -> Error {
    Error::invalid(format!("archive/tar: {}", msg.into()))
}

/// Reads a tar stream entry by entry. When recording, every byte consumed that is not file
/// content read through `read_content` is appended to the raw buffer (`take_raw`).
pub struct TarReader<R: Read> {
    inner: R,
    recording: bool,
    raw: Vec<u8>,
    /// Content bytes (and then padding) still to consume for the current entry.
    remaining: u64,
    padding: u64,
    globals: Vec<(String, Vec<u8>)>,
    pub consumed: u64,
    done: bool,
    recorded: u64,
}

impl<R: Read> TarReader<R> {
    pub fn new(inner: R, recording: bool) -> Self {
        TarReader {
            inner,
            recording,
            raw: Vec::new(),
            remaining: 0,
            padding: 0,
            globals: Vec::new(),
            consumed: 0,
            done: false,
            recorded: 0,
        }
    }

    pub fn into_inner(self) -> R {
        self.inner
    }

    /// The raw bytes recorded since the last call.
    pub fn take_raw(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.raw)
    }

    fn read_exact_rec(&mut self, buf: &mut [u8], record: bool) -> Result<()> {
        read_full(&mut self.inner, buf).map_err(|e| e.context("read tar stream"))?;
        self.consumed += buf.len() as u64;
        if record && self.recording {
            self.record(buf)?;
        }
        Ok(())
    }

    fn record(&mut self, b: &[u8]) -> Result<()> {
        self.recorded += b.len() as u64;
        if self.recorded > MAX_RECORDED {
            return Err(bad(format!(
                "more than {} MiB of headers and non-file data in one layer",
                MAX_RECORDED >> 20
            )));
        }
        self.raw.extend_from_slice(b);
        Ok(())
    }

    /// Read up to `buf.len()` bytes of the current entry's content (not recorded).
    pub fn read_content(&mut self, buf: &mut [u8]) -> Result<usize> {
        if self.remaining == 0 {
            return Ok(0);
        }
        let want = (buf.len() as u64).min(self.remaining) as usize;
        let n = self
            .inner
            .read(&mut buf[..want])
            .map_err(|e| Error::from(e).context("read tar entry content"))?;
        if n == 0 {
            return Err(bad("unexpected EOF in entry content"));
        }
        self.remaining -= n as u64;
        self.consumed += n as u64;
        Ok(n)
    }

    /// Consume the rest of the current entry: its content (recorded when `keep_raw`) and padding.
    pub fn finish_entry(&mut self, keep_raw: bool) -> Result<()> {
        let mut buf = [0u8; 8192];
        while self.remaining > 0 {
            let n = (self.remaining as usize).min(buf.len());
            self.read_exact_rec(&mut buf[..n], keep_raw)?;
            self.remaining -= n as u64;
        }
        let pad = self.padding as usize;
        self.padding = 0;
        if pad > 0 {
            self.read_exact_rec(&mut buf[..pad], true)?;
        }
        Ok(())
    }

    /// Content of a small metadata entry (read fully, recorded).
    fn read_meta(&mut self, size: u64) -> Result<Vec<u8>> {
        if size > MAX_META {
            return Err(bad(format!("metadata entry of {size} bytes is too large")));
        }
        let mut v = vec![0u8; size as usize];
        self.read_exact_rec(&mut v, true)?;
        let pad = padding_of(size) as usize;
        let mut p = [0u8; BLOCK];
        self.read_exact_rec(&mut p[..pad], true)?;
        Ok(v)
    }

    /// The next entry's header, or None at the end-of-archive marker. The previous entry must
    /// have been finished.
    pub fn next_header(&mut self) -> Result<Option<Header>> {
        if self.done {
            return Ok(None);
        }
        if self.remaining > 0 || self.padding > 0 {
            self.finish_entry(false)?;
        }
        let mut pax: Vec<(String, Vec<u8>)> = Vec::new();
        let mut long_name: Option<Vec<u8>> = None;
        let mut long_link: Option<Vec<u8>> = None;
        loop {
            let mut block = [0u8; BLOCK];
            let got =
                read_some(&mut self.inner, &mut block).map_err(|e| e.context("read tar header"))?;
            self.consumed += got as u64;
            if self.recording {
                self.record(&block[..got])?;
            }
            if got == 0 && pax.is_empty() && long_name.is_none() {
                // A stream that ends without the zero blocks: accept it as Go's reader does.
                self.done = true;
                return Ok(None);
            }
            if got < BLOCK {
                return Err(bad("unexpected EOF in header"));
            }
            if block.iter().all(|b| *b == 0) {
                self.done = true;
                return Ok(None);
            }
            if !checksum_ok(&block) {
                return Err(bad("invalid tar header checksum"));
            }
            let typ = block[156];
            let size = parse_num(&block[124..136]).ok_or_else(|| bad("invalid size field"))?;
            match typ {
                b'x' => {
                    let data = self.read_meta(size)?;
                    pax = parse_pax(&data)?;
                    continue;
                }
                b'g' => {
                    let data = self.read_meta(size)?;
                    self.globals = parse_pax(&data)?;
                    continue;
                }
                b'L' => {
                    let mut d = self.read_meta(size)?;
                    trim_nul(&mut d);
                    long_name = Some(d);
                    continue;
                }
                b'K' => {
                    let mut d = self.read_meta(size)?;
                    trim_nul(&mut d);
                    long_link = Some(d);
                    continue;
                }
                b'S' => return Err(bad("GNU sparse files are not supported")),
                b'M' => return Err(bad("multi-volume archives are not supported")),
                _ => {}
            }
            let mut h = self.header_from_block(&block, size)?;
            for (k, v) in self.globals.iter().chain(pax.iter()) {
                apply_pax(&mut h, k, v)?;
            }
            if let Some(n) = long_name {
                h.path = n;
            }
            if let Some(l) = long_link {
                h.link = l;
            }
            // Header-only types carry no content whatever their size field says (as Go reads them).
            if !matches!(h.kind, Kind::File | Kind::Other(_)) {
                h.size = 0;
            }
            self.remaining = h.size;
            self.padding = padding_of(h.size);
            return Ok(Some(h));
        }
    }

    fn header_from_block(&self, b: &[u8; BLOCK], size: u64) -> Result<Header> {
        let magic = &b[257..265];
        let ustar = &magic[..6] == b"ustar\0";
        let gnu = magic == b"ustar  \0";
        let mut path = cstr(&b[0..100]).to_vec();
        if ustar {
            let prefix = cstr(&b[345..500]);
            if !prefix.is_empty() {
                let mut p = prefix.to_vec();
                p.push(b'/');
                p.extend_from_slice(&path);
                path = p;
            }
        }
        let mut typ = b[156];
        if (typ == b'0' || typ == 0) && path.ends_with(b"/") {
            typ = b'5';
        }
        let kind = match typ {
            b'0' | 0 | b'7' => Kind::File,
            b'1' => Kind::HardLink,
            b'2' => Kind::Symlink,
            b'3' => Kind::Char,
            b'4' => Kind::Block,
            b'5' => Kind::Dir,
            b'6' => Kind::Fifo,
            other => Kind::Other(other),
        };
        let num = |r: std::ops::Range<usize>, what: &str| {
            parse_num(&b[r]).ok_or_else(|| bad(format!("invalid {what} field")))
        };
        let mut atime = None;
        if gnu {
            let a = parse_num(&b[345..357]).unwrap_or(0);
            if a > 0 {
                atime = Some((a as i64, 0));
            }
        }
        let (dev_major, dev_minor) = if ustar || gnu {
            (
                num(329..337, "devmajor").unwrap_or(0) as u32,
                num(337..345, "devminor").unwrap_or(0) as u32,
            )
        } else {
            (0, 0)
        };
        Ok(Header {
            path,
            link: cstr(&b[157..257]).to_vec(),
            kind,
            mode: num(100..108, "mode")? as u32,
            uid: num(108..116, "uid")? as u32,
            gid: num(116..124, "gid")? as u32,
            size,
            mtime: (num(136..148, "mtime")? as i64, 0),
            atime,
            dev_major,
            dev_minor,
            xattrs: Vec::new(),
        })
    }

    /// After the end marker: consume the rest of the stream (recorded), so digests cover it.
    pub fn drain_trailer(&mut self) -> Result<()> {
        let mut buf = vec![0u8; 16384];
        loop {
            let n = match self.inner.read(&mut buf) {
                Ok(0) => return Ok(()),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(Error::from(e).context("read tar trailer")),
            };
            self.consumed += n as u64;
            if self.recording {
                self.record(&buf[..n])?;
            }
        }
    }
}

/// The current entry's content as a `Read`.
pub struct EntryReader<'a, R: Read> {
    pub tr: &'a mut TarReader<R>,
}

impl<R: Read> Read for EntryReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.tr
            .read_content(buf)
            .map_err(|e| io::Error::other(e.to_string()))
    }
}

/// Does this 512-byte block look like a tar header (valid checksum and size)?
pub fn is_tar_header(block: &[u8]) -> bool {
    let Ok(b) = <&[u8; BLOCK]>::try_from(block) else {
        return false;
    };
    !b.iter().all(|c| *c == 0) && checksum_ok(b) && parse_num(&b[124..136]).is_some()
}

fn read_full<R: Read>(r: &mut R, buf: &mut [u8]) -> Result<()> {
    let n = read_some(r, buf)?;
    if n < buf.len() {
        return Err(bad("unexpected EOF"));
    }
    Ok(())
}

/// Fill `buf` as far as the stream allows; returns how much was read (short only at EOF).
fn read_some<R: Read>(r: &mut R, buf: &mut [u8]) -> Result<usize> {
    let mut off = 0;
    while off < buf.len() {
        match r.read(&mut buf[off..]) {
            Ok(0) => break,
            Ok(n) => off += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(off)
}

fn trim_nul(v: &mut Vec<u8>) {
    while v.last() == Some(&0) {
        v.pop();
    }
}

fn cstr(b: &[u8]) -> &[u8] {
    match b.iter().position(|c| *c == 0) {
        Some(i) => &b[..i],
        None => b,
    }
}

pub fn padding_of(size: u64) -> u64 {
    (BLOCK as u64 - size % BLOCK as u64) % BLOCK as u64
}

fn checksum_ok(b: &[u8; BLOCK]) -> bool {
    let Some(want) = parse_num(&b[148..156]) else {
        return false;
    };
    let mut unsigned: u64 = 0;
    let mut signed: i64 = 0;
    for (i, c) in b.iter().enumerate() {
        let c = if (148..156).contains(&i) { b' ' } else { *c };
        unsigned += c as u64;
        signed += (c as i8) as i64;
    }
    want == unsigned || want as i64 == signed
}

/// Octal (NUL/space terminated) or GNU base-256 (high bit of the first byte set).
fn parse_num(f: &[u8]) -> Option<u64> {
    if let Some(&first) = f.first() {
        if first & 0x80 != 0 {
            if first & 0x40 != 0 {
                return None; // negative
            }
            let mut v: u64 = (first & 0x3f) as u64;
            for &c in &f[1..] {
                v = v.checked_mul(256)?.checked_add(c as u64)?;
            }
            return Some(v);
        }
    }
    let s: Vec<u8> = f
        .iter()
        .copied()
        .skip_while(|c| *c == b' ')
        .take_while(|c| *c != 0 && *c != b' ')
        .collect();
    if s.is_empty() {
        return Some(0);
    }
    let mut v: u64 = 0;
    for c in s {
        if !(b'0'..=b'7').contains(&c) {
            return None;
        }
        v = v.checked_mul(8)?.checked_add((c - b'0') as u64)?;
    }
    Some(v)
}

fn parse_pax(data: &[u8]) -> Result<Vec<(String, Vec<u8>)>> {
    let mut out = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        let sp = rest
            .iter()
            .position(|c| *c == b' ')
            .ok_or_else(|| bad("invalid PAX record"))?;
        let len: usize = std::str::from_utf8(&rest[..sp])
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| bad("invalid PAX record length"))?;
        if len <= sp + 1 || len > rest.len() || rest[len - 1] != b'\n' {
            return Err(bad("invalid PAX record"));
        }
        let rec = &rest[sp + 1..len - 1];
        let eq = rec
            .iter()
            .position(|c| *c == b'=')
            .ok_or_else(|| bad("invalid PAX record"))?;
        let key = String::from_utf8_lossy(&rec[..eq]).into_owned();
        out.push((key, rec[eq + 1..].to_vec()));
        rest = &rest[len..];
    }
    Ok(out)
}

fn pax_time(v: &[u8]) -> Option<(i64, u32)> {
    let s = std::str::from_utf8(v).ok()?;
    let (secs, frac) = match s.split_once('.') {
        Some((a, b)) => (a, b),
        None => (s, ""),
    };
    let secs: i64 = secs.parse().ok()?;
    let mut nanos: u32 = 0;
    if !frac.is_empty() {
        let digits: String = frac.chars().take(9).collect();
        let padded = format!("{digits:0<9}");
        nanos = padded.parse().ok()?;
    }
    Some((secs, nanos))
}

fn apply_pax(h: &mut Header, k: &str, v: &[u8]) -> Result<()> {
    let num = || -> Result<u64> {
        std::str::from_utf8(v)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| bad(format!("invalid PAX {k}")))
    };
    match k {
        "path" => h.path = v.to_vec(),
        "linkpath" => h.link = v.to_vec(),
        "size" => h.size = num()?,
        "uid" => h.uid = num()? as u32,
        "gid" => h.gid = num()? as u32,
        "mtime" => h.mtime = pax_time(v).ok_or_else(|| bad("invalid PAX mtime"))?,
        "atime" => h.atime = pax_time(v),
        _ if k.starts_with("SCHILY.xattr.") => h
            .xattrs
            .push((k["SCHILY.xattr.".len()..].to_string(), v.to_vec())),
        _ if k.starts_with("GNU.sparse.") => return Err(bad("GNU sparse files are not supported")),
        _ => {}
    }
    Ok(())
}

/// One entry for `TarWriter`.
pub struct WriteHeader<'a> {
    pub path: &'a str,
    pub kind: Kind,
    pub mode: u32,
    pub size: u64,
    pub mtime: i64,
    pub link: &'a str,
}

/// Writes ustar entries (PAX records for names that do not fit) with uid/gid 0 and the given
/// mtime, the way Go's archive/tar writes them, so `docker save` output is deterministic.
pub struct TarWriter<W: Write> {
    pub out: W,
    pub written: u64,
}

impl<W: Write> TarWriter<W> {
    pub fn new(out: W) -> Self {
        TarWriter { out, written: 0 }
    }

    fn put(&mut self, b: &[u8]) -> Result<()> {
        self.out
            .write_all(b)
            .map_err(|e| Error::from(e).context("write tar stream"))?;
        self.written += b.len() as u64;
        Ok(())
    }

    pub fn header(&mut self, h: &WriteHeader) -> Result<()> {
        let name = h.path.as_bytes();
        let (name_field, prefix_field) = split_ustar_name(name);
        if name_field.is_none() || h.link.len() > 100 {
            let mut recs = Vec::new();
            if name_field.is_none() {
                recs.extend(pax_record("path", name));
            }
            if h.link.len() > 100 {
                recs.extend(pax_record("linkpath", h.link.as_bytes()));
            }
            let pax_name = format!("PaxHeaders.0/{}", h.path.rsplit('/').next().unwrap_or("x"));
            let pax_name = &pax_name[..pax_name.len().min(100)];
            let blk = ustar_block(pax_name.as_bytes(), b"", b'x', 0, recs.len() as u64, 0, b"");
            self.put(&blk)?;
            self.put(&recs)?;
            self.put(&vec![0u8; padding_of(recs.len() as u64) as usize])?;
        }
        let (n, p) = match name_field {
            Some(n) => (n, prefix_field),
            None => (&name[..name.len().min(100)], &b""[..]),
        };
        let typ = match h.kind {
            Kind::File => b'0',
            Kind::HardLink => b'1',
            Kind::Symlink => b'2',
            Kind::Char => b'3',
            Kind::Block => b'4',
            Kind::Dir => b'5',
            Kind::Fifo => b'6',
            Kind::Other(t) => t,
        };
        let link = &h.link.as_bytes()[..h.link.len().min(100)];
        let blk = ustar_block(n, p, typ, h.mode, h.size, h.mtime, link);
        self.put(&blk)
    }

    /// File content: exactly the size given in the header, then padding.
    pub fn content<Rd: Read>(&mut self, mut r: Rd, size: u64) -> Result<()> {
        let mut buf = vec![0u8; (size as usize).clamp(1, 1 << 20)];
        let mut left = size;
        while left > 0 {
            let want = (left as usize).min(buf.len());
            let n = r
                .read(&mut buf[..want])
                .map_err(|e| Error::from(e).context("read entry content"))?;
            if n == 0 {
                return Err(Error::internal("entry content ended early"));
            }
            self.put(&buf[..n])?;
            left -= n as u64;
        }
        self.put(&vec![0u8; padding_of(size) as usize])
    }

    pub fn file(&mut self, path: &str, data: &[u8], mtime: i64) -> Result<()> {
        self.header(&WriteHeader {
            path,
            kind: Kind::File,
            mode: 0o644,
            size: data.len() as u64,
            mtime,
            link: "",
        })?;
        self.content(data, data.len() as u64)
    }

    pub fn dir(&mut self, path: &str, mtime: i64) -> Result<()> {
        self.header(&WriteHeader {
            path,
            kind: Kind::Dir,
            mode: 0o755,
            size: 0,
            mtime,
            link: "",
        })
    }

    /// The end-of-archive marker (two zero blocks).
    pub fn finish(&mut self) -> Result<()> {
        self.put(&[0u8; BLOCK * 2])?;
        self.out
            .flush()
            .map_err(|e| Error::from(e).context("flush tar stream"))
    }
}

fn pax_record(key: &str, val: &[u8]) -> Vec<u8> {
    // "%d %s=%s\n" where %d counts the whole record including itself.
    let base = key.len() + val.len() + 3;
    let mut len = base + 1;
    while len != base + len.to_string().len() {
        len = base + len.to_string().len();
    }
    let mut r = format!("{len} {key}=").into_bytes();
    r.extend_from_slice(val);
    r.push(b'\n');
    r
}

/// Split a name into ustar (name ≤ 100, prefix ≤ 155) at a slash; None when impossible.
fn split_ustar_name(name: &[u8]) -> (Option<&[u8]>, &[u8]) {
    if name.len() <= 100 {
        return (Some(name), b"");
    }
    let start = name.len().saturating_sub(101);
    for i in start..name.len().min(156) {
        if name[i] == b'/' && name.len() - i - 1 <= 100 && i <= 155 && i > 0 {
            return (Some(&name[i + 1..]), &name[..i]);
        }
    }
    (None, b"")
}

fn octal(field: &mut [u8], v: u64) {
    let w = field.len() - 1;
    let s = format!("{v:0w$o}");
    if s.len() > w {
        // base-256 for values that do not fit (large sizes)
        field.fill(0);
        let mut x = v;
        for i in (1..field.len()).rev() {
            field[i] = (x & 0xff) as u8;
            x >>= 8;
        }
        field[0] = 0x80;
        return;
    }
    field[..w].copy_from_slice(s.as_bytes());
    field[w] = 0;
}

fn ustar_block(
    name: &[u8],
    prefix: &[u8],
    typ: u8,
    mode: u32,
    size: u64,
    mtime: i64,
    link: &[u8],
) -> [u8; BLOCK] {
    let mut b = [0u8; BLOCK];
    b[..name.len()].copy_from_slice(name);
    octal(&mut b[100..108], mode as u64);
    octal(&mut b[108..116], 0);
    octal(&mut b[116..124], 0);
    octal(&mut b[124..136], size);
    octal(&mut b[136..148], mtime.max(0) as u64);
    b[156] = typ;
    b[157..157 + link.len()].copy_from_slice(link);
    b[257..263].copy_from_slice(b"ustar\0");
    b[263..265].copy_from_slice(b"00");
    octal(&mut b[329..337], 0);
    octal(&mut b[337..345], 0);
    b[345..345 + prefix.len()].copy_from_slice(prefix);
    b[148..156].fill(b' ');
    let sum: u64 = b.iter().map(|c| *c as u64).sum();
    let s = format!("{sum:06o}\0 ");
    b[148..156].copy_from_slice(s.as_bytes());
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip_entries(data: &[u8]) -> Vec<Header> {
        let mut r = TarReader::new(data, true);
        let mut out = Vec::new();
        while let Some(h) = r.next_header().unwrap() {
            r.finish_entry(true).unwrap();
            out.push(h);
        }
        r.drain_trailer().unwrap();
        // Everything was recorded, so the raw bytes are the archive itself.
        assert_eq!(r.take_raw(), data);
        out
    }

    #[test]
    fn writer_output_reads_back_with_long_names() {
        let mut w = TarWriter::new(Vec::new());
        w.dir("blobs/", 0).unwrap();
        let long = format!("{}/{}", "d".repeat(120), "f".repeat(90));
        let very_long = "x".repeat(300);
        w.file("blobs/sha256/abc", b"hello", 0).unwrap();
        w.file(&long, b"1", 5).unwrap();
        w.file(&very_long, b"22", 5).unwrap();
        w.header(&WriteHeader {
            path: "l",
            kind: Kind::Symlink,
            mode: 0o777,
            size: 0,
            mtime: 0,
            link: &"t".repeat(150),
        })
        .unwrap();
        w.finish().unwrap();
        let hs = roundtrip_entries(&w.out);
        assert_eq!(hs.len(), 5);
        assert_eq!(hs[0].kind, Kind::Dir);
        assert_eq!(hs[1].path, b"blobs/sha256/abc");
        assert_eq!(hs[1].size, 5);
        assert_eq!(hs[2].path, long.as_bytes());
        assert_eq!(hs[3].path, very_long.as_bytes());
        assert_eq!(hs[4].link.len(), 150);
        // GNU tar agrees with what we wrote.
        let dir = std::env::temp_dir().join(format!("berth-tarw-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("t.tar"), &w.out).unwrap();
        let out = std::process::Command::new("tar")
            .arg("tf")
            .arg(dir.join("t.tar"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let names = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(names.contains(&very_long), "{names}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn reads_gnu_tar_with_long_names_and_pax_xattrs() {
        let dir = std::env::temp_dir().join(format!("berth-tarr-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let deep = dir.join("src").join("a".repeat(80)).join("b".repeat(80));
        std::fs::create_dir_all(&deep).unwrap();
        std::fs::write(deep.join("file"), b"content").unwrap();
        std::os::unix::fs::symlink("c".repeat(120), dir.join("src/l")).unwrap();
        for fmt in ["gnu", "posix"] {
            let t = dir.join(format!("{fmt}.tar"));
            let st = std::process::Command::new("tar")
                .args(["--format", fmt, "-C"])
                .arg(dir.join("src"))
                .arg("-cf")
                .arg(&t)
                .arg(".")
                .status()
                .unwrap();
            assert!(st.success());
            let data = std::fs::read(&t).unwrap();
            let hs = roundtrip_entries(&data);
            let f = hs
                .iter()
                .find(|h| h.path.ends_with(b"/file"))
                .unwrap_or_else(|| panic!("{fmt}: no file"));
            assert_eq!(f.size, 7);
            assert!(f.path.len() > 160);
            let l = hs.iter().find(|h| h.path == b"./l").unwrap();
            assert_eq!(l.kind, Kind::Symlink);
            assert_eq!(l.link.len(), 120);
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn recording_is_bounded() {
        let mut w = TarWriter::new(Vec::new());
        w.file("a", b"x", 0).unwrap();
        w.finish().unwrap();
        let mut data = w.out;
        data.extend(std::iter::repeat(7u8).take((MAX_RECORDED + 1) as usize));
        let mut r = TarReader::new(&data[..], true);
        while r.next_header().unwrap().is_some() {
            r.finish_entry(true).unwrap();
        }
        assert!(r
            .drain_trailer()
            .unwrap_err()
            .to_string()
            .contains("MiB of headers"));
    }

    #[test]
    fn rejects_bad_checksum_and_parses_base256() {
        let mut w = TarWriter::new(Vec::new());
        w.file("a", b"x", 0).unwrap();
        w.finish().unwrap();
        let mut data = w.out.clone();
        data[0] = b'b';
        let mut r = TarReader::new(&data[..], false);
        assert!(r
            .next_header()
            .unwrap_err()
            .to_string()
            .contains("checksum"));
        let mut f = [0u8; 12];
        octal(&mut f, 1 << 40);
        assert_eq!(parse_num(&f), Some(1 << 40));
        assert_eq!(parse_num(b"0000644\0"), Some(0o644));
        assert_eq!(
            pax_time(b"1700000000.5"),
            Some((1_700_000_000, 500_000_000))
        );
    }
}
