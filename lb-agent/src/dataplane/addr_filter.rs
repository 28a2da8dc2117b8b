//! `LB_ADDR_FILTER`, the array the data plane reads before any hash lookup: a slot is 1 while
//! some VIP or SNAT address of the applied plan falls into it (see
//! `lb_common::maps::ADDR_FILTER`). Kept a superset of `LB_ADDRS` at every moment: slots are
//! set before the addresses and VIPs that need them, cleared after those are gone.

use std::collections::HashSet;

use aya::maps::{Array, MapData};
use lb_common::{maps::ADDR_FILTER, vip::AddrKey};

use super::Dataplane;
use crate::DataplaneError;

/// The slots `addrs` occupy.
#[must_use]
pub fn slots<'a>(addrs: impl IntoIterator<Item = &'a AddrKey>) -> HashSet<u32> {
    addrs.into_iter().map(AddrKey::filter_slot).collect()
}

fn filter(dp: &mut Dataplane) -> Result<Array<&mut MapData, u8>, DataplaneError> {
    let map = dp
        .ebpf
        .map_mut(ADDR_FILTER)
        .ok_or(DataplaneError::MissingMap { name: ADDR_FILTER })?;
    Array::try_from(map).map_err(|source| DataplaneError::Map {
        name: ADDR_FILTER,
        source,
    })
}

/// Writes `value` into each slot.
fn write(dp: &mut Dataplane, slots: &HashSet<u32>, value: u8) -> Result<(), DataplaneError> {
    if slots.is_empty() {
        return Ok(());
    }
    let mut map = filter(dp)?;
    for &slot in slots {
        map.set(slot, value, 0)
            .map_err(|source| DataplaneError::Map {
                name: ADDR_FILTER,
                source,
            })?;
    }
    Ok(())
}

/// Sets the slots of `wanted` that `before` (the slots already set, if known) lacks.
pub fn set_new(
    dp: &mut Dataplane,
    wanted: &HashSet<u32>,
    before: Option<&HashSet<u32>>,
) -> Result<(), DataplaneError> {
    let new = match before {
        Some(before) => wanted.difference(before).copied().collect(),
        None => wanted.clone(),
    };
    write(dp, &new, 1)
}

/// Clears the slots of the addresses that went away (`stale`), unless a wanted address still
/// falls into them.
pub fn clear_stale(
    dp: &mut Dataplane,
    wanted: &HashSet<u32>,
    stale: &[AddrKey],
) -> Result<(), DataplaneError> {
    let gone: HashSet<u32> = slots(stale).difference(wanted).copied().collect();
    write(dp, &gone, 0)
}

#[cfg(test)]
mod tests {
    use lb_common::{addr::FAMILY_V4, maps::ADDR_FILTER_SIZE};

    use super::*;

    fn v4(a: [u8; 4]) -> AddrKey {
        let mut addr = [0; 16];
        addr[..4].copy_from_slice(&a);
        AddrKey {
            addr,
            family: FAMILY_V4,
            _pad: [0; 3],
        }
    }

    #[test]
    fn neighbouring_addresses_take_distinct_slots_within_the_array() {
        let keys: Vec<AddrKey> = (0..=255).map(|i| v4([10, 0, 0, i])).collect();
        let s = slots(&keys);
        assert_eq!(s.len(), 256, "a /24 of VIPs must not collide");
        assert!(s.iter().all(|&slot| slot < ADDR_FILTER_SIZE));
    }
}
