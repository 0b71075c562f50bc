//! `inspect` for every object type: the daemon's JSON printed as an indented array (Go's
//! `json.Indent` of the raw bodies, so field order is the daemon's), compact with `json`, or
//! through a `--format` template; errors collected per reference.

use super::command::{sw, val, Arity, CliError, Opt, Parsed, Spec};
use super::template::{Template, Val};
use super::{block, out, Ctx};
use crate::api::client::path_escape;
use crate::api::client::Query;

pub const INSPECT_FORMAT_HELP: &str = "Format output using a custom template:\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template.\nRefer to https://docs.docker.com/go/formatting/ for more information about formatting output with templates";

const OPTS: &[Opt] = &[
    val("format", Some('f'), "string", INSPECT_FORMAT_HELP),
    sw(
        "size",
        Some('s'),
        "Display total file sizes if the type is container",
    ),
    val(
        "type",
        None,
        "string",
        "Only inspect objects of the given type",
    ),
];

pub const SPECS: &[Spec] = &[Spec {
    group: "",
    name: "inspect",
    aliases: &[],
    top: None,
    usage: "[OPTIONS] NAME|ID [NAME|ID...]",
    short: "Return low-level information on Docker objects",
    long: "",
    opts: OPTS,
    arity: Arity::Min(1),
    stop_at_first: false,
    run_like: false,
    run: inspect,
}];

