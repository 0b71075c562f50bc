//! The API sockets (`-H`) and the pid file.
//!
//! A unix socket is bound inside a fresh private directory (mode 0700), given mode 0660 and the
//! owner root:docker (or root:root without a docker group), and only then renamed to its path, so
//! it is never reachable with looser permissions, even for an instant and whatever the umask.
//! A stale socket file is removed; a socket that still answers belongs to a live daemon and is
//! left alone.

use super::host::lookup_group;
use crate::base::error::Context;
use crate::base::fs::{mkdir_all, sync_parent, temp_sibling};
use crate::base::{Error, Result};
use crate::http::server::Listener;
use std::io::Write;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Where `-H` asks us to listen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Host {
    Unix(PathBuf),
    Tcp(std::net::SocketAddr),
}

/// Parse a `-H` value as dockerd accepts it (numeric TCP addresses only: no name resolution).
pub fn parse_host(s: &str) -> Result<Host> {
    let bad = |why: &str| Error::invalid(format!("invalid host {s:?}: {why}"));
    if let Some(p) = s.strip_prefix("unix://") {
        let p = if p.is_empty() {
            "/var/run/docker.sock"
        } else {
            p
        };
        if !p.starts_with('/') {
            return Err(bad("unix socket path must be absolute"));
        }
        return Ok(Host::Unix(PathBuf::from(p)));
    }
    if s.starts_with('/') {
        return Ok(Host::Unix(PathBuf::from(s)));
    }
    if let Some(rest) = s.strip_prefix("tcp://") {
        let rest = rest.trim_end_matches('/');
        let rest = if rest.is_empty() {
            "127.0.0.1:2375".to_string()
        } else if rest.starts_with(':') {
            format!("127.0.0.1{rest}")
        } else {
            rest.to_string()
        };
        return rest.parse().map(Host::Tcp).map_err(|_| {
            bad("tcp hosts need a numeric IP address and port (berth does not resolve names)")
        });
    }
    if s.starts_with("fd://") {
        return Err(bad(
            "socket activation (fd://) is not supported; use unix:///path",
        ));
    }
    if s.starts_with("ssh://") || s.starts_with("npipe://") {
        return Err(bad("only unix:// and tcp:// hosts can be served"));
    }
    Err(bad("expected unix:///path or tcp://IP:PORT"))
}

/// A socket we bound, removed again by `cleanup`.
#[derive(Debug)]
pub struct Bound {
    pub host: Host,
    pub listener: Option<Listener>,
}

impl Bound {
    /// Remove the socket file (after the listener is gone).
    pub fn cleanup(&self) {
        if let Host::Unix(p) = &self.host {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// Resolve the socket group: `name` from /etc/group (parsed here: static glibc cannot call
/// getgrnam), or a number. A missing default group means root's group, as in dockerd; a missing
/// group the user named is an error.
pub fn socket_gid(name: &str, is_default: bool) -> Result<u32> {
    let etc_group = std::fs::read_to_string("/etc/group").unwrap_or_default();
    match lookup_group(&etc_group, name) {
        Some(g) => Ok(g),
        None if is_default || name.is_empty() => Ok(0),
        None => Err(Error::not_found(format!("group {name} not found"))),
    }
}

pub fn bind(host: &Host, gid: u32) -> Result<Bound> {
    match host {
        Host::Unix(path) => bind_unix(path, gid).map(|l| Bound {
            host: host.clone(),
            listener: Some(l),
        }),
        Host::Tcp(addr) => {
            log::warn!("Binding to IP address without --tlsverify is insecure and gives root access on this machine to everyone who has access to your network. host=\"tcp://{addr}\"");
            let l = smol::Async::<std::net::TcpListener>::bind(*addr)
                .ctx(|| format!("listen tcp {addr}"))?;
            Ok(Bound {
                host: host.clone(),
                listener: Some(Listener::Tcp(l)),
            })
        }
    }
}

fn bind_unix(path: &Path, gid: u32) -> Result<Listener> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("/"));
    mkdir_all(dir, 0o755)?;
    remove_stale(path)?;
    // Bind in a private directory, fix mode and owner, then rename into place.
    // Short names: a unix socket path must fit in 108 bytes.
    let private = dir.join(format!(".berth-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&private);
    mkdir_all(&private, 0o700)?;
    let result = (|| -> Result<Listener> {
        let tmp = private.join("s");
        let l = smol::Async::<std::os::unix::net::UnixListener>::bind(&tmp)
            .ctx(|| format!("listen unix {}", path.display()))?;
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o660))
            .ctx(|| format!("chmod {}", tmp.display()))?;
        std::os::unix::fs::chown(&tmp, Some(0), Some(gid))
            .ctx(|| format!("chown {}", tmp.display()))?;
        std::fs::rename(&tmp, path)
            .ctx(|| format!("rename {} to {}", tmp.display(), path.display()))?;
        Ok(Listener::Unix(l))
    })();
    let _ = std::fs::remove_dir_all(&private);
    result
}

fn remove_stale(path: &Path) -> Result<()> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::from(e).context(format!("stat {}", path.display()))),
    };
    if !meta.file_type().is_socket() {
        return Err(Error::conflict(format!(
            "cannot listen on {}: the path exists and is not a socket",
            path.display()
        )));
    }
    if std::os::unix::net::UnixStream::connect(path).is_ok() {
        return Err(Error::conflict(format!(
            "cannot listen on {}: another daemon is serving this socket",
            path.display()
        )));
    }
    std::fs::remove_file(path).ctx(|| format!("remove stale socket {}", path.display()))
}

