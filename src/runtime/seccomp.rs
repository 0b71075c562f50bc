//! seccomp: the spec's `linux.seccomp` compiled to a classic-BPF program in Rust (no libseccomp).
//!
//! Program shape (every jump is forward, as the kernel requires):
//! ```text
//!   ld  arch
//!   jeq AUDIT_ARCH_X86_64 → x86_64      (x32 shares this arch value: told apart by bit 30 of nr)
//!   jeq AUDIT_ARCH_I386   → i386        (only when SCMP_ARCH_X86 is listed)
//!   ret <bad-arch action>
//! x86_64: ld nr; jset X32_SYSCALL_BIT → x32 section or bad arch; <decision tree over nr>
//! x32:    <decision tree over nr>       (only when SCMP_ARCH_X32 is listed)
//! i386:   ld nr; <decision tree over nr>
//! per-syscall blocks with argument checks, then one `ret` per distinct action
//! ```
//! The decision tree is a binary search over ranges of syscall numbers sharing one outcome, so a
//! Docker-sized profile costs about ten comparisons per syscall and well under the 4096-instruction
//! limit.
//!
//! Semantics follow runc + libseccomp where the spec is silent:
//! - names unknown for an architecture are ignored (runc logs them at debug level);
//! - a rule whose action equals the default action is dropped;
//! - args: several conditions on distinct argument indexes are ANDed in one rule; if an index
//!   repeats, each condition becomes its own rule (runc's compatibility behaviour);
//! - for one syscall, its conditional rules are tried in profile order before its unconditional
//!   one; with none matching, the default action applies;
//! - 64-bit comparisons are unsigned and split into high and low 32-bit words; on i386 only the low
//!   word exists (the datum is truncated, as libseccomp does for 32-bit ABIs);
//! - syscalls numbered above the highest one the profile names get ENOSYS instead of a denying
//!   default action, so newer libcs fall back from syscalls the profile does not know (runc's
//!   "enosys" patch, e.g. clone3 → clone);
//! - a foreign architecture gets the default action when that action denies; when the default
//!   lets syscalls run (ALLOW, LOG, TRACE) a foreign architecture is killed instead (libseccomp's
//!   bad-arch action), so 32-bit entry points cannot bypass a deny list.

mod syscalls;

use crate::base::{Error, Result};
use crate::oci::runtime::{Seccomp, SeccompArg};
use crate::sys::seccomp::{self as sys, SockFilter};
use std::collections::BTreeMap;

pub const AUDIT_ARCH_X86_64: u32 = 0xC000_003E;
pub const AUDIT_ARCH_I386: u32 = 0x4000_0003;
pub const X32_SYSCALL_BIT: u32 = 0x4000_0000;

/// SECCOMP_RET_* values.
pub const RET_KILL_PROCESS: u32 = 0x8000_0000;
pub const RET_KILL_THREAD: u32 = 0x0000_0000;
pub const RET_TRAP: u32 = 0x0003_0000;
pub const RET_ERRNO: u32 = 0x0005_0000;
pub const RET_TRACE: u32 = 0x7ff0_0000;
pub const RET_LOG: u32 = 0x7ffc_0000;
pub const RET_ALLOW: u32 = 0x7fff_0000;

const EPERM: u16 = 1;
const ENOSYS: u16 = 38;

/// Offsets in `struct seccomp_data` (little endian).
const OFF_NR: u32 = 0;
const OFF_ARCH: u32 = 4;
fn off_arg_lo(i: u32) -> u32 {
    16 + 8 * i
}
fn off_arg_hi(i: u32) -> u32 {
    16 + 8 * i + 4
}

/// Action names the compiler accepts (`runc features` lists them).
pub const KNOWN_ACTIONS: &[&str] = &[
    "SCMP_ACT_ALLOW",
    "SCMP_ACT_ERRNO",
    "SCMP_ACT_KILL",
    "SCMP_ACT_KILL_PROCESS",
    "SCMP_ACT_KILL_THREAD",
    "SCMP_ACT_LOG",
    "SCMP_ACT_TRACE",
    "SCMP_ACT_TRAP",
];
pub const KNOWN_OPERATORS: &[&str] = &[
    "SCMP_CMP_EQ",
    "SCMP_CMP_GE",
    "SCMP_CMP_GT",
    "SCMP_CMP_LE",
    "SCMP_CMP_LT",
    "SCMP_CMP_MASKED_EQ",
    "SCMP_CMP_NE",
];
/// Architectures with syscall tables here; the others are accepted and ignored (a process on this
/// machine can never present their AUDIT_ARCH value).
pub const ENFORCED_ARCHS: &[&str] = &["SCMP_ARCH_X32", "SCMP_ARCH_X86", "SCMP_ARCH_X86_64"];
pub const KNOWN_ARCHS: &[&str] = &[
    "SCMP_ARCH_AARCH64",
    "SCMP_ARCH_ARM",
    "SCMP_ARCH_LOONGARCH64",
    "SCMP_ARCH_MIPS",
    "SCMP_ARCH_MIPS64",
    "SCMP_ARCH_MIPS64N32",
    "SCMP_ARCH_MIPSEL",
    "SCMP_ARCH_MIPSEL64",
    "SCMP_ARCH_MIPSEL64N32",
    "SCMP_ARCH_PPC",
    "SCMP_ARCH_PPC64",
    "SCMP_ARCH_PPC64LE",
    "SCMP_ARCH_RISCV64",
    "SCMP_ARCH_S390",
    "SCMP_ARCH_S390X",
    "SCMP_ARCH_X32",
    "SCMP_ARCH_X86",
    "SCMP_ARCH_X86_64",
];
pub const KNOWN_FLAGS: &[&str] = &[
    "SECCOMP_FILTER_FLAG_TSYNC",
    "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
    "SECCOMP_FILTER_FLAG_LOG",
];

/// The flags of [`KNOWN_FLAGS`] the running kernel accepts (`runc features` lists them).
pub fn supported_flags() -> Vec<&'static str> {
    let bit = |f: &str| match f {
        "SECCOMP_FILTER_FLAG_TSYNC" => sys::SECCOMP_FILTER_FLAG_TSYNC,
        "SECCOMP_FILTER_FLAG_LOG" => sys::SECCOMP_FILTER_FLAG_LOG,
        _ => sys::SECCOMP_FILTER_FLAG_SPEC_ALLOW,
    };
    KNOWN_FLAGS
        .iter()
        .copied()
        .filter(|f| sys::flag_supported(bit(f)))
        .collect()
}

