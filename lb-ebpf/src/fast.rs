//! The fast path: a packet of an established IPv4 TCP/UDP flow that this CPU's flow cache
//! holds (`cache.rs`, `lb_common::flow_cache`) is translated and sent without a single call:
//! no hash-map lookup, no helper but `bpf_jiffies64` (inlined by the verifier), no subprogram.
//! Everything else — other families, VLAN tags, IPv4 options, fragments, SYN/FIN/RST, cache
//! misses — takes the full path, which fills the cache (`cache::fill`) once it has translated a
//! packet of an `LB_FLOWS` entry with a cached next hop.

use aya_ebpf::{bindings::xdp_action, helpers::bpf_jiffies64, programs::XdpContext};
use lb_common::{
    addr::{IPPROTO_TCP, IPPROTO_UDP},
    flow_cache::{self, CACHED_F_REPLY, CACHED_F_TX, CachedFlow},
    stats::PacketClass,
    vip::addr_filter_slot,
};

use crate::{
    cache::{cache_index, current_generation, neighbour},
    fwd,
    maps::{LB_ADDR_FILTER, LB_FLOW_CACHE},
    mem,
    parse::{TCP_FIN, TCP_RST, TCP_SYN},
    stats,
    wire::{load, store},
};

/// Start of the transport header: Ethernet (14 bytes) and IPv4 without options (20).
const L4: usize = 34;
/// EtherType IPv4 as a native-endian load of its two bytes.
const ETH_P_IP_NE: u16 = u16::from_ne_bytes([0x08, 0x00]);
/// Version 4, header length 20 bytes (no options).
const IPV4_NO_OPTIONS: u8 = 0x45;
/// More-fragments flag and fragment offset, as a native-endian load of the field.
const IPV4_FRAG_NE: u16 = u16::from_ne_bytes([0x3f, 0xff]);

/// Translates and sends the packet if this CPU's cache holds its flow; `None` otherwise (the
/// packet is untouched then).
#[inline(always)]
pub fn established_v4(ctx: &XdpContext) -> Option<u32> {
    let p = ctx.data();
    let end = ctx.data_end();
    // Ethernet, a 20-byte IPv4 header (no options) and 20 bytes more: a TCP header, or a UDP
    // header and at least 12 bytes of payload (shorter datagrams take the full path). One
    // bound for both protocols: the verifier would not carry a per-protocol bound from this
    // test to the rewrite below. Offsets from the frame's start.
    if p + L4 + 20 > end
        || load::<u16, 12>(p) != ETH_P_IP_NE
        || load::<u8, 14>(p) != IPV4_NO_OPTIONS
        || load::<u16, 20>(p) & IPV4_FRAG_NE != 0
    {
        return None;
    }
    let proto = load::<u8, 23>(p);
    if proto == IPPROTO_TCP {
        if load::<u8, 47>(p) & (TCP_SYN | TCP_FIN | TCP_RST) != 0 {
            return None;
        }
    } else if proto != IPPROTO_UDP {
        return None;
    }
    let daddr = load::<u32, 30>(p);
    // Traffic to other destinations leaves the cache alone.
    if LB_ADDR_FILTER
        .get(addr_filter_slot([daddr, 0, 0, 0]))
        .is_none_or(|&hit| hit == 0)
    {
        return None;
    }
    let saddr = load::<u32, 26>(p);
    let ports = load::<u32, 34>(p);
    let hash = flow_cache::hash(saddr, daddr, ports);
    let index = cache_index(hash);
    let set = LB_FLOW_CACHE.get_ptr(index)?;
    let generation = current_generation(hash);
    // SAFETY: plain helper call (inlined by the verifier: a load of `jiffies`).
    let now = unsafe { bpf_jiffies64() } as u32;
    // SAFETY: pointer from a successful lookup in this CPU's cache; only this CPU's runs use it.
    let ways = unsafe { &(*set).ways };
    let e = if hit(&ways[0], saddr, daddr, ports, proto, generation, now) {
        &ways[0]
    } else if hit(&ways[1], saddr, daddr, ports, proto, generation, now) {
        &ways[1]
    } else {
        // The neighbouring set takes a flow whose own set is full.
        let set = LB_FLOW_CACHE.get_ptr(neighbour(index))?;
        // SAFETY: as above.
        let ways = unsafe { &(*set).ways };
        if hit(&ways[0], saddr, daddr, ports, proto, generation, now) {
            &ways[0]
        } else if hit(&ways[1], saddr, daddr, ports, proto, generation, now) {
            &ways[1]
        } else {
            return None;
        }
    };

    store::<u32, 26>(p, e.new_saddr);
    store::<u32, 30>(p, e.new_daddr);
    store::<u16, 24>(p, flow_cache::apply(load::<u16, 24>(p), e.ip_delta));
    if proto == IPPROTO_TCP {
        store::<u16, 50>(p, flow_cache::apply(load::<u16, 50>(p), e.l4_delta));
    } else {
        let check = load::<u16, 40>(p);
        // A zero UDP checksum means none (IPv4); a computed zero is sent as all ones.
        if check != 0 {
            let check = flow_cache::apply(check, e.l4_delta);
            store::<u16, 40>(p, if check == 0 { 0xffff } else { check });
        }
    }
    store::<u32, 34>(p, e.new_ports);
    let len = (end - p) as u64;
    stats::count_flow_packet(e.listener, e.backend, e.flags & CACHED_F_REPLY != 0, len);
    stats::count_packet(PacketClass::Forwarded, len);
    if e.flags & CACHED_F_TX != 0 {
        return Some(xdp_action::XDP_TX);
    }
    // SAFETY: `macs` is 4-byte aligned (asserted in lb-common).
    let macs = unsafe { mem::mac_words(&raw const e.macs) };
    store::<u32, 0>(p, macs[0]);
    store::<u32, 4>(p, macs[1]);
    store::<u32, 8>(p, macs[2]);
    Some(fwd::send_to(ctx, e.ifindex))
}

#[inline(always)]
fn hit(
    e: &CachedFlow,
    saddr: u32,
    daddr: u32,
    ports: u32,
    proto: u8,
    generation: u32,
    now: u32,
) -> bool {
    e.holds(saddr, daddr, ports)
        && e.proto == proto
        && e.generation == generation
        && e.is_fresh(now)
}