/// The pid file: holds our pid while we run, refuses a second daemon, goes away on exit.
#[derive(Debug)]
pub struct PidFile {
    path: PathBuf,
}

fn pid_alive(pid: u32) -> bool {
    pid > 0 && Path::new(&format!("/proc/{pid}")).exists()
}

impl PidFile {
    /// Create `path` with our pid. A pid file naming a live process other than us is dockerd's
    /// "pid file found, ensure docker is not running or delete <path>". The file appears
    /// atomically (hard link of a complete temp file), so two daemons starting together cannot
    /// both win.
    pub fn acquire(path: &Path) -> Result<PidFile> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            mkdir_all(dir, 0o755)?;
        }
        let me = std::process::id();
        let tmp = temp_sibling(path);
        let write_tmp = || -> std::io::Result<()> {
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o644)
                .open(&tmp)?;
            f.write_all(me.to_string().as_bytes())?;
            f.sync_all()
        };
        write_tmp().ctx(|| format!("write {}", tmp.display()))?;
        let result = (|| {
            for _ in 0..3 {
                match std::fs::hard_link(&tmp, path) {
                    Ok(()) => {
                        sync_parent(path)?;
                        return Ok(PidFile {
                            path: path.to_path_buf(),
                        });
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                        let text = std::fs::read_to_string(path).unwrap_or_default();
                        match text.trim().parse::<u32>() {
                            Ok(pid) if pid != me && pid_alive(pid) => {
                                return Err(Error::conflict(format!(
                                    "pid file found, ensure docker is not running or delete {}",
                                    path.display()
                                )));
                            }
                            _ => {
                                // Stale (dead pid, garbage, or our own from a reused pid): replace.
                                let _ = std::fs::remove_file(path);
                            }
                        }
                    }
                    Err(e) => {
                        return Err(
                            Error::from(e).context(format!("create pid file {}", path.display()))
                        )
                    }
                }
            }
            Err(Error::conflict(format!(
                "pid file {} keeps reappearing: is another daemon starting?",
                path.display()
            )))
        })();
        let _ = std::fs::remove_file(&tmp);
        result
    }
}

impl Drop for PidFile {
    fn drop(&mut self) {
        let ours = std::fs::read_to_string(&self.path)
            .ok()
            .and_then(|t| t.trim().parse::<u32>().ok())
            == Some(std::process::id());
        if ours {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_parse_like_dockerd() {
        assert_eq!(
            parse_host("unix:///run/x.sock").unwrap(),
            Host::Unix("/run/x.sock".into())
        );
        assert_eq!(
            parse_host("unix://").unwrap(),
            Host::Unix("/var/run/docker.sock".into())
        );
        assert_eq!(
            parse_host("tcp://127.0.0.1:2375").unwrap(),
            Host::Tcp("127.0.0.1:2375".parse().unwrap())
        );
        assert_eq!(
            parse_host("tcp://:2376").unwrap(),
            Host::Tcp("127.0.0.1:2376".parse().unwrap())
        );
        assert!(parse_host("tcp://localhost:2375")
            .unwrap_err()
            .to_string()
            .contains("numeric"));
        assert!(parse_host("fd://").is_err());
        assert!(parse_host("unix://relative").is_err());
    }

    #[test]
    fn pid_file_refuses_a_live_owner_and_replaces_a_dead_one() {
        let dir = std::env::temp_dir().join(format!("berth-pidfile-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let p = dir.join("d.pid");
        // pid 1 is always alive.
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(&p, "1").unwrap();
        let e = PidFile::acquire(&p).unwrap_err().to_string();
        assert_eq!(
            e,
            format!(
                "pid file found, ensure docker is not running or delete {}",
                p.display()
            )
        );
        std::fs::write(&p, "999999999").unwrap();
        let g = PidFile::acquire(&p).unwrap();
        assert_eq!(
            std::fs::read_to_string(&p).unwrap(),
            std::process::id().to_string()
        );
        drop(g);
        assert!(!p.exists());
        let names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert!(names.is_empty(), "left behind: {names:?}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
