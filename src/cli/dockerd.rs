//! The `dockerd` role: the Engine API daemon.
//!
//! Flags come from the daemon's option table (each flag's `daemon.json` key and kind), parsed
//! here with pflag's grammar and words. argh is not used for this command: dockerd needs to know
//! which flags were given at all (`--iptables=false` differs from no flag, and a flag given both
//! here and in daemon.json is an error), which argh's typed structs cannot tell.

use super::{COMMIT, VERSION};
use crate::daemon::entry::{self, ConfigFile, Kind, Options};
use std::path::PathBuf;
use std::process::ExitCode;

enum Parsed {
    Run(Options),
    Help,
    Version,
}

/// pflag/cobra's flag error, as dockerd prints it (yes, with the odd `Status:` and `Code:`).
fn flag_error(msg: &str) -> ExitCode {
    eprintln!("Status: {msg}\nSee 'dockerd --help'., Code: 125");
    ExitCode::from(1)
}

fn parse(args: &[String]) -> Result<Parsed, String> {
    let mut flags = serde_json::Map::new();
    let mut config_file = ConfigFile::Default;
    let mut it = args.iter();
    let mut set = |o: &entry::Opt,
                   v: &str,
                   flags: &mut serde_json::Map<String, serde_json::Value>|
     -> Result<(), String> {
        if o.long == "config-file" {
            config_file = ConfigFile::Explicit(PathBuf::from(v));
            Ok(())
        } else {
            entry::add_flag(flags, o, v)
        }
    };
    while let Some(arg) = it.next() {
        if arg == "--" {
            if let Some(extra) = it.next() {
                return Err(format!("\"dockerd\" accepts no argument(s): {extra}"));
            }
            break;
        }
        if let Some(body) = arg.strip_prefix("--") {
            let (name, inline) = match body.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (body, None),
            };
            match name {
                "help" => return Ok(Parsed::Help),
                "version" => return Ok(Parsed::Version),
                _ => {}
            }
            let o = entry::find_long(name).ok_or_else(|| format!("unknown flag: --{name}"))?;
            let value = match (o.kind, inline) {
                (_, Some(v)) => v.to_string(),
                (Kind::Bool, None) => "true".to_string(),
                (_, None) => it
                    .next()
                    .cloned()
                    .ok_or_else(|| format!("flag needs an argument: --{name}"))?,
            };
            set(o, &value, &mut flags)?;
        } else if arg.len() > 1 && arg.starts_with('-') {
            let body = &arg[1..];
            for (i, c) in body.char_indices() {
                match c {
                    'h' => return Ok(Parsed::Help),
                    'v' => return Ok(Parsed::Version),
                    _ => {}
                }
                let o = entry::find_short(c)
                    .ok_or_else(|| format!("unknown shorthand flag: '{c}' in -{}", &body[i..]))?;
                let rest = &body[i + c.len_utf8()..];
                if o.kind == Kind::Bool {
                    if let Some(v) = rest.strip_prefix('=') {
                        set(o, v, &mut flags)?;
                        break;
                    }
                    set(o, "true", &mut flags)?;
                    continue;
                }
                let value = match rest.strip_prefix('=').unwrap_or(rest) {
                    "" => it.next().cloned().ok_or_else(|| {
                        format!("flag needs an argument: '{c}' in -{}", &body[i..])
                    })?,
                    v => v.to_string(),
                };
                set(o, &value, &mut flags)?;
                break;
            }
        } else {
            return Err(format!("\"dockerd\" accepts no argument(s): {arg}"));
        }
    }
    Ok(Parsed::Run(Options { flags, config_file }))
}

