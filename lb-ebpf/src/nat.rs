//! Full-NAT rewrite: new source and destination address and port, with the IPv4 header
//! checksum and the TCP/UDP checksum updated incrementally (RFC 1624, `lb_common::csum`).
//! Checksums are summed straight from packet and scratch memory (no stack copies), and every
//! index is a constant into a fixed-size header (no bounds-check panics in kernel code).

use lb_common::{
    addr::{FAMILY_V4, IPPROTO_TCP},
    csum,
    drop::DropReason,
};

use crate::{
    parse::{Cursor, Ip},
    scratch::Rewrite,
};

/// Rewrites the packet in place.
#[inline(never)]
pub fn rewrite(cursor: &Cursor, ip: &Ip, to: &Rewrite) -> Result<(), DropReason> {
    // One's-complement change of the pseudo-header caused by the new addresses.
    let delta = if ip.family == FAMILY_V4 {
        addresses_v4(cursor, ip, to)?
    } else {
        addresses_v6(cursor, ip, to)?
    };
    if ip.proto == IPPROTO_TCP {
        // SAFETY: `ptr_mut` checked the 20-byte TCP header lies inside the packet.
        let tcp = unsafe {
            &mut *cursor
                .ptr_mut::<[u8; 20]>(ip.l4_off)
                .ok_or(DropReason::TruncatedL4)?
        };
        ports_and_checksum::<20, 16>(tcp, to, delta, false);
    } else {
        // SAFETY: `ptr_mut` checked the 8-byte UDP header lies inside the packet.
        let udp = unsafe {
            &mut *cursor
                .ptr_mut::<[u8; 8]>(ip.l4_off)
                .ok_or(DropReason::TruncatedL4)?
        };
        ports_and_checksum::<8, 6>(udp, to, delta, ip.family == FAMILY_V4);
    }
    Ok(())
}

/// Rewrites IPv4 addresses and the header checksum; returns the pseudo-header delta.
#[inline(never)]
pub fn addresses_v4(cursor: &Cursor, ip: &Ip, to: &Rewrite) -> Result<u32, DropReason> {
    let delta = {
        // SAFETY: `ptr_mut` checked the 20-byte header lies inside the packet.
        let hdr = unsafe {
            &mut *cursor
                .ptr_mut::<[u8; 20]>(ip.l3_off)
                .ok_or(DropReason::TruncatedIpv4)?
        };
        let mut delta = csum::sub_words(0, &hdr[12..20]);
        delta = csum::add_words(csum::add_words(delta, &to.src[..4]), &to.dst[..4]);
        let ip_check = u16::from_be_bytes([hdr[10], hdr[11]]);
        let ip_check = csum::finish(csum::start(ip_check) + delta).to_be_bytes();
        hdr[10] = ip_check[0];
        hdr[11] = ip_check[1];
        hdr[12..16].copy_from_slice(&to.src[..4]);
        hdr[16..20].copy_from_slice(&to.dst[..4]);
        delta
    };
    Ok(delta)
}

/// Rewrites IPv6 addresses; returns the pseudo-header delta.
#[inline(never)]
pub fn addresses_v6(cursor: &Cursor, ip: &Ip, to: &Rewrite) -> Result<u32, DropReason> {
    let delta = {
        // SAFETY: `ptr_mut` checked the 40-byte header lies inside the packet.
        let hdr = unsafe {
            &mut *cursor
                .ptr_mut::<[u8; 40]>(ip.l3_off)
                .ok_or(DropReason::TruncatedIpv6)?
        };
        // Word by word, writing as it goes: few values live at once (stack budget).
        let mut acc = 0u64;
        acc = swap_word(hdr, 8, &to.src, 0, acc);
        acc = swap_word(hdr, 12, &to.src, 4, acc);
        acc = swap_word(hdr, 16, &to.src, 8, acc);
        acc = swap_word(hdr, 20, &to.src, 12, acc);
        acc = swap_word(hdr, 24, &to.dst, 0, acc);
        acc = swap_word(hdr, 28, &to.dst, 4, acc);
        acc = swap_word(hdr, 32, &to.dst, 8, acc);
        acc = swap_word(hdr, 36, &to.dst, 12, acc);
        csum::fold64(acc)
    };
    Ok(delta)
}

/// Replaces the 32-bit word at `at` of the IPv6 header with `new[from..from + 4]` and adds the
/// change to `acc`. Constant offsets only (inlined): no bounds-check panics.
#[inline(always)]
pub fn swap_word(hdr: &mut [u8; 40], at: usize, new: &[u8; 16], from: usize, acc: u64) -> u64 {
    let old = u32::from_be_bytes([hdr[at], hdr[at + 1], hdr[at + 2], hdr[at + 3]]);
    let word = [new[from], new[from + 1], new[from + 2], new[from + 3]];
    hdr[at..at + 4].copy_from_slice(&word);
    csum::replace32(acc, old, u32::from_be_bytes(word))
}

/// Writes the new ports into a transport header of `N` bytes whose checksum is at `C`.
/// `zero_means_none`: a zero checksum is left alone (UDP over IPv4), and a computed zero is
/// sent as 0xffff (UDP).
#[inline(never)]
fn ports_and_checksum<const N: usize, const C: usize>(
    l4: &mut [u8; N],
    to: &Rewrite,
    delta: u32,
    zero_means_none: bool,
) {
    let sport = to.sport.to_ne_bytes();
    let dport = to.dport.to_ne_bytes();
    let old = u16::from_be_bytes([l4[C], l4[C + 1]]);
    if !(zero_means_none && old == 0) {
        let mut acc = csum::sub_words(csum::start(old) + delta, &l4[..4]);
        acc = csum::add_words(csum::add_words(acc, &sport), &dport);
        let mut check = csum::finish(acc);
        if N == 8 && check == 0 {
            check = 0xffff;
        }
        let check = check.to_be_bytes();
        l4[C] = check[0];
        l4[C + 1] = check[1];
    }
    l4[0] = sport[0];
    l4[1] = sport[1];
    l4[2] = dport[0];
    l4[3] = dport[1];
}
