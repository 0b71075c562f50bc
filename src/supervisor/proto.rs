//! The daemon↔shim protocol, and the daemon↔`containerd` protocol built on it.
//!
//! Transport: a unix stream socket, ONE request per connection. A message is a frame: a 4-byte
//! big-endian length, then that many bytes of JSON. Frames longer than [`MAX_FRAME`] are refused
//! from the length alone, before anything is allocated.
//!
//! ```text
//! client                               shim (or containerd)
//!   frame(Request)               ──►
//!                                ◄──   frame(Response)            then the shim closes, except:
//!   Wait:     the response comes when the process has exited and its output is drained
//!   Attach:   after Response::Ok(Reply::Attached{tty}) the connection carries the stream:
//!             shim → client: tty: raw bytes; else Docker's multiplexed frames
//!                            [stream(1=stdout,2=stderr),0,0,0,len(u32 BE)] + payload
//!             client → shim: raw stdin bytes; a half-close (shutdown(WR)) ends stdin, and
//!                            closes the process's stdin if `close_stdin` was asked
//!             the shim closes the stream once the process has exited and its output is drained
//! ```
//!
//! The `containerd` role speaks the same frames with [`ServiceRequest`] (a shim request plus the
//! container id, or a create/list) and answers with the same [`Response`].

use crate::base::{Error, ErrorKind, Result};
use crate::oci::runtime::Process;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::io::{Read, Write};
use std::path::PathBuf;

use super::logfile::LogConfig;

/// Largest frame either side accepts (an exec's process spec with a large environment fits).
pub const MAX_FRAME: usize = 1 << 20;

/// Longest container or exec id accepted.
pub const MAX_ID: usize = 128;

/// Stream numbers of Docker's multiplexed framing.
pub const STDOUT: u8 = 1;
pub const STDERR: u8 = 2;

/// One request to a shim. `exec_id: None` means the container's main process.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum Request {
    /// `runc create` with the shim's configuration (stdio held by the shim).
    Create,
    /// `runc start`.
    Start,
    /// Signal the main process (`runc kill [--all]`) or an exec process.
    Kill {
        signal: i32,
        #[serde(default)]
        all: bool,
        #[serde(default)]
        exec_id: Option<String>,
    },
    /// Answered when the process has exited and its output is drained.
    Wait {
        #[serde(default)]
        exec_id: Option<String>,
    },
    /// Register an exec process (not started yet, so a client can attach first).
    ExecCreate {
        exec_id: String,
        spec: ExecSpec,
    },
    /// `runc exec --detach` of a registered exec process.
    ExecStart {
        exec_id: String,
    },
    /// Set the pty's window size.
    Resize {
        #[serde(default)]
        exec_id: Option<String>,
        width: u16,
        height: u16,
    },
    Pause,
    Resume,
    State,
    /// Close the process's stdin once what is queued for it is written.
    CloseStdin {
        #[serde(default)]
        exec_id: Option<String>,
    },
    /// Turn this connection into the process's stdio stream (see the module doc).
    Attach {
        #[serde(default)]
        exec_id: Option<String>,
        #[serde(default)]
        stdin: bool,
        #[serde(default)]
        stdout: bool,
        #[serde(default)]
        stderr: bool,
        /// Close the process's stdin when this client's stdin ends (Docker's StdinOnce).
        #[serde(default)]
        close_stdin: bool,
    },
    /// `runc delete` (with `force`, kill a running container first); the shim then exits and
    /// removes its state directory.
    Delete {
        #[serde(default)]
        force: bool,
    },
    /// Stop the shim without deleting the container (refused while it runs unless `force`).
    Shutdown {
        #[serde(default)]
        force: bool,
    },
}

/// What an exec process runs: the OCI process (args, env, cwd, user, terminal...).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecSpec {
    pub process: Process,
    /// Keep a stdin pipe open for attach clients (`docker exec -i`).
    #[serde(default)]
    pub stdin: bool,
}

/// A request to the `containerd` role: lifecycle operations that need a new shim, or a shim
/// request routed by container id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum ServiceRequest {
    Create { opts: CreateOpts },
    List,
    Task { id: String, request: Request },
}

