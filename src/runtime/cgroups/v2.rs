//! cgroup v2: one directory in the unified hierarchy; device rules are an eBPF program.

use super::devices;
use super::stats::{parse_cpu_list, parse_flat_keyed, parse_u64, BlkioEntry, Hugetlb, Stats};
use super::{ebpf, read_file, read_opt, v1, wait_for, write_file, FreezerState};
use crate::base::{Error, ErrorKind, Result};
use crate::oci::runtime::{BlockIo, Cpu, Memory, Resources};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

const ENOENT: i32 = 2;

/// Create `dir` and the levels above it, enabling on each level the controllers it offers, so the
/// container's cgroup gets every controller the hierarchy can give it.
pub(super) fn create(dir: &Path) -> Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut existing = dir.parent();
    while let Some(p) = existing {
        if p.is_dir() {
            break;
        }
        existing = p.parent();
    }
    let existing = existing
        .ok_or_else(|| Error::not_found(format!("no directory above {}", dir.display())))?;
    if !existing.join("cgroup.controllers").exists() {
        return Err(Error::not_found(format!(
            "{} is not inside a cgroup2 hierarchy",
            dir.display()
        )));
    }
    // The hierarchy's top: the highest ancestor still holding cgroup.controllers.
    let mut root = existing.to_path_buf();
    while let Some(p) = root.parent() {
        if !p.join("cgroup.controllers").exists() {
            break;
        }
        root = p.to_path_buf();
    }
    let rel = dir.strip_prefix(&root).map_err(|_| {
        Error::internal(format!("{} is not under {}", dir.display(), root.display()))
    })?;
    let mut cur: PathBuf = root.clone();
    for comp in rel.components() {
        enable_controllers(&cur)?;
        cur.push(comp);
        match std::fs::create_dir(&cur) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => {
                return Err(Error::from(e).context(format!("create cgroup {}", cur.display())))
            }
        }
    }
    Ok(())
}

/// Enable in `dir`'s cgroup.subtree_control every controller `dir` has. All at once first; if the
/// kernel refuses the set (one controller cannot be delegated, or `dir` has processes of its own),
/// one by one, keeping what it accepts. A controller left disabled surfaces in `set` as the
/// missing file of the limit that needed it.
fn enable_controllers(dir: &Path) -> Result<()> {
    let avail = read_file(dir, "cgroup.controllers")?;
    let enabled = read_opt(dir, "cgroup.subtree_control")?.unwrap_or_default();
    let missing: Vec<&str> = avail
        .split_whitespace()
        .filter(|c| !enabled.split_whitespace().any(|e| e == *c))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let all = missing
        .iter()
        .map(|c| format!("+{c}"))
        .collect::<Vec<_>>()
        .join(" ");
    if write_file(dir, "cgroup.subtree_control", &all).is_err() {
        for c in &missing {
            if let Err(e) = write_file(dir, "cgroup.subtree_control", &format!("+{c}")) {
                log::debug!("{e}");
            }
        }
    }
    Ok(())
}

pub(super) fn set(dir: &Path, r: &Resources, with_devices: bool) -> Result<()> {
    if let Some(p) = &r.pids {
        write_file(dir, "pids.max", &v1::pids_value(p.limit))?;
    }
    if let Some(m) = &r.memory {
        set_memory(dir, m)?;
    }
    if let Some(b) = &r.block_io {
        set_io(dir, b)?;
    }
    if let Some(c) = &r.cpu {
        set_cpu(dir, c)?;
    }
    if with_devices {
        ebpf::attach(dir, &devices::target_state(&r.devices)?)?;
    }
    if let Some(c) = &r.cpu {
        if let Some(v) = c.cpus.as_deref().filter(|s| !s.is_empty()) {
            write_file(dir, "cpuset.cpus", v)?;
        }
        if let Some(v) = c.mems.as_deref().filter(|s| !s.is_empty()) {
            write_file(dir, "cpuset.mems", v)?;
        }
    }
    for h in &r.hugepage_limits {
        write_file(
            dir,
            &format!("hugetlb.{}.max", h.page_size),
            &h.limit.to_string(),
        )?;
    }
    set_unified(dir, &r.unified)
}

