//! [`Runtime`]: the data plane plus the desired state it runs, persisted in the state
//! directory so a restarted agent serves the same state before the controller speaks again.

use std::path::{Path, PathBuf};

use lb_proto::{Applied, DesiredState};

use crate::{DataplaneError, dataplane::Dataplane};

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
    state: Option<DesiredState>,
    state_dir: PathBuf,
}

impl Runtime {
    /// A runtime over a loaded (and attached) data plane; nothing applied yet.
    pub fn new(dataplane: Dataplane, state_dir: &Path) -> Self {
        Self {
            dataplane,
            state: None,
            state_dir: state_dir.to_owned(),
        }
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
        self.dataplane.apply(&state)?;
        let applied = state.applied();
        self.state = Some(state);
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
        self.dataplane.apply(&state)?;
        let applied = state.applied();
        self.state = Some(state);
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
