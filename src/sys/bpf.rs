//! bpf(2) for cgroup v2 device filters: load a BPF_PROG_TYPE_CGROUP_DEVICE program, attach it to
//! a cgroup directory, and find or detach the programs already there. The program is assembled by
//! `runtime::cgroups::ebpf`; no libbpf.

use crate::base::{Error, Result};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// One eBPF instruction (`struct bpf_insn`): `regs` holds dst in the low and src in the high nibble.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BpfInsn {
    pub code: u8,
    pub regs: u8,
    pub off: i16,
    pub imm: i32,
}

const BPF_PROG_LOAD: libc::c_long = 5;
const BPF_PROG_ATTACH: libc::c_long = 8;
const BPF_PROG_DETACH: libc::c_long = 9;
const BPF_PROG_GET_FD_BY_ID: libc::c_long = 13;
const BPF_PROG_QUERY: libc::c_long = 16;
pub const BPF_PROG_TYPE_CGROUP_DEVICE: u32 = 15;
pub const BPF_CGROUP_DEVICE: u32 = 6;
pub const BPF_F_ALLOW_MULTI: u32 = 1 << 1;

#[repr(C)]
#[derive(Default)]
struct ProgLoadAttr {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; 16],
    prog_ifindex: u32,
    expected_attach_type: u32,
}

#[repr(C)]
#[derive(Default)]
struct AttachAttr {
    target_fd: u32,
    attach_bpf_fd: u32,
    attach_type: u32,
    attach_flags: u32,
    replace_bpf_fd: u32,
}

#[repr(C)]
#[derive(Default)]
struct QueryAttr {
    target_fd: u32,
    attach_type: u32,
    query_flags: u32,
    attach_flags: u32,
    prog_ids: u64,
    prog_cnt: u32,
    _pad: u32,
}

#[repr(C)]
#[derive(Default)]
struct GetFdAttr {
    prog_id: u32,
    next_id: u32,
    open_flags: u32,
}

fn bpf<T>(cmd: libc::c_long, attr: &mut T) -> libc::c_long {
    // SAFETY: `attr` is a repr(C) prefix of `union bpf_attr` for `cmd`, valid for its size; the
    // kernel zero-extends attributes shorter than its own union. Pointers inside it are set by
    // the callers to buffers that outlive this call.
    unsafe {
        libc::syscall(
            libc::SYS_bpf,
            cmd,
            attr as *mut T,
            std::mem::size_of::<T>() as libc::c_uint,
        )
    }
}

/// Load a cgroup device program; on a verifier error, the message names the verifier's complaint.
pub fn load_cgroup_device_prog(insns: &[BpfInsn], license: &str) -> Result<OwnedFd> {
    let license =
        std::ffi::CString::new(license).map_err(|_| Error::invalid("BPF license contains NUL"))?;
    let mut log = vec![0u8; 64 * 1024];
    let mut name = [0u8; 16];
    name[..11].copy_from_slice(b"berth_devcg");
    let mut attr = ProgLoadAttr {
        prog_type: BPF_PROG_TYPE_CGROUP_DEVICE,
        insn_cnt: insns.len() as u32,
        insns: insns.as_ptr() as u64,
        license: license.as_ptr() as u64,
        log_level: 1,
        log_size: log.len() as u32,
        log_buf: log.as_mut_ptr() as u64,
        prog_name: name,
        ..Default::default()
    };
    let fd = bpf(BPF_PROG_LOAD, &mut attr);
    if fd < 0 {
        let mut e = crate::sys::last_error("bpf(BPF_PROG_LOAD) of the cgroup device filter");
        let end = log.iter().position(|&b| b == 0).unwrap_or(log.len());
        let msg = String::from_utf8_lossy(&log[..end]).trim().to_string();
        if !msg.is_empty() {
            e = e.context(format!("verifier: {msg}"));
        }
        return Err(e);
    }
    // SAFETY: the kernel just returned this fd to us; nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// Attach `prog` to the cgroup open as `cgroup` (a directory fd) with `flags`.
pub fn prog_attach(
    cgroup: &impl AsRawFd,
    prog: &impl AsRawFd,
    attach_type: u32,
    flags: u32,
) -> Result<()> {
    let mut attr = AttachAttr {
        target_fd: cgroup.as_raw_fd() as u32,
        attach_bpf_fd: prog.as_raw_fd() as u32,
        attach_type,
        attach_flags: flags,
        ..Default::default()
    };
    if bpf(BPF_PROG_ATTACH, &mut attr) != 0 {
        return Err(crate::sys::last_error("bpf(BPF_PROG_ATTACH)"));
    }
    Ok(())
}

/// Detach `prog` from the cgroup open as `cgroup`.
pub fn prog_detach(cgroup: &impl AsRawFd, prog: &impl AsRawFd, attach_type: u32) -> Result<()> {
    let mut attr = AttachAttr {
        target_fd: cgroup.as_raw_fd() as u32,
        attach_bpf_fd: prog.as_raw_fd() as u32,
        attach_type,
        ..Default::default()
    };
    if bpf(BPF_PROG_DETACH, &mut attr) != 0 {
        return Err(crate::sys::last_error("bpf(BPF_PROG_DETACH)"));
    }
    Ok(())
}

/// Ids of the programs of `attach_type` attached directly to the cgroup open as `cgroup`.
pub fn prog_query(cgroup: &impl AsRawFd, attach_type: u32) -> Result<Vec<u32>> {
    let mut ids = vec![0u32; 64];
    loop {
        let mut attr = QueryAttr {
            target_fd: cgroup.as_raw_fd() as u32,
            attach_type,
            prog_ids: ids.as_mut_ptr() as u64,
            prog_cnt: ids.len() as u32,
            ..Default::default()
        };
        if bpf(BPF_PROG_QUERY, &mut attr) == 0 {
            ids.truncate(attr.prog_cnt as usize);
            return Ok(ids);
        }
        let err = std::io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EIO);
        if err == libc::ENOSPC && (attr.prog_cnt as usize) > ids.len() {
            ids = vec![0u32; attr.prog_cnt as usize];
            continue;
        }
        return Err(Error::from_errno(err, "bpf(BPF_PROG_QUERY)"));
    }
}

/// An fd for the loaded program with id `id`.
pub fn prog_fd_by_id(id: u32) -> Result<OwnedFd> {
    let mut attr = GetFdAttr {
        prog_id: id,
        ..Default::default()
    };
    let fd = bpf(BPF_PROG_GET_FD_BY_ID, &mut attr);
    if fd < 0 {
        return Err(crate::sys::last_error(format!(
            "bpf(BPF_PROG_GET_FD_BY_ID {id})"
        )));
    }
    // SAFETY: the kernel just returned this fd to us; nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}
