//! `runc exec`: run a new process inside a container; the exit code is the process's.
use super::{option, switch, Arity, CmdResult, Command, Failure, Global, Opts};
use crate::runtime::entry;
use std::process::ExitCode;

pub const COMMAND: Command = Command {
    name: "exec",
    summary: "execute new process inside the container",
    usage: "exec [command options] <container-id> <command> [command options]  || -p process.json <container-id>",
    flags: &[
        option(&["console-socket"], "path to an AF_UNIX socket which will receive a file descriptor referencing the master end of the console's pseudoterminal"),
        option(&["cwd"], "current working directory in the container"),
        option(&["env", "e"], "set environment variables"),
        switch(&["tty", "t"], "allocate a pseudo-TTY"),
        option(&["user", "u"], "UID (format: <uid>[:<gid>])"),
        option(&["additional-gids", "g"], "additional gids"),
        option(&["process", "p"], "path to the process.json"),
        switch(&["detach", "d"], "detach from the container's process"),
        option(&["pid-file"], "specify the file to write the process id to"),
        option(&["process-label"], "set the asm process label for the process commonly used with selinux"),
        option(&["apparmor"], "set the apparmor profile for the process"),
        switch(&["no-new-privs"], "set the no new privileges value for the process"),
        option(&["cap", "c"], "add a capability to the bounding set for the process"),
        option(&["preserve-fds"], "Pass N additional file descriptors to the container (stdio + $LISTEN_FDS + N in total)"),
        option(&["cgroup"], "run the process in an (existing) sub-cgroup(s)"),
        switch(&["ignore-paused"], "allow exec in a paused container"),
    ],
    arity: Arity::Min(1),
    run,
};

fn run(g: &Global, o: &Opts) -> CmdResult {
    let fail = |m: String| Failure {
        msg: format!("exec failed: {m}"),
        code: 255,
    };
    let mut gids = Vec::new();
    for v in o.all("additional-gids") {
        gids.push(v.parse::<u32>().map_err(|_| {
            fail(format!(
                "invalid value {v:?} for flag -additional-gids: parse error"
            ))
        })?);
    }
    let x = entry::ExecOpts {
        id: o.args[0].clone(),
        process_file: o.path("process"),
        args: o.args[1..].to_vec(),
        tty: o.on("tty"),
        cwd: o.get("cwd").map(String::from),
        env: o.all("env"),
        user: o.get("user").filter(|s| !s.is_empty()).map(String::from),
        additional_gids: gids,
        caps: o.all("cap"),
        no_new_privs: o.on("no-new-privs"),
        detach: o.on("detach"),
        pid_file: o.path("pid-file"),
        console_socket: o.path("console-socket"),
        preserve_fds: o.uint("preserve-fds").map_err(|f| fail(f.msg))?,
    };
    entry::seal_binary().map_err(|e| fail(e.to_string()))?;
    let code = entry::exec(&g.root, &x).map_err(|e| fail(e.to_string()))?;
    Ok(ExitCode::from(code.clamp(0, 255) as u8))
}
