//! Output helpers in the Docker CLI's shapes: Go's tabwriter as the CLI configures it (min
//! width 10, padding 3), go-units sizes and durations, short ids, truncation, timestamps.

use crate::base::time::civil;
use std::time::{SystemTime, UNIX_EPOCH};

/// Go's `text/tabwriter` (cells end at `\t`, lines at `\n`; a column block is a run of lines
/// that have a cell in that column which is not their last; a line of one cell ends the
/// blocks), with the CLI's settings: min width 10, padding 3, spaces.
pub struct TabWriter {
    minwidth: usize,
    padding: usize,
    lines: Vec<Vec<Cell>>,
    cell: String,
    out: String,
}

struct Cell {
    text: String,
    width: usize,
}

impl Default for TabWriter {
    fn default() -> Self {
        TabWriter::new(10, 3)
    }
}

impl TabWriter {
    pub fn new(minwidth: usize, padding: usize) -> TabWriter {
        TabWriter {
            minwidth,
            padding,
            lines: vec![Vec::new()],
            cell: String::new(),
            out: String::new(),
        }
    }

    pub fn write(&mut self, s: &str) {
        for ch in s.chars() {
            match ch {
                '\t' | '\n' => {
                    let text = std::mem::take(&mut self.cell);
                    let width = text.chars().count();
                    let Some(line) = self.lines.last_mut() else {
                        continue;
                    };
                    line.push(Cell { text, width });
                    if ch == '\n' {
                        let ncells = line.len();
                        self.lines.push(Vec::new());
                        if ncells == 1 {
                            self.flush_lines();
                        }
                    }
                }
                c => self.cell.push(c),
            }
        }
    }

    /// Lay out what is buffered and return all text written so far.
    pub fn finish(mut self) -> String {
        if !self.cell.is_empty() {
            let text = std::mem::take(&mut self.cell);
            let width = text.chars().count();
            if let Some(l) = self.lines.last_mut() {
                l.push(Cell { text, width });
            }
        }
        self.flush_lines();
        self.out
    }

    fn flush_lines(&mut self) {
        let lines = std::mem::replace(&mut self.lines, vec![Vec::new()]);
        let mut widths = Vec::new();
        self.format(&lines, &mut widths, 0, lines.len());
    }

    fn format(
        &mut self,
        lines: &[Vec<Cell>],
        widths: &mut Vec<usize>,
        mut line0: usize,
        line1: usize,
    ) {
        let column = widths.len();
        let mut this = line0;
        while this < line1 {
            if column + 1 >= lines[this].len() {
                this += 1;
                continue;
            }
            self.write_lines(lines, widths, line0, this);
            line0 = this;
            let mut width = self.minwidth;
            while this < line1 && column + 1 < lines[this].len() {
                width = width.max(lines[this][column].width + self.padding);
                this += 1;
            }
            widths.push(width);
            self.format(lines, widths, line0, this);
            widths.pop();
            line0 = this;
        }
        self.write_lines(lines, widths, line0, line1);
    }

    fn write_lines(&mut self, lines: &[Vec<Cell>], widths: &[usize], line0: usize, line1: usize) {
        for (i, line) in lines.iter().enumerate().take(line1).skip(line0) {
            for (j, c) in line.iter().enumerate() {
                self.out.push_str(&c.text);
                if j < widths.len() && j + 1 < line.len() {
                    for _ in c.width..widths[j] {
                        self.out.push(' ');
                    }
                }
            }
            if i + 1 < lines.len() {
                self.out.push('\n');
            }
        }
    }
}

