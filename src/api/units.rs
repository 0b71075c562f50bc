//! Docker's human-readable units (go-units), shared by the daemon (`ps` status text) and the
//! client ("2 minutes ago").

/// go-units `HumanDuration` of a number of seconds.
pub fn human_duration(secs: f64) -> String {
    let s = secs as i64;
    if s < 1 {
        return "Less than a second".into();
    }
    if s == 1 {
        return "1 second".into();
    }
    if s < 60 {
        return format!("{s} seconds");
    }
    let m = (secs / 60.0) as i64;
    if m == 1 {
        return "About a minute".into();
    }
    if m < 60 {
        return format!("{m} minutes");
    }
    let h = (secs / 3600.0 + 0.5) as i64;
    if h == 1 {
        return "About an hour".into();
    }
    if h < 48 {
        return format!("{h} hours");
    }
    if h < 24 * 7 * 2 {
        return format!("{} days", h / 24);
    }
    if h < 24 * 30 * 2 {
        return format!("{} weeks", h / 24 / 7);
    }
    if h < 24 * 365 * 2 {
        return format!("{} months", h / 24 / 30);
    }
    format!("{} years", (secs / 3600.0) as i64 / 24 / 365)
}
