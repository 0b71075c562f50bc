//! dockerd's configuration: command-line flags and `daemon.json`, merged as dockerd merges them.
//!
//! One table, [`OPTIONS`], maps each flag to its `daemon.json` key and value kind. The front end
//! parses flags into JSON values under those keys; [`load`] reads the file, refuses unknown keys
//! and keys given both ways (dockerd's words), merges, and decodes the typed [`Config`].
//! Options accepted for later issues are stored and reported; options berth cannot honour are
//! refused in [`Config::check_supported`] with a message saying so.

use crate::api::json::{decode, Mode};
use crate::base::{Error, Result};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::PathBuf;

pub const DEFAULT_HOST: &str = "unix:///var/run/docker.sock";
pub const DEFAULT_DATA_ROOT: &str = "/var/lib/berth";
pub const DEFAULT_EXEC_ROOT: &str = "/run/berth";
pub const DEFAULT_CONFIG_FILE: &str = "/etc/docker/daemon.json";
/// The pid file defaults to `<exec-root>/dockerd.pid`: it guards the runtime state it sits in,
/// and never collides with a Docker daemon's `/var/run/docker.pid`.
pub const PIDFILE_NAME: &str = "dockerd.pid";
pub const DEFAULT_SOCKET_GROUP: &str = "docker";

/// How a flag's value becomes JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `--debug`, `--iptables=false`.
    Bool,
    Str,
    Int,
    /// Repeatable: `-H a -H b` → `["a","b"]`.
    List,
    /// Repeatable `k=v`: `--log-opt max-size=10m` → `{"max-size":"10m"}`.
    Map,
    /// Repeatable `name=path`: `--add-runtime crun=/usr/bin/crun` → `{"crun":{"path":"/usr/bin/crun"}}`.
    Runtime,
}

/// One dockerd option.
#[derive(Debug, Clone, Copy)]
pub struct Opt {
    pub long: &'static str,
    pub short: Option<char>,
    /// Its `daemon.json` key; empty for flags that have none (`--config-file`).
    pub key: &'static str,
    pub kind: Kind,
    pub help: &'static str,
}

const fn opt(
    long: &'static str,
    short: Option<char>,
    key: &'static str,
    kind: Kind,
    help: &'static str,
) -> Opt {
    Opt {
        long,
        short,
        key,
        kind,
        help,
    }
}

use Kind::*;

