//! cgroups for containers: v1, v2 and hybrid hosts, driven through cgroupfs directly (no systemd).
//!
//! Which hierarchy is where comes from /proc/self/mountinfo; this process's own cgroups from
//! /proc/self/cgroup. A container's cgroup path (`linux.cgroupsPath`) resolves as runc's cgroupfs
//! driver does:
//! - absolute ("/docker/abc"): that path under every hierarchy's mount;
//! - relative ("abc", "pods/abc"): under the cgroup this runtime process is in, per hierarchy;
//! - absent: a relative path named after the container id.
//!
//! Paths are cleaned lexically first, so ".." cannot climb out of the hierarchy.
//!
//! On a hybrid host (v1 controllers plus a cgroup2 mount, typically /sys/fs/cgroup/unified) the
//! v1 controllers do the work; the container also gets a directory in the unified hierarchy (as
//! runc does, so systemd-style tools inside see a cgroup of their own), and controllers that live
//! only there (hugetlb on this kind of host) are set there with v2 file names.
//!
//! Every limit asked for is written or fails loudly, naming the file and the value: nothing
//! requested is skipped because the kernel or the hierarchy lacks it.

pub mod devices;
mod ebpf;
pub mod stats;
mod v1;
mod v2;

pub use stats::Stats;

/// See [`Manager::self_join`].
pub struct SelfJoin {
    /// The unified directory (clone3's CLONE_INTO_CGROUP), if there is a unified hierarchy.
    pub unified: Option<std::os::fd::OwnedFd>,
    /// The `tasks` file of each v1 hierarchy, for the init to write "0" into.
    pub tasks: Vec<std::os::fd::OwnedFd>,
}

impl SelfJoin {
    /// In the init, right after the clone: move this (only) thread into each v1 hierarchy.
    pub fn join_v1(tasks: Vec<std::os::fd::OwnedFd>) -> Result<()> {
        for fd in tasks {
            let mut f = std::fs::File::from(fd);
            f.write_all(b"0")
                .map_err(|e| Error::from(e).context("join the container's cgroup (tasks)"))?;
        }
        Ok(())
    }
}

use crate::base::error::Context;
use crate::base::{Error, Result};
use crate::oci::runtime::Resources;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Which cgroup layout the host has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Only v1 hierarchies.
    V1,
    /// v1 controllers plus a cgroup2 mount.
    Hybrid,
    /// Only the unified hierarchy.
    V2,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FreezerState {
    Frozen,
    Thawed,
}

/// The cgroups of one container. Serializable so the runtime can keep it in the container's state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manager {
    mode: Mode,
    /// The container's cgroup path as resolved (absolute, inside each hierarchy's namespace of
    /// paths; for a relative cgroupsPath it is the v2 or first v1 hierarchy's resolution).
    path: String,
    /// Directory per v1 controller ("memory", "cpu", "name=systemd", …); "" is the unified
    /// hierarchy (v2, or the cgroup2 mount of a hybrid host).
    paths: BTreeMap<String, PathBuf>,
}

/// The v1 controllers berth knows by name (plus any "name=" hierarchy).
const V1_CONTROLLERS: &[&str] = &[
    "cpuset",
    "cpu",
    "cpuacct",
    "blkio",
    "memory",
    "devices",
    "freezer",
    "net_cls",
    "perf_event",
    "net_prio",
    "hugetlb",
    "pids",
    "rdma",
    "misc",
];

/// One mounted hierarchy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Hierarchy {
    /// v1 controller names (with "name=x" for named ones); empty for the unified hierarchy.
    controllers: Vec<String>,
    mountpoint: PathBuf,
    /// The cgroup the mount shows at its top ("/" unless bind-mounted or in a cgroup namespace).
    root: String,
}

impl Hierarchy {
    fn is_v2(&self) -> bool {
        self.controllers.is_empty()
    }
    /// The key in /proc/self/cgroup and in `Manager::paths`.
    fn key(&self) -> String {
        self.controllers.join(",")
    }
    /// The directory of cgroup `path` (absolute) in this hierarchy.
    fn dir(&self, path: &str) -> Result<PathBuf> {
        let rel = if self.root == "/" {
            path.trim_start_matches('/')
        } else if path == self.root {
            ""
        } else {
            match path
                .strip_prefix(&self.root)
                .and_then(|r| r.strip_prefix('/'))
            {
                Some(r) => r,
                None => {
                    return Err(Error::not_found(format!(
                        "cgroup {path} is outside what the mount {} shows (its root is {})",
                        self.mountpoint.display(),
                        self.root
                    )))
                }
            }
        };
        Ok(if rel.is_empty() {
            self.mountpoint.clone()
        } else {
            self.mountpoint.join(rel)
        })
    }
}

