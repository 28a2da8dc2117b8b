//! The proxy's view of a desired state: one [`ListenerCfg`] per proxied listener, with its
//! compiled L7 policies and ready-to-choose pools. Built on every push (and health change);
//! what must outlive a rebuild — members' in-flight counts, stickiness tables, listener
//! counters, member serials — lives in the [`Registry`] and is shared into each build.

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{Arc, atomic::AtomicU64},
    time::Duration,
};

use lb_proto::{DesiredState, ListenerProtocol, LoadBalancer, Pool};

use super::{
    counters::ListenerCounters,
    persist::{Persistence, STICK_SLOTS},
    rules::Policies,
    select::{MemberRt, PoolRt},
    stick::StickTable,
};

/// Which headers the listener inserts (`insert_headers` set to `"true"`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct InsertHeaders {
    pub forwarded_for: bool,
    pub forwarded_port: bool,
    pub forwarded_proto: bool,
    pub forwarded_ip: bool,
    pub client_ip: bool,
    pub real_ip: bool,
    /// TERMINATED_HTTPS: `X-SSL-Client-Verify`, `-Has-Cert`, `-DN`, `-CN`, `X-SSL-Issuer`,
    /// `X-SSL-Client-SHA1`, `-Not-Before`, `-Not-After`.
    pub ssl: SslHeaders,
}

/// The `X-SSL-*` headers a TERMINATED_HTTPS listener inserts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SslHeaders {
    pub client_verify: bool,
    pub client_has_cert: bool,
    pub client_dn: bool,
    pub client_cn: bool,
    pub issuer: bool,
    pub client_sha1: bool,
    pub client_not_before: bool,
    pub client_not_after: bool,
}

impl InsertHeaders {
    fn from_map(m: &std::collections::BTreeMap<String, String>) -> Self {
        let on = |k: &str| {
            m.iter()
                .any(|(key, v)| key.eq_ignore_ascii_case(k) && v.eq_ignore_ascii_case("true"))
        };
        Self {
            forwarded_for: on("X-Forwarded-For"),
            forwarded_port: on("X-Forwarded-Port"),
            forwarded_proto: on("X-Forwarded-Proto"),
            forwarded_ip: on("X-Forwarded-IP"),
            client_ip: on("X-Client-IP"),
            real_ip: on("X-Real-IP"),
            ssl: SslHeaders {
                client_verify: on("X-SSL-Client-Verify"),
                client_has_cert: on("X-SSL-Client-Has-Cert"),
                client_dn: on("X-SSL-Client-DN"),
                client_cn: on("X-SSL-Client-CN"),
                issuer: on("X-SSL-Issuer"),
                client_sha1: on("X-SSL-Client-SHA1"),
                client_not_before: on("X-SSL-Client-Not-Before"),
                client_not_after: on("X-SSL-Client-Not-After"),
            },
        }
    }
}

/// A listener's timeouts (Octavia's `timeout_*` fields).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// Client inactivity: a request head must arrive within it; idle keep-alive ends after it.
    pub client_data: Duration,
    pub member_connect: Duration,
    /// Member inactivity: the response head must arrive within it.
    pub member_data: Duration,
    pub tcp_inspect: Duration,
}

fn ms(v: u32) -> Duration {
    Duration::from_millis(u64::from(v))
}

/// One proxied listener as its connections see it.
pub struct ListenerCfg {
    pub id: Arc<str>,
    pub protocol: ListenerProtocol,
    pub bind: SocketAddr,
    /// Load balancer and listener administratively up.
    pub up: bool,
    /// Concurrent client connections; `None` = unlimited.
    pub connection_limit: Option<u32>,
    pub allowed: Vec<ipnet::IpNet>,
    pub timeouts: Timeouts,
    pub headers: InsertHeaders,
    pub policies: Policies,
    pub default_pool: Option<Arc<PoolRt>>,
    /// Every pool of the load balancer, for `REDIRECT_TO_POOL`.
    pub pools: HashMap<String, Arc<PoolRt>>,
    pub counters: Arc<ListenerCounters>,
    /// The load balancer's id (PROMETHEUS listeners report on their load balancer).
    pub loadbalancer_id: Arc<str>,
    /// Counters of the load balancer's proxied listeners (what PROMETHEUS listeners report).
    pub siblings: Vec<(String, Arc<ListenerCounters>)>,
    /// TERMINATED_HTTPS listeners: the TLS side of their connections.
    pub tls: Option<Arc<rustls::ServerConfig>>,
}

