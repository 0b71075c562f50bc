//! `runc events`: the container's cgroup statistics as JSON lines, once (`--stats`) or every
//! `--interval` (default 5s) with OOM notices, until the container stops.
use super::{option, switch, Arity, CmdResult, Command, Failure, Global, Opts};
use crate::base::{Error, ErrorKind};
use crate::runtime::entry;
use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

pub const COMMAND: Command = Command {
    name: "events",
    summary:
        "display container events such as OOM notifications, cpu, memory, and IO usage statistics",
    usage: "events [command options] <container-id>",
    flags: &[
        option(
            &["interval"],
            "set the stats collection interval (default: 5s)",
        ),
        switch(&["stats"], "display the container's stats then exit"),
    ],
    arity: Arity::Exact(1),
    run,
};

fn run(g: &Global, o: &Opts) -> CmdResult {
    let interval = match o.get("interval") {
        None => Duration::from_secs(5),
        Some(v) => parse_go_duration(v).ok_or_else(|| {
            Failure::new(format!(
                "invalid value {v:?} for flag -interval: parse error"
            ))
        })?,
    };
    if interval.is_zero() {
        return Err(Failure::new("duration interval must be greater than 0"));
    }
    let mut emit = |e: &entry::Event| -> crate::base::Result<()> {
        let line = serde_json::to_string(e).map_err(|x| Error::internal(x.to_string()))?;
        let mut out = std::io::stdout().lock();
        // A reader that went away ends the stream (a broken pipe is not an error).
        writeln!(out, "{line}")
            .and_then(|_| out.flush())
            .map_err(|_| Error::new(ErrorKind::Unavailable, "stdout closed"))
    };
    let r = entry::events(
        &g.root,
        &o.args[0],
        if o.on("stats") { None } else { Some(interval) },
        &mut emit,
    );
    match r {
        Err(e) if e.kind() == ErrorKind::Unavailable && e.message() == "stdout closed" => {
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => Err(e.into()),
        Ok(()) => Ok(ExitCode::SUCCESS),
    }
}

/// Go's time.ParseDuration: "5s", "1m30s", "1.5h", "250ms", "10us"/"µs", "100ns". A bare number
/// is taken as seconds (runc refuses it; callers that write `--interval 5` mean seconds).
pub fn parse_go_duration(s: &str) -> Option<Duration> {
    if let Ok(secs) = s.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let mut rest = s;
    let mut total = 0f64;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let n = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if n == 0 {
            return None;
        }
        let v: f64 = rest[..n].parse().ok()?;
        rest = &rest[n..];
        let u = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..u] {
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        total += v * scale;
        rest = &rest[u..];
    }
    Some(Duration::from_secs_f64(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        assert_eq!(parse_go_duration("5s"), Some(Duration::from_secs(5)));
        assert_eq!(parse_go_duration("1m30s"), Some(Duration::from_secs(90)));
        assert_eq!(parse_go_duration("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse_go_duration("1.5h"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_go_duration("0"), Some(Duration::ZERO));
        assert_eq!(parse_go_duration("5"), Some(Duration::from_secs(5)));
        assert_eq!(parse_go_duration("5x"), None);
        assert_eq!(parse_go_duration("s"), None);
        assert_eq!(parse_go_duration(""), None);
    }
}