/// The host's hierarchies and this process's place in them.
#[derive(Debug, Clone, Default)]
pub(crate) struct Layout {
    hierarchies: Vec<Hierarchy>,
    /// /proc/self/cgroup: hierarchy key ("cpu,cpuacct", "name=systemd", "" for v2) → path.
    own: BTreeMap<String, String>,
}

impl Layout {
    pub(crate) fn read() -> Result<Layout> {
        let mi = cgroup_mountinfo()?;
        let cg = std::fs::read_to_string("/proc/self/cgroup").ctx(|| "read /proc/self/cgroup")?;
        Ok(Layout::parse(mi, &cg))
    }

    pub(crate) fn parse(mountinfo: &str, proc_cgroup: &str) -> Layout {
        let mut hierarchies: Vec<Hierarchy> = Vec::new();
        for line in mountinfo.lines() {
            let Some((pre, post)) = line.split_once(" - ") else {
                continue;
            };
            let pre: Vec<&str> = pre.split(' ').collect();
            let post: Vec<&str> = post.split(' ').collect();
            if pre.len() < 5 || post.len() < 3 {
                continue;
            }
            let controllers: Vec<String> = match post[0] {
                "cgroup2" => Vec::new(),
                "cgroup" => {
                    let c: Vec<String> = post[2]
                        .split(',')
                        .filter(|o| V1_CONTROLLERS.contains(o) || o.starts_with("name="))
                        .map(String::from)
                        .collect();
                    if c.is_empty() {
                        continue;
                    }
                    c
                }
                _ => continue,
            };
            let h = Hierarchy {
                controllers,
                mountpoint: PathBuf::from(unescape(pre[4])),
                root: unescape(pre[3]),
            };
            // Several mounts of one hierarchy: keep the first, unless a later one shows the root.
            match hierarchies
                .iter_mut()
                .find(|x| x.controllers == h.controllers)
            {
                Some(x) if x.root != "/" && h.root == "/" => *x = h,
                Some(_) => {}
                None => hierarchies.push(h),
            }
        }
        let own = proc_cgroup
            .lines()
            .filter_map(|l| {
                let mut f = l.splitn(3, ':');
                let (_, ctrls, path) = (f.next()?, f.next()?, f.next()?);
                Some((ctrls.to_string(), path.to_string()))
            })
            .collect();
        Layout { hierarchies, own }
    }

    fn mode(&self) -> Result<Mode> {
        let v1 = self
            .hierarchies
            .iter()
            .any(|h| h.controllers.iter().any(|c| !c.starts_with("name=")));
        let v2 = self.hierarchies.iter().any(Hierarchy::is_v2);
        match (v1, v2) {
            (true, false) => Ok(Mode::V1),
            (true, true) => Ok(Mode::Hybrid),
            (false, true) => Ok(Mode::V2),
            (false, false) => Err(Error::not_found(
                "no cgroup hierarchy is mounted (looked in /proc/self/mountinfo)",
            )),
        }
    }

    /// This process's cgroup in hierarchy `h`.
    fn own_path(&self, h: &Hierarchy) -> Result<&str> {
        let key = h.key();
        self.own.get(&key).map(String::as_str).ok_or_else(|| {
            Error::not_found(format!(
                "/proc/self/cgroup has no entry for the {} hierarchy",
                if key.is_empty() { "unified" } else { &key }
            ))
        })
    }
}

/// The cgroup lines of /proc/self/mountinfo, read once per process. A container's init (a
/// fork made after the cgroup setup read them) mounts the container's cgroups from the same
/// lines instead of reading mountinfo again: on a host with many containers, every rootfs
/// mount is a long overlay line, and generating that text was a visible share of `create`.
///
/// Where the hierarchies sit in the usual places, the lines are made from /proc/self/cgroup and
/// a statfs per hierarchy instead (`usual_cgroup_lines`): mountinfo's size grows with every
/// running container, so reading it made each start slower the more containers ran.
pub(crate) fn cgroup_mountinfo() -> Result<&'static str> {
    static LINES: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    if let Some(l) = LINES.get() {
        return Ok(l);
    }
    if let Some(lines) = usual_cgroup_lines(Path::new("/sys/fs/cgroup")) {
        return Ok(LINES.get_or_init(|| lines));
    }
    let mi = std::fs::read_to_string("/proc/self/mountinfo").ctx(|| "read /proc/self/mountinfo")?;
    let lines: String = mi
        .lines()
        .filter(|l| {
            l.split_once(" - ").is_some_and(|(_, post)| {
                post.starts_with("cgroup ") || post.starts_with("cgroup2 ")
            })
        })
        .flat_map(|l| [l, "\n"])
        .collect();
    Ok(LINES.get_or_init(|| lines))
}

