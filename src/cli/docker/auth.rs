//! `login` and `logout`: credentials checked by the daemon (`POST /auth`) and kept in
//! `config.json` under `auths`, as the CLI's file store keeps them.

use super::command::{sw, val, Arity, CliError, Opt, Parsed, Spec};
use super::config::{host_of, Auth, INDEX_SERVER};
use super::{block, errln, out, outln, Ctx};
use crate::api::client::Query;
use std::io::{IsTerminal, Read};

const LOGIN_OPTS: &[Opt] = &[
    val(
        "password",
        Some('p'),
        "string",
        "Password or Personal Access Token (PAT)",
    ),
    sw(
        "password-stdin",
        None,
        "Take the Password or Personal Access Token (PAT) from stdin",
    ),
    val("username", Some('u'), "string", "Username"),
];

pub const SPECS: &[Spec] = &[
    Spec {
        group: "",
        name: "login",
        aliases: &[],
        top: None,
        usage: "[OPTIONS] [SERVER]",
        short: "Authenticate to a registry",
        long: "Authenticate to a registry.\nDefaults to Docker Hub if no server is specified.",
        opts: LOGIN_OPTS,
        arity: Arity::Max(1),
        stop_at_first: false,
        run_like: false,
        run: login,
    },
    Spec {
        group: "",
        name: "logout",
        aliases: &[],
        top: None,
        usage: "[SERVER]",
        short: "Log out from a registry",
        long: "Log out from a registry.\nIf no server is specified, the default is defined by the daemon.",
        opts: &[],
        arity: Arity::Max(1),
        stop_at_first: false,
        run_like: false,
        run: logout,
    },
];

/// Read a line from the terminal; without echo for passwords.
fn prompt(label: &str, echo: bool) -> Result<String, CliError> {
    use std::os::fd::AsFd;
    out(label);
    let stdin = std::io::stdin();
    let saved = if echo {
        None
    } else {
        crate::runtime::entry::terminal::make_raw(stdin.as_fd()).ok()
    };
    let mut line = Vec::new();
    let mut b = [0u8; 1];
    loop {
        match stdin.lock().read(&mut b) {
            Ok(1) if b[0] == b'\n' || b[0] == b'\r' => break,
            Ok(1) if b[0] == 3 => {
                if let Some(s) = &saved {
                    crate::runtime::entry::terminal::restore(stdin.as_fd(), s);
                }
                return Err(CliError::code(130));
            }
            Ok(1) => line.push(b[0]),
            _ => break,
        }
    }
    if let Some(s) = &saved {
        crate::runtime::entry::terminal::restore(stdin.as_fd(), s);
        out("\n");
    }
    Ok(String::from_utf8_lossy(&line).into_owned())
}

fn login(ctx: &mut Ctx, p: &Parsed) -> Result<(), CliError> {
    let mut user = p.str("username");
    let mut password = p.str("password");
    if !password.is_empty() {
        errln("WARNING! Using --password via the CLI is insecure. Use --password-stdin.");
    }
    if p.bool("password-stdin") {
        if user.is_empty() {
            return Err(CliError::msg("username is empty"));
        }
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s)?;
        password = s.strip_suffix('\n').unwrap_or(&s).to_string();
        password = password.strip_suffix('\r').unwrap_or(&password).to_string();
    }
    let server = match p.args.first() {
        Some(s) if !s.is_empty() && s != "docker.io" => s.clone(),
        _ => INDEX_SERVER.to_string(),
    };
    let mut cfg = ctx.config()?;
    // Stored credentials are tried first when none are given.
    if user.is_empty() && password.is_empty() {
        let stored = cfg.auth(&server);
        if !stored.username.is_empty() && !stored.password.is_empty() {
            errln(&format!(
                "Authenticating with existing credentials... [Username: {}]",
                stored.username
            ));
            errln("\ni Info → To login with a different account, run 'docker logout' followed by 'docker login'\n\n");
            let api = ctx.api()?;
            match block(api.post::<_, serde_json::Value>(
                "/auth",
                &Query::new(),
                Some(&auth_body(&stored)),
            )) {
                Ok(r) => {
                    let status = r
                        .get("Status")
                        .and_then(|s| s.as_str())
                        .unwrap_or("")
                        .to_string();
                    let mut a = stored.clone();
                    if let Some(t) = r
                        .get("IdentityToken")
                        .and_then(|t| t.as_str())
                        .filter(|t| !t.is_empty())
                    {
                        a.password.clear();
                        a.identity_token = t.to_string();
                    }
                    cfg.set_auth(&a);
                    cfg.save()
                        .map_err(|e| CliError::msg(format!("Error saving credentials: {e}")))?;
                    if !status.is_empty() {
                        outln(&status);
                    }
                    return Ok(());
                }
                Err(e) if e.status() == Some(401) => errln("Stored credentials invalid or expired"),
                Err(e) => errln(&format!("Login did not succeed, error: {e}")),
            }
            user = stored.username;
        }
    }
    if user.is_empty() || password.is_empty() {
        if !std::io::stdin().is_terminal() {
            return Err(CliError::msg(
                "Error: Cannot perform an interactive login from a non TTY device",
            ));
        }
        if user.is_empty() {
            user = prompt("Username: ", true)?.trim().to_string();
            if user.is_empty() {
                return Err(CliError::msg("Error: Non-null Username Required"));
            }
        }
        if password.is_empty() {
            password = prompt("Password: ", false)?;
            if password.is_empty() {
                return Err(CliError::msg("Error: Password Required"));
            }
        }
    }
    let mut a = Auth {
        username: user,
        password,
        server: server.clone(),
        identity_token: String::new(),
    };
    let api = ctx.api()?;
    let r: serde_json::Value = block(api.post("/auth", &Query::new(), Some(&auth_body(&a))))?;
    if let Some(t) = r
        .get("IdentityToken")
        .and_then(|t| t.as_str())
        .filter(|t| !t.is_empty())
    {
        a.password.clear();
        a.identity_token = t.to_string();
    }
    cfg.set_auth(&a);
    cfg.save()
        .map_err(|e| CliError::msg(format!("Error saving credentials: {e}")))?;
    let status = r.get("Status").and_then(|s| s.as_str()).unwrap_or("");
    if !status.is_empty() {
        outln(status);
    }
    Ok(())
}

fn auth_body(a: &Auth) -> serde_json::Value {
    serde_json::json!({"username": a.username, "password": a.password, "serveraddress": a.server})
}

fn logout(ctx: &mut Ctx, p: &Parsed) -> Result<(), CliError> {
    let (server, hostname) = match p.args.first().filter(|s| !s.is_empty()) {
        Some(s) => (s.clone(), host_of(s).to_string()),
        None => (INDEX_SERVER.to_string(), INDEX_SERVER.to_string()),
    };
    let mut keys = vec![server.clone()];
    if server != INDEX_SERVER {
        keys.extend([
            hostname.clone(),
            format!("http://{hostname}"),
            format!("https://{hostname}"),
        ]);
    }
    outln(&format!("Removing login credentials for {hostname}"));
    let mut cfg = ctx.config()?;
    let mut changed = false;
    for k in &keys {
        changed |= cfg.remove_auth(k);
    }
    if changed {
        cfg.save()
            .map_err(|e| CliError::msg(format!("WARNING: could not erase credentials: {e}")))?;
    }
    Ok(())
}
