//! Entry points of the data plane. Each entry is thin: it calls a `try_*` function and counts
//! the outcome, a packet class on success or a [`DropReason`] on failure.
#![no_std]
#![no_main]
// Atomic read-modify-write for the shared gauges (see `stats.rs`); the nested eBPF build runs
// with RUSTC_BOOTSTRAP=1, the rest of the workspace stays on stable.
#![feature(core_intrinsics, asm_experimental_arch)]
#![allow(
    internal_features,
    reason = "core_intrinsics is the only atomic add on BPF"
)]

mod cache;
mod fast;
mod flow;
mod fwd;
mod handshake;
mod icmp;
mod maps;
mod mem;
mod nat;
mod parse;
mod scratch;
mod select;
mod stats;
mod vlan;
mod wire;

use aya_ebpf::{
    bindings::{TC_ACT_OK, sk_action::SK_PASS, xdp_action},
    helpers::{bpf_redirect, bpf_redirect_neigh},
    macros::{classifier, sk_lookup, xdp},
    programs::{SkLookupContext, TcContext, XdpContext},
};
use lb_common::{
    addr::{FAMILY_V4, IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_TCP, IPPROTO_UDP},
    config::CFG_F_TX_AFTER_NAT,
    drop::DropReason,
    nh_mark,
    stats::PacketClass,
    vip::addr_filter_slot,
};

use crate::{
    maps::{
        LB_ADDR_FILTER, LB_ADDRS, LB_CONFIG, LB_FLOOR_REDIR, LB_NH_MARK, LB_STEER, LB_STEER_SOCKS,
    },
    parse::{Cursor, ETH_HLEN},
    scratch::LB_SCRATCH,
};

/// XDP entry on the VIP-side and member-side interfaces.
///
/// Packets of established IPv4 and IPv6 flows in this CPU's flow cache take the fast path
/// (`fast.rs`).
/// The full path parses L2/L3/L4, translates packets of balanced flows (new connections to a VIP, and every
/// later packet of either direction) and forwards them; drops malformed IP packets (counted by
/// reason); passes everything else to the stack, counted by class.
#[xdp]
pub fn lb_xdp(ctx: XdpContext) -> u32 {
    if let Some(action) = fast::established(&ctx) {
        return action;
    }
    let cursor = Cursor::new(ctx.data(), ctx.data_end());
    let len = cursor.len() as u64;
    match try_lb_xdp(&ctx, &cursor) {
        Ok((action, class)) => {
            stats::count_packet(class, len);
            action
        }
        Err(reason) => {
            stats::count_drop(reason, len);
            xdp_action::XDP_DROP
        }
    }
}

