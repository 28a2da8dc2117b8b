//! The flow cache in front of `LB_FLOWS` (each CPU its own part of `LB_FLOW_CACHE` and
//! `LB_FLOW_CACHE6`): what the data plane's fast path needs to translate a packet of an
//! established IPv4 or IPv6 flow with no call at all (no hash-map lookup, no clock helper, no
//! subprogram; each call's return is costly on CPUs with return-stack
//! mitigations). Filled by the full path from an `LB_FLOWS` entry; a hit is only ever a copy
//! of that entry, trusted for a short time and invalidated by generation counters.
//!
//! Validity of an entry (all must hold):
//! - same addresses, ports and protocol as the packet;
//! - filled less than [`FLOW_CACHE_JIFFIES`] ago (`bpf_jiffies64`, inlined by the verifier):
//!   the full path runs again for every flow at least that often, so `LB_FLOWS` keeps seeing
//!   the flow (`last_seen_ns` for the idle timeout and the agent's collector) and route or
//!   neighbour changes arrive as fast as through the next-hop cache;
//! - the generation it was filled with still current: the sum of the key's bucket in
//!   `LB_FLOW_GEN` (bumped by the data plane whenever it removes, replaces or creates flow
//!   entries under that bucket) and the epoch (bumped by the agent whenever it deletes or
//!   writes flows or changes settings).

use crate::{csum, pod};

/// One cached direction of a flow (64 bytes, one cache line). Addresses and ports as loaded
/// from the packet with native-endian 32-bit reads (the checksum arithmetic is byte-order
/// independent, RFC 1071 §2(B)).
#[repr(C, align(8))]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CachedFlow {
    pub saddr: u32,
    pub daddr: u32,
    /// Source and destination port, the transport header's first word.
    pub ports: u32,
    pub new_saddr: u32,
    pub new_daddr: u32,
    pub new_ports: u32,
    /// One's-complement change of the IPv4 header checksum (see [`ip_delta`]).
    pub ip_delta: u16,
    /// One's-complement change of the TCP/UDP checksum (see [`l4_delta`]).
    pub l4_delta: u16,
    /// Egress interface of the flow's next hop.
    pub ifindex: u32,
    /// Destination MAC then source MAC of the next hop.
    pub macs: [u8; 12],
    pub listener: u32,
    pub backend: u32,
    /// [`generation`] when filled.
    pub generation: u32,
    /// Low 32 bits of jiffies when filled.
    pub filled: u32,
    /// IPPROTO_TCP or IPPROTO_UDP; 0 in an empty entry (never matches).
    pub proto: u8,
    /// `CACHED_F_*` bits.
    pub flags: u8,
    pub _pad: [u8; 2],
}
const _: () = assert!(core::mem::size_of::<CachedFlow>() == 64);

impl CachedFlow {
    /// Whether the entry is for this direction of a flow (addresses and ports; the protocol is
    /// checked separately by the fast path, and 0 in an empty entry).
    #[inline(always)]
    #[must_use]
    pub const fn holds(&self, saddr: u32, daddr: u32, ports: u32) -> bool {
        self.saddr == saddr && self.daddr == daddr && self.ports == ports
    }

    /// Whether the entry is still trusted at `now` (see [`fresh`]).
    #[inline(always)]
    #[must_use]
    pub const fn is_fresh(&self, now: u32) -> bool {
        fresh(self.filled, now)
    }
}
const _: () = assert!(core::mem::offset_of!(CachedFlow, macs) % 4 == 0);

/// Whether an entry filled at `filled` is less than [`FLOW_CACHE_JIFFIES`] old at `now` (low
/// 32 bits of jiffies, both).
#[inline(always)]
#[must_use]
pub const fn fresh(filled: u32, now: u32) -> bool {
    now.wrapping_sub(filled) < FLOW_CACHE_JIFFIES
}

