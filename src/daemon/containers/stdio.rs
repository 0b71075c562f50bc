//! A container's standard streams: attach (hijacked), wait conditions, and logs from the
//! json-file log.

use super::state::{parse_rfc3339, Status};
use super::store::Container;
use super::PendingAttach;
use crate::base::{Error, Result};
use crate::daemon::Daemon;
use crate::http::server::Upgraded;
use crate::supervisor::{AttachOpts, AttachStream};
use smol::io::{AsyncReadExt, AsyncWriteExt};
use std::net::Shutdown;
use std::sync::Arc;
use std::time::Duration;

pub const MULTIPLEXED: &str = "application/vnd.docker.multiplexed-stream";
pub const RAW: &str = "application/vnd.docker.raw-stream";

/// `ctrl-p,ctrl-q` → [0x10, 0x11] (Docker's detach-key syntax: `ctrl-<x>` or one character).
pub fn parse_detach_keys(s: &str) -> Result<Vec<u8>> {
    let s = if s.is_empty() { "ctrl-p,ctrl-q" } else { s };
    let mut out = Vec::new();
    for k in s.split(',') {
        let k = k.trim();
        let lower = k.to_ascii_lowercase();
        if let Some(x) = lower.strip_prefix("ctrl-") {
            let b = x.as_bytes();
            let code = match b {
                [c @ b'a'..=b'z'] => c - b'a' + 1,
                [b'@'] => 0,
                [b'['] => 27,
                [b'\\'] => 28,
                [b']'] => 29,
                [b'^'] => 30,
                [b'_'] => 31,
                _ => return Err(Error::invalid(format!("Unknown character: '{x}'"))),
            };
            out.push(code);
        } else if k.len() == 1 {
            out.push(k.as_bytes()[0]);
        } else {
            return Err(Error::invalid(format!("Unknown character: '{k}'")));
        }
    }
    Ok(out)
}

/// Scans stdin for the detach sequence, holding back a partial match.
#[derive(Debug)]
pub struct DetachScanner {
    keys: Vec<u8>,
    matched: usize,
}

impl DetachScanner {
    pub fn new(keys: Vec<u8>) -> DetachScanner {
        DetachScanner { keys, matched: 0 }
    }
    /// The bytes to pass on, and whether the sequence completed (bytes after it are dropped).
    pub fn feed(&mut self, input: &[u8]) -> (Vec<u8>, bool) {
        let mut out = Vec::with_capacity(input.len());
        if self.keys.is_empty() {
            out.extend_from_slice(input);
            return (out, false);
        }
        for &b in input {
            if b == self.keys[self.matched] {
                self.matched += 1;
                if self.matched == self.keys.len() {
                    return (out, true);
                }
            } else {
                out.extend_from_slice(&self.keys[..self.matched]);
                self.matched = 0;
                if b == self.keys[0] {
                    self.matched = 1;
                } else {
                    out.push(b);
                }
            }
        }
        (out, false)
    }
}

/// An attach being set up: the stream now, or a promise of it at the next start.
pub enum AttachTarget {
    Now(AttachStream),
    AtStart(smol::channel::Receiver<Result<AttachStream>>),
}

impl AttachTarget {
    pub async fn stream(self, id: &str) -> Result<AttachStream> {
        match self {
            AttachTarget::Now(s) => Ok(s),
            AttachTarget::AtStart(rx) => rx.recv().await.map_err(|_| {
                Error::conflict(format!("container {id} was removed before it started"))
            })?,
        }
    }
}

/// Attach now if the container runs, else register for its next start. Call this *before*
/// answering the attach request: the CLI sends `start` as soon as it has the 101, and the
/// start must find the attach registered or the first output would be lost.
pub async fn prepare_attach(
    d: &Arc<Daemon>,
    c: &Arc<Container>,
    opts: AttachOpts,
) -> Result<AttachTarget> {
    let _op = c.op.lock().await;
    if c.with(|r| r.state.status.is_alive()) {
        return Ok(AttachTarget::Now(
            d.supervisor
                .attach(&d.containers.runtime_id(&c.id), None, opts)
                .await?,
        ));
    }
    let (tx, rx) = smol::channel::bounded(1);
    d.containers
        .add_pending_attach(&c.id, PendingAttach { opts, tx });
    Ok(AttachTarget::AtStart(rx))
}

