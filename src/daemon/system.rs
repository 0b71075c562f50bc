//! System endpoints: `/_ping`, `/version`, `/info`.

use super::{host, reply, Daemon, HandlerFuture, Req, GIT_COMMIT, SERVER_VERSION};
use crate::api::types::{
    Commit, ComponentVersion, ContainerdInfo, ContainerdNamespaces, IndexInfo, Info, Platform,
    PluginsInfo, RegistryConfig, Runtime, SwarmInfo, Version,
};
use crate::api::{ApiVersion, MAX_API_VERSION, MIN_API_VERSION};
use crate::http::Response;
use std::collections::BTreeMap;

/// `GET /_ping` → `OK`; `HEAD /_ping` → empty. The CLI reads `Api-Version` from here to
/// negotiate, and `Builder-Version` to choose a builder (1: the classic `POST /build`).
pub fn ping<'a>(req: Req<'a>) -> HandlerFuture<'a> {
    Box::pin(async move {
        let resp = if req.method == "HEAD" {
            Response::bytes(200, "text/plain; charset=utf-8", Vec::new())
                .with_header("Content-Length", "0")
        } else {
            Response::text(200, "OK")
        };
        Ok(resp
            .with_header("Cache-Control", "no-cache, no-store, must-revalidate")
            .with_header("Pragma", "no-cache")
            .with_header("Builder-Version", "1")
            .with_header("Swarm", "inactive"))
    })
}

pub fn version<'a>(req: Req<'a>) -> HandlerFuture<'a> {
    Box::pin(async move { Ok(reply::json(200, &version_of(&req.daemon))) })
}

pub fn info<'a>(req: Req<'a>) -> HandlerFuture<'a> {
    Box::pin(async move {
        let daemon = req.daemon.clone();
        let version = req.version.clone();
        // Reading /proc and /sys is quick but blocking: keep it off the executor threads.
        let info = crate::http::rt::unblock(move || info_of(&daemon, &version)).await;
        Ok(reply::json(200, &info))
    })
}

/// The role versions of berth's own components (all one binary).
fn component(name: &str) -> ComponentVersion {
    ComponentVersion {
        Name: name.to_string(),
        Version: SERVER_VERSION.to_string(),
        Details: BTreeMap::from([("GitCommit".to_string(), GIT_COMMIT.to_string())]),
    }
}

pub fn version_of(d: &Daemon) -> Version {
    let kernel = host::kernel_version();
    let experimental = d.config.experimental;
    let engine = ComponentVersion {
        Name: "Engine".into(),
        Version: SERVER_VERSION.into(),
        Details: BTreeMap::from([
            ("ApiVersion".to_string(), MAX_API_VERSION.to_string()),
            ("Arch".to_string(), host::go_arch().to_string()),
            ("BuildTime".to_string(), String::new()),
            ("Experimental".to_string(), experimental.to_string()),
            ("GitCommit".to_string(), GIT_COMMIT.to_string()),
            ("GoVersion".to_string(), "rust".to_string()),
            ("KernelVersion".to_string(), kernel.clone()),
            ("MinAPIVersion".to_string(), MIN_API_VERSION.to_string()),
            ("Os".to_string(), "linux".to_string()),
        ]),
    };
    Version {
        Platform: Platform {
            Name: "berth".into(),
        },
        Components: vec![
            engine,
            component("containerd"),
            component("runc"),
            component("docker-init"),
        ],
        Version: SERVER_VERSION.into(),
        ApiVersion: MAX_API_VERSION.into(),
        MinAPIVersion: MIN_API_VERSION.into(),
        GitCommit: GIT_COMMIT.into(),
        GoVersion: "rust".into(),
        Os: "linux".into(),
        Arch: host::go_arch().into(),
        KernelVersion: kernel,
        Experimental: experimental,
        BuildTime: String::new(),
    }
}

fn env_either(upper: &str) -> String {
    std::env::var(upper)
        .or_else(|_| std::env::var(upper.to_ascii_lowercase()))
        .unwrap_or_default()
}

/// Insecure registries split as dockerd does: CIDRs go to InsecureRegistryCIDRs, names to
/// IndexConfigs (marked not secure). Loopback is always insecure.
fn registry_config(d: &Daemon, version: &ApiVersion) -> RegistryConfig {
    let mut cidrs = vec!["::1/128".to_string(), "127.0.0.0/8".to_string()];
    let mut index = BTreeMap::new();
    index.insert(
        "docker.io".to_string(),
        IndexInfo {
            Name: "docker.io".into(),
            Mirrors: d.config.registry_mirrors.clone(),
            Secure: true,
            Official: true,
        },
    );
    for r in &d.config.insecure_registries {
        if r.contains('/') && r.split('/').nth(1).is_some_and(|p| p.parse::<u8>().is_ok()) {
            if !cidrs.contains(r) {
                cidrs.push(r.clone());
            }
        } else {
            let name = r
                .trim_start_matches("http://")
                .trim_start_matches("https://")
                .to_string();
            index.insert(
                name.clone(),
                IndexInfo {
                    Name: name,
                    Mirrors: vec![],
                    Secure: false,
                    Official: false,
                },
            );
        }
    }
    let legacy = version.lt("1.47").then_some(None);
    RegistryConfig {
        AllowNondistributableArtifactsCIDRs: legacy.clone(),
        AllowNondistributableArtifactsHostnames: legacy,
        InsecureRegistryCIDRs: cidrs,
        IndexConfigs: index,
        Mirrors: d.config.registry_mirrors.clone(),
    }
}

