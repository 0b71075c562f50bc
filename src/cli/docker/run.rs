//! Commands that create containers or attach to their streams: `create`, `run`, `start`,
//! `attach`, `exec`. The container flags become a `POST /containers/create` body as the CLI's
//! `parse` builds it; `run` waits (next-exit or removed) before it starts, so no exit is missed.

use super::command::{dflt, sw, val, Arity, CliError, Opt, Parsed, Spec};
use super::reference::Reference;
use super::stdio::{self, End, StreamOpts};
use super::{block, errln, outln, Ctx};
use crate::api::client::path_escape;
use crate::api::client::RequestBody;
use crate::api::client::{Client, Query};
use serde_json::{json, Map, Value};
use smol::io::AsyncReadExt;
use std::io::IsTerminal;

const fn hidden(long: &'static str, ty: &'static str) -> Opt {
    Opt {
        long,
        short: None,
        ty,
        help: "",
        default: "",
    }
}

/// Flags `create` and `run` share.
macro_rules! container_opts {
    ($($extra:expr),* $(,)?) => {
        &[
            $($extra,)*
            val("add-host", None, "list", "Add a custom host-to-IP mapping (host:ip)"),
            val("annotation", None, "map", "Add an annotation to the container (passed through to the OCI runtime)"),
            val("attach", Some('a'), "list", "Attach to STDIN, STDOUT or STDERR"),
            val("blkio-weight", None, "uint16", "Block IO (relative weight), between 10 and 1000, or 0 to disable"),
            val("cap-add", None, "list", "Add Linux capabilities"),
            val("cap-drop", None, "list", "Drop Linux capabilities"),
            val("cgroup-parent", None, "string", "Optional parent cgroup for the container"),
            val("cgroupns", None, "string", "Cgroup namespace to use (host|private)"),
            val("cidfile", None, "string", "Write the container ID to the file"),
            val("cpu-period", None, "int", "Limit CPU CFS (Completely Fair Scheduler) period"),
            val("cpu-quota", None, "int", "Limit CPU CFS (Completely Fair Scheduler) quota"),
            val("cpu-rt-period", None, "int", "Limit CPU real-time period in microseconds"),
            val("cpu-rt-runtime", None, "int", "Limit CPU real-time runtime in microseconds"),
            val("cpu-shares", Some('c'), "int", "CPU shares (relative weight)"),
            val("cpus", None, "decimal", "Number of CPUs"),
            val("cpuset-cpus", None, "string", "CPUs in which to allow execution (0-3, 0,1)"),
            val("cpuset-mems", None, "string", "MEMs in which to allow execution (0-3, 0,1)"),
            val("device", None, "list", "Add a host device to the container"),
            val("device-cgroup-rule", None, "list", "Add a rule to the cgroup allowed devices list"),
            val("dns", None, "list", "Set custom DNS servers"),
            val("dns-option", None, "list", "Set DNS options"),
            val("dns-search", None, "list", "Set custom DNS search domains"),
            val("domainname", None, "string", "Container NIS domain name"),
            val("entrypoint", None, "string", "Overwrite the default ENTRYPOINT of the image"),
            val("env", Some('e'), "list", "Set environment variables"),
            val("env-file", None, "list", "Read in a file of environment variables"),
            val("expose", None, "list", "Expose a port or a range of ports"),
            val("group-add", None, "list", "Add additional groups to join"),
            val("health-cmd", None, "string", "Command to run to check health"),
            val("health-interval", None, "duration", "Time between running the check (ms|s|m|h) (default 0s)"),
            val("health-retries", None, "int", "Consecutive failures needed to report unhealthy"),
            val("health-start-interval", None, "duration", "Time between running the check during the start period (ms|s|m|h) (default 0s)"),
            val("health-start-period", None, "duration", "Start period for the container to initialize before starting health-retries countdown (ms|s|m|h) (default 0s)"),
            val("health-timeout", None, "duration", "Maximum time to allow one check to run (ms|s|m|h) (default 0s)"),
            val("hostname", Some('h'), "string", "Container host name"),
            sw("init", None, "Run an init inside the container that forwards signals and reaps processes"),
            sw("interactive", Some('i'), "Keep STDIN open even if not attached"),
            val("ip", None, "string", "IPv4 address (e.g., 172.30.100.104)"),
            val("ip6", None, "string", "IPv6 address (e.g., 2001:db8::33)"),
            val("ipc", None, "string", "IPC mode to use"),
            val("isolation", None, "string", "Container isolation technology"),
            val("label", Some('l'), "list", "Set meta data on a container"),
            val("label-file", None, "list", "Read in a line delimited file of labels"),
            val("link", None, "list", "Add link to another container"),
            val("log-driver", None, "string", "Logging driver for the container"),
            val("log-opt", None, "list", "Log driver options"),
            val("mac-address", None, "string", "Container MAC address (e.g., 92:d0:c6:0a:29:33)"),
            val("memory", Some('m'), "bytes", "Memory limit"),
            val("memory-reservation", None, "bytes", "Memory soft limit"),
            val("memory-swap", None, "bytes", "Swap limit equal to memory plus swap: '-1' to enable unlimited swap"),
            dflt("memory-swappiness", None, "int", "Tune container memory swappiness (0 to 100)", "-1"),
            val("mount", None, "mount", "Attach a filesystem mount to the container"),
            val("name", None, "string", "Assign a name to the container"),
            hidden("net", "network"),
            hidden("net-alias", "list"),
            val("network", None, "network", "Connect a container to a network"),
            val("network-alias", None, "list", "Add network-scoped alias for the container"),
            sw("no-healthcheck", None, "Disable any container-specified HEALTHCHECK"),
            sw("oom-kill-disable", None, "Disable OOM Killer"),
            val("oom-score-adj", None, "int", "Tune host's OOM preferences (-1000 to 1000)"),
            val("pid", None, "string", "PID namespace to use"),
            val("pids-limit", None, "int", "Tune container pids limit (set -1 for unlimited)"),
            val("platform", None, "string", "Set platform if server is multi-platform capable"),
            sw("privileged", None, "Give extended privileges to this container"),
            val("publish", Some('p'), "list", "Publish a container's port(s) to the host"),
            sw("publish-all", Some('P'), "Publish all exposed ports to random ports"),
            dflt("pull", None, "string", "Pull image before running (\"always\", \"missing\", \"never\")", "missing"),
            sw("quiet", Some('q'), "Suppress the pull output"),
            sw("read-only", None, "Mount the container's root filesystem as read only"),
            dflt("restart", None, "string", "Restart policy to apply when a container exits", "no"),
            sw("rm", None, "Automatically remove the container and its associated anonymous volumes when it exits"),
            val("runtime", None, "string", "Runtime to use for this container"),
            val("security-opt", None, "list", "Security Options"),
            val("shm-size", None, "bytes", "Size of /dev/shm"),
            val("stop-signal", None, "string", "Signal to stop the container"),
            val("stop-timeout", None, "int", "Timeout (in seconds) to stop a container"),
            val("storage-opt", None, "list", "Storage driver options for the container"),
            val("sysctl", None, "map", "Sysctl options"),
            val("tmpfs", None, "list", "Mount a tmpfs directory"),
            sw("tty", Some('t'), "Allocate a pseudo-TTY"),
            val("ulimit", None, "ulimit", "Ulimit options"),
            val("user", Some('u'), "string", "Username or UID (format: <name|uid>[:<group|gid>])"),
            val("userns", None, "string", "User namespace to use"),
            val("uts", None, "string", "UTS namespace to use"),
            val("volume", Some('v'), "list", "Bind mount a volume"),
            val("volume-driver", None, "string", "Optional volume driver for the container"),
            val("volumes-from", None, "list", "Mount volumes from the specified container(s)"),
            val("workdir", Some('w'), "string", "Working directory inside the container"),
        ]
    };
}

