//! Directory-handle file operations for code that must never leave a root: layer extraction,
//! snapshot copies, blob reads. Every operation is relative to a `Dir` (an open directory fd) and
//! takes a single path component, or resolves a multi-component path with `openat2`
//! (`RESOLVE_IN_ROOT` or `RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS`), so `..`, absolute symlinks and
//! symlinked parents cannot lead outside. On kernels without openat2 (< 5.6) the same resolution
//! runs in user space, one `O_NOFOLLOW` component at a time.
//!
//! Also here: overlay/bind mounts and unmounts, syncfs, and renames with `RENAME_NOREPLACE`.

use crate::base::{Error, Result};
use rustix::fd::{AsFd, BorrowedFd, OwnedFd};
use rustix::fs::{AtFlags, FileType, Mode, OFlags, ResolveFlags};
use rustix::io::Errno;
use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

fn err(e: Errno, what: impl FnOnce() -> String) -> Error {
    Error::from_errno(e.raw_os_error(), what())
}

/// Set once openat2 answered ENOSYS: use the user-space walk from then on.
static NO_OPENAT2: AtomicBool = AtomicBool::new(false);

/// Metadata of one file (lstat).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileStat {
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub size: u64,
    pub ino: u64,
    pub dev: u64,
    pub nlink: u64,
    pub rdev_major: u32,
    pub rdev_minor: u32,
    pub atime: (i64, u32),
    pub mtime: (i64, u32),
}

impl FileStat {
    pub fn kind(&self) -> u32 {
        self.mode & libc::S_IFMT
    }
    pub fn is_dir(&self) -> bool {
        self.kind() == libc::S_IFDIR
    }
    pub fn is_file(&self) -> bool {
        self.kind() == libc::S_IFREG
    }
    pub fn is_symlink(&self) -> bool {
        self.kind() == libc::S_IFLNK
    }
    /// An overlayfs whiteout: a character device 0/0.
    pub fn is_whiteout(&self) -> bool {
        self.kind() == libc::S_IFCHR && self.rdev_major == 0 && self.rdev_minor == 0
    }
    pub fn perm(&self) -> u32 {
        self.mode & 0o7777
    }
}

fn to_stat(s: &rustix::fs::Stat) -> FileStat {
    let rdev = s.st_rdev;
    FileStat {
        mode: s.st_mode,
        uid: s.st_uid,
        gid: s.st_gid,
        size: s.st_size as u64,
        ino: s.st_ino,
        dev: s.st_dev,
        nlink: s.st_nlink,
        rdev_major: rustix::fs::major(rdev),
        rdev_minor: rustix::fs::minor(rdev),
        atime: (s.st_atime, s.st_atime_nsec as u32),
        mtime: (s.st_mtime, s.st_mtime_nsec as u32),
    }
}

/// Kinds of special files `mknod` makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Node {
    Char(u32, u32),
    Block(u32, u32),
    Fifo,
}

/// One directory entry: name and type (from getdents; `None` when the fs does not say).
#[derive(Debug, Clone)]
pub struct DirEntry {
    pub name: OsString,
    pub is_dir: Option<bool>,
}

/// An open directory. Operations take one path component unless their name says otherwise.
#[derive(Debug)]
pub struct Dir {
    fd: OwnedFd,
}

impl AsFd for Dir {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

const DIR_FLAGS: OFlags = OFlags::RDONLY
    .union(OFlags::DIRECTORY)
    .union(OFlags::CLOEXEC);

impl Dir {
    /// Open a directory by absolute or cwd-relative path (the trusted part: a store root).
    pub fn open(path: &Path) -> Result<Dir> {
        let fd = rustix::fs::open(path, DIR_FLAGS, Mode::empty())
            .map_err(|e| err(e, || format!("open directory {}", path.display())))?;
        Ok(Dir { fd })
    }

    pub fn try_clone(&self) -> Result<Dir> {
        let fd = self
            .fd
            .try_clone()
            .map_err(|e| Error::from(e).context("dup directory fd"))?;
        Ok(Dir { fd })
    }

    /// The path the kernel knows for this directory (via /proc/self/fd).
    pub fn real_path(&self) -> Result<PathBuf> {
        let link = format!("/proc/self/fd/{}", fd_num(&self.fd));
        std::fs::read_link(&link).map_err(|e| Error::from(e).context(format!("readlink {link}")))
    }

