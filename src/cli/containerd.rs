//! The `containerd` role: the supervisor as a standalone service.

use super::{fail, COMMIT, VERSION};
use std::process::ExitCode;

pub fn main(args: Vec<String>) -> ExitCode {
    match args.first().map(String::as_str) {
        Some("--version") | Some("-v") => {
            println!("containerd berth {VERSION} {COMMIT}");
            ExitCode::SUCCESS
        }
        _ => fail("containerd (berth): the supervisor is not implemented yet"),
    }
}
