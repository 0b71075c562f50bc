//! Mounts for the container's root filesystem: mount(2), the fd-based mount API (open_tree,
//! move_mount, mount_setattr), pivot_root, openat2 scoped resolution and node creation.
//!
//! Mount targets are always open file descriptors obtained by scoped resolution inside the
//! rootfs (openat2 RESOLVE_IN_ROOT) and mounted on through the fd, never re-resolved by path
//! (CVE-2021-30465: a path can be swapped for a symlink between check and use; an fd cannot).

use crate::base::{Error, Result};
use crate::sys::fd::{c_path, c_str};
use crate::sys::last_error;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::path::Path;

pub const MS_RDONLY: u64 = libc::MS_RDONLY;
pub const MS_NOSUID: u64 = libc::MS_NOSUID;
pub const MS_NODEV: u64 = libc::MS_NODEV;
pub const MS_NOEXEC: u64 = libc::MS_NOEXEC;
pub const MS_SYNCHRONOUS: u64 = libc::MS_SYNCHRONOUS;
pub const MS_REMOUNT: u64 = libc::MS_REMOUNT;
pub const MS_MANDLOCK: u64 = libc::MS_MANDLOCK;
pub const MS_DIRSYNC: u64 = libc::MS_DIRSYNC;
pub const MS_NOATIME: u64 = libc::MS_NOATIME;
pub const MS_NODIRATIME: u64 = libc::MS_NODIRATIME;
pub const MS_BIND: u64 = libc::MS_BIND;
pub const MS_MOVE: u64 = libc::MS_MOVE;
pub const MS_REC: u64 = libc::MS_REC;
pub const MS_SILENT: u64 = libc::MS_SILENT;
pub const MS_UNBINDABLE: u64 = libc::MS_UNBINDABLE;
pub const MS_PRIVATE: u64 = libc::MS_PRIVATE;
pub const MS_SLAVE: u64 = libc::MS_SLAVE;
pub const MS_SHARED: u64 = libc::MS_SHARED;
pub const MS_RELATIME: u64 = libc::MS_RELATIME;
pub const MS_STRICTATIME: u64 = libc::MS_STRICTATIME;
pub const MS_LAZYTIME: u64 = 1 << 25;

pub const MOUNT_ATTR_RDONLY: u64 = 0x1;
pub const MOUNT_ATTR_NOSUID: u64 = 0x2;
pub const MOUNT_ATTR_NODEV: u64 = 0x4;
pub const MOUNT_ATTR_NOEXEC: u64 = 0x8;

#[repr(C)]
struct OpenHow {
    flags: u64,
    mode: u64,
    resolve: u64,
}

#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

const RESOLVE_NO_MAGICLINKS: u64 = 0x02;
const RESOLVE_IN_ROOT: u64 = 0x10;
const OPEN_TREE_CLONE: u32 = 1;
const AT_RECURSIVE: u32 = 0x8000;
const MOVE_MOUNT_F_EMPTY_PATH: u32 = 0x4;
const MOVE_MOUNT_T_EMPTY_PATH: u32 = 0x40;

/// mount(2). `target` may be a /proc/self/fd/N magic link to an fd resolved in the rootfs.
pub fn mount(
    source: Option<&str>,
    target: &Path,
    fstype: Option<&str>,
    flags: u64,
    data: Option<&str>,
) -> Result<()> {
    let src = source.map(c_str).transpose()?;
    let tgt = c_path(target)?;
    let fst = fstype.map(c_str).transpose()?;
    let dat = data.filter(|d| !d.is_empty()).map(c_str).transpose()?;
    // SAFETY: every pointer is a NUL-terminated string or null, alive for the call.
    let r = unsafe {
        libc::mount(
            src.as_ref().map_or(std::ptr::null(), |c| c.as_ptr()),
            tgt.as_ptr(),
            fst.as_ref().map_or(std::ptr::null(), |c| c.as_ptr()),
            flags as libc::c_ulong,
            dat.as_ref().map_or(std::ptr::null(), |c| c.as_ptr().cast()),
        )
    };
    if r < 0 {
        return Err(last_error(format!(
            "mount {} on {} (type {})",
            source.unwrap_or(""),
            target.display(),
            fstype.unwrap_or("")
        )));
    }
    Ok(())
}

