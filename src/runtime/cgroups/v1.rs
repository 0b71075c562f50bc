//! cgroup v1: one directory per controller (and the unified directory on a hybrid host).

use super::devices::{self, DeviceState};
use super::stats::{parse_cpu_list, parse_flat_keyed, parse_u64, BlkioEntry, MemoryEntry, Stats};
use super::{read_file, read_opt, v2, wait_for, write_file, Manager, Mode};
use crate::base::{Error, Result};
use crate::oci::runtime::{BlockIo, Cpu, Memory, Resources};
use std::path::Path;
use std::time::Duration;

const EINVAL: i32 = 22;

fn controller<'a>(m: &'a Manager, ctrl: &str, what: &str) -> Result<&'a Path> {
    m.path(ctrl).ok_or_else(|| {
        Error::not_found(format!(
            "cannot set {what}: the {ctrl} cgroup controller is not mounted"
        ))
    })
}

/// Create a cpuset cgroup whose every level has cpus and mems (copied from its parent when the
/// kernel left them empty).
pub(super) fn create_cpuset(dir: &Path) -> Result<()> {
    let filled = |d: &Path| -> Result<bool> {
        Ok(read_opt(d, "cpuset.cpus")?.is_some_and(|s| !s.trim().is_empty()))
    };
    if filled(dir)? {
        return Ok(());
    }
    let outside = || {
        Error::not_found(format!(
            "{} is not inside a cpuset hierarchy",
            dir.display()
        ))
    };
    let parent = dir.parent().ok_or_else(outside)?;
    if !filled(parent)? {
        if parent.exists() && !parent.join("cpuset.cpus").exists() {
            return Err(outside());
        }
        create_cpuset(parent)?;
    }
    match std::fs::create_dir(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(Error::from(e).context(format!("create cgroup {}", dir.display()))),
    }
    for f in ["cpuset.cpus", "cpuset.mems"] {
        if read_file(dir, f)?.trim().is_empty() {
            let v = read_file(parent, f)?;
            write_file(dir, f, v.trim())?;
        }
    }
    Ok(())
}

pub(super) fn set(m: &Manager, r: &Resources, with_devices: bool) -> Result<()> {
    if let Some(cpu) = &r.cpu {
        if cpu.cpus.as_deref().is_some_and(|s| !s.is_empty())
            || cpu.mems.as_deref().is_some_and(|s| !s.is_empty())
        {
            let dir = controller(m, "cpuset", "cpuset cpus/mems")?;
            if let Some(c) = cpu.cpus.as_deref().filter(|s| !s.is_empty()) {
                write_file(dir, "cpuset.cpus", c)?;
            }
            if let Some(c) = cpu.mems.as_deref().filter(|s| !s.is_empty()) {
                write_file(dir, "cpuset.mems", c)?;
            }
        }
    }
    if with_devices {
        let dir = controller(m, "devices", "device rules")?;
        let target = devices::target_state(&r.devices)?;
        let current = DeviceState::parse_v1_list(&read_file(dir, "devices.list")?)?;
        for (file, line) in target.v1_transition(&current) {
            write_file(dir, file, &line)?;
        }
    }
    if let Some(mem) = &r.memory {
        set_memory(m, mem)?;
    }
    if let Some(cpu) = &r.cpu {
        set_cpu(m, cpu)?;
    }
    if let Some(p) = &r.pids {
        let dir = controller(m, "pids", "the pids limit")?;
        write_file(dir, "pids.max", &pids_value(p.limit))?;
    }
    if let Some(b) = &r.block_io {
        set_blkio(m, b)?;
    }
    for h in &r.hugepage_limits {
        if let Some(dir) = m.path("hugetlb") {
            write_file(
                dir,
                &format!("hugetlb.{}.limit_in_bytes", h.page_size),
                &h.limit.to_string(),
            )?;
        } else if let Some(dir) = m.path("").filter(|d| has_v2_controller(d, "hugetlb")) {
            write_file(
                dir,
                &format!("hugetlb.{}.max", h.page_size),
                &h.limit.to_string(),
            )?;
        } else {
            return Err(Error::not_found(format!(
                "cannot set the {} hugepage limit: no hugetlb cgroup controller is available",
                h.page_size
            )));
        }
    }
    if !r.unified.is_empty() {
        match (m.mode(), m.path("")) {
            (Mode::Hybrid, Some(dir)) => v2::set_unified(dir, &r.unified)?,
            _ => {
                return Err(Error::invalid(
                    "linux.resources.unified needs cgroup v2; this host has cgroup v1 only",
                ))
            }
        }
    }
    Ok(())
}

