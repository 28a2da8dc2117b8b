//! The L7 proxy: serves the listeners the kernel passes up (HTTP, PROMETHEUS, TCP listeners
//! whose pool speaks the PROXY protocol) from the same pushed desired state. Decisions are
//! sans-io (`rules`: L7 policies; `select`: member choice; `persist`: session persistence;
//! `stick`: their tables); the tokio/hyper glue around them (`listen`, `http`, `stream`,
//! `prometheus`, `upstream`) is thin. [`Proxy::apply`] makes the running listeners match a state: new ones
//! are bound, changed ones take their new configuration without closing a connection, removed
//! ones stop accepting and drain.

pub mod body;
pub mod client_cert;
pub mod config;
pub mod counters;
pub mod http;
pub mod io;
pub mod listen;
pub mod persist;
pub mod prometheus;
pub mod retry;
pub mod rules;
pub mod select;
pub mod stick;
pub mod stream;
pub mod tls;
pub mod tunnel;
pub mod upstream;
pub mod workers;

use std::{collections::HashMap, net::SocketAddr, sync::Arc};

use lb_proto::{DesiredState, ListenerProtocol};

use self::{config::Registry, counters::Snapshot, listen::ListenerRt};

/// Why a state could not be served by the proxy (nothing of it was applied).
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    #[error("starting the proxy's worker threads: {0}")]
    Workers(#[source] std::io::Error),
    #[error("listener {listener}: binding {addr}: {source}")]
    Bind {
        listener: String,
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
}

struct Running {
    rt: Arc<ListenerRt>,
    bind: SocketAddr,
    protocol: ListenerProtocol,
}

/// The proxy's listeners and the worker threads serving them (started with the first
/// proxied listener).
#[derive(Default)]
pub struct Proxy {
    registry: Registry,
    listeners: HashMap<String, Running>,
    workers: Option<workers::Workers>,
}

impl Proxy {
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Serves exactly the proxied listeners of `state` that are administratively up (a disabled
    /// listener or load balancer is not listened on, as Octavia leaves it out of HAProxy's
    /// configuration). Every new socket is bound before anything changes; a bind failure
    /// changes nothing.
    pub fn apply(&mut self, state: &DesiredState) -> Result<(), ProxyError> {
        let cfgs: Vec<_> = self
            .registry
            .build(state)
            .into_iter()
            .filter(|c| c.up)
            .collect();
        if !cfgs.is_empty() && self.workers.is_none() {
            self.workers = Some(workers::Workers::per_cpu().map_err(ProxyError::Workers)?);
        }
        let n = self.workers.as_ref().map_or(1, workers::Workers::len);
        let mut fresh = HashMap::new();
        for cfg in &cfgs {
            let same = self
                .listeners
                .get(&*cfg.id)
                .is_some_and(|r| r.bind == cfg.bind && r.protocol == cfg.protocol);
            if !same {
                let bind_all = || {
                    (0..n)
                        .map(|_| listen::bind(cfg.bind))
                        .collect::<Result<Vec<_>, _>>()
                };
                let sockets = match bind_all() {
                    Ok(s) => s,
                    // The address is held by a listener that moved away or changed protocol:
                    // its sockets go first.
                    Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
                        self.stop_holder(cfg.bind);
                        bind_all().map_err(|source| ProxyError::Bind {
                            listener: cfg.id.to_string(),
                            addr: cfg.bind,
                            source,
                        })?
                    }
                    Err(source) => {
                        return Err(ProxyError::Bind {
                            listener: cfg.id.to_string(),
                            addr: cfg.bind,
                            source,
                        });
                    }
                };
                fresh.insert(cfg.id.to_string(), sockets);
            }
        }
        let keep: std::collections::HashSet<&str> = cfgs.iter().map(|c| &*c.id).collect();
        self.listeners.retain(|id, r| {
            let kept = keep.contains(id.as_str());
            if !kept {
                tracing::info!(listener = %id, "proxy listener removed; its connections drain");
                r.rt.stop();
            }
            kept
        });
        for cfg in cfgs {
            let id = cfg.id.to_string();
            let (bind, protocol) = (cfg.bind, cfg.protocol);
            if let (Some(sockets), Some(workers)) = (fresh.remove(&id), self.workers.as_ref()) {
                if let Some(old) = self.listeners.remove(&id) {
                    old.rt.stop();
                }
                let rt = ListenerRt::start(cfg, sockets, workers);
                tracing::info!(listener = %id, %bind, ?protocol, "proxy listener serving");
                self.listeners.insert(id, Running { rt, bind, protocol });
            } else if let Some(r) = self.listeners.get(&id) {
                r.rt.update(cfg);
            }
        }
        Ok(())
    }

    fn stop_holder(&mut self, bind: SocketAddr) {
        self.listeners.retain(|_, r| {
            let holds = r.bind == bind;
            if holds {
                r.rt.stop();
            }
            !holds
        });
    }

    /// The counters of a proxied listener, if the proxy serves it.
    #[must_use]
    pub fn listener_stats(&self, id: &str) -> Option<Snapshot> {
        self.registry.counters.get(id).map(|c| c.snapshot())
    }

    /// Hands a kernel listener's figures to the proxy, for the PROMETHEUS listeners of its
    /// load balancer (a no-op for a listener no PROMETHEUS listener reports).
    pub fn mirror_kernel_stats(&self, id: &str, s: &Snapshot) {
        if let Some(c) = self.registry.counters.get(id) {
            c.mirror(s);
        }
    }

    /// Stops every listener (their connections drain).
    pub fn shutdown(&mut self) {
        for (_, r) in self.listeners.drain() {
            r.rt.stop();
        }
    }
}
