//! `/pools`: CRUD as Octavia's pool controller: created on a load balancer or as a listener's
//! default pool (protocol pairing checked), session persistence and backend TLS rules, the LB
//! (and affected listeners) locked `PENDING_UPDATE`, delete refused while an L7 policy redirects
//! to the pool and cascading to its members and health monitor.

use axum::{
    Router,
    extract::{Path, State},
    http::HeaderMap,
    response::Response,
    routing::get,
};
use serde_json::json;

use super::{
    ListCall, child_list, created, lb_graph,
    lock::{Parent, lock, pool_listeners},
    no_content, ok,
    pool_fields::{apply_tls_post, apply_tls_put, read_sp, read_tls, resolve_sp},
};
use crate::{
    AppState,
    auth::Ctx,
    error::{ApiError, ApiResult},
    model::{
        common::{Common, CommonInput, Oper, Prov},
        graph::Graph,
        input::{Field, Input, JsonBody, invalid, required},
        listener::{self as lm, Listener},
        pool::{self as pm, Pool},
    },
    store::{self, Select},
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/pools", get(list).post(create))
        .route("/pools/{id}", get(show).put(update).delete(remove))
}

async fn list(State(st): State<AppState>, ctx: Ctx, call: ListCall) -> ApiResult<Response> {
    let g = Graph::load(&*st.store, &Select::project(ctx.scope())).await?;
    let items = g
        .pools
        .iter()
        .map(|p| {
            let mut v = g.pool_wire(p);
            v["loadbalancer_id"] = json!(p.loadbalancer_id);
            v
        })
        .collect();
    child_list(
        &st,
        &call,
        "pools",
        &pm::filters(),
        &["loadbalancer_id"],
        items,
    )
}

/// The graph holding pool `id`, if the caller may see it.
pub async fn find(st: &AppState, ctx: &Ctx, id: &str) -> ApiResult<Graph> {
    let p = store::get::<Pool>(&*st.store, id)
        .await?
        .filter(|p| ctx.can_see(&p.c.project_id))
        .ok_or_else(|| ApiError::not_found("Pool", id))?;
    lb_graph(st, ctx, &p.loadbalancer_id)
        .await
        .map_err(|_| ApiError::not_found("Pool", id))
}

async fn show(State(st): State<AppState>, ctx: Ctx, Path(id): Path<String>) -> ApiResult<Response> {
    let g = find(&st, &ctx, &id).await?;
    let p = g
        .pool(&id)
        .ok_or_else(|| ApiError::not_found("Pool", &id))?;
    Ok(ok("pool", g.pool_wire(p)))
}

/// The listener a new pool names, if the caller may see it.
async fn listener(st: &AppState, ctx: &Ctx, id: &str) -> ApiResult<Listener> {
    store::get::<Listener>(&*st.store, id)
        .await?
        .filter(|l| ctx.can_see(&l.c.project_id))
        .ok_or_else(|| ApiError::not_found("Listener", id))
}

