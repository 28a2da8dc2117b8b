//! Receiving on the raw sockets of the PING and SCTP checks: the next datagram from the target
//! before a deadline, as bytes.

use std::{mem::MaybeUninit, net::IpAddr, time::Instant};

use socket2::Socket;

/// The next datagram from `from` (others are skipped) arriving before `deadline`; `Ok(None)`
/// when none did. `Err` for a socket error.
pub fn next_from(
    socket: &Socket,
    from: IpAddr,
    deadline: Instant,
    buf: &mut [MaybeUninit<u8>],
) -> Result<Option<Vec<u8>>, String> {
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(None);
        }
        socket
            .set_read_timeout(Some(left))
            .map_err(|e| format!("timeout: {e}"))?;
        let (n, sender) = match socket.recv_from(buf) {
            Ok(r) => r,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return Ok(None);
            }
            Err(e) => return Err(format!("receive: {e}")),
        };
        if sender.as_socket().map(|s| s.ip()) != Some(from) {
            continue;
        }
        // SAFETY: recv_from initialised the first `n` bytes.
        return Ok(Some(
            buf.iter()
                .take(n)
                .map(|b| unsafe { b.assume_init() })
                .collect(),
        ));
    }
}