    /// A path naming `name` inside this directory through /proc/self/fd, for calls that only
    /// take paths (lsetxattr). The final component is never followed by those calls.
    fn proc_path(&self, name: &OsStr) -> PathBuf {
        let mut p = PathBuf::from(format!("/proc/self/fd/{}", fd_num(&self.fd)));
        if !name.is_empty() {
            p.push(name);
        }
        p
    }

    /// Open directory `rel` (any number of components) resolved as if this directory were `/`:
    /// `..` stops at the root and absolute symlinks restart at it.
    pub fn open_dir_in_root(&self, rel: &Path) -> Result<Dir> {
        let fd = self
            .resolve(rel, true)
            .map_err(|e| err(e, || format!("open {} in root", rel.display())))?;
        Ok(Dir { fd })
    }

    /// Open directory `rel` beneath this one without following any symlink.
    pub fn open_dir_beneath(&self, rel: &Path) -> Result<Dir> {
        let fd = self
            .resolve(rel, false)
            .map_err(|e| err(e, || format!("open {} beneath root", rel.display())))?;
        Ok(Dir { fd })
    }

    /// Open regular file `rel` beneath this directory for reading, following no symlink.
    pub fn open_file_beneath(&self, rel: &Path) -> Result<File> {
        let what = || format!("open {}", rel.display());
        let flags = OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NOFOLLOW;
        let fd = if NO_OPENAT2.load(Ordering::Relaxed) {
            self.open_beneath_userspace(rel, flags)
        } else {
            match rustix::fs::openat2(
                &self.fd,
                rel,
                flags,
                Mode::empty(),
                ResolveFlags::BENEATH | ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS,
            ) {
                Err(Errno::NOSYS) => {
                    NO_OPENAT2.store(true, Ordering::Relaxed);
                    self.open_beneath_userspace(rel, flags)
                }
                r => r,
            }
        }
        .map_err(|e| err(e, what))?;
        Ok(File::from(fd))
    }

    fn open_beneath_userspace(&self, rel: &Path, flags: OFlags) -> rustix::io::Result<OwnedFd> {
        let parent = match rel.parent().filter(|p| !p.as_os_str().is_empty()) {
            Some(p) => walk(&self.fd, p, false)?,
            None => self.fd.try_clone().map_err(|_| Errno::MFILE)?,
        };
        let name = rel.file_name().ok_or(Errno::INVAL)?;
        rustix::fs::openat(&parent, name, flags, Mode::empty())
    }

    fn resolve(&self, rel: &Path, in_root: bool) -> rustix::io::Result<OwnedFd> {
        if rel.as_os_str().is_empty() || rel == Path::new(".") {
            return self.fd.try_clone().map_err(|_| Errno::MFILE);
        }
        if !NO_OPENAT2.load(Ordering::Relaxed) {
            let how = if in_root {
                ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS
            } else {
                ResolveFlags::BENEATH | ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS
            };
            match rustix::fs::openat2(&self.fd, rel, DIR_FLAGS, Mode::empty(), how) {
                Err(Errno::NOSYS) => NO_OPENAT2.store(true, Ordering::Relaxed),
                // EAGAIN: a concurrent rename anywhere on the system; retry once the slow way.
                Err(Errno::AGAIN) => {}
                r => return r,
            }
        }
        walk(&self.fd, rel, in_root)
    }

    /// lstat of `name` (None when it does not exist). An empty name stats this directory.
    pub fn stat(&self, name: &OsStr) -> Result<Option<FileStat>> {
        let flags = if name.is_empty() {
            AtFlags::EMPTY_PATH | AtFlags::SYMLINK_NOFOLLOW
        } else {
            AtFlags::SYMLINK_NOFOLLOW
        };
        match rustix::fs::statat(&self.fd, name, flags) {
            Ok(s) => Ok(Some(to_stat(&s))),
            Err(Errno::NOENT) => Ok(None),
            Err(e) => Err(err(e, || format!("lstat {}", name.to_string_lossy()))),
        }
    }

    pub fn mkdir(&self, name: &OsStr, mode: u32) -> Result<()> {
        rustix::fs::mkdirat(&self.fd, name, Mode::from_raw_mode(mode))
            .map_err(|e| err(e, || format!("mkdir {}", name.to_string_lossy())))
    }

