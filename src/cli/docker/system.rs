//! `version`, `info`, `events`, `system df`, `system prune` and the prune helpers the container
//! and image groups share.

use super::command::{sw, val, Arity, CliError, Opt, Parsed, Spec};
use super::format::{self, human_size, TabWriter};
use super::table;
use super::template::{Obj, Template, Val};
use super::{block, errln, out, outln, Ctx};
use crate::api::client::{Query, CLIENT_API_VERSION};
use crate::api::stream::JsonSplitter;
use crate::base::time::civil;
use smol::io::AsyncReadExt;

const FORMAT_HELP: &str = "Format output using a custom template:\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template.\nRefer to https://docs.docker.com/go/formatting/ for more information about formatting output with templates";
pub const TABLE_FORMAT_HELP: &str = "Format output using a custom template:\n'table':            Print output in table format with column headers (default)\n'table TEMPLATE':   Print output in table format using the given Go template\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template.\nRefer to https://docs.docker.com/go/formatting/ for more information about formatting output with templates";

const VERSION_OPTS: &[Opt] = &[val("format", Some('f'), "string", FORMAT_HELP)];
const INFO_OPTS: &[Opt] = &[val("format", Some('f'), "string", FORMAT_HELP)];
const EVENTS_OPTS: &[Opt] = &[
    val(
        "filter",
        Some('f'),
        "filter",
        "Filter output based on conditions provided",
    ),
    val("format", None, "string", FORMAT_HELP),
    val(
        "since",
        None,
        "string",
        "Show all events created since timestamp",
    ),
    val(
        "until",
        None,
        "string",
        "Stream events until this timestamp",
    ),
];
const DF_OPTS: &[Opt] = &[
    val("format", None, "string", TABLE_FORMAT_HELP),
    sw(
        "verbose",
        Some('v'),
        "Show detailed information on space usage",
    ),
];
const PRUNE_OPTS: &[Opt] = &[
    sw(
        "all",
        Some('a'),
        "Remove all unused images not just dangling ones",
    ),
    val(
        "filter",
        None,
        "filter",
        "Provide filter values (e.g. \"label=<key>=<value>\")",
    ),
    sw("force", Some('f'), "Do not prompt for confirmation"),
    sw("volumes", None, "Prune anonymous volumes"),
];

pub const SPECS: &[Spec] = &[
    Spec {
        group: "",
        name: "version",
        aliases: &[],
        top: None,
        usage: "[OPTIONS]",
        short: "Show the Docker version information",
        long: "",
        opts: VERSION_OPTS,
        arity: Arity::None,
        stop_at_first: false,
        run_like: false,
        run: version,
    },
    Spec {
        group: "system",
        name: "info",
        aliases: &[],
        top: Some("info"),
        usage: "[OPTIONS]",
        short: "Display system-wide information",
        long: "",
        opts: INFO_OPTS,
        arity: Arity::None,
        stop_at_first: false,
        run_like: false,
        run: info,
    },
    Spec {
        group: "system",
        name: "events",
        aliases: &[],
        top: Some("events"),
        usage: "[OPTIONS]",
        short: "Get real time events from the server",
        long: "",
        opts: EVENTS_OPTS,
        arity: Arity::None,
        stop_at_first: false,
        run_like: false,
        run: events,
    },
    Spec {
        group: "system",
        name: "df",
        aliases: &[],
        top: None,
        usage: "[OPTIONS]",
        short: "Show docker disk usage",
        long: "",
        opts: DF_OPTS,
        arity: Arity::None,
        stop_at_first: false,
        run_like: false,
        run: df,
    },
    Spec {
        group: "system",
        name: "prune",
        aliases: &[],
        top: None,
        usage: "[OPTIONS]",
        short: "Remove unused data",
        long: "",
        opts: PRUNE_OPTS,
        arity: Arity::None,
        stop_at_first: false,
        run_like: false,
        run: system_prune,
    },
];

fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        other => other,
    }
}

fn client_version_val(api: &str) -> Obj {
    Obj::structure()
        .with("Version", format!("{}-berth", crate::cli::VERSION))
        .with("ApiVersion", api)
        .with("DefaultAPIVersion", CLIENT_API_VERSION)
        .with("GitCommit", crate::cli::COMMIT)
        .with("GoVersion", "rust")
        .with("Os", "linux")
        .with("Arch", go_arch())
        .with("BuildTime", "")
        .with("Context", "default")
}

/// A template error of `version`/`info` (`cli.StatusError` with code 64).
fn template_error(e: String) -> CliError {
    CliError::Status(format!("template parsing error: {e}"), 64)
}

