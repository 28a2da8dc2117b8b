//! The controller: the provider driver that makes load balancers real on amphora hosts.
//!
//! - [`reconcile`]: places load balancers on hosts, renders each host's whole desired state,
//!   records the intent (host generation + hash) in the store, pushes it over mutual TLS
//!   ([`client`]) and moves the objects from `PENDING_*` to `ACTIVE`/`ERROR`.
//! - [`health`]: receives the agents' signed heartbeats, sets operating statuses and counters,
//!   marks load balancers of silent hosts `ERROR`, and re-pushes on drift.
//!
//! Crash safety: the pending objects themselves are the intent. On start every load balancer
//! with a `PENDING_*` object is reconciled again; pushing a whole host state is idempotent.

pub mod client;
pub mod health;
pub mod host;
pub mod reconcile;
pub mod registry;
pub mod render;
pub mod status;

use std::{
    collections::{HashMap, HashSet},
    net::SocketAddr,
    path::{Path, PathBuf},
    sync::Arc,
    time::{Duration, Instant},
};

use tokio::sync::{Mutex, Notify};

use crate::{
    certs::files,
    provider::Driver,
    store::{Store, StoreError},
};
use client::AgentClient;

/// Settings of the controller (`lb-api serve --certs ...`).
#[derive(Debug, Clone)]
pub struct ControllerConfig {
    /// Directory made by `lb-api certs init`.
    pub certs: PathBuf,
    /// UDP address heartbeats are received on.
    pub heartbeat_bind: SocketAddr,
    /// A host silent this long has its load balancers' operating status set to ERROR.
    pub heartbeat_timeout: Duration,
    /// Bound of one call to an agent.
    pub push_timeout: Duration,
    /// How long a change keeps being retried against an unreachable agent before it ends in
    /// ERROR (deletions complete anyway; the agent is corrected when it is back).
    pub retry_deadline: Duration,
}

impl ControllerConfig {
    /// Defaults around a certificate directory.
    pub fn new(certs: &Path) -> Self {
        Self {
            certs: certs.to_owned(),
            heartbeat_bind: SocketAddr::from(([127, 0, 0, 1], lb_proto::HEARTBEAT_PORT)),
            heartbeat_timeout: Duration::from_secs(10),
            push_timeout: Duration::from_secs(5),
            retry_deadline: Duration::from_secs(20),
        }
    }
}