const CREATE_OPTS: &[Opt] = container_opts!();
const RUN_OPTS: &[Opt] = container_opts!(
    sw(
        "detach",
        Some('d'),
        "Run container in background and print container ID"
    ),
    val(
        "detach-keys",
        None,
        "string",
        "Override the key sequence for detaching a container"
    ),
    dflt(
        "sig-proxy",
        None,
        "",
        "Proxy received signals to the process",
        "true"
    ),
);
const START_OPTS: &[Opt] = &[
    sw(
        "attach",
        Some('a'),
        "Attach STDOUT/STDERR and forward signals",
    ),
    val(
        "detach-keys",
        None,
        "string",
        "Override the key sequence for detaching a container",
    ),
    sw("interactive", Some('i'), "Attach container's STDIN"),
];
const ATTACH_OPTS: &[Opt] = &[
    val(
        "detach-keys",
        None,
        "string",
        "Override the key sequence for detaching a container",
    ),
    sw("no-stdin", None, "Do not attach STDIN"),
    dflt(
        "sig-proxy",
        None,
        "",
        "Proxy all received signals to the process",
        "true",
    ),
];
const EXEC_OPTS: &[Opt] = &[
    sw(
        "detach",
        Some('d'),
        "Detached mode: run command in the background",
    ),
    val(
        "detach-keys",
        None,
        "string",
        "Override the key sequence for detaching a container",
    ),
    val("env", Some('e'), "list", "Set environment variables"),
    val(
        "env-file",
        None,
        "list",
        "Read in a file of environment variables",
    ),
    sw(
        "interactive",
        Some('i'),
        "Keep STDIN open even if not attached",
    ),
    sw(
        "privileged",
        None,
        "Give extended privileges to the command",
    ),
    sw("tty", Some('t'), "Allocate a pseudo-TTY"),
    val(
        "user",
        Some('u'),
        "string",
        "Username or UID (format: \"<name|uid>[:<group|gid>]\")",
    ),
    val(
        "workdir",
        Some('w'),
        "string",
        "Working directory inside the container",
    ),
];

pub const SPECS: &[Spec] = &[
    Spec {
        group: "container",
        name: "run",
        aliases: &[],
        top: Some("run"),
        usage: "[OPTIONS] IMAGE [COMMAND] [ARG...]",
        short: "Create and run a new container from an image",
        long: "",
        opts: RUN_OPTS,
        arity: Arity::Min(1),
        stop_at_first: true,
        run_like: true,
        run: run,
    },
    Spec {
        group: "container",
        name: "create",
        aliases: &[],
        top: Some("create"),
        usage: "[OPTIONS] IMAGE [COMMAND] [ARG...]",
        short: "Create a new container",
        long: "",
        opts: CREATE_OPTS,
        arity: Arity::Min(1),
        stop_at_first: true,
        run_like: false,
        run: create,
    },
    Spec {
        group: "container",
        name: "start",
        aliases: &[],
        top: Some("start"),
        usage: "[OPTIONS] CONTAINER [CONTAINER...]",
        short: "Start one or more stopped containers",
        long: "",
        opts: START_OPTS,
        arity: Arity::Min(1),
        stop_at_first: false,
        run_like: false,
        run: start,
    },
    Spec {
        group: "container",
        name: "attach",
        aliases: &[],
        top: Some("attach"),
        usage: "[OPTIONS] CONTAINER",
        short: "Attach local standard input, output, and error streams to a running container",
        long: "",
        opts: ATTACH_OPTS,
        arity: Arity::Exact(1),
        stop_at_first: false,
        run_like: false,
        run: attach,
    },
    Spec {
        group: "container",
        name: "exec",
        aliases: &[],
        top: Some("exec"),
        usage: "[OPTIONS] CONTAINER COMMAND [ARG...]",
        short: "Execute a command in a running container",
        long: "",
        opts: EXEC_OPTS,
        arity: Arity::Min(2),
        stop_at_first: true,
        run_like: false,
        run: exec,
    },
];

/// `opts.ParseRestartPolicy`: only the shape is checked here; the daemon judges the policy.
pub fn restart_policy(s: &str) -> Result<Value, String> {
    if s.is_empty() {
        return Ok(json!({"Name": "", "MaximumRetryCount": 0}));
    }
    let (name, count) = match s.split_once(':') {
        Some(("", _)) => {
            return Err("invalid restart policy format: no policy provided before colon".into())
        }
        Some((n, c)) => (n, c),
        None => (s, ""),
    };
    let n: i64 = if count.is_empty() {
        0
    } else {
        count.parse().map_err(|_| {
            "invalid restart policy format: maximum retry count must be an integer".to_string()
        })?
    };
    Ok(json!({"Name": name, "MaximumRetryCount": n}))
}

/// `opts.ReadKVEnvStrings`: env files first, then `-e`; `NAME` alone takes the value from our
/// environment when it is set.
pub fn env_list(files: &[String], vals: &[String]) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let resolve = |v: &str| -> Option<String> {
        if v.contains('=') {
            if v.starts_with('=') {
                return None;
            }
            return Some(v.to_string());
        }
        match std::env::var(v) {
            Ok(x) => Some(format!("{v}={x}")),
            Err(_) => Some(v.to_string()),
        }
    };
    for f in files {
        let text = std::fs::read_to_string(f)
            .map_err(|e| format!("open {f}: {}", super::format::io_msg(&e)))?;
        for (i, line) in text.lines().enumerate() {
            let l = line.trim_start();
            if l.is_empty() || l.starts_with('#') {
                continue;
            }
            let (k, _) = l.split_once('=').unwrap_or((l, ""));
            if k.contains(char::is_whitespace) {
                return Err(format!("variable '{k}' contains whitespaces"));
            }
            if k.is_empty() {
                return Err(format!(
                    "no variable name on line '{}' of {f} (line {})",
                    line,
                    i + 1
                ));
            }
            if let Some(v) = resolve(l) {
                if v.contains('=') {
                    out.push(v);
                }
            }
        }
    }
    for v in vals {
        match resolve(v) {
            Some(x) => out.push(x),
            None => return Err(format!("invalid environment variable: {v}")),
        }
    }
    Ok(out)
}

fn labels(files: &[String], vals: &[String]) -> Result<Map<String, Value>, String> {
    let mut m = Map::new();
    let mut add = |l: &str| {
        let (k, v) = l.split_once('=').unwrap_or((l, ""));
        m.insert(k.to_string(), Value::String(v.to_string()));
    };
    for f in files {
        let text = std::fs::read_to_string(f)
            .map_err(|e| format!("open {f}: {}", super::format::io_msg(&e)))?;
        for line in text.lines() {
            let l = line.trim();
            if !l.is_empty() && !l.starts_with('#') {
                add(l);
            }
        }
    }
    for v in vals {
        add(v);
    }
    Ok(m)
}

fn parse_port_range(s: &str) -> Result<(u16, u16), String> {
    let (a, b) = s.split_once('-').unwrap_or((s, s));
    let a: u16 = a.parse().map_err(|_| format!("invalid port: {s}"))?;
    let b: u16 = b.parse().map_err(|_| format!("invalid port: {s}"))?;
    if b < a {
        return Err(format!("invalid range specified for port: {s}"));
    }
    Ok((a, b))
}

/// `nat.ParsePortSpecs` of `-p` values: exposed ports and their bindings.
pub fn port_specs(
    specs: &[String],
    exposed: &mut Map<String, Value>,
    bindings: &mut Map<String, Value>,
) -> Result<(), String> {
    for spec in specs {
        let (rest, proto) = match spec.rsplit_once('/') {
            Some((r, p)) => (r, p.to_lowercase()),
            None => (spec.as_str(), "tcp".to_string()),
        };
        if !["tcp", "udp", "sctp"].contains(&proto.as_str()) {
            return Err(format!("invalid proto: {proto}"));
        }
        // ip:hostPort:containerPort, hostPort:containerPort, containerPort; IPv6 in brackets.
        let (ip, host, ctr) = {
            let (ip, tail) = if let Some(r) = rest.strip_prefix('[') {
                let end = r
                    .find(']')
                    .ok_or_else(|| format!("invalid IP address: {rest}"))?;
                (
                    r[..end].to_string(),
                    r[end + 1..].strip_prefix(':').unwrap_or("").to_string(),
                )
            } else {
                let parts: Vec<&str> = rest.split(':').collect();
                match parts.len() {
                    1 | 2 => (String::new(), rest.to_string()),
                    3 => (parts[0].to_string(), format!("{}:{}", parts[1], parts[2])),
                    _ => return Err(format!("invalid port format for --publish: {spec}")),
                }
            };
            match tail.split_once(':') {
                Some((h, c)) => (ip, h.to_string(), c.to_string()),
                None => (ip, String::new(), tail),
            }
        };
        if !ip.is_empty() && ip.parse::<std::net::IpAddr>().is_err() {
            return Err(format!("invalid IP address: {ip}"));
        }
        let (cs, ce) =
            parse_port_range(&ctr).map_err(|_| format!("invalid containerPort: {ctr}"))?;
        let host_range = if host.is_empty() {
            None
        } else {
            Some(parse_port_range(&host).map_err(|_| format!("invalid hostPort: {host}"))?)
        };
        if let Some((hs, he)) = host_range {
            if he - hs != ce - cs && hs != he {
                return Err(format!(
                    "invalid ranges specified for container and host Ports: {ctr} and {host}"
                ));
            }
        }
        for (i, port) in (cs..=ce).enumerate() {
            let key = format!("{port}/{proto}");
            exposed.insert(key.clone(), json!({}));
            let hp = match host_range {
                None => String::new(),
                Some((hs, he)) if hs == he && cs != ce => format!("{hs}"),
                Some((hs, he)) if hs != he && cs == ce => format!("{hs}-{he}"),
                Some((hs, _)) => format!("{}", hs as usize + i),
            };
            let entry = bindings
                .entry(key)
                .or_insert_with(|| Value::Array(Vec::new()));
            if let Value::Array(a) = entry {
                a.push(json!({"HostIp": ip, "HostPort": hp}));
            }
        }
    }
    Ok(())
}

