//! The api↔agent contract. The controller renders one [`DesiredState`] per amphora host; the
//! agent validates it completely ([`DesiredState::validate`]) before applying anything and
//! reports the generation it applied.
//!
//! The wire format is JSON (field names as Octavia's API uses them); unknown fields are
//! rejected so that an agent older than the controller refuses a state it would only half
//! understand. `docs/agent-state.md` documents the format with an example.

mod applied;
pub mod expected;
pub mod heartbeat;
pub mod listener_tls;
mod model;
pub mod tls;
mod validate;

pub use applied::Applied;
pub use model::{
    Algorithm, CompareType, DesiredState, L7Action, L7Policy, L7Rule, L7RuleType, Listener,
    ListenerProtocol, LoadBalancer, Member, Monitor, MonitorType, PersistenceType, Pool,
    PoolProtocol, SessionPersistence, Snat,
};
pub use validate::ValidationError;

/// Version of this contract; bumped on any incompatible change.
pub const PROTO_VERSION: u32 = 1;

/// The agent API (HTTPS, mutual TLS). `PUT` a [`DesiredState`] → `200` [`Applied`], `400`
/// `{"error"}` when refused (nothing applied), `409` [`Applied`] when the agent already runs a
/// newer generation; `GET` → `200` [`Applied`] or `404` when nothing was applied yet.
pub const STATE_PATH: &str = "/v1/state";
/// The agent API: `GET` → `200` [`heartbeat::Heartbeat`] (the same report a heartbeat carries).
pub const STATS_PATH: &str = "/v1/stats";
/// Default port of the agent API (Octavia's amphora agent listens on 9443).
pub const AGENT_PORT: u16 = 9443;
/// Default UDP port of the controller's heartbeat receiver (Octavia's health manager: 5555).
pub const HEARTBEAT_PORT: u16 = 5555;

/// Why a desired state was refused. Nothing of a refused state is applied.
#[derive(Debug, thiserror::Error)]
pub enum ProtoError {
    #[error("desired state is not valid JSON for this contract: {0}")]
    Decode(#[from] serde_json::Error),
    #[error("contract version {got} is not supported (this agent speaks {PROTO_VERSION})")]
    Version { got: u32 },
    #[error("desired state is invalid: {0}")]
    Invalid(#[from] ValidationError),
}

impl DesiredState {
    /// Parses and validates a desired state.
    pub fn from_json(bytes: &[u8]) -> Result<Self, ProtoError> {
        let state: Self = serde_json::from_slice(bytes)?;
        if state.version != PROTO_VERSION {
            return Err(ProtoError::Version { got: state.version });
        }
        state.validate()?;
        Ok(state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = r#"{
        "version": 1,
        "generation": 7,
        "snat": {"ipv4": "198.18.1.1", "port_min": 20000, "port_max": 29999},
        "loadbalancers": [{
            "id": "lb1",
            "vip_address": "198.18.0.100",
            "listeners": [{"id": "l1", "protocol": "TCP", "protocol_port": 80,
                           "default_pool_id": "p1"}],
            "pools": [{"id": "p1", "lb_algorithm": "ROUND_ROBIN", "members": [
                {"id": "m1", "address": "198.18.1.11", "protocol_port": 8080},
                {"id": "m2", "address": "198.18.1.12", "protocol_port": 8080, "weight": 3}
            ]}]
        }]
    }"#;

    #[test]
    fn parses_the_documented_example_with_defaults() {
        let state = DesiredState::from_json(EXAMPLE.as_bytes()).unwrap();
        assert_eq!(state.generation, 7);
        let lb = &state.loadbalancers[0];
        assert!(lb.admin_state_up);
        let listener = &lb.listeners[0];
        assert_eq!(listener.connection_limit, -1);
        assert_eq!(listener.timeout_client_data, 50_000);
        assert_eq!(lb.pools[0].members[0].weight, 1);
        assert!(!lb.pools[0].members[0].backup);
        let again = serde_json::to_vec(&state).unwrap();
        assert_eq!(DesiredState::from_json(&again).unwrap(), state);
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
