//! The runtime's API for front ends (`cli::runc`): one function per runc command. Errors carry
//! runc's wording; the front end adds runc's per-command prefixes and prints them.

use crate::base::{Error, Result};
use crate::runtime::state::Store;
use crate::runtime::{container, exec, seal, spec};
use std::path::Path;

pub use crate::runtime::container::{CreateOpts, StateView};
pub use crate::runtime::exec::ExecOpts;

/// `--root` when none is given.
pub const DEFAULT_ROOT: &str = "/run/berth/runc";
/// The OCI runtime spec version berth implements.
pub const OCI_VERSION: &str = spec::OCI_VERSION;

/// Commands that start container processes first re-exec the runtime from a sealed copy of
/// its binary (CVE-2019-5736). Returns when already sealed; on success it does not return.
pub fn seal_binary() -> Result<()> {
    seal::ensure_sealed()
}

/// True when this process runs from a read-only mount or a write-sealed memfd: a fork of it may
/// enter a container without a re-exec (how the shim runs berth's runtime in-process).
pub fn is_sealed() -> bool {
    seal::is_sealed().unwrap_or(false)
}

/// An O_PATH descriptor of this binary on a detached read-only mount: exec'ing a shim through
/// it makes the shim (and every fork of it) sealed, at no copy. Err where the mount API is
/// missing; the caller then execs /proc/self/exe and the runtime seals itself per command.
pub fn sealed_binary() -> Result<std::os::fd::OwnedFd> {
    seal::bind_sealed()
}

/// `spec`: write runc's default config.json into `bundle`.
pub fn spec(bundle: &Path, rootless: bool) -> Result<()> {
    spec::write_default(bundle, rootless)
}

pub fn create(root: &Path, o: &CreateOpts) -> Result<()> {
    container::create(&Store::new(root), o)
}

pub fn start(root: &Path, id: &str) -> Result<()> {
    container::start(&Store::new(root), id)
}

/// `run`: the container's exit code in the foreground, 0 with `detach`; `keep` leaves the
/// stopped container for `delete`.
pub fn run(root: &Path, o: &CreateOpts, detach: bool, keep: bool) -> Result<i32> {
    container::run(&Store::new(root), o, detach, keep)
}

pub fn state(root: &Path, id: &str) -> Result<StateView> {
    container::state(&Store::new(root), id)
}

pub fn list(root: &Path) -> Result<Vec<StateView>> {
    container::list(&Store::new(root))
}

pub fn kill(root: &Path, id: &str, signal: &str, all: bool) -> Result<()> {
    let store = Store::new(root);
    // Existence first: runc reports a missing container before a bad signal.
    store.load(id)?;
    let sig = parse_signal(signal)?;
    container::kill(&store, id, sig, all)
}

pub fn delete(root: &Path, id: &str, force: bool) -> Result<()> {
    container::delete(&Store::new(root), id, force)
}

/// `exec`: the process's exit code in the foreground, 0 with `detach`.
pub fn exec(root: &Path, o: &ExecOpts) -> Result<i32> {
    exec::exec(&Store::new(root), o)
}

/// The capability names this runtime knows, in kernel order (for `features`).
pub fn known_capabilities() -> &'static [&'static str] {
    crate::runtime::capabilities::all_names()
}

/// `KILL`, `SIGKILL`, `9`: runc's accepted signal spellings.
pub fn parse_signal(s: &str) -> Result<i32> {
    match crate::sys::process::signal_number(s) {
        Some(n) if n >= 0 => Ok(n),
        _ => Err(Error::invalid(format!("unknown signal {s:?}"))),
    }
}

// ---- through the container's cgroup (runtime::control) ----

pub use crate::runtime::control::{Event, Features, Update};

/// `pause`: freeze the container.
pub fn pause(root: &Path, id: &str) -> Result<()> {
    crate::runtime::control::pause(&Store::new(root), id)
}

/// `resume`: thaw a paused container.
pub fn resume(root: &Path, id: &str) -> Result<()> {
    crate::runtime::control::resume(&Store::new(root), id)
}

/// `ps`: the host pids of the container's processes.
pub fn ps(root: &Path, id: &str) -> Result<Vec<i32>> {
    crate::runtime::control::processes(&Store::new(root), id)
}

/// `update`: change the container's resource limits.
pub fn update(root: &Path, id: &str, u: &Update) -> Result<()> {
    crate::runtime::control::update(&Store::new(root), id, u)
}

/// `events`: one stats event (`interval` None) or a stream until the container stops.
pub fn events(
    root: &Path,
    id: &str,
    interval: Option<std::time::Duration>,
    emit: &mut dyn FnMut(&Event) -> Result<()>,
) -> Result<()> {
    crate::runtime::control::events(&Store::new(root), id, interval, emit)
}

/// `features`: what this runtime supports, as the OCI runtime-spec features document.
pub fn features() -> Features {
    crate::runtime::control::features()
}

/// Terminal control for front ends that proxy a terminal (the docker client's `-t`): raw mode,
/// window size. Re-exported from `sys` so front ends stay free of libc.
pub mod terminal {
    pub use crate::sys::terminal::{get_size, make_raw, restore, Saved};
}

/// The `docker-init` role (PID 1 of `--init` containers): the command's exit code.
pub fn docker_init(args: &[String]) -> i32 {
    crate::runtime::tiny_init::run(args)
}
