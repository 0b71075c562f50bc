//! The subset of Go's `text/template` that `--format` users write, with the Docker CLI's extra
//! functions: fields (`{{.ID}}`, `{{.State.Status}}`), variables, pipelines, `if`/`else`/
//! `range`/`with`, `break`/`continue`, the builtins (`index`, `len`, `slice`, `eq`…`ge`, `and`,
//! `or`, `not`, `print`, `printf`, `println`) and Docker's `json`, `split`, `join`, `title`,
//! `lower`, `upper`, `pad`, `truncate`. Values print as Go's `fmt` prints them.
//!
//! Data is JSON-shaped ([`Val`]) with objects kept in order, so `{{json .Config}}` keeps the
//! daemon's field order as Go's structs do, while maps print sorted as Go's maps do.

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use std::fmt::Write as _;

/// A template value.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    /// A nil pointer, interface or JSON null: prints `<nil>`.
    Nil,
    /// A missing map key: prints `<no value>`.
    NoValue,
    /// A nil Go slice (a JSON null in a slice field): prints `[]`, encodes as `null`.
    NilSlice,
    /// A nil Go map: prints `map[]`, encodes as `null`.
    NilMap,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    List(Vec<Val>),
    Obj(Obj),
    /// A method taking one string (`{{.Label "com.example"}}`): looks its argument up here.
    Method(Vec<(String, String)>),
}

/// An object in field order. `is_struct` decides how it prints: Go structs as `{a b}` in
/// order, maps as `map[k:v]` sorted by key (and sorted in JSON).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Obj {
    pub fields: Vec<(String, Val)>,
    pub is_struct: bool,
    /// A CLI formatting context (a `ps` or `images` row): its JSON escapes `<`, `>` and `&` as
    /// Go's `json.Marshal` does for the contexts' `MarshalJSON`.
    pub html: bool,
}

impl Obj {
    pub fn structure() -> Obj {
        Obj {
            fields: Vec::new(),
            is_struct: true,
            html: false,
        }
    }
    pub fn map() -> Obj {
        Obj {
            fields: Vec::new(),
            is_struct: false,
            html: false,
        }
    }
    /// A row of a list command (`{{json .}}` sorts its keys and escapes HTML characters).
    pub fn row() -> Obj {
        Obj {
            fields: Vec::new(),
            is_struct: false,
            html: true,
        }
    }
    pub fn with(mut self, k: &str, v: impl Into<Val>) -> Obj {
        self.fields.push((k.to_string(), v.into()));
        self
    }
    pub fn get(&self, k: &str) -> Option<&Val> {
        self.fields.iter().find(|(n, _)| n == k).map(|(_, v)| v)
    }
    fn sorted(&self) -> Vec<&(String, Val)> {
        let mut v: Vec<&(String, Val)> = self.fields.iter().collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }
}

impl From<&str> for Val {
    fn from(s: &str) -> Val {
        Val::Str(s.to_string())
    }
}
impl From<String> for Val {
    fn from(s: String) -> Val {
        Val::Str(s)
    }
}
impl From<bool> for Val {
    fn from(b: bool) -> Val {
        Val::Bool(b)
    }
}
impl From<i64> for Val {
    fn from(n: i64) -> Val {
        Val::Int(n)
    }
}
impl From<Obj> for Val {
    fn from(o: Obj) -> Val {
        Val::Obj(o)
    }
}
impl From<Vec<Val>> for Val {
    fn from(v: Vec<Val>) -> Val {
        Val::List(v)
    }
}

/// Fields that are Go slices or maps in Docker's types: a JSON null there prints as `[]` or
/// `map[]` (a nil slice), not `<nil>` (a nil pointer).
const NIL_SLICES: &[&str] = &[
    "Cmd",
    "Entrypoint",
    "Env",
    "Binds",
    "Links",
    "Dns",
    "DnsOptions",
    "DnsSearch",
    "ExtraHosts",
    "CapAdd",
    "CapDrop",
    "SecurityOpt",
    "Devices",
    "GroupAdd",
    "Mounts",
    "OnBuild",
    "Shell",
    "RepoTags",
    "RepoDigests",
    "Layers",
    "Aliases",
    "DeviceRequests",
    "Ulimits",
    "VolumesFrom",
    "Args",
    "DeviceCgroupRules",
    "BlkioWeightDevice",
    "MaskedPaths",
    "ReadonlyPaths",
    "ConsoleSize",
    "Warnings",
];
const NIL_MAPS: &[&str] = &[
    "Labels",
    "Volumes",
    "ExposedPorts",
    "Ports",
    "Networks",
    "Tmpfs",
    "Sysctls",
    "StorageOpt",
    "Options",
    "Config",
];

impl Val {
    /// Parse JSON text keeping object order.
    pub fn parse_json(data: &[u8]) -> Result<Val, String> {
        serde_json::from_slice::<Val>(data).map_err(|e| e.to_string())
    }

    fn truthy(&self) -> bool {
        match self {
            Val::Nil | Val::NoValue | Val::NilSlice | Val::NilMap => false,
            Val::Bool(b) => *b,
            Val::Int(n) => *n != 0,
            Val::Float(f) => *f != 0.0,
            Val::Str(s) => !s.is_empty(),
            Val::List(l) => !l.is_empty(),
            Val::Obj(o) => !o.fields.is_empty() || o.is_struct,
            Val::Method(_) => true,
        }
    }

