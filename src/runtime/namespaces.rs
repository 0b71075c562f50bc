//! Namespaces from `linux.namespaces`: which to create at clone time, which to join by path
//! (opened by the parent up front, so the init never resolves host paths after it moved), and
//! the order of the joins.

use crate::base::{Error, Result};
use crate::oci::runtime::Linux;
use crate::sys::namespace as ns;
use std::os::fd::{AsFd, OwnedFd};

/// OCI namespace type → (clone flag, name under /proc/PID/ns).
pub fn kind(t: &str) -> Option<(i32, &'static str)> {
    Some(match t {
        "pid" => (ns::NEWPID, "pid"),
        "network" => (ns::NEWNET, "net"),
        "mount" => (ns::NEWNS, "mnt"),
        "ipc" => (ns::NEWIPC, "ipc"),
        "uts" => (ns::NEWUTS, "uts"),
        "user" => (ns::NEWUSER, "user"),
        "cgroup" => (ns::NEWCGROUP, "cgroup"),
        "time" => (ns::NEWTIME, "time"),
        _ => return None,
    })
}

#[derive(Debug)]
pub struct Join {
    pub flag: i32,
    pub name: &'static str,
    pub path: String,
    pub fd: OwnedFd,
}

#[derive(Debug, Default)]
pub struct Plan {
    /// Namespaces created by clone(2): all new ones except cgroup (see `new_cgroup`), or none
    /// but pid when a user namespace is joined (new ones must then belong to the joined one).
    pub clone_flags: i32,
    /// New namespaces the init unshares itself after joining (only with a joined user ns).
    pub unshare_flags: i32,
    /// The cgroup namespace is unshared by the init after the parent placed it in its cgroup,
    /// so that cgroup becomes the namespace's root.
    pub new_cgroup: bool,
    /// Joined namespaces, user first. A pid namespace is not in here: see `join_pid`.
    pub joins: Vec<Join>,
    /// A pid namespace joined by path: the parent enters it for its children before the clone.
    pub join_pid: Option<Join>,
    pub new_user: bool,
    pub new_mount: bool,
    pub new_uts: bool,
    pub new_pid: bool,
    pub has_mount: bool,
}

impl Plan {
    pub fn user_joined(&self) -> bool {
        self.joins.iter().any(|j| j.flag == ns::NEWUSER)
    }
}

pub fn plan(linux: Option<&Linux>) -> Result<Plan> {
    let mut p = Plan::default();
    let Some(linux) = linux else { return Ok(p) };
    let mut seen = 0;
    let mut new = 0;
    for n in &linux.namespaces {
        let (flag, name) = kind(&n.kind)
            .ok_or_else(|| Error::invalid(format!("namespace {:?} does not exist", n.kind)))?;
        if seen & flag != 0 {
            return Err(Error::invalid(format!(
                "malformed spec file: duplicated ns {:?}",
                n.kind
            )));
        }
        seen |= flag;
        match n.path.as_deref().filter(|s| !s.is_empty()) {
            None => new |= flag,
            Some(path) => {
                let fd =
                    crate::sys::fd::open(std::path::Path::new(path), crate::sys::fd::O_RDONLY, 0)
                        .map_err(|e| e.context(format!("open {} namespace", n.kind)))?;
                let j = Join {
                    flag,
                    name,
                    path: path.to_string(),
                    fd,
                };
                if flag == ns::NEWPID {
                    p.join_pid = Some(j);
                } else if flag == ns::NEWUSER {
                    p.joins.insert(0, j);
                } else {
                    p.joins.push(j);
                }
            }
        }
    }
    if new & ns::NEWTIME != 0 {
        return Err(Error::unsupported("time namespaces are not supported"));
    }
    p.new_user = new & ns::NEWUSER != 0;
    p.new_mount = new & ns::NEWNS != 0;
    p.new_uts = new & ns::NEWUTS != 0;
    p.new_pid = new & ns::NEWPID != 0;
    p.has_mount = seen & ns::NEWNS != 0;
    p.new_cgroup = new & ns::NEWCGROUP != 0;
    let rest = new & !ns::NEWCGROUP;
    if p.user_joined() {
        // New namespaces must belong to the joined user namespace: the init creates them after
        // joining it (a new pid namespace then takes one more fork, see `init`).
        p.unshare_flags = rest;
    } else {
        p.clone_flags = rest;
    }
    let maps = !linux.uid_mappings.is_empty() || !linux.gid_mappings.is_empty();
    if p.new_user && (linux.uid_mappings.is_empty() || linux.gid_mappings.is_empty()) {
        return Err(Error::invalid(
            "user namespaces enabled, but no user mapping found",
        ));
    }
    if maps && !p.new_user && !p.user_joined() {
        return Err(Error::invalid(
            "user namespaces not enabled in config, but uid/gid mappings were given",
        ));
    }
    Ok(p)
}

