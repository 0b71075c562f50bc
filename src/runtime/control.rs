//! What runc does to a live container through its cgroup: pause, resume, update, events (stats
//! and OOM notices), ps; and the `features` document. The lifecycle code (container.rs) keeps
//! the container's [`Manager`] in its state.

use crate::base::{Error, ErrorKind, Result};
use crate::oci::runtime::Resources;
use crate::runtime::cgroups::{Manager, Stats};
use crate::runtime::state::{Container, Status, Store};
use serde::Serialize;
use std::time::Duration;

fn require_manager(c: &Container) -> Result<Manager> {
    c.cgroup.clone().ok_or_else(|| {
        Error::new(
            ErrorKind::NotFound,
            format!("container {} has no cgroup", c.id),
        )
    })
}

/// `pause`: freeze every process of a running (or created) container.
pub fn pause(store: &Store, id: &str) -> Result<()> {
    let c = store.load(id)?;
    match store.status(&c) {
        Status::Running | Status::Created => require_manager(&c)?.freeze(),
        _ => Err(Error::invalid("container not running")),
    }
}

/// `resume`: thaw a paused container.
pub fn resume(store: &Store, id: &str) -> Result<()> {
    let c = store.load(id)?;
    match store.status(&c) {
        Status::Paused => require_manager(&c)?.thaw(),
        _ => Err(Error::invalid("container not paused")),
    }
}

/// `ps`: the host pids of the processes in the container's cgroup (none left once it stopped).
pub fn processes(store: &Store, id: &str) -> Result<Vec<i32>> {
    let c = store.load(id)?;
    let m = require_manager(&c)?;
    if !m.exists() {
        return Ok(Vec::new());
    }
    m.pids()
}

/// One `runc events` line.
#[derive(Debug, Clone, Serialize)]
pub struct Event {
    #[serde(rename = "type")]
    pub kind: String,
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<Stats>,
}

/// `events`: with `interval` None, one stats event; otherwise a stats event every interval and an
/// "oom" event whenever the OOM killer struck in between, until the container stops or `emit`
/// fails (a closed pipe ends the stream quietly in the caller).
pub fn events(
    store: &Store,
    id: &str,
    interval: Option<Duration>,
    emit: &mut dyn FnMut(&Event) -> Result<()>,
) -> Result<()> {
    let c = store.load(id)?;
    if store.status(&c) == Status::Stopped {
        return Err(Error::invalid(format!(
            "container with id {id} is not running"
        )));
    }
    let m = require_manager(&c)?;
    let stats = |m: &Manager| -> Result<Event> {
        Ok(Event {
            kind: "stats".into(),
            id: id.to_string(),
            data: Some(m.stats()?),
        })
    };
    let Some(every) = interval else {
        return emit(&stats(&m)?);
    };
    let mut ooms = m.oom_kill_count().unwrap_or(0);
    loop {
        std::thread::sleep(every);
        if store.status(&c) == Status::Stopped || !m.exists() {
            return Ok(());
        }
        let now = m.oom_kill_count().unwrap_or(ooms);
        if now > ooms {
            emit(&Event {
                kind: "oom".into(),
                id: id.to_string(),
                data: None,
            })?;
            ooms = now;
        }
        match stats(&m) {
            Ok(e) => emit(&e)?,
            // Gone between the check and the read: the container ended.
            Err(_) if !m.exists() => return Ok(()),
            Err(e) => log::error!("{e}"),
        }
    }
}

/// The changes `update` asks for; None leaves a value as it is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Update {
    /// From `-r FILE|-`: replaces the flag values below entirely (runc ignores the flags then).
    pub resources: Option<Resources>,
    pub memory: Option<i64>,
    pub memory_swap: Option<i64>,
    pub memory_reservation: Option<i64>,
    pub cpu_shares: Option<u64>,
    pub cpu_quota: Option<i64>,
    pub cpu_period: Option<u64>,
    pub cpu_burst: Option<u64>,
    pub cpu_rt_period: Option<u64>,
    pub cpu_rt_runtime: Option<i64>,
    pub cpu_idle: Option<i64>,
    pub cpuset_cpus: Option<String>,
    pub cpuset_mems: Option<String>,
    pub pids_limit: Option<i64>,
    pub blkio_weight: Option<u16>,
}

