//! The command model of the docker role: flag declarations (which drive both the argument
//! pre-pass and the help text), parsed arguments with pflag's typed-value errors, positional
//! count checks in cobra's words, help in Docker's layout, and the error type whose variants map
//! to Docker's exit codes.

use crate::cli::args::{self, Flag, Positionals};
use std::fmt::Write as _;

/// One flag of a command.
#[derive(Debug, Clone, Copy)]
pub struct Opt {
    pub long: &'static str,
    pub short: Option<char>,
    /// The value's type as pflag names it in help (`string`, `int`, `list`, `duration`…);
    /// empty for a boolean switch.
    pub ty: &'static str,
    pub help: &'static str,
    /// Shown as `(default …)` when not empty.
    pub default: &'static str,
}

/// Shorthands for the flag tables.
pub const fn sw(long: &'static str, short: Option<char>, help: &'static str) -> Opt {
    Opt {
        long,
        short,
        ty: "",
        help,
        default: "",
    }
}
pub const fn val(
    long: &'static str,
    short: Option<char>,
    ty: &'static str,
    help: &'static str,
) -> Opt {
    Opt {
        long,
        short,
        ty,
        help,
        default: "",
    }
}
pub const fn dflt(
    long: &'static str,
    short: Option<char>,
    ty: &'static str,
    help: &'static str,
    default: &'static str,
) -> Opt {
    Opt {
        long,
        short,
        ty,
        help,
        default,
    }
}

impl Opt {
    /// `-n, --last` or `--format`, as pflag names a flag in errors.
    fn shown(&self) -> String {
        match self.short {
            Some(c) => format!("-{c}, --{}", self.long),
            None => format!("--{}", self.long),
        }
    }
}

/// How many positionals a command takes.
#[derive(Debug, Clone, Copy)]
pub enum Arity {
    None,
    Exact(usize),
    Min(usize),
    Max(usize),
    Range(usize, usize),
}

/// A command's declaration.
pub struct Spec {
    /// Management group (`container`, `image`, `system`) or "" for a root-only command.
    pub group: &'static str,
    pub name: &'static str,
    /// Other names inside the group (`ls` → `list`, `ps`).
    pub aliases: &'static [&'static str],
    /// The top-level shortcut (`docker ps` for `docker container ls`).
    pub top: Option<&'static str>,
    /// What follows the command in the usage line (`[OPTIONS] CONTAINER [CONTAINER...]`).
    pub usage: &'static str,
    pub short: &'static str,
    /// The description `--help` shows instead of `short`, when there is one.
    pub long: &'static str,
    pub opts: &'static [Opt],
    pub arity: Arity,
    /// Flags stop at the first positional (`run IMAGE CMD -x`).
    pub stop_at_first: bool,
    /// `run`/`create`: daemon errors exit 125 and print `docker: …`.
    pub run_like: bool,
    pub run: fn(&mut super::Ctx, &Parsed) -> Result<(), CliError>,
}

impl Spec {
    /// The names a user can reach this command by (`docker container ls`, `docker ps`…).
    pub fn paths(&self) -> Vec<String> {
        let mut v = Vec::new();
        if !self.group.is_empty() {
            v.push(format!("docker {} {}", self.group, self.name));
            for a in self.aliases {
                v.push(format!("docker {} {a}", self.group));
            }
        }
        if let Some(t) = self.top {
            v.push(format!("docker {t}"));
        }
        v
    }
}

/// A command's arguments after parsing.
#[derive(Debug, Default, Clone)]
pub struct Parsed {
    /// Command path as invoked (`docker container ls`).
    pub path: String,
    pub flags: Vec<(String, String)>,
    pub args: Vec<String>,
}

