//! A running container's cgroups, read and written by the daemon: `docker stats` samples
//! (cgroup v1 and v2), `docker top` (the host's `ps`, filtered to the container's pids) and
//! `docker update` of a running container's limits.
//!
//! The cgroup directories come from `/proc/<init pid>/cgroup` joined with the cgroup mounts in
//! `/proc/self/mountinfo`, so hybrid hosts (v1 controllers plus a v2 mount) are handled alike.

use crate::api::container::{
    BlkioStats, CpuStats, CpuUsage, MemoryStats, PidsStats, Resources, StatsResponse,
    ThrottlingData, TopResponse,
};
use crate::base::error::Context;
use crate::base::{Error, Result};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Where a process's cgroups are: v1 controller → directory, and the v2 directory.
#[derive(Debug, Clone, Default)]
pub struct Cgroups {
    pub v1: BTreeMap<String, PathBuf>,
    pub v2: Option<PathBuf>,
}

impl Cgroups {
    /// Only a v2 hierarchy with controllers counts as "v2 mode" for reading stats.
    pub fn unified(&self) -> bool {
        self.v1.is_empty() && self.v2.is_some()
    }
}

/// Parse the cgroup mounts (mount point, is v2, v1 controllers) of /proc/self/mountinfo.
pub fn cgroup_mounts(mountinfo: &str) -> Vec<(PathBuf, bool, Vec<String>)> {
    let mut out = Vec::new();
    for l in mountinfo.lines() {
        let Some((pre, post)) = l.split_once(" - ") else {
            continue;
        };
        let f: Vec<&str> = pre.split(' ').collect();
        let p: Vec<&str> = post.split(' ').collect();
        if f.len() < 5 || p.len() < 3 {
            continue;
        }
        let root = f[3];
        let point = PathBuf::from(f[4]);
        match p[0] {
            "cgroup2" => out.push((point, true, vec![root.to_string()])),
            "cgroup" => {
                let ctrls: Vec<String> = p[2]
                    .split(',')
                    .filter(|o| !matches!(*o, "rw" | "ro") && !o.contains('='))
                    .map(str::to_string)
                    .collect();
                let mut v = vec![root.to_string()];
                v.extend(ctrls);
                out.push((point, false, v));
            }
            _ => {}
        }
    }
    out
}

/// The cgroup directories of `pid`.
pub fn cgroups_of(pid: i64) -> Result<Cgroups> {
    let own = std::fs::read_to_string(format!("/proc/{pid}/cgroup"))
        .ctx(|| format!("read /proc/{pid}/cgroup"))?;
    let info =
        std::fs::read_to_string("/proc/self/mountinfo").ctx(|| "read /proc/self/mountinfo")?;
    Ok(resolve(&own, &cgroup_mounts(&info)))
}

/// Join `/proc/<pid>/cgroup` lines with the mounts (mount root is subtracted from the path).
pub fn resolve(proc_cgroup: &str, mounts: &[(PathBuf, bool, Vec<String>)]) -> Cgroups {
    let mut cg = Cgroups::default();
    for l in proc_cgroup.lines() {
        let mut parts = l.splitn(3, ':');
        let (Some(_), Some(ctrls), Some(path)) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        let join = |point: &Path, root: &str| {
            let rel = path.strip_prefix(root).unwrap_or(path);
            point.join(rel.trim_start_matches('/'))
        };
        if ctrls.is_empty() {
            if let Some((point, _, v)) = mounts.iter().find(|(_, v2, _)| *v2) {
                cg.v2 = Some(join(point, &v[0]));
            }
            continue;
        }
        for ctrl in ctrls.split(',') {
            let ctrl = ctrl.trim_start_matches("name=");
            if let Some((point, _, v)) = mounts
                .iter()
                .find(|(_, v2, v)| !*v2 && v[1..].iter().any(|c| c == ctrl))
            {
                cg.v1.insert(ctrl.to_string(), join(point, &v[0]));
            }
        }
    }
    cg
}

