//! JSON request bodies as Docker reads them, with Docker's error messages.
//!
//! Docker decodes with Go's encoding/json, so clients and tests see Go's syntax errors
//! (`invalid character 'b' looking for beginning of object key string`). serde_json's messages
//! differ, so a small scanner finds the first syntax error and words it as Go does; serde then
//! does the typed decoding.

use crate::base::{Error, Result};
use crate::http::{Body, Headers};
use serde::de::DeserializeOwned;

/// Request bodies larger than this are refused when read as JSON.
pub const MAX_JSON_BODY: usize = 16 * 1024 * 1024;

/// Go's `quoteChar`: how a byte is shown inside `invalid character '…'`.
fn quote_char(c: u8) -> String {
    match c {
        b'\'' => r"'\''".to_string(),
        b'"' => "'\"'".to_string(),
        0x07 => r"'\a'".into(),
        0x08 => r"'\b'".into(),
        0x0c => r"'\f'".into(),
        b'\n' => r"'\n'".into(),
        b'\r' => r"'\r'".into(),
        b'\t' => r"'\t'".into(),
        0x0b => r"'\v'".into(),
        b'\\' => r"'\\'".into(),
        0x20..=0x7e => format!("'{}'", c as char),
        0x00..=0x1f | 0x7f => format!(r"'\x{c:02x}'"),
        // Go quotes the byte as the Latin-1 rune; C1 controls, NBSP and soft hyphen are escaped.
        0x80..=0xa0 | 0xad => format!(r"'\u{:04x}'", c as u32),
        _ => format!("'{}'", char::from(c)),
    }
}

#[derive(Clone, Copy)]
enum Frame {
    Object,
    Array,
}

/// How the input ends: `Unmarshal` wants exactly one value; `Decoder` (request bodies) reads one
/// value and ignores what follows, and reports truncation as `unexpected EOF`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Unmarshal,
    Decoder,
}

struct Scanner<'a> {
    b: &'a [u8],
    pos: usize,
    mode: Mode,
}

type ScanResult = std::result::Result<(), String>;

impl Scanner<'_> {
    fn eof(&self) -> String {
        match self.mode {
            Mode::Unmarshal => "unexpected end of JSON input".into(),
            Mode::Decoder => "unexpected EOF".into(),
        }
    }
    fn skip_ws(&mut self) {
        while self.pos < self.b.len() && matches!(self.b[self.pos], b' ' | b'\t' | b'\n' | b'\r') {
            self.pos += 1;
        }
    }
    fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }
    fn next(&mut self) -> std::result::Result<u8, String> {
        let c = self.peek().ok_or_else(|| self.eof())?;
        self.pos += 1;
        Ok(c)
    }
    fn bad(c: u8, ctx: &str) -> String {
        format!("invalid character {} {ctx}", quote_char(c))
    }

    fn string(&mut self) -> ScanResult {
        // The opening quote is consumed.
        loop {
            match self.next()? {
                b'"' => return Ok(()),
                b'\\' => match self.next()? {
                    b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => {}
                    b'u' => {
                        for _ in 0..4 {
                            let c = self.next()?;
                            if !c.is_ascii_hexdigit() {
                                return Err(Self::bad(c, r"in \u hexadecimal character escape"));
                            }
                        }
                    }
                    c => return Err(Self::bad(c, "in string escape code")),
                },
                c if c < 0x20 => return Err(Self::bad(c, "in string literal")),
                _ => {}
            }
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
        }
        self.pos - start
    }

    fn number(&mut self, first: u8) -> ScanResult {
        if first == b'-' {
            match self.next()? {
                b'0' => {}
                b'1'..=b'9' => {
                    self.digits();
                }
                c => return Err(Self::bad(c, "in numeric literal")),
            }
        } else if first != b'0' {
            self.digits();
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            match self.next()? {
                c if c.is_ascii_digit() => {
                    self.digits();
                }
                c => return Err(Self::bad(c, "after decimal point in numeric literal")),
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.pos += 1;
            let mut c = self.next()?;
            if c == b'+' || c == b'-' {
                c = self.next()?;
            }
            if !c.is_ascii_digit() {
                return Err(Self::bad(c, "in exponent of numeric literal"));
            }
            self.digits();
        }
        Ok(())
    }

    fn literal(&mut self, word: &str) -> ScanResult {
        // The first letter is consumed.
        for expect in word.bytes().skip(1) {
            let c = self.next()?;
            if c != expect {
                return Err(Self::bad(
                    c,
                    &format!("in literal {word} (expecting {})", quote_char(expect)),
                ));
            }
        }
        Ok(())
    }

    fn key(&mut self) -> ScanResult {
        self.skip_ws();
        match self.next()? {
            b'"' => self.string()?,
            c => return Err(Self::bad(c, "looking for beginning of object key string")),
        }
        self.skip_ws();
        match self.next()? {
            b':' => Ok(()),
            c => Err(Self::bad(c, "after object key")),
        }
    }

    /// Scan one value; Ok when it is well-formed.
    fn value(&mut self) -> ScanResult {
        let mut stack: Vec<Frame> = Vec::new();
        'value: loop {
            self.skip_ws();
            match self.next()? {
                b'{' => {
                    self.skip_ws();
                    if self.peek() == Some(b'}') {
                        self.pos += 1;
                    } else {
                        self.key()?;
                        stack.push(Frame::Object);
                        continue 'value;
                    }
                }
                b'[' => {
                    self.skip_ws();
                    if self.peek() == Some(b']') {
                        self.pos += 1;
                    } else {
                        stack.push(Frame::Array);
                        continue 'value;
                    }
                }
                b'"' => self.string()?,
                c @ (b'-' | b'0'..=b'9') => self.number(c)?,
                b't' => self.literal("true")?,
                b'f' => self.literal("false")?,
                b'n' => self.literal("null")?,
                c => return Err(Self::bad(c, "looking for beginning of value")),
            }
            // A value ended: continue the enclosing containers.
            loop {
                let Some(top) = stack.last().copied() else {
                    return Ok(());
                };
                self.skip_ws();
                let c = self.next()?;
                match (top, c) {
                    (Frame::Object, b',') => {
                        self.key()?;
                        continue 'value;
                    }
                    (Frame::Array, b',') => continue 'value,
                    (Frame::Object, b'}') | (Frame::Array, b']') => {
                        stack.pop();
                    }
                    (Frame::Object, c) => return Err(Self::bad(c, "after object key:value pair")),
                    (Frame::Array, c) => return Err(Self::bad(c, "after array element")),
                }
            }
        }
    }
}