/// Every flag dockerd (berth) accepts, in `--help` order.
pub const OPTIONS: &[Opt] = &[
    opt("add-runtime", None, "runtimes", Runtime, "Register an additional OCI compatible runtime (name=path)"),
    opt("api-cors-header", None, "api-cors-header", Str, "Set CORS headers in the Engine API (stored)"),
    opt("bip", None, "bip", Str, "Specify network bridge IP"),
    opt("bridge", Some('b'), "bridge", Str, "Attach containers to a network bridge (\"none\" disables the default bridge)"),
    opt("cgroup-parent", None, "cgroup-parent", Str, "Set parent cgroup for all containers"),
    opt("config-file", None, "", Str, "Daemon configuration file (default \"/etc/docker/daemon.json\")"),
    opt("containerd", None, "containerd", Str, "containerd (berth supervisor) socket; default: embedded supervisor"),
    opt("data-root", None, "data-root", Str, "Root directory of persistent state (default \"/var/lib/berth\")"),
    opt("debug", Some('D'), "debug", Bool, "Enable debug mode"),
    opt("default-address-pool", None, "default-address-pools", List, "Default address pools for node specific local networks"),
    opt("default-cgroupns-mode", None, "default-cgroupns-mode", Str, "Default mode for containers cgroup namespace (\"host\" | \"private\")"),
    opt("default-gateway", None, "default-gateway", Str, "Container default gateway IPv4 address"),
    opt("default-ipc-mode", None, "default-ipc-mode", Str, "Default mode for containers ipc (\"shareable\" | \"private\")"),
    opt("default-runtime", None, "default-runtime", Str, "Default OCI runtime for containers (default \"runc\")"),
    opt("default-shm-size", None, "default-shm-size", Str, "Default shm size for containers (default 64MiB)"),
    opt("default-ulimit", None, "default-ulimits", List, "Default ulimits for containers"),
    opt("dns", None, "dns", List, "DNS server to use"),
    opt("dns-opt", None, "dns-opts", List, "DNS options to use"),
    opt("dns-search", None, "dns-search", List, "DNS search domains to use"),
    opt("exec-opt", None, "exec-opts", List, "Runtime execution options"),
    opt("exec-root", None, "exec-root", Str, "Root directory for execution state files (default \"/run/berth\")"),
    opt("experimental", None, "experimental", Bool, "Enable experimental features"),
    opt("fixed-cidr", None, "fixed-cidr", Str, "IPv4 subnet for fixed IPs"),
    opt("group", Some('G'), "group", Str, "Group for the unix socket (default \"docker\")"),
    opt("host", Some('H'), "hosts", List, "Daemon socket(s) to connect to (default unix:///var/run/docker.sock)"),
    opt("icc", None, "icc", Bool, "Enable inter-container communication (default true)"),
    opt("init", None, "init", Bool, "Run an init in the container to forward signals and reap processes"),
    opt("init-path", None, "init-path", Str, "Path to the docker-init binary"),
    opt("insecure-registry", None, "insecure-registries", List, "Enable insecure registry communication"),
    opt("ip", None, "ip", Str, "Default IP when binding container ports (default 0.0.0.0)"),
    opt("ip-forward", None, "ip-forward", Bool, "Enable net.ipv4.ip_forward (default true)"),
    opt("ip-masq", None, "ip-masq", Bool, "Enable IP masquerading (default true)"),
    opt("ip6tables", None, "ip6tables", Bool, "Enable addition of ip6tables rules"),
    opt("iptables", None, "iptables", Bool, "Enable addition of iptables rules (default true)"),
    opt("ipv6", None, "ipv6", Bool, "Enable IPv6 networking"),
    opt("label", None, "labels", List, "Set key=value labels to the daemon"),
    opt("live-restore", None, "live-restore", Bool, "Enable live restore of docker when containers are still running"),
    opt("log-driver", None, "log-driver", Str, "Default driver for container logs (default \"json-file\")"),
    opt("log-level", Some('l'), "log-level", Str, "Set the logging level (\"debug\"|\"info\"|\"warn\"|\"error\"|\"fatal\") (default \"info\")"),
    opt("log-opt", None, "log-opts", Map, "Default log driver options for containers"),
    opt("max-concurrent-downloads", None, "max-concurrent-downloads", Int, "Set the max concurrent downloads for each pull (default 3)"),
    opt("max-concurrent-uploads", None, "max-concurrent-uploads", Int, "Set the max concurrent uploads for each push (default 5)"),
    opt("max-download-attempts", None, "max-download-attempts", Int, "Set the max download attempts for each pull (default 5)"),
    opt("mtu", None, "mtu", Int, "Set the containers network MTU"),
    opt("no-new-privileges", None, "no-new-privileges", Bool, "Set no-new-privileges by default for new containers"),
    opt("oom-score-adjust", None, "oom-score-adjust", Int, "Set the oom_score_adj for the daemon"),
    opt("pidfile", Some('p'), "pidfile", Str, "Path to use for daemon PID file (default \"<exec-root>/dockerd.pid\")"),
    opt("raw-logs", None, "raw-logs", Bool, "Full timestamps without ANSI coloring"),
    opt("registry-mirror", None, "registry-mirrors", List, "Preferred Docker registry mirror"),
    opt("rootless", None, "rootless", Bool, "Enable rootless mode (not supported)"),
    opt("seccomp-profile", None, "seccomp-profile", Str, "Path to seccomp profile"),
    opt("selinux-enabled", None, "selinux-enabled", Bool, "Enable selinux support (not supported)"),
    opt("shutdown-timeout", None, "shutdown-timeout", Int, "Set the default shutdown timeout (default 15)"),
    opt("storage-driver", Some('s'), "storage-driver", Str, "Storage driver to use (overlay2 or vfs)"),
    opt("storage-opt", None, "storage-opts", List, "Storage driver options"),
    opt("tls", None, "tls", Bool, "Use TLS (not supported: use a unix socket)"),
    opt("tlscacert", None, "tlscacert", Str, "Trust certs signed only by this CA (not supported)"),
    opt("tlscert", None, "tlscert", Str, "Path to TLS certificate file (not supported)"),
    opt("tlskey", None, "tlskey", Str, "Path to TLS key file (not supported)"),
    opt("tlsverify", None, "tlsverify", Bool, "Use TLS and verify the remote (not supported)"),
    opt("userland-proxy", None, "userland-proxy", Bool, "Use userland proxy for loopback traffic (default true)"),
    opt("userns-remap", None, "userns-remap", Str, "User/Group setting for user namespaces (not supported)"),
];

