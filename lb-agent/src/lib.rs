//! The amphora-host agent: loads the eBPF data plane (`dataplane`), and later programs its maps
//! from the desired state the controller pushes, probes members and runs VRRP.

pub mod agent;
pub mod config;
pub mod dataplane;
pub mod error;
pub mod health;
pub mod proxy;

pub use error::DataplaneError;
