//! L7 policy (`l7policy` / `l7policies`).

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::common::{COMMON_FILTERS, Common};

/// Policy actions.
pub const ACTIONS: &[&str] = &[
    "REDIRECT_TO_POOL",
    "REDIRECT_TO_URL",
    "REDIRECT_PREFIX",
    "REJECT",
];
/// Accepted `redirect_http_code`s.
pub const REDIRECT_CODES: &[i64] = &[301, 302, 303, 307, 308];

/// A stored L7 policy.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct L7Policy {
    #[serde(flatten)]
    pub c: Common,
    pub listener_id: String,
    pub loadbalancer_id: String,
    pub action: String,
    pub position: i64,
    pub redirect_pool_id: Option<String>,
    pub redirect_url: Option<String>,
    pub redirect_prefix: Option<String>,
    pub redirect_http_code: Option<i64>,
}
super::octavia_object!(
    L7Policy,
    "l7policy",
    |s| lb = &s.loadbalancer_id,
    parent = Some(&s.listener_id)
);

/// Attributes accepted on POST.
pub const POST: &[&str] = &[
    "name",
    "description",
    "admin_state_up",
    "project_id",
    "tenant_id",
    "tags",
    "listener_id",
    "action",
    "position",
    "redirect_pool_id",
    "redirect_url",
    "redirect_prefix",
    "redirect_http_code",
    "rules",
];
/// Attributes accepted on PUT.
pub const PUT: &[&str] = &[
    "name",
    "description",
    "admin_state_up",
    "tags",
    "action",
    "position",
    "redirect_pool_id",
    "redirect_url",
    "redirect_prefix",
    "redirect_http_code",
];
/// Attributes usable as list filters and sort keys.
pub fn filters() -> Vec<&'static str> {
    let mut f = COMMON_FILTERS.to_vec();
    f.extend([
        "description",
        "listener_id",
        "action",
        "position",
        "redirect_pool_id",
        "redirect_url",
        "redirect_prefix",
        "redirect_http_code",
    ]);
    f
}

impl L7Policy {
    /// Wire form; `rules` are the child ids.
    pub fn wire(&self, rules: Value) -> Value {
        let mut m = self.c.wire(true);
        for (k, v) in [
            ("listener_id", json!(self.listener_id)),
            ("action", json!(self.action)),
            ("position", json!(self.position)),
            ("redirect_pool_id", json!(self.redirect_pool_id)),
            ("redirect_url", json!(self.redirect_url)),
            ("redirect_prefix", json!(self.redirect_prefix)),
            ("redirect_http_code", json!(self.redirect_http_code)),
            ("rules", rules),
        ] {
            m.insert(k.into(), v);
        }
        Value::Object(m)
    }
}
