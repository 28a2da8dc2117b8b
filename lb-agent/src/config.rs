//! `agent.toml`: what `lb-agent serve` needs to run on an amphora host (interfaces, pins, the
//! mutual-TLS API, heartbeats). Documented field by field in `docs/agent-serve.md`.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    time::Duration,
};

use serde::Deserialize;

use crate::dataplane::{AttachMode, pins};

/// The whole configuration file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentConfig {
    /// This host's id as registered with the controller (`lb-api host add`).
    pub host_id: String,
    /// Interfaces carrying VIP or member traffic; the data plane attaches to each.
    pub interfaces: Vec<String>,
    /// When set, the agent adds each load balancer's VIP to this interface (and removes the
    /// ones it added when they go); otherwise the VIPs must be configured on the host.
    #[serde(default)]
    pub vip_interface: Option<String>,
    /// XDP attach mode: "auto", "native" or "generic".
    #[serde(default)]
    pub xdp_mode: AttachMode,
    /// bpffs directory for the pinned maps and links; "" pins nothing.
    #[serde(default = "default_pin_dir")]
    pub pin_dir: PathBuf,
    /// Where the last applied desired state is kept, to be re-applied when the agent starts.
    #[serde(default = "default_state_dir")]
    pub state_dir: PathBuf,
    /// Seconds between two flow-table garbage collections.
    #[serde(default = "default_gc_interval")]
    pub gc_interval_s: u64,
    pub api: ApiConfig,
    pub heartbeat: HeartbeatConfig,
}

/// The agent API (HTTPS with mutual TLS).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiConfig {
    /// Address and port to listen on (management network).
    #[serde(default = "default_api_bind")]
    pub bind: SocketAddr,
    /// This agent's server certificate chain (PEM), issued by the controller's server CA.
    pub cert: PathBuf,
    /// Its private key (PEM).
    pub key: PathBuf,
    /// The CA that signs the controller's client certificates (PEM); only its clients are
    /// accepted.
    pub client_ca: PathBuf,
}

/// Heartbeats to the controller's health manager.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeartbeatConfig {
    /// Health-manager addresses (`ip:port`); each receives every heartbeat.
    pub controllers: Vec<SocketAddr>,
    /// Milliseconds between two heartbeats.
    #[serde(default = "default_heartbeat_interval")]
    pub interval_ms: u64,
    /// File holding the shared HMAC key (its bytes, trailing newline ignored).
    pub key_file: PathBuf,
}

fn default_pin_dir() -> PathBuf {
    PathBuf::from(pins::DEFAULT_PIN_DIR)
}
fn default_state_dir() -> PathBuf {
    PathBuf::from("/var/lib/lb-agent")
}
fn default_gc_interval() -> u64 {
    5
}
fn default_api_bind() -> SocketAddr {
    SocketAddr::from(([0, 0, 0, 0], lb_proto::AGENT_PORT))
}
fn default_heartbeat_interval() -> u64 {
    1000
}

/// Why the configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("reading {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Parse {
        path: PathBuf,
        #[source]
        source: toml::de::Error,
    },
    #[error("{path}: {field}: {reason}")]
    Invalid {
        path: PathBuf,
        field: &'static str,
        reason: String,
    },
}

impl AgentConfig {
    /// Reads and checks `path`.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        let config: Self = toml::from_str(&text).map_err(|source| ConfigError::Parse {
            path: path.to_owned(),
            source,
        })?;
        config
            .check()
            .map_err(|(field, reason)| ConfigError::Invalid {
                path: path.to_owned(),
                field,
                reason,
            })?;
        Ok(config)
    }

    fn check(&self) -> Result<(), (&'static str, String)> {
        if self.host_id.trim().is_empty() {
            return Err(("host_id", "must not be empty".into()));
        }
        if self.interfaces.is_empty() {
            return Err(("interfaces", "name at least one interface".into()));
        }
        if self.heartbeat.interval_ms < 100 {
            return Err(("heartbeat.interval_ms", "must be at least 100".into()));
        }
        if self.heartbeat.controllers.is_empty() {
            return Err(("heartbeat.controllers", "name at least one address".into()));
        }
        Ok(())
    }

    /// The pin directory, or `None` when pinning is off.
    #[must_use]
    pub fn pins(&self) -> Option<&Path> {
        (!self.pin_dir.as_os_str().is_empty()).then_some(self.pin_dir.as_path())
    }

    /// The heartbeat period.
    #[must_use]
    pub fn heartbeat_interval(&self) -> Duration {
        Duration::from_millis(self.heartbeat.interval_ms)
    }
}

/// Reads a key file: its bytes without trailing whitespace; empty keys are refused.
pub fn read_key(path: &Path) -> Result<Vec<u8>, ConfigError> {
    let bytes = std::fs::read(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    let end = bytes
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(0, |i| i + 1);
    if end == 0 {
        return Err(ConfigError::Invalid {
            path: path.to_owned(),
            field: "heartbeat key",
            reason: "the key file is empty".into(),
        });
    }
    Ok(bytes[..end].to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = r#"
host_id = "host-1"
interfaces = ["eth1", "eth2"]

[api]
cert = "/etc/lb-agent/agent.pem"
key = "/etc/lb-agent/agent-key.pem"
client_ca = "/etc/lb-agent/client-ca.pem"

[heartbeat]
controllers = ["192.0.2.10:5555"]
key_file = "/etc/lb-agent/heartbeat.key"
"#;

    fn write(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("agent.toml");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    #[test]
    fn the_documented_minimum_loads_with_defaults() {
        let (_dir, path) = write(EXAMPLE);
        let c = AgentConfig::load(&path).unwrap();
        assert_eq!(c.api.bind.port(), 9443);
        assert_eq!(c.heartbeat.interval_ms, 1000);
        assert_eq!(c.xdp_mode, AttachMode::Auto);
        assert_eq!(c.pins(), Some(Path::new(pins::DEFAULT_PIN_DIR)));
    }

    #[test]
    fn mistakes_name_the_field() {
        let (_dir, path) = write(&EXAMPLE.replace("host_id", "hostid"));
        let e = AgentConfig::load(&path).unwrap_err().to_string();
        assert!(e.contains("hostid"), "{e}");
        let (_dir, path) = write(&EXAMPLE.replace(r#"["eth1", "eth2"]"#, "[]"));
        let e = AgentConfig::load(&path).unwrap_err().to_string();
        assert!(e.contains("interfaces"), "{e}");
    }

    #[test]
    fn keys_lose_trailing_newlines_and_must_not_be_empty() {
        let (dir, _) = write("");
        let key = dir.path().join("k");
        std::fs::write(&key, "s3cret\n").unwrap();
        assert_eq!(read_key(&key).unwrap(), b"s3cret");
        std::fs::write(&key, "\n").unwrap();
        assert!(read_key(&key).is_err());
    }
}
