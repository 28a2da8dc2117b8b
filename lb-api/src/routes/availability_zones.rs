//! `/availabilityzones/{name}`: availability zones are keyed by name. Anyone may list and
//! show; admins create (name unique, profile must exist), update (description, enabled) and
//! delete (409 while a load balancer uses it).

use axum::{
    Router,
    extract::{Path, State},
    response::Response,
    routing::get,
};

use super::{ListCall, catalog::list_response, created, no_content, ok, strip_json};
use crate::{
    AppState,
    auth::Ctx,
    error::{ApiError, ApiResult},
    model::{
        common::now,
        flavor::AvailabilityZone,
        input::{Field, Input, JsonBody, required},
        loadbalancer::LoadBalancer,
        profile::{AzProfileKind, Profile},
    },
    store::{self, Select},
};

const POST: &[&str] = &[
    "name",
    "description",
    "enabled",
    "availability_zone_profile_id",
];
const PUT: &[&str] = &["description", "enabled"];
const FILTERS: &[&str] = &[
    "name",
    "description",
    "enabled",
    "availability_zone_profile_id",
];
const KEY: &str = "availability_zone";
const NAME: &str = "Availability Zone";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/availabilityzones", get(list).post(create))
        .route(
            "/availabilityzones/{name}",
            get(show).put(update).delete(remove),
        )
}

async fn find(st: &AppState, name: &str) -> ApiResult<AvailabilityZone> {
    store::get::<AvailabilityZone>(&*st.store, name)
        .await?
        .ok_or_else(|| ApiError::not_found(NAME, name))
}

async fn list(State(st): State<AppState>, _ctx: Ctx, call: ListCall) -> ApiResult<Response> {
    let zones: Vec<AvailabilityZone> = store::list(&*st.store, &Select::all()).await?;
    let items = zones.iter().map(AvailabilityZone::wire).collect();
    list_response(
        &st,
        &call,
        "availability_zones",
        "availability_zones_links",
        FILTERS,
        items,
    )
}

async fn show(
    State(st): State<AppState>,
    _ctx: Ctx,
    Path(name): Path<String>,
) -> ApiResult<Response> {
    Ok(ok(KEY, find(&st, strip_json(&name)).await?.wire()))
}

async fn create(
    State(st): State<AppState>,
    ctx: Ctx,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    ctx.require_admin()?;
    let mut i = Input::parse(body, KEY, "availability_zone_", POST)?;
    let name = required("name", i.string("name", 255)?)?;
    let description = i.string("description", 255)?.set();
    let enabled = i.bool("enabled")?.or(true);
    let profile_id = required(
        "availability_zone_profile_id",
        i.uuid("availability_zone_profile_id")?,
    )?;
    let _guard = st.lock.lock().await;
    if store::get::<Profile<AzProfileKind>>(&*st.store, &profile_id)
        .await?
        .is_none()
    {
        return Err(ApiError::validation(format!(
            "Availability Zone Profile {profile_id} not found."
        )));
    }
    if store::get::<AvailabilityZone>(&*st.store, &name)
        .await?
        .is_some()
    {
        // Octavia's message, article included.
        return Err(ApiError::Conflict(format!(
            "A availability zone of {name} already exists."
        )));
    }
    let az = AvailabilityZone {
        name,
        description,
        enabled,
        availability_zone_profile_id: profile_id,
        created_at: now(),
    };
    st.store.commit(vec![store::put(&az)?]).await?;
    Ok(created(KEY, az.wire()))
}

async fn update(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(name): Path<String>,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    ctx.require_admin()?;
    let mut i = Input::parse(body, KEY, "availability_zone_", PUT)?;
    let description = i.string("description", 255)?;
    let enabled = i.bool("enabled")?;
    let _guard = st.lock.lock().await;
    let mut az = find(&st, &name).await?;
    match description {
        Field::Set(d) => az.description = Some(d),
        Field::Null => az.description = None,
        Field::Absent => {}
    }
    if let Field::Set(e) = enabled {
        az.enabled = e;
    }
    st.store.commit(vec![store::put(&az)?]).await?;
    Ok(ok(KEY, az.wire()))
}

async fn remove(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(name): Path<String>,
) -> ApiResult<Response> {
    ctx.require_admin()?;
    let _guard = st.lock.lock().await;
    find(&st, &name).await?;
    let lbs: Vec<LoadBalancer> = store::list(&*st.store, &Select::all()).await?;
    if lbs.iter().any(|lb| {
        lb.availability_zone.as_deref() == Some(name.as_str())
            && lb.c.provisioning_status != crate::model::common::Prov::Deleted
    }) {
        return Err(ApiError::Conflict(format!(
            "{NAME} {name} is in use and cannot be modified."
        )));
    }
    st.store
        .commit(vec![store::delete::<AvailabilityZone>(&name)])
        .await?;
    Ok(no_content())
}
