//! Container commands that are one request per container (or a list): `ps`, `stop`, `restart`,
//! `kill`, `rm`, `pause`, `unpause`, `rename`, `wait`, `top`, `logs`, `stats`, `update`,
//! `export`, `commit`, `port`, `diff`, `container inspect`, `container prune`. The commands that
//! attach streams (`run`, `create`, `start`, `attach`, `exec`) live in `run.rs`.

use super::command::{dflt, sw, val, Arity, CliError, Opt, Parsed, Spec};
use super::format::{
    self, ellipsis, go_quote, go_time_string, human_size_prec, short_id, TabWriter,
};
use super::image::spec;
use super::reference::Reference;
use super::system::{confirm, TABLE_FORMAT_HELP};
use super::table;
use super::template::{Obj, Val};
use super::{block, errln, out, outln, Ctx};
use crate::api::client::path_escape;
use crate::api::client::RequestBody;
use crate::api::client::{Client, Query};
use crate::api::stream::{Demux, StdStream};
use smol::io::{AsyncReadExt, AsyncWriteExt};
use std::io::Write;

const PS_OPTS: &[Opt] = &[
    sw(
        "all",
        Some('a'),
        "Show all containers (default shows just running)",
    ),
    val(
        "filter",
        Some('f'),
        "filter",
        "Filter output based on conditions provided",
    ),
    val("format", None, "string", TABLE_FORMAT_HELP),
    dflt(
        "last",
        Some('n'),
        "int",
        "Show n last created containers (includes all states)",
        "-1",
    ),
    sw(
        "latest",
        Some('l'),
        "Show the latest created container (includes all states)",
    ),
    sw("no-trunc", None, "Don't truncate output"),
    sw("quiet", Some('q'), "Only display container IDs"),
    sw("size", Some('s'), "Display total file sizes"),
];
const STOP_OPTS: &[Opt] = &[
    val(
        "signal",
        Some('s'),
        "string",
        "Signal to send to the container",
    ),
    val(
        "timeout",
        Some('t'),
        "int",
        "Seconds to wait before killing the container",
    ),
];
const KILL_OPTS: &[Opt] = &[val(
    "signal",
    Some('s'),
    "string",
    "Signal to send to the container",
)];
const RM_OPTS: &[Opt] = &[
    sw(
        "force",
        Some('f'),
        "Force the removal of a running container (uses SIGKILL)",
    ),
    sw("link", Some('l'), "Remove the specified link"),
    sw(
        "volumes",
        Some('v'),
        "Remove anonymous volumes associated with the container",
    ),
];
const WAIT_OPTS: &[Opt] = &[];
const LOGS_OPTS: &[Opt] = &[
    sw("details", None, "Show extra details provided to logs"),
    sw("follow", Some('f'), "Follow log output"),
    val("since", None, "string", "Show logs since timestamp (e.g. \"2013-01-02T13:23:37Z\") or relative (e.g. \"42m\" for 42 minutes)"),
    dflt("tail", Some('n'), "string", "Number of lines to show from the end of the logs", "all"),
    sw("timestamps", Some('t'), "Show timestamps"),
    val("until", None, "string", "Show logs before a timestamp (e.g. \"2013-01-02T13:23:37Z\") or relative (e.g. \"42m\" for 42 minutes)"),
];
const STATS_OPTS: &[Opt] = &[
    sw(
        "all",
        Some('a'),
        "Show all containers (default shows just running)",
    ),
    val("format", None, "string", TABLE_FORMAT_HELP),
    sw(
        "no-stream",
        None,
        "Disable streaming stats and only pull the first result",
    ),
    sw("no-trunc", None, "Do not truncate output"),
];
const UPDATE_OPTS: &[Opt] = &[
    val(
        "blkio-weight",
        None,
        "uint16",
        "Block IO (relative weight), between 10 and 1000, or 0 to disable",
    ),
    val(
        "cpu-period",
        None,
        "int",
        "Limit CPU CFS (Completely Fair Scheduler) period",
    ),
    val(
        "cpu-quota",
        None,
        "int",
        "Limit CPU CFS (Completely Fair Scheduler) quota",
    ),
    val(
        "cpu-rt-period",
        None,
        "int",
        "Limit the CPU real-time period in microseconds",
    ),
    val(
        "cpu-rt-runtime",
        None,
        "int",
        "Limit the CPU real-time runtime in microseconds",
    ),
    val(
        "cpu-shares",
        Some('c'),
        "int",
        "CPU shares (relative weight)",
    ),
    val("cpus", None, "decimal", "Number of CPUs"),
    val(
        "cpuset-cpus",
        None,
        "string",
        "CPUs in which to allow execution (0-3, 0,1)",
    ),
    val(
        "cpuset-mems",
        None,
        "string",
        "MEMs in which to allow execution (0-3, 0,1)",
    ),
    val("memory", Some('m'), "bytes", "Memory limit"),
    val("memory-reservation", None, "bytes", "Memory soft limit"),
    val(
        "memory-swap",
        None,
        "bytes",
        "Swap limit equal to memory plus swap: -1 to enable unlimited swap",
    ),
    val(
        "pids-limit",
        None,
        "int",
        "Tune container pids limit (set -1 for unlimited)",
    ),
    val(
        "restart",
        None,
        "string",
        "Restart policy to apply when a container exits",
    ),
];
const EXPORT_OPTS: &[Opt] = &[val(
    "output",
    Some('o'),
    "string",
    "Write to a file, instead of STDOUT",
)];
const COMMIT_OPTS: &[Opt] = &[
    val(
        "author",
        Some('a'),
        "string",
        "Author (e.g., \"John Hannibal Smith <hannibal@a-team.com>\")",
    ),
    val(
        "change",
        Some('c'),
        "list",
        "Apply Dockerfile instruction to the created image",
    ),
    val("message", Some('m'), "string", "Commit message"),
    dflt(
        "pause",
        Some('p'),
        "",
        "Pause container during commit",
        "true",
    ),
];
const INSPECT_OPTS: &[Opt] = &[
    val(
        "format",
        Some('f'),
        "string",
        super::inspect::INSPECT_FORMAT_HELP,
    ),
    sw("size", Some('s'), "Display total file sizes"),
];
const PRUNE_OPTS: &[Opt] = &[
    val(
        "filter",
        None,
        "filter",
        "Provide filter values (e.g. \"until=<timestamp>\")",
    ),
    sw("force", Some('f'), "Do not prompt for confirmation"),
];

