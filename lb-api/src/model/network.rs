//! The minimal network registry: Neutron-shaped networks, subnets (with allocation pools) and
//! ports, and VIP address allocation from a subnet's pools.

use std::net::IpAddr;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// A stored network.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Network {
    pub id: String,
    pub name: String,
    pub project_id: String,
    pub admin_state_up: bool,
    pub shared: bool,
    pub created_at: String,
}

/// One `allocation_pools` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AllocationPool {
    pub start: String,
    pub end: String,
}

/// A stored subnet.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Subnet {
    pub id: String,
    pub name: String,
    pub project_id: String,
    pub network_id: String,
    pub cidr: String,
    pub ip_version: u8,
    pub gateway_ip: Option<String>,
    pub allocation_pools: Vec<AllocationPool>,
    pub enable_dhcp: bool,
    pub created_at: String,
}

/// One `fixed_ips` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FixedIp {
    pub subnet_id: String,
    pub ip_address: String,
}

/// A stored port.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Port {
    pub id: String,
    pub name: String,
    pub project_id: String,
    pub network_id: String,
    pub fixed_ips: Vec<FixedIp>,
    pub device_id: String,
    pub device_owner: String,
    pub mac_address: String,
    pub admin_state_up: bool,
    pub created_at: String,
}

macro_rules! neutron_object {
    ($t:ty, $kind:literal, |$s:ident| parent = $parent:expr) => {
        impl crate::store::Object for $t {
            const KIND: &'static str = $kind;
            fn id(&self) -> &str {
                &self.id
            }
            fn project_id(&self) -> Option<&str> {
                Some(&self.project_id)
            }
            fn lb_id(&self) -> Option<&str> {
                None
            }
            fn parent_id(&self) -> Option<&str> {
                let $s = self;
                $parent
            }
            fn created_at(&self) -> &str {
                &self.created_at
            }
        }
    };
}
neutron_object!(Network, "network", |_s| parent = None);
neutron_object!(Subnet, "subnet", |s| parent = Some(&s.network_id));
neutron_object!(Port, "port", |s| parent = Some(&s.network_id));

impl Network {
    /// Neutron wire form; `subnets` are the subnet ids.
    pub fn wire(&self, subnets: Vec<&str>) -> Value {
        json!({
            "id": self.id, "name": self.name, "project_id": self.project_id,
            "tenant_id": self.project_id, "admin_state_up": self.admin_state_up,
            "shared": self.shared, "status": "ACTIVE", "subnets": subnets,
            "router:external": false, "mtu": 1500, "created_at": self.created_at,
            "tags": [], "description": "",
        })
    }
}

impl Subnet {
    /// Neutron wire form.
    pub fn wire(&self) -> Value {
        json!({
            "id": self.id, "name": self.name, "project_id": self.project_id,
            "tenant_id": self.project_id, "network_id": self.network_id, "cidr": self.cidr,
            "ip_version": self.ip_version, "gateway_ip": self.gateway_ip,
            "allocation_pools": self.allocation_pools, "enable_dhcp": self.enable_dhcp,
            "dns_nameservers": [], "host_routes": [], "created_at": self.created_at,
            "tags": [], "description": "",
        })
    }

    /// The parsed CIDR (validated on create).
    pub fn net(&self) -> Option<IpNet> {
        self.cidr.parse().ok()
    }

    /// Whether `ip` lies in this subnet.
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.net().is_some_and(|n| n.contains(&ip))
    }

    /// The first address of the allocation pools not in `used`, trying at most `limit`.
    pub fn allocate(&self, used: &[IpAddr], limit: u128) -> Option<IpAddr> {
        let mut tried = 0u128;
        for pool in &self.allocation_pools {
            let (Ok(start), Ok(end)) = (pool.start.parse::<IpAddr>(), pool.end.parse::<IpAddr>())
            else {
                continue;
            };
            let (s, e) = (ip_to_u128(start), ip_to_u128(end));
            let mut n = s;
            while n <= e && tried < limit {
                let ip = u128_to_ip(n, start.is_ipv4());
                if !used.contains(&ip) && Some(ip.to_string()) != self.gateway_ip {
                    return Some(ip);
                }
                n += 1;
                tried += 1;
            }
        }
        None
    }
}

