//! The desired state of one amphora host: load balancers with their listeners, pools and
//! members, as the data plane needs them. Defaults follow Octavia's.

use std::{
    collections::BTreeMap,
    net::{IpAddr, Ipv4Addr, Ipv6Addr},
};

use serde::{Deserialize, Serialize};

/// Everything one host must serve.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DesiredState {
    /// Contract version the sender speaks; must equal [`crate::PROTO_VERSION`].
    pub version: u32,
    /// Monotonic generation set by the controller; the agent echoes the one it applied.
    pub generation: u64,
    /// Where full NAT takes source addresses and ports from (the member-side addresses).
    #[serde(default)]
    pub snat: Snat,
    #[serde(default)]
    pub loadbalancers: Vec<LoadBalancer>,
}

/// Member-side source addresses and the port range full NAT allocates from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Snat {
    #[serde(default)]
    pub ipv4: Option<Ipv4Addr>,
    #[serde(default)]
    pub ipv6: Option<Ipv6Addr>,
    /// First port (inclusive). Keep the range clear of the host's ephemeral ports.
    #[serde(default = "default_port_min")]
    pub port_min: u16,
    /// Last port (inclusive).
    #[serde(default = "default_port_max")]
    pub port_max: u16,
}

fn default_port_min() -> u16 {
    20_000
}
fn default_port_max() -> u16 {
    32_767
}

impl Default for Snat {
    fn default() -> Self {
        Self {
            ipv4: None,
            ipv6: None,
            port_min: default_port_min(),
            port_max: default_port_max(),
        }
    }
}

fn yes() -> bool {
    true
}

/// A load balancer: one VIP and what listens on it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoadBalancer {
    pub id: String,
    pub vip_address: IpAddr,
    #[serde(default = "yes")]
    pub admin_state_up: bool,
    #[serde(default)]
    pub listeners: Vec<Listener>,
    #[serde(default)]
    pub pools: Vec<Pool>,
}

/// Listener protocols (Octavia names). `TCP` and `UDP` are balanced in the kernel (a TCP
/// listener whose pool speaks `PROXY`/`PROXYV2` goes to the proxy); `HTTP` and `PROMETHEUS`
/// are served by the agent's L7 proxy, which the kernel passes their packets to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum ListenerProtocol {
    Tcp,
    Udp,
    Http,
    /// HTTP over TLS terminated by the proxy (`tls` carries the certificates).
    #[serde(rename = "TERMINATED_HTTPS")]
    TerminatedHttps,
    Prometheus,
}

impl ListenerProtocol {
    /// Whether the listener's transport is UDP (every other protocol runs over TCP).
    #[must_use]
    pub fn is_udp(self) -> bool {
        self == Self::Udp
    }

    /// Whether the listener speaks HTTP to its clients (plain or over TLS).
    #[must_use]
    pub fn is_http(self) -> bool {
        matches!(self, Self::Http | Self::TerminatedHttps)
    }
}

/// Pool protocols (Octavia names): how the load balancer speaks to the members.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum PoolProtocol {
    #[default]
    Tcp,
    Udp,
    Http,
    Https,
    /// The PROXY protocol, version 1 (text header), then the client's bytes.
    Proxy,
    /// The PROXY protocol, version 2 (binary header), then the client's bytes.
    Proxyv2,
    Sctp,
}

impl PoolProtocol {
    /// Whether connections to the members start with a PROXY protocol header.
    #[must_use]
    pub fn sends_proxy_header(self) -> bool {
        matches!(self, Self::Proxy | Self::Proxyv2)
    }
}

/// A listener: VIP port + protocol.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Listener {
    pub id: String,
    pub protocol: ListenerProtocol,
    pub protocol_port: u16,
    #[serde(default = "yes")]
    pub admin_state_up: bool,
    /// Maximum concurrent connections; -1 = unlimited (Octavia's default).
    #[serde(default = "unlimited")]
    pub connection_limit: i64,
    /// Source CIDRs allowed to connect; empty = all.
    #[serde(default)]
    pub allowed_cidrs: Vec<String>,
    /// Client-side idle timeout in milliseconds (Octavia default 50000).
    #[serde(default = "default_timeout")]
    pub timeout_client_data: u32,
    /// Member-side idle timeout in milliseconds (Octavia default 50000).
    #[serde(default = "default_timeout")]
    pub timeout_member_data: u32,
    /// Time to establish a member connection, ms (proxy only; Octavia default 5000).
    #[serde(default = "default_connect_timeout")]
    pub timeout_member_connect: u32,
    /// Time to wait for more data to inspect, ms (proxy only; Octavia default 0).
    #[serde(default)]
    pub timeout_tcp_inspect: u32,
    #[serde(default)]
    pub default_pool_id: Option<String>,
    /// Headers the proxy inserts (`X-Forwarded-For` → `"true"`, ...); HTTP listeners only.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub insert_headers: BTreeMap<String, String>,
    /// L7 policies (HTTP listeners only), evaluated in `position` order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub l7policies: Vec<L7Policy>,
    /// TLS of a TERMINATED_HTTPS listener (required there, refused elsewhere).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<crate::listener_tls::ListenerTls>,
}

/// What an L7 policy does with a request its rules match.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum L7Action {
    RedirectToPool,
    RedirectToUrl,
    RedirectPrefix,
    Reject,
}

/// An L7 policy: when all its enabled rules match, its action applies.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct L7Policy {
    pub id: String,
    /// 1-based order among the listener's policies (lower first).
    pub position: u32,
    pub action: L7Action,
    #[serde(default = "yes")]
    pub admin_state_up: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_pool_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_prefix: Option<String>,
    /// 301, 302, 303, 307 or 308 for the redirect actions (Octavia default 302).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_http_code: Option<u16>,
    #[serde(default)]
    pub rules: Vec<L7Rule>,
}

