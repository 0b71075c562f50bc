//! How a container record is shown: inspect, `/containers/json` entries and their filters.
//! Pure functions of the record (and the time), so the shapes are unit-tested here.

use super::spec::{net_mode, NetMode};
use super::state::{parse_rfc3339, Status};
use super::store::Record;
use crate::api::container::{
    EndpointSettings, GraphDriver, InspectResponse, NetworkSettings, Port, Summary,
    SummaryHostConfig, SummaryNetworkSettings,
};
use crate::api::ApiVersion;
use crate::base::{Error, Result};
use std::collections::{BTreeMap, BTreeSet};
use std::time::SystemTime;

/// The network name a container's endpoint is listed under.
pub fn network_name(mode: &str) -> &str {
    match mode {
        "" | "default" => "bridge",
        m => m,
    }
}

/// The one endpoint berth gives a container today: no address (its namespace has only
/// loopback), the shape dockerd 20.10 shows with `--bridge=none`.
fn endpoints(r: &Record) -> BTreeMap<String, EndpointSettings> {
    BTreeMap::from([(
        network_name(&r.host_config.NetworkMode).to_string(),
        EndpointSettings::default(),
    )])
}

/// Docker's `Command` column: the path and args joined with spaces.
pub fn command_line(r: &Record) -> String {
    let mut parts = vec![r.path.clone()];
    parts.extend(r.args.iter().cloned());
    parts.join(" ")
}

/// `GET /containers/{id}/json`.
pub fn inspect(
    r: &Record,
    graph: GraphDriver,
    exec_ids: &[String],
    version: &ApiVersion,
) -> InspectResponse {
    let mut ns = NetworkSettings {
        SandboxKey: String::new(),
        Ports: Some(BTreeMap::new()),
        Networks: Some(endpoints(r)),
        ..Default::default()
    };
    if r.state.status.is_alive()
        && net_mode(&r.host_config.NetworkMode).ok() != Some(NetMode::Host)
        && r.state.pid > 0
    {
        ns.SandboxKey = format!("/proc/{}/ns/net", r.state.pid);
    }
    let mut out = InspectResponse {
        Id: r.id.clone(),
        Created: r.created.clone(),
        Path: r.path.clone(),
        Args: r.args.clone(),
        State: r.state.to_api(),
        Image: r.image.clone(),
        ResolvConfPath: r.resolv_conf_path.clone(),
        HostnamePath: r.hostname_path.clone(),
        HostsPath: r.hosts_path.clone(),
        LogPath: r.log_path.clone(),
        Name: r.name.clone(),
        RestartCount: r.restart_count,
        Driver: r.driver.clone(),
        Platform: r.platform.clone(),
        MountLabel: String::new(),
        ProcessLabel: String::new(),
        AppArmorProfile: String::new(),
        ExecIDs: if exec_ids.is_empty() {
            None
        } else {
            Some(exec_ids.to_vec())
        },
        HostConfig: r.host_config.clone(),
        GraphDriver: graph,
        SizeRw: None,
        SizeRootFs: None,
        Mounts: r.mount_points.clone(),
        Config: r.config.clone(),
        NetworkSettings: ns,
    };
    out.gate(version);
    out
}