/// `--mount type=bind,source=/a,target=/b,readonly`.
fn parse_mount(spec: &str) -> Result<Value, String> {
    let mut m = Map::new();
    let mut ty = "volume".to_string();
    let mut bind = Map::new();
    let mut vol = Map::new();
    let mut tmpfs = Map::new();
    let mut labels = Map::new();
    for field in spec.split(',') {
        let (k, v) = match field.split_once('=') {
            Some((k, v)) => (k.trim().to_lowercase(), Some(v.trim().to_string())),
            None => (field.trim().to_lowercase(), None),
        };
        let truthy = |v: &Option<String>| -> Result<bool, String> {
            match v.as_deref() {
                None | Some("1") | Some("true") => Ok(true),
                Some("0") | Some("false") => Ok(false),
                Some(o) => Err(format!("invalid value for {k}: {o}")),
            }
        };
        let need = |v: &Option<String>| {
            v.clone()
                .ok_or_else(|| format!("invalid field '{field}' must be a key=value pair"))
        };
        match k.as_str() {
            "type" => ty = need(&v)?,
            "source" | "src" => {
                m.insert("Source".into(), need(&v)?.into());
            }
            "target" | "dst" | "destination" => {
                m.insert("Target".into(), need(&v)?.into());
            }
            "readonly" | "ro" => {
                m.insert("ReadOnly".into(), truthy(&v)?.into());
            }
            "consistency" => {
                m.insert("Consistency".into(), need(&v)?.into());
            }
            "bind-propagation" => {
                bind.insert("Propagation".into(), need(&v)?.into());
            }
            "bind-nonrecursive" => {
                bind.insert("NonRecursive".into(), truthy(&v)?.into());
            }
            "volume-nocopy" => {
                vol.insert("NoCopy".into(), truthy(&v)?.into());
            }
            "volume-driver" => {
                vol.insert("DriverConfig".into(), json!({"Name": need(&v)?}));
            }
            "volume-label" => {
                let kv = need(&v)?;
                let (a, b) = kv.split_once('=').unwrap_or((&kv, ""));
                labels.insert(a.to_string(), b.into());
            }
            "tmpfs-size" => {
                let s = need(&v)?;
                tmpfs.insert(
                    "SizeBytes".into(),
                    super::command::parse_ram(&s)
                        .ok_or_else(|| format!("invalid value for {k}: {s}"))?
                        .into(),
                );
            }
            "tmpfs-mode" => {
                let s = need(&v)?;
                tmpfs.insert(
                    "Mode".into(),
                    u32::from_str_radix(&s, 8)
                        .map_err(|_| format!("invalid value for {k}: {s}"))?
                        .into(),
                );
            }
            _ => return Err(format!("unexpected key '{k}' in '{field}'")),
        }
    }
    if !m.contains_key("Target") {
        return Err("target is required".into());
    }
    if !labels.is_empty() {
        vol.insert("Labels".into(), Value::Object(labels));
    }
    m.insert("Type".into(), ty.clone().into());
    if ty == "bind" && !bind.is_empty() {
        m.insert("BindOptions".into(), Value::Object(bind));
    }
    if ty == "volume" && !vol.is_empty() {
        m.insert("VolumeOptions".into(), Value::Object(vol));
    }
    if ty == "tmpfs" && !tmpfs.is_empty() {
        m.insert("TmpfsOptions".into(), Value::Object(tmpfs));
    }
    Ok(Value::Object(m))
}

fn ulimit(s: &str) -> Result<Value, String> {
    let (name, vals) = s
        .split_once('=')
        .ok_or_else(|| format!("invalid ulimit argument: {s}"))?;
    let (soft, hard) = vals.split_once(':').unwrap_or((vals, vals));
    let soft: i64 = soft
        .parse()
        .map_err(|_| format!("invalid ulimit soft value {soft}"))?;
    let hard: i64 = hard
        .parse()
        .map_err(|_| format!("invalid ulimit hard value {hard}"))?;
    if soft > hard {
        return Err(format!(
            "ulimit soft limit must be less than or equal to hard limit: {soft} > {hard}"
        ));
    }
    Ok(json!({"Name": name, "Soft": soft, "Hard": hard}))
}

fn device(s: &str) -> Result<Value, String> {
    let parts: Vec<&str> = s.split(':').collect();
    let (host, ctr, perms) = match parts.as_slice() {
        [h] => (*h, *h, "rwm"),
        [h, c] if c.chars().all(|x| "rwm".contains(x)) && !c.starts_with('/') => (*h, *h, *c),
        [h, c] => (*h, *c, "rwm"),
        [h, c, p] => (*h, *c, *p),
        _ => return Err(format!("invalid device specification: {s}")),
    };
    if !perms.chars().all(|x| "rwm".contains(x)) || perms.is_empty() {
        return Err(format!("invalid device mode: {perms}"));
    }
    Ok(json!({"PathOnHost": host, "PathInContainer": ctr, "CgroupPermissions": perms}))
}

fn normalize_cap(c: &str) -> String {
    let u = c.to_uppercase();
    if u == "ALL" || u.starts_with("CAP_") {
        u
    } else {
        format!("CAP_{u}")
    }
}

/// Everything `create` sends, and what the client itself needs afterwards.
pub struct CreateSpec {
    pub body: Value,
    pub name: String,
    pub image: String,
    pub platform: String,
    pub pull: String,
    pub quiet: bool,
    pub cidfile: String,
    pub tty: bool,
    pub attach_stdin: bool,
    pub attach_stdout: bool,
    pub attach_stderr: bool,
    pub auto_remove: bool,
}

fn err125(cmd: &str, e: impl std::fmt::Display) -> CliError {
    CliError::Status(
        format!("docker: {e}\n\nRun 'docker {cmd} --help' for more information"),
        125,
    )
}