/// The container's resources after `u`, following runc's update: values given replace the
/// stored ones; a quota or period given alone keeps the other's stored value; an unlimited
/// memory limit without a swap value lifts swap too; device rules are never touched.
pub fn merge(old: &Resources, u: &Update) -> Resources {
    let mut new = old.clone();
    let mut d = Update::default();
    let u = match &u.resources {
        Some(r) => {
            // A resources document: its values are the update.
            let m = r.memory.clone().unwrap_or_default();
            let c = r.cpu.clone().unwrap_or_default();
            d.memory = m.limit;
            d.memory_swap = m.swap;
            d.memory_reservation = m.reservation;
            d.cpu_shares = c.shares;
            d.cpu_quota = c.quota;
            d.cpu_period = c.period;
            d.cpu_burst = c.burst;
            d.cpu_rt_period = c.realtime_period;
            d.cpu_rt_runtime = c.realtime_runtime;
            d.cpu_idle = c.idle;
            d.cpuset_cpus = c.cpus.filter(|s| !s.is_empty());
            d.cpuset_mems = c.mems.filter(|s| !s.is_empty());
            d.pids_limit = r.pids.as_ref().map(|p| p.limit);
            d.blkio_weight = r.block_io.as_ref().and_then(|b| b.weight);
            if let Some(b) = &r.block_io {
                let nb = new.block_io.get_or_insert_with(Default::default);
                for (src, dst) in [
                    (
                        &b.throttle_read_bps_device,
                        &mut nb.throttle_read_bps_device,
                    ),
                    (
                        &b.throttle_write_bps_device,
                        &mut nb.throttle_write_bps_device,
                    ),
                    (
                        &b.throttle_read_iops_device,
                        &mut nb.throttle_read_iops_device,
                    ),
                    (
                        &b.throttle_write_iops_device,
                        &mut nb.throttle_write_iops_device,
                    ),
                ] {
                    for t in src {
                        match dst
                            .iter_mut()
                            .rev()
                            .find(|x| x.major == t.major && x.minor == t.minor)
                        {
                            Some(x) => x.rate = t.rate,
                            None => dst.push(t.clone()),
                        }
                    }
                }
                for w in &b.weight_device {
                    match nb
                        .weight_device
                        .iter_mut()
                        .rev()
                        .find(|x| x.major == w.major && x.minor == w.minor)
                    {
                        Some(x) => {
                            x.weight = w.weight.or(x.weight);
                            x.leaf_weight = w.leaf_weight.or(x.leaf_weight);
                        }
                        None => nb.weight_device.push(w.clone()),
                    }
                }
            }
            new.unified.extend(r.unified.clone());
            &d
        }
        None => u,
    };
    let memory = u.memory;
    let mut swap = u.memory_swap;
    if memory == Some(-1) && swap.is_none() {
        swap = Some(-1);
    }
    if memory.is_some() || swap.is_some() || u.memory_reservation.is_some() {
        let m = new.memory.get_or_insert_with(Default::default);
        if let Some(v) = memory {
            m.limit = Some(v);
        }
        if let Some(v) = swap {
            m.swap = Some(v);
        }
        if let Some(v) = u.memory_reservation {
            m.reservation = Some(v);
        }
    }
    let cpu_given = u.cpu_shares.is_some()
        || u.cpu_quota.is_some()
        || u.cpu_period.is_some()
        || u.cpu_burst.is_some()
        || u.cpu_rt_period.is_some()
        || u.cpu_rt_runtime.is_some()
        || u.cpu_idle.is_some()
        || u.cpuset_cpus.is_some()
        || u.cpuset_mems.is_some();
    if cpu_given {
        let c = new.cpu.get_or_insert_with(Default::default);
        let (q, p) = (u.cpu_quota.unwrap_or(0), u.cpu_period.unwrap_or(0));
        if q != 0 {
            c.quota = Some(q);
        }
        if p != 0 {
            c.period = Some(p);
        }
        for (v, dst) in [
            (u.cpu_shares, &mut c.shares),
            (u.cpu_burst, &mut c.burst),
            (u.cpu_rt_period, &mut c.realtime_period),
        ] {
            if v.is_some() {
                *dst = v;
            }
        }
        if u.cpu_rt_runtime.is_some() {
            c.realtime_runtime = u.cpu_rt_runtime;
        }
        if u.cpu_idle.is_some() {
            c.idle = u.cpu_idle;
        }
        if u.cpuset_cpus.is_some() {
            c.cpus = u.cpuset_cpus.clone();
        }
        if u.cpuset_mems.is_some() {
            c.mems = u.cpuset_mems.clone();
        }
    }
    if let Some(l) = u.pids_limit {
        new.pids = Some(crate::oci::runtime::Pids { limit: l });
    }
    if let Some(w) = u.blkio_weight.filter(|&w| w != 0) {
        new.block_io.get_or_insert_with(Default::default).weight = Some(w);
    }
    new
}

