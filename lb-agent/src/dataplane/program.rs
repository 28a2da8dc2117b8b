//! Applies a desired state to the maps: plan (pure, on a copy of the slot tables), then write
//! only what differs from the last applied plan, in an order that never exposes a VIP whose
//! tables are not there yet: config → members → pool tables → VIPs; removals in reverse.

use aya::maps::{
    Array, HashMap, MapData,
    lpm_trie::{Key, LpmTrie},
};
use lb_common::{
    backend::{Backend, MAX_POOL_MEMBERS, PoolInfo, RING_SIZE, RR_SIZE},
    config::LbConfig,
    maps::{ACL, ADDRS, BACKENDS, CONFIG, POOL_MEMBERS, POOLS, RINGS, RR, VIPS},
    vip::{AclKey, AddrKey, VipInfo, VipKey},
};
use lb_proto::DesiredState;

use super::{
    Dataplane, addr_filter,
    plan::{Plan, PoolTables},
};
use crate::DataplaneError;

/// What an apply wrote.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ApplyReport {
    pub generation: u64,
    pub vips_written: usize,
    pub vips_removed: usize,
    pub members_written: usize,
    pub pools_written: usize,
}

impl Dataplane {
    /// Sets `CFG_F_*` bits (e.g. the fixture-test mode); effective at the next apply.
    pub fn set_config_flags(&mut self, flags: u32) {
        self.config_flags = flags;
    }

    /// Validates `state` completely, then programs the maps with the difference to what is
    /// applied. Re-applying the same state writes nothing.
    pub fn apply(&mut self, state: &DesiredState) -> Result<ApplyReport, DataplaneError> {
        state.validate()?;
        let mut planner = self.planner.clone();
        let plan = planner.plan(state, self.config_flags)?;
        let previous = self.applied.take();
        let report = self.write(&plan, previous.as_ref(), state.generation)?;
        if previous.as_ref() != Some(&plan) {
            // Cached flow translations were derived from the maps as they were.
            self.invalidate_flow_cache()?;
        }
        self.planner = planner;
        self.applied = Some(plan);
        Ok(report)
    }

    fn write(
        &mut self,
        plan: &Plan,
        old: Option<&Plan>,
        generation: u64,
    ) -> Result<ApplyReport, DataplaneError> {
        let mut report = ApplyReport {
            generation,
            ..ApplyReport::default()
        };
        if old.map(|o| &o.config) != Some(&plan.config) {
            array::<LbConfig>(self, CONFIG)?
                .set(0, plan.config, 0)
                .map_err(map_err(CONFIG))?;
        }
        {
            let mut backends = array::<Backend>(self, BACKENDS)?;
            for (&slot, b) in &plan.backends {
                if old.and_then(|o| o.backends.get(&slot)) != Some(b) {
                    backends.set(slot, *b, 0).map_err(map_err(BACKENDS))?;
                    report.members_written += 1;
                }
            }
        }
        for (&slot, tables) in &plan.pools {
            let before = old.and_then(|o| o.pools.get(&slot));
            if before != Some(tables) {
                self.write_pool(slot, tables, before)?;
                report.pools_written += 1;
            }
        }
        // Destination pre-filter: new addresses before the VIPs, stale ones after.
        let filter_slots = addr_filter::slots(&plan.addrs);
        let old_slots = old.map(|o| addr_filter::slots(&o.addrs));
        addr_filter::set_new(self, &filter_slots, old_slots.as_ref())?;
        let addrs_stale: Vec<AddrKey> = {
            let mut addrs = addr_map(self)?;
            for key in &plan.addrs {
                if !old.is_some_and(|o| o.addrs.contains(key)) {
                    addrs.insert(*key, 1, 0).map_err(map_err(ADDRS))?;
                }
            }
            match old {
                Some(o) => o.addrs.difference(&plan.addrs).copied().collect(),
                None => addrs
                    .keys()
                    .filter_map(Result::ok)
                    .filter(|k| !plan.addrs.contains(k))
                    .collect(),
            }
        };
        // allowed_cidrs before the VIPs that refer to them; stale entries after.
        let acl_stale: Vec<(u32, AclKey)> = {
            let mut acl = acl_map(self)?;
            for &(prefix, key) in &plan.acl {
                if !old.is_some_and(|o| o.acl.contains(&(prefix, key))) {
                    acl.insert(&Key::new(prefix, key), 1, 0)
                        .map_err(map_err(ACL))?;
                }
            }
            match old {
                Some(o) => o.acl.difference(&plan.acl).copied().collect(),
                None => acl
                    .keys()
                    .filter_map(Result::ok)
                    .map(|k| (k.prefix_len(), k.data()))
                    .filter(|e| !plan.acl.contains(e))
                    .collect(),
            }
        };
        {
            let mut vips = vip_map(self)?;
            for (key, info) in &plan.vips {
                if old.and_then(|o| o.vips.get(key)) != Some(info) {
                    vips.insert(*key, *info, 0).map_err(map_err(VIPS))?;
                    report.vips_written += 1;
                }
            }
            // VIPs no longer wanted: known from the last plan, or, when the maps were adopted
            // from a previous agent, read from the map itself.
            let stale: Vec<VipKey> = match old {
                Some(old) => old
                    .vips
                    .keys()
                    .filter(|k| !plan.vips.contains_key(k))
                    .copied()
                    .collect(),
                None => vips
                    .keys()
                    .filter_map(Result::ok)
                    .filter(|k| !plan.vips.contains_key(k))
                    .collect(),
            };
            for key in &stale {
                vips.remove(key).map_err(map_err(VIPS))?;
                report.vips_removed += 1;
            }
        }
        if !addrs_stale.is_empty() {
            let mut addrs = addr_map(self)?;
            for key in &addrs_stale {
                addrs.remove(key).map_err(map_err(ADDRS))?;
            }
            addr_filter::clear_stale(self, &filter_slots, &addrs_stale)?;
        }
        if !acl_stale.is_empty() {
            let mut acl = acl_map(self)?;
            for (prefix, key) in acl_stale {
                acl.remove(&Key::new(prefix, key)).map_err(map_err(ACL))?;
            }
        }
        if let Some(old) = old {
            // Pools and members that went away: empty their rows (slots may be reused later).
            for (&slot, _) in old
                .pools
                .iter()
                .filter(|(s, _)| !plan.pools.contains_key(s))
            {
                array::<PoolInfo>(self, POOLS)?
                    .set(slot, PoolInfo::default(), 0)
                    .map_err(map_err(POOLS))?;
            }
            let mut backends = array::<Backend>(self, BACKENDS)?;
            for (&slot, _) in old
                .backends
                .iter()
                .filter(|(s, _)| !plan.backends.contains_key(s))
            {
                backends
                    .set(slot, Backend::default(), 0)
                    .map_err(map_err(BACKENDS))?;
            }
        }
        Ok(report)
    }

