//! Health monitors: [`rise_fall`] is the pure per-member state machine (time and probe results
//! in, transitions out), [`probe`] runs one check of
//! each Octavia type against a member, and [`scheduler`] drives the probes from tokio with
//! jitter, bounded concurrency and no drift, reporting transitions to the runtime.

pub mod probe;
mod probe_ping;
pub mod probe_sctp;
mod raw_recv;
pub mod rise_fall;
pub mod scheduler;

pub use rise_fall::{Health, RiseFall};
