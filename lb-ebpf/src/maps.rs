//! Every map of the data plane, in one inventory. Names, sizes and value types come from
//! `lb_common::maps`; the static's identifier is the map name the agent opens.

use aya_ebpf::{
    macros::map,
    maps::{Array, HashMap, LpmTrie, LruHashMap, PerCpuArray, SockMap},
};
use lb_common::{
    backend::{Backend, PoolInfo},
    config::LbConfig,
    flow::{FlowKey, FlowValue},
    flow_cache::{CachedFlow6, FLOW_CACHE_SETS, FLOW_CACHE6_ENTRIES, FLOW_GEN_SIZE, FlowCacheSet},
    maps::{
        ACL_SIZE, ADDR_FILTER_SIZE, ADDRS_SIZE, DROPS_SIZE, FLOWS_SIZE, MAX_BACKENDS,
        MAX_LISTENERS, MAX_POOLS, MAX_VIPS, PKT_STATS_SIZE, POOL_MEMBERS_SIZE, RINGS_SIZE,
        RR_TABLE_SIZE, STEER_SOCKS_SIZE, SYN_FLOWS_SIZE,
    },
    stats::{FlowStats, PacketCounter},
    vip::{AclKey, AddrKey, VipInfo, VipKey},
};

/// Packets/bytes per `PacketClass`. Writer: `lb_xdp`; reader: agent (sums CPUs).
#[map]
pub static LB_PKT_STATS: PerCpuArray<PacketCounter> =
    PerCpuArray::with_max_entries(PKT_STATS_SIZE, 0);

/// Packets/bytes dropped per `DropReason`. Writer: `lb_xdp`; reader: agent (sums CPUs).
#[map]
pub static LB_DROPS: PerCpuArray<PacketCounter> = PerCpuArray::with_max_entries(DROPS_SIZE, 0);

/// Listeners by (VIP, port, protocol). Writer: agent.
#[map]
pub static LB_VIPS: HashMap<VipKey, VipInfo> = HashMap::with_max_entries(MAX_VIPS, 0);

/// Members by slot (slot 0 unused). Writer: agent.
#[map]
pub static LB_BACKENDS: Array<Backend> = Array::with_max_entries(MAX_BACKENDS, 0);

/// Pools by slot. Writer: agent.
#[map]
pub static LB_POOLS: Array<PoolInfo> = Array::with_max_entries(MAX_POOLS, 0);

/// Maglev rings, one row of `RING_SIZE` backend slots per pool. Writer: agent.
#[map]
pub static LB_RINGS: Array<u32> = Array::with_max_entries(RINGS_SIZE, 0);

/// Weighted round-robin tables, one row of `RR_SIZE` backend slots per pool. Writer: agent.
#[map]
pub static LB_RR: Array<u32> = Array::with_max_entries(RR_TABLE_SIZE, 0);

/// Round-robin cursor per pool, per CPU. Writer: `lb_xdp`.
#[map]
pub static LB_RR_POS: PerCpuArray<u32> = PerCpuArray::with_max_entries(MAX_POOLS, 0);

/// Members eligible for new flows, one row of `MAX_POOL_MEMBERS` per pool. Writer: agent.
#[map]
pub static LB_POOL_MEMBERS: Array<u32> = Array::with_max_entries(POOL_MEMBERS_SIZE, 0);

/// Both directions of every flow. Writer: `lb_xdp` (agent for expiry).
#[map]
pub static LB_FLOWS: LruHashMap<FlowKey, FlowValue> = LruHashMap::with_max_entries(FLOWS_SIZE, 0);

/// Both directions of TCP flows in their handshake; promoted to `LB_FLOWS` by the client's
/// first ACK, so that SYN floods never evict established flows. Writer: `lb_xdp`.
#[map]
pub static LB_SYN_FLOWS: LruHashMap<FlowKey, FlowValue> =
    LruHashMap::with_max_entries(SYN_FLOWS_SIZE, 0);