/// What `Supervisor::create` needs for one container.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreateOpts {
    pub id: String,
    /// The OCI bundle (config.json + rootfs); absolute.
    pub bundle: PathBuf,
    /// `process.terminal` of the bundle: stdio through a pty.
    #[serde(default)]
    pub tty: bool,
    /// Keep a stdin pipe open (`-i`).
    #[serde(default)]
    pub stdin: bool,
    /// json-file logging of stdout/stderr; None: no log.
    #[serde(default)]
    pub log: Option<LogConfig>,
    /// Override the supervisor's runtime for this container.
    #[serde(default)]
    pub runtime: Option<RuntimeConfig>,
}

/// How to run the OCI runtime: a runc-compatible command line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuntimeConfig {
    /// The runtime binary; None: berth's own binary in its `runc` role.
    #[serde(default)]
    pub path: Option<PathBuf>,
    /// `--root` of the runtime (its state directory).
    pub root: PathBuf,
    /// Extra global flags placed before the command (e.g. `--systemd-cgroup`).
    #[serde(default)]
    pub args: Vec<String>,
}

/// The shim's configuration, written by the supervisor as `config.json` in the shim's directory
/// before the shim starts; also what a restarted supervisor reads back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShimConfig {
    pub id: String,
    pub bundle: PathBuf,
    #[serde(default)]
    pub tty: bool,
    #[serde(default)]
    pub stdin: bool,
    #[serde(default)]
    pub log: Option<LogConfig>,
    pub runtime: RuntimeConfig,
}

/// How a process ended, as the shim recorded it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExitStatus {
    pub pid: u32,
    /// The exit code, or 128 + the signal (Docker's `State.ExitCode`).
    pub code: i32,
    /// The terminating signal, if a signal ended it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal: Option<i32>,
    /// RFC 3339 with nanoseconds.
    pub exited_at: String,
    /// Set when the code is not what the process returned (e.g. its shim died).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Registered, the runtime has not created it yet.
    Unknown,
    Created,
    Running,
    Paused,
    Stopped,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Unknown => "unknown",
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Stopped => "stopped",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecState {
    pub exec_id: String,
    pub status: Status,
    #[serde(default)]
    pub pid: u32,
    #[serde(default)]
    pub tty: bool,
    #[serde(default)]
    pub exit: Option<ExitStatus>,
}

/// A container as its shim (or, if the shim is gone, the supervisor) sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShimState {
    pub id: String,
    pub bundle: PathBuf,
    pub status: Status,
    /// The container's init pid (0 before create).
    #[serde(default)]
    pub pid: u32,
    #[serde(default)]
    pub tty: bool,
    #[serde(default)]
    pub stdin: bool,
    #[serde(default)]
    pub exit: Option<ExitStatus>,
    #[serde(default)]
    pub execs: Vec<ExecState>,
    /// The shim's pid; 0 when the shim is gone.
    #[serde(default)]
    pub shim_pid: u32,
}

/// A successful answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "reply", rename_all = "snake_case", deny_unknown_fields)]
pub enum Reply {
    Done,
    Pid {
        pid: u32,
    },
    Exit {
        exit: ExitStatus,
    },
    /// Delete's answer: the exit status if the container had run.
    Deleted {
        exit: Option<ExitStatus>,
    },
    State {
        state: ShimState,
    },
    List {
        containers: Vec<ShimState>,
    },
    /// The connection now carries the stdio stream.
    Attached {
        tty: bool,
    },
}

/// An error crossing the socket: the kind survives, so the daemon maps it to the same status.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WireError {
    pub kind: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Response {
    Ok(Reply),
    Err(WireError),
}

impl Response {
    pub fn from_result(r: Result<Reply>) -> Response {
        match r {
            Ok(reply) => Response::Ok(reply),
            Err(e) => Response::Err(WireError {
                kind: kind_name(e.kind()).to_string(),
                message: e.to_string(),
            }),
        }
    }
    pub fn into_result(self) -> Result<Reply> {
        match self {
            Response::Ok(r) => Ok(r),
            Response::Err(w) => Err(Error::new(kind_from_name(&w.kind), w.message)),
        }
    }
}

