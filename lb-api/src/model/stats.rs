//! Traffic counters (`stats`): one `stats` row per listener and amphora host (id
//! `<listener_id>` or `<listener_id>/<host>`, parent = the listener, lb = its load balancer),
//! written by the controller from the agents' heartbeats. The API sums them: a listener's
//! stats over its rows, a load balancer's over its listeners' rows, as Octavia sums
//! `listener_statistics` over amphorae. No rows yet means zeros.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// The five counters Octavia reports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counters {
    pub active_connections: u64,
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub request_errors: u64,
    pub total_connections: u64,
}

impl Counters {
    /// Add another row's counters (saturating: a corrupt row cannot wrap the sum).
    pub fn add(&mut self, o: &Self) {
        self.active_connections = self.active_connections.saturating_add(o.active_connections);
        self.bytes_in = self.bytes_in.saturating_add(o.bytes_in);
        self.bytes_out = self.bytes_out.saturating_add(o.bytes_out);
        self.request_errors = self.request_errors.saturating_add(o.request_errors);
        self.total_connections = self.total_connections.saturating_add(o.total_connections);
    }

    /// The `stats` object of Octavia's `{"stats": {...}}` body.
    pub fn wire(&self) -> Value {
        json!({
            "active_connections": self.active_connections,
            "bytes_in": self.bytes_in,
            "bytes_out": self.bytes_out,
            "request_errors": self.request_errors,
            "total_connections": self.total_connections,
        })
    }
}

/// One stored row of counters.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ListenerStats {
    /// `<listener_id>` or `<listener_id>/<amphora host>`.
    pub id: String,
    pub listener_id: String,
    pub loadbalancer_id: String,
    pub project_id: String,
    #[serde(flatten)]
    pub counters: Counters,
    /// When the row was first written.
    pub created_at: String,
    /// When the counters were last written.
    pub updated_at: Option<String>,
}

crate::store::row_object!(
    ListenerStats,
    "stats",
    |s| id = &s.id,
    project = Some(&s.project_id),
    lb = Some(&s.loadbalancer_id),
    parent = Some(&s.listener_id),
    created = &s.created_at
);

/// Sum the rows whose listener is in `listeners`.
pub fn sum<'a>(rows: &[ListenerStats], listeners: impl IntoIterator<Item = &'a str>) -> Counters {
    let wanted: Vec<&str> = listeners.into_iter().collect();
    let mut total = Counters::default();
    for row in rows
        .iter()
        .filter(|r| wanted.contains(&r.listener_id.as_str()))
    {
        total.add(&row.counters);
    }
    total
}
