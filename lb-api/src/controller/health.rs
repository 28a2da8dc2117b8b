//! The health manager: receives the agents' signed heartbeats (bad signatures are dropped and
//! counted), records what each host runs, sets operating statuses and listener counters from
//! the reports, and sets the operating status of the load balancers of a silent host to ERROR
//! after `heartbeat_timeout`.

use std::{
    sync::{Arc, atomic::Ordering},
    time::{Duration, Instant},
};

use lb_proto::heartbeat::{self, Heartbeat};
use tokio::net::UdpSocket;

use super::{
    Inner,
    host::{Host, Placement},
    lock_hosts, status,
};
use crate::{
    model::{
        common::{Oper, Prov, now},
        graph::Graph,
        stats::{Counters, ListenerStats},
    },
    store::{self, Change, Select, StoreError},
};

/// Counters are written at most this often per host (statuses whenever they change).
const STATS_EVERY: Duration = Duration::from_secs(2);

/// Whether a host has been silent longer than the heartbeat timeout (a host never heard of
/// counts from the controller's start).
pub(crate) fn is_silent(inner: &Inner, host_id: &str) -> bool {
    let timeout = inner.config.heartbeat_timeout;
    let seen = lock_hosts(inner).get(host_id).and_then(|l| l.last_seen);
    seen.unwrap_or(inner.started).elapsed() > timeout
}

