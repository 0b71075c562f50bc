//! The container's root filesystem: mounts, /dev, pivot_root, read-only root, masked and
//! read-only paths.
//!
//! Every destination is resolved inside the rootfs with openat2(RESOLVE_IN_ROOT) and mounted
//! on through that fd (CVE-2021-30465: a symlink in the rootfs, even one swapped in while we
//! work, can only ever point somewhere inside the rootfs).

use crate::base::{Error, Result};
use crate::oci::runtime::{Device, Mount, Spec};
use crate::sys::fd::{
    self as sfd, O_CREAT, O_DIRECTORY, O_EXCL, O_NOFOLLOW, O_PATH, O_WRONLY, S_IFCHR, S_IFDIR,
    S_IFLNK, S_IFMT,
};
use crate::sys::mount::{self as sm, *};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Component, Path, PathBuf};

/// Mount options split the way mount(2) wants them.
#[derive(Debug, Default, PartialEq)]
pub struct Options {
    pub flags: u64,
    pub clear: u64,
    pub propagation: Vec<u64>,
    pub data: Vec<String>,
    pub bind: bool,
    pub recursive: bool,
    /// Attributes applied recursively (`rro`, `rnosuid`, ...), as MOUNT_ATTR_* bits.
    pub rec_attrs: u64,
}

pub fn parse_options(opts: &[String]) -> Options {
    let mut o = Options::default();
    for opt in opts {
        let (set, clr): (u64, u64) = match opt.as_str() {
            "defaults" => (0, 0),
            "ro" => (MS_RDONLY, 0),
            "rw" => (0, MS_RDONLY),
            "suid" => (0, MS_NOSUID),
            "nosuid" => (MS_NOSUID, 0),
            "dev" => (0, MS_NODEV),
            "nodev" => (MS_NODEV, 0),
            "exec" => (0, MS_NOEXEC),
            "noexec" => (MS_NOEXEC, 0),
            "sync" => (MS_SYNCHRONOUS, 0),
            "async" => (0, MS_SYNCHRONOUS),
            "dirsync" => (MS_DIRSYNC, 0),
            "remount" => (MS_REMOUNT, 0),
            "mand" => (MS_MANDLOCK, 0),
            "nomand" => (0, MS_MANDLOCK),
            "atime" => (0, MS_NOATIME),
            "noatime" => (MS_NOATIME, 0),
            "diratime" => (0, MS_NODIRATIME),
            "nodiratime" => (MS_NODIRATIME, 0),
            "relatime" => (MS_RELATIME, 0),
            "norelatime" => (0, MS_RELATIME),
            "strictatime" => (MS_STRICTATIME, 0),
            "nostrictatime" => (0, MS_STRICTATIME),
            "lazytime" => (MS_LAZYTIME, 0),
            "nolazytime" => (0, MS_LAZYTIME),
            "silent" => (MS_SILENT, 0),
            "loud" => (0, MS_SILENT),
            "bind" => {
                o.bind = true;
                (0, 0)
            }
            "rbind" => {
                o.bind = true;
                o.recursive = true;
                (0, 0)
            }
            "private" | "rprivate" | "shared" | "rshared" | "slave" | "rslave" | "unbindable"
            | "runbindable" => {
                o.propagation.push(propagation(opt).unwrap_or(0));
                (0, 0)
            }
            "rro" => {
                o.rec_attrs |= MOUNT_ATTR_RDONLY;
                (0, 0)
            }
            "rnosuid" => {
                o.rec_attrs |= MOUNT_ATTR_NOSUID;
                (0, 0)
            }
            "rnodev" => {
                o.rec_attrs |= MOUNT_ATTR_NODEV;
                (0, 0)
            }
            "rnoexec" => {
                o.rec_attrs |= MOUNT_ATTR_NOEXEC;
                (0, 0)
            }
            "tmpcopyup" | "rrw" | "rsuid" | "rdev" | "rexec" => (0, 0),
            other => {
                o.data.push(other.to_string());
                (0, 0)
            }
        };
        o.flags = (o.flags | set) & !clr;
        o.clear |= clr;
    }
    o
}

/// A propagation name → mount(2) flags.
pub fn propagation(name: &str) -> Option<u64> {
    Some(match name {
        "private" => MS_PRIVATE,
        "rprivate" => MS_PRIVATE | MS_REC,
        "shared" => MS_SHARED,
        "rshared" => MS_SHARED | MS_REC,
        "slave" => MS_SLAVE,
        "rslave" => MS_SLAVE | MS_REC,
        "unbindable" => MS_UNBINDABLE,
        "runbindable" => MS_UNBINDABLE | MS_REC,
        _ => return None,
    })
}