pub const SPECS: &[Spec] = &[
    spec!(
        "container",
        "ls",
        &["list", "ps"],
        Some("ps"),
        "[OPTIONS]",
        "List containers",
        PS_OPTS,
        Arity::None,
        ps
    ),
    spec!(
        "container",
        "stop",
        &[],
        Some("stop"),
        "[OPTIONS] CONTAINER [CONTAINER...]",
        "Stop one or more running containers",
        STOP_OPTS,
        Arity::Min(1),
        stop
    ),
    spec!(
        "container",
        "restart",
        &[],
        Some("restart"),
        "[OPTIONS] CONTAINER [CONTAINER...]",
        "Restart one or more containers",
        STOP_OPTS,
        Arity::Min(1),
        restart
    ),
    spec!(
        "container",
        "kill",
        &[],
        Some("kill"),
        "[OPTIONS] CONTAINER [CONTAINER...]",
        "Kill one or more running containers",
        KILL_OPTS,
        Arity::Min(1),
        kill
    ),
    spec!(
        "container",
        "rm",
        &["remove"],
        Some("rm"),
        "[OPTIONS] CONTAINER [CONTAINER...]",
        "Remove one or more containers",
        RM_OPTS,
        Arity::Min(1),
        rm
    ),
    spec!(
        "container",
        "pause",
        &[],
        Some("pause"),
        "CONTAINER [CONTAINER...]",
        "Pause all processes within one or more containers",
        &[],
        Arity::Min(1),
        pause
    ),
    spec!(
        "container",
        "unpause",
        &[],
        Some("unpause"),
        "CONTAINER [CONTAINER...]",
        "Unpause all processes within one or more containers",
        &[],
        Arity::Min(1),
        unpause
    ),
    spec!(
        "container",
        "rename",
        &[],
        Some("rename"),
        "CONTAINER NEW_NAME",
        "Rename a container",
        &[],
        Arity::Exact(2),
        rename
    ),
    spec!(
        "container",
        "wait",
        &[],
        Some("wait"),
        "CONTAINER [CONTAINER...]",
        "Block until one or more containers stop, then print their exit codes",
        WAIT_OPTS,
        Arity::Min(1),
        wait
    ),
    Spec {
        group: "container",
        name: "top",
        aliases: &[],
        top: Some("top"),
        usage: "CONTAINER [ps OPTIONS]",
        short: "Display the running processes of a container",
        long: "",
        opts: &[],
        arity: Arity::Min(1),
        stop_at_first: true,
        run_like: false,
        run: top,
    },
    spec!(
        "container",
        "logs",
        &[],
        Some("logs"),
        "[OPTIONS] CONTAINER",
        "Fetch the logs of a container",
        LOGS_OPTS,
        Arity::Exact(1),
        logs
    ),
    spec!(
        "container",
        "stats",
        &[],
        Some("stats"),
        "[OPTIONS] [CONTAINER...]",
        "Display a live stream of container(s) resource usage statistics",
        STATS_OPTS,
        Arity::Min(0),
        stats
    ),
    spec!(
        "container",
        "update",
        &[],
        Some("update"),
        "[OPTIONS] CONTAINER [CONTAINER...]",
        "Update configuration of one or more containers",
        UPDATE_OPTS,
        Arity::Min(1),
        update
    ),
    spec!(
        "container",
        "export",
        &[],
        Some("export"),
        "[OPTIONS] CONTAINER",
        "Export a container's filesystem as a tar archive",
        EXPORT_OPTS,
        Arity::Exact(1),
        export
    ),
    spec!(
        "container",
        "commit",
        &[],
        Some("commit"),
        "[OPTIONS] CONTAINER [REPOSITORY[:TAG]]",
        "Create a new image from a container's changes",
        COMMIT_OPTS,
        Arity::Range(1, 2),
        commit
    ),
    spec!(
        "container",
        "port",
        &[],
        Some("port"),
        "CONTAINER [PRIVATE_PORT[/PROTO]]",
        "List port mappings or a specific mapping for the container",
        &[],
        Arity::Range(1, 2),
        port
    ),
    spec!(
        "container",
        "diff",
        &[],
        Some("diff"),
        "CONTAINER",
        "Inspect changes to files or directories on a container's filesystem",
        &[],
        Arity::Exact(1),
        diff
    ),
    spec!(
        "container",
        "inspect",
        &[],
        None,
        "[OPTIONS] CONTAINER [CONTAINER...]",
        "Display detailed information on one or more containers",
        INSPECT_OPTS,
        Arity::Min(1),
        container_inspect
    ),
    spec!(
        "container",
        "prune",
        &[],
        None,
        "[OPTIONS]",
        "Remove all stopped containers",
        PRUNE_OPTS,
        Arity::None,
        container_prune
    ),
];

fn s_of<'a>(v: &'a serde_json::Value, k: &str) -> &'a str {
    v.get(k).and_then(|s| s.as_str()).unwrap_or("")
}

fn i_of(v: &serde_json::Value, k: &str) -> i64 {
    v.get(k).and_then(|s| s.as_i64()).unwrap_or(0)
}

pub fn ps_header() -> Obj {
    table::header(&[
        ("ID", "CONTAINER ID"),
        ("Names", "NAMES"),
        ("Image", "IMAGE"),
        ("Command", "COMMAND"),
        ("CreatedAt", "CREATED AT"),
        ("RunningFor", "CREATED"),
        ("Ports", "PORTS"),
        ("State", "STATE"),
        ("Status", "STATUS"),
        ("Size", "SIZE"),
        ("Labels", "LABELS"),
        ("Mounts", "MOUNTS"),
        ("LocalVolumes", "LOCAL VOLUMES"),
        ("Networks", "NETWORKS"),
        ("Platform", "PLATFORM"),
    ])
}

