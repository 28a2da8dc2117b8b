//! Per-CPU counter bumps: no atomics, no locks; the agent sums the CPUs when it reads.

use aya_ebpf::maps::PerCpuArray;
use lb_common::{drop::DropReason, stats::PacketClass, stats::PacketCounter};

use crate::maps::{LB_DROPS, LB_PKT_STATS};

#[inline(always)]
fn bump(map: &PerCpuArray<PacketCounter>, slot: u32, bytes: u64) {
    if let Some(cell) = map.get_ptr_mut(slot) {
        // SAFETY: the pointer comes from a successful lookup in a per-CPU array, so it is valid
        // and only this CPU writes it while the program runs.
        unsafe {
            (*cell).packets += 1;
            (*cell).bytes += bytes;
        }
    }
}

/// Counts a packet the program let through, by class.
#[inline(always)]
pub fn count_packet(class: PacketClass, bytes: u64) {
    bump(&LB_PKT_STATS, class.index(), bytes);
}

/// Counts a dropped packet, by reason.
#[inline(always)]
pub fn count_drop(reason: DropReason, bytes: u64) {
    bump(&LB_DROPS, reason.index(), bytes);
}