/// `linux.resources.unified`: file name → value, written last so it overrides the rest.
pub(super) fn set_unified(dir: &Path, unified: &BTreeMap<String, String>) -> Result<()> {
    for (k, v) in unified {
        if k.is_empty() || k.contains('/') || k == "." || k == ".." {
            return Err(Error::invalid(format!(
                "unified resource {k:?} is not a cgroup file name"
            )));
        }
        write_file(dir, k, v).map_err(|e| {
            if e.errno() == Some(ENOENT) {
                let ctrl = k.split('.').next().unwrap_or(k);
                e.context(format!(
                    "unified resource {k:?} can't be set: is the {ctrl} controller available?"
                ))
            } else {
                e
            }
        })?;
    }
    Ok(())
}

/// -1 is "max", 0 is "unset", anything else is itself (runc's numToStr).
fn num(v: i64) -> Option<String> {
    match v {
        0 => None,
        -1 => Some("max".into()),
        v => Some(v.to_string()),
    }
}

/// memory.swap.max from the spec's memory+swap total (v2 limits swap alone).
pub(super) fn swap_max(swap: Option<i64>, limit: Option<i64>) -> Result<Option<String>> {
    let swap = swap.unwrap_or(0);
    let limit = limit.unwrap_or(0);
    match (swap, limit) {
        (0, -1) => Ok(Some("max".into())),
        (0, _) => Ok(None),
        (-1, _) => Ok(Some("max".into())),
        (_, 0) | (_, -1) => Err(Error::invalid(
            "unable to set swap limit without memory limit",
        )),
        (_, l) if l < 0 => Err(Error::invalid(format!("invalid memory value: {l}"))),
        (s, l) if s < l => Err(Error::invalid(
            "memory+swap limit should be >= memory limit",
        )),
        (s, l) => Ok(Some((s - l).to_string())),
    }
}

fn set_memory(dir: &Path, m: &Memory) -> Result<()> {
    if m.kernel.is_some() || m.kernel_tcp.is_some() {
        log::warn!("kernel memory settings are ignored and will be removed");
    }
    if let Some(s) = m.swappiness {
        return Err(Error::unsupported(format!(
            "memory.swappiness ({s}) is not supported on cgroup v2"
        )));
    }
    if m.disable_oom_killer == Some(true) {
        return Err(Error::unsupported(
            "disableOOMKiller is not supported on cgroup v2",
        ));
    }
    if m.use_hierarchy == Some(false) {
        return Err(Error::unsupported(
            "useHierarchy=false is not supported on cgroup v2 (it is always hierarchical)",
        ));
    }
    if let Some(v) = swap_max(m.swap, m.limit)? {
        if let Err(e) = write_file(dir, "memory.swap.max", &v) {
            // No swap accounting (no memory.swap.max): "no swap limit" already holds.
            if !(v == "max" && e.errno() == Some(ENOENT)) {
                return Err(e);
            }
        }
    }
    if let Some(v) = m.limit.and_then(num) {
        write_file(dir, "memory.max", &v)?;
    }
    if let Some(v) = m.reservation.and_then(num) {
        write_file(dir, "memory.low", &v)?;
    }
    Ok(())
}

/// cpu.weight (1..10000) from cpu shares (2..262144), linearly as runc 1.1 does.
pub(super) fn shares_to_weight(shares: u64) -> u64 {
    let s = shares.clamp(2, 262_144);
    1 + ((s - 2) * 9999) / 262_142
}

/// io.weight (1..10000) from a blkio weight (10..1000).
pub(super) fn blkio_to_io_weight(w: u16) -> u64 {
    let w = (w as u64).clamp(10, 1000);
    1 + (w - 10) * 9999 / 990
}

