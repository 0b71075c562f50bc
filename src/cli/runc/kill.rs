//! `runc kill`: signal the init (or, with --all, every process of the container).
use super::{switch, Arity, CmdResult, Command, Global, Opts};
use crate::runtime::entry;
use std::process::ExitCode;

pub const COMMAND: Command = Command {
    name: "kill",
    summary: "kill sends the specified signal (default: SIGTERM) to the container's init process",
    usage: "kill [command options] <container-id> [signal]",
    flags: &[switch(
        &["all", "a"],
        "send the specified signal to all processes inside the container",
    )],
    arity: Arity::Range(1, 2),
    run,
};

fn run(g: &Global, o: &Opts) -> CmdResult {
    let sig = o.args.get(1).map(String::as_str).unwrap_or("SIGTERM");
    entry::kill(&g.root, &o.args[0], sig, o.on("all"))?;
    Ok(ExitCode::SUCCESS)
}