/// The CLI's `parse`: flags → `Config`, `HostConfig`, `NetworkingConfig`.
pub fn container_spec(
    p: &Parsed,
    cmd: &str,
    api_version_ge_142: bool,
) -> Result<CreateSpec, CliError> {
    let e125 = |e: String| err125(cmd, e);
    let pull = p.opt("pull").unwrap_or_else(|| "missing".into());
    if !["always", "missing", "never"].contains(&pull.as_str()) {
        return Err(e125(format!(
            "invalid pull option: '{pull}': must be one of \"always\", \"missing\" or \"never\""
        )));
    }
    let image = p.args[0].clone();
    let cmd_args: Vec<String> = p.args[1..].to_vec();
    let attach = p.list("attach");
    for a in &attach {
        if !["stdin", "stdout", "stderr"].contains(&a.to_lowercase().as_str()) {
            return Err(e125(format!(
                "valid streams are STDIN, STDOUT and STDERR: {a}"
            )));
        }
    }
    let has = |s: &str| attach.iter().any(|a| a.eq_ignore_ascii_case(s));
    let interactive = p.bool("interactive");
    let attach_stdin = has("stdin") || interactive;
    let (attach_stdout, attach_stderr) = if attach.is_empty() {
        (true, true)
    } else {
        (has("stdout"), has("stderr"))
    };
    let swappiness = p.int("memory-swappiness", -1);
    if swappiness != -1 && !(0..=100).contains(&swappiness) {
        return Err(e125(format!(
            "invalid value: {swappiness}. Valid memory swappiness range is 0-100"
        )));
    }
    let mut binds = Vec::new();
    let mut volumes = Map::new();
    for v in p.list("volume") {
        let parts: Vec<&str> = v.split(':').collect();
        if parts.len() == 1 {
            if !v.starts_with('/') {
                return Err(e125(format!("invalid volume specification: '{v}': invalid mount config for type \"volume\": invalid mount path: '{v}' mount path must be absolute")));
            }
            volumes.insert(v.clone(), json!({}));
            continue;
        }
        if parts.len() > 3 || parts[1].is_empty() || !parts[1].starts_with('/') {
            return Err(e125(format!("invalid volume specification: '{v}'")));
        }
        let mut host = parts[0].to_string();
        if host.starts_with('.') {
            if let Ok(cwd) = std::env::current_dir() {
                host = cwd.join(&host).to_string_lossy().into_owned();
                let norm: Vec<&str> = host
                    .split('/')
                    .filter(|c| !c.is_empty() && *c != ".")
                    .collect();
                let mut stack: Vec<&str> = Vec::new();
                for c in norm {
                    if c == ".." {
                        stack.pop();
                    } else {
                        stack.push(c);
                    }
                }
                host = format!("/{}", stack.join("/"));
            }
        }
        binds.push(format!("{host}:{}", parts[1..].join(":")));
    }
    let mut tmpfs = Map::new();
    for t in p.list("tmpfs") {
        let (k, v) = t.split_once(':').unwrap_or((&t, ""));
        tmpfs.insert(k.to_string(), v.into());
    }
    let entrypoint: Value = match p.opt("entrypoint") {
        Some(e) if !e.is_empty() => json!([e]),
        Some(_) => json!([""]),
        None => Value::Null,
    };
    let mut exposed = Map::new();
    let mut bindings = Map::new();
    port_specs(&p.list("publish"), &mut exposed, &mut bindings).map_err(e125)?;
    for e in p.list("expose") {
        if e.contains(':') {
            return Err(e125(format!("invalid port format for --expose: {e}")));
        }
        let (port, proto) = e.split_once('/').unwrap_or((&e, "tcp"));
        let (a, b) = parse_port_range(port).map_err(|err| {
            e125(format!(
                "invalid range format for --expose: {e}, error: {err}"
            ))
        })?;
        for n in a..=b {
            exposed.entry(format!("{n}/{proto}")).or_insert(json!({}));
        }
    }
    let devices: Vec<Value> = p
        .list("device")
        .iter()
        .map(|d| device(d))
        .collect::<Result<_, _>>()
        .map_err(e125)?;
    let env = env_list(&p.list("env-file"), &p.list("env")).map_err(e125)?;
    let labels = labels(&p.list("label-file"), &p.list("label")).map_err(e125)?;
    for (flag, what) in [
        ("pid", "PID"),
        ("uts", "UTS"),
        ("userns", "USER"),
        ("cgroupns", "CGROUP"),
    ] {
        let v = p.str(flag);
        let ok = match flag {
            "pid" | "uts" => {
                v.is_empty() || v == "host" || (flag == "pid" && v.starts_with("container:"))
            }
            "userns" => v.is_empty() || v == "host",
            _ => v.is_empty() || v == "host" || v == "private",
        };
        if !ok {
            return Err(e125(format!("--{flag}: invalid {what} mode")));
        }
    }
    let restart = restart_policy(&p.opt("restart").unwrap_or_else(|| "no".into())).map_err(e125)?;
    let mut log_cfg = Map::new();
    for o in p.list("log-opt") {
        let (k, v) = o
            .split_once('=')
            .ok_or_else(|| e125(format!("invalid key-value: {o}")))?;
        log_cfg.insert(k.to_string(), v.into());
    }
    let log_driver = p.str("log-driver");
    if log_driver == "none" && !log_cfg.is_empty() {
        return Err(e125("invalid logging opts for driver none".to_string()));
    }
    let mut security = Vec::new();
    let mut masked: Option<Vec<String>> = None;
    let mut readonly_paths: Option<Vec<String>> = None;
    for s in p.list("security-opt") {
        if s == "systempaths=unconfined" {
            masked = Some(Vec::new());
            readonly_paths = Some(Vec::new());
            continue;
        }
        if s.starts_with("seccomp=") || s.starts_with("seccomp:") {
            let path = &s[8..];
            if path != "unconfined" && path != "builtin" {
                let data = std::fs::read_to_string(path).map_err(|e| {
                    e125(format!(
                        "opening seccomp profile ({path}) failed: {}",
                        super::format::io_msg(&e)
                    ))
                })?;
                let compact = super::inspect::compact(data.as_bytes());
                security.push(format!("seccomp={compact}"));
                continue;
            }
        }
        security.push(s);
    }
    let mut storage = Map::new();
    for o in p.list("storage-opt") {
        let (k, v) = o
            .split_once('=')
            .ok_or_else(|| e125(format!("invalid storage option {o}")))?;
        storage.insert(k.into(), v.into());
    }
    let health_flags = [
        "health-cmd",
        "health-interval",
        "health-timeout",
        "health-start-period",
        "health-retries",
        "health-start-interval",
    ];
    let have_health = health_flags.iter().any(|f| p.has(f));
    let mut health = Value::Null;
    if p.bool("no-healthcheck") {
        if have_health {
            return Err(e125(
                "--no-healthcheck conflicts with --health-* options".to_string(),
            ));
        }
        health = json!({"Test": ["NONE"]});
    } else if have_health {
        let dur = |f: &str| {
            p.opt(f)
                .and_then(|v| super::command::parse_go_duration(&v))
                .unwrap_or(0)
        };
        for f in [
            "health-interval",
            "health-timeout",
            "health-start-period",
            "health-start-interval",
        ] {
            if dur(f) < 0 {
                return Err(e125(format!("--{f} cannot be negative")));
            }
        }
        if p.int("health-retries", 0) < 0 {
            return Err(e125("--health-retries cannot be negative".to_string()));
        }
        let mut h = Map::new();
        if !p.str("health-cmd").is_empty() {
            h.insert("Test".into(), json!(["CMD-SHELL", p.str("health-cmd")]));
        }
        h.insert("Interval".into(), dur("health-interval").into());
        h.insert("Timeout".into(), dur("health-timeout").into());
        h.insert("StartPeriod".into(), dur("health-start-period").into());
        h.insert("StartInterval".into(), dur("health-start-interval").into());
        h.insert("Retries".into(), p.int("health-retries", 0).into());
        health = Value::Object(h);
    }
    let ram = |f: &str| {
        p.opt(f)
            .map(|v| {
                if v == "-1" {
                    -1
                } else {
                    super::command::parse_ram(&v).unwrap_or(0)
                }
            })
            .unwrap_or(0)
    };
    let nano_cpus = p
        .opt("cpus")
        .and_then(|v| v.parse::<f64>().ok())
        .map(|c| (c * 1e9).round() as i64)
        .unwrap_or(0);
    let ulimits: Vec<Value> = p
        .list("ulimit")
        .iter()
        .map(|u| ulimit(u))
        .collect::<Result<_, _>>()
        .map_err(e125)?;
    let mounts: Vec<Value> = p
        .list("mount")
        .iter()
        .map(|m| parse_mount(m))
        .collect::<Result<_, _>>()
        .map_err(|e| e125(format!("invalid argument for \"--mount\" flag: {e}")))?;
    let mut sysctls = Map::new();
    for s in p.list("sysctl") {
        let (k, v) = s.split_once('=').ok_or_else(|| {
            e125(format!(
                "invalid argument \"{s}\" for \"--sysctl\" flag: invalid key-value: {s}"
            ))
        })?;
        sysctls.insert(k.into(), v.into());
    }
    let mut annotations = Map::new();
    for s in p.list("annotation") {
        let (k, v) = s.split_once('=').unwrap_or((&s, ""));
        annotations.insert(k.into(), v.into());
    }
    let auto_remove = p.bool("rm");
    if auto_remove
        && restart
            .get("Name")
            .and_then(|n| n.as_str())
            .is_some_and(|n| !n.is_empty() && n != "no")
    {
        return Err(e125(
            "conflicting options: cannot specify both --restart and --rm".to_string(),
        ));
    }
    let net = p
        .opt("network")
        .or_else(|| p.opt("net"))
        .unwrap_or_else(|| "default".into());
    let mut endpoints = Map::new();
    let aliases: Vec<String> = p
        .list("network-alias")
        .into_iter()
        .chain(p.list("net-alias"))
        .collect();
    let (ip4, ip6) = (p.str("ip"), p.str("ip6"));
    if !aliases.is_empty() || !ip4.is_empty() || !ip6.is_empty() {
        let mut ep = Map::new();
        if !aliases.is_empty() {
            ep.insert("Aliases".into(), json!(aliases));
        }
        if !ip4.is_empty() || !ip6.is_empty() {
            ep.insert(
                "IPAMConfig".into(),
                json!({"IPv4Address": ip4, "IPv6Address": ip6}),
            );
        }
        endpoints.insert(net.clone(), Value::Object(ep));
    }
    let tty = p.bool("tty");
    let console = if api_version_ge_142 {
        stdio::tty_size()
            .map(|(h, w)| json!([h, w]))
            .unwrap_or(json!([0, 0]))
    } else {
        json!([0, 0])
    };
    let list_or_null = |v: Vec<String>| if v.is_empty() { Value::Null } else { json!(v) };
    let opt_map = |m: Map<String, Value>| {
        if m.is_empty() {
            Value::Null
        } else {
            Value::Object(m)
        }
    };
    let mut config = json!({
        "Hostname": p.str("hostname"),
        "Domainname": p.str("domainname"),
        "User": p.str("user"),
        "AttachStdin": attach_stdin,
        "AttachStdout": attach_stdout,
        "AttachStderr": attach_stderr,
        "ExposedPorts": opt_map(exposed),
        "Tty": tty,
        "OpenStdin": interactive,
        "StdinOnce": interactive && attach_stdin,
        "Env": list_or_null(env),
        "Cmd": if cmd_args.is_empty() { Value::Null } else { json!(cmd_args) },
        "Image": image,
        "Volumes": opt_map(volumes),
        "WorkingDir": p.str("workdir"),
        "Entrypoint": entrypoint,
        "OnBuild": Value::Null,
        "Labels": Value::Object(labels),
    });
    if let Value::Object(c) = &mut config {
        if !health.is_null() {
            c.insert("Healthcheck".into(), health);
        }
        if !p.str("stop-signal").is_empty() {
            c.insert("StopSignal".into(), p.str("stop-signal").into());
        }
        if p.has("stop-timeout") {
            c.insert("StopTimeout".into(), p.int("stop-timeout", 0).into());
        }
        if !p.str("mac-address").is_empty() {
            c.insert("MacAddress".into(), p.str("mac-address").into());
        }
    }
    let mut host = json!({
        "Binds": list_or_null(binds),
        "ContainerIDFile": p.str("cidfile"),
        "LogConfig": {"Type": log_driver, "Config": Value::Object(log_cfg)},
        "NetworkMode": net,
        "PortBindings": Value::Object(bindings),
        "RestartPolicy": restart,
        "AutoRemove": auto_remove,
        "VolumeDriver": p.str("volume-driver"),
        "VolumesFrom": list_or_null(p.list("volumes-from")),
        "ConsoleSize": console,
        "Annotations": opt_map(annotations),
        "CapAdd": list_or_null(p.list("cap-add").iter().map(|c| normalize_cap(c)).collect()),
        "CapDrop": list_or_null(p.list("cap-drop").iter().map(|c| normalize_cap(c)).collect()),
        "CgroupnsMode": p.str("cgroupns"),
        "Dns": p.list("dns"),
        "DnsOptions": p.list("dns-option"),
        "DnsSearch": p.list("dns-search"),
        "ExtraHosts": list_or_null(p.list("add-host")),
        "GroupAdd": list_or_null(p.list("group-add")),
        "IpcMode": p.str("ipc"),
        "Cgroup": "",
        "Links": list_or_null(p.list("link")),
        "OomScoreAdj": p.int("oom-score-adj", 0),
        "PidMode": p.str("pid"),
        "Privileged": p.bool("privileged"),
        "PublishAllPorts": p.bool("publish-all"),
        "ReadonlyRootfs": p.bool("read-only"),
        "SecurityOpt": list_or_null(security),
        "StorageOpt": opt_map(storage),
        "Tmpfs": opt_map(tmpfs),
        "UTSMode": p.str("uts"),
        "UsernsMode": p.str("userns"),
        "ShmSize": ram("shm-size"),
        "Sysctls": opt_map(sysctls),
        "Runtime": p.str("runtime"),
        "Isolation": p.str("isolation"),
    });
    let resources = json!({
        "CpuShares": p.int("cpu-shares", 0),
        "Memory": ram("memory"),
        "NanoCpus": nano_cpus,
        "CgroupParent": p.str("cgroup-parent"),
        "BlkioWeight": p.int("blkio-weight", 0),
        "BlkioWeightDevice": [],
        "BlkioDeviceReadBps": [],
        "BlkioDeviceWriteBps": [],
        "BlkioDeviceReadIOps": [],
        "BlkioDeviceWriteIOps": [],
        "CpuPeriod": p.int("cpu-period", 0),
        "CpuQuota": p.int("cpu-quota", 0),
        "CpuRealtimePeriod": p.int("cpu-rt-period", 0),
        "CpuRealtimeRuntime": p.int("cpu-rt-runtime", 0),
        "CpusetCpus": p.str("cpuset-cpus"),
        "CpusetMems": p.str("cpuset-mems"),
        "Devices": devices,
        "DeviceCgroupRules": list_or_null(p.list("device-cgroup-rule")),
        "DeviceRequests": Value::Null,
        "MemoryReservation": ram("memory-reservation"),
        "MemorySwap": ram("memory-swap"),
        "MemorySwappiness": swappiness,
        "OomKillDisable": p.bool("oom-kill-disable"),
        "PidsLimit": p.int("pids-limit", 0),
        "Ulimits": if ulimits.is_empty() { Value::Null } else { json!(ulimits) },
        "Mounts": if mounts.is_empty() { Value::Null } else { json!(mounts) },
        "MaskedPaths": masked.map(|m| json!(m)).unwrap_or(Value::Null),
        "ReadonlyPaths": readonly_paths.map(|m| json!(m)).unwrap_or(Value::Null),
    });
    if let (Value::Object(h), Value::Object(r)) = (&mut host, resources) {
        h.extend(r);
    }
    if p.has("init") {
        if let Value::Object(h) = &mut host {
            h.insert("Init".into(), p.bool("init").into());
        }
    }
    let body = json!({"Config": config, "HostConfig": host, "NetworkingConfig": {"EndpointsConfig": Value::Object(endpoints)}});
    // The daemon reads Config fields at the top level of the body.
    let body = match body {
        Value::Object(mut top) => {
            let mut merged = match top.remove("Config") {
                Some(Value::Object(c)) => c,
                _ => Map::new(),
            };
            merged.extend(top);
            Value::Object(merged)
        }
        other => other,
    };
    Ok(CreateSpec {
        body,
        name: p.str("name"),
        image: p.args[0].clone(),
        platform: p.str("platform"),
        pull,
        quiet: p.bool("quiet"),
        cidfile: p.str("cidfile"),
        tty,
        attach_stdin,
        attach_stdout,
        attach_stderr,
        auto_remove,
    })
}