#[inline(always)]
fn try_lb_xdp(ctx: &XdpContext, cursor: &Cursor) -> Result<(u32, PacketClass), DropReason> {
    let l3 = parse::ethernet(cursor)?;
    let ip = parse::l3(cursor, l3)?;
    let pass = Ok((xdp_action::XDP_PASS, ip.class));
    let icmp = if ip.family == FAMILY_V4 {
        IPPROTO_ICMP
    } else {
        IPPROTO_ICMPV6
    };
    // Only TCP/UDP, ICMP (errors about flows), fragments and unparsable extension-header
    // chains (to count them when they are addressed to us) go further; the rest goes to the
    // stack.
    if ip.class == PacketClass::NonIp
        || !(ip.fragment
            || ip.ext_overflow
            || ip.proto == IPPROTO_TCP
            || ip.proto == IPPROTO_UDP
            || ip.proto == icmp)
    {
        return pass;
    }
    let (Some(cfg), Some(s)) = (LB_CONFIG.get(0), LB_SCRATCH.get_ptr_mut(0)) else {
        return pass;
    };
    // SAFETY: this CPU's scratch entry, used by this run only.
    let s = unsafe { &mut *s };
    if parse::addresses(cursor, &ip, &mut s.key).is_none() {
        return pass;
    }
    // Only packets to a VIP or a SNAT address can belong to a balanced flow: an array read
    // rules out (nearly) all others before any hash lookup.
    // SAFETY: the key's destination field (4-byte aligned, asserted in lb-common).
    let slot = addr_filter_slot(unsafe { mem::words(&raw const s.key.dst) });
    if LB_ADDR_FILTER.get(slot).is_none_or(|&hit| hit == 0) {
        return pass;
    }
    // Verifier complexity: each way through the parsers (0-2 VLAN tags, IPv4 or IPv6, 0-4
    // extension headers) leaves different exact offsets, and the verifier would walk the rest
    // of the program once for each. Read back from map memory, the parse result is just
    // "some value" to it, so the rest is verified once (offsets are masked where used).
    s.ip = ip;
    // SAFETY: reads back the value just written to this CPU's scratch entry.
    let ip = unsafe { core::ptr::read_volatile(&raw const s.ip) };
    if ip.ext_overflow || ip.fragment {
        // Dropped only when addressed to us: the filter said "maybe", the exact set decides.
        // SAFETY: fields of the scratch entry; `AddrKey` and `FlowKey` are 4-byte aligned and
        // `family` starts the last word of `AddrKey` (lb-common asserts both).
        unsafe {
            mem::copy_addr(&raw mut s.dst.addr, &raw const s.key.dst);
            mem::set_word(&raw mut s.dst.family, [ip.family, 0, 0, 0]);
        }
        if LB_ADDRS.get_ptr(&s.dst).is_none() {
            return pass;
        }
        if ip.ext_overflow {
            return Err(DropReason::Ipv6ExtHeaders);
        }
        // Fragments are never balanced: a non-first one has no ports to find its flow by.
        if ip.proto == IPPROTO_TCP || ip.proto == IPPROTO_UDP {
            return Err(DropReason::Fragment);
        }
        return pass;
    }
    if ip.proto == icmp {
        let tx = cfg.flags & CFG_F_TX_AFTER_NAT != 0;
        return match icmp::handle(ctx, &ip, s, tx)? {
            Some(sent) => Ok(sent),
            None => pass,
        };
    }
    let l4 = parse::l4(cursor, &ip)?;
    s.key.sport = l4.sport;
    s.key.dport = l4.dport;
    // SAFETY: `proto` starts the last word of the 4-byte aligned `FlowKey` (lb-common asserts it).
    unsafe { mem::set_word(&raw mut s.key.proto, [ip.proto, ip.family, 0, 0]) };
    let tagged = ip.l3_off != ETH_HLEN;
    let v4 = ip.family == FAMILY_V4;
    cache::note_generation(s);
    let Some(v) = flow::lookup_or_create(s, l4.tcp_flags, cfg, tagged)? else {
        return pass;
    };
    nat::rewrite(cursor, &ip, &s.rewrite)?;
    stats::count_flow_packet(v.listener, v.backend, v.reply, cursor.len() as u64);
    if tagged {
        vlan::pop(ctx, ip.l3_off)?;
    }
    let tx = cfg.flags & CFG_F_TX_AFTER_NAT != 0;
    if tx || (s.nh.ifindex != 0 && !v.via_stack) {
        if v.cacheable && !tagged {
            if v4 {
                cache::fill(s, &v, tx);
            } else {
                cache::fill6(s, &v, tx);
            }
        }
        if tx {
            return Ok((xdp_action::XDP_TX, PacketClass::Forwarded));
        }
        let sent = fwd::to_next_hop(ctx, &s.nh)?;
        return Ok((sent.action, sent.class));
    }
    let sent = fwd::forward(ctx, &ip, &s.rewrite, &mut s.fib, v.via_stack)?;
    if sent.class == PacketClass::Forwarded {
        flow::remember_next_hop(s);
    }
    Ok((sent.action, sent.class))
}

