//! dockerd: the Docker Engine API daemon.
//!
//! `entry::run` reads the configuration, prepares the state roots ([`roots`] documents their
//! layout), takes the pid file, binds the `-H` sockets and serves HTTP ([`crate::http::server`])
//! until SIGTERM or SIGINT. Every request goes through [`routes::ApiService`]: strip the `/vX.Y`
//! prefix, find the route, negotiate the API version, call the handler, map its error to a
//! status ([`status_of`]) and Docker's `{"message": …}` body, add the headers every Engine API
//! response carries.
//!
//! # Adding an endpoint
//!
//! 1. Write a handler in a module of this directory (e.g. `images.rs`):
//!
//!    ```ignore
//!    pub fn inspect<'a>(req: Req<'a>) -> HandlerFuture<'a> {
//!        Box::pin(async move {
//!            let name = req.param("name");              // from the route pattern
//!            let v = req.daemon.images.inspect(name)?;  // base::Error kinds map to statuses
//!            Ok(reply::json(200, &v))
//!        })
//!    }
//!    ```
//!
//!    The signature is [`Handler`]: `for<'a> fn(Req<'a>) -> HandlerFuture<'a>`, where
//!    `HandlerFuture<'a> = Pin<Box<dyn Future<Output = base::Result<http::Response>> + Send + 'a>>`.
//!    [`Req`] carries the shared [`Daemon`] (`req.daemon`, an `Arc`, clone it into spawned
//!    tasks), the negotiated API version (`req.version.lt("1.44")` for version gates), path
//!    parameters (`req.param`), the query (`req.query.get`, `.bool`, `.int`), the headers and the
//!    body (`req.json::<T>().await` for JSON with Docker's error messages, or read `req.body` as
//!    an `AsyncRead` for tar streams). Handlers run on a small async executor: put blocking file
//!    or CPU work in `smol::unblock`.
//!
//!    Responses ([`crate::http::Response`]): `reply::json(200, &value)`, `Response::empty(204)`,
//!    `Response::channel(200, "application/json")` for progress streams (send each JSON message
//!    from a spawned task; the head is flushed at once, each chunk as it comes, and the send
//!    fails once the client hung up), `Response::stream(…)` for a body stream (a `docker save`
//!    tar), `Response::upgrade(content_type, f)` to hijack the connection (attach, exec).
//!    Errors: return `Err(base::Error)`; the kind picks the status (NotFound 404, Conflict 409,
//!    InvalidArgument 400, PermissionDenied 403, NotImplemented 501, Unavailable 503, else 500) and
//!    the message is shown by the CLI as `Error response from daemon: <message>`.
//! 2. Add one line to [`routes::ROUTES`]: `route("GET", "/images/{name*}/json", images::inspect)`.
//!    `{x}` matches one path segment; `{x*}` matches one or more (image names contain `/`).
//!    Paths are matched after the version prefix and percent-decoding.
//! 3. State the daemon keeps (the image store, say) goes in a field of [`Daemon`], built in
//!    `Daemon::new`.

pub mod config;
pub mod containers;
pub mod entry;
pub mod events;
pub mod host;
pub mod images;
pub mod listen;
pub mod registry;
pub mod roots;
pub mod routes;
pub mod swarm;
pub mod system;

use crate::api::ApiVersion;
use crate::base::{ErrorKind, Result};
use crate::http::{Body, Headers, Response};
use config::Config;
use roots::Roots;
use serde::de::DeserializeOwned;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::SystemTime;

pub use crate::api::reply;

/// berth's engine version as the API reports it (`docker version` Server: Engine: Version).
pub const SERVER_VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "-berth");
/// The commit berth was built from, when the build passes it in (`make build` does).
pub const GIT_COMMIT: &str = match option_env!("BERTH_COMMIT") {
    Some(c) => c,
    None => "unknown",
};

/// What a handler returns.
pub type HandlerFuture<'a> = Pin<Box<dyn Future<Output = Result<Response>> + Send + 'a>>;
/// A request handler (see the module docs).
pub type Handler = for<'a> fn(Req<'a>) -> HandlerFuture<'a>;

/// The daemon's shared state, one per process.
pub struct Daemon {
    pub config: Config,
    pub roots: Roots,
    pub started: SystemTime,
    /// The image store (`<data-root>/image`).
    pub images: crate::image::Store,
    /// The registry client (pull, push, login).
    pub registry: crate::image::registry::Service,
    /// Containers (`<data-root>/containers`, bundles under `<exec-root>/containers`).
    pub containers: containers::Containers,
    /// The shims: embedded, or a `containerd` role's (`--containerd`).
    pub supervisor: crate::supervisor::Supervisor,
    pub events: events::Events,
    /// Set on SIGTERM: exits seen from now on do not trigger restart policies.
    pub shutting_down: std::sync::atomic::AtomicBool,
}

