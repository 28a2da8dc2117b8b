//! Connection tracking and full NAT for balanced flows: finds the flow of a packet (either
//! direction), or creates one for a new connection to a VIP (member choice, SNAT port), and
//! leaves the rewrite to apply in the scratch space.

use aya_ebpf::{bindings::BPF_NOEXIST, helpers::bpf_ktime_get_coarse_ns};
use lb_common::{
    addr::{FAMILY_V4, IPPROTO_TCP},
    config::{LbConfig, SNAT_PORT_TRIES},
    drop::DropReason,
    flow::{FLOW_F_CLOSED, FLOW_F_REPLY, FLOW_F_VLAN, FlowValue, NH_CACHE_NS},
    flow_cache::FLOW_CACHE_MIN_IDLE_MS,
    hash::{snat_port_offset, tuple_hash},
    vip::{ACL_LISTENER_BITS, AclKey, VIP_F_ACL, VIP_F_DOWN, VipKey},
};

use crate::{
    cache, handshake,
    maps::{LB_ACL, LB_BACKENDS, LB_FLOWS, LB_SYN_FLOWS, LB_VIPS},
    mem,
    parse::{TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN},
    scratch::Scratch,
    select::backend_for,
    stats,
};

/// Which counters a translated packet feeds.
pub struct Verdict {
    pub listener: u32,
    pub backend: u32,
    pub reply: bool,
    /// Send through `lb_tc_in` rather than an XDP redirect (replies of VLAN-tagged flows).
    pub via_stack: bool,
    /// An established flow whose translation may go into the flow cache (`cache.rs`) when it
    /// is sent like the fast path sends (not `via_stack`, unless in the fixture mode).
    pub cacheable: bool,
}

/// The entry of `key`, established or in its handshake (read by ICMP error translation).
#[inline(always)]
pub fn find(key: &lb_common::flow::FlowKey) -> Option<*const FlowValue> {
    LB_FLOWS.get_ptr(key).or_else(|| LB_SYN_FLOWS.get_ptr(key))
}

#[inline(always)]
fn is_syn(proto: u8, flags: u8) -> bool {
    proto == IPPROTO_TCP && flags & (TCP_SYN | TCP_ACK) == TCP_SYN
}

/// Sets the rewrite part of a flow value in place (no temporary on the stack).
#[inline(always)]
fn fill(v: &mut FlowValue, src: &[u8; 16], dst: &[u8; 16], sport: u16, dport: u16) {
    // SAFETY: every caller passes address fields of `FlowKey`, `Backend` or `LbConfig` (4-byte
    // aligned types, addresses at word offsets: asserted in lb-common); `flags` starts the
    // word it shares with the padding.
    unsafe {
        mem::copy_addr(&raw mut v.new_src, src);
        mem::copy_addr(&raw mut v.new_dst, dst);
        mem::set_word(&raw mut v.flags, [v.flags, 0, 0, 0]);
    }
    v.new_sport = sport;
    v.new_dport = dport;
    v.nh_ifindex = 0;
}

#[inline(always)]
fn set_rewrite(s: &mut Scratch, from_other: bool) {
    let v = if from_other { &s.other_value } else { &s.value };
    mem::rewrite_from(&mut s.rewrite, v);
}

