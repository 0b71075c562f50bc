//! The OCI runtime for the shim (and, when a shim is gone, the supervisor): any runc-compatible
//! runtime through runc's command line, berth's own `runc` role by default.
//!
//! Every command gets `--root <root>` and, when a log file is given, `--log <file> --log-format
//! json`; on failure the message is the last `"level":"error"` entry of that log (as containerd's
//! shim reads it), else the runtime's stderr.
//!
//! In-process mode (berth's own runtime, a shim that runs from a read-only bind of the binary):
//! an [`Op`] runs in a fork of the single-threaded shim that calls the runtime library directly
//! and exits, as the exec'd `runc` role would, minus two execs of the binary per create. The
//! fork's stdio is the command's, every other descriptor is closed, the signal mask is a fresh
//! process's, and its error is written to the same JSON log in runc's words.

use super::proto::RuntimeConfig;
use crate::base::error::Context;
use crate::base::{Error, ErrorKind, Result};
use crate::runtime::entry;
use crate::sys::reaper::{self, Fork};
use std::ffi::{OsStr, OsString};
use std::os::fd::OwnedFd;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub struct Runtime {
    path: PathBuf,
    argv0: Option<&'static str>,
    root: PathBuf,
    args: Vec<String>,
    log: Option<PathBuf>,
    in_process: bool,
}

