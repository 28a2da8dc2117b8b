//! `/quotas`: list the projects with stored quotas, show a project's effective quota (also
//! `/quotas/defaults`, which Octavia serves as the project named `defaults`), its defaults
//! (`/quotas/{project}/default`), set (PUT, 202) and reset (DELETE, 202). Reading needs the
//! project's own scope or admin; writing needs admin (Octavia's `write-quota` rule).

use axum::{
    Router,
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse as _, Response},
    routing::get,
};
use serde_json::json;

use super::{ListCall, accepted, child_list, ok};
use crate::{
    AppState,
    auth::Ctx,
    error::{ApiError, ApiResult},
    model::{
        common::now,
        input::{Field, Input, JsonBody},
        quota::{self, Quota, Resource},
    },
    store::{self, Select},
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/quotas", get(list))
        .route("/quotas/{project_id}", get(show).put(update).delete(reset))
        .route("/quotas/{project_id}/default", get(defaults))
}

/// Read access: admin, global observer, quota admin, or the caller's own project.
fn may_read(ctx: &Ctx, project_id: &str) -> ApiResult<()> {
    if ctx.can_read_quota_of(project_id) {
        Ok(())
    } else {
        Err(ApiError::policy())
    }
}

async fn list(State(st): State<AppState>, ctx: Ctx, call: ListCall) -> ApiResult<Response> {
    let wanted = call
        .params
        .iter()
        .find(|(k, _)| k == "project_id")
        .map(|(_, v)| v.clone());
    if let Some(p) = &wanted {
        may_read(&ctx, p)?;
    }
    let scope = wanted.as_deref().or(ctx.quota_scope());
    let quotas: Vec<Quota> = store::list(&*st.store, &Select::project(scope)).await?;
    let items = quotas.iter().map(Quota::wire_stored).collect();
    child_list(
        &st,
        &call,
        "quotas",
        &["project_id", "tenant_id"],
        &[],
        items,
    )
}

async fn show(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(project_id): Path<String>,
) -> ApiResult<Response> {
    let project_id = super::strip_json(&project_id).to_owned();
    may_read(&ctx, &project_id)?;
    Ok(ok("quota", effective(&st, &project_id).await?))
}

async fn effective(st: &AppState, project_id: &str) -> ApiResult<serde_json::Value> {
    let stored: Option<Quota> = store::get(&*st.store, project_id).await?;
    let limits = match stored {
        Some(q) => q.effective(&st.config.quota_defaults),
        None => st.config.quota_defaults,
    };
    Ok(limits.wire(project_id))
}

async fn defaults(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(project_id): Path<String>,
) -> ApiResult<Response> {
    may_read(&ctx, &project_id)?;
    Ok(ok("quota", st.config.quota_defaults.wire(&project_id)))
}

async fn update(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(project_id): Path<String>,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    ctx.require_quota_admin()?;
    let mut i = Input::parse(body, "quota", "quotas", &quota::put_keys())?;
    let mut sent: Vec<(Resource, Option<i64>)> = Vec::new();
    for r in Resource::ALL {
        // The current spelling wins over the deprecated one when a body has both.
        let mut value = Field::Absent;
        for key in r.keys().iter().rev() {
            let f = i.int(key, quota::UNLIMITED, quota::MAX)?;
            if f.present() {
                value = f;
            }
        }
        match value {
            Field::Set(v) => sent.push((r, Some(v))),
            Field::Null => sent.push((r, None)),
            Field::Absent => {}
        }
    }
    let _guard = st.lock.lock().await;
    let mut q: Quota = store::get(&*st.store, &project_id)
        .await?
        .unwrap_or_else(|| Quota {
            project_id: project_id.clone(),
            created_at: now(),
            ..Quota::default()
        });
    for (r, v) in sent {
        q.set(r, v);
    }
    st.store.commit(vec![store::put(&q)?]).await?;
    let body = q.effective(&st.config.quota_defaults).wire(&project_id);
    Ok((StatusCode::ACCEPTED, axum::Json(json!({ "quota": body }))).into_response())
}

async fn reset(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(project_id): Path<String>,
) -> ApiResult<Response> {
    ctx.require_quota_admin()?;
    let _guard = st.lock.lock().await;
    let stored: Option<Quota> = store::get(&*st.store, &project_id).await?;
    if stored.is_none() {
        // Octavia keeps a quota row for every project that ever created an object; a project
        // it has never seen is 404.
        let known = !st
            .store
            .list(
                Resource::LoadBalancer.kind(),
                &Select::project(Some(&project_id)),
            )
            .await?
            .is_empty();
        if !known {
            return Err(ApiError::not_found("Quotas", project_id));
        }
    }
    st.store
        .commit(vec![store::delete::<Quota>(&project_id)])
        .await?;
    Ok(accepted())
}
