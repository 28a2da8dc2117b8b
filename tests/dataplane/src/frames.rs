//! Hand-made frames the harness's builders do not cover: IPv6 TCP, IPv6 extension headers,
//! IP fragments, VLAN tags to strip, and ICMP/ICMPv6 errors quoting a packet. Checksums are
//! computed from scratch here (never with the data plane's incremental code), so tests that
//! compare the data plane's output with these frames check the checksums byte for byte.

use lb_common::csum;
use lb_testkit::packet::{CLIENT_MAC, LB_MAC};

/// IPv6 extension header types.
pub const HOP_BY_HOP: u8 = 0;
pub const ROUTING: u8 = 43;
pub const FRAGMENT: u8 = 44;
pub const DEST_OPTS: u8 = 60;

/// IPv6 TCP frame (flags byte as given; SYN = 0x02, ACK = 0x10) with a valid checksum.
#[must_use]
pub fn tcp_v6(src: [u8; 16], dst: [u8; 16], sport: u16, dport: u16, flags: u8) -> Vec<u8> {
    let mut f = Vec::new();
    f.extend_from_slice(&LB_MAC);
    f.extend_from_slice(&CLIENT_MAC);
    f.extend_from_slice(&[0x86, 0xdd]);
    f.extend_from_slice(&[0x60, 0, 0, 0, 0, 20, 6, 64]);
    f.extend_from_slice(&src);
    f.extend_from_slice(&dst);
    let mut tcp = vec![0u8; 20];
    tcp[0..2].copy_from_slice(&sport.to_be_bytes());
    tcp[2..4].copy_from_slice(&dport.to_be_bytes());
    tcp[4..8].copy_from_slice(&1000u32.to_be_bytes());
    tcp[12] = 5 << 4;
    tcp[13] = flags;
    tcp[14..16].copy_from_slice(&64240u16.to_be_bytes());
    f.extend_from_slice(&tcp);
    fix_l4_v6(&mut f, 54, 6);
    f
}

/// Inserts an IPv6 extension header of `kind` with `len` bytes (a multiple of 8, at least 8)
/// right after the fixed header, keeping the chain and the payload length consistent. `patch`
/// edits the header's bytes after the next-header and length fields are set.
#[must_use]
pub fn with_v6_ext(frame: &[u8], kind: u8, len: usize, patch: impl FnOnce(&mut [u8])) -> Vec<u8> {
    assert!(len >= 8 && len.is_multiple_of(8));
    let mut ext = vec![0u8; len];
    ext[0] = frame[20];
    ext[1] = if kind == FRAGMENT {
        0
    } else {
        (len / 8 - 1) as u8
    };
    patch(&mut ext);
    let mut f = frame[..54].to_vec();
    f[20] = kind;
    let payload = u16::from_be_bytes([f[18], f[19]]) + len as u16;
    f[18..20].copy_from_slice(&payload.to_be_bytes());
    f.extend_from_slice(&ext);
    f.extend_from_slice(&frame[54..]);
    f
}

/// Sets the IPv4 flags/fragment-offset field (`more`: MF flag; `offset` in 8-byte units) and
/// fixes the header checksum.
#[must_use]
pub fn ipv4_fragment(frame: &[u8], more: bool, offset: u16) -> Vec<u8> {
    let mut f = frame.to_vec();
    let field = (u16::from(more) << 13) | offset;
    f[20..22].copy_from_slice(&field.to_be_bytes());
    fix_ipv4_header(&mut f[14..]);
    f
}

/// The frame without its VLAN tags (what a member must receive).
#[must_use]
pub fn untagged(frame: &[u8], tags: usize) -> Vec<u8> {
    let mut f = frame[..12].to_vec();
    f.extend_from_slice(&frame[12 + 4 * tags..]);
    f
}

/// Recomputes an IPv4 header checksum (header at the start of `ip`).
pub fn fix_ipv4_header(ip: &mut [u8]) {
    let ihl = usize::from(ip[0] & 0x0f) * 4;
    ip[10] = 0;
    ip[11] = 0;
    let c = csum::full(&ip[..ihl], 0);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
}