    fn type_name(&self) -> &'static str {
        match self {
            Val::Nil | Val::NoValue => "nil",
            Val::NilSlice => "[]string",
            Val::NilMap => "map[string]string",
            Val::Bool(_) => "bool",
            Val::Int(_) => "int",
            Val::Float(_) => "float64",
            Val::Str(_) => "string",
            Val::List(_) => "[]interface {}",
            Val::Obj(o) if o.is_struct => "struct",
            Val::Obj(_) => "map[string]interface {}",
            Val::Method(_) => "method",
        }
    }

    /// As Go's `fmt.Sprint` prints it.
    pub fn to_go_string(&self) -> String {
        let mut s = String::new();
        self.write_go(&mut s, true);
        s
    }

    fn write_go(&self, out: &mut String, top: bool) {
        match self {
            Val::Nil => out.push_str("<nil>"),
            Val::NoValue => out.push_str(if top { "<no value>" } else { "<nil>" }),
            Val::NilSlice => out.push_str("[]"),
            Val::NilMap => out.push_str("map[]"),
            Val::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Val::Int(n) => {
                let _ = write!(out, "{n}");
            }
            Val::Float(f) => out.push_str(&go_float(*f)),
            Val::Str(s) => out.push_str(s),
            Val::List(l) => {
                out.push('[');
                for (i, v) in l.iter().enumerate() {
                    if i > 0 {
                        out.push(' ');
                    }
                    v.write_go(out, false);
                }
                out.push(']');
            }
            Val::Obj(o) if o.is_struct => {
                out.push('{');
                for (i, (_, v)) in o.fields.iter().enumerate() {
                    if i > 0 {
                        out.push(' ');
                    }
                    v.write_go(out, false);
                }
                out.push('}');
            }
            Val::Obj(o) => {
                out.push_str("map[");
                for (i, (k, v)) in o.sorted().into_iter().enumerate() {
                    if i > 0 {
                        out.push(' ');
                    }
                    out.push_str(k);
                    out.push(':');
                    v.write_go(out, false);
                }
                out.push(']');
            }
            Val::Method(_) => out.push_str("<method>"),
        }
    }

    /// As Go's `json.Marshal` (HTML escaping off) writes it.
    pub fn to_json(&self) -> String {
        let mut s = String::new();
        self.write_json(&mut s, false);
        s
    }

    fn write_json(&self, out: &mut String, html: bool) {
        match self {
            Val::Nil | Val::NoValue | Val::NilSlice | Val::NilMap | Val::Method(_) => {
                out.push_str("null")
            }
            Val::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Val::Int(n) => {
                let _ = write!(out, "{n}");
            }
            Val::Float(f) => {
                out.push_str(&serde_json::to_string(f).unwrap_or_else(|_| "null".into()))
            }
            Val::Str(s) => out.push_str(&json_string(s, html)),
            Val::List(l) => {
                out.push('[');
                for (i, v) in l.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    v.write_json(out, html);
                }
                out.push(']');
            }
            Val::Obj(o) => {
                out.push('{');
                let fields: Vec<&(String, Val)> = if o.is_struct {
                    o.fields.iter().collect()
                } else {
                    o.sorted()
                };
                let mut first = true;
                for (k, v) in fields {
                    if matches!(v, Val::Method(_)) {
                        continue;
                    }
                    if !first {
                        out.push(',');
                    }
                    first = false;
                    out.push_str(&json_string(k, html || o.html));
                    out.push(':');
                    v.write_json(out, html || o.html);
                }
                out.push('}');
            }
        }
    }
}

fn json_string(s: &str, html: bool) -> String {
    let j = serde_json::to_string(s).unwrap_or_default();
    if html {
        j.replace('<', "\\u003c")
            .replace('>', "\\u003e")
            .replace('&', "\\u0026")
    } else {
        j
    }
}

/// Whether a JSON object came from a Go struct (printed in field order as `{a b}`) rather than a
/// map (sorted, `map[k:v]`): struct fields are identifiers and at least one is exported.
fn looks_like_struct<'a>(keys: impl Iterator<Item = &'a str>) -> bool {
    let mut exported = false;
    for k in keys {
        let mut cs = k.chars();
        match cs.next() {
            Some(c) if c.is_ascii_alphabetic() => exported |= c.is_ascii_uppercase(),
            _ => return false,
        }
        if !cs.all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return false;
        }
    }
    exported
}

/// Go's `%v` of a float64 (strconv 'g', shortest).
fn go_float(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    if f == 0.0 {
        return "0".into();
    }
    let exp = f.abs().log10().floor() as i32;
    if !(-4..21).contains(&exp) {
        let s = format!("{f:e}");
        let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
        let e: i32 = e.parse().unwrap_or(0);
        return format!("{m}e{}{:02}", if e < 0 { '-' } else { '+' }, e.abs());
    }
    format!("{f}")
}

impl<'de> Deserialize<'de> for Val {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Val, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Val;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_unit<E>(self) -> Result<Val, E> {
                Ok(Val::Nil)
            }
            fn visit_none<E>(self) -> Result<Val, E> {
                Ok(Val::Nil)
            }
            fn visit_bool<E>(self, b: bool) -> Result<Val, E> {
                Ok(Val::Bool(b))
            }
            fn visit_i64<E>(self, n: i64) -> Result<Val, E> {
                Ok(Val::Int(n))
            }
            fn visit_u64<E>(self, n: u64) -> Result<Val, E> {
                Ok(i64::try_from(n)
                    .map(Val::Int)
                    .unwrap_or(Val::Float(n as f64)))
            }
            fn visit_f64<E>(self, f: f64) -> Result<Val, E> {
                Ok(Val::Float(f))
            }
            fn visit_str<E>(self, s: &str) -> Result<Val, E> {
                Ok(Val::Str(s.to_string()))
            }
            fn visit_string<E>(self, s: String) -> Result<Val, E> {
                Ok(Val::Str(s))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Val, A::Error> {
                let mut v = Vec::new();
                while let Some(x) = a.next_element::<Val>()? {
                    v.push(x);
                }
                Ok(Val::List(v))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Val, A::Error> {
                let mut fields = Vec::new();
                while let Some((k, v)) = a.next_entry::<String, Val>()? {
                    fields.push((k, v));
                }
                let is_struct = looks_like_struct(fields.iter().map(|(k, _)| k.as_str()));
                Ok(Val::Obj(Obj {
                    fields,
                    is_struct,
                    html: false,
                }))
            }
        }
        d.deserialize_any(V)
    }
}

// ---------------------------------------------------------------------------------------------
// Parsing

#[derive(Debug, Clone, PartialEq)]
enum Arg {
    Dot,
    /// `.A.B` from dot.
    Field(Vec<String>),
    /// `$x.A.B` (`$` alone is the root).
    Var(String, Vec<String>),
    Func(String),
    Lit(Val),
    /// `(pipeline).A.B`
    Sub(Box<Pipe>, Vec<String>),
}

#[derive(Debug, Clone, PartialEq)]
struct Cmd {
    args: Vec<Arg>,
}

#[derive(Debug, Clone, PartialEq)]
struct Pipe {
    decl: Vec<String>,
    /// `=` (assign to an existing variable) rather than `:=`.
    assign: bool,
    cmds: Vec<Cmd>,
}

#[derive(Debug, Clone, PartialEq)]
enum Node {
    Text(String),
    Action(Pipe),
    If(Pipe, Vec<Node>, Vec<Node>),
    Range(Pipe, Vec<Node>, Vec<Node>),
    With(Pipe, Vec<Node>, Vec<Node>),
    Break,
    Continue,
}

/// A parsed template.
#[derive(Debug, Clone)]
pub struct Template {
    nodes: Vec<Node>,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Dot,
    /// `.A.B`
    Field(Vec<String>),
    /// `$x.A.B`
    Var(String, Vec<String>),
    /// `.A.B` right after a `)`.
    Chain(Vec<String>),
    Ident(String),
    Str(String),
    Num(Val),
    LParen,
    RParen,
    Pipe,
    Declare,
    Assign,
    Comma,
}

/// One `{{ }}` action's tokens, or text between them.
enum Piece {
    Text(String),
    Action(Vec<Tok>),
}

fn perr(msg: impl std::fmt::Display) -> String {
    format!("template: :1: {msg}")
}