pub fn umount_detach(target: &Path) -> Result<()> {
    let t = c_path(target)?;
    // SAFETY: t is a valid path.
    if unsafe { libc::umount2(t.as_ptr(), libc::MNT_DETACH) } < 0 {
        return Err(last_error(format!("umount {}", target.display())));
    }
    Ok(())
}

/// Is `path` (not followed if a symlink) the root of a mount? `None` where the kernel cannot
/// say (statx's STATX_ATTR_MOUNT_ROOT came in Linux 5.8): read mountinfo then. One syscall, where
/// mountinfo costs a line per mount in the namespace (one per running container).
pub fn is_mount_root(path: &Path) -> Option<bool> {
    use rustix::fs::{statx, AtFlags, StatxAttributes, StatxFlags, CWD};
    match statx(
        CWD,
        path,
        AtFlags::SYMLINK_NOFOLLOW | AtFlags::NO_AUTOMOUNT,
        StatxFlags::empty(),
    ) {
        Ok(st) if st.stx_attributes_mask.contains(StatxAttributes::MOUNT_ROOT) => {
            Some(st.stx_attributes.contains(StatxAttributes::MOUNT_ROOT))
        }
        Ok(_) => None,
        Err(rustix::io::Errno::NOENT) | Err(rustix::io::Errno::NOTDIR) => Some(false),
        Err(_) => None,
    }
}

pub fn pivot_root(new_root: &Path, put_old: &Path) -> Result<()> {
    let a = c_path(new_root)?;
    let b = c_path(put_old)?;
    // SAFETY: both are valid paths.
    if unsafe { libc::syscall(libc::SYS_pivot_root, a.as_ptr(), b.as_ptr()) } < 0 {
        return Err(last_error(format!("pivot_root {}", new_root.display())));
    }
    Ok(())
}

pub fn chroot(path: &Path) -> Result<()> {
    let c = c_path(path)?;
    // SAFETY: valid path.
    if unsafe { libc::chroot(c.as_ptr()) } < 0 {
        return Err(last_error(format!("chroot {}", path.display())));
    }
    Ok(())
}

pub fn chdir(path: &Path) -> Result<()> {
    let c = c_path(path)?;
    // SAFETY: valid path.
    if unsafe { libc::chdir(c.as_ptr()) } < 0 {
        return Err(last_error(format!("chdir {}", path.display())));
    }
    Ok(())
}

pub fn fchdir(fd: BorrowedFd<'_>) -> Result<()> {
    // SAFETY: fchdir on an open fd.
    if unsafe { libc::fchdir(fd.as_raw_fd()) } < 0 {
        return Err(last_error("fchdir"));
    }
    Ok(())
}

/// openat2(root, path, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS): `path` is resolved as if
/// `root` were "/": absolute symlinks and ".." stay inside it, whatever the rootfs contains.
pub fn open_in_root(root: BorrowedFd<'_>, path: &Path, flags: i32, mode: u32) -> Result<OwnedFd> {
    let c = c_path(path)?;
    let how = OpenHow {
        flags: (flags | libc::O_CLOEXEC) as u64,
        mode: mode as u64,
        resolve: RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
    };
    loop {
        // SAFETY: c and how are valid for the call; the returned fd is owned below.
        let r = unsafe {
            libc::syscall(
                libc::SYS_openat2,
                root.as_raw_fd(),
                c.as_ptr(),
                &how as *const OpenHow,
                std::mem::size_of::<OpenHow>(),
            )
        };
        if r >= 0 {
            // SAFETY: r is a new fd.
            return Ok(unsafe { OwnedFd::from_raw_fd(r as RawFd) });
        }
        let e = std::io::Error::last_os_error();
        // EAGAIN: a concurrent rename raced the scoped walk; the kernel asks us to retry.
        if e.raw_os_error() != Some(libc::EAGAIN) {
            return Err(
                Error::from(e).context(format!("open {} in the container rootfs", path.display()))
            );
        }
    }
}

