//! The api↔agent contract. The controller renders one [`DesiredState`] per amphora host; the agent
//! validates it completely before applying anything and reports the generation it applied.
//!
//! The wire format is JSON; unknown fields are rejected so that an agent older than the
//! controller refuses a state it would only half understand.

use serde::{Deserialize, Serialize};

/// Version of this contract; bumped on any incompatible change.
pub const PROTO_VERSION: u32 = 1;

/// Everything one host must serve. Later issues add load balancers, listeners, pools, members.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DesiredState {
    /// Contract version the sender speaks; must equal [`PROTO_VERSION`].
    pub version: u32,
    /// Monotonic generation set by the controller; the agent echoes the one it applied.
    pub generation: u64,
}

/// Why a desired state was refused. Nothing of a refused state is applied.
#[derive(Debug, thiserror::Error)]
pub enum ProtoError {
    #[error("desired state is not valid JSON for this contract: {0}")]
    Decode(#[from] serde_json::Error),
    #[error("contract version {got} is not supported (this agent speaks {PROTO_VERSION})")]
    Version { got: u32 },
}

impl DesiredState {
    /// Parses and validates a desired state.
    pub fn from_json(bytes: &[u8]) -> Result<Self, ProtoError> {
        let state: Self = serde_json::from_slice(bytes)?;
        if state.version != PROTO_VERSION {
            return Err(ProtoError::Version { got: state.version });
        }
        Ok(state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_json() {
        let state = DesiredState {
            version: PROTO_VERSION,
            generation: 42,
        };
        let bytes = serde_json::to_vec(&state).unwrap();
        assert_eq!(DesiredState::from_json(&bytes).unwrap(), state);
    }

    #[test]
    fn rejects_unknown_fields_and_versions() {
        let unknown = br#"{"version":1,"generation":1,"vips":[]}"#;
        assert!(matches!(
            DesiredState::from_json(unknown),
            Err(ProtoError::Decode(_))
        ));
        let future = br#"{"version":2,"generation":1}"#;
        assert!(matches!(
            DesiredState::from_json(future),
            Err(ProtoError::Version { got: 2 })
        ));
    }
}
