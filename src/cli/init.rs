//! The internal `docker-init` role: PID 1 for `--init` containers.

use super::{COMMIT, VERSION};
use std::process::ExitCode;

pub fn main(args: Vec<String>) -> ExitCode {
    match args.first().map(String::as_str) {
        Some("--version") => {
            println!("docker-init (berth) version {VERSION} - commit {COMMIT}");
            ExitCode::SUCCESS
        }
        _ => ExitCode::from(crate::runtime::entry::docker_init(&args).clamp(0, 255) as u8),
    }
}