/// Go's `%.{prec}g`: at most `prec` significant digits, no trailing zeros, exponent form only
/// for very small or large values.
pub fn go_g(x: f64, prec: usize) -> String {
    if x == 0.0 {
        return "0".into();
    }
    let prec = prec.max(1);
    let e = format!("{:.*e}", prec - 1, x);
    let (mant, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if exp < -4 || exp >= prec as i32 {
        let mant = trim_zeros(mant);
        let sign = if exp < 0 { '-' } else { '+' };
        return format!("{mant}e{sign}{:02}", exp.abs());
    }
    let decimals = (prec as i32 - 1 - exp).max(0) as usize;
    trim_zeros(&format!("{:.*}", decimals, x)).to_string()
}

fn trim_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

/// go-units `HumanSize`: decimal units, 4 significant digits (`2.25MB`, `0B`).
pub fn human_size(n: f64) -> String {
    scaled(
        n,
        1000.0,
        &["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"],
    )
}

/// go-units `HumanSizeWithPrecision` (image sizes use 3 digits: `2.25MB`).
pub fn human_size_prec(n: f64, prec: usize) -> String {
    let units = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];
    let (mut n, mut i) = (n, 0);
    while n >= 1000.0 && i + 1 < units.len() {
        n /= 1000.0;
        i += 1;
    }
    format!("{}{}", go_g(n, prec), units[i])
}

/// An I/O error as Go prints an `*os.PathError`'s cause: `no such file or directory`.
pub fn io_msg(e: &std::io::Error) -> String {
    let s = e.to_string();
    let s = match s.rfind(" (os error ") {
        Some(i) => s[..i].to_string(),
        None => s,
    };
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().collect::<String>() + c.as_str(),
        None => s,
    }
}

/// go-units `BytesSize`: binary units (`1.5GiB`).
pub fn bytes_size(n: f64) -> String {
    scaled(
        n,
        1024.0,
        &["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"],
    )
}

fn scaled(mut n: f64, base: f64, units: &[&str]) -> String {
    let mut i = 0;
    while n >= base && i + 1 < units.len() {
        n /= base;
        i += 1;
    }
    format!("{}{}", go_g(n, 4), units[i])
}

pub use crate::api::units::human_duration;

/// Seconds since the epoch, now.
pub fn now_unix() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// "2 minutes ago" for a unix time.
pub fn ago(unix: f64) -> String {
    format!("{} ago", human_duration(now_unix() - unix))
}

/// Days since 1970-01-01 of a civil date (inverse of `civil`).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = if m > 2 { m - 3 } else { m + 9 } as i64;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

/// Parse an RFC 3339 timestamp (`2026-11-23T12:47:38.123456789Z`, `...+01:00`) to unix
/// seconds with fraction.
pub fn parse_rfc3339(s: &str) -> Option<f64> {
    let b = s.as_bytes();
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || (b[10] != b'T' && b[10] != b't' && b[10] != b' ')
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r).and_then(|x| x.parse::<i64>().ok());
    let (y, mo, d, h, mi, se) = (
        num(0..4)?,
        num(5..7)?,
        num(8..10)?,
        num(11..13)?,
        num(14..16)?,
        num(17..19)?,
    );
    let mut i = 19;
    let mut frac = 0.0;
    if b.get(i) == Some(&b'.') {
        let start = i + 1;
        i = start;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        frac = format!("0.{}", &s[start..i]).parse().unwrap_or(0.0);
    }
    let offset = match b.get(i) {
        Some(b'Z') | Some(b'z') => 0,
        Some(c @ (b'+' | b'-')) => {
            let oh = num(i + 1..i + 3)?;
            let om = num(i + 4..i + 6)?;
            let o = oh * 3600 + om * 60;
            if *c == b'+' {
                o
            } else {
                -o
            }
        }
        _ => return None,
    };
    let days = days_from_civil(y, mo as u32, d as u32);
    Some((days * 86400 + h * 3600 + mi * 60 + se - offset) as f64 + frac)
}

/// Go's `time.Time.String()` of a unix time in UTC, as the CLI prints `CreatedAt`:
/// `2026-11-23 12:47:38 +0000 UTC`.
pub fn go_time_string(unix: i64) -> String {
    let (y, mo, d, h, mi, s) = civil(unix);
    format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02} +0000 UTC")
}

/// RFC 3339 in seconds (`2026-11-23T12:47:38Z`), as `events` and `history --human=false` print.
pub fn rfc3339_secs(unix: i64) -> String {
    let (y, mo, d, h, mi, s) = civil(unix);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
}

/// The 12-character short form of an id, without its `sha256:` prefix.
pub fn short_id(id: &str) -> String {
    let id = id.strip_prefix("sha256:").unwrap_or(id);
    id.chars().take(12).collect()
}