fn read_u64(p: &Path) -> Option<u64> {
    std::fs::read_to_string(p).ok()?.trim().parse().ok()
}

fn read_kv(p: &Path) -> BTreeMap<String, u64> {
    std::fs::read_to_string(p)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            Some((it.next()?.to_string(), it.next()?.parse().ok()?))
        })
        .collect()
}

/// Host CPU time in nanoseconds (the sum of /proc/stat's first line, USER_HZ = 100).
pub fn system_cpu_usage() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/stat").ok()?;
    let line = s.lines().next()?;
    let ticks: u64 = line
        .split_whitespace()
        .skip(1)
        .take(8)
        .filter_map(|v| v.parse::<u64>().ok())
        .sum();
    Some(ticks * 10_000_000)
}

/// One stats sample of the cgroups of a container.
pub fn sample(cg: &Cgroups, ncpu: u32, mem_total: u64) -> StatsResponse {
    let mut s = StatsResponse {
        read: crate::base::time::now_rfc3339(),
        ..Default::default()
    };
    s.cpu_stats.system_cpu_usage = system_cpu_usage();
    s.cpu_stats.online_cpus = Some(ncpu);
    s.blkio_stats = BlkioStats::default();
    if let (true, Some(dir)) = (cg.unified(), cg.v2.as_ref()) {
        let cpu = read_kv(&dir.join("cpu.stat"));
        s.cpu_stats.cpu_usage = CpuUsage {
            total_usage: cpu.get("usage_usec").copied().unwrap_or(0) * 1000,
            percpu_usage: None,
            usage_in_kernelmode: cpu.get("system_usec").copied().unwrap_or(0) * 1000,
            usage_in_usermode: cpu.get("user_usec").copied().unwrap_or(0) * 1000,
        };
        s.cpu_stats.throttling_data = ThrottlingData {
            periods: cpu.get("nr_periods").copied().unwrap_or(0),
            throttled_periods: cpu.get("nr_throttled").copied().unwrap_or(0),
            throttled_time: cpu.get("throttled_usec").copied().unwrap_or(0) * 1000,
        };
        let limit = std::fs::read_to_string(dir.join("memory.max"))
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
            .unwrap_or(mem_total);
        s.memory_stats = MemoryStats {
            usage: read_u64(&dir.join("memory.current")),
            max_usage: None,
            stats: Some(read_kv(&dir.join("memory.stat"))),
            failcnt: None,
            limit: Some(limit),
        };
        s.pids_stats = PidsStats {
            current: read_u64(&dir.join("pids.current")),
            limit: read_u64(&dir.join("pids.max")),
        };
        return s;
    }
    if let Some(dir) = cg.v1.get("cpuacct") {
        let st = read_kv(&dir.join("cpuacct.stat"));
        let percpu: Option<Vec<u64>> = std::fs::read_to_string(dir.join("cpuacct.usage_percpu"))
            .ok()
            .map(|v| {
                v.split_whitespace()
                    .filter_map(|x| x.parse().ok())
                    .collect()
            });
        s.cpu_stats.cpu_usage = CpuUsage {
            total_usage: read_u64(&dir.join("cpuacct.usage")).unwrap_or(0),
            percpu_usage: percpu,
            usage_in_kernelmode: st.get("system").copied().unwrap_or(0) * 10_000_000,
            usage_in_usermode: st.get("user").copied().unwrap_or(0) * 10_000_000,
        };
    }
    if let Some(dir) = cg.v1.get("cpu") {
        let st = read_kv(&dir.join("cpu.stat"));
        s.cpu_stats.throttling_data = ThrottlingData {
            periods: st.get("nr_periods").copied().unwrap_or(0),
            throttled_periods: st.get("nr_throttled").copied().unwrap_or(0),
            throttled_time: st.get("throttled_time").copied().unwrap_or(0),
        };
    }
    if let Some(dir) = cg.v1.get("memory") {
        let limit = read_u64(&dir.join("memory.limit_in_bytes")).map(|l| l.min(mem_total));
        s.memory_stats = MemoryStats {
            usage: read_u64(&dir.join("memory.usage_in_bytes")),
            max_usage: read_u64(&dir.join("memory.max_usage_in_bytes")),
            stats: Some(read_kv(&dir.join("memory.stat"))),
            failcnt: read_u64(&dir.join("memory.failcnt")),
            limit,
        };
    }
    if let Some(dir) = cg.v1.get("pids") {
        let limit = std::fs::read_to_string(dir.join("pids.max"))
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok());
        s.pids_stats = PidsStats {
            current: read_u64(&dir.join("pids.current")),
            limit,
        };
    }
    s
}

