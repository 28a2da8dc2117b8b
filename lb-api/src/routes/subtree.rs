//! The steps every single-call create shares: a pool with its health monitor and members, an
//! L7 policy with its rules. Each part is posted through [`Parts`] (its own create's checks,
//! defaults and quota) and completed in the overlay before the next, so the next may lock the
//! load balancer as its own create would. Nothing here writes to the real store.

use serde_json::{Map, Value, json};

use super::tree::{Parts, Step, id_of, take_list, take_object};

/// A JSON object as sent.
pub type Object = Map<String, Value>;

/// Take a pool's `healthmonitor` out of it; `{}` is no monitor, as on a plain pool create.
pub fn take_monitor(pool: &mut Object) -> Step<Option<Object>> {
    Ok(take_object(pool, "healthmonitor")?.filter(|m| !m.is_empty()))
}

/// Create `pool` (with its nested `healthmonitor` and `members`) under load balancer `lb_id`;
/// the caller has set its `loadbalancer_id`/`listener_id`. Returns the pool's id.
pub async fn pool(parts: &Parts, lb_id: &str, mut pool: Object) -> Step<String> {
    let members = take_list(&mut pool, "members", "members")?;
    let hm = take_monitor(&mut pool)?;
    let created = parts
        .create("/v2/lbaas/pools", "pool", Value::Object(pool))
        .await?;
    let pool_id = id_of(&created)?;
    parts.settle(lb_id).await?;
    pool_children(parts, lb_id, &pool_id, hm, members).await?;
    Ok(pool_id)
}

/// Create pool `pool_id`'s monitor, then its members (Octavia's `_graph_create` order).
pub async fn pool_children(
    parts: &Parts,
    lb_id: &str,
    pool_id: &str,
    hm: Option<Object>,
    members: Vec<Object>,
) -> Step<()> {
    if let Some(mut h) = hm {
        h.insert("pool_id".into(), json!(pool_id));
        parts
            .create(
                "/v2/lbaas/healthmonitors",
                "healthmonitor",
                Value::Object(h),
            )
            .await?;
        parts.settle(lb_id).await?;
    }
    let uri = format!("/v2/lbaas/pools/{pool_id}/members");
    for m in members {
        parts.create(&uri, "member", Value::Object(m)).await?;
        parts.settle(lb_id).await?;
    }
    Ok(())
}

/// Create `policy` (with its nested `rules`) under load balancer `lb_id`; the caller has set
/// its `listener_id` and resolved any `redirect_pool`. Returns the policy's id.
pub async fn policy(parts: &Parts, lb_id: &str, mut policy: Object) -> Step<String> {
    let rules = take_list(&mut policy, "rules", "rules")?;
    let created = parts
        .create("/v2/lbaas/l7policies", "l7policy", Value::Object(policy))
        .await?;
    let policy_id = id_of(&created)?;
    parts.settle(lb_id).await?;
    policy_rules(parts, lb_id, &policy_id, rules).await?;
    Ok(policy_id)
}

/// Create the rules of policy `policy_id`.
pub async fn policy_rules(
    parts: &Parts,
    lb_id: &str,
    policy_id: &str,
    rules: Vec<Object>,
) -> Step<()> {
    let uri = format!("/v2/lbaas/l7policies/{policy_id}/rules");
    for r in rules {
        parts.create(&uri, "rule", Value::Object(r)).await?;
        parts.settle(lb_id).await?;
    }
    Ok(())
}
