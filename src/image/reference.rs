//! Image references as Docker parses them (distribution/reference grammar): `busybox` is
//! `docker.io/library/busybox:latest`, `localhost:5000/x:y` keeps its registry, `name@sha256:...`
//! pins a digest. Familiar forms drop `docker.io/` and `library/` again for display.

use crate::base::{Error, Result};
use crate::oci::image::Digest;
use std::fmt;

pub const DEFAULT_DOMAIN: &str = "docker.io";
const LEGACY_DOMAIN: &str = "index.docker.io";
const OFFICIAL_PREFIX: &str = "library/";
const NAME_MAX: usize = 255;

/// A named reference: registry domain, repository path, optional tag and digest.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Reference {
    pub domain: String,
    pub path: String,
    pub tag: Option<String>,
    pub digest: Option<Digest>,
}

/// What `ParseAnyReference` yields: a name, or a bare digest / 64-hex image ID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnyRef {
    Named(Reference),
    Digest(Digest),
}

fn invalid_format() -> Error {
    Error::invalid("invalid reference format")
}

fn is_64_hex(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
}

/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`
fn valid_path_component(c: &str) -> bool {
    let b = c.as_bytes();
    if b.is_empty() {
        return false;
    }
    let alnum = |x: u8| x.is_ascii_lowercase() || x.is_ascii_digit();
    let mut i = 0;
    let mut need_alnum = true;
    while i < b.len() {
        if alnum(b[i]) {
            need_alnum = false;
            i += 1;
            continue;
        }
        if need_alnum {
            return false;
        }
        // A separator: ".", "_", "__" or one or more "-".
        let sep_len = match b[i] {
            b'.' => 1,
            b'_' => {
                if b.get(i + 1) == Some(&b'_') {
                    2
                } else {
                    1
                }
            }
            b'-' => b[i..].iter().take_while(|x| **x == b'-').count(),
            _ => return false,
        };
        i += sep_len;
        need_alnum = true;
    }
    !need_alnum
}

/// `host[:port]` where host is a DNS-ish name, an IPv4 address or `[IPv6]`.
fn valid_domain(d: &str) -> bool {
    let (host, port) = if let Some(rest) = d.strip_prefix('[') {
        let Some(end) = rest.find(']') else {
            return false;
        };
        let host = &rest[..end];
        if host.is_empty()
            || !host
                .bytes()
                .all(|c| c.is_ascii_hexdigit() || c == b':' || c == b'.')
        {
            return false;
        }
        let after = &rest[end + 1..];
        match after.strip_prefix(':') {
            Some(p) => ("x", Some(p)),
            None if after.is_empty() => ("x", None),
            None => return false,
        }
    } else {
        match d.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (d, None),
        }
    };
    if let Some(p) = port {
        if p.is_empty() || !p.bytes().all(|c| c.is_ascii_digit()) {
            return false;
        }
    }
    !host.is_empty()
        && host.split('.').all(|c| {
            let b = c.as_bytes();
            !b.is_empty()
                && b[0].is_ascii_alphanumeric()
                && b[b.len() - 1].is_ascii_alphanumeric()
                && b.iter().all(|x| x.is_ascii_alphanumeric() || *x == b'-')
        })
}

fn valid_tag(t: &str) -> bool {
    let b = t.as_bytes();
    !b.is_empty()
        && b.len() <= 128
        && (b[0].is_ascii_alphanumeric() || b[0] == b'_')
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || b"_.-".contains(c))
}

/// Split the first path element off as a registry domain the way Docker decides it.
fn split_docker_domain(name: &str) -> (String, String) {
    let Some((maybe_domain, rest)) = name.split_once('/') else {
        return (DEFAULT_DOMAIN.into(), format!("{OFFICIAL_PREFIX}{name}"));
    };
    let (domain, mut remote) = if maybe_domain == "localhost"
        || maybe_domain.contains(['.', ':'])
        || maybe_domain.to_lowercase() != maybe_domain
    {
        let d = if maybe_domain == LEGACY_DOMAIN {
            DEFAULT_DOMAIN
        } else {
            maybe_domain
        };
        (d.to_string(), rest.to_string())
    } else {
        (DEFAULT_DOMAIN.to_string(), name.to_string())
    };
    if domain == DEFAULT_DOMAIN && !remote.contains('/') {
        remote = format!("{OFFICIAL_PREFIX}{remote}");
    }
    (domain, remote)
}

impl Reference {
    /// `ParseNormalizedNamed`: accepts familiar names and fills in docker.io / library/.
    pub fn parse_normalized(s: &str) -> Result<Reference> {
        if is_64_hex(s) {
            return Err(Error::invalid(format!(
                "invalid repository name ({s}), cannot specify 64-byte hexadecimal strings"
            )));
        }
        let (domain, remainder) = split_docker_domain(s);
        let remote_name = match remainder.find(':') {
            Some(i) => &remainder[..i],
            None => &remainder,
        };
        let remote_name = remote_name.split('@').next().unwrap_or(remote_name);
        if remote_name.to_lowercase() != remote_name {
            return Err(Error::invalid(format!(
                "invalid reference format: repository name ({remote_name}) must be lowercase"
            )));
        }
        Self::parse(&format!("{domain}/{remainder}"))
    }

    /// `Parse`: a full reference, `domain/path[:tag][@digest]` (the domain may be absent).
    pub fn parse(s: &str) -> Result<Reference> {
        if s.is_empty() {
            return Err(Error::invalid(
                "repository name must have at least one component",
            ));
        }
        let (name_tag, digest) = match s.split_once('@') {
            Some((a, d)) => (
                a,
                Some(Digest::parse(d).map_err(|e| {
                    if e.message().contains("unsupported") {
                        e
                    } else {
                        Error::invalid("invalid reference format")
                    }
                })?),
            ),
            None => (s, None),
        };
        let (name, tag) = match name_tag.rfind(':') {
            Some(i) if !name_tag[i..].contains('/') => {
                (&name_tag[..i], Some(name_tag[i + 1..].to_string()))
            }
            _ => (name_tag, None),
        };
        if let Some(t) = &tag {
            if !valid_tag(t) {
                return Err(invalid_format());
            }
        }
        if name.is_empty() {
            return Err(Error::invalid(
                "repository name must have at least one component",
            ));
        }
        let (domain, path) = match name.split_once('/') {
            Some((first, rest))
                if first.contains(['.', ':'])
                    || first == "localhost"
                    || first.to_lowercase() != first =>
            {
                (first.to_string(), rest.to_string())
            }
            _ => (String::new(), name.to_string()),
        };
        if !domain.is_empty() && !valid_domain(&domain) {
            return Err(invalid_format());
        }
        if !path.split('/').all(valid_path_component) {
            if path
                .split('/')
                .all(|c| valid_path_component(&c.to_lowercase()))
            {
                return Err(Error::invalid(
                    "invalid reference format: repository name must be lowercase",
                ));
            }
            return Err(invalid_format());
        }
        if name.len() > NAME_MAX {
            return Err(Error::invalid(
                "repository name must not be more than 255 characters",
            ));
        }
        Ok(Reference {
            domain,
            path,
            tag,
            digest,
        })
    }

    /// The full repository name (`docker.io/library/busybox`).
    pub fn name(&self) -> String {
        if self.domain.is_empty() {
            self.path.clone()
        } else {
            format!("{}/{}", self.domain, self.path)
        }
    }

    /// The repository name as users type it (`busybox`, `user/app`, `localhost:5000/x`).
    pub fn familiar_name(&self) -> String {
        if self.domain == DEFAULT_DOMAIN {
            if let Some(rest) = self.path.strip_prefix(OFFICIAL_PREFIX) {
                if !rest.contains('/') {
                    return rest.to_string();
                }
            }
            return self.path.clone();
        }
        self.name()
    }

    fn suffix(&self) -> String {
        let mut s = String::new();
        if let Some(t) = &self.tag {
            s.push(':');
            s.push_str(t);
        }
        if let Some(d) = &self.digest {
            s.push('@');
            s.push_str(d.as_str());
        }
        s
    }

    /// `busybox:latest`, `localhost:5000/x@sha256:...`.
    pub fn familiar(&self) -> String {
        format!("{}{}", self.familiar_name(), self.suffix())
    }

    /// The full form (`docker.io/library/busybox:latest`), the key berth stores.
    pub fn full(&self) -> String {
        format!("{}{}", self.name(), self.suffix())
    }

    /// `TagNameOnly`: a bare name gets the `latest` tag.
    pub fn with_default_tag(mut self) -> Reference {
        if self.tag.is_none() && self.digest.is_none() {
            self.tag = Some("latest".into());
        }
        self
    }

    pub fn is_name_only(&self) -> bool {
        self.tag.is_none() && self.digest.is_none()
    }

    /// A reference with a tag (and no digest): what `docker images` lists under RepoTags.
    pub fn is_tagged(&self) -> bool {
        self.tag.is_some() && self.digest.is_none()
    }

    pub fn is_canonical(&self) -> bool {
        self.digest.is_some()
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.full())
    }
}

/// moby's RepoTagReference for `repo`/`tag` query parameters (tag and import): the tag
/// parameter wins over a tag in `repo`, else `repo`'s own tag, else `latest`.
pub fn repo_tag(repo: &str, tag: &str) -> Result<Option<Reference>> {
    if repo.is_empty() {
        return Ok(None);
    }
    let mut r = Reference::parse_normalized(repo)?;
    if r.digest.is_some() {
        return Err(Error::invalid("cannot import digest reference"));
    }
    if !tag.is_empty() {
        if !valid_tag(tag) {
            return Err(invalid_format());
        }
        r.tag = Some(tag.to_string());
    }
    Ok(Some(r.with_default_tag()))
}

/// `ParseAnyReference`: a 64-hex string or `sha256:<hex>` is a digest, anything else a name.
pub fn parse_any(s: &str) -> Result<AnyRef> {
    if is_64_hex(s) {
        return Ok(AnyRef::Digest(Digest::from_hex(s)?));
    }
    if let Ok(d) = Digest::parse(s) {
        return Ok(AnyRef::Digest(d));
    }
    Reference::parse_normalized(s).map(AnyRef::Named)
}

/// `path.Match` from Go: `*`, `?`, `[...]` classes (with `^` negation and ranges) and `\`
/// escapes; `*` and `?` never match `/`.
pub fn glob_match(pattern: &str, name: &str) -> Result<bool> {
    let bad = || Error::invalid("syntax error in pattern");
    fn class(p: &[char], c: char) -> Option<(bool, usize)> {
        // p starts after '['; returns (matched, chars consumed including ']').
        let mut i = 0;
        let negate = p.first() == Some(&'^');
        if negate {
            i += 1;
        }
        let mut matched = false;
        let mut first = true;
        loop {
            let ch = *p.get(i)?;
            if ch == ']' && !first {
                i += 1;
                break;
            }
            first = false;
            let lo = if ch == '\\' {
                i += 1;
                *p.get(i)?
            } else {
                ch
            };
            i += 1;
            let mut hi = lo;
            if p.get(i) == Some(&'-') && p.get(i + 1).is_some_and(|x| *x != ']') {
                i += 1;
                hi = if p[i] == '\\' {
                    i += 1;
                    *p.get(i)?
                } else {
                    p[i]
                };
                i += 1;
            }
            if lo <= c && c <= hi {
                matched = true;
            }
        }
        Some((matched != negate, i))
    }
    fn m(p: &[char], s: &[char]) -> Option<bool> {
        if p.is_empty() {
            return Some(s.is_empty());
        }
        match p[0] {
            '*' => {
                let rest = &p[1..];
                for k in 0..=s.len() {
                    if k > 0 && s[k - 1] == '/' {
                        break;
                    }
                    if m(rest, &s[k..])? {
                        return Some(true);
                    }
                }
                // Validate the rest of the pattern even without a match.
                m(rest, &[]).map(|_| false)
            }
            '?' => Some(!s.is_empty() && s[0] != '/' && m(&p[1..], &s[1..])?),
            '[' => {
                let c = *s.first().unwrap_or(&'\0');
                let (ok, used) = class(&p[1..], c)?;
                Some(!s.is_empty() && c != '/' && ok && m(&p[1 + used..], &s[1..])?)
            }
            '\\' => {
                let c = *p.get(1)?;
                Some(!s.is_empty() && s[0] == c && m(&p[2..], &s[1..])?)
            }
            c => Some(!s.is_empty() && s[0] == c && m(&p[1..], &s[1..])?),
        }
    }
    let p: Vec<char> = pattern.chars().collect();
    let s: Vec<char> = name.chars().collect();
    m(&p, &s).ok_or_else(bad)
}

/// `FamiliarMatch`: the pattern against `name:tag` form, then against the bare name.
pub fn familiar_match(pattern: &str, r: &Reference) -> Result<bool> {
    if glob_match(pattern, &r.familiar())? {
        return Ok(true);
    }
    glob_match(pattern, &r.familiar_name())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full(s: &str) -> String {
        Reference::parse_normalized(s).unwrap().full()
    }

    #[test]
    fn normalizes_like_docker() {
        assert_eq!(full("busybox"), "docker.io/library/busybox");
        assert_eq!(
            Reference::parse_normalized("busybox")
                .unwrap()
                .with_default_tag()
                .full(),
            "docker.io/library/busybox:latest"
        );
        assert_eq!(full("small:peer"), "docker.io/library/small:peer");
        assert_eq!(full("user/app:1.0"), "docker.io/user/app:1.0");
        assert_eq!(full("localhost:5000/x:y"), "localhost:5000/x:y");
        assert_eq!(full("localhost/x"), "localhost/x");
        assert_eq!(full("index.docker.io/library/a"), "docker.io/library/a");
        assert_eq!(full("127.0.0.1:5000/a/b/c:t"), "127.0.0.1:5000/a/b/c:t");
        assert_eq!(full("[::1]:5000/a"), "[::1]:5000/a");
        let d = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        let r = Reference::parse_normalized(&format!("busybox@{d}")).unwrap();
        assert_eq!(r.digest.as_ref().unwrap().as_str(), d);
        assert_eq!(r.familiar(), format!("busybox@{d}"));
        let r = Reference::parse_normalized("docker.io/library/busybox:1").unwrap();
        assert_eq!(r.familiar(), "busybox:1");
        assert_eq!(
            Reference::parse_normalized("docker.io/user/app")
                .unwrap()
                .familiar_name(),
            "user/app"
        );
        assert_eq!(
            Reference::parse_normalized("localhost:5000/library/x")
                .unwrap()
                .familiar_name(),
            "localhost:5000/library/x"
        );
    }

    #[test]
    fn rejects_like_docker() {
        let e = |s: &str| Reference::parse_normalized(s).unwrap_err().to_string();
        assert_eq!(
            e("Busybox"),
            "invalid reference format: repository name (library/Busybox) must be lowercase"
        );
        assert_eq!(e("a:b:c"), "invalid reference format");
        assert_eq!(e("a b"), "invalid reference format");
        assert_eq!(e(""), "invalid reference format");
        assert!(e(&"a".repeat(64).replace('a', "f"))
            .contains("cannot specify 64-byte hexadecimal strings"));
        assert_eq!(e("x:-tag"), "invalid reference format");
        assert_eq!(
            e(&format!("x:{}", "t".repeat(129))),
            "invalid reference format"
        );
        assert_eq!(e("a//b"), "invalid reference format");
        assert_eq!(e("a__-b"), "invalid reference format");
        assert!(Reference::parse_normalized("a__b.c-d---e").is_ok());
        assert!(
            e(&"a/".repeat(130)).contains("invalid reference format")
                || e(&"a/".repeat(130)).contains("255")
        );
    }

    #[test]
    fn repo_tag_like_moby() {
        assert_eq!(
            repo_tag("imp:1", "").unwrap().unwrap().full(),
            "docker.io/library/imp:1"
        );
        assert_eq!(
            repo_tag("imp:1", "2").unwrap().unwrap().full(),
            "docker.io/library/imp:2"
        );
        assert_eq!(
            repo_tag("imp", "").unwrap().unwrap().full(),
            "docker.io/library/imp:latest"
        );
        assert!(repo_tag("", "x").unwrap().is_none());
        assert!(repo_tag("a", "-bad").is_err());
    }

    #[test]
    fn parse_any_sees_ids() {
        let hex = "9f27a38a616979eaf28207c2d2670a9c3980941c75965700f081635a10c2706c";
        assert!(matches!(parse_any(hex).unwrap(), AnyRef::Digest(_)));
        assert!(matches!(
            parse_any(&format!("sha256:{hex}")).unwrap(),
            AnyRef::Digest(_)
        ));
        assert!(matches!(
            parse_any("9f27a38a6169").unwrap(),
            AnyRef::Named(_)
        ));
    }

    #[test]
    fn glob_like_go_path_match() {
        assert!(glob_match("busy*", "busybox").unwrap());
        assert!(!glob_match("*", "user/app").unwrap());
        assert!(glob_match("*/*", "user/app").unwrap());
        assert!(glob_match("sm?ll:p[a-f]er", "small:peer").unwrap());
        assert!(glob_match("[^x]mall", "small").unwrap());
        assert!(glob_match("a\\*", "a*").unwrap());
        assert!(glob_match("[", "x").is_err());
        let r = Reference::parse_normalized("small:peer").unwrap();
        assert!(familiar_match("small", &r).unwrap());
        assert!(familiar_match("small:peer", &r).unwrap());
        assert!(familiar_match("sm*:*", &r).unwrap());
        assert!(!familiar_match("big", &r).unwrap());
    }
}