const CGROUP_SUPER_MAGIC: i64 = 0x0027_e0eb;
const CGROUP2_SUPER_MAGIC: i64 = 0x6367_7270;
const TMPFS_MAGIC: i64 = 0x0102_1994;

fn fs_magic_of(path: &Path) -> Option<i64> {
    rustix::fs::statfs(path).ok().map(|st| st.f_type as i64)
}

/// mountinfo-style lines for the cgroup hierarchies, made without reading mountinfo, when
/// every hierarchy of /proc/self/cgroup is mounted where systemd and Docker put them (pure v2
/// at `base`; v1 at `base/<controllers>` or `base/<name>`, v2 at `base/unified` beside them,
/// on a tmpfs) with the hierarchy's root as mount root (this process's cgroup directory is
/// visible under each). Anything else (None) is left to mountinfo.
fn usual_cgroup_lines(base: &Path) -> Option<String> {
    let own = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let line = |root: &str, mp: &Path, fstype: &str, opts: &str| -> Option<String> {
        let mp = mp.to_str()?;
        if mp.contains(|c: char| c.is_whitespace() || c == '\\') {
            return None;
        }
        Some(format!(
            "0 0 0:0 {root} {mp} rw - {fstype} {fstype} {opts}\n"
        ))
    };
    let visible = |mp: &Path, path: &str| mp.join(path.trim_start_matches('/')).is_dir();
    let mut out = String::new();
    match fs_magic_of(base)? {
        CGROUP2_SUPER_MAGIC => {
            let mut entries = own.lines();
            let path = entries.next()?.strip_prefix("0::")?;
            if entries.next().is_some() || !visible(base, path) {
                return None;
            }
            out.push_str(&line("/", base, "cgroup2", "rw")?);
        }
        TMPFS_MAGIC => {
            for l in own.lines() {
                let mut f = l.splitn(3, ':');
                let (id, ctrls, path) = (f.next()?, f.next()?, f.next()?);
                let (mp, fstype, opts) = if id == "0" && ctrls.is_empty() {
                    (base.join("unified"), "cgroup2", "rw".to_string())
                } else if ctrls.is_empty() {
                    return None;
                } else {
                    let dir = ctrls.strip_prefix("name=").unwrap_or(ctrls);
                    if dir.contains('/') || dir.contains("name=") {
                        return None;
                    }
                    (base.join(dir), "cgroup", format!("rw,{ctrls}"))
                };
                let want = if fstype == "cgroup2" {
                    CGROUP2_SUPER_MAGIC
                } else {
                    CGROUP_SUPER_MAGIC
                };
                if fs_magic_of(&mp)? != want || !visible(&mp, path) {
                    return None;
                }
                out.push_str(&line("/", &mp, fstype, &opts)?);
            }
        }
        _ => return None,
    }
    (!out.is_empty()).then_some(out)
}