impl Parsed {
    pub fn has(&self, long: &str) -> bool {
        self.flags.iter().any(|(k, _)| k == long)
    }
    /// A switch: true when given (and its last setting is not `=false`).
    pub fn bool(&self, long: &str) -> bool {
        self.bool_or(long, false)
    }
    /// A switch that defaults to `default` when not given (`--human` is true unless `-H=false`).
    pub fn bool_or(&self, long: &str, default: bool) -> bool {
        match self.flags.iter().rev().find(|(k, _)| k == long) {
            Some((_, v)) => v != "false",
            None => default,
        }
    }
    /// The last value of an option, or "".
    pub fn str(&self, long: &str) -> String {
        self.opt(long).unwrap_or_default()
    }
    pub fn opt(&self, long: &str) -> Option<String> {
        self.flags
            .iter()
            .rev()
            .find(|(k, _)| k == long)
            .map(|(_, v)| v.clone())
    }
    /// Every value of a repeatable option in order (comma-separated lists split as pflag's
    /// `stringSlice` does only for types declared so by the caller).
    pub fn list(&self, long: &str) -> Vec<String> {
        self.flags
            .iter()
            .filter(|(k, _)| k == long)
            .map(|(_, v)| v.clone())
            .collect()
    }
    /// An integer option (already validated at parse time).
    pub fn int(&self, long: &str, default: i64) -> i64 {
        self.opt(long)
            .and_then(|v| parse_go_int(&v))
            .unwrap_or(default)
    }
}

/// Errors a command ends with; each variant knows its exit code.
#[derive(Debug)]
pub enum CliError {
    /// Printed as is (may be empty: nothing printed) with this exit code.
    Status(String, u8),
    /// A failed Engine API call.
    Api(crate::api::client::Error),
}

impl CliError {
    pub fn msg(m: impl Into<String>) -> CliError {
        CliError::Status(m.into(), 1)
    }
    pub fn code(code: u8) -> CliError {
        CliError::Status(String::new(), code)
    }
}

impl From<crate::api::client::Error> for CliError {
    fn from(e: crate::api::client::Error) -> CliError {
        CliError::Api(e)
    }
}

impl From<std::io::Error> for CliError {
    fn from(e: std::io::Error) -> CliError {
        CliError::msg(e.to_string())
    }
}

/// Go's `strconv.ParseInt(s, 0, 64)`: decimal, `0x`, `0o`, `0b`, leading sign, `_` separators.
pub fn parse_go_int(s: &str) -> Option<i64> {
    let (neg, body) = match s.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let (radix, digits) =
        if let Some(d) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
            (16, d)
        } else if let Some(d) = body.strip_prefix("0o").or_else(|| body.strip_prefix("0O")) {
            (8, d)
        } else if let Some(d) = body.strip_prefix("0b").or_else(|| body.strip_prefix("0B")) {
            (2, d)
        } else {
            (10, body)
        };
    if digits.is_empty() || digits.starts_with('_') {
        return None;
    }
    let v = i64::from_str_radix(&digits.replace('_', ""), radix).ok()?;
    Some(if neg { -v } else { v })
}

/// Go's `time.ParseDuration`, in nanoseconds.
pub fn parse_go_duration(s: &str) -> Option<i64> {
    let (neg, mut rest) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    if rest == "0" {
        return Some(0);
    }
    if rest.is_empty() {
        return None;
    }
    let mut total: f64 = 0.0;
    while !rest.is_empty() {
        let n = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if n == 0 {
            return None;
        }
        let num: f64 = rest[..n].parse().ok()?;
        rest = &rest[n..];
        let u = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let mult = match &rest[..u] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        total += num * mult;
        rest = &rest[u..];
    }
    Some(if neg { -(total as i64) } else { total as i64 })
}

/// go-units `RAMInBytes`: `512m`, `1g`, `100k`, `1.5GiB`, plain bytes.
pub fn parse_ram(s: &str) -> Option<i64> {
    let sep = s.rfind(|c: char| c.is_ascii_digit() || c == '.' || c == ' ')?;
    let (num, sfx) = if s.as_bytes()[sep] == b' ' {
        (&s[..sep], &s[sep + 1..])
    } else {
        (&s[..=sep], &s[sep + 1..])
    };
    let size: f64 = num.parse().ok()?;
    if size < 0.0 {
        return None;
    }
    let sfx = sfx.to_ascii_lowercase();
    if sfx.is_empty() || sfx == "b" {
        return Some(size as i64);
    }
    if sfx.len() > 3 {
        return None;
    }
    let mul: f64 = match sfx.as_bytes()[0] {
        b'k' => 1024.0,
        b'm' => 1024f64.powi(2),
        b'g' => 1024f64.powi(3),
        b't' => 1024f64.powi(4),
        b'p' => 1024f64.powi(5),
        _ => return None,
    };
    match sfx.len() {
        2 if &sfx[1..] != "b" => return None,
        3 if &sfx[1..] != "ib" => return None,
        _ => {}
    }
    Some((size * mul) as i64)
}