/// The entry is the reply direction (member → client): counted as outgoing traffic.
pub const CACHED_F_REPLY: u8 = 1;
/// Send with XDP_TX and leave the MACs alone (the fixture mode, `CFG_F_TX_AFTER_NAT`).
pub const CACHED_F_TX: u8 = 2;

/// Entries that share a set (2-way set associative: a second flow falling on the same set does
/// not evict the first). A flow whose set is full goes to the neighbouring set (index ^ 1),
/// so each aligned pair of sets holds any four of its flows.
pub const FLOW_CACHE_WAYS: usize = 2;

/// One set of the cache, the value of `LB_FLOW_CACHE`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FlowCacheSet {
    pub ways: [CachedFlow; FLOW_CACHE_WAYS],
}
const _: () = assert!(core::mem::size_of::<FlowCacheSet>() == 128);

/// Sets per CPU: 16,384 sets × 128 bytes = 2 MiB per CPU, 32,768 cached flow directions per
/// CPU. With 10,000 flows on a CPU about 99 % of them find a way (expected value for uniform
/// hashing, four ways per pair of sets; 95 % in their own set alone, 86 % with 8,192 sets).
/// A larger cache is slower, not faster, at 10,000 flows: 32,768 sets (4 MiB per CPU) took
/// `lb_xdp` from 173–212 to 269–304 ns a packet in the live benchmark (more pages to
/// translate). `LB_FLOW_CACHE` holds CPU `c`'s sets at `c * FLOW_CACHE_SETS ..`.
pub const FLOW_CACHE_SETS: u32 = 16_384;
const _: () = assert!(FLOW_CACHE_SETS.is_power_of_two());

/// How long a filled entry is trusted, in jiffies (64 ms at HZ=1000, 640 ms at HZ=100): below
/// the next-hop cache time (`NH_CACHE_NS`) and below [`FLOW_CACHE_MIN_IDLE_MS`].
pub const FLOW_CACHE_JIFFIES: u32 = 64;

/// Flows with a shorter idle timeout are never cached (their expiry must be seen on time).
pub const FLOW_CACHE_MIN_IDLE_MS: u32 = 1_000;

/// Buckets of `LB_FLOW_GEN` the data plane bumps (by key hash); the entry after them is the
/// agent's epoch.
pub const FLOW_GEN_BUCKETS: u32 = 256;
/// Index of the agent's epoch in `LB_FLOW_GEN`.
pub const FLOW_GEN_EPOCH: u32 = FLOW_GEN_BUCKETS;
/// Entries of `LB_FLOW_GEN`.
pub const FLOW_GEN_SIZE: u32 = FLOW_GEN_BUCKETS + 1;

/// Hash of an IPv4 5-tuple (addresses and ports as loaded natively; the protocol is left out:
/// TCP and UDP flows of the same addresses and ports share a set, and a bucket).
#[inline(always)]
#[must_use]
pub const fn hash(saddr: u32, daddr: u32, ports: u32) -> u32 {
    let mut h = saddr ^ daddr.rotate_left(11) ^ ports.rotate_left(23);
    h ^= h >> 16;
    h = h.wrapping_mul(0x7feb_352d);
    h ^= h >> 15;
    h = h.wrapping_mul(0x846c_a68b);
    h ^ (h >> 16)
}

/// The set of a hash.
#[inline(always)]
#[must_use]
pub const fn set_of(hash: u32) -> u32 {
    hash & (FLOW_CACHE_SETS - 1)
}

/// The `LB_FLOW_GEN` bucket of a hash (its top bits, independent of the set).
#[inline(always)]
#[must_use]
pub const fn bucket_of(hash: u32) -> u32 {
    hash >> 24
}
const _: () = assert!(FLOW_GEN_BUCKETS == 1 << 8);

/// The generation an entry carries: its bucket's counter plus the agent's epoch.
#[inline(always)]
#[must_use]
pub const fn generation(bucket: u32, epoch: u32) -> u32 {
    bucket.wrapping_add(epoch)
}