    /// Open child directory `name` (no symlink followed).
    pub fn open_subdir(&self, name: &OsStr) -> Result<Dir> {
        let fd = rustix::fs::openat(&self.fd, name, DIR_FLAGS | OFlags::NOFOLLOW, Mode::empty())
            .map_err(|e| err(e, || format!("open directory {}", name.to_string_lossy())))?;
        Ok(Dir { fd })
    }

    /// Remove `name` (a file, or an empty directory when `dir`).
    pub fn unlink(&self, name: &OsStr, dir: bool) -> Result<()> {
        let flags = if dir {
            AtFlags::REMOVEDIR
        } else {
            AtFlags::empty()
        };
        rustix::fs::unlinkat(&self.fd, name, flags)
            .map_err(|e| err(e, || format!("remove {}", name.to_string_lossy())))
    }

    /// Remove `name` and, if it is a directory, everything below it; never follows symlinks.
    pub fn remove_all(&self, name: &OsStr) -> Result<()> {
        match self.stat(name)? {
            None => Ok(()),
            Some(st) if st.is_dir() => {
                let sub = self.open_subdir(name)?;
                for e in sub.entries()? {
                    sub.remove_all(&e.name)?;
                }
                drop(sub);
                self.unlink(name, true)
            }
            Some(_) => self.unlink(name, false),
        }
    }

    /// Create a new regular file (fails if `name` exists, never follows a symlink).
    pub fn create_file(&self, name: &OsStr, mode: u32) -> Result<File> {
        let flags =
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let fd = rustix::fs::openat(&self.fd, name, flags, Mode::from_raw_mode(mode))
            .map_err(|e| err(e, || format!("create {}", name.to_string_lossy())))?;
        Ok(File::from(fd))
    }

    /// Open an existing regular file `name` for reading (no symlink followed).
    pub fn open_file(&self, name: &OsStr) -> Result<File> {
        let fd = rustix::fs::openat(
            &self.fd,
            name,
            OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| err(e, || format!("open {}", name.to_string_lossy())))?;
        Ok(File::from(fd))
    }

    pub fn symlink(&self, target: &OsStr, name: &OsStr) -> Result<()> {
        rustix::fs::symlinkat(target, &self.fd, name).map_err(|e| {
            err(e, || {
                format!(
                    "symlink {} -> {}",
                    name.to_string_lossy(),
                    target.to_string_lossy()
                )
            })
        })
    }

    /// Hard link `src_dir/src_name` as `name` here (a symlink source is linked, not followed).
    pub fn hardlink(&self, src_dir: &Dir, src_name: &OsStr, name: &OsStr) -> Result<()> {
        rustix::fs::linkat(&src_dir.fd, src_name, &self.fd, name, AtFlags::empty()).map_err(|e| {
            err(e, || {
                format!(
                    "link {} to {}",
                    name.to_string_lossy(),
                    src_name.to_string_lossy()
                )
            })
        })
    }

    pub fn mknod(&self, name: &OsStr, node: Node, perm: u32) -> Result<()> {
        let (ft, dev) = match node {
            Node::Char(a, b) => (FileType::CharacterDevice, rustix::fs::makedev(a, b)),
            Node::Block(a, b) => (FileType::BlockDevice, rustix::fs::makedev(a, b)),
            Node::Fifo => (FileType::Fifo, 0),
        };
        rustix::fs::mknodat(&self.fd, name, ft, Mode::from_raw_mode(perm), dev)
            .map_err(|e| err(e, || format!("mknod {}", name.to_string_lossy())))
    }

    /// lchown; an empty name changes this directory.
    pub fn chown(&self, name: &OsStr, uid: u32, gid: u32) -> Result<()> {
        let flags = if name.is_empty() {
            AtFlags::EMPTY_PATH | AtFlags::SYMLINK_NOFOLLOW
        } else {
            AtFlags::SYMLINK_NOFOLLOW
        };
        rustix::fs::chownat(
            &self.fd,
            name,
            Some(rustix::fs::Uid::from_raw(uid)),
            Some(rustix::fs::Gid::from_raw(gid)),
            flags,
        )
        .map_err(|e| err(e, || format!("chown {}", name.to_string_lossy())))
    }

    /// chmod of a non-symlink; an empty name changes this directory.
    pub fn chmod(&self, name: &OsStr, mode: u32) -> Result<()> {
        let r = if name.is_empty() {
            rustix::fs::fchmod(&self.fd, Mode::from_raw_mode(mode))
        } else {
            rustix::fs::chmodat(&self.fd, name, Mode::from_raw_mode(mode), AtFlags::empty())
        };
        r.map_err(|e| err(e, || format!("chmod {}", name.to_string_lossy())))
    }

