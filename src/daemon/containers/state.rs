//! The container state machine and how `docker ps` words it.
//!
//! ```text
//!            start                  pause
//! created ─────────► running ◄──────────────► paused
//!    ▲                  │ exit   (unpause)       │ exit / kill
//!    │                  ▼                        ▼
//!    │        restarting (policy, back-off) ─► exited ──start──► running
//!    │                                           │
//!    └── (create)                 rm ──► removing ──► (gone)    dead: a removal that failed
//! ```

use crate::api::container::{Health, State as ApiState};
use serde::{Deserialize, Serialize};
use std::time::{Duration, SystemTime};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    #[default]
    Created,
    Running,
    Paused,
    Restarting,
    Removing,
    Exited,
    Dead,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Restarting => "restarting",
            Status::Removing => "removing",
            Status::Exited => "exited",
            Status::Dead => "dead",
        }
    }
    pub fn parse(s: &str) -> Option<Status> {
        Some(match s {
            "created" => Status::Created,
            "running" => Status::Running,
            "paused" => Status::Paused,
            "restarting" => Status::Restarting,
            "removing" => Status::Removing,
            "exited" => Status::Exited,
            "dead" => Status::Dead,
            _ => return None,
        })
    }
    /// A process exists (running or frozen).
    pub fn is_alive(self) -> bool {
        matches!(self, Status::Running | Status::Paused)
    }
}

/// Go's zero time, which Docker shows for times never set.
pub const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// The persisted state of a container (inside config.v2.json).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct State {
    pub status: Status,
    pub oom_killed: bool,
    pub pid: i64,
    pub exit_code: i64,
    pub error: String,
    pub started_at: String,
    pub finished_at: String,
    pub health: Option<Health>,
}

impl Default for State {
    fn default() -> Self {
        State {
            status: Status::Created,
            oom_killed: false,
            pid: 0,
            exit_code: 0,
            error: String::new(),
            started_at: ZERO_TIME.into(),
            finished_at: ZERO_TIME.into(),
            health: None,
        }
    }
}

impl State {
    pub fn to_api(&self) -> ApiState {
        ApiState {
            Status: self.status.as_str().to_string(),
            Running: matches!(
                self.status,
                Status::Running | Status::Paused | Status::Restarting
            ),
            Paused: self.status == Status::Paused,
            Restarting: self.status == Status::Restarting,
            OOMKilled: self.oom_killed,
            Dead: self.status == Status::Dead,
            Pid: self.pid,
            ExitCode: self.exit_code,
            Error: self.error.clone(),
            StartedAt: self.started_at.clone(),
            FinishedAt: self.finished_at.clone(),
            Health: self.health.clone(),
        }
    }

    /// The `STATUS` column of `docker ps` (Docker's `State.String`).
    pub fn describe(&self, now: SystemTime) -> String {
        let since = |t: &str| {
            parse_time(t)
                .and_then(|t| now.duration_since(t).ok())
                .unwrap_or_default()
        };
        match self.status {
            Status::Running | Status::Paused => {
                let mut s = format!("Up {}", human_duration(since(&self.started_at)));
                if self.status == Status::Paused {
                    s.push_str(" (Paused)");
                } else if let Some(h) = &self.health {
                    match h.Status.as_str() {
                        "starting" => s.push_str(" (health: starting)"),
                        "healthy" | "unhealthy" => s.push_str(&format!(" ({})", h.Status)),
                        _ => {}
                    }
                }
                s
            }
            Status::Restarting => format!(
                "Restarting ({}) {} ago",
                self.exit_code,
                human_duration(since(&self.finished_at))
            ),
            Status::Removing => "Removal In Progress".into(),
            Status::Dead => "Dead".into(),
            Status::Created => "Created".into(),
            Status::Exited => {
                if self.finished_at == ZERO_TIME {
                    String::new()
                } else {
                    format!(
                        "Exited ({}) {} ago",
                        self.exit_code,
                        human_duration(since(&self.finished_at))
                    )
                }
            }
        }
    }
}

/// Docker's `units.HumanDuration`.
pub fn human_duration(d: Duration) -> String {
    crate::api::units::human_duration(d.as_secs_f64())
}