/// TC ingress companion of `lb_xdp`: forwards packets XDP translated but could not send because
/// the next hop's MAC was unknown; `bpf_redirect_neigh` resolves it. Everything else continues.
#[classifier]
pub fn lb_tc_in(ctx: TcContext) -> i32 {
    let (data, end) = (ctx.data(), ctx.data_end());
    if data + 12 > end {
        return TC_ACT_OK;
    }
    // SAFETY: [data, data + 12) was checked to lie inside the packet.
    let eth = unsafe { &*(data as *const [u8; 12]) };
    // One compare for every packet that is not marked.
    if eth[0] != nh_mark::FIRST {
        return TC_ACT_OK;
    }
    let secret = LB_NH_MARK.get(0).copied().unwrap_or(0);
    let Some(ifindex) = nh_mark::decode(eth, secret) else {
        return TC_ACT_OK;
    };
    // SAFETY: plain helper call; no neighbour parameters (the kernel looks the next hop up).
    unsafe { bpf_redirect_neigh(ifindex, core::ptr::null_mut(), 0, 0) as i32 }
}

/// `sk_lookup`: a connection (or datagram) to a VIP:port listed in `LB_STEER` goes to the
/// socket of `LB_STEER_SOCKS` the entry names, whatever address that socket is bound to; any
/// other goes on to the kernel's own lookup. One socket serving every VIP, the steering the
/// benchmark compares with a socket bound to each VIP (`docs/proxy.md`); the agent does not
/// attach it.
#[sk_lookup]
pub fn lb_steer(ctx: SkLookupContext) -> u32 {
    // SAFETY: the lookup context is valid for the program's run; each field is read with
    // its own load at a constant offset, as the verifier requires of context accesses.
    let (family, protocol, ip4, port) = unsafe {
        let l = ctx.lookup;
        ((*l).family, (*l).protocol, (*l).local_ip4, (*l).local_port)
    };
    // IPv4 only: what the measurement needs.
    if family != 2 {
        return SK_PASS;
    }
    let a = ip4.to_ne_bytes();
    let key = lb_common::vip::VipKey {
        addr: [a[0], a[1], a[2], a[3], 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        port: (port as u16).to_be(),
        proto: protocol as u8,
        family: lb_common::addr::FAMILY_V4,
    };
    // SAFETY: the key is plain data read from the map by the kernel.
    if let Some(&index) = unsafe { LB_STEER.get(&key) } {
        // A socket gone from the map: the kernel's own lookup decides.
        let _ = LB_STEER_SOCKS.redirect_sk_lookup(&ctx, index, 0);
    }
    SK_PASS
}

/// XDP_PASS and nothing else: the floor of the benchmarks, and the program a veth peer needs so
/// that frames redirected into the veth are delivered.
#[xdp]
pub fn lb_pass(_ctx: XdpContext) -> u32 {
    xdp_action::XDP_PASS
}

/// XDP_TX and nothing else: the floor of the live packet-rate benchmark.
#[xdp]
pub fn lb_tx(_ctx: XdpContext) -> u32 {
    xdp_action::XDP_TX
}

/// `bpf_redirect` to the interface in `LB_FLOOR_REDIR` and nothing else: what sending a frame
/// on through another interface costs by itself (a floor of the live benchmark).
#[xdp]
pub fn lb_redirect(_ctx: XdpContext) -> u32 {
    let ifindex = LB_FLOOR_REDIR.get(0).copied().unwrap_or(0);
    // SAFETY: plain helper call.
    unsafe { bpf_redirect(ifindex, 0) as u32 }
}

/// XDP_DROP and nothing else: the sink at the far ends of the live packet-rate benchmark.
#[xdp]
pub fn lb_drop(_ctx: XdpContext) -> u32 {
    xdp_action::XDP_DROP
}

#[cfg(not(test))]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    loop {}
}

#[unsafe(link_section = "license")]
#[unsafe(no_mangle)]
static LICENSE: [u8; 13] = *b"Dual MIT/GPL\0";
