//! File descriptors for the runtime: socket pairs and message framing, fd passing (SCM_RIGHTS),
//! close-on-exec sweeps, FIFOs, poll, memfds and the few file-status queries the runtime needs.

use crate::base::{Error, Result};
use crate::sys::last_error;
use std::ffi::CString;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

pub const O_RDONLY: i32 = libc::O_RDONLY;
pub const O_WRONLY: i32 = libc::O_WRONLY;
pub const O_RDWR: i32 = libc::O_RDWR;
pub const O_NONBLOCK: i32 = libc::O_NONBLOCK;
pub const O_PATH: i32 = libc::O_PATH;
pub const O_DIRECTORY: i32 = libc::O_DIRECTORY;
pub const O_NOFOLLOW: i32 = libc::O_NOFOLLOW;
pub const O_CREAT: i32 = libc::O_CREAT;
pub const O_EXCL: i32 = libc::O_EXCL;
pub const O_NOCTTY: i32 = libc::O_NOCTTY;
pub const O_TRUNC: i32 = libc::O_TRUNC;

pub const S_IFMT: u32 = libc::S_IFMT;
pub const S_IFDIR: u32 = libc::S_IFDIR;
pub const S_IFREG: u32 = libc::S_IFREG;
pub const S_IFCHR: u32 = libc::S_IFCHR;
pub const S_IFBLK: u32 = libc::S_IFBLK;
pub const S_IFIFO: u32 = libc::S_IFIFO;
pub const S_IFLNK: u32 = libc::S_IFLNK;

/// A path as a C string; a NUL inside the path is an invalid argument naming the path.
pub fn c_path(p: &Path) -> Result<CString> {
    CString::new(p.as_os_str().as_bytes())
        .map_err(|_| Error::invalid(format!("path {} contains a NUL byte", p.display())))
}

pub fn c_str(s: &str) -> Result<CString> {
    CString::new(s).map_err(|_| Error::invalid(format!("{s:?} contains a NUL byte")))
}

/// A connected pair of SOCK_SEQPACKET unix sockets (message boundaries kept), close-on-exec.
pub fn seqpacket_pair() -> Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as RawFd; 2];
    // SAFETY: socketpair writes two fds into the array we own.
    let r = unsafe {
        libc::socketpair(
            libc::AF_UNIX,
            libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC,
            0,
            fds.as_mut_ptr(),
        )
    };
    if r < 0 {
        return Err(last_error("socketpair"));
    }
    // SAFETY: both fds were just created and are owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// Send one message (one datagram on a seqpacket socket). EPIPE is returned, never raised.
pub fn send_msg(sock: BorrowedFd<'_>, data: &[u8]) -> Result<()> {
    // SAFETY: data is a valid readable buffer of data.len() bytes.
    let r = unsafe {
        libc::send(
            sock.as_raw_fd(),
            data.as_ptr().cast(),
            data.len(),
            libc::MSG_NOSIGNAL,
        )
    };
    if r < 0 {
        return Err(last_error("send on the init socket"));
    }
    if r as usize != data.len() {
        return Err(Error::internal("short send on the init socket"));
    }
    Ok(())
}

/// Receive one message into `buf`. Ok(None) is an orderly EOF (the peer closed or exec'd);
/// a message longer than `buf` is an error (MSG_TRUNC), never silently cut.
pub fn recv_msg(sock: BorrowedFd<'_>, buf: &mut [u8]) -> Result<Option<usize>> {
    loop {
        // SAFETY: buf is a valid writable buffer of buf.len() bytes.
        let r = unsafe {
            libc::recv(
                sock.as_raw_fd(),
                buf.as_mut_ptr().cast(),
                buf.len(),
                libc::MSG_TRUNC,
            )
        };
        if r < 0 {
            let e = std::io::Error::last_os_error();
            if e.raw_os_error() == Some(libc::EINTR) {
                continue;
            }
            if e.raw_os_error() == Some(libc::ECONNRESET) {
                // The peer closed with our messages unread in its queue. The kernel reports
                // that once (and clears it) before what the peer sent us: read on, so a last
                // message (the init's error) is not lost; after it comes end-of-file.
                continue;
            }
            return Err(Error::from(e).context("recv on the init socket"));
        }
        let n = r as usize;
        if n == 0 {
            return Ok(None);
        }
        if n > buf.len() {
            return Err(Error::invalid(format!(
                "message of {n} bytes exceeds the limit of {} bytes",
                buf.len()
            )));
        }
        return Ok(Some(n));
    }
}

