//! `/listeners`: CRUD with Octavia's validation (protocols, per-family port uniqueness, TLS
//! fields only where they apply, insert headers, timeouts) and the LB lock.

use std::collections::BTreeMap;

use axum::{
    Router,
    extract::{Path, State},
    http::HeaderMap,
    response::Response,
    routing::get,
};
use ipnet::IpNet;
use serde_json::Value;

use super::{ListCall, child_list, created, lb_graph, lock_lb, no_content, ok};
use crate::{
    AppState,
    auth::Ctx,
    error::{ApiError, ApiResult},
    model::{
        common::{Common, CommonInput, Oper, Prov},
        graph::Graph,
        input::{Field, Input, JsonBody, invalid, required},
        listener::{self as lm, Listener},
    },
    store::{self, Select},
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/listeners", get(list).post(create))
        .route("/listeners/{id}", get(show).put(update).delete(remove))
}

async fn list(State(st): State<AppState>, ctx: Ctx, call: ListCall) -> ApiResult<Response> {
    let g = Graph::load(&*st.store, &Select::project(ctx.scope())).await?;
    let items = g
        .listeners
        .iter()
        .map(|l| {
            let mut v = g.listener_wire(l);
            v["loadbalancer_id"] = serde_json::json!(l.loadbalancer_id);
            v
        })
        .collect();
    child_list(
        &st,
        &call,
        "listeners",
        &lm::filters(),
        &["loadbalancer_id"],
        items,
    )
}

/// The graph holding listener `id`, if the caller may see it.
async fn find(st: &AppState, ctx: &Ctx, id: &str) -> ApiResult<Graph> {
    let l = store::get::<Listener>(&*st.store, id)
        .await?
        .filter(|l| ctx.can_see(&l.c.project_id))
        .ok_or_else(|| ApiError::not_found("Listener", id))?;
    lb_graph(st, ctx, &l.loadbalancer_id)
        .await
        .map_err(|_| ApiError::not_found("Listener", id))
}

async fn show(State(st): State<AppState>, ctx: Ctx, Path(id): Path<String>) -> ApiResult<Response> {
    let g = find(&st, &ctx, &id).await?;
    let l = g
        .listener(&id)
        .ok_or_else(|| ApiError::not_found("Listener", &id))?;
    Ok(ok("listener", g.listener_wire(l)))
}