fn split_pieces(src: &str) -> Result<Vec<Piece>, String> {
    let mut pieces = Vec::new();
    let mut rest = src;
    let mut trim_next = false;
    while let Some(i) = rest.find("{{") {
        let mut text = &rest[..i];
        if trim_next {
            text = text.trim_start();
        }
        let mut inner = &rest[i + 2..];
        let trim_left =
            inner.starts_with("- ") || inner.starts_with("-\t") || inner.starts_with("-\n");
        if trim_left {
            text = text.trim_end();
            inner = &inner[1..];
        }
        if !text.is_empty() {
            pieces.push(Piece::Text(text.to_string()));
        }
        let trimmed = inner.trim_start();
        if trimmed.starts_with("/*") {
            let end = trimmed.find("*/").ok_or_else(|| perr("unclosed comment"))?;
            let after = trimmed[end + 2..].trim_start();
            let (after, t) = if let Some(a) = after.strip_prefix("-}}") {
                (a, true)
            } else if let Some(a) = after.strip_prefix("}}") {
                (a, false)
            } else {
                return Err(perr("comment ends before closing delimiter"));
            };
            trim_next = t;
            rest = after;
            continue;
        }
        let (toks, used, t) = lex_action(inner)?;
        pieces.push(Piece::Action(toks));
        trim_next = t;
        rest = &inner[used..];
    }
    let mut text = rest;
    if trim_next {
        text = text.trim_start();
    }
    if !text.is_empty() {
        pieces.push(Piece::Text(text.to_string()));
    }
    Ok(pieces)
}

/// Lex one action up to its `}}`; returns the tokens, bytes used (past `}}`), and whether it
/// ended with ` -}}`.
fn lex_action(s: &str) -> Result<(Vec<Tok>, usize, bool), String> {
    let b = s.as_bytes();
    let mut i = 0;
    let mut toks = Vec::new();
    let ident_char = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    loop {
        while i < b.len() && (b[i] == b' ' || b[i] == b'\t' || b[i] == b'\n' || b[i] == b'\r') {
            i += 1;
        }
        if i >= b.len() {
            return Err(perr("unclosed action"));
        }
        if s[i..].starts_with("}}") {
            return Ok((toks, i + 2, false));
        }
        if s[i..].starts_with("-}}") && i > 0 && b[i - 1].is_ascii_whitespace() {
            return Ok((toks, i + 3, true));
        }
        let c = b[i];
        match c {
            b'(' => {
                toks.push(Tok::LParen);
                i += 1;
            }
            b')' => {
                toks.push(Tok::RParen);
                i += 1;
                // `(x).Field`
                let chain = lex_chain(s, &mut i);
                if !chain.is_empty() {
                    toks.push(Tok::Chain(chain));
                }
            }
            b'|' => {
                toks.push(Tok::Pipe);
                i += 1;
            }
            b',' => {
                toks.push(Tok::Comma);
                i += 1;
            }
            b':' if b.get(i + 1) == Some(&b'=') => {
                toks.push(Tok::Declare);
                i += 2;
            }
            b'=' => {
                toks.push(Tok::Assign);
                i += 1;
            }
            b'.' if b
                .get(i + 1)
                .is_some_and(|c| c.is_ascii_alphabetic() || *c == b'_') =>
            {
                toks.push(Tok::Field(lex_chain(s, &mut i)));
            }
            b'.' if !b.get(i + 1).is_some_and(|c| c.is_ascii_digit()) => {
                toks.push(Tok::Dot);
                i += 1;
            }
            b'$' => {
                let start = i + 1;
                i = start;
                while i < b.len() && ident_char(b[i]) {
                    i += 1;
                }
                let name = s[start..i].to_string();
                toks.push(Tok::Var(name, lex_chain(s, &mut i)));
            }
            b'"' => {
                let mut out = String::new();
                i += 1;
                loop {
                    let Some(&ch) = b.get(i) else {
                        return Err(perr("unterminated quoted string"));
                    };
                    match ch {
                        b'"' => {
                            i += 1;
                            break;
                        }
                        b'\\' => {
                            let e = *b
                                .get(i + 1)
                                .ok_or_else(|| perr("unterminated quoted string"))?;
                            out.push(match e {
                                b'n' => '\n',
                                b't' => '\t',
                                b'r' => '\r',
                                b'\\' => '\\',
                                b'"' => '"',
                                b'\'' => '\'',
                                b'0' => '\0',
                                other => {
                                    return Err(perr(format!(
                                        "invalid syntax: unknown escape \\{}",
                                        other as char
                                    )))
                                }
                            });
                            i += 2;
                        }
                        _ => {
                            let ch_len = s[i..].chars().next().map(|c| c.len_utf8()).unwrap_or(1);
                            out.push_str(&s[i..i + ch_len]);
                            i += ch_len;
                        }
                    }
                }
                toks.push(Tok::Str(out));
            }
            b'`' => {
                let end = s[i + 1..]
                    .find('`')
                    .ok_or_else(|| perr("unterminated raw quoted string"))?;
                toks.push(Tok::Str(s[i + 1..i + 1 + end].to_string()));
                i += end + 2;
            }
            b'0'..=b'9' | b'-' | b'+' | b'.' => {
                let start = i;
                i += 1;
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'.' || b[i] == b'_')
                {
                    i += 1;
                }
                let t = &s[start..i];
                let v = if let Ok(n) = t.parse::<i64>() {
                    Val::Int(n)
                } else if let Some(h) = t.strip_prefix("0x") {
                    Val::Int(
                        i64::from_str_radix(h, 16)
                            .map_err(|_| perr(format!("bad number syntax: {t:?}")))?,
                    )
                } else if let Ok(f) = t.parse::<f64>() {
                    Val::Float(f)
                } else {
                    return Err(perr(format!("bad number syntax: {t:?}")));
                };
                toks.push(Tok::Num(v));
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let start = i;
                while i < b.len() && ident_char(b[i]) {
                    i += 1;
                }
                toks.push(Tok::Ident(s[start..i].to_string()));
            }
            other => return Err(perr(format!("unexpected {:?} in command", other as char))),
        }
    }
}

/// `.A.B.C` starting at `*i` (which points at a `.`), as field names.
fn lex_chain(s: &str, i: &mut usize) -> Vec<String> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    while *i < b.len()
        && b[*i] == b'.'
        && b.get(*i + 1)
            .is_some_and(|c| c.is_ascii_alphabetic() || *c == b'_')
    {
        let start = *i + 1;
        *i = start;
        while *i < b.len() && (b[*i].is_ascii_alphanumeric() || b[*i] == b'_') {
            *i += 1;
        }
        out.push(s[start..*i].to_string());
    }
    out
}

struct Parser {
    pieces: std::vec::IntoIter<Piece>,
}

/// How a list of nodes ended.
enum End {
    Eof,
    End,
    Else(Vec<Tok>),
}

const FUNCS: &[&str] = &[
    "and", "or", "not", "len", "index", "slice", "eq", "ne", "lt", "le", "gt", "ge", "print",
    "printf", "println", "json", "split", "join", "title", "lower", "upper", "pad", "truncate",
    "html", "js", "urlquery",
];

