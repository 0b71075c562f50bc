//! The `containerd` role: the supervisor served on its own socket, to a daemon elsewhere.
//! Each connection carries one [`ServiceRequest`]; attach connections are spliced to the shim's
//! stream. The service holds no state: after a restart it lists the exec root and goes on.

use super::client::{self, Conn};
use super::proto::{self, Reply, Request, Response, ServiceRequest};
use super::Supervisor;
use crate::base::error::Context;
use crate::base::{Error, Result};
use smol::Async;
use std::os::unix::net::UnixListener;
use std::path::Path;
use std::rc::Rc;

/// Serve `sup` on `address` until the process is killed.
pub fn serve(sup: Supervisor, address: &Path) -> Result<()> {
    if let Some(parent) = address.parent() {
        crate::base::fs::mkdir_all(parent, 0o711)?;
    }
    if std::os::unix::net::UnixStream::connect(address).is_ok() {
        return Err(Error::conflict(format!(
            "another containerd is serving {}",
            address.display()
        )));
    }
    let _ = std::fs::remove_file(address);
    let listener =
        UnixListener::bind(address).ctx(|| format!("listen on {}", address.display()))?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(address, std::fs::Permissions::from_mode(0o600))
        .ctx(|| format!("chmod {}", address.display()))?;
    let listener = Async::new(listener).ctx(|| "register the listener")?;
    let ex = Rc::new(smol::LocalExecutor::new());
    smol::block_on(ex.run(async {
        let containers = sup.list().await?;
        log::info!(
            "containerd: serving {} with {} container(s) restored",
            address.display(),
            containers.len()
        );
        loop {
            let (conn, _) = match listener.accept().await {
                Ok(c) => c,
                Err(e) => {
                    log::warn!("containerd: accept: {e}");
                    smol::Timer::after(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            };
            let sup = sup.clone();
            ex.spawn(async move {
                if let Err(e) = handle(sup, conn).await {
                    log::debug!("containerd: connection: {e}");
                }
            })
            .detach();
        }
    }))
}

async fn handle(sup: Supervisor, mut conn: Conn) -> Result<()> {
    let Some(body) = client::recv_frame(&mut conn).await? else {
        return Ok(());
    };
    let req = proto::decode::<ServiceRequest>(&body).and_then(|r| r.validate().map(|()| r));
    let req = match req {
        Ok(r) => r,
        Err(e) => return client::send(&mut conn, &Response::from_result(Err(e))).await,
    };
    let result = match req {
        ServiceRequest::Create { opts } => {
            sup.create(opts).await.map(|state| Reply::State { state })
        }
        ServiceRequest::List => sup
            .list()
            .await
            .map(|containers| Reply::List { containers }),
        ServiceRequest::Task {
            id,
            request: request @ Request::Attach { .. },
        } => match sup.attach_request(&id, request).await {
            Ok((tty, shim)) => {
                client::send(&mut conn, &Response::Ok(Reply::Attached { tty })).await?;
                client::splice(&conn, &shim).await;
                return Ok(());
            }
            Err(e) => Err(e),
        },
        ServiceRequest::Task { id, request } => sup.request(&id, request).await,
    };
    client::send(&mut conn, &Response::from_result(result)).await
}