impl ListenerCfg {
    /// Snapshots of the load balancer's proxied listeners.
    #[must_use]
    pub fn lb_counters(&self) -> Vec<(String, super::counters::Snapshot)> {
        self.siblings
            .iter()
            .map(|(id, c)| (id.clone(), c.snapshot()))
            .collect()
    }

    /// Whether `addr` may connect (`allowed_cidrs`; empty = everyone).
    #[must_use]
    pub fn admits(&self, addr: std::net::IpAddr) -> bool {
        let addr = match addr {
            std::net::IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(addr, Into::into),
            v4 => v4,
        };
        self.allowed.is_empty() || self.allowed.iter().any(|n| n.contains(&addr))
    }
}

/// What survives rebuilds, keyed by the desired state's ids.
#[derive(Default)]
pub struct Registry {
    inflight: HashMap<String, Arc<AtomicU64>>,
    serials: HashMap<String, u32>,
    next_serial: u32,
    tables: HashMap<String, Arc<StickTable>>,
    pub counters: HashMap<String, Arc<ListenerCounters>>,
}

impl Registry {
    fn serial(&mut self, id: &str) -> u32 {
        if let Some(s) = self.serials.get(id) {
            return *s;
        }
        self.next_serial = self.next_serial.wrapping_add(1).max(1);
        self.serials.insert(id.to_owned(), self.next_serial);
        self.next_serial
    }

    fn pool(&mut self, pool: &Pool) -> PoolRt {
        let members = pool
            .members
            .iter()
            .map(|m| {
                let addr = SocketAddr::new(m.address, m.protocol_port);
                MemberRt {
                    id: m.id.as_str().into(),
                    serial: self.serial(&m.id),
                    addr,
                    // A socket address is always a valid authority.
                    authority: addr
                        .to_string()
                        .parse()
                        .unwrap_or_else(|_| http::uri::Authority::from_static("invalid")),
                    weight: m.weight,
                    backup: m.backup,
                    usable: pool.admin_state_up && m.admin_state_up && m.weight > 0,
                    inflight: self.inflight.entry(m.id.clone()).or_default().clone(),
                }
            })
            .collect();
        let persistence = pool.session_persistence.as_ref().map(|sp| {
            let table = self
                .tables
                .entry(pool.id.clone())
                .or_insert_with(|| Arc::new(StickTable::new(STICK_SLOTS)))
                .clone();
            Persistence::new(sp, table)
        });
        let mut rt = PoolRt::new(
            &pool.id,
            pool.protocol,
            pool.lb_algorithm,
            members,
            persistence,
        );
        // Validated with the state; a failure leaves the pool without usable members rather
        // than sending in clear what should be encrypted.
        if let Some(t) = &pool.tls {
            match super::tls::client_config(t) {
                Ok(c) => rt.tls = Some(c),
                Err(error) => {
                    tracing::error!(pool = %pool.id, %error, "member TLS configuration refused");
                    rt = PoolRt::new(&pool.id, pool.protocol, pool.lb_algorithm, Vec::new(), None);
                }
            }
        }
        rt
    }