impl Parser {
    fn list(&mut self) -> Result<(Vec<Node>, End), String> {
        let mut nodes = Vec::new();
        while let Some(p) = self.pieces.next() {
            match p {
                Piece::Text(t) => nodes.push(Node::Text(t)),
                Piece::Action(toks) => {
                    let kw = match toks.first() {
                        Some(Tok::Ident(k)) => k.clone(),
                        _ => String::new(),
                    };
                    match kw.as_str() {
                        "end" => return Ok((nodes, End::End)),
                        "else" => return Ok((nodes, End::Else(toks[1..].to_vec()))),
                        "if" | "range" | "with" => nodes.push(self.control(&kw, &toks[1..])?),
                        "break" => nodes.push(Node::Break),
                        "continue" => nodes.push(Node::Continue),
                        "define" | "template" | "block" => {
                            return Err(perr(format!("{kw} is not supported")))
                        }
                        _ => {
                            if toks.is_empty() {
                                return Err(perr("missing value for command"));
                            }
                            nodes.push(Node::Action(parse_pipe(&toks)?));
                        }
                    }
                }
            }
        }
        Ok((nodes, End::Eof))
    }

    fn control(&mut self, kw: &str, toks: &[Tok]) -> Result<Node, String> {
        if toks.is_empty() {
            return Err(perr(format!("missing value for {kw}")));
        }
        let pipe = parse_pipe(toks)?;
        let (body, end) = self.list()?;
        let else_ = match end {
            End::Eof => return Err(perr("unexpected EOF")),
            End::End => Vec::new(),
            End::Else(rest) if rest.is_empty() => {
                let (e, end2) = self.list()?;
                if !matches!(end2, End::End) {
                    return Err(perr("expected end; found else or EOF"));
                }
                e
            }
            End::Else(rest) => {
                // `{{else if x}}` / `{{else with x}}`: a nested control that shares our `end`.
                let kw2 = match rest.first() {
                    Some(Tok::Ident(k)) if k == "if" || k == "with" => k.clone(),
                    _ => return Err(perr("unexpected tokens after else")),
                };
                vec![self.control(&kw2, &rest[1..])?]
            }
        };
        Ok(match kw {
            "if" => Node::If(pipe, body, else_),
            "range" => Node::Range(pipe, body, else_),
            _ => Node::With(pipe, body, else_),
        })
    }
}

fn parse_pipe(toks: &[Tok]) -> Result<Pipe, String> {
    let mut decl = Vec::new();
    let mut assign = false;
    let mut rest = toks;
    // `$x := ...`, `$i, $v := ...`, `$x = ...`
    let mut j = 0;
    let mut vars = Vec::new();
    while let Some(Tok::Var(v, f)) = rest.get(j) {
        if !f.is_empty() {
            break;
        }
        vars.push(v.clone());
        match rest.get(j + 1) {
            Some(Tok::Comma) => j += 2,
            Some(Tok::Declare) | Some(Tok::Assign) => {
                assign = rest[j + 1] == Tok::Assign;
                decl = vars.clone();
                rest = &rest[j + 2..];
                break;
            }
            _ => break,
        }
    }
    let mut cmds = Vec::new();
    let mut i = 0;
    let mut cur = Vec::new();
    while i < rest.len() {
        match &rest[i] {
            Tok::Pipe => {
                if cur.is_empty() {
                    return Err(perr("missing command"));
                }
                cmds.push(Cmd {
                    args: std::mem::take(&mut cur),
                });
                i += 1;
            }
            _ => {
                let (a, n) = parse_arg(&rest[i..])?;
                cur.push(a);
                i += n;
            }
        }
    }
    if cur.is_empty() {
        return Err(perr("missing command"));
    }
    cmds.push(Cmd { args: cur });
    Ok(Pipe { decl, assign, cmds })
}

fn parse_arg(t: &[Tok]) -> Result<(Arg, usize), String> {
    match &t[0] {
        Tok::Dot => Ok((Arg::Dot, 1)),
        Tok::Field(f) => Ok((Arg::Field(f.clone()), 1)),
        Tok::Var(v, f) => Ok((Arg::Var(v.clone(), f.clone()), 1)),
        Tok::Str(s) => Ok((Arg::Lit(Val::Str(s.clone())), 1)),
        Tok::Num(n) => Ok((Arg::Lit(n.clone()), 1)),
        Tok::Ident(id) => match id.as_str() {
            "true" => Ok((Arg::Lit(Val::Bool(true)), 1)),
            "false" => Ok((Arg::Lit(Val::Bool(false)), 1)),
            "nil" => Ok((Arg::Lit(Val::Nil), 1)),
            f if FUNCS.contains(&f) => Ok((Arg::Func(f.to_string()), 1)),
            f => Err(perr(format!("function {f:?} not defined"))),
        },
        Tok::LParen => {
            let mut depth = 0;
            let mut end = None;
            for (k, tok) in t.iter().enumerate() {
                match tok {
                    Tok::LParen => depth += 1,
                    Tok::RParen => {
                        depth -= 1;
                        if depth == 0 {
                            end = Some(k);
                            break;
                        }
                    }
                    _ => {}
                }
            }
            let end = end.ok_or_else(|| perr("unclosed left paren"))?;
            let pipe = parse_pipe(&t[1..end])?;
            match t.get(end + 1) {
                Some(Tok::Chain(f)) => Ok((Arg::Sub(Box::new(pipe), f.clone()), end + 2)),
                _ => Ok((Arg::Sub(Box::new(pipe), Vec::new()), end + 1)),
            }
        }
        Tok::RParen => Err(perr("unexpected right paren")),
        other => Err(perr(format!("unexpected {other:?} in operand"))),
    }
}

impl Template {
    /// Parse a template; errors read as Go's (`template: :1: ...`).
    pub fn parse(src: &str) -> Result<Template, String> {
        let pieces = split_pieces(src)?;
        let mut p = Parser {
            pieces: pieces.into_iter(),
        };
        let (nodes, end) = p.list()?;
        match end {
            End::Eof => Ok(Template { nodes }),
            End::End => Err(perr("unexpected {{end}}")),
            End::Else(_) => Err(perr("unexpected {{else}}")),
        }
    }

    /// Run the template with `dot` as `.` and `$`.
    pub fn execute(&self, dot: &Val) -> Result<String, String> {
        self.execute_with(dot, false)
    }

    /// The header pass of a `table` format: Docker's header functions pass their first
    /// argument through (`{{upper .Names}}` → `NAMES`).
    pub fn execute_header(&self, header: &Val) -> Result<String, String> {
        self.execute_with(header, true)
    }

    fn execute_with(&self, dot: &Val, header: bool) -> Result<String, String> {
        let mut st = State {
            vars: vec![("$".to_string(), dot.clone())],
            out: String::new(),
            header,
        };
        st.walk(&self.nodes, dot)?;
        Ok(st.out)
    }
}

// ---------------------------------------------------------------------------------------------
// Execution

struct State {
    vars: Vec<(String, Val)>,
    out: String,
    header: bool,
}

enum Flow {
    Normal,
    Break,
    Continue,
}

fn xerr(msg: impl std::fmt::Display) -> String {
    format!("template: :1: executing \"\" at <{msg}")
}