fn version(ctx: &mut Ctx, p: &Parsed) -> Result<(), CliError> {
    let fmt = p.str("format");
    let tmpl = match fmt.as_str() {
        "" => None,
        "json" => Some(Template::parse("{{json .}}").map_err(template_error)?),
        f => Some(Template::parse(f).map_err(template_error)?),
    };
    let api = ctx.api()?;
    let server = block(async {
        api.negotiate().await?;
        api.get_raw("/version", &Query::new()).await
    });
    let api_version = ctx.api()?.version().to_string();
    let client = client_version_val(&api_version);
    let server_val = match &server {
        Ok(raw) => Val::parse_json(raw).ok(),
        Err(_) => None,
    };
    if let Some(t) = tmpl {
        let mut root = Obj::structure().with("Client", Val::Obj(client));
        root.fields
            .push(("Server".into(), server_val.clone().unwrap_or(Val::Nil)));
        let text = t.execute(&Val::Obj(root));
        match text {
            Ok(s) => outln(&s),
            Err(e) => {
                server.as_ref().map_err(|_| ()).ok();
                if server.is_ok() {
                    return Err(template_error(e));
                }
            }
        }
        return server.map(|_| ()).map_err(CliError::from);
    }
    let mut tw = TabWriter::new(20, 1);
    let downgraded = if api_version != CLIENT_API_VERSION {
        format!(" (downgraded from {CLIENT_API_VERSION})")
    } else {
        String::new()
    };
    tw.write(&format!(
        "Client:\n Version:\t{}-berth\n API version:\t{api_version}{downgraded}\n Go version:\trust\n Git commit:\t{}\n Built:\t\n OS/Arch:\tlinux/{}\n Context:\tdefault",
        crate::cli::VERSION,
        crate::cli::COMMIT,
        go_arch()
    ));
    if let Some(Val::Obj(sv)) = &server_val {
        let s = |o: &Obj, k: &str| o.get(k).map(|v| v.to_go_string()).unwrap_or_default();
        let platform = sv.get("Platform").and_then(|p| {
            if let Val::Obj(p) = p {
                p.get("Name").map(|n| n.to_go_string())
            } else {
                None
            }
        });
        let mut text = String::from("\n\nServer:");
        if let Some(n) = platform.filter(|n| !n.is_empty()) {
            text.push(' ');
            text.push_str(&n);
        }
        let mut comps: Vec<Obj> = match sv.get("Components") {
            Some(Val::List(l)) => l
                .iter()
                .filter_map(|c| {
                    if let Val::Obj(o) = c {
                        Some(o.clone())
                    } else {
                        None
                    }
                })
                .collect(),
            _ => Vec::new(),
        };
        if !comps.iter().any(|c| s(c, "Name") == "Engine") {
            let details = Obj::map()
                .with("ApiVersion", s(sv, "ApiVersion"))
                .with("MinAPIVersion", s(sv, "MinAPIVersion"))
                .with("GitCommit", s(sv, "GitCommit"))
                .with("GoVersion", s(sv, "GoVersion"))
                .with("Os", s(sv, "Os"))
                .with("Arch", s(sv, "Arch"))
                .with("BuildTime", s(sv, "BuildTime"))
                .with("Experimental", s(sv, "Experimental"));
            comps.push(
                Obj::structure()
                    .with("Name", "Engine")
                    .with("Version", s(sv, "Version"))
                    .with("Details", Val::Obj(details)),
            );
        }
        for c in &comps {
            let name = s(c, "Name");
            let details = match c.get("Details") {
                Some(Val::Obj(d)) => d.clone(),
                _ => Obj::map(),
            };
            let d = |k: &str| details.get(k).map(|v| v.to_go_string()).unwrap_or_default();
            text.push_str(&format!("\n {name}:"));
            if name == "Engine" {
                let exp = if details.get("Experimental").is_some() {
                    d("Experimental")
                } else {
                    "false".into()
                };
                text.push_str(&format!(
                    "\n  Version:\t{}\n  API version:\t{} (minimum version {})\n  Go version:\t{}\n  Git commit:\t{}\n  Built:\t{}\n  OS/Arch:\t{}/{}\n  Experimental:\t{exp}",
                    s(c, "Version"),
                    d("ApiVersion"),
                    d("MinAPIVersion"),
                    d("GoVersion"),
                    d("GitCommit"),
                    ansic_date(&d("BuildTime")),
                    d("Os"),
                    d("Arch"),
                ));
            } else {
                text.push_str(&format!("\n  Version:\t{}", s(c, "Version")));
                let mut keys: Vec<&String> = details.fields.iter().map(|(k, _)| k).collect();
                keys.sort();
                for k in keys {
                    text.push_str(&format!("\n  {k}:\t{}", d(k)));
                }
            }
        }
        tw.write(&text);
    }
    tw.write("\n");
    out(&tw.finish());
    server.map(|_| ()).map_err(CliError::from)
}

/// Go's `time.ANSIC` of an RFC 3339 build time (`Thu May  7 21:09:36 2026`); other text as is.
fn ansic_date(s: &str) -> String {
    let Some(t) = format::parse_rfc3339(s) else {
        return s.to_string();
    };
    let secs = t as i64;
    let (y, mo, d, h, mi, se) = civil(secs);
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let wd = DAYS[secs.div_euclid(86400).rem_euclid(7) as usize];
    format!(
        "{wd} {} {d:>2} {h:02}:{mi:02}:{se:02} {y}",
        MONTHS[(mo as usize).saturating_sub(1) % 12]
    )
}

