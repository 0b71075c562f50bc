//! The internal `containerd-shim` role: one per container, started by the supervisor.

use super::{fail, COMMIT, VERSION};
use std::process::ExitCode;

pub fn main(args: Vec<String>) -> ExitCode {
    match args.first().map(String::as_str) {
        Some("--version") | Some("-v") => {
            println!("containerd-shim (berth) version {VERSION}, commit {COMMIT}");
            ExitCode::SUCCESS
        }
        _ => fail("containerd-shim (berth): the shim is not implemented yet"),
    }
}
