//! Inventory of the kernel maps: names and sizes, shared by `lb-ebpf` (which declares them) and
//! `lb-agent` (which opens them by name). The kernel keeps at most 15 bytes of a map name.

use crate::{
    backend::{MAX_POOL_MEMBERS, RING_SIZE, RR_SIZE},
    drop::DropReason,
    stats::PacketClass,
};

/// Per-CPU array of `PacketCounter`, one slot per [`PacketClass`]. Writer: XDP; reader: agent.
pub const PKT_STATS: &str = "LB_PKT_STATS";
/// Per-CPU array of `PacketCounter`, one slot per [`DropReason`]. Writer: XDP; reader: agent.
pub const DROPS: &str = "LB_DROPS";
/// Hash `VipKey` → `VipInfo`. Writer: agent; reader: XDP.
pub const VIPS: &str = "LB_VIPS";
/// Array of `Backend` (slot 0 unused). Writer: agent; reader: XDP.
pub const BACKENDS: &str = "LB_BACKENDS";
/// Array of `PoolInfo`. Writer: agent; reader: XDP.
pub const POOLS: &str = "LB_POOLS";
/// Array of backend slots, `MAX_POOLS` rows of `RING_SIZE` (Maglev). Writer: agent.
pub const RINGS: &str = "LB_RINGS";
/// Array of backend slots, `MAX_POOLS` rows of `RR_SIZE` (weighted round robin). Writer: agent.
pub const RR: &str = "LB_RR";
/// Per-CPU array of round-robin cursors, one per pool. Writer: XDP.
pub const RR_POS: &str = "LB_RR_POS";
/// Array of backend slots, `MAX_POOLS` rows of `MAX_POOL_MEMBERS` (least connections).
pub const POOL_MEMBERS: &str = "LB_POOL_MEMBERS";
/// LRU hash `FlowKey` → `FlowValue`, both directions of each flow. Writer: XDP (+ agent GC).
pub const FLOWS: &str = "LB_FLOWS";
/// LRU hash `FlowKey` → `FlowValue`: both directions of new flows — TCP in its handshake (SYN
/// seen, client's ACK not yet), UDP not answered by its member yet. A flood of either churns
/// this table, never [`FLOWS`]; the client's first ACK (TCP) or the member's first answer
/// (UDP) moves both entries to [`FLOWS`]. Writer: XDP (+ agent GC).
pub const SYN_FLOWS: &str = "LB_SYN_FLOWS";
/// Array of `FlowCacheSet`, `flow_cache::FLOW_CACHE_SETS` per CPU (CPU-major; the agent sets
/// its size for the host's online CPUs): established IPv4 flows the fast path translates
/// without a hash lookup (see `flow_cache`). Writer and reader: XDP.
pub const FLOW_CACHE: &str = "LB_FLOW_CACHE";
/// Array of `CachedFlow6`, `flow_cache::FLOW_CACHE6_ENTRIES` per CPU (CPU-major, sized like
/// [`FLOW_CACHE`]): established IPv6 flows. Writer and reader: XDP.
pub const FLOW_CACHE6: &str = "LB_FLOW_CACHE6";
/// Array of u32 generations (`flow_cache::FLOW_GEN_SIZE`) that invalidate [`FLOW_CACHE`] and
/// [`FLOW_CACHE6`] entries. Writers: XDP (buckets, atomic) and agent (epoch).
pub const FLOW_GEN: &str = "LB_FLOW_GEN";
/// Array of one `LbConfig`. Writer: agent; reader: XDP.
pub const CONFIG: &str = "LB_CONFIG";
/// Array of u64 active-flow gauges per listener (atomic). Writer: XDP (+ agent GC).
pub const LISTENER_ACTIVE: &str = "LB_L_ACTIVE";
/// Array of u64 active-flow gauges per backend slot (atomic). Writer: XDP (+ agent GC).
pub const BACKEND_ACTIVE: &str = "LB_B_ACTIVE";
/// Per-CPU array of `FlowStats` per listener. Writer: XDP; reader: agent.
pub const LISTENER_STATS: &str = "LB_L_STATS";
/// Per-CPU array of `FlowStats` per backend slot. Writer: XDP; reader: agent.
pub const BACKEND_STATS: &str = "LB_B_STATS";
/// Hash `AddrKey` → u8: VIP and SNAT addresses (destination pre-filter). Writer: agent.
pub const ADDRS: &str = "LB_ADDRS";
/// Entries of [`ADDRS`]: every VIP plus the two SNAT addresses.
pub const ADDRS_SIZE: u32 = MAX_VIPS + 2;
/// Array u8 indexed by [`crate::vip::addr_filter_slot`]: 1 where some entry of [`ADDRS`]
/// falls. The first test of every packet: an array read instead of a hash lookup, so traffic
/// to other destinations costs no hash at all; a hit is confirmed by the exact lookups that
/// follow (flow, listener, or [`ADDRS`] itself for fragments). Writer: agent.
pub const ADDR_FILTER: &str = "LB_ADDR_FILTER";
/// Slots of [`ADDR_FILTER`] (64 KiB): with 1,026 addresses at most, a random other destination
/// hits a set slot with probability below 2 %.
pub const ADDR_FILTER_SIZE: u32 = 1 << 16;
const _: () = assert!(ADDR_FILTER_SIZE.is_power_of_two());
/// LPM trie `AclKey` → u8, the listeners' `allowed_cidrs`. Writer: agent; reader: XDP.
pub const ACL: &str = "LB_ACL";
/// `allowed_cidrs` entries per host, all listeners together.
pub const ACL_SIZE: u32 = 16_384;

