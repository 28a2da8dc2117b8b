//! Single-call creation below a load balancer (Octavia's `_graph_create` reached from a
//! listener, pool or L7 policy POST): a listener with its `default_pool` and `l7policies` (with
//! `rules` and a `redirect_pool`), a pool with its `healthmonitor` and `members`, an L7 policy
//! with its `rules`. Nested pools may carry their own monitor and members.
//!
//! The parent is posted as sent minus its children, so it gets exactly its own create's checks;
//! then each child through [`subtree`]. All or nothing ([`Parts::finish`]): the new objects in
//! `PENDING_CREATE`, the objects they lock in `PENDING_UPDATE`, the provider told once. The
//! response is the parent as its own create returns it, with its children's ids.
//!
//! A `redirect_pool` with more than a `name` is a full definition, created on the listener's
//! load balancer; a name alone refers to a pool defined earlier in the same request.

use axum::{http::HeaderMap, response::Response};
use serde_json::{Value, json};

use super::{
    subtree::{self, Object},
    tree::{Parts, Step, created, fail, id_of, nested, take_list, take_object},
};
use crate::{
    AppState,
    error::ApiError,
    model::{l7policy::L7Policy, listener::Listener, pool::Pool},
    store,
};

/// Whether a listener POST carries children.
pub fn listener_wanted(body: &Value) -> bool {
    nested(body, "listener", &["default_pool", "l7policies"])
}

/// Whether a pool POST carries children (an empty `healthmonitor` object counts as none).
pub fn pool_wanted(body: &Value) -> bool {
    let monitor = body
        .get("pool")
        .and_then(|p| p.get("healthmonitor"))
        .is_some_and(|h| !h.is_null() && h.as_object().is_none_or(|m| !m.is_empty()));
    monitor || nested(body, "pool", &["members"])
}

/// Whether an L7 policy POST carries rules.
pub fn l7policy_wanted(body: &Value) -> bool {
    nested(body, "l7policy", &["rules"])
}

/// POST `/listeners` with children.
pub async fn listener(st: &AppState, headers: &HeaderMap, body: Value) -> Response {
    respond(run_listener(st, headers, body).await)
}

/// POST `/pools` with children.
pub async fn pool(st: &AppState, headers: &HeaderMap, body: Value) -> Response {
    respond(run_pool(st, headers, body).await)
}

/// POST `/l7policies` with rules.
pub async fn l7policy(st: &AppState, headers: &HeaderMap, body: Value) -> Response {
    respond(run_l7policy(st, headers, body).await)
}

fn respond(r: Step<Response>) -> Response {
    match r {
        Ok(r) => r,
        Err(r) => *r,
    }
}

/// The object under `envelope` (the `*_wanted` checks guarantee there is one).
fn inner<'a>(body: &'a mut Value, envelope: &str) -> Step<&'a mut Object> {
    body.get_mut(envelope)
        .and_then(Value::as_object_mut)
        .ok_or_else(|| {
            fail(ApiError::bad(format!(
                "Invalid input for field/attribute {envelope}. Value not an object"
            )))
        })
}

/// The load balancer of a part just created, read back from the overlay.
async fn lb_of<T: store::Object>(
    parts: &Parts,
    id: &str,
    lb: impl FnOnce(&T) -> &str,
) -> Step<String> {
    store::get::<T>(parts.store(), id)
        .await
        .map_err(|e| fail(e.into()))?
        .map(|o| lb(&o).to_owned())
        .ok_or_else(|| fail(ApiError::Internal(format!("created {} vanished", T::KIND))))
}

fn unresolved(name: &str) -> Box<Response> {
    fail(ApiError::validation(format!(
        "Pool '{name}' was referenced but no full definition was found."
    )))
}

/// Note the name of pool `p`, created as `id`.
fn remember(named: &mut Vec<(String, String)>, p: &Object, id: &str) {
    if let Some(n) = p.get("name").and_then(Value::as_str) {
        named.push((n.to_owned(), id.to_owned()));
    }
}

