//! Packet parsing with one bounded cursor: every read is checked against `data_end` right next
//! to the access, which is what the verifier needs to see.

use crate::mem;
use lb_common::{
    addr::{FAMILY_V4, FAMILY_V6, IPPROTO_TCP},
    drop::DropReason,
    flow::FlowKey,
    stats::PacketClass,
};

pub const ETH_HLEN: usize = 14;
const ETH_P_IP: u16 = 0x0800;
const ETH_P_IPV6: u16 = 0x86dd;
const ETH_P_8021Q: u16 = 0x8100;
const ETH_P_8021AD: u16 = 0x88a8;
const VLAN_HLEN: usize = 4;
/// Tags followed before giving up (QinQ).
const MAX_VLAN_TAGS: usize = 2;
const IPV4_MIN_HLEN: usize = 20;
const IPV6_HLEN: usize = 40;

/// Largest header offset the cursor hands out (see [`Cursor::ptr_at`]).
const MAX_OFFSET: usize = 0x1ff;
/// Largest transport-header offset the parsers accept: below it, every offset computed from it
/// (up to an ICMP error's quoted transport header) stays below [`MAX_OFFSET`].
pub const MAX_L4_OFFSET: usize = 0xff;
/// IPv6 extension headers followed before giving up.
const MAX_EXT_HEADERS: usize = 4;
const NEXT_HOP_BY_HOP: u8 = 0;
const NEXT_ROUTING: u8 = 43;
const NEXT_FRAGMENT: u8 = 44;
const NEXT_DEST_OPTS: u8 = 60;

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
        // Every header offset the parsers compute is below 512 (transport headers start by byte
        // `MAX_L4_OFFSET`, an ICMP error's quote ends 128 bytes later). The mask changes none
        // of them, but it gives the verifier a bound it can lose when LLVM spills the offset.
        let offset = offset & MAX_OFFSET;
        let size = core::mem::size_of::<T>();
        if self.start + offset + size > self.end {
            return None;
        }
        Some((self.start + offset) as *const T)
    }

    /// A mutable pointer to a `T` at `offset`, if the whole `T` lies inside the packet.
    #[inline(always)]
    pub fn ptr_mut<T>(&self, offset: usize) -> Option<*mut T> {
        self.ptr_at::<T>(offset).map(|p| p.cast_mut())
    }

    /// Whether `len` bytes starting at `offset` lie inside the packet.
    #[inline(always)]
    pub fn has(&self, offset: usize, len: usize) -> bool {
        self.start + (offset & MAX_OFFSET) + len <= self.end
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

/// What the L3 header says about the packet.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct Ip {
    pub class: PacketClass,
    pub family: u8,
    pub l3_off: usize,
    /// Start of the transport header (after IPv4 options).
    pub l4_off: usize,
    pub proto: u8,
    /// A fragment (not the whole datagram): never balanced. `proto` is the fragment's
    /// transport protocol (IPv4 protocol field, or the IPv6 fragment header's next header).
    pub fragment: bool,
    /// IPv6 extension headers that do not end within bounds (see `MAX_EXT_HEADERS`,
    /// [`MAX_L4_OFFSET`]): `proto` and `l4_off` are meaningless.
    pub ext_overflow: bool,
    /// IPv4 total length, or IPv6 payload length + 40.
    pub tot_len: u16,
}

impl Ip {
    #[inline(always)]
    fn non_ip() -> Self {
        Self {
            class: PacketClass::NonIp,
            family: 0,
            l3_off: 0,
            l4_off: 0,
            proto: 0,
            fragment: false,
            ext_overflow: false,
            tot_len: 0,
        }
    }
}

/// Validates the network header and classifies the packet.
#[inline(always)]
pub fn l3(cursor: &Cursor, l3: L3) -> Result<Ip, DropReason> {
    match l3.ethertype {
        ETH_P_IP => ipv4(cursor, l3.offset),
        ETH_P_IPV6 => ipv6(cursor, l3.offset),
        _ => Ok(Ip::non_ip()),
    }
}

#[inline(always)]
fn ipv4(cursor: &Cursor, offset: usize) -> Result<Ip, DropReason> {
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
    // SAFETY: inside the fixed header checked above.
    let (frag, proto) = unsafe { (be16([(*hdr)[6], (*hdr)[7]]), (*hdr)[9]) };
    Ok(Ip {
        class: PacketClass::Ipv4,
        family: FAMILY_V4,
        l3_off: offset,
        l4_off: offset + ihl,
        proto,
        // More-fragments flag or a non-zero offset.
        fragment: frag & 0x3fff != 0,
        ext_overflow: false,
        tot_len: total_len,
    })
}

#[inline(always)]
fn ipv6(cursor: &Cursor, offset: usize) -> Result<Ip, DropReason> {
    let hdr = cursor
        .ptr_at::<[u8; IPV6_HLEN]>(offset)
        .ok_or(DropReason::TruncatedIpv6)?;
    // SAFETY: `ptr_at` checked the fixed header lies inside the packet.
    let version = unsafe { (*hdr)[0] } >> 4;
    if version != 6 {
        return Err(DropReason::BadIpv6Header);
    }
    // SAFETY: inside the fixed header checked above.
    let (payload, next) = unsafe { (be16([(*hdr)[4], (*hdr)[5]]), (*hdr)[6]) };
    let mut ip = Ip {
        class: PacketClass::Ipv6,
        family: FAMILY_V6,
        l3_off: offset,
        l4_off: offset + IPV6_HLEN,
        proto: next,
        fragment: false,
        ext_overflow: false,
        tot_len: payload.wrapping_add(IPV6_HLEN as u16),
    };
    if is_ext_header(next) {
        ext_headers(cursor, &mut ip)?;
    }
    Ok(ip)
}