fn unescape(s: &str) -> String {
    // mountinfo escapes space, tab, newline and backslash as \ooo.
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

/// Lexically clean a cgroup path; a relative path stays relative but cannot climb above its base.
/// Returns (absolute, cleaned path without leading '/').
pub fn clean_path(p: &str) -> (bool, String) {
    let mut parts: Vec<&str> = Vec::new();
    for c in p.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    (p.starts_with('/'), parts.join("/"))
}

fn join_cgroup(base: &str, rel: &str) -> String {
    let base = base.trim_end_matches('/');
    if rel.is_empty() {
        if base.is_empty() {
            "/".into()
        } else {
            base.into()
        }
    } else {
        format!("{base}/{rel}")
    }
}

impl Manager {
    /// The cgroups of container `container_id`, with `cgroups_path` from the spec (not created yet:
    /// see [`Manager::apply`]).
    pub fn new(cgroups_path: Option<&str>, container_id: &str) -> Result<Manager> {
        Manager::with_layout(&Layout::read()?, cgroups_path, container_id)
    }

    pub(crate) fn with_layout(
        layout: &Layout,
        cgroups_path: Option<&str>,
        container_id: &str,
    ) -> Result<Manager> {
        let mode = layout.mode()?;
        let given = cgroups_path.filter(|p| !p.is_empty());
        if let Some(p) = given {
            // "slice:prefix:name" is the systemd driver's syntax.
            if !p.starts_with('/') && p.split(':').count() == 3 {
                return Err(Error::unsupported(format!(
                    "cgroupsPath {p:?} is in the systemd driver's slice:prefix:name form; berth manages cgroupfs directly (--systemd-cgroup is not supported)"
                )));
            }
        }
        let (absolute, rel) = match given {
            Some(p) => clean_path(p),
            None => clean_path(container_id),
        };
        if rel.is_empty() {
            return Err(Error::invalid(format!(
                "cgroupsPath {:?} names the hierarchy root; a container needs a cgroup of its own",
                given.unwrap_or(container_id)
            )));
        }
        let mut paths = BTreeMap::new();
        let mut path = None;
        for h in &layout.hierarchies {
            if mode == Mode::V2 && !h.is_v2() {
                continue;
            }
            let cg = if absolute {
                format!("/{rel}")
            } else {
                join_cgroup(layout.own_path(h)?, &rel)
            };
            let dir = h.dir(&cg)?;
            if h.is_v2() {
                paths.insert(String::new(), dir);
                path = Some(cg);
            } else {
                for c in &h.controllers {
                    paths.insert(c.clone(), dir.clone());
                }
                path.get_or_insert(cg);
            }
        }
        let path = path.unwrap_or_else(|| format!("/{rel}"));
        Ok(Manager { mode, path, paths })
    }

    /// A manager over explicit directories (tests use plain files in a temp dir).
    #[cfg(test)]
    pub(crate) fn from_paths(mode: Mode, paths: BTreeMap<String, PathBuf>) -> Manager {
        Manager {
            mode,
            path: "/test".into(),
            paths,
        }
    }

    pub fn mode(&self) -> Mode {
        self.mode
    }
    /// The container's cgroup path ("/docker/abc").
    pub fn cgroup_path(&self) -> &str {
        &self.path
    }
    /// Directory per controller, as runc's state.json `cgroup_paths` ("" = unified hierarchy).
    pub fn paths(&self) -> &BTreeMap<String, PathBuf> {
        &self.paths
    }
    /// The directory for a v1 controller ("memory") or, with "", the unified hierarchy.
    pub fn path(&self, controller: &str) -> Option<&Path> {
        self.paths.get(controller).map(PathBuf::as_path)
    }
    fn unified(&self) -> Option<&Path> {
        self.path("")
    }
    fn unique_dirs(&self) -> Vec<&Path> {
        let set: BTreeSet<&Path> = self.paths.values().map(PathBuf::as_path).collect();
        set.into_iter().collect()
    }

    /// Whether the container's cgroup directories exist.
    pub fn exists(&self) -> bool {
        !self.paths.is_empty() && self.paths.values().all(|d| d.is_dir())
    }

    /// Create the cgroup directories and move `pid` into them (see [`Manager::create`]).
    pub fn apply(&self, pid: i32) -> Result<()> {
        self.create()?;
        for dir in self.unique_dirs() {
            write_file(dir, "cgroup.procs", &pid.to_string())
                .map_err(|e| e.context(format!("join pid {pid} to cgroup")))?;
        }
        Ok(())
    }

    /// The handles with which a new init joins the cgroups without the grace period that a
    /// cgroup.procs write of another process's pid costs (about 10-15 ms on an idle machine):
    /// the unified directory for clone3's CLONE_INTO_CGROUP, and each v1 hierarchy's `tasks`
    /// file, into which the single-threaded init writes "0" (the kernel moves the calling
    /// thread without the global lock). Call after [`Manager::create`].
    pub fn self_join(&self) -> Result<SelfJoin> {
        let unified = match self.unified() {
            Some(d) => Some(
                std::fs::File::open(d)
                    .map(std::os::fd::OwnedFd::from)
                    .ctx(|| format!("open cgroup {}", d.display()))?,
            ),
            None => None,
        };
        let mut tasks = Vec::new();
        let v1: BTreeSet<&Path> = self
            .paths
            .iter()
            .filter(|(c, _)| !c.is_empty())
            .map(|(_, d)| d.as_path())
            .collect();
        for d in v1 {
            let f = std::fs::OpenOptions::new()
                .write(true)
                .open(d.join("tasks"))
                .ctx(|| format!("open {}/tasks", d.display()))?;
            tasks.push(std::os::fd::OwnedFd::from(f));
        }
        Ok(SelfJoin { unified, tasks })
    }

    /// Create the cgroup directories. On v2 the controllers the parent offers are enabled on
    /// the way down (cgroup.subtree_control); on v1 a new cpuset cgroup gets its parent's cpus
    /// and mems first (the kernel leaves them empty, and an empty cpuset refuses tasks).
    pub fn create(&self) -> Result<()> {
        for (ctrl, dir) in &self.paths {
            if ctrl.is_empty() {
                v2::create(dir)?;
            } else if ctrl == "cpuset" {
                v1::create_cpuset(dir)?;
            } else {
                std::fs::create_dir_all(dir).ctx(|| format!("create cgroup {}", dir.display()))?;
            }
        }
        Ok(())
    }

    /// Write the limits in `r` (devices included: the spec's rules plus runc's default devices).
    pub fn set(&self, r: &Resources) -> Result<()> {
        match self.mode {
            Mode::V1 | Mode::Hybrid => v1::set(self, r, true),
            Mode::V2 => v2::set(self.unified_dir()?, r, true),
        }
    }

    /// Like [`Manager::set`] but leaving the device rules alone (`runc update` cannot change them).
    pub fn update(&self, r: &Resources) -> Result<()> {
        match self.mode {
            Mode::V1 | Mode::Hybrid => v1::set(self, r, false),
            Mode::V2 => v2::set(self.unified_dir()?, r, false),
        }
    }

    fn unified_dir(&self) -> Result<&Path> {
        self.unified()
            .ok_or_else(|| Error::not_found("the unified cgroup hierarchy is not mounted"))
    }

    fn freezer_dir(&self) -> Result<&Path> {
        match self.mode {
            Mode::V2 => self.unified_dir(),
            _ => self
                .path("freezer")
                .ok_or_else(|| Error::not_found("the freezer cgroup controller is not mounted")),
        }
    }

    /// Stop every process of the container (waits until the kernel reports them frozen).
    pub fn freeze(&self) -> Result<()> {
        let dir = self.freezer_dir()?;
        match self.mode {
            Mode::V2 => v2::freeze(dir, true),
            _ => v1::freeze(dir, true),
        }
    }

    pub fn thaw(&self) -> Result<()> {
        let dir = self.freezer_dir()?;
        match self.mode {
            Mode::V2 => v2::freeze(dir, false),
            _ => v1::freeze(dir, false),
        }
    }

    pub fn state(&self) -> Result<FreezerState> {
        let dir = self.freezer_dir()?;
        match self.mode {
            Mode::V2 => v2::freezer_state(dir),
            _ => v1::freezer_state(dir),
        }
    }

    /// The directory whose cgroup.procs lists the container's processes.
    fn procs_dir(&self) -> Result<&Path> {
        if self.mode == Mode::V2 {
            return self.unified_dir();
        }
        for c in ["pids", "freezer", "devices", "memory", "cpu", "cpuset"] {
            if let Some(d) = self.path(c) {
                return Ok(d);
            }
        }
        self.paths
            .values()
            .next()
            .map(PathBuf::as_path)
            .ok_or_else(|| Error::not_found("container has no cgroup"))
    }

    /// Every process in the container's cgroup and below it.
    pub fn pids(&self) -> Result<Vec<i32>> {
        let mut out = Vec::new();
        collect_pids(self.procs_dir()?, &mut out)?;
        out.sort_unstable();
        out.dedup();
        Ok(out)
    }

    /// Statistics in `runc events` shape.
    pub fn stats(&self) -> Result<Stats> {
        match self.mode {
            Mode::V2 => v2::stats(self.unified_dir()?),
            _ => v1::stats(self),
        }
    }

    /// How many processes the kernel's OOM killer has killed in the container so far (v1:
    /// memory.oom_control's oom_kill, v2: memory.events' oom_kill). `runc events` reports an
    /// "oom" event when it grows.
    pub fn oom_kill_count(&self) -> Result<u64> {
        let (dir, file) = match self.mode {
            Mode::V2 => (self.unified_dir()?, "memory.events"),
            _ => (
                self.path("memory").ok_or_else(|| {
                    Error::not_found("the memory cgroup controller is not mounted")
                })?,
                "memory.oom_control",
            ),
        };
        Ok(stats::parse_flat_keyed(&read_file(dir, file)?)
            .get("oom_kill")
            .copied()
            .unwrap_or(0))
    }

    /// Send `sig` to every process in the container. The cgroup is frozen meanwhile so nothing
    /// forks past the signal (v2 with SIGKILL uses cgroup.kill instead); a process that exits in
    /// between is not an error.
    pub fn kill_all(&self, sig: i32) -> Result<()> {
        const SIGKILL: i32 = 9;
        if self.mode == Mode::V2 && sig == SIGKILL {
            let dir = self.unified_dir()?;
            if dir.join("cgroup.kill").exists() {
                return write_file(dir, "cgroup.kill", "1");
            }
        }
        let was = self.state().ok();
        let frozen = was.is_some() && self.freeze().is_ok();
        let res = (|| {
            for pid in self.pids()? {
                if let Err(e) = crate::sys::cgroup::kill(pid, sig) {
                    if e.errno() != Some(3) {
                        return Err(e); // not ESRCH
                    }
                }
            }
            Ok(())
        })();
        // A frozen v1 task only dies once thawed; otherwise leave a paused container paused.
        if frozen && (was == Some(FreezerState::Thawed) || sig == SIGKILL) {
            self.thaw()?;
        }
        res
    }

    /// Remove the container's cgroup directories (sub-cgroups first). Fails with EBUSY, naming
    /// the directory, while processes are still inside.
    pub fn destroy(&self) -> Result<()> {
        let mut first = None;
        for dir in self.unique_dirs() {
            if let Err(e) = remove_tree(dir) {
                first.get_or_insert(e);
            }
        }
        match first {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

fn collect_pids(dir: &Path, out: &mut Vec<i32>) -> Result<()> {
    let procs = read_file(dir, "cgroup.procs")?;
    out.extend(procs.lines().filter_map(|l| l.trim().parse::<i32>().ok()));
    let rd = match std::fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::from(e).context(format!("read {}", dir.display()))),
    };
    for e in rd.flatten() {
        if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
            collect_pids(&e.path(), out)?;
        }
    }
    Ok(())
}

/// rmdir a cgroup and its sub-cgroups, deepest first. cgroupfs refuses rmdir (EBUSY) for a short
/// while after the last task exits, so retry briefly.
fn remove_tree(dir: &Path) -> Result<()> {
    let rd = match std::fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::from(e).context(format!("remove cgroup {}", dir.display()))),
    };
    for e in rd.flatten() {
        if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
            remove_tree(&e.path())?;
        }
    }
    let mut delay = Duration::from_millis(1);
    for attempt in 0.. {
        match std::fs::remove_dir(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            // Busy with live processes: no point in waiting. Busy just after they left: retry.
            Err(e)
                if e.raw_os_error() == Some(16)
                    && attempt < 10
                    && read_opt(dir, "cgroup.procs")?.is_some_and(|p| p.trim().is_empty()) =>
            {
                std::thread::sleep(delay);
                delay *= 2;
            }
            Err(e) => {
                return Err(Error::from(e).context(format!("remove cgroup {}", dir.display())))
            }
        }
    }
    Ok(())
}