/// One entry of `GET /containers/json`. `image_name`: how the image is shown (the name it
/// was created from, or its ID once that name points elsewhere).
pub fn summary(r: &Record, image_name: &str, now: SystemTime, version: &ApiVersion) -> Summary {
    let created = parse_rfc3339(&r.created).map(|t| t.0).unwrap_or(0);
    let mut ports = Vec::new();
    for (p, _) in r.config.ExposedPorts.iter().flatten() {
        let (num, proto) = p.split_once('/').unwrap_or((p.as_str(), "tcp"));
        if let Ok(n) = num.parse::<u16>() {
            ports.push(Port {
                PrivatePort: n,
                Type: proto.to_string(),
                ..Default::default()
            });
        }
    }
    let mut s = Summary {
        Id: r.id.clone(),
        Names: vec![r.name.clone()],
        Image: image_name.to_string(),
        ImageID: r.image.clone(),
        Command: command_line(r),
        Created: created,
        Ports: ports,
        SizeRw: None,
        SizeRootFs: None,
        Labels: r.config.Labels.clone().unwrap_or_default(),
        State: r.state.status.as_str().to_string(),
        Status: r.state.describe(now),
        HostConfig: SummaryHostConfig {
            NetworkMode: if r.host_config.NetworkMode.is_empty() {
                "default".into()
            } else {
                r.host_config.NetworkMode.clone()
            },
            Annotations: r.host_config.Annotations.clone(),
        },
        NetworkSettings: SummaryNetworkSettings {
            Networks: Some(endpoints(r)),
        },
        Mounts: r.mount_points.clone(),
    };
    s.gate(version);
    s
}

/// Engine API filters as parsed from the `filters` query parameter.
pub type FilterMap = BTreeMap<String, BTreeSet<String>>;

/// The filters `GET /containers/json` accepts.
pub const LIST_FILTERS: &[&str] = &[
    "ancestor",
    "before",
    "expose",
    "exited",
    "health",
    "id",
    "isolation",
    "is-task",
    "label",
    "name",
    "network",
    "publish",
    "since",
    "status",
    "volume",
];

/// Resolves `ancestor` values: does the container's image (ID) descend from this reference?
pub trait Ancestry {
    fn image_matches(&self, reference: &str, image_id: &str) -> bool;
}

/// What the list filters need besides each record: creation order for before/since.
pub struct ListContext<'a> {
    pub all: bool,
    pub filters: &'a FilterMap,
    /// Created time (unix nanos) of the `before`/`since` containers.
    pub before: Option<i128>,
    pub since: Option<i128>,
    pub ancestry: &'a dyn Ancestry,
}

fn created_nanos(r: &Record) -> i128 {
    parse_rfc3339(&r.created)
        .map(|(s, n)| s as i128 * 1_000_000_000 + n as i128)
        .unwrap_or(0)
}

/// Check filter keys and values before matching (Docker's words).
pub fn validate_filters(f: &FilterMap) -> Result<()> {
    for (k, vals) in f {
        if !LIST_FILTERS.contains(&k.as_str()) {
            return Err(Error::invalid(format!("invalid filter '{k}'")));
        }
        for v in vals {
            match k.as_str() {
                "status" if Status::parse(v).is_none() => {
                    return Err(Error::invalid(format!("invalid filter 'status={v}'")));
                }
                "health" if !["starting", "healthy", "unhealthy", "none"].contains(&v.as_str()) => {
                    return Err(Error::invalid(format!("invalid filter 'health={v}'")));
                }
                "exited" if v.parse::<i64>().is_err() => {
                    return Err(Error::invalid(format!("invalid filter 'exited={v}'")));
                }
                "is-task" if !["true", "false", "1", "0"].contains(&v.as_str()) => {
                    return Err(Error::invalid(format!("invalid filter 'is-task={v}'")));
                }
                _ => {}
            }
        }
    }
    Ok(())
}

/// `label=k`, `label=k=v` (every value must match).
pub fn match_labels(values: &BTreeSet<String>, labels: Option<&BTreeMap<String, String>>) -> bool {
    values.iter().all(|v| match v.split_once('=') {
        Some((k, want)) => labels.and_then(|l| l.get(k)).is_some_and(|x| x == want),
        None => labels.is_some_and(|l| l.contains_key(v.as_str())),
    })
}