#[inline(always)]
fn is_ext_header(next: u8) -> bool {
    matches!(
        next,
        NEXT_HOP_BY_HOP | NEXT_ROUTING | NEXT_FRAGMENT | NEXT_DEST_OPTS
    )
}

/// Walks hop-by-hop, routing, destination-options and fragment headers (at most
/// `MAX_EXT_HEADERS`) to the transport header. A fragment header ends the walk (`fragment`);
/// so does a routing header with segments left (this host is not the final destination: the
/// packet keeps `proto` = 43 and goes to the stack).
#[inline(never)]
fn ext_headers(cursor: &Cursor, ip: &mut Ip) -> Result<(), DropReason> {
    let mut off = ip.l4_off;
    let mut next = ip.proto;
    for _ in 0..MAX_EXT_HEADERS {
        if !is_ext_header(next) {
            break;
        }
        if off > MAX_L4_OFFSET {
            break;
        }
        let h = cursor
            .ptr_at::<[u8; 8]>(off)
            .ok_or(DropReason::TruncatedIpv6)?;
        // SAFETY: bounds checked by `ptr_at`.
        let (h_next, h_len, segments_left) = unsafe { ((*h)[0], (*h)[1], (*h)[3]) };
        if next == NEXT_FRAGMENT {
            ip.fragment = true;
            ip.proto = h_next;
            ip.l4_off = off + 8;
            return Ok(());
        }
        if next == NEXT_ROUTING && segments_left != 0 {
            ip.proto = NEXT_ROUTING;
            ip.l4_off = off;
            return Ok(());
        }
        off += (usize::from(h_len) + 1) * 8;
        next = h_next;
    }
    if is_ext_header(next) || off > MAX_L4_OFFSET {
        ip.ext_overflow = true;
        return Ok(());
    }
    ip.proto = next;
    ip.l4_off = off;
    Ok(())
}

/// The transport ports and flags of a TCP or UDP packet.
#[derive(Clone, Copy)]
pub struct L4 {
    /// Network byte order as stored in the packet.
    pub sport: u16,
    /// Network byte order as stored in the packet.
    pub dport: u16,
    /// TCP flags byte (0 for UDP).
    pub tcp_flags: u8,
}

pub const TCP_FIN: u8 = 0x01;
pub const TCP_SYN: u8 = 0x02;
pub const TCP_RST: u8 = 0x04;
pub const TCP_ACK: u8 = 0x10;
const TCP_MIN_HLEN: usize = 20;
const UDP_HLEN: usize = 8;

/// Reads ports (and TCP flags) at the transport offset.
#[inline(always)]
pub fn l4(cursor: &Cursor, ip: &Ip) -> Result<L4, DropReason> {
    if ip.proto == IPPROTO_TCP {
        let tcp = cursor
            .ptr_at::<[u8; TCP_MIN_HLEN]>(ip.l4_off)
            .ok_or(DropReason::TruncatedL4)?;
        // SAFETY: bounds checked by `ptr_at`.
        unsafe {
            Ok(L4 {
                sport: u16::from_ne_bytes([(*tcp)[0], (*tcp)[1]]),
                dport: u16::from_ne_bytes([(*tcp)[2], (*tcp)[3]]),
                tcp_flags: (*tcp)[13],
            })
        }
    } else {
        let udp = cursor
            .ptr_at::<[u8; UDP_HLEN]>(ip.l4_off)
            .ok_or(DropReason::TruncatedL4)?;
        // SAFETY: bounds checked by `ptr_at`.
        unsafe {
            Ok(L4 {
                sport: u16::from_ne_bytes([(*udp)[0], (*udp)[1]]),
                dport: u16::from_ne_bytes([(*udp)[2], (*udp)[3]]),
                tcp_flags: 0,
            })
        }
    }
}

/// Copies the source and destination addresses into the 16-byte map form (zero-padded).
#[inline(always)]
pub fn addresses(cursor: &Cursor, ip: &Ip, key: &mut FlowKey) -> Option<()> {
    if ip.family == FAMILY_V4 {
        let a = cursor.ptr_at::<[u8; 8]>(ip.l3_off + 12)?;
        // SAFETY: bounds checked by `ptr_at`.
        let a = unsafe { &*a };
        // SAFETY: address fields of a `FlowKey` (4-byte aligned, asserted in lb-common).
        unsafe {
            mem::set_v4_addr(
                &raw mut key.src,
                u32::from_ne_bytes([a[0], a[1], a[2], a[3]]),
            );
            mem::set_v4_addr(
                &raw mut key.dst,
                u32::from_ne_bytes([a[4], a[5], a[6], a[7]]),
            );
        }
    } else {
        let a = cursor.ptr_at::<[u8; 32]>(ip.l3_off + 8)?;
        // SAFETY: bounds checked by `ptr_at`.
        let a = unsafe { &*a };
        key.src.copy_from_slice(&a[..16]);
        key.dst.copy_from_slice(&a[16..]);
    }
    Some(())
}