/// Receives heartbeats forever.
pub(crate) async fn receive(inner: Arc<Inner>, socket: UdpSocket) {
    let mut buf = vec![0u8; heartbeat::MAX_DATAGRAM];
    loop {
        let (len, from) = match socket.recv_from(&mut buf).await {
            Ok(r) => r,
            Err(error) => {
                tracing::warn!(%error, "heartbeat socket");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Some(datagram) = buf.get(..len) else {
            continue;
        };
        let hb = match heartbeat::open(datagram, &inner.key) {
            Ok(hb) => hb,
            Err(error) => {
                let n = inner.bad_heartbeats.fetch_add(1, Ordering::Relaxed) + 1;
                if n.is_power_of_two() {
                    tracing::warn!(%error, %from, dropped = n, "heartbeat dropped");
                }
                continue;
            }
        };
        if let Err(error) = accept(&inner, hb).await {
            tracing::warn!(%error, "heartbeat not recorded");
        }
    }
}

async fn accept(inner: &Inner, hb: Heartbeat) -> Result<(), StoreError> {
    let known = lock_hosts(inner).contains_key(&hb.host_id);
    if !known
        && store::get::<Host>(&*inner.store, &hb.host_id)
            .await?
            .is_none()
    {
        let n = inner.bad_heartbeats.fetch_add(1, Ordering::Relaxed) + 1;
        if n.is_power_of_two() {
            tracing::warn!(host = %hb.host_id, "heartbeat from an unregistered host dropped");
        }
        return Ok(());
    }
    let (write_status, write_stats) = {
        let mut hosts = lock_hosts(inner);
        let live = hosts.entry(hb.host_id.clone()).or_default();
        if hb.sent_at_ms <= live.last_sent_ms {
            return Ok(()); // replayed or reordered
        }
        live.last_sent_ms = hb.sent_at_ms;
        live.last_seen = Some(Instant::now());
        live.reported.clone_from(&hb.applied);
        let was_stale = std::mem::take(&mut live.stale_marked);
        let statuses_changed = was_stale
            || live.last_report.as_ref().is_none_or(|last| {
                last.members != hb.members
                    || last
                        .listeners
                        .iter()
                        .map(|l| (&l.id, l.status))
                        .ne(hb.listeners.iter().map(|l| (&l.id, l.status)))
            });
        let write_stats = live.stats.take(&hb.listeners, Instant::now());
        live.last_report = Some(hb.clone());
        (statuses_changed, write_stats)
    };
    if write_status || write_stats {
        let written = apply_report(inner, &hb, write_status, write_stats).await;
        if written.is_err() && write_stats {
            // Not written after all: the next report writes them.
            if let Some(live) = lock_hosts(inner).get_mut(&hb.host_id) {
                live.stats = StatsWrites::default();
            }
        }
        written?;
    }
    Ok(())
}

/// When a host's listener counters are written to the store: at most every [`STATS_EVERY`],
/// and only when they differ from the ones last written (compared with what was *written*,
/// not with the last report: counters that changed within the throttle window and then stayed
/// still must still reach the store).
#[derive(Debug, Default)]
pub(crate) struct StatsWrites {
    at: Option<Instant>,
    written: Option<Vec<heartbeat::ListenerReport>>,
}

impl StatsWrites {
    /// Whether `listeners`, reported at `now`, are to be written; if so they count as written.
    pub(crate) fn take(&mut self, listeners: &[heartbeat::ListenerReport], now: Instant) -> bool {
        if self.written.as_deref() == Some(listeners) {
            return false;
        }
        if self
            .at
            .is_some_and(|at| now.saturating_duration_since(at) < STATS_EVERY)
        {
            return false;
        }
        self.at = Some(now);
        self.written = Some(listeners.to_vec());
        true
    }
}

/// Writes the operating statuses and/or counters a report implies.
async fn apply_report(
    inner: &Inner,
    hb: &Heartbeat,
    statuses: bool,
    stats: bool,
) -> Result<(), StoreError> {
    let _guard = inner.lock.lock().await;
    let placements: Vec<Placement> = store::list(
        &*inner.store,
        &Select {
            parent_id: Some(hb.host_id.clone()),
            ..Select::default()
        },
    )
    .await?;
    let mut changes = Vec::new();
    for p in placements {
        let g = Graph::load_lb(&*inner.store, &p.lb_id).await?;
        if statuses {
            status_changes(&g, &p.lb_id, hb, &mut changes)?;
        }
        if stats {
            for l in g
                .listeners
                .iter()
                .filter(|l| l.c.provisioning_status != Prov::Deleted)
            {
                if let Some(r) = hb.listeners.iter().find(|r| r.id == l.c.id) {
                    changes.push(store::put(&ListenerStats {
                        id: format!("{}/{}", l.c.id, hb.host_id),
                        listener_id: l.c.id.clone(),
                        loadbalancer_id: p.lb_id.clone(),
                        project_id: l.c.project_id.clone(),
                        counters: Counters {
                            active_connections: r.active_connections,
                            total_connections: r.total_connections,
                            bytes_in: r.bytes_in,
                            bytes_out: r.bytes_out,
                            request_errors: r.request_errors,
                        },
                        created_at: l.c.created_at.clone(),
                        updated_at: Some(now()),
                    })?);
                }
            }
        }
    }
    if changes.is_empty() {
        return Ok(());
    }
    inner.store.commit(changes).await
}

fn status_changes(
    g: &Graph,
    lb_id: &str,
    hb: &Heartbeat,
    changes: &mut Vec<Change>,
) -> Result<(), StoreError> {
    let Some(lb) = g.lb(lb_id) else {
        return Ok(());
    };
    if lb.c.provisioning_status == Prov::Deleted {
        return Ok(());
    }
    let mut member_status = std::collections::HashMap::new();
    for m in &g.members {
        let s = match hb.members.iter().find(|r| r.id == m.c.id) {
            Some(r) => status::member(r.status),
            None => m.c.operating_status,
        };
        member_status.insert(m.c.id.as_str(), s);
        if s != m.c.operating_status {
            let mut m = m.clone();
            m.c.operating_status = s;
            changes.push(store::put(&m)?);
        }
    }
    let mut pool_status = std::collections::HashMap::new();
    for p in &g.pools {
        let members: Vec<Oper> = g
            .members
            .iter()
            .filter(|m| m.pool_id == p.c.id)
            .filter_map(|m| member_status.get(m.c.id.as_str()).copied())
            .collect();
        let s = status::pool(p.c.admin_state_up, &members);
        pool_status.insert(p.c.id.as_str(), s);
        if s != p.c.operating_status {
            let mut p = p.clone();
            p.c.operating_status = s;
            changes.push(store::put(&p)?);
        }
    }
    let mut below: Vec<Oper> = pool_status.values().copied().collect();
    for l in &g.listeners {
        let reported = hb
            .listeners
            .iter()
            .find(|r| r.id == l.c.id)
            .map(|r| r.status);
        let pool = l
            .default_pool_id
            .as_deref()
            .and_then(|id| pool_status.get(id).copied());
        let s = status::listener(l.c.admin_state_up, reported, pool);
        below.push(s);
        if s != l.c.operating_status {
            let mut l = l.clone();
            l.c.operating_status = s;
            changes.push(store::put(&l)?);
        }
    }
    let s = status::loadbalancer(lb.c.admin_state_up, &below);
    if s != lb.c.operating_status {
        let mut lb = lb.clone();
        lb.c.operating_status = s;
        changes.push(store::put(&lb)?);
    }
    Ok(())
}

/// Sets the operating status of the load balancers of newly silent hosts to ERROR.
pub(crate) async fn watchdog(inner: &Inner) -> Result<(), StoreError> {
    let hosts: Vec<Host> = store::list(&*inner.store, &Select::all()).await?;
    for host in hosts {
        if !is_silent(inner, &host.id) {
            continue;
        }
        {
            let mut live = lock_hosts(inner);
            let live = live.entry(host.id.clone()).or_default();
            if live.stale_marked {
                continue;
            }
            live.stale_marked = true;
            live.last_report = None;
        }
        let _guard = inner.lock.lock().await;
        let placements: Vec<Placement> = store::list(
            &*inner.store,
            &Select {
                parent_id: Some(host.id.clone()),
                ..Select::default()
            },
        )
        .await?;
        let mut changes = Vec::new();
        for p in &placements {
            if let Some(mut lb) =
                store::get::<crate::model::loadbalancer::LoadBalancer>(&*inner.store, &p.lb_id)
                    .await?
                && lb.c.provisioning_status != Prov::Deleted
                && lb.c.operating_status != Oper::Error
            {
                lb.c.operating_status = Oper::Error;
                lb.c.updated_at = Some(now());
                changes.push(store::put(&lb)?);
            }
        }
        if !placements.is_empty() {
            tracing::warn!(host = %host.name, load_balancers = placements.len(), "no heartbeat within the timeout; operating status ERROR");
        }
        if !changes.is_empty() {
            inner.store.commit(changes).await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use lb_proto::heartbeat::{ListenerReport, ListenerStatus};

    use super::{STATS_EVERY, StatsWrites};

    fn report(total: u64) -> Vec<ListenerReport> {
        vec![ListenerReport {
            id: "l1".into(),
            status: ListenerStatus::Open,
            active_connections: 0,
            total_connections: total,
            bytes_in: 10 * total,
            bytes_out: 20 * total,
            request_errors: 0,
        }]
    }

    #[test]
    fn counters_that_change_within_the_window_are_written_once_it_passes() {
        let t0 = Instant::now();
        let mut w = StatsWrites::default();
        assert!(w.take(&report(1), t0), "the first report is written");
        let soon = t0 + Duration::from_millis(500);
        assert!(!w.take(&report(30), soon), "throttled within the window");
        let later = t0 + STATS_EVERY;
        // The counters stopped changing: the report equals the last one *received*, yet it
        // differs from the one written, so it must be written now.
        assert!(
            w.take(&report(30), later),
            "the settled counters were never written"
        );
        assert!(
            !w.take(&report(30), later + STATS_EVERY),
            "unchanged: nothing to write"
        );
        assert!(
            w.take(&report(31), later + STATS_EVERY),
            "changed after the window"
        );
    }
}
