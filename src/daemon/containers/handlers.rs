//! HTTP endpoints of the container API. Each handler parses the request, calls one operation
//! and writes Docker's answer (status codes, streams, hijacks).

use super::lifecycle::{self, RemoveOpts, Started};
use super::state::Status;
use super::stdio::{self, LogOptions, WaitCondition, MULTIPLEXED, RAW};
use super::store::{no_such_container, Container};
use super::view::{self, Ancestry, FilterMap, ListContext};
use super::{create, exec, stats};
use crate::api::container::{
    Change, CreateRequest, ExecConfig, ExecStartConfig, GraphDriver, PruneReport, Summary,
    UpdateConfig, UpdateResponse, WaitError, WaitResponse,
};
use crate::api::ApiVersion;
use crate::base::{Error, ErrorKind, Result};
use crate::daemon::{reply, Daemon, HandlerFuture, Req};
use crate::http::Response;
use crate::supervisor::AttachOpts;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::SystemTime;

fn get(d: &Daemon, term: &str) -> Result<Arc<Container>> {
    d.containers.store.get(term)
}

/// Parse the `filters` query parameter (`{"k":{"v":true}}` or the legacy `{"k":["v"]}`).
pub fn parse_filters(raw: Option<&str>) -> Result<FilterMap> {
    let mut out = FilterMap::new();
    let Some(raw) = raw.filter(|r| !r.trim().is_empty()) else {
        return Ok(out);
    };
    let v: serde_json::Value =
        serde_json::from_str(raw).map_err(|e| Error::invalid(format!("invalid filter: {e}")))?;
    let obj = v
        .as_object()
        .ok_or_else(|| Error::invalid("invalid filter: not an object"))?;
    for (k, vals) in obj {
        let set: &mut BTreeSet<String> = out.entry(k.clone()).or_default();
        match vals {
            serde_json::Value::Object(m) => {
                for (val, on) in m {
                    if on.as_bool().unwrap_or(false) {
                        set.insert(val.clone());
                    }
                }
            }
            serde_json::Value::Array(a) => {
                for x in a {
                    set.insert(
                        x.as_str()
                            .map(str::to_string)
                            .unwrap_or_else(|| x.to_string()),
                    );
                }
            }
            _ => return Err(Error::invalid(format!("invalid filter '{k}'"))),
        }
    }
    Ok(out)
}

/// The `Image` shown for a container: the name it was created from while that name still
/// points at the same image, else the image ID.
fn image_shown(d: &Daemon, config_image: &str, image_id: &str) -> String {
    match d.images.resolve(config_image) {
        Ok(img) if img.id.as_str() == image_id => config_image.to_string(),
        _ => image_id.to_string(),
    }
}

struct ImageAncestry<'a>(&'a Daemon);

impl Ancestry for ImageAncestry<'_> {
    fn image_matches(&self, reference: &str, image_id: &str) -> bool {
        match self.0.images.resolve(reference) {
            Ok(img) => {
                if img.id.as_str() == image_id {
                    return true;
                }
                // A descendant: the container's image has the reference's layers at its bottom.
                match crate::oci::image::Digest::parse(image_id)
                    .ok()
                    .and_then(|id| self.0.images.image(&id))
                {
                    Some(mine) => !img.chain.is_empty() && mine.chain.starts_with(&img.chain),
                    None => false,
                }
            }
            Err(_) => false,
        }
    }
}

/// The containers using images (for image delete, prune and df).
pub fn image_users(d: &Daemon) -> Vec<crate::image::store::ContainerUse> {
    d.containers
        .store
        .all()
        .iter()
        .filter_map(|c| {
            let r = c.snapshot();
            let image = crate::oci::image::Digest::parse(&r.image).ok()?;
            Some(crate::image::store::ContainerUse {
                id: r.id.clone(),
                image,
                running: r.state.status.is_alive(),
            })
        })
        .collect()
}

/// Counts for `docker info`: (total, running, paused, stopped).
pub fn counts(d: &Daemon) -> (i64, i64, i64, i64) {
    let mut c = (0, 0, 0, 0);
    for x in d.containers.store.all() {
        c.0 += 1;
        match x.with(|r| r.state.status) {
            Status::Running | Status::Restarting => c.1 += 1,
            Status::Paused => c.2 += 1,
            _ => c.3 += 1,
        }
    }
    c
}

/// Containers for `GET /system/df`: every container with its sizes.
pub fn disk_usage(d: &Daemon, version: &ApiVersion) -> Vec<Summary> {
    let now = SystemTime::now();
    let mut out: Vec<(String, Summary)> = d
        .containers
        .store
        .all()
        .iter()
        .map(|c| {
            let r = c.snapshot();
            let mut s = view::summary(&r, &image_shown(d, &r.config.Image, &r.image), now, version);
            s.SizeRw = Some(upper_size(d, &r.id) as i64);
            s.SizeRootFs = Some(0);
            (r.created.clone(), s)
        })
        .collect();
    out.sort_by(|a, b| b.0.cmp(&a.0));
    out.into_iter().map(|x| x.1).collect()
}

/// The directories of a container's snapshot: (upper, lowers top first), overlay mode only.
fn snapshot_dirs(d: &Daemon, id: &str) -> Option<(std::path::PathBuf, Vec<std::path::PathBuf>)> {
    let mounts = d.images.snapshot_mounts(id).ok()?;
    let m = mounts.into_iter().find(|m| m.typ == "overlay")?;
    let mut upper = None;
    let mut lowers = Vec::new();
    for o in &m.options {
        if let Some(u) = o.strip_prefix("upperdir=") {
            upper = Some(std::path::PathBuf::from(u));
        } else if let Some(l) = o.strip_prefix("lowerdir=") {
            for p in l.split(':') {
                let p = std::path::PathBuf::from(p);
                lowers.push(match (&m.cwd, p.is_absolute()) {
                    (Some(cwd), false) => cwd.join(p),
                    _ => p,
                });
            }
        }
    }
    Some((upper?, lowers))
}

fn dir_size(p: &std::path::Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let mut total = 0;
    let mut stack = vec![p.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let Ok(m) = e.metadata() else { continue };
            if m.is_dir() {
                stack.push(e.path());
            } else if m.is_file() {
                total += m.size();
            }
        }
    }
    total
}

