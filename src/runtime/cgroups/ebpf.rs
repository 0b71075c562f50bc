//! cgroup v2 device filter: a [`DeviceState`] assembled into a BPF_PROG_TYPE_CGROUP_DEVICE program
//! and attached to the container's cgroup (v2 has no devices.allow; the kernel runs the program on
//! every open and mknod of a device node).
//!
//! The program reads `struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; }`
//! (access_type = access << 16 | type) and returns 1 to allow, 0 to refuse:
//! ```text
//!   w2 = ctx->access_type; w3 = w2; w2 &= 0xffff; w3 >>= 16; w4 = ctx->major; w5 = ctx->minor
//!   per exception: if type, access, major, minor match → return !default
//!   return default
//! ```
//! All compares are 32-bit (BPF_JMP32), so majors and minors are compared as the kernel's u32.

use super::devices::{DeviceState, Exception, ACC_ALL};
use crate::base::error::Context;
use crate::base::Result;
use crate::sys::bpf::{self, BpfInsn};
use std::path::Path;

const BPF_DEVCG_DEV_BLOCK: i32 = 1;
const BPF_DEVCG_DEV_CHAR: i32 = 2;

// Opcodes (class | op | source).
const LDX_W: u8 = 0x61; // BPF_LDX | BPF_MEM | BPF_W
const ALU32_AND_K: u8 = 0x54;
const ALU32_RSH_K: u8 = 0x74;
const ALU32_MOV_K: u8 = 0xb4;
const ALU32_MOV_X: u8 = 0xbc;
const JMP32_JEQ_K: u8 = 0x16;
const JMP32_JNE_K: u8 = 0x56;
const JMP32_JNE_X: u8 = 0x5e;
const EXIT: u8 = 0x95;

