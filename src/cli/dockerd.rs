//! The `dockerd` role: the Engine API daemon.

use super::{fail, COMMIT, VERSION};
use std::process::ExitCode;

pub fn main(args: Vec<String>) -> ExitCode {
    match args.first().map(String::as_str) {
        Some("--version") | Some("-v") => {
            println!("Docker version {VERSION}-berth, build {COMMIT}");
            ExitCode::SUCCESS
        }
        _ => fail("dockerd (berth): the daemon is not implemented yet"),
    }
}
