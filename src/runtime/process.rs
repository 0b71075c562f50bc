//! The container process (init or exec): rlimits, user and capabilities, the working
//! directory, the program lookup and the final execve. Shared by `init` and `exec`.

use crate::base::{Error, ErrorKind, Result};
use crate::oci::runtime::{Process, Rlimit, User};
use crate::runtime::capabilities::{self, Resolved};
use crate::sys::{fd as sfd, process as sp};
use std::path::{Path, PathBuf};

/// process.rlimits. Without CAP_SYS_RESOURCE a hard limit cannot be raised: say so plainly.
pub fn set_rlimits(rl: &[Rlimit]) -> Result<()> {
    for r in rl {
        let res = sp::rlimit_resource(&r.kind).ok_or_else(|| {
            Error::invalid(format!("rlimit {:?} is not a valid resource", r.kind))
        })?;
        if let Err(e) = sp::setrlimit(res, r.soft, r.hard) {
            let (_, cur_hard) = sp::getrlimit(res).unwrap_or((0, u64::MAX));
            let hint = if e.errno() == Some(1) && r.hard > cur_hard {
                format!(" (raising the hard limit above {cur_hard} needs CAP_SYS_RESOURCE, which this runtime does not have)")
            } else {
                String::new()
            };
            return Err(e.context(format!(
                "error setting rlimit type {}{hint}",
                r.kind.trim_start_matches("RLIMIT_").to_ascii_lowercase()
            )));
        }
    }
    Ok(())
}

/// process.env, plus HOME from the container's /etc/passwd when the config does not set it.
pub fn environment(p: &Process) -> Vec<String> {
    let mut env = p.env.clone();
    if !env.iter().any(|e| e.starts_with("HOME=")) {
        env.push(format!(
            "HOME={}",
            home_of(p.user.uid).unwrap_or_else(|| "/".into())
        ));
    }
    env
}

fn home_of(uid: u32) -> Option<String> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.len() > 5 && f[2].parse::<u32>().ok() == Some(uid)).then(|| f[5].to_string())
    })
}

/// Find args[0] the way runc does (Go's exec.LookPath on the container's $PATH), so a missing
/// program is a create-time error with runc's words.
pub fn lookup(name: &str, env: &[String]) -> Result<PathBuf> {
    let check = |p: &Path| -> std::result::Result<(), std::io::Error> {
        use std::os::unix::fs::PermissionsExt;
        let m = std::fs::metadata(p)?;
        if m.is_dir() {
            return Err(std::io::Error::from_raw_os_error(21));
        }
        if m.permissions().mode() & 0o111 == 0 {
            return Err(std::io::Error::from_raw_os_error(13));
        }
        Ok(())
    };
    if name.contains('/') {
        // Go's wording, lower case: engines match these words to pick the exit code (Docker's
        // CLI: "no such file or directory" → 127, "permission denied" → 126, else 125). A
        // directory or a file without exec bits is "permission denied", with no stat prefix.
        return match check(Path::new(name)) {
            Ok(()) => Ok(PathBuf::from(name)),
            Err(e) if matches!(e.raw_os_error(), Some(13) | Some(21)) => Err(Error::new(
                ErrorKind::PermissionDenied,
                format!("exec: {name:?}: permission denied"),
            )),
            Err(e) => {
                let err = Error::from(e);
                let msg = go_errno_text(err.message());
                Err(Error::new(
                    err.kind(),
                    format!("exec: {name:?}: stat {name}: {msg}"),
                ))
            }
        };
    }
    let path = env
        .iter()
        .rev()
        .find_map(|e| e.strip_prefix("PATH="))
        .unwrap_or("");
    for dir in path.split(':') {
        let dir = if dir.is_empty() { "." } else { dir };
        let cand = Path::new(dir).join(name);
        if check(&cand).is_ok() {
            return Ok(cand);
        }
    }
    Err(Error::not_found(format!(
        "exec: {name:?}: executable file not found in $PATH"
    )))
}

