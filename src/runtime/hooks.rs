//! OCI hooks: each runs with the container state as JSON on its stdin, its output captured for
//! the error message, and its timeout enforced. No threads: one poll loop over the two output
//! pipes and a pidfd of the hook.

use crate::base::{Error, Result};
use crate::oci::runtime::{Hook, State};
use crate::sys::{fd as sfd, process as sp};
use std::io::Write;
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Run `hooks` in order; the first failure stops the list and is returned.
pub fn run(hooks: &[Hook], state: &State) -> Result<()> {
    let json = serde_json::to_vec(state).map_err(|e| Error::internal(e.to_string()))?;
    for (i, h) in hooks.iter().enumerate() {
        run_one(h, &json)
            .map_err(|e| Error::new(e.kind(), format!("error running hook #{i}: {e}")))?;
    }
    Ok(())
}

fn run_one(h: &Hook, stdin: &[u8]) -> Result<()> {
    let mut cmd = Command::new(&h.path);
    // As Go's exec.Cmd: args[0] is argv[0]; no args means argv = [path]; an empty env list
    // means the runtime's own environment.
    match h.args.split_first() {
        Some((a0, rest)) => {
            cmd.arg0(a0).args(rest);
        }
        None => {
            cmd.arg0(&h.path);
        }
    }
    if !h.env.is_empty() {
        cmd.env_clear();
        for kv in &h.env {
            if let Some((k, v)) = kv.split_once('=') {
                cmd.env(k, v);
            }
        }
    }
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .map_err(|e| Error::from(e).context(format!("fork/exec {}", h.path)))?;
    if let Some(mut si) = child.stdin.take() {
        // A hook that does not read its stdin is fine (EPIPE); the state is far below a pipe's
        // buffer, so this write cannot block on a hook that never reads.
        let _ = si.write_all(stdin);
    }
    let pid = child.id() as i32;
    let pidfd = sp::pidfd_open(pid)?;
    let deadline = h
        .timeout
        .filter(|t| *t > 0)
        .map(|t| Instant::now() + Duration::from_secs(t as u64));
    let mut out = Vec::new();
    let mut err = Vec::new();
    let mut so = child.stdout.take();
    let mut se = child.stderr.take();
    let mut exited = false;
    loop {
        let mut fds = vec![(pidfd.as_raw_fd(), sfd::POLLIN)];
        if let Some(s) = &so {
            fds.push((s.as_raw_fd(), sfd::POLLIN));
        }
        if let Some(s) = &se {
            fds.push((s.as_raw_fd(), sfd::POLLIN));
        }
        if exited && fds.len() == 1 {
            break;
        }
        let timeout = match deadline {
            None => -1,
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(Error::new(
                        crate::base::ErrorKind::Unavailable,
                        format!("timeout after {} seconds", h.timeout.unwrap_or(0)),
                    ));
                }
                left.as_millis().min(i32::MAX as u128) as i32
            }
        };
        // Once the hook has exited, only drain what is already buffered.
        let rev = sfd::poll(&fds, if exited { 0 } else { timeout })?;
        if exited && rev.iter().skip(1).all(|r| *r == 0) {
            break;
        }
        if rev[0] != 0 {
            exited = true;
        }
        let mut i = 1;
        if let Some(s) = &so {
            if rev[i] != 0 && !drain_once(s.as_fd(), &mut out) {
                so = None;
            }
            i += 1;
        }
        if let Some(s) = &se {
            if rev[i] != 0 && !drain_once(s.as_fd(), &mut err) {
                se = None;
            }
        }
    }
    let status = child
        .wait()
        .map_err(|e| Error::from(e).context(format!("wait for hook {}", h.path)))?;
    if status.success() {
        return Ok(());
    }
    let how = match (
        status.code(),
        std::os::unix::process::ExitStatusExt::signal(&status),
    ) {
        (Some(c), _) => format!("exit status {c}"),
        (None, Some(s)) => format!("signal: {s}"),
        _ => "failed".to_string(),
    };
    Err(Error::internal(format!(
        "{how}, stdout: {}, stderr: {}",
        String::from_utf8_lossy(&out).trim_end(),
        String::from_utf8_lossy(&err).trim_end()
    )))
}

/// Read what is there into `buf` (capped); false at EOF or error.
fn drain_once(fd: std::os::fd::BorrowedFd<'_>, buf: &mut Vec<u8>) -> bool {
    let mut tmp = [0u8; 4096];
    match sfd::read(fd, &mut tmp) {
        Ok(0) | Err(_) => false,
        Ok(n) => {
            if buf.len() < 64 * 1024 {
                buf.extend_from_slice(&tmp[..n]);
            }
            true
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hook(script: &str, timeout: Option<i64>) -> Hook {
        Hook {
            path: "/bin/sh".into(),
            args: vec!["sh".into(), "-c".into(), script.into()],
            env: vec!["X=1".into()],
            timeout,
        }
    }

    fn state() -> State {
        State {
            oci_version: "1.2.0".into(),
            id: "c1".into(),
            status: "creating".into(),
            pid: Some(7),
            bundle: "/b".into(),
            ..Default::default()
        }
    }

    #[test]
    fn hook_gets_state_on_stdin_and_its_env() {
        let d = std::env::temp_dir().join(format!("berth-hook-test-{}", std::process::id()));
        let h = hook(
            &format!("cat > {}; echo $X >> {}", d.display(), d.display()),
            None,
        );
        run(&[h], &state()).unwrap();
        let got = std::fs::read_to_string(&d).unwrap();
        assert!(
            got.starts_with(
                "{\"ociVersion\":\"1.2.0\",\"id\":\"c1\",\"status\":\"creating\",\"pid\":7"
            ),
            "{got}"
        );
        assert!(got.ends_with("1\n"));
        std::fs::remove_file(&d).unwrap();
    }

    #[test]
    fn failures_carry_status_and_output() {
        let e = run(
            &[
                hook("true", None),
                hook("echo out; echo err >&2; exit 3", None),
            ],
            &state(),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "error running hook #1: exit status 3, stdout: out, stderr: err"
        );
    }

    #[test]
    fn timeouts_kill_the_hook() {
        let t = Instant::now();
        let e = run(&[hook("sleep 10", Some(1))], &state()).unwrap_err();
        assert!(e.to_string().contains("timeout after 1 seconds"), "{e}");
        assert!(t.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn missing_hook_binary() {
        let h = Hook {
            path: "/nonexistent/hook".into(),
            ..Default::default()
        };
        assert!(run(&[h], &state())
            .unwrap_err()
            .to_string()
            .starts_with("error running hook #0: fork/exec /nonexistent/hook"));
    }
}
