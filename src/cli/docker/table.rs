//! Docker's list formatting: a `--format` (or `table …`, `json`, a command default) applied to
//! every row, with a header row and tabwriter alignment for table formats.

use super::command::CliError;
use super::format::TabWriter;
use super::template::{Obj, Template, Val};

/// The format a list command uses: the flag, else the config file's default, else `table`.
pub fn choose(flag: &str, config_key: &str, dir: &std::path::Path) -> String {
    if !flag.is_empty() {
        return flag.to_string();
    }
    if let Ok(text) = std::fs::read(dir.join("config.json")) {
        if let Ok(serde_json::Value::Object(m)) = serde_json::from_slice::<serde_json::Value>(&text)
        {
            if let Some(f) = m
                .get(config_key)
                .and_then(|v| v.as_str())
                .filter(|f| !f.is_empty())
            {
                return f.to_string();
            }
        }
    }
    "table".to_string()
}

pub fn is_table(format: &str) -> bool {
    format.starts_with("table")
}

/// `preFormat`: strip `table`, `json` → `{{json .}}`, trim, and turn `\t`, `\n` escapes into
/// the characters.
fn pre_format(format: &str) -> String {
    let f = if let Some(rest) = format.strip_prefix("table") {
        rest
    } else if format == "json" {
        "{{json .}}"
    } else {
        format
    };
    f.trim_matches(' ')
        .replace("\\t", "\t")
        .replace("\\n", "\n")
}

pub fn parse(format: &str) -> Result<Template, CliError> {
    Template::parse(&pre_format(format))
        .map_err(|e| CliError::msg(format!("template parsing error: {e}")))
}

/// Render `rows` with `format`; `header` maps field names to column titles.
pub fn render(format: &str, header: &Obj, rows: &[Val]) -> Result<String, CliError> {
    let t = parse(format)?;
    let mut body = String::new();
    for r in rows {
        body.push_str(
            &t.execute(r)
                .map_err(|e| CliError::msg(format!("template parsing error: {e}")))?,
        );
        body.push('\n');
    }
    if !is_table(format) {
        return Ok(body);
    }
    let mut tw = TabWriter::default();
    // The header pass never fails the command: a failing field just leaves its title out.
    let h = t
        .execute_header(&Val::Obj(header.clone()))
        .unwrap_or_default();
    tw.write(&h);
    tw.write("\n");
    tw.write(&body);
    Ok(tw.finish())
}

/// A header map from (field, title) pairs.
pub fn header(pairs: &[(&str, &str)]) -> Obj {
    let mut o = Obj::map();
    for (k, v) in pairs {
        o.fields.push((k.to_string(), Val::Str(v.to_string())));
    }
    o
}

/// Docker's `filters` query value from `-f key=value` flags: `{"key":{"value":true}}`.
pub fn filters_json(flags: &[String]) -> Result<String, CliError> {
    let mut m: std::collections::BTreeMap<String, std::collections::BTreeMap<String, bool>> =
        Default::default();
    for f in flags {
        let Some((k, v)) = f.split_once('=') else {
            return Err(CliError::Status(format!("invalid argument \"{f}\" for \"-f, --filter\" flag: bad format of filter (expected name=value)"), 125));
        };
        m.entry(k.trim().to_lowercase())
            .or_default()
            .insert(v.to_string(), true);
    }
    if m.is_empty() {
        return Ok(String::new());
    }
    serde_json::to_string(&m).map_err(|e| CliError::msg(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: &str, name: &str) -> Val {
        Val::Obj(Obj::structure().with("ID", id).with("Names", name))
    }

    #[test]
    fn tables_get_headers_and_alignment() {
        let h = header(&[("ID", "CONTAINER ID"), ("Names", "NAMES")]);
        let out = render(
            "table {{.ID}}\\t{{.Names}}",
            &h,
            &[row("abc", "web"), row("abcdef123456", "db")],
        )
        .unwrap();
        assert_eq!(
            out,
            "CONTAINER ID   NAMES\nabc            web\nabcdef123456   db\n"
        );
        let out = render("{{.Names}}", &h, &[row("a", "x"), row("b", "y")]).unwrap();
        assert_eq!(out, "x\ny\n");
        let out = render("table {{.ID}}", &h, &[]).unwrap();
        assert_eq!(out, "CONTAINER ID\n");
        let out = render("json", &h, &[row("a", "x")]).unwrap();
        assert_eq!(out, "{\"ID\":\"a\",\"Names\":\"x\"}\n");
        assert!(
            matches!(render("{{.X", &h, &[]), Err(CliError::Status(m, 1)) if m.starts_with("template parsing error: "))
        );
    }

    #[test]
    fn filters_encode_like_docker() {
        assert_eq!(
            filters_json(&[
                "status=exited".into(),
                "name=a".into(),
                "status=created".into()
            ])
            .unwrap(),
            r#"{"name":{"a":true},"status":{"created":true,"exited":true}}"#
        );
        assert_eq!(filters_json(&[]).unwrap(), "");
        assert!(filters_json(&["nope".into()]).is_err());
    }
}