/// What to write for an update: only the values that change, so a limit the host refuses but
/// the container never asked to change (say a blkio weight on a disk without weights) does not
/// block an unrelated update.
fn delta(new: &Resources, old: &Resources) -> Resources {
    let mut d = Resources::default();
    if new.memory != old.memory {
        let (n, o) = (
            new.memory.clone().unwrap_or_default(),
            old.memory.clone().unwrap_or_default(),
        );
        let mut m = crate::oci::runtime::Memory::default();
        // memory and memory+swap go together: the order of their writes depends on both.
        if n.limit != o.limit || n.swap != o.swap {
            m.limit = n.limit;
            m.swap = n.swap;
        }
        if n.reservation != o.reservation {
            m.reservation = n.reservation;
        }
        d.memory = Some(m);
    }
    if new.cpu != old.cpu {
        let (n, o) = (
            new.cpu.clone().unwrap_or_default(),
            old.cpu.clone().unwrap_or_default(),
        );
        let mut c = crate::oci::runtime::Cpu::default();
        if n.shares != o.shares {
            c.shares = n.shares;
        }
        // cgroup v2 writes quota and period as one value: keep them together.
        if n.quota != o.quota || n.period != o.period {
            c.quota = n.quota;
            c.period = n.period;
        }
        if n.burst != o.burst {
            c.burst = n.burst;
        }
        if n.realtime_period != o.realtime_period || n.realtime_runtime != o.realtime_runtime {
            c.realtime_period = n.realtime_period;
            c.realtime_runtime = n.realtime_runtime;
        }
        if n.idle != o.idle {
            c.idle = n.idle;
        }
        if n.cpus != o.cpus {
            c.cpus = n.cpus.clone();
        }
        if n.mems != o.mems {
            c.mems = n.mems.clone();
        }
        d.cpu = Some(c);
    }
    if new.pids != old.pids {
        d.pids = new.pids.clone();
    }
    if new.block_io != old.block_io {
        let (n, o) = (
            new.block_io.clone().unwrap_or_default(),
            old.block_io.clone().unwrap_or_default(),
        );
        let mut b = n.clone();
        if n.weight == o.weight {
            b.weight = None;
        }
        if n.leaf_weight == o.leaf_weight {
            b.leaf_weight = None;
        }
        d.block_io = Some(b);
    }
    d.unified = new
        .unified
        .iter()
        .filter(|(k, v)| old.unified.get(*k) != Some(v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    d
}

/// `update`: write the changed limits, then keep the new resources in the container's state.
pub fn update(store: &Store, id: &str, u: &Update) -> Result<()> {
    let mut c = store.load(id)?;
    if store.status(&c) == Status::Stopped {
        return Err(Error::invalid("container not running"));
    }
    let m = require_manager(&c)?;
    let old = c
        .spec
        .linux
        .as_ref()
        .and_then(|l| l.resources.clone())
        .unwrap_or_default();
    let new = merge(&old, u);
    m.update(&delta(&new, &old))?;
    c.spec.linux.get_or_insert_with(Default::default).resources = Some(new);
    store.save(&c)
}

/// Hook names of the runtime spec, all run by berth.
const HOOKS: &[&str] = &[
    "prestart",
    "createRuntime",
    "createContainer",
    "startContainer",
    "poststart",
    "poststop",
];

/// Mount options the rootfs code understands (each is checked against it in the tests below).
const MOUNT_OPTIONS: &[&str] = &[
    "async",
    "atime",
    "bind",
    "defaults",
    "dev",
    "diratime",
    "dirsync",
    "exec",
    "lazytime",
    "loud",
    "mand",
    "noatime",
    "nodev",
    "nodiratime",
    "noexec",
    "nolazytime",
    "nomand",
    "norelatime",
    "nostrictatime",
    "nosuid",
    "private",
    "rbind",
    "rdev",
    "relatime",
    "remount",
    "rexec",
    "rnodev",
    "rnoexec",
    "rnosuid",
    "ro",
    "rprivate",
    "rro",
    "rrw",
    "rshared",
    "rslave",
    "rsuid",
    "runbindable",
    "rw",
    "shared",
    "silent",
    "slave",
    "strictatime",
    "suid",
    "sync",
    "tmpcopyup",
    "unbindable",
];

/// Namespace types berth creates and joins.
const NAMESPACES: &[&str] = &[
    "cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts",
];

/// The runtime-spec features document (`runc features`), fields in the spec's (and runc's) order.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Features {
    pub oci_version_min: &'static str,
    pub oci_version_max: &'static str,
    pub hooks: &'static [&'static str],
    pub mount_options: &'static [&'static str],
    pub linux: LinuxFeatures,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LinuxFeatures {
    pub namespaces: &'static [&'static str],
    pub capabilities: &'static [&'static str],
    pub cgroup: serde_json::Value,
    pub seccomp: SeccompFeatures,
    pub apparmor: serde_json::Value,
    pub selinux: serde_json::Value,
    pub intel_rdt: serde_json::Value,
    pub mount_extensions: serde_json::Value,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SeccompFeatures {
    pub enabled: bool,
    pub actions: &'static [&'static str],
    pub operators: &'static [&'static str],
    pub archs: &'static [&'static str],
    pub known_flags: &'static [&'static str],
    pub supported_flags: Vec<&'static str>,
}

