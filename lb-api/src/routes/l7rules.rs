//! `/l7policies/{l7policy_id}/rules` (envelope `rule` / `rules`): CRUD as Octavia's L7 rule
//! controller: `validate.l7rule_data` per type and compare type (400 `Error parsing L7Rule: …`),
//! at most 50 rules per policy (409), the policy (which must be `ACTIVE`), its listener and the LB
//! locked `PENDING_UPDATE`. Updates are validated on the merged rule.

use axum::{
    Router,
    extract::{Path, State},
    response::Response,
    routing::get,
};

use super::{
    ListCall, child_list, created, l7policies,
    lock::{Parent, lock},
    no_content, ok,
};
use crate::{
    AppState,
    auth::Ctx,
    error::{ApiError, ApiResult},
    model::{
        common::{Common, CommonInput, Oper, Prov},
        graph::Graph,
        input::{Field, Input, JsonBody, invalid, required},
        l7rule::{self as rm, L7Rule},
        validate,
    },
    store,
};

/// `MAX_L7RULES_PER_L7POLICY`.
const MAX_RULES: usize = 50;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/l7policies/{policy_id}/rules", get(list).post(create))
        .route(
            "/l7policies/{policy_id}/rules/{id}",
            get(show).put(update).delete(remove),
        )
}

async fn list(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(policy_id): Path<String>,
    call: ListCall,
) -> ApiResult<Response> {
    let g = l7policies::find(&st, &ctx, &policy_id).await?;
    let items = g
        .l7rules
        .iter()
        .filter(|r| r.l7policy_id == policy_id)
        .map(L7Rule::wire)
        .collect();
    child_list(&st, &call, "rules", &rm::filters(), &[], items)
}

/// The graph and rule `id` of policy `policy_id` (404 for the policy, then for the rule).
async fn find(st: &AppState, ctx: &Ctx, policy_id: &str, id: &str) -> ApiResult<(Graph, L7Rule)> {
    let g = l7policies::find(st, ctx, policy_id).await?;
    let r = g
        .l7rules
        .iter()
        .find(|r| r.c.id == id && r.l7policy_id == policy_id)
        .cloned()
        .ok_or_else(|| ApiError::not_found("L7 Rule", id))?;
    Ok((g, r))
}

async fn show(
    State(st): State<AppState>,
    ctx: Ctx,
    Path((policy_id, id)): Path<(String, String)>,
) -> ApiResult<Response> {
    let (_, r) = find(&st, &ctx, &policy_id, &id).await?;
    Ok(ok("rule", r.wire()))
}

/// The checked rule fields, merged for updates.
struct RuleData<'a> {
    kind: Option<&'a str>,
    compare: Option<&'a str>,
    key: Option<&'a str>,
    value: Option<&'a str>,
}

fn rule_error(msg: impl std::fmt::Display) -> ApiError {
    ApiError::bad(format!("Error parsing L7Rule: {msg}"))
}

fn invalid_rule(msg: impl std::fmt::Display) -> ApiError {
    rule_error(format!("Invalid L7 Rule: {msg}"))
}

fn check_regex(value: &str) -> ApiResult<()> {
    match validate::regex_error(value) {
        Some(e) => Err(rule_error(format!(
            "Unable to parse regular expression: {e}"
        ))),
        None => Ok(()),
    }
}

fn check_chars(ok: bool, what: &str) -> ApiResult<()> {
    if ok {
        Ok(())
    } else {
        Err(rule_error(format!("Invalid characters in {what}")))
    }
}

