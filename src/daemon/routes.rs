//! The routes table and the request path through the daemon.

use super::containers::handlers as containers;
use super::{
    images, registry, status_of, swarm, system, Daemon, Handler, Query, Req, GIT_COMMIT,
    SERVER_VERSION,
};
use crate::api::reply;
use crate::api::version::{split_prefix, ApiVersion, MAX_API_VERSION};
use crate::http::server::{BoxFuture, Request, Service};
use crate::http::Response;
use smol::future::FutureExt;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

/// One endpoint: method, path pattern (after the `/vX.Y` prefix), handler.
pub struct Route {
    pub method: &'static str,
    pub pattern: &'static str,
    pub handler: Handler,
}

const fn route(method: &'static str, pattern: &'static str, handler: Handler) -> Route {
    Route {
        method,
        pattern,
        handler,
    }
}

/// Every endpoint the daemon serves. `{x}` is one path segment, `{x*}` one or more.
pub static ROUTES: &[Route] = &[
    // system
    route("GET", "/_ping", system::ping),
    route("HEAD", "/_ping", system::ping),
    route("GET", "/version", system::version),
    route("GET", "/info", system::info),
    route("GET", "/system/df", images::disk_usage),
    // images: fixed paths before the `{name*}` patterns
    route("GET", "/images/json", images::list),
    route("GET", "/images/get", images::get),
    route("POST", "/images/load", images::load),
    route("POST", "/images/create", images::create),
    route("POST", "/images/prune", images::prune),
    route("GET", "/images/{name*}/json", images::inspect),
    route("GET", "/images/{name*}/history", images::history),
    route("GET", "/images/{name*}/get", images::get),
    route("POST", "/images/{name*}/tag", images::tag),
    route("POST", "/images/{name*}/push", registry::push),
    route("POST", "/auth", registry::auth),
    route("DELETE", "/images/{name*}", images::delete),
    // containers: fixed paths before the `{id}` patterns
    route("POST", "/containers/create", containers::create),
    route("GET", "/containers/json", containers::list),
    route("POST", "/containers/prune", containers::prune),
    route("GET", "/containers/{id}/json", containers::inspect),
    route("POST", "/containers/{id}/start", containers::start),
    route("POST", "/containers/{id}/stop", containers::stop),
    route("POST", "/containers/{id}/restart", containers::restart),
    route("POST", "/containers/{id}/kill", containers::kill),
    route("POST", "/containers/{id}/pause", containers::pause),
    route("POST", "/containers/{id}/unpause", containers::unpause),
    route("POST", "/containers/{id}/wait", containers::wait),
    route("POST", "/containers/{id}/attach", containers::attach),
    route("POST", "/containers/{id}/resize", containers::resize),
    route("GET", "/containers/{id}/logs", containers::logs),
    route("GET", "/containers/{id}/top", containers::top),
    route("GET", "/containers/{id}/stats", containers::container_stats),
    route("POST", "/containers/{id}/update", containers::update),
    route("GET", "/containers/{id}/changes", containers::changes),
    route("GET", "/containers/{id}/export", containers::export),
    route("POST", "/containers/{id}/rename", containers::rename),
    route("DELETE", "/containers/{id}", containers::remove),
    route("POST", "/containers/{id}/exec", containers::exec_create),
    route("POST", "/exec/{id}/start", containers::exec_start),
    route("POST", "/exec/{id}/resize", containers::exec_resize),
    route("GET", "/exec/{id}/json", containers::exec_inspect),
    route("GET", "/events", containers::events),
    route("POST", "/commit", containers::commit),
    // swarm: berth is a standalone node
    route("GET", "/swarm", swarm::not_a_manager),
    route("POST", "/swarm/init", swarm::init_or_join),
    route("POST", "/swarm/join", swarm::init_or_join),
    route("POST", "/swarm/leave", swarm::leave),
    route("GET", "/nodes", swarm::not_a_manager),
    route("GET", "/nodes/{id}", swarm::not_a_manager),
    route("GET", "/services", swarm::not_a_manager),
    route("GET", "/services/{id}", swarm::not_a_manager),
    route("GET", "/tasks", swarm::not_a_manager),
    route("GET", "/tasks/{id}", swarm::not_a_manager),
    route("GET", "/secrets", swarm::not_a_manager),
    route("GET", "/secrets/{id}", swarm::not_a_manager),
    route("GET", "/configs", swarm::not_a_manager),
    route("GET", "/configs/{id}", swarm::not_a_manager),
];

/// Match `path` against `pattern`; the parameters on success.
pub fn match_pattern(pattern: &'static str, path: &str) -> Option<Vec<(&'static str, String)>> {
    let pat: Vec<&'static str> = pattern.split('/').collect();
    let segs: Vec<&str> = path.split('/').collect();
    let param = |p: &'static str| p.strip_prefix('{').and_then(|p| p.strip_suffix('}'));
    let mut params = Vec::new();
    match pat
        .iter()
        .position(|p| param(p).is_some_and(|n| n.ends_with('*')))
    {
        None => {
            if pat.len() != segs.len() {
                return None;
            }
            for (p, s) in pat.iter().zip(&segs) {
                match param(p) {
                    Some(name) if !s.is_empty() => params.push((name, s.to_string())),
                    Some(_) => return None,
                    None if p == s => {}
                    None => return None,
                }
            }
        }
        Some(g) => {
            // Fixed segments before and after the greedy one match one to one; the greedy
            // parameter takes what is between (at least one segment).
            let after = pat.len() - g - 1;
            if segs.len() < pat.len() {
                return None;
            }
            let tail = segs.len() - after;
            for (p, s) in pat[..g]
                .iter()
                .zip(&segs[..g])
                .chain(pat[g + 1..].iter().zip(&segs[tail..]))
            {
                match param(p) {
                    Some(name) if !s.is_empty() => params.push((name, s.to_string())),
                    Some(_) => return None,
                    None if p == s => {}
                    None => return None,
                }
            }
            let middle = segs[g..tail].join("/");
            if middle.is_empty() {
                return None;
            }
            let name = param(pat[g]).unwrap_or("").trim_end_matches('*');
            params.push((name, middle));
        }
    }
    Some(params)
}