fn usage() -> String {
    let mut s = String::from("\nUsage:\tdockerd [OPTIONS]\n\nA self-sufficient runtime for containers (berth).\n\nOptions:\n");
    let mut rows: Vec<(String, &str)> = entry::OPTIONS
        .iter()
        .map(|o| {
            let short = o
                .short
                .map(|c| format!("-{c}, "))
                .unwrap_or_else(|| "    ".into());
            let arg = match o.kind {
                Kind::Bool => "",
                Kind::Int => " int",
                Kind::List => " list",
                Kind::Map => " map",
                Kind::Runtime => " runtime",
                Kind::Str => " string",
            };
            (format!("  {short}--{}{arg}", o.long), o.help)
        })
        .collect();
    rows.push(("      --help".into(), "Print usage"));
    rows.push((
        "  -v, --version".into(),
        "Print version information and quit",
    ));
    rows.sort_by_key(|r| r.0.split("--").nth(1).unwrap_or("").to_string());
    let width = rows.iter().map(|r| r.0.len()).max().unwrap_or(0) + 2;
    for (flag, help) in rows {
        s.push_str(&format!("{flag:<width$}{help}\n"));
    }
    s
}

pub fn main(args: Vec<String>) -> ExitCode {
    match parse(&args) {
        Err(e) if e.starts_with("\"dockerd\" accepts") => {
            eprintln!("\"dockerd\" accepts no argument(s).\nSee 'dockerd --help'.\n\nUsage:  dockerd [OPTIONS]\n\nA self-sufficient runtime for containers.");
            ExitCode::from(1)
        }
        Err(e) => flag_error(&e),
        Ok(Parsed::Help) => {
            print!("{}", usage());
            ExitCode::SUCCESS
        }
        Ok(Parsed::Version) => {
            println!("Docker version {VERSION}-berth, build {COMMIT}");
            ExitCode::SUCCESS
        }
        Ok(Parsed::Run(opts)) => match entry::run(opts) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("{e}");
                ExitCode::from(1)
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(args: &[&str]) -> Result<Options, String> {
        match parse(&args.iter().map(|s| s.to_string()).collect::<Vec<_>>())? {
            Parsed::Run(o) => Ok(o),
            _ => Err("not a run".into()),
        }
    }

    #[test]
    fn pflag_grammar() {
        let o = p(&[
            "-H",
            "unix:///a",
            "--host=unix:///b",
            "-Dl",
            "warn",
            "--iptables=false",
            "--data-root",
            "/d",
            "-Hunix:///c",
        ])
        .unwrap();
        assert_eq!(
            o.flags["hosts"],
            serde_json::json!(["unix:///a", "unix:///b", "unix:///c"])
        );
        assert_eq!(o.flags["debug"], serde_json::json!(true));
        assert_eq!(o.flags["log-level"], serde_json::json!("warn"));
        assert_eq!(o.flags["iptables"], serde_json::json!(false));
        assert_eq!(o.flags["data-root"], serde_json::json!("/d"));
        assert!(matches!(o.config_file, ConfigFile::Default));
        let o = p(&["--config-file", "/x.json", "-D=false"]).unwrap();
        assert!(
            matches!(o.config_file, ConfigFile::Explicit(ref x) if x == &PathBuf::from("/x.json"))
        );
        assert_eq!(o.flags["debug"], serde_json::json!(false));
        assert!(!o.flags.contains_key("config-file") && !o.flags.contains_key(""));
    }

    #[test]
    fn errors_in_pflag_words() {
        assert_eq!(p(&["--bogus"]).unwrap_err(), "unknown flag: --bogus");
        assert_eq!(p(&["-H"]).unwrap_err(), "flag needs an argument: 'H' in -H");
        assert_eq!(
            p(&["-Dx"]).unwrap_err(),
            "unknown shorthand flag: 'x' in -x"
        );
        assert_eq!(
            p(&["--data-root"]).unwrap_err(),
            "flag needs an argument: --data-root"
        );
        assert!(p(&["foo"])
            .unwrap_err()
            .starts_with("\"dockerd\" accepts no argument(s)"));
    }

    #[test]
    fn help_lists_every_option() {
        let u = usage();
        for o in entry::OPTIONS {
            assert!(u.contains(&format!("--{}", o.long)), "{}", o.long);
        }
    }
}
