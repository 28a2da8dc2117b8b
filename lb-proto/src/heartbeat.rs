//! Heartbeats: the UDP datagrams each agent sends to the controller's health manager, signed
//! with HMAC-SHA256 over a key both share (Octavia's `heartbeat_key`).
//!
//! Datagram layout: `b"LBHB"` · version byte · JSON [`Heartbeat`] · 32-byte HMAC-SHA256 of
//! everything before it. [`seal`] builds one, [`open`] checks the tag in constant time before it
//! parses anything.

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::Applied;

/// Leading bytes of every heartbeat datagram.
pub const MAGIC: &[u8; 4] = b"LBHB";
/// Version of the heartbeat layout.
pub const HEARTBEAT_VERSION: u8 = 1;
/// Length of the HMAC-SHA256 tag at the end.
pub const TAG_LEN: usize = 32;
/// Largest datagram a sender produces (fits one UDP datagram over loopback and jumbo-free
/// IPv4 paths after IP fragmentation; receivers read up to this many bytes).
pub const MAX_DATAGRAM: usize = 65_000;

/// What an agent reports, as Octavia's amphora heartbeat does (per-listener status and
/// counters, per-member status), plus the desired-state generation it has applied.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Heartbeat {
    /// The amphora host's id (as registered with the controller).
    pub host_id: String,
    /// Milliseconds since the Unix epoch when sent; strictly increasing per host, so the
    /// receiver drops replays and reordered datagrams.
    pub sent_at_ms: u64,
    /// The desired state the agent runs, if any.
    #[serde(default)]
    pub applied: Option<Applied>,
    #[serde(default)]
    pub listeners: Vec<ListenerReport>,
    #[serde(default)]
    pub members: Vec<MemberReport>,
}

/// One listener's state and cumulative counters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListenerReport {
    pub id: String,
    pub status: ListenerStatus,
    pub active_connections: u64,
    pub total_connections: u64,
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub request_errors: u64,
}

/// Listener state as Octavia's heartbeat names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ListenerStatus {
    /// Accepting connections.
    Open,
    /// At its `connection_limit`.
    Full,
    /// Administratively down or without a usable pool.
    Down,
}

/// One member's state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberReport {
    pub id: String,
    pub pool_id: String,
    pub status: MemberStatus,
}

/// Member state as Octavia's heartbeat names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MemberStatus {
    /// Health checks pass.
    Up,
    /// Health checks fail.
    Down,
    /// No health monitor on the pool.
    NoCheck,
    /// Weight 0: established flows only.
    Drain,
    /// `admin_state_up = false`.
    Maint,
}

/// Why a datagram was dropped.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum HeartbeatError {
    #[error("datagram too short ({0} bytes)")]
    Short(usize),
    #[error("not a heartbeat (bad magic)")]
    Magic,
    #[error("heartbeat layout version {0} is not supported")]
    Version(u8),
    #[error("bad signature")]
    Signature,
    #[error("signed but undecodable: {0}")]
    Decode(String),
    #[error("heartbeat of {0} bytes exceeds the {MAX_DATAGRAM}-byte limit")]
    TooLarge(usize),
}

fn mac(key: &[u8]) -> Hmac<Sha256> {
    // HMAC accepts keys of any length; `new_from_slice` cannot fail for it.
    match <Hmac<Sha256> as Mac>::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => unreachable!("HMAC takes keys of any length"),
    }
}

/// Encodes and signs a heartbeat.
pub fn seal(heartbeat: &Heartbeat, key: &[u8]) -> Result<Vec<u8>, HeartbeatError> {
    let body = serde_json::to_vec(heartbeat).map_err(|e| HeartbeatError::Decode(e.to_string()))?;
    let mut out = Vec::with_capacity(MAGIC.len() + 1 + body.len() + TAG_LEN);
    out.extend_from_slice(MAGIC);
    out.push(HEARTBEAT_VERSION);
    out.extend_from_slice(&body);
    let mut m = mac(key);
    m.update(&out);
    out.extend_from_slice(&m.finalize().into_bytes());
    if out.len() > MAX_DATAGRAM {
        return Err(HeartbeatError::TooLarge(out.len()));
    }
    Ok(out)
}

/// Checks the signature, then decodes.
pub fn open(datagram: &[u8], key: &[u8]) -> Result<Heartbeat, HeartbeatError> {
    let header = MAGIC.len() + 1;
    if datagram.len() < header + TAG_LEN + 2 {
        return Err(HeartbeatError::Short(datagram.len()));
    }
    let (signed, tag) = datagram.split_at(datagram.len() - TAG_LEN);
    let mut m = mac(key);
    m.update(signed);
    m.verify_slice(tag).map_err(|_| HeartbeatError::Signature)?;
    let (head, body) = signed.split_at(header);
    if &head[..MAGIC.len()] != MAGIC {
        return Err(HeartbeatError::Magic);
    }
    if head[MAGIC.len()] != HEARTBEAT_VERSION {
        return Err(HeartbeatError::Version(head[MAGIC.len()]));
    }
    serde_json::from_slice(body).map_err(|e| HeartbeatError::Decode(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Heartbeat {
        Heartbeat {
            host_id: "host-1".into(),
            sent_at_ms: 1_700_000_000_000,
            applied: Some(Applied {
                generation: 4,
                content_hash: "ab".repeat(32),
            }),
            listeners: vec![ListenerReport {
                id: "l1".into(),
                status: ListenerStatus::Open,
                active_connections: 2,
                total_connections: 10,
                bytes_in: 1000,
                bytes_out: 5000,
                request_errors: 0,
            }],
            members: vec![MemberReport {
                id: "m1".into(),
                pool_id: "p1".into(),
                status: MemberStatus::NoCheck,
            }],
        }
    }

    #[test]
    fn round_trips_with_the_right_key() {
        let sealed = seal(&sample(), b"secret").unwrap();
        assert_eq!(&sealed[..4], MAGIC);
        assert_eq!(open(&sealed, b"secret").unwrap(), sample());
    }

    #[test]
    fn wrong_key_and_any_flipped_bit_are_refused() {
        let sealed = seal(&sample(), b"secret").unwrap();
        assert_eq!(open(&sealed, b"other"), Err(HeartbeatError::Signature));
        for i in [0, 4, 10, sealed.len() / 2, sealed.len() - 1] {
            let mut bad = sealed.clone();
            bad[i] ^= 0x01;
            assert_eq!(
                open(&bad, b"secret"),
                Err(HeartbeatError::Signature),
                "byte {i}"
            );
        }
        assert_eq!(
            open(&sealed[..10], b"secret"),
            Err(HeartbeatError::Short(10))
        );
    }
}
