//! `POST /containers/create`: validate, merge with the image, name, snapshot, record.

use super::spec::{self, net_mode, NetMode};
use super::store::Record;
use super::{names, view};
use crate::api::container::{Config, CreateRequest, CreateResponse, HostConfig};
use crate::api::ApiVersion;
use crate::base::error::Context;
use crate::base::{Error, ErrorKind, Result};
use crate::daemon::Daemon;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Log drivers berth has (`local` is served by the json-file writer and reader).
pub const LOG_DRIVERS: &[&str] = &["json-file", "local", "none"];

/// The event attributes of a container: image, name, and its labels (Docker's).
pub fn event_attributes(r: &Record) -> BTreeMap<String, String> {
    let mut a: BTreeMap<String, String> = r.config.Labels.clone().unwrap_or_default();
    a.insert("image".into(), r.config.Image.clone());
    a.insert("name".into(), r.name.trim_start_matches('/').to_string());
    a
}

/// Daemon defaults written into a new container's HostConfig, as dockerd does (inspect shows
/// them).
pub fn apply_defaults(h: &mut HostConfig, cgroup_v2: bool, log_driver: &str, version: &ApiVersion) {
    if h.NetworkMode.is_empty() {
        h.NetworkMode = "default".into();
    }
    if h.RestartPolicy.Name.is_empty() {
        h.RestartPolicy.Name = "no".into();
    }
    if h.LogConfig.Type.is_empty() {
        h.LogConfig.Type = log_driver.to_string();
    }
    if h.LogConfig.Config.is_none() {
        h.LogConfig.Config = Some(BTreeMap::new());
    }
    if h.IpcMode.is_empty() {
        h.IpcMode = "private".into();
    }
    if h.CgroupnsMode.is_empty() {
        h.CgroupnsMode = if cgroup_v2 { "private" } else { "host" }.into();
    }
    if h.ShmSize == 0 {
        h.ShmSize = spec::DEFAULT_SHM_SIZE;
    }
    if h.Runtime.is_empty() {
        h.Runtime = "runc".into();
    }
    if h.Resources.Memory > 0 && h.Resources.MemorySwap == 0 {
        h.Resources.MemorySwap = h.Resources.Memory * 2;
    }
    if let Some(p) = h.Resources.PidsLimit {
        if p <= 0 {
            h.Resources.PidsLimit = None;
        }
    }
    if h.Resources.MemorySwappiness == Some(-1) {
        h.Resources.MemorySwappiness = None;
    }
    if !h.Privileged {
        if h.MaskedPaths.is_none() {
            h.MaskedPaths = Some(
                spec::DEFAULT_MASKED_PATHS
                    .iter()
                    .map(|s| s.to_string())
                    .collect(),
            );
        }
        if h.ReadonlyPaths.is_none() {
            h.ReadonlyPaths = Some(
                spec::DEFAULT_READONLY_PATHS
                    .iter()
                    .map(|s| s.to_string())
                    .collect(),
            );
        }
    }
    for list in [&mut h.Dns, &mut h.DnsOptions, &mut h.DnsSearch] {
        if list.is_none() {
            *list = Some(Vec::new());
        }
    }
    if version.lt("1.42") {
        h.ConsoleSize = [0, 0];
    }
    if version.lt("1.43") {
        h.Annotations = None;
    }
}

/// Docker's checks of a restart policy.
pub fn check_restart_policy(h: &HostConfig) -> Result<()> {
    let p = &h.RestartPolicy;
    match p.Name.as_str() {
        "" | "no" | "always" | "unless-stopped" => {
            if p.MaximumRetryCount != 0 {
                return Err(Error::invalid("invalid restart policy: maximum retry count can only be used with 'on-failure'"));
            }
        }
        "on-failure" => {
            if p.MaximumRetryCount < 0 {
                return Err(Error::invalid("invalid restart policy: maximum retry count cannot be negative"));
            }
        }
        other => return Err(Error::invalid(format!("invalid restart policy: unknown policy '{other}'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'"))),
    }
    if h.AutoRemove && !p.is_none() {
        return Err(Error::invalid(
            "can't create 'AutoRemove' container with restart policy",
        ));
    }
    Ok(())
}

/// The image's `Config` in the API's shape.
pub fn image_config(img: &crate::image::store::Image) -> Result<Config> {
    match &img.config.config {
        None => Ok(Config::default()),
        Some(c) => serde_json::from_value(serde_json::to_value(c)?)
            .ctx(|| format!("read the config of image {}", img.id)),
    }
}

fn host_hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

