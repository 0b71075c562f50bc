//! Container state under `--root`: load, save atomically, list, and the status of a container
//! derived from its init process (pid + start time, so a recycled pid reads as "stopped").

use crate::base::error::Context;
use crate::base::{Error, ErrorKind, Result};
use crate::oci::runtime::Spec;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Version of state.json's format (see the module doc of `runtime`).
pub const STATE_VERSION: u32 = 1;
const STATE_FILE: &str = "state.json";
pub const EXEC_FIFO: &str = "exec.fifo";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Container {
    pub version: u32,
    pub id: String,
    pub bundle: PathBuf,
    pub rootfs: PathBuf,
    /// RFC 3339 with nanoseconds, as `runc state` prints it.
    pub created: String,
    pub init_pid: i32,
    /// Field 22 of /proc/PID/stat when the init started: guards against pid reuse.
    pub init_start: u64,
    /// Uid of the user who created the container (`runc list` prints its name).
    pub owner: u32,
    #[serde(default)]
    pub no_pivot: bool,
    /// The container's config.json as loaded at create time (exec defaults, hooks).
    pub spec: Spec,
    /// The container's cgroups.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cgroup: Option<crate::runtime::cgroups::Manager>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Created,
    Running,
    Paused,
    Stopped,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Stopped => "stopped",
        }
    }
}

/// The runtime's state root (`--root`).
pub struct Store {
    pub root: PathBuf,
}

pub fn does_not_exist() -> Error {
    Error::not_found("container does not exist")
}

impl Store {
    pub fn new(root: &Path) -> Store {
        Store {
            root: root.to_path_buf(),
        }
    }

    pub fn dir(&self, id: &str) -> PathBuf {
        self.root.join(id)
    }

    pub fn fifo(&self, id: &str) -> PathBuf {
        self.dir(id).join(EXEC_FIFO)
    }

    /// Reserve `id`: its directory is created exclusively, so two creates cannot both win.
    pub fn reserve(&self, id: &str) -> Result<PathBuf> {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.root)
            .ctx(|| format!("mkdir {}", self.root.display()))?;
        let dir = self.dir(id);
        match std::fs::DirBuilder::new().mode(0o711).create(&dir) {
            Ok(()) => Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                Err(Error::conflict("container with given ID already exists"))
            }
            Err(e) => Err(Error::from(e).context(format!("mkdir {}", dir.display()))),
        }
    }

    pub fn load(&self, id: &str) -> Result<Container> {
        if !crate::base::id::valid_container_id(id) {
            return Err(Error::invalid("invalid container ID format"));
        }
        let path = self.dir(id).join(STATE_FILE);
        let data = match std::fs::read(&path) {
            Ok(d) => d,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(does_not_exist()),
            Err(e) => return Err(Error::from(e).context(format!("read {}", path.display()))),
        };
        let c: Container =
            serde_json::from_slice(&data).ctx(|| format!("parse {}", path.display()))?;
        if c.version != STATE_VERSION {
            return Err(Error::invalid(format!(
                "{}: unsupported state format version {}",
                path.display(),
                c.version
            )));
        }
        Ok(c)
    }

    /// Replace state.json atomically (temp + rename, no fsync: see the module doc).
    pub fn save(&self, c: &Container) -> Result<()> {
        let path = self.dir(&c.id).join(STATE_FILE);
        let data = serde_json::to_vec(c).map_err(|e| Error::internal(e.to_string()))?;
        write_replace(&path, &data, 0o600)
    }

    pub fn remove(&self, id: &str) -> Result<()> {
        let dir = self.dir(id);
        match std::fs::remove_dir_all(&dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::from(e).context(format!("remove {}", dir.display()))),
        }
    }

    /// Every container id under the root, sorted (entries without state.json are skipped).
    pub fn ids(&self) -> Result<Vec<String>> {
        let rd = match std::fs::read_dir(&self.root) {
            Ok(r) => r,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::from(e).context(format!("read {}", self.root.display()))),
        };
        let mut ids: Vec<String> = rd
            .flatten()
            .filter(|e| e.path().join(STATE_FILE).is_file())
            .filter_map(|e| e.file_name().to_str().map(String::from))
            .collect();
        ids.sort();
        Ok(ids)
    }

    pub fn status(&self, c: &Container) -> Status {
        if !init_alive(c.init_pid, c.init_start) {
            return Status::Stopped;
        }
        if self.fifo(&c.id).exists() {
            return Status::Created;
        }
        if frozen(c) {
            return Status::Paused;
        }
        Status::Running
    }
}