/// The updatable fields, applied onto `l` (create starts from defaults).
fn apply(i: &mut Input, l: &mut Listener) -> ApiResult<()> {
    let [d_client, d_connect, d_member, d_tcp] = lm::DEFAULT_TIMEOUTS;
    l.connection_limit = match i.int("connection_limit", -1, i64::from(i32::MAX))? {
        Field::Set(v) => v,
        Field::Null => -1,
        Field::Absent => l.connection_limit,
    };
    for (key, slot, default) in [
        ("timeout_client_data", &mut l.timeout_client_data, d_client),
        (
            "timeout_member_connect",
            &mut l.timeout_member_connect,
            d_connect,
        ),
        ("timeout_member_data", &mut l.timeout_member_data, d_member),
        ("timeout_tcp_inspect", &mut l.timeout_tcp_inspect, d_tcp),
    ] {
        match i.int(key, 0, lm::MAX_TIMEOUT)? {
            Field::Set(v) => *slot = v,
            Field::Null => *slot = default,
            Field::Absent => {}
        }
    }
    match i.uuid("default_pool_id")? {
        Field::Set(v) => l.default_pool_id = Some(v),
        Field::Null => l.default_pool_id = None,
        Field::Absent => {}
    }
    match i.raw("insert_headers") {
        Field::Set(Value::Object(m)) => {
            let mut h = BTreeMap::new();
            for (k, v) in m {
                let v = match v {
                    Value::String(s) if s.len() <= 255 => s,
                    Value::Bool(b) => b.to_string(),
                    other => {
                        return Err(invalid("insert_headers", other, "Values should be strings"));
                    }
                };
                h.insert(k, v);
            }
            l.insert_headers = h;
        }
        Field::Set(other) => {
            return Err(invalid("insert_headers", other, "Value should be a dict"));
        }
        Field::Null => l.insert_headers.clear(),
        Field::Absent => {}
    }
    let opt = |f: Field<String>, slot: &mut Option<String>| match f {
        Field::Set(v) => *slot = Some(v),
        Field::Null => *slot = None,
        Field::Absent => {}
    };
    opt(
        i.string("default_tls_container_ref", 255)?,
        &mut l.default_tls_container_ref,
    );
    opt(
        i.string("client_ca_tls_container_ref", 255)?,
        &mut l.client_ca_tls_container_ref,
    );
    opt(
        i.string("client_crl_container_ref", 255)?,
        &mut l.client_crl_container_ref,
    );
    opt(i.string("tls_ciphers", 2048)?, &mut l.tls_ciphers);
    match i.strings("sni_container_refs", 255)? {
        Field::Set(v) => l.sni_container_refs = v,
        Field::Null => l.sni_container_refs.clear(),
        Field::Absent => {}
    }
    match i.one_of("client_authentication", &["NONE", "OPTIONAL", "MANDATORY"])? {
        Field::Set(v) => l.client_authentication = v,
        Field::Null => l.client_authentication = "NONE".into(),
        Field::Absent => {}
    }
    match i.strings("allowed_cidrs", 64)? {
        Field::Set(v) => {
            let mut out = Vec::new();
            for c in v {
                let net: IpNet = c
                    .parse::<IpNet>()
                    .or_else(|_| c.parse::<std::net::IpAddr>().map(IpNet::from))
                    .map_err(|_| invalid("allowed_cidrs", &c, "Value should be a list of CIDRs"))?;
                let s = net.trunc().to_string();
                if !out.contains(&s) {
                    out.push(s);
                }
            }
            l.allowed_cidrs = out;
        }
        Field::Null => l.allowed_cidrs.clear(),
        Field::Absent => {}
    }
    for (key, allowed, slot) in [
        ("tls_versions", lm::TLS_VERSIONS, &mut l.tls_versions),
        ("alpn_protocols", lm::ALPN, &mut l.alpn_protocols),
    ] {
        match i.strings(key, 32)? {
            Field::Set(v) if v.is_empty() => {
                return Err(invalid(key, "[]", "Value should not be empty"));
            }
            Field::Set(v) => {
                if let Some(bad) = v.iter().find(|x| !allowed.contains(&x.as_str())) {
                    return Err(invalid(
                        key,
                        bad,
                        &format!("Value should be one of: {}", allowed.join(", ")),
                    ));
                }
                *slot = Some(v);
            }
            Field::Null => *slot = None,
            Field::Absent => {}
        }
    }
    match i.int("hsts_max_age", 0, i64::from(i32::MAX))? {
        Field::Set(v) => l.hsts_max_age = Some(v),
        Field::Null => l.hsts_max_age = None,
        Field::Absent => {}
    }
    l.hsts_include_subdomains = i
        .bool("hsts_include_subdomains")?
        .or(l.hsts_include_subdomains);
    l.hsts_preload = i.bool("hsts_preload")?.or(l.hsts_preload);
    Ok(())
}

