//! Docker container configuration → OCI runtime spec, as a pure function.
//!
//! [`build`] takes the container's merged [`Config`] and [`HostConfig`], the user already resolved
//! against the container's /etc/passwd ([`super::user`]) and a few facts about the host and the
//! container's files ([`Inputs`]), and returns the `config.json` the runtime gets. Nothing here
//! touches the file system, so every rule has a unit test below. Docker's defaults, as dockerd
//! 20.10–28 writes them (checked against a bundle written by the real dockerd on this machine):
//!
//! - namespaces mount, network, uts, pid, ipc (+ cgroup when private: the default on cgroup v2);
//!   `--network host`, `--pid host`, `--ipc host`, `--uts host` drop theirs;
//! - mounts /proc, /dev (tmpfs), /dev/pts, /sys (ro), /sys/fs/cgroup (ro), /dev/mqueue, /dev/shm
//!   (64 MiB tmpfs), then `--init`, binds, tmpfs, and /etc/{resolv.conf,hostname,hosts};
//! - the 14 default capabilities, in the bounding set for everyone and in the effective and
//!   permitted sets only for root (Docker stopped granting them to non-root users);
//! - masked and read-only /proc and /sys paths, the default device cgroup rules;
//! - for a private network namespace, the two sysctls Docker sets
//!   (`ip_unprivileged_port_start`, `ping_group_range`);
//! - cgroups under `/docker/<id>` (cgroupfs driver).
//!
//! - seccomp: the daemon's profile (berth's built-in one, see [`super::seccomp`], unless
//!   `dockerd --seccomp-profile` names another or `unconfined`), or the container's
//!   `--security-opt seccomp=PROFILE|unconfined`; none for `--privileged`.
//!
//! Not yet: AppArmor/SELinux labels, `--device`, named volumes, and bridge networks (their modes are refused with a message
//! saying they come later).

use super::user::ExecUser;
use crate::api::container::{Config, HostConfig, Mount as ApiMount, MountPoint};
use crate::base::{Error, Result};
use crate::oci::runtime::{
    Capabilities, ConsoleSize, Cpu, DeviceCgroup, Linux, Memory, Mount, Namespace, Pids, Process,
    Resources, Rlimit, Root, Spec, User,
};
use std::collections::BTreeMap;
use std::path::PathBuf;

pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
/// Where `--init` puts the init process, as Docker does.
pub const INIT_PATH: &str = "/sbin/docker-init";
/// Docker's default /dev/shm size.
pub const DEFAULT_SHM_SIZE: i64 = 64 * 1024 * 1024;
/// The CFS period Docker uses for `--cpus`.
pub const CPU_PERIOD: i64 = 100_000;

/// Docker's default capabilities (moby `oci/caps/defaults.go`).
pub const DEFAULT_CAPS: &[&str] = &[
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
];

/// Every capability Linux defines (numbers 0..=40), for `--privileged` and `--cap-add ALL`.
pub const ALL_CAPS: &[&str] = crate::oci::runtime::CAPABILITY_NAMES;

pub const DEFAULT_MASKED_PATHS: &[&str] = &[
    "/proc/asound",
    "/proc/acpi",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
];

pub const DEFAULT_READONLY_PATHS: &[&str] = &[
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
];

/// Facts about the host the spec depends on.
#[derive(Debug, Clone)]
pub struct Host {
    pub cgroup_v2: bool,
    /// The parent cgroup for containers without `--cgroup-parent`.
    pub cgroup_parent: String,
    /// berth's own binary, bind-mounted read-only as `/sbin/docker-init` for `--init`.
    pub init_binary: PathBuf,
    /// The daemon's `--init` default.
    pub init_default: bool,
    /// The seccomp profile of containers that do not bring their own (None: `dockerd
    /// --seccomp-profile unconfined`).
    pub seccomp: Option<std::sync::Arc<super::seccomp::Profile>>,
}

/// What [`build`] needs besides the configuration.
#[derive(Debug, Clone)]
pub struct Inputs<'a> {
    pub id: &'a str,
    pub config: &'a Config,
    pub host_config: &'a HostConfig,
    pub user: &'a ExecUser,
    /// `root.path` (the bundle's `rootfs`, or an absolute path).
    pub rootfs: String,
    /// Files the daemon wrote for this container, bind-mounted at /etc/… unless the user mounts
    /// something there.
    pub hostname_path: Option<PathBuf>,
    pub hosts_path: Option<PathBuf>,
    pub resolv_conf_path: Option<PathBuf>,
    pub host: &'a Host,
}

/// How the container is networked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetMode {
    /// Its own network namespace with only loopback (`none`, and the default until bridge
    /// networks exist).
    Private,
    None,
    Host,
}

/// Docker's NetworkMode as berth supports it today.
pub fn net_mode(mode: &str) -> Result<NetMode> {
    match mode {
        "" | "default" => Ok(NetMode::Private),
        "none" => Ok(NetMode::None),
        "host" => Ok(NetMode::Host),
        other => {
            let what = if other.starts_with("container:") {
                "joining another container's network"
            } else {
                "bridge and user-defined networks"
            };
            Err(Error::unsupported(format!(
                "network mode {other:?} is not supported yet: berth does not provide {what} yet (they come later); use --network none, --network host, or leave the default (a private network namespace with loopback only)"
            )))
        }
    }
}

fn namespace_mode(what: &str, mode: &str) -> Result<bool> {
    // true: the container gets its own namespace.
    match mode {
        "" | "private" | "shareable" | "none" => Ok(true),
        "host" => Ok(false),
        other => Err(Error::unsupported(format!("{what} mode {other:?} is not supported yet: only the default, \"private\" and \"host\" are"))),
    }
}

/// `SIGTERM`, `TERM`, `15` → 15 (Docker's `signal.ParseSignal`).
pub fn parse_signal(s: &str) -> Result<i32> {
    let t = s.trim();
    if let Ok(n) = t.parse::<i32>() {
        if n <= 0 || n > 64 {
            return Err(Error::invalid(format!("Invalid signal: {s}")));
        }
        return Ok(n);
    }
    let up = t.to_ascii_uppercase();
    let name = up.strip_prefix("SIG").unwrap_or(&up);
    const NAMES: &[(&str, i32)] = &[
        ("HUP", 1),
        ("INT", 2),
        ("QUIT", 3),
        ("ILL", 4),
        ("TRAP", 5),
        ("ABRT", 6),
        ("IOT", 6),
        ("BUS", 7),
        ("FPE", 8),
        ("KILL", 9),
        ("USR1", 10),
        ("SEGV", 11),
        ("USR2", 12),
        ("PIPE", 13),
        ("ALRM", 14),
        ("TERM", 15),
        ("STKFLT", 16),
        ("CHLD", 17),
        ("CONT", 18),
        ("STOP", 19),
        ("TSTP", 20),
        ("TTIN", 21),
        ("TTOU", 22),
        ("URG", 23),
        ("XCPU", 24),
        ("XFSZ", 25),
        ("VTALRM", 26),
        ("PROF", 27),
        ("WINCH", 28),
        ("IO", 29),
        ("POLL", 29),
        ("PWR", 30),
        ("SYS", 31),
        ("RTMIN", 34),
        ("RTMAX", 64),
    ];
    if let Some(rest) = name.strip_prefix("RTMIN+") {
        if let Ok(n) = rest.parse::<i32>() {
            if 34 + n <= 64 {
                return Ok(34 + n);
            }
        }
    }
    if let Some(rest) = name.strip_prefix("RTMAX-") {
        if let Ok(n) = rest.parse::<i32>() {
            if 64 - n >= 34 {
                return Ok(64 - n);
            }
        }
    }
    NAMES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, v)| *v)
        .ok_or_else(|| Error::invalid(format!("Invalid signal: {s}")))
}

/// The process the container runs: `(path, args)` from Entrypoint + Cmd (Docker's
/// `getEntrypointAndArgs`). The config must have been merged and checked (`no command specified`).
pub fn entrypoint_and_args(c: &Config) -> (String, Vec<String>) {
    let ep = c.Entrypoint.clone().unwrap_or_default();
    let cmd = c.Cmd.clone().unwrap_or_default();
    let mut all: Vec<String> = ep.into_iter().chain(cmd).collect();
    if all.is_empty() {
        return (String::new(), Vec::new());
    }
    let path = all.remove(0);
    (path, all)
}

