//! Renders the desired state of one amphora host (lb-proto) from the store: every load balancer
//! placed on it with what is not being deleted. Objects in `PENDING_CREATE`/`PENDING_UPDATE` are
//! rendered as they will be; `PENDING_DELETE` ones are left out.
//!
//! The kernel balances TCP, UDP and HTTPS (TLS passed through, as TCP); HTTP and PROMETHEUS
//! listeners (and TCP listeners whose pool speaks the PROXY protocol) go to the agent's L7
//! proxy with their L7 policies, inserted headers and session persistence. Listeners the
//! agent cannot serve yet (TERMINATED_HTTPS, SCTP) are skipped and listed in
//! [`Rendered::skipped`].

use std::net::IpAddr;

use lb_proto::{
    Algorithm, CompareType, DesiredState, L7Action, L7RuleType, ListenerProtocol, MonitorType,
    PROTO_VERSION, PersistenceType, PoolProtocol, Snat,
};

use super::host::Host;
use crate::model::{
    common::Prov, graph::Graph, healthmonitor::HealthMonitor, l7policy::L7Policy, l7rule::L7Rule,
    listener::Listener, member::Member, pool::Pool,
};

/// A rendered host state.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub state: DesiredState,
    /// `(listener id, reason)` for listeners not rendered.
    pub skipped: Vec<(String, String)>,
}

fn live(p: Prov) -> bool {
    !matches!(p, Prov::PendingDelete | Prov::Deleted)
}

fn listener_protocol(protocol: &str) -> Option<ListenerProtocol> {
    match protocol {
        "TCP" | "HTTPS" => Some(ListenerProtocol::Tcp),
        "UDP" => Some(ListenerProtocol::Udp),
        "HTTP" => Some(ListenerProtocol::Http),
        "PROMETHEUS" => Some(ListenerProtocol::Prometheus),
        _ => None,
    }
}

fn pool_protocol(protocol: &str) -> PoolProtocol {
    match protocol {
        "UDP" => PoolProtocol::Udp,
        "HTTP" => PoolProtocol::Http,
        "HTTPS" => PoolProtocol::Https,
        "PROXY" => PoolProtocol::Proxy,
        "PROXYV2" => PoolProtocol::Proxyv2,
        "SCTP" => PoolProtocol::Sctp,
        _ => PoolProtocol::Tcp,
    }
}

fn persistence(p: &Pool) -> Option<lb_proto::SessionPersistence> {
    let sp = p.session_persistence.as_ref()?;
    let kind = match sp.kind.as_str() {
        "SOURCE_IP" => PersistenceType::SourceIp,
        "HTTP_COOKIE" => PersistenceType::HttpCookie,
        "APP_COOKIE" => PersistenceType::AppCookie,
        _ => return None,
    };
    Some(lb_proto::SessionPersistence {
        kind,
        cookie_name: sp.cookie_name.clone(),
        persistence_timeout: sp.persistence_timeout.and_then(|t| u32::try_from(t).ok()),
        persistence_granularity: sp.persistence_granularity.clone(),
    })
}

fn l7rule(r: &L7Rule) -> Option<lb_proto::L7Rule> {
    let kind = match r.kind.as_str() {
        "HOST_NAME" => L7RuleType::HostName,
        "PATH" => L7RuleType::Path,
        "FILE_TYPE" => L7RuleType::FileType,
        "HEADER" => L7RuleType::Header,
        "COOKIE" => L7RuleType::Cookie,
        "SSL_CONN_HAS_CERT" => L7RuleType::SslConnHasCert,
        "SSL_VERIFY_RESULT" => L7RuleType::SslVerifyResult,
        "SSL_DN_FIELD" => L7RuleType::SslDnField,
        _ => return None,
    };
    let compare_type = match r.compare_type.as_str() {
        "REGEX" => CompareType::Regex,
        "STARTS_WITH" => CompareType::StartsWith,
        "ENDS_WITH" => CompareType::EndsWith,
        "CONTAINS" => CompareType::Contains,
        "EQUAL_TO" => CompareType::EqualTo,
        _ => return None,
    };
    Some(lb_proto::L7Rule {
        id: r.c.id.clone(),
        kind,
        compare_type,
        key: r.key.clone(),
        value: r.value.clone(),
        invert: r.invert,
        admin_state_up: r.c.admin_state_up,
    })
}

