//! `runc spec`: write a default config.json.
use super::{option, switch, Arity, CmdResult, Command, Global, Opts};
use crate::runtime::entry;
use std::path::PathBuf;
use std::process::ExitCode;

pub const COMMAND: Command = Command {
    name: "spec",
    summary: "create a new specification file",
    usage: "spec [command options] [arguments...]",
    flags: &[
        option(&["bundle", "b"], "path to the root of the bundle directory"),
        switch(
            &["rootless"],
            "generate a configuration for a rootless container",
        ),
    ],
    arity: Arity::None,
    run,
};

fn run(_g: &Global, o: &Opts) -> CmdResult {
    let bundle = o.path("bundle").unwrap_or_else(|| PathBuf::from("."));
    entry::spec(&bundle, o.on("rootless"))?;
    Ok(ExitCode::SUCCESS)
}
