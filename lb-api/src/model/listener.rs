//! Listener (`listener` / `listeners`): protocols, defaults and the listener→pool protocol map.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::common::{COMMON_FILTERS, Common};

/// `LISTENER_SUPPORTED_PROTOCOLS`.
pub const PROTOCOLS: &[&str] = &[
    "TCP",
    "HTTP",
    "HTTPS",
    "TERMINATED_HTTPS",
    "UDP",
    "SCTP",
    "PROMETHEUS",
];
/// `[haproxy_amphora]` timeout defaults (ms).
pub const DEFAULT_TIMEOUTS: [i64; 4] = [50_000, 5_000, 50_000, 0];
/// Upper bound of the timeouts (24 days in ms).
pub const MAX_TIMEOUT: i64 = 2_073_600_000;
/// Default TLS versions for TLS listeners/pools.
pub const DEFAULT_TLS_VERSIONS: [&str; 2] = ["TLSv1.2", "TLSv1.3"];
/// Accepted TLS versions.
pub const TLS_VERSIONS: &[&str] = &["SSLv3", "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"];
/// Accepted ALPN protocols (also the default for TLS listeners).
pub const ALPN: &[&str] = &["h2", "http/1.1", "http/1.0"];
/// Default TLS cipher string (OWASP suite B).
pub const DEFAULT_CIPHERS: &str = "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-SHA256:DHE-RSA-AES128-SHA256:ECDHE-RSA-AES256-SHA384:ECDHE-RSA-AES128-SHA256";
/// Headers any HTTP/TERMINATED_HTTPS listener may insert.
pub const INSERT_HEADERS: &[&str] = &[
    "X-Forwarded-For",
    "X-Forwarded-Port",
    "X-Forwarded-Proto",
    "X-Forwarded-IP",
    "X-Client-IP",
    "X-Real-IP",
];
/// Headers only TERMINATED_HTTPS listeners may insert.
pub const INSERT_HEADERS_TLS: &[&str] = &[
    "X-SSL-Client-Verify",
    "X-SSL-Client-Has-Cert",
    "X-SSL-Client-DN",
    "X-SSL-Client-CN",
    "X-SSL-Issuer",
    "X-SSL-Client-SHA1",
    "X-SSL-Client-Not-Before",
    "X-SSL-Client-Not-After",
];

/// Pool protocols a listener protocol accepts (`VALID_LISTENER_POOL_PROTOCOL_MAP`).
pub fn pool_protocols(listener: &str) -> &'static [&'static str] {
    match listener {
        "TCP" => &["HTTP", "HTTPS", "PROXY", "PROXYV2", "TCP"],
        "HTTP" | "TERMINATED_HTTPS" => &["HTTP", "PROXY", "PROXYV2"],
        "HTTPS" => &["HTTPS", "PROXY", "PROXYV2", "TCP"],
        "UDP" => &["UDP"],
        "SCTP" => &["SCTP"],
        _ => &[],
    }
}

/// The L4 family a protocol's port is unique in.
pub fn port_family(protocol: &str) -> &'static str {
    match protocol {
        "UDP" => "UDP",
        "SCTP" => "SCTP",
        _ => "TCP",
    }
}

