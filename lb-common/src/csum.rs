//! Incremental Internet checksum updates (RFC 1624, eqn. 3): `HC' = ~(~HC + ~m + m')`, summed
//! over the 16-bit big-endian words that changed. Pure functions, shared by the kernel NAT code
//! and by the property tests that compare them with a full recomputation.

/// Adds the big-endian 16-bit words of `bytes` (even length) to a one's-complement accumulator.
#[inline(always)]
#[must_use]
pub fn add_words(mut acc: u32, bytes: &[u8]) -> u32 {
    let mut i = 0;
    while i + 1 < bytes.len() {
        acc += u32::from(u16::from_be_bytes([bytes[i], bytes[i + 1]]));
        i += 2;
    }
    acc
}

/// Subtracts (adds the complement of) the words of `bytes` from the accumulator.
#[inline(always)]
#[must_use]
pub fn sub_words(mut acc: u32, bytes: &[u8]) -> u32 {
    let mut i = 0;
    while i + 1 < bytes.len() {
        acc += u32::from(!u16::from_be_bytes([bytes[i], bytes[i + 1]]));
        i += 2;
    }
    acc
}

/// Folds a 32-bit accumulator into 16 bits with end-around carry.
#[inline(always)]
#[must_use]
pub fn fold(mut acc: u32) -> u16 {
    acc = (acc & 0xffff) + (acc >> 16);
    acc = (acc & 0xffff) + (acc >> 16);
    acc as u16
}

/// Starts an incremental update from the checksum field's current value.
#[inline(always)]
#[must_use]
pub fn start(check: u16) -> u32 {
    u32::from(!check)
}

/// Finishes an incremental update: the new checksum field value.
#[inline(always)]
#[must_use]
pub fn finish(acc: u32) -> u16 {
    !fold(acc)
}

/// Replaces one 32-bit big-endian word in a 64-bit one's-complement accumulator (32-bit words
/// sum like pairs of 16-bit words once folded; half the operations for addresses).
#[inline(always)]
#[must_use]
pub const fn replace32(acc: u64, old: u32, new: u32) -> u64 {
    acc + (!old) as u64 + new as u64
}

/// Folds a 64-bit accumulator into a 16-bit partial sum (usable with [`start`]/[`finish`]).
#[inline(always)]
#[must_use]
pub const fn fold64(mut acc: u64) -> u32 {
    acc = (acc & 0xffff_ffff) + (acc >> 32);
    acc = (acc & 0xffff_ffff) + (acc >> 32);
    let mut a = (acc & 0xffff) + (acc >> 16);
    a = (a & 0xffff) + (a >> 16);
    a = (a & 0xffff) + (a >> 16);
    a as u32
}

/// Full checksum of `bytes` (odd lengths padded with a zero byte), for tests and fixtures.
#[must_use]
pub fn full(bytes: &[u8], initial: u32) -> u16 {
    let mut acc = u64::from(initial);
    let mut chunks = bytes.chunks_exact(2);
    for w in &mut chunks {
        acc += u64::from(u16::from_be_bytes([w[0], w[1]]));
    }
    if let [last] = chunks.remainder() {
        acc += u64::from(u16::from_be_bytes([*last, 0]));
    }
    while acc >> 16 != 0 {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    !(acc as u16)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Checksum of a buffer whose checksum field (at `at`) is zeroed first.
    fn recompute(buf: &[u8], at: usize) -> u16 {
        let mut b = buf.to_vec();
        b[at] = 0;
        b[at + 1] = 0;
        full(&b, 0)
    }

    /// One's complement has two zeros; 0x0000 and 0xffff verify the same way.
    fn same_sum(a: u16, b: u16) -> bool {
        a == b || (a == 0 && b == 0xffff) || (a == 0xffff && b == 0)
    }

    proptest::proptest! {
        #[test]
        fn incremental_update_matches_recomputation(
            mut buf in proptest::collection::vec(proptest::prelude::any::<u8>(), 56..80),
            new in proptest::array::uniform16(proptest::prelude::any::<u8>()),
            field_at in 0usize..10,
            patch_at in 10usize..20,
        ) {
            // A checksum field at an even offset, a 16-byte patch at another even offset.
            let (field_at, patch_at) = (field_at * 2, patch_at * 2);
            let check = recompute(&buf, field_at);
            buf[field_at..field_at + 2].copy_from_slice(&check.to_be_bytes());
            let old: [u8; 16] = buf[patch_at..patch_at + 16].try_into().unwrap();
            let acc = add_words(sub_words(start(check), &old), &new);
            buf[patch_at..patch_at + 16].copy_from_slice(&new);
            let updated = finish(acc);
            proptest::prop_assert!(same_sum(updated, recompute(&buf, field_at)));
        }
    }

    proptest::proptest! {
        #[test]
        fn word32_replacement_matches_word16(old in proptest::prelude::any::<[u8; 16]>(), new in proptest::prelude::any::<[u8; 16]>(), check in proptest::prelude::any::<u16>()) {
            let by16 = add_words(sub_words(start(check), &old), &new);
            let mut acc = 0u64;
            for i in 0..4 {
                let o = u32::from_be_bytes([old[4 * i], old[4 * i + 1], old[4 * i + 2], old[4 * i + 3]]);
                let n = u32::from_be_bytes([new[4 * i], new[4 * i + 1], new[4 * i + 2], new[4 * i + 3]]);
                acc = replace32(acc, o, n);
            }
            let by32 = start(check) + fold64(acc);
            proptest::prop_assert!(same_sum(finish(by16), finish(by32)));
        }
    }

    #[test]
    fn rfc1071_example() {
        // RFC 1071 §3 example words sum to 0xddf2; checksum is its complement.
        let bytes = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(full(&bytes, 0), !0xddf2);
    }
}