/// With a joined user namespace and a new pid namespace, the init must fork once more after
/// joining: unshare(CLONE_NEWPID) only moves the children.
pub fn needs_second_fork(p: &Plan) -> bool {
    p.unshare_flags & ns::NEWPID != 0
}

/// Enter the joined namespaces (the init, after its parent said Go).
pub fn enter(p: &Plan) -> Result<()> {
    for j in &p.joins {
        ns::setns(
            j.fd.as_fd(),
            j.flag,
            &format!("{} namespace {}", j.name, j.path),
        )?;
    }
    if p.unshare_flags != 0 {
        ns::unshare(p.unshare_flags)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oci::runtime::{IdMapping, Namespace};

    fn linux(kinds: &[&str]) -> Linux {
        Linux {
            namespaces: kinds
                .iter()
                .map(|k| Namespace {
                    kind: k.to_string(),
                    path: None,
                })
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn new_namespaces_are_cloned_except_cgroup() {
        let p = plan(Some(&linux(&[
            "pid", "network", "ipc", "uts", "mount", "cgroup",
        ])))
        .unwrap();
        assert_eq!(
            p.clone_flags,
            ns::NEWPID | ns::NEWNET | ns::NEWIPC | ns::NEWUTS | ns::NEWNS
        );
        assert!(p.new_cgroup && p.new_mount && p.new_pid);
    }

    #[test]
    fn duplicates_unknown_and_mapping_rules() {
        assert!(plan(Some(&linux(&["pid", "pid"])))
            .unwrap_err()
            .to_string()
            .contains("duplicated ns"));
        assert!(plan(Some(&linux(&["nope"]))).is_err());
        assert!(plan(Some(&linux(&["user"])))
            .unwrap_err()
            .to_string()
            .contains("no user mapping"));
        let mut l = linux(&["mount"]);
        l.uid_mappings = vec![IdMapping {
            container_id: 0,
            host_id: 1000,
            size: 1,
        }];
        assert!(plan(Some(&l)).is_err());
    }

    #[test]
    fn paths_are_opened_and_user_goes_first() {
        let mut l = linux(&["mount"]);
        l.namespaces.push(Namespace {
            kind: "network".into(),
            path: Some("/proc/self/ns/net".into()),
        });
        l.namespaces.push(Namespace {
            kind: "user".into(),
            path: Some("/proc/self/ns/user".into()),
        });
        let p = plan(Some(&l)).unwrap();
        assert_eq!(p.joins[0].flag, ns::NEWUSER);
        assert_eq!(
            p.clone_flags, 0,
            "with a joined user ns, new namespaces are unshared after the join"
        );
        assert_eq!(p.unshare_flags, ns::NEWNS);
        let mut bad = linux(&[]);
        bad.namespaces.push(Namespace {
            kind: "network".into(),
            path: Some("/nonexistent/ns".into()),
        });
        assert!(plan(Some(&bad))
            .unwrap_err()
            .to_string()
            .contains("open network namespace"));
    }
}