/// cpu.max from quota and period: "max" or the quota, then the period if given.
pub(super) fn cpu_max(quota: Option<i64>, period: Option<u64>) -> Option<String> {
    let quota = quota.filter(|&q| q != 0);
    let period = period.filter(|&p| p != 0);
    if quota.is_none() && period.is_none() {
        return None;
    }
    let mut s = match quota {
        Some(q) if q > 0 => q.to_string(),
        _ => "max".to_string(),
    };
    if let Some(p) = period {
        s.push_str(&format!(" {p}"));
    }
    Some(s)
}

fn set_cpu(dir: &Path, c: &Cpu) -> Result<()> {
    if c.realtime_period.is_some() || c.realtime_runtime.is_some() {
        return Err(Error::unsupported(
            "realtime cpu limits (realtimePeriod, realtimeRuntime) are not supported on cgroup v2",
        ));
    }
    if let Some(s) = c.shares.filter(|&s| s != 0) {
        write_file(dir, "cpu.weight", &shares_to_weight(s).to_string())?;
    }
    if let Some(v) = cpu_max(c.quota, c.period) {
        write_file(dir, "cpu.max", &v)?;
    }
    if let Some(b) = c.burst {
        write_file(dir, "cpu.max.burst", &b.to_string())?;
    }
    if let Some(i) = c.idle {
        write_file(dir, "cpu.idle", &i.to_string())?;
    }
    Ok(())
}

fn set_io(dir: &Path, b: &BlockIo) -> Result<()> {
    if b.leaf_weight.is_some_and(|w| w != 0)
        || b.weight_device.iter().any(|d| d.leaf_weight.is_some())
    {
        return Err(Error::unsupported(
            "blkio leafWeight is not supported on cgroup v2",
        ));
    }
    // BFQ takes blkio weights as they are; io.weight has its own range. Neither file: the write
    // below fails naming io.weight.
    let bfq = dir.join("io.bfq.weight").exists();
    if let Some(w) = b.weight.filter(|&w| w != 0) {
        if bfq {
            write_file(dir, "io.bfq.weight", &w.to_string())?;
        } else {
            write_file(
                dir,
                "io.weight",
                &format!("default {}", blkio_to_io_weight(w)),
            )?;
        }
    }
    for d in &b.weight_device {
        if let Some(w) = d.weight {
            if bfq {
                write_file(
                    dir,
                    "io.bfq.weight",
                    &format!("{}:{} {w}", d.major, d.minor),
                )?;
            } else {
                write_file(
                    dir,
                    "io.weight",
                    &format!("{}:{} {}", d.major, d.minor, blkio_to_io_weight(w)),
                )?;
            }
        }
    }
    for (key, list) in [
        ("rbps", &b.throttle_read_bps_device),
        ("wbps", &b.throttle_write_bps_device),
        ("riops", &b.throttle_read_iops_device),
        ("wiops", &b.throttle_write_iops_device),
    ] {
        for t in list {
            write_file(
                dir,
                "io.max",
                &format!("{}:{} {key}={}", t.major, t.minor, t.rate),
            )?;
        }
    }
    Ok(())
}

pub(super) fn freeze(dir: &Path, frozen: bool) -> Result<()> {
    let v = if frozen { "1" } else { "0" };
    write_file(dir, "cgroup.freeze", v).map_err(|e| {
        if e.errno() == Some(ENOENT) {
            e.context("the cgroup v2 freezer needs Linux 5.2 or later")
        } else {
            e
        }
    })?;
    let want = format!("frozen {v}");
    let done = wait_for(Duration::from_secs(5), || {
        Ok(read_file(dir, "cgroup.events")?
            .lines()
            .any(|l| l.trim() == want))
    })?;
    if !done {
        if frozen {
            let _ = write_file(dir, "cgroup.freeze", "0");
        }
        return Err(Error::new(
            ErrorKind::Unavailable,
            format!(
                "{} did not report '{want}' within 5s",
                dir.join("cgroup.events").display()
            ),
        ));
    }
    Ok(())
}