/// The MOUNT_ATTR_* equivalent of a bind mount's flags (for mount_setattr on the clone).
fn attrs_of(flags: u64) -> (u64, u64) {
    let mut set = 0;
    let mut clr = 0;
    if flags & MS_RDONLY != 0 {
        set |= MOUNT_ATTR_RDONLY;
    }
    if flags & MS_NOSUID != 0 {
        set |= MOUNT_ATTR_NOSUID;
    }
    if flags & MS_NODEV != 0 {
        set |= MOUNT_ATTR_NODEV;
    }
    if flags & MS_NOEXEC != 0 {
        set |= MOUNT_ATTR_NOEXEC;
    }
    const ATIME_MASK: u64 = 0x70;
    if flags & MS_NOATIME != 0 {
        set |= 0x10;
        clr |= ATIME_MASK;
    } else if flags & MS_STRICTATIME != 0 {
        set |= 0x20;
        clr |= ATIME_MASK;
    } else if flags & MS_RELATIME != 0 {
        clr |= ATIME_MASK;
    }
    if flags & MS_NODIRATIME != 0 {
        set |= 0x80;
    }
    (set, clr)
}

/// `/a/../b//c` → `b/c`: the destination as a relative path, lexically cleaned (".." cannot
/// climb above the root; openat2 enforces the same for symlinks).
pub fn clean_relative(dest: &str) -> PathBuf {
    let mut out: Vec<&str> = Vec::new();
    for c in Path::new(dest).components() {
        match c {
            Component::Normal(s) => out.push(s.to_str().unwrap_or("")),
            Component::ParentDir => {
                out.pop();
            }
            _ => {}
        }
    }
    out.iter().collect()
}

fn is_enoent(e: &Error) -> bool {
    e.errno() == Some(2)
}

/// Open `rel` (a cleaned relative path) inside the rootfs, O_PATH.
fn open_in(root: BorrowedFd<'_>, rel: &Path) -> Result<OwnedFd> {
    let p = if rel.as_os_str().is_empty() {
        Path::new(".")
    } else {
        rel
    };
    sm::open_in_root(root, p, O_PATH, 0)
}

/// mkdir -p inside the rootfs, walking by fds: each component is opened with O_NOFOLLOW from
/// its parent's fd; a symlink is read and followed by hand with the rootfs as "/", and ".."
/// never climbs above it. A symlink swapped in mid-walk makes the O_NOFOLLOW open fail.
pub fn mkdir_all_in(root: BorrowedFd<'_>, rel: &Path) -> Result<OwnedFd> {
    let mut todo: std::collections::VecDeque<String> = components(rel)?;
    let mut stack: Vec<OwnedFd> = vec![open_in(root, Path::new(""))?];
    let mut links = 0;
    while let Some(c) = todo.pop_front() {
        if c == ".." {
            if stack.len() > 1 {
                stack.pop();
            }
            continue;
        }
        let cur = stack
            .last()
            .map(|f| f.as_fd())
            .ok_or_else(|| Error::internal("empty walk"))?;
        match sm::lstatat(cur, &c)? {
            None => {
                match sm::mkdirat(cur, &c, 0o755) {
                    Ok(()) => {}
                    Err(e) if e.errno() == Some(17) => {}
                    Err(e) => {
                        return Err(
                            e.context(format!("mkdir {} in the container rootfs", rel.display()))
                        )
                    }
                }
                todo.push_front(c);
            }
            Some((mode, _)) if mode & S_IFMT == S_IFLNK => {
                links += 1;
                if links > 40 {
                    return Err(Error::from_errno(
                        40,
                        format!("resolve {} in the container rootfs", rel.display()),
                    ));
                }
                let target = sm::readlinkat(cur, &c)?;
                if target.starts_with('/') {
                    stack.truncate(1);
                }
                for (i, t) in components(Path::new(&target))?.into_iter().enumerate() {
                    todo.insert(i, t);
                }
            }
            Some((mode, _)) if mode & S_IFMT == S_IFDIR => {
                let fd = sm::openat_nofollow(cur, &c, O_PATH | O_DIRECTORY, 0).map_err(|e| {
                    e.context(format!("walk {} in the container rootfs", rel.display()))
                })?;
                stack.push(fd);
            }
            Some(_) => {
                return Err(Error::from_errno(
                    20,
                    format!("mkdir {} in the container rootfs", rel.display()),
                ))
            }
        }
    }
    stack.pop().ok_or_else(|| Error::internal("empty walk"))
}

fn components(p: &Path) -> Result<std::collections::VecDeque<String>> {
    let mut v = std::collections::VecDeque::new();
    for c in p.components() {
        match c {
            Component::Normal(s) => v.push_back(
                s.to_str()
                    .ok_or_else(|| Error::invalid(format!("path {} is not UTF-8", p.display())))?
                    .to_string(),
            ),
            Component::ParentDir => v.push_back("..".into()),
            _ => {}
        }
    }
    Ok(v)
}

