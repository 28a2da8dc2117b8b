//! The flow hash: one pure function used by the kernel (Maglev slot of a new flow) and by the
//! agent's simulator, so both agree bit for bit.

/// Mixes a 32-bit word into the state (murmur3's block mix).
#[inline(always)]
const fn mix(h: u32, k: u32) -> u32 {
    let k = k
        .wrapping_mul(0xcc9e_2d51)
        .rotate_left(15)
        .wrapping_mul(0x1b87_3593);
    (h ^ k)
        .rotate_left(13)
        .wrapping_mul(5)
        .wrapping_add(0xe654_6b64)
}

/// murmur3's finalizer: spreads every input bit over the output.
#[inline(always)]
const fn fmix(mut h: u32) -> u32 {
    h ^= h >> 16;
    h = h.wrapping_mul(0x85eb_ca6b);
    h ^= h >> 13;
    h = h.wrapping_mul(0xc2b2_ae35);
    h ^ (h >> 16)
}

/// Hash of a source address (16-byte form) and, for `SOURCE_IP_PORT`, its port (network
/// order as stored; pass 0 to hash the address only).
#[inline(always)]
#[must_use]
pub const fn source_hash(addr: &[u8; 16], port: u16) -> u32 {
    let mut h = 0x5bd1_e995;
    h = mix(h, u32::from_be_bytes([addr[0], addr[1], addr[2], addr[3]]));
    h = mix(h, u32::from_be_bytes([addr[4], addr[5], addr[6], addr[7]]));
    h = mix(
        h,
        u32::from_be_bytes([addr[8], addr[9], addr[10], addr[11]]),
    );
    h = mix(
        h,
        u32::from_be_bytes([addr[12], addr[13], addr[14], addr[15]]),
    );
    h = mix(h, port as u32);
    fmix(h ^ 20)
}

/// Hash of a flow's 5-tuple, to spread SNAT port choices.
#[inline(always)]
#[must_use]
pub const fn tuple_hash(src: &[u8; 16], dst: &[u8; 16], sport: u16, dport: u16) -> u32 {
    let h = source_hash(src, sport);
    let d = source_hash(dst, dport);
    fmix(h ^ d.rotate_left(7))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::addr::v4;

    #[test]
    fn source_hash_spreads_neighbouring_addresses() {
        // 1000 consecutive client addresses over 7 buckets: each within ±25 % of the mean.
        let mut buckets = [0u32; 7];
        for i in 0..1000u32 {
            let a = v4([198, 18, (i >> 8) as u8, i as u8]);
            buckets[(source_hash(&a, 0) % 7) as usize] += 1;
        }
        for b in buckets {
            assert!((107..=179).contains(&b), "{buckets:?}");
        }
    }

    #[test]
    fn port_changes_the_hash() {
        let a = v4([198, 18, 0, 1]);
        assert_ne!(
            source_hash(&a, 1000u16.to_be()),
            source_hash(&a, 1001u16.to_be())
        );
        assert_eq!(source_hash(&a, 0), source_hash(&a, 0));
    }
}
