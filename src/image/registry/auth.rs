//! Registry authentication: the credentials the Docker CLI sends (`X-Registry-Auth`, base64
//! JSON, and the `/auth` body), `WWW-Authenticate` challenges, Basic credentials, and Bearer
//! tokens fetched from the realm the challenge names (distribution's token spec), cached per
//! scope until they expire.

use super::base64;
use super::transport::{go_request_error, Payload, Transport, Url};
use crate::base::{Error, ErrorKind, Result};
use crate::http::head::Headers;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Engine API `AuthConfig` (registry credentials as the CLI sends them).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AuthConfig {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub username: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub password: String,
    /// `base64(user:pass)`, as `config.json` stores it.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub auth: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub email: String,
    #[serde(
        default,
        rename = "serveraddress",
        skip_serializing_if = "String::is_empty"
    )]
    pub server_address: String,
    /// An OAuth refresh token a login returned.
    #[serde(
        default,
        rename = "identitytoken",
        skip_serializing_if = "String::is_empty"
    )]
    pub identity_token: String,
    /// A bearer token to send as is.
    #[serde(
        default,
        rename = "registrytoken",
        skip_serializing_if = "String::is_empty"
    )]
    pub registry_token: String,
}

impl AuthConfig {
    /// Decode `X-Registry-Auth` (absent or empty: no credentials).
    pub fn from_header(value: Option<&str>) -> Result<AuthConfig> {
        let Some(v) = value.map(str::trim).filter(|v| !v.is_empty()) else {
            return Ok(AuthConfig::default());
        };
        let raw = base64::decode(v)
            .ok_or_else(|| Error::invalid("invalid X-Registry-Auth header: not base64"))?;
        // moby's DecodeAuthConfig: junk JSON is an invalid parameter.
        serde_json::from_slice(&raw)
            .map_err(|e| Error::invalid(format!("invalid X-Registry-Auth header: {e}")))
    }

    /// Username and password, from the fields or from `auth`.
    pub fn user_pass(&self) -> Option<(String, String)> {
        if !self.username.is_empty() {
            return Some((self.username.clone(), self.password.clone()));
        }
        let raw = base64::decode(&self.auth)?;
        let s = String::from_utf8(raw).ok()?;
        let (u, p) = s.split_once(':')?;
        (!u.is_empty()).then(|| (u.to_string(), p.to_string()))
    }

    pub fn is_empty(&self) -> bool {
        self.user_pass().is_none()
            && self.identity_token.is_empty()
            && self.registry_token.is_empty()
    }
}

/// One `WWW-Authenticate` challenge.
#[derive(Debug, Clone, PartialEq)]
pub struct Challenge {
    /// Lower case: `basic` or `bearer`.
    pub scheme: String,
    pub params: HashMap<String, String>,
}

/// Parse a `WWW-Authenticate` value (RFC 7235: scheme, then `key=value` or `key="quoted"`
/// pairs). Several challenges in one value are split at each new scheme.
pub fn parse_challenges(value: &str) -> Vec<Challenge> {
    let mut out: Vec<Challenge> = Vec::new();
    let b = value.as_bytes();
    let mut i = 0;
    let skip_ws = |i: &mut usize| {
        while *i < b.len() && (b[*i] == b' ' || b[*i] == b'\t' || b[*i] == b',') {
            *i += 1;
        }
    };
    loop {
        skip_ws(&mut i);
        if i >= b.len() {
            break;
        }
        let start = i;
        while i < b.len() && !matches!(b[i], b' ' | b'\t' | b'=' | b',') {
            i += 1;
        }
        let token = &value[start..i];
        if i < b.len() && b[i] == b'=' {
            // key=value of the current challenge
            i += 1;
            let val = if i < b.len() && b[i] == b'"' {
                i += 1;
                let mut v = String::new();
                while i < b.len() && b[i] != b'"' {
                    if b[i] == b'\\' && i + 1 < b.len() {
                        i += 1;
                    }
                    let ch_len = value[i..].chars().next().map_or(1, char::len_utf8);
                    v.push_str(&value[i..i + ch_len]);
                    i += ch_len;
                }
                i += 1;
                v
            } else {
                let s = i;
                while i < b.len() && b[i] != b',' && b[i] != b' ' {
                    i += 1;
                }
                value[s..i].to_string()
            };
            if let Some(c) = out.last_mut() {
                c.params.insert(token.to_ascii_lowercase(), val);
            }
        } else if !token.is_empty() {
            out.push(Challenge {
                scheme: token.to_ascii_lowercase(),
                params: HashMap::new(),
            });
        }
    }
    out
}

#[derive(Debug, Deserialize)]
struct TokenResponse {
    #[serde(default)]
    token: String,
    #[serde(default)]
    access_token: String,
    #[serde(default)]
    expires_in: u64,
    #[serde(default)]
    refresh_token: String,
}