/// Does `r` pass the list options? (`all`, then each filter; values of one key are ORed,
/// keys are ANDed, as in Docker.)
pub fn matches(r: &Record, cx: &ListContext) -> bool {
    let f = cx.filters;
    let st = r.state.status;
    let any_status = f.contains_key("status") || f.contains_key("exited");
    if !cx.all && !any_status && !st.is_alive() && st != Status::Restarting {
        return false;
    }
    let get = |k: &str| f.get(k).filter(|v| !v.is_empty());
    if let Some(v) = get("id") {
        if !v.iter().any(|p| r.id.starts_with(p.as_str())) {
            return false;
        }
    }
    if let Some(v) = get("name") {
        let bare = r.name.trim_start_matches('/');
        // Docker matches names as regular expressions; berth matches substrings, plus `^`/`$`
        // anchors, which is what the CLI's users write.
        if !v
            .iter()
            .any(|p| name_matches(p, bare) || name_matches(p, &r.name))
        {
            return false;
        }
    }
    if let Some(v) = get("label") {
        if !match_labels(v, r.config.Labels.as_ref()) {
            return false;
        }
    }
    if let Some(v) = get("status") {
        if !v.iter().any(|s| s == st.as_str()) {
            return false;
        }
    }
    if let Some(v) = get("exited") {
        if st != Status::Exited
            || !v
                .iter()
                .any(|c| c.parse::<i64>().ok() == Some(r.state.exit_code))
        {
            return false;
        }
    }
    if let Some(v) = get("health") {
        let h = r
            .state
            .health
            .as_ref()
            .map(|h| h.Status.as_str())
            .unwrap_or("none");
        if !v.iter().any(|x| x == h) {
            return false;
        }
    }
    if let Some(v) = get("ancestor") {
        if !v.iter().any(|a| cx.ancestry.image_matches(a, &r.image)) {
            return false;
        }
    }
    if let Some(v) = get("network") {
        let net = network_name(&r.host_config.NetworkMode);
        if !v.iter().any(|n| n == net) {
            return false;
        }
    }
    if let Some(v) = get("volume") {
        if !v.iter().any(|x| {
            r.mount_points
                .iter()
                .any(|m| &m.Destination == x || &m.Source == x || &m.Name == x)
        }) {
            return false;
        }
    }
    if let Some(v) = get("expose") {
        let ports: Vec<&String> = r
            .config
            .ExposedPorts
            .iter()
            .flat_map(|p| p.keys())
            .collect();
        if !v.iter().any(|x| {
            let want = if x.contains('/') {
                x.clone()
            } else {
                format!("{x}/tcp")
            };
            ports.iter().any(|p| **p == want)
        }) {
            return false;
        }
    }
    if get("publish").is_some() {
        // No published ports until bridge networks exist.
        return false;
    }
    if let Some(v) = get("is-task") {
        if v.iter().any(|x| x == "true" || x == "1") {
            return false;
        }
    }
    let created = created_nanos(r);
    if cx.before.is_some_and(|b| created >= b) {
        return false;
    }
    if cx.since.is_some_and(|s| created <= s) {
        return false;
    }
    true
}