fn info(ctx: &mut Ctx, p: &Parsed) -> Result<(), CliError> {
    let fmt = p.str("format");
    let api = ctx.api()?;
    let raw = block(async { api.get_raw("/info", &Query::new()).await });
    let api_version = ctx.api()?.version().to_string();
    let mut client = client_version_val(&api_version);
    client.fields.retain(|(k, _)| k != "ApiVersion");
    client.fields.insert(0, ("Debug".into(), Val::Bool(false)));
    client
        .fields
        .push(("Plugins".into(), Val::List(Vec::new())));
    client.fields.push(("Warnings".into(), Val::Nil));
    if !fmt.is_empty() {
        let f = if fmt == "json" {
            "{{json .}}".to_string()
        } else {
            fmt
        };
        let t = Template::parse(&f).map_err(template_error)?;
        let mut root = match &raw {
            Ok(b) => match Val::parse_json(b) {
                Ok(Val::Obj(o)) => o,
                _ => Obj::structure(),
            },
            Err(_) => Obj::structure(),
        };
        root.is_struct = true;
        root.fields.push(("ClientInfo".into(), Val::Obj(client)));
        let s = t.execute(&Val::Obj(root)).map_err(template_error)?;
        outln(&s);
        return raw.map(|_| ()).map_err(CliError::from);
    }
    out("Client:\n");
    out(&format!(
        " Version:    {}-berth\n Context:    default\n Debug Mode: false\n",
        crate::cli::VERSION
    ));
    out("\nServer:\n");
    let raw = raw?;
    let v: serde_json::Value =
        serde_json::from_slice(&raw).map_err(|e| CliError::msg(format!("decode /info: {e}")))?;
    out(&render_info(&v));
    if let Some(w) = v.get("Warnings").and_then(|w| w.as_array()) {
        for x in w {
            errln(x.as_str().unwrap_or_default());
        }
    }
    Ok(())
}

