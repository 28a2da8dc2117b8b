//! Weighted round-robin table for a pool: a sequence of backend slots in which each member
//! appears in proportion to its weight, interleaved smoothly (nginx's smooth weighted round
//! robin), so that any window of `sum(weights)` new flows matches the weights exactly. The
//! kernel walks it with a per-CPU cursor.

/// Builds the sequence for `(value, weight)` pairs, at most `max_len` long. Weights whose sum
/// exceeds `max_len` are scaled down (every member keeps at least one entry).
#[must_use]
pub fn build(members: &[(u32, u32)], max_len: u32) -> Vec<u32> {
    let members: Vec<(u32, u64)> = members
        .iter()
        .filter(|(_, w)| *w > 0)
        .map(|&(v, w)| (v, u64::from(w)))
        .collect();
    let total: u64 = members.iter().map(|(_, w)| w).sum();
    if total == 0 {
        return Vec::new();
    }
    let max_len = u64::from(max_len);
    let mut weights: Vec<u64> = members
        .iter()
        .map(|(_, w)| {
            if total > max_len {
                (w * max_len / total).max(1)
            } else {
                *w
            }
        })
        .collect();
    let g = weights.iter().copied().fold(0, gcd);
    for w in &mut weights {
        *w /= g;
    }
    let len: u64 = weights.iter().sum();
    let mut current = vec![0i64; members.len()];
    let mut out = Vec::with_capacity(len as usize);
    for _ in 0..len.min(max_len) {
        let mut best = 0;
        for (i, w) in weights.iter().enumerate() {
            current[i] += *w as i64;
            if current[i] > current[best] {
                best = i;
            }
        }
        current[best] -= len as i64;
        out.push(members[best].0);
    }
    out
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 { a } else { gcd(b, a % b) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_are_exact_over_one_cycle_and_interleaved() {
        let seq = build(&[(1, 1), (2, 2), (3, 3)], 1024);
        assert_eq!(seq.len(), 6);
        let count = |v| seq.iter().filter(|&&x| x == v).count();
        assert_eq!((count(1), count(2), count(3)), (1, 2, 3));
        // Smooth: the heaviest member never runs three times in a row.
        assert!(!seq.windows(3).any(|w| w.iter().all(|&x| x == 3)));
    }

    #[test]
    fn equal_weights_reduce_to_one_entry_each() {
        assert_eq!(build(&[(7, 5), (8, 5)], 1024).len(), 2);
    }

    #[test]
    fn large_pools_are_scaled_to_fit() {
        let members: Vec<(u32, u32)> = (1..=64).map(|v| (v, 256)).collect();
        let seq = build(&members, 1024);
        assert!(seq.len() <= 1024);
        for v in 1..=64 {
            assert!(seq.contains(&v));
        }
    }

    #[test]
    fn zero_weights_and_empty_pools_give_no_entries() {
        assert!(build(&[(1, 0)], 1024).is_empty());
        assert!(build(&[], 1024).is_empty());
    }
}
