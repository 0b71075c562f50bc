//! Docker-style argument pre-pass.
//!
//! Docker's CLI (pflag) and runc's (urfave/cli) accept `--name=web`, `-it`, `-p8080:80`, `-e=K=V`,
//! `--rm=false`, and stop parsing flags at the first positional (the image, the container id):
//! everything after it belongs to the container. argh only takes exact tokens, so this pass
//! rewrites the input into a form argh accepts: every flag as `--long [value]`, then `--`, then
//! the positionals verbatim. Errors use pflag's wording, which users and scripts match on.

use std::fmt;

/// One flag a command accepts.
#[derive(Debug, Clone, Copy)]
pub struct Flag {
    pub long: &'static str,
    pub short: Option<char>,
    /// Takes a value (`--name web`); otherwise a switch (`--rm`, `--rm=false`).
    pub value: bool,
}

impl Flag {
    pub const fn switch(long: &'static str, short: Option<char>) -> Flag {
        Flag {
            long,
            short,
            value: false,
        }
    }
    pub const fn option(long: &'static str, short: Option<char>) -> Flag {
        Flag {
            long,
            short,
            value: true,
        }
    }
}

/// Where flag parsing stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Positionals {
    /// Flags may follow positionals (`docker rm a -f b`).
    Interspersed,
    /// The first positional ends flag parsing (`docker run -it img sh -c ...`).
    StopAtFirst,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgError(pub String);

impl fmt::Display for ArgError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Rewrite `args` (without the program or command name) into argh-ready tokens.
pub fn normalize(
    flags: &[Flag],
    mode: Positionals,
    args: &[String],
) -> Result<Vec<String>, ArgError> {
    normalize_impl(flags, mode, args, false)
}

/// As [`normalize`], but a switch set false (`--rm=false`, `-H=false`) stays in the output as
/// `--rm=false`, for callers whose switches default to true (`history --human`).
pub fn normalize_keep_false(
    flags: &[Flag],
    mode: Positionals,
    args: &[String],
) -> Result<Vec<String>, ArgError> {
    normalize_impl(flags, mode, args, true)
}

fn normalize_impl(
    flags: &[Flag],
    mode: Positionals,
    args: &[String],
    keep_false: bool,
) -> Result<Vec<String>, ArgError> {
    let mut out = Vec::new();
    let mut positionals = Vec::new();
    let mut it = args.iter().peekable();
    while let Some(arg) = it.next() {
        if arg == "--" {
            positionals.extend(it.by_ref().cloned());
            break;
        }
        if let Some(body) = arg.strip_prefix("--") {
            let (name, inline) = match body.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (body, None),
            };
            if name == "help" {
                out.push("--help".into());
                continue;
            }
            let flag = flags
                .iter()
                .find(|f| f.long == name)
                .ok_or_else(|| ArgError(format!("unknown flag: --{name}")))?;
            emit(flag, inline, &mut it, &mut out, keep_false, || {
                format!("--{name}")
            })?;
        } else if arg.len() > 1 && arg.starts_with('-') {
            // A cluster of shorthands: `-it`, `-p8080:80`, `-e=K=V`, `-dit`.
            let body = &arg[1..];
            let mut chars = body.char_indices();
            while let Some((i, c)) = chars.next() {
                if c == 'h' && !flags.iter().any(|f| f.short == Some('h')) {
                    out.push("--help".into());
                    continue;
                }
                let flag = flags
                    .iter()
                    .find(|f| f.short == Some(c))
                    .ok_or_else(|| ArgError(format!("unknown shorthand flag: '{c}' in {arg}")))?;
                let rest = &body[i + c.len_utf8()..];
                if flag.value {
                    let inline =
                        rest.strip_prefix('=')
                            .or(if rest.is_empty() { None } else { Some(rest) });
                    emit(flag, inline, &mut it, &mut out, keep_false, || {
                        format!("'{c}' in {arg}")
                    })?;
                    break;
                }
                if let Some(v) = rest.strip_prefix('=') {
                    emit(flag, Some(v), &mut it, &mut out, keep_false, || {
                        format!("'{c}' in {arg}")
                    })?;
                    break;
                }
                emit(flag, None, &mut it, &mut out, keep_false, || {
                    format!("'{c}' in {arg}")
                })?;
            }
        } else {
            positionals.push(arg.clone());
            if mode == Positionals::StopAtFirst {
                positionals.extend(it.by_ref().cloned());
                break;
            }
        }
    }
    if !positionals.is_empty() {
        out.push("--".into());
        out.extend(positionals);
    }
    Ok(out)
}

