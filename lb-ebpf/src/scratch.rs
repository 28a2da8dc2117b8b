//! Per-CPU scratch space: everything larger than a few words lives here instead of on the
//! 512-byte BPF stack (flow keys and values, the FIB lookup parameters).

use aya_ebpf::{bindings::bpf_fib_lookup, macros::map, maps::PerCpuArray};

use crate::parse::Ip;
use lb_common::{
    flow::{FlowKey, FlowValue},
    vip::AddrKey,
};

/// The addresses and ports a packet must carry after translation (ports in network order).
/// 4-byte aligned for the word copies of `mem`.
#[repr(C, align(4))]
pub struct Rewrite {
    pub src: [u8; 16],
    pub dst: [u8; 16],
    pub sport: u16,
    pub dport: u16,
}

/// A flow's cached next hop (`FlowValue::nh_*`), `ifindex` 0 when there is none to use.
#[repr(C, align(4))]
pub struct NextHop {
    pub ifindex: u32,
    /// Destination MAC then source MAC.
    pub mac: [u8; 12],
}

/// Working memory of one program run.
#[repr(C)]
pub struct Scratch {
    /// The packet's own 5-tuple.
    pub key: FlowKey,
    /// The other direction's key when a flow is created or closed.
    pub other: FlowKey,
    /// Entries being written for a new flow.
    pub value: FlowValue,
    pub other_value: FlowValue,
    /// How the packet is rewritten.
    pub rewrite: Rewrite,
    pub fib: bpf_fib_lookup,
    /// The flow's cached next hop, set by the flow lookup.
    pub nh: NextHop,
    /// Time of this packet (`bpf_ktime_get_coarse_ns`), set by the flow lookup.
    pub now: u64,
    /// Destination pre-filter key.
    pub dst: AddrKey,
    /// The parse result, passed through memory on purpose (see `main.rs`).
    pub ip: Ip,
    /// Flow-cache generation noted before the flow lookup (`cache::note_generation`).
    pub cache_gen: u32,
    /// The key's flow-cache hash, noted with `cache_gen` (reused when the cache is filled).
    pub cache_hash: u32,
}

/// One `Scratch` per CPU. Writer and reader: `lb_xdp` only.
#[map]
pub static LB_SCRATCH: PerCpuArray<Scratch> = PerCpuArray::with_max_entries(1, 0);
