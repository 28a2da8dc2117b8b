//! The fast path: a packet of an established IPv4 or IPv6 TCP/UDP flow that this CPU's flow
//! cache holds (`cache.rs`, `lb_common::flow_cache`) is translated and sent without a single
//! call: no hash-map lookup, no helper but `bpf_jiffies64` (inlined by the verifier), no
//! subprogram. Everything else — VLAN tags, IPv4 options, IPv6 extension headers, fragments,
//! SYN/FIN/RST, cache misses — takes the full path, which fills the cache (`cache::fill`,
//! `cache::fill6`) once it has translated a packet of an `LB_FLOWS` entry with a cached next
//! hop.

use aya_ebpf::{bindings::xdp_action, helpers::bpf_jiffies64, programs::XdpContext};
use lb_common::{
    addr::{IPPROTO_TCP, IPPROTO_UDP},
    flow_cache::{self, CACHED_F_REPLY, CACHED_F_TX},
    stats::PacketClass,
    vip::addr_filter_slot,
};

use crate::{
    cache::{cache_index, cache6_index, current_generation, neighbour},
    fwd,
    maps::{LB_ADDR_FILTER, LB_FLOW_CACHE, LB_FLOW_CACHE6},
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
/// Start of the transport header after Ethernet and an IPv6 header without extensions.
const L4_6: usize = 54;
/// EtherType IPv6 as a native-endian load of its two bytes.
const ETH_P_IPV6_NE: u16 = u16::from_ne_bytes([0x86, 0xdd]);

/// Whether entry `$e` (`CachedFlow` or `CachedFlow6`) serves this packet: same key, same
/// protocol, filled under the current generation, fresh.
macro_rules! serves {
    ($e:expr, ($($key:expr),+), $proto:expr, $generation:expr, $now:expr) => {
        $e.holds($($key),+)
            && $e.proto == $proto
            && $e.generation == $generation
            && $e.is_fresh($now)
    };
}

/// Where and how a cached entry's packets go, whichever the family.
struct Hop {
    listener: u32,
    backend: u32,
    flags: u8,
    ifindex: u32,
    /// Destination then source MAC, as three native words.
    macs: [u32; 3],
}

/// The [`Hop`] of a `CachedFlow` or `CachedFlow6`.
macro_rules! hop {
    ($e:expr) => {
        Hop {
            listener: $e.listener,
            backend: $e.backend,
            flags: $e.flags,
            ifindex: $e.ifindex,
            // SAFETY: `macs` is 4-byte aligned in both entry types (asserted in lb-common).
            macs: unsafe { mem::mac_words(&raw const $e.macs) },
        }
    };
}

/// Translates and sends the packet if this CPU's cache holds its flow (IPv4 or IPv6); `None`
/// otherwise (the packet is untouched then).
#[inline(always)]
pub fn established(ctx: &XdpContext) -> Option<u32> {
    let p = ctx.data();
    if p + L4 > ctx.data_end() {
        return None;
    }
    if load::<u16, 12>(p) == ETH_P_IPV6_NE {
        established_v6(ctx)
    } else {
        established_v4(ctx)
    }
}

/// Translates and sends the packet if this CPU's cache holds its flow; `None` otherwise (the
/// packet is untouched then).
#[inline(always)]
fn established_v4(ctx: &XdpContext) -> Option<u32> {
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
    if !established_segment::<{ L4 as i16 + 13 }>(p, proto) {
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
    let e = if serves!(ways[0], (saddr, daddr, ports), proto, generation, now) {
        &ways[0]
    } else if serves!(ways[1], (saddr, daddr, ports), proto, generation, now) {
        &ways[1]
    } else {
        // The neighbouring set takes a flow whose own set is full.
        let set = LB_FLOW_CACHE.get_ptr(neighbour(index))?;
        // SAFETY: as above.
        let ways = unsafe { &(*set).ways };
        if serves!(ways[0], (saddr, daddr, ports), proto, generation, now) {
            &ways[0]
        } else if serves!(ways[1], (saddr, daddr, ports), proto, generation, now) {
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
    Some(send(ctx, p, end, &hop!(e)))
}

/// [`established_v4`] for an IPv6 header without extension headers.
#[inline(always)]
fn established_v6(ctx: &XdpContext) -> Option<u32> {
    let p = ctx.data();
    let end = ctx.data_end();
    // Ethernet, the 40-byte IPv6 header and 20 bytes more (one bound for TCP and UDP, as for
    // IPv4). Version 6 in the top nibble; the next header must be the transport header.
    if p + L4_6 + 20 > end || load::<u8, 14>(p) >> 4 != 6 {
        return None;
    }
    let proto = load::<u8, 20>(p);
    if !established_segment::<{ L4_6 as i16 + 13 }>(p, proto) {
        return None;
    }
    let daddr = [
        load::<u32, 38>(p),
        load::<u32, 42>(p),
        load::<u32, 46>(p),
        load::<u32, 50>(p),
    ];
    if LB_ADDR_FILTER
        .get(addr_filter_slot(daddr))
        .is_none_or(|&hit| hit == 0)
    {
        return None;
    }
    let saddr = [
        load::<u32, 22>(p),
        load::<u32, 26>(p),
        load::<u32, 30>(p),
        load::<u32, 34>(p),
    ];
    let ports = load::<u32, 54>(p);
    let hash = flow_cache::hash6(&saddr, &daddr, ports);
    let index = cache6_index(hash);
    let own = LB_FLOW_CACHE6.get_ptr(index)?;
    let generation = current_generation(hash);
    // SAFETY: plain helper call (inlined by the verifier: a load of `jiffies`).
    let now = unsafe { bpf_jiffies64() } as u32;
    // SAFETY: pointer from a successful lookup in this CPU's cache; only this CPU's runs use it.
    let e = unsafe { &*own };
    let e = if serves!(e, (&saddr, &daddr, ports), proto, generation, now) {
        e
    } else {
        let next = LB_FLOW_CACHE6.get_ptr(neighbour(index))?;
        // SAFETY: as above.
        let e = unsafe { &*next };
        if !serves!(e, (&saddr, &daddr, ports), proto, generation, now) {
            return None;
        }
        e
    };

    store::<u32, 22>(p, e.new_saddr[0]);
    store::<u32, 26>(p, e.new_saddr[1]);
    store::<u32, 30>(p, e.new_saddr[2]);
    store::<u32, 34>(p, e.new_saddr[3]);
    store::<u32, 38>(p, e.new_daddr[0]);
    store::<u32, 42>(p, e.new_daddr[1]);
    store::<u32, 46>(p, e.new_daddr[2]);
    store::<u32, 50>(p, e.new_daddr[3]);
    if proto == IPPROTO_TCP {
        store::<u16, 70>(p, flow_cache::apply(load::<u16, 70>(p), e.l4_delta));
    } else {
        // The UDP checksum is mandatory over IPv6; a computed zero is sent as all ones.
        let check = flow_cache::apply(load::<u16, 60>(p), e.l4_delta);
        store::<u16, 60>(p, if check == 0 { 0xffff } else { check });
    }
    store::<u32, 54>(p, e.new_ports);
    Some(send(ctx, p, end, &hop!(e)))
}

/// UDP, or TCP without SYN/FIN/RST (flags byte at `FLAGS`, inside the checked bound).
#[inline(always)]
fn established_segment<const FLAGS: i16>(p: usize, proto: u8) -> bool {
    if proto == IPPROTO_TCP {
        load::<u8, FLAGS>(p) & (TCP_SYN | TCP_FIN | TCP_RST) == 0
    } else {
        proto == IPPROTO_UDP
    }
}

/// Counts a translated packet like the full path does and sends it: XDP_TX in the fixture
/// mode, else to the cached next hop. `p`/`end`: the frame, its first 12 bytes checked.
#[inline(always)]
fn send(ctx: &XdpContext, p: usize, end: usize, hop: &Hop) -> u32 {
    let len = (end - p) as u64;
    stats::count_flow_packet(
        hop.listener,
        hop.backend,
        hop.flags & CACHED_F_REPLY != 0,
        len,
    );
    stats::count_packet(PacketClass::Forwarded, len);
    if hop.flags & CACHED_F_TX != 0 {
        return xdp_action::XDP_TX;
    }
    store::<u32, 0>(p, hop.macs[0]);
    store::<u32, 4>(p, hop.macs[1]);
    store::<u32, 8>(p, hop.macs[2]);
    fwd::send_to(ctx, hop.ifindex)
}
