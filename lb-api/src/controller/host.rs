//! Amphora hosts (registered by an operator) and placements (which host serves which load
//! balancer), stored as rows like every other object.

use serde::{Deserialize, Serialize};

/// A host running `lb-agent serve`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Host {
    pub id: String,
    pub name: String,
    /// Management address the controller dials (the agent certificate's IP SAN).
    pub address: String,
    /// Agent API port.
    pub port: u16,
    /// VIP-side and member-side interfaces of the host (as its agent.toml names them).
    #[serde(default)]
    pub vip_interface: Option<String>,
    #[serde(default)]
    pub member_interface: Option<String>,
    /// Subnets (ids) whose VIPs this host can serve.
    pub subnet_ids: Vec<String>,
    /// Member-side source addresses for full NAT.
    pub snat_ipv4: Option<String>,
    pub snat_ipv6: Option<String>,
    /// `false` keeps new load balancers off the host.
    pub admin_state_up: bool,
    /// Generation of the last desired state rendered for the host (the recorded intent).
    pub generation: u64,
    /// Content hash of that state.
    pub desired_hash: Option<String>,
    /// What the agent confirmed last (push response or heartbeat).
    pub applied_generation: Option<u64>,
    pub applied_hash: Option<String>,
    /// Why the last push failed, if it did.
    pub last_error: Option<String>,
    pub created_at: String,
    pub updated_at: Option<String>,
}

crate::store::row_object!(
    Host,
    "amphora_host",
    |s| id = &s.id,
    project = None,
    lb = None,
    parent = None,
    created = &s.created_at
);

/// Load balancer `lb_id` is served by host `host_id` (row id = `lb_id`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Placement {
    pub lb_id: String,
    /// The id the amphora API shows for this placement.
    #[serde(default)]
    pub amphora_id: String,
    pub host_id: String,
    pub created_at: String,
}

crate::store::row_object!(
    Placement,
    "placement",
    |s| id = &s.lb_id,
    project = None,
    lb = Some(&s.lb_id),
    parent = Some(&s.host_id),
    created = &s.created_at
);
