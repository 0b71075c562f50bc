//! Starting the daemon: the one door the `dockerd` front end uses (`daemon::entry::run`).
//!
//! Order matters: signals are caught before the sockets exist (a SIGTERM sent the moment the
//! socket appears must shut down cleanly, not kill us), the state roots are checked before the
//! pid file is taken, and the pid file before the sockets are bound (a second daemon must not
//! steal the first one's socket).

use super::config::{self, Config};
use super::listen::{self, Bound, PidFile};
use super::roots;
use super::routes::{banner, ApiService};
use super::Daemon;
use crate::base::{Error, Result};
use async_signal::{Signal, Signals};
use smol::future::FutureExt;
use smol::stream::StreamExt;
use smol::Executor;
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

pub use super::config::{add_flag, find_long, find_short, ConfigFile, Kind, Opt, OPTIONS};

/// How long requests in flight may take to finish after SIGTERM.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// What the front end parsed: flags keyed by their `daemon.json` key (see [`add_flag`]), and
/// where the configuration file is.
#[derive(Debug, Clone)]
pub struct Options {
    pub flags: serde_json::Map<String, serde_json::Value>,
    pub config_file: ConfigFile,
}

/// Whether this process runs as root (effective uid from /proc: no libc here).
fn effective_uid() -> Option<u32> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("Uid:"))?;
    line.split_whitespace().nth(2)?.parse().ok()
}

/// dockerd's log lines: `time="…" level=info msg="…"`.
fn init_logging(level: log::LevelFilter) {
    let mut b = env_logger::Builder::new();
    b.filter_level(level);
    b.format(|buf, rec| {
        let level = match rec.level() {
            log::Level::Error => "error",
            log::Level::Warn => "warning",
            log::Level::Info => "info",
            log::Level::Debug => "debug",
            log::Level::Trace => "trace",
        };
        let msg = rec
            .args()
            .to_string()
            .replace('\\', "\\\\")
            .replace('"', "\\\"");
        writeln!(
            buf,
            "time=\"{}\" level={level} msg=\"{msg}\"",
            crate::base::time::now_rfc3339()
        )
    });
    let _ = b.try_init();
}

/// Run the daemon until SIGTERM or SIGINT. Configuration errors come back as they are;
/// start-up failures are prefixed `failed to start daemon:` as dockerd words them.
pub fn run(opts: Options) -> Result<()> {
    let cfg = config::load(opts.flags, &opts.config_file)?;
    cfg.check_supported()?;
    init_logging(cfg.log_level()?);
    log::info!("Starting up");
    log::debug!("{}", banner());
    if effective_uid().is_some_and(|u| u != 0) {
        return Err(Error::new(
            crate::base::ErrorKind::PermissionDenied,
            "dockerd needs to be started with root privileges",
        ));
    }
    start(cfg).map_err(|e| e.context("failed to start daemon"))
}

fn start(cfg: Config) -> Result<()> {
    let mut signals = Signals::new([Signal::Term, Signal::Int])
        .map_err(|e| Error::from(e).context("catch SIGTERM and SIGINT"))?;
    let roots = roots::prepare(&cfg.data_root(), &cfg.exec_root())?;
    let pidfile = PidFile::acquire(&cfg.pidfile())?;
    let hosts = cfg
        .hosts()
        .iter()
        .map(|h| listen::parse_host(h))
        .collect::<Result<Vec<_>>>()?;
    let gid = listen::socket_gid(cfg.socket_group(), cfg.group.is_none())?;
    let mut bound: Vec<Bound> = Vec::new();
    for h in &hosts {
        match listen::bind(h, gid) {
            Ok(b) => bound.push(b),
            Err(e) => {
                bound.iter().for_each(Bound::cleanup);
                return Err(e);
            }
        }
    }
    let daemon = Arc::new(Daemon::new(cfg, roots)?);
    let listeners = bound.iter_mut().filter_map(|b| b.listener.take()).collect();
    let service = Arc::new(ApiService {
        daemon: daemon.clone(),
    });

    // One extra executor thread beside this one, so a slow handler does not stall the rest.
    let ex = Arc::new(Executor::new());
    let (stop_tx, stop_rx) = smol::channel::bounded::<()>(1);
    let (exit_tx, exit_rx) = smol::channel::bounded::<()>(1);
    let worker = {
        let ex = ex.clone();
        std::thread::Builder::new()
            .name("berth-api".into())
            .spawn(move || {
                smol::block_on(ex.run(async move { while exit_rx.recv().await.is_ok() {} }))
            })
            .map_err(|e| Error::from(e).context("start executor thread"))?
    };
    smol::block_on(ex.run(async {
        // Live restore: re-adopt the containers whose shims kept running, record the exits
        // that happened while no daemon was watching.
        if let Err(e) = super::containers::lifecycle::restore(&daemon).await {
            log::error!("restore containers: {e}");
        }
        let server = ex.spawn(crate::http::server::serve(
            listeners,
            service,
            ex.clone(),
            stop_rx,
            SHUTDOWN_GRACE,
        ));
        for b in &bound {
            match &b.host {
                listen::Host::Unix(p) => log::info!("API listen on {}", p.display()),
                listen::Host::Tcp(a) => log::info!("API listen on {a}"),
            }
        }
        log::info!("Daemon has completed initialization");
        let sig = signals.next().await;
        log::info!("Processing signal '{}'", signal_name(sig));
        daemon
            .shutting_down
            .store(true, std::sync::atomic::Ordering::SeqCst);
        drop(stop_tx);
        // A second signal during the grace period stops waiting.
        let second = async {
            let s = signals.next().await;
            log::warn!(
                "Processing signal '{}' during shutdown: exiting now",
                signal_name(s)
            );
        };
        server.or(second).await;
    }));
    drop(exit_tx);
    let _ = worker.join();
    bound.iter().for_each(Bound::cleanup);
    drop(pidfile);
    log::info!("Daemon shutdown complete");
    Ok(())
}

fn signal_name(s: Option<std::io::Result<Signal>>) -> &'static str {
    match s {
        Some(Ok(Signal::Term)) => "terminated",
        Some(Ok(Signal::Int)) => "interrupt",
        _ => "unknown",
    }
}