/// Docker's `DisplayablePorts`: ranges grouped per (ip, proto), host mappings after.
pub fn displayable_ports(ports: &[serde_json::Value]) -> String {
    let mut ps: Vec<(u16, String, u16, String)> = ports
        .iter()
        .map(|p| {
            (
                p.get("PrivatePort").and_then(|x| x.as_u64()).unwrap_or(0) as u16,
                s_of(p, "IP").to_string(),
                p.get("PublicPort").and_then(|x| x.as_u64()).unwrap_or(0) as u16,
                s_of(p, "Type").to_string(),
            )
        })
        .collect();
    ps.sort();
    let join = |ip: &str, port: &str| {
        if ip.contains(':') {
            format!("[{ip}]:{port}")
        } else {
            format!("{ip}:{port}")
        }
    };
    let mut groups: Vec<(String, u16, u16)> = Vec::new();
    let mut result = Vec::new();
    let mut host_mappings = Vec::new();
    for (private, ip, public, ty) in ps {
        let mut key = ty.clone();
        if !ip.is_empty() {
            if public != private {
                host_mappings.push(format!(
                    "{}->{private}/{ty}",
                    join(&ip, &public.to_string())
                ));
                continue;
            }
            key = format!("{ip}/{ty}");
        }
        match groups.iter_mut().find(|(k, _, _)| *k == key) {
            None => groups.push((key, private, private)),
            Some(g) if private == g.2.wrapping_add(1) => g.2 = private,
            Some(g) => {
                result.push(form_group(&g.0, g.1, g.2, &join));
                g.1 = private;
                g.2 = private;
            }
        }
    }
    for (k, a, b) in &groups {
        result.push(form_group(k, *a, *b, &join));
    }
    result.extend(host_mappings);
    result.join(", ")
}

fn form_group(key: &str, start: u16, last: u16, join: &dyn Fn(&str, &str) -> String) -> String {
    let (ip, ty) = match key.split_once('/') {
        Some((ip, ty)) => (ip, ty),
        None => ("", key),
    };
    let mut g = start.to_string();
    if start != last {
        g = format!("{g}-{last}");
    }
    if !ip.is_empty() {
        g = format!("{}->{g}", join(ip, &g));
    }
    format!("{g}/{ty}")
}

/// One `ps` row from a `/containers/json` entry.
pub fn ps_row(c: &serde_json::Value, trunc: bool, zero_rootfs: bool) -> Val {
    let id = s_of(c, "Id");
    let names: Vec<String> = c
        .get("Names")
        .and_then(|n| n.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str())
                .map(|s| s.get(1..).unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default();
    let names = if trunc {
        names
            .iter()
            .find(|n| !n.contains('/'))
            .map(|n| vec![n.clone()])
            .unwrap_or(names)
    } else {
        names
    };
    let image = s_of(c, "Image");
    let image_id = s_of(c, "ImageID");
    let image_shown = if image.is_empty() {
        "<no image>".to_string()
    } else if trunc {
        if short_id(image_id) == short_id(image) {
            short_id(image)
        } else {
            match Reference::parse(image) {
                Ok(r) => {
                    let r = Reference { digest: None, ..r };
                    r.familiar()
                }
                Err(_) => image.to_string(),
            }
        }
    } else {
        image.to_string()
    };
    let command = s_of(c, "Command");
    let created = i_of(c, "Created");
    let size_rw = i_of(c, "SizeRw");
    let size_root = if zero_rootfs {
        0
    } else {
        i_of(c, "SizeRootFs")
    };
    let size = if size_root > 0 {
        format!(
            "{} (virtual {})",
            human_size_prec(size_rw as f64, 3),
            human_size_prec(size_root as f64, 3)
        )
    } else {
        human_size_prec(size_rw as f64, 3)
    };
    let labels: Vec<(String, String)> = c
        .get("Labels")
        .and_then(|l| l.as_object())
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
                .collect()
        })
        .unwrap_or_default();
    let mut joined: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    joined.sort();
    let mounts = c
        .get("Mounts")
        .and_then(|m| m.as_array())
        .cloned()
        .unwrap_or_default();
    let mount_names: Vec<String> = mounts
        .iter()
        .map(|m| {
            let n = if s_of(m, "Name").is_empty() {
                s_of(m, "Source")
            } else {
                s_of(m, "Name")
            };
            if trunc {
                ellipsis(n, 15)
            } else {
                n.to_string()
            }
        })
        .collect();
    let local_volumes = mounts
        .iter()
        .filter(|m| s_of(m, "Driver") == "local")
        .count();
    let networks: Vec<String> = c
        .get("NetworkSettings")
        .and_then(|n| n.get("Networks"))
        .and_then(|n| n.as_object())
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    let ports = c
        .get("Ports")
        .and_then(|p| p.as_array())
        .cloned()
        .unwrap_or_default();
    Val::Obj(
        Obj::row()
            .with(
                "Command",
                go_quote(&if trunc {
                    ellipsis(command, 20)
                } else {
                    command.to_string()
                }),
            )
            .with("CreatedAt", go_time_string(created))
            .with("ID", if trunc { short_id(id) } else { id.to_string() })
            .with("Image", image_shown)
            .with("Label", Val::Method(labels))
            .with("Labels", joined.join(","))
            .with("LocalVolumes", local_volumes.to_string())
            .with("Mounts", mount_names.join(","))
            .with("Names", names.join(","))
            .with("Networks", networks.join(","))
            .with("Platform", Val::Nil)
            .with("Ports", displayable_ports(&ports))
            .with("RunningFor", format::ago(created as f64))
            .with("Size", size)
            .with("State", s_of(c, "State"))
            .with("Status", s_of(c, "Status")),
    )
}

