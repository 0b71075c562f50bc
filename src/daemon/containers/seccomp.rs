//! seccomp profiles in Docker's format, and berth's built-in default profile.
//!
//! A Docker profile is the OCI `linux.seccomp` object plus conditions: a rule may apply only
//! when the container holds some capabilities (`includes.caps`, all of them), lacks them
//! (`excludes.caps`, any of them), runs on some architectures, or on a kernel at least as new as
//! `minKernel`; `archMap` lists an architecture with the sub-architectures to allow beside it.
//! [`Profile::to_oci`] resolves those conditions for one container (its bounding capabilities,
//! this host's architecture and kernel) and gives what the runtime compiles.
//!
//! The default ([`Profile::builtin`]) follows Docker's policy, written here as our own lists:
//! every syscall is denied (EPERM) except an allow list, which is the kernel's syscall table
//! minus what lets a container reach outside itself: the mount API, new namespaces (`clone`
//! with CLONE_NEW* flags; `clone3` answers ENOSYS so libcs fall back to `clone`), kernel
//! modules, keyrings, kexec, reboot, clock setting, BPF, perf events, swap, quotas, raw I/O
//! ports, NUMA policy, handle-based opens, io_uring, userfaultfd, and obsolete calls. Most of
//! those come back when the container is granted the capability that governs them (`--cap-add
//! SYS_ADMIN` allows mount, unshare, setns, ...), as in Docker. `--privileged` and
//! `--security-opt seccomp=unconfined` run without a filter.

use crate::base::{Error, Result};
use crate::oci::runtime::{Seccomp, SeccompArg, Syscall};
use serde::Deserialize;

/// A seccomp profile as `--security-opt seccomp=FILE` and `dockerd --seccomp-profile` take it.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct Profile {
    pub default_action: String,
    pub default_errno_ret: Option<u32>,
    pub architectures: Vec<String>,
    pub arch_map: Vec<ArchMap>,
    pub flags: Vec<String>,
    pub listener_path: Option<String>,
    pub listener_metadata: Option<String>,
    pub syscalls: Vec<Rule>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct ArchMap {
    pub architecture: String,
    pub sub_architectures: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct Rule {
    /// The old single-name form.
    pub name: String,
    pub names: Vec<String>,
    pub action: String,
    pub errno_ret: Option<u32>,
    pub args: Vec<Arg>,
    pub includes: Filter,
    pub excludes: Filter,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct Arg {
    pub index: u32,
    pub value: u64,
    pub value_two: u64,
    pub op: String,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct Filter {
    pub caps: Vec<String>,
    pub arches: Vec<String>,
    pub min_kernel: Option<String>,
}

/// The host facts a profile's conditions are resolved against.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Target<'a> {
    /// Go's name for this architecture, as profiles write it ("amd64", "arm64", ...).
    pub arch: &'a str,
    /// (major, minor) of the running kernel.
    pub kernel: (u32, u32),
}

impl Target<'static> {
    /// This build's architecture and the running kernel (read once: it is asked per container).
    pub fn host() -> Target<'static> {
        static HOST: std::sync::OnceLock<Target<'static>> = std::sync::OnceLock::new();
        *HOST.get_or_init(Target::read_host)
    }

    fn read_host() -> Target<'static> {
        let arch = match std::env::consts::ARCH {
            "x86_64" => "amd64",
            "x86" => "386",
            "aarch64" => "arm64",
            other => other,
        };
        Target {
            arch,
            kernel: parse_kernel(&super::super::host::kernel_version()).unwrap_or((0, 0)),
        }
    }
}

/// "5.10.0-8-amd64" → (5, 10): minor revisions and suffixes are ignored, as in Docker.
fn parse_kernel(v: &str) -> Option<(u32, u32)> {
    let mut it = v.split(['.', '-', '+']);
    let major = it.next()?.parse().ok()?;
    let minor = it.next()?.parse().ok()?;
    Some((major, minor))
}

/// The libseccomp name of a Go architecture.
fn scmp_arch(go_arch: &str) -> Option<&'static str> {
    Some(match go_arch {
        "amd64" => "SCMP_ARCH_X86_64",
        "386" => "SCMP_ARCH_X86",
        "arm64" => "SCMP_ARCH_AARCH64",
        "arm" => "SCMP_ARCH_ARM",
        "riscv64" => "SCMP_ARCH_RISCV64",
        "s390x" => "SCMP_ARCH_S390X",
        "ppc64le" => "SCMP_ARCH_PPC64LE",
        _ => return None,
    })
}

