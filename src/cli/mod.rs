//! Front ends. `main` picks the role from argv[0] or the first argument (busybox style) and hands
//! the remaining arguments to that role's front end; each front end parses flags, makes one
//! library call and prints the result in the original tool's words.

pub mod args;
mod containerd;
mod docker;
mod dockerd;
mod init;
mod install;
mod runc;
mod shim;

use std::ffi::OsString;
use std::path::Path;
use std::process::ExitCode;

/// berth's own version; roles print it inside their original's version format.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The commit, when the build passes it in (`make build` does).
pub const COMMIT: &str = match option_env!("BERTH_COMMIT") {
    Some(c) => c,
    None => "unknown",
};

/// One role of the multicall binary.
pub struct Applet {
    pub name: &'static str,
    /// Internal roles are re-execs of berth by berth, not meant to be typed by users.
    pub internal: bool,
    pub summary: &'static str,
    pub main: fn(Vec<String>) -> ExitCode,
}

/// The dispatch table: argv[0] basename or first argument → role.
pub const APPLETS: &[Applet] = &[
    Applet {
        name: "docker",
        internal: false,
        summary: "Docker-compatible client",
        main: docker::main,
    },
    Applet {
        name: "dockerd",
        internal: false,
        summary: "Docker Engine API daemon",
        main: dockerd::main,
    },
    Applet {
        name: "containerd",
        internal: false,
        summary: "container lifecycle supervisor",
        main: containerd::main,
    },
    Applet {
        name: "runc",
        internal: false,
        summary: "OCI runtime (runc-compatible)",
        main: runc::main,
    },
    Applet {
        name: "containerd-shim",
        internal: true,
        summary: "per-container shim (started by the supervisor)",
        main: shim::main,
    },
    Applet {
        name: "docker-init",
        internal: true,
        summary: "tiny init for --init containers",
        main: init::main,
    },
];

pub fn find_applet(name: &str) -> Option<&'static Applet> {
    APPLETS.iter().find(|a| a.name == name)
}

/// Entry point of the executable: returns the process exit code.
pub fn main(argv: Vec<OsString>) -> ExitCode {
    let mut argv: Vec<String> = argv
        .into_iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    if argv.is_empty() {
        argv.push("berth".into());
    }
    let base = Path::new(&argv[0])
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    if let Some(applet) = find_applet(&base) {
        return (applet.main)(argv.split_off(1));
    }
    let Some(first) = argv.get(1).cloned() else {
        print!("{}", usage());
        return ExitCode::SUCCESS;
    };
    if let Some(applet) = find_applet(&first) {
        return (applet.main)(argv.split_off(2));
    }
    match first.as_str() {
        "--list" => {
            for a in APPLETS {
                println!("{}", a.name);
            }
            ExitCode::SUCCESS
        }
        "--install" => match argv.get(2) {
            Some(dir) if argv.len() == 3 => match install::install(Path::new(dir)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => fail(&format!("berth: --install: {e}")),
            },
            _ => {
                fail("berth: --install needs exactly one argument: the directory for the symlinks")
            }
        },
        "--version" | "-v" => {
            println!("berth version {VERSION}, commit {COMMIT}");
            ExitCode::SUCCESS
        }
        "--help" | "-h" | "help" => {
            print!("{}", usage());
            ExitCode::SUCCESS
        }
        other => fail(&format!(
            "berth: unknown role '{other}' (try 'berth --list')"
        )),
    }
}

fn usage() -> String {
    let mut s = format!(
        "berth {VERSION}: a Docker-compatible container engine in one binary\n\n\
         Usage: berth ROLE [ARGS...]   or   ln -s berth ROLE && ROLE [ARGS...]\n       \
         berth --list | --install DIR | --version\n\nRoles:\n"
    );
    for a in APPLETS {
        let tag = if a.internal { " (internal)" } else { "" };
        s.push_str(&format!("  {:<16} {}{}\n", a.name, a.summary, tag));
    }
    s
}

/// Print an error once on stderr and return exit code 1.
pub(crate) fn fail(msg: &str) -> ExitCode {
    eprintln!("{msg}");
    ExitCode::from(1)
}
