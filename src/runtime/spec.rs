//! Bundles: `runc spec`'s default config, and loading + validating a bundle's config.json.

use crate::base::error::Context;
use crate::base::{Error, Result};
use crate::oci::runtime::{
    Capabilities, IdMapping, Linux, Mount, Namespace, Process, Resources, Rlimit, Root, Spec, User,
};
use std::path::{Path, PathBuf};

/// The OCI runtime spec version berth implements (config.json's ociVersion for `spec`).
pub const OCI_VERSION: &str = "1.2.0";

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn mount(dest: &str, kind: &str, src: &str, opts: &[&str]) -> Mount {
    Mount {
        destination: dest.into(),
        kind: Some(kind.into()),
        source: Some(src.into()),
        options: strings(opts),
        ..Default::default()
    }
}

/// The config `runc spec` writes: `sh` on a terminal in a read-only busybox-style rootfs with
/// runc's default capabilities, mounts, namespaces, masked and read-only paths.
pub fn default_spec(rootless: bool) -> Spec {
    let caps = strings(&["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]);
    let mut devpts = vec![
        "nosuid",
        "noexec",
        "newinstance",
        "ptmxmode=0666",
        "mode=0620",
    ];
    if !rootless {
        devpts.push("gid=5");
    }
    let sys = if rootless {
        mount(
            "/sys",
            "none",
            "/sys",
            &["rbind", "nosuid", "noexec", "nodev", "ro"],
        )
    } else {
        mount(
            "/sys",
            "sysfs",
            "sysfs",
            &["nosuid", "noexec", "nodev", "ro"],
        )
    };
    let mut ns: Vec<&str> = vec!["pid", "network", "ipc", "uts", "mount"];
    if rootless {
        ns.retain(|n| *n != "network");
        ns.push("user");
    }
    let map = |id: u32| {
        vec![IdMapping {
            container_id: 0,
            host_id: id,
            size: 1,
        }]
    };
    Spec {
        oci_version: OCI_VERSION.into(),
        process: Some(Process {
            terminal: true,
            user: User::default(),
            args: strings(&["sh"]),
            env: strings(&[
                "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "TERM=xterm",
            ]),
            cwd: "/".into(),
            capabilities: Some(Capabilities {
                bounding: Some(caps.clone()),
                effective: Some(caps.clone()),
                inheritable: None,
                permitted: Some(caps.clone()),
                ambient: Some(caps),
            }),
            rlimits: vec![Rlimit {
                kind: "RLIMIT_NOFILE".into(),
                hard: 1024,
                soft: 1024,
            }],
            no_new_privileges: true,
            ..Default::default()
        }),
        root: Some(Root {
            path: "rootfs".into(),
            readonly: true,
        }),
        hostname: Some("runc".into()),
        mounts: vec![
            mount("/proc", "proc", "proc", &[]),
            mount(
                "/dev",
                "tmpfs",
                "tmpfs",
                &["nosuid", "strictatime", "mode=755", "size=65536k"],
            ),
            mount("/dev/pts", "devpts", "devpts", &devpts),
            mount(
                "/dev/shm",
                "tmpfs",
                "shm",
                &["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"],
            ),
            mount(
                "/dev/mqueue",
                "mqueue",
                "mqueue",
                &["nosuid", "noexec", "nodev"],
            ),
            sys,
            mount(
                "/sys/fs/cgroup",
                "cgroup",
                "cgroup",
                &["nosuid", "noexec", "nodev", "relatime", "ro"],
            ),
        ],
        linux: Some(Linux {
            uid_mappings: if rootless {
                map(crate::sys::euid())
            } else {
                Vec::new()
            },
            gid_mappings: if rootless {
                map(crate::sys::process::getegid())
            } else {
                Vec::new()
            },
            resources: (!rootless).then(|| Resources {
                devices: vec![crate::oci::runtime::DeviceCgroup {
                    allow: false,
                    access: Some("rwm".into()),
                    ..Default::default()
                }],
                ..Default::default()
            }),
            namespaces: ns
                .iter()
                .map(|k| Namespace {
                    kind: k.to_string(),
                    path: None,
                })
                .collect(),
            masked_paths: strings(&[
                "/proc/acpi",
                "/proc/asound",
                "/proc/kcore",
                "/proc/keys",
                "/proc/latency_stats",
                "/proc/timer_list",
                "/proc/timer_stats",
                "/proc/sched_debug",
                "/sys/firmware",
                "/proc/scsi",
            ]),
            readonly_paths: strings(&[
                "/proc/bus",
                "/proc/fs",
                "/proc/irq",
                "/proc/sys",
                "/proc/sysrq-trigger",
            ]),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Serialise a spec as runc does: tab-indented JSON, no trailing newline.
pub fn to_runc_json(s: &Spec) -> Result<Vec<u8>> {
    use serde::Serialize;
    let mut out = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"\t");
    let mut ser = serde_json::Serializer::with_formatter(&mut out, fmt);
    s.serialize(&mut ser)
        .map_err(|e| Error::internal(e.to_string()))?;
    Ok(out)
}

/// `runc spec`: write the default config.json into `bundle`, refusing to overwrite one.
pub fn write_default(bundle: &Path, rootless: bool) -> Result<()> {
    let path = bundle.join("config.json");
    if path.exists() {
        return Err(Error::conflict("File config.json exists. Remove it first"));
    }
    let data = to_runc_json(&default_spec(rootless))?;
    std::fs::write(&path, data).ctx(|| format!("write {}", path.display()))
}

/// A loaded bundle: absolute paths and a validated config.
pub struct Bundle {
    pub path: PathBuf,
    pub rootfs: PathBuf,
    pub spec: Spec,
}

/// Load `bundle/config.json` and check what the runtime relies on, with runc's wording.
pub fn load_bundle(bundle: &Path) -> Result<Bundle> {
    let abs = clean_abs(&if bundle.is_absolute() {
        bundle.to_path_buf()
    } else {
        std::env::current_dir()?.join(bundle)
    });
    let meta = std::fs::metadata(&abs)
        .map_err(|e| Error::from(e).context(format!("chdir {}", abs.display())))?;
    if !meta.is_dir() {
        return Err(Error::invalid(format!(
            "chdir {}: not a directory",
            abs.display()
        )));
    }
    let cfg = abs.join("config.json");
    let data = match std::fs::read(&cfg) {
        Ok(d) => d,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::not_found(
                "JSON specification file config.json not found",
            ))
        }
        Err(e) => return Err(Error::from(e).context(format!("read {}", cfg.display()))),
    };
    let spec: Spec = serde_json::from_slice(&data).map_err(|e| Error::invalid(e.to_string()))?;
    let process = spec
        .process
        .as_ref()
        .ok_or_else(|| Error::invalid("process property must not be empty"))?;
    if process.args.is_empty() {
        return Err(Error::invalid("args must not be empty"));
    }
    if !process.cwd.is_empty() && !process.cwd.starts_with('/') {
        return Err(Error::invalid(format!(
            "cwd {:?} is not an absolute path",
            process.cwd
        )));
    }
    let root = spec
        .root
        .as_ref()
        .ok_or_else(|| Error::invalid("root must be specified"))?;
    let rootfs = if Path::new(&root.path).is_absolute() {
        PathBuf::from(&root.path)
    } else {
        abs.join(&root.path)
    };
    let rmeta = std::fs::metadata(&rootfs).map_err(|e| {
        Error::from(e).context(format!("invalid rootfs: stat {}", rootfs.display()))
    })?;
    if !rmeta.is_dir() {
        return Err(Error::invalid(format!(
            "invalid rootfs: {} is not a directory",
            rootfs.display()
        )));
    }
    // The rootfs path is used as a mount source and for pivot_root: make it symlink-free.
    let rootfs =
        std::fs::canonicalize(&rootfs).ctx(|| format!("invalid rootfs: {}", rootfs.display()))?;
    for m in &spec.mounts {
        if !m.destination.starts_with('/') {
            return Err(Error::invalid(format!(
                "mount destination {} is not absolute",
                m.destination
            )));
        }
    }
    Ok(Bundle {
        path: abs,
        rootfs,
        spec,
    })
}

/// Go's filepath.Clean of an absolute path: no ".", no "..", no doubled slashes (runc reports
/// `--bundle .` as the directory itself).
fn clean_abs(p: &Path) -> PathBuf {
    let mut out = PathBuf::from("/");
    for c in p.components() {
        match c {
            std::path::Component::Normal(s) => out.push(s),
            std::path::Component::ParentDir => {
                out.pop();
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_spec_matches_runc_shape() {
        let v: serde_json::Value =
            serde_json::from_slice(&to_runc_json(&default_spec(false)).unwrap()).unwrap();
        assert_eq!(v["process"]["args"], serde_json::json!(["sh"]));
        assert_eq!(v["process"]["terminal"], true);
        assert_eq!(v["root"]["readonly"], true);
        assert_eq!(v["linux"]["namespaces"].as_array().unwrap().len(), 5);
        assert_eq!(v["linux"]["resources"]["devices"][0]["access"], "rwm");
        assert!(v["linux"].get("uidMappings").is_none());
        let text = String::from_utf8(to_runc_json(&default_spec(false)).unwrap()).unwrap();
        assert!(
            text.starts_with("{\n\t\"ociVersion\""),
            "tab-indented like runc: {text:.40}"
        );
        assert!(!text.ends_with('\n'));
    }

    #[test]
    fn bundle_paths_are_cleaned_like_go() {
        assert_eq!(clean_abs(Path::new("/a/./b/../c/.")), PathBuf::from("/a/c"));
        assert_eq!(clean_abs(Path::new("/../x")), PathBuf::from("/x"));
    }

    #[test]
    fn rootless_spec_maps_the_caller_and_drops_network() {
        let s = default_spec(true);
        let l = s.linux.unwrap();
        assert_eq!(l.uid_mappings[0].host_id, crate::sys::euid());
        assert!(l.namespaces.iter().any(|n| n.kind == "user"));
        assert!(!l.namespaces.iter().any(|n| n.kind == "network"));
        assert!(l.resources.is_none());
        assert_eq!(s.mounts[5].options[0], "rbind");
    }
}
