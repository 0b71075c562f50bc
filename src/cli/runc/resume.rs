//! `runc resume`: thaw a paused container.
use super::{Arity, CmdResult, Command, Global, Opts};
use crate::runtime::entry;
use std::process::ExitCode;

pub const COMMAND: Command = Command {
    name: "resume",
    summary: "resumes all processes that have been previously paused",
    usage: "resume <container-id>",
    flags: &[],
    arity: Arity::Exact(1),
    run,
};

fn run(g: &Global, o: &Opts) -> CmdResult {
    entry::resume(&g.root, &o.args[0])?;
    Ok(ExitCode::SUCCESS)
}
