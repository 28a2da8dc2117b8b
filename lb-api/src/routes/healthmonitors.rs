//! `/healthmonitors`: CRUD as Octavia's health monitor controller: one monitor per pool, the
//! type/pool-protocol matrix (UDP-CONNECT, SCTP, and TCP/HTTP on UDP/SCTP pools), the HTTP-only
//! fields with their defaults and `null` resets, `http_version`/`domain_name`, and the pool and
//! LB locked `PENDING_UPDATE`.

use axum::{
    Router,
    extract::{Path, State},
    response::Response,
    routing::get,
};
use serde_json::{Value, json};

use super::{
    ListCall, child_list, created,
    lock::{Parent, lock, pool_listeners},
    no_content, ok, pools,
};
use crate::{
    AppState,
    auth::Ctx,
    error::{ApiError, ApiResult},
    model::{
        common::{Common, CommonInput, Oper, Prov},
        graph::Graph,
        healthmonitor::{self as hm, HealthMonitor},
        input::{Field, Input, JsonBody, invalid, required},
        validate,
    },
    store::{self, Select},
};

/// `[api_settings] udp_connect_min_interval_health_monitor`.
const UDP_CONNECT_MIN_DELAY: i64 = 3;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthmonitors", get(list).post(create))
        .route("/healthmonitors/{id}", get(show).put(update).delete(remove))
}

async fn list(State(st): State<AppState>, ctx: Ctx, call: ListCall) -> ApiResult<Response> {
    let g = Graph::load(&*st.store, &Select::project(ctx.scope())).await?;
    let items = g
        .hms
        .iter()
        .map(|h| {
            let mut v = h.wire();
            v["pool_id"] = json!(h.pool_id);
            v
        })
        .collect();
    child_list(
        &st,
        &call,
        "healthmonitors",
        &hm::filters(),
        &["pool_id"],
        items,
    )
}

/// The graph and monitor `id`, if the caller may see it.
async fn find(st: &AppState, ctx: &Ctx, id: &str) -> ApiResult<(Graph, HealthMonitor)> {
    let h = store::get::<HealthMonitor>(&*st.store, id)
        .await?
        .filter(|h| ctx.can_see(&h.c.project_id))
        .ok_or_else(|| ApiError::not_found("Health Monitor", id))?;
    let g = pools::find(st, ctx, &h.pool_id)
        .await
        .map_err(|_| ApiError::not_found("Health Monitor", id))?;
    Ok((g, h))
}

async fn show(State(st): State<AppState>, ctx: Ctx, Path(id): Path<String>) -> ApiResult<Response> {
    let (_, h) = find(&st, &ctx, &id).await?;
    Ok(ok("healthmonitor", h.wire()))
}

/// The fields both create and update accept, as sent.
struct Fields {
    delay: Field<i64>,
    timeout: Field<i64>,
    max_retries: Field<i64>,
    max_retries_down: Field<i64>,
    http_method: Field<String>,
    url_path: Field<String>,
    expected_codes: Field<String>,
    http_version: Field<f64>,
    domain_name: Field<String>,
}

fn read(i: &mut Input) -> ApiResult<Fields> {
    let url_path = i.string("url_path", usize::MAX)?;
    if let Field::Set(p) = &url_path
        && !validate::url_path(p)
    {
        return Err(invalid(
            "url_path",
            p,
            "Value must be a valid URL Path string",
        ));
    }
    let expected_codes = i.string("expected_codes", usize::MAX)?;
    if let Field::Set(c) = &expected_codes
        && !validate::expected_codes(c)
    {
        return Err(invalid(
            "expected_codes",
            c,
            &format!(
                "Value should match the pattern {}",
                validate::EXPECTED_CODES_PATTERN
            ),
        ));
    }
    let http_version = match i.raw("http_version") {
        Field::Set(v) => {
            let n = match &v {
                Value::Number(n) => n.as_f64(),
                Value::String(s) => s.trim().parse::<f64>().ok(),
                _ => None,
            };
            match n {
                Some(n) if n == 1.0 || n == 1.1 => Field::Set(n),
                _ => {
                    let shown = v.as_str().map_or_else(|| v.to_string(), str::to_owned);
                    return Err(invalid(
                        "http_version",
                        shown,
                        "Value should be one of: 1.0, 1.1",
                    ));
                }
            }
        }
        Field::Null => Field::Null,
        Field::Absent => Field::Absent,
    };
    let domain_name = i.string("domain_name", 255)?;
    if let Field::Set(d) = &domain_name {
        if d.is_empty() {
            return Err(invalid(
                "domain_name",
                d,
                "Value should have a minimum character requirement of 1",
            ));
        }
        if !validate::domain_name(d) {
            return Err(invalid(
                "domain_name",
                d,
                &format!(
                    "Value should match the pattern {}",
                    validate::DOMAIN_NAME_PATTERN
                ),
            ));
        }
    }
    Ok(Fields {
        delay: i.int("delay", 0, i64::MAX)?,
        timeout: i.int("timeout", 0, i64::MAX)?,
        max_retries: i.int("max_retries", 1, 10)?,
        max_retries_down: i.int("max_retries_down", 1, 10)?,
        http_method: i.one_of("http_method", hm::METHODS)?,
        url_path,
        expected_codes,
        http_version,
        domain_name,
    })
}

