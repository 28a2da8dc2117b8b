//! Single-call creation of a load balancer with its whole tree (Octavia's "fully populated
//! load balancer"): `listeners` (with `default_pool` and `l7policies` with `rules` and
//! `redirect_pool`) and `pools` (with `members` and `healthmonitor`) nested in the POST.
//!
//! Pools are referenced by name: a `default_pool`/`redirect_pool` with more than a `name` is a
//! full definition, moved to the pool list; a name alone refers to one. The parts are then
//! created one by one through [`Parts`] (all or nothing, every object in `PENDING_CREATE`).

use axum::{http::HeaderMap, response::Response};
use serde_json::{Map, Value, json};

use super::{
    subtree,
    tree::{Parts, Step, created, fail, id_of, lb_full, take_list, take_object},
};
use crate::{AppState, error::ApiError};

/// Whether a load balancer POST body asks for a graph create.
pub fn wanted(body: &Value) -> bool {
    super::tree::nested(body, "loadbalancer", &["listeners", "pools"])
}

fn unnamed() -> Box<Response> {
    fail(ApiError::validation(
        "Pools must be named when creating a fully populated loadbalancer.",
    ))
}

/// A `default_pool`/`redirect_pool` reference: a full definition is moved to `pools`; the
/// pool's name is returned.
fn pool_ref(
    pool: Map<String, Value>,
    pools: &mut Vec<Map<String, Value>>,
    required: &mut Vec<String>,
) -> Step<String> {
    let name = pool
        .get("name")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
        .map(str::to_owned)
        .ok_or_else(unnamed)?;
    if pool.keys().any(|k| k != "name") {
        pools.push(pool);
    } else {
        required.push(name.clone());
    }
    Ok(name)
}

/// An L7 policy as given (with its `rules`) and the name of its redirect pool.
type PolicySpec = (Map<String, Value>, Option<String>);

/// A listener as given, with its pool references resolved to names.
struct ListenerSpec {
    body: Map<String, Value>,
    default_pool: Option<String>,
    policies: Vec<PolicySpec>,
}

/// Create the whole tree; the response to send.
pub async fn create(st: &AppState, headers: &HeaderMap, body: Value) -> Response {
    match run(st, headers, body).await {
        Ok(r) => r,
        Err(r) => *r,
    }
}

async fn run(st: &AppState, headers: &HeaderMap, body: Value) -> Step<Response> {
    let Value::Object(mut outer) = body else {
        return Err(fail(ApiError::bad("Request is not in valid JSON format")));
    };
    if let Some(k) = outer.keys().find(|k| *k != "loadbalancer") {
        return Err(fail(ApiError::bad(format!(
            "Unknown attribute for argument load_balancer: {k}"
        ))));
    }
    let Some(Value::Object(mut lb_body)) = outer.remove("loadbalancer") else {
        return Err(fail(ApiError::bad(
            "Invalid input for field/attribute load_balancer.loadbalancer. Value not an object",
        )));
    };
    let mut pools = take_list(&mut lb_body, "pools", "pools")?;
    let mut listeners = Vec::new();
    let mut required = Vec::new();
    for mut l in take_list(&mut lb_body, "listeners", "listeners")? {
        let default_pool = match take_object(&mut l, "default_pool")? {
            Some(p) => Some(pool_ref(p, &mut pools, &mut required)?),
            None => None,
        };
        let mut policies = Vec::new();
        for mut p in take_list(&mut l, "l7policies", "l7policies")? {
            let redirect = match take_object(&mut p, "redirect_pool")? {
                Some(rp) => Some(pool_ref(rp, &mut pools, &mut required)?),
                None => None,
            };
            policies.push((p, redirect));
        }
        listeners.push(ListenerSpec {
            body: l,
            default_pool,
            policies,
        });
    }
    let names: Vec<Option<&str>> = pools
        .iter()
        .map(|p| p.get("name").and_then(Value::as_str))
        .collect();
    for (i, n) in names.iter().enumerate() {
        if names[..i].contains(n) {
            return Err(fail(ApiError::validation(
                "Pool names must be unique when creating a fully populated loadbalancer.",
            )));
        }
    }
    for r in &required {
        if !names.contains(&Some(r.as_str())) {
            return Err(fail(ApiError::validation(format!(
                "Pool '{r}' was referenced but no full definition was found."
            ))));
        }
    }
    for p in &pools {
        for attr in ["protocol", "lb_algorithm"] {
            if !p.contains_key(attr) {
                let name = p.get("name").and_then(Value::as_str).unwrap_or("None");
                return Err(fail(ApiError::validation(format!(
                    "Pool definition for '{name}' missing required attribute: {attr}"
                ))));
            }
        }
    }

    let _guard = st.lock.lock().await;
    let parts = Parts::new(st, headers);
    let lb = parts
        .create(
            "/v2/lbaas/loadbalancers",
            "loadbalancer",
            Value::Object(lb_body),
        )
        .await?;
    let lb_id = id_of(&lb)?;
    let project = lb["project_id"].clone();
    parts.settle(&lb_id).await?;

    let mut pool_ids: Vec<(String, String)> = Vec::new();
    for mut p in pools {
        let name = p.get("name").and_then(Value::as_str).map(str::to_owned);
        p.insert("loadbalancer_id".into(), json!(lb_id));
        let pool_id = subtree::pool(&parts, &lb_id, p).await?;
        if let Some(n) = name {
            pool_ids.push((n, pool_id));
        }
    }
    let pool_id = |name: &str| -> Step<String> {
        pool_ids
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, id)| id.clone())
            .ok_or_else(|| {
                fail(ApiError::validation(format!(
                    "Pool '{name}' was referenced but no full definition was found."
                )))
            })
    };
    for spec in listeners {
        let mut l = spec.body;
        l.insert("loadbalancer_id".into(), json!(lb_id));
        l.insert("project_id".into(), project.clone());
        if let Some(name) = &spec.default_pool {
            l.insert("default_pool_id".into(), json!(pool_id(name)?));
        }
        let listener = parts
            .create("/v2/lbaas/listeners", "listener", Value::Object(l))
            .await?;
        let listener_id = id_of(&listener)?;
        parts.settle(&lb_id).await?;
        for (mut p, redirect) in spec.policies {
            p.insert("listener_id".into(), json!(listener_id));
            if let Some(name) = &redirect {
                p.insert("redirect_pool_id".into(), json!(pool_id(name)?));
            }
            subtree::policy(&parts, &lb_id, p).await?;
        }
    }

    let g = parts.finish(st, &lb_id).await?;
    let lb = g
        .lb(&lb_id)
        .ok_or_else(|| fail(ApiError::Internal("graph create lost its LB".into())))?;
    Ok(created("loadbalancer", lb_full(&g, lb)))
}