/// openat(dir, name) of one component without following a final symlink.
pub fn openat_nofollow(dir: BorrowedFd<'_>, name: &str, flags: i32, mode: u32) -> Result<OwnedFd> {
    let c = c_str(name)?;
    // SAFETY: c valid; returned fd owned below.
    let r = unsafe {
        libc::openat(
            dir.as_raw_fd(),
            c.as_ptr(),
            flags | libc::O_NOFOLLOW | libc::O_CLOEXEC,
            mode,
        )
    };
    if r < 0 {
        return Err(last_error(format!("open {name}")));
    }
    // SAFETY: r is a new fd.
    Ok(unsafe { OwnedFd::from_raw_fd(r) })
}

pub fn mkdirat(dir: BorrowedFd<'_>, name: &str, mode: u32) -> Result<()> {
    let c = c_str(name)?;
    // SAFETY: valid name; dir is open.
    if unsafe { libc::mkdirat(dir.as_raw_fd(), c.as_ptr(), mode) } < 0 {
        return Err(last_error(format!("mkdir {name}")));
    }
    Ok(())
}

pub fn mknodat(dir: BorrowedFd<'_>, name: &str, mode: u32, dev: u64) -> Result<()> {
    let c = c_str(name)?;
    // SAFETY: valid name; dir is open.
    if unsafe { libc::mknodat(dir.as_raw_fd(), c.as_ptr(), mode, dev) } < 0 {
        return Err(last_error(format!("mknod {name}")));
    }
    Ok(())
}

pub fn symlinkat(target: &str, dir: BorrowedFd<'_>, name: &str) -> Result<()> {
    let t = c_str(target)?;
    let n = c_str(name)?;
    // SAFETY: valid strings; dir open.
    if unsafe { libc::symlinkat(t.as_ptr(), dir.as_raw_fd(), n.as_ptr()) } < 0 {
        return Err(last_error(format!("symlink {name} -> {target}")));
    }
    Ok(())
}

pub fn fchownat(dir: BorrowedFd<'_>, name: &str, uid: u32, gid: u32) -> Result<()> {
    let n = c_str(name)?;
    // SAFETY: valid name; dir open; do not follow a symlink.
    if unsafe {
        libc::fchownat(
            dir.as_raw_fd(),
            n.as_ptr(),
            uid,
            gid,
            libc::AT_SYMLINK_NOFOLLOW,
        )
    } < 0
    {
        return Err(last_error(format!("chown {name}")));
    }
    Ok(())
}

pub fn fchmod(fd: BorrowedFd<'_>, mode: u32) -> Result<()> {
    // SAFETY: fchmod on an open fd.
    if unsafe { libc::fchmod(fd.as_raw_fd(), mode) } < 0 {
        return Err(last_error("fchmod"));
    }
    Ok(())
}

/// A detached copy of the mount (tree) at `fd` (or at `path` relative to it): open_tree(2)
/// with OPEN_TREE_CLONE. Attach it with `move_mount_to`.
pub fn clone_tree(dir: BorrowedFd<'_>, path: &str, recursive: bool) -> Result<OwnedFd> {
    let c = c_str(path)?;
    let mut flags = OPEN_TREE_CLONE | libc::O_CLOEXEC as u32;
    if recursive {
        flags |= AT_RECURSIVE;
    }
    if path.is_empty() {
        flags |= libc::AT_EMPTY_PATH as u32;
    }
    // SAFETY: c valid; the returned fd is owned below.
    let r = unsafe { libc::syscall(libc::SYS_open_tree, dir.as_raw_fd(), c.as_ptr(), flags) };
    if r < 0 {
        return Err(last_error(format!("open_tree {path}")));
    }
    // SAFETY: r is a new fd.
    Ok(unsafe { OwnedFd::from_raw_fd(r as RawFd) })
}

/// A detached bind mount of the file or directory at `path` (absolute, resolved normally).
pub fn clone_path(path: &Path, recursive: bool) -> Result<OwnedFd> {
    let s = path
        .to_str()
        .ok_or_else(|| Error::invalid(format!("path {} is not UTF-8", path.display())))?;
    // SAFETY: AT_FDCWD is a valid pseudo-fd for the lifetime of the call.
    let cwd = unsafe { BorrowedFd::borrow_raw(libc::AT_FDCWD) };
    clone_tree(cwd, s, recursive).map_err(|e| e.context(format!("bind {}", path.display())))
}

