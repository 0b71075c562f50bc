//! `docker import --change` / `docker commit --change`: the Dockerfile instructions that only
//! touch the image config (CMD, ENTRYPOINT, ENV, EXPOSE, HEALTHCHECK, LABEL, ONBUILD,
//! STOPSIGNAL, USER, VOLUME, WORKDIR), applied to a container config as Docker's
//! BuildFromConfig does, with its error wording.

use crate::base::{Error, Result};
use crate::oci::image::ContainerConfig;
use std::collections::BTreeMap;

const VALID: &[&str] = &[
    "cmd",
    "entrypoint",
    "healthcheck",
    "env",
    "expose",
    "label",
    "onbuild",
    "stopsignal",
    "user",
    "volume",
    "workdir",
];

/// Apply `changes` (one instruction each) to `cfg`.
pub fn apply_changes(cfg: &mut ContainerConfig, changes: &[String]) -> Result<()> {
    // Docker joins the changes into one Dockerfile; a change may itself hold several lines.
    let lines: Vec<String> = join_continuations(&changes.join("\n"));
    let mut parsed = Vec::new();
    for line in &lines {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (instr, rest) = match line.split_once(char::is_whitespace) {
            Some((a, b)) => (a.to_ascii_lowercase(), b.trim().to_string()),
            None => (line.to_ascii_lowercase(), String::new()),
        };
        if !VALID.contains(&instr.as_str()) {
            return Err(Error::invalid(format!(
                "{instr} is not a valid change command"
            )));
        }
        parsed.push((instr, rest));
    }
    let mut cmd_set = false;
    for (instr, rest) in parsed {
        let env = cfg.env.clone().unwrap_or_default();
        match instr.as_str() {
            "cmd" => {
                cfg.cmd = Some(cmd_line(&rest, cfg)?);
                cfg.args_escaped = false;
                if !rest.is_empty() {
                    cmd_set = true;
                }
            }
            "entrypoint" => {
                cfg.entrypoint = Some(cmd_line(&rest, cfg)?);
                cfg.args_escaped = false;
                if !cmd_set {
                    cfg.cmd = None;
                }
            }
            "env" => {
                let pairs = name_values("ENV", &rest, &env)?;
                let mut vars = cfg.env.take().unwrap_or_default();
                for (k, v) in pairs {
                    let nv = format!("{k}={v}");
                    match vars
                        .iter_mut()
                        .find(|e| e.split('=').next() == Some(k.as_str()))
                    {
                        Some(e) => *e = nv,
                        None => vars.push(nv),
                    }
                }
                cfg.env = Some(vars);
            }
            "label" => {
                let pairs = name_values("LABEL", &rest, &env)?;
                let labels = cfg.labels.get_or_insert_with(BTreeMap::new);
                for (k, v) in pairs {
                    labels.insert(k, v);
                }
            }
            "expose" => {
                if rest.is_empty() {
                    return Err(Error::invalid("EXPOSE requires at least one argument"));
                }
                let ports = cfg.exposed_ports.get_or_insert_with(BTreeMap::new);
                for w in words(&rest, &env)? {
                    for p in port_specs(&w)? {
                        ports.insert(p, serde_json::json!({}));
                    }
                }
            }
            "user" => {
                let w = words(&rest, &env)?;
                if w.len() != 1 {
                    return Err(Error::invalid("USER requires exactly one argument"));
                }
                cfg.user = w[0].clone();
            }
            "workdir" => {
                let w = words(&rest, &env)?;
                if w.len() != 1 {
                    return Err(Error::invalid("WORKDIR requires exactly one argument"));
                }
                let req = &w[0];
                cfg.working_dir = if req.starts_with('/') {
                    req.clone()
                } else {
                    clean_join(&["/", &cfg.working_dir, req])
                };
            }
            "volume" => {
                let vols = match json_array(&rest) {
                    Some(v) => v,
                    None => words(&rest, &env)?,
                };
                if vols.is_empty() {
                    return Err(Error::invalid("VOLUME requires at least one argument"));
                }
                let m = cfg.volumes.get_or_insert_with(BTreeMap::new);
                for v in vols {
                    if v.trim().is_empty() {
                        return Err(Error::invalid(
                            "VOLUME specified can not be an empty string",
                        ));
                    }
                    m.insert(v, serde_json::json!({}));
                }
            }
            "stopsignal" => {
                let w = words(&rest, &env)?;
                if w.len() != 1 {
                    return Err(Error::invalid("STOPSIGNAL requires exactly one argument"));
                }
                if !valid_signal(&w[0]) {
                    return Err(Error::invalid(format!("Invalid signal: {}", w[0])));
                }
                cfg.stop_signal = w[0].clone();
            }
            "onbuild" => {
                let (trigger, _) = rest
                    .split_once(char::is_whitespace)
                    .unwrap_or((rest.as_str(), ""));
                let t = trigger.to_ascii_uppercase();
                if t.is_empty() {
                    return Err(Error::invalid("ONBUILD requires at least one argument"));
                }
                match t.as_str() {
                    "ONBUILD" => {
                        return Err(Error::invalid(
                            "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed",
                        ))
                    }
                    "MAINTAINER" | "FROM" => {
                        return Err(Error::invalid(format!(
                            "{t} isn't allowed as an ONBUILD trigger"
                        )))
                    }
                    _ => {}
                }
                cfg.on_build.get_or_insert_with(Vec::new).push(rest.clone());
            }
            "healthcheck" => cfg.healthcheck = Some(healthcheck(&rest)?),
            _ => unreachable_instr(&instr)?,
        }
    }
    Ok(())
}