/// `validate.l7rule_data` (with `validate_l7rule_ssl_types`).
fn l7rule_data(r: &RuleData<'_>) -> ApiResult<()> {
    let value = r
        .value
        .filter(|v| !v.is_empty())
        .ok_or_else(|| invalid_rule("L7 rule type requires a value"))?;
    let key = r.key.filter(|k| !k.is_empty());
    let compare = r.compare.unwrap_or_default();
    let substring = matches!(
        compare,
        "STARTS_WITH" | "ENDS_WITH" | "CONTAINS" | "EQUAL_TO"
    );
    let bad_compare = || invalid_rule("invalid comparison type for rule type");
    match r.kind.unwrap_or_default() {
        kind @ ("HEADER" | "COOKIE") => {
            let key = key.ok_or_else(|| invalid_rule("L7 rule type requires a key"))?;
            check_chars(validate::header_name(key), "key")?;
            if compare == "REGEX" {
                check_regex(value)
            } else if !substring {
                Err(bad_compare())
            } else if kind == "HEADER" {
                check_chars(validate::header_value(value), "header value")
            } else {
                check_chars(validate::cookie_value(value), "cookie value")
            }
        }
        "HOST_NAME" | "PATH" => {
            if compare == "REGEX" {
                check_regex(value)
            } else if substring {
                check_chars(validate::header_value(value), "comparison value")
            } else {
                Err(bad_compare())
            }
        }
        "FILE_TYPE" => match compare {
            "REGEX" => check_regex(value),
            "EQUAL_TO" => check_chars(validate::header_value(value), "comparison value"),
            _ => Err(bad_compare()),
        },
        kind @ ("SSL_CONN_HAS_CERT" | "SSL_VERIFY_RESULT") => {
            if key.is_some() {
                return Err(invalid_rule(format!(
                    "L7rule type {kind} does not use the \"key\" field."
                )));
            }
            if kind == "SSL_CONN_HAS_CERT" && !value.eq_ignore_ascii_case("true") {
                return Err(invalid_rule(format!(
                    "L7rule value {value} is not a boolean True string."
                )));
            }
            if kind == "SSL_VERIFY_RESULT" && !value.chars().all(|c| c.is_ascii_digit()) {
                return Err(invalid_rule(format!(
                    "L7rule type {kind} needs a int value, which is >= 0"
                )));
            }
            if compare != "EQUAL_TO" {
                return Err(invalid_rule(format!(
                    "L7rule type {kind} only supports the EQUAL_TO compare type."
                )));
            }
            Ok(())
        }
        "SSL_DN_FIELD" => {
            if compare == "REGEX" {
                check_regex(value)?;
            }
            match key {
                None => Err(invalid_rule(
                    "L7rule type SSL_DN_FIELD needs to specify a key and a value.",
                )),
                Some(k) if !validate::dn_field(k) => {
                    Err(invalid_rule("Invalid L7rule distinguished name field."))
                }
                Some(_) => Ok(()),
            }
        }
        _ => Err(invalid_rule("invalid rule type")),
    }
}

/// `key`/`value`: at most 255 characters without CR/LF.
fn line(i: &mut Input, key: &str) -> ApiResult<Field<String>> {
    match i.string(key, 255)? {
        Field::Set(s) if s.contains(['\r', '\n']) => Err(invalid(
            key,
            &s,
            "Value should match the pattern ^[^\\r\\n]*$",
        )),
        other => Ok(other),
    }
}

async fn create(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(policy_id): Path<String>,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let mut i = Input::parse(body, "rule", "rule_", rm::POST)?;
    let common = CommonInput::read(&mut i, false)?;
    i.project()?;
    let kind = required("type", i.one_of("type", rm::TYPES)?)?;
    let compare_type = required("compare_type", i.one_of("compare_type", rm::COMPARE_TYPES)?)?;
    let key = line(&mut i, "key")?.set();
    let value = required("value", line(&mut i, "value")?)?;
    let invert = i.bool("invert")?.or(false);
    let _guard = st.lock.lock().await;
    let mut g = l7policies::find(&st, &ctx, &policy_id).await?;
    l7rule_data(&RuleData {
        kind: Some(&kind),
        compare: Some(&compare_type),
        key: key.as_deref(),
        value: Some(&value),
    })?;
    if g.l7rules
        .iter()
        .filter(|r| r.l7policy_id == policy_id)
        .count()
        >= MAX_RULES
    {
        return Err(ApiError::Conflict(format!(
            "Too many rules on L7 policy {policy_id}"
        )));
    }
    let policy = g
        .l7policy(&policy_id)
        .cloned()
        .ok_or_else(|| ApiError::not_found("L7Policy", &policy_id))?;
    let mut changes = lock(
        &mut g,
        std::slice::from_ref(&policy.listener_id),
        Parent::L7Policy(&policy_id),
    )?;
    let r = L7Rule {
        c: Common::create(policy.c.project_id.clone(), Oper::Offline, common),
        l7policy_id: policy_id,
        loadbalancer_id: policy.loadbalancer_id.clone(),
        kind,
        compare_type,
        key,
        value,
        invert,
    };
    super::quota_check::enforce(
        &st,
        &r.c.project_id,
        crate::model::quota::Resource::L7Rule,
        1,
    )
    .await?;
    changes.push(store::put(&r)?);
    st.store.commit(changes).await?;
    st.driver.changed(&r.loadbalancer_id);
    Ok(created("rule", r.wire()))
}

