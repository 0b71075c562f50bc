//! Facts about the host for `/info` and `/version`, read from /proc, /sys and /etc (no libc:
//! static glibc has no NSS, and the daemon layer makes no system calls of its own).

use std::path::Path;

fn read_trimmed(p: &str) -> String {
    std::fs::read_to_string(p)
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

/// `uname -r`.
pub fn kernel_version() -> String {
    read_trimmed("/proc/sys/kernel/osrelease")
}

/// The host name (`docker info` Name).
pub fn hostname() -> String {
    read_trimmed("/proc/sys/kernel/hostname")
}

/// `uname -m` for the architectures berth builds for.
pub fn architecture() -> &'static str {
    std::env::consts::ARCH
}

/// Docker's `Arch` in `/version` (GOARCH names).
pub fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "arm" => "arm",
        "powerpc64" => "ppc64le",
        "s390x" => "s390x",
        "riscv64" => "riscv64",
        other => other,
    }
}

/// (PRETTY_NAME, VERSION_ID) from os-release text.
pub fn parse_os_release(text: &str) -> (String, String) {
    let mut pretty = String::new();
    let mut version = String::new();
    for line in text.lines() {
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        let v = v.trim().trim_matches('"').trim_matches('\'').to_string();
        match k.trim() {
            "PRETTY_NAME" => pretty = v,
            "VERSION_ID" => version = v,
            _ => {}
        }
    }
    if pretty.is_empty() {
        pretty = "Linux".into();
    }
    (pretty, version)
}

pub fn os_release() -> (String, String) {
    let text = std::fs::read_to_string("/etc/os-release")
        .or_else(|_| std::fs::read_to_string("/usr/lib/os-release"))
        .unwrap_or_default();
    parse_os_release(&text)
}

/// Count the CPUs in a list such as `0-3,8,10-11` (the `Cpus_allowed_list` of /proc/self/status:
/// Go's runtime.NumCPU counts the affinity mask too).
pub fn count_cpu_list(list: &str) -> usize {
    list.trim()
        .split(',')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('-') {
            Some((a, b)) => match (a.trim().parse::<usize>(), b.trim().parse::<usize>()) {
                (Ok(a), Ok(b)) if b >= a => b - a + 1,
                _ => 0,
            },
            None => usize::from(p.trim().parse::<usize>().is_ok()),
        })
        .sum()
}

fn status_field(name: &str) -> Option<String> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    s.lines().find_map(|l| {
        l.strip_prefix(name)
            .and_then(|r| r.strip_prefix(':'))
            .map(|v| v.trim().to_string())
    })
}

pub fn ncpu() -> i64 {
    let n = status_field("Cpus_allowed_list")
        .map(|l| count_cpu_list(&l))
        .unwrap_or(0);
    if n > 0 {
        n as i64
    } else {
        std::thread::available_parallelism()
            .map(|n| n.get() as i64)
            .unwrap_or(1)
    }
}

/// MemTotal in bytes from /proc/meminfo text.
pub fn parse_mem_total(meminfo: &str) -> i64 {
    meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<i64>().ok())
        .map(|kb| kb * 1024)
        .unwrap_or(0)
}

pub fn mem_total() -> i64 {
    parse_mem_total(&std::fs::read_to_string("/proc/meminfo").unwrap_or_default())
}

/// Open file descriptors of this process (`NFd`).
pub fn open_fds() -> i64 {
    std::fs::read_dir("/proc/self/fd")
        .map(|d| d.count() as i64)
        .unwrap_or(0)
}

/// Threads of this process (reported as `NGoroutines`, the nearest thing).
pub fn threads() -> i64 {
    status_field("Threads")
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
}

pub fn ipv4_forwarding() -> bool {
    read_trimmed("/proc/sys/net/ipv4/ip_forward") == "1"
}

/// One line of /proc/self/mountinfo: (mount point, filesystem type), unescaped.
fn mountinfo_entries(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|l| {
            let fields: Vec<&str> = l.split(' ').collect();
            let sep = fields.iter().position(|f| *f == "-")?;
            Some((unescape(fields.get(4)?), fields.get(sep + 1)?.to_string()))
        })
        .collect()
}

fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            out.push((b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0'));
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The filesystem type of the mount holding `path` (longest mount-point prefix, last mount wins).
pub fn fs_type_of(mountinfo: &str, path: &Path) -> Option<String> {
    let p = path.to_string_lossy();
    let mut best: Option<(usize, String)> = None;
    for (mp, fstype) in mountinfo_entries(mountinfo) {
        let inside = mp == "/" || p == mp || p.starts_with(&format!("{mp}/"));
        if inside && best.as_ref().map_or(true, |(len, _)| mp.len() >= *len) {
            best = Some((mp.len(), fstype));
        }
    }
    best.map(|(_, t)| t)
}

/// Docker's name for a backing filesystem (its fsmagic table names ext2/3/4 "extfs").
pub fn docker_fs_name(fstype: &str) -> String {
    match fstype {
        "ext2" | "ext3" | "ext4" => "extfs".into(),
        "overlay" => "overlayfs".into(),
        other => other.into(),
    }
}

pub fn backing_fs(path: &Path) -> String {
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    // The data root may not exist yet on a first start; its nearest existing ancestor decides.
    let mut p = path.to_path_buf();
    while !p.exists() {
        if !p.pop() {
            break;
        }
    }
    let p = std::fs::canonicalize(&p).unwrap_or(p);
    fs_type_of(&info, &p)
        .map(|t| docker_fs_name(&t))
        .unwrap_or_else(|| "<unknown>".into())
}

/// What the cgroup hierarchy offers, as `docker info` reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CgroupFacts {
    /// "1" (v1 or hybrid) or "2" (unified).
    pub version: &'static str,
    pub memory: bool,
    pub swap: bool,
    pub kernel_memory_tcp: bool,
    pub oom_kill_disable: bool,
    pub cpu_cfs_period: bool,
    pub cpu_cfs_quota: bool,
    pub cpu_shares: bool,
    pub cpuset: bool,
    pub pids: bool,
}

/// Inspect the cgroup mounts under `root` (normally /sys/fs/cgroup) given mountinfo text and
/// this process's /proc/self/cgroup.
pub fn cgroup_facts(root: &Path, mountinfo: &str, self_cgroup: &str) -> CgroupFacts {
    let root_s = root.to_string_lossy().into_owned();
    let unified = mountinfo_entries(mountinfo)
        .iter()
        .any(|(mp, t)| *mp == root_s && t == "cgroup2");
    let has = |rel: &str| root.join(rel).exists();
    if unified {
        let controllers =
            std::fs::read_to_string(root.join("cgroup.controllers")).unwrap_or_default();
        let c = |name: &str| controllers.split_whitespace().any(|x| x == name);
        let own = self_cgroup
            .lines()
            .find_map(|l| l.strip_prefix("0::"))
            .unwrap_or("/")
            .trim_start_matches('/')
            .to_string();
        let own_dir = if own.is_empty() {
            root.to_path_buf()
        } else {
            root.join(own)
        };
        CgroupFacts {
            version: "2",
            memory: c("memory"),
            swap: c("memory")
                && (own_dir.join("memory.swap.max").exists()
                    || has("init.scope/memory.swap.max")
                    || has("system.slice/memory.swap.max")),
            kernel_memory_tcp: false,
            oom_kill_disable: false,
            cpu_cfs_period: c("cpu"),
            cpu_cfs_quota: c("cpu"),
            cpu_shares: c("cpu"),
            cpuset: c("cpuset"),
            pids: c("pids"),
        }
    } else {
        CgroupFacts {
            version: "1",
            memory: has("memory/memory.limit_in_bytes"),
            swap: has("memory/memory.memsw.limit_in_bytes"),
            kernel_memory_tcp: has("memory/memory.kmem.tcp.limit_in_bytes"),
            oom_kill_disable: has("memory/memory.oom_control"),
            cpu_cfs_period: has("cpu/cpu.cfs_period_us"),
            cpu_cfs_quota: has("cpu/cpu.cfs_quota_us"),
            cpu_shares: has("cpu/cpu.shares"),
            cpuset: has("cpuset/cpuset.cpus"),
            pids: has("pids/pids.max") || has("pids/pids.current"),
        }
    }
}

pub fn cgroups() -> CgroupFacts {
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let own = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    cgroup_facts(Path::new("/sys/fs/cgroup"), &info, &own)
}

/// The numeric id of `group` in /etc/group text (a number is taken as a gid).
pub fn lookup_group(etc_group: &str, group: &str) -> Option<u32> {
    if let Ok(n) = group.parse::<u32>() {
        return Some(n);
    }
    etc_group.lines().find_map(|l| {
        let mut f = l.split(':');
        let name = f.next()?;
        let _pw = f.next()?;
        let gid = f.next()?;
        (name == group).then(|| gid.parse().ok()).flatten()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn os_release_fields() {
        let t = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\n";
        assert_eq!(
            parse_os_release(t),
            (
                "Debian GNU/Linux 12 (bookworm)".to_string(),
                "12".to_string()
            )
        );
        assert_eq!(parse_os_release("").0, "Linux");
    }

    #[test]
    fn cpu_lists() {
        assert_eq!(count_cpu_list("0-1"), 2);
        assert_eq!(count_cpu_list("0-3,8,10-11\n"), 7);
        assert_eq!(count_cpu_list("5"), 1);
        assert_eq!(count_cpu_list(""), 0);
    }

    #[test]
    fn meminfo() {
        assert_eq!(
            parse_mem_total("MemTotal:       24684092 kB\nMemFree: 1 kB\n"),
            24684092 * 1024
        );
    }

    #[test]
    fn fs_of_path_takes_the_longest_mount() {
        let mi = "22 1 8:1 / / rw - ext4 /dev/sda1 rw\n\
                  30 22 0:26 / /tmp rw - tmpfs tmpfs rw\n\
                  31 22 0:27 / /var/lib/with\\040space rw - xfs /dev/sdb rw\n";
        assert_eq!(
            fs_type_of(mi, Path::new("/var/lib/berth")).as_deref(),
            Some("ext4")
        );
        assert_eq!(
            fs_type_of(mi, Path::new("/tmp/x")).as_deref(),
            Some("tmpfs")
        );
        assert_eq!(fs_type_of(mi, Path::new("/tmpx")).as_deref(), Some("ext4"));
        assert_eq!(
            fs_type_of(mi, Path::new("/var/lib/with space/d")).as_deref(),
            Some("xfs")
        );
        assert_eq!(docker_fs_name("ext4"), "extfs");
    }

    #[test]
    fn groups_from_etc_group() {
        let g = "root:x:0:\ndocker:x:998:alice,bob\nnogroup:x:65534:\n";
        assert_eq!(lookup_group(g, "docker"), Some(998));
        assert_eq!(lookup_group(g, "dock"), None);
        assert_eq!(lookup_group(g, "1234"), Some(1234));
    }

    #[test]
    fn cgroup_version_follows_the_mount() {
        let dir = std::env::temp_dir().join(format!("berth-cg-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("memory")).unwrap();
        std::fs::write(dir.join("memory/memory.limit_in_bytes"), "").unwrap();
        let d = dir.to_string_lossy();
        let v1 = format!("31 23 0:28 / {d} rw - tmpfs tmpfs rw\n");
        let f = cgroup_facts(&dir, &v1, "");
        assert_eq!((f.version, f.memory, f.swap), ("1", true, false));
        std::fs::write(dir.join("cgroup.controllers"), "cpuset cpu memory pids\n").unwrap();
        let v2 = format!("31 23 0:28 / {d} rw - cgroup2 cgroup2 rw\n");
        let f = cgroup_facts(&dir, &v2, "0::/\n");
        assert_eq!(
            (f.version, f.memory, f.cpuset, f.pids, f.oom_kill_disable),
            ("2", true, true, true, false)
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