fn l7policy(g: &Graph, p: &L7Policy, pools: &[lb_proto::Pool]) -> Option<lb_proto::L7Policy> {
    let action = match p.action.as_str() {
        "REDIRECT_TO_POOL" => L7Action::RedirectToPool,
        "REDIRECT_TO_URL" => L7Action::RedirectToUrl,
        "REDIRECT_PREFIX" => L7Action::RedirectPrefix,
        "REJECT" => L7Action::Reject,
        _ => return None,
    };
    let redirect_pool_id = p.redirect_pool_id.clone();
    // A policy whose pool is being deleted is left out (it cannot route anywhere).
    if action == L7Action::RedirectToPool
        && !redirect_pool_id
            .as_ref()
            .is_some_and(|id| pools.iter().any(|x| &x.id == id))
    {
        return None;
    }
    Some(lb_proto::L7Policy {
        id: p.c.id.clone(),
        position: u32::try_from(p.position).unwrap_or(u32::MAX),
        action,
        admin_state_up: p.c.admin_state_up,
        redirect_pool_id,
        redirect_url: p.redirect_url.clone(),
        redirect_prefix: p.redirect_prefix.clone(),
        redirect_http_code: p.redirect_http_code.and_then(|c| u16::try_from(c).ok()),
        rules: g
            .l7rules
            .iter()
            .filter(|r| r.l7policy_id == p.c.id && live(r.c.provisioning_status))
            .filter_map(l7rule)
            .collect(),
    })
}

fn algorithm(name: &str) -> Algorithm {
    match name {
        "LEAST_CONNECTIONS" => Algorithm::LeastConnections,
        "SOURCE_IP" => Algorithm::SourceIp,
        "SOURCE_IP_PORT" => Algorithm::SourceIpPort,
        _ => Algorithm::RoundRobin,
    }
}

fn clamp_u16(v: i64) -> u16 {
    u16::try_from(v).unwrap_or(0)
}

fn clamp_u32(v: i64) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

fn member(m: &Member) -> Option<lb_proto::Member> {
    Some(lb_proto::Member {
        id: m.c.id.clone(),
        address: m.address.parse().ok()?,
        protocol_port: clamp_u16(m.protocol_port),
        weight: u16::try_from(m.weight.clamp(0, 256)).unwrap_or(1),
        backup: m.backup,
        admin_state_up: m.c.admin_state_up,
        monitor_address: m.monitor_address.as_deref().and_then(|a| a.parse().ok()),
        monitor_port: m.monitor_port.map(clamp_u16).filter(|p| *p != 0),
    })
}

fn monitor(hm: &HealthMonitor) -> Option<lb_proto::Monitor> {
    let kind = match hm.kind.as_str() {
        "HTTP" => MonitorType::Http,
        "HTTPS" => MonitorType::Https,
        "TCP" => MonitorType::Tcp,
        "PING" => MonitorType::Ping,
        "UDP-CONNECT" => MonitorType::UdpConnect,
        "TLS-HELLO" => MonitorType::TlsHello,
        "SCTP" => MonitorType::Sctp,
        _ => return None,
    };
    let count = |v: i64| u32::try_from(v.max(1)).unwrap_or(1);
    Some(lb_proto::Monitor {
        id: hm.c.id.clone(),
        kind,
        delay: count(hm.delay),
        timeout: count(hm.timeout),
        max_retries: count(hm.max_retries),
        max_retries_down: count(hm.max_retries_down),
        admin_state_up: hm.c.admin_state_up,
        http_method: hm.http_method.clone().unwrap_or_else(|| "GET".into()),
        url_path: hm.url_path.clone().unwrap_or_else(|| "/".into()),
        expected_codes: hm.expected_codes.clone().unwrap_or_else(|| "200".into()),
        http_version: hm.http_version,
        domain_name: hm.domain_name.clone(),
    })
}

/// An HTTP pool's re-encryption (`tls_enabled`): rendered when it names no container (with
/// no secret store to resolve references from, a pool naming a CA, CRL or client certificate
/// is rendered without TLS rather than with a part of it). Versions the agent does not
/// offer are left out, as HAProxy ignores them.
fn pool_tls(p: &Pool) -> Option<lb_proto::listener_tls::PoolTls> {
    let refs = p.tls_container_ref.is_some()
        || p.ca_tls_container_ref.is_some()
        || p.crl_container_ref.is_some();
    (p.tls_enabled && p.protocol == "HTTP" && !refs).then(|| lb_proto::listener_tls::PoolTls {
        tls_versions: p
            .tls_versions
            .iter()
            .flatten()
            .filter(|v| lb_proto::listener_tls::TLS_VERSIONS.contains(&v.as_str()))
            .cloned()
            .collect(),
        tls_ciphers: p.tls_ciphers.clone(),
        ..Default::default()
    })
}