/// Go's `json.Indent(dst, src, "", "    ")`: whitespace between tokens dropped, one member per
/// line, empty objects and arrays kept as `{}` / `[]`.
pub fn indent(src: &[u8]) -> String {
    let mut out = Vec::with_capacity(src.len() * 2);
    let mut depth = 0usize;
    let mut in_str = false;
    let mut esc = false;
    let mut need_indent = false;
    let newline = |out: &mut Vec<u8>, depth: usize| {
        out.push(b'\n');
        for _ in 0..depth {
            out.extend_from_slice(b"    ");
        }
    };
    for &c in src {
        if in_str {
            out.push(c);
            if esc {
                esc = false;
            } else if c == b'\\' {
                esc = true;
            } else if c == b'"' {
                in_str = false;
            }
            continue;
        }
        if c.is_ascii_whitespace() {
            continue;
        }
        if need_indent && c != b']' && c != b'}' {
            need_indent = false;
            depth += 1;
            newline(&mut out, depth);
        }
        match c {
            b'"' => {
                in_str = true;
                out.push(c);
            }
            b'{' | b'[' => {
                out.push(c);
                need_indent = true;
            }
            b',' => {
                out.push(c);
                newline(&mut out, depth);
            }
            b':' => out.extend_from_slice(b": "),
            b'}' | b']' => {
                if need_indent {
                    need_indent = false;
                } else {
                    depth = depth.saturating_sub(1);
                    newline(&mut out, depth);
                }
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Remove insignificant whitespace (Go's `json.Compact`).
pub fn compact(src: &[u8]) -> String {
    let mut out = Vec::with_capacity(src.len());
    let mut in_str = false;
    let mut esc = false;
    for &c in src {
        if in_str {
            out.push(c);
            if esc {
                esc = false;
            } else if c == b'\\' {
                esc = true;
            } else if c == b'"' {
                in_str = false;
            }
            continue;
        }
        if c.is_ascii_whitespace() {
            continue;
        }
        if c == b'"' {
            in_str = true;
        }
        out.push(c);
    }
    String::from_utf8_lossy(&out).into_owned()
}

enum Mode {
    Indented,
    Compact,
    Template(Template),
}

/// Inspect each reference with `get` (the raw JSON body of one object) and print the result as
/// the CLI's inspectors do. Template errors exit 64, lookup errors 1 (all of them, joined).
pub fn run_inspect(
    format: &str,
    refs: &[String],
    mut get: impl FnMut(&str) -> Result<Vec<u8>, String>,
) -> Result<(), CliError> {
    let mode = match format {
        "" => Mode::Indented,
        "json" => Mode::Compact,
        f => Mode::Template(
            Template::parse(f)
                .map_err(|e| CliError::Status(format!("template parsing error: {e}"), 64))?,
        ),
    };
    let mut errs = Vec::new();
    let mut raws = Vec::new();
    let mut text = String::new();
    for r in refs {
        match get(r) {
            Ok(raw) => match &mode {
                Mode::Template(t) => {
                    let v = Val::parse_json(&raw)
                        .map_err(|e| CliError::msg(format!("unable to read inspect data: {e}")))?;
                    match t.execute(&v) {
                        Ok(s) => {
                            text.push_str(&s);
                            text.push('\n');
                        }
                        Err(e) => errs.push(format!("template parsing error: {e}")),
                    }
                }
                _ => raws.push(raw),
            },
            Err(e) => errs.push(e),
        }
    }
    match mode {
        Mode::Template(_) => out(if text.is_empty() { "\n" } else { &text }),
        _ if raws.is_empty() => out("[]\n"),
        _ => {
            let mut all = b"[".to_vec();
            for (i, r) in raws.iter().enumerate() {
                if i > 0 {
                    all.push(b',');
                }
                all.extend_from_slice(r);
            }
            all.push(b']');
            let s = if matches!(mode, Mode::Indented) {
                indent(&all)
            } else {
                compact(&all)
            };
            out(&s);
            out("\n");
        }
    }
    if !errs.is_empty() {
        return Err(CliError::Status(errs.join("\n"), 1));
    }
    Ok(())
}

const TYPES: &[&str] = &[
    "config",
    "container",
    "image",
    "network",
    "node",
    "plugin",
    "secret",
    "service",
    "task",
    "volume",
];

fn inspect(ctx: &mut Ctx, p: &Parsed) -> Result<(), CliError> {
    let ty = p.str("type");
    if !ty.is_empty() && !TYPES.contains(&ty.as_str()) {
        return Err(CliError::msg(format!(
            "unknown type: \"{ty}\": must be one of {}",
            TYPES
                .iter()
                .map(|t| format!("\"{t}\""))
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let size = p.bool("size");
    let api = ctx.api()?;
    run_inspect(&p.str("format"), &p.args, |r| {
        let e = path_escape(r);
        let tries: Vec<(&str, String, Query)> = vec![
            (
                "container",
                format!("/containers/{e}/json"),
                Query::new().flag("size", size),
            ),
            ("image", format!("/images/{e}/json"), Query::new()),
            ("network", format!("/networks/{e}"), Query::new()),
            ("volume", format!("/volumes/{e}"), Query::new()),
        ];
        for (kind, path, q) in tries {
            if !ty.is_empty() && ty != kind {
                continue;
            }
            match block(api.get_raw(&path, &q)) {
                Ok(raw) => return Ok(raw),
                Err(err) if err.is_not_found() || err.status() == Some(400) => {
                    if !ty.is_empty() {
                        return Err(err.to_string());
                    }
                }
                Err(err) => return Err(err.to_string()),
            }
        }
        if ty.is_empty() {
            Err(format!("Error: No such object: {r}"))
        } else {
            Err(format!("Error: No such {ty}: {r}"))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indents_like_go() {
        let src = br#"[{"Id":"a b","Empty":{},"List":[],"N":[1,2],"S":"x,{y}:\"z\""}
,{"A":null}]"#;
        assert_eq!(
            indent(src),
            "[\n    {\n        \"Id\": \"a b\",\n        \"Empty\": {},\n        \"List\": [],\n        \"N\": [\n            1,\n            2\n        ],\n        \"S\": \"x,{y}:\\\"z\\\"\"\n    },\n    {\n        \"A\": null\n    }\n]"
        );
        assert_eq!(
            compact(b"{ \"a\" : [ 1 , \"x y\" ] }\n"),
            "{\"a\":[1,\"x y\"]}"
        );
        assert_eq!(indent(b"[]"), "[]");
    }
}
