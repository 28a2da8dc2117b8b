//! The child-change lock, as Octavia's `test_and_set_lb_and_listeners_prov_status`: a parent
//! pool or L7 policy must be `ACTIVE` (else 409 `<Kind> <id> is immutable…`), the load balancer
//! must be `ACTIVE` and becomes `PENDING_UPDATE`, and the affected listeners and the parent go
//! `PENDING_UPDATE` with it. Everything is changed in the in-memory [`Graph`]; the returned puts
//! are committed by the caller together with the child's own change.

use super::lock_lb;
use crate::{
    error::{ApiError, ApiResult},
    model::{common::Prov, graph::Graph},
    store::{self, Change},
};

/// The parent object (besides the LB and listeners) a change locks.
#[derive(Debug, Clone, Copy)]
pub enum Parent<'a> {
    None,
    Pool(&'a str),
    L7Policy(&'a str),
}

/// Listeners that use pool `pool_id` ([`Graph::pool_listener_ids`]: default pool or the
/// target of an enabled L7 policy with rules).
pub fn pool_listeners(g: &Graph, pool_id: &str) -> Vec<String> {
    g.pool_listener_ids(pool_id)
        .into_iter()
        .map(str::to_owned)
        .collect()
}

/// Check the parent and the LB, then mark LB, `listeners` and the parent `PENDING_UPDATE` in
/// `g`; returns their puts.
pub fn lock(g: &mut Graph, listeners: &[String], parent: Parent<'_>) -> ApiResult<Vec<Change>> {
    match parent {
        Parent::Pool(id) => {
            let p = g.pool(id).ok_or_else(|| ApiError::not_found("Pool", id))?;
            if p.c.provisioning_status != Prov::Active {
                return Err(ApiError::immutable("Pool", id));
            }
        }
        Parent::L7Policy(id) => {
            let p = g
                .l7policy(id)
                .ok_or_else(|| ApiError::not_found("L7Policy", id))?;
            if p.c.provisioning_status != Prov::Active {
                return Err(ApiError::immutable("L7Policy", id));
            }
        }
        Parent::None => {}
    }
    let lb = g
        .lbs
        .first_mut()
        .ok_or_else(|| ApiError::Internal("graph without load balancer".into()))?;
    lock_lb(lb)?;
    let mut changes = vec![store::put(&*lb)?];
    for l in g
        .listeners
        .iter_mut()
        .filter(|l| listeners.contains(&l.c.id))
    {
        l.c.begin_update();
        changes.push(store::put(&*l)?);
    }
    match parent {
        Parent::Pool(id) => {
            if let Some(p) = g.pools.iter_mut().find(|p| p.c.id == id) {
                p.c.begin_update();
                changes.push(store::put(&*p)?);
            }
        }
        Parent::L7Policy(id) => {
            if let Some(p) = g.l7policies.iter_mut().find(|p| p.c.id == id) {
                p.c.begin_update();
                changes.push(store::put(&*p)?);
            }
        }
        Parent::None => {}
    }
    Ok(changes)
}
