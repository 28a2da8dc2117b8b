//! Member choice for a new flow. The agent computes the tables; the kernel only indexes them.

use lb_common::{
    backend::{MAX_POOL_MEMBERS, RING_SIZE, RR_SIZE},
    hash::source_hash,
    vip::{Algorithm, VipInfo},
};

use crate::{
    maps::{LB_POOL_MEMBERS, LB_POOLS, LB_RINGS, LB_RR, LB_RR_POS},
    stats::backend_active,
};

/// Backend slot for a new flow from `src:sport`, or 0 when no member can take it.
#[inline(always)]
pub fn backend_for(vip: &VipInfo, src: &[u8; 16], sport: u16) -> u32 {
    let Some(pool) = LB_POOLS.get(vip.pool) else {
        return 0;
    };
    match Algorithm::from_u32(vip.algorithm) {
        Some(Algorithm::SourceIp) if pool.ring_ready != 0 => ring(vip.pool, source_hash(src, 0)),
        Some(Algorithm::SourceIpPort) if pool.ring_ready != 0 => {
            ring(vip.pool, source_hash(src, sport))
        }
        Some(Algorithm::RoundRobin) => round_robin(vip.pool, pool.rr_len),
        Some(Algorithm::LeastConnections) => least_connections(vip.pool, pool.members),
        _ => 0,
    }
}

#[inline(always)]
fn ring(pool: u32, hash: u32) -> u32 {
    let slot = pool * RING_SIZE + hash % RING_SIZE;
    LB_RINGS.get(slot).copied().unwrap_or(0)
}

#[inline(always)]
fn round_robin(pool: u32, len: u32) -> u32 {
    if len == 0 || len > RR_SIZE {
        return 0;
    }
    let Some(pos) = LB_RR_POS.get_ptr_mut(pool) else {
        return 0;
    };
    // SAFETY: per-CPU cell from a successful lookup; only this CPU touches it.
    let idx = unsafe {
        let idx = *pos % len;
        *pos = idx + 1;
        idx
    };
    LB_RR.get(pool * RR_SIZE + idx).copied().unwrap_or(0)
}

#[inline(never)]
fn least_connections(pool: u32, members: u32) -> u32 {
    let mut best = 0u32;
    let mut best_active = u64::MAX;
    for i in 0..MAX_POOL_MEMBERS {
        if i >= members {
            break;
        }
        let backend = LB_POOL_MEMBERS
            .get(pool * MAX_POOL_MEMBERS + i)
            .copied()
            .unwrap_or(0);
        if backend == 0 {
            continue;
        }
        let active = backend_active(backend);
        if active < best_active {
            best = backend;
            best_active = active;
        }
    }
    best
}