/// Send `fd` with `name` as the payload over a unix socket (SCM_RIGHTS), as runc sends the pty
/// master to `--console-socket`.
pub fn send_fd(sock: BorrowedFd<'_>, name: &[u8], fd: BorrowedFd<'_>) -> Result<()> {
    let mut iov = libc::iovec {
        iov_base: name.as_ptr() as *mut _,
        iov_len: name.len(),
    };
    // SAFETY: CMSG_SPACE is a pure computation.
    let space = unsafe { libc::CMSG_SPACE(std::mem::size_of::<RawFd>() as u32) } as usize;
    let mut cbuf = vec![0u8; space];
    // SAFETY: zeroed msghdr is a valid "empty" value; we fill the fields below.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cbuf.as_mut_ptr().cast();
    msg.msg_controllen = space;
    // SAFETY: msg_control points to a buffer of CMSG_SPACE(sizeof fd) bytes, so the first header
    // and its data fit; we write exactly one fd.
    unsafe {
        let c = libc::CMSG_FIRSTHDR(&msg);
        (*c).cmsg_level = libc::SOL_SOCKET;
        (*c).cmsg_type = libc::SCM_RIGHTS;
        (*c).cmsg_len = libc::CMSG_LEN(std::mem::size_of::<RawFd>() as u32) as usize;
        std::ptr::write_unaligned(libc::CMSG_DATA(c) as *mut RawFd, fd.as_raw_fd());
    }
    // SAFETY: msg is fully initialised and its buffers outlive the call.
    let r = unsafe { libc::sendmsg(sock.as_raw_fd(), &msg, libc::MSG_NOSIGNAL) };
    if r < 0 {
        return Err(last_error("send the console fd over the console socket"));
    }
    Ok(())
}

/// Receive one fd sent with SCM_RIGHTS; returns the payload and the fd (close-on-exec).
pub fn recv_fd(sock: BorrowedFd<'_>) -> Result<(Vec<u8>, OwnedFd)> {
    let mut data = vec![0u8; 4096];
    let mut iov = libc::iovec {
        iov_base: data.as_mut_ptr().cast(),
        iov_len: data.len(),
    };
    // SAFETY: pure computation.
    let space = unsafe { libc::CMSG_SPACE(std::mem::size_of::<RawFd>() as u32) } as usize;
    let mut cbuf = vec![0u8; space];
    // SAFETY: zeroed msghdr is valid; fields filled below.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cbuf.as_mut_ptr().cast();
    msg.msg_controllen = space;
    // SAFETY: msg points to buffers we own for the duration of the call.
    let r = unsafe { libc::recvmsg(sock.as_raw_fd(), &mut msg, libc::MSG_CMSG_CLOEXEC) };
    if r < 0 {
        return Err(last_error("receive a fd over the console socket"));
    }
    data.truncate(r as usize);
    // SAFETY: the kernel filled msg_control; CMSG_FIRSTHDR/CMSG_DATA walk within it.
    unsafe {
        let c = libc::CMSG_FIRSTHDR(&msg);
        if c.is_null() || (*c).cmsg_level != libc::SOL_SOCKET || (*c).cmsg_type != libc::SCM_RIGHTS
        {
            return Err(Error::invalid(
                "console socket message carried no file descriptor",
            ));
        }
        let fd = std::ptr::read_unaligned(libc::CMSG_DATA(c) as *const RawFd);
        Ok((data, OwnedFd::from_raw_fd(fd)))
    }
}

/// Connect to a unix stream socket by path (close-on-exec).
pub fn connect_unix(path: &Path) -> Result<OwnedFd> {
    let s = std::os::unix::net::UnixStream::connect(path)
        .map_err(|e| Error::from(e).context(format!("connect to {}", path.display())))?;
    Ok(OwnedFd::from(s))
}

/// Mark every fd >= `from` close-on-exec (CVE-2024-21626: nothing of the runtime's may survive
/// into the container). One syscall; the fds stay usable until execve.
pub fn cloexec_from(from: u32) -> Result<()> {
    // SAFETY: close_range with CLOSE_RANGE_CLOEXEC only flips flags on fds of this process.
    let r = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            from,
            u32::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        )
    };
    if r < 0 {
        return Err(last_error("close_range(CLOEXEC)"));
    }
    Ok(())
}

/// Clear or set FD_CLOEXEC on one fd (preserved fds must survive execve).
pub fn set_cloexec(fd: RawFd, on: bool) -> Result<()> {
    // SAFETY: fcntl on an fd number; failure is reported, nothing is dereferenced.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFD) };
    if flags < 0 {
        return Err(last_error(format!("fcntl(F_GETFD) on fd {fd}")));
    }
    let new = if on {
        flags | libc::FD_CLOEXEC
    } else {
        flags & !libc::FD_CLOEXEC
    };
    // SAFETY: as above.
    if unsafe { libc::fcntl(fd, libc::F_SETFD, new) } < 0 {
        return Err(last_error(format!("fcntl(F_SETFD) on fd {fd}")));
    }
    Ok(())
}