/// Docker's `TruncateWithEllipsis`: at most `n` characters, the last one `…`.
pub fn ellipsis(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        return s.to_string();
    }
    if n == 0 {
        return String::new();
    }
    let mut out: String = s.chars().take(n - 1).collect();
    out.push('…');
    out
}

/// Go's `strconv.Quote` for the printable strings commands show (`"sleep 1000"`).
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\x07' => out.push_str("\\a"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            '\x0b' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tab(s: &str) -> String {
        let mut t = TabWriter::default();
        t.write(s);
        t.finish()
    }

    #[test]
    fn tabwriter_lays_out_docker_tables() {
        assert_eq!(
            tab("REPOSITORY\tTAG\tIMAGE ID\tCREATED\tSIZE\nsmall\tpeer\t9f27a38a6169\t25 hours ago\t2.25MB\n"),
            "REPOSITORY   TAG       IMAGE ID       CREATED        SIZE\nsmall        peer      9f27a38a6169   25 hours ago   2.25MB\n"
        );
        // An empty column still takes the minimum width; the last cell is never padded.
        assert_eq!(
            tab("PORTS\tNAMES\n\tweb\n"),
            "PORTS     NAMES\n          web\n"
        );
        // One-cell lines end the column blocks.
        assert_eq!(
            tab("a\tb\nsingle\nlonger-cell\tc\n"),
            "a         b\nsingle\nlonger-cell   c\n"
        );
    }

    #[test]
    fn sizes_like_go_units() {
        assert_eq!(human_size(0.0), "0B");
        assert_eq!(human_size(2_249_728.0), "2.25MB");
        assert_eq!(human_size(999.0), "999B");
        assert_eq!(human_size(1_234_567.0), "1.235MB");
        assert_eq!(human_size(1000.0), "1kB");
        assert_eq!(human_size(999_950.0), "1000kB");
        assert_eq!(bytes_size(1536.0), "1.5KiB");
        assert_eq!(bytes_size(25_276_510_208.0), "23.54GiB");
        assert_eq!(go_g(0.00001234, 4), "1.234e-05");
    }

    #[test]
    fn durations_like_go_units() {
        assert_eq!(human_duration(0.4), "Less than a second");
        assert_eq!(human_duration(1.0), "1 second");
        assert_eq!(human_duration(59.0), "59 seconds");
        assert_eq!(human_duration(90.0), "About a minute");
        assert_eq!(human_duration(3000.0), "50 minutes");
        assert_eq!(human_duration(3600.0 * 1.2), "About an hour");
        assert_eq!(human_duration(3600.0 * 25.0), "25 hours");
        assert_eq!(human_duration(86400.0 * 3.0), "3 days");
        assert_eq!(human_duration(86400.0 * 20.0), "2 weeks");
        assert_eq!(human_duration(86400.0 * 90.0), "3 months");
        assert_eq!(human_duration(86400.0 * 800.0), "2 years");
    }

    #[test]
    fn timestamps_round_trip() {
        let t = parse_rfc3339("2026-11-23T12:47:38.5Z").unwrap();
        assert_eq!(t, 1_795_438_058.5);
        assert_eq!(
            parse_rfc3339("2026-11-23T13:47:38+01:00").unwrap(),
            1_795_438_058.0
        );
        assert_eq!(
            go_time_string(1_795_438_058),
            "2026-11-23 12:47:38 +0000 UTC"
        );
        assert!(parse_rfc3339("yesterday").is_none());
    }

    #[test]
    fn ids_and_text() {
        assert_eq!(
            short_id("sha256:9f27a38a616979eaf28207c2d2670a9c3980941c75965700f081635a10c2706c"),
            "9f27a38a6169"
        );
        assert_eq!(ellipsis("\"sleep 1000\"", 20), "\"sleep 1000\"");
        assert_eq!(
            ellipsis("abcdefghijklmnopqrstuvwxyz", 20),
            "abcdefghijklmnopqrs…"
        );
        assert_eq!(go_quote("sh -c \"echo\"\n"), "\"sh -c \\\"echo\\\"\\n\"");
    }
}