impl Profile {
    /// Parse a profile as the Docker CLI sends it (the file's contents).
    pub fn parse(json: &str) -> Result<Profile> {
        let p: Profile = serde_json::from_str(json)
            .map_err(|e| Error::invalid(format!("decoding seccomp profile failed: {e}")))?;
        if !p.architectures.is_empty() && !p.arch_map.is_empty() {
            return Err(Error::invalid(
                "'architectures' and 'archMap' were specified in the seccomp profile, use either 'architectures' or 'archMap'",
            ));
        }
        for r in &p.syscalls {
            if !r.name.is_empty() && !r.names.is_empty() {
                return Err(Error::invalid(
                    "'name' and 'names' were specified in the seccomp profile, use either 'name' or 'names'",
                ));
            }
        }
        Ok(p)
    }

    /// The rules that apply to a container with bounding capabilities `caps` on `target`.
    pub fn to_oci(&self, caps: &[String], target: Target<'_>) -> Result<Seccomp> {
        if self.default_action.is_empty() {
            return Err(Error::invalid("seccomp profile has no defaultAction"));
        }
        let mut architectures = self.architectures.clone();
        if let Some(native) = scmp_arch(target.arch) {
            for a in self.arch_map.iter().filter(|a| a.architecture == native) {
                architectures.push(a.architecture.clone());
                architectures.extend(a.sub_architectures.iter().cloned());
            }
        }
        let has = |c: &String| {
            let c = c.to_ascii_uppercase();
            let c = if c.starts_with("CAP_") {
                c
            } else {
                format!("CAP_{c}")
            };
            caps.iter().any(|x| x.eq_ignore_ascii_case(&c))
        };
        let at_least = |v: &Option<String>| -> Result<bool> {
            match v {
                None => Ok(true),
                Some(v) => parse_kernel(v).map(|k| target.kernel >= k).ok_or_else(|| {
                    Error::invalid(format!("invalid minKernel {v:?} in seccomp profile"))
                }),
            }
        };
        let mut syscalls = Vec::new();
        for r in &self.syscalls {
            let inc = &r.includes;
            let exc = &r.excludes;
            if (!inc.arches.is_empty() && !inc.arches.iter().any(|a| a == target.arch))
                || (!exc.arches.is_empty() && exc.arches.iter().any(|a| a == target.arch))
                || !inc.caps.iter().all(has)
                || (!exc.caps.is_empty() && exc.caps.iter().any(has))
                || !at_least(&inc.min_kernel)?
                || (exc.min_kernel.is_some() && at_least(&exc.min_kernel)?)
            {
                continue;
            }
            let names = if r.names.is_empty() {
                vec![r.name.clone()]
            } else {
                r.names.clone()
            };
            syscalls.push(Syscall {
                names,
                action: r.action.clone(),
                errno_ret: r.errno_ret,
                args: r
                    .args
                    .iter()
                    .map(|a| SeccompArg {
                        index: a.index,
                        value: a.value,
                        value_two: a.value_two,
                        op: a.op.clone(),
                    })
                    .collect(),
            });
        }
        Ok(Seccomp {
            default_action: self.default_action.clone(),
            default_errno_ret: self.default_errno_ret,
            architectures,
            flags: self.flags.clone(),
            listener_path: self.listener_path.clone(),
            listener_metadata: self.listener_metadata.clone(),
            syscalls,
        })
    }

