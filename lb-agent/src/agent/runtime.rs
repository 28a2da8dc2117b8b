//! [`Runtime`]: the data plane plus the desired state it runs, persisted in the state
//! directory so a restarted agent serves the same state before the controller speaks again.

use std::{
    collections::HashSet,
    path::{Path, PathBuf},
};

use lb_proto::{Applied, DesiredState, heartbeat::Heartbeat};
use tokio::sync::watch;

use crate::{
    DataplaneError,
    dataplane::Dataplane,
    health::{
        Health,
        scheduler::{self, Target, Transition},
    },
};

/// File name of the last applied state inside the state directory.
pub const STATE_FILE: &str = "applied-state.json";

/// Why a push was not applied.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// The state is not acceptable; nothing was applied.
    #[error(transparent)]
    Refused(#[from] lb_proto::ProtoError),
    /// An older generation than the one running (a delayed or reordered push).
    #[error("generation {pushed} is older than the applied generation {applied}")]
    Stale { pushed: u64, applied: u64 },
    /// Programming the maps failed.
    #[error(transparent)]
    Dataplane(#[from] DataplaneError),
    /// The L7 proxy could not serve the state (a listener's address could not be bound).
    #[error(transparent)]
    Proxy(#[from] crate::proxy::ProxyError),
    /// The state was applied but could not be saved for the next start.
    #[error("saving {path}: {source}")]
    Save {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The data plane and what it runs.
pub struct Runtime {
    pub dataplane: Dataplane,
    /// The L7 proxy serving HTTP, PROMETHEUS and PROXY-protocol listeners.
    pub proxy: crate::proxy::Proxy,
    state: Option<DesiredState>,
    state_dir: PathBuf,
    /// Members whose health monitor says down: applied as administratively down, so they get
    /// no new flows (established ones continue until they end or expire).
    down: HashSet<String>,
    /// Where the health scheduler learns which members to check.
    targets: Option<watch::Sender<Vec<Target>>>,
    /// The VIP addresses the agent keeps on the VIP-side interface, if it manages them.
    vips: Option<super::vips::Vips>,
}

impl Runtime {
    /// A runtime over a loaded (and attached) data plane; nothing applied yet.
    pub fn new(dataplane: Dataplane, state_dir: &Path) -> Self {
        Self {
            dataplane,
            proxy: crate::proxy::Proxy::new(),
            state: None,
            state_dir: state_dir.to_owned(),
            down: HashSet::new(),
            targets: None,
            vips: None,
        }
    }

    /// Lets the agent keep the VIP addresses on `iface` (see `vips`).
    pub fn manage_vips(&mut self, iface: &str) {
        self.vips = Some(super::vips::Vips::new(iface, &self.state_dir));
    }

    fn sync_vips(&mut self) {
        if let (Some(vips), Some(state)) = (self.vips.as_mut(), self.state.as_ref())
            && let Err(error) = vips.sync(state)
        {
            // The data plane is programmed; the missing address is logged with its reason.
            tracing::error!(%error, "VIP addresses not in place");
        }
    }

    /// Feeds the members to check to a health scheduler (see `health::scheduler::run`).
    pub fn watch_health(&mut self, targets: watch::Sender<Vec<Target>>) {
        self.targets = Some(targets);
        self.publish_targets();
    }

    fn publish_targets(&self) {
        if let Some(tx) = &self.targets {
            let wanted = self
                .state
                .as_ref()
                .map(scheduler::targets)
                .unwrap_or_default();
            tx.send_if_modified(|current| {
                let changed = *current != wanted;
                if changed {
                    current.clone_from(&wanted);
                }
                changed
            });
        }
    }

    /// The state as the data plane runs it: members that failed their checks are down.
    fn effective(&self, state: &DesiredState) -> DesiredState {
        let mut s = state.clone();
        if !self.down.is_empty() {
            for m in s
                .loadbalancers
                .iter_mut()
                .flat_map(|lb| lb.pools.iter_mut())
                .flat_map(|p| p.members.iter_mut())
            {
                if self.down.contains(&m.id) {
                    m.admin_state_up = false;
                }
            }
        }
        s
    }

    /// A health transition: re-applies the state with the member in or out of selection.
    /// Returns whether anything changed.
    pub fn set_health(&mut self, t: &Transition) -> Result<bool, ApplyError> {
        let changed = match t.health {
            Health::Down => self.down.insert(t.member_id.clone()),
            Health::Up => self.down.remove(&t.member_id),
        };
        if changed && let Some(state) = &self.state {
            let effective = self.effective(state);
            self.proxy.apply(&effective)?;
            self.dataplane.apply(&effective)?;
        }
        Ok(changed)
    }

    /// The report heartbeats and `GET /v1/stats` carry.
    pub fn report(&self, host_id: &str, sent_at_ms: u64) -> Result<Heartbeat, DataplaneError> {
        super::report::build(
            host_id,
            sent_at_ms,
            self.state.as_ref(),
            &self.down,
            &self.dataplane,
            &self.proxy,
        )
    }

    /// The running state.
    #[must_use]
    pub fn state(&self) -> Option<&DesiredState> {
        self.state.as_ref()
    }

    /// Generation and content hash of the running state.
    #[must_use]
    pub fn applied(&self) -> Option<Applied> {
        self.state.as_ref().map(DesiredState::applied)
    }

    /// Re-applies the state saved by a previous run, if any. A saved state that no longer
    /// validates is reported and left alone (the controller pushes a fresh one).
    pub fn restore(&mut self) -> Result<Option<Applied>, ApplyError> {
        let path = self.state_dir.join(STATE_FILE);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(ApplyError::Save { path, source }),
        };
        let state = DesiredState::from_json(&bytes)?;
        let effective = self.effective(&state);
        self.proxy.apply(&effective)?;
        self.dataplane.apply(&effective)?;
        let applied = state.applied();
        self.state = Some(state);
        self.publish_targets();
        self.sync_vips();
        Ok(Some(applied))
    }

    /// Validates a pushed state (JSON bytes), applies the difference, saves it. The same
    /// generation with the same content is a no-op; an older generation is refused.
    pub fn push(&mut self, bytes: &[u8]) -> Result<Applied, ApplyError> {
        let state = DesiredState::from_json(bytes)?;
        if let Some(running) = &self.state {
            if state.generation < running.generation {
                return Err(ApplyError::Stale {
                    pushed: state.generation,
                    applied: running.generation,
                });
            }
            if running == &state {
                return Ok(state.applied());
            }
        }
        let effective = self.effective(&state);
        self.proxy.apply(&effective)?;
        self.dataplane.apply(&effective)?;
        let applied = state.applied();
        self.state = Some(state);
        self.publish_targets();
        self.sync_vips();
        self.save(bytes)?;
        Ok(applied)
    }

    fn save(&self, bytes: &[u8]) -> Result<(), ApplyError> {
        let path = self.state_dir.join(STATE_FILE);
        let tmp = self.state_dir.join(format!("{STATE_FILE}.tmp"));
        let write = || -> std::io::Result<()> {
            std::fs::create_dir_all(&self.state_dir)?;
            std::fs::write(&tmp, bytes)?;
            std::fs::rename(&tmp, &path)
        };
        write().map_err(|source| ApplyError::Save { path, source })
    }
}
