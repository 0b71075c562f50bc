//! Parent ↔ init protocol: one JSON-encoded `Msg` per SOCK_SEQPACKET datagram, at most
//! `MAX_MSG` bytes. The socket is close-on-exec, so a successful execve of the container's
//! program reads as EOF on the parent's side.

use crate::base::{Error, ErrorKind, Result};
use crate::sys::fd;
use serde::{Deserialize, Serialize};
use std::os::fd::{AsFd, OwnedFd};

/// Largest message either side accepts (errors carry a message; nothing else is large).
pub const MAX_MSG: usize = 64 * 1024;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "msg", rename_all = "snake_case")]
pub enum Msg {
    /// parent → init: id maps are written and the cgroup joined; go on with the setup.
    /// `pid` is the init's pid as the runtime sees it (hooks report that one).
    Go { pid: i32 },
    /// parent → init: the init is in the container's cgroup now (the parent joins it there while
    /// the init starts its setup; the init waits for this only where the cgroup matters).
    CgroupJoined,
    /// init → parent: mounts are done; run the prestart and createRuntime hooks now.
    RunHooks,
    /// parent → init: the hooks succeeded.
    HooksDone,
    /// init → parent: the second-stage init's pid (when it is not the parent's own child).
    Pid { pid: i32 },
    /// init → parent: the container is created and its init waits for `start`.
    Ready,
    /// init → parent: the setup failed.
    Error { kind: String, message: String },
}

impl Msg {
    pub fn from_error(e: &Error) -> Msg {
        Msg::Error {
            kind: kind_name(e.kind()).to_string(),
            message: e.to_string(),
        }
    }

    /// Encode, refusing anything over the limit rather than sending a truncated datagram.
    pub fn encode(&self) -> Result<Vec<u8>> {
        let mut v = serde_json::to_vec(self).map_err(|e| Error::internal(e.to_string()))?;
        if v.len() > MAX_MSG {
            if let Msg::Error { kind, message } = self {
                // An error must still get through: cut the message, keep the kind.
                let cut: String = message.chars().take(MAX_MSG / 8).collect();
                v = serde_json::to_vec(&Msg::Error {
                    kind: kind.clone(),
                    message: cut + "…",
                })
                .map_err(|e| Error::internal(e.to_string()))?;
            } else {
                return Err(Error::internal(format!(
                    "init protocol message of {} bytes exceeds {MAX_MSG}",
                    v.len()
                )));
            }
        }
        Ok(v)
    }

    pub fn decode(b: &[u8]) -> Result<Msg> {
        if b.len() > MAX_MSG {
            return Err(Error::invalid(format!(
                "init protocol message of {} bytes exceeds {MAX_MSG}",
                b.len()
            )));
        }
        serde_json::from_slice(b)
            .map_err(|e| Error::invalid(format!("bad init protocol message: {e}")))
    }
}

fn kind_name(k: ErrorKind) -> &'static str {
    match k {
        ErrorKind::NotFound => "not_found",
        ErrorKind::Conflict => "conflict",
        ErrorKind::InvalidArgument => "invalid",
        ErrorKind::Unavailable => "unavailable",
        ErrorKind::PermissionDenied => "permission",
        ErrorKind::NotImplemented => "unsupported",
        ErrorKind::Internal => "internal",
    }
}

/// Rebuild the init's error on the parent's side.
pub fn error_from(kind: &str, message: String) -> Error {
    let k = match kind {
        "not_found" => ErrorKind::NotFound,
        "conflict" => ErrorKind::Conflict,
        "invalid" => ErrorKind::InvalidArgument,
        "unavailable" => ErrorKind::Unavailable,
        "permission" => ErrorKind::PermissionDenied,
        "unsupported" => ErrorKind::NotImplemented,
        _ => ErrorKind::Internal,
    };
    Error::new(k, message)
}

/// One end of the socket pair.
pub struct Channel {
    pub fd: OwnedFd,
}

impl Channel {
    pub fn pair() -> Result<(Channel, Channel)> {
        let (a, b) = fd::seqpacket_pair()?;
        Ok((Channel { fd: a }, Channel { fd: b }))
    }

    pub fn send(&self, m: &Msg) -> Result<()> {
        fd::send_msg(self.fd.as_fd(), &m.encode()?)
    }

    /// The next message; None when the peer is gone (closed, exited, or exec'd).
    pub fn recv(&self) -> Result<Option<Msg>> {
        let mut buf = vec![0u8; MAX_MSG];
        match fd::recv_msg(self.fd.as_fd(), &mut buf)? {
            None => Ok(None),
            Some(n) => Msg::decode(&buf[..n]).map(Some),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip_over_a_real_socket_pair() {
        let (a, b) = Channel::pair().unwrap();
        for m in [
            Msg::Go { pid: 9 },
            Msg::CgroupJoined,
            Msg::RunHooks,
            Msg::HooksDone,
            Msg::Pid { pid: 42 },
            Msg::Ready,
            Msg::Error {
                kind: "invalid".into(),
                message: "bad".into(),
            },
        ] {
            a.send(&m).unwrap();
            assert_eq!(b.recv().unwrap(), Some(m));
        }
        drop(a);
        assert_eq!(b.recv().unwrap(), None, "a closed peer reads as EOF");
    }

    /// The init fails and exits while a message of ours (CgroupJoined) sits unread in its
    /// queue: the kernel flags that as ECONNRESET, and the init's error must still arrive.
    #[test]
    fn the_last_message_survives_a_peer_that_left_ours_unread() {
        let (parent, init) = Channel::pair().unwrap();
        let last = Msg::Error {
            kind: "invalid".into(),
            message: "last words".into(),
        };
        init.send(&last).unwrap();
        parent.send(&Msg::CgroupJoined).unwrap();
        drop(init);
        assert_eq!(parent.recv().unwrap(), Some(last));
        assert_eq!(parent.recv().unwrap(), None);
    }

    #[test]
    fn oversized_datagrams_are_refused_not_truncated() {
        let (a, b) = Channel::pair().unwrap();
        let big = vec![b'x'; MAX_MSG + 10];
        crate::sys::fd::send_msg(a.fd.as_fd(), &big).unwrap();
        let e = b.recv().unwrap_err();
        assert!(e.to_string().contains("exceeds the limit"), "{e}");
    }

    #[test]
    fn huge_errors_are_cut_but_delivered() {
        let m = Msg::Error {
            kind: "internal".into(),
            message: "y".repeat(MAX_MSG * 2),
        };
        let v = m.encode().unwrap();
        assert!(v.len() <= MAX_MSG);
        assert!(matches!(Msg::decode(&v).unwrap(), Msg::Error { .. }));
        assert!(Msg::decode(b"{\"msg\":\"nope\"}").is_err());
    }

    #[test]
    fn errors_keep_their_kind() {
        let e = Error::not_found("container does not exist");
        let Msg::Error { kind, message } = Msg::from_error(&e) else {
            panic!()
        };
        let back = error_from(&kind, message);
        assert_eq!(back.kind(), ErrorKind::NotFound);
        assert_eq!(back.to_string(), "container does not exist");
    }
}
