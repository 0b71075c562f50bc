//! Docker's json-file log format, written by the shim and read by the daemon.
//!
//! One JSON object per line: `{"log":"<text incl. \n>","stream":"stdout|stderr","attrs":{..},
//! "time":"<RFC3339Nano>"}` (`log`, `stream`, `attrs` omitted when empty), strings escaped the way
//! Go's encoder does (HTML-safe `\u003c`, invalid UTF-8 as `\ufffd`). Output is cut into entries at
//! each newline and at 16 KiB without one (Docker's partial messages). With `max_size`, the file
//! is rotated before a write once it has reached the limit: `log` → `log.1` → … → `log.<max_file-1>`,
//! the oldest dropped; with `max_file` 1 the file is truncated instead.

use crate::base::error::Context;
use crate::base::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// Docker's copier buffer: a line longer than this becomes several entries.
pub const MAX_LINE: usize = 16 * 1024;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogConfig {
    pub path: PathBuf,
    /// Rotate once the file has reached this many bytes; None: never.
    #[serde(default)]
    pub max_size: Option<u64>,
    /// Files kept, the current one included (≥ 1).
    #[serde(default = "one")]
    pub max_file: u32,
    /// Extra attributes on every entry (`--log-opt labels=/env=`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attrs: BTreeMap<String, String>,
}

fn one() -> u32 {
    1
}

impl LogConfig {
    /// From Docker's `--log-opt` map: `max-size` (`10m`, decimal units as Docker's), `max-file`.
    pub fn from_opts(path: PathBuf, opts: &BTreeMap<String, String>) -> Result<LogConfig> {
        let mut c = LogConfig {
            path,
            max_size: None,
            max_file: 1,
            attrs: BTreeMap::new(),
        };
        for (k, v) in opts {
            match k.as_str() {
                "max-size" => {
                    let n = parse_size(v)?;
                    c.max_size = if n > 0 { Some(n) } else { None };
                }
                "max-file" => {
                    let n: u32 = v
                        .parse()
                        .map_err(|_| Error::invalid(format!("invalid value for max-file: {v}")))?;
                    if n < 1 {
                        return Err(Error::invalid("max-file cannot be less than 1"));
                    }
                    c.max_file = n;
                }
                "compress" if v == "false" => {}
                "compress" => {
                    return Err(Error::unsupported(
                        "log-opt compress is not supported by berth's json-file driver",
                    ))
                }
                "labels" | "labels-regex" | "env" | "env-regex" | "tag" => {}
                other => {
                    return Err(Error::invalid(format!(
                        "unknown log opt '{other}' for json-file log driver"
                    )))
                }
            }
        }
        if c.max_file > 1 && c.max_size.is_none() {
            return Err(Error::invalid("max-file cannot be set without max-size"));
        }
        Ok(c)
    }
}

/// Docker's human sizes for log options: `123`, `10k`, `10kb`, `1.5m`, `2g` (decimal multiples).
pub fn parse_size(s: &str) -> Result<u64> {
    let bad = || Error::invalid(format!("invalid size: '{s}'"));
    let t = s.trim();
    let num_end = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(num_end);
    let num: f64 = num.parse().map_err(|_| bad())?;
    let unit = unit.trim_start().to_ascii_lowercase();
    let unit = unit.strip_suffix('b').unwrap_or(&unit);
    let unit = unit.strip_suffix('i').unwrap_or(unit);
    let mult: f64 = match unit {
        "" => 1.0,
        "k" => 1e3,
        "m" => 1e6,
        "g" => 1e9,
        "t" => 1e12,
        "p" => 1e15,
        _ => return Err(bad()),
    };
    Ok((num * mult) as u64)
}

/// Go's `time.RFC3339Nano` in UTC: fraction without trailing zeros, no fraction when zero.
/// The writer's hot path uses [`Stamp`] instead, which formats the date once per second.
pub fn go_rfc3339_nano(t: SystemTime) -> String {
    let s = crate::base::time::rfc3339_nanos(t);
    // "YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ"
    match s.split_once('.') {
        Some((head, frac)) => {
            let digits = frac.trim_end_matches('Z').trim_end_matches('0');
            if digits.is_empty() {
                format!("{head}Z")
            } else {
                format!("{head}.{digits}Z")
            }
        }
        None => s,
    }
}