/// `toStatusError`: 127 when the command was not found, 126 when it could not be run, else 125.
fn status_error(cmd: &str, e: &crate::api::client::Error) -> CliError {
    status_error_text(cmd, &e.to_string())
}

fn status_error_text(cmd: &str, msg: &str) -> CliError {
    let code = if msg.contains("executable file not found")
        || msg.contains("no such file or directory")
        || msg.contains("system cannot find the file specified")
    {
        127
    } else if msg.contains("permission denied") || msg.contains("is a directory") {
        126
    } else {
        125
    };
    CliError::Status(
        format!("docker: {msg}\n\nRun 'docker {cmd} --help' for more information"),
        code,
    )
}

/// Create the container (pulling the image when missing and `--pull` allows), print warnings,
/// write the cidfile; returns the id. Daemon errors come back as they are: `create` prints
/// them plainly (exit 1), `run` turns them into its 125/126/127 status.
fn create_container(ctx: &mut Ctx, spec: &mut CreateSpec) -> Result<String, CliError> {
    if !spec.cidfile.is_empty() {
        if std::path::Path::new(&spec.cidfile).exists() {
            return Err(CliError::msg(format!(
                "container ID file found, make sure the other container isn't running or delete {}",
                spec.cidfile
            )));
        }
        std::fs::File::create(&spec.cidfile).map_err(|e| {
            CliError::msg(format!(
                "failed to create the container ID file: {}",
                super::format::io_msg(&e)
            ))
        })?;
    }
    let named = Reference::parse(&spec.image)
        .ok()
        .map(|r| r.with_default_tag());
    let result = (|| -> Result<String, CliError> {
        if spec.pull == "always" {
            if let Some(r) = &named {
                pull_for_run(ctx, r, &spec.platform, spec.quiet)?;
            }
        }
        let q = Query::new()
            .opt("name", &spec.name)
            .opt("platform", &spec.platform);
        let api = ctx.api()?;
        let resp = block(api.post::<_, Value>("/containers/create", &q, Some(&spec.body)));
        let resp = match resp {
            Ok(r) => r,
            Err(e)
                if e.is_not_found()
                    && spec.pull == "missing"
                    && named.is_some()
                    && e.to_string().contains("image") =>
            {
                let r = named.clone().ok_or_else(|| CliError::msg("no image"))?;
                if !spec.quiet {
                    errln(&format!("Unable to find image '{}' locally", r.familiar()));
                }
                pull_for_run(ctx, &r, &spec.platform, spec.quiet)?;
                let api = ctx.api()?;
                block(api.post::<_, Value>("/containers/create", &q, Some(&spec.body)))?
            }
            Err(e) => return Err(e.into()),
        };
        let id = resp
            .get("Id")
            .and_then(|i| i.as_str())
            .unwrap_or("")
            .to_string();
        let mut warnings: Vec<String> = resp
            .get("Warnings")
            .and_then(|w| w.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        if let Some(d) = spec
            .body
            .get("HostConfig")
            .and_then(|h| h.get("Dns"))
            .and_then(|d| d.as_array())
        {
            for ip in d.iter().filter_map(|x| x.as_str()) {
                if ip
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|a| a.is_loopback())
                {
                    warnings.push(format!("Localhost DNS ({ip}) may fail in containers."));
                    break;
                }
            }
        }
        for w in warnings {
            errln(&format!("WARNING: {w}"));
        }
        Ok(id)
    })();
    if !spec.cidfile.is_empty() {
        match &result {
            Ok(id) => std::fs::write(&spec.cidfile, id).map_err(|e| {
                CliError::msg(format!(
                    "failed to write the container ID to the file: {}",
                    super::format::io_msg(&e)
                ))
            })?,
            Err(_) => {
                let _ = std::fs::remove_file(&spec.cidfile);
            }
        }
    }
    result
}

