//! Single-call creation of a load balancer with its whole tree (Octavia's "fully populated
//! load balancer"): `listeners` (with `default_pool` and `l7policies` with `rules` and
//! `redirect_pool`) and `pools` (with `members` and `healthmonitor`) nested in the POST.
//!
//! Pools are referenced by name: a `default_pool`/`redirect_pool` with more than a `name` is a
//! full definition, moved to the pool list; a name alone refers to one. The parts are then
//! created by replaying the ordinary create calls through the router over an [`Overlay`]
//! store (so every part gets exactly the validation, defaults, quota checks and error messages
//! of its own create call), completing each step in the overlay so the next may lock the load
//! balancer. If any part fails, its response is returned and nothing is written; otherwise the
//! whole tree is committed in one transaction, every object in `PENDING_CREATE`, and the
//! provider is told once.

use std::sync::Arc;

use axum::{
    Router,
    body::Body,
    http::{HeaderMap, Request, StatusCode},
    response::{IntoResponse as _, Response},
};
use http_body_util::BodyExt as _;
use serde_json::{Map, Value, json};
use tokio::sync::Mutex;
use tower::ServiceExt as _;

use crate::{
    AppState,
    error::ApiError,
    model::{
        common::{Oper, Prov},
        graph::Graph,
    },
    provider::{Driver, noop},
    store::{Store, overlay::Overlay},
};

/// Whether a load balancer POST body asks for a graph create.
pub fn wanted(body: &Value) -> bool {
    ["listeners", "pools"].iter().any(|k| {
        body.get("loadbalancer")
            .and_then(|lb| lb.get(*k))
            .is_some_and(|v| v.as_array().is_none_or(|a| !a.is_empty()) && !v.is_null())
    })
}

/// The provider is told once, after the real commit; parts created in the overlay wait.
struct Deferred;
impl Driver for Deferred {
    fn changed(&self, _lb_id: &str) {}
}

/// Headers a part's request carries over from the original one (who is calling).
const CALLER_HEADERS: [&str; 6] = [
    "x-project-id",
    "x-tenant-id",
    "x-tenant",
    "x-roles",
    "x-auth-token",
    "host",
];

/// Replays create calls against the overlay.
struct Parts {
    app: Router,
    overlay: Arc<Overlay>,
    headers: HeaderMap,
}

type Step<T> = Result<T, Response>;

fn fail(e: ApiError) -> Response {
    e.into_response()
}

impl Parts {
    /// POST `{key: body}` to `uri`; the created object, or the failed response as is.
    async fn create(&self, uri: &str, key: &str, body: Value) -> Step<Value> {
        let mut req = Request::builder()
            .method("POST")
            .uri(uri)
            .header("content-type", "application/json");
        for name in CALLER_HEADERS {
            if let Some(v) = self.headers.get(name) {
                req = req.header(name, v);
            }
        }
        let req = req
            .body(Body::from(json!({ key: body }).to_string()))
            .map_err(|e| fail(ApiError::Internal(format!("graph request: {e}"))))?;
        let resp = self
            .app
            .clone()
            .oneshot(req)
            .await
            .map_err(|e| fail(ApiError::Internal(format!("graph call: {e}"))))?;
        if resp.status() != StatusCode::CREATED {
            return Err(resp);
        }
        let bytes = resp
            .into_body()
            .collect()
            .await
            .map_err(|e| fail(ApiError::Internal(format!("graph body: {e}"))))?
            .to_bytes();
        let mut v: Value = serde_json::from_slice(&bytes)
            .map_err(|e| fail(ApiError::Internal(format!("graph body: {e}"))))?;
        Ok(v[key].take())
    }

    /// Complete what is pending in the overlay, so the next part may lock the LB.
    async fn settle(&self, lb_id: &str) -> Step<()> {
        noop::complete(&*self.overlay, lb_id)
            .await
            .map_err(|e| fail(e.into()))
    }
}

fn id_of(v: &Value) -> Step<String> {
    v["id"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| fail(ApiError::Internal("created object without id".into())))
}

/// Take `key` out of `obj` as a list of objects (absent/null = empty).
fn take_list(obj: &mut Map<String, Value>, key: &str, arg: &str) -> Step<Vec<Map<String, Value>>> {
    match obj.remove(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .into_iter()
            .map(|i| match i {
                Value::Object(m) => Ok(m),
                other => Err(fail(ApiError::bad(format!(
                    "Invalid input for field/attribute {arg}. Value: '{other}'. Value not an object"
                )))),
            })
            .collect(),
        Some(other) => Err(fail(ApiError::bad(format!(
            "Invalid input for field/attribute {key}. Value: '{other}'. Value should be a list"
        )))),
    }
}

fn take_object(obj: &mut Map<String, Value>, key: &str) -> Step<Option<Map<String, Value>>> {
    match obj.remove(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(m)) => Ok(Some(m)),
        Some(other) => Err(fail(ApiError::bad(format!(
            "Invalid input for field/attribute {key}. Value: '{other}'. Value not an object"
        )))),
    }
}

