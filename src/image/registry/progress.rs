//! Docker's JSON progress messages (`jsonmessage.JSONMessage`): what `docker pull` and
//! `docker push` read from the daemon to draw their bars, one JSON object per line:
//! `{"status":"Downloading","progressDetail":{"current":1,"total":2},"progress":"[=> ] 1B/2B","id":"0123456789ab"}`.

use serde::Serialize;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Detail {
    #[serde(skip_serializing_if = "is_zero")]
    pub current: i64,
    #[serde(skip_serializing_if = "is_zero")]
    pub total: i64,
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ErrorDetail {
    pub message: String,
}

/// One message, fields in Go's order.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Message {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub status: String,
    #[serde(rename = "progressDetail", skip_serializing_if = "Option::is_none")]
    pub progress_detail: Option<Detail>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub progress: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub id: String,
    #[serde(rename = "errorDetail", skip_serializing_if = "Option::is_none")]
    pub error_detail: Option<ErrorDetail>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub error: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aux: Option<serde_json::Value>,
}

impl Message {
    /// A line without an id (`Digest: sha256:…`).
    pub fn text(status: impl Into<String>) -> Message {
        Message {
            status: status.into(),
            ..Default::default()
        }
    }
    /// A line with an id and no progress (`Pulling from small`, id `latest`).
    pub fn with_id(id: &str, status: impl Into<String>) -> Message {
        Message {
            status: status.into(),
            id: id.to_string(),
            ..Default::default()
        }
    }
    /// A layer's state (`Pull complete`): Docker sends an empty progressDetail with these.
    pub fn layer(id: &str, status: impl Into<String>) -> Message {
        Message {
            status: status.into(),
            id: id.to_string(),
            progress_detail: Some(Detail::default()),
            ..Default::default()
        }
    }
    /// A progress bar update.
    pub fn bar(id: &str, status: &str, current: u64, total: u64) -> Message {
        Message {
            status: status.to_string(),
            id: id.to_string(),
            progress_detail: Some(Detail {
                current: current as i64,
                total: total as i64,
            }),
            progress: bar_text(current, total),
            ..Default::default()
        }
    }
    pub fn error(msg: impl Into<String>) -> Message {
        let m = msg.into();
        Message {
            error_detail: Some(ErrorDetail { message: m.clone() }),
            error: m,
            ..Default::default()
        }
    }
    pub fn aux(v: serde_json::Value) -> Message {
        Message {
            progress_detail: Some(Detail::default()),
            aux: Some(v),
            ..Default::default()
        }
    }

    /// The wire form: JSON and moby's stream newline (`\r\n`).
    pub fn to_line(&self) -> Vec<u8> {
        let mut v = serde_json::to_vec(self).unwrap_or_default();
        v.extend_from_slice(b"\r\n");
        v
    }
}

/// go-units `HumanSize`: decimal units, four significant digits (`%.4g`).
pub fn human_size(n: u64) -> String {
    const UNITS: [&str; 9] = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];
    let mut v = n as f64;
    let mut i = 0;
    while v >= 1000.0 && i < UNITS.len() - 1 {
        v /= 1000.0;
        i += 1;
    }
    format!("{}{}", g4(v), UNITS[i])
}

/// Go's `%.4g` for 0 <= v < 1000 (no exponent form needed in that range).
fn g4(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    let int_digits = if v < 1.0 {
        1
    } else {
        (v.log10().floor() as i32 + 1).max(1)
    };
    let decimals = (4 - int_digits).max(0) as usize;
    let mut s = format!("{v:.decimals$}");
    if s.contains('.') {
        s = s.trim_end_matches('0').trim_end_matches('.').to_string();
    }
    s
}