/// Timestamps for log entries without the formatting machinery on every line: the
/// "YYYY-MM-DDTHH:MM:SS" part is made once per second, the fraction by hand.
#[derive(Default)]
pub struct Stamp {
    sec: u64,
    prefix: String,
    text: Vec<u8>,
}

impl Stamp {
    pub fn at(&mut self, t: SystemTime) -> &[u8] {
        let d = t.duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        if self.prefix.is_empty() || d.as_secs() != self.sec {
            self.sec = d.as_secs();
            let full = crate::base::time::rfc3339_nanos(
                std::time::UNIX_EPOCH + std::time::Duration::from_secs(self.sec),
            );
            self.prefix = full.get(..19).unwrap_or(&full).to_string();
        }
        self.text.clear();
        self.text.extend_from_slice(self.prefix.as_bytes());
        let mut n = d.subsec_nanos();
        if n != 0 {
            let mut digits = [b'0'; 9];
            for i in (0..9).rev() {
                digits[i] = b'0' + (n % 10) as u8;
                n /= 10;
            }
            let end = digits.iter().rposition(|&c| c != b'0').map_or(0, |i| i + 1);
            self.text.push(b'.');
            self.text.extend_from_slice(&digits[..end]);
        }
        self.text.push(b'Z');
        &self.text
    }
}

/// Append `s` as a JSON string the way Go's encoder (and Docker's jsonlog) writes it.
pub fn push_json_string(out: &mut Vec<u8>, s: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    let mut i = 0;
    while i < s.len() {
        let b = s[i];
        if b < 0x80 {
            match b {
                b'"' | b'\\' => out.extend_from_slice(&[b'\\', b]),
                b'\n' => out.extend_from_slice(b"\\n"),
                b'\r' => out.extend_from_slice(b"\\r"),
                0x20..=0x7f if b != b'<' && b != b'>' && b != b'&' => out.push(b),
                _ => out.extend_from_slice(&[
                    b'\\',
                    b'u',
                    b'0',
                    b'0',
                    HEX[(b >> 4) as usize],
                    HEX[(b & 15) as usize],
                ]),
            }
            i += 1;
            continue;
        }
        let len = utf8_len(&s[i..]);
        if len == 0 {
            out.extend_from_slice(b"\\ufffd");
            i += 1;
            continue;
        }
        let ch = &s[i..i + len];
        if ch == "\u{2028}".as_bytes() || ch == "\u{2029}".as_bytes() {
            out.extend_from_slice(b"\\u202");
            out.push(HEX[(ch[2] & 0x0f) as usize]);
        } else {
            out.extend_from_slice(ch);
        }
        i += len;
    }
    out.push(b'"');
}

/// Length of the valid UTF-8 sequence starting `s`, 0 if it is not one.
fn utf8_len(s: &[u8]) -> usize {
    let n = match s[0] {
        0xc2..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xf4 => 4,
        _ => return 0,
    };
    if s.len() < n {
        return 0;
    }
    match std::str::from_utf8(&s[..n]) {
        Ok(_) => n,
        Err(_) => 0,
    }
}

/// One entry as a line of the file (with its trailing newline).
pub fn encode_entry(out: &mut Vec<u8>, log: &[u8], stream: &str, attrs: &[u8], time: &[u8]) {
    out.push(b'{');
    let mut first = true;
    let mut sep = |out: &mut Vec<u8>| {
        if !first {
            out.push(b',');
        }
        first = false;
    };
    if !log.is_empty() {
        sep(out);
        out.extend_from_slice(b"\"log\":");
        push_json_string(out, log);
    }
    if !stream.is_empty() {
        sep(out);
        out.extend_from_slice(b"\"stream\":");
        push_json_string(out, stream.as_bytes());
    }
    if !attrs.is_empty() {
        sep(out);
        out.extend_from_slice(b"\"attrs\":");
        out.extend_from_slice(attrs);
    }
    sep(out);
    out.extend_from_slice(b"\"time\":\"");
    out.extend_from_slice(time);
    out.extend_from_slice(b"\"}\n");
}

/// One decoded entry (what the daemon's `docker logs` reads back).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct LogEntry {
    #[serde(default)]
    pub log: String,
    #[serde(default)]
    pub stream: String,
    #[serde(default)]
    pub attrs: BTreeMap<String, String>,
    pub time: String,
}

