//! The daemon's two state roots and their layout.
//!
//! ```text
//! <data-root>  (--data-root, default /var/lib/berth): persistent, survives reboots
//!   format        layout version of this tree ("1\n"); written atomically at first start;
//!                 a newer number than this build knows makes the daemon refuse to start
//!   engine-id     the daemon's ID (a UUID, `docker info` ID), created once
//!   tmp/          scratch space on the same filesystem, so finished files can be renamed in
//!   image/        the image store (content, layers, snapshots, references): see src/image
//!   containers/   per-container config and state (later issues)
//!   volumes/      named volumes (later issues)
//!   network/      networks and IPAM state (later issues)
//!
//! <exec-root>  (--exec-root, default /run/berth): runtime state, gone after a reboot
//!   format        layout version, as above
//!   dockerd.pid   the default --pidfile
//!   runc/         the runc role's state (--root) for containers this daemon runs
//!   shims/        per-container shim sockets and status (later issues)
//! ```
//!
//! Nothing persistent is written in place (base::fs::write_atomic). A root that is not empty
//! but has no `format` file belongs to something else (another engine's data root, say) and is
//! refused rather than mixed with ours.

use crate::base::fs::{mkdir_all, write_atomic};
use crate::base::{Error, Result};
use std::path::{Path, PathBuf};

pub const FORMAT_FILE: &str = "format";
/// The layout version of the data root this build writes and reads.
pub const DATA_FORMAT: u32 = 1;
/// The layout version of the exec root.
pub const EXEC_FORMAT: u32 = 1;

#[derive(Debug, Clone)]
pub struct Roots {
    pub data: PathBuf,
    pub exec: PathBuf,
    /// The daemon's ID for `docker info`.
    pub engine_id: String,
}

/// Create both roots if needed, check their format versions and read (or make) the engine ID.
pub fn prepare(data: &Path, exec: &Path) -> Result<Roots> {
    mkdir_all(data, 0o711)?;
    check_format(data, DATA_FORMAT, "data root")?;
    mkdir_all(&data.join("tmp"), 0o700)?;
    mkdir_all(exec, 0o700)?;
    check_format(exec, EXEC_FORMAT, "exec root")?;
    let engine_id = engine_id(data)?;
    Ok(Roots {
        data: data.to_path_buf(),
        exec: exec.to_path_buf(),
        engine_id,
    })
}

/// Read `<root>/format`; on a fresh (empty) root, write ours.
pub fn check_format(root: &Path, ours: u32, what: &str) -> Result<()> {
    let path = root.join(FORMAT_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let found: u32 = text.trim().parse().map_err(|_| {
                Error::invalid(format!(
                    "{what} {}: unreadable format file {}: {:?}",
                    root.display(),
                    path.display(),
                    text.trim()
                ))
            })?;
            if found > ours {
                return Err(Error::invalid(format!(
                    "{what} {} has layout format {found}, newer than this berth understands ({ours}): run a newer berth or use another --{}",
                    root.display(),
                    if what == "data root" { "data-root" } else { "exec-root" }
                )));
            }
            // Older formats would be migrated here; format 1 is the first.
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let foreign: Vec<String> = std::fs::read_dir(root)
                .map_err(|e| Error::from(e).context(format!("read {what} {}", root.display())))?
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n != "tmp" && !n.starts_with(".format.tmp"))
                .collect();
            if !foreign.is_empty() {
                return Err(Error::conflict(format!(
                    "{what} {} is not empty and has no berth format file (found {}): refusing to use another program's state; choose an empty directory",
                    root.display(),
                    foreign.iter().take(3).cloned().collect::<Vec<_>>().join(", ")
                )));
            }
            write_atomic(&path, format!("{ours}\n").as_bytes(), 0o644)
        }
        Err(e) => Err(Error::from(e).context(format!("read {}", path.display()))),
    }
}

/// A random UUID (version 4) from 32 random hex digits.
pub fn uuid_v4() -> String {
    let h = crate::base::id::random_hex_id();
    let b = h.as_bytes();
    let variant = b"89ab"[(b[16] as usize) % 4] as char;
    format!(
        "{}-{}-4{}-{}{}-{}",
        &h[0..8],
        &h[8..12],
        &h[13..16],
        variant,
        &h[17..20],
        &h[20..32]
    )
}

fn engine_id(data: &Path) -> Result<String> {
    let path = data.join("engine-id");
    match std::fs::read_to_string(&path) {
        Ok(s) if !s.trim().is_empty() => Ok(s.trim().to_string()),
        Ok(_) => new_engine_id(&path),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => new_engine_id(&path),
        Err(e) => Err(Error::from(e).context(format!("read {}", path.display()))),
    }
}

fn new_engine_id(path: &Path) -> Result<String> {
    let id = uuid_v4();
    write_atomic(path, format!("{id}\n").as_bytes(), 0o600)?;
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(name: &str) -> PathBuf {
        let p = std::env::temp_dir().join(format!("berth-roots-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        p
    }

    #[test]
    fn first_start_writes_format_and_id_then_reuses_them() {
        let t = tmp("first");
        let r = prepare(&t.join("data"), &t.join("exec")).unwrap();
        assert_eq!(
            std::fs::read_to_string(t.join("data/format")).unwrap(),
            "1\n"
        );
        assert_eq!(
            std::fs::read_to_string(t.join("exec/format")).unwrap(),
            "1\n"
        );
        assert_eq!(r.engine_id.len(), 36);
        let again = prepare(&t.join("data"), &t.join("exec")).unwrap();
        assert_eq!(again.engine_id, r.engine_id);
        std::fs::remove_dir_all(&t).unwrap();
    }

    #[test]
    fn newer_format_and_foreign_roots_are_refused() {
        let t = tmp("newer");
        prepare(&t.join("data"), &t.join("exec")).unwrap();
        std::fs::write(t.join("data/format"), "2\n").unwrap();
        let e = prepare(&t.join("data"), &t.join("exec"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("has layout format 2, newer than this berth understands (1)"),
            "{e}"
        );
        std::fs::create_dir_all(t.join("docker/overlay2")).unwrap();
        let e = prepare(&t.join("docker"), &t.join("exec"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("is not empty and has no berth format file (found overlay2)"),
            "{e}"
        );
        std::fs::remove_dir_all(&t).unwrap();
    }

    #[test]
    fn uuids_have_version_4() {
        let u = uuid_v4();
        let parts: Vec<&str> = u.split('-').collect();
        assert_eq!(
            parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
        assert!(parts[2].starts_with('4'));
        assert!("89ab".contains(&parts[3][..1]));
    }
}
