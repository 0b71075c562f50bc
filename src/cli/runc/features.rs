//! `runc features`: the OCI runtime-spec features document (dockerd and containerd read it).
use super::{Arity, CmdResult, Command, Failure, Global, Opts};
use crate::runtime::entry;
use serde::Serialize;
use std::io::Write;
use std::process::ExitCode;

pub const COMMAND: Command = Command {
    name: "features",
    summary: "show the enabled features",
    usage: "features",
    flags: &[],
    arity: Arity::None,
    run,
};

fn run(_g: &Global, _o: &Opts) -> CmdResult {
    // runc's encoder: four-space indent and a final newline.
    let mut buf = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(
        &mut buf,
        serde_json::ser::PrettyFormatter::with_indent(b"    "),
    );
    entry::features()
        .serialize(&mut ser)
        .map_err(|e| Failure::new(e.to_string()))?;
    buf.push(b'\n');
    let _ = std::io::stdout().lock().write_all(&buf);
    Ok(ExitCode::SUCCESS)
}
