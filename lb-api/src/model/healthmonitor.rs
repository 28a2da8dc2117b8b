//! Health monitor (`healthmonitor` / `healthmonitors`).

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::common::{COMMON_FILTERS, Common};

/// Monitor types.
pub const TYPES: &[&str] = &[
    "PING",
    "TCP",
    "HTTP",
    "HTTPS",
    "TLS-HELLO",
    "UDP-CONNECT",
    "SCTP",
];
/// HTTP methods.
pub const METHODS: &[&str] = &[
    "GET", "HEAD", "POST", "PUT", "DELETE", "TRACE", "OPTIONS", "CONNECT", "PATCH",
];

/// Whether monitor `kind` may watch a pool of `pool_protocol` (§2.10 matrix).
pub fn compatible(pool_protocol: &str, kind: &str) -> bool {
    if matches!(pool_protocol, "UDP" | "SCTP") {
        matches!(kind, "HTTP" | "SCTP" | "TCP" | "UDP-CONNECT")
    } else {
        !matches!(kind, "SCTP" | "UDP-CONNECT")
    }
}

/// Whether the type uses the HTTP fields.
pub fn is_http(kind: &str) -> bool {
    matches!(kind, "HTTP" | "HTTPS")
}

/// A stored health monitor.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HealthMonitor {
    #[serde(flatten)]
    pub c: Common,
    pub pool_id: String,
    pub loadbalancer_id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub delay: i64,
    pub timeout: i64,
    pub max_retries: i64,
    pub max_retries_down: i64,
    pub http_method: Option<String>,
    pub url_path: Option<String>,
    pub expected_codes: Option<String>,
    pub http_version: Option<f64>,
    pub domain_name: Option<String>,
}
super::octavia_object!(
    HealthMonitor,
    "healthmonitor",
    |s| lb = &s.loadbalancer_id,
    parent = Some(&s.pool_id)
);

/// Attributes accepted on POST.
pub const POST: &[&str] = &[
    "name",
    "admin_state_up",
    "project_id",
    "tenant_id",
    "tags",
    "pool_id",
    "type",
    "delay",
    "timeout",
    "max_retries",
    "max_retries_down",
    "http_method",
    "url_path",
    "expected_codes",
    "http_version",
    "domain_name",
];
/// Attributes accepted on PUT.
pub const PUT: &[&str] = &[
    "name",
    "admin_state_up",
    "tags",
    "delay",
    "timeout",
    "max_retries",
    "max_retries_down",
    "http_method",
    "url_path",
    "expected_codes",
    "http_version",
    "domain_name",
];
/// Attributes usable as list filters and sort keys.
pub fn filters() -> Vec<&'static str> {
    let mut f = COMMON_FILTERS.to_vec();
    f.extend([
        "type",
        "delay",
        "timeout",
        "max_retries",
        "max_retries_down",
        "http_method",
        "url_path",
        "expected_codes",
        "pool_id",
    ]);
    f
}

impl HealthMonitor {
    /// Wire form.
    pub fn wire(&self) -> Value {
        let mut m = self.c.wire(false);
        for (k, v) in [
            ("type", json!(self.kind)),
            ("delay", json!(self.delay)),
            ("timeout", json!(self.timeout)),
            ("max_retries", json!(self.max_retries)),
            ("max_retries_down", json!(self.max_retries_down)),
            ("http_method", json!(self.http_method)),
            ("url_path", json!(self.url_path)),
            ("expected_codes", json!(self.expected_codes)),
            ("http_version", json!(self.http_version)),
            ("domain_name", json!(self.domain_name)),
            ("pools", json!([{ "id": self.pool_id }])),
        ] {
            m.insert(k.into(), v);
        }
        Value::Object(m)
    }
}
