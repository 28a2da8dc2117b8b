//! `/flavorprofiles` and `/availabilityzoneprofiles`: admin-only CRUD of provider-specific
//! profile data, validated by the named provider; a profile a flavor (or availability zone)
//! points at cannot be deleted, nor its provider or data changed (409).

use std::marker::PhantomData;

use axum::{
    Router,
    extract::{Path, State},
    response::Response,
    routing::get,
};

use super::{
    ListCall,
    catalog::{check_data, list_response, non_null, parse_data, provider_enabled},
    created, no_content, ok, strip_json,
};
use crate::{
    AppState,
    auth::Ctx,
    error::{ApiError, ApiResult},
    model::{
        common::{new_id, now},
        input::{Input, JsonBody, required},
        profile::{AzProfileKind, FlavorProfileKind, Profile, ProfileKind},
    },
    store::{self, Select},
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/flavorprofiles",
            get(list::<FlavorProfileKind>).post(create::<FlavorProfileKind>),
        )
        .route(
            "/flavorprofiles/{id}",
            get(show::<FlavorProfileKind>)
                .put(update::<FlavorProfileKind>)
                .delete(remove::<FlavorProfileKind>),
        )
        .route(
            "/availabilityzoneprofiles",
            get(list::<AzProfileKind>).post(create::<AzProfileKind>),
        )
        .route(
            "/availabilityzoneprofiles/{id}",
            get(show::<AzProfileKind>)
                .put(update::<AzProfileKind>)
                .delete(remove::<AzProfileKind>),
        )
}

async fn find<K: ProfileKind>(st: &AppState, id: &str) -> ApiResult<Profile<K>> {
    store::get::<Profile<K>>(&*st.store, id)
        .await?
        .ok_or_else(|| ApiError::not_found(K::NAME, id))
}

async fn in_use<K: ProfileKind>(st: &AppState, id: &str) -> ApiResult<bool> {
    let select = Select {
        parent_id: Some(id.to_owned()),
        ..Select::all()
    };
    Ok(!st.store.list(K::USERS, &select).await?.is_empty())
}

fn in_use_error<K: ProfileKind>(id: &str) -> ApiError {
    ApiError::Conflict(format!(
        "{} {id} is in use and cannot be modified.",
        K::NAME
    ))
}

async fn list<K: ProfileKind>(
    State(st): State<AppState>,
    ctx: Ctx,
    call: ListCall,
) -> ApiResult<Response> {
    ctx.require_admin()?;
    let profiles: Vec<Profile<K>> = store::list(&*st.store, &Select::all()).await?;
    let items = profiles.iter().map(Profile::wire).collect();
    let filters = ["id", "name", "provider_name", K::DATA];
    list_response(&st, &call, K::PLURAL, K::LINKS, &filters, items)
}

async fn create<K: ProfileKind>(
    State(st): State<AppState>,
    ctx: Ctx,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    ctx.require_admin()?;
    let mut i = Input::parse(body, K::SINGULAR, K::ARG, &Profile::<K>::attributes())?;
    let name = required("name", i.string("name", 255)?)?;
    let provider_name = required("provider_name", i.string("provider_name", 255)?)?;
    let data = required(K::DATA, i.string(K::DATA, 4096)?)?;
    let parsed = parse_data(&data, K::DATA)?;
    provider_enabled(&provider_name)?;
    check_data(&provider_name, K::CAPS, &parsed)?;
    let p = Profile::<K> {
        id: new_id(),
        name,
        provider_name,
        data,
        created_at: now(),
        kind: PhantomData,
    };
    st.store.commit(vec![store::put(&p)?]).await?;
    Ok(created(K::SINGULAR, p.wire()))
}

async fn show<K: ProfileKind>(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    ctx.require_admin()?;
    let p = find::<K>(&st, strip_json(&id)).await?;
    Ok(ok(K::SINGULAR, p.wire()))
}

async fn update<K: ProfileKind>(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    ctx.require_admin()?;
    let mut i = Input::parse(body, K::SINGULAR, K::ARG, &Profile::<K>::attributes())?;
    let name = non_null(&mut i, "name", 255)?;
    let provider_name = non_null(&mut i, "provider_name", 255)?;
    let data = non_null(&mut i, K::DATA, 4096)?;
    let _guard = st.lock.lock().await;
    if (provider_name.is_some() || data.is_some()) && in_use::<K>(&st, &id).await? {
        return Err(in_use_error::<K>(&id));
    }
    let mut p = find::<K>(&st, &id).await?;
    if let Some(provider) = &provider_name {
        provider_enabled(provider)?;
    }
    if provider_name.is_some() || data.is_some() {
        let text = data.as_deref().unwrap_or(&p.data);
        let provider = provider_name.as_deref().unwrap_or(&p.provider_name);
        check_data(provider, K::CAPS, &parse_data(text, K::DATA)?)?;
    }
    if let Some(v) = name {
        p.name = v;
    }
    if let Some(v) = provider_name {
        p.provider_name = v;
    }
    if let Some(v) = data {
        p.data = v;
    }
    st.store.commit(vec![store::put(&p)?]).await?;
    Ok(ok(K::SINGULAR, p.wire()))
}

async fn remove<K: ProfileKind>(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    ctx.require_admin()?;
    let _guard = st.lock.lock().await;
    if in_use::<K>(&st, &id).await? {
        return Err(in_use_error::<K>(&id));
    }
    find::<K>(&st, &id).await?;
    st.store
        .commit(vec![store::delete::<Profile<K>>(&id)])
        .await?;
    Ok(no_content())
}