/// Attach the detached mount `from` onto the object behind `to` (both fds).
pub fn move_mount_to(from: BorrowedFd<'_>, to: BorrowedFd<'_>) -> Result<()> {
    let empty = c"";
    // SAFETY: fds are open, the empty path is NUL-terminated.
    let r = unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            from.as_raw_fd(),
            empty.as_ptr(),
            to.as_raw_fd(),
            empty.as_ptr(),
            MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH,
        )
    };
    if r < 0 {
        return Err(last_error("move_mount"));
    }
    Ok(())
}

/// mount_setattr(2) on the mount at `fd`: set/clear MOUNT_ATTR_* (and recursively).
pub fn set_mount_attr(fd: BorrowedFd<'_>, set: u64, clear: u64, recursive: bool) -> Result<()> {
    let attr = MountAttr {
        attr_set: set,
        attr_clr: clear,
        propagation: 0,
        userns_fd: 0,
    };
    let mut flags = libc::AT_EMPTY_PATH as u32;
    if recursive {
        flags |= AT_RECURSIVE;
    }
    let empty = c"";
    // SAFETY: attr is a valid mount_attr of the size passed; fd is open.
    let r = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            fd.as_raw_fd(),
            empty.as_ptr(),
            flags,
            &attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    };
    if r < 0 {
        return Err(last_error("mount_setattr"));
    }
    Ok(())
}

/// The /proc/self/fd/N path of an fd, for mount(2) calls that need a path.
pub fn fd_path(fd: BorrowedFd<'_>) -> std::path::PathBuf {
    std::path::PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()))
}

/// The mount flags of the filesystem an fd lives on (statfs f_flags: ST_* = MS_* bits).
pub fn mount_flags(fd: BorrowedFd<'_>) -> Result<u64> {
    // SAFETY: zeroed statvfs is a valid out-parameter.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: fd open; st writable.
    if unsafe { libc::fstatvfs(fd.as_raw_fd(), &mut st) } < 0 {
        return Err(last_error("fstatvfs"));
    }
    Ok(st.f_flag as u64)
}

pub fn unlinkat(dir: BorrowedFd<'_>, name: &str, is_dir: bool) -> Result<()> {
    let n = c_str(name)?;
    let flags = if is_dir { libc::AT_REMOVEDIR } else { 0 };
    // SAFETY: valid name; dir open.
    if unsafe { libc::unlinkat(dir.as_raw_fd(), n.as_ptr(), flags) } < 0 {
        return Err(last_error(format!("remove {name}")));
    }
    Ok(())
}

pub fn fchmodat(dir: BorrowedFd<'_>, name: &str, mode: u32) -> Result<()> {
    let n = c_str(name)?;
    // SAFETY: valid name; dir open. Callers pass names they just created (never a symlink).
    if unsafe { libc::fchmodat(dir.as_raw_fd(), n.as_ptr(), mode, 0) } < 0 {
        return Err(last_error(format!("chmod {name}")));
    }
    Ok(())
}

/// fstatat(dir, name, AT_SYMLINK_NOFOLLOW): (mode, rdev), None when absent.
pub fn lstatat(dir: BorrowedFd<'_>, name: &str) -> Result<Option<(u32, u64)>> {
    let n = c_str(name)?;
    // SAFETY: zeroed stat is a valid out-parameter.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: valid name; dir open; st writable.
    if unsafe {
        libc::fstatat(
            dir.as_raw_fd(),
            n.as_ptr(),
            &mut st,
            libc::AT_SYMLINK_NOFOLLOW | libc::AT_EMPTY_PATH,
        )
    } < 0
    {
        let e = std::io::Error::last_os_error();
        if e.raw_os_error() == Some(libc::ENOENT) {
            return Ok(None);
        }
        return Err(Error::from(e).context(format!("stat {name}")));
    }
    Ok(Some((st.st_mode, st.st_rdev)))
}

