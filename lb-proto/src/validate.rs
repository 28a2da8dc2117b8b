//! Complete validation of a desired state, before anything of it is applied.

use std::collections::HashSet;

use crate::model::{DesiredState, L7Action, ListenerProtocol, PoolProtocol};

/// The first problem found, with the object it concerns.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ValidationError {
    #[error("duplicate id {id:?}")]
    DuplicateId { id: String },
    #[error("listener {listener}: port 0 is not a valid protocol_port")]
    ZeroPort { listener: String },
    #[error("listener {listener}: another listener already serves {vip} {transport} port {port}")]
    DuplicateListener {
        listener: String,
        vip: String,
        transport: &'static str,
        port: u16,
    },
    #[error("listener {listener}: {reason}")]
    Tls { listener: String, reason: String },
    #[error("pool {pool}: {reason}")]
    PoolTls { pool: String, reason: String },
    #[error("l7policy {policy}: {reason}")]
    L7Policy { policy: String, reason: String },
    #[error("listener {listener}: default_pool_id {pool} is not a pool of its load balancer")]
    UnknownPool { listener: String, pool: String },
    #[error(
        "listener {listener}: connection_limit must be -1 (unlimited) or 1..2^32-1, not {limit}"
    )]
    ConnectionLimit { listener: String, limit: i64 },
    #[error("listener {listener}: allowed_cidrs entry {cidr:?} is not a CIDR")]
    BadCidr { listener: String, cidr: String },
    #[error("listener {listener}: allowed_cidrs entry {cidr} is not of the VIP's address family")]
    CidrFamily { listener: String, cidr: String },
    #[error("member {member}: weight {weight} is outside 0..=256")]
    Weight { member: String, weight: u16 },
    #[error("member {member}: protocol_port 0 is not valid")]
    MemberPort { member: String },
    #[error("member {member}: address family differs from the VIP {vip} (full NAT keeps families)")]
    MemberFamily { member: String, vip: String },
    #[error("load balancer {lb}: no snat.{family} address is configured for its VIP family")]
    NoSnatAddress { lb: String, family: &'static str },
    #[error("snat port range {min}-{max} is empty")]
    SnatRange { min: u16, max: u16 },
    #[error("pool {pool}: health monitor {field} {reason}")]
    Monitor {
        pool: String,
        field: &'static str,
        reason: &'static str,
    },
}

