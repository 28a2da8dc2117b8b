//! Unique names for test-made objects: `lbt-<pid>-<seq>-<label>`. The pid lets [`crate::sweep`]
//! tell the leftovers of dead processes from the objects of tests still running.

use std::sync::atomic::{AtomicU32, Ordering};

/// Prefix of every object the harness creates.
pub const PREFIX: &str = "lbt-";

static SEQ: AtomicU32 = AtomicU32::new(0);

/// A new unique name with a readable label (kept short: namespace names are file names and
/// the label helps when reading `ip netns list`).
#[must_use]
pub fn unique(label: &str) -> String {
    let seq = SEQ.fetch_add(1, Ordering::Relaxed);
    let label: String = label
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .take(16)
        .collect();
    format!("{PREFIX}{}-{seq}-{label}", std::process::id())
}

/// The pid embedded in a harness name, if it is one.
#[must_use]
pub fn owner_pid(name: &str) -> Option<u32> {
    name.strip_prefix(PREFIX)?.split('-').next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_carry_the_pid() {
        let a = unique("client");
        let b = unique("client");
        assert_ne!(a, b);
        assert_eq!(owner_pid(&a), Some(std::process::id()));
        assert!(a.ends_with("-client"));
    }

    #[test]
    fn foreign_names_have_no_owner() {
        assert_eq!(owner_pid("eth0"), None);
        assert_eq!(owner_pid("lbt-notapid-1-x"), None);
    }
}