/// Change of the IPv4 header checksum when the addresses change.
#[inline(always)]
#[must_use]
pub const fn ip_delta(saddr: u32, daddr: u32, new_saddr: u32, new_daddr: u32) -> u16 {
    let acc = csum::replace32(csum::replace32(0, saddr, new_saddr), daddr, new_daddr);
    csum::fold64(acc) as u16
}

/// Change of the TCP/UDP checksum (pseudo-header addresses plus ports) for `ip_delta`.
#[inline(always)]
#[must_use]
pub const fn l4_delta(ip_delta: u16, ports: u32, new_ports: u32) -> u16 {
    csum::fold64(csum::replace32(ip_delta as u64, ports, new_ports)) as u16
}

/// A checksum field (as loaded natively) after a change of `delta`.
#[inline(always)]
#[must_use]
pub fn apply(check: u16, delta: u16) -> u16 {
    csum::finish(csum::start(check) + u32::from(delta))
}

/// One cached direction of an IPv6 flow (128 bytes, two cache lines; everything a lookup
/// compares is in the first). Addresses and ports as loaded natively, like [`CachedFlow`].
#[repr(C, align(8))]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CachedFlow6 {
    pub saddr: [u32; 4],
    pub daddr: [u32; 4],
    /// Source and destination port, the transport header's first word.
    pub ports: u32,
    /// [`generation`] when filled.
    pub generation: u32,
    /// Low 32 bits of jiffies when filled.
    pub filled: u32,
    /// IPPROTO_TCP or IPPROTO_UDP; 0 in an empty entry (never matches).
    pub proto: u8,
    /// `CACHED_F_*` bits.
    pub flags: u8,
    /// One's-complement change of the TCP/UDP checksum (see [`l4_delta6`]).
    pub l4_delta: u16,
    pub new_saddr: [u32; 4],
    pub new_daddr: [u32; 4],
    pub new_ports: u32,
    /// Egress interface of the flow's next hop.
    pub ifindex: u32,
    /// Destination MAC then source MAC of the next hop.
    pub macs: [u8; 12],
    pub listener: u32,
    pub backend: u32,
    pub _pad: [u8; 20],
}
const _: () = assert!(core::mem::size_of::<CachedFlow6>() == 128);
const _: () = assert!(core::mem::offset_of!(CachedFlow6, l4_delta) < 64);
const _: () = assert!(core::mem::offset_of!(CachedFlow6, macs) % 4 == 0);

impl CachedFlow6 {
    /// Whether the entry is for this direction of a flow (see [`CachedFlow::holds`]).
    #[inline(always)]
    #[must_use]
    pub const fn holds(&self, saddr: &[u32; 4], daddr: &[u32; 4], ports: u32) -> bool {
        self.ports == ports
            && self.saddr[0] == saddr[0]
            && self.saddr[1] == saddr[1]
            && self.saddr[2] == saddr[2]
            && self.saddr[3] == saddr[3]
            && self.daddr[0] == daddr[0]
            && self.daddr[1] == daddr[1]
            && self.daddr[2] == daddr[2]
            && self.daddr[3] == daddr[3]
    }

    /// Whether the entry is still trusted at `now` (see [`fresh`]).
    #[inline(always)]
    #[must_use]
    pub const fn is_fresh(&self, now: u32) -> bool {
        fresh(self.filled, now)
    }
}

/// IPv6 entries per CPU: 8,192 × 128 bytes = 1 MiB per CPU. One entry per index, and the
/// neighbouring one (index ^ 1) for a flow whose own is taken. `LB_FLOW_CACHE6` holds CPU `c`'s
/// entries at `c * FLOW_CACHE6_ENTRIES ..`.
pub const FLOW_CACHE6_ENTRIES: u32 = 8_192;
const _: () = assert!(FLOW_CACHE6_ENTRIES.is_power_of_two());

