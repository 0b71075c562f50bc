//! Engine API versions and their negotiation.
//!
//! The server speaks [`MIN_API_VERSION`] up to [`MAX_API_VERSION`] and announces the maximum in
//! the `Api-Version` header of every response; clients (the Docker CLI pings `/_ping` first)
//! downgrade to it. A request names its version in the path (`/v1.41/info`); without one it gets
//! the maximum. Versions compare like moby's `versions.Compare`: dot-separated integers, missing
//! or non-numeric parts count as 0.

use crate::base::{Error, Result};
use std::cmp::Ordering;
use std::fmt;

/// The newest API version served: the one the Docker CLI 28.2 speaks.
pub const MAX_API_VERSION: &str = "1.50";
/// The oldest API version served (moby's hard floor).
pub const MIN_API_VERSION: &str = "1.24";

/// Compare two version strings as moby does.
pub fn compare(a: &str, b: &str) -> Ordering {
    let mut pa = a.split('.');
    let mut pb = b.split('.');
    loop {
        match (pa.next(), pb.next()) {
            (None, None) => return Ordering::Equal,
            (x, y) => {
                let num = |p: Option<&str>| p.and_then(|s| s.parse::<u64>().ok()).unwrap_or(0);
                match num(x).cmp(&num(y)) {
                    Ordering::Equal => continue,
                    o => return o,
                }
            }
        }
    }
}

/// The API version a request is served at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiVersion(String);

impl ApiVersion {
    pub fn max() -> ApiVersion {
        ApiVersion(MAX_API_VERSION.to_string())
    }
    /// The version a request asked for (`None`: no `/vX.Y` prefix), checked against our range;
    /// errors carry Docker's words and are InvalidArgument (HTTP 400).
    pub fn negotiate(requested: Option<&str>) -> Result<ApiVersion> {
        let Some(v) = requested else {
            return Ok(ApiVersion::max());
        };
        if compare(v, MIN_API_VERSION) == Ordering::Less {
            return Err(Error::invalid(format!(
                "client version {v} is too old. Minimum supported API version is {MIN_API_VERSION}, please upgrade your client to a newer version"
            )));
        }
        if compare(v, MAX_API_VERSION) == Ordering::Greater {
            return Err(Error::invalid(format!(
                "client version {v} is too new. Maximum supported API version is {MAX_API_VERSION}"
            )));
        }
        Ok(ApiVersion(v.to_string()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// `version < v`, the form moby's version gates use (`versions.LessThan(version, "1.44")`).
    pub fn lt(&self, v: &str) -> bool {
        compare(&self.0, v) == Ordering::Less
    }
    /// `version >= v`.
    pub fn ge(&self, v: &str) -> bool {
        !self.lt(v)
    }
}

impl fmt::Display for ApiVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Split `/v1.41/containers/json` into (`Some("1.41")`, `/containers/json`). The prefix is
/// `/v` + digits and dots + `/`, as moby's router pattern `/v{version:[0-9.]+}`.
pub fn split_prefix(path: &str) -> (Option<&str>, &str) {
    if let Some(rest) = path.strip_prefix("/v") {
        let end = rest.find('/').unwrap_or(rest.len());
        let v = &rest[..end];
        if !v.is_empty() && v.bytes().all(|c| c.is_ascii_digit() || c == b'.') && end < rest.len() {
            return (Some(v), &rest[end..]);
        }
    }
    (None, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compares_like_moby() {
        assert_eq!(compare("1.41", "1.41"), Ordering::Equal);
        assert_eq!(compare("1.9", "1.41"), Ordering::Less);
        assert_eq!(compare("1.50", "1.5"), Ordering::Greater);
        assert_eq!(compare("1.41.0", "1.41"), Ordering::Equal);
        assert_eq!(compare("2", "1.99"), Ordering::Greater);
        assert_eq!(compare("1.x", "1.0"), Ordering::Equal);
    }

    #[test]
    fn negotiation_bounds_and_messages() {
        assert_eq!(ApiVersion::negotiate(None).unwrap().as_str(), "1.50");
        assert_eq!(
            ApiVersion::negotiate(Some("1.41")).unwrap().as_str(),
            "1.41"
        );
        assert_eq!(
            ApiVersion::negotiate(Some("1.24")).unwrap().as_str(),
            "1.24"
        );
        assert_eq!(
            ApiVersion::negotiate(Some("1.50")).unwrap().as_str(),
            "1.50"
        );
        let e = ApiVersion::negotiate(Some("1.99")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "client version 1.99 is too new. Maximum supported API version is 1.50"
        );
        assert_eq!(e.kind(), crate::base::ErrorKind::InvalidArgument);
        let e = ApiVersion::negotiate(Some("1.12")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "client version 1.12 is too old. Minimum supported API version is 1.24, please upgrade your client to a newer version"
        );
    }

    #[test]
    fn version_gates() {
        let v = ApiVersion::negotiate(Some("1.43")).unwrap();
        assert!(v.lt("1.44") && v.ge("1.43") && v.ge("1.24"));
    }

    #[test]
    fn splits_prefixes() {
        assert_eq!(
            split_prefix("/v1.41/containers/json"),
            (Some("1.41"), "/containers/json")
        );
        assert_eq!(split_prefix("/v1/version"), (Some("1"), "/version"));
        assert_eq!(split_prefix("/version"), (None, "/version"));
        assert_eq!(split_prefix("/vabc/version"), (None, "/vabc/version"));
        assert_eq!(split_prefix("/v1.41"), (None, "/v1.41"));
        assert_eq!(split_prefix("/volumes"), (None, "/volumes"));
    }
}
