//! Member (`member` / `members`, under a pool).

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::common::{COMMON_FILTERS, Common};

/// A stored member.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Member {
    #[serde(flatten)]
    pub c: Common,
    pub pool_id: String,
    pub loadbalancer_id: String,
    pub address: String,
    pub protocol_port: i64,
    pub weight: i64,
    pub backup: bool,
    pub subnet_id: Option<String>,
    pub monitor_address: Option<String>,
    pub monitor_port: Option<i64>,
}
super::octavia_object!(
    Member,
    "member",
    |s| lb = &s.loadbalancer_id,
    parent = Some(&s.pool_id)
);

/// Attributes accepted on POST (and in batch updates).
pub const POST: &[&str] = &[
    "name",
    "admin_state_up",
    "project_id",
    "tenant_id",
    "tags",
    "address",
    "protocol_port",
    "weight",
    "backup",
    "subnet_id",
    "monitor_address",
    "monitor_port",
    "request_sriov",
];
/// Attributes accepted on PUT.
pub const PUT: &[&str] = &[
    "name",
    "admin_state_up",
    "tags",
    "weight",
    "backup",
    "monitor_address",
    "monitor_port",
];
/// Attributes usable as list filters and sort keys.
pub fn filters() -> Vec<&'static str> {
    let mut f = COMMON_FILTERS.to_vec();
    f.extend([
        "address",
        "protocol_port",
        "weight",
        "backup",
        "subnet_id",
        "monitor_address",
        "monitor_port",
    ]);
    f
}

impl Member {
    /// Wire form (no `pool_id`, as Octavia).
    pub fn wire(&self) -> Value {
        let mut m = self.c.wire(false);
        for (k, v) in [
            ("address", json!(self.address)),
            ("protocol_port", json!(self.protocol_port)),
            ("weight", json!(self.weight)),
            ("backup", json!(self.backup)),
            ("subnet_id", json!(self.subnet_id)),
            ("monitor_address", json!(self.monitor_address)),
            ("monitor_port", json!(self.monitor_port)),
            ("vnic_type", json!("normal")),
        ] {
            m.insert(k.into(), v);
        }
        Value::Object(m)
    }
}