fn ps(ctx: &mut Ctx, p: &Parsed) -> Result<(), CliError> {
    let last = p.int("last", -1);
    let latest = p.bool("latest");
    let quiet = p.bool("quiet");
    let mut format = p.str("format");
    if format.is_empty() {
        format = if quiet {
            "table".into()
        } else {
            table::choose("", "psFormat", &ctx.config_dir)
        };
    }
    let format = match format.as_str() {
        "table" if quiet => "{{.ID}}".to_string(),
        "table" if p.bool("size") => "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}\t{{.Size}}".to_string(),
        "table" => "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}".to_string(),
        "raw" => "container_id: {{.ID}}\nimage: {{.Image}}\ncommand: {{.Command}}\ncreated_at: {{.CreatedAt}}\nstate: {{- pad .State 1 0}}\nstatus: {{- pad .Status 1 0}}\nnames: {{.Names}}\nlabels: {{- pad .Labels 1 0}}\nports: {{- pad .Ports 1 0}}\n".to_string(),
        _ if quiet => "{{.ID}}".to_string(),
        f => f.to_string(),
    };
    let size = p.bool("size") || format.contains(".Size");
    let limit = if latest { 1 } else { last };
    let all = p.bool("all") || limit > 0;
    let mut q = Query::new().flag("all", all);
    if limit > 0 {
        q = q.add("limit", limit.to_string());
    }
    let q = q
        .flag("size", size && !quiet)
        .opt("filters", &table::filters_json(&p.list("filter"))?);
    let api = ctx.api()?;
    let list: Vec<serde_json::Value> = block(api.get("/containers/json", &q))?;
    let trunc = !p.bool("no-trunc");
    let rows: Vec<Val> = list.iter().map(|c| ps_row(c, trunc, false)).collect();
    out(&table::render(&format, &ps_header(), &rows)?);
    Ok(())
}

/// Run `f` for each container named; print each name on success, collect errors (exit 1).
fn each(
    ctx: &mut Ctx,
    names: &[String],
    mut f: impl FnMut(&mut Client, &str) -> Result<(), crate::api::client::Error>,
) -> Result<(), CliError> {
    let api = ctx.api()?;
    let mut errs = Vec::new();
    for n in names {
        match f(api, n) {
            Ok(()) => outln(n),
            Err(e) => errs.push(e.to_string()),
        }
    }
    if errs.is_empty() {
        Ok(())
    } else {
        Err(CliError::msg(errs.join("\n")))
    }
}

fn cpath(id: &str, tail: &str) -> String {
    format!("/containers/{}{tail}", path_escape(id))
}

fn stop_query(ctx: &mut Ctx, p: &Parsed) -> Result<Query, CliError> {
    let mut q = Query::new();
    let sig = p.str("signal");
    if !sig.is_empty() {
        if !ctx.api()?.version_ge("1.42")
            && block(ctx.api()?.negotiate()).is_ok()
            && !ctx.api()?.version_ge("1.42")
        {
            return Err(CliError::msg(format!(
                "\"signal\" requires API version 1.42, but the Docker daemon API version is {}",
                ctx.api()?.version()
            )));
        }
        q = q.add("signal", sig);
    }
    if p.has("timeout") {
        q = q.add("t", p.int("timeout", 10).to_string());
    }
    Ok(q)
}

fn stop(ctx: &mut Ctx, p: &Parsed) -> Result<(), CliError> {
    let q = stop_query(ctx, p)?;
    each(ctx, &p.args, |api, n| {
        block(api.call("POST", &cpath(n, "/stop"), &q))
    })
}

fn restart(ctx: &mut Ctx, p: &Parsed) -> Result<(), CliError> {
    let q = stop_query(ctx, p)?;
    each(ctx, &p.args, |api, n| {
        block(api.call("POST", &cpath(n, "/restart"), &q))
    })
}

fn kill(ctx: &mut Ctx, p: &Parsed) -> Result<(), CliError> {
    let q = Query::new().opt("signal", &p.str("signal"));
    each(ctx, &p.args, |api, n| {
        block(api.call("POST", &cpath(n, "/kill"), &q))
    })
}

fn rm(ctx: &mut Ctx, p: &Parsed) -> Result<(), CliError> {
    let q = Query::new()
        .flag("v", p.bool("volumes"))
        .flag("link", p.bool("link"))
        .flag("force", p.bool("force"));
    let force = p.bool("force");
    let api = ctx.api()?;
    let mut errs = Vec::new();
    for n in &p.args {
        let name = n.trim_matches('/');
        if name.is_empty() {
            errs.push("container name cannot be empty".to_string());
            continue;
        }
        match block(api.call("DELETE", &cpath(name, ""), &q)) {
            Ok(()) => outln(n),
            // `rm -f` of a container that is already gone is reported, not an error.
            Err(e) if force && e.is_not_found() => errln(&e.to_string()),
            Err(e) => errs.push(e.to_string()),
        }
    }
    if errs.is_empty() {
        Ok(())
    } else {
        Err(CliError::msg(errs.join("\n")))
    }
}

fn pause(ctx: &mut Ctx, p: &Parsed) -> Result<(), CliError> {
    each(ctx, &p.args, |api, n| {
        block(api.call("POST", &cpath(n, "/pause"), &Query::new()))
    })
}

fn unpause(ctx: &mut Ctx, p: &Parsed) -> Result<(), CliError> {
    each(ctx, &p.args, |api, n| {
        block(api.call("POST", &cpath(n, "/unpause"), &Query::new()))
    })
}

fn rename(ctx: &mut Ctx, p: &Parsed) -> Result<(), CliError> {
    let old = p.args[0].trim();
    let new = p.args[1].trim();
    if old.is_empty() || new.is_empty() {
        return Err(CliError::msg(
            "Error: Neither old nor new names may be empty",
        ));
    }
    let api = ctx.api()?;
    if let Err(e) = block(api.call(
        "POST",
        &cpath(old, "/rename"),
        &Query::new().add("name", new),
    )) {
        errln(&e.to_string());
        return Err(CliError::msg(format!(
            "Error: failed to rename container named {old}"
        )));
    }
    Ok(())
}

fn wait(ctx: &mut Ctx, p: &Parsed) -> Result<(), CliError> {
    let api = ctx.api()?;
    let mut errs = Vec::new();
    for n in &p.args {
        match block(api.post::<(), serde_json::Value>(&cpath(n, "/wait"), &Query::new(), None)) {
            Ok(r) => {
                if let Some(msg) = r
                    .get("Error")
                    .and_then(|e| e.get("Message"))
                    .and_then(|m| m.as_str())
                    .filter(|m| !m.is_empty())
                {
                    errs.push(msg.to_string());
                    continue;
                }
                outln(&i_of(&r, "StatusCode").to_string());
            }
            Err(e) => errs.push(e.to_string()),
        }
    }
    if errs.is_empty() {
        Ok(())
    } else {
        Err(CliError::msg(errs.join("\n")))
    }
}

