//! Members (backends) and pools as the kernel sees them.

use crate::pod;

/// Slot of `LB_BACKENDS`: a member's address. Slot 0 is never used (0 means "none").
#[repr(C, align(4))]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Backend {
    pub addr: [u8; 16],
    /// Network byte order.
    pub port: u16,
    pub family: u8,
    /// `BACKEND_F_*` bits.
    pub flags: u8,
}
const _: () = assert!(core::mem::size_of::<Backend>() == 20);
const _: () = assert!(core::mem::align_of::<Backend>() >= 4);

/// The slot holds a member.
pub const BACKEND_F_VALID: u8 = 1 << 0;

/// Slot of `LB_POOLS`: sizes of the pool's selection tables.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PoolInfo {
    /// Entries in use in this pool's row of `LB_RR` (0: no member can take new flows).
    pub rr_len: u32,
    /// Entries in use in this pool's row of `LB_POOL_MEMBERS`.
    pub members: u32,
    /// Whether the Maglev row in `LB_RINGS` is filled (1) or the pool is empty (0).
    pub ring_ready: u32,
    pub _pad: u32,
}
const _: () = assert!(core::mem::size_of::<PoolInfo>() == 16);
pod!(Backend, PoolInfo);

/// Slots of the Maglev ring of one pool (prime, as Maglev requires).
pub const RING_SIZE: u32 = 65_537;
/// Slots of the weighted round-robin table of one pool.
pub const RR_SIZE: u32 = 1024;
/// Members of one pool that can take new flows (least-connections scans them).
pub const MAX_POOL_MEMBERS: u32 = 64;
