//! Registering amphora hosts (the admin API and `lb-api host add` share this): checks the
//! input, resolves subnet names to ids, refuses duplicates and removal of a host in use.

use std::net::IpAddr;

use serde::Deserialize;
use serde_json::{Value, json};

use super::host::{Host, Placement};
use crate::{
    model::{
        common::{new_id, now},
        network::Subnet,
    },
    store::{self, Select, Store, StoreError},
};

/// A host as an operator describes it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostInput {
    pub name: String,
    pub address: String,
    #[serde(default = "default_port")]
    pub port: u16,
    #[serde(default)]
    pub vip_interface: Option<String>,
    #[serde(default)]
    pub member_interface: Option<String>,
    /// Subnet ids or names.
    #[serde(default)]
    pub subnets: Vec<String>,
    #[serde(default)]
    pub snat_ipv4: Option<String>,
    #[serde(default)]
    pub snat_ipv6: Option<String>,
    #[serde(default = "yes")]
    pub admin_state_up: bool,
}

fn default_port() -> u16 {
    lb_proto::AGENT_PORT
}
fn yes() -> bool {
    true
}

/// Why a registration was refused.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Conflict(String),
    #[error("Amphora host {0} not found.")]
    NotFound(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<RegistryError> for crate::error::ApiError {
    fn from(e: RegistryError) -> Self {
        match e {
            RegistryError::Invalid(m) => Self::validation(m),
            RegistryError::Conflict(m) => Self::Conflict(m),
            RegistryError::NotFound(id) => Self::not_found("Amphora host", id),
            RegistryError::Store(s) => Self::Store(s),
        }
    }
}

fn ip(field: &str, value: &str, v4: Option<bool>) -> Result<(), RegistryError> {
    let addr: IpAddr = value
        .parse()
        .map_err(|_| RegistryError::Invalid(format!("{field} {value:?} is not an IP address")))?;
    if v4.is_some_and(|v4| addr.is_ipv4() != v4) {
        return Err(RegistryError::Invalid(format!(
            "{field} {value} is not of the right address family"
        )));
    }
    Ok(())
}

async fn resolve_subnets(
    store: &dyn Store,
    names: &[String],
) -> Result<Vec<String>, RegistryError> {
    let subnets: Vec<Subnet> = store::list(store, &Select::all()).await?;
    let mut ids = Vec::new();
    for name in names {
        let found: Vec<&Subnet> = subnets
            .iter()
            .filter(|s| &s.id == name || &s.name == name)
            .collect();
        match found.as_slice() {
            [one] => ids.push(one.id.clone()),
            [] => return Err(RegistryError::Invalid(format!("subnet {name} not found"))),
            _ => {
                return Err(RegistryError::Invalid(format!(
                    "subnet name {name} is ambiguous; use its id"
                )));
            }
        }
    }
    ids.dedup();
    Ok(ids)
}

/// Registers a host.
pub async fn register(store: &dyn Store, input: HostInput) -> Result<Host, RegistryError> {
    if input.name.trim().is_empty() {
        return Err(RegistryError::Invalid("name must not be empty".into()));
    }
    ip("address", &input.address, None)?;
    if let Some(a) = &input.snat_ipv4 {
        ip("snat_ipv4", a, Some(true))?;
    }
    if let Some(a) = &input.snat_ipv6 {
        ip("snat_ipv6", a, Some(false))?;
    }
    for (field, name) in [
        ("vip_interface", &input.vip_interface),
        ("member_interface", &input.member_interface),
    ] {
        if let Some(n) = name
            && (n.is_empty() || n.len() > 15 || n.contains(['/', ' ']))
        {
            return Err(RegistryError::Invalid(format!(
                "{field} {n:?} is not an interface name"
            )));
        }
    }
    if input.port == 0 {
        return Err(RegistryError::Invalid("port must not be 0".into()));
    }
    let hosts: Vec<Host> = store::list(store, &Select::all()).await?;
    if hosts.iter().any(|h| h.name == input.name) {
        return Err(RegistryError::Conflict(format!(
            "an amphora host named {} exists already",
            input.name
        )));
    }
    let host = Host {
        id: new_id(),
        name: input.name,
        address: input.address,
        port: input.port,
        vip_interface: input.vip_interface,
        member_interface: input.member_interface,
        subnet_ids: resolve_subnets(store, &input.subnets).await?,
        snat_ipv4: input.snat_ipv4,
        snat_ipv6: input.snat_ipv6,
        admin_state_up: input.admin_state_up,
        generation: 0,
        desired_hash: None,
        applied_generation: None,
        applied_hash: None,
        last_error: None,
        created_at: now(),
        updated_at: None,
    };
    store.commit(vec![store::put(&host)?]).await?;
    Ok(host)
}

/// Finds a host by id or name.
pub async fn find(store: &dyn Store, id_or_name: &str) -> Result<Host, RegistryError> {
    let hosts: Vec<Host> = store::list(store, &Select::all()).await?;
    hosts
        .into_iter()
        .find(|h| h.id == id_or_name || h.name == id_or_name)
        .ok_or_else(|| RegistryError::NotFound(id_or_name.to_owned()))
}

/// Removes a host that serves no load balancer.
pub async fn remove(store: &dyn Store, id_or_name: &str) -> Result<(), RegistryError> {
    let host = find(store, id_or_name).await?;
    let used: Vec<Placement> = store::list(
        store,
        &Select {
            parent_id: Some(host.id.clone()),
            ..Select::default()
        },
    )
    .await?;
    if !used.is_empty() {
        return Err(RegistryError::Conflict(format!(
            "amphora host {} still serves {} load balancer(s); delete or fail them over first",
            host.name,
            used.len()
        )));
    }
    store.commit(vec![store::delete::<Host>(&host.id)]).await?;
    Ok(())
}

/// The admin API's view of a host.
pub fn wire(h: &Host, load_balancers: usize) -> Value {
    json!({
        "id": h.id, "name": h.name, "address": h.address, "port": h.port,
        "vip_interface": h.vip_interface, "member_interface": h.member_interface,
        "subnet_ids": h.subnet_ids, "snat_ipv4": h.snat_ipv4, "snat_ipv6": h.snat_ipv6,
        "admin_state_up": h.admin_state_up, "generation": h.generation,
        "applied_generation": h.applied_generation, "in_sync": h.desired_hash.is_some() && h.desired_hash == h.applied_hash,
        "last_error": h.last_error, "load_balancers": load_balancers,
        "created_at": h.created_at, "updated_at": h.updated_at,
    })
}