/// pids.max: a positive limit, else unlimited.
pub(super) fn pids_value(limit: i64) -> String {
    if limit > 0 {
        limit.to_string()
    } else {
        "max".into()
    }
}

fn has_v2_controller(dir: &Path, c: &str) -> bool {
    // The parent lists what this cgroup may enable; the cgroup's own files are what counts.
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten().any(|e| {
                e.file_name()
                    .to_string_lossy()
                    .starts_with(&format!("{c}."))
            })
        })
        .unwrap_or(false)
}

fn set_memory(m: &Manager, mem: &Memory) -> Result<()> {
    // 0 means "not set" (runc's convention); -1 means unlimited.
    let limit = mem.limit.filter(|&v| v != 0);
    let mut swap = mem.swap.filter(|&v| v != 0);
    if limit == Some(-1) && swap.is_none() {
        // Unlimited memory with swap unset: unlimited memory+swap too.
        swap = Some(-1);
    }
    let any = limit.is_some()
        || swap.is_some()
        || mem.reservation.is_some_and(|v| v != 0)
        || mem.swappiness.is_some()
        || mem.disable_oom_killer == Some(true)
        || mem.use_hierarchy.is_some();
    if mem.kernel.is_some() || mem.kernel_tcp.is_some() {
        log::warn!("kernel memory settings are ignored and will be removed");
    }
    if !any {
        return Ok(());
    }
    let dir = controller(m, "memory", "memory limits")?;
    const MEMSW: &str = "memory.memsw.limit_in_bytes";
    const LIMIT: &str = "memory.limit_in_bytes";
    match (limit, swap) {
        (Some(l), Some(s)) => {
            // memory+swap must stay >= memory at every step: raise it first, lower it last.
            let current = read_opt(dir, MEMSW)?
                .and_then(|v| parse_u64(&v))
                .unwrap_or(0);
            if s == -1 || s as u64 > current {
                write_file(dir, MEMSW, &s.to_string())?;
                write_file(dir, LIMIT, &l.to_string())?;
            } else {
                write_file(dir, LIMIT, &l.to_string())?;
                write_file(dir, MEMSW, &s.to_string())?;
            }
        }
        (Some(l), None) => write_file(dir, LIMIT, &l.to_string())?,
        (None, Some(s)) => write_file(dir, MEMSW, &s.to_string())?,
        (None, None) => {}
    }
    if let Some(r) = mem.reservation.filter(|&v| v != 0) {
        write_file(dir, "memory.soft_limit_in_bytes", &r.to_string())?;
    }
    if let Some(s) = mem.swappiness {
        if s > 100 {
            return Err(Error::invalid(format!(
                "invalid value:{s}. valid memory swappiness range is 0-100"
            )));
        }
        write_file(dir, "memory.swappiness", &s.to_string())?;
    }
    if mem.disable_oom_killer == Some(true) {
        write_file(dir, "memory.oom_control", "1")?;
    }
    if let Some(h) = mem.use_hierarchy {
        write_file(dir, "memory.use_hierarchy", if h { "1" } else { "0" })?;
    }
    Ok(())
}

