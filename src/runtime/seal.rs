//! CVE-2019-5736: a container must never be able to write to, or keep a writable handle on, the
//! host's berth binary. The classic attack makes the container's entrypoint `#!/proc/self/exe`:
//! the kernel resolves that in the runtime process that execs it, so the container ends up
//! running (and holding /proc/PID/exe of) the host binary, then reopens it for writing.
//!
//! Defence: before `create`, `run` or `exec` does anything, the runtime re-executes itself from
//! a sealed copy, so every process that ever enters a container has a read-only exe:
//!
//! * `bind` (default): a detached, read-only bind mount of the binary (open_tree + mount_setattr,
//!   then execveat on it). No copy; the mount exists only as long as a process runs from it.
//!   Writes through it fail with EROFS; it can be neither remounted nor reached by path.
//! * `memfd` (fallback when the mount API is unavailable): a sealed memfd copy of the binary
//!   (F_SEAL_WRITE|SHRINK|GROW|SEAL), costing a copy of the whole binary per start.
//!
//! BERTH_RUNC_SEAL=memfd selects the fallback (the bench measures both).

use crate::base::Result;
use crate::sys::{fd as sfd, mount as sm, process as sp};
use std::os::fd::AsFd;
use std::path::Path;

/// True when this process already runs from a read-only mount or a write-sealed memfd.
pub fn is_sealed() -> Result<bool> {
    let exe = sfd::open(Path::new("/proc/self/exe"), sfd::O_RDONLY, 0)?;
    if sfd::on_readonly_mount(exe.as_fd())? {
        return Ok(true);
    }
    Ok(sfd::write_sealed(exe.as_fd()))
}

/// Re-exec from a sealed copy unless already sealed. Returns only if already sealed, or with
/// the error that prevented sealing (the runtime then refuses to run containers).
pub fn ensure_sealed() -> Result<()> {
    if is_sealed()? {
        return Ok(());
    }
    let argv: Vec<String> = std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let env = sp::environ();
    let memfd_only = std::env::var("BERTH_RUNC_SEAL")
        .map(|v| v == "memfd")
        .unwrap_or(false);
    if !memfd_only {
        match bind_sealed() {
            Ok(fd) => {
                let e = sp::execve_fd(fd.as_fd(), &argv, &env);
                log::debug!("exec from a read-only bind of the binary failed ({e}); falling back to a memfd copy");
            }
            Err(e) => log::debug!(
                "read-only bind of the binary failed ({e}); falling back to a memfd copy"
            ),
        }
    }
    let exe = sfd::open(Path::new("/proc/self/exe"), sfd::O_RDONLY, 0)?;
    let mem = sfd::sealed_memfd_copy(exe.as_fd(), "berth-runc")?;
    Err(sp::execve_fd(mem.as_fd(), &argv, &env)
        .context("re-exec the runtime from a sealed copy (CVE-2019-5736)"))
}

pub fn bind_sealed() -> Result<std::os::fd::OwnedFd> {
    let fd = sm::clone_path(Path::new("/proc/self/exe"), false)?;
    sm::set_mount_attr(
        fd.as_fd(),
        sm::MOUNT_ATTR_RDONLY | sm::MOUNT_ATTR_NODEV | sm::MOUNT_ATTR_NOSUID,
        0,
        false,
    )?;
    Ok(fd)
}