fn top(ctx: &mut Ctx, p: &Parsed) -> Result<(), CliError> {
    let q = Query::new().opt("ps_args", &p.args[1..].join(" "));
    let api = ctx.api()?;
    let r: serde_json::Value = block(api.get(&cpath(&p.args[0], "/top"), &q))?;
    let titles: Vec<String> = r
        .get("Titles")
        .and_then(|t| t.as_array())
        .map(|a| {
            a.iter()
                .map(|x| x.as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default();
    let mut tw = TabWriter::new(20, 3);
    tw.write(&titles.join("\t"));
    tw.write("\n");
    for proc_ in r
        .get("Processes")
        .and_then(|t| t.as_array())
        .cloned()
        .unwrap_or_default()
    {
        let cols: Vec<String> = proc_
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|x| x.as_str().unwrap_or("").to_string())
                    .collect()
            })
            .unwrap_or_default();
        tw.write(&cols.join("\t"));
        tw.write("\n");
    }
    out(&tw.finish());
    Ok(())
}

/// Whether the container was made with a TTY (its output is then not multiplexed).
pub fn has_tty(api: &mut Client, id: &str) -> Result<bool, crate::api::client::Error> {
    let v: serde_json::Value = block(api.get(&cpath(id, "/json"), &Query::new()))?;
    Ok(v.get("Config")
        .and_then(|c| c.get("Tty"))
        .and_then(|t| t.as_bool())
        .unwrap_or(false))
}

/// Copy a response body to stdout/stderr, demultiplexing unless `tty`.
pub async fn copy_output<R: smol::io::AsyncRead + Unpin>(
    body: &mut R,
    tty: bool,
) -> Result<(), CliError> {
    let mut buf = vec![0u8; 32 * 1024];
    let mut demux = Demux::new();
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    loop {
        let n = body
            .read(&mut buf)
            .await
            .map_err(|e| CliError::msg(e.to_string()))?;
        if n == 0 {
            return Ok(());
        }
        if tty {
            let mut o = stdout.lock();
            let _ = o.write_all(&buf[..n]);
            let _ = o.flush();
            continue;
        }
        demux.feed(&buf[..n]);
        while let Some((s, data)) = demux.next_frame().map_err(CliError::msg)? {
            match s {
                StdStream::Stderr => {
                    let _ = stderr.lock().write_all(&data);
                }
                StdStream::SystemErr => {
                    return Err(CliError::msg(String::from_utf8_lossy(&data).into_owned()))
                }
                _ => {
                    let mut o = stdout.lock();
                    let _ = o.write_all(&data);
                    let _ = o.flush();
                }
            }
        }
    }
}

fn logs(ctx: &mut Ctx, p: &Parsed) -> Result<(), CliError> {
    let id = &p.args[0];
    let api = ctx.api()?;
    let tty = has_tty(api, id)?;
    let tail = p.str("tail");
    let q = Query::new()
        .add("stdout", "1")
        .add("stderr", "1")
        .opt("since", &super::system::timestamp(&p.str("since"))?)
        .opt("until", &super::system::timestamp(&p.str("until"))?)
        .flag("timestamps", p.bool("timestamps"))
        .flag("follow", p.bool("follow"))
        .add(
            "tail",
            if tail.is_empty() {
                "all".to_string()
            } else {
                tail
            },
        )
        .flag("details", p.bool("details"));
    let api = ctx.api()?;
    block(async {
        let mut resp = api
            .send("GET", &cpath(id, "/logs"), &q, &[], RequestBody::Empty)
            .await?;
        copy_output(&mut resp.body, tty).await
    })
}

struct StatsEntry {
    id: String,
    name: String,
    cpu: f64,
    mem: f64,
    mem_limit: f64,
    mem_perc: f64,
    net_rx: f64,
    net_tx: f64,
    blk_r: f64,
    blk_w: f64,
    pids: u64,
}

fn stats_entry(container: &str, v: &serde_json::Value) -> StatsEntry {
    let u = |x: Option<&serde_json::Value>| x.and_then(|n| n.as_u64()).unwrap_or(0);
    let cpu = v.get("cpu_stats");
    let pre = v.get("precpu_stats");
    let total = u(cpu
        .and_then(|c| c.get("cpu_usage"))
        .and_then(|c| c.get("total_usage")));
    let pre_total = u(pre
        .and_then(|c| c.get("cpu_usage"))
        .and_then(|c| c.get("total_usage")));
    let system = u(cpu.and_then(|c| c.get("system_cpu_usage")));
    let pre_system = u(pre.and_then(|c| c.get("system_cpu_usage")));
    let mut online = u(cpu.and_then(|c| c.get("online_cpus"))) as f64;
    if online == 0.0 {
        online = cpu
            .and_then(|c| c.get("cpu_usage"))
            .and_then(|c| c.get("percpu_usage"))
            .and_then(|a| a.as_array())
            .map(|a| a.len())
            .unwrap_or(0) as f64;
    }
    let (cd, sd) = (
        total as f64 - pre_total as f64,
        system as f64 - pre_system as f64,
    );
    let cpu_perc = if sd > 0.0 && cd > 0.0 {
        cd / sd * online * 100.0
    } else {
        0.0
    };
    let mem = v.get("memory_stats");
    let usage = u(mem.and_then(|m| m.get("usage")));
    let st = mem.and_then(|m| m.get("stats"));
    let used = match st
        .and_then(|s| s.get("total_inactive_file"))
        .and_then(|x| x.as_u64())
    {
        Some(x) if x < usage => (usage - x) as f64,
        _ => match st
            .and_then(|s| s.get("inactive_file"))
            .and_then(|x| x.as_u64())
        {
            Some(x) if x < usage => (usage - x) as f64,
            _ => usage as f64,
        },
    };
    let limit = u(mem.and_then(|m| m.get("limit"))) as f64;
    let (mut rx, mut tx) = (0.0, 0.0);
    if let Some(nets) = v.get("networks").and_then(|n| n.as_object()) {
        for n in nets.values() {
            rx += u(n.get("rx_bytes")) as f64;
            tx += u(n.get("tx_bytes")) as f64;
        }
    }
    let (mut br, mut bw) = (0.0, 0.0);
    if let Some(list) = v
        .get("blkio_stats")
        .and_then(|b| b.get("io_service_bytes_recursive"))
        .and_then(|a| a.as_array())
    {
        for e in list {
            match s_of(e, "op").chars().next() {
                Some('r' | 'R') => br += u(e.get("value")) as f64,
                Some('w' | 'W') => bw += u(e.get("value")) as f64,
                _ => {}
            }
        }
    }
    StatsEntry {
        id: s_of(v, "id").to_string(),
        name: s_of(v, "name").trim_start_matches('/').to_string(),
        cpu: cpu_perc,
        mem: used,
        mem_limit: limit,
        mem_perc: if limit != 0.0 {
            used / limit * 100.0
        } else {
            0.0
        },
        net_rx: rx,
        net_tx: tx,
        blk_r: br,
        blk_w: bw,
        pids: u(v.get("pids_stats").and_then(|p| p.get("current"))),
    }
    .with_container(container)
}