/// What the kernel does with a syscall.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Action {
    KillThread,
    KillProcess,
    Trap,
    Errno(u16),
    Trace(u16),
    Log,
    Allow,
}

impl Action {
    /// `SCMP_ACT_*` with the spec's errnoRet (ERRNO and TRACE default to EPERM, as in runc).
    pub fn parse(name: &str, errno_ret: Option<u32>) -> Result<Action> {
        let errno = |v: Option<u32>| -> Result<u16> {
            match v {
                None => Ok(EPERM),
                Some(n) if n <= 0xffff => Ok(n as u16),
                Some(n) => Err(Error::invalid(format!(
                    "seccomp errnoRet {n} is out of range (0 to 65535)"
                ))),
            }
        };
        Ok(match name {
            "SCMP_ACT_KILL" | "SCMP_ACT_KILL_THREAD" => Action::KillThread,
            "SCMP_ACT_KILL_PROCESS" => Action::KillProcess,
            "SCMP_ACT_TRAP" => Action::Trap,
            "SCMP_ACT_ERRNO" => Action::Errno(errno(errno_ret)?),
            "SCMP_ACT_TRACE" => Action::Trace(errno(errno_ret)?),
            "SCMP_ACT_LOG" => Action::Log,
            "SCMP_ACT_ALLOW" => Action::Allow,
            "SCMP_ACT_NOTIFY" => {
                return Err(Error::unsupported(
                    "seccomp action SCMP_ACT_NOTIFY is not supported by berth",
                ));
            }
            other => {
                return Err(Error::invalid(format!(
                    "string {other} is not a valid action for seccomp"
                )))
            }
        })
    }

    /// The SECCOMP_RET_* value a filter returns.
    pub fn ret(self) -> u32 {
        match self {
            Action::KillThread => RET_KILL_THREAD,
            Action::KillProcess => RET_KILL_PROCESS,
            Action::Trap => RET_TRAP,
            Action::Errno(e) => RET_ERRNO | e as u32,
            Action::Trace(e) => RET_TRACE | e as u32,
            Action::Log => RET_LOG,
            Action::Allow => RET_ALLOW,
        }
    }

    /// Actions under which the syscall (eventually) runs: ENOSYS stubs and bad-arch kills are
    /// not applied on top of them.
    fn lets_syscall_run(self) -> bool {
        matches!(self, Action::Allow | Action::Log | Action::Trace(_))
    }
}

/// Comparison operators (`SCMP_CMP_*`), unsigned 64-bit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Ne,
    Lt,
    Le,
    Eq,
    Ge,
    Gt,
    MaskedEq,
}

impl Op {
    pub fn parse(s: &str) -> Result<Op> {
        Ok(match s {
            "SCMP_CMP_NE" => Op::Ne,
            "SCMP_CMP_LT" => Op::Lt,
            "SCMP_CMP_LE" => Op::Le,
            "SCMP_CMP_EQ" => Op::Eq,
            "SCMP_CMP_GE" => Op::Ge,
            "SCMP_CMP_GT" => Op::Gt,
            "SCMP_CMP_MASKED_EQ" => Op::MaskedEq,
            other => {
                return Err(Error::invalid(format!(
                    "string {other} is not a valid operator for seccomp"
                )))
            }
        })
    }

