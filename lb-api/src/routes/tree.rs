//! Creating several objects in one call (Octavia's single-call create): the parts are created
//! by replaying the ordinary create calls through the router over an [`Overlay`] store, so
//! every part gets exactly the validation, defaults, quota checks and error messages of its
//! own create call. Each step is completed in the overlay so the next may lock the load
//! balancer. If any part fails, its response is returned and nothing is written; otherwise
//! [`Parts::finish`] commits the tree in one transaction, new objects in `PENDING_CREATE` and
//! the objects the parts locked in `PENDING_UPDATE`, and tells the provider once. Also the
//! full-object renderings the responses use.

use std::{
    collections::HashSet,
    sync::{Arc, Mutex as StdMutex},
};

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
        l7policy::L7Policy,
        listener::Listener,
        loadbalancer::LoadBalancer,
        pool::Pool,
    },
    provider::{Driver, noop},
    store::{Store, overlay::Overlay},
};

/// Whether `body[envelope]` carries any of `keys` with something in it (not null, not `[]`).
pub fn nested(body: &Value, envelope: &str, keys: &[&str]) -> bool {
    keys.iter().any(|k| {
        body.get(envelope)
            .and_then(|o| o.get(*k))
            .is_some_and(|v| !v.is_null() && v.as_array().is_none_or(|a| !a.is_empty()))
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

/// Replays create calls against an overlay of the real store.
pub struct Parts {
    app: Router,
    overlay: Arc<Overlay>,
    headers: HeaderMap,
    /// Objects that existed before and some part locked (`PENDING_UPDATE`).
    locked: StdMutex<HashSet<String>>,
}

/// A part's outcome: the value, or the response to send as is.
pub type Step<T> = Result<T, Box<Response>>;

/// An error as the response to send.
pub fn fail(e: ApiError) -> Box<Response> {
    Box::new(e.into_response())
}

impl Parts {
    /// Parts over `st`'s store, calling as the original request's caller. The caller holds
    /// `st.lock` until [`Parts::finish`].
    pub fn new(st: &AppState, headers: &HeaderMap) -> Self {
        let overlay = Arc::new(Overlay::new(st.store.clone()));
        let sub = AppState {
            store: overlay.clone() as Arc<dyn Store>,
            config: st.config.clone(),
            lock: Arc::new(Mutex::new(())),
            driver: Arc::new(Deferred),
        };
        Self {
            app: crate::app(sub),
            overlay,
            headers: headers.clone(),
            locked: StdMutex::new(HashSet::new()),
        }
    }

    /// POST `{key: body}` to `uri`; the created object, or the failed response as is.
    pub async fn create(&self, uri: &str, key: &str, body: Value) -> Step<Value> {
        self.post(uri, key, json!({ key: body })).await
    }

    /// POST the whole request body `body` (envelope included) to `uri`; the created object
    /// under `key`, or the failed response as is.
    pub async fn post(&self, uri: &str, key: &str, body: Value) -> Step<Value> {
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
            .body(Body::from(body.to_string()))
            .map_err(|e| fail(ApiError::Internal(format!("graph request: {e}"))))?;
        let resp = self
            .app
            .clone()
            .oneshot(req)
            .await
            .map_err(|e| fail(ApiError::Internal(format!("graph call: {e}"))))?;
        if resp.status() != StatusCode::CREATED {
            return Err(Box::new(resp));
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

    /// Complete what is pending in the overlay, so the next part may lock the LB; remember
    /// what the last part locked.
    pub async fn settle(&self, lb_id: &str) -> Step<()> {
        let g = self.graph(lb_id).await?;
        let locked = all_common(&g)
            .filter(|c| c.provisioning_status == Prov::PendingUpdate)
            .map(|c| c.id.clone());
        if let Ok(mut set) = self.locked.lock() {
            set.extend(locked);
        }
        noop::complete(&*self.overlay, lb_id)
            .await
            .map_err(|e| fail(e.into()))
    }

    /// The overlay store (the real one with the parts created so far).
    pub fn store(&self) -> &dyn Store {
        &*self.overlay
    }

    /// The overlay's graph of `lb_id`.
    pub async fn graph(&self, lb_id: &str) -> Step<Graph> {
        Graph::load_lb(&*self.overlay, lb_id)
            .await
            .map_err(|e| fail(e.into()))
    }

    /// Commit the tree: objects that did not exist before in `PENDING_CREATE` (operating
    /// `OFFLINE`, never updated), the ones the parts locked in `PENDING_UPDATE`; one
    /// transaction on the real store; the provider told once. Returns the final graph.
    pub async fn finish(self, st: &AppState, lb_id: &str) -> Step<Graph> {
        let before = Graph::load_lb(&*st.store, lb_id)
            .await
            .map_err(|e| fail(e.into()))?;
        let existed: HashSet<String> = all_common(&before).map(|c| c.id.clone()).collect();
        let locked = self.locked.lock().map(|s| s.clone()).unwrap_or_default();
        let mut g = self.graph(lb_id).await?;
        macro_rules! restore {
            ($($list:ident),*) => {$(
                for o in &mut g.$list {
                    if !existed.contains(&o.c.id) {
                        o.c.provisioning_status = Prov::PendingCreate;
                        o.c.operating_status = Oper::Offline;
                        o.c.updated_at = None;
                    } else if locked.contains(&o.c.id) {
                        o.c.provisioning_status = Prov::PendingUpdate;
                    }
                }
            )*};
        }
        restore!(lbs, listeners, pools, members, hms, l7policies, l7rules);
        self.overlay
            .commit(g.put_all().map_err(|e| fail(e.into()))?)
            .await
            .map_err(|e| fail(e.into()))?;
        st.store
            .commit(self.overlay.changes().await)
            .await
            .map_err(|e| fail(e.into()))?;
        st.driver.changed(lb_id);
        Ok(g)
    }
}

/// The shared fields of every object in a graph.
fn all_common(g: &Graph) -> impl Iterator<Item = &crate::model::common::Common> {
    g.lbs
        .iter()
        .map(|o| &o.c)
        .chain(g.listeners.iter().map(|o| &o.c))
        .chain(g.pools.iter().map(|o| &o.c))
        .chain(g.members.iter().map(|o| &o.c))
        .chain(g.hms.iter().map(|o| &o.c))
        .chain(g.l7policies.iter().map(|o| &o.c))
        .chain(g.l7rules.iter().map(|o| &o.c))
}

/// `201 {key: body}`.
pub fn created(key: &str, body: Value) -> Response {
    (StatusCode::CREATED, axum::Json(json!({ key: body }))).into_response()
}

pub fn id_of(v: &Value) -> Step<String> {
    v["id"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| fail(ApiError::Internal("created object without id".into())))
}

/// Take `key` out of `obj` as a list of objects (absent/null = empty).
pub fn take_list(
    obj: &mut Map<String, Value>,
    key: &str,
    arg: &str,
) -> Step<Vec<Map<String, Value>>> {
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

pub fn take_object(obj: &mut Map<String, Value>, key: &str) -> Step<Option<Map<String, Value>>> {
    match obj.remove(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(m)) => Ok(Some(m)),
        Some(other) => Err(fail(ApiError::bad(format!(
            "Invalid input for field/attribute {key}. Value: '{other}'. Value not an object"
        )))),
    }
}

/// Octavia's `L7PolicyFullResponse`: rules inlined.
pub fn policy_full(g: &Graph, p: &L7Policy) -> Value {
    let mut v = g.l7policy_wire(p);
    v["rules"] = Value::Array(
        g.l7rules
            .iter()
            .filter(|r| r.l7policy_id == p.c.id)
            .map(|r| r.wire())
            .collect(),
    );
    v
}

/// Octavia's `ListenerFullResponse`: L7 policies (with rules) inlined, by position.
pub fn listener_full(g: &Graph, l: &Listener) -> Value {
    let mut v = g.listener_wire(l);
    let mut policies: Vec<&L7Policy> = g
        .l7policies
        .iter()
        .filter(|p| p.listener_id == l.c.id)
        .collect();
    policies.sort_by_key(|p| p.position);
    v["l7policies"] = Value::Array(policies.into_iter().map(|p| policy_full(g, p)).collect());
    v
}

/// Octavia's `PoolFullResponse`: members and the health monitor inlined.
pub fn pool_full(g: &Graph, p: &Pool) -> Value {
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
}

/// Octavia's `LoadBalancerFullResponse`: listeners and pools as full objects.
pub fn lb_full(g: &Graph, lb: &LoadBalancer) -> Value {
    let mut out = g.lb_wire(lb);
    out["listeners"] = Value::Array(g.listeners.iter().map(|l| listener_full(g, l)).collect());
    out["pools"] = Value::Array(g.pools.iter().map(|p| pool_full(g, p)).collect());
    out
}
