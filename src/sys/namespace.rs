//! Linux namespaces: clone flags, setns(2), unshare(2) and namespace identity.

use crate::base::Result;
use crate::sys::last_error;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::os::unix::fs::MetadataExt;
use std::path::Path;

pub const NEWNS: i32 = libc::CLONE_NEWNS;
pub const NEWUTS: i32 = libc::CLONE_NEWUTS;
pub const NEWIPC: i32 = libc::CLONE_NEWIPC;
pub const NEWUSER: i32 = libc::CLONE_NEWUSER;
pub const NEWPID: i32 = libc::CLONE_NEWPID;
pub const NEWNET: i32 = libc::CLONE_NEWNET;
pub const NEWCGROUP: i32 = libc::CLONE_NEWCGROUP;
pub const NEWTIME: i32 = 0x80;

/// Join the namespace behind `fd`; `nstype` (a CLONE_NEW* flag) makes the kernel check the kind.
pub fn setns(fd: BorrowedFd<'_>, nstype: i32, what: &str) -> Result<()> {
    // SAFETY: setns on an open namespace fd; no memory effects.
    if unsafe { libc::setns(fd.as_raw_fd(), nstype) } < 0 {
        return Err(last_error(format!("setns into {what}")));
    }
    Ok(())
}

pub fn unshare(flags: i32) -> Result<()> {
    // SAFETY: unshare has no memory effects.
    if unsafe { libc::unshare(flags) } < 0 {
        return Err(last_error(format!("unshare(0x{flags:x})")));
    }
    Ok(())
}

/// The (device, inode) identity of a namespace file such as /proc/PID/ns/net.
pub fn identity(path: &Path) -> Result<(u64, u64)> {
    let m = std::fs::metadata(path)
        .map_err(|e| crate::base::Error::from(e).context(format!("stat {}", path.display())))?;
    Ok((m.dev(), m.ino()))
}