/// The first syntax error in `input`, in Go's words; `None` when the JSON is well-formed.
pub fn go_syntax_error(input: &[u8], mode: Mode) -> Option<String> {
    let mut s = Scanner {
        b: input,
        pos: 0,
        mode,
    };
    if let Err(e) = s.value() {
        return Some(e);
    }
    if mode == Mode::Unmarshal {
        s.skip_ws();
        if let Some(c) = s.peek() {
            return Some(Scanner::bad(c, "after top-level value"));
        }
    }
    None
}

/// Decode JSON text with Go's syntax error messages (InvalidArgument errors).
pub fn decode<T: DeserializeOwned>(input: &[u8], mode: Mode) -> Result<T> {
    if let Some(e) = go_syntax_error(input, mode) {
        return Err(Error::invalid(e));
    }
    let mut de = serde_json::Deserializer::from_slice(input);
    let v = T::deserialize(&mut de).map_err(|e| Error::invalid(type_error(&e)))?;
    Ok(v)
}

/// serde's type errors say "invalid type: string \"x\", expected a boolean at line 1 column 9";
/// keep its words but drop the position, which Go does not give either.
fn type_error(e: &serde_json::Error) -> String {
    let s = e.to_string();
    match s.rfind(" at line ") {
        Some(i) => format!("json: {}", &s[..i]),
        None => format!("json: {s}"),
    }
}

/// Read a request body as JSON the way moby's handlers do: a body with a Content-Type other than
/// JSON is refused, an empty body is `got EOF while reading request body`, syntax errors are Go's.
pub async fn read_body<T: DeserializeOwned>(headers: &Headers, body: &mut Body<'_>) -> Result<T> {
    check_content_type(headers)?;
    let data = body
        .read_all(MAX_JSON_BODY)
        .await
        .map_err(|e| Error::invalid(format!("read request body: {e}")))?;
    if data.iter().all(|c| c.is_ascii_whitespace()) {
        return Err(Error::invalid("got EOF while reading request body"));
    }
    decode(&data, Mode::Decoder)
}

