//! seccomp filters compiled by `berth::runtime::seccomp`, installed for real in a child process:
//! this test binary re-executes itself with BERTH_SECCOMP_CHILD naming a scenario; the child
//! installs the filter, makes the syscalls, prints one line per check and _exits.

mod common;

use berth::oci::runtime::{Seccomp, SeccompArg, Syscall};
use berth::runtime::seccomp::compile;
use std::process::Command;

const CHILD_ENV: &str = "BERTH_SECCOMP_CHILD";

fn rule(names: &[&str], action: &str, errno: Option<u32>, args: Vec<SeccompArg>) -> Syscall {
    Syscall {
        names: names.iter().map(|s| s.to_string()).collect(),
        action: action.into(),
        errno_ret: errno,
        args,
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

/// errno of the last failed call.
fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

/// Raw syscall returning (result, errno).
fn sys(nr: libc::c_long, a: [libc::c_long; 3]) -> (libc::c_long, i32) {
    // SAFETY: test-only raw syscalls with integer or valid pointer arguments.
    let r = unsafe { libc::syscall(nr, a[0], a[1], a[2]) };
    (r, if r < 0 { errno() } else { 0 })
}

/// Run scenario `name` in a re-executed child; returns (exit status, stdout).
fn run_child(name: &str, dir: &std::path::Path) -> (std::process::ExitStatus, String) {
    let exe = std::env::current_exe().unwrap();
    let out = Command::new(exe)
        .args(["--exact", "child_entry", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, name)
        .env("BERTH_SECCOMP_DIR", dir)
        .output()
        .unwrap();
    (
        out.status,
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn assert_checks(name: &str, out: &str, expected: &[&str]) {
    // The harness prints "test child_entry ... " without a newline before the child's lines.
    let lines: Vec<&str> = out
        .lines()
        .filter_map(|l| l.find("check ").map(|i| &l[i..]))
        .collect();
    for e in expected {
        assert!(
            lines.contains(&format!("check {e}").as_str()),
            "{name}: missing 'check {e}' in output:\n{out}"
        );
    }
}

/// The child side. In a normal test run (no env var) it does nothing.
#[test]
fn child_entry() {
    let Ok(which) = std::env::var(CHILD_ENV) else {
        return;
    };
    let dir = std::path::PathBuf::from(std::env::var("BERTH_SECCOMP_DIR").unwrap());
    let mut out: Vec<String> = Vec::new();
    let mut check = |name: &str, ok: bool| {
        out.push(format!("check {name} {}", if ok { "ok" } else { "FAILED" }))
    };
    let install = |s: &Seccomp| compile(s).expect("compile").install().expect("install");
    match which.as_str() {
        "deny_list" => {
            install(&Seccomp {
                default_action: "SCMP_ACT_ALLOW".into(),
                syscalls: vec![
                    rule(&["getpid"], "SCMP_ACT_ERRNO", None, vec![]),
                    rule(
                        &["mkdir", "mkdirat"],
                        "SCMP_ACT_ERRNO",
                        Some(libc::ENOSYS as u32),
                        vec![],
                    ),
                    rule(
                        &["no_such_syscall_anywhere"],
                        "SCMP_ACT_KILL_PROCESS",
                        None,
                        vec![],
                    ),
                ],
                ..Default::default()
            });
            let (r, e) = sys(libc::SYS_getpid, [0; 3]);
            check("getpid_eperm", r == -1 && e == libc::EPERM);
            let p = std::ffi::CString::new(dir.join("made").to_str().unwrap()).unwrap();
            // SAFETY: valid NUL-terminated path.
            let r = unsafe { libc::mkdir(p.as_ptr(), 0o755) };
            check(
                "mkdir_enosys",
                r == -1 && errno() == libc::ENOSYS && !dir.join("made").exists(),
            );
            // Everything else still works.
            // SAFETY: plain syscalls.
            check("getuid_works", unsafe { libc::getuid() } == 0);
            check("getppid_works", unsafe { libc::getppid() } > 1);
            let f = dir.join("file");
            check(
                "file_io_works",
                std::fs::write(&f, b"x").is_ok()
                    && std::fs::read(&f).map(|v| v == b"x").unwrap_or(false),
            );
        }
        "args" => {
            install(&Seccomp {
                default_action: "SCMP_ACT_ALLOW".into(),
                syscalls: vec![
                    // openat(…, flags & O_CREAT == O_CREAT) → EACCES.
                    rule(
                        &["openat"],
                        "SCMP_ACT_ERRNO",
                        Some(libc::EACCES as u32),
                        vec![arg(
                            2,
                            "SCMP_CMP_MASKED_EQ",
                            libc::O_CREAT as u64,
                            libc::O_CREAT as u64,
                        )],
                    ),
                    // lseek with an offset above 4 GiB (a high-word compare) → EFBIG.
                    rule(
                        &["lseek"],
                        "SCMP_ACT_ERRNO",
                        Some(libc::EFBIG as u32),
                        vec![arg(1, "SCMP_CMP_GT", 0x1_0000_0000, 0)],
                    ),
                    // kill(pid, 0) and kill(pid, 18) → EPERM (same index twice: either one).
                    rule(
                        &["kill"],
                        "SCMP_ACT_ERRNO",
                        None,
                        vec![arg(1, "SCMP_CMP_EQ", 0, 0), arg(1, "SCMP_CMP_EQ", 18, 0)],
                    ),
                ],
                ..Default::default()
            });
            let existing = dir.join("exists");
            check("open_existing_ok", std::fs::File::open(&existing).is_ok());
            let e = std::fs::File::create(dir.join("new")).unwrap_err();
            check(
                "create_eacces",
                e.raw_os_error() == Some(libc::EACCES) && !dir.join("new").exists(),
            );
            let f = std::fs::File::open(&existing).unwrap();
            use std::os::fd::AsRawFd;
            let fd = f.as_raw_fd() as libc::c_long;
            let (r, _) = sys(
                libc::SYS_lseek,
                [fd, 0xffff_ffff, libc::SEEK_SET as libc::c_long],
            );
            check("lseek_4g_minus_1_ok", r == 0xffff_ffff);
            let (r, e) = sys(
                libc::SYS_lseek,
                [fd, 0x1_0000_0001, libc::SEEK_SET as libc::c_long],
            );
            check("lseek_above_4g_efbig", r == -1 && e == libc::EFBIG);
            let (r, e) = sys(
                libc::SYS_lseek,
                [fd, 0x1_0000_0000, libc::SEEK_SET as libc::c_long],
            );
            check("lseek_exactly_4g_ok", r == 0x1_0000_0000 && e == 0);
            // SAFETY: plain syscalls.
            let me = unsafe { libc::getpid() } as libc::c_long;
            let (r, e) = sys(libc::SYS_kill, [me, 0, 0]);
            check("kill_sig0_eperm", r == -1 && e == libc::EPERM);
            let (r, e) = sys(libc::SYS_kill, [me, 18, 0]);
            check("kill_sigcont_eperm", r == -1 && e == libc::EPERM);
            let (r, _) = sys(libc::SYS_kill, [me, 28, 0]); // SIGWINCH: ignored by default
            check("kill_sigwinch_ok", r == 0);
        }
        "allow_list" => {
            install(&Seccomp {
                default_action: "SCMP_ACT_ERRNO".into(),
                syscalls: vec![rule(
                    &[
                        "write",
                        "exit_group",
                        "exit",
                        "getpid",
                        "futex",
                        "sigaltstack",
                        "munmap",
                        "rt_sigprocmask",
                    ],
                    "SCMP_ACT_ALLOW",
                    None,
                    vec![],
                )],
                ..Default::default()
            });
            let (r, _) = sys(libc::SYS_getpid, [0; 3]);
            check("getpid_allowed", r > 0);
            let (r, e) = sys(libc::SYS_getuid, [0; 3]);
            check("getuid_eperm", r == -1 && e == libc::EPERM);
            // Above the highest syscall the profile names (exit_group, 231): ENOSYS, so a libc
            // can fall back from syscalls the profile does not know.
            let (r, e) = sys(libc::SYS_clone3, [0; 3]);
            check("clone3_enosys", r == -1 && e == libc::ENOSYS);
            // x32 numbers (bit 30) are a foreign ABI here: the default action, not the kernel's ENOSYS.
            let (r, e) = sys(0x4000_0000 | libc::SYS_getpid, [0; 3]);
            check("x32_is_foreign", r == -1 && e == libc::EPERM);
        }
        "x32_listed" => {
            install(&Seccomp {
                default_action: "SCMP_ACT_ALLOW".into(),
                architectures: vec![
                    "SCMP_ARCH_X86_64".into(),
                    "SCMP_ARCH_X86".into(),
                    "SCMP_ARCH_X32".into(),
                ],
                syscalls: vec![rule(
                    &["getpid"],
                    "SCMP_ACT_ERRNO",
                    Some(libc::EACCES as u32),
                    vec![],
                )],
                ..Default::default()
            });
            let (r, e) = sys(0x4000_0000 | libc::SYS_getpid, [0; 3]);
            check("x32_getpid_eacces", r == -1 && e == libc::EACCES);
            let (r, e) = sys(libc::SYS_getpid, [0; 3]);
            check("x86_64_getpid_eacces", r == -1 && e == libc::EACCES);
            let (r, _) = sys(libc::SYS_getppid, [0; 3]);
            check("getppid_ok", r > 0);
        }
        "kill_process" => {
            let flags = vec![
                "SECCOMP_FILTER_FLAG_TSYNC".to_string(),
                "SECCOMP_FILTER_FLAG_LOG".to_string(),
            ];
            install(&Seccomp {
                default_action: "SCMP_ACT_ALLOW".into(),
                flags,
                syscalls: vec![rule(&["getppid"], "SCMP_ACT_KILL_PROCESS", None, vec![])],
                ..Default::default()
            });
            println!("check before_kill ok");
            sys(libc::SYS_getppid, [0; 3]);
            println!("check survived FAILED");
        }
        other => panic!("unknown scenario {other}"),
    }
    for l in &out {
        println!("{l}");
    }
    let ok = out.iter().all(|l| l.ends_with(" ok"));
    // SAFETY: _exit ends the child without running the harness past the filter.
    unsafe { libc::_exit(if ok { 0 } else { 1 }) };
}

fn scenario(name: &str, expected: &[&str]) {
    let dir = common::TestDir::new(&format!("seccomp-{name}"));
    std::fs::write(dir.join("exists"), b"data").unwrap();
    let (status, out) = run_child(name, &dir.path);
    assert!(status.success(), "{name}: child failed ({status}):\n{out}");
    let expected: Vec<String> = expected.iter().map(|e| format!("{e} ok")).collect();
    assert_checks(
        name,
        &out,
        &expected.iter().map(String::as_str).collect::<Vec<_>>(),
    );
}

#[test]
fn deny_list_returns_errnos_and_leaves_the_rest_alone() {
    scenario(
        "deny_list",
        &[
            "getpid_eperm",
            "mkdir_enosys",
            "getuid_works",
            "getppid_works",
            "file_io_works",
        ],
    );
}

#[test]
fn argument_conditions_with_masks_64_bit_values_and_repeated_indexes() {
    scenario(
        "args",
        &[
            "open_existing_ok",
            "create_eacces",
            "lseek_4g_minus_1_ok",
            "lseek_above_4g_efbig",
            "lseek_exactly_4g_ok",
            "kill_sig0_eperm",
            "kill_sigcont_eperm",
            "kill_sigwinch_ok",
        ],
    );
}

#[test]
fn allow_list_with_errno_default_enosys_for_newer_and_foreign_abi() {
    scenario(
        "allow_list",
        &[
            "getpid_allowed",
            "getuid_eperm",
            "clone3_enosys",
            "x32_is_foreign",
        ],
    );
}

#[test]
fn x32_section_uses_x32_numbers() {
    scenario(
        "x32_listed",
        &["x32_getpid_eacces", "x86_64_getpid_eacces", "getppid_ok"],
    );
}

#[test]
fn kill_process_ends_the_whole_process_with_sigsys() {
    use std::os::unix::process::ExitStatusExt;
    let dir = common::TestDir::new("seccomp-kill");
    let (status, out) = run_child("kill_process", &dir.path);
    assert_eq!(
        status.signal(),
        Some(libc::SIGSYS),
        "status {status}, output:\n{out}"
    );
    assert!(
        out.contains("check before_kill ok") && !out.contains("survived"),
        "{out}"
    );
}