/// Fill `precpu_stats`/`preread` of `now` from the previous sample.
pub fn with_previous(mut now: StatsResponse, prev: Option<&StatsResponse>) -> StatsResponse {
    match prev {
        Some(p) => {
            now.precpu_stats = p.cpu_stats.clone();
            now.preread = p.read.clone();
        }
        None => {
            now.precpu_stats = CpuStats::default();
            now.preread = super::state::ZERO_TIME.into();
        }
    }
    now
}

/// Did the OOM killer kill a process in the cgroup at `cgroup_path` (e.g. `/docker/<id>`)?
/// Read before the runtime removes the cgroup: v1 `memory.oom_control`'s `oom_kill`, or v2
/// `memory.events`' `oom_kill`.
pub fn oom_killed(cgroup_path: &str) -> bool {
    let Ok(info) = std::fs::read_to_string("/proc/self/mountinfo") else {
        return false;
    };
    let rel = cgroup_path.trim_start_matches('/');
    for (point, v2, v) in cgroup_mounts(&info) {
        let (dir, file) = if v2 {
            (point.join(rel), "memory.events")
        } else if v[1..].iter().any(|c| c == "memory") {
            (point.join(rel), "memory.oom_control")
        } else {
            continue;
        };
        if read_kv(&dir.join(file))
            .get("oom_kill")
            .copied()
            .unwrap_or(0)
            > 0
        {
            return true;
        }
    }
    false
}