/// Recomputes the TCP/UDP checksum of an IPv6 frame whose transport header is at `l4`.
pub fn fix_l4_v6(f: &mut [u8], l4: usize, proto: u8) {
    let at = l4 + if proto == 6 { 16 } else { 6 };
    f[at] = 0;
    f[at + 1] = 0;
    let len = f.len() - l4;
    let mut p = f[22..54].to_vec();
    p.extend_from_slice(&(len as u32).to_be_bytes());
    p.extend_from_slice(&[0, 0, 0, proto]);
    p.extend_from_slice(&f[l4..]);
    let c = csum::full(&p, 0);
    f[at..at + 2].copy_from_slice(&c.to_be_bytes());
}

/// Recomputes the TCP/UDP checksum of an untagged IPv4 frame.
pub fn fix_l4_v4(f: &mut [u8]) {
    let ihl = usize::from(f[14] & 0x0f) * 4;
    let l4 = 14 + ihl;
    let proto = f[23];
    let at = l4 + if proto == 6 { 16 } else { 6 };
    f[at] = 0;
    f[at + 1] = 0;
    let mut p = f[26..34].to_vec();
    p.extend_from_slice(&[0, proto]);
    p.extend_from_slice(&((f.len() - l4) as u16).to_be_bytes());
    p.extend_from_slice(&f[l4..]);
    let c = csum::full(&p, 0);
    f[at..at + 2].copy_from_slice(&c.to_be_bytes());
}

/// An ICMPv4 error (`kind`, `code`, 4 bytes of `rest`: e.g. the next-hop MTU) from `src` to
/// `dst`, quoting `quoted` (an IPv4 packet, no Ethernet header). Checksums computed in full.
#[must_use]
pub fn icmp4_error(
    src: [u8; 4],
    dst: [u8; 4],
    kind: u8,
    code: u8,
    rest: [u8; 4],
    quoted: &[u8],
) -> Vec<u8> {
    let mut icmp = vec![kind, code, 0, 0];
    icmp.extend_from_slice(&rest);
    icmp.extend_from_slice(quoted);
    let c = csum::full(&icmp, 0);
    icmp[2..4].copy_from_slice(&c.to_be_bytes());
    let mut f = Vec::new();
    f.extend_from_slice(&LB_MAC);
    f.extend_from_slice(&CLIENT_MAC);
    f.extend_from_slice(&[0x08, 0x00]);
    let mut ip = vec![0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, 1, 0, 0];
    ip[2..4].copy_from_slice(&((20 + icmp.len()) as u16).to_be_bytes());
    ip.extend_from_slice(&src);
    ip.extend_from_slice(&dst);
    fix_ipv4_header(&mut ip);
    f.extend_from_slice(&ip);
    f.extend_from_slice(&icmp);
    f
}

/// An ICMPv6 error (`kind`, `code`, 4 bytes of `rest`: the MTU of a packet-too-big) from
/// `src` to `dst`, quoting `quoted` (an IPv6 packet). Checksum (with pseudo-header) in full.
#[must_use]
pub fn icmp6_error(
    src: [u8; 16],
    dst: [u8; 16],
    kind: u8,
    code: u8,
    rest: [u8; 4],
    quoted: &[u8],
) -> Vec<u8> {
    let mut icmp = vec![kind, code, 0, 0];
    icmp.extend_from_slice(&rest);
    icmp.extend_from_slice(quoted);
    let mut f = Vec::new();
    f.extend_from_slice(&LB_MAC);
    f.extend_from_slice(&CLIENT_MAC);
    f.extend_from_slice(&[0x86, 0xdd, 0x60, 0, 0, 0]);
    f.extend_from_slice(&(icmp.len() as u16).to_be_bytes());
    f.extend_from_slice(&[58, 64]);
    f.extend_from_slice(&src);
    f.extend_from_slice(&dst);
    f.extend_from_slice(&icmp);
    fix_icmp6(&mut f);
    f
}

/// Recomputes the ICMPv6 checksum of an untagged frame without extension headers.
pub fn fix_icmp6(f: &mut [u8]) {
    f[56] = 0;
    f[57] = 0;
    let mut p = f[22..54].to_vec();
    p.extend_from_slice(&((f.len() - 54) as u32).to_be_bytes());
    p.extend_from_slice(&[0, 0, 0, 58]);
    p.extend_from_slice(&f[54..]);
    let c = csum::full(&p, 0);
    f[56..58].copy_from_slice(&c.to_be_bytes());
}
