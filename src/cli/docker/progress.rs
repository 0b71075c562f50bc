//! Progress output of pull, push, load and import, drawn from the daemon's JSON message stream
//! as the CLI draws it: one line per layer id updated in place on a terminal (cursor up/down,
//! erase line, `[====>   ] 1.2MB/3.4MB 2s`), plain status lines otherwise (progress bars are
//! left out when the output is not a terminal).

use super::command::CliError;
use super::format::human_size;
use crate::api::stream::{JsonMessage, JsonSplitter, ProgressDetail};
use smol::io::{AsyncRead, AsyncReadExt};
use std::collections::HashMap;
use std::io::Write;

/// Go's `time.Duration.String()` of whole seconds (`1m5s`, `2h0m0s`, `0s`).
pub fn go_duration(secs: i64) -> String {
    if secs == 0 {
        return "0s".into();
    }
    let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
    if h > 0 {
        format!("{h}h{m}m{s}s")
    } else if m > 0 {
        format!("{m}m{s}s")
    } else {
        format!("{s}s")
    }
}

/// `JSONProgress.String()` for a terminal `width` columns wide, at unix time `now`.
pub fn progress_string(p: &ProgressDetail, width: usize, now: f64) -> String {
    if p.current <= 0 && p.total <= 0 {
        return String::new();
    }
    if p.total <= 0 {
        return if p.units.is_empty() {
            format!("{:>8}", human_size(p.current as f64))
        } else {
            format!("{} {}", p.current, p.units)
        };
    }
    let percentage = (((p.current as f64 / p.total as f64) * 100.0) as i64 / 2).min(50);
    let mut bar = String::new();
    if width > 110 {
        let spaces = (50 - percentage).max(0) as usize;
        bar = format!(
            "[{}>{}] ",
            "=".repeat(percentage.max(0) as usize),
            " ".repeat(spaces)
        );
    }
    let numbers = if p.hide_counts {
        String::new()
    } else if p.units.is_empty() {
        let cur = human_size(p.current as f64);
        if p.current > p.total {
            format!("{cur:>8}")
        } else {
            format!("{cur:>8}/{}", human_size(p.total as f64))
        }
    } else if p.current > p.total {
        format!("{} {}", p.current, p.units)
    } else {
        format!("{}/{} {}", p.current, p.total, p.units)
    };
    let mut left = String::new();
    if width > 50 && p.current > 0 && p.start > 0 && percentage < 50 {
        let elapsed = now - p.start as f64;
        let per = elapsed / p.current as f64;
        left = format!(
            " {}",
            go_duration(((p.total - p.current) as f64 * per).round() as i64)
        );
    }
    format!("{bar}{numbers}{left}")
}

/// Draws a message stream.
pub struct Display<W: Write> {
    out: W,
    terminal: bool,
    width: usize,
    ids: HashMap<String, usize>,
}

impl<W: Write> Display<W> {
    pub fn new(out: W, terminal: bool, width: usize) -> Display<W> {
        Display {
            out,
            terminal,
            width,
            ids: HashMap::new(),
        }
    }

    /// Show one message; a message carrying an error ends the stream with that error.
    pub fn show(&mut self, m: &JsonMessage) -> Result<(), String> {
        let has_progress = m.progress_detail.is_some();
        let mut diff = 0;
        if !m.id.is_empty() && (has_progress || !m.progress.is_empty()) {
            let line = match self.ids.get(&m.id) {
                Some(l) => *l,
                None => {
                    let l = self.ids.len();
                    self.ids.insert(m.id.clone(), l);
                    if self.terminal {
                        let _ = self.out.write_all(b"\n");
                    }
                    l
                }
            };
            diff = self.ids.len() - line;
            if self.terminal && diff > 0 {
                let _ = write!(self.out, "\x1b[{diff}A");
            }
        } else {
            self.ids.clear();
        }
        let r = self.display(m);
        if !m.id.is_empty() && self.terminal && diff > 0 {
            let _ = write!(self.out, "\x1b[{diff}B");
        }
        let _ = self.out.flush();
        r
    }

    fn display(&mut self, m: &JsonMessage) -> Result<(), String> {
        if let Some(e) = m.error_text() {
            return Err(e);
        }
        let now = super::format::now_unix();
        let progress = m
            .progress_detail
            .as_ref()
            .map(|p| progress_string(p, self.width, now));
        let mut endl = "";
        if self.terminal && m.stream.is_empty() && m.progress_detail.is_some() {
            let _ = self.out.write_all(b"\x1b[2K\r");
            endl = "\r";
        } else if progress.as_deref().is_some_and(|p| !p.is_empty()) {
            return Ok(());
        }
        let o = &mut self.out;
        if m.time_nano != 0 || m.time != 0 {
            let (secs, nanos) = if m.time_nano != 0 {
                (
                    m.time_nano.div_euclid(1_000_000_000),
                    m.time_nano.rem_euclid(1_000_000_000),
                )
            } else {
                (m.time, 0)
            };
            let (y, mo, d, h, mi, s) = crate::base::time::civil(secs);
            let _ = write!(
                o,
                "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{nanos:09}Z "
            );
        }
        if !m.id.is_empty() {
            let _ = write!(o, "{}: ", m.id);
        }
        if !m.from.is_empty() {
            let _ = write!(o, "(from {}) ", m.from);
        }
        if m.progress_detail.is_some() && self.terminal {
            let _ = write!(o, "{} {}{endl}", m.status, progress.unwrap_or_default());
        } else if !m.progress.is_empty() {
            let _ = write!(o, "{} {}{endl}", m.status, m.progress);
        } else if !m.stream.is_empty() {
            let _ = write!(o, "{}{endl}", m.stream);
        } else {
            let _ = write!(o, "{}{endl}\n", m.status);
        }
        Ok(())
    }
}