/// A new, detached mount of a filesystem through the fd-based API (fsopen, fsconfig, fsmount),
/// with MOUNT_ATTR_* `attrs`; attach it with `move_mount_to`.
pub fn new_fs_mount(fstype: &str, params: &[(&str, Option<&str>)], attrs: u64) -> Result<OwnedFd> {
    const FSOPEN_CLOEXEC: u32 = 1;
    const FSCONFIG_SET_FLAG: u32 = 0;
    const FSCONFIG_SET_STRING: u32 = 1;
    const FSCONFIG_CMD_CREATE: u32 = 6;
    const FSMOUNT_CLOEXEC: u32 = 1;
    let t = c_str(fstype)?;
    // SAFETY: t valid; the returned fd is owned below.
    let r = unsafe { libc::syscall(libc::SYS_fsopen, t.as_ptr(), FSOPEN_CLOEXEC) };
    if r < 0 {
        return Err(last_error(format!("fsopen {fstype}")));
    }
    // SAFETY: r is a new fd.
    let fs = unsafe { OwnedFd::from_raw_fd(r as RawFd) };
    for (k, v) in params {
        let kc = c_str(k)?;
        let vc = v.map(c_str).transpose()?;
        let (cmd, vp) = match &vc {
            Some(c) => (FSCONFIG_SET_STRING, c.as_ptr()),
            None => (FSCONFIG_SET_FLAG, std::ptr::null()),
        };
        // SAFETY: key and value are valid C strings (or null for a flag).
        if unsafe { libc::syscall(libc::SYS_fsconfig, fs.as_raw_fd(), cmd, kc.as_ptr(), vp, 0) } < 0
        {
            return Err(last_error(format!("fsconfig {fstype} {k}")));
        }
    }
    // SAFETY: fsconfig CMD_CREATE takes no key/value.
    if unsafe {
        libc::syscall(
            libc::SYS_fsconfig,
            fs.as_raw_fd(),
            FSCONFIG_CMD_CREATE,
            std::ptr::null::<u8>(),
            std::ptr::null::<u8>(),
            0,
        )
    } < 0
    {
        return Err(last_error(format!("create {fstype} filesystem")));
    }
    // SAFETY: fsmount returns a new mount fd.
    let m = unsafe { libc::syscall(libc::SYS_fsmount, fs.as_raw_fd(), FSMOUNT_CLOEXEC, attrs) };
    if m < 0 {
        return Err(last_error(format!("fsmount {fstype}")));
    }
    // SAFETY: m is a new fd.
    Ok(unsafe { OwnedFd::from_raw_fd(m as RawFd) })
}

/// readlinkat(dir, name): the target of a symlink.
pub fn readlinkat(dir: BorrowedFd<'_>, name: &str) -> Result<String> {
    let n = c_str(name)?;
    let mut buf = vec![0u8; 4096];
    // SAFETY: buf is writable for its length; valid name; dir open.
    let r = unsafe {
        libc::readlinkat(
            dir.as_raw_fd(),
            n.as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    };
    if r < 0 {
        return Err(last_error(format!("readlink {name}")));
    }
    buf.truncate(r as usize);
    String::from_utf8(buf).map_err(|_| Error::invalid(format!("symlink {name} is not UTF-8")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mount_roots_agree_with_mountinfo() {
        let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
        let points: Vec<&str> = info.lines().filter_map(|l| l.split(' ').nth(4)).collect();
        // Every listed mount point that is a plain path is a mount root (or the kernel cannot say).
        for p in points.iter().filter(|p| !p.contains('\\')) {
            assert_ne!(is_mount_root(Path::new(p)), Some(false), "{p}");
        }
        assert_ne!(is_mount_root(Path::new("/proc")), Some(false));
        assert_eq!(is_mount_root(Path::new("/no/such/path")), Some(false));
        // A directory below a mount that is not listed is not a mount root.
        let d = std::env::temp_dir().join(format!("berth-mr-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        let listed = points.iter().any(|p| Path::new(p) == d);
        if !listed {
            assert_ne!(is_mount_root(&d), Some(true));
        }
        std::fs::remove_dir(&d).unwrap();
    }
}
