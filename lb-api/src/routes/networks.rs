//! The Neutron-compatible subset the openstack CLI needs for `--vip-subnet-id` and friends:
//! `/v2.0/{networks,subnets,ports}` list (with `name=`/`id=`/… filters), show, create, delete.
//! Errors use Neutron's `{"NeutronError": {"type","message","detail"}}` body. A project sees its
//! own objects and those on shared networks; admins see everything.

use std::net::IpAddr;

use axum::{
    Json, Router,
    extract::{OriginalUri, Path, Query, State},
    http::{HeaderMap, StatusCode, Uri},
    response::{IntoResponse, Response},
    routing::get,
};
use ipnet::IpNet;
use serde_json::{Value, json};

use super::{
    list::{self, ListSpec, Params},
    vip,
};
use crate::{
    AppState,
    auth::Ctx,
    error::ApiError,
    model::{
        common::{new_id, now},
        input::{Field, Input, JsonBody, invalid, required},
        network::{
            AllocationPool, FixedIp, Network, Port, Subnet, default_pools, ip_to_u128, mac_for,
        },
    },
    store::{self, Select, Store},
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/networks", get(list_networks).post(create_network))
        .route("/networks/{id}", get(show_network).delete(delete_network))
        .route("/subnets", get(list_subnets).post(create_subnet))
        .route("/subnets/{id}", get(show_subnet).delete(delete_subnet))
        .route("/ports", get(list_ports).post(create_port))
        .route("/ports/{id}", get(show_port).delete(delete_port))
}

/// An [`ApiError`] rendered the way Neutron does.
pub struct NeutronError(ApiError);

impl From<ApiError> for NeutronError {
    fn from(e: ApiError) -> Self {
        Self(e)
    }
}
impl From<crate::store::StoreError> for NeutronError {
    fn from(e: crate::store::StoreError) -> Self {
        Self(e.into())
    }
}

impl IntoResponse for NeutronError {
    fn into_response(self) -> Response {
        let status = self.0.status();
        if status.is_server_error() {
            return self.0.into_response();
        }
        let kind = match status {
            StatusCode::NOT_FOUND => "NotFound",
            StatusCode::CONFLICT => "Conflict",
            StatusCode::FORBIDDEN => "Forbidden",
            _ => "BadRequest",
        };
        let body =
            json!({"NeutronError": {"type": kind, "message": self.0.to_string(), "detail": ""}});
        (status, Json(body)).into_response()
    }
}

type NResult<T> = Result<T, NeutronError>;

async fn shared_networks(st: &dyn Store) -> NResult<Vec<String>> {
    let all: Vec<Network> = store::list(st, &Select::all()).await?;
    Ok(all.into_iter().filter(|n| n.shared).map(|n| n.id).collect())
}

fn listing(
    items: Vec<Value>,
    plural: &str,
    filters: &[&str],
    params: &Params,
    headers: &HeaderMap,
    uri: &Uri,
) -> NResult<Response> {
    let spec = ListSpec {
        plural,
        filters,
        path: uri.path(),
        max_limit: usize::MAX,
        hidden: &[],
    };
    let body = list::respond(items, params, &spec, &list::base_url(headers))?;
    Ok(Json(body).into_response())
}

fn not_found(kind: &'static str, id: &str) -> NeutronError {
    NeutronError(ApiError::NotFound {
        kind,
        id: id.to_owned(),
    })
}

async fn list_networks(
    State(st): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
    Query(params): Query<Params>,
) -> NResult<Response> {
    let nets: Vec<Network> = store::list(&*st.store, &Select::all()).await?;
    let subnets: Vec<Subnet> = store::list(&*st.store, &Select::all()).await?;
    let items = nets
        .iter()
        .filter(|n| n.shared || ctx.can_see(&n.project_id))
        .map(|n| {
            n.wire(
                subnets
                    .iter()
                    .filter(|s| s.network_id == n.id)
                    .map(|s| s.id.as_str())
                    .collect(),
            )
        })
        .collect();
    let f = [
        "id",
        "name",
        "project_id",
        "tenant_id",
        "shared",
        "admin_state_up",
        "status",
        "created_at",
    ];
    listing(items, "networks", &f, &params, &headers, &uri)
}