/// `daemon.json` keys with no flag.
const FILE_ONLY_KEYS: &[&str] = &[
    "features",
    "builder",
    "proxies",
    "log-format",
    "default-network-opts",
    "containerd-namespace",
    "containerd-plugin-namespace",
];

pub fn find_long(name: &str) -> Option<&'static Opt> {
    OPTIONS.iter().find(|o| o.long == name)
}

pub fn find_short(c: char) -> Option<&'static Opt> {
    OPTIONS.iter().find(|o| o.short == Some(c))
}

fn known_key(k: &str) -> bool {
    FILE_ONLY_KEYS.contains(&k) || OPTIONS.iter().any(|o| !o.key.is_empty() && o.key == k)
}

/// Add one flag occurrence to the JSON map of flags (`flags` is keyed by `daemon.json` key).
/// Errors use pflag's wording.
pub fn add_flag(
    flags: &mut Map<String, Value>,
    o: &Opt,
    value: &str,
) -> std::result::Result<(), String> {
    let invalid = |why: &str| {
        format!(
            "invalid argument \"{value}\" for \"--{}\" flag: {why}",
            o.long
        )
    };
    let key = o.key.to_string();
    match o.kind {
        Bool => {
            let b = match value {
                "1" | "t" | "T" | "true" | "TRUE" | "True" => true,
                "0" | "f" | "F" | "false" | "FALSE" | "False" => false,
                _ => {
                    return Err(invalid(&format!(
                        "strconv.ParseBool: parsing \"{value}\": invalid syntax"
                    )))
                }
            };
            flags.insert(key, Value::Bool(b));
        }
        Str => {
            flags.insert(key, Value::String(value.to_string()));
        }
        Int => {
            let n: i64 = value.parse().map_err(|_| {
                invalid(&format!(
                    "strconv.ParseInt: parsing \"{value}\": invalid syntax"
                ))
            })?;
            flags.insert(key, Value::from(n));
        }
        List => {
            let e = flags.entry(key).or_insert_with(|| Value::Array(Vec::new()));
            if let Value::Array(a) = e {
                a.push(Value::String(value.to_string()));
            }
        }
        Map => {
            let (k, v) = value
                .split_once('=')
                .ok_or_else(|| invalid("bad format of key=value"))?;
            let e = flags
                .entry(key)
                .or_insert_with(|| Value::Object(serde_json::Map::new()));
            if let Value::Object(m) = e {
                m.insert(k.to_string(), Value::String(v.to_string()));
            }
        }
        Runtime => {
            let (name, path) = value
                .split_once('=')
                .ok_or_else(|| invalid("bad format of runtime, expected name=path"))?;
            if name.is_empty() || path.is_empty() {
                return Err(invalid("bad format of runtime, expected name=path"));
            }
            let e = flags
                .entry(key)
                .or_insert_with(|| Value::Object(serde_json::Map::new()));
            if let Value::Object(m) = e {
                m.insert(name.to_string(), serde_json::json!({ "path": path }));
            }
        }
    }
    Ok(())
}

