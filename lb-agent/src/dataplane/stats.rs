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
