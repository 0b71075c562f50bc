//! The real registry for tests: Debian's `docker-registry` on 127.0.0.1 with a free port, its
//! storage in the test's directory, stopped by PID on drop; optionally behind htpasswd Basic
//! auth or Bearer tokens from a token server written here (RS256 JWTs signed with a key made
//! by openssl, verified by the registry through the certificate in the token's `x5c`).
//! Plus a tiny HTTP/1.1 client for poking the registry directly.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub enum RegAuth {
    None,
    Htpasswd { user: String, pass: String },
    Token(TokenServerInfo),
}

#[derive(Clone)]
pub struct TokenServerInfo {
    pub realm: String,
    pub cert: PathBuf,
}

pub struct Registry {
    pub port: u16,
    pub dir: PathBuf,
    child: Option<Child>,
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Registry {
    /// Start a registry in `dir` (its config, storage and log live there).
    pub fn start(dir: &Path, auth: RegAuth) -> Registry {
        std::fs::create_dir_all(dir).unwrap();
        let auth_yaml = match &auth {
            RegAuth::None => String::new(),
            RegAuth::Htpasswd { user, pass } => {
                let o = Command::new("htpasswd").args(["-Bbn", user, pass]).output().unwrap();
                assert!(o.status.success(), "htpasswd: {}", String::from_utf8_lossy(&o.stderr));
                std::fs::write(dir.join("htpasswd"), &o.stdout).unwrap();
                format!("auth:\n  htpasswd:\n    realm: basic-realm\n    path: {}\n", dir.join("htpasswd").display())
            }
            RegAuth::Token(t) => format!(
                "auth:\n  token:\n    realm: {}\n    service: berth-test-registry\n    issuer: berth-test-issuer\n    rootcertbundle: {}\n",
                t.realm,
                t.cert.display()
            ),
        };
        for _ in 0..5 {
            let port = free_port();
            let cfg = format!(
                "version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n{auth_yaml}",
                dir.join("storage").display()
            );
            std::fs::write(dir.join("config.yml"), cfg).unwrap();
            let log = std::fs::File::create(dir.join("registry.log")).unwrap();
            let mut child = Command::new("docker-registry")
                .arg("serve")
                .arg(dir.join("config.yml"))
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .expect("start docker-registry");
            let deadline = Instant::now() + Duration::from_secs(15);
            loop {
                if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return Registry {
                        port,
                        dir: dir.to_path_buf(),
                        child: Some(child),
                    };
                }
                if let Ok(Some(_)) = child.try_wait() {
                    break; // port taken: try another
                }
                if Instant::now() > deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!(
                        "docker-registry did not start:\n{}",
                        std::fs::read_to_string(dir.join("registry.log")).unwrap_or_default()
                    );
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        panic!(
            "docker-registry did not start:\n{}",
            std::fs::read_to_string(dir.join("registry.log")).unwrap_or_default()
        );
    }

    /// `localhost:PORT`: Docker treats it as insecure (plain HTTP).
    pub fn host(&self) -> String {
        format!("localhost:{}", self.port)
    }

    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// One HTTP/1.1 request with `Connection: close`; (status, headers, body).
pub fn http(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut r = BufReader::new(s);
    let mut line = String::new();
    r.read_line(&mut line).unwrap();
    let status: u16 = line
        .split_whitespace()
        .nth(1)
        .unwrap_or("0")
        .parse()
        .unwrap_or(0);
    let mut hdrs = Vec::new();
    let mut chunked = false;
    loop {
        line.clear();
        r.read_line(&mut line).unwrap();
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':') {
            if k.eq_ignore_ascii_case("transfer-encoding")
                && v.trim().eq_ignore_ascii_case("chunked")
            {
                chunked = true;
            }
            hdrs.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    let mut out = Vec::new();
    if method == "HEAD" {
        return (status, hdrs, out);
    }
    if chunked {
        loop {
            line.clear();
            r.read_line(&mut line).unwrap();
            let n = usize::from_str_radix(line.trim().split(';').next().unwrap_or("0"), 16)
                .unwrap_or(0);
            if n == 0 {
                break;
            }
            let mut buf = vec![0u8; n + 2];
            r.read_exact(&mut buf).unwrap();
            out.extend_from_slice(&buf[..n]);
        }
    } else {
        r.read_to_end(&mut out).unwrap();
    }
    (status, hdrs, out)
}

pub fn header<'a>(h: &'a [(String, String)], name: &str) -> Option<&'a str> {
    h.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// A token server: checks Basic credentials and issues RS256 JWTs granting what was asked.
pub struct TokenServer {
    pub info: TokenServerInfo,
    pub port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
    pub issued: Arc<std::sync::atomic::AtomicUsize>,
}

fn b64url(data: &[u8]) -> String {
    berth::image::registry::base64::encode(data)
        .trim_end_matches('=')
        .replace('+', "-")
        .replace('/', "_")
}

impl TokenServer {
    pub fn start(dir: &Path, user: &str, pass: &str) -> TokenServer {
        std::fs::create_dir_all(dir).unwrap();
        let key = dir.join("token.key");
        let cert = dir.join("token.crt");
        let o = Command::new("openssl")
            .args([
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "2",
                "-subj",
                "/CN=berth-test-token",
            ])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "openssl req: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let der = Command::new("openssl")
            .args(["x509", "-outform", "DER", "-in"])
            .arg(&cert)
            .output()
            .unwrap()
            .stdout;
        let x5c = berth::image::registry::base64::encode(&der);
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let issued = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (stop2, issued2, dir2) = (stop.clone(), issued.clone(), dir.to_path_buf());
        let want = format!(
            "Basic {}",
            berth::image::registry::base64::encode(format!("{user}:{pass}").as_bytes())
        );
        let thread = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(mut s) = conn else { continue };
                let mut r = BufReader::new(s.try_clone().unwrap());
                let mut line = String::new();
                if r.read_line(&mut line).is_err() {
                    continue;
                }
                let target = line.split_whitespace().nth(1).unwrap_or("").to_string();
                let mut authz = String::new();
                loop {
                    let mut h = String::new();
                    if r.read_line(&mut h).is_err() || h.trim_end().is_empty() {
                        break;
                    }
                    if let Some((k, v)) = h.split_once(':') {
                        if k.eq_ignore_ascii_case("authorization") {
                            authz = v.trim().to_string();
                        }
                    }
                }
                let query = target.split_once('?').map(|x| x.1).unwrap_or("");
                let params: Vec<(String, String)> = query
                    .split('&')
                    .filter_map(|kv| kv.split_once('='))
                    .map(|(k, v)| (k.to_string(), berth::http::url::percent_decode(v, true)))
                    .collect();
                let reply = if authz != want {
                    let body = r#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}"#;
                    format!("HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len())
                } else {
                    let mut access = Vec::new();
                    for (k, v) in &params {
                        if k == "scope" {
                            for scope in v.split(' ') {
                                let parts: Vec<&str> = scope.split(':').collect();
                                if parts.len() == 3 {
                                    access.push(serde_json::json!({"type": parts[0], "name": parts[1], "actions": parts[2].split(',').collect::<Vec<_>>()}));
                                }
                            }
                        }
                    }
                    let now = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .unwrap()
                        .as_secs();
                    let n = issued2.fetch_add(1, Ordering::SeqCst);
                    let header = serde_json::json!({"typ": "JWT", "alg": "RS256", "x5c": [x5c]});
                    let claims = serde_json::json!({"iss": "berth-test-issuer", "sub": "user", "aud": "berth-test-registry", "exp": now + 300, "nbf": now - 10, "iat": now, "jti": format!("t{n}"), "access": access});
                    let input = format!(
                        "{}.{}",
                        b64url(header.to_string().as_bytes()),
                        b64url(claims.to_string().as_bytes())
                    );
                    let inf = dir2.join(format!("jwt-{n}.in"));
                    std::fs::write(&inf, &input).unwrap();
                    let sig = Command::new("openssl")
                        .args(["dgst", "-sha256", "-sign"])
                        .arg(dir2.join("token.key"))
                        .arg(&inf)
                        .output()
                        .unwrap()
                        .stdout;
                    let jwt = format!("{input}.{}", b64url(&sig));
                    let body =
                        serde_json::json!({"token": jwt, "access_token": jwt, "expires_in": 300})
                            .to_string();
                    format!("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len())
                };
                let _ = s.write_all(reply.as_bytes());
            }
        });
        TokenServer {
            info: TokenServerInfo {
                realm: format!("http://127.0.0.1:{port}/token"),
                cert,
            },
            port,
            stop,
            thread: Some(thread),
            issued,
        }
    }
}

impl Drop for TokenServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