/// The destination of a mount, created if missing (a directory, or an empty file when the
/// source is a file), as an O_PATH fd inside the rootfs.
pub fn ensure_in(root: BorrowedFd<'_>, rel: &Path, dir: bool) -> Result<OwnedFd> {
    match open_in(root, rel) {
        Ok(fd) => return Ok(fd),
        Err(e) if !is_enoent(&e) => return Err(e),
        Err(_) => {}
    }
    if dir {
        return mkdir_all_in(root, rel);
    }
    let parent = rel.parent().unwrap_or(Path::new(""));
    let name = rel
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| Error::invalid(format!("bad mount destination {}", rel.display())))?;
    let pfd = mkdir_all_in(root, parent)?;
    match sm::openat_nofollow(pfd.as_fd(), name, O_CREAT | O_EXCL | O_WRONLY, 0o644) {
        Ok(_) => {}
        Err(e) if e.errno() == Some(17) => {}
        Err(e) => return Err(e),
    }
    sm::openat_nofollow(pfd.as_fd(), name, O_PATH, 0)
}

/// What the init needs after `prepare`.
pub struct Prepared {
    /// The rootfs directory.
    pub root: OwnedFd,
    /// The host's /dev/null, verified as the 1:3 char device, for masking files.
    pub dev_null: OwnedFd,
}

pub struct Context<'a> {
    pub rootfs: &'a Path,
    pub bundle: &'a Path,
    pub spec: &'a Spec,
    pub userns: bool,
    pub cgroupns: bool,
}

/// Waits until the init is in the container's cgroup (and its cgroup namespace, if any);
/// returns /proc/self/cgroup as read before that namespace was made (full paths).
pub type CgroupReady<'b> = &'b mut dyn FnMut() -> Result<String>;

/// Mount everything below the rootfs (still in the runtime's root, before pivot_root).
pub fn prepare(cx: &Context<'_>, cgroup: CgroupReady<'_>) -> Result<Prepared> {
    let linux = cx.spec.linux.as_ref();
    // Propagation first: nothing mounted below may propagate back to the host's mounts.
    let prop = match linux
        .and_then(|l| l.rootfs_propagation.as_deref())
        .filter(|p| !p.is_empty())
    {
        None => MS_SLAVE | MS_REC,
        Some(p) => propagation(p).ok_or_else(|| {
            Error::invalid(format!("rootfsPropagation {p:?} is not a propagation type"))
        })?,
    };
    sm::mount(None, Path::new("/"), None, prop, None)
        .map_err(|e| e.context("set the propagation of /"))?;
    if prop & MS_SHARED != 0 {
        // pivot_root refuses a new root whose parent mount is shared.
        make_parent_private(cx.rootfs)?;
    }
    // pivot_root needs the new root to be a mount point.
    let rootfs_str = cx
        .rootfs
        .to_str()
        .ok_or_else(|| Error::invalid("rootfs path is not UTF-8"))?;
    sm::mount(Some(rootfs_str), cx.rootfs, None, MS_BIND | MS_REC, None)
        .map_err(|e| e.context("bind the rootfs onto itself"))?;
    let root = sfd::open(cx.rootfs, O_PATH | O_DIRECTORY, 0)?;

    // The host's /dev/null, checked now: masking binds it over files, and a /dev/null the
    // container controls could be a symlink to something worse (CVE-2025-31133).
    let dev_null = sfd::open(Path::new("/dev/null"), O_PATH | O_NOFOLLOW, 0)?;
    let (_, _, mode, rdev) = sfd::fstat(dev_null.as_fd())?;
    if mode & S_IFMT != S_IFCHR || sfd::major(rdev) != 1 || sfd::minor(rdev) != 3 {
        return Err(Error::internal("/dev/null is not the null device"));
    }

    let mut dev_bound = false;
    for m in &cx.spec.mounts {
        mount_one(cx, root.as_fd(), m, &mut *cgroup).map_err(|e| {
            e.context(format!(
                "error mounting {:?} to rootfs at {:?}",
                m.source.as_deref().unwrap_or(""),
                m.destination
            ))
        })?;
        if clean_relative(&m.destination) == Path::new("dev") && parse_options(&m.options).bind {
            dev_bound = true;
        }
    }
    if !dev_bound {
        create_devices(
            root.as_fd(),
            linux.map(|l| l.devices.as_slice()).unwrap_or(&[]),
            cx.userns,
        )?;
    }
    Ok(Prepared { root, dev_null })
}

