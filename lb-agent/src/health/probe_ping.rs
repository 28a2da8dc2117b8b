//! ICMP/ICMPv6 echo on a raw socket (the agent runs as root or with CAP_NET_RAW): one request,
//! then replies are read until the matching one (same identifier and sequence, from the target)
//! or the timeout.

use std::{
    mem::MaybeUninit,
    net::{IpAddr, SocketAddr},
    sync::atomic::{AtomicU16, Ordering},
    time::{Duration, Instant},
};

use socket2::{Domain, Protocol, Socket, Type};

use super::raw_recv;

static SEQUENCE: AtomicU16 = AtomicU16::new(1);

fn checksum(data: &[u8]) -> u16 {
    let mut sum = 0u32;
    for pair in data.chunks(2) {
        let word = match pair {
            [a, b] => u16::from_be_bytes([*a, *b]),
            [a] => u16::from_be_bytes([*a, 0]),
            _ => 0,
        };
        sum += u32::from(word);
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !u16::try_from(sum).unwrap_or(0xffff)
}

/// Sends one echo request to `addr` and waits for its reply.
pub fn echo(addr: IpAddr, timeout: Duration) -> Result<(), String> {
    let (domain, protocol, request_type, reply_type) = match addr {
        IpAddr::V4(_) => (Domain::IPV4, Protocol::ICMPV4, 8u8, 0u8),
        IpAddr::V6(_) => (Domain::IPV6, Protocol::ICMPV6, 128u8, 129u8),
    };
    let socket =
        Socket::new(domain, Type::RAW, Some(protocol)).map_err(|e| format!("raw socket: {e}"))?;
    let id = u16::try_from(std::process::id() & 0xffff).unwrap_or(0);
    let seq = SEQUENCE.fetch_add(1, Ordering::Relaxed);
    let mut packet = [0u8; 16];
    packet[0] = request_type;
    packet[4..6].copy_from_slice(&id.to_be_bytes());
    packet[6..8].copy_from_slice(&seq.to_be_bytes());
    packet[8..16].copy_from_slice(b"lb-agent");
    if addr.is_ipv4() {
        let c = checksum(&packet);
        packet[2..4].copy_from_slice(&c.to_be_bytes());
    } // The kernel fills ICMPv6 checksums on raw sockets.
    socket
        .send_to(&packet, &SocketAddr::new(addr, 0).into())
        .map_err(|e| format!("send: {e}"))?;
    let deadline = Instant::now() + timeout;
    let mut buf = [MaybeUninit::<u8>::uninit(); 1500];
    loop {
        let Some(data) = raw_recv::next_from(&socket, addr, deadline, &mut buf)? else {
            return Err("no echo reply".into());
        };
        // IPv4 raw sockets deliver the IP header; IPv6 ones do not.
        let icmp = if addr.is_ipv4() {
            let ihl = usize::from(data.first().copied().unwrap_or(0x45) & 0x0f) * 4;
            data.get(ihl..).unwrap_or_default()
        } else {
            &data[..]
        };
        if icmp.first() == Some(&reply_type)
            && icmp.get(4..6) == Some(&id.to_be_bytes()[..])
            && icmp.get(6..8) == Some(&seq.to_be_bytes()[..])
        {
            return Ok(());
        }
    }
}