pub fn parse_entry(line: &[u8]) -> Result<LogEntry> {
    serde_json::from_slice(line)
        .map_err(|e| Error::invalid(format!("malformed json-file log entry: {e}")))
}

/// The files of a log, oldest first (`path.N` … `path.1`, `path`), those that exist.
pub fn files_oldest_first(path: &Path, max_file: u32) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = (1..max_file.max(1))
        .rev()
        .map(|i| rotated(path, i))
        .filter(|p| p.exists())
        .collect();
    if path.exists() {
        v.push(path.to_path_buf());
    }
    v
}

fn rotated(path: &Path, i: u32) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(format!(".{i}"));
    PathBuf::from(s)
}

/// The writer the shim keeps for a container's stdout and stderr.
pub struct LogWriter {
    cfg: LogConfig,
    file: File,
    size: u64,
    attrs: Vec<u8>,
    /// Unterminated tail of stdout / stderr.
    pending: [Vec<u8>; 2],
    line: Vec<u8>,
    stamp: Stamp,
}

impl LogWriter {
    pub fn open(cfg: LogConfig) -> Result<LogWriter> {
        if cfg.max_file < 1 {
            return Err(Error::invalid("max-file cannot be less than 1"));
        }
        let file = open_log(&cfg.path)?;
        let size = file
            .metadata()
            .map(|m| m.len())
            .ctx(|| format!("stat {}", cfg.path.display()))?;
        let attrs = if cfg.attrs.is_empty() {
            Vec::new()
        } else {
            serde_json::to_vec(&cfg.attrs)?
        };
        Ok(LogWriter {
            cfg,
            file,
            size,
            attrs,
            pending: [Vec::new(), Vec::new()],
            line: Vec::new(),
            stamp: Stamp::default(),
        })
    }

    /// Output read from the container: `stream` is 1 (stdout) or 2 (stderr). Complete lines are
    /// written now; the rest waits for its newline (or for 16 KiB, or for `flush`).
    pub fn write(&mut self, stream: u8, mut data: &[u8]) -> Result<()> {
        let idx = if stream == super::proto::STDERR { 1 } else { 0 };
        let now = SystemTime::now();
        while !data.is_empty() {
            let pending = &mut self.pending[idx];
            let room = MAX_LINE - pending.len();
            let window = &data[..data.len().min(room)];
            match window.iter().position(|&b| b == b'\n') {
                Some(nl) => {
                    pending.extend_from_slice(&window[..=nl]);
                    data = &data[nl + 1..];
                }
                None => {
                    pending.extend_from_slice(window);
                    data = &data[window.len()..];
                    if pending.len() < MAX_LINE {
                        break;
                    }
                }
            }
            let entry = std::mem::take(&mut self.pending[idx]);
            self.emit(idx, &entry, now)?;
            self.pending[idx] = entry;
            self.pending[idx].clear();
        }
        Ok(())
    }

    /// Write what is left of `stream` without a newline (at EOF).
    pub fn flush(&mut self, stream: u8) -> Result<()> {
        let idx = if stream == super::proto::STDERR { 1 } else { 0 };
        if self.pending[idx].is_empty() {
            return Ok(());
        }
        let entry = std::mem::take(&mut self.pending[idx]);
        self.emit(idx, &entry, SystemTime::now())
    }

    fn emit(&mut self, idx: usize, log: &[u8], time: SystemTime) -> Result<()> {
        let mut line = std::mem::take(&mut self.line);
        line.clear();
        let time = self.stamp.at(time);
        encode_entry(
            &mut line,
            log,
            if idx == 1 { "stderr" } else { "stdout" },
            &self.attrs,
            time,
        );
        if let Some(max) = self.cfg.max_size {
            if self.size >= max {
                self.rotate()?;
            }
        }
        let r = self
            .file
            .write_all(&line)
            .ctx(|| format!("write {}", self.cfg.path.display()));
        self.size += line.len() as u64;
        if line.capacity() > 2 * MAX_LINE {
            line = Vec::new();
        }
        self.line = line;
        r
    }