impl State {
    fn walk(&mut self, nodes: &[Node], dot: &Val) -> Result<Flow, String> {
        for n in nodes {
            match n {
                Node::Text(t) => self.out.push_str(t),
                Node::Action(p) => {
                    let v = self.pipe(p, dot)?;
                    if p.decl.is_empty() {
                        self.out.push_str(&v.to_go_string());
                    }
                }
                Node::If(p, body, else_) => {
                    let mark = self.vars.len();
                    let v = self.pipe(p, dot)?;
                    let f = if v.truthy() {
                        self.walk(body, dot)?
                    } else {
                        self.walk(else_, dot)?
                    };
                    self.vars.truncate(mark);
                    if !matches!(f, Flow::Normal) {
                        return Ok(f);
                    }
                }
                Node::With(p, body, else_) => {
                    let mark = self.vars.len();
                    let v = self.pipe(p, dot)?;
                    let f = if v.truthy() {
                        self.walk(body, &v)?
                    } else {
                        self.walk(else_, dot)?
                    };
                    self.vars.truncate(mark);
                    if !matches!(f, Flow::Normal) {
                        return Ok(f);
                    }
                }
                Node::Range(p, body, else_) => {
                    let mark = self.vars.len();
                    let mut inner = p.clone();
                    inner.decl.clear();
                    let v = self.pipe(&inner, dot)?;
                    let items: Vec<(Val, Val)> = match &v {
                        Val::List(l) => l
                            .iter()
                            .enumerate()
                            .map(|(i, x)| (Val::Int(i as i64), x.clone()))
                            .collect(),
                        Val::Obj(o) if o.is_struct => {
                            return Err(xerr(format!(
                                "range can't iterate over {}",
                                v.to_go_string()
                            )))
                        }
                        Val::Obj(o) => o
                            .sorted()
                            .into_iter()
                            .map(|(k, x)| (Val::Str(k.clone()), x.clone()))
                            .collect(),
                        Val::Int(n) => (0..*n).map(|i| (Val::Int(i), Val::Int(i))).collect(),
                        Val::Nil | Val::NoValue | Val::NilSlice | Val::NilMap => Vec::new(),
                        other => {
                            return Err(xerr(format!(
                                "range can't iterate over {}",
                                other.to_go_string()
                            )))
                        }
                    };
                    if items.is_empty() {
                        self.walk(else_, dot)?;
                    }
                    for (k, x) in items {
                        let m2 = self.vars.len();
                        match p.decl.len() {
                            0 => {}
                            1 => self.vars.push((p.decl[0].clone(), x.clone())),
                            _ => {
                                self.vars.push((p.decl[0].clone(), k));
                                self.vars.push((p.decl[1].clone(), x.clone()));
                            }
                        }
                        let f = self.walk(body, &x)?;
                        self.vars.truncate(m2);
                        if matches!(f, Flow::Break) {
                            break;
                        }
                    }
                    self.vars.truncate(mark);
                }
                Node::Break => return Ok(Flow::Break),
                Node::Continue => return Ok(Flow::Continue),
            }
        }
        Ok(Flow::Normal)
    }

    fn var(&self, name: &str) -> Result<Val, String> {
        let key = if name.is_empty() {
            "$".to_string()
        } else {
            format!("${name}")
        };
        let key = if name.is_empty() { "$" } else { key.as_str() };
        self.vars
            .iter()
            .rev()
            .find(|(n, _)| n == key || (key.len() > 1 && n == &key[1..]))
            .map(|(_, v)| v.clone())
            .ok_or_else(|| perr(format!("undefined variable: {key}")))
    }

    fn pipe(&mut self, p: &Pipe, dot: &Val) -> Result<Val, String> {
        let mut prev: Option<Val> = None;
        for c in &p.cmds {
            prev = Some(self.cmd(c, dot, prev)?);
        }
        let v = prev.unwrap_or(Val::NoValue);
        if !p.decl.is_empty() {
            if p.assign {
                let name = &p.decl[0];
                let slot = self
                    .vars
                    .iter_mut()
                    .rev()
                    .find(|(n, _)| n == name)
                    .ok_or_else(|| perr(format!("undefined variable: ${name}")))?;
                slot.1 = v.clone();
            } else {
                self.vars.push((p.decl[0].clone(), v.clone()));
            }
        }
        Ok(v)
    }

    fn cmd(&mut self, c: &Cmd, dot: &Val, prev: Option<Val>) -> Result<Val, String> {
        let first = &c.args[0];
        if let Arg::Func(name) = first {
            let mut args = Vec::new();
            for a in &c.args[1..] {
                args.push(self.arg(a, dot)?);
            }
            if let Some(p) = prev {
                args.push(p);
            }
            return self.call(name, args);
        }
        // A field followed by arguments is a method call (`.Label "x"`).
        let has_args = c.args.len() > 1 || prev.is_some();
        if has_args {
            let (base, chain) = match first {
                Arg::Field(f) => (dot.clone(), f.clone()),
                Arg::Var(v, f) if !f.is_empty() => (self.var(v)?, f.clone()),
                _ => return Err(xerr("can't give argument to non-function")),
            };
            let (last, init) = chain
                .split_last()
                .ok_or_else(|| xerr("can't give argument to non-function"))?;
            let mut args = Vec::new();
            for a in &c.args[1..] {
                args.push(self.arg(a, dot)?);
            }
            if let Some(p) = prev {
                args.push(p);
            }
            let key = args.first().map(|a| a.to_go_string()).unwrap_or_default();
            if self.header && last == "Label" {
                // SubHeaderContext.Label: the last dotted part, `-`/`_` as spaces.
                return Ok(Val::Str(
                    key.rsplit('.')
                        .next()
                        .unwrap_or("")
                        .replace(['-', '_'], " "),
                ));
            }
            let recv = fields(&base, init)?;
            let m = field(&recv, last)?;
            return match m {
                Val::Method(table) => Ok(Val::Str(
                    table
                        .iter()
                        .find(|(k, _)| *k == key)
                        .map(|(_, v)| v.clone())
                        .unwrap_or_default(),
                )),
                _ => Err(xerr(format!(
                    ".{last}>: {last} has arguments but cannot be invoked as function"
                ))),
            };
        }
        self.arg(first, dot)
    }

    fn arg(&mut self, a: &Arg, dot: &Val) -> Result<Val, String> {
        match a {
            Arg::Dot => Ok(dot.clone()),
            Arg::Field(f) => fields(dot, f),
            Arg::Var(v, f) => fields(&self.var(v)?, f),
            Arg::Lit(v) => Ok(v.clone()),
            Arg::Func(name) => self.call(name, Vec::new()),
            Arg::Sub(p, f) => {
                let v = self.pipe(p, dot)?;
                fields(&v, f)
            }
        }
    }