/// A runtime registered with `--add-runtime` or `"runtimes"`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(default, rename_all = "camelCase")]
pub struct RuntimeConfig {
    pub path: String,
    pub runtime_args: Vec<String>,
}

/// The merged, typed configuration. Options stored for later issues sit here too; anything
/// known but not typed yet lands in `other`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "kebab-case")]
pub struct Config {
    pub hosts: Vec<String>,
    pub data_root: Option<PathBuf>,
    pub exec_root: Option<PathBuf>,
    pub pidfile: Option<PathBuf>,
    pub debug: bool,
    pub log_level: Option<String>,
    pub group: Option<String>,
    pub containerd: Option<String>,
    pub live_restore: bool,
    pub insecure_registries: Vec<String>,
    pub registry_mirrors: Vec<String>,
    pub runtimes: BTreeMap<String, RuntimeConfig>,
    pub default_runtime: Option<String>,
    pub bridge: Option<String>,
    pub bip: Option<String>,
    pub iptables: Option<bool>,
    pub ip6tables: Option<bool>,
    pub ip_masq: Option<bool>,
    pub ip_forward: Option<bool>,
    pub icc: Option<bool>,
    pub userland_proxy: Option<bool>,
    pub ipv6: bool,
    pub mtu: Option<i64>,
    pub dns: Vec<String>,
    pub dns_opts: Vec<String>,
    pub dns_search: Vec<String>,
    pub labels: Vec<String>,
    pub log_driver: Option<String>,
    pub log_opts: BTreeMap<String, String>,
    pub storage_driver: Option<String>,
    pub storage_opts: Vec<String>,
    pub exec_opts: Vec<String>,
    pub experimental: bool,
    pub init: bool,
    pub init_path: Option<String>,
    pub max_concurrent_downloads: Option<i64>,
    pub max_concurrent_uploads: Option<i64>,
    pub max_download_attempts: Option<i64>,
    pub shutdown_timeout: Option<i64>,
    pub no_new_privileges: bool,
    pub seccomp_profile: Option<String>,
    pub selinux_enabled: bool,
    pub userns_remap: Option<String>,
    pub rootless: bool,
    pub tls: Option<bool>,
    pub tlsverify: Option<bool>,
    pub features: BTreeMap<String, bool>,
    #[serde(flatten)]
    pub other: BTreeMap<String, Value>,
}