/// A stored listener.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Listener {
    #[serde(flatten)]
    pub c: Common,
    pub loadbalancer_id: String,
    pub protocol: String,
    pub protocol_port: i64,
    pub connection_limit: i64,
    pub default_pool_id: Option<String>,
    pub insert_headers: BTreeMap<String, String>,
    pub timeout_client_data: i64,
    pub timeout_member_connect: i64,
    pub timeout_member_data: i64,
    pub timeout_tcp_inspect: i64,
    pub default_tls_container_ref: Option<String>,
    pub sni_container_refs: Vec<String>,
    pub client_authentication: String,
    pub client_ca_tls_container_ref: Option<String>,
    pub client_crl_container_ref: Option<String>,
    pub allowed_cidrs: Vec<String>,
    pub tls_ciphers: Option<String>,
    pub tls_versions: Option<Vec<String>>,
    pub alpn_protocols: Option<Vec<String>>,
    pub hsts_max_age: Option<i64>,
    pub hsts_include_subdomains: bool,
    pub hsts_preload: bool,
}
super::octavia_object!(
    Listener,
    "listener",
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
    "protocol_port",
    "loadbalancer_id",
    "connection_limit",
    "default_pool_id",
    "default_pool",
    "l7policies",
    "insert_headers",
    "timeout_client_data",
    "timeout_member_connect",
    "timeout_member_data",
    "timeout_tcp_inspect",
    "default_tls_container_ref",
    "sni_container_refs",
    "client_authentication",
    "client_ca_tls_container_ref",
    "client_crl_container_ref",
    "allowed_cidrs",
    "tls_ciphers",
    "tls_versions",
    "alpn_protocols",
    "hsts_max_age",
    "hsts_include_subdomains",
    "hsts_preload",
];
/// Attributes accepted on PUT.
pub const PUT: &[&str] = &[
    "name",
    "description",
    "admin_state_up",
    "tags",
    "connection_limit",
    "default_pool_id",
    "insert_headers",
    "timeout_client_data",
    "timeout_member_connect",
    "timeout_member_data",
    "timeout_tcp_inspect",
    "default_tls_container_ref",
    "sni_container_refs",
    "client_authentication",
    "client_ca_tls_container_ref",
    "client_crl_container_ref",
    "allowed_cidrs",
    "tls_ciphers",
    "tls_versions",
    "alpn_protocols",
    "hsts_max_age",
    "hsts_include_subdomains",
    "hsts_preload",
];
/// Attributes usable as list filters and sort keys.
pub fn filters() -> Vec<&'static str> {
    let mut f = COMMON_FILTERS.to_vec();
    f.extend([
        "description",
        "protocol",
        "protocol_port",
        "loadbalancer_id",
        "connection_limit",
        "default_pool_id",
        "timeout_client_data",
        "timeout_member_connect",
        "timeout_member_data",
        "timeout_tcp_inspect",
        "client_authentication",
        "hsts_max_age",
    ]);
    f
}

impl Listener {
    /// Whether TLS is terminated here.
    pub fn is_tls(&self) -> bool {
        self.protocol == "TERMINATED_HTTPS"
    }

    /// Wire form; `l7policies` are the child ids.
    pub fn wire(&self, l7policies: Value) -> Value {
        let mut m = self.c.wire(true);
        for (k, v) in [
            ("protocol", json!(self.protocol)),
            ("protocol_port", json!(self.protocol_port)),
            ("connection_limit", json!(self.connection_limit)),
            ("default_pool_id", json!(self.default_pool_id)),
            ("insert_headers", json!(self.insert_headers)),
            ("timeout_client_data", json!(self.timeout_client_data)),
            ("timeout_member_connect", json!(self.timeout_member_connect)),
            ("timeout_member_data", json!(self.timeout_member_data)),
            ("timeout_tcp_inspect", json!(self.timeout_tcp_inspect)),
            (
                "default_tls_container_ref",
                json!(self.default_tls_container_ref),
            ),
            ("sni_container_refs", json!(self.sni_container_refs)),
            ("client_authentication", json!(self.client_authentication)),
            (
                "client_ca_tls_container_ref",
                json!(self.client_ca_tls_container_ref),
            ),
            (
                "client_crl_container_ref",
                json!(self.client_crl_container_ref),
            ),
            (
                "allowed_cidrs",
                if self.allowed_cidrs.is_empty() {
                    Value::Null
                } else {
                    json!(self.allowed_cidrs)
                },
            ),
            ("tls_ciphers", json!(self.tls_ciphers)),
            ("tls_versions", json!(self.tls_versions)),
            ("alpn_protocols", json!(self.alpn_protocols)),
            ("hsts_max_age", json!(self.hsts_max_age)),
            (
                "hsts_include_subdomains",
                json!(self.hsts_include_subdomains),
            ),
            ("hsts_preload", json!(self.hsts_preload)),
            ("loadbalancers", json!([{ "id": self.loadbalancer_id }])),
            ("l7policies", l7policies),
        ] {
            m.insert(k.into(), v);
        }
        Value::Object(m)
    }
}
