//! The `runc` role: runc's command line over the OCI runtime.

use super::{fail, COMMIT, VERSION};
use std::process::ExitCode;

/// The OCI runtime spec version berth implements.
pub const OCI_SPEC_VERSION: &str = "1.2.0";

pub fn main(args: Vec<String>) -> ExitCode {
    match args.first().map(String::as_str) {
        Some("--version") | Some("-v") => {
            println!("runc version {VERSION} (berth)\ncommit: {COMMIT}\nspec: {OCI_SPEC_VERSION}");
            ExitCode::SUCCESS
        }
        _ => fail("runc (berth): commands are not implemented yet"),
    }
}