/// Pull for `run`/`create`: progress on stderr.
fn pull_for_run(ctx: &mut Ctx, r: &Reference, platform: &str, quiet: bool) -> Result<(), CliError> {
    let auth = ctx.config()?.auth(&r.auth_key()).header();
    let q = Query::new()
        .add("fromImage", r.name())
        .add(
            "tag",
            r.digest
                .clone()
                .or_else(|| r.tag.clone())
                .unwrap_or_default(),
        )
        .opt("platform", platform);
    let api = ctx.api()?;
    block(async {
        let mut resp = api
            .send(
                "POST",
                "/images/create",
                &q,
                &[("X-Registry-Auth", auth)],
                RequestBody::Empty,
            )
            .await?;
        if quiet {
            return super::progress::drain_stream(&mut resp.body).await;
        }
        super::progress::show_stream_to(
            &mut resp.body,
            std::io::stderr(),
            std::io::stderr().is_terminal(),
            |_| {},
        )
        .await
    })
}

fn check_tty(attach_stdin: bool, tty: bool) -> Result<(), CliError> {
    if tty && attach_stdin && !std::io::stdin().is_terminal() {
        return Err(CliError::msg("the input device is not a TTY"));
    }
    Ok(())
}

fn create(ctx: &mut Ctx, p: &Parsed) -> Result<(), CliError> {
    let ge142 = { ctx.api()?.version_ge("1.42") };
    let mut spec = container_spec(p, "create", ge142)?;
    let id = create_container(ctx, &mut spec)?;
    outln(&id);
    Ok(())
}

/// The wait request (`next-exit`, or `removed` with `--rm`), sent and acknowledged before
/// the container starts; its answer arrives on the returned channel.
fn wait_before_start(
    client: &Client,
    id: &str,
    removed: bool,
) -> Result<smol::channel::Receiver<i64>, CliError> {
    send_wait(client, id, removed).registered()
}

/// A wait request on its own connection and thread: `registered` returns once the daemon
/// answered its head (the wait is in place), so other requests can go out meanwhile.
struct PendingWait {
    ready: smol::channel::Receiver<Result<(), String>>,
    status: smol::channel::Receiver<i64>,
}

impl PendingWait {
    fn registered(self) -> Result<smol::channel::Receiver<i64>, CliError> {
        match smol::block_on(self.ready.recv()) {
            Ok(Ok(())) => Ok(self.status),
            Ok(Err(e)) => Err(CliError::msg(e)),
            Err(_) => Err(CliError::msg("wait request failed")),
        }
    }
}

fn send_wait(client: &Client, id: &str, removed: bool) -> PendingWait {
    let mut c = client.clone_fresh();
    let legacy = !c.version_ge("1.30");
    let q = if legacy {
        Query::new()
    } else {
        Query::new().add("condition", if removed { "removed" } else { "next-exit" })
    };
    let path = format!("/containers/{}/wait", path_escape(id));
    let (ready_tx, ready_rx) = smol::channel::bounded::<Result<(), String>>(1);
    let (tx, rx) = smol::channel::bounded::<i64>(1);
    std::thread::spawn(move || {
        smol::block_on(async {
            let mut resp = match c.send("POST", &path, &q, &[], RequestBody::Empty).await {
                Ok(r) => r,
                Err(e) => {
                    let _ = ready_tx.send(Err(e.to_string())).await;
                    return;
                }
            };
            let _ = ready_tx.send(Ok(())).await;
            let mut data = Vec::new();
            let status = match resp.body.read_to_end(&mut data).await {
                Ok(_) => match serde_json::from_slice::<Value>(&data) {
                    Ok(v) => {
                        if let Some(m) = v
                            .get("Error")
                            .and_then(|e| e.get("Message"))
                            .and_then(|m| m.as_str())
                            .filter(|m| !m.is_empty())
                        {
                            super::errln(&format!("Error waiting for container: {m}"));
                            125
                        } else {
                            v.get("StatusCode").and_then(|s| s.as_i64()).unwrap_or(0)
                        }
                    }
                    Err(e) => {
                        super::errln(&format!("error waiting for container: {e}"));
                        125
                    }
                },
                Err(e) => {
                    super::errln(&format!("error waiting for container: {e}"));
                    125
                }
            };
            let _ = tx.send(status).await;
        })
    });
    PendingWait {
        ready: ready_rx,
        status: rx,
    }
}

fn status_exit(code: i64) -> Result<(), CliError> {
    if code == 0 {
        Ok(())
    } else {
        Err(CliError::code((code & 0xff) as u8))
    }
}

fn attach_query(stdin: bool, stdout: bool, stderr: bool, detach_keys: &str) -> Query {
    Query::new()
        .add("stream", "1")
        .flag("stdin", stdin)
        .flag("stdout", stdout)
        .flag("stderr", stderr)
        .opt("detachKeys", detach_keys)
}