fn upper_size(d: &Daemon, id: &str) -> u64 {
    snapshot_dirs(d, id).map(|(u, _)| dir_size(&u)).unwrap_or(0)
}

fn graph_driver(d: &Daemon, id: &str) -> GraphDriver {
    let mut data = BTreeMap::new();
    if let Some((upper, lowers)) = snapshot_dirs(d, id) {
        data.insert(
            "LowerDir".to_string(),
            lowers
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(":"),
        );
        data.insert("UpperDir".to_string(), upper.display().to_string());
        if let Some(parent) = upper.parent() {
            data.insert(
                "WorkDir".to_string(),
                parent.join("work").display().to_string(),
            );
        }
        data.insert(
            "MergedDir".to_string(),
            d.containers.bundle(id).join("rootfs").display().to_string(),
        );
    }
    GraphDriver {
        Data: if data.is_empty() { None } else { Some(data) },
        Name: crate::image::store::DRIVER_NAME.into(),
    }
}

/// `POST /containers/create?name=`
pub fn create<'a>(mut req: Req<'a>) -> HandlerFuture<'a> {
    Box::pin(async move {
        let body: CreateRequest = req.json().await?;
        let name = req.query.get("name").map(str::to_string);
        let (d, v) = (req.daemon.clone(), req.version.clone());
        let resp =
            crate::http::rt::unblock(move || create::create(&d, name.as_deref(), body, &v)).await?;
        if let Ok(c) = get(&req.daemon, &resp.Id) {
            lifecycle::prepare(req.daemon.clone(), c);
        }
        Ok(reply::json(201, &resp))
    })
}

/// `GET /containers/json?all=&limit=&size=&filters=`
pub fn list<'a>(req: Req<'a>) -> HandlerFuture<'a> {
    Box::pin(async move {
        let d = req.daemon.clone();
        let mut filters = parse_filters(req.query.get("filters"))?;
        for legacy in ["before", "since"] {
            if let Some(v) = req.query.get(legacy).filter(|v| !v.is_empty()) {
                filters
                    .entry(legacy.to_string())
                    .or_default()
                    .insert(v.to_string());
            }
        }
        view::validate_filters(&filters)?;
        let limit = req.query.int_or("limit", -1)?;
        let all = req.query.bool("all") || limit > 0;
        let size = req.query.bool("size");
        let created_of = |term: &str| -> Result<i128> {
            let c = get(&d, term)?;
            let t = c.with(|r| r.created.clone());
            Ok(super::state::parse_rfc3339(&t)
                .map(|(s, n)| s as i128 * 1_000_000_000 + n as i128)
                .unwrap_or(0))
        };
        let before = match filters.get("before").and_then(|v| v.iter().next()) {
            Some(t) => Some(created_of(t)?),
            None => None,
        };
        let since = match filters.get("since").and_then(|v| v.iter().next()) {
            Some(t) => Some(created_of(t)?),
            None => None,
        };
        let ancestry = ImageAncestry(&d);
        let cx = ListContext {
            all,
            filters: &filters,
            before,
            since,
            ancestry: &ancestry,
        };
        let now = SystemTime::now();
        let mut records: Vec<_> = d
            .containers
            .store
            .all()
            .iter()
            .map(|c| c.snapshot())
            .filter(|r| view::matches(r, &cx))
            .collect();
        records.sort_by(|a, b| b.created.cmp(&a.created));
        if limit > 0 {
            records.truncate(limit as usize);
        }
        let out: Vec<Summary> = records
            .iter()
            .map(|r| {
                let mut s = view::summary(
                    r,
                    &image_shown(&d, &r.config.Image, &r.image),
                    now,
                    &req.version,
                );
                if size {
                    s.SizeRw = Some(upper_size(&d, &r.id) as i64);
                    s.SizeRootFs = Some(0);
                }
                s
            })
            .collect();
        Ok(reply::json(200, &out))
    })
}

/// `GET /containers/{id}/json`
pub fn inspect<'a>(req: Req<'a>) -> HandlerFuture<'a> {
    Box::pin(async move {
        let d = req.daemon.clone();
        let c = get(&d, req.param("id"))?;
        let r = c.snapshot();
        let exec_ids = c.live().map(|l| l.exec_ids.clone()).unwrap_or_default();
        let (dd, id) = (d.clone(), r.id.clone());
        let graph = crate::http::rt::unblock(move || graph_driver(&dd, &id)).await;
        let mut out = view::inspect(&r, graph, &exec_ids, &req.version);
        if req.query.bool("size") {
            out.SizeRw = Some(upper_size(&d, &r.id) as i64);
            out.SizeRootFs = Some(0);
        }
        Ok(reply::json(200, &out))
    })
}

/// `POST /containers/{id}/start` → 204, or 304 when it already runs.
pub fn start<'a>(req: Req<'a>) -> HandlerFuture<'a> {
    Box::pin(async move {
        let d = req.daemon.clone();
        let c = get(&d, req.param("id"))?;
        match lifecycle::start(&d, &c).await {
            Ok(Started::Now) => Ok(Response::empty(204)),
            Ok(Started::AlreadyRunning) => Ok(Response::empty(304)),
            Err(e) => {
                if c.with(|r| r.host_config.AutoRemove) && d.containers.store.get(&c.id).is_ok() {
                    let _ = lifecycle::remove(
                        &d,
                        &c,
                        RemoveOpts {
                            force: true,
                            term: c.id.clone(),
                        },
                    )
                    .await;
                }
                Err(e)
            }
        }
    })
}

fn timeout_param(req: &Req) -> Result<Option<i64>> {
    match req.query.get("t").filter(|v| !v.is_empty()) {
        Some(v) => v
            .parse()
            .map(Some)
            .map_err(|_| Error::invalid(format!("strconv.Atoi: parsing {v:?}: invalid syntax"))),
        None => Ok(None),
    }
}

fn signal_param<'r>(req: &'r Req) -> Option<&'r str> {
    if req.version.ge("1.42") {
        req.query.get("signal")
    } else {
        None
    }
}

