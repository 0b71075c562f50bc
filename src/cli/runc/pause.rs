//! `runc pause`: freeze every process of the container.
use super::{Arity, CmdResult, Command, Global, Opts};
use crate::runtime::entry;
use std::process::ExitCode;

pub const COMMAND: Command = Command {
    name: "pause",
    summary: "pause suspends all processes inside the container",
    usage: "pause <container-id>",
    flags: &[],
    arity: Arity::Exact(1),
    run,
};

fn run(g: &Global, o: &Opts) -> CmdResult {
    entry::pause(&g.root, &o.args[0])?;
    Ok(ExitCode::SUCCESS)
}
