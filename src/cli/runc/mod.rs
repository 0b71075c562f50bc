//! The `runc` role: runc's command line over the OCI runtime (`runtime::entry`).
//!
//! runc parses with Go's flag package: `-name` and `--name` alike, `-name=value` or
//! `-name value`, booleans as `-name` or `-name=false`, no clustering, and flags end at the
//! first argument that is not one. Global flags come before the command. Errors go out as runc
//! writes them: a logrus line on stderr (`--log-format text|json`), or, with `--log FILE`, the
//! logrus line in the file (containerd reads the last `"level":"error"` entry) and the bare
//! message on stderr.

mod create;
mod delete;
mod events;
mod exec;
mod features;
mod kill;
mod list;
mod pause;
mod ps;
mod resume;
mod run;
mod spec;
mod start;
mod state;
mod update;

use super::{COMMIT, VERSION};
use crate::runtime::entry;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// One flag: its names (the first is canonical) and whether it takes a value.
#[derive(Clone, Copy)]
pub struct Flag {
    pub names: &'static [&'static str],
    pub value: bool,
    pub help: &'static str,
}

pub const fn switch(names: &'static [&'static str], help: &'static str) -> Flag {
    Flag {
        names,
        value: false,
        help,
    }
}

pub const fn option(names: &'static [&'static str], help: &'static str) -> Flag {
    Flag {
        names,
        value: true,
        help,
    }
}

/// How many arguments a command takes (runc's checkArgs).
#[derive(Clone, Copy)]
pub enum Arity {
    Exact(usize),
    Min(usize),
    Range(usize, usize),
    None,
}

/// A failed command: the message and the exit code.
pub struct Failure {
    pub msg: String,
    pub code: u8,
}

impl Failure {
    pub fn new(msg: impl Into<String>) -> Failure {
        Failure {
            msg: msg.into(),
            code: 1,
        }
    }
}

impl From<crate::base::Error> for Failure {
    fn from(e: crate::base::Error) -> Failure {
        Failure::new(e.to_string())
    }
}

pub type CmdResult = Result<ExitCode, Failure>;

/// One runc command: its flags, arity, usage text and the function that runs it.
pub struct Command {
    pub name: &'static str,
    pub summary: &'static str,
    pub usage: &'static str,
    pub flags: &'static [Flag],
    pub arity: Arity,
    pub run: fn(&Global, &Opts) -> CmdResult,
}

/// The dispatch table.
pub const TABLE: &[&Command] = &[
    &create::COMMAND,
    &delete::COMMAND,
    &events::COMMAND,
    &exec::COMMAND,
    &features::COMMAND,
    &kill::COMMAND,
    &list::COMMAND,
    &pause::COMMAND,
    &ps::COMMAND,
    &resume::COMMAND,
    &run::COMMAND,
    &spec::COMMAND,
    &start::COMMAND,
    &state::COMMAND,
    &update::COMMAND,
];

const GLOBAL_FLAGS: &[Flag] = &[
    switch(&["debug"], "enable debug logging"),
    option(
        &["log"],
        "set the log file to write runc logs to (default is '/dev/stderr')",
    ),
    option(
        &["log-format"],
        "set the log format ('text' (default), or 'json')",
    ),
    option(
        &["root"],
        "root directory for storage of container state (default: \"/run/berth/runc\")",
    ),
    option(
        &["criu"],
        "path to the criu binary used for checkpoint and restore (unsupported)",
    ),
    switch(
        &["systemd-cgroup"],
        "enable systemd cgroup support (unsupported by berth)",
    ),
    option(
        &["rootless"],
        "ignore cgroup permission errors ('true', 'false', or 'auto')",
    ),
    switch(&["help", "h"], "show help"),
    switch(&["version", "v"], "print the version"),
];

/// Options common to every command.
pub struct Global {
    pub root: PathBuf,
    pub log: Option<PathBuf>,
    pub log_json: bool,
    pub debug: bool,
    pub systemd_cgroup: bool,
}

impl Global {
    /// runc's commands that create cgroups refuse the systemd driver berth does not have.
    pub fn refuse_systemd(&self) -> Result<(), Failure> {
        if self.systemd_cgroup {
            return Err(Failure::new("systemd cgroup driver is not supported by berth: run without --systemd-cgroup (cgroupfs driver)"));
        }
        Ok(())
    }
}

