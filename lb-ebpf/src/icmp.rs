//! ICMP and ICMPv6 errors about balanced flows (destination unreachable, including
//! fragmentation needed; packet too big; time exceeded; parameter problem), so that path-MTU
//! discovery keeps working through full NAT.
//!
//! An error quotes the packet that caused it. The quoted packet's 5-tuple, reversed, is the
//! key of the flow entry of the direction the error travels in (a member-side error quotes a
//! translated client packet, whose reply entry leads back to the client; a client-side error
//! quotes a translated reply, whose client entry leads to the member). The entry's rewrite
//! gives the outer addresses; the quoted packet is translated back to what its sender sent.
//! Checksums: the quoted IPv4 header checksum and the quoted TCP/UDP checksum (when the quote
//! holds it) are updated incrementally; the ICMP checksum follows every 16-bit word changed in
//! the message, plus the pseudo-header for ICMPv6 (RFC 4443 §2.3). Errors that match no flow
//! are passed to the stack untouched.

use aya_ebpf::{bindings::xdp_action, programs::XdpContext};
use lb_common::{
    addr::{FAMILY_V4, FAMILY_V6, IPPROTO_TCP, IPPROTO_UDP},
    csum,
    drop::DropReason,
    flow::{FLOW_F_VLAN, FlowKey},
    stats::PacketClass,
};

use crate::{
    flow, fwd, mem, nat,
    parse::{Cursor, ETH_HLEN, Ip},
    scratch::{Rewrite, Scratch},
    vlan,
};

const ICMP_HLEN: usize = 8;
const IPV4_MIN_HLEN: usize = 20;
const TCP_CHECK: usize = 16;
const UDP_CHECK: usize = 6;

/// Whether an ICMP (IPv4) or ICMPv6 type is an error that quotes a packet.
#[inline(always)]
fn is_error(family: u8, kind: u8) -> bool {
    if family == FAMILY_V4 {
        matches!(kind, 3 | 11 | 12)
    } else {
        matches!(kind, 1..=4)
    }
}

#[inline(always)]
fn be16(p: &[u8; 2]) -> u16 {
    u16::from_be_bytes(*p)
}

/// Translates an ICMP error about a balanced flow and sends it on. `Ok(None)`: not about a
/// balanced flow, pass it.
#[inline(never)]
pub fn handle(
    ctx: &XdpContext,
    ip: &Ip,
    s: &mut Scratch,
    tx_after_nat: bool,
) -> Result<Option<(u32, PacketClass)>, DropReason> {
    let cursor = Cursor::new(ctx.data(), ctx.data_end());
    let hdr = cursor
        .ptr_at::<[u8; ICMP_HLEN]>(ip.l4_off)
        .ok_or(DropReason::TruncatedIcmp)?;
    // SAFETY: bounds checked by `ptr_at`.
    if !is_error(ip.family, unsafe { (*hdr)[0] }) {
        return Ok(None);
    }
    let inner_off = ip.l4_off + ICMP_HLEN;
    let inner_l4 = if ip.family == FAMILY_V4 {
        quoted_v4(&cursor, inner_off, &mut s.key)?
    } else {
        quoted_v6(&cursor, inner_off, &mut s.key)?
    };
    if inner_l4 == 0 {
        return Ok(None);
    }
    let Some(v) = flow::find(&s.key) else {
        return Ok(None);
    };
    // SAFETY: pointer from a successful lookup; read only.
    let v = unsafe { &*v };
    // Outer header: the direction's rewrite. Quoted packet: back to what its sender sent.
    mem::rewrite_from(&mut s.rewrite, v);
    mem::reversed_key(&mut s.other, &s.rewrite, s.key.proto, s.key.family);
    s.rewrite.sport = 0;
    s.rewrite.dport = 0;
    let via_stack = v.flags & FLOW_F_VLAN != 0;
    if ip.family == FAMILY_V4 {
        rewrite_v4(&cursor, ip, inner_l4, &s.rewrite, &s.other)?;
    } else {
        rewrite_v6(&cursor, ip, inner_l4, &s.rewrite, &s.other)?;
    }
    if ip.l3_off != ETH_HLEN {
        vlan::pop(ctx, ip.l3_off)?;
    }
    if tx_after_nat {
        return Ok(Some((xdp_action::XDP_TX, PacketClass::Forwarded)));
    }
    let sent = fwd::forward(ctx, ip, &s.rewrite, &mut s.fib, via_stack)?;
    Ok(Some((sent.action, sent.class)))
}