/// `POST /containers/{id}/stop?t=&signal=` → 204, or 304 when not running.
pub fn stop<'a>(req: Req<'a>) -> HandlerFuture<'a> {
    Box::pin(async move {
        let d = req.daemon.clone();
        let c = get(&d, req.param("id"))?;
        let t = timeout_param(&req)?;
        if lifecycle::stop(&d, &c, signal_param(&req), t).await? {
            Ok(Response::empty(204))
        } else {
            Ok(Response::empty(304))
        }
    })
}

/// `POST /containers/{id}/restart?t=&signal=`
pub fn restart<'a>(req: Req<'a>) -> HandlerFuture<'a> {
    Box::pin(async move {
        let d = req.daemon.clone();
        let c = get(&d, req.param("id"))?;
        let t = timeout_param(&req)?;
        lifecycle::restart(&d, &c, signal_param(&req), t).await?;
        Ok(Response::empty(204))
    })
}

/// `POST /containers/{id}/kill?signal=`
pub fn kill<'a>(req: Req<'a>) -> HandlerFuture<'a> {
    Box::pin(async move {
        let d = req.daemon.clone();
        let term = req.param("id").to_string();
        let c = get(&d, &term)?;
        lifecycle::kill(&d, &c, &term, req.query.get("signal")).await?;
        Ok(Response::empty(204))
    })
}

pub fn pause<'a>(req: Req<'a>) -> HandlerFuture<'a> {
    Box::pin(async move {
        let d = req.daemon.clone();
        let c = get(&d, req.param("id"))?;
        lifecycle::pause(&d, &c).await?;
        Ok(Response::empty(204))
    })
}

pub fn unpause<'a>(req: Req<'a>) -> HandlerFuture<'a> {
    Box::pin(async move {
        let d = req.daemon.clone();
        let c = get(&d, req.param("id"))?;
        lifecycle::unpause(&d, &c).await?;
        Ok(Response::empty(204))
    })
}

/// `DELETE /containers/{id}?force=&v=&link=`
pub fn remove<'a>(req: Req<'a>) -> HandlerFuture<'a> {
    Box::pin(async move {
        let d = req.daemon.clone();
        let term = req.param("id").to_string();
        let c = get(&d, &term)?;
        if req.query.bool("link") {
            return Err(Error::invalid(format!(
                "Conflict, cannot remove the default link name of the container"
            )));
        }
        lifecycle::remove(
            &d,
            &c,
            RemoveOpts {
                force: req.query.bool("force"),
                term,
            },
        )
        .await?;
        d.containers.execs.forget_container(&c.id);
        Ok(Response::empty(204))
    })
}

/// `POST /containers/{id}/rename?name=`
pub fn rename<'a>(req: Req<'a>) -> HandlerFuture<'a> {
    Box::pin(async move {
        let d = req.daemon.clone();
        let c = get(&d, req.param("id"))?;
        let new = req.query.get("name").unwrap_or("");
        if new.is_empty() {
            return Err(Error::invalid("Neither old nor new names may be empty"));
        }
        let new = super::names::validate(new)?;
        let old = c.with(|r| r.name.clone());
        d.containers.store.rename(&c, &new)?;
        let mut attrs = create::event_attributes(&c.snapshot());
        attrs.insert("oldName".into(), old);
        d.events.publish("container", "rename", &c.id, attrs);
        Ok(Response::empty(204))
    })
}

/// `POST /containers/{id}/wait?condition=`: 200 and the headers at once; the body when the
/// condition holds.
pub fn wait<'a>(req: Req<'a>) -> HandlerFuture<'a> {
    Box::pin(async move {
        let d = req.daemon.clone();
        let cond = WaitCondition::parse(req.query.get("condition").unwrap_or(""))?;
        let c = get(&d, req.param("id"))?;
        let (tx, resp) = Response::channel(200, "application/json");
        crate::http::rt::spawn_detached(async move {
            let code = stdio::wait(&d, &c, cond).await;
            // Docker reports an error here only when the exit itself failed to be observed.
            let err = c.with(|r| {
                if r.state.status == Status::Exited {
                    r.state.error.clone()
                } else {
                    String::new()
                }
            });
            let body = WaitResponse {
                StatusCode: code,
                Error: (!err.is_empty()).then_some(WaitError { Message: err }),
            };
            let mut b = serde_json::to_vec(&body).unwrap_or_default();
            b.push(b'\n');
            let _ = tx.send(b).await;
        });
        Ok(resp)
    })
}

/// `POST /containers/{id}/attach?stream=&stdin=&stdout=&stderr=&logs=&detachKeys=`
pub fn attach<'a>(req: Req<'a>) -> HandlerFuture<'a> {
    Box::pin(async move {
        let d = req.daemon.clone();
        let c = get(&d, req.param("id"))?;
        let (logs, stream) = (req.query.bool("logs"), req.query.bool("stream"));
        if !logs && !stream {
            return Err(Error::invalid(
                "Bad parameters: you must choose at least one stream",
            ));
        }
        let r = c.snapshot();
        if r.state.status == Status::Paused {
            return Err(Error::conflict(format!(
                "container {} is paused, unpause the container before attach",
                c.id
            )));
        }
        let keys = stdio::parse_detach_keys(req.query.get("detachKeys").unwrap_or(""))?;
        let tty = r.config.Tty;
        let opts = AttachOpts {
            stdin: req.query.bool("stdin") && r.config.OpenStdin,
            stdout: req.query.bool("stdout"),
            stderr: req.query.bool("stderr"),
            // As dockerd: a tty's stdin is never closed by a client leaving (detach keys end an
            // attach of a tty container; the next attach must still reach its stdin).
            close_stdin: r.config.StdinOnce && !tty,
        };
        let ct = if !tty && req.version.ge("1.42") {
            MULTIPLEXED
        } else {
            RAW
        };
        let target = if stream {
            Some(stdio::prepare_attach(&d, &c, opts).await?)
        } else {
            None
        };
        let replay = if logs {
            let (tx, rx) = smol::channel::bounded(64);
            let o = LogOptions {
                stdout: opts.stdout,
                stderr: opts.stderr,
                ..Default::default()
            };
            crate::http::rt::spawn_detached(stdio::stream_logs(d.clone(), c.clone(), o, tx));
            Some(rx)
        } else {
            None
        };
        Ok(Response::upgrade(
            ct,
            Box::new(move |up| {
                Box::pin(async move {
                    use smol::io::AsyncWriteExt;
                    if let Some(rx) = replay {
                        let mut w = up.stream.clone();
                        while let Ok(chunk) = rx.recv().await {
                            if w.write_all(&chunk).await.is_err() {
                                return;
                            }
                        }
                    }
                    let Some(target) = target else {
                        up.stream.shutdown();
                        return;
                    };
                    d.events.publish(
                        "container",
                        "attach",
                        &c.id,
                        create::event_attributes(&c.snapshot()),
                    );
                    match target.stream(&c.id).await {
                        Ok(s) => {
                            let detached = stdio::splice(&up, s, opts.stdin, Some(keys)).await;
                            up.stream.shutdown();
                            if detached {
                                d.events.publish(
                                    "container",
                                    "detach",
                                    &c.id,
                                    create::event_attributes(&c.snapshot()),
                                );
                            }
                        }
                        Err(e) => {
                            log::debug!("attach to {}: {e}", c.id);
                            up.stream.shutdown();
                        }
                    }
                })
            }),
        ))
    })
}