/// Parsed flags of one command and its positional arguments.
#[derive(Debug, Default)]
pub struct Opts {
    vals: Vec<(&'static str, String)>,
    pub args: Vec<String>,
}

impl Opts {
    /// A switch's value (a switch is stored as "true"/"false").
    pub fn on(&self, name: &str) -> bool {
        self.get(name).is_some_and(|v| v == "true")
    }
    /// The last value given for a flag.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vals
            .iter()
            .rev()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }
    /// Every value given for a repeatable flag, in order.
    pub fn all(&self, name: &str) -> Vec<String> {
        self.vals
            .iter()
            .filter(|(k, _)| *k == name)
            .map(|(_, v)| v.clone())
            .collect()
    }
    pub fn path(&self, name: &str) -> Option<PathBuf> {
        self.get(name).filter(|s| !s.is_empty()).map(PathBuf::from)
    }
    /// An integer flag (Go's "invalid value" wording on a bad one).
    pub fn uint(&self, name: &str) -> Result<u32, Failure> {
        match self.get(name) {
            None => Ok(0),
            Some(v) => v.parse().map_err(|_| {
                Failure::new(format!("invalid value {v:?} for flag -{name}: parse error"))
            }),
        }
    }
}

/// Parse Go-flag style: returns the options and the arguments from the first non-flag on.
pub fn parse(flags: &[Flag], args: &[String]) -> Result<Opts, String> {
    let mut o = Opts::default();
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        if a == "--" {
            i += 1;
            break;
        }
        if a.len() < 2 || !a.starts_with('-') {
            break;
        }
        let body = a.trim_start_matches('-');
        if a.starts_with("---") || body.is_empty() {
            return Err(format!("bad flag syntax: {a}"));
        }
        let (name, inline) = match body.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (body, None),
        };
        let f = flags
            .iter()
            .find(|f| f.names.contains(&name))
            .ok_or_else(|| format!("flag provided but not defined: -{name}"))?;
        let canon = f.names[0];
        if f.value {
            let v = match inline {
                Some(v) => v.to_string(),
                None => {
                    i += 1;
                    args.get(i)
                        .cloned()
                        .ok_or_else(|| format!("flag needs an argument: -{name}"))?
                }
            };
            o.vals.push((canon, v));
        } else {
            let v = match inline {
                None | Some("true") | Some("1") | Some("t") | Some("T") | Some("TRUE")
                | Some("True") => "true",
                Some("false") | Some("0") | Some("f") | Some("F") | Some("FALSE")
                | Some("False") => "false",
                Some(v) => {
                    return Err(format!(
                        "invalid boolean value {v:?} for -{name}: parse error"
                    ))
                }
            };
            o.vals.push((canon, v.to_string()));
        }
        i += 1;
    }
    o.args = args[i..].to_vec();
    Ok(o)
}

pub fn main(args: Vec<String>) -> ExitCode {
    let g = match parse(GLOBAL_FLAGS, &args) {
        Ok(g) => g,
        Err(e) => {
            let glob = Global {
                root: entry::DEFAULT_ROOT.into(),
                log: None,
                log_json: false,
                debug: false,
                systemd_cgroup: false,
            };
            println!("Incorrect Usage: {e}\n");
            print!("{}", app_usage());
            return report(&glob, &Failure::new(e));
        }
    };
    if g.on("version") {
        println!(
            "runc version {VERSION} (berth)\ncommit: {COMMIT}\nspec: {}",
            entry::OCI_VERSION
        );
        return ExitCode::SUCCESS;
    }
    let log_json = match g.get("log-format").unwrap_or("text") {
        "json" => true,
        "text" => false,
        other => {
            let glob = Global {
                root: entry::DEFAULT_ROOT.into(),
                log: None,
                log_json: false,
                debug: false,
                systemd_cgroup: false,
            };
            return report(&glob, &Failure::new(format!("invalid log-format: {other}")));
        }
    };
    let glob = Global {
        root: g.path("root").unwrap_or_else(|| entry::DEFAULT_ROOT.into()),
        log: g.path("log"),
        log_json,
        debug: g.on("debug"),
        systemd_cgroup: g.on("systemd-cgroup"),
    };
    logger::install(&glob);
    let Some(cmd_name) = g.args.first() else {
        print!("{}", app_usage());
        return ExitCode::SUCCESS;
    };
    if g.on("help") || cmd_name == "help" {
        print!("{}", app_usage());
        return ExitCode::SUCCESS;
    }
    let Some(cmd) = TABLE.iter().find(|c| c.name == cmd_name) else {
        return report(
            &glob,
            &Failure {
                msg: format!("No help topic for '{cmd_name}'\n"),
                code: 3,
            },
        );
    };
    let rest = &g.args[1..];
    if rest
        .iter()
        .take_while(|a| a.starts_with('-'))
        .any(|a| a == "--help" || a == "-h" || a == "-help")
    {
        print!("{}", command_usage(cmd));
        return ExitCode::SUCCESS;
    }
    let o = match parse(cmd.flags, rest) {
        Ok(o) => o,
        Err(e) => {
            println!("Incorrect Usage: {e}\n");
            print!("{}", command_usage(cmd));
            return report(&glob, &Failure::new(e));
        }
    };
    if let Err(msg) = check_arity(cmd, o.args.len()) {
        println!("Incorrect Usage.\n");
        print!("{}", command_usage(cmd));
        return report(&glob, &Failure::new(msg));
    }
    match (cmd.run)(&glob, &o) {
        Ok(code) => code,
        Err(f) => report(&glob, &f),
    }
}

