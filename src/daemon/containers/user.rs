//! `--user` resolution against the container's own /etc/passwd and /etc/group.
//!
//! The daemon is a static binary: no NSS, and the host's user database is the wrong one anyway.
//! The caller reads the two files from the container's root file system (symlink-safe, inside the
//! rootfs) and hands their text here. Rules follow Docker (libcontainer's `GetExecUser`):
//! `name|uid[:group|gid]`; a numeric uid absent from passwd is allowed (gid 0, home /);
//! a name must exist; the supplementary groups are the primary gid, the groups listing the user
//! by name, then `--group-add` entries.

use crate::base::{Error, Result};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecUser {
    pub uid: u32,
    pub gid: u32,
    /// Supplementary groups, primary first, without duplicates.
    pub additional_gids: Vec<u32>,
    pub home: String,
}

struct PasswdEntry<'a> {
    name: &'a str,
    uid: u32,
    gid: u32,
    home: &'a str,
}

struct GroupEntry<'a> {
    name: &'a str,
    gid: u32,
    members: Vec<&'a str>,
}

fn passwd_entries(text: &str) -> impl Iterator<Item = PasswdEntry<'_>> {
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            if f.len() < 4 {
                return None;
            }
            Some(PasswdEntry {
                name: f[0],
                uid: f[2].trim().parse().ok()?,
                gid: f[3].trim().parse().ok()?,
                home: f.get(5).copied().unwrap_or(""),
            })
        })
}

fn group_entries(text: &str) -> impl Iterator<Item = GroupEntry<'_>> {
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            if f.len() < 3 {
                return None;
            }
            let members = f
                .get(3)
                .map(|m| {
                    m.split(',')
                        .map(str::trim)
                        .filter(|m| !m.is_empty())
                        .collect()
                })
                .unwrap_or_default();
            Some(GroupEntry {
                name: f[0],
                gid: f[2].trim().parse().ok()?,
                members,
            })
        })
}

fn numeric(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Resolve `spec` (Docker's `User`, empty meaning root) and `group_add` (`--group-add`).
/// `passwd`/`group`: the files' text, None when the image has no such file.
pub fn resolve(
    spec: &str,
    group_add: &[String],
    passwd: Option<&str>,
    group: Option<&str>,
) -> Result<ExecUser> {
    let (user_part, group_part) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    let user_part = if user_part.is_empty() { "0" } else { user_part };
    let pw = passwd.unwrap_or("");
    let gr = group.unwrap_or("");

    let entry = match numeric(user_part) {
        Some(uid) => passwd_entries(pw).find(|e| e.uid == uid),
        None => passwd_entries(pw).find(|e| e.name == user_part),
    };
    let (uid, mut gid, home, name) = match (&entry, numeric(user_part)) {
        (Some(e), _) => (e.uid, e.gid, e.home.to_string(), Some(e.name)),
        (None, Some(uid)) => (uid, 0, "/".to_string(), None),
        (None, None) => {
            return Err(Error::invalid(format!(
                "unable to find user {user_part}: no matching entries in passwd file"
            )));
        }
    };
    if let Some(g) = group_part.filter(|g| !g.is_empty()) {
        gid = match numeric(g) {
            Some(n) => n,
            None => group_entries(gr)
                .find(|e| e.name == g)
                .map(|e| e.gid)
                .ok_or_else(|| {
                    Error::invalid(format!(
                        "unable to find group {g}: no matching entries in group file"
                    ))
                })?,
        };
    }
    let mut gids = vec![gid];
    // Supplementary groups from the group file apply only when no group was named explicitly.
    if group_part.is_none() {
        if let Some(n) = name {
            for e in group_entries(gr).filter(|e| e.members.contains(&n)) {
                if !gids.contains(&e.gid) {
                    gids.push(e.gid);
                }
            }
        }
    }
    for g in group_add {
        let id = match numeric(g) {
            Some(n) => n,
            None => group_entries(gr)
                .find(|e| e.name == g.as_str())
                .map(|e| e.gid)
                .ok_or_else(|| {
                    Error::invalid(format!(
                        "unable to find group {g}: no matching entries in group file"
                    ))
                })?,
        };
        if !gids.contains(&id) {
            gids.push(id);
        }
    }
    Ok(ExecUser {
        uid,
        gid,
        additional_gids: gids,
        home: if home.is_empty() { "/".into() } else { home },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\n# comment\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\nweb:x:1000:1000::/home/web:/bin/sh\nbad line\n";
    const GROUP: &str =
        "root:x:0:\nwheel:x:10:web,other\nnogroup:x:65534:\nweb:x:1000:\nstaff:x:50:web\n";

    #[test]
    fn empty_is_root_with_home() {
        let u = resolve("", &[], Some(PASSWD), Some(GROUP)).unwrap();
        assert_eq!((u.uid, u.gid, u.home.as_str()), (0, 0, "/root"));
        assert_eq!(u.additional_gids, [0]);
    }

    #[test]
    fn names_and_numbers() {
        let u = resolve("web", &[], Some(PASSWD), Some(GROUP)).unwrap();
        assert_eq!((u.uid, u.gid), (1000, 1000));
        assert_eq!(u.additional_gids, [1000, 10, 50]);
        let u = resolve("1:2", &[], Some(PASSWD), Some(GROUP)).unwrap();
        assert_eq!((u.uid, u.gid, u.additional_gids.clone()), (1, 2, vec![2]));
        let u = resolve("nobody:wheel", &[], Some(PASSWD), Some(GROUP)).unwrap();
        assert_eq!(
            (u.uid, u.gid, u.additional_gids.clone()),
            (65534, 10, vec![10])
        );
        let u = resolve("1000", &[], None, None).unwrap();
        assert_eq!((u.uid, u.gid, u.home.as_str()), (1000, 0, "/"));
    }

    #[test]
    fn group_add_by_name_and_number() {
        let u = resolve(
            "0",
            &["staff".into(), "77".into(), "0".into()],
            Some(PASSWD),
            Some(GROUP),
        )
        .unwrap();
        assert_eq!(u.additional_gids, [0, 50, 77]);
    }

    #[test]
    fn unknown_names_use_dockers_words() {
        let e = resolve("nosuch", &[], Some(PASSWD), Some(GROUP)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "unable to find user nosuch: no matching entries in passwd file"
        );
        let e = resolve("root:nogrp", &[], Some(PASSWD), Some(GROUP)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "unable to find group nogrp: no matching entries in group file"
        );
        let e = resolve("web", &[], None, None).unwrap_err();
        assert!(e.to_string().contains("unable to find user web"));
    }
}
