//! Batch member update `PUT /pools/{pool_id}/members[?additive_only=true]` (Octavia's
//! `MembersController.put`): members are identified by (address, protocol_port); new ones are
//! created, listed existing ones are updated with `MemberPOST` defaults for omitted fields
//! (weight 1, backup false, enabled, no monitor address/port), unlisted ones are deleted unless
//! `additive_only`. The same existing member twice is 400; a request that changes nothing is a
//! 202 no-op (after the lock check, as Octavia). Always 202 with an empty body.

use std::collections::HashSet;

use axum::{
    extract::{Path, Query, State},
    response::Response,
};
use serde_json::Value;

use super::{
    accepted,
    list::Params,
    lock::{Parent, lock, pool_listeners},
    members::{MemberPost, duplicate, not_reserved},
    pools,
};
use crate::{
    AppState,
    auth::Ctx,
    error::{ApiError, ApiResult},
    model::{
        common::Prov,
        input::{Field, Input, JsonBody, invalid, parse_bool_str},
        member::{self as mm, Member},
    },
    store,
};

/// Parse `{"members": [MemberPOST, ...]}`.
fn parse(body: Value) -> ApiResult<Vec<MemberPost>> {
    let Value::Object(mut outer) = body else {
        return Err(invalid("members_", body, "Value not an object"));
    };
    if let Some(k) = outer.keys().find(|k| *k != "members") {
        return Err(ApiError::bad(format!(
            "Unknown attribute for argument members_: {k}"
        )));
    }
    let items = match outer.remove("members") {
        Some(Value::Array(items)) => items,
        None | Some(Value::Null) => {
            return Err(invalid("members", "None", "Mandatory field missing."));
        }
        Some(other) => return Err(invalid("members", other, "Value should be a list")),
    };
    items
        .into_iter()
        .map(|v| {
            let mut i = Input::from_value(v, "members_.members", mm::POST)?;
            MemberPost::read(&mut i)
        })
        .collect()
}

/// Update an existing member from a batch entry: omitted fields take `MemberPOST`'s defaults.
fn refresh(m: &mut Member, post: MemberPost) {
    let mut common = post.common;
    if !common.admin_state_up.present() {
        common.admin_state_up = Field::Set(true);
    }
    m.c.apply(common);
    m.weight = post.weight.or(1);
    m.backup = post.backup.or(false);
    m.monitor_address = post.monitor_address.set().map(|a| a.to_string());
    m.monitor_port = post.monitor_port.set();
    if let Some(s) = post.subnet_id {
        m.subnet_id = Some(s);
    }
    m.c.begin_update();
}

pub async fn batch(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(pool_id): Path<String>,
    Query(params): Query<Params>,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let additive_only = params
        .iter()
        .rev()
        .find(|(k, _)| k == "additive_only")
        .is_some_and(|(_, v)| parse_bool_str(v) == Some(true));
    let posts = parse(body)?;
    let _guard = st.lock.lock().await;
    let mut g = pools::find(&st, &ctx, &pool_id).await?;
    let affected = pool_listeners(&g, &pool_id);
    let mut changes = lock(&mut g, &affected, Parent::Pool(&pool_id))?;
    let old: Vec<Member> = g
        .members
        .iter()
        .filter(|m| m.pool_id == pool_id)
        .cloned()
        .collect();
    let key = |a: &str, p: i64| (a.to_owned(), p);
    let wanted: HashSet<(String, i64)> = posts
        .iter()
        .map(|p| key(&p.address.to_string(), p.protocol_port))
        .collect();
    let mut new_posts = Vec::new();
    let mut updated = Vec::new();
    let mut seen_new = HashSet::new();
    let mut seen_old = HashSet::new();
    for post in posts {
        let k = key(&post.address.to_string(), post.protocol_port);
        match old.iter().find(|m| key(&m.address, m.protocol_port) == k) {
            None => {
                not_reserved(post.address)?;
                if !seen_new.insert(k.clone()) {
                    return Err(duplicate(&k.0, k.1));
                }
                new_posts.push(post);
            }
            Some(m) => {
                if !seen_old.insert(k) {
                    return Err(ApiError::validation(
                        "Member must be updated only once in the same request.",
                    ));
                }
                let mut m = m.clone();
                refresh(&mut m, post);
                updated.push(m);
            }
        }
    }
    let deleted: Vec<&Member> = old
        .iter()
        .filter(|m| !wanted.contains(&key(&m.address, m.protocol_port)))
        .collect();
    if new_posts.is_empty() && updated.is_empty() && deleted.is_empty() {
        return Ok(accepted());
    }
    let (lb_id, project) = (g.lbs[0].c.id.clone(), g.lbs[0].c.project_id.clone());
    // Octavia checks the net increase (only the additions when nothing is removed).
    let growth = if additive_only {
        new_posts.len()
    } else {
        new_posts.len().saturating_sub(deleted.len())
    };
    super::quota_check::enforce(&st, &project, crate::model::quota::Resource::Member, growth)
        .await?;
    let has_hm = g.pool_hm(&pool_id).is_some();
    for post in new_posts {
        post.check(&st).await?;
        let m = post.into_member(&pool_id, &lb_id, &project, has_hm);
        changes.push(store::put(&m)?);
    }
    for m in &updated {
        changes.push(store::put(m)?);
    }
    if !additive_only {
        for m in deleted {
            let mut m = m.clone();
            m.c.provisioning_status = Prov::PendingDelete;
            changes.push(store::put(&m)?);
        }
    }
    st.store.commit(changes).await?;
    st.driver.changed(&lb_id);
    Ok(accepted())
}