/// Hash of an IPv6 5-tuple: the words of each address folded, then [`hash`] (the same
/// buckets as IPv4 keys).
#[inline(always)]
#[must_use]
pub const fn hash6(saddr: &[u32; 4], daddr: &[u32; 4], ports: u32) -> u32 {
    hash(
        saddr[0] ^ saddr[1].rotate_left(8) ^ saddr[2].rotate_left(16) ^ saddr[3].rotate_left(24),
        daddr[0] ^ daddr[1].rotate_left(8) ^ daddr[2].rotate_left(16) ^ daddr[3].rotate_left(24),
        ports,
    )
}

/// The entry of an IPv6 hash (within a CPU's part).
#[inline(always)]
#[must_use]
pub const fn entry6_of(hash: u32) -> u32 {
    hash & (FLOW_CACHE6_ENTRIES - 1)
}

/// Change of the TCP/UDP checksum when the IPv6 addresses (pseudo-header) and ports change.
#[inline(always)]
#[must_use]
pub const fn l4_delta6(
    saddr: &[u32; 4],
    daddr: &[u32; 4],
    ports: u32,
    new_saddr: &[u32; 4],
    new_daddr: &[u32; 4],
    new_ports: u32,
) -> u16 {
    let mut acc = csum::replace32(0, ports, new_ports);
    let mut i = 0;
    while i < 4 {
        acc = csum::replace32(acc, saddr[i], new_saddr[i]);
        acc = csum::replace32(acc, daddr[i], new_daddr[i]);
        i += 1;
    }
    csum::fold64(acc) as u16
}

pod!(CachedFlow, FlowCacheSet, CachedFlow6);

#[cfg(test)]
mod tests {
    use super::*;

    fn word(b: &[u8]) -> u32 {
        u32::from_ne_bytes([b[0], b[1], b[2], b[3]])
    }

    fn half(b: &[u8]) -> u16 {
        u16::from_ne_bytes([b[0], b[1]])
    }

    /// An IPv4 header plus a UDP header and payload with correct checksums.
    fn packet(src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16) -> ([u8; 20], [u8; 16]) {
        let mut ip = [
            0x45, 0, 0, 36, 0x12, 0x34, 0x40, 0, 64, 17, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        ];
        ip[12..16].copy_from_slice(&src);
        ip[16..20].copy_from_slice(&dst);
        let c = csum::full(&ip, 0).to_be_bytes();
        ip[10..12].copy_from_slice(&c);
        let mut udp = [0u8; 16];
        udp[0..2].copy_from_slice(&sport.to_be_bytes());
        udp[2..4].copy_from_slice(&dport.to_be_bytes());
        udp[4..6].copy_from_slice(&16u16.to_be_bytes());
        udp[8..16].copy_from_slice(b"payload!");
        let mut pseudo = [0u8; 12];
        pseudo[..4].copy_from_slice(&src);
        pseudo[4..8].copy_from_slice(&dst);
        pseudo[9] = 17;
        pseudo[10..12].copy_from_slice(&16u16.to_be_bytes());
        let sum = csum::full(&pseudo, 0);
        let c = csum::full(&udp, u32::from(!sum)).to_be_bytes();
        udp[6..8].copy_from_slice(&c);
        (ip, udp)
    }

