//! The data plane's side of the flow cache (`lb_common::flow_cache`): where a flow's set is,
//! which generation is current, filling an entry after the full path translated a packet, and
//! invalidating the entries of flows that are removed, replaced or created.

use core::intrinsics::{AtomicOrdering, atomic_xadd};

use aya_ebpf::helpers::{bpf_get_smp_processor_id, bpf_jiffies64};
use lb_common::{
    addr::FAMILY_V4,
    flow::FlowKey,
    flow_cache::{
        self, CACHED_F_REPLY, CACHED_F_TX, CachedFlow, CachedFlow6, FLOW_CACHE_SETS,
        FLOW_CACHE6_ENTRIES, FLOW_GEN_EPOCH, FlowCacheSet,
    },
};

use crate::{
    flow::Verdict,
    maps::{LB_FLOW_CACHE, LB_FLOW_CACHE6, LB_FLOW_GEN},
    mem,
    scratch::Scratch,
};

/// The flow-cache generation that covers the flow hashed to `hash`.
#[inline(always)]
pub fn current_generation(hash: u32) -> u32 {
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
/// CPU beyond the map's size (the agent sizes it for the CPUs online when it starts) finds
/// nothing and takes the full path.
#[inline(always)]
pub fn cache_index(hash: u32) -> u32 {
    this_cpu(FLOW_CACHE_SETS, flow_cache::set_of(hash))
}

/// This CPU's entry for an IPv6 flow hash in `LB_FLOW_CACHE6` (see [`cache_index`]).
#[inline(always)]
pub fn cache6_index(hash: u32) -> u32 {
    this_cpu(FLOW_CACHE6_ENTRIES, flow_cache::entry6_of(hash))
}

/// Index `slot` of this CPU's part of an array holding `per_cpu` entries per CPU.
#[inline(always)]
fn this_cpu(per_cpu: u32, slot: u32) -> u32 {
    // SAFETY: plain helper call (inlined by the verifier).
    let cpu = unsafe { bpf_get_smp_processor_id() };
    cpu.wrapping_mul(per_cpu).wrapping_add(slot)
}

/// The set next to `index` (the other of its aligned pair, on the same CPU): where a flow
/// goes when its own set is full, and where the fast path looks when the own set misses.
#[inline(always)]
pub fn neighbour(index: u32) -> u32 {
    index ^ 1
}

/// The cache hash of a key (IPv4: the first word of each address; IPv6: all of them).
#[inline(always)]
fn key_hash(key: &FlowKey) -> u32 {
    let ports = ports_word(key.sport, key.dport);
    if key.family == FAMILY_V4 {
        // SAFETY: address fields of `FlowKey` (4-byte aligned, asserted in lb-common).
        let (src, dst) = unsafe {
            (
                mem::first_word(&raw const key.src),
                mem::first_word(&raw const key.dst),
            )
        };
        flow_cache::hash(src, dst, ports)
    } else {
        // SAFETY: as above.
        let (src, dst) = unsafe {
            (
                mem::words(&raw const key.src),
                mem::words(&raw const key.dst),
            )
        };
        flow_cache::hash6(&src, &dst, ports)
    }
}

/// The transport header's first word as a native-endian load would give it.
#[inline(always)]
fn ports_word(sport: u16, dport: u16) -> u32 {
    let (s, d) = (sport.to_ne_bytes(), dport.to_ne_bytes());
    u32::from_ne_bytes([s[0], s[1], d[0], d[1]])
}

/// Notes the generation covering `s.key` in `s.cache_gen`, before the flow lookup: an entry
/// filled from that lookup carries it, so an invalidation that happens in between (another
/// CPU replacing the flow, the agent deleting it) leaves the entry stale from the start. The
/// key's hash goes to `s.cache_hash` for [`fill`].
#[inline(always)]
pub fn note_generation(s: &mut Scratch) {
    let hash = key_hash(&s.key);
    s.cache_hash = hash;
    s.cache_gen = current_generation(hash);
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

/// Writes what a `CachedFlow` or `CachedFlow6` entry `e` holds beyond the translation: the
/// next hop, the counters' slots, generation, time and flags.
macro_rules! fill_route {
    ($e:expr, $s:expr, $v:expr, $tx:expr, $now:expr) => {
        $e.ifindex = $s.nh.ifindex;
        // SAFETY: `macs` and `NextHop::mac` are 4-byte aligned 12-byte fields (asserted).
        unsafe { mem::copy_mac_pair(&raw mut $e.macs, &raw const $s.nh.mac) };
        $e.listener = $v.listener;
        $e.backend = $v.backend;
        $e.generation = $s.cache_gen;
        $e.filled = $now;
        $e.proto = $s.key.proto;
        $e.flags = if $v.reply { CACHED_F_REPLY } else { 0 } | if $tx { CACHED_F_TX } else { 0 };
    };
}

/// Caches the translation the full path just applied to this IPv4 packet: `s.key` as it
/// arrived (its hash noted in `s.cache_hash`), `s.rewrite`, the next hop `s.nh` (or XDP_TX in
/// the fixture mode, `tx`), counted as `v` says.
#[inline(never)]
pub fn fill(s: &Scratch, v: &Verdict, tx: bool) {
    // SAFETY: address fields of `FlowKey` and `Rewrite` (4-byte aligned, asserted).
    let (src, dst, new_src, new_dst) = unsafe {
        (
            mem::first_word(&raw const s.key.src),
            mem::first_word(&raw const s.key.dst),
            mem::first_word(&raw const s.rewrite.src),
            mem::first_word(&raw const s.rewrite.dst),
        )
    };
    let ports = ports_word(s.key.sport, s.key.dport);
    let new_ports = ports_word(s.rewrite.sport, s.rewrite.dport);
    let index = cache_index(s.cache_hash);
    let (Some(own), Some(next)) = (
        LB_FLOW_CACHE.get_ptr_mut(index),
        LB_FLOW_CACHE.get_ptr_mut(neighbour(index)),
    ) else {
        return;
    };
    // SAFETY: plain helper call (inlined by the verifier).
    let now = unsafe { bpf_jiffies64() } as u32;
    // SAFETY: pointers from successful lookups in this CPU's cache (two different sets).
    let (own, next): (&mut FlowCacheSet, &mut FlowCacheSet) = unsafe { (&mut *own, &mut *next) };
    // The way holding this flow already, else an empty or stale one, the flow's own set
    // first. Fresh entries of other flows are never evicted: when more flows than ways share
    // a pair of sets, those cached stay cached (and the others take the full path) rather
    // than all evicting each other in turn.
    let free = |e: &CachedFlow| e.proto == 0 || !e.is_fresh(now);
    let e = if own.ways[0].holds(src, dst, ports) {
        &mut own.ways[0]
    } else if own.ways[1].holds(src, dst, ports) {
        &mut own.ways[1]
    } else if next.ways[0].holds(src, dst, ports) {
        &mut next.ways[0]
    } else if next.ways[1].holds(src, dst, ports) {
        &mut next.ways[1]
    } else if free(&own.ways[0]) {
        &mut own.ways[0]
    } else if free(&own.ways[1]) {
        &mut own.ways[1]
    } else if free(&next.ways[0]) {
        &mut next.ways[0]
    } else if free(&next.ways[1]) {
        &mut next.ways[1]
    } else {
        return;
    };
    let ip_delta = flow_cache::ip_delta(src, dst, new_src, new_dst);
    e.saddr = src;
    e.daddr = dst;
    e.ports = ports;
    e.new_saddr = new_src;
    e.new_daddr = new_dst;
    e.new_ports = new_ports;
    e.ip_delta = ip_delta;
    e.l4_delta = flow_cache::l4_delta(ip_delta, ports, new_ports);
    fill_route!(e, s, v, tx, now);
}

/// [`fill`] for an IPv6 packet: its own entry, else the neighbouring one.
#[inline(never)]
pub fn fill6(s: &Scratch, v: &Verdict, tx: bool) {
    // SAFETY: address fields of `FlowKey` and `Rewrite` (4-byte aligned, asserted).
    let (src, dst, new_src, new_dst) = unsafe {
        (
            mem::words(&raw const s.key.src),
            mem::words(&raw const s.key.dst),
            mem::words(&raw const s.rewrite.src),
            mem::words(&raw const s.rewrite.dst),
        )
    };
    let ports = ports_word(s.key.sport, s.key.dport);
    let new_ports = ports_word(s.rewrite.sport, s.rewrite.dport);
    let index = cache6_index(s.cache_hash);
    let (Some(own), Some(next)) = (
        LB_FLOW_CACHE6.get_ptr_mut(index),
        LB_FLOW_CACHE6.get_ptr_mut(neighbour(index)),
    ) else {
        return;
    };
    // SAFETY: plain helper call (inlined by the verifier).
    let now = unsafe { bpf_jiffies64() } as u32;
    // SAFETY: pointers from successful lookups in this CPU's cache (two different entries).
    let (own, next): (&mut CachedFlow6, &mut CachedFlow6) = unsafe { (&mut *own, &mut *next) };
    let free = |e: &CachedFlow6| e.proto == 0 || !e.is_fresh(now);
    let e = if own.holds(&src, &dst, ports) {
        own
    } else if next.holds(&src, &dst, ports) {
        next
    } else if free(own) {
        own
    } else if free(next) {
        next
    } else {
        return;
    };
    e.saddr = src;
    e.daddr = dst;
    e.ports = ports;
    e.new_saddr = new_src;
    e.new_daddr = new_dst;
    e.new_ports = new_ports;
    e.l4_delta = flow_cache::l4_delta6(&src, &dst, ports, &new_src, &new_dst, new_ports);
    fill_route!(e, s, v, tx, now);
}
