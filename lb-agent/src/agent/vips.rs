//! VIP addresses on the VIP-side interface: with `vip_interface` set, the agent adds each load
//! balancer's VIP there (so the host answers ARP/ND for it) and removes the ones it added when
//! their load balancer goes. What it added is remembered in the state directory, so a restarted
//! agent still cleans up; addresses it did not add (configured by hand) are never removed.

use std::{
    collections::BTreeSet,
    net::IpAddr,
    path::{Path, PathBuf},
    process::Command,
};

use lb_proto::DesiredState;

/// File (in the state directory) listing the VIPs the agent added.
pub const OWNED_FILE: &str = "vips.json";

/// Why an address could not be added or removed.
#[derive(Debug, thiserror::Error)]
pub enum VipError {
    #[error("`ip {args}` failed: {reason}")]
    Ip { args: String, reason: String },
    #[error("{path}: {source}")]
    File {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The VIPs the agent manages on one interface.
#[derive(Debug)]
pub struct Vips {
    iface: String,
    owned: BTreeSet<IpAddr>,
    file: PathBuf,
}

fn ip(args: &[&str]) -> Result<(), VipError> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| VipError::Ip {
            args: args.join(" "),
            reason: e.to_string(),
        })?;
    if out.status.success() {
        Ok(())
    } else {
        Err(VipError::Ip {
            args: args.join(" "),
            reason: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        })
    }
}

fn prefix(addr: IpAddr) -> String {
    match addr {
        IpAddr::V4(a) => format!("{a}/32"),
        IpAddr::V6(a) => format!("{a}/128"),
    }
}

impl Vips {
    /// Manages VIPs on `iface`, remembering them under `state_dir`.
    pub fn new(iface: &str, state_dir: &Path) -> Self {
        let file = state_dir.join(OWNED_FILE);
        let owned = std::fs::read(&file)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        Self {
            iface: iface.to_owned(),
            owned,
            file,
        }
    }

    /// Makes the interface carry exactly the VIPs of `state` (plus whatever was there before
    /// the agent). Every address is tried; the first failure is returned.
    pub fn sync(&mut self, state: &DesiredState) -> Result<(), VipError> {
        let wanted: BTreeSet<IpAddr> = state
            .loadbalancers
            .iter()
            .map(|lb| lb.vip_address)
            .collect();
        let mut first_error = None;
        for addr in wanted.difference(&self.owned.clone()) {
            let p = prefix(*addr);
            let mut args = vec!["addr", "add", p.as_str(), "dev", self.iface.as_str()];
            if addr.is_ipv6() {
                args.push("nodad");
            }
            match ip(&args) {
                Ok(()) => {
                    self.owned.insert(*addr);
                    tracing::info!(vip = %addr, iface = %self.iface, "VIP address added");
                }
                // Configured by someone else: used, never removed by the agent.
                Err(VipError::Ip { reason, .. })
                    if reason.contains("exists") || reason.contains("already assigned") => {}
                Err(e) => {
                    tracing::error!(error = %e, "VIP address not added");
                    first_error.get_or_insert(e);
                }
            }
        }
        for addr in self.owned.clone().difference(&wanted) {
            let p = prefix(*addr);
            match ip(&["addr", "del", p.as_str(), "dev", self.iface.as_str()]) {
                Ok(()) => tracing::info!(vip = %addr, iface = %self.iface, "VIP address removed"),
                Err(e) => tracing::warn!(error = %e, "VIP address already gone"),
            }
            self.owned.remove(addr);
        }
        self.save()?;
        first_error.map_or(Ok(()), Err)
    }

    fn save(&self) -> Result<(), VipError> {
        let bytes = serde_json::to_vec(&self.owned).unwrap_or_default();
        std::fs::create_dir_all(self.file.parent().unwrap_or(Path::new(".")))
            .and_then(|()| std::fs::write(&self.file, bytes))
            .map_err(|source| VipError::File {
                path: self.file.clone(),
                source,
            })
    }
}