fn set_cpu(m: &Manager, cpu: &Cpu) -> Result<()> {
    let period = cpu.period.filter(|&v| v != 0);
    let quota = cpu.quota.filter(|&v| v != 0);
    let any = cpu.shares.is_some_and(|v| v != 0)
        || period.is_some()
        || quota.is_some()
        || cpu.burst.is_some()
        || cpu.realtime_period.is_some()
        || cpu.realtime_runtime.is_some()
        || cpu.idle.is_some();
    if !any {
        return Ok(());
    }
    let dir = controller(m, "cpu", "cpu limits")?;
    if let Some(s) = cpu.shares.filter(|&v| v != 0) {
        write_file(dir, "cpu.shares", &s.to_string())?;
        // The kernel clamps silently; say so instead.
        let got = read_file(dir, "cpu.shares")?
            .trim()
            .parse::<u64>()
            .unwrap_or(s);
        if got != s {
            let which = if s > got { "maximum" } else { "minimum" };
            return Err(Error::invalid(format!(
                "the {which} allowed cpu-shares is {got}"
            )));
        }
    }
    // A shorter period can be refused while the old quota/period ratio exceeds the parent's; then
    // set the quota first and the period again.
    let mut period_again = None;
    if let Some(p) = period {
        if let Err(e) = write_file(dir, "cpu.cfs_period_us", &p.to_string()) {
            if e.errno() != Some(EINVAL) || quota.is_none() {
                return Err(e);
            }
            period_again = Some(p);
        }
    }
    if let Some(q) = quota {
        write_file(dir, "cpu.cfs_quota_us", &q.to_string())?;
    }
    if let Some(p) = period_again {
        write_file(dir, "cpu.cfs_period_us", &p.to_string())?;
    }
    if let Some(b) = cpu.burst {
        write_file(dir, "cpu.cfs_burst_us", &b.to_string())?;
    }
    let mut rt_again = None;
    if let Some(p) = cpu.realtime_period {
        if let Err(e) = write_file(dir, "cpu.rt_period_us", &p.to_string()) {
            if e.errno() != Some(EINVAL) || cpu.realtime_runtime.is_none() {
                return Err(e);
            }
            rt_again = Some(p);
        }
    }
    if let Some(r) = cpu.realtime_runtime {
        write_file(dir, "cpu.rt_runtime_us", &r.to_string())?;
    }
    if let Some(p) = rt_again {
        write_file(dir, "cpu.rt_period_us", &p.to_string())?;
    }
    if let Some(i) = cpu.idle {
        write_file(dir, "cpu.idle", &i.to_string())?;
    }
    Ok(())
}

fn set_blkio(m: &Manager, b: &BlockIo) -> Result<()> {
    let any = b.weight.is_some_and(|w| w != 0)
        || b.leaf_weight.is_some_and(|w| w != 0)
        || !b.weight_device.is_empty()
        || !b.throttle_read_bps_device.is_empty()
        || !b.throttle_write_bps_device.is_empty()
        || !b.throttle_read_iops_device.is_empty()
        || !b.throttle_write_iops_device.is_empty();
    if !any {
        return Ok(());
    }
    let dir = controller(m, "blkio", "block I/O limits")?;
    // CFQ offered blkio.weight; with BFQ the files are blkio.bfq.*. Neither: the write below
    // fails naming blkio.weight.
    let bfq = !dir.join("blkio.weight").exists() && dir.join("blkio.bfq.weight").exists();
    let (weight, weight_device) = if bfq {
        ("blkio.bfq.weight", "blkio.bfq.weight_device")
    } else {
        ("blkio.weight", "blkio.weight_device")
    };
    if let Some(w) = b.weight.filter(|&w| w != 0) {
        write_file(dir, weight, &w.to_string())?;
    }
    if let Some(w) = b.leaf_weight.filter(|&w| w != 0) {
        write_file(dir, "blkio.leaf_weight", &w.to_string())?;
    }
    for d in &b.weight_device {
        if let Some(w) = d.weight {
            write_file(dir, weight_device, &format!("{}:{} {w}", d.major, d.minor))?;
        }
        if let Some(w) = d.leaf_weight {
            write_file(
                dir,
                "blkio.leaf_weight_device",
                &format!("{}:{} {w}", d.major, d.minor),
            )?;
        }
    }
    for (file, list) in [
        (
            "blkio.throttle.read_bps_device",
            &b.throttle_read_bps_device,
        ),
        (
            "blkio.throttle.write_bps_device",
            &b.throttle_write_bps_device,
        ),
        (
            "blkio.throttle.read_iops_device",
            &b.throttle_read_iops_device,
        ),
        (
            "blkio.throttle.write_iops_device",
            &b.throttle_write_iops_device,
        ),
    ] {
        for t in list {
            write_file(dir, file, &format!("{}:{} {}", t.major, t.minor, t.rate))?;
        }
    }
    Ok(())
}