fn bad_value(o: &Opt, v: &str, why: &str) -> String {
    format!("invalid argument \"{v}\" for \"{}\" flag: {why}", o.shown())
}

/// Check a typed value the way pflag's `Set` does.
fn check_value(o: &Opt, v: &str) -> Result<(), String> {
    match o.ty {
        "int" | "int64" => {
            if parse_go_int(v).is_none() {
                return Err(bad_value(
                    o,
                    v,
                    &format!("strconv.ParseInt: parsing \"{v}\": invalid syntax"),
                ));
            }
        }
        "uint16" | "uint" | "uint64" => {
            if parse_go_int(v).filter(|n| *n >= 0).is_none() {
                return Err(bad_value(
                    o,
                    v,
                    &format!("strconv.ParseUint: parsing \"{v}\": invalid syntax"),
                ));
            }
        }
        "duration" => {
            if parse_go_duration(v).is_none() {
                return Err(bad_value(o, v, &format!("time: invalid duration \"{v}\"")));
            }
        }
        "bytes" => {
            if parse_ram(v).is_none() {
                return Err(bad_value(o, v, &format!("invalid size: '{v}'")));
            }
        }
        "decimal" => {
            if v.parse::<f64>().is_err() {
                return Err(bad_value(
                    o,
                    v,
                    &format!("strconv.ParseFloat: parsing \"{v}\": invalid syntax"),
                ));
            }
        }
        _ => {}
    }
    Ok(())
}

/// What parsing decided.
pub enum Outcome {
    Run(Parsed),
    Help,
}

/// Parse a command's arguments: pre-pass, typed checks, `--help`, then the positional count.
/// Flag errors come back as exit 125, count errors as exit 1, both in Docker's words.
pub fn parse(spec: &Spec, path: &str, argv: &[String]) -> Result<Outcome, CliError> {
    let flags: Vec<Flag> = spec
        .opts
        .iter()
        .map(|o| Flag {
            long: o.long,
            short: o.short,
            value: !o.ty.is_empty(),
        })
        .collect();
    let mode = if spec.stop_at_first {
        Positionals::StopAtFirst
    } else {
        Positionals::Interspersed
    };
    let use_line = format!("{path} {}", spec.usage).trim_end().to_string();
    let flag_err = |e: String| {
        CliError::Status(
            format!("{e}\n\nUsage:  {use_line}\n\nRun '{path} --help' for more information"),
            125,
        )
    };
    let toks = args::normalize_keep_false(&flags, mode, argv).map_err(|e| flag_err(e.0))?;
    let mut parsed = Parsed {
        path: path.to_string(),
        ..Default::default()
    };
    let mut it = toks.into_iter();
    while let Some(t) = it.next() {
        if t == "--" {
            parsed.args.extend(it.by_ref());
            break;
        }
        if t == "--help" {
            return Ok(Outcome::Help);
        }
        let body = t.trim_start_matches("--");
        let (long, is_false) = match body.strip_suffix("=false") {
            Some(l) => (l, true),
            None => (body, false),
        };
        let Some(o) = spec.opts.iter().find(|o| o.long == long) else {
            continue;
        };
        let v = if o.ty.is_empty() {
            if is_false {
                "false".to_string()
            } else {
                String::new()
            }
        } else {
            it.next().unwrap_or_default()
        };
        check_value(o, &v).map_err(flag_err)?;
        parsed.flags.push((o.long.to_string(), v));
    }
    check_arity(spec, path, &use_line, parsed.args.len())?;
    Ok(Outcome::Run(parsed))
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        "argument"
    } else {
        "arguments"
    }
}

fn check_arity(spec: &Spec, path: &str, use_line: &str, n: usize) -> Result<(), CliError> {
    let tail = |verb: &str| {
        format!("\n\nUsage:  {use_line}\n\n{verb} '{path} --help' for more information")
    };
    let err = match spec.arity {
        Arity::None if n > 0 => format!("docker: '{path}' accepts no arguments{}", tail("Run")),
        Arity::Exact(k) if n != k => {
            format!("docker: '{path}' requires {k} {}{}", plural(k), tail("Run"))
        }
        Arity::Min(k) if n < k => format!(
            "docker: '{path}' requires at least {k} {}{}",
            plural(k),
            tail("See")
        ),
        // Docker 28's own text has "SRun" here; scripts compare whole messages.
        Arity::Max(k) if n > k => format!(
            "docker: '{path}' requires at most {k} {}{}",
            plural(k),
            tail("SRun")
        ),
        Arity::Range(a, b) if n < a || n > b => format!(
            "docker: '{path}' requires at least {a} and at most {b} {}{}",
            plural(b),
            tail("Run")
        ),
        _ => return Ok(()),
    };
    Err(CliError::Status(err, 1))
}