async fn update(
    State(st): State<AppState>,
    ctx: Ctx,
    Path((policy_id, id)): Path<(String, String)>,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let mut i = Input::parse(body, "rule", "rule_", rm::PUT)?;
    let common = CommonInput::read(&mut i, false)?;
    let kind = i.one_of("type", rm::TYPES)?;
    let compare_type = i.one_of("compare_type", rm::COMPARE_TYPES)?;
    let key = line(&mut i, "key")?;
    let value = line(&mut i, "value")?;
    let invert = i.bool("invert")?;
    let _guard = st.lock.lock().await;
    let (mut g, mut r) = find(&st, &ctx, &policy_id, &id).await?;
    let merged = |f: &Field<String>, current: Option<String>| match f {
        Field::Set(v) => Some(v.clone()),
        Field::Null => None,
        Field::Absent => current,
    };
    let m_kind = merged(&kind, Some(r.kind.clone()));
    let m_compare = merged(&compare_type, Some(r.compare_type.clone()));
    let m_key = merged(&key, r.key.clone());
    let m_value = merged(&value, Some(r.value.clone()));
    l7rule_data(&RuleData {
        kind: m_kind.as_deref(),
        compare: m_compare.as_deref(),
        key: m_key.as_deref(),
        value: m_value.as_deref(),
    })?;
    let listener_id = g
        .l7policy(&policy_id)
        .map(|p| p.listener_id.clone())
        .ok_or_else(|| ApiError::not_found("L7Policy", &policy_id))?;
    let mut changes = lock(
        &mut g,
        std::slice::from_ref(&listener_id),
        Parent::L7Policy(&policy_id),
    )?;
    r.kind = m_kind.unwrap_or(r.kind);
    r.compare_type = m_compare.unwrap_or(r.compare_type);
    r.key = m_key;
    r.value = m_value.unwrap_or(r.value);
    r.invert = match invert {
        Field::Set(v) => v,
        Field::Null => false,
        Field::Absent => r.invert,
    };
    r.c.apply(common);
    r.c.begin_update();
    changes.push(store::put(&r)?);
    st.store.commit(changes).await?;
    st.driver.changed(&r.loadbalancer_id);
    Ok(ok("rule", r.wire()))
}

async fn remove(
    State(st): State<AppState>,
    ctx: Ctx,
    Path((policy_id, id)): Path<(String, String)>,
) -> ApiResult<Response> {
    let _guard = st.lock.lock().await;
    let (mut g, mut r) = find(&st, &ctx, &policy_id, &id).await?;
    let listener_id = g
        .l7policy(&policy_id)
        .map(|p| p.listener_id.clone())
        .ok_or_else(|| ApiError::not_found("L7Policy", &policy_id))?;
    let mut changes = lock(
        &mut g,
        std::slice::from_ref(&listener_id),
        Parent::L7Policy(&policy_id),
    )?;
    r.c.provisioning_status = Prov::PendingDelete;
    changes.push(store::put(&r)?);
    st.store.commit(changes).await?;
    st.driver.changed(&r.loadbalancer_id);
    Ok(no_content())
}
