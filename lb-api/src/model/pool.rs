//! Pool (`pool` / `pools`) and its session persistence.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::common::{COMMON_FILTERS, Common};

/// `POOL_SUPPORTED_PROTOCOLS`.
pub const PROTOCOLS: &[&str] = &["TCP", "HTTP", "HTTPS", "PROXY", "PROXYV2", "UDP", "SCTP"];
/// Load-balancing algorithms.
pub const ALGORITHMS: &[&str] = &[
    "ROUND_ROBIN",
    "LEAST_CONNECTIONS",
    "SOURCE_IP",
    "SOURCE_IP_PORT",
];
/// Session persistence types.
pub const SP_TYPES: &[&str] = &["SOURCE_IP", "HTTP_COOKIE", "APP_COOKIE"];

/// `session_persistence`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionPersistence {
    #[serde(rename = "type")]
    pub kind: String,
    pub cookie_name: Option<String>,
    pub persistence_timeout: Option<i64>,
    pub persistence_granularity: Option<String>,
}

/// A stored pool.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Pool {
    #[serde(flatten)]
    pub c: Common,
    pub loadbalancer_id: String,
    pub protocol: String,
    pub lb_algorithm: String,
    pub session_persistence: Option<SessionPersistence>,
    pub tls_enabled: bool,
    pub tls_container_ref: Option<String>,
    pub ca_tls_container_ref: Option<String>,
    pub crl_container_ref: Option<String>,
    pub tls_ciphers: Option<String>,
    pub tls_versions: Option<Vec<String>>,
    pub alpn_protocols: Option<Vec<String>>,
}
super::octavia_object!(
    Pool,
    "pool",
    |s| lb = &s.loadbalancer_id,
    parent = Some(&s.loadbalancer_id)
);

/// Attributes accepted on POST.
pub const POST: &[&str] = &[
    "name",
    "description",
    "admin_state_up",
    "project_id",
    "tenant_id",
    "tags",
    "protocol",
    "lb_algorithm",
    "loadbalancer_id",
    "listener_id",
    "session_persistence",
    "tls_enabled",
    "tls_container_ref",
    "ca_tls_container_ref",
    "crl_container_ref",
    "tls_ciphers",
    "tls_versions",
    "alpn_protocols",
    "healthmonitor",
    "members",
];
/// Attributes accepted on PUT.
pub const PUT: &[&str] = &[
    "name",
    "description",
    "admin_state_up",
    "tags",
    "lb_algorithm",
    "session_persistence",
    "tls_enabled",
    "tls_container_ref",
    "ca_tls_container_ref",
    "crl_container_ref",
    "tls_ciphers",
    "tls_versions",
    "alpn_protocols",
];
/// Attributes usable as list filters and sort keys.
pub fn filters() -> Vec<&'static str> {
    let mut f = COMMON_FILTERS.to_vec();
    f.extend([
        "description",
        "protocol",
        "lb_algorithm",
        "loadbalancer_id",
        "healthmonitor_id",
        "tls_enabled",
    ]);
    f
}

impl Pool {
    /// Wire form with the related ids. `healthmonitor_id` is left out when the pool has no
    /// monitor, as Octavia does (its `PoolResponse` never sets the attribute then).
    pub fn wire(&self, listeners: Value, members: Value, healthmonitor_id: Option<&str>) -> Value {
        let mut m = self.c.wire(true);
        let sp = self.session_persistence.as_ref().map(|sp| {
            json!({
                "type": sp.kind,
                "cookie_name": sp.cookie_name,
                "persistence_timeout": sp.persistence_timeout,
                "persistence_granularity": sp.persistence_granularity,
            })
        });
        for (k, v) in [
            ("protocol", json!(self.protocol)),
            ("lb_algorithm", json!(self.lb_algorithm)),
            ("session_persistence", json!(sp)),
            ("tls_enabled", json!(self.tls_enabled)),
            ("tls_container_ref", json!(self.tls_container_ref)),
            ("ca_tls_container_ref", json!(self.ca_tls_container_ref)),
            ("crl_container_ref", json!(self.crl_container_ref)),
            ("tls_ciphers", json!(self.tls_ciphers)),
            ("tls_versions", json!(self.tls_versions)),
            ("alpn_protocols", json!(self.alpn_protocols)),
            ("loadbalancers", json!([{ "id": self.loadbalancer_id }])),
            ("listeners", listeners),
            ("members", members),
        ] {
            m.insert(k.into(), v);
        }
        if let Some(id) = healthmonitor_id {
            m.insert("healthmonitor_id".into(), json!(id));
        }
        Value::Object(m)
    }
}
