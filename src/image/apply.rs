//! Applying a layer tar into an empty directory, in overlayfs form.
//!
//! `.wh.NAME` entries become character devices 0/0 named NAME and `.wh..wh..opq` sets
//! `trusted.overlay.opaque=y` on its directory, so the directory can serve as an overlay lower
//! layer as it is. Hardlinks, symlinks, devices, FIFOs, owners, modes, xattrs and times are kept;
//! directory times are set after their contents.
//!
//! Containment: names are cleaned lexically and refused when they climb above the root; every
//! parent directory is opened through `sys::fsat` relative to the layer root (`RESOLVE_IN_ROOT`),
//! so a symlink from the archive cannot lead outside; final components are created with
//! `O_EXCL|O_NOFOLLOW` after removing what was there; hardlink targets are resolved the same way
//! and never followed. `trusted.overlay.*` xattrs from the archive are dropped, so an image cannot
//! plant overlay redirects or origins.

use super::compress::{self, Compression, HashReader};
use super::tarsplit::SplitBuilder;
use super::tarstream::{Header, Kind, TarReader};
use crate::base::{Error, Result};
use crate::oci::image::Digest;
use crate::sys::fsat::{Dir, Node};
use std::collections::{HashMap, HashSet};
use std::ffi::OsStr;
use std::io::{BufReader, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::rc::Rc;

pub const OPAQUE_XATTR: &str = "trusted.overlay.opaque";
const WHITEOUT_PREFIX: &[u8] = b".wh.";
const OPAQUE_MARKER: &[u8] = b".wh..wh..opq";
/// Big files get their writeback started every this many bytes while they are written.
const WRITEBACK_CHUNK: u64 = 8 << 20;

/// What applying a layer found out about it.
#[derive(Debug, Clone)]
pub struct Applied {
    /// sha256 of the uncompressed tar stream (to its end, trailing bytes included).
    pub diff_id: Digest,
    pub tar_size: u64,
    /// sha256 and size of the blob as given (equal to the above for an uncompressed layer).
    pub blob_digest: Digest,
    pub blob_size: u64,
    pub compression: Compression,
    /// Bytes of content as Docker counts a layer's size (files and symlink targets, hardlinks once).
    pub content_size: u64,
    pub entries: u64,
}

fn os(b: &[u8]) -> &OsStr {
    OsStr::from_bytes(b)
}

fn p(b: &[u8]) -> &Path {
    Path::new(os(b))
}

/// Clean a tar name into components: empty and `.` parts dropped, `..` resolved lexically, a
/// leading `/` ignored. A name that climbs above the root is an error (as Docker's "breakout").
pub fn clean_name(name: &[u8]) -> Result<Vec<Vec<u8>>> {
    let mut out: Vec<Vec<u8>> = Vec::new();
    for c in name.split(|b| *b == b'/') {
        match c {
            b"" | b"." => {}
            b".." => {
                if out.pop().is_none() {
                    return Err(Error::invalid(format!(
                        "invalid tar entry {:?}: path is outside of the layer root",
                        String::from_utf8_lossy(name)
                    )));
                }
            }
            c => out.push(c.to_vec()),
        }
    }
    Ok(out)
}

/// Apply a layer blob (plain, gzip or zstd tar, detected by magic) into `dest`.
/// `split`, when given, receives what is needed to rebuild the uncompressed tar.
pub fn apply_blob<R: Read>(
    blob: R,
    dest: &Dir,
    split: Option<&mut SplitBuilder>,
) -> Result<Applied> {
    let mut outer = HashReader::new(blob);
    let peeked = compress::Peeked::new(&mut outer, 6)?;
    let compression = compress::detect(peeked.head())?;
    if compression == Compression::None {
        // The blob is the tar: one digest serves as both (sha256 is most of the CPU a load costs).
        let (content_size, entries) = apply_tar(peeked, dest, split)?;
        let d = outer.digest();
        return Ok(Applied {
            diff_id: d.clone(),
            tar_size: outer.count,
            blob_digest: d,
            blob_size: outer.count,
            compression,
            content_size,
            entries,
        });
    }
    let (content_size, entries, diff_id, tar_size) = {
        let (_, dec) = compress::decompress(peeked)?;
        let mut inner = HashReader::new(dec);
        let (content_size, entries) = apply_tar(&mut inner, dest, split)?;
        (content_size, entries, inner.digest(), inner.count)
    };
    // Bytes after the compressed stream's end still belong to the blob's digest.
    compress::drain(&mut outer)?;
    Ok(Applied {
        diff_id,
        tar_size,
        blob_digest: outer.digest(),
        blob_size: outer.count,
        compression,
        content_size,
        entries,
    })
}

/// Apply an uncompressed tar stream; returns (content size, entries). The stream is read to its
/// end, so a digesting reader below sees every byte.
pub fn apply_tar<R: Read>(
    tar: R,
    dest: &Dir,
    split: Option<&mut SplitBuilder>,
) -> Result<(u64, u64)> {
    let recording = split.is_some();
    let mut tr = TarReader::new(BufReader::with_capacity(256 * 1024, tar), recording);
    let mut a = Applier::new(dest, split)?;
    while let Some(h) = tr.next_header()? {
        a.entries += 1;
        a.entry(&mut tr, h)?;
    }
    tr.drain_trailer()?;
    a.flush_raw(&mut tr);
    a.finish()?;
    Ok((a.content_size, a.entries))
}

/// A directory (canonical path) and its atime and mtime, applied after its contents.
type DirTimes = (Vec<u8>, (i64, u32), (i64, u32));

struct Applier<'a> {
    root: &'a Dir,
    root_real: PathBuf,
    split: Option<&'a mut SplitBuilder>,
    cache: HashMap<Vec<u8>, (Rc<Dir>, Vec<u8>)>,
    dir_times: Vec<DirTimes>,
    content_size: u64,
    entries: u64,
    /// Inodes already counted (hardlinks count once).
    seen: HashSet<u64>,
    buf: Vec<u8>,
}

