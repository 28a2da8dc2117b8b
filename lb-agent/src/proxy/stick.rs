//! A stickiness table for session persistence (`SOURCE_IP`, `APP_COOKIE`): a fixed array of
//! atomic slots mapping a 64-bit key hash to a member's serial number, with a last-use time.
//! Lock-free and allocation-free per request; lossy like HAProxy's stick tables (a full
//! neighbourhood evicts its least recently used entry).
//!
//! An entry is `tag (high 32 bits of the key hash) << 32 | member serial` (serial 0 = empty);
//! a lookup probes [`WAYS`] slots from `hash % slots`. Two keys whose hashes share a
//! neighbourhood and a tag would share an entry: with 32-bit tags and 4 ways, about 1 in 10⁹
//! lookups.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

/// Slots probed per key.
pub const WAYS: usize = 4;

/// The table; its size is fixed at creation.
pub struct StickTable {
    entries: Box<[AtomicU64]>,
    /// Seconds (of the caller's clock) of each slot's last use.
    used: Box<[AtomicU32]>,
}

fn tag(hash: u64) -> u64 {
    // Never 0, so an entry is never mistaken for an empty slot's tag.
    (hash >> 32).max(1)
}

impl StickTable {
    /// A table of `slots` entries (at least [`WAYS`]).
    #[must_use]
    pub fn new(slots: usize) -> Self {
        let slots = slots.max(WAYS);
        Self {
            entries: (0..slots).map(|_| AtomicU64::new(0)).collect(),
            used: (0..slots).map(|_| AtomicU32::new(0)).collect(),
        }
    }

    fn probe(&self, hash: u64) -> impl Iterator<Item = usize> + '_ {
        let n = self.entries.len();
        // The modulo of a 64-bit hash by the table size; the remainder fits usize.
        let start = usize::try_from(hash % n as u64).unwrap_or(0);
        (0..WAYS).map(move |i| (start + i) % n)
    }

    /// The member serial stored for `hash`, if used within `ttl_s` seconds of `now_s`
    /// (`ttl_s == 0`: no expiry); refreshes its last use.
    pub fn get(&self, hash: u64, now_s: u32, ttl_s: u32) -> Option<u32> {
        let t = tag(hash);
        for i in self.probe(hash) {
            let e = self.entries[i].load(Ordering::Relaxed);
            if e >> 32 == t && e as u32 != 0 {
                let used = self.used[i].load(Ordering::Relaxed);
                if ttl_s != 0 && now_s.wrapping_sub(used) > ttl_s {
                    return None;
                }
                self.used[i].store(now_s, Ordering::Relaxed);
                return Some(e as u32);
            }
        }
        None
    }

    /// Stores `serial` (non-zero) for `hash`: in its own slot, a free one, or the least
    /// recently used of its neighbourhood.
    pub fn put(&self, hash: u64, serial: u32, now_s: u32) {
        if serial == 0 {
            return;
        }
        let t = tag(hash);
        let mut victim: Option<(usize, u32)> = None;
        for i in self.probe(hash) {
            let e = self.entries[i].load(Ordering::Relaxed);
            if e >> 32 == t || e == 0 {
                victim = Some((i, u32::MAX));
                break;
            }
            let age = now_s.wrapping_sub(self.used[i].load(Ordering::Relaxed));
            if victim.is_none_or(|(_, oldest)| age > oldest) {
                victim = Some((i, age));
            }
        }
        if let Some((i, _)) = victim {
            self.entries[i].store(t << 32 | u64::from(serial), Ordering::Relaxed);
            self.used[i].store(now_s, Ordering::Relaxed);
        }
    }

    /// Forgets `hash` (its member went away).
    pub fn remove(&self, hash: u64) {
        let t = tag(hash);
        for i in self.probe(hash) {
            let e = self.entries[i].load(Ordering::Relaxed);
            if e >> 32 == t {
                self.entries[i].store(0, Ordering::Relaxed);
            }
        }
    }
}

/// A 64-bit hash of a key's bytes (FNV-1a, then a splitmix64 finish for the high bits).
#[must_use]
pub fn key_hash(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stores_finds_and_expires() {
        let t = StickTable::new(64);
        let k = key_hash(b"session-1");
        assert_eq!(t.get(k, 10, 0), None);
        t.put(k, 7, 10);
        assert_eq!(t.get(k, 11, 0), Some(7));
        t.put(k, 9, 12);
        assert_eq!(t.get(k, 12, 0), Some(9), "a key has one entry");
        assert_eq!(t.get(k, 20, 5), None, "older than its ttl");
        assert_eq!(t.get(key_hash(b"session-2"), 12, 0), None);
        t.remove(k);
        assert_eq!(t.get(k, 12, 0), None);
    }

    #[test]
    fn a_full_neighbourhood_evicts_its_least_recently_used_entry() {
        let t = StickTable::new(WAYS);
        let keys: Vec<u64> = (0..WAYS as u64 + 1)
            .map(|i| key_hash(&i.to_be_bytes()))
            .collect();
        for (i, k) in keys.iter().take(WAYS).enumerate() {
            t.put(*k, i as u32 + 1, 100 + i as u32);
        }
        // Key 0 is used again: key 1 is now the oldest.
        assert_eq!(t.get(keys[0], 110, 0), Some(1));
        t.put(keys[WAYS], 99, 111);
        assert_eq!(t.get(keys[WAYS], 111, 0), Some(99));
        assert_eq!(t.get(keys[0], 111, 0), Some(1));
        assert_eq!(t.get(keys[1], 111, 0), None, "the least recently used went");
    }
}
