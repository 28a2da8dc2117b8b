//! L7 rule (envelope `rule` / `rules`, under an L7 policy).

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::common::{COMMON_FILTERS, Common};

/// Rule types.
pub const TYPES: &[&str] = &[
    "HOST_NAME",
    "PATH",
    "FILE_TYPE",
    "HEADER",
    "COOKIE",
    "SSL_CONN_HAS_CERT",
    "SSL_VERIFY_RESULT",
    "SSL_DN_FIELD",
];
/// Comparison types.
pub const COMPARE_TYPES: &[&str] = &["REGEX", "STARTS_WITH", "ENDS_WITH", "CONTAINS", "EQUAL_TO"];

/// A stored L7 rule.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct L7Rule {
    #[serde(flatten)]
    pub c: Common,
    pub l7policy_id: String,
    pub loadbalancer_id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub compare_type: String,
    pub key: Option<String>,
    pub value: String,
    pub invert: bool,
}
super::octavia_object!(
    L7Rule,
    "l7rule",
    |s| lb = &s.loadbalancer_id,
    parent = Some(&s.l7policy_id)
);

/// Attributes accepted on POST.
pub const POST: &[&str] = &[
    "admin_state_up",
    "project_id",
    "tenant_id",
    "tags",
    "type",
    "compare_type",
    "key",
    "value",
    "invert",
];
/// Attributes accepted on PUT.
pub const PUT: &[&str] = &[
    "admin_state_up",
    "tags",
    "type",
    "compare_type",
    "key",
    "value",
    "invert",
];
/// Attributes usable as list filters and sort keys.
pub fn filters() -> Vec<&'static str> {
    let mut f = COMMON_FILTERS.to_vec();
    f.retain(|k| *k != "name");
    f.extend(["type", "compare_type", "key", "value", "invert"]);
    f
}

impl L7Rule {
    /// Wire form (no `name`, no `l7policy_id`, as Octavia).
    pub fn wire(&self) -> Value {
        let mut m = self.c.wire(false);
        m.remove("name");
        for (k, v) in [
            ("type", json!(self.kind)),
            ("compare_type", json!(self.compare_type)),
            ("key", json!(self.key)),
            ("value", json!(self.value)),
            ("invert", json!(self.invert)),
        ] {
            m.insert(k.into(), v);
        }
        Value::Object(m)
    }
}
