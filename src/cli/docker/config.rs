//! The client's configuration directory (`--config`, `DOCKER_CONFIG`, `~/.docker`):
//! `config.json` with registry credentials under `auths` (`base64(user:password)`), and the
//! `X-Registry-Auth` header built from them. Unknown keys in the file are kept when we rewrite it.

use serde_json::{Map, Value};
use std::path::{Path, PathBuf};

/// Docker Hub's key in `auths` (and the server a bare `docker login` talks to).
pub const INDEX_SERVER: &str = "https://index.docker.io/v1/";

/// The configuration directory: `--config`, else `DOCKER_CONFIG`, else `$HOME/.docker`.
pub fn config_dir(flag: Option<&str>) -> PathBuf {
    if let Some(f) = flag.filter(|f| !f.is_empty()) {
        return PathBuf::from(f);
    }
    if let Some(d) = std::env::var_os("DOCKER_CONFIG").filter(|d| !d.is_empty()) {
        return PathBuf::from(d);
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/root"));
    home.join(".docker")
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const B64URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

fn encode_with(data: &[u8], table: &[u8; 64]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(table[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Standard base64 with padding (the `auth` field).
pub fn base64(data: &[u8]) -> String {
    encode_with(data, B64)
}

/// URL-safe base64 with padding (Go's `base64.URLEncoding`: the `X-Registry-Auth` header).
pub fn base64_url(data: &[u8]) -> String {
    encode_with(data, B64URL)
}

/// Decode standard or URL-safe base64 (padding optional).
pub fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0;
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b'=' => break,
            b'\n' | b'\r' => continue,
            _ => return None,
        };
        acc = acc << 6 | v as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Some(out)
}

/// Credentials for one registry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Auth {
    pub username: String,
    pub password: String,
    pub server: String,
    pub identity_token: String,
}

impl Auth {
    /// The `X-Registry-Auth` value (`{}` when anonymous, as the CLI sends it).
    pub fn header(&self) -> String {
        let mut m = Map::new();
        if !self.username.is_empty() {
            m.insert("username".into(), Value::String(self.username.clone()));
        }
        if !self.password.is_empty() {
            m.insert("password".into(), Value::String(self.password.clone()));
        }
        if !self.server.is_empty() {
            m.insert("serveraddress".into(), Value::String(self.server.clone()));
        }
        if !self.identity_token.is_empty() {
            m.insert(
                "identitytoken".into(),
                Value::String(self.identity_token.clone()),
            );
        }
        base64_url(Value::Object(m).to_string().as_bytes())
    }
}

/// `config.json` as read.
pub struct ConfigFile {
    path: PathBuf,
    doc: Map<String, Value>,
}

impl ConfigFile {
    pub fn load(dir: &Path) -> Result<ConfigFile, String> {
        let path = dir.join("config.json");
        let doc = match std::fs::read(&path) {
            Ok(b) if b.iter().all(|c| c.is_ascii_whitespace()) => Map::new(),
            Ok(b) => match serde_json::from_slice::<Value>(&b) {
                Ok(Value::Object(m)) => m,
                Ok(_) | Err(_) => {
                    return Err(format!(
                        "loading config file: {}: invalid JSON",
                        path.display()
                    ))
                }
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Map::new(),
            Err(e) => return Err(format!("loading config file: {}: {e}", path.display())),
        };
        Ok(ConfigFile { path, doc })
    }

    fn auths(&self) -> Option<&Map<String, Value>> {
        self.doc.get("auths").and_then(Value::as_object)
    }

    /// The stored credentials for `server` (a registry host or Docker Hub's index URL).
    pub fn auth(&self, server: &str) -> Auth {
        let Some(auths) = self.auths() else {
            return Auth {
                server: server.into(),
                ..Default::default()
            };
        };
        let entry = auths.get(server).or_else(|| {
            // Entries may be written as URLs (`https://host/v1/`): match on the host part.
            auths
                .iter()
                .find(|(k, _)| host_of(k) == host_of(server))
                .map(|(_, v)| v)
        });
        let mut a = Auth {
            server: server.to_string(),
            ..Default::default()
        };
        if let Some(e) = entry {
            if let Some(enc) = e.get("auth").and_then(Value::as_str) {
                if let Some(dec) = base64_decode(enc) {
                    let dec = String::from_utf8_lossy(&dec).into_owned();
                    if let Some((u, p)) = dec.split_once(':') {
                        a.username = u.to_string();
                        a.password = p.to_string();
                    }
                }
            }
            if let Some(t) = e.get("identitytoken").and_then(Value::as_str) {
                a.identity_token = t.to_string();
            }
        }
        a
    }

    pub fn set_auth(&mut self, a: &Auth) {
        let auths = self
            .doc
            .entry("auths")
            .or_insert_with(|| Value::Object(Map::new()));
        if !auths.is_object() {
            *auths = Value::Object(Map::new());
        }
        if let Some(m) = auths.as_object_mut() {
            let mut e = Map::new();
            if a.identity_token.is_empty() {
                e.insert(
                    "auth".into(),
                    Value::String(base64(format!("{}:{}", a.username, a.password).as_bytes())),
                );
            } else {
                e.insert(
                    "identitytoken".into(),
                    Value::String(a.identity_token.clone()),
                );
            }
            m.insert(a.server.clone(), Value::Object(e));
        }
    }

    pub fn remove_auth(&mut self, server: &str) -> bool {
        self.doc
            .get_mut("auths")
            .and_then(Value::as_object_mut)
            .and_then(|m| m.remove(server))
            .is_some()
    }

    /// Write the file as the CLI does: tab-indented, through a temp file and a rename.
    pub fn save(&self) -> Result<(), String> {
        let dir = self.path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("error saving credentials: mkdir {}: {e}", dir.display()))?;
        let text = tab_indent(&Value::Object(self.doc.clone()));
        crate::base::fs::write_atomic(&self.path, text.as_bytes(), 0o600)
            .map_err(|e| format!("error saving credentials: {e}"))
    }
}

fn tab_indent(v: &Value) -> String {
    let mut buf = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"\t");
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
    let _ = serde::Serialize::serialize(v, &mut ser);
    String::from_utf8_lossy(&buf).into_owned()
}

/// `https://host:5000/v1/` → `host:5000`; a bare host stays as it is.
pub fn host_of(server: &str) -> &str {
    let s = server
        .strip_prefix("https://")
        .or_else(|| server.strip_prefix("http://"))
        .unwrap_or(server);
    s.split('/').next().unwrap_or(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trips() {
        assert_eq!(base64(b"user:pass"), "dXNlcjpwYXNz");
        assert_eq!(base64(b"a"), "YQ==");
        assert_eq!(base64(b"ab"), "YWI=");
        assert_eq!(base64_url(b"{}"), "e30=");
        assert_eq!(base64_url(&[0xfb, 0xff]), "-_8=");
        assert_eq!(base64_decode("dXNlcjpwYXNz").unwrap(), b"user:pass");
        assert_eq!(base64_decode("-_8=").unwrap(), [0xfb, 0xff]);
        assert!(base64_decode("a*b").is_none());
    }

    #[test]
    fn credentials_in_config_json() {
        let dir = std::env::temp_dir().join(format!("berth-cfg-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("config.json"), r#"{"psFormat":"{{.ID}}","auths":{"https://127.0.0.1:5000/v1/":{"auth":"dXNlcjpwYXNz"}}}"#).unwrap();
        let mut c = ConfigFile::load(&dir).unwrap();
        let a = c.auth("127.0.0.1:5000");
        assert_eq!((a.username.as_str(), a.password.as_str()), ("user", "pass"));
        assert_eq!(c.auth("other:1").username, "");
        c.set_auth(&Auth {
            username: "u".into(),
            password: "p".into(),
            server: "10.0.0.1:5000".into(),
            ..Default::default()
        });
        c.save().unwrap();
        let text = std::fs::read_to_string(dir.join("config.json")).unwrap();
        assert!(text.contains("\n\t\"auths\": {"), "{text}");
        assert!(text.contains("\"psFormat\""));
        let c2 = ConfigFile::load(&dir).unwrap();
        assert_eq!(c2.auth("10.0.0.1:5000").password, "p");
        let mut c3 = c2;
        assert!(c3.remove_auth("10.0.0.1:5000"));
        assert!(!c3.remove_auth("10.0.0.1:5000"));
        let hdr = Auth {
            username: "u".into(),
            password: "p".into(),
            server: "s".into(),
            ..Default::default()
        }
        .header();
        assert_eq!(
            String::from_utf8(base64_decode(&hdr).unwrap()).unwrap(),
            r#"{"password":"p","serveraddress":"s","username":"u"}"#
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