/// Merge an image's config into a container's (Docker's `merge`), then Docker's checks.
pub fn merge_image_config(c: &mut Config, image: &Config) -> Result<()> {
    if c.User.is_empty() {
        c.User = image.User.clone();
    }
    match (&mut c.ExposedPorts, &image.ExposedPorts) {
        (Some(mine), Some(theirs)) if !mine.is_empty() => {
            for (k, v) in theirs {
                mine.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
        (mine, theirs) => *mine = theirs.clone(),
    }
    if c.Env.as_ref().is_none_or(|e| e.is_empty()) {
        c.Env = image.Env.clone();
    } else if let (Some(mine), Some(theirs)) = (c.Env.as_mut(), image.Env.as_ref()) {
        for e in theirs {
            let key = e.split('=').next().unwrap_or("");
            if !mine
                .iter()
                .any(|m| m.split('=').next().unwrap_or("") == key)
            {
                mine.push(e.clone());
            }
        }
    }
    let labels = c.Labels.get_or_insert_with(BTreeMap::new);
    for (k, v) in image.Labels.iter().flatten() {
        labels.entry(k.clone()).or_insert_with(|| v.clone());
    }
    if c.Entrypoint.as_ref().is_none_or(|e| e.is_empty()) {
        if c.Cmd.as_ref().is_none_or(|e| e.is_empty()) {
            c.Cmd = image.Cmd.clone();
        }
        if c.Entrypoint.is_none() {
            c.Entrypoint = image.Entrypoint.clone();
        }
    }
    if let Some(ih) = &image.Healthcheck {
        match c.Healthcheck.as_mut() {
            None => c.Healthcheck = Some(ih.clone()),
            Some(h) => {
                if h.Test.as_ref().is_none_or(|t| t.is_empty()) {
                    h.Test = ih.Test.clone();
                }
                for (mine, theirs) in [
                    (&mut h.Interval, ih.Interval),
                    (&mut h.Timeout, ih.Timeout),
                    (&mut h.StartPeriod, ih.StartPeriod),
                    (&mut h.StartInterval, ih.StartInterval),
                    (&mut h.Retries, ih.Retries),
                ] {
                    if *mine == 0 {
                        *mine = theirs;
                    }
                }
            }
        }
    }
    if c.WorkingDir.is_empty() {
        c.WorkingDir = image.WorkingDir.clone();
    }
    match (&mut c.Volumes, &image.Volumes) {
        (Some(mine), Some(theirs)) if !mine.is_empty() => {
            for (k, v) in theirs {
                mine.insert(k.clone(), v.clone());
            }
        }
        (mine, theirs) => *mine = theirs.clone(),
    }
    if c.StopSignal.is_empty() {
        c.StopSignal = image.StopSignal.clone();
    }
    if c.Entrypoint.as_deref() == Some(&[String::new()][..]) {
        c.Entrypoint = None;
    }
    if c.Entrypoint.as_ref().is_none_or(|e| e.is_empty())
        && c.Cmd.as_ref().is_none_or(|e| e.is_empty())
    {
        return Err(Error::invalid("no command specified"));
    }
    Ok(())
}

/// One `-v` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bind {
    pub source: String,
    pub destination: String,
    pub read_only: bool,
    /// `rprivate` unless given.
    pub propagation: String,
    /// The mode string as the user gave it (inspect's `Mode`).
    pub mode: String,
}

const PROPAGATIONS: &[&str] = &[
    "shared", "slave", "private", "rshared", "rslave", "rprivate",
];

fn clean_container_path(p: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    for part in p.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            x => out.push(x),
        }
    }
    format!("/{}", out.join("/"))
}

/// Parse `/host:/container[:opts]` (Docker's linux parser). Named volumes are not supported yet.
pub fn parse_bind(spec: &str) -> Result<Bind> {
    let bad = || Error::invalid(format!("invalid volume specification: '{spec}'"));
    let parts: Vec<&str> = spec.split(':').collect();
    let (src, dst, mode) = match parts.as_slice() {
        [d] => ("", *d, ""),
        [s, d] => (*s, *d, ""),
        [s, d, m] => (*s, *d, *m),
        _ => return Err(bad()),
    };
    if dst.is_empty() {
        return Err(bad());
    }
    if !dst.starts_with('/') {
        return Err(Error::invalid(format!("invalid mount config for type \"bind\": invalid mount path: '{dst}' mount path must be absolute")));
    }
    if dst == "/" || clean_container_path(dst) == "/" {
        return Err(Error::invalid(
            "invalid specification: destination can't be '/'",
        ));
    }
    if src.is_empty() {
        return Err(Error::unsupported(format!("anonymous volumes are not supported yet ({spec}): volumes come later; bind-mount a host directory instead")));
    }
    if !src.starts_with('/') {
        return Err(Error::unsupported(format!("named volume {src:?} is not supported yet: volumes come later; bind-mount a host directory instead")));
    }
    let mut read_only = false;
    let mut propagation = String::new();
    if !mode.is_empty() {
        for o in mode.split(',') {
            match o {
                "ro" => read_only = true,
                "rw" => read_only = false,
                "z" | "Z" | "nocopy" | "consistent" | "cached" | "delegated" => {}
                p if PROPAGATIONS.contains(&p) => {
                    if !propagation.is_empty() {
                        return Err(Error::invalid(format!("invalid mode: {mode}")));
                    }
                    propagation = p.to_string();
                }
                _ => return Err(Error::invalid(format!("invalid mode: {mode}"))),
            }
        }
    }
    Ok(Bind {
        source: clean_container_path(src),
        destination: clean_container_path(dst),
        read_only,
        propagation: if propagation.is_empty() {
            "rprivate".into()
        } else {
            propagation
        },
        mode: mode.to_string(),
    })
}

/// Docker's `tmpfs` option merge: defaults `noexec,nosuid,nodev`, the user's options override
/// their opposites.
pub fn tmpfs_options(user: &str) -> Vec<String> {
    let mut opts: Vec<String> = vec!["noexec".into(), "nosuid".into(), "nodev".into()];
    for o in user.split(',').map(str::trim).filter(|o| !o.is_empty()) {
        let opposite = match o {
            "exec" => Some("noexec"),
            "noexec" => Some("exec"),
            "suid" => Some("nosuid"),
            "nosuid" => Some("suid"),
            "dev" => Some("nodev"),
            "nodev" => Some("dev"),
            _ => None,
        };
        if let Some(opp) = opposite {
            opts.retain(|x| x != opp);
        }
        let key = o.split('=').next().unwrap_or(o);
        if o.contains('=') {
            opts.retain(|x| x.split('=').next() != Some(key));
        }
        if !opts.iter().any(|x| x == o) {
            opts.push(o.to_string());
        }
    }
    opts
}

/// The mount points inspect and ps show: binds and `--mount` entries (not `--tmpfs`).
pub fn mount_points(h: &HostConfig) -> Result<Vec<MountPoint>> {
    let mut out = Vec::new();
    for b in h.Binds.iter().flatten() {
        let b = parse_bind(b)?;
        out.push(MountPoint {
            Type: "bind".into(),
            Source: b.source,
            Destination: b.destination,
            Mode: b.mode,
            RW: !b.read_only,
            Propagation: b.propagation,
            ..Default::default()
        });
    }
    for m in h.Mounts.iter().flatten() {
        match m.Type.as_str() {
            "bind" => out.push(MountPoint {
                Type: "bind".into(),
                Source: m.Source.clone(),
                Destination: clean_container_path(&m.Target),
                Mode: String::new(),
                RW: !m.ReadOnly,
                Propagation: m
                    .BindOptions
                    .as_ref()
                    .map(|b| b.Propagation.clone())
                    .filter(|p| !p.is_empty())
                    .unwrap_or_else(|| "rprivate".into()),
                ..Default::default()
            }),
            "tmpfs" => out.push(MountPoint {
                Type: "tmpfs".into(),
                Destination: clean_container_path(&m.Target),
                RW: !m.ReadOnly,
                ..Default::default()
            }),
            _ => {}
        }
    }
    out.sort_by(|a, b| a.Destination.cmp(&b.Destination));
    Ok(out)
}