pub fn info_of(d: &Daemon, version: &ApiVersion) -> Info {
    let cg = host::cgroups();
    let (os, os_version) = host::os_release();
    let cfg = &d.config;
    let counts = super::containers::handlers::counts(d);
    let commit = |id: &str| Commit {
        ID: id.to_string(),
        Expected: version.lt("1.49").then(|| id.to_string()),
    };
    let mut runtimes = BTreeMap::from([(
        "runc".to_string(),
        Runtime {
            path: "runc".into(),
            runtimeArgs: vec![],
        },
    )]);
    for (name, r) in &cfg.runtimes {
        runtimes.insert(
            name.clone(),
            Runtime {
                path: r.path.clone(),
                runtimeArgs: r.runtime_args.clone(),
            },
        );
    }
    let ipv4_forwarding = host::ipv4_forwarding();
    let mut warnings = Vec::new();
    for (ok, what) in [
        (cg.memory, "WARNING: No memory limit support"),
        (cg.swap, "WARNING: No swap limit support"),
        (
            cg.oom_kill_disable || cg.version == "2",
            "WARNING: No oom kill disable support",
        ),
        (cg.cpu_cfs_quota, "WARNING: No cpu cfs quota support"),
        (cg.cpu_cfs_period, "WARNING: No cpu cfs period support"),
        (cg.cpu_shares, "WARNING: No cpu shares support"),
        (cg.cpuset, "WARNING: No cpuset support"),
        (ipv4_forwarding, "WARNING: IPv4 forwarding is disabled"),
    ] {
        if !ok {
            warnings.push(what.to_string());
        }
    }
    let data_root = d.roots.data.clone();
    Info {
        ID: d.roots.engine_id.clone(),
        // Counts come from the container and image stores once they exist.
        Containers: counts.0,
        ContainersRunning: counts.1,
        ContainersPaused: counts.2,
        ContainersStopped: counts.3,
        Images: d.images.image_count() as i64,
        Driver: cfg.storage_driver().to_string(),
        DriverStatus: if cfg.storage_driver() == "overlay2" {
            vec![
                [
                    "Backing Filesystem".to_string(),
                    host::backing_fs(&data_root),
                ],
                ["Supports d_type".to_string(), "true".to_string()],
                ["Using metacopy".to_string(), "false".to_string()],
                ["Native Overlay Diff".to_string(), "true".to_string()],
                ["userxattr".to_string(), "false".to_string()],
            ]
        } else {
            Vec::new()
        },
        Plugins: PluginsInfo {
            Volume: vec!["local".into()],
            Network: vec!["bridge".into(), "host".into(), "null".into()],
            Authorization: None,
            Log: vec!["json-file".into()],
        },
        MemoryLimit: cg.memory,
        SwapLimit: cg.swap,
        KernelMemoryTCP: cg.kernel_memory_tcp,
        CpuCfsPeriod: cg.cpu_cfs_period,
        CpuCfsQuota: cg.cpu_cfs_quota,
        CPUShares: cg.cpu_shares,
        CPUSet: cg.cpuset,
        PidsLimit: cg.pids,
        IPv4Forwarding: ipv4_forwarding,
        BridgeNfIptables: version.lt("1.50").then_some(false),
        BridgeNfIp6tables: version.lt("1.50").then_some(false),
        Debug: cfg.debug,
        NFd: host::open_fds(),
        OomKillDisable: cg.oom_kill_disable,
        NGoroutines: host::threads(),
        SystemTime: crate::base::time::now_rfc3339(),
        LoggingDriver: cfg.log_driver().to_string(),
        CgroupDriver: cfg.cgroup_driver().to_string(),
        CgroupVersion: cg.version.to_string(),
        NEventsListener: d.events.listeners() as i64,
        KernelVersion: host::kernel_version(),
        OperatingSystem: os,
        OSVersion: os_version,
        OSType: "linux".into(),
        Architecture: host::architecture().into(),
        IndexServerAddress: "https://index.docker.io/v1/".into(),
        RegistryConfig: Some(registry_config(d, version)),
        NCPU: host::ncpu(),
        MemTotal: host::mem_total(),
        GenericResources: None,
        DockerRootDir: data_root.display().to_string(),
        HttpProxy: env_either("HTTP_PROXY"),
        HttpsProxy: env_either("HTTPS_PROXY"),
        NoProxy: env_either("NO_PROXY"),
        Name: host::hostname(),
        Labels: cfg.labels.clone(),
        ExperimentalBuild: cfg.experimental,
        ServerVersion: SERVER_VERSION.into(),
        Runtimes: runtimes,
        DefaultRuntime: cfg.default_runtime().to_string(),
        Swarm: SwarmInfo {
            LocalNodeState: "inactive".into(),
            ..Default::default()
        },
        LiveRestoreEnabled: cfg.live_restore,
        Isolation: String::new(),
        InitBinary: "docker-init".into(),
        ContainerdCommit: commit(GIT_COMMIT),
        RuncCommit: commit(GIT_COMMIT),
        InitCommit: commit(GIT_COMMIT),
        SecurityOptions: {
            let profile = match cfg.seccomp_profile.as_deref() {
                None | Some("") => "builtin",
                Some(p) => p,
            };
            let mut o = vec![format!("name=seccomp,profile={profile}")];
            if d.containers.host.cgroup_v2 {
                o.push("name=cgroupns".to_string());
            }
            o
        },
        DefaultAddressPools: Vec::new(),
        FirewallBackend: None,
        CDISpecDirs: Vec::new(),
        Containerd: match &cfg.containerd {
            Some(addr) if version.ge("1.46") => Some(ContainerdInfo {
                Address: addr.clone(),
                Namespaces: ContainerdNamespaces {
                    Containers: "moby".into(),
                    Plugins: "plugins.moby".into(),
                },
            }),
            _ => None,
        },
        Warnings: Some(warnings),
    }
}