    /// The proxied listeners of `state`. Forgets what belongs to objects no longer in it.
    pub fn build(&mut self, state: &DesiredState) -> Vec<ListenerCfg> {
        let mut out = Vec::new();
        for lb in &state.loadbalancers {
            if !lb.listeners.iter().any(|l| lb.proxied(l)) {
                continue;
            }
            let pools: HashMap<String, Arc<PoolRt>> = lb
                .pools
                .iter()
                .map(|p| (p.id.clone(), Arc::new(self.pool(p))))
                .collect();
            let first = out.len();
            for l in lb.listeners.iter().filter(|l| lb.proxied(l)) {
                out.push(self.listener(lb, l, &pools));
            }
            // Every listener of the load balancer, for its PROMETHEUS listeners: the proxied
            // ones count here, the kernel's are mirrored in by each report
            // ([`crate::proxy::Proxy::mirror_kernel_stats`]).
            let siblings: Vec<(String, Arc<ListenerCounters>)> = lb
                .listeners
                .iter()
                .map(|l| {
                    let c = self.counters.entry(l.id.clone()).or_default().clone();
                    (l.id.clone(), c)
                })
                .collect();
            for l in &mut out[first..] {
                l.siblings.clone_from(&siblings);
            }
        }
        let live_members: std::collections::HashSet<&str> = state
            .loadbalancers
            .iter()
            .flat_map(|lb| lb.pools.iter())
            .flat_map(|p| p.members.iter().map(|m| m.id.as_str()))
            .collect();
        self.inflight
            .retain(|id, _| live_members.contains(id.as_str()));
        self.serials
            .retain(|id, _| live_members.contains(id.as_str()));
        let live_pools: std::collections::HashSet<&str> = state
            .loadbalancers
            .iter()
            .flat_map(|lb| lb.pools.iter().map(|p| p.id.as_str()))
            .collect();
        self.tables.retain(|id, _| live_pools.contains(id.as_str()));
        let live_listeners: std::collections::HashSet<&str> = state
            .loadbalancers
            .iter()
            .filter(|lb| lb.listeners.iter().any(|l| lb.proxied(l)))
            .flat_map(|lb| lb.listeners.iter().map(|l| l.id.as_str()))
            .collect();
        self.counters
            .retain(|id, _| live_listeners.contains(id.as_str()));
        out
    }

    fn listener(
        &mut self,
        lb: &LoadBalancer,
        l: &lb_proto::Listener,
        pools: &HashMap<String, Arc<PoolRt>>,
    ) -> ListenerCfg {
        let enabled = |id: &str| lb.pool(id).is_some_and(|p| p.admin_state_up);
        // Validated with the state; a failure here leaves the listener down, never half up.
        let tls = l
            .tls
            .as_ref()
            .and_then(|t| match super::tls::server_config(t) {
                Ok(c) => Some(c),
                Err(error) => {
                    tracing::error!(listener = %l.id, %error, "TLS configuration refused");
                    None
                }
            });
        let tls_ok = l.protocol != lb_proto::ListenerProtocol::TerminatedHttps || tls.is_some();
        ListenerCfg {
            id: l.id.as_str().into(),
            protocol: l.protocol,
            bind: SocketAddr::new(lb.vip_address, l.protocol_port),
            up: lb.admin_state_up && l.admin_state_up && tls_ok,
            connection_limit: u32::try_from(l.connection_limit).ok(),
            allowed: l
                .allowed_cidrs
                .iter()
                .filter_map(|c| c.parse::<ipnet::IpNet>().ok())
                .collect(),
            timeouts: Timeouts {
                client_data: ms(l.timeout_client_data),
                member_connect: ms(l.timeout_member_connect),
                member_data: ms(l.timeout_member_data),
                tcp_inspect: ms(l.timeout_tcp_inspect),
            },
            headers: InsertHeaders::from_map(&l.insert_headers),
            policies: Policies::compile(&l.l7policies, enabled),
            // HAProxy's `default_backend` is written only for an enabled pool.
            default_pool: l
                .default_pool_id
                .as_deref()
                .filter(|id| enabled(id))
                .and_then(|id| pools.get(id).cloned()),
            pools: pools.clone(),
            counters: self.counters.entry(l.id.clone()).or_default().clone(),
            loadbalancer_id: lb.id.as_str().into(),
            siblings: Vec::new(),
            tls,
        }
    }
}