/// The pids of a container (its init's cgroup).
pub fn pids(cg: &Cgroups) -> Vec<i64> {
    let dir = cg
        .v1
        .get("pids")
        .or_else(|| cg.v1.get("memory"))
        .or_else(|| cg.v1.get("cpu"))
        .or(cg.v2.as_ref());
    let Some(dir) = dir else { return Vec::new() };
    std::fs::read_to_string(dir.join("cgroup.procs"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect()
}

/// `docker top`: the host's `ps <args>`, keeping the header and the container's processes
/// (Docker's `parsePSOutput`).
pub fn top(pids: &[i64], ps_args: &str) -> Result<TopResponse> {
    let args: Vec<&str> = if ps_args.is_empty() {
        vec!["-ef"]
    } else {
        ps_args.split_whitespace().collect()
    };
    let out = std::process::Command::new("ps")
        .args(&args)
        .output()
        .map_err(|e| Error::internal(format!("Error running ps: {e}")))?;
    if !out.status.success() {
        return Err(Error::internal(format!(
            "ps: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    parse_ps(&String::from_utf8_lossy(&out.stdout), pids)
}

pub fn parse_ps(output: &str, pids: &[i64]) -> Result<TopResponse> {
    let mut lines = output.lines();
    let header = lines.next().unwrap_or("");
    let titles: Vec<String> = header.split_whitespace().map(str::to_string).collect();
    let pid_col = titles
        .iter()
        .position(|t| t == "PID")
        .ok_or_else(|| Error::invalid("Couldn't find PID field in ps output"))?;
    let mut procs = Vec::new();
    for l in lines.filter(|l| !l.trim().is_empty()) {
        let fields: Vec<&str> = l.split_whitespace().collect();
        let Some(pid) = fields.get(pid_col).and_then(|p| p.parse::<i64>().ok()) else {
            continue;
        };
        if !pids.contains(&pid) {
            continue;
        }
        let n = titles.len();
        let mut row: Vec<String> = fields.iter().take(n - 1).map(|s| s.to_string()).collect();
        row.push(
            fields
                .iter()
                .skip(n - 1)
                .cloned()
                .collect::<Vec<_>>()
                .join(" "),
        );
        procs.push(row);
    }
    Ok(TopResponse {
        Titles: titles,
        Processes: procs,
    })
}

fn write(dir: &Path, file: &str, value: &str) -> Result<()> {
    std::fs::write(dir.join(file), value)
        .ctx(|| format!("write {value:?} to {}", dir.join(file).display()))
}

/// Apply changed limits to a running container's cgroups (`docker update`).
pub fn update(cg: &Cgroups, r: &Resources) -> Result<()> {
    if let (true, Some(dir)) = (cg.unified(), cg.v2.as_ref()) {
        if r.Memory > 0 {
            write(dir, "memory.max", &r.Memory.to_string())?;
        }
        if r.MemorySwap > 0 && r.Memory > 0 {
            write(
                dir,
                "memory.swap.max",
                &(r.MemorySwap - r.Memory).to_string(),
            )?;
        } else if r.MemorySwap == -1 {
            write(dir, "memory.swap.max", "max")?;
        }
        if r.MemoryReservation > 0 {
            write(dir, "memory.low", &r.MemoryReservation.to_string())?;
        }
        if r.CpuShares > 0 {
            // runc's shares → weight conversion.
            let w = 1 + ((r.CpuShares.clamp(2, 262144) as u64 - 2) * 9999) / 262142;
            write(dir, "cpu.weight", &w.to_string())?;
        }
        if r.NanoCpus > 0 || r.CpuQuota != 0 || r.CpuPeriod > 0 {
            let period = if r.CpuPeriod > 0 {
                r.CpuPeriod
            } else {
                super::spec::CPU_PERIOD
            };
            let quota = if r.NanoCpus > 0 {
                r.NanoCpus * period / 1_000_000_000
            } else {
                r.CpuQuota
            };
            let q = if quota > 0 {
                quota.to_string()
            } else {
                "max".into()
            };
            write(dir, "cpu.max", &format!("{q} {period}"))?;
        }
        if !r.CpusetCpus.is_empty() {
            write(dir, "cpuset.cpus", &r.CpusetCpus)?;
        }
        if !r.CpusetMems.is_empty() {
            write(dir, "cpuset.mems", &r.CpusetMems)?;
        }
        if let Some(p) = r.PidsLimit {
            write(
                dir,
                "pids.max",
                &if p > 0 { p.to_string() } else { "max".into() },
            )?;
        }
        return Ok(());
    }
    if let Some(dir) = cg.v1.get("memory") {
        // Raising memory above the current memsw limit needs memsw first; lowering the other way.
        let cur_swap = read_u64(&dir.join("memory.memsw.limit_in_bytes"));
        let swap = if r.MemorySwap != 0 {
            Some(r.MemorySwap)
        } else {
            None
        };
        let order_swap_first =
            matches!((swap, cur_swap), (Some(s), Some(c)) if s > 0 && (s as u64) > c);
        if order_swap_first {
            if let Some(s) = swap {
                write(dir, "memory.memsw.limit_in_bytes", &s.to_string())?;
            }
        }
        if r.Memory > 0 {
            write(dir, "memory.limit_in_bytes", &r.Memory.to_string())?;
        }
        if !order_swap_first {
            if let Some(s) = swap {
                if dir.join("memory.memsw.limit_in_bytes").exists() {
                    write(dir, "memory.memsw.limit_in_bytes", &s.to_string())?;
                }
            }
        }
        if r.MemoryReservation > 0 {
            write(
                dir,
                "memory.soft_limit_in_bytes",
                &r.MemoryReservation.to_string(),
            )?;
        }
    }
    if let Some(dir) = cg.v1.get("cpu") {
        if r.CpuShares > 0 {
            write(dir, "cpu.shares", &r.CpuShares.to_string())?;
        }
        if r.NanoCpus > 0 {
            write(
                dir,
                "cpu.cfs_period_us",
                &super::spec::CPU_PERIOD.to_string(),
            )?;
            write(
                dir,
                "cpu.cfs_quota_us",
                &(r.NanoCpus * super::spec::CPU_PERIOD / 1_000_000_000).to_string(),
            )?;
        } else {
            if r.CpuPeriod > 0 {
                write(dir, "cpu.cfs_period_us", &r.CpuPeriod.to_string())?;
            }
            if r.CpuQuota != 0 {
                write(dir, "cpu.cfs_quota_us", &r.CpuQuota.to_string())?;
            }
        }
    }
    if let Some(dir) = cg.v1.get("cpuset") {
        if !r.CpusetCpus.is_empty() {
            write(dir, "cpuset.cpus", &r.CpusetCpus)?;
        }
        if !r.CpusetMems.is_empty() {
            write(dir, "cpuset.mems", &r.CpusetMems)?;
        }
    }
    if let Some(dir) = cg.v1.get("pids") {
        if let Some(p) = r.PidsLimit {
            write(
                dir,
                "pids.max",
                &if p > 0 { p.to_string() } else { "max".into() },
            )?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const MOUNTINFO: &str = "\
25 30 0:23 / /sys/fs/cgroup rw,nosuid - tmpfs tmpfs ro,mode=755
26 25 0:24 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:5 - cgroup2 cgroup2 rw,nsdelegate
27 25 0:25 / /sys/fs/cgroup/memory rw,nosuid shared:6 - cgroup cgroup rw,memory
28 25 0:26 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:7 - cgroup cgroup rw,cpu,cpuacct
29 25 0:27 / /sys/fs/cgroup/pids rw,nosuid shared:8 - cgroup cgroup rw,pids
30 25 0:28 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,name=systemd
";

    #[test]
    fn hybrid_paths() {
        let mounts = cgroup_mounts(MOUNTINFO);
        assert_eq!(mounts.len(), 5);
        let own = "12:pids:/docker/abc\n5:memory:/docker/abc\n4:cpu,cpuacct:/docker/abc\n1:name=systemd:/docker/abc\n0::/docker/abc\n";
        let cg = resolve(own, &mounts);
        assert_eq!(
            cg.v1["memory"],
            PathBuf::from("/sys/fs/cgroup/memory/docker/abc")
        );
        assert_eq!(
            cg.v1["cpuacct"],
            PathBuf::from("/sys/fs/cgroup/cpu,cpuacct/docker/abc")
        );
        assert_eq!(
            cg.v1["pids"],
            PathBuf::from("/sys/fs/cgroup/pids/docker/abc")
        );
        assert_eq!(
            cg.v2,
            Some(PathBuf::from("/sys/fs/cgroup/unified/docker/abc"))
        );
        assert!(!cg.unified());
    }

    #[test]
    fn pure_v2_paths() {
        let mounts = cgroup_mounts("24 30 0:22 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n");
        let cg = resolve("0::/docker/abc\n", &mounts);
        assert!(cg.unified());
        assert_eq!(cg.v2, Some(PathBuf::from("/sys/fs/cgroup/docker/abc")));
    }

    #[test]
    fn ps_output_filtered_to_the_container() {
        let out = "UID          PID    PPID  C STIME TTY          TIME CMD\nroot           1       0  0 10:00 ?        00:00:01 /sbin/init splash\nroot         500       1  0 10:01 ?        00:00:00 sleep 100\n";
        let t = parse_ps(out, &[500]).unwrap();
        assert_eq!(
            t.Titles,
            ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"]
        );
        assert_eq!(
            t.Processes,
            [[
                "root",
                "500",
                "1",
                "0",
                "10:01",
                "?",
                "00:00:00",
                "sleep 100"
            ]]
        );
        assert!(parse_ps("USER X\n", &[]).is_err());
    }
}
