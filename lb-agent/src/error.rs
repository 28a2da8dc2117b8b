//! Errors at the edges of the agent's modules, with the context an operator needs.

use aya::{EbpfError, maps::MapError, programs::ProgramError};

/// Failures of loading, attaching or reading the data plane.
#[derive(Debug, thiserror::Error)]
pub enum DataplaneError {
    #[error(
        "the embedded eBPF object is empty: lb-agent was built with AYA_BUILD_SKIP=1; rebuild \
         without it (run `cargo xtask setup` first if the eBPF toolchain is missing)"
    )]
    EmptyObject,
    #[error("loading the eBPF object failed (root or CAP_BPF+CAP_NET_ADMIN needed): {0}")]
    Load(#[from] EbpfError),
    #[error("program {name} is missing from the eBPF object")]
    MissingProgram { name: &'static str },
    #[error("map {name} is missing from the eBPF object")]
    MissingMap { name: &'static str },
    #[error("program {name}: {source}")]
    Program {
        name: &'static str,
        #[source]
        source: ProgramError,
    },
    #[error("attaching XDP to interface {iface} in {mode} mode failed: {source}")]
    Attach {
        iface: String,
        mode: &'static str,
        #[source]
        source: ProgramError,
    },
    #[error("map {name}: {source}")]
    Map {
        name: &'static str,
        #[source]
        source: MapError,
    },
    #[error("{iface:?} is not an interface name")]
    BadInterface { iface: String },
    #[error("cannot enable forwarding ({path}): {source}")]
    Sysctl {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("pinning under {path}: {source}")]
    Pin {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{path} is not on a BPF filesystem: mount it with `mount -t bpf bpf /sys/fs/bpf` (or choose --pin-dir under a bpffs mount)"
    )]
    NotBpffs { path: std::path::PathBuf },
    #[error("pinned link {path}: {reason}")]
    PinnedLink {
        path: std::path::PathBuf,
        reason: String,
    },
    #[error(transparent)]
    Invalid(#[from] lb_proto::ValidationError),
    #[error(transparent)]
    Capacity(#[from] crate::dataplane::slots::SlotsFull),
    #[error("reading a random secret from /dev/urandom: {0}")]
    Random(#[source] std::io::Error),
    #[error("BPF_PROG_TEST_RUN of {name} failed: {source}")]
    TestRun {
        name: &'static str,
        #[source]
        source: ProgramError,
    },
}
