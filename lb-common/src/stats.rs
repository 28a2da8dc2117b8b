//! Packet counters kept by the data plane, indexed by a typed enum (never a bare integer slot).

use crate::pod;

/// One counter cell: packets and bytes (bytes are whole frames, Ethernet header included).
///
/// Kept per CPU in the kernel (no atomics on the hot path); userspace sums the CPUs.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PacketCounter {
    pub packets: u64,
    pub bytes: u64,
}
const _: () = assert!(core::mem::size_of::<PacketCounter>() == 16);
pod!(PacketCounter);

impl PacketCounter {
    /// Adds another cell (used when summing per-CPU values).
    #[must_use]
    pub const fn add(self, other: Self) -> Self {
        Self {
            packets: self.packets.wrapping_add(other.packets),
            bytes: self.bytes.wrapping_add(other.bytes),
        }
    }
}

/// What the XDP entry point did, one slot each in `LB_PKT_STATS`. `Ipv4`/`Ipv6`/`NonIp` count
/// packets passed to the stack untouched; `Forwarded` and `NeighFallback` count balanced ones.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PacketClass {
    /// Well-formed IPv4 packets.
    Ipv4 = 0,
    /// Well-formed IPv6 packets.
    Ipv6 = 1,
    /// Anything that is not IP (ARP, LLDP, ...): always passed to the stack.
    NonIp = 2,
    /// Packets translated by a flow (either direction) and forwarded.
    Forwarded = 3,
    /// Translated packets handed to the TC program to resolve the next hop's MAC.
    NeighFallback = 4,
}

impl PacketClass {
    /// Number of slots in `LB_PKT_STATS`.
    pub const COUNT: u32 = 5;
    /// Every class, in slot order.
    pub const ALL: [Self; Self::COUNT as usize] = [
        Self::Ipv4,
        Self::Ipv6,
        Self::NonIp,
        Self::Forwarded,
        Self::NeighFallback,
    ];

    /// Stable label for metrics and logs.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Ipv4 => "ipv4",
            Self::Ipv6 => "ipv6",
            Self::NonIp => "non_ip",
            Self::Forwarded => "forwarded",
            Self::NeighFallback => "neigh_fallback",
        }
    }

    /// The map slot of this class.
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
        for (i, class) in PacketClass::ALL.iter().enumerate() {
            assert_eq!(class.index() as usize, i, "{class:?}");
        }
    }

    #[test]
    fn counters_add_field_by_field() {
        let a = PacketCounter {
            packets: 2,
            bytes: 100,
        };
        let b = PacketCounter {
            packets: 3,
            bytes: 60,
        };
        assert_eq!(
            a.add(b),
            PacketCounter {
                packets: 5,
                bytes: 160
            }
        );
    }
}

/// Per-listener and per-member traffic counters (per-CPU cells, summed by the agent).
/// `in` is client → member, `out` is member → client.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FlowStats {
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub packets_in: u64,
    pub packets_out: u64,
    /// Flows opened (new flows accepted).
    pub opened: u64,
    /// Flows closed by FIN/RST or expiry.
    pub closed: u64,
}
const _: () = assert!(core::mem::size_of::<FlowStats>() == 48);
pod!(FlowStats);

impl FlowStats {
    /// Sums two cells field by field.
    #[must_use]
    pub const fn add(self, o: Self) -> Self {
        Self {
            bytes_in: self.bytes_in.wrapping_add(o.bytes_in),
            bytes_out: self.bytes_out.wrapping_add(o.bytes_out),
            packets_in: self.packets_in.wrapping_add(o.packets_in),
            packets_out: self.packets_out.wrapping_add(o.packets_out),
            opened: self.opened.wrapping_add(o.opened),
            closed: self.closed.wrapping_add(o.closed),
        }
    }
}