impl StatsEntry {
    fn with_container(mut self, c: &str) -> StatsEntry {
        if self.id.is_empty() {
            self.id = c.to_string();
        }
        self
    }
}

fn stats_row(container: &str, e: &StatsEntry, trunc: bool) -> Val {
    let mem_usage = format!(
        "{} / {}",
        format::bytes_size(e.mem),
        format::bytes_size(e.mem_limit)
    );
    Val::Obj(
        Obj::row()
            .with(
                "BlockIO",
                format!(
                    "{} / {}",
                    human_size_prec(e.blk_r, 3),
                    human_size_prec(e.blk_w, 3)
                ),
            )
            .with("CPUPerc", format!("{:.2}%", e.cpu))
            .with("Container", container)
            .with("ID", if trunc { short_id(&e.id) } else { e.id.clone() })
            .with("MemPerc", format!("{:.2}%", e.mem_perc))
            .with("MemUsage", mem_usage)
            .with(
                "Name",
                if e.name.is_empty() {
                    "--".to_string()
                } else {
                    e.name.clone()
                },
            )
            .with(
                "NetIO",
                format!(
                    "{} / {}",
                    human_size_prec(e.net_rx, 3),
                    human_size_prec(e.net_tx, 3)
                ),
            )
            .with("PIDs", e.pids.to_string()),
    )
}

fn stats(ctx: &mut Ctx, p: &Parsed) -> Result<(), CliError> {
    let trunc = !p.bool("no-trunc");
    let mut format = table::choose(&p.str("format"), "statsFormat", &ctx.config_dir);
    if format == "table" {
        format = "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}".into();
    }
    let header = table::header(&[
        ("Container", "CONTAINER"),
        ("ID", "CONTAINER ID"),
        ("Name", "NAME"),
        ("CPUPerc", "CPU %"),
        ("MemUsage", "MEM USAGE / LIMIT"),
        ("MemPerc", "MEM %"),
        ("NetIO", "NET I/O"),
        ("BlockIO", "BLOCK I/O"),
        ("PIDs", "PIDS"),
    ]);
    let named = !p.args.is_empty();
    loop {
        let api = ctx.api()?;
        let targets: Vec<String> = if named {
            p.args.clone()
        } else {
            let list: Vec<serde_json::Value> =
                block(api.get("/containers/json", &Query::new().flag("all", p.bool("all"))))?;
            list.iter().map(|c| s_of(c, "Id").to_string()).collect()
        };
        let mut rows = Vec::new();
        let mut errs = Vec::new();
        for t in &targets {
            match block(
                api.get::<serde_json::Value>(&cpath(t, "/stats"), &Query::new().add("stream", "0")),
            ) {
                Ok(v) => rows.push(stats_row(t, &stats_entry(t, &v), trunc)),
                Err(e) => errs.push(e.to_string()),
            }
        }
        if !errs.is_empty() && named {
            return Err(CliError::msg(errs.join("\n")));
        }
        let text = table::render(&format, &header, &rows)?;
        if p.bool("no-stream") {
            out(&text);
            return Ok(());
        }
        out(&format!("\x1b[2J\x1b[H{text}"));
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
}

fn update(ctx: &mut Ctx, p: &Parsed) -> Result<(), CliError> {
    let mut body = serde_json::Map::new();
    let int = |k: &str| p.int(k, 0);
    let set =
        |body: &mut serde_json::Map<String, serde_json::Value>, key: &str, v: serde_json::Value| {
            body.insert(key.into(), v);
        };
    if p.has("blkio-weight") {
        set(&mut body, "BlkioWeight", int("blkio-weight").into());
    }
    for (flag, key) in [
        ("cpu-period", "CpuPeriod"),
        ("cpu-quota", "CpuQuota"),
        ("cpu-rt-period", "CpuRealtimePeriod"),
        ("cpu-rt-runtime", "CpuRealtimeRuntime"),
        ("cpu-shares", "CpuShares"),
        ("pids-limit", "PidsLimit"),
    ] {
        if p.has(flag) {
            set(&mut body, key, int(flag).into());
        }
    }
    if p.has("cpus") {
        let cpus: f64 = p.str("cpus").parse().unwrap_or(0.0);
        set(&mut body, "NanoCpus", ((cpus * 1e9).round() as i64).into());
    }
    for (flag, key) in [("cpuset-cpus", "CpusetCpus"), ("cpuset-mems", "CpusetMems")] {
        if p.has(flag) {
            set(&mut body, key, p.str(flag).into());
        }
    }
    for (flag, key) in [
        ("memory", "Memory"),
        ("memory-reservation", "MemoryReservation"),
        ("memory-swap", "MemorySwap"),
    ] {
        if p.has(flag) {
            let v = p.str(flag);
            let n = if flag == "memory-swap" && v == "-1" {
                -1
            } else {
                super::command::parse_ram(&v).unwrap_or(0)
            };
            set(&mut body, key, n.into());
        }
    }
    if p.has("restart") {
        let rp =
            super::run::restart_policy(&p.str("restart")).map_err(|e| CliError::Status(e, 125))?;
        set(&mut body, "RestartPolicy", rp);
    }
    if body.is_empty() {
        return Err(CliError::msg(
            "you must provide one or more flags when using this command",
        ));
    }
    let body = serde_json::Value::Object(body);
    let api = ctx.api()?;
    let mut errs = Vec::new();
    let mut warnings = Vec::new();
    for n in &p.args {
        match block(api.post::<_, serde_json::Value>(
            &cpath(n, "/update"),
            &Query::new(),
            Some(&body),
        )) {
            Ok(r) => {
                if let Some(w) = r.get("Warnings").and_then(|w| w.as_array()) {
                    warnings.extend(w.iter().filter_map(|x| x.as_str().map(String::from)));
                }
                outln(n);
            }
            Err(e) => errs.push(e.to_string()),
        }
    }
    for w in warnings {
        errln(&w);
    }
    if errs.is_empty() {
        Ok(())
    } else {
        Err(CliError::msg(errs.join("\n")))
    }
}

/// Stream a response body to `-o FILE` (written beside it, renamed into place) or stdout.
pub fn body_to_output(ctx: &mut Ctx, path: &str, output: &str) -> Result<(), CliError> {
    use std::io::IsTerminal;
    if output.is_empty() && std::io::stdout().is_terminal() {
        return Err(CliError::msg(
            "cowardly refusing to save to a terminal. Use the -o flag or redirect",
        ));
    }
    let api = ctx.api()?;
    block(async {
        let mut resp = api
            .send("GET", path, &Query::new(), &[], RequestBody::Empty)
            .await?;
        if output.is_empty() {
            return copy_to_stdout(&mut resp.body).await;
        }
        let target = std::path::PathBuf::from(output);
        let tmp = crate::base::fs::temp_sibling(&target);
        let f = std::fs::File::create(&tmp).map_err(|e| {
            CliError::msg(format!(
                "failed to export container: {}",
                format::io_msg(&e)
            ))
        })?;
        let mut w = smol::Unblock::new(f);
        let r = smol::io::copy(&mut resp.body, &mut w).await;
        let r2 = w.flush().await;
        drop(w);
        if let Err(e) = r.and(r2) {
            let _ = std::fs::remove_file(&tmp);
            return Err(CliError::msg(e.to_string()));
        }
        std::fs::rename(&tmp, &target).map_err(|e| {
            CliError::msg(format!(
                "failed to export container: {}",
                format::io_msg(&e)
            ))
        })?;
        Ok(())
    })
}

/// Copy a body to stdout; a reader that went away (`| head`) ends us quietly, as SIGPIPE ends Go.
pub async fn copy_to_stdout<R: smol::io::AsyncRead + Unpin>(body: &mut R) -> Result<(), CliError> {
    let mut w = smol::Unblock::new(std::io::stdout());
    let r = smol::io::copy(body, &mut w).await;
    let r = r.and(w.flush().await);
    match r {
        Ok(()) => Ok(()),
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::BrokenPipe | std::io::ErrorKind::WriteZero
            ) =>
        {
            Err(CliError::code(141))
        }
        Err(e) => Err(CliError::msg(e.to_string())),
    }
}