    fn call(&mut self, name: &str, args: Vec<Val>) -> Result<Val, String> {
        let want = |n: usize| -> Result<(), String> {
            if args.len() != n {
                return Err(xerr(format!(
                    "{name}>: wrong number of args for {name}: want {n} got {}",
                    args.len()
                )));
            }
            Ok(())
        };
        let s = |v: &Val| v.to_go_string();
        let int = |v: &Val| -> Result<i64, String> {
            match v {
                Val::Int(n) => Ok(*n),
                Val::Float(f) if f.fract() == 0.0 => Ok(*f as i64),
                other => Err(xerr(format!(
                    "{name}>: expected integer; found {}",
                    other.to_go_string()
                ))),
            }
        };
        if self.header
            && [
                "json", "split", "join", "title", "lower", "upper", "truncate",
            ]
            .contains(&name)
        {
            return Ok(args.into_iter().next().unwrap_or(Val::Str(String::new())));
        }
        match name {
            "json" => {
                want(1)?;
                Ok(Val::Str(args[0].to_json()))
            }
            "upper" => {
                want(1)?;
                Ok(Val::Str(s(&args[0]).to_uppercase()))
            }
            "lower" => {
                want(1)?;
                Ok(Val::Str(s(&args[0]).to_lowercase()))
            }
            "title" => {
                want(1)?;
                Ok(Val::Str(title(&s(&args[0]))))
            }
            "split" => {
                want(2)?;
                let (a, sep) = (s(&args[0]), s(&args[1]));
                let parts: Vec<Val> = if sep.is_empty() {
                    a.chars().map(|c| Val::Str(c.to_string())).collect()
                } else {
                    a.split(sep.as_str())
                        .map(|p| Val::Str(p.to_string()))
                        .collect()
                };
                Ok(Val::List(parts))
            }
            "join" => {
                want(2)?;
                let sep = s(&args[1]);
                match &args[0] {
                    Val::List(l) => Ok(Val::Str(
                        l.iter()
                            .map(|v| v.to_go_string())
                            .collect::<Vec<_>>()
                            .join(&sep),
                    )),
                    Val::Nil | Val::NoValue | Val::NilSlice => Ok(Val::Str(String::new())),
                    other => Err(xerr(format!(
                        "join>: wrong type for value; expected []string; got {}",
                        other.type_name()
                    ))),
                }
            }
            "pad" => {
                want(3)?;
                let v = s(&args[0]);
                if v.is_empty() {
                    return Ok(Val::Str(v));
                }
                let (a, b) = (
                    int(&args[1])?.max(0) as usize,
                    int(&args[2])?.max(0) as usize,
                );
                Ok(Val::Str(format!("{}{v}{}", " ".repeat(a), " ".repeat(b))))
            }
            "truncate" => {
                want(2)?;
                let v = s(&args[0]);
                let n = int(&args[1])?.max(0) as usize;
                Ok(Val::Str(if v.len() < n {
                    v
                } else {
                    v.bytes().take(n).map(|b| b as char).collect::<String>()
                }))
            }
            "len" => {
                want(1)?;
                match &args[0] {
                    Val::Str(x) => Ok(Val::Int(x.len() as i64)),
                    Val::List(l) => Ok(Val::Int(l.len() as i64)),
                    Val::Obj(o) => Ok(Val::Int(o.fields.len() as i64)),
                    Val::Nil | Val::NoValue | Val::NilSlice | Val::NilMap => Ok(Val::Int(0)),
                    other => Err(xerr(format!(
                        "len>: error calling len: len of type {}",
                        other.type_name()
                    ))),
                }
            }
            "index" => {
                if args.is_empty() {
                    return Err(xerr(
                        "index>: wrong number of args for index: want at least 1 got 0",
                    ));
                }
                let mut cur = args[0].clone();
                for k in &args[1..] {
                    cur = match (&cur, k) {
                        (Val::List(l), k) => {
                            let i = int(k)?;
                            l.get(i as usize).cloned().ok_or_else(|| {
                                xerr(format!(
                                    "index>: error calling index: index out of range: {i}"
                                ))
                            })?
                        }
                        (Val::Obj(o), k) => {
                            o.get(&k.to_go_string()).cloned().unwrap_or(Val::NoValue)
                        }
                        (Val::NilMap, _) => Val::NoValue,
                        (Val::Str(x), k) => {
                            let i = int(k)?;
                            x.as_bytes()
                                .get(i as usize)
                                .map(|b| Val::Int(*b as i64))
                                .ok_or_else(|| {
                                    xerr(format!(
                                        "index>: error calling index: index out of range: {i}"
                                    ))
                                })?
                        }
                        (Val::Nil | Val::NoValue, _) => {
                            return Err(xerr("index>: error calling index: index of untyped nil"))
                        }
                        (other, _) => {
                            return Err(xerr(format!(
                                "index>: error calling index: can't index item of type {}",
                                other.type_name()
                            )))
                        }
                    };
                }
                Ok(cur)
            }
            "slice" => {
                if args.is_empty() {
                    return Err(xerr("slice>: wrong number of args for slice"));
                }
                let lo = args.get(1).map(int).transpose()?.unwrap_or(0).max(0) as usize;
                match &args[0] {
                    Val::Str(x) => {
                        let hi = args
                            .get(2)
                            .map(int)
                            .transpose()?
                            .map(|h| h as usize)
                            .unwrap_or(x.len());
                        x.get(lo..hi)
                            .map(|v| Val::Str(v.to_string()))
                            .ok_or_else(|| xerr("slice>: error calling slice: index out of range"))
                    }
                    Val::List(l) => {
                        let hi = args
                            .get(2)
                            .map(int)
                            .transpose()?
                            .map(|h| h as usize)
                            .unwrap_or(l.len());
                        l.get(lo..hi)
                            .map(|v| Val::List(v.to_vec()))
                            .ok_or_else(|| xerr("slice>: error calling slice: index out of range"))
                    }
                    other => Err(xerr(format!(
                        "slice>: error calling slice: can't slice item of type {}",
                        other.type_name()
                    ))),
                }
            }
            "not" => {
                want(1)?;
                Ok(Val::Bool(!args[0].truthy()))
            }
            "and" => Ok(args
                .iter()
                .find(|a| !a.truthy())
                .or(args.last())
                .cloned()
                .unwrap_or(Val::NoValue)),
            "or" => Ok(args
                .iter()
                .find(|a| a.truthy())
                .or(args.last())
                .cloned()
                .unwrap_or(Val::NoValue)),
            "eq" => {
                if args.len() < 2 {
                    return Err(xerr("eq>: missing argument for comparison"));
                }
                for b in &args[1..] {
                    if compare(&args[0], b, name)? == std::cmp::Ordering::Equal {
                        return Ok(Val::Bool(true));
                    }
                }
                Ok(Val::Bool(false))
            }
            "ne" | "lt" | "le" | "gt" | "ge" => {
                want(2)?;
                let o = compare(&args[0], &args[1], name)?;
                use std::cmp::Ordering::*;
                Ok(Val::Bool(match name {
                    "ne" => o != Equal,
                    "lt" => o == Less,
                    "le" => o != Greater,
                    "gt" => o == Greater,
                    _ => o != Less,
                }))
            }
            "print" => Ok(Val::Str(go_sprint(&args))),
            "println" => Ok(Val::Str(format!(
                "{}\n",
                args.iter()
                    .map(|a| a.to_go_string())
                    .collect::<Vec<_>>()
                    .join(" ")
            ))),
            "printf" => {
                if args.is_empty() {
                    return Err(xerr(
                        "printf>: wrong number of args for printf: want at least 1 got 0",
                    ));
                }
                Ok(Val::Str(go_printf(&s(&args[0]), &args[1..])))
            }
            "html" | "js" | "urlquery" => Ok(Val::Str(go_sprint(&args))),
            other => Err(perr(format!("function {other:?} not defined"))),
        }
    }
}

