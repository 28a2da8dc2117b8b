//! Counter updates: per-CPU cells without atomics for traffic, atomic gauges for active flows
//! (least connections and connection limits read them across CPUs).

use core::intrinsics::{AtomicOrdering, atomic_xadd, atomic_xsub};

use aya_ebpf::maps::{Array, PerCpuArray};
use lb_common::{
    drop::DropReason,
    stats::{FlowStats, PacketClass, PacketCounter},
};

use crate::maps::{LB_B_ACTIVE, LB_B_STATS, LB_DROPS, LB_L_ACTIVE, LB_L_STATS, LB_PKT_STATS};

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

/// Counts a packet by what was done with it.
#[inline(always)]
pub fn count_packet(class: PacketClass, bytes: u64) {
    bump(&LB_PKT_STATS, class.index(), bytes);
}

/// Counts a dropped packet, by reason.
#[inline(always)]
pub fn count_drop(reason: DropReason, bytes: u64) {
    bump(&LB_DROPS, reason.index(), bytes);
}

/// Adds a packet of a balanced flow to its listener's and member's counters.
#[inline(always)]
pub fn count_flow_packet(listener: u32, backend: u32, reply: bool, bytes: u64) {
    for (map, slot) in [(&LB_L_STATS, listener), (&LB_B_STATS, backend)] {
        if let Some(cell) = map.get_ptr_mut(slot) {
            // SAFETY: valid per-CPU cell from a successful lookup; only this CPU writes it.
            unsafe {
                if reply {
                    (*cell).packets_out += 1;
                    (*cell).bytes_out += bytes;
                } else {
                    (*cell).packets_in += 1;
                    (*cell).bytes_in += bytes;
                }
            }
        }
    }
}

#[inline(always)]
fn flow_event(map: &PerCpuArray<FlowStats>, slot: u32, opened: bool) {
    if let Some(cell) = map.get_ptr_mut(slot) {
        // SAFETY: valid per-CPU cell from a successful lookup; only this CPU writes it.
        unsafe {
            if opened {
                (*cell).opened += 1;
            } else {
                (*cell).closed += 1;
            }
        }
    }
}

// `core::sync::atomic` offers no read-modify-write on the BPF target; the intrinsics lower to
// BPF atomic add (`lock xadd`), which is what the kernel provides.
#[inline(always)]
fn gauge_add(map: &Array<u64>, slot: u32, up: bool) {
    if let Some(p) = map.get_ptr_mut(slot) {
        // SAFETY: an 8-byte aligned u64 cell from a successful array lookup; every writer uses
        // atomic operations.
        unsafe {
            if up {
                atomic_xadd::<u64, u64, { AtomicOrdering::Relaxed }>(p, 1);
            } else {
                atomic_xsub::<u64, u64, { AtomicOrdering::Relaxed }>(p, 1);
            }
        }
    }
}

#[inline(always)]
fn gauge(map: &Array<u64>, slot: u32) -> u64 {
    map.get_ptr(slot)
        // SAFETY: as in `gauge_add`. An aligned 8-byte load is single-copy atomic on BPF (the
        // "generic" BPF CPU has no atomic-load instruction for LLVM to select).
        .map_or(0, |p| unsafe { core::ptr::read_volatile(p) })
}

/// Current active flows of a listener.
#[inline(always)]
pub fn listener_active(listener: u32) -> u64 {
    gauge(&LB_L_ACTIVE, listener)
}

/// Current active flows of a backend slot.
#[inline(always)]
pub fn backend_active(backend: u32) -> u64 {
    gauge(&LB_B_ACTIVE, backend)
}

/// A new flow was accepted.
#[inline(always)]
pub fn flow_opened(listener: u32, backend: u32) {
    gauge_add(&LB_L_ACTIVE, listener, true);
    gauge_add(&LB_B_ACTIVE, backend, true);
    flow_event(&LB_L_STATS, listener, true);
    flow_event(&LB_B_STATS, backend, true);
}

/// A flow closed (FIN/RST) or expired; called once per flow.
#[inline(always)]
pub fn flow_closed(listener: u32, backend: u32) {
    gauge_add(&LB_L_ACTIVE, listener, false);
    gauge_add(&LB_B_ACTIVE, backend, false);
    flow_event(&LB_L_STATS, listener, false);
    flow_event(&LB_B_STATS, backend, false);
}