fn export(ctx: &mut Ctx, p: &Parsed) -> Result<(), CliError> {
    body_to_output(ctx, &cpath(&p.args[0], "/export"), &p.str("output"))
}

fn commit(ctx: &mut Ctx, p: &Parsed) -> Result<(), CliError> {
    let mut q = Query::new().add("container", p.args[0].clone());
    if let Some(r) = p.args.get(1) {
        let r = Reference::parse(r).map_err(CliError::msg)?;
        if r.digest.is_some() {
            return Err(CliError::msg(
                "refusing to create a tag with a digest reference",
            ));
        }
        q = q
            .add("repo", r.familiar_name())
            .add("tag", r.tag.clone().unwrap_or_default());
    }
    q = q
        .opt("comment", &p.str("message"))
        .opt("author", &p.str("author"));
    for c in p.list("change") {
        q = q.add("changes", c);
    }
    q = q.add("pause", if p.bool_or("pause", true) { "1" } else { "0" });
    let api = ctx.api()?;
    let r: serde_json::Value = block(api.post::<(), _>("/commit", &q, None))?;
    outln(s_of(&r, "Id"));
    Ok(())
}

fn port(ctx: &mut Ctx, p: &Parsed) -> Result<(), CliError> {
    let api = ctx.api()?;
    let v: serde_json::Value = block(api.get(&cpath(&p.args[0], "/json"), &Query::new()))?;
    let ports = v
        .get("NetworkSettings")
        .and_then(|n| n.get("Ports"))
        .and_then(|p| p.as_object())
        .cloned()
        .unwrap_or_default();
    let frontend = |b: &serde_json::Value| {
        let ip = s_of(b, "HostIp");
        let ip = if ip.contains(':') {
            format!("[{ip}]")
        } else {
            ip.to_string()
        };
        format!("{ip}:{}", s_of(b, "HostPort"))
    };
    let mut lines = Vec::new();
    if let Some(want) = p.args.get(1) {
        let (port, proto) = want.split_once('/').unwrap_or((want.as_str(), ""));
        let proto = if proto.is_empty() { "tcp" } else { proto };
        if port.parse::<u16>().is_err() {
            return Err(CliError::msg(format!(
                "Error: invalid port ({port}): strconv.ParseUint: parsing {}: invalid syntax",
                go_quote(port)
            )));
        }
        let bindings = ports
            .get(&format!("{port}/{proto}"))
            .and_then(|b| b.as_array())
            .cloned()
            .unwrap_or_default();
        if bindings.is_empty() {
            return Err(CliError::msg(format!(
                "Error: No public port '{want}' published for {}",
                p.args[0]
            )));
        }
        lines.extend(bindings.iter().map(frontend));
    } else {
        for (k, b) in &ports {
            for f in b.as_array().cloned().unwrap_or_default() {
                lines.push(format!("{k} -> {}", frontend(&f)));
            }
        }
    }
    lines.sort_by(|a, b| natural_cmp(a, b));
    if !lines.is_empty() {
        outln(&lines.join("\n"));
    }
    Ok(())
}

