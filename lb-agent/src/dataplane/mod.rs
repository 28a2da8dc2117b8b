//! The kernel side as seen from the agent: the embedded object, loading and attaching it
//! (`loader`), reading its counters (`stats`) and running packets through it (`test_run`).

pub mod loader;
pub mod stats;
pub mod test_run;

pub use loader::{AttachMode, Dataplane};
pub use stats::Counters;
pub use test_run::{TestRunOutcome, XdpVerdict};

/// The compiled `lb-ebpf` object, built by `build.rs` and embedded in the agent binary.
pub static EBPF_OBJECT: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/lb-ebpf"));
