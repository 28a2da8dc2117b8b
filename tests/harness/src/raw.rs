//! Sending hand-made frames on an interface with an AF_PACKET socket, to put malformed or
//! exotic packets on a wire that only test namespaces share. Call it inside [`crate::Netns::enter`].

use std::{ffi::CString, io, mem};

/// Sends each frame once on `iface` (resolved in the calling thread's namespace).
pub fn send_frames(iface: &str, frames: &[Vec<u8>]) -> io::Result<()> {
    let name = CString::new(iface).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    // SAFETY: plain libc calls with valid arguments; the fd is closed below on every path.
    unsafe {
        let ifindex = libc::if_nametoindex(name.as_ptr());
        if ifindex == 0 {
            return Err(io::Error::last_os_error());
        }
        let fd = libc::socket(libc::AF_PACKET, libc::SOCK_RAW, 0);
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        let mut addr: libc::sockaddr_ll = mem::zeroed();
        addr.sll_family = libc::AF_PACKET as u16;
        addr.sll_ifindex = ifindex as i32;
        addr.sll_halen = 6;
        let mut result = Ok(());
        for frame in frames {
            let sent = libc::sendto(
                fd,
                frame.as_ptr().cast(),
                frame.len(),
                0,
                (&raw const addr).cast(),
                mem::size_of::<libc::sockaddr_ll>() as u32,
            );
            if sent < 0 {
                result = Err(io::Error::last_os_error());
                break;
            }
        }
        libc::close(fd);
        result
    }
}
