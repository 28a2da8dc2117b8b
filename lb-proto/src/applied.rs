//! What an agent reports about the state it runs: the controller's generation and a content
//! hash of the state, so the controller sees both "not yet applied" and drift.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::DesiredState;

/// The state an agent runs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Applied {
    /// The generation of the applied [`DesiredState`].
    pub generation: u64,
    /// [`DesiredState::content_hash`] of it.
    pub content_hash: String,
}

impl DesiredState {
    /// SHA-256 (lowercase hex) of the state's canonical JSON with the generation set to 0, so
    /// two generations with the same content hash alike.
    #[must_use]
    pub fn content_hash(&self) -> String {
        let mut canonical = self.clone();
        canonical.generation = 0;
        // Serialising plain structs, vectors and strings cannot fail.
        let bytes = serde_json::to_vec(&canonical).unwrap_or_default();
        let digest = Sha256::digest(&bytes);
        let mut hex = String::with_capacity(64);
        for b in digest {
            hex.push(char::from(b"0123456789abcdef"[usize::from(b >> 4)]));
            hex.push(char::from(b"0123456789abcdef"[usize::from(b & 0xf)]));
        }
        hex
    }

    /// What an agent reports after applying this state.
    #[must_use]
    pub fn applied(&self) -> Applied {
        Applied {
            generation: self.generation,
            content_hash: self.content_hash(),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::{DesiredState, PROTO_VERSION};

    #[test]
    fn hash_ignores_the_generation_and_sees_content() {
        let a = DesiredState {
            version: PROTO_VERSION,
            generation: 1,
            ..DesiredState::default()
        };
        let mut b = a.clone();
        b.generation = 9;
        assert_eq!(a.content_hash(), b.content_hash());
        assert_eq!(a.content_hash().len(), 64);
        b.snat.port_min = 21_000;
        assert_ne!(a.content_hash(), b.content_hash());
        assert_eq!(b.applied().generation, 9);
    }
}