fn make_parent_private(rootfs: &Path) -> Result<()> {
    let info = std::fs::read_to_string("/proc/self/mountinfo")?;
    let mut best: Option<PathBuf> = None;
    for l in info.lines() {
        let Some(mp) = l.split(' ').nth(4) else {
            continue;
        };
        let mp = PathBuf::from(unescape(mp));
        if rootfs.starts_with(&mp)
            && best
                .as_ref()
                .is_none_or(|b| mp.as_os_str().len() > b.as_os_str().len())
        {
            best = Some(mp);
        }
    }
    let mp = best.unwrap_or_else(|| PathBuf::from("/"));
    sm::mount(None, &mp, None, MS_PRIVATE, None)
        .map_err(|e| e.context("make the rootfs parent mount private"))
}

fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len() + 0
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            out.push((b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0'));
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn mount_one(
    cx: &Context<'_>,
    root: BorrowedFd<'_>,
    m: &Mount,
    cgroup: CgroupReady<'_>,
) -> Result<()> {
    let o = parse_options(&m.options);
    let kind = m.kind.as_deref().unwrap_or("");
    let rel = clean_relative(&m.destination);
    if rel.as_os_str().is_empty() {
        return Err(Error::invalid("cannot mount over the container's root"));
    }
    if kind == "proc" || kind == "sysfs" {
        refuse_symlinked_destination(root, &rel, kind)?;
    }
    if o.bind || kind == "bind" {
        return bind_mount(cx, root, m, &rel, &o);
    }
    if kind == "cgroup" || kind == "cgroup2" {
        // A cgroup filesystem shows the cgroup (namespace) of whoever mounts it.
        let paths = cgroup()?;
        if kind == "cgroup" {
            return mount_cgroup(cx, root, &rel, &o, &paths);
        }
    }
    let target = ensure_in(root, &rel, true)?;
    let data = o.data.join(",");
    let src = m.source.as_deref().unwrap_or(kind);
    let fs = if kind.is_empty() { None } else { Some(kind) };
    match sm::mount(
        Some(src),
        &fd_path(target.as_fd()),
        fs,
        o.flags,
        Some(&data),
    ) {
        Ok(()) => {}
        Err(e) if kind == "sysfs" && e.errno() == Some(1) => {
            // A user namespace without its own network namespace may not mount sysfs: bind
            // the host's read-only instead, as runc does.
            let mut ro = m.clone();
            ro.options = vec![
                "rbind".into(),
                "nosuid".into(),
                "noexec".into(),
                "nodev".into(),
                "ro".into(),
            ];
            ro.source = Some("/sys".into());
            return bind_mount(cx, root, &ro, &rel, &parse_options(&ro.options));
        }
        Err(e) => return Err(e),
    }
    apply_propagation(root, &rel, &o)
}

/// CVE-2019-19921 class: /proc and /sys must be real directories in the rootfs, not symlinks
/// that would put procfs somewhere else while something else answers at /proc.
fn refuse_symlinked_destination(root: BorrowedFd<'_>, rel: &Path, kind: &str) -> Result<()> {
    let parent = rel.parent().unwrap_or(Path::new(""));
    let name = rel.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let pfd = match open_in(root, parent) {
        Ok(f) => f,
        Err(e) if is_enoent(&e) => return Ok(()),
        Err(e) => return Err(e),
    };
    match sm::lstatat(pfd.as_fd(), name)? {
        Some((mode, _)) if mode & S_IFMT != S_IFDIR => Err(Error::invalid(format!(
            "filesystem {kind:?} must be mounted on ordinary directory"
        ))),
        _ => Ok(()),
    }
}

fn bind_mount(
    cx: &Context<'_>,
    root: BorrowedFd<'_>,
    m: &Mount,
    rel: &Path,
    o: &Options,
) -> Result<()> {
    let src = m
        .source
        .as_deref()
        .ok_or_else(|| Error::invalid("bind mount without a source"))?;
    let src = if Path::new(src).is_absolute() {
        PathBuf::from(src)
    } else {
        cx.bundle.join(src)
    };
    let meta = std::fs::metadata(&src)
        .map_err(|e| Error::from(e).context(format!("stat {}", src.display())))?;
    // Clone the source as a detached mount, set its flags while nobody can see it, then attach
    // it onto the destination fd: no window where the bind is writable, no path re-resolution.
    let clone = sm::clone_path(&src, o.recursive)?;
    let (set, clr) = attrs_of(o.flags);
    if set != 0 || clr != 0 {
        sm::set_mount_attr(clone.as_fd(), set, clr, false)
            .map_err(|e| e.context(format!("set the flags of the bind of {}", src.display())))?;
    }
    if o.rec_attrs != 0 {
        sm::set_mount_attr(clone.as_fd(), o.rec_attrs, 0, true)?;
    }
    let target = ensure_in(root, rel, meta.is_dir())?;
    sm::move_mount_to(clone.as_fd(), target.as_fd())?;
    apply_propagation(root, rel, o)
}

fn apply_propagation(root: BorrowedFd<'_>, rel: &Path, o: &Options) -> Result<()> {
    if o.propagation.is_empty() {
        return Ok(());
    }
    // Re-open: the fd used to mount refers to the covered directory, not the new mount.
    let fd = open_in(root, rel)?;
    for &p in &o.propagation {
        sm::mount(None, &fd_path(fd.as_fd()), None, p, None)?;
    }
    Ok(())
}

/// `type: cgroup`: on a v1 or hybrid host, a read-only-able tmpfs with one mount per
/// hierarchy (a fresh cgroup mount inside a cgroup namespace, where it shows the container's
/// cgroup as its root; otherwise a bind of the container's own cgroup directory); on a pure v2
/// host, cgroup2 itself.
fn mount_cgroup(
    cx: &Context<'_>,
    root: BorrowedFd<'_>,
    rel: &Path,
    o: &Options,
    cgroup_paths: &str,
) -> Result<()> {
    let info = crate::runtime::cgroups::cgroup_mountinfo()?;
    let mut hier: Vec<(String, String, String, String)> = Vec::new(); // (mountpoint, fstype, superopts, mount root)
    for l in info.lines() {
        let Some((pre, post)) = l.split_once(" - ") else {
            continue;
        };
        let pf: Vec<&str> = pre.split(' ').collect();
        let qf: Vec<&str> = post.split(' ').collect();
        if pf.len() < 5 || qf.len() < 3 {
            continue;
        }
        if qf[0] == "cgroup" || qf[0] == "cgroup2" {
            hier.push((
                unescape(pf[4]),
                qf[0].to_string(),
                qf[2].to_string(),
                unescape(pf[3]),
            ));
        }
    }
    let flags = o.flags & (MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RELATIME | MS_RDONLY);
    let v2_only = hier.iter().all(|h| h.1 == "cgroup2") && !hier.is_empty();
    if v2_only {
        let target = ensure_in(root, rel, true)?;
        if cx.cgroupns {
            return sm::mount(
                Some("cgroup2"),
                &fd_path(target.as_fd()),
                Some("cgroup2"),
                flags,
                None,
            );
        }
        let own = own_cgroup(cgroup_paths, "");
        let src = Path::new(&hier[0].0).join(own.trim_start_matches('/'));
        let clone = sm::clone_path(&src, false)?;
        let (set, _) = attrs_of(flags);
        sm::set_mount_attr(clone.as_fd(), set, 0, false)?;
        return sm::move_mount_to(clone.as_fd(), target.as_fd());
    }
    let target = ensure_in(root, rel, true)?;
    sm::mount(
        Some("tmpfs"),
        &fd_path(target.as_fd()),
        Some("tmpfs"),
        flags & !MS_RDONLY,
        Some("mode=755"),
    )?;
    for (mp, fstype, superopts, mroot) in &hier {
        let Some(name) = Path::new(mp).file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let sub = rel.join(name);
        let t = ensure_in(root, &sub, true)?;
        let controllers: Vec<&str> = superopts
            .split(',')
            .filter(|s| *s != "rw" && *s != "ro")
            .collect();
        let key = if fstype == "cgroup2" {
            ""
        } else {
            controllers
                .iter()
                .find(|c| !c.starts_with("name="))
                .copied()
                .unwrap_or(controllers.first().copied().unwrap_or(""))
        };
        let key = if fstype == "cgroup" && key.is_empty() {
            controllers.first().copied().unwrap_or("")
        } else {
            key
        };
        if cx.cgroupns && !cx.userns {
            let data = if fstype == "cgroup" {
                controllers.join(",")
            } else {
                String::new()
            };
            sm::mount(
                Some("cgroup"),
                &fd_path(t.as_fd()),
                Some(fstype),
                flags,
                Some(&data),
            )?;
        } else {
            let own = own_cgroup(cgroup_paths, if fstype == "cgroup2" { "" } else { key });
            let rel_own = own.strip_prefix(mroot.as_str()).unwrap_or(&own);
            let src = Path::new(mp).join(rel_own.trim_start_matches('/'));
            let clone = sm::clone_path(&src, false)?;
            let (set, _) = attrs_of(flags);
            sm::set_mount_attr(clone.as_fd(), set, 0, false)?;
            sm::move_mount_to(clone.as_fd(), t.as_fd())?;
        }
        // Co-mounted controllers ("cpu,cpuacct") get a symlink per controller, as on the host.
        if name.contains(',') {
            let dir = open_in(root, rel)?;
            for c in name.split(',') {
                let _ = sm::symlinkat(name, dir.as_fd(), c);
            }
        }
    }
    if o.flags & MS_RDONLY != 0 {
        let fd = open_in(root, rel)?;
        sm::set_mount_attr(fd.as_fd(), MOUNT_ATTR_RDONLY, 0, false)?;
    }
    Ok(())
}

/// The cgroup path of this process for `controller` ("" = the v2 line) from /proc/self/cgroup.
fn own_cgroup(text: &str, controller: &str) -> String {
    for l in text.lines() {
        let mut f = l.splitn(3, ':');
        let (_, ctrls, path) = (f.next(), f.next().unwrap_or(""), f.next().unwrap_or("/"));
        let hit = if controller.is_empty() {
            ctrls.is_empty()
        } else {
            ctrls.split(',').any(|c| c == controller)
        };
        if hit {
            return path.to_string();
        }
    }
    "/".into()
}

const DEFAULT_DEVICES: &[(&str, u64, u64)] = &[
    ("/dev/null", 1, 3),
    ("/dev/zero", 1, 5),
    ("/dev/full", 1, 7),
    ("/dev/random", 1, 8),
    ("/dev/urandom", 1, 9),
    ("/dev/tty", 5, 0),
];

/// /dev: runc's default nodes, the config's devices, the usual symlinks and ptmx.
fn create_devices(root: BorrowedFd<'_>, devices: &[Device], userns: bool) -> Result<()> {
    let dev = mkdir_all_in(root, Path::new("dev"))?;
    for &(path, major, minor) in DEFAULT_DEVICES {
        if devices
            .iter()
            .any(|d| clean_relative(&d.path) == clean_relative(path))
        {
            continue;
        }
        let d = Device {
            path: path.into(),
            kind: "c".into(),
            major: major as i64,
            minor: minor as i64,
            file_mode: Some(0o666),
            uid: Some(0),
            gid: Some(0),
        };
        make_node(root, &d, userns)?;
    }
    for d in devices {
        make_node(root, d, userns).map_err(|e| e.context(format!("create device {}", d.path)))?;
    }
    let links: &[(&str, &str)] = &[
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
    ];
    for (name, target) in links {
        if sm::lstatat(dev.as_fd(), name)?.is_none() {
            sm::symlinkat(target, dev.as_fd(), name)?;
        }
    }
    if Path::new("/proc/kcore").exists() && sm::lstatat(dev.as_fd(), "core")?.is_none() {
        sm::symlinkat("/proc/kcore", dev.as_fd(), "core")?;
    }
    // /dev/ptmx must be the ptmx of the container's own devpts instance.
    if let Some((mode, _)) = sm::lstatat(dev.as_fd(), "ptmx")? {
        sm::unlinkat(dev.as_fd(), "ptmx", mode & S_IFMT == S_IFDIR)?;
    }
    sm::symlinkat("pts/ptmx", dev.as_fd(), "ptmx")?;
    Ok(())
}

fn make_node(root: BorrowedFd<'_>, d: &Device, userns: bool) -> Result<()> {
    let rel = clean_relative(&d.path);
    if !rel.starts_with("dev") {
        return Err(Error::invalid(format!(
            "device {} is not under /dev",
            d.path
        )));
    }
    let parent = mkdir_all_in(root, rel.parent().unwrap_or(Path::new("")))?;
    let name = rel
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| Error::invalid(format!("bad device path {}", d.path)))?;
    let kind = match d.kind.as_str() {
        "c" | "u" => S_IFCHR,
        "b" => sfd::S_IFBLK,
        "p" => sfd::S_IFIFO,
        other => {
            return Err(Error::invalid(format!(
                "{other} is not a valid device type for device {}",
                d.path
            )))
        }
    };
    if let Some((mode, _)) = sm::lstatat(parent.as_fd(), name)? {
        if mode & S_IFMT == S_IFDIR {
            return Err(Error::invalid(format!(
                "device path {} is a directory",
                d.path
            )));
        }
        sm::unlinkat(parent.as_fd(), name, false)?;
    }
    if userns {
        // mknod is refused in a user namespace: bind the host's node onto an empty file.
        sm::openat_nofollow(parent.as_fd(), name, O_CREAT | O_EXCL | O_WRONLY, 0o644)?;
        let target = open_in(root, &rel)?;
        let clone = sm::clone_path(Path::new(&d.path), false)?;
        return sm::move_mount_to(clone.as_fd(), target.as_fd());
    }
    let mode = d.file_mode.unwrap_or(0o666) & 0o7777;
    let dev = if kind == sfd::S_IFIFO {
        0
    } else {
        sfd::makedev(d.major as u64, d.minor as u64)
    };
    sm::mknodat(parent.as_fd(), name, kind | mode, dev)?;
    sm::fchmodat(parent.as_fd(), name, mode)?;
    sm::fchownat(parent.as_fd(), name, d.uid.unwrap_or(0), d.gid.unwrap_or(0))?;
    Ok(())
}

/// Make the rootfs the process's root (pivot_root, or MS_MOVE + chroot for --no-pivot) and
/// drop the host's mount tree from view.
pub fn pivot(rootfs: &Path, no_pivot: bool) -> Result<()> {
    if no_pivot {
        return move_root(rootfs);
    }
    let old = sfd::open(Path::new("/"), O_DIRECTORY | sfd::O_RDONLY, 0)?;
    let new = sfd::open(rootfs, O_DIRECTORY | sfd::O_RDONLY, 0)?;
    sm::fchdir(new.as_fd())?;
    // pivot_root(".", "."): the old root ends up stacked on top of the new one at "/".
    sm::pivot_root(Path::new("."), Path::new(".")).map_err(|e| e.context("pivot_root"))?;
    sm::fchdir(old.as_fd())?;
    // The old root must not propagate its unmount to the host's mounts.
    sm::mount(None, Path::new("."), None, MS_SLAVE | MS_REC, None)?;
    sm::umount_detach(Path::new(".")).map_err(|e| e.context("unmount the old root"))?;
    sm::chdir(Path::new("/"))
}

/// --no-pivot: for a rootfs on a ramdisk, where pivot_root is refused. Everything outside the
/// rootfs is unmounted first so the host tree is not left reachable below the chroot.
fn move_root(rootfs: &Path) -> Result<()> {
    let info = std::fs::read_to_string("/proc/self/mountinfo")?;
    let mut points: Vec<String> = info
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .map(unescape)
        .collect();
    points.sort_by_key(|p| std::cmp::Reverse(p.len()));
    for p in points {
        let pp = Path::new(&p);
        if p != "/" && !pp.starts_with(rootfs) && !rootfs.starts_with(pp) {
            let _ = sm::umount_detach(pp);
        }
    }
    sm::chdir(rootfs)?;
    let s = rootfs
        .to_str()
        .ok_or_else(|| Error::invalid("rootfs path is not UTF-8"))?;
    sm::mount(Some(s), Path::new("/"), None, MS_MOVE, None)
        .map_err(|e| e.context("move the rootfs to /"))?;
    sm::chroot(Path::new("."))?;
    sm::chdir(Path::new("/"))
}

/// root.readonly: the root mount only (submounts keep their own flags).
pub fn readonly_root() -> Result<()> {
    let fd = sfd::open(Path::new("/"), O_PATH | O_DIRECTORY, 0)?;
    sm::set_mount_attr(fd.as_fd(), MOUNT_ATTR_RDONLY, 0, false)
        .map_err(|e| e.context("make the root filesystem read-only"))
}

/// linux.readonlyPaths: a read-only bind of each path onto itself (missing paths are skipped).
pub fn readonly_paths(root: BorrowedFd<'_>, paths: &[String]) -> Result<()> {
    for p in paths {
        let rel = clean_relative(p);
        let fd = match open_in(root, &rel) {
            Ok(f) => f,
            Err(e) if is_enoent(&e) => continue,
            Err(e) => return Err(e.context(format!("readonly path {p}"))),
        };
        let clone = sm::clone_tree(fd.as_fd(), "", true)
            .map_err(|e| e.context(format!("readonly path {p}")))?;
        sm::set_mount_attr(
            clone.as_fd(),
            MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC,
            0,
            true,
        )
        .map_err(|e| e.context(format!("readonly path {p}")))?;
        sm::move_mount_to(clone.as_fd(), fd.as_fd())
            .map_err(|e| e.context(format!("readonly path {p}")))?;
    }
    Ok(())
}

/// linux.maskedPaths: directories get an empty read-only tmpfs, files the host's /dev/null.
pub fn mask_paths(root: BorrowedFd<'_>, paths: &[String], dev_null: BorrowedFd<'_>) -> Result<()> {
    for p in paths {
        let rel = clean_relative(p);
        let fd = match open_in(root, &rel) {
            Ok(f) => f,
            Err(e) if is_enoent(&e) => continue,
            Err(e) => return Err(e.context(format!("mask {p}"))),
        };
        let (_, _, mode, _) = sfd::fstat(fd.as_fd())?;
        let cover = if mode & S_IFMT == S_IFDIR {
            sm::new_fs_mount(
                "tmpfs",
                &[("size", Some("0")), ("mode", Some("0555"))],
                MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC,
            )
        } else {
            sm::clone_tree(dev_null, "", false)
        }
        .map_err(|e| e.context(format!("mask {p}")))?;
        sm::move_mount_to(cover.as_fd(), fd.as_fd()).map_err(|e| e.context(format!("mask {p}")))?;
    }
    Ok(())
}

/// linux.sysctl, written through the container's own procfs (verified to be procfs, so a
/// rootfs that put something else at /proc cannot take the writes).
pub fn sysctl(
    root: BorrowedFd<'_>,
    values: &std::collections::BTreeMap<String, String>,
) -> Result<()> {
    for (k, v) in values {
        if k.contains("..") || k.contains('\0') {
            return Err(Error::invalid(format!("sysctl {k:?} is not valid")));
        }
        let rel = PathBuf::from("proc/sys").join(k.replace('.', "/"));
        let fd = sm::open_in_root(root, &rel, O_WRONLY | O_NOFOLLOW, 0)
            .map_err(|e| e.context(format!("sysctl {k}")))?;
        if sfd::fs_magic(fd.as_fd())? != sfd::PROC_SUPER_MAGIC {
            return Err(Error::invalid(format!("sysctl {k}: /proc is not procfs")));
        }
        sfd::write_all(fd.as_fd(), v.as_bytes())
            .map_err(|e| e.context(format!("write sysctl {k}={v}")))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn options_split_into_flags_data_and_propagation() {
        let o = parse_options(&s(&[
            "nosuid",
            "noexec",
            "mode=755",
            "size=65536k",
            "rbind",
            "rslave",
            "ro",
        ]));
        assert_eq!(o.flags, MS_NOSUID | MS_NOEXEC | MS_RDONLY);
        assert_eq!(o.data, ["mode=755", "size=65536k"]);
        assert!(o.bind && o.recursive);
        assert_eq!(o.propagation, [MS_SLAVE | MS_REC]);
        let o = parse_options(&s(&["ro", "rw", "rro"]));
        assert_eq!(o.flags & MS_RDONLY, 0, "later options win");
        assert_eq!(o.rec_attrs, MOUNT_ATTR_RDONLY);
    }

    #[test]
    fn destinations_cannot_climb_out_lexically() {
        assert_eq!(clean_relative("/../../etc/x"), PathBuf::from("etc/x"));
        assert_eq!(clean_relative("/a/./b/../c"), PathBuf::from("a/c"));
        assert_eq!(clean_relative("/"), PathBuf::from(""));
    }

    #[test]
    fn bind_flags_become_mount_attrs() {
        assert_eq!(
            attrs_of(MS_RDONLY | MS_NOSUID),
            (MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID, 0)
        );
        assert_eq!(attrs_of(MS_NOATIME).1, 0x70);
    }

    #[test]
    fn own_cgroup_lines() {
        let t = "4:memory:/a/b\n3:cpu,cpuacct:/c\n0::/u\n";
        assert_eq!(own_cgroup(t, "memory"), "/a/b");
        assert_eq!(own_cgroup(t, "cpuacct"), "/c");
        assert_eq!(own_cgroup(t, ""), "/u");
    }

    #[test]
    fn mkdir_all_follows_symlinks_inside_the_root_only() {
        let d = std::env::temp_dir().join(format!("berth-mkdir-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(d.join("a")).unwrap();
        std::os::unix::fs::symlink("../../../../b", d.join("a/up")).unwrap();
        std::os::unix::fs::symlink("loop", d.join("loop")).unwrap();
        let root = sfd::open(&d, O_PATH | O_DIRECTORY, 0).unwrap();
        // ".." in a symlink target stops at the root: a/up -> /b inside the root.
        let fd = mkdir_all_in(root.as_fd(), Path::new("a/up/c")).unwrap();
        assert_eq!(
            std::fs::read_link(fd_path(fd.as_fd())).unwrap(),
            d.join("b/c")
        );
        let fd = mkdir_all_in(root.as_fd(), Path::new("../../x/../y")).unwrap();
        assert_eq!(
            std::fs::read_link(fd_path(fd.as_fd())).unwrap(),
            d.join("y")
        );
        assert_eq!(
            mkdir_all_in(root.as_fd(), Path::new("loop/x"))
                .unwrap_err()
                .errno(),
            Some(40),
            "symlink loops end with ELOOP"
        );
        std::fs::write(d.join("file"), "").unwrap();
        assert_eq!(
            mkdir_all_in(root.as_fd(), Path::new("file/x"))
                .unwrap_err()
                .errno(),
            Some(20)
        );
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn scoped_resolution_keeps_symlinks_inside() {
        // A real directory with an absolute symlink pointing at the host's /etc.
        let d = std::env::temp_dir().join(format!("berth-rootfs-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(d.join("inside")).unwrap();
        std::os::unix::fs::symlink("/etc", d.join("evil")).unwrap();
        let root = sfd::open(&d, O_PATH | O_DIRECTORY, 0).unwrap();
        let fd = ensure_in(root.as_fd(), Path::new("evil/berth-target"), true).unwrap();
        let where_ = std::fs::read_link(fd_path(fd.as_fd())).unwrap();
        assert_eq!(
            where_,
            d.join("etc/berth-target"),
            "the symlink resolved inside the root"
        );
        assert!(!Path::new("/etc/berth-target").exists());
        std::fs::remove_dir_all(&d).unwrap();
    }
}