fn unnamed() -> Response {
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

/// A listener as given, with its pool references resolved to names.
struct ListenerSpec {
    body: Map<String, Value>,
    default_pool: Option<String>,
    policies: Vec<(Map<String, Value>, Option<String>, Vec<Map<String, Value>>)>,
}

/// Create the whole tree; the response to send.
pub async fn create(st: &AppState, headers: &HeaderMap, body: Value) -> Response {
    match run(st, headers, body).await {
        Ok(r) | Err(r) => r,
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
            let rules = take_list(&mut p, "rules", "rules")?;
            policies.push((p, redirect, rules));
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
    let overlay = Arc::new(Overlay::new(st.store.clone()));
    let sub = AppState {
        store: overlay.clone() as Arc<dyn Store>,
        config: st.config.clone(),
        lock: Arc::new(Mutex::new(())),
        driver: Arc::new(Deferred),
    };
    let parts = Parts {
        app: crate::app(sub),
        overlay: overlay.clone(),
        headers: headers.clone(),
    };
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
        let members = take_list(&mut p, "members", "members")?;
        let hm = take_object(&mut p, "healthmonitor")?;
        let name = p.get("name").and_then(Value::as_str).map(str::to_owned);
        p.insert("loadbalancer_id".into(), json!(lb_id));
        let pool = parts
            .create("/v2/lbaas/pools", "pool", Value::Object(p))
            .await?;
        let pool_id = id_of(&pool)?;
        parts.settle(&lb_id).await?;
        for m in members {
            let uri = format!("/v2/lbaas/pools/{pool_id}/members");
            parts.create(&uri, "member", Value::Object(m)).await?;
            parts.settle(&lb_id).await?;
        }
        if let Some(mut h) = hm {
            h.insert("pool_id".into(), json!(pool_id));
            parts
                .create(
                    "/v2/lbaas/healthmonitors",
                    "healthmonitor",
                    Value::Object(h),
                )
                .await?;
            parts.settle(&lb_id).await?;
        }
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
        for (mut p, redirect, rules) in spec.policies {
            p.insert("listener_id".into(), json!(listener_id));
            if let Some(name) = &redirect {
                p.insert("redirect_pool_id".into(), json!(pool_id(name)?));
            }
            let policy = parts
                .create("/v2/lbaas/l7policies", "l7policy", Value::Object(p))
                .await?;
            let policy_id = id_of(&policy)?;
            parts.settle(&lb_id).await?;
            for r in rules {
                let uri = format!("/v2/lbaas/l7policies/{policy_id}/rules");
                parts.create(&uri, "rule", Value::Object(r)).await?;
                parts.settle(&lb_id).await?;
            }
        }
    }

    // Everything starts life pending, as after any create; the provider completes it.
    let mut g = Graph::load_lb(&*overlay, &lb_id)
        .await
        .map_err(|e| fail(e.into()))?;
    macro_rules! pending {
        ($($list:ident),*) => {$(
            for o in &mut g.$list {
                o.c.provisioning_status = Prov::PendingCreate;
                o.c.operating_status = Oper::Offline;
                o.c.updated_at = None;
            }
        )*};
    }
    pending!(lbs, listeners, pools, members, hms, l7policies, l7rules);
    overlay
        .commit(g.put_all().map_err(|e| fail(e.into()))?)
        .await
        .map_err(|e| fail(e.into()))?;
    st.store
        .commit(overlay.changes().await)
        .await
        .map_err(|e| fail(e.into()))?;
    st.driver.changed(&lb_id);
    let lb = g
        .lb(&lb_id)
        .ok_or_else(|| fail(ApiError::Internal("graph create lost its LB".into())))?;
    Ok((
        StatusCode::CREATED,
        axum::Json(json!({ "loadbalancer": full(&g, lb) })),
    )
        .into_response())
}

/// Octavia's `LoadBalancerFullResponse`: listeners and pools as full objects, with their
/// L7 policies (and rules), members and health monitor inlined.
fn full(g: &Graph, lb: &crate::model::loadbalancer::LoadBalancer) -> Value {
    let mut out = g.lb_wire(lb);
    let listeners: Vec<Value> = g
        .listeners
        .iter()
        .map(|l| {
            let mut v = g.listener_wire(l);
            let mut policies: Vec<_> = g
                .l7policies
                .iter()
                .filter(|p| p.listener_id == l.c.id)
                .collect();
            policies.sort_by_key(|p| p.position);
            v["l7policies"] = Value::Array(
                policies
                    .into_iter()
                    .map(|p| {
                        let mut pv = g.l7policy_wire(p);
                        pv["rules"] = Value::Array(
                            g.l7rules
                                .iter()
                                .filter(|r| r.l7policy_id == p.c.id)
                                .map(|r| r.wire())
                                .collect(),
                        );
                        pv
                    })
                    .collect(),
            );
            v
        })
        .collect();
    let pools: Vec<Value> = g
        .pools
        .iter()
        .map(|p| {
            let mut v = g.pool_wire(p);
            v["members"] = Value::Array(
                g.members
                    .iter()
                    .filter(|m| m.pool_id == p.c.id)
                    .map(|m| m.wire())
                    .collect(),
            );
            v["healthmonitor"] = g.pool_hm(&p.c.id).map_or(Value::Null, |h| h.wire());
            v
        })
        .collect();
    out["listeners"] = Value::Array(listeners);
    out["pools"] = Value::Array(pools);
    out
}