/// The `progress` string the daemon sends (its own terminal width is taken as 200).
pub fn bar_text(current: u64, total: u64) -> String {
    if total == 0 {
        return if current == 0 {
            String::new()
        } else {
            format!("{:>8}", human_size(current))
        };
    }
    let pct = ((current as f64 / total as f64 * 100.0) as i64 / 2).clamp(0, 50) as usize;
    let bar = format!("[{}>{}] ", "=".repeat(pct), " ".repeat(50 - pct));
    if current > total {
        format!("{bar}{:>8}", human_size(current))
    } else {
        format!("{bar}{:>8}/{}", human_size(current), human_size(total))
    }
}

/// Where a pull or push reports: an unbounded channel the daemon drains into the response.
/// Sending never blocks (the blocking extraction threads report too) and never fails the
/// operation: a client that went away does not stop a pull half way.
#[derive(Debug, Clone)]
pub struct Progress {
    tx: smol::channel::Sender<Message>,
}

impl Progress {
    pub fn channel() -> (Progress, smol::channel::Receiver<Message>) {
        let (tx, rx) = smol::channel::unbounded();
        (Progress { tx }, rx)
    }
    pub fn send(&self, m: Message) {
        let _ = self.tx.try_send(m);
    }
}

/// Rate limit for bar updates of one layer (Docker's progress reader sends about every 100 ms).
#[derive(Debug)]
pub struct Throttle {
    last: Option<Instant>,
    every: Duration,
}

impl Throttle {
    pub fn new() -> Throttle {
        Throttle {
            last: None,
            every: Duration::from_millis(100),
        }
    }
    /// True when an update is due (`force` for the last one).
    pub fn due(&mut self, force: bool) -> bool {
        let now = Instant::now();
        if force
            || self
                .last
                .map_or(true, |l| now.duration_since(l) >= self.every)
        {
            self.last = Some(now);
            return true;
        }
        false
    }
}

impl Default for Throttle {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_bars_read_like_dockerd() {
        assert_eq!(human_size(287), "287B");
        assert_eq!(human_size(3678), "3.678kB");
        assert_eq!(human_size(262633), "262.6kB");
        assert_eq!(human_size(1069066), "1.069MB");
        assert_eq!(human_size(36445), "36.45kB");
        assert_eq!(human_size(0), "0B");
        assert_eq!(human_size(1000), "1kB");
        assert_eq!(human_size(2_250_000), "2.25MB");
        assert_eq!(
            bar_text(287, 287),
            "[==================================================>]     287B/287B"
        );
        assert_eq!(
            bar_text(3678, 262633),
            "[>                                                  ]  3.678kB/262.6kB"
        );
        assert_eq!(
            bar_text(36445, 1069066),
            "[=>                                                 ]  36.45kB/1.069MB"
        );
    }

    #[test]
    fn messages_serialize_like_dockerd() {
        let line = |m: Message| String::from_utf8(m.to_line()).unwrap();
        assert_eq!(
            line(Message::with_id("peer", "Pulling from small")),
            "{\"status\":\"Pulling from small\",\"id\":\"peer\"}\r\n"
        );
        assert_eq!(
            line(Message::layer("db59f237cb27", "Pull complete")),
            "{\"status\":\"Pull complete\",\"progressDetail\":{},\"id\":\"db59f237cb27\"}\r\n"
        );
        assert_eq!(
            line(Message::bar("d6d1a1a76fe3", "Downloading", 287, 287)),
            "{\"status\":\"Downloading\",\"progressDetail\":{\"current\":287,\"total\":287},\"progress\":\"[==================================================>]     287B/287B\",\"id\":\"d6d1a1a76fe3\"}\r\n"
        );
        assert_eq!(line(Message::error("no basic auth credentials")), "{\"errorDetail\":{\"message\":\"no basic auth credentials\"},\"error\":\"no basic auth credentials\"}\r\n");
        assert_eq!(
            line(Message::aux(serde_json::json!({"Tag":"v1"}))),
            "{\"progressDetail\":{},\"aux\":{\"Tag\":\"v1\"}}\r\n"
        );
    }
}
