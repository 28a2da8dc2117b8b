//! Addresses as the maps store them: 16 bytes, IPv4 in the first 4 bytes with the rest zero,
//! and a family tag (`FAMILY_V4` / `FAMILY_V6`, the IP version number) beside them.

/// Family tag of an IPv4 address.
pub const FAMILY_V4: u8 = 4;
/// Family tag of an IPv6 address.
pub const FAMILY_V6: u8 = 6;

/// IP protocol numbers the data plane balances.
pub const IPPROTO_TCP: u8 = 6;
pub const IPPROTO_UDP: u8 = 17;
/// ICMP and ICMPv6: errors about balanced flows are translated too.
pub const IPPROTO_ICMP: u8 = 1;
pub const IPPROTO_ICMPV6: u8 = 58;

/// Packs an IPv4 address (network order bytes) into the 16-byte form.
#[inline(always)]
#[must_use]
pub const fn v4(octets: [u8; 4]) -> [u8; 16] {
    [
        octets[0], octets[1], octets[2], octets[3], 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    ]
}
