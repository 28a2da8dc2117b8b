//! `/loadbalancers`: CRUD, cascade delete, `/status` (alias `/statuses`), `/failover` (`/stats`
//! is in `stats.rs`).

use axum::{
    Router,
    extract::{OriginalUri, Path, Query, State},
    http::HeaderMap,
    response::Response,
    routing::{get, put},
};

use super::{
    accepted, created, json_response, lb_graph,
    list::{self, ListSpec, Params},
    no_content, ok,
    vip::{self, VipRequest},
};
use crate::{
    AppState,
    auth::Ctx,
    error::{ApiError, ApiResult},
    model::{
        common::{Common, CommonInput, Oper, Prov},
        graph::Graph,
        input::{Field, Input, JsonBody},
        loadbalancer::{self as lbm, LoadBalancer},
    },
    store::{self, Select},
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/loadbalancers", get(list).post(create))
        .route("/loadbalancers/{id}", get(show).put(update).delete(remove))
        .route("/loadbalancers/{id}/status", get(status))
        .route("/loadbalancers/{id}/statuses", get(status))
        .route("/loadbalancers/{id}/failover", put(failover))
}

async fn list(
    State(st): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
    Query(params): Query<Params>,
) -> ApiResult<Response> {
    let g = Graph::load(&*st.store, &Select::project(ctx.scope())).await?;
    let items = g
        .lbs
        .iter()
        .filter(|lb| lb.c.provisioning_status != Prov::Deleted)
        .map(|lb| g.lb_wire(lb))
        .collect();
    let filters = lbm::filters();
    let spec = ListSpec {
        plural: "loadbalancers",
        filters: &filters,
        path: uri.path(),
        max_limit: st.config.pagination_max_limit,
        hidden: &[],
    };
    let body = list::respond(items, &params, &spec, &list::base_url(&headers))?;
    Ok(json_response(body))
}

async fn create(
    State(st): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    if super::graph_create::wanted(&body) {
        return Ok(super::graph_create::create(&st, &headers, body).await);
    }
    let mut i = Input::parse(body, "loadbalancer", "load_balancer", lbm::POST)?;
    let common = CommonInput::read(&mut i, true)?;
    let requested_project = i.project()?;
    let vip = VipRequest {
        subnet_id: i.uuid("vip_subnet_id")?.set(),
        network_id: i.uuid("vip_network_id")?.set(),
        port_id: i.uuid("vip_port_id")?.set(),
        address: i.ip("vip_address")?.set(),
    };
    let qos = i.uuid("vip_qos_policy_id")?.set();
    let sg_ids = i.strings("vip_sg_ids", 36)?.or(Vec::new());
    let asked_provider = i.string("provider", 64)?.set();
    let provider = asked_provider
        .clone()
        .unwrap_or_else(|| st.config.default_provider.clone());
    let flavor = i.uuid("flavor_id")?.set();
    let az = i.string("availability_zone", 255)?.set();
    // Empty `listeners`/`pools` lists (the only ones that get here) create nothing.
    i.raw("listeners");
    i.raw("pools");
    if let Field::Set(v) = i.raw("additional_vips")
        && v.as_array().is_none_or(|a| !a.is_empty())
    {
        return Err(ApiError::NotImplemented(format!(
            "Provider '{provider}' does not support a requested option: additional_vips"
        )));
    }
    let options = super::lb_options::resolve(&st, asked_provider, flavor, az).await?;
    if qos.is_some() {
        return Err(ApiError::validation(
            "The QoS extension is not available on this network registry.",
        ));
    }
    let project = ctx.owner_for_create(requested_project)?;
    let mut c = Common::create(project.clone(), Oper::Offline, common);
    let _guard = st.lock.lock().await;
    super::quota_check::enforce(
        &st,
        &project,
        crate::model::quota::Resource::LoadBalancer,
        1,
    )
    .await?;
    let placed = vip::place(&*st.store, &c.id, &project, vip).await?;
    c.updated_at = None;
    let lb = LoadBalancer {
        c,
        vip_address: Some(placed.address),
        vip_network_id: Some(placed.network_id),
        vip_subnet_id: Some(placed.subnet_id),
        vip_port_id: Some(placed.port_id),
        vip_qos_policy_id: None,
        vip_sg_ids: sg_ids,
        provider: options.provider,
        flavor_id: options.flavor_id,
        availability_zone: options.availability_zone,
    };
    st.store
        .commit(vec![placed.change, store::put(&lb)?])
        .await?;
    st.driver.changed(&lb.c.id);
    Ok(created("loadbalancer", Graph::default().lb_wire(&lb)))
}