fn check_arity(cmd: &Command, n: usize) -> Result<(), String> {
    let name = cmd.name;
    match cmd.arity {
        Arity::Exact(k) if n != k => {
            Err(format!("runc: {name:?} requires exactly {k} argument(s)"))
        }
        Arity::Min(k) if n < k => Err(format!(
            "runc: {name:?} requires a minimum of {k} argument(s)"
        )),
        Arity::Range(lo, _) if n < lo => Err(format!(
            "runc: {name:?} requires a minimum of {lo} argument(s)"
        )),
        Arity::Range(_, hi) if n > hi => Err(format!(
            "runc: {name:?} requires a maximum of {hi} argument(s)"
        )),
        Arity::None if n != 0 => Err(format!("runc: {name:?} requires exactly 0 argument(s)")),
        _ => Ok(()),
    }
}

fn app_usage() -> String {
    let mut s = String::from(
        "NAME:\n   runc - Open Container Initiative runtime (berth)\n\nUSAGE:\n   runc [global options] command [command options] [arguments...]\n\nCOMMANDS:\n",
    );
    for c in TABLE {
        s.push_str(&format!("   {:<10} {}\n", c.name, c.summary));
    }
    s.push_str("\nGLOBAL OPTIONS:\n");
    s.push_str(&flags_usage(GLOBAL_FLAGS));
    s
}

fn command_usage(c: &Command) -> String {
    let mut s = format!(
        "NAME:\n   runc {} - {}\n\nUSAGE:\n   runc {}\n",
        c.name, c.summary, c.usage
    );
    if !c.flags.is_empty() {
        s.push_str("\nOPTIONS:\n");
        s.push_str(&flags_usage(c.flags));
    }
    s
}

fn flags_usage(flags: &[Flag]) -> String {
    let mut s = String::new();
    for f in flags {
        let names: Vec<String> = f
            .names
            .iter()
            .map(|n| {
                if n.len() == 1 {
                    format!("-{n}")
                } else {
                    format!("--{n}")
                }
            })
            .collect();
        let v = if f.value { " value" } else { "" };
        s.push_str(&format!(
            "   {:<28} {}\n",
            format!("{}{v}", names.join(", ")),
            f.help
        ));
    }
    s
}

/// Print a failure as runc does and return its exit code.
fn report(g: &Global, f: &Failure) -> ExitCode {
    logger::error(g, &f.msg);
    ExitCode::from(f.code)
}

/// Go's strconv.Quote, as logrus's text format quotes values.
fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// One logrus line: `time="..." level=error msg="..."` or `{"level":"error","msg":"...","time":"..."}`.
pub fn log_line(json: bool, level: &str, msg: &str) -> String {
    let now = crate::base::time::now_rfc3339();
    let time = format!("{}Z", &now[..19]);
    if json {
        let m = serde_json::to_string(msg).unwrap_or_else(|_| "\"\"".into());
        format!("{{\"level\":\"{level}\",\"msg\":{m},\"time\":\"{time}\"}}\n")
    } else {
        format!("time=\"{time}\" level={level} msg={}\n", go_quote(msg))
    }
}

mod logger {
    //! logrus-compatible logging for the runc role: the `log` facade's records go to `--log`
    //! (or stderr) in runc's text or JSON line format.
    use super::{log_line, Global};
    use std::io::Write;
    use std::path::PathBuf;

    struct RuncLog {
        json: bool,
        file: Option<PathBuf>,
        level: log::LevelFilter,
    }