impl Daemon {
    pub fn new(config: Config, roots: Roots) -> Result<Daemon> {
        let images = images::open_store(&config, &roots)?;
        let registry = registry::service(&config, &roots);
        let supervisor = match &config.containerd {
            Some(sock) => crate::supervisor::Supervisor::remote(sock.trim_start_matches("unix://")),
            None => {
                crate::supervisor::Supervisor::new(crate::supervisor::Config::new(&roots.exec))?
            }
        };
        let cg = host::cgroups();
        let own_binary = std::env::current_exe()
            .map_err(|e| crate::base::Error::from(e).context("find this executable"))?;
        let spec_host = containers::spec::Host {
            cgroup_v2: cg.version == "2",
            cgroup_parent: "/docker".into(),
            init_binary: own_binary,
            init_default: config.init,
            seccomp: containers::seccomp::daemon_profile(config.seccomp_profile.as_deref())?,
        };
        let containers = containers::Containers::open(
            &roots.data,
            &roots.exec,
            spec_host,
            host::ncpu().max(1) as u32,
            config.log_driver().to_string(),
            config.log_opts.clone(),
        )?;
        Ok(Daemon {
            config,
            roots,
            started: SystemTime::now(),
            images,
            registry,
            containers,
            supervisor,
            events: events::Events::new(),
            shutting_down: std::sync::atomic::AtomicBool::new(false),
        })
    }

    pub fn shutting_down(&self) -> bool {
        self.shutting_down.load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl std::fmt::Debug for Daemon {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Daemon")
            .field("config", &self.config)
            .field("roots", &self.roots)
            .field("containers", &self.containers)
            .finish_non_exhaustive()
    }
}

/// One request as a handler sees it.
#[derive(Debug)]
pub struct Req<'a> {
    pub daemon: Arc<Daemon>,
    /// The negotiated API version (the `/vX.Y` prefix, else the newest).
    pub version: ApiVersion,
    pub method: String,
    /// The path without the version prefix, percent-decoded.
    pub path: String,
    pub params: Vec<(&'static str, String)>,
    pub query: Query,
    pub headers: Headers,
    pub body: Body<'a>,
    /// The client sent `Connection: Upgrade` (attach/exec want to hijack).
    pub wants_upgrade: bool,
}

impl Req<'_> {
    /// A path parameter named in the route pattern (empty if the pattern has none so named).
    pub fn param(&self, name: &str) -> &str {
        self.params
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }
    /// The body as JSON, as moby's handlers read it (Content-Type check, Docker's messages for an
    /// empty body and for syntax errors).
    pub async fn json<T: DeserializeOwned>(&mut self) -> Result<T> {
        crate::api::json::read_body(&self.headers, &mut self.body).await
    }
}

/// Query parameters in order (`?all=1&filters=…`), decoded.
#[derive(Debug, Clone, Default)]
pub struct Query(pub Vec<(String, String)>);

impl Query {
    pub fn parse(raw: &str) -> Query {
        Query(crate::http::url::parse_query(raw))
    }
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
    pub fn get_all<'q>(&'q self, key: &'q str) -> impl Iterator<Item = &'q str> + 'q {
        self.0
            .iter()
            .filter(move |(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
    /// moby's `BoolValue`: true unless empty, "0", "no", "false" or "none".
    pub fn bool(&self, key: &str) -> bool {
        let v = self.get(key).unwrap_or("").trim().to_ascii_lowercase();
        !matches!(v.as_str(), "" | "0" | "no" | "false" | "none")
    }
    /// moby's `BoolValueOrDefault`: `default` when the key is absent.
    pub fn bool_or(&self, key: &str, default: bool) -> bool {
        if self.get(key).is_none() {
            default
        } else {
            self.bool(key)
        }
    }
    /// moby's `Int64ValueOrDefault`: absent or empty gives `default`; junk is an InvalidArgument.
    pub fn int_or(&self, key: &str, default: i64) -> Result<i64> {
        match self.get(key).map(str::trim) {
            None | Some("") => Ok(default),
            Some(v) => v.parse().map_err(|_| {
                crate::base::Error::invalid(format!(
                    "strconv.ParseInt: parsing {v:?}: invalid syntax"
                ))
            }),
        }
    }
}

/// The one mapping from error kinds to HTTP statuses (moby's `httpstatus.FromError`).
pub fn status_of(kind: ErrorKind) -> u16 {
    match kind {
        ErrorKind::NotFound => 404,
        ErrorKind::Conflict => 409,
        ErrorKind::InvalidArgument => 400,
        ErrorKind::PermissionDenied => 403,
        ErrorKind::NotImplemented => 501,
        ErrorKind::Unavailable => 503,
        ErrorKind::Internal => 500,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_follow_moby() {
        let q = Query::parse("all=1&force=False&v=none&size=&limit=5&x=y&x=z&bad=1O");
        assert!(q.bool("all"));
        assert!(!q.bool("force") && !q.bool("v") && !q.bool("size") && !q.bool("missing"));
        assert!(q.bool_or("missing", true) && !q.bool_or("force", true));
        assert_eq!(q.int_or("limit", -1).unwrap(), 5);
        assert_eq!(q.int_or("size", -1).unwrap(), -1);
        assert!(q.int_or("bad", 0).is_err());
        assert_eq!(q.get_all("x").collect::<Vec<_>>(), ["y", "z"]);
    }

    #[test]
    fn every_kind_has_a_status() {
        assert_eq!(status_of(ErrorKind::NotFound), 404);
        assert_eq!(status_of(ErrorKind::InvalidArgument), 400);
        assert_eq!(status_of(ErrorKind::Conflict), 409);
        assert_eq!(status_of(ErrorKind::Internal), 500);
    }
}
