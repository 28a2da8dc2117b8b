//! The desired state of one amphora host: load balancers with their listeners, pools and
//! members, as the data plane needs them. Defaults follow Octavia's.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

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

/// Transport protocols balanced in the kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum L4Protocol {
    Tcp,
    Udp,
}

/// A listener: VIP port + protocol.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Listener {
    pub id: String,
    pub protocol: L4Protocol,
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
    #[serde(default)]
    pub default_pool_id: Option<String>,
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
    pub lb_algorithm: Algorithm,
    #[serde(default = "yes")]
    pub admin_state_up: bool,
    #[serde(default)]
    pub members: Vec<Member>,
    /// The pool's health monitor, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monitor: Option<Monitor>,
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