fn size_params(req: &Req) -> Result<(u16, u16)> {
    let p = |k: &str| -> Result<u16> {
        let v = req.query.get(k).unwrap_or("");
        v.parse::<u16>()
            .map_err(|_| Error::invalid(format!("strconv.Atoi: parsing {v:?}: invalid syntax")))
    };
    Ok((p("h")?, p("w")?))
}

/// `POST /containers/{id}/resize?h=&w=`
pub fn resize<'a>(req: Req<'a>) -> HandlerFuture<'a> {
    Box::pin(async move {
        let d = req.daemon.clone();
        let c = get(&d, req.param("id"))?;
        let (h, w) = size_params(&req)?;
        if !c.with(|r| r.state.status.is_alive()) {
            return Err(Error::conflict(format!(
                "Container {} is not running",
                c.id
            )));
        }
        d.supervisor
            .resize(&d.containers.runtime_id(&c.id), None, w, h)
            .await?;
        d.events.publish("container", "resize", &c.id, {
            let mut a = create::event_attributes(&c.snapshot());
            a.insert("height".into(), h.to_string());
            a.insert("width".into(), w.to_string());
            a
        });
        Ok(Response::empty(200))
    })
}

/// `GET /containers/{id}/logs?follow=&stdout=&stderr=&since=&until=&timestamps=&tail=`
pub fn logs<'a>(req: Req<'a>) -> HandlerFuture<'a> {
    Box::pin(async move {
        let d = req.daemon.clone();
        let c = get(&d, req.param("id"))?;
        let q = &req.query;
        let (stdout, stderr) = (q.bool("stdout"), q.bool("stderr"));
        if !stdout && !stderr {
            return Err(Error::invalid(
                "Bad parameters: you must choose at least one stream",
            ));
        }
        let r = c.snapshot();
        if r.host_config.LogConfig.Type == "none" || r.log_path.is_empty() {
            return Err(Error::unsupported(
                "configured logging driver does not support reading",
            ));
        }
        let tail = match q.get("tail").unwrap_or("all") {
            "" | "all" => None,
            v => match v.parse::<i64>() {
                Ok(n) if n >= 0 => Some(n as usize),
                _ => None,
            },
        };
        let o = LogOptions {
            follow: q.bool("follow"),
            stdout,
            stderr,
            since: stdio::parse_log_time(q.get("since").unwrap_or(""))?,
            until: stdio::parse_log_time(q.get("until").unwrap_or(""))?,
            timestamps: q.bool("timestamps"),
            tail,
        };
        let ct = if !r.config.Tty && req.version.ge("1.42") {
            MULTIPLEXED
        } else {
            RAW
        };
        let (tx, resp) = Response::channel(200, ct);
        crate::http::rt::spawn_detached(stdio::stream_logs(d, c, o, tx));
        Ok(resp)
    })
}

/// `POST /containers/prune?filters=`
pub fn prune<'a>(req: Req<'a>) -> HandlerFuture<'a> {
    Box::pin(async move {
        let d = req.daemon.clone();
        let filters = parse_filters(req.query.get("filters"))?;
        for k in filters.keys() {
            if !["until", "label", "label!"].contains(&k.as_str()) {
                return Err(Error::invalid(format!("invalid filter '{k}'")));
            }
        }
        let until = match filters.get("until").and_then(|v| v.iter().next()) {
            Some(v) => stdio::parse_log_time(v)?.or(parse_duration_ago(v)),
            None => None,
        };
        let mut deleted = Vec::new();
        let mut reclaimed = 0u64;
        for c in d.containers.store.all() {
            let r = c.snapshot();
            if !matches!(
                r.state.status,
                Status::Created | Status::Exited | Status::Dead
            ) {
                continue;
            }
            if let Some(u) = until {
                let created = super::state::parse_rfc3339(&r.created)
                    .map(|(s, n)| s as i128 * 1_000_000_000 + n as i128)
                    .unwrap_or(0);
                if created >= u {
                    continue;
                }
            }
            if let Some(v) = filters.get("label") {
                if !view::match_labels(v, r.config.Labels.as_ref()) {
                    continue;
                }
            }
            if let Some(v) = filters.get("label!") {
                if v.iter().any(|x| {
                    view::match_labels(&BTreeSet::from([x.clone()]), r.config.Labels.as_ref())
                }) {
                    continue;
                }
            }
            let size = upper_size(&d, &r.id);
            match lifecycle::remove(
                &d,
                &c,
                RemoveOpts {
                    force: false,
                    term: c.id.clone(),
                },
            )
            .await
            {
                Ok(()) => {
                    deleted.push(r.id.clone());
                    reclaimed += size;
                }
                Err(e) => log::warn!("prune container {}: {e}", r.id),
            }
        }
        if req.version.ge("1.41") {
            d.events.publish(
                "container",
                "prune",
                "",
                BTreeMap::from([("reclaimed".to_string(), reclaimed.to_string())]),
            );
        }
        Ok(reply::json(
            200,
            &PruneReport {
                ContainersDeleted: if deleted.is_empty() {
                    None
                } else {
                    Some(deleted)
                },
                SpaceReclaimed: reclaimed,
            },
        ))
    })
}