async fn show(State(st): State<AppState>, ctx: Ctx, Path(id): Path<String>) -> ApiResult<Response> {
    let g = lb_graph(&st, &ctx, &id).await?;
    let lb = g
        .lb(&id)
        .ok_or_else(|| ApiError::not_found("Load Balancer", &id))?;
    Ok(ok("loadbalancer", g.lb_wire(lb)))
}

fn invalid_state(lb: &LoadBalancer) -> ApiError {
    ApiError::Conflict(format!(
        "Invalid state {} of loadbalancer resource {}",
        lb.c.provisioning_status.as_str(),
        lb.c.id
    ))
}

async fn update(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let mut i = Input::parse(body, "loadbalancer", "load_balancer", lbm::PUT)?;
    let common = CommonInput::read(&mut i, true)?;
    let qos = i.uuid("vip_qos_policy_id")?;
    let sg_ids = i.strings("vip_sg_ids", 36)?;
    let _guard = st.lock.lock().await;
    let g = lb_graph(&st, &ctx, &id).await?;
    let mut lb = g
        .lb(&id)
        .cloned()
        .ok_or_else(|| ApiError::not_found("Load Balancer", &id))?;
    if lb.c.provisioning_status != Prov::Active {
        return Err(invalid_state(&lb));
    }
    if let Field::Set(_) = qos {
        return Err(ApiError::validation(
            "The QoS extension is not available on this network registry.",
        ));
    }
    if qos == Field::Null {
        lb.vip_qos_policy_id = None;
    }
    match sg_ids {
        Field::Set(v) => lb.vip_sg_ids = v,
        Field::Null => lb.vip_sg_ids.clear(),
        Field::Absent => {}
    }
    lb.c.apply(common);
    lb.c.begin_update();
    st.store.commit(vec![store::put(&lb)?]).await?;
    st.driver.changed(&id);
    Ok(ok("loadbalancer", g.lb_wire(&lb)))
}

async fn remove(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    Query(params): Query<Params>,
) -> ApiResult<Response> {
    let cascade = params
        .iter()
        .find(|(k, _)| k == "cascade")
        .is_some_and(|(_, v)| crate::model::input::parse_bool_str(v) == Some(true));
    let _guard = st.lock.lock().await;
    let mut g = lb_graph(&st, &ctx, &id).await?;
    let lb = g
        .lb(&id)
        .ok_or_else(|| ApiError::not_found("Load Balancer", &id))?;
    if !matches!(lb.c.provisioning_status, Prov::Active | Prov::Error) {
        return Err(invalid_state(lb));
    }
    if !cascade && (!g.listeners.is_empty() || !g.pools.is_empty()) {
        return Err(ApiError::validation(format!(
            "Cannot delete Load Balancer {id} - it has children"
        )));
    }
    for l in &mut g.lbs {
        l.c.provisioning_status = Prov::PendingDelete;
    }
    macro_rules! mark {
        ($($list:ident),*) => {$(
            for o in &mut g.$list {
                o.c.provisioning_status = Prov::PendingDelete;
            }
        )*};
    }
    mark!(listeners, pools, members, hms, l7policies, l7rules);
    st.store.commit(g.put_all()?).await?;
    st.driver.changed(&id);
    Ok(no_content())
}

async fn status(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let g = lb_graph(&st, &ctx, &id).await?;
    let lb = g
        .lb(&id)
        .ok_or_else(|| ApiError::not_found("Load Balancer", &id))?;
    Ok(json_response(g.status_tree(lb)))
}

async fn failover(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    ctx.require_admin()?;
    let _guard = st.lock.lock().await;
    let g = lb_graph(&st, &ctx, &id).await?;
    let mut lb = g
        .lb(&id)
        .cloned()
        .ok_or_else(|| ApiError::not_found("Load Balancer", &id))?;
    if !matches!(lb.c.provisioning_status, Prov::Active | Prov::Error) {
        return Err(invalid_state(&lb));
    }
    lb.c.begin_update();
    st.store.commit(vec![store::put(&lb)?]).await?;
    st.driver.failover(&id);
    Ok(accepted())
}
