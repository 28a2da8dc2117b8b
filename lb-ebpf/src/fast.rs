//! The fast path: a packet of an established IPv4 TCP/UDP flow that this CPU's flow cache
//! holds (`lb_common::flow_cache`) is translated and sent without a single call: no hash-map
//! lookup, no helper but `bpf_jiffies64` (inlined by the verifier), no subprogram. Everything
//! else — other families, VLAN tags, IPv4 options, fragments, SYN/FIN/RST, cache misses —
//! takes the full path, which fills the cache ([`fill`]) once it has translated a packet of an
//! `LB_FLOWS` entry with a cached next hop.

use core::intrinsics::{AtomicOrdering, atomic_xadd};

use aya_ebpf::{
    bindings::xdp_action,
    helpers::{bpf_get_smp_processor_id, bpf_jiffies64},
    programs::XdpContext,
};
use lb_common::{
    addr::{IPPROTO_TCP, IPPROTO_UDP},
    flow::FlowKey,
    flow_cache::{
        self, CACHED_F_REPLY, CACHED_F_TX, CachedFlow, FLOW_CACHE_JIFFIES, FLOW_CACHE_SETS,
        FLOW_GEN_EPOCH, FlowCacheSet,
    },
    stats::PacketClass,
    vip::addr_filter_slot,
};

use crate::{
    flow::Verdict,
    fwd,
    maps::{LB_ADDR_FILTER, LB_FLOW_CACHE, LB_FLOW_GEN},
    mem,
    parse::{TCP_FIN, TCP_RST, TCP_SYN},
    scratch::Scratch,
    stats,
};

/// Start of the transport header: Ethernet (14 bytes) and IPv4 without options (20).
const L4: usize = 34;
/// EtherType IPv4 as a native-endian load of its two bytes.
const ETH_P_IP_NE: u16 = u16::from_ne_bytes([0x08, 0x00]);
/// Version 4, header length 20 bytes (no options).
const IPV4_NO_OPTIONS: u8 = 0x45;
/// More-fragments flag and fragment offset, as a native-endian load of the field.
const IPV4_FRAG_NE: u16 = u16::from_ne_bytes([0x3f, 0xff]);

/// Loads a `T` (1, 2 or 4 bytes) from packet memory at `base + OFF`, as one instruction. A
/// `read_unaligned` compiles to byte loads joined with shifts on BPF (LLVM assumes no
/// misaligned access), and a misaligned `read_volatile` is undefined behaviour; the kernel
/// allows misaligned packet access, so the load is written out.
#[inline(always)]
fn load<T: Word, const OFF: i16>(base: usize) -> T {
    T::load::<OFF>(base)
}

/// Stores a `T` into packet memory at `base + OFF` (see [`load`]).
#[inline(always)]
fn store<T: Word, const OFF: i16>(base: usize, value: T) {
    value.store::<OFF>(base);
}

/// The integer widths the packet is read and written in.
trait Word: Copy {
    fn load<const OFF: i16>(base: usize) -> Self;
    fn store<const OFF: i16>(self, base: usize);
}

macro_rules! word {
    ($ty:ty, $size:literal) => {
        impl Word for $ty {
            #[inline(always)]
            fn load<const OFF: i16>(base: usize) -> Self {
                let value: $ty;
                // SAFETY: every caller passes a `base` and offset inside the range it checked
                // against `data_end`; the instruction only reads those bytes.
                unsafe {
                    core::arch::asm!(
                        concat!("{v} = *(", $size, " *)({p} + {off})"),
                        v = lateout(reg) value,
                        p = in(reg) base,
                        off = const OFF,
                        options(readonly, nostack, preserves_flags),
                    );
                }
                value
            }

            #[inline(always)]
            fn store<const OFF: i16>(self, base: usize) {
                // SAFETY: as in `load`, for a write of those bytes.
                unsafe {
                    core::arch::asm!(
                        concat!("*(", $size, " *)({p} + {off}) = {v}"),
                        p = in(reg) base,
                        off = const OFF,
                        v = in(reg) self,
                        options(nostack, preserves_flags),
                    );
                }
            }
        }
    };
}
word!(u8, "u8");
word!(u16, "u16");
word!(u32, "u32");

/// The flow-cache generation that covers the flow hashed to `hash`.
#[inline(always)]
fn current_generation(hash: u32) -> u32 {
    let bucket = LB_FLOW_GEN
        .get(flow_cache::bucket_of(hash))
        .copied()
        .unwrap_or(0);
    let epoch = LB_FLOW_GEN.get(FLOW_GEN_EPOCH).copied().unwrap_or(0);
    flow_cache::generation(bucket, epoch)
}

/// This CPU's set for a flow hash in `LB_FLOW_CACHE`. A plain array partitioned by CPU rather
/// than a per-CPU array: the lookup is one address computation, where a per-CPU array first
/// loads the element's per-CPU pointer (a second cache miss per packet with many flows). A
/// CPU beyond the map's size (the agent sizes it for every possible CPU) finds nothing and
/// takes the full path.
#[inline(always)]
fn cache_index(hash: u32) -> u32 {
    // SAFETY: plain helper call (inlined by the verifier).
    let cpu = unsafe { bpf_get_smp_processor_id() };
    cpu.wrapping_mul(FLOW_CACHE_SETS)
        .wrapping_add(flow_cache::set_of(hash))
}

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
    let set = LB_FLOW_CACHE.get_ptr(cache_index(hash))?;
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
        return None;
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
    e.saddr == saddr
        && e.daddr == daddr
        && e.ports == ports
        && e.proto == proto
        && e.generation == generation
        && now.wrapping_sub(e.filled) < FLOW_CACHE_JIFFIES
}

