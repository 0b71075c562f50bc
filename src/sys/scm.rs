//! File descriptors over unix sockets (SCM_RIGHTS): how the runtime hands a container's pty
//! master to the shim through `--console-socket`.

use crate::base::{Error, Result};
use rustix::net::{
    RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags, SendAncillaryBuffer,
    SendAncillaryMessage, SendFlags,
};
use std::io::{IoSlice, IoSliceMut};
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

/// Receive one message carrying a descriptor; returns the payload (runc sends the pty's name)
/// and the first descriptor. Extra descriptors are closed.
pub fn recv_fd(sock: BorrowedFd<'_>) -> Result<(Vec<u8>, OwnedFd)> {
    let mut data = [0u8; 4096];
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(4))];
    let mut cmsg = RecvAncillaryBuffer::new(&mut space);
    let mut iov = [IoSliceMut::new(&mut data)];
    let msg = loop {
        match rustix::net::recvmsg(sock, &mut iov, &mut cmsg, RecvFlags::CMSG_CLOEXEC) {
            Err(rustix::io::Errno::INTR) => continue,
            r => break r.map_err(|e| super::errno_error(e, "recvmsg on console socket"))?,
        }
    };
    let mut fd = None;
    for m in cmsg.drain() {
        if let RecvAncillaryMessage::ScmRights(fds) = m {
            for f in fds {
                if fd.is_none() {
                    fd = Some(f);
                }
            }
        }
    }
    let fd =
        fd.ok_or_else(|| Error::invalid("console socket: message carried no file descriptor"))?;
    Ok((data[..msg.bytes.min(data.len())].to_vec(), fd))
}

/// Send `payload` with one descriptor attached.
pub fn send_fd(sock: BorrowedFd<'_>, payload: &[u8], fd: BorrowedFd<'_>) -> Result<()> {
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
    let mut cmsg = SendAncillaryBuffer::new(&mut space);
    let fds = [fd.as_fd()];
    if !cmsg.push(SendAncillaryMessage::ScmRights(&fds)) {
        return Err(Error::internal("sendmsg: ancillary buffer too small"));
    }
    rustix::net::sendmsg(
        sock,
        &[IoSlice::new(payload)],
        &mut cmsg,
        SendFlags::empty(),
    )
    .map(|_| ())
    .map_err(|e| super::errno_error(e, "sendmsg with a file descriptor"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::os::fd::AsFd;
    use std::os::unix::net::UnixStream;

    #[test]
    fn a_pipe_end_crosses_a_socketpair() {
        let (a, b) = UnixStream::pair().unwrap();
        let (r, w) = super::super::poll::pipe().unwrap();
        send_fd(a.as_fd(), b"/dev/pts/9", w.as_fd()).unwrap();
        drop(w);
        let (name, w2) = recv_fd(b.as_fd()).unwrap();
        assert_eq!(name, b"/dev/pts/9");
        std::fs::File::from(w2).write_all(b"hi").unwrap();
        let mut s = String::new();
        std::fs::File::from(r).read_to_string(&mut s).unwrap();
        assert_eq!(s, "hi");
    }
}
