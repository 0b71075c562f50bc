//! `runc create`: create a container whose init waits for `start`.
use super::{option, switch, Arity, CmdResult, Command, Failure, Flag, Global, Opts};
use crate::runtime::entry;
use std::path::PathBuf;
use std::process::ExitCode;

pub const CREATE_FLAGS: &[Flag] = &[
    option(&["bundle", "b"], "path to the root of the bundle directory, defaults to the current directory"),
    option(&["console-socket"], "path to an AF_UNIX socket which will receive a file descriptor referencing the master end of the console's pseudoterminal"),
    option(&["pid-file"], "specify the file to write the process id to"),
    switch(&["no-pivot"], "do not use pivot root to jail process inside rootfs"),
    switch(&["no-new-keyring"], "do not create a new session keyring for the container"),
    option(&["preserve-fds"], "Pass N additional file descriptors to the container (stdio + $LISTEN_FDS + N in total)"),
];

pub const COMMAND: Command = Command {
    name: "create",
    summary: "create a container",
    usage: "create [command options] <container-id>",
    flags: CREATE_FLAGS,
    arity: Arity::Exact(1),
    run,
};

/// The options shared by create and run.
pub fn create_opts(o: &Opts) -> Result<entry::CreateOpts, Failure> {
    Ok(entry::CreateOpts {
        id: o.args[0].clone(),
        bundle: o.path("bundle").unwrap_or_else(|| PathBuf::from(".")),
        pid_file: o.path("pid-file"),
        console_socket: o.path("console-socket"),
        no_pivot: o.on("no-pivot"),
        no_new_keyring: o.on("no-new-keyring"),
        preserve_fds: o.uint("preserve-fds")?,
    })
}

fn run(g: &Global, o: &Opts) -> CmdResult {
    let fail = |m: String| Failure::new(format!("runc create failed: {m}"));
    g.refuse_systemd().map_err(|f| fail(f.msg))?;
    let c = create_opts(o).map_err(|f| fail(f.msg))?;
    entry::seal_binary().map_err(|e| fail(e.to_string()))?;
    entry::create(&g.root, &c).map_err(|e| fail(e.to_string()))?;
    Ok(ExitCode::SUCCESS)
}
