//! Types shared by the kernel programs (`lb-ebpf`) and userspace (`lb-agent`), defined once.
//!
//! Rules for everything in this crate (see `docs/datapath.md`):
//! - `#![no_std]`, no allocation: the same definitions compile for `bpfel-unknown-none`.
//! - Every map key/value is `#[repr(C)]`, `Copy`, has explicit `_pad` fields and a size assert,
//!   so that hash keys never carry uninitialised padding and both sides agree on the layout.
//! - Flags are `u8`/`u32`, never `bool`, so the types are valid `aya::Pod`.
//! - Map names are `LB_*`, at most 15 bytes (the kernel truncates longer names).
#![no_std]

pub mod addr;
pub mod backend;
pub mod config;
pub mod csum;
pub mod drop;
pub mod flow;
pub mod flow_cache;
pub mod generator;
pub mod hash;
pub mod maps;
pub mod nh_mark;
pub mod stats;
pub mod vip;

/// Implements `aya::Pod` for plain-old-data map types when building for userspace.
macro_rules! pod {
    ($($ty:ty),+ $(,)?) => {
        $(
            #[cfg(feature = "user")]
            // SAFETY: the type is `#[repr(C)]`, `Copy`, made only of integers and has no implicit
            // padding (checked by a size assert next to its definition).
            unsafe impl aya::Pod for $ty {}
        )+
    };
}
pub(crate) use pod;
