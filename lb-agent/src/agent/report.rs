//! Builds the agent's report (the body of heartbeats and of `GET /v1/stats`) from the running
//! state and the data plane's per-listener and per-member counters.

use lb_proto::{
    DesiredState,
    heartbeat::{Heartbeat, ListenerReport, ListenerStatus, MemberReport, MemberStatus},
};

use crate::{DataplaneError, dataplane::Dataplane, proxy::Proxy};

/// The report for `host_id` at `sent_at_ms`.
pub fn build(
    host_id: &str,
    sent_at_ms: u64,
    state: Option<&DesiredState>,
    down: &std::collections::HashSet<String>,
    dataplane: &Dataplane,
    proxy: &Proxy,
) -> Result<Heartbeat, DataplaneError> {
    let mut heartbeat = Heartbeat {
        host_id: host_id.to_owned(),
        sent_at_ms,
        applied: state.map(DesiredState::applied),
        listeners: Vec::new(),
        members: Vec::new(),
    };
    let Some(state) = state else {
        return Ok(heartbeat);
    };
    for lb in &state.loadbalancers {
        for listener in &lb.listeners {
            let (active, total, bytes_in, bytes_out, request_errors) = if lb.proxied(listener) {
                let s = proxy.listener_stats(&listener.id).unwrap_or_default();
                (s.active, s.total, s.bytes_in, s.bytes_out, s.request_errors)
            } else {
                let s = dataplane.listener_stats(&listener.id)?.unwrap_or_default();
                // PROMETHEUS listeners of this load balancer report it too.
                let mirrored = crate::proxy::counters::Snapshot {
                    active: s.active,
                    total: s.traffic.opened,
                    bytes_in: s.traffic.bytes_in,
                    bytes_out: s.traffic.bytes_out,
                    ..Default::default()
                };
                proxy.mirror_kernel_stats(&listener.id, &mirrored);
                (
                    s.active,
                    s.traffic.opened,
                    s.traffic.bytes_in,
                    s.traffic.bytes_out,
                    0,
                )
            };
            let usable_pool = listener.default_pool_id.as_ref().is_some_and(|id| {
                lb.pools
                    .iter()
                    .any(|p| &p.id == id && p.admin_state_up && !p.members.is_empty())
            });
            let status = if !lb.admin_state_up || !listener.admin_state_up || !usable_pool {
                ListenerStatus::Down
            } else if u64::try_from(listener.connection_limit).is_ok_and(|l| active >= l) {
                ListenerStatus::Full
            } else {
                ListenerStatus::Open
            };
            heartbeat.listeners.push(ListenerReport {
                id: listener.id.clone(),
                status,
                active_connections: active,
                total_connections: total,
                bytes_in,
                bytes_out,
                request_errors,
            });
        }
        for pool in &lb.pools {
            let monitored = pool.monitor.as_ref().is_some_and(|m| m.admin_state_up);
            for member in &pool.members {
                let status = if !member.admin_state_up {
                    MemberStatus::Maint
                } else if monitored && down.contains(&member.id) {
                    MemberStatus::Down
                } else if member.weight == 0 {
                    MemberStatus::Drain
                } else if monitored {
                    MemberStatus::Up
                } else {
                    MemberStatus::NoCheck
                };
                heartbeat.members.push(MemberReport {
                    id: member.id.clone(),
                    pool_id: pool.id.clone(),
                    status,
                });
            }
        }
    }
    Ok(heartbeat)
}

/// Milliseconds since the Unix epoch.
#[must_use]
pub fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}