/// What this runtime supports, on this kernel.
pub fn features() -> Features {
    use crate::runtime::seccomp as sc;
    let off = serde_json::json!({"enabled": false});
    Features {
        oci_version_min: "1.0.0",
        oci_version_max: crate::runtime::spec::OCI_VERSION,
        hooks: HOOKS,
        mount_options: MOUNT_OPTIONS,
        linux: LinuxFeatures {
            namespaces: NAMESPACES,
            capabilities: crate::runtime::capabilities::all_names(),
            cgroup: serde_json::json!({"v1": true, "v2": true, "systemd": false, "systemdUser": false, "rdma": false}),
            seccomp: SeccompFeatures {
                enabled: true,
                actions: sc::KNOWN_ACTIONS,
                operators: sc::KNOWN_OPERATORS,
                archs: sc::KNOWN_ARCHS,
                known_flags: sc::KNOWN_FLAGS,
                supported_flags: sc::supported_flags(),
            },
            apparmor: off.clone(),
            selinux: off.clone(),
            intel_rdt: off,
            mount_extensions: serde_json::json!({"idmap": {"enabled": false}}),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oci::runtime::{BlockIo, Cpu, Memory, Pids};

    #[test]
    fn features_list_only_what_the_runtime_handles() {
        for o in MOUNT_OPTIONS {
            let parsed = crate::runtime::rootfs::parse_options(&[o.to_string()]);
            assert!(
                parsed.data.is_empty(),
                "mount option {o} is not understood by rootfs::parse_options"
            );
        }
        for n in NAMESPACES {
            assert!(
                crate::runtime::namespaces::kind(n).is_some(),
                "namespace {n}"
            );
        }
        let f = serde_json::to_value(features()).unwrap();
        assert_eq!(f["linux"]["cgroup"]["v2"], true);
        assert_eq!(
            f["linux"]["seccomp"]["actions"].as_array().unwrap().len(),
            8
        );
        assert!(f["linux"]["capabilities"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c == "CAP_SYS_ADMIN"));
    }

    fn old() -> Resources {
        Resources {
            memory: Some(Memory {
                limit: Some(100),
                swap: Some(200),
                ..Default::default()
            }),
            cpu: Some(Cpu {
                shares: Some(1024),
                quota: Some(50_000),
                period: Some(100_000),
                ..Default::default()
            }),
            block_io: Some(BlockIo {
                weight: Some(300),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn flags_replace_stored_values_and_keep_the_rest() {
        let new = merge(
            &old(),
            &Update {
                memory: Some(150),
                cpu_quota: Some(20_000),
                pids_limit: Some(5),
                ..Default::default()
            },
        );
        let m = new.memory.as_ref().unwrap();
        assert_eq!((m.limit, m.swap), (Some(150), Some(200)));
        let c = new.cpu.as_ref().unwrap();
        assert_eq!(
            (c.quota, c.period, c.shares),
            (Some(20_000), Some(100_000), Some(1024))
        );
        assert_eq!(new.pids, Some(Pids { limit: 5 }));
        // Only what changed is written: memory (with its swap partner), the cpu quota/period
        // pair and pids, not the untouched blkio weight.
        let d = delta(&new, &old());
        assert_eq!(d.memory.as_ref().unwrap().limit, Some(150));
        assert_eq!(d.memory.as_ref().unwrap().swap, Some(200));
        assert_eq!(d.cpu.as_ref().unwrap().shares, None);
        assert_eq!(d.cpu.as_ref().unwrap().period, Some(100_000));
        assert!(d.block_io.is_none());
    }

    #[test]
    fn unlimited_memory_without_swap_lifts_swap() {
        let new = merge(
            &old(),
            &Update {
                memory: Some(-1),
                ..Default::default()
            },
        );
        let m = new.memory.unwrap();
        assert_eq!((m.limit, m.swap), (Some(-1), Some(-1)));
    }

    #[test]
    fn resources_document_is_merged_like_the_flags() {
        let doc: Resources = serde_json::from_str(r#"{"memory":{"limit":300},"cpu":{"cpus":"0"},"blockIO":{"weight":400,"throttleReadBpsDevice":[{"major":8,"minor":0,"rate":10}]}}"#).unwrap();
        let new = merge(
            &old(),
            &Update {
                resources: Some(doc),
                memory: Some(1),
                ..Default::default()
            },
        );
        assert_eq!(
            new.memory.as_ref().unwrap().limit,
            Some(300),
            "flags are ignored with -r"
        );
        assert_eq!(new.cpu.as_ref().unwrap().cpus.as_deref(), Some("0"));
        let b = new.block_io.as_ref().unwrap();
        assert_eq!((b.weight, b.throttle_read_bps_device.len()), (Some(400), 1));
        let again = merge(&new, &Update { resources: Some(serde_json::from_str(r#"{"blockIO":{"throttleReadBpsDevice":[{"major":8,"minor":0,"rate":20}]}}"#).unwrap()), ..Default::default() });
        assert_eq!(again.block_io.unwrap().throttle_read_bps_device[0].rate, 20);
    }
}