async fn visible_network(st: &AppState, ctx: &Ctx, id: &str) -> NResult<Network> {
    match store::get::<Network>(&*st.store, id).await? {
        Some(n) if n.shared || ctx.can_see(&n.project_id) => Ok(n),
        _ => Err(not_found("Network", id)),
    }
}

async fn show_network(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> NResult<Response> {
    let n = visible_network(&st, &ctx, &id).await?;
    let subnets: Vec<Subnet> = store::list(
        &*st.store,
        &Select {
            parent_id: Some(id),
            ..Select::default()
        },
    )
    .await?;
    Ok(
        Json(json!({"network": n.wire(subnets.iter().map(|s| s.id.as_str()).collect())}))
            .into_response(),
    )
}

async fn create_network(
    State(st): State<AppState>,
    ctx: Ctx,
    JsonBody(body): JsonBody,
) -> NResult<Response> {
    let allowed = [
        "name",
        "admin_state_up",
        "shared",
        "project_id",
        "tenant_id",
        "description",
        "mtu",
    ];
    let mut i = Input::parse(body, "network", "network", &allowed)?;
    let name = i.string("name", 255)?.or(String::new());
    let admin_state_up = i.bool("admin_state_up")?.or(true);
    let shared = i.bool("shared")?.or(false);
    if shared {
        ctx.require_admin()?;
    }
    let project = ctx.owner_for_create(i.project()?)?;
    let n = Network {
        id: new_id(),
        name,
        project_id: project,
        admin_state_up,
        shared,
        created_at: now(),
    };
    st.store.commit(vec![store::put(&n)?]).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"network": n.wire(Vec::new())})),
    )
        .into_response())
}

