//! How the cli starts the supervisor's roles: `containerd-shim` and `containerd`.

use super::proto::RuntimeConfig;
use super::{service, shim, Config, Supervisor};
use crate::base::Result;
use std::path::PathBuf;

pub use super::shim::ShimArgs;

/// The `containerd-shim` role: returns once the forked shim serves its socket (the shim itself
/// runs until its container is deleted, then exits the process).
pub fn run_shim(args: ShimArgs) -> Result<()> {
    shim::start(&args)
}

/// Flags of the `containerd` role (containerd's names where it has them).
#[derive(Debug, Clone)]
pub struct ContainerdOpts {
    /// `--address`: the socket to serve.
    pub address: PathBuf,
    /// `--root`: persistent state (kept for containerd's interface; the supervisor stores
    /// nothing persistent).
    pub root: PathBuf,
    /// `--state`: runtime state: the shims' directories live in `<state>/shims/`.
    pub state: PathBuf,
    /// `--runtime`: the OCI runtime binary (default: berth's own `runc` role).
    pub runtime: Option<PathBuf>,
    /// `--runtime-root`: the runtime's `--root` (default `<state>/runc`).
    pub runtime_root: Option<PathBuf>,
}

pub const DEFAULT_ADDRESS: &str = "/run/berth/containerd/containerd.sock";
pub const DEFAULT_ROOT: &str = "/var/lib/berth/containerd";
pub const DEFAULT_STATE: &str = "/run/berth/containerd";

/// The `containerd` role: restore every shim under `--state`, then serve until killed.
pub fn run_containerd(opts: ContainerdOpts) -> Result<()> {
    crate::base::fs::mkdir_all(&opts.root, 0o711)?;
    let mut cfg = Config::new(&opts.state);
    cfg.runtime = RuntimeConfig {
        path: opts.runtime.clone(),
        root: opts
            .runtime_root
            .clone()
            .unwrap_or_else(|| opts.state.join("runc")),
        args: Vec::new(),
    };
    let sup = Supervisor::new(cfg)?;
    service::serve(sup, &opts.address)
}