/// Splice a hijacked client connection with a process's stdio stream until the process's
/// output ends (or the client detaches or goes away). Returns true if the client detached.
/// The client connection is left open: the caller closes it (`up.stream.shutdown()`) once
/// whatever the client reads next (an exec's exit code) is recorded.
pub async fn splice(
    up: &Upgraded,
    s: AttachStream,
    stdin: bool,
    detach_keys: Option<Vec<u8>>,
) -> bool {
    let shim = Arc::new(s.stream);
    let client = up.stream.clone();
    let (detached_tx, detached_rx) = smol::channel::bounded::<()>(1);
    let input = {
        let (shim, mut client) = (shim.clone(), client.clone());
        let read_ahead = up.read_ahead.clone();
        smol::spawn(async move {
            let mut scanner = DetachScanner::new(detach_keys.unwrap_or_default());
            let mut w = &*shim;
            let mut first = Some(read_ahead);
            let mut buf = vec![0u8; 32 * 1024];
            loop {
                let chunk = match first.take() {
                    Some(b) if !b.is_empty() => b,
                    _ => match client.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => buf[..n].to_vec(),
                    },
                };
                if !stdin {
                    continue;
                }
                let (pass, detach) = scanner.feed(&chunk);
                if !pass.is_empty() && w.write_all(&pass).await.is_err() {
                    break;
                }
                if detach {
                    let _ = detached_tx.try_send(());
                    return;
                }
            }
            // The client's stdin ended: pass the EOF on.
            let _ = shim.get_ref().shutdown(Shutdown::Write);
        })
    };
    let output = {
        let (shim, mut client) = (shim.clone(), client.clone());
        async move {
            let mut r = &*shim;
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                match r.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        if client.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                }
            }
            let _ = client.flush().await;
            false
        }
    };
    use smol::future::FutureExt;
    let detached = output
        .or(async {
            // The input task drops the sender when stdin ends: only a message means detach.
            match detached_rx.recv().await {
                Ok(()) => true,
                Err(_) => std::future::pending().await,
            }
        })
        .or(async {
            let _ = up.stop.recv().await;
            false
        })
        .await;
    let _ = shim.get_ref().shutdown(Shutdown::Both);
    input.cancel().await;
    detached
}

/// The exit counter, status and code of a container, for the wait conditions.
fn snapshot_exit(c: &Container) -> (u64, Status, i64) {
    let exits = c.live().map(|l| l.exits).unwrap_or(0);
    c.with(|r| (exits, r.state.status, r.state.exit_code))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitCondition {
    NotRunning,
    NextExit,
    Removed,
}

impl WaitCondition {
    pub fn parse(s: &str) -> Result<WaitCondition> {
        match s {
            "" | "not-running" => Ok(WaitCondition::NotRunning),
            "next-exit" => Ok(WaitCondition::NextExit),
            "removed" => Ok(WaitCondition::Removed),
            other => Err(Error::invalid(format!("invalid condition: \"{other}\""))),
        }
    }
}

/// Resolve when the condition holds; the container's exit code then.
pub async fn wait(d: &Arc<Daemon>, c: &Arc<Container>, cond: WaitCondition) -> i64 {
    let (start_exits, _, _) = snapshot_exit(c);
    loop {
        let rx = c.watch();
        let (exits, status, code) = snapshot_exit(c);
        let gone = d.containers.store.get(&c.id).is_err();
        let done = match cond {
            WaitCondition::NotRunning => {
                gone || !(status.is_alive() || status == Status::Restarting)
            }
            WaitCondition::NextExit => gone || exits > start_exits,
            WaitCondition::Removed => gone,
        };
        if done {
            return code;
        }
        let _ = rx.recv().await;
    }
}

/// Options of `GET /containers/{id}/logs`.
#[derive(Debug, Clone, Default)]
pub struct LogOptions {
    pub follow: bool,
    pub stdout: bool,
    pub stderr: bool,
    /// Unix nanoseconds; entries before are skipped.
    pub since: Option<i128>,
    /// Entries after are not shown.
    pub until: Option<i128>,
    pub timestamps: bool,
    /// Last N entries (None: all).
    pub tail: Option<usize>,
}

/// Docker's log timestamps: unix seconds with an optional fraction, or RFC 3339.
pub fn parse_log_time(s: &str) -> Result<Option<i128>> {
    let s = s.trim();
    if s.is_empty() || s == "0" {
        return Ok(None);
    }
    if let Some((secs, nanos)) = parse_rfc3339(s) {
        return Ok(Some(secs as i128 * 1_000_000_000 + nanos as i128));
    }
    let (sec, frac) = s.split_once('.').unwrap_or((s, ""));
    let secs: i64 = sec
        .parse()
        .map_err(|_| Error::invalid(format!("invalid timestamp: {s}")))?;
    let mut digits: String = frac.chars().take(9).collect();
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::invalid(format!("invalid timestamp: {s}")));
    }
    while digits.len() < 9 {
        digits.push('0');
    }
    let nanos: i128 = digits.parse().unwrap_or(0);
    Ok(Some(secs as i128 * 1_000_000_000 + nanos))
}