/// Cross-field rules, checked after every create/update.
fn validate(l: &Listener, g: &Graph) -> ApiResult<()> {
    let tls = l.is_tls();
    if !matches!(l.protocol.as_str(), "HTTP" | "TERMINATED_HTTPS") && !l.insert_headers.is_empty() {
        return Err(ApiError::bad(format!(
            "insert-headers is not a valid option for a {} protocol listener.",
            l.protocol
        )));
    }
    for k in l.insert_headers.keys() {
        let ok = lm::INSERT_HEADERS.contains(&k.as_str())
            || (tls && lm::INSERT_HEADERS_TLS.contains(&k.as_str()));
        if !ok {
            return Err(ApiError::bad(format!(
                "{k} is not a valid option for insert_headers"
            )));
        }
    }
    let has_refs = l.default_tls_container_ref.is_some()
        || !l.sni_container_refs.is_empty()
        || l.client_ca_tls_container_ref.is_some()
        || l.client_crl_container_ref.is_some();
    if has_refs && !matches!(l.protocol.as_str(), "TERMINATED_HTTPS" | "PROMETHEUS") {
        return Err(ApiError::validation(
            "Certificate container references are only allowed on TERMINATED_HTTPS or PROMETHEUS protocol listeners.",
        ));
    }
    if tls && l.default_tls_container_ref.is_none() && l.sni_container_refs.is_empty() {
        return Err(ApiError::validation(
            "An SNI or default certificate container reference must be provided for TERMINATED_HTTPS listeners.",
        ));
    }
    if l.client_authentication != "NONE" && l.client_ca_tls_container_ref.is_none() {
        return Err(ApiError::validation(
            "Client authentication setting OPTIONAL/MANDATORY requires a client CA container reference.",
        ));
    }
    if l.client_crl_container_ref.is_some() && l.client_ca_tls_container_ref.is_none() {
        return Err(ApiError::validation(
            "A client authentication CA reference is required to specify a client authentication revocation list.",
        ));
    }
    if !tls && (l.hsts_max_age.is_some() || l.hsts_include_subdomains || l.hsts_preload) {
        return Err(ApiError::validation(
            "The HSTS feature can only be used for listeners using the TERMINATED_HTTPS protocol.",
        ));
    }
    if l.hsts_max_age.is_none() && (l.hsts_include_subdomains || l.hsts_preload) {
        return Err(ApiError::validation(
            "HSTS configuration options hsts_include_subdomains and hsts_preload only make sense if hsts_max_age is set as well.",
        ));
    }
    if let Some(pid) = &l.default_pool_id {
        if l.protocol == "PROMETHEUS" {
            return Err(ApiError::validation(
                "Protocol PROMETHEUS listeners cannot have child objects.",
            ));
        }
        let pool = g
            .pool(pid)
            .filter(|p| p.c.provisioning_status != Prov::PendingDelete)
            .ok_or_else(|| ApiError::not_found("Pool", pid))?;
        if !lm::pool_protocols(&l.protocol).contains(&pool.protocol.as_str()) {
            return Err(ApiError::validation(format!(
                "The pool protocol '{}' is invalid while the listener protocol is '{}'.",
                pool.protocol, l.protocol
            )));
        }
    }
    Ok(())
}