/// The route for `method` and `path`, with its parameters.
pub fn find(method: &str, path: &str) -> Option<(&'static Route, Vec<(&'static str, String)>)> {
    ROUTES
        .iter()
        .filter(|r| r.method == method)
        .find_map(|r| match_pattern(r.pattern, path).map(|p| (r, p)))
}

/// The HTTP service of the daemon: routing, version negotiation, errors, common headers.
pub struct ApiService {
    pub daemon: Arc<Daemon>,
}

impl ApiService {
    async fn handle(&self, req: Request<'_>) -> Response {
        let Request {
            method,
            path,
            query,
            headers,
            body,
            ..
        } = req;
        log::debug!("Calling {method} {path}");
        let wants_upgrade =
            headers.has_token("Connection", "upgrade") && headers.get("Upgrade").is_some();
        let (requested, unversioned) = split_prefix(&path);
        if method == "OPTIONS" {
            // moby answers CORS preflights on any path.
            return Response::empty(200);
        }
        let Some((route, params)) = find(&method, unversioned) else {
            return reply::error(404, "page not found");
        };
        let version = match ApiVersion::negotiate(requested) {
            Ok(v) => v,
            Err(e) => return reply::error(status_of(e.kind()), &e.to_string()),
        };
        let req = Req {
            daemon: self.daemon.clone(),
            version,
            method: method.clone(),
            path: unversioned.to_string(),
            params,
            query: Query::parse(&query),
            headers,
            body,
            wants_upgrade,
        };
        match AssertUnwindSafe((route.handler)(req)).catch_unwind().await {
            Ok(Ok(resp)) => resp,
            Ok(Err(e)) => {
                let status = status_of(e.kind());
                if status >= 500 && status != 501 {
                    log::error!("Handler for {method} {path} returned error: {e}");
                } else {
                    log::debug!("Handler for {method} {path} returned error: {e}");
                }
                reply::error(status, &e.to_string())
            }
            Err(_) => {
                log::error!("Handler for {method} {path} panicked");
                reply::error(
                    500,
                    &format!("internal error: the handler for {method} {path} panicked"),
                )
            }
        }
    }
}

/// Headers on every Engine API response (moby's version middleware).
pub fn decorate(resp: &mut Response, experimental: bool) {
    resp.headers.set("Api-Version", MAX_API_VERSION);
    resp.headers.set(
        "Docker-Experimental",
        if experimental { "true" } else { "false" },
    );
    resp.headers.set("Ostype", "linux");
    resp.headers
        .set("Server", format!("Docker/{SERVER_VERSION} (linux)"));
}

impl Service for ApiService {
    fn call<'a>(&'a self, req: Request<'a>) -> BoxFuture<'a, Response> {
        Box::pin(async move {
            let mut resp = self.handle(req).await;
            decorate(&mut resp, self.daemon.config.experimental);
            resp
        })
    }
}

/// For logs: who we are.
pub fn banner() -> String {
    format!("berth dockerd {SERVER_VERSION} (commit {GIT_COMMIT})")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &'static str, path: &str) -> Option<Vec<(&'static str, String)>> {
        match_pattern(p, path)
    }

    #[test]
    fn fixed_and_single_segment_parameters() {
        assert_eq!(m("/_ping", "/_ping"), Some(vec![]));
        assert_eq!(m("/_ping", "/_ping/"), None);
        assert_eq!(
            m("/containers/{id}/json", "/containers/abc/json"),
            Some(vec![("id", "abc".to_string())])
        );
        assert_eq!(m("/containers/{id}/json", "/containers//json"), None);
        assert_eq!(m("/containers/{id}/json", "/containers/a/b/json"), None);
    }

    #[test]
    fn greedy_parameters_take_slashes() {
        assert_eq!(
            m("/images/{name*}/json", "/images/library/busybox/json"),
            Some(vec![("name", "library/busybox".to_string())])
        );
        assert_eq!(
            m("/images/{name*}/json", "/images/busybox/json"),
            Some(vec![("name", "busybox".to_string())])
        );
        assert_eq!(m("/images/{name*}/json", "/images/json"), None);
        assert_eq!(
            m("/images/{name*}", "/images/reg:5000/a/b:tag"),
            Some(vec![("name", "reg:5000/a/b:tag".to_string())])
        );
        assert_eq!(
            m("/images/{name*}/tag/{x}", "/images/a/b/tag/y"),
            Some(vec![("x", "y".to_string()), ("name", "a/b".to_string())])
        );
    }

    #[test]
    fn table_is_well_formed() {
        let mut seen = std::collections::BTreeSet::new();
        for r in ROUTES {
            assert!(r.pattern.starts_with('/'), "{}", r.pattern);
            assert!(
                ["GET", "HEAD", "POST", "PUT", "DELETE"].contains(&r.method),
                "{}",
                r.method
            );
            assert!(
                seen.insert((r.method, r.pattern)),
                "duplicate route {} {}",
                r.method,
                r.pattern
            );
            assert!(
                r.pattern.matches('*').count() <= 1,
                "at most one greedy parameter: {}",
                r.pattern
            );
        }
        assert!(find("GET", "/_ping").is_some() && find("HEAD", "/_ping").is_some());
        assert!(find("DELETE", "/_ping").is_none());
    }
}