async fn delete_network(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> NResult<Response> {
    let _guard = st.lock.lock().await;
    let n = visible_network(&st, &ctx, &id).await?;
    if !ctx.can_see(&n.project_id) {
        return Err(not_found("Network", &id));
    }
    let sel = Select {
        parent_id: Some(id.clone()),
        ..Select::default()
    };
    let ports: Vec<Port> = store::list(&*st.store, &sel).await?;
    if ports.iter().any(|p| !p.device_owner.is_empty()) {
        return Err(ApiError::Conflict(format!(
            "Unable to complete operation on network {id}. There are one or more ports still in use on the network."
        )).into());
    }
    let subnets: Vec<Subnet> = store::list(&*st.store, &sel).await?;
    let mut changes = vec![store::delete::<Network>(&id)];
    changes.extend(subnets.iter().map(|s| store::delete::<Subnet>(&s.id)));
    changes.extend(ports.iter().map(|p| store::delete::<Port>(&p.id)));
    st.store.commit(changes).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn list_subnets(
    State(st): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
    Query(params): Query<Params>,
) -> NResult<Response> {
    let shared = shared_networks(&*st.store).await?;
    let subnets: Vec<Subnet> = store::list(&*st.store, &Select::all()).await?;
    let items = subnets
        .iter()
        .filter(|s| shared.contains(&s.network_id) || ctx.can_see(&s.project_id))
        .map(Subnet::wire)
        .collect();
    let f = [
        "id",
        "name",
        "project_id",
        "tenant_id",
        "network_id",
        "cidr",
        "ip_version",
        "gateway_ip",
        "enable_dhcp",
        "created_at",
    ];
    listing(items, "subnets", &f, &params, &headers, &uri)
}

async fn visible_subnet(st: &AppState, ctx: &Ctx, id: &str) -> NResult<Subnet> {
    let shared = shared_networks(&*st.store).await?;
    match store::get::<Subnet>(&*st.store, id).await? {
        Some(s) if shared.contains(&s.network_id) || ctx.can_see(&s.project_id) => Ok(s),
        _ => Err(not_found("Subnet", id)),
    }
}

async fn show_subnet(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> NResult<Response> {
    let s = visible_subnet(&st, &ctx, &id).await?;
    Ok(Json(json!({"subnet": s.wire()})).into_response())
}

fn parse_pools(v: Value, net: IpNet) -> Result<Vec<AllocationPool>, ApiError> {
    let pools: Vec<AllocationPool> = serde_json::from_value(v.clone()).map_err(|_| {
        invalid(
            "allocation_pools",
            &v,
            "Value should be a list of {start, end}",
        )
    })?;
    for p in &pools {
        let (Ok(s), Ok(e)) = (p.start.parse::<IpAddr>(), p.end.parse::<IpAddr>()) else {
            return Err(ApiError::bad(format!(
                "Invalid allocation pool {}-{}.",
                p.start, p.end
            )));
        };
        if !net.contains(&s) || !net.contains(&e) || ip_to_u128(s) > ip_to_u128(e) {
            return Err(ApiError::bad(format!(
                "The allocation pool {}-{} spans beyond the subnet cidr {net}.",
                p.start, p.end
            )));
        }
    }
    Ok(pools)
}

async fn create_subnet(
    State(st): State<AppState>,
    ctx: Ctx,
    JsonBody(body): JsonBody,
) -> NResult<Response> {
    let allowed = [
        "name",
        "network_id",
        "cidr",
        "ip_version",
        "gateway_ip",
        "allocation_pools",
        "enable_dhcp",
        "project_id",
        "tenant_id",
        "description",
        "dns_nameservers",
        "host_routes",
    ];
    let mut i = Input::parse(body, "subnet", "subnet", &allowed)?;
    let name = i.string("name", 255)?.or(String::new());
    let network_id = required("network_id", i.uuid("network_id")?)?;
    let cidr = required("cidr", i.string("cidr", 64)?)?;
    let net: IpNet = cidr
        .parse::<IpNet>()
        .map_err(|_| invalid("cidr", &cidr, "Value should be a CIDR"))?
        .trunc();
    let version: u8 = if matches!(net, IpNet::V4(_)) { 4 } else { 6 };
    if let Field::Set(v) = i.int("ip_version", 4, 6)?
        && v != i64::from(version)
    {
        return Err(ApiError::bad(format!("Cidr {cidr} does not match ip_version {v}.")).into());
    }
    let gateway = match i.ip("gateway_ip")? {
        Field::Set(ip) if !net.contains(&ip) => {
            return Err(ApiError::bad(format!("Gateway IP {ip} is not in subnet {net}.")).into());
        }
        Field::Set(ip) => Some(ip),
        Field::Null => None,
        Field::Absent => net.hosts().next(),
    };
    let pools = match i.raw("allocation_pools") {
        Field::Set(v) => parse_pools(v, net)?,
        _ => default_pools(net, gateway),
    };
    let enable_dhcp = i.bool("enable_dhcp")?.or(true);
    let project = ctx.owner_for_create(i.project()?)?;
    let network = visible_network(&st, &ctx, &network_id).await?;
    if !ctx.can_see(&network.project_id) {
        return Err(ApiError::policy().into());
    }
    let s = Subnet {
        id: new_id(),
        name,
        project_id: project,
        network_id,
        cidr: net.to_string(),
        ip_version: version,
        gateway_ip: gateway.map(|g| g.to_string()),
        allocation_pools: pools,
        enable_dhcp,
        created_at: now(),
    };
    st.store.commit(vec![store::put(&s)?]).await?;
    Ok((StatusCode::CREATED, Json(json!({"subnet": s.wire()}))).into_response())
}

async fn delete_subnet(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> NResult<Response> {
    let _guard = st.lock.lock().await;
    let s = visible_subnet(&st, &ctx, &id).await?;
    if !ctx.can_see(&s.project_id) {
        return Err(not_found("Subnet", &id));
    }
    if !vip::used_addresses(&*st.store, &s).await?.is_empty() {
        return Err(ApiError::Conflict(format!(
            "Unable to complete operation on subnet {id}: One or more ports have an IP allocation from this subnet."
        )).into());
    }
    st.store.commit(vec![store::delete::<Subnet>(&id)]).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn list_ports(
    State(st): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
    Query(params): Query<Params>,
) -> NResult<Response> {
    let ports: Vec<Port> = store::list(&*st.store, &Select::project(ctx.scope())).await?;
    let items = ports.iter().map(Port::wire).collect();
    let f = [
        "id",
        "name",
        "project_id",
        "tenant_id",
        "network_id",
        "device_id",
        "device_owner",
        "mac_address",
        "admin_state_up",
        "status",
        "created_at",
    ];
    listing(items, "ports", &f, &params, &headers, &uri)
}

async fn visible_port(st: &AppState, ctx: &Ctx, id: &str) -> NResult<Port> {
    match store::get::<Port>(&*st.store, id).await? {
        Some(p) if ctx.can_see(&p.project_id) => Ok(p),
        _ => Err(not_found("Port", id)),
    }
}

async fn show_port(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> NResult<Response> {
    let p = visible_port(&st, &ctx, &id).await?;
    Ok(Json(json!({"port": p.wire()})).into_response())
}

async fn create_port(
    State(st): State<AppState>,
    ctx: Ctx,
    JsonBody(body): JsonBody,
) -> NResult<Response> {
    let allowed = [
        "name",
        "network_id",
        "fixed_ips",
        "device_id",
        "device_owner",
        "admin_state_up",
        "project_id",
        "tenant_id",
        "description",
        "mac_address",
    ];
    let mut i = Input::parse(body, "port", "port", &allowed)?;
    let name = i.string("name", 255)?.or(String::new());
    let network_id = required("network_id", i.uuid("network_id")?)?;
    let device_id = i.string("device_id", 255)?.or(String::new());
    let device_owner = i.string("device_owner", 255)?.or(String::new());
    let admin_state_up = i.bool("admin_state_up")?.or(true);
    let wanted: Vec<Value> = match i.raw("fixed_ips") {
        Field::Set(Value::Array(a)) => a,
        Field::Set(v) => return Err(invalid("fixed_ips", &v, "Value should be a list").into()),
        _ => Vec::new(),
    };
    let project = ctx.owner_for_create(i.project()?)?;
    let network = visible_network(&st, &ctx, &network_id).await?;
    let _guard = st.lock.lock().await;
    let subnets: Vec<Subnet> = store::list(
        &*st.store,
        &Select {
            parent_id: Some(network.id.clone()),
            ..Select::default()
        },
    )
    .await?;
    let mut fixed_ips = Vec::new();
    let requests: Vec<(Option<String>, Option<IpAddr>)> = if wanted.is_empty() {
        subnets
            .first()
            .map(|s| (Some(s.id.clone()), None))
            .into_iter()
            .collect()
    } else {
        wanted
            .iter()
            .map(|w| {
                let sid = w
                    .get("subnet_id")
                    .and_then(Value::as_str)
                    .map(str::to_owned);
                let ip = w
                    .get("ip_address")
                    .and_then(Value::as_str)
                    .and_then(|s| s.parse().ok());
                (sid, ip)
            })
            .collect()
    };
    for (sid, ip) in requests {
        let subnet = subnets
            .iter()
            .find(|s| {
                sid.as_ref()
                    .map_or_else(|| ip.is_some_and(|a| s.contains(a)), |id| *id == s.id)
            })
            .ok_or_else(|| ApiError::bad("Invalid fixed_ips for this network."))?;
        let address = vip::pick_address(&*st.store, subnet, ip).await?;
        fixed_ips.push(FixedIp {
            subnet_id: subnet.id.clone(),
            ip_address: address.to_string(),
        });
    }
    let id = new_id();
    let p = Port {
        mac_address: mac_for(&id),
        id,
        name,
        project_id: project,
        network_id,
        fixed_ips,
        device_id,
        device_owner,
        admin_state_up,
        created_at: now(),
    };
    st.store.commit(vec![store::put(&p)?]).await?;
    Ok((StatusCode::CREATED, Json(json!({"port": p.wire()}))).into_response())
}

async fn delete_port(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> NResult<Response> {
    let _guard = st.lock.lock().await;
    visible_port(&st, &ctx, &id).await?;
    st.store.commit(vec![store::delete::<Port>(&id)]).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
