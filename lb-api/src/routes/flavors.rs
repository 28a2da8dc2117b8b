//! `/flavors`: anyone may list and show; admins create (name unique, profile must exist),
//! update (name, description, enabled) and delete (409 while a load balancer uses it).

use axum::{
    Router,
    extract::{Path, State},
    response::Response,
    routing::get,
};

use super::{
    ListCall,
    catalog::{list_response, non_null},
    created, no_content, ok, strip_json,
};
use crate::{
    AppState,
    auth::Ctx,
    error::{ApiError, ApiResult},
    model::{
        common::{new_id, now},
        flavor::Flavor,
        input::{Field, Input, JsonBody, required},
        loadbalancer::LoadBalancer,
        profile::{FlavorProfileKind, Profile},
    },
    store::{self, Select},
};

const POST: &[&str] = &["name", "description", "enabled", "flavor_profile_id"];
const PUT: &[&str] = &["name", "description", "enabled"];
const FILTERS: &[&str] = &["id", "name", "description", "enabled", "flavor_profile_id"];

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/flavors", get(list).post(create))
        .route("/flavors/{id}", get(show).put(update).delete(remove))
}

async fn find(st: &AppState, id: &str) -> ApiResult<Flavor> {
    store::get::<Flavor>(&*st.store, id)
        .await?
        .ok_or_else(|| ApiError::not_found("Flavor", id))
}

async fn name_taken(st: &AppState, name: &str, except: &str) -> ApiResult<()> {
    let all: Vec<Flavor> = store::list(&*st.store, &Select::all()).await?;
    if all.iter().any(|f| f.name == name && f.id != except) {
        Err(ApiError::Conflict(format!(
            "A flavor of {name} already exists."
        )))
    } else {
        Ok(())
    }
}

async fn list(State(st): State<AppState>, _ctx: Ctx, call: ListCall) -> ApiResult<Response> {
    let flavors: Vec<Flavor> = store::list(&*st.store, &Select::all()).await?;
    let items = flavors.iter().map(Flavor::wire).collect();
    list_response(&st, &call, "flavors", "flavors_links", FILTERS, items)
}

async fn show(
    State(st): State<AppState>,
    _ctx: Ctx,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    Ok(ok("flavor", find(&st, strip_json(&id)).await?.wire()))
}

async fn create(
    State(st): State<AppState>,
    ctx: Ctx,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    ctx.require_admin()?;
    let mut i = Input::parse(body, "flavor", "flavor_", POST)?;
    let name = required("name", i.string("name", 255)?)?;
    let description = i.string("description", 255)?.set();
    let enabled = i.bool("enabled")?.or(true);
    let profile_id = required("flavor_profile_id", i.uuid("flavor_profile_id")?)?;
    let _guard = st.lock.lock().await;
    if store::get::<Profile<FlavorProfileKind>>(&*st.store, &profile_id)
        .await?
        .is_none()
    {
        return Err(ApiError::validation(format!(
            "Flavor profile {profile_id} not found."
        )));
    }
    name_taken(&st, &name, "").await?;
    let f = Flavor {
        id: new_id(),
        name,
        description,
        enabled,
        flavor_profile_id: profile_id,
        created_at: now(),
    };
    st.store.commit(vec![store::put(&f)?]).await?;
    Ok(created("flavor", f.wire()))
}

async fn update(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    ctx.require_admin()?;
    let mut i = Input::parse(body, "flavor", "flavor_", PUT)?;
    let name = non_null(&mut i, "name", 255)?;
    let description = i.string("description", 255)?;
    let enabled = i.bool("enabled")?;
    let _guard = st.lock.lock().await;
    let mut f = find(&st, &id).await?;
    if let Some(n) = name {
        name_taken(&st, &n, &f.id).await?;
        f.name = n;
    }
    match description {
        Field::Set(d) => f.description = Some(d),
        Field::Null => f.description = None,
        Field::Absent => {}
    }
    if let Field::Set(e) = enabled {
        f.enabled = e;
    }
    st.store.commit(vec![store::put(&f)?]).await?;
    Ok(ok("flavor", f.wire()))
}

async fn remove(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    ctx.require_admin()?;
    let _guard = st.lock.lock().await;
    find(&st, &id).await?;
    let lbs: Vec<LoadBalancer> = store::list(&*st.store, &Select::all()).await?;
    if lbs.iter().any(|lb| {
        lb.flavor_id.as_deref() == Some(id.as_str())
            && lb.c.provisioning_status != crate::model::common::Prov::Deleted
    }) {
        return Err(ApiError::Conflict(format!(
            "Flavor {id} is in use and cannot be modified."
        )));
    }
    st.store.commit(vec![store::delete::<Flavor>(&id)]).await?;
    Ok(no_content())
}
