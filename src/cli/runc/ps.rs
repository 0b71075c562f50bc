//! `runc ps`: the container's processes, as the host's `ps` shows them (default `-ef`), or their
//! pids as JSON. Arguments after the container id go to `ps`.
use super::{option, Arity, CmdResult, Command, Failure, Global, Opts};
use crate::runtime::entry;
use std::io::Write;
use std::process::ExitCode;

pub const COMMAND: Command = Command {
    name: "ps",
    summary: "ps displays the processes running inside a container",
    usage: "ps [command options] <container-id> [ps options]",
    flags: &[option(
        &["format", "f"],
        "select one of: table or json (default: \"table\")",
    )],
    arity: Arity::Min(1),
    run,
};

fn run(g: &Global, o: &Opts) -> CmdResult {
    let pids = entry::ps(&g.root, &o.args[0])?;
    match o.get("format").unwrap_or("table") {
        "json" => {
            let s = serde_json::to_string(&pids).map_err(|e| Failure::new(e.to_string()))?;
            let _ = writeln!(std::io::stdout().lock(), "{s}");
            return Ok(ExitCode::SUCCESS);
        }
        "table" => {}
        _ => return Err(Failure::new("invalid format option")),
    }
    let mut ps_args: Vec<String> = o.args[1..].to_vec();
    if ps_args.is_empty() {
        ps_args.push("-ef".into());
    }
    let out = std::process::Command::new("ps")
        .args(&ps_args)
        .output()
        .map_err(|e| Failure::new(format!("exec: \"ps\": {e}")))?;
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    if !out.status.success() {
        let how = match out.status.code() {
            Some(c) => format!("exit status {c}"),
            None => "signal: killed".to_string(),
        };
        return Err(Failure::new(format!("{how}: {text}")));
    }
    let table = filter_table(&String::from_utf8_lossy(&out.stdout), &pids)?;
    let _ = std::io::stdout().lock().write_all(table.as_bytes());
    Ok(ExitCode::SUCCESS)
}

/// The header and the lines whose PID column is one of `pids`.
fn filter_table(text: &str, pids: &[i32]) -> Result<String, Failure> {
    let mut lines = text.lines();
    let header = lines.next().unwrap_or("");
    let col = header
        .split_whitespace()
        .position(|t| t == "PID")
        .ok_or_else(|| Failure::new("couldn't find PID field in ps output"))?;
    let mut out = format!("{header}\n");
    for line in lines.filter(|l| !l.is_empty()) {
        let field = line.split_whitespace().nth(col).unwrap_or("");
        let pid: i32 = field.parse().map_err(|_| {
            Failure::new(format!(
                "unable to parse pid: strconv.Atoi: parsing {field:?}: invalid syntax"
            ))
        })?;
        if pids.contains(&pid) {
            out.push_str(line);
            out.push('\n');
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_header_and_container_lines() {
        let t = "UID        PID  PPID  C STIME TTY          TIME CMD\nroot         1     0  0 10:00 ?        00:00:01 init\nroot       42     1  0 10:01 ?        00:00:00 sleep 9\n";
        assert_eq!(filter_table(t, &[42]).ok().unwrap(), "UID        PID  PPID  C STIME TTY          TIME CMD\nroot       42     1  0 10:01 ?        00:00:00 sleep 9\n");
        assert!(filter_table("USER COMMAND\nroot x\n", &[1]).is_err());
    }
}
