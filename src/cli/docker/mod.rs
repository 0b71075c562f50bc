//! The `docker` role: a Docker-compatible client.

use super::{fail, COMMIT, VERSION};
use std::process::ExitCode;

pub fn main(args: Vec<String>) -> ExitCode {
    match args.first().map(String::as_str) {
        Some("--version") | Some("-v") => {
            println!("Docker version {VERSION}-berth, build {COMMIT}");
            ExitCode::SUCCESS
        }
        _ => fail("docker (berth): commands are not implemented yet"),
    }
}
