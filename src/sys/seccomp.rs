//! seccomp(2): install a classic-BPF syscall filter on the calling thread (or all threads).
//! The filter itself is compiled by `runtime::seccomp`; this file only hands it to the kernel.

use crate::base::{Error, Result};

/// One classic BPF instruction (`struct sock_filter`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SockFilter {
    pub code: u16,
    pub jt: u8,
    pub jf: u8,
    pub k: u32,
}

/// `struct sock_fprog`.
#[repr(C)]
struct SockFprog {
    len: u16,
    filter: *const SockFilter,
}

pub const SECCOMP_SET_MODE_FILTER: u32 = 1;
pub const SECCOMP_GET_ACTION_AVAIL: u32 = 2;
pub const SECCOMP_FILTER_FLAG_TSYNC: u32 = 1 << 0;
pub const SECCOMP_FILTER_FLAG_LOG: u32 = 1 << 1;
pub const SECCOMP_FILTER_FLAG_SPEC_ALLOW: u32 = 1 << 2;
/// The kernel refuses longer programs (BPF_MAXINSNS).
pub const BPF_MAXINSNS: usize = 4096;

/// Install `filter` with `flags` (SECCOMP_FILTER_FLAG_*). The caller must hold CAP_SYS_ADMIN or
/// have set no_new_privs. Without flags, falls back to prctl(PR_SET_SECCOMP) on kernels lacking
/// seccomp(2).
pub fn set_mode_filter(filter: &[SockFilter], flags: u32) -> Result<()> {
    if filter.is_empty() || filter.len() > BPF_MAXINSNS {
        return Err(Error::invalid(format!(
            "seccomp filter has {} instructions (1 to {BPF_MAXINSNS} allowed)",
            filter.len()
        )));
    }
    let prog = SockFprog {
        len: filter.len() as u16,
        filter: filter.as_ptr(),
    };
    // SAFETY: `prog` points at `filter`, which outlives the call; the kernel copies the program.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            SECCOMP_SET_MODE_FILTER as libc::c_ulong,
            flags as libc::c_ulong,
            &prog as *const SockFprog,
        )
    };
    if rc == 0 {
        return Ok(());
    }
    if rc > 0 {
        // With TSYNC the kernel returns the id of a thread it could not synchronize.
        return Err(Error::conflict(format!(
            "install seccomp filter: thread {rc} could not be synchronized (TSYNC)"
        )));
    }
    let err = std::io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EIO);
    if err == libc::ENOSYS && flags == 0 {
        // SAFETY: prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog): same program pointer as above.
        let rc = unsafe {
            libc::prctl(
                libc::PR_SET_SECCOMP,
                libc::SECCOMP_MODE_FILTER as libc::c_ulong,
                &prog as *const SockFprog,
            )
        };
        if rc == 0 {
            return Ok(());
        }
        return Err(crate::sys::last_error("prctl(PR_SET_SECCOMP)"));
    }
    Err(Error::from_errno(
        err,
        format!("seccomp(SECCOMP_SET_MODE_FILTER, flags {flags:#x})"),
    ))
}

/// Whether the running kernel knows the filter return action `action` (SECCOMP_RET_*).
pub fn action_available(action: u32) -> bool {
    // SAFETY: SECCOMP_GET_ACTION_AVAIL reads one u32 from the pointer we pass.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            SECCOMP_GET_ACTION_AVAIL as libc::c_ulong,
            0 as libc::c_ulong,
            &action as *const u32,
        )
    };
    rc == 0
}

/// Set no_new_privs on the calling thread (needed to install a filter without CAP_SYS_ADMIN).
pub fn set_no_new_privs() -> Result<()> {
    // SAFETY: prctl with integer arguments only.
    let rc = unsafe {
        libc::prctl(
            libc::PR_SET_NO_NEW_PRIVS,
            1 as libc::c_ulong,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
        )
    };
    if rc != 0 {
        return Err(crate::sys::last_error("prctl(PR_SET_NO_NEW_PRIVS)"));
    }
    Ok(())
}

/// Whether the running kernel accepts the filter flag `flag` (SECCOMP_FILTER_FLAG_*): with a NULL
/// program the kernel checks the flags first (EINVAL for unknown ones) and then fails to read the
/// program (EFAULT), so nothing is installed either way.
pub fn flag_supported(flag: u32) -> bool {
    // SAFETY: a NULL program pointer; the kernel validates the flags and never dereferences it
    // successfully, returning EFAULT for known flags.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            SECCOMP_SET_MODE_FILTER as libc::c_ulong,
            flag as libc::c_ulong,
            std::ptr::null::<SockFprog>(),
        )
    };
    rc < 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::EFAULT)
}