/// Is the freezer of the container's cgroup holding it?
fn frozen(c: &Container) -> bool {
    c.cgroup.as_ref().and_then(|m| m.state().ok())
        == Some(crate::runtime::cgroups::FreezerState::Frozen)
}

/// Write `path` by temp file + rename in the same directory.
pub fn write_replace(path: &Path, data: &[u8], mode: u32) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = crate::base::fs::temp_sibling(path);
    let res = (|| -> std::io::Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&tmp)?;
        f.write_all(data)?;
        std::fs::rename(&tmp, path)
    })();
    if res.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    res.ctx(|| format!("write {}", path.display()))
}

/// (state char, start time) from /proc/PID/stat; None when the process is gone.
pub fn proc_stat(pid: i32) -> Option<(char, u64)> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat(&s)
}

fn parse_stat(s: &str) -> Option<(char, u64)> {
    // The command name (field 2) may hold spaces and parentheses: fields resume after the last ')'.
    let rest = &s[s.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // f[0] is field 3 (state); field 22 (starttime) is f[19].
    Some((f.first()?.chars().next()?, f.get(19)?.parse().ok()?))
}

pub fn start_time(pid: i32) -> Result<u64> {
    proc_stat(pid)
        .map(|(_, t)| t)
        .ok_or_else(|| Error::new(ErrorKind::NotFound, format!("process {pid} is gone")))
}

/// Alive, not a zombie, and the same process that was recorded.
pub fn init_alive(pid: i32, start: u64) -> bool {
    if pid <= 0 {
        return false;
    }
    match proc_stat(pid) {
        Some((state, t)) => t == start && state != 'Z' && state != 'X',
        None => false,
    }
}

/// Go's time.RFC3339Nano: nanoseconds with trailing zeros trimmed (runc's `created`).
pub fn rfc3339_nano_trimmed(t: std::time::SystemTime) -> String {
    let s = crate::base::time::rfc3339_nanos(t);
    match s.find('.') {
        Some(dot) => {
            let frac = s[dot + 1..s.len() - 1].trim_end_matches('0');
            if frac.is_empty() {
                format!("{}Z", &s[..dot])
            } else {
                format!("{}.{}Z", &s[..dot], frac)
            }
        }
        None => s,
    }
}

/// The user name of `uid` from the host's /etc/passwd (no NSS in a static binary), or the number.
pub fn user_name(uid: u32) -> String {
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    passwd
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.len() > 2 && f[2].parse::<u32>().ok() == Some(uid)).then(|| f[0].to_string())
        })
        .next()
        .unwrap_or_else(|| format!("#{uid}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_with_odd_command_names() {
        let s = "42 (a) b (c)) S 1 42 42 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 1 0 123456 1000 10";
        assert_eq!(parse_stat(s), Some(('S', 123456)));
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn own_process_is_alive_and_start_time_guards_reuse() {
        let me = std::process::id() as i32;
        let t = start_time(me).unwrap();
        assert!(init_alive(me, t));
        assert!(
            !init_alive(me, t + 1),
            "a different start time means a recycled pid"
        );
        assert!(!init_alive(0, t));
    }

    #[test]
    fn trimmed_nanos_like_go() {
        use std::time::{Duration, UNIX_EPOCH};
        assert_eq!(
            rfc3339_nano_trimmed(UNIX_EPOCH + Duration::new(5, 120_000_000)),
            "1970-01-01T00:00:05.12Z"
        );
        assert_eq!(
            rfc3339_nano_trimmed(UNIX_EPOCH + Duration::new(5, 0)),
            "1970-01-01T00:00:05Z"
        );
    }

    #[test]
    fn reserve_is_exclusive_and_load_reports_missing() {
        let root = std::env::temp_dir().join(format!("berth-state-test-{}", std::process::id()));
        let s = Store::new(&root);
        s.reserve("a").unwrap();
        assert_eq!(
            s.reserve("a").unwrap_err().to_string(),
            "container with given ID already exists"
        );
        assert_eq!(
            s.load("a").unwrap_err().to_string(),
            "container does not exist"
        );
        assert_eq!(
            s.load("../x").unwrap_err().to_string(),
            "invalid container ID format"
        );
        assert!(
            s.ids().unwrap().is_empty(),
            "a reserved dir without state is not listed"
        );
        std::fs::remove_dir_all(&root).unwrap();
    }
}