fn check_mount(m: &ApiMount) -> Result<()> {
    let ty = m.Type.as_str();
    if m.Target.is_empty() {
        return Err(Error::invalid(format!(
            "invalid mount config for type \"{ty}\": field Target must not be empty"
        )));
    }
    if !m.Target.starts_with('/') {
        return Err(Error::invalid(format!("invalid mount config for type \"{ty}\": invalid mount path: '{}' mount path must be absolute", m.Target)));
    }
    match ty {
        "bind" => {
            if m.Source.is_empty() {
                return Err(Error::invalid("invalid mount config for type \"bind\": field Source must not be empty"));
            }
            if !m.Source.starts_with('/') {
                return Err(Error::invalid(format!("invalid mount config for type \"bind\": invalid mount path: '{}' mount path must be absolute", m.Source)));
            }
            Ok(())
        }
        "tmpfs" => {
            if !m.Source.is_empty() {
                return Err(Error::invalid("invalid mount config for type \"tmpfs\": field Source must not be specified"));
            }
            Ok(())
        }
        "volume" | "image" | "npipe" | "cluster" => Err(Error::unsupported(format!("mounts of type {ty:?} are not supported yet: volumes come later; use type=bind or type=tmpfs"))),
        other => Err(Error::invalid(format!("invalid mount config for type \"{other}\": mount type unknown"))),
    }
}

/// `--cap-add`/`--cap-drop` names normalised to `CAP_X` (Docker accepts `x`, `cap_x`, `ALL`).
fn normalize_caps(list: &[String], what: &str) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for c in list {
        let up = c.trim().to_ascii_uppercase();
        if up == "ALL" {
            out.push("ALL".to_string());
            continue;
        }
        let full = if up.starts_with("CAP_") {
            up
        } else {
            format!("CAP_{up}")
        };
        if !ALL_CAPS.contains(&full.as_str()) {
            return Err(Error::invalid(format!(
                "invalid {what}: unknown capability: {c:?}"
            )));
        }
        out.push(full);
    }
    Ok(out)
}

/// The capability list after `--privileged`, `--cap-add` and `--cap-drop` (Docker's `TweakCapabilities`).
pub fn capabilities(h: &HostConfig) -> Result<Vec<String>> {
    if h.Privileged {
        return Ok(ALL_CAPS.iter().map(|s| s.to_string()).collect());
    }
    let add = normalize_caps(h.CapAdd.as_deref().unwrap_or(&[]), "CapAdd")?;
    let drop = normalize_caps(h.CapDrop.as_deref().unwrap_or(&[]), "CapDrop")?;
    let mut caps: Vec<String> = if add.iter().any(|c| c == "ALL") {
        ALL_CAPS.iter().map(|s| s.to_string()).collect()
    } else {
        DEFAULT_CAPS.iter().map(|s| s.to_string()).collect()
    };
    if drop.iter().any(|c| c == "ALL") {
        caps.clear();
    }
    caps.retain(|c| !drop.contains(c));
    for a in add.iter().filter(|a| *a != "ALL") {
        if !caps.contains(a) {
            caps.push(a.clone());
        }
    }
    Ok(caps)
}

/// Validate resources as dockerd does at create and update, returning warnings.
pub fn check_resources(h: &HostConfig, ncpu: u32, update: bool) -> Result<Vec<String>> {
    let r = &h.Resources;
    let warnings = Vec::new();
    if r.Memory != 0 && r.Memory < 6 * 1024 * 1024 {
        return Err(Error::invalid("Minimum memory limit allowed is 6MB"));
    }
    if r.MemorySwap > 0 && r.Memory == 0 && !update {
        return Err(Error::invalid(
            "You should always set the Memory limit when using Memoryswap limit, see usage",
        ));
    }
    if r.Memory > 0 && r.MemorySwap > 0 && r.MemorySwap < r.Memory {
        return Err(Error::invalid(
            "Minimum memoryswap limit should be larger than memory limit, see usage",
        ));
    }
    if let Some(s) = r.MemorySwappiness {
        if s != -1 && !(0..=100).contains(&s) {
            return Err(Error::invalid(format!(
                "Invalid value: {s}, valid memory swappiness range is 0-100"
            )));
        }
    }
    if r.MemoryReservation != 0 && r.MemoryReservation < 6 * 1024 * 1024 {
        return Err(Error::invalid("Minimum memory reservation allowed is 6MB"));
    }
    if r.Memory > 0 && r.MemoryReservation > 0 && r.Memory < r.MemoryReservation {
        return Err(Error::invalid(
            "Minimum memory limit can not be less than memory reservation limit, see usage",
        ));
    }
    if r.NanoCpus > 0 && (r.CpuPeriod > 0 || r.CpuQuota > 0) {
        return Err(Error::invalid(if r.CpuPeriod > 0 {
            "Conflicting options: Nano CPUs and CPU Period cannot both be set"
        } else {
            "Conflicting options: Nano CPUs and CPU Quota cannot both be set"
        }));
    }
    if r.NanoCpus < 0 || r.NanoCpus > ncpu as i64 * 1_000_000_000 {
        return Err(Error::invalid(format!(
            "Range of CPUs is from 0.01 to {ncpu}.00, as there are only {ncpu} CPUs available"
        )));
    }
    if r.CpuPeriod != 0 && !(1000..=1_000_000).contains(&r.CpuPeriod) {
        return Err(Error::invalid(
            "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)",
        ));
    }
    if r.CpuQuota > 0 && r.CpuQuota < 1000 {
        return Err(Error::invalid(
            "CPU cfs quota can not be less than 1ms (i.e. 1000)",
        ));
    }
    if r.CpuShares < 0 {
        return Err(Error::invalid(format!(
            "invalid CPU shares ({}): value must be a positive integer",
            r.CpuShares
        )));
    }
    for (what, set) in [("CPUs", &r.CpusetCpus), ("memory nodes", &r.CpusetMems)] {
        if !set.is_empty() && parse_cpuset(set).is_none() {
            return Err(Error::invalid(format!(
                "Invalid value {set} for cpuset {}",
                if what == "CPUs" { "cpus" } else { "mems" }
            )));
        }
    }
    if !r.CpusetCpus.is_empty() {
        if let Some(cpus) = parse_cpuset(&r.CpusetCpus) {
            if let Some(bad) = cpus.iter().find(|c| **c >= ncpu) {
                let _ = bad;
                let avail = if ncpu == 1 {
                    "0".to_string()
                } else {
                    format!("0-{}", ncpu - 1)
                };
                return Err(Error::invalid(format!(
                    "Requested CPUs are not available - requested {}, available: {avail}",
                    r.CpusetCpus
                )));
            }
        }
    }
    if r.BlkioWeight > 0 && !(10..=1000).contains(&r.BlkioWeight) {
        return Err(Error::invalid("Range of blkio weight is from 10 to 1000"));
    }
    if h.OomScoreAdj < -1000 || h.OomScoreAdj > 1000 {
        return Err(Error::invalid(format!(
            "Invalid value {}, range for oom score adj is [-1000, 1000]",
            h.OomScoreAdj
        )));
    }
    if h.ShmSize < 0 {
        return Err(Error::invalid("SHM size can not be less than 0"));
    }
    Ok(warnings)
}

/// `0-2,5` → [0,1,2,5].
pub fn parse_cpuset(s: &str) -> Option<Vec<u32>> {
    let mut out = Vec::new();
    for part in s.split(',') {
        let part = part.trim();
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b): (u32, u32) = (a.parse().ok()?, b.parse().ok()?);
                if a > b {
                    return None;
                }
                out.extend(a..=b);
            }
            None => out.push(part.parse().ok()?),
        }
    }
    Some(out)
}

