//! The client side of a hijacked attach/exec connection: stdin forwarded (through the detach-key
//! proxy on a TTY, with the terminal in raw mode), output copied raw (TTY) or demultiplexed,
//! stdin EOF sent as a half-close, window size kept in sync on SIGWINCH, and signals forwarded
//! to the container (`--sig-proxy`).

use super::command::CliError;
use crate::api::client::SharedStream;
use crate::api::client::{Client, Hijacked, Query};
use crate::api::stream::{Demux, StdStream};
use smol::io::{AsyncReadExt, AsyncWriteExt};
use std::io::{IsTerminal, Read, Write};
use std::os::fd::AsFd;

/// Docker's default detach sequence: ctrl-p, ctrl-q.
pub const DEFAULT_DETACH_KEYS: &[u8] = &[16, 17];

/// `term.ToBytes`: `ctrl-p,ctrl-q`, `ctrl-a`, `a`.
pub fn detach_keys(spec: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    for key in spec.split(',') {
        let k = key.trim();
        if let Some(c) = k.strip_prefix("ctrl-") {
            let b = c.as_bytes();
            if b.len() != 1 {
                return Err(format!("Unknown character: '{c}'"));
            }
            out.push(match b[0] {
                b'a'..=b'z' => b[0] - b'a' + 1,
                b'@' => 0,
                b'[' => 27,
                b'\\' => 28,
                b']' => 29,
                b'^' => 30,
                b'_' => 31,
                _ => return Err(format!("Unknown character: '{c}'")),
            });
        } else if k.len() == 1 {
            out.push(k.as_bytes()[0]);
        } else {
            return Err(format!("Unknown character: '{k}'"));
        }
    }
    Ok(out)
}

/// Watches input for the detach sequence; a partial match is held back until it either
/// completes (detach) or breaks (the held bytes are sent after all).
#[derive(Debug)]
pub struct EscapeProxy {
    keys: Vec<u8>,
    matched: usize,
}

impl EscapeProxy {
    pub fn new(keys: Vec<u8>) -> EscapeProxy {
        EscapeProxy { keys, matched: 0 }
    }

    /// Bytes to forward, and whether the whole sequence was typed.
    pub fn feed(&mut self, data: &[u8]) -> (Vec<u8>, bool) {
        let mut out = Vec::with_capacity(data.len());
        if self.keys.is_empty() {
            out.extend_from_slice(data);
            return (out, false);
        }
        for &b in data {
            if b == self.keys[self.matched] {
                self.matched += 1;
                if self.matched == self.keys.len() {
                    self.matched = 0;
                    return (out, true);
                }
                continue;
            }
            if self.matched > 0 {
                out.extend_from_slice(&self.keys[..self.matched]);
                self.matched = 0;
                if b == self.keys[0] {
                    self.matched = 1;
                    continue;
                }
            }
            out.push(b);
        }
        (out, false)
    }
}

/// Restores the terminal when dropped.
pub struct RawGuard(Option<crate::runtime::entry::terminal::Saved>);

impl RawGuard {
    /// Raw mode on stdin when it is a terminal.
    pub fn stdin() -> RawGuard {
        let stdin = std::io::stdin();
        if !stdin.is_terminal() || std::env::var_os("NORAW").is_some() {
            return RawGuard(None);
        }
        RawGuard(crate::runtime::entry::terminal::make_raw(stdin.as_fd()).ok())
    }
}

impl Drop for RawGuard {
    fn drop(&mut self) {
        if let Some(s) = &self.0 {
            crate::runtime::entry::terminal::restore(std::io::stdin().as_fd(), s);
        }
    }
}

/// What a stream of a hijacked connection should do.
pub struct StreamOpts {
    pub stdin: bool,
    pub stdout: bool,
    pub stderr: bool,
    pub tty: bool,
    pub detach_keys: Vec<u8>,
}

/// How streaming ended.
#[derive(Debug, PartialEq, Eq)]
pub enum End {
    /// The daemon closed the output (the process ended or the stream was detached there).
    Output,
    /// Stdin ended and no output was attached.
    Input,
    /// The user typed the detach sequence.
    Detached,
}