/// One runtime command the shim issues.
pub enum Op<'a> {
    /// `create --bundle B --pid-file P [--console-socket C] ID`
    Create {
        id: &'a str,
        bundle: &'a Path,
        pid_file: &'a Path,
        console: Option<&'a Path>,
    },
    /// `exec --process F --detach --pid-file P [--console-socket C] ID`
    Exec {
        id: &'a str,
        process: &'a Path,
        pid_file: &'a Path,
        console: Option<&'a Path>,
    },
    Start(&'a str),
    Kill {
        id: &'a str,
        signal: i32,
        all: bool,
    },
    Delete {
        id: &'a str,
        force: bool,
    },
    Pause(&'a str),
    Resume(&'a str),
}

impl Op<'_> {
    /// The runc command name (what error messages call it).
    pub fn name(&self) -> &'static str {
        match self {
            Op::Create { .. } => "create",
            Op::Exec { .. } => "exec",
            Op::Start(_) => "start",
            Op::Kill { .. } => "kill",
            Op::Delete { .. } => "delete",
            Op::Pause(_) => "pause",
            Op::Resume(_) => "resume",
        }
    }

    /// runc's command line for this operation (after the global flags).
    pub fn args(&self) -> Vec<OsString> {
        let p = |p: &Path| p.as_os_str().to_os_string();
        let mut v: Vec<OsString> = vec![self.name().into()];
        match self {
            Op::Create {
                id,
                bundle,
                pid_file,
                console,
            } => {
                v.extend([
                    "--bundle".into(),
                    p(bundle),
                    "--pid-file".into(),
                    p(pid_file),
                ]);
                if let Some(c) = console {
                    v.extend(["--console-socket".into(), p(c)]);
                }
                v.push(id.into());
            }
            Op::Exec {
                id,
                process,
                pid_file,
                console,
            } => {
                v.extend([
                    "--process".into(),
                    p(process),
                    "--detach".into(),
                    "--pid-file".into(),
                    p(pid_file),
                ]);
                if let Some(c) = console {
                    v.extend(["--console-socket".into(), p(c)]);
                }
                v.push(id.into());
            }
            Op::Kill { id, signal, all } => {
                if *all {
                    v.push("--all".into());
                }
                v.extend([id.into(), signal.to_string().into()]);
            }
            Op::Delete { id, force } => {
                if *force {
                    v.push("--force".into());
                }
                v.push(id.into());
            }
            Op::Start(id) | Op::Pause(id) | Op::Resume(id) => v.push(id.into()),
        }
        v
    }

    /// The runtime library call, with the message prefixes the `runc` role prints.
    fn call(&self, root: &Path) -> std::result::Result<(), String> {
        match self {
            Op::Create {
                id,
                bundle,
                pid_file,
                console,
            } => {
                let o = entry::CreateOpts {
                    id: id.to_string(),
                    bundle: bundle.to_path_buf(),
                    pid_file: Some(pid_file.to_path_buf()),
                    console_socket: console.map(Path::to_path_buf),
                    no_pivot: false,
                    no_new_keyring: false,
                    preserve_fds: 0,
                };
                entry::create(root, &o).map_err(|e| format!("runc create failed: {e}"))
            }
            Op::Exec {
                id,
                process,
                pid_file,
                console,
            } => {
                let o = entry::ExecOpts {
                    id: id.to_string(),
                    process_file: Some(process.to_path_buf()),
                    args: Vec::new(),
                    tty: false,
                    cwd: None,
                    env: Vec::new(),
                    user: None,
                    additional_gids: Vec::new(),
                    caps: Vec::new(),
                    no_new_privs: false,
                    detach: true,
                    pid_file: Some(pid_file.to_path_buf()),
                    console_socket: console.map(Path::to_path_buf),
                    preserve_fds: 0,
                };
                entry::exec(root, &o)
                    .map(|_| ())
                    .map_err(|e| format!("exec failed: {e}"))
            }
            Op::Start(id) => entry::start(root, id).map_err(|e| e.to_string()),
            Op::Kill { id, signal, all } => {
                entry::kill(root, id, &signal.to_string(), *all).map_err(|e| e.to_string())
            }
            Op::Delete { id, force } => entry::delete(root, id, *force).map_err(|e| e.to_string()),
            Op::Pause(id) => entry::pause(root, id).map_err(|e| e.to_string()),
            Op::Resume(id) => entry::resume(root, id).map_err(|e| e.to_string()),
        }
    }
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
            in_process: false,
        }
    }

    /// Run berth's own runtime in a fork of this process instead of exec'ing it: only for a
    /// single-threaded caller that runs from a sealed binary (see the module doc); ignored for
    /// another runtime or extra runtime arguments.
    pub fn in_process(mut self, sealed: bool) -> Runtime {
        self.in_process = sealed && self.argv0.is_some() && self.args.is_empty();
        self
    }

    /// Run one operation to completion; the runtime's stdio is /dev/null (in-process: the
    /// caller's own stdio).
    pub fn op(&self, op: &Op) -> Result<()> {
        if self.in_process {
            return self.fork_call(op, None);
        }
        self.run(&op.args()).map(|_| ())
    }

    /// Run one operation whose stdio is a process's (create, exec): `stdio` are the child's ends
    /// (None: /dev/null), consumed. On failure the message comes from the runtime's log, else
    /// from what `read_stderr` returns (the runtime printed it on the stderr it was given).
    pub fn op_with_stdio(
        &self,
        op: &Op,
        stdio: [Option<OwnedFd>; 3],
        read_stderr: &mut dyn FnMut() -> Vec<u8>,
    ) -> Result<()> {
        if self.in_process {
            return self.fork_call(op, Some(stdio));
        }
        self.reset_log();
        let [i, o, e] = stdio;
        let to = |f: Option<OwnedFd>| f.map(Stdio::from).unwrap_or_else(Stdio::null);
        let mut cmd = self.command(&op.args());
        cmd.stdin(to(i)).stdout(to(o)).stderr(to(e));
        let mut child = cmd
            .spawn()
            .ctx(|| format!("run the OCI runtime for {}", op.name()))?;
        drop(cmd); // closes our copies of the child's ends of the pipes
        let status = loop {
            match child.wait() {
                Ok(s) => break s,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    return Err(
                        Error::from(e).context(format!("wait for the OCI runtime's {}", op.name()))
                    )
                }
            }
        };
        if status.success() {
            return Ok(());
        }
        Err(self.failure(op.name(), &read_stderr(), status.code()))
    }

    /// In-process mode: fork, call the runtime library in the child, wait for it.
    fn fork_call(&self, op: &Op, stdio: Option<[Option<OwnedFd>; 3]>) -> Result<()> {
        self.reset_log();
        match reaper::fork_single_threaded()? {
            Fork::Child => {
                // The parent had one thread (checked by the fork), so the heap and locks are
                // consistent here; the child never returns into the caller's loop.
                crate::sys::process::signals_after_exec();
                if let Some(fds) = stdio {
                    for (n, fd) in fds.into_iter().enumerate() {
                        let fd = match fd {
                            Some(fd) => fd,
                            None => match std::fs::File::open("/dev/null") {
                                Ok(f) => f.into(),
                                Err(_) => crate::sys::process::exit_now(1),
                            },
                        };
                        if reaper::dup_onto(&fd, n as i32).is_err() {
                            crate::sys::process::exit_now(1);
                        }
                    }
                }
                reaper::close_fds_from(3);
                // A panic must end this child here, never unwind into the caller's loop.
                let called =
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| op.call(&self.root)));
                let code = match called {
                    Ok(Ok(())) => 0,
                    Ok(Err(msg)) => {
                        self.log_error(&msg);
                        1
                    }
                    Err(_) => {
                        self.log_error(&format!("runc {}: internal error (panic)", op.name()));
                        2
                    }
                };
                crate::sys::process::exit_now(code)
            }
            Fork::Parent(pid) => {
                drop(stdio); // the child's ends: only the child may hold them
                match crate::sys::process::wait_pid(pid)? {
                    crate::sys::process::Exit::Code(0) => Ok(()),
                    crate::sys::process::Exit::Code(c) => {
                        Err(self.failure(op.name(), b"", Some(c)))
                    }
                    crate::sys::process::Exit::Signal(_) => Err(self.failure(op.name(), b"", None)),
                }
            }
        }
    }

    /// An error line in the runtime log, as the `runc` role writes it with `--log-format json`.
    fn log_error(&self, msg: &str) {
        use std::io::Write;
        let Some(log) = &self.log else {
            eprintln!("{msg}");
            return;
        };
        let line = serde_json::json!({
            "level": "error",
            "msg": msg,
            "time": crate::base::time::now_rfc3339(),
        });
        let written = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .and_then(|mut f| writeln!(f, "{line}"));
        if written.is_err() {
            eprintln!("{msg}");
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
    fn ops_are_runcs_command_lines() {
        let args = |op: Op| -> Vec<String> {
            op.args()
                .into_iter()
                .map(|a| a.to_string_lossy().into_owned())
                .collect()
        };
        assert_eq!(
            args(Op::Create {
                id: "c1",
                bundle: Path::new("/b"),
                pid_file: Path::new("/s/init.pid"),
                console: Some(Path::new("/s/console.sock")),
            }),
            [
                "create",
                "--bundle",
                "/b",
                "--pid-file",
                "/s/init.pid",
                "--console-socket",
                "/s/console.sock",
                "c1"
            ]
        );
        assert_eq!(
            args(Op::Exec {
                id: "c1",
                process: Path::new("/s/e.json"),
                pid_file: Path::new("/s/e.pid"),
                console: None,
            }),
            [
                "exec",
                "--process",
                "/s/e.json",
                "--detach",
                "--pid-file",
                "/s/e.pid",
                "c1"
            ]
        );
        assert_eq!(
            args(Op::Kill {
                id: "c1",
                signal: 9,
                all: true
            }),
            ["kill", "--all", "c1", "9"]
        );
        assert_eq!(
            args(Op::Delete {
                id: "c1",
                force: false
            }),
            ["delete", "c1"]
        );
        assert_eq!(args(Op::Resume("c1")), ["resume", "c1"]);
    }

    #[test]
    fn in_process_only_for_berths_own_runtime() {
        let own = RuntimeConfig {
            path: None,
            root: "/r".into(),
            args: vec![],
        };
        let exe = Path::new("/proc/self/exe");
        assert!(Runtime::new(&own, exe, None).in_process(true).in_process);
        assert!(!Runtime::new(&own, exe, None).in_process(false).in_process);
        let other = RuntimeConfig {
            path: Some("/usr/sbin/runc".into()),
            ..own.clone()
        };
        assert!(!Runtime::new(&other, exe, None).in_process(true).in_process);
        let flags = RuntimeConfig {
            args: vec!["--systemd-cgroup".into()],
            ..own
        };
        assert!(!Runtime::new(&flags, exe, None).in_process(true).in_process);
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