fn insn(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> BpfInsn {
    BpfInsn {
        code,
        regs: dst | (src << 4),
        off,
        imm,
    }
}

/// The program for `state`.
pub fn device_filter(state: &DeviceState) -> Vec<BpfInsn> {
    let mut p = vec![
        insn(LDX_W, 2, 1, 0, 0),
        insn(ALU32_MOV_X, 3, 2, 0, 0),
        insn(ALU32_AND_K, 2, 0, 0, 0xffff),
        insn(ALU32_RSH_K, 3, 0, 0, 16),
        insn(LDX_W, 4, 1, 4, 0),
        insn(LDX_W, 5, 1, 8, 0),
    ];
    for e in &state.exceptions {
        let block = exception_block(e, state.default_allow);
        p.extend(block);
    }
    p.push(insn(ALU32_MOV_K, 0, 0, 0, state.default_allow as i32));
    p.push(insn(EXIT, 0, 0, 0, 0));
    p
}

/// Checks for one exception; every failed check jumps past the block's end.
fn exception_block(e: &Exception, default_allow: bool) -> Vec<BpfInsn> {
    // (code, dst, src, imm) with the jump offset filled in once the block's length is known.
    let mut checks: Vec<(u8, u8, u8, i32)> = Vec::new();
    let mut pre: Vec<Vec<BpfInsn>> = Vec::new();
    let ty = if e.kind == 'b' {
        BPF_DEVCG_DEV_BLOCK
    } else {
        BPF_DEVCG_DEV_CHAR
    };
    checks.push((JMP32_JNE_K, 2, 0, ty));
    pre.push(vec![]);
    if e.access != ACC_ALL {
        let setup = vec![
            insn(ALU32_MOV_X, 6, 3, 0, 0),
            insn(ALU32_AND_K, 6, 0, 0, e.access as i32),
        ];
        if default_allow {
            // Deny exception: refuses when the request shares any bit with it.
            checks.push((JMP32_JEQ_K, 6, 0, 0));
        } else {
            // Allow exception: allows only when it covers every requested bit.
            checks.push((JMP32_JNE_X, 6, 3, 0));
        }
        pre.push(setup);
    }
    if e.major >= 0 {
        checks.push((JMP32_JNE_K, 4, 0, e.major as u32 as i32));
        pre.push(vec![]);
    }
    if e.minor >= 0 {
        checks.push((JMP32_JNE_K, 5, 0, e.minor as u32 as i32));
        pre.push(vec![]);
    }
    let mut out = Vec::new();
    let mut jumps = Vec::new();
    for ((code, dst, src, imm), setup) in checks.into_iter().zip(pre) {
        out.extend(setup);
        jumps.push(out.len());
        out.push(insn(code, dst, src, 0, imm));
    }
    out.push(insn(ALU32_MOV_K, 0, 0, 0, (!default_allow) as i32));
    out.push(insn(EXIT, 0, 0, 0, 0));
    let end = out.len();
    for j in jumps {
        out[j].off = (end - j - 1) as i16;
    }
    out
}

/// Load the filter for `state` and make it the only device program on the cgroup at `dir`: the
/// new one is attached before the old ones are detached, so no instant is left unfiltered (with
/// BPF_F_ALLOW_MULTI every attached program must allow an access).
pub fn attach(dir: &Path, state: &DeviceState) -> Result<()> {
    let prog = device_filter(state);
    let what = || format!("set the device filter of cgroup {}", dir.display());
    let fd = bpf::load_cgroup_device_prog(&prog, "Apache-2.0").ctx(what)?;
    let cg = std::fs::File::open(dir).ctx(|| format!("open {}", dir.display()))?;
    let old = bpf::prog_query(&cg, bpf::BPF_CGROUP_DEVICE).ctx(what)?;
    bpf::prog_attach(&cg, &fd, bpf::BPF_CGROUP_DEVICE, bpf::BPF_F_ALLOW_MULTI).ctx(what)?;
    for id in old {
        match bpf::prog_fd_by_id(id) {
            Ok(ofd) => bpf::prog_detach(&cg, &ofd, bpf::BPF_CGROUP_DEVICE).ctx(what)?,
            // Detached and freed meanwhile: nothing to do.
            Err(e) if e.errno() == Some(ENOENT) => {}
            Err(e) => return Err(e.context(what())),
        }
    }
    Ok(())
}

const ENOENT: i32 = 2;

#[cfg(test)]
mod tests {
    use super::super::devices::{target_state, Rule, ACC_MKNOD, ACC_READ, ACC_WRITE};
    use super::*;
    use crate::oci::runtime::DeviceCgroup;

    /// An interpreter for the eBPF subset the filter uses, run on a bpf_cgroup_dev_ctx.
    fn run(p: &[BpfInsn], ty: u32, access: u32, major: u32, minor: u32) -> u64 {
        let ctx = [access << 16 | ty, major, minor];
        let mut r = [0u64; 11];
        let mut pc = 0usize;
        loop {
            let i = p[pc];
            pc += 1;
            let (dst, src) = ((i.regs & 0xf) as usize, (i.regs >> 4) as usize);
            let jump = |cond: bool, pc: &mut usize| {
                if cond {
                    *pc = (*pc as i64 + i.off as i64) as usize;
                }
            };
            match i.code {
                LDX_W => {
                    assert_eq!(src, 1, "loads only from the context");
                    r[dst] = ctx[i.off as usize / 4] as u64;
                }
                ALU32_AND_K => r[dst] = (r[dst] as u32 & i.imm as u32) as u64,
                ALU32_RSH_K => r[dst] = ((r[dst] as u32) >> i.imm) as u64,
                ALU32_MOV_K => r[dst] = i.imm as u32 as u64,
                ALU32_MOV_X => r[dst] = r[src] as u32 as u64,
                JMP32_JEQ_K => jump(r[dst] as u32 == i.imm as u32, &mut pc),
                JMP32_JNE_K => jump(r[dst] as u32 != i.imm as u32, &mut pc),
                JMP32_JNE_X => jump(r[dst] as u32 != r[src] as u32, &mut pc),
                EXIT => return r[0],
                c => panic!("unexpected opcode {c:#x}"),
            }
        }
    }

    fn check_against_state(s: &DeviceState) {
        let p = device_filter(s);
        for (kind, ty) in [('c', 2u32), ('b', 1u32)] {
            for major in [0i64, 1, 4, 5, 8, 10, 136, 4095] {
                for minor in [0i64, 1, 3, 5, 9, 200, 1 << 19] {
                    for access in 1u8..=7 {
                        let want = s.allows(kind, major, minor, access);
                        let got = run(&p, ty, access as u32, major as u32, minor as u32) == 1;
                        assert_eq!(
                            got, want,
                            "{kind} {major}:{minor} access {access} state {s:?}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn program_agrees_with_the_rule_semantics() {
        let dc = |allow, kind: &str, major, minor, access: &str| DeviceCgroup {
            allow,
            kind: Some(kind.into()),
            major,
            minor,
            access: Some(access.into()),
        };
        check_against_state(&target_state(&[dc(false, "a", None, None, "rwm")]).unwrap());
        check_against_state(
            &target_state(&[
                dc(false, "a", None, None, "rwm"),
                dc(true, "b", Some(8), None, "r"),
            ])
            .unwrap(),
        );
        check_against_state(&DeviceState::from_rules(&[
            Rule {
                allow: true,
                kind: 'a',
                major: -1,
                minor: -1,
                access: ACC_ALL,
            },
            Rule {
                allow: false,
                kind: 'c',
                major: 1,
                minor: 3,
                access: ACC_WRITE,
            },
            Rule {
                allow: false,
                kind: 'b',
                major: -1,
                minor: -1,
                access: ACC_MKNOD | ACC_READ,
            },
        ]));
        check_against_state(&DeviceState::deny_all());
        check_against_state(&DeviceState {
            default_allow: true,
            exceptions: vec![],
        });
    }

    #[test]
    fn docker_default_program_is_small() {
        let s = target_state(&[DeviceCgroup {
            allow: false,
            access: Some("rwm".into()),
            ..Default::default()
        }])
        .unwrap();
        let p = device_filter(&s);
        assert!(p.len() < 80, "{} instructions", p.len());
        assert_eq!(run(&p, 2, ACC_READ as u32 | ACC_WRITE as u32, 1, 3), 1);
        assert_eq!(run(&p, 1, ACC_READ as u32, 8, 0), 0);
    }
}
