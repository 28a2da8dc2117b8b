//! Maglev consistent hashing (Eisenbud et al., NSDI 2016) with weights: the agent builds the
//! ring, the kernel only indexes it with `lb_common::hash::source_hash(..) % RING_SIZE`.
//!
//! Each member walks its own permutation of the ring (offset and skip from a hash of its stable
//! id) and claims free slots; a member of weight w gets w/max_weight turns per round, so slot
//! counts follow the weights. Removing one of N members moves about 1/N of the slots.

/// A member as the ring builder sees it.
#[derive(Clone, Copy, Debug)]
pub struct RingMember {
    /// Stable identity (hash of the member id): decides the member's permutation.
    pub key: u64,
    /// Relative weight, > 0.
    pub weight: u32,
    /// What the ring stores for this member (its backend slot).
    pub value: u32,
}

/// splitmix64: a fast, well-mixed 64-bit hash step.
fn mix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Stable 64-bit key of a member id (FNV-1a then splitmix64).
#[must_use]
pub fn member_key(id: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in id.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    mix64(h)
}

/// Builds a ring of `size` slots (a prime). Returns all zeros when `members` is empty or
/// every weight is zero.
#[must_use]
pub fn build(members: &[RingMember], size: u32) -> Vec<u32> {
    let size = size as usize;
    let members: Vec<&RingMember> = members.iter().filter(|m| m.weight > 0).collect();
    let mut ring = vec![u32::MAX; size];
    let Some(max_weight) = members.iter().map(|m| m.weight).max() else {
        return vec![0; size];
    };
    let perms: Vec<(usize, usize)> = members
        .iter()
        .map(|m| {
            let offset = (mix64(m.key ^ 0x6f66_6673_6574) % size as u64) as usize;
            let skip = (mix64(m.key ^ 0x736b_6970) % (size as u64 - 1) + 1) as usize;
            (offset, skip)
        })
        .collect();
    let mut next = vec![0usize; members.len()];
    let mut credit = vec![0u64; members.len()];
    let mut filled = 0;
    while filled < size {
        for (i, m) in members.iter().enumerate() {
            credit[i] += u64::from(m.weight);
            while credit[i] >= u64::from(max_weight) {
                credit[i] -= u64::from(max_weight);
                let (offset, skip) = perms[i];
                let mut c = (offset + next[i] * skip) % size;
                while ring[c] != u32::MAX {
                    next[i] += 1;
                    c = (offset + next[i] * skip) % size;
                }
                ring[c] = m.value;
                next[i] += 1;
                filled += 1;
                if filled == size {
                    return ring;
                }
            }
        }
    }
    ring
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const SIZE: u32 = 65_537;

    fn members(weights: &[u32]) -> Vec<RingMember> {
        weights
            .iter()
            .enumerate()
            .map(|(i, &weight)| RingMember {
                key: member_key(&format!("member-{i}")),
                weight,
                value: i as u32 + 1,
            })
            .collect()
    }

    fn shares(ring: &[u32], n: usize) -> Vec<f64> {
        let mut counts = vec![0usize; n + 1];
        for &v in ring {
            counts[v as usize] += 1;
        }
        counts[1..]
            .iter()
            .map(|&c| c as f64 / ring.len() as f64)
            .collect()
    }

    #[test]
    fn empty_and_zero_weight_pools_give_an_empty_ring() {
        assert!(build(&[], 7).iter().all(|&v| v == 0));
        assert!(build(&members(&[0, 0]), 7).iter().all(|&v| v == 0));
    }

    #[test]
    fn equal_weights_spread_evenly() {
        let ring = build(&members(&[1; 5]), SIZE);
        for share in shares(&ring, 5) {
            assert!((share - 0.2).abs() < 0.01, "share {share}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(12))]

        #[test]
        fn slots_follow_weights(weights in proptest::collection::vec(1u32..=256, 2..8)) {
            let ring = build(&members(&weights), SIZE);
            let total: u32 = weights.iter().sum();
            for (share, &w) in shares(&ring, weights.len()).iter().zip(&weights) {
                let expected = f64::from(w) / f64::from(total);
                prop_assert!((share - expected).abs() < 0.02 + expected * 0.05,
                    "weights {weights:?}: share {share} vs {expected}");
            }
        }

        #[test]
        fn removing_one_member_moves_about_one_nth(n in 3usize..10, gone in 0usize..10) {
            let gone = gone % n;
            let all = members(&vec![1; n]);
            let before = build(&all, SIZE);
            let rest: Vec<RingMember> = all.iter().enumerate()
                .filter(|(i, _)| *i != gone).map(|(_, m)| *m).collect();
            let after = build(&rest, SIZE);
            let moved = before.iter().zip(&after).filter(|(a, b)| a != b).count();
            let limit = 1.5 / n as f64 * f64::from(SIZE);
            prop_assert!((moved as f64) <= limit, "{moved} slots moved of {SIZE}, limit {limit}");
            // Slots of the members that stayed mostly stay.
            prop_assert!(after.iter().all(|&v| v != gone as u32 + 1));
        }
    }
}