/// RFC 3339 (UTC `Z` or an offset, optional fraction) → SystemTime.
pub fn parse_time(s: &str) -> Option<SystemTime> {
    let (secs, nanos) = parse_rfc3339(s)?;
    if secs < 0 {
        return None;
    }
    Some(SystemTime::UNIX_EPOCH + Duration::new(secs as u64, nanos))
}

/// RFC 3339 → (unix seconds, nanoseconds).
pub fn parse_rfc3339(s: &str) -> Option<(i64, u32)> {
    let b = s.as_bytes();
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || (b[10] != b'T' && b[10] != b't' && b[10] != b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, mo, d, h, mi, sec) = (
        num(0..4)?,
        num(5..7)?,
        num(8..10)?,
        num(11..13)?,
        num(14..16)?,
        num(17..19)?,
    );
    let mut i = 19;
    let mut nanos = 0u32;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        let frac = &s[start..i];
        let mut digits: String = frac.chars().take(9).collect();
        while digits.len() < 9 {
            digits.push('0');
        }
        nanos = digits.parse().ok()?;
    }
    let offset = match s.get(i..)? {
        "Z" | "z" => 0,
        tz if tz.len() == 6 && (tz.starts_with('+') || tz.starts_with('-')) => {
            let sign = if tz.starts_with('-') { -1 } else { 1 };
            sign * (tz[1..3].parse::<i64>().ok()? * 3600 + tz[4..6].parse::<i64>().ok()? * 60)
        }
        _ => return None,
    };
    // days from civil (Howard Hinnant's algorithm)
    let y2 = if mo <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146097 + doe - 719468;
    Some((days * 86400 + h * 3600 + mi * 60 + sec - offset, nanos))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_durations() {
        let d = Duration::from_secs;
        assert_eq!(
            human_duration(Duration::from_millis(300)),
            "Less than a second"
        );
        assert_eq!(human_duration(d(1)), "1 second");
        assert_eq!(human_duration(d(59)), "59 seconds");
        assert_eq!(human_duration(d(60)), "About a minute");
        assert_eq!(human_duration(d(150)), "2 minutes");
        assert_eq!(human_duration(d(3600)), "About an hour");
        assert_eq!(human_duration(d(3 * 3600)), "3 hours");
        assert_eq!(human_duration(d(3 * 86400)), "3 days");
        assert_eq!(human_duration(d(20 * 86400)), "2 weeks");
        assert_eq!(human_duration(d(100 * 86400)), "3 months");
        assert_eq!(human_duration(d(800 * 86400)), "2 years");
    }

    #[test]
    fn times_round_trip() {
        let t = SystemTime::UNIX_EPOCH + Duration::new(1_795_438_058, 123_456_789);
        let s = crate::base::time::rfc3339_nanos(t);
        assert_eq!(parse_time(&s), Some(t));
        assert_eq!(
            parse_rfc3339("2026-11-23T13:34:01.5+01:00"),
            Some((
                parse_rfc3339("2026-11-23T12:34:01Z").unwrap().0,
                500_000_000
            ))
        );
        assert_eq!(parse_time(ZERO_TIME), None);
    }

    #[test]
    fn ps_status_words() {
        let now = SystemTime::now();
        let ago = |s: u64| crate::base::time::rfc3339_nanos(now - Duration::from_secs(s));
        let mut st = State::default();
        assert_eq!(st.describe(now), "Created");
        st.status = Status::Running;
        st.started_at = ago(5);
        assert_eq!(st.describe(now), "Up 5 seconds");
        st.status = Status::Paused;
        assert_eq!(st.describe(now), "Up 5 seconds (Paused)");
        st.status = Status::Running;
        st.health = Some(Health {
            Status: "healthy".into(),
            ..Default::default()
        });
        assert_eq!(st.describe(now), "Up 5 seconds (healthy)");
        st.status = Status::Exited;
        st.exit_code = 3;
        st.finished_at = ago(120);
        assert_eq!(st.describe(now), "Exited (3) 2 minutes ago");
        let api = st.to_api();
        assert_eq!(
            (api.Status.as_str(), api.Running, api.ExitCode),
            ("exited", false, 3)
        );
    }
}