/// The server half of `docker info`, from the `/info` document.
fn render_info(v: &serde_json::Value) -> String {
    use serde_json::Value;
    let s = |k: &str| -> String {
        match v.get(k) {
            Some(Value::String(x)) => x.clone(),
            Some(Value::Null) | None => String::new(),
            Some(other) => other.to_string(),
        }
    };
    let i = |k: &str| v.get(k).and_then(Value::as_i64).unwrap_or(0);
    let b = |k: &str| v.get(k).and_then(Value::as_bool).unwrap_or(false);
    let strs = |x: Option<&Value>| -> Vec<String> {
        x.and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|e| e.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut o = String::new();
    let mut line = |t: String| {
        o.push_str(&t);
        o.push('\n');
    };
    let non_empty = |label: &str, val: String, line: &mut dyn FnMut(String)| {
        if !val.is_empty() {
            line(format!("{label} {val}"));
        }
    };
    line(format!(" Containers: {}", i("Containers")));
    line(format!("  Running: {}", i("ContainersRunning")));
    line(format!("  Paused: {}", i("ContainersPaused")));
    line(format!("  Stopped: {}", i("ContainersStopped")));
    line(format!(" Images: {}", i("Images")));
    non_empty(" Server Version:", s("ServerVersion"), &mut line);
    non_empty(" Storage Driver:", s("Driver"), &mut line);
    for key in ["DriverStatus", "SystemStatus"] {
        let indent = if key == "DriverStatus" { "  " } else { " " };
        if let Some(Value::Array(pairs)) = v.get(key) {
            for p in pairs {
                if let Some(a) = p.as_array() {
                    let g = |n: usize| a.get(n).and_then(Value::as_str).unwrap_or("").to_string();
                    line(format!("{indent}{}: {}", g(0), g(1)));
                }
            }
        }
    }
    non_empty(" Logging Driver:", s("LoggingDriver"), &mut line);
    non_empty(" Cgroup Driver:", s("CgroupDriver"), &mut line);
    non_empty(" Cgroup Version:", s("CgroupVersion"), &mut line);
    line(" Plugins:".into());
    let plugins = v.get("Plugins");
    line(format!(
        "  Volume: {}",
        strs(plugins.and_then(|p| p.get("Volume"))).join(" ")
    ));
    line(format!(
        "  Network: {}",
        strs(plugins.and_then(|p| p.get("Network"))).join(" ")
    ));
    let authz = strs(plugins.and_then(|p| p.get("Authorization")));
    if !authz.is_empty() {
        line(format!("  Authorization: {}", authz.join(" ")));
    }
    line(format!(
        "  Log: {}",
        strs(plugins.and_then(|p| p.get("Log"))).join(" ")
    ));
    let cdi = strs(v.get("CDISpecDirs"));
    if !cdi.is_empty() {
        line(" CDI spec directories:".into());
        for d in cdi {
            line(format!("  {d}"));
        }
    }
    let swarm = v.get("Swarm");
    let node_state = swarm
        .and_then(|w| w.get("LocalNodeState"))
        .and_then(Value::as_str)
        .unwrap_or("");
    line(format!(" Swarm: {node_state}"));
    if node_state != "inactive" && node_state != "locked" && !node_state.is_empty() {
        let sw = |k: &str| {
            swarm
                .and_then(|w| w.get(k))
                .map(|x| {
                    x.as_str()
                        .map(String::from)
                        .unwrap_or_else(|| x.to_string())
                })
                .unwrap_or_default()
        };
        line(format!("  NodeID: {}", sw("NodeID")));
        if !sw("Error").is_empty() {
            line(format!("  Error: {}", sw("Error")));
        }
        line(format!("  Is Manager: {}", sw("ControlAvailable")));
        line(format!("  Node Address: {}", sw("NodeAddr")));
    }
    if let Some(Value::Object(rt)) = v.get("Runtimes") {
        if !rt.is_empty() {
            let names: Vec<&str> = rt.keys().map(String::as_str).collect();
            line(format!(" Runtimes: {}", names.join(" ")));
            line(format!(" Default Runtime: {}", s("DefaultRuntime")));
        }
    }
    if s("OSType") == "linux" {
        let commit = |k: &str| {
            v.get(k)
                .and_then(|c| c.get("ID"))
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        line(format!(" Init Binary: {}", s("InitBinary")));
        line(format!(
            " containerd version: {}",
            commit("ContainerdCommit")
        ));
        line(format!(" runc version: {}", commit("RuncCommit")));
        line(format!(" init version: {}", commit("InitCommit")));
        let sec = strs(v.get("SecurityOptions"));
        if !sec.is_empty() {
            line(" Security Options:".into());
            for so in sec {
                let mut name = so.clone();
                let mut profile = None;
                if so.contains('=') {
                    for kv in so.split(',') {
                        match kv.split_once('=') {
                            Some(("name", n)) => name = n.to_string(),
                            Some(("profile", p)) => profile = Some(p.to_string()),
                            _ => {}
                        }
                    }
                }
                line(format!("  {name}"));
                if let Some(p) = profile {
                    line(format!("   Profile: {p}"));
                }
            }
        }
    }
    non_empty(" Kernel Version:", s("KernelVersion"), &mut line);
    non_empty(" Operating System:", s("OperatingSystem"), &mut line);
    non_empty(" OSType:", s("OSType"), &mut line);
    non_empty(" Architecture:", s("Architecture"), &mut line);
    line(format!(" CPUs: {}", i("NCPU")));
    line(format!(
        " Total Memory: {}",
        format::bytes_size(i("MemTotal") as f64)
    ));
    non_empty(" Name:", s("Name"), &mut line);
    non_empty(" ID:", s("ID"), &mut line);
    line(format!(" Docker Root Dir: {}", s("DockerRootDir")));
    line(format!(" Debug Mode: {}", b("Debug")));
    if b("Debug") {
        line(format!("  File Descriptors: {}", i("NFd")));
        line(format!("  Goroutines: {}", i("NGoroutines")));
        line(format!("  System Time: {}", s("SystemTime")));
        line(format!("  EventsListeners: {}", i("NEventsListener")));
    }
    non_empty(" HTTP Proxy:", s("HttpProxy"), &mut line);
    non_empty(" HTTPS Proxy:", s("HttpsProxy"), &mut line);
    non_empty(" No Proxy:", s("NoProxy"), &mut line);
    let labels = strs(v.get("Labels"));
    if !labels.is_empty() {
        line(" Labels:".into());
        for l in labels {
            line(format!("  {l}"));
        }
    }
    line(format!(" Experimental: {}", b("ExperimentalBuild")));
    if let Some(rc) = v.get("RegistryConfig").filter(|r| !r.is_null()) {
        let cidrs = strs(rc.get("InsecureRegistryCIDRs"));
        let idx = rc.get("IndexConfigs").and_then(Value::as_object);
        if !cidrs.is_empty() || idx.is_some_and(|m| !m.is_empty()) {
            line(" Insecure Registries:".into());
            if let Some(m) = idx {
                for c in m.values() {
                    if !c.get("Secure").and_then(Value::as_bool).unwrap_or(false) {
                        line(format!(
                            "  {}",
                            c.get("Name").and_then(Value::as_str).unwrap_or("")
                        ));
                    }
                }
            }
            for c in cidrs {
                line(format!("  {c}"));
            }
        }
        let mirrors = strs(rc.get("Mirrors"));
        if !mirrors.is_empty() {
            line(" Registry Mirrors:".into());
            for m in mirrors {
                line(format!("  {m}"));
            }
        }
    }
    line(format!(
        " Live Restore Enabled: {}",
        b("LiveRestoreEnabled")
    ));
    if let Some(Value::Array(pools)) = v.get("DefaultAddressPools") {
        if !pools.is_empty() {
            line(" Default Address Pools:".into());
            for p in pools {
                line(format!(
                    "   Base: {}, Size: {}",
                    p.get("Base").and_then(Value::as_str).unwrap_or(""),
                    p.get("Size").and_then(Value::as_i64).unwrap_or(0)
                ));
            }
        }
    }
    line(String::new());
    o
}

/// `--since`/`--until` values as the API wants them (`seconds.nanos`): durations count back
/// from now, RFC 3339 times and plain unix times are converted (`timetypes.GetTimestamp`).
pub fn timestamp(value: &str) -> Result<String, CliError> {
    if value.is_empty() {
        return Ok(String::new());
    }
    if let Some(d) = super::command::parse_go_duration(value) {
        let t = format::now_unix() - d as f64 / 1e9;
        return Ok(format!(
            "{}.{:09}",
            t.floor() as i64,
            ((t - t.floor()) * 1e9) as i64
        ));
    }
    if value.bytes().all(|c| c.is_ascii_digit() || c == b'.') {
        return Ok(value.to_string());
    }
    let candidates = [
        value.to_string(),
        format!("{value}Z"),
        format!("{value}T00:00:00Z"),
        format!("{value}:00Z"),
    ];
    for c in candidates {
        if let Some(t) = format::parse_rfc3339(&c) {
            return Ok(format!(
                "{}.{:09}",
                t.floor() as i64,
                ((t - t.floor()) * 1e9).round() as i64
            ));
        }
    }
    Err(CliError::msg(format!(
        "failed to parse value as time or duration: \"{value}\""
    )))
}

fn events(ctx: &mut Ctx, p: &Parsed) -> Result<(), CliError> {
    let fmt = p.str("format");
    let tmpl = match fmt.as_str() {
        "" => None,
        "json" => Some(
            Template::parse("{{json .}}")
                .map_err(|e| CliError::Status(format!("Error parsing format: {e}"), 64))?,
        ),
        f => Some(
            Template::parse(f)
                .map_err(|e| CliError::Status(format!("Error parsing format: {e}"), 64))?,
        ),
    };
    let q = Query::new()
        .opt("since", &timestamp(&p.str("since"))?)
        .opt("until", &timestamp(&p.str("until"))?)
        .opt("filters", &table::filters_json(&p.list("filter"))?);
    let api = ctx.api()?;
    block(async {
        let mut resp = api
            .send(
                "GET",
                "/events",
                &q,
                &[],
                crate::api::client::RequestBody::Empty,
            )
            .await?;
        let mut split = JsonSplitter::new();
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let n = resp
                .body
                .read(&mut buf)
                .await
                .map_err(|e| CliError::msg(e.to_string()))?;
            if n == 0 {
                return Ok(());
            }
            split.feed(&buf[..n]);
            while let Some(ev) = split.next_value::<Val>().map_err(CliError::msg)? {
                match &tmpl {
                    Some(t) => outln(&t.execute(&ev).map_err(CliError::msg)?),
                    None => outln(&pretty_event(&ev)),
                }
            }
        }
    })
}

/// One event line: `TIME TYPE ACTION ID (k=v, ...)`.
pub fn pretty_event(ev: &Val) -> String {
    let Val::Obj(o) = ev else {
        return String::new();
    };
    let int = |k: &str| match o.get(k) {
        Some(Val::Int(n)) => *n,
        Some(Val::Float(f)) => *f as i64,
        _ => 0,
    };
    let s = |v: Option<&Val>| {
        v.map(|x| x.to_go_string())
            .filter(|x| x != "<nil>" && x != "<no value>")
            .unwrap_or_default()
    };
    let mut line = String::new();
    let (tn, t) = (int("timeNano"), int("time"));
    if tn != 0 || t != 0 {
        let (secs, nanos) = if tn != 0 {
            (tn.div_euclid(1_000_000_000), tn.rem_euclid(1_000_000_000))
        } else {
            (t, 0)
        };
        let (y, mo, d, h, mi, se) = civil(secs);
        line.push_str(&format!(
            "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{se:02}.{nanos:09}Z "
        ));
    }
    let actor = match o.get("Actor") {
        Some(Val::Obj(a)) => a.clone(),
        _ => Obj::map(),
    };
    let id = s(actor.get("ID")).to_string();
    let id = if id.is_empty() { s(o.get("id")) } else { id };
    line.push_str(&format!("{} {} {id}", s(o.get("Type")), s(o.get("Action"))));
    if let Some(Val::Obj(attrs)) = actor.get("Attributes") {
        let mut kv: Vec<(String, String)> = attrs
            .fields
            .iter()
            .map(|(k, v)| (k.clone(), v.to_go_string()))
            .collect();
        kv.sort();
        if !kv.is_empty() {
            line.push_str(&format!(
                " ({})",
                kv.iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    }
    line
}

fn df(ctx: &mut Ctx, p: &Parsed) -> Result<(), CliError> {
    let api = ctx.api()?;
    let v: serde_json::Value = block(async { api.get("/system/df", &Query::new()).await })?;
    let fmt = if p.str("format").is_empty() {
        "table".to_string()
    } else {
        p.str("format")
    };
    let arr = |k: &str| {
        v.get(k)
            .and_then(|x| x.as_array())
            .cloned()
            .unwrap_or_default()
    };
    let i = |x: &serde_json::Value, k: &str| x.get(k).and_then(|n| n.as_i64()).unwrap_or(0);
    let images = arr("Images");
    let containers = arr("Containers");
    let volumes = arr("Volumes");
    let cache = arr("BuildCache");
    if p.bool("verbose") {
        return df_verbose(
            &fmt,
            &images,
            &containers,
            &volumes,
            &cache,
            i(&v, "BuilderSize"),
        );
    }
    let layers = i(&v, "LayersSize");
    let mut used = 0;
    let mut active_images = 0;
    for im in &images {
        if i(im, "Containers") > 0 {
            active_images += 1;
            let (size, shared) = (i(im, "Size"), i(im, "SharedSize"));
            if size != -1 && shared != -1 {
                used += size - shared;
            }
        }
    }
    let reclaim = |rec: i64, total: i64| {
        if total > 0 {
            format!("{} ({}%)", human_size(rec as f64), rec * 100 / total)
        } else {
            human_size(rec as f64)
        }
    };
    let active_state = |c: &serde_json::Value| {
        matches!(
            c.get("State").and_then(|s| s.as_str()),
            Some("running" | "paused" | "restarting")
        )
    };
    let c_total: i64 = containers.iter().map(|c| i(c, "SizeRw")).sum();
    let c_rec: i64 = containers
        .iter()
        .filter(|c| !active_state(c))
        .map(|c| i(c, "SizeRw"))
        .sum();
    let v_size = |x: &serde_json::Value| x.get("UsageData").map(|u| i(u, "Size")).unwrap_or(-1);
    let v_refs = |x: &serde_json::Value| x.get("UsageData").map(|u| i(u, "RefCount")).unwrap_or(-1);
    let v_total: i64 = volumes.iter().map(v_size).filter(|s| *s != -1).sum();
    let v_rec: i64 = volumes
        .iter()
        .filter(|x| v_refs(x) == 0)
        .map(v_size)
        .filter(|s| *s != -1)
        .sum();
    let b_total = i(&v, "BuilderSize");
    let in_use = |x: &serde_json::Value| x.get("InUse").and_then(|b| b.as_bool()).unwrap_or(false);
    let shared = |x: &serde_json::Value| x.get("Shared").and_then(|b| b.as_bool()).unwrap_or(false);
    let b_rec: i64 = cache
        .iter()
        .filter(|c| !in_use(c) && !shared(c))
        .map(|c| i(c, "Size"))
        .sum();
    let row = |t: &str, total: usize, active: usize, size: String, rec: String| {
        Val::Obj(
            Obj::structure()
                .with("Active", active.to_string())
                .with("Reclaimable", rec)
                .with("Size", size)
                .with("TotalCount", total.to_string())
                .with("Type", t),
        )
    };
    let rows = vec![
        row(
            "Images",
            images.len(),
            active_images,
            human_size(layers as f64),
            reclaim(layers - used, layers),
        ),
        row(
            "Containers",
            containers.len(),
            containers.iter().filter(|c| active_state(c)).count(),
            human_size(c_total as f64),
            reclaim(c_rec, c_total),
        ),
        row(
            "Local Volumes",
            volumes.len(),
            volumes.iter().filter(|x| v_refs(x) > 0).count(),
            human_size(v_total as f64),
            reclaim(v_rec, v_total),
        ),
        row(
            "Build Cache",
            cache.len(),
            cache.iter().filter(|c| in_use(c)).count(),
            human_size(b_total as f64),
            human_size(b_rec as f64),
        ),
    ];
    let fmt = if fmt == "table" {
        "table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}".to_string()
    } else {
        fmt
    };
    let h = table::header(&[
        ("Type", "TYPE"),
        ("TotalCount", "TOTAL"),
        ("Active", "ACTIVE"),
        ("Size", "SIZE"),
        ("Reclaimable", "RECLAIMABLE"),
    ]);
    out(&table::render(&fmt, &h, &rows)?);
    Ok(())
}

fn df_verbose(
    fmt: &str,
    images: &[serde_json::Value],
    containers: &[serde_json::Value],
    volumes: &[serde_json::Value],
    cache: &[serde_json::Value],
    builder_size: i64,
) -> Result<(), CliError> {
    let trunc = table::is_table(fmt);
    let image_rows: Vec<Val> = images
        .iter()
        .map(|im| super::image::df_image_row(im, trunc))
        .collect();
    let container_rows: Vec<Val> = containers
        .iter()
        .map(|c| super::container::ps_row(c, trunc, true))
        .collect();
    let volume_rows: Vec<Val> = volumes
        .iter()
        .map(|v| {
            let ud = v.get("UsageData");
            let g = |k: &str| {
                ud.and_then(|u| u.get(k))
                    .and_then(|n| n.as_i64())
                    .unwrap_or(-1)
            };
            let size = if g("Size") == -1 {
                "N/A".to_string()
            } else {
                human_size(g("Size") as f64)
            };
            let links = if g("RefCount") == -1 {
                "N/A".to_string()
            } else {
                g("RefCount").to_string()
            };
            Val::Obj(
                Obj::structure()
                    .with("Name", v.get("Name").and_then(|n| n.as_str()).unwrap_or(""))
                    .with(
                        "Driver",
                        v.get("Driver").and_then(|n| n.as_str()).unwrap_or(""),
                    )
                    .with("Links", links)
                    .with("Size", size),
            )
        })
        .collect();
    if fmt != "table" {
        let root = Obj::structure()
            .with("Images", Val::List(image_rows))
            .with("Containers", Val::List(container_rows))
            .with("Volumes", Val::List(volume_rows))
            .with("BuildCache", Val::List(Vec::new()));
        let t = table::parse(fmt)?;
        out(&t.execute(&Val::Obj(root)).map_err(CliError::msg)?);
        return Ok(());
    }
    out("Images space usage:\n\n");
    out(&table::render(
        "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}\t{{.SharedSize}}\t{{.UniqueSize}}\t{{.Containers}}",
        &super::image::image_header(),
        &image_rows,
    )?);
    out("\nContainers space usage:\n\n");
    out(&table::render(
        "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.LocalVolumes}}\t{{.Size}}\t{{.RunningFor}}\t{{.Status}}\t{{.Names}}",
        &super::container::ps_header(),
        &container_rows,
    )?);
    out("\nLocal Volumes space usage:\n\n");
    out(&table::render(
        "table {{.Name}}\t{{.Links}}\t{{.Size}}",
        &table::header(&[
            ("Name", "VOLUME NAME"),
            ("Links", "LINKS"),
            ("Size", "SIZE"),
            ("Driver", "DRIVER"),
        ]),
        &volume_rows,
    )?);
    out(&format!(
        "\nBuild cache usage: {}\n\n",
        human_size(builder_size as f64)
    ));
    let _ = cache;
    out(&table::render(
        "table {{.ID}}\t{{.CacheType}}\t{{.Size}}\t{{.CreatedSince}}\t{{.LastUsedSince}}\t{{.UsageCount}}\t{{.Shared}}",
        &table::header(&[
            ("ID", "CACHE ID"),
            ("CacheType", "CACHE TYPE"),
            ("Size", "SIZE"),
            ("CreatedSince", "CREATED"),
            ("LastUsedSince", "LAST USED"),
            ("UsageCount", "USAGE"),
            ("Shared", "SHARED"),
        ]),
        &[],
    )?);
    Ok(())
}

/// `Are you sure you want to continue? [y/N]` on stdout, answered on stdin.
pub fn confirm(message: &str) -> bool {
    out(&format!("{message} [y/N] "));
    let mut line = String::new();
    if std::io::stdin().read_line(&mut line).is_err() {
        return false;
    }
    matches!(line.trim(), "y" | "Y")
}

/// What one prune call freed and printed.
pub struct Pruned {
    pub space: u64,
    pub text: String,
}

pub fn prune_containers(ctx: &mut Ctx, filters: &str) -> Result<Pruned, CliError> {
    let api = ctx.api()?;
    let r: serde_json::Value = block(async {
        api.post::<(), _>(
            "/containers/prune",
            &Query::new().opt("filters", filters),
            None,
        )
        .await
    })?;
    let ids = r
        .get("ContainersDeleted")
        .and_then(|x| x.as_array())
        .cloned()
        .unwrap_or_default();
    let mut text = String::new();
    if !ids.is_empty() {
        text.push_str("Deleted Containers:\n");
        for id in ids {
            text.push_str(id.as_str().unwrap_or(""));
            text.push('\n');
        }
    }
    Ok(Pruned {
        space: r
            .get("SpaceReclaimed")
            .and_then(|x| x.as_u64())
            .unwrap_or(0),
        text,
    })
}

pub fn prune_images(
    ctx: &mut Ctx,
    filters_flags: &[String],
    all: bool,
) -> Result<Pruned, CliError> {
    let mut flags = filters_flags.to_vec();
    flags.push(format!("dangling={}", !all));
    let filters = table::filters_json(&flags)?;
    let api = ctx.api()?;
    let r: serde_json::Value = block(async {
        api.post::<(), _>(
            "/images/prune",
            &Query::new().opt("filters", &filters),
            None,
        )
        .await
    })?;
    let items = r
        .get("ImagesDeleted")
        .and_then(|x| x.as_array())
        .cloned()
        .unwrap_or_default();
    let mut text = String::new();
    if !items.is_empty() {
        text.push_str("Deleted Images:\n");
        for it in items {
            if let Some(u) = it
                .get("Untagged")
                .and_then(|x| x.as_str())
                .filter(|x| !x.is_empty())
            {
                text.push_str(&format!("untagged: {u}\n"));
            } else if let Some(d) = it
                .get("Deleted")
                .and_then(|x| x.as_str())
                .filter(|x| !x.is_empty())
            {
                text.push_str(&format!("deleted: {d}\n"));
            }
        }
    }
    Ok(Pruned {
        space: r
            .get("SpaceReclaimed")
            .and_then(|x| x.as_u64())
            .unwrap_or(0),
        text,
    })
}

/// Networks and build cache: a daemon without those endpoints (404) has nothing to prune.
fn prune_other(
    ctx: &mut Ctx,
    path: &str,
    filters: &str,
    list_key: &str,
    title: &str,
) -> Result<Pruned, CliError> {
    let api = ctx.api()?;
    let r: Result<serde_json::Value, _> = block(async {
        api.post::<(), _>(path, &Query::new().opt("filters", filters), None)
            .await
    });
    let r = match r {
        Ok(r) => r,
        Err(e) if e.is_not_found() => {
            return Ok(Pruned {
                space: 0,
                text: String::new(),
            })
        }
        Err(e) => return Err(e.into()),
    };
    let items = r
        .get(list_key)
        .and_then(|x| x.as_array())
        .cloned()
        .unwrap_or_default();
    let mut text = String::new();
    if !items.is_empty() {
        text.push_str(title);
        for it in items {
            text.push_str(it.as_str().unwrap_or(""));
            text.push('\n');
        }
    }
    Ok(Pruned {
        space: r
            .get("SpaceReclaimed")
            .and_then(|x| x.as_u64())
            .unwrap_or(0),
        text,
    })
}

fn system_prune(ctx: &mut Ctx, p: &Parsed) -> Result<(), CliError> {
    let all = p.bool("all");
    let filter_flags = p.list("filter");
    if p.bool("volumes") && filter_flags.iter().any(|f| f.starts_with("until=")) {
        return Err(CliError::msg(
            "ERROR: The \"until\" filter is not supported with \"--volumes\"",
        ));
    }
    if !p.bool("force") {
        let mut warn = vec![
            "all stopped containers",
            "all networks not used by at least one container",
        ];
        if p.bool("volumes") {
            warn.push("all anonymous volumes not used by at least one container");
        }
        warn.push(if all {
            "all images without at least one container associated to them"
        } else {
            "all dangling images"
        });
        warn.push(if all {
            "all build cache"
        } else {
            "unused build cache"
        });
        let mut msg = String::from("WARNING! This will remove:\n");
        for w in warn {
            msg.push_str(&format!("  - {w}\n"));
        }
        let mut fl: Vec<String> = filter_flags
            .iter()
            .filter(|f| f.starts_with("label") || f.starts_with("until"))
            .cloned()
            .collect();
        fl.sort();
        if !fl.is_empty() {
            msg.push_str(&format!(
                "\n  Items to be pruned will be filtered with:\n  - {}\n",
                fl.join("\n  - ")
            ));
        }
        msg.push_str("\nAre you sure you want to continue?");
        if !confirm(&msg) {
            return Ok(());
        }
    }
    let filters = table::filters_json(&filter_flags)?;
    let mut total = 0u64;
    let mut steps = vec![
        prune_containers(ctx, &filters)?,
        prune_other(
            ctx,
            "/networks/prune",
            &filters,
            "NetworksDeleted",
            "Deleted Networks:\n",
        )?,
    ];
    if p.bool("volumes") {
        steps.push(prune_other(
            ctx,
            "/volumes/prune",
            &filters,
            "VolumesDeleted",
            "Deleted Volumes:\n",
        )?);
    }
    steps.push(prune_images(ctx, &filter_flags, all)?);
    let build_filters = if all {
        filters.clone()
    } else {
        filters.clone()
    };
    let bq = if all {
        "/build/prune?all=1"
    } else {
        "/build/prune"
    };
    let _ = bq;
    steps.push(prune_other(
        ctx,
        "/build/prune",
        &build_filters,
        "CachesDeleted",
        "Deleted build cache objects:\n",
    )?);
    for s in steps {
        total += s.space;
        if !s.text.is_empty() {
            outln(&s.text);
        }
    }
    outln(&format!(
        "Total reclaimed space: {}",
        human_size(total as f64)
    ));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_dates_in_ansic() {
        assert_eq!(
            ansic_date("2026-05-07T21:09:36.000000000+00:00"),
            "Thu May  7 21:09:36 2026"
        );
        assert_eq!(
            ansic_date("2025-05-30T12:07:14Z"),
            "Fri May 30 12:07:14 2025"
        );
        assert_eq!(ansic_date("unknown"), "unknown");
    }

    #[test]
    fn event_lines() {
        let ev = Val::parse_json(
            br#"{"status":"create","id":"abc","Type":"container","Action":"create","Actor":{"ID":"abc","Attributes":{"name":"web","image":"small:peer"}},"scope":"local","time":1795438058,"timeNano":1795438058123456789}"#,
        )
        .unwrap();
        assert_eq!(
            pretty_event(&ev),
            "2026-11-23T12:47:38.123456789Z container create abc (image=small:peer, name=web)"
        );
    }

    #[test]
    fn timestamps_for_since() {
        assert_eq!(timestamp("1795438058").unwrap(), "1795438058");
        assert_eq!(
            timestamp("2026-11-23T12:47:38Z").unwrap(),
            "1795438058.000000000"
        );
        assert_eq!(timestamp("2026-11-23").unwrap(), "1795392000.000000000");
        assert!(timestamp("10m").unwrap().contains('.'));
        assert!(timestamp("soon").is_err());
    }
}
