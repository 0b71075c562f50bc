//! The `docker` role: a Docker-compatible client of the Engine API.
//!
//! `main` reads the global flags (`-H`, `--config`, `-D`…), finds the command in the dispatch
//! table (management groups `container`, `image`, `system` and their top-level shortcuts), parses
//! its flags through the Docker-style pre-pass and runs it. Each command group lives in its own
//! file; output helpers in `format`, `--format` templates in `template`, the API client in
//! `crate::api::client`. Exit codes: 125 for flag errors (and daemon errors of `run`/`create`),
//! 1 for other errors, else what the command returns.

mod auth;
mod command;
mod config;
mod container;
mod cp;
mod format;
mod image;
mod inspect;
mod progress;
mod reference;
mod run;
mod stdio;
mod system;
mod table;
mod template;

use crate::api::client::{Client, Options};
use crate::cli::args::{self, Flag, Positionals};
use command::{dflt, sw, val, CliError, Opt, Outcome, Spec};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// Settings every command shares, and the lazily made API client.
pub struct Ctx {
    pub host: String,
    pub config_dir: PathBuf,
    api_version: Option<String>,
    client: Option<Client>,
}

impl Ctx {
    /// The client, made (but not connected) on first use.
    pub fn api(&mut self) -> Result<&mut Client, CliError> {
        if self.client.is_none() {
            let o = Options {
                host: self.host.clone(),
                api_version: self.api_version.clone(),
                user_agent: format!("Docker-Client/{} (linux)", super::VERSION),
            };
            self.client = Some(Client::new(&o).map_err(|e| CliError::msg(e.to_string()))?);
        }
        self.client
            .as_mut()
            .ok_or_else(|| CliError::msg("no client"))
    }

    pub fn config(&self) -> Result<config::ConfigFile, CliError> {
        config::ConfigFile::load(&self.config_dir).map_err(CliError::msg)
    }
}

/// Run a future to completion on this thread (the client is single-threaded).
pub fn block<F: std::future::Future>(f: F) -> F::Output {
    smol::block_on(f)
}

/// Write to stdout; a closed pipe (`docker ps | head -1`) is not an error.
pub fn out(s: &str) {
    let mut o = std::io::stdout().lock();
    let _ = o.write_all(s.as_bytes());
    let _ = o.flush();
}

pub fn outln(s: &str) {
    let mut o = std::io::stdout().lock();
    let _ = o.write_all(s.as_bytes());
    let _ = o.write_all(b"\n");
    let _ = o.flush();
}

pub fn errln(s: &str) {
    let mut e = std::io::stderr().lock();
    let _ = e.write_all(s.as_bytes());
    let _ = e.write_all(b"\n");
}

const GLOBAL_OPTS: &[Opt] = &[
    dflt("config", None, "string", "Location of client config files", "/root/.docker"),
    val("context", Some('c'), "string", "Name of the context to use to connect to the daemon (overrides DOCKER_HOST env var and default context set with \"docker context use\")"),
    sw("debug", Some('D'), "Enable debug mode"),
    val("host", Some('H'), "list", "Daemon socket to connect to"),
    dflt("log-level", Some('l'), "string", "Set the logging level (\"debug\", \"info\", \"warn\", \"error\", \"fatal\")", "info"),
    sw("tls", None, "Use TLS; implied by --tlsverify"),
    val("tlscacert", None, "string", "Trust certs signed only by this CA"),
    val("tlscert", None, "string", "Path to TLS certificate file"),
    val("tlskey", None, "string", "Path to TLS key file"),
    sw("tlsverify", None, "Use TLS and verify the remote"),
    sw("version", Some('v'), "Print version information and quit"),
];

/// Every command, grouped as `docker --help` lists them.
fn specs() -> impl Iterator<Item = &'static Spec> {
    system::SPECS
        .iter()
        .chain(image::SPECS)
        .chain(auth::SPECS)
        .chain(container::SPECS)
        .chain(run::SPECS)
        .chain(inspect::SPECS)
        .chain(cp::SPECS)
}

const GROUPS: &[(&str, &str)] = &[
    ("container", "Manage containers"),
    ("image", "Manage images"),
    ("system", "Manage Docker"),
];