/// `10m`, `1h30m`, `2s` before now, as unix nanos (Docker's `until` accepts Go durations).
fn parse_duration_ago(v: &str) -> Option<i128> {
    let mut total = 0f64;
    let mut num = String::new();
    let mut chars = v.chars().peekable();
    while let Some(ch) = chars.next() {
        if ch.is_ascii_digit() || ch == '.' {
            num.push(ch);
            continue;
        }
        let n: f64 = num.parse().ok()?;
        num.clear();
        let unit = match ch {
            'h' => 3600.0,
            'm' if chars.peek() == Some(&'s') => {
                chars.next();
                0.001
            }
            'm' => 60.0,
            's' => 1.0,
            _ => return None,
        };
        total += n * unit;
    }
    if !num.is_empty() {
        return None;
    }
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .ok()?
        .as_nanos() as i128;
    Some(now - (total * 1e9) as i128)
}

/// `GET /containers/{id}/top?ps_args=`
pub fn top<'a>(req: Req<'a>) -> HandlerFuture<'a> {
    Box::pin(async move {
        let d = req.daemon.clone();
        let c = get(&d, req.param("id"))?;
        let r = c.snapshot();
        if !r.state.status.is_alive() {
            return Err(Error::conflict(format!(
                "container {} is not running",
                c.id
            )));
        }
        let ps_args = req.query.get("ps_args").unwrap_or("").to_string();
        let pid = r.state.pid;
        let out = crate::http::rt::unblock(move || {
            let cg = stats::cgroups_of(pid)?;
            let mut pids = stats::pids(&cg);
            if pids.is_empty() {
                pids.push(pid);
            }
            stats::top(&pids, &ps_args)
        })
        .await?;
        d.events
            .publish("container", "top", &c.id, create::event_attributes(&r));
        Ok(reply::json(200, &out))
    })
}

fn mem_total() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix("MemTotal:").map(|v| {
                    v.trim()
                        .trim_end_matches("kB")
                        .trim()
                        .parse::<u64>()
                        .unwrap_or(0)
                        * 1024
                })
            })
        })
        .unwrap_or(0)
}

/// `GET /containers/{id}/stats?stream=&one-shot=`
pub fn container_stats<'a>(req: Req<'a>) -> HandlerFuture<'a> {
    Box::pin(async move {
        let d = req.daemon.clone();
        let c = get(&d, req.param("id"))?;
        let stream = req.query.bool_or("stream", true);
        let one_shot = req.version.ge("1.41") && req.query.bool("one-shot");
        let (tx, resp) = Response::channel(200, "application/json");
        crate::http::rt::spawn_detached(async move {
            let ncpu = d.containers.ncpu;
            let mem = mem_total();
            let name = c.with(|r| r.name.clone());
            let mut prev: Option<crate::api::container::StatsResponse> = None;
            loop {
                let r = c.snapshot();
                let sample = if r.state.status.is_alive() {
                    let pid = r.state.pid;
                    crate::http::rt::unblock(move || {
                        stats::cgroups_of(pid).map(|cg| stats::sample(&cg, ncpu, mem))
                    })
                    .await
                    .unwrap_or_default()
                } else {
                    crate::api::container::StatsResponse {
                        read: super::state::ZERO_TIME.into(),
                        ..Default::default()
                    }
                };
                let mut s = stats::with_previous(sample, prev.as_ref());
                s.name = name.clone();
                s.id = c.id.clone();
                let last = !stream && (one_shot || prev.is_some() || !r.state.status.is_alive());
                if stream || last {
                    let mut b = serde_json::to_vec(&s).unwrap_or_default();
                    b.push(b'\n');
                    if tx.send(b).await.is_err() {
                        return;
                    }
                }
                if last || (stream && d.containers.store.get(&c.id).is_err()) {
                    return;
                }
                prev = Some(s);
                smol::Timer::after(std::time::Duration::from_secs(1)).await;
            }
        });
        Ok(resp)
    })
}

/// `POST /containers/{id}/update`
pub fn update<'a>(mut req: Req<'a>) -> HandlerFuture<'a> {
    Box::pin(async move {
        let d = req.daemon.clone();
        let body: UpdateConfig = req.json().await?;
        let c = get(&d, req.param("id"))?;
        let _op = c.op.lock().await;
        // A task made ahead of `start` has the old resources.
        lifecycle::discard_prepared(&d, &c).await;
        let mut r = c.snapshot();
        let u = &body.Resources;
        let h = &mut r.host_config;
        if let Some(p) = &body.RestartPolicy {
            if !p.Name.is_empty() {
                if h.AutoRemove && !p.is_none() {
                    return Err(Error::invalid("Restart policy cannot be updated because AutoRemove is enabled for the container"));
                }
                h.RestartPolicy = p.clone();
            }
        }
        let hr = &mut h.Resources;
        if u.Memory != 0 {
            hr.Memory = u.Memory;
            if u.MemorySwap == 0 && hr.MemorySwap > 0 && hr.MemorySwap < u.Memory {
                hr.MemorySwap = u.Memory * 2;
            }
        }
        if u.MemorySwap != 0 {
            hr.MemorySwap = u.MemorySwap;
        }
        if u.MemoryReservation != 0 {
            hr.MemoryReservation = u.MemoryReservation;
        }
        if u.CpuShares != 0 {
            hr.CpuShares = u.CpuShares;
        }
        if u.NanoCpus != 0 {
            hr.NanoCpus = u.NanoCpus;
            hr.CpuPeriod = 0;
            hr.CpuQuota = 0;
        }
        if u.CpuPeriod != 0 {
            hr.CpuPeriod = u.CpuPeriod;
        }
        if u.CpuQuota != 0 {
            hr.CpuQuota = u.CpuQuota;
        }
        if !u.CpusetCpus.is_empty() {
            hr.CpusetCpus = u.CpusetCpus.clone();
        }
        if !u.CpusetMems.is_empty() {
            hr.CpusetMems = u.CpusetMems.clone();
        }
        if u.PidsLimit.is_some() {
            hr.PidsLimit = u.PidsLimit.filter(|p| *p > 0);
        }
        if u.BlkioWeight != 0 {
            hr.BlkioWeight = u.BlkioWeight;
        }
        create::check_restart_policy(h)?;
        let warnings = super::spec::check_resources(h, d.containers.ncpu, true)?;
        if r.state.status.is_alive() {
            let (pid, res) = (r.state.pid, u.clone());
            crate::http::rt::unblock(move || {
                stats::cgroups_of(pid).and_then(|cg| stats::update(&cg, &res))
            })
            .await
            .map_err(|e| e.context(format!("Cannot update container {}", c.id)))?;
        }
        let new_hc = r.host_config.clone();
        c.update(|rec| rec.host_config = new_hc)?;
        d.events.publish(
            "container",
            "update",
            &c.id,
            create::event_attributes(&c.snapshot()),
        );
        Ok(reply::json(200, &UpdateResponse { Warnings: warnings }))
    })
}