fn pool(g: &Graph, p: &Pool) -> lb_proto::Pool {
    lb_proto::Pool {
        tls: pool_tls(p),
        id: p.c.id.clone(),
        protocol: pool_protocol(&p.protocol),
        session_persistence: persistence(p),
        lb_algorithm: algorithm(&p.lb_algorithm),
        admin_state_up: p.c.admin_state_up,
        members: g
            .members
            .iter()
            .filter(|m| m.pool_id == p.c.id && live(m.c.provisioning_status))
            .filter_map(member)
            .collect(),
        monitor: g
            .hms
            .iter()
            .find(|h| h.pool_id == p.c.id && live(h.c.provisioning_status))
            .and_then(monitor),
    }
}

fn listener(
    g: &Graph,
    l: &Listener,
    protocol: ListenerProtocol,
    pools: &[lb_proto::Pool],
) -> lb_proto::Listener {
    let mut l7policies: Vec<lb_proto::L7Policy> = if protocol == ListenerProtocol::Http {
        g.l7policies
            .iter()
            .filter(|p| p.listener_id == l.c.id && live(p.c.provisioning_status))
            .filter_map(|p| l7policy(g, p, pools))
            .collect()
    } else {
        Vec::new()
    };
    l7policies.sort_by_key(|p| p.position);
    lb_proto::Listener {
        id: l.c.id.clone(),
        protocol,
        protocol_port: clamp_u16(l.protocol_port),
        admin_state_up: l.c.admin_state_up,
        // Octavia accepts 0; HAProxy reads maxconn 0 as "no limit of its own".
        connection_limit: if l.connection_limit == 0 {
            -1
        } else {
            l.connection_limit
        },
        allowed_cidrs: l.allowed_cidrs.clone(),
        timeout_client_data: clamp_u32(l.timeout_client_data),
        timeout_member_data: clamp_u32(l.timeout_member_data),
        timeout_member_connect: clamp_u32(l.timeout_member_connect),
        timeout_tcp_inspect: clamp_u32(l.timeout_tcp_inspect),
        insert_headers: l.insert_headers.clone(),
        l7policies,
        default_pool_id: l
            .default_pool_id
            .clone()
            .filter(|id| pools.iter().any(|p| &p.id == id)),
        // TERMINATED_HTTPS listeners are not rendered yet (no secret store to resolve their
        // certificates from).
        tls: None,
    }
}

/// One load balancer's part of the host state, or `None` when it is being deleted.
pub fn loadbalancer(
    g: &Graph,
    lb_id: &str,
    skipped: &mut Vec<(String, String)>,
) -> Option<lb_proto::LoadBalancer> {
    let lb = g.lb(lb_id).filter(|lb| live(lb.c.provisioning_status))?;
    let vip_address: IpAddr = lb.vip_address.as_deref()?.parse().ok()?;
    let pools: Vec<lb_proto::Pool> = g
        .pools
        .iter()
        .filter(|p| live(p.c.provisioning_status))
        .map(|p| pool(g, p))
        .collect();
    let mut listeners = Vec::new();
    for l in g.listeners.iter().filter(|l| live(l.c.provisioning_status)) {
        match listener_protocol(&l.protocol) {
            Some(protocol) => listeners.push(listener(g, l, protocol, &pools)),
            None => skipped.push((
                l.c.id.clone(),
                format!(
                    "{} listeners are not served by the data plane yet",
                    l.protocol
                ),
            )),
        }
    }
    Some(lb_proto::LoadBalancer {
        id: lb.c.id.clone(),
        vip_address,
        admin_state_up: lb.c.admin_state_up,
        listeners,
        pools,
    })
}

/// The host's whole state at `generation` from the graphs of the load balancers placed on it.
pub fn host(host: &Host, generation: u64, graphs: &[(String, Graph)]) -> Rendered {
    let mut skipped = Vec::new();
    let loadbalancers = graphs
        .iter()
        .filter_map(|(lb_id, g)| loadbalancer(g, lb_id, &mut skipped))
        .collect();
    let state = DesiredState {
        version: PROTO_VERSION,
        generation,
        snat: Snat {
            ipv4: host.snat_ipv4.as_deref().and_then(|a| a.parse().ok()),
            ipv6: host.snat_ipv6.as_deref().and_then(|a| a.parse().ok()),
            ..Snat::default()
        },
        loadbalancers,
    };
    Rendered { state, skipped }
}