    /// berth's default profile (see the module documentation).
    pub fn builtin() -> Profile {
        let rule = |names: &[&str], action: &str| Rule {
            names: names.iter().map(|s| s.to_string()).collect(),
            action: action.into(),
            ..Default::default()
        };
        let with_cap = |names: &[&str], cap: &str| Rule {
            includes: Filter {
                caps: vec![cap.into()],
                ..Default::default()
            },
            ..rule(names, "SCMP_ACT_ALLOW")
        };
        let without_cap = |mut r: Rule, cap: &str| {
            r.excludes.caps = vec![cap.into()];
            r
        };
        let mut syscalls = vec![rule(ALLOWED, "SCMP_ACT_ALLOW")];
        // Execution domains: only the ordinary Linux ones (and the query).
        for persona in [0x0, 0x8, 0x20000, 0x20008, 0xffff_ffff] {
            syscalls.push(Rule {
                args: vec![Arg {
                    index: 0,
                    value: persona,
                    value_two: 0,
                    op: "SCMP_CMP_EQ".into(),
                }],
                ..rule(&["personality"], "SCMP_ACT_ALLOW")
            });
        }
        // ptrace and reading another process's memory are confined by the pid namespace and
        // by ptrace's own checks on kernels from 4.8 (before, seccomp could be bypassed by it).
        syscalls.push(Rule {
            includes: Filter {
                min_kernel: Some("4.8".into()),
                ..Default::default()
            },
            ..rule(
                &["ptrace", "process_vm_readv", "process_vm_writev"],
                "SCMP_ACT_ALLOW",
            )
        });
        // Sockets of every family but vsock (a channel to the hypervisor).
        syscalls.push(Rule {
            args: vec![Arg {
                index: 0,
                value: 40,
                value_two: 0,
                op: "SCMP_CMP_NE".into(),
            }],
            ..rule(&["socket"], "SCMP_ACT_ALLOW")
        });
        // Threads and processes, but no new namespaces without CAP_SYS_ADMIN.
        syscalls.push(without_cap(
            Rule {
                args: vec![Arg {
                    index: 0,
                    value: CLONE_NEW_ANY,
                    value_two: 0,
                    op: "SCMP_CMP_MASKED_EQ".into(),
                }],
                ..rule(&["clone"], "SCMP_ACT_ALLOW")
            },
            "CAP_SYS_ADMIN",
        ));
        // clone3 passes its flags in memory a filter cannot read: ENOSYS, so libcs use clone.
        syscalls.push(without_cap(
            Rule {
                errno_ret: Some(38),
                ..rule(&["clone3"], "SCMP_ACT_ERRNO")
            },
            "CAP_SYS_ADMIN",
        ));
        for (cap, names) in CAP_GATED {
            syscalls.push(with_cap(names, cap));
        }
        Profile {
            default_action: "SCMP_ACT_ERRNO".into(),
            default_errno_ret: Some(1),
            arch_map: vec![
                ArchMap {
                    architecture: "SCMP_ARCH_X86_64".into(),
                    sub_architectures: vec!["SCMP_ARCH_X86".into(), "SCMP_ARCH_X32".into()],
                },
                ArchMap {
                    architecture: "SCMP_ARCH_AARCH64".into(),
                    sub_architectures: vec!["SCMP_ARCH_ARM".into()],
                },
            ],
            syscalls,
            ..Default::default()
        }
    }
}

/// The profile of `dockerd --seccomp-profile VALUE`: none given or `builtin` is berth's own,
/// `unconfined` is none at all, anything else a file in Docker's format.
pub fn daemon_profile(value: Option<&str>) -> Result<Option<std::sync::Arc<Profile>>> {
    let p = match value {
        None | Some("") | Some("builtin") => Profile::builtin(),
        Some("unconfined") => return Ok(None),
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| {
                Error::invalid(format!("opening seccomp profile ({path}) failed: {e}"))
            })?;
            Profile::parse(&text)?
        }
    };
    Ok(Some(std::sync::Arc::new(p)))
}

/// CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID |
/// CLONE_NEWNET.
const CLONE_NEW_ANY: u64 =
    0x0002_0000 | 0x0200_0000 | 0x0400_0000 | 0x0800_0000 | 0x1000_0000 | 0x2000_0000 | 0x4000_0000;