    /// Set atime and mtime without following a symlink; an empty name is this directory.
    pub fn set_times(&self, name: &OsStr, atime: (i64, u32), mtime: (i64, u32)) -> Result<()> {
        let ts = rustix::fs::Timestamps {
            last_access: rustix::fs::Timespec {
                tv_sec: atime.0,
                tv_nsec: atime.1 as _,
            },
            last_modification: rustix::fs::Timespec {
                tv_sec: mtime.0,
                tv_nsec: mtime.1 as _,
            },
        };
        let flags = if name.is_empty() {
            AtFlags::EMPTY_PATH | AtFlags::SYMLINK_NOFOLLOW
        } else {
            AtFlags::SYMLINK_NOFOLLOW
        };
        let r = if name.is_empty() {
            rustix::fs::futimens(&self.fd, &ts)
        } else {
            rustix::fs::utimensat(&self.fd, name, &ts, flags)
        };
        r.map_err(|e| err(e, || format!("set times of {}", name.to_string_lossy())))
    }

    /// lsetxattr on `name` (empty: this directory).
    pub fn set_xattr(&self, name: &OsStr, key: &str, value: &[u8]) -> Result<()> {
        let r = if name.is_empty() {
            rustix::fs::fsetxattr(&self.fd, key, value, rustix::fs::XattrFlags::empty())
        } else {
            rustix::fs::lsetxattr(
                self.proc_path(name),
                key,
                value,
                rustix::fs::XattrFlags::empty(),
            )
        };
        r.map_err(|e| {
            err(e, || {
                format!("set xattr {key} on {}", name.to_string_lossy())
            })
        })
    }

    /// lgetxattr (None when absent).
    pub fn get_xattr(&self, name: &OsStr, key: &str) -> Result<Option<Vec<u8>>> {
        let mut buf = vec![0u8; 256];
        loop {
            let r = if name.is_empty() {
                rustix::fs::fgetxattr(&self.fd, key, &mut buf[..])
            } else {
                rustix::fs::lgetxattr(self.proc_path(name), key, &mut buf[..])
            };
            match r {
                Ok(n) => {
                    buf.truncate(n);
                    return Ok(Some(buf));
                }
                Err(Errno::NODATA) | Err(Errno::NOTSUP) => return Ok(None),
                Err(Errno::RANGE) if buf.len() < 1 << 20 => buf.resize(buf.len() * 4, 0),
                Err(e) => {
                    return Err(err(e, || {
                        format!("get xattr {key} of {}", name.to_string_lossy())
                    }))
                }
            }
        }
    }

    /// llistxattr: the attribute names on `name` (empty: this directory).
    pub fn list_xattrs(&self, name: &OsStr) -> Result<Vec<String>> {
        let mut buf = vec![0u8; 1024];
        loop {
            let r = if name.is_empty() {
                rustix::fs::flistxattr(&self.fd, &mut buf[..])
            } else {
                rustix::fs::llistxattr(self.proc_path(name), &mut buf[..])
            };
            match r {
                Ok(n) => {
                    return Ok(buf[..n]
                        .split(|b| *b == 0)
                        .filter(|s| !s.is_empty())
                        .map(|s| String::from_utf8_lossy(s).into_owned())
                        .collect());
                }
                Err(Errno::NOTSUP) => return Ok(Vec::new()),
                Err(Errno::RANGE) if buf.len() < 1 << 20 => buf.resize(buf.len() * 4, 0),
                Err(e) => {
                    return Err(err(e, || {
                        format!("list xattrs of {}", name.to_string_lossy())
                    }))
                }
            }
        }
    }

    pub fn readlink(&self, name: &OsStr) -> Result<OsString> {
        let t = rustix::fs::readlinkat(&self.fd, name, Vec::new())
            .map_err(|e| err(e, || format!("readlink {}", name.to_string_lossy())))?;
        Ok(OsString::from_vec(t.into_bytes()))
    }

    /// Rename `old` here to `new` in `to`; with `noreplace`, fail (EEXIST) rather than replace.
    pub fn rename(&self, old: &OsStr, to: &Dir, new: &OsStr, noreplace: bool) -> Result<()> {
        let flags = if noreplace {
            rustix::fs::RenameFlags::NOREPLACE
        } else {
            rustix::fs::RenameFlags::empty()
        };
        rustix::fs::renameat_with(&self.fd, old, &to.fd, new, flags).map_err(|e| {
            err(e, || {
                format!(
                    "rename {} to {}",
                    old.to_string_lossy(),
                    new.to_string_lossy()
                )
            })
        })
    }