impl Config {
    pub fn data_root(&self) -> PathBuf {
        self.data_root
            .clone()
            .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_ROOT))
    }
    pub fn exec_root(&self) -> PathBuf {
        self.exec_root
            .clone()
            .unwrap_or_else(|| PathBuf::from(DEFAULT_EXEC_ROOT))
    }
    pub fn pidfile(&self) -> PathBuf {
        self.pidfile
            .clone()
            .unwrap_or_else(|| self.exec_root().join(PIDFILE_NAME))
    }
    pub fn hosts(&self) -> Vec<String> {
        if self.hosts.is_empty() {
            vec![DEFAULT_HOST.to_string()]
        } else {
            self.hosts.clone()
        }
    }
    pub fn socket_group(&self) -> &str {
        self.group.as_deref().unwrap_or(DEFAULT_SOCKET_GROUP)
    }
    pub fn default_runtime(&self) -> &str {
        self.default_runtime.as_deref().unwrap_or("runc")
    }
    pub fn log_driver(&self) -> &str {
        self.log_driver.as_deref().unwrap_or("json-file")
    }
    pub fn storage_driver(&self) -> &str {
        self.storage_driver.as_deref().unwrap_or("overlay2")
    }
    /// `native.cgroupdriver=systemd` in exec-opts selects the systemd driver, as in dockerd.
    pub fn cgroup_driver(&self) -> &str {
        let systemd = self
            .exec_opts
            .iter()
            .any(|o| o.replace(' ', "") == "native.cgroupdriver=systemd");
        if systemd {
            "systemd"
        } else {
            "cgroupfs"
        }
    }
    /// The log filter: `--log-level` (dockerd's names), or debug with `-D`, else info.
    pub fn log_level(&self) -> Result<log::LevelFilter> {
        if self.debug {
            return Ok(log::LevelFilter::Debug);
        }
        match self.log_level.as_deref().unwrap_or("info") {
            "trace" => Ok(log::LevelFilter::Trace),
            "debug" => Ok(log::LevelFilter::Debug),
            "info" => Ok(log::LevelFilter::Info),
            "warn" | "warning" => Ok(log::LevelFilter::Warn),
            "error" | "fatal" | "panic" => Ok(log::LevelFilter::Error),
            other => Err(Error::invalid(format!(
                "unable to parse logging level: {other}"
            ))),
        }
    }

    /// Refuse what berth cannot do, in words that say so, before anything is created.
    pub fn check_supported(&self) -> Result<()> {
        if self.tls == Some(true) || self.tlsverify == Some(true) {
            return Err(Error::unsupported("berth: TLS on the API socket is not supported; serve a unix socket (-H unix:///path)"));
        }
        if self.rootless {
            return Err(Error::unsupported("berth: --rootless is not supported"));
        }
        if self.userns_remap.as_deref().is_some_and(|s| !s.is_empty()) {
            return Err(Error::unsupported("berth: --userns-remap is not supported"));
        }
        if self.selinux_enabled {
            return Err(Error::unsupported(
                "berth: --selinux-enabled is not supported (no SELinux labelling)",
            ));
        }
        match self.storage_driver() {
            "overlay2" | "vfs" => {}
            other => return Err(Error::unsupported(format!("error initializing graphdriver: driver not supported: {other} (berth supports overlay2 and vfs)"))),
        }
        if self.cgroup_driver() == "systemd" {
            return Err(Error::unsupported(
                "berth: native.cgroupdriver=systemd is not supported; use cgroupfs",
            ));
        }
        self.log_level()?;
        Ok(())
    }
}

/// Where the configuration file comes from.
#[derive(Debug, Clone)]
pub enum ConfigFile {
    /// The default path: a missing file is fine.
    Default,
    /// Given with `--config-file`: it must exist.
    Explicit(PathBuf),
}

/// Go's `%v` of a JSON value, for dockerd's conflict message.
fn go_fmt(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(a) => format!("[{}]", a.iter().map(go_fmt).collect::<Vec<_>>().join(" ")),
        Value::Object(m) => format!(
            "map[{}]",
            m.iter()
                .map(|(k, v)| format!("{k}:{}", go_fmt(v)))
                .collect::<Vec<_>>()
                .join(" ")
        ),
        other => other.to_string(),
    }
}