/// Reads the quoted IPv4 packet at `off` into `key`, reversed (the flow entry to look up).
/// Returns the quoted transport header's offset, 0 when the quote is not a TCP/UDP packet
/// with ports.
#[inline(always)]
fn quoted_v4(cursor: &Cursor, off: usize, key: &mut FlowKey) -> Result<usize, DropReason> {
    let h = cursor
        .ptr_at::<[u8; IPV4_MIN_HLEN]>(off)
        .ok_or(DropReason::TruncatedIcmp)?;
    // SAFETY: bounds checked by `ptr_at`.
    let h = unsafe { &*h };
    let ihl = usize::from(h[0] & 0x0f) * 4;
    let proto = h[9];
    if h[0] >> 4 != 4
        || ihl < IPV4_MIN_HLEN
        || (proto != IPPROTO_TCP && proto != IPPROTO_UDP)
        // A later fragment carries no ports.
        || u16::from_be_bytes([h[6], h[7]]) & 0x1fff != 0
    {
        return Ok(0);
    }
    let l4 = off + ihl;
    let ports = cursor
        .ptr_at::<[u8; 4]>(l4)
        .ok_or(DropReason::TruncatedIcmp)?;
    // SAFETY: bounds checked by `ptr_at`.
    let ports = unsafe { &*ports };
    // SAFETY: fields of a `FlowKey` (4-byte aligned, addresses at word offsets, `proto`
    // starting the last word: asserted in lb-common and `mem`).
    unsafe {
        mem::set_v4_addr(
            &raw mut key.src,
            u32::from_ne_bytes([h[16], h[17], h[18], h[19]]),
        );
        mem::set_v4_addr(
            &raw mut key.dst,
            u32::from_ne_bytes([h[12], h[13], h[14], h[15]]),
        );
        mem::set_word(&raw mut key.proto, [proto, FAMILY_V4, 0, 0]);
    }
    key.sport = u16::from_ne_bytes([ports[2], ports[3]]);
    key.dport = u16::from_ne_bytes([ports[0], ports[1]]);
    Ok(l4)
}

/// IPv6 counterpart of [`quoted_v4`] (the quote's transport header must follow its fixed
/// header directly).
#[inline(always)]
fn quoted_v6(cursor: &Cursor, off: usize, key: &mut FlowKey) -> Result<usize, DropReason> {
    let h = cursor
        .ptr_at::<[u8; 40]>(off)
        .ok_or(DropReason::TruncatedIcmp)?;
    // SAFETY: bounds checked by `ptr_at`.
    let h = unsafe { &*h };
    let proto = h[6];
    if h[0] >> 4 != 6 || (proto != IPPROTO_TCP && proto != IPPROTO_UDP) {
        return Ok(0);
    }
    let l4 = off + 40;
    let ports = cursor
        .ptr_at::<[u8; 4]>(l4)
        .ok_or(DropReason::TruncatedIcmp)?;
    // SAFETY: bounds checked by `ptr_at`.
    let ports = unsafe { &*ports };
    key.src.copy_from_slice(&h[24..40]);
    key.dst.copy_from_slice(&h[8..24]);
    key.sport = u16::from_ne_bytes([ports[2], ports[3]]);
    key.dport = u16::from_ne_bytes([ports[0], ports[1]]);
    // SAFETY: `proto` starts the last word of the 4-byte aligned `FlowKey` (asserted in `mem`).
    unsafe { mem::set_word(&raw mut key.proto, [proto, FAMILY_V6, 0, 0]) };
    Ok(l4)
}

/// IPv4: outer addresses (header checksum), quoted header and transport, ICMP checksum.
#[inline(never)]
fn rewrite_v4(
    cursor: &Cursor,
    ip: &Ip,
    inner_l4: usize,
    outer: &Rewrite,
    inner: &FlowKey,
) -> Result<(), DropReason> {
    // The ICMP checksum has no pseudo-header: the outer change does not enter it.
    nat::addresses_v4(cursor, ip, outer)?;
    let inner_off = ip.l4_off + ICMP_HLEN;
    // SAFETY: `ptr_mut` checked the quoted header lies inside the packet.
    let h = unsafe {
        &mut *cursor
            .ptr_mut::<[u8; IPV4_MIN_HLEN]>(inner_off)
            .ok_or(DropReason::TruncatedIcmp)?
    };
    let mut addr_delta = csum::sub_words(0, &h[12..20]);
    addr_delta = csum::add_words(
        csum::add_words(addr_delta, &inner.src[..4]),
        &inner.dst[..4],
    );
    let old_check = u16::from_be_bytes([h[10], h[11]]);
    let new_check = csum::finish(csum::start(old_check) + addr_delta);
    h[10..12].copy_from_slice(&new_check.to_be_bytes());
    h[12..16].copy_from_slice(&inner.src[..4]);
    h[16..20].copy_from_slice(&inner.dst[..4]);
    let mut icmp_delta = addr_delta + u32::from(!old_check) + u32::from(new_check);
    icmp_delta += quoted_ports(cursor, inner_l4, inner, csum::fold(addr_delta), true);
    update_icmp_check(cursor, ip.l4_off, icmp_delta)
}