impl DesiredState {
    /// Checks every rule; returns the first violation.
    pub fn validate(&self) -> Result<(), ValidationError> {
        if self.snat.port_min > self.snat.port_max || self.snat.port_min == 0 {
            return Err(ValidationError::SnatRange {
                min: self.snat.port_min,
                max: self.snat.port_max,
            });
        }
        let mut ids = HashSet::new();
        let mut endpoints = HashSet::new();
        let mut unique = |id: &str| {
            if ids.insert(id.to_owned()) {
                Ok(())
            } else {
                Err(ValidationError::DuplicateId { id: id.to_owned() })
            }
        };
        for lb in &self.loadbalancers {
            unique(&lb.id)?;
            let v4 = lb.vip_address.is_ipv4();
            if v4 && self.snat.ipv4.is_none() || !v4 && self.snat.ipv6.is_none() {
                return Err(ValidationError::NoSnatAddress {
                    lb: lb.id.clone(),
                    family: if v4 { "ipv4" } else { "ipv6" },
                });
            }
            for pool in &lb.pools {
                unique(&pool.id)?;
                if let Some(m) = &pool.monitor {
                    monitor(&pool.id, m)?;
                }
                if let Some(t) = &pool.tls {
                    let reason = if pool.protocol == PoolProtocol::Http {
                        t.check().err().map(|e| e.to_string())
                    } else {
                        Some(format!(
                            "{:?} pools take no tls (only HTTP pools re-encrypt)",
                            pool.protocol
                        ))
                    };
                    if let Some(reason) = reason {
                        return Err(ValidationError::PoolTls {
                            pool: pool.id.clone(),
                            reason,
                        });
                    }
                }
                for m in &pool.members {
                    unique(&m.id)?;
                    if m.weight > 256 {
                        return Err(ValidationError::Weight {
                            member: m.id.clone(),
                            weight: m.weight,
                        });
                    }
                    if m.protocol_port == 0 {
                        return Err(ValidationError::MemberPort {
                            member: m.id.clone(),
                        });
                    }
                    if m.address.is_ipv4() != v4 {
                        return Err(ValidationError::MemberFamily {
                            member: m.id.clone(),
                            vip: lb.vip_address.to_string(),
                        });
                    }
                }
            }
            for l in &lb.listeners {
                unique(&l.id)?;
                if l.protocol_port == 0 {
                    return Err(ValidationError::ZeroPort {
                        listener: l.id.clone(),
                    });
                }
                if !endpoints.insert((lb.vip_address, l.protocol.is_udp(), l.protocol_port)) {
                    return Err(ValidationError::DuplicateListener {
                        listener: l.id.clone(),
                        vip: lb.vip_address.to_string(),
                        transport: if l.protocol.is_udp() { "UDP" } else { "TCP" },
                        port: l.protocol_port,
                    });
                }
                for policy in &l.l7policies {
                    unique(&policy.id)?;
                    l7policy(lb, l, policy)?;
                    for rule in &policy.rules {
                        unique(&rule.id)?;
                    }
                }
                if l.connection_limit == 0
                    || l.connection_limit < -1
                    || l.connection_limit > i64::from(u32::MAX)
                {
                    return Err(ValidationError::ConnectionLimit {
                        listener: l.id.clone(),
                        limit: l.connection_limit,
                    });
                }
                for cidr in &l.allowed_cidrs {
                    let net: ipnet::IpNet = cidr.parse().map_err(|_| ValidationError::BadCidr {
                        listener: l.id.clone(),
                        cidr: cidr.clone(),
                    })?;
                    if net.addr().is_ipv4() != v4 {
                        return Err(ValidationError::CidrFamily {
                            listener: l.id.clone(),
                            cidr: cidr.clone(),
                        });
                    }
                }
                tls(l)?;
                if let Some(pool) = &l.default_pool_id
                    && !lb.pools.iter().any(|p| &p.id == pool)
                {
                    return Err(ValidationError::UnknownPool {
                        listener: l.id.clone(),
                        pool: pool.clone(),
                    });
                }
            }
        }
        Ok(())
    }
}

/// A TERMINATED_HTTPS listener has usable TLS settings; no other listener has any.
fn tls(l: &crate::Listener) -> Result<(), ValidationError> {
    let bad = |reason: String| {
        Err(ValidationError::Tls {
            listener: l.id.clone(),
            reason,
        })
    };
    match (&l.tls, l.protocol == ListenerProtocol::TerminatedHttps) {
        (Some(t), true) => t.check().or_else(|e| bad(e.to_string())),
        (None, true) => bad("TERMINATED_HTTPS listeners need tls (their certificates)".into()),
        (Some(_), false) => bad(format!("{:?} listeners take no tls", l.protocol)),
        (None, false) => Ok(()),
    }
}

fn l7policy(
    lb: &crate::LoadBalancer,
    l: &crate::Listener,
    p: &crate::L7Policy,
) -> Result<(), ValidationError> {
    let bad = |reason: String| {
        Err(ValidationError::L7Policy {
            policy: p.id.clone(),
            reason,
        })
    };
    if !l.protocol.is_http() {
        return bad(format!("{:?} listeners take no L7 policies", l.protocol));
    }
    match p.action {
        L7Action::RedirectToPool => match &p.redirect_pool_id {
            Some(pool) if lb.pools.iter().any(|x| &x.id == pool) => {}
            Some(pool) => {
                return bad(format!(
                    "redirect_pool_id {pool} is not a pool of its load balancer"
                ));
            }
            None => return bad("REDIRECT_TO_POOL needs redirect_pool_id".into()),
        },
        L7Action::RedirectToUrl if p.redirect_url.is_none() => {
            return bad("REDIRECT_TO_URL needs redirect_url".into());
        }
        L7Action::RedirectPrefix if p.redirect_prefix.is_none() => {
            return bad("REDIRECT_PREFIX needs redirect_prefix".into());
        }
        _ => {}
    }
    if let Some(code) = p.redirect_http_code
        && ![301, 302, 303, 307, 308].contains(&code)
    {
        return bad(format!(
            "redirect_http_code {code} is not 301, 302, 303, 307 or 308"
        ));
    }
    Ok(())
}