/// Syscalls a capability brings back (any one of the listed capabilities, rule by rule).
const CAP_GATED: &[(&str, &[&str])] = &[
    (
        "CAP_SYS_ADMIN",
        &[
            "bpf",
            "clone",
            "clone3",
            "fanotify_init",
            "fsconfig",
            "fsmount",
            "fsopen",
            "fspick",
            "lookup_dcookie",
            "mount",
            "mount_setattr",
            "move_mount",
            "name_to_handle_at",
            "open_tree",
            "open_tree_attr",
            "perf_event_open",
            "pivot_root",
            "quotactl",
            "quotactl_fd",
            "setdomainname",
            "sethostname",
            "setns",
            "swapoff",
            "swapon",
            "umount",
            "umount2",
            "unshare",
        ],
    ),
    ("CAP_BPF", &["bpf"]),
    ("CAP_PERFMON", &["perf_event_open"]),
    ("CAP_SYS_BOOT", &["kexec_file_load", "kexec_load", "reboot"]),
    ("CAP_SYS_CHROOT", &["chroot"]),
    (
        "CAP_SYS_MODULE",
        &["delete_module", "finit_module", "init_module"],
    ),
    ("CAP_SYS_PACCT", &["acct"]),
    (
        "CAP_SYS_PTRACE",
        &[
            "kcmp",
            "pidfd_getfd",
            "process_vm_readv",
            "process_vm_writev",
            "ptrace",
            "userfaultfd",
        ],
    ),
    ("CAP_SYS_RAWIO", &["ioperm", "iopl"]),
    (
        "CAP_SYS_TIME",
        &[
            "clock_adjtime",
            "clock_adjtime64",
            "clock_settime",
            "clock_settime64",
            "settimeofday",
            "stime",
        ],
    ),
    ("CAP_SYS_TTY_CONFIG", &["vhangup"]),
    (
        "CAP_SYS_NICE",
        &[
            "get_mempolicy",
            "mbind",
            "migrate_pages",
            "move_pages",
            "set_mempolicy",
            "set_mempolicy_home_node",
        ],
    ),
    ("CAP_SYSLOG", &["syslog"]),
    ("CAP_DAC_READ_SEARCH", &["open_by_handle_at"]),
];

