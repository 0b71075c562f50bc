//! Async frame I/O for the daemon side (async-io; runs under smol or any executor).

use super::proto::{self, Response};
use crate::base::{Error, ErrorKind, Result};
use async_io::Async;
use serde::Serialize;
use smol::io::{AsyncReadExt, AsyncWriteExt};
use std::os::unix::net::UnixStream;
use std::path::Path;

pub(crate) type Conn = Async<UnixStream>;

pub(crate) async fn connect(sock: &Path) -> std::io::Result<Conn> {
    Async::<UnixStream>::connect(sock).await
}

/// Nobody serves the socket any more (the shim is gone): refused, or the file is missing.
pub(crate) fn is_gone(e: &std::io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::ECONNREFUSED) | Some(libc::ENOENT)
    )
}

pub(crate) async fn send<T: Serialize>(conn: &mut Conn, msg: &T) -> Result<()> {
    let frame = proto::encode(msg)?;
    conn.write_all(&frame)
        .await
        .map_err(|e| Error::from(e).context("send request"))?;
    conn.flush()
        .await
        .map_err(|e| Error::from(e).context("send request"))
}

/// Read one frame; `Ok(None)` if the peer closed without answering.
pub(crate) async fn recv_frame(conn: &mut Conn) -> Result<Option<Vec<u8>>> {
    let mut header = [0u8; 4];
    let mut got = 0;
    while got < 4 {
        let n = match conn.read(&mut header[got..]).await {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => 0,
            Err(e) => return Err(Error::from(e).context("read reply")),
        };
        if n == 0 {
            if got == 0 {
                return Ok(None);
            }
            return Err(Error::new(
                ErrorKind::Unavailable,
                "connection closed in the middle of a reply",
            ));
        }
        got += n;
    }
    let mut body = vec![0u8; proto::frame_len(header)?];
    conn.read_exact(&mut body)
        .await
        .map_err(|e| Error::from(e).context("read reply"))?;
    Ok(Some(body))
}

pub(crate) async fn recv_response(conn: &mut Conn) -> Result<Option<Response>> {
    match recv_frame(conn).await? {
        Some(body) => Ok(Some(proto::decode(&body)?)),
        None => Ok(None),
    }
}

/// Copy both ways between two streams until `from_far` ends (the process's output is over);
/// when `near` half-closes, half-close `far` (end of stdin) and keep relaying output.
pub(crate) async fn splice(near: &Conn, far: &Conn) {
    let up = async {
        let _ = smol::io::copy(near, &mut &*far).await;
        let _ = far.get_ref().shutdown(std::net::Shutdown::Write);
        smol::future::pending::<()>().await
    };
    let down = async {
        let _ = smol::io::copy(far, &mut &*near).await;
        let _ = near.get_ref().shutdown(std::net::Shutdown::Write);
    };
    smol::future::or(down, up).await
}