fn name_matches(pattern: &str, name: &str) -> bool {
    let anchored_start = pattern.starts_with('^');
    let anchored_end = pattern.ends_with('$') && !pattern.ends_with("\\$");
    let p = pattern.trim_start_matches('^');
    let p = if anchored_end { &p[..p.len() - 1] } else { p };
    match (anchored_start, anchored_end) {
        (true, true) => name == p,
        (true, false) => name.starts_with(p),
        (false, true) => name.ends_with(p),
        (false, false) => name.contains(p),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::container::{Config, Health, HostConfig};

    struct NoAncestry;
    impl Ancestry for NoAncestry {
        fn image_matches(&self, reference: &str, image_id: &str) -> bool {
            reference == "bb" && image_id == "sha256:bb"
        }
    }

    fn rec(name: &str, status: Status) -> Record {
        let mut r = Record {
            id: format!("{:0<64}", name.len()),
            name: format!("/{name}"),
            created: crate::base::time::now_rfc3339(),
            path: "echo".into(),
            args: vec!["hi".into()],
            image: "sha256:bb".into(),
            config: Config {
                Labels: Some(BTreeMap::from([("a".to_string(), "b".to_string())])),
                ..Default::default()
            },
            host_config: HostConfig {
                NetworkMode: "default".into(),
                ..Default::default()
            },
            ..Default::default()
        };
        r.state.status = status;
        r
    }

    fn f(pairs: &[(&str, &str)]) -> FilterMap {
        let mut m = FilterMap::new();
        for (k, v) in pairs {
            m.entry(k.to_string()).or_default().insert(v.to_string());
        }
        m
    }

    fn check(r: &Record, all: bool, pairs: &[(&str, &str)]) -> bool {
        let fm = f(pairs);
        matches(
            r,
            &ListContext {
                all,
                filters: &fm,
                before: None,
                since: None,
                ancestry: &NoAncestry,
            },
        )
    }

    #[test]
    fn all_and_status() {
        let created = rec("web", Status::Created);
        let running = rec("api", Status::Running);
        assert!(!check(&created, false, &[]));
        assert!(check(&created, true, &[]));
        assert!(check(&running, false, &[]));
        assert!(check(&created, false, &[("status", "created")]));
        assert!(!check(&running, true, &[("status", "exited")]));
    }

    #[test]
    fn names_labels_ids_ancestors() {
        let r = rec("web-1", Status::Running);
        assert!(check(&r, true, &[("name", "web")]));
        assert!(check(&r, true, &[("name", "^web-1$")]));
        assert!(check(&r, true, &[("name", "^/web")]));
        assert!(!check(&r, true, &[("name", "^eb")]));
        assert!(check(&r, true, &[("label", "a=b")]));
        assert!(check(&r, true, &[("label", "a")]));
        assert!(!check(&r, true, &[("label", "a=c")]));
        assert!(check(&r, true, &[("id", &r.id[..5])]));
        assert!(check(&r, true, &[("ancestor", "bb")]));
        assert!(!check(&r, true, &[("ancestor", "other")]));
        assert!(check(&r, true, &[("network", "bridge")]));
        let mut e = rec("x", Status::Exited);
        e.state.exit_code = 3;
        assert!(check(&e, false, &[("exited", "3")]));
        assert!(!check(&e, false, &[("exited", "0")]));
        e.state.health = Some(Health {
            Status: "healthy".into(),
            ..Default::default()
        });
        assert!(check(&e, true, &[("health", "healthy")]));
    }

    #[test]
    fn filter_validation() {
        assert_eq!(
            validate_filters(&f(&[("bogus", "1")]))
                .unwrap_err()
                .to_string(),
            "invalid filter 'bogus'"
        );
        assert_eq!(
            validate_filters(&f(&[("status", "nope")]))
                .unwrap_err()
                .to_string(),
            "invalid filter 'status=nope'"
        );
        assert!(validate_filters(&f(&[("status", "running"), ("label", "x")])).is_ok());
    }

    #[test]
    fn shapes() {
        let r = rec("web", Status::Created);
        let s = summary(&r, "bb:latest", SystemTime::now(), &ApiVersion::max());
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(v["Names"][0], "/web");
        assert_eq!(v["Command"], "echo hi");
        assert_eq!(v["Status"], "Created");
        assert_eq!(v["HostConfig"]["NetworkMode"], "default");
        assert!(v["NetworkSettings"]["Networks"]["bridge"].is_object());
        assert_eq!(v["Ports"], serde_json::json!([]));
        let i = inspect(
            &r,
            GraphDriver {
                Name: "overlay2".into(),
                Data: None,
            },
            &[],
            &ApiVersion::max(),
        );
        let v = serde_json::to_value(&i).unwrap();
        assert_eq!(v["State"]["Status"], "created");
        assert_eq!(v["State"]["StartedAt"], "0001-01-01T00:00:00Z");
        assert_eq!(v["ExecIDs"], serde_json::Value::Null);
        assert_eq!(v["Config"]["Labels"]["a"], "b");
        assert_eq!(v["NetworkSettings"]["Networks"]["bridge"]["IPAddress"], "");
        assert!(v["HostConfig"].get("Memory").is_some());
    }
}
