//! VIP placement for a new load balancer: resolve `vip_port_id` / `vip_subnet_id` /
//! `vip_network_id` in the network registry and allocate the address (Octavia's network driver
//! role). Unknown ids are 400 (`InvalidSubresource`), as Octavia.

use std::net::IpAddr;

use crate::{
    error::{ApiError, ApiResult},
    model::{
        common::{new_id, now},
        network::{FixedIp, Network, Port, Subnet, mac_for},
    },
    store::{self, Change, Select, Store},
};

/// What the client asked for.
pub struct VipRequest {
    pub subnet_id: Option<String>,
    pub network_id: Option<String>,
    pub port_id: Option<String>,
    pub address: Option<IpAddr>,
}

/// The placed VIP and the port write that reserves it.
pub struct Vip {
    pub address: String,
    pub subnet_id: String,
    pub network_id: String,
    pub port_id: String,
    pub change: Change,
}

/// Addresses already taken on a subnet.
pub async fn used_addresses(st: &dyn Store, subnet: &Subnet) -> ApiResult<Vec<IpAddr>> {
    let ports: Vec<Port> = store::list(
        st,
        &Select {
            parent_id: Some(subnet.network_id.clone()),
            ..Select::default()
        },
    )
    .await?;
    Ok(ports
        .iter()
        .flat_map(|p| &p.fixed_ips)
        .filter(|f| f.subnet_id == subnet.id)
        .filter_map(|f| f.ip_address.parse().ok())
        .collect())
}

/// Pick an address on `subnet`: `wanted` if free and inside, else the first free one.
pub async fn pick_address(
    st: &dyn Store,
    subnet: &Subnet,
    wanted: Option<IpAddr>,
) -> ApiResult<IpAddr> {
    let used = used_addresses(st, subnet).await?;
    match wanted {
        Some(ip) => {
            if !subnet.contains(ip) {
                return Err(ApiError::validation(format!(
                    "IP address {ip} is not in subnet {}.",
                    subnet.id
                )));
            }
            if used.contains(&ip) {
                return Err(ApiError::Conflict(format!(
                    "IP address {ip} already allocated in subnet {}.",
                    subnet.id
                )));
            }
            Ok(ip)
        }
        None => subnet.allocate(&used, 1 << 16).ok_or_else(|| {
            ApiError::Conflict(format!(
                "No more IP addresses available on subnet {}.",
                subnet.id
            ))
        }),
    }
}

/// Place the VIP of load balancer `lb_id` owned by `project`.
pub async fn place(st: &dyn Store, lb_id: &str, project: &str, req: VipRequest) -> ApiResult<Vip> {
    if let Some(port_id) = &req.port_id {
        let mut port = store::get::<Port>(st, port_id)
            .await?
            .ok_or_else(|| ApiError::bad(format!("Port {port_id} not found.")))?;
        if !port.device_id.is_empty() {
            return Err(ApiError::bad(format!(
                "Port {port_id} already has a compute device bound to it."
            )));
        }
        let fixed = port
            .fixed_ips
            .iter()
            .find(|f| req.subnet_id.as_ref().is_none_or(|s| *s == f.subnet_id))
            .cloned()
            .ok_or_else(|| ApiError::validation(format!("Port {port_id} has no usable IP.")))?;
        if let Some(a) = req.address
            && a.to_string() != fixed.ip_address
        {
            return Err(ApiError::validation(format!(
                "IP address {a} is not on port {port_id}."
            )));
        }
        port.device_id = format!("lb-{lb_id}");
        port.device_owner = "Octavia".into();
        return Ok(Vip {
            address: fixed.ip_address,
            subnet_id: fixed.subnet_id,
            network_id: port.network_id.clone(),
            port_id: port.id.clone(),
            change: store::put(&port)?,
        });
    }
    let subnet = match (&req.subnet_id, &req.network_id) {
        (Some(sid), net) => {
            let s = store::get::<Subnet>(st, sid)
                .await?
                .ok_or_else(|| ApiError::bad(format!("Subnet {sid} not found.")))?;
            if let Some(n) = net
                && *n != s.network_id
            {
                return Err(ApiError::validation(format!(
                    "Subnet {sid} is not on network {n}."
                )));
            }
            s
        }
        (None, Some(nid)) => {
            if store::get::<Network>(st, nid).await?.is_none() {
                return Err(ApiError::bad(format!("Network {nid} not found.")));
            }
            let mut subnets: Vec<Subnet> = store::list(
                st,
                &Select {
                    parent_id: Some(nid.clone()),
                    ..Select::default()
                },
            )
            .await?;
            // With an address: the subnet holding it; else prefer IPv4 with free addresses.
            subnets.sort_by_key(|s| s.ip_version);
            let mut chosen = None;
            for s in subnets {
                let fits = match req.address {
                    Some(a) => s.contains(a),
                    None => s
                        .allocate(&used_addresses(st, &s).await?, 1 << 16)
                        .is_some(),
                };
                if fits {
                    chosen = Some(s);
                    break;
                }
            }
            chosen.ok_or_else(|| {
                ApiError::validation(format!(
                    "Network {nid} has no subnet with available addresses."
                ))
            })?
        }
        (None, None) => {
            return Err(ApiError::validation(
                "VIP must contain one of: vip_port_id, vip_network_id, vip_subnet_id.",
            ));
        }
    };
    let address = pick_address(st, &subnet, req.address).await?;
    let port_id = new_id();
    let port = Port {
        id: port_id.clone(),
        name: format!("octavia-lb-{lb_id}"),
        project_id: project.to_owned(),
        network_id: subnet.network_id.clone(),
        fixed_ips: vec![FixedIp {
            subnet_id: subnet.id.clone(),
            ip_address: address.to_string(),
        }],
        device_id: format!("lb-{lb_id}"),
        device_owner: "Octavia".into(),
        mac_address: mac_for(&port_id),
        admin_state_up: true,
        created_at: now(),
    };
    Ok(Vip {
        address: address.to_string(),
        subnet_id: subnet.id,
        network_id: subnet.network_id,
        port_id,
        change: store::put(&port)?,
    })
}
