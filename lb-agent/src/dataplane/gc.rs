//! Flow-table garbage collection by the agent: removes flows idle past their listener's
//! timeout (both directions; handshakes in `LB_SYN_FLOWS` after at most `SYN_TIMEOUT_MS`) and recounts the active-flow gauges from what remains, so that
//! least connections and connection limits never drift (flows that ended without FIN/RST,
//! UDP flows, LRU evictions). The kernel only replaces an idle flow when its client sends
//! again; this pass is what forgets the others.
//!
//! The recount races with flows the kernel opens during the pass: such a flow is missing from
//! the gauge until the next pass (the agent runs one every few seconds).

use std::collections::HashMap as StdHashMap;

use aya::maps::{Array, HashMap, MapData};
use lb_common::{
    flow::{FLOW_F_CLOSED, FLOW_F_REPLY, FlowKey, FlowValue, idle_timeout_ns},
    maps::{BACKEND_ACTIVE, FLOWS, LISTENER_ACTIVE, SYN_FLOWS},
};

use super::Dataplane;
use crate::DataplaneError;

/// What one pass did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GcReport {
    /// Entries looked at (both directions).
    pub scanned: usize,
    /// Entries removed.
    pub removed: usize,
    /// Flows counted as active after the pass.
    pub active: u64,
}

/// CLOCK_MONOTONIC in nanoseconds: the clock of `bpf_ktime_get_ns()`.
#[must_use]
pub fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime with a valid clock id and out-pointer; it cannot fail for
    // CLOCK_MONOTONIC.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &raw mut ts) };
    u64::try_from(ts.tv_sec).unwrap_or(0) * 1_000_000_000 + u64::try_from(ts.tv_nsec).unwrap_or(0)
}

fn expired(v: &FlowValue, now: u64, half_open: bool) -> bool {
    now.saturating_sub(v.last_seen_ns) > idle_timeout_ns(v, half_open)
}

/// Active flows per listener and per member slot, as recounted by a pass.
#[derive(Default)]
struct Recount {
    listeners: StdHashMap<u32, u64>,
    backends: StdHashMap<u32, u64>,
}

impl Dataplane {
    /// One garbage-collection pass at time `now` (see [`monotonic_ns`]) over the established
    /// flows (`LB_FLOWS`) and the handshakes (`LB_SYN_FLOWS`, which never count as active).
    pub fn collect_flows(&mut self, now: u64) -> Result<GcReport, DataplaneError> {
        let mut report = GcReport::default();
        let mut recount = Recount::default();
        self.collect_table(FLOWS, now, &mut report, Some(&mut recount))?;
        self.collect_table(SYN_FLOWS, now, &mut report, None)?;
        write_gauges(self, LISTENER_ACTIVE, &recount.listeners)?;
        write_gauges(self, BACKEND_ACTIVE, &recount.backends)?;
        if report.removed > 0 {
            self.invalidate_flow_cache()?;
        }
        Ok(report)
    }

    /// Removes the expired entries of one flow table; counts the active flows of `LB_FLOWS`
    /// (`recount`), none for the handshake table (`recount` is `None`).
    fn collect_table(
        &mut self,
        name: &'static str,
        now: u64,
        report: &mut GcReport,
        mut recount: Option<&mut Recount>,
    ) -> Result<(), DataplaneError> {
        let map_err = |source| DataplaneError::Map { name, source };
        let map = self
            .ebpf
            .map_mut(name)
            .ok_or(DataplaneError::MissingMap { name })?;
        let mut flows: HashMap<&mut MapData, FlowKey, FlowValue> =
            HashMap::try_from(map).map_err(map_err)?;
        let half_open = recount.is_none();
        let mut doomed = Vec::new();
        // Entries the kernel evicts or replaces while we iterate just end the walk early
        // for them; errors on single entries are skipped, not fatal.
        for (key, value) in flows.iter().filter_map(Result::ok) {
            report.scanned += 1;
            if expired(&value, now, half_open) {
                doomed.push(key);
                continue;
            }
            if let Some(recount) = recount.as_deref_mut()
                && value.flags & (FLOW_F_REPLY | FLOW_F_CLOSED) == 0
            {
                *recount.listeners.entry(value.listener).or_default() += 1;
                *recount.backends.entry(value.backend).or_default() += 1;
                report.active += 1;
            }
        }
        for key in &doomed {
            match flows.remove(key) {
                Ok(()) => report.removed += 1,
                // Already gone (evicted or replaced by the kernel meanwhile).
                Err(aya::maps::MapError::KeyNotFound) => {}
                Err(e) => return Err(map_err(e)),
            }
        }
        Ok(())
    }
}

/// Sets every slot of a gauge array to the recounted value (0 for slots without flows).
fn write_gauges(
    dp: &mut Dataplane,
    name: &'static str,
    counts: &StdHashMap<u32, u64>,
) -> Result<(), DataplaneError> {
    let map = dp
        .ebpf
        .map_mut(name)
        .ok_or(DataplaneError::MissingMap { name })?;
    let mut gauges: Array<&mut MapData, u64> =
        Array::try_from(map).map_err(|source| DataplaneError::Map { name, source })?;
    for slot in 0..gauges.len() {
        let want = counts.get(&slot).copied().unwrap_or(0);
        let have = gauges
            .get(&slot, 0)
            .map_err(|source| DataplaneError::Map { name, source })?;
        if have != want {
            gauges
                .set(slot, want, 0)
                .map_err(|source| DataplaneError::Map { name, source })?;
        }
    }
    Ok(())
}