    #[test]
    fn cached_deltas_give_the_checksums_of_the_rewritten_packet() {
        for (from, to) in [
            (
                ([10, 0, 0, 1], [192, 0, 2, 10], 40_000, 80),
                ([198, 18, 0, 2], [198, 18, 1, 11], 1_024, 8_080),
            ),
            (
                ([255, 255, 255, 254], [0, 0, 0, 1], 65_535, 1),
                ([1, 2, 3, 4], [254, 253, 252, 251], 1, 65_534),
            ),
        ] {
            let (mut ip, mut udp) = packet(from.0, from.1, from.2, from.3);
            let (want_ip, want_udp) = packet(to.0, to.1, to.2, to.3);
            let (saddr, daddr, ports) = (word(&ip[12..]), word(&ip[16..]), word(&udp[..]));
            let (nsaddr, ndaddr, nports) = (
                word(&want_ip[12..]),
                word(&want_ip[16..]),
                word(&want_udp[..]),
            );
            let ipd = ip_delta(saddr, daddr, nsaddr, ndaddr);
            let l4d = l4_delta(ipd, ports, nports);
            let check = apply(half(&ip[10..]), ipd).to_ne_bytes();
            ip[10..12].copy_from_slice(&check);
            ip[12..16].copy_from_slice(&nsaddr.to_ne_bytes());
            ip[16..20].copy_from_slice(&ndaddr.to_ne_bytes());
            let check = apply(half(&udp[6..]), l4d).to_ne_bytes();
            udp[6..8].copy_from_slice(&check);
            udp[..4].copy_from_slice(&nports.to_ne_bytes());
            assert_eq!(ip, want_ip);
            // The one's-complement zero has two forms; both verify.
            let (got, want) = (half(&udp[6..]), half(&want_udp[6..]));
            assert!(
                got == want || (got ^ want == 0xffff && got & want == 0),
                "{got:#x} vs {want:#x}"
            );
            assert_eq!(udp[..6], want_udp[..6]);
        }
    }

    /// A UDP header and payload over IPv6 with a correct checksum.
    fn udp6(src: [u8; 16], dst: [u8; 16], sport: u16, dport: u16) -> [u8; 16] {
        let mut udp = [0u8; 16];
        udp[0..2].copy_from_slice(&sport.to_be_bytes());
        udp[2..4].copy_from_slice(&dport.to_be_bytes());
        udp[4..6].copy_from_slice(&16u16.to_be_bytes());
        udp[8..16].copy_from_slice(b"payload!");
        let mut pseudo = [0u8; 40];
        pseudo[..16].copy_from_slice(&src);
        pseudo[16..32].copy_from_slice(&dst);
        pseudo[32..36].copy_from_slice(&16u32.to_be_bytes());
        pseudo[39] = 17;
        let sum = csum::full(&pseudo, 0);
        let c = csum::full(&udp, u32::from(!sum)).to_be_bytes();
        udp[6..8].copy_from_slice(&c);
        udp
    }

    fn words(a: &[u8; 16]) -> [u32; 4] {
        [word(&a[0..]), word(&a[4..]), word(&a[8..]), word(&a[12..])]
    }

    #[test]
    fn cached_ipv6_delta_gives_the_checksum_of_the_rewritten_packet() {
        let client = [
            0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x12, 0x34,
        ];
        let vip = [0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
        let snat = [0xfd, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
        let member = [
            0xfd, 0, 0, 0, 0, 2, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0x11,
        ];
        let mut udp = udp6(client, vip, 40_000, 80);
        let want = udp6(snat, member, 1_024, 8_080);
        let d = l4_delta6(
            &words(&client),
            &words(&vip),
            word(&udp),
            &words(&snat),
            &words(&member),
            word(&want),
        );
        let check = apply(half(&udp[6..]), d).to_ne_bytes();
        udp[6..8].copy_from_slice(&check);
        udp[..4].copy_from_slice(&want[..4]);
        assert_eq!(udp, want);
    }

    #[test]
    fn both_ways_of_a_set_and_the_bucket_come_from_independent_bits() {
        let mut sets = [0u32; 64];
        let mut buckets = [0u32; 64];
        for i in 0..65_536u32 {
            let h = hash(0x0a00_0001 + (i << 8), 0xc000_020a, 0x5000_409c);
            sets[(set_of(h) % 64) as usize] += 1;
            buckets[(bucket_of(h) % 64) as usize] += 1;
        }
        // 1,024 expected per cell: neither the set nor the bucket index clusters.
        for n in sets.iter().chain(&buckets) {
            assert!((800..1_250).contains(n), "{sets:?} {buckets:?}");
        }
    }
}
