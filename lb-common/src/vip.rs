//! VIPs: one entry per listener (address, port, protocol) in `LB_VIPS`, with what the kernel
//! needs to handle a new flow for it.

use crate::pod;

/// Key of `LB_VIPS`. Built zeroed; `port` in network byte order.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct VipKey {
    pub addr: [u8; 16],
    /// Network byte order.
    pub port: u16,
    pub proto: u8,
    pub family: u8,
}
const _: () = assert!(core::mem::size_of::<VipKey>() == 20);

/// How a new flow picks its member.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// Maglev ring, hashed on the source address (Octavia `SOURCE_IP`).
    SourceIp = 0,
    /// Maglev ring, hashed on source address and port (`SOURCE_IP_PORT`).
    SourceIpPort = 1,
    /// Weighted round robin over the pool's RR table (`ROUND_ROBIN`).
    RoundRobin = 2,
    /// Fewest active flows among the pool's members (`LEAST_CONNECTIONS`).
    LeastConnections = 3,
}

impl Algorithm {
    #[must_use]
    pub const fn from_u32(v: u32) -> Option<Self> {
        match v {
            0 => Some(Self::SourceIp),
            1 => Some(Self::SourceIpPort),
            2 => Some(Self::RoundRobin),
            3 => Some(Self::LeastConnections),
            _ => None,
        }
    }
}

/// Value of `LB_VIPS`: the listener's data-plane settings.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VipInfo {
    /// Slot of the listener in the per-listener counter maps.
    pub listener: u32,
    /// Slot of the default pool in `LB_POOLS` / `LB_RINGS` / `LB_RR`.
    pub pool: u32,
    /// An [`Algorithm`] discriminant.
    pub algorithm: u32,
    /// `VIP_F_*` bits.
    pub flags: u32,
    /// Maximum concurrent flows; 0 = unlimited.
    pub conn_limit: u32,
    /// Idle time after which a flow is forgotten, in milliseconds.
    pub idle_timeout_ms: u32,
}
const _: () = assert!(core::mem::size_of::<VipInfo>() == 24);
pod!(VipKey, VipInfo);

/// The listener (or its load balancer) is administratively down: drop new flows.
pub const VIP_F_DOWN: u32 = 1 << 0;
/// The listener has `allowed_cidrs`: a new flow's source must match an `LB_ACL` entry.
pub const VIP_F_ACL: u32 = 1 << 1;

/// Data of an `LB_ACL` key (longest-prefix match): the listener slot, big-endian so the trie
/// compares it first, then the source address. An entry's prefix length is 32 (the listener)
/// plus the CIDR's prefix length.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct AclKey {
    /// Listener slot in network byte order.
    pub listener_be: u32,
    pub addr: [u8; 16],
}
const _: () = assert!(core::mem::size_of::<AclKey>() == 20);
pod!(AclKey);

/// Prefix bits of an `AclKey` taken by the listener.
pub const ACL_LISTENER_BITS: u32 = 32;

/// Key of `LB_ADDRS`: an address the data plane translates traffic to (a VIP or a SNAT
/// address). Packets to any other destination skip the flow table. 4-byte aligned so the data
/// plane copies the address a word at a time (same layout).
#[repr(C, align(4))]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct AddrKey {
    pub addr: [u8; 16],
    pub family: u8,
    pub _pad: [u8; 3],
}
const _: () = assert!(core::mem::size_of::<AddrKey>() == 20);

/// Slot of an address in `LB_ADDR_FILTER`, from its four native-order 32-bit words (an IPv4
/// address is the first word, the rest zero): the words folded to 16 bits.
#[inline(always)]
#[must_use]
pub const fn addr_filter_slot(words: [u32; 4]) -> u32 {
    let x = words[0] ^ words[1] ^ words[2] ^ words[3];
    (x ^ (x >> 16)) & (crate::maps::ADDR_FILTER_SIZE - 1)
}

impl AddrKey {
    /// This address's slot in `LB_ADDR_FILTER` (see [`addr_filter_slot`]).
    #[must_use]
    pub fn filter_slot(&self) -> u32 {
        let a = &self.addr;
        let w = |i: usize| u32::from_ne_bytes([a[i], a[i + 1], a[i + 2], a[i + 3]]);
        addr_filter_slot([w(0), w(4), w(8), w(12)])
    }
}
const _: () = assert!(core::mem::align_of::<AddrKey>() >= 4);
pod!(AddrKey);
