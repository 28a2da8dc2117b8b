//! `GET /loadbalancers/{id}/stats` and `GET /listeners/{id}/stats`: Octavia's
//! `{"stats": {active_connections, bytes_in, bytes_out, request_errors, total_connections}}`,
//! summed from the `stats` rows (see `model::stats`); zeros until a controller writes any.

use axum::{
    Router,
    extract::{Path, State},
    response::Response,
    routing::get,
};

use super::{lb_graph, ok};
use crate::{
    AppState,
    auth::Ctx,
    error::{ApiError, ApiResult},
    model::{
        listener::Listener,
        stats::{self, ListenerStats},
    },
    store::{self, Select},
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/loadbalancers/{id}/stats", get(loadbalancer))
        .route("/listeners/{id}/stats", get(listener))
}

async fn loadbalancer(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let g = lb_graph(&st, &ctx, &id).await?;
    let rows: Vec<ListenerStats> = store::list(&*st.store, &Select::lb(&id)).await?;
    let total = stats::sum(&rows, g.listeners.iter().map(|l| l.c.id.as_str()));
    Ok(ok("stats", total.wire()))
}

async fn listener(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let l = store::get::<Listener>(&*st.store, &id)
        .await?
        .filter(|l| ctx.can_see(&l.c.project_id))
        .ok_or_else(|| ApiError::not_found("Listener", &id))?;
    lb_graph(&st, &ctx, &l.loadbalancer_id)
        .await
        .map_err(|_| ApiError::not_found("Listener", &id))?;
    let select = Select {
        parent_id: Some(id.clone()),
        ..Select::all()
    };
    let rows: Vec<ListenerStats> = store::list(&*st.store, &select).await?;
    Ok(ok("stats", stats::sum(&rows, [id.as_str()]).wire()))
}
