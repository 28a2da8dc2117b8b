//! `/pools/{pool_id}/members`: single-member CRUD as Octavia's member controller (reserved
//! addresses, subnet lookup in the network registry, address+port unique per pool, the pool and
//! the LB locked `PENDING_UPDATE`). The batch `PUT` lives in [`super::members_batch`].

use std::net::IpAddr;

use axum::{
    Router,
    extract::{Path, State},
    response::Response,
    routing::get,
};

use super::{
    ListCall, child_list, created,
    lock::{Parent, lock, pool_listeners},
    members_batch, no_content, ok, pools,
};
use crate::{
    AppState,
    auth::Ctx,
    error::{ApiError, ApiResult},
    model::{
        common::{Common, CommonInput, Oper, Prov},
        graph::Graph,
        input::{Field, Input, JsonBody, required},
        member::{self as mm, Member},
        network::Subnet,
    },
    store,
};

/// `[networking] reserved_ips` default.
const RESERVED_IPS: &[&str] = &["169.254.169.254"];

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/pools/{pool_id}/members",
            get(list).post(create).put(members_batch::batch),
        )
        .route(
            "/pools/{pool_id}/members/{id}",
            get(show).put(update).delete(remove),
        )
}

async fn list(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(pool_id): Path<String>,
    call: ListCall,
) -> ApiResult<Response> {
    let g = pools::find(&st, &ctx, &pool_id).await?;
    let items = g
        .members
        .iter()
        .filter(|m| m.pool_id == pool_id)
        .map(Member::wire)
        .collect();
    child_list(&st, &call, "members", &mm::filters(), &[], items)
}

/// The graph holding member `id` of pool `pool_id` (404 for the pool, then for the member).
async fn find(st: &AppState, ctx: &Ctx, pool_id: &str, id: &str) -> ApiResult<(Graph, Member)> {
    let g = pools::find(st, ctx, pool_id).await?;
    let m = g
        .members
        .iter()
        .find(|m| m.c.id == id && m.pool_id == pool_id)
        .cloned()
        .ok_or_else(|| ApiError::not_found("Member", id))?;
    Ok((g, m))
}

async fn show(
    State(st): State<AppState>,
    ctx: Ctx,
    Path((pool_id, id)): Path<(String, String)>,
) -> ApiResult<Response> {
    let (_, m) = find(&st, &ctx, &pool_id, &id).await?;
    Ok(ok("member", m.wire()))
}

/// `validate.ip_not_reserved`.
pub fn not_reserved(address: IpAddr) -> ApiResult<()> {
    let shown = address.to_string().to_uppercase();
    if RESERVED_IPS.contains(&shown.as_str()) {
        return Err(ApiError::bad(format!(
            "{shown} is not a valid option for member address"
        )));
    }
    Ok(())
}

/// The fields of a member create (also one entry of a batch update).
pub struct MemberPost {
    pub common: CommonInput,
    pub address: IpAddr,
    pub protocol_port: i64,
    pub weight: Field<i64>,
    pub backup: Field<bool>,
    pub subnet_id: Option<String>,
    pub monitor_address: Field<IpAddr>,
    pub monitor_port: Field<i64>,
    pub request_sriov: bool,
}

impl MemberPost {
    /// Read a `MemberPOST` (WSME checks only).
    pub fn read(i: &mut Input) -> ApiResult<Self> {
        let common = CommonInput::read(i, false)?;
        i.project()?;
        Ok(Self {
            common,
            address: required("address", i.ip("address")?)?,
            protocol_port: required("protocol_port", i.int("protocol_port", 1, 65535)?)?,
            weight: i.int("weight", 0, 256)?,
            backup: i.bool("backup")?,
            subnet_id: i.uuid("subnet_id")?.set(),
            monitor_address: i.ip("monitor_address")?,
            monitor_port: i.int("monitor_port", 1, 65535)?,
            request_sriov: i.bool("request_sriov")?.or(false),
        })
    }

    /// Checks Octavia makes before touching the pool: reserved address, SR-IOV, subnet.
    pub async fn check(&self, st: &AppState) -> ApiResult<()> {
        not_reserved(self.address)?;
        if self.request_sriov {
            return Err(ApiError::bad(
                "The load balancer flavor does not allow SR-IOV member ports.",
            ));
        }
        if let Some(sid) = &self.subnet_id
            && store::get::<Subnet>(&*st.store, sid).await?.is_none()
        {
            return Err(ApiError::bad(format!("Subnet {sid} not found.")));
        }
        Ok(())
    }