fn kind_name(k: ErrorKind) -> &'static str {
    match k {
        ErrorKind::NotFound => "not_found",
        ErrorKind::Conflict => "conflict",
        ErrorKind::InvalidArgument => "invalid_argument",
        ErrorKind::Unavailable => "unavailable",
        ErrorKind::PermissionDenied => "permission_denied",
        ErrorKind::NotImplemented => "not_implemented",
        ErrorKind::Internal => "internal",
    }
}

fn kind_from_name(s: &str) -> ErrorKind {
    match s {
        "not_found" => ErrorKind::NotFound,
        "conflict" => ErrorKind::Conflict,
        "invalid_argument" => ErrorKind::InvalidArgument,
        "unavailable" => ErrorKind::Unavailable,
        "permission_denied" => ErrorKind::PermissionDenied,
        "not_implemented" => ErrorKind::NotImplemented,
        _ => ErrorKind::Internal,
    }
}

/// Ids name files in the shim's directory and runtime state: runc's `[\w+-.]+`, bounded.
pub fn check_id(what: &str, id: &str) -> Result<()> {
    if id.len() > MAX_ID || !crate::base::id::valid_container_id(id) {
        return Err(Error::invalid(format!("invalid {what} id {id:?}: it must match [a-zA-Z0-9_.+-]+ and be at most {MAX_ID} characters")));
    }
    Ok(())
}

fn check_exec(exec_id: &Option<String>) -> Result<()> {
    match exec_id {
        Some(e) => check_id("exec", e),
        None => Ok(()),
    }
}

impl Request {
    /// Refuse values no handler should see (bad ids, signals out of range).
    pub fn validate(&self) -> Result<()> {
        match self {
            Request::Kill {
                signal, exec_id, ..
            } => {
                if !(1..=64).contains(signal) {
                    return Err(Error::invalid(format!("invalid signal {signal}")));
                }
                check_exec(exec_id)
            }
            Request::Wait { exec_id }
            | Request::CloseStdin { exec_id }
            | Request::Attach { exec_id, .. } => check_exec(exec_id),
            Request::Resize { exec_id, .. } => check_exec(exec_id),
            Request::ExecCreate { exec_id, .. } | Request::ExecStart { exec_id } => {
                check_id("exec", exec_id)
            }
            _ => Ok(()),
        }
    }
}

impl ServiceRequest {
    pub fn validate(&self) -> Result<()> {
        match self {
            ServiceRequest::Create { opts } => check_id("container", &opts.id),
            ServiceRequest::List => Ok(()),
            ServiceRequest::Task { id, request } => {
                check_id("container", id)?;
                request.validate()
            }
        }
    }
}

/// A message as one frame: length prefix + JSON.
pub fn encode<T: Serialize>(msg: &T) -> Result<Vec<u8>> {
    let mut out = vec![0u8; 4];
    serde_json::to_writer(&mut out, msg)
        .map_err(|e| Error::internal(format!("encode message: {e}")))?;
    let len = out.len() - 4;
    if len > MAX_FRAME {
        return Err(Error::invalid(format!(
            "message of {len} bytes exceeds the {MAX_FRAME}-byte limit"
        )));
    }
    out[..4].copy_from_slice(&(len as u32).to_be_bytes());
    Ok(out)
}

/// The body length announced by a frame header, checked against the limit.
pub fn frame_len(header: [u8; 4]) -> Result<usize> {
    let len = u32::from_be_bytes(header) as usize;
    if len > MAX_FRAME {
        return Err(Error::invalid(format!(
            "message of {len} bytes exceeds the {MAX_FRAME}-byte limit"
        )));
    }
    Ok(len)
}

pub fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T> {
    serde_json::from_slice(body).map_err(|e| Error::invalid(format!("malformed message: {e}")))
}

/// Sans-IO frame reader for a non-blocking loop: push bytes as they arrive, take whole frames.
#[derive(Default)]
pub struct FrameReader {
    buf: Vec<u8>,
}

