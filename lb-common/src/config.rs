//! Host-wide data-plane settings, one entry in `LB_CONFIG`, written by the agent.

use crate::pod;

/// Where full NAT takes its source addresses and ports from.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LbConfig {
    /// Member-side IPv4 source address (first 4 bytes), zero if none.
    pub snat_v4: [u8; 16],
    /// Member-side IPv6 source address, zero if none.
    pub snat_v6: [u8; 16],
    /// First SNAT port (host order).
    pub snat_port_min: u16,
    /// Number of SNAT ports (host order); 0 disables new flows.
    pub snat_port_count: u16,
    /// `CFG_F_*` bits.
    pub flags: u32,
}
const _: () = assert!(core::mem::size_of::<LbConfig>() == 40);
const _: () = assert!(core::mem::align_of::<LbConfig>() >= 4);
pod!(LbConfig);

/// After translating a packet, return `XDP_TX` instead of routing it. Only for fixture tests
/// through BPF_PROG_TEST_RUN, where there is no interface to route to.
pub const CFG_F_TX_AFTER_NAT: u32 = 1 << 0;

/// Attempts at finding a free SNAT port for a new flow before giving up (bounded loop; the
/// candidates are independent, `hash::snat_port_offset`): a new flow goes without a port with
/// probability u^16 when a share u of the range is in use (1.5e-5 at half full).
pub const SNAT_PORT_TRIES: u32 = 16;
