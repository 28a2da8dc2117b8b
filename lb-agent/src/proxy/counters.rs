//! Per-listener counters of the proxy (read by heartbeats and PROMETHEUS listeners), kept
//! across reconfigurations while the listener exists. Each worker adds to its own
//! cache-line-sized shard (`workers::current()`), so the counting on every read, write and
//! request never bounces a cache line between CPUs; readers sum the shards.

use std::sync::atomic::{AtomicU64, Ordering};

/// One worker's share of a listener's counters.
#[derive(Debug, Default)]
#[repr(align(128))]
struct Shard {
    /// Client connections opened (all of them) and closed.
    opened: AtomicU64,
    closed: AtomicU64,
    bytes_in: AtomicU64,
    bytes_out: AtomicU64,
    requests: AtomicU64,
    request_errors: AtomicU64,
    denied: AtomicU64,
}

/// One listener's counters.
#[derive(Debug)]
pub struct ListenerCounters {
    shards: Box<[Shard]>,
}

impl Default for ListenerCounters {
    /// One shard per CPU the agent may run on (the proxy's workers).
    fn default() -> Self {
        let n = std::thread::available_parallelism().map_or(1, usize::from);
        Self {
            shards: (0..n).map(|_| Shard::default()).collect(),
        }
    }
}

/// A snapshot of [`ListenerCounters`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// Client connections open now.
    pub active: u64,
    /// Client connections accepted since the listener appeared.
    pub total: u64,
    /// Bytes received from clients.
    pub bytes_in: u64,
    /// Bytes sent to clients.
    pub bytes_out: u64,
    /// Requests received (HTTP).
    pub requests: u64,
    /// Errors answered by the proxy itself (5xx of its own, member connect failures, bad
    /// requests), Octavia's `request_errors`.
    pub request_errors: u64,
    /// Connections refused by `allowed_cidrs`.
    pub denied: u64,
}

fn add(c: &AtomicU64, n: u64) {
    c.fetch_add(n, Ordering::Relaxed);
}

impl ListenerCounters {
    fn here(&self) -> &Shard {
        &self.shards[super::workers::current() % self.shards.len()]
    }

    fn sum(&self, f: impl Fn(&Shard) -> &AtomicU64) -> u64 {
        self.shards
            .iter()
            .map(|s| f(s).load(Ordering::Relaxed))
            .fold(0, u64::wrapping_add)
    }

    /// Client connections open now (a connection may close on another shard than it opened
    /// on only if it moved workers, which it never does; the sum is exact either way).
    #[must_use]
    pub fn active(&self) -> u64 {
        self.sum(|s| &s.opened)
            .saturating_sub(self.sum(|s| &s.closed))
    }

    #[must_use]
    pub fn snapshot(&self) -> Snapshot {
        let total = self.sum(|s| &s.opened);
        Snapshot {
            active: total.saturating_sub(self.sum(|s| &s.closed)),
            total,
            bytes_in: self.sum(|s| &s.bytes_in),
            bytes_out: self.sum(|s| &s.bytes_out),
            requests: self.sum(|s| &s.requests),
            request_errors: self.sum(|s| &s.request_errors),
            denied: self.sum(|s| &s.denied),
        }
    }

    /// Makes the counters read as `s` (for a kernel listener, whose figures the data plane
    /// keeps: nothing else adds to them).
    pub fn mirror(&self, s: &Snapshot) {
        let set = |c: &AtomicU64, v: u64| c.store(v, Ordering::Relaxed);
        let first = &self.shards[0];
        set(&first.opened, s.total);
        set(&first.closed, s.total.saturating_sub(s.active));
        set(&first.bytes_in, s.bytes_in);
        set(&first.bytes_out, s.bytes_out);
        set(&first.requests, s.requests);
        set(&first.request_errors, s.request_errors);
        set(&first.denied, s.denied);
        for other in &self.shards[1..] {
            for c in [
                &other.opened,
                &other.closed,
                &other.bytes_in,
                &other.bytes_out,
                &other.requests,
                &other.request_errors,
                &other.denied,
            ] {
                set(c, 0);
            }
        }
    }

    pub fn opened(&self) {
        add(&self.here().opened, 1);
    }

    pub fn closed(&self) {
        add(&self.here().closed, 1);
    }

    pub fn bytes_in(&self, n: usize) {
        add(&self.here().bytes_in, n as u64);
    }

    pub fn bytes_out(&self, n: usize) {
        add(&self.here().bytes_out, n as u64);
    }

    pub fn request(&self) {
        add(&self.here().requests, 1);
    }

    pub fn error(&self) {
        add(&self.here().request_errors, 1);
    }

    pub fn denied(&self) {
        add(&self.here().denied, 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_add_up() {
        let c = ListenerCounters {
            shards: (0..3).map(|_| Shard::default()).collect(),
        };
        for (i, s) in c.shards.iter().enumerate() {
            add(&s.opened, 2);
            add(&s.bytes_in, 10 * (i as u64 + 1));
        }
        add(&c.shards[1].closed, 3);
        c.request();
        c.error();
        let s = c.snapshot();
        assert_eq!((s.total, s.active, s.bytes_in), (6, 3, 60));
        assert_eq!((s.requests, s.request_errors, s.denied), (1, 1, 0));
        assert_eq!(c.active(), 3);
        let kernel = Snapshot {
            active: 2,
            total: 9,
            bytes_in: 100,
            bytes_out: 200,
            ..Snapshot::default()
        };
        c.mirror(&kernel);
        assert_eq!(c.snapshot(), kernel);
    }
}
