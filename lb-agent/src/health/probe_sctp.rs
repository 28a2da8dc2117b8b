//! SCTP health check as Octavia's amphora does it: send an INIT to the member, succeed on an
//! INIT-ACK (then ABORT the half-open association), fail on an ABORT or silence. Raw IP
//! sockets (protocol 132), so it works without the kernel's SCTP stack on the agent's host.

use std::{
    mem::MaybeUninit,
    net::SocketAddr,
    time::{Duration, Instant},
};

use socket2::{Domain, Protocol, Socket, Type};

use super::raw_recv;

const IPPROTO_SCTP: i32 = 132;
const CHUNK_INIT: u8 = 1;
const CHUNK_INIT_ACK: u8 = 2;
const CHUNK_ABORT: u8 = 6;
const CRC: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISCSI);

/// The SCTP checksum (CRC32c over the packet with a zero checksum field, stored little-endian
/// as Linux and RFC 4960 appendix B do).
#[must_use]
pub fn checksum(packet: &[u8]) -> [u8; 4] {
    let mut digest = CRC.digest();
    digest.update(packet.get(..8).unwrap_or_default());
    digest.update(&[0; 4]);
    digest.update(packet.get(12..).unwrap_or_default());
    digest.finalize().to_le_bytes()
}

/// A packet: common header + one chunk (`value` after the 4-byte chunk header).
#[must_use]
pub fn packet(sport: u16, dport: u16, vtag: u32, chunk: u8, flags: u8, value: &[u8]) -> Vec<u8> {
    let mut p = Vec::with_capacity(16 + value.len());
    p.extend_from_slice(&sport.to_be_bytes());
    p.extend_from_slice(&dport.to_be_bytes());
    p.extend_from_slice(&vtag.to_be_bytes());
    p.extend_from_slice(&[0; 4]);
    p.push(chunk);
    p.push(flags);
    let len = u16::try_from(4 + value.len()).unwrap_or(u16::MAX);
    p.extend_from_slice(&len.to_be_bytes());
    p.extend_from_slice(value);
    let c = checksum(&p);
    p[8..12].copy_from_slice(&c);
    p
}

/// The SCTP part of a received datagram (IPv4 raw sockets include the IP header).
#[must_use]
pub fn sctp_part(data: &[u8], v4: bool) -> &[u8] {
    if v4 {
        let ihl = usize::from(data.first().copied().unwrap_or(0x45) & 0x0f) * 4;
        data.get(ihl..).unwrap_or_default()
    } else {
        data
    }
}

fn random_u32() -> u32 {
    let mut b = [0u8; 4];
    if std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut b))
        .is_err()
    {
        b = std::process::id().to_be_bytes();
    }
    u32::from_ne_bytes(b) | 1
}

/// Probes `target`; `Ok` on an INIT-ACK.
pub fn check(target: SocketAddr, timeout: Duration) -> Result<(), String> {
    let v4 = target.is_ipv4();
    let domain = if v4 { Domain::IPV4 } else { Domain::IPV6 };
    let socket = Socket::new(domain, Type::RAW, Some(Protocol::from(IPPROTO_SCTP)))
        .map_err(|e| format!("raw SCTP socket: {e}"))?;
    let sport = 49152 + u16::try_from(random_u32() % 16384).unwrap_or(0);
    let tag = random_u32();
    let mut init = Vec::with_capacity(16);
    init.extend_from_slice(&tag.to_be_bytes()); // initiate tag
    init.extend_from_slice(&65535u32.to_be_bytes()); // a_rwnd
    init.extend_from_slice(&1u16.to_be_bytes()); // outbound streams
    init.extend_from_slice(&1u16.to_be_bytes()); // inbound streams
    init.extend_from_slice(&random_u32().to_be_bytes()); // initial TSN
    let to = SocketAddr::new(target.ip(), 0).into();
    socket
        .send_to(&packet(sport, target.port(), 0, CHUNK_INIT, 0, &init), &to)
        .map_err(|e| format!("send INIT: {e}"))?;
    let deadline = Instant::now() + timeout;
    let mut buf = [MaybeUninit::<u8>::uninit(); 2048];
    loop {
        let Some(data) = raw_recv::next_from(&socket, target.ip(), deadline, &mut buf)? else {
            return Err("no INIT-ACK".into());
        };
        let p = sctp_part(&data, v4);
        let ours = p.get(0..2) == Some(&target.port().to_be_bytes()[..])
            && p.get(2..4) == Some(&sport.to_be_bytes()[..])
            && p.get(4..8) == Some(&tag.to_be_bytes()[..]);
        if !ours {
            continue;
        }
        match p.get(12) {
            Some(&CHUNK_INIT_ACK) => {
                // Close the half-open association with the member's tag; best effort.
                if let Some(peer_tag) = p.get(16..20) {
                    let peer =
                        u32::from_be_bytes([peer_tag[0], peer_tag[1], peer_tag[2], peer_tag[3]]);
                    let _ = socket.send_to(
                        &packet(sport, target.port(), peer, CHUNK_ABORT, 0, &[]),
                        &to,
                    );
                }
                return Ok(());
            }
            Some(&CHUNK_ABORT) => return Err("the member answered ABORT".into()),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32c_is_castagnoli_stored_little_endian() {
        // The standard check value of CRC-32C.
        assert_eq!(CRC.checksum(b"123456789"), 0xE306_9283);
        let p = packet(1, 2, 0, CHUNK_INIT, 0, &[0; 16]);
        assert_eq!(&p[8..12], &checksum(&p), "the stored checksum verifies");
        let mut bad = p.clone();
        bad[20] ^= 1;
        assert_ne!(&bad[8..12], &checksum(&bad));
    }
}
