//! Health checks: `HEALTHCHECK` from the image or `--health-*`, run as exec probes while the
//! container runs; status in inspect (`State.Health`) and ps (`(healthy)`), `health_status`
//! events on changes.

use super::create::event_attributes;
use super::store::Container;
use crate::api::container::{ExecConfig, HealthConfig, HealthcheckResult};
use crate::daemon::Daemon;
use crate::supervisor::AttachOpts;
use smol::io::AsyncReadExt;
use std::sync::Arc;
use std::time::Duration;

pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(30);
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
pub const DEFAULT_START_INTERVAL: Duration = Duration::from_secs(5);
pub const DEFAULT_RETRIES: i64 = 3;
/// Results kept in `State.Health.Log`.
pub const MAX_LOG: usize = 5;
/// Probe output kept per result.
pub const MAX_OUTPUT: usize = 4096;

/// A configured, enabled check (`NONE` disables).
pub fn enabled(h: &HealthConfig) -> bool {
    h.Test
        .as_ref()
        .and_then(|t| t.first())
        .is_some_and(|t| t != "NONE")
}

/// The probe's command line (`CMD args…` or `CMD-SHELL cmd`).
pub fn probe_command(h: &HealthConfig) -> Option<Vec<String>> {
    let t = h.Test.as_ref()?;
    match t.first()?.as_str() {
        "CMD" => Some(t[1..].to_vec()),
        "CMD-SHELL" => Some(vec!["/bin/sh".into(), "-c".into(), t[1..].join(" ")]),
        _ => None,
    }
}

fn dur(ns: i64, default: Duration) -> Duration {
    if ns > 0 {
        Duration::from_nanos(ns as u64)
    } else {
        default
    }
}

/// The state after one result (Docker's `handleProbeResult`): returns the new status.
pub fn apply_result(
    h: &mut crate::api::container::Health,
    result: HealthcheckResult,
    retries: i64,
    in_start_period: bool,
) -> String {
    let ok = result.ExitCode == 0;
    let log = h.Log.get_or_insert_with(Vec::new);
    log.push(result);
    if log.len() > MAX_LOG {
        log.drain(..log.len() - MAX_LOG);
    }
    if ok {
        h.FailingStreak = 0;
        h.Status = "healthy".into();
    } else if in_start_period && h.Status != "healthy" {
        // Failures during the start period do not count.
    } else {
        h.FailingStreak += 1;
        if h.FailingStreak >= retries {
            h.Status = "unhealthy".into();
        }
    }
    h.Status.clone()
}

/// Start the health-check loop for run `generation` of `c`, if it has a check.
pub fn spawn(d: Arc<Daemon>, c: Arc<Container>, generation: u64) {
    let Some(h) = c.with(|r| r.config.Healthcheck.clone()).filter(enabled) else {
        return;
    };
    let Some(cmd) = probe_command(&h) else { return };
    let (tx, rx) = smol::channel::bounded::<()>(1);
    match c.live() {
        Ok(mut l) if l.generation == generation => l.health_stop = Some(tx),
        _ => return,
    }
    let interval = dur(h.Interval, DEFAULT_INTERVAL);
    let timeout = dur(h.Timeout, DEFAULT_TIMEOUT);
    let start_period = dur(h.StartPeriod, Duration::ZERO);
    let start_interval = dur(h.StartInterval, DEFAULT_START_INTERVAL);
    let retries = if h.Retries > 0 {
        h.Retries
    } else {
        DEFAULT_RETRIES
    };
    crate::http::rt::spawn_detached(async move {
        use smol::future::FutureExt;
        let began = std::time::Instant::now();
        loop {
            let in_start = began.elapsed() < start_period;
            let wait = if in_start && h.StartInterval > 0 {
                start_interval
            } else {
                interval
            };
            let stopped = async {
                let _ = rx.recv().await;
                true
            }
            .or(async {
                smol::Timer::after(wait).await;
                false
            })
            .await;
            if stopped || !c.with(|r| r.state.status == super::state::Status::Running) {
                return;
            }
            let result = probe(&d, &c, &cmd, timeout).await;
            let in_start = began.elapsed() < start_period;
            let mut changed = None;
            let res = c.update(|r| {
                let health = r.state.health.get_or_insert_with(Default::default);
                let before = health.Status.clone();
                let after = apply_result(health, result, retries, in_start);
                if before != after {
                    changed = Some(after);
                }
            });
            if res.is_err() {
                return;
            }
            if let Some(status) = changed {
                d.events.publish(
                    "container",
                    &format!("health_status: {status}"),
                    &c.id,
                    event_attributes(&c.snapshot()),
                );
            }
        }
    });
}