/// Why the controller cannot start.
#[derive(Debug, thiserror::Error)]
pub enum ControllerError {
    #[error("controller certificates in {dir}: {source} (create them with `lb-api certs init`)")]
    Tls {
        dir: PathBuf,
        #[source]
        source: lb_proto::tls::TlsError,
    },
    #[error("heartbeat key {path}: {source}")]
    Key {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("heartbeat receiver on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What the controller knows of a host without asking the store.
#[derive(Debug, Default)]
pub(crate) struct HostLive {
    pub last_seen: Option<Instant>,
    pub last_sent_ms: u64,
    pub reported: Option<lb_proto::Applied>,
    /// Content hash of the last state rendered for the host by this process.
    pub desired: Option<String>,
    pub in_flight: bool,
    pub failing_since: Option<Instant>,
    pub next_try: Option<Instant>,
    pub last_push: Option<Instant>,
    pub stale_marked: bool,
    pub last_report: Option<lb_proto::heartbeat::Heartbeat>,
    pub stats: health::StatsWrites,
}

pub(crate) struct Inner {
    pub store: Arc<dyn Store>,
    pub lock: Arc<Mutex<()>>,
    pub client: AgentClient,
    pub key: Vec<u8>,
    pub config: ControllerConfig,
    pub wake: Notify,
    pub pending: std::sync::Mutex<HashSet<String>>,
    pub failover: std::sync::Mutex<HashSet<String>>,
    pub hosts: std::sync::Mutex<HashMap<String, HostLive>>,
    pub started: Instant,
    pub bad_heartbeats: std::sync::atomic::AtomicU64,
}

/// The controller; cheap to clone.
#[derive(Clone)]
pub struct Controller {
    pub(crate) inner: Arc<Inner>,
}

impl Controller {
    /// Loads the certificates and key; nothing runs until [`Controller::start`].
    pub fn new(
        store: Arc<dyn Store>,
        lock: Arc<Mutex<()>>,
        config: ControllerConfig,
    ) -> Result<Self, ControllerError> {
        let dir = &config.certs;
        let tls = lb_proto::tls::client_config(
            &dir.join(files::SERVER_CA),
            &dir.join(files::CONTROLLER),
            &dir.join(files::CONTROLLER_KEY),
        )
        .map_err(|source| ControllerError::Tls {
            dir: dir.clone(),
            source,
        })?;
        let key_path = dir.join(files::HEARTBEAT_KEY);
        let key = std::fs::read_to_string(&key_path)
            .map_err(|source| ControllerError::Key {
                path: key_path.clone(),
                source,
            })?
            .trim_end()
            .as_bytes()
            .to_vec();
        if key.is_empty() {
            return Err(ControllerError::Key {
                path: key_path,
                source: std::io::Error::other("the key file is empty"),
            });
        }
        Ok(Self {
            inner: Arc::new(Inner {
                store,
                lock,
                client: AgentClient::new(tls, config.push_timeout),
                key,
                config,
                wake: Notify::new(),
                pending: std::sync::Mutex::new(HashSet::new()),
                failover: std::sync::Mutex::new(HashSet::new()),
                hosts: std::sync::Mutex::new(HashMap::new()),
                started: Instant::now(),
                bad_heartbeats: std::sync::atomic::AtomicU64::new(0),
            }),
        })
    }

    /// Binds the heartbeat receiver, queues every load balancer with pending work, and spawns
    /// the reconcile loop and the receiver.
    pub async fn start(&self) -> Result<(), ControllerError> {
        let addr = self.inner.config.heartbeat_bind;
        let socket = tokio::net::UdpSocket::bind(addr)
            .await
            .map_err(|source| ControllerError::Bind { addr, source })?;
        tracing::info!(address = %socket.local_addr().map_err(|source| ControllerError::Bind { addr, source })?, "heartbeat receiver listening");
        let resumed = reconcile::queue_all_pending(&self.inner).await?;
        if resumed > 0 {
            tracing::info!(load_balancers = resumed, "resuming unfinished changes");
        }
        tokio::spawn(health::receive(self.inner.clone(), socket));
        tokio::spawn(reconcile::run(self.inner.clone()));
        Ok(())
    }
}

/// Environment variable naming a crash point (`after_intent`, `after_push`): the process aborts
/// there, as `kill -9` would, so tests can crash the controller at an exact step of a change.
pub const CRASH_ENV: &str = "LB_API_CRASH_AT";

pub(crate) fn crash_point(name: &str) {
    if std::env::var(CRASH_ENV).is_ok_and(|v| v == name) {
        eprintln!("{CRASH_ENV}={name}: aborting");
        std::process::abort();
    }
}

fn lock_set(set: &std::sync::Mutex<HashSet<String>>) -> std::sync::MutexGuard<'_, HashSet<String>> {
    set.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

pub(crate) fn lock_hosts(inner: &Inner) -> std::sync::MutexGuard<'_, HashMap<String, HostLive>> {
    inner
        .hosts
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Driver for Controller {
    fn changed(&self, lb_id: &str) {
        lock_set(&self.inner.pending).insert(lb_id.to_owned());
        self.inner.wake.notify_one();
    }

    fn failover(&self, lb_id: &str) {
        lock_set(&self.inner.failover).insert(lb_id.to_owned());
        self.changed(lb_id);
    }
}

#[cfg(test)]
mod tests;