/// Write one value to a cgroup file in a single write(2), as cgroupfs wants; the error names the
/// value and the file ("failed to write "100" to /sys/fs/cgroup/x/memory.max: Invalid argument").
pub(crate) fn write_file(dir: &Path, file: &str, value: &str) -> Result<()> {
    let path = dir.join(file);
    let what = || format!("failed to write {value:?} to {}", path.display());
    // O_TRUNC is what `echo v > file` does; cgroupfs ignores it, plain files in tests need it.
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(&path)
        .ctx(what)?;
    let n = f.write(value.as_bytes()).ctx(what)?;
    if n != value.len() {
        return Err(
            Error::internal(format!("short write ({n} of {} bytes)", value.len())).context(what()),
        );
    }
    Ok(())
}

pub(crate) fn read_file(dir: &Path, file: &str) -> Result<String> {
    let path = dir.join(file);
    std::fs::read_to_string(&path).ctx(|| format!("read {}", path.display()))
}

/// Read a file if it exists ("" when it does not).
pub(crate) fn read_opt(dir: &Path, file: &str) -> Result<Option<String>> {
    match std::fs::read_to_string(dir.join(file)) {
        Ok(s) => Ok(Some(s)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::from(e).context(format!("read {}", dir.join(file).display()))),
    }
}

