//! `runc list`: the containers under --root, as runc's table or JSON.
use super::{option, switch, Arity, CmdResult, Command, Failure, Global, Opts};
use crate::runtime::entry::{self, StateView};
use std::io::Write;
use std::process::ExitCode;

pub const COMMAND: Command = Command {
    name: "list",
    summary: "lists containers started by runc with the given root",
    usage: "list [command options]",
    flags: &[
        option(
            &["format", "f"],
            "select one of: table or json (default: \"table\")",
        ),
        switch(&["quiet", "q"], "display only container IDs"),
    ],
    arity: Arity::None,
    run,
};

fn run(g: &Global, o: &Opts) -> CmdResult {
    let list = entry::list(&g.root)?;
    let mut out = std::io::stdout().lock();
    if o.on("quiet") {
        for s in &list {
            let _ = writeln!(out, "{}", s.id);
        }
        return Ok(ExitCode::SUCCESS);
    }
    match o.get("format").unwrap_or("table") {
        "table" => {
            let _ = out.write_all(table(&list).as_bytes());
        }
        "json" => {
            // runc prints `null` for no containers (a nil Go slice).
            let s = if list.is_empty() {
                "null".to_string()
            } else {
                serde_json::to_string(&list).map_err(|e| Failure::new(e.to_string()))?
            };
            let _ = writeln!(out, "{s}");
        }
        other => return Err(Failure::new(format!("invalid format option: {other}"))),
    }
    Ok(ExitCode::SUCCESS)
}

/// Go's tabwriter as runc sets it up (minwidth 12, padding 3, spaces): every column but the
/// last is as wide as its widest cell plus 3, at least 12.
pub fn table(list: &[StateView]) -> String {
    let mut rows: Vec<[String; 6]> =
        vec![["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"].map(String::from)];
    for s in list {
        rows.push([
            s.id.clone(),
            s.pid.to_string(),
            s.status.clone(),
            s.bundle.clone(),
            s.created.clone(),
            s.owner.clone(),
        ]);
    }
    let mut width = [0usize; 5];
    for r in &rows {
        for (w, cell) in width.iter_mut().zip(r.iter()) {
            *w = (*w).max(cell.chars().count() + 3).max(12);
        }
    }
    let mut out = String::new();
    for r in &rows {
        for (i, cell) in r.iter().enumerate() {
            if i < 5 {
                out.push_str(&format!("{cell:<w$}", w = width[i]));
            } else {
                out.push_str(cell);
            }
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_matches_runc_layout() {
        assert_eq!(
            table(&[]),
            "ID          PID         STATUS      BUNDLE      CREATED     OWNER\n"
        );
        let s = StateView {
            oci_version: "1".into(),
            id: "c1".into(),
            pid: 16307,
            status: "created".into(),
            bundle: "/tmp/rx/b".into(),
            rootfs: "/tmp/rx/b/rootfs".into(),
            created: "2026-11-23T13:02:15.130405323Z".into(),
            annotations: Default::default(),
            owner: "root".into(),
        };
        assert_eq!(
            table(&[s]),
            "ID          PID         STATUS      BUNDLE      CREATED                          OWNER\n\
             c1          16307       created     /tmp/rx/b   2026-11-23T13:02:15.130405323Z   root\n"
        );
    }
}
