//! The one table of reasons for which the data plane drops a packet.
//!
//! Each reason has a slot in the per-CPU `LB_DROPS` map and a stable label; adding a reason means
//! adding a variant here and nothing else (the map is sized from [`DropReason::COUNT`]).

/// Why a packet was dropped. The discriminant is the slot in `LB_DROPS`.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DropReason {
    /// An 802.1Q/802.1ad tag was announced but the frame ends inside it.
    TruncatedVlan = 0,
    /// More VLAN tags than the parser follows (two).
    TooManyVlans = 1,
    /// The frame ends inside the IPv4 header (fixed part or options).
    TruncatedIpv4 = 2,
    /// IPv4 header with version != 4, IHL < 5, or total length shorter than the header.
    BadIpv4Header = 3,
    /// The frame ends inside the fixed IPv6 header.
    TruncatedIpv6 = 4,
    /// IPv6 header whose version field is not 6.
    BadIpv6Header = 5,
    /// The frame ends inside the TCP or UDP header of a packet to a VIP or flow.
    TruncatedL4 = 6,
    /// New flow for a VIP whose pool has no member able to take it.
    NoBackend = 7,
    /// New flow beyond the listener's `connection_limit`.
    ConnLimit = 8,
    /// New flow for a listener or load balancer that is administratively down.
    AdminDown = 9,
    /// No free SNAT port (or no SNAT address of the family) for a new flow.
    SnatExhausted = 10,
    /// The route lookup for a translated packet failed (no route, blackhole, ...).
    FibFailed = 11,
    /// A TCP packet other than a SYN for a VIP, with no flow (state lost or never created).
    UnknownFlow = 12,
    /// New flow from a source outside the listener's `allowed_cidrs`.
    AclDenied = 13,
    /// An IPv4 or IPv6 TCP/UDP fragment addressed to a VIP or SNAT address: fragments are
    /// never balanced (a non-first fragment has no ports to find its flow by).
    Fragment = 14,
    /// An IPv6 packet to a VIP or SNAT address whose extension headers do not end in a
    /// transport header within the parser's bounds (more than 4 headers, or past byte 255).
    Ipv6ExtHeaders = 15,
    /// An ICMP/ICMPv6 error to a VIP or SNAT address whose quoted packet is cut short before
    /// its ports.
    TruncatedIcmp = 16,
}

impl DropReason {
    /// Number of slots in `LB_DROPS`.
    pub const COUNT: u32 = 17;
    /// Every reason, in slot order.
    pub const ALL: [Self; Self::COUNT as usize] = [
        Self::TruncatedVlan,
        Self::TooManyVlans,
        Self::TruncatedIpv4,
        Self::BadIpv4Header,
        Self::TruncatedIpv6,
        Self::BadIpv6Header,
        Self::TruncatedL4,
        Self::NoBackend,
        Self::ConnLimit,
        Self::AdminDown,
        Self::SnatExhausted,
        Self::FibFailed,
        Self::UnknownFlow,
        Self::AclDenied,
        Self::Fragment,
        Self::Ipv6ExtHeaders,
        Self::TruncatedIcmp,
    ];

    /// Stable label for metrics and logs.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::TruncatedVlan => "truncated_vlan",
            Self::TooManyVlans => "too_many_vlans",
            Self::TruncatedIpv4 => "truncated_ipv4",
            Self::BadIpv4Header => "bad_ipv4_header",
            Self::TruncatedIpv6 => "truncated_ipv6",
            Self::BadIpv6Header => "bad_ipv6_header",
            Self::TruncatedL4 => "truncated_l4",
            Self::NoBackend => "no_backend",
            Self::ConnLimit => "conn_limit",
            Self::AdminDown => "admin_down",
            Self::SnatExhausted => "snat_exhausted",
            Self::FibFailed => "fib_failed",
            Self::UnknownFlow => "unknown_flow",
            Self::AclDenied => "acl_denied",
            Self::Fragment => "fragment",
            Self::Ipv6ExtHeaders => "ipv6_ext_headers",
            Self::TruncatedIcmp => "truncated_icmp",
        }
    }

    /// The map slot of this reason.
    #[must_use]
    pub const fn index(self) -> u32 {
        self as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_dense_and_in_order() {
        for (i, reason) in DropReason::ALL.iter().enumerate() {
            assert_eq!(reason.index() as usize, i, "{reason:?}");
        }
    }

    #[test]
    fn labels_are_unique() {
        for a in DropReason::ALL {
            for b in DropReason::ALL {
                if a != b {
                    assert_ne!(a.as_str(), b.as_str());
                }
            }
        }
    }
}
