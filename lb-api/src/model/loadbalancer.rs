//! Load balancer (`loadbalancer` / `loadbalancers`).

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::common::{COMMON_FILTERS, Common};

/// A stored load balancer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoadBalancer {
    #[serde(flatten)]
    pub c: Common,
    pub vip_address: Option<String>,
    pub vip_network_id: Option<String>,
    pub vip_subnet_id: Option<String>,
    pub vip_port_id: Option<String>,
    pub vip_qos_policy_id: Option<String>,
    pub vip_sg_ids: Vec<String>,
    pub provider: String,
    pub flavor_id: Option<String>,
    pub availability_zone: Option<String>,
}
super::octavia_object!(
    LoadBalancer,
    "loadbalancer",
    |s| lb = &s.c.id,
    parent = None
);

/// Attributes accepted on POST.
pub const POST: &[&str] = &[
    "name",
    "description",
    "admin_state_up",
    "project_id",
    "tenant_id",
    "tags",
    "vip_subnet_id",
    "vip_network_id",
    "vip_port_id",
    "vip_address",
    "vip_qos_policy_id",
    "vip_sg_ids",
    "additional_vips",
    "provider",
    "flavor_id",
    "availability_zone",
    "listeners",
    "pools",
];
/// Attributes accepted on PUT.
pub const PUT: &[&str] = &[
    "name",
    "description",
    "admin_state_up",
    "vip_qos_policy_id",
    "vip_sg_ids",
    "tags",
];
/// Attributes usable as list filters and sort keys.
pub fn filters() -> Vec<&'static str> {
    let mut f = COMMON_FILTERS.to_vec();
    f.extend([
        "description",
        "vip_address",
        "vip_network_id",
        "vip_subnet_id",
        "vip_port_id",
        "vip_qos_policy_id",
        "provider",
        "flavor_id",
        "availability_zone",
    ]);
    f
}

impl LoadBalancer {
    /// Wire form; `listeners`/`pools` are the child ids.
    pub fn wire(&self, listeners: Value, pools: Value) -> Value {
        let mut m = self.c.wire(true);
        m.insert("vip_address".into(), json!(self.vip_address));
        m.insert("vip_network_id".into(), json!(self.vip_network_id));
        m.insert("vip_subnet_id".into(), json!(self.vip_subnet_id));
        m.insert("vip_port_id".into(), json!(self.vip_port_id));
        m.insert("vip_qos_policy_id".into(), json!(self.vip_qos_policy_id));
        // A list, `[]` when there are none (Octavia renders `vip.sg_ids`).
        m.insert("vip_sg_ids".into(), json!(self.vip_sg_ids));
        m.insert("vip_vnic_type".into(), json!("normal"));
        m.insert("additional_vips".into(), json!([]));
        m.insert("provider".into(), json!(self.provider));
        m.insert("flavor_id".into(), json!(self.flavor_id));
        m.insert("availability_zone".into(), json!(self.availability_zone));
        m.insert("listeners".into(), listeners);
        m.insert("pools".into(), pools);
        Value::Object(m)
    }
}