    impl log::Log for RuncLog {
        fn enabled(&self, m: &log::Metadata<'_>) -> bool {
            m.level() <= self.level
        }
        fn log(&self, r: &log::Record<'_>) {
            if !self.enabled(r.metadata()) {
                return;
            }
            let level = match r.level() {
                log::Level::Error => "error",
                log::Level::Warn => "warning",
                log::Level::Info => "info",
                log::Level::Debug => "debug",
                log::Level::Trace => "trace",
            };
            write(
                self.file.as_ref(),
                log_line(self.json, level, &r.args().to_string()).as_bytes(),
            );
        }
        fn flush(&self) {}
    }

    fn write(file: Option<&PathBuf>, line: &[u8]) {
        match file {
            Some(p) => {
                if let Ok(mut f) = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(p)
                {
                    let _ = f.write_all(line);
                }
            }
            None => {
                let _ = std::io::stderr().write_all(line);
            }
        }
    }

    pub fn install(g: &Global) {
        let level = if g.debug {
            log::LevelFilter::Debug
        } else {
            log::LevelFilter::Warn
        };
        let l: &'static RuncLog = Box::leak(Box::new(RuncLog {
            json: g.log_json,
            file: g.log.clone(),
            level,
        }));
        if log::set_logger(l).is_ok() {
            log::set_max_level(level);
        }
    }

    /// An error as runc reports it: with --log, the logrus line in the file and the bare
    /// message on stderr; without, the logrus line on stderr.
    pub fn error(g: &Global, msg: &str) {
        let line = log_line(g.log_json, "error", msg);
        match &g.log {
            Some(p) => {
                write(Some(p), line.as_bytes());
                let _ = writeln!(std::io::stderr(), "{msg}");
            }
            None => write(None, line.as_bytes()),
        }
    }
}

/// Print JSON as runc's `state` does: two-space indent, no trailing newline.
pub fn print_json_indented<T: serde::Serialize>(v: &T) -> Result<(), Failure> {
    let s = serde_json::to_string_pretty(v).map_err(|e| Failure::new(e.to_string()))?;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(s.as_bytes());
    let _ = out.flush();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    const F: &[Flag] = &[
        option(&["bundle", "b"], ""),
        switch(&["detach", "d"], ""),
        option(&["env", "e"], ""),
    ];

    #[test]
    fn go_flag_grammar() {
        let o = parse(
            F,
            &s(&[
                "-b", "/x", "--detach", "-e=A=1", "--env", "B=2", "id", "sh", "-c", "--detach",
            ]),
        )
        .unwrap();
        assert_eq!(o.get("bundle"), Some("/x"));
        assert!(o.on("detach"));
        assert_eq!(o.all("env"), ["A=1", "B=2"]);
        assert_eq!(o.args, ["id", "sh", "-c", "--detach"]);
        let o = parse(F, &s(&["-d=false", "--", "-id"])).unwrap();
        assert!(!o.on("detach"));
        assert_eq!(o.args, ["-id"]);
    }

    #[test]
    fn go_flag_errors() {
        assert_eq!(
            parse(F, &s(&["--frob"])).unwrap_err(),
            "flag provided but not defined: -frob"
        );
        assert_eq!(
            parse(F, &s(&["-b"])).unwrap_err(),
            "flag needs an argument: -b"
        );
        assert_eq!(
            parse(F, &s(&["-d=maybe"])).unwrap_err(),
            "invalid boolean value \"maybe\" for -d: parse error"
        );
    }

    #[test]
    fn logrus_lines() {
        let t = log_line(
            false,
            "error",
            "runc: \"state\" requires exactly 1 argument(s)",
        );
        assert!(
            t.starts_with("time=\"")
                && t.ends_with(
                    " level=error msg=\"runc: \\\"state\\\" requires exactly 1 argument(s)\"\n"
                ),
            "{t}"
        );
        let j = log_line(true, "error", "container does not exist");
        let v: serde_json::Value = serde_json::from_str(&j).unwrap();
        assert_eq!(v["level"], "error");
        assert_eq!(v["msg"], "container does not exist");
        assert!(
            j.starts_with("{\"level\":\"error\",\"msg\":\"container does not exist\",\"time\":\"")
        );
        assert_eq!(
            v["time"].as_str().unwrap().len(),
            20,
            "RFC 3339 seconds, Z: {j}"
        );
    }

    #[test]
    fn table_names_are_unique_and_sorted() {
        let names: Vec<&str> = TABLE.iter().map(|c| c.name).collect();
        let mut sorted = names.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(names, sorted);
    }
}
