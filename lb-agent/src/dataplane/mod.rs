//! The kernel side as seen from the agent: the embedded object, loading and attaching it
//! (`loader`), turning desired state into map contents (`plan`, `maglev`, `rr`, `slots`) and
//! writing them (`program`), reading counters (`stats`) and running packets through the
//! program (`test_run`).

pub mod addr_filter;
pub mod flow_cache;
pub mod gc;
pub mod loader;
pub mod maglev;
pub mod pins;
pub mod plan;
pub mod program;
pub mod rr;
pub mod slots;
pub mod stats;
pub mod steer;
pub mod test_run;

pub use loader::{AttachMode, Dataplane};
pub use program::ApplyReport;
pub use stats::Counters;
pub use test_run::{RunOptions, TestRunOutcome, XdpVerdict};

/// The compiled `lb-ebpf` object, built by `build.rs` and embedded in the agent binary.
pub static EBPF_OBJECT: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/lb-ebpf"));

/// The benchmark traffic generator (`lb-gen`, see `lb_common::generator`), built alongside.
pub static GEN_OBJECT: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/lb-gen"));
