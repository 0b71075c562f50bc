//! The berth executable: every role lives in the library; this only hands over argv.
use std::process::ExitCode;

fn main() -> ExitCode {
    berth::cli::main(std::env::args_os().collect())
}
