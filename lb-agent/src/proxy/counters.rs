//! Per-listener counters of the proxy (atomics; read by heartbeats and PROMETHEUS listeners),
//! kept across reconfigurations while the listener exists.

use std::sync::atomic::{AtomicU64, Ordering};

/// One listener's counters.
#[derive(Debug, Default)]
pub struct ListenerCounters {
    /// Client connections open now.
    pub active: AtomicU64,
    /// Client connections accepted since the listener appeared.
    pub total: AtomicU64,
    /// Bytes received from clients.
    pub bytes_in: AtomicU64,
    /// Bytes sent to clients.
    pub bytes_out: AtomicU64,
    /// Requests received (HTTP).
    pub requests: AtomicU64,
    /// Errors answered by the proxy itself (5xx of its own, member connect failures, bad
    /// requests), Octavia's `request_errors`.
    pub request_errors: AtomicU64,
    /// Connections refused by `allowed_cidrs`.
    pub denied: AtomicU64,
}

/// A snapshot of [`ListenerCounters`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    pub active: u64,
    pub total: u64,
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub requests: u64,
    pub request_errors: u64,
    pub denied: u64,
}

impl ListenerCounters {
    #[must_use]
    pub fn snapshot(&self) -> Snapshot {
        let r = |c: &AtomicU64| c.load(Ordering::Relaxed);
        Snapshot {
            active: r(&self.active),
            total: r(&self.total),
            bytes_in: r(&self.bytes_in),
            bytes_out: r(&self.bytes_out),
            requests: r(&self.requests),
            request_errors: r(&self.request_errors),
            denied: r(&self.denied),
        }
    }

    pub fn error(&self) {
        self.request_errors.fetch_add(1, Ordering::Relaxed);
    }
}