fn title(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut prev_letter = false;
    for c in s.chars() {
        if !prev_letter && c.is_alphabetic() {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        prev_letter = c.is_alphanumeric() || c == '_' || c == '\'';
    }
    out
}

fn compare(a: &Val, b: &Val, name: &str) -> Result<std::cmp::Ordering, String> {
    use Val::*;
    let o = match (a, b) {
        (Int(x), Int(y)) => x.cmp(y),
        (Int(x), Float(y)) => (*x as f64)
            .partial_cmp(y)
            .unwrap_or(std::cmp::Ordering::Equal),
        (Float(x), Int(y)) => x
            .partial_cmp(&(*y as f64))
            .unwrap_or(std::cmp::Ordering::Equal),
        (Float(x), Float(y)) => x.partial_cmp(y).unwrap_or(std::cmp::Ordering::Equal),
        (Str(x), Str(y)) => x.cmp(y),
        (Bool(x), Bool(y)) if name == "eq" || name == "ne" => x.cmp(y),
        (Nil | NoValue, Nil | NoValue) if name == "eq" || name == "ne" => std::cmp::Ordering::Equal,
        (Nil | NoValue, _) | (_, Nil | NoValue) if name == "eq" || name == "ne" => {
            std::cmp::Ordering::Less
        }
        _ => {
            return Err(xerr(format!(
                "{name}>: error calling {name}: incompatible types for comparison"
            )))
        }
    };
    Ok(o)
}

/// Go's `fmt.Sprint`: spaces between operands when neither side is a string.
fn go_sprint(args: &[Val]) -> String {
    let mut out = String::new();
    for (i, a) in args.iter().enumerate() {
        if i > 0 && !matches!(a, Val::Str(_)) && !matches!(args[i - 1], Val::Str(_)) {
            out.push(' ');
        }
        out.push_str(&a.to_go_string());
    }
    out
}

/// A `printf` subset: `%s %v %d %q %t %x %X %f %e %g %%` with flags `-`, `0`, `+`, width and
/// precision.
fn go_printf(fmt: &str, args: &[Val]) -> String {
    let mut out = String::new();
    let mut it = fmt.chars().peekable();
    let mut ai = 0;
    while let Some(c) = it.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let (mut left, mut zero, mut plus) = (false, false, false);
        while let Some(&f) = it.peek() {
            match f {
                '-' => left = true,
                '0' => zero = true,
                '+' => plus = true,
                ' ' | '#' => {}
                _ => break,
            }
            it.next();
        }
        let mut width = String::new();
        while let Some(&d) = it.peek().filter(|d| d.is_ascii_digit()) {
            width.push(d);
            it.next();
        }
        let mut prec: Option<usize> = None;
        if it.peek() == Some(&'.') {
            it.next();
            let mut p = String::new();
            while let Some(&d) = it.peek().filter(|d| d.is_ascii_digit()) {
                p.push(d);
                it.next();
            }
            prec = Some(p.parse().unwrap_or(0));
        }
        let Some(verb) = it.next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        let Some(arg) = args.get(ai) else {
            let _ = write!(out, "%!{verb}(MISSING)");
            continue;
        };
        ai += 1;
        let body = match (verb, arg) {
            ('d', Val::Int(n)) => {
                if plus && *n >= 0 {
                    format!("+{n}")
                } else {
                    n.to_string()
                }
            }
            ('x', Val::Int(n)) => format!("{n:x}"),
            ('X', Val::Int(n)) => format!("{n:X}"),
            ('x', Val::Str(s)) => s.bytes().map(|b| format!("{b:02x}")).collect(),
            ('f' | 'F', Val::Float(f)) => format!("{:.*}", prec.unwrap_or(6), f),
            ('f' | 'F', Val::Int(n)) => format!("%!f(int={n})"),
            ('e', Val::Float(f)) => format!("{:.*e}", prec.unwrap_or(6), f),
            ('g', Val::Float(f)) => match prec {
                Some(p) => super::format::go_g(*f, p),
                None => go_float(*f),
            },
            ('q', v) => super::format::go_quote(&v.to_go_string()),
            ('t', Val::Bool(b)) => b.to_string(),
            ('s' | 'v', v) => {
                let s = v.to_go_string();
                match prec {
                    Some(p) if verb == 's' => s.chars().take(p).collect(),
                    _ => s,
                }
            }
            (verb, v) => format!("%!{verb}({}={})", v.type_name(), v.to_go_string()),
        };
        let w: usize = width.parse().unwrap_or(0);
        let len = body.chars().count();
        if len >= w {
            out.push_str(&body);
        } else if left {
            out.push_str(&body);
            out.push_str(&" ".repeat(w - len));
        } else if zero && matches!(arg, Val::Int(_) | Val::Float(_)) {
            let (sign, digits) = if let Some(d) = body.strip_prefix('-') {
                ("-", d)
            } else {
                ("", body.as_str())
            };
            out.push_str(sign);
            out.push_str(&"0".repeat(w - len));
            out.push_str(digits);
        } else {
            out.push_str(&" ".repeat(w - len));
            out.push_str(&body);
        }
    }
    if ai < args.len() {
        out.push_str("%!(EXTRA ");
        out.push_str(
            &args[ai..]
                .iter()
                .map(|a| format!("{}={}", a.type_name(), a.to_go_string()))
                .collect::<Vec<_>>()
                .join(", "),
        );
        out.push(')');
    }
    out
}

fn fields(v: &Val, chain: &[String]) -> Result<Val, String> {
    let mut cur = v.clone();
    for f in chain {
        cur = field(&cur, f)?;
    }
    Ok(cur)
}