/// IPv6: outer addresses, quoted header and transport, ICMPv6 checksum (pseudo-header too).
#[inline(never)]
fn rewrite_v6(
    cursor: &Cursor,
    ip: &Ip,
    inner_l4: usize,
    outer: &Rewrite,
    inner: &FlowKey,
) -> Result<(), DropReason> {
    let outer_delta = nat::addresses_v6(cursor, ip, outer)?;
    let inner_off = ip.l4_off + ICMP_HLEN;
    // SAFETY: `ptr_mut` checked the quoted header lies inside the packet.
    let h = unsafe {
        &mut *cursor
            .ptr_mut::<[u8; 40]>(inner_off)
            .ok_or(DropReason::TruncatedIcmp)?
    };
    let mut acc = 0u64;
    acc = nat::swap_word(h, 8, &inner.src, 0, acc);
    acc = nat::swap_word(h, 12, &inner.src, 4, acc);
    acc = nat::swap_word(h, 16, &inner.src, 8, acc);
    acc = nat::swap_word(h, 20, &inner.src, 12, acc);
    acc = nat::swap_word(h, 24, &inner.dst, 0, acc);
    acc = nat::swap_word(h, 28, &inner.dst, 4, acc);
    acc = nat::swap_word(h, 32, &inner.dst, 8, acc);
    acc = nat::swap_word(h, 36, &inner.dst, 12, acc);
    let addr_delta = csum::fold64(acc);
    let mut icmp_delta = outer_delta + addr_delta;
    icmp_delta += quoted_ports(cursor, inner_l4, inner, csum::fold(addr_delta), false);
    update_icmp_check(cursor, ip.l4_off, icmp_delta)
}

/// Rewrites the quoted ports and, when the quote holds it, the quoted TCP/UDP checksum
/// (`pseudo_delta`: the change of the quoted addresses). Returns the change of the ICMP
/// message's sum these writes cause.
#[inline(never)]
fn quoted_ports(cursor: &Cursor, l4: usize, to: &FlowKey, pseudo_delta: u16, v4: bool) -> u32 {
    let Some(p) = cursor.ptr_mut::<[u8; 4]>(l4) else {
        return 0;
    };
    // SAFETY: bounds checked by `ptr_mut`.
    let p = unsafe { &mut *p };
    let sport = to.sport.to_ne_bytes();
    let dport = to.dport.to_ne_bytes();
    let mut port_delta = csum::sub_words(0, &p[..]);
    port_delta = csum::add_words(csum::add_words(port_delta, &sport), &dport);
    p[0] = sport[0];
    p[1] = sport[1];
    p[2] = dport[0];
    p[3] = dport[1];
    let mut delta = port_delta;
    let udp = to.proto == IPPROTO_UDP;
    let at = l4 + if udp { UDP_CHECK } else { TCP_CHECK };
    if let Some(c) = cursor.ptr_mut::<[u8; 2]>(at) {
        // SAFETY: bounds checked by `ptr_mut`.
        let c = unsafe { &mut *c };
        let old = be16(c);
        if !(udp && v4 && old == 0) {
            let mut new = csum::finish(csum::start(old) + u32::from(pseudo_delta) + port_delta);
            if udp && new == 0 {
                new = 0xffff;
            }
            *c = new.to_be_bytes();
            delta += u32::from(!old) + u32::from(new);
        }
    }
    delta
}

/// Applies `delta` (one's-complement change of the message's sum) to the ICMP checksum.
#[inline(always)]
fn update_icmp_check(cursor: &Cursor, off: usize, delta: u32) -> Result<(), DropReason> {
    // SAFETY: `ptr_mut` checked the ICMP header lies inside the packet.
    let c = unsafe {
        &mut *cursor
            .ptr_mut::<[u8; 4]>(off)
            .ok_or(DropReason::TruncatedIcmp)?
    };
    let old = u16::from_be_bytes([c[2], c[3]]);
    let new = csum::finish(csum::start(old) + u32::from(csum::fold(delta)));
    c[2..4].copy_from_slice(&new.to_be_bytes());
    Ok(())
}