impl<'a> Applier<'a> {
    fn new(root: &'a Dir, split: Option<&'a mut SplitBuilder>) -> Result<Self> {
        Ok(Applier {
            root,
            root_real: root.real_path()?,
            split,
            cache: HashMap::new(),
            dir_times: Vec::new(),
            content_size: 0,
            entries: 0,
            seen: HashSet::new(),
            buf: vec![0u8; 1 << 20],
        })
    }

    fn flush_raw<R: Read>(&mut self, tr: &mut TarReader<R>) {
        if let Some(s) = self.split.as_deref_mut() {
            s.raw(tr.take_raw());
        }
    }

    /// Open (creating when asked, as `mkdir -p` with 0755 would) the directory `parent`,
    /// resolved inside the root. Returns it and its canonical (symlink-free) path.
    fn parent_dir(&mut self, parent: &[u8], create: bool) -> Result<(Rc<Dir>, Vec<u8>)> {
        if let Some((d, c)) = self.cache.get(parent) {
            return Ok((d.clone(), c.clone()));
        }
        let (dir, canon) = if parent.is_empty() {
            (self.root.try_clone()?, Vec::new())
        } else {
            match self.root.open_dir_beneath(p(parent)) {
                Ok(d) => (d, parent.to_vec()),
                Err(e) if e.errno() == Some(libc::ENOENT) && create => self.mkdir_p(parent)?,
                Err(e)
                    if matches!(
                        e.errno(),
                        Some(libc::ELOOP) | Some(libc::EXDEV) | Some(libc::ENOENT)
                    ) =>
                {
                    // A symlink on the way (ENOENT: a component missing beyond one): follow it,
                    // contained in the root.
                    match self.root.open_dir_in_root(p(parent)) {
                        Ok(d) => {
                            let c = self.canonical(&d)?;
                            (d, c)
                        }
                        Err(e2) if e2.errno() == Some(libc::ENOENT) && create => {
                            self.mkdir_p(parent)?
                        }
                        Err(e2) => return Err(e2),
                    }
                }
                Err(e) => return Err(e),
            }
        };
        if self.cache.len() > 1024 {
            self.cache.clear();
        }
        let rc = Rc::new(dir);
        self.cache
            .insert(parent.to_vec(), (rc.clone(), canon.clone()));
        Ok((rc, canon))
    }

