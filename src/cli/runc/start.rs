//! `runc start`: let a created container's init run the user's program.
use super::{Arity, CmdResult, Command, Global, Opts};
use crate::runtime::entry;
use std::process::ExitCode;

pub const COMMAND: Command = Command {
    name: "start",
    summary: "executes the user defined process in a created container",
    usage: "start <container-id>",
    flags: &[],
    arity: Arity::Exact(1),
    run,
};

fn run(g: &Global, o: &Opts) -> CmdResult {
    entry::start(&g.root, &o.args[0])?;
    Ok(ExitCode::SUCCESS)
}
