//! Packet parsing with one bounded cursor: every read is checked against `data_end` right next
//! to the access, which is what the verifier needs to see.

use lb_common::{drop::DropReason, stats::PacketClass};

const ETH_HLEN: usize = 14;
const ETH_P_IP: u16 = 0x0800;
const ETH_P_IPV6: u16 = 0x86dd;
const ETH_P_8021Q: u16 = 0x8100;
const ETH_P_8021AD: u16 = 0x88a8;
const VLAN_HLEN: usize = 4;
/// Tags followed before giving up (QinQ).
const MAX_VLAN_TAGS: usize = 2;
const IPV4_MIN_HLEN: usize = 20;
const IPV6_HLEN: usize = 40;

/// The packet's bounds, as the context gives them.
pub struct Cursor {
    start: usize,
    end: usize,
}

impl Cursor {
    #[inline(always)]
    pub fn new(start: usize, end: usize) -> Self {
        Self { start, end }
    }

    /// Frame length in bytes.
    #[inline(always)]
    pub fn len(&self) -> usize {
        self.end - self.start
    }

    /// A pointer to a `T` at `offset`, if the whole `T` lies inside the packet.
    #[inline(always)]
    pub fn ptr_at<T>(&self, offset: usize) -> Option<*const T> {
        let size = core::mem::size_of::<T>();
        if self.start + offset + size > self.end {
            return None;
        }
        Some((self.start + offset) as *const T)
    }

    /// Whether `len` bytes starting at `offset` lie inside the packet.
    #[inline(always)]
    pub fn has(&self, offset: usize, len: usize) -> bool {
        self.start + offset + len <= self.end
    }
}

/// Where the network header starts and what it is.
#[derive(Clone, Copy)]
pub struct L3 {
    pub ethertype: u16,
    pub offset: usize,
}

#[inline(always)]
fn be16(bytes: [u8; 2]) -> u16 {
    u16::from_be_bytes(bytes)
}

/// Parses Ethernet and up to [`MAX_VLAN_TAGS`] 802.1Q/802.1ad tags.
#[inline(always)]
pub fn ethernet(cursor: &Cursor) -> Result<L3, DropReason> {
    let Some(eth) = cursor.ptr_at::<[u8; ETH_HLEN]>(0) else {
        // Shorter than an Ethernet header: not ours to judge, the stack drops it.
        return Ok(L3 {
            ethertype: 0,
            offset: 0,
        });
    };
    // SAFETY: `ptr_at` checked that the header lies inside the packet.
    let mut ethertype = unsafe { be16([(*eth)[12], (*eth)[13]]) };
    let mut offset = ETH_HLEN;
    for _ in 0..MAX_VLAN_TAGS {
        if ethertype != ETH_P_8021Q && ethertype != ETH_P_8021AD {
            break;
        }
        let tag = cursor
            .ptr_at::<[u8; VLAN_HLEN]>(offset)
            .ok_or(DropReason::TruncatedVlan)?;
        // SAFETY: bounds checked by `ptr_at` just above.
        ethertype = unsafe { be16([(*tag)[2], (*tag)[3]]) };
        offset += VLAN_HLEN;
    }
    if ethertype == ETH_P_8021Q || ethertype == ETH_P_8021AD {
        return Err(DropReason::TooManyVlans);
    }
    Ok(L3 { ethertype, offset })
}

/// Validates the network header and classifies the packet.
#[inline(always)]
pub fn l3(cursor: &Cursor, l3: L3) -> Result<PacketClass, DropReason> {
    match l3.ethertype {
        ETH_P_IP => ipv4(cursor, l3.offset).map(|()| PacketClass::Ipv4),
        ETH_P_IPV6 => ipv6(cursor, l3.offset).map(|()| PacketClass::Ipv6),
        _ => Ok(PacketClass::NonIp),
    }
}

#[inline(always)]
fn ipv4(cursor: &Cursor, offset: usize) -> Result<(), DropReason> {
    let hdr = cursor
        .ptr_at::<[u8; IPV4_MIN_HLEN]>(offset)
        .ok_or(DropReason::TruncatedIpv4)?;
    // SAFETY: `ptr_at` checked the fixed header lies inside the packet.
    let (version_ihl, total_len) = unsafe { ((*hdr)[0], be16([(*hdr)[2], (*hdr)[3]])) };
    let ihl = usize::from(version_ihl & 0x0f) * 4;
    if version_ihl >> 4 != 4 || ihl < IPV4_MIN_HLEN || usize::from(total_len) < ihl {
        return Err(DropReason::BadIpv4Header);
    }
    if !cursor.has(offset, ihl) {
        return Err(DropReason::TruncatedIpv4);
    }
    Ok(())
}

#[inline(always)]
fn ipv6(cursor: &Cursor, offset: usize) -> Result<(), DropReason> {
    let hdr = cursor
        .ptr_at::<[u8; IPV6_HLEN]>(offset)
        .ok_or(DropReason::TruncatedIpv6)?;
    // SAFETY: `ptr_at` checked the fixed header lies inside the packet.
    let version = unsafe { (*hdr)[0] } >> 4;
    if version != 6 {
        return Err(DropReason::BadIpv6Header);
    }
    Ok(())
}