pub(super) fn freeze(dir: &Path, frozen: bool) -> Result<()> {
    let want = if frozen { "FROZEN" } else { "THAWED" };
    write_file(dir, "freezer.state", want)?;
    let done = wait_for(Duration::from_secs(5), || {
        let s = read_file(dir, "freezer.state")?;
        if s.trim() == want {
            return Ok(true);
        }
        // FREEZING: tasks in uninterruptible sleep are retried when FROZEN is written again.
        if frozen {
            write_file(dir, "freezer.state", want)?;
        }
        Ok(false)
    })?;
    if !done {
        if frozen {
            let _ = write_file(dir, "freezer.state", "THAWED");
        }
        return Err(Error::new(
            crate::base::ErrorKind::Unavailable,
            format!(
                "unable to set {} to {want}: still in transition after 5s",
                dir.join("freezer.state").display()
            ),
        ));
    }
    Ok(())
}

pub(super) fn freezer_state(dir: &Path) -> Result<super::FreezerState> {
    Ok(match read_file(dir, "freezer.state")?.trim() {
        "FROZEN" => super::FreezerState::Frozen,
        _ => super::FreezerState::Thawed,
    })
}

fn num(dir: &Path, file: &str) -> Result<u64> {
    Ok(read_opt(dir, file)?
        .and_then(|s| parse_u64(&s))
        .unwrap_or(0))
}

fn memory_entry(dir: &Path, prefix: &str) -> Result<MemoryEntry> {
    Ok(MemoryEntry {
        limit: num(dir, &format!("{prefix}limit_in_bytes"))?,
        usage: num(dir, &format!("{prefix}usage_in_bytes"))?,
        max: num(dir, &format!("{prefix}max_usage_in_bytes"))?,
        failcnt: num(dir, &format!("{prefix}failcnt"))?,
    })
}

/// blkio "8:0 Read 4096" lines ("Total" lines dropped; files without an op column give op "").
fn blkio_entries(text: &str) -> Vec<BlkioEntry> {
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let (dev, op, value) = match f.as_slice() {
                [dev, op, v] => (*dev, op.to_string(), *v),
                [dev, v] if dev.contains(':') => (*dev, String::new(), *v),
                _ => return None,
            };
            let (maj, min) = dev.split_once(':')?;
            Some(BlkioEntry {
                major: maj.parse().ok()?,
                minor: min.parse().ok()?,
                op,
                value: value.parse().ok()?,
            })
        })
        .collect()
}