    /// A new member of `pool_id` (its LB and project given).
    pub fn into_member(self, pool_id: &str, lb_id: &str, project: &str, has_hm: bool) -> Member {
        let oper = if has_hm {
            Oper::Offline
        } else {
            Oper::NoMonitor
        };
        Member {
            c: Common::create(project.to_owned(), oper, self.common),
            pool_id: pool_id.to_owned(),
            loadbalancer_id: lb_id.to_owned(),
            address: self.address.to_string(),
            protocol_port: self.protocol_port,
            weight: self.weight.or(1),
            backup: self.backup.or(false),
            subnet_id: self.subnet_id,
            monitor_address: self.monitor_address.set().map(|a| a.to_string()),
            monitor_port: self.monitor_port.set(),
        }
    }
}

/// Octavia's duplicate-member 409.
pub fn duplicate(address: &str, port: i64) -> ApiError {
    ApiError::Conflict(format!(
        "Another member on this pool is already using ip {address} on protocol_port {port}"
    ))
}

async fn create(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(pool_id): Path<String>,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let mut i = Input::parse(body, "member", "member_", mm::POST)?;
    let post = MemberPost::read(&mut i)?;
    let _guard = st.lock.lock().await;
    let mut g = pools::find(&st, &ctx, &pool_id).await?;
    post.check(&st).await?;
    let (lb_id, project) = (g.lbs[0].c.id.clone(), g.lbs[0].c.project_id.clone());
    let has_hm = g.pool_hm(&pool_id).is_some();
    let m = post.into_member(&pool_id, &lb_id, &project, has_hm);
    let affected = pool_listeners(&g, &pool_id);
    let mut changes = lock(&mut g, &affected, Parent::Pool(&pool_id))?;
    if g.members.iter().any(|o| {
        o.pool_id == pool_id && o.address == m.address && o.protocol_port == m.protocol_port
    }) {
        return Err(duplicate(&m.address, m.protocol_port));
    }
    super::quota_check::enforce(&st, &project, crate::model::quota::Resource::Member, 1).await?;
    changes.push(store::put(&m)?);
    st.store.commit(changes).await?;
    st.driver.changed(&lb_id);
    Ok(created("member", m.wire()))
}

async fn update(
    State(st): State<AppState>,
    ctx: Ctx,
    Path((pool_id, id)): Path<(String, String)>,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let mut i = Input::parse(body, "member", "member_", mm::PUT)?;
    let common = CommonInput::read(&mut i, false)?;
    let weight = i.int("weight", 0, 256)?;
    let backup = i.bool("backup")?;
    let monitor_address = i.ip("monitor_address")?;
    let monitor_port = i.int("monitor_port", 1, 65535)?;
    let _guard = st.lock.lock().await;
    let (mut g, mut m) = find(&st, &ctx, &pool_id, &id).await?;
    m.c.apply(common);
    match weight {
        Field::Set(w) => m.weight = w,
        Field::Null => m.weight = 1,
        Field::Absent => {}
    }
    match backup {
        Field::Set(b) => m.backup = b,
        Field::Null => m.backup = false,
        Field::Absent => {}
    }
    match monitor_address {
        Field::Set(a) => m.monitor_address = Some(a.to_string()),
        Field::Null => m.monitor_address = None,
        Field::Absent => {}
    }
    match monitor_port {
        Field::Set(p) => m.monitor_port = Some(p),
        Field::Null => m.monitor_port = None,
        Field::Absent => {}
    }
    let affected = pool_listeners(&g, &pool_id);
    let mut changes = lock(&mut g, &affected, Parent::Pool(&pool_id))?;
    m.c.begin_update();
    changes.push(store::put(&m)?);
    st.store.commit(changes).await?;
    st.driver.changed(&m.loadbalancer_id);
    Ok(ok("member", m.wire()))
}

async fn remove(
    State(st): State<AppState>,
    ctx: Ctx,
    Path((pool_id, id)): Path<(String, String)>,
) -> ApiResult<Response> {
    let _guard = st.lock.lock().await;
    let (mut g, mut m) = find(&st, &ctx, &pool_id, &id).await?;
    let affected = pool_listeners(&g, &pool_id);
    let mut changes = lock(&mut g, &affected, Parent::Pool(&pool_id))?;
    m.c.provisioning_status = Prov::PendingDelete;
    changes.push(store::put(&m)?);
    st.store.commit(changes).await?;
    st.driver.changed(&m.loadbalancer_id);
    Ok(no_content())
}