/// What an L7 rule looks at (Octavia names).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum L7RuleType {
    HostName,
    Path,
    FileType,
    Header,
    Cookie,
    SslConnHasCert,
    SslVerifyResult,
    SslDnField,
}

/// How an L7 rule compares (Octavia names).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CompareType {
    Regex,
    StartsWith,
    EndsWith,
    Contains,
    EqualTo,
}

/// One condition of an L7 policy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct L7Rule {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: L7RuleType,
    pub compare_type: CompareType,
    /// Header or cookie name (`HEADER`, `COOKIE`), DN field (`SSL_DN_FIELD`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    pub value: String,
    #[serde(default)]
    pub invert: bool,
    #[serde(default = "yes")]
    pub admin_state_up: bool,
}

/// Session persistence types (Octavia names).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PersistenceType {
    SourceIp,
    HttpCookie,
    AppCookie,
}

/// A pool's session persistence.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionPersistence {
    #[serde(rename = "type")]
    pub kind: PersistenceType,
    /// The application's cookie (`APP_COOKIE`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cookie_name: Option<String>,
    /// Seconds a `SOURCE_IP` stickiness entry lives after its last use (Octavia default 360).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub persistence_timeout: Option<u32>,
    /// Netmask applied to the source before it is looked up (`SOURCE_IP`), e.g.
    /// `255.255.255.0`; none = the whole address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub persistence_granularity: Option<String>,
}

fn default_connect_timeout() -> u32 {
    5_000
}

fn unlimited() -> i64 {
    -1
}
fn default_timeout() -> u32 {
    50_000
}

/// Balancing algorithms (Octavia names).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Algorithm {
    RoundRobin,
    LeastConnections,
    SourceIp,
    SourceIpPort,
}

/// A pool of members.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pool {
    pub id: String,
    /// How the members are spoken to; `TCP` when absent.
    #[serde(default)]
    pub protocol: PoolProtocol,
    pub lb_algorithm: Algorithm,
    #[serde(default = "yes")]
    pub admin_state_up: bool,
    #[serde(default)]
    pub members: Vec<Member>,
    /// The pool's health monitor, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monitor: Option<Monitor>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_persistence: Option<SessionPersistence>,
    /// HTTP pools: TLS to the members (Octavia's `tls_enabled` and its references).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<crate::listener_tls::PoolTls>,
}

/// Health-monitor types (Octavia names).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MonitorType {
    #[serde(rename = "HTTP")]
    Http,
    #[serde(rename = "HTTPS")]
    Https,
    #[serde(rename = "TCP")]
    Tcp,
    #[serde(rename = "PING")]
    Ping,
    #[serde(rename = "UDP-CONNECT")]
    UdpConnect,
    #[serde(rename = "TLS-HELLO")]
    TlsHello,
    #[serde(rename = "SCTP")]
    Sctp,
}

/// A pool's health monitor, as Octavia defines it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Monitor {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: MonitorType,
    /// Seconds between probes of one member.
    pub delay: u32,
    /// Seconds a probe may take.
    pub timeout: u32,
    /// Consecutive successes that bring a member up (rise).
    pub max_retries: u32,
    /// Consecutive failures that take a member down (fall).
    #[serde(default = "three")]
    pub max_retries_down: u32,
    #[serde(default = "yes")]
    pub admin_state_up: bool,
    #[serde(default = "get")]
    pub http_method: String,
    #[serde(default = "slash")]
    pub url_path: String,
    /// `200`, `200,202`, `200-204`.
    #[serde(default = "ok200")]
    pub expected_codes: String,
    /// 1.0 or 1.1.
    #[serde(default)]
    pub http_version: Option<f64>,
    /// `Host` header for HTTP/1.1 probes.
    #[serde(default)]
    pub domain_name: Option<String>,
}

impl Eq for Monitor {}

fn three() -> u32 {
    3
}
fn get() -> String {
    "GET".into()
}
fn slash() -> String {
    "/".into()
}
fn ok200() -> String {
    "200".into()
}

/// A member (backend server).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Member {
    pub id: String,
    pub address: IpAddr,
    pub protocol_port: u16,
    /// 0–256; 0 drains (no new flows, established ones continue).
    #[serde(default = "one")]
    pub weight: u16,
    /// Used only when no non-backup member can take traffic.
    #[serde(default)]
    pub backup: bool,
    #[serde(default = "yes")]
    pub admin_state_up: bool,
    /// Where health probes go instead of `address`/`protocol_port`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monitor_address: Option<IpAddr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monitor_port: Option<u16>,
}

fn one() -> u16 {
    1
}

impl LoadBalancer {
    /// The pool with `id`, if it is one of this load balancer's.
    #[must_use]
    pub fn pool(&self, id: &str) -> Option<&Pool> {
        self.pools.iter().find(|p| p.id == id)
    }

    /// Whether the agent's L7 proxy serves `listener` (HTTP and PROMETHEUS listeners, and TCP
    /// listeners whose default pool speaks the PROXY protocol); the kernel serves the rest.
    #[must_use]
    pub fn proxied(&self, listener: &Listener) -> bool {
        match listener.protocol {
            ListenerProtocol::Http
            | ListenerProtocol::TerminatedHttps
            | ListenerProtocol::Prometheus => true,
            ListenerProtocol::Udp => false,
            ListenerProtocol::Tcp => listener
                .default_pool_id
                .as_deref()
                .and_then(|id| self.pool(id))
                .is_some_and(|p| p.protocol.sends_proxy_header()),
        }
    }
}