/// `Ok(None)`: not ours, pass it to the stack. `Ok(Some(_))`: rewrite per `s.rewrite`.
/// `s.key` holds the packet's 5-tuple on entry; `tagged`: it arrived with a VLAN tag.
#[inline(always)]
pub fn lookup_or_create(
    s: &mut Scratch,
    tcp_flags: u8,
    cfg: &LbConfig,
    tagged: bool,
) -> Result<Option<Verdict>, DropReason> {
    // CLOCK_MONOTONIC at tick resolution (a few ms behind at most, nothing next to idle
    // timeouts): the fine clock reads the TSC on every packet, the coarse one a cached value.
    // SAFETY: plain helper call.
    let now = unsafe { bpf_ktime_get_coarse_ns() };
    s.now = now;
    s.nh.ifindex = 0;
    let proto = s.key.proto;
    if let Some(entry) = LB_FLOWS.get_ptr_mut(&s.key) {
        // SAFETY: pointer from a successful lookup; the value is plain data.
        let v = unsafe { &mut *entry };
        let idle_ns = u64::from(v.idle_timeout_ms) * 1_000_000;
        let reply = v.flags & FLOW_F_REPLY != 0;
        let closed = v.flags & FLOW_F_CLOSED != 0;
        let expired = now.saturating_sub(v.last_seen_ns) > idle_ns;
        if reply || !(expired || (closed && is_syn(proto, tcp_flags))) {
            // The coarse clock moves once a tick: most packets leave the entry's cache line
            // clean.
            if v.last_seen_ns != now {
                v.last_seen_ns = now;
            }
            mem::rewrite_from(&mut s.rewrite, v);
            if v.nh_ifindex != 0 && now.wrapping_sub(v.nh_checked_ns) < NH_CACHE_NS {
                s.nh.ifindex = v.nh_ifindex;
                // SAFETY: `nh_mac` fields of `FlowValue` and `NextHop` (4-byte aligned).
                unsafe { mem::copy_mac_pair(&raw mut s.nh.mac, &raw const v.nh_mac) };
            }
            let verdict = Verdict {
                listener: v.listener,
                backend: v.backend,
                reply,
                via_stack: v.flags & FLOW_F_VLAN != 0,
                cacheable: v.idle_timeout_ms >= FLOW_CACHE_MIN_IDLE_MS,
            };
            if proto == IPPROTO_TCP && tcp_flags & (TCP_FIN | TCP_RST) != 0 {
                close(s, v, reply);
            }
            return Ok(Some(verdict));
        }
        // An idle or finished flow from the client: account for it, then start a new one.
        if !closed {
            stats::flow_closed(v.listener, v.backend);
        }
        // Both of its entries go: the new flow starts in the handshake table (the old client
        // entry must not shadow it), and the old reply entry would hold the SNAT port the new
        // flow's search starts at (same 5-tuple, same hash) — a client reusing its port right
        // after a close (TIME_WAIT reuse) would otherwise find it taken again and again.
        mem::rewrite_from(&mut s.rewrite, v);
        mem::reversed_key(&mut s.other, &s.rewrite, proto, s.key.family);
        cache::invalidate(&s.other);
        cache::invalidate(&s.key);
        let _removed = LB_FLOWS.remove(&s.other);
        let _removed = LB_FLOWS.remove(&s.key);
    } else if let Some(verdict) = handshake::lookup(s, tcp_flags, now) {
        return Ok(Some(verdict));
    }
    // Flags of the reply entry `create` writes (an argument more would not fit in registers).
    s.other_value.flags = if tagged {
        FLOW_F_REPLY | FLOW_F_VLAN
    } else {
        FLOW_F_REPLY
    };
    create(s, tcp_flags, cfg, now)
}

/// FIN/RST seen: the flow stops counting as active (once, marked on the client-side entry).
#[inline(never)]
fn close(s: &mut Scratch, v: &mut FlowValue, reply: bool) {
    if !reply {
        if v.flags & FLOW_F_CLOSED == 0 {
            v.flags |= FLOW_F_CLOSED;
            stats::flow_closed(v.listener, v.backend);
        }
        return;
    }
    // Reply direction: the client-side entry is keyed by what this entry rewrites to (the
    // caller left that in `s.rewrite`).
    mem::reversed_key(&mut s.other, &s.rewrite, s.key.proto, s.key.family);
    if let Some(fwd) = LB_FLOWS.get_ptr_mut(&s.other) {
        // SAFETY: pointer from a successful lookup.
        let fwd = unsafe { &mut *fwd };
        if fwd.flags & FLOW_F_CLOSED == 0 {
            fwd.flags |= FLOW_F_CLOSED;
            stats::flow_closed(fwd.listener, fwd.backend);
        }
    }
}

