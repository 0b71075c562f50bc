//! The parts of URLs the API needs: percent-decoding of paths, query strings as Go's
//! `url.ParseQuery` reads them, and encoding for the client side.

/// Decode `%XX` escapes (invalid escapes stay as they are); `plus_is_space` for query strings.
pub fn percent_decode(s: &str, plus_is_space: bool) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() && hex(b[i + 1]).is_some() && hex(b[i + 2]).is_some() => {
                out.push(hex(b[i + 1]).unwrap_or(0) * 16 + hex(b[i + 2]).unwrap_or(0));
                i += 3;
            }
            b'+' if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// `a=1&b=x+y&c` → [("a","1"), ("b","x y"), ("c","")], in order, repeats kept.
pub fn parse_query(q: &str) -> Vec<(String, String)> {
    q.split(['&', ';'])
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k, true), percent_decode(v, true))
        })
        .collect()
}

/// Escape a query key or value (Go's `url.QueryEscape`: space becomes `+`).
pub fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for &c in s.as_bytes() {
        match c {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(c as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{c:02X}")),
        }
    }
    out
}

/// Escape a path, keeping `/` (for names such as `library/busybox` in `/images/{name}/json`).
pub fn path_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for &c in s.as_bytes() {
        match c {
            b'A'..=b'Z'
            | b'a'..=b'z'
            | b'0'..=b'9'
            | b'-'
            | b'_'
            | b'.'
            | b'~'
            | b'/'
            | b':'
            | b'@'
            | b'+'
            | b'='
            | b',' => out.push(c as char),
            _ => out.push_str(&format!("%{c:02X}")),
        }
    }
    out
}

/// Build `a=1&b=2` from pairs.
pub fn encode_query<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    pairs
        .into_iter()
        .map(|(k, v)| format!("{}={}", query_escape(k), query_escape(v)))
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_paths_and_queries() {
        assert_eq!(
            percent_decode("/images/library%2Fbusybox/json", false),
            "/images/library/busybox/json"
        );
        assert_eq!(percent_decode("a+b%zz%4", false), "a+b%zz%4");
        assert_eq!(
            parse_query("all=1&filters=%7B%22label%22%3A%5B%22a%3Db%22%5D%7D&x=y+z&flag"),
            [
                ("all", "1"),
                ("filters", r#"{"label":["a=b"]}"#),
                ("x", "y z"),
                ("flag", "")
            ]
            .map(|(a, b)| (a.to_string(), b.to_string()))
        );
    }

    #[test]
    fn encodes_round_trip() {
        let q = encode_query([("filters", r#"{"dangling":["true"]}"#), ("t", "a b&c")]);
        assert_eq!(
            q,
            "filters=%7B%22dangling%22%3A%5B%22true%22%5D%7D&t=a+b%26c"
        );
        let back = parse_query(&q);
        assert_eq!(back[1].1, "a b&c");
        assert_eq!(
            path_escape("/images/reg:5000/a b/json"),
            "/images/reg:5000/a%20b/json"
        );
    }
}