/// moby's `CheckForJSON`: no Content-Type, or a JSON one.
pub fn check_content_type(headers: &Headers) -> Result<()> {
    let Some(ct) = headers.get("Content-Type") else {
        return Ok(());
    };
    let media = ct.split(';').next().unwrap_or("").trim();
    if media.is_empty() || media.eq_ignore_ascii_case("application/json") {
        return Ok(());
    }
    Err(Error::invalid(format!(
        "Content-Type specified ({ct}) must be 'application/json'"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(s: &str) -> String {
        go_syntax_error(s.as_bytes(), Mode::Unmarshal).unwrap_or_else(|| "OK".into())
    }

    #[test]
    fn valid_json_passes() {
        for ok in [
            r#"{}"#,
            r#"[]"#,
            r#" {"a": [1, -2.5e+3, true, false, null, "x\u00e9\n"], "b": {}} "#,
            "0",
            "-0.1",
            r#""\/""#,
        ] {
            assert_eq!(err(ok), "OK", "{ok}");
        }
    }

    #[test]
    fn messages_match_go() {
        // Each expected string is what Go 1.x's json.Unmarshal says for the input.
        assert_eq!(
            err("{bad"),
            "invalid character 'b' looking for beginning of object key string"
        );
        assert_eq!(
            err("{invalid json"),
            "invalid character 'i' looking for beginning of object key string"
        );
        assert_eq!(err(""), "unexpected end of JSON input");
        assert_eq!(err("{\"a\":1"), "unexpected end of JSON input");
        assert_eq!(err("{\"a\" 1}"), "invalid character '1' after object key");
        assert_eq!(
            err("{\"a\":1 \"b\"}"),
            "invalid character '\"' after object key:value pair"
        );
        assert_eq!(err("[1 2]"), "invalid character '2' after array element");
        assert_eq!(err("[01]"), "invalid character '1' after array element");
        assert_eq!(
            err("x"),
            "invalid character 'x' looking for beginning of value"
        );
        assert_eq!(err("tru"), "unexpected end of JSON input");
        assert_eq!(
            err("trUe"),
            "invalid character 'U' in literal true (expecting 'u')"
        );
        assert_eq!(
            err("nul!"),
            "invalid character '!' in literal null (expecting 'l')"
        );
        assert_eq!(err("-x"), "invalid character 'x' in numeric literal");
        assert_eq!(
            err("1.e"),
            "invalid character 'e' after decimal point in numeric literal"
        );
        assert_eq!(err("1e+"), "unexpected end of JSON input");
        assert_eq!(
            err("1ex"),
            "invalid character 'x' in exponent of numeric literal"
        );
        assert_eq!(err("\"a\nb\""), r"invalid character '\n' in string literal");
        assert_eq!(
            err(r#""\x""#),
            "invalid character 'x' in string escape code"
        );
        assert_eq!(
            err(r#""\u12G4""#),
            r"invalid character 'G' in \u hexadecimal character escape"
        );
        assert_eq!(err("{} {}"), "invalid character '{' after top-level value");
        assert_eq!(
            err("'a'"),
            r"invalid character '\'' looking for beginning of value"
        );
        assert_eq!(
            err("\x01"),
            r"invalid character '\x01' looking for beginning of value"
        );
    }

    #[test]
    fn decoder_mode_reads_one_value() {
        assert_eq!(go_syntax_error(b"{} trailing", Mode::Decoder), None);
        assert_eq!(
            go_syntax_error(b"{\"a\":", Mode::Decoder).unwrap(),
            "unexpected EOF"
        );
    }

    #[test]
    fn decode_reports_type_errors_without_position() {
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct T {
            debug: bool,
        }
        let e = decode::<T>(br#"{"debug": "yes"}"#, Mode::Unmarshal).unwrap_err();
        assert_eq!(
            e.to_string(),
            "json: invalid type: string \"yes\", expected a boolean"
        );
        assert!(
            decode::<T>(br#"{"debug": true}"#, Mode::Unmarshal)
                .unwrap()
                .debug
        );
    }

    #[test]
    fn content_type_check() {
        let mut h = Headers::new();
        assert!(check_content_type(&h).is_ok());
        h.set("Content-Type", "application/json; charset=utf-8");
        assert!(check_content_type(&h).is_ok());
        h.set("Content-Type", "text/plain");
        assert_eq!(
            check_content_type(&h).unwrap_err().to_string(),
            "Content-Type specified (text/plain) must be 'application/json'"
        );
    }
}
