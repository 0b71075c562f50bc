//! `Error {kind, context, errno}`: one error type for every layer.
//!
//! The kind decides the HTTP status (daemon) and the exit code (cli) in exactly one place each;
//! the context chain names the objects involved ("mount overlay on /x: ..."); the errno is kept
//! so callers can branch on ENOENT/EEXIST without parsing strings.

use std::fmt;
use std::io;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    NotFound,
    Conflict,
    InvalidArgument,
    Unavailable,
    PermissionDenied,
    NotImplemented,
    Internal,
}

#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
    /// Innermost message first; `context` pushes outer descriptions after it.
    message: String,
    context: Vec<String>,
    errno: Option<i32>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            context: Vec::new(),
            errno: None,
        }
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, message)
    }
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidArgument, message)
    }
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Conflict, message)
    }
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, message)
    }
    pub fn unsupported(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotImplemented, message)
    }
    /// An error from a failed system call: the kind follows the errno.
    pub fn from_errno(errno: i32, what: impl Into<String>) -> Self {
        let io = io::Error::from_raw_os_error(errno);
        Error {
            kind: kind_of_errno(errno),
            message: strip_os_suffix(&io),
            context: vec![what.into()],
            errno: Some(errno),
        }
    }
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }
    pub fn errno(&self) -> Option<i32> {
        self.errno
    }
    /// The innermost message without context (what Docker-style APIs often want).
    pub fn message(&self) -> &str {
        &self.message
    }
    /// Wrap with an outer description naming the object being worked on.
    pub fn context(mut self, what: impl Into<String>) -> Self {
        self.context.push(what.into());
        self
    }
    pub fn with_kind(mut self, kind: ErrorKind) -> Self {
        self.kind = kind;
        self
    }
}

fn strip_os_suffix(e: &io::Error) -> String {
    // io::Error displays "No such file or directory (os error 2)"; the errno is kept separately.
    let s = e.to_string();
    match s.rfind(" (os error ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

fn kind_of_errno(errno: i32) -> ErrorKind {
    match errno {
        2 | 3 | 19 | 20 => ErrorKind::NotFound, // ENOENT ESRCH ENODEV ENOTDIR
        17 | 16 | 39 => ErrorKind::Conflict,    // EEXIST EBUSY ENOTEMPTY
        1 | 13 | 30 => ErrorKind::PermissionDenied, // EPERM EACCES EROFS
        22 | 36 | 40 | 21 => ErrorKind::InvalidArgument, // EINVAL ENAMETOOLONG ELOOP EISDIR
        38 | 95 => ErrorKind::NotImplemented,   // ENOSYS EOPNOTSUPP
        11 | 111 | 104 | 32 => ErrorKind::Unavailable, // EAGAIN ECONNREFUSED ECONNRESET EPIPE
        _ => ErrorKind::Internal,
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in self.context.iter().rev() {
            write!(f, "{c}: ")?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Self {
        match e.raw_os_error() {
            Some(n) => Error {
                kind: kind_of_errno(n),
                message: strip_os_suffix(&e),
                context: Vec::new(),
                errno: Some(n),
            },
            None => {
                let kind = match e.kind() {
                    io::ErrorKind::NotFound => ErrorKind::NotFound,
                    io::ErrorKind::AlreadyExists => ErrorKind::Conflict,
                    io::ErrorKind::PermissionDenied => ErrorKind::PermissionDenied,
                    io::ErrorKind::InvalidInput | io::ErrorKind::InvalidData => {
                        ErrorKind::InvalidArgument
                    }
                    _ => ErrorKind::Internal,
                };
                Error::new(kind, e.to_string())
            }
        }
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::invalid(e.to_string())
    }
}

/// Add context to any fallible result: `fs::read(p).ctx(|| format!("read {p}"))?`.
pub trait Context<T> {
    fn ctx<S: Into<String>>(self, what: impl FnOnce() -> S) -> Result<T>;
}

impl<T, E: Into<Error>> Context<T> for std::result::Result<T, E> {
    fn ctx<S: Into<String>>(self, what: impl FnOnce() -> S) -> Result<T> {
        self.map_err(|e| e.into().context(what()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_puts_outer_context_first() {
        let e = Error::from_errno(2, "open /x").context("load image");
        assert_eq!(
            e.to_string(),
            "load image: open /x: No such file or directory"
        );
        assert_eq!(e.kind(), ErrorKind::NotFound);
        assert_eq!(e.errno(), Some(2));
    }

    #[test]
    fn io_errors_keep_errno_and_kind() {
        let e: Error = std::fs::read("/nonexistent/berth").unwrap_err().into();
        assert_eq!(e.errno(), Some(2));
        assert_eq!(e.kind(), ErrorKind::NotFound);
        let e = std::fs::read("/nonexistent")
            .ctx(|| "read config")
            .unwrap_err();
        assert!(e.to_string().starts_with("read config: No such file"));
    }
}