fn field(v: &Val, name: &str) -> Result<Val, String> {
    match v {
        // Go templates see the Go field names (`ID`, `APIVersion`), the JSON has the wire names
        // (`Id`, `ApiVersion`); Docker tries the typed struct and then the raw map, so both work.
        Val::Obj(o) => match o.get(name).or_else(|| {
            o.fields
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v)
        }) {
            Some(Val::Nil) if NIL_SLICES.contains(&name) => Ok(Val::NilSlice),
            Some(Val::Nil) if NIL_MAPS.contains(&name) => Ok(Val::NilMap),
            Some(x) => Ok(x.clone()),
            None if o.is_struct => Err(xerr(format!(
                ".{name}>: can't evaluate field {name} in type struct"
            ))),
            None => Ok(Val::NoValue),
        },
        Val::Nil | Val::NoValue => Err(xerr(format!(
            ".{name}>: nil pointer evaluating interface {{}}.{name}"
        ))),
        other => Err(xerr(format!(
            ".{name}>: can't evaluate field {name} in type {}",
            other.type_name()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(t: &str, json: &str) -> String {
        let v = Val::parse_json(json.as_bytes()).unwrap();
        Template::parse(t).unwrap().execute(&v).unwrap()
    }

    const C: &str = r#"{"Id":"abc","Name":"/web","State":{"Status":"running","Running":true,"Pid":42},
        "Config":{"Env":["A=1","B=2"],"Cmd":null,"Labels":{"z":"1","a":"2"},"Entrypoint":null},
        "Mounts":[],"NetworkSettings":{"Networks":{"bridge":{"IPAddress":"172.17.0.2"}}},"Size":1.5}"#;

    #[test]
    fn fields_and_nesting() {
        assert_eq!(run("{{.State.Status}} {{.State.Pid}}", C), "running 42");
        assert_eq!(run("{{.Name}}", C), "/web");
        assert_eq!(run("{{.Config.Env}}", C), "[A=1 B=2]");
        assert_eq!(
            run("{{.Config.Cmd}} {{.Config.Labels}}", C),
            "[] map[a:2 z:1]"
        );
        assert_eq!(run("{{.Size}}", C), "1.5");
        assert_eq!(run("{{.Config.Labels.nope}}", C), "<no value>");
    }

    #[test]
    fn json_keeps_struct_order_and_sorts_maps() {
        assert_eq!(
            run("{{json .State}}", C),
            r#"{"Status":"running","Running":true,"Pid":42}"#
        );
        assert_eq!(run("{{json .Config.Labels}}", C), r#"{"a":"2","z":"1"}"#);
        assert_eq!(run("{{json .Config.Cmd}}", C), "null");
        assert_eq!(run(r#"{{json "a<b"}}"#, C), r#""a<b""#);
    }

    #[test]
    fn range_index_and_variables() {
        assert_eq!(run("{{range .Config.Env}}[{{.}}]{{end}}", C), "[A=1][B=2]");
        assert_eq!(
            run("{{range $i, $e := .Config.Env}}{{$i}}={{$e}} {{end}}", C),
            "0=A=1 1=B=2 "
        );
        assert_eq!(
            run(
                "{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{$v.IPAddress}}{{end}}",
                C
            ),
            "bridge 172.17.0.2"
        );
        assert_eq!(run("{{index .Config.Env 1}}", C), "B=2");
        assert_eq!(run(r#"{{index .Config.Labels "z"}}"#, C), "1");
        assert_eq!(
            run(
                "{{(index .NetworkSettings.Networks \"bridge\").IPAddress}}",
                C
            ),
            "172.17.0.2"
        );
        assert_eq!(run("{{range .Mounts}}x{{else}}none{{end}}", C), "none");
        assert_eq!(run("{{$n := .Name}}{{$n}}{{$n = \"b\"}}{{$n}}", C), "/webb");
        assert_eq!(
            run(
                "{{range .Config.Env}}{{if eq . \"B=2\"}}{{break}}{{end}}{{.}}{{end}}",
                C
            ),
            "A=1"
        );
        assert_eq!(
            run(
                "{{with .State}}{{.Status}}{{end}}{{with .Mounts}}x{{else}}y{{end}}",
                C
            ),
            "runningy"
        );
        assert_eq!(run("{{$.Name}}", C), "/web");
    }

    #[test]
    fn functions_and_pipelines() {
        assert_eq!(run("{{join .Config.Env \",\"}}", C), "A=1,B=2");
        assert_eq!(run("{{.State.Status | upper}}", C), "RUNNING");
        assert_eq!(run("{{upper .Name | lower}}", C), "/web");
        assert_eq!(run("{{split \"a:b:c\" \":\"}}", C), "[a b c]");
        assert_eq!(run("{{title \"hello world\"}}", C), "Hello World");
        assert_eq!(run("{{len .Config.Env}} {{len .Name}}", C), "2 4");
        assert_eq!(run("{{if .State.Running}}up{{else}}down{{end}}", C), "up");
        assert_eq!(
            run(
                "{{if not .State.Running}}up{{else if .Name}}named{{end}}",
                C
            ),
            "named"
        );
        assert_eq!(
            run("{{if and .State.Running (eq .State.Pid 42)}}yes{{end}}", C),
            "yes"
        );
        assert_eq!(run("{{if gt .State.Pid 40}}big{{end}}", C), "big");
        assert_eq!(
            run(
                r#"{{printf "%-6s|%3d|%q" .State.Status .State.Pid .Name}}"#,
                C
            ),
            "running| 42|\"/web\""
        );
        assert_eq!(
            run("{{pad .Name 1 2}}|{{truncate .Name 2}}", C),
            " /web  |/w"
        );
        assert_eq!(
            run("{{slice .Name 1}} {{print 1 2}} {{print \"a\" 1}}", C),
            "web 1 2 a1"
        );
    }

    #[test]
    fn whitespace_trimming_and_comments() {
        assert_eq!(run("a  {{- .Name -}}  b{{/* note */}}", C), "a/webb");
        assert_eq!(run("x {{- /* c */ -}} y", C), "xy");
    }

    #[test]
    fn methods_and_headers() {
        let ctx = Val::Obj(
            Obj::structure()
                .with("ID", "abc")
                .with("Label", Val::Method(vec![("com.x".into(), "1".into())])),
        );
        let t = Template::parse(r#"{{.ID}} {{.Label "com.x"}}"#).unwrap();
        assert_eq!(t.execute(&ctx).unwrap(), "abc 1");
        let hdr = Val::Obj(Obj::map().with("ID", "CONTAINER ID"));
        assert_eq!(t.execute_header(&hdr).unwrap(), "CONTAINER ID x");
        assert_eq!(
            Template::parse("{{upper .ID}}")
                .unwrap()
                .execute_header(&hdr)
                .unwrap(),
            "CONTAINER ID"
        );
        assert_eq!(run("{{json .}}", r#"{"b":1,"a":2}"#), r#"{"a":2,"b":1}"#);
    }

    #[test]
    fn errors_read_like_go() {
        assert_eq!(
            Template::parse("{{nosuch .}}").unwrap_err(),
            "template: :1: function \"nosuch\" not defined"
        );
        assert!(Template::parse("{{if .X}}")
            .unwrap_err()
            .contains("unexpected EOF"));
        assert!(Template::parse("{{.X")
            .unwrap_err()
            .contains("unclosed action"));
        let v = Val::parse_json(C.as_bytes()).unwrap();
        assert!(Template::parse("{{.Nope}}")
            .unwrap()
            .execute(&v)
            .unwrap_err()
            .contains("can't evaluate field Nope"));
        assert!(Template::parse("{{index .Config.Env 5}}")
            .unwrap()
            .execute(&v)
            .unwrap_err()
            .contains("index out of range: 5"));
    }
}