/// `InvalidOption` for an HTTP-only field on another type.
fn not_for_type(field: &str, kind: &str) -> ApiError {
    ApiError::bad(format!(
        "{field} is not a valid option for health monitors of type {kind}"
    ))
}

/// The monitor type / pool protocol matrix and the UDP-CONNECT minimum delay.
fn check_pool(kind: &str, pool_protocol: &str, delay: Option<i64>) -> ApiResult<()> {
    if matches!(pool_protocol, "UDP" | "SCTP") {
        if !hm::compatible(pool_protocol, kind) {
            return Err(ApiError::validation(format!(
                "The associated pool protocol is {pool_protocol}, so only a \
                 UDP-CONNECT/SCTP/TCP/HTTP health monitor is supported."
            )));
        }
        if let Some(d) = delay
            && kind == "UDP-CONNECT"
            && d < UDP_CONNECT_MIN_DELAY
        {
            return Err(ApiError::validation(format!(
                "The request delay value {d} should be larger than {UDP_CONNECT_MIN_DELAY} for \
                 UDP-CONNECT health monitor type."
            )));
        }
    } else if !hm::compatible(pool_protocol, kind) {
        return Err(ApiError::validation(format!(
            "The {kind} type is only supported for pools of type UDP/SCTP."
        )));
    }
    Ok(())
}

/// `domain_name` needs `http_version` ≥ 1.1.
fn check_domain(h: &HealthMonitor) -> ApiResult<()> {
    if h.domain_name.is_some() {
        match h.http_version {
            None => {
                return Err(ApiError::validation(
                    "'http_version' must be specified when 'domain_name' is provided.",
                ));
            }
            Some(v) if v < 1.1 => {
                return Err(ApiError::bad(format!(
                    "http_version {v:.1} is not a valid option for health monitors HTTP 1.1 \
                     domain name health check"
                )));
            }
            Some(_) => {}
        }
    }
    Ok(())
}

async fn create(
    State(st): State<AppState>,
    ctx: Ctx,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let mut i = Input::parse(body, "healthmonitor", "health_monitor_", hm::POST)?;
    let common = CommonInput::read(&mut i, false)?;
    i.project()?;
    let pool_id = required("pool_id", i.uuid("pool_id")?)?;
    let kind = required("type", i.one_of("type", hm::TYPES)?)?;
    let f = read(&mut i)?;
    let delay = required("delay", f.delay)?;
    let timeout = required("timeout", f.timeout)?;
    let max_retries = required("max_retries", f.max_retries)?;
    let http = hm::is_http(&kind);
    if !http {
        for (key, sent) in [
            ("http_method", f.http_method.clone().set()),
            ("url_path", f.url_path.clone().set()),
            ("expected_codes", f.expected_codes.clone().set()),
        ] {
            if sent.is_some_and(|s| !s.is_empty()) {
                return Err(not_for_type(key, &kind));
            }
        }
    }
    let http_field = |v: Field<String>, default: &str| {
        http.then(|| v.set().filter(|s| !s.is_empty()).unwrap_or(default.into()))
    };
    let _guard = st.lock.lock().await;
    let mut g = pools::find(&st, &ctx, &pool_id).await?;
    let pool = g
        .pool(&pool_id)
        .cloned()
        .ok_or_else(|| ApiError::not_found("Pool", &pool_id))?;
    let h = HealthMonitor {
        c: Common::create(pool.c.project_id.clone(), Oper::Offline, common),
        pool_id: pool_id.clone(),
        loadbalancer_id: pool.loadbalancer_id.clone(),
        delay,
        timeout,
        max_retries,
        max_retries_down: f.max_retries_down.or(3),
        http_method: http_field(f.http_method, "GET"),
        url_path: http_field(f.url_path, "/"),
        expected_codes: http_field(f.expected_codes, "200"),
        http_version: f.http_version.set(),
        domain_name: f.domain_name.set(),
        kind,
    };
    check_pool(&h.kind, &pool.protocol, Some(h.delay))?;
    check_domain(&h)?;
    let affected = pool_listeners(&g, &pool_id);
    let mut changes = lock(&mut g, &affected, Parent::Pool(&pool_id))?;
    if g.pool_hm(&pool_id).is_some() {
        return Err(ApiError::Conflict(
            "This pool already has a health monitor".into(),
        ));
    }
    super::quota_check::enforce(
        &st,
        &h.c.project_id,
        crate::model::quota::Resource::HealthMonitor,
        1,
    )
    .await?;
    changes.push(store::put(&h)?);
    st.store.commit(changes).await?;
    st.driver.changed(&h.loadbalancer_id);
    Ok(created("healthmonitor", h.wire()))
}

