//! Stable slot numbers for listeners, pools and members: the kernel's arrays are indexed by
//! slot, and a slot keeps its object across applies so flows and counters stay attached.

use std::collections::{HashMap, HashSet};

/// Slots of one kind, `first..max`, reused after release.
#[derive(Clone, Debug)]
pub struct SlotTable {
    kind: &'static str,
    by_id: HashMap<String, u32>,
    free: Vec<u32>,
    next: u32,
    max: u32,
}

/// No slot left of a kind.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("too many {kind}: this host's data plane holds at most {max}")]
pub struct SlotsFull {
    pub kind: &'static str,
    pub max: u32,
}

impl SlotTable {
    /// Slots `first..max`; slots below `first` are reserved.
    #[must_use]
    pub fn new(kind: &'static str, first: u32, max: u32) -> Self {
        Self {
            kind,
            by_id: HashMap::new(),
            free: Vec::new(),
            next: first,
            max,
        }
    }

    /// The slot of `id`, allocating one if it has none.
    pub fn get_or_alloc(&mut self, id: &str) -> Result<u32, SlotsFull> {
        if let Some(&slot) = self.by_id.get(id) {
            return Ok(slot);
        }
        let slot = if let Some(slot) = self.free.pop() {
            slot
        } else if self.next < self.max {
            self.next += 1;
            self.next - 1
        } else {
            return Err(SlotsFull {
                kind: self.kind,
                max: self.max,
            });
        };
        self.by_id.insert(id.to_owned(), slot);
        Ok(slot)
    }

    /// The slot of `id`, if it has one.
    #[must_use]
    pub fn get(&self, id: &str) -> Option<u32> {
        self.by_id.get(id).copied()
    }

    /// Releases the slots of ids not in `keep`.
    pub fn retain(&mut self, keep: &HashSet<&str>) {
        let gone: Vec<String> = self
            .by_id
            .keys()
            .filter(|id| !keep.contains(id.as_str()))
            .cloned()
            .collect();
        for id in gone {
            if let Some(slot) = self.by_id.remove(&id) {
                self.free.push(slot);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_stable_reused_and_bounded() {
        let mut t = SlotTable::new("pools", 1, 3);
        assert_eq!(t.get_or_alloc("a"), Ok(1));
        assert_eq!(t.get_or_alloc("b"), Ok(2));
        assert_eq!(t.get_or_alloc("a"), Ok(1));
        assert_eq!(
            t.get_or_alloc("c"),
            Err(SlotsFull {
                kind: "pools",
                max: 3
            })
        );
        t.retain(&HashSet::from(["b"]));
        assert_eq!(t.get("a"), None);
        assert_eq!(t.get_or_alloc("c"), Ok(1));
    }
}