/// The terminal width help text wraps to (stdin's, else 80), as the CLI measures it.
pub fn help_width() -> usize {
    use std::os::fd::AsFd;
    crate::runtime::entry::terminal::get_size(std::io::stdin().as_fd())
        .map(|(_, c)| c as usize)
        .filter(|c| *c > 0)
        .unwrap_or(80)
}

/// pflag's wrapped flag table.
pub fn flag_usages(opts: &[Opt], cols: usize) -> String {
    // Flags without a description are hidden (`--net`, the old spelling of `--network`).
    let mut sorted: Vec<&Opt> = opts.iter().filter(|o| !o.help.is_empty()).collect();
    sorted.sort_by_key(|o| o.long);
    let mut lines = Vec::new();
    let mut maxlen = 0;
    for o in sorted {
        let mut line = match o.short {
            Some(c) => format!("  -{c}, --{}", o.long),
            None => format!("      --{}", o.long),
        };
        if !o.ty.is_empty() {
            line.push(' ');
            line.push_str(o.ty);
        }
        // pflag measures the line with its separator byte, so the text column is one further.
        maxlen = maxlen.max(line.len() + 1);
        let mut usage = o.help.to_string();
        if !o.default.is_empty() {
            if o.ty == "string" {
                let _ = write!(usage, " (default {})", super::format::go_quote(o.default));
            } else {
                let _ = write!(usage, " (default {})", o.default);
            }
        }
        lines.push((line, usage));
    }
    let mut out = String::new();
    for (line, usage) in lines {
        let spacing = " ".repeat(maxlen - line.len());
        let _ = writeln!(out, "{line} {spacing} {}", wrap(maxlen + 2, cols, &usage));
    }
    out
}

/// pflag's `wrap`: text starting at column `i` wrapped to width `w`, later lines indented.
fn wrap(i: usize, w: usize, s: &str) -> String {
    let mut i = i;
    let mut width = w as isize - i as isize;
    let mut r = String::new();
    if width < 24 {
        i = 16;
        width = w as isize - i as isize;
        r.push('\n');
        r.push_str(&" ".repeat(i));
    }
    let indent = format!("\n{}", " ".repeat(i));
    if width < 24 {
        return s.replace('\n', &r);
    }
    let slop = 5usize;
    let width = width as usize - slop;
    let (l, mut rest) = wrap_n(width, slop, s);
    r.push_str(&l.replace('\n', &indent));
    while !rest.is_empty() {
        let (t, more) = wrap_n(width, slop, rest);
        r.push_str(&indent);
        r.push_str(&t.replace('\n', &indent));
        rest = more;
    }
    r
}

fn wrap_n(i: usize, slop: usize, s: &str) -> (&str, &str) {
    if i + slop > s.len() {
        return (s, "");
    }
    let mut cut = i;
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    let head = &s[..cut];
    let Some(w) = head.rfind([' ', '\t', '\n']).filter(|w| *w > 0) else {
        return (s, "");
    };
    if let Some(nl) = head.rfind('\n').filter(|nl| *nl > 0 && *nl < w) {
        return (&s[..nl], &s[nl + 1..]);
    }
    (&s[..w], &s[w + 1..])
}