    /// The names in this directory, without `.` and `..`.
    pub fn entries(&self) -> Result<Vec<DirEntry>> {
        let fd = rustix::fs::openat(&self.fd, ".", DIR_FLAGS, Mode::empty())
            .map_err(|e| err(e, || "reopen directory".to_string()))?;
        let dir = rustix::fs::Dir::new(fd).map_err(|e| err(e, || "read directory".to_string()))?;
        let mut out = Vec::new();
        for ent in dir {
            let ent = ent.map_err(|e| err(e, || "read directory".to_string()))?;
            let name = ent.file_name().to_bytes();
            if name == b"." || name == b".." {
                continue;
            }
            let is_dir = match ent.file_type() {
                FileType::Directory => Some(true),
                FileType::Unknown => None,
                _ => Some(false),
            };
            out.push(DirEntry {
                name: OsStr::from_bytes(name).to_os_string(),
                is_dir,
            });
        }
        Ok(out)
    }

    /// fsync the directory (makes creates, renames and unlinks in it durable).
    pub fn sync(&self) -> Result<()> {
        rustix::fs::fsync(&self.fd).map_err(|e| err(e, || "fsync directory".to_string()))
    }

    /// syncfs: flush every dirty page and inode of the filesystem holding this directory.
    pub fn sync_filesystem(&self) -> Result<()> {
        rustix::fs::syncfs(&self.fd).map_err(|e| err(e, || "syncfs".to_string()))
    }
}

fn fd_num(fd: &OwnedFd) -> i32 {
    use rustix::fd::AsRawFd;
    fd.as_raw_fd()
}

/// User-space RESOLVE_IN_ROOT / RESOLVE_BENEATH|NO_SYMLINKS: walk one component at a time with
/// O_NOFOLLOW, keeping the stack of directories so `..` never rises above `root`. Symlinks are
/// expanded (in_root) with a budget of 40, like the kernel, or refused with ELOOP.
fn walk(root: &OwnedFd, rel: &Path, in_root: bool) -> rustix::io::Result<OwnedFd> {
    let mut pending: Vec<OsString> = rel
        .as_os_str()
        .as_bytes()
        .split(|b| *b == b'/')
        .filter(|c| !c.is_empty())
        .rev()
        .map(|c| OsStr::from_bytes(c).to_os_string())
        .collect();
    let mut stack: Vec<OwnedFd> = Vec::new();
    let mut links = 0;
    while let Some(comp) = pending.pop() {
        let cur: &OwnedFd = stack.last().unwrap_or(root);
        match comp.as_bytes() {
            b"." => continue,
            b".." => {
                if !in_root && stack.is_empty() {
                    return Err(Errno::XDEV);
                }
                stack.pop();
                continue;
            }
            _ => {}
        }
        let fd = rustix::fs::openat(
            cur,
            comp.as_os_str(),
            OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        let st = rustix::fs::fstat(&fd)?;
        if FileType::from_raw_mode(st.st_mode) == FileType::Symlink {
            if !in_root {
                return Err(Errno::LOOP);
            }
            links += 1;
            if links > 40 {
                return Err(Errno::LOOP);
            }
            let target = rustix::fs::readlinkat(cur, comp.as_os_str(), Vec::new())?;
            let t = target.as_bytes();
            if t.first() == Some(&b'/') {
                stack.clear();
            }
            for c in t.split(|b| *b == b'/').filter(|c| !c.is_empty()).rev() {
                pending.push(OsStr::from_bytes(c).to_os_string());
            }
            continue;
        }
        if FileType::from_raw_mode(st.st_mode) != FileType::Directory && !pending.is_empty() {
            return Err(Errno::NOTDIR);
        }
        stack.push(fd);
    }
    let last: &OwnedFd = stack.last().unwrap_or(root);
    // Reopen the O_PATH handle as a real directory fd.
    rustix::fs::openat(last, ".", DIR_FLAGS, Mode::empty())
}

/// Start writing a file's dirty pages to disk without waiting (sync_file_range WRITE): a later
/// fsync or syncfs then finds most of the work done. Errors are ignored: this is a hint.
/// `len` 0 means to the end of the file.
pub fn start_writeback(f: &File, offset: u64, len: u64) {
    use std::os::fd::AsRawFd;
    // SAFETY: sync_file_range only reads its integer arguments; the fd is open for the
    // duration of the call (borrowed from `f`).
    let _ = unsafe {
        libc::sync_file_range(
            f.as_raw_fd(),
            offset as libc::off64_t,
            len as libc::off64_t,
            libc::SYNC_FILE_RANGE_WRITE,
        )
    };
}

/// Force the user-space resolver (tests of the fallback path).
pub fn disable_openat2_for_tests(disable: bool) {
    NO_OPENAT2.store(disable, Ordering::Relaxed);
}

/// mount(2) with a data string; `flags_ro` adds MS_RDONLY.
pub fn mount_fs(
    fstype: &str,
    source: &str,
    target: &Path,
    data: &str,
    read_only: bool,
) -> Result<()> {
    let mut flags = rustix::mount::MountFlags::empty();
    if read_only {
        flags |= rustix::mount::MountFlags::RDONLY;
    }
    let data_c =
        std::ffi::CString::new(data).map_err(|_| Error::invalid("mount data contains NUL"))?;
    rustix::mount::mount(source, target, fstype, flags, Some(data_c.as_c_str()))
        .map_err(|e| err(e, || format!("mount {fstype} on {}", target.display())))
}

/// mount(2) performed with `cwd` as the working directory, for option strings with relative
/// paths (overlay lowerdirs that would not fit in a page as absolute paths). Runs on a helper
/// thread that first unshares its filesystem context (CLONE_FS), so chdir cannot affect the
/// rest of the process.
pub fn mount_fs_in(
    cwd: &Path,
    fstype: &str,
    source: &str,
    target: &Path,
    data: &str,
    read_only: bool,
) -> Result<()> {
    let (cwd, fstype, source, target, data) = (
        cwd.to_path_buf(),
        fstype.to_string(),
        source.to_string(),
        target.to_path_buf(),
        data.to_string(),
    );
    let h = std::thread::Builder::new()
        .name("berth-mountfrom".into())
        .spawn(move || -> Result<()> {
            // SAFETY: unshare(CLONE_FS) only detaches this thread's cwd/root/umask from the
            // process's shared fs struct; no memory is shared or freed by it. The thread exits
            // right after the mount, so its private cwd never leaks to other code.
            unsafe { rustix::thread::unshare_unsafe(rustix::thread::UnshareFlags::FS) }
                .map_err(|e| err(e, || "unshare CLONE_FS".to_string()))?;
            rustix::process::chdir(&cwd)
                .map_err(|e| err(e, || format!("chdir {}", cwd.display())))?;
            mount_fs(&fstype, &source, &target, &data, read_only)
        })
        .map_err(|e| Error::from(e).context("spawn mount thread"))?;
    h.join()
        .map_err(|_| Error::internal("mount thread panicked"))?
}

/// Create an overlay mount that is never attached to the tree (fsopen/fsmount) and drop it:
/// proves overlayfs works with these directories without leaving a mount behind, even if the
/// process dies midway. Falls back to mount(2) on `fallback_target` on kernels without the
/// new mount API.
pub fn probe_overlay(
    lower: &Path,
    upper: &Path,
    work: &Path,
    fallback_target: &Path,
) -> Result<()> {
    use rustix::mount::{
        fsconfig_create, fsconfig_set_string, fsmount, fsopen, FsMountFlags, FsOpenFlags,
        MountAttrFlags,
    };
    let what = || "probe overlayfs".to_string();
    let fs = match fsopen("overlay", FsOpenFlags::FSOPEN_CLOEXEC) {
        Ok(fd) => fd,
        Err(Errno::NOSYS) => {
            let data = format!(
                "lowerdir={},upperdir={},workdir={}",
                lower.display(),
                upper.display(),
                work.display()
            );
            mount_fs("overlay", "overlay", fallback_target, &data, false)?;
            return unmount(fallback_target, true);
        }
        Err(e) => return Err(err(e, what)),
    };
    fsconfig_set_string(&fs, "lowerdir", lower)
        .map_err(|e| err(e, || format!("overlay lowerdir {}", lower.display())))?;
    fsconfig_set_string(&fs, "upperdir", upper)
        .map_err(|e| err(e, || format!("overlay upperdir {}", upper.display())))?;
    fsconfig_set_string(&fs, "workdir", work)
        .map_err(|e| err(e, || format!("overlay workdir {}", work.display())))?;
    fsconfig_create(&fs).map_err(|e| err(e, what))?;
    let m = fsmount(&fs, FsMountFlags::FSMOUNT_CLOEXEC, MountAttrFlags::empty())
        .map_err(|e| err(e, what))?;
    drop(m);
    Ok(())
}

/// Bind mount `source` on `target` (recursive), optionally remounted read-only.
pub fn bind_mount(source: &Path, target: &Path, read_only: bool) -> Result<()> {
    rustix::mount::mount_bind_recursive(source, target).map_err(|e| {
        err(e, || {
            format!("bind mount {} on {}", source.display(), target.display())
        })
    })?;
    if read_only {
        let flags = rustix::mount::MountFlags::BIND | rustix::mount::MountFlags::RDONLY;
        rustix::mount::mount_remount(target, flags, "")
            .map_err(|e| err(e, || format!("remount {} read-only", target.display())))?;
    }
    Ok(())
}

/// umount2; `detach` = MNT_DETACH.
pub fn unmount(target: &Path, detach: bool) -> Result<()> {
    let flags = if detach {
        rustix::mount::UnmountFlags::DETACH
    } else {
        rustix::mount::UnmountFlags::empty()
    };
    rustix::mount::unmount(target, flags)
        .map_err(|e| err(e, || format!("unmount {}", target.display())))
}

/// The system page size (the limit of a mount(2) data string).
pub fn page_size() -> usize {
    // SAFETY: sysconf reads a constant of the running system; it has no preconditions.
    let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if n > 0 {
        n as usize
    } else {
        4096
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(name: &str) -> PathBuf {
        let p = std::env::temp_dir().join(format!("berth-fsat-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        p
    }

    #[test]
    fn in_root_resolution_contains_symlinks_and_dotdot() {
        let base = tmp("inroot");
        let root = base.join("root");
        std::fs::create_dir_all(root.join("a/b")).unwrap();
        std::fs::create_dir_all(base.join("outside")).unwrap();
        std::os::unix::fs::symlink("/a", root.join("abs")).unwrap();
        std::os::unix::fs::symlink("../../..", root.join("a/up")).unwrap();
        let d = Dir::open(&root).unwrap();
        for userspace in [false, true] {
            // Only flip the flag for the duration of this check; other tests may use openat2.
            let resolve = |p: &str| {
                if userspace {
                    walk(&d.fd, Path::new(p), true)
                        .map(|fd| Dir { fd })
                        .map_err(|e| err(e, String::new))
                } else {
                    d.open_dir_in_root(Path::new(p))
                }
            };
            let real = |x: Dir| x.real_path().unwrap();
            assert_eq!(real(resolve("abs/b").unwrap()), root.join("a/b"));
            assert_eq!(real(resolve("a/up").unwrap()), root);
            assert_eq!(real(resolve("../../a/..").unwrap()), root);
            assert!(
                resolve("../../outside").is_err(),
                "outside is looked up inside the root"
            );
            assert!(resolve("../outside").is_err(), ".. must stop at the root");
            let beneath = |p: &str| {
                if userspace {
                    walk(&d.fd, Path::new(p), false).map(|_| ())
                } else {
                    d.resolve(Path::new(p), false).map(|_| ())
                }
            };
            assert!(beneath("abs/b").is_err(), "symlinks refused beneath");
            assert!(beneath("..").is_err());
            assert!(beneath("a/b").is_ok());
        }
        std::fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn create_never_follows_and_remove_all_stays_inside() {
        let base = tmp("create");
        std::fs::create_dir_all(base.join("root/d/e")).unwrap();
        std::fs::write(base.join("victim"), b"keep").unwrap();
        std::os::unix::fs::symlink(base.join("victim"), base.join("root/link")).unwrap();
        std::os::unix::fs::symlink(&base, base.join("root/d/e/up")).unwrap();
        let d = Dir::open(&base.join("root")).unwrap();
        assert!(d.create_file(OsStr::new("link"), 0o644).is_err());
        d.remove_all(OsStr::new("d")).unwrap();
        assert_eq!(std::fs::read(base.join("victim")).unwrap(), b"keep");
        assert!(d.stat(OsStr::new("d")).unwrap().is_none());
        std::fs::remove_dir_all(&base).unwrap();
    }
}