/// The error a registry (or token server) answered, in distribution's words:
/// `{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}` reads
/// `manifest unknown: manifest unknown`.
pub fn registry_error(status: u16, body: &[u8]) -> Error {
    #[derive(Deserialize)]
    struct E {
        #[serde(default)]
        code: String,
        #[serde(default)]
        message: String,
    }
    #[derive(Deserialize)]
    struct Es {
        #[serde(default)]
        errors: Vec<E>,
    }
    let kind = match status {
        401 | 403 => ErrorKind::PermissionDenied,
        404 => ErrorKind::NotFound,
        400 | 405 | 413 | 416 => ErrorKind::InvalidArgument,
        _ => ErrorKind::Unavailable,
    };
    let parsed: Option<Es> = serde_json::from_slice(body).ok();
    let msgs: Vec<String> = parsed
        .map(|es| {
            es.errors
                .into_iter()
                .map(|e| {
                    let code = e.code.to_ascii_lowercase().replace('_', " ");
                    let code = if code.is_empty() {
                        "unknown".to_string()
                    } else {
                        code
                    };
                    if e.message.is_empty() {
                        code
                    } else {
                        format!("{code}: {}", e.message)
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    let msg = match msgs.len() {
        0 if status == 401 => "unauthorized: authentication required".to_string(),
        0 => format!(
            "received unexpected HTTP status: {status} {}",
            crate::http::head::reason(status)
        ),
        1 => msgs[0].clone(),
        _ => format!("errors:\n{}\n", msgs.join("\n")),
    };
    Error::new(kind, msg)
}

/// Authorization for one registry: its challenge (from the `/v2/` ping), the user's
/// credentials, and the tokens fetched so far.
#[derive(Debug)]
pub struct Authorizer {
    pub challenge: Option<Challenge>,
    pub creds: AuthConfig,
    tokens: Mutex<HashMap<String, (String, Instant)>>,
    refresh_token: Mutex<Option<String>>,
}

impl Authorizer {
    pub fn new(challenge: Option<Challenge>, creds: AuthConfig) -> Authorizer {
        Authorizer {
            challenge,
            creds,
            tokens: Mutex::new(HashMap::new()),
            refresh_token: Mutex::new(None),
        }
    }

    /// The `Authorization` value for a request needing `scopes` (None: send none).
    /// `request` names the request for Docker-style errors (`Head "url": no basic auth credentials`).
    pub async fn header(
        &self,
        transport: &Transport,
        scopes: &[String],
        method: &str,
        request: &Url,
    ) -> Result<Option<String>> {
        let Some(ch) = &self.challenge else {
            return Ok(None);
        };
        match ch.scheme.as_str() {
            "basic" => match self.creds.user_pass() {
                Some((u, p)) => Ok(Some(format!(
                    "Basic {}",
                    base64::encode(format!("{u}:{p}").as_bytes())
                ))),
                None => Err(Error::new(
                    ErrorKind::PermissionDenied,
                    go_request_error(method, request, "no basic auth credentials"),
                )),
            },
            "bearer" => {
                if !self.creds.registry_token.is_empty() {
                    return Ok(Some(format!("Bearer {}", self.creds.registry_token)));
                }
                Ok(Some(format!(
                    "Bearer {}",
                    self.token(transport, scopes, false).await?
                )))
            }
            _ => Ok(None),
        }
    }

    /// Forget a token the registry refused (it may have expired early).
    pub fn forget(&self, scopes: &[String]) {
        lock(&self.tokens).remove(&scopes.join(" "));
    }

    /// A bearer token for `scopes` from the challenge's realm. `offline` asks for a refresh
    /// token (what `docker login` does).
    pub async fn token(
        &self,
        transport: &Transport,
        scopes: &[String],
        offline: bool,
    ) -> Result<String> {
        let key = scopes.join(" ");
        if let Some((t, exp)) = lock(&self.tokens).get(&key) {
            if *exp > Instant::now() {
                return Ok(t.clone());
            }
        }
        let ch = self
            .challenge
            .as_ref()
            .ok_or_else(|| Error::internal("no bearer challenge"))?;
        let realm = ch
            .params
            .get("realm")
            .ok_or_else(|| Error::invalid("bearer challenge without a realm"))?;
        let mut url = Url::parse(realm)
            .map_err(|_| Error::invalid(format!("invalid token realm {realm:?}")))?;
        let service = ch.params.get("service").cloned().unwrap_or_default();
        let refresh = self.creds.identity_token.clone();
        let refresh = if refresh.is_empty() {
            lock(&self.refresh_token).clone().unwrap_or_default()
        } else {
            refresh
        };
        let (method, resp) = if !refresh.is_empty() {
            // OAuth2 refresh-token grant (POST form), as Docker does with an identity token.
            let mut form = vec![
                ("grant_type", "refresh_token".to_string()),
                ("refresh_token", refresh),
                ("service", service.clone()),
                ("client_id", "docker".to_string()),
            ];
            if !scopes.is_empty() {
                form.push(("scope", scopes.join(" ")));
            }
            let body = form
                .iter()
                .map(|(k, v)| format!("{k}={}", crate::http::url::query_escape(v)))
                .collect::<Vec<_>>()
                .join("&");
            let mut h = Headers::new();
            h.set("Content-Type", "application/x-www-form-urlencoded");
            (
                "POST",
                transport
                    .send("POST", &url, &h, Payload::Bytes(body.as_bytes()))
                    .await?,
            )
        } else {
            if !service.is_empty() {
                url = url.with_query("service", &service);
            }
            for s in scopes {
                url = url.with_query("scope", s);
            }
            let mut h = Headers::new();
            if let Some((u, p)) = self.creds.user_pass() {
                url = url.with_query("account", &u);
                h.set(
                    "Authorization",
                    format!("Basic {}", base64::encode(format!("{u}:{p}").as_bytes())),
                );
            }
            if offline {
                url = url
                    .with_query("offline_token", "true")
                    .with_query("client_id", "docker");
            }
            (
                "GET",
                transport.send("GET", &url, &h, Payload::Empty).await?,
            )
        };
        let status = resp.status;
        let body = resp.read_all(1 << 20).await?;
        if !(200..300).contains(&status) {
            let e = registry_error(status, &body);
            return Err(Error::new(e.kind(), e.message().to_string()));
        }
        let tr: TokenResponse = serde_json::from_slice(&body).map_err(|e| {
            Error::new(
                ErrorKind::Unavailable,
                go_request_error(method, &url, format!("decoding token response: {e}")),
            )
        })?;
        let token = if tr.token.is_empty() {
            tr.access_token
        } else {
            tr.token
        };
        if token.is_empty() {
            return Err(Error::new(
                ErrorKind::Unavailable,
                "authorization server did not include a token in the response",
            ));
        }
        if !tr.refresh_token.is_empty() {
            *lock(&self.refresh_token) = Some(tr.refresh_token);
        }
        // The spec's minimum lifetime is 60 s; renew a little early.
        let life =
            Duration::from_secs(tr.expires_in.max(60)).saturating_sub(Duration::from_secs(10));
        lock(&self.tokens).insert(key, (token.clone(), Instant::now() + life));
        Ok(token)
    }

    /// The refresh token a login got (Docker returns it as `IdentityToken`).
    pub fn refresh_token(&self) -> Option<String> {
        lock(&self.refresh_token).clone()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges() {
        let c = parse_challenges(
            r#"Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push""#,
        );
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].scheme, "bearer");
        assert_eq!(c[0].params["realm"], "https://auth.example/token");
        assert_eq!(c[0].params["scope"], "repository:a/b:pull,push");
        let c = parse_challenges(r#"Basic realm="basic-realm", Bearer realm="x\"y",service=s"#);
        assert_eq!(
            c.iter().map(|c| c.scheme.as_str()).collect::<Vec<_>>(),
            ["basic", "bearer"]
        );
        assert_eq!(c[0].params["realm"], "basic-realm");
        assert_eq!(c[1].params["realm"], "x\"y");
        assert_eq!(c[1].params["service"], "s");
    }

    #[test]
    fn auth_configs() {
        let h = base64::encode(
            br#"{"username":"user","password":"pass","serveraddress":"localhost:5000"}"#,
        );
        let a = AuthConfig::from_header(Some(&h)).unwrap();
        assert_eq!(a.user_pass(), Some(("user".into(), "pass".into())));
        assert_eq!(
            AuthConfig::from_header(Some("e30=")).unwrap(),
            AuthConfig::default()
        );
        assert!(AuthConfig::from_header(None).unwrap().is_empty());
        assert!(AuthConfig::from_header(Some("!!!")).is_err());
        let a = AuthConfig {
            auth: base64::encode(b"u:p:x"),
            ..Default::default()
        };
        assert_eq!(a.user_pass(), Some(("u".into(), "p:x".into())));
    }

    #[test]
    fn registry_errors_read_like_docker() {
        let e = registry_error(404, br#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{"Tag":"x"}}]}"#);
        assert_eq!(
            (e.kind(), e.message()),
            (ErrorKind::NotFound, "manifest unknown: manifest unknown")
        );
        let e = registry_error(401, b"");
        assert_eq!(e.message(), "unauthorized: authentication required");
        let e = registry_error(502, b"<html>");
        assert_eq!(
            e.message(),
            "received unexpected HTTP status: 502 Bad Gateway"
        );
    }
}
