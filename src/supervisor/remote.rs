//! The supervisor as a client of a `containerd` role on another socket
//! (`dockerd --containerd SOCKET`).

use super::client::{self, Conn};
use super::proto::{Reply, Response, ServiceRequest};
use crate::base::{Error, ErrorKind, Result};
use std::path::PathBuf;

pub(crate) struct Remote {
    socket: PathBuf,
}

impl Remote {
    pub fn new(socket: PathBuf) -> Remote {
        Remote { socket }
    }

    async fn open(&self, req: &ServiceRequest) -> Result<Conn> {
        req.validate()?;
        let mut conn = client::connect(&self.socket).await.map_err(|e| {
            Error::from(e)
                .context(format!(
                    "connect to containerd at {}",
                    self.socket.display()
                ))
                .with_kind(ErrorKind::Unavailable)
        })?;
        client::send(&mut conn, req).await?;
        Ok(conn)
    }

    pub async fn call(&self, req: ServiceRequest) -> Result<Reply> {
        let mut conn = self.open(&req).await?;
        match client::recv_response(&mut conn).await? {
            Some(r) => r.into_result(),
            None => Err(Error::new(
                ErrorKind::Unavailable,
                format!(
                    "containerd at {} closed the connection without answering",
                    self.socket.display()
                ),
            )),
        }
    }

    pub async fn attach(&self, req: ServiceRequest) -> Result<(bool, Conn)> {
        let mut conn = self.open(&req).await?;
        match client::recv_response(&mut conn).await? {
            Some(Response::Ok(Reply::Attached { tty })) => Ok((tty, conn)),
            Some(r) => Err(r
                .into_result()
                .map(|r| Error::internal(format!("unexpected reply: {r:?}")))
                .unwrap_or_else(|e| e)),
            None => Err(Error::new(
                ErrorKind::Unavailable,
                "containerd closed the connection without answering",
            )),
        }
    }
}