pub(super) fn freezer_state(dir: &Path) -> Result<FreezerState> {
    Ok(
        match read_opt(dir, "cgroup.freeze")?.as_deref().map(str::trim) {
            Some("1") => FreezerState::Frozen,
            _ => FreezerState::Thawed,
        },
    )
}

fn number(dir: &Path, file: &str) -> Result<u64> {
    Ok(read_opt(dir, file)?
        .and_then(|s| parse_u64(&s))
        .unwrap_or(0))
}

pub(super) fn hugetlb_stats(dir: &Path) -> Result<BTreeMap<String, Hugetlb>> {
    let mut out = BTreeMap::new();
    for size in super::hugepage_sizes() {
        let events = parse_flat_keyed(
            &read_opt(dir, &format!("hugetlb.{size}.events"))?.unwrap_or_default(),
        );
        out.insert(
            size.clone(),
            Hugetlb {
                usage: number(dir, &format!("hugetlb.{size}.current"))?,
                max: 0,
                failcnt: events.get("max").copied().unwrap_or(0),
            },
        );
    }
    Ok(out)
}

pub(super) fn stats(dir: &Path) -> Result<Stats> {
    let mut s = Stats::default();
    let cpu = parse_flat_keyed(&read_opt(dir, "cpu.stat")?.unwrap_or_default());
    let us = |k: &str| cpu.get(k).copied().unwrap_or(0);
    s.cpu.usage.total = us("usage_usec") * 1000;
    s.cpu.usage.user = us("user_usec") * 1000;
    s.cpu.usage.kernel = us("system_usec") * 1000;
    s.cpu.throttling.periods = us("nr_periods");
    s.cpu.throttling.throttled_periods = us("nr_throttled");
    s.cpu.throttling.throttled_time = us("throttled_usec") * 1000;

    s.cpuset.cpus = parse_cpu_list(&read_opt(dir, "cpuset.cpus.effective")?.unwrap_or_default());
    s.cpuset.mems = parse_cpu_list(&read_opt(dir, "cpuset.mems.effective")?.unwrap_or_default());

    if let Some(stat) = read_opt(dir, "memory.stat")? {
        s.memory.raw = parse_flat_keyed(&stat);
        s.memory.cache = s.memory.raw.get("file").copied().unwrap_or(0);
        let events = parse_flat_keyed(&read_opt(dir, "memory.events")?.unwrap_or_default());
        let u = &mut s.memory.usage;
        u.usage = number(dir, "memory.current")?;
        u.limit = number(dir, "memory.max")?;
        u.max = number(dir, "memory.peak")?;
        u.failcnt = events.get("max").copied().unwrap_or(0);
        // v1 reported swap as memory+swap; keep that meaning.
        let sw = &mut s.memory.swap;
        sw.usage = number(dir, "memory.swap.current")? + s.memory.usage.usage;
        let swap_limit = number(dir, "memory.swap.max")?;
        sw.limit = if swap_limit == u64::MAX || s.memory.usage.limit == u64::MAX {
            u64::MAX
        } else {
            swap_limit + s.memory.usage.limit
        };
    }

    s.pids.current = number(dir, "pids.current")?;
    let max = number(dir, "pids.max")?;
    s.pids.limit = if max == u64::MAX { 0 } else { max };

    for line in read_opt(dir, "io.stat")?.unwrap_or_default().lines() {
        let mut f = line.split_whitespace();
        let Some((maj, min)) = f.next().and_then(|d| d.split_once(':')) else {
            continue;
        };
        let (Ok(major), Ok(minor)) = (maj.parse::<u64>(), min.parse::<u64>()) else {
            continue;
        };
        for kv in f {
            let Some((k, v)) = kv.split_once('=') else {
                continue;
            };
            let Ok(value) = v.parse::<u64>() else {
                continue;
            };
            let (list, op) = match k {
                "rbytes" => (&mut s.blkio.io_service_bytes_recursive, "Read"),
                "wbytes" => (&mut s.blkio.io_service_bytes_recursive, "Write"),
                "rios" => (&mut s.blkio.io_serviced_recursive, "Read"),
                "wios" => (&mut s.blkio.io_serviced_recursive, "Write"),
                _ => continue,
            };
            list.push(BlkioEntry {
                major,
                minor,
                op: op.into(),
                value,
            });
        }
    }
    s.hugetlb = hugetlb_stats(dir)?;
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oci::runtime::{Pids, ThrottleDevice};

    struct Dir(PathBuf);
    impl Dir {
        fn new(name: &str, files: &[(&str, &str)]) -> Dir {
            let d = std::env::temp_dir().join(format!("berth-v2-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&d);
            std::fs::create_dir_all(&d).unwrap();
            for (f, v) in files {
                std::fs::write(d.join(f), v).unwrap();
            }
            Dir(d)
        }
        fn read(&self, f: &str) -> String {
            std::fs::read_to_string(self.0.join(f)).unwrap()
        }
    }
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn conversions() {
        assert_eq!(shares_to_weight(2), 1);
        assert_eq!(shares_to_weight(1024), 39);
        assert_eq!(shares_to_weight(262_144), 10_000);
        assert_eq!(shares_to_weight(1), 1);
        assert_eq!(blkio_to_io_weight(10), 1);
        assert_eq!(blkio_to_io_weight(500), 4950);
        assert_eq!(blkio_to_io_weight(1000), 10_000);
        assert_eq!(
            cpu_max(Some(50000), Some(100000)).as_deref(),
            Some("50000 100000")
        );
        assert_eq!(cpu_max(Some(-1), None).as_deref(), Some("max"));
        assert_eq!(cpu_max(None, Some(20000)).as_deref(), Some("max 20000"));
        assert_eq!(cpu_max(Some(0), Some(0)), None);
        assert_eq!(
            swap_max(Some(200), Some(100)).unwrap().as_deref(),
            Some("100")
        );
        assert_eq!(
            swap_max(Some(100), Some(100)).unwrap().as_deref(),
            Some("0")
        );
        assert_eq!(swap_max(None, Some(-1)).unwrap().as_deref(), Some("max"));
        assert_eq!(
            swap_max(Some(-1), Some(100)).unwrap().as_deref(),
            Some("max")
        );
        assert_eq!(swap_max(None, Some(100)).unwrap(), None);
        assert!(swap_max(Some(50), Some(100)).is_err());
        assert!(swap_max(Some(50), None).is_err());
    }

    #[test]
    fn values_land_in_v2_files() {
        let d = Dir::new(
            "set",
            &[
                ("pids.max", ""),
                ("memory.max", ""),
                ("memory.swap.max", ""),
                ("memory.low", ""),
                ("cpu.weight", ""),
                ("cpu.max", ""),
                ("cpuset.cpus", ""),
                ("cpuset.mems", ""),
                ("io.weight", ""),
                ("io.max", ""),
                ("hugetlb.2MB.max", ""),
                ("memory.high", ""),
            ],
        );
        let mut r = Resources {
            pids: Some(Pids { limit: 20 }),
            memory: Some(Memory {
                limit: Some(100 << 20),
                swap: Some(150 << 20),
                reservation: Some(10 << 20),
                ..Default::default()
            }),
            cpu: Some(Cpu {
                shares: Some(1024),
                quota: Some(25000),
                period: Some(50000),
                cpus: Some("0".into()),
                mems: Some("0".into()),
                ..Default::default()
            }),
            block_io: Some(BlockIo {
                weight: Some(500),
                throttle_write_iops_device: vec![ThrottleDevice {
                    major: 8,
                    minor: 0,
                    rate: 100,
                }],
                ..Default::default()
            }),
            hugepage_limits: vec![crate::oci::runtime::HugepageLimit {
                page_size: "2MB".into(),
                limit: 4 << 20,
            }],
            ..Default::default()
        };
        r.unified.insert("memory.high".into(), "90M".into());
        set(&d.0, &r, false).unwrap();
        assert_eq!(d.read("pids.max"), "20");
        assert_eq!(d.read("memory.max"), (100u64 << 20).to_string());
        assert_eq!(d.read("memory.swap.max"), (50u64 << 20).to_string());
        assert_eq!(d.read("memory.low"), (10u64 << 20).to_string());
        assert_eq!(d.read("cpu.weight"), "39");
        assert_eq!(d.read("cpu.max"), "25000 50000");
        assert_eq!(d.read("cpuset.cpus"), "0");
        assert_eq!(d.read("io.weight"), "default 4950");
        assert_eq!(d.read("io.max"), "8:0 wiops=100");
        assert_eq!(d.read("hugetlb.2MB.max"), (4u64 << 20).to_string());
        assert_eq!(d.read("memory.high"), "90M");
    }

    #[test]
    fn refusals_are_errors() {
        let d = Dir::new("refuse", &[]);
        let r = Resources {
            memory: Some(Memory {
                swappiness: Some(60),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert!(set(&d.0, &r, false)
            .unwrap_err()
            .to_string()
            .contains("swappiness"));
        let r = Resources {
            cpu: Some(Cpu {
                realtime_runtime: Some(1000),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert!(set(&d.0, &r, false)
            .unwrap_err()
            .to_string()
            .contains("realtime"));
        let r = Resources {
            block_io: Some(BlockIo {
                weight: Some(500),
                ..Default::default()
            }),
            ..Default::default()
        };
        let e = set(&d.0, &r, false).unwrap_err().to_string();
        assert!(e.contains("io.weight") && e.contains("default 4950"), "{e}");
        let mut r = Resources::default();
        r.unified.insert("../escape".into(), "1".into());
        assert!(set(&d.0, &r, false).is_err());
        let mut r = Resources::default();
        r.unified.insert("rdma.max".into(), "1".into());
        let e = set(&d.0, &r, false).unwrap_err().to_string();
        assert!(e.contains("rdma controller"), "{e}");
        // Unlimited swap without swap accounting is fine; a number is not.
        let r = Resources {
            memory: Some(Memory {
                limit: Some(-1),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert!(set(&d.0, &r, false)
            .unwrap_err()
            .to_string()
            .contains("memory.max"));
    }

    #[test]
    fn stats_from_v2_files() {
        let d = Dir::new("stats", &[
            ("cpu.stat", "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nnr_periods 3\nnr_throttled 1\nthrottled_usec 7\n"),
            ("memory.stat", "anon 4096\nfile 8192\n"),
            ("memory.current", "12288\n"),
            ("memory.max", "max\n"),
            ("memory.peak", "20480\n"),
            ("memory.swap.current", "0\n"),
            ("memory.swap.max", "max\n"),
            ("pids.current", "3\n"),
            ("pids.max", "100\n"),
            ("io.stat", "8:0 rbytes=4096 wbytes=512 rios=2 wios=1 dbytes=0 dios=0\n"),
            ("cpuset.cpus.effective", "0-1\n"),
        ]);
        let s = stats(&d.0).unwrap();
        assert_eq!(
            (s.cpu.usage.total, s.cpu.usage.user, s.cpu.usage.kernel),
            (1_500_000, 1_000_000, 500_000)
        );
        assert_eq!(s.cpu.throttling.throttled_time, 7000);
        assert_eq!(s.memory.cache, 8192);
        assert_eq!(
            (
                s.memory.usage.usage,
                s.memory.usage.limit,
                s.memory.usage.max
            ),
            (12288, u64::MAX, 20480)
        );
        assert_eq!(s.memory.swap.usage, 12288);
        assert_eq!((s.pids.current, s.pids.limit), (3, 100));
        assert_eq!(s.blkio.io_service_bytes_recursive.len(), 2);
        assert_eq!(
            s.blkio.io_serviced_recursive[1],
            BlkioEntry {
                major: 8,
                minor: 0,
                op: "Write".into(),
                value: 1
            }
        );
        assert_eq!(s.cpuset.cpus, vec![0, 1]);
    }
}