/// Read `daemon.json` (`None` when the default file does not exist).
fn read_file(file: &ConfigFile) -> Result<Option<(PathBuf, Vec<u8>)>> {
    let (path, required) = match file {
        ConfigFile::Default => (PathBuf::from(DEFAULT_CONFIG_FILE), false),
        ConfigFile::Explicit(p) => (p.clone(), true),
    };
    match std::fs::read(&path) {
        Ok(data) => Ok(Some((path, data))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => Ok(None),
        Err(e) => {
            let text = Error::from(e).to_string().to_lowercase();
            Err(Error::invalid(format!(
                "unable to configure the Docker daemon with file {}: open {}: {text}",
                path.display(),
                path.display()
            )))
        }
    }
}

/// Merge flags (keyed by `daemon.json` key) with the configuration file, as dockerd does.
pub fn load(flags: Map<String, Value>, file: &ConfigFile) -> Result<Config> {
    let mut merged = flags.clone();
    if let Some((path, data)) = read_file(file)? {
        let fail = |msg: String| {
            Error::invalid(format!(
                "unable to configure the Docker daemon with file {}: {msg}",
                path.display()
            ))
        };
        let from_file = parse_file(&data).map_err(|e| fail(e.message().to_string()))?;
        let unknown: Vec<&str> = from_file
            .keys()
            .map(String::as_str)
            .filter(|k| !known_key(k))
            .collect();
        if !unknown.is_empty() {
            return Err(fail(format!(
                "the following directives don't match any configuration option: {}",
                unknown.join(", ")
            )));
        }
        let conflicts: Vec<String> = from_file
            .iter()
            .filter_map(|(k, fv)| {
                flags.get(k).map(|flag| {
                    format!(
                        "{k}: (from flag: {}, from file: {})",
                        go_fmt(flag),
                        go_fmt(fv)
                    )
                })
            })
            .collect();
        if !conflicts.is_empty() {
            return Err(fail(format!("the following directives are specified both as a flag and in the configuration file: {}", conflicts.join(", "))));
        }
        merged.extend(from_file);
        let config: Config = serde_json::from_value(Value::Object(merged))
            .map_err(|e| fail(format!("json: {e}")))?;
        return Ok(config);
    }
    serde_json::from_value(Value::Object(merged))
        .map_err(|e| Error::invalid(format!("invalid flags: {e}")))
}

fn parse_file(data: &[u8]) -> Result<Map<String, Value>> {
    match decode::<Value>(data, Mode::Unmarshal)? {
        Value::Object(m) => Ok(m),
        other => Err(Error::invalid(format!(
            "json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
            json_kind(&other)
        ))),
    }
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmpfile(name: &str, text: &str) -> PathBuf {
        let p =
            std::env::temp_dir().join(format!("berth-config-{name}-{}.json", std::process::id()));
        std::fs::write(&p, text).unwrap();
        p
    }

    fn flags(pairs: &[(&str, &str)]) -> Map<String, Value> {
        let mut m = Map::new();
        for (long, v) in pairs {
            add_flag(&mut m, find_long(long).unwrap(), v).unwrap();
        }
        m
    }

    #[test]
    fn every_flag_has_a_distinct_name_and_key() {
        let mut longs: Vec<_> = OPTIONS.iter().map(|o| o.long).collect();
        longs.sort();
        longs.dedup();
        assert_eq!(longs.len(), OPTIONS.len());
        let mut keys: Vec<_> = OPTIONS
            .iter()
            .map(|o| o.key)
            .filter(|k| !k.is_empty())
            .collect();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), OPTIONS.len() - 1);
    }

    #[test]
    fn flags_become_typed_config() {
        let f = flags(&[
            ("host", "unix:///a.sock"),
            ("host", "unix:///b.sock"),
            ("debug", "true"),
            ("iptables", "false"),
            ("add-runtime", "crun=/usr/bin/crun"),
            ("log-opt", "max-size=10m"),
            ("mtu", "1400"),
            ("insecure-registry", "10.0.0.1:5000"),
        ]);
        let p = std::env::temp_dir().join("berth-config-none.json");
        let _ = std::fs::remove_file(&p);
        let c = load(f, &ConfigFile::Default).unwrap();
        assert_eq!(c.hosts, ["unix:///a.sock", "unix:///b.sock"]);
        assert!(c.debug);
        assert_eq!(c.iptables, Some(false));
        assert_eq!(c.runtimes["crun"].path, "/usr/bin/crun");
        assert_eq!(c.log_opts["max-size"], "10m");
        assert_eq!(c.mtu, Some(1400));
        assert_eq!(c.insecure_registries, ["10.0.0.1:5000"]);
        assert_eq!(c.pidfile(), PathBuf::from("/run/berth/dockerd.pid"));
    }

    #[test]
    fn flag_value_errors_use_pflag_words() {
        let mut m = Map::new();
        assert_eq!(
            add_flag(&mut m, find_long("mtu").unwrap(), "x").unwrap_err(),
            "invalid argument \"x\" for \"--mtu\" flag: strconv.ParseInt: parsing \"x\": invalid syntax"
        );
        assert!(add_flag(&mut m, find_long("debug").unwrap(), "maybe")
            .unwrap_err()
            .contains("strconv.ParseBool"));
        assert!(add_flag(&mut m, find_long("add-runtime").unwrap(), "crun").is_err());
    }

    #[test]
    fn file_is_merged_with_flags() {
        let p = tmpfile(
            "merge",
            r#"{"data-root": "/srv/berth", "live-restore": true, "runtimes": {"crun": {"path": "/usr/bin/crun", "runtimeArgs": ["--debug"]}}}"#,
        );
        let c = load(
            flags(&[("debug", "true")]),
            &ConfigFile::Explicit(p.clone()),
        )
        .unwrap();
        assert!(c.debug && c.live_restore);
        assert_eq!(c.data_root(), PathBuf::from("/srv/berth"));
        assert_eq!(c.runtimes["crun"].runtime_args, ["--debug"]);
        std::fs::remove_file(p).unwrap();
    }

    #[test]
    fn file_errors_use_dockerd_words() {
        let p = tmpfile("unknown", r#"{"foo": 1, "debug": true, "bar": 2}"#);
        let e = load(Map::new(), &ConfigFile::Explicit(p.clone()))
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            format!("unable to configure the Docker daemon with file {}: the following directives don't match any configuration option: bar, foo", p.display())
        );
        std::fs::write(&p, r#"{"debug": true, "hosts": ["unix:///tmp/x"]}"#).unwrap();
        let e = load(
            flags(&[("debug", "true"), ("host", "unix:///tmp/y")]),
            &ConfigFile::Explicit(p.clone()),
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.ends_with("the following directives are specified both as a flag and in the configuration file: debug: (from flag: true, from file: true), hosts: (from flag: [unix:///tmp/y], from file: [unix:///tmp/x])"),
            "{e}"
        );
        std::fs::write(&p, "{bad").unwrap();
        let e = load(Map::new(), &ConfigFile::Explicit(p.clone()))
            .unwrap_err()
            .to_string();
        assert!(
            e.ends_with(": invalid character 'b' looking for beginning of object key string"),
            "{e}"
        );
        std::fs::write(&p, r#"{"debug": "yes"}"#).unwrap();
        assert!(load(Map::new(), &ConfigFile::Explicit(p.clone())).is_err());
        std::fs::remove_file(&p).unwrap();
        let e = load(Map::new(), &ConfigFile::Explicit(p.clone()))
            .unwrap_err()
            .to_string();
        assert_eq!(e, format!("unable to configure the Docker daemon with file {0}: open {0}: no such file or directory", p.display()));
    }

    #[test]
    fn unsupported_options_are_refused_clearly() {
        let c: Config = serde_json::from_value(serde_json::json!({"tlsverify": true})).unwrap();
        assert!(c.check_supported().unwrap_err().to_string().contains("TLS"));
        let c: Config =
            serde_json::from_value(serde_json::json!({"storage-driver": "btrfs"})).unwrap();
        assert!(c
            .check_supported()
            .unwrap_err()
            .to_string()
            .contains("driver not supported: btrfs"));
        let c: Config = serde_json::from_value(serde_json::json!({"log-level": "chatty"})).unwrap();
        assert_eq!(
            c.check_supported().unwrap_err().to_string(),
            "unable to parse logging level: chatty"
        );
        let c: Config =
            serde_json::from_value(serde_json::json!({"iptables": false, "bridge": "none"}))
                .unwrap();
        assert!(c.check_supported().is_ok());
    }
}
