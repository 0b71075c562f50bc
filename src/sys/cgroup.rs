//! The few system calls the cgroup manager needs besides plain file I/O on cgroupfs.

use crate::base::Result;
use std::path::Path;

/// cgroup2's filesystem magic (statfs f_type).
pub const CGROUP2_SUPER_MAGIC: i64 = 0x6367_7270;
/// cgroup v1's filesystem magic.
pub const CGROUP_SUPER_MAGIC: i64 = 0x0027_e0eb;

/// Send `sig` to process `pid` (a process found in a container's cgroup).
pub fn kill(pid: i32, sig: i32) -> Result<()> {
    // SAFETY: kill(2) takes two integers and touches no memory of ours.
    let rc = unsafe { libc::kill(pid, sig) };
    if rc != 0 {
        return Err(crate::sys::last_error(format!(
            "kill {pid} with signal {sig}"
        )));
    }
    Ok(())
}

/// The filesystem type (statfs f_type) of `path`.
pub fn fs_magic(path: &Path) -> Result<i64> {
    let st = rustix::fs::statfs(path)
        .map_err(|e| crate::sys::errno_error(e, format!("statfs {}", path.display())))?;
    Ok(st.f_type as i64)
}