pub(super) fn stats(m: &Manager) -> Result<Stats> {
    let mut s = Stats::default();
    if let Some(dir) = m.path("cpuacct") {
        let u = &mut s.cpu.usage;
        u.total = num(dir, "cpuacct.usage")?;
        u.percpu = read_opt(dir, "cpuacct.usage_percpu")?
            .unwrap_or_default()
            .split_whitespace()
            .filter_map(|v| v.parse().ok())
            .collect();
        // "cpu user system" then one line per CPU (nanoseconds).
        for line in read_opt(dir, "cpuacct.usage_all")?
            .unwrap_or_default()
            .lines()
            .skip(1)
        {
            let f: Vec<u64> = line
                .split_whitespace()
                .filter_map(|v| v.parse().ok())
                .collect();
            if f.len() == 3 {
                u.percpu_user.push(f[1]);
                u.percpu_kernel.push(f[2]);
            }
        }
        // cpuacct.stat counts USER_HZ ticks (100 per second on Linux).
        let st = parse_flat_keyed(&read_opt(dir, "cpuacct.stat")?.unwrap_or_default());
        u.user = st.get("user").copied().unwrap_or(0) * 10_000_000;
        u.kernel = st.get("system").copied().unwrap_or(0) * 10_000_000;
    }
    if let Some(dir) = m.path("cpu") {
        let st = parse_flat_keyed(&read_opt(dir, "cpu.stat")?.unwrap_or_default());
        s.cpu.throttling.periods = st.get("nr_periods").copied().unwrap_or(0);
        s.cpu.throttling.throttled_periods = st.get("nr_throttled").copied().unwrap_or(0);
        s.cpu.throttling.throttled_time = st.get("throttled_time").copied().unwrap_or(0);
    }
    if let Some(dir) = m.path("cpuset") {
        let c = &mut s.cpuset;
        c.cpus = parse_cpu_list(&read_opt(dir, "cpuset.cpus")?.unwrap_or_default());
        c.mems = parse_cpu_list(&read_opt(dir, "cpuset.mems")?.unwrap_or_default());
        c.cpu_exclusive = num(dir, "cpuset.cpu_exclusive")?;
        c.mem_hardwall = num(dir, "cpuset.mem_hardwall")?;
        c.mem_exclusive = num(dir, "cpuset.mem_exclusive")?;
        c.memory_migrate = num(dir, "cpuset.memory_migrate")?;
        c.memory_spread_page = num(dir, "cpuset.memory_spread_page")?;
        c.memory_spread_slab = num(dir, "cpuset.memory_spread_slab")?;
        c.memory_pressure = num(dir, "cpuset.memory_pressure")?;
        c.sched_load_balance = num(dir, "cpuset.sched_load_balance")?;
        c.sched_relax_domain_level = read_opt(dir, "cpuset.sched_relax_domain_level")?
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
    }
    if let Some(dir) = m.path("memory") {
        s.memory.raw = parse_flat_keyed(&read_file(dir, "memory.stat")?);
        s.memory.cache = s.memory.raw.get("cache").copied().unwrap_or(0);
        s.memory.usage = memory_entry(dir, "memory.")?;
        s.memory.swap = memory_entry(dir, "memory.memsw.")?;
        s.memory.kernel = memory_entry(dir, "memory.kmem.")?;
        s.memory.kernel_tcp = memory_entry(dir, "memory.kmem.tcp.")?;
    }
    if let Some(dir) = m.path("pids") {
        s.pids.current = num(dir, "pids.current")?;
        let max = num(dir, "pids.max")?;
        s.pids.limit = if max == u64::MAX { 0 } else { max };
    }
    if let Some(dir) = m.path("blkio") {
        // CFQ's files first, then BFQ's, then the throttle layer's (always there).
        for prefix in ["blkio.", "blkio.bfq.", "blkio.throttle."] {
            let bytes = blkio_entries(
                &read_opt(dir, &format!("{prefix}io_service_bytes_recursive"))?.unwrap_or_default(),
            );
            let ios = blkio_entries(
                &read_opt(dir, &format!("{prefix}io_serviced_recursive"))?.unwrap_or_default(),
            );
            if bytes.is_empty() && ios.is_empty() {
                continue;
            }
            s.blkio.io_service_bytes_recursive = bytes;
            s.blkio.io_serviced_recursive = ios;
            if prefix == "blkio." {
                let b = &mut s.blkio;
                let rd = |f: &str| -> Result<Vec<BlkioEntry>> {
                    Ok(blkio_entries(&read_opt(dir, f)?.unwrap_or_default()))
                };
                b.io_queued_recursive = rd("blkio.io_queued_recursive")?;
                b.io_service_time_recursive = rd("blkio.io_service_time_recursive")?;
                b.io_wait_time_recursive = rd("blkio.io_wait_time_recursive")?;
                b.io_merged_recursive = rd("blkio.io_merged_recursive")?;
                b.io_time_recursive = rd("blkio.time_recursive")?;
                b.sectors_recursive = rd("blkio.sectors_recursive")?;
            }
            break;
        }
    }
    if let Some(dir) = m.path("hugetlb") {
        for size in super::hugepage_sizes() {
            let h = s.hugetlb.entry(size.clone()).or_default();
            h.usage = num(dir, &format!("hugetlb.{size}.usage_in_bytes"))?;
            h.max = num(dir, &format!("hugetlb.{size}.max_usage_in_bytes"))?;
            h.failcnt = num(dir, &format!("hugetlb.{size}.failcnt"))?;
        }
    } else if let Some(dir) = m.path("").filter(|d| has_v2_controller(d, "hugetlb")) {
        s.hugetlb = v2::hugetlb_stats(dir)?;
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oci::runtime::{DeviceCgroup, HugepageLimit, Pids, ThrottleDevice, WeightDevice};
    use std::collections::BTreeMap;
    use std::path::PathBuf;

    /// A fake v1 tree of plain files in a temp dir: writes land in the files, reads see them.
    struct Fake {
        root: PathBuf,
        m: Manager,
    }

    impl Fake {
        fn new(name: &str, files: &[(&str, &str, &str)]) -> Fake {
            let root = std::env::temp_dir().join(format!("berth-v1-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&root);
            let mut paths = BTreeMap::new();
            for c in [
                "memory", "cpu", "cpuacct", "cpuset", "pids", "blkio", "devices", "freezer",
            ] {
                let d = root.join(if c == "cpuacct" { "cpu" } else { c });
                std::fs::create_dir_all(&d).unwrap();
                paths.insert(c.to_string(), d);
            }
            for (c, f, v) in files {
                std::fs::write(root.join(c).join(f), v).unwrap();
            }
            Fake {
                m: Manager::from_paths(Mode::V1, paths),
                root,
            }
        }
        fn read(&self, c: &str, f: &str) -> String {
            std::fs::read_to_string(self.root.join(c).join(f)).unwrap()
        }
    }

    impl Drop for Fake {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.root);
        }
    }

    const MEM_FILES: &[(&str, &str, &str)] = &[
        ("memory", "memory.limit_in_bytes", ""),
        (
            "memory",
            "memory.memsw.limit_in_bytes",
            "9223372036854771712",
        ),
        ("memory", "memory.soft_limit_in_bytes", ""),
        ("memory", "memory.swappiness", ""),
        ("memory", "memory.oom_control", ""),
    ];

    #[test]
    fn memory_values_and_order() {
        let f = Fake::new("mem", MEM_FILES);
        let r = Resources {
            memory: Some(Memory {
                limit: Some(100 << 20),
                swap: Some(200 << 20),
                reservation: Some(50 << 20),
                swappiness: Some(10),
                disable_oom_killer: Some(true),
                ..Default::default()
            }),
            ..Default::default()
        };
        set(&f.m, &r, false).unwrap();
        assert_eq!(
            f.read("memory", "memory.limit_in_bytes"),
            (100u64 << 20).to_string()
        );
        assert_eq!(
            f.read("memory", "memory.memsw.limit_in_bytes"),
            (200u64 << 20).to_string()
        );
        assert_eq!(
            f.read("memory", "memory.soft_limit_in_bytes"),
            (50u64 << 20).to_string()
        );
        assert_eq!(f.read("memory", "memory.swappiness"), "10");
        assert_eq!(f.read("memory", "memory.oom_control"), "1");
        let bad = Resources {
            memory: Some(Memory {
                swappiness: Some(101),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert!(set(&f.m, &bad, false)
            .unwrap_err()
            .to_string()
            .contains("swappiness"));
    }

    #[test]
    fn unlimited_memory_lifts_swap_too_and_missing_files_are_named() {
        let f = Fake::new("memunl", &MEM_FILES[..2]);
        let r = Resources {
            memory: Some(Memory {
                limit: Some(-1),
                ..Default::default()
            }),
            ..Default::default()
        };
        set(&f.m, &r, false).unwrap();
        assert_eq!(f.read("memory", "memory.limit_in_bytes"), "-1");
        assert_eq!(f.read("memory", "memory.memsw.limit_in_bytes"), "-1");
        let r = Resources {
            memory: Some(Memory {
                reservation: Some(1),
                ..Default::default()
            }),
            ..Default::default()
        };
        let e = set(&f.m, &r, false).unwrap_err().to_string();
        assert!(
            e.contains("memory.soft_limit_in_bytes") && e.contains("\"1\""),
            "{e}"
        );
    }

    #[test]
    fn cpu_cpuset_pids_blkio_values() {
        let f = Fake::new(
            "cpu",
            &[
                ("cpu", "cpu.shares", ""),
                ("cpu", "cpu.cfs_period_us", ""),
                ("cpu", "cpu.cfs_quota_us", ""),
                ("cpuset", "cpuset.cpus", ""),
                ("cpuset", "cpuset.mems", ""),
                ("pids", "pids.max", ""),
                ("blkio", "blkio.bfq.weight", ""),
                ("blkio", "blkio.bfq.weight_device", ""),
                ("blkio", "blkio.throttle.read_bps_device", ""),
            ],
        );
        let r = Resources {
            cpu: Some(Cpu {
                shares: Some(512),
                quota: Some(50000),
                period: Some(100000),
                cpus: Some("0".into()),
                mems: Some("0".into()),
                ..Default::default()
            }),
            pids: Some(Pids { limit: 10 }),
            block_io: Some(BlockIo {
                weight: Some(300),
                weight_device: vec![WeightDevice {
                    major: 8,
                    minor: 0,
                    weight: Some(200),
                    leaf_weight: None,
                }],
                throttle_read_bps_device: vec![ThrottleDevice {
                    major: 8,
                    minor: 0,
                    rate: 1048576,
                }],
                ..Default::default()
            }),
            ..Default::default()
        };
        set(&f.m, &r, false).unwrap();
        assert_eq!(f.read("cpu", "cpu.shares"), "512");
        assert_eq!(f.read("cpu", "cpu.cfs_quota_us"), "50000");
        assert_eq!(f.read("cpu", "cpu.cfs_period_us"), "100000");
        assert_eq!(f.read("cpuset", "cpuset.cpus"), "0");
        assert_eq!(f.read("pids", "pids.max"), "10");
        assert_eq!(f.read("blkio", "blkio.bfq.weight"), "300");
        assert_eq!(f.read("blkio", "blkio.bfq.weight_device"), "8:0 200");
        assert_eq!(
            f.read("blkio", "blkio.throttle.read_bps_device"),
            "8:0 1048576"
        );
        set(
            &f.m,
            &Resources {
                pids: Some(Pids { limit: -1 }),
                ..Default::default()
            },
            false,
        )
        .unwrap();
        assert_eq!(f.read("pids", "pids.max"), "max");
    }

    #[test]
    fn blkio_weight_without_any_weight_file_is_an_error_naming_it() {
        let f = Fake::new("blkio", &[]);
        let r = Resources {
            block_io: Some(BlockIo {
                weight: Some(500),
                ..Default::default()
            }),
            ..Default::default()
        };
        let e = set(&f.m, &r, false).unwrap_err().to_string();
        assert!(e.contains("blkio.weight") && e.contains("\"500\""), "{e}");
    }

    #[test]
    fn devices_are_written_as_a_transition_from_devices_list() {
        let f = Fake::new(
            "dev",
            &[
                ("devices", "devices.list", "a *:* rwm\n"),
                ("devices", "devices.allow", ""),
                ("devices", "devices.deny", ""),
            ],
        );
        let r = Resources {
            devices: vec![DeviceCgroup {
                allow: false,
                access: Some("rwm".into()),
                ..Default::default()
            }],
            ..Default::default()
        };
        set(&f.m, &r, true).unwrap();
        // Files keep only the last write: the reset went to deny, the last allow is /dev/net/tun.
        assert_eq!(f.read("devices", "devices.deny"), "a");
        assert_eq!(f.read("devices", "devices.allow"), "c 10:200 rwm");
        // update() leaves devices alone.
        std::fs::write(f.root.join("devices/devices.deny"), "").unwrap();
        set(&f.m, &r, false).unwrap();
        assert_eq!(f.read("devices", "devices.deny"), "");
    }

    #[test]
    fn hugetlb_and_unified_need_a_place_to_go() {
        let f = Fake::new("huge", &[]);
        let r = Resources {
            hugepage_limits: vec![HugepageLimit {
                page_size: "2MB".into(),
                limit: 1 << 21,
            }],
            ..Default::default()
        };
        assert!(set(&f.m, &r, false)
            .unwrap_err()
            .to_string()
            .contains("hugetlb"));
        let mut u = Resources::default();
        u.unified.insert("memory.high".into(), "1G".into());
        assert!(set(&f.m, &u, false)
            .unwrap_err()
            .to_string()
            .contains("unified"));
    }

    #[test]
    fn stats_from_files() {
        let f = Fake::new(
            "stats",
            &[
                ("cpu", "cpuacct.usage", "3000\n"),
                ("cpu", "cpuacct.usage_percpu", "1000 2000 \n"),
                (
                    "cpu",
                    "cpuacct.usage_all",
                    "cpu user system\n0 600 400\n1 1500 500\n",
                ),
                ("cpu", "cpuacct.stat", "user 2\nsystem 1\n"),
                (
                    "cpu",
                    "cpu.stat",
                    "nr_periods 4\nnr_throttled 1\nthrottled_time 77\n",
                ),
                ("memory", "memory.stat", "cache 4096\nrss 8192\n"),
                ("memory", "memory.usage_in_bytes", "12288\n"),
                ("memory", "memory.limit_in_bytes", "104857600\n"),
                ("memory", "memory.max_usage_in_bytes", "20000\n"),
                ("memory", "memory.failcnt", "0\n"),
                ("pids", "pids.current", "2\n"),
                ("pids", "pids.max", "max\n"),
                ("cpuset", "cpuset.cpus", "0-1\n"),
                ("cpuset", "cpuset.sched_relax_domain_level", "-1\n"),
                (
                    "blkio",
                    "blkio.throttle.io_service_bytes_recursive",
                    "8:0 Read 4096\n8:0 Write 0\nTotal 4096\n",
                ),
                (
                    "blkio",
                    "blkio.throttle.io_serviced_recursive",
                    "8:0 Read 1\n8:0 Write 0\nTotal 1\n",
                ),
            ],
        );
        let s = stats(&f.m).unwrap();
        assert_eq!(s.cpu.usage.total, 3000);
        assert_eq!(s.cpu.usage.percpu, vec![1000, 2000]);
        assert_eq!(s.cpu.usage.percpu_user, vec![600, 1500]);
        assert_eq!(s.cpu.usage.percpu_kernel, vec![400, 500]);
        assert_eq!(
            (s.cpu.usage.user, s.cpu.usage.kernel),
            (20_000_000, 10_000_000)
        );
        assert_eq!(s.cpu.throttling.throttled_time, 77);
        assert_eq!(s.memory.cache, 4096);
        assert_eq!(s.memory.usage.usage, 12288);
        assert_eq!(s.memory.usage.limit, 104857600);
        assert_eq!(s.memory.raw["rss"], 8192);
        assert_eq!((s.pids.current, s.pids.limit), (2, 0));
        assert_eq!(s.cpuset.cpus, vec![0, 1]);
        assert_eq!(s.cpuset.sched_relax_domain_level, -1);
        assert_eq!(
            s.blkio.io_service_bytes_recursive[0],
            BlkioEntry {
                major: 8,
                minor: 0,
                op: "Read".into(),
                value: 4096
            }
        );
        assert_eq!(s.blkio.io_serviced_recursive.len(), 2);
    }
}