/// One output frame: multiplexed header + payload, or the raw bytes for a tty.
pub fn frame(stream: u8, data: &[u8], tty: bool) -> Vec<u8> {
    if tty {
        return data.to_vec();
    }
    let mut out = Vec::with_capacity(8 + data.len());
    out.extend_from_slice(&[stream, 0, 0, 0]);
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(data);
    out
}

/// Turn json-file lines into output frames per the options; `cutoff` stops at `until`.
/// Returns the frames and whether `until` was passed.
pub fn render(lines: &[Vec<u8>], o: &LogOptions, tty: bool) -> (Vec<Vec<u8>>, bool) {
    let mut entries = Vec::new();
    let mut past_until = false;
    for l in lines {
        let Ok(e) = crate::supervisor::logfile::parse_entry(l) else {
            continue;
        };
        let stream = match e.stream.as_str() {
            "stdout" if o.stdout => 1u8,
            "stderr" if o.stderr => 2u8,
            _ => continue,
        };
        let t = parse_rfc3339(&e.time).map(|(s, n)| s as i128 * 1_000_000_000 + n as i128);
        if let (Some(since), Some(t)) = (o.since, t) {
            if t < since {
                continue;
            }
        }
        if let (Some(until), Some(t)) = (o.until, t) {
            if t > until {
                past_until = true;
                break;
            }
        }
        let mut data = Vec::new();
        if o.timestamps {
            data.extend_from_slice(e.time.as_bytes());
            data.push(b' ');
        }
        data.extend_from_slice(e.log.as_bytes());
        entries.push(frame(stream, &data, tty));
    }
    if let Some(n) = o.tail {
        if entries.len() > n {
            entries.drain(..entries.len() - n);
        }
    }
    (entries, past_until)
}

/// Complete lines from `buf` (the rest stays for later).
fn take_lines(buf: &mut Vec<u8>) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    while let Some(i) = buf.iter().position(|&b| b == b'\n') {
        let line: Vec<u8> = buf.drain(..=i).collect();
        out.push(line[..line.len() - 1].to_vec());
    }
    out
}

/// Stream the logs of `c` into `tx` (one item per frame batch); ends when everything asked for
/// is sent, or with `follow` once the container has stopped and the log is drained.
pub async fn stream_logs(
    d: Arc<Daemon>,
    c: Arc<Container>,
    o: LogOptions,
    tx: smol::channel::Sender<Vec<u8>>,
) {
    let r = c.snapshot();
    let tty = r.config.Tty;
    let path = std::path::PathBuf::from(&r.log_path);
    let max_file = r
        .host_config
        .LogConfig
        .Config
        .as_ref()
        .and_then(|m| m.get("max-file"))
        .and_then(|v| v.parse().ok())
        .unwrap_or(1u32);
    // What is on disk now.
    let (p2, o2) = (path.clone(), o.clone());
    let (frames, past_until, mut pos) = crate::http::rt::unblock(move || {
        let files = crate::supervisor::logfile::files_oldest_first(&p2, max_file);
        let mut lines = Vec::new();
        let mut pos = (0u64, 0u64);
        for f in &files {
            if let Ok(b) = std::fs::read(f) {
                let mut b = b;
                if f == &p2 {
                    use std::os::unix::fs::MetadataExt;
                    let ino = std::fs::metadata(f).map(|m| m.ino()).unwrap_or(0);
                    // Only whole lines; a partial last line is read again when followed.
                    let whole = b
                        .iter()
                        .rposition(|&c| c == b'\n')
                        .map(|i| i + 1)
                        .unwrap_or(0);
                    b.truncate(whole);
                    pos = (ino, whole as u64);
                }
                let mut buf = b;
                lines.extend(take_lines(&mut buf));
            }
        }
        let (frames, past) = render(&lines, &o2, tty);
        (frames, past, pos)
    })
    .await;
    for f in frames {
        if tx.send(f).await.is_err() {
            return;
        }
    }
    if !o.follow || past_until || o.tail == Some(0) && !o.follow {
        return;
    }
    let follow_opts = LogOptions { tail: None, ..o };
    let mut carry = Vec::new();
    loop {
        let running = d.containers.store.get(&c.id).is_ok()
            && c.with(|r| r.state.status.is_alive() || r.state.status == Status::Restarting);
        let (p2, cur) = (path.clone(), pos);
        let (data, newpos) = crate::http::rt::unblock(move || read_from(&p2, cur)).await;
        pos = newpos;
        if !data.is_empty() {
            carry.extend_from_slice(&data);
            let lines = take_lines(&mut carry);
            let (frames, past) = render(&lines, &follow_opts, tty);
            for f in frames {
                if tx.send(f).await.is_err() {
                    return;
                }
            }
            if past {
                return;
            }
            continue;
        }
        if !running {
            return;
        }
        if tx.is_closed() {
            return;
        }
        let rx = c.watch();
        use smol::future::FutureExt;
        async {
            let _ = rx.recv().await;
        }
        .or(async {
            smol::Timer::after(Duration::from_millis(100)).await;
        })
        .await;
    }
}