pub const PKT_STATS_SIZE: u32 = PacketClass::COUNT;
pub const DROPS_SIZE: u32 = DropReason::COUNT;
/// Listeners (VIP:port:proto) per host.
pub const MAX_VIPS: u32 = 1024;
/// Listener slots (same bound as VIPs).
pub const MAX_LISTENERS: u32 = MAX_VIPS;
/// Member slots per host (slot 0 unused).
pub const MAX_BACKENDS: u32 = 4096;
/// Pools per host: each costs `RING_SIZE` × 4 bytes (256 KiB) in `LB_RINGS`.
pub const MAX_POOLS: u32 = 64;
pub const RINGS_SIZE: u32 = MAX_POOLS * RING_SIZE;
pub const RR_TABLE_SIZE: u32 = MAX_POOLS * RR_SIZE;
pub const POOL_MEMBERS_SIZE: u32 = MAX_POOLS * MAX_POOL_MEMBERS;
/// Default flow-table entries (two per flow); the agent can change it at load time.
pub const FLOWS_SIZE: u32 = 262_144;
/// Default entries of [`SYN_FLOWS`] (two per new flow: 32,768 new flows in flight).
pub const SYN_FLOWS_SIZE: u32 = 65_536;

/// Name of the XDP entry point in the object.
pub const XDP_PROGRAM: &str = "lb_xdp";
/// TC ingress program that forwards translated packets whose next hop needs resolving.
pub const TC_PROGRAM: &str = "lb_tc_in";
/// XDP_PASS program: the benchmark floor, and the peer program veth needs for redirects.
pub const PASS_PROGRAM: &str = "lb_pass";
/// XDP_TX program: the floor of the live packet-rate benchmark.
pub const TX_PROGRAM: &str = "lb_tx";
/// XDP_DROP program: the sink at the far ends of the live benchmark's veths, where a wire
/// would take the frames.
pub const DROP_PROGRAM: &str = "lb_drop";
/// Redirect program: the redirect floor of the live benchmark (every frame to the interface
/// in [`FLOOR_REDIRECT`], nothing else).
pub const REDIRECT_PROGRAM: &str = "lb_redirect";
/// `sk_lookup` program that hands connections to VIP:port listed in [`STEER`] to one socket:
/// the alternative to a socket per VIP that the benchmark measures (not attached by the agent).
pub const STEER_PROGRAM: &str = "lb_steer";
/// Array of one u32: the ifindex `lb_redirect` sends to. Writer: benchmark.
pub const FLOOR_REDIRECT: &str = "LB_FLOOR_REDIR";

/// Array of one u64: the secret of [`crate::nh_mark`] (56 random bits). Writer: agent, at
/// load; readers: XDP and TC.
pub const NH_MARK: &str = "LB_NH_MARK";

/// Hash `VipKey` → index in [`STEER_SOCKS`]: the listeners `lb_steer` hands to one socket.
/// Writer: benchmark (the steering comparison, `docs/proxy.md`); reader: `lb_steer`.
pub const STEER: &str = "LB_STEER";
/// Sockmap of the sockets `lb_steer` hands connections to. Writer: benchmark.
pub const STEER_SOCKS: &str = "LB_STEER_SOCKS";
/// Entries of [`STEER_SOCKS`].
pub const STEER_SOCKS_SIZE: u32 = 64;

/// Every map name, for the length check and for pin clean-up.
pub const ALL_MAPS: [&str; 26] = [
    PKT_STATS,
    DROPS,
    VIPS,
    BACKENDS,
    POOLS,
    RINGS,
    RR,
    RR_POS,
    POOL_MEMBERS,
    FLOWS,
    SYN_FLOWS,
    FLOW_CACHE,
    FLOW_CACHE6,
    FLOW_GEN,
    CONFIG,
    LISTENER_ACTIVE,
    BACKEND_ACTIVE,
    LISTENER_STATS,
    BACKEND_STATS,
    ACL,
    ADDRS,
    ADDR_FILTER,
    FLOOR_REDIRECT,
    NH_MARK,
    STEER,
    STEER_SOCKS,
];

/// Longest map name the kernel stores without truncation.
pub const MAX_MAP_NAME: usize = 15;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn map_names_fit_the_kernel_limit_and_are_prefixed() {
        for name in ALL_MAPS {
            assert!(
                name.len() <= MAX_MAP_NAME,
                "{name} is longer than {MAX_MAP_NAME} bytes"
            );
            assert!(name.starts_with("LB_"), "{name} lacks the LB_ prefix");
        }
    }

    #[test]
    fn program_names_fit_the_kernel_limit() {
        // BPF_OBJ_NAME_LEN is 16 including the NUL.
        for name in [
            XDP_PROGRAM,
            TC_PROGRAM,
            PASS_PROGRAM,
            TX_PROGRAM,
            DROP_PROGRAM,
            REDIRECT_PROGRAM,
        ] {
            assert!(name.len() <= MAX_MAP_NAME, "{name}");
        }
    }
}
