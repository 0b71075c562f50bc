//! `berth --install DIR`: busybox-style symlinks for every role.

use super::APPLETS;
use crate::base::{Error, Result};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

pub fn install(dir: &Path) -> Result<()> {
    let exe = std::fs::read_link("/proc/self/exe")
        .or_else(|_| std::env::current_exe())
        .map_err(|e| Error::from(e).context("locate the berth binary"))?;
    let exe_meta = std::fs::metadata(&exe)
        .map_err(|e| Error::from(e).context(format!("stat {}", exe.display())))?;
    let meta =
        std::fs::metadata(dir).map_err(|e| Error::from(e).context(format!("{}", dir.display())))?;
    if !meta.is_dir() {
        return Err(Error::invalid(format!(
            "{}: not a directory",
            dir.display()
        )));
    }
    // Check every target first, so a refusal leaves the directory untouched.
    let mut todo: Vec<PathBuf> = Vec::new();
    for a in APPLETS {
        let link = dir.join(a.name);
        match std::fs::symlink_metadata(&link) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => todo.push(link),
            Err(e) => return Err(Error::from(e).context(format!("stat {}", link.display()))),
            Ok(m) if m.file_type().is_symlink() => {
                let ours = std::fs::metadata(&link)
                    .map(|t| t.dev() == exe_meta.dev() && t.ino() == exe_meta.ino())
                    .unwrap_or(false);
                if !ours {
                    return Err(Error::conflict(format!(
                        "refusing to overwrite {}: it is a link to something other than berth",
                        link.display()
                    )));
                }
            }
            Ok(_) => {
                return Err(Error::conflict(format!(
                    "refusing to overwrite {}: it is not a link to berth",
                    link.display()
                )));
            }
        }
    }
    for link in todo {
        std::os::unix::fs::symlink(&exe, &link).map_err(|e| {
            Error::from(e).context(format!("symlink {} -> {}", link.display(), exe.display()))
        })?;
    }
    Ok(())
}
