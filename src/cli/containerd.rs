//! The `containerd` role: the supervisor as a standalone service on its own socket.

use super::args::{normalize, Flag, Positionals};
use super::{fail, COMMIT, VERSION};
use crate::supervisor::entry::{self, ContainerdOpts};
use std::path::PathBuf;
use std::process::ExitCode;

const FLAGS: &[Flag] = &[
    Flag::option("address", Some('a')),
    Flag::option("root", None),
    Flag::option("state", None),
    Flag::option("runtime", None),
    Flag::option("runtime-root", None),
    Flag::switch("debug", None),
    Flag::option("log-level", Some('l')),
    Flag::switch("version", Some('v')),
];

#[derive(argh::FromArgs)]
/// containerd (berth): container lifecycle supervisor serving shims on a unix socket.
struct Args {
    /// address for the socket (default /run/berth/containerd/containerd.sock)
    #[argh(option)]
    address: Option<String>,
    /// persistent state directory
    #[argh(option)]
    root: Option<String>,
    /// runtime state directory (the shims live under it)
    #[argh(option)]
    state: Option<String>,
    /// OCI runtime binary (default: berth's own runc role)
    #[argh(option)]
    runtime: Option<String>,
    /// the runtime's --root (default STATE/runc)
    #[argh(option)]
    runtime_root: Option<String>,
    /// debug logging
    #[argh(switch)]
    debug: bool,
    /// log level (debug, info, warn, error)
    #[argh(option)]
    log_level: Option<String>,
    /// print the version
    #[argh(switch)]
    version: bool,
}

pub fn main(args: Vec<String>) -> ExitCode {
    let toks = match normalize(FLAGS, Positionals::Interspersed, &args) {
        Ok(t) => t,
        Err(e) => return fail(&format!("containerd: {e}")),
    };
    let refs: Vec<&str> = toks.iter().map(String::as_str).collect();
    let a = match <Args as argh::FromArgs>::from_args(&["containerd"], &refs) {
        Ok(a) => a,
        Err(e) if e.status.is_ok() => {
            print!("{}", e.output);
            return ExitCode::SUCCESS;
        }
        Err(e) => return fail(&e.output),
    };
    if a.version {
        println!("containerd berth {VERSION} {COMMIT}");
        return ExitCode::SUCCESS;
    }
    let debug = a.debug || a.log_level.as_deref() == Some("debug");
    if a.log_level.as_deref() == Some("info") {
        std::env::set_var("RUST_LOG", "info");
    }
    crate::base::logging::init(debug);
    let opts = ContainerdOpts {
        address: PathBuf::from(a.address.unwrap_or_else(|| entry::DEFAULT_ADDRESS.into())),
        root: PathBuf::from(a.root.unwrap_or_else(|| entry::DEFAULT_ROOT.into())),
        state: PathBuf::from(a.state.unwrap_or_else(|| entry::DEFAULT_STATE.into())),
        runtime: a.runtime.map(PathBuf::from),
        runtime_root: a.runtime_root.map(PathBuf::from),
    };
    match entry::run_containerd(opts) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&format!("containerd: {e}")),
    }
}