impl FrameReader {
    pub fn push(&mut self, data: &[u8]) -> Result<()> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= 4 {
            let len = frame_len([self.buf[0], self.buf[1], self.buf[2], self.buf[3]])?;
            if self.buf.len() > 4 + len + MAX_FRAME {
                return Err(Error::invalid("peer sent more than one request"));
            }
        }
        Ok(())
    }

    /// A complete frame's body, if one has arrived.
    pub fn next_frame(&mut self) -> Result<Option<Vec<u8>>> {
        if self.buf.len() < 4 {
            return Ok(None);
        }
        let len = frame_len([self.buf[0], self.buf[1], self.buf[2], self.buf[3]])?;
        if self.buf.len() < 4 + len {
            return Ok(None);
        }
        let body = self.buf[4..4 + len].to_vec();
        self.buf.drain(..4 + len);
        Ok(Some(body))
    }

    /// Bytes received after the frame (an attach client's first stdin bytes).
    pub fn take_rest(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.buf)
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }
}

/// Blocking read of one frame; `Ok(None)` if the peer closed before sending anything.
pub fn read_frame(r: &mut impl Read) -> Result<Option<Vec<u8>>> {
    let mut header = [0u8; 4];
    let mut got = 0;
    while got < 4 {
        match r.read(&mut header[got..]) {
            Ok(0) if got == 0 => return Ok(None),
            Ok(0) => {
                return Err(Error::new(
                    ErrorKind::Unavailable,
                    "connection closed in the middle of a message",
                ))
            }
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::from(e).context("read message")),
        }
    }
    let mut body = vec![0u8; frame_len(header)?];
    r.read_exact(&mut body)
        .map_err(|e| Error::from(e).context("read message"))?;
    Ok(Some(body))
}

pub fn write_frame<T: Serialize>(w: &mut impl Write, msg: &T) -> Result<()> {
    w.write_all(&encode(msg)?)
        .map_err(|e| Error::from(e).context("write message"))
}

/// The 8-byte header of Docker's multiplexed stream.
pub fn stream_header(stream: u8, len: usize) -> [u8; 8] {
    let l = (len as u32).to_be_bytes();
    [stream, 0, 0, 0, l[0], l[1], l[2], l[3]]
}

/// Sans-IO splitter of Docker's multiplexed stream into (stream, payload) chunks.
#[derive(Default)]
pub struct Demux {
    buf: Vec<u8>,
}