/// Established IPv4 flows: `FLOW_CACHE_SETS` sets per CPU, CPU by CPU (see `fast.rs`); the
/// agent sizes it for the host's CPUs at load. Writer and reader: `lb_xdp`.
#[map]
pub static LB_FLOW_CACHE: Array<FlowCacheSet> = Array::with_max_entries(FLOW_CACHE_SETS, 0);

/// Established IPv6 flows: `FLOW_CACHE6_ENTRIES` entries per CPU, CPU by CPU (see `fast.rs`);
/// sized by the agent like `LB_FLOW_CACHE`. Writer and reader: `lb_xdp`.
#[map]
pub static LB_FLOW_CACHE6: Array<CachedFlow6> = Array::with_max_entries(FLOW_CACHE6_ENTRIES, 0);

/// Generations of the flow cache: buckets (bumped by `lb_xdp`) and the agent's epoch.
#[map]
pub static LB_FLOW_GEN: Array<u32> = Array::with_max_entries(FLOW_GEN_SIZE, 0);

/// Host settings (one entry). Writer: agent.
#[map]
pub static LB_CONFIG: Array<LbConfig> = Array::with_max_entries(1, 0);

/// Active flows per listener (atomic gauge). Writer: `lb_xdp`.
#[map]
pub static LB_L_ACTIVE: Array<u64> = Array::with_max_entries(MAX_LISTENERS, 0);

/// Active flows per backend slot (atomic gauge). Writer: `lb_xdp`.
#[map]
pub static LB_B_ACTIVE: Array<u64> = Array::with_max_entries(MAX_BACKENDS, 0);

/// Traffic per listener. Writer: `lb_xdp`; reader: agent (sums CPUs).
#[map]
pub static LB_L_STATS: PerCpuArray<FlowStats> = PerCpuArray::with_max_entries(MAX_LISTENERS, 0);

/// Traffic per backend slot. Writer: `lb_xdp`; reader: agent (sums CPUs).
#[map]
pub static LB_B_STATS: PerCpuArray<FlowStats> = PerCpuArray::with_max_entries(MAX_BACKENDS, 0);

/// Listeners' `allowed_cidrs` (longest-prefix match on listener + source). Writer: agent.
#[map]
pub static LB_ACL: LpmTrie<AclKey, u8> = LpmTrie::with_max_entries(ACL_SIZE, 0);

/// VIP and SNAT addresses, exact: fragments and unparsable packets are dropped only when they
/// are addressed to one of them. Writer: agent.
#[map]
pub static LB_ADDRS: HashMap<AddrKey, u8> = HashMap::with_max_entries(ADDRS_SIZE, 0);

/// Superset test of `LB_ADDRS` by destination (see `lb_common::maps::ADDR_FILTER`): packets to
/// other destinations skip every hash lookup. Writer: agent.
#[map]
pub static LB_ADDR_FILTER: Array<u8> = Array::with_max_entries(ADDR_FILTER_SIZE, 0);

/// The interface `lb_redirect` (a benchmark floor) sends every frame to. Writer: benchmark.
#[map]
pub static LB_FLOOR_REDIR: Array<u32> = Array::with_max_entries(1, 0);

/// The secret of the next-hop mark (`lb_common::nh_mark`). Writer: agent; readers: `lb_xdp`,
/// `lb_tc_in`.
#[map]
pub static LB_NH_MARK: Array<u64> = Array::with_max_entries(1, 0);

/// Listeners (VIP, port, protocol) `lb_steer` hands to a socket of `LB_STEER_SOCKS`.
/// Writer: benchmark.
#[map]
pub static LB_STEER: HashMap<VipKey, u32> = HashMap::with_max_entries(MAX_VIPS, 0);

/// The sockets `lb_steer` hands connections to. Writer: benchmark.
#[map]
pub static LB_STEER_SOCKS: SockMap = SockMap::with_max_entries(STEER_SOCKS_SIZE, 0);
