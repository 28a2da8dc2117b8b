//! Octavia's admin amphora API (`/v2/octavia/amphorae`): one amphora per load balancer placed
//! on a host (topology SINGLE), shown in Octavia's fields; `failover` re-pushes the load
//! balancer or moves it to another host when its own is silent.

use axum::{
    Router,
    extract::{Path, State},
    response::Response,
    routing::{get, put},
};
use serde_json::{Value, json};

use super::{accepted, json_response, ok};
use crate::{
    AppState,
    auth::Ctx,
    controller::host::{Host, Placement},
    error::{ApiError, ApiResult},
    model::{common::Prov, loadbalancer::LoadBalancer},
    store::{self, Select},
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/amphorae", get(list))
        .route("/amphorae/{id}", get(show))
        .route("/amphorae/{id}/failover", put(failover))
}

async fn all(st: &AppState) -> ApiResult<Vec<(Placement, Option<Host>, Option<LoadBalancer>)>> {
    let placements: Vec<Placement> = store::list(&*st.store, &Select::all()).await?;
    let hosts: Vec<Host> = store::list(&*st.store, &Select::all()).await?;
    let mut out = Vec::new();
    for p in placements {
        let host = hosts.iter().find(|h| h.id == p.host_id).cloned();
        let lb = store::get::<LoadBalancer>(&*st.store, &p.lb_id).await?;
        out.push((p, host, lb));
    }
    Ok(out)
}

fn amphora_id(p: &Placement) -> &str {
    if p.amphora_id.is_empty() {
        &p.lb_id
    } else {
        &p.amphora_id
    }
}

fn wire(p: &Placement, host: Option<&Host>, lb: Option<&LoadBalancer>) -> Value {
    let in_error = host.is_none_or(|h| h.last_error.is_some());
    json!({
        "id": amphora_id(p),
        "loadbalancer_id": p.lb_id,
        "compute_id": p.host_id,
        "lb_network_ip": host.map(|h| h.address.clone()),
        "vrrp_ip": null,
        "ha_ip": lb.and_then(|l| l.vip_address.clone()),
        "vrrp_port_id": null,
        "ha_port_id": lb.and_then(|l| l.vip_port_id.clone()),
        "cert_expiration": null,
        "cert_busy": false,
        "role": "STANDALONE",
        "status": if in_error { "ERROR" } else { "ALLOCATED" },
        "vrrp_interface": null,
        "vrrp_id": null,
        "vrrp_priority": null,
        "cached_zone": null,
        "created_at": p.created_at,
        "updated_at": host.and_then(|h| h.updated_at.clone()),
        "image_id": null,
        "compute_flavor": null,
    })
}

async fn list(State(st): State<AppState>, ctx: Ctx) -> ApiResult<Response> {
    ctx.require_admin()?;
    let items: Vec<Value> = all(&st)
        .await?
        .iter()
        .map(|(p, h, lb)| wire(p, h.as_ref(), lb.as_ref()))
        .collect();
    Ok(json_response(
        json!({ "amphorae": items, "amphorae_links": [] }),
    ))
}

async fn find(
    st: &AppState,
    id: &str,
) -> ApiResult<(Placement, Option<Host>, Option<LoadBalancer>)> {
    all(st)
        .await?
        .into_iter()
        .find(|(p, _, _)| amphora_id(p) == id)
        .ok_or_else(|| ApiError::not_found("Amphora", id))
}

async fn show(State(st): State<AppState>, ctx: Ctx, Path(id): Path<String>) -> ApiResult<Response> {
    ctx.require_admin()?;
    let (p, h, lb) = find(&st, &id).await?;
    Ok(ok("amphora", wire(&p, h.as_ref(), lb.as_ref())))
}

async fn failover(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    ctx.require_admin()?;
    let _guard = st.lock.lock().await;
    let (p, _, lb) = find(&st, &id).await?;
    let mut lb = lb.ok_or_else(|| ApiError::not_found("Load Balancer", &p.lb_id))?;
    if !matches!(lb.c.provisioning_status, Prov::Active | Prov::Error) {
        return Err(ApiError::Conflict(format!(
            "Invalid state {} of loadbalancer resource {}",
            lb.c.provisioning_status.as_str(),
            lb.c.id
        )));
    }
    lb.c.begin_update();
    st.store.commit(vec![store::put(&lb)?]).await?;
    st.driver.failover(&lb.c.id);
    Ok(accepted())
}