/// Read a whole message stream from `body`, drawing it on stdout; `aux` sees the `aux`
/// messages (push digests, load results). A stream error becomes a plain error message.
pub async fn show_stream<R: AsyncRead + Unpin>(
    body: &mut R,
    aux: impl FnMut(&serde_json::Value),
) -> Result<(), CliError> {
    use std::io::IsTerminal;
    show_stream_to(
        body,
        std::io::stdout(),
        std::io::stdout().is_terminal(),
        aux,
    )
    .await
}

/// The quiet form of a progress stream (`pull -q`, `push -q`, `run` pulling quietly): read it
/// to the end, drawing nothing, and fail with the first error message it carries.
pub async fn drain_stream<R: AsyncRead + Unpin>(body: &mut R) -> Result<(), CliError> {
    let mut all = Vec::new();
    body.read_to_end(&mut all)
        .await
        .map_err(|e| CliError::msg(e.to_string()))?;
    let mut split = JsonSplitter::new();
    split.feed(&all);
    while let Some(m) = split.next_value::<JsonMessage>().map_err(CliError::msg)? {
        if let Some(e) = m.error_text() {
            return Err(CliError::msg(e));
        }
    }
    Ok(())
}

/// As [`show_stream`], drawn on `out` (`run` shows pull progress on stderr).
pub async fn show_stream_to<R: AsyncRead + Unpin, W: Write + std::os::fd::AsFd>(
    body: &mut R,
    out: W,
    terminal: bool,
    mut aux: impl FnMut(&serde_json::Value),
) -> Result<(), CliError> {
    let width = crate::runtime::entry::terminal::get_size(out.as_fd())
        .map(|(_, c)| c as usize)
        .unwrap_or(200);
    let mut d = Display::new(out, terminal, width);
    let mut split = JsonSplitter::new();
    let mut buf = vec![0u8; 32 * 1024];
    loop {
        let n = body
            .read(&mut buf)
            .await
            .map_err(|e| CliError::msg(e.to_string()))?;
        if n > 0 {
            split.feed(&buf[..n]);
        }
        while let Some(m) = split.next_value::<JsonMessage>().map_err(CliError::msg)? {
            if let Some(a) = &m.aux {
                aux(a);
                continue;
            }
            d.show(&m).map_err(CliError::msg)?;
        }
        if n == 0 {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(json: &str) -> JsonMessage {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn bars_like_jsonmessage() {
        let p = ProgressDetail {
            current: 1_000_000,
            total: 2_000_000,
            ..Default::default()
        };
        assert_eq!(
            progress_string(&p, 200, 0.0),
            format!("[{}>{}]      1MB/2MB", "=".repeat(25), " ".repeat(25))
        );
        assert_eq!(progress_string(&p, 80, 0.0), "     1MB/2MB");
        let p = ProgressDetail {
            current: 10,
            total: 20,
            start: 100,
            ..Default::default()
        };
        assert_eq!(progress_string(&p, 80, 110.0), "     10B/20B 10s");
        let p = ProgressDetail {
            current: 5,
            units: "items".into(),
            ..Default::default()
        };
        assert_eq!(progress_string(&p, 80, 0.0), "5 items");
        assert_eq!(progress_string(&ProgressDetail::default(), 80, 0.0), "");
        assert_eq!(go_duration(65), "1m5s");
        assert_eq!(go_duration(7200), "2h0m0s");
    }

    #[test]
    fn plain_output_drops_progress_lines() {
        let mut out = Vec::new();
        {
            let mut d = Display::new(&mut out, false, 80);
            d.show(&msg(r#"{"status":"Pulling from small","id":"v1"}"#))
                .unwrap();
            d.show(&msg(
                r#"{"status":"Pulling fs layer","progressDetail":{},"id":"aa"}"#,
            ))
            .unwrap();
            d.show(&msg(r#"{"status":"Downloading","progressDetail":{"current":5,"total":10},"progress":"[=> ]","id":"aa"}"#)).unwrap();
            d.show(&msg(r#"{"stream":"Loaded image: small:peer\n"}"#))
                .unwrap();
            assert_eq!(
                d.show(&msg(r#"{"errorDetail":{"message":"boom"},"error":"boom"}"#))
                    .unwrap_err(),
                "boom"
            );
        }
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "v1: Pulling from small\naa: Pulling fs layer\nLoaded image: small:peer\n"
        );
    }

    #[test]
    fn terminal_output_redraws_lines_in_place() {
        let mut out = Vec::new();
        {
            let mut d = Display::new(&mut out, true, 80);
            d.show(&msg(
                r#"{"status":"Waiting","progressDetail":{},"id":"aa"}"#,
            ))
            .unwrap();
            d.show(&msg(
                r#"{"status":"Waiting","progressDetail":{},"id":"bb"}"#,
            ))
            .unwrap();
            d.show(&msg(r#"{"status":"Done","progressDetail":{},"id":"aa"}"#))
                .unwrap();
        }
        let s = String::from_utf8(out).unwrap();
        assert_eq!(
            s,
            "\n\x1b[1A\x1b[2K\raa: Waiting \r\x1b[1B\n\x1b[1A\x1b[2K\rbb: Waiting \r\x1b[1B\x1b[2A\x1b[2K\raa: Done \r\x1b[2B"
        );
    }
}