fn keys_of(ctx: &Ctx, flag: &str) -> (String, Vec<u8>) {
    let mut spec = flag.to_string();
    if spec.is_empty() {
        if let Ok(text) = std::fs::read(ctx.config_dir.join("config.json")) {
            if let Ok(v) = serde_json::from_slice::<Value>(&text) {
                spec = v
                    .get("detachKeys")
                    .and_then(|d| d.as_str())
                    .unwrap_or("")
                    .to_string();
            }
        }
    }
    let keys = if spec.is_empty() {
        stdio::DEFAULT_DETACH_KEYS.to_vec()
    } else {
        match stdio::detach_keys(&spec) {
            Ok(k) => k,
            Err(e) => {
                log::warn!("invalid detach escape keys, using default: {e}");
                stdio::DEFAULT_DETACH_KEYS.to_vec()
            }
        }
    };
    (spec, keys)
}

fn run(ctx: &mut Ctx, p: &Parsed) -> Result<(), CliError> {
    let ge142 = { ctx.api()?.version_ge("1.42") };
    let detach = p.bool("detach");
    let mut spec = container_spec(p, "run", ge142)?;
    if !detach {
        check_tty(spec.attach_stdin, spec.tty)?;
    } else {
        if !p.list("attach").is_empty() {
            return Err(CliError::msg(
                "conflicting options: cannot specify both --attach and --detach",
            ));
        }
        spec.attach_stdin = false;
        spec.attach_stdout = false;
        spec.attach_stderr = false;
        if let Value::Object(b) = &mut spec.body {
            for k in ["AttachStdin", "AttachStdout", "AttachStderr", "StdinOnce"] {
                b.insert(k.into(), false.into());
            }
        }
    }
    let id = match create_container(ctx, &mut spec) {
        Ok(id) => id,
        Err(CliError::Api(e)) => return Err(status_error("run", &e)),
        Err(CliError::Status(m, c)) if c == 1 && !m.is_empty() => {
            return Err(status_error_text("run", &m))
        }
        Err(e) => return Err(e),
    };
    if p.bool_or("sig-proxy", true) {
        stdio::proxy_signals(ctx.api()?, &id);
    }
    let attach = spec.attach_stdin || spec.attach_stdout || spec.attach_stderr;
    let (keys_spec, keys) = keys_of(ctx, &p.str("detach-keys"));
    // The wait goes out first, on its own connection, while the attach is made.
    let pending = send_wait(ctx.api()?, &id, spec.auto_remove);
    let hijacked = if attach {
        let q = attach_query(
            spec.attach_stdin,
            spec.attach_stdout,
            spec.attach_stderr,
            &keys_spec,
        );
        let api = ctx.api()?;
        Some(
            block(api.hijack(
                &format!("/containers/{}/attach", path_escape(&id)),
                &q,
                None,
            ))
            .map_err(|e| status_error("run", &e))?,
        )
    } else {
        None
    };
    let status = pending.registered()?;
    let api = ctx.api()?;
    if let Err(e) = block(api.call(
        "POST",
        &format!("/containers/{}/start", path_escape(&id)),
        &Query::new(),
    )) {
        if spec.auto_remove {
            let _ = smol::block_on(status.recv());
        }
        return Err(status_error("run", &e));
    }
    let Some(h) = hijacked else {
        outln(&id);
        return Ok(());
    };
    if spec.tty && std::io::stdout().is_terminal() {
        stdio::monitor_size(
            ctx.api()?,
            format!("/containers/{}/resize", path_escape(&id)),
        );
    }
    let end = stdio::stream(
        h,
        StreamOpts {
            stdin: spec.attach_stdin,
            stdout: spec.attach_stdout,
            stderr: spec.attach_stderr,
            tty: spec.tty,
            detach_keys: keys,
        },
    )?;
    if end == End::Detached {
        return Ok(());
    }
    let code = smol::block_on(status.recv()).unwrap_or(125);
    status_exit(code)
}

fn start(ctx: &mut Ctx, p: &Parsed) -> Result<(), CliError> {
    let attach = p.bool("attach");
    let interactive = p.bool("interactive");
    if !(attach || interactive) {
        let api = ctx.api()?;
        let mut failed = Vec::new();
        for c in &p.args {
            match block(api.call(
                "POST",
                &format!("/containers/{}/start", path_escape(c)),
                &Query::new(),
            )) {
                Ok(()) => outln(c),
                Err(e) => {
                    errln(&e.to_string());
                    failed.push(c.clone());
                }
            }
        }
        if failed.is_empty() {
            return Ok(());
        }
        return Err(CliError::msg(format!(
            "Error: failed to start containers: {}",
            failed.join(", ")
        )));
    }
    if p.args.len() > 1 {
        return Err(CliError::msg(
            "you cannot start and attach multiple containers at once",
        ));
    }
    let api = ctx.api()?;
    let c: Value = block(api.get(
        &format!("/containers/{}/json", path_escape(&p.args[0])),
        &Query::new(),
    ))?;
    let id = c
        .get("Id")
        .and_then(|i| i.as_str())
        .unwrap_or("")
        .to_string();
    let cfg = c.get("Config").cloned().unwrap_or(Value::Null);
    let tty = cfg.get("Tty").and_then(|t| t.as_bool()).unwrap_or(false);
    let open_stdin = cfg
        .get("OpenStdin")
        .and_then(|t| t.as_bool())
        .unwrap_or(false);
    let auto_remove = c
        .get("HostConfig")
        .and_then(|h| h.get("AutoRemove"))
        .and_then(|a| a.as_bool())
        .unwrap_or(false);
    if !tty {
        stdio::proxy_signals(api, &id);
    }
    let stdin = interactive && open_stdin;
    let (keys_spec, keys) = keys_of(ctx, &p.str("detach-keys"));
    let api = ctx.api()?;
    let h = block(api.hijack(
        &format!("/containers/{}/attach", path_escape(&id)),
        &attach_query(stdin, true, true, &keys_spec),
        None,
    ))?;
    let status = wait_before_start(api, &id, auto_remove)?;
    if let Err(e) = block(api.call(
        "POST",
        &format!("/containers/{}/start", path_escape(&id)),
        &Query::new(),
    )) {
        return Err(e.into());
    }
    if tty && std::io::stdout().is_terminal() {
        stdio::monitor_size(api, format!("/containers/{}/resize", path_escape(&id)));
    }
    let end = stdio::stream(
        h,
        StreamOpts {
            stdin,
            stdout: true,
            stderr: true,
            tty,
            detach_keys: keys,
        },
    )?;
    if end == End::Detached {
        return Ok(());
    }
    status_exit(smol::block_on(status.recv()).unwrap_or(125))
}

fn attach(ctx: &mut Ctx, p: &Parsed) -> Result<(), CliError> {
    let name = &p.args[0];
    let path = format!("/containers/{}", path_escape(name));
    let api = ctx.api()?;
    let check = |api: &mut Client| -> Result<Value, CliError> {
        let c: Value = block(api.get(&format!("{path}/json"), &Query::new()))?;
        let state = c.get("State").cloned().unwrap_or(Value::Null);
        let b = |k: &str| state.get(k).and_then(|v| v.as_bool()).unwrap_or(false);
        if !b("Running") {
            return Err(CliError::msg(
                "You cannot attach to a stopped container, start it first",
            ));
        }
        if b("Paused") {
            return Err(CliError::msg(
                "You cannot attach to a paused container, unpause it first",
            ));
        }
        if b("Restarting") {
            return Err(CliError::msg(
                "You cannot attach to a restarting container, wait until it is running",
            ));
        }
        Ok(c)
    };
    let c = check(api)?;
    let cfg = c.get("Config").cloned().unwrap_or(Value::Null);
    let tty = cfg.get("Tty").and_then(|t| t.as_bool()).unwrap_or(false);
    let open_stdin = cfg
        .get("OpenStdin")
        .and_then(|t| t.as_bool())
        .unwrap_or(false);
    let no_stdin = p.bool("no-stdin");
    check_tty(!no_stdin, tty)?;
    let stdin = !no_stdin && open_stdin;
    let status = wait_before_start(api, name, false)?;
    if p.bool_or("sig-proxy", true) && !tty {
        stdio::proxy_signals(api, name);
    }
    let (keys_spec, keys) = keys_of(ctx, &p.str("detach-keys"));
    let api = ctx.api()?;
    let h = block(api.hijack(
        &format!("{path}/attach"),
        &attach_query(stdin, true, true, &keys_spec),
        None,
    ))?;
    check(api)?;
    if tty && std::io::stdout().is_terminal() {
        stdio::monitor_size(api, format!("{path}/resize"));
    }
    let end = stdio::stream(
        h,
        StreamOpts {
            stdin,
            stdout: true,
            stderr: true,
            tty,
            detach_keys: keys,
        },
    )?;
    if end == End::Detached {
        return Err(CliError::msg("read escape sequence"));
    }
    status_exit(smol::block_on(status.recv()).unwrap_or(125))
}