impl Port {
    /// Neutron wire form.
    pub fn wire(&self) -> Value {
        json!({
            "id": self.id, "name": self.name, "project_id": self.project_id,
            "tenant_id": self.project_id, "network_id": self.network_id,
            "fixed_ips": self.fixed_ips, "device_id": self.device_id,
            "device_owner": self.device_owner, "mac_address": self.mac_address,
            "admin_state_up": self.admin_state_up, "status": "ACTIVE",
            "created_at": self.created_at, "security_groups": [], "tags": [], "description": "",
        })
    }
}

/// An address as a number (IPv4 in the low 32 bits).
pub fn ip_to_u128(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => u128::from(u32::from(v4)),
        IpAddr::V6(v6) => u128::from(v6),
    }
}

/// Inverse of [`ip_to_u128`].
pub fn u128_to_ip(n: u128, v4: bool) -> IpAddr {
    if v4 {
        IpAddr::V4(u32::try_from(n).unwrap_or(u32::MAX).into())
    } else {
        IpAddr::V6(n.into())
    }
}

/// Neutron's default pools: the whole CIDR minus network, gateway and (IPv4) broadcast.
pub fn default_pools(net: IpNet, gateway: Option<IpAddr>) -> Vec<AllocationPool> {
    let v4 = matches!(net, IpNet::V4(_));
    let first = ip_to_u128(net.network()) + 1;
    let last = if v4 {
        ip_to_u128(net.broadcast()).saturating_sub(1)
    } else {
        ip_to_u128(net.broadcast())
    };
    if first > last {
        return Vec::new();
    }
    let gw = gateway.map(ip_to_u128);
    let mut ranges = Vec::new();
    match gw {
        Some(g) if g >= first && g <= last => {
            if g > first {
                ranges.push((first, g - 1));
            }
            if g < last {
                ranges.push((g + 1, last));
            }
        }
        _ => ranges.push((first, last)),
    }
    ranges
        .into_iter()
        .map(|(s, e)| AllocationPool {
            start: u128_to_ip(s, v4).to_string(),
            end: u128_to_ip(e, v4).to_string(),
        })
        .collect()
}

/// A locally administered MAC derived from a port id.
pub fn mac_for(id: &str) -> String {
    let hex: String = id
        .chars()
        .filter(char::is_ascii_hexdigit)
        .take(10)
        .collect();
    let mut mac = String::from("fa:16:3e");
    for i in (4..10).step_by(2) {
        mac.push(':');
        mac.push_str(hex.get(i..i + 2).unwrap_or("00"));
    }
    mac
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_pools_skip_network_gateway_and_broadcast() {
        let net: IpNet = "10.0.0.0/24".parse().unwrap();
        let pools = default_pools(net, Some("10.0.0.1".parse().unwrap()));
        assert_eq!(
            pools,
            [AllocationPool {
                start: "10.0.0.2".into(),
                end: "10.0.0.254".into()
            }]
        );
    }

    #[test]
    fn allocation_takes_the_first_free_address() {
        let s = Subnet {
            id: "s".into(),
            name: String::new(),
            project_id: "p".into(),
            network_id: "n".into(),
            cidr: "10.0.0.0/29".into(),
            ip_version: 4,
            gateway_ip: Some("10.0.0.1".into()),
            allocation_pools: default_pools("10.0.0.0/29".parse().unwrap(), None),
            enable_dhcp: true,
            created_at: String::new(),
        };
        let used = ["10.0.0.2".parse().unwrap()];
        assert_eq!(s.allocate(&used, 100), Some("10.0.0.3".parse().unwrap()));
        let all: Vec<IpAddr> = (2..=6)
            .map(|i| format!("10.0.0.{i}").parse().unwrap())
            .collect();
        assert_eq!(s.allocate(&all, 100), None);
        assert_eq!(mac_for("0123456789ab").len(), 17);
    }
}