async fn create(
    State(st): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    if super::child_create::listener_wanted(&body) {
        return Ok(super::child_create::listener(&st, &headers, body).await);
    }
    let mut i = Input::parse(body, "listener", "listener_", lm::POST)?;
    let common = CommonInput::read(&mut i, true)?;
    let requested_project = i.project()?;
    let protocol = required("protocol", i.one_of("protocol", lm::PROTOCOLS)?)?;
    let protocol_port = required("protocol_port", i.int("protocol_port", 1, 65535)?)?;
    let lb_id = required("loadbalancer_id", i.uuid("loadbalancer_id")?)?;
    // Children (handled above); what gets here is empty.
    i.raw("default_pool");
    i.raw("l7policies");
    let project = ctx.owner_for_create(requested_project)?;
    let tls = protocol == "TERMINATED_HTTPS";
    let [d_client, d_connect, d_member, d_tcp] = lm::DEFAULT_TIMEOUTS;
    let mut l = Listener {
        c: Common::create(project, Oper::Offline, common),
        loadbalancer_id: lb_id.clone(),
        protocol,
        protocol_port,
        connection_limit: -1,
        default_pool_id: None,
        insert_headers: BTreeMap::new(),
        timeout_client_data: d_client,
        timeout_member_connect: d_connect,
        timeout_member_data: d_member,
        timeout_tcp_inspect: d_tcp,
        default_tls_container_ref: None,
        sni_container_refs: Vec::new(),
        client_authentication: "NONE".into(),
        client_ca_tls_container_ref: None,
        client_crl_container_ref: None,
        allowed_cidrs: Vec::new(),
        tls_ciphers: tls.then(|| lm::DEFAULT_CIPHERS.to_owned()),
        tls_versions: tls.then(|| {
            lm::DEFAULT_TLS_VERSIONS
                .iter()
                .map(|s| (*s).to_owned())
                .collect()
        }),
        alpn_protocols: tls.then(|| lm::ALPN.iter().map(|s| (*s).to_owned()).collect()),
        hsts_max_age: None,
        hsts_include_subdomains: false,
        hsts_preload: false,
    };
    apply(&mut i, &mut l)?;
    let _guard = st.lock.lock().await;
    // Octavia looks the load balancer up first, in any project: an unknown one is 404
    // `Load Balancer <id> not found.` (`_get_lb_project_id_provider`); one of another project
    // fails the policy check (403).
    let mut g = crate::model::graph::Graph::load_lb(&*st.store, &lb_id).await?;
    match g.lb(&lb_id) {
        Some(lb) if lb.c.provisioning_status != crate::model::common::Prov::Deleted => {
            if !ctx.can_see(&lb.c.project_id) {
                return Err(ApiError::policy());
            }
        }
        _ => return Err(ApiError::not_found("Load Balancer", &lb_id)),
    }
    let mut lb = g.lbs[0].clone();
    if lb.c.project_id != l.c.project_id {
        return Err(ApiError::validation(
            "Load balancer and listener must be in the same project.",
        ));
    }
    validate(&l, &g)?;
    if g.listeners.iter().any(|o| {
        o.protocol_port == l.protocol_port
            && lm::port_family(&o.protocol) == lm::port_family(&l.protocol)
    }) {
        return Err(ApiError::Conflict(format!(
            "Another Listener on this Load Balancer is already using protocol {} and protocol_port {}",
            l.protocol, l.protocol_port
        )));
    }
    super::quota_check::enforce(
        &st,
        &l.c.project_id,
        crate::model::quota::Resource::Listener,
        1,
    )
    .await?;
    lock_lb(&mut lb)?;
    st.store
        .commit(vec![store::put(&lb)?, store::put(&l)?])
        .await?;
    st.driver.changed(&lb_id);
    g.listeners.push(l.clone());
    Ok(created("listener", g.listener_wire(&l)))
}

async fn update(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let mut i = Input::parse(body, "listener", "listener_", lm::PUT)?;
    let common = CommonInput::read(&mut i, true)?;
    let _guard = st.lock.lock().await;
    let mut g = find(&st, &ctx, &id).await?;
    let mut l = g
        .listener(&id)
        .cloned()
        .ok_or_else(|| ApiError::not_found("Listener", &id))?;
    apply(&mut i, &mut l)?;
    l.c.apply(common);
    validate(&l, &g)?;
    let mut lb = g.lbs[0].clone();
    lock_lb(&mut lb)?;
    l.c.begin_update();
    st.store
        .commit(vec![store::put(&lb)?, store::put(&l)?])
        .await?;
    st.driver.changed(&lb.c.id);
    if let Some(slot) = g.listeners.iter_mut().find(|o| o.c.id == id) {
        *slot = l.clone();
    }
    Ok(ok("listener", g.listener_wire(&l)))
}

async fn remove(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let _guard = st.lock.lock().await;
    let g = find(&st, &ctx, &id).await?;
    let mut lb = g.lbs[0].clone();
    lock_lb(&mut lb)?;
    let mut changes = vec![store::put(&lb)?];
    let mut l = g
        .listener(&id)
        .cloned()
        .ok_or_else(|| ApiError::not_found("Listener", &id))?;
    l.c.provisioning_status = Prov::PendingDelete;
    changes.push(store::put(&l)?);
    for p in g.l7policies.iter().filter(|p| p.listener_id == id) {
        let mut p = p.clone();
        p.c.provisioning_status = Prov::PendingDelete;
        changes.push(store::put(&p)?);
        for r in g.l7rules.iter().filter(|r| r.l7policy_id == p.c.id) {
            let mut r = r.clone();
            r.c.provisioning_status = Prov::PendingDelete;
            changes.push(store::put(&r)?);
        }
    }
    st.store.commit(changes).await?;
    st.driver.changed(&lb.c.id);
    Ok(no_content())
}