/// `docker X --help`.
pub fn help(spec: &Spec, path: &str) -> String {
    let about = if spec.long.is_empty() {
        spec.short
    } else {
        spec.long
    };
    let mut s = format!(
        "Usage:  {}\n\n{about}\n",
        format!("{path} {}", spec.usage).trim_end()
    );
    let paths = spec.paths();
    if paths.len() > 1 {
        let _ = write!(s, "\nAliases:\n  {}\n", paths.join(", "));
    }
    if !spec.opts.is_empty() {
        let _ = write!(
            s,
            "\nOptions:\n{}",
            flag_usages(spec.opts, help_width() - 1).trim_end()
        );
        s.push('\n');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nop(_: &mut super::super::Ctx, _: &Parsed) -> Result<(), CliError> {
        Ok(())
    }

    const PS_OPTS: &[Opt] = &[
        sw(
            "all",
            Some('a'),
            "Show all containers (default shows just running)",
        ),
        dflt(
            "last",
            Some('n'),
            "int",
            "Show n last created containers (includes all states)",
            "-1",
        ),
        val(
            "format",
            None,
            "string",
            "Format output using a custom template",
        ),
        val(
            "filter",
            Some('f'),
            "filter",
            "Filter output based on conditions provided",
        ),
    ];

    fn spec(arity: Arity) -> Spec {
        Spec {
            group: "container",
            name: "ls",
            aliases: &["list", "ps"],
            top: Some("ps"),
            usage: "[OPTIONS]",
            short: "List containers",
            long: "",
            opts: PS_OPTS,
            arity,
            stop_at_first: false,
            run_like: false,
            run: nop,
        }
    }

    fn p(arity: Arity, a: &[&str]) -> Result<Outcome, CliError> {
        parse(
            &spec(arity),
            "docker ps",
            &a.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
        )
    }

    fn status(r: Result<Outcome, CliError>) -> (String, u8) {
        match r {
            Err(CliError::Status(m, c)) => (m, c),
            _ => panic!("expected an error"),
        }
    }

    #[test]
    fn typed_values_fail_like_pflag() {
        let (m, c) = status(p(Arity::None, &["-n", "x"]));
        assert_eq!(c, 125);
        assert_eq!(
            m,
            "invalid argument \"x\" for \"-n, --last\" flag: strconv.ParseInt: parsing \"x\": invalid syntax\n\nUsage:  docker ps [OPTIONS]\n\nRun 'docker ps --help' for more information"
        );
        match p(Arity::None, &["-an", "3", "--format={{.ID}}"]) {
            Ok(Outcome::Run(x)) => {
                assert!(x.bool("all"));
                assert_eq!(x.int("last", -1), 3);
                assert_eq!(x.str("format"), "{{.ID}}");
            }
            _ => panic!(),
        }
        assert!(matches!(p(Arity::None, &["-h"]), Ok(Outcome::Help)));
    }

    #[test]
    fn counts_fail_like_cobra() {
        let (m, c) = status(p(Arity::None, &["x"]));
        assert_eq!(c, 1);
        assert!(m.starts_with(
            "docker: 'docker ps' accepts no arguments\n\nUsage:  docker ps [OPTIONS]\n\nRun "
        ));
        assert!(status(p(Arity::Min(1), &[])).0.contains(
            "requires at least 1 argument\n\nUsage:  docker ps [OPTIONS]\n\nSee 'docker ps --help'"
        ));
        assert!(status(p(Arity::Exact(2), &["a"]))
            .0
            .contains("requires 2 arguments"));
    }

    #[test]
    fn help_layout() {
        let h = help(&spec(Arity::None), "docker ps");
        assert!(h.starts_with("Usage:  docker ps [OPTIONS]\n\nList containers\n\nAliases:\n  docker container ls, docker container list, docker container ps, docker ps\n\nOptions:\n"));
        let t = flag_usages(PS_OPTS, 79);
        assert_eq!(
            t,
            "  -a, --all             Show all containers (default shows just running)\n\
             \x20 -f, --filter filter   Filter output based on conditions provided\n\
             \x20     --format string   Format output using a custom template\n\
             \x20 -n, --last int        Show n last created containers (includes all\n\
             \x20                       states) (default -1)\n"
        );
    }

    #[test]
    fn go_number_and_size_parsers() {
        assert_eq!(parse_go_int("0x10"), Some(16));
        assert_eq!(parse_go_int("-5"), Some(-5));
        assert_eq!(parse_go_int("1_000"), Some(1000));
        assert_eq!(parse_go_duration("1m30s"), Some(90_000_000_000));
        assert_eq!(parse_go_duration("1.5h"), Some(5_400_000_000_000));
        assert_eq!(parse_go_duration("10"), None);
        assert_eq!(parse_ram("512m"), Some(512 << 20));
        assert_eq!(parse_ram("1GiB"), Some(1 << 30));
        assert_eq!(parse_ram("100"), Some(100));
        assert_eq!(parse_ram("1x"), None);
    }
}