enum Event {
    InputDone,
    Detached,
}

async fn copy_output(
    stream: SharedStream,
    buffered: Vec<u8>,
    tty: bool,
    stdout: bool,
    stderr: bool,
) -> Result<(), CliError> {
    let mut rd = stream;
    let mut demux = Demux::new();
    let mut first = Some(buffered);
    let mut buf = vec![0u8; 32 * 1024];
    loop {
        let chunk: Vec<u8> = match first.take() {
            Some(b) if !b.is_empty() => b,
            _ => {
                let n = match rd.read(&mut buf).await {
                    Ok(n) => n,
                    Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => 0,
                    Err(e) => return Err(CliError::msg(e.to_string())),
                };
                if n == 0 {
                    return Ok(());
                }
                buf[..n].to_vec()
            }
        };
        if tty {
            if stdout || stderr {
                let mut o = std::io::stdout().lock();
                let _ = o.write_all(&chunk);
                let _ = o.flush();
            }
            continue;
        }
        demux.feed(&chunk);
        while let Some((s, data)) = demux.next_frame().map_err(CliError::msg)? {
            match s {
                StdStream::Stderr if stderr => {
                    let _ = std::io::stderr().lock().write_all(&data);
                }
                StdStream::SystemErr => {
                    return Err(CliError::msg(String::from_utf8_lossy(&data).into_owned()))
                }
                StdStream::Stdout | StdStream::Stdin if stdout => {
                    let mut o = std::io::stdout().lock();
                    let _ = o.write_all(&data);
                    let _ = o.flush();
                }
                _ => {}
            }
        }
    }
}

/// Start copying stdin to the connection on a thread (stdin reads block and cannot be polled
/// portably); the thread reports EOF or a detach on the channel.
fn start_input(stream: SharedStream, opts: &StreamOpts, tx: smol::channel::Sender<Event>) {
    let keys = if opts.tty {
        Some(opts.detach_keys.clone())
    } else {
        None
    };
    std::thread::spawn(move || {
        let mut proxy = keys.map(EscapeProxy::new);
        let mut stdin = std::io::stdin();
        let mut buf = vec![0u8; 32 * 1024];
        let mut w = stream.clone();
        loop {
            let n = match stdin.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            let (data, detached) = match proxy.as_mut() {
                Some(p) => p.feed(&buf[..n]),
                None => (buf[..n].to_vec(), false),
            };
            if !data.is_empty() && smol::block_on(w.write_all(&data)).is_err() {
                break;
            }
            if detached {
                let _ = smol::block_on(tx.send(Event::Detached));
                return;
            }
        }
        let _ = stream.shutdown_write();
        let _ = smol::block_on(tx.send(Event::InputDone));
    });
}

/// Stream a hijacked connection until the output ends, stdin ends with no output attached, or
/// the user detaches.
pub fn stream(h: Hijacked, opts: StreamOpts) -> Result<End, CliError> {
    let _raw = if opts.stdin && opts.tty {
        Some(RawGuard::stdin())
    } else {
        None
    };
    let (tx, rx) = smol::channel::unbounded::<Event>();
    if opts.stdin {
        start_input(h.stream.clone(), &opts, tx);
    } else {
        drop(tx);
    }
    let has_output = opts.stdout || opts.stderr;
    let out_stream = h.stream.clone();
    smol::block_on(async move {
        let output = async {
            if has_output {
                copy_output(out_stream, h.buffered, opts.tty, opts.stdout, opts.stderr)
                    .await
                    .map(|_| End::Output)
            } else {
                smol::future::pending::<Result<End, CliError>>().await
            }
        };
        let input = async {
            loop {
                match rx.recv().await {
                    Ok(Event::Detached) => return Ok(End::Detached),
                    Ok(Event::InputDone) if !has_output => return Ok(End::Input),
                    Ok(Event::InputDone) => continue,
                    Err(_) => smol::future::pending::<()>().await,
                }
            }
        };
        smol::future::or(output, input).await
    })
}

