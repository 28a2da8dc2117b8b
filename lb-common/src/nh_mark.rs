//! The mark `lb_xdp` writes over the Ethernet addresses of a translated packet it hands to the
//! stack for `lb_tc_in` to forward (the next hop's MAC is not known yet, or the route's device
//! is one XDP cannot redirect into): which interface the route lookup chose, behind a secret.
//!
//! The addresses are rewritten anyway when the packet leaves, so they are free to carry it, and
//! the mark costs the TC program one compare on every other packet (no map lookup unless the
//! first byte matches). Twelve bytes: `02` (a locally administered unicast destination, so a
//! marked frame that no TC program takes is dropped by the stack as not ours), seven bytes of
//! the host's secret, the egress ifindex (little-endian). The secret (56 random bits chosen by
//! the agent at load, [`crate::maps::NH_MARK`]) keeps frames from the wire from asking for a
//! redirect. (The XDP metadata area would be the usual carrier, but some kernels refuse
//! `bpf_xdp_adjust_meta` to XDP programs.)

/// First byte of a marked frame.
pub const FIRST: u8 = 0x02;
/// Bits of the secret that the mark carries.
pub const SECRET_MASK: u64 = (1 << 56) - 1;

/// The first eight bytes of a marked frame (as a little-endian word).
#[inline(always)]
#[must_use]
pub const fn word(secret: u64) -> u64 {
    ((secret & SECRET_MASK) << 8) | FIRST as u64
}

/// The twelve address bytes of a frame marked for `ifindex`.
#[inline(always)]
#[must_use]
pub const fn encode(secret: u64, ifindex: u32) -> [u8; 12] {
    let w = word(secret).to_le_bytes();
    let i = ifindex.to_le_bytes();
    [
        w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7], i[0], i[1], i[2], i[3],
    ]
}

/// The interface a frame whose addresses are `eth` is marked for, if it carries the mark of
/// `secret` (never for an unset, zero secret).
#[inline(always)]
#[must_use]
pub fn decode(eth: &[u8; 12], secret: u64) -> Option<u32> {
    let w = u64::from_le_bytes([
        eth[0], eth[1], eth[2], eth[3], eth[4], eth[5], eth[6], eth[7],
    ]);
    if secret & SECRET_MASK == 0 || w != word(secret) {
        return None;
    }
    Some(u32::from_le_bytes([eth[8], eth[9], eth[10], eth[11]]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mark_decodes_to_its_interface_with_its_secret_only() {
        let secret = 0x1122_3344_5566_7788;
        let eth = encode(secret, 0x0102_0304);
        assert_eq!(eth[0], FIRST);
        assert_eq!(decode(&eth, secret), Some(0x0102_0304));
        assert_eq!(decode(&eth, secret ^ 1), None);
        // Only 56 bits travel: a secret differing in the top byte alone is the same mark.
        assert_eq!(decode(&eth, secret ^ (1 << 60)), Some(0x0102_0304));
    }

    #[test]
    fn a_zero_secret_accepts_nothing() {
        assert_eq!(decode(&encode(0, 7), 0), None);
        assert_eq!(decode(&[0; 12], 0), None);
    }

    #[test]
    fn ordinary_addresses_are_not_a_mark() {
        // 02:00:00:00:00:0b from 02:00:00:00:01:0b, as the tests' members.
        let eth = [2, 0, 0, 0, 0, 0x0b, 2, 0, 0, 0, 1, 0x0b];
        assert_eq!(decode(&eth, 0x1234), None);
    }
}