/// `GET /containers/{id}/changes` (overlay snapshots: the upper directory against the layers).
pub fn changes<'a>(req: Req<'a>) -> HandlerFuture<'a> {
    Box::pin(async move {
        let d = req.daemon.clone();
        let c = get(&d, req.param("id"))?;
        let id = c.id.clone();
        let out = crate::http::rt::unblock(move || -> Result<Vec<Change>> {
            let (upper, lowers) = snapshot_dirs(&d, &id)
                .ok_or_else(|| Error::unsupported("docker diff needs the overlay snapshotter"))?;
            Ok(diff(&upper, &lowers))
        })
        .await?;
        Ok(reply::json(
            200,
            &if out.is_empty() { None } else { Some(out) },
        ))
    })
}

/// Changes of an overlay upper directory: whiteouts are deletions, paths the layers have are
/// modifications, the rest additions.
pub fn diff(upper: &std::path::Path, lowers: &[std::path::PathBuf]) -> Vec<Change> {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let mut out = Vec::new();
    let mut stack = vec![std::path::PathBuf::new()];
    while let Some(rel) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(upper.join(&rel)) else {
            continue;
        };
        for e in rd.flatten() {
            let r = rel.join(e.file_name());
            let Ok(m) = e.metadata() else { continue };
            let path = format!("/{}", r.display());
            if m.file_type().is_char_device() && m.rdev() == 0 {
                out.push(Change {
                    Path: path,
                    Kind: 2,
                });
                continue;
            }
            let in_lower = lowers
                .iter()
                .any(|l| std::fs::symlink_metadata(l.join(&r)).is_ok());
            out.push(Change {
                Path: path,
                Kind: if in_lower { 0 } else { 1 },
            });
            if m.is_dir() {
                stack.push(r);
            }
        }
    }
    // What the runtime creates as mount points in snapshots made before the image store's
    // init layer existed (newer ones keep them in that layer, so they never show, as in Docker):
    // the /etc files berth binds, and the `--init` binary.
    const INIT_LAYER: &[&str] = &[
        "/etc/hostname",
        "/etc/hosts",
        "/etc/resolv.conf",
        "/sbin/docker-init",
        "/.dockerenv",
        "/dev/console",
        "/etc/mtab",
    ];
    out.retain(|c| !INIT_LAYER.contains(&c.Path.as_str()));
    // A directory listed only because of those goes too.
    let paths: Vec<String> = out.iter().map(|c| c.Path.clone()).collect();
    out.retain(|c| {
        let init_parent = INIT_LAYER
            .iter()
            .any(|p| p.starts_with(&format!("{}/", c.Path)));
        !(c.Kind == 0
            && init_parent
            && !paths.iter().any(|p| p.starts_with(&format!("{}/", c.Path)))
            && std::fs::symlink_metadata(upper.join(c.Path.trim_start_matches('/')))
                .is_ok_and(|m| m.is_dir()))
    });
    out.sort_by(|a, b| a.Path.cmp(&b.Path));
    out
}

/// `GET /containers/{id}/export`: the root file system as a tar stream.
pub fn export<'a>(req: Req<'a>) -> HandlerFuture<'a> {
    Box::pin(async move {
        let d = req.daemon.clone();
        let c = get(&d, req.param("id"))?;
        let _op = c.op.lock().await;
        let (dd, id) = (d.clone(), c.id.clone());
        let was_mounted = lifecycle::is_mountpoint(&d.containers.bundle(&c.id).join("rootfs"));
        let root = crate::http::rt::unblock(move || lifecycle::mount_rootfs(&dd, &id)).await?;
        let (tx, resp) = Response::channel(200, "application/x-tar");
        let (dd, cc) = (d.clone(), c.clone());
        crate::http::rt::spawn_detached(async move {
            let root2 = root.clone();
            let res = crate::http::rt::unblock(move || {
                let w = ChannelWriter {
                    tx,
                    buf: Vec::with_capacity(64 * 1024),
                };
                let mut b = tar::Builder::new(w);
                b.follow_symlinks(false);
                b.append_dir_all(".", &root2)?;
                let mut w = b.into_inner()?;
                std::io::Write::flush(&mut w)
            })
            .await;
            if let Err(e) = res {
                log::warn!("export {}: {e}", cc.id);
            }
            if !was_mounted && !cc.with(|r| r.state.status.is_alive()) {
                let id = cc.id.clone();
                let _ = crate::http::rt::unblock(move || lifecycle::unmount_rootfs(&dd, &id)).await;
            }
        });
        d.events.publish(
            "container",
            "export",
            &c.id,
            create::event_attributes(&c.snapshot()),
        );
        Ok(resp)
    })
}

/// A blocking `Write` that sends 64 KiB chunks into a response channel.
struct ChannelWriter {
    tx: smol::channel::Sender<Vec<u8>>,
    buf: Vec<u8>,
}

impl std::io::Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= 64 * 1024 {
            self.flush()?;
        }
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::take(&mut self.buf);
        self.tx
            .send_blocking(chunk)
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "client went away"))
    }
}