fn emit<'a, I: Iterator<Item = &'a String>>(
    flag: &Flag,
    inline: Option<&str>,
    rest: &mut std::iter::Peekable<I>,
    out: &mut Vec<String>,
    keep_false: bool,
    shown: impl Fn() -> String,
) -> Result<(), ArgError> {
    if flag.value {
        let v = match inline {
            Some(v) => v.to_string(),
            None => rest
                .next()
                .cloned()
                .ok_or_else(|| ArgError(format!("flag needs an argument: {}", shown())))?,
        };
        out.push(format!("--{}", flag.long));
        out.push(v);
    } else {
        match inline {
            None | Some("true") | Some("1") => out.push(format!("--{}", flag.long)),
            Some("false") | Some("0") => {
                if keep_false {
                    out.push(format!("--{}=false", flag.long));
                }
            }
            Some(v) => {
                // pflag names the flag by both its spellings here, however it was typed.
                let name = match flag.short {
                    Some(c) => format!("-{c}, --{}", flag.long),
                    None => format!("--{}", flag.long),
                };
                return Err(ArgError(format!("invalid argument \"{v}\" for \"{name}\" flag: strconv.ParseBool: parsing \"{v}\": invalid syntax")));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const RUN: &[Flag] = &[
        Flag::option("name", None),
        Flag::switch("interactive", Some('i')),
        Flag::switch("tty", Some('t')),
        Flag::switch("detach", Some('d')),
        Flag::switch("rm", None),
        Flag::option("publish", Some('p')),
        Flag::option("env", Some('e')),
    ];

    fn n(args: &[&str]) -> Result<Vec<String>, ArgError> {
        normalize(
            RUN,
            Positionals::StopAtFirst,
            &args.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
        )
    }

    #[test]
    fn long_with_equals() {
        assert_eq!(
            n(&["--name=web", "img"]).unwrap(),
            ["--name", "web", "--", "img"]
        );
        assert_eq!(
            n(&["--name", "web", "img"]).unwrap(),
            ["--name", "web", "--", "img"]
        );
    }

    #[test]
    fn short_cluster_of_switches() {
        assert_eq!(
            n(&["-it", "img", "sh"]).unwrap(),
            ["--interactive", "--tty", "--", "img", "sh"]
        );
        assert_eq!(
            n(&["-dit", "img"]).unwrap(),
            ["--detach", "--interactive", "--tty", "--", "img"]
        );
    }

    #[test]
    fn short_with_attached_value() {
        assert_eq!(
            n(&["-p8080:80", "img"]).unwrap(),
            ["--publish", "8080:80", "--", "img"]
        );
        assert_eq!(
            n(&["-e=K=V", "img"]).unwrap(),
            ["--env", "K=V", "--", "img"]
        );
        assert_eq!(
            n(&["-itp", "80:80", "img"]).unwrap(),
            ["--interactive", "--tty", "--publish", "80:80", "--", "img"]
        );
    }

    #[test]
    fn short_with_separate_value_keeps_equals() {
        assert_eq!(
            n(&["-e", "K=V", "-e", "A=b=c", "img"]).unwrap(),
            ["--env", "K=V", "--env", "A=b=c", "--", "img"]
        );
    }

    #[test]
    fn stops_at_the_image() {
        assert_eq!(
            n(&["--rm", "img", "sh", "-c", "echo --name=x", "-it"]).unwrap(),
            ["--rm", "--", "img", "sh", "-c", "echo --name=x", "-it"]
        );
    }

    #[test]
    fn switch_values() {
        assert_eq!(
            n(&["--rm=false", "-d=true", "img"]).unwrap(),
            ["--detach", "--", "img"]
        );
        assert!(n(&["--rm=maybe", "img"])
            .unwrap_err()
            .0
            .contains("invalid argument \"maybe\""));
    }

    #[test]
    fn false_switches_can_be_kept() {
        let args: Vec<String> = ["-d=false", "--rm=0", "img"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            normalize_keep_false(RUN, Positionals::StopAtFirst, &args).unwrap(),
            ["--detach=false", "--rm=false", "--", "img"]
        );
    }

    #[test]
    fn double_dash_and_lone_dash_are_positional() {
        assert_eq!(n(&["--", "-img"]).unwrap(), ["--", "-img"]);
        assert_eq!(n(&["-"]).unwrap(), ["--", "-"]);
    }

    #[test]
    fn errors_use_pflag_wording() {
        assert_eq!(n(&["--nope", "img"]).unwrap_err().0, "unknown flag: --nope");
        assert_eq!(
            n(&["-x", "img"]).unwrap_err().0,
            "unknown shorthand flag: 'x' in -x"
        );
        assert_eq!(
            n(&["--name"]).unwrap_err().0,
            "flag needs an argument: --name"
        );
        assert_eq!(
            n(&["-ie"]).unwrap_err().0,
            "flag needs an argument: 'e' in -ie"
        );
    }

    #[test]
    fn interspersed_collects_flags_after_positionals() {
        let flags = [Flag::switch("force", Some('f'))];
        let args: Vec<String> = ["a", "-f", "b"].iter().map(|s| s.to_string()).collect();
        assert_eq!(
            normalize(&flags, Positionals::Interspersed, &args).unwrap(),
            ["--force", "--", "a", "b"]
        );
    }

    #[test]
    fn help_is_always_accepted() {
        assert_eq!(n(&["--help"]).unwrap(), ["--help"]);
        assert_eq!(n(&["-h"]).unwrap(), ["--help"]);
    }

    #[test]
    fn argh_accepts_the_output() {
        #[derive(argh::FromArgs, Debug)]
        /// run
        struct Run {
            /// name
            #[argh(option)]
            name: Option<String>,
            /// i
            #[argh(switch)]
            interactive: bool,
            /// t
            #[argh(switch)]
            tty: bool,
            /// e
            #[argh(option)]
            env: Vec<String>,
            /// image and command
            #[argh(positional, greedy)]
            rest: Vec<String>,
        }
        let toks = n(&["-it", "--name=web", "-e", "A=1", "img", "sh", "-c", "--tty"]).unwrap();
        let refs: Vec<&str> = toks.iter().map(|s| s.as_str()).collect();
        let r = <Run as argh::FromArgs>::from_args(&["run"], &refs).unwrap();
        assert!(r.interactive && r.tty);
        assert_eq!(r.name.as_deref(), Some("web"));
        assert_eq!(r.env, ["A=1"]);
        assert_eq!(r.rest, ["img", "sh", "-c", "--tty"]);
    }
}
