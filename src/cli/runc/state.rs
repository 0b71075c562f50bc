//! `runc state`: the container's state as JSON.
use super::{print_json_indented, Arity, CmdResult, Command, Global, Opts};
use crate::runtime::entry;
use std::process::ExitCode;

pub const COMMAND: Command = Command {
    name: "state",
    summary: "output the state of a container",
    usage: "state <container-id>",
    flags: &[],
    arity: Arity::Exact(1),
    run,
};

fn run(g: &Global, o: &Opts) -> CmdResult {
    let s = entry::state(&g.root, &o.args[0])?;
    print_json_indented(&s)?;
    Ok(ExitCode::SUCCESS)
}