/// Poll `done` every few milliseconds for up to `limit`.
pub(crate) fn wait_for(limit: Duration, mut done: impl FnMut() -> Result<bool>) -> Result<bool> {
    let start = std::time::Instant::now();
    let mut delay = Duration::from_micros(200);
    loop {
        if done()? {
            return Ok(true);
        }
        if start.elapsed() > limit {
            return Ok(false);
        }
        std::thread::sleep(delay);
        delay = (delay * 2).min(Duration::from_millis(10));
    }
}

/// "2MB" style page sizes the kernel offers, from /sys/kernel/mm/hugepages (hugepages-2048kB).
pub(crate) fn hugepage_sizes() -> Vec<String> {
    let Ok(rd) = std::fs::read_dir("/sys/kernel/mm/hugepages") else {
        return Vec::new();
    };
    let mut out: Vec<String> = rd
        .flatten()
        .filter_map(|e| {
            let n = e.file_name().to_string_lossy().into_owned();
            let kb: u64 = n
                .strip_prefix("hugepages-")?
                .strip_suffix("kB")?
                .parse()
                .ok()?;
            Some(page_size_name(kb))
        })
        .collect();
    out.sort();
    out
}

fn page_size_name(kb: u64) -> String {
    let units = ["KB", "MB", "GB", "TB"];
    let mut v = kb;
    let mut i = 0;
    while v >= 1024 && v % 1024 == 0 && i + 1 < units.len() {
        v /= 1024;
        i += 1;
    }
    format!("{v}{}", units[i])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cached_cgroup_lines_describe_the_same_hierarchies_as_mountinfo() {
        let full = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
        let cg = std::fs::read_to_string("/proc/self/cgroup").unwrap();
        // This host has the usual layout (hybrid here, pure v2 in the qemu guest): the lines
        // come without mountinfo, and describe what mountinfo does.
        let usual = usual_cgroup_lines(Path::new("/sys/fs/cgroup")).expect("usual layout");
        let hiers = |text: &str| {
            let mut h: Vec<String> = Layout::parse(text, &cg)
                .hierarchies
                .iter()
                .map(|h| format!("{h:?}"))
                .collect();
            h.sort();
            h
        };
        assert_eq!(hiers(&full), hiers(&usual));
        // Not the usual place: mountinfo decides.
        assert!(usual_cgroup_lines(Path::new("/proc")).is_none());
        assert!(usual_cgroup_lines(Path::new("/no/such/dir")).is_none());
        let lines = cgroup_mountinfo().unwrap();
        assert!(lines
            .lines()
            .all(|l| l.contains(" - cgroup ") || l.contains(" - cgroup2 ")));
        assert_eq!(hiers(&full), hiers(lines));
        // Read once: the same text again.
        assert!(std::ptr::eq(lines, cgroup_mountinfo().unwrap()));
    }

    const HYBRID_MOUNTINFO: &str = "\
25 30 0:23 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
31 25 0:26 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
32 31 0:27 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 cgroup2 rw,nsdelegate
33 31 0:28 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:11 - cgroup cgroup rw,xattr,name=systemd
36 31 0:31 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:15 - cgroup cgroup rw,cpu,cpuacct
37 31 0:32 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:16 - cgroup cgroup rw,memory
38 31 0:33 / /sys/fs/cgroup/cpuset rw,nosuid,nodev,noexec,relatime shared:17 - cgroup cgroup rw,cpuset
39 31 0:34 / /sys/fs/cgroup/freezer rw,nosuid,nodev,noexec,relatime shared:18 - cgroup cgroup rw,freezer
99 31 0:33 /inner /mnt/cpuset-bind rw - cgroup cgroup rw,cpuset
";
    const HYBRID_CGROUP: &str = "\
5:freezer:/
4:cpuset:/
3:memory:/user.slice/session-1.scope
2:cpu,cpuacct:/user.slice
1:name=systemd:/user.slice/session-1.scope
0::/user.slice/session-1.scope
";
    const V2_MOUNTINFO: &str = "\
25 30 0:23 / /sys rw - sysfs sysfs rw
32 25 0:27 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
";

    fn layout(mi: &str, cg: &str) -> Layout {
        Layout::parse(mi, cg)
    }

    #[test]
    fn hybrid_absolute_path() {
        let m = Manager::with_layout(
            &layout(HYBRID_MOUNTINFO, HYBRID_CGROUP),
            Some("/docker/abc"),
            "abc",
        )
        .unwrap();
        assert_eq!(m.mode(), Mode::Hybrid);
        assert_eq!(m.cgroup_path(), "/docker/abc");
        let p = m.paths();
        assert_eq!(
            p["memory"],
            PathBuf::from("/sys/fs/cgroup/memory/docker/abc")
        );
        assert_eq!(
            p["cpu"],
            PathBuf::from("/sys/fs/cgroup/cpu,cpuacct/docker/abc")
        );
        assert_eq!(p["cpuacct"], p["cpu"]);
        assert_eq!(
            p["name=systemd"],
            PathBuf::from("/sys/fs/cgroup/systemd/docker/abc")
        );
        assert_eq!(p[""], PathBuf::from("/sys/fs/cgroup/unified/docker/abc"));
        // The bind mount of a cpuset sub-tree does not replace the real mount.
        assert_eq!(
            p["cpuset"],
            PathBuf::from("/sys/fs/cgroup/cpuset/docker/abc")
        );
        assert_eq!(m.unique_dirs().len(), 6);
    }

    #[test]
    fn relative_paths_are_under_our_own_cgroups_and_cannot_climb() {
        let l = layout(HYBRID_MOUNTINFO, HYBRID_CGROUP);
        let m = Manager::with_layout(&l, None, "c1").unwrap();
        assert_eq!(
            m.paths()["memory"],
            PathBuf::from("/sys/fs/cgroup/memory/user.slice/session-1.scope/c1")
        );
        assert_eq!(
            m.paths()["cpu"],
            PathBuf::from("/sys/fs/cgroup/cpu,cpuacct/user.slice/c1")
        );
        assert_eq!(
            m.paths()["freezer"],
            PathBuf::from("/sys/fs/cgroup/freezer/c1")
        );
        assert_eq!(
            m.paths()[""],
            PathBuf::from("/sys/fs/cgroup/unified/user.slice/session-1.scope/c1")
        );
        let m = Manager::with_layout(&l, Some("../../../etc/x"), "c1").unwrap();
        assert_eq!(
            m.paths()["freezer"],
            PathBuf::from("/sys/fs/cgroup/freezer/etc/x")
        );
        assert_eq!(
            m.paths()["cpu"],
            PathBuf::from("/sys/fs/cgroup/cpu,cpuacct/user.slice/etc/x")
        );
        let m = Manager::with_layout(&l, Some("/a/../../b/./c/"), "c1").unwrap();
        assert_eq!(
            m.paths()["memory"],
            PathBuf::from("/sys/fs/cgroup/memory/b/c")
        );
        assert!(Manager::with_layout(&l, Some("/"), "c1").is_err());
        assert!(Manager::with_layout(&l, Some("/.."), "c1").is_err());
    }

    #[test]
    fn pure_v2() {
        let l = layout(V2_MOUNTINFO, "0::/init.scope\n");
        let m = Manager::with_layout(&l, Some("/berth/x"), "x").unwrap();
        assert_eq!(m.mode(), Mode::V2);
        assert_eq!(m.paths().len(), 1);
        assert_eq!(m.paths()[""], PathBuf::from("/sys/fs/cgroup/berth/x"));
        let m = Manager::with_layout(&l, Some(""), "x").unwrap();
        assert_eq!(m.paths()[""], PathBuf::from("/sys/fs/cgroup/init.scope/x"));
        assert_eq!(m.cgroup_path(), "/init.scope/x");
    }

    #[test]
    fn systemd_paths_and_missing_hierarchies_are_errors() {
        let l = layout(V2_MOUNTINFO, "0::/\n");
        let e = Manager::with_layout(&l, Some("system.slice:docker:abc"), "abc").unwrap_err();
        assert!(e.to_string().contains("systemd"), "{e}");
        assert!(Manager::with_layout(&layout("", ""), None, "abc").is_err());
        // Relative path without a /proc/self/cgroup entry for the hierarchy.
        assert!(Manager::with_layout(&layout(V2_MOUNTINFO, "3:memory:/\n"), None, "abc").is_err());
    }

    #[test]
    fn mount_root_inside_a_cgroup_namespace() {
        let mi = "40 30 0:27 /ns /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n";
        let l = layout(mi, "0::/ns/me\n");
        let m = Manager::with_layout(&l, None, "c").unwrap();
        assert_eq!(m.paths()[""], PathBuf::from("/sys/fs/cgroup/me/c"));
        assert!(Manager::with_layout(&l, Some("/elsewhere"), "c").is_err());
    }

    #[test]
    fn manager_round_trips_through_json() {
        let m = Manager::with_layout(
            &layout(HYBRID_MOUNTINFO, HYBRID_CGROUP),
            Some("/docker/abc"),
            "abc",
        )
        .unwrap();
        let j = serde_json::to_string(&m).unwrap();
        assert!(j.contains("\"mode\":\"hybrid\""), "{j}");
        let back: Manager = serde_json::from_str(&j).unwrap();
        assert_eq!(back, m);
    }

    #[test]
    fn helpers() {
        assert_eq!(clean_path("a/../../b"), (false, "b".to_string()));
        assert_eq!(page_size_name(2048), "2MB");
        assert_eq!(page_size_name(1048576), "1GB");
        assert_eq!(page_size_name(64), "64KB");
        assert_eq!(unescape("/a\\040b"), "/a b");
    }

    #[test]
    fn write_errors_name_file_and_value() {
        let d = std::env::temp_dir().join(format!("berth-cg-write-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        let e = write_file(&d, "memory.max", "100").unwrap_err();
        let s = e.to_string();
        assert!(
            s.contains("\"100\"") && s.contains("memory.max") && s.contains("No such file"),
            "{s}"
        );
        std::fs::write(d.join("memory.max"), "").unwrap();
        write_file(&d, "memory.max", "100").unwrap();
        assert_eq!(read_file(&d, "memory.max").unwrap(), "100");
        std::fs::remove_dir_all(&d).unwrap();
    }
}