/// The cache hash of an IPv4 key (`None` for IPv6 keys, which are never cached).
#[inline(always)]
fn key_hash(key: &FlowKey) -> u32 {
    // SAFETY: address fields of `FlowKey` (4-byte aligned, asserted in lb-common).
    let (src, dst) = unsafe {
        (
            mem::words(&raw const key.src),
            mem::words(&raw const key.dst),
        )
    };
    flow_cache::hash(src[0], dst[0], ports_word(key.sport, key.dport))
}

/// The transport header's first word as a native-endian load would give it.
#[inline(always)]
fn ports_word(sport: u16, dport: u16) -> u32 {
    let (s, d) = (sport.to_ne_bytes(), dport.to_ne_bytes());
    u32::from_ne_bytes([s[0], s[1], d[0], d[1]])
}

/// Notes the generation covering `s.key` in `s.cache_gen`, before the flow lookup: an entry
/// filled from that lookup carries it, so an invalidation that happens in between (another
/// CPU replacing the flow, the agent deleting it) leaves the entry stale from the start.
#[inline(always)]
pub fn note_generation(s: &mut Scratch) {
    s.cache_gen = current_generation(key_hash(&s.key));
}

/// Makes every CPU's cached entry of `key`'s flow direction stale (the flow entry is being
/// removed, replaced or created anew).
#[inline(always)]
pub fn invalidate(key: &FlowKey) {
    let bucket = flow_cache::bucket_of(key_hash(key));
    if let Some(p) = LB_FLOW_GEN.get_ptr_mut(bucket) {
        // SAFETY: an aligned u32 cell from a successful array lookup; writers use atomics
        // (the agent writes only the epoch cell).
        unsafe { atomic_xadd::<u32, u32, { AtomicOrdering::Relaxed }>(p, 1) };
    }
}

/// Caches the translation the full path just applied to this IPv4 packet: `s.key` as it
/// arrived, `s.rewrite`, the next hop `s.nh` (or XDP_TX in the fixture mode, `tx`), counted as
/// `v` says.
#[inline(never)]
pub fn fill(s: &Scratch, v: &Verdict, tx: bool) {
    // SAFETY: address fields of `FlowKey` and `Rewrite` (4-byte aligned, asserted).
    let (src, dst, new_src, new_dst) = unsafe {
        (
            mem::words(&raw const s.key.src)[0],
            mem::words(&raw const s.key.dst)[0],
            mem::words(&raw const s.rewrite.src)[0],
            mem::words(&raw const s.rewrite.dst)[0],
        )
    };
    let ports = ports_word(s.key.sport, s.key.dport);
    let new_ports = ports_word(s.rewrite.sport, s.rewrite.dport);
    let hash = flow_cache::hash(src, dst, ports);
    let Some(set) = LB_FLOW_CACHE.get_ptr_mut(cache_index(hash)) else {
        return;
    };
    // SAFETY: plain helper call (inlined by the verifier).
    let now = unsafe { bpf_jiffies64() } as u32;
    // SAFETY: pointer from a successful lookup in this CPU's cache.
    let set: &mut FlowCacheSet = unsafe { &mut *set };
    // The way holding this flow already, else an empty or stale one. Fresh entries of other
    // flows are never evicted: when more flows than ways share a set, those cached stay
    // cached (and the others take the full path) rather than all evicting each other in turn.
    let same = |e: &CachedFlow| e.saddr == src && e.daddr == dst && e.ports == ports;
    let free = |e: &CachedFlow| e.proto == 0 || now.wrapping_sub(e.filled) >= FLOW_CACHE_JIFFIES;
    let way = if same(&set.ways[0]) {
        0
    } else if same(&set.ways[1]) {
        1
    } else if free(&set.ways[0]) {
        0
    } else if free(&set.ways[1]) {
        1
    } else {
        return;
    };
    let e = &mut set.ways[way & 1];
    let ip_delta = flow_cache::ip_delta(src, dst, new_src, new_dst);
    e.saddr = src;
    e.daddr = dst;
    e.ports = ports;
    e.new_saddr = new_src;
    e.new_daddr = new_dst;
    e.new_ports = new_ports;
    e.ip_delta = ip_delta;
    e.l4_delta = flow_cache::l4_delta(ip_delta, ports, new_ports);
    e.ifindex = s.nh.ifindex;
    // SAFETY: `macs` and `NextHop::mac` are 4-byte aligned 12-byte fields (asserted).
    unsafe { mem::copy_mac_pair(&raw mut e.macs, &raw const s.nh.mac) };
    e.listener = v.listener;
    e.backend = v.backend;
    e.generation = s.cache_gen;
    e.filled = now;
    e.proto = s.key.proto;
    e.flags = if v.reply { CACHED_F_REPLY } else { 0 } | if tx { CACHED_F_TX } else { 0 };
}
