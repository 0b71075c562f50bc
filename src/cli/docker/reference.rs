//! Image references as the CLI normalizes them (`busybox` → `docker.io/library/busybox`,
//! `127.0.0.1:5000/x:1`), for the query parameters of pull, push and tag and for choosing the
//! credentials of a registry.

/// Docker Hub's registry name in references.
pub const DEFAULT_DOMAIN: &str = "docker.io";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    pub domain: String,
    pub path: String,
    pub tag: Option<String>,
    pub digest: Option<String>,
}

fn valid_component(c: &str) -> bool {
    // [a-z0-9]+ separated by `.`, `_`, `__` or runs of `-`.
    if c.is_empty() {
        return false;
    }
    let b = c.as_bytes();
    if !b[0].is_ascii_lowercase() && !b[0].is_ascii_digit() {
        return false;
    }
    if !b[b.len() - 1].is_ascii_lowercase() && !b[b.len() - 1].is_ascii_digit() {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'a'..=b'z' | b'0'..=b'9' => i += 1,
            b'.' => {
                if !b.get(i + 1).is_some_and(|c| c.is_ascii_alphanumeric()) {
                    return false;
                }
                i += 1;
            }
            b'_' => {
                let run = b[i..].iter().take_while(|c| **c == b'_').count();
                if run > 2 {
                    return false;
                }
                i += run;
            }
            b'-' => i += 1,
            _ => return false,
        }
    }
    true
}

fn valid_tag(t: &str) -> bool {
    !t.is_empty()
        && t.len() <= 128
        && (t.as_bytes()[0].is_ascii_alphanumeric() || t.as_bytes()[0] == b'_')
        && t.bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'.' || c == b'-')
}

fn valid_domain(d: &str) -> bool {
    let host = match d.rsplit_once(':') {
        Some((h, p)) if !h.contains(']') || h.ends_with(']') => {
            if p.is_empty() || !p.bytes().all(|c| c.is_ascii_digit()) {
                return false;
            }
            h
        }
        _ => d,
    };
    if host.starts_with('[') && host.ends_with(']') {
        return host[1..host.len() - 1]
            .parse::<std::net::Ipv6Addr>()
            .is_ok();
    }
    !host.is_empty()
        && host
            .split('.')
            .all(|p| !p.is_empty() && p.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-'))
}

impl Reference {
    /// `ParseNormalizedNamed`: errors in Docker's words.
    pub fn parse(s: &str) -> Result<Reference, String> {
        let bad = || "invalid reference format".to_string();
        if s.is_empty() {
            return Err(bad());
        }
        let (rest, digest) = match s.split_once('@') {
            Some((r, d)) => {
                let ok = d.split_once(':').is_some_and(|(alg, hex)| {
                    !alg.is_empty() && hex.len() >= 32 && hex.bytes().all(|c| c.is_ascii_hexdigit())
                });
                if !ok {
                    return Err(bad());
                }
                (r, Some(d.to_string()))
            }
            None => (s, None),
        };
        let (name, tag) = match rest.rfind(':') {
            Some(i) if !rest[i..].contains('/') => (&rest[..i], Some(rest[i + 1..].to_string())),
            _ => (rest, None),
        };
        if let Some(t) = &tag {
            if !valid_tag(t) {
                return Err(bad());
            }
        }
        let (domain, path) = match name.split_once('/') {
            Some((d, p))
                if d.contains(['.', ':'])
                    || d == "localhost"
                    || d.bytes().any(|c| c.is_ascii_uppercase()) =>
            {
                (d.to_string(), p.to_string())
            }
            _ => (DEFAULT_DOMAIN.to_string(), name.to_string()),
        };
        if path.bytes().any(|c| c.is_ascii_uppercase()) {
            let shown = if domain == DEFAULT_DOMAIN && !path.contains('/') {
                format!("library/{path}")
            } else {
                path
            };
            return Err(format!(
                "invalid reference format: repository name ({shown}) must be lowercase"
            ));
        }
        if !valid_domain(&domain) || !path.split('/').all(valid_component) {
            return Err(bad());
        }
        let path = if domain == DEFAULT_DOMAIN && !path.contains('/') {
            format!("library/{path}")
        } else {
            path
        };
        if domain.len() + 1 + path.len() > 255 {
            return Err("repository name must not be more than 255 characters".into());
        }
        Ok(Reference {
            domain,
            path,
            tag,
            digest,
        })
    }

    /// `docker.io/library/busybox`.
    pub fn name(&self) -> String {
        format!("{}/{}", self.domain, self.path)
    }

    /// `busybox`, `127.0.0.1:5000/x`.
    pub fn familiar_name(&self) -> String {
        if self.domain == DEFAULT_DOMAIN {
            self.path
                .strip_prefix("library/")
                .unwrap_or(&self.path)
                .to_string()
        } else {
            self.name()
        }
    }

    /// Add `latest` when neither a tag nor a digest is given.
    pub fn with_default_tag(mut self) -> Reference {
        if self.tag.is_none() && self.digest.is_none() {
            self.tag = Some("latest".into());
        }
        self
    }

    fn suffix(&self) -> String {
        let mut s = String::new();
        if let Some(t) = &self.tag {
            s.push(':');
            s.push_str(t);
        }
        if let Some(d) = &self.digest {
            s.push('@');
            s.push_str(d);
        }
        s
    }

    /// `docker.io/library/busybox:latest`.
    pub fn full(&self) -> String {
        format!("{}{}", self.name(), self.suffix())
    }

    /// `busybox:latest`.
    pub fn familiar(&self) -> String {
        format!("{}{}", self.familiar_name(), self.suffix())
    }

    /// The key of this registry's credentials in `config.json`.
    pub fn auth_key(&self) -> String {
        if self.domain == DEFAULT_DOMAIN {
            super::config::INDEX_SERVER.to_string()
        } else {
            self.domain.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_like_docker() {
        let r = Reference::parse("busybox").unwrap();
        assert_eq!(r.full(), "docker.io/library/busybox");
        assert_eq!(
            r.clone().with_default_tag().full(),
            "docker.io/library/busybox:latest"
        );
        assert_eq!(r.familiar_name(), "busybox");
        let r = Reference::parse("127.0.0.1:5000/team/app:1.0").unwrap();
        assert_eq!(
            (r.domain.as_str(), r.path.as_str(), r.tag.as_deref()),
            ("127.0.0.1:5000", "team/app", Some("1.0"))
        );
        assert_eq!(r.familiar(), "127.0.0.1:5000/team/app:1.0");
        assert_eq!(r.auth_key(), "127.0.0.1:5000");
        let r = Reference::parse("localhost/x").unwrap();
        assert_eq!(r.domain, "localhost");
        let r = Reference::parse(
            "user/app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        )
        .unwrap();
        assert_eq!(r.name(), "docker.io/user/app");
        assert!(r.tag.is_none() && r.digest.is_some());
        assert_eq!(
            Reference::parse("Busybox").unwrap_err(),
            "invalid reference format: repository name (library/Busybox) must be lowercase"
        );
        assert_eq!(
            Reference::parse("a:b:c").unwrap_err(),
            "invalid reference format"
        );
        assert!(Reference::parse("-x").is_err());
        assert!(Reference::parse("x:").is_err());
        assert_eq!(
            Reference::parse("small:peer").unwrap().auth_key(),
            "https://index.docker.io/v1/"
        );
    }
}