/// The size of the terminal on stdout, if it is one.
pub fn tty_size() -> Option<(u16, u16)> {
    let out = std::io::stdout();
    if !out.is_terminal() {
        return None;
    }
    crate::runtime::entry::terminal::get_size(out.as_fd())
}

/// `POST …/resize` with the current size (retried briefly: the process may not exist yet), and
/// again on every SIGWINCH, on a thread of its own for the life of the command.
pub fn monitor_size(client: &Client, path: String) {
    if tty_size().is_none() {
        return;
    }
    // Watch before the first read, so a change made meanwhile is not lost.
    let signals = async_signal::Signals::new([async_signal::Signal::Winch]).ok();
    let Some((h, w)) = tty_size() else { return };
    let mut c = client.clone_fresh();
    let resize_path = path.clone();
    let resize = move |c: &mut Client, h: u16, w: u16| -> bool {
        if h == 0 && w == 0 {
            return true;
        }
        smol::block_on(c.call(
            "POST",
            &resize_path,
            &Query::new().add("h", h.to_string()).add("w", w.to_string()),
        ))
        .is_ok()
    };
    let mut ok = resize(&mut c, h, w);
    for retry in 0..10 {
        if ok {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis((retry + 1) * 10));
        ok = resize(&mut c, h, w);
    }
    if !ok {
        super::errln("failed to resize tty, using default size");
    }
    let Some(mut signals) = signals else {
        return;
    };
    std::thread::spawn(move || {
        smol::block_on(async {
            use smol::stream::StreamExt;
            while signals.next().await.is_some() {
                if let Some((h, w)) = tty_size() {
                    resize(&mut c, h, w);
                }
            }
        })
    });
}

/// Forward the signals a user sends to this process to the container (`docker kill`), on a
/// thread of its own, for the life of the command.
pub fn proxy_signals(client: &Client, id: &str) {
    use async_signal::Signal;
    let sigs = [
        Signal::Hup,
        Signal::Int,
        Signal::Quit,
        Signal::Term,
        Signal::Usr1,
        Signal::Usr2,
        Signal::Alarm,
        Signal::Tstp,
    ];
    let Ok(mut signals) = async_signal::Signals::new(sigs) else {
        return;
    };
    let mut c = client.clone_fresh();
    let path = format!("/containers/{}/kill", crate::api::client::path_escape(id));
    std::thread::spawn(move || {
        smol::block_on(async {
            use smol::stream::StreamExt;
            while let Some(Ok(sig)) = signals.next().await {
                let _ = c
                    .call(
                        "POST",
                        &path,
                        &Query::new().add("signal", (sig as i32).to_string()),
                    )
                    .await;
            }
        })
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detach_key_specs() {
        assert_eq!(detach_keys("ctrl-p,ctrl-q").unwrap(), DEFAULT_DETACH_KEYS);
        assert_eq!(detach_keys("ctrl-a,x").unwrap(), [1, b'x']);
        assert_eq!(detach_keys("ctrl-@,ctrl-[").unwrap(), [0, 27]);
        assert_eq!(detach_keys("ctrl-1").unwrap_err(), "Unknown character: '1'");
        assert!(detach_keys("abc").is_err());
    }

    #[test]
    fn escape_proxy_detaches_and_passes_partial_matches() {
        let mut p = EscapeProxy::new(DEFAULT_DETACH_KEYS.to_vec());
        assert_eq!(p.feed(b"ls\r"), (b"ls\r".to_vec(), false));
        assert_eq!(p.feed(&[16]), (vec![], false));
        assert_eq!(p.feed(b"x"), (vec![16, b'x'], false));
        assert_eq!(p.feed(&[16, 16]), (vec![16], false));
        assert_eq!(p.feed(&[17, b'z']), (vec![], true));
        let mut p = EscapeProxy::new(DEFAULT_DETACH_KEYS.to_vec());
        assert_eq!(p.feed(&[b'a', 16, 17]), (vec![b'a'], true));
    }
}