/// The commands `docker --help` lists first.
const COMMON: &[&str] = &[
    "run", "exec", "ps", "pull", "push", "images", "login", "logout", "version", "info",
];

fn root_help() -> String {
    let mut s = String::from("Usage:  docker [OPTIONS] COMMAND\n\nA self-sufficient runtime for containers\n\nCommon Commands:\n");
    let top: Vec<(String, &'static str)> = {
        let mut v: Vec<(String, &'static str)> = specs()
            .filter_map(|sp| {
                let name = sp
                    .top
                    .map(str::to_string)
                    .or_else(|| sp.group.is_empty().then(|| sp.name.to_string()))?;
                Some((name, sp.short))
            })
            .collect();
        v.sort();
        v.dedup_by(|a, b| a.0 == b.0);
        v
    };
    for c in COMMON {
        if let Some((n, short)) = top.iter().find(|(n, _)| n == c) {
            s.push_str(&format!("  {n:<11} {short}\n"));
        }
    }
    s.push_str("\nManagement Commands:\n");
    for (g, short) in GROUPS {
        s.push_str(&format!("  {g:<11} {short}\n"));
    }
    s.push_str("\nCommands:\n");
    for (n, short) in top.iter().filter(|(n, _)| !COMMON.contains(&n.as_str())) {
        s.push_str(&format!("  {n:<11} {short}\n"));
    }
    s.push_str(&format!(
        "\nGlobal Options:\n{}",
        command::flag_usages(GLOBAL_OPTS, command::help_width() - 1)
    ));
    s.push_str("\nRun 'docker COMMAND --help' for more information on a command.\n");
    s
}

fn group_help(group: &str) -> String {
    let short = GROUPS
        .iter()
        .find(|(g, _)| *g == group)
        .map(|(_, s)| *s)
        .unwrap_or("");
    let mut cmds: Vec<(&str, &str)> = specs()
        .filter(|sp| sp.group == group)
        .map(|sp| (sp.name, sp.short))
        .collect();
    cmds.sort();
    let pad = cmds.iter().map(|(n, _)| n.len()).max().unwrap_or(0).max(11);
    let mut s = format!("Usage:  docker {group} COMMAND\n\n{short}\n\nCommands:\n");
    for (n, sh) in cmds {
        s.push_str(&format!("  {n:<pad$} {sh}\n"));
    }
    s.push_str(&format!(
        "\nRun 'docker {group} COMMAND --help' for more information on a command.\n"
    ));
    s
}

fn unknown(path: &str, usage: &str) -> CliError {
    let usage_part = if usage.is_empty() {
        String::new()
    } else {
        format!("\n\nUsage:  {usage}")
    };
    let help_of = if usage.is_empty() {
        "docker".to_string()
    } else {
        usage.to_string()
    };
    CliError::Status(format!("docker: unknown command: {path}{usage_part}\n\nRun '{help_of} --help' for more information"), 1)
}

/// The command `words` names, and the path it was reached by.
fn lookup(words: &[String]) -> Result<(Option<(&'static Spec, String)>, usize), CliError> {
    let first = words[0].as_str();
    if GROUPS.iter().any(|(g, _)| *g == first) {
        let Some(sub) = words.get(1) else {
            return Ok((None, 1));
        };
        if sub == "--help" || sub == "-h" || sub == "help" {
            return Ok((None, 1));
        }
        let found = specs()
            .find(|sp| sp.group == first && (sp.name == sub || sp.aliases.contains(&sub.as_str())));
        return match found {
            // Aliases inside a group answer under the command's own name, as cobra's paths do.
            Some(sp) => Ok((Some((sp, format!("docker {first} {}", sp.name))), 2)),
            None => Err(unknown(
                &format!("docker {first} {sub}"),
                &format!("docker {first}"),
            )),
        };
    }
    let found =
        specs().find(|sp| sp.top == Some(first) || (sp.group.is_empty() && sp.name == first));
    match found {
        Some(sp) => Ok((Some((sp, format!("docker {first}"))), 1)),
        None => Err(unknown(&format!("docker {first}"), "")),
    }
}

pub fn main(argv: Vec<String>) -> ExitCode {
    match run_main(argv) {
        Ok(()) => ExitCode::SUCCESS,
        Err(CliError::Status(m, code)) => {
            if !m.is_empty() {
                errln(&m);
            }
            ExitCode::from(code)
        }
        Err(CliError::Api(e)) => {
            errln(&e.to_string());
            ExitCode::from(1)
        }
    }
}

fn run_main(argv: Vec<String>) -> Result<(), CliError> {
    let flags: Vec<Flag> = GLOBAL_OPTS
        .iter()
        .map(|o| Flag {
            long: o.long,
            short: o.short,
            value: !o.ty.is_empty(),
        })
        .collect();
    let root_err = |e: String| {
        CliError::Status(format!("{e}\n\nUsage:  docker [OPTIONS] COMMAND [ARG...]\n\nRun 'docker --help' for more information"), 125)
    };
    let toks =
        args::normalize(&flags, Positionals::StopAtFirst, &argv).map_err(|e| root_err(e.0))?;
    let mut hosts = Vec::new();
    let mut config_flag = None;
    let mut debug = false;
    let mut words = Vec::new();
    let mut it = toks.into_iter();
    while let Some(t) = it.next() {
        match t.as_str() {
            "--" => {
                words.extend(it.by_ref());
                break;
            }
            "--help" => {
                out(&root_help());
                return Ok(());
            }
            "--version" => {
                outln(&format!(
                    "Docker version {}-berth, build {}",
                    super::VERSION,
                    super::COMMIT
                ));
                return Ok(());
            }
            "--host" => hosts.push(it.next().unwrap_or_default()),
            "--config" => config_flag = it.next(),
            "--debug" => debug = true,
            "--log-level" => {
                let l = it.next().unwrap_or_default();
                if !["debug", "info", "warn", "error", "fatal", "panic", "trace"]
                    .contains(&l.as_str())
                {
                    return Err(CliError::Status(
                        format!("Unable to parse logging level: {l}"),
                        1,
                    ));
                }
                debug |= l == "debug";
            }
            "--context" => {
                let c = it.next().unwrap_or_default();
                if c != "default" {
                    return Err(CliError::msg(format!("context \"{c}\" does not exist")));
                }
            }
            "--tls" | "--tlsverify" => {
                return Err(CliError::msg(
                    "TLS connections are not supported by this client",
                ))
            }
            _ => {
                let _ = it.next();
            }
        }
    }
    crate::base::logging::init(debug);
    if hosts.len() > 1 {
        return Err(CliError::msg(
            "Failed to initialize: unable to resolve docker endpoint: Specify only one -H",
        ));
    }
    let host = hosts
        .pop()
        .or_else(|| std::env::var("DOCKER_HOST").ok().filter(|h| !h.is_empty()))
        .unwrap_or_else(|| crate::api::client::DEFAULT_HOST.to_string());
    if let Err(e) = crate::api::client::parse_host(&host) {
        return Err(CliError::msg(format!("Failed to initialize: {e}")));
    }
    let mut ctx = Ctx {
        host,
        config_dir: config::config_dir(config_flag.as_deref()),
        api_version: std::env::var("DOCKER_API_VERSION")
            .ok()
            .filter(|v| !v.is_empty()),
        client: None,
    };
    if words.is_empty() {
        out(&root_help());
        return Ok(());
    }
    if words[0] == "help" {
        words.remove(0);
        if words.is_empty() {
            out(&root_help());
            return Ok(());
        }
        words.push("--help".into());
    }
    let (found, used) = lookup(&words)?;
    let Some((spec, path)) = found else {
        out(&group_help(&words[0]));
        return Ok(());
    };
    let rest = &words[used..];
    let parsed = match command::parse(spec, &path, rest)? {
        Outcome::Help => {
            out(&command::help(spec, &path));
            return Ok(());
        }
        Outcome::Run(p) => p,
    };
    match (spec.run)(&mut ctx, &parsed) {
        Err(CliError::Api(e)) if spec.run_like => Err(CliError::Status(
            format!("docker: {e}\n\nRun '{path} --help' for more information"),
            125,
        )),
        other => other,
    }
}