    fn rotate(&mut self) -> Result<()> {
        let path = self.cfg.path.clone();
        if self.cfg.max_file <= 1 {
            self.file
                .set_len(0)
                .ctx(|| format!("truncate {}", path.display()))?;
            self.size = 0;
            return Ok(());
        }
        let last = self.cfg.max_file - 1;
        let _ = std::fs::remove_file(rotated(&path, last));
        for i in (1..last).rev() {
            let from = rotated(&path, i);
            if from.exists() {
                std::fs::rename(&from, rotated(&path, i + 1))
                    .ctx(|| format!("rotate {}", from.display()))?;
            }
        }
        std::fs::rename(&path, rotated(&path, 1)).ctx(|| format!("rotate {}", path.display()))?;
        self.file = open_log(&path)?;
        self.size = 0;
        Ok(())
    }
}

fn open_log(path: &Path) -> Result<File> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o640)
        .open(path)
        .ctx(|| format!("open log file {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    fn js(s: &[u8]) -> String {
        let mut v = Vec::new();
        push_json_string(&mut v, s);
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn strings_escape_like_go() {
        assert_eq!(js(b"hi\n"), r#""hi\n""#);
        assert_eq!(js(b"a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(js(b"<a&b>"), r#""\u003ca\u0026b\u003e""#);
        assert_eq!(js(b"\t\r\x1b"), r#""\u0009\r\u001b""#);
        assert_eq!(js("é€😀".as_bytes()), "\"é€😀\"");
        assert_eq!(js(b"\xff\xc3"), r#""\ufffd\ufffd""#);
        assert_eq!(js("\u{2028}x\u{2029}".as_bytes()), r#""\u2028x\u2029""#);
        // serde_json reads back what Go's encoder would have produced.
        let back: String = serde_json::from_str(&js(b"<\t\x01>\n")).unwrap();
        assert_eq!(back, "<\t\x01>\n");
    }

    #[test]
    fn time_trims_zeros_like_go() {
        assert_eq!(
            go_rfc3339_nano(UNIX_EPOCH + Duration::new(0, 120_000_000)),
            "1970-01-01T00:00:00.12Z"
        );
        assert_eq!(
            go_rfc3339_nano(UNIX_EPOCH + Duration::new(5, 0)),
            "1970-01-01T00:00:05Z"
        );
        assert_eq!(
            go_rfc3339_nano(UNIX_EPOCH + Duration::new(0, 1)),
            "1970-01-01T00:00:00.000000001Z"
        );
    }

    #[test]
    fn stamp_matches_the_formatter() {
        let mut st = Stamp::default();
        for (s, n) in [
            (0u64, 0u32),
            (5, 120_000_000),
            (1_795_438_058, 1),
            (1_795_438_058, 999_999_999),
            (1_795_438_059, 500),
        ] {
            let t = UNIX_EPOCH + Duration::new(s, n);
            assert_eq!(std::str::from_utf8(st.at(t)).unwrap(), go_rfc3339_nano(t));
        }
    }

    #[test]
    fn entry_shape_matches_docker() {
        let mut v = Vec::new();
        encode_entry(&mut v, b"hello\n", "stdout", b"", b"2024-01-01T00:00:00.5Z");
        assert_eq!(
            v,
            b"{\"log\":\"hello\\n\",\"stream\":\"stdout\",\"time\":\"2024-01-01T00:00:00.5Z\"}\n"
        );
        v.clear();
        encode_entry(&mut v, b"x", "stderr", br#"{"a":"b"}"#, b"T");
        assert_eq!(
            v,
            b"{\"log\":\"x\",\"stream\":\"stderr\",\"attrs\":{\"a\":\"b\"},\"time\":\"T\"}\n"
        );
    }

    #[test]
    fn sizes_parse_like_docker() {
        assert_eq!(parse_size("10").unwrap(), 10);
        assert_eq!(parse_size("10k").unwrap(), 10_000);
        assert_eq!(parse_size("10m").unwrap(), 10_000_000);
        assert_eq!(parse_size("1.5MB").unwrap(), 1_500_000);
        assert_eq!(parse_size("2g").unwrap(), 2_000_000_000);
        assert!(parse_size("ten").is_err());
        assert!(parse_size("10x").is_err());
    }

    #[test]
    fn opts_parse_and_refuse() {
        let m = |kv: &[(&str, &str)]| {
            kv.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<BTreeMap<_, _>>()
        };
        let c = LogConfig::from_opts("/l".into(), &m(&[("max-size", "1k"), ("max-file", "3")]))
            .unwrap();
        assert_eq!((c.max_size, c.max_file), (Some(1000), 3));
        assert!(LogConfig::from_opts("/l".into(), &m(&[("max-file", "0")])).is_err());
        assert!(LogConfig::from_opts("/l".into(), &m(&[("max-file", "2")])).is_err());
        assert!(LogConfig::from_opts("/l".into(), &m(&[("nope", "1")])).is_err());
        let e = LogConfig::from_opts("/l".into(), &m(&[("compress", "true")])).unwrap_err();
        assert!(e.to_string().contains("not supported"), "{e}");
    }

    fn tmp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("berth-logfile-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn entries(p: &Path) -> Vec<LogEntry> {
        std::fs::read(p)
            .unwrap()
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .map(|l| parse_entry(l).unwrap())
            .collect()
    }

    #[test]
    fn lines_are_split_and_tagged() {
        let d = tmp("lines");
        let p = d.join("c-json.log");
        let mut w = LogWriter::open(LogConfig {
            path: p.clone(),
            max_size: None,
            max_file: 1,
            attrs: BTreeMap::new(),
        })
        .unwrap();
        w.write(1, b"one\ntw").unwrap();
        w.write(2, b"err\n").unwrap();
        w.write(1, b"o\nthree").unwrap();
        w.flush(1).unwrap();
        w.flush(2).unwrap();
        let e = entries(&p);
        let got: Vec<(&str, &str)> = e
            .iter()
            .map(|e| (e.log.as_str(), e.stream.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("one\n", "stdout"),
                ("err\n", "stderr"),
                ("two\n", "stdout"),
                ("three", "stdout")
            ]
        );
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn long_lines_become_16k_entries() {
        let d = tmp("long");
        let p = d.join("l.log");
        let mut w = LogWriter::open(LogConfig {
            path: p.clone(),
            max_size: None,
            max_file: 1,
            attrs: BTreeMap::new(),
        })
        .unwrap();
        let mut data = vec![b'a'; MAX_LINE * 2 + 10];
        data.push(b'\n');
        w.write(1, &data).unwrap();
        let e = entries(&p);
        assert_eq!(
            e.iter().map(|e| e.log.len()).collect::<Vec<_>>(),
            [MAX_LINE, MAX_LINE, 11]
        );
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn rotation_keeps_max_file_files() {
        let d = tmp("rotate");
        let p = d.join("r.log");
        let cfg = LogConfig {
            path: p.clone(),
            max_size: Some(200),
            max_file: 3,
            attrs: BTreeMap::new(),
        };
        let mut w = LogWriter::open(cfg).unwrap();
        for i in 0..40 {
            w.write(1, format!("line {i:03}\n").as_bytes()).unwrap();
        }
        let files = files_oldest_first(&p, 3);
        assert_eq!(files, [d.join("r.log.2"), d.join("r.log.1"), p.clone()]);
        assert!(!d.join("r.log.3").exists());
        for f in &files {
            let len = std::fs::metadata(f).unwrap().len();
            assert!(len <= 200 + 80, "{} is {len} bytes", f.display());
        }
        // Oldest to newest, the surviving lines are consecutive and end with the last one.
        let all: Vec<String> = files
            .iter()
            .flat_map(|f| entries(f))
            .map(|e| e.log)
            .collect();
        assert_eq!(all.last().unwrap(), "line 039\n");
        for pair in all.windows(2) {
            let a: u32 = pair[0][5..8].parse().unwrap();
            let b: u32 = pair[1][5..8].parse().unwrap();
            assert_eq!(b, a + 1);
        }
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn max_file_one_truncates() {
        let d = tmp("trunc");
        let p = d.join("t.log");
        let mut w = LogWriter::open(LogConfig {
            path: p.clone(),
            max_size: Some(100),
            max_file: 1,
            attrs: BTreeMap::new(),
        })
        .unwrap();
        for i in 0..20 {
            w.write(1, format!("line {i}\n").as_bytes()).unwrap();
        }
        assert!(std::fs::metadata(&p).unwrap().len() <= 100 + 80);
        assert!(!d.join("t.log.1").exists());
        std::fs::remove_dir_all(&d).unwrap();
    }
}
