//! The internal `containerd-shim` role: one per container, started by the supervisor as
//! `containerd-shim --id ID --dir DIR`.

use super::{fail, COMMIT, VERSION};
use crate::supervisor::entry::{self, ShimArgs};
use std::path::PathBuf;
use std::process::ExitCode;

pub fn main(args: Vec<String>) -> ExitCode {
    let mut id = None;
    let mut dir = None;
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--version" | "-v" => {
                println!("containerd-shim (berth) version {VERSION}, commit {COMMIT}");
                return ExitCode::SUCCESS;
            }
            "--id" => id = it.next(),
            "--dir" => dir = it.next().map(PathBuf::from),
            other => return fail(&format!("containerd-shim: unknown argument {other:?} (usage: containerd-shim --id ID --dir DIR)")),
        }
    }
    let (Some(id), Some(dir)) = (id, dir) else {
        return fail(
            "containerd-shim: usage: containerd-shim --id ID --dir DIR (started by the supervisor)",
        );
    };
    match entry::run_shim(ShimArgs { id, dir }) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&format!("containerd-shim: {e}")),
    }
}
