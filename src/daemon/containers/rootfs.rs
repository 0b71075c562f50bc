//! Paths inside a container's root file system, resolved the way the container would see them.
//!
//! The daemon reads /etc/passwd and /etc/group from an image and creates the working directory
//! before the container starts. An image controls its symlinks: `/etc/passwd -> /etc/shadow` or
//! `WORKDIR /work` with `work -> ../../../../root` must resolve inside the rootfs, never on the
//! host. [`resolve`] walks the path one component at a time and follows each symlink relative to
//! the rootfs (an absolute target restarts at the rootfs, `..` stops at it), like
//! filepath-securejoin. The rootfs is not yet in use by any container when this runs (create
//! and start hold the container's operation lock), so nothing inside can race the walk.

use crate::base::error::Context;
use crate::base::{Error, Result};
use std::ffi::OsString;
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};

/// Symlinks followed before giving up (Linux's MAXSYMLINKS).
const MAX_LINKS: usize = 40;

/// The host path of `path` inside `root`, following symlinks inside the root. Components that
/// do not exist are appended as they are.
pub fn resolve(root: &Path, path: &str) -> Result<PathBuf> {
    let mut pending: Vec<OsString> = components(Path::new(path));
    pending.reverse();
    let mut done: Vec<OsString> = Vec::new();
    let mut links = 0;
    while let Some(c) = pending.pop() {
        if c == ".." {
            done.pop();
            continue;
        }
        let mut candidate = root.to_path_buf();
        candidate.extend(&done);
        candidate.push(&c);
        match std::fs::symlink_metadata(&candidate) {
            Ok(m) if m.file_type().is_symlink() => {
                links += 1;
                if links > MAX_LINKS {
                    return Err(Error::invalid(format!(
                        "too many levels of symbolic links resolving {path} in the container"
                    )));
                }
                let target = std::fs::read_link(&candidate)
                    .ctx(|| format!("readlink {}", candidate.display()))?;
                if target.is_absolute() {
                    done.clear();
                }
                let mut t = components(&target);
                t.reverse();
                pending.extend(t);
            }
            _ => done.push(c),
        }
    }
    let mut out = root.to_path_buf();
    out.extend(&done);
    Ok(out)
}

fn components(p: &Path) -> Vec<OsString> {
    p.components()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(n.to_os_string()),
            Component::ParentDir => Some(OsString::from("..")),
            _ => None,
        })
        .collect()
}

/// Read a small file of the container (e.g. /etc/passwd); None if it does not exist.
pub fn read_file(root: &Path, path: &str) -> Result<Option<String>> {
    let p = resolve(root, path)?;
    match std::fs::metadata(&p) {
        Ok(m) if m.is_file() && m.len() <= 16 << 20 => {}
        Ok(_) => return Ok(None),
        Err(_) => return Ok(None),
    }
    match std::fs::read(&p) {
        Ok(b) => Ok(Some(String::from_utf8_lossy(&b).into_owned())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::from(e).context(format!("read {path} in the container"))),
    }
}

/// Create the working directory (and missing parents) inside the rootfs, owned by the
/// container's user, as Docker does at start. Each new component is resolved again, so a
/// symlink met on the way is followed inside the root.
pub fn make_workdir(root: &Path, path: &str, uid: u32, gid: u32) -> Result<()> {
    let mut sofar = String::new();
    for c in components(Path::new(path)) {
        sofar.push('/');
        sofar.push_str(&c.to_string_lossy());
        let p = resolve(root, &sofar)?;
        match std::fs::symlink_metadata(&p) {
            Ok(m) if m.is_dir() => continue,
            Ok(_) => {
                return Err(Error::invalid(format!(
                    "mkdir {sofar}: not a directory in the container"
                )))
            }
            Err(_) => {
                std::fs::create_dir(&p)
                    .ctx(|| format!("create the working directory {sofar} in the container"))?;
                std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755))
                    .ctx(|| format!("chmod {sofar}"))?;
                std::os::unix::fs::lchown(&p, Some(uid), Some(gid))
                    .ctx(|| format!("chown {sofar}"))?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn symlinks_stay_inside_the_root() {
        let t = std::env::temp_dir().join(format!("berth-rootfs-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&t);
        std::fs::create_dir_all(t.join("etc")).unwrap();
        std::fs::write(t.join("etc/real"), "root:x:0:0::/root:/bin/sh\n").unwrap();
        symlink("/etc/real", t.join("etc/passwd")).unwrap();
        symlink("../../../../../../etc", t.join("up")).unwrap();
        symlink("/", t.join("rootlink")).unwrap();
        symlink("loop", t.join("loop")).unwrap();
        assert_eq!(resolve(&t, "/etc/passwd").unwrap(), t.join("etc/real"));
        assert_eq!(resolve(&t, "/up/shadow").unwrap(), t.join("etc/shadow"));
        assert_eq!(resolve(&t, "/rootlink/../../etc").unwrap(), t.join("etc"));
        assert!(resolve(&t, "/loop/x").is_err());
        assert!(read_file(&t, "/etc/passwd")
            .unwrap()
            .unwrap()
            .starts_with("root:"));
        assert_eq!(read_file(&t, "/up/shadow").unwrap(), None);
        make_workdir(&t, "/up/a/b", 0, 0).unwrap();
        assert!(t.join("etc/a/b").is_dir());
        std::fs::remove_dir_all(&t).unwrap();
    }
}