/// An errno's text as Go spells it (lower-case first letter: "no such file or directory").
fn go_errno_text(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

/// Switch to the process user with its capabilities. The bounding set shrinks first (that needs
/// CAP_SETPCAP, which the uid switch may take away); keep-caps carries the permitted set over
/// the switch; the final sets are applied last.
pub fn switch_user(user: &User, caps: &Resolved, setgroups: bool) -> Result<()> {
    capabilities::apply_bounding(caps.bounding)?;
    sp::set_keep_caps(true)?;
    if setgroups {
        sp::setgroups(&user.additional_gids).map_err(|e| e.context("set the additional groups"))?;
    }
    sp::setresgid(user.gid)?;
    sp::setresuid(user.uid)?;
    sp::set_keep_caps(false)?;
    capabilities::apply_process_sets(caps)
}

/// chdir to process.cwd, then make sure it is inside the container: a cwd reached through a
/// leaked fd (/proc/self/fd/N) would sit outside our root (CVE-2024-21626).
pub fn enter_cwd(cwd: &str) -> Result<()> {
    let cwd = if cwd.is_empty() { "/" } else { cwd };
    crate::sys::mount::chdir(Path::new(cwd))
        .map_err(|e| e.context("unable to start container process"))?;
    let wd = sfd::getcwd()?;
    if wd.first() != Some(&b'/') {
        return Err(Error::new(
            crate::base::ErrorKind::PermissionDenied,
            "current working directory is outside of container mount namespace root -- possible container breakout detected",
        ));
    }
    Ok(())
}

/// Give the container user its stdio (runc's fixStdioPermissions): a non-root process must be
/// able to reopen /proc/self/fd/{0,1,2}. /dev/null and fds it already owns are left alone.
pub fn fix_stdio(uid: u32, gid: u32) {
    if uid == 0 {
        return;
    }
    for fd in 0..3 {
        if !sfd::is_open(fd) {
            continue;
        }
        let Some(b) = sfd::borrow_stdio(fd) else {
            continue;
        };
        if let Ok((_, _, mode, rdev)) = sfd::fstat(b) {
            if mode & sfd::S_IFMT == sfd::S_IFCHR && sfd::major(rdev) == 1 && sfd::minor(rdev) == 3
            {
                continue;
            }
            let _ = sfd::fchown(b, uid, gid);
        }
    }
}

/// The program to run, resolved before `start` so a missing binary fails `create`.
pub struct Program {
    pub path: PathBuf,
    pub args: Vec<String>,
    pub env: Vec<String>,
}

/// The seccomp filter of the config, compiled while errors can still fail `create`.
pub fn compile_seccomp(
    s: Option<&crate::oci::runtime::Seccomp>,
) -> Result<Option<crate::runtime::seccomp::Program>> {
    s.map(crate::runtime::seccomp::compile).transpose()
}

/// The last steps: no_new_privs, close-on-exec for everything but stdio and preserved fds
/// (CVE-2024-21626), default signal handling, then seccomp as the very last thing before
/// execve so that the filter does not have to allow the runtime's own syscalls.
pub fn exec(
    p: &Program,
    preserve_fds: u32,
    nnp: bool,
    seccomp: Option<&crate::runtime::seccomp::Program>,
) -> Error {
    let run = || -> Result<Error> {
        if nnp {
            sp::set_no_new_privs()?;
        }
        sfd::cloexec_from(3 + preserve_fds)?;
        for fd in 3..3 + preserve_fds as i32 {
            if sfd::is_open(fd) {
                sfd::set_cloexec(fd, false)?;
            }
        }
        sp::reset_signals();
        if let Some(f) = seccomp {
            f.install()?;
        }
        Ok(sp::execve(&p.path, &p.args, &p.env))
    };
    match run() {
        Ok(e) => e.context("unable to start container process"),
        Err(e) => e.context("unable to start container process"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_like_go() {
        let env = vec!["PATH=/nonexistent:/bin:/usr/bin".to_string()];
        assert!(lookup("sh", &env).unwrap().ends_with("sh"));
        assert_eq!(
            lookup("berth-nosuch", &env).unwrap_err().to_string(),
            "exec: \"berth-nosuch\": executable file not found in $PATH"
        );
        assert!(lookup("/nonexistent/x", &env)
            .unwrap_err()
            .to_string()
            .starts_with(
                "exec: \"/nonexistent/x\": stat /nonexistent/x: no such file or directory"
            ));
        assert_eq!(
            lookup("/", &env).unwrap_err().to_string(),
            "exec: \"/\": permission denied"
        );
        assert!(
            lookup("sh", &[]).is_err(),
            "no PATH, no search (Go's LookPath)"
        );
    }

    #[test]
    fn home_defaults() {
        let p = Process {
            env: vec!["A=1".into()],
            ..Default::default()
        };
        assert!(environment(&p).iter().any(|e| e.starts_with("HOME=")));
        let p = Process {
            env: vec!["HOME=/x".into()],
            ..Default::default()
        };
        assert_eq!(environment(&p), ["HOME=/x"]);
    }
}