    /// Writes one pool's tables: members, RR row and ring row first, the sizes last.
    fn write_pool(
        &mut self,
        slot: u32,
        t: &PoolTables,
        before: Option<&PoolTables>,
    ) -> Result<(), DataplaneError> {
        {
            let mut members = array::<u32>(self, POOL_MEMBERS)?;
            for (i, &b) in (0u32..).zip(&t.members) {
                members
                    .set(slot * MAX_POOL_MEMBERS + i, b, 0)
                    .map_err(map_err(POOL_MEMBERS))?;
            }
        }
        {
            let mut rr = array::<u32>(self, RR)?;
            for (i, &b) in (0u32..).zip(&t.rr) {
                rr.set(slot * RR_SIZE + i, b, 0).map_err(map_err(RR))?;
            }
        }
        if !t.ring.is_empty() && before.map(|b| &b.ring) != Some(&t.ring) {
            let mut rings = array::<u32>(self, RINGS)?;
            let old_ring = before.map(|b| b.ring.as_slice()).unwrap_or(&[]);
            for (i, &b) in (0u32..).zip(&t.ring) {
                if old_ring.get(i as usize) != Some(&b) {
                    rings
                        .set(slot * RING_SIZE + i, b, 0)
                        .map_err(map_err(RINGS))?;
                }
            }
        }
        array::<PoolInfo>(self, POOLS)?
            .set(slot, t.info, 0)
            .map_err(map_err(POOLS))?;
        Ok(())
    }
}

pub(super) fn map_err(name: &'static str) -> impl Fn(aya::maps::MapError) -> DataplaneError {
    move |source| DataplaneError::Map { name, source }
}

pub(super) fn array<'a, V: aya::Pod>(
    dp: &'a mut Dataplane,
    name: &'static str,
) -> Result<Array<&'a mut MapData, V>, DataplaneError> {
    let map = dp
        .ebpf
        .map_mut(name)
        .ok_or(DataplaneError::MissingMap { name })?;
    Array::try_from(map).map_err(map_err(name))
}

fn acl_map(dp: &mut Dataplane) -> Result<LpmTrie<&mut MapData, AclKey, u8>, DataplaneError> {
    let map = dp
        .ebpf
        .map_mut(ACL)
        .ok_or(DataplaneError::MissingMap { name: ACL })?;
    LpmTrie::try_from(map).map_err(map_err(ACL))
}

fn addr_map(dp: &mut Dataplane) -> Result<HashMap<&mut MapData, AddrKey, u8>, DataplaneError> {
    let map = dp
        .ebpf
        .map_mut(ADDRS)
        .ok_or(DataplaneError::MissingMap { name: ADDRS })?;
    HashMap::try_from(map).map_err(map_err(ADDRS))
}

fn vip_map(dp: &mut Dataplane) -> Result<HashMap<&mut MapData, VipKey, VipInfo>, DataplaneError> {
    let map = dp
        .ebpf
        .map_mut(VIPS)
        .ok_or(DataplaneError::MissingMap { name: VIPS })?;
    HashMap::try_from(map).map_err(map_err(VIPS))
}

impl Dataplane {
    /// Inserts a flow-table entry as the data plane would have created it. Benchmarks seed
    /// large tables with it (creating 10,000 flows one BPF_PROG_TEST_RUN call at a time costs
    /// a kernel dispatcher switch per call).
    pub fn insert_flow(
        &mut self,
        key: &lb_common::flow::FlowKey,
        value: &lb_common::flow::FlowValue,
    ) -> Result<(), DataplaneError> {
        let map = self
            .ebpf
            .map_mut(lb_common::maps::FLOWS)
            .ok_or(DataplaneError::MissingMap {
                name: lb_common::maps::FLOWS,
            })?;
        let mut flows: HashMap<&mut MapData, lb_common::flow::FlowKey, lb_common::flow::FlowValue> =
            HashMap::try_from(map).map_err(map_err(lb_common::maps::FLOWS))?;
        flows
            .insert(*key, *value, 0)
            .map_err(map_err(lb_common::maps::FLOWS))?;
        self.invalidate_flow_cache()
    }
}