fn unreachable_instr(i: &str) -> Result<()> {
    Err(Error::invalid(format!("{i} is not a valid change command")))
}

fn join_continuations(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for line in s.lines() {
        if let Some(x) = line.strip_suffix('\\') {
            cur.push_str(x);
            continue;
        }
        cur.push_str(line);
        out.push(std::mem::take(&mut cur));
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Exec form (`["a","b"]`) or shell form (`/bin/sh -c "<line>"`, or the image's SHELL).
fn cmd_line(rest: &str, cfg: &ContainerConfig) -> Result<Vec<String>> {
    if let Some(v) = json_array(rest) {
        return Ok(v);
    }
    if rest.is_empty() {
        return Ok(Vec::new());
    }
    let mut shell = cfg
        .shell
        .clone()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| vec!["/bin/sh".into(), "-c".into()]);
    shell.push(rest.to_string());
    Ok(shell)
}

fn json_array(s: &str) -> Option<Vec<String>> {
    let t = s.trim();
    if !t.starts_with('[') {
        return None;
    }
    serde_json::from_str::<Vec<String>>(t).ok()
}

/// Shell-like words: quotes removed, backslash escapes, `$VAR` and `${VAR}` expanded from `env`.
fn words(s: &str, env: &[String]) -> Result<Vec<String>> {
    let lookup = |name: &str| {
        env.iter().rev().find_map(|e| {
            e.split_once('=')
                .filter(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        })
    };
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    let mut quote: Option<char> = None;
    while i < chars.len() {
        let c = chars[i];
        match (quote, c) {
            (None, c) if c.is_whitespace() => {
                if in_word {
                    out.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            (None, '\'') | (None, '"') => {
                quote = Some(c);
                in_word = true;
            }
            (Some(q), c) if c == q => quote = None,
            (Some('\''), c) => cur.push(c),
            (_, '\\') if i + 1 < chars.len() => {
                i += 1;
                cur.push(chars[i]);
                in_word = true;
            }
            (_, '$')
                if i + 1 < chars.len()
                    && (chars[i + 1] == '{'
                        || chars[i + 1].is_alphanumeric()
                        || chars[i + 1] == '_') =>
            {
                in_word = true;
                if chars[i + 1] == '{' {
                    let end = chars[i + 2..]
                        .iter()
                        .position(|x| *x == '}')
                        .ok_or_else(|| {
                            Error::invalid(format!("failed to process {s:?}: missing '}}'"))
                        })?;
                    let inner: String = chars[i + 2..i + 2 + end].iter().collect();
                    let (name, default) = match inner.split_once(":-") {
                        Some((n, d)) => (n.to_string(), Some(d.to_string())),
                        None => (inner.clone(), None),
                    };
                    cur.push_str(
                        &lookup(&name)
                            .filter(|v| !v.is_empty() || default.is_none())
                            .or(default)
                            .unwrap_or_default(),
                    );
                    i += 2 + end;
                } else {
                    let name: String = chars[i + 1..]
                        .iter()
                        .take_while(|x| x.is_alphanumeric() || **x == '_')
                        .collect();
                    cur.push_str(&lookup(&name).unwrap_or_default());
                    i += name.chars().count();
                }
            }
            (_, c) => {
                cur.push(c);
                in_word = true;
            }
        }
        i += 1;
    }
    if quote.is_some() {
        return Err(Error::invalid(format!(
            "failed to process {s:?}: unexpected end of statement while looking for matching {}",
            quote.unwrap_or('"')
        )));
    }
    if in_word {
        out.push(cur);
    }
    Ok(out)
}

/// ENV/LABEL arguments: `k=v k2="v 2"`, or the legacy `k value with spaces`.
fn name_values(instr: &str, rest: &str, env: &[String]) -> Result<Vec<(String, String)>> {
    let ws = words(rest, env)?;
    if ws.is_empty() {
        return Err(Error::invalid(format!(
            "{instr} requires at least one argument"
        )));
    }
    if !ws[0].contains('=') {
        if ws.len() < 2 {
            return Err(Error::invalid(format!("{instr} must have two arguments")));
        }
        return Ok(vec![(ws[0].clone(), ws[1..].join(" "))]);
    }
    let mut out = Vec::new();
    for w in ws {
        let (k, v) = w.split_once('=').ok_or_else(|| {
            Error::invalid(format!(
                "Syntax error - can't find = in {w:?}. Must be of the form: name=value"
            ))
        })?;
        if k.is_empty() {
            return Err(Error::invalid(format!("{instr} names can not be blank")));
        }
        out.push((k.to_string(), v.to_string()));
    }
    Ok(out)
}

/// `80`, `80/udp`, `8000-8002/tcp` → `80/tcp`, ... (nat.ParsePortSpecs for EXPOSE).
fn port_specs(spec: &str) -> Result<Vec<String>> {
    let bad = || Error::invalid(format!("invalid containerPort: {spec}"));
    let (ports, proto) = match spec.split_once('/') {
        Some((p, pr)) => (p, pr.to_ascii_lowercase()),
        None => (spec, "tcp".to_string()),
    };
    if !matches!(proto.as_str(), "tcp" | "udp" | "sctp") {
        return Err(Error::invalid(format!("invalid proto: {proto}")));
    }
    let (lo, hi) = match ports.split_once('-') {
        Some((a, b)) => (
            a.parse::<u16>().map_err(|_| bad())?,
            b.parse::<u16>().map_err(|_| bad())?,
        ),
        None => {
            let p = ports.parse::<u16>().map_err(|_| bad())?;
            (p, p)
        }
    };
    if hi < lo {
        return Err(bad());
    }
    Ok((lo..=hi).map(|p| format!("{p}/{proto}")).collect())
}

fn valid_signal(s: &str) -> bool {
    const NAMES: &[&str] = &[
        "ABRT", "ALRM", "BUS", "CHLD", "CLD", "CONT", "FPE", "HUP", "ILL", "INT", "IO", "IOT",
        "KILL", "PIPE", "POLL", "PROF", "PWR", "QUIT", "SEGV", "STKFLT", "STOP", "SYS", "TERM",
        "TRAP", "TSTP", "TTIN", "TTOU", "URG", "USR1", "USR2", "VTALRM", "WINCH", "XCPU", "XFSZ",
    ];
    if let Ok(n) = s.parse::<u32>() {
        return n > 0 && n < 65;
    }
    let u = s.to_ascii_uppercase();
    let name = u.strip_prefix("SIG").unwrap_or(&u);
    if let Some(rt) = name.strip_prefix("RTMIN") {
        return rt.is_empty()
            || rt
                .strip_prefix('+')
                .and_then(|x| x.parse::<u32>().ok())
                .is_some_and(|x| x <= 15);
    }
    if let Some(rt) = name.strip_prefix("RTMAX") {
        return rt.is_empty()
            || rt
                .strip_prefix('-')
                .and_then(|x| x.parse::<u32>().ok())
                .is_some_and(|x| x <= 14);
    }
    NAMES.contains(&name)
}

fn clean_join(parts: &[&str]) -> String {
    let mut comps: Vec<&str> = Vec::new();
    for p in parts {
        for c in p.split('/') {
            match c {
                "" | "." => {}
                ".." => {
                    comps.pop();
                }
                c => comps.push(c),
            }
        }
    }
    format!("/{}", comps.join("/"))
}

/// HEALTHCHECK [--interval=D] [--timeout=D] [--start-period=D] [--start-interval=D]
/// [--retries=N] CMD ... | NONE
fn healthcheck(rest: &str) -> Result<serde_json::Value> {
    let mut rest = rest.trim();
    let mut m = serde_json::Map::new();
    while let Some(flag) = rest.strip_prefix("--") {
        let (f, tail) = flag.split_once(char::is_whitespace).unwrap_or((flag, ""));
        let (name, val) = f
            .split_once('=')
            .ok_or_else(|| Error::invalid(format!("missing a value on flag: --{f}")))?;
        let key = match name {
            "interval" => "Interval",
            "timeout" => "Timeout",
            "start-period" => "StartPeriod",
            "start-interval" => "StartInterval",
            "retries" => "Retries",
            other => return Err(Error::invalid(format!("Unknown flag: {other}"))),
        };
        if key == "Retries" {
            let n: i64 = val
                .parse()
                .map_err(|_| Error::invalid(format!("invalid retries {val:?}")))?;
            if n > 0 {
                m.insert(key.into(), serde_json::json!(n));
            }
        } else {
            let secs = go_duration_nanos(val)
                .ok_or_else(|| Error::invalid(format!("time: invalid duration \"{val}\"")))?;
            if secs > 0 {
                m.insert(key.into(), serde_json::json!(secs));
            }
        }
        rest = tail.trim_start();
    }
    let (kind, args) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    let test = match kind.to_ascii_uppercase().as_str() {
        "NONE" => {
            if !args.trim().is_empty() {
                return Err(Error::invalid("HEALTHCHECK NONE takes no arguments"));
            }
            return Ok(serde_json::json!({"Test": ["NONE"]}));
        }
        "CMD" => match json_array(args) {
            Some(v) => {
                let mut t = vec!["CMD".to_string()];
                t.extend(v);
                t
            }
            None => vec!["CMD-SHELL".to_string(), args.trim().to_string()],
        },
        other => {
            return Err(Error::invalid(format!(
                "Unknown type {other:?} in HEALTHCHECK (try CMD)"
            )))
        }
    };
    let mut out = serde_json::Map::new();
    out.insert("Test".into(), serde_json::json!(test));
    out.extend(m);
    Ok(serde_json::Value::Object(out))
}

fn go_duration_nanos(s: &str) -> Option<i64> {
    let mut total = 0f64;
    let mut rest = s;
    while !rest.is_empty() {
        let n = rest.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
        let val: f64 = rest[..n].parse().ok()?;
        rest = &rest[n..];
        let u = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let mult = match &rest[..u] {
            "ns" => 1.0,
            "us" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        total += val * mult;
        rest = &rest[u..];
    }
    Some(total as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(changes: &[&str]) -> Result<ContainerConfig> {
        let mut c = ContainerConfig::default();
        apply_changes(
            &mut c,
            &changes.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
        )?;
        Ok(c)
    }

    #[test]
    fn every_change_command() {
        let c = cfg(&[
            r#"CMD ["sh", "-c", "echo hi"]"#,
            "ENV A=1 B=\"two words\"",
            "ENV C three four",
            "ENV A=replaced",
            "WORKDIR /app",
            "WORKDIR sub/../x",
            "ENTRYPOINT /bin/entry --flag",
            "EXPOSE 80 443/udp 8000-8001",
            "LABEL a=b \"c d\"=e",
            "USER nobody",
            r#"VOLUME ["/data", "/logs"]"#,
            "VOLUME /more",
            "STOPSIGNAL SIGQUIT",
            "ONBUILD RUN echo built",
            "HEALTHCHECK --interval=5s --retries=3 CMD curl -f http://localhost/",
        ])
        .unwrap();
        assert_eq!(
            c.cmd.as_deref().unwrap(),
            ["sh", "-c", "echo hi"],
            "CMD set before ENTRYPOINT is kept"
        );
        assert_eq!(
            c.entrypoint.as_deref().unwrap(),
            ["/bin/sh", "-c", "/bin/entry --flag"]
        );
        assert_eq!(
            c.env.as_deref().unwrap(),
            ["A=replaced", "B=two words", "C=three four"]
        );
        assert_eq!(c.working_dir, "/app/x");
        let ports: Vec<&String> = c.exposed_ports.as_ref().unwrap().keys().collect();
        assert_eq!(ports, ["443/udp", "80/tcp", "8000/tcp", "8001/tcp"]);
        assert_eq!(c.labels.as_ref().unwrap()["c d"], "e");
        assert_eq!(c.user, "nobody");
        assert_eq!(c.volumes.as_ref().unwrap().len(), 3);
        assert_eq!(c.stop_signal, "SIGQUIT");
        assert_eq!(c.on_build.as_deref().unwrap(), ["RUN echo built"]);
        let h = c.healthcheck.unwrap();
        assert_eq!(
            h["Test"],
            serde_json::json!(["CMD-SHELL", "curl -f http://localhost/"])
        );
        assert_eq!(h["Interval"], 5_000_000_000i64);
        assert_eq!(h["Retries"], 3);
    }

    #[test]
    fn entrypoint_resets_unset_cmd_and_errors_match_docker() {
        let c = cfg(&["ENTRYPOINT [\"/e\"]"]).unwrap();
        assert_eq!(c.cmd, None);
        assert_eq!(
            cfg(&["RUN echo"]).unwrap_err().to_string(),
            "run is not a valid change command"
        );
        assert_eq!(
            cfg(&["FROM x"]).unwrap_err().to_string(),
            "from is not a valid change command"
        );
        assert_eq!(
            cfg(&["STOPSIGNAL SIGNOPE"]).unwrap_err().to_string(),
            "Invalid signal: SIGNOPE"
        );
        assert!(cfg(&["ONBUILD ONBUILD RUN x"]).is_err());
        assert!(cfg(&["EXPOSE 99999"]).is_err());
        let c = cfg(&["ENV HOME=/root", "WORKDIR $HOME/app", "USER ${NOPE:-1000}"]).unwrap();
        assert_eq!(c.working_dir, "/root/app");
        assert_eq!(c.user, "1000");
    }
}
