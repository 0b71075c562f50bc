//! The only module with `unsafe`, libc and rustix calls. Every unsafe block carries a SAFETY note.
//! Callers get safe functions returning `base::Result`, with the errno and the object named.

use crate::base::Error;

/// The effective uid of this process.
pub fn euid() -> u32 {
    rustix::process::geteuid().as_raw()
}

/// Last OS error as a `base::Error` naming what was attempted.
pub fn last_error(what: impl Into<String>) -> Error {
    Error::from_errno(
        std::io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EIO),
        what,
    )
}

/// Map a rustix errno into `base::Error`.
pub fn errno_error(e: rustix::io::Errno, what: impl Into<String>) -> Error {
    Error::from_errno(e.raw_os_error(), what)
}

pub mod bpf;
pub mod capability;
pub mod cgroup;
pub mod fd;
pub mod fsat;
pub mod mount;
pub mod namespace;
pub mod poll;
pub mod process;
pub mod reaper;
pub mod scm;
pub mod seccomp;
pub mod terminal;
