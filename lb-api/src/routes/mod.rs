//! Routing: the Octavia resources are served identically under `/v2.0/lbaas`, `/v2/lbaas` and
//! `/v2`; the Neutron subset under `/v2.0`; version discovery at `/`. Shared handler helpers
//! (visibility, the load-balancer lock, list plumbing) live here.

pub mod amphorae;
pub mod availability_zones;
pub mod catalog;
pub mod child_create;
pub mod flavors;
pub mod graph_create;
pub mod healthmonitors;
pub mod hosts;
pub mod l7policies;
pub mod l7rules;
pub mod lb_options;
pub mod list;
pub mod listeners;
pub mod loadbalancers;
pub mod lock;
pub mod members;
pub mod members_batch;
pub mod networks;
pub mod openapi;
pub mod pool_fields;
pub mod pools;
pub mod profiles;
pub mod projects;
pub mod providers;
pub mod quota_check;
pub mod quotas;
pub mod stats;
pub mod subtree;
pub mod tree;
pub mod versions;
pub mod vip;

use axum::{
    Json, Router,
    extract::DefaultBodyLimit,
    http::{HeaderValue, StatusCode},
    middleware,
    response::{IntoResponse, Response},
};
use serde_json::{Value, json};

use crate::{
    AppState,
    auth::Ctx,
    error::{ApiError, ApiResult},
    model::{common::Prov, graph::Graph, input::MAX_BODY, loadbalancer::LoadBalancer},
};

/// The Octavia resources, relative to a prefix.
fn octavia() -> Router<AppState> {
    Router::new()
        .merge(loadbalancers::router())
        .merge(listeners::router())
        .merge(pools::router())
        .merge(members::router())
        .merge(healthmonitors::router())
        .merge(l7policies::router())
        .merge(l7rules::router())
        .merge(providers::router())
        .merge(quotas::router())
        .merge(stats::router())
        .merge(flavors::router())
        .merge(profiles::router())
        .merge(availability_zones::router())
}

/// Octavia's admin resources (amphorae) and our amphora-host registry.
fn octavia_admin() -> Router<AppState> {
    Router::new()
        .merge(amphorae::router())
        .merge(hosts::router())
}

/// Every route the API serves.
pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .nest("/v2.0/lbaas", octavia())
        .nest("/v2/lbaas", octavia())
        // openstacksdk's Neutron discovery on a shared root follows the version document's
        // `…/v2` link, so the network registry answers under /v2 as well as /v2.0 (the
        // resource names do not collide with Octavia's).
        .nest("/v2", octavia().merge(networks::router()))
        .nest("/v2.0", networks::router())
        .nest("/v2/octavia", octavia_admin())
        .nest("/v2.0/octavia", octavia_admin())
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::auth::authenticate,
        ))
        .with_state(state);
    Router::new()
        .merge(versions::router())
        .merge(projects::router())
        .merge(openapi::router())
        .merge(api)
        .fallback(|| async { ApiError::NoRoute })
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(middleware::map_response(request_id))
}

async fn request_id(mut response: Response) -> Response {
    let id = format!("req-{}", uuid::Uuid::new_v4());
    if let Ok(v) = HeaderValue::from_str(&id) {
        response.headers_mut().insert("x-openstack-request-id", v);
    }
    response
}

/// `201 {"<key>": body}`.
pub fn created(key: &str, body: Value) -> Response {
    (StatusCode::CREATED, Json(json!({ key: body }))).into_response()
}

/// `200 {"<key>": body}`.
pub fn ok(key: &str, body: Value) -> Response {
    Json(json!({ key: body })).into_response()
}

/// `200` with `body` as is.
pub fn json_response(body: Value) -> Response {
    Json(body).into_response()
}

/// `204` with no body.
pub fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

/// `202` with no body.
pub fn accepted() -> Response {
    StatusCode::ACCEPTED.into_response()
}

/// The graph of the LB holding an object, checking the caller may see the LB.
pub async fn lb_graph(st: &AppState, ctx: &Ctx, lb_id: &str) -> ApiResult<Graph> {
    let g = Graph::load_lb(&*st.store, lb_id).await?;
    match g.lb(lb_id) {
        Some(lb) if lb.c.provisioning_status != Prov::Deleted && ctx.can_see(&lb.c.project_id) => {
            Ok(g)
        }
        _ => Err(ApiError::not_found("Load Balancer", lb_id)),
    }
}

/// 409 unless the load balancer is `ACTIVE`; children may only change then.
pub fn require_mutable(lb: &LoadBalancer) -> ApiResult<()> {
    if lb.c.provisioning_status == Prov::Active {
        Ok(())
    } else {
        Err(ApiError::immutable("Load Balancer", &lb.c.id))
    }
}

/// Lock the LB for a child change: `PENDING_UPDATE` (the caller commits it).
pub fn lock_lb(lb: &mut LoadBalancer) -> ApiResult<()> {
    require_mutable(lb)?;
    lb.c.provisioning_status = Prov::PendingUpdate;
    Ok(())
}

/// Strip a trailing `.json` from an id path segment (Octavia accepts it).
pub fn strip_json(id: &str) -> &str {
    id.strip_suffix(".json").unwrap_or(id)
}

#[cfg(test)]
mod tests;

/// Parameters of a child list call, shared by every child collection.
pub struct ListCall {
    pub headers: axum::http::HeaderMap,
    pub path: String,
    pub params: list::Params,
}

/// Run the list engine over rendered children.
pub fn child_list(
    st: &AppState,
    call: &ListCall,
    plural: &str,
    filters: &[&str],
    hidden: &[&str],
    items: Vec<Value>,
) -> ApiResult<Response> {
    let spec = list::ListSpec {
        plural,
        filters,
        path: &call.path,
        max_limit: st.config.pagination_max_limit,
        hidden,
    };
    let body = list::respond(items, &call.params, &spec, &list::base_url(&call.headers))?;
    Ok(json_response(body))
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for ListCall {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, ApiError> {
        let uri = axum::extract::OriginalUri::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::Internal("no uri".into()))?;
        let axum::extract::Query(params) =
            axum::extract::Query::<list::Params>::from_request_parts(parts, state)
                .await
                .map_err(|_| {
                    ApiError::bad("One or more arguments are either duplicate or invalid")
                })?;
        Ok(Self {
            headers: parts.headers.clone(),
            path: uri.0.path().to_owned(),
            params,
        })
    }
}