/// True when `fd` is an open descriptor of this process.
pub fn is_open(fd: RawFd) -> bool {
    // SAFETY: F_GETFD has no side effects.
    unsafe { libc::fcntl(fd, libc::F_GETFD) >= 0 }
}

/// dup2 that keeps the target's close-on-exec flag clear (stdio of the container).
pub fn dup2(from: RawFd, to: RawFd) -> Result<()> {
    // SAFETY: dup2 on fd numbers; `to` is replaced atomically.
    if unsafe { libc::dup2(from, to) } < 0 {
        return Err(last_error(format!("dup2 {from} to {to}")));
    }
    Ok(())
}

pub fn mkfifo(path: &Path, mode: u32) -> Result<()> {
    let c = c_path(path)?;
    // SAFETY: c is a valid NUL-terminated path.
    if unsafe { libc::mkfifo(c.as_ptr(), mode) } < 0 {
        return Err(last_error(format!("mkfifo {}", path.display())));
    }
    // mkfifo honours the umask; the exec fifo must be writable as runc's is (0622).
    // SAFETY: as above.
    if unsafe { libc::chmod(c.as_ptr(), mode) } < 0 {
        return Err(last_error(format!("chmod {}", path.display())));
    }
    Ok(())
}

/// open(2) with raw flags, close-on-exec always added.
pub fn open(path: &Path, flags: i32, mode: u32) -> Result<OwnedFd> {
    let c = c_path(path)?;
    // SAFETY: c is a valid path; the returned fd is owned by the caller.
    let fd = unsafe { libc::open(c.as_ptr(), flags | libc::O_CLOEXEC, mode) };
    if fd < 0 {
        return Err(last_error(format!("open {}", path.display())));
    }
    // SAFETY: fd was just returned by open.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Read from a raw fd (EINTR retried).
pub fn read(fd: BorrowedFd<'_>, buf: &mut [u8]) -> Result<usize> {
    loop {
        // SAFETY: buf is writable for buf.len() bytes.
        let r = unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        if r >= 0 {
            return Ok(r as usize);
        }
        let e = std::io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EINTR) {
            return Err(Error::from(e).context("read"));
        }
    }
}

/// Write all of `buf` to a raw fd (EINTR retried).
pub fn write_all(fd: BorrowedFd<'_>, mut buf: &[u8]) -> Result<()> {
    while !buf.is_empty() {
        // SAFETY: buf is readable for buf.len() bytes.
        let r = unsafe { libc::write(fd.as_raw_fd(), buf.as_ptr().cast(), buf.len()) };
        if r < 0 {
            let e = std::io::Error::last_os_error();
            if e.raw_os_error() == Some(libc::EINTR) {
                continue;
            }
            return Err(Error::from(e).context("write"));
        }
        buf = &buf[r as usize..];
    }
    Ok(())
}

pub const POLLIN: i16 = libc::POLLIN;
pub const POLLHUP: i16 = libc::POLLHUP;
pub const POLLERR: i16 = libc::POLLERR;

/// poll(2) over (fd, events); returns the revents per entry. timeout_ms < 0 waits forever.
/// EINTR returns all-zero revents so callers re-check their state.
pub fn poll(fds: &[(RawFd, i16)], timeout_ms: i32) -> Result<Vec<i16>> {
    let mut p: Vec<libc::pollfd> = fds
        .iter()
        .map(|&(fd, events)| libc::pollfd {
            fd,
            events,
            revents: 0,
        })
        .collect();
    // SAFETY: p is a valid array of pollfd of the given length.
    let r = unsafe { libc::poll(p.as_mut_ptr(), p.len() as libc::nfds_t, timeout_ms) };
    if r < 0 {
        let e = std::io::Error::last_os_error();
        if e.raw_os_error() == Some(libc::EINTR) {
            return Ok(vec![0; fds.len()]);
        }
        return Err(Error::from(e).context("poll"));
    }
    Ok(p.iter().map(|x| x.revents).collect())
}

/// Clear O_NONBLOCK on an fd.
pub fn set_blocking(fd: RawFd) -> Result<()> {
    // SAFETY: fcntl flag manipulation on an fd number.
    let fl = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if fl < 0 || unsafe { libc::fcntl(fd, libc::F_SETFL, fl & !libc::O_NONBLOCK) } < 0 {
        return Err(last_error(format!("fcntl(O_NONBLOCK) on fd {fd}")));
    }
    Ok(())
}

/// statfs(2)'s mount flags of an open file: is the mount it lives on read-only?
pub fn on_readonly_mount(fd: BorrowedFd<'_>) -> Result<bool> {
    // SAFETY: zeroed statvfs is a valid out-parameter.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: fd is open; st is writable.
    if unsafe { libc::fstatvfs(fd.as_raw_fd(), &mut st) } < 0 {
        return Err(last_error("fstatvfs"));
    }
    Ok(st.f_flag & libc::ST_RDONLY != 0)
}