async fn update(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let mut i = Input::parse(body, "healthmonitor", "health_monitor_", hm::PUT)?;
    let common = CommonInput::read(&mut i, false)?;
    let f = read(&mut i)?;
    let _guard = st.lock.lock().await;
    let (mut g, mut h) = find(&st, &ctx, &id).await?;
    if !hm::is_http(&h.kind) {
        for (key, present) in [
            ("http_method", f.http_method.present()),
            ("url_path", f.url_path.present()),
            ("expected_codes", f.expected_codes.present()),
        ] {
            if present {
                return Err(not_for_type(key, &h.kind));
            }
        }
    }
    for (key, v) in [
        ("delay", &f.delay),
        ("max_retries", &f.max_retries),
        ("timeout", &f.timeout),
    ] {
        if *v == Field::Null {
            return Err(ApiError::bad(format!(
                "None is not a valid option for {key}"
            )));
        }
    }
    let protocol = g
        .pool(&h.pool_id)
        .map(|p| p.protocol.clone())
        .unwrap_or_default();
    if matches!(protocol.as_str(), "UDP" | "SCTP") {
        check_pool(&h.kind, &protocol, f.delay.clone().set())?;
    }
    h.c.apply(common);
    h.delay = f.delay.or(h.delay);
    h.timeout = f.timeout.or(h.timeout);
    h.max_retries = f.max_retries.or(h.max_retries);
    h.max_retries_down = match f.max_retries_down {
        Field::Set(v) => v,
        Field::Null => 3,
        Field::Absent => h.max_retries_down,
    };
    for (sent, slot, default) in [
        (f.http_method, &mut h.http_method, "GET"),
        (f.url_path, &mut h.url_path, "/"),
        (f.expected_codes, &mut h.expected_codes, "200"),
    ] {
        match sent {
            Field::Set(v) => *slot = Some(v),
            Field::Null => *slot = Some(default.to_owned()),
            Field::Absent => {}
        }
    }
    match f.http_version {
        Field::Set(v) => h.http_version = Some(v),
        Field::Null => h.http_version = None,
        Field::Absent => {}
    }
    match f.domain_name {
        Field::Set(v) => h.domain_name = Some(v),
        Field::Null => h.domain_name = None,
        Field::Absent => {}
    }
    check_domain(&h)?;
    let pool_id = h.pool_id.clone();
    let affected = pool_listeners(&g, &pool_id);
    let mut changes = lock(&mut g, &affected, Parent::Pool(&pool_id))?;
    h.c.begin_update();
    changes.push(store::put(&h)?);
    st.store.commit(changes).await?;
    st.driver.changed(&h.loadbalancer_id);
    Ok(ok("healthmonitor", h.wire()))
}

async fn remove(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let _guard = st.lock.lock().await;
    let (mut g, mut h) = find(&st, &ctx, &id).await?;
    let pool_id = h.pool_id.clone();
    let affected = pool_listeners(&g, &pool_id);
    let mut changes = lock(&mut g, &affected, Parent::Pool(&pool_id))?;
    h.c.provisioning_status = Prov::PendingDelete;
    changes.push(store::put(&h)?);
    st.store.commit(changes).await?;
    st.driver.changed(&h.loadbalancer_id);
    Ok(no_content())
}
