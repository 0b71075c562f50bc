//! The OCI runtime's command line, runc's exactly: how the shim (and, when a shim is gone, the
//! supervisor) drives any runc-compatible runtime, berth's own `runc` role by default.
//!
//! Every command gets `--root <root>` and, when a log file is given, `--log <file> --log-format
//! json`; on failure the message is the last `"level":"error"` entry of that log (as containerd's
//! shim reads it), else the runtime's stderr.

use super::proto::RuntimeConfig;
use crate::base::error::Context;
use crate::base::{Error, ErrorKind, Result};
use std::ffi::OsStr;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub struct Runtime {
    path: PathBuf,
    argv0: Option<&'static str>,
    root: PathBuf,
    args: Vec<String>,
    log: Option<PathBuf>,
}

impl Runtime {
    /// `own_binary` is what runs when the config names no runtime path: berth, as `runc`.
    pub fn new(cfg: &RuntimeConfig, own_binary: &Path, log: Option<PathBuf>) -> Runtime {
        let (path, argv0) = match &cfg.path {
            Some(p) => (p.clone(), None),
            None => (own_binary.to_path_buf(), Some("runc")),
        };
        Runtime {
            path,
            argv0,
            root: cfg.root.clone(),
            args: cfg.args.clone(),
            log,
        }
    }

    /// The command line for `args` (a runc command and its flags), stdio not yet set.
    pub fn command<S: AsRef<OsStr>>(&self, args: &[S]) -> Command {
        let mut c = Command::new(&self.path);
        if let Some(a) = self.argv0 {
            c.arg0(a);
        }
        c.arg("--root").arg(&self.root);
        if let Some(log) = &self.log {
            c.arg("--log").arg(log).arg("--log-format").arg("json");
        }
        c.args(&self.args);
        c.args(args);
        c
    }

    /// Forget the previous command's log so its errors are not mistaken for this one's.
    pub fn reset_log(&self) {
        if let Some(log) = &self.log {
            let _ = std::fs::write(log, b"");
        }
    }

    /// Run a command to completion with stdin from /dev/null; stdout is returned.
    pub fn run<S: AsRef<OsStr>>(&self, args: &[S]) -> Result<Vec<u8>> {
        self.reset_log();
        let what = args
            .first()
            .map(|a| a.as_ref().to_string_lossy().into_owned())
            .unwrap_or_default();
        let out = self
            .command(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output()
            .ctx(|| format!("run the OCI runtime {}", self.path.display()))?;
        if out.status.success() {
            return Ok(out.stdout);
        }
        Err(self.failure(&what, &out.stderr, out.status.code()))
    }

    /// The error for a failed command: its last logged error, else its stderr.
    pub fn failure(&self, what: &str, stderr: &[u8], code: Option<i32>) -> Error {
        let msg = self
            .log
            .as_deref()
            .and_then(last_error)
            .or_else(|| {
                let s = String::from_utf8_lossy(stderr).trim().to_string();
                (!s.is_empty()).then_some(s)
            })
            .unwrap_or_else(|| match code {
                Some(c) => format!("exit status {c}"),
                None => "killed by a signal".to_string(),
            });
        Error::new(
            kind_of_message(&msg),
            format!("OCI runtime {what} failed: {msg}"),
        )
    }

    /// `state ID`: None when the runtime does not know the container.
    pub fn state(&self, id: &str) -> Result<Option<crate::oci::runtime::State>> {
        match self.run(&["state", id]) {
            Ok(out) => Ok(Some(
                serde_json::from_slice(&out)
                    .ctx(|| format!("parse the runtime's state of {id}"))?,
            )),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// What a runtime's message means for the caller: runc's "does not exist", "not running".
fn kind_of_message(msg: &str) -> ErrorKind {
    let m = msg.to_ascii_lowercase();
    if m.contains("does not exist") || m.contains("container not found") {
        ErrorKind::NotFound
    } else if m.contains("not running")
        || m.contains("is paused")
        || m.contains("stopped")
        || m.contains("not paused")
    {
        ErrorKind::Conflict
    } else {
        ErrorKind::Internal
    }
}

/// The message of the last `"level":"error"` line of a runtime's JSON log.
pub fn last_error(log: &Path) -> Option<String> {
    let data = std::fs::read(log).ok()?;
    data.split(|&b| b == b'\n').rev().find_map(|line| {
        let v: serde_json::Value = serde_json::from_slice(line).ok()?;
        if v.get("level")?.as_str()? != "error" {
            return None;
        }
        Some(v.get("msg")?.as_str()?.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_line_is_runcs() {
        let cfg = RuntimeConfig {
            path: Some("/usr/sbin/runc".into()),
            root: "/run/r".into(),
            args: vec!["--systemd-cgroup".into()],
        };
        let rt = Runtime::new(
            &cfg,
            Path::new("/proc/self/exe"),
            Some("/s/runtime.log".into()),
        );
        let c = rt.command(&["kill", "--all", "c1", "9"]);
        let args: Vec<_> = c
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(c.get_program(), "/usr/sbin/runc");
        assert_eq!(
            args,
            [
                "--root",
                "/run/r",
                "--log",
                "/s/runtime.log",
                "--log-format",
                "json",
                "--systemd-cgroup",
                "kill",
                "--all",
                "c1",
                "9"
            ]
        );
        let own = Runtime::new(
            &RuntimeConfig {
                path: None,
                root: "/r".into(),
                args: vec![],
            },
            Path::new("/proc/self/exe"),
            None,
        );
        assert_eq!(own.command(&["start", "x"]).get_program(), "/proc/self/exe");
    }

    #[test]
    fn last_error_wins() {
        let p = std::env::temp_dir().join(format!("berth-runc-log-{}", std::process::id()));
        std::fs::write(
            &p,
            concat!(
                r#"{"level":"error","msg":"first","time":"t"}"#,
                "\n",
                r#"{"level":"warning","msg":"w","time":"t"}"#,
                "\n",
                r#"{"level":"error","msg":"runc create failed: exec: \"nope\": executable file not found in $PATH","time":"t"}"#,
                "\n",
                r#"{"level":"info","msg":"i"}"#,
                "\n"
            ),
        )
        .unwrap();
        assert_eq!(
            last_error(&p).unwrap(),
            "runc create failed: exec: \"nope\": executable file not found in $PATH"
        );
        std::fs::remove_file(&p).unwrap();
        assert_eq!(last_error(&p), None);
    }

    #[test]
    fn messages_map_to_kinds() {
        assert_eq!(
            kind_of_message("container \"x\" does not exist"),
            ErrorKind::NotFound
        );
        assert_eq!(
            kind_of_message("container not running"),
            ErrorKind::Conflict
        );
        assert_eq!(kind_of_message("exec failed"), ErrorKind::Internal);
    }
}