/// Run the probe once as an exec; its output (stdout and stderr, framed) is collected.
async fn probe(
    d: &Arc<Daemon>,
    c: &Arc<Container>,
    cmd: &[String],
    timeout: Duration,
) -> HealthcheckResult {
    use smol::future::FutureExt;
    let start = crate::base::time::now_rfc3339();
    let rid = d.containers.runtime_id(&c.id);
    let eid = format!("health-{}", &crate::base::id::random_hex_id()[..16]);
    let cfg = ExecConfig {
        AttachStdout: true,
        AttachStderr: true,
        Cmd: Some(cmd.to_vec()),
        ..Default::default()
    };
    let done = |code: i64, output: String| HealthcheckResult {
        Start: start.clone(),
        End: crate::base::time::now_rfc3339(),
        ExitCode: code,
        Output: output,
    };
    let (dd, cc, cfg2) = (d.clone(), c.clone(), cfg.clone());
    let process =
        match crate::http::rt::unblock(move || super::exec::process_for(&dd, &cc, &cfg2, None))
            .await
        {
            Ok(p) => p,
            Err(e) => return done(-1, e.to_string()),
        };
    if let Err(e) = d
        .supervisor
        .exec_create(
            &rid,
            &eid,
            crate::supervisor::ExecSpec {
                process,
                stdin: false,
            },
        )
        .await
    {
        return done(-1, e.to_string());
    }
    let stream = match d
        .supervisor
        .attach(
            &rid,
            Some(&eid),
            AttachOpts {
                stdin: false,
                stdout: true,
                stderr: true,
                close_stdin: false,
            },
        )
        .await
    {
        Ok(s) => s,
        Err(e) => return done(-1, e.to_string()),
    };
    if let Err(e) = d.supervisor.exec_start(&rid, &eid).await {
        return done(-1, e.to_string());
    }
    let run = async {
        let mut raw = Vec::new();
        let mut r = &stream.stream;
        let mut buf = [0u8; 8192];
        loop {
            match r.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if raw.len() < 1 << 20 {
                        raw.extend_from_slice(&buf[..n]);
                    }
                }
            }
        }
        let code = d
            .supervisor
            .wait_exec(&rid, &eid)
            .await
            .map(|x| x.code as i64)
            .unwrap_or(-1);
        Some((code, demux(&raw, stream.tty)))
    }
    .or(async {
        smol::Timer::after(timeout).await;
        None
    })
    .await;
    match run {
        Some((code, out)) => done(code, out),
        None => {
            let _ = d.supervisor.kill_exec(&rid, &eid, 9).await;
            done(
                -1,
                format!("Health check exceeded timeout ({}s)", timeout.as_secs()),
            )
        }
    }
}

/// The payload of multiplexed frames, concatenated (or the raw bytes of a tty), truncated.
pub fn demux(raw: &[u8], tty: bool) -> String {
    let mut out = Vec::new();
    if tty {
        out.extend_from_slice(raw);
    } else {
        let mut i = 0;
        while i + 8 <= raw.len() {
            let n = u32::from_be_bytes([raw[i + 4], raw[i + 5], raw[i + 6], raw[i + 7]]) as usize;
            let end = (i + 8 + n).min(raw.len());
            out.extend_from_slice(&raw[i + 8..end]);
            i = end;
        }
    }
    out.truncate(MAX_OUTPUT);
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::container::Health;

    #[test]
    fn probe_commands() {
        let h = HealthConfig {
            Test: Some(vec!["CMD-SHELL".into(), "test -f /ok".into()]),
            ..Default::default()
        };
        assert!(enabled(&h));
        assert_eq!(probe_command(&h).unwrap(), ["/bin/sh", "-c", "test -f /ok"]);
        let h = HealthConfig {
            Test: Some(vec!["CMD".into(), "true".into()]),
            ..Default::default()
        };
        assert_eq!(probe_command(&h).unwrap(), ["true"]);
        assert!(!enabled(&HealthConfig {
            Test: Some(vec!["NONE".into()]),
            ..Default::default()
        }));
        assert!(!enabled(&HealthConfig::default()));
    }

    #[test]
    fn streaks_and_statuses() {
        let r = |code| HealthcheckResult {
            ExitCode: code,
            ..Default::default()
        };
        let mut h = Health {
            Status: "starting".into(),
            ..Default::default()
        };
        assert_eq!(apply_result(&mut h, r(1), 2, true), "starting");
        assert_eq!(h.FailingStreak, 0);
        assert_eq!(apply_result(&mut h, r(1), 2, false), "starting");
        assert_eq!(apply_result(&mut h, r(1), 2, false), "unhealthy");
        assert_eq!(apply_result(&mut h, r(0), 2, false), "healthy");
        assert_eq!(h.FailingStreak, 0);
        for _ in 0..10 {
            apply_result(&mut h, r(0), 2, false);
        }
        assert_eq!(h.Log.as_ref().unwrap().len(), MAX_LOG);
    }

    #[test]
    fn demuxing() {
        let mut raw = vec![1, 0, 0, 0, 0, 0, 0, 3];
        raw.extend_from_slice(b"ok\n");
        raw.extend_from_slice(&[2, 0, 0, 0, 0, 0, 0, 2]);
        raw.extend_from_slice(b"e\n");
        assert_eq!(demux(&raw, false), "ok\ne\n");
    }
}
