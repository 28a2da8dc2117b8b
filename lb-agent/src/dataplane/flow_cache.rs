//! The agent's side of the data plane's flow cache (`lb_common::flow_cache`): it
//! bumps the epoch in `LB_FLOW_GEN` whenever it deletes or writes flow entries or changes
//! the maps a cached translation was derived from, so that no CPU keeps using such an entry.

use aya::maps::{Array, MapData};
use lb_common::{
    flow_cache::{CachedFlow, CachedFlow6, FLOW_GEN_EPOCH, FlowCacheSet},
    maps::{FLOW_CACHE, FLOW_CACHE6, FLOW_GEN},
};

use super::{
    Dataplane,
    program::{array, map_err},
};
use crate::DataplaneError;

impl Dataplane {
    /// Invalidates every cached flow translation on every CPU (the next packet of each flow
    /// takes the full path and fills the cache anew).
    pub fn invalidate_flow_cache(&mut self) -> Result<(), DataplaneError> {
        let mut generations = array::<u32>(self, FLOW_GEN)?;
        let epoch = generations
            .get(&FLOW_GEN_EPOCH, 0)
            .map_err(map_err(FLOW_GEN))?;
        generations
            .set(FLOW_GEN_EPOCH, epoch.wrapping_add(1), 0)
            .map_err(map_err(FLOW_GEN))
    }

    /// Every filled entry of the flow cache, of every CPU (fresh or not; for tests and
    /// diagnostics: it reads all `FLOW_CACHE_SETS` sets of every CPU).
    pub fn cached_flows(&self) -> Result<Vec<CachedFlow>, DataplaneError> {
        let sets: Vec<FlowCacheSet> = self.all_entries(FLOW_CACHE)?;
        Ok(sets
            .iter()
            .flat_map(|set| set.ways)
            .filter(|e| e.proto != 0)
            .collect())
    }

    /// Every filled IPv6 entry of the flow cache, of every CPU (see [`Self::cached_flows`]).
    pub fn cached_flows6(&self) -> Result<Vec<CachedFlow6>, DataplaneError> {
        let mut entries: Vec<CachedFlow6> = self.all_entries(FLOW_CACHE6)?;
        entries.retain(|e| e.proto != 0);
        Ok(entries)
    }

    /// Every value of the array map `name`.
    fn all_entries<V: aya::Pod>(&self, name: &'static str) -> Result<Vec<V>, DataplaneError> {
        let map = self
            .ebpf
            .map(name)
            .ok_or(DataplaneError::MissingMap { name })?;
        let array: Array<&MapData, V> = Array::try_from(map).map_err(map_err(name))?;
        array.iter().map(|v| v.map_err(map_err(name))).collect()
    }
}