impl Demux {
    pub fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }
    pub fn next_chunk(&mut self) -> Option<(u8, Vec<u8>)> {
        if self.buf.len() < 8 {
            return None;
        }
        let len = u32::from_be_bytes([self.buf[4], self.buf[5], self.buf[6], self.buf[7]]) as usize;
        if self.buf.len() < 8 + len {
            return None;
        }
        let stream = self.buf[0];
        let payload = self.buf[8..8 + len].to_vec();
        self.buf.drain(..8 + len);
        Some((stream, payload))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round<T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(v: T) {
        let f = encode(&v).unwrap();
        let mut r = FrameReader::default();
        r.push(&f[..3]).unwrap();
        assert!(r.next_frame().unwrap().is_none());
        r.push(&f[3..]).unwrap();
        let body = r.next_frame().unwrap().unwrap();
        assert_eq!(decode::<T>(&body).unwrap(), v);
        assert!(r.is_empty());
    }

    #[test]
    fn requests_round_trip() {
        round(Request::Create);
        round(Request::Kill {
            signal: 9,
            all: true,
            exec_id: None,
        });
        round(Request::Attach {
            exec_id: Some("e1".into()),
            stdin: true,
            stdout: true,
            stderr: false,
            close_stdin: true,
        });
        let mut p = Process::default();
        p.args = vec!["sh".into()];
        round(Request::ExecCreate {
            exec_id: "e1".into(),
            spec: ExecSpec {
                process: p,
                stdin: true,
            },
        });
        round(ServiceRequest::Task {
            id: "c1".into(),
            request: Request::Wait { exec_id: None },
        });
    }

    #[test]
    fn replies_round_trip() {
        let exit = ExitStatus {
            pid: 7,
            code: 137,
            signal: Some(9),
            exited_at: "2024-01-01T00:00:00Z".into(),
            error: None,
        };
        round(Response::Ok(Reply::Exit { exit: exit.clone() }));
        round(Response::Ok(Reply::Deleted { exit: None }));
        round(Response::Err(WireError {
            kind: "conflict".into(),
            message: "x".into(),
        }));
        let st = ShimState {
            id: "c".into(),
            bundle: "/b".into(),
            status: Status::Stopped,
            pid: 7,
            tty: false,
            stdin: false,
            exit: Some(exit),
            execs: vec![],
            shim_pid: 9,
        };
        round(Response::Ok(Reply::List {
            containers: vec![st],
        }));
    }

    #[test]
    fn wire_shape_is_small_and_tagged() {
        let f = encode(&Request::Kill {
            signal: 15,
            all: false,
            exec_id: None,
        })
        .unwrap();
        assert_eq!(
            &f[4..],
            br#"{"op":"kill","signal":15,"all":false,"exec_id":null}"#
        );
        let r: Request = decode(br#"{"op":"wait"}"#).unwrap();
        assert_eq!(r, Request::Wait { exec_id: None });
    }

    #[test]
    fn oversized_frames_are_refused_from_the_header() {
        let mut r = FrameReader::default();
        let err = r.push(&((MAX_FRAME as u32) + 1).to_be_bytes()).unwrap_err();
        assert!(err.to_string().contains("exceeds"), "{err}");
        let mut cur = std::io::Cursor::new(u32::MAX.to_be_bytes().to_vec());
        assert!(read_frame(&mut cur).is_err());
    }

    #[test]
    fn malformed_and_unknown_messages_are_errors() {
        assert!(decode::<Request>(b"{").is_err());
        assert!(decode::<Request>(br#"{"op":"format_disk"}"#).is_err());
        assert!(decode::<Request>(br#"{"op":"kill","signal":9,"extra":1}"#).is_err());
        assert!(decode::<Request>(br#"{"op":"kill"}"#).is_err());
    }

    #[test]
    fn validation_refuses_bad_ids_and_signals() {
        assert!(Request::Kill {
            signal: 0,
            all: false,
            exec_id: None
        }
        .validate()
        .is_err());
        assert!(Request::Kill {
            signal: 65,
            all: false,
            exec_id: None
        }
        .validate()
        .is_err());
        assert!(Request::Wait {
            exec_id: Some("../x".into())
        }
        .validate()
        .is_err());
        assert!(Request::ExecStart {
            exec_id: "a".repeat(MAX_ID + 1)
        }
        .validate()
        .is_err());
        assert!(ServiceRequest::Task {
            id: "a/b".into(),
            request: Request::State
        }
        .validate()
        .is_err());
        assert!(Request::Kill {
            signal: 34,
            all: true,
            exec_id: Some("e-1".into())
        }
        .validate()
        .is_ok());
    }

    #[test]
    fn rest_after_the_frame_is_kept_for_stdin() {
        let mut f = encode(&Request::Attach {
            exec_id: None,
            stdin: true,
            stdout: true,
            stderr: true,
            close_stdin: false,
        })
        .unwrap();
        f.extend_from_slice(b"hello");
        let mut r = FrameReader::default();
        r.push(&f).unwrap();
        assert!(r.next_frame().unwrap().is_some());
        assert_eq!(r.take_rest(), b"hello");
    }

    #[test]
    fn errors_keep_their_kind_across_the_wire() {
        let r = Response::from_result(Err(Error::conflict("container c is not running")));
        let e = r.into_result().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Conflict);
        assert_eq!(e.to_string(), "container c is not running");
    }

    #[test]
    fn demux_splits_frames() {
        let mut d = Demux::default();
        let mut data = stream_header(STDOUT, 3).to_vec();
        data.extend_from_slice(b"out");
        data.extend_from_slice(&stream_header(STDERR, 2));
        data.extend_from_slice(b"er");
        d.push(&data[..5]);
        assert!(d.next_chunk().is_none());
        d.push(&data[5..]);
        assert_eq!(d.next_chunk(), Some((STDOUT, b"out".to_vec())));
        assert_eq!(d.next_chunk(), Some((STDERR, b"er".to_vec())));
        assert_eq!(d.next_chunk(), None);
    }
}