/// Resources → OCI `linux.resources`.
pub fn resources(h: &HostConfig) -> Resources {
    let r = &h.Resources;
    let mut out = Resources::default();
    // Docker's default device rules: deny all, then mknod for any, then the usual char devices.
    let dev = |allow: bool, kind: &str, major: Option<i64>, minor: Option<i64>, access: &str| {
        DeviceCgroup {
            allow,
            kind: Some(kind.to_string()),
            major,
            minor,
            access: Some(access.to_string()),
        }
    };
    if h.Privileged {
        out.devices.push(DeviceCgroup {
            allow: true,
            kind: None,
            major: None,
            minor: None,
            access: Some("rwm".into()),
        });
    } else {
        out.devices.push(DeviceCgroup {
            allow: false,
            kind: None,
            major: None,
            minor: None,
            access: Some("rwm".into()),
        });
        out.devices.extend([
            dev(true, "c", None, None, "m"),
            dev(true, "b", None, None, "m"),
            dev(true, "c", Some(1), Some(3), "rwm"),
            dev(true, "c", Some(1), Some(8), "rwm"),
            dev(true, "c", Some(1), Some(7), "rwm"),
            dev(true, "c", Some(5), Some(0), "rwm"),
            dev(true, "c", Some(1), Some(5), "rwm"),
            dev(true, "c", Some(1), Some(9), "rwm"),
            dev(true, "c", Some(136), None, "rwm"),
            dev(true, "c", Some(5), Some(2), "rwm"),
            dev(true, "c", Some(10), Some(200), "rwm"),
        ]);
    }
    let mut mem = Memory::default();
    let mut any_mem = false;
    if r.Memory > 0 {
        mem.limit = Some(r.Memory);
        any_mem = true;
    }
    if r.MemorySwap != 0 {
        mem.swap = Some(r.MemorySwap);
        any_mem = true;
    }
    if r.MemoryReservation > 0 {
        mem.reservation = Some(r.MemoryReservation);
        any_mem = true;
    }
    if let Some(s) = r.MemorySwappiness.filter(|s| *s >= 0) {
        mem.swappiness = Some(s as u64);
        any_mem = true;
    }
    if let Some(d) = r.OomKillDisable.filter(|d| *d) {
        mem.disable_oom_killer = Some(d);
        any_mem = true;
    }
    if any_mem {
        out.memory = Some(mem);
    }
    let mut cpu = Cpu::default();
    let mut any_cpu = false;
    if r.CpuShares > 0 {
        cpu.shares = Some(r.CpuShares as u64);
        any_cpu = true;
    }
    if r.NanoCpus > 0 {
        cpu.period = Some(CPU_PERIOD as u64);
        cpu.quota = Some(r.NanoCpus * CPU_PERIOD / 1_000_000_000);
        any_cpu = true;
    }
    if r.CpuPeriod > 0 {
        cpu.period = Some(r.CpuPeriod as u64);
        any_cpu = true;
    }
    if r.CpuQuota != 0 {
        cpu.quota = Some(r.CpuQuota);
        any_cpu = true;
    }
    if !r.CpusetCpus.is_empty() {
        cpu.cpus = Some(r.CpusetCpus.clone());
        any_cpu = true;
    }
    if !r.CpusetMems.is_empty() {
        cpu.mems = Some(r.CpusetMems.clone());
        any_cpu = true;
    }
    if any_cpu {
        out.cpu = Some(cpu);
    }
    if let Some(p) = r.PidsLimit.filter(|p| *p > 0) {
        out.pids = Some(Pids { limit: p });
    }
    out
}

fn mount(dest: &str, ty: &str, source: &str, opts: &[&str]) -> Mount {
    Mount {
        destination: dest.to_string(),
        kind: Some(ty.to_string()),
        source: Some(source.to_string()),
        options: opts.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    }
}

/// The daemon-side environment: PATH, HOSTNAME, TERM (tty), then the container's (later keys
/// replace earlier ones in place, Docker's `ReplaceOrAppendEnvValues`).
pub fn environment(c: &Config, hostname: &str) -> Vec<String> {
    let mut env: Vec<String> = vec![
        format!("PATH={DEFAULT_PATH}"),
        format!("HOSTNAME={hostname}"),
    ];
    if c.Tty {
        env.push("TERM=xterm".into());
    }
    for e in c.Env.iter().flatten() {
        let key = e.split('=').next().unwrap_or("");
        if !e.contains('=') {
            // `-e NAME` without a value and not set on the client: Docker drops it.
            env.retain(|x| x.split('=').next() != Some(key));
            continue;
        }
        match env.iter_mut().find(|x| x.split('=').next() == Some(key)) {
            Some(slot) => *slot = e.clone(),
            None => env.push(e.clone()),
        }
    }
    env
}