/// `POST /commit?container=&repo=&tag=&comment=&author=&pause=&changes=`: the container's
/// changes as a new image (body: a Config whose fields override the container's).
pub fn commit<'a>(mut req: Req<'a>) -> HandlerFuture<'a> {
    Box::pin(async move {
        let d = req.daemon.clone();
        let body: Option<crate::api::container::Config> = if req.body.is_empty() {
            None
        } else {
            req.json().await?
        };
        let term = req.query.get("container").unwrap_or("").to_string();
        let c = get(&d, &term)?;
        let r = c.snapshot();
        let mut config = body.unwrap_or_default();
        // Docker's merge: what the request leaves empty comes from the container.
        super::spec::merge_image_config(&mut config, &r.config).ok();
        if config.Hostname.is_empty() {
            config.Hostname = r.config.Hostname.clone();
        }
        if config.Image.is_empty() {
            config.Image = r.config.Image.clone();
        }
        let mut oci_cfg: crate::oci::image::ContainerConfig =
            serde_json::from_value(serde_json::to_value(&config)?)?;
        let changes: Vec<String> = req.query.get_all("changes").map(str::to_string).collect();
        crate::image::changes::apply_changes(&mut oci_cfg, &changes)?;
        let repo = req.query.get("repo").unwrap_or("");
        let reference = if repo.is_empty() {
            None
        } else {
            let tag = req
                .query
                .get("tag")
                .filter(|t| !t.is_empty())
                .unwrap_or("latest");
            Some(
                crate::image::reference::Reference::parse(&format!("{repo}:{tag}"))
                    .map_err(|e| e.with_kind(ErrorKind::InvalidArgument))?,
            )
        };
        let parent = crate::oci::image::Digest::parse(&r.image)?;
        let opts = crate::image::commit::CommitOptions {
            parent,
            config: oci_cfg,
            container_id: c.id.clone(),
            author: req.query.get("author").unwrap_or("").to_string(),
            comment: req.query.get("comment").unwrap_or("").to_string(),
            created_by: view::command_line(&r),
            reference,
            exclude: vec![
                "/etc/hostname".into(),
                "/etc/hosts".into(),
                "/etc/resolv.conf".into(),
                "/sbin/docker-init".into(),
            ],
        };
        let pause = req.query.bool_or("pause", true) && r.state.status == Status::Running;
        let _op = c.op.lock().await;
        let rid = d.containers.runtime_id(&c.id);
        if pause {
            d.supervisor.pause(&rid).await?;
        }
        let (dd, id) = (d.clone(), c.id.clone());
        let made = crate::http::rt::unblock(move || {
            let (upper, _) = snapshot_dirs(&dd, &id)
                .ok_or_else(|| Error::unsupported("docker commit needs the overlay snapshotter"))?;
            dd.images.commit_container(&upper, &opts)
        })
        .await;
        if pause {
            let _ = d.supervisor.resume(&rid).await;
        }
        let image = made?;
        let mut attrs = create::event_attributes(&r);
        attrs.insert(
            "comment".into(),
            req.query.get("comment").unwrap_or("").to_string(),
        );
        d.events.publish("container", "commit", &c.id, attrs);
        Ok(reply::json(
            201,
            &serde_json::json!({ "Id": image.as_str() }),
        ))
    })
}

/// `POST /containers/{id}/exec`
pub fn exec_create<'a>(mut req: Req<'a>) -> HandlerFuture<'a> {
    Box::pin(async move {
        let d = req.daemon.clone();
        let cfg: ExecConfig = req.json().await?;
        let c = get(&d, req.param("id"))?;
        let id = exec::create(&d, &c, cfg)?;
        Ok(reply::json(201, &serde_json::json!({ "Id": id })))
    })
}

/// `POST /exec/{id}/start`: hijacked unless detached.
pub fn exec_start<'a>(mut req: Req<'a>) -> HandlerFuture<'a> {
    Box::pin(async move {
        let d = req.daemon.clone();
        let body: ExecStartConfig = if req.body.is_empty() {
            ExecStartConfig::default()
        } else {
            req.json().await?
        };
        let e = d.containers.execs.get(req.param("id"))?;
        let c = get(&d, &e.container_id).map_err(|_| no_such_container(&e.container_id))?;
        if !c.with(|r| r.state.status == Status::Running) {
            return Err(Error::conflict(format!(
                "Container {} is not running",
                c.id
            )));
        }
        let console = if req.version.ge("1.42") {
            body.ConsoleSize
        } else {
            None
        };
        if body.Detach {
            exec::start(d, e, console, None).await?;
            return Ok(Response::empty(200));
        }
        let ct = if !e.config.Tty && req.version.ge("1.42") {
            MULTIPLEXED
        } else {
            RAW
        };
        Ok(Response::upgrade(
            ct,
            Box::new(move |up| {
                Box::pin(async move {
                    if let Err(err) = exec::start(d, e, console, Some(up)).await {
                        log::debug!("exec start: {err}");
                    }
                })
            }),
        ))
    })
}

/// `GET /exec/{id}/json`
pub fn exec_inspect<'a>(req: Req<'a>) -> HandlerFuture<'a> {
    Box::pin(async move {
        let e = req.daemon.containers.execs.get(req.param("id"))?;
        Ok(reply::json(200, &e.inspect()))
    })
}

/// `POST /exec/{id}/resize?h=&w=`
pub fn exec_resize<'a>(req: Req<'a>) -> HandlerFuture<'a> {
    Box::pin(async move {
        let d = req.daemon.clone();
        let e = d.containers.execs.get(req.param("id"))?;
        let (h, w) = size_params(&req)?;
        exec::resize(&d, &e, h, w).await?;
        Ok(Response::empty(200))
    })
}

