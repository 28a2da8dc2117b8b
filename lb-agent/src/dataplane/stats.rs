//! Reads the per-CPU counter maps and sums the CPUs into one [`Counters`] snapshot.

use aya::maps::{MapData, PerCpuArray};
use lb_common::{
    drop::DropReason,
    maps::{DROPS, PKT_STATS},
    stats::{PacketClass, PacketCounter},
};

use super::Dataplane;
use crate::DataplaneError;

/// One snapshot of the data plane's global counters, summed over CPUs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    classes: [PacketCounter; PacketClass::COUNT as usize],
    drops: [PacketCounter; DropReason::COUNT as usize],
}

impl Counters {
    /// Packets passed, by class.
    #[must_use]
    pub fn class(&self, class: PacketClass) -> PacketCounter {
        self.classes[class.index() as usize]
    }

    /// Packets dropped, by reason.
    #[must_use]
    pub fn dropped(&self, reason: DropReason) -> PacketCounter {
        self.drops[reason.index() as usize]
    }

    /// All drops together.
    #[must_use]
    pub fn total_dropped(&self) -> PacketCounter {
        self.drops
            .iter()
            .fold(PacketCounter::default(), |a, b| a.add(*b))
    }
}

impl Dataplane {
    /// Reads every counter (one map lookup per slot; not for per-packet use).
    pub fn counters(&self) -> Result<Counters, DataplaneError> {
        let mut counters = Counters::default();
        read_into(self, PKT_STATS, &mut counters.classes)?;
        read_into(self, DROPS, &mut counters.drops)?;
        Ok(counters)
    }
}

fn read_into(
    dp: &Dataplane,
    name: &'static str,
    out: &mut [PacketCounter],
) -> Result<(), DataplaneError> {
    let map = dp
        .ebpf
        .map(name)
        .ok_or(DataplaneError::MissingMap { name })?;
    let array: PerCpuArray<&MapData, PacketCounter> =
        PerCpuArray::try_from(map).map_err(|source| DataplaneError::Map { name, source })?;
    for (slot, cell) in (0u32..).zip(out.iter_mut()) {
        let per_cpu = array
            .get(&slot, 0)
            .map_err(|source| DataplaneError::Map { name, source })?;
        *cell = per_cpu
            .iter()
            .fold(PacketCounter::default(), |a, b| a.add(*b));
    }
    Ok(())
}

/// Traffic and flow counters of one listener or member, summed over CPUs, with the active-flow
/// gauge the kernel keeps.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ObjectStats {
    pub traffic: lb_common::stats::FlowStats,
    pub active: u64,
}

impl Dataplane {
    /// Counters of a listener of the applied state.
    pub fn listener_stats(&self, id: &str) -> Result<Option<ObjectStats>, DataplaneError> {
        let Some(slot) = self.planner.listener_slot(id) else {
            return Ok(None);
        };
        object_stats(
            self,
            lb_common::maps::LISTENER_STATS,
            lb_common::maps::LISTENER_ACTIVE,
            slot,
        )
        .map(Some)
    }

    /// Counters of a member of the applied state.
    pub fn member_stats(&self, id: &str) -> Result<Option<ObjectStats>, DataplaneError> {
        let Some(slot) = self.planner.member_slot(id) else {
            return Ok(None);
        };
        object_stats(
            self,
            lb_common::maps::BACKEND_STATS,
            lb_common::maps::BACKEND_ACTIVE,
            slot,
        )
        .map(Some)
    }
}

fn object_stats(
    dp: &Dataplane,
    stats: &'static str,
    active: &'static str,
    slot: u32,
) -> Result<ObjectStats, DataplaneError> {
    use lb_common::stats::FlowStats;
    let map = dp
        .ebpf
        .map(stats)
        .ok_or(DataplaneError::MissingMap { name: stats })?;
    let per_cpu: PerCpuArray<&MapData, FlowStats> =
        PerCpuArray::try_from(map).map_err(|source| DataplaneError::Map {
            name: stats,
            source,
        })?;
    let traffic = per_cpu
        .get(&slot, 0)
        .map_err(|source| DataplaneError::Map {
            name: stats,
            source,
        })?
        .iter()
        .fold(FlowStats::default(), |a, b| a.add(*b));
    let map = dp
        .ebpf
        .map(active)
        .ok_or(DataplaneError::MissingMap { name: active })?;
    let gauges: aya::maps::Array<&MapData, u64> =
        aya::maps::Array::try_from(map).map_err(|source| DataplaneError::Map {
            name: active,
            source,
        })?;
    let active = gauges.get(&slot, 0).map_err(|source| DataplaneError::Map {
        name: active,
        source,
    })?;
    Ok(ObjectStats { traffic, active })
}