/// Build the OCI spec (see the module doc).
pub fn build(i: &Inputs) -> Result<Spec> {
    let c = i.config;
    let h = i.host_config;
    let net = net_mode(&h.NetworkMode)?;
    let own_pid = namespace_mode("pid", &h.PidMode)?;
    let own_ipc = namespace_mode("ipc", &h.IpcMode)?;
    let own_uts = namespace_mode("uts", &h.UTSMode)?;
    if !h.UsernsMode.is_empty() && h.UsernsMode != "host" {
        return Err(Error::unsupported(format!(
            "user namespace mode {:?} is not supported yet",
            h.UsernsMode
        )));
    }
    let own_cgroupns = match h.CgroupnsMode.as_str() {
        "" => i.host.cgroup_v2,
        "private" => true,
        "host" => false,
        other => {
            return Err(Error::invalid(format!(
                "invalid cgroup namespace mode: {other}"
            )))
        }
    };
    for m in h.Mounts.iter().flatten() {
        check_mount(m)?;
    }

    // Process.
    let (path, args) = entrypoint_and_args(c);
    if path.is_empty() {
        return Err(Error::invalid("no command specified"));
    }
    let init = h.Init.unwrap_or(i.host.init_default);
    let mut argv = Vec::new();
    if init {
        argv.extend([INIT_PATH.to_string(), "--".to_string()]);
    }
    argv.push(path);
    argv.extend(args);
    let caps = capabilities(h)?;
    let root_user = i.user.uid == 0;
    let capabilities = Capabilities {
        bounding: Some(caps.clone()),
        effective: root_user.then(|| caps.clone()),
        permitted: root_user.then(|| caps.clone()),
        inheritable: None,
        ambient: None,
    };
    let mut rlimits = Vec::new();
    for u in h.Resources.Ulimits.iter().flatten() {
        rlimits.push(Rlimit {
            kind: format!("RLIMIT_{}", u.Name.to_ascii_uppercase()),
            hard: u.Hard as u64,
            soft: u.Soft as u64,
        });
    }
    let mut no_new_privileges = false;
    // Docker's rule: a privileged container runs unconfined; else the container's profile, or
    // the daemon's.
    let mut seccomp_profile = i.host.seccomp.clone();
    for o in h.SecurityOpt.iter().flatten() {
        let (k, v) = o.split_once(['=', ':']).unwrap_or((o.as_str(), ""));
        match k {
            "no-new-privileges" => {
                no_new_privileges = match v {
                    "" | "true" => true,
                    "false" => false,
                    _ => {
                        return Err(Error::invalid(
                            "invalid --security-opt 2: \"no-new-privileges\" must be a boolean",
                        ))
                    }
                }
            }
            "seccomp" => {
                seccomp_profile = match v {
                    "unconfined" => None,
                    "" => return Err(Error::invalid(format!("invalid --security-opt 2: {o:?}"))),
                    "builtin" => Some(std::sync::Arc::new(super::seccomp::Profile::builtin())),
                    json => Some(std::sync::Arc::new(super::seccomp::Profile::parse(json)?)),
                }
            }
            "apparmor" | "label" => {}
            _ => return Err(Error::invalid(format!("invalid --security-opt 1: {o:?}"))),
        }
    }
    let hostname = if net == NetMode::Host && c.Hostname.is_empty() {
        String::new()
    } else {
        c.Hostname.clone()
    };
    let process = Process {
        terminal: c.Tty,
        console_size: (c.Tty && h.ConsoleSize != [0, 0]).then(|| ConsoleSize {
            height: h.ConsoleSize[0],
            width: h.ConsoleSize[1],
        }),
        user: User {
            uid: i.user.uid,
            gid: i.user.gid,
            umask: None,
            additional_gids: i.user.additional_gids.clone(),
            username: None,
        },
        args: argv,
        env: environment(c, &hostname),
        cwd: if c.WorkingDir.is_empty() {
            "/".into()
        } else {
            clean_container_path(&c.WorkingDir)
        },
        capabilities: Some(capabilities),
        rlimits,
        no_new_privileges,
        apparmor_profile: None,
        oom_score_adj: Some(h.OomScoreAdj as i32),
        selinux_label: None,
    };

    // Mounts: the defaults, then what the user asked for; a user mount replaces a default at
    // the same destination (Docker drops the default).
    let shm_size = if h.ShmSize > 0 {
        h.ShmSize
    } else {
        DEFAULT_SHM_SIZE
    };
    let shm_opt = format!("size={shm_size}");
    let mut mounts = vec![
        mount("/proc", "proc", "proc", &["nosuid", "noexec", "nodev"]),
        mount(
            "/dev",
            "tmpfs",
            "tmpfs",
            &["nosuid", "strictatime", "mode=755", "size=65536k"],
        ),
        mount(
            "/dev/pts",
            "devpts",
            "devpts",
            &[
                "nosuid",
                "noexec",
                "newinstance",
                "ptmxmode=0666",
                "mode=0620",
                "gid=5",
            ],
        ),
        mount(
            "/sys",
            "sysfs",
            "sysfs",
            if h.Privileged {
                &["nosuid", "noexec", "nodev"]
            } else {
                &["nosuid", "noexec", "nodev", "ro"]
            },
        ),
        mount(
            "/sys/fs/cgroup",
            "cgroup",
            "cgroup",
            if h.Privileged {
                &["rw", "nosuid", "noexec", "nodev"]
            } else {
                &["ro", "nosuid", "noexec", "nodev"]
            },
        ),
        mount(
            "/dev/mqueue",
            "mqueue",
            "mqueue",
            &["nosuid", "noexec", "nodev"],
        ),
    ];
    match h.IpcMode.as_str() {
        "none" => {}
        "host" => mounts.push(mount(
            "/dev/shm",
            "bind",
            "/dev/shm",
            &["rbind", "rprivate"],
        )),
        _ => mounts.push(mount(
            "/dev/shm",
            "tmpfs",
            "shm",
            &["nosuid", "noexec", "nodev", "mode=1777", &shm_opt],
        )),
    }
    let mut user_mounts: Vec<Mount> = Vec::new();
    if init {
        // The init is berth itself. Read-only, so no process in the container can ever write to
        // the host's binary through this mount (CVE-2019-5736).
        user_mounts.push(mount(
            INIT_PATH,
            "bind",
            &i.host.init_binary.to_string_lossy(),
            &["bind", "ro", "nosuid", "nodev"],
        ));
    }
    for b in h.Binds.iter().flatten() {
        let b = parse_bind(b)?;
        user_mounts.push(mount(
            &b.destination,
            "bind",
            &b.source,
            &[
                "rbind",
                if b.read_only { "ro" } else { "rw" },
                &b.propagation,
            ],
        ));
    }
    for m in h.Mounts.iter().flatten() {
        let dest = clean_container_path(&m.Target);
        match m.Type.as_str() {
            "bind" => {
                let bo = m.BindOptions.clone().unwrap_or_default();
                let prop = if bo.Propagation.is_empty() {
                    "rprivate".to_string()
                } else {
                    bo.Propagation.clone()
                };
                let kind = if bo.NonRecursive { "bind" } else { "rbind" };
                user_mounts.push(mount(
                    &dest,
                    "bind",
                    &m.Source,
                    &[kind, if m.ReadOnly { "ro" } else { "rw" }, &prop],
                ));
            }
            "tmpfs" => {
                let mut opts = vec![
                    "noexec".to_string(),
                    "nosuid".to_string(),
                    "nodev".to_string(),
                ];
                if let Some(t) = &m.TmpfsOptions {
                    if t.SizeBytes > 0 {
                        opts.push(format!("size={}k", (t.SizeBytes + 1023) / 1024));
                    }
                    if t.Mode != 0 {
                        opts.push(format!("mode={:o}", t.Mode));
                    }
                    for o in t.Options.iter().flatten() {
                        opts.push(o.join("="));
                    }
                }
                if m.ReadOnly {
                    opts.push("ro".into());
                }
                let mut mm = mount(&dest, "tmpfs", "tmpfs", &[]);
                mm.options = opts;
                user_mounts.push(mm);
            }
            _ => {}
        }
    }
    for (dest, opts) in h.Tmpfs.iter().flatten() {
        let mut mm = mount(&clean_container_path(dest), "tmpfs", "tmpfs", &[]);
        mm.options = tmpfs_options(opts);
        user_mounts.push(mm);
    }
    for (dest, path) in [
        ("/etc/resolv.conf", &i.resolv_conf_path),
        ("/etc/hostname", &i.hostname_path),
        ("/etc/hosts", &i.hosts_path),
    ] {
        if let Some(p) = path {
            if !user_mounts.iter().any(|m| m.destination == dest) {
                let ro = if h.ReadonlyRootfs { "ro" } else { "rw" };
                user_mounts.push(mount(
                    dest,
                    "bind",
                    &p.to_string_lossy(),
                    &["rbind", ro, "rprivate"],
                ));
            }
        }
    }
    {
        let mut seen = std::collections::BTreeSet::new();
        for m in &user_mounts {
            if !seen.insert(m.destination.clone()) {
                return Err(Error::invalid(format!(
                    "Duplicate mount point: {}",
                    m.destination
                )));
            }
        }
    }
    mounts.retain(|d| {
        !user_mounts.iter().any(|u| {
            u.destination == d.destination
                || d.destination.starts_with(&format!("{}/", u.destination))
        })
    });
    // A user mount under /dev (say) must come after the default /dev.
    mounts.extend(user_mounts);

    // Namespaces.
    let mut namespaces = vec![Namespace {
        kind: "mount".into(),
        path: None,
    }];
    if net != NetMode::Host {
        namespaces.push(Namespace {
            kind: "network".into(),
            path: None,
        });
    }
    if own_uts && net != NetMode::Host {
        namespaces.push(Namespace {
            kind: "uts".into(),
            path: None,
        });
    }
    if own_pid {
        namespaces.push(Namespace {
            kind: "pid".into(),
            path: None,
        });
    }
    if own_ipc {
        namespaces.push(Namespace {
            kind: "ipc".into(),
            path: None,
        });
    }
    if own_cgroupns {
        namespaces.push(Namespace {
            kind: "cgroup".into(),
            path: None,
        });
    }

    let mut sysctl = BTreeMap::new();
    if net != NetMode::Host {
        sysctl.insert(
            "net.ipv4.ip_unprivileged_port_start".to_string(),
            "0".to_string(),
        );
        sysctl.insert(
            "net.ipv4.ping_group_range".to_string(),
            "0 2147483647".to_string(),
        );
    }
    for (k, v) in h.Sysctls.iter().flatten() {
        if k.starts_with("net.") && net == NetMode::Host {
            return Err(Error::invalid(format!(
                "sysctl {k:?} is not allowed in host network namespace"
            )));
        }
        sysctl.insert(k.clone(), v.clone());
    }
    let parent = if h.Resources.CgroupParent.is_empty() {
        i.host.cgroup_parent.clone()
    } else {
        h.Resources.CgroupParent.clone()
    };
    let cgroups_path = format!("{}/{}", parent.trim_end_matches('/'), i.id);
    let (masked, readonly) = if h.Privileged {
        (Vec::new(), Vec::new())
    } else {
        (
            h.MaskedPaths
                .clone()
                .unwrap_or_else(|| DEFAULT_MASKED_PATHS.iter().map(|s| s.to_string()).collect()),
            h.ReadonlyPaths.clone().unwrap_or_else(|| {
                DEFAULT_READONLY_PATHS
                    .iter()
                    .map(|s| s.to_string())
                    .collect()
            }),
        )
    };
    let seccomp = match (&seccomp_profile, h.Privileged) {
        (Some(p), false) => Some(p.to_oci(&caps, super::seccomp::Target::host())?),
        _ => None,
    };
    let linux = Linux {
        seccomp,
        sysctl,
        resources: Some(resources(h)),
        cgroups_path: Some(cgroups_path),
        namespaces,
        masked_paths: masked,
        readonly_paths: readonly,
        ..Default::default()
    };
    Ok(Spec {
        oci_version: "1.2.0".into(),
        process: Some(process),
        root: Some(Root {
            path: i.rootfs.clone(),
            readonly: h.ReadonlyRootfs,
        }),
        hostname: (!hostname.is_empty() && own_uts && net != NetMode::Host).then_some(hostname),
        domainname: (!c.Domainname.is_empty() && own_uts && net != NetMode::Host)
            .then(|| c.Domainname.clone()),
        mounts,
        hooks: None,
        annotations: h.Annotations.clone().unwrap_or_default(),
        linux: Some(linux),
    })
}