/// Bytes of `path` after `pos` (inode, offset); a rotated file (new inode, or shorter) is read
/// from its start.
fn read_from(path: &std::path::Path, pos: (u64, u64)) -> (Vec<u8>, (u64, u64)) {
    use std::io::{Read, Seek, SeekFrom};
    use std::os::unix::fs::MetadataExt;
    let Ok(mut f) = std::fs::File::open(path) else {
        return (Vec::new(), pos);
    };
    let Ok(m) = f.metadata() else {
        return (Vec::new(), pos);
    };
    let start = if m.ino() != pos.0 || m.len() < pos.1 {
        0
    } else {
        pos.1
    };
    if f.seek(SeekFrom::Start(start)).is_err() {
        return (Vec::new(), pos);
    }
    let mut out = Vec::new();
    let _ = f.take(4 << 20).read_to_end(&mut out);
    let n = out.len() as u64;
    (out, (m.ino(), start + n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detach_keys() {
        assert_eq!(parse_detach_keys("").unwrap(), [0x10, 0x11]);
        assert_eq!(parse_detach_keys("ctrl-a,x").unwrap(), [1, b'x']);
        assert!(parse_detach_keys("ctrl-1").is_err());
        let mut s = DetachScanner::new(vec![0x10, 0x11]);
        assert_eq!(s.feed(b"ab\x10"), (b"ab".to_vec(), false));
        assert_eq!(s.feed(b"c"), (b"\x10c".to_vec(), false));
        assert_eq!(s.feed(b"\x10\x11rest"), (b"".to_vec(), true));
    }

    #[test]
    fn frames_and_rendering() {
        assert_eq!(frame(2, b"hi", false), [2, 0, 0, 0, 0, 0, 0, 2, b'h', b'i']);
        assert_eq!(frame(1, b"hi", true), b"hi");
        let lines: Vec<Vec<u8>> = [
            r#"{"log":"one\n","stream":"stdout","time":"2026-11-23T13:00:00.5Z"}"#,
            r#"{"log":"two\n","stream":"stderr","time":"2026-11-23T13:00:01Z"}"#,
            r#"{"log":"three\n","stream":"stdout","time":"2026-11-23T13:00:02Z"}"#,
        ]
        .iter()
        .map(|s| s.as_bytes().to_vec())
        .collect();
        let all = LogOptions {
            stdout: true,
            stderr: true,
            ..Default::default()
        };
        let (f, _) = render(&lines, &all, true);
        assert_eq!(f.concat(), b"one\ntwo\nthree\n");
        let (f, _) = render(
            &lines,
            &LogOptions {
                tail: Some(1),
                ..all.clone()
            },
            true,
        );
        assert_eq!(f.concat(), b"three\n");
        let (f, _) = render(
            &lines,
            &LogOptions {
                stderr: false,
                ..all.clone()
            },
            false,
        );
        assert_eq!(f.len(), 2);
        assert_eq!(f[0][0], 1);
        let since = parse_log_time("2026-11-23T13:00:01Z").unwrap();
        let (f, _) = render(
            &lines,
            &LogOptions {
                since,
                timestamps: true,
                ..all.clone()
            },
            true,
        );
        assert_eq!(
            f.concat(),
            b"2026-11-23T13:00:01Z two\n2026-11-23T13:00:02Z three\n"
        );
        let until = parse_log_time(&format!(
            "{}",
            parse_rfc3339("2026-11-23T13:00:01Z").unwrap().0
        ))
        .unwrap();
        let (f, past) = render(&lines, &LogOptions { until, ..all }, true);
        assert_eq!((f.concat(), past), (b"one\ntwo\n".to_vec(), true));
    }

    #[test]
    fn log_times() {
        assert_eq!(parse_log_time("1.5").unwrap(), Some(1_500_000_000));
        assert_eq!(parse_log_time("").unwrap(), None);
        assert!(parse_log_time("soon").is_err());
    }

    #[test]
    fn wait_conditions() {
        assert_eq!(WaitCondition::parse("").unwrap(), WaitCondition::NotRunning);
        assert_eq!(
            WaitCondition::parse("removed").unwrap(),
            WaitCondition::Removed
        );
        assert_eq!(
            WaitCondition::parse("bogus").unwrap_err().to_string(),
            "invalid condition: \"bogus\""
        );
    }
}
