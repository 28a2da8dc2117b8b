//! The flow table: both directions of every balanced flow, keyed by the 5-tuple as it arrives,
//! with the rewrite that turns it into the other side's view (full NAT).

use crate::pod;

/// Key of `LB_FLOWS`: the 5-tuple as seen on the wire, zero-padded. Ports in network order.
/// 4-byte aligned so the data plane copies addresses a word at a time (same layout).
#[repr(C, align(4))]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct FlowKey {
    pub src: [u8; 16],
    pub dst: [u8; 16],
    pub sport: u16,
    pub dport: u16,
    pub proto: u8,
    pub family: u8,
    pub _pad: [u8; 2],
}
const _: () = assert!(core::mem::size_of::<FlowKey>() == 40);
const _: () =
    assert!(core::mem::align_of::<FlowKey>() >= 4 && core::mem::align_of::<FlowValue>() >= 4);
const _: () = assert!(core::mem::offset_of!(FlowKey, dst) % 4 == 0);
const _: () = assert!(core::mem::offset_of!(FlowValue, new_dst) % 4 == 0);

/// Value of `LB_FLOWS`: the addresses and ports to write into a matching packet.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FlowValue {
    pub new_src: [u8; 16],
    pub new_dst: [u8; 16],
    /// Network byte order.
    pub new_sport: u16,
    /// Network byte order.
    pub new_dport: u16,
    /// Member slot in `LB_BACKENDS`.
    pub backend: u32,
    /// Listener slot.
    pub listener: u32,
    /// `FLOW_F_*` bits.
    pub flags: u8,
    pub _pad: [u8; 3],
    /// Idle timeout of the flow, in milliseconds (from the listener).
    pub idle_timeout_ms: u32,
    /// `bpf_ktime_get_coarse_ns()` (CLOCK_MONOTONIC at tick resolution) of the last packet.
    pub last_seen_ns: u64,
    /// Next-hop cache, so that a flow's packets skip the FIB lookup (see [`NH_CACHE_NS`]):
    /// egress interface of the last lookup, 0 when there is none.
    pub nh_ifindex: u32,
    /// Destination MAC then source MAC the last lookup gave.
    pub nh_mac: [u8; 12],
    /// When that lookup was made (same clock as `last_seen_ns`).
    pub nh_checked_ns: u64,
}
const _: () = assert!(core::mem::size_of::<FlowValue>() == 88);
const _: () = assert!(core::mem::offset_of!(FlowValue, nh_mac) % 4 == 0);

/// How long a flow reuses the next hop its last FIB lookup gave before asking again: route
/// and neighbour changes reach established flows within this time.
pub const NH_CACHE_NS: u64 = 1_000_000_000;
pod!(FlowKey, FlowValue);

/// The entry is the reply direction (member → client).
pub const FLOW_F_REPLY: u8 = 1 << 0;
/// TCP FIN or RST seen: the flow is closing and no longer counts as active.
pub const FLOW_F_CLOSED: u8 = 1 << 1;
/// Reply-direction entry of a flow whose client packets arrived VLAN-tagged: replies are
/// handed to `lb_tc_in` (`bpf_redirect_neigh`), so that the VLAN device re-tags them.
pub const FLOW_F_VLAN: u8 = 1 << 2;

/// Idle time after which a handshake in `LB_SYN_FLOWS` is forgotten (or the listener's idle
/// timeout, when shorter), in milliseconds. SYN retransmissions (1, 3, 7, 15 s after the
/// first) and SYN-ACKs refresh it.
pub const SYN_TIMEOUT_MS: u32 = 30_000;

/// The idle timeout that applies to an entry: `half_open` for entries of `LB_SYN_FLOWS`.
#[inline(always)]
#[must_use]
pub const fn idle_timeout_ns(v: &FlowValue, half_open: bool) -> u64 {
    let ms = if half_open && v.idle_timeout_ms > SYN_TIMEOUT_MS {
        SYN_TIMEOUT_MS
    } else {
        v.idle_timeout_ms
    };
    ms as u64 * 1_000_000
}