    fn canonical(&self, d: &Dir) -> Result<Vec<u8>> {
        let real = d.real_path()?;
        let rel = real.strip_prefix(&self.root_real).map_err(|_| {
            Error::internal(format!(
                "{} resolved outside the layer root",
                real.display()
            ))
        })?;
        Ok(rel.as_os_str().as_bytes().to_vec())
    }

    fn mkdir_p(&mut self, path: &[u8]) -> Result<(Dir, Vec<u8>)> {
        let mut cur = self.root.try_clone()?;
        let mut so_far: Vec<u8> = Vec::new();
        let mut crossed_link = false;
        for c in path.split(|b| *b == b'/').filter(|c| !c.is_empty()) {
            if !so_far.is_empty() {
                so_far.push(b'/');
            }
            so_far.extend_from_slice(c);
            match cur.stat(os(c))? {
                None => {
                    cur.mkdir(os(c), 0o755)?;
                    cur.chmod(os(c), 0o755)?;
                    cur = cur.open_subdir(os(c))?;
                }
                Some(st) if st.is_dir() => cur = cur.open_subdir(os(c))?,
                Some(st) if st.is_symlink() => {
                    crossed_link = true;
                    cur = self.root.open_dir_in_root(p(&so_far)).map_err(|e| {
                        e.context(format!(
                            "parent of tar entry {}",
                            String::from_utf8_lossy(path)
                        ))
                    })?;
                }
                Some(_) => {
                    return Err(Error::from_errno(
                        libc::ENOTDIR,
                        format!("mkdir {}", String::from_utf8_lossy(&so_far)),
                    ))
                }
            }
        }
        let canon = if crossed_link {
            self.canonical(&cur)?
        } else {
            path.to_vec()
        };
        Ok((cur, canon))
    }

    /// Remove whatever is at `name` in `dir` (canonical path `canon`).
    fn remove_existing(
        &mut self,
        dir: &Dir,
        name: &[u8],
        canon: &[u8],
        is_dir: bool,
    ) -> Result<()> {
        if let Some(s) = self.split.as_deref_mut() {
            s.before_remove(self.root, canon)?;
        }
        if is_dir {
            dir.remove_all(os(name))?;
        } else {
            dir.unlink(os(name), false)?;
        }
        // Cached handles may name what was just removed (or paths through a removed symlink).
        self.cache.clear();
        Ok(())
    }