async fn run_listener(st: &AppState, headers: &HeaderMap, mut body: Value) -> Step<Response> {
    let l = inner(&mut body, "listener")?;
    let default_pool = take_object(l, "default_pool")?;
    let policies = take_list(l, "l7policies", "l7policies")?;
    let _guard = st.lock.lock().await;
    let parts = Parts::new(st, headers);
    let listener = parts.post("/v2/lbaas/listeners", "listener", body).await?;
    let listener_id = id_of(&listener)?;
    let lb_id = lb_of(&parts, &listener_id, |l: &Listener| &l.loadbalancer_id).await?;
    parts.settle(&lb_id).await?;
    // Pools created by this request, by name, for name-only `redirect_pool` references.
    let mut named: Vec<(String, String)> = Vec::new();
    if let Some(mut p) = default_pool {
        p.insert("loadbalancer_id".into(), json!(lb_id));
        p.insert("listener_id".into(), json!(listener_id));
        let id = subtree::pool(&parts, &lb_id, p.clone()).await?;
        remember(&mut named, &p, &id);
    }
    for mut policy in policies {
        policy.insert("listener_id".into(), json!(listener_id));
        if let Some(mut rp) = take_object(&mut policy, "redirect_pool")? {
            let id = if rp.keys().any(|k| k != "name") {
                rp.insert("loadbalancer_id".into(), json!(lb_id));
                let id = subtree::pool(&parts, &lb_id, rp.clone()).await?;
                remember(&mut named, &rp, &id);
                id
            } else {
                let name = rp.get("name").and_then(Value::as_str).unwrap_or("None");
                named
                    .iter()
                    .find(|(n, _)| n == name)
                    .map(|(_, id)| id.clone())
                    .ok_or_else(|| unresolved(name))?
            };
            policy.insert("redirect_pool_id".into(), json!(id));
        }
        subtree::policy(&parts, &lb_id, policy).await?;
    }
    let g = parts.finish(st, &lb_id).await?;
    let l = g
        .listener(&listener_id)
        .ok_or_else(|| fail(ApiError::Internal("created listener vanished".into())))?;
    Ok(created("listener", g.listener_wire(l)))
}

async fn run_pool(st: &AppState, headers: &HeaderMap, mut body: Value) -> Step<Response> {
    let p = inner(&mut body, "pool")?;
    let members = take_list(p, "members", "members")?;
    let hm = subtree::take_monitor(p)?;
    let _guard = st.lock.lock().await;
    let parts = Parts::new(st, headers);
    let pool = parts.post("/v2/lbaas/pools", "pool", body).await?;
    let pool_id = id_of(&pool)?;
    let lb_id = lb_of(&parts, &pool_id, |p: &Pool| &p.loadbalancer_id).await?;
    parts.settle(&lb_id).await?;
    subtree::pool_children(&parts, &lb_id, &pool_id, hm, members).await?;
    let g = parts.finish(st, &lb_id).await?;
    let p = g
        .pool(&pool_id)
        .ok_or_else(|| fail(ApiError::Internal("created pool vanished".into())))?;
    Ok(created("pool", g.pool_wire(p)))
}

async fn run_l7policy(st: &AppState, headers: &HeaderMap, mut body: Value) -> Step<Response> {
    let p = inner(&mut body, "l7policy")?;
    let rules = take_list(p, "rules", "rules")?;
    let _guard = st.lock.lock().await;
    let parts = Parts::new(st, headers);
    let policy = parts.post("/v2/lbaas/l7policies", "l7policy", body).await?;
    let policy_id = id_of(&policy)?;
    let lb_id = lb_of(&parts, &policy_id, |p: &L7Policy| &p.loadbalancer_id).await?;
    parts.settle(&lb_id).await?;
    subtree::policy_rules(&parts, &lb_id, &policy_id, rules).await?;
    let g = parts.finish(st, &lb_id).await?;
    let p = g
        .l7policy(&policy_id)
        .ok_or_else(|| fail(ApiError::Internal("created L7 policy vanished".into())))?;
    Ok(created("l7policy", g.l7policy_wire(p)))
}