fn exec(ctx: &mut Ctx, p: &Parsed) -> Result<(), CliError> {
    let container = &p.args[0];
    let detach = p.bool("detach");
    let tty = p.bool("tty");
    let interactive = p.bool("interactive");
    let env = env_list(&p.list("env-file"), &p.list("env")).map_err(CliError::msg)?;
    let api = ctx.api()?;
    let _: Value = block(api.get(
        &format!("/containers/{}/json", path_escape(container)),
        &Query::new(),
    ))?;
    let attach_stdin = !detach && interactive;
    if !detach {
        check_tty(attach_stdin, tty)?;
    }
    let (keys_spec, keys) = keys_of(ctx, &p.str("detach-keys"));
    let console = if tty {
        stdio::tty_size()
            .map(|(h, w)| json!([h, w]))
            .unwrap_or(json!([0, 0]))
    } else {
        Value::Null
    };
    let mut body = json!({
        "User": p.str("user"),
        "Privileged": p.bool("privileged"),
        "Tty": tty,
        "AttachStdin": attach_stdin,
        "AttachStderr": !detach,
        "AttachStdout": !detach,
        "Detach": detach,
        "DetachKeys": keys_spec,
        "Env": if env.is_empty() { Value::Null } else { json!(env) },
        "WorkingDir": p.str("workdir"),
        "Cmd": p.args[1..].to_vec(),
    });
    if !console.is_null() {
        if let Value::Object(b) = &mut body {
            b.insert("ConsoleSize".into(), console.clone());
        }
    }
    let api = ctx.api()?;
    let r: Value = block(api.post(
        &format!("/containers/{}/exec", path_escape(container)),
        &Query::new(),
        Some(&body),
    ))?;
    let exec_id = r
        .get("Id")
        .and_then(|i| i.as_str())
        .unwrap_or("")
        .to_string();
    if exec_id.is_empty() {
        return Err(CliError::msg("exec ID empty"));
    }
    let mut start = json!({"Detach": detach, "Tty": tty});
    if !console.is_null() {
        if let Value::Object(b) = &mut start {
            b.insert("ConsoleSize".into(), console);
        }
    }
    let start_path = format!("/exec/{}/start", path_escape(&exec_id));
    if detach {
        block(api.call_json("POST", &start_path, &Query::new(), &start))?;
        return Ok(());
    }
    let data = serde_json::to_vec(&start).map_err(|e| CliError::msg(e.to_string()))?;
    let h = block(api.hijack(&start_path, &Query::new(), Some(&data)))?;
    if tty && std::io::stdin().is_terminal() {
        stdio::monitor_size(api, format!("/exec/{}/resize", path_escape(&exec_id)));
    }
    stdio::stream(
        h,
        StreamOpts {
            stdin: attach_stdin,
            stdout: true,
            stderr: true,
            tty,
            detach_keys: keys,
        },
    )?;
    let api = ctx.api()?;
    let v: Value = block(api.get(
        &format!("/exec/{}/json", path_escape(&exec_id)),
        &Query::new(),
    ))?;
    status_exit(v.get("ExitCode").and_then(|c| c.as_i64()).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_parse_like_nat() {
        let (mut e, mut b) = (Map::new(), Map::new());
        port_specs(
            &[
                "8080:80".into(),
                "127.0.0.1::53/udp".into(),
                "9000-9001:9000-9001".into(),
                "443".into(),
            ],
            &mut e,
            &mut b,
        )
        .unwrap();
        assert_eq!(
            Value::Object(e.clone()),
            json!({"80/tcp":{},"53/udp":{},"9000/tcp":{},"9001/tcp":{},"443/tcp":{}})
        );
        assert_eq!(b["80/tcp"], json!([{"HostIp":"","HostPort":"8080"}]));
        assert_eq!(b["53/udp"], json!([{"HostIp":"127.0.0.1","HostPort":""}]));
        assert_eq!(b["9001/tcp"], json!([{"HostIp":"","HostPort":"9001"}]));
        assert_eq!(b["443/tcp"], json!([{"HostIp":"","HostPort":""}]));
        assert!(port_specs(&["x:80".into()], &mut e, &mut b).is_err());
        assert!(port_specs(&["80/foo".into()], &mut e, &mut b).is_err());
    }

    #[test]
    fn restart_policies() {
        assert_eq!(
            restart_policy("on-failure:3").unwrap(),
            json!({"Name":"on-failure","MaximumRetryCount":3})
        );
        assert_eq!(restart_policy("always").unwrap()["Name"], "always");
        assert_eq!(
            restart_policy(":3").unwrap_err(),
            "invalid restart policy format: no policy provided before colon"
        );
        assert_eq!(
            restart_policy("on-failure:x").unwrap_err(),
            "invalid restart policy format: maximum retry count must be an integer"
        );
    }

    #[test]
    fn mounts_ulimits_devices() {
        assert_eq!(
            parse_mount("type=bind,source=/a,target=/b,readonly,bind-propagation=rprivate")
                .unwrap(),
            json!({"Source":"/a","Target":"/b","ReadOnly":true,"Type":"bind","BindOptions":{"Propagation":"rprivate"}})
        );
        assert_eq!(
            parse_mount("type=tmpfs,dst=/t,tmpfs-size=1m").unwrap()["TmpfsOptions"]["SizeBytes"],
            1 << 20
        );
        assert!(parse_mount("type=bind,source=/a").is_err());
        assert_eq!(
            ulimit("nofile=1024:2048").unwrap(),
            json!({"Name":"nofile","Soft":1024,"Hard":2048})
        );
        assert!(ulimit("nofile=2:1").is_err());
        assert_eq!(device("/dev/fuse").unwrap()["CgroupPermissions"], "rwm");
        assert_eq!(
            device("/dev/sda:/dev/xvda:r").unwrap()["PathInContainer"],
            "/dev/xvda"
        );
        assert_eq!(normalize_cap("net_admin"), "CAP_NET_ADMIN");
        assert_eq!(normalize_cap("all"), "ALL");
    }

    #[test]
    fn env_from_flags_and_files() {
        let dir = std::env::temp_dir().join(format!("berth-env-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("env");
        std::fs::write(&f, "# comment\nA=1\n\nB=two words\n").unwrap();
        let out = env_list(
            &[f.to_string_lossy().into_owned()],
            &["C=3".into(), "BERTH_SURELY_UNSET_VAR".into()],
        )
        .unwrap();
        assert_eq!(out, ["A=1", "B=two words", "C=3", "BERTH_SURELY_UNSET_VAR"]);
        assert!(env_list(&[], &["=x".into()]).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn container_body_shape() {
        let spec = Spec { ..SPECS[0] };
        let args: Vec<String> = [
            "-it", "--rm", "-e", "A=1", "--name", "web", "-v", "/h:/c:ro", "-m", "64m", "--init",
            "img", "sh", "-c", "x",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let p = match super::super::command::parse(&spec, "docker run", &args).unwrap() {
            super::super::command::Outcome::Run(p) => p,
            _ => panic!(),
        };
        let c = container_spec(&p, "run", true).unwrap();
        assert_eq!(c.name, "web");
        assert!(c.tty && c.attach_stdin && c.auto_remove);
        let b = &c.body;
        assert_eq!(b["Image"], "img");
        assert_eq!(b["Cmd"], json!(["sh", "-c", "x"]));
        assert_eq!(b["Env"], json!(["A=1"]));
        assert_eq!(b["OpenStdin"], true);
        assert_eq!(b["StdinOnce"], true);
        assert_eq!(b["HostConfig"]["Binds"], json!(["/h:/c:ro"]));
        assert_eq!(b["HostConfig"]["Memory"], 64 << 20);
        assert_eq!(b["HostConfig"]["Init"], true);
        assert_eq!(b["HostConfig"]["AutoRemove"], true);
        assert_eq!(b["HostConfig"]["NetworkMode"], "default");
        assert!(b.get("Config").is_none());
    }
}
