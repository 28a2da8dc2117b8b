//! Quota enforcement on create: count the project's live objects of a kind (everything not
//! `DELETED`) and refuse with Octavia's 403 `Quota has been met for resources: <name>` when
//! `count` more would exceed the project's limit. Callers hold the API lock, so the count and
//! the write that follows it cannot interleave with another create in this process.

use crate::{
    AppState,
    error::{ApiError, ApiResult},
    model::quota::{Quota, Resource, UNLIMITED},
    store::{self, Select},
};

/// The limit in force for `project` and `r` (its quota row over the configured default).
pub async fn limit(st: &AppState, project: &str, r: Resource) -> ApiResult<i64> {
    let stored: Option<Quota> = store::get(&*st.store, project).await?;
    Ok(stored
        .map(|q| q.effective(&st.config.quota_defaults))
        .unwrap_or(st.config.quota_defaults)
        .get(r))
}

/// How many objects of `r` `project` has that are not `DELETED`.
pub async fn in_use(st: &AppState, project: &str, r: Resource) -> ApiResult<usize> {
    let rows = st
        .store
        .list(r.kind(), &Select::project(Some(project)))
        .await?;
    Ok(rows
        .iter()
        .filter(|row| {
            serde_json::from_str::<serde_json::Value>(&row.body)
                .map(|v| v["provisioning_status"] != "DELETED")
                .unwrap_or(true)
        })
        .count())
}

/// 403 unless `project` may have `count` more objects of `r`.
pub async fn enforce(st: &AppState, project: &str, r: Resource, count: usize) -> ApiResult<()> {
    if count == 0 {
        return Ok(());
    }
    let limit = limit(st, project, r).await?;
    if limit == UNLIMITED {
        return Ok(());
    }
    let used = in_use(st, project, r).await?;
    let wanted = i64::try_from(used.saturating_add(count)).unwrap_or(i64::MAX);
    if wanted <= limit {
        Ok(())
    } else {
        Err(ApiError::Forbidden(format!(
            "Quota has been met for resources: {}",
            r.name()
        )))
    }
}
