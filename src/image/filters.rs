//! Engine API `filters` (JSON `{"key":{"value":true}}` or the legacy `{"key":["value"]}`), and
//! the timestamps they and image configs carry.

use crate::base::{Error, Result};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filters(pub BTreeMap<String, BTreeSet<String>>);

fn invalid_filter(key: &str, values: Option<&BTreeSet<String>>) -> Error {
    let mut m = format!("invalid filter '{key}");
    if let Some(v) = values {
        m.push('=');
        m.push_str(&v.iter().cloned().collect::<Vec<_>>().join(","));
    }
    m.push('\'');
    Error::invalid(m)
}

impl Filters {
    /// Parse the `filters` query parameter (empty → no filters).
    pub fn parse(json: &str) -> Result<Filters> {
        if json.trim().is_empty() {
            return Ok(Filters::default());
        }
        let v: serde_json::Value = serde_json::from_str(json)
            .map_err(|e| Error::invalid(format!("invalid filter: {e}")))?;
        let obj = v
            .as_object()
            .ok_or_else(|| Error::invalid("invalid filter: not an object"))?;
        let mut out = BTreeMap::new();
        for (k, vals) in obj {
            let mut set = BTreeSet::new();
            match vals {
                serde_json::Value::Object(m) => {
                    for (val, on) in m {
                        if on.as_bool().unwrap_or(false) {
                            set.insert(val.clone());
                        }
                    }
                }
                serde_json::Value::Array(a) => {
                    for x in a {
                        set.insert(
                            x.as_str()
                                .map(str::to_string)
                                .unwrap_or_else(|| x.to_string()),
                        );
                    }
                }
                _ => return Err(Error::invalid(format!("invalid filter '{k}'"))),
            }
            out.insert(k.clone(), set);
        }
        Ok(Filters(out))
    }

    pub fn from_pairs(pairs: &[(&str, &str)]) -> Filters {
        let mut f = Filters::default();
        for (k, v) in pairs {
            f.0.entry(k.to_string()).or_default().insert(v.to_string());
        }
        f
    }

    /// Every key must be one of `accepted`.
    pub fn validate(&self, accepted: &[&str]) -> Result<()> {
        for k in self.0.keys() {
            if !accepted.contains(&k.as_str()) {
                return Err(invalid_filter(k, None));
            }
        }
        Ok(())
    }

    pub fn contains(&self, key: &str) -> bool {
        self.0.contains_key(key)
    }

    pub fn get(&self, key: &str) -> Vec<String> {
        self.0
            .get(key)
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// `GetBoolOrDefault`: "true"/"1" or "false"/"0", anything else (or both) is an error.
    pub fn bool_or(&self, key: &str, default: bool) -> Result<bool> {
        let Some(vals) = self.0.get(key) else {
            return Ok(default);
        };
        if vals.is_empty() {
            return Ok(default);
        }
        let t = vals
            .iter()
            .any(|v| v.eq_ignore_ascii_case("true") || v == "1");
        let f = vals
            .iter()
            .any(|v| v.eq_ignore_ascii_case("false") || v == "0");
        if t == f
            || vals.len() > 1
                && vals.iter().any(|v| {
                    !matches!(
                        v.to_ascii_lowercase().as_str(),
                        "true" | "false" | "1" | "0"
                    )
                })
        {
            return Err(invalid_filter(key, Some(vals)));
        }
        Ok(t)
    }

    /// `MatchKVList`: every `k` or `k=v` value of `key` matches the labels (true when absent).
    pub fn match_kv(&self, key: &str, labels: Option<&BTreeMap<String, String>>) -> bool {
        let Some(vals) = self.0.get(key) else {
            return true;
        };
        let empty = BTreeMap::new();
        let labels = labels.unwrap_or(&empty);
        if labels.is_empty() && !vals.is_empty() {
            return false;
        }
        vals.iter().all(|v| match v.split_once('=') {
            Some((k, want)) => labels.get(k).is_some_and(|x| x == want),
            None => labels.contains_key(v.as_str()),
        })
    }
}

/// Parse RFC 3339 (`2026-11-22T13:06:49.668261992Z`, offsets allowed) into (seconds, nanos).
pub fn parse_rfc3339(s: &str) -> Option<(i64, u32)> {
    let b = s.as_bytes();
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || !(b[10] == b'T' || b[10] == b't' || b[10] == b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        std::str::from_utf8(&b[r]).ok()?.parse().ok()
    };
    let (y, mo, d, h, mi, sec) = (
        num(0..4)?,
        num(5..7)?,
        num(8..10)?,
        num(11..13)?,
        num(14..16)?,
        num(17..19)?,
    );
    let mut i = 19;
    let mut nanos: u32 = 0;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        let frac = &s[start..i];
        let digits: String = frac.chars().take(9).collect();
        nanos = format!("{digits:0<9}").parse().ok()?;
    }
    let offset: i64 = match b.get(i) {
        Some(b'Z') | Some(b'z') => 0,
        Some(b'+') | Some(b'-') => {
            let sign = if b[i] == b'+' { 1 } else { -1 };
            let oh: i64 = s.get(i + 1..i + 3)?.parse().ok()?;
            let om: i64 = s.get(i + 4..i + 6)?.parse().ok()?;
            sign * (oh * 3600 + om * 60)
        }
        _ => return None,
    };
    Some((
        days_from_civil(y, mo as u32, d as u32) * 86400 + h * 3600 + mi * 60 + sec - offset,
        nanos,
    ))
}

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