/// /etc/hosts for a container without a bridge network (Docker's layout: no address of its
/// own, so no line for its hostname), with `--add-host` entries.
pub fn hosts_file(extra_hosts: &[String]) -> String {
    let mut s = String::from(
        "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n",
    );
    for e in extra_hosts {
        if let Some((name, ip)) = e
            .split_once(':')
            .map(|(n, ip)| (n, ip))
            .or_else(|| e.split_once('='))
        {
            s.push_str(&format!("{ip}\t{name}\n"));
        }
    }
    s
}

/// /etc/resolv.conf for a container in its own network namespace: the host's, with loopback
/// name servers removed (they are unreachable from inside), `--dns`/`--dns-search`/`--dns-option`
/// replacing the host's lines when given.
pub fn resolv_conf(
    host: &str,
    dns: &[String],
    search: &[String],
    options: &[String],
    private_netns: bool,
) -> String {
    let mut out = String::new();
    for line in host.lines() {
        let t = line.trim();
        let mut words = t.split_whitespace();
        match words.next() {
            Some("nameserver") => {
                if !dns.is_empty() {
                    continue;
                }
                let addr = words.next().unwrap_or("");
                if private_netns && (addr.starts_with("127.") || addr == "::1") {
                    continue;
                }
                out.push_str(line);
                out.push('\n');
            }
            Some("search") | Some("domain") if !search.is_empty() => {}
            Some("options") if !options.is_empty() => {}
            _ => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    for d in dns {
        out.push_str(&format!("nameserver {d}\n"));
    }
    if !search.is_empty() {
        out.push_str(&format!("search {}\n", search.join(" ")));
    }
    if !options.is_empty() {
        out.push_str(&format!("options {}\n", options.join(" ")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::container::{BindOptions, TmpfsOptions};
    use crate::daemon::containers::user;

    fn host() -> Host {
        Host {
            cgroup_v2: false,
            cgroup_parent: "/docker".into(),
            init_binary: "/usr/local/bin/berth".into(),
            init_default: false,
            seccomp: Some(std::sync::Arc::new(
                crate::daemon::containers::seccomp::Profile::builtin(),
            )),
        }
    }

    #[test]
    fn seccomp_follows_the_daemon_the_container_and_privileged() {
        let c = cfg(&["true"]);
        let sec = |h: &HostConfig| spec_of(&c, h, "").map(|s| s.linux.unwrap().seccomp);
        let default = sec(&HostConfig::default()).unwrap().unwrap();
        assert_eq!(default.default_action, "SCMP_ACT_ERRNO");
        assert!(default
            .syscalls
            .iter()
            .any(|r| r.names.iter().any(|n| n == "read")));
        let opt = |o: &str| HostConfig {
            SecurityOpt: Some(vec![o.to_string()]),
            ..Default::default()
        };
        assert_eq!(sec(&opt("seccomp=unconfined")).unwrap(), None);
        assert_eq!(sec(&opt("seccomp:unconfined")).unwrap(), None);
        let privileged = HostConfig {
            Privileged: true,
            ..Default::default()
        };
        assert_eq!(sec(&privileged).unwrap(), None);
        let own = sec(&opt(
            r#"seccomp={"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_ERRNO"}]}"#,
        ))
        .unwrap()
        .unwrap();
        assert_eq!(own.default_action, "SCMP_ACT_ALLOW");
        assert_eq!(own.syscalls[0].names, ["mkdir"]);
        let e = sec(&opt("seccomp={bad")).unwrap_err().to_string();
        assert!(e.contains("decoding seccomp profile failed"), "{e}");
        // --cap-add SYS_ADMIN brings mount back, as in Docker.
        let admin = HostConfig {
            CapAdd: Some(vec!["SYS_ADMIN".into()]),
            ..Default::default()
        };
        let s = sec(&admin).unwrap().unwrap();
        assert!(s
            .syscalls
            .iter()
            .any(|r| r.names.iter().any(|n| n == "mount")));
        assert!(!default
            .syscalls
            .iter()
            .any(|r| r.names.iter().any(|n| n == "mount")));
    }

    fn cfg(cmd: &[&str]) -> Config {
        Config {
            Hostname: "abc123".into(),
            Cmd: Some(cmd.iter().map(|s| s.to_string()).collect()),
            ..Default::default()
        }
    }

    fn spec_of(c: &Config, h: &HostConfig, uspec: &str) -> Result<Spec> {
        let u = user::resolve(
            uspec,
            h.GroupAdd.as_deref().unwrap_or(&[]),
            Some("root:x:0:0:root:/root:/bin/sh\n"),
            Some("root:x:0:\n"),
        )?;
        let hst = host();
        build(&Inputs {
            id: "0123456789ab",
            config: c,
            host_config: h,
            user: &u,
            rootfs: "rootfs".into(),
            hostname_path: Some("/d/hostname".into()),
            hosts_path: Some("/d/hosts".into()),
            resolv_conf_path: Some("/d/resolv.conf".into()),
            host: &hst,
        })
    }

    fn dests(s: &Spec) -> Vec<&str> {
        s.mounts.iter().map(|m| m.destination.as_str()).collect()
    }

    #[test]
    fn defaults_match_dockerd() {
        let s = spec_of(&cfg(&["echo", "hi"]), &HostConfig::default(), "").unwrap();
        let p = s.process.as_ref().unwrap();
        assert_eq!(p.args, ["echo", "hi"]);
        assert_eq!(
            p.env,
            [
                format!("PATH={DEFAULT_PATH}"),
                "HOSTNAME=abc123".to_string()
            ]
        );
        assert_eq!(p.cwd, "/");
        assert_eq!((p.user.uid, p.user.gid), (0, 0));
        let caps = p.capabilities.as_ref().unwrap();
        assert_eq!(caps.bounding.as_ref().unwrap().len(), 14);
        assert_eq!(caps.effective, caps.bounding);
        assert_eq!(caps.permitted, caps.bounding);
        assert!(caps.inheritable.is_none() && caps.ambient.is_none());
        assert_eq!(p.oom_score_adj, Some(0));
        assert_eq!(
            dests(&s),
            [
                "/proc",
                "/dev",
                "/dev/pts",
                "/sys",
                "/sys/fs/cgroup",
                "/dev/mqueue",
                "/dev/shm",
                "/etc/resolv.conf",
                "/etc/hostname",
                "/etc/hosts"
            ]
        );
        assert_eq!(s.mounts[6].options.last().unwrap(), "size=67108864");
        let l = s.linux.as_ref().unwrap();
        let ns: Vec<&str> = l.namespaces.iter().map(|n| n.kind.as_str()).collect();
        assert_eq!(ns, ["mount", "network", "uts", "pid", "ipc"]);
        assert_eq!(l.cgroups_path.as_deref(), Some("/docker/0123456789ab"));
        assert_eq!(l.sysctl["net.ipv4.ip_unprivileged_port_start"], "0");
        assert!(l.masked_paths.contains(&"/proc/kcore".to_string()));
        assert!(l.readonly_paths.contains(&"/proc/sys".to_string()));
        assert_eq!(s.hostname.as_deref(), Some("abc123"));
        assert!(!s.root.as_ref().unwrap().readonly);
        let r = l.resources.as_ref().unwrap();
        assert!(!r.devices[0].allow);
        assert!(r.memory.is_none() && r.cpu.is_none() && r.pids.is_none());
    }

    #[test]
    fn cgroup_v2_hosts_get_a_private_cgroup_namespace() {
        let u = user::resolve("", &[], None, None).unwrap();
        let mut hst = host();
        hst.cgroup_v2 = true;
        let c = cfg(&["true"]);
        let h = HostConfig::default();
        let s = build(&Inputs {
            id: "x",
            config: &c,
            host_config: &h,
            user: &u,
            rootfs: "r".into(),
            hostname_path: None,
            hosts_path: None,
            resolv_conf_path: None,
            host: &hst,
        })
        .unwrap();
        assert!(s
            .linux
            .unwrap()
            .namespaces
            .iter()
            .any(|n| n.kind == "cgroup"));
        let h = HostConfig {
            CgroupnsMode: "host".into(),
            ..Default::default()
        };
        let s = build(&Inputs {
            id: "x",
            config: &c,
            host_config: &h,
            user: &u,
            rootfs: "r".into(),
            hostname_path: None,
            hosts_path: None,
            resolv_conf_path: None,
            host: &hst,
        })
        .unwrap();
        assert!(!s
            .linux
            .unwrap()
            .namespaces
            .iter()
            .any(|n| n.kind == "cgroup"));
    }

    #[test]
    fn non_root_users_keep_caps_only_in_the_bounding_set() {
        let s = spec_of(&cfg(&["id"]), &HostConfig::default(), "1:2").unwrap();
        let p = s.process.unwrap();
        assert_eq!(
            (p.user.uid, p.user.gid, p.user.additional_gids.clone()),
            (1, 2, vec![2])
        );
        let caps = p.capabilities.unwrap();
        assert_eq!(caps.bounding.unwrap().len(), 14);
        assert!(caps.effective.is_none() && caps.permitted.is_none());
    }

    #[test]
    fn entrypoint_cmd_env_and_workdir() {
        let c = Config {
            Hostname: "h".into(),
            Entrypoint: Some(vec!["/bin/sh".into(), "-c".into()]),
            Cmd: Some(vec!["echo $A".into()]),
            Env: Some(vec!["A=1".into(), "PATH=/x".into(), "UNSET".into()]),
            WorkingDir: "/tmp/../work/".into(),
            Tty: true,
            ..Default::default()
        };
        let s = spec_of(&c, &HostConfig::default(), "").unwrap();
        let p = s.process.unwrap();
        assert_eq!(p.args, ["/bin/sh", "-c", "echo $A"]);
        assert_eq!(p.env, ["PATH=/x", "HOSTNAME=h", "TERM=xterm", "A=1"]);
        assert_eq!(p.cwd, "/work");
        assert!(p.terminal);
    }

    #[test]
    fn merge_follows_docker() {
        let image = Config {
            User: "web".into(),
            Env: Some(vec!["PATH=/img".into(), "IMG=1".into()]),
            Cmd: Some(vec!["img-cmd".into()]),
            Entrypoint: Some(vec!["/entry".into()]),
            WorkingDir: "/srv".into(),
            Labels: Some(BTreeMap::from([
                ("a".to_string(), "img".to_string()),
                ("b".to_string(), "img".to_string()),
            ])),
            StopSignal: "SIGQUIT".into(),
            ..Default::default()
        };
        let mut c = Config {
            Env: Some(vec!["PATH=/mine".into()]),
            Labels: Some(BTreeMap::from([("a".to_string(), "mine".to_string())])),
            ..Default::default()
        };
        merge_image_config(&mut c, &image).unwrap();
        assert_eq!(c.User, "web");
        assert_eq!(c.Env.clone().unwrap(), ["PATH=/mine", "IMG=1"]);
        assert_eq!(c.Cmd.clone().unwrap(), ["img-cmd"]);
        assert_eq!(c.Entrypoint.clone().unwrap(), ["/entry"]);
        assert_eq!(c.WorkingDir, "/srv");
        assert_eq!(c.Labels.clone().unwrap()["a"], "mine");
        assert_eq!(c.Labels.clone().unwrap()["b"], "img");
        assert_eq!(c.StopSignal, "SIGQUIT");
        // A user Cmd with the image's Entrypoint.
        let mut c = Config {
            Cmd: Some(vec!["x".into()]),
            ..Default::default()
        };
        merge_image_config(&mut c, &image).unwrap();
        assert_eq!(
            (c.Entrypoint.clone().unwrap(), c.Cmd.clone().unwrap()),
            (vec!["/entry".to_string()], vec!["x".to_string()])
        );
        // A user Entrypoint drops the image's Cmd.
        let mut c = Config {
            Entrypoint: Some(vec!["/mine".into()]),
            ..Default::default()
        };
        merge_image_config(&mut c, &image).unwrap();
        assert_eq!(c.Cmd, None);
        // `--entrypoint ""` resets the entrypoint; with no command left it is an error.
        let mut c = Config {
            Entrypoint: Some(vec![String::new()]),
            ..Default::default()
        };
        let e = merge_image_config(&mut c, &Config::default()).unwrap_err();
        assert_eq!(e.to_string(), "no command specified");
        // ... even when the image has a Cmd: [""] is a non-empty entrypoint for the merge.
        let mut c = Config {
            Entrypoint: Some(vec![String::new()]),
            ..Default::default()
        };
        assert!(merge_image_config(&mut c, &image).is_err());
        let mut c = Config {
            Entrypoint: Some(vec![String::new()]),
            Cmd: Some(vec!["ls".into()]),
            ..Default::default()
        };
        merge_image_config(&mut c, &image).unwrap();
        assert_eq!(
            (c.Entrypoint.clone(), c.Cmd.clone().unwrap()),
            (None, vec!["ls".to_string()])
        );
    }

    #[test]
    fn binds_tmpfs_readonly_and_init() {
        let h = HostConfig {
            Binds: Some(vec!["/tmp:/hosttmp:ro".into(), "/srv/data:/data".into()]),
            Tmpfs: Some(BTreeMap::from([(
                "/run".to_string(),
                "size=1m,exec".to_string(),
            )])),
            ReadonlyRootfs: true,
            Init: Some(true),
            ..Default::default()
        };
        let s = spec_of(&cfg(&["sleep", "1"]), &h, "").unwrap();
        assert!(s.root.as_ref().unwrap().readonly);
        let p = s.process.as_ref().unwrap();
        assert_eq!(p.args, ["/sbin/docker-init", "--", "sleep", "1"]);
        let by = |d: &str| {
            s.mounts
                .iter()
                .find(|m| m.destination == d)
                .unwrap()
                .clone()
        };
        let init = by("/sbin/docker-init");
        assert_eq!(init.source.as_deref(), Some("/usr/local/bin/berth"));
        assert!(
            init.options.contains(&"ro".to_string()) && !init.options.contains(&"rw".to_string())
        );
        assert_eq!(by("/hosttmp").options, ["rbind", "ro", "rprivate"]);
        assert_eq!(by("/data").options, ["rbind", "rw", "rprivate"]);
        assert_eq!(by("/run").options, ["nosuid", "nodev", "size=1m", "exec"]);
        assert_eq!(by("/etc/hosts").options, ["rbind", "ro", "rprivate"]);
    }

    #[test]
    fn user_mounts_replace_defaults_and_duplicates_fail() {
        let h = HostConfig {
            Binds: Some(vec!["/host/shm:/dev/shm".into(), "/x:/etc/hosts".into()]),
            ..Default::default()
        };
        let s = spec_of(&cfg(&["true"]), &h, "").unwrap();
        assert_eq!(
            s.mounts
                .iter()
                .filter(|m| m.destination == "/dev/shm")
                .count(),
            1
        );
        assert_eq!(
            s.mounts
                .iter()
                .find(|m| m.destination == "/etc/hosts")
                .unwrap()
                .source
                .as_deref(),
            Some("/x")
        );
        let h = HostConfig {
            Binds: Some(vec!["/a:/d".into(), "/b:/d/".into()]),
            ..Default::default()
        };
        assert_eq!(
            spec_of(&cfg(&["true"]), &h, "").unwrap_err().to_string(),
            "Duplicate mount point: /d"
        );
    }

    #[test]
    fn mounts_api() {
        let h = HostConfig {
            Mounts: Some(vec![
                ApiMount {
                    Type: "bind".into(),
                    Source: "/src".into(),
                    Target: "/dst".into(),
                    ReadOnly: true,
                    BindOptions: Some(BindOptions {
                        Propagation: "rslave".into(),
                        ..Default::default()
                    }),
                    ..Default::default()
                },
                ApiMount {
                    Type: "tmpfs".into(),
                    Target: "/scratch".into(),
                    TmpfsOptions: Some(TmpfsOptions {
                        SizeBytes: 1 << 20,
                        Mode: 0o1777,
                        Options: None,
                    }),
                    ..Default::default()
                },
            ]),
            ..Default::default()
        };
        let s = spec_of(&cfg(&["true"]), &h, "").unwrap();
        let by = |d: &str| {
            s.mounts
                .iter()
                .find(|m| m.destination == d)
                .unwrap()
                .clone()
        };
        assert_eq!(by("/dst").options, ["rbind", "ro", "rslave"]);
        assert_eq!(
            by("/scratch").options,
            ["noexec", "nosuid", "nodev", "size=1024k", "mode=1777"]
        );
        let mp = mount_points(&h).unwrap();
        assert_eq!(mp.len(), 2);
        assert_eq!(
            (
                mp[0].Destination.as_str(),
                mp[0].RW,
                mp[0].Propagation.as_str()
            ),
            ("/dst", false, "rslave")
        );
        let h = HostConfig {
            Mounts: Some(vec![ApiMount {
                Type: "volume".into(),
                Source: "v".into(),
                Target: "/v".into(),
                ..Default::default()
            }]),
            ..Default::default()
        };
        assert!(spec_of(&cfg(&["true"]), &h, "")
            .unwrap_err()
            .to_string()
            .contains("not supported yet"));
    }

    #[test]
    fn bind_parsing_errors() {
        assert_eq!(parse_bind("/a:/b:ro").unwrap().read_only, true);
        assert_eq!(
            parse_bind("/a:/b:rshared,rw").unwrap().propagation,
            "rshared"
        );
        assert_eq!(
            parse_bind("/a:/b:bogus").unwrap_err().to_string(),
            "invalid mode: bogus"
        );
        assert_eq!(
            parse_bind("/a:/b:c:d").unwrap_err().to_string(),
            "invalid volume specification: '/a:/b:c:d'"
        );
        assert!(parse_bind("/a:/")
            .unwrap_err()
            .to_string()
            .contains("destination can't be '/'"));
        assert!(parse_bind("vol:/data")
            .unwrap_err()
            .to_string()
            .contains("named volume \"vol\" is not supported yet"));
        assert!(parse_bind("/a:rel")
            .unwrap_err()
            .to_string()
            .contains("must be absolute"));
    }

    #[test]
    fn resources_map_to_cgroup_settings() {
        let mut h = HostConfig::default();
        h.Resources.Memory = 100 << 20;
        h.Resources.MemorySwap = 200 << 20;
        h.Resources.NanoCpus = 1_500_000_000;
        h.Resources.CpuShares = 512;
        h.Resources.CpusetCpus = "0".into();
        h.Resources.PidsLimit = Some(50);
        let r = resources(&h);
        let m = r.memory.unwrap();
        assert_eq!((m.limit, m.swap), (Some(100 << 20), Some(200 << 20)));
        let c = r.cpu.unwrap();
        assert_eq!(
            (c.shares, c.quota, c.period, c.cpus.as_deref()),
            (Some(512), Some(150_000), Some(100_000), Some("0"))
        );
        assert_eq!(r.pids.unwrap().limit, 50);
        h.Resources.PidsLimit = Some(-1);
        assert!(resources(&h).pids.is_none());
    }

    #[test]
    fn resource_checks_use_dockers_words() {
        let mut h = HostConfig::default();
        h.Resources.Memory = 1024;
        assert_eq!(
            check_resources(&h, 2, false).unwrap_err().to_string(),
            "Minimum memory limit allowed is 6MB"
        );
        h.Resources.Memory = 100 << 20;
        h.Resources.MemorySwap = 50 << 20;
        assert!(check_resources(&h, 2, false)
            .unwrap_err()
            .to_string()
            .contains("Minimum memoryswap limit should be larger"));
        let mut h = HostConfig::default();
        h.Resources.NanoCpus = 3_000_000_000;
        assert_eq!(
            check_resources(&h, 2, false).unwrap_err().to_string(),
            "Range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available"
        );
        let mut h = HostConfig::default();
        h.Resources.CpusetCpus = "5".into();
        assert_eq!(
            check_resources(&h, 2, false).unwrap_err().to_string(),
            "Requested CPUs are not available - requested 5, available: 0-1"
        );
        h.Resources.CpusetCpus = "0-1".into();
        assert!(check_resources(&h, 2, false).is_ok());
    }

    #[test]
    fn network_modes() {
        let h = HostConfig {
            NetworkMode: "host".into(),
            ..Default::default()
        };
        let s = spec_of(&cfg(&["true"]), &h, "").unwrap();
        let l = s.linux.as_ref().unwrap();
        assert!(!l
            .namespaces
            .iter()
            .any(|n| n.kind == "network" || n.kind == "uts"));
        assert!(l.sysctl.is_empty());
        assert!(s.hostname.is_none());
        let h = HostConfig {
            NetworkMode: "none".into(),
            ..Default::default()
        };
        assert!(spec_of(&cfg(&["true"]), &h, "")
            .unwrap()
            .linux
            .unwrap()
            .namespaces
            .iter()
            .any(|n| n.kind == "network"));
        for m in ["bridge", "mynet", "container:x"] {
            let h = HostConfig {
                NetworkMode: m.into(),
                ..Default::default()
            };
            let e = spec_of(&cfg(&["true"]), &h, "").unwrap_err();
            assert!(
                e.to_string().contains("not supported yet") && e.to_string().contains("come later"),
                "{e}"
            );
        }
    }

    #[test]
    fn privileged_and_caps() {
        let h = HostConfig {
            CapAdd: Some(vec!["net_admin".into()]),
            CapDrop: Some(vec!["CAP_CHOWN".into(), "mknod".into()]),
            ..Default::default()
        };
        let caps = capabilities(&h).unwrap();
        assert!(
            caps.contains(&"CAP_NET_ADMIN".to_string())
                && !caps.contains(&"CAP_CHOWN".to_string())
                && !caps.contains(&"CAP_MKNOD".to_string())
        );
        let h = HostConfig {
            CapDrop: Some(vec!["ALL".into()]),
            CapAdd: Some(vec!["KILL".into()]),
            ..Default::default()
        };
        assert_eq!(capabilities(&h).unwrap(), ["CAP_KILL"]);
        let h = HostConfig {
            CapAdd: Some(vec!["BOGUS".into()]),
            ..Default::default()
        };
        assert_eq!(
            capabilities(&h).unwrap_err().to_string(),
            "invalid CapAdd: unknown capability: \"BOGUS\""
        );
        let h = HostConfig {
            Privileged: true,
            ..Default::default()
        };
        let s = spec_of(&cfg(&["true"]), &h, "").unwrap();
        let l = s.linux.as_ref().unwrap();
        assert!(l.masked_paths.is_empty() && l.readonly_paths.is_empty());
        assert!(l.resources.as_ref().unwrap().devices[0].allow);
        assert_eq!(
            s.process
                .unwrap()
                .capabilities
                .unwrap()
                .bounding
                .unwrap()
                .len(),
            ALL_CAPS.len()
        );
    }

    #[test]
    fn signals() {
        assert_eq!(parse_signal("SIGTERM").unwrap(), 15);
        assert_eq!(parse_signal("kill").unwrap(), 9);
        assert_eq!(parse_signal("10").unwrap(), 10);
        assert_eq!(parse_signal("SIGRTMIN+3").unwrap(), 37);
        assert_eq!(
            parse_signal("NOPE").unwrap_err().to_string(),
            "Invalid signal: NOPE"
        );
    }

    #[test]
    fn etc_files() {
        let h = hosts_file(&["db:10.0.0.2".into()]);
        assert!(h.starts_with("127.0.0.1\tlocalhost\n"));
        assert!(h.ends_with("10.0.0.2\tdb\n"));
        let r = resolv_conf(
            "# c\nnameserver 127.0.0.53\nnameserver 10.1.1.1\nsearch x\n",
            &[],
            &[],
            &[],
            true,
        );
        assert_eq!(r, "# c\nnameserver 10.1.1.1\nsearch x\n");
        let r = resolv_conf(
            "nameserver 10.1.1.1\nsearch x\n",
            &["1.1.1.1".into()],
            &["a.b".into()],
            &["ndots:2".into()],
            true,
        );
        assert_eq!(r, "nameserver 1.1.1.1\nsearch a.b\noptions ndots:2\n");
    }

    #[test]
    fn security_opts() {
        let h = HostConfig {
            SecurityOpt: Some(vec![
                "no-new-privileges".into(),
                "seccomp=unconfined".into(),
            ]),
            ..Default::default()
        };
        assert!(
            spec_of(&cfg(&["true"]), &h, "")
                .unwrap()
                .process
                .unwrap()
                .no_new_privileges
        );
        let h = HostConfig {
            SecurityOpt: Some(vec!["bogus".into()]),
            ..Default::default()
        };
        assert!(spec_of(&cfg(&["true"]), &h, "").is_err());
    }
}