/// Does an event pass the `/events` filters?
pub fn event_matches(m: &crate::api::container::EventMessage, f: &FilterMap) -> bool {
    let any = |k: &str, pred: &dyn Fn(&str) -> bool| {
        f.get(k)
            .is_none_or(|vals| vals.is_empty() || vals.iter().any(|v| pred(v)))
    };
    let action_base = m.Action.split(':').next().unwrap_or("");
    let name = m
        .Actor
        .Attributes
        .get("name")
        .map(String::as_str)
        .unwrap_or("");
    any("type", &|v| v == m.Type)
        && any("event", &|v| v == m.Action || v == action_base)
        && any("container", &|v| {
            m.Type == "container" && (m.Actor.ID.starts_with(v) || name == v)
        })
        && any("image", &|v| {
            let img = m
                .Actor
                .Attributes
                .get("image")
                .map(String::as_str)
                .unwrap_or("");
            img == v
                || (m.Type == "image"
                    && (m.Actor.ID == v
                        || m.Actor
                            .ID
                            .trim_start_matches("sha256:")
                            .starts_with(v.trim_start_matches("sha256:"))
                        || name == v))
        })
        && f.get("label")
            .is_none_or(|vals| view::match_labels(vals, Some(&m.Actor.Attributes)))
        && any("scope", &|v| v == m.scope)
        && any("network", &|v| {
            m.Type == "network" && m.Actor.ID.starts_with(v)
        })
        && any("volume", &|v| m.Type == "volume" && m.Actor.ID == v)
}

/// `GET /events?since=&until=&filters=`
pub fn events<'a>(req: Req<'a>) -> HandlerFuture<'a> {
    Box::pin(async move {
        let d = req.daemon.clone();
        let filters = parse_filters(req.query.get("filters"))?;
        for k in filters.keys() {
            if ![
                "config",
                "container",
                "daemon",
                "event",
                "image",
                "label",
                "network",
                "node",
                "plugin",
                "scope",
                "secret",
                "service",
                "type",
                "volume",
            ]
            .contains(&k.as_str())
            {
                return Err(Error::invalid(format!("invalid filter '{k}'")));
            }
        }
        let since = stdio::parse_log_time(req.query.get("since").unwrap_or(""))?;
        let until = stdio::parse_log_time(req.query.get("until").unwrap_or(""))?;
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_nanos() as i128)
            .unwrap_or(0);
        if let (Some(s), Some(u)) = (since, until) {
            if s > u {
                return Err(Error::invalid("`since` time is after `until`"));
            }
        }
        let (past, rx) = d.events.subscribe();
        let (tx, resp) = Response::channel(200, "application/json");
        crate::http::rt::spawn_detached(async move {
            use smol::future::FutureExt;
            let send = |m: &crate::api::container::EventMessage| {
                let mut b = serde_json::to_vec(m).unwrap_or_default();
                b.push(b'\n');
                b
            };
            let in_range = |m: &crate::api::container::EventMessage| {
                let t = m.timeNano as i128;
                since.is_none_or(|s| t >= s) && until.is_none_or(|u| t <= u)
            };
            if since.is_some() {
                for m in past
                    .iter()
                    .filter(|m| in_range(m) && event_matches(m, &filters))
                {
                    if tx.send(send(m)).await.is_err() {
                        return;
                    }
                }
            }
            if until.is_some_and(|u| u <= now) {
                return;
            }
            let deadline = until.map(|u| std::time::Duration::from_nanos((u - now).max(0) as u64));
            loop {
                let next = async { rx.recv().await.ok() }.or(async {
                    match deadline {
                        Some(dl) => {
                            smol::Timer::at(
                                std::time::Instant::now()
                                    + dl.saturating_sub(std::time::Duration::ZERO),
                            )
                            .await;
                            None
                        }
                        None => std::future::pending().await,
                    }
                });
                match next.await {
                    Some(m) => {
                        if until.is_some_and(|u| m.timeNano as i128 > u) {
                            return;
                        }
                        if event_matches(&m, &filters) && tx.send(send(&m)).await.is_err() {
                            return;
                        }
                    }
                    None => return,
                }
            }
        });
        Ok(resp)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::container::{EventActor, EventMessage};

    #[test]
    fn filters_both_shapes() {
        let f = parse_filters(Some(
            r#"{"status":{"running":true,"exited":false},"label":["a=b"]}"#,
        ))
        .unwrap();
        assert_eq!(f["status"].iter().collect::<Vec<_>>(), ["running"]);
        assert_eq!(f["label"].iter().collect::<Vec<_>>(), ["a=b"]);
        assert!(parse_filters(Some("nope")).is_err());
        assert!(parse_filters(None).unwrap().is_empty());
    }

    #[test]
    fn event_filters() {
        let m = EventMessage {
            Type: "container".into(),
            Action: "exec_start: sh -c true".into(),
            Actor: EventActor {
                ID: "abcdef".into(),
                Attributes: BTreeMap::from([
                    ("name".to_string(), "web".to_string()),
                    ("image".to_string(), "bb".to_string()),
                ]),
            },
            scope: "local".into(),
            ..Default::default()
        };
        let f = |s: &str| parse_filters(Some(s)).unwrap();
        assert!(event_matches(
            &m,
            &f(r#"{"type":["container"],"event":["exec_start"]}"#)
        ));
        assert!(event_matches(&m, &f(r#"{"container":["web"]}"#)));
        assert!(event_matches(&m, &f(r#"{"container":["abc"]}"#)));
        assert!(event_matches(&m, &f(r#"{"image":["bb"]}"#)));
        assert!(!event_matches(&m, &f(r#"{"type":["image"]}"#)));
        assert!(!event_matches(&m, &f(r#"{"event":["die"]}"#)));
    }

    #[test]
    fn diffs_of_an_upper_dir() {
        let t = std::env::temp_dir().join(format!("berth-diff-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&t);
        std::fs::create_dir_all(t.join("lower/etc")).unwrap();
        std::fs::write(t.join("lower/etc/passwd"), "x").unwrap();
        std::fs::create_dir_all(t.join("upper/etc")).unwrap();
        std::fs::write(t.join("upper/etc/passwd"), "y").unwrap();
        std::fs::write(t.join("upper/new"), "z").unwrap();
        let c = diff(&t.join("upper"), &[t.join("lower")]);
        let got: Vec<(String, u8)> = c.into_iter().map(|c| (c.Path, c.Kind)).collect();
        assert_eq!(
            got,
            [
                ("/etc".to_string(), 0),
                ("/etc/passwd".to_string(), 0),
                ("/new".to_string(), 1)
            ]
        );
        std::fs::remove_dir_all(&t).unwrap();
    }

    #[test]
    fn durations_ago() {
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as i128;
        let t = parse_duration_ago("1h30m").unwrap();
        assert!((now - t - 5_400_000_000_000).abs() < 5_000_000_000);
        assert!(parse_duration_ago("5x").is_none());
    }
}