/// The filesystem magic of an open file (proc, tmpfs, ...).
pub fn fs_magic(fd: BorrowedFd<'_>) -> Result<i64> {
    // SAFETY: as in on_readonly_mount.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    if unsafe { libc::fstatfs(fd.as_raw_fd(), &mut st) } < 0 {
        return Err(last_error("fstatfs"));
    }
    Ok(st.f_type as i64)
}

pub const PROC_SUPER_MAGIC: i64 = 0x9fa0;

/// Is `fd` a memfd sealed against writes? (false for files that cannot be sealed)
pub fn write_sealed(fd: BorrowedFd<'_>) -> bool {
    // SAFETY: F_GET_SEALS has no side effects; -1 (EINVAL) for files that cannot be sealed.
    let r = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GET_SEALS) };
    r > 0 && r & libc::F_SEAL_WRITE != 0
}

/// A sealed, executable, close-on-exec memfd holding a copy of `src` (CVE-2019-5736 fallback).
pub fn sealed_memfd_copy(src: BorrowedFd<'_>, name: &str) -> Result<OwnedFd> {
    let cname = c_str(name)?;
    // SAFETY: cname is valid; the fd returned is owned below.
    let fd =
        unsafe { libc::memfd_create(cname.as_ptr(), libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING) };
    if fd < 0 {
        return Err(last_error("memfd_create"));
    }
    // SAFETY: fd just created.
    let mem = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: zeroed stat is a valid out-parameter.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: src is open; st writable.
    if unsafe { libc::fstat(src.as_raw_fd(), &mut st) } < 0 {
        return Err(last_error("fstat the runtime binary"));
    }
    let mut left = st.st_size as usize;
    let mut off: libc::off_t = 0;
    while left > 0 {
        // SAFETY: sendfile between two open fds with an offset we own.
        let n = unsafe { libc::sendfile(mem.as_raw_fd(), src.as_raw_fd(), &mut off, left) };
        if n < 0 {
            return Err(last_error("copy the runtime binary into a memfd"));
        }
        if n == 0 {
            break;
        }
        left -= n as usize;
    }
    let s = libc::F_SEAL_SEAL | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE;
    // SAFETY: sealing our own memfd.
    if unsafe { libc::fcntl(mem.as_raw_fd(), libc::F_ADD_SEALS, s) } < 0 {
        return Err(last_error("seal the memfd copy of the runtime binary"));
    }
    Ok(mem)
}

/// (st_dev, st_ino, st_mode, st_rdev) of an open fd.
pub fn fstat(fd: BorrowedFd<'_>) -> Result<(u64, u64, u32, u64)> {
    // SAFETY: zeroed stat is a valid out-parameter.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: fd is open.
    if unsafe { libc::fstat(fd.as_raw_fd(), &mut st) } < 0 {
        return Err(last_error("fstat"));
    }
    Ok((st.st_dev, st.st_ino, st.st_mode, st.st_rdev))
}

/// Device number helpers.
pub fn makedev(major: u64, minor: u64) -> u64 {
    libc::makedev(major as u32, minor as u32)
}
pub fn major(dev: u64) -> u64 {
    libc::major(dev) as u64
}
pub fn minor(dev: u64) -> u64 {
    libc::minor(dev) as u64
}

/// getcwd(2): "(unreachable)/..." means the cwd lies outside the process's root.
pub fn getcwd() -> Result<Vec<u8>> {
    let mut buf = vec![0u8; 4096];
    // SAFETY: buf is writable for its length; the raw syscall does not allocate.
    let r = unsafe { libc::syscall(libc::SYS_getcwd, buf.as_mut_ptr(), buf.len()) };
    if r < 0 {
        return Err(last_error("getcwd"));
    }
    let n = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    buf.truncate(n);
    Ok(buf)
}

pub fn errno_of(e: &Error) -> i32 {
    e.errno().unwrap_or(0)
}

/// fchown(2) on an open fd.
pub fn fchown(fd: BorrowedFd<'_>, uid: u32, gid: u32) -> Result<()> {
    // SAFETY: fchown on an open fd.
    if unsafe { libc::fchown(fd.as_raw_fd(), uid, gid) } < 0 {
        return Err(last_error("fchown"));
    }
    Ok(())
}

pub const DEVPTS_SUPER_MAGIC: i64 = 0x1cd1;

/// Borrow one of the standard fds (0, 1, 2) for the life of the process.
pub fn borrow_stdio(fd: RawFd) -> Option<BorrowedFd<'static>> {
    if !(0..3).contains(&fd) {
        return None;
    }
    // SAFETY: the standard fds are never closed by the runtime (only replaced by dup2, which
    // keeps the number valid), so the borrow cannot outlive the descriptor.
    Some(unsafe { BorrowedFd::borrow_raw(fd) })
}
