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

/// The `attempt`-th SNAT port candidate (an offset below `count`) of a new flow whose tuple
/// hashes to `base` (`tuple_hash`). Independent hashes per attempt, not consecutive ports:
/// consecutive ones make the flows' ports form runs, and a new flow's attempts all fall in one
/// run long before the range is full (linear probing's clustering: 8 consecutive tries left
/// SYNs without a port at a third of the range in use).
#[inline(always)]
#[must_use]
pub const fn snat_port_offset(base: u32, attempt: u32, count: u32) -> u32 {
    if count == 0 {
        return 0;
    }
    let h = if attempt == 0 {
        base
    } else {
        fmix(base ^ attempt.wrapping_mul(0x9e37_79b9))
    };
    h % count
}

#[cfg(test)]
mod tests {
    extern crate std;

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

    /// Ports in use after `flows` new flows with random tuples claimed theirs in a range of
    /// `count` ports with `tries` attempts each by `probe`; returns the flows left without one.
    fn simulate(count: u32, flows: u32, tries: u32, probe: impl Fn(u32, u32) -> u32) -> u32 {
        let mut used = std::vec![false; count as usize];
        let mut failed = 0;
        for f in 0..flows {
            let base = fmix(f.wrapping_mul(0x2545_f491) ^ 0x1234_5678);
            match (0..tries)
                .map(|i| probe(base, i) as usize)
                .find(|&p| !used[p])
            {
                Some(p) => used[p] = true,
                None => failed += 1,
            }
        }
        failed
    }

    #[test]
    fn snat_candidates_do_not_cluster() {
        let count = 64_512;
        let tries = crate::config::SNAT_PORT_TRIES;
        // Up to 70 % of the range in use: with independent candidates a flow fails with
        // probability 0.7^16 = 0.33 % at the end (fewer on the way there).
        let flows = count * 7 / 10;
        let scattered = simulate(count, flows, tries, |b, i| snat_port_offset(b, i, count));
        let consecutive = simulate(count, flows, tries, |b, i| (b.wrapping_add(i)) % count);
        assert!(scattered <= 40, "{scattered} flows without a port");
        assert!(
            consecutive > 4 * scattered,
            "the comparison shows nothing: {consecutive} vs {scattered}"
        );
        for i in 0..tries {
            assert!(snat_port_offset(0xdead_beef, i, 1) == 0);
        }
        assert_eq!(
            snat_port_offset(7, 0, 0),
            0,
            "an empty range gives 0, never a division"
        );
    }
}