async fn create(
    State(st): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    if super::child_create::pool_wanted(&body) {
        return Ok(super::child_create::pool(&st, &headers, body).await);
    }
    let mut i = Input::parse(body, "pool", "pool_", pm::POST)?;
    let common = CommonInput::read(&mut i, true)?;
    // Octavia takes the project from the load balancer; the body's is ignored.
    i.project()?;
    let listener_id = i.uuid("listener_id")?.set();
    let lb_id = i.uuid("loadbalancer_id")?.set();
    let protocol = required("protocol", i.one_of("protocol", pm::PROTOCOLS)?)?;
    let lb_algorithm = required("lb_algorithm", i.one_of("lb_algorithm", pm::ALGORITHMS)?)?;
    let sp = read_sp(&mut i, true)?;
    let tls = read_tls(&mut i)?;
    // Children (handled above); what gets here is empty.
    i.raw("healthmonitor");
    i.raw("members");
    let mut p = Pool {
        c: Common::create(String::new(), Oper::Offline, common),
        loadbalancer_id: String::new(),
        session_persistence: resolve_sp(sp, None, &protocol)?,
        protocol,
        lb_algorithm,
        tls_enabled: false,
        tls_container_ref: None,
        ca_tls_container_ref: None,
        crl_container_ref: None,
        tls_ciphers: None,
        tls_versions: None,
        alpn_protocols: None,
    };
    apply_tls_post(tls, &mut p)?;
    let _guard = st.lock.lock().await;
    let lb_id = match (lb_id, &listener_id) {
        (Some(lb), _) => lb,
        (None, Some(lid)) => listener(&st, &ctx, lid).await?.loadbalancer_id,
        (None, None) => {
            return Err(ApiError::validation(
                "Must provide at least one of: loadbalancer_id, listener_id",
            ));
        }
    };
    let mut g = lb_graph(&st, &ctx, &lb_id).await?;
    p.loadbalancer_id = lb_id.clone();
    p.c.project_id = g.lbs[0].c.project_id.clone();
    let mut affected = Vec::new();
    if let Some(lid) = &listener_id {
        let l = match g.listener(lid) {
            Some(l) => l,
            None => {
                listener(&st, &ctx, lid).await?;
                return Err(ApiError::validation(format!(
                    "Listener {lid} is not on load balancer {lb_id}."
                )));
            }
        };
        if l.protocol == "PROMETHEUS" {
            return Err(ApiError::bad(
                "Protocol PROMETHEUS listeners cannot have child objects.",
            ));
        }
        if !lm::pool_protocols(&l.protocol).contains(&p.protocol.as_str()) {
            return Err(ApiError::validation(format!(
                "The pool protocol '{}' is invalid while the listener protocol is '{}'.",
                p.protocol, l.protocol
            )));
        }
        if l.default_pool_id.is_some() {
            return Err(ApiError::Conflict(
                "This listener already has a default pool".into(),
            ));
        }
        affected.push(lid.clone());
    }
    super::quota_check::enforce(&st, &p.c.project_id, crate::model::quota::Resource::Pool, 1)
        .await?;
    let mut changes = lock(&mut g, &affected, Parent::None)?;
    if let Some(l) = g.listeners.iter_mut().find(|l| affected.contains(&l.c.id)) {
        l.default_pool_id = Some(p.c.id.clone());
        changes.push(store::put(&*l)?);
    }
    changes.push(store::put(&p)?);
    st.store.commit(changes).await?;
    st.driver.changed(&lb_id);
    g.pools.push(p.clone());
    Ok(created("pool", g.pool_wire(&p)))
}

async fn update(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let mut i = Input::parse(body, "pool", "pool_", pm::PUT)?;
    let common = CommonInput::read(&mut i, true)?;
    let lb_algorithm = i.one_of("lb_algorithm", pm::ALGORITHMS)?;
    if lb_algorithm == Field::Null {
        return Err(invalid("lb_algorithm", "None", "Mandatory field missing."));
    }
    let sp = read_sp(&mut i, false)?;
    let tls = read_tls(&mut i)?;
    let _guard = st.lock.lock().await;
    let mut g = find(&st, &ctx, &id).await?;
    let mut p = g
        .pool(&id)
        .cloned()
        .ok_or_else(|| ApiError::not_found("Pool", &id))?;
    p.session_persistence = resolve_sp(sp, p.session_persistence.as_ref(), &p.protocol)?;
    apply_tls_put(tls, &mut p)?;
    if let Field::Set(a) = lb_algorithm {
        p.lb_algorithm = a;
    }
    p.c.apply(common);
    let affected = pool_listeners(&g, &id);
    let mut changes = lock(&mut g, &affected, Parent::None)?;
    p.c.begin_update();
    changes.push(store::put(&p)?);
    st.store.commit(changes).await?;
    st.driver.changed(&p.loadbalancer_id);
    if let Some(slot) = g.pools.iter_mut().find(|o| o.c.id == id) {
        *slot = p.clone();
    }
    Ok(ok("pool", g.pool_wire(&p)))
}

async fn remove(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let _guard = st.lock.lock().await;
    let mut g = find(&st, &ctx, &id).await?;
    if let Some(pol) = g
        .l7policies
        .iter()
        .find(|pol| pol.redirect_pool_id.as_deref() == Some(id.as_str()))
    {
        return Err(ApiError::Conflict(format!(
            "Pool {id} is in use by L7 policy {}",
            pol.c.id
        )));
    }
    let affected = pool_listeners(&g, &id);
    let mut changes = lock(&mut g, &affected, Parent::None)?;
    for p in g.pools.iter_mut().filter(|p| p.c.id == id) {
        p.c.provisioning_status = Prov::PendingDelete;
        changes.push(store::put(&*p)?);
    }
    for m in g.members.iter_mut().filter(|m| m.pool_id == id) {
        m.c.provisioning_status = Prov::PendingDelete;
        changes.push(store::put(&*m)?);
    }
    for h in g.hms.iter_mut().filter(|h| h.pool_id == id) {
        h.c.provisioning_status = Prov::PendingDelete;
        changes.push(store::put(&*h)?);
    }
    st.store.commit(changes).await?;
    st.driver.changed(&g.lbs[0].c.id);
    Ok(no_content())
}