fn monitor(pool: &str, m: &crate::Monitor) -> Result<(), ValidationError> {
    let bad = |field, reason| {
        Err(ValidationError::Monitor {
            pool: pool.to_owned(),
            field,
            reason,
        })
    };
    if m.delay == 0 || m.timeout == 0 {
        return bad("delay/timeout", "must be at least 1 second");
    }
    if !(1..=10).contains(&m.max_retries) || !(1..=10).contains(&m.max_retries_down) {
        return bad("max_retries/max_retries_down", "must be 1..=10");
    }
    if !m.url_path.starts_with('/') {
        return bad("url_path", "must start with /");
    }
    if m.http_method.is_empty() || !m.http_method.bytes().all(|b| b.is_ascii_uppercase()) {
        return bad("http_method", "must be an upper-case HTTP method");
    }
    if crate::expected::Expected::parse(&m.expected_codes).is_none() {
        return bad("expected_codes", "must be codes 100-599, lists or ranges");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;

    use crate::model::*;

    fn state() -> DesiredState {
        DesiredState {
            version: 1,
            generation: 1,
            snat: Snat {
                ipv4: Some("198.18.1.1".parse().unwrap()),
                ..Snat::default()
            },
            loadbalancers: vec![LoadBalancer {
                id: "lb".into(),
                vip_address: "198.18.0.100".parse().unwrap(),
                admin_state_up: true,
                listeners: vec![Listener {
                    id: "l".into(),
                    protocol: ListenerProtocol::Tcp,
                    protocol_port: 80,
                    admin_state_up: true,
                    connection_limit: -1,
                    allowed_cidrs: vec![],
                    timeout_client_data: 50_000,
                    timeout_member_data: 50_000,
                    timeout_member_connect: 5_000,
                    timeout_tcp_inspect: 0,
                    default_pool_id: Some("p".into()),
                    insert_headers: Default::default(),
                    l7policies: vec![],
                    tls: None,
                }],
                pools: vec![Pool {
                    id: "p".into(),
                    protocol: PoolProtocol::Tcp,
                    lb_algorithm: Algorithm::RoundRobin,
                    admin_state_up: true,
                    members: vec![Member {
                        id: "m".into(),
                        address: "198.18.1.11".parse().unwrap(),
                        protocol_port: 8080,
                        weight: 1,
                        backup: false,
                        admin_state_up: true,
                        monitor_address: None,
                        monitor_port: None,
                    }],
                    monitor: None,
                    session_persistence: None,
                    tls: None,
                }],
            }],
        }
    }

    fn policy(action: L7Action) -> L7Policy {
        L7Policy {
            id: "pol".into(),
            position: 1,
            action,
            admin_state_up: true,
            redirect_pool_id: None,
            redirect_url: None,
            redirect_prefix: None,
            redirect_http_code: None,
            rules: vec![],
        }
    }

    #[test]
    fn a_sound_state_passes() {
        assert_eq!(state().validate(), Ok(()));
    }

    #[test]
    fn each_rule_is_enforced() {
        type Breaker = fn(&mut DesiredState);
        let cases: Vec<(Breaker, &str)> = vec![
            (
                |s| s.loadbalancers[0].pools[0].members[0].weight = 257,
                "weight",
            ),
            (
                |s| {
                    let mut m: crate::Monitor = serde_json::from_str(
                        r#"{"id":"hm","type":"HTTP","delay":1,"timeout":1,"max_retries":2}"#,
                    )
                    .unwrap();
                    m.expected_codes = "2xx".into();
                    s.loadbalancers[0].pools[0].monitor = Some(m);
                },
                "expected_codes",
            ),
            (
                |s| {
                    let m: crate::Monitor = serde_json::from_str(
                        r#"{"id":"hm","type":"TCP","delay":1,"timeout":1,"max_retries":11}"#,
                    )
                    .unwrap();
                    s.loadbalancers[0].pools[0].monitor = Some(m);
                },
                "max_retries",
            ),
            (
                |s| s.loadbalancers[0].pools[0].members[0].protocol_port = 0,
                "protocol_port 0",
            ),
            (
                |s| {
                    s.loadbalancers[0].pools[0].members[0].address =
                        "fd00::1".parse::<IpAddr>().unwrap()
                },
                "family",
            ),
            (
                |s| s.loadbalancers[0].listeners[0].default_pool_id = Some("x".into()),
                "not a pool",
            ),
            (
                |s| s.loadbalancers[0].listeners[0].connection_limit = 0,
                "connection_limit",
            ),
            (
                |s| s.loadbalancers[0].listeners[0].protocol_port = 0,
                "port 0",
            ),
            (
                |s| s.loadbalancers[0].listeners[0].allowed_cidrs = vec!["10.0.0.0/33".into()],
                "not a CIDR",
            ),
            (
                |s| s.loadbalancers[0].listeners[0].allowed_cidrs = vec!["fd00::/8".into()],
                "address family",
            ),
            (|s| s.snat.ipv4 = None, "snat.ipv4"),
            (|s| s.snat.port_min = 40_000, "port range"),
            (
                |s| {
                    let l = s.loadbalancers[0].listeners[0].clone();
                    s.loadbalancers[0].listeners.push(Listener {
                        id: "l2".into(),
                        ..l
                    });
                },
                "already serves",
            ),
            (
                |s| s.loadbalancers[0].pools[0].members[0].id = "p".into(),
                "duplicate id",
            ),
            (
                |s| {
                    let l = s.loadbalancers[0].listeners[0].clone();
                    s.loadbalancers[0].listeners.push(Listener {
                        id: "l2".into(),
                        protocol: ListenerProtocol::Http,
                        ..l
                    });
                },
                "TCP port 80",
            ),
            (
                |s| s.loadbalancers[0].listeners[0].l7policies = vec![policy(L7Action::Reject)],
                "take no L7 policies",
            ),
            (
                |s| s.loadbalancers[0].listeners[0].protocol = ListenerProtocol::TerminatedHttps,
                "need tls",
            ),
            (
                |s| {
                    let l = &mut s.loadbalancers[0].listeners[0];
                    l.protocol = ListenerProtocol::Http;
                    let mut p = policy(L7Action::RedirectToPool);
                    p.redirect_pool_id = Some("elsewhere".into());
                    l.l7policies = vec![p];
                },
                "not a pool of its load balancer",
            ),
            (
                |s| {
                    let l = &mut s.loadbalancers[0].listeners[0];
                    l.protocol = ListenerProtocol::Http;
                    l.l7policies = vec![policy(L7Action::RedirectToUrl)];
                },
                "needs redirect_url",
            ),
            (
                |s| {
                    let l = &mut s.loadbalancers[0].listeners[0];
                    l.protocol = ListenerProtocol::Http;
                    let mut p = policy(L7Action::RedirectPrefix);
                    p.redirect_prefix = Some("https://x".into());
                    p.redirect_http_code = Some(304);
                    l.l7policies = vec![p];
                },
                "redirect_http_code 304",
            ),
        ];
        for (break_it, expected) in cases {
            let mut s = state();
            break_it(&mut s);
            let err = s.validate().expect_err(expected).to_string();
            assert!(
                err.contains(expected),
                "{err:?} should mention {expected:?}"
            );
        }
    }
}
