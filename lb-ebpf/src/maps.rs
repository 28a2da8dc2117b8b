//! Every map of the data plane, in one inventory. Names, sizes and value types come from
//! `lb_common::maps`; the static's identifier is the map name the agent opens.

use aya_ebpf::{macros::map, maps::PerCpuArray};
use lb_common::{
    maps::{DROPS_SIZE, PKT_STATS_SIZE},
    stats::PacketCounter,
};

/// Packets/bytes per `PacketClass`. Writer: `lb_xdp`; reader: agent (sums CPUs).
#[map]
pub static LB_PKT_STATS: PerCpuArray<PacketCounter> =
    PerCpuArray::with_max_entries(PKT_STATS_SIZE, 0);

/// Packets/bytes dropped per `DropReason`. Writer: `lb_xdp`; reader: agent (sums CPUs).
#[map]
pub static LB_DROPS: PerCpuArray<PacketCounter> = PerCpuArray::with_max_entries(DROPS_SIZE, 0);