    fn set_xattrs(&self, dir: &Dir, name: &[u8], h: &Header) -> Result<()> {
        for (k, v) in &h.xattrs {
            if k.starts_with("trusted.overlay.") {
                log::warn!("ignoring xattr {k} on {} from a layer", h.path_lossy());
                continue;
            }
            match dir.set_xattr(os(name), k, v) {
                Ok(()) => {}
                Err(e) if matches!(e.errno(), Some(libc::ENOTSUP)) => {
                    log::debug!("xattr {k} not supported here: {e}")
                }
                Err(e) if e.errno() == Some(libc::EPERM) && h.kind == Kind::Symlink => {
                    log::debug!("xattr {k} on a symlink: {e}")
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    fn times(h: &Header) -> ((i64, u32), (i64, u32)) {
        let m = h.mtime;
        let a = match h.atime {
            Some(a) if a > m => a,
            _ => m,
        };
        (a, m)
    }

    fn entry<R: Read>(&mut self, tr: &mut TarReader<R>, h: Header) -> Result<()> {
        let comps = clean_name(&h.path)?;
        self.flush_raw(tr);
        let Some((name, parents)) = comps.split_last() else {
            // The root itself ("./"): its metadata applies to the layer directory.
            if h.kind == Kind::Dir {
                self.root.chown(os(b""), h.uid, h.gid)?;
                self.root.chmod(os(b""), h.mode & 0o7777)?;
                self.set_xattrs(self.root, b"", &h)?;
                let (a, m) = Self::times(&h);
                self.dir_times.push((Vec::new(), a, m));
            }
            tr.finish_entry(true)?;
            self.flush_raw(tr);
            return Ok(());
        };
        let parent = parents.join(&b'/');
        let ctx = |e: Error| e.context(format!("apply tar entry {}", h.path_lossy()));

        if name.as_slice() == OPAQUE_MARKER {
            let (pd, _) = self.parent_dir(&parent, true).map_err(ctx)?;
            pd.set_xattr(os(b""), OPAQUE_XATTR, b"y").map_err(ctx)?;
            tr.finish_entry(true)?;
            self.flush_raw(tr);
            return Ok(());
        }
        if name.starts_with(b".wh..wh.") {
            // aufs bookkeeping (.wh..wh.plnk, .wh..wh.aufs): not part of the file system.
            tr.finish_entry(true)?;
            self.flush_raw(tr);
            return Ok(());
        }
        if let Some(target) = name.strip_prefix(WHITEOUT_PREFIX) {
            if target.is_empty() || target == b"." || target == b".." || target.contains(&b'/') {
                return Err(ctx(Error::invalid("invalid whiteout name")));
            }
            let (pd, canon_parent) = self.parent_dir(&parent, true).map_err(ctx)?;
            let canon = join(&canon_parent, target);
            if let Some(st) = pd.stat(os(target))? {
                self.remove_existing(&pd, target, &canon, st.is_dir())
                    .map_err(ctx)?;
            }
            pd.mknod(os(target), Node::Char(0, 0), 0).map_err(ctx)?;
            pd.chown(os(target), h.uid, h.gid).map_err(ctx)?;
            tr.finish_entry(true)?;
            self.flush_raw(tr);
            return Ok(());
        }

        let (pd, canon_parent) = self.parent_dir(&parent, true).map_err(ctx)?;
        let canon = join(&canon_parent, name);
        let existing = pd.stat(os(name))?;
        let mut keep_dir = false;
        if let Some(st) = existing {
            if st.is_dir() && h.kind == Kind::Dir {
                keep_dir = true;
            } else {
                if st.is_file() || st.is_symlink() {
                    self.content_size =
                        self.content_size
                            .saturating_sub(if st.nlink <= 1 { st.size } else { 0 });
                }
                self.remove_existing(&pd, name, &canon, st.is_dir())
                    .map_err(ctx)?;
            }
        }
        let n = os(name);
        let (atime, mtime) = Self::times(&h);
        let mut keep_content_raw = true;
        match h.kind {
            Kind::Dir => {
                if !keep_dir {
                    pd.mkdir(n, 0o700).map_err(ctx)?;
                }
                pd.chown(n, h.uid, h.gid).map_err(ctx)?;
                pd.chmod(n, h.mode & 0o7777).map_err(ctx)?;
                self.set_xattrs(&pd, name, &h).map_err(ctx)?;
                self.dir_times.push((canon.clone(), atime, mtime));
            }
            Kind::File => {
                let mut f = pd.create_file(n, 0o600).map_err(ctx)?;
                let mut left = h.size;
                let mut flushed = 0u64;
                while left > 0 {
                    let want = (left as usize).min(self.buf.len());
                    let got = tr.read_content(&mut self.buf[..want]).map_err(ctx)?;
                    f.write_all(&self.buf[..got]).map_err(|e| {
                        ctx(Error::from(e).context(format!("write {}", h.path_lossy())))
                    })?;
                    left -= got as u64;
                    // The layer is synced before it is published: start the disk writes of big
                    // files as they are written, so they overlap with reading the archive.
                    let written = h.size - left;
                    if written - flushed >= WRITEBACK_CHUNK {
                        crate::sys::fsat::start_writeback(&f, flushed, written - flushed);
                        flushed = written;
                    }
                }
                if h.size >= WRITEBACK_CHUNK && flushed < h.size {
                    crate::sys::fsat::start_writeback(&f, flushed, 0);
                }
                drop(f);
                if let Some(s) = self.split.as_deref_mut() {
                    s.file(canon.clone(), h.size);
                }
                keep_content_raw = false;
                pd.chown(n, h.uid, h.gid).map_err(ctx)?;
                pd.chmod(n, h.mode & 0o7777).map_err(ctx)?;
                self.set_xattrs(&pd, name, &h).map_err(ctx)?;
                pd.set_times(n, atime, mtime).map_err(ctx)?;
                if let Some(st) = pd.stat(n)? {
                    if self.seen.insert(st.ino) {
                        self.content_size += h.size;
                    }
                }
            }
            Kind::Symlink => {
                pd.symlink(os(&h.link), n).map_err(ctx)?;
                pd.chown(n, h.uid, h.gid).map_err(ctx)?;
                self.set_xattrs(&pd, name, &h).map_err(ctx)?;
                pd.set_times(n, atime, mtime).map_err(ctx)?;
                self.content_size += h.link.len() as u64;
                self.cache.clear();
            }
            Kind::HardLink => {
                let tcomps = clean_name(&h.link).map_err(ctx)?;
                let Some((tname, tparents)) = tcomps.split_last() else {
                    return Err(ctx(Error::invalid("invalid hardlink target")));
                };
                let (tdir, _) = self.parent_dir(&tparents.join(&b'/'), false).map_err(|e| {
                    ctx(e.context(format!(
                        "hardlink target {}",
                        String::from_utf8_lossy(&h.link)
                    )))
                })?;
                let tst = tdir.stat(os(tname))?.ok_or_else(|| {
                    ctx(Error::not_found(format!(
                        "hardlink target {} not found",
                        String::from_utf8_lossy(&h.link)
                    )))
                })?;
                if tst.is_dir() {
                    return Err(ctx(Error::invalid("hardlink to a directory")));
                }
                pd.hardlink(&tdir, os(tname), n).map_err(ctx)?;
                if !tst.is_symlink() {
                    pd.chown(n, h.uid, h.gid).map_err(ctx)?;
                    pd.chmod(n, h.mode & 0o7777).map_err(ctx)?;
                    pd.set_times(n, atime, mtime).map_err(ctx)?;
                }
            }
            Kind::Char | Kind::Block | Kind::Fifo => {
                let node = match h.kind {
                    Kind::Char => Node::Char(h.dev_major, h.dev_minor),
                    Kind::Block => Node::Block(h.dev_major, h.dev_minor),
                    _ => Node::Fifo,
                };
                pd.mknod(n, node, h.mode & 0o7777).map_err(ctx)?;
                pd.chown(n, h.uid, h.gid).map_err(ctx)?;
                pd.chmod(n, h.mode & 0o7777).map_err(ctx)?;
                self.set_xattrs(&pd, name, &h).map_err(ctx)?;
                pd.set_times(n, atime, mtime).map_err(ctx)?;
            }
            Kind::Other(b'V') | Kind::Other(b'D') | Kind::Other(b'N') => {}
            Kind::Other(t) => {
                return Err(ctx(Error::invalid(format!(
                    "unhandled tar header type {t}"
                ))))
            }
        }
        tr.finish_entry(keep_content_raw)?;
        self.flush_raw(tr);
        Ok(())
    }

    fn finish(&mut self) -> Result<()> {
        self.cache.clear();
        for (canon, a, m) in std::mem::take(&mut self.dir_times) {
            let d = match self.root.open_dir_beneath(p(&canon)) {
                Ok(d) => d,
                Err(e)
                    if matches!(
                        e.errno(),
                        Some(libc::ENOENT) | Some(libc::ENOTDIR) | Some(libc::ELOOP)
                    ) =>
                {
                    continue
                }
                Err(e) => return Err(e),
            };
            d.set_times(os(b""), a, m)?;
        }
        Ok(())
    }
}

fn join(parent: &[u8], name: &[u8]) -> Vec<u8> {
    if parent.is_empty() {
        return name.to_vec();
    }
    let mut v = parent.to_vec();
    v.push(b'/');
    v.extend_from_slice(name);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_names_like_docker() {
        let c = |s: &str| {
            clean_name(s.as_bytes()).map(|v| {
                v.iter()
                    .map(|c| String::from_utf8_lossy(c).into_owned())
                    .collect::<Vec<_>>()
                    .join("/")
            })
        };
        assert_eq!(c("./a/b/").unwrap(), "a/b");
        assert_eq!(c("/etc/passwd").unwrap(), "etc/passwd");
        assert_eq!(c("a/../b").unwrap(), "b");
        assert_eq!(c("./").unwrap(), "");
        assert!(c("../x").is_err());
        assert!(c("a/../../x").is_err());
    }
}