/// Create a container (blocking: run it off the executor).
pub fn create(
    d: &Arc<Daemon>,
    name: Option<&str>,
    req: CreateRequest,
    version: &ApiVersion,
) -> Result<CreateResponse> {
    let cs = &d.containers;
    let mut config = req.Config;
    let mut hc = req.HostConfig.unwrap_or_default();
    if config.Image.is_empty() {
        return Err(Error::invalid("No image specified"));
    }
    let mode = net_mode(&hc.NetworkMode)?;
    if let Some(eps) = req
        .NetworkingConfig
        .as_ref()
        .and_then(|n| n.EndpointsConfig.as_ref())
    {
        for k in eps.keys() {
            let ok = matches!(k.as_str(), "default" | "none" | "host")
                || k == view::network_name(&hc.NetworkMode)
                || k == &hc.NetworkMode;
            if !ok {
                net_mode(k)?;
            }
        }
    }
    apply_defaults(&mut hc, cs.host.cgroup_v2, &cs.log_driver, version);
    check_restart_policy(&hc)?;
    let mut warnings = spec::check_resources(&hc, cs.ncpu, false)?;
    if !LOG_DRIVERS.contains(&hc.LogConfig.Type.as_str()) {
        return Err(Error::invalid(format!(
            "logger: no log driver named '{}' is registered",
            hc.LogConfig.Type
        )));
    }
    if hc.LogConfig.Type != "none" {
        let opts = hc.LogConfig.Config.clone().unwrap_or_default();
        crate::supervisor::LogConfig::from_opts(std::path::PathBuf::from("/"), &opts)?;
    }
    let mount_points = spec::mount_points(&hc)?;
    spec::capabilities(&hc)?;
    for b in hc.Binds.iter().flatten() {
        spec::parse_bind(b)?;
    }

    let img = d.images.resolve(&config.Image).map_err(|e| {
        if e.kind() == ErrorKind::NotFound {
            Error::not_found(format!("No such image: {}", config.Image))
        } else {
            e
        }
    })?;
    let image_cfg = image_config(&img)?;
    spec::merge_image_config(&mut config, &image_cfg)?;
    // An unknown user must fail at create as it does in Docker only when it cannot be a
    // number; names are resolved against the rootfs at start.

    let id = crate::base::id::random_hex_id();
    if config.Hostname.is_empty() {
        config.Hostname = if mode == NetMode::Host {
            host_hostname()
        } else {
            id[..12].to_string()
        };
    }
    if mode != NetMode::Host {
        // Docker: a hostname with a dot is split into hostname and domainname.
        if config.Domainname.is_empty() {
            if let Some((h, dom)) = config.Hostname.clone().split_once('.') {
                config.Hostname = h.to_string();
                config.Domainname = dom.to_string();
            }
        }
    }
    // The default network is one berth does not have yet (no bridge): dockerd marks such
    // containers network-disabled, as it does under `--bridge=none`.
    config.NetworkDisabled = mode == NetMode::Private;

    // The name: the one asked for, or a random one that is free.
    let name = match name.filter(|n| !n.is_empty()) {
        Some(n) => {
            let n = names::validate(n)?;
            cs.store.reserve_name(&n, &id)?;
            n
        }
        None => {
            let mut n = String::new();
            for retry in 0..64 {
                let cand = format!("/{}", names::random_name(retry));
                if cs.store.reserve_name(&cand, &id).is_ok() {
                    n = cand;
                    break;
                }
            }
            if n.is_empty() {
                return Err(Error::internal("could not find a free container name"));
            }
            n
        }
    };

    let files = |dir: &std::path::Path| -> Result<Record> {
        let (hostname_path, hosts_path, resolv_path) = (
            dir.join("hostname"),
            dir.join("hosts"),
            dir.join("resolv.conf"),
        );
        std::fs::write(&hostname_path, format!("{}\n", config.Hostname))
            .ctx(|| format!("write {}", hostname_path.display()))?;
        let hosts = if mode == NetMode::Host {
            std::fs::read_to_string("/etc/hosts").unwrap_or_default()
        } else {
            spec::hosts_file(hc.ExtraHosts.as_deref().unwrap_or(&[]))
        };
        std::fs::write(&hosts_path, hosts.as_bytes())
            .ctx(|| format!("write {}", hosts_path.display()))?;
        let host_resolv = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
        let resolv = spec::resolv_conf(
            &host_resolv,
            hc.Dns.as_deref().unwrap_or(&[]),
            hc.DnsSearch.as_deref().unwrap_or(&[]),
            hc.DnsOptions.as_deref().unwrap_or(&[]),
            mode != NetMode::Host,
        );
        std::fs::write(&resolv_path, resolv.as_bytes())
            .ctx(|| format!("write {}", resolv_path.display()))?;
        super::store::save_host_config(dir, &hc)?;
        let (path, args) = spec::entrypoint_and_args(&config);
        Ok(Record {
            id: id.clone(),
            created: crate::base::time::now_rfc3339(),
            name: name.clone(),
            path,
            args,
            config: config.clone(),
            image: img.id.as_str().to_string(),
            driver: crate::image::store::DRIVER_NAME.to_string(),
            log_path: if hc.LogConfig.Type == "none" {
                String::new()
            } else {
                dir.join(format!("{id}-json.log")).display().to_string()
            },
            resolv_conf_path: resolv_path.display().to_string(),
            hostname_path: hostname_path.display().to_string(),
            hosts_path: hosts_path.display().to_string(),
            mount_points: mount_points.clone(),
            host_config: hc.clone(),
            ..Default::default()
        })
    };
    let made = (|| -> Result<Record> {
        let dir = cs.store.root.join(&id);
        crate::base::fs::mkdir_all(&dir, 0o710)?;
        // The snapshot and the record's first files are written (and synced) side by side;
        // config.v2.json, which commits the record, is written after both (store.insert).
        let (snap, rest) = std::thread::scope(|s| {
            let snap = s.spawn(|| d.images.prepare_snapshot(&id, img.id.as_str(), false));
            let rest = files(&dir);
            (snap.join(), rest)
        });
        snap.map_err(|_| Error::internal("preparing the snapshot panicked"))?
            .map_err(|e| e.context("prepare the container's root file system"))?;
        rest
    })();
    let record = match made {
        Ok(r) => r,
        Err(e) => {
            cs.store.release_name(&name);
            let _ = d.images.remove_snapshot(&id);
            let _ = std::fs::remove_dir_all(cs.store.root.join(&id));
            return Err(e);
        }
    };
    let attrs = event_attributes(&record);
    if let Err(e) = cs.store.insert(record) {
        cs.store.release_name(&name);
        let _ = d.images.remove_snapshot(&id);
        let _ = std::fs::remove_dir_all(cs.store.root.join(&id));
        return Err(e);
    }
    d.events.publish("container", "create", &id, attrs);
    if hc.Resources.KernelMemory > 0 && version.lt("1.42") {
        warnings.push("Your kernel does not support kernel memory limit capabilities or the cgroup is not mounted. Limitation discarded.".into());
    }
    Ok(CreateResponse {
        Id: id,
        Warnings: warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::container::RestartPolicy;

    #[test]
    fn defaults_as_dockerd_fills_them() {
        let mut h = HostConfig::default();
        h.Resources.Memory = 64 << 20;
        h.Resources.MemorySwappiness = Some(-1);
        h.Resources.PidsLimit = Some(0);
        apply_defaults(&mut h, false, "json-file", &ApiVersion::max());
        assert_eq!(h.NetworkMode, "default");
        assert_eq!(h.RestartPolicy.Name, "no");
        assert_eq!(h.LogConfig.Type, "json-file");
        assert_eq!(
            (
                h.IpcMode.as_str(),
                h.CgroupnsMode.as_str(),
                h.Runtime.as_str()
            ),
            ("private", "host", "runc")
        );
        assert_eq!(h.ShmSize, 64 << 20);
        assert_eq!(h.Resources.MemorySwap, 128 << 20);
        assert_eq!(
            (h.Resources.MemorySwappiness, h.Resources.PidsLimit),
            (None, None)
        );
        assert_eq!(
            h.MaskedPaths.as_ref().unwrap().len(),
            spec::DEFAULT_MASKED_PATHS.len()
        );
        assert_eq!(h.Dns, Some(vec![]));
    }

    #[test]
    fn restart_policies() {
        let mut h = HostConfig {
            RestartPolicy: RestartPolicy {
                Name: "always".into(),
                MaximumRetryCount: 2,
            },
            ..Default::default()
        };
        assert!(check_restart_policy(&h)
            .unwrap_err()
            .to_string()
            .contains("can only be used with 'on-failure'"));
        h.RestartPolicy = RestartPolicy {
            Name: "on-failure".into(),
            MaximumRetryCount: 3,
        };
        assert!(check_restart_policy(&h).is_ok());
        h.AutoRemove = true;
        assert_eq!(
            check_restart_policy(&h).unwrap_err().to_string(),
            "can't create 'AutoRemove' container with restart policy"
        );
        h.RestartPolicy = RestartPolicy {
            Name: "sometimes".into(),
            MaximumRetryCount: 0,
        };
        assert!(check_restart_policy(&h)
            .unwrap_err()
            .to_string()
            .contains("unknown policy 'sometimes'"));
    }
}
