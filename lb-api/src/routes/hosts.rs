//! Admin API of amphora hosts (our extension under `/v2/octavia/hosts`): register, list, show,
//! enable/disable, remove. Every route needs the admin role.

use axum::{
    Router,
    body::Bytes,
    extract::{Path, State},
    response::Response,
    routing::get,
};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{created, json_response, no_content, ok};
use crate::{
    AppState,
    auth::Ctx,
    controller::{
        host::{Host, Placement},
        registry::{self, HostInput},
    },
    error::{ApiError, ApiResult},
    store::{self, Select},
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/hosts", get(list).post(create))
        .route("/hosts/{id}", get(show).put(update).delete(remove))
}

fn parse<T: for<'de> Deserialize<'de>>(body: &[u8], key: &str) -> ApiResult<T> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad(format!("Invalid JSON body: {e}")))?;
    let inner = value
        .get(key)
        .cloned()
        .ok_or_else(|| ApiError::bad(format!("Missing \"{key}\" object in the body")))?;
    serde_json::from_value(inner).map_err(|e| ApiError::validation(e.to_string()))
}

async fn counted(st: &AppState, hosts: Vec<Host>) -> ApiResult<Vec<Value>> {
    let placements: Vec<Placement> = store::list(&*st.store, &Select::all()).await?;
    Ok(hosts
        .iter()
        .map(|h| registry::wire(h, placements.iter().filter(|p| p.host_id == h.id).count()))
        .collect())
}

async fn list(State(st): State<AppState>, ctx: Ctx) -> ApiResult<Response> {
    ctx.require_admin()?;
    let hosts: Vec<Host> = store::list(&*st.store, &Select::all()).await?;
    Ok(json_response(
        json!({ "hosts": counted(&st, hosts).await? }),
    ))
}

async fn show(State(st): State<AppState>, ctx: Ctx, Path(id): Path<String>) -> ApiResult<Response> {
    ctx.require_admin()?;
    let host = registry::find(&*st.store, &id).await?;
    let mut one = counted(&st, vec![host]).await?;
    Ok(ok("host", one.pop().unwrap_or(Value::Null)))
}

async fn create(State(st): State<AppState>, ctx: Ctx, body: Bytes) -> ApiResult<Response> {
    ctx.require_admin()?;
    let input: HostInput = parse(&body, "host")?;
    let _guard = st.lock.lock().await;
    let host = registry::register(&*st.store, input).await?;
    Ok(created("host", registry::wire(&host, 0)))
}

/// Fields an operator may change.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HostUpdate {
    admin_state_up: Option<bool>,
}

async fn update(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    ctx.require_admin()?;
    let change: HostUpdate = parse(&body, "host")?;
    let _guard = st.lock.lock().await;
    let mut host = registry::find(&*st.store, &id).await?;
    if let Some(up) = change.admin_state_up {
        host.admin_state_up = up;
    }
    host.updated_at = Some(crate::model::common::now());
    st.store.commit(vec![store::put(&host)?]).await?;
    let mut one = counted(&st, vec![host]).await?;
    Ok(ok("host", one.pop().unwrap_or(Value::Null)))
}

async fn remove(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    ctx.require_admin()?;
    let _guard = st.lock.lock().await;
    registry::remove(&*st.store, &id).await?;
    Ok(no_content())
}