/// Allowed for every container: the x86_64, i386 and x32 syscall tables of Linux 6.18 minus
/// the calls listed in CAP_GATED, the conditional rules above (personality, ptrace and
/// process_vm_*, socket, clone, clone3), and these, denied outright: keyrings (add_key,
/// keyctl, request_key), io_uring_*, memfd_secret, lsm_set_self_attr, old module and sysctl
/// interfaces (create_module, get_kernel_syms, query_module, nfsservctl, _sysctl, sysfs, uselib,
/// ustat, bdflush), vm86 and vm86old, and entry points no kernel implements (afs_syscall, break,
/// ftime, getpmsg, gtty, idle, lock, mpx, prof, profil, putpmsg, security, stty, tuxcall, ulimit,
/// vserver, epoll_ctl_old, epoll_wait_old).
const ALLOWED: &[&str] = &[
    "_llseek",
    "_newselect",
    "accept",
    "accept4",
    "access",
    "adjtimex",
    "alarm",
    "arch_prctl",
    "bind",
    "brk",
    "cachestat",
    "capget",
    "capset",
    "chdir",
    "chmod",
    "chown",
    "chown32",
    "clock_getres",
    "clock_getres_time64",
    "clock_gettime",
    "clock_gettime64",
    "clock_nanosleep",
    "clock_nanosleep_time64",
    "close",
    "close_range",
    "connect",
    "copy_file_range",
    "creat",
    "dup",
    "dup2",
    "dup3",
    "epoll_create",
    "epoll_create1",
    "epoll_ctl",
    "epoll_pwait",
    "epoll_pwait2",
    "epoll_wait",
    "eventfd",
    "eventfd2",
    "execve",
    "execveat",
    "exit",
    "exit_group",
    "faccessat",
    "faccessat2",
    "fadvise64",
    "fadvise64_64",
    "fallocate",
    "fanotify_mark",
    "fchdir",
    "fchmod",
    "fchmodat",
    "fchmodat2",
    "fchown",
    "fchown32",
    "fchownat",
    "fcntl",
    "fcntl64",
    "fdatasync",
    "fgetxattr",
    "file_getattr",
    "file_setattr",
    "flistxattr",
    "flock",
    "fork",
    "fremovexattr",
    "fsetxattr",
    "fstat",
    "fstat64",
    "fstatat64",
    "fstatfs",
    "fstatfs64",
    "fsync",
    "ftruncate",
    "ftruncate64",
    "futex",
    "futex_requeue",
    "futex_time64",
    "futex_wait",
    "futex_waitv",
    "futex_wake",
    "futimesat",
    "get_robust_list",
    "get_thread_area",
    "getcpu",
    "getcwd",
    "getdents",
    "getdents64",
    "getegid",
    "getegid32",
    "geteuid",
    "geteuid32",
    "getgid",
    "getgid32",
    "getgroups",
    "getgroups32",
    "getitimer",
    "getpeername",
    "getpgid",
    "getpgrp",
    "getpid",
    "getppid",
    "getpriority",
    "getrandom",
    "getresgid",
    "getresgid32",
    "getresuid",
    "getresuid32",
    "getrlimit",
    "getrusage",
    "getsid",
    "getsockname",
    "getsockopt",
    "gettid",
    "gettimeofday",
    "getuid",
    "getuid32",
    "getxattr",
    "getxattrat",
    "inotify_add_watch",
    "inotify_init",
    "inotify_init1",
    "inotify_rm_watch",
    "io_cancel",
    "io_destroy",
    "io_getevents",
    "io_pgetevents",
    "io_pgetevents_time64",
    "io_setup",
    "io_submit",
    "ioctl",
    "ioprio_get",
    "ioprio_set",
    "ipc",
    "kill",
    "landlock_add_rule",
    "landlock_create_ruleset",
    "landlock_restrict_self",
    "lchown",
    "lchown32",
    "lgetxattr",
    "link",
    "linkat",
    "listen",
    "listmount",
    "listxattr",
    "listxattrat",
    "llistxattr",
    "lremovexattr",
    "lseek",
    "lsetxattr",
    "lsm_get_self_attr",
    "lsm_list_modules",
    "lstat",
    "lstat64",
    "madvise",
    "map_shadow_stack",
    "membarrier",
    "memfd_create",
    "mincore",
    "mkdir",
    "mkdirat",
    "mknod",
    "mknodat",
    "mlock",
    "mlock2",
    "mlockall",
    "mmap",
    "mmap2",
    "modify_ldt",
    "mprotect",
    "mq_getsetattr",
    "mq_notify",
    "mq_open",
    "mq_timedreceive",
    "mq_timedreceive_time64",
    "mq_timedsend",
    "mq_timedsend_time64",
    "mq_unlink",
    "mremap",
    "mseal",
    "msgctl",
    "msgget",
    "msgrcv",
    "msgsnd",
    "msync",
    "munlock",
    "munlockall",
    "munmap",
    "nanosleep",
    "newfstatat",
    "nice",
    "oldfstat",
    "oldlstat",
    "oldolduname",
    "oldstat",
    "olduname",
    "open",
    "openat",
    "openat2",
    "pause",
    "pidfd_open",
    "pidfd_send_signal",
    "pipe",
    "pipe2",
    "pkey_alloc",
    "pkey_free",
    "pkey_mprotect",
    "poll",
    "ppoll",
    "ppoll_time64",
    "prctl",
    "pread64",
    "preadv",
    "preadv2",
    "prlimit64",
    "process_madvise",
    "process_mrelease",
    "pselect6",
    "pselect6_time64",
    "pwrite64",
    "pwritev",
    "pwritev2",
    "read",
    "readahead",
    "readdir",
    "readlink",
    "readlinkat",
    "readv",
    "recvfrom",
    "recvmmsg",
    "recvmmsg_time64",
    "recvmsg",
    "remap_file_pages",
    "removexattr",
    "removexattrat",
    "rename",
    "renameat",
    "renameat2",
    "restart_syscall",
    "rmdir",
    "rseq",
    "rt_sigaction",
    "rt_sigpending",
    "rt_sigprocmask",
    "rt_sigqueueinfo",
    "rt_sigreturn",
    "rt_sigsuspend",
    "rt_sigtimedwait",
    "rt_sigtimedwait_time64",
    "rt_tgsigqueueinfo",
    "sched_get_priority_max",
    "sched_get_priority_min",
    "sched_getaffinity",
    "sched_getattr",
    "sched_getparam",
    "sched_getscheduler",
    "sched_rr_get_interval",
    "sched_rr_get_interval_time64",
    "sched_setaffinity",
    "sched_setattr",
    "sched_setparam",
    "sched_setscheduler",
    "sched_yield",
    "seccomp",
    "select",
    "semctl",
    "semget",
    "semop",
    "semtimedop",
    "semtimedop_time64",
    "sendfile",
    "sendfile64",
    "sendmmsg",
    "sendmsg",
    "sendto",
    "set_robust_list",
    "set_thread_area",
    "set_tid_address",
    "setfsgid",
    "setfsgid32",
    "setfsuid",
    "setfsuid32",
    "setgid",
    "setgid32",
    "setgroups",
    "setgroups32",
    "setitimer",
    "setpgid",
    "setpriority",
    "setregid",
    "setregid32",
    "setresgid",
    "setresgid32",
    "setresuid",
    "setresuid32",
    "setreuid",
    "setreuid32",
    "setrlimit",
    "setsid",
    "setsockopt",
    "setuid",
    "setuid32",
    "setxattr",
    "setxattrat",
    "sgetmask",
    "shmat",
    "shmctl",
    "shmdt",
    "shmget",
    "shutdown",
    "sigaction",
    "sigaltstack",
    "signal",
    "signalfd",
    "signalfd4",
    "sigpending",
    "sigprocmask",
    "sigreturn",
    "sigsuspend",
    "socketcall",
    "socketpair",
    "splice",
    "ssetmask",
    "stat",
    "stat64",
    "statfs",
    "statfs64",
    "statmount",
    "statx",
    "symlink",
    "symlinkat",
    "sync",
    "sync_file_range",
    "syncfs",
    "sysinfo",
    "tee",
    "tgkill",
    "time",
    "timer_create",
    "timer_delete",
    "timer_getoverrun",
    "timer_gettime",
    "timer_gettime64",
    "timer_settime",
    "timer_settime64",
    "timerfd_create",
    "timerfd_gettime",
    "timerfd_gettime64",
    "timerfd_settime",
    "timerfd_settime64",
    "times",
    "tkill",
    "truncate",
    "truncate64",
    "ugetrlimit",
    "umask",
    "uname",
    "unlink",
    "unlinkat",
    "uretprobe",
    "utime",
    "utimensat",
    "utimensat_time64",
    "utimes",
    "vfork",
    "vmsplice",
    "wait4",
    "waitid",
    "waitpid",
    "write",
    "writev",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn caps(c: &[&str]) -> Vec<String> {
        c.iter().map(|s| s.to_string()).collect()
    }

    const HOST: Target<'static> = Target {
        arch: "amd64",
        kernel: (6, 1),
    };

    fn allowed(s: &Seccomp, name: &str) -> Vec<Vec<SeccompArg>> {
        s.syscalls
            .iter()
            .filter(|r| r.action == "SCMP_ACT_ALLOW" && r.names.iter().any(|n| n == name))
            .map(|r| r.args.clone())
            .collect()
    }

    #[test]
    fn the_builtin_profile_denies_by_default_and_gates_by_capability() {
        let plain = Profile::builtin()
            .to_oci(&caps(&["CAP_CHOWN", "CAP_SYS_CHROOT"]), HOST)
            .unwrap();
        assert_eq!(plain.default_action, "SCMP_ACT_ERRNO");
        assert_eq!(plain.default_errno_ret, Some(1));
        assert_eq!(
            plain.architectures,
            ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]
        );
        for n in ["read", "execve", "chroot", "ptrace"] {
            assert_eq!(allowed(&plain, n), [vec![]], "{n}");
        }
        for n in [
            "mount",
            "unshare",
            "setns",
            "keyctl",
            "bpf",
            "reboot",
            "io_uring_setup",
            "kexec_load",
        ] {
            assert!(allowed(&plain, n).is_empty(), "{n} must not be allowed");
        }
        // clone only without namespace flags; clone3 answers ENOSYS.
        let clone = allowed(&plain, "clone");
        assert_eq!(clone.len(), 1);
        assert_eq!(clone[0][0].op, "SCMP_CMP_MASKED_EQ");
        assert_eq!(clone[0][0].value, 0x7E02_0000);
        let c3 = plain
            .syscalls
            .iter()
            .find(|r| r.names == ["clone3"])
            .unwrap();
        assert_eq!(
            (c3.action.as_str(), c3.errno_ret),
            ("SCMP_ACT_ERRNO", Some(38))
        );
        // personality: five values only.
        assert_eq!(allowed(&plain, "personality").len(), 5);

        let admin = Profile::builtin()
            .to_oci(&caps(&["CAP_SYS_ADMIN"]), HOST)
            .unwrap();
        for n in ["mount", "unshare", "setns", "bpf", "clone", "clone3"] {
            assert!(
                allowed(&admin, n).iter().any(|a| a.is_empty()),
                "{n} with SYS_ADMIN"
            );
        }
        assert!(!admin
            .syscalls
            .iter()
            .any(|r| r.names == ["clone3"] && r.action == "SCMP_ACT_ERRNO"));
        assert!(
            allowed(&admin, "chroot").is_empty(),
            "chroot needs SYS_CHROOT"
        );
        // An old kernel: no ptrace.
        let old = Profile::builtin()
            .to_oci(
                &[],
                Target {
                    arch: "amd64",
                    kernel: (4, 4),
                },
            )
            .unwrap();
        assert!(allowed(&old, "ptrace").is_empty());
    }

    #[test]
    fn every_allowed_name_is_sorted_unique_and_not_gated() {
        assert!(
            ALLOWED.windows(2).all(|w| w[0] < w[1]),
            "ALLOWED is sorted and unique"
        );
        for (_, names) in CAP_GATED {
            for n in *names {
                assert!(!ALLOWED.contains(n), "{n} is both allowed and gated");
            }
        }
        for n in [
            "personality",
            "socket",
            "clone",
            "clone3",
            "ptrace",
            "keyctl",
            "io_uring_enter",
        ] {
            assert!(!ALLOWED.contains(&n), "{n}");
        }
    }

    #[test]
    fn docker_profiles_resolve_their_conditions() {
        let p = Profile::parse(
            r#"{"defaultAction":"SCMP_ACT_ALLOW",
                "archMap":[{"architecture":"SCMP_ARCH_X86_64","subArchitectures":["SCMP_ARCH_X86"]},
                           {"architecture":"SCMP_ARCH_AARCH64","subArchitectures":[]}],
                "syscalls":[
                  {"name":"chmod","action":"SCMP_ACT_ERRNO","errnoRet":13},
                  {"names":["mkdir"],"action":"SCMP_ACT_ERRNO","excludes":{"caps":["CAP_FOWNER"]}},
                  {"names":["rmdir"],"action":"SCMP_ACT_ERRNO","includes":{"arches":["arm64"]}},
                  {"names":["link"],"action":"SCMP_ACT_ERRNO","includes":{"minKernel":"9.0"}},
                  {"names":["symlink"],"action":"SCMP_ACT_ERRNO","args":[{"index":1,"value":2,"op":"SCMP_CMP_GE"}]}
                ]}"#,
        )
        .unwrap();
        let s = p.to_oci(&caps(&["CAP_CHOWN"]), HOST).unwrap();
        assert_eq!(s.architectures, ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"]);
        let names: Vec<&str> = s.syscalls.iter().map(|r| r.names[0].as_str()).collect();
        assert_eq!(names, ["chmod", "mkdir", "symlink"]);
        assert_eq!(s.syscalls[0].errno_ret, Some(13));
        assert_eq!(s.syscalls[2].args[0].index, 1);
        let s = p.to_oci(&caps(&["CAP_FOWNER"]), HOST).unwrap();
        assert!(!s.syscalls.iter().any(|r| r.names == ["mkdir"]));

        for (bad, msg) in [
            ("{", "decoding seccomp profile failed"),
            (
                r#"{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86_64"],"archMap":[{"architecture":"SCMP_ARCH_X86_64"}]}"#,
                "use either 'architectures' or 'archMap'",
            ),
            (
                r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"name":"a","names":["b"],"action":"SCMP_ACT_ERRNO"}]}"#,
                "use either 'name' or 'names'",
            ),
        ] {
            let e = Profile::parse(bad).unwrap_err().to_string();
            assert!(e.contains(msg), "{e}");
        }
        assert!(Profile::parse("{}").unwrap().to_oci(&[], HOST).is_err());
    }

    #[test]
    fn kernel_versions_ignore_revisions_and_suffixes() {
        assert_eq!(parse_kernel("6.18.44-fc-v657"), Some((6, 18)));
        assert_eq!(parse_kernel("3.12-1-amd64"), Some((3, 12)));
        assert_eq!(parse_kernel("4.8"), Some((4, 8)));
        assert_eq!(parse_kernel("x"), None);
    }
}