/// Docker's `GetTimestamp` for `until`/`since` values: unix seconds (with fraction), RFC 3339
/// dates or times, or a Go duration (`10m`, `1h30m`) meaning that long before `now`.
pub fn parse_timestamp(v: &str, now: i64) -> Result<(i64, u32)> {
    let bad = || {
        Error::invalid(format!(
            "failed to parse value as time or duration: \"{v}\""
        ))
    };
    if let Some(d) = parse_duration(v) {
        return Ok((now - d, 0));
    }
    if let Some((a, b)) = v.split_once('.') {
        if let (Ok(s), true) = (a.parse::<i64>(), b.chars().all(|c| c.is_ascii_digit())) {
            let digits: String = b.chars().take(9).collect();
            return Ok((s, format!("{digits:0<9}").parse().map_err(|_| bad())?));
        }
    }
    if let Ok(s) = v.parse::<i64>() {
        return Ok((s, 0));
    }
    if let Some(t) = parse_rfc3339(v) {
        return Ok(t);
    }
    if v.len() == 10 {
        if let Some(t) = parse_rfc3339(&format!("{v}T00:00:00Z")) {
            return Ok(t);
        }
    }
    if v.len() == 19 {
        if let Some(t) = parse_rfc3339(&format!("{v}Z")) {
            return Ok(t);
        }
    }
    Err(bad())
}

/// Go duration strings: `300ms`, `1.5h`, `2h45m` (whole seconds are kept).
fn parse_duration(s: &str) -> Option<i64> {
    if s.is_empty() || s.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return None;
    }
    let mut total = 0f64;
    let mut rest = s;
    while !rest.is_empty() {
        let n = rest.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
        if n == 0 {
            return None;
        }
        let val: f64 = rest[..n].parse().ok()?;
        rest = &rest[n..];
        let u = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let mult = match &rest[..u] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        total += val * mult;
        rest = &rest[u..];
    }
    Some(total as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_filter_shapes() {
        let f = Filters::parse(r#"{"dangling":{"true":true},"label":["a=b","c"]}"#).unwrap();
        assert!(f.bool_or("dangling", false).unwrap());
        assert_eq!(f.get("label"), ["a=b", "c"]);
        assert!(f
            .validate(&["dangling"])
            .unwrap_err()
            .to_string()
            .contains("invalid filter 'label'"));
        let mut labels = BTreeMap::new();
        labels.insert("a".to_string(), "b".to_string());
        labels.insert("c".to_string(), "".to_string());
        assert!(f.match_kv("label", Some(&labels)));
        labels.insert("a".into(), "x".into());
        assert!(!f.match_kv("label", Some(&labels)));
        assert!(Filters::parse(r#"{"dangling":["maybe"]}"#)
            .unwrap()
            .bool_or("dangling", false)
            .is_err());
    }

    #[test]
    fn timestamps() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some((0, 0)));
        assert_eq!(
            parse_rfc3339("2026-11-22T13:06:49.668261992Z"),
            Some((1795352809, 668261992))
        );
        assert_eq!(
            parse_rfc3339("2026-11-22T14:06:49+01:00"),
            Some((1795352809, 0))
        );
        assert_eq!(parse_timestamp("1795352809", 0).unwrap(), (1795352809, 0));
        assert_eq!(parse_timestamp("10m", 1000).unwrap(), (400, 0));
        assert_eq!(parse_timestamp("1h30m", 10000).unwrap(), (4600, 0));
        assert_eq!(parse_timestamp("2026-11-22", 0).unwrap().0, 1795305600);
        assert!(parse_timestamp("yesterday", 0).is_err());
    }
}
