//! New flows live in `LB_SYN_FLOWS`, apart from established flows in `LB_FLOWS`: a flood of
//! new flows (SYNs or UDP datagrams from spoofed sources that never complete a handshake or
//! get an answer) only churns the handshake table and can never evict an established flow.
//! A TCP flow is promoted (both entries moved to `LB_FLOWS`) by the client's first ACK (no
//! SYN), a UDP flow by the member's first answer; only then does the flow count as active
//! (least connections, `connection_limit`) and as opened. A UDP flow that is never answered
//! stays in the handshake table, refreshed by its packets.

use aya_ebpf::maps::LruHashMap;
use lb_common::{
    addr::IPPROTO_UDP,
    flow::{FLOW_F_CLOSED, FLOW_F_REPLY, FLOW_F_VLAN, FlowKey, FlowValue, idle_timeout_ns},
};

use crate::{
    flow::Verdict,
    maps::{LB_FLOWS, LB_SYN_FLOWS},
    mem,
    parse::{TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN},
    scratch::Scratch,
    stats,
};

/// Finds `s.key` in the handshake table and sets the rewrite. `None`: no usable entry (none,
/// or a client entry that is stale or closed and sees a new SYN): a new flow is created.
#[inline(never)]
pub fn lookup(s: &mut Scratch, tcp_flags: u8, now: u64) -> Option<Verdict> {
    let entry = LB_SYN_FLOWS.get_ptr_mut(&s.key)?;
    // SAFETY: pointer from a successful lookup; the value is plain data.
    let v = unsafe { &mut *entry };
    let reply = v.flags & FLOW_F_REPLY != 0;
    let closed = v.flags & FLOW_F_CLOSED != 0;
    let expired = now.saturating_sub(v.last_seen_ns) > idle_timeout_ns(v, true);
    let syn = tcp_flags & (TCP_SYN | TCP_ACK) == TCP_SYN;
    if !reply && (expired || (closed && syn)) {
        // Replaced by a new flow: its reply entry goes too, freeing the SNAT port the new
        // flow's search starts at (see `flow::lookup_or_create`).
        mem::rewrite_from(&mut s.rewrite, v);
        reply_key(s);
        let _removed = LB_SYN_FLOWS.remove(&s.other);
        return None;
    }
    v.last_seen_ns = now;
    mem::rewrite_from(&mut s.rewrite, v);
    let verdict = Verdict {
        listener: v.listener,
        backend: v.backend,
        reply,
        via_stack: v.flags & FLOW_F_VLAN != 0,
        // Handshakes are never cached: their packets must reach `promote`.
        cacheable: false,
    };
    if s.key.proto == IPPROTO_UDP {
        if reply {
            promote(s, v, now);
        }
    } else if tcp_flags & (TCP_FIN | TCP_RST) != 0 {
        // Never counted as active: nothing to take back.
        v.flags |= FLOW_F_CLOSED;
    } else if !reply && !closed && tcp_flags & (TCP_SYN | TCP_ACK) == TCP_ACK {
        promote(s, v, now);
    }
    Some(verdict)
}

/// Moves both entries of the flow whose entry for this packet is `this` (key `s.key`, rewrite
/// in `s.rewrite`; the client's for TCP, the member's for UDP) to `LB_FLOWS` and counts the
/// flow as opened. If the other entry is gone (evicted), the flow stays where it is.
#[inline(never)]
fn promote(s: &mut Scratch, this: &FlowValue, now: u64) {
    reply_key(s);
    let Some(r) = LB_SYN_FLOWS.get_ptr(&s.other) else {
        return;
    };
    // SAFETY: pointers from successful lookups; plain data copied into scratch.
    unsafe {
        s.other_value = *r;
        s.value = *this;
    }
    s.other_value.last_seen_ns = now;
    if LB_FLOWS.insert(&s.other, &s.other_value, 0).is_err() {
        return;
    }
    if LB_FLOWS.insert(&s.key, &s.value, 0).is_err() {
        // Best effort: an orphan reply entry would only age out.
        let _removed = LB_FLOWS.remove(&s.other);
        return;
    }
    remove_both(&LB_SYN_FLOWS, &s.key, &s.other);
    stats::flow_opened(s.value.listener, s.value.backend);
}

/// `s.other` := the other direction's key of the flow whose packet is `s.key` and whose
/// rewrite is `s.rewrite`.
#[inline(always)]
fn reply_key(s: &mut Scratch) {
    mem::reversed_key(&mut s.other, &s.rewrite, s.key.proto, s.key.family);
}

#[inline(always)]
fn remove_both(map: &LruHashMap<FlowKey, FlowValue>, a: &FlowKey, b: &FlowKey) {
    // Either may have been evicted already: nothing to do then.
    let _a = map.remove(a);
    let _b = map.remove(b);
}