#[inline(never)]
fn create(
    s: &mut Scratch,
    tcp_flags: u8,
    cfg: &LbConfig,
    now: u64,
) -> Result<Option<Verdict>, DropReason> {
    let vip_key = VipKey {
        addr: s.key.dst,
        port: s.key.dport,
        proto: s.key.proto,
        family: s.key.family,
    };
    let Some(vip) = LB_VIPS.get_ptr(&vip_key) else {
        return Ok(None);
    };
    // SAFETY: pointer from a successful lookup; the value is plain data.
    let vip = unsafe { &*vip };
    if s.key.proto == IPPROTO_TCP && !is_syn(s.key.proto, tcp_flags) {
        return Err(DropReason::UnknownFlow);
    }
    if vip.flags & VIP_F_DOWN != 0 {
        return Err(DropReason::AdminDown);
    }
    if vip.flags & VIP_F_ACL != 0 {
        let key = aya_ebpf::maps::lpm_trie::Key::new(
            ACL_LISTENER_BITS + 128,
            AclKey {
                listener_be: vip.listener.to_be(),
                addr: s.key.src,
            },
        );
        if LB_ACL.get(&key).is_none() {
            return Err(DropReason::AclDenied);
        }
    }
    if vip.conn_limit != 0 && stats::listener_active(vip.listener) >= u64::from(vip.conn_limit) {
        return Err(DropReason::ConnLimit);
    }
    let backend = backend_for(vip, &s.key.src, s.key.sport);
    if backend == 0 {
        return Err(DropReason::NoBackend);
    }
    let Some(member) = LB_BACKENDS.get(backend) else {
        return Err(DropReason::NoBackend);
    };
    if member.family != s.key.family {
        return Err(DropReason::NoBackend);
    }
    let snat = if s.key.family == FAMILY_V4 {
        &cfg.snat_v4
    } else {
        &cfg.snat_v6
    };
    if *snat == [0u8; 16] || cfg.snat_port_count == 0 {
        return Err(DropReason::SnatExhausted);
    }

    // Reply-direction entry: member → SNAT address, translated back to VIP → client.
    // SAFETY: address fields of `FlowKey`, `Backend` and `LbConfig` (4-byte aligned, addresses
    // at word offsets: asserted in lb-common); `proto` starts `FlowKey`'s last word.
    unsafe {
        mem::copy_addr(&raw mut s.other.src, &raw const member.addr);
        mem::copy_addr(&raw mut s.other.dst, snat);
        mem::set_word(&raw mut s.other.proto, [s.key.proto, s.key.family, 0, 0]);
    }
    s.other.sport = member.port;
    fill(
        &mut s.other_value,
        &s.key.dst,
        &s.key.src,
        s.key.dport,
        s.key.sport,
    );
    s.other_value.backend = backend;
    s.other_value.listener = vip.listener;
    s.other_value.idle_timeout_ms = vip.idle_timeout_ms;
    s.other_value.last_seen_ns = now;
    let base = tuple_hash(&s.key.src, &s.key.dst, s.key.sport, s.key.dport);
    let count = u32::from(cfg.snat_port_count);
    // Every flow starts in the handshake table (see `handshake.rs`): TCP until the client's
    // first ACK, UDP until the member's first answer.
    let mut snat_port = 0u16;
    for i in 0..SNAT_PORT_TRIES {
        let port =
            ((u32::from(cfg.snat_port_min) + snat_port_offset(base, i, count)) as u16).to_be();
        s.other.dport = port;
        let claimed = LB_FLOWS.get_ptr(&s.other).is_none()
            && LB_SYN_FLOWS
                .insert(&s.other, &s.other_value, u64::from(BPF_NOEXIST))
                .is_ok();
        if claimed {
            snat_port = port;
            break;
        }
    }
    if snat_port == 0 {
        return Err(DropReason::SnatExhausted);
    }
    fill(&mut s.value, snat, &member.addr, snat_port, member.port);
    s.value.backend = backend;
    s.value.listener = vip.listener;
    s.value.flags = 0;
    s.value.idle_timeout_ms = vip.idle_timeout_ms;
    s.value.last_seen_ns = now;
    if LB_SYN_FLOWS.insert(&s.key, &s.value, 0).is_err() {
        // Best effort: the reply entry would only age out.
        let _removed = LB_SYN_FLOWS.remove(&s.other);
        return Err(DropReason::SnatExhausted);
    }
    // A flow the LRU evicted from `LB_FLOWS` may still sit in some CPU's cache under either
    // of the new flow's keys.
    cache::invalidate(&s.key);
    cache::invalidate(&s.other);
    // The flow counts (active, opened) once promoted (`handshake::promote`).
    set_rewrite(s, false);
    Ok(Some(Verdict {
        listener: vip.listener,
        backend,
        reply: false,
        via_stack: false,
        cacheable: false,
    }))
}

/// Stores the next hop the FIB lookup just gave (in `s.fib`) in the flow's `LB_FLOWS` entry,
/// for its packets of the next `NH_CACHE_NS`. Flows still in their handshake are skipped.
#[inline(never)]
pub fn remember_next_hop(s: &mut Scratch) {
    let Some(v) = LB_FLOWS.get_ptr_mut(&s.key) else {
        return;
    };
    // SAFETY: pointer from a successful lookup; the value is plain data.
    let v = unsafe { &mut *v };
    v.nh_mac[..6].copy_from_slice(&s.fib.dmac);
    v.nh_mac[6..].copy_from_slice(&s.fib.smac);
    v.nh_checked_ns = s.now;
    v.nh_ifindex = s.fib.ifindex;
}
