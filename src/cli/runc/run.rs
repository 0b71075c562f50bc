//! `runc run`: create and start; in the foreground the exit code is the container's.
use super::create::{create_opts, CREATE_FLAGS};
use super::{switch, Arity, CmdResult, Command, Failure, Flag, Global, Opts};
use crate::runtime::entry;
use std::process::ExitCode;

const FLAGS: &[Flag] = &[
    CREATE_FLAGS[0],
    CREATE_FLAGS[1],
    CREATE_FLAGS[2],
    CREATE_FLAGS[3],
    CREATE_FLAGS[4],
    CREATE_FLAGS[5],
    switch(&["detach", "d"], "detach from the container's process"),
    switch(&["keep"], "do not delete the container after it exits"),
];

pub const COMMAND: Command = Command {
    name: "run",
    summary: "create and run a container",
    usage: "run [command options] <container-id>",
    flags: FLAGS,
    arity: Arity::Exact(1),
    run,
};

fn run(g: &Global, o: &Opts) -> CmdResult {
    let fail = |m: String| Failure::new(format!("runc run failed: {m}"));
    g.refuse_systemd().map_err(|f| fail(f.msg))?;
    let c = create_opts(o).map_err(|f| fail(f.msg))?;
    entry::seal_binary().map_err(|e| fail(e.to_string()))?;
    let code =
        entry::run(&g.root, &c, o.on("detach"), o.on("keep")).map_err(|e| fail(e.to_string()))?;
    Ok(ExitCode::from(code.clamp(0, 255) as u8))
}