    /// The comparison itself, as the compiled filter performs it (used by tests and docs).
    pub fn matches(self, arg: u64, value: u64, value_two: u64) -> bool {
        match self {
            Op::Ne => arg != value,
            Op::Lt => arg < value,
            Op::Le => arg <= value,
            Op::Eq => arg == value,
            Op::Ge => arg >= value,
            Op::Gt => arg > value,
            Op::MaskedEq => arg & value == value_two,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Cond {
    index: u32,
    op: Op,
    value: u64,
    value_two: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Abi {
    X86_64,
    X32,
    I386,
}

impl Abi {
    fn table(self) -> &'static [(&'static str, u32)] {
        match self {
            Abi::X86_64 => syscalls::X86_64,
            Abi::X32 => syscalls::X32,
            Abi::I386 => syscalls::I386,
        }
    }
    /// The smallest syscall number of this ABI's section.
    fn base(self) -> u32 {
        if self == Abi::X32 {
            X32_SYSCALL_BIT
        } else {
            0
        }
    }
    /// Whether syscall arguments are 64 bits wide.
    fn wide_args(self) -> bool {
        self != Abi::I386
    }
}

/// The number of `name` on x86_64, if the table knows it.
pub fn syscall_number(name: &str) -> Option<u32> {
    lookup(Abi::X86_64, name)
}

fn lookup(abi: Abi, name: &str) -> Option<u32> {
    let t = abi.table();
    t.binary_search_by(|(n, _)| (*n).cmp(name))
        .ok()
        .map(|i| t[i].1)
}

/// A compiled filter, ready to install.
#[derive(Debug, Clone, PartialEq)]
pub struct Program {
    filter: Vec<SockFilter>,
    flags: u32,
}

impl Program {
    /// Install the filter on the calling thread (all threads with SECCOMP_FILTER_FLAG_TSYNC).
    /// Needs no_new_privs or CAP_SYS_ADMIN, and must come after everything the runtime itself
    /// still has to do that the profile may deny.
    pub fn install(&self) -> Result<()> {
        sys::set_mode_filter(&self.filter, self.flags).map_err(|e| e.context("load seccomp filter"))
    }
    pub fn instructions(&self) -> &[SockFilter] {
        &self.filter
    }
    /// SECCOMP_FILTER_FLAG_* bits passed to seccomp(2).
    pub fn flags(&self) -> u32 {
        self.flags
    }
}

/// Compile the spec's seccomp section to BPF.
pub fn compile(spec: &Seccomp) -> Result<Program> {
    let default = Action::parse(&spec.default_action, spec.default_errno_ret)
        .map_err(|e| e.context("seccomp defaultAction"))?;
    if spec.listener_path.as_deref().is_some_and(|p| !p.is_empty()) {
        return Err(Error::unsupported(
            "seccomp listenerPath (SCMP_ACT_NOTIFY) is not supported by berth",
        ));
    }
    let mut abis = vec![Abi::X86_64];
    for a in &spec.architectures {
        match a.as_str() {
            "SCMP_ARCH_X86_64" => {}
            "SCMP_ARCH_X86" => abis.push(Abi::I386),
            "SCMP_ARCH_X32" => abis.push(Abi::X32),
            other if KNOWN_ARCHS.contains(&other) => {}
            other => {
                return Err(Error::invalid(format!(
                    "error validating Seccomp architecture: unknown architecture {other}"
                )))
            }
        }
    }
    abis.dedup();
    let mut flags = 0;
    for f in &spec.flags {
        flags |= match f.as_str() {
            "SECCOMP_FILTER_FLAG_TSYNC" => sys::SECCOMP_FILTER_FLAG_TSYNC,
            "SECCOMP_FILTER_FLAG_LOG" => sys::SECCOMP_FILTER_FLAG_LOG,
            "SECCOMP_FILTER_FLAG_SPEC_ALLOW" => sys::SECCOMP_FILTER_FLAG_SPEC_ALLOW,
            other => {
                return Err(Error::invalid(format!(
                    "seccomp flag {other} is not known to berth"
                )))
            }
        };
    }

    // Rules per ABI and syscall number, in profile order.
    let mut rules: BTreeMap<(u8, u32), Vec<(Vec<Cond>, Action)>> = BTreeMap::new();
    for (i, call) in spec.syscalls.iter().enumerate() {
        let action = Action::parse(&call.action, call.errno_ret)
            .map_err(|e| e.context(format!("seccomp syscalls[{i}]")))?;
        let conds = call
            .args
            .iter()
            .map(cond)
            .collect::<Result<Vec<_>>>()
            .map_err(|e| e.context(format!("seccomp syscalls[{i}]")))?;
        if action == default {
            continue;
        }
        let mut seen = [0u8; 6];
        for c in &conds {
            seen[c.index as usize] += 1;
        }
        let groups: Vec<Vec<Cond>> = if seen.iter().any(|&n| n > 1) {
            conds.iter().map(|c| vec![*c]).collect()
        } else {
            vec![conds]
        };
        for name in &call.names {
            if name.is_empty() {
                return Err(Error::invalid(format!(
                    "seccomp syscalls[{i}]: empty string is not a valid syscall"
                )));
            }
            let mut known = false;
            for (ai, &abi) in abis.iter().enumerate() {
                if let Some(nr) = lookup(abi, name) {
                    known = true;
                    let list = rules.entry((ai as u8, nr)).or_default();
                    for g in &groups {
                        list.push((g.clone(), action));
                    }
                }
            }
            if !known {
                log::debug!("unknown seccomp syscall {name:?} ignored");
            }
        }
    }

    let bad_arch = if default.lets_syscall_run() {
        Action::KillThread
    } else {
        default
    };
    let mut asm = Asm::default();
    let mut rets: BTreeMap<Action, Label> = BTreeMap::new();
    let mut ret_label = |asm: &mut Asm, a: Action| *rets.entry(a).or_insert_with(|| asm.label());
    let default_l = ret_label(&mut asm, default);
    let bad_arch_l = ret_label(&mut asm, bad_arch);
    let enosys_l = ret_label(&mut asm, Action::Errno(ENOSYS));

    let section: Vec<Label> = abis.iter().map(|_| asm.label()).collect();
    let pos = |abi: Abi| abis.iter().position(|&a| a == abi);
    asm.ld(OFF_ARCH);
    let mut archs = vec![(AUDIT_ARCH_X86_64, section[0])];
    if let Some(i) = pos(Abi::I386) {
        archs.push((AUDIT_ARCH_I386, section[i]));
    }
    for (value, target) in archs {
        let next = asm.label();
        asm.jmp(Jmp::Eq, value, target, next);
        asm.bind(next);
    }
    asm.ja(bad_arch_l);

    let mut blocks: Vec<(Label, Abi, Vec<(Vec<Cond>, Action)>)> = Vec::new();
    for (ai, &abi) in abis.iter().enumerate() {
        asm.bind(section[ai]);
        if abi != Abi::X32 {
            asm.ld(OFF_NR);
        }
        if abi == Abi::X86_64 {
            let x32 = pos(Abi::X32).map(|i| section[i]).unwrap_or(bad_arch_l);
            let native = asm.label();
            asm.jmp(Jmp::Set, X32_SYSCALL_BIT, x32, native);
            asm.bind(native);
        }
        // Outcome per syscall number, then ranges of equal outcomes.
        let mine: Vec<(u32, &Vec<(Vec<Cond>, Action)>)> = rules
            .iter()
            .filter(|((a, _), _)| *a as usize == ai)
            .map(|((_, nr), r)| (*nr, r))
            .collect();
        let mut segs: Vec<(u32, Label)> = vec![(abi.base(), default_l)];
        let push = |segs: &mut Vec<(u32, Label)>, start: u32, l: Label| {
            if segs.last().is_some_and(|s| s.0 == start) {
                segs.pop();
            }
            if segs.last().map(|s| s.1) != Some(l) {
                segs.push((start, l));
            }
        };
        for (nr, list) in &mine {
            let target = if list.iter().all(|(c, _)| c.is_empty()) {
                ret_label(&mut asm, list[0].1)
            } else {
                let l = asm.label();
                blocks.push((l, abi, (*list).clone()));
                l
            };
            push(&mut segs, *nr, target);
            push(&mut segs, nr + 1, default_l);
        }
        if let Some((max, _)) = mine.last() {
            if !default.lets_syscall_run() {
                push(&mut segs, max + 1, enosys_l);
            }
        }
        emit_tree(&mut asm, &segs);
        // Per-syscall blocks of this section.
        for (l, abi, list) in blocks.drain(..) {
            asm.bind(l);
            let mut fallback = default;
            let mut fell = false;
            for (conds, action) in &list {
                if conds.is_empty() {
                    if !fell {
                        fallback = *action;
                        fell = true;
                    }
                    continue;
                }
                let next = asm.label();
                let target = ret_label(&mut asm, *action);
                for c in conds {
                    emit_cond(&mut asm, abi, c, next);
                }
                asm.ja(target);
                asm.bind(next);
            }
            let l = ret_label(&mut asm, fallback);
            asm.ja(l);
        }
    }
    for (action, l) in rets {
        asm.bind(l);
        asm.ret(action.ret());
    }
    let filter = asm.finish()?;
    if filter.len() > sys::BPF_MAXINSNS {
        return Err(Error::invalid(format!(
            "seccomp profile compiles to {} BPF instructions, more than the kernel's limit of {}",
            filter.len(),
            sys::BPF_MAXINSNS
        )));
    }
    Ok(Program { filter, flags })
}

fn cond(a: &SeccompArg) -> Result<Cond> {
    if a.index >= 6 {
        return Err(Error::invalid(format!(
            "seccomp argument index {} is out of range (0 to 5)",
            a.index
        )));
    }
    Ok(Cond {
        index: a.index,
        op: Op::parse(&a.op)?,
        value: a.value,
        value_two: a.value_two,
    })
}

/// Binary search over `segs` (sorted starts; the first covers the section's lowest number).
fn emit_tree(asm: &mut Asm, segs: &[(u32, Label)]) {
    if segs.len() == 1 {
        asm.ja(segs[0].1);
        return;
    }
    let mid = segs.len() / 2;
    let (left, right) = segs.split_at(mid);
    let lt = if left.len() == 1 {
        left[0].1
    } else {
        asm.label()
    };
    let rt = if right.len() == 1 {
        right[0].1
    } else {
        asm.label()
    };
    asm.jmp(Jmp::Ge, right[0].0, rt, lt);
    if left.len() > 1 {
        asm.bind(lt);
        emit_tree(asm, left);
    }
    if right.len() > 1 {
        asm.bind(rt);
        emit_tree(asm, right);
    }
}

/// One argument condition; falls through when it holds, jumps to `fail` otherwise.
fn emit_cond(asm: &mut Asm, abi: Abi, c: &Cond, fail: Label) {
    let (hi, lo) = ((c.value >> 32) as u32, c.value as u32);
    let pass = asm.label();
    if !abi.wide_args() {
        // 32-bit ABI: only the low word exists.
        asm.ld(off_arg_lo(c.index));
        match c.op {
            Op::Eq => asm.jmp(Jmp::Eq, lo, pass, fail),
            Op::Ne => asm.jmp(Jmp::Eq, lo, fail, pass),
            Op::Gt => asm.jmp(Jmp::Gt, lo, pass, fail),
            Op::Ge => asm.jmp(Jmp::Ge, lo, pass, fail),
            Op::Lt => asm.jmp(Jmp::Ge, lo, fail, pass),
            Op::Le => asm.jmp(Jmp::Gt, lo, fail, pass),
            Op::MaskedEq => {
                asm.and(lo);
                asm.jmp(Jmp::Eq, c.value_two as u32, pass, fail)
            }
        }
        asm.bind(pass);
        return;
    }
    let low = asm.label();
    asm.ld(off_arg_hi(c.index));
    match c.op {
        Op::Eq => {
            asm.jmp(Jmp::Eq, hi, low, fail);
            asm.bind(low);
            asm.ld(off_arg_lo(c.index));
            asm.jmp(Jmp::Eq, lo, pass, fail);
        }
        Op::Ne => {
            asm.jmp(Jmp::Eq, hi, low, pass);
            asm.bind(low);
            asm.ld(off_arg_lo(c.index));
            asm.jmp(Jmp::Eq, lo, fail, pass);
        }
        Op::Gt | Op::Ge => {
            // hi > v.hi → pass; hi == v.hi → decide on the low word; else fail.
            let eq = asm.label();
            asm.jmp(Jmp::Gt, hi, pass, eq);
            asm.bind(eq);
            asm.jmp(Jmp::Eq, hi, low, fail);
            asm.bind(low);
            asm.ld(off_arg_lo(c.index));
            asm.jmp(
                if c.op == Op::Gt { Jmp::Gt } else { Jmp::Ge },
                lo,
                pass,
                fail,
            );
        }
        Op::Lt | Op::Le => {
            // hi > v.hi → fail; hi == v.hi → decide on the low word; else pass.
            let eq = asm.label();
            asm.jmp(Jmp::Gt, hi, fail, eq);
            asm.bind(eq);
            asm.jmp(Jmp::Eq, hi, low, pass);
            asm.bind(low);
            asm.ld(off_arg_lo(c.index));
            asm.jmp(
                if c.op == Op::Lt { Jmp::Ge } else { Jmp::Gt },
                lo,
                fail,
                pass,
            );
        }
        Op::MaskedEq => {
            let (dhi, dlo) = ((c.value_two >> 32) as u32, c.value_two as u32);
            asm.and(hi);
            asm.jmp(Jmp::Eq, dhi, low, fail);
            asm.bind(low);
            asm.ld(off_arg_lo(c.index));
            asm.and(lo);
            asm.jmp(Jmp::Eq, dlo, pass, fail);
        }
    }
    asm.bind(pass);
}

// ---- a tiny classic-BPF assembler with labels and automatic long jumps ----

const BPF_LD_W_ABS: u16 = 0x20;
const BPF_ALU_AND_K: u16 = 0x54;
const BPF_JA: u16 = 0x05;
const BPF_JEQ_K: u16 = 0x15;
const BPF_JGT_K: u16 = 0x25;
const BPF_JGE_K: u16 = 0x35;
const BPF_JSET_K: u16 = 0x45;
const BPF_RET_K: u16 = 0x06;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Label(usize);

#[derive(Debug, Clone, Copy)]
enum Jmp {
    Eq,
    Gt,
    Ge,
    Set,
}

#[derive(Debug, Clone, Copy)]
enum Ins {
    Ld(u32),
    And(u32),
    Jmp {
        op: Jmp,
        k: u32,
        jt: Label,
        jf: Label,
        long: bool,
    },
    Ja(Label),
    Ret(u32),
    Bind(Label),
}

#[derive(Default)]
struct Asm {
    code: Vec<Ins>,
    labels: usize,
}

impl Asm {
    fn label(&mut self) -> Label {
        self.labels += 1;
        Label(self.labels - 1)
    }
    fn bind(&mut self, l: Label) {
        self.code.push(Ins::Bind(l));
    }
    fn ld(&mut self, off: u32) {
        self.code.push(Ins::Ld(off));
    }
    fn and(&mut self, k: u32) {
        self.code.push(Ins::And(k));
    }
    fn jmp(&mut self, op: Jmp, k: u32, jt: Label, jf: Label) {
        self.code.push(Ins::Jmp {
            op,
            k,
            jt,
            jf,
            long: false,
        });
    }
    fn ja(&mut self, l: Label) {
        self.code.push(Ins::Ja(l));
    }
    fn ret(&mut self, k: u32) {
        self.code.push(Ins::Ret(k));
    }

    fn size(i: &Ins) -> usize {
        match i {
            Ins::Bind(_) => 0,
            Ins::Jmp { long: true, .. } => 3,
            _ => 1,
        }
    }

    /// Lay out and resolve labels. A conditional jump whose target is more than 255 instructions
    /// away becomes `jcc k, 0, 1; ja jt; ja jf`; repeat until every short jump fits.
    fn finish(mut self) -> Result<Vec<SockFilter>> {
        loop {
            let (pos, at) = self.layout()?;
            let mut changed = false;
            for (i, ins) in self.code.iter_mut().enumerate() {
                if let Ins::Jmp {
                    jt,
                    jf,
                    long: long @ false,
                    ..
                } = ins
                {
                    let here = pos[i] + 1;
                    if at[jt.0] - here > 255 || at[jf.0] - here > 255 {
                        *long = true;
                        changed = true;
                    }
                }
            }
            if !changed {
                break;
            }
        }
        let (pos, at) = self.layout()?;
        let mut out = Vec::with_capacity(pos.last().copied().unwrap_or(0) + 1);
        let ins = |code, jt, jf, k| SockFilter { code, jt, jf, k };
        for (i, c) in self.code.iter().enumerate() {
            let here = pos[i] + 1;
            match *c {
                Ins::Bind(_) => {}
                Ins::Ld(off) => out.push(ins(BPF_LD_W_ABS, 0, 0, off)),
                Ins::And(k) => out.push(ins(BPF_ALU_AND_K, 0, 0, k)),
                Ins::Ret(k) => out.push(ins(BPF_RET_K, 0, 0, k)),
                Ins::Ja(l) => out.push(ins(BPF_JA, 0, 0, (at[l.0] - here) as u32)),
                Ins::Jmp {
                    op,
                    k,
                    jt,
                    jf,
                    long,
                } => {
                    let code = match op {
                        Jmp::Eq => BPF_JEQ_K,
                        Jmp::Gt => BPF_JGT_K,
                        Jmp::Ge => BPF_JGE_K,
                        Jmp::Set => BPF_JSET_K,
                    };
                    if long {
                        out.push(ins(code, 0, 1, k));
                        out.push(ins(BPF_JA, 0, 0, (at[jt.0] - (here + 1)) as u32));
                        out.push(ins(BPF_JA, 0, 0, (at[jf.0] - (here + 2)) as u32));
                    } else {
                        out.push(ins(
                            code,
                            (at[jt.0] - here) as u8,
                            (at[jf.0] - here) as u8,
                            k,
                        ));
                    }
                }
            }
        }
        Ok(out)
    }

    /// Position of each instruction and of each label; errors on a backward or unbound label.
    fn layout(&self) -> Result<(Vec<usize>, Vec<usize>)> {
        let mut pos = Vec::with_capacity(self.code.len());
        let mut at = vec![usize::MAX; self.labels];
        let mut p = 0;
        for c in &self.code {
            pos.push(p);
            if let Ins::Bind(l) = c {
                at[l.0] = p;
            }
            p += Self::size(c);
        }
        let check = |l: &Label, p: usize| -> Result<()> {
            if at[l.0] == usize::MAX || at[l.0] <= p {
                return Err(Error::internal(format!(
                    "seccomp compiler: label {} is unbound or behind instruction {p}",
                    l.0
                )));
            }
            Ok(())
        };
        for (i, c) in self.code.iter().enumerate() {
            match c {
                Ins::Ja(l) => check(l, pos[i])?,
                Ins::Jmp { jt, jf, .. } => {
                    check(jt, pos[i])?;
                    check(jf, pos[i])?;
                }
                _ => {}
            }
        }
        Ok((pos, at))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oci::runtime::Syscall;

    /// A classic-BPF interpreter for the instructions the compiler emits, run on a seccomp_data.
    fn run(prog: &[SockFilter], arch: u32, nr: u32, args: [u64; 6]) -> u32 {
        let mut data = Vec::with_capacity(64);
        data.extend_from_slice(&nr.to_le_bytes());
        data.extend_from_slice(&arch.to_le_bytes());
        data.extend_from_slice(&0u64.to_le_bytes());
        for a in args {
            data.extend_from_slice(&a.to_le_bytes());
        }
        let mut a: u32 = 0;
        let mut pc = 0usize;
        let mut steps = 0;
        loop {
            steps += 1;
            assert!(steps < 10_000, "runaway program");
            let i = prog[pc];
            pc += 1;
            match i.code {
                BPF_LD_W_ABS => {
                    let o = i.k as usize;
                    a = u32::from_le_bytes(data[o..o + 4].try_into().unwrap());
                }
                BPF_ALU_AND_K => a &= i.k,
                BPF_JA => pc += i.k as usize,
                BPF_JEQ_K | BPF_JGT_K | BPF_JGE_K | BPF_JSET_K => {
                    let t = match i.code {
                        BPF_JEQ_K => a == i.k,
                        BPF_JGT_K => a > i.k,
                        BPF_JGE_K => a >= i.k,
                        _ => a & i.k != 0,
                    };
                    pc += if t { i.jt } else { i.jf } as usize;
                }
                BPF_RET_K => return i.k,
                c => panic!("unexpected opcode {c:#x}"),
            }
        }
    }

    fn x64(prog: &Program, name: &str, args: [u64; 6]) -> u32 {
        run(
            &prog.filter,
            AUDIT_ARCH_X86_64,
            syscall_number(name).unwrap(),
            args,
        )
    }

    fn rule(names: &[&str], action: &str) -> Syscall {
        Syscall {
            names: names.iter().map(|s| s.to_string()).collect(),
            action: action.into(),
            ..Default::default()
        }
    }

    fn arg(index: u32, op: &str, value: u64, value_two: u64) -> SeccompArg {
        SeccompArg {
            index,
            value,
            value_two,
            op: op.into(),
        }
    }

    #[test]
    fn syscall_tables_are_sorted_and_right() {
        for t in [syscalls::X86_64, syscalls::I386, syscalls::X32] {
            assert!(t.windows(2).all(|w| w[0].0 < w[1].0), "table not sorted");
        }
        assert_eq!(syscall_number("read"), Some(0));
        assert_eq!(syscall_number("getpid"), Some(39));
        assert_eq!(syscall_number("mkdir"), Some(83));
        assert_eq!(syscall_number("clone3"), Some(435));
        assert_eq!(syscall_number("mseal"), Some(462));
        assert_eq!(lookup(Abi::I386, "getpid"), Some(20));
        assert_eq!(lookup(Abi::X32, "getpid"), Some(X32_SYSCALL_BIT | 39));
        assert_eq!(lookup(Abi::I386, "arch_prctl"), Some(384));
        assert_eq!(syscall_number("no_such_syscall"), None);
    }

    #[test]
    fn default_errno_and_allow_list() {
        let spec = Seccomp {
            default_action: "SCMP_ACT_ERRNO".into(),
            default_errno_ret: Some(38),
            syscalls: vec![rule(
                &["read", "write", "exit_group", "futex_wake"],
                "SCMP_ACT_ALLOW",
            )],
            ..Default::default()
        };
        let p = compile(&spec).unwrap();
        assert_eq!(x64(&p, "read", [0; 6]), RET_ALLOW);
        assert_eq!(x64(&p, "write", [0; 6]), RET_ALLOW);
        assert_eq!(x64(&p, "getpid", [0; 6]), RET_ERRNO | 38);
        // Above the highest named syscall (futex_wake = 454): ENOSYS.
        assert_eq!(
            run(&p.filter, AUDIT_ARCH_X86_64, 455, [0; 6]),
            RET_ERRNO | 38
        );
        // Foreign arch with a denying default: the default action.
        assert_eq!(run(&p.filter, AUDIT_ARCH_I386, 3, [0; 6]), RET_ERRNO | 38);
        // x32 not listed: bad arch.
        assert_eq!(
            run(&p.filter, AUDIT_ARCH_X86_64, X32_SYSCALL_BIT, [0; 6]),
            RET_ERRNO | 38
        );
    }

    #[test]
    fn enosys_above_the_profile_with_eperm_default() {
        let spec = Seccomp {
            default_action: "SCMP_ACT_ERRNO".into(),
            syscalls: vec![rule(&["read", "getpid"], "SCMP_ACT_ALLOW")],
            ..Default::default()
        };
        let p = compile(&spec).unwrap();
        assert_eq!(x64(&p, "getpid", [0; 6]), RET_ALLOW);
        assert_eq!(x64(&p, "write", [0; 6]), RET_ERRNO | 1);
        assert_eq!(x64(&p, "clone3", [0; 6]), RET_ERRNO | ENOSYS as u32);
    }

    #[test]
    fn deny_list_with_allow_default_kills_foreign_arch() {
        let spec = Seccomp {
            default_action: "SCMP_ACT_ALLOW".into(),
            syscalls: vec![
                Syscall {
                    errno_ret: Some(13),
                    ..rule(&["mkdir", "mkdirat"], "SCMP_ACT_ERRNO")
                },
                rule(&["getpid"], "SCMP_ACT_ERRNO"),
                rule(&["ptrace"], "SCMP_ACT_KILL_PROCESS"),
                rule(&["kexec_load"], "SCMP_ACT_KILL"),
                rule(&["acct"], "SCMP_ACT_TRAP"),
                rule(&["syslog"], "SCMP_ACT_LOG"),
                Syscall {
                    errno_ret: Some(5),
                    ..rule(&["reboot"], "SCMP_ACT_TRACE")
                },
                rule(&["this_syscall_does_not_exist"], "SCMP_ACT_KILL"),
                rule(&["getuid"], "SCMP_ACT_ALLOW"),
            ],
            ..Default::default()
        };
        let p = compile(&spec).unwrap();
        assert_eq!(x64(&p, "mkdir", [0; 6]), RET_ERRNO | 13);
        assert_eq!(x64(&p, "mkdirat", [0; 6]), RET_ERRNO | 13);
        assert_eq!(x64(&p, "getpid", [0; 6]), RET_ERRNO | 1);
        assert_eq!(x64(&p, "ptrace", [0; 6]), RET_KILL_PROCESS);
        assert_eq!(x64(&p, "kexec_load", [0; 6]), RET_KILL_THREAD);
        assert_eq!(x64(&p, "acct", [0; 6]), RET_TRAP);
        assert_eq!(x64(&p, "syslog", [0; 6]), RET_LOG);
        assert_eq!(x64(&p, "reboot", [0; 6]), RET_TRACE | 5);
        assert_eq!(x64(&p, "getuid", [0; 6]), RET_ALLOW);
        assert_eq!(x64(&p, "read", [0; 6]), RET_ALLOW);
        // Allow default: no ENOSYS stub, new syscalls run.
        assert_eq!(run(&p.filter, AUDIT_ARCH_X86_64, 600, [0; 6]), RET_ALLOW);
        // i386 not listed: killed rather than allowed past the deny list.
        assert_eq!(run(&p.filter, AUDIT_ARCH_I386, 39, [0; 6]), RET_KILL_THREAD);
        assert_eq!(run(&p.filter, 0xC000_00B7, 39, [0; 6]), RET_KILL_THREAD); // aarch64
        assert_eq!(
            run(&p.filter, AUDIT_ARCH_X86_64, X32_SYSCALL_BIT | 83, [0; 6]),
            RET_KILL_THREAD
        );
    }

    #[test]
    fn x86_and_x32_sections_use_their_own_numbers() {
        let spec = Seccomp {
            default_action: "SCMP_ACT_ALLOW".into(),
            architectures: vec![
                "SCMP_ARCH_X86_64".into(),
                "SCMP_ARCH_X86".into(),
                "SCMP_ARCH_X32".into(),
            ],
            syscalls: vec![rule(&["getpid", "arch_prctl"], "SCMP_ACT_ERRNO")],
            ..Default::default()
        };
        let p = compile(&spec).unwrap();
        assert_eq!(run(&p.filter, AUDIT_ARCH_X86_64, 39, [0; 6]), RET_ERRNO | 1);
        assert_eq!(
            run(&p.filter, AUDIT_ARCH_X86_64, 158, [0; 6]),
            RET_ERRNO | 1
        ); // arch_prctl
        assert_eq!(run(&p.filter, AUDIT_ARCH_X86_64, 20, [0; 6]), RET_ALLOW);
        assert_eq!(run(&p.filter, AUDIT_ARCH_I386, 20, [0; 6]), RET_ERRNO | 1); // i386 getpid
        assert_eq!(run(&p.filter, AUDIT_ARCH_I386, 39, [0; 6]), RET_ALLOW); // i386 mkdir
        assert_eq!(run(&p.filter, AUDIT_ARCH_I386, 384, [0; 6]), RET_ERRNO | 1); // i386 arch_prctl
        assert_eq!(
            run(&p.filter, AUDIT_ARCH_X86_64, X32_SYSCALL_BIT | 39, [0; 6]),
            RET_ERRNO | 1
        );
        assert_eq!(
            run(&p.filter, AUDIT_ARCH_X86_64, X32_SYSCALL_BIT | 20, [0; 6]),
            RET_ALLOW
        );
        // Unknown arches are ignored, invalid names are errors.
        let mut s = spec.clone();
        s.architectures.push("SCMP_ARCH_AARCH64".into());
        assert!(compile(&s).is_ok());
        s.architectures.push("SCMP_ARCH_VAX".into());
        assert!(compile(&s)
            .unwrap_err()
            .to_string()
            .contains("SCMP_ARCH_VAX"));
    }

    /// Every operator against values around the datum, in both words, on x86_64 and i386.
    #[test]
    fn argument_comparisons_match_unsigned_64_bit_semantics() {
        let values = [
            0u64,
            1,
            5,
            0xffff_ffff,
            0x1_0000_0000,
            0x1_0000_0005,
            0x2_0000_0000,
            u64::MAX,
            0x8000_0000_0000_0000,
        ];
        let ops = [
            "SCMP_CMP_NE",
            "SCMP_CMP_LT",
            "SCMP_CMP_LE",
            "SCMP_CMP_EQ",
            "SCMP_CMP_GE",
            "SCMP_CMP_GT",
            "SCMP_CMP_MASKED_EQ",
        ];
        for op in ops {
            for &v in &values {
                let two = v & 0xf0f0_f0f0_f0f0_f0f0;
                let spec = Seccomp {
                    default_action: "SCMP_ACT_ALLOW".into(),
                    architectures: vec!["SCMP_ARCH_X86".into()],
                    syscalls: vec![Syscall {
                        args: vec![arg(2, op, v, two)],
                        ..rule(&["getpid"], "SCMP_ACT_ERRNO")
                    }],
                    ..Default::default()
                };
                let p = compile(&spec).unwrap();
                let o = Op::parse(op).unwrap();
                for &a in &values {
                    let want = if o.matches(a, v, two) {
                        RET_ERRNO | 1
                    } else {
                        RET_ALLOW
                    };
                    let got = x64(&p, "getpid", [0, 0, a, 0, 0, 0]);
                    assert_eq!(got, want, "{op} arg {a:#x} value {v:#x}");
                    // i386: 32-bit arguments against the truncated datum.
                    let a32 = a & 0xffff_ffff;
                    let want = if o.matches(a32, v & 0xffff_ffff, two & 0xffff_ffff) {
                        RET_ERRNO | 1
                    } else {
                        RET_ALLOW
                    };
                    assert_eq!(
                        run(&p.filter, AUDIT_ARCH_I386, 20, [0, 0, a32, 0, 0, 0]),
                        want,
                        "i386 {op} {a32:#x} {v:#x}"
                    );
                }
            }
        }
    }

    #[test]
    fn conditions_on_distinct_args_are_anded_repeated_index_is_ored() {
        let spec = Seccomp {
            default_action: "SCMP_ACT_ERRNO".into(),
            syscalls: vec![
                // personality(0) or personality(8): same index twice → two rules.
                Syscall {
                    args: vec![arg(0, "SCMP_CMP_EQ", 0, 0), arg(0, "SCMP_CMP_EQ", 8, 0)],
                    ..rule(&["personality"], "SCMP_ACT_ALLOW")
                },
                // socket(AF_UNIX=1, type < 3): both must hold.
                Syscall {
                    args: vec![arg(0, "SCMP_CMP_EQ", 1, 0), arg(1, "SCMP_CMP_LT", 3, 0)],
                    ..rule(&["socket"], "SCMP_ACT_ALLOW")
                },
                // clone without namespace flags (Docker's profile shape).
                Syscall {
                    args: vec![arg(0, "SCMP_CMP_MASKED_EQ", 0x7E02_0000, 0)],
                    ..rule(&["clone"], "SCMP_ACT_ALLOW")
                },
                rule(&["read"], "SCMP_ACT_ALLOW"),
            ],
            ..Default::default()
        };
        let p = compile(&spec).unwrap();
        let deny = RET_ERRNO | 1;
        assert_eq!(x64(&p, "personality", [0, 0, 0, 0, 0, 0]), RET_ALLOW);
        assert_eq!(x64(&p, "personality", [8, 0, 0, 0, 0, 0]), RET_ALLOW);
        assert_eq!(x64(&p, "personality", [4, 0, 0, 0, 0, 0]), deny);
        assert_eq!(x64(&p, "socket", [1, 2, 0, 0, 0, 0]), RET_ALLOW);
        assert_eq!(x64(&p, "socket", [1, 3, 0, 0, 0, 0]), deny);
        assert_eq!(x64(&p, "socket", [2, 1, 0, 0, 0, 0]), deny);
        assert_eq!(x64(&p, "clone", [0x11, 0, 0, 0, 0, 0]), RET_ALLOW);
        assert_eq!(x64(&p, "clone", [0x1000_0011, 0, 0, 0, 0, 0]), deny); // CLONE_NEWUSER
    }

    #[test]
    fn conditional_rules_before_the_unconditional_one() {
        let spec = Seccomp {
            default_action: "SCMP_ACT_ALLOW".into(),
            syscalls: vec![
                rule(&["kill"], "SCMP_ACT_ERRNO"),
                Syscall {
                    args: vec![arg(1, "SCMP_CMP_EQ", 0, 0)],
                    ..rule(&["kill"], "SCMP_ACT_LOG")
                },
            ],
            ..Default::default()
        };
        let p = compile(&spec).unwrap();
        assert_eq!(x64(&p, "kill", [1, 0, 0, 0, 0, 0]), RET_LOG);
        assert_eq!(x64(&p, "kill", [1, 9, 0, 0, 0, 0]), RET_ERRNO | 1);
    }

    #[test]
    fn docker_sized_profile_fits_and_jumps_resolve() {
        // Every syscall allowed individually, some with argument checks, for three ABIs: long
        // jumps must be generated and every name must still come out right.
        let names: Vec<&str> = syscalls::X86_64
            .iter()
            .map(|(n, _)| *n)
            .filter(|n| *n != "getpid")
            .collect();
        let mut calls = vec![rule(&names, "SCMP_ACT_ALLOW")];
        for (i, n) in names.iter().enumerate().step_by(7) {
            calls.push(Syscall {
                args: vec![arg((i % 6) as u32, "SCMP_CMP_EQ", i as u64, 0)],
                ..rule(&[n], "SCMP_ACT_LOG")
            });
        }
        let spec = Seccomp {
            default_action: "SCMP_ACT_ERRNO".into(),
            architectures: vec![
                "SCMP_ARCH_X86_64".into(),
                "SCMP_ARCH_X86".into(),
                "SCMP_ARCH_X32".into(),
            ],
            syscalls: calls,
            ..Default::default()
        };
        let p = compile(&spec).unwrap();
        assert!(
            p.filter.len() < sys::BPF_MAXINSNS,
            "{} instructions",
            p.filter.len()
        );
        for (i, n) in names.iter().enumerate() {
            let mut args = [0u64; 6];
            if i % 7 == 0 {
                args[i % 6] = i as u64;
                assert_eq!(x64(&p, n, args), RET_LOG, "{n}");
                args[i % 6] = i as u64 + 1;
            }
            assert_eq!(x64(&p, n, args), RET_ALLOW, "{n}");
        }
        assert_eq!(x64(&p, "getpid", [0; 6]), RET_ERRNO | 1);
        assert_eq!(
            run(
                &p.filter,
                AUDIT_ARCH_I386,
                lookup(Abi::I386, "getpid").unwrap(),
                [0; 6]
            ),
            RET_ERRNO | 1
        );
        assert_eq!(
            run(
                &p.filter,
                AUDIT_ARCH_I386,
                lookup(Abi::I386, "read").unwrap(),
                [0; 6]
            ),
            RET_ALLOW
        );
        assert_eq!(
            run(
                &p.filter,
                AUDIT_ARCH_X86_64,
                lookup(Abi::X32, "read").unwrap(),
                [0; 6]
            ),
            RET_ALLOW
        );
    }

    #[test]
    fn long_jumps_are_exact() {
        let mut asm = Asm::default();
        let far = asm.label();
        let near = asm.label();
        asm.ld(OFF_NR);
        asm.jmp(Jmp::Eq, 7, far, near);
        asm.bind(near);
        for _ in 0..300 {
            asm.ld(OFF_ARCH);
        }
        asm.ret(1);
        asm.bind(far);
        asm.ret(2);
        let prog = asm.finish().unwrap();
        assert_eq!(prog.len(), 1 + 3 + 300 + 2);
        assert_eq!(run(&prog, 0, 7, [0; 6]), 2);
        assert_eq!(run(&prog, 0, 8, [0; 6]), 1);
    }

    #[test]
    fn this_kernel_supports_the_known_flags() {
        assert_eq!(supported_flags(), KNOWN_FLAGS.to_vec());
    }

    #[test]
    fn flags_actions_and_errors() {
        let mut spec = Seccomp {
            default_action: "SCMP_ACT_ALLOW".into(),
            flags: vec![
                "SECCOMP_FILTER_FLAG_LOG".into(),
                "SECCOMP_FILTER_FLAG_SPEC_ALLOW".into(),
                "SECCOMP_FILTER_FLAG_TSYNC".into(),
            ],
            ..Default::default()
        };
        assert_eq!(compile(&spec).unwrap().flags(), 7);
        spec.flags = vec!["SECCOMP_FILTER_FLAG_BOGUS".into()];
        assert!(compile(&spec)
            .unwrap_err()
            .to_string()
            .contains("SECCOMP_FILTER_FLAG_BOGUS"));
        spec.flags.clear();
        spec.default_action = "SCMP_ACT_NOTIFY".into();
        assert!(compile(&spec).is_err());
        spec.default_action = "SCMP_ACT_BOGUS".into();
        assert!(compile(&spec)
            .unwrap_err()
            .to_string()
            .contains("not a valid action"));
        spec.default_action = "SCMP_ACT_ALLOW".into();
        spec.syscalls = vec![Syscall {
            args: vec![arg(6, "SCMP_CMP_EQ", 0, 0)],
            ..rule(&["read"], "SCMP_ACT_ERRNO")
        }];
        assert!(compile(&spec).unwrap_err().to_string().contains("index 6"));
        spec.syscalls = vec![Syscall {
            args: vec![arg(0, "SCMP_CMP_XX", 0, 0)],
            ..rule(&["read"], "SCMP_ACT_ERRNO")
        }];
        assert!(compile(&spec)
            .unwrap_err()
            .to_string()
            .contains("not a valid operator"));
        spec.syscalls = vec![Syscall {
            errno_ret: Some(70000),
            ..rule(&["read"], "SCMP_ACT_ERRNO")
        }];
        assert!(compile(&spec).is_err());
        // A rule equal to the default is dropped: the program is the same as without it.
        spec.syscalls = vec![rule(&["read"], "SCMP_ACT_ALLOW")];
        let a = compile(&spec).unwrap();
        spec.syscalls.clear();
        assert_eq!(a, compile(&spec).unwrap());
    }
}