/// `sortorder.NaturalLess`: digit runs compare as numbers.
fn natural_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    let (mut x, mut y) = (a.as_bytes(), b.as_bytes());
    loop {
        match (x.first(), y.first()) {
            (None, None) => return std::cmp::Ordering::Equal,
            (None, _) => return std::cmp::Ordering::Less,
            (_, None) => return std::cmp::Ordering::Greater,
            (Some(c), Some(d)) if c.is_ascii_digit() && d.is_ascii_digit() => {
                let n1 = x.iter().take_while(|c| c.is_ascii_digit()).count();
                let n2 = y.iter().take_while(|c| c.is_ascii_digit()).count();
                let (s1, s2) = (
                    std::str::from_utf8(&x[..n1]).unwrap_or("0"),
                    std::str::from_utf8(&y[..n2]).unwrap_or("0"),
                );
                let (v1, v2) = (s1.trim_start_matches('0'), s2.trim_start_matches('0'));
                let o = v1.len().cmp(&v2.len()).then(v1.cmp(v2));
                if o != std::cmp::Ordering::Equal {
                    return o;
                }
                x = &x[n1..];
                y = &y[n2..];
            }
            (Some(c), Some(d)) => {
                if c != d {
                    return c.cmp(d);
                }
                x = &x[1..];
                y = &y[1..];
            }
        }
    }
}

fn diff(ctx: &mut Ctx, p: &Parsed) -> Result<(), CliError> {
    let api = ctx.api()?;
    let changes: Option<Vec<serde_json::Value>> =
        block(api.get(&cpath(&p.args[0], "/changes"), &Query::new()))?;
    for c in changes.unwrap_or_default() {
        let kind = match i_of(&c, "Kind") {
            0 => "C",
            1 => "A",
            _ => "D",
        };
        outln(&format!("{kind} {}", s_of(&c, "Path")));
    }
    Ok(())
}

fn container_inspect(ctx: &mut Ctx, p: &Parsed) -> Result<(), CliError> {
    let size = p.bool("size");
    let api = ctx.api()?;
    super::inspect::run_inspect(&p.str("format"), &p.args, |r| {
        block(api.get_raw(&cpath(r, "/json"), &Query::new().flag("size", size)))
            .map_err(|e| e.to_string())
    })
}

fn container_prune(ctx: &mut Ctx, p: &Parsed) -> Result<(), CliError> {
    if !p.bool("force")
        && !confirm(
            "WARNING! This will remove all stopped containers.\nAre you sure you want to continue?",
        )
    {
        return Ok(());
    }
    let r = super::system::prune_containers(ctx, &table::filters_json(&p.list("filter"))?)?;
    if !r.text.is_empty() {
        outln(&r.text);
    }
    outln(&format!(
        "Total reclaimed space: {}",
        format::human_size(r.space as f64)
    ));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_grouped_like_docker() {
        let ports: Vec<serde_json::Value> = serde_json::from_str(
            r#"[{"PrivatePort":80,"Type":"tcp"},{"PrivatePort":81,"Type":"tcp"},{"PrivatePort":82,"Type":"tcp"},
                {"IP":"0.0.0.0","PrivatePort":443,"PublicPort":8443,"Type":"tcp"},{"PrivatePort":53,"Type":"udp"},
                {"IP":"0.0.0.0","PrivatePort":9000,"PublicPort":9000,"Type":"tcp"}]"#,
        )
        .unwrap();
        assert_eq!(
            displayable_ports(&ports),
            "53/udp, 80-82/tcp, 0.0.0.0:9000->9000/tcp, 0.0.0.0:8443->443/tcp"
        );
    }

    #[test]
    fn ps_rows_like_docker() {
        let c: serde_json::Value = serde_json::from_str(
            r#"{"Id":"180d83f25f9a0123456789012345678901234567890123456789012345678901","Names":["/j1"],"Image":"small:peer",
            "ImageID":"sha256:9f27a38a6169","Command":"sleep 100000000000000000","Created":0,"Labels":{"b":"2","a":"1"},
            "State":"running","Status":"Up 2 seconds","Ports":[],"Mounts":[],"NetworkSettings":{"Networks":{"bridge":{}}}}"#,
        )
        .unwrap();
        let row = ps_row(&c, true, false);
        let t = super::super::template::Template::parse("{{.ID}}|{{.Names}}|{{.Image}}|{{.Command}}|{{.Labels}}|{{.Label \"b\"}}|{{.Networks}}|{{.Size}}").unwrap();
        assert_eq!(
            t.execute(&row).unwrap(),
            "180d83f25f9a|j1|small:peer|\"sleep 1000000000000…\"|a=1,b=2|2|bridge|0B"
        );
        let j = super::super::template::Template::parse("{{json .}}")
            .unwrap()
            .execute(&row)
            .unwrap();
        assert!(j.starts_with("{\"Command\":\"\\\"sleep 1000000000000…\\\"\",\"CreatedAt\":\"1970-01-01 00:00:00 +0000 UTC\",\"ID\":\"180d83f25f9a\""), "{j}");
        assert!(!j.contains("\"Label\""));
    }

    #[test]
    fn stats_math() {
        let v: serde_json::Value = serde_json::from_str(
            r#"{"id":"abc","name":"/web","cpu_stats":{"cpu_usage":{"total_usage":200},"system_cpu_usage":2000,"online_cpus":2},
            "precpu_stats":{"cpu_usage":{"total_usage":100},"system_cpu_usage":1000},
            "memory_stats":{"usage":1048576,"limit":4194304,"stats":{"total_inactive_file":524288}},
            "networks":{"eth0":{"rx_bytes":1000,"tx_bytes":2000}},"blkio_stats":{"io_service_bytes_recursive":[{"op":"Read","value":4096},{"op":"Write","value":8192}]},
            "pids_stats":{"current":3}}"#,
        )
        .unwrap();
        let e = stats_entry("web", &v);
        let row = stats_row("web", &e, true);
        let t = super::super::template::Template::parse(
            "{{.Name}} {{.CPUPerc}} {{.MemUsage}} {{.MemPerc}} {{.NetIO}} {{.BlockIO}} {{.PIDs}}",
        )
        .unwrap();
        assert_eq!(
            t.execute(&row).unwrap(),
            "web 20.00% 512KiB / 4MiB 12.50% 1kB / 2kB 4.1kB / 8.19kB 3"
        );
    }
}
