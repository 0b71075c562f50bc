//! `runc delete`: remove a stopped (or, with --force, any) container.
use super::{switch, Arity, CmdResult, Command, Global, Opts};
use crate::runtime::entry;
use std::process::ExitCode;

pub const COMMAND: Command = Command {
    name: "delete",
    summary: "delete any resources held by the container often used with detached container",
    usage: "delete [command options] <container-id>",
    flags: &[switch(
        &["force", "f"],
        "Forcibly deletes the container if it is still running (uses SIGKILL)",
    )],
    arity: Arity::Exact(1),
    run,
};

fn run(g: &Global, o: &Opts) -> CmdResult {
    entry::delete(&g.root, &o.args[0], o.on("force"))?;
    Ok(ExitCode::SUCCESS)
}
